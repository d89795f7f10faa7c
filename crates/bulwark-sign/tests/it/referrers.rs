//! cosign v3's bundle layout on a real registry: Debian's `docker-registry` (distribution 2.8,
//! which has no referrers API, so the referrers tag schema is what makes bundles findable),
//! started per test on loopback and fed with `skopeo copy` from the shared OCI layouts.
//! Without the tools each test says SKIPPED, unless `CI` is set: then it fails.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use base64::Engine as _;
use bulwark_sign::bundle::BUNDLE_V03_MEDIA_TYPE;
use bulwark_sign::oci::RegistryOptions;
use bulwark_sign::referrers::{self, BundleVerifyOptions};
use bulwark_sign::{keys, Signer as _};
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const REGISTRY_BIN: &str = "/usr/bin/docker-registry";
const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

fn layout(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/images").join(name).join("oci")
}

fn sha(data: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(data)))
}

struct Registry {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Registry {
    fn start() -> Option<Registry> {
        if !Path::new(REGISTRY_BIN).exists() || Command::new("skopeo").arg("--version").output().is_err() {
            let msg = format!("needs {REGISTRY_BIN} and skopeo (apt-get install docker-registry skopeo)");
            if std::env::var_os("CI").is_some() {
                panic!("{msg}");
            }
            eprintln!("SKIPPED: {msg}");
            return None;
        }
        let mut dir = tempfile::tempdir().unwrap();
        for _ in 0..5 {
            let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
            let config = dir.path().join("config.yml");
            std::fs::write(
                &config,
                format!(
                    "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    \
                     rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n  secret: bulwark-test-secret\n",
                    dir.path().join("storage").display()
                ),
            )
            .unwrap();
            let log = std::fs::File::create(dir.path().join("registry.log")).unwrap();
            let child = Command::new(REGISTRY_BIN)
                .arg("serve")
                .arg(&config)
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .unwrap();
            let mut reg = Registry { child, port, dir };
            if reg.wait_ready() {
                return Some(reg);
            }
            let _ = reg.child.kill();
            let _ = reg.child.wait();
            // The port may have been taken since it was chosen: try another, same storage.
            dir = std::mem::replace(&mut reg.dir, tempfile::tempdir().unwrap());
        }
        panic!(
            "docker-registry did not start; log: {}",
            std::fs::read_to_string(dir.path().join("registry.log")).unwrap_or_default()
        );
    }

