//! bulwark-cli's integration tests, one binary (one link step instead of one per file): each
//! former `tests/X.rs` is module `X`, sharing `common`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

mod common;

mod accuracy;
mod admission;
mod admission_verify;
mod admission_watch;
mod go_image;
mod hostile;
mod images;
mod outputs;
mod policy;
mod registry;
mod registry_api;
mod registry_crash;
mod registry_rbac;
mod registry_scan;
mod registry_tls;
mod scan;
mod scan_fixtures;
mod sign;
