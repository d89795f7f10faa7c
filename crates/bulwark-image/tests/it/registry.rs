//! Pulling from a real registry on loopback: Debian's `docker-registry` (distribution 2.8),
//! started per test by bulwark-testkit with its own storage and port, and fed with `skopeo copy`
//! from the shared OCI layouts. Without the registry or skopeo (htpasswd, openssl for the tests
//! that need them) a test says SKIPPED, unless `CI` is set: then it fails (`.ci/run` installs
//! them).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use base64::Engine as _;
use bulwark_catalog::{Inventory, PackageType};
use bulwark_image::{catalog, ImageError, Options};
use bulwark_testkit::docker::sha256 as sha;
use bulwark_testkit::{docker_registry, DockerOptions, DockerRegistry};
use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::Duration;

const NODE_MANIFEST: &str = "sha256:afe831cd21e07c7e05df6f359834d604c6af74d69569103a00a97fdbe18b27a7";
const NODE_LAYER: &str = "sha256:1cbaad6ad13ba5fec26388b372ad0c44cb7f7f0fc67c317ab7a03128f9611be0";
const PYTHON_MANIFEST: &str = "sha256:f69f26e204d465a56955043d68260bde8d93a2c0f02f13b30ad6763a940dcb4c";

fn layout(name: &str) -> PathBuf {
    bulwark_testkit::image(name)
}

/// A Docker config.json in the registry's temp dir (one directory per content).
fn docker_config(reg: &DockerRegistry, json: &str) -> PathBuf {
    reg.docker_config(&format!("docker-{}", sha(json.as_bytes()).split_at(15).0.replace(':', "")), json)
}

/// Options for a pull: insecure (plain HTTP), no cache, and an empty config.json so that
/// the tester's own `~/.docker` plays no part.
fn pull_opts(reg: &DockerRegistry) -> Options {
    Options { insecure: true, no_cache: true, docker_config: Some(docker_config(reg, "{}")), ..Default::default() }
}

fn pull(reference: &str, opts: &Options) -> Inventory {
    catalog(reference, opts).unwrap_or_else(|e| panic!("{reference}: {e}"))
}

fn packages(inv: &Inventory) -> BTreeSet<(PackageType, String, String, String, Option<String>)> {
    inv.packages
        .iter()
        .map(|p| (p.kind, p.name.clone(), p.version.clone(), p.location.path.clone(), p.location.layer.clone()))
        .collect()
}

fn count(inv: &Inventory, kind: PackageType) -> usize {
    inv.packages.iter().filter(|p| p.kind == kind).count()
}

fn layout_scan(name: &str) -> Inventory {
    pull(&format!("oci-dir:{}:1.0", layout(name).display()), &Options { no_cache: true, ..Default::default() })
}

#[test]
fn anonymous_pull_equals_the_oci_layout() {
    let reg = docker_registry!();
    reg.push_layout(&layout("python-app"), "1.0", "team/python:v1", &[]);
    reg.push_layout(&layout("node-app"), "1.0", "team/app:v1", &[]);

    let reference = format!("{}/team/python:v1", reg.host());
    let inv = pull(&reference, &Options { progress: true, ..pull_opts(&reg) });
    let want = layout_scan("python-app");
    assert_eq!(inv.source.kind, "registry");
    assert_eq!(inv.source.input, reference);
    assert_eq!(inv.source.name.as_deref(), Some(reference.as_str()));
    assert_eq!(inv.source.manifest_digest.as_deref(), Some(PYTHON_MANIFEST));
    assert_eq!(inv.source.image_id, want.source.image_id);
    assert_eq!(inv.source.platform.as_deref(), Some("linux/amd64"));
    assert_eq!(inv.source.layers.len(), 2);
    assert_eq!(inv.source.layers, want.source.layers, "digests, diff ids, media types and sizes");
    assert_eq!(count(&inv, PackageType::Deb), 110);
    let ssl = inv.packages.iter().find(|p| p.name == "libssl3").unwrap();
    assert_eq!(ssl.version, "3.0.20-1~deb12u2");
    assert_eq!(ssl.location.layer.as_deref(), Some(inv.source.layers[1].diff_id.as_str()));
    assert_eq!(packages(&inv), packages(&want));

    // The `registry:` prefix, and a one-layer image with no OS.
    let inv = pull(&format!("registry:{}/team/app:v1", reg.host()), &pull_opts(&reg));
    let want = layout_scan("node-app");
    assert_eq!(inv.source.manifest_digest.as_deref(), Some(NODE_MANIFEST));
    assert_eq!(inv.source.layers.len(), 1);
    assert_eq!(inv.source.layers[0].digest.as_deref(), Some(NODE_LAYER));
    assert_eq!(inv.source.layers, want.source.layers);
    assert_eq!(packages(&inv), packages(&want));
    // 69 packages and the app itself (found both in the lockfile and in node_modules).
    let npm: BTreeSet<_> =
        inv.packages.iter().filter(|p| p.kind == PackageType::Npm).map(|p| (&p.name, &p.version)).collect();
    assert_eq!(npm.len(), 70, "{npm:?}");
    assert!(npm.contains(&(&"lodash".to_string(), &"4.17.15".to_string())), "{npm:?}");
}

