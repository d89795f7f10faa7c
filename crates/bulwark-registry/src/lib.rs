//! `bulwark registry`: an OCI distribution (v1.1) registry with projects, role-based access,
//! Docker token auth, retention, garbage collection and scan-on-push.
//!
//! Requests flow: [`server`] (TCP/TLS, shutdown) → [`api`] (the distribution API, auth checks,
//! OCI errors at one boundary) and [`mgmt`] (`/api/v1`, metrics, health) → [`meta`] (SQLite)
//! and [`storage`] (blobs). [`scan`] builds SBOMs and reports off the request path.

#![forbid(unsafe_code)]

pub mod api;
pub mod auth;
pub mod config;
pub mod digest;
pub mod gc;
pub mod meta;
pub mod metrics;
pub mod mgmt;
pub mod retention;
pub mod scan;
pub mod server;
pub mod storage;

pub use config::Config;
