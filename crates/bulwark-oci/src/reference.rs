//! Image references as Kubernetes pod specs write them (`nginx`, `ghcr.io/o/app:v1`,
//! `r.example.com:5000/app@sha256:…`), parsed to distribution's reference grammar
//! (`distribution/reference`): the registry is the first path component when it has a `.` or
//! a `:` or is `localhost`, else Docker Hub; a Docker Hub name of one component is under
//! `library/`; no tag and no digest means `latest`.

use crate::digest::shown;
use crate::digest::{Digest, DigestError};
use std::fmt;

/// Docker Hub, as references name it (`docker.io/library/nginx`).
pub const DOCKER_HUB: &str = "docker.io";

/// distribution's limit on a repository name (`NameTotalLengthMax`).
const MAX_NAME: usize = 255;
/// A tag: `[\w][\w.-]{0,127}`.
const MAX_TAG: usize = 128;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReferenceError {
    #[error("image reference {0:?} is empty")]
    Empty(String),
    #[error("image reference {reference:?}: repository name is over {MAX_NAME} characters")]
    NameTooLong { reference: String },
    #[error("image reference {reference:?}: invalid {part} {value:?}")]
    Invalid { reference: String, part: &'static str, value: String },
    #[error("image reference {reference:?}: {source}")]
    Digest { reference: String, source: DigestError },
}

/// A parsed image reference. `registry` and `repository` are normalised (Docker Hub as
/// `docker.io`, `library/` added); `tag` and `digest` are as written (both may be present).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ImageRef {
    pub registry: String,
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<Digest>,
}

impl ImageRef {
    /// Parses `s` as a pod spec's `image` field is read.
    pub fn parse(s: &str) -> Result<ImageRef, ReferenceError> {
        let err = |part: &'static str, value: &str| ReferenceError::Invalid {
            reference: shown(s),
            part,
            value: shown(value),
        };
        if s.is_empty() {
            return Err(ReferenceError::Empty(String::new()));
        }
        let (rest, digest) = match s.split_once('@') {
            Some((r, d)) => {
                (r, Some(Digest::parse(d).map_err(|source| ReferenceError::Digest { reference: shown(s), source })?))
            }
            None => (s, None),
        };
        // The tag is after the last `:` that follows the last `/` (a registry port comes before).
        let (name, tag) = match rest.rfind(':') {
            Some(i) if !rest[i..].contains('/') => (&rest[..i], Some(&rest[i + 1..])),
            _ => (rest, None),
        };
        if let Some(t) = tag {
            let b = t.as_bytes();
            let ok = !b.is_empty()
                && b.len() <= MAX_TAG
                && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
                && b.iter().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'));
            if !ok {
                return Err(err("tag", t));
            }
        }
        if name.is_empty() {
            return Err(ReferenceError::Empty(shown(s)));
        }
        if name.len() > MAX_NAME {
            return Err(ReferenceError::NameTooLong { reference: shown(s) });
        }
        let (registry, path) = match name.split_once('/') {
            Some((first, p)) if first.contains(['.', ':']) || first == "localhost" => (first, p),
            _ => (DOCKER_HUB, name),
        };
        if !valid_registry(registry) {
            return Err(err("registry", registry));
        }
        if !path.split('/').all(valid_component) {
            return Err(err("repository", path));
        }
        let registry = if registry == "index.docker.io" { DOCKER_HUB } else { registry };
        let repository =
            if registry == DOCKER_HUB && !path.contains('/') { format!("library/{path}") } else { path.to_string() };
        Ok(ImageRef { registry: registry.to_string(), repository, tag: tag.map(str::to_string), digest })
    }

    /// `registry/repository`.
    pub fn name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// The tag a runtime pulls: the written one, else `latest` when there is no digest.
    pub fn effective_tag(&self) -> Option<&str> {
        match (&self.tag, &self.digest) {
            (Some(t), _) => Some(t),
            (None, None) => Some("latest"),
            (None, Some(_)) => None,
        }
    }

    /// This reference pinned to `digest`, keeping the tag for people to read
    /// (`r/app:v1@sha256:…`, as Kyverno's mutateDigest writes it).
    pub fn pinned(&self, digest: &Digest) -> ImageRef {
        ImageRef { digest: Some(digest.clone()), ..self.clone() }
    }
}

/// `registry/repository[:tag][@digest]`, normalised.
impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

