//! Sigstore bundles (media types v0.1 to v0.3, what cosign v3 signs and attests into),
//! verified offline.
//!
//! The cryptography is `sigstore-verify`'s: certificate chain to the Fulcio CA at every
//! verified signing time, SCT, Rekor inclusion proof and checkpoint, signed entry timestamp
//! (SET), RFC 3161 timestamps, the signature or DSSE envelope, and that the log entry
//! describes this bundle and artifact. This module adds what Bulwark needs around it: a size
//! cap on hostile input, identity and issuer regexps as cosign's
//! `--certificate-identity-regexp`, trust roots from files (see [`crate::keyless`]), and
//! errors that say which check failed.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use sigstore_verify::crypto::{parse_certificate_info, KeyAlgorithm};
use sigstore_verify::trust_root::{TrustedRoot, SIGSTORE_PRODUCTION_TRUSTED_ROOT};
use sigstore_verify::types::bundle::VerificationMaterialContent;
use sigstore_verify::types::{Bundle, DerPublicKey, Sha256Hash, SignatureContent};
use sigstore_verify::{
    CertificateError, PublicKeyVerificationPolicy, TimestampError, TransparencyLogError, VerificationPolicy,
};

use crate::SignError;

/// Largest bundle accepted. Real bundles are a few KiB (an attestation with a large
/// predicate a few MiB); anything bigger is refused before parsing.
pub const MAX_BUNDLE_BYTES: usize = 16 * 1024 * 1024;

/// Media type cosign v3 uses for the bundles it pushes as OCI referrers.
pub const BUNDLE_V03_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";

/// What was signed: the artifact itself, or its SHA-256 digest when the bytes are not at
/// hand (an image manifest known by digest, a large file hashed while streaming).
#[derive(Debug, Clone, Copy)]
pub enum Artifact<'a> {
    Bytes(&'a [u8]),
    Sha256([u8; 32]),
}

impl Artifact<'static> {
    /// A digest written as hex, with or without a `sha256:` prefix.
    pub fn sha256_hex(digest: &str) -> Result<Self, SignError> {
        let hex_digest = digest.strip_prefix("sha256:").unwrap_or(digest);
        let bytes = hex::decode(hex_digest)
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .ok_or_else(|| SignError::Other(format!("artifact digest {digest:?}: not a SHA-256 hex digest")))?;
        Ok(Artifact::Sha256(bytes))
    }
}

/// The keys and certificates a bundle is checked against: Fulcio CAs, Rekor logs, CT logs
/// and timestamp authorities.
#[derive(Debug, Clone)]
pub struct TrustRoot {
    pub(crate) root: TrustedRoot,
    /// A file-based root may come without a CT log key; then there is no SCT to check.
    pub(crate) verify_sct: bool,
    name: String,
}

impl TrustRoot {
    /// The Sigstore public-good (production) instance: Fulcio, Rekor, CT log and TSA keys as
    /// published by its TUF repository, embedded in `sigstore-trust-root` 0.15.1
    /// (`src/trusted_root.json`), so verification needs no network.
    pub fn public_good() -> Result<Self, SignError> {
        Self::parse_json(SIGSTORE_PRODUCTION_TRUSTED_ROOT.as_bytes(), "Sigstore public-good trusted root")
    }

    /// A `trusted_root.json` (`application/vnd.dev.sigstore.trustedroot+json`), as
    /// `cosign verify --trusted-root` takes.
    pub fn from_trusted_root_json(json: &[u8]) -> Result<Self, SignError> {
        Self::parse_json(json, "trusted_root.json")
    }

    fn parse_json(json: &[u8], name: &str) -> Result<Self, SignError> {
        if json.len() > MAX_BUNDLE_BYTES {
            return Err(SignError::Other(format!("{name}: larger than {MAX_BUNDLE_BYTES} bytes")));
        }
        let text = std::str::from_utf8(json).map_err(|e| SignError::Other(format!("{name}: not UTF-8: {e}")))?;
        let root = TrustedRoot::from_json(text).map_err(|e| SignError::Other(format!("{name}: {e}")))?;
        Ok(Self::from_parts(root, true, name))
    }

    pub(crate) fn from_parts(root: TrustedRoot, verify_sct: bool, name: &str) -> Self {
        Self { root, verify_sct, name: name.to_string() }
    }

