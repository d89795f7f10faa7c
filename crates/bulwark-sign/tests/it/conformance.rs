//! The Sigstore client conformance suite for bundle verification
//! (sigstore-conformance `test/assets/bundle-verify/`), run offline: a case whose name
//! ends in `_fail` must fail, every other must verify. Cases are run the way the suite's
//! README describes: `key.pub` means verify with that key; otherwise keyless with the
//! case's `identity` and `issuer` (or the suite's defaults); `trusted_root.json` replaces
//! the public-good root; `artifact` replaces the shared `a.txt`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

use std::fs;
use std::path::{Path, PathBuf};

use bulwark_sign::bundle::{inspect_bundle, verify_bundle, Artifact, Match, Policy, SignedContent, TrustRoot};

/// The suite's cases, in ../shared (or `$BULWARK_SHARED`).
fn suite() -> PathBuf {
    bulwark_testkit::shared().join("data/cosign/sigstore-conformance/bundle-verify")
}

fn oci_attestation() -> PathBuf {
    bulwark_testkit::shared().join("data/cosign/bundles/oci-attestation.sigstore.json")
}

const DEFAULT_IDENTITY: &str = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
const DEFAULT_ISSUER: &str = "https://token.actions.githubusercontent.com";

/// Cases this implementation cannot handle, with the reason. Kept empty: every case passes.
const UNSUPPORTED: &[(&str, &str)] = &[];

fn read_trimmed(path: &Path) -> Option<String> {
    fs::read_to_string(path).ok().map(|s| s.trim().to_string())
}

fn run_case(dir: &Path) -> Result<(), String> {
    let bundle = fs::read(dir.join("bundle.sigstore.json")).map_err(|e| format!("read bundle: {e}"))?;
    let artifact_path = if dir.join("artifact").exists() { dir.join("artifact") } else { suite().join("a.txt") };
    let artifact = fs::read(&artifact_path).map_err(|e| format!("read artifact: {e}"))?;
    let trust_root = match fs::read(dir.join("trusted_root.json")) {
        Ok(json) => TrustRoot::from_trusted_root_json(&json),
        Err(_) => TrustRoot::public_good(),
    }
    .map_err(|e| e.to_string())?;
    let policy = match fs::read_to_string(dir.join("key.pub")) {
        Ok(pem) => Policy::public_key(&pem, trust_root).map_err(|e| e.to_string())?,
        Err(_) => {
            let identity = read_trimmed(&dir.join("identity")).unwrap_or_else(|| DEFAULT_IDENTITY.into());
            let issuer = read_trimmed(&dir.join("issuer")).unwrap_or_else(|| DEFAULT_ISSUER.into());
            Policy::keyless(trust_root, Match::exact(identity), Match::exact(issuer))
        }
    };
    verify_bundle(&bundle, Artifact::Bytes(&artifact), &policy).map(|_| ()).map_err(|e| e.to_string())
}

#[test]
fn sigstore_conformance_bundle_verify() {
    let mut cases: Vec<PathBuf> = fs::read_dir(suite())
        .expect("conformance suite present under ../shared")
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    assert_eq!(cases.len(), 70, "the suite has 70 cases");

    let mut passed = 0;
    let mut wrong = Vec::new();
    for dir in &cases {
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        assert!(dir.join("README").exists() || name == "invalid-ct-key_fail", "{name}: no README");
        if let Some((_, why)) = UNSUPPORTED.iter().find(|(n, _)| *n == name) {
            wrong.push(format!("{name}: unsupported: {why}"));
            continue;
        }
        let must_fail = name.ends_with("_fail");
        match (run_case(dir), must_fail) {
            (Ok(()), false) => {
                println!("ok   {name}: verified");
                passed += 1;
            }
            (Err(e), true) => {
                println!("ok   {name}: rejected: {e}");
                passed += 1;
            }
            (Ok(()), true) => wrong.push(format!("{name}: verified but must fail")),
            (Err(e), false) => wrong.push(format!("{name}: must verify but failed: {e}")),
        }
    }
    println!("conformance: {passed}/{}", cases.len());
    assert!(wrong.is_empty(), "conformance: {passed}/{} — wrong:\n{}", cases.len(), wrong.join("\n"));
}

