//! cosign's simple-signing payload: what `cosign sign` signs for an image, stored as the
//! layer of the `sha256-<digest>.sig` manifest (media type
//! `application/vnd.dev.cosign.simplesigning.v1+json`).
//!
//! ```text
//! {"critical":{"identity":{"docker-reference":REF},"image":{"docker-manifest-digest":"sha256:…"},
//!  "type":"cosign container image signature"},"optional":ANNOTATIONS_OR_null}
//! ```
//!
//! Written byte for byte as cosign writes it (sigstore/sigstore `payload.Cosign.MarshalJSON`,
//! Go `json.Marshal`: struct field order, annotations sorted, no whitespace, no final
//! newline). cosign fills `docker-reference` with the repository name in full
//! (`index.docker.io/library/alpine` for `alpine`), without tag or digest; callers pass it so.
//!
//! Parsing is stricter than cosign's Go decoder: key names are matched exactly (Go ignores
//! case), duplicate or unknown keys inside `critical` are refused (as the containers-signature
//! format requires), and the digest must be `sha256:` + 64 lowercase hex (or `sha512:` + 128).

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::{gojson, SignError};

/// The value of `critical.type`.
pub const SIGNATURE_TYPE: &str = "cosign container image signature";
/// The media type of the payload layer.
pub const MEDIA_TYPE: &str = "application/vnd.dev.cosign.simplesigning.v1+json";

/// A simple-signing payload.
#[derive(Clone, Debug, PartialEq)]
pub struct SimpleSigning {
    /// `critical.identity.docker-reference`: the repository, e.g. `ghcr.io/org/app`.
    pub docker_reference: String,
    /// `critical.image.docker-manifest-digest`: `sha256:<hex>`.
    pub manifest_digest: String,
    /// `optional`: cosign's annotations (`-a key=value`), `null` when there are none.
    pub optional: Option<Map<String, Value>>,
}