    /// Where this root came from, for messages.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// How a certificate claim (identity or OIDC issuer) must look.
#[derive(Debug, Clone)]
pub enum Match {
    /// Equal to this string (`--certificate-identity`, `--certificate-oidc-issuer`).
    Exact(String),
    /// Matches this regular expression anywhere in the value, as Go's `regexp.MatchString`
    /// does for cosign's `--certificate-identity-regexp`: anchor it with `^...$` to match
    /// the whole value.
    Regex(regex::Regex),
}

impl Match {
    pub fn exact(value: impl Into<String>) -> Self {
        Match::Exact(value.into())
    }

    pub fn regex(pattern: &str) -> Result<Self, SignError> {
        regex::Regex::new(pattern)
            .map(Match::Regex)
            .map_err(|e| SignError::Other(format!("regular expression {pattern:?}: {e}")))
    }

    pub fn matches(&self, value: &str) -> bool {
        match self {
            Match::Exact(expected) => expected == value,
            Match::Regex(re) => re.is_match(value),
        }
    }
}

impl fmt::Display for Match {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Match::Exact(value) => write!(f, "{value:?}"),
            Match::Regex(re) => write!(f, "regexp {:?}", re.as_str()),
        }
    }
}

/// Who must have signed, and the trust root the evidence is checked against.
#[derive(Debug, Clone)]
pub struct Policy {
    trust_root: TrustRoot,
    signer: Signer,
}

#[derive(Debug, Clone)]
enum Signer {
    Key(DerPublicKey),
    Keyless { identity: Match, issuer: Match },
}

impl Policy {
    /// Signed with this key (PEM `PUBLIC KEY`: ECDSA P-256/P-384, Ed25519 or RSA). The
    /// trust root still checks the Rekor entry and any RFC 3161 timestamp.
    pub fn public_key(public_key_pem: &str, trust_root: TrustRoot) -> Result<Self, SignError> {
        let key = DerPublicKey::from_pem(public_key_pem)
            .map_err(|e| SignError::Key { what: "public key".into(), msg: e.to_string() })?;
        KeyAlgorithm::from_spki(&key).map_err(|e| SignError::Key { what: "public key".into(), msg: e.to_string() })?;
        Ok(Self { trust_root, signer: Signer::Key(key) })
    }

    /// Signed keylessly: a certificate from the trust root's Fulcio CA whose SAN satisfies
    /// `identity` and whose OIDC issuer extension satisfies `issuer`.
    pub fn keyless(trust_root: TrustRoot, identity: Match, issuer: Match) -> Self {
        Self { trust_root, signer: Signer::Keyless { identity, issuer } }
    }

    pub fn trust_root(&self) -> &TrustRoot {
        &self.trust_root
    }
}

/// What a verified bundle says, all of it checked.
#[derive(Debug, Clone)]
pub struct VerifiedBundle {
    pub media_type: String,
    /// The certificate's SAN (email or URI); `None` for a key-signed bundle.
    pub identity: Option<String>,
    /// The certificate's OIDC issuer extension; `None` for a key-signed bundle.
    pub issuer: Option<String>,
    /// Rekor's integrated time (Unix seconds) when a SET vouched for it.
    pub integrated_time: Option<i64>,
    /// Every authenticated signing time (SET integrated times, RFC 3161 times), Unix seconds.
    pub verified_times: Vec<i64>,
    /// Index of each transparency log entry.
    pub log_indexes: Vec<i64>,
    pub content: SignedContent,
}

/// What the signature covers.
#[derive(Debug, Clone)]
pub enum SignedContent {
    /// A signature over the artifact; `digest` is the bundle's `messageDigest`
    /// (`algorithm:hex`) when it has one.
    MessageSignature { digest: Option<String> },
    /// A DSSE envelope, whose payload (usually an in-toto statement) names the artifact.
    Dsse { payload_type: String, payload: Vec<u8> },
}

impl SignedContent {
    /// The in-toto statement of a DSSE envelope; `None` for a plain signature or another
    /// payload type.
    pub fn in_toto_statement(&self) -> Result<Option<InTotoStatement>, SignError> {
        match self {
            SignedContent::Dsse { payload_type, payload } if payload_type == "application/vnd.in-toto+json" => {
                serde_json::from_slice(payload)
                    .map(Some)
                    .map_err(|e| SignError::Other(format!("DSSE payload: not an in-toto statement: {e}")))
            }
            _ => Ok(None),
        }
    }
}

/// An in-toto statement (v0.1 or v1), as cosign attests.
#[derive(Debug, Clone, Deserialize)]
pub struct InTotoStatement {
    #[serde(rename = "_type")]
    pub statement_type: String,
    #[serde(rename = "predicateType")]
    pub predicate_type: String,
    pub subject: Vec<InTotoSubject>,
    #[serde(default)]
    pub predicate: serde_json::Value,
}

