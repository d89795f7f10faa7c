//! `bulwark registry`: an OCI distribution (v1.1) registry with projects, role-based access,
//! Docker token auth, retention, garbage collection and scan-on-push.
//!
//! Requests flow: [`server`] (TCP/TLS, shutdown) → [`router`] → [`distribution`] (the
//! distribution API and the token endpoint) and [`mgmt`] (`/api/v1`, metrics, health), which
//! share [`state`], answer with [`error::ApiError`] (OCI errors at one boundary) and use
//! [`meta`] (SQLite) and [`storage`] (blobs). [`accounts`] and [`maintenance`] (retention and
//! GC over every project) are the operations the management API and the CLI share. [`scan`]
//! builds SBOMs and reports off the request path.

#![forbid(unsafe_code)]

pub mod accounts;
pub mod auth;
pub mod config;
pub mod distribution;
pub mod error;
pub mod gc;
pub mod maintenance;
pub mod meta;
pub mod metrics;
pub mod mgmt;
pub mod names;
pub mod retention;
pub mod router;
pub mod scan;
pub mod server;
pub mod state;
pub mod storage;

pub use config::Config;
