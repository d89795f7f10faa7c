//! cosign key files: the real ones in ../shared (written by cosign and by sigstore-rs), hostile
//! envelopes, and keys Bulwark generates.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use bulwark_sign::keys::{
    self, encrypt_private_key, generate, import_private_key, load_private_key, load_public_key, seal_der,
};
use bulwark_sign::payload::SimpleSigning;
use bulwark_sign::{KeyAlgorithm, PrivateKey, SignError, Signer, Verifier};
use bulwark_testkit::SharedDir;
use p256::pkcs8::DecodePrivateKey as _;

const COSIGN: SharedDir = SharedDir("data/cosign");
const DIGEST: &str = "sha256:732112270d7e59418a8c080b134b24cabd67d250d0d0147a97ed95ba5c280aa4";

fn read(rel: &str) -> Vec<u8> {
    std::fs::read(format!("{COSIGN}/{rel}")).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// The encrypted key files in ../shared, their passwords and what each holds.
const ENCRYPTED: &[(&str, &str, KeyAlgorithm)] = &[
    ("sigstore-rs-keys/cosign_generated_encrypted_empty_private.key", "", KeyAlgorithm::EcdsaP256Sha256),
    ("sigstore-rs-keys/ecdsa_encrypted_private.key", "123", KeyAlgorithm::EcdsaP256Sha256),
    ("sigstore-rs-keys/rsa_encrypted_private.key", "123", KeyAlgorithm::RsaPkcs1Sha256),
    ("sigstore-rs-keys/ed25519_encrypted_private.key", "123", KeyAlgorithm::Ed25519),
    ("policy-controller-keys/cosign.key", "", KeyAlgorithm::EcdsaP256Sha256),
];

fn sign_and_verify(key: &PrivateKey, verifier: &dyn Verifier) {
    let payload = SimpleSigning::new("ghcr.io/example/app", DIGEST).unwrap().to_json();
    let sig = key.sign(&payload).unwrap();
    verifier.verify(&payload, &sig).unwrap();
    // The same signature must not cover other bytes.
    let mut other = payload.clone();
    other[10] ^= 1;
    assert!(matches!(verifier.verify(&other, &sig), Err(SignError::BadSignature(_))));
}

#[test]
fn every_real_encrypted_key_decrypts_and_signs() {
    for (file, password, algorithm) in ENCRYPTED {
        let key = load_private_key(&read(file), password.as_bytes(), file).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(key.algorithm(), *algorithm, "{file}");
        // Verify with the public key as a verifier reads it: from its PEM text.
        let public = load_public_key(key.public_key_pem().as_bytes(), "derived").unwrap();
        assert_eq!(&public, key.public_key());
        sign_and_verify(&key, &public);
    }
}

#[test]
fn cosign_key_matches_cosign_pub() {
    let key = load_private_key(&read("policy-controller-keys/cosign.key"), b"", "cosign.key").unwrap();
    let cosign_pub = read("policy-controller-keys/cosign.pub");
    let public = load_public_key(&cosign_pub, "cosign.pub").unwrap();
    assert_eq!(key.public_key(), &public);
    // Our writer produces cosign's file byte for byte.
    assert_eq!(public.to_pem().trim_end(), String::from_utf8(cosign_pub).unwrap().trim_end());
    sign_and_verify(&key, &public);
}

#[test]
fn unencrypted_keys_import_and_re_encrypt() {
    for (plain, encrypted, algorithm) in [
        (
            "sigstore-rs-keys/ecdsa_private.key",
            "sigstore-rs-keys/ecdsa_encrypted_private.key",
            KeyAlgorithm::EcdsaP256Sha256,
        ),
        (
            "sigstore-rs-keys/rsa_private.key",
            "sigstore-rs-keys/rsa_encrypted_private.key",
            KeyAlgorithm::RsaPkcs1Sha256,
        ),
        (
            "sigstore-rs-keys/ed25519_private.key",
            "sigstore-rs-keys/ed25519_encrypted_private.key",
            KeyAlgorithm::Ed25519,
        ),
    ] {
        // Not a cosign key file: a clear refusal...
        let e = load_private_key(&read(plain), b"123", plain).unwrap_err().to_string();
        assert!(e.contains("is an unencrypted key"), "{e}");
        // ...but importable, as `cosign import-key-pair` does, and then a cosign key file.
        let imported = import_private_key(&read(plain), plain).unwrap();
        assert_eq!(imported.algorithm(), algorithm);
        // A different key from the encrypted file of the same kind (sigstore-rs made them apart).
        let decrypted = load_private_key(&read(encrypted), b"123", encrypted).unwrap();
        assert_eq!(decrypted.algorithm(), algorithm);
        let file = encrypt_private_key(&imported, b"pw").unwrap();
        let reloaded = load_private_key(file.as_bytes(), b"pw", "re-encrypted").unwrap();
        assert_eq!(reloaded.public_key(), imported.public_key());
        sign_and_verify(&reloaded, imported.public_key());
    }
}

#[test]
fn wrong_password_is_a_clear_error_without_key_bytes() {
    for (file, _, _) in ENCRYPTED {
        let text = read(file);
        let err = load_private_key(&text, b"wrong", file).unwrap_err();
        assert!(matches!(err, SignError::Key { .. }));
        assert_eq!(err.to_string(), format!("{file}: wrong password or corrupted key"));
    }
}

/// An envelope PEM around JSON we write by hand.
fn envelope_pem(json: &str) -> String {
    let b64 = STANDARD.encode(json);
    format!("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n{b64}\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n")
}

fn real_envelope() -> serde_json::Value {
    let text = String::from_utf8(read("policy-controller-keys/cosign.key")).unwrap();
    let body: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
    serde_json::from_slice(&STANDARD.decode(body).unwrap()).unwrap()
}

fn load_err(pem: &[u8], password: &[u8]) -> String {
    let start = std::time::Instant::now();
    let e = load_private_key(pem, password, "hostile.key").unwrap_err().to_string();
    // Every hostile file is refused before scrypt runs, or after one bounded run.
    assert!(start.elapsed() < std::time::Duration::from_secs(20), "{e}");
    assert!(e.starts_with("hostile.key: "), "{e}");
    e
}

#[test]
fn hostile_envelopes_are_refused_clearly() {
    let base = real_envelope();
    let with = |f: &dyn Fn(&mut serde_json::Value)| {
        let mut v = base.clone();
        f(&mut v);
        envelope_pem(&v.to_string())
    };
    let cases: Vec<(String, &str)> = vec![
        (with(&|v| v["kdf"]["params"]["N"] = (1u64 << 40).into()), "scrypt N = 1099511627776 is above the limit 2^20"),
        (with(&|v| v["kdf"]["params"]["N"] = (1u64 << 21).into()), "above the limit 2^20"),
        (with(&|v| v["kdf"]["params"]["N"] = 1000.into()), "not a power of two"),
        (with(&|v| v["kdf"]["params"]["N"] = (-1).into()), "not cosign's JSON"),
        (with(&|v| v["kdf"]["params"]["r"] = 1_000_000.into()), "scrypt r = 1000000 is out of range"),
        (with(&|v| v["kdf"]["params"]["p"] = 0.into()), "scrypt p = 0 is out of range"),
        (
            with(&|v| {
                v["kdf"]["params"]["N"] = (1u64 << 17).into();
                v["kdf"]["params"]["r"] = 32.into();
            }),
            "would need 512 MiB, above the limit 256 MiB",
        ),
        (with(&|v| v["kdf"]["name"] = "argon2".into()), "unsupported key derivation `argon2`"),
        (with(&|v| v["cipher"]["name"] = "aes-gcm".into()), "unsupported cipher `aes-gcm`"),
        (with(&|v| v["kdf"]["salt"] = "not base64!".into()), "`kdf.salt` is not valid base64"),
        (with(&|v| v["cipher"]["nonce"] = "AAAA".into()), "secretbox nonce is 3 bytes, not 24"),
        (with(&|v| v["ciphertext"] = "%%%".into()), "`ciphertext` is not valid base64"),
        (with(&|v| v["ciphertext"] = STANDARD.encode([0u8; 10]).into()), "ciphertext of 10 bytes is truncated"),
        (
            with(&|v| {
                let ct = STANDARD.decode(v["ciphertext"].as_str().unwrap()).unwrap();
                v["ciphertext"] = STANDARD.encode(&ct[..ct.len() - 5]).into();
            }),
            "wrong password or corrupted key",
        ),
        (with(&|v| drop(v.as_object_mut().unwrap().remove("cipher"))), "missing field `cipher`"),
        (with(&|v| drop(v["kdf"].as_object_mut().unwrap().remove("salt"))), "missing field `salt`"),
        (with(&|v| drop(v["kdf"]["params"].as_object_mut().unwrap().remove("N"))), "missing field `N`"),
        (envelope_pem("[1,2,3]"), "not cosign's JSON"),
        (envelope_pem("\u{0}\u{1}garbage"), "not cosign's JSON"),
        (
            "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n@@@@\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n"
                .into(),
            "not valid base64",
        ),
        ("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\nAAAA\n".into(), "has no `-----END"),
        (
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n".into(),
            "`CERTIFICATE` is not a cosign private key",
        ),
        ("not a key at all".into(), "no -----BEGIN line"),
        (String::new(), "no -----BEGIN line"),
    ];
    for (pem, want) in cases {
        let e = load_err(pem.as_bytes(), b"");
        assert!(e.contains(want), "want {want:?}, got {e:?}");
    }
    // 10 MB: refused on size, before parsing.
    let mut big = envelope_pem(&base.to_string()).into_bytes();
    big.resize(10 << 20, b'A');
    assert!(load_err(&big, b"").contains("larger than any key file"));
    // Not UTF-8.
    assert!(load_err(&[0xff, 0xfe, 0x00], b"").contains("not UTF-8"));
}

#[test]
fn sec1_and_pkcs1_inside_the_envelope_are_refused_with_the_reason() {
    // SEC1 `EC PRIVATE KEY` DER, sealed exactly as cosign seals keys.
    let pkcs8 = STANDARD
        .decode(
            String::from_utf8(read("sigstore-rs-keys/ecdsa_private.key"))
                .unwrap()
                .lines()
                .filter(|l| !l.starts_with("-----"))
                .collect::<String>(),
        )
        .unwrap();
    let sec1 = p256::SecretKey::from_pkcs8_der(&pkcs8).unwrap().to_sec1_der().unwrap();
    let file = seal_der(&sec1, b"pw").unwrap();
    let e = load_private_key(file.as_bytes(), b"pw", "sec1.key").unwrap_err().to_string();
    assert!(e.contains("SEC1 `EC PRIVATE KEY`, not PKCS#8; cosign refuses such a file too"), "{e}");

    // PKCS#1 `RSA PRIVATE KEY` DER.
    let pkcs1 = STANDARD
        .decode(
            String::from_utf8(read("sigstore-rs-keys/rsa_private.key"))
                .unwrap()
                .lines()
                .filter(|l| !l.starts_with("-----"))
                .collect::<String>(),
        )
        .unwrap();
    let file = seal_der(&pkcs1, b"pw").unwrap();
    let e = load_private_key(file.as_bytes(), b"pw", "pkcs1.key").unwrap_err().to_string();
    assert!(e.contains("PKCS#1 `RSA PRIVATE KEY`, not PKCS#8; cosign refuses"), "{e}");

    // Random bytes inside.
    let file = seal_der(b"\x30\x03\x02\x01\x00", b"pw").unwrap();
    let e = load_private_key(file.as_bytes(), b"pw", "junk.key").unwrap_err().to_string();
    assert!(e.contains("not PKCS#8 DER"), "{e}");
}

/// The Ed25519 key as sigstore-rs writes it: PKCS#8 v2 (OneAsymmetricKey with the public key).
fn ed25519_v2_der() -> Vec<u8> {
    let text = String::from_utf8(read("sigstore-rs-keys/ed25519_private.key")).unwrap();
    STANDARD.decode(text.lines().filter(|l| !l.starts_with("-----")).collect::<String>()).unwrap()
}

#[test]
fn ed25519_pkcs8_v1_and_v2() {
    let v2 = ed25519_v2_der();
    assert_eq!(v2[4], 1, "version v2");
    let from_v2 = PrivateKey::from_pkcs8_der(&v2, "v2").unwrap();
    // The same seed as PKCS#8 v1 (no public key): same key.
    let seed = &v2[16..48];
    let mut v1 = hex_bytes("302e020100300506032b657004220420");
    v1.extend_from_slice(seed);
    let from_v1 = PrivateKey::from_pkcs8_der(&v1, "v1").unwrap();
    assert_eq!(from_v1.public_key(), from_v2.public_key());
    sign_and_verify(&from_v1, from_v2.public_key());

    // A v2 whose public key is not the private key's: refused, saying so.
    let mut bad = v2.clone();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    let e = PrivateKey::from_pkcs8_der(&bad, "bad-v2").unwrap_err().to_string();
    assert!(e.contains("is its public key the private key's?"), "{e}");
    let file = seal_der(&bad, b"123").unwrap();
    assert!(load_private_key(file.as_bytes(), b"123", "bad-v2.key").is_err());
}

fn hex_bytes(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

#[test]
fn unsupported_curves_and_algorithms_are_named() {
    // P-384 SubjectPublicKeyInfo (a point is not needed to reach the curve check).
    let mut p384 = hex_bytes("3076301006072a8648ce3d020106052b8104002203620004");
    p384.extend([1u8; 96]);
    let e = keys::PublicKey::from_spki_der(&p384, "p384.pub").unwrap_err().to_string();
    assert!(e.contains("P-384 keys are not supported"), "{e}");
    // X25519 (1.3.101.110) is not a signing key.
    let x25519 = hex_bytes("302a300506032b656e032100").into_iter().chain([7u8; 32]).collect::<Vec<_>>();
    let e = keys::PublicKey::from_spki_der(&x25519, "x.pub").unwrap_err().to_string();
    assert!(e.contains("unsupported public key algorithm (OID 1.3.101.110)"), "{e}");
    let e = load_public_key(&read("policy-controller-keys/cosign.key"), "cosign.key").unwrap_err().to_string();
    assert!(e.contains("is not a `PUBLIC KEY`"), "{e}");
}

#[test]
fn generated_keys_round_trip() {
    let key = generate().unwrap();
    assert_eq!(key.algorithm(), KeyAlgorithm::EcdsaP256Sha256);
    let file = encrypt_private_key(&key, b"correct horse").unwrap();
    assert!(file.starts_with("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n"));
    assert!(file.lines().all(|l| l.len() <= 64));
    // The envelope is cosign's, field for field and in cosign's order.
    let body: String = file.lines().filter(|l| !l.starts_with("-----")).collect();
    let json = String::from_utf8(STANDARD.decode(body).unwrap()).unwrap();
    assert!(json.starts_with(r#"{"kdf":{"name":"scrypt","params":{"N":65536,"r":8,"p":1},"salt":""#), "{json}");
    assert!(json.contains(r#""},"cipher":{"name":"nacl/secretbox","nonce":""#), "{json}");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(STANDARD.decode(v["kdf"]["salt"].as_str().unwrap()).unwrap().len(), 32);
    assert_eq!(STANDARD.decode(v["cipher"]["nonce"].as_str().unwrap()).unwrap().len(), 24);

    let loaded = load_private_key(file.as_bytes(), b"correct horse", "generated").unwrap();
    assert_eq!(loaded.public_key(), key.public_key());
    sign_and_verify(&loaded, key.public_key());
    // Two keys are different keys.
    assert_ne!(generate().unwrap().public_key(), key.public_key());

    // Raw r||s signatures (64 bytes) verify too.
    let payload = b"raw signature";
    let der = key.sign(payload).unwrap();
    let raw = der_to_raw(&der);
    key.public_key().verify(payload, &raw).unwrap();
}

/// r||s from an ECDSA DER signature, by hand.
fn der_to_raw(der: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 2;
    for _ in 0..2 {
        let len = der[i + 1] as usize;
        let int = &der[i + 2..i + 2 + len];
        let int = if int.len() > 32 { &int[int.len() - 32..] } else { int };
        out.extend(std::iter::repeat_n(0u8, 32 - int.len()));
        out.extend_from_slice(int);
        i += 2 + len;
    }
    out
}

#[test]
fn write_key_pair_files() {
    let dir = tempfile::tempdir().unwrap();
    let key = generate().unwrap();
    let (key_path, pub_path) = keys::write_key_pair(dir.path(), &key, b"pw").unwrap();
    assert_eq!(key_path.file_name().unwrap(), "cosign.key");
    assert_eq!(pub_path.file_name().unwrap(), "cosign.pub");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(std::fs::metadata(&key_path).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let loaded = load_private_key(&std::fs::read(&key_path).unwrap(), b"pw", "cosign.key").unwrap();
    let public = load_public_key(&std::fs::read(&pub_path).unwrap(), "cosign.pub").unwrap();
    assert_eq!(loaded.public_key(), &public);
    // Never overwrites.
    let e = keys::write_key_pair(dir.path(), &generate().unwrap(), b"pw").unwrap_err().to_string();
    assert!(e.contains("already exists"), "{e}");
    assert_eq!(
        load_private_key(&std::fs::read(&key_path).unwrap(), b"pw", "cosign.key").unwrap().public_key(),
        &public
    );
}

/// Sigstore conformance: a bundle signed with a managed key over `a.txt` verifies with its
/// `key.pub`, and the wrong-key case does not.
#[test]
fn conformance_managed_key_signatures() {
    let base = "sigstore-conformance/bundle-verify";
    let artifact = read(&format!("{base}/a.txt"));
    for (case, ok) in [("managed-key-happy-path", true), ("managed-key-wrong-key_fail", false)] {
        let bundle: serde_json::Value =
            serde_json::from_slice(&read(&format!("{base}/{case}/bundle.sigstore.json"))).unwrap();
        let sig = STANDARD.decode(bundle["messageSignature"]["signature"].as_str().unwrap()).unwrap();
        // The wrong-key case's key.pub is itself corrupt: refusing it at load is failing too.
        let verified =
            load_public_key(&read(&format!("{base}/{case}/key.pub")), case).and_then(|key| key.verify(&artifact, &sig));
        assert_eq!(verified.is_ok(), ok, "{case}: {verified:?}");
    }
}