#[derive(Debug, Clone, Deserialize)]
pub struct InTotoSubject {
    #[serde(default)]
    pub name: String,
    pub digest: BTreeMap<String, String>,
}

/// Verify a Sigstore bundle (`*.sigstore.json`, or a bundle cosign v3 attached to an image)
/// against an artifact, offline.
pub fn verify_bundle(bundle_json: &[u8], artifact: Artifact<'_>, policy: &Policy) -> Result<VerifiedBundle, SignError> {
    let bundle = parse_bundle(bundle_json)?;
    verify_parsed(&bundle, artifact, policy)
}

/// Parse a bundle without verifying anything: for showing what an unverifiable bundle
/// (say, from a Sigstore instance whose trust root is not at hand) claims.
pub fn inspect_bundle(bundle_json: &[u8]) -> Result<BundleSummary, SignError> {
    let bundle = parse_bundle(bundle_json)?;
    let (identity, issuer, signer) = match &bundle.verification_material.content {
        VerificationMaterialContent::PublicKey(key) => (None, None, format!("public key (hint {:?})", key.hint)),
        _ => match bundle.signing_certificate().map(parse_certificate_info) {
            Some(Ok(info)) => (info.identity.map(|i| i.to_string()), info.issuer, "certificate".to_string()),
            Some(Err(e)) => return Err(bundle_error(format!("signing certificate: {e}"))),
            None => return Err(bundle_error("no signing certificate or public key".into())),
        },
    };
    let tlog_entries = bundle
        .verification_material
        .tlog_entries
        .iter()
        .map(|e| TlogEntrySummary {
            kind: format!("{}/{}", e.kind_version.kind(), e.kind_version.version()),
            log_index: e.log_index.as_i64(),
            log_id: hex::encode(e.log_id.key_id.as_bytes()),
            integrated_time: e.integrated_time.map(|t| t.as_second()),
            has_inclusion_proof: e.inclusion_proof.is_some(),
            has_signed_entry_timestamp: e.inclusion_promise.is_some(),
        })
        .collect();
    Ok(BundleSummary {
        media_type: bundle.media_type.as_str().to_string(),
        signer,
        unverified_identity: identity,
        unverified_issuer: issuer,
        tlog_entries,
        rfc3161_timestamps: bundle.verification_material.timestamp_verification_data.rfc3161_timestamps.len(),
        content: signed_content(&bundle)?,
    })
}

/// A bundle's claims, none of them verified.
#[derive(Debug, Clone)]
pub struct BundleSummary {
    pub media_type: String,
    pub signer: String,
    pub unverified_identity: Option<String>,
    pub unverified_issuer: Option<String>,
    pub tlog_entries: Vec<TlogEntrySummary>,
    pub rfc3161_timestamps: usize,
    pub content: SignedContent,
}

#[derive(Debug, Clone)]
pub struct TlogEntrySummary {
    /// `kind/version`, e.g. `dsse/0.0.1`.
    pub kind: String,
    pub log_index: i64,
    /// Hex SHA-256 of the log's public key.
    pub log_id: String,
    pub integrated_time: Option<i64>,
    pub has_inclusion_proof: bool,
    pub has_signed_entry_timestamp: bool,
}

pub(crate) fn parse_bundle(bundle_json: &[u8]) -> Result<Bundle, SignError> {
    if bundle_json.len() > MAX_BUNDLE_BYTES {
        return Err(bundle_error(format!(
            "{} bytes, larger than the {MAX_BUNDLE_BYTES}-byte limit",
            bundle_json.len()
        )));
    }
    let text = std::str::from_utf8(bundle_json).map_err(|e| bundle_error(format!("not UTF-8: {e}")))?;
    // serde_json caps nesting at 128 levels, so deep hostile JSON is an error, not a stack
    // overflow.
    let bundle = match Bundle::from_json(text) {
        Ok(bundle) => bundle,
        // Only a bundle that does not parse as it is gets its base64 line breaks removed.
        Err(e) => match unwrap_base64_lines(text) {
            Some(unwrapped) => Bundle::from_json(&unwrapped),
            None => Err(e),
        }
        .map_err(|e| bundle_error(format!("not a valid bundle: {e}")))?,
    };
    check_certificate_chain(&bundle)?;
    Ok(bundle)
}

/// Fields whose values are base64 in the bundle's protobuf JSON.
const BASE64_FIELDS: &[&str] = &[
    "rawBytes",
    "signedTimestamp",
    "signedEntryTimestamp",
    "canonicalizedBody",
    "signature",
    "sig",
    "payload",
    "digest",
    "rootHash",
    "hashes",
    "keyId",
];

