use std::path::PathBuf;

/// Why an image could not be read. Every variant names the input it is about, because the
/// user scanning a hostile image needs to know which blob or file was bad.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{what}: invalid JSON: {source}")]
    Json {
        what: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("{0}")]
    Invalid(String),
    #[error("blob {digest}: digest mismatch: content hashes to {actual}")]
    DigestMismatch { digest: String, actual: String },
    #[error("layer {diff_id}: uncompressed content hashes to {actual}, not the diff id the image config declares")]
    DiffIdMismatch { diff_id: String, actual: String },
    #[error("blob {digest}: size {actual} differs from the {expected} bytes the manifest declares")]
    SizeMismatch { digest: String, expected: u64, actual: u64 },
    #[error("blob {0} is named by the manifest but missing from the image")]
    MissingBlob(String),
    #[error("layer {layer}: {message}")]
    Layer { layer: String, message: String },
    #[error("registry: {0}")]
    Registry(String),
    #[error("unsupported: {0}")]
    Unsupported(String),
}

impl ImageError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        ImageError::Io { path: path.into(), source }
    }

    pub(crate) fn json(what: impl Into<String>, source: serde_json::Error) -> Self {
        ImageError::Json { what: what.into(), source }
    }

    pub(crate) fn invalid(msg: impl Into<String>) -> Self {
        ImageError::Invalid(msg.into())
    }
}

pub type Result<T, E = ImageError> = std::result::Result<T, E>;