/// The rejections must be for the reason the case is about, not an unrelated one (a
/// wrong trust root or unreadable file would also "fail").
#[test]
fn failures_name_the_failed_check() {
    let expect = [
        ("bundle-malformed-json_fail", "not a valid bundle"),
        ("bundle-unknown-version_fail", "not a valid bundle"),
        ("checkpoint-wrong-roothash_fail", "checkpoint"),
        ("inclusion-proof-corrupted-hash_fail", "inclusion proof"),
        ("set-invalid-signature_fail", "signed entry timestamp (SET)"),
        ("signature-mismatch_fail", "signature"),
        ("message-digest-mismatch_fail", "digest mismatch"),
        ("intoto-expired-certificate_fail", "CA"),
        ("managed-key-wrong-key_fail", "public key"),
        // Its integrated time is past the certificate's ten minutes (and was in the future
        // when the case was made).
        ("integrated-time-in-future_fail", "had expired at the signing time"),
        ("intoto-set-outside-signing-cert-validity_fail", "had expired at the signing time"),
        ("rekor2-timestamp-with-incorrect-time_fail", "had expired at the signing time"),
        ("bundle-from-wrong-instance_fail", "not in the trust root"),
        ("bundle-empty-certificate-chain_fail", "empty certificate chain"),
        ("bundle-with-root-cert_fail", "self-signed root certificate"),
        ("dsse-invalid-sig_fail", "DSSE signature"),
        ("dsse-mismatch-envelope_fail", "log entry does not match"),
        ("wrong-hashedrekord-cert-and-sig_fail", "log entry does not match"),
        ("invalid-ct-key_fail", "SCT"),
        ("rekor2-no-timestamp_fail", "no verified signing time"),
        ("rekor2-timestamp-untrusted-tsa-with-embedded-cert_fail", "RFC 3161 timestamp"),
        ("rekor2-timestamp-outside-trust-root-tsa-validity_fail", "outside the validity period"),
        ("trust-root-tlog-missing-validity-start_fail", "missing field `start`"),
        ("managed-key-no-key_fail", "no signing certificate"),
    ];
    for (case, needle) in expect {
        let err = run_case(&suite().join(case)).expect_err(case);
        assert!(err.contains(needle), "{case}: error {err:?} does not mention {needle:?}");
    }
}

#[test]
fn wrong_identity_or_issuer_is_named() {
    let dir = suite().join("happy-path-v0.3");
    let bundle = fs::read(dir.join("bundle.sigstore.json")).unwrap();
    let artifact = fs::read(suite().join("a.txt")).unwrap();
    let root = TrustRoot::public_good().unwrap();

    let ok = Policy::keyless(root.clone(), Match::exact(DEFAULT_IDENTITY), Match::exact(DEFAULT_ISSUER));
    let v = verify_bundle(&bundle, Artifact::Bytes(&artifact), &ok).unwrap();
    assert_eq!(v.identity.as_deref(), Some(DEFAULT_IDENTITY));
    assert_eq!(v.issuer.as_deref(), Some(DEFAULT_ISSUER));
    assert!(v.integrated_time.is_some() && !v.verified_times.is_empty());

    assert!(Artifact::sha256_hex("sha256:").is_err(), "an empty digest is refused");
    assert!(Artifact::sha256_hex("abcd").is_err(), "a short digest is refused");

    let regex = Policy::keyless(
        root.clone(),
        Match::regex(r"^https://github\.com/sigstore-conformance/").unwrap(),
        Match::regex(r"^https://token\.actions\.githubusercontent\.com$").unwrap(),
    );
    verify_bundle(&bundle, Artifact::Bytes(&artifact), &regex).unwrap();

    let wrong_id = Policy::keyless(root.clone(), Match::exact("someone@example.com"), Match::exact(DEFAULT_ISSUER));
    let e = verify_bundle(&bundle, Artifact::Bytes(&artifact), &wrong_id).unwrap_err().to_string();
    assert!(e.contains("identity mismatch"), "{e}");

    let wrong_re =
        Policy::keyless(root.clone(), Match::regex("^https://gitlab\\.com/").unwrap(), Match::exact(DEFAULT_ISSUER));
    let e = verify_bundle(&bundle, Artifact::Bytes(&artifact), &wrong_re).unwrap_err().to_string();
    assert!(e.contains("identity mismatch"), "{e}");

    let wrong_iss =
        Policy::keyless(root.clone(), Match::exact(DEFAULT_IDENTITY), Match::exact("https://accounts.google.com"));
    let e = verify_bundle(&bundle, Artifact::Bytes(&artifact), &wrong_iss).unwrap_err().to_string();
    assert!(e.contains("issuer mismatch"), "{e}");

    let e = verify_bundle(&bundle, Artifact::Bytes(b"not a.txt"), &ok).unwrap_err().to_string();
    assert!(e.contains("digest mismatch"), "{e}");
}

