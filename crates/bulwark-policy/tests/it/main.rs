//! bulwark-policy's integration tests: one binary, a module per area.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

mod cel;
mod gatekeeper;
mod glob;
mod kyverno;
mod mutate;
mod pss;
mod report;
mod yaml;
