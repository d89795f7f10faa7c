//! Bulwark's own JSON: the inventory as the library holds it, stable field names.

use crate::{Format, SbomError};
use bulwark_catalog::Inventory;
use std::io::Write;

pub struct Json;

impl Format for Json {
    fn name(&self) -> &'static str {
        "json"
    }

    fn write(&self, inv: &Inventory, out: &mut dyn Write) -> Result<(), SbomError> {
        #[derive(serde::Serialize)]
        struct Doc<'a> {
            #[serde(rename = "schemaVersion")]
            schema_version: u32,
            tool: &'a str,
            #[serde(flatten)]
            inv: &'a Inventory,
        }
        serde_json::to_writer_pretty(
            &mut *out,
            &Doc { schema_version: 1, tool: concat!("bulwark ", env!("CARGO_PKG_VERSION")), inv },
        )?;
        writeln!(out)?;
        Ok(())
    }
}
