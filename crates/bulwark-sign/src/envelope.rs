//! cosign's encrypted private key envelope: the PEM body of `ENCRYPTED SIGSTORE PRIVATE KEY`
//! is JSON `{"kdf":{"name":"scrypt","params":{"N","r","p"},"salt"},"cipher":{"name":
//! "nacl/secretbox","nonce"},"ciphertext"}`; the secretbox key is `scrypt(password, salt, N,
//! r, p, 32)`. A key file is untrusted input: its scrypt parameters are bounded before any
//! work, so a file cannot make us allocate gigabytes or spin for hours.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use crypto_secretbox::aead::{Aead, KeyInit};
use crypto_secretbox::XSalsa20Poly1305;
use serde::Deserialize;
use zeroize::Zeroizing;

use crate::SignError;

/// What cosign writes today (go-securesystemslib's "standard" parameters).
pub(crate) const WRITE_LOG_N: u8 = 16;
pub(crate) const WRITE_R: u32 = 8;
pub(crate) const WRITE_P: u32 = 1;
const SALT_LEN: usize = 32;
const NONCE_LEN: usize = 24;
const KEY_LEN: usize = 32;
/// Poly1305 tag NaCl puts in front of the ciphertext.
const TAG_LEN: usize = 16;

/// Bounds for files we read. cosign writes N=2^16 (older files and sigstore-rs 2^15), r=8,
/// p=1: 64 MiB and well under a second. These allow 16x that work and 4x the memory.
pub const MAX_LOG_N: u32 = 20;
pub const MAX_R: u64 = 32;
pub const MAX_P: u64 = 16;
/// scrypt allocates 128·N·r bytes.
pub const MAX_MEMORY: u64 = 256 << 20;
/// scrypt work grows with N·r·p.
pub const MAX_WORK: u64 = 1 << 24;

#[derive(Deserialize)]
struct Envelope {
    kdf: Kdf,
    cipher: Cipher,
    ciphertext: String,
}

#[derive(Deserialize)]
struct Kdf {
    name: String,
    params: ScryptParams,
    salt: String,
}

#[derive(Deserialize)]
struct ScryptParams {
    #[serde(rename = "N")]
    n: u64,
    r: u64,
    p: u64,
}

#[derive(Deserialize)]
struct Cipher {
    name: String,
    nonce: String,
}

/// Seals `plaintext` (a PKCS#8 DER key) under `password`; returns the envelope JSON exactly
/// as cosign marshals it (Go struct field order, no whitespace).
pub(crate) fn seal(plaintext: &[u8], password: &[u8]) -> Result<String, SignError> {
    let mut salt = [0u8; SALT_LEN];
    let mut nonce = [0u8; NONCE_LEN];
    getrandom::fill(&mut salt).map_err(|e| SignError::Other(format!("system random generator failed: {e}")))?;
    getrandom::fill(&mut nonce).map_err(|e| SignError::Other(format!("system random generator failed: {e}")))?;
    let key = derive_key(password, &salt, WRITE_LOG_N, WRITE_R, WRITE_P)?;
    let cipher = XSalsa20Poly1305::new((&*key).into());
    let ciphertext = cipher
        .encrypt((&nonce).into(), plaintext)
        .map_err(|_| SignError::Other("secretbox encryption failed".into()))?;
    Ok(format!(
        r#"{{"kdf":{{"name":"scrypt","params":{{"N":{},"r":{},"p":{}}},"salt":"{}"}},"cipher":{{"name":"nacl/secretbox","nonce":"{}"}},"ciphertext":"{}"}}"#,
        1u64 << WRITE_LOG_N,
        WRITE_R,
        WRITE_P,
        STANDARD.encode(salt),
        STANDARD.encode(nonce),
        STANDARD.encode(ciphertext)
    ))
}

/// Opens an envelope. Errors name the problem and never include key bytes; a failed
/// authentication is "wrong password or corrupted key", since the two cannot be told apart.
pub(crate) fn open(json: &[u8], password: &[u8], what: &str) -> Result<Zeroizing<Vec<u8>>, SignError> {
    let env: Envelope = serde_json::from_slice(json)
        .map_err(|e| SignError::key(what, format!("encrypted key envelope is not cosign's JSON: {e}")))?;
    if env.kdf.name != "scrypt" {
        return Err(SignError::key(
            what,
            format!("unsupported key derivation `{}` (cosign keys use `scrypt`)", truncate(&env.kdf.name)),
        ));
    }
    if env.cipher.name != "nacl/secretbox" {
        return Err(SignError::key(
            what,
            format!("unsupported cipher `{}` (cosign keys use `nacl/secretbox`)", truncate(&env.cipher.name)),
        ));
    }
    let log_n = check_params(&env.kdf.params).map_err(|msg| SignError::key(what, msg))?;
    let salt = b64(&env.kdf.salt, "kdf.salt", what)?;
    if salt.is_empty() || salt.len() > 1024 {
        return Err(SignError::key(what, format!("scrypt salt of {} bytes is out of range 1..=1024", salt.len())));
    }
    let nonce = b64(&env.cipher.nonce, "cipher.nonce", what)?;
    let nonce: [u8; NONCE_LEN] = nonce
        .as_slice()
        .try_into()
        .map_err(|_| SignError::key(what, format!("secretbox nonce is {} bytes, not {NONCE_LEN}", nonce.len())))?;
    let ciphertext = b64(&env.ciphertext, "ciphertext", what)?;
    if ciphertext.len() <= TAG_LEN {
        return Err(SignError::key(what, format!("ciphertext of {} bytes is truncated", ciphertext.len())));
    }
    // Parameters were bounded above, so these casts and the work are within limits.
    let key = derive_key(password, &salt, log_n, env.kdf.params.r as u32, env.kdf.params.p as u32)
        .map_err(|e| SignError::key(what, e.to_string()))?;
    let cipher = XSalsa20Poly1305::new((&*key).into());
    cipher
        .decrypt((&nonce).into(), ciphertext.as_slice())
        .map(Zeroizing::new)
        .map_err(|_| SignError::key(what, "wrong password or corrupted key"))
}

