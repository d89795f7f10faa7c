//! bulwark-match's integration tests, one binary: each former `tests/X.rs` is module `X`.
//! `rustsec_crosscheck` needs the `oracles` feature (the rustsec crate, heavy to build):
//! `cargo test -p bulwark-match --features oracles` (.ci/run turns it on).

mod rustsec_crosscheck;
