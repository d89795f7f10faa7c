//! Image globs as policy-controller's `pkg/apis/glob` matches them, and image references as
//! go-containerregistry's `pkg/name` parses them (weak validation, Docker Hub defaults).
//!
//! The code is the authority, not the docs: a glob is a whole-string regex (`*` is `[^/]*`,
//! `**` is `.*`, `.` literal); only the exact globs `*` and `*/*` are rewritten to their
//! Docker Hub forms; the image is matched in its normalised form (`index.docker.io/library/x:latest`)
//! and, failing that, as written (a deprecated fallback upstream keeps).

use regex::bytes::Regex;
use thiserror::Error;

/// Registry an unqualified image lives in.
pub const DEFAULT_REGISTRY: &str = "index.docker.io";
const DEFAULT_TAG: &str = "latest";
const TAG_CHARS: &str = "abcdefghijklmnopqrstuvwxyz0123456789_-.ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const REPOSITORY_CHARS: &str = "abcdefghijklmnopqrstuvwxyz0123456789_-./";
const DIGEST_CHARS: &str = "sh:0123456789abcdef";
/// Longest glob accepted: real globs are a registry path; a longer one is hostile input.
pub const MAX_GLOB_BYTES: usize = 4096;
/// Compiled-regex budget per glob (the `regex` crate is linear time; this bounds memory).
const REGEX_SIZE_LIMIT: usize = 1 << 20;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum GlobError {
    /// The glob has characters outside `[a-zA-Z0-9-_:/*.@]` (policy-controller's `validGlob`).
    #[error("invalid glob {0:?}")]
    InvalidGlob(String),
    /// The glob is longer than [`MAX_GLOB_BYTES`] or its regex over the size budget.
    #[error("glob {glob:?}: {problem}")]
    Limit { glob: String, problem: String },
    /// The image is not a reference go-containerregistry parses.
    #[error("could not parse reference: {image} ({reason})")]
    BadReference { image: String, reason: String },
}

/// A compiled glob.
#[derive(Clone, Debug)]
pub struct Glob {
    glob: String,
    re: Regex,
}

impl Glob {
    /// policy-controller's `glob.Compile`.
    pub fn compile(glob: &str) -> Result<Glob, GlobError> {
        if glob.len() > MAX_GLOB_BYTES {
            return Err(GlobError::Limit {
                glob: glob.chars().take(64).collect(),
                problem: format!("longer than {MAX_GLOB_BYTES} bytes"),
            });
        }
        let original = glob;
        let glob = match glob {
            "*/*" => "index.docker.io/*/*",
            "*" => "index.docker.io/library/*",
            g => g,
        };
        let valid = !glob.is_empty()
            && glob
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b':' | b'/' | b'*' | b'.' | b'@'));
        if !valid {
            return Err(GlobError::InvalidGlob(glob.to_string()));
        }
        // The same replacements, in the same order, as upstream (`#` cannot occur in a valid
        // glob, so it is a safe placeholder for `**`).
        let re = glob.replace('.', "\\.").replace("**", "#").replace('*', "[^/]*").replace('#', ".*");
        // Bytes without Unicode classes: the glob's literals are ASCII, and neither `/` nor a
        // newline occurs inside a UTF-8 sequence, so matching is the same as over characters,
        // with a far smaller automaton for `[^/]`.
        let re = regex::bytes::RegexBuilder::new(&format!("^{re}$"))
            .unicode(false)
            .size_limit(REGEX_SIZE_LIMIT)
            .build()
            .map_err(|e| GlobError::Limit { glob: original.to_string(), problem: e.to_string() })?;
        Ok(Glob { glob: original.to_string(), re })
    }

    /// The glob as written.
    pub fn as_str(&self) -> &str {
        &self.glob
    }

    /// policy-controller's `glob.Match` with this glob: an image that is not a valid reference
    /// is an error, never a match.
    pub fn matches(&self, image: &str) -> Result<bool, GlobError> {
        let name = parse_reference(image)?.name();
        let mut matched = self.re.is_match(name.as_bytes());
        if !matched && name != image {
            // Upstream's deprecated fallback: the image as written.
            matched = self.re.is_match(image.as_bytes());
        }
        Ok(matched)
    }
}

