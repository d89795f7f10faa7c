//! Packagist: Composer's order, i.e. `Composer\Semver\VersionParser::normalize` followed by PHP's
//! `version_compare`, as `Composer\Semver\Semver::sort` does.
//!
//! Normalizing strips `v`, aliases (`1.0 as 2.0`), `@stability` flags and `+build`, pads to four
//! numbers and spells the suffix out: `1.0.0-b2` → `1.0.0.0-beta2`, `1.0.0.pl3-dev` →
//! `1.0.0.0-patch3-dev`, `1.x-dev` → `1.9999999.9999999.9999999-dev`; `dev-master`, `dev-trunk` and
//! `dev-default` become `9999999-dev`. `version_compare` then orders
//! `dev < alpha = a < beta = b < RC = rc < (number) < pl = p`, so `-dev < alpha < beta < RC <
//! release < patch`. Other `dev-` branches sort below every numbered version, and two different
//! ones have no order in Composer (all of `<`, `==`, `>` are false), so they are an error here.
//! Strings Composer refuses (`1.0.0-meh`, `1.0.1-SNAPSHOT`, five numbers) are errors.
//!
//! The patterns are Composer's own, compiled byte-wise and ASCII-only as PHP's PCRE runs them
//! without the `u` flag; its possessive quantifiers are written greedy, which matches the same
//! strings here because what follows each of them cannot begin with what they consume.

use std::cmp::Ordering;
use std::sync::LazyLock;

use regex::bytes::Regex;

use crate::{VersionError, VersionScheme};

/// Composer / Packagist.
pub struct Composer;

const NAME: &str = "composer";

impl Composer {
    /// Composer's normal form of a version (`VersionParser::normalize`), e.g. `v1.0.0-b2` →
    /// `1.0.0.0-beta2`; this is what [`VersionScheme::compare`] orders.
    pub fn normalize(&self, v: &str) -> Result<String, VersionError> {
        // Every byte the normal form adds is ASCII and every cut falls on ASCII, so it stays UTF-8.
        String::from_utf8(normalize(v)?).map_err(|_| VersionError::new(NAME, v, "normal form is not UTF-8"))
    }
}

impl VersionScheme for Composer {
    fn name(&self) -> &'static str {
        NAME
    }

    fn compare(&self, a: &str, b: &str) -> Result<Ordering, VersionError> {
        let na = default_branch(normalize(a)?);
        let nb = default_branch(normalize(b)?);
        if na == nb {
            return Ok(Ordering::Equal);
        }
        if na.starts_with(b"dev-") && nb.starts_with(b"dev-") {
            return Err(VersionError::new(NAME, a, "Composer does not order two different dev- branches"));
        }
        Ok(php_version_compare(&na, &nb))
    }

    fn valid(&self, v: &str) -> bool {
        normalize(v).is_ok()
    }
}

struct Patterns {
    alias: Regex,
    stability_flag: Regex,
    build: Regex,
    classical: Regex,
    date: Regex,
    dev_suffix: Regex,
    branch: Regex,
}

/// `VersionParser::$modifierRegex`.
const MODIFIER: &str = r"[._-]?(?:(stable|beta|b|RC|alpha|a|patch|pl|p)((?:[.-]?\d+)*)?)?([.-]?dev)?";

static PATTERNS: LazyLock<Result<Patterns, regex::Error>> = LazyLock::new(|| {
    Ok(Patterns {
        alias: Regex::new(r"(?-u)^([^,\s]+) +as +([^,\s]+)$")?,
        stability_flag: Regex::new(r"(?-u)(?i)@(?:stable|RC|beta|alpha|dev)$")?,
        build: Regex::new(r"(?-u)^([^,\s+]+)\+[^\s]+$")?,
        classical: Regex::new(&format!(r"(?-u)(?i)^v?(\d{{1,5}})(\.\d+)?(\.\d+)?(\.\d+)?{MODIFIER}$"))?,
        // Current composer/semver allows two trailing groups, so CalVer `20230131.0.0` parses.
        date: Regex::new(&format!(
            r"(?-u)(?i)^v?(\d{{4}}(?:[.:-]?\d{{2}}){{1,6}}(?:[.:-]?\d{{1,3}}){{0,2}}){MODIFIER}$"
        ))?,
        dev_suffix: Regex::new(r"(?-u)(?i)(.*?)[.-]?dev$")?,
        branch: Regex::new(r"(?-u)(?i)^v?(\d+)(\.(?:\d+|[xX*]))?(\.(?:\d+|[xX*]))?(\.(?:\d+|[xX*]))?$")?,
    })
});

