//! Keyless signatures in cosign's v1/v2 `.sig` layout, in a real registry on loopback
//! (Debian's `docker-registry`, fed by `skopeo` from the shared OCI layouts). The test is its
//! own Sigstore: a CA (Fulcio) issues a leaf with an email SAN and the OIDC issuer extension,
//! a P-256 key (Rekor) signs the SET, and the layer carries what cosign writes: signature,
//! certificate, chain and Rekor bundle annotations over the simple-signing payload.
//!
//! Without `docker-registry` or `skopeo` a test prints SKIPPED and passes, except under CI
//! (`CI` set), where it fails: `.ci/run` installs them, so a skip there would hide a gap.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

use base64::Engine as _;
use bulwark_sign::bundle::{Match, Policy, TrustRoot};
use bulwark_sign::cosign::{self, BUNDLE_ANNOTATION, CERTIFICATE_ANNOTATION, CHAIN_ANNOTATION, SIGNATURE_ANNOTATION};
use bulwark_sign::oci::{Attachment, NewLayer, RegistryOptions, Remote};
use bulwark_sign::payload::{self, SimpleSigning};
use bulwark_sign::SignError;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, CustomExtension, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, SanType, PKCS_ECDSA_P256_SHA256,
};
use sigstore_verify::crypto::{sha256, KeyPair as SigningKey};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Instant;
use time::{Duration, OffsetDateTime};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;
const REGISTRY_BIN: &str = "/usr/bin/docker-registry";
/// Manifest digests of the shared images (../shared/images/README.md).
const NODE: &str = "sha256:afe831cd21e07c7e05df6f359834d604c6af74d69569103a00a97fdbe18b27a7";
const RUST: &str = "sha256:69f0f4bb8a1b7711ea3bbeb19b57580a5cfacf3cc2284a0872d6a5473e8435f2";
const EMAIL: &str = "signer@example.com";
const ISSUER: &str = "https://accounts.example.com";

// --- The registry (a trimmed copy of tests/registry.rs's harness). ---

fn layout(name: &str) -> PathBuf {
    std::env::var_os("BULWARK_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"))
        .join("images")
        .join(name)
        .join("oci")
}

struct Registry {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Registry {
    /// `None` (SKIPPED) when the tools are missing locally; a failure under CI.
    fn start() -> Option<Registry> {
        let missing = !Path::new(REGISTRY_BIN).exists() || Command::new("skopeo").arg("--version").output().is_err();
        if missing {
            assert!(std::env::var_os("CI").is_none(), "CI is set but docker-registry or skopeo is missing");
            eprintln!("SKIPPED: needs {REGISTRY_BIN} (apt-get install docker-registry) and skopeo");
            return None;
        }
        // The port is chosen free, then bound by the registry: retry if someone took it since.
        for _ in 0..5 {
            let dir = tempfile::tempdir().unwrap();
            let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
            let config = dir.path().join("config.yml");
            std::fs::write(
                &config,
                format!(
                    "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    \
                     rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n",
                    dir.path().join("storage").display()
                ),
            )
            .unwrap();
            let child = Command::new(REGISTRY_BIN)
                .arg("serve")
                .arg(&config)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let mut reg = Registry { child, port, dir };
            if reg.wait_ready() {
                return Some(reg);
            }
        }
        panic!("docker-registry did not start");
    }

    fn wait_ready(&mut self) -> bool {
        let deadline = Instant::now() + std::time::Duration::from_secs(20);
        while Instant::now() < deadline {
            if self.child.try_wait().unwrap().is_some() {
                return false;
            }
            if let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)) {
                let _ = s.set_read_timeout(Some(std::time::Duration::from_secs(2)));
                let _ = s.write_all(b"GET /v2/ HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
                let mut head = [0u8; 12];
                if s.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/") {
                    return true;
                }
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        false
    }

    fn image(&self, repo_and_tag: &str) -> String {
        format!("127.0.0.1:{}/{repo_and_tag}", self.port)
    }

