//! Debian version order (Debian policy §5.6.12), as dpkg implements it.
//!
//! Parsing follows `parseversion()` in dpkg's `lib/dpkg/parsehelp.c` and comparison follows
//! `verrevcmp()` / `dpkg_version_compare()` in `lib/dpkg/version.c`. dpkg downgrades a few
//! syntax problems (upstream not starting with a digit, stray characters) to warnings in lax
//! mode; `parseversion()` still returns failure for them, and so do we.

use crate::{VersionError, VersionScheme};
use std::cmp::Ordering;

const NAME: &str = "dpkg";

/// Debian `[epoch:]upstream[-revision]`, used by Debian and Ubuntu.
#[derive(Debug, Clone, Copy, Default)]
pub struct Dpkg;

/// A parsed Debian version borrowing from its input.
///
/// Equality of this struct is structural (`1.0` and `1.00` differ); use
/// [`DebVersion::compare`] for version equality.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DebVersion<'a> {
    pub epoch: u32,
    pub upstream: &'a str,
    /// Empty when the version has no `-revision`.
    pub revision: &'a str,
}

impl<'a> DebVersion<'a> {
    /// Parses like dpkg's `parseversion()`: blanks around the version are ignored, anything
    /// dpkg reports (error or warning) is rejected.
    pub fn parse(input: &'a str) -> Result<Self, VersionError> {
        let bad = |reason: &'static str| VersionError::new(NAME, input, reason);
        let is_blank = |c: char| c == ' ' || c == '\t';

        let s = input.trim_matches(is_blank);
        if s.is_empty() {
            return Err(bad("version string is empty"));
        }
        if s.contains(is_blank) {
            return Err(bad("version string has embedded spaces"));
        }

        // The epoch ends at the first colon; later colons belong to the upstream version.
        let (epoch, rest) = match s.split_once(':') {
            Some((e, rest)) => {
                if e.is_empty() {
                    return Err(bad("epoch in version is empty"));
                }
                // dpkg uses strtol, which would also take a sign or leading whitespace;
                // a real epoch is plain digits, so accept only those.
                if !e.bytes().all(|c| c.is_ascii_digit()) {
                    return Err(bad("epoch in version is not number"));
                }
                // dpkg stores the epoch in an int and refuses anything above INT_MAX.
                let epoch = e
                    .parse::<u32>()
                    .ok()
                    .filter(|&n| n <= i32::MAX as u32)
                    .ok_or_else(|| bad("epoch in version is too big"))?;
                if rest.is_empty() {
                    return Err(bad("nothing after colon in version number"));
                }
                (epoch, rest)
            }
            None => (0, s),
        };

        // The revision starts after the last hyphen; earlier hyphens belong to upstream.
        let (upstream, revision) = match rest.rsplit_once('-') {
            Some((_, "")) => return Err(bad("revision number is empty")),
            Some((u, r)) => (u, r),
            None => (rest, ""),
        };

        match upstream.bytes().next() {
            None => return Err(bad("version number is empty")),
            Some(c) if !c.is_ascii_digit() => return Err(bad("version number does not start with digit")),
            Some(_) => {}
        }
        if !upstream.bytes().all(|c| c.is_ascii_alphanumeric() || b".-+~:".contains(&c)) {
            return Err(bad("invalid character in version number"));
        }
        if !revision.bytes().all(|c| c.is_ascii_alphanumeric() || b".+~".contains(&c)) {
            return Err(bad("invalid character in revision number"));
        }

        Ok(DebVersion { epoch, upstream, revision })
    }

    /// `dpkg_version_compare()`: epoch, then upstream, then revision.
    pub fn compare(&self, other: &DebVersion<'_>) -> Ordering {
        self.epoch
            .cmp(&other.epoch)
            .then_with(|| verrevcmp(self.upstream.as_bytes(), other.upstream.as_bytes()))
            .then_with(|| verrevcmp(self.revision.as_bytes(), other.revision.as_bytes()))
    }
}

/// Weight of a character in the non-digit parts: `~` sorts before the end of the part,
/// letters before everything else, and the end of the part (0) ties with a digit.
fn order(c: u8) -> i32 {
    match c {
        0 => 0,
        b'0'..=b'9' => 0,
        b'a'..=b'z' | b'A'..=b'Z' => i32::from(c),
        b'~' => -1,
        _ => i32::from(c) + 256,
    }
}

/// dpkg's `verrevcmp()`: alternating non-digit and digit runs. Reading past the end yields 0,
/// standing in for C's terminating NUL, so the loops below mirror the C pointer walks.
fn verrevcmp(a: &[u8], b: &[u8]) -> Ordering {
    let at = |s: &[u8], i: usize| s.get(i).copied().unwrap_or(0);
    let (mut i, mut j) = (0, 0);

    while at(a, i) != 0 || at(b, j) != 0 {
        let mut first_diff = 0i32;

        while (at(a, i) != 0 && !at(a, i).is_ascii_digit()) || (at(b, j) != 0 && !at(b, j).is_ascii_digit()) {
            let (ac, bc) = (order(at(a, i)), order(at(b, j)));
            if ac != bc {
                return ac.cmp(&bc);
            }
            i += 1;
            j += 1;
        }
        while at(a, i) == b'0' {
            i += 1;
        }
        while at(b, j) == b'0' {
            j += 1;
        }
        while at(a, i).is_ascii_digit() && at(b, j).is_ascii_digit() {
            if first_diff == 0 {
                first_diff = i32::from(at(a, i)) - i32::from(at(b, j));
            }
            i += 1;
            j += 1;
        }
        if at(a, i).is_ascii_digit() {
            return Ordering::Greater;
        }
        if at(b, j).is_ascii_digit() {
            return Ordering::Less;
        }
        if first_diff != 0 {
            return first_diff.cmp(&0);
        }
    }
    Ordering::Equal
}

impl VersionScheme for Dpkg {
    fn name(&self) -> &'static str {
        NAME
    }

    fn compare(&self, a: &str, b: &str) -> Result<Ordering, VersionError> {
        Ok(DebVersion::parse(a)?.compare(&DebVersion::parse(b)?))
    }

    fn valid(&self, v: &str) -> bool {
        DebVersion::parse(v).is_ok()
    }
}
