//! Cosign-compatible commands: generate-key-pair, sign, verify, attach sbom, attest,
//! verify-attestation, verify-provenance, triangulate, verify-bundle.

use crate::exit::Exit;
use anyhow::{bail, Context, Result};
use bulwark_sign::bundle::{Match, Policy, TrustRoot};
use bulwark_sign::oci::{Attachment, RegistryOptions};
use clap::{Args, Subcommand};
use std::path::{Path, PathBuf};

#[derive(Args, Clone)]
pub(crate) struct RegistryArgs {
    /// Allow plain HTTP and unverified TLS (a registry on loopback or a lab network).
    #[arg(long)]
    allow_insecure_registry: bool,
    /// Docker config.json with registry credentials (default: $DOCKER_CONFIG, ~/.docker).
    #[arg(long, value_name = "FILE")]
    registry_config: Option<PathBuf>,
}

impl RegistryArgs {
    pub(crate) fn options(&self) -> RegistryOptions {
        RegistryOptions { allow_insecure: self.allow_insecure_registry, docker_config: self.registry_config.clone() }
    }
}

#[derive(Args)]
pub(crate) struct GenerateKeyPairArgs {
    /// Directory for cosign.key and cosign.pub (default: the current one). Existing files are never overwritten.
    #[arg(long, default_value = ".")]
    output_dir: PathBuf,
}

#[derive(Args)]
pub(crate) struct SignArgs {
    /// Encrypted private key (cosign.key); the password comes from COSIGN_PASSWORD or a prompt.
    #[arg(long)]
    key: PathBuf,
    /// Extra annotation KEY=VALUE in the signed payload (repeatable).
    #[arg(short = 'a', long = "annotations", value_name = "KEY=VALUE")]
    annotations: Vec<String>,
    /// Write a Sigstore bundle as an OCI referrer (cosign v3's default); false writes the
    /// sha256-<digest>.sig tag of cosign v1/v2.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    new_bundle_format: bool,
    #[command(flatten)]
    registry: RegistryArgs,
    image: String,
}

#[derive(Args)]
pub(crate) struct VerifyArgs {
    /// Public key (cosign.pub). Without it, keyless signatures (cosign v1/v2 `.sig` layout) are
    /// verified: an identity and an OIDC issuer are then required.
    #[arg(long, conflicts_with_all = [
        "certificate_identity", "certificate_identity_regexp", "certificate_oidc_issuer", "certificate_oidc_issuer_regexp",
    ])]
    key: Option<PathBuf>,
    #[command(flatten)]
    identity: IdentityArgs,
    #[command(flatten)]
    trust: TrustRootArgs,
    #[command(flatten)]
    registry: RegistryArgs,
    image: String,
}

/// Who must have signed, for keyless signatures.
#[derive(Args)]
pub(crate) struct IdentityArgs {
    /// Expected certificate identity (SAN), for keyless signatures.
    #[arg(long)]
    certificate_identity: Option<String>,
    /// Regular expression the certificate identity must match (anchor it with ^...$).
    #[arg(long)]
    certificate_identity_regexp: Option<String>,
    /// Expected OIDC issuer, for keyless signatures.
    #[arg(long)]
    certificate_oidc_issuer: Option<String>,
    /// Regular expression the OIDC issuer must match.
    #[arg(long)]
    certificate_oidc_issuer_regexp: Option<String>,
}

/// The Sigstore instance evidence is checked against.
#[derive(Args)]
pub(crate) struct TrustRootArgs {
    /// trusted_root.json (default: Sigstore's public-good instance, built in).
    #[arg(long, conflicts_with = "certificate_chain")]
    trusted_root: Option<PathBuf>,
    /// A private Sigstore as files: the Fulcio CA chain (PEM) ...
    #[arg(long, requires = "rekor_key")]
    certificate_chain: Option<PathBuf>,
    /// ... the Rekor log's public key (PEM) ...
    #[arg(long, requires = "certificate_chain")]
    rekor_key: Option<PathBuf>,
    /// ... and, if certificates must carry an SCT, the CT log's public key.
    #[arg(long, requires = "certificate_chain")]
    ctlog_key: Option<PathBuf>,
}

