//! Interop both ways with sigstore's own Rust implementation (the `sigstore` crate, the
//! oracle) and with artifacts cosign itself wrote (../shared). Needs `--features oracles`
//! (.ci/run turns it on), so that the everyday `cargo test` does not build sigstore.
#![cfg(feature = "oracles")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use bulwark_sign::dsse::{self, Envelope, Statement};
use bulwark_sign::keys::{encrypt_private_key, generate, load_private_key, load_public_key, PublicKey};
use bulwark_sign::payload::SimpleSigning;
use bulwark_sign::{KeyAlgorithm, SignError, Signer, Verifier};
use bulwark_testkit::SharedDir;
use sigstore::crypto::signing_key::SigStoreKeyPair;
use sigstore::crypto::{CosignVerificationKey, Signature, SigningScheme};

const COSIGN: SharedDir = SharedDir("data/cosign");
const DIGEST: &str = "sha256:732112270d7e59418a8c080b134b24cabd67d250d0d0147a97ed95ba5c280aa4";

fn read(rel: &str) -> Vec<u8> {
    std::fs::read(format!("{COSIGN}/{rel}")).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// DSSE PAE written out here from the spec, independently of `bulwark_sign::dsse::pae`.
fn spec_pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!("DSSEv1 {} {} {} ", payload_type.len(), payload_type, payload.len()).into_bytes();
    out.extend_from_slice(payload);
    out
}

fn payload() -> Vec<u8> {
    SimpleSigning::new("registry.example/team/app", DIGEST).unwrap().to_json()
}

/// (a) Bulwark generates and encrypts a key; sigstore decrypts it and signs; Bulwark verifies.
#[test]
fn bulwark_key_file_opens_in_sigstore() {
    let key = generate().unwrap();
    let file = encrypt_private_key(&key, b"interop").unwrap();
    let pair = SigStoreKeyPair::from_encrypted_pem(file.as_bytes(), b"interop").unwrap();
    // Same key: sigstore derives the public key we wrote.
    let their_pub = load_public_key(pair.public_key_to_pem().unwrap().as_bytes(), "sigstore pub").unwrap();
    assert_eq!(&their_pub, key.public_key());
    let signer = pair.to_sigstore_signer(&SigningScheme::ECDSA_P256_SHA256_ASN1).unwrap();
    let msg = payload();
    let sig = signer.sign(&msg).unwrap();
    key.public_key().verify(&msg, &sig).unwrap();
    assert!(key.public_key().verify(b"other", &sig).is_err());
    // A wrong password fails in sigstore too.
    assert!(SigStoreKeyPair::from_encrypted_pem(file.as_bytes(), b"nope").is_err());
}

/// (b) sigstore generates and encrypts keys of each kind; Bulwark decrypts, signs a
/// simple-signing payload; sigstore verifies.
#[test]
fn sigstore_key_files_open_in_bulwark() {
    for (scheme, algorithm) in [
        (SigningScheme::ECDSA_P256_SHA256_ASN1, KeyAlgorithm::EcdsaP256Sha256),
        (SigningScheme::ED25519, KeyAlgorithm::Ed25519),
        (SigningScheme::RSA_PKCS1_SHA256(2048), KeyAlgorithm::RsaPkcs1Sha256),
    ] {
        let signer = scheme.create_signer().unwrap();
        let pair = signer.to_sigstore_keypair().unwrap();
        let file = pair.private_key_to_encrypted_pem(b"s3cret").unwrap();
        assert!(file.starts_with("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----"));
        let key = load_private_key(file.as_bytes(), b"s3cret", "sigstore.key").unwrap();
        assert_eq!(key.algorithm(), algorithm);

        let their_pem = pair.public_key_to_pem().unwrap();
        assert_eq!(&load_public_key(their_pem.as_bytes(), "sigstore pub").unwrap(), key.public_key());

        let msg = payload();
        let sig = key.sign(&msg).unwrap();
        let verifier = CosignVerificationKey::try_from_pem(key.public_key_pem().as_bytes()).unwrap();
        verifier.verify_signature(Signature::Raw(&sig), &msg).unwrap();
        assert!(verifier.verify_signature(Signature::Raw(&sig), b"tampered").is_err());
        // And what sigstore signs with that key, Bulwark verifies.
        let their_sig = signer.sign(&msg).unwrap();
        key.public_key().verify(&msg, &their_sig).unwrap();

        let e = load_private_key(file.as_bytes(), b"wrong", "sigstore.key").unwrap_err().to_string();
        assert_eq!(e, "sigstore.key: wrong password or corrupted key");
    }
}

