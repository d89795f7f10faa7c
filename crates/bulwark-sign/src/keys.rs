//! Keys as cosign keeps them.
//!
//! - Private key: PEM `ENCRYPTED SIGSTORE PRIVATE KEY` (what cosign writes since v2; the older
//!   `ENCRYPTED COSIGN PRIVATE KEY` is read too) around cosign's JSON envelope (scrypt KDF,
//!   NaCl secretbox) holding a PKCS#8 DER private key.
//! - Public key: PEM `PUBLIC KEY` (SubjectPublicKeyInfo).
//!
//! Key kinds, and the answers for the edge cases:
//!
//! | inside the envelope | answer |
//! |---|---|
//! | PKCS#8 ECDSA P-256 | supported; what [`generate`] makes and cosign generates; signs ECDSA/SHA-256, DER |
//! | PKCS#8 RSA (2048–4096 bits) | supported, as cosign does: RSA PKCS#1 v1.5 over SHA-256 |
//! | PKCS#8 Ed25519, v1 or v2 (`OneAsymmetricKey` with the public key, as sigstore-rs writes) | supported; in v2 the embedded public key must match the private key, else an error |
//! | SEC1 `EC PRIVATE KEY` DER | refused: cosign (Go `x509.ParsePKCS8PrivateKey`) refuses it too, so such a file would work with Bulwark only; the error says how to convert it |
//! | PKCS#1 `RSA PRIVATE KEY` DER | refused, same reason |
//! | other curves / algorithms | refused, naming the curve or algorithm OID |
//!
//! [`import_private_key`] reads unencrypted keys (`PRIVATE KEY`, `EC PRIVATE KEY`,
//! `RSA PRIVATE KEY`), as `cosign import-key-pair` does, to re-encrypt them as PKCS#8.
//!
//! Secrets: decrypted DER, passwords and the derived secretbox key live in `Zeroizing`
//! buffers; P-256 keys wipe themselves on drop. RSA and Ed25519 keys are held by *ring*,
//! which does not wipe its copy on drop (our copies of their DER are wiped). No `Debug`,
//! `Display` or error message shows key bytes.

use std::fmt;
use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};

use p256::ecdsa::signature::{Signer as _, Verifier as _};
use p256::elliptic_curve::Generate as _;
use p256::pkcs8::der::asn1::BitStringRef;
use p256::pkcs8::der::{AnyRef, Decode as _, Encode as _};
use p256::pkcs8::spki::{AlgorithmIdentifierRef, SubjectPublicKeyInfoRef};
use p256::pkcs8::{DecodePrivateKey as _, DecodePublicKey as _, EncodePrivateKey as _, EncodePublicKey as _};
use p256::pkcs8::{ObjectIdentifier, PrivateKeyInfoRef};
use ring::signature::KeyPair as _;
use zeroize::Zeroizing;

use crate::{envelope, pem, SignError, Signer, Verifier};

/// What cosign writes (since v2).
pub const SIGSTORE_PRIVATE_KEY_LABEL: &str = "ENCRYPTED SIGSTORE PRIVATE KEY";
/// What cosign v1 wrote; still read.
pub const COSIGN_PRIVATE_KEY_LABEL: &str = "ENCRYPTED COSIGN PRIVATE KEY";
pub const PUBLIC_KEY_LABEL: &str = "PUBLIC KEY";
/// The environment variable cosign reads the key password from.
pub const PASSWORD_ENV: &str = "COSIGN_PASSWORD";
/// Larger than any key file (an encrypted 4096-bit RSA key is about 4 KiB).
pub const MAX_KEY_FILE_BYTES: usize = 64 * 1024;

const OID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const OID_P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const OID_P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const OID_P521: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.35");
const OID_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const OID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");

/// The signature scheme a key signs and verifies with, as cosign pairs them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyAlgorithm {
    /// ECDSA P-256 over SHA-256, ASN.1 DER signatures.
    EcdsaP256Sha256,
    /// RSA PKCS#1 v1.5 over SHA-256.
    RsaPkcs1Sha256,
    /// Ed25519 (pure, over the message).
    Ed25519,
}

