//! Keyless verification against a trust root given as files (a Fulcio CA chain, a Rekor
//! public key, optionally a CT log key), as `cosign verify` takes them through
//! `SIGSTORE_ROOT_FILE` / `SIGSTORE_REKOR_PUBLIC_KEY` / `SIGSTORE_CT_LOG_PUBLIC_KEY`, for
//! Sigstore bundles and for cosign's older layout: a signature, its certificate and chain,
//! and the Rekor bundle (`{SignedEntryTimestamp, Payload{body, integratedTime, logIndex,
//! logID}}`) from the `dev.sigstore.cosign/*` annotations.
//!
//! The older layout is converted into the v0.1 Sigstore bundle it is equivalent to (a
//! certificate chain plus a log entry with its SET and no inclusion proof) and verified by
//! the same code as any bundle: the certificate must chain to the CA and be valid at the
//! integrated time, its SAN and OIDC issuer extension (`1.3.6.1.4.1.57264.1.1` or `.1.8`)
//! must match the policy, the SET must verify with the Rekor key over the canonicalized
//! payload, the log entry must describe this signature, certificate and artifact, and the
//! signature must verify over the artifact with the certificate's key.

use base64::Engine as _;
use serde::Deserialize;
use serde_json::json;
use sigstore_verify::crypto::{sha256, KeyAlgorithm};
use sigstore_verify::trust_root::TrustedRoot;
use sigstore_verify::types::{DerCertificate, DerPublicKey};

use crate::bundle::{parse_bundle, verify_parsed, Artifact, Policy, TrustRoot, VerifiedBundle, MAX_BUNDLE_BYTES};
use crate::SignError;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

impl TrustRoot {
    /// A trust root from PEM files: `fulcio_chain_pem` holds the CA certificates (root and
    /// intermediates, any order), `rekor_pubkey_pem` the Rekor log's `PUBLIC KEY`, and
    /// `ctlog_pubkey_pem` the CT log's key. Without a CT log key, certificates are not
    /// required to carry an SCT (a private Fulcio without CT). Keys and CAs carry no
    /// validity window, as with cosign's file-based roots.
    pub fn from_files(
        fulcio_chain_pem: &[u8],
        rekor_pubkey_pem: &[u8],
        ctlog_pubkey_pem: Option<&[u8]>,
    ) -> Result<Self, SignError> {
        let certs = pem_certificates(fulcio_chain_pem, "Fulcio CA chain")?;
        if certs.is_empty() {
            return Err(SignError::Other("Fulcio CA chain: no CERTIFICATE PEM block".into()));
        }
        let rekor = log_json(rekor_pubkey_pem, "Rekor public key", "rekor")?;
        let ctlogs = match ctlog_pubkey_pem {
            Some(pem) => vec![log_json(pem, "CT log public key", "ctlog")?],
            None => Vec::new(),
        };
        let root = json!({
            "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
            "tlogs": [rekor],
            "certificateAuthorities": [{
                "subject": {},
                "uri": "file:fulcio",
                "certChain": {"certificates": certs.iter().map(|c| json!({"rawBytes": B64.encode(c.as_bytes())})).collect::<Vec<_>>()},
            }],
            "ctlogs": ctlogs,
            "timestampAuthorities": [],
        });
        let root: TrustedRoot =
            serde_json::from_value(root).map_err(|e| SignError::Other(format!("trust root from files: {e}")))?;
        // Reject unusable material here, with the file named, rather than at first use.
        sigstore_verify::Verifier::new(&root).map_err(|e| SignError::Other(format!("trust root from files: {e}")))?;
        Ok(TrustRoot::from_parts(root, ctlog_pubkey_pem.is_some(), "trust root from files"))
    }
}

