//! Garbage collection and retention against a real `FsStorage` and `Meta` in a temp dir.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use bulwark_oci::{Algorithm, Digest};
use bulwark_registry::gc::{self, GcOptions, GcReport};
use bulwark_registry::meta::{self, ManifestRow, Meta, Project, Ref, Retention};
use bulwark_registry::retention::{self, fallback_subject, glob_match, plan};
use bulwark_registry::storage::{ByteStream, FsStorage, Storage};
use bytes::Bytes;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};
use tokio::sync::RwLock;

const HOUR: Duration = Duration::from_secs(3600);
const DAY: i64 = 86_400;
const IMAGE: &str = "application/vnd.oci.image.manifest.v1+json";
const INDEX: &str = "application/vnd.oci.image.index.v1+json";

struct Env {
    _dir: tempfile::TempDir,
    db: PathBuf,
    root: PathBuf,
    meta: Meta,
    storage: FsStorage,
    lock: RwLock<()>,
}

impl Env {
    fn new() -> Env {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("meta.db");
        let root = dir.path().join("store");
        let meta = Meta::open(&db).unwrap();
        let storage = FsStorage::open(&root).unwrap();
        Env { _dir: dir, db, root, meta, storage, lock: RwLock::new(()) }
    }

    /// Store `content` as a blob and link it to `repo`, as a finished upload does.
    async fn blob(&self, repo: &str, content: &[u8]) -> (String, usize) {
        let d = Digest::of_bytes(content);
        self.storage.put_small(&d, content).await.unwrap();
        self.meta.blob_link(repo, d.as_str()).unwrap();
        (d.to_string(), content.len())
    }

    /// An image manifest over `blobs` (first is the config), stored and recorded.
    async fn image(
        &self,
        repo: &str,
        name: &str,
        tag: Option<&str>,
        blobs: &[&[u8]],
        pushed: i64,
        subject: Option<&str>,
    ) -> String {
        let mut descs = Vec::new();
        for b in blobs {
            descs.push(self.blob(repo, b).await);
        }
        let desc = |(d, n): &(String, usize), mt: &str| serde_json::json!({"mediaType": mt, "digest": d, "size": n});
        let mut m = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": IMAGE,
            "config": desc(&descs[0], "application/vnd.oci.image.config.v1+json"),
            "layers": descs[1..].iter().map(|d| desc(d, "application/vnd.oci.image.layer.v1.tar")).collect::<Vec<_>>(),
            "annotations": {"name": name},
        });
        if let Some(s) = subject {
            m["subject"] = serde_json::json!({"mediaType": IMAGE, "digest": s, "size": 1});
        }
        let refs: Vec<Ref> = descs.iter().map(|(d, _)| Ref::Blob(d.clone())).collect();
        self.manifest(repo, &m, IMAGE, &refs, tag, pushed, subject).await
    }

    async fn index(&self, repo: &str, name: &str, tag: Option<&str>, children: &[&str], pushed: i64) -> String {
        let m = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": INDEX,
            "manifests": children.iter().map(|c| serde_json::json!({"mediaType": IMAGE, "digest": c, "size": 1})).collect::<Vec<_>>(),
            "annotations": {"name": name},
        });
        let refs: Vec<Ref> = children.iter().map(|c| Ref::Manifest(c.to_string())).collect();
        self.manifest(repo, &m, INDEX, &refs, tag, pushed, None).await
    }

    #[allow(clippy::too_many_arguments)]
    async fn manifest(
        &self,
        repo: &str,
        m: &serde_json::Value,
        media_type: &str,
        refs: &[Ref],
        tag: Option<&str>,
        pushed: i64,
        subject: Option<&str>,
    ) -> String {
        let bytes = serde_json::to_vec(m).unwrap();
        let d = Digest::of_bytes(&bytes);
        self.storage.put_small(&d, &bytes).await.unwrap();
        let row = ManifestRow {
            repo: repo.into(),
            digest: d.to_string(),
            media_type: media_type.into(),
            size: bytes.len() as i64,
            artifact_type: subject.map(|_| "application/spdx+json".to_string()),
            subject: subject.map(str::to_string),
            annotations: None,
            pushed,
        };
        self.meta.manifest_put(&row, refs, tag, false).unwrap();
        d.to_string()
    }

    fn path(&self, digest: &str) -> PathBuf {
        self.root.join("blobs/sha256").join(digest.trim_start_matches("sha256:"))
    }

    fn exists(&self, digest: &str) -> bool {
        self.path(digest).is_file()
    }

    fn blob_count(&self) -> usize {
        std::fs::read_dir(self.root.join("blobs/sha256")).unwrap().count()
    }

    /// Make every file under `dir` look written two days ago.
    fn backdate_files(&self, dir: &str) {
        let old = SystemTime::now() - Duration::from_secs(2 * DAY as u64);
        for e in std::fs::read_dir(self.root.join(dir)).unwrap() {
            let f = std::fs::File::options().write(true).open(e.unwrap().path()).unwrap();
            f.set_modified(old).unwrap();
        }
    }

    fn backdate_file(&self, path: PathBuf) {
        let f = std::fs::File::options().write(true).open(path).unwrap();
        f.set_modified(SystemTime::now() - Duration::from_secs(2 * DAY as u64)).unwrap();
    }

    /// Make every repository link (and upload record) look two days old.
    fn backdate_rows(&self) {
        let c = rusqlite::Connection::open(&self.db).unwrap();
        c.busy_timeout(Duration::from_secs(10)).unwrap();
        c.execute("UPDATE repo_blobs SET linked = linked - ?1", [2 * DAY]).unwrap();
        c.execute("UPDATE uploads SET started = started - ?1", [2 * DAY]).unwrap();
    }

    fn backdate_all(&self) {
        self.backdate_files("blobs/sha256");
        self.backdate_rows();
    }

    async fn gc(&self, grace: Duration, dry_run: bool) -> GcReport {
        let opts = GcOptions { grace, upload_max_age: HOUR, dry_run, verify_blobs: true };
        gc::collect(&self.meta, &self.storage, &self.lock, &opts).await.unwrap()
    }
}

