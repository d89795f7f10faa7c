//! Alpine version order, ported from apk-tools `src/version.c` (the tokenizer with
//! `TOKEN_COMMIT_HASH`, i.e. apk-tools 2.14 / 3.x).
//!
//! Grammar: `digit{.digit}...{letter}{_suffix{digit}}...{~hash}{-r#}`. apk orders two strings
//! token by token and still produces an answer when one of them is invalid; the
//! [`VersionScheme`] impl rejects invalid strings instead, while [`Apk::compare_unchecked`]
//! keeps apk's exact behaviour.

use crate::{VersionError, VersionScheme};
use std::cmp::Ordering;

const NAME: &str = "apk";

/// Alpine's apk version scheme (Alpine, Wolfi, Chainguard).
#[derive(Debug, Clone, Copy, Default)]
pub struct Apk;

impl Apk {
    /// `apk_version_compare()`: orders any two strings exactly as apk does, valid or not.
    pub fn compare_unchecked(a: &str, b: &str) -> Ordering {
        compare(a.as_bytes(), b.as_bytes(), false)
    }

    /// apk's fuzzy comparison behind the `~`, `<~` and `>~` dependency operators: `a` equals
    /// `b` when `b` is a token-wise prefix of it (`3.6.9 ~ 3.6`).
    pub fn compare_fuzzy_unchecked(a: &str, b: &str) -> Ordering {
        compare(a.as_bytes(), b.as_bytes(), true)
    }

    /// `apk_version_validate()`.
    pub fn validate(v: &str) -> bool {
        let mut rest = v.as_bytes();
        let mut t = TokenState::first(&mut rest);
        while t.token < Token::End {
            t.next(&mut rest);
        }
        t.token == Token::End
    }
}

/// Token kinds in apk's order; the order matters: a token may only follow lower ones, and
/// at the end of a comparison the string with the lower pending token is the greater one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Token {
    InitialDigit,
    Digit,
    Letter,
    Suffix,
    SuffixNo,
    CommitHash,
    RevisionNo,
    End,
    Invalid,
}

/// Suffix ranks: pre-release suffixes sort below [`SUFFIX_NONE`], post-release ones above.
const SUFFIX_INVALID: u8 = 0;
const SUFFIX_NONE: u8 = 5;

fn suffix_value(s: &[u8]) -> u8 {
    match s {
        b"alpha" => 1,
        b"beta" => 2,
        b"pre" => 3,
        b"rc" => 4,
        b"cvs" => 6,
        b"svn" => 7,
        b"git" => 8,
        b"hg" => 9,
        b"p" => 10,
        _ => SUFFIX_INVALID,
    }
}

struct TokenState<'a> {
    token: Token,
    suffix: u8,
    /// The token's text: the digit run, the letter, the suffix word or the hash.
    value: &'a [u8],
}

/// Splits off the longest prefix whose bytes satisfy `f` (apk's `apk_blob_spn`).
fn take_while<'a>(rest: &mut &'a [u8], f: impl Fn(u8) -> bool) -> &'a [u8] {
    let n = rest.iter().take_while(|&&c| f(c)).count();
    let (head, tail) = rest.split_at(n);
    *rest = tail;
    head
}

impl<'a> TokenState<'a> {
    fn first(rest: &mut &'a [u8]) -> Self {
        let mut t = TokenState { token: Token::InitialDigit, suffix: SUFFIX_INVALID, value: &[] };
        t.parse_digits(rest);
        t
    }

    fn parse_digits(&mut self, rest: &mut &'a [u8]) {
        self.value = take_while(rest, |c| c.is_ascii_digit());
        if self.value.is_empty() {
            self.token = Token::Invalid;
        }
    }

