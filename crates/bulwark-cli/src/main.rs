//! `bulwark`: a thin command line over the library crates.

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use exit::Exit;

mod admission;
mod db;
mod exit;
mod policy;
mod registry;
mod scan;
mod sign;

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
    /// Scan an image, directory or SBOM for known vulnerabilities.
    Scan(scan::ScanArgs),
    /// Build or inspect the local vulnerability database.
    #[command(subcommand)]
    Db(db::DbCommand),
    /// Write a cosign key pair: cosign.key (encrypted) and cosign.pub.
    GenerateKeyPair(sign::GenerateKeyPairArgs),
    /// Sign an image's digest; the signature is stored beside it, as cosign stores it.
    Sign(sign::SignArgs),
    /// Verify an image's signatures; prints the verified payloads as JSON, exit 1 if none.
    Verify(sign::VerifyArgs),
    /// Attach an artifact (an SBOM) to an image.
    #[command(subcommand)]
    Attach(sign::AttachCommand),
    /// Sign an in-toto attestation about an image.
    Attest(sign::AttestArgs),
    /// Verify an image's attestations; prints the verified statements, exit 1 if none.
    VerifyAttestation(sign::VerifyAttestationArgs),
    /// Verify an image's SLSA provenance: signed, from the expected source and builder.
    VerifyProvenance(sign::VerifyProvenanceArgs),
    /// Print where an image's signature, attestations or SBOM are stored.
    Triangulate(sign::TriangulateArgs),
    /// Verify a Sigstore bundle against an artifact, offline.
    VerifyBundle(sign::VerifyBundleArgs),
    /// A private OCI registry with projects, RBAC, retention and scan-on-push.
    #[command(subcommand)]
    Registry(registry::RegistryCommand),
    /// Apply, test and lint admission policies (Pod Security Standards, Kyverno, Gatekeeper),
    /// offline.
    #[command(subcommand)]
    Policy(policy::PolicyCommand),
    /// The Kubernetes admission webhook: decide AdmissionReviews with the policies.
    #[command(subcommand)]
    Admission(Box<admission::AdmissionCommand>),
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
    #[command(flatten)]
    image: ImageArgs,
}

/// How images are read: shared by `sbom` and `scan`.
#[derive(Args, Clone)]
pub(crate) struct ImageArgs {
    /// Platform to pick from a multi-arch image, e.g. linux/arm64.
    #[arg(long)]
    pub(crate) platform: Option<String>,
    /// Cache directory for layer inventories (default: the user cache dir, `bulwark/`).
    #[arg(long, env = "BULWARK_CACHE_DIR")]
    pub(crate) cache_dir: Option<PathBuf>,
    /// Read every layer, neither using nor filling the cache.
    #[arg(long)]
    pub(crate) no_cache: bool,
    /// Allow unverified TLS, or plain HTTP when the registry has no TLS (localhost too).
    #[arg(long)]
    pub(crate) insecure: bool,
    /// Registry credentials: a Docker config.json or the directory holding one (a Kubernetes
    /// imagePullSecret's .dockerconfigjson works as is). Default: $DOCKER_CONFIG/config.json,
    /// else ~/.docker/config.json.
    #[arg(long, value_name = "FILE")]
    pub(crate) registry_config: Option<PathBuf>,
    /// No progress bar and no warnings on stderr.
    #[arg(short, long)]
    pub(crate) quiet: bool,
    /// Read the image's layers even when its registry (a Bulwark registry) already holds
    /// the SBOM it made at push time.
    #[arg(long)]
    pub(crate) no_registry_sbom: bool,
    /// dir: sources: also walk other file systems mounted below the root (by default /proc,
    /// /sys and every other mount below it are skipped, as Syft skips pseudo-filesystems).
    #[arg(long)]
    pub(crate) cross_mounts: bool,
    /// dir: sources: also report the package databases of root file systems nested in the tree
    /// (a chroot under /srv, a container runtime's storage), at their paths in the tree.
    #[arg(long)]
    pub(crate) nested_roots: bool,
}

impl ImageArgs {
    pub(crate) fn options(&self) -> bulwark_image::Options {
        bulwark_image::Options {
            platform: self.platform.clone(),
            cache_dir: self.cache_dir.clone(),
            no_cache: self.no_cache,
            insecure: self.insecure,
            docker_config: self.registry_config.clone(),
            progress: !self.quiet && std::io::stderr().is_terminal(),
            limits: Default::default(),
            no_registry_sbom: self.no_registry_sbom,
            dir: bulwark_image::dir::DirOptions { cross_mounts: self.cross_mounts, nested_roots: self.nested_roots },
        }
    }
}

/// Exit codes: see [`exit`] (0 ok, 1 verification or policy failure, 2 usage or input error,
/// N for `scan --exit-code N`).
fn main() {
    // Clap exits 2 on a usage error itself, as the table says.
    let cli = Cli::parse();
    let exit = match run(cli) {
        Ok(exit) => exit,
        Err(e) => {
            eprintln!("bulwark: error: {e:#}");
            Exit::Error
        }
    };
    std::process::exit(exit.code());
}

fn run(cli: Cli) -> Result<Exit> {
    match cli.command {
        Command::Sbom(a) => sbom(a),
        Command::Scan(a) => scan::run(a),
        // These end in success or an error.
        Command::Db(c) => db::run(c).map(|_| Exit::Success),
        Command::GenerateKeyPair(a) => sign::generate_key_pair(a),
        Command::Sign(a) => sign::sign(a),
        Command::Verify(a) => sign::verify(a),
        Command::Attach(c) => sign::attach(c),
        Command::Attest(a) => sign::attest(a),
        Command::VerifyAttestation(a) => sign::verify_attestation(a),
        Command::VerifyProvenance(a) => sign::verify_provenance(a),
        Command::Triangulate(a) => sign::triangulate(a),
        Command::VerifyBundle(a) => sign::verify_bundle(a),
        Command::Registry(c) => registry::run(c).map(|_| Exit::Success),
        Command::Policy(c) => policy::run(c),
        Command::Admission(c) => admission::run(*c),
    }
}

fn sbom(a: SbomArgs) -> Result<Exit> {
    let Some(format) = bulwark_sbom::format_by_name(&a.format) else {
        let names: Vec<_> = bulwark_sbom::formats().iter().map(|f| f.name()).collect();
        bail!("unknown --format {:?}; one of: {}", a.format, names.join(", "));
    };
    let inv = bulwark_image::catalog(&a.source, &a.image.options()).with_context(|| format!("reading {}", a.source))?;
    if !a.image.quiet {
        for w in &inv.warnings {
            eprintln!("bulwark: warning: {w}");
        }
    }
    write_output(a.output.as_deref(), |out| Ok(format.write(&inv, out)?))?;
    Ok(Exit::Success)
}

/// Writes to FILE (created, or replaced) or to standard output, buffered.
pub(crate) fn write_output(
    path: Option<&std::path::Path>,
    write: impl FnOnce(&mut dyn Write) -> Result<()>,
) -> Result<()> {
    match path {
        Some(path) => {
            let mut f = std::io::BufWriter::new(
                std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
            );
            write(&mut f)?;
            f.flush().with_context(|| format!("writing {}", path.display()))?;
        }
        None => {
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            write(&mut out)?;
            out.flush()?;
        }
    }
    Ok(())
}