/// PHP's `trim()` character set.
fn php_trim(s: &[u8]) -> &[u8] {
    let ws = |b: &u8| matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b'\0' | b'\x0b');
    let start = s.iter().position(|b| !ws(b)).unwrap_or(s.len());
    let end = s.iter().rposition(|b| !ws(b)).map_or(start, |i| i + 1);
    &s[start..end]
}

/// `VersionParser::expandStability`.
fn expand_stability(s: &[u8]) -> Vec<u8> {
    let lower = s.to_ascii_lowercase();
    match lower.as_slice() {
        b"a" => b"alpha".to_vec(),
        b"b" => b"beta".to_vec(),
        b"p" | b"pl" => b"patch".to_vec(),
        b"rc" => b"RC".to_vec(),
        _ => lower,
    }
}

/// PHP's `empty()` on a capture: unset, "" and "0" are all empty.
fn non_empty(m: Option<regex::bytes::Match<'_>>) -> Option<&[u8]> {
    m.map(|m| m.as_bytes()).filter(|b| !b.is_empty() && *b != b"0")
}

/// `VersionParser::normalize`.
fn normalize(input: &str) -> Result<Vec<u8>, VersionError> {
    let err = |reason: &'static str| VersionError::new(NAME, input, reason);
    let p = PATTERNS.as_ref().map_err(|_| err("internal error: Composer pattern did not compile"))?;
    let mut version: &[u8] = php_trim(input.as_bytes());

    if let Some(m) = p.alias.captures(version).and_then(|c| c.get(1)) {
        version = m.as_bytes();
    }
    if let Some(m) = p.stability_flag.find(version) {
        version = &version[..m.start()];
    }
    if matches!(version, b"master" | b"trunk" | b"default") {
        return Ok([b"dev-", version].concat());
    }
    if version.len() >= 4 && version[..4].eq_ignore_ascii_case(b"dev-") {
        return Ok([b"dev-", &version[4..]].concat());
    }
    if let Some(m) = p.build.captures(version).and_then(|c| c.get(1)) {
        version = m.as_bytes();
    }

    let (mut out, caps, index) = if let Some(c) = p.classical.captures(version) {
        let mut out = c.get(1).map(|m| m.as_bytes().to_vec()).unwrap_or_default();
        for g in 2..=4 {
            out.extend_from_slice(non_empty(c.get(g)).unwrap_or(b".0"));
        }
        (out, c, 5)
    } else if let Some(c) = p.date.captures(version) {
        // `preg_replace('{\D}', '.', …)`
        let out = c
            .get(1)
            .map(|m| m.as_bytes().iter().map(|&b| if b.is_ascii_digit() { b } else { b'.' }).collect())
            .unwrap_or_default();
        (out, c, 2)
    } else {
        // Numeric branches such as `1.x-dev` or `2.0-dev` (the latter is usually classical).
        if let Some(head) = p.dev_suffix.captures(version).and_then(|c| c.get(1)) {
            if let Some(branch) = normalize_branch(p, head.as_bytes()) {
                return Ok(branch);
            }
        }
        return Err(err("not a Composer version"));
    };

    if let Some(stability) = non_empty(caps.get(index)) {
        // Only the exact lowercase word returns early (PHP compares with `===`).
        if stability == b"stable" {
            return Ok(out);
        }
        out.push(b'-');
        out.extend(expand_stability(stability));
        if let Some(numbers) = caps.get(index + 1).map(|m| m.as_bytes()).filter(|b| !b.is_empty()) {
            let start = numbers.iter().position(|b| *b != b'.' && *b != b'-').unwrap_or(numbers.len());
            out.extend_from_slice(&numbers[start..]);
        }
    }
    if non_empty(caps.get(index + 2)).is_some() {
        out.extend_from_slice(b"-dev");
    }
    Ok(out)
}

