//! bulwark-vulndb's integration tests, one binary (one link step).

mod download;
mod import;
mod severity;
