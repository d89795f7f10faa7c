//! SemVer 2.0.0 precedence (npm, crates.io).
//!
//! Parsing follows node-semver's `loose` grammar (`internal/re.js`, `LOOSE`, as released in 7.8.6,
//! which npm runs), a superset of strict SemVer: OSV's npm data carries the registry's own strings,
//! which include `v1.2.3`, `=1.2.3` and `1.2.3beta`. Strict SemVer strings (all of crates.io)
//! parse the same way in either mode.
//!
//! Precedence is the spec's: major, minor, patch numerically; a pre-release sorts before its
//! release; pre-release identifiers compare numerically when both are digits, digits sort before
//! text, text compares in ASCII order, and a longer list wins a tie; build metadata is ignored.
//! One deliberate departure from node-semver: numeric identifiers of 2^53 and up are compared
//! exactly, where JavaScript rounds them to floats.

use std::cmp::Ordering;

use crate::decimal::{all_digits, cmp_decimal};
use crate::{VersionError, VersionScheme};

/// SemVer 2.0.0 with npm's loose spellings accepted.
pub struct SemVer;

const NAME: &str = "semver";

/// node-semver refuses longer input (`MAX_LENGTH`), counted in UTF-16 units before trimming.
const MAX_LENGTH: usize = 256;

/// node-semver refuses a major/minor/patch above `Number.MAX_SAFE_INTEGER`.
const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// A parsed version; fields borrow from the input.
#[derive(Debug)]
struct Parsed<'a> {
    major: &'a str,
    minor: &'a str,
    patch: &'a str,
    pre: Vec<&'a str>,
}

impl VersionScheme for SemVer {
    fn name(&self) -> &'static str {
        NAME
    }

    fn compare(&self, a: &str, b: &str) -> Result<Ordering, VersionError> {
        let pa = parse(a)?;
        let pb = parse(b)?;
        Ok(cmp_parsed(&pa, &pb))
    }

    fn valid(&self, v: &str) -> bool {
        parse(v).is_ok()
    }
}

/// JavaScript's `\s` and `String.prototype.trim` set: Unicode spaces and line terminators plus
/// U+FEFF, but not U+0085, which Rust counts as whitespace.
fn js_space(c: char) -> bool {
    (c.is_whitespace() && c != '\u{85}') || c == '\u{feff}'
}

fn ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-'
}

fn parse(input: &str) -> Result<Parsed<'_>, VersionError> {
    let err = |reason: &'static str| VersionError::new(NAME, input, reason);
    if input.encode_utf16().nth(MAX_LENGTH).is_some() {
        return Err(err("longer than 256 characters"));
    }
    // `[v=\s]*` before the numbers; `trim()` first handles trailing space.
    let s = input.trim_matches(js_space).trim_start_matches(|c: char| c == 'v' || c == '=' || js_space(c));
    let digits_at = |from: usize| s.as_bytes()[from..].iter().take_while(|b| b.is_ascii_digit()).count();
    let major_len = digits_at(0);
    if major_len == 0 || s.as_bytes().get(major_len) != Some(&b'.') {
        return Err(err("expected MAJOR.MINOR.PATCH"));
    }
    let minor_at = major_len + 1;
    let minor_len = digits_at(minor_at);
    if minor_len == 0 || s.as_bytes().get(minor_at + minor_len) != Some(&b'.') {
        return Err(err("expected MAJOR.MINOR.PATCH"));
    }
    let patch_at = minor_at + minor_len + 1;
    let patch_max = digits_at(patch_at);
    // The regex's greedy `(\d+)` for the patch backtracks when the rest does not match, and a
    // pre-release may start with digits and no hyphen: `1.2.34.x` is patch 3, pre-release `4.x`.
    let (patch_len, pre) = (1..=patch_max)
        .rev()
        .find_map(|len| tail(&s[patch_at + len..]).map(|pre| (len, pre)))
        .ok_or_else(|| err("not a SemVer version"))?;
    let parsed = Parsed {
        major: &s[..major_len],
        minor: &s[minor_at..minor_at + minor_len],
        patch: &s[patch_at..patch_at + patch_len],
        pre,
    };
    for n in [parsed.major, parsed.minor, parsed.patch] {
        // At most 16 significant digits can be at or below 2^53-1, so the parse cannot overflow.
        let value = n.trim_start_matches('0');
        if value.len() > 16 || value.parse::<u64>().is_ok_and(|n| n > MAX_SAFE_INTEGER) {
            return Err(err("number above 2^53-1"));
        }
    }
    Ok(parsed)
}

