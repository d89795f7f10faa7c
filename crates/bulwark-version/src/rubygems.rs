//! RubyGems: `Gem::Version`.
//!
//! Valid strings match `ANCHORED_VERSION_PATTERN`
//! (`\A\s*([0-9]+(?>\.[0-9a-zA-Z]+)*(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?)?\s*\z`); blank means `0`.
//! `-` becomes `.pre.`, the string splits into digit runs and letter runs, trailing zeros are
//! dropped from the numeric head and from the text tail separately (`canonical_segments`), and the
//! segments compare pairwise with missing ones as 0: numbers by value, text by bytes, and text
//! below numbers, so any letter makes a pre-release (`1.0.a < 1.0`).

use std::cmp::Ordering;

use crate::decimal::cmp_decimal;
use crate::{VersionError, VersionScheme};

/// RubyGems' `Gem::Version`.
pub struct RubyGems;

const NAME: &str = "rubygems";

#[derive(Debug, PartialEq, Eq)]
enum Segment {
    /// Digits without leading zeros (Ruby's `to_i`); "" is 0.
    Num(String),
    Text(String),
}

impl VersionScheme for RubyGems {
    fn name(&self) -> &'static str {
        NAME
    }

    fn compare(&self, a: &str, b: &str) -> Result<Ordering, VersionError> {
        let sa = canonical_segments(a)?;
        let sb = canonical_segments(b)?;
        Ok(cmp_segments(&sa, &sb))
    }

    fn valid(&self, v: &str) -> bool {
        canonical_segments(v).is_ok()
    }
}

/// Ruby's `\s`: ASCII whitespace only.
fn ruby_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')
}

/// `Gem::Version.correct?`, returning the stripped version text.
fn check(input: &str) -> Result<&str, VersionError> {
    let s = input.trim_matches(|c: char| c.is_ascii() && ruby_space(c as u8));
    let b = s.as_bytes();
    let err = || VersionError::new(NAME, input, "malformed version number string");
    if b.is_empty() {
        return Ok(s);
    }
    let mut i = b.iter().take_while(|c| c.is_ascii_digit()).count();
    if i == 0 {
        return Err(err());
    }
    // `(?>\.[0-9a-zA-Z]+)*`
    while b.get(i) == Some(&b'.') {
        let run = b[i + 1..].iter().take_while(|c| c.is_ascii_alphanumeric()).count();
        if run == 0 {
            return Err(err());
        }
        i += 1 + run;
    }
    // `(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?`
    if b.get(i) == Some(&b'-') {
        loop {
            let run = b[i + 1..].iter().take_while(|c| c.is_ascii_alphanumeric() || **c == b'-').count();
            if run == 0 {
                return Err(err());
            }
            i += 1 + run;
            if b.get(i) != Some(&b'.') {
                break;
            }
        }
    }
    if i != b.len() {
        return Err(err());
    }
    Ok(s)
}

fn canonical_segments(input: &str) -> Result<Vec<Segment>, VersionError> {
    let s = check(input)?;
    let s = if s.is_empty() { "0".to_owned() } else { s.replace('-', ".pre.") };
    // `scan(/[0-9]+|[a-z]+/i)`: maximal digit runs and letter runs.
    let mut segments = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let digit = b[i].is_ascii_digit();
        let len =
            b[i..].iter().take_while(|c| if digit { c.is_ascii_digit() } else { c.is_ascii_alphabetic() }).count();
        if len == 0 {
            i += 1;
            continue;
        }
        let run = &s[i..i + len];
        segments.push(if digit {
            Segment::Num(run.trim_start_matches('0').to_owned())
        } else {
            Segment::Text(run.to_owned())
        });
        i += len;
    }
    // `canonical_segments`: trailing zeros go from the numeric head and from the rest separately.
    let split = segments.iter().position(|s| matches!(s, Segment::Text(_))).unwrap_or(segments.len());
    let tail = segments.split_off(split);
    let mut head = segments;
    let is_zero = |s: &Segment| matches!(s, Segment::Num(n) if n.is_empty());
    while head.last().is_some_and(is_zero) {
        head.pop();
    }
    let mut tail = tail;
    while tail.last().is_some_and(is_zero) {
        tail.pop();
    }
    head.extend(tail);
    Ok(head)
}

fn cmp_segments(a: &[Segment], b: &[Segment]) -> Ordering {
    let zero = Segment::Num(String::new());
    for i in 0..a.len().max(b.len()) {
        let (x, y) = (a.get(i).unwrap_or(&zero), b.get(i).unwrap_or(&zero));
        let ord = match (x, y) {
            (Segment::Num(m), Segment::Num(n)) => cmp_decimal(m, n),
            (Segment::Text(s), Segment::Text(t)) => s.as_bytes().cmp(t.as_bytes()),
            (Segment::Text(_), Segment::Num(_)) => Ordering::Less,
            (Segment::Num(_), Segment::Text(_)) => Ordering::Greater,
        };
        if ord != Ordering::Equal {
            return ord;
        }
    }
    Ordering::Equal
}
