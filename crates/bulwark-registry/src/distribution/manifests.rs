//! Manifests: pull (with the project's vulnerability policy), push, delete.

use super::{authorize, builder, finish, parse_digest, ApiResult};
use crate::auth::{Action, Principal};
use crate::error::ApiError;
use crate::meta::{self, ManifestRow, Ref};
use crate::names::{is_fallback_tag, valid_tag};
use crate::state::{AppState, Shared};
use axum::body::Body;
use axum::http::{header, HeaderMap, StatusCode};
use bulwark_oci::media_type;
use bulwark_oci::{Algorithm, Descriptor, Digest, DigestError};
use serde::Deserialize;
use std::collections::BTreeMap;

/// The manifest a pull names. A reference that is neither a digest nor a valid tag cannot name
/// one: it is unknown (404), as the spec and the conformance suite's `.INVALID_MANIFEST_NAME`
/// expect; only a push of such a tag is TAG_INVALID.
pub(crate) async fn resolve(st: &AppState, name: &str, reference: &str) -> Result<ManifestRow, ApiError> {
    let digest = if reference.contains(':') {
        parse_digest(reference)?.to_string()
    } else {
        let found = if valid_tag(reference) { st.meta.tag(name, reference).await? } else { None };
        match found {
            Some(d) => d,
            None if !st.meta.repo_exists(name).await? => return Err(ApiError::name_unknown(name)),
            None => return Err(ApiError::manifest_unknown(reference)),
        }
    };
    match st.meta.manifest(name, &digest).await? {
        Some(m) => Ok(m),
        None if !st.meta.repo_exists(name).await? => Err(ApiError::name_unknown(name)),
        None => Err(ApiError::manifest_unknown(reference)),
    }
}

