//! Scan-on-push on real data: the shared python-app image read from a blob store in place,
//! matched against a database built from the real advisory sources in ../shared/data (by
//! bulwark-testkit, once per run), and compared with the oracle's facts
//! (tests/facts/scan/expected.json, see bulwark-cli's tests/it/scan.rs for how they were made).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

use bulwark_oci::{Algorithm, Digest};
use bulwark_registry::meta::{Meta, ScanRow};
use bulwark_registry::scan::{blocked, Scanner, Summary};
use bulwark_registry::storage::{BlobInfo, BlobRead, ByteStream, FsStorage, Storage, StorageError};
use bulwark_testkit::advisory_db as db;
use bulwark_testkit::facts::{expected, records_json as records};
use bulwark_testkit::image;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The manifest digest of a single-image layout.
fn manifest_digest(layout: &Path) -> String {
    let index: serde_json::Value = serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    index["manifests"][0]["digest"].as_str().unwrap().to_string()
}

fn meta(dir: &Path) -> Arc<Meta> {
    Arc::new(Meta::open(&dir.join("meta.db")).unwrap())
}

/// The row is a finished scan of python-app whose findings are exactly the oracle's.
fn assert_python_app_done(row: &ScanRow) {
    assert_eq!(row.status, "done", "{:?}", row.error);
    assert_eq!(row.error, None);
    let report = row.report.as_deref().expect("a report");
    assert_eq!(records(report), expected("python-app"), "findings differ from the oracle");
    let doc: serde_json::Value = serde_json::from_str(report).unwrap();
    assert_eq!(doc["schema"], "bulwark-scan/1");
    assert_eq!(row.db_built.as_deref(), doc["db"]["built_at"].as_str());
    let summary: Summary = serde_json::from_str(row.summary.as_deref().unwrap()).unwrap();
    assert_eq!(summary.total, doc["findings"].as_array().unwrap().len());
    assert_eq!(summary.critical + summary.high + summary.medium + summary.low + summary.unknown, summary.total);
    // 110 dpkg packages and 17 pip ones at least.
    assert!(summary.packages >= 127, "{summary:?}");
    assert_eq!(blocked(row.summary.as_deref().unwrap(), "unknown"), Some(summary.total));
}

#[test]
fn python_app_findings_are_exactly_the_oracles() {
    let layout = image("python-app");
    let digest = manifest_digest(&layout);
    let tmp = tempfile::tempdir().unwrap();
    let meta = meta(tmp.path());
    let scanner =
        Scanner::new(meta.clone(), store_of(&layout, &tmp.path().join("store")), db().to_path_buf(), None).unwrap();
    let row = scanner.scan_now("library/python-app", &digest).unwrap();
    assert_python_app_done(&row);
    assert_eq!(meta.scan(&digest).unwrap().as_ref(), Some(&row));

    let inv: bulwark_catalog::Inventory = serde_json::from_str(row.inventory.as_deref().unwrap()).unwrap();
    assert_eq!(inv.source.kind, "registry");
    assert_eq!(inv.source.name.as_deref(), Some("library/python-app"));
    assert_eq!(inv.source.manifest_digest.as_deref(), Some(digest.as_str()));
    assert_eq!(inv.source.layers.len(), 2);
}

#[test]
fn a_push_is_scanned_in_the_background() {
    let layout = image("python-app");
    let digest = manifest_digest(&layout);
    let tmp = tempfile::tempdir().unwrap();
    let meta = meta(tmp.path());
    let store = store_of(&layout, &tmp.path().join("store"));
    let scanner = Scanner::new(meta.clone(), store, db().to_path_buf(), Some(tmp.path().join("cache"))).unwrap();
    // Pushed twice (two tags) before the worker gets to it: scanned once.
    block_on(scanner.enqueue("library/python-app", &digest));
    block_on(scanner.enqueue("library/python-app", &digest));
    assert!(scanner.wait_idle(Duration::from_secs(600)), "scan did not finish");
    let row = meta.scan(&digest).unwrap().expect("a stored scan");
    assert_python_app_done(&row);
    // A repeated push of a scanned image does not read it again.
    block_on(scanner.enqueue("library/python-app", &digest));
    assert!(scanner.wait_idle(Duration::from_secs(60)));
    assert_eq!(meta.scan(&digest).unwrap().as_ref(), Some(&row));
}

/// Run one async call (the scanner's enqueue records the job in the metadata store).
fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
}

