//! `bulwark db update|info`.

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use std::path::PathBuf;

#[derive(Subcommand)]
pub(crate) enum DbCommand {
    /// Build the database from the OSV bucket (default) or from local files and mirrors.
    Update(UpdateArgs),
    /// Show when the database was built, from what, and how many advisories it holds.
    Info(InfoArgs),
}

#[derive(Args)]
pub(crate) struct DbLocation {
    /// Database file (default: CACHE_DIR/db/vuln.db).
    #[arg(long, env = "BULWARK_DB")]
    pub(crate) db: Option<PathBuf>,
    /// Cache directory holding the database (default: the user cache dir, `bulwark/`).
    #[arg(long, env = "BULWARK_CACHE_DIR")]
    pub(crate) cache_dir: Option<PathBuf>,
}

impl DbLocation {
    pub(crate) fn path(&self) -> PathBuf {
        self.db.clone().unwrap_or_else(|| bulwark_vulndb::default_path(self.cache_dir.as_deref()))
    }
}

#[derive(Args)]
pub(crate) struct UpdateArgs {
    /// Where advisories come from; repeat to combine. A directory laid out like the OSV
    /// bucket (`<Ecosystem>/all.zip`), an all.zip, a directory of OSV JSON, Alpine's secdb
    /// (YAML or JSON), the Debian tracker's DSA/DLA lists or its JSON export, or an
    /// http(s) URL of an OSV bucket mirror. Default: the public OSV bucket.
    #[arg(long = "source", value_name = "PATH|URL")]
    sources: Vec<String>,
    /// OSV ecosystems to download from a bucket URL (default: every ecosystem bulwark matches).
    #[arg(long = "ecosystem", value_name = "NAME")]
    ecosystems: Vec<String>,
    /// Allow plain-HTTP mirrors on non-loopback hosts.
    #[arg(long)]
    insecure: bool,
    #[command(flatten)]
    location: DbLocation,
    /// No progress bar, no warnings.
    #[arg(short, long)]
    quiet: bool,
}

#[derive(Args)]
pub(crate) struct InfoArgs {
    #[command(flatten)]
    location: DbLocation,
    /// Output format: table or json.
    #[arg(short, long, default_value = "table")]
    format: String,
}

pub(crate) fn run(cmd: DbCommand) -> Result<i32> {
    match cmd {
        DbCommand::Update(a) => update(a),
        DbCommand::Info(a) => info(a),
    }
}

fn update(a: UpdateArgs) -> Result<i32> {
    use std::io::IsTerminal;
    let target = a.location.path();
    let default = a.sources.is_empty();
    let sources = if default { vec![bulwark_vulndb::download::DEFAULT_BUCKET.to_string()] } else { a.sources };
    let mut opts = bulwark_vulndb::download::DownloadOptions {
        progress: !a.quiet && std::io::stderr().is_terminal(),
        allow_insecure: a.insecure,
        ..Default::default()
    };
    if !a.ecosystems.is_empty() {
        opts.ecosystems = a.ecosystems;
    }
    let started = std::time::Instant::now();
    let report = bulwark_vulndb::download::update_from(&sources, &target, &opts).with_context(|| {
        let hint = if default {
            " (offline or air-gapped: --source DIR, a directory laid out like the OSV bucket, or a mirror URL)"
        } else {
            ""
        };
        format!("updating {}{hint}", target.display())
    })?;
    if !a.quiet {
        for w in &report.warnings {
            eprintln!("bulwark: warning: {w}");
        }
        let m = &report.metadata;
        eprintln!(
            "bulwark: {} advisories from {} files in {:.1}s ({} withdrawn skipped) -> {}",
            m.advisories,
            m.sources.len(),
            started.elapsed().as_secs_f64(),
            m.withdrawn_skipped,
            target.display()
        );
    }
    Ok(0)
}

fn info(a: InfoArgs) -> Result<i32> {
    let path = a.location.path();
    let db = bulwark_vulndb::Db::open(&path)?;
    let m = db.metadata();
    match a.format.as_str() {
        "json" => {
            let mut v = serde_json::to_value(m)?;
            if let Some(o) = v.as_object_mut() {
                o.insert("path".into(), path.display().to_string().into());
            }
            println!("{}", serde_json::to_string_pretty(&v)?);
        }
        "table" => {
            println!("Database:   {}", path.display());
            println!("Schema:     {}", m.schema_version);
            println!("Built:      {}", m.built_at);
            println!("Advisories: {} ({} withdrawn skipped)", m.advisories, m.withdrawn_skipped);
            println!("\nEcosystem             Advisories");
            for (eco, n) in &m.ecosystems {
                println!("{eco:<22}{n:>10}");
            }
            println!("\nSources");
            for s in &m.sources {
                println!("  {:<15} {:>7} records  {}", s.format, s.records, s.location);
            }
        }
        other => anyhow::bail!("unknown --format {other:?}; one of: table, json"),
    }
    Ok(0)
}