/// Whether `image` matches `glob`, exactly as policy-controller's `glob.Match`.
pub fn matches(glob: &str, image: &str) -> Result<bool, GlobError> {
    Glob::compile(glob)?.matches(image)
}

/// A parsed image reference: registry, repository (with Docker Hub's `library/` when
/// implicit) and a tag or a digest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reference {
    pub registry: String,
    pub repository: String,
    /// `:tag` or `@sha256:...`
    pub identifier: Identifier,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Identifier {
    Tag(String),
    Digest(String),
}

impl Reference {
    /// The fully qualified name (go-containerregistry's `Reference.Name()`).
    pub fn name(&self) -> String {
        match &self.identifier {
            Identifier::Tag(t) => format!("{}/{}:{}", self.registry, self.repository, t),
            Identifier::Digest(d) => format!("{}/{}@{}", self.registry, self.repository, d),
        }
    }
}

/// `name.ParseReference(image, name.WeakValidation)`: a tag reference, else a digest one.
pub fn parse_reference(image: &str) -> Result<Reference, GlobError> {
    let bad = |reason: String| GlobError::BadReference { image: image.to_string(), reason };
    match new_tag(image, false) {
        Ok(r) => Ok(r),
        Err(tag_err) => new_digest(image).map_err(|e| bad(format!("{tag_err}; {e}"))),
    }
}

fn check_element(what: &str, element: &str, allowed: &str, min: usize, max: usize) -> Result<(), String> {
    let n = element.chars().count();
    if n < min || n > max {
        return Err(format!("{what} must be between {min} and {max} characters in length: {element}"));
    }
    if !element.chars().all(|c| allowed.contains(c)) {
        return Err(format!("{what} can only contain the characters `{allowed}`: {element}"));
    }
    Ok(())
}

fn new_tag(name: &str, strict: bool) -> Result<Reference, String> {
    let mut base = name;
    let mut tag = "";
    // A last `:` segment without `/` is a tag (otherwise it is a registry port).
    if let Some(i) = name.rfind(':') {
        if !name[i + 1..].contains('/') {
            base = &name[..i];
            tag = &name[i + 1..];
        }
    }
    if !tag.is_empty() || strict {
        check_element("tag", tag, TAG_CHARS, 1, 127)?;
    }
    let (registry, repository) = new_repository(base, strict)?;
    let tag = if tag.is_empty() { DEFAULT_TAG } else { tag };
    Ok(Reference { registry, repository, identifier: Identifier::Tag(tag.to_string()) })
}

fn new_digest(name: &str) -> Result<Reference, String> {
    let parts: Vec<&str> = name.split('@').collect();
    let [base, digest] = parts[..] else {
        return Err(format!(
            "a digest must contain exactly one '@' separator (e.g. registry/repository@digest) saw: {name}"
        ));
    };
    check_element("digest", digest, DIGEST_CHARS, 7 + 64, 7 + 64)?;
    // A tag beside the digest is dropped (`repo:tag@sha256:...` names the digest).
    let (registry, repository) = match new_tag(base, false) {
        Ok(t) => (t.registry, t.repository),
        Err(_) => new_repository(base, false)?,
    };
    Ok(Reference { registry, repository, identifier: Identifier::Digest(digest.to_string()) })
}

/// `name.NewRepository`: (registry, repository as named, with `library/` when implicit).
pub(crate) fn new_repository(name: &str, strict: bool) -> Result<(String, String), String> {
    if name.is_empty() {
        return Err("a repository name must be specified".into());
    }
    let (mut registry, mut repo) = ("", name);
    if let Some((first, rest)) = name.split_once('/') {
        // The first component is a registry only if it looks like a host (`.` or `:`).
        if first.contains('.') || first.contains(':') {
            registry = first;
            repo = rest;
        }
    }
    check_element("repository", repo, REPOSITORY_CHARS, 2, 255)?;
    let registry = new_registry(registry, strict)?;
    let implicit = !repo.contains('/') && registry == DEFAULT_REGISTRY;
    if implicit && strict {
        return Err("strict validation requires the full repository path (missing 'library')".into());
    }
    let repo = if implicit {
        let full = format!("library/{repo}");
        check_element("repository", &full, REPOSITORY_CHARS, 2, 255)?;
        full
    } else {
        repo.to_string()
    };
    Ok((registry, repo))
}

