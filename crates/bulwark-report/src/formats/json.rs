//! Bulwark's own JSON: the scan report as the library holds it, suppressed findings with
//! their reasons included, under a `schema` field that names this layout's version.

use crate::{ReportError, ReportFormat, WriteOptions};
use bulwark_match::ScanReport;
use std::io::Write;

pub struct Json;

/// Bumped when a field changes meaning or goes away; added fields keep it.
pub const SCHEMA: &str = "bulwark-scan/1";

impl ReportFormat for Json {
    fn name(&self) -> &'static str {
        "json"
    }

    fn write(&self, report: &ScanReport, out: &mut dyn Write, _opts: &WriteOptions) -> Result<(), ReportError> {
        #[derive(serde::Serialize)]
        struct Doc<'a> {
            schema: &'static str,
            tool: &'static str,
            #[serde(flatten)]
            report: &'a ScanReport,
        }
        let doc = Doc { schema: SCHEMA, tool: concat!("bulwark ", env!("CARGO_PKG_VERSION")), report };
        serde_json::to_writer_pretty(&mut *out, &doc)?;
        writeln!(out)?;
        Ok(())
    }
}
