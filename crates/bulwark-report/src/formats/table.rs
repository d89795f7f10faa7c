//! A table for people, laid out like Trivy's: one box-drawn table per target (the file the
//! packages came from, with their type), a severity count above each, the advisory's title
//! cut to fit with its link below. Every string from the image or the database is cleaned of
//! control characters first: a title holding ANSI escapes must not drive the terminal.

use super::{package_name, source_name};
use crate::text::{clean, cut, width, wrap};
use crate::{ReportError, ReportFormat, WriteOptions};
use bulwark_catalog::PackageType;
use bulwark_match::{Finding, ScanReport};
use bulwark_vulndb::severity::Level;
use std::collections::BTreeMap;
use std::io::Write;

pub struct Table;

const HEAD: [&str; COLS] = ["Library", "Vulnerability", "Severity", "Installed Version", "Fixed Version", "Title"];
const COLS: usize = 6;
const TITLE: usize = 5;
/// Widest each column gets; longer values wrap (names, versions) or are cut (titles, links).
const MAX: [usize; COLS] = [28, 20, 8, 20, 20, 50];
/// A link is no use cut short, so the title column widens for it up to this.
const MAX_URL: usize = 72;
/// Lines a wrapped cell may take before the rest is left out.
const MAX_LINES: usize = 3;
/// Widest a target's heading is underlined.
const MAX_RULE: usize = 100;

impl ReportFormat for Table {
    fn name(&self) -> &'static str {
        "table"
    }

    fn write(&self, report: &ScanReport, out: &mut dyn Write, opts: &WriteOptions) -> Result<(), ReportError> {
        writeln!(out, "{}", summary(report))?;
        writeln!(out)?;
        if report.findings.is_empty() {
            let name = clean(source_name(&report.source));
            writeln!(
                out,
                "No vulnerabilities found in {} ({} packages scanned).",
                cut(&name, 120),
                report.packages_scanned
            )?;
        }
        for ((_, path, kind), findings) in targets(report) {
            let heading = format!("{} ({kind})", clean(path));
            writeln!(out, "{heading}")?;
            writeln!(out, "{}", "=".repeat(width(&heading).min(MAX_RULE)))?;
            writeln!(out, "{}", total(&findings))?;
            writeln!(out)?;
            write_table(out, &findings, opts)?;
            writeln!(out)?;
        }
        if !report.suppressed.is_empty() {
            let mut by: BTreeMap<&str, usize> = BTreeMap::new();
            for s in &report.suppressed {
                *by.entry(s.by.kind()).or_default() += 1;
            }
            let counts: Vec<String> = by.iter().map(|(k, n)| format!("{k}: {n}")).collect();
            writeln!(
                out,
                "Suppressed: {} ({}); the reasons are in --format json",
                report.suppressed.len(),
                counts.join(", ")
            )?;
        }
        Ok(())
    }
}

/// One line on what was scanned: the image, its OS, how many packages, which database.
fn summary(report: &ScanReport) -> String {
    let mut s = clean(source_name(&report.source));
    if let Some(os) = &report.os {
        let name =
            if os.pretty_name.is_empty() { format!("{} {}", os.id, os.version_id) } else { os.pretty_name.clone() };
        s.push_str(&format!(" ({})", clean(&name)));
    }
    s.push_str(&format!(": {} packages scanned", report.packages_scanned));
    if !report.db.built_at.is_empty() {
        s.push_str(&format!(", database of {}", clean(&report.db.built_at)));
    }
    cut(&s, 200)
}

/// Findings by target: OS packages first (as Trivy lists them), then by path and type.
fn targets(report: &ScanReport) -> BTreeMap<(bool, &str, PackageType), Vec<&Finding>> {
    let mut t: BTreeMap<(bool, &str, PackageType), Vec<&Finding>> = BTreeMap::new();
    for f in &report.findings {
        let p = &f.package;
        t.entry((!p.kind.is_os(), p.location.path.as_str(), p.kind)).or_default().push(f);
    }
    for findings in t.values_mut() {
        findings.sort_by(|a, b| {
            (&a.package.name, &a.package.namespace, &a.installed_version)
                .cmp(&(&b.package.name, &b.package.namespace, &b.installed_version))
                .then(b.severity.cmp(&a.severity))
                .then(a.id.cmp(&b.id))
        });
    }
    t
}

fn total(findings: &[&Finding]) -> String {
    let counts: Vec<String> =
        Level::ALL.iter().map(|l| format!("{l}: {}", findings.iter().filter(|f| f.severity == *l).count())).collect();
    format!("Total: {} ({})", findings.len(), counts.join(", "))
}

struct Row {
    /// Each cell's lines.
    cells: [Vec<String>; COLS],
    severity: Level,
    /// Same package as the row above: its Library and Installed Version cells are merged.
    same_package: bool,
}