#[derive(Deserialize)]
struct Raw {
    critical: RawCritical,
    #[serde(default)]
    optional: Option<Map<String, Value>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCritical {
    identity: RawIdentity,
    image: RawImage,
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIdentity {
    #[serde(rename = "docker-reference")]
    docker_reference: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawImage {
    #[serde(rename = "docker-manifest-digest")]
    docker_manifest_digest: String,
}

impl SimpleSigning {
    /// A payload for `docker_reference` (the repository) at `manifest_digest`.
    pub fn new(docker_reference: &str, manifest_digest: &str) -> Result<Self, SignError> {
        let what = "simple-signing payload";
        check_reference(docker_reference).map_err(|m| SignError::format(what, m))?;
        check_digest(manifest_digest).map_err(|m| SignError::format(what, m))?;
        Ok(SimpleSigning {
            docker_reference: docker_reference.to_string(),
            manifest_digest: manifest_digest.to_string(),
            optional: None,
        })
    }

    /// Adds cosign annotations (`optional`); an empty map stays `null`, as in cosign.
    pub fn with_annotations(mut self, annotations: Map<String, Value>) -> Self {
        self.optional = if annotations.is_empty() { None } else { Some(annotations) };
        self
    }

    /// The exact bytes cosign would sign for this payload.
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = String::with_capacity(256);
        out.push_str(r#"{"critical":{"identity":{"docker-reference":"#);
        gojson::write_str(&mut out, &self.docker_reference);
        out.push_str(r#"},"image":{"docker-manifest-digest":"#);
        gojson::write_str(&mut out, &self.manifest_digest);
        out.push_str(r#"},"type":"#);
        gojson::write_str(&mut out, SIGNATURE_TYPE);
        out.push_str(r#"},"optional":"#);
        match &self.optional {
            Some(map) => gojson::write_value(&mut out, &Value::Object(map.clone())),
            None => out.push_str("null"),
        }
        out.push('}');
        out.into_bytes()
    }

    /// Parses a payload (the bytes a signature covers). `what` names it in errors.
    pub fn parse(bytes: &[u8], what: &str) -> Result<Self, SignError> {
        let raw: Raw = serde_json::from_slice(bytes)
            .map_err(|e| SignError::format(what, format!("not a cosign simple-signing payload: {e}")))?;
        if raw.critical.kind != SIGNATURE_TYPE {
            return Err(SignError::format(
                what,
                format!(
                    "critical.type is {:?}, not {SIGNATURE_TYPE:?}",
                    raw.critical.kind.chars().take(80).collect::<String>()
                ),
            ));
        }
        let reference = raw.critical.identity.docker_reference;
        let digest = raw.critical.image.docker_manifest_digest;
        check_reference(&reference).map_err(|m| SignError::format(what, m))?;
        check_digest(&digest).map_err(|m| SignError::format(what, m))?;
        Ok(SimpleSigning { docker_reference: reference, manifest_digest: digest, optional: raw.optional })
    }
}

/// `sha256:` + 64 lowercase hex, or `sha512:` + 128.
pub fn check_digest(digest: &str) -> Result<(), String> {
    bulwark_oci::Digest::parse(digest).map(drop).map_err(|e| format!("image {e}"))
}

fn check_reference(reference: &str) -> Result<(), String> {
    if reference.is_empty() {
        return Err("critical.identity.docker-reference is empty".into());
    }
    if reference.len() > 4096 || reference.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "docker-reference {:?} is not an image reference",
            reference.chars().take(80).collect::<String>()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "sha256:9494e567c7c44e8b9f8808c1658a47c9b7979ef3cceef10f48754fc2706802ba";

    #[test]
    fn byte_identical_to_cosign() {
        // A payload cosign wrote (sigstore test vectors, confidential-space image).
        let cosign = r#"{"critical":{"identity":{"docker-reference":"us-docker.pkg.dev/confidential-space-images-dev/cs-cosign-tests/base"},"image":{"docker-manifest-digest":"sha256:9494e567c7c44e8b9f8808c1658a47c9b7979ef3cceef10f48754fc2706802ba"},"type":"cosign container image signature"},"optional":null}"#;
        let p =
            SimpleSigning::new("us-docker.pkg.dev/confidential-space-images-dev/cs-cosign-tests/base", DIGEST).unwrap();
        assert_eq!(String::from_utf8(p.to_json()).unwrap(), cosign);
        assert_eq!(SimpleSigning::parse(cosign.as_bytes(), "p").unwrap(), p);
    }

    #[test]
    fn annotations_sorted_and_escaped_like_go() {
        let mut a = Map::new();
        a.insert("z".into(), Value::String("1".into()));
        a.insert("a&b".into(), Value::String("<x>".into()));
        let p = SimpleSigning::new("ghcr.io/o/app", DIGEST).unwrap().with_annotations(a);
        let json = String::from_utf8(p.to_json()).unwrap();
        assert!(json.ends_with(r#""optional":{"a\u0026b":"\u003cx\u003e","z":"1"}}"#), "{json}");
        assert_eq!(SimpleSigning::parse(json.as_bytes(), "p").unwrap(), p);
    }

    #[test]
    fn strict_parse() {
        let ok = String::from_utf8(SimpleSigning::new("r/x", DIGEST).unwrap().to_json()).unwrap();
        let cases = [
            (ok.replace("cosign container image signature", "atomic container signature"), "critical.type"),
            (ok.replace("sha256:9494", "sha256:X494"), "lowercase hex"),
            (ok.replace("sha256:", "md5:"), "unsupported algorithm"),
            (ok.replace(r#""type""#, r#""extra":1,"type""#), "unknown field `extra`"),
            (ok.replace(r#""r/x""#, r#""""#), "is empty"),
            (ok.replace(r#""critical""#, r#""Critical""#), "missing field `critical`"),
            (
                ok.replace(
                    r#"{"docker-reference":"r/x"}"#,
                    r#"{"docker-reference":"r/x","docker-reference":"evil/y"}"#,
                ),
                "duplicate field",
            ),
            ("[]".to_string(), "not a cosign simple-signing payload"),
        ];
        for (text, want) in cases {
            let e = SimpleSigning::parse(text.as_bytes(), "sig").unwrap_err().to_string();
            assert!(e.contains(want), "{text}: {e}");
            assert!(e.starts_with("sig: "), "{e}");
        }
    }
}
