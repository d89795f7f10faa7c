//! bulwark-sign's integration tests, one binary (one link step instead of one per file): each
//! former `tests/X.rs` is module `X`. `interop` needs the `oracles` feature (sigstore-rs, heavy
//! to build): `cargo test -p bulwark-sign --features oracles` (.ci/run turns it on).

mod conformance;
mod interop;
mod keyless;
mod keys;
mod referrers;
mod registry;
mod registry_keyless;
