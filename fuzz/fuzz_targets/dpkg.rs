//! dpkg's status database.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| bulwark_fuzz::detect("/var/lib/dpkg/status", 0o644, data));
