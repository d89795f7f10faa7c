//! The token endpoint: Docker token auth (GET with basic credentials) and the OAuth2
//! password grant (POST).

use super::{ok_json, param, query};
use crate::auth::Scope;
use crate::error::{too_many, ApiError};
use crate::state::{ClientAddr, Shared};
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

pub(crate) async fn token_get(State(st): State<Shared>, req: Request) -> Response {
    let client = ClientAddr::of(req.extensions());
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
pub(crate) async fn token_post(
    State(st): State<Shared>,
    ClientAddr(client): ClientAddr,
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

pub(crate) async fn issue_token(
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
    let access = match st.auth.grant(st.meta.as_ref(), user.as_ref(), scopes).await {
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

pub(crate) fn token_error(status: StatusCode, msg: &str) -> Response {
    ok_json(status, serde_json::json!({"errors": [{"code": "UNAUTHORIZED", "message": msg}]}))
}
