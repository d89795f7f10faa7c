//! NuGet: `NuGetVersion` under `VersionComparer.Default`.
//!
//! Parsing follows `NuGetVersion.TryParse` (the lenient one NuGet applies to package versions): the
//! string is trimmed, split at the first `-` or `+` into a `System.Version` part (1 to 4 numbers up
//! to 2^31-1, missing ones 0, spaces around each allowed), dot-separated release labels of
//! `[0-9A-Za-z-]` without numeric leading zeros, and `+` metadata. Comparison: the four numbers,
//! then a release sorts after any pre-release, then labels pairwise: both numeric (as .NET's
//! `Int32.TryParse` sees them) by value, numeric before text, text case-insensitively, fewer
//! labels first. Metadata is ignored.

use std::cmp::Ordering;

use crate::{VersionError, VersionScheme};

/// NuGet's `NuGetVersion`.
pub struct NuGet;

const NAME: &str = "nuget";

#[derive(Debug)]
struct Parsed<'a> {
    numbers: [u32; 4],
    labels: Option<Vec<&'a str>>,
}

impl VersionScheme for NuGet {
    fn name(&self) -> &'static str {
        NAME
    }

    fn compare(&self, a: &str, b: &str) -> Result<Ordering, VersionError> {
        let pa = parse(a)?;
        let pb = parse(b)?;
        Ok(pa.numbers.cmp(&pb.numbers).then_with(|| match (&pa.labels, &pb.labels) {
            (None, None) => Ordering::Equal,
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some(x), Some(y)) => cmp_labels(x, y),
        }))
    }

    fn valid(&self, v: &str) -> bool {
        parse(v).is_ok()
    }
}

/// Whitespace `Int32.TryParse` skips around a number (`NumberStyles.Integer`).
fn dotnet_space(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\x0b' | '\x0c' | '\r' | ' ')
}

/// `IsValidPart`: non-empty `[0-9A-Za-z-]`, and unless allowed, no all-digit part with a leading zero.
fn valid_part(s: &str, allow_leading_zeros: bool) -> bool {
    !s.is_empty()
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && (allow_leading_zeros || !(s.len() > 1 && s.starts_with('0') && s.bytes().all(|b| b.is_ascii_digit())))
}

fn parse(input: &str) -> Result<Parsed<'_>, VersionError> {
    let err = |reason: &'static str| VersionError::new(NAME, input, reason);
    let s = input.trim();
    // `ParseSections`: version up to the first `-` or `+`; labels up to the next `+`; the rest is
    // metadata. A separator as the very last character stays in the section before it, which then
    // fails validation (`1.0.0-` and `1.0.0+` are invalid).
    let cut = |s: &str, stop: &[char]| match s.find(stop) {
        Some(i) if i + 1 < s.len() => (i, true),
        _ => (s.len(), false),
    };
    let (end, found) = cut(s, &['-', '+']);
    let version = &s[..end];
    let (mut labels, mut metadata) = (None, None);
    if found {
        let rest = &s[end + 1..];
        if s.as_bytes()[end] == b'+' {
            metadata = Some(rest);
        } else {
            let (lend, lfound) = cut(rest, &['+']);
            labels = Some(&rest[..lend]);
            if lfound {
                metadata = Some(&rest[lend + 1..]);
            }
        }
    }
    if version.is_empty() {
        return Err(err("missing version number"));
    }
    // `System.Version.TryParse` wants 2 to 4 parts; NuGet appends `.0` to a bare number.
    let parts: Vec<&str> = version.split('.').collect();
    if parts.len() > 4 {
        return Err(err("more than four version numbers"));
    }
    let mut numbers = [0u32; 4];
    for (slot, part) in numbers.iter_mut().zip(&parts) {
        let digits = part.trim_matches(dotnet_space);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err("version numbers must be digits"));
        }
        *slot = digits
            .parse::<u64>()
            .ok()
            .and_then(|n| u32::try_from(n).ok())
            .filter(|&n| n <= i32::MAX as u32)
            .ok_or_else(|| err("version number above 2147483647"))?;
    }
    let labels = match labels {
        Some(l) => {
            let parts: Vec<&str> = l.split('.').collect();
            if !parts.iter().all(|p| valid_part(p, false)) {
                return Err(err("invalid release label"));
            }
            Some(parts)
        }
        None => None,
    };
    if let Some(m) = metadata {
        if !m.split('.').all(|p| valid_part(p, true)) {
            return Err(err("invalid metadata"));
        }
    }
    Ok(Parsed { numbers, labels })
}

/// `Int32.TryParse` on a label: labels may hold `-`, so `-1` is the number -1.
fn label_number(s: &str) -> Option<i64> {
    let digits = s.strip_prefix('-').unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let trimmed = digits.trim_start_matches('0');
    if trimmed.len() > 10 {
        return None;
    }
    let n: i64 = if trimmed.is_empty() { 0 } else { trimmed.parse().ok()? };
    let n = if s.starts_with('-') { -n } else { n };
    (i64::from(i32::MIN)..=i64::from(i32::MAX)).contains(&n).then_some(n)
}

fn cmp_labels(a: &[&str], b: &[&str]) -> Ordering {
    for (x, y) in a.iter().zip(b) {
        let ord = match (label_number(x), label_number(y)) {
            (Some(m), Some(n)) => m.cmp(&n),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            // `StringComparer.OrdinalIgnoreCase` on ASCII.
            (None, None) => x.bytes().map(|c| c.to_ascii_uppercase()).cmp(y.bytes().map(|c| c.to_ascii_uppercase())),
        };
        if ord != Ordering::Equal {
            return ord;
        }
    }
    a.len().cmp(&b.len())
}
