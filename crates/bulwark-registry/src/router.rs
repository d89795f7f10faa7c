//! The one router: the distribution API (`/v2/`, `/token`), the management API and the
//! operational endpoints, behind the per-request metrics and log line.

use crate::state::Shared;
use axum::extract::{Request, State};
use axum::response::Response;

pub fn router(state: Shared) -> axum::Router {
    axum::Router::new()
        .merge(crate::distribution::routes())
        .merge(crate::mgmt::routes())
        .layer(axum::middleware::from_fn_with_state(state.clone(), observe))
        .with_state(state)
}

/// Metrics and a log line for every request.
async fn observe(State(st): State<Shared>, mut req: Request, next: axum::middleware::Next) -> Response {
    let start = std::time::Instant::now();
    // HTTP/2 carries the host in the `:authority` pseudo-header (the URI), not in `Host`:
    // everything that builds URLs from `Host` (the token realm, upload locations) reads it.
    if !req.headers().contains_key(axum::http::header::HOST) {
        if let Some(v) = req.uri().authority().and_then(|a| axum::http::HeaderValue::from_str(a.as_str()).ok()) {
            req.headers_mut().insert(axum::http::header::HOST, v);
        }
    }
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