fn body(b: &'static [u8]) -> ByteStream {
    Box::pin(futures_util::stream::once(async move { Ok(Bytes::from_static(b)) }))
}

// --- gc -----------------------------------------------------------------------------------------

#[tokio::test]
async fn referenced_blobs_survive_and_unique_blobs_of_deleted_manifests_go() {
    let env = Env::new();
    let now = meta::now();
    let m1 = env.image("a/x", "m1", Some("v1"), &[b"cfg-1", b"layer-1", b"shared"], now, None).await;
    let m2 = env.image("b/y", "m2", Some("v1"), &[b"cfg-2", b"shared"], now, None).await;
    let keep = env.image("a/x", "keep", Some("v2"), &[b"cfg-k", b"layer-k"], now, None).await;
    env.backdate_all();

    let r = env.gc(HOUR, false).await;
    assert_eq!(r.blobs_deleted, 0, "{r:?}");
    assert_eq!(env.blob_count(), 9);

    assert!(env.meta.manifest_delete("a/x", &m1).unwrap());
    env.backdate_rows();
    let r = env.gc(HOUR, false).await;
    // m1's manifest, config and unique layer; the shared layer is still m2's.
    assert_eq!(r.blobs_deleted, 3, "{r:?}");
    assert_eq!(r.links_pruned, 3, "{r:?}");
    assert!(r.bytes_freed > 0);
    assert!(!env.exists(&m1));
    assert!(!env.exists(Digest::of_bytes(b"cfg-1").as_str()));
    assert!(!env.exists(Digest::of_bytes(b"layer-1").as_str()));
    for d in [m2.clone(), keep, Digest::of_bytes(b"shared").to_string(), Digest::of_bytes(b"cfg-2").to_string()] {
        assert!(env.exists(&d), "{d}");
    }
    // b/y can still pull and re-reference its shared layer.
    assert!(env.meta.blob_linked("b/y", Digest::of_bytes(b"shared").as_str()).unwrap());
    assert!(!env.meta.blob_linked("a/x", Digest::of_bytes(b"shared").as_str()).unwrap());
}

