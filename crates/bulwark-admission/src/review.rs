//! AdmissionReview in and out, as the API server sends and reads it (`admission.k8s.io/v1`,
//! and `v1beta1` answered in kind), with controller-runtime's answers to the HTTP edge cases
//! (empty body, wrong content type, undecodable JSON, over-large body): an AdmissionReview
//! whose response is not allowed, with the HTTP status in `status.code`.

use base64::Engine as _;
use serde_json::{json, Map, Value};

/// The largest request body read (controller-runtime's limit: the API server's own request
/// limit is 3 MiB for an object, 7 MiB with the review around it).
pub const MAX_BODY: usize = 7 * 1024 * 1024;

/// The review API versions the webhook answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReviewVersion {
    V1,
    V1beta1,
}

impl ReviewVersion {
    pub fn api_version(self) -> &'static str {
        match self {
            ReviewVersion::V1 => "admission.k8s.io/v1",
            ReviewVersion::V1beta1 => "admission.k8s.io/v1beta1",
        }
    }
}

/// Why a request could not be reviewed: answered with the status code and message that
/// controller-runtime gives.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReviewError {
    #[error("request body is empty")]
    EmptyBody,
    #[error("contentType={0}, expected application/json")]
    ContentType(String),
    #[error("request entity is too large; limit is {MAX_BODY} bytes")]
    TooLarge,
    #[error("couldn't get version/kind; json parse error: {0}")]
    Json(String),
    #[error("unsupported AdmissionReview apiVersion {0:?}: admission.k8s.io/v1 or v1beta1")]
    Version(String),
    #[error("AdmissionReview: {0}")]
    Shape(String),
}

impl ReviewError {
    /// The HTTP status it stands for (in the response's `status.code`).
    pub fn code(&self) -> u16 {
        match self {
            ReviewError::TooLarge => 413,
            _ => 400,
        }
    }
}

/// One admission request, as the policies need it.
#[derive(Clone, Debug, PartialEq)]
pub struct Review {
    pub version: ReviewVersion,
    pub uid: String,
    /// `request.kind` (`group`, `version`, `kind`).
    pub kind: Value,
    pub operation: String,
    pub namespace: String,
    pub name: String,
    /// The object, with `metadata.namespace` set from the request when the object has none
    /// (a CREATE's object often does not), as Kyverno and Gatekeeper see it.
    pub object: Value,
    pub old_object: Value,
    pub username: String,
    pub groups: Vec<String>,
    pub dry_run: bool,
}

/// Reads an HTTP request body as the webhook receives it. `content_type` is the header, when
/// the request had one.
pub fn read_http(content_type: Option<&str>, body: &[u8]) -> Result<Review, ReviewError> {
    // controller-runtime's order: a wrong content type first, then an empty body, then a
    // missing content type.
    let json = content_type.map(|ct| media_type(ct) == "application/json");
    if json == Some(false) {
        return Err(ReviewError::ContentType(content_type.unwrap_or_default().to_string()));
    }
    if body.is_empty() {
        return Err(ReviewError::EmptyBody);
    }
    if json.is_none() {
        return Err(ReviewError::ContentType(String::new()));
    }
    parse(body)
}

/// `application/json; charset=utf-8` is `application/json`.
fn media_type(ct: &str) -> String {
    ct.split(';').next().unwrap_or_default().trim().to_ascii_lowercase()
}

