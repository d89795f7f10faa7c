//! A readable table: type, name, version, location.

use crate::{Format, SbomError};
use bulwark_catalog::Inventory;
use std::io::Write;

pub struct Table;

impl Format for Table {
    fn name(&self) -> &'static str {
        "table"
    }

    fn write(&self, inv: &Inventory, out: &mut dyn Write) -> Result<(), SbomError> {
        let rows: Vec<[&str; 4]> = inv
            .packages
            .iter()
            .map(|p| [p.kind.as_str(), p.name.as_str(), p.version.as_str(), p.location.path.as_str()])
            .collect();
        let head = ["TYPE", "NAME", "VERSION", "LOCATION"];
        let mut w = head.map(str::len);
        for r in &rows {
            for (i, c) in r.iter().enumerate() {
                w[i] = w[i].max(c.chars().count());
            }
        }
        if let Some(os) = &inv.os {
            let name =
                if os.pretty_name.is_empty() { format!("{} {}", os.id, os.version_id) } else { os.pretty_name.clone() };
            writeln!(out, "OS: {name}")?;
        }
        for r in std::iter::once(head).chain(rows.iter().copied()) {
            writeln!(out, "{:<w0$}  {:<w1$}  {:<w2$}  {}", r[0], r[1], r[2], r[3], w0 = w[0], w1 = w[1], w2 = w[2])?;
        }
        writeln!(out, "\n{} packages", rows.len())?;
        Ok(())
    }
}
