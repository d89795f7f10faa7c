//! The OCI distribution API (v1.1) under `/v2/`, and the token endpoint. Every failure becomes
//! an OCI error body at one place ([`ApiError`]). Repository names contain slashes, so `/v2/`
//! paths are parsed here rather than by the router.
//!
//! Access answers are chosen so they leak nothing: an anonymous caller gets a challenge
//! whether or not the repository exists; an authenticated caller denied a pull gets the same
//! 404 as for a repository that does not exist.

use crate::auth::{Action, Principal, Scope};
use crate::config::Config;
use crate::meta::{self, ManifestRow, MetaStore, Ref};
use crate::metrics::Metrics;
use crate::scan::Scanner;
use crate::storage::{ByteStream, Storage, StorageError};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use crate::digest::{Algorithm, Digest};
use bulwark_image::spec;
use futures_util::StreamExt;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::Arc;

#[doc(hidden)]
pub mod fuzzing;

/// Everything a request handler needs.
pub struct AppState {
    pub config: Config,
    pub meta: Arc<dyn MetaStore>,
    pub storage: Arc<dyn Storage>,
    pub auth: crate::auth::Auth,
    pub scanner: Option<Scanner>,
    pub metrics: Metrics,
    /// Held shared while a push checks and records what a manifest references, exclusive
    /// while GC decides what is unreferenced: a push never races a sweep.
    pub gc_lock: tokio::sync::RwLock<()>,
    /// Whether this server speaks TLS (for the token realm it advertises).
    pub tls: bool,
}

pub type Shared = Arc<AppState>;

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
    pub(crate) fn with(mut self, name: header::HeaderName, value: String) -> ApiError {
        self.headers.push((name, value));
        self
    }
    pub fn internal(e: impl std::fmt::Display) -> ApiError {
        tracing::error!("internal error: {e}");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "UNKNOWN", "internal error")
    }
    fn name_unknown(name: &str) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "NAME_UNKNOWN", format!("repository {name} is not known to this registry"))
    }
    fn manifest_unknown(r: &str) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "MANIFEST_UNKNOWN", format!("manifest {r} is unknown"))
    }
    fn blob_unknown(d: &str) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "BLOB_UNKNOWN", format!("blob {d} is unknown to this repository"))
    }
    fn upload_unknown(id: &str) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "BLOB_UPLOAD_UNKNOWN", format!("upload {id} is unknown"))
    }
    fn digest_invalid(msg: impl Into<String>) -> ApiError {
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
            }
            StorageError::BadRange { size, .. } => {
                let cr = format!("bytes */{size}");
                ApiError::new(StatusCode::RANGE_NOT_SATISFIABLE, "RANGE_INVALID", e.to_string())
                    .with(header::CONTENT_RANGE, cr)
            }
            StorageError::TooLarge { .. } => {
                ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "SIZE_INVALID", e.to_string())
            }
            StorageError::Body(_) => ApiError::new(StatusCode::BAD_REQUEST, "BLOB_UPLOAD_INVALID", e.to_string()),
            // A client never overlaps requests on one upload; one that does gets the answer
            // of an out-of-order chunk, which clients treat as "start the upload again".
            StorageError::UploadBusy(_) => {
                ApiError::new(StatusCode::RANGE_NOT_SATISFIABLE, "BLOB_UPLOAD_INVALID", e.to_string())
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

type ApiResult = Result<Response, ApiError>;

pub fn router(state: Shared) -> axum::Router {
    use axum::routing::{any, get};
    axum::Router::new()
        .route("/v2", any(v2))
        .route("/v2/", any(v2))
        .route("/v2/{*rest}", any(v2))
        .route("/token", get(token_get).post(token_post))
        .merge(crate::mgmt::routes())
        .layer(axum::middleware::from_fn_with_state(state.clone(), observe))
        .with_state(state)
}

/// Metrics and a log line for every request.
async fn observe(State(st): State<Shared>, req: Request, next: axum::middleware::Next) -> Response {
    let start = std::time::Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let route = route_class(&path);
    let resp = next.run(req).await;
    let status = resp.status().as_u16();
    let secs = start.elapsed().as_secs_f64();
    st.metrics
        .requests
        .get_or_create(&crate::metrics::RequestLabels { route, method: crate::metrics::method_label(&method), status })
        .inc();
    st.metrics.latency.get_or_create(&crate::metrics::RouteLabels { route }).observe(secs);
    tracing::debug!(%method, path, status, ms = secs * 1000.0, "request");
    resp
}

fn route_class(path: &str) -> &'static str {
    if path.starts_with("/v2") {
        if path.contains("/blobs/uploads") {
            "upload"
        } else if path.contains("/blobs/") {
            "blob"
        } else if path.contains("/manifests/") {
            "manifest"
        } else if path.ends_with("/tags/list") {
            "tags"
        } else if path.contains("/referrers/") {
            "referrers"
        } else if path.ends_with("/_catalog") {
            "catalog"
        } else {
            "base"
        }
    } else if path == "/token" {
        "token"
    } else if path.starts_with("/api/") {
        "api"
    } else if path == "/metrics" {
        "metrics"
    } else {
        "other"
    }
}

// --- names, tags, queries -------------------------------------------------------------------