#[tokio::test]
async fn grace_protects_young_blobs_and_fresh_links() {
    let env = Env::new();
    let young = Digest::of_bytes(b"young orphan");
    env.storage.put_small(&young, b"young orphan").await.unwrap();
    let old = Digest::of_bytes(b"old orphan");
    env.storage.put_small(&old, b"old orphan").await.unwrap();
    env.backdate_file(env.path(old.as_str()));
    // A layer pushed long ago whose manifest has not come yet, but whose link is fresh.
    let (linked, _) = env.blob("a/x", b"layer before manifest").await;
    env.backdate_file(env.path(&linked));

    let r = env.gc(HOUR, false).await;
    assert_eq!((r.blobs_deleted, r.kept_young, r.links_pruned), (1, 1, 0), "{r:?}");
    assert_eq!(r.bytes_freed, b"old orphan".len() as u64);
    assert!(!env.exists(old.as_str()));
    assert!(env.exists(young.as_str()));
    assert!(env.exists(&linked));

    // Once the link is old too, nothing keeps the layer.
    env.backdate_rows();
    let r = env.gc(HOUR, false).await;
    assert_eq!((r.blobs_deleted, r.kept_young, r.links_pruned), (1, 1, 1), "{r:?}");
    assert!(!env.exists(&linked));
    assert!(env.exists(young.as_str()));

    // Without grace, the young orphan goes too.
    let r = env.gc(Duration::ZERO, false).await;
    assert_eq!((r.blobs_deleted, r.kept_young), (1, 0), "{r:?}");
    assert!(!env.exists(young.as_str()));
}

#[tokio::test]
async fn uploads_in_progress_survive_and_old_ones_go() {
    let env = Env::new();
    let live = env.storage.upload_create().await.unwrap();
    env.meta.upload_put(&live, "a/x").unwrap();
    env.storage.upload_append(&live, Some(0), body(b"layer data"), 1 << 20).await.unwrap();

    let stale = env.storage.upload_create().await.unwrap();
    env.meta.upload_put(&stale, "a/x").unwrap();
    env.storage.upload_append(&stale, Some(0), body(b"abandoned"), 1 << 20).await.unwrap();
    env.backdate_file(env.root.join("uploads").join(&stale));
    // Storage only (a kill before the record) and record only (a kill after the file went).
    let file_only = env.storage.upload_create().await.unwrap();
    env.backdate_file(env.root.join("uploads").join(&file_only));
    let record_only = uuid_like(1);
    env.meta.upload_put(&record_only, "a/x").unwrap();
    let c = rusqlite::Connection::open(&env.db).unwrap();
    c.execute("UPDATE uploads SET started = started - ?1 WHERE id = ?2", rusqlite::params![2 * DAY, record_only])
        .unwrap();
    // A fresh record without data yet is left alone.
    let fresh_record = uuid_like(2);
    env.meta.upload_put(&fresh_record, "a/x").unwrap();

    let r = env.gc(Duration::ZERO, false).await;
    assert_eq!(r.uploads_removed, 3, "{r:?}");
    assert_eq!(r.blobs_deleted, 0, "an upload is never a blob: {r:?}");
    assert_eq!(env.storage.upload_size(&stale).await.unwrap(), None);
    assert_eq!(env.meta.upload_repo(&stale).unwrap(), None);
    assert_eq!(env.storage.upload_size(&file_only).await.unwrap(), None);
    assert_eq!(env.meta.upload_repo(&record_only).unwrap(), None);
    assert_eq!(env.meta.upload_repo(&fresh_record).unwrap().as_deref(), Some("a/x"));

    // The live upload is intact and still commits.
    assert_eq!(env.storage.upload_size(&live).await.unwrap(), Some(10));
    let d = Digest::of_bytes(b"layer data");
    assert_eq!(env.storage.upload_commit(&live, &d).await.unwrap(), 10);
    assert!(env.exists(d.as_str()));
}

