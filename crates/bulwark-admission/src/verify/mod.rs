//! Image verification at admission: tags resolved to digests, signatures and attestations
//! verified with `bulwark-sign`, results cached.
//!
//! [`ImageVerifier`] is what keeps a webhook from wedging a cluster: verified
//! (digest, authority) results are cached with a TTL and a bounded size; concurrent reviews of
//! the same image share one resolution and one verification (single-flight); registry work
//! runs on the blocking pool (`bulwark-sign` is sync) under a concurrency bound, each
//! operation with a timeout. [`checks`] runs the policies' [`ImageCheck`]s over it.
//!
//! [`ImageCheck`]: bulwark_policy::verify::ImageCheck

pub mod checks;
pub mod flight;
pub mod jsonpatch;
mod rego;

use bulwark_policy::verify::{Attestation, AttestationCheck, Authority, AuthorityKind, Identity};
use bulwark_sign::bundle::{Match, Policy as KeylessPolicy, TrustRoot};
use bulwark_sign::oci::{RegistryOptions, Remote};
use bulwark_sign::referrers::BundleVerifyOptions;
use bulwark_sign::SignError;
use flight::FlightMap;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Semaphore;

/// How the verifier reaches registries and how much it keeps.
#[derive(Clone, Debug)]
pub struct VerifyOptions {
    pub registry: RegistryOptions,
    /// The keyless trust root (Fulcio CA, Rekor key), as `bulwark verify` takes it.
    pub trust_root: Option<TrustRoot>,
    /// How long a verified (digest, authority) result is reused.
    pub cache_ttl: Duration,
    /// The most results kept.
    pub cache_size: usize,
    /// Registry operations at once.
    pub concurrency: usize,
    /// One registry operation (resolve a tag; verify one authority).
    pub timeout: Duration,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions {
            registry: RegistryOptions::default(),
            trust_root: None,
            cache_ttl: Duration::from_secs(600),
            cache_size: 10_000,
            concurrency: 16,
            timeout: Duration::from_secs(8),
        }
    }
}

/// Why an image did not verify. Messages name the image by digest and say what failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("registry unreachable or failing for {image}: {msg}")]
    Registry { image: String, msg: String },
    #[error("no signature by {by} on {at}: {why}")]
    NoSignature { by: String, at: String, why: String },
    #[error("no attestation {predicate} by {by} on {at} that holds: {why}")]
    NoAttestation { predicate: String, by: String, at: String, why: String },
    #[error("{what} did not finish within {secs} s (registry slow or unreachable)")]
    Timeout { what: String, secs: u64 },
    #[error("{0}")]
    Unsupported(String),
    #[error("{0}")]
    Other(String),
}

impl VerifyError {
    /// No signature or attestation exists at all (Kyverno's `required: false` lets it pass):
    /// every source said it has none. Anything else (a signature by another key, a broken
    /// layer) is not absence.
    pub fn is_absent(&self) -> bool {
        let why = match self {
            VerifyError::NoSignature { why, .. } | VerifyError::NoAttestation { why, .. } => why,
            _ => return false,
        };
        why.split("; ").all(|part| {
            (part.starts_with("no signatures found for") && part.ends_with("does not exist"))
                || (part.starts_with("no attestations found for") && part.ends_with("does not exist"))
                || (part.starts_with("no Sigstore bundles found for") && part.ends_with("does not exist"))
                || (part.starts_with("no valid Sigstore bundle for") && part.ends_with("lists no Sigstore bundle"))
                || part.starts_with("none found of predicate type")
        })
    }
}

/// What a passing authority verified.
#[derive(Clone, Debug, Default)]
pub struct Verified {
    /// The in-toto statements of verified attestations (for attestation conditions), as JSON.
    pub statements: Vec<serde_json::Value>,
}

/// Counters, for tests and metrics.
#[derive(Debug, Default)]
pub struct Stats {
    /// Tag resolutions sent to a registry.
    pub resolves: AtomicU64,
    /// Authority verifications run against a registry (cache misses).
    pub verifications: AtomicU64,
    /// Authority results served from the cache or a verification in flight.
    pub cache_hits: AtomicU64,
}

/// The shared verifier (one per webhook process).
pub struct ImageVerifier {
    opts: VerifyOptions,
    permits: Arc<Semaphore>,
    resolved: FlightMap<Result<String, VerifyError>>,
    verified: FlightMap<Result<Verified, VerifyError>>,
    /// Tag -> the digest last verified under it: a failure on another digest says the tag moved.
    last_verified: Mutex<HashMap<String, String>>,
    pub stats: Stats,
}