    /// apk's `token_next()`: classify by the first byte and check the previous token allows it.
    fn next(&mut self, rest: &mut &'a [u8]) {
        let Some(&c) = rest.first() else {
            self.token = Token::End;
            return;
        };
        match c {
            b'a'..=b'z' if self.token <= Token::Digit => {
                let (letter, tail) = rest.split_at(1);
                self.value = letter;
                *rest = tail;
                self.token = Token::Letter;
            }
            b'.' | b'0'..=b'9' => {
                if c == b'.' {
                    if self.token > Token::Digit {
                        self.token = Token::Invalid;
                        return;
                    }
                    *rest = &rest[1..];
                }
                self.token = match self.token {
                    Token::InitialDigit | Token::Digit => Token::Digit,
                    Token::Suffix => Token::SuffixNo,
                    _ => Token::Invalid,
                };
                if self.token != Token::Invalid {
                    self.parse_digits(rest);
                }
            }
            b'_' if self.token <= Token::SuffixNo => {
                *rest = &rest[1..];
                self.value = take_while(rest, |c| c.is_ascii_lowercase());
                self.suffix = suffix_value(self.value);
                self.token = if self.suffix == SUFFIX_INVALID { Token::Invalid } else { Token::Suffix };
            }
            b'~' if self.token < Token::CommitHash => {
                *rest = &rest[1..];
                self.value = take_while(rest, |c| matches!(c, b'0'..=b'9' | b'a'..=b'f'));
                self.token = if self.value.is_empty() { Token::Invalid } else { Token::CommitHash };
            }
            b'-' if self.token < Token::RevisionNo && rest.starts_with(b"-r") => {
                *rest = &rest[2..];
                self.token = Token::RevisionNo;
                self.parse_digits(rest);
            }
            _ => self.token = Token::Invalid,
        }
    }

    /// apk's `apk_blob_pull_uint()`: u64 arithmetic that wraps like the C code, so even
    /// absurdly long numbers order exactly as apk orders them.
    fn number(&self) -> u64 {
        self.value.iter().fold(0u64, |n, &d| n.wrapping_mul(10).wrapping_add(u64::from(d.wrapping_sub(b'0'))))
    }

    /// apk's `token_cmp()`, for two tokens of the same kind.
    fn cmp_same_kind(&self, other: &TokenState<'_>) -> Ordering {
        match self.token {
            // A leading zero switches a dotted part to string order, as Gentoo does
            // (`1.0015 < 1.002`); the initial part is always numeric.
            Token::Digit if self.value.first() == Some(&b'0') || other.value.first() == Some(&b'0') => {
                self.value.cmp(other.value)
            }
            Token::Digit | Token::InitialDigit | Token::SuffixNo | Token::RevisionNo => {
                self.number().cmp(&other.number())
            }
            Token::Letter => self.value.first().cmp(&other.value.first()),
            Token::Suffix => self.suffix.cmp(&other.suffix),
            Token::CommitHash | Token::End | Token::Invalid => self.value.cmp(other.value),
        }
    }
}

/// `apk_version_compare_fuzzy()`.
fn compare(mut a: &[u8], mut b: &[u8], fuzzy: bool) -> Ordering {
    let mut ta = TokenState::first(&mut a);
    let mut tb = TokenState::first(&mut b);
    while ta.token == tb.token && ta.token < Token::End {
        let r = ta.cmp_same_kind(&tb);
        if r != Ordering::Equal {
            return r;
        }
        ta.next(&mut a);
        tb.next(&mut b);
    }

    if ta.token == tb.token || (tb.token == Token::End && fuzzy) {
        return Ordering::Equal;
    }
    // Every token so far is equal: the longer version is newer, unless what it has
    // next is a pre-release suffix.
    if ta.token == Token::Suffix && ta.suffix < SUFFIX_NONE {
        return Ordering::Less;
    }
    if tb.token == Token::Suffix && tb.suffix < SUFFIX_NONE {
        return Ordering::Greater;
    }
    tb.token.cmp(&ta.token)
}

impl VersionScheme for Apk {
    fn name(&self) -> &'static str {
        NAME
    }

    fn compare(&self, a: &str, b: &str) -> Result<Ordering, VersionError> {
        for v in [a, b] {
            if !Apk::validate(v) {
                return Err(VersionError::new(NAME, v, "not an apk version"));
            }
        }
        Ok(compare(a.as_bytes(), b.as_bytes(), false))
    }

    fn valid(&self, v: &str) -> bool {
        Apk::validate(v)
    }
}
