//! `bulwark registry` with real clients: skopeo both ways (OCI layouts and docker-archives from
//! ../shared, with and without auth), a layout built by umoci, `bulwark sign`/`verify` storing
//! signatures in it (the referrers API path), and a chunked upload of a 200 MB blob.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

use crate::common;

use crate::common::own_registry::{layout_digest, layout_tag, OwnRegistry};
use sha2::{Digest as _, Sha256};
use std::path::Path;
use std::process::{Command, Output};

fn ok(out: &Output) -> String {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn sha256_file(p: &Path) -> String {
    let mut h = Sha256::new();
    std::io::copy(&mut std::fs::File::open(p).unwrap(), &mut h).unwrap();
    format!("sha256:{}", hex::encode(h.finalize()))
}

/// Every blob of a pulled layout hashes to its name.
fn assert_layout_intact(layout: &Path) {
    let dir = layout.join("blobs/sha256");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_str().unwrap().to_string();
        assert_eq!(sha256_file(&p), format!("sha256:{name}"), "{}", p.display());
        n += 1;
    }
    assert!(n >= 3, "{}: only {n} blobs", layout.display());
}

fn raw_manifest_digest(reg: &OwnRegistry, reference: &str, creds: Option<&str>) -> String {
    let mut cmd = Command::new("skopeo");
    cmd.args(["inspect", "--raw", "--tls-verify=false"]);
    if let Some(c) = creds {
        cmd.args(["--creds", c]);
    }
    let out = cmd.arg(format!("docker://{}/{reference}", reg.host())).output().unwrap();
    let raw = out.stdout;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    format!("sha256:{}", hex::encode(Sha256::digest(&raw)))
}

#[test]
fn skopeo_copies_both_ways_with_and_without_auth() {
    bulwark_testkit::require_tool!("skopeo");
    let reg = OwnRegistry::start("", "[scan]\non_push = false");
    reg.add_user("alice", "alice-password", &["team-a:push"], false);
    reg.add_user("bob", "bob-password", &["team-b:pull"], false);
    reg.project("team-a", &[]);
    let alice = Some("alice:alice-password");
    let work = tempfile::tempdir().unwrap();

    // Anonymous push is refused; a pusher's works, from OCI layouts and docker-archives.
    let out = reg.skopeo_push(&format!("oci:{}:1.0", common::image("rust-app").display()), "team-a/rust:1", None);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("authentication required") || err.contains("unauthorized"), "{err}");

    for name in ["node-app", "rust-app", "java-app", "python-app", "multi-layer", "zstd-layer"] {
        let layout = common::image(name);
        let src = format!("oci:{}:{}", layout.display(), layout_tag(&layout));
        ok(&reg.skopeo_push(&src, &format!("team-a/{name}:v1"), alice));
        // An OCI layout is copied as is: the registry holds the very manifest.
        assert_eq!(raw_manifest_digest(&reg, &format!("team-a/{name}:v1"), alice), layout_digest(&layout), "{name}");
        // Back out, as an OCI layout and as a docker-archive.
        let out_layout = work.path().join(format!("{name}-oci"));
        ok(&reg.skopeo_pull(&format!("team-a/{name}:v1"), &format!("oci:{}:x", out_layout.display()), alice));
        assert_layout_intact(&out_layout);
        let idx = std::fs::read_to_string(out_layout.join("index.json")).unwrap();
        assert!(idx.contains(&layout_digest(&layout)), "{name}: {idx}");
    }
    for name in ["node-app", "rust-app", "python-app"] {
        let tar = common::shared().join(format!("images/{name}/{name}.docker.tar"));
        if !tar.exists() {
            continue;
        }
        ok(&reg.skopeo_push(&format!("docker-archive:{}", tar.display()), &format!("team-a/{name}-tar:v1"), alice));
        let out_tar = work.path().join(format!("{name}.tar"));
        ok(&reg.skopeo_pull(&format!("team-a/{name}-tar:v1"), &format!("docker-archive:{}", out_tar.display()), alice));
        // What came back is an image bulwark reads with the same packages as the original.
        let a = ok(&common::bulwark().args(["sbom", "-f", "json", "--no-cache"]).arg(&tar).output().unwrap());
        let b = ok(&common::bulwark().args(["sbom", "-f", "json", "--no-cache"]).arg(&out_tar).output().unwrap());
        let pk = |s: &str| {
            let v: serde_json::Value = serde_json::from_str(s).unwrap();
            let mut p: Vec<String> = v["packages"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| format!("{}@{}", p["name"].as_str().unwrap(), p["version"].as_str().unwrap_or("")))
                .collect();
            p.sort();
            p
        };
        assert_eq!(pk(&a), pk(&b), "{name}");
    }

    // Private: anonymous and the wrong project's user cannot pull; the project's user can.
    let dest = format!("oci:{}:x", work.path().join("anon").display());
    assert!(!reg.skopeo_pull("team-a/node-app:v1", &dest, None).status.success());
    assert!(!reg.skopeo_pull("team-a/node-app:v1", &dest, Some("bob:bob-password")).status.success());
    assert!(!reg.skopeo_pull("team-a/node-app:v1", &dest, Some("alice:wrong-password")).status.success());
    // Public: anonymous pulls work.
    let out = common::bulwark()
        .args(["registry", "project", "update", "team-a", "--public", "true", "--data"])
        .arg(reg.data())
        .output()
        .unwrap();
    ok(&out);
    ok(&reg.skopeo_pull("team-a/node-app:v1", &dest, None));
    assert_layout_intact(&work.path().join("anon"));
}

