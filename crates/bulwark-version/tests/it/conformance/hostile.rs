//! Hostile input: no string makes a scheme panic, every invalid one is an error naming it,
//! and the answers that exist are consistent (reflexive, antisymmetric).

use bulwark_version::{rpmvercmp, Apk, Dpkg, Rpm, VersionError, VersionScheme};
use std::cmp::Ordering;

const SCHEMES: [&dyn VersionScheme; 3] = [&Dpkg, &Apk, &Rpm];

/// Small deterministic PRNG (xorshift64*), so failures reproduce without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Mostly version-ish bytes, so strings get deep into the parsers, plus arbitrary bytes.
fn random_string(rng: &mut Rng) -> String {
    const VERSIONISH: &[u8] = b"0123456789.-_~^+:abcprgitlphzAZr \t";
    let len = rng.below(24);
    let bytes: Vec<u8> = (0..len)
        .map(|_| if rng.below(8) == 0 { rng.next() as u8 } else { VERSIONISH[rng.below(VERSIONISH.len())] })
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Every invariant checked for one pair; returns a description of what broke.
fn check_pair(s: &dyn VersionScheme, a: &str, b: &str) -> Result<(), String> {
    let ab = s.compare(a, b);
    let ba = s.compare(b, a);
    let (va, vb) = (s.valid(a), s.valid(b));
    match (&ab, va, vb) {
        (Ok(o), true, true) => {
            if ba != Ok(o.reverse()) {
                return Err(format!("{}: {a:?} vs {b:?} not antisymmetric", s.name()));
            }
        }
        (Err(e), false, _) => names(e, a, s)?,
        (Err(e), true, false) => names(e, b, s)?,
        _ => return Err(format!("{}: {a:?} vs {b:?} gave {ab:?} with valid = ({va}, {vb})", s.name())),
    }
    if va && s.compare(a, a) != Ok(Ordering::Equal) {
        return Err(format!("{}: {a:?} not equal to itself", s.name()));
    }
    Ok(())
}

fn names(e: &VersionError, bad: &str, s: &dyn VersionScheme) -> Result<(), String> {
    let shown_ok = if bad.len() <= VersionError::MAX_SHOWN {
        e.version == bad
    } else {
        e.version.ends_with('…') && bad.starts_with(e.version.trim_end_matches('…'))
    };
    if e.scheme != s.name() || !shown_ok {
        return Err(format!("{}: error {e:?} does not name {bad:?}", s.name()));
    }
    Ok(())
}

fn vector_strings() -> Vec<&'static str> {
    let mut v = super::apk::version_strings();
    v.extend(super::dpkg::version_strings());
    v.extend(super::rpm::version_strings());
    v.sort_unstable();
    v.dedup();
    v
}

#[test]
fn random_strings_never_panic_and_stay_consistent() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut failures = Vec::new();
    for _ in 0..20_000 {
        let (a, b) = (random_string(&mut rng), random_string(&mut rng));
        for s in SCHEMES {
            if let Err(f) = check_pair(s, &a, &b) {
                failures.push(f);
            }
        }
        // The raw upstream ports take anything.
        let _ = Apk::compare_unchecked(&a, &b);
        let _ = Apk::compare_fuzzy_unchecked(&a, &b);
        if rpmvercmp(&a, &b) != rpmvercmp(&b, &a).reverse() {
            failures.push(format!("rpmvercmp {a:?} vs {b:?} not antisymmetric"));
        }
    }
    failures.truncate(20);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_prefix_of_every_vector() {
    let strings = vector_strings();
    let mut failures = Vec::new();
    for v in &strings {
        for end in (0..=v.len()).filter(|&i| v.is_char_boundary(i)) {
            let p = &v[..end];
            for s in SCHEMES {
                // Against the full string and against a fixed ordinary version.
                for other in [*v, "1.0"] {
                    if let Err(f) = check_pair(s, p, other) {
                        failures.push(f);
                    }
                }
            }
            let _ = Apk::compare_unchecked(p, v);
            let _ = Apk::compare_fuzzy_unchecked(p, v);
            let _ = rpmvercmp(p, v);
        }
    }
    failures.truncate(20);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn huge_and_odd_inputs() {
    let digits = "9".repeat(1 << 16);
    let dotted = "1.".repeat(1 << 15) + "1";
    let long_bad = "!".repeat(10_000);
    let odd = [
        "",
        "\0",
        "1\0",
        "1.0\u{0}-1",
        "\u{FEFF}1.0",
        "１.０",
        "1.0\r\n",
        "~",
        "^",
        "-",
        ":",
        "_",
        "-r",
        "99999999999999999999999999999999:1",
    ];
    let huge = [digits.as_str(), dotted.as_str(), long_bad.as_str()];
    for s in SCHEMES {
        for a in odd {
            for b in odd {
                if let Err(f) = check_pair(s, a, b) {
                    panic!("{f}");
                }
            }
        }
        // Huge strings against themselves, each other and a few small ones (not all pairs:
        // each compare walks the whole string).
        for a in huge {
            for b in huge.iter().copied().chain(["", "1", "1.0-1"]) {
                if let Err(f) = check_pair(s, a, b) {
                    panic!("{f}");
                }
            }
        }
        let e = s.compare(&long_bad, "1").expect_err("10k '!' is no version");
        assert!(e.version.chars().count() <= VersionError::MAX_SHOWN + 1);
    }
    // Both sides of a huge numeric compare, for the raw ports too.
    let bigger = format!("{digits}9");
    assert_eq!(rpmvercmp(&digits, &bigger), Ordering::Less);
    assert_eq!(Dpkg.compare(&digits, &bigger), Ok(Ordering::Less));
    let _ = Apk::compare_unchecked(&digits, &bigger);
}
