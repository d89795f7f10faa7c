//! bulwark-registry's integration tests, one binary (one link step instead of one per file):
//! each former `tests/X.rs` is module `X`.

mod gc;
mod scan;
