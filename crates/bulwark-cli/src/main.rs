//! `bulwark`: a thin command line over the library crates.

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;

#[derive(Parser)]
#[command(name = "bulwark", version, about = "Container supply-chain security: SBOMs, scanning, signing")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Inventory an image or directory and write an SBOM.
    Sbom(SbomArgs),
}

#[derive(Args)]
struct SbomArgs {
    /// What to inventory: docker-archive:FILE, oci-dir:PATH[:TAG], oci-archive:FILE[:TAG],
    /// dir:PATH, a registry reference, or a bare path (detected).
    source: String,
    /// Output format: table, json, cyclonedx-json, spdx-json.
    #[arg(short, long, default_value = "table")]
    format: String,
    /// Write to FILE instead of standard output.
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Platform to pick from a multi-arch image, e.g. linux/arm64.
    #[arg(long)]
    platform: Option<String>,
    /// Cache directory for layer inventories (default: the user cache dir, `bulwark/`).
    #[arg(long, env = "BULWARK_CACHE_DIR")]
    cache_dir: Option<PathBuf>,
    /// Read every layer, neither using nor filling the cache.
    #[arg(long)]
    no_cache: bool,
    /// Allow unverified TLS, or plain HTTP when the registry has no TLS (localhost too).
    #[arg(long)]
    insecure: bool,
    /// Registry credentials: a Docker config.json or the directory holding one (a Kubernetes
    /// imagePullSecret's .dockerconfigjson works as is). Default: $DOCKER_CONFIG/config.json,
    /// else ~/.docker/config.json.
    #[arg(long, value_name = "FILE")]
    registry_config: Option<PathBuf>,
    /// No progress bar and no warnings on stderr.
    #[arg(short, long)]
    quiet: bool,
}

fn main() {
    let cli = Cli::parse();
    let code = match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("bulwark: error: {e:#}");
            2
        }
    };
    std::process::exit(code);
}

fn run(cli: Cli) -> Result<i32> {
    match cli.command {
        Command::Sbom(a) => sbom(a),
    }
}

fn sbom(a: SbomArgs) -> Result<i32> {
    let Some(format) = bulwark_sbom::format_by_name(&a.format) else {
        let names: Vec<_> = bulwark_sbom::formats().iter().map(|f| f.name()).collect();
        bail!("unknown --format {:?}; one of: {}", a.format, names.join(", "));
    };
    let opts = bulwark_image::Options {
        platform: a.platform,
        cache_dir: a.cache_dir,
        no_cache: a.no_cache,
        insecure: a.insecure,
        docker_config: a.registry_config,
        progress: !a.quiet && std::io::stderr().is_terminal(),
        limits: Default::default(),
    };
    let inv = bulwark_image::catalog(&a.source, &opts).with_context(|| format!("reading {}", a.source))?;
    if !a.quiet {
        for w in &inv.warnings {
            eprintln!("bulwark: warning: {w}");
        }
    }
    match &a.output {
        Some(path) => {
            let mut f = std::io::BufWriter::new(
                std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
            );
            format.write(&inv, &mut f)?;
            f.flush()?;
        }
        None => {
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            format.write(&inv, &mut out)?;
            out.flush()?;
        }
    }
    Ok(0)
}
