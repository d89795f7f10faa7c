//! bulwark-image's integration tests, one binary: each former `tests/X.rs` is module `X`.

mod registry;
