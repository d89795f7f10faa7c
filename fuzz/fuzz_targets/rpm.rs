//! rpm databases: SQLite (rpmdb.sqlite), Berkeley DB (Packages) and NDB (Packages.db).
#![no_main]
use libfuzzer_sys::fuzz_target;

const PATHS: [&str; 3] = ["/var/lib/rpm/rpmdb.sqlite", "/var/lib/rpm/Packages", "/usr/lib/sysimage/rpm/Packages.db"];

fuzz_target!(|data: &[u8]| {
    if let Some((path, file)) = bulwark_fuzz::pick(data, &PATHS) {
        bulwark_fuzz::detect(path, 0o644, file);
    }
});