/// The distribution spec's repository name grammar: lowercase components separated by `/`,
/// each `[a-z0-9]+` joined by `.`, `_`, `__` or dashes. Checked before any lookup.
pub fn valid_name(name: &str) -> bool {
    if name.is_empty() || name.len() > 255 {
        return false;
    }
    name.split('/').all(|c| {
        let b = c.as_bytes();
        if b.is_empty() || !is_alnum(b[0]) || !is_alnum(b[b.len() - 1]) {
            return false;
        }
        let mut i = 0;
        while i < b.len() {
            if is_alnum(b[i]) {
                i += 1;
                continue;
            }
            // A separator: `.`, `_`, `__`, or one or more `-`.
            let start = i;
            match b[i] {
                b'.' => i += 1,
                b'_' => {
                    i += 1;
                    if i < b.len() && b[i] == b'_' {
                        i += 1;
                    }
                }
                b'-' => {
                    while i < b.len() && b[i] == b'-' {
                        i += 1;
                    }
                }
                _ => return false,
            }
            if i == start || i >= b.len() || !is_alnum(b[i]) {
                return false;
            }
        }
        true
    })
}

fn is_alnum(c: u8) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

/// `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`.
pub fn valid_tag(tag: &str) -> bool {
    let b = tag.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && b.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'_' || c == b'.' || c == b'-')
}

/// cosign's and the referrers fallback's tags (`sha256-<hex>[.sig|.att|.sbom]`): they are
/// rewritten as signatures accumulate, so tag immutability does not apply to them.
pub fn is_fallback_tag(tag: &str) -> bool {
    let Some(rest) = tag.strip_prefix("sha256-") else { return false };
    let hex = rest.split('.').next().unwrap_or("");
    hex.len() == 64 && hex.bytes().all(|c| c.is_ascii_hexdigit())
}

fn query(q: Option<&str>) -> Vec<(String, String)> {
    q.and_then(|q| serde_urlencoded::from_str::<Vec<(String, String)>>(q).ok()).unwrap_or_default()
}

fn param<'a>(q: &'a [(String, String)], key: &str) -> Option<&'a str> {
    q.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// A sha256 or sha512 digest; other algorithms and malformed digests are 400 DIGEST_INVALID
/// (the message says which).
fn parse_digest(s: &str) -> Result<Digest, ApiError> {
    Digest::parse(s).map_err(|e| ApiError::digest_invalid(e.to_string()))
}

enum Route {
    Manifest { name: String, reference: String },
    Blob { name: String, digest: String },
    UploadStart { name: String },
    Upload { name: String, id: String },
    Tags { name: String },
    Referrers { name: String, digest: String },
}

fn parse_route(rest: &str) -> Option<Route> {
    if let Some(name) = rest.strip_suffix("/tags/list") {
        return Some(Route::Tags { name: name.into() });
    }
    if let Some(name) = rest.strip_suffix("/blobs/uploads/").or_else(|| rest.strip_suffix("/blobs/uploads")) {
        return Some(Route::UploadStart { name: name.into() });
    }
    if let Some((name, id)) = rest.rsplit_once("/blobs/uploads/") {
        return Some(Route::Upload { name: name.into(), id: id.into() });
    }
    if let Some((name, r)) = rest.rsplit_once("/manifests/") {
        return Some(Route::Manifest { name: name.into(), reference: r.into() });
    }
    if let Some((name, d)) = rest.rsplit_once("/blobs/") {
        return Some(Route::Blob { name: name.into(), digest: d.into() });
    }
    if let Some((name, d)) = rest.rsplit_once("/referrers/") {
        return Some(Route::Referrers { name: name.into(), digest: d.into() });
    }
    None
}

// --- authentication and authorization --------------------------------------------------------

/// The Bearer challenge, naming the scope the client should ask for and, for a token that was
/// not granted enough, distribution's `insufficient_scope` error.
fn challenge(st: &AppState, headers: &HeaderMap, scope: Option<String>, error: Option<&str>) -> ApiError {
    let realm = match &st.auth.config().realm {
        Some(r) => r.clone(),
        None => {
            let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
            format!("{}://{host}/token", if st.tls { "https" } else { "http" })
        }
    };
    let mut v = format!("Bearer realm=\"{realm}\",service=\"{}\"", st.auth.config().service);
    if let Some(s) = scope {
        v.push_str(&format!(",scope=\"{s}\""));
    }
    if let Some(e) = error {
        v.push_str(&format!(",error=\"{e}\""));
    }
    ApiError::new(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", "authentication required").with(header::WWW_AUTHENTICATE, v)
}

/// A throttled login: 429 with `Retry-After`, answered without a password check.
pub(crate) fn too_many(secs: u64) -> ApiError {
    ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "TOOMANYREQUESTS",
        format!("too many login attempts; retry after {secs} s"),
    )
    .with(header::RETRY_AFTER, secs.to_string())
}

async fn principal(st: &AppState, headers: &HeaderMap, client: std::net::IpAddr) -> Result<Principal, ApiError> {
    let h = headers.get(header::AUTHORIZATION).and_then(|h| h.to_str().ok());
    st.auth.authenticate(st.meta.as_ref(), client, h).await.map_err(|e| {
        if let crate::auth::AuthError::Throttled(secs) = e {
            return too_many(secs);
        }
        tracing::info!("authentication failed: {e}");
        let mut err = challenge(st, headers, None, None);
        err.message = "invalid credentials or token".into();
        err
    })
}

