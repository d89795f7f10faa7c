//! Scan on push through the real server: images pushed with skopeo are scanned with the same
//! code as `bulwark scan` (their findings equal the independent oracle's), the report and SBOM
//! are served from /api/v1, `bulwark scan REF` uses the stored SBOM, a project can refuse pulls
//! of vulnerable images, and a new advisory database re-matches without reading layers.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

use crate::common;
use crate::common::oci;

use crate::common::own_registry::{layout_tag, OwnRegistry};
use crate::common::scan_facts::{build_db, expected, records};
use std::path::PathBuf;
use std::time::{Duration, Instant};

fn push(reg: &OwnRegistry, image: &str, dest: &str, creds: Option<&str>) {
    let layout = common::image(image);
    let out = reg.skopeo_push(&format!("oci:{}:{}", layout.display(), layout_tag(&layout)), dest, creds);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// Poll /api/v1/scan until `done(answer)` or time runs out.
fn wait_scan(
    reg: &OwnRegistry,
    repo: &str,
    reference: &str,
    creds: (&str, &str),
    done: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let c = reqwest::blocking::Client::new();
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let r = c
            .get(reg.url("/api/v1/scan"))
            .query(&[("repository", repo), ("reference", reference)])
            .basic_auth(creds.0, Some(creds.1))
            .send()
            .unwrap();
        if r.status() == 200 {
            let v: serde_json::Value = r.json().unwrap();
            if done(&v) {
                return v;
            }
        }
        assert!(Instant::now() < deadline, "no scan of {repo}:{reference} in time:\n{}", reg.log());
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn pushed_images_are_scanned_and_the_reports_served() {
    bulwark_testkit::require_tool!("skopeo");
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("vuln.db");
    build_db(&db);
    let reg = OwnRegistry::start("", &format!("[scan]\ndb = \"{}\"", db.display()));
    reg.add_user("dev", "dev-password", &["team-a:push"], false);
    reg.add_user("other", "other-password", &["team-b:pull"], false);
    let dev = ("dev", "dev-password");
    push(&reg, "python-app", "team-a/py:v1", Some("dev:dev-password"));
    push(&reg, "node-app", "team-a/node:v1", Some("dev:dev-password"));

    for (repo, image) in [("team-a/py", "python-app"), ("team-a/node", "node-app")] {
        let v = wait_scan(&reg, repo, "v1", dev, |v| v["status"] == "done");
        assert_eq!(records(&v["report"]), expected(image), "{image}");
        assert_eq!(v["summary"]["total"].as_u64().unwrap() as usize, v["report"]["findings"].as_array().unwrap().len());
    }
    // Nothing leaks: the wrong project's user gets 404, as for a missing image; anonymous 401.
    let c = reqwest::blocking::Client::new();
    let q = [("repository", "team-a/py"), ("reference", "v1")];
    let r = c.get(reg.url("/api/v1/scan")).query(&q).basic_auth("other", Some("other-password")).send().unwrap();
    assert_eq!(r.status(), 404);
    let r = c.get(reg.url("/api/v1/scan")).query(&[("repository", "team-a/nope"), ("reference", "v1")]);
    assert_eq!(r.basic_auth("other", Some("other-password")).send().unwrap().status(), 404);
    assert_eq!(c.get(reg.url("/api/v1/scan")).query(&q).send().unwrap().status(), 401);

    // The SBOM, as CycloneDX.
    let sbom: serde_json::Value = c
        .get(reg.url("/api/v1/sbom"))
        .query(&[("repository", "team-a/py"), ("reference", "v1"), ("format", "cyclonedx-json")])
        .basic_auth(dev.0, Some(dev.1))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(sbom["bomFormat"], "CycloneDX");
    assert!(sbom["components"].as_array().unwrap().len() > 100);

    // `bulwark scan REF` takes the stored SBOM (no layer download) and matches it locally.
    let cfg = tmp.path().join("docker");
    std::fs::create_dir_all(&cfg).unwrap();
    use base64::Engine;
    let auth = base64::engine::general_purpose::STANDARD.encode("dev:dev-password");
    std::fs::write(cfg.join("config.json"), format!(r#"{{"auths":{{"{}":{{"auth":"{auth}"}}}}}}"#, reg.host()))
        .unwrap();
    let image = format!("{}/team-a/py:v1", reg.host());
    for extra in [&[][..], &["--no-registry-sbom"][..]] {
        let out = common::bulwark()
            .env("DOCKER_CONFIG", &cfg)
            .args(["scan", &image, "-q", "--insecure", "--no-cache", "-f", "json", "--db"])
            .arg(&db)
            .args(extra)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(records(&report), expected("python-app"), "{extra:?}");
        let kind = if extra.is_empty() { "registry-sbom" } else { "registry" };
        assert_eq!(report["source"]["kind"], kind, "{extra:?}");
    }

    // Harbor's "prevent vulnerable images from running": pulls refused above a severity.
    let v = wait_scan(&reg, "team-a/py", "v1", dev, |v| v["status"] == "done");
    let s = &v["summary"];
    let threshold = ["critical", "high", "medium", "low"]
        .into_iter()
        .find(|k| s[*k].as_u64().unwrap_or(0) > 0)
        .expect("python-app has findings with a severity");
    let set_block = |sev: &str| {
        let out = common::bulwark()
            .args(["registry", "project", "update", "team-a", "--block-severity", sev, "--data"])
            .arg(reg.data())
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    };
    set_block(threshold);
    let accept = "application/vnd.oci.image.manifest.v1+json";
    let r = c
        .get(reg.url("/v2/team-a/py/manifests/v1"))
        .header("Accept", accept)
        .basic_auth(dev.0, Some(dev.1))
        .send()
        .unwrap();
    assert_eq!(r.status(), 412);
    let body = r.text().unwrap();
    assert!(body.contains("DENIED") && body.contains(&threshold.to_uppercase()), "{body}");
    // HEAD still answers (signing tools resolve digests with it), and skopeo's pull fails.
    let r = c.head(reg.url("/v2/team-a/py/manifests/v1")).basic_auth(dev.0, Some(dev.1)).send().unwrap();
    assert_eq!(r.status(), 200);
    let out_dir = tmp.path().join("pulled");
    let dest = format!("oci:{}:x", out_dir.display());
    assert!(!reg.skopeo_pull("team-a/py:v1", &dest, Some("dev:dev-password")).status.success());
    set_block("");
    let out = reg.skopeo_pull("team-a/py:v1", &dest, Some("dev:dev-password"));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn a_new_database_rematches_stored_sboms_without_reading_layers() {
    bulwark_testkit::require_tool!("skopeo");
    let tmp = tempfile::tempdir().unwrap();
    let db: PathBuf = tmp.path().join("db/vuln.db");
    let reg = OwnRegistry::start("", &format!("[scan]\ndb = \"{}\"\ndb_poll_secs = 1", db.display()));
    reg.add_user("root", "root-password", &[], true);
    let root = ("root", "root-password");
    push(&reg, "python-app", "team-a/py:v1", Some("root:root-password"));
    // Scanned without a database: the inventory is kept, nothing matched yet.
    let v = wait_scan(&reg, "team-a/py", "v1", root, |v| v["status"] == "done");
    assert!(v["report"].is_null(), "{v}");

    // Take the layers away: whatever happens next cannot read them.
    let layout = common::image("python-app");
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(layout.join("blobs/sha256").join(&common::own_registry::layout_digest(&layout)[7..])).unwrap(),
    )
    .unwrap();
    for l in manifest["layers"].as_array().unwrap() {
        let d = l["digest"].as_str().unwrap();
        std::fs::remove_file(reg.data().join("blobs/sha256").join(&d[7..])).unwrap();
    }
    // A database appears (built aside, renamed in, as `bulwark db update` does).
    let staging = tmp.path().join("staging.db");
    build_db(&staging);
    std::fs::create_dir_all(db.parent().unwrap()).unwrap();
    std::fs::rename(&staging, &db).unwrap();
    let v = wait_scan(&reg, "team-a/py", "v1", root, |v| !v["report"].is_null());
    assert_eq!(records(&v["report"]), expected("python-app"));
    assert!(v["db_built"].is_string(), "{v}");

    // The admin API re-matches on demand too; others may not.
    let c = reqwest::blocking::Client::new();
    let r = c.post(reg.url("/api/v1/rescan")).basic_auth(root.0, Some(root.1)).send().unwrap();
    assert_eq!(r.status(), 200);
    let n: serde_json::Value = r.json().unwrap();
    assert!(n["rematched"].as_u64().is_some(), "{n}");
    assert_eq!(c.post(reg.url("/api/v1/rescan")).send().unwrap().status(), 401);
}

// --- the scan queue survives a restart, and unscanned images follow the pull policy (issue 10, D3)

const ROOT: (&str, &str) = ("root", "root-password");

fn sha256_hex(b: &[u8]) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(b))
}

/// An image of a shared layout, uploaded blob by blob over HTTP: the manifest is PUT later.
struct Staged {
    repo: String,
    digest: String,
    media_type: String,
    manifest: Vec<u8>,
}

fn stage(reg: &OwnRegistry, image: &str, repo: &str) -> Staged {
    let c = reqwest::blocking::Client::new();
    let layout = common::image(image);
    let idx: serde_json::Value = serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    let desc = &idx["manifests"][0];
    let digest = desc["digest"].as_str().unwrap().to_string();
    let blob = |d: &str| std::fs::read(layout.join("blobs/sha256").join(&d[7..])).unwrap();
    let manifest = blob(&digest);
    let m: serde_json::Value = serde_json::from_slice(&manifest).unwrap();
    for d in std::iter::once(&m["config"]).chain(m["layers"].as_array().unwrap()) {
        let d = d["digest"].as_str().unwrap();
        let r = c
            .post(reg.url(&format!("/v2/{repo}/blobs/uploads/?digest={d}")))
            .basic_auth(ROOT.0, Some(ROOT.1))
            .body(blob(d))
            .send()
            .unwrap();
        assert_eq!(r.status(), 201, "upload {d} to {repo}");
    }
    let media_type = m["mediaType"].as_str().or(desc["mediaType"].as_str()).unwrap().to_string();
    Staged { repo: repo.into(), digest, media_type, manifest }
}

fn put_manifest(reg: &OwnRegistry, s: &Staged, tag: &str) {
    let r = reqwest::blocking::Client::new()
        .put(reg.url(&format!("/v2/{}/manifests/{tag}", s.repo)))
        .basic_auth(ROOT.0, Some(ROOT.1))
        .header("Content-Type", &s.media_type)
        .body(s.manifest.clone())
        .send()
        .unwrap();
    assert_eq!(r.status(), 201, "PUT {}:{tag}", s.repo);
}

fn scan_status(reg: &OwnRegistry, repo: &str, reference: &str) -> String {
    let r = reqwest::blocking::Client::new()
        .get(reg.url("/api/v1/scan"))
        .query(&[("repository", repo), ("reference", reference)])
        .basic_auth(ROOT.0, Some(ROOT.1))
        .send()
        .unwrap();
    let v: serde_json::Value = r.json().unwrap();
    v["status"].as_str().or(v["errors"][0]["code"].as_str()).unwrap_or("").to_string()
}

/// Four image manifests pushed within milliseconds (their blobs uploaded before), then the
/// server is stopped at once by `stop`: the scans still queued must run after the restart.
fn queued_scans_survive(stop: impl FnOnce(&mut OwnRegistry)) {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("vuln.db");
    build_db(&db);
    let mut reg = OwnRegistry::start("", &format!("[scan]\ndb = \"{}\"", db.display()));
    reg.add_user("root", "root-password", &[], true);
    let images = ["python-app", "java-app", "node-app", "rust-app"];
    let staged: Vec<Staged> = images.iter().map(|i| stage(&reg, i, &format!("q/{i}"))).collect();
    for s in &staged {
        put_manifest(&reg, s, "v1");
    }
    // The scanner takes one image at a time: the last cannot be done yet (else this test
    // shows nothing).
    let last = staged.last().unwrap();
    assert_eq!(scan_status(&reg, &last.repo, "v1"), "NOT_SCANNED", "the scans were done before the stop");
    stop(&mut reg);
    reg.restart();
    let deadline = Instant::now() + Duration::from_secs(120);
    for s in &staged {
        loop {
            let st = scan_status(&reg, &s.repo, "v1");
            if st == "done" {
                break;
            }
            assert!(Instant::now() < deadline, "{}@{}: scan {st} after the restart:\n{}", s.repo, s.digest, reg.log());
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    let v = wait_scan(&reg, &last.repo, "v1", ROOT, |v| v["status"] == "done");
    assert_eq!(records(&v["report"]), expected(images[images.len() - 1]));
}

#[test]
fn queued_scans_survive_sigterm() {
    queued_scans_survive(|reg| {
        assert_eq!(reg.terminate(), Some(0), "exit after SIGTERM:\n{}", reg.log());
    });
}

#[test]
fn queued_scans_survive_sigkill() {
    queued_scans_survive(|reg| reg.kill());
}

/// With `block_severity` set, an image not scanned yet is refused like a vulnerable one, unless
/// the project says `unscanned = allow`; other projects are unaffected.
#[test]
fn unscanned_images_follow_the_pull_policy() {
    // skopeo's refused pull is part of what this checks.
    bulwark_testkit::require_tool!("skopeo");
    let tmp = tempfile::tempdir().unwrap();
    // No scan on push: every image stays unscanned.
    let reg = OwnRegistry::start("", "[scan]\non_push = false");
    reg.add_user("root", "root-password", &[], true);
    reg.project("strict", &["--block-severity", "HIGH"]);
    reg.project("open", &[]);
    let a = stage(&reg, "node-app", "strict/node");
    put_manifest(&reg, &a, "v1");
    let b = stage(&reg, "node-app", "open/node");
    put_manifest(&reg, &b, "v1");
    let c = reqwest::blocking::Client::new();
    let get = |repo: &str| {
        let r = c
            .get(reg.url(&format!("/v2/{repo}/manifests/v1")))
            .header("Accept", "application/vnd.oci.image.manifest.v1+json")
            .basic_auth(ROOT.0, Some(ROOT.1))
            .send()
            .unwrap();
        (r.status().as_u16(), r.text().unwrap())
    };
    let (status, body) = get("strict/node");
    assert_eq!(status, 412, "{body}");
    assert!(body.contains("DENIED") && body.contains("not been scanned"), "{body}");
    assert_eq!(get("open/node").0, 200);
    // HEAD answers, as for vulnerable images.
    let r = c.head(reg.url("/v2/strict/node/manifests/v1")).basic_auth(ROOT.0, Some(ROOT.1)).send().unwrap();
    assert_eq!(r.status(), 200);
    let dest = format!("oci:{}:x", tmp.path().join("pulled").display());
    assert!(!reg.skopeo_pull("strict/node:v1", &dest, Some("root:root-password")).status.success());

    // The project admin allows unscanned images through the API; the CLI sets it back.
    let r = c
        .put(reg.url("/api/v1/projects/strict"))
        .basic_auth(ROOT.0, Some(ROOT.1))
        .json(&serde_json::json!({"unscanned": "allow"}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let p: serde_json::Value = r.json().unwrap();
    assert_eq!(p["unscanned"], "allow", "{p}");
    assert_eq!(get("strict/node").0, 200);
    let out = common::bulwark()
        .args(["registry", "project", "update", "strict", "--unscanned", "deny", "--data"])
        .arg(reg.data())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(get("strict/node").0, 412);
    let bad = c
        .put(reg.url("/api/v1/projects/strict"))
        .basic_auth(ROOT.0, Some(ROOT.1))
        .json(&serde_json::json!({"unscanned": "maybe"}))
        .send()
        .unwrap();
    assert_eq!(bad.status(), 400);
}

/// A failed scan is no better than none: an image whose layer is not a layer fails its scan
/// on push, and a project with `block_severity` refuses it unless `unscanned = allow`.
#[test]
fn a_failed_scan_follows_the_unscanned_policy() {
    let reg = OwnRegistry::start("", "[scan]\non_push = true");
    reg.add_user("root", "root-password", &[], true);
    reg.project("strict", &["--block-severity", "HIGH"]);
    let c = reqwest::blocking::Client::new();
    let junk = b"not a tar stream at all".to_vec();
    let config = br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#.to_vec();
    for blob in [&junk, &config] {
        let d = format!("sha256:{}", sha256_hex(blob));
        let r = c
            .post(reg.url(&format!("/v2/strict/bad/blobs/uploads/?digest={d}")))
            .basic_auth(ROOT.0, Some(ROOT.1))
            .body(blob.clone())
            .send()
            .unwrap();
        assert_eq!(r.status(), 201);
    }
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": format!("sha256:{}", sha256_hex(&config)), "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": format!("sha256:{}", sha256_hex(&junk)), "size": junk.len()}],
    }))
    .unwrap();
    let bad = Staged {
        repo: "strict/bad".into(),
        digest: format!("sha256:{}", sha256_hex(&manifest)),
        media_type: "application/vnd.oci.image.manifest.v1+json".into(),
        manifest,
    };
    put_manifest(&reg, &bad, "v1");
    wait_scan(&reg, "strict/bad", "v1", ROOT, |v| v["status"] == "failed");
    let get = || {
        let r = c
            .get(reg.url("/v2/strict/bad/manifests/v1"))
            .header("Accept", "application/vnd.oci.image.manifest.v1+json")
            .basic_auth(ROOT.0, Some(ROOT.1))
            .send()
            .unwrap();
        (r.status().as_u16(), r.text().unwrap())
    };
    let (status, body) = get();
    assert_eq!(status, 412, "{body}");
    assert!(body.contains("DENIED") && body.contains("failed"), "{body}");
    let out = common::bulwark()
        .args(["registry", "project", "update", "strict", "--unscanned", "allow", "--data"])
        .arg(reg.data())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(get().0, 200);
}

/// Issue 10, D2: a pushed image whose layer holds a huge dpkg `status` (2.8 million packages)
/// took the registry to 4.2 GB during scan-on-push; 48,000 paths of 64 KiB to 5.78 GB. The
/// scan now runs within the inventory budget (lowered here through the environment): the
/// hostile image fails its own scan, naming the limit, and the server stays healthy and
/// scans the next image. Before: the scan was `done` with every package (or the server died
/// at real scale).
#[test]
fn a_hostile_image_fails_its_own_scan_within_the_budget() {
    bulwark_testkit::require_tool!("skopeo");
    let tmp = tempfile::tempdir().unwrap();
    let reg = OwnRegistry::start_with_env(
        "",
        "",
        &[("BULWARK_LIMIT_MAX_PACKAGES", "1000"), ("BULWARK_LIMIT_MAX_PATH_BYTES", "1048576")],
    );
    reg.add_user("dev", "dev-password", &["team-a:push"], false);
    let dev = ("dev", "dev-password");
    let hostile = [
        ("status", oci::Layer::gzip(&oci::huge_status_tar(5000)), "max_packages 1000 per layer"),
        ("paths", oci::Layer::gzip(&oci::long_paths_tar(200, 16 << 10)), "max_path_bytes 1048576 per layer"),
    ];
    for (name, layer, limit) in hostile {
        let layout = tmp.path().join(name);
        oci::layout(&layout, "t", &[layer]);
        let out = reg.skopeo_push(
            &format!("oci:{}:t", layout.display()),
            &format!("team-a/{name}:v1"),
            Some("dev:dev-password"),
        );
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let v = wait_scan(&reg, &format!("team-a/{name}"), "v1", dev, |v| {
            ["done", "failed", "skipped"].contains(&v["status"].as_str().unwrap_or_default())
        });
        assert_eq!(v["status"], "failed", "{v}");
        let error = v["error"].as_str().unwrap_or_default();
        assert!(error.contains("inventory incomplete") && error.contains(limit), "{v}");
    }
    let health = reqwest::blocking::get(reg.url("/healthz")).unwrap();
    assert_eq!(health.status(), 200);
    push(&reg, "debian-minbase", "team-a/deb:v1", Some("dev:dev-password"));
    let v = wait_scan(&reg, "team-a/deb", "v1", dev, |v| v["status"] == "done" || v["status"] == "failed");
    assert_eq!(v["status"], "done", "{v}");
}
