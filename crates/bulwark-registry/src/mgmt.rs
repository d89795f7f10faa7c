//! The management API (`/api/v1`), health endpoints and metrics. Callers authenticate with
//! basic auth or a token from `/token`; a token's subject is looked up again, so a deleted
//! account's tokens stop working here at once.

use crate::accounts::{
    apply_project, create_account, parse_role_grant, valid_project, AccountError, ProjectBody, UserBody,
};
use crate::auth::{Action, Principal};
use crate::config::Anonymous;
use crate::error::ApiError;
use crate::meta::{self, Project, Role};
use crate::state::{ClientAddr, Shared};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::Json;
use serde::Deserialize;

type Res = Result<Response, ApiError>;

impl From<AccountError> for ApiError {
    fn from(e: AccountError) -> Self {
        match e {
            AccountError::Invalid(msg) => bad(msg),
            AccountError::Exists(_) => ApiError::new(StatusCode::CONFLICT, "EXISTS", e.to_string()),
            AccountError::Meta(e) => e.into(),
            AccountError::Hash(_) => ApiError::internal(e),
        }
    }
}

pub fn routes() -> axum::Router<Shared> {
    axum::Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .route("/metrics", get(metrics))
        .route("/api/v1/projects", get(projects_list).post(project_create))
        .route("/api/v1/projects/{name}", get(project_get).put(project_update).delete(project_delete))
        .route("/api/v1/users", get(users_list).post(user_create))
        .route("/api/v1/users/{name}", delete(user_delete))
        .route("/api/v1/robots", post(robot_create))
        .route("/api/v1/scan", get(scan_get).post(scan_run))
        .route("/api/v1/sbom", get(sbom_get))
        .route("/api/v1/rescan", post(rescan))
        .route("/api/v1/gc", post(gc_run))
        .route("/api/v1/retention", post(retention_run))
}

async fn ready(State(st): State<Shared>) -> Response {
    match st.meta.setting("token_secret").await {
        Ok(_) => (StatusCode::OK, "ready").into_response(),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, format!("metadata database: {e}")).into_response(),
    }
}

async fn metrics(State(st): State<Shared>) -> Response {
    ([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], st.metrics.render())
        .into_response()
}

fn unauthorized() -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", "authentication required")
        .with(header::WWW_AUTHENTICATE, "Basic realm=\"bulwark-registry\"".into())
}

fn forbidden(what: &str) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, "DENIED", format!("not allowed: {what}"))
}

fn bad(msg: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "INVALID", msg)
}

/// The caller as an account (tokens resolved to theirs, and refused if the account has gone
/// or expired since), or anonymous where `[auth] anonymous` lets anonymous clients in at all.
async fn caller(st: &Shared, headers: &HeaderMap, ca: ClientAddr) -> Result<Principal, ApiError> {
    let h = headers.get(header::AUTHORIZATION).and_then(|h| h.to_str().ok());
    let p = st.auth.authenticate(st.meta.as_ref(), ca.0, h).await.map_err(|e| match e {
        crate::auth::AuthError::Throttled(secs) => crate::error::too_many(secs),
        _ => unauthorized(),
    })?;
    let p = p.into_account(st.meta.as_ref()).await?.ok_or_else(unauthorized)?;
    // `none` means nothing at all, as on /v2, public projects included.
    if p.is_anonymous() && st.auth.anonymous() == Anonymous::None {
        return Err(unauthorized());
    }
    Ok(p)
}

async fn require_sysadmin(st: &Shared, headers: &HeaderMap, ca: ClientAddr) -> Result<Principal, ApiError> {
    let p = caller(st, headers, ca).await?;
    if p.is_anonymous() {
        return Err(unauthorized());
    }
    if !p.is_sysadmin() {
        return Err(forbidden("system administrators only"));
    }
    Ok(p)
}

/// Whether an anonymous caller sees every project (`anonymous = "full"`: no authentication).
fn sees_all(st: &Shared, p: &Principal) -> bool {
    p.is_anonymous() && st.auth.anonymous() == Anonymous::Full
}

