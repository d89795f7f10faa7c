//! The registry's HTTP error: an OCI error body (`{"errors":[{"code","message"}]}`) with its
//! status and headers. Domain errors (metadata, storage, accounts) become one here, at the
//! boundary, and nowhere else.

use crate::meta;
use crate::storage::StorageError;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// An OCI error response (`{"errors":[{"code","message","detail"}]}`).
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub headers: Vec<(header::HeaderName, String)>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError { status, code, message: message.into(), headers: Vec::new() }
    }
    pub fn with(mut self, name: header::HeaderName, value: String) -> ApiError {
        self.headers.push((name, value));
        self
    }
    /// An answer given before the request's body was read: the connection then carries the
    /// unread rest, so say it closes (HTTP/1.1); a client that pooled it would see its next
    /// request on it cut off.
    pub fn closing(self) -> ApiError {
        self.with(header::CONNECTION, "close".to_string())
    }
    pub fn internal(e: impl std::fmt::Display) -> ApiError {
        tracing::error!("internal error: {e}");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "UNKNOWN", "internal error")
    }
    pub(crate) fn name_unknown(name: &str) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "NAME_UNKNOWN", format!("repository {name} is not known to this registry"))
    }
    pub(crate) fn manifest_unknown(r: &str) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "MANIFEST_UNKNOWN", format!("manifest {r} is unknown"))
    }
    pub(crate) fn blob_unknown(d: &str) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "BLOB_UNKNOWN", format!("blob {d} is unknown to this repository"))
    }
    pub(crate) fn upload_unknown(id: &str) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "BLOB_UPLOAD_UNKNOWN", format!("upload {id} is unknown"))
    }
    pub(crate) fn digest_invalid(msg: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "DIGEST_INVALID", msg)
    }
}

impl From<meta::MetaError> for ApiError {
    fn from(e: meta::MetaError) -> Self {
        match e {
            meta::MetaError::TagImmutable { .. } => ApiError::new(StatusCode::CONFLICT, "DENIED", e.to_string()),
            other => ApiError::internal(other),
        }
    }
}

impl From<StorageError> for ApiError {
    fn from(e: StorageError) -> Self {
        match &e {
            StorageError::BlobUnknown(d) => ApiError::blob_unknown(d),
            StorageError::UploadUnknown(id) => ApiError::upload_unknown(id),
            StorageError::DigestMismatch { .. } => ApiError::digest_invalid(e.to_string()),
            StorageError::OutOfOrder { have, .. } => {
                let range = format!("0-{}", have.saturating_sub(1));
                ApiError::new(StatusCode::RANGE_NOT_SATISFIABLE, "BLOB_UPLOAD_INVALID", e.to_string())
                    .with(header::RANGE, range)
                    .closing()
            }
            StorageError::BadRange { size, .. } => {
                let cr = format!("bytes */{size}");
                ApiError::new(StatusCode::RANGE_NOT_SATISFIABLE, "RANGE_INVALID", e.to_string())
                    .with(header::CONTENT_RANGE, cr)
            }
            StorageError::TooLarge { .. } => {
                ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "SIZE_INVALID", e.to_string()).closing()
            }
            StorageError::Body(_) => ApiError::new(StatusCode::BAD_REQUEST, "BLOB_UPLOAD_INVALID", e.to_string()),
            // A client never overlaps requests on one upload; one that does gets the answer
            // of an out-of-order chunk, which clients treat as "start the upload again".
            StorageError::UploadBusy(_) => {
                ApiError::new(StatusCode::RANGE_NOT_SATISFIABLE, "BLOB_UPLOAD_INVALID", e.to_string()).closing()
            }
            StorageError::Io { .. } => ApiError::internal(e),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({"errors": [{"code": self.code, "message": self.message}]});
        let mut resp = (self.status, axum::Json(body)).into_response();
        for (k, v) in self.headers {
            if let Ok(v) = HeaderValue::from_str(&v) {
                resp.headers_mut().insert(k, v);
            }
        }
        resp
    }
}

/// A throttled login: 429 with `Retry-After`, answered without a password check.
pub fn too_many(secs: u64) -> ApiError {
    ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "TOOMANYREQUESTS",
        format!("too many login attempts; retry after {secs} s"),
    )
    .with(header::RETRY_AFTER, secs.to_string())
}
