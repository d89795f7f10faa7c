//! The Alpine secdb importer, JSON (`main.json`) or YAML (`main.yaml`), as it sniffs them.
#![no_main]
use bulwark_vulndb::import::{AlpineSecdb, Importer};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let name = if data.trim_ascii_start().starts_with(b"{") { "v3.19/main.json" } else { "v3.19/main.yaml" };
    let path = bulwark_fuzz::file(name, data);
    if AlpineSecdb.recognizes(&path) {
        let _ = AlpineSecdb.import(&path, &mut |_| Ok(()));
    }
});
