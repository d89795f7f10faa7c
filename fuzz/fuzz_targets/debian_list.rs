//! The Debian security team's DSA/DLA lists.
#![no_main]
use bulwark_vulndb::import::{DebianList, Importer};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = bulwark_fuzz::file("DSA/list", data);
    if DebianList.recognizes(&path) {
        let _ = DebianList.import(&path, &mut |_| Ok(()));
    }
});