/// A host name (labels of `[A-Za-z0-9-]`, dots), an IPv6 literal in brackets, and a port.
fn valid_registry(r: &str) -> bool {
    let (host, port) = if let Some(rest) = r.strip_prefix('[') {
        let Some((v6, after)) = rest.split_once(']') else { return false };
        if v6.is_empty() || !v6.bytes().all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.') {
            return false;
        }
        match after {
            "" => (None, None),
            _ => match after.strip_prefix(':') {
                Some(p) => (None, Some(p)),
                None => return false,
            },
        }
    } else {
        match r.rsplit_once(':') {
            Some((h, p)) => (Some(h), Some(p)),
            None => (Some(r), None),
        }
    };
    if let Some(h) = host {
        let ok = !h.is_empty()
            && h.split('.').all(|l| {
                !l.is_empty()
                    && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                    && !l.starts_with('-')
                    && !l.ends_with('-')
            });
        if !ok {
            return false;
        }
    }
    match port {
        Some(p) => !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()),
        None => true,
    }
}

/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`.
fn valid_component(c: &str) -> bool {
    let b = c.as_bytes();
    if b.is_empty() || !b[0].is_ascii_lowercase() && !b[0].is_ascii_digit() {
        return false;
    }
    let alnum = |x: u8| x.is_ascii_lowercase() || x.is_ascii_digit();
    let mut i = 0;
    while i < b.len() {
        if alnum(b[i]) {
            i += 1;
            continue;
        }
        // A separator: `.`, `_`, `__` or dashes, followed by an alphanumeric.
        let start = i;
        match b[i] {
            b'.' => i += 1,
            b'_' => i += if b.get(i + 1) == Some(&b'_') { 2 } else { 1 },
            b'-' => {
                while i < b.len() && b[i] == b'-' {
                    i += 1;
                }
            }
            _ => return false,
        }
        if i == start || i >= b.len() || !alnum(b[i]) {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn p(s: &str) -> ImageRef {
        ImageRef::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn docker_hub_names_are_normalised() {
        let r = p("nginx");
        assert_eq!(
            (r.registry.as_str(), r.repository.as_str(), r.tag.as_deref()),
            ("docker.io", "library/nginx", None)
        );
        assert_eq!(r.effective_tag(), Some("latest"));
        assert_eq!(p("bitnami/redis:7").to_string(), "docker.io/bitnami/redis:7");
        assert_eq!(p("index.docker.io/library/alpine:3.20").to_string(), "docker.io/library/alpine:3.20");
        assert_eq!(p("docker.io/alpine").repository, "library/alpine");
    }

    #[test]
    fn registries_ports_tags_and_digests() {
        let d = format!("sha256:{}", "a".repeat(64));
        let r = p(&format!("localhost:5000/team/app:v1.2@{d}"));
        assert_eq!(r.registry, "localhost:5000");
        assert_eq!(r.repository, "team/app");
        assert_eq!(r.tag.as_deref(), Some("v1.2"));
        assert_eq!(r.digest.as_ref().map(|d| d.to_string()), Some(d.clone()));
        assert_eq!(r.effective_tag(), Some("v1.2"));
        let r = p(&format!("ghcr.io/o/app@{d}"));
        assert_eq!(r.effective_tag(), None);
        assert_eq!(p("127.0.0.1:5000/app").registry, "127.0.0.1:5000");
        assert_eq!(p("[::1]:5000/app:x").registry, "[::1]:5000");
        // A `:` before the last `/` is a port, not a tag.
        assert_eq!(p("r.example.com:443/a/b").tag, None);
        let pinned = p("r.example.com/app:v1").pinned(&Digest::parse(&d).unwrap());
        assert_eq!(pinned.to_string(), format!("r.example.com/app:v1@{d}"));
    }

    #[test]
    fn invalid_references_are_errors_naming_the_part() {
        for (s, part) in [
            ("Nginx", "repository"),
            ("app:", "tag"),
            ("app:-x", "tag"),
            ("r.example.com/a//b", "repository"),
            ("r..example.com/a", "registry"),
            ("r.example.com:99999999/a", "registry"),
            ("a/b-/c", "repository"),
        ] {
            match ImageRef::parse(s) {
                Err(ReferenceError::Invalid { part: got, .. }) => assert_eq!(got, part, "{s}"),
                other => panic!("{s}: {other:?}"),
            }
        }
        assert!(matches!(ImageRef::parse(""), Err(ReferenceError::Empty(_))));
        assert!(matches!(ImageRef::parse("app@sha256:zz"), Err(ReferenceError::Digest { .. })));
        let long = format!("r.example.com/{}", "a".repeat(300));
        assert!(matches!(ImageRef::parse(&long), Err(ReferenceError::NameTooLong { .. })));
        assert!(ImageRef::parse(&format!("app:{}", "t".repeat(129))).is_err());
    }
}