/// sigstore reads every real key file Bulwark reads, and both derive the same public key.
#[test]
fn real_key_files_agree_with_sigstore() {
    for (file, password) in [
        ("sigstore-rs-keys/cosign_generated_encrypted_empty_private.key", ""),
        ("sigstore-rs-keys/ecdsa_encrypted_private.key", "123"),
        ("sigstore-rs-keys/rsa_encrypted_private.key", "123"),
        ("sigstore-rs-keys/ed25519_encrypted_private.key", "123"),
        ("policy-controller-keys/cosign.key", ""),
    ] {
        let ours = load_private_key(&read(file), password.as_bytes(), file).unwrap();
        let theirs = SigStoreKeyPair::from_encrypted_pem(&read(file), password.as_bytes()).unwrap();
        let their_pub = load_public_key(theirs.public_key_to_pem().unwrap().as_bytes(), file).unwrap();
        assert_eq!(&their_pub, ours.public_key(), "{file}");
    }
}

/// (c) A DSSE attestation signed by Bulwark verifies with sigstore over the PAE; one signed
/// by sigstore (over the PAE) verifies with Bulwark.
#[test]
fn dsse_attestations_both_ways() {
    let key = generate().unwrap();
    let statement = dsse::build_statement(
        "cyclonedx",
        br#"{"bomFormat":"CycloneDX","specVersion":"1.6","components":[]}"#,
        "registry.example/team/app",
        DIGEST,
        "2026-01-01T00:00:00Z",
    )
    .unwrap();
    let envelope = dsse::attest(&statement, &key).unwrap();
    let json = envelope.to_json();

    // sigstore's verifier over the PAE of the envelope as a third party decodes it.
    let v: serde_json::Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(v["payloadType"], dsse::INTOTO_PAYLOAD_TYPE);
    assert_eq!(v["signatures"][0]["keyid"], "");
    let body = STANDARD.decode(v["payload"].as_str().unwrap()).unwrap();
    let sig = STANDARD.decode(v["signatures"][0]["sig"].as_str().unwrap()).unwrap();
    let verifier = CosignVerificationKey::try_from_pem(key.public_key_pem().as_bytes()).unwrap();
    verifier.verify_signature(Signature::Raw(&sig), &spec_pae(dsse::INTOTO_PAYLOAD_TYPE, &body)).unwrap();
    // Not over the bare payload: that would not be DSSE.
    assert!(verifier.verify_signature(Signature::Raw(&sig), &body).is_err());
    assert_eq!(dsse::verify_attestation(&json, key.public_key(), "att").unwrap(), statement);

    // The other way: sigstore signs the PAE of a statement; Bulwark verifies the envelope.
    let signer = SigningScheme::ECDSA_P256_SHA256_ASN1.create_signer().unwrap();
    let their_pub =
        load_public_key(signer.to_sigstore_keypair().unwrap().public_key_to_pem().unwrap().as_bytes(), "pub").unwrap();
    let body = statement.to_json();
    let sig = signer.sign(&spec_pae(dsse::INTOTO_PAYLOAD_TYPE, &body)).unwrap();
    let envelope = serde_json::json!({
        "payloadType": dsse::INTOTO_PAYLOAD_TYPE,
        "payload": STANDARD.encode(&body),
        "signatures": [{"sig": STANDARD.encode(&sig)}],
    });
    let bytes = serde_json::to_vec(&envelope).unwrap();
    assert_eq!(dsse::verify_attestation(&bytes, &their_pub, "sigstore att").unwrap(), statement);
    // Wrong key: refused.
    let e = dsse::verify_attestation(&bytes, key.public_key(), "sigstore att").unwrap_err();
    assert!(matches!(e, SignError::BadSignature(_)), "{e}");
}

