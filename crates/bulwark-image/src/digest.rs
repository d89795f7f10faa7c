//! Content digests (the type is [`bulwark_oci::Digest`]) and a reader that hashes what passes
//! through it.

use crate::error::{ImageError, Result};
pub use bulwark_oci::{Algorithm, Hasher};
use std::io::{self, Read};

impl From<bulwark_oci::DigestError> for ImageError {
    fn from(e: bulwark_oci::DigestError) -> Self {
        ImageError::invalid(e.to_string())
    }
}

/// [`bulwark_oci::Digest`] whose `parse` fails with an [`ImageError`]: what bulwark-registry
/// imports from here until it uses `bulwark_oci::Digest` itself, when this wrapper goes.
/// Everything else derefs to the real type.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest(bulwark_oci::Digest);

impl Digest {
    pub fn parse(s: &str) -> Result<Digest> {
        Ok(Digest(bulwark_oci::Digest::parse(s)?))
    }

    pub fn of_bytes(data: &[u8]) -> Digest {
        Digest(bulwark_oci::Digest::of_bytes(data))
    }

    pub fn into_inner(self) -> bulwark_oci::Digest {
        self.0
    }
}

impl std::ops::Deref for Digest {
    type Target = bulwark_oci::Digest;

    fn deref(&self) -> &bulwark_oci::Digest {
        &self.0
    }
}

impl From<bulwark_oci::Digest> for Digest {
    fn from(d: bulwark_oci::Digest) -> Self {
        Digest(d)
    }
}

impl std::fmt::Display for Digest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// Hashes (with the algorithm asked for) and counts every byte read through it.
pub struct HashingReader<R> {
    inner: R,
    hasher: Option<Hasher>,
    count: u64,
}

impl<R: Read> HashingReader<R> {
    pub fn new(inner: R, hash: Option<Algorithm>) -> Self {
        HashingReader { inner, hasher: hash.map(Hasher::new), count: 0 }
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    /// The digest of everything read so far (`None` when hashing was off).
    pub fn finish(self) -> (Option<bulwark_oci::Digest>, u64) {
        (self.hasher.map(Hasher::finish), self.count)
    }

    pub fn get_mut(&mut self) -> &mut R {
        &mut self.inner
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(h) = self.hasher.as_mut() {
            h.update(&buf[..n]);
        }
        self.count += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_errors_are_image_errors() {
        assert!(matches!(Digest::parse("sha256:../../../../etc/passwd"), Err(ImageError::Invalid(_))));
        assert!(Digest::parse(&format!("sha512:{}", "a".repeat(128))).is_ok());
    }

    #[test]
    fn hashing_reader_matches_each_algorithm() -> io::Result<()> {
        for alg in Algorithm::ALL {
            let mut r = HashingReader::new(&b"hello"[..], Some(alg));
            io::copy(&mut r, &mut io::sink())?;
            let (d, n) = r.finish();
            assert_eq!(n, 5);
            assert_eq!(d, Some(alg.digest(b"hello")));
        }
        Ok(())
    }
}