fn project_role(p: &Principal, project: &str) -> Option<Role> {
    match p {
        Principal::Account { user, .. } if user.admin => Some(Role::Admin),
        Principal::Account { roles, .. } => roles.iter().find(|(n, _)| n == project).map(|(_, r)| *r),
        _ => None,
    }
}

fn json<T: serde::Serialize>(status: StatusCode, v: &T) -> Res {
    Ok((status, Json(serde_json::to_value(v).map_err(ApiError::internal)?)).into_response())
}

// --- projects ----------------------------------------------------------------------------------

async fn projects_list(State(st): State<Shared>, ca: ClientAddr, headers: HeaderMap) -> Res {
    let p = caller(&st, &headers, ca).await?;
    let visible: Vec<Project> = st
        .meta
        .projects()
        .await?
        .into_iter()
        .filter(|pr| pr.public || sees_all(&st, &p) || project_role(&p, &pr.name).is_some())
        .collect();
    json(StatusCode::OK, &visible)
}

async fn project_create(
    State(st): State<Shared>,
    ca: ClientAddr,
    headers: HeaderMap,
    Json(b): Json<ProjectBody>,
) -> Res {
    require_sysadmin(&st, &headers, ca).await?;
    let name = b.name.clone().ok_or_else(|| bad("name is required"))?;
    if !valid_project(&name) {
        return Err(bad(format!("invalid project name {name:?}")));
    }
    if st.meta.project(&name).await?.is_some() {
        return Err(ApiError::new(StatusCode::CONFLICT, "EXISTS", format!("project {name} exists")));
    }
    let mut p = Project::new(&name);
    apply_project(&mut p, &b)?;
    st.meta.project_put(&p).await?;
    json(StatusCode::CREATED, &p)
}

async fn project_get(State(st): State<Shared>, ca: ClientAddr, headers: HeaderMap, Path(name): Path<String>) -> Res {
    let p = caller(&st, &headers, ca).await?;
    match st.meta.project(&name).await? {
        Some(pr) if pr.public || sees_all(&st, &p) || project_role(&p, &name).is_some() => json(StatusCode::OK, &pr),
        _ => Err(ApiError::new(StatusCode::NOT_FOUND, "NOT_FOUND", format!("project {name} not found"))),
    }
}

async fn project_update(
    State(st): State<Shared>,
    ca: ClientAddr,
    headers: HeaderMap,
    Path(name): Path<String>,
    Json(b): Json<ProjectBody>,
) -> Res {
    let p = caller(&st, &headers, ca).await?;
    if !valid_project(&name) {
        return Err(bad(format!("invalid project name {name:?}")));
    }
    if project_role(&p, &name) != Some(Role::Admin) {
        return Err(if p.is_anonymous() { unauthorized() } else { forbidden("project administrators only") });
    }
    let mut pr = st.meta.project(&name).await?.unwrap_or_else(|| Project::new(&name));
    apply_project(&mut pr, &b)?;
    st.meta.project_put(&pr).await?;
    json(StatusCode::OK, &pr)
}