/// Allow `action` on `name` or answer as the module header says. Returns the repository's
/// project row (when it exists), which the handlers' policies need too.
fn authorize(
    st: &AppState,
    headers: &HeaderMap,
    who: &Principal,
    name: &str,
    action: Action,
) -> Result<Option<meta::Project>, ApiError> {
    let project = st.meta.project(meta::project_of(name))?;
    if st.auth.allowed(who, name, action, project.as_ref()) {
        return Ok(project);
    }
    let scope_actions = match action {
        Action::Pull => "pull",
        Action::Push => "pull,push",
        Action::Delete => "delete",
    };
    let scope = Some(format!("repository:{name}:{scope_actions}"));
    // A token that never asked for this repository: tell the client which scope to ask for.
    let asked = match who {
        Principal::Token(c) => c.access.iter().any(|a| a.kind == "repository" && a.name == name),
        _ => true,
    };
    if who.is_anonymous() || !asked {
        return Err(challenge(st, headers, scope, None));
    }
    // A token that asked but was not granted a write: distribution's `insufficient_scope`
    // challenge, so a client holding a pull token fetches a wider one (and fails there if
    // the account may not write). Denied pulls stay 404, as below.
    if matches!(who, Principal::Token(_)) && action != Action::Pull {
        let mut e = challenge(st, headers, scope, Some("insufficient_scope"));
        e.message = format!("the token does not grant {} on {name}", action.as_str());
        return Err(e);
    }
    Err(match action {
        Action::Pull => ApiError::name_unknown(name),
        _ => {
            ApiError::new(StatusCode::FORBIDDEN, "DENIED", format!("{} may not {} {name}", who.name(), action.as_str()))
        }
    })
}

// --- the /v2/ dispatcher -------------------------------------------------------------------------

async fn v2(State(st): State<Shared>, req: Request) -> Response {
    let mut resp = match v2_inner(&st, req).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    };
    // Docker's ping reads it; every /v2/ answer carries it, errors and challenges too.
    resp.headers_mut().insert("Docker-Distribution-API-Version", HeaderValue::from_static("registry/2.0"));
    resp
}

async fn v2_inner(st: &Shared, req: Request) -> ApiResult {
    let (parts, body) = req.into_parts();
    let headers = &parts.headers;
    let method = parts.method.clone();
    let path = parts.uri.path();
    let rest = path.strip_prefix("/v2").unwrap_or("").trim_start_matches('/');
    let q = query(parts.uri.query());
    let client = crate::server::ClientAddr::of(&parts.extensions);
    let who = principal(st, headers, client).await?;

    if rest.is_empty() {
        // The version check: a challenge for anonymous callers unless anonymous access is
        // complete, so that clients learn where to get tokens.
        if who.is_anonymous() && st.auth.anonymous() != crate::config::Anonymous::Full {
            return Err(challenge(st, headers, None, None));
        }
        return Ok(ok_json(StatusCode::OK, serde_json::json!({})));
    }
    if rest == "_catalog" {
        return catalog(st, &who, &q).await;
    }
    let route = parse_route(rest)
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "UNSUPPORTED", format!("no such endpoint: {path}")))?;
    let name = match &route {
        Route::Manifest { name, .. }
        | Route::Blob { name, .. }
        | Route::UploadStart { name }
        | Route::Upload { name, .. }
        | Route::Tags { name }
        | Route::Referrers { name, .. } => name.clone(),
    };
    if !valid_name(&name) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "NAME_INVALID",
            format!("invalid repository name {name:?}"),
        ));
    }
    let body = Body::new(body);
    match (route, method) {
        (Route::Manifest { reference, .. }, Method::GET) => {
            manifest_get(st, headers, &who, &name, &reference, false).await
        }
        (Route::Manifest { reference, .. }, Method::HEAD) => {
            manifest_get(st, headers, &who, &name, &reference, true).await
        }
        (Route::Manifest { reference, .. }, Method::PUT) => {
            manifest_put(st, headers, &who, &name, &reference, &q, body).await
        }
        (Route::Manifest { reference, .. }, Method::DELETE) => {
            manifest_delete(st, headers, &who, &name, &reference).await
        }
        (Route::Blob { digest, .. }, Method::GET) => blob_get(st, headers, &who, &name, &digest, false).await,
        (Route::Blob { digest, .. }, Method::HEAD) => blob_get(st, headers, &who, &name, &digest, true).await,
        (Route::Blob { digest, .. }, Method::DELETE) => blob_delete(st, headers, &who, &name, &digest).await,
        (Route::UploadStart { .. }, Method::POST) => upload_start(st, headers, &who, &name, &q, body).await,
        (Route::Upload { id, .. }, Method::GET) => upload_status(st, headers, &who, &name, &id).await,
        (Route::Upload { id, .. }, Method::PATCH) => upload_patch(st, headers, &who, &name, &id, body).await,
        (Route::Upload { id, .. }, Method::PUT) => upload_put(st, headers, &who, &name, &id, &q, body).await,
        (Route::Upload { id, .. }, Method::DELETE) => upload_delete(st, headers, &who, &name, &id).await,
        (Route::Tags { .. }, Method::GET) => tags_list(st, headers, &who, &name, &q).await,
        (Route::Referrers { digest, .. }, Method::GET) => referrers(st, headers, &who, &name, &digest, &q).await,
        (_, m) => Err(ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "UNSUPPORTED", format!("{m} is not allowed here"))),
    }
}

fn ok_json(status: StatusCode, v: serde_json::Value) -> Response {
    (status, axum::Json(v)).into_response()
}

fn builder(status: StatusCode) -> axum::http::response::Builder {
    Response::builder().status(status).header("Docker-Distribution-API-Version", "registry/2.0")
}

fn finish(b: axum::http::response::Builder, body: Body) -> ApiResult {
    b.body(body).map_err(ApiError::internal)
}

// --- manifests ---------------------------------------------------------------------------------

