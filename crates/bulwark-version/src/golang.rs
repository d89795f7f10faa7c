//! Go: module versions (golang.org/x/mod/semver) and Go toolchain versions (internal/gover).
//!
//! Module versions are SemVer with a mandatory `v`; OSV's Go data drops it (`1.2.3`), so it is
//! optional here. `+incompatible` is build metadata and pseudo-versions
//! (`v0.0.0-20191109021931-daa7c04131f5`) are ordinary pre-releases, so both need nothing special.
//! `v1` and `v1.2` are x/mod's shorthands for `v1.0.0` and `v1.2.0`.
//!
//! Toolchain versions (`go1.21.3`, `1.21rc2`, `1.21`) follow `internal/gover`: since Go 1.21 the
//! language version `1.21` sorts before `1.21rc1`, which sorts before `1.21.0`; before 1.21 a
//! missing patch means `.0`. A string is read as a toolchain version when it starts with `go`, or
//! has no `v` and is valid gover; everything else is module SemVer. Both kinds map onto one key
//! (`1.21rc2` sorts as `1.21.0-rc.2`, as the Go vulnerability database writes it), so installed
//! `go1.21.3` compares directly with OSV's `1.21.0-rc.2`.

use std::cmp::Ordering;

use crate::decimal::cmp_decimal;
use crate::semver::cmp_prerelease;
use crate::{VersionError, VersionScheme};

/// Go module and toolchain versions.
pub struct Go;

const NAME: &str = "go";

/// Where a version stands among the releases of its `major.minor.patch`.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Stage<'a> {
    /// Toolchain language version (`1.21`): below every pre-release of `1.21.0`.
    Language,
    /// SemVer pre-release identifiers, or a toolchain `rc2` as `["rc", "2"]`.
    Pre(Prerelease<'a>),
    Release,
}

#[derive(Debug, PartialEq, Eq)]
struct Prerelease<'a>(Vec<&'a str>);

impl PartialOrd for Prerelease<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Prerelease<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        cmp_prerelease(&self.0, &other.0)
    }
}

#[derive(Debug)]
struct Key<'a> {
    major: &'a str,
    minor: &'a str,
    patch: &'a str,
    stage: Stage<'a>,
}

impl VersionScheme for Go {
    fn name(&self) -> &'static str {
        NAME
    }

    fn compare(&self, a: &str, b: &str) -> Result<Ordering, VersionError> {
        let ka = parse(a)?;
        let kb = parse(b)?;
        Ok(cmp_decimal(ka.major, kb.major)
            .then_with(|| cmp_decimal(ka.minor, kb.minor))
            .then_with(|| cmp_decimal(ka.patch, kb.patch))
            .then_with(|| ka.stage.cmp(&kb.stage)))
    }

    fn valid(&self, v: &str) -> bool {
        parse(v).is_ok()
    }
}

fn parse(input: &str) -> Result<Key<'_>, VersionError> {
    if let Some(rest) = input.strip_prefix("go") {
        return gover(rest).ok_or_else(|| VersionError::new(NAME, input, "invalid Go toolchain version"));
    }
    if let Some(rest) = input.strip_prefix('v') {
        return module(rest).ok_or_else(|| VersionError::new(NAME, input, "invalid module version"));
    }
    gover(input)
        .or_else(|| module(input))
        .ok_or_else(|| VersionError::new(NAME, input, "neither a module nor a toolchain version"))
}

/// x/mod `parseInt`: a digit run without leading zeros.
fn cut_int(s: &str) -> Option<(&str, &str)> {
    let end = s.bytes().take_while(u8::is_ascii_digit).count();
    if end == 0 || (s.starts_with('0') && end != 1) {
        return None;
    }
    Some(s.split_at(end))
}

/// golang.org/x/mod/semver `parse`, after the `v`.
fn module(s: &str) -> Option<Key<'_>> {
    let (major, rest) = cut_int(s)?;
    if rest.is_empty() {
        return Some(Key { major, minor: "0", patch: "0", stage: Stage::Release });
    }
    let (minor, rest) = cut_int(rest.strip_prefix('.')?)?;
    if rest.is_empty() {
        return Some(Key { major, minor, patch: "0", stage: Stage::Release });
    }
    // Shorthands stop here: `v1.2-pre` and `v1.2+meta` are invalid.
    let (patch, mut rest) = cut_int(rest.strip_prefix('.')?)?;
    let mut stage = Stage::Release;
    if let Some(pre) = rest.strip_prefix('-') {
        let end = pre.find('+').unwrap_or(pre.len());
        let ids: Vec<&str> = pre[..end].split('.').collect();
        let ok = ids.iter().all(|id| {
            !id.is_empty()
                && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                // Numeric identifiers must not have leading zeros.
                && !(id.len() > 1 && id.starts_with('0') && id.bytes().all(|b| b.is_ascii_digit()))
        });
        if !ok {
            return None;
        }
        stage = Stage::Pre(Prerelease(ids));
        rest = &pre[end..];
    }
    if let Some(build) = rest.strip_prefix('+') {
        let ok =
            build.split('.').all(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
        if !ok {
            return None;
        }
        rest = "";
    }
    rest.is_empty().then_some(Key { major, minor, patch, stage })
}

/// Go's `internal/gover.Parse`, without the `go` prefix.
fn gover(s: &str) -> Option<Key<'_>> {
    let (major, rest) = cut_int(s)?;
    if rest.is_empty() {
        return Some(Key { major, minor: "0", patch: "0", stage: Stage::Release });
    }
    let (minor, rest) = cut_int(rest.strip_prefix('.')?)?;
    if rest.is_empty() {
        // Before 1.21 a missing patch is `.0`; from 1.21 on, `1.21` is the language version.
        return Some(if cmp_decimal(minor, "21") == Ordering::Less {
            Key { major, minor, patch: "0", stage: Stage::Release }
        } else {
            Key { major, minor, patch: "0", stage: Stage::Language }
        });
    }
    if let Some(patch) = rest.strip_prefix('.') {
        // gover has no pre-releases of patch releases (`1.21.3rc1` is invalid).
        let (patch, rest) = cut_int(patch)?;
        return rest.is_empty().then_some(Key { major, minor, patch, stage: Stage::Release });
    }
    // Pre-release: lowercase kind (`alpha`, `beta`, `rc`, ...) and an optional number.
    let kind_len = rest.bytes().take_while(|b| !b.is_ascii_digit()).count();
    let (kind, number) = rest.split_at(kind_len);
    if kind.is_empty() || !kind.bytes().all(|b| b.is_ascii_lowercase()) {
        return None;
    }
    let mut ids = vec![kind];
    if !number.is_empty() {
        let (n, tail) = cut_int(number)?;
        if !tail.is_empty() {
            return None;
        }
        ids.push(n);
    }
    // Pre-releases have no patch in gover; they belong before `major.minor.0`.
    Some(Key { major, minor, patch: "0", stage: Stage::Pre(Prerelease(ids)) })
}