#[test]
fn artifact_by_digest() {
    let dir = suite().join("happy-path-intoto-in-dsse-v3");
    let bundle = fs::read(dir.join("bundle.sigstore.json")).unwrap();
    let artifact = fs::read(suite().join("a.txt")).unwrap();
    let root = TrustRoot::public_good().unwrap();
    let policy = Policy::keyless(root, Match::exact(DEFAULT_IDENTITY), Match::exact(DEFAULT_ISSUER));
    let by_bytes = verify_bundle(&bundle, Artifact::Bytes(&artifact), &policy).unwrap();
    let statement = by_bytes.content.in_toto_statement().unwrap().expect("an in-toto statement");
    let hex_digest = statement.subject[0].digest["sha256"].clone();
    verify_bundle(&bundle, Artifact::sha256_hex(&hex_digest).unwrap(), &policy).unwrap();
    let other = format!("sha256:{}", "0".repeat(64));
    let e = verify_bundle(&bundle, Artifact::sha256_hex(&other).unwrap(), &policy).unwrap_err().to_string();
    assert!(e.contains("digest mismatch"), "{e}");
}

#[test]
fn hostile_bundles_are_errors() {
    let policy = Policy::keyless(TrustRoot::public_good().unwrap(), Match::exact("x"), Match::exact("y"));
    let big = vec![b' '; 16 * 1024 * 1024 + 1];
    let e = verify_bundle(&big, Artifact::Bytes(b""), &policy).unwrap_err().to_string();
    assert!(e.contains("limit"), "{e}");
    let deep = "[".repeat(100_000);
    let e = verify_bundle(deep.as_bytes(), Artifact::Bytes(b""), &policy).unwrap_err().to_string();
    assert!(e.contains("not a valid bundle"), "{e}");
    for junk in [&b"\xff\xfe"[..], b"{}", b"null", br#"{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}"#]
    {
        assert!(verify_bundle(junk, Artifact::Bytes(b""), &policy).is_err());
        assert!(inspect_bundle(junk).is_err());
    }
}

/// Every field of real bundles replaced by hostile values (empty, wrong type, negative,
/// huge, truncated) or removed: each must give an error (or, for a field verification does
/// not depend on, a verified bundle), never a panic.
#[test]
fn mutated_bundles_never_panic() {
    fn pointers(v: &serde_json::Value, at: String, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(map) => {
                for (k, child) in map {
                    pointers(child, format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")), out);
                }
            }
            serde_json::Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    pointers(child, format!("{at}/{i}"), out);
                }
            }
            _ => {}
        }
        out.push(at);
    }
    let cases = [
        "happy-path-v0.1",
        "happy-path-v0.3",
        "happy-path-intoto-in-dsse-v3",
        "rekor2-happy-path",
        "managed-key-happy-path",
    ];
    let artifact = fs::read(suite().join("a.txt")).unwrap();
    let mut runs = 0;
    let mut rejected = 0;
    for case in cases {
        let dir = suite().join(case);
        let original: serde_json::Value =
            serde_json::from_slice(&fs::read(dir.join("bundle.sigstore.json")).unwrap()).unwrap();
        let root = match fs::read(dir.join("trusted_root.json")) {
            Ok(json) => TrustRoot::from_trusted_root_json(&json).unwrap(),
            Err(_) => TrustRoot::public_good().unwrap(),
        };
        let policy = match fs::read_to_string(dir.join("key.pub")) {
            Ok(pem) => Policy::public_key(&pem, root).unwrap(),
            Err(_) => Policy::keyless(root, Match::exact(DEFAULT_IDENTITY), Match::exact(DEFAULT_ISSUER)),
        };
        verify_bundle(original.to_string().as_bytes(), Artifact::Bytes(&artifact), &policy).unwrap();
        let mut paths = Vec::new();
        pointers(&original, String::new(), &mut paths);
        for path in paths.iter().filter(|p| !p.is_empty()) {
            let current = original.pointer(path).unwrap();
            let mut variants = vec![
                serde_json::json!(""),
                serde_json::json!("AAAA"),
                serde_json::json!(-1),
                serde_json::json!("-1"),
                serde_json::json!("99999999999999999999"),
                serde_json::json!(u64::MAX),
                serde_json::json!(null),
                serde_json::json!([]),
                serde_json::json!({}),
            ];
            if let Some(text) = current.as_str() {
                variants.push(serde_json::json!(text[..text.len() / 2]));
                variants.push(serde_json::json!(format!("{text}{text}")));
            }
            for variant in variants.into_iter().map(Some).chain([None]) {
                let mut mutated = original.clone();
                match variant {
                    Some(value) => *mutated.pointer_mut(path).unwrap() = value,
                    None => {
                        let (parent, key) = path.rsplit_once('/').unwrap();
                        match mutated.pointer_mut(parent).unwrap() {
                            serde_json::Value::Object(map) => {
                                map.remove(&key.replace("~1", "/").replace("~0", "~"));
                            }
                            serde_json::Value::Array(items) => {
                                items.remove(key.parse::<usize>().unwrap());
                            }
                            _ => unreachable!(),
                        }
                    }
                }
                runs += 1;
                if verify_bundle(mutated.to_string().as_bytes(), Artifact::Bytes(&artifact), &policy).is_err() {
                    rejected += 1;
                }
            }
        }
    }
    println!("mutated bundles: {rejected} of {runs} rejected, none panicked");
    // Nearly every field is covered by a signature, a hash or the schema.
    assert!(rejected * 10 > runs * 9, "{rejected} of {runs}");
}

