//! Signing and verification as cosign does it, so either tool verifies what the other
//! signed: cosign's encrypted key files, simple-signing payloads stored under
//! `sha256-<digest>.sig`, in-toto attestations in DSSE envelopes under `.att`, SBOM
//! attachments under `.sbom`, and Sigstore bundles (v0.1–v0.3) verified offline.
//!
//! - [`keys`]: key pairs, cosign's encrypted private key file (scrypt + NaCl secretbox) and
//!   `PUBLIC KEY` PEM files, the `COSIGN_PASSWORD`/prompt password source.
//! - [`payload`]: the simple-signing payload cosign signs for an image.
//! - [`dsse`]: DSSE envelopes, in-toto statements and cosign's predicate types.
#![forbid(unsafe_code)]

pub mod oci;

pub mod bundle;
pub mod cosign;
pub mod dsse;
mod envelope;
mod gojson;
pub mod keyless;
pub mod keys;
pub mod payload;
mod pem;
pub mod provenance;
pub mod referrers;

pub use keys::{KeyAlgorithm, KeyPair, PrivateKey, PublicKey};

/// Something that signs: a private key held in memory (zeroized on drop).
pub trait Signer: Send + Sync {
    /// A signature over `message` in the key's cosign scheme: ECDSA P-256 over SHA-256, ASN.1
    /// DER encoded (what cosign generates and writes, base64, in the
    /// `dev.cosignproject.cosign/signature` annotation); RSA PKCS#1 v1.5 over SHA-256 and
    /// Ed25519 for keys of those kinds (see [`keys`]).
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignError>;
    /// The matching public key as PEM `PUBLIC KEY` (SubjectPublicKeyInfo).
    fn public_key_pem(&self) -> String;
}

/// Something that verifies signatures made by one key.
pub trait Verifier: Send + Sync {
    /// Ok when `signature` (DER, or raw r||s) is a valid signature over `message`.
    fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), SignError>;
}

#[derive(Debug, thiserror::Error)]
pub enum SignError {
    /// A key file that cannot be used. Never includes key material.
    #[error("{what}: {msg}")]
    Key { what: String, msg: String },
    #[error("signature does not verify: {0}")]
    BadSignature(String),
    /// A payload, envelope or statement that is not what cosign writes.
    #[error("{what}: {msg}")]
    Format { what: String, msg: String },
    /// Talking to the registry failed; names the registry or reference.
    #[error("{0}")]
    Registry(String),
    #[error("{0}")]
    Other(String),
}

impl SignError {
    pub(crate) fn key(what: &str, msg: impl Into<String>) -> Self {
        SignError::Key { what: what.to_string(), msg: msg.into() }
    }

    pub(crate) fn format(what: &str, msg: impl Into<String>) -> Self {
        SignError::Format { what: what.to_string(), msg: msg.into() }
    }
}
