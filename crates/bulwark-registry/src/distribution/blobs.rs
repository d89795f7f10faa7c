//! Blobs: GET (whole or one range), HEAD, DELETE.

use super::{authorize, builder, finish, parse_digest, ApiResult};
use crate::auth::{Action, Principal};
use crate::error::ApiError;
use crate::state::Shared;
use axum::body::Body;
use axum::http::{header, HeaderMap, StatusCode};
use futures_util::StreamExt;

/// `Range: bytes=A-B`, `bytes=A-`, `bytes=-N` (the last N). Several ranges are not served.
pub(crate) fn parse_range(h: &str, size: Option<u64>) -> Option<Result<(u64, Option<u64>), ()>> {
    let spec = h.trim().strip_prefix("bytes=")?;
    if spec.contains(',') {
        return None;
    }
    let (a, b) = spec.split_once('-')?;
    if a.is_empty() {
        let n: u64 = b.parse().ok()?;
        let size = size?;
        if n == 0 {
            return Some(Err(()));
        }
        return Some(Ok((size.saturating_sub(n), None)));
    }
    let start: u64 = a.parse().ok()?;
    let end: Option<u64> = if b.is_empty() { None } else { Some(b.parse().ok()?) };
    Some(Ok((start, end)))
}

pub(crate) async fn blob_get(
    st: &Shared,
    headers: &HeaderMap,
    who: &Principal,
    name: &str,
    digest: &str,
    head: bool,
) -> ApiResult {
    authorize(st, headers, who, name, Action::Pull).await?;
    let d = parse_digest(digest)?;
    if !st.meta.blob_linked(name, d.as_str()).await? && st.meta.manifest(name, d.as_str()).await?.is_none() {
        return Err(ApiError::blob_unknown(digest));
    }
    if head {
        let size = st.storage.stat(&d).await?.ok_or_else(|| ApiError::blob_unknown(digest))?;
        let b = builder(StatusCode::OK)
            .header(header::CONTENT_LENGTH, size)
            .header(header::CONTENT_TYPE, "application/octet-stream")
            .header(header::ACCEPT_RANGES, "bytes")
            .header("Docker-Content-Digest", d.as_str());
        return finish(b, Body::empty());
    }
    let range_header = headers.get(header::RANGE).and_then(|v| v.to_str().ok());
    let range = match range_header {
        Some(h) => {
            let size = if h.contains("=-") { st.storage.stat(&d).await? } else { None };
            match parse_range(h, size) {
                Some(Ok(r)) => Some(r),
                Some(Err(())) => {
                    return Err(ApiError::new(StatusCode::RANGE_NOT_SATISFIABLE, "RANGE_INVALID", "empty range"))
                }
                None => None,
            }
        }
        None => None,
    };
    let read = st.storage.get(&d, range).await?.ok_or_else(|| ApiError::blob_unknown(digest))?;
    let mut b = builder(if range.is_some() { StatusCode::PARTIAL_CONTENT } else { StatusCode::OK })
        .header(header::CONTENT_LENGTH, read.len)
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .header(header::ACCEPT_RANGES, "bytes")
        .header("Docker-Content-Digest", d.as_str());
    if let Some((start, _)) = range {
        b = b.header(header::CONTENT_RANGE, format!("bytes {start}-{}/{}", start + read.len - 1, read.size));
    }
    let st2 = st.clone();
    let body = read.body.inspect(move |c| {
        if let Ok(c) = c {
            st2.metrics.bytes_sent.inc_by(c.len() as u64);
        }
    });
    finish(b, Body::from_stream(body))
}

pub(crate) async fn blob_delete(
    st: &Shared,
    headers: &HeaderMap,
    who: &Principal,
    name: &str,
    digest: &str,
) -> ApiResult {
    authorize(st, headers, who, name, Action::Delete).await?;
    let d = parse_digest(digest)?;
    if !st.meta.blob_unlink(name, d.as_str()).await? {
        return Err(ApiError::blob_unknown(digest));
    }
    finish(builder(StatusCode::ACCEPTED), Body::empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-9", None), Some(Ok((0, Some(9)))));
        assert_eq!(parse_range("bytes=5-", None), Some(Ok((5, None))));
        assert_eq!(parse_range("bytes=-3", Some(10)), Some(Ok((7, None))));
        assert_eq!(parse_range("bytes=0-1,3-4", None), None);
        assert_eq!(parse_range("items=0-1", None), None);
    }
}
