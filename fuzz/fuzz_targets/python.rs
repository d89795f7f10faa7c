//! Python package metadata: wheel METADATA, egg PKG-INFO, a single-file .egg-info.
#![no_main]
use libfuzzer_sys::fuzz_target;

const PATHS: [&str; 3] = [
    "/usr/lib/python3/dist-packages/pkg-1.0.dist-info/METADATA",
    "/usr/lib/python3/site-packages/pkg-1.0.egg-info/PKG-INFO",
    "/usr/lib/python3/site-packages/pkg-1.0.egg-info",
];

fuzz_target!(|data: &[u8]| {
    if let Some((path, file)) = bulwark_fuzz::pick(data, &PATHS) {
        bulwark_fuzz::detect(path, 0o100644, file);
    }
});
