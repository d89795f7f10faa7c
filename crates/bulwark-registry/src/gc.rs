//! Garbage collection: mark the blobs that manifests and repository links still need, sweep
//! the others once they are older than a grace period, and drop abandoned uploads.
//!
//! Crash safety: the sweep only ever deletes blobs outside the mark set, one file at a time,
//! and never touches metadata a manifest depends on. A SIGKILL at any point therefore leaves
//! every referenced blob in place; what it can leave behind is unreferenced blobs and stale
//! uploads, which the next run collects.
//!
//! Verification: every blob the mark keeps is hashed again (after the sweep, without holding
//! pushes off); one whose content is not its digest (a flipped bit, a write from outside) is
//! reported and moved to quarantine, so it is no longer served and a push of it stores a good
//! copy.

use crate::meta::{self, MetaError, MetaStore};
use crate::storage::{Storage, StorageError};
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::time::{Duration, SystemTime};
use tokio::sync::RwLock;

#[derive(Debug, thiserror::Error)]
pub enum GcError {
    #[error(transparent)]
    Meta(#[from] MetaError),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

#[derive(Debug, Clone)]
pub struct GcOptions {
    /// Unreferenced blobs and links younger than this stay: a client uploads layers before
    /// the manifest that references them.
    pub grace: Duration,
    /// Uploads not written to for this long are abandoned.
    pub upload_max_age: Duration,
    /// Compute the report, delete nothing.
    pub dry_run: bool,
    /// Hash every kept blob and quarantine the ones whose content is not their digest.
    pub verify_blobs: bool,
}

/// A stored blob whose content is not its digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CorruptBlob {
    pub digest: String,
    /// Its size on disk when found.
    pub size: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct GcReport {
    /// Blobs deleted (or, in a dry run, that would be).
    pub blobs_deleted: usize,
    pub bytes_freed: u64,
    /// Unreferenced blobs kept because they are younger than the grace period.
    pub kept_young: usize,
    /// Repository links to blobs no manifest of the repository references.
    pub links_pruned: usize,
    pub uploads_removed: usize,
    /// Kept blobs hashed again (with `verify_blobs`).
    pub blobs_verified: usize,
    /// Kept blobs whose content is not their digest.
    pub corrupt: Vec<CorruptBlob>,
    /// Of those, the ones moved out of the blob store (none in a dry run).
    pub blobs_quarantined: usize,
}

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

/// Whether `t` is at least `age` before `now`; a time in the future (clock skew) is young.
fn older_than(t: SystemTime, now: SystemTime, age: Duration) -> bool {
    now.duration_since(t).is_ok_and(|a| a >= age)
}

/// Mark and sweep. Runs under `lock.write()`: the server holds `lock.read()` from checking a
/// manifest's blobs until the manifest is recorded (and while committing an upload), so no
/// push can reference a blob between our mark and our sweep.
pub async fn collect(
    meta: &dyn MetaStore,
    storage: &dyn Storage,
    lock: &RwLock<()>,
    opts: &GcOptions,
) -> Result<GcReport, GcError> {
    let _guard = lock.write().await;
    let started = SystemTime::now();
    let now = meta::now();
    let mut report = GcReport::default();

    // Mark: what manifests reference, plus what repositories still link (recent uploads not
    // yet referenced by a manifest). Old links no manifest uses go first, so their blobs can.
    let link_cutoff = now.saturating_sub(secs(opts.grace));
    let mut keep = meta.referenced_blobs().await?;
    if opts.dry_run {
        report.links_pruned = meta.prunable_links(link_cutoff).await?;
        keep.extend(meta.linked_blobs_after_prune(link_cutoff).await?);
    } else {
        report.links_pruned = meta.prune_links(link_cutoff).await?;
        keep.extend(meta.linked_blobs().await?);
    }

    // Sweep: only blobs outside the mark set, each deleted on its own (see the module docs).
    let mut kept = Vec::new();
    for b in storage.list().await? {
        if keep.contains(b.digest.as_str()) {
            kept.push(b);
            continue;
        }
        if !older_than(b.modified, started, opts.grace) {
            report.kept_young += 1;
            continue;
        }
        if opts.dry_run {
            report.blobs_deleted += 1;
            report.bytes_freed += b.size;
            continue;
        }
        match storage.delete(&b.digest).await {
            Ok(true) => {
                tracing::debug!(digest = %b.digest, size = b.size, "gc: blob deleted");
                report.blobs_deleted += 1;
                report.bytes_freed += b.size;
            }
            Ok(false) => {}
            // One unreadable file should not stop the rest of the sweep.
            Err(e) => tracing::warn!(digest = %b.digest, "gc: {e}"),
        }
    }

    report.uploads_removed = sweep_uploads(meta, storage, opts, started, now).await?;
    drop(_guard);
    if opts.verify_blobs {
        verify(storage, lock, opts, kept, &mut report).await;
    }

    tracing::info!(
        dry_run = opts.dry_run,
        blobs = report.blobs_deleted,
        bytes = report.bytes_freed,
        kept_young = report.kept_young,
        links = report.links_pruned,
        uploads = report.uploads_removed,
        verified = report.blobs_verified,
        corrupt = report.corrupt.len(),
        "gc finished"
    );
    Ok(report)
}

/// Hash `kept` blobs without the lock (reading every byte takes long; a committed blob is never
/// rewritten, so nothing races the hash but damage), then quarantine damaged ones under it.
async fn verify(
    storage: &dyn Storage,
    lock: &RwLock<()>,
    opts: &GcOptions,
    kept: Vec<crate::storage::BlobInfo>,
    report: &mut GcReport,
) {
    for b in kept {
        match storage.verify(&b.digest).await {
            Ok(Some(true)) => report.blobs_verified += 1,
            // Gone since the listing: nothing to verify.
            Ok(None) => {}
            Ok(Some(false)) => {
                report.blobs_verified += 1;
                tracing::error!(
                    digest = %b.digest,
                    size = b.size,
                    dry_run = opts.dry_run,
                    "gc: blob content does not match its digest; moving it to quarantine"
                );
                report.corrupt.push(CorruptBlob { digest: b.digest.to_string(), size: b.size });
                if opts.dry_run {
                    continue;
                }
                let _guard = lock.write().await;
                // Checked again under the lock: another GC may have moved it meanwhile.
                if !matches!(storage.verify(&b.digest).await, Ok(Some(false))) {
                    continue;
                }
                match storage.quarantine(&b.digest).await {
                    Ok(true) => report.blobs_quarantined += 1,
                    Ok(false) => {}
                    Err(e) => tracing::warn!(digest = %b.digest, "gc: quarantine: {e}"),
                }
            }
            // An unreadable file is reported and the rest still verified.
            Err(e) => tracing::warn!(digest = %b.digest, "gc: verifying: {e}"),
        }
    }
}

/// Remove uploads older than `upload_max_age`, including ones only storage or only the
/// metadata knows (what a kill between their two records leaves).
async fn sweep_uploads(
    meta: &dyn MetaStore,
    storage: &dyn Storage,
    opts: &GcOptions,
    started: SystemTime,
    now: i64,
) -> Result<usize, GcError> {
    let known: HashMap<String, i64> = meta.uploads().await?.into_iter().map(|(id, _, t)| (id, t)).collect();
    let mut stored = HashSet::new();
    let mut removed = 0;
    for (id, modified) in storage.list_uploads().await? {
        stored.insert(id.clone());
        // The last write says whether a client is still at it; the start time does not.
        if !older_than(modified, started, opts.upload_max_age) {
            continue;
        }
        if opts.dry_run {
            removed += 1;
            continue;
        }
        let aborted = match storage.upload_abort(&id).await {
            Ok(()) => true,
            // Gone meanwhile, or a stray file whose name is no upload id: nothing to abort.
            Err(StorageError::UploadUnknown(_)) => false,
            Err(e) => {
                tracing::warn!(upload = id, "gc: {e}");
                continue;
            }
        };
        let recorded = known.contains_key(&id);
        if recorded {
            meta.upload_delete(&id).await?;
        }
        if aborted || recorded {
            removed += 1;
            tracing::debug!(upload = id, "gc: upload removed");
        }
    }
    let max_age = secs(opts.upload_max_age);
    for (id, t) in known {
        if stored.contains(&id) || now.saturating_sub(t) < max_age {
            continue;
        }
        removed += 1;
        if !opts.dry_run {
            meta.upload_delete(&id).await?;
            tracing::debug!(upload = id, "gc: upload record without data removed");
        }
    }
    Ok(removed)
}
