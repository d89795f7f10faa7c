//! Content digests as the registry accepts them: the image-spec grammar
//! (`algorithm ":" encoded`) with the two registered algorithms, `sha256` (64 lowercase hex)
//! and `sha512` (128 lowercase hex). A well-formed digest of another algorithm is
//! [`DigestError::Unsupported`]; anything else is [`DigestError::Invalid`].
//!
//! A digest becomes a blob path (`blobs/<algorithm>/<hex>`), so only these strict forms are
//! ever constructed: nothing else can name a file outside the blob directories.

use sha2::{Digest as _, Sha256, Sha512};

/// A digest algorithm the registry stores and verifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Algorithm {
    Sha256,
    Sha512,
}

impl Algorithm {
    pub const ALL: [Algorithm; 2] = [Algorithm::Sha256, Algorithm::Sha512];

    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Sha256 => "sha256",
            Algorithm::Sha512 => "sha512",
        }
    }

    /// Length of the encoded (hex) part.
    pub fn hex_len(self) -> usize {
        match self {
            Algorithm::Sha256 => 64,
            Algorithm::Sha512 => 128,
        }
    }

    pub fn hasher(self) -> Hasher {
        match self {
            Algorithm::Sha256 => Hasher::Sha256(Sha256::new()),
            Algorithm::Sha512 => Hasher::Sha512(Box::new(Sha512::new())),
        }
    }

    fn from_name(s: &str) -> Option<Algorithm> {
        Algorithm::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DigestError {
    /// Well-formed, but of an algorithm this registry does not implement.
    #[error("digest {0:?}: unsupported algorithm (sha256 and sha512 are supported)")]
    Unsupported(String),
    #[error("digest {digest:?} is invalid: {why}")]
    Invalid { digest: String, why: String },
}

/// A validated digest (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest {
    algorithm: Algorithm,
    s: String,
}

impl Digest {
    pub fn parse(s: &str) -> Result<Digest, DigestError> {
        let invalid = |why: &str| DigestError::Invalid { digest: s.chars().take(200).collect(), why: why.into() };
        let (alg, enc) = s.split_once(':').ok_or_else(|| invalid("no algorithm prefix (algorithm:hex)"))?;
        // algorithm ::= component (separator component)*; component ::= [a-z0-9]+; separator ::= [+._-]
        let sep = |c: char| matches!(c, '+' | '.' | '_' | '-');
        if alg.is_empty()
            || alg.split(sep).any(|c| c.is_empty() || !c.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()))
        {
            return Err(invalid("malformed algorithm"));
        }
        // encoded ::= [a-zA-Z0-9=_-]+
        if enc.is_empty() || !enc.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'=' || b == b'_' || b == b'-') {
            return Err(invalid("malformed encoded part"));
        }
        let algorithm =
            Algorithm::from_name(alg).ok_or_else(|| DigestError::Unsupported(s.chars().take(200).collect()))?;
        if enc.len() != algorithm.hex_len() || !enc.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            return Err(invalid(&format!("{alg} needs {} lowercase hex digits", algorithm.hex_len())));
        }
        Ok(Digest { algorithm, s: s.to_string() })
    }

    /// The sha256 digest of `data` (the canonical algorithm).
    pub fn of_bytes(data: &[u8]) -> Digest {
        Digest::of_bytes_with(Algorithm::Sha256, data)
    }

    pub fn of_bytes_with(algorithm: Algorithm, data: &[u8]) -> Digest {
        let mut h = algorithm.hasher();
        h.update(data);
        h.finish()
    }

    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    pub fn hex(&self) -> &str {
        &self.s[self.algorithm.as_str().len() + 1..]
    }

    pub fn as_str(&self) -> &str {
        &self.s
    }
}

impl std::fmt::Display for Digest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.s)
    }
}

/// A running hash of one algorithm.
#[derive(Clone)]
pub enum Hasher {
    Sha256(Sha256),
    Sha512(Box<Sha512>),
}

impl Hasher {
    pub fn update(&mut self, data: &[u8]) {
        match self {
            Hasher::Sha256(h) => h.update(data),
            Hasher::Sha512(h) => h.update(data),
        }
    }

    pub fn algorithm(&self) -> Algorithm {
        match self {
            Hasher::Sha256(_) => Algorithm::Sha256,
            Hasher::Sha512(_) => Algorithm::Sha512,
        }
    }

    pub fn finish(self) -> Digest {
        let (algorithm, hex) = match self {
            Hasher::Sha256(h) => (Algorithm::Sha256, hex::encode(h.finalize())),
            Hasher::Sha512(h) => (Algorithm::Sha512, hex::encode(h.finalize())),
        };
        Digest { algorithm, s: format!("{}:{hex}", algorithm.as_str()) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_and_sha512_follow_the_image_spec() {
        let d = Digest::parse(&format!("sha256:{}", "a".repeat(64))).ok();
        assert_eq!(d.as_ref().map(Digest::algorithm), Some(Algorithm::Sha256));
        assert_eq!(d.as_ref().map(Digest::hex), Some("a".repeat(64).as_str()));
        let d = Digest::parse(&format!("sha512:{}", "0".repeat(128))).ok();
        assert_eq!(d.as_ref().map(Digest::algorithm), Some(Algorithm::Sha512));
        assert_eq!(d.as_ref().map(Digest::hex), Some("0".repeat(128).as_str()));
        assert_eq!(
            Digest::of_bytes_with(Algorithm::Sha512, b"").as_str(),
            "sha512:cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"
        );
    }

    #[test]
    fn refuses_bad_and_unknown_digests() {
        for bad in [
            "sha256:../../../../etc/passwd".to_string(),
            format!("sha256:{}", "A".repeat(64)),
            format!("sha256:{}", "a".repeat(63)),
            format!("sha512:{}", "a".repeat(64)),
            format!("sha512:{}", "a".repeat(129)),
            "sha256:baddigeststring".into(),
            "sha256:".into(),
            ":abc".into(),
            "SHA256:abc".into(),
            "sha256".into(),
            "sha+:abc".into(),
            "".into(),
        ] {
            assert!(matches!(Digest::parse(&bad), Err(DigestError::Invalid { .. })), "{bad}");
        }
        for unknown in ["sha384:abcd", "blake3:abcd", "multihash+base58:QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8"]
        {
            assert!(matches!(Digest::parse(unknown), Err(DigestError::Unsupported(_))), "{unknown}");
        }
    }
}
