//! Pulling from a registry over the OCI distribution API. (Being written.)

use crate::error::{ImageError, Result};
use crate::source::ResolvedImage;

#[derive(Debug, Clone, Default)]
pub struct PullOptions {
    pub platform: Option<String>,
    /// Plain HTTP and unverified TLS, only when the user asks.
    pub insecure: bool,
    pub progress: bool,
}

pub fn pull(reference: &str, _opts: &PullOptions) -> Result<ResolvedImage> {
    Err(ImageError::Unsupported(format!("pulling {reference} from a registry")))
}
