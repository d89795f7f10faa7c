//! Matching: inventory × advisory database → findings, then suppression (ignore files,
//! VEX, unfixed) and severity filters. Data flows one way: catalog → match → report.
#![forbid(unsafe_code)]

pub mod ecosystem;
pub mod matcher;
pub mod model;
pub mod ranges;
pub mod suppress;

pub use matcher::{scan, sort_findings, MatchError};
pub use model::{DbSummary, Finding, PackageRef, ScanReport, Suppressed, Suppression, VexJustification, VexStatus};
pub use suppress::{apply, IgnoreFile, Policy, Vex};