/// Parses an AdmissionReview (or, for `bulwark admission review`, a bare AdmissionRequest: an
/// object with `uid` and `operation` and no `request`).
pub fn parse(body: &[u8]) -> Result<Review, ReviewError> {
    if body.len() > MAX_BODY {
        return Err(ReviewError::TooLarge);
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ReviewError::EmptyBody);
    }
    let doc: Value = serde_json::from_slice(body).map_err(|e| ReviewError::Json(e.to_string()))?;
    let Value::Object(top) = doc else {
        return Err(ReviewError::Json("the body is not a JSON object".into()));
    };
    // The API server always sends apiVersion; controller-runtime defaults a missing one to v1.
    let version = match top.get("apiVersion").and_then(Value::as_str) {
        None | Some("admission.k8s.io/v1") => ReviewVersion::V1,
        Some("admission.k8s.io/v1beta1") => ReviewVersion::V1beta1,
        Some(other) => return Err(ReviewError::Version(other.to_string())),
    };
    let request = match top.get("request") {
        Some(Value::Object(r)) => r.clone(),
        Some(Value::Null) | None if top.contains_key("uid") && top.contains_key("operation") => top,
        Some(Value::Null) | None => return Err(ReviewError::Shape("no `request`".into())),
        Some(_) => return Err(ReviewError::Shape("`request` is not an object".into())),
    };
    let s = |k: &str| request.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
    let namespace = s("namespace");
    let mut object = request.get("object").cloned().unwrap_or(Value::Null);
    if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        let has_ns = meta.get("namespace").and_then(Value::as_str).is_some_and(|n| !n.is_empty());
        if !has_ns && !namespace.is_empty() {
            meta.insert("namespace".into(), json!(namespace));
        }
    }
    // The API server's objects carry kind and apiVersion; a request written by hand may leave
    // them to `request.kind`.
    let kind = request.get("kind").cloned().unwrap_or(Value::Null);
    if let Some(obj) = object.as_object_mut() {
        if !obj.contains_key("kind") {
            if let Some(k) = kind["kind"].as_str() {
                obj.insert("kind".into(), json!(k));
            }
        }
        if !obj.contains_key("apiVersion") {
            if let Some(v) = kind["version"].as_str() {
                let g = kind["group"].as_str().unwrap_or_default();
                obj.insert("apiVersion".into(), json!(if g.is_empty() { v.to_string() } else { format!("{g}/{v}") }));
            }
        }
    }
    let user = request.get("userInfo").cloned().unwrap_or(Value::Null);
    Ok(Review {
        version,
        uid: s("uid"),
        kind,
        operation: s("operation"),
        namespace,
        name: s("name"),
        object,
        old_object: request.get("oldObject").cloned().unwrap_or(Value::Null),
        username: user["username"].as_str().unwrap_or_default().to_string(),
        groups: user["groups"]
            .as_array()
            .map(|g| g.iter().filter_map(Value::as_str).map(str::to_string).collect())
            .unwrap_or_default(),
        dry_run: request.get("dryRun").and_then(Value::as_bool).unwrap_or(false),
    })
}

/// What the webhook answers for one review.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Verdict {
    pub allowed: bool,
    /// The denial's reason, for people (`status.message`).
    pub message: String,
    /// Audit and warn results (`warnings`: kubectl prints them).
    pub warnings: Vec<String>,
    /// A JSONPatch (RFC 6902) to apply to the object (digest pins), when not empty.
    pub patch: Vec<Value>,
    /// Every rule result behind the verdict (policy, rule, result), for the server's metrics.
    pub results: Vec<RuleTally>,
}

/// A rule result as the metrics count it: policy, rule, result.
pub type RuleTally = (String, String, bulwark_policy::Outcome);

/// The AdmissionReview answering `review` with `verdict`.
pub fn response(review: &Review, verdict: &Verdict) -> Value {
    let mut resp = Map::new();
    resp.insert("uid".into(), json!(review.uid));
    resp.insert("allowed".into(), json!(verdict.allowed));
    let status = if verdict.allowed {
        json!({"metadata": {}, "code": 200})
    } else {
        json!({"metadata": {}, "status": "Failure", "message": verdict.message, "reason": "Forbidden", "code": 403})
    };
    resp.insert("status".into(), status);
    if !verdict.warnings.is_empty() {
        resp.insert("warnings".into(), json!(verdict.warnings));
    }
    if verdict.allowed && !verdict.patch.is_empty() {
        let patch = serde_json::to_vec(&verdict.patch).unwrap_or_default();
        resp.insert("patchType".into(), json!("JSONPatch"));
        resp.insert("patch".into(), json!(base64::engine::general_purpose::STANDARD.encode(patch)));
    }
    json!({"kind": "AdmissionReview", "apiVersion": review.version.api_version(), "response": resp})
}

/// The answer to a request that could not be reviewed, as controller-runtime writes it (no
/// kind or apiVersion: the request's could not be read).
pub fn error_response(e: &ReviewError) -> Value {
    json!({"response": {"uid": "", "allowed": false, "status": {"metadata": {}, "message": e.to_string(), "code": e.code()}}})
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn namespace_is_set_on_the_object_from_the_request() {
        let body = br#"{"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview","request":{"uid":"u1","operation":"CREATE","namespace":"shop","object":{"kind":"Pod","metadata":{"name":"p"}}}}"#;
        let r = parse(body).unwrap();
        assert_eq!(r.version, ReviewVersion::V1beta1);
        assert_eq!(r.object["metadata"]["namespace"], "shop");
        let out = response(&r, &Verdict { allowed: true, ..Default::default() });
        assert_eq!(out["apiVersion"], "admission.k8s.io/v1beta1");
        assert_eq!(out["response"]["uid"], "u1");
    }
}
