//! Listings: tags, the catalog (filtered by what the caller may pull), referrers.

use super::param;
use super::{authorize, builder, finish, parse_digest, ApiResult};
use crate::auth::{Action, Principal};
use crate::error::ApiError;
use crate::meta;
use crate::state::Shared;
use axum::body::Body;
use axum::http::{header, HeaderMap, StatusCode};
use bulwark_image::spec;

pub(crate) fn page_size(q: &[(String, String)]) -> Result<Option<usize>, ApiError> {
    match param(q, "n") {
        None => Ok(None),
        Some(n) => n
            .parse::<usize>()
            .map(|n| Some(n.min(10_000)))
            .map_err(|_| ApiError::new(StatusCode::BAD_REQUEST, "PAGINATION_NUMBER_INVALID", format!("n={n:?}"))),
    }
}

pub(crate) fn next_link(path: &str, n: usize, last: &str) -> String {
    let q = serde_urlencoded::to_string([("n", n.to_string()), ("last", last.to_string())]).unwrap_or_default();
    format!("<{path}?{q}>; rel=\"next\"")
}

pub(crate) async fn tags_list(
    st: &Shared,
    headers: &HeaderMap,
    who: &Principal,
    name: &str,
    q: &[(String, String)],
) -> ApiResult {
    authorize(st, headers, who, name, Action::Pull).await?;
    if !st.meta.repo_exists(name).await? {
        return Err(ApiError::name_unknown(name));
    }
    let n = page_size(q)?;
    let tags = match n {
        Some(0) => Vec::new(),
        _ => st.meta.tags(name, param(q, "last"), n).await?,
    };
    let mut b = builder(StatusCode::OK).header(header::CONTENT_TYPE, "application/json");
    if let (Some(n), Some(last)) = (n, tags.last()) {
        if tags.len() == n {
            b = b.header(header::LINK, next_link(&format!("/v2/{name}/tags/list"), n, last));
        }
    }
    let body = serde_json::json!({"name": name, "tags": tags});
    finish(b, Body::from(body.to_string()))
}

/// The catalog lists only what the caller may pull.
pub(crate) async fn catalog(st: &Shared, who: &Principal, q: &[(String, String)]) -> ApiResult {
    // A token names its subject; the catalog is filtered by that account's roles.
    let who = who.clone().into_account(st.meta.as_ref()).await?.unwrap_or(Principal::Anonymous);
    let n = page_size(q)?;
    let last = param(q, "last").unwrap_or("");
    let mut repos = Vec::new();
    for r in st.meta.repositories().await? {
        if r.as_str() <= last {
            continue;
        }
        let project = st.meta.project(meta::project_of(&r)).await?;
        if !st.auth.allowed(&who, &r, Action::Pull, project.as_ref()) {
            continue;
        }
        if n.is_some_and(|n| repos.len() >= n) {
            break;
        }
        repos.push(r);
    }
    let mut b = builder(StatusCode::OK).header(header::CONTENT_TYPE, "application/json");
    if let (Some(n), Some(last)) = (n, repos.last()) {
        if repos.len() == n {
            b = b.header(header::LINK, next_link("/v2/_catalog", n, last));
        }
    }
    finish(b, Body::from(serde_json::json!({"repositories": repos}).to_string()))
}

pub(crate) async fn referrers(
    st: &Shared,
    headers: &HeaderMap,
    who: &Principal,
    name: &str,
    digest: &str,
    q: &[(String, String)],
) -> ApiResult {
    authorize(st, headers, who, name, Action::Pull).await?;
    let d = parse_digest(digest)?;
    let filter = param(q, "artifactType");
    let rows = st.meta.referrers(name, d.as_str(), filter).await?;
    let manifests: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| {
            let mut v = serde_json::json!({"mediaType": r.media_type, "digest": r.digest, "size": r.size});
            if let Some(a) = &r.artifact_type {
                v["artifactType"] = serde_json::json!(a);
            }
            if let Some(a) = r.annotations.as_deref().and_then(|a| serde_json::from_str::<serde_json::Value>(a).ok()) {
                v["annotations"] = a;
            }
            v
        })
        .collect();
    let index = serde_json::json!({"schemaVersion": 2, "mediaType": spec::OCI_INDEX, "manifests": manifests});
    let mut b = builder(StatusCode::OK).header(header::CONTENT_TYPE, spec::OCI_INDEX);
    if filter.is_some() {
        b = b.header("OCI-Filters-Applied", "artifactType");
    }
    finish(b, Body::from(index.to_string()))
}
