//! The OCI distribution API (v1.1) under `/v2/`, and the token endpoint. Every failure becomes
//! an OCI error body at one place ([`ApiError`]). Repository names contain slashes, so `/v2/`
//! paths are parsed here rather than by the router.
//!
//! Access answers are chosen so they leak nothing: an anonymous caller gets a challenge
//! whether or not the repository exists; an authenticated caller denied a pull gets the same
//! 404 as for a repository that does not exist.

use crate::auth::{Action, Principal};
use crate::error::{too_many, ApiError};
use crate::meta;
use crate::names::valid_name;
use crate::state::{AppState, Shared};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use bulwark_oci::Digest;

pub mod blobs;
#[doc(hidden)]
pub mod fuzzing;
pub mod listing;
pub mod manifests;
pub mod token;
pub mod uploads;

use blobs::{blob_delete, blob_get};
use listing::{catalog, referrers, tags_list};
use manifests::{manifest_delete, manifest_get, manifest_put};
use uploads::{upload_delete, upload_patch, upload_put, upload_start, upload_status};

pub(crate) type ApiResult = Result<Response, ApiError>;

/// The `/v2/` routes and the token endpoint.
pub fn routes() -> axum::Router<Shared> {
    use axum::routing::{any, get};
    axum::Router::new()
        .route("/v2", any(v2))
        .route("/v2/", any(v2))
        .route("/v2/{*rest}", any(v2))
        .route("/token", get(token::token_get).post(token::token_post))
}

// --- queries and routes ------------------------------------------------------------------------

pub(crate) fn query(q: Option<&str>) -> Vec<(String, String)> {
    q.and_then(|q| serde_urlencoded::from_str::<Vec<(String, String)>>(q).ok()).unwrap_or_default()
}

pub(crate) fn param<'a>(q: &'a [(String, String)], key: &str) -> Option<&'a str> {
    q.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// A sha256 or sha512 digest; other algorithms and malformed digests are 400 DIGEST_INVALID
/// (the message says which).
pub(crate) fn parse_digest(s: &str) -> Result<Digest, ApiError> {
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
pub(crate) fn challenge(st: &AppState, headers: &HeaderMap, scope: Option<String>, error: Option<&str>) -> ApiError {
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

pub(crate) async fn principal(
    st: &AppState,
    headers: &HeaderMap,
    client: std::net::IpAddr,
) -> Result<Principal, ApiError> {
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
pub(crate) async fn authorize(
    st: &AppState,
    headers: &HeaderMap,
    who: &Principal,
    name: &str,
    action: Action,
) -> Result<Option<meta::Project>, ApiError> {
    let project = st.meta.project(meta::project_of(name)).await?;
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

pub(crate) async fn v2(State(st): State<Shared>, req: Request) -> Response {
    let mut resp = match v2_inner(&st, req).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    };
    // Docker's ping reads it; every /v2/ answer carries it, errors and challenges too.
    resp.headers_mut().insert("Docker-Distribution-API-Version", HeaderValue::from_static("registry/2.0"));
    resp
}

pub(crate) async fn v2_inner(st: &Shared, req: Request) -> ApiResult {
    let (parts, body) = req.into_parts();
    let headers = &parts.headers;
    let method = parts.method.clone();
    let path = parts.uri.path();
    let rest = path.strip_prefix("/v2").unwrap_or("").trim_start_matches('/');
    let q = query(parts.uri.query());
    let client = crate::state::ClientAddr::of(&parts.extensions);
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

pub(crate) fn ok_json(status: StatusCode, v: serde_json::Value) -> Response {
    (status, axum::Json(v)).into_response()
}

pub(crate) fn builder(status: StatusCode) -> axum::http::response::Builder {
    Response::builder().status(status).header("Docker-Distribution-API-Version", "registry/2.0")
}

pub(crate) fn finish(b: axum::http::response::Builder, body: Body) -> ApiResult {
    b.body(body).map_err(ApiError::internal)
}
