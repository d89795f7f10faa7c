//! Inventory output formats, each a module behind [`Format`], registered in [`formats`].

#![forbid(unsafe_code)]

pub mod formats;
mod license;
pub mod read;
pub mod stamp;

pub use formats::Ids;
pub use stamp::Stamp;

use bulwark_catalog::Inventory;
use std::io::Write;

#[derive(Debug, thiserror::Error)]
pub enum SbomError {
    #[error("writing output: {0}")]
    Io(#[from] std::io::Error),
    #[error("encoding JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("SOURCE_DATE_EPOCH {0:?} is not a Unix time in whole seconds")]
    SourceDateEpoch(String),
}

/// One output format.
pub trait Format: Send + Sync {
    /// The `--format` value, e.g. `cyclonedx-json`.
    fn name(&self) -> &'static str;
    fn write(&self, inv: &Inventory, out: &mut dyn Write) -> Result<(), SbomError>;
}

/// The registry of formats.
pub fn formats() -> Vec<Box<dyn Format>> {
    vec![
        Box::new(formats::table::Table),
        Box::new(formats::json::Json),
        Box::new(formats::cyclonedx::CycloneDx),
        Box::new(formats::spdx::Spdx),
    ]
}

/// The format named `name`, or `None`.
pub fn format_by_name(name: &str) -> Option<Box<dyn Format>> {
    formats().into_iter().find(|f| f.name() == name)
}
