//! Shared helpers for the integration tests: where the shared test data is.

#![allow(dead_code)]

pub mod http;
pub mod own_registry;
pub mod registry;
pub mod scan_facts;

use std::path::PathBuf;

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `../shared` beside the repository (or `$BULWARK_SHARED`).
pub fn shared() -> PathBuf {
    std::env::var_os("BULWARK_SHARED").map(PathBuf::from).unwrap_or_else(|| repo().join("../shared"))
}

pub fn image(name: &str) -> PathBuf {
    shared().join("images").join(name).join("oci")
}

pub const IMAGES: [&str; 8] =
    ["debian-minbase", "python-app", "node-app", "rust-app", "java-app", "multi-layer", "zstd-layer", "rpm-synthetic"];

/// The `bulwark` binary built for this test run.
pub fn bulwark() -> std::process::Command {
    std::process::Command::new(env!("CARGO_BIN_EXE_bulwark"))
}