impl Default for ImageVerifier {
    fn default() -> Self {
        ImageVerifier::new(VerifyOptions::default())
    }
}

impl ImageVerifier {
    pub fn new(opts: VerifyOptions) -> Self {
        ImageVerifier {
            permits: Arc::new(Semaphore::new(opts.concurrency.max(1))),
            resolved: FlightMap::new(opts.cache_size),
            verified: FlightMap::new(opts.cache_size),
            last_verified: Mutex::new(HashMap::new()),
            stats: Stats::default(),
            opts,
        }
    }

    pub fn options(&self) -> &VerifyOptions {
        &self.opts
    }

    /// Runs `f` on the blocking pool under the concurrency bound and the timeout. The permit
    /// goes with the work: a registry that hangs keeps its permit until the call gives up,
    /// so hung calls cannot pile up beyond the bound.
    async fn blocking<T: Send + 'static>(
        &self,
        what: &str,
        f: impl FnOnce() -> Result<T, VerifyError> + Send + 'static,
    ) -> Result<T, VerifyError> {
        let secs = self.opts.timeout.as_secs().max(1);
        let timeout = || VerifyError::Timeout { what: what.to_string(), secs };
        let permit = tokio::time::timeout(self.opts.timeout, self.permits.clone().acquire_owned())
            .await
            .map_err(|_| timeout())?
            .map_err(|_| VerifyError::Other("verifier shut down".into()))?;
        let task = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            f()
        });
        match tokio::time::timeout(self.opts.timeout, task).await {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => Err(VerifyError::Other(format!("{what}: {e}"))),
            Err(_) => Err(timeout()),
        }
    }

    /// The image's manifest digest: the one it names, else what its tag points at now (never
    /// cached: a moved tag must be seen; concurrent resolutions of one tag share one fetch).
    pub async fn resolve(&self, image: &str) -> Result<String, VerifyError> {
        if let Some((_, d)) = image.split_once('@') {
            return Ok(d.to_string());
        }
        let key = image.to_string();
        let (r, _) = self
            .resolved
            .get(&key, Duration::ZERO, || async {
                self.stats.resolves.fetch_add(1, Ordering::Relaxed);
                let registry = self.opts.registry.clone();
                let img = image.to_string();
                self.blocking(&format!("resolving {image}"), move || {
                    let remote = Remote::connect(&img, &registry).map_err(|e| registry_error(&img, e))?;
                    remote.resolve().map_err(|e| registry_error(&img, e))
                })
                .await
            })
            .await;
        r
    }

    /// Whether `authority` verifies `repo@digest` (cached per digest and authority).
    pub async fn verify(&self, at: &str, authority: &Authority) -> Result<Verified, VerifyError> {
        if let Some(u) = &authority.unsupported {
            return Err(VerifyError::Unsupported(format!(
                "authority {}: {u} is not supported at admission",
                authority.name
            )));
        }
        if let AuthorityKind::Static { .. } = authority.kind {
            return verify_blocking(at, authority, &self.opts);
        }
        let key = format!("{at}\n{}", fingerprint(authority));
        let (r, hit) = self
            .verified
            .get(&key, self.opts.cache_ttl, || async {
                self.stats.verifications.fetch_add(1, Ordering::Relaxed);
                let opts = self.opts.clone();
                let (at2, a) = (at.to_string(), authority.clone());
                self.blocking(&format!("verifying {at} with authority {}", authority.name), move || {
                    verify_blocking(&at2, &a, &opts)
                })
                .await
            })
            .await;
        if hit {
            self.stats.cache_hits.fetch_add(1, Ordering::Relaxed);
        }
        r
    }

    /// Kyverno's rule-level attestation: `att` by the authority, conditions checked by the caller.
    pub async fn attestation(
        &self,
        at: &str,
        authority: &Authority,
        att: &Attestation,
    ) -> Result<Verified, VerifyError> {
        let a = Authority { attestations: vec![att.clone()], ..authority.clone() };
        self.verify(at, &a).await
    }

    /// Remembers that `image` (a tag) verified at `digest`.
    pub fn remember(&self, image: &str, digest: &str) {
        if image.contains('@') {
            return;
        }
        if let Ok(mut m) = self.last_verified.lock() {
            if m.len() >= self.opts.cache_size.max(1) && !m.contains_key(image) {
                m.clear();
            }
            m.insert(image.to_string(), digest.to_string());
        }
    }

    /// The digest `image` (a tag) last verified at, when it differs from `digest`.
    pub fn moved_from(&self, image: &str, digest: &str) -> Option<String> {
        let m = self.last_verified.lock().ok()?;
        m.get(image).filter(|d| *d != digest).cloned()
    }
}

