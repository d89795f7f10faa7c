//! Maintenance over the whole registry: retention applied to every project that has a policy,
//! and garbage collection. One copy, used by the server's schedule, the management API
//! (`/api/v1/retention`, `/api/v1/gc`) and `bulwark registry retention|gc`.

use crate::gc::{GcError, GcOptions, GcReport};
use crate::meta::MetaError;
use crate::retention::{RetentionError, RetentionReport};
use crate::state::AppState;
use std::time::Duration;

/// What one retention pass did: a report per project it applied to, and the projects where it
/// failed (the others are still done).
#[derive(Debug, Default)]
pub struct RetentionRun {
    pub reports: Vec<RetentionReport>,
    pub failed: Vec<(String, RetentionError)>,
}

/// Apply every project's retention policy. Holds the GC lock exclusively: a push holds it
/// shared while it checks that an index's children exist.
pub async fn apply_retention(st: &AppState, dry_run: bool) -> Result<RetentionRun, MetaError> {
    let _guard = st.gc_lock.write().await;
    let mut run = RetentionRun::default();
    for p in st.meta.projects().await?.iter().filter(|p| p.retention.is_some()) {
        match crate::retention::apply(st.meta.as_ref(), p, dry_run).await {
            Ok(r) => run.reports.push(r),
            Err(e) => run.failed.push((p.name.clone(), e)),
        }
    }
    Ok(run)
}

/// Collect unreferenced blobs and abandoned uploads (retention is separate).
pub async fn run_gc(st: &AppState, dry_run: bool) -> Result<GcReport, GcError> {
    let opts = GcOptions {
        grace: Duration::from_secs(st.config.gc.grace_secs),
        upload_max_age: Duration::from_secs(st.config.gc.upload_max_age_secs),
        dry_run,
        verify_blobs: st.config.gc.verify_blobs,
    };
    let r = crate::gc::collect(st.meta.as_ref(), st.storage.as_ref(), &st.gc_lock, &opts).await?;
    st.metrics.gc_blobs_deleted.inc_by(r.blobs_deleted as u64);
    Ok(r)
}

/// The scheduled pass: retention, then GC (so what retention untagged is collected), logged.
pub async fn scheduled(st: &AppState) {
    match apply_retention(st, false).await {
        Ok(run) => {
            for (project, e) in &run.failed {
                tracing::warn!(project, "retention: {e}");
            }
        }
        Err(e) => tracing::warn!("retention: {e}"),
    }
    match run_gc(st, false).await {
        Ok(r) => tracing::info!(deleted = r.blobs_deleted, bytes = r.bytes_freed, "gc"),
        Err(e) => tracing::warn!("gc: {e}"),
    }
}
