//! bulwark-policy's integration tests: one binary, a module per area.

mod glob;
mod report;
mod yaml;
