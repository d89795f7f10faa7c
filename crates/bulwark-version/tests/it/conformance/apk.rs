//! apk-tools' own vectors, kept verbatim in `tests/vectors/apk-version.data` (see its header).

use bulwark_version::{Apk, VersionScheme};
use std::cmp::Ordering;

pub const DATA: &str = include_str!("../../vectors/apk-version.data");

/// Number of cases in the upstream file (its unit test asserts the same count).
const CASES: usize = 785;

// apk's result bits (apk_version.h); a comparison matches when its result bit is in the mask.
const LESS: u8 = 1;
const EQUAL: u8 = 2;
const GREATER: u8 = 4;
const FUZZY: u8 = 8;

/// `apk_version_result_mask_blob()`.
fn mask(op: &str) -> u8 {
    let mut r = 0;
    for c in op.chars() {
        r |= match c {
            '<' => LESS,
            '>' => GREATER,
            '=' => EQUAL,
            '~' => FUZZY | EQUAL,
            _ => return 0,
        };
    }
    r
}

fn bit(o: Ordering) -> u8 {
    match o {
        Ordering::Less => LESS,
        Ordering::Equal => EQUAL,
        Ordering::Greater => GREATER,
    }
}

pub enum Case<'a> {
    Compare { a: &'a str, op: &'a str, b: &'a str, negate: bool },
    Valid { v: &'a str, negate: bool },
}

/// Parses the data file the way apk-tools' `version_test.c` does.
pub fn cases() -> Vec<(usize, &'static str, Case<'static>)> {
    let mut out = Vec::new();
    for (i, line) in DATA.lines().enumerate() {
        let arg = line.split('#').next().unwrap_or("").trim_end();
        if arg.is_empty() {
            continue;
        }
        let case = match arg.split_once(' ').and_then(|(a, t)| Some((a, t.split_once(' ')?))) {
            Some((a, (op, b))) => {
                let (negate, op) = match op.strip_prefix('!') {
                    Some(op) => (true, op),
                    None => (false, op),
                };
                Case::Compare { a, op, b, negate }
            }
            None => match arg.strip_prefix('!') {
                Some(v) => Case::Valid { v, negate: true },
                None => Case::Valid { v: arg, negate: false },
            },
        };
        out.push((i + 1, arg, case));
    }
    out
}

pub fn version_strings() -> Vec<&'static str> {
    let mut v = Vec::new();
    for (_, _, case) in cases() {
        match case {
            Case::Compare { a, b, .. } => v.extend([a, b]),
            Case::Valid { v: s, .. } => v.push(s),
        }
    }
    v
}

#[test]
fn every_line_of_apk_version_data() {
    let cases = cases();
    assert_eq!(cases.len(), CASES, "case count of apk-version.data");
    let mut failures = Vec::new();
    let (mut ordering, mut fuzzy, mut validity, mut invalid_operand) = (0, 0, 0, 0);

    for (line, text, case) in &cases {
        match *case {
            Case::Compare { a, op, b, negate } => {
                let m = mask(op);
                assert_ne!(m, 0, "line {line}: unknown operator {op:?}");
                // apk_version_match(): fuzzy comparison only for the `~` operators.
                let r = if m & FUZZY != 0 {
                    fuzzy += 1;
                    Apk::compare_fuzzy_unchecked(a, b)
                } else {
                    ordering += 1;
                    Apk::compare_unchecked(a, b)
                };
                if (bit(r) & m != 0) == negate {
                    failures.push(format!("line {line}: {text} (got {r:?})"));
                }
                // apk's order is antisymmetric; fuzzy matching is not an order.
                if m & FUZZY == 0 && Apk::compare_unchecked(b, a) != r.reverse() {
                    failures.push(format!("line {line}: {text} not antisymmetric"));
                }
                // The trait agrees where both are valid, and names the invalid one otherwise.
                match (Apk::validate(a), Apk::validate(b)) {
                    (true, true) if m & FUZZY == 0 => {
                        if Apk.compare(a, b) != Ok(r) {
                            failures.push(format!("line {line}: trait disagrees on {text}"));
                        }
                    }
                    (true, true) => {}
                    (va, _) => {
                        invalid_operand += 1;
                        let bad = if va { b } else { a };
                        match Apk.compare(a, b) {
                            Err(e) if e.version == bad => {}
                            other => failures
                                .push(format!("line {line}: {text}: expected error naming {bad:?}, got {other:?}")),
                        }
                    }
                }
            }
            Case::Valid { v, negate } => {
                validity += 1;
                if Apk::validate(v) == negate || Apk.valid(v) == negate {
                    failures.push(format!("line {line}: validity of {v:?}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{} apk vector(s) failed:\n{}", failures.len(), failures.join("\n"));
    assert_eq!((ordering, fuzzy, validity), (738, 16, 31));
    // `23_foo > 4_beta`, `1.0 < 1.0bc` (both flagged invalid by the file) and the
    // fuzzy line with `3.6.9_post1` twice.
    assert_eq!(invalid_operand, 4);
}

/// The suffix table of `src/version.c` walked end to end, with the tokens around it.
/// Authored from the C logic (not an upstream line): with equal leading tokens, the side
/// whose next token comes earlier in the grammar is newer, except for pre-release suffixes.
#[test]
fn suffix_rank_walk() {
    let chain = [
        "1.0_alpha",
        "1.0_beta",
        "1.0_pre",
        "1.0_rc",
        "1.0",
        "1.0-r1",
        "1.0_cvs",
        "1.0_svn",
        "1.0_git",
        "1.0_hg",
        "1.0_p",
        "1.0a",
        "1.0.1",
    ];
    for w in chain.windows(2) {
        assert_eq!(Apk.compare(w[0], w[1]), Ok(Ordering::Less), "{} < {}", w[0], w[1]);
    }
}
