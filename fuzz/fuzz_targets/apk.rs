//! apk's installed database.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| bulwark_fuzz::detect("/lib/apk/db/installed", 0o644, data));