/// The manifest a pull names. A reference that is neither a digest nor a valid tag cannot name
/// one: it is unknown (404), as the spec and the conformance suite's `.INVALID_MANIFEST_NAME`
/// expect; only a push of such a tag is TAG_INVALID.
async fn resolve(st: &AppState, name: &str, reference: &str) -> Result<ManifestRow, ApiError> {
    let digest = if reference.contains(':') {
        parse_digest(reference)?.to_string()
    } else {
        let found = if valid_tag(reference) { st.meta.tag(name, reference)? } else { None };
        match found {
            Some(d) => d,
            None if !st.meta.repo_exists(name)? => return Err(ApiError::name_unknown(name)),
            None => return Err(ApiError::manifest_unknown(reference)),
        }
    };
    match st.meta.manifest(name, &digest)? {
        Some(m) => Ok(m),
        None if !st.meta.repo_exists(name)? => Err(ApiError::name_unknown(name)),
        None => Err(ApiError::manifest_unknown(reference)),
    }
}

async fn manifest_get(
    st: &Shared,
    headers: &HeaderMap,
    who: &Principal,
    name: &str,
    reference: &str,
    head: bool,
) -> ApiResult {
    let project = authorize(st, headers, who, name, Action::Pull)?;
    let row = resolve(st, name, reference).await?;
    if !head {
        check_vulnerability_policy(st, name, project.as_ref(), &row)?;
    }
    let digest = parse_digest(&row.digest)?;
    let b = builder(StatusCode::OK)
        .header(header::CONTENT_TYPE, &row.media_type)
        .header("Docker-Content-Digest", &row.digest)
        .header(header::ETAG, format!("\"{}\"", row.digest))
        .header(header::CONTENT_LENGTH, row.size);
    if head {
        return finish(b, Body::empty());
    }
    let bytes = st
        .storage
        .read_small(&digest, st.config.limits.max_manifest_bytes)
        .await?
        .ok_or_else(|| ApiError::internal(format!("manifest {} of {name} has no blob", row.digest)))?;
    finish(b, Body::from(bytes))
}

