//! A test Sigstore for keyless tests: a CA standing for Fulcio issues short-lived leaves with
//! an email or URI SAN and the OIDC issuer extension(s), and a P-256 key standing for Rekor
//! signs the signed entry timestamp (SET) of a hashedrekord entry, as cosign's Rekor bundle
//! carries it.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, CustomExtension, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, SanType, PKCS_ECDSA_P256_SHA256,
};
use time::{Duration, OffsetDateTime};

pub use rcgen;
pub use sigstore_verify;
pub use sigstore_verify::crypto::{sha256, KeyPair as SigningKey};
pub use time;

/// The identity and issuer the tests sign as.
pub const EMAIL: &str = "signer@example.com";
pub const ISSUER: &str = "https://accounts.example.com";

/// The Fulcio stand-in: a self-signed P-256 CA valid from yesterday for a year.
pub struct Ca {
    pub issuer: CertifiedIssuer<'static, KeyPair>,
}

/// How a leaf states the OIDC issuer: Fulcio's v1 extension (raw bytes), v2 (a DER
/// UTF8String), or both (what Fulcio writes today).
#[derive(Clone, Copy, Debug)]
pub enum IssuerExt {
    V1,
    V2,
    Both,
}

/// A leaf certificate and its signing key.
pub struct Leaf {
    pub pem: String,
    pub key: SigningKey,
}

impl Ca {
    pub fn new(name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        params.not_before = OffsetDateTime::now_utc() - Duration::days(1);
        params.not_after = OffsetDateTime::now_utc() + Duration::days(365);
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
        Ca { issuer: CertifiedIssuer::self_signed(params, key).unwrap() }
    }

    pub fn pem(&self) -> String {
        self.issuer.pem()
    }

    /// A code-signing leaf for `san`, stating `issuer` as `ext` says, valid over `valid`.
    pub fn leaf(&self, san: SanType, issuer: &str, ext: IssuerExt, valid: (OffsetDateTime, OffsetDateTime)) -> Leaf {
        let mut params = CertificateParams::default();
        params.subject_alt_names = vec![san];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::CodeSigning];
        params.not_before = valid.0;
        params.not_after = valid.1;
        let v1 = CustomExtension::from_oid_content(&[1, 3, 6, 1, 4, 1, 57264, 1, 1], issuer.as_bytes().to_vec());
        let v2 = CustomExtension::from_oid_content(&[1, 3, 6, 1, 4, 1, 57264, 1, 8], der_utf8(issuer));
        params.custom_extensions = match ext {
            IssuerExt::V1 => vec![v1],
            IssuerExt::V2 => vec![v2],
            IssuerExt::Both => vec![v1, v2],
        };
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        Leaf { pem: cert.pem(), key: SigningKey::from_pkcs8_der(&key.serialize_der()).unwrap() }
    }
}

/// An email SAN.
pub fn email(address: &str) -> SanType {
    SanType::Rfc822Name(address.try_into().unwrap())
}

/// Fulcio's ten-minute validity around now.
pub fn short_lived() -> (OffsetDateTime, OffsetDateTime) {
    let now = OffsetDateTime::now_utc();
    (now - Duration::minutes(5), now + Duration::minutes(5))
}

/// A DER UTF8String (what Fulcio writes in the v2 issuer extension).
pub fn der_utf8(s: &str) -> Vec<u8> {
    assert!(s.len() < 128);
    let mut out = vec![0x0c, s.len() as u8];
    out.extend_from_slice(s.as_bytes());
    out
}

/// The Rekor stand-in: its key signs SETs; its public key is the trust root's log key.
pub struct Rekor {
    pub key: SigningKey,
}

impl Default for Rekor {
    fn default() -> Self {
        Self::new()
    }
}

impl Rekor {
    pub fn new() -> Self {
        Rekor { key: SigningKey::generate_ecdsa_p256().unwrap() }
    }

    /// The public key, PEM (what `--rekor-key` and a trust root take).
    pub fn pem(&self) -> String {
        self.key.public_key_der().unwrap().to_pem()
    }

    /// The log ID: SHA-256 of the public key's DER, hex.
    pub fn log_id_hex(&self) -> String {
        sha256(self.key.public_key_der().unwrap().as_bytes()).to_hex()
    }

    /// cosign's Rekor bundle for a hashedrekord entry of `data` signed as `signature_b64` by
    /// `verifier_pem` (a certificate or public key), logged by this log at `log_index` a
    /// minute ago, with the SET signed by `set_key` (this log's key, or another to tamper).
    pub fn bundle(
        &self,
        data: &[u8],
        signature_b64: &str,
        verifier_pem: &str,
        log_index: i64,
        set_key: &SigningKey,
    ) -> serde_json::Value {
        let body = B64.encode(hashedrekord(data, signature_b64, verifier_pem).as_bytes());
        let integrated_time = OffsetDateTime::now_utc().unix_timestamp() - 60;
        let payload = serde_json::json!({
            "body": body,
            "integratedTime": integrated_time,
            "logID": self.log_id_hex(),
            "logIndex": log_index,
        });
        let set = set_key.sign(&canonical(&payload)).unwrap();
        serde_json::json!({"SignedEntryTimestamp": B64.encode(set.as_bytes()), "Payload": payload})
    }
}

/// A hashedrekord entry body in canonical JSON (keys sorted, no spaces), as Rekor stores it.
pub fn hashedrekord(data: &[u8], signature_b64: &str, verifier_pem: &str) -> String {
    format!(
        r#"{{"apiVersion":"0.0.1","kind":"hashedrekord","spec":{{"data":{{"hash":{{"algorithm":"sha256","value":"{}"}}}},"signature":{{"content":"{}","publicKey":{{"content":"{}"}}}}}}}}"#,
        sha256(data).to_hex(),
        signature_b64,
        B64.encode(verifier_pem.as_bytes())
    )
}

/// What the SET signs: the payload's four fields sorted by name, as RFC 8785 writes them.
pub fn canonical(payload: &serde_json::Value) -> Vec<u8> {
    format!(
        r#"{{"body":{},"integratedTime":{},"logID":{},"logIndex":{}}}"#,
        payload["body"], payload["integratedTime"], payload["logID"], payload["logIndex"]
    )
    .into_bytes()
}
