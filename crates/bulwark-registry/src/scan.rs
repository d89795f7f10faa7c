//! Scan-on-push: pushed image manifests are inventoried from the blob store and matched
//! against the advisory database off the request path, on one background thread (a scan is
//! CPU-bound; one at a time keeps request latency flat on a small machine).
//!
//! Blobs are read through [`Storage`] only: the manifest with `read_small`; layers in place
//! when the store says its blobs are local files ([`Storage::local_root`]), else fetched with
//! `get` into a temporary layout for the scan (an object store).
//!
//! The inventory is stored beside the report, so a new database re-matches every image
//! without reading a layer again. A hostile image only ever gives a `failed` scan.

use crate::meta::{self, MetaError, MetaStore, ScanRow};
use crate::storage::{Storage, StorageError};
use bulwark_catalog::Inventory;
use bulwark_match::ScanReport;
use bulwark_oci::{media_type, Descriptor, Digest};
use bulwark_vulndb::severity::Level;
use bulwark_vulndb::{Db, DbError};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

/// A manifest larger than this is refused before parsing (the registry's own cap is 4 MiB).
const MAX_MANIFEST: u64 = 8 << 20;

#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error(transparent)]
    Meta(#[from] MetaError),
    #[error(transparent)]
    Image(#[from] bulwark_image::ImageError),
    #[error(transparent)]
    Digest(#[from] bulwark_oci::DigestError),
    #[error("blob store: {0}")]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("matching: {0}")]
    Match(#[from] bulwark_match::MatchError),
    #[error("writing the report: {0}")]
    Report(#[from] bulwark_report::ReportError),
    #[error("inventory JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{0}")]
    Invalid(String),
    #[error("the scanner crashed: {0}")]
    Panic(String),
}

/// Findings by severity, as stored with each scan and read by the pull policy.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub critical: usize,
    pub high: usize,
    pub medium: usize,
    pub low: usize,
    pub unknown: usize,
    /// Every finding.
    pub total: usize,
    /// Packages in the inventory.
    pub packages: usize,
}

impl Summary {
    pub fn of(report: &ScanReport, packages: usize) -> Summary {
        let mut s = Summary { total: report.findings.len(), packages, ..Default::default() };
        for f in &report.findings {
            *s.count_mut(f.severity) += 1;
        }
        s
    }

    pub fn count(&self, level: Level) -> usize {
        match level {
            Level::Critical => self.critical,
            Level::High => self.high,
            Level::Medium => self.medium,
            Level::Low => self.low,
            Level::Unknown => self.unknown,
        }
    }

    fn count_mut(&mut self, level: Level) -> &mut usize {
        match level {
            Level::Critical => &mut self.critical,
            Level::High => &mut self.high,
            Level::Medium => &mut self.medium,
            Level::Low => &mut self.low,
            Level::Unknown => &mut self.unknown,
        }
    }
}

/// How many findings of a stored [`Summary`] are at or above `threshold` (CRITICAL, HIGH,
/// MEDIUM, LOW or UNKNOWN, any case); `None` when there are none or `threshold` is not one.
pub fn blocked(summary_json: &str, threshold: &str) -> Option<usize> {
    let want = threshold.trim().to_ascii_uppercase();
    // Only the five names: Level::parse's aliases (NONE, MODERATE) are not policy values.
    let level = Level::ALL.into_iter().find(|l| l.as_str() == want)?;
    let summary: Summary = serde_json::from_str(summary_json).ok()?;
    let n: usize = Level::ALL.into_iter().filter(|l| *l >= level).map(|l| summary.count(l)).sum();
    (n > 0).then_some(n)
}

struct Job {
    repo: String,
    digest: String,
}

#[derive(Default)]
struct Queue {
    /// Digests waiting: a manifest pushed again before its scan starts is not queued twice.
    waiting: HashSet<String>,
    /// Jobs sent and not yet finished.
    pending: usize,
}

/// Where the scan thread runs the store's async calls: the server's runtime, or (outside one,
/// as in tools and tests) a small runtime of its own.
enum Rt {
    Handle(tokio::runtime::Handle),
    Own(tokio::runtime::Runtime),
}

impl Rt {
    fn new() -> Result<Rt, ScanError> {
        if let Ok(h) = tokio::runtime::Handle::try_current() {
            return Ok(Rt::Handle(h));
        }
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("bulwark-scan-io")
            .enable_all()
            .build()
            .map_err(|e| ScanError::Io { path: PathBuf::from("(scan runtime)"), source: e })?;
        Ok(Rt::Own(rt))
    }

    /// Only ever called from the scan thread or a blocking task, never from async code.
    fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        match self {
            Rt::Handle(h) => h.block_on(f),
            Rt::Own(r) => r.block_on(f),
        }
    }
}

struct Ctx {
    meta: Arc<dyn MetaStore>,
    storage: Arc<dyn Storage>,
    rt: Rt,
    db_path: PathBuf,
    cache_dir: Option<PathBuf>,
    queue: Mutex<Queue>,
    idle: Condvar,
    /// Held by every scan and re-match: one CPU-bound job at a time, and a re-match never
    /// interleaves with a scan writing the same row from an older database.
    work: Mutex<()>,
}

/// The scan queue and its worker. Clones share both; the worker ends when the last clone goes.
#[derive(Clone)]
pub struct Scanner {
    ctx: Arc<Ctx>,
    tx: mpsc::Sender<Job>,
}

impl std::fmt::Debug for Scanner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scanner")
            .field("blobs_local", &self.ctx.storage.local_root())
            .field("db_path", &self.ctx.db_path)
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Scanner {
    /// Blobs are read from `storage`; `db_path` is the advisory database (it may not exist
    /// yet); `cache_dir` is the layer cache (`None`: no cache).
    pub fn new(
        meta: Arc<dyn MetaStore>,
        storage: Arc<dyn Storage>,
        db_path: PathBuf,
        cache_dir: Option<PathBuf>,
    ) -> Result<Scanner, ScanError> {
        let ctx = Arc::new(Ctx {
            meta,
            storage,
            rt: Rt::new()?,
            db_path,
            cache_dir,
            queue: Mutex::new(Queue::default()),
            idle: Condvar::new(),
            work: Mutex::new(()),
        });
        let (tx, rx) = mpsc::channel::<Job>();
        let worker = ctx.clone();
        if let Err(e) = std::thread::Builder::new().name("bulwark-scan".into()).spawn(move || worker.run(rx)) {
            // enqueue then finds the channel closed and says so; scan_now still works.
            tracing::error!(error = %e, "cannot start the scan thread");
        }
        Ok(Scanner { ctx, tx })
    }

    /// Queue a scan of `digest` (pushed to `repo`); returns at once. The job is recorded in
    /// the metadata store first and removed once its result is stored, so a restart (SIGTERM
    /// or SIGKILL) resumes it: see [`Scanner::resume`].
    pub async fn enqueue(&self, repo: &str, digest: &str) {
        if let Err(e) = self.ctx.meta.scan_enqueue(digest, repo).await {
            tracing::error!(repo, digest, error = %e, "recording the queued scan failed; it runs but a restart loses it");
        }
        self.enqueue_memory(repo, digest);
    }

    /// Queue again what a stopped server left queued, and image manifests with no scan at all
    /// (pushed while scanning was off, or killed between the push and its queue record).
    /// Returns how many were queued.
    pub async fn resume(&self) -> Result<usize, ScanError> {
        let mut jobs = self.ctx.meta.scan_queue().await?;
        let queued: HashSet<String> = jobs.iter().map(|(d, _)| d.clone()).collect();
        jobs.extend(self.ctx.meta.unscanned_manifests().await?.into_iter().filter(|(d, _)| !queued.contains(d)));
        for (digest, repo) in &jobs {
            self.enqueue(repo, digest).await;
        }
        Ok(jobs.len())
    }

    fn enqueue_memory(&self, repo: &str, digest: &str) {
        {
            let mut q = lock(&self.ctx.queue);
            if !q.waiting.insert(digest.to_string()) {
                return;
            }
            q.pending += 1;
        }
        let job = Job { repo: repo.to_string(), digest: digest.to_string() };
        if self.tx.send(job).is_err() {
            tracing::error!(repo, digest, "scan thread is not running; image not scanned");
            self.ctx.finished(Some(digest));
        }
    }

    /// Scan now, on this thread, even if a scan is stored; returns the stored row.
    pub fn scan_now(&self, repo: &str, digest: &str) -> Result<ScanRow, ScanError> {
        let digest = Digest::parse(digest)?;
        let _work = lock(&self.ctx.work);
        let row = self.ctx.scan(repo, &digest);
        self.ctx.rt.block_on(self.ctx.meta.scan_put(&row))?;
        Ok(row)
    }

    /// Match every stored inventory against the current database again (no layer is read);
    /// returns how many were matched.
    pub fn rematch_all(&self) -> Result<usize, ScanError> {
        self.ctx.rematch(false)
    }

    /// Poll the database file every `every` and re-match what an older database (or none)
    /// matched when it changes; the first poll catches up after a restart.
    pub fn spawn_db_watch(&self, every: Duration) {
        // Weak: the watch must not keep the scanner alive after the server lets it go.
        let ctx = Arc::downgrade(&self.ctx);
        let spawned = std::thread::Builder::new().name("bulwark-scan-db-watch".into()).spawn(move || {
            let mut seen: Option<(SystemTime, u64)> = None;
            loop {
                let Some(ctx) = ctx.upgrade() else { return };
                let now = fingerprint(&ctx.db_path);
                if now.is_some() && now != seen {
                    match ctx.rematch(true) {
                        Ok(n) => {
                            if n > 0 {
                                tracing::info!(images = n, "advisory database changed; images re-matched");
                            }
                            seen = now;
                        }
                        // Left unseen: retried at the next poll (a database mid-replace, say).
                        Err(e) => tracing::warn!(error = %e, "re-matching after a database change failed"),
                    }
                }
                drop(ctx);
                std::thread::sleep(every);
            }
        });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "cannot start the database watch thread");
        }
    }

    /// True once nothing is queued or being scanned (within `timeout`).
    pub fn wait_idle(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut q = lock(&self.ctx.queue);
        while q.pending > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            q = match self.ctx.idle.wait_timeout(q, left) {
                Ok((g, _)) => g,
                Err(p) => p.into_inner().0,
            };
        }
        true
    }
}