/// One log's entry of a trusted root, from its PEM public key; the log ID is the SHA-256
/// of the key's DER SubjectPublicKeyInfo, as Rekor and CT compute it.
fn log_json(pem: &[u8], what: &str, name: &str) -> Result<serde_json::Value, SignError> {
    let key_err = |msg: String| SignError::Key { what: what.to_string(), msg };
    let text = pem_text(pem, what)?;
    let key = DerPublicKey::from_pem(text).map_err(|e| key_err(e.to_string()))?;
    let details = match KeyAlgorithm::from_spki(&key).map_err(|e| key_err(e.to_string()))? {
        KeyAlgorithm::EcdsaP256 => "PKIX_ECDSA_P256_SHA_256",
        KeyAlgorithm::EcdsaP384 => "PKIX_ECDSA_P384_SHA_384",
        KeyAlgorithm::Ed25519 => "PKIX_ED25519",
        KeyAlgorithm::Rsa => "PKIX_RSA_PKCS1V15_2048_SHA256",
        other => return Err(key_err(format!("unsupported key algorithm {other:?}"))),
    };
    Ok(json!({
        "baseUrl": format!("file:{name}"),
        "hashAlgorithm": "SHA2_256",
        "publicKey": {"rawBytes": B64.encode(key.as_bytes()), "keyDetails": details},
        "logId": {"keyId": sha256(key.as_bytes()).to_base64()},
    }))
}

fn pem_text<'a>(pem: &'a [u8], what: &str) -> Result<&'a str, SignError> {
    if pem.len() > MAX_BUNDLE_BYTES {
        return Err(SignError::Other(format!("{what}: larger than {MAX_BUNDLE_BYTES} bytes")));
    }
    std::str::from_utf8(pem).map_err(|e| SignError::Other(format!("{what}: not UTF-8 PEM: {e}")))
}

/// Every `CERTIFICATE` block of a PEM file, in order (other blocks are skipped).
fn pem_certificates(pem: &[u8], what: &str) -> Result<Vec<DerCertificate>, SignError> {
    use rustls_pki_types::pem::PemObject;
    pem_text(pem, what)?;
    rustls_pki_types::CertificateDer::pem_slice_iter(pem)
        .map(|c| {
            c.map(|der| DerCertificate::new(der.to_vec()))
                .map_err(|e| SignError::Other(format!("{what}: bad PEM: {e}")))
        })
        .collect()
}

/// A signature in cosign's older layout, as the annotations of a `sha256-<digest>.sig`
/// layer (or `cosign sign-blob --bundle` v1/v2 output) carry it.
#[derive(Debug, Clone, Copy)]
pub struct LegacySignature<'a> {
    /// `dev.cosignproject.cosign/signature`: base64 of the DER (or raw) signature over the
    /// artifact (for an image, the simple-signing payload).
    pub signature_b64: &'a str,
    /// `dev.sigstore.cosign/certificate`: the signing certificate (PEM); `None` for a
    /// key-signed entry, verified with a [`Policy::public_key`].
    pub certificate_pem: Option<&'a [u8]>,
    /// `dev.sigstore.cosign/chain`: intermediates and root (PEM). Self-signed roots in it
    /// are dropped: trust comes only from the trust root.
    pub chain_pem: Option<&'a [u8]>,
    /// `dev.sigstore.cosign/bundle`: the Rekor bundle JSON.
    pub rekor_bundle_json: &'a [u8],
}

/// cosign's `RekorBundle`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RekorBundle {
    #[serde(rename = "SignedEntryTimestamp")]
    signed_entry_timestamp: String,
    #[serde(rename = "Payload")]
    payload: RekorPayload,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RekorPayload {
    body: String,
    #[serde(rename = "integratedTime")]
    integrated_time: i64,
    #[serde(rename = "logIndex")]
    log_index: i64,
    #[serde(rename = "logID")]
    log_id: String,
}

/// The `kind` and `apiVersion` of a Rekor entry body.
#[derive(Deserialize)]
struct EntryKind {
    kind: String,
    #[serde(rename = "apiVersion")]
    api_version: String,
}