    /// `skopeo copy oci:<shared image>:1.0 docker://HOST/DEST`; returns `HOST/DEST`.
    fn push(&self, image: &str, dest: &str) -> String {
        let policy = self.dir.path().join("policy.json");
        std::fs::write(&policy, r#"{"default":[{"type":"insecureAcceptAnything"}]}"#).unwrap();
        let out = Command::new("skopeo")
            .arg("--policy")
            .arg(&policy)
            .args(["copy", "--quiet", "--dest-tls-verify=false"])
            .arg(format!("oci:{}:1.0", layout(image).display()))
            .arg(format!("docker://{}", self.image(dest)))
            .output()
            .unwrap();
        assert!(out.status.success(), "skopeo copy {image}: {}", String::from_utf8_lossy(&out.stderr));
        self.image(dest)
    }

    /// Plain HTTP, and an empty Docker config so that the tester's `~/.docker` plays no part.
    fn opts(&self) -> RegistryOptions {
        let config = self.dir.path().join("docker/config.json");
        std::fs::create_dir_all(config.parent().unwrap()).unwrap();
        std::fs::write(&config, "{}").unwrap();
        RegistryOptions { allow_insecure: true, docker_config: Some(config) }
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// --- The test Sigstore (as in tests/keyless.rs). ---

struct Ca {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl Ca {
    fn new(name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        params.not_before = OffsetDateTime::now_utc() - Duration::days(1);
        params.not_after = OffsetDateTime::now_utc() + Duration::days(365);
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
        Ca { issuer: CertifiedIssuer::self_signed(params, key).unwrap() }
    }

    fn pem(&self) -> String {
        self.issuer.pem()
    }
}

struct Leaf {
    pem: String,
    key: SigningKey,
}

/// A DER UTF8String (what Fulcio writes in the v2 issuer extension).
fn der_utf8(s: &str) -> Vec<u8> {
    assert!(s.len() < 128);
    let mut out = vec![0x0c, s.len() as u8];
    out.extend_from_slice(s.as_bytes());
    out
}

/// Fulcio's ten-minute leaf for `EMAIL`, with both issuer extensions.
fn leaf(ca: &Ca) -> Leaf {
    let now = OffsetDateTime::now_utc();
    let mut params = CertificateParams::default();
    params.subject_alt_names = vec![SanType::Rfc822Name(EMAIL.try_into().unwrap())];
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::CodeSigning];
    params.not_before = now - Duration::minutes(5);
    params.not_after = now + Duration::minutes(5);
    params.custom_extensions = vec![
        CustomExtension::from_oid_content(&[1, 3, 6, 1, 4, 1, 57264, 1, 1], ISSUER.as_bytes().to_vec()),
        CustomExtension::from_oid_content(&[1, 3, 6, 1, 4, 1, 57264, 1, 8], der_utf8(ISSUER)),
    ];
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let cert = params.signed_by(&key, &ca.issuer).unwrap();
    Leaf { pem: cert.pem(), key: SigningKey::from_pkcs8_der(&key.serialize_der()).unwrap() }
}

struct World {
    ca: Ca,
    rekor: SigningKey,
    leaf: Leaf,
    root: TrustRoot,
}

fn world() -> World {
    let ca = Ca::new("test fulcio");
    let rekor = SigningKey::generate_ecdsa_p256().unwrap();
    let rekor_pem = rekor.public_key_der().unwrap().to_pem();
    let root = TrustRoot::from_files(ca.pem().as_bytes(), rekor_pem.as_bytes(), None).unwrap();
    let leaf = leaf(&ca);
    World { ca, rekor, leaf, root }
}

fn policy(w: &World, identity: &str, issuer: &str) -> Policy {
    Policy::keyless(w.root.clone(), Match::exact(identity), Match::exact(issuer))
}

/// What `cosign sign` (v1/v2, keyless) pushes for `digest`: the simple-signing payload as the
/// layer, signed by the leaf, logged as a hashedrekord entry whose SET `set_key` signs.
fn keyless_layer(w: &World, repository: &str, digest: &str, set_key: &SigningKey) -> NewLayer {
    let data = SimpleSigning::new(repository, digest).unwrap().to_json();
    let signature_b64 = B64.encode(w.leaf.key.sign(&data).unwrap().as_bytes());
    // Canonical JSON (keys sorted, no spaces), as Rekor stores the entry.
    let body = format!(
        r#"{{"apiVersion":"0.0.1","kind":"hashedrekord","spec":{{"data":{{"hash":{{"algorithm":"sha256","value":"{}"}}}},"signature":{{"content":"{}","publicKey":{{"content":"{}"}}}}}}}}"#,
        sha256(&data).to_hex(),
        signature_b64,
        B64.encode(w.leaf.pem.as_bytes())
    );
    let body = B64.encode(body.as_bytes());
    let integrated_time = OffsetDateTime::now_utc().unix_timestamp() - 60;
    let log_id = sha256(w.rekor.public_key_der().unwrap().as_bytes()).to_hex();
    // The SET signs the payload's four fields sorted by name (RFC 8785).
    let canonical =
        format!(r#"{{"body":"{body}","integratedTime":{integrated_time},"logID":"{log_id}","logIndex":4242}}"#);
    let set = set_key.sign(canonical.as_bytes()).unwrap();
    let bundle = serde_json::json!({
        "SignedEntryTimestamp": B64.encode(set.as_bytes()),
        "Payload": {"body": body, "integratedTime": integrated_time, "logIndex": 4242, "logID": log_id},
    });
    NewLayer {
        media_type: payload::MEDIA_TYPE.into(),
        data,
        annotations: BTreeMap::from([
            (SIGNATURE_ANNOTATION.to_string(), signature_b64),
            (CERTIFICATE_ANNOTATION.to_string(), w.leaf.pem.clone()),
            (CHAIN_ANNOTATION.to_string(), w.ca.pem()),
            (BUNDLE_ANNOTATION.to_string(), bundle.to_string()),
        ]),
    }
}

/// Pushes node-app as `team/app:1.0` with a keyless signature whose SET `set_key` signs.
fn signed_node_app(reg: &Registry, w: &World, set_key: &SigningKey) -> (String, Remote) {
    let image = reg.push("node-app", "team/app:1.0");
    let remote = Remote::connect(&image, &reg.opts()).unwrap();
    assert_eq!(remote.resolve().unwrap(), NODE);
    let layer = keyless_layer(w, &remote.repository(), NODE, set_key);
    remote.append(NODE, Attachment::Signature, layer).unwrap();
    (image, remote)
}

fn err_text(e: SignError) -> String {
    let s = e.to_string();
    eprintln!("error as shown: {s}");
    s
}

#[test]
fn keyless_signature_verifies_with_identity_and_issuer() {
    let Some(reg) = Registry::start() else { return };
    let w = world();
    let (image, _) = signed_node_app(&reg, &w, &w.rekor);
    let ok = cosign::verify_keyless(&image, &policy(&w, EMAIL, ISSUER), &reg.opts()).unwrap();
    assert_eq!(ok.len(), 1);
    assert_eq!(ok[0].payload["critical"]["image"]["docker-manifest-digest"], NODE);
    assert!(ok[0].layer_digest.starts_with("sha256:"));
    // By digest too, and with regular expressions for the claims.
    let regex = Policy::keyless(
        w.root.clone(),
        Match::regex(r"@example\.com$").unwrap(),
        Match::regex(r"^https://accounts\.example\.com$").unwrap(),
    );
    let by_digest = reg.image(&format!("team/app@{NODE}"));
    assert_eq!(cosign::verify_keyless(&by_digest, &regex, &reg.opts()).unwrap().len(), 1);
}

#[test]
fn wrong_identity_or_issuer_fails() {
    let Some(reg) = Registry::start() else { return };
    let w = world();
    let (image, _) = signed_node_app(&reg, &w, &w.rekor);
    let e = err_text(
        cosign::verify_keyless(&image, &policy(&w, "someone-else@example.com", ISSUER), &reg.opts()).unwrap_err(),
    );
    assert!(e.contains("no valid signature") && e.contains(NODE), "{e}");
    assert!(e.contains("signature 1 (sha256:") && e.contains("identity mismatch"), "{e}");
    let e = err_text(
        cosign::verify_keyless(&image, &policy(&w, EMAIL, "https://token.actions.githubusercontent.com"), &reg.opts())
            .unwrap_err(),
    );
    assert!(e.contains("signature 1 (sha256:") && e.contains("issuer mismatch"), "{e}");

    // A trust root with another CA does not vouch for the leaf.
    let other = Ca::new("another CA");
    let rekor_pem = w.rekor.public_key_der().unwrap().to_pem();
    let root = TrustRoot::from_files(other.pem().as_bytes(), rekor_pem.as_bytes(), None).unwrap();
    let e = err_text(
        cosign::verify_keyless(&image, &Policy::keyless(root, Match::exact(EMAIL), Match::exact(ISSUER)), &reg.opts())
            .unwrap_err(),
    );
    assert!(e.contains("does not chain to a trusted CA"), "{e}");
}

#[test]
fn set_signed_by_another_key_fails() {
    let Some(reg) = Registry::start() else { return };
    let w = world();
    let impostor = SigningKey::generate_ecdsa_p256().unwrap();
    let (image, _) = signed_node_app(&reg, &w, &impostor);
    let e = err_text(cosign::verify_keyless(&image, &policy(&w, EMAIL, ISSUER), &reg.opts()).unwrap_err());
    assert!(e.contains("signed entry timestamp (SET) does not verify"), "{e}");
}

#[test]
fn signature_moved_to_another_image_fails() {
    let Some(reg) = Registry::start() else { return };
    let w = world();
    let (_, remote) = signed_node_app(&reg, &w, &w.rekor);
    let other = reg.push("rust-app", "team/app:2.0");
    // node-app's signature layer, annotations and all, under rust-app's .sig tag.
    let layer = keyless_layer(&w, &remote.repository(), NODE, &w.rekor);
    remote.append(RUST, Attachment::Signature, layer).unwrap();
    let e = err_text(cosign::verify_keyless(&other, &policy(&w, EMAIL, ISSUER), &reg.opts()).unwrap_err());
    assert!(e.contains(&format!("signs {NODE}, not this image's {RUST}")), "{e}");
    // Unsigned image: says the tag is missing.
    let java = reg.push("java-app", "team/java:1.0");
    let e = err_text(cosign::verify_keyless(&java, &policy(&w, EMAIL, ISSUER), &reg.opts()).unwrap_err());
    assert!(e.contains("no signatures found"), "{e}");
}

#[test]
fn key_signed_and_bare_layers_are_named_and_skipped() {
    let Some(reg) = Registry::start() else { return };
    let w = world();
    let (image, remote) = signed_node_app(&reg, &w, &w.rekor);
    // A key-signed layer beside it (cosign sign --key, no certificate) does not count, nor
    // spoil the keyless one.
    let key = bulwark_sign::keys::generate().unwrap();
    cosign::sign(&image, &key, Default::default(), &reg.opts()).unwrap();
    assert_eq!(cosign::verify_keyless(&image, &policy(&w, EMAIL, ISSUER), &reg.opts()).unwrap().len(), 1);

    // Under another image, a key-signed layer and a certificate without a Rekor bundle:
    // both fail, each named with its reason.
    let other = reg.push("rust-app", "team/app:2.0");
    cosign::sign(&other, &key, Default::default(), &reg.opts()).unwrap();
    let mut layer = keyless_layer(&w, &remote.repository(), RUST, &w.rekor);
    layer.annotations.remove(BUNDLE_ANNOTATION);
    remote.append(RUST, Attachment::Signature, layer).unwrap();
    let e = err_text(cosign::verify_keyless(&other, &policy(&w, EMAIL, ISSUER), &reg.opts()).unwrap_err());
    assert!(e.contains("signature 1 (sha256:") && e.contains(&format!("no {CERTIFICATE_ANNOTATION}")), "{e}");
    assert!(e.contains("signature 2 (sha256:") && e.contains(&format!("no {BUNDLE_ANNOTATION}")), "{e}");
}