/// `VersionParser::normalizeBranch`, keeping only the numeric outcome (`dev-…` is refused by
/// `normalize` for names ending in `-dev`).
fn normalize_branch(p: &Patterns, name: &[u8]) -> Option<Vec<u8>> {
    let c = p.branch.captures(php_trim(name))?;
    let mut out = Vec::new();
    for g in 1..5 {
        match c.get(g) {
            Some(m) => out.extend(m.as_bytes().iter().map(|&b| if b == b'*' || b == b'X' { b'x' } else { b })),
            None => out.extend_from_slice(b".x"),
        }
    }
    let mut expanded = Vec::with_capacity(out.len() + 32);
    for b in out {
        if b == b'x' {
            expanded.extend_from_slice(b"9999999");
        } else {
            expanded.push(b);
        }
    }
    expanded.extend_from_slice(b"-dev");
    Some(expanded)
}

/// `VersionParser::normalizeDefaultBranch`, applied by `Semver::sort`.
fn default_branch(v: Vec<u8>) -> Vec<u8> {
    match v.as_slice() {
        b"dev-master" | b"dev-default" | b"dev-trunk" => b"9999999-dev".to_vec(),
        _ => v,
    }
}

/// `php_canonicalize_version` (ext/standard/versioning.c): `-`, `_`, `+` and other punctuation
/// become `.`, and a `.` goes between digits and non-digits. The first byte is kept as is.
fn canonicalize(v: &[u8]) -> Vec<u8> {
    let Some((&first, rest)) = v.split_first() else { return Vec::new() };
    let is_dig = |b: u8| b.is_ascii_digit();
    let is_ndig = |b: u8| !b.is_ascii_digit() && b != b'.';
    let mut out = Vec::with_capacity(v.len() * 2);
    out.push(first);
    let mut lp = first;
    for &c in rest {
        let dot_needed = out.last() != Some(&b'.');
        if matches!(c, b'-' | b'_' | b'+') {
            if dot_needed {
                out.push(b'.');
            }
        } else if (is_ndig(lp) && is_dig(c)) || (is_dig(lp) && is_ndig(c)) {
            if dot_needed {
                out.push(b'.');
            }
            out.push(c);
        } else if !c.is_ascii_alphanumeric() {
            if dot_needed {
                out.push(b'.');
            }
        } else {
            out.push(c);
        }
        lp = c;
    }
    out
}

/// `compare_special_version_forms`: rank by prefix, unknown text below everything.
fn special_form(part: &[u8]) -> i8 {
    const FORMS: [(&[u8], i8); 10] = [
        (b"dev", 0),
        (b"alpha", 1),
        (b"a", 1),
        (b"beta", 2),
        (b"b", 2),
        (b"RC", 3),
        (b"rc", 3),
        (b"#", 4),
        (b"pl", 5),
        (b"p", 5),
    ];
    FORMS.iter().find(|(name, _)| part.starts_with(name)).map_or(-1, |&(_, rank)| rank)
}

/// C `strtol` on a part that starts with a digit; saturates like it does.
fn strtol(part: &[u8]) -> i64 {
    part.iter()
        .take_while(|b| b.is_ascii_digit())
        .fold(0i64, |n, &d| n.saturating_mul(10).saturating_add(i64::from(d - b'0')))
}

/// Placeholder PHP compares leftover parts against: ranks between RC and pl, like a number.
const NUMBER: &[u8] = b"#N#";

