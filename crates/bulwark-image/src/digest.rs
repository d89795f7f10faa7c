//! A reader that hashes what passes through it (digests are [`bulwark_oci::Digest`]).

use crate::error::ImageError;
pub use bulwark_oci::{Algorithm, Hasher};
use std::io::{self, Read};

impl From<bulwark_oci::DigestError> for ImageError {
    fn from(e: bulwark_oci::DigestError) -> Self {
        ImageError::invalid(e.to_string())
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
        let e = bulwark_oci::Digest::parse("sha256:../../../../etc/passwd").map_err(ImageError::from);
        assert!(matches!(e, Err(ImageError::Invalid(_))));
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