impl fmt::Display for KeyAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KeyAlgorithm::EcdsaP256Sha256 => "ECDSA P-256 / SHA-256",
            KeyAlgorithm::RsaPkcs1Sha256 => "RSA PKCS#1 v1.5 / SHA-256",
            KeyAlgorithm::Ed25519 => "Ed25519",
        })
    }
}

/// A private key and its public half.
pub struct PrivateKey {
    inner: PrivateInner,
    /// PKCS#8 DER, for re-encryption; wiped on drop.
    pkcs8: Zeroizing<Vec<u8>>,
    public: PublicKey,
}

/// A freshly generated key pair: the private key carries its public half.
pub type KeyPair = PrivateKey;

enum PrivateInner {
    P256(p256::ecdsa::SigningKey),
    Rsa(ring::rsa::KeyPair),
    Ed25519(ring::signature::Ed25519KeyPair),
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateKey").field("algorithm", &self.algorithm()).finish_non_exhaustive()
    }
}

impl PrivateKey {
    pub fn algorithm(&self) -> KeyAlgorithm {
        self.public.algorithm
    }

    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// A key from PKCS#8 DER (v1 or v2). `what` names the source in errors.
    pub fn from_pkcs8_der(der: &[u8], what: &str) -> Result<Self, SignError> {
        let info = match PrivateKeyInfoRef::from_der(der) {
            Ok(info) => info,
            Err(_) => return Err(SignError::key(what, not_pkcs8_reason(der))),
        };
        let oid = info.algorithm.oid;
        let pkcs8 = Zeroizing::new(der.to_vec());
        if oid == OID_EC_PUBLIC_KEY {
            let curve = info.algorithm.parameters_oid().ok();
            if curve != Some(OID_P256) {
                return Err(SignError::key(what, unsupported_curve(curve)));
            }
            let key = p256::ecdsa::SigningKey::from_pkcs8_der(der)
                .map_err(|e| SignError::key(what, format!("invalid ECDSA P-256 private key: {}", pkcs8_error(&e))))?;
            let public = PublicKey::p256(*key.verifying_key())?;
            Ok(PrivateKey { inner: PrivateInner::P256(key), pkcs8, public })
        } else if oid == OID_RSA {
            let key = ring::rsa::KeyPair::from_pkcs8(der)
                .map_err(|e| SignError::key(what, format!("invalid or unsupported RSA private key: {e}")))?;
            let public = PublicKey::rsa_from_pkcs1(key.public().as_ref(), what)?;
            Ok(PrivateKey { inner: PrivateInner::Rsa(key), pkcs8, public })
        } else if oid == OID_ED25519 {
            // v1 (seed only) or v2 with the public key, which ring checks against the seed.
            let key = ring::signature::Ed25519KeyPair::from_pkcs8_maybe_unchecked(der).map_err(|e| {
                let msg = if info.public_key.is_some() {
                    format!("invalid Ed25519 PKCS#8 v2 key (is its public key the private key's?): {e}")
                } else {
                    format!("invalid Ed25519 private key: {e}")
                };
                SignError::key(what, msg)
            })?;
            let public = PublicKey::ed25519(key.public_key().as_ref(), what)?;
            Ok(PrivateKey { inner: PrivateInner::Ed25519(key), pkcs8, public })
        } else {
            Err(SignError::key(what, format!("unsupported private key algorithm (OID {oid})")))
        }
    }
}

impl Signer for PrivateKey {
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignError> {
        match &self.inner {
            PrivateInner::P256(key) => {
                let sig: p256::ecdsa::DerSignature = key.sign(message);
                Ok(sig.as_bytes().to_vec())
            }
            PrivateInner::Rsa(key) => {
                let mut sig = vec![0u8; key.public().modulus_len()];
                key.sign(&ring::signature::RSA_PKCS1_SHA256, &ring::rand::SystemRandom::new(), message, &mut sig)
                    .map_err(|_| SignError::Other("RSA signing failed".into()))?;
                Ok(sig)
            }
            PrivateInner::Ed25519(key) => Ok(key.sign(message).as_ref().to_vec()),
        }
    }