#[test]
fn docker_schema2_manifest() {
    let reg = docker_registry!();
    reg.push_layout(&layout("node-app"), "1.0", "team/app:v2s2", &["--format", "v2s2"]);
    let inv = pull(&format!("{}/team/app:v2s2", reg.host()), &pull_opts(&reg));
    let want = layout_scan("node-app");
    let digest = inv.source.manifest_digest.clone().unwrap();
    assert_ne!(digest, NODE_MANIFEST, "converted, so a manifest of its own");
    assert_eq!(inv.source.layers[0].media_type.as_deref(), Some("application/vnd.docker.image.rootfs.diff.tar.gzip"));
    assert_eq!(inv.source.layers[0].diff_id, want.source.layers[0].diff_id);
    assert_eq!(packages(&inv), packages(&want));
}

#[test]
fn basic_auth_with_credentials_from_a_docker_config() {
    let reg = docker_registry!(DockerOptions::default().auth("bulwark", "s3cret-pass"));
    reg.push_layout(&layout("node-app"), "1.0", "team/app:v1", &[]);
    let reference = format!("{}/team/app:v1", reg.host());

    // `auth` (base64 of user:pass) under the bare host, as `docker login` writes it.
    let auth = base64::engine::general_purpose::STANDARD.encode("bulwark:s3cret-pass");
    let config = docker_config(&reg, &format!(r#"{{"auths": {{"{}": {{"auth": "{auth}"}}}}}}"#, reg.host()));
    let inv = pull(&reference, &Options { docker_config: Some(config), ..pull_opts(&reg) });
    assert_eq!(inv.source.manifest_digest.as_deref(), Some(NODE_MANIFEST));

    // username/password under a key with scheme and path, given as the directory holding
    // config.json (as DOCKER_CONFIG names it).
    let config = docker_config(
        &reg,
        &format!(
            r#"{{"auths": {{"http://{}/v2/": {{"username": "bulwark", "password": "s3cret-pass"}}}}, "credsStore": "nope"}}"#,
            reg.host()
        ),
    );
    let inv = pull(&reference, &Options { docker_config: Some(config.parent().unwrap().into()), ..pull_opts(&reg) });
    assert_eq!(inv.source.layers[0].digest.as_deref(), Some(NODE_LAYER));
}

#[test]
fn wrong_or_missing_credentials_are_clear_errors() {
    let reg = docker_registry!(DockerOptions::default().auth("bulwark", "s3cret-pass"));
    reg.push_layout(&layout("node-app"), "1.0", "team/app:v1", &[]);
    let reference = format!("{}/team/app:v1", reg.host());

    let auth = base64::engine::general_purpose::STANDARD.encode("bulwark:Wr0ng-guess");
    let config = docker_config(&reg, &format!(r#"{{"auths": {{"{}": {{"auth": "{auth}"}}}}}}"#, reg.host()));
    let err = catalog(&reference, &Options { docker_config: Some(config.clone()), ..pull_opts(&reg) }).unwrap_err();
    let msg = err.to_string();
    eprintln!("wrong password: {msg}");
    assert!(matches!(err, ImageError::Registry(_)), "{err:?}");
    assert!(msg.contains("authentication failed (HTTP 401)") && msg.contains("were rejected"), "{msg}");
    assert!(msg.contains(&config.display().to_string()), "names where the credentials came from: {msg}");
    assert!(!msg.contains("Wr0ng-guess") && !msg.contains(&auth), "no secret in the message: {msg}");

    let err = catalog(&reference, &pull_opts(&reg)).unwrap_err().to_string();
    eprintln!("no credentials: {err}");
    assert!(err.contains("authentication required (HTTP 401)") && err.contains("docker login"), "{err}");
}

#[test]
fn plain_http_needs_insecure() {
    let reg = docker_registry!();
    reg.push_layout(&layout("node-app"), "1.0", "team/app:v1", &[]);
    let err = catalog(&format!("{}/team/app:v1", reg.host()), &Options { insecure: false, ..pull_opts(&reg) })
        .unwrap_err()
        .to_string();
    eprintln!("no --insecure: {err}");
    assert!(err.contains("--insecure"), "{err}");
    assert!(err.contains("https://"), "says it tried HTTPS: {err}");
}

#[test]
fn pull_by_digest() {
    let reg = docker_registry!();
    reg.push_layout(&layout("node-app"), "1.0", "team/app:v1", &[]);
    let reference = format!("{}/team/app@{NODE_MANIFEST}", reg.host());
    let inv = pull(&reference, &pull_opts(&reg));
    assert_eq!(inv.source.manifest_digest.as_deref(), Some(NODE_MANIFEST));
    assert_eq!(inv.source.name.as_deref(), Some(reference.as_str()));
    assert_eq!(inv.source.layers[0].digest.as_deref(), Some(NODE_LAYER));

    let absent = format!("{}/team/app@{}", reg.host(), sha(b"no such manifest"));
    let err = catalog(&absent, &pull_opts(&reg)).unwrap_err().to_string();
    eprintln!("absent digest: {err}");
    assert!(err.contains("HTTP 404") && err.contains("MANIFEST_UNKNOWN"), "{err}");
}

/// An OCI layout whose tag `multi` is an index of two platform manifests over node-app's
/// layer: the amd64 one is node-app's own, the arm64/v8 one has a config saying so.
/// Returns the layout and the arm64 manifest's digest.
fn multi_arch_layout(dir: &Path) -> (PathBuf, String) {
    let src = layout("node-app");
    let blobs = dir.join("oci/blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    let put = |data: &[u8]| -> String {
        let d = sha(data);
        std::fs::write(blobs.join(d.strip_prefix("sha256:").unwrap()), data).unwrap();
        d
    };
    let read = |d: &str| std::fs::read(src.join("blobs/sha256").join(d.strip_prefix("sha256:").unwrap())).unwrap();
    let amd_manifest = read(NODE_MANIFEST);
    put(&read(NODE_LAYER));
    let manifest: serde_json::Value = serde_json::from_slice(&amd_manifest).unwrap();
    let amd_config = read(manifest["config"]["digest"].as_str().unwrap());
    put(&amd_config);
    put(&amd_manifest);

    let mut config: serde_json::Value = serde_json::from_slice(&amd_config).unwrap();
    config["architecture"] = "arm64".into();
    config["variant"] = "v8".into();
    let arm_config = serde_json::to_vec(&config).unwrap();
    let mut arm = manifest.clone();
    arm["config"]["digest"] = put(&arm_config).into();
    arm["config"]["size"] = arm_config.len().into();
    let arm_manifest = serde_json::to_vec(&arm).unwrap();
    let arm_digest = put(&arm_manifest);

    let entry = |digest: &str, size: usize, arch: &str, variant: Option<&str>| {
        let mut platform = serde_json::json!({"os": "linux", "architecture": arch});
        if let Some(v) = variant {
            platform["variant"] = v.into();
        }
        serde_json::json!({"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest, "size": size, "platform": platform})
    };
    let index = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            entry(NODE_MANIFEST, amd_manifest.len(), "amd64", None),
            entry(&arm_digest, arm_manifest.len(), "arm64", Some("v8")),
        ]
    }))
    .unwrap();
    let index_digest = put(&index);
    let top = serde_json::json!({
        "schemaVersion": 2,
        "manifests": [{
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "digest": index_digest,
            "size": index.len(),
            "annotations": {"org.opencontainers.image.ref.name": "multi"}
        }]
    });
    std::fs::write(dir.join("oci/index.json"), serde_json::to_vec(&top).unwrap()).unwrap();
    std::fs::write(dir.join("oci/oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    (dir.join("oci"), arm_digest)
}

#[test]
fn multi_arch_index_picks_the_platform() {
    let reg = docker_registry!();
    let work = tempfile::tempdir().unwrap();
    let (oci, arm_digest) = multi_arch_layout(work.path());
    reg.push_layout(&oci, "multi", "team/multi:v1", &["--all"]);
    let reference = format!("{}/team/multi:v1", reg.host());

    let inv = pull(&reference, &Options { platform: Some("linux/arm64".into()), ..pull_opts(&reg) });
    assert_eq!(inv.source.manifest_digest.as_deref(), Some(arm_digest.as_str()));
    assert_eq!(inv.source.platform.as_deref(), Some("linux/arm64/v8"));
    assert_eq!(inv.source.layers[0].digest.as_deref(), Some(NODE_LAYER));

    let inv = pull(&reference, &Options { platform: Some("linux/amd64".into()), ..pull_opts(&reg) });
    assert_eq!(inv.source.manifest_digest.as_deref(), Some(NODE_MANIFEST));
    assert_eq!(inv.source.platform.as_deref(), Some("linux/amd64"));

    // No --platform: the host's.
    let host_arch = match std::env::consts::ARCH {
        "x86_64" => Some(NODE_MANIFEST),
        "aarch64" => Some(arm_digest.as_str()),
        _ => None,
    };
    if let Some(want) = host_arch {
        assert_eq!(pull(&reference, &pull_opts(&reg)).source.manifest_digest.as_deref(), Some(want));
    }

    let err = catalog(&reference, &Options { platform: Some("linux/s390x".into()), ..pull_opts(&reg) })
        .unwrap_err()
        .to_string();
    eprintln!("unknown platform: {err}");
    assert!(err.contains("no image for platform linux/s390x"), "{err}");
    assert!(err.contains("linux/amd64, linux/arm64/v8") && err.contains("--platform"), "{err}");
}

#[test]
fn corrupted_blob_in_the_registry_is_named() {
    let reg = docker_registry!();
    reg.push_layout(&layout("node-app"), "1.0", "team/app:v1", &[]);
    // Same length, different bytes: only the digest can tell.
    let data = reg.blob_data(NODE_LAYER);
    let mut bytes = std::fs::read(&data).unwrap();
    for b in bytes.iter_mut().skip(4096).take(64) {
        *b ^= 0xff;
    }
    std::fs::write(&data, &bytes).unwrap();

    let err = catalog(&format!("{}/team/app:v1", reg.host()), &pull_opts(&reg)).unwrap_err();
    match &err {
        ImageError::DigestMismatch { digest, actual } => {
            assert_eq!(digest, NODE_LAYER);
            assert_eq!(actual, &sha(&bytes));
        }
        other => panic!("expected a digest mismatch, got {other:?}"),
    }
    eprintln!("corrupted blob: {err}");
    assert!(err.to_string().contains(NODE_LAYER), "{err}");
}

#[test]
fn cached_layers_are_not_downloaded_again() {
    let reg = docker_registry!();
    reg.push_layout(&layout("node-app"), "1.0", "team/app:v1", &[]);
    let cache = tempfile::tempdir().unwrap();
    let opts = Options { no_cache: false, cache_dir: Some(cache.path().to_path_buf()), ..pull_opts(&reg) };
    let reference = format!("{}/team/app:v1", reg.host());
    let first = pull(&reference, &opts);
    // Destroy the layer in the registry: a re-scan with the cache must not need it...
    let data = reg.blob_data(NODE_LAYER);
    let mut bytes = std::fs::read(&data).unwrap();
    for b in bytes.iter_mut().skip(4096).take(64) {
        *b ^= 0xff;
    }
    std::fs::write(&data, &bytes).unwrap();
    let again = pull(&reference, &opts);
    assert_eq!(first.packages, again.packages);
    // ...while a scan without it downloads the layer and notices.
    let err = catalog(&reference, &pull_opts(&reg)).unwrap_err();
    assert!(matches!(err, ImageError::DigestMismatch { .. }), "{err}");
}

#[test]
fn self_signed_https_needs_insecure() {
    let reg = docker_registry!(DockerOptions::default().tls());
    reg.push_layout(&layout("node-app"), "1.0", "team/app:v1", &[]);
    let reference = format!("{}/team/app:v1", reg.host());
    let err = catalog(&reference, &Options { insecure: false, ..pull_opts(&reg) }).unwrap_err().to_string();
    eprintln!("self-signed without --insecure: {err}");
    assert!(err.contains("--insecure") && err.to_lowercase().contains("certificate"), "{err}");
    // The port speaks only TLS: this pull went over HTTPS, unverified.
    let inv = pull(&reference, &pull_opts(&reg));
    assert_eq!(inv.source.manifest_digest.as_deref(), Some(NODE_MANIFEST));
}

/// One request to a [`FakeRegistry`]: method, path with query, headers with lowercase names.
struct Request {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// A response: status line and headers (without the blank line), and a streamed body.
type Response = (String, Box<dyn Read + Send>);

fn respond(status: &str, headers: &[(&str, &str)], body: Vec<u8>) -> Response {
    let mut head = format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\n", body.len());
    for (n, v) in headers {
        head.push_str(&format!("{n}: {v}\r\n"));
    }
    (head, Box::new(std::io::Cursor::new(body)))
}

/// A registry played by a closure, for what a real one never does (or needs a token server
/// for). One connection at a time, `Connection: close`.
struct FakeRegistry {
    port: u16,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FakeRegistry {
    fn start(handler: impl Fn(&Request, u16) -> Response + Send + 'static) -> FakeRegistry {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).unwrap();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                let Ok((mut s, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                };
                let _ = s.set_nonblocking(false);
                let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
                let mut head: Vec<u8> = Vec::new();
                let mut buf = [0u8; 4096];
                // To the end of the head, or no further than the first bytes of what is not
                // HTTP (the TLS hello of an insecure pull's probe).
                while !head.windows(4).any(|w| w == b"\r\n\r\n")
                    && head.len() < 65536
                    && head.first().is_none_or(|&b| b.is_ascii_uppercase())
                {
                    match s.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let text = String::from_utf8_lossy(&head).into_owned();
                let mut lines = text.split("\r\n");
                let mut first = lines.next().unwrap_or("").split(' ');
                let (Some(method), Some(path)) = (first.next(), first.next()) else {
                    continue;
                };
                if !method.bytes().all(|b| b.is_ascii_uppercase()) {
                    continue;
                }
                let headers = lines
                    .filter_map(|l| l.split_once(':'))
                    .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
                    .collect();
                let req = Request { method: method.into(), path: path.into(), headers };
                let (head, mut body) = handler(&req, port);
                if s.write_all(format!("{head}Connection: close\r\n\r\n").as_bytes()).is_ok() && req.method != "HEAD" {
                    // An error here is the client hanging up, as it should past a size cap.
                    let _ = std::io::copy(&mut body, &mut s);
                }
            }
        });
        FakeRegistry { port, stop, thread: Some(thread) }
    }
}

impl Drop for FakeRegistry {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn empty_config() -> (tempfile::TempDir, Options) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("config.json"), "{}").unwrap();
    let opts = Options {
        insecure: true,
        no_cache: true,
        docker_config: Some(dir.path().join("config.json")),
        ..Default::default()
    };
    (dir, opts)
}

#[test]
fn oversized_manifest_is_refused_while_reading() {
    // Close-delimited, with no Content-Length to refuse early: the cap must hold mid-read.
    let fake = FakeRegistry::start(|req, _| {
        if req.path.contains("/manifests/") {
            let head = "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.oci.image.manifest.v1+json\r\n";
            (head.to_string(), Box::new(std::io::repeat(b' ').take(64 << 20)))
        } else {
            respond("200 OK", &[], b"{}".to_vec())
        }
    });
    let (_dir, opts) = empty_config();
    let err = catalog(&format!("127.0.0.1:{}/team/app:v1", fake.port), &opts).unwrap_err().to_string();
    eprintln!("oversized manifest: {err}");
    assert!(err.contains("larger than 8388608 bytes"), "{err}");
}

/// The bearer-token dance: `/v2/` challenges with a token service, which checks the basic
/// credentials and hands out a token that the manifest and blob requests must carry.
#[test]
fn bearer_token_from_the_token_service() {
    const TOKEN: &str = "tok-Zm9vYmFy.123";
    let node = layout("node-app");
    let scopes = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let seen = scopes.clone();
    let fake = FakeRegistry::start(move |req, port| {
        let good = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("robot:t0ken-pass"));
        if let Some(query) = req.path.strip_prefix("/token?") {
            seen.lock().unwrap().push(query.to_string());
            return if req.header("authorization") == Some(good.as_str()) {
                let body = format!(r#"{{"token": "{TOKEN}", "expires_in": 300}}"#);
                respond("200 OK", &[("Content-Type", "application/json")], body.into_bytes())
            } else {
                respond("401 Unauthorized", &[], br#"{"details": "bad credentials"}"#.to_vec())
            };
        }
        if req.header("authorization") != Some(format!("Bearer {TOKEN}").as_str()) {
            let challenge = format!(
                r#"Bearer realm="http://127.0.0.1:{port}/token",service="fake-registry",scope="repository:team/app:pull""#
            );
            return respond(
                "401 Unauthorized",
                &[("WWW-Authenticate", challenge.as_str()), ("Content-Type", "application/json")],
                br#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#.to_vec(),
            );
        }
        let blob = |digest: &str| std::fs::read(node.join("blobs/sha256").join(&digest[7..])).ok();
        if req.path == "/v2/" {
            respond("200 OK", &[], b"{}".to_vec())
        } else if req.path == "/v2/team/app/manifests/v1" {
            let body = blob(NODE_MANIFEST).unwrap();
            respond(
                "200 OK",
                &[
                    ("Content-Type", "application/vnd.oci.image.manifest.v1+json"),
                    ("Docker-Content-Digest", NODE_MANIFEST),
                ],
                body,
            )
        } else if let Some(d) = req.path.strip_prefix("/v2/team/app/blobs/") {
            match (d.len() == 71).then(|| blob(d)).flatten() {
                Some(body) => respond("200 OK", &[("Docker-Content-Digest", d)], body),
                None => respond("404 Not Found", &[], Vec::new()),
            }
        } else {
            respond("404 Not Found", &[], Vec::new())
        }
    });
    let host = format!("127.0.0.1:{}", fake.port);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.json");
    std::fs::write(&config, format!(r#"{{"auths": {{"{host}": {{"username": "robot", "password": "t0ken-pass"}}}}}}"#))
        .unwrap();
    let opts = Options { insecure: true, no_cache: true, docker_config: Some(config.clone()), ..Default::default() };
    let inv = pull(&format!("{host}/team/app:v1"), &opts);
    assert_eq!(inv.source.manifest_digest.as_deref(), Some(NODE_MANIFEST));
    assert_eq!(inv.source.layers[0].digest.as_deref(), Some(NODE_LAYER));
    let scopes = scopes.lock().unwrap().clone();
    assert!(
        !scopes.is_empty() && scopes.iter().all(|q| q.contains("scope=repository%3Ateam%2Fapp%3Apull")),
        "{scopes:?}"
    );

    std::fs::write(&config, format!(r#"{{"auths": {{"{host}": {{"username": "robot", "password": "guess"}}}}}}"#))
        .unwrap();
    let err = catalog(&format!("{host}/team/app:v1"), &opts).unwrap_err().to_string();
    eprintln!("token service refused: {err}");
    assert!(err.contains("authentication failed (HTTP 401)") && err.contains("were rejected"), "{err}");
    assert!(!err.contains("guess"), "{err}");
}