/// `php_version_compare`, step for step. PHP strings reach it as C strings, so a NUL ends them.
fn php_version_compare(v1: &[u8], v2: &[u8]) -> Ordering {
    let cut = |v: &[u8]| v.iter().position(|&b| b == 0).map_or(v.to_vec(), |i| v[..i].to_vec());
    let (mut a, mut b) = (cut(v1), cut(v2));
    // PHP recurses once with the unmatched tail against "#N#"; that call always ends at its first
    // part, because a tail never starts with '#'. The bound only guards that reasoning.
    for _ in 0..4 {
        if a.is_empty() || b.is_empty() {
            return (!a.is_empty()).cmp(&!b.is_empty());
        }
        let ca = if a[0] == b'#' { a.clone() } else { canonicalize(&a) };
        let cb = if b[0] == b'#' { b.clone() } else { canonicalize(&b) };
        let (mut p1, mut p2) = (0, 0);
        let (mut n1, mut n2) = (Some(0), Some(0));
        let mut compare = Ordering::Equal;
        while p1 < ca.len() && p2 < cb.len() && n1.is_some() && n2.is_some() {
            n1 = ca[p1..].iter().position(|&c| c == b'.').map(|i| p1 + i);
            n2 = cb[p2..].iter().position(|&c| c == b'.').map(|i| p2 + i);
            let s1 = &ca[p1..n1.unwrap_or(ca.len())];
            let s2 = &cb[p2..n2.unwrap_or(cb.len())];
            let d1 = s1.first().is_some_and(u8::is_ascii_digit);
            let d2 = s2.first().is_some_and(u8::is_ascii_digit);
            compare = match (d1, d2) {
                (true, true) => strtol(s1).cmp(&strtol(s2)),
                (false, false) => special_form(s1).cmp(&special_form(s2)),
                (true, false) => special_form(NUMBER).cmp(&special_form(s2)),
                (false, true) => special_form(s1).cmp(&special_form(NUMBER)),
            };
            if compare != Ordering::Equal {
                break;
            }
            if let Some(n) = n1 {
                p1 = n + 1;
            }
            if let Some(n) = n2 {
                p2 = n + 1;
            }
        }
        if compare != Ordering::Equal {
            return compare;
        }
        if n1.is_some() {
            if ca.get(p1).is_some_and(u8::is_ascii_digit) {
                return Ordering::Greater;
            }
            (a, b) = (ca[p1.min(ca.len())..].to_vec(), NUMBER.to_vec());
        } else if n2.is_some() {
            if cb.get(p2).is_some_and(u8::is_ascii_digit) {
                return Ordering::Less;
            }
            (a, b) = (NUMBER.to_vec(), cb[p2.min(cb.len())..].to_vec());
        } else {
            return Ordering::Equal;
        }
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_compile() {
        assert!(PATTERNS.is_ok());
    }

    #[test]
    fn version_compare_raw() {
        // php-src ext/standard/tests/versioning/version_compare.phpt, first block.
        assert_eq!(php_version_compare(b"1", b"2"), Ordering::Less);
        assert_eq!(php_version_compare(b"10", b"2"), Ordering::Greater);
        assert_eq!(php_version_compare(b"1.0", b"1.1"), Ordering::Less);
        assert_eq!(php_version_compare(b"1.2", b"1.0.1"), Ordering::Greater);
        // Special forms against each other: "-dev" < a1 < b1 < RC1 = rc1 < "" < pl1.
        let forms = ["-dev", "a1", "b1", "RC1", "rc1", "", "pl1"];
        let rank = [0, 1, 2, 3, 3, 4, 5];
        for (i, f1) in forms.iter().enumerate() {
            for (j, f2) in forms.iter().enumerate() {
                let got = php_version_compare(format!("1.0{f1}").as_bytes(), format!("1.0{f2}").as_bytes());
                assert_eq!(got, rank[i].cmp(&rank[j]), "1.0{f1} vs 1.0{f2}");
            }
        }
    }

    #[test]
    fn normalize_examples() {
        let n = |s: &str| String::from_utf8(normalize(s).unwrap()).unwrap();
        assert_eq!(n("1.0.0RC1dev"), "1.0.0.0-RC1-dev");
        assert_eq!(n("20100102-203040-p1"), "20100102.203040-patch1");
        assert_eq!(n("1.x-dev"), "1.9999999.9999999.9999999-dev");
    }
}
