//! The few fields of the OCI image spec (and Docker's schema 2, which has the same shape)
//! that an inventory needs. Descriptors, platforms and media types are bulwark-oci's.
//! Unknown fields are ignored, as the spec requires.

pub use bulwark_oci::media_type::{is_index, is_layer, DOCKER_LIST, DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST};
pub use bulwark_oci::Platform;
use serde::Deserialize;

/// The media type of a descriptor, read leniently (digest and size unchecked): only
/// bulwark-registry's scan probe uses it, on manifests the registry validated when they were
/// pushed. It goes when the registry parses with [`bulwark_oci::Descriptor`].
#[derive(Debug, Clone, Deserialize)]
pub struct Descriptor {
    #[serde(rename = "mediaType", default)]
    pub media_type: String,
}

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