/// sha512-addressed blobs and manifests (issue 11): kept while referenced and hashed with their
/// own algorithm, swept once orphaned, quarantined when damaged; a store made before sha512
/// (no `blobs/sha512`) still lists and collects.
#[tokio::test]
async fn sha512_blobs_are_kept_verified_and_swept() {
    let env = Env::new();
    let sha512 = |b: &[u8]| Algorithm::Sha512.digest(b);
    let (layer, orphan, damaged) = (sha512(b"sha512 layer"), sha512(b"sha512 orphan"), sha512(b"sha512 damaged"));
    env.storage.put_small(&layer, b"sha512 layer").await.unwrap();
    env.storage.put_small(&orphan, b"sha512 orphan").await.unwrap();
    env.storage.put_small(&damaged, b"sha512 damaged").await.unwrap();
    let m = serde_json::to_vec(&serde_json::json!({"schemaVersion": 2, "mediaType": IMAGE,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": layer.as_str(), "size": 12},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": damaged.as_str(), "size": 14}]}))
    .unwrap();
    let md = sha512(&m);
    env.storage.put_small(&md, &m).await.unwrap();
    let row = ManifestRow {
        repo: "a/x".into(),
        digest: md.to_string(),
        media_type: IMAGE.into(),
        size: m.len() as i64,
        artifact_type: None,
        subject: None,
        annotations: None,
        pushed: meta::now(),
    };
    let refs = [Ref::Blob(layer.to_string()), Ref::Blob(damaged.to_string())];
    env.meta.manifest_put(&row, &refs, Some("v1"), false).unwrap();
    let sha512_path = |d: &Digest| env.root.join("blobs/sha512").join(d.hex());
    std::fs::write(sha512_path(&damaged), b"sha512 DAMAGED").unwrap();
    env.backdate_files("blobs/sha512");

    let r = env.gc(HOUR, false).await;
    assert_eq!(r.blobs_deleted, 1, "{r:?}");
    assert_eq!(r.blobs_verified, 3, "{r:?}");
    assert_eq!(r.corrupt.iter().map(|c| c.digest.as_str()).collect::<Vec<_>>(), [damaged.as_str()], "{r:?}");
    assert!(!sha512_path(&orphan).exists());
    assert!(sha512_path(&layer).is_file() && sha512_path(&md).is_file());
    assert!(!sha512_path(&damaged).exists(), "quarantined");
    assert_eq!(env.storage.verify(&layer).await.unwrap(), Some(true));

    // A store laid out before sha512 support: no sha512 directory at all.
    std::fs::remove_dir_all(env.root.join("blobs/sha512")).unwrap();
    let r = env.gc(HOUR, false).await;
    assert_eq!(r.blobs_deleted, 0, "{r:?}");
}

fn uuid_like(n: u8) -> String {
    format!("00000000-0000-4000-8000-0000000000{n:02x}")
}

#[tokio::test]
async fn dry_run_deletes_nothing() {
    let env = Env::new();
    let now = meta::now();
    let m = env.image("a/x", "m", Some("v1"), &[b"cfg", b"layer"], now, None).await;
    env.meta.manifest_delete("a/x", &m).unwrap();
    let stale = env.storage.upload_create().await.unwrap();
    env.meta.upload_put(&stale, "a/x").unwrap();
    env.backdate_all();
    env.backdate_files("uploads");

    let dry = env.gc(HOUR, true).await;
    assert_eq!((dry.blobs_deleted, dry.links_pruned, dry.uploads_removed), (3, 2, 1), "{dry:?}");
    assert_eq!(env.blob_count(), 3);
    assert!(env.meta.blob_linked("a/x", Digest::of_bytes(b"cfg").as_str()).unwrap());
    assert_eq!(env.storage.upload_size(&stale).await.unwrap(), Some(0));
    assert!(env.meta.upload_repo(&stale).unwrap().is_some());

    // The real run does what the dry run said.
    let real = env.gc(HOUR, false).await;
    assert_eq!(real, dry);
    assert_eq!(env.blob_count(), 0);
}

#[tokio::test]
async fn index_children_survive_when_only_the_index_is_tagged() {
    let env = Env::new();
    let now = meta::now();
    let amd = env.image("a/multi", "amd64", None, &[b"cfg-amd64", b"layer-amd64"], now, None).await;
    let arm = env.image("a/multi", "arm64", None, &[b"cfg-arm64", b"layer-arm64"], now, None).await;
    let idx = env.index("a/multi", "idx", Some("latest"), &[&amd, &arm], now).await;
    env.backdate_all();

    let r = env.gc(Duration::ZERO, false).await;
    assert_eq!(r.blobs_deleted, 0, "{r:?}");
    for d in [idx, amd, arm] {
        assert!(env.exists(&d));
    }
    assert_eq!(env.blob_count(), 7);
}