    fn public_key_pem(&self) -> String {
        self.public.to_pem()
    }
}

/// A public key that verifies cosign signatures.
#[derive(Clone)]
pub struct PublicKey {
    algorithm: KeyAlgorithm,
    /// SubjectPublicKeyInfo DER.
    spki: Vec<u8>,
    inner: PublicInner,
}

#[derive(Clone)]
enum PublicInner {
    P256(p256::ecdsa::VerifyingKey),
    /// PKCS#1 RSAPublicKey DER, as ring takes it.
    Rsa(Vec<u8>),
    Ed25519([u8; 32]),
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicKey").field("algorithm", &self.algorithm).finish_non_exhaustive()
    }
}

impl PartialEq for PublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.spki == other.spki
    }
}

impl Eq for PublicKey {}

impl PublicKey {
    pub fn algorithm(&self) -> KeyAlgorithm {
        self.algorithm
    }

    /// SubjectPublicKeyInfo DER.
    pub fn spki_der(&self) -> &[u8] {
        &self.spki
    }

    /// PEM `PUBLIC KEY`, as cosign writes `cosign.pub`.
    pub fn to_pem(&self) -> String {
        public_key_pem(&self.spki)
    }

    /// A key from SubjectPublicKeyInfo DER: ECDSA P-256, RSA or Ed25519.
    pub fn from_spki_der(der: &[u8], what: &str) -> Result<Self, SignError> {
        let spki = SubjectPublicKeyInfoRef::from_der(der)
            .map_err(|e| SignError::key(what, format!("not a SubjectPublicKeyInfo: {e}")))?;
        let oid = spki.algorithm.oid;
        if oid == OID_EC_PUBLIC_KEY {
            let curve = spki.algorithm.parameters_oid().ok();
            if curve != Some(OID_P256) {
                return Err(SignError::key(what, unsupported_curve(curve)));
            }
            let key = p256::ecdsa::VerifyingKey::from_public_key_der(der)
                .map_err(|e| SignError::key(what, format!("invalid ECDSA P-256 public key: {e}")))?;
            PublicKey::p256(key)
        } else if oid == OID_RSA {
            let bits = spki
                .subject_public_key
                .as_bytes()
                .ok_or_else(|| SignError::key(what, "RSA public key bit string has unused bits"))?;
            PublicKey::rsa_from_pkcs1(bits, what)
        } else if oid == OID_ED25519 {
            let bits = spki
                .subject_public_key
                .as_bytes()
                .ok_or_else(|| SignError::key(what, "Ed25519 public key bit string has unused bits"))?;
            PublicKey::ed25519(bits, what)
        } else {
            Err(SignError::key(what, format!("unsupported public key algorithm (OID {oid})")))
        }
    }

    fn p256(key: p256::ecdsa::VerifyingKey) -> Result<Self, SignError> {
        let spki = key
            .to_public_key_der()
            .map_err(|e| SignError::Other(format!("encoding a P-256 public key failed: {e}")))?
            .into_vec();
        Ok(PublicKey { algorithm: KeyAlgorithm::EcdsaP256Sha256, spki, inner: PublicInner::P256(key) })
    }

    fn rsa_from_pkcs1(pkcs1: &[u8], what: &str) -> Result<Self, SignError> {
        // ring checks the modulus when verifying; check the encoding now so a bad key
        // fails at load, not at the first verification.
        let modulus_bits = rsa_modulus_bits(pkcs1).ok_or_else(|| SignError::key(what, "invalid RSA public key"))?;
        if !(2048..=8192).contains(&modulus_bits) {
            return Err(SignError::key(
                what,
                format!("RSA key of {modulus_bits} bits is outside the supported 2048..=8192"),
            ));
        }
        let spki = encode_spki(OID_RSA, Some(AnyRef::NULL), pkcs1)?;
        Ok(PublicKey { algorithm: KeyAlgorithm::RsaPkcs1Sha256, spki, inner: PublicInner::Rsa(pkcs1.to_vec()) })
    }