fn rows(findings: &[&Finding]) -> Vec<Row> {
    let mut rows: Vec<Row> = Vec::with_capacity(findings.len());
    let mut prev: Option<(String, &str)> = None;
    for f in findings {
        let lib = package_name(&f.package);
        let same_package = prev.as_ref().is_some_and(|(l, v)| *l == lib && *v == f.installed_version);
        let title = clean(f.title.as_deref().unwrap_or(""));
        let mut title_lines = vec![title];
        let url = clean(&f.url);
        if !url.is_empty() {
            title_lines.push(cut(&url, MAX_URL));
        }
        let fixed = f.fixed_version.as_deref().unwrap_or("");
        rows.push(Row {
            cells: [
                if same_package { vec![String::new()] } else { wrap(&clean(&lib), MAX[0], MAX_LINES) },
                wrap(&clean(&f.id), MAX[1], MAX_LINES),
                vec![f.severity.as_str().to_string()],
                if same_package { vec![String::new()] } else { wrap(&clean(&f.installed_version), MAX[3], MAX_LINES) },
                wrap(&clean(fixed), MAX[4], MAX_LINES),
                title_lines,
            ],
            severity: f.severity,
            same_package,
        });
        prev = Some((lib, &f.installed_version));
    }
    rows
}

fn write_table(out: &mut dyn Write, findings: &[&Finding], opts: &WriteOptions) -> Result<(), ReportError> {
    let mut rows = rows(findings);
    let mut w = HEAD.map(width);
    for r in &rows {
        for (i, cell) in r.cells.iter().enumerate().take(TITLE) {
            w[i] = w[i].max(cell.iter().map(|l| width(l)).max().unwrap_or(0));
        }
        // The link sets the title column's width up to MAX_URL; a title is cut to the width.
        let url = r.cells[TITLE].get(1).map_or(0, |u| width(u));
        let title = r.cells[TITLE].first().map_or(0, |t| width(t)).min(MAX[TITLE]);
        w[TITLE] = w[TITLE].max(url).max(title);
    }
    for r in &mut rows {
        if let Some(t) = r.cells[TITLE].first_mut() {
            *t = cut(t, w[TITLE]);
        }
    }

    rule(out, &w, &[false; COLS], ['┌', '┬', '┐'])?;
    line(out, &w, &HEAD.map(str::to_string), None)?;
    rule(out, &w, &[false; COLS], ['├', '┼', '┤'])?;
    for (n, r) in rows.iter().enumerate() {
        if n > 0 {
            // Under a merged cell the separator leaves the column open.
            let merged = [r.same_package, false, false, r.same_package, false, false];
            rule(out, &w, &merged, ['├', '┼', '┤'])?;
        }
        let height = r.cells.iter().map(Vec::len).max().unwrap_or(1);
        for i in 0..height {
            let texts: [String; COLS] = std::array::from_fn(|c| r.cells[c].get(i).cloned().unwrap_or_default());
            let color = (opts.color && i == 0).then_some(r.severity);
            line(out, &w, &texts, color)?;
        }
    }
    rule(out, &w, &[false; COLS], ['└', '┴', '┘'])?;
    Ok(())
}

/// A horizontal line. `merged[c]` leaves column `c` blank with its borders upright;
/// `ends` is the left end, a junction and the right end.
fn rule(out: &mut dyn Write, w: &[usize; COLS], merged: &[bool; COLS], ends: [char; 3]) -> std::io::Result<()> {
    let [left, cross, right] = ends;
    let mut s = String::new();
    s.push(if merged[0] { '│' } else { left });
    for c in 0..COLS {
        let fill = if merged[c] { ' ' } else { '─' };
        s.extend(std::iter::repeat_n(fill, w[c] + 2));
        let junction = if c + 1 == COLS {
            if merged[c] {
                '│'
            } else {
                right
            }
        } else {
            match (merged[c], merged[c + 1]) {
                (true, true) => '│',
                (true, false) => '├',
                (false, true) => '┤',
                (false, false) => cross,
            }
        };
        s.push(junction);
    }
    writeln!(out, "{s}")
}

/// One line of cells, padded; the severity cell coloured when `color` is set.
fn line(out: &mut dyn Write, w: &[usize; COLS], texts: &[String; COLS], color: Option<Level>) -> std::io::Result<()> {
    let mut s = String::from("│");
    for (c, text) in texts.iter().enumerate() {
        let pad = w[c].saturating_sub(width(text));
        match color {
            Some(level) if c == 2 && !text.is_empty() => {
                s.push_str(&format!(" {}{text}\x1b[0m{} │", ansi(level), " ".repeat(pad)));
            }
            _ => s.push_str(&format!(" {text}{} │", " ".repeat(pad))),
        }
    }
    writeln!(out, "{s}")
}

/// Trivy's colours: CRITICAL red, HIGH bright red, MEDIUM yellow, LOW blue, UNKNOWN cyan.
fn ansi(level: Level) -> &'static str {
    match level {
        Level::Critical => "\x1b[31m",
        Level::High => "\x1b[91m",
        Level::Medium => "\x1b[33m",
        Level::Low => "\x1b[34m",
        Level::Unknown => "\x1b[36m",
    }
}
