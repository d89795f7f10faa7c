//! bulwark-match's integration tests, one binary: each former `tests/X.rs` is module `X`.
//! `rustsec_crosscheck` needs the `oracles` feature (the rustsec crate, heavy to build):
//! `cargo test -p bulwark-match --features oracles`, or `--all-features` as `.ci/run`.

#[cfg(feature = "oracles")]
mod rustsec_crosscheck;