    fn ed25519(raw: &[u8], what: &str) -> Result<Self, SignError> {
        let raw: [u8; 32] = raw
            .try_into()
            .map_err(|_| SignError::key(what, format!("Ed25519 public key is {} bytes, not 32", raw.len())))?;
        let spki = encode_spki(OID_ED25519, None, &raw)?;
        Ok(PublicKey { algorithm: KeyAlgorithm::Ed25519, spki, inner: PublicInner::Ed25519(raw) })
    }
}

impl Verifier for PublicKey {
    fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), SignError> {
        match &self.inner {
            PublicInner::P256(key) => {
                // DER is what cosign writes; raw r||s (64 bytes) is what some tools and
                // Sigstore bundles from other clients carry. A 64-byte string could parse as
                // either, so each reading gets its chance.
                let der_ok = p256::ecdsa::DerSignature::from_bytes(signature)
                    .ok()
                    .and_then(|s| p256::ecdsa::Signature::try_from(s).ok())
                    .is_some_and(|s| key.verify(message, &s).is_ok());
                let raw_ok = || {
                    signature.len() == 64
                        && p256::ecdsa::Signature::from_slice(signature).is_ok_and(|s| key.verify(message, &s).is_ok())
                };
                if der_ok || raw_ok() {
                    Ok(())
                } else {
                    Err(SignError::BadSignature("ECDSA P-256 signature does not match the key and message".into()))
                }
            }
            PublicInner::Rsa(pkcs1) => {
                ring::signature::UnparsedPublicKey::new(&ring::signature::RSA_PKCS1_2048_8192_SHA256, pkcs1)
                    .verify(message, signature)
                    .map_err(|_| SignError::BadSignature("RSA signature does not match the key and message".into()))
            }
            PublicInner::Ed25519(raw) => ring::signature::UnparsedPublicKey::new(&ring::signature::ED25519, raw)
                .verify(message, signature)
                .map_err(|_| SignError::BadSignature("Ed25519 signature does not match the key and message".into())),
        }
    }
}

/// A new ECDSA P-256 key pair, as `cosign generate-key-pair` makes.
pub fn generate() -> Result<KeyPair, SignError> {
    let key = p256::ecdsa::SigningKey::try_generate()
        .map_err(|e| SignError::Other(format!("system random generator failed: {e}")))?;
    let pkcs8 = Zeroizing::new(
        key.to_pkcs8_der()
            .map_err(|e| SignError::Other(format!("encoding a P-256 private key failed: {e}")))?
            .as_bytes()
            .to_vec(),
    );
    let public = PublicKey::p256(*key.verifying_key())?;
    Ok(PrivateKey { inner: PrivateInner::P256(key), pkcs8, public })
}

/// The private key as cosign's encrypted key file (`cosign.key`): PEM
/// `ENCRYPTED SIGSTORE PRIVATE KEY`, scrypt N=65536 r=8 p=1, NaCl secretbox, PKCS#8 inside.
pub fn encrypt_private_key(key: &PrivateKey, password: &[u8]) -> Result<String, SignError> {
    seal_der(&key.pkcs8, password)
}

/// Seals arbitrary DER in cosign's envelope. [`encrypt_private_key`] is what key files want;
/// this exists for tools and tests that must produce envelopes around other content.
pub fn seal_der(der: &[u8], password: &[u8]) -> Result<String, SignError> {
    let json = envelope::seal(der, password)?;
    Ok(pem::encode(SIGSTORE_PRIVATE_KEY_LABEL, json.as_bytes()))
}