fn registry_error(image: &str, e: SignError) -> VerifyError {
    VerifyError::Registry { image: image.to_string(), msg: e.to_string() }
}

/// The cache key of an authority: everything that decides its result.
fn fingerprint(a: &Authority) -> String {
    bulwark_oci::Digest::of_bytes(format!("{a:?}").as_bytes()).to_string()
}

/// How an authority is named in messages: "key <name>", "identity issuer=… subject=…".
fn by(a: &Authority) -> String {
    match &a.kind {
        AuthorityKind::Key { .. } => format!("key {}", a.name),
        AuthorityKind::Keyless { identities, .. } => {
            let ids: Vec<String> = identities.iter().map(identity_text).collect();
            format!("authority {} (keyless: {})", a.name, ids.join(" or "))
        }
        _ => format!("authority {}", a.name),
    }
}

fn identity_text(i: &Identity) -> String {
    let issuer = if i.issuer_regexp.is_empty() { i.issuer.clone() } else { format!("~{}", i.issuer_regexp) };
    let subject = if i.subject_regexp.is_empty() { i.subject.clone() } else { format!("~{}", i.subject_regexp) };
    format!("issuer {issuer} subject {subject}")
}

/// One authority over one digest, on the blocking pool.
fn verify_blocking(at: &str, a: &Authority, opts: &VerifyOptions) -> Result<Verified, VerifyError> {
    let no_sig = |why: String| VerifyError::NoSignature { by: by(a), at: at.to_string(), why };
    let classify = |e: SignError| match e {
        SignError::BadSignature(w) => no_sig(w),
        SignError::Registry(m) => VerifyError::Registry { image: at.to_string(), msg: m },
        e => no_sig(e.to_string()),
    };
    match &a.kind {
        AuthorityKind::Static { pass: true, .. } => Ok(Verified::default()),
        AuthorityKind::Static { pass: false, message } => Err(VerifyError::Other(if message.is_empty() {
            "disallowed by static policy".into()
        } else {
            message.clone()
        })),
        AuthorityKind::SecretKey { namespace, name } => Err(VerifyError::Unsupported(format!(
            "authority {}: key secretRef {namespace}/{name} needs the Kubernetes API; give the key as data",
            a.name
        ))),
        AuthorityKind::Kms(k) => {
            Err(VerifyError::Unsupported(format!("authority {}: KMS key {k} is not supported", a.name)))
        }
        AuthorityKind::Key { pem } => {
            let keys = pem_blocks(pem);
            if keys.is_empty() {
                return Err(VerifyError::Other(format!("authority {}: no PUBLIC KEY PEM block", a.name)));
            }
            if !a.attestations.is_empty() {
                return attestations_with_keys(at, a, &keys, opts);
            }
            let bundle_opts = BundleVerifyOptions { registry: opts.registry.clone(), trust_root: None };
            let mut why = Vec::new();
            for k in &keys {
                match bulwark_sign::cosign::verify_with_key(at, k, &bundle_opts) {
                    Ok(_) => return Ok(Verified::default()),
                    Err(SignError::Registry(m)) => {
                        return Err(VerifyError::Registry { image: at.to_string(), msg: m });
                    }
                    Err(SignError::BadSignature(w)) => why.push(w),
                    Err(e) => why.push(e.to_string()),
                }
            }
            Err(no_sig(why.join("; ")))
        }
        AuthorityKind::Keyless { identities, roots, .. } => {
            if !a.attestations.is_empty() {
                return Err(VerifyError::Unsupported(format!(
                    "authority {}: keyless attestations are not supported at admission (keys are)",
                    a.name
                )));
            }
            if roots.is_some() {
                return Err(VerifyError::Unsupported(format!(
                    "authority {}: keyless.ca-cert/roots in the policy are not supported; give the trust root with --trust-root or --fulcio-ca/--rekor-key",
                    a.name
                )));
            }
            let Some(root) = &opts.trust_root else {
                return Err(VerifyError::Other(format!(
                    "authority {}: keyless verification needs a trust root (--trust-root, or --fulcio-ca with --rekor-key)",
                    a.name
                )));
            };
            let mut why = Vec::new();
            for i in identities {
                let m = |exact: &str, re: &str| -> Result<Match, VerifyError> {
                    if !re.is_empty() {
                        Match::regex(re).map_err(|e| VerifyError::Other(e.to_string()))
                    } else if exact.is_empty() {
                        Match::regex(".*").map_err(|e| VerifyError::Other(e.to_string()))
                    } else {
                        Ok(Match::exact(exact))
                    }
                };
                let policy = KeylessPolicy::keyless(
                    root.clone(),
                    m(&i.subject, &i.subject_regexp)?,
                    m(&i.issuer, &i.issuer_regexp)?,
                );
                match bulwark_sign::cosign::verify_keyless(at, &policy, &opts.registry) {
                    Ok(_) => return Ok(Verified::default()),
                    Err(e @ SignError::Registry(_)) => return Err(classify(e)),
                    Err(e) => why.push(format!("{}: {e}", identity_text(i))),
                }
            }
            Err(no_sig(why.join("; ")))
        }
    }
}

