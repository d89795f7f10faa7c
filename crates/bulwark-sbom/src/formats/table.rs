//! A readable table: type, name, version, location.

use crate::{Format, SbomError};
use bulwark_catalog::Inventory;
use std::io::Write;

pub struct Table;

/// Widest a column is padded to; longer values overflow their column.
const MAX_COLUMN: usize = 80;

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
                // Capped: every row is padded to the widest, so one name of megabytes (a
                // hostile image's) would otherwise pad every line of the table to megabytes.
                w[i] = w[i].max(c.chars().count().min(MAX_COLUMN));
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

#[cfg(test)]
mod tests {
    use super::*;
    use bulwark_catalog::{Package, PackageType};

    /// One package with a 1 MiB name among 1000 others: every row was padded to 1 MiB, a
    /// gigabyte of table.
    #[test]
    fn one_huge_name_does_not_pad_every_row() {
        let mut inv = Inventory::default();
        inv.packages.push(Package::new(PackageType::Deb, "n".repeat(1 << 20), "1", "/var/lib/dpkg/status"));
        for i in 0..1000 {
            inv.packages.push(Package::new(PackageType::Deb, format!("p{i}"), "1.0", "/var/lib/dpkg/status"));
        }
        let mut out = Vec::new();
        Table.write(&inv, &mut out).unwrap();
        assert!(out.len() < (1 << 20) + 1000 * 200, "{} bytes", out.len());
        let text = String::from_utf8(out).unwrap();
        let p0 = text.lines().find(|l| l.starts_with("deb   p0 ")).unwrap();
        assert_eq!(
            p0.len(),
            "deb".len() + 3 + MAX_COLUMN + 2 + "VERSION".len() + 2 + "/var/lib/dpkg/status".len(),
            "{p0}"
        );
    }
}