#[test]
fn a_layout_built_by_umoci_round_trips() {
    bulwark_testkit::require_tool!("skopeo");
    bulwark_testkit::require_tool!("umoci");
    let reg = OwnRegistry::start("anonymous = \"full\"", "[scan]\non_push = false");
    let work = tempfile::tempdir().unwrap();
    let layout = work.path().join("layout");
    let l = layout.to_str().unwrap();
    ok(&Command::new("umoci").args(["init", "--layout", l]).output().unwrap());
    ok(&Command::new("umoci").args(["new", "--image", &format!("{l}:base")]).output().unwrap());
    let file = work.path().join("hello.txt");
    std::fs::write(&file, "hello from umoci\n").unwrap();
    ok(&Command::new("umoci")
        .args(["insert", "--image", &format!("{l}:base"), file.to_str().unwrap(), "/hello.txt"])
        .output()
        .unwrap());
    ok(&Command::new("umoci")
        .args(["config", "--image", &format!("{l}:base"), "--tag", "v1", "--config.user", "1000"])
        .output()
        .unwrap());
    let digest = {
        let idx: serde_json::Value =
            serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
        idx["manifests"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["annotations"]["org.opencontainers.image.ref.name"] == "v1")
            .unwrap()["digest"]
            .as_str()
            .unwrap()
            .to_string()
    };
    ok(&reg.skopeo_push(&format!("oci:{l}:v1"), "umoci/hello:v1", None));
    assert_eq!(raw_manifest_digest(&reg, "umoci/hello:v1", None), digest);
    let back = work.path().join("back");
    ok(&reg.skopeo_pull("umoci/hello:v1", &format!("oci:{}:v1", back.display()), None));
    let bundle = work.path().join("bundle");
    ok(&Command::new("umoci")
        .args(["unpack", "--rootless", "--image", &format!("{}:v1", back.display()), bundle.to_str().unwrap()])
        .output()
        .unwrap());
    assert_eq!(std::fs::read_to_string(bundle.join("rootfs/hello.txt")).unwrap(), "hello from umoci\n");
}

fn run_in(dir: &Path, args: &[&str]) -> Output {
    common::bulwark().current_dir(dir).env("COSIGN_PASSWORD", "s3cret").args(args).output().unwrap()
}

