//! Content digests as the OCI image spec defines them (descriptor.md, "Digests"):
//! `algorithm ":" encoded`. Only the registered algorithms Bulwark can verify are accepted,
//! sha256 and sha512, each with exactly its number of lowercase hex digits: a digest also
//! names a file (`blobs/<algorithm>/<hex>`), and only this strict form cannot escape a blob
//! directory.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest as _, Sha256, Sha512};
use std::fmt;
use std::str::FromStr;

/// A digest algorithm Bulwark can verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Algorithm {
    Sha256,
    Sha512,
}

impl Algorithm {
    pub const ALL: [Algorithm; 2] = [Algorithm::Sha256, Algorithm::Sha512];

    /// The identifier before the `:`, also the blob directory name in an OCI layout.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Sha256 => "sha256",
            Algorithm::Sha512 => "sha512",
        }
    }

    /// Length of the encoded part: two hex digits per byte of the hash.
    pub fn hex_len(self) -> usize {
        match self {
            Algorithm::Sha256 => 64,
            Algorithm::Sha512 => 128,
        }
    }

    pub fn hasher(self) -> Hasher {
        Hasher::new(self)
    }

    /// The digest of `data` with this algorithm.
    pub fn digest(self, data: &[u8]) -> Digest {
        let mut h = self.hasher();
        h.update(data);
        h.finish()
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Algorithm {
    type Err = DigestError;

    fn from_str(s: &str) -> Result<Self, DigestError> {
        Algorithm::ALL
            .into_iter()
            .find(|a| a.name() == s)
            .ok_or_else(|| DigestError::Unsupported { digest: shown(s), algorithm: shown(s) })
    }
}

/// Why a string is not a [`Digest`]. The offending text is cut short: input may be hostile.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DigestError {
    /// Not `algorithm:encoded` at all (the spec's grammar).
    #[error("digest {0:?} is not ALGORITHM:ENCODED (e.g. sha256:<64 lowercase hex digits>)")]
    Malformed(String),
    /// Well formed, with an algorithm Bulwark does not verify (blake3, a private one).
    #[error("digest {digest:?}: unsupported algorithm {algorithm:?} (sha256 and sha512 are supported)")]
    Unsupported { digest: String, algorithm: String },
    /// A supported algorithm whose encoded part is not its length of lowercase hex digits.
    #[error("digest {digest:?} is not {algorithm} followed by {} lowercase hex digits", algorithm.hex_len())]
    Encoded { digest: String, algorithm: Algorithm },
}

/// Longest prefix of bad input kept in an error.
const MAX_SHOWN: usize = 160;

pub(crate) fn shown(s: &str) -> String {
    if s.len() <= MAX_SHOWN {
        return s.to_string();
    }
    let mut end = MAX_SHOWN;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// A validated digest, e.g. `sha256:<64 lowercase hex>`. Ordered and compared as its text.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest {
    text: String,
    algorithm: Algorithm,
}

impl Digest {
    /// Parses and validates `s`: the image spec's grammar, a supported algorithm, and exactly
    /// that algorithm's number of lowercase hex digits (the spec requires lowercase for both).
    pub fn parse(s: &str) -> Result<Digest, DigestError> {
        let (alg, encoded) = s.split_once(':').ok_or_else(|| DigestError::Malformed(shown(s)))?;
        // algorithm ::= component (separator component)*; component ::= [a-z0-9]+; separator ::= [+._-]
        let alg_ok = !alg.is_empty()
            && alg
                .split(['+', '.', '_', '-'])
                .all(|c| !c.is_empty() && c.bytes().all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9')));
        // encoded ::= [a-zA-Z0-9=_-]+
        let enc_ok = !encoded.is_empty()
            && encoded.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'=' | b'_' | b'-'));
        if !alg_ok || !enc_ok {
            return Err(DigestError::Malformed(shown(s)));
        }
        let algorithm = Algorithm::ALL
            .into_iter()
            .find(|a| a.name() == alg)
            .ok_or_else(|| DigestError::Unsupported { digest: shown(s), algorithm: shown(alg) })?;
        if encoded.len() != algorithm.hex_len() || !encoded.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(DigestError::Encoded { digest: shown(s), algorithm });
        }
        Ok(Digest { text: s.to_string(), algorithm })
    }

    /// The sha256 digest of `data`, the algorithm everything is written with.
    pub fn of_bytes(data: &[u8]) -> Digest {
        Algorithm::Sha256.digest(data)
    }

    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The encoded part: lowercase hex, as it names a blob file.
    pub fn hex(&self) -> &str {
        &self.text[self.algorithm.name().len() + 1..]
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// A hasher of this digest's algorithm, to check content against it.
    pub fn hasher(&self) -> Hasher {
        self.algorithm.hasher()
    }

    /// True when `data` hashes to this digest.
    pub fn matches(&self, data: &[u8]) -> bool {
        self.algorithm.digest(data) == *self
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({:?})", self.text)
    }
}

