//! npm's lockfiles: package-lock.json, yarn.lock (v1 and berry), pnpm-lock.yaml; and package.json.
#![no_main]
use libfuzzer_sys::fuzz_target;

const PATHS: [&str; 4] =
    ["/app/package-lock.json", "/app/yarn.lock", "/app/pnpm-lock.yaml", "/app/node_modules/x/package.json"];

fuzz_target!(|data: &[u8]| {
    if let Some((path, file)) = bulwark_fuzz::pick(data, &PATHS) {
        bulwark_fuzz::detect(path, 0o644, file);
    }
});
