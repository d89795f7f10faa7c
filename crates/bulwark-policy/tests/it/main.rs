//! bulwark-policy's integration tests: one binary, a module per area.

mod kyverno;
mod yaml;
