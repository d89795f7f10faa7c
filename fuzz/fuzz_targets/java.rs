//! Java archives: the zip, META-INF/MANIFEST.MF, pom.properties, nested jars.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| bulwark_fuzz::detect("/app/lib/app.jar", 0o644, data));