#[test]
fn bulwark_sign_and_verify_store_signatures_in_it() {
    bulwark_testkit::require_tool!("skopeo");
    let reg = OwnRegistry::start("", "[scan]\non_push = false");
    reg.add_user("ci", "ci-password-1", &["team:push"], false);
    let node = common::image("node-app");
    ok(&reg.skopeo_push(
        &format!("oci:{}:{}", node.display(), layout_tag(&node)),
        "team/app:1.0",
        Some("ci:ci-password-1"),
    ));
    let digest = layout_digest(&node);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Credentials as Docker keeps them.
    let auth = base64_encode("ci:ci-password-1");
    std::fs::write(d.join("config.json"), format!(r#"{{"auths":{{"{}":{{"auth":"{auth}"}}}}}}"#, reg.host())).unwrap();
    let image = format!("{}/team/app:1.0", reg.host());
    let run = |args: &[&str]| {
        common::bulwark()
            .current_dir(d)
            .env("COSIGN_PASSWORD", "s3cret")
            .env("DOCKER_CONFIG", d)
            .args(args)
            .output()
            .unwrap()
    };
    ok(&run_in(d, &["generate-key-pair"]));
    let insecure = "--allow-insecure-registry";
    ok(&run(&["sign", "--key", "cosign.key", insecure, &image]));
    let payloads: serde_json::Value =
        serde_json::from_str(&ok(&run(&["verify", "--key", "cosign.pub", insecure, &image]))).unwrap();
    assert_eq!(payloads.as_array().unwrap().len(), 1);

    // The bundle went through the referrers API: listed there, and no fallback tag was made.
    let client = reqwest::blocking::Client::new();
    let refs: serde_json::Value = client
        .get(reg.url(&format!("/v2/team/app/referrers/{digest}")))
        .basic_auth("ci", Some("ci-password-1"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let m = refs["manifests"].as_array().unwrap();
    assert_eq!(m.len(), 1, "{refs}");
    assert_eq!(m[0]["artifactType"], "application/vnd.dev.sigstore.bundle.v0.3+json");
    let tags: serde_json::Value = client
        .get(reg.url("/v2/team/app/tags/list"))
        .basic_auth("ci", Some("ci-password-1"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(tags["tags"], serde_json::json!(["1.0"]), "{tags}");

    // cosign v1/v2's .sig tag too, then both verify; an attestation verifies.
    ok(&run(&["sign", "--key", "cosign.key", "--new-bundle-format=false", insecure, &image]));
    let payloads: serde_json::Value =
        serde_json::from_str(&ok(&run(&["verify", "--key", "cosign.pub", insecure, &image]))).unwrap();
    assert_eq!(payloads.as_array().unwrap().len(), 2);
    std::fs::write(d.join("pred.json"), r#"{"hello":"world"}"#).unwrap();
    ok(&run(&["attest", "--key", "cosign.key", "--type", "custom", "--predicate", "pred.json", insecure, &image]));
    let st = ok(&run(&["verify-attestation", "--key", "cosign.pub", "--type", "custom", insecure, &image]));
    assert!(st.contains("hello"), "{st}");

    // Tampering with what is stored is caught: sign another image, copy its signature over.
    let rust = common::image("rust-app");
    ok(&reg.skopeo_push(
        &format!("oci:{}:{}", rust.display(), layout_tag(&rust)),
        "team/other:1.0",
        Some("ci:ci-password-1"),
    ));
    let other = format!("{}/team/other:1.0", reg.host());
    let out = run(&["verify", "--key", "cosign.pub", insecure, &other]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
}

fn base64_encode(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// A deterministic, incompressible byte stream (xorshift), so the upload is real work.
fn chunk(seed: &mut u64, len: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(len);
    while v.len() < len {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        v.extend_from_slice(&seed.to_le_bytes());
    }
    v.truncate(len);
    v
}

#[test]
fn chunked_upload_of_a_200_mb_blob() {
    let reg = OwnRegistry::start("", "[scan]\non_push = false");
    reg.add_user("up", "up-password", &["big:push"], false);
    let c = reqwest::blocking::Client::builder().timeout(std::time::Duration::from_secs(300)).build().unwrap();
    let auth = |r: reqwest::blocking::RequestBuilder| r.basic_auth("up", Some("up-password"));

    let start = auth(c.post(reg.url("/v2/big/blob/blobs/uploads/"))).send().unwrap();
    assert_eq!(start.status(), 202);
    assert_eq!(start.headers()["range"], "0-0");
    let mut location = start.headers()["location"].to_str().unwrap().to_string();

    const CHUNK: usize = 10 << 20;
    const TOTAL: usize = 200 << 20;
    let mut seed = 0x9e3779b97f4a7c15u64;
    let mut hasher = Sha256::new();
    let mut sent = 0usize;
    let mut first_chunk = Vec::new();
    while sent < TOTAL {
        let data = chunk(&mut seed, CHUNK);
        hasher.update(&data);
        if sent == 0 {
            first_chunk = data[..1000].to_vec();
        }
        let r = auth(c.patch(reg.url(&location)))
            .header("Content-Type", "application/octet-stream")
            .header("Content-Range", format!("{}-{}", sent, sent + data.len() - 1))
            .body(data.clone())
            .send()
            .unwrap();
        assert_eq!(r.status(), 202, "{:?}", r.text());
        sent += data.len();
        assert_eq!(r.headers()["range"].to_str().unwrap(), format!("0-{}", sent - 1));
        location = r.headers()["location"].to_str().unwrap().to_string();
        if sent == 5 * CHUNK {
            // A chunk that does not continue the upload is refused, saying where it stands.
            let r = auth(c.patch(reg.url(&location)))
                .header("Content-Range", format!("{}-{}", sent + 10, sent + 19))
                .body(vec![0u8; 10])
                .send()
                .unwrap();
            assert_eq!(r.status(), 416);
            assert_eq!(r.headers()["range"].to_str().unwrap(), format!("0-{}", sent - 1));
            // The client asks where to resume.
            let r = auth(c.get(reg.url(&location))).send().unwrap();
            assert_eq!(r.status(), 204);
            assert_eq!(r.headers()["range"].to_str().unwrap(), format!("0-{}", sent - 1));
        }
    }
    let digest = format!("sha256:{}", hex::encode(hasher.finalize()));
    // A wrong digest is refused.
    let wrong = format!("sha256:{}", "0".repeat(64));
    let sep = if location.contains('?') { '&' } else { '?' };
    let r = auth(c.put(reg.url(&format!("{location}{sep}digest={wrong}")))).send().unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().unwrap().contains("DIGEST_INVALID"));

    // The upload was dropped with the wrong digest (the spec allows it): upload again, whole.
    let start = auth(c.post(reg.url("/v2/big/blob/blobs/uploads/"))).send().unwrap();
    let location = start.headers()["location"].to_str().unwrap().to_string();
    let mut seed = 0x9e3779b97f4a7c15u64;
    let mut sent = 0;
    let mut loc = location;
    while sent < TOTAL {
        let data = chunk(&mut seed, CHUNK);
        let r = auth(c.patch(reg.url(&loc))).body(data).send().unwrap();
        assert_eq!(r.status(), 202);
        loc = r.headers()["location"].to_str().unwrap().to_string();
        sent += CHUNK;
    }
    let sep = if loc.contains('?') { '&' } else { '?' };
    let r = auth(c.put(reg.url(&format!("{loc}{sep}digest={digest}")))).send().unwrap();
    assert_eq!(r.status(), 201, "{:?}", r.text());
    assert_eq!(r.headers()["docker-content-digest"].to_str().unwrap(), digest);

    let r = auth(c.head(reg.url(&format!("/v2/big/blob/blobs/{digest}")))).send().unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-length"].to_str().unwrap(), TOTAL.to_string());
    let r =
        auth(c.get(reg.url(&format!("/v2/big/blob/blobs/{digest}")))).header("Range", "bytes=100-1099").send().unwrap();
    assert_eq!(r.status(), 206);
    assert_eq!(r.headers()["content-range"].to_str().unwrap(), format!("bytes 100-1099/{TOTAL}"));
    let part = r.bytes().unwrap();
    assert_eq!(&part[..900], &first_chunk[100..1000]);
    // The stored file is the blob, whole.
    assert_eq!(sha256_file(&reg.data().join("blobs/sha256").join(&digest[7..])), digest);
    // And streamed back whole.
    let mut r = auth(c.get(reg.url(&format!("/v2/big/blob/blobs/{digest}")))).send().unwrap();
    let mut h = Sha256::new();
    let n = std::io::copy(&mut r, &mut h).unwrap();
    assert_eq!(n as usize, TOTAL);
    assert_eq!(format!("sha256:{}", hex::encode(h.finalize())), digest);
}