/// The P-256 key from a Fulcio certificate: the SubjectPublicKeyInfo found by its fixed prefix.
fn cert_p256_key(cert_b64: &str) -> PublicKey {
    let der = STANDARD.decode(cert_b64).unwrap();
    let prefix: &[u8] = &[
        0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48,
        0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
    ];
    let at = der.windows(prefix.len()).position(|w| w == prefix).expect("a P-256 key in the certificate");
    PublicKey::from_spki_der(&der[at..at + 91], "certificate").unwrap()
}

/// A real attestation cosign made (Sigstore bundle, keyless): our statement builder writes
/// cosign's bytes exactly, and our DSSE verifier accepts cosign's signature.
#[test]
fn cosign_attestation_bundle() {
    let bundle: serde_json::Value = serde_json::from_slice(&read("bundles/oci-attestation.sigstore.json")).unwrap();
    let env = &bundle["dsseEnvelope"];
    let cosign_payload = STANDARD.decode(env["payload"].as_str().unwrap()).unwrap();

    let statement = Statement::parse(&cosign_payload, "bundle").unwrap();
    assert_eq!(statement.statement_type, dsse::STATEMENT_V01);
    assert_eq!(statement.predicate_type, dsse::predicate_type_uri("custom").unwrap());
    assert!(statement.has_subject_digest(DIGEST));
    let ours = dsse::build_statement(
        "custom",
        b"{\"foo\": \"bar\"}\n",
        "127.0.0.1:60943/repo",
        DIGEST,
        "2025-02-28T19:18:11Z",
    )
    .unwrap();
    assert_eq!(String::from_utf8(ours.to_json()).unwrap(), String::from_utf8(cosign_payload.clone()).unwrap());

    let key = cert_p256_key(bundle["verificationMaterial"]["certificate"]["rawBytes"].as_str().unwrap());
    let envelope_json = serde_json::to_vec(env).unwrap();
    assert_eq!(dsse::verify_attestation(&envelope_json, &key, "bundle").unwrap(), statement);
    // A one-byte change in the payload breaks it.
    let mut tampered = Envelope::from_json(&envelope_json, "bundle").unwrap();
    tampered.payload[20] ^= 1;
    assert!(tampered.verify(&key).is_err());
}

/// Sigstore conformance cases whose outcome rests on the DSSE signature alone.
#[test]
fn conformance_dsse_signatures() {
    for (case, ok) in [
        ("happy-path-intoto-in-dsse-v3", true),
        ("rekor2-dsse-happy-path", true),
        ("dsse-invalid-sig_fail", false),
        ("rekor2-dsse-invalid-sig_fail", false),
    ] {
        let bundle: serde_json::Value =
            serde_json::from_slice(&read(&format!("sigstore-conformance/bundle-verify/{case}/bundle.sigstore.json")))
                .unwrap();
        let key = cert_p256_key(bundle["verificationMaterial"]["certificate"]["rawBytes"].as_str().unwrap());
        let json = serde_json::to_vec(&bundle["dsseEnvelope"]).unwrap();
        let result = dsse::verify_attestation(&json, &key, case);
        assert_eq!(result.is_ok(), ok, "{case}: {result:?}");
        if let Ok(statement) = result {
            assert_eq!(statement.statement_type, dsse::STATEMENT_V1, "{case}");
        }
    }
}

/// A simple-signing signature made with a real cosign key file verifies with its cosign.pub
/// in both implementations.
#[test]
fn cosign_key_signature_verifies_in_sigstore() {
    let key = load_private_key(&read("policy-controller-keys/cosign.key"), b"", "cosign.key").unwrap();
    let msg = payload();
    let sig = key.sign(&msg).unwrap();
    let verifier = CosignVerificationKey::try_from_pem(&read("policy-controller-keys/cosign.pub")).unwrap();
    verifier.verify_signature(Signature::Raw(&sig), &msg).unwrap();
    // Base64 as it sits in the `dev.cosignproject.cosign/signature` annotation.
    let b64 = STANDARD.encode(&sig);
    verifier.verify_signature(Signature::Base64Encoded(b64.as_bytes()), &msg).unwrap();
}