/// Harbor's "prevent vulnerable images from running": refuse the pull when the project sets
/// a severity and the image's stored report has findings at or above it, or when there is no
/// report (scan queued, failed, or no advisory database) unless the project allows unscanned.
fn check_vulnerability_policy(
    st: &AppState,
    name: &str,
    project: Option<&meta::Project>,
    row: &ManifestRow,
) -> Result<(), ApiError> {
    let Some(project) = project else { return Ok(()) };
    let Some(threshold) = project.block_severity.as_deref() else { return Ok(()) };
    // Indexes and artifacts are never scanned; an index's images are checked when pulled. An
    // image's artifact type is its config's media type (see manifest_put): still an image.
    let artifact = row.artifact_type.as_deref().is_some_and(|a| a != OCI_CONFIG && a != DOCKER_CONFIG);
    if spec::is_index(&row.media_type) || artifact {
        return Ok(());
    }
    let scan = st.meta.scan(&row.digest)?;
    let missing = match &scan {
        Some(s) if s.status == "skipped" => return Ok(()),
        None => "has not been scanned yet".to_string(),
        Some(s) if s.status == "failed" => {
            format!("has no vulnerability report: its scan failed ({})", s.error.as_deref().unwrap_or("no reason"))
        }
        Some(s) if s.summary.is_none() => "has no vulnerability report yet (no advisory database)".to_string(),
        Some(_) => String::new(),
    };
    if !missing.is_empty() {
        if project.unscanned == Some(meta::Unscanned::Allow) {
            return Ok(());
        }
        return Err(ApiError::new(
            StatusCode::PRECONDITION_FAILED,
            "DENIED",
            format!(
                "{name}@{} {missing}; project {} refuses pulls of images without a report (unscanned = deny)",
                row.digest, project.name
            ),
        ));
    }
    let Some(summary) = scan.as_ref().and_then(|s| s.summary.as_deref()) else { return Ok(()) };
    if let Some(n) = crate::scan::blocked(summary, threshold) {
        return Err(ApiError::new(
            StatusCode::PRECONDITION_FAILED,
            "DENIED",
            format!(
                "{name}@{}: {n} vulnerabilities at or above {threshold}; project {} refuses pulls of such images",
                row.digest, project.name
            ),
        ));
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AnyManifest {
    schema_version: Option<i64>,
    media_type: Option<String>,
    artifact_type: Option<String>,
    config: Option<Descriptor>,
    layers: Option<Vec<Descriptor>>,
    manifests: Option<Vec<Descriptor>>,
    subject: Option<Descriptor>,
    annotations: Option<BTreeMap<String, String>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Descriptor {
    #[serde(default)]
    media_type: String,
    digest: String,
    size: i64,
    #[serde(default)]
    urls: Vec<String>,
}

const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
const DOCKER_FOREIGN: &str = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";

fn manifest_invalid(msg: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "MANIFEST_INVALID", msg)
}

async fn manifest_put(
    st: &Shared,
    headers: &HeaderMap,
    who: &Principal,
    name: &str,
    reference: &str,
    q: &[(String, String)],
    body: Body,
) -> ApiResult {
    let project = authorize(st, headers, who, name, Action::Push)?;
    let limit = st.config.limits.max_manifest_bytes;
    let bytes = axum::body::to_bytes(body, limit as usize).await.map_err(|_| {
        ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "SIZE_INVALID", format!("manifest larger than {limit} bytes"))
    })?;
    // Pushed by digest: stored under that digest's algorithm (sha512 too); by tag: sha256.
    let want = if reference.contains(':') { Some(parse_digest(reference)?) } else { None };
    let digest = Digest::of_bytes_with(want.as_ref().map_or(Algorithm::Sha256, Digest::algorithm), &bytes);
    let mut tags: Vec<String> = Vec::new();
    match want {
        Some(want) if want != digest => {
            return Err(ApiError::digest_invalid(format!("manifest content is {digest}, not {want}")));
        }
        Some(_) => {}
        None => tags.push(reference.to_string()),
    }
    // OCI 1.1: `?tag=` pushes one manifest by digest under several tags.
    tags.extend(q.iter().filter(|(k, _)| k == "tag").map(|(_, v)| v.clone()));
    if let Some(bad) = tags.iter().find(|t| !valid_tag(t)) {
        return Err(ApiError::new(StatusCode::BAD_REQUEST, "TAG_INVALID", format!("invalid tag {bad:?}")));
    }
    let m: AnyManifest =
        serde_json::from_slice(&bytes).map_err(|e| manifest_invalid(format!("manifest is not valid JSON: {e}")))?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").trim().to_string())
        .filter(|v| !v.is_empty() && v != "application/json" && v != "application/octet-stream");
    if let (Some(ct), Some(mt)) = (&content_type, &m.media_type) {
        if ct != mt {
            return Err(manifest_invalid(format!("Content-Type {ct} differs from the manifest's mediaType {mt}")));
        }
    }
    let media_type = content_type.or(m.media_type.clone()).unwrap_or_else(|| {
        if m.manifests.is_some() {
            spec::OCI_INDEX.into()
        } else {
            spec::OCI_MANIFEST.into()
        }
    });
    if m.schema_version != Some(2) {
        return Err(manifest_invalid("only schemaVersion 2 manifests are accepted (Docker schema 1 is obsolete)"));
    }
    let is_index = spec::is_index(&media_type);
    if !is_index && media_type != spec::OCI_MANIFEST && media_type != spec::DOCKER_MANIFEST {
        return Err(manifest_invalid(format!("unsupported manifest media type {media_type}")));
    }
    let mut refs: Vec<Ref> = Vec::new();
    let mut blob_descs: Vec<&Descriptor> = Vec::new();
    let mut artifact_type = m.artifact_type.clone();
    if is_index {
        for d in m.manifests.iter().flatten() {
            refs.push(Ref::Manifest(parse_digest(&d.digest)?.to_string()));
        }
    } else {
        let config = m.config.as_ref().ok_or_else(|| manifest_invalid("an image manifest needs a config"))?;
        // The referrers API lists a manifest without artifactType under its config's media
        // type, image config types included (so `?artifactType=` of an image config finds it).
        if artifact_type.is_none() && !config.media_type.is_empty() {
            artifact_type = Some(config.media_type.clone());
        }
        blob_descs.push(config);
        for l in m.layers.iter().flatten() {
            // Foreign layers (Windows base images) live elsewhere, by design.
            if !l.urls.is_empty() && (l.media_type == DOCKER_FOREIGN || l.media_type.contains("nondistributable")) {
                continue;
            }
            blob_descs.push(l);
        }
    }
    let subject = match &m.subject {
        Some(s) => Some(parse_digest(&s.digest)?.to_string()),
        None => None,
    };
    let project_name = meta::project_of(name).to_string();
    let immutable = project.as_ref().is_some_and(|p| p.immutable_tags);
    let annotations = m.annotations.as_ref().filter(|a| !a.is_empty()).map(|a| serde_json::json!(a).to_string());

    let _guard = st.gc_lock.read().await;
    for d in &blob_descs {
        let dg = parse_digest(&d.digest)?;
        let size = if st.meta.blob_linked(name, dg.as_str())? { st.storage.stat(&dg).await? } else { None };
        match size {
            None => {
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "MANIFEST_BLOB_UNKNOWN",
                    format!("blob {dg} is not in {name}; push it first"),
                ))
            }
            Some(s) if d.size >= 0 && s != d.size as u64 => {
                return Err(manifest_invalid(format!("blob {dg} is {s} bytes, the manifest says {}", d.size)))
            }
            Some(_) => refs.push(Ref::Blob(dg.to_string())),
        }
    }
    for r in &refs {
        if let Ref::Manifest(child) = r {
            if st.meta.manifest(name, child)?.is_none() {
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "MANIFEST_BLOB_UNKNOWN",
                    format!("manifest {child} listed by the index is not in {name}; push it first"),
                ));
            }
        }
    }
    // The blob first, then the record: a kill between the two leaves only an unreferenced
    // blob for GC, never a record without content.
    st.storage.put_small(&digest, &bytes).await?;
    if project.is_none() {
        st.meta.project_put(&meta::Project::new(&project_name))?;
    }
    let row = ManifestRow {
        repo: name.to_string(),
        digest: digest.to_string(),
        media_type: media_type.clone(),
        size: bytes.len() as i64,
        artifact_type,
        subject: subject.clone(),
        annotations,
        pushed: meta::now(),
    };
    let tag_rules: Vec<(&str, bool)> = tags.iter().map(|t| (t.as_str(), immutable && !is_fallback_tag(t))).collect();
    st.meta.manifest_put_tags(&row, &refs, &tag_rules)?;
    drop(_guard);
    if !is_index {
        if let Some(s) = &st.scanner {
            s.enqueue(name, digest.as_str());
        }
    }
    let mut b = builder(StatusCode::CREATED)
        .header(header::LOCATION, format!("/v2/{name}/manifests/{digest}"))
        .header("Docker-Content-Digest", digest.as_str());
    if let Some(s) = subject {
        b = b.header("OCI-Subject", s);
    }
    finish(b, Body::empty())
}

