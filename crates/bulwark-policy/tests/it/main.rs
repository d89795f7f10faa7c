//! bulwark-policy's integration tests: one binary, a module per area.

mod cel;
mod gatekeeper;
mod glob;
mod pss;
mod report;
mod yaml;