fn check_params(p: &ScryptParams) -> Result<u8, String> {
    if p.n < 2 || !p.n.is_power_of_two() {
        return Err(format!("scrypt N = {} is not a power of two >= 2", p.n));
    }
    let log_n = p.n.trailing_zeros();
    if log_n > MAX_LOG_N {
        return Err(format!("scrypt N = {} is above the limit 2^{MAX_LOG_N}", p.n));
    }
    if p.r == 0 || p.r > MAX_R {
        return Err(format!("scrypt r = {} is out of range 1..={MAX_R}", p.r));
    }
    if p.p == 0 || p.p > MAX_P {
        return Err(format!("scrypt p = {} is out of range 1..={MAX_P}", p.p));
    }
    // Bounded operands: N <= 2^20, r <= 32, p <= 16, so no overflow.
    if 128 * p.n * p.r > MAX_MEMORY {
        return Err(format!(
            "scrypt N = {}, r = {} would need {} MiB, above the limit {} MiB",
            p.n,
            p.r,
            (128 * p.n * p.r) >> 20,
            MAX_MEMORY >> 20
        ));
    }
    if p.n * p.r * p.p > MAX_WORK {
        return Err(format!("scrypt N·r·p = {} is above the limit 2^24", p.n * p.r * p.p));
    }
    Ok(log_n as u8)
}

fn derive_key(password: &[u8], salt: &[u8], log_n: u8, r: u32, p: u32) -> Result<Zeroizing<[u8; KEY_LEN]>, SignError> {
    let params =
        scrypt::Params::new(log_n, r, p).map_err(|e| SignError::Other(format!("invalid scrypt parameters: {e}")))?;
    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    scrypt::scrypt(password, salt, &params, &mut key[..])
        .map_err(|e| SignError::Other(format!("scrypt failed: {e}")))?;
    Ok(key)
}

fn b64(s: &str, field: &str, what: &str) -> Result<Vec<u8>, SignError> {
    STANDARD.decode(s).map_err(|_| SignError::key(what, format!("`{field}` is not valid base64")))
}

/// Names from a hostile file go into messages: keep them short.
fn truncate(s: &str) -> String {
    let mut t: String = s.chars().take(40).collect();
    if t.len() < s.len() {
        t.push('…');
    }
    t.escape_debug().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(n: u64, r: u64, p: u64) -> ScryptParams {
        ScryptParams { n, r, p }
    }

    #[test]
    fn parameter_bounds() {
        assert_eq!(check_params(&params(65536, 8, 1)), Ok(16));
        assert_eq!(check_params(&params(32768, 8, 1)), Ok(15));
        assert_eq!(check_params(&params(1 << 20, 2, 1)), Ok(20));
        assert!(check_params(&params(1 << 21, 1, 1)).unwrap_err().contains("above the limit 2^20"));
        assert!(check_params(&params(1 << 40, 8, 1)).unwrap_err().contains("above the limit"));
        assert!(check_params(&params(65535, 8, 1)).unwrap_err().contains("power of two"));
        assert!(check_params(&params(1 << 20, 8, 1)).unwrap_err().contains("MiB"));
        assert!(check_params(&params(65536, 0, 1)).unwrap_err().contains("r = 0"));
        assert!(check_params(&params(65536, 8, 17)).unwrap_err().contains("p = 17"));
        assert!(check_params(&params(1 << 18, 8, 16)).unwrap_err().contains("N·r·p"));
    }

    #[test]
    fn seal_open_round_trip_and_wrong_password() {
        let sealed = seal(b"secret key bytes", b"pw").unwrap();
        assert!(sealed.starts_with(r#"{"kdf":{"name":"scrypt","params":{"N":65536,"r":8,"p":1},"salt":""#));
        assert_eq!(&open(sealed.as_bytes(), b"pw", "k").unwrap()[..], b"secret key bytes");
        let e = open(sealed.as_bytes(), b"pW", "k").err().unwrap().to_string();
        assert_eq!(e, "k: wrong password or corrupted key");
    }
}
