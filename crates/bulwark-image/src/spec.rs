//! The few fields of the OCI image spec (and Docker's schema 2, which has the same shape)
//! that an inventory needs. Descriptors, platforms and media types are bulwark-oci's.
//! Unknown fields are ignored, as the spec requires.

pub use bulwark_oci::Platform;
use serde::Deserialize;

/// An index (OCI) or manifest list (Docker).
#[derive(Debug, Clone, Deserialize)]
pub struct Index {
    #[serde(default)]
    pub manifests: Vec<bulwark_oci::Descriptor>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Manifest {
    #[serde(rename = "mediaType", default)]
    pub media_type: String,
    pub config: bulwark_oci::Descriptor,
    #[serde(default)]
    pub layers: Vec<bulwark_oci::Descriptor>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ImageConfig {
    #[serde(default)]
    pub os: String,
    #[serde(default)]
    pub architecture: String,
    #[serde(default)]
    pub variant: Option<String>,
    pub rootfs: RootFs,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RootFs {
    #[serde(default)]
    pub diff_ids: Vec<String>,
}
