//! Listings: tags, the catalog (filtered by what the caller may pull), referrers.

use super::param;
use super::{authorize, builder, finish, parse_digest, ApiResult};
use crate::auth::{Action, Principal};
use crate::error::ApiError;
use crate::meta;
use crate::state::Shared;
use axum::body::Body;
use axum::http::{header, HeaderMap, StatusCode};
use bulwark_oci::media_type;

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
    let mut rows = st.meta.referrers(name, d.as_str(), None).await?;
    for r in rows.iter_mut().filter(|r| r.artifact_type.is_none() && !media_type::is_index(&r.media_type)) {
        r.artifact_type = legacy_artifact_type(st, &r.digest).await;
    }
    if let Some(f) = filter {
        rows.retain(|r| r.artifact_type.as_deref() == Some(f));
    }
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
    let index = serde_json::json!({"schemaVersion": 2, "mediaType": media_type::OCI_INDEX, "manifests": manifests});
    let mut b = builder(StatusCode::OK).header(header::CONTENT_TYPE, media_type::OCI_INDEX);
    if filter.is_some() {
        b = b.header("OCI-Filters-Applied", "artifactType");
    }
    finish(b, Body::from(index.to_string()))
}

/// An image manifest recorded before its config's media type was stored as its artifact type
/// (image config types were left out): the type, read from the manifest itself, so the
/// referrers list and its filter treat old pushes as new ones. `None` when it cannot be read.
async fn legacy_artifact_type(st: &Shared, digest: &str) -> Option<String> {
    let d = bulwark_oci::Digest::parse(digest).ok()?;
    let bytes = st.storage.read_small(&d, st.config.limits.max_manifest_bytes).await.ok()??;
    let v: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    v["config"]["mediaType"].as_str().filter(|t| !t.is_empty()).map(str::to_string)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use crate::config::{Anonymous, Config};
    use bulwark_oci::Digest;
    use serde_json::json;

    const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
    const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";

    /// Images with a subject pushed before the fix (their rows have no artifact type) are listed
    /// and filtered under their config's media type like new ones. A real server over HTTP; the
    /// old rows are made by clearing the column, as the previous code stored them.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn referrers_recorded_without_artifact_type_get_their_config_type() {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = Config { data: dir.path().join("data"), ..Default::default() };
        cfg.auth.anonymous = Anonymous::Full;
        cfg.scan.on_push = false;
        let st = crate::server::open(cfg).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(crate::server::serve(st, listener));
        let http = reqwest::Client::builder().no_proxy().build().unwrap();
        let blob = |content: Vec<u8>| {
            let (http, base) = (http.clone(), base.clone());
            async move {
                let d = Digest::of_bytes(&content);
                let url = format!("{base}/v2/old/app/blobs/uploads/?digest={d}");
                assert_eq!(http.post(url).body(content.clone()).send().await.unwrap().status(), 201);
                json!({"mediaType": OCI_CONFIG, "digest": d.as_str(), "size": content.len()})
            }
        };
        let put = |m: serde_json::Value| {
            let (http, base) = (http.clone(), base.clone());
            async move {
                let bytes = serde_json::to_vec(&m).unwrap();
                let d = Digest::of_bytes(&bytes);
                let r = http
                    .put(format!("{base}/v2/old/app/manifests/{d}"))
                    .header("content-type", OCI_MANIFEST)
                    .body(bytes)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 201);
                d.to_string()
            }
        };
        let config = blob(br#"{"os":"linux","architecture":"amd64"}"#.to_vec()).await;
        let subject = put(json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config, "layers": []})).await;
        let config2 = blob(br#"{"os":"linux","architecture":"arm64"}"#.to_vec()).await;
        let referrer = put(json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config2, "layers": [],
            "subject": {"mediaType": OCI_MANIFEST, "digest": subject, "size": 1}}))
        .await;
        let db = rusqlite::Connection::open(dir.path().join("data/meta.db")).unwrap();
        assert_eq!(db.execute("UPDATE manifests SET artifact_type = NULL WHERE digest = ?1", [&referrer]).unwrap(), 1);

        for query in ["".to_string(), format!("?artifactType={}", OCI_CONFIG.replace('+', "%2B"))] {
            let r = http.get(format!("{base}/v2/old/app/referrers/{subject}{query}")).send().await.unwrap();
            assert_eq!(r.status(), 200);
            let v: serde_json::Value = r.json().await.unwrap();
            assert_eq!(v["manifests"].as_array().map(Vec::len), Some(1), "{query}: {v}");
            assert_eq!(v["manifests"][0]["digest"], referrer.as_str());
            assert_eq!(v["manifests"][0]["artifactType"], OCI_CONFIG, "{query}");
        }
        let other = http
            .get(format!("{base}/v2/old/app/referrers/{subject}?artifactType=application/x-other"))
            .send()
            .await
            .unwrap();
        let v: serde_json::Value = other.json().await.unwrap();
        assert_eq!(v["manifests"], json!([]));
    }
}