#[tokio::test]
async fn gc_waits_for_pushes_in_flight() {
    let env = Env::new();
    let opts = GcOptions { grace: Duration::ZERO, upload_max_age: HOUR, dry_run: false, verify_blobs: true };
    let push = env.lock.read().await;
    let blocked =
        tokio::time::timeout(Duration::from_millis(100), gc::collect(&env.meta, &env.storage, &env.lock, &opts)).await;
    assert!(blocked.is_err(), "gc ran during a push");
    drop(push);
    gc::collect(&env.meta, &env.storage, &env.lock, &opts).await.unwrap();
}

// --- retention: plan ----------------------------------------------------------------------------

fn tags(list: &[(&str, i64)]) -> Vec<(String, String, i64)> {
    list.iter().map(|(t, p)| (t.to_string(), format!("sha256:{t}"), *p)).collect()
}

fn policy(keep_last: Option<u32>, keep_days: Option<u32>, pattern: Option<&str>) -> Retention {
    Retention { keep_last, keep_days, pattern: pattern.map(str::to_string) }
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[test]
fn plan_keep_last() {
    let t = tags(&[("a", 100), ("b", 200), ("c", 300), ("d", 400)]);
    assert_eq!(sorted(plan(&t, &policy(Some(2), None, None), 1000)), ["a", "b"]);
    assert_eq!(sorted(plan(&t, &policy(Some(0), None, None), 1000)), ["a", "b", "c", "d"]);
    assert!(plan(&t, &policy(Some(10), None, None), 1000).is_empty());
    // Neither rule: nothing is deleted.
    assert!(plan(&t, &policy(None, None, None), 1000).is_empty());
    assert!(plan(&t, &policy(None, None, Some("*")), 1000).is_empty());
}

#[test]
fn plan_keep_days_and_both() {
    let now = 100 * DAY;
    let t = tags(&[("new1", now - 3600), ("new2", now - 7200), ("old1", now - 3 * DAY), ("old2", now - 4 * DAY)]);
    assert_eq!(sorted(plan(&t, &policy(None, Some(1), None), now)), ["old1", "old2"]);
    assert_eq!(sorted(plan(&t, &policy(None, Some(5), None), now)), Vec::<String>::new());
    // Either rule retains.
    assert_eq!(sorted(plan(&t, &policy(Some(1), Some(1), None), now)), ["old1", "old2"]);
    assert_eq!(sorted(plan(&t, &policy(Some(3), Some(1), None), now)), ["old2"]);
    assert_eq!(sorted(plan(&t, &policy(Some(0), Some(0), None), now)), ["new1", "new2", "old1", "old2"]);
}

#[test]
fn plan_pattern_only_touches_matching_tags() {
    let t = tags(&[("v1.0", 100), ("v1.1", 200), ("v2.0", 300), ("latest", 50), ("v1.2-rc", 400)]);
    // Newest matching v1.* is v1.2-rc; the rest of v1.* go; v2.0 and latest are not its business.
    assert_eq!(sorted(plan(&t, &policy(Some(1), None, Some("v1.*")), 1000)), ["v1.0", "v1.1"]);
    assert_eq!(sorted(plan(&t, &policy(Some(1), None, Some("v?.?")), 1000)), ["v1.0", "v1.1"]);
    assert!(plan(&t, &policy(Some(0), None, Some("nope*")), 1000).is_empty());
}

#[test]
fn plan_ignores_fallback_tags() {
    let hex = "ab".repeat(32);
    let sig = format!("sha256-{hex}.sig");
    let att = format!("sha256-{hex}.att");
    let bare = format!("sha256-{hex}");
    let t = tags(&[("old", 100), ("new", 200), (sig.as_str(), 300), (att.as_str(), 300), (bare.as_str(), 400)]);
    // Fallback tags are neither counted (new is still the newest) nor deleted, even by "*".
    assert_eq!(plan(&t, &policy(Some(1), None, None), 1000), ["old"]);
    assert_eq!(plan(&t, &policy(Some(1), None, Some("sha256-*")), 1000), Vec::<String>::new());
}

#[test]
fn fallback_tags_are_recognised() {
    let hex = "0f".repeat(32);
    assert_eq!(fallback_subject(&format!("sha256-{hex}.sig")), Some(format!("sha256:{hex}")));
    assert_eq!(fallback_subject(&format!("sha256-{hex}.sbom")), Some(format!("sha256:{hex}")));
    assert_eq!(fallback_subject(&format!("sha256-{hex}")), Some(format!("sha256:{hex}")));
    assert_eq!(fallback_subject(&format!("sha256-{}.sig", hex.to_uppercase())), None);
    assert_eq!(fallback_subject(&format!("sha256-{hex}x")), None);
    assert_eq!(fallback_subject(&format!("sha256-{}.sig", &hex[2..])), None);
    assert_eq!(fallback_subject("sha256-"), None);
    assert_eq!(fallback_subject("latest"), None);
}

#[test]
fn glob() {
    assert!(glob_match("*", ""));
    assert!(glob_match("*", "anything"));
    assert!(glob_match("", ""));
    assert!(!glob_match("", "a"));
    assert!(glob_match("v?.*", "v1.2.3"));
    assert!(!glob_match("v?.*", "v10.2"));
    assert!(glob_match("a*b*c", "aXXbYYbZc"));
    assert!(!glob_match("a*b*c", "aXXbYYbZ"));
    assert!(glob_match("*-rc?", "1.0-rc1"));
    assert!(!glob_match("*-rc?", "1.0-rc10"));
    assert!(glob_match("**x**", "x"));
    assert!(glob_match("é?", "éü"));
    assert!(!glob_match("abc", "ab"));
    assert!(!glob_match("ab", "abc"));
    // The classic backtracking killer stays fast.
    let s = "a".repeat(10_000);
    let p = format!("{}b", "*a".repeat(50));
    let t = std::time::Instant::now();
    assert!(!glob_match(&p, &s));
    assert!(t.elapsed() < Duration::from_secs(2));
}

// --- retention: apply ---------------------------------------------------------------------------

fn project(name: &str, r: Retention) -> Project {
    let mut p = Project::new(name);
    p.retention = Some(r);
    p
}

fn fallback(digest: &str, suffix: &str) -> String {
    format!("sha256-{}{suffix}", digest.trim_start_matches("sha256:"))
}

#[tokio::test]
async fn apply_keeps_the_newest_with_their_children_and_referrers() {
    let env = Env::new();
    let repo = "proj/app";
    let now = meta::now();
    let img = |name: &'static str, tag: Option<&'static str>, pushed: i64, subject: Option<String>| {
        let env = &env;
        async move {
            let cfg = format!("cfg-{name}");
            let layer = format!("layer-{name}");
            env.image(repo, name, tag, &[cfg.as_bytes(), layer.as_bytes(), b"shared"], pushed, subject.as_deref()).await
        }
    };
    // v0: an old index, one child only its own, one shared with v3.
    let c1 = img("c1", None, now - 600, None).await;
    let j1 = img("j1", None, now - 600, None).await;
    let j = env.index(repo, "j", Some("v0"), &[&j1, &c1], now - 500).await;
    // v1: an image with a cosign signature (fallback tag) and an attached SBOM (referrer).
    let a = img("a", Some("v1"), now - 400, None).await;
    let sig_a_tag = fallback(&a, ".sig");
    let sig_a = img("sig-a", None, now - 390, None).await;
    env.meta.manifest_put(&env.meta.manifest(repo, &sig_a).unwrap().unwrap(), &[], Some(&sig_a_tag), false).unwrap();
    let sbom_a = img("sbom-a", None, now - 390, Some(a.clone())).await;
    let b = img("b", Some("v2"), now - 300, None).await;
    // v3: an index over c1, c2.
    let c2 = img("c2", None, now - 210, None).await;
    let i = env.index(repo, "i", Some("v3"), &[&c1, &c2], now - 200).await;
    // v4: the newest image, signed and with an SBOM.
    let c = img("c", Some("v4"), now - 100, None).await;
    let sig_c_tag = fallback(&c, ".sig");
    let sig_c = img("sig-c", None, now - 90, None).await;
    env.meta.manifest_put(&env.meta.manifest(repo, &sig_c).unwrap().unwrap(), &[], Some(&sig_c_tag), false).unwrap();
    let sbom_c = img("sbom-c", None, now - 90, Some(c.clone())).await;
    // Pushed by digest only, long ago, nobody's child or referrer: no rule names it.
    let d = img("d", None, now - 50 * DAY, None).await;
    // A signature of an image signed into this repository from elsewhere.
    let foreign_tag = fallback(Digest::of_bytes(b"elsewhere").as_str(), ".sig");
    let foreign = img("foreign", None, now - 1000, None).await;
    env.meta
        .manifest_put(&env.meta.manifest(repo, &foreign).unwrap().unwrap(), &[], Some(&foreign_tag), false)
        .unwrap();
    // Another project's repository is not touched.
    let other = env.image("other/app", "o", Some("v1"), &[b"o"], now - 9999, None).await;

    let p = project("proj", policy(Some(2), None, None));
    let dry = retention::apply(&env.meta, &p, true).await.unwrap();
    assert_eq!(env.meta.tags_detailed(repo).unwrap().len(), 8, "dry run changed tags");
    assert_eq!(env.meta.manifests_in(repo).unwrap().len(), 14, "dry run changed manifests");

    let r = retention::apply(&env.meta, &p, false).await.unwrap();
    assert_eq!(r.repositories, dry.repositories);
    assert!(!r.dry_run && dry.dry_run);
    assert_eq!(r.repositories.len(), 1, "{r:?}");
    let rr = &r.repositories[0];
    assert_eq!(rr.repo, repo);
    assert_eq!(rr.deleted_tags, sorted(vec!["v0".into(), "v1".into(), "v2".into(), sig_a_tag.clone()]));
    let mut gone = rr.deleted_manifests.clone();
    gone.sort();
    assert_eq!(gone, sorted(vec![j.clone(), j1.clone(), a.clone(), sig_a.clone(), sbom_a.clone(), b.clone()]));
    // Whatever points at another manifest is deleted before it.
    let pos = |d: &str| rr.deleted_manifests.iter().position(|x| x == d).unwrap();
    assert!(pos(&j) < pos(&j1));
    assert!(pos(&sig_a) < pos(&a) && pos(&sbom_a) < pos(&a));

    for m in [&c1, &c2, &i, &c, &sig_c, &sbom_c, &d, &foreign] {
        assert!(env.meta.manifest(repo, m).unwrap().is_some(), "{m} should stay");
    }
    for m in [&j, &j1, &a, &sig_a, &sbom_a, &b] {
        assert!(env.meta.manifest(repo, m).unwrap().is_none(), "{m} should go");
    }
    let left = sorted(env.meta.tags(repo, None, None).unwrap());
    assert_eq!(left, sorted(vec!["v3".into(), "v4".into(), sig_c_tag, foreign_tag]));
    assert!(env.meta.manifest("other/app", &other).unwrap().is_some());

    // Running again finds nothing more to do.
    let again = retention::apply(&env.meta, &p, false).await.unwrap();
    assert!(again.repositories.is_empty(), "{again:?}");

    // GC then frees what only the deleted manifests used, and nothing the kept ones use.
    env.backdate_all();
    let g = env.gc(HOUR, false).await;
    assert!(g.blobs_deleted > 0);
    for m in [&j, &j1, &a, &sig_a, &b] {
        assert!(!env.exists(m));
    }
    assert!(!env.exists(Digest::of_bytes(b"layer-a").as_str()));
    for m in [&c1, &c2, &i, &c, &sig_c, &sbom_c, &d, &foreign, &other] {
        assert!(env.exists(m));
    }
    assert!(env.exists(Digest::of_bytes(b"shared").as_str()));
    assert!(env.exists(Digest::of_bytes(b"layer-c1").as_str()));
}

#[tokio::test]
async fn apply_keep_days_pattern_and_untagged_pushes() {
    let env = Env::new();
    let repo = "proj/svc";
    let now = meta::now();
    let dev_old = env.image(repo, "dev-old", Some("dev-1"), &[b"1"], now - 3 * DAY, None).await;
    let dev_new = env.image(repo, "dev-new", Some("dev-2"), &[b"2"], now - 3600, None).await;
    let release = env.image(repo, "release", Some("release"), &[b"3"], now - 30 * DAY, None).await;
    let stale = env.image(repo, "stale", None, &[b"4"], now - 3 * DAY, None).await;
    let fresh = env.image(repo, "fresh", None, &[b"5"], now - 3600, None).await;
    // A referrer whose subject is not in the repository (pushed first, as OCI allows).
    let early = env.image(repo, "early", None, &[b"6"], now - 3600, Some(Digest::of_bytes(b"later").as_str())).await;
    // The library project holds one-component names.
    env.image("busybox", "bb", Some("old"), &[b"7"], now - 9 * DAY, None).await;

    let r = retention::apply(&env.meta, &project("proj", policy(None, Some(1), Some("dev-*"))), false).await.unwrap();
    let rr = &r.repositories[0];
    assert_eq!(rr.deleted_tags, ["dev-1"]);
    // dev-1's image, and the digest-only push older than keep_days.
    assert_eq!(sorted(rr.deleted_manifests.clone()), sorted(vec![dev_old.clone(), stale.clone()]));
    for m in [&dev_new, &release, &fresh, &early] {
        assert!(env.meta.manifest(repo, m).unwrap().is_some());
    }
    assert!(env.meta.tag("busybox", "old").unwrap().is_some());

    // A policy with neither rule deletes nothing.
    let none = retention::apply(&env.meta, &project("proj", policy(None, None, Some("*"))), false).await.unwrap();
    assert!(none.repositories.is_empty());
    let r = retention::apply(&env.meta, &project("library", policy(Some(0), None, None)), false).await.unwrap();
    assert_eq!(r.repositories[0].repo, "busybox");
    assert_eq!(r.repositories[0].deleted_tags, ["old"]);
}

/// Issue 10 (noted with the immutable-delete fix): retention deleted tags of immutable
/// projects, which the API refuses; Harbor's immutability rules outrank retention too.
#[tokio::test]
async fn apply_never_deletes_immutable_tags() {
    let env = Env::new();
    let repo = "locked/app";
    let now = meta::now();
    let old = env.image(repo, "old", Some("v1"), &[b"1"], now - 3 * DAY, None).await;
    let new = env.image(repo, "new", Some("v2"), &[b"2"], now - 3600, None).await;
    let stale = env.image(repo, "stale", None, &[b"3"], now - 3 * DAY, None).await;
    let mut p = project("locked", policy(Some(1), Some(1), None));
    p.immutable_tags = true;
    let r = retention::apply(&env.meta, &p, false).await.unwrap();
    // The untagged push past keep_days still goes; both tags and their images stay.
    assert_eq!(r.repositories.len(), 1, "{r:?}");
    assert!(r.repositories[0].deleted_tags.is_empty(), "{r:?}");
    assert_eq!(r.repositories[0].deleted_manifests, std::slice::from_ref(&stale));
    assert_eq!(sorted(env.meta.tags(repo, None, None).unwrap()), ["v1", "v2"]);
    for m in [&old, &new] {
        assert!(env.meta.manifest(repo, m).unwrap().is_some(), "{m} should stay");
    }
    // The same policy on a mutable project deletes v1.
    p.immutable_tags = false;
    let r = retention::apply(&env.meta, &p, false).await.unwrap();
    assert_eq!(r.repositories[0].deleted_tags, ["v1"]);
}

#[tokio::test]
async fn apply_keeps_a_manifest_that_still_has_a_tag() {
    // v1 goes, but its image was tagged v3 since: the image is the newest and stays.
    let env = Env::new();
    let repo = "proj/race";
    let now = meta::now();
    let old = env.image(repo, "old", Some("v1"), &[b"x"], now - 100, None).await;
    env.image(repo, "new", Some("v2"), &[b"y"], now - 50, None).await;
    let row = env.meta.manifest(repo, &old).unwrap().unwrap();
    env.meta.manifest_put(&ManifestRow { pushed: now, ..row }, &[], Some("v3"), false).unwrap();
    let r = retention::apply(&env.meta, &project("proj", policy(Some(1), None, None)), false).await.unwrap();
    assert!(env.meta.manifest(repo, &old).unwrap().is_some());
    assert_eq!(r.repositories[0].deleted_tags, ["v1", "v2"]);
    assert_eq!(r.repositories[0].deleted_manifests.len(), 1);
    assert_eq!(env.meta.tags(repo, None, None).unwrap(), ["v3"]);
}
