//! RPM version order: `[epoch:]version[-release]`, each part compared with `rpmvercmp()`
//! as in rpm ≥ 4.15 (`rpmio/rpmvercmp.c`, with `~` pre-release and `^` post-release).

use crate::{VersionError, VersionScheme};
use std::cmp::Ordering;

const NAME: &str = "rpm";

/// RPM `[epoch:]version[-release]` (Red Hat, Rocky, Alma, SUSE, openSUSE, Mageia, …).
///
/// Missing epoch is 0, as in rpm. A missing release sorts below any release: rpm's
/// dependency matching instead skips the release when either side lacks one, which is not
/// a total order and would make a fixed-version check ambiguous.
#[derive(Debug, Clone, Copy, Default)]
pub struct Rpm;

/// A parsed `[epoch:]version[-release]` borrowing from its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Evr<'a> {
    /// The epoch digits; `None` when absent (compares as 0).
    pub epoch: Option<&'a str>,
    pub version: &'a str,
    /// `None` when there is no `-release`.
    pub release: Option<&'a str>,
}

impl<'a> Evr<'a> {
    /// Parses an EVR. Version and release may hold only what rpmbuild accepts in them
    /// (ASCII letters, digits and `._+~^`; the macro characters `%{}` never survive a build).
    pub fn parse(input: &'a str) -> Result<Self, VersionError> {
        let bad = |reason: &'static str| VersionError::new(NAME, input, reason);
        let allowed = |s: &str| s.bytes().all(|c| c.is_ascii_alphanumeric() || b"._+~^".contains(&c));

        let (epoch, rest) = match input.split_once(':') {
            Some((e, rest)) => {
                if e.is_empty() || !e.bytes().all(|c| c.is_ascii_digit()) {
                    return Err(bad("epoch is not a number"));
                }
                (Some(e), rest)
            }
            None => (None, input),
        };
        let (version, release) = match rest.split_once('-') {
            Some((v, r)) => (v, Some(r)),
            None => (rest, None),
        };
        if version.is_empty() {
            return Err(bad("version is empty"));
        }
        if release == Some("") {
            return Err(bad("release is empty"));
        }
        if !allowed(version) || !release.is_none_or(allowed) {
            return Err(bad("invalid character (rpm allows letters, digits and ._+~^)"));
        }
        Ok(Evr { epoch, version, release })
    }

    /// Epoch, then version, then release, each with [`rpmvercmp`].
    pub fn compare(&self, other: &Evr<'_>) -> Ordering {
        rpmvercmp(self.epoch.unwrap_or("0"), other.epoch.unwrap_or("0"))
            .then_with(|| rpmvercmp(self.version, other.version))
            .then_with(|| rpmvercmp(self.release.unwrap_or(""), other.release.unwrap_or("")))
    }
}

/// rpm's `rpmvercmp()` on one version or release string, for any input.
///
/// Runs of letters and of digits are compared in turn, anything else separates them;
/// `~` sorts before everything (even the end), `^` after the end but before anything else.
/// Bytes after a NUL are ignored, as the C string would end there.
pub fn rpmvercmp(a: &str, b: &str) -> Ordering {
    let (a, b) = (until_nul(a.as_bytes()), until_nul(b.as_bytes()));
    if a == b {
        return Ordering::Equal;
    }
    // Reading past the end yields 0, standing in for C's terminating NUL.
    let at = |s: &[u8], i: usize| s.get(i).copied().unwrap_or(0);
    let is_sep = |c: u8| c != 0 && !c.is_ascii_alphanumeric() && c != b'~' && c != b'^';
    let (mut one, mut two) = (0usize, 0usize);

    while at(a, one) != 0 || at(b, two) != 0 {
        while is_sep(at(a, one)) {
            one += 1;
        }
        while is_sep(at(b, two)) {
            two += 1;
        }
        let (ca, cb) = (at(a, one), at(b, two));

        if ca == b'~' || cb == b'~' {
            if ca != b'~' {
                return Ordering::Greater;
            }
            if cb != b'~' {
                return Ordering::Less;
            }
            one += 1;
            two += 1;
            continue;
        }
        // Like `~`, except that the end of the other string (the base version) sorts lower.
        if ca == b'^' || cb == b'^' {
            if ca == 0 {
                return Ordering::Less;
            }
            if cb == 0 {
                return Ordering::Greater;
            }
            if ca != b'^' {
                return Ordering::Greater;
            }
            if cb != b'^' {
                return Ordering::Less;
            }
            one += 1;
            two += 1;
            continue;
        }
        if ca == 0 || cb == 0 {
            break;
        }

        let isnum = ca.is_ascii_digit();
        let in_segment = |c: u8| {
            if isnum {
                c.is_ascii_digit()
            } else {
                c.is_ascii_alphabetic()
            }
        };
        let (mut end1, mut end2) = (one, two);
        while in_segment(at(a, end1)) {
            end1 += 1;
        }
        while in_segment(at(b, end2)) {
            end2 += 1;
        }
        // Segments of different types: numeric is newer than alpha.
        if end2 == two {
            return if isnum { Ordering::Greater } else { Ordering::Less };
        }
        let mut seg1 = a.get(one..end1).unwrap_or_default();
        let mut seg2 = b.get(two..end2).unwrap_or_default();
        if isnum {
            // Compare numbers of any length: drop leading zeros, then more digits wins.
            seg1 = strip_zeros(seg1);
            seg2 = strip_zeros(seg2);
            match seg1.len().cmp(&seg2.len()) {
                Ordering::Equal => {}
                unequal => return unequal,
            }
        }
        match seg1.cmp(seg2) {
            Ordering::Equal => {}
            unequal => return unequal,
        }
        one = end1;
        two = end2;
    }

    // All segments equal but separators differed, or one string has more left.
    match (at(a, one), at(b, two)) {
        (0, 0) => Ordering::Equal,
        (0, _) => Ordering::Less,
        _ => Ordering::Greater,
    }
}

/// The C string view of `s`: everything before the first NUL.
fn until_nul(s: &[u8]) -> &[u8] {
    let end = s.iter().position(|&c| c == 0).unwrap_or(s.len());
    s.get(..end).unwrap_or_default()
}

fn strip_zeros(s: &[u8]) -> &[u8] {
    let z = s.iter().take_while(|&&c| c == b'0').count();
    s.get(z..).unwrap_or_default()
}

impl VersionScheme for Rpm {
    fn name(&self) -> &'static str {
        NAME
    }

    fn compare(&self, a: &str, b: &str) -> Result<Ordering, VersionError> {
        Ok(Evr::parse(a)?.compare(&Evr::parse(b)?))
    }

    fn valid(&self, v: &str) -> bool {
        Evr::parse(v).is_ok()
    }
}