/// Remove line breaks from base64 fields. Go's decoder (and so cosign and sigstore-go)
/// skips CR and LF in base64, and tools that write `base64 file` output wrap at 76
/// columns; without this such a bundle would be refused as unparsable instead of being
/// verified on its merits. `None` when there is nothing to remove.
fn unwrap_base64_lines(text: &str) -> Option<String> {
    fn visit(value: &mut serde_json::Value, base64_field: bool, changed: &mut bool) {
        match value {
            serde_json::Value::String(s) if base64_field && s.contains(['\n', '\r']) => {
                s.retain(|c| c != '\n' && c != '\r');
                *changed = true;
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(|v| visit(v, base64_field, changed)),
            serde_json::Value::Object(map) => {
                for (key, v) in map.iter_mut() {
                    visit(v, BASE64_FIELDS.contains(&key.as_str()), changed);
                }
            }
            _ => {}
        }
    }
    let mut value: serde_json::Value = serde_json::from_str(text).ok()?;
    let mut changed = false;
    visit(&mut value, false, &mut changed);
    changed.then(|| serde_json::to_string(&value).ok()).flatten()
}

/// Checks on the bundle's own certificate chain (v0.1/v0.2 `x509CertificateChain`) that
/// `sigstore-verify` leaves to chain building: trust must come from the trust root only,
/// so a chain that carries a root certificate is refused (the conformance suite's
/// `bundle-with-root-cert_fail`).
fn check_certificate_chain(bundle: &Bundle) -> Result<(), SignError> {
    use x509_cert::der::Decode;
    let VerificationMaterialContent::X509CertificateChain { certificates } = &bundle.verification_material.content
    else {
        return Ok(());
    };
    if certificates.is_empty() {
        return Err(bundle_error("empty certificate chain: no signing certificate".into()));
    }
    for (i, cert) in certificates.iter().enumerate() {
        let parsed = x509_cert::Certificate::from_der(cert.raw_bytes.as_bytes())
            .map_err(|e| bundle_error(format!("certificate {i} of the chain: not X.509 DER: {e}")))?;
        if parsed.tbs_certificate.subject == parsed.tbs_certificate.issuer {
            return Err(rejected(format!(
                "certificate chain contains a self-signed root certificate ({}): roots must come from the trust root",
                parsed.tbs_certificate.subject
            )));
        }
    }
    Ok(())
}

pub(crate) fn verify_parsed(
    bundle: &Bundle,
    artifact: Artifact<'_>,
    policy: &Policy,
) -> Result<VerifiedBundle, SignError> {
    let verifier = sigstore_verify::Verifier::new(&policy.trust_root.root)
        .map_err(|e| SignError::Other(format!("{}: {e}", policy.trust_root.name)))?;
    let input: sigstore_verify::types::Artifact<'_> = match artifact {
        Artifact::Bytes(bytes) => bytes.into(),
        Artifact::Sha256(digest) => Sha256Hash::new(digest).into(),
    };
    let result = match &policy.signer {
        Signer::Key(key) => verifier.verify(input, bundle, &PublicKeyVerificationPolicy::new(key.clone())),
        Signer::Keyless { identity, issuer } => {
            // Exact values are checked by sigstore-verify itself (before the log is looked at);
            // regexps are checked below on the verified certificate.
            let mut p = VerificationPolicy::any_identity();
            if let Match::Exact(id) = identity {
                p = p.require_identity(id.as_str());
            }
            if let Match::Exact(iss) = issuer {
                p = p.require_issuer(iss.as_str());
            }
            if !policy.trust_root.verify_sct {
                p = p.skip_sct();
            }
            verifier.verify(input, bundle, &p)
        }
    }
    .map_err(describe)?;

    let identity = result.identity().map(|i| i.to_string());
    let issuer = result.issuer().map(str::to_string);
    if let Signer::Keyless { identity: want_id, issuer: want_iss } = &policy.signer {
        let got = identity.as_deref().unwrap_or("");
        if !want_id.matches(got) {
            return Err(rejected(format!(
                "certificate identity mismatch: expected {want_id}, certificate has {:?}",
                identity.as_deref().unwrap_or("no email or URI SAN")
            )));
        }
        let got = issuer.as_deref().unwrap_or("");
        if !want_iss.matches(got) {
            return Err(rejected(format!(
                "certificate OIDC issuer mismatch: expected {want_iss}, certificate has {:?}",
                issuer.as_deref().unwrap_or("no issuer extension")
            )));
        }
    }
    Ok(VerifiedBundle {
        media_type: bundle.media_type.as_str().to_string(),
        identity,
        issuer,
        integrated_time: result.integrated_time().map(|t| t.as_second()),
        verified_times: result.verified_timestamps().iter().map(|t| t.as_second()).collect(),
        log_indexes: bundle.verification_material.tlog_entries.iter().map(|e| e.log_index.as_i64()).collect(),
        content: signed_content(bundle)?,
    })
}

