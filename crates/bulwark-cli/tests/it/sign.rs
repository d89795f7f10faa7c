//! The signing commands end to end, as a user runs them: `bulwark generate-key-pair`,
//! `sign` (bundle referrer by default, the `.sig` tag with `--new-bundle-format=false`),
//! `verify`, `attest`, `verify-attestation`, `verify-provenance`, `attach sbom`,
//! `triangulate`, against Debian's docker-registry on loopback; `verify-bundle` on a real
//! Sigstore conformance bundle.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

use crate::common;

use std::path::Path;
use std::process::Output;

fn run(dir: &Path, args: &[&str]) -> Output {
    common::bulwark().current_dir(dir).env("COSIGN_PASSWORD", "s3cret").args(args).output().unwrap()
}

fn ok(out: &Output) -> String {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn sign_verify_attest_and_provenance_through_the_cli() {
    let reg = bulwark_testkit::docker_registry!();
    let image = reg.push("node-app", "team/app:1.0");
    let other = reg.push("rust-app", "team/other:1.0");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(&run(d, &["generate-key-pair"]));
    assert!(std::fs::read_to_string(d.join("cosign.key")).unwrap().contains("ENCRYPTED SIGSTORE PRIVATE KEY"));
    // Never overwrites a key.
    assert!(!run(d, &["generate-key-pair"]).status.success());
    let insecure = "--allow-insecure-registry";

    // Unsigned: exit 1, saying nothing was found.
    let out = run(d, &["verify", "--key", "cosign.pub", insecure, &image]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no signatures found"));

    // cosign v3's default (a bundle referrer), then the v1/v2 tag: both verify.
    ok(&run(d, &["sign", "--key", "cosign.key", insecure, &image]));
    let payloads: serde_json::Value =
        serde_json::from_str(&ok(&run(d, &["verify", "--key", "cosign.pub", insecure, &image]))).unwrap();
    assert_eq!(payloads.as_array().unwrap().len(), 1);
    assert_eq!(payloads[0]["predicateType"], "https://sigstore.dev/cosign/sign/v1");
    ok(&run(d, &["sign", "--key", "cosign.key", "--new-bundle-format=false", "-a", "env=ci", insecure, &image]));
    let payloads: serde_json::Value =
        serde_json::from_str(&ok(&run(d, &["verify", "--key", "cosign.pub", insecure, &image]))).unwrap();
    assert_eq!(payloads.as_array().unwrap().len(), 2);
    let legacy = payloads.as_array().unwrap().iter().find(|p| p.get("critical").is_some()).unwrap();
    assert_eq!(
        legacy["critical"]["image"]["docker-manifest-digest"],
        "sha256:afe831cd21e07c7e05df6f359834d604c6af74d69569103a00a97fdbe18b27a7"
    );
    assert_eq!(legacy["optional"]["env"], "ci");
    // Another key: exit 1, with the reason.
    let other_key = common::shared().join("data/cosign/policy-controller-keys/cosign.pub");
    let out = run(d, &["verify", "--key", other_key.to_str().unwrap(), insecure, &image]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("wrong key"));

    // triangulate names the tag cosign uses.
    let at = ok(&run(d, &["triangulate", insecure, &image]));
    assert_eq!(
        at.trim(),
        format!("{}/team/app:sha256-afe831cd21e07c7e05df6f359834d604c6af74d69569103a00a97fdbe18b27a7.sig", reg.host())
    );

    // SLSA provenance: attested, verified as an attestation and as provenance.
    let prov = d.join("prov.json");
    std::fs::write(
        &prov,
        r#"{"builder":{"id":"https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_container_slsa3.yml@refs/tags/v1.9.0"},
            "buildType":"https://github.com/slsa-framework/slsa-github-generator/container@v1",
            "invocation":{"configSource":{"uri":"git+https://github.com/org/app@refs/heads/main","digest":{"sha1":"0123456789abcdef0123456789abcdef01234567"},"entryPoint":".github/workflows/release.yml"}},
            "materials":[{"uri":"git+https://github.com/org/app@refs/heads/main","digest":{"sha1":"0123456789abcdef0123456789abcdef01234567"}}]}"#,
    )
    .unwrap();
    ok(&run(
        d,
        &["attest", "--key", "cosign.key", "--type", "slsaprovenance", "--predicate", "prov.json", insecure, &image],
    ));
    let st = ok(&run(d, &["verify-attestation", "--key", "cosign.pub", "--type", "slsaprovenance", insecure, &image]));
    assert!(st.contains("https://slsa.dev/provenance/v0.2"), "{st}");
    let out = run(d, &["verify-attestation", "--key", "cosign.pub", "--type", "cyclonedx", insecure, &image]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("predicate type"));
    let builder =
        "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_container_slsa3.yml";
    ok(&run(
        d,
        &[
            "verify-provenance",
            "--key",
            "cosign.pub",
            "--source-uri",
            "github.com/org/app",
            "--builder-id",
            builder,
            insecure,
            &image,
        ],
    ));
    let out =
        run(d, &["verify-provenance", "--key", "cosign.pub", "--source-uri", "github.com/evil/app", insecure, &image]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("source"));
    // Provenance of one image does not vouch for another.
    let out =
        run(d, &["verify-provenance", "--key", "cosign.pub", "--source-uri", "github.com/org/app", insecure, &other]);
    assert_eq!(out.status.code(), Some(1));

    // SBOM attachment lands under .sbom.
    let sbom = d.join("sbom.cdx.json");
    ok(&common::bulwark()
        .args([
            "sbom",
            &format!("oci-dir:{}", common::image("node-app").display()),
            "-q",
            "--no-cache",
            "-f",
            "cyclonedx-json",
            "-o",
        ])
        .arg(&sbom)
        .output()
        .unwrap());
    ok(&run(d, &["attach", "sbom", "--sbom", "sbom.cdx.json", insecure, &image]));
    let at = ok(&run(d, &["triangulate", "--type", "sbom", insecure, &image]));
    assert!(at.trim().ends_with(".sbom"), "{at}");
}

#[test]
fn verify_bundle_on_a_conformance_bundle() {
    let case = common::shared().join("data/cosign/sigstore-conformance/bundle-verify");
    let dir = tempfile::tempdir().unwrap();
    let bundle = case.join("happy-path-v0.3/bundle.sigstore.json");
    let artifact = case.join("a.txt");
    let args = |identity: &str| -> Vec<String> {
        vec![
            "verify-bundle".into(),
            "--bundle".into(),
            bundle.display().to_string(),
            "--certificate-identity".into(),
            identity.into(),
            "--certificate-oidc-issuer".into(),
            "https://token.actions.githubusercontent.com".into(),
            artifact.display().to_string(),
        ]
    };
    let id = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
    let a = args(id);
    let out = ok(&run(dir.path(), &a.iter().map(String::as_str).collect::<Vec<_>>()));
    assert!(out.contains("\"logIndexes\":[79571823]"), "{out}");
    let a = args("someone@example.com");
    let out = run(dir.path(), &a.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("identity mismatch"));
}

/// The exit-code table (crates/bulwark-cli/src/exit.rs, README) row by row through the binary,
/// on Sigstore conformance bundles: 0 verified, 1 does not verify, 2 cannot be read or used.
/// A malformed bundle exited 1 (as if it had been verified and failed); `verify` says 2 for an
/// input it cannot read, and now so does `verify-bundle`.
#[test]
fn verify_bundle_exit_codes_follow_the_table() {
    let case = common::shared().join("data/cosign/sigstore-conformance/bundle-verify");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let id = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
    let artifact = case.join("a.txt");
    let verify = |bundle: &Path, extra: &[&str]| {
        let mut args = vec!["verify-bundle", "--bundle", bundle.to_str().unwrap()];
        args.extend(extra);
        args.extend(["--certificate-identity", id, "--certificate-oidc-issuer"]);
        args.extend(["https://token.actions.githubusercontent.com", artifact.to_str().unwrap()]);
        run(d, &args)
    };
    let code = |out: &Output| (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned());
    let bundle = |name: &str| case.join(name).join("bundle.sigstore.json");

    assert_eq!(code(&verify(&bundle("happy-path-v0.3"), &[])).0, Some(0));
    // 1: verification failures, whatever the check.
    for failing in ["signature-mismatch_fail", "bundle-from-wrong-instance_fail", "message-digest-mismatch_fail"] {
        let (c, err) = code(&verify(&bundle(failing), &[]));
        assert_eq!(c, Some(1), "{failing}: {err}");
    }
    // 2: a bundle that is not one, a file that is not there, a key that is not a key, a bad flag.
    let (c, err) = code(&verify(&bundle("bundle-malformed-json_fail"), &[]));
    assert_eq!(c, Some(2), "{err}");
    assert!(err.contains("not a valid bundle"), "{err}");
    let (c, err) = code(&verify(&d.join("missing.json"), &[]));
    assert_eq!(c, Some(2), "{err}");
    assert!(err.contains("missing.json"), "{err}");
    std::fs::write(d.join("bad.pub"), "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n").unwrap();
    let keyed = bundle("managed-key-happy-path");
    let out =
        run(d, &["verify-bundle", "--bundle", keyed.to_str().unwrap(), "--key", "bad.pub", artifact.to_str().unwrap()]);
    let (c, err) = code(&out);
    assert!(c == Some(2) && err.contains("public key"), "{c:?} {err}");
    assert_eq!(run(d, &["verify-bundle", "--no-such-flag"]).status.code(), Some(2));
    // `verify` agrees: a key file that is not there is an input error.
    let out = run(d, &["verify", "--key", "missing.pub", "127.0.0.1:9/team/app:1.0"]);
    assert_eq!(code(&out).0, Some(2), "{}", code(&out).1);
}

/// `verify` without `--key`: a keyless signature in cosign's v1/v2 `.sig` layout, made by a
/// test Sigstore (an rcgen CA as Fulcio, a P-256 key as Rekor) whose CA and Rekor key are
/// given as files.
#[test]
fn keyless_verify_with_a_private_sigstore_as_files() {
    use base64::Engine as _;
    use bulwark_sign::cosign::{BUNDLE_ANNOTATION, CERTIFICATE_ANNOTATION, CHAIN_ANNOTATION, SIGNATURE_ANNOTATION};
    use bulwark_sign::oci::{Attachment, NewLayer, RegistryOptions, Remote};
    use bulwark_testkit::sigstore::{email, short_lived, Ca, IssuerExt, Rekor, EMAIL, ISSUER};
    const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;
    const NODE: &str = "sha256:afe831cd21e07c7e05df6f359834d604c6af74d69569103a00a97fdbe18b27a7";

    let reg = bulwark_testkit::docker_registry!();
    let image = reg.push("node-app", "team/app:1.0");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();

    // Fulcio: a CA, and a ten-minute leaf for EMAIL with the (v1) OIDC issuer extension.
    let ca = Ca::new("test fulcio");
    let leaf = ca.leaf(email(EMAIL), ISSUER, IssuerExt::V1, short_lived());
    let rekor = Rekor::new();

    // The payload cosign signs, the leaf's signature, and the Rekor bundle whose SET the
    // Rekor key signs over the payload's fields in canonical (sorted) order.
    // An empty Docker config of its own, so that the tester's `~/.docker` plays no part.
    std::fs::write(d.join("config.json"), "{}").unwrap();
    let remote =
        Remote::connect(&image, &RegistryOptions { allow_insecure: true, docker_config: Some(d.into()) }).unwrap();
    let data = bulwark_sign::payload::SimpleSigning::new(&remote.repository(), NODE).unwrap().to_json();
    let signature = B64.encode(leaf.key.sign(&data).unwrap().as_bytes());
    let bundle = rekor.bundle(&data, &signature, &leaf.pem, 7, &rekor.key);
    let layer = NewLayer {
        media_type: bulwark_sign::payload::MEDIA_TYPE.into(),
        data,
        annotations: [
            (SIGNATURE_ANNOTATION, signature),
            (CERTIFICATE_ANNOTATION, leaf.pem),
            (CHAIN_ANNOTATION, ca.pem()),
            (BUNDLE_ANNOTATION, bundle.to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect(),
    };
    remote.append(NODE, Attachment::Signature, layer).unwrap();
    std::fs::write(d.join("fulcio.pem"), ca.pem()).unwrap();
    std::fs::write(d.join("rekor.pub"), rekor.pem()).unwrap();

    let verify = |identity: &str| {
        let files = ["--certificate-chain", "fulcio.pem", "--rekor-key", "rekor.pub"];
        let mut args = vec!["verify", "--certificate-identity", identity, "--certificate-oidc-issuer", ISSUER];
        args.extend(files);
        args.extend(["--allow-insecure-registry", &image]);
        run(d, &args)
    };
    let payloads: serde_json::Value = serde_json::from_str(&ok(&verify(EMAIL))).unwrap();
    assert_eq!(payloads[0]["critical"]["image"]["docker-manifest-digest"], NODE);
    let out = verify("someone-else@example.com");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("identity mismatch"), "{out:?}");
    // No identity: a usage error saying what is missing, not a verification.
    let out = run(d, &["verify", "--certificate-oidc-issuer", ISSUER, "--allow-insecure-registry", &image]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--certificate-identity"), "{out:?}");
}

/// A key, certificate or bundle path that is not a regular file is refused before anything
/// is read: `/dev/zero` used to be read for 256 MiB, and a FIFO blocked forever.
#[test]
fn key_paths_that_are_not_regular_files_fail_fast() {
    use std::time::{Duration, Instant};
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let fifo = d.join("key.fifo");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status().expect("mkfifo (coreutils) is needed");
    assert!(made.success());
    let fifo = fifo.to_str().unwrap();
    // No registry is needed: the key is read before the image is looked at.
    let image = "127.0.0.1:9/team/app:1.0";
    // Each command, and the file its error must name.
    let cases: [(&[&str], &str); 5] = [
        (&["verify", "--key", "/dev/zero", image], "/dev/zero"),
        (&["sign", "--key", "/dev/zero", image], "/dev/zero"),
        (&["sign", "--key", fifo, image], fifo),
        (&["verify", "--key", fifo, image], fifo),
        (&["verify-bundle", "--bundle", fifo, "--key", "/dev/zero", "sha256:00"], fifo),
    ];
    for (args, named) in cases {
        let start = Instant::now();
        let mut child = common::bulwark()
            .current_dir(d)
            .env("COSIGN_PASSWORD", "s3cret")
            .args(args)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        while child.try_wait().unwrap().is_none() {
            if start.elapsed() > Duration::from_secs(20) {
                child.kill().unwrap();
                child.wait().unwrap();
                panic!("{args:?} still running after 20 s (blocked on the file?)");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}: {err}");
        assert!(err.contains(named) && err.contains("not a regular file"), "{args:?}: {err}");
        assert!(start.elapsed() < Duration::from_secs(5), "{args:?} took {:?}", start.elapsed());
    }
}

/// A `.sig` tag of 5,001 layers (over the 1,000-layer limit) beside a valid bundle signature:
/// the bundle verifies and the `.sig` tag is reported as a warning. With nothing else to
/// verify, the limit is the error.
#[test]
fn a_hostile_sig_tag_does_not_hide_a_valid_bundle_signature() {
    let reg = bulwark_testkit::docker_registry!();
    let image = reg.push("node-app", "team/app:1.0");
    let other = reg.push("rust-app", "team/other:1.0");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(&run(d, &["generate-key-pair"]));
    let insecure = "--allow-insecure-registry";
    ok(&run(d, &["sign", "--key", "cosign.key", insecure, &image]));

    // The hostile tag: every layer the same (real) blob, 5,001 times.
    let http = reqwest::blocking::Client::new();
    let base = format!("http://{}", reg.host());
    let put_blob = |repo: &str, data: &[u8]| -> String {
        let digest = {
            use sha2::Digest as _;
            format!("sha256:{}", hex::encode(sha2::Sha256::digest(data)))
        };
        let r = http.post(format!("{base}/v2/{repo}/blobs/uploads/")).send().unwrap();
        assert_eq!(r.status().as_u16(), 202);
        let loc = r.headers()["location"].to_str().unwrap().to_string();
        let loc = if loc.starts_with('/') { format!("{base}{loc}") } else { loc };
        let sep = if loc.contains('?') { '&' } else { '?' };
        let r = http.put(format!("{loc}{sep}digest={digest}")).body(data.to_vec()).send().unwrap();
        assert_eq!(r.status().as_u16(), 201, "{}", r.text().unwrap());
        digest
    };
    let hostile_sig = |target: &str| {
        let (repo, _) = target.split_once('/').unwrap().1.rsplit_once(':').unwrap();
        let at = ok(&run(d, &["triangulate", insecure, target]));
        let tag = at.trim().rsplit_once(':').unwrap().1.to_string();
        let config = put_blob(repo, b"{}");
        let layer = put_blob(repo, b"not a signature");
        let layers: Vec<_> = (0..5001)
            .map(|_| {
                serde_json::json!({"mediaType": "application/vnd.dev.cosign.simplesigning.v1+json",
                    "digest": layer, "size": 15})
            })
            .collect();
        let manifest = serde_json::json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config, "size": 2},
            "layers": layers});
        let r = http
            .put(format!("{base}/v2/{repo}/manifests/{tag}"))
            .header("content-type", "application/vnd.oci.image.manifest.v1+json")
            .body(serde_json::to_vec(&manifest).unwrap())
            .send()
            .unwrap();
        assert_eq!(r.status().as_u16(), 201, "{}", r.text().unwrap());
    };
    hostile_sig(&image);
    hostile_sig(&other);

    let out = run(d, &["verify", "--key", "cosign.pub", insecure, &image]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    let payloads: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(payloads.as_array().unwrap().len(), 1);
    assert_eq!(payloads[0]["predicateType"], "https://sigstore.dev/cosign/sign/v1");
    assert!(err.contains("warning") && err.contains("5001 layers, more than 1000"), "{err}");

    // Nothing else to verify: the limit is the error (could not verify: exit 2).
    let out = run(d, &["verify", "--key", "cosign.pub", insecure, &other]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("5001 layers, more than 1000"), "{err}");
}