async fn project_delete(State(st): State<Shared>, ca: ClientAddr, headers: HeaderMap, Path(name): Path<String>) -> Res {
    require_sysadmin(&st, &headers, ca).await?;
    if st.meta.repositories().await?.iter().any(|r| meta::project_of(r) == name) {
        return Err(ApiError::new(StatusCode::CONFLICT, "NOT_EMPTY", format!("project {name} still has repositories")));
    }
    st.meta.project_delete(&name).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

// --- users and robots --------------------------------------------------------------------------

async fn users_list(State(st): State<Shared>, ca: ClientAddr, headers: HeaderMap) -> Res {
    require_sysadmin(&st, &headers, ca).await?;
    json(StatusCode::OK, &st.meta.users().await?)
}

async fn user_create(State(st): State<Shared>, ca: ClientAddr, headers: HeaderMap, Json(b): Json<UserBody>) -> Res {
    require_sysadmin(&st, &headers, ca).await?;
    let (user, _) = create_account(st.meta.as_ref(), &b, false).await?;
    json(StatusCode::CREATED, &user)
}

async fn robot_create(State(st): State<Shared>, ca: ClientAddr, headers: HeaderMap, Json(b): Json<UserBody>) -> Res {
    // A project admin may create robots scoped to projects they administer, all of them.
    let p = caller(&st, &headers, ca).await?;
    if p.is_anonymous() {
        return Err(unauthorized());
    }
    // Robots do not make robots: a leaked robot secret must not mint longer-lived credentials.
    if matches!(&p, Principal::Account { user, .. } if user.robot) {
        return Err(forbidden("robot accounts cannot create robots"));
    }
    if b.roles.is_empty() {
        return Err(bad("a robot needs at least one role (PROJECT:pull|push|admin)"));
    }
    for r in &b.roles {
        let (proj, _) =
            parse_role_grant(r).ok_or_else(|| bad(format!("role {r:?}: expected PROJECT:pull|push|admin")))?;
        if project_role(&p, &proj) != Some(Role::Admin) {
            return Err(forbidden(&format!("robots for project {proj}")));
        }
    }
    let (user, secret) = create_account(st.meta.as_ref(), &b, true).await?;
    json(StatusCode::CREATED, &serde_json::json!({"name": user.name, "secret": secret, "expires": user.expires}))
}

async fn user_delete(State(st): State<Shared>, ca: ClientAddr, headers: HeaderMap, Path(name): Path<String>) -> Res {
    require_sysadmin(&st, &headers, ca).await?;
    if !st.meta.user_delete(&name).await? {
        return Err(ApiError::new(StatusCode::NOT_FOUND, "NOT_FOUND", format!("account {name} not found")));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

// --- scans -------------------------------------------------------------------------------------

#[derive(Deserialize)]
struct ImageQuery {
    repository: String,
    reference: String,
    #[serde(default)]
    format: Option<String>,
}

/// Resolve `repository` + `reference` (a tag or digest) for a caller who may pull it; a
/// denied caller gets the same 404 as for a missing image.
async fn resolve_for(
    st: &Shared,
    headers: &HeaderMap,
    ca: ClientAddr,
    q: &ImageQuery,
    action: Action,
) -> Result<String, ApiError> {
    let p = caller(st, headers, ca).await?;
    let not_found = || {
        ApiError::new(StatusCode::NOT_FOUND, "MANIFEST_UNKNOWN", format!("{}:{} not found", q.repository, q.reference))
    };
    if !crate::names::valid_name(&q.repository) {
        return Err(not_found());
    }
    let project = st.meta.project(meta::project_of(&q.repository)).await?;
    if !st.auth.allowed(&p, &q.repository, action, project.as_ref()) {
        if p.is_anonymous() {
            return Err(unauthorized());
        }
        // Seeing the image but not allowed this: say so; not seeing it: as if missing.
        if action != Action::Pull && st.auth.allowed(&p, &q.repository, Action::Pull, project.as_ref()) {
            return Err(forbidden(&format!("{} on {}", action.as_str(), q.repository)));
        }
        return Err(not_found());
    }
    let digest = if q.reference.contains(':') {
        q.reference.clone()
    } else {
        st.meta.tag(&q.repository, &q.reference).await?.ok_or_else(not_found)?
    };
    st.meta.manifest(&q.repository, &digest).await?.ok_or_else(not_found)?;
    Ok(digest)
}

async fn scan_get(State(st): State<Shared>, ca: ClientAddr, headers: HeaderMap, Query(q): Query<ImageQuery>) -> Res {
    let digest = resolve_for(&st, &headers, ca, &q, Action::Pull).await?;
    let Some(row) = st.meta.scan(&digest).await? else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "NOT_SCANNED",
            format!("{digest} has not been scanned (yet)"),
        ));
    };
    let report = row.report.as_deref().and_then(|r| serde_json::from_str::<serde_json::Value>(r).ok());
    let summary = row.summary.as_deref().and_then(|r| serde_json::from_str::<serde_json::Value>(r).ok());
    json(
        StatusCode::OK,
        &serde_json::json!({
            "repository": q.repository, "digest": digest, "status": row.status, "scanned": row.scanned,
            "db_built": row.db_built, "error": row.error, "summary": summary, "report": report,
        }),
    )
}

