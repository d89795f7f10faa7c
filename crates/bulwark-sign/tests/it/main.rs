//! bulwark-sign's integration tests, one binary (one link step instead of one per file): each
//! former `tests/X.rs` is module `X`.

mod conformance;
mod interop;
mod keyless;
mod keys;
mod referrers;
mod registry;
mod registry_keyless;
