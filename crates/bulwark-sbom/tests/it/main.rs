//! bulwark-sbom's integration tests, one binary (one link step).

mod read;
mod schema;
