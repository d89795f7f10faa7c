//! Entry points for the fuzz targets (`fuzz/`): the request parsers of the distribution API,
//! which are private to [`super`]. Not an API.

use crate::names::{is_fallback_tag, valid_name, valid_tag};

/// A `/v2/` path after the prefix, as the router splits it; then the name, reference and
/// digest checks a request goes through.
pub fn route(rest: &str) {
    let Some(route) = super::parse_route(rest) else { return };
    let (name, reference) = match route {
        super::Route::Manifest { name, reference } => (name, Some(reference)),
        super::Route::Blob { name, digest } | super::Route::Referrers { name, digest } => (name, Some(digest)),
        super::Route::UploadStart { name } | super::Route::Tags { name } => (name, None),
        super::Route::Upload { name, id } => (name, Some(id)),
    };
    let _ = valid_name(&name);
    if let Some(r) = reference {
        let _ = valid_tag(&r) || is_fallback_tag(&r) || super::parse_digest(&r).is_ok();
    }
}

/// A `Range` header against a blob of `size` bytes.
pub fn range(h: &str, size: Option<u64>) -> Option<Result<(u64, Option<u64>), ()>> {
    super::blobs::parse_range(h, size)
}

/// An upload chunk's `Content-Range`: the start offset.
pub fn content_range(h: &str) -> Option<u64> {
    super::uploads::upload_range_start(h)
}
