//! composer.lock.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| bulwark_fuzz::detect("/app/composer.lock", 0o644, data));