async fn manifest_delete(st: &Shared, headers: &HeaderMap, who: &Principal, name: &str, reference: &str) -> ApiResult {
    let project = authorize(st, headers, who, name, Action::Delete)?;
    let immutable = project.as_ref().is_some_and(|p| p.immutable_tags);
    let gone = if reference.contains(':') {
        let d = parse_digest(reference)?;
        if immutable {
            refuse_immutable_delete(name, &st.meta.tags_of(name, d.as_str())?)?;
        }
        st.meta.manifest_delete(name, d.as_str())?
    } else {
        if !valid_tag(reference) {
            return Err(ApiError::new(StatusCode::BAD_REQUEST, "TAG_INVALID", format!("invalid tag {reference:?}")));
        }
        if immutable && st.meta.tag(name, reference)?.is_some() {
            refuse_immutable_delete(name, &[reference.to_string()])?;
        }
        st.meta.tag_delete(name, reference)?
    };
    if !gone {
        return Err(if st.meta.repo_exists(name)? {
            ApiError::manifest_unknown(reference)
        } else {
            ApiError::name_unknown(name)
        });
    }
    finish(builder(StatusCode::ACCEPTED), Body::empty())
}

/// Deleting an immutable tag (or the manifest holding it) and pushing it again would move it:
/// refused, as Harbor does. cosign's fallback tags are not immutable.
fn refuse_immutable_delete(name: &str, tags: &[String]) -> Result<(), ApiError> {
    let fixed: Vec<&str> = tags.iter().map(String::as_str).filter(|t| !is_fallback_tag(t)).collect();
    if fixed.is_empty() {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::CONFLICT,
        "DENIED",
        format!("tag {} in {name} is immutable: it cannot be deleted", fixed.join(", ")),
    ))
}

// --- blobs -------------------------------------------------------------------------------------