impl FromStr for Digest {
    type Err = DigestError;

    fn from_str(s: &str) -> Result<Self, DigestError> {
        Digest::parse(s)
    }
}

impl AsRef<str> for Digest {
    fn as_ref(&self) -> &str {
        &self.text
    }
}

impl Serialize for Digest {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = std::borrow::Cow::<str>::deserialize(d)?;
        Digest::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A streaming hash of one algorithm; also an `io::Write`, so `io::copy` can feed it.
#[derive(Clone)]
pub enum Hasher {
    Sha256(Sha256),
    Sha512(Sha512),
}

impl Hasher {
    pub fn new(algorithm: Algorithm) -> Hasher {
        match algorithm {
            Algorithm::Sha256 => Hasher::Sha256(Sha256::new()),
            Algorithm::Sha512 => Hasher::Sha512(Sha512::new()),
        }
    }

    pub fn algorithm(&self) -> Algorithm {
        match self {
            Hasher::Sha256(_) => Algorithm::Sha256,
            Hasher::Sha512(_) => Algorithm::Sha512,
        }
    }

    pub fn update(&mut self, data: &[u8]) {
        match self {
            Hasher::Sha256(h) => h.update(data),
            Hasher::Sha512(h) => h.update(data),
        }
    }

    pub fn finish(self) -> Digest {
        let (algorithm, hex) = match self {
            Hasher::Sha256(h) => (Algorithm::Sha256, hex::encode(h.finalize())),
            Hasher::Sha512(h) => (Algorithm::Sha512, hex::encode(h.finalize())),
        };
        Digest { text: format!("{algorithm}:{hex}"), algorithm }
    }
}

impl fmt::Debug for Hasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hasher({})", self.algorithm())
    }
}

impl std::io::Write for Hasher {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn accepts_sha256_and_sha512_of_the_right_length() {
        let d = Digest::parse(&format!("sha256:{}", "a".repeat(64))).unwrap();
        assert_eq!((d.algorithm(), d.hex().len()), (Algorithm::Sha256, 64));
        let d: Digest = format!("sha512:{}", "0".repeat(128)).parse().unwrap();
        assert_eq!((d.algorithm(), d.hex()), (Algorithm::Sha512, "0".repeat(128).as_str()));
        assert_eq!(d.to_string(), format!("sha512:{}", "0".repeat(128)));
    }

    #[test]
    fn refuses_traversal_other_forms_and_wrong_lengths() {
        for bad in
            ["sha256:../../../../etc/passwd", "sha256", ":abc", "sha256:", "SHA256:ab", "sha256+:ab", "sha256:a/b"]
        {
            assert!(matches!(Digest::parse(bad), Err(DigestError::Malformed(_))), "{bad}");
        }
        // Grammatical, registered in the spec or not, but not verifiable here.
        for alg in ["blake3", "multihash+base58", "sha384"] {
            let e = Digest::parse(&format!("{alg}:abcd")).unwrap_err();
            assert!(matches!(&e, DigestError::Unsupported { algorithm, .. } if algorithm == alg), "{e}");
        }
        for bad in [
            format!("sha256:{}", "A".repeat(64)),
            format!("sha256:{}", "a".repeat(63)),
            format!("sha256:{}", "a".repeat(128)),
            format!("sha512:{}", "a".repeat(64)),
            format!("sha512:{}", "g".repeat(128)),
        ] {
            assert!(matches!(Digest::parse(&bad), Err(DigestError::Encoded { .. })), "{bad}");
        }
        // A hostile megabyte is cut short in the message.
        let e = Digest::parse(&format!("sha256:{}", "a".repeat(1 << 20))).unwrap_err().to_string();
        assert!(e.len() < 400, "{}", e.len());
    }

    #[test]
    fn hashes_match_known_vectors() {
        assert_eq!(
            Algorithm::Sha256.digest(b"abc").as_str(),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            Algorithm::Sha512.digest(b"abc").as_str(),
            "sha512:ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a\
             2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
        );
        let mut h = Hasher::new(Algorithm::Sha512);
        std::io::copy(&mut &b"abc"[..], &mut h).unwrap();
        let d = h.finish();
        assert!(d.matches(b"abc") && !d.matches(b"abd"));
        assert_eq!(Digest::parse(d.as_str()).unwrap(), d);
    }

    #[test]
    fn serde_is_the_string_and_validates() {
        let d = Digest::of_bytes(b"x");
        let json = serde_json::to_string(&d).unwrap();
        assert_eq!(json, format!("\"{d}\""));
        assert_eq!(serde_json::from_str::<Digest>(&json).unwrap(), d);
        let e = serde_json::from_str::<Digest>("\"sha256:00\"").unwrap_err().to_string();
        assert!(e.contains("64 lowercase hex digits"), "{e}");
    }
}
