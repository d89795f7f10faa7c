//! Keyless verification offline with a trust root given as files. The test is its own
//! Sigstore: a CA (Fulcio) issues a short-lived leaf with an email or URI SAN and the OIDC
//! issuer extension, a P-256 key (Rekor) signs the signed entry timestamp, and the leaf
//! signs an artifact. Then each tamper case must fail naming what failed.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

use base64::Engine as _;
use bulwark_sign::bundle::{verify_bundle, Artifact, Match, Policy, TrustRoot};
use bulwark_sign::keyless::{legacy_to_bundle, verify_legacy, LegacySignature};
use bulwark_testkit::sigstore::rcgen::SanType;
use bulwark_testkit::sigstore::time::{Duration, OffsetDateTime};
use bulwark_testkit::sigstore::{sha256, short_lived, Ca, IssuerExt, Leaf, Rekor as Log, SigningKey, EMAIL, ISSUER};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;
const ARTIFACT: &[u8] = b"the artifact\n";

// The test Sigstore is bulwark-testkit's: `Ca` stands for Fulcio, `Log` for Rekor.

fn leaf(ca: &Ca, san: SanType, issuer: &str, ext: IssuerExt, valid: (OffsetDateTime, OffsetDateTime)) -> Leaf {
    ca.leaf(san, issuer, ext, valid)
}

fn email() -> SanType {
    bulwark_testkit::sigstore::email(EMAIL)
}

/// What cosign's older layout keeps in annotations: signature, certificate, Rekor bundle.
struct Signed {
    signature_b64: String,
    verifier_pem: String,
    rekor_bundle: serde_json::Value,
    rekor_json: String,
}

impl Signed {
    fn legacy(&self) -> LegacySignature<'_> {
        LegacySignature {
            signature_b64: &self.signature_b64,
            certificate_pem: Some(self.verifier_pem.as_bytes()),
            chain_pem: None,
            rekor_bundle_json: self.rekor_json.as_bytes(),
        }
    }

    /// The same signature with one field of the Rekor payload changed (the SET unchanged).
    fn with_payload(&self, field: &str, value: serde_json::Value) -> Signed {
        let mut rekor_bundle = self.rekor_bundle.clone();
        rekor_bundle["Payload"][field] = value;
        Signed {
            signature_b64: self.signature_b64.clone(),
            verifier_pem: self.verifier_pem.clone(),
            rekor_json: rekor_bundle.to_string(),
            rekor_bundle,
        }
    }
}

/// Sign `artifact` with `signer`, log it as a hashedrekord entry whose verifier is
/// `verifier_pem` (a certificate or a public key), and have `log` sign the SET.
fn sign_and_log(artifact: &[u8], signer: &SigningKey, verifier_pem: &str, log: &Log, set_key: &SigningKey) -> Signed {
    let signature_b64 = B64.encode(signer.sign(artifact).unwrap().as_bytes());
    let rekor_bundle = log.bundle(artifact, &signature_b64, verifier_pem, 4242, set_key);
    Signed { signature_b64, verifier_pem: verifier_pem.to_string(), rekor_json: rekor_bundle.to_string(), rekor_bundle }
}

struct World {
    ca: Ca,
    log: Log,
    root: TrustRoot,
}

fn world() -> World {
    let ca = Ca::new("test fulcio");
    let log = Log::new();
    let root = TrustRoot::from_files(ca.pem().as_bytes(), log.pem().as_bytes(), None).unwrap();
    World { ca, log, root }
}

fn keyless(root: &TrustRoot, identity: &str, issuer: &str) -> Policy {
    Policy::keyless(root.clone(), Match::exact(identity), Match::exact(issuer))
}

fn signed_by_leaf(w: &World, leaf: &Leaf) -> Signed {
    sign_and_log(ARTIFACT, &leaf.key, &leaf.pem, &w.log, &w.log.key)
}

fn expect_err(result: Result<bulwark_sign::bundle::VerifiedBundle, bulwark_sign::SignError>, needle: &str) {
    let e = result.expect_err("verification must fail").to_string();
    assert!(e.contains(needle), "error {e:?} does not mention {needle:?}");
}

#[test]
fn legacy_layout_verifies_and_reports_the_signer() {
    let w = world();
    let leaf = leaf(&w.ca, email(), ISSUER, IssuerExt::Both, short_lived());
    let signed = signed_by_leaf(&w, &leaf);
    let v = verify_legacy(Artifact::Bytes(ARTIFACT), &signed.legacy(), &keyless(&w.root, EMAIL, ISSUER)).unwrap();
    assert_eq!(v.identity.as_deref(), Some(EMAIL));
    assert_eq!(v.issuer.as_deref(), Some(ISSUER));
    assert_eq!(v.integrated_time, signed.rekor_bundle["Payload"]["integratedTime"].as_i64());
    assert_eq!(v.log_indexes, vec![4242]);

    // The artifact by digest verifies too, and the same material as a v0.1 bundle.
    let digest = Artifact::sha256_hex(&sha256(ARTIFACT).to_hex()).unwrap();
    verify_legacy(digest, &signed.legacy(), &keyless(&w.root, EMAIL, ISSUER)).unwrap();
    let bundle = legacy_to_bundle(&signed.legacy()).unwrap();
    verify_bundle(bundle.as_bytes(), Artifact::Bytes(ARTIFACT), &keyless(&w.root, EMAIL, ISSUER)).unwrap();
}