impl TrustRootArgs {
    /// The root the flags name, or `None` when none was given.
    fn given(&self) -> Result<Option<TrustRoot>> {
        Ok(match (&self.trusted_root, &self.certificate_chain, &self.rekor_key) {
            (Some(p), _, _) => Some(TrustRoot::from_trusted_root_json(&read(p)?)?),
            (None, Some(chain), Some(rekor)) => {
                let ct = self.ctlog_key.as_deref().map(read).transpose()?;
                Some(TrustRoot::from_files(&read(chain)?, &read(rekor)?, ct.as_deref())?)
            }
            _ => None,
        })
    }

    /// The root the flags name, else Sigstore's public-good instance.
    pub(crate) fn root(&self) -> Result<TrustRoot> {
        match self.given()? {
            Some(root) => Ok(root),
            None => Ok(TrustRoot::public_good()?),
        }
    }
}

impl IdentityArgs {
    /// The keyless policy over `root`; `what` names the signatures in the error when the
    /// identity or issuer is missing.
    fn policy(&self, root: TrustRoot, what: &str) -> Result<Policy> {
        let identity = match (&self.certificate_identity, &self.certificate_identity_regexp) {
            (Some(i), _) => Match::exact(i.clone()),
            (None, Some(r)) => Match::regex(r)?,
            _ => bail!("{what}: --certificate-identity or --certificate-identity-regexp is required (or give --key)"),
        };
        let issuer = match (&self.certificate_oidc_issuer, &self.certificate_oidc_issuer_regexp) {
            (Some(i), _) => Match::exact(i.clone()),
            (None, Some(r)) => Match::regex(r)?,
            _ => bail!(
                "{what}: --certificate-oidc-issuer or --certificate-oidc-issuer-regexp is required (or give --key)"
            ),
        };
        Ok(Policy::keyless(root, identity, issuer))
    }
}

#[derive(Subcommand)]
pub(crate) enum AttachCommand {
    /// Attach an SBOM under sha256-<digest>.sbom.
    Sbom(AttachSbomArgs),
}

#[derive(Args)]
pub(crate) struct AttachSbomArgs {
    /// The SBOM file.
    #[arg(long)]
    sbom: PathBuf,
    /// spdx, cyclonedx or syft (default: detected from the file).
    #[arg(long = "type")]
    kind: Option<String>,
    #[command(flatten)]
    registry: RegistryArgs,
    image: String,
}

#[derive(Args)]
pub(crate) struct AttestArgs {
    #[arg(long)]
    key: PathBuf,
    /// Predicate type: slsaprovenance, slsaprovenance02, slsaprovenance1, link, spdx, spdxjson,
    /// cyclonedx, vuln, openvex, custom, or a URI.
    #[arg(long = "type", default_value = "custom")]
    kind: String,
    /// The predicate file.
    #[arg(long)]
    predicate: PathBuf,
    #[command(flatten)]
    registry: RegistryArgs,
    image: String,
}

#[derive(Args)]
pub(crate) struct VerifyAttestationArgs {
    #[arg(long)]
    key: PathBuf,
    /// Only attestations of this predicate type (name or URI).
    #[arg(long = "type")]
    kind: Option<String>,
    #[command(flatten)]
    registry: RegistryArgs,
    image: String,
}

#[derive(Args)]
pub(crate) struct VerifyProvenanceArgs {
    #[arg(long)]
    key: PathBuf,
    /// Expected source repository, e.g. github.com/org/app.
    #[arg(long)]
    source_uri: String,
    /// Expected builder id (without @version: any version of that builder).
    #[arg(long)]
    builder_id: Option<String>,
    #[command(flatten)]
    registry: RegistryArgs,
    image: String,
}

#[derive(Args)]
pub(crate) struct TriangulateArgs {
    /// signature, attestation or sbom.
    #[arg(long = "type", default_value = "signature")]
    kind: String,
    #[command(flatten)]
    registry: RegistryArgs,
    image: String,
}

