//! Blob uploads: monolithic, chunked, streamed and resumable, and cross-repository mounts.

use super::param;
use super::{authorize, builder, finish, parse_digest, ApiResult};
use crate::auth::{Action, Principal};
use crate::error::ApiError;
use crate::meta;
use crate::names::valid_name;
use crate::state::{AppState, Shared};
use crate::storage::{ByteStream, StorageError};
use axum::body::Body;
use axum::http::{header, HeaderMap, StatusCode};
use bulwark_oci::Digest;
use futures_util::StreamExt;

pub(crate) fn body_stream(st: &Shared, body: Body) -> ByteStream {
    let st = st.clone();
    Box::pin(body.into_data_stream().map(move |r| {
        r.inspect(|c| {
            st.metrics.bytes_received.inc_by(c.len() as u64);
        })
        .map_err(std::io::Error::other)
    }))
}

pub(crate) fn upload_location(
    b: axum::http::response::Builder,
    name: &str,
    id: &str,
    size: u64,
) -> axum::http::response::Builder {
    // `Range` is inclusive; distribution sends `0-0` for an empty upload, and clients expect it.
    b.header(header::LOCATION, format!("/v2/{name}/blobs/uploads/{id}"))
        .header(header::RANGE, format!("0-{}", size.saturating_sub(1)))
        .header("Docker-Upload-UUID", id)
        .header(header::CONTENT_LENGTH, 0)
}

pub(crate) async fn commit_upload(st: &Shared, name: &str, id: &str, digest: &Digest) -> ApiResult {
    {
        let _guard = st.gc_lock.read().await;
        if let Err(e) = st.storage.upload_commit(id, digest).await {
            if matches!(e, StorageError::DigestMismatch { .. }) {
                let _ = st.meta.upload_delete(id).await;
            }
            return Err(e.into());
        }
        st.meta.blob_link(name, digest.as_str()).await?;
        st.meta.upload_delete(id).await?;
    }
    let b = builder(StatusCode::CREATED)
        .header(header::LOCATION, format!("/v2/{name}/blobs/{digest}"))
        .header("Docker-Content-Digest", digest.as_str())
        .header(header::CONTENT_LENGTH, 0);
    finish(b, Body::empty())
}

pub(crate) async fn upload_start(
    st: &Shared,
    headers: &HeaderMap,
    who: &Principal,
    name: &str,
    q: &[(String, String)],
    body: Body,
) -> ApiResult {
    authorize(st, headers, who, name, Action::Push).await?;
    // Cross-repository mount: only from a repository the caller may pull, else a plain upload.
    if let (Some(mount), Some(from)) = (param(q, "mount"), param(q, "from")) {
        let d = parse_digest(mount)?;
        // Shared with GC's exclusive hold: a blob cannot be swept between the check and the link.
        let _guard = st.gc_lock.read().await;
        let from_project = st.meta.project(meta::project_of(from)).await?;
        if valid_name(from)
            && st.auth.allowed(who, from, Action::Pull, from_project.as_ref())
            && st.meta.blob_linked(from, d.as_str()).await?
            && st.storage.stat(&d).await?.is_some()
        {
            st.meta.blob_link(name, d.as_str()).await?;
            let b = builder(StatusCode::CREATED)
                .header(header::LOCATION, format!("/v2/{name}/blobs/{d}"))
                .header("Docker-Content-Digest", d.as_str())
                .header(header::CONTENT_LENGTH, 0);
            return finish(b, Body::empty());
        }
    }
    let id = st.storage.upload_create().await?;
    st.meta.upload_put(&id, name).await?;
    if let Some(digest) = param(q, "digest") {
        // Monolithic upload: the whole blob in the POST.
        let d = parse_digest(digest)?;
        st.storage.upload_append(&id, Some(0), body_stream(st, body), st.config.limits.max_blob_bytes).await?;
        return commit_upload(st, name, &id, &d).await;
    }
    finish(upload_location(builder(StatusCode::ACCEPTED), name, &id, 0), Body::empty())
}

/// The upload must exist and belong to this repository: ids are not capabilities across
/// repositories.
pub(crate) async fn own_upload(st: &AppState, name: &str, id: &str) -> Result<(), ApiError> {
    match st.meta.upload_repo(id).await? {
        Some(r) if r == name => Ok(()),
        _ => Err(ApiError::upload_unknown(id)),
    }
}