#[test]
fn uri_identity_and_either_issuer_extension() {
    let w = world();
    let uri = "https://github.com/org/repo/.github/workflows/release.yml@refs/tags/v1.0.0";
    for ext in [IssuerExt::V1, IssuerExt::V2] {
        let leaf = leaf(&w.ca, SanType::URI(uri.try_into().unwrap()), ISSUER, ext, short_lived());
        let signed = signed_by_leaf(&w, &leaf);
        verify_legacy(Artifact::Bytes(ARTIFACT), &signed.legacy(), &keyless(&w.root, uri, ISSUER)).unwrap();
        let regex = Policy::keyless(
            w.root.clone(),
            Match::regex(r"^https://github\.com/org/repo/").unwrap(),
            Match::regex(r"^https://accounts\.example\.com$").unwrap(),
        );
        verify_legacy(Artifact::Bytes(ARTIFACT), &signed.legacy(), &regex).unwrap();
        let other_repo = Policy::keyless(
            w.root.clone(),
            Match::regex(r"^https://github\.com/other/").unwrap(),
            Match::exact(ISSUER),
        );
        expect_err(verify_legacy(Artifact::Bytes(ARTIFACT), &signed.legacy(), &other_repo), "identity mismatch");
    }
}

#[test]
fn wrong_identity_fails() {
    let w = world();
    let leaf = leaf(&w.ca, email(), ISSUER, IssuerExt::Both, short_lived());
    let signed = signed_by_leaf(&w, &leaf);
    let policy = keyless(&w.root, "someone-else@example.com", ISSUER);
    expect_err(verify_legacy(Artifact::Bytes(ARTIFACT), &signed.legacy(), &policy), "identity mismatch");
}

#[test]
fn wrong_issuer_fails() {
    let w = world();
    let leaf = leaf(&w.ca, email(), ISSUER, IssuerExt::V1, short_lived());
    let signed = signed_by_leaf(&w, &leaf);
    let policy = keyless(&w.root, EMAIL, "https://token.actions.githubusercontent.com");
    expect_err(verify_legacy(Artifact::Bytes(ARTIFACT), &signed.legacy(), &policy), "issuer mismatch");
}

#[test]
fn certificate_expired_at_integrated_time_fails() {
    let w = world();
    let now = OffsetDateTime::now_utc();
    // Valid for ten minutes that ended twenty minutes before the entry was logged.
    let leaf =
        leaf(&w.ca, email(), ISSUER, IssuerExt::Both, (now - Duration::minutes(30), now - Duration::minutes(20)));
    let signed = signed_by_leaf(&w, &leaf);
    expect_err(
        verify_legacy(Artifact::Bytes(ARTIFACT), &signed.legacy(), &keyless(&w.root, EMAIL, ISSUER)),
        "had expired at the signing time",
    );
}

#[test]
fn set_signed_by_another_key_fails() {
    let w = world();
    let leaf = leaf(&w.ca, email(), ISSUER, IssuerExt::Both, short_lived());
    let impostor = SigningKey::generate_ecdsa_p256().unwrap();
    let signed = sign_and_log(ARTIFACT, &leaf.key, &leaf.pem, &w.log, &impostor);
    expect_err(
        verify_legacy(Artifact::Bytes(ARTIFACT), &signed.legacy(), &keyless(&w.root, EMAIL, ISSUER)),
        "signed entry timestamp (SET) does not verify",
    );
}

#[test]
fn edited_payload_fails() {
    let w = world();
    let leaf = leaf(&w.ca, email(), ISSUER, IssuerExt::Both, short_lived());
    let signed = signed_by_leaf(&w, &leaf);
    let edits: [(&str, serde_json::Value); 3] = [
        ("integratedTime", (signed.rekor_bundle["Payload"]["integratedTime"].as_i64().unwrap() - 1).into()),
        ("logIndex", 4243.into()),
        ("body", {
            // Same entry, another artifact hash: a valid entry that was never logged.
            let body = B64.decode(signed.rekor_bundle["Payload"]["body"].as_str().unwrap()).unwrap();
            let body = String::from_utf8(body).unwrap().replace(&sha256(ARTIFACT).to_hex(), &"0".repeat(64));
            B64.encode(body).into()
        }),
    ];
    for (field, value) in edits {
        let edited = signed.with_payload(field, value);
        let result = verify_legacy(Artifact::Bytes(ARTIFACT), &edited.legacy(), &keyless(&w.root, EMAIL, ISSUER));
        let e = result.expect_err(field).to_string();
        assert!(e.contains("signed entry timestamp (SET) does not verify"), "{field}: {e}");
    }
}

