//! Executables: Go build info and cargo-auditable data (ELF, Mach-O, PE).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| bulwark_fuzz::detect("/usr/local/bin/app", 0o755, data));