#[derive(Args)]
pub(crate) struct VerifyBundleArgs {
    /// The Sigstore bundle (.sigstore.json).
    #[arg(long)]
    bundle: PathBuf,
    /// Public key, for a key-signed bundle.
    #[arg(long)]
    key: Option<PathBuf>,
    #[command(flatten)]
    trust: TrustRootArgs,
    #[command(flatten)]
    identity: IdentityArgs,
    /// The artifact file, or sha256:<hex>.
    artifact: String,
}

/// Largest predicate, SBOM or artifact file read whole.
const MAX_INPUT: u64 = 256 << 20;
/// Largest key, certificate, trust root or bundle file: far above any real one (a trusted_root.json
/// is tens of KiB), far below what would cost memory.
const MAX_SMALL_INPUT: u64 = 16 << 20;

/// A key, certificate, trust root or bundle named on the command line.
fn read(path: &Path) -> Result<Vec<u8>> {
    read_file(path, MAX_SMALL_INPUT)
}

/// `path` read whole, if it is a regular file of at most `max` bytes. The type and size are
/// checked on the opened handle before any byte is read: a device (`/dev/zero`) would be read
/// up to the limit, and a FIFO would block. The open itself does not block on a FIFO
/// (O_NONBLOCK, which means nothing for a regular file).
fn read_file(path: &Path, max: u64) -> Result<Vec<u8>> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    let meta = f.metadata().with_context(|| format!("reading {}", path.display()))?;
    if !meta.is_file() {
        bail!("{}: not a regular file ({})", path.display(), file_kind(&meta.file_type()));
    }
    if meta.len() > max {
        bail!("{}: {} bytes, larger than the {} MiB limit", path.display(), meta.len(), max >> 20);
    }
    let mut buf = Vec::new();
    // A file growing after the check still stops at the limit.
    f.take(max + 1).read_to_end(&mut buf).with_context(|| format!("reading {}", path.display()))?;
    if buf.len() as u64 > max {
        bail!("{}: larger than the {} MiB limit", path.display(), max >> 20);
    }
    Ok(buf)
}

fn file_kind(t: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_socket() {
        "a socket"
    } else {
        "not a file"
    }
}

fn private_key(path: &Path) -> Result<bulwark_sign::PrivateKey> {
    let pem = read(path)?;
    let password = bulwark_sign::keys::password_from_env_or_prompt(false)?;
    Ok(bulwark_sign::keys::load_private_key(&pem, &password, &path.display().to_string())?)
}

fn public_key(path: &Path) -> Result<bulwark_sign::PublicKey> {
    Ok(bulwark_sign::keys::load_public_key(&read(path)?, &path.display().to_string())?)
}

fn print_json(v: &serde_json::Value) -> Result<()> {
    println!("{}", serde_json::to_string(v)?);
    Ok(())
}

pub(crate) fn generate_key_pair(a: GenerateKeyPairArgs) -> Result<Exit> {
    let password = bulwark_sign::keys::password_from_env_or_prompt(true)?;
    let pair = bulwark_sign::keys::generate()?;
    let (k, p) = bulwark_sign::keys::write_key_pair(&a.output_dir, &pair, &password)?;
    eprintln!("Private key written to {}\nPublic key written to {}", k.display(), p.display());
    Ok(Exit::Success)
}

pub(crate) fn sign(a: SignArgs) -> Result<Exit> {
    let key = private_key(&a.key)?;
    let mut ann = serde_json::Map::new();
    for kv in &a.annotations {
        let Some((k, v)) = kv.split_once('=') else { bail!("--annotations {kv:?}: expected KEY=VALUE") };
        ann.insert(k.to_string(), serde_json::Value::String(v.to_string()));
    }
    let signed = if a.new_bundle_format {
        bulwark_sign::referrers::sign_bundle(&a.image, &key, ann, &a.registry.options())?
    } else {
        bulwark_sign::cosign::sign(&a.image, &key, ann, &a.registry.options())?
    };
    eprintln!("Signed {} ({}); signature pushed to {}", a.image, signed.digest, signed.location);
    Ok(Exit::Success)
}