/// Reads cosign's encrypted private key file (either PEM label) and decrypts it with
/// `password`. `what` names the file in errors.
pub fn load_private_key(pem_text: &[u8], password: &[u8], what: &str) -> Result<PrivateKey, SignError> {
    let block = pem::parse(pem_text, MAX_KEY_FILE_BYTES, what)?;
    match block.label.as_str() {
        SIGSTORE_PRIVATE_KEY_LABEL | COSIGN_PRIVATE_KEY_LABEL => {}
        "PRIVATE KEY" | "EC PRIVATE KEY" | "RSA PRIVATE KEY" => {
            return Err(SignError::key(
                what,
                format!(
                    "`{}` is an unencrypted key; cosign key files are `{SIGSTORE_PRIVATE_KEY_LABEL}` \
                     (import it first, as `cosign import-key-pair` does)",
                    block.label
                ),
            ))
        }
        other => {
            return Err(SignError::key(
                what,
                format!("PEM block `{}` is not a cosign private key (`{SIGSTORE_PRIVATE_KEY_LABEL}`)", short(other)),
            ))
        }
    }
    let der = envelope::open(&block.der, password, what)?;
    PrivateKey::from_pkcs8_der(&der, what)
}

/// Reads an unencrypted private key, as `cosign import-key-pair` does: PEM `PRIVATE KEY`
/// (PKCS#8), `EC PRIVATE KEY` (SEC1, P-256) or `RSA PRIVATE KEY` (PKCS#1). The result
/// can be written out with [`encrypt_private_key`], as PKCS#8.
pub fn import_private_key(pem_text: &[u8], what: &str) -> Result<PrivateKey, SignError> {
    let block = pem::parse(pem_text, MAX_KEY_FILE_BYTES, what)?;
    match block.label.as_str() {
        "PRIVATE KEY" => PrivateKey::from_pkcs8_der(&block.der, what),
        "EC PRIVATE KEY" => {
            let secret = p256::SecretKey::from_sec1_der(&block.der)
                .map_err(|_| SignError::key(what, "not a SEC1 ECDSA P-256 private key (only P-256 is supported)"))?;
            let der = secret
                .to_pkcs8_der()
                .map_err(|e| SignError::Other(format!("encoding a P-256 private key failed: {e}")))?;
            PrivateKey::from_pkcs8_der(der.as_bytes(), what)
        }
        "RSA PRIVATE KEY" => {
            ring::rsa::KeyPair::from_der(&block.der)
                .map_err(|e| SignError::key(what, format!("invalid or unsupported PKCS#1 RSA private key: {e}")))?;
            let info = PrivateKeyInfoRef::new(
                AlgorithmIdentifierRef { oid: OID_RSA, parameters: Some(AnyRef::NULL) },
                (&block.der[..]).try_into().map_err(|_| SignError::key(what, "PKCS#1 RSA private key is too large"))?,
            );
            let der = Zeroizing::new(
                info.to_der().map_err(|e| SignError::Other(format!("encoding an RSA private key failed: {e}")))?,
            );
            PrivateKey::from_pkcs8_der(&der, what)
        }
        SIGSTORE_PRIVATE_KEY_LABEL | COSIGN_PRIVATE_KEY_LABEL => {
            Err(SignError::key(what, "an encrypted cosign key: load it with its password instead"))
        }
        other => Err(SignError::key(what, format!("PEM block `{}` is not a private key", short(other)))),
    }
}

/// Reads a PEM `PUBLIC KEY` (cosign.pub): ECDSA P-256, RSA or Ed25519.
pub fn load_public_key(pem_text: &[u8], what: &str) -> Result<PublicKey, SignError> {
    let block = pem::parse(pem_text, MAX_KEY_FILE_BYTES, what)?;
    if block.label != PUBLIC_KEY_LABEL {
        return Err(SignError::key(what, format!("PEM block `{}` is not a `{PUBLIC_KEY_LABEL}`", short(&block.label))));
    }
    PublicKey::from_spki_der(&block.der, what)
}

/// PEM `PUBLIC KEY` text for SubjectPublicKeyInfo DER, as cosign writes `cosign.pub`.
pub fn public_key_pem(spki_der: &[u8]) -> String {
    pem::encode(PUBLIC_KEY_LABEL, spki_der)
}

