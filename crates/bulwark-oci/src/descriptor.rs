//! The content descriptor (image-spec descriptor.md): the one type for a manifest's config and
//! layers, an index's manifests, a referrer and a subject. Fields are in the spec's order, so
//! what we write reads like what Go writes. Unknown fields are ignored, as the spec requires.

use crate::digest::Digest;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    /// Required by the spec; an absent one reads as empty, which readers of old layouts take
    /// as "look at the content".
    #[serde(default)]
    pub media_type: String,
    /// Validated when parsed: a descriptor with a malformed or unsupported digest is refused.
    pub digest: Digest,
    /// Required (the spec's int64; a negative size is refused). It bounds every download.
    pub size: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub urls: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// The content itself, base64, for small blobs (OCI 1.1); still to be checked against `digest`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    /// Only in an index's `manifests`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    /// OCI 1.1 artifacts and referrers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
}

impl Descriptor {
    /// A descriptor of `media_type` for `data`, hashed with sha256.
    pub fn of(media_type: impl Into<String>, data: &[u8]) -> Descriptor {
        Descriptor::new(media_type, Digest::of_bytes(data), data.len() as u64)
    }

    pub fn new(media_type: impl Into<String>, digest: Digest, size: u64) -> Descriptor {
        Descriptor {
            media_type: media_type.into(),
            digest,
            size,
            urls: Vec::new(),
            annotations: BTreeMap::new(),
            data: None,
            platform: None,
            artifact_type: None,
        }
    }

    /// The `org.opencontainers.image.ref.name` annotation (an OCI layout's tag).
    pub fn ref_name(&self) -> Option<&str> {
        self.annotations.get("org.opencontainers.image.ref.name").map(String::as_str)
    }
}

/// The platform an index entry is for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Platform {
    #[serde(default)]
    pub architecture: String,
    #[serde(default)]
    pub os: String,
    #[serde(rename = "os.version", default, skip_serializing_if = "Option::is_none")]
    pub os_version: Option<String>,
    #[serde(rename = "os.features", default, skip_serializing_if = "Vec::is_empty")]
    pub os_features: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub features: Vec<String>,
}

impl Platform {
    pub fn new(os: impl Into<String>, architecture: impl Into<String>, variant: Option<String>) -> Platform {
        Platform { os: os.into(), architecture: architecture.into(), variant, ..Default::default() }
    }

    /// `linux/amd64`, `linux/arm64/v8`.
    pub fn parse(s: &str) -> Option<Platform> {
        let mut it = s.split('/');
        let os = it.next()?.to_string();
        let architecture = it.next()?.to_string();
        let variant = it.next().map(str::to_string);
        if it.next().is_some() || os.is_empty() || architecture.is_empty() {
            return None;
        }
        Some(Platform::new(os, architecture, variant))
    }

    /// True when this entry serves `want`; a `want` without a variant takes any variant.
    pub fn matches(&self, want: &Platform) -> bool {
        self.os == want.os
            && self.architecture == want.architecture
            && (want.variant.is_none() || self.variant == want.variant)
    }
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_field_and_writes_only_those_set() {
        let d = Digest::of_bytes(b"m");
        let json = format!(
            r#"{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{d}","size":7,
            "urls":["https://example.com/l"],"annotations":{{"org.opencontainers.image.ref.name":"1.0"}},
            "data":"bQ==","platform":{{"architecture":"arm64","os":"linux","os.version":"10","variant":"v8"}},
            "artifactType":"application/vnd.example+json","unknown":true}}"#
        );
        let desc: Descriptor = serde_json::from_str(&json).unwrap();
        assert_eq!((desc.size, desc.ref_name(), desc.data.as_deref()), (7, Some("1.0"), Some("bQ==")));
        assert_eq!(desc.platform.as_ref().unwrap().to_string(), "linux/arm64/v8");
        assert_eq!(desc.platform.as_ref().unwrap().os_version.as_deref(), Some("10"));
        assert_eq!(desc.artifact_type.as_deref(), Some("application/vnd.example+json"));
        let back: Descriptor = serde_json::from_str(&serde_json::to_string(&desc).unwrap()).unwrap();
        assert_eq!(back, desc);
        // The spec's field order, nothing empty written.
        let plain = Descriptor::of("application/octet-stream", b"m");
        assert_eq!(
            serde_json::to_string(&plain).unwrap(),
            format!(r#"{{"mediaType":"application/octet-stream","digest":"{d}","size":1}}"#)
        );
    }

    #[test]
    fn refuses_bad_digests_and_sizes() {
        let ok = Digest::of_bytes(b"m");
        for bad in [
            r#"{"digest":"sha256:00","size":1}"#.to_string(),
            r#"{"digest":"sha256:../../etc/passwd","size":1}"#.to_string(),
            format!(r#"{{"digest":"{ok}","size":-1}}"#),
            format!(r#"{{"digest":"{ok}"}}"#),
        ] {
            assert!(serde_json::from_str::<Descriptor>(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn platforms() {
        assert_eq!(Platform::parse("linux/arm64/v8").unwrap().to_string(), "linux/arm64/v8");
        assert!(Platform::parse("linux").is_none() && Platform::parse("a/b/c/d").is_none());
        let any_arm = Platform::parse("linux/arm64").unwrap();
        assert!(Platform::parse("linux/arm64/v8").unwrap().matches(&any_arm));
        assert!(!any_arm.matches(&Platform::parse("linux/arm64/v8").unwrap()));
    }
}
