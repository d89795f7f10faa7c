//! OCI content digests, validated before they are ever used as a file name, and a reader
//! that hashes what passes through it.

use crate::error::{ImageError, Result};
use sha2::{Digest as _, Sha256};
use std::io::{self, Read};

/// A validated `sha256:<64 lowercase hex>` digest. Other algorithms are refused: a digest
/// is turned into a blob path, and only a strict form cannot escape the blob directory.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest(String);

impl Digest {
    pub fn parse(s: &str) -> Result<Digest> {
        let hex = s
            .strip_prefix("sha256:")
            .ok_or_else(|| ImageError::invalid(format!("digest {s:?}: only sha256 digests are supported")))?;
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            return Err(ImageError::invalid(format!("digest {s:?} is not sha256 followed by 64 lowercase hex digits")));
        }
        Ok(Digest(s.to_string()))
    }

    pub fn hex(&self) -> &str {
        &self.0[7..]
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn of_bytes(data: &[u8]) -> Digest {
        Digest(format!("sha256:{}", hex::encode(Sha256::digest(data))))
    }
}

impl std::fmt::Display for Digest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Hashes and counts every byte read through it.
pub struct HashingReader<R> {
    inner: R,
    hasher: Option<Sha256>,
    count: u64,
}

impl<R: Read> HashingReader<R> {
    pub fn new(inner: R, hash: bool) -> Self {
        HashingReader { inner, hasher: hash.then(Sha256::new), count: 0 }
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    /// The digest of everything read so far (`None` when hashing was off).
    pub fn finish(self) -> (Option<String>, u64) {
        (self.hasher.map(|h| format!("sha256:{}", hex::encode(h.finalize()))), self.count)
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
    fn refuses_traversal_and_other_forms() {
        assert!(Digest::parse("sha256:../../../../etc/passwd").is_err());
        assert!(Digest::parse("sha512:abcd").is_err());
        assert!(Digest::parse(&format!("sha256:{}", "A".repeat(64))).is_err());
        assert!(Digest::parse(&format!("sha256:{}", "a".repeat(64))).is_ok());
    }

    #[test]
    fn hashing_reader_matches_sha256() {
        let mut r = HashingReader::new(&b"hello"[..], true);
        io::copy(&mut r, &mut io::sink()).unwrap();
        let (d, n) = r.finish();
        assert_eq!(n, 5);
        assert_eq!(d.unwrap(), Digest::of_bytes(b"hello").to_string());
    }
}