/// The stored inventory as an SBOM: `format=json` (bulwark's inventory, the default),
/// `cyclonedx-json` or `spdx-json`.
async fn sbom_get(State(st): State<Shared>, ca: ClientAddr, headers: HeaderMap, Query(q): Query<ImageQuery>) -> Res {
    let digest = resolve_for(&st, &headers, ca, &q, Action::Pull).await?;
    let inv =
        st.meta.scan(&digest).await?.and_then(|r| r.inventory).ok_or_else(|| {
            ApiError::new(StatusCode::NOT_FOUND, "NOT_SCANNED", format!("{digest} has no SBOM (yet)"))
        })?;
    let format = q.format.as_deref().unwrap_or("json");
    if format == "json" {
        return Ok(([(header::CONTENT_TYPE, "application/json")], inv).into_response());
    }
    let inventory: bulwark_catalog::Inventory = serde_json::from_str(&inv).map_err(ApiError::internal)?;
    let writer = bulwark_sbom::format_by_name(format).ok_or_else(|| bad(format!("unknown SBOM format {format:?}")))?;
    let mut out = Vec::new();
    writer.write(&inventory, &mut out).map_err(ApiError::internal)?;
    Ok(([(header::CONTENT_TYPE, "application/json")], out).into_response())
}

async fn scan_run(State(st): State<Shared>, ca: ClientAddr, headers: HeaderMap, Query(q): Query<ImageQuery>) -> Res {
    let digest = resolve_for(&st, &headers, ca, &q, Action::Push).await?;
    let scanner = st.scanner.clone().ok_or_else(|| bad("scanning is not configured"))?;
    let repo = q.repository.clone();
    let row = tokio::task::spawn_blocking(move || scanner.scan_now(&repo, &digest))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    let summary = row.summary.as_deref().and_then(|r| serde_json::from_str::<serde_json::Value>(r).ok());
    json(
        StatusCode::OK,
        &serde_json::json!({"digest": row.digest, "status": row.status, "summary": summary, "error": row.error}),
    )
}

async fn rescan(State(st): State<Shared>, ca: ClientAddr, headers: HeaderMap) -> Res {
    require_sysadmin(&st, &headers, ca).await?;
    let scanner = st.scanner.clone().ok_or_else(|| bad("scanning is not configured"))?;
    let n = tokio::task::spawn_blocking(move || scanner.rematch_all())
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    json(StatusCode::OK, &serde_json::json!({"rematched": n}))
}

// --- maintenance -------------------------------------------------------------------------------

#[derive(Deserialize, Default)]
struct DryRun {
    #[serde(default)]
    dry_run: bool,
}

async fn gc_run(State(st): State<Shared>, ca: ClientAddr, headers: HeaderMap, Query(q): Query<DryRun>) -> Res {
    require_sysadmin(&st, &headers, ca).await?;
    let report = crate::maintenance::run_gc(&st, q.dry_run).await.map_err(ApiError::internal)?;
    json(StatusCode::OK, &report)
}

async fn retention_run(State(st): State<Shared>, ca: ClientAddr, headers: HeaderMap, Query(q): Query<DryRun>) -> Res {
    require_sysadmin(&st, &headers, ca).await?;
    let run = crate::maintenance::apply_retention(&st, q.dry_run).await?;
    if let Some((project, e)) = run.failed.first() {
        return Err(ApiError::internal(format!("retention of project {project}: {e}")));
    }
    json(StatusCode::OK, &run.reports)
}