/// `name.NewRegistry`: an RFC 3986 authority; empty is Docker Hub; `docker.io` is rewritten.
pub(crate) fn new_registry(name: &str, strict: bool) -> Result<String, String> {
    if strict && name.is_empty() {
        return Err("strict validation requires the registry to be explicitly defined".into());
    }
    if !is_uri_authority(name) {
        return Err(format!("registries must be valid RFC 3986 URI authorities: {name}"));
    }
    Ok(match name {
        "" | "docker.io" => DEFAULT_REGISTRY.to_string(),
        n => n.to_string(),
    })
}

/// Whether Go's `url.Parse("//" + name).Host == name`: no path, query, fragment or user
/// info; a numeric port after the last colon; no character Go refuses in a host.
fn is_uri_authority(name: &str) -> bool {
    if name.bytes().any(|b| b < 0x20 || b == 0x7f || matches!(b, b'/' | b'?' | b'#' | b'@')) {
        return false;
    }
    let host = if let Some(rest) = name.strip_prefix('[') {
        let Some(end) = rest.find(']') else { return false };
        let after = &rest[end + 1..];
        if !after.is_empty() && !valid_optional_port(after) {
            return false;
        }
        return true;
    } else if let Some(i) = name.rfind(':') {
        if !valid_optional_port(&name[i..]) {
            return false;
        }
        &name[..i]
    } else {
        name
    };
    let b = host.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'%' {
            if i + 2 >= b.len() || !b[i + 1].is_ascii_hexdigit() || !b[i + 2].is_ascii_hexdigit() {
                return false;
            }
            i += 3;
            continue;
        }
        let ok = c >= 0x80 || c.is_ascii_alphanumeric() || b"-_.~!$&'()*+,;=:[]<>\"".contains(&c);
        if !ok {
            return false;
        }
        i += 1;
    }
    true
}

/// Go's `validOptionalPort`: empty, or `:` followed by digits only.
fn valid_optional_port(port: &str) -> bool {
    match port.strip_prefix(':') {
        Some(p) => p.bytes().all(|b| b.is_ascii_digit()),
        None => port.is_empty(),
    }
}

/// Go's `filepath.Match(pattern, "")` syntax check (Unix): `\` escapes a character, `[...]`
/// must be a well-formed class. policy-controller runs it before compiling a glob.
pub fn filepath_syntax_ok(pattern: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let mut i = 0;
    while i < p.len() {
        match p[i] {
            '\\' => {
                if i + 1 >= p.len() {
                    return false;
                }
                i += 2;
            }
            '[' => {
                i += 1;
                if p.get(i) == Some(&'^') {
                    i += 1;
                }
                let mut nrange = 0;
                loop {
                    if p.get(i) == Some(&']') && nrange > 0 {
                        i += 1;
                        break;
                    }
                    let Some(lo) = class_char(&p, &mut i) else { return false };
                    if p.get(i) == Some(&'-') {
                        i += 1;
                        let Some(hi) = class_char(&p, &mut i) else { return false };
                        if hi < lo {
                            return false;
                        }
                    }
                    nrange += 1;
                }
            }
            _ => i += 1,
        }
    }
    true
}

/// One character of a class (Go's `getEsc`): not `-` or `]` bare, `\x` escapes.
fn class_char(p: &[char], i: &mut usize) -> Option<char> {
    let c = *p.get(*i)?;
    if c == '-' || c == ']' {
        return None;
    }
    if c == '\\' {
        let e = *p.get(*i + 1)?;
        *i += 2;
        return Some(e);
    }
    *i += 1;
    Some(c)
}
