//! `bulwark scan`: inventory (an image, a directory or an SBOM) → match → suppress → report.

use crate::db::DbLocation;
use crate::exit::Exit;
use crate::ImageArgs;
use anyhow::{bail, Context, Result};
use bulwark_vulndb::severity::Level;
use clap::Args;
use std::collections::BTreeSet;
use std::io::IsTerminal;
use std::path::PathBuf;

/// The ignore file read when `--ignorefile` is not given and it exists.
const DEFAULT_IGNOREFILE: &str = ".bulwarkignore";

#[derive(Args)]
pub(crate) struct ScanArgs {
    /// What to scan: any source `bulwark sbom` reads, or sbom:FILE (CycloneDX or SPDX JSON
    /// from bulwark, Syft or Trivy).
    source: String,
    /// Output format: table, json, sarif, cyclonedx.
    #[arg(short, long, default_value = "table")]
    format: String,
    /// Write to FILE instead of standard output.
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Severities to report, comma-separated (UNKNOWN,LOW,MEDIUM,HIGH,CRITICAL).
    #[arg(short, long, value_delimiter = ',')]
    severity: Vec<String>,
    /// Exit with this code (0-255) when any finding is reported (after filters and
    /// suppressions), as Trivy's --exit-code; 0, the default, never fails on findings.
    // u8: a wider code would be cut to its low byte by the OS, and 256 would exit 0.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u8))]
    exit_code: u8,
    /// Leave out vulnerabilities that have no fix yet.
    #[arg(long)]
    ignore_unfixed: bool,
    /// Ignore file in .trivyignore syntax: ids, one per line, optional exp:YYYY-MM-DD
    /// (default: .bulwarkignore if present).
    #[arg(long, value_name = "FILE")]
    ignorefile: Option<PathBuf>,
    /// OpenVEX document; not_affected and fixed statements suppress findings (repeatable).
    #[arg(long, value_name = "FILE")]
    vex: Vec<PathBuf>,
    /// Database file (default: CACHE_DIR/db/vuln.db).
    #[arg(long, env = "BULWARK_DB")]
    db: Option<PathBuf>,
    #[command(flatten)]
    image: ImageArgs,
}

pub(crate) fn run(a: ScanArgs) -> Result<Exit> {
    let Some(format) = bulwark_report::format_by_name(&a.format) else {
        let names: Vec<_> = bulwark_report::formats().iter().map(|f| f.name()).collect();
        bail!("unknown --format {:?}; one of: {}", a.format, names.join(", "));
    };
    let policy = policy(&a)?;
    // Open the database before reading the image: a missing one should say so at once.
    let db_path = DbLocation { db: a.db.clone(), cache_dir: a.image.cache_dir.clone() }.path();
    let db = bulwark_vulndb::Db::open(&db_path)?;
    let inv = match a.source.strip_prefix("sbom:") {
        Some(file) => bulwark_sbom::read::read_sbom_file(std::path::Path::new(file))
            .with_context(|| format!("reading {}", a.source))?,
        None => {
            bulwark_image::catalog(&a.source, &a.image.options()).with_context(|| format!("reading {}", a.source))?
        }
    };
    let mut report = bulwark_match::scan(&inv, &db)?;
    report.warnings.splice(0..0, inv.warnings.iter().cloned());
    bulwark_match::apply(&mut report, &policy);
    if !a.image.quiet {
        for w in &report.warnings {
            eprintln!("bulwark: warning: {w}");
        }
    }
    let color = a.output.is_none() && std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let opts = bulwark_report::WriteOptions { color };
    crate::write_output(a.output.as_deref(), |out| Ok(format.write(&report, out, &opts)?))?;
    Ok(if report.findings.is_empty() || a.exit_code == 0 { Exit::Success } else { Exit::Findings(a.exit_code) })
}

fn policy(a: &ScanArgs) -> Result<bulwark_match::Policy> {
    let mut policy = bulwark_match::Policy { ignore_unfixed: a.ignore_unfixed, ..Default::default() };
    if !a.severity.is_empty() {
        let mut set = BTreeSet::new();
        for s in &a.severity {
            let Some(level) = Level::parse(s) else {
                bail!("unknown --severity {s:?}; use UNKNOWN, LOW, MEDIUM, HIGH, CRITICAL");
            };
            set.insert(level);
        }
        policy.severities = Some(set);
    }
    let ignorefile = match &a.ignorefile {
        Some(p) => Some(p.clone()),
        None => Some(PathBuf::from(DEFAULT_IGNOREFILE)).filter(|p| p.is_file()),
    };
    if let Some(p) = ignorefile {
        let text = read_policy_file(&p)?;
        let text = String::from_utf8(text).with_context(|| format!("{}: not UTF-8", p.display()))?;
        policy.ignore = Some(bulwark_match::IgnoreFile::parse(&text, &p.display().to_string())?);
    }
    for p in &a.vex {
        let bytes = read_policy_file(p)?;
        policy.vex.push(bulwark_match::Vex::parse(&bytes, &p.display().to_string())?);
    }
    Ok(policy)
}

fn read_policy_file(p: &std::path::Path) -> Result<Vec<u8>> {
    use std::io::Read;
    let f = std::fs::File::open(p).with_context(|| format!("opening {}", p.display()))?;
    let mut buf = Vec::new();
    f.take(bulwark_match::suppress::MAX_POLICY_FILE + 1).read_to_end(&mut buf)?;
    if buf.len() as u64 > bulwark_match::suppress::MAX_POLICY_FILE {
        bail!("{}: larger than {} MiB", p.display(), bulwark_match::suppress::MAX_POLICY_FILE >> 20);
    }
    Ok(buf)
}
