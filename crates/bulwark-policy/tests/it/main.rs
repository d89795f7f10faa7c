//! bulwark-policy's integration tests: one binary, a module per area.

mod cel;
mod glob;
mod pss;
mod report;
mod yaml;