/// The database file's modification time and size: what a replacement changes.
fn fingerprint(path: &Path) -> Option<(SystemTime, u64)> {
    let m = std::fs::metadata(path).ok()?;
    Some((m.modified().ok()?, m.len()))
}

/// Run `f`, turning a panic (a detector or version parser bug on hostile input) into an error.
fn guarded<T>(f: impl FnOnce() -> Result<T, ScanError>) -> Result<T, ScanError> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|p| {
        let msg = p
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "panic".into());
        Err(ScanError::Panic(msg))
    })
}

/// Why a manifest is not an image to scan, or `None` when it is one.
fn not_an_image(bytes: &[u8]) -> Result<Option<String>, ScanError> {
    #[derive(Deserialize)]
    struct Probe {
        #[serde(rename = "mediaType", default)]
        media_type: String,
        #[serde(default)]
        manifests: Option<serde_json::Value>,
        #[serde(default)]
        config: Option<Descriptor>,
        #[serde(default)]
        layers: Vec<Descriptor>,
    }
    let p: Probe =
        serde_json::from_slice(bytes).map_err(|e| ScanError::Invalid(format!("manifest: invalid JSON: {e}")))?;
    if media_type::is_index(&p.media_type) || p.manifests.is_some() {
        return Ok(Some("an index; its images are scanned one by one".into()));
    }
    let Some(config) = p.config else {
        return Ok(Some(format!("a manifest without config (type {:?}), not an image", p.media_type)));
    };
    // Anything but an image config is an artifact (Helm chart, SBOM, signature).
    if !config.media_type.is_empty() && !media_type::is_image_config(&config.media_type) {
        return Ok(Some(format!("an artifact (config type {}), not an image", config.media_type)));
    }
    // Cosign signatures carry an image config but JSON payloads as layers.
    if let Some(l) = p.layers.iter().find(|l| !media_type::is_layer(&l.media_type)) {
        return Ok(Some(format!("layer type {} is not a filesystem layer, not an image", l.media_type)));
    }
    Ok(None)
}