fn signed_content(bundle: &Bundle) -> Result<SignedContent, SignError> {
    match &bundle.content {
        SignatureContent::MessageSignature(m) => Ok(SignedContent::MessageSignature {
            digest: m
                .message_digest
                .as_ref()
                .map(|d| format!("{}:{}", d.algorithm.as_rekor_str(), hex::encode(d.digest.as_bytes()))),
        }),
        SignatureContent::DsseEnvelope(env) => {
            Ok(SignedContent::Dsse { payload_type: env.payload_type.clone(), payload: env.payload.as_bytes().to_vec() })
        }
        _ => Err(bundle_error("neither a message signature nor a DSSE envelope".into())),
    }
}

/// A bundle that is not one (malformed JSON, no certificate, not DER): an input error.
fn bundle_error(msg: String) -> SignError {
    SignError::format("sigstore bundle", msg)
}

/// A well-formed bundle that does not verify (signature, chain, log, identity): a
/// verification failure, told apart from "could not verify" as cosign does.
fn rejected(msg: String) -> SignError {
    SignError::BadSignature(format!("sigstore bundle: {msg}"))
}

/// Name the check that failed, in words a user of cosign recognises.
fn describe(e: sigstore_verify::Error) -> SignError {
    use sigstore_verify::Error as E;
    let msg = match e {
        E::SignatureInvalid(d) => return SignError::BadSignature(format!("sigstore bundle: {d}")),
        E::IdentityMismatch { .. } => format!("certificate {e}"),
        E::IssuerMismatch { .. } => format!("certificate OIDC {e}"),
        E::ArtifactMismatch(d) => format!("artifact digest mismatch: {d}"),
        E::Certificate(c) => match c {
            CertificateError::Expired { time, not_after } => {
                format!("signing certificate had expired at the signing time {time} (not after {not_after})")
            }
            CertificateError::NotYetValid { time, not_before } => {
                format!("signing certificate was not yet valid at the signing time {time} (not before {not_before})")
            }
            // webpki checks validity while building the chain, so expiry shows up here.
            CertificateError::ChainInvalid(d) if d.contains("CertExpired") => {
                format!("signing certificate (or its CA) had expired at the signing time: {d}")
            }
            CertificateError::ChainInvalid(d) if d.contains("CertNotValidYet") => {
                format!("signing certificate (or its CA) was not yet valid at the signing time: {d}")
            }
            CertificateError::ChainInvalid(d) => format!("signing certificate does not chain to a trusted CA: {d}"),
            CertificateError::NoValidAuthority { time } => format!("no trusted Fulcio CA was valid at {time}"),
            CertificateError::Sct(d) => format!("signed certificate timestamp (SCT): {d}"),
            other => format!("signing certificate: {other}"),
        },
        E::TransparencyLog(t) => match t {
            TransparencyLogError::InclusionPromise(d) if d.starts_with("No log key") => {
                format!("signed entry timestamp (SET) from a log that is not in the trust root: {d}")
            }
            TransparencyLogError::InclusionPromise(d) => format!("signed entry timestamp (SET) does not verify: {d}"),
            TransparencyLogError::InclusionProof(d) => format!("Rekor inclusion proof does not verify: {d}"),
            TransparencyLogError::Checkpoint(d) => format!("Rekor checkpoint does not verify: {d}"),
            TransparencyLogError::UnknownLog { log_id } => {
                format!("transparency log {log_id} is not in the trust root")
            }
            TransparencyLogError::EntryMismatch(d) => format!("Rekor log entry does not match the bundle: {d}"),
            TransparencyLogError::IntegratedTime(d) => format!("Rekor integrated time: {d}"),
            other => format!("Rekor log entry: {other}"),
        },
        E::Timestamp(t) => match t {
            TimestampError::NoVerifiedTimestamp(d) => format!("no verified signing time: {d}"),
            other => format!("RFC 3161 timestamp: {other}"),
        },
        other => other.to_string(),
    };
    rejected(msg)
}
