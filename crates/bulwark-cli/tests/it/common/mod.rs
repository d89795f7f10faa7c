//! Shared helpers for the integration tests; most of them live in bulwark-testkit, which every
//! crate's tests share.

#![allow(dead_code)]

pub mod http;
pub mod oci;
pub mod own_registry;
pub mod scan_facts;

pub use bulwark_testkit::{image, repo, shared};

pub const IMAGES: [&str; 8] =
    ["debian-minbase", "python-app", "node-app", "rust-app", "java-app", "multi-layer", "zstd-layer", "rpm-synthetic"];

/// The `bulwark` binary built for this test run.
pub fn bulwark() -> std::process::Command {
    std::process::Command::new(env!("CARGO_BIN_EXE_bulwark"))
}
