//! The OSV importer: one record as `<ID>.json`, or an `all.zip` of records.
#![no_main]
use bulwark_vulndb::import::{Importer, OsvBucket};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let name = if data.starts_with(b"PK") { "all.zip" } else { "GHSA-0000-0000-0000.json" };
    let path = bulwark_fuzz::file(name, data);
    let _ = OsvBucket.import(&path, &mut |r| {
        let _ = r.all_ids();
        Ok(())
    });
});