/// policy-controller: an authority with attestations checks each named attestation (signed by
/// one of its keys, of its predicate type, its policy holding) instead of signatures.
fn attestations_with_keys(
    at: &str,
    a: &Authority,
    keys: &[String],
    opts: &VerifyOptions,
) -> Result<Verified, VerifyError> {
    let mut statements = Vec::new();
    let mut why = Vec::new();
    for k in keys {
        let key = bulwark_sign::keys::load_public_key(k.as_bytes(), &format!("authority {} key", a.name))
            .map_err(|e| VerifyError::Other(e.to_string()))?;
        match bulwark_sign::cosign::verify_attestation(at, &key, None, &opts.registry) {
            Ok(sts) => statements.extend(sts),
            Err(SignError::Registry(m)) => return Err(VerifyError::Registry { image: at.to_string(), msg: m }),
            // No `.att` tag at all: absence, said once below.
            Err(SignError::BadSignature(w)) if w.starts_with("no attestations found for") => {}
            Err(e) => why.push(e.to_string()),
        }
    }
    let mut out = Verified::default();
    for att in &a.attestations {
        let fail = |w: String| VerifyError::NoAttestation {
            predicate: if att.name.is_empty() {
                att.predicate_type.clone()
            } else {
                format!("{} ({})", att.name, att.predicate_type)
            },
            by: by(a),
            at: at.to_string(),
            why: w,
        };
        let want = bulwark_sign::dsse::predicate_type_uri(&att.predicate_type).map_err(|e| fail(e.to_string()))?;
        let of_type: Vec<serde_json::Value> = statements
            .iter()
            .filter(|s| s.predicate_type == want)
            .map(|s| serde_json::from_slice(&s.to_json()).unwrap_or(serde_json::Value::Null))
            .collect();
        if of_type.is_empty() {
            return Err(fail(if why.is_empty() {
                format!("none found of predicate type {want}")
            } else {
                format!("none of predicate type {want} verified: {}", why.join("; "))
            }));
        }
        let mut reasons = Vec::new();
        let mut ok = false;
        for st in &of_type {
            match &att.check {
                AttestationCheck::Present => ok = true,
                AttestationCheck::Unsupported(u) => {
                    return Err(VerifyError::Unsupported(format!("attestation {}: {u}", att.name)))
                }
                AttestationCheck::Rego(module) => match rego::is_compliant(module, st) {
                    Ok(true) => ok = true,
                    Ok(false) => reasons.push("its Rego policy's isCompliant is not true".to_string()),
                    Err(e) => reasons.push(e),
                },
                AttestationCheck::Conditions(c) => match checks::conditions_hold(c, st) {
                    Ok(true) => ok = true,
                    Ok(false) => reasons.push("its conditions do not hold".to_string()),
                    Err(e) => reasons.push(e),
                },
            }
            if ok {
                out.statements.push(st.clone());
                break;
            }
        }
        if !ok {
            return Err(fail(reasons.join("; ")));
        }
    }
    Ok(out)
}

/// Every `PUBLIC KEY` PEM block of a text (Kyverno's `publicKeys` may hold several).
fn pem_blocks(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN ") {
        let after = &rest[start..];
        let Some(end_marker) = after.find("-----END ") else { break };
        let tail = &after[end_marker + 9..];
        let close = tail.find("-----").map(|i| i + 5).unwrap_or(tail.len());
        let len = end_marker + 9 + close;
        out.push(format!("{}\n", &after[..len]));
        rest = &after[len..];
    }
    out
}