/// What may follow the patch: node-semver `PRERELEASELOOSE` then `BUILD`, i.e.
/// `(?:-?(ID(?:\.ID)*))?(?:\+(B(?:\.B)*))?$`; identifiers are `[0-9A-Za-z-]+`. Returns the
/// pre-release identifiers, or `None` when the text does not match.
fn tail(rest: &str) -> Option<Vec<&str>> {
    let ids = |t: &str| t.split('.').all(|id| !id.is_empty() && id.bytes().all(ident_byte));
    let (pre, build) = match rest.split_once('+') {
        Some((pre, build)) => (pre, Some(build)),
        None => (rest, None),
    };
    if build.is_some_and(|b| !ids(b)) {
        return None;
    }
    if pre.is_empty() {
        return Some(Vec::new());
    }
    // `-?` is greedy: drop a leading hyphen when what follows still parses (`1.2.3-beta`), else
    // keep it as part of the first identifier (`1.2.3-` has pre-release `-`).
    let pre = match pre.strip_prefix('-') {
        Some(after) if ids(after) => after,
        _ if ids(pre) => pre,
        _ => return None,
    };
    Some(pre.split('.').collect())
}

fn cmp_parsed(a: &Parsed<'_>, b: &Parsed<'_>) -> Ordering {
    cmp_decimal(a.major, b.major)
        .then_with(|| cmp_decimal(a.minor, b.minor))
        .then_with(|| cmp_decimal(a.patch, b.patch))
        .then_with(|| match (a.pre.is_empty(), b.pre.is_empty()) {
            (true, true) => Ordering::Equal,
            // A release outranks any of its pre-releases.
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            (false, false) => cmp_prerelease(&a.pre, &b.pre),
        })
}

/// SemVer 2.0.0 §11.4; also used by the Go scheme, whose rules are the same.
pub(crate) fn cmp_prerelease(a: &[&str], b: &[&str]) -> Ordering {
    for (x, y) in a.iter().zip(b) {
        let ord = match (all_digits(x), all_digits(y)) {
            (true, true) => cmp_decimal(x, y),
            (true, false) => Ordering::Less,
            (false, true) => Ordering::Greater,
            (false, false) => x.cmp(y),
        };
        if ord != Ordering::Equal {
            return ord;
        }
    }
    a.len().cmp(&b.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Results of node-semver 7.8.6 `new SemVer(v, { loose: true })`.
    #[test]
    fn loose_forms_parse_like_node_semver() {
        let p = parse("1.2.3beta").unwrap();
        assert_eq!(p.pre, ["beta"]);
        let p = parse("1.2.3-").unwrap();
        assert_eq!(p.pre, ["-"]);
        let p = parse("1.2.3--").unwrap();
        assert_eq!(p.pre, ["-"]);
        let p = parse("1.2.34a").unwrap();
        assert_eq!((p.patch, p.pre.as_slice()), ("34", ["a"].as_slice()));
        let p = parse("1.2.34.x").unwrap();
        assert_eq!((p.patch, p.pre.as_slice()), ("3", ["4", "x"].as_slice()));
        assert!(parse("1.2.3.foo").is_err());
        assert!(parse("1.2.3.4").is_err());
        assert!(parse("1.2.3-a..b").is_err());
        assert!(parse("1.2.3+").is_err());
        assert!(parse("1.2").is_err());
        assert!(parse("9007199254740992.0.0").is_err());
        assert!(parse("9007199254740991.0.0").is_ok());
    }
}
