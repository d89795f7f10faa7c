//! bulwark-report's integration tests, one binary (one link step): each writer's output on
//! the same reports, checked against the official schemas where there is one.

mod common;

mod cyclonedx;
mod json;
mod sarif;
mod table;