/// Writes `cosign.key` (encrypted, mode 0600) and `cosign.pub` into `dir`, as
/// `cosign generate-key-pair` does. Existing files are never overwritten.
pub fn write_key_pair(dir: &Path, key: &PrivateKey, password: &[u8]) -> Result<(PathBuf, PathBuf), SignError> {
    let key_path = dir.join("cosign.key");
    let pub_path = dir.join("cosign.pub");
    for path in [&key_path, &pub_path] {
        if path.exists() {
            return Err(SignError::Other(format!("{} already exists; not overwriting it", path.display())));
        }
    }
    let encrypted = encrypt_private_key(key, password)?;
    write_new(&key_path, encrypted.as_bytes(), 0o600)?;
    write_new(&pub_path, key.public_key_pem().as_bytes(), 0o644)?;
    Ok((key_path, pub_path))
}

fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<(), SignError> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = options.open(path).map_err(|e| SignError::Other(format!("{}: {e}", path.display())))?;
    file.write_all(bytes).map_err(|e| SignError::Other(format!("{}: {e}", path.display())))
}

/// The key password as cosign finds it: `COSIGN_PASSWORD` when set (even to the empty
/// string), else a prompt on the terminal without echo (twice when `confirm`, for a new key).
/// Without either, an error that says to set `COSIGN_PASSWORD`.
pub fn password_from_env_or_prompt(confirm: bool) -> Result<Zeroizing<Vec<u8>>, SignError> {
    password_from(std::env::var_os(PASSWORD_ENV), std::io::stdin().is_terminal(), confirm, &mut |prompt| {
        rpassword::prompt_password(prompt).map(|s| Zeroizing::new(s.into_bytes()))
    })
}

type Prompt<'a> = dyn FnMut(&str) -> std::io::Result<Zeroizing<Vec<u8>>> + 'a;

fn password_from(
    env: Option<std::ffi::OsString>,
    terminal: bool,
    confirm: bool,
    prompt: &mut Prompt<'_>,
) -> Result<Zeroizing<Vec<u8>>, SignError> {
    if let Some(value) = env {
        return Ok(Zeroizing::new(value.into_encoded_bytes()));
    }
    if !terminal {
        return Err(SignError::key(
            "password",
            format!("standard input is not a terminal, so no prompt: set {PASSWORD_ENV} to the key password"),
        ));
    }
    let read = |prompt: &mut Prompt<'_>, text: &str| {
        prompt(text).map_err(|e| SignError::key("password", format!("reading the password failed: {e}")))
    };
    let first = read(prompt, "Enter password for private key: ")?;
    if confirm {
        let second = read(prompt, "Enter password for private key again: ")?;
        if first != second {
            return Err(SignError::key("password", "passwords do not match"));
        }
    }
    Ok(first)
}

fn encode_spki(oid: ObjectIdentifier, parameters: Option<AnyRef<'_>>, key: &[u8]) -> Result<Vec<u8>, SignError> {
    let bits = BitStringRef::from_bytes(key).map_err(|e| SignError::Other(format!("encoding a public key: {e}")))?;
    SubjectPublicKeyInfoRef { algorithm: AlgorithmIdentifierRef { oid, parameters }, subject_public_key: bits }
        .to_der()
        .map_err(|e| SignError::Other(format!("encoding a public key: {e}")))
}

/// Bits in the modulus of a PKCS#1 RSAPublicKey, or None when it is not one.
fn rsa_modulus_bits(pkcs1: &[u8]) -> Option<u32> {
    use p256::pkcs8::der::asn1::UintRef;
    use p256::pkcs8::der::{Reader as _, SliceReader};
    let mut reader = SliceReader::new(pkcs1).ok()?;
    let (n, e) = reader
        .sequence(|r| {
            let n = UintRef::decode(r)?;
            let e = UintRef::decode(r)?;
            Ok::<_, p256::pkcs8::der::Error>((n, e))
        })
        .ok()?;
    if !reader.is_finished() || e.as_bytes().is_empty() {
        return None;
    }
    let bytes = n.as_bytes();
    let first = *bytes.first()?;
    Some((bytes.len() as u32 - 1) * 8 + (8 - first.leading_zeros()))
}

