//! Output formats of `bulwark scan`, each a module behind [`ReportFormat`], registered in
//! [`formats`]: a table for people, our own JSON, SARIF 2.1.0 for code scanning, and a
//! CycloneDX 1.6 BOM with vulnerabilities.

#![forbid(unsafe_code)]

pub mod formats;
mod text;

use bulwark_match::ScanReport;
use std::io::Write;

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("writing output: {0}")]
    Io(#[from] std::io::Error),
    #[error("encoding JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// How to write. Colour only when asked: the CLI sets it for a terminal without `NO_COLOR`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteOptions {
    pub color: bool,
}

/// One output format.
pub trait ReportFormat: Send + Sync {
    /// The `--format` value, e.g. `sarif`.
    fn name(&self) -> &'static str;
    /// Other `--format` values accepted for it (`cyclonedx-json`, as `bulwark sbom` spells it).
    fn aliases(&self) -> &'static [&'static str] {
        &[]
    }
    fn write(&self, report: &ScanReport, out: &mut dyn Write, opts: &WriteOptions) -> Result<(), ReportError>;
}

/// The registry of formats; the first is the default.
pub fn formats() -> Vec<Box<dyn ReportFormat>> {
    vec![
        Box::new(formats::table::Table),
        Box::new(formats::json::Json),
        Box::new(formats::sarif::Sarif),
        Box::new(formats::cyclonedx::CycloneDx),
    ]
}

/// The format named `name` (or one of its aliases), or `None`.
pub fn format_by_name(name: &str) -> Option<Box<dyn ReportFormat>> {
    formats().into_iter().find(|f| f.name() == name || f.aliases().contains(&name))
}