/// Copy a layout's blobs into a fresh store (the shared images are read-only; a hard link
/// where possible, as the store never writes a blob it holds).
fn copy_blobs(layout: &Path, store: &Path) {
    let to = store.join("blobs/sha256");
    std::fs::create_dir_all(&to).unwrap();
    for e in std::fs::read_dir(layout.join("blobs/sha256")).unwrap() {
        let e = e.unwrap();
        if std::fs::hard_link(e.path(), to.join(e.file_name())).is_err() {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

/// A filesystem store at `root` holding a layout's blobs.
fn store_of(layout: &Path, root: &Path) -> Arc<FsStorage> {
    copy_blobs(layout, root);
    Arc::new(FsStorage::open(root).unwrap())
}

/// Put the shared database at `to` the way `bulwark db update` does: whole, by rename.
fn install_db(to: &Path) {
    std::fs::create_dir_all(to.parent().unwrap()).unwrap();
    let tmp = to.with_extension("tmp");
    std::fs::copy(db(), &tmp).unwrap();
    std::fs::rename(&tmp, to).unwrap();
}

#[test]
fn a_new_database_rematches_stored_inventories_without_layers() {
    let layout = image("python-app");
    let digest = manifest_digest(&layout);
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    copy_blobs(&layout, &store);
    let db_path = tmp.path().join("db/vuln.db");
    let meta = meta(tmp.path());
    let scanner =
        Scanner::new(meta.clone(), Arc::new(FsStorage::open(&store).unwrap()), db_path.clone(), None).unwrap();

    // No database yet: the inventory is kept, nothing is matched.
    let row = scanner.scan_now("library/python-app", &digest).unwrap();
    assert_eq!(row.status, "done", "{:?}", row.error);
    assert!(row.inventory.is_some());
    assert_eq!((row.report.as_deref(), row.summary.as_deref(), row.db_built.as_deref()), (None, None, None));
    let e = scanner.rematch_all().unwrap_err().to_string();
    assert!(e.contains("no vulnerability database") && e.contains("vuln.db"), "{e}");

    // The layers go away; only the stored inventory is left to match.
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(store.join("blobs/sha256").join(&digest[7..])).unwrap()).unwrap();
    for l in manifest["layers"].as_array().unwrap() {
        let d = Digest::parse(l["digest"].as_str().unwrap()).unwrap();
        std::fs::remove_file(store.join("blobs/sha256").join(d.hex())).unwrap();
    }

    // The watch notices the database appear and matches what was never matched.
    scanner.spawn_db_watch(Duration::from_millis(100));
    install_db(&db_path);
    let deadline = Instant::now() + Duration::from_secs(300);
    let row = loop {
        let row = meta.scan(&digest).unwrap().unwrap();
        if row.report.is_some() || Instant::now() > deadline {
            break row;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_python_app_done(&row);

    // An explicit re-match (the admin API's) does it again, still without layers.
    assert_eq!(scanner.rematch_all().unwrap(), 1);
    assert_python_app_done(&meta.scan(&digest).unwrap().unwrap());
    // A forced rescan now fails: the layers are gone, and it says which one.
    let row = scanner.scan_now("library/python-app", &digest).unwrap();
    assert_eq!(row.status, "failed");
    let e = row.error.unwrap();
    assert!(e.contains("missing") && e.contains(manifest["layers"][0]["digest"].as_str().unwrap()), "{e}");
}

/// A store whose blobs are not local files (an object store): it answers only through the
/// `Storage` calls, and says so (`local_root` is `None`).
struct Remote(FsStorage);

#[async_trait::async_trait]
impl Storage for Remote {
    async fn stat(&self, d: &Digest) -> Result<Option<u64>, StorageError> {
        self.0.stat(d).await
    }
    async fn get(&self, d: &Digest, range: Option<(u64, Option<u64>)>) -> Result<Option<BlobRead>, StorageError> {
        self.0.get(d, range).await
    }
    async fn read_small(&self, d: &Digest, max: u64) -> Result<Option<Vec<u8>>, StorageError> {
        self.0.read_small(d, max).await
    }
    async fn put_small(&self, d: &Digest, bytes: &[u8]) -> Result<(), StorageError> {
        self.0.put_small(d, bytes).await
    }
    async fn upload_create(&self) -> Result<String, StorageError> {
        self.0.upload_create().await
    }
    async fn upload_size(&self, id: &str) -> Result<Option<u64>, StorageError> {
        self.0.upload_size(id).await
    }
    async fn upload_append(
        &self,
        id: &str,
        off: Option<u64>,
        body: ByteStream,
        limit: u64,
    ) -> Result<u64, StorageError> {
        self.0.upload_append(id, off, body, limit).await
    }
    async fn upload_commit(&self, id: &str, d: &Digest) -> Result<u64, StorageError> {
        self.0.upload_commit(id, d).await
    }
    async fn upload_abort(&self, id: &str) -> Result<(), StorageError> {
        self.0.upload_abort(id).await
    }
    async fn delete(&self, d: &Digest) -> Result<bool, StorageError> {
        self.0.delete(d).await
    }
    async fn list(&self) -> Result<Vec<BlobInfo>, StorageError> {
        self.0.list().await
    }
    async fn list_uploads(&self) -> Result<Vec<(String, std::time::SystemTime)>, StorageError> {
        self.0.list_uploads().await
    }
    fn local_root(&self) -> Option<&Path> {
        None
    }
    async fn verify(&self, d: &Digest) -> Result<Option<bool>, StorageError> {
        self.0.verify(d).await
    }
    async fn quarantine(&self, d: &Digest) -> Result<bool, StorageError> {
        self.0.quarantine(d).await
    }
}

/// The scanner reads blobs through `Storage`, not from a blob directory: with a store that has
/// no local files (and blobs nowhere near a `data/blobs`), the image is fetched through `get`
/// and scanned as from the filesystem store, findings included; a layer the store lacks fails
/// the scan naming it.
#[test]
fn the_scanner_reads_blobs_through_storage() {
    let layout = image("python-app");
    let digest = manifest_digest(&layout);
    let tmp = tempfile::tempdir().unwrap();
    let elsewhere = tmp.path().join("object-store-stand-in");
    copy_blobs(&layout, &elsewhere);
    let remote = Arc::new(Remote(FsStorage::open(&elsewhere).unwrap()));
    let meta = meta(tmp.path());
    let scanner = Scanner::new(meta.clone(), remote, db().to_path_buf(), None).unwrap();
    let row = scanner.scan_now("library/python-app", &digest).unwrap();
    assert_python_app_done(&row);

    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(elsewhere.join("blobs/sha256").join(&digest[7..])).unwrap()).unwrap();
    let layer = manifest["layers"][0]["digest"].as_str().unwrap().to_string();
    std::fs::remove_file(elsewhere.join("blobs/sha256").join(&layer[7..])).unwrap();
    let row = scanner.scan_now("library/python-app", &digest).unwrap();
    assert_eq!(row.status, "failed");
    let e = row.error.unwrap();
    assert!(e.contains(&layer) && e.contains("missing"), "{e}");
}

/// A blob store with hand-made blobs.
struct Store {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

impl Store {
    fn new() -> Store {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("store");
        std::fs::create_dir_all(root.join("blobs/sha256")).unwrap();
        Store { _dir: dir, root }
    }

    fn storage(&self) -> Arc<FsStorage> {
        Arc::new(FsStorage::open(&self.root).unwrap())
    }

    fn put(&self, bytes: &[u8]) -> String {
        let d = Digest::of_bytes(bytes);
        std::fs::write(self.root.join("blobs/sha256").join(d.hex()), bytes).unwrap();
        d.to_string()
    }

    /// A manifest with an image config naming `diff_id`, and one layer `layer` of `layer_type`.
    fn manifest(&self, layer: &str, layer_type: &str, diff_id: &str) -> String {
        let config =
            format!(r#"{{"os":"linux","architecture":"amd64","rootfs":{{"type":"layers","diff_ids":["{diff_id}"]}}}}"#);
        let config_digest = self.put(config.as_bytes());
        // The declared size is right when the blob exists, so its content is what is judged.
        let size = std::fs::metadata(self.root.join("blobs/sha256").join(&layer[7..])).map_or(100, |m| m.len());
        let manifest = format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{config_digest}","size":{}}},"layers":[{{"mediaType":"{layer_type}","digest":"{layer}","size":{size}}}]}}"#,
            config.len()
        );
        self.put(manifest.as_bytes())
    }
}

const GZIP_LAYER: &str = "application/vnd.oci.image.layer.v1.tar+gzip";

#[test]
fn hostile_manifests_give_failed_scans_not_panics() {
    let store = Store::new();
    let tmp = tempfile::tempdir().unwrap();
    let meta = meta(tmp.path());
    // No database: these never get as far as matching.
    let scanner = Scanner::new(meta.clone(), store.storage(), tmp.path().join("none.db"), None).unwrap();
    let fake_diff = format!("sha256:{}", "ab".repeat(32));

    // A layer that is not gzip at all.
    let garbage = store.put(&[0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 0xff, 1, 2, 3, 4, 5, 6, 7, 8]);
    let bad_layer = store.manifest(&garbage, GZIP_LAYER, &fake_diff);
    // A layer named but not stored.
    let absent = format!("sha256:{}", "cd".repeat(32));
    let missing_layer = store.manifest(&absent, GZIP_LAYER, &fake_diff);
    // A manifest that is not JSON, and one that is not stored.
    let not_json = store.put(b"\x00\x01 not a manifest");
    let not_stored = format!("sha256:{}", "ef".repeat(32));

    let row = scanner.scan_now("evil/app", &bad_layer).unwrap();
    assert_eq!(row.status, "failed");
    let e = row.error.clone().unwrap();
    assert!(e.contains(&garbage), "{e}");
    assert_eq!((row.inventory, row.report, row.summary), (None, None, None));

    let e = scanner.scan_now("evil/app", &missing_layer).unwrap().error.unwrap();
    assert!(e.contains(&absent) && e.contains("missing"), "{e}");
    let e = scanner.scan_now("evil/app", &not_json).unwrap().error.unwrap();
    assert!(e.contains("invalid JSON"), "{e}");
    let e = scanner.scan_now("evil/app", &not_stored).unwrap().error.unwrap();
    assert!(e.contains(&not_stored) && e.contains("not in the blob store"), "{e}");
    assert!(scanner.scan_now("evil/app", "sha256:../../etc/passwd").is_err());
    // An image pushed by a sha512 digest is read like a sha256 one: its scan reaches the same
    // bad layer (it is not refused for its algorithm, nor skipped).
    let image_bytes = std::fs::read(store.root.join("blobs/sha256").join(&bad_layer[7..])).unwrap();
    let by_sha512 = Algorithm::Sha512.digest(&image_bytes);
    std::fs::create_dir_all(store.root.join("blobs/sha512")).unwrap();
    std::fs::write(store.root.join("blobs/sha512").join(by_sha512.hex()), &image_bytes).unwrap();
    let row = scanner.scan_now("evil/app", by_sha512.as_str()).unwrap();
    assert_eq!(row.status, "failed");
    let e = row.error.unwrap();
    assert!(e.contains(&garbage) && e.contains("corrupt"), "{e}");

    // The background worker survives them all and goes on to the next push.
    for d in [&bad_layer, &missing_layer, &not_json] {
        block_on(scanner.enqueue("evil/app", d));
    }
    assert!(scanner.wait_idle(Duration::from_secs(60)));
    for d in [&bad_layer, &missing_layer, &not_json, &not_stored] {
        assert_eq!(meta.scan(d).unwrap().unwrap().status, "failed", "{d}");
    }
}

#[test]
fn signatures_indexes_and_artifacts_are_skipped() {
    let store = Store::new();
    let tmp = tempfile::tempdir().unwrap();
    let meta = meta(tmp.path());
    // No database: these never get as far as matching.
    let scanner = Scanner::new(meta.clone(), store.storage(), tmp.path().join("none.db"), None).unwrap();
    let payload = store.put(br#"{"critical":{}}"#);
    // Cosign's `.sig`: an image config, but a JSON payload as its layer.
    let sig = store.manifest(&payload, "application/vnd.dev.cosign.simplesigning.v1+json", &payload);
    let index = store.put(
        format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{sig}","size":1}}]}}"#
        )
        .as_bytes(),
    );
    let helm = store.put(
        format!(
            r#"{{"schemaVersion":2,"config":{{"mediaType":"application/vnd.cncf.helm.config.v1+json","digest":"{payload}","size":15}},"layers":[]}}"#
        )
        .as_bytes(),
    );
    for d in [&sig, &index, &helm] {
        let row = scanner.scan_now("team/app", d).unwrap();
        assert_eq!(row.status, "skipped", "{d}: {:?}", row.error);
        assert!(row.inventory.is_none() && row.report.is_none());
    }
}

#[test]
fn blocked_counts_findings_at_or_above_the_threshold() {
    let s = serde_json::to_string(&Summary {
        critical: 1,
        high: 2,
        medium: 0,
        low: 3,
        unknown: 4,
        total: 10,
        packages: 50,
    })
    .unwrap();
    assert_eq!(blocked(&s, "CRITICAL"), Some(1));
    assert_eq!(blocked(&s, "high"), Some(3));
    assert_eq!(blocked(&s, "Medium"), Some(3));
    assert_eq!(blocked(&s, "LOW"), Some(6));
    assert_eq!(blocked(&s, "unknown"), Some(10));
    assert_eq!(blocked(&s, "severe"), None);
    assert_eq!(blocked(&s, ""), None);
    let only_low = serde_json::to_string(&Summary { low: 2, total: 2, ..Default::default() }).unwrap();
    assert_eq!(blocked(&only_low, "HIGH"), None);
    assert_eq!(blocked(&only_low, "LOW"), Some(2));
    assert_eq!(blocked(&serde_json::to_string(&Summary::default()).unwrap(), "UNKNOWN"), None);
    assert_eq!(blocked("not json", "LOW"), None);
}