    fn wait_ready(&mut self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if self.child.try_wait().unwrap().is_some() {
                return false;
            }
            if self.http("GET", "/v2/", &[], &[]).0 == 200 {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn push(&self, layout: &Path, dest: &str) {
        let policy = self.dir.path().join("policy.json");
        std::fs::write(&policy, r#"{"default":[{"type":"insecureAcceptAnything"}]}"#).unwrap();
        let out = Command::new("skopeo")
            .arg("--policy")
            .arg(&policy)
            .args(["copy", "--quiet", "--dest-tls-verify=false"])
            .arg(format!("oci:{}:1.0", layout.display()))
            .arg(format!("docker://{}/{dest}", self.host()))
            .output()
            .unwrap();
        assert!(out.status.success(), "skopeo copy failed: {}", String::from_utf8_lossy(&out.stderr));
    }

    /// One plain HTTP/1.0 request: (status, Location header, body).
    fn http(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, String, Vec<u8>) {
        let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)) else { return (0, String::new(), Vec::new()) };
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut req =
            format!("{method} {path} HTTP/1.0\r\nHost: {}\r\nContent-Length: {}\r\n", self.host(), body.len());
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str("\r\n");
        if s.write_all(req.as_bytes()).is_err() || s.write_all(body).is_err() {
            return (0, String::new(), Vec::new());
        }
        let mut resp = Vec::new();
        if s.read_to_end(&mut resp).is_err() {
            return (0, String::new(), Vec::new());
        }
        let split = resp.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or(resp.len());
        let head = String::from_utf8_lossy(&resp[..split]).to_string();
        let status = head.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
        let location = head
            .lines()
            .find_map(|l| l.split_once(':').filter(|(k, _)| k.eq_ignore_ascii_case("location")))
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default();
        (status, location, resp[(split + 4).min(resp.len())..].to_vec())
    }

    fn get_manifest(&self, repo: &str, reference: &str, accept: &str) -> Option<Vec<u8>> {
        let (status, _, body) =
            self.http("GET", &format!("/v2/{repo}/manifests/{reference}"), &[("Accept", accept)], &[]);
        (status == 200).then_some(body)
    }

    fn put_manifest(&self, repo: &str, reference: &str, media_type: &str, body: &[u8]) {
        let (status, _, resp) =
            self.http("PUT", &format!("/v2/{repo}/manifests/{reference}"), &[("Content-Type", media_type)], body);
        assert_eq!(status, 201, "PUT manifest {reference}: {}", String::from_utf8_lossy(&resp));
    }

    fn get_blob(&self, repo: &str, digest: &str) -> Vec<u8> {
        let (status, _, body) = self.http("GET", &format!("/v2/{repo}/blobs/{digest}"), &[], &[]);
        assert_eq!(status, 200, "GET blob {digest}");
        body
    }

    fn put_blob(&self, repo: &str, data: &[u8]) -> String {
        let (status, location, _) = self.http("POST", &format!("/v2/{repo}/blobs/uploads/"), &[], &[]);
        assert_eq!(status, 202, "starting an upload");
        let path = location.strip_prefix(&format!("http://{}", self.host())).unwrap_or(&location).to_string();
        let sep = if path.contains('?') { '&' } else { '?' };
        let digest = sha(data);
        let (status, _, resp) = self.http(
            "PUT",
            &format!("{path}{sep}digest={digest}"),
            &[("Content-Type", "application/octet-stream")],
            data,
        );
        assert_eq!(status, 201, "PUT blob: {}", String::from_utf8_lossy(&resp));
        digest
    }

    fn opts(&self) -> RegistryOptions {
        let config = self.dir.path().join("docker");
        std::fs::create_dir_all(&config).unwrap();
        std::fs::write(config.join("config.json"), "{}").unwrap();
        RegistryOptions { allow_insecure: true, docker_config: Some(config.join("config.json")) }
    }

    fn verify_opts(&self) -> BundleVerifyOptions {
        BundleVerifyOptions { registry: self.opts(), trust_root: None }
    }

    fn manifest_digest(&self, repo: &str, tag: &str) -> String {
        sha(&self.get_manifest(repo, tag, OCI_MANIFEST).unwrap())
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn fallback_index(reg: &Registry, repo: &str, digest: &str) -> Value {
    let body = reg
        .get_manifest(repo, &digest.replace(':', "-"), OCI_INDEX)
        .unwrap_or_else(|| panic!("no fallback tag for {digest}"));
    serde_json::from_slice(&body).unwrap()
}

#[test]
fn sign_then_verify_through_the_fallback_tag() {
    let Some(reg) = Registry::start() else { return };
    reg.push(&layout("node-app"), "team/app:v1");
    let image = format!("{}/team/app:v1", reg.host());
    let digest = reg.manifest_digest("team/app", "v1");
    let key = keys::generate().unwrap();

    let signed = referrers::sign_bundle(&image, &key, serde_json::Map::new(), &reg.opts()).unwrap();
    assert_eq!(signed.digest, digest);
    let (_, referrer_digest) = signed.location.split_once('@').unwrap();

    // The fallback tag: an OCI index listing the referrer, with its artifact type.
    let index = fallback_index(&reg, "team/app", &digest);
    assert_eq!(index["mediaType"], OCI_INDEX);
    let m = index["manifests"].as_array().unwrap();
    assert_eq!(m.len(), 1);
    assert_eq!(m[0]["artifactType"], BUNDLE_V03_MEDIA_TYPE);
    assert_eq!(m[0]["digest"], referrer_digest);
    assert_eq!(m[0]["annotations"]["dev.sigstore.bundle.predicateType"], "https://sigstore.dev/cosign/sign/v1");

    // The referrer manifest as cosign writes it.
    let body = reg.get_manifest("team/app", referrer_digest, OCI_MANIFEST).unwrap();
    let manifest: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(manifest["artifactType"], BUNDLE_V03_MEDIA_TYPE);
    assert_eq!(manifest["config"]["mediaType"], "application/vnd.oci.empty.v1+json");
    assert_eq!(manifest["config"]["size"], 2);
    assert_eq!(manifest["subject"]["digest"], digest.as_str());
    assert_eq!(manifest["subject"]["mediaType"], OCI_MANIFEST);
    assert_eq!(manifest["annotations"]["dev.sigstore.bundle.content"], "dsse-envelope");
    let layer = &manifest["layers"][0];
    assert_eq!(layer["mediaType"], BUNDLE_V03_MEDIA_TYPE);
    let bundle: Value = serde_json::from_slice(&reg.get_blob("team/app", layer["digest"].as_str().unwrap())).unwrap();
    let hint = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(key.public_key().spki_der()));
    assert_eq!(bundle["verificationMaterial"]["publicKey"]["hint"], hint.as_str());
    assert_eq!(bundle["dsseEnvelope"]["payloadType"], "application/vnd.in-toto+json");

    let ok = referrers::verify_bundles(&image, &key.public_key_pem(), &reg.verify_opts()).unwrap();
    assert_eq!(ok.len(), 1);
    assert_eq!(ok[0].manifest_digest, referrer_digest);
    assert!(ok[0].statement.has_subject_digest(&digest));
    assert!(!ok[0].tlog_verified);
}

#[test]
fn signatures_accumulate_and_keys_are_told_apart() {
    let Some(reg) = Registry::start() else { return };
    reg.push(&layout("node-app"), "team/app:v1");
    let image = format!("{}/team/app:v1", reg.host());
    let digest = reg.manifest_digest("team/app", "v1");
    let (k1, k2, k3) = (keys::generate().unwrap(), keys::generate().unwrap(), keys::generate().unwrap());
    referrers::sign_bundle(&image, &k1, serde_json::Map::new(), &reg.opts()).unwrap();
    referrers::sign_bundle(&image, &k2, serde_json::Map::new(), &reg.opts()).unwrap();

    let index = fallback_index(&reg, "team/app", &digest);
    let m = index["manifests"].as_array().unwrap();
    assert_eq!(m.len(), 2, "{index}");
    assert_ne!(m[0]["digest"], m[1]["digest"]);
    assert!(m.iter().all(|e| e["artifactType"] == BUNDLE_V03_MEDIA_TYPE));

    for k in [&k1, &k2] {
        let ok = referrers::verify_bundles(&image, &k.public_key_pem(), &reg.verify_opts()).unwrap();
        assert_eq!(ok.len(), 1);
    }
    let e = referrers::verify_bundles(&image, &k3.public_key_pem(), &reg.verify_opts()).unwrap_err().to_string();
    assert!(e.contains("no valid Sigstore bundle") && e.contains("another key"), "{e}");
    assert!(e.contains("referrer 1 (") && e.contains("referrer 2 ("), "{e}");
}

#[test]
fn a_bundle_copied_to_another_image_fails_naming_the_digest() {
    let Some(reg) = Registry::start() else { return };
    reg.push(&layout("node-app"), "team/app:a");
    reg.push(&layout("python-app"), "team/app:b");
    let (a, b) = (reg.manifest_digest("team/app", "a"), reg.manifest_digest("team/app", "b"));
    assert_ne!(a, b);
    let key = keys::generate().unwrap();
    referrers::sign_bundle(&format!("{}/team/app:a", reg.host()), &key, serde_json::Map::new(), &reg.opts()).unwrap();
    let index = reg.get_manifest("team/app", &a.replace(':', "-"), OCI_INDEX).unwrap();
    reg.put_manifest("team/app", &b.replace(':', "-"), OCI_INDEX, &index);

    let image_b = format!("{}/team/app:b", reg.host());
    let e = referrers::verify_bundles(&image_b, &key.public_key_pem(), &reg.verify_opts()).unwrap_err().to_string();
    assert!(e.contains(&format!("its subject is {a}, not this image's {b}")), "{e}");
    // Image A itself still verifies.
    referrers::verify_bundles(&format!("{}/team/app:a", reg.host()), &key.public_key_pem(), &reg.verify_opts())
        .unwrap();
}

#[test]
fn a_tampered_bundle_fails() {
    let Some(reg) = Registry::start() else { return };
    reg.push(&layout("node-app"), "team/app:v1");
    let image = format!("{}/team/app:v1", reg.host());
    let digest = reg.manifest_digest("team/app", "v1");
    let key = keys::generate().unwrap();
    let signed = referrers::sign_bundle(&image, &key, serde_json::Map::new(), &reg.opts()).unwrap();
    let (_, referrer) = signed.location.split_once('@').unwrap();

    // Edit the signed statement (an annotation added to the subject) and re-push the bundle,
    // its manifest and the index, so only the signature can tell.
    let mut manifest: Value =
        serde_json::from_slice(&reg.get_manifest("team/app", referrer, OCI_MANIFEST).unwrap()).unwrap();
    let layer_digest = manifest["layers"][0]["digest"].as_str().unwrap().to_string();
    let mut bundle: Value = serde_json::from_slice(&reg.get_blob("team/app", &layer_digest)).unwrap();
    let b64 = base64::engine::general_purpose::STANDARD;
    let payload = b64.decode(bundle["dsseEnvelope"]["payload"].as_str().unwrap()).unwrap();
    let edited = String::from_utf8(payload).unwrap().replace(r#""annotations":{}"#, r#""annotations":{"env":"prod"}"#);
    assert!(edited.contains("prod"));
    bundle["dsseEnvelope"]["payload"] = json!(b64.encode(edited));
    let data = serde_json::to_vec(&bundle).unwrap();
    let new_layer = reg.put_blob("team/app", &data);
    manifest["layers"][0]["digest"] = json!(new_layer);
    manifest["layers"][0]["size"] = json!(data.len());
    let body = serde_json::to_vec(&manifest).unwrap();
    let new_manifest = sha(&body);
    reg.put_manifest("team/app", &new_manifest, OCI_MANIFEST, &body);
    let mut index = fallback_index(&reg, "team/app", &digest);
    index["manifests"][0]["digest"] = json!(new_manifest);
    index["manifests"][0]["size"] = json!(body.len());
    reg.put_manifest("team/app", &digest.replace(':', "-"), OCI_INDEX, &serde_json::to_vec(&index).unwrap());

    let e = referrers::verify_bundles(&image, &key.public_key_pem(), &reg.verify_opts()).unwrap_err().to_string();
    assert!(e.contains(&new_manifest) && e.contains("does not match"), "{e}");
}