pub(crate) async fn upload_status(
    st: &Shared,
    headers: &HeaderMap,
    who: &Principal,
    name: &str,
    id: &str,
) -> ApiResult {
    authorize(st, headers, who, name, Action::Push).await?;
    own_upload(st, name, id).await?;
    let size = st.storage.upload_size(id).await?.ok_or_else(|| ApiError::upload_unknown(id))?;
    finish(upload_location(builder(StatusCode::NO_CONTENT), name, id, size), Body::empty())
}

/// The start of an upload chunk's `Content-Range: START-END` (also `bytes START-END[/SIZE]`);
/// `None` when it does not parse or ends before it starts.
pub(crate) fn upload_range_start(cr: &str) -> Option<u64> {
    let cr = cr.trim().trim_start_matches("bytes ").trim_start_matches("bytes=");
    let (a, b) = cr.split_once('-')?;
    let start: u64 = a.parse().ok()?;
    let end: u64 = b.split('/').next().unwrap_or("").parse().ok()?;
    (end >= start).then_some(start)
}

/// The offset a chunk's `Content-Range: START-END` (inclusive) says it starts at, which must be
/// where the upload stands; `None` without the header (a streamed chunk).
pub(crate) fn content_range_offset(headers: &HeaderMap) -> Result<Option<u64>, ApiError> {
    match headers.get(header::CONTENT_RANGE).and_then(|v| v.to_str().ok()) {
        Some(cr) => Ok(Some(upload_range_start(cr).ok_or_else(|| {
            ApiError::new(StatusCode::RANGE_NOT_SATISFIABLE, "BLOB_UPLOAD_INVALID", format!("bad Content-Range {cr:?}"))
        })?)),
        None => Ok(None),
    }
}

pub(crate) async fn upload_patch(
    st: &Shared,
    headers: &HeaderMap,
    who: &Principal,
    name: &str,
    id: &str,
    body: Body,
) -> ApiResult {
    authorize(st, headers, who, name, Action::Push).await?;
    own_upload(st, name, id).await?;
    let offset = content_range_offset(headers)?;
    let size = st.storage.upload_append(id, offset, body_stream(st, body), st.config.limits.max_blob_bytes).await?;
    finish(upload_location(builder(StatusCode::ACCEPTED), name, id, size), Body::empty())
}

pub(crate) async fn upload_put(
    st: &Shared,
    headers: &HeaderMap,
    who: &Principal,
    name: &str,
    id: &str,
    q: &[(String, String)],
    body: Body,
) -> ApiResult {
    authorize(st, headers, who, name, Action::Push).await?;
    own_upload(st, name, id).await?;
    let d =
        parse_digest(param(q, "digest").ok_or_else(|| ApiError::digest_invalid("the digest parameter is missing"))?)?;
    // The closing PUT may carry the last chunk; with a `Content-Range` it must continue where
    // the upload stands, as a PATCH must (416 with the current `Range`, nothing appended).
    let offset = content_range_offset(headers)?;
    st.storage.upload_append(id, offset, body_stream(st, body), st.config.limits.max_blob_bytes).await?;
    commit_upload(st, name, id, &d).await
}

pub(crate) async fn upload_delete(
    st: &Shared,
    headers: &HeaderMap,
    who: &Principal,
    name: &str,
    id: &str,
) -> ApiResult {
    authorize(st, headers, who, name, Action::Push).await?;
    own_upload(st, name, id).await?;
    st.storage.upload_abort(id).await?;
    st.meta.upload_delete(id).await?;
    finish(builder(StatusCode::NO_CONTENT), Body::empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upload_chunk_ranges() {
        assert_eq!(upload_range_start("0-9"), Some(0));
        assert_eq!(upload_range_start("bytes 10-19/100"), Some(10));
        assert_eq!(upload_range_start("bytes=5-5"), Some(5));
        assert_eq!(upload_range_start("9-0"), None);
        assert_eq!(upload_range_start("x-1"), None);
        assert_eq!(upload_range_start("10"), None);
    }
}