/// Verify a signature in cosign's older layout, offline: see the module documentation for
/// what is checked.
pub fn verify_legacy(
    artifact: Artifact<'_>,
    signature: &LegacySignature<'_>,
    policy: &Policy,
) -> Result<VerifiedBundle, SignError> {
    let bundle = legacy_to_bundle(signature)?;
    verify_parsed(&parse_bundle(bundle.as_bytes())?, artifact, policy)
}

/// The v0.1 Sigstore bundle equivalent to a signature in cosign's older layout.
pub fn legacy_to_bundle(signature: &LegacySignature<'_>) -> Result<String, SignError> {
    let err = |msg: String| SignError::Other(format!("cosign Rekor bundle: {msg}"));
    if signature.rekor_bundle_json.len() > MAX_BUNDLE_BYTES {
        return Err(err(format!("larger than {MAX_BUNDLE_BYTES} bytes")));
    }
    let rekor: RekorBundle =
        serde_json::from_slice(signature.rekor_bundle_json).map_err(|e| err(format!("not valid JSON: {e}")))?;
    let body = B64.decode(rekor.payload.body.trim()).map_err(|e| err(format!("Payload.body is not base64: {e}")))?;
    let kind: EntryKind =
        serde_json::from_slice(&body).map_err(|e| err(format!("Payload.body is not a Rekor entry: {e}")))?;
    if kind.kind != "hashedrekord" {
        return Err(err(format!(
            "Rekor entry kind {}/{}: only hashedrekord signatures are supported in this layout",
            kind.kind, kind.api_version
        )));
    }
    let log_id = hex::decode(rekor.payload.log_id.trim()).map_err(|e| err(format!("Payload.logID is not hex: {e}")))?;

    let mut material = serde_json::Map::new();
    match signature.certificate_pem {
        Some(pem) => {
            let mut certs = pem_certificates(pem, "signing certificate")?;
            certs.truncate(1);
            if certs.is_empty() {
                return Err(SignError::Other("signing certificate: no CERTIFICATE PEM block".into()));
            }
            if let Some(chain) = signature.chain_pem {
                for cert in pem_certificates(chain, "certificate chain")? {
                    if !is_self_signed(&cert, "certificate chain")? {
                        certs.push(cert);
                    }
                }
            }
            let certificates: Vec<_> = certs.iter().map(|c| json!({"rawBytes": B64.encode(c.as_bytes())})).collect();
            material.insert("x509CertificateChain".into(), json!({"certificates": certificates}));
        }
        None => {
            material.insert("publicKey".into(), json!({"hint": ""}));
        }
    }
    material.insert(
        "tlogEntries".into(),
        json!([{
            "logIndex": rekor.payload.log_index.to_string(),
            "logId": {"keyId": B64.encode(log_id)},
            "kindVersion": {"kind": kind.kind, "version": kind.api_version},
            "integratedTime": rekor.payload.integrated_time.to_string(),
            "inclusionPromise": {"signedEntryTimestamp": rekor.signed_entry_timestamp.trim()},
            "canonicalizedBody": rekor.payload.body.trim(),
        }]),
    );
    let bundle = json!({
        "mediaType": "application/vnd.dev.sigstore.bundle+json;version=0.1",
        "verificationMaterial": material,
        "messageSignature": {"signature": signature.signature_b64.trim()},
    });
    serde_json::to_string(&bundle).map_err(|e| err(e.to_string()))
}

fn is_self_signed(cert: &DerCertificate, what: &str) -> Result<bool, SignError> {
    use x509_cert::der::Decode;
    let parsed = x509_cert::Certificate::from_der(cert.as_bytes())
        .map_err(|e| SignError::Other(format!("{what}: not an X.509 certificate: {e}")))?;
    Ok(parsed.tbs_certificate.subject == parsed.tbs_certificate.issuer)
}