/// `Range: bytes=A-B`, `bytes=A-`, `bytes=-N` (the last N). Several ranges are not served.
fn parse_range(h: &str, size: Option<u64>) -> Option<Result<(u64, Option<u64>), ()>> {
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

async fn blob_get(
    st: &Shared,
    headers: &HeaderMap,
    who: &Principal,
    name: &str,
    digest: &str,
    head: bool,
) -> ApiResult {
    authorize(st, headers, who, name, Action::Pull)?;
    let d = parse_digest(digest)?;
    if !st.meta.blob_linked(name, d.as_str())? && st.meta.manifest(name, d.as_str())?.is_none() {
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

async fn blob_delete(st: &Shared, headers: &HeaderMap, who: &Principal, name: &str, digest: &str) -> ApiResult {
    authorize(st, headers, who, name, Action::Delete)?;
    let d = parse_digest(digest)?;
    if !st.meta.blob_unlink(name, d.as_str())? {
        return Err(ApiError::blob_unknown(digest));
    }
    finish(builder(StatusCode::ACCEPTED), Body::empty())
}

// --- uploads -----------------------------------------------------------------------------------

fn body_stream(st: &Shared, body: Body) -> ByteStream {
    let st = st.clone();
    Box::pin(body.into_data_stream().map(move |r| {
        r.inspect(|c| {
            st.metrics.bytes_received.inc_by(c.len() as u64);
        })
        .map_err(std::io::Error::other)
    }))
}

fn upload_location(b: axum::http::response::Builder, name: &str, id: &str, size: u64) -> axum::http::response::Builder {
    // `Range` is inclusive; distribution sends `0-0` for an empty upload, and clients expect it.
    b.header(header::LOCATION, format!("/v2/{name}/blobs/uploads/{id}"))
        .header(header::RANGE, format!("0-{}", size.saturating_sub(1)))
        .header("Docker-Upload-UUID", id)
        .header(header::CONTENT_LENGTH, 0)
}

async fn commit_upload(st: &Shared, name: &str, id: &str, digest: &Digest) -> ApiResult {
    {
        let _guard = st.gc_lock.read().await;
        st.storage.upload_commit(id, digest).await.inspect_err(|e| {
            if matches!(e, StorageError::DigestMismatch { .. }) {
                let _ = st.meta.upload_delete(id);
            }
        })?;
        st.meta.blob_link(name, digest.as_str())?;
        st.meta.upload_delete(id)?;
    }
    let b = builder(StatusCode::CREATED)
        .header(header::LOCATION, format!("/v2/{name}/blobs/{digest}"))
        .header("Docker-Content-Digest", digest.as_str())
        .header(header::CONTENT_LENGTH, 0);
    finish(b, Body::empty())
}

async fn upload_start(
    st: &Shared,
    headers: &HeaderMap,
    who: &Principal,
    name: &str,
    q: &[(String, String)],
    body: Body,
) -> ApiResult {
    authorize(st, headers, who, name, Action::Push)?;
    // Cross-repository mount: only from a repository the caller may pull, else a plain upload.
    if let (Some(mount), Some(from)) = (param(q, "mount"), param(q, "from")) {
        let d = parse_digest(mount)?;
        // Shared with GC's exclusive hold: a blob cannot be swept between the check and the link.
        let _guard = st.gc_lock.read().await;
        let from_project = st.meta.project(meta::project_of(from))?;
        if valid_name(from)
            && st.auth.allowed(who, from, Action::Pull, from_project.as_ref())
            && st.meta.blob_linked(from, d.as_str())?
            && st.storage.stat(&d).await?.is_some()
        {
            st.meta.blob_link(name, d.as_str())?;
            let b = builder(StatusCode::CREATED)
                .header(header::LOCATION, format!("/v2/{name}/blobs/{d}"))
                .header("Docker-Content-Digest", d.as_str())
                .header(header::CONTENT_LENGTH, 0);
            return finish(b, Body::empty());
        }
    }
    let id = st.storage.upload_create().await?;
    st.meta.upload_put(&id, name)?;
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
fn own_upload(st: &AppState, name: &str, id: &str) -> Result<(), ApiError> {
    match st.meta.upload_repo(id)? {
        Some(r) if r == name => Ok(()),
        _ => Err(ApiError::upload_unknown(id)),
    }
}

async fn upload_status(st: &Shared, headers: &HeaderMap, who: &Principal, name: &str, id: &str) -> ApiResult {
    authorize(st, headers, who, name, Action::Push)?;
    own_upload(st, name, id)?;
    let size = st.storage.upload_size(id).await?.ok_or_else(|| ApiError::upload_unknown(id))?;
    finish(upload_location(builder(StatusCode::NO_CONTENT), name, id, size), Body::empty())
}

/// The start of an upload chunk's `Content-Range: START-END` (also `bytes START-END[/SIZE]`);
/// `None` when it does not parse or ends before it starts.
fn upload_range_start(cr: &str) -> Option<u64> {
    let cr = cr.trim().trim_start_matches("bytes ").trim_start_matches("bytes=");
    let (a, b) = cr.split_once('-')?;
    let start: u64 = a.parse().ok()?;
    let end: u64 = b.split('/').next().unwrap_or("").parse().ok()?;
    (end >= start).then_some(start)
}

/// The offset a chunk's `Content-Range: START-END` (inclusive) says it starts at, which must be
/// where the upload stands; `None` without the header (a streamed chunk).
fn content_range_offset(headers: &HeaderMap) -> Result<Option<u64>, ApiError> {
    match headers.get(header::CONTENT_RANGE).and_then(|v| v.to_str().ok()) {
        Some(cr) => Ok(Some(upload_range_start(cr).ok_or_else(|| {
            ApiError::new(StatusCode::RANGE_NOT_SATISFIABLE, "BLOB_UPLOAD_INVALID", format!("bad Content-Range {cr:?}"))
        })?)),
        None => Ok(None),
    }
}

async fn upload_patch(
    st: &Shared,
    headers: &HeaderMap,
    who: &Principal,
    name: &str,
    id: &str,
    body: Body,
) -> ApiResult {
    authorize(st, headers, who, name, Action::Push)?;
    own_upload(st, name, id)?;
    let offset = content_range_offset(headers)?;
    let size = st.storage.upload_append(id, offset, body_stream(st, body), st.config.limits.max_blob_bytes).await?;
    finish(upload_location(builder(StatusCode::ACCEPTED), name, id, size), Body::empty())
}

async fn upload_put(
    st: &Shared,
    headers: &HeaderMap,
    who: &Principal,
    name: &str,
    id: &str,
    q: &[(String, String)],
    body: Body,
) -> ApiResult {
    authorize(st, headers, who, name, Action::Push)?;
    own_upload(st, name, id)?;
    let d =
        parse_digest(param(q, "digest").ok_or_else(|| ApiError::digest_invalid("the digest parameter is missing"))?)?;
    // The closing PUT may carry the last chunk; with a `Content-Range` it must continue where
    // the upload stands, as a PATCH must (416 with the current `Range`, nothing appended).
    let offset = content_range_offset(headers)?;
    st.storage.upload_append(id, offset, body_stream(st, body), st.config.limits.max_blob_bytes).await?;
    commit_upload(st, name, id, &d).await
}

async fn upload_delete(st: &Shared, headers: &HeaderMap, who: &Principal, name: &str, id: &str) -> ApiResult {
    authorize(st, headers, who, name, Action::Push)?;
    own_upload(st, name, id)?;
    st.storage.upload_abort(id).await?;
    st.meta.upload_delete(id)?;
    finish(builder(StatusCode::NO_CONTENT), Body::empty())
}

// --- listing -----------------------------------------------------------------------------------

fn page_size(q: &[(String, String)]) -> Result<Option<usize>, ApiError> {
    match param(q, "n") {
        None => Ok(None),
        Some(n) => n
            .parse::<usize>()
            .map(|n| Some(n.min(10_000)))
            .map_err(|_| ApiError::new(StatusCode::BAD_REQUEST, "PAGINATION_NUMBER_INVALID", format!("n={n:?}"))),
    }
}

fn next_link(path: &str, n: usize, last: &str) -> String {
    let q = serde_urlencoded::to_string([("n", n.to_string()), ("last", last.to_string())]).unwrap_or_default();
    format!("<{path}?{q}>; rel=\"next\"")
}

async fn tags_list(st: &Shared, headers: &HeaderMap, who: &Principal, name: &str, q: &[(String, String)]) -> ApiResult {
    authorize(st, headers, who, name, Action::Pull)?;
    if !st.meta.repo_exists(name)? {
        return Err(ApiError::name_unknown(name));
    }
    let n = page_size(q)?;
    let tags = match n {
        Some(0) => Vec::new(),
        _ => st.meta.tags(name, param(q, "last"), n)?,
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
async fn catalog(st: &Shared, who: &Principal, q: &[(String, String)]) -> ApiResult {
    // A token names its subject; the catalog is filtered by that account's roles.
    let who = who.clone().into_account(st.meta.as_ref())?.unwrap_or(Principal::Anonymous);
    let n = page_size(q)?;
    let last = param(q, "last").unwrap_or("");
    let mut repos = Vec::new();
    for r in st.meta.repositories()? {
        if r.as_str() <= last {
            continue;
        }
        let project = st.meta.project(meta::project_of(&r))?;
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

async fn referrers(
    st: &Shared,
    headers: &HeaderMap,
    who: &Principal,
    name: &str,
    digest: &str,
    q: &[(String, String)],
) -> ApiResult {
    authorize(st, headers, who, name, Action::Pull)?;
    let d = parse_digest(digest)?;
    let filter = param(q, "artifactType");
    let rows = st.meta.referrers(name, d.as_str(), filter)?;
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

// --- the token endpoint ------------------------------------------------------------------------

async fn token_get(State(st): State<Shared>, req: Request) -> Response {
    let client = crate::server::ClientAddr::of(req.extensions());
    let q = query(req.uri().query());
    let basic = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.trim().strip_prefix("Basic ").or_else(|| h.trim().strip_prefix("basic ")))
        .map(|b| crate::auth::decode_basic(b).ok_or(()));
    let creds = match basic {
        Some(Ok(c)) => Some(c),
        Some(Err(())) => return token_error(StatusCode::UNAUTHORIZED, "malformed basic credentials"),
        None => None,
    };
    let scopes: Vec<Scope> = q.iter().filter(|(k, _)| k == "scope").flat_map(|(_, v)| Scope::parse_all(v)).collect();
    issue_token(&st, client, creds, &scopes).await
}

/// OAuth2 password grant (containerd and Docker try it first).
async fn token_post(
    State(st): State<Shared>,
    crate::server::ClientAddr(client): crate::server::ClientAddr,
    body: axum::body::Bytes,
) -> Response {
    let form: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    match param(&form, "grant_type") {
        Some("password") => {}
        _ => return token_error(StatusCode::BAD_REQUEST, "unsupported grant_type (only password)"),
    }
    let (Some(u), Some(p)) = (param(&form, "username"), param(&form, "password")) else {
        return token_error(StatusCode::BAD_REQUEST, "username and password are required");
    };
    let scopes: Vec<Scope> = form.iter().filter(|(k, _)| k == "scope").flat_map(|(_, v)| Scope::parse_all(v)).collect();
    issue_token(&st, client, Some((u.to_string(), p.to_string())), &scopes).await
}

async fn issue_token(
    st: &Shared,
    client: std::net::IpAddr,
    creds: Option<(String, String)>,
    scopes: &[Scope],
) -> Response {
    let user = match creds {
        Some((u, p)) => match st.auth.login(st.meta.as_ref(), client, &u, &p).await {
            Ok(user) => Some(user),
            Err(crate::auth::AuthError::Throttled(secs)) => return too_many(secs).into_response(),
            Err(_) => return token_error(StatusCode::UNAUTHORIZED, "invalid username or password"),
        },
        None => None,
    };
    let access = match st.auth.grant(st.meta.as_ref(), user.as_ref(), scopes) {
        Ok(a) => a,
        Err(e) => return ApiError::internal(e).into_response(),
    };
    let sub = user.as_ref().map(|u| u.name.as_str()).unwrap_or("");
    match st.auth.issue(sub, access) {
        Ok((tok, claims)) => {
            let issued = time::OffsetDateTime::from_unix_timestamp(claims.iat)
                .ok()
                .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
                .unwrap_or_default();
            ok_json(
                StatusCode::OK,
                serde_json::json!({"token": tok, "access_token": tok, "expires_in": claims.exp - claims.iat, "issued_at": issued}),
            )
        }
        Err(e) => ApiError::internal(e).into_response(),
    }
}

fn token_error(status: StatusCode, msg: &str) -> Response {
    ok_json(status, serde_json::json!({"errors": [{"code": "UNAUTHORIZED", "message": msg}]}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_spec_grammar() {
        for ok in ["a", "team-a/app", "a/b/c", "a.b", "a_b", "a__b", "a---b", "library/ubuntu", "x0/y1"] {
            assert!(valid_name(ok), "{ok}");
        }
        for bad in ["", "A", "a/", "/a", "a//b", "a..b", "a___b", "-a", "a-", "a/../b", "a/.b", "a b", "a:b"] {
            assert!(!valid_name(bad), "{bad}");
        }
    }

    #[test]
    fn tags_follow_the_spec_grammar() {
        assert!(valid_tag("v1.2.3"));
        assert!(valid_tag("_x"));
        assert!(!valid_tag(".x"));
        assert!(!valid_tag("-x"));
        assert!(!valid_tag(&"a".repeat(129)));
        assert!(is_fallback_tag(&format!("sha256-{}.sig", "a".repeat(64))));
        assert!(is_fallback_tag(&format!("sha256-{}", "0".repeat(64))));
        assert!(!is_fallback_tag("sha256-abc.sig"));
    }

    #[test]
    fn upload_chunk_ranges() {
        assert_eq!(upload_range_start("0-9"), Some(0));
        assert_eq!(upload_range_start("bytes 10-19/100"), Some(10));
        assert_eq!(upload_range_start("bytes=5-5"), Some(5));
        assert_eq!(upload_range_start("9-0"), None);
        assert_eq!(upload_range_start("x-1"), None);
        assert_eq!(upload_range_start("10"), None);
    }

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-9", None), Some(Ok((0, Some(9)))));
        assert_eq!(parse_range("bytes=5-", None), Some(Ok((5, None))));
        assert_eq!(parse_range("bytes=-3", Some(10)), Some(Ok((7, None))));
        assert_eq!(parse_range("bytes=0-1,3-4", None), None);
        assert_eq!(parse_range("items=0-1", None), None);
    }
}