/// cosign v3's OCI attestation bundle (from cosign's testdata, logged on the public-good
/// Rekor): read the in-toto statement, then verify it against the image digest it names,
/// offline with the public-good trust root.
#[test]
fn oci_attestation_bundle() {
    let json = fs::read(oci_attestation()).unwrap();
    let summary = inspect_bundle(&json).unwrap();
    assert_eq!(summary.media_type, "application/vnd.dev.sigstore.bundle.v0.3+json");
    assert_eq!(summary.unverified_identity.as_deref(), Some("cody@soyland.com"));
    assert_eq!(summary.tlog_entries.len(), 1);
    assert_eq!(summary.tlog_entries[0].kind, "dsse/0.0.1");
    let SignedContent::Dsse { payload_type, .. } = &summary.content else { panic!("not DSSE: {summary:?}") };
    assert_eq!(payload_type, "application/vnd.in-toto+json");
    let statement = summary.content.in_toto_statement().unwrap().unwrap();
    assert_eq!(statement.statement_type, "https://in-toto.io/Statement/v0.1");
    assert_eq!(statement.predicate_type, "https://cosign.sigstore.dev/attestation/v1");
    assert_eq!(statement.subject.len(), 1);
    let image_digest = &statement.subject[0].digest["sha256"];
    assert_eq!(image_digest, "732112270d7e59418a8c080b134b24cabd67d250d0d0147a97ed95ba5c280aa4");

    let root = TrustRoot::public_good().unwrap();
    let policy =
        Policy::keyless(root.clone(), Match::exact("cody@soyland.com"), Match::exact("https://github.com/login/oauth"));
    let v = verify_bundle(&json, Artifact::sha256_hex(image_digest).unwrap(), &policy).unwrap();
    assert_eq!(v.integrated_time, Some(1740770291));
    assert_eq!(v.log_indexes, vec![175508996]);

    let e = verify_bundle(&json, Artifact::sha256_hex(&"1".repeat(64)).unwrap(), &policy).unwrap_err().to_string();
    assert!(e.contains("digest mismatch"), "{e}");
    let other = Policy::keyless(root, Match::exact("cody@soyland.com"), Match::exact("https://accounts.google.com"));
    let e = verify_bundle(&json, Artifact::sha256_hex(image_digest).unwrap(), &other).unwrap_err().to_string();
    assert!(e.contains("issuer mismatch"), "{e}");
}