impl Ctx {
    fn run(&self, rx: mpsc::Receiver<Job>) {
        // Ends when every Scanner (every sender) is gone.
        for job in rx {
            lock(&self.queue).waiting.remove(&job.digest);
            self.run_one(&job);
            self.finished(None);
        }
    }

    fn run_one(&self, job: &Job) {
        self.run_job(job);
        // Only once the result is stored: a kill before this line scans again after restart.
        if let Err(e) = self.rt.block_on(self.meta.scan_dequeue(&job.digest)) {
            tracing::warn!(digest = %job.digest, error = %e, "removing the finished scan from the queue failed");
        }
    }

    fn run_job(&self, job: &Job) {
        let digest = match Digest::parse(&job.digest) {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(repo = %job.repo, error = %e, "not scanned");
                return;
            }
        };
        let _work = lock(&self.work);
        // `docker push` sends the manifest again on every push: an image already read is not
        // read again (a new database is handled by the watch; a forced scan by scan_now).
        match self.rt.block_on(self.meta.scan(digest.as_str())) {
            Ok(Some(r)) if r.status == "done" || r.status == "skipped" => return,
            _ => {}
        }
        let row = self.scan(&job.repo, &digest);
        tracing::info!(repo = %job.repo, digest = %digest, status = %row.status, error = ?row.error, "scanned");
        if let Err(e) = self.rt.block_on(self.meta.scan_put(&row)) {
            tracing::error!(digest = %digest, error = %e, "storing the scan failed");
        }
    }

    fn finished(&self, waiting: Option<&str>) {
        let mut q = lock(&self.queue);
        if let Some(d) = waiting {
            q.waiting.remove(d);
        }
        q.pending = q.pending.saturating_sub(1);
        if q.pending == 0 {
            self.idle.notify_all();
        }
    }

    /// Scan one manifest into the row to store; every failure is in the row.
    fn scan(&self, repo: &str, digest: &Digest) -> ScanRow {
        let mut row = ScanRow {
            digest: digest.to_string(),
            repo: repo.to_string(),
            status: "failed".into(),
            inventory: None,
            report: None,
            summary: None,
            scanned: meta::now(),
            db_built: None,
            error: None,
        };
        match guarded(|| self.inventory(repo, digest)) {
            Ok(Err(reason)) => {
                row.status = "skipped".into();
                row.error = Some(reason);
            }
            // A limit was hit: the inventory is incomplete, so the image cannot be vouched for
            // (what was skipped may be what a policy would block). The scan fails, naming the
            // limit; the server, which ran it within that budget, goes on.
            Ok(Ok(inv)) if !inv.skipped.is_empty() => {
                let s = &inv.skipped[0];
                row.error = Some(format!(
                    "inventory incomplete: {} file(s) skipped over a limit, first {} ({}: {})",
                    inv.skipped.iter().map(|s| s.files).sum::<u64>(),
                    s.path,
                    if s.detector.is_empty() { "image" } else { s.detector.as_str() },
                    s.limit
                ));
            }
            Ok(Ok(inv)) => match serde_json::to_string(&inv) {
                Ok(json) => {
                    row.inventory = Some(json);
                    match Db::open(&self.db_path) {
                        // No database yet: done for now; the watch matches when one appears.
                        Err(DbError::Missing(_)) => row.status = "done".into(),
                        Err(e) => row.error = Some(e.to_string()),
                        Ok(db) => {
                            self.apply_match(&mut row, &inv, &db);
                        }
                    }
                }
                Err(e) => row.error = Some(ScanError::from(e).to_string()),
            },
            Err(e) => row.error = Some(e.to_string()),
        }
        row
    }

    /// The image's inventory, or (inner `Err`) why it is not an image.
    fn inventory(&self, repo: &str, digest: &Digest) -> Result<Result<Inventory, String>, ScanError> {
        let manifest = self.read_manifest(digest)?;
        if let Some(reason) = not_an_image(&manifest)? {
            return Ok(Err(reason));
        }
        // Held until the scan is done: the layers are read from it.
        let fetched;
        let root = match self.storage.local_root() {
            Some(root) => root,
            None => {
                fetched = self.fetch(digest, &manifest)?;
                fetched.path()
            }
        };
        let image = bulwark_image::source::blob_root(root, digest, repo, None)?;
        let opts = bulwark_image::Options {
            cache_dir: self.cache_dir.clone(),
            no_cache: self.cache_dir.is_none(),
            progress: false,
            ..Default::default()
        };
        Ok(Ok(bulwark_image::catalog_image(image, &bulwark_catalog::all_detectors(), &opts)?))
    }

    /// A manifest, whole and checked against its digest, from the store.
    fn read_manifest(&self, digest: &Digest) -> Result<Vec<u8>, ScanError> {
        let buf = match self.rt.block_on(self.storage.read_small(digest, MAX_MANIFEST)) {
            Ok(Some(b)) => b,
            Ok(None) => return Err(ScanError::Invalid(format!("manifest {digest} is not in the blob store"))),
            Err(StorageError::TooLarge { .. }) => {
                return Err(ScanError::Invalid(format!("manifest {digest}: larger than {MAX_MANIFEST} bytes")))
            }
            Err(e) => return Err(e.into()),
        };
        let actual = digest.algorithm().digest(&buf);
        if &actual != digest {
            return Err(ScanError::Invalid(format!("manifest {digest}: content hashes to {actual}")));
        }
        Ok(buf)
    }

    /// For a store without local files: the manifest, its config and its layers copied (streamed)
    /// from the store into a temporary OCI layout, which the image reader then checks as it
    /// reads. Blobs the manifest does not name are never fetched.
    fn fetch(&self, digest: &Digest, manifest: &[u8]) -> Result<tempfile::TempDir, ScanError> {
        #[derive(Deserialize)]
        struct Image {
            config: Descriptor,
            #[serde(default)]
            layers: Vec<Descriptor>,
        }
        let m: Image =
            serde_json::from_slice(manifest).map_err(|e| ScanError::Invalid(format!("manifest {digest}: {e}")))?;
        let dir = tempfile::Builder::new()
            .prefix("bulwark-scan-")
            .tempdir()
            .map_err(|e| ScanError::Io { path: std::env::temp_dir(), source: e })?;
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| ScanError::Io { path, source }
        };
        let write = |d: &Digest, bytes: Option<&[u8]>| -> Result<(), ScanError> {
            let sub = dir.path().join("blobs").join(d.algorithm().name());
            std::fs::create_dir_all(&sub).map_err(io(&sub))?;
            let path = sub.join(d.hex());
            let mut f = std::fs::File::create(&path).map_err(io(&path))?;
            if let Some(b) = bytes {
                return std::io::Write::write_all(&mut f, b).map_err(io(&path));
            }
            let read = self
                .rt
                .block_on(self.storage.get(d, None))?
                .ok_or_else(|| ScanError::Invalid(format!("blob {d} is missing from the blob store")))?;
            let mut body = read.body;
            self.rt.block_on(async {
                use futures_util::StreamExt;
                while let Some(chunk) = body.next().await {
                    let chunk = chunk.map_err(io(&path))?;
                    std::io::Write::write_all(&mut f, &chunk).map_err(io(&path))?;
                }
                Ok::<(), ScanError>(())
            })
        };
        write(digest, Some(manifest))?;
        for desc in std::iter::once(&m.config).chain(m.layers.iter().filter(|l| media_type::is_layer(&l.media_type))) {
            write(&desc.digest, None)?;
        }
        Ok(dir)
    }

    /// Match `inv` into `row` (report, summary, database time); false on failure, in the row.
    fn apply_match(&self, row: &mut ScanRow, inv: &Inventory, db: &Db) -> bool {
        match guarded(|| matched(inv, db)) {
            Ok((report, summary)) => {
                row.status = "done".into();
                row.report = Some(report);
                row.summary = Some(summary);
                row.db_built = Some(db.metadata().built_at.clone());
                row.error = None;
                true
            }
            Err(e) => {
                row.status = "failed".into();
                row.report = None;
                row.summary = None;
                row.db_built = None;
                row.error = Some(e.to_string());
                false
            }
        }
    }

    /// Re-match stored inventories; `only_stale`: those not matched against this database.
    fn rematch(&self, only_stale: bool) -> Result<usize, ScanError> {
        let _work = lock(&self.work);
        let db = Db::open(&self.db_path)?;
        let built = db.metadata().built_at.clone();
        let mut n = 0;
        for digest in self.rt.block_on(self.meta.scans_with_inventory())? {
            // Gone since the listing (garbage collected): nothing to do.
            let Some(mut row) = self.rt.block_on(self.meta.scan(&digest))? else { continue };
            if only_stale && row.status == "done" && row.db_built.as_deref() == Some(built.as_str()) {
                continue;
            }
            let Some(text) = row.inventory.as_deref() else { continue };
            match serde_json::from_str::<Inventory>(text) {
                Ok(inv) => {
                    if self.apply_match(&mut row, &inv, &db) {
                        n += 1;
                    }
                }
                Err(e) => {
                    row.status = "failed".into();
                    row.error = Some(format!("stored inventory unreadable, rescan the image: {e}"));
                }
            }
            self.rt.block_on(self.meta.scan_put(&row))?;
        }
        Ok(n)
    }
}