pub(crate) fn verify(a: VerifyArgs) -> Result<Exit> {
    let Some(key_path) = &a.key else { return verify_keyless(&a) };
    let pem = read(key_path)?;
    // The key is checked here first, so that a bad key file is named by its path.
    bulwark_sign::keys::load_public_key(&pem, &key_path.display().to_string())?;
    // A trust root given on the command line makes the bundles' log entries count too.
    let opts =
        bulwark_sign::referrers::BundleVerifyOptions { registry: a.registry.options(), trust_root: a.trust.given()? };
    let found = match bulwark_sign::cosign::verify_with_key(&a.image, &String::from_utf8_lossy(&pem), &opts) {
        Ok(found) => found,
        Err(bulwark_sign::SignError::BadSignature(why)) => {
            eprintln!("bulwark: error: {why}");
            return Ok(Exit::Failure);
        }
        Err(e) => return Err(e.into()),
    };
    for w in &found.warnings {
        eprintln!("bulwark: warning: ignored (another signature verified): {w}");
    }
    let payloads = found.payloads;
    eprintln!("Verification for {} --\nThe signatures were verified against the specified public key", a.image);
    print_json(&serde_json::Value::Array(payloads))?;
    Ok(Exit::Success)
}

/// `verify` without `--key`: keyless signatures under the `.sig` tag, checked offline
/// against the trust root (certificate chain, SET) and the identity and issuer asked for.
fn verify_keyless(a: &VerifyArgs) -> Result<Exit> {
    let policy = a.identity.policy(a.trust.root()?, "keyless verification (no --key)")?;
    match bulwark_sign::cosign::verify_keyless(&a.image, &policy, &a.registry.options()) {
        Ok(sigs) => {
            eprintln!(
                "Verification for {} --\nThe signatures were verified against the specified certificate identity and \
                 OIDC issuer, with certificates chaining to {}",
                a.image,
                policy.trust_root().name()
            );
            print_json(&serde_json::Value::Array(sigs.into_iter().map(|s| s.payload).collect()))?;
            Ok(Exit::Success)
        }
        Err(bulwark_sign::SignError::BadSignature(why)) => {
            eprintln!("bulwark: error: {why}");
            Ok(Exit::Failure)
        }
        Err(e) => Err(e.into()),
    }
}

pub(crate) fn attach(c: AttachCommand) -> Result<Exit> {
    let AttachCommand::Sbom(a) = c;
    let sbom = read_file(&a.sbom, MAX_INPUT)?;
    let kind = match a.kind.as_deref() {
        Some(k) => k.to_string(),
        None => {
            let v: serde_json::Value = serde_json::from_slice(&sbom).unwrap_or_default();
            if v.get("bomFormat").is_some() {
                "cyclonedx".into()
            } else if v.get("spdxVersion").is_some() {
                "spdx".into()
            } else {
                "syft".into()
            }
        }
    };
    // The media types cosign gives each kind.
    let media = match kind.as_str() {
        "spdx" => "text/spdx+json",
        "cyclonedx" => "application/vnd.cyclonedx+json",
        "syft" => "application/vnd.syft+json",
        other => bail!("--type {other:?}: one of spdx, cyclonedx, syft"),
    };
    let at = bulwark_sign::cosign::attach_sbom(&a.image, sbom, media, &a.registry.options())?;
    eprintln!("SBOM attached at {at}");
    Ok(Exit::Success)
}

pub(crate) fn attest(a: AttestArgs) -> Result<Exit> {
    let key = private_key(&a.key)?;
    let predicate = read_file(&a.predicate, MAX_INPUT)?;
    let signed = bulwark_sign::cosign::attest(&a.image, &key, &a.kind, &predicate, &a.registry.options())?;
    eprintln!("Attestation of {} ({}) pushed to {}", a.image, signed.digest, signed.location);
    Ok(Exit::Success)
}

fn verified_attestations(
    image: &str,
    key: &Path,
    kind: Option<&str>,
    registry: &RegistryArgs,
) -> Result<Result<Vec<bulwark_sign::dsse::Statement>, String>> {
    let key = public_key(key)?;
    match bulwark_sign::cosign::verify_attestation(image, &key, kind, &registry.options()) {
        Ok(s) => Ok(Ok(s)),
        Err(bulwark_sign::SignError::BadSignature(why)) => Ok(Err(why)),
        Err(e) => Err(e.into()),
    }
}