/// Why decrypted bytes are not PKCS#8, in words a user can act on.
fn not_pkcs8_reason(der: &[u8]) -> String {
    if p256::SecretKey::from_sec1_der(der).is_ok() {
        return "the key inside is a SEC1 `EC PRIVATE KEY`, not PKCS#8; cosign refuses such a file too, so \
                Bulwark does not accept it. Convert the key to PKCS#8 (`openssl pkcs8 -topk8 -nocrypt`) and import \
                it again"
            .into();
    }
    if ring::rsa::KeyPair::from_der(der).is_ok() {
        return "the key inside is a PKCS#1 `RSA PRIVATE KEY`, not PKCS#8; cosign refuses such a file too, so \
                Bulwark does not accept it. Convert the key to PKCS#8 (`openssl pkcs8 -topk8 -nocrypt`) and import \
                it again"
            .into();
    }
    "the decrypted key is not PKCS#8 DER".into()
}

fn unsupported_curve(curve: Option<ObjectIdentifier>) -> String {
    match curve {
        Some(c) if c == OID_P384 => "ECDSA P-384 keys are not supported (cosign keys are P-256)".into(),
        Some(c) if c == OID_P521 => "ECDSA P-521 keys are not supported (cosign keys are P-256)".into(),
        Some(c) => format!("elliptic curve OID {c} is not supported (cosign keys are P-256)"),
        None => "EC key without a named curve is not supported (cosign keys are P-256)".into(),
    }
}

/// pkcs8 errors can carry nested DER errors; their text has positions, never key bytes.
fn pkcs8_error(e: &p256::pkcs8::Error) -> String {
    e.to_string()
}

/// Labels from a hostile file go into messages: keep them short.
fn short(s: &str) -> String {
    let t: String = s.chars().take(60).collect();
    t.escape_debug().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scripted(answers: &[&str]) -> impl FnMut(&str) -> std::io::Result<Zeroizing<Vec<u8>>> {
        let mut answers: Vec<Vec<u8>> = answers.iter().rev().map(|a| a.as_bytes().to_vec()).collect();
        move |_| Ok(Zeroizing::new(answers.pop().unwrap_or_default()))
    }

    #[test]
    fn password_sources() {
        // The variable wins, even when empty (cosign's empty-password keys).
        let pw = password_from(Some("".into()), true, true, &mut scripted(&["x"])).unwrap();
        assert!(pw.is_empty());
        let pw = password_from(Some("s3cret".into()), false, false, &mut scripted(&[])).unwrap();
        assert_eq!(&pw[..], b"s3cret");
        let e = password_from(None, false, false, &mut scripted(&[])).unwrap_err().to_string();
        assert!(e.contains("set COSIGN_PASSWORD"), "{e}");
        let pw = password_from(None, true, true, &mut scripted(&["a", "a"])).unwrap();
        assert_eq!(&pw[..], b"a");
        let e = password_from(None, true, true, &mut scripted(&["a", "b"])).unwrap_err().to_string();
        assert!(e.contains("passwords do not match"), "{e}");
    }

    #[test]
    fn debug_shows_no_key_material() {
        let key = generate().unwrap();
        let text = format!("{key:?}");
        assert_eq!(text, "PrivateKey { algorithm: EcdsaP256Sha256, .. }");
    }

    #[test]
    fn rsa_modulus_bits_counts_leading_zeros() {
        // SEQUENCE { INTEGER 0x00 0x80 ... (2048 bits), INTEGER 65537 }
        let mut n = vec![0x00, 0x80];
        n.extend(std::iter::repeat_n(0u8, 255));
        let mut der = vec![0x30, 0x82, 0x01, 0x0a, 0x02, 0x82, 0x01, 0x01];
        der.extend(&n);
        der.extend([0x02, 0x03, 0x01, 0x00, 0x01]);
        assert_eq!(rsa_modulus_bits(&der), Some(2048));
        assert_eq!(rsa_modulus_bits(&der[..der.len() - 1]), None);
    }
}