/// The report as bulwark's JSON format writes it, and the summary as JSON.
fn matched(inv: &Inventory, db: &Db) -> Result<(String, String), ScanError> {
    let mut report = bulwark_match::scan(inv, db)?;
    report.warnings.splice(0..0, inv.warnings.iter().cloned());
    let format = bulwark_report::format_by_name("json")
        .ok_or_else(|| ScanError::Invalid("the json report format is not registered".into()))?;
    let mut out = Vec::new();
    format.write(&report, &mut out, &bulwark_report::WriteOptions::default())?;
    let report_json = String::from_utf8(out).map_err(|e| ScanError::Invalid(format!("report: {e}")))?;
    let summary = serde_json::to_string(&Summary::of(&report, inv.packages.len()))?;
    Ok((report_json, summary))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_image_manifests_are_scanned() {
        // Real descriptors: the probe reads them as bulwark-oci's strict Descriptor.
        let desc = |media_type: &str, seed: &str| {
            serde_json::to_string(&Descriptor::of(media_type, seed.as_bytes())).unwrap_or_default()
        };
        let config = desc(media_type::OCI_CONFIG, "config");
        let image = format!(r#"{{"config":{config},"layers":[{}]}}"#, desc(media_type::OCI_LAYER_GZIP, "layer"));
        assert_eq!(not_an_image(image.as_bytes()).ok(), Some(None));
        let sig = format!(
            r#"{{"config":{config},"layers":[{}]}}"#,
            desc("application/vnd.dev.cosign.simplesigning.v1+json", "payload")
        );
        let helm = format!(r#"{{"config":{}}}"#, desc("application/vnd.cncf.helm.config.v1+json", "chart"));
        let index = r#"{"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}"#;
        for skip in [sig.as_str(), helm.as_str(), index, r#"{"schemaVersion":1,"fsLayers":[]}"#] {
            assert!(matches!(not_an_image(skip.as_bytes()), Ok(Some(_))), "{skip}");
        }
        assert!(not_an_image(b"\x00garbage").is_err());
    }
}