#[test]
fn other_artifact_or_other_ca_fails() {
    let w = world();
    let leaf_ok = leaf(&w.ca, email(), ISSUER, IssuerExt::Both, short_lived());
    let signed = signed_by_leaf(&w, &leaf_ok);
    let policy = keyless(&w.root, EMAIL, ISSUER);
    expect_err(verify_legacy(Artifact::Bytes(b"another artifact"), &signed.legacy(), &policy), "signature");

    let stranger = Ca::new("another CA");
    let foreign = leaf(&stranger, email(), ISSUER, IssuerExt::Both, short_lived());
    let signed = signed_by_leaf(&w, &foreign);
    expect_err(verify_legacy(Artifact::Bytes(ARTIFACT), &signed.legacy(), &policy), "does not chain to a trusted CA");
}

#[test]
fn chain_annotation_with_root_is_accepted_but_not_trusted() {
    let w = world();
    let leaf = leaf(&w.ca, email(), ISSUER, IssuerExt::Both, short_lived());
    let signed = signed_by_leaf(&w, &leaf);
    let ca_pem = w.ca.pem();
    let mut legacy = signed.legacy();
    legacy.chain_pem = Some(ca_pem.as_bytes());
    verify_legacy(Artifact::Bytes(ARTIFACT), &legacy, &keyless(&w.root, EMAIL, ISSUER)).unwrap();

    // A root in the chain annotation lends no trust: the trust root decides.
    let stranger = Ca::new("another CA");
    let foreign = leaf_for(&stranger);
    let signed = signed_by_leaf(&w, &foreign);
    let stranger_pem = stranger.pem();
    let mut legacy = signed.legacy();
    legacy.chain_pem = Some(stranger_pem.as_bytes());
    expect_err(
        verify_legacy(Artifact::Bytes(ARTIFACT), &legacy, &keyless(&w.root, EMAIL, ISSUER)),
        "does not chain to a trusted CA",
    );
}

fn leaf_for(ca: &Ca) -> Leaf {
    leaf(ca, email(), ISSUER, IssuerExt::Both, short_lived())
}

#[test]
fn ct_log_key_makes_the_sct_required() {
    let w = world();
    let ct = Log::new();
    let root = TrustRoot::from_files(w.ca.pem().as_bytes(), w.log.pem().as_bytes(), Some(ct.pem().as_bytes())).unwrap();
    let leaf = leaf_for(&w.ca);
    let signed = signed_by_leaf(&w, &leaf);
    expect_err(verify_legacy(Artifact::Bytes(ARTIFACT), &signed.legacy(), &keyless(&root, EMAIL, ISSUER)), "SCT");
}

#[test]
fn key_signed_legacy_entry() {
    let w = world();
    let key = SigningKey::generate_ecdsa_p256().unwrap();
    let key_pem = key.public_key_der().unwrap().to_pem();
    let signed = sign_and_log(ARTIFACT, &key, &key_pem, &w.log, &w.log.key);
    let mut legacy = signed.legacy();
    legacy.certificate_pem = None;
    let policy = Policy::public_key(&key_pem, w.root.clone()).unwrap();
    verify_legacy(Artifact::Bytes(ARTIFACT), &legacy, &policy).unwrap();

    let other = SigningKey::generate_ecdsa_p256().unwrap().public_key_der().unwrap().to_pem();
    let policy = Policy::public_key(&other, w.root.clone()).unwrap();
    assert!(verify_legacy(Artifact::Bytes(ARTIFACT), &legacy, &policy).is_err());
}

#[test]
fn bad_trust_files_and_rekor_bundles_are_errors() {
    let w = world();
    let e = TrustRoot::from_files(b"", w.log.pem().as_bytes(), None).unwrap_err().to_string();
    assert!(e.contains("Fulcio CA chain"), "{e}");
    let e = TrustRoot::from_files(w.ca.pem().as_bytes(), w.ca.pem().as_bytes(), None).unwrap_err().to_string();
    assert!(e.contains("Rekor public key"), "{e}");

    let leaf = leaf_for(&w.ca);
    let signed = signed_by_leaf(&w, &leaf);
    for junk in [
        &b"{}"[..],
        b"not json",
        br#"{"SignedEntryTimestamp":"AA==","Payload":{"body":"!!","integratedTime":1,"logIndex":1,"logID":"00"}}"#,
    ] {
        let mut legacy = signed.legacy();
        legacy.rekor_bundle_json = junk;
        let e = verify_legacy(Artifact::Bytes(ARTIFACT), &legacy, &keyless(&w.root, EMAIL, ISSUER)).unwrap_err();
        assert!(e.to_string().contains("cosign Rekor bundle"), "{e}");
    }
}
