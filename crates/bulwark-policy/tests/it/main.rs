//! bulwark-policy's integration tests: one binary, a module per area.

mod gatekeeper;
mod yaml;