pub(crate) fn verify_attestation(a: VerifyAttestationArgs) -> Result<Exit> {
    match verified_attestations(&a.image, &a.key, a.kind.as_deref(), &a.registry)? {
        Ok(statements) => {
            eprintln!(
                "Verification for {} --\nThe attestations were verified against the specified public key",
                a.image
            );
            for st in statements {
                println!("{}", String::from_utf8_lossy(&st.to_json()));
            }
            Ok(Exit::Success)
        }
        Err(why) => {
            eprintln!("bulwark: error: {why}");
            Ok(Exit::Failure)
        }
    }
}

pub(crate) fn verify_provenance(a: VerifyProvenanceArgs) -> Result<Exit> {
    let req =
        bulwark_sign::provenance::Requirements { source_uri: a.source_uri.clone(), builder_id: a.builder_id.clone() };
    let statements = match verified_attestations(&a.image, &a.key, None, &a.registry)? {
        Ok(s) => s,
        Err(why) => {
            eprintln!("bulwark: error: {why}");
            return Ok(Exit::Failure);
        }
    };
    let mut why = Vec::new();
    for st in &statements {
        match bulwark_sign::provenance::check(st, &req) {
            Ok(summary) => {
                eprintln!("PASSED: SLSA provenance of {} verified", a.image);
                print_json(&serde_json::to_value(summary)?)?;
                return Ok(Exit::Success);
            }
            Err(e) => why.push(e.to_string()),
        }
    }
    eprintln!("bulwark: error: no attestation of {} passes: {}", a.image, why.join("; "));
    Ok(Exit::Failure)
}

pub(crate) fn triangulate(a: TriangulateArgs) -> Result<Exit> {
    let kind = match a.kind.as_str() {
        "signature" | "sig" => Attachment::Signature,
        "attestation" | "att" => Attachment::Attestation,
        "sbom" => Attachment::Sbom,
        other => bail!("--type {other:?}: one of signature, attestation, sbom"),
    };
    println!("{}", bulwark_sign::cosign::triangulate(&a.image, kind, &a.registry.options())?);
    Ok(Exit::Success)
}

pub(crate) fn verify_bundle(a: VerifyBundleArgs) -> Result<Exit> {
    use bulwark_sign::bundle::{verify_bundle, Artifact};
    let bundle = read(&a.bundle)?;
    let root = a.trust.root()?;
    let policy = match &a.key {
        Some(k) => Policy::public_key(&String::from_utf8_lossy(&read(k)?), root)?,
        None => a.identity.policy(root, "keyless bundle")?,
    };
    let artifact_bytes;
    let artifact = match a.artifact.strip_prefix("sha256:") {
        Some(hexd) => {
            let mut d = [0u8; 32];
            hex_decode(hexd, &mut d).with_context(|| format!("{}: not a sha256 digest", a.artifact))?;
            Artifact::Sha256(d)
        }
        None => {
            artifact_bytes = read_file(Path::new(&a.artifact), MAX_INPUT)?;
            Artifact::Bytes(&artifact_bytes)
        }
    };
    // As `verify`: a bundle that does not verify is 1; one that cannot be read is 2.
    match verify_bundle(&bundle, artifact, &policy) {
        Ok(v) => {
            eprintln!("Verified OK");
            print_json(&serde_json::json!({
                "mediaType": v.media_type, "identity": v.identity, "issuer": v.issuer,
                "integratedTime": v.integrated_time, "logIndexes": v.log_indexes,
            }))?;
            Ok(Exit::Success)
        }
        Err(bulwark_sign::SignError::BadSignature(why)) => {
            eprintln!("bulwark: error: {}: {why}", a.bundle.display());
            Ok(Exit::Failure)
        }
        Err(e) => Err(anyhow::Error::new(e).context(a.bundle.display().to_string())),
    }
}

fn hex_decode(s: &str, out: &mut [u8; 32]) -> Result<()> {
    // ASCII first: slicing a multi-byte character below would panic.
    if s.len() != 64 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        bail!("expected 64 hex digits");
    }
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(&s[2 * i..2 * i + 2], 16)?;
    }
    Ok(())
}