pub(crate) async fn manifest_get(
    st: &Shared,
    headers: &HeaderMap,
    who: &Principal,
    name: &str,
    reference: &str,
    head: bool,
) -> ApiResult {
    let project = authorize(st, headers, who, name, Action::Pull).await?;
    let row = resolve(st, name, reference).await?;
    if !head {
        check_vulnerability_policy(st, name, project.as_ref(), &row).await?;
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
pub(crate) async fn check_vulnerability_policy(
    st: &AppState,
    name: &str,
    project: Option<&meta::Project>,
    row: &ManifestRow,
) -> Result<(), ApiError> {
    let Some(project) = project else { return Ok(()) };
    let Some(threshold) = project.block_severity.as_deref() else { return Ok(()) };
    // Indexes and artifacts are never scanned; an index's images are checked when pulled. An
    // image's artifact type is its config's media type (see manifest_put): still an image.
    let artifact = row.artifact_type.as_deref().is_some_and(|a| !media_type::is_image_config(a));
    if media_type::is_index(&row.media_type) || artifact {
        return Ok(());
    }
    let scan = st.meta.scan(&row.digest).await?;
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

/// A pushed manifest as first read: its descriptors as plain JSON, so that a bad digest in one
/// is answered DIGEST_INVALID (as distribution does) rather than as a JSON error; each then
/// becomes a [`Descriptor`] in [`descriptor`].
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AnyManifest {
    schema_version: Option<i64>,
    media_type: Option<String>,
    artifact_type: Option<String>,
    config: Option<serde_json::Value>,
    layers: Option<Vec<serde_json::Value>>,
    manifests: Option<Vec<serde_json::Value>>,
    subject: Option<serde_json::Value>,
    annotations: Option<BTreeMap<String, String>>,
}

/// `v` as a descriptor: its digest checked first (DIGEST_INVALID), then the rest (a missing
/// digest or size, a negative size: MANIFEST_INVALID).
fn descriptor(v: &serde_json::Value, what: &str) -> Result<Descriptor, ManifestError> {
    if let Some(d) = v.get("digest").and_then(serde_json::Value::as_str) {
        Digest::parse(d)?;
    }
    Descriptor::deserialize(v).map_err(|e| invalid(format!("manifest {what}: not a valid JSON descriptor: {e}")))
}

pub(crate) fn manifest_invalid(msg: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "MANIFEST_INVALID", msg)
}

/// Why a pushed manifest is refused before anything is looked up.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("manifest larger than {0} bytes")]
    TooLarge(u64),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Digest(#[from] DigestError),
}

impl From<ManifestError> for ApiError {
    fn from(e: ManifestError) -> Self {
        match e {
            ManifestError::TooLarge(_) => ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "SIZE_INVALID", e.to_string()),
            ManifestError::Invalid(msg) => manifest_invalid(msg),
            ManifestError::Digest(e) => ApiError::digest_invalid(e.to_string()),
        }
    }
}

/// A pushed manifest, parsed and checked (see [`validate_manifest`]).
#[derive(Debug, PartialEq, Eq)]
pub struct ValidManifest {
    /// From `Content-Type`, else the manifest's `mediaType`, else guessed from its shape.
    pub media_type: String,
    pub is_index: bool,
    /// `artifactType`, else (an image manifest) its config's media type: what the referrers
    /// API lists it under.
    pub artifact_type: Option<String>,
    /// The manifests an index lists.
    pub children: Vec<Digest>,
    /// The blobs an image manifest needs in the repository (config first), with the sizes it
    /// declares; foreign and non-distributable layers that live elsewhere are not among them.
    pub blobs: Vec<(Digest, u64)>,
    pub subject: Option<Digest>,
    /// Non-empty annotations, as JSON.
    pub annotations: Option<String>,
}

fn invalid(msg: impl Into<String>) -> ManifestError {
    ManifestError::Invalid(msg.into())
}

/// Parse and check a pushed manifest without any I/O: size, JSON, schema version, a media type
/// we store (OCI or Docker image manifest or index; `Content-Type`, when it says one, must
/// agree with `mediaType`), a config for images, and every digest it names.
pub fn validate_manifest(bytes: &[u8], content_type: Option<&str>, max: u64) -> Result<ValidManifest, ManifestError> {
    if bytes.len() as u64 > max {
        return Err(ManifestError::TooLarge(max));
    }
    let m: AnyManifest =
        serde_json::from_slice(bytes).map_err(|e| invalid(format!("manifest is not valid JSON: {e}")))?;
    let content_type = content_type
        .map(|v| v.split(';').next().unwrap_or("").trim().to_string())
        .filter(|v| !v.is_empty() && v != "application/json" && v != "application/octet-stream");
    if let (Some(ct), Some(mt)) = (&content_type, &m.media_type) {
        if ct != mt {
            return Err(invalid(format!("Content-Type {ct} differs from the manifest's mediaType {mt}")));
        }
    }
    let media_type = content_type.or(m.media_type.clone()).unwrap_or_else(|| {
        if m.manifests.is_some() {
            media_type::OCI_INDEX.into()
        } else {
            media_type::OCI_MANIFEST.into()
        }
    });
    if m.schema_version != Some(2) {
        return Err(invalid("only schemaVersion 2 manifests are accepted (Docker schema 1 is obsolete)"));
    }
    let is_index = media_type::is_index(&media_type);
    if !is_index && !media_type::is_manifest(&media_type) {
        return Err(invalid(format!("unsupported manifest media type {media_type}")));
    }
    let mut children = Vec::new();
    let mut blobs = Vec::new();
    let mut artifact_type = m.artifact_type.clone();
    if is_index {
        for d in m.manifests.iter().flatten() {
            children.push(descriptor(d, "manifests")?.digest);
        }
    } else {
        let config = m.config.as_ref().ok_or_else(|| invalid("an image manifest needs a config"))?;
        let config = descriptor(config, "config")?;
        // The referrers API lists a manifest without artifactType under its config's media
        // type, image config types included (so `?artifactType=` of an image config finds it).
        if artifact_type.is_none() && !config.media_type.is_empty() {
            artifact_type = Some(config.media_type.clone());
        }
        blobs.push((config.digest, config.size));
        for l in m.layers.iter().flatten() {
            let l = descriptor(l, "layers")?;
            // Foreign layers (Windows base images) live elsewhere, by design.
            if !l.urls.is_empty() && media_type::is_foreign_layer(&l.media_type) {
                continue;
            }
            blobs.push((l.digest, l.size));
        }
    }
    let subject = m.subject.as_ref().map(|s| descriptor(s, "subject")).transpose()?.map(|s| s.digest);
    let annotations = m.annotations.as_ref().filter(|a| !a.is_empty()).map(|a| serde_json::json!(a).to_string());
    Ok(ValidManifest { media_type, is_index, artifact_type, children, blobs, subject, annotations })
}

pub(crate) async fn manifest_put(
    st: &Shared,
    headers: &HeaderMap,
    who: &Principal,
    name: &str,
    reference: &str,
    q: &[(String, String)],
    body: Body,
) -> ApiResult {
    let project = authorize(st, headers, who, name, Action::Push).await?;
    let limit = st.config.limits.max_manifest_bytes;
    let bytes = axum::body::to_bytes(body, limit as usize).await.map_err(|_| {
        ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "SIZE_INVALID", format!("manifest larger than {limit} bytes"))
    })?;
    // Pushed by digest: stored under that digest's algorithm (sha512 too); by tag: sha256.
    let want = if reference.contains(':') { Some(parse_digest(reference)?) } else { None };
    let digest = want.as_ref().map_or(Algorithm::Sha256, Digest::algorithm).digest(&bytes);
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
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    let ValidManifest { media_type, is_index, artifact_type, children, blobs, subject, annotations } =
        validate_manifest(&bytes, content_type, limit)?;
    let mut refs: Vec<Ref> = children.iter().map(|c| Ref::Manifest(c.to_string())).collect();
    let subject = subject.map(|s| s.to_string());
    let project_name = meta::project_of(name).to_string();
    let immutable = project.as_ref().is_some_and(|p| p.immutable_tags);

    let _guard = st.gc_lock.read().await;
    for (dg, declared) in &blobs {
        let size = if st.meta.blob_linked(name, dg.as_str()).await? { st.storage.stat(dg).await? } else { None };
        match size {
            None => {
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "MANIFEST_BLOB_UNKNOWN",
                    format!("blob {dg} is not in {name}; push it first"),
                ))
            }
            Some(s) if s != *declared => {
                return Err(manifest_invalid(format!("blob {dg} is {s} bytes, the manifest says {declared}")))
            }
            Some(_) => refs.push(Ref::Blob(dg.to_string())),
        }
    }
    for r in &refs {
        if let Ref::Manifest(child) = r {
            if st.meta.manifest(name, child).await?.is_none() {
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
        st.meta.project_put(&meta::Project::new(&project_name)).await?;
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
    st.meta.manifest_put_tags(&row, &refs, &tag_rules).await?;
    drop(_guard);
    if !is_index {
        if let Some(s) = &st.scanner {
            s.enqueue(name, digest.as_str()).await;
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

pub(crate) async fn manifest_delete(
    st: &Shared,
    headers: &HeaderMap,
    who: &Principal,
    name: &str,
    reference: &str,
) -> ApiResult {
    let project = authorize(st, headers, who, name, Action::Delete).await?;
    let immutable = project.as_ref().is_some_and(|p| p.immutable_tags);
    let gone = if reference.contains(':') {
        let d = parse_digest(reference)?;
        if immutable {
            refuse_immutable_delete(name, &st.meta.tags_of(name, d.as_str()).await?)?;
        }
        st.meta.manifest_delete(name, d.as_str()).await?
    } else {
        if !valid_tag(reference) {
            return Err(ApiError::new(StatusCode::BAD_REQUEST, "TAG_INVALID", format!("invalid tag {reference:?}")));
        }
        if immutable && st.meta.tag(name, reference).await?.is_some() {
            refuse_immutable_delete(name, &[reference.to_string()])?;
        }
        st.meta.tag_delete(name, reference).await?
    };
    if !gone {
        return Err(if st.meta.repo_exists(name).await? {
            ApiError::manifest_unknown(reference)
        } else {
            ApiError::name_unknown(name)
        });
    }
    finish(builder(StatusCode::ACCEPTED), Body::empty())
}

/// Deleting an immutable tag (or the manifest holding it) and pushing it again would move it:
/// refused, as Harbor does. cosign's fallback tags are not immutable.
pub(crate) fn refuse_immutable_delete(name: &str, tags: &[String]) -> Result<(), ApiError> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use bulwark_oci::media_type::{DOCKER_FOREIGN, OCI_CONFIG};
    use serde_json::json;

    const MAX: u64 = 4 << 20;
    const LAYER: &str = "application/vnd.oci.image.layer.v1.tar+gzip";

    fn d(seed: &str) -> String {
        Digest::of_bytes(seed.as_bytes()).to_string()
    }

    fn image() -> serde_json::Value {
        json!({
            "schemaVersion": 2, "mediaType": media_type::OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": d("config"), "size": 6},
            "layers": [{"mediaType": LAYER, "digest": d("layer"), "size": 5}],
            "annotations": {"a": "b"},
        })
    }

    fn check(v: &serde_json::Value, content_type: Option<&str>) -> Result<ValidManifest, ManifestError> {
        validate_manifest(&serde_json::to_vec(v).unwrap_or_default(), content_type, MAX)
    }

    fn invalid_because(v: &serde_json::Value, content_type: Option<&str>, why: &str) {
        match check(v, content_type) {
            Err(ManifestError::Invalid(m)) => assert!(m.contains(why), "{m}"),
            other => panic!("{v}: expected Invalid({why}), got {other:?}"),
        }
    }

    #[test]
    fn a_good_image_manifest() {
        let m = check(&image(), Some("application/vnd.oci.image.manifest.v1+json; charset=utf-8")).ok();
        let want = ValidManifest {
            media_type: media_type::OCI_MANIFEST.into(),
            is_index: false,
            artifact_type: Some(OCI_CONFIG.into()),
            children: vec![],
            blobs: vec![(Digest::of_bytes(b"config"), 6), (Digest::of_bytes(b"layer"), 5)],
            subject: None,
            annotations: Some(r#"{"a":"b"}"#.into()),
        };
        assert_eq!(m, Some(want));
        // Without Content-Type (or a generic one) the manifest's own mediaType decides.
        for ct in [None, Some("application/json"), Some("application/octet-stream")] {
            assert_eq!(check(&image(), ct).map(|m| m.media_type).ok().as_deref(), Some(media_type::OCI_MANIFEST));
        }
        // An explicit artifactType wins over the config's type.
        let mut a = image();
        a["artifactType"] = json!("application/vnd.example.sbom");
        assert_eq!(check(&a, None).ok().and_then(|m| m.artifact_type).as_deref(), Some("application/vnd.example.sbom"));
    }

    #[test]
    fn media_types_and_schema_versions() {
        invalid_because(&image(), Some(media_type::OCI_INDEX), "differs from the manifest's mediaType");
        let mut m = image();
        m["mediaType"] = json!("application/vnd.example.unknown+json");
        invalid_because(&m, None, "unsupported manifest media type");
        let mut m = image();
        m["schemaVersion"] = json!(1);
        invalid_because(&m, None, "schemaVersion 2");
        m.as_object_mut().map(|o| o.remove("schemaVersion"));
        invalid_because(&m, None, "schemaVersion 2");
        // Docker schema 2 keeps its type.
        let mut m = image();
        m["mediaType"] = json!(media_type::DOCKER_MANIFEST);
        assert_eq!(check(&m, None).map(|m| m.media_type).ok().as_deref(), Some(media_type::DOCKER_MANIFEST));
        assert!(
            matches!(validate_manifest(b"{not json", None, MAX), Err(ManifestError::Invalid(m)) if m.contains("JSON"))
        );
        assert!(matches!(validate_manifest(b"[]", None, MAX), Err(ManifestError::Invalid(_))));
    }

    #[test]
    fn config_and_layers() {
        let mut m = image();
        m.as_object_mut().map(|o| o.remove("config"));
        invalid_because(&m, None, "needs a config");
        // No `layers` at all: an image without layers (as distribution accepts), no blobs but the config.
        let mut m = image();
        m.as_object_mut().map(|o| o.remove("layers"));
        assert_eq!(check(&m, None).map(|m| m.blobs.len()).ok(), Some(1));
        // Foreign and non-distributable layers with URLs are not required in the repository.
        let mut m = image();
        m["layers"] = json!([
            {"mediaType": DOCKER_FOREIGN, "digest": d("win"), "size": 1, "urls": ["https://example.com/w"]},
            {"mediaType": "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", "digest": d("nd"), "size": 1, "urls": ["https://example.com/n"]},
            {"mediaType": LAYER, "digest": d("layer"), "size": 5},
        ]);
        let blobs = check(&m, None).map(|m| m.blobs).unwrap_or_default();
        assert_eq!(blobs.iter().map(|(d, _)| d.to_string()).collect::<Vec<_>>(), [d("config"), d("layer")]);
    }

    #[test]
    fn sizes_are_required_and_not_negative() {
        for path in ["config", "layers"] {
            let mut m = image();
            let at = if path == "config" { &mut m["config"] } else { &mut m["layers"][0] };
            at["size"] = json!(-1);
            invalid_because(&m, None, "not a valid JSON descriptor");
            let at = if path == "config" { &mut m["config"] } else { &mut m["layers"][0] };
            at.as_object_mut().map(|o| o.remove("size"));
            invalid_because(&m, None, "missing field `size`");
        }
    }

    #[test]
    fn oversized_manifests() {
        let bytes = serde_json::to_vec(&image()).unwrap_or_default();
        let n = bytes.len() as u64;
        assert!(validate_manifest(&bytes, None, n).is_ok());
        assert!(matches!(validate_manifest(&bytes, None, n - 1), Err(ManifestError::TooLarge(m)) if m == n - 1));
    }

    #[test]
    fn every_digest_is_checked() {
        let bad = ["sha256:baddigeststring", "sha256:../../etc/passwd", "md5:abc", "", "sha256"];
        for b in bad {
            for path in [&["config", "digest"][..], &["layers", "0", "digest"][..], &["subject", "digest"][..]] {
                let mut m = image();
                m["subject"] = json!({"mediaType": media_type::OCI_MANIFEST, "digest": d("s"), "size": 1});
                let mut at = &mut m;
                for k in path {
                    at = match k.parse::<usize>() {
                        Ok(i) => &mut at[i],
                        Err(_) => &mut at[*k],
                    };
                }
                *at = json!(b);
                assert!(matches!(check(&m, None), Err(ManifestError::Digest(_))), "{b} at {path:?}");
            }
            let index = json!({"schemaVersion": 2, "mediaType": media_type::OCI_INDEX,
                "manifests": [{"mediaType": media_type::OCI_MANIFEST, "digest": b, "size": 1}]});
            assert!(matches!(check(&index, None), Err(ManifestError::Digest(_))), "{b} in an index");
        }
        // sha512 is a digest like any other.
        let mut m = image();
        let s512 = Algorithm::Sha512.digest(b"layer");
        m["layers"][0]["digest"] = json!(s512.as_str());
        assert_eq!(check(&m, None).ok().map(|m| m.blobs[1].0.clone()), Some(s512));
    }

    #[test]
    fn index_versus_image() {
        let index = json!({"schemaVersion": 2, "mediaType": media_type::OCI_INDEX, "manifests": [
            {"mediaType": media_type::OCI_MANIFEST, "digest": d("amd64"), "size": 1, "platform": {"os": "linux", "architecture": "amd64"}},
            {"mediaType": media_type::OCI_MANIFEST, "digest": d("arm64"), "size": 1},
        ]});
        let v = check(&index, Some(media_type::OCI_INDEX)).ok();
        assert_eq!(v.as_ref().map(|v| v.is_index), Some(true));
        assert_eq!(v.as_ref().map(|v| v.children.len()), Some(2));
        assert_eq!(v.as_ref().map(|v| (v.blobs.len(), v.artifact_type.clone())), Some((0, None)));
        // An index without mediaType or Content-Type is recognised by its `manifests`.
        let mut bare = index.clone();
        bare.as_object_mut().map(|o| o.remove("mediaType"));
        assert_eq!(check(&bare, None).map(|v| v.media_type).ok().as_deref(), Some(media_type::OCI_INDEX));
        // An image manifest without mediaType is an OCI image manifest.
        let mut bare = image();
        bare.as_object_mut().map(|o| o.remove("mediaType"));
        assert_eq!(
            check(&bare, None).map(|v| (v.media_type, v.is_index)).ok(),
            Some((media_type::OCI_MANIFEST.into(), false))
        );
        // An index pushed as an image manifest is refused.
        invalid_because(&index, Some(media_type::OCI_MANIFEST), "differs");
    }

    #[test]
    fn subject() {
        let mut m = image();
        assert_eq!(check(&m, None).ok().map(|v| v.subject), Some(None));
        m["subject"] = json!({"mediaType": media_type::OCI_MANIFEST, "digest": d("subject"), "size": 10});
        assert_eq!(check(&m, None).ok().and_then(|v| v.subject), Some(Digest::of_bytes(b"subject")));
        let mut index = json!({"schemaVersion": 2, "mediaType": media_type::OCI_INDEX, "manifests": []});
        index["subject"] = json!({"mediaType": media_type::OCI_INDEX, "digest": d("subject"), "size": 10});
        assert_eq!(check(&index, None).ok().and_then(|v| v.subject), Some(Digest::of_bytes(b"subject")));
        m["subject"] = json!({"mediaType": media_type::OCI_MANIFEST, "size": 10});
        invalid_because(&m, None, "JSON");
    }
}
