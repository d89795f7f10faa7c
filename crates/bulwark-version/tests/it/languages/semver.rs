//! SemVer vectors from npm/node-semver `test/fixtures/` and the SemVer 2.0.0 specification.

use super::Check;

/// node-semver `test/fixtures/comparisons.js`: version1 > version2 (loose and strict rows alike).
const COMPARISONS: &[(&str, &str)] = &[
    ("0.0.0", "0.0.0-foo"),
    ("0.0.1", "0.0.0"),
    ("1.0.0", "0.9.9"),
    ("0.10.0", "0.9.0"),
    ("0.99.0", "0.10.0"),
    ("2.0.0", "1.2.3"),
    ("v0.0.0", "0.0.0-foo"),
    ("v0.0.1", "0.0.0"),
    ("v1.0.0", "0.9.9"),
    ("v0.10.0", "0.9.0"),
    ("v0.99.0", "0.10.0"),
    ("v2.0.0", "1.2.3"),
    ("0.0.0", "v0.0.0-foo"),
    ("0.0.1", "v0.0.0"),
    ("1.0.0", "v0.9.9"),
    ("0.10.0", "v0.9.0"),
    ("0.99.0", "v0.10.0"),
    ("2.0.0", "v1.2.3"),
    ("1.2.3", "1.2.3-asdf"),
    ("1.2.3", "1.2.3-4"),
    ("1.2.3", "1.2.3-4-foo"),
    ("1.2.3-5-foo", "1.2.3-5"),
    ("1.2.3-5", "1.2.3-4"),
    ("1.2.3-5-foo", "1.2.3-5-Foo"),
    ("3.0.0", "2.7.2+asdf"),
    ("1.2.3-a.10", "1.2.3-a.5"),
    ("1.2.3-a.b", "1.2.3-a.5"),
    ("1.2.3-a.b", "1.2.3-a"),
    ("1.2.3-a.b.c.10.d.5", "1.2.3-a.b.c.5.d.100"),
    ("1.2.3-r2", "1.2.3-r100"),
    ("1.2.3-r100", "1.2.3-R2"),
];

/// node-semver `test/fixtures/equality.js`: version1 equals version2.
const EQUALITY: &[(&str, &str)] = &[
    ("1.2.3", "v1.2.3"),
    ("1.2.3", "=1.2.3"),
    ("1.2.3", "v 1.2.3"),
    ("1.2.3", "= 1.2.3"),
    ("1.2.3", " v1.2.3"),
    ("1.2.3", " =1.2.3"),
    ("1.2.3", " v 1.2.3"),
    ("1.2.3", " = 1.2.3"),
    ("1.2.3-0", "v1.2.3-0"),
    ("1.2.3-0", "=1.2.3-0"),
    ("1.2.3-0", "v 1.2.3-0"),
    ("1.2.3-0", "= 1.2.3-0"),
    ("1.2.3-0", " v1.2.3-0"),
    ("1.2.3-0", " =1.2.3-0"),
    ("1.2.3-0", " v 1.2.3-0"),
    ("1.2.3-0", " = 1.2.3-0"),
    ("1.2.3-1", "v1.2.3-1"),
    ("1.2.3-1", "=1.2.3-1"),
    ("1.2.3-1", "v 1.2.3-1"),
    ("1.2.3-1", "= 1.2.3-1"),
    ("1.2.3-1", " v1.2.3-1"),
    ("1.2.3-1", " =1.2.3-1"),
    ("1.2.3-1", " v 1.2.3-1"),
    ("1.2.3-1", " = 1.2.3-1"),
    ("1.2.3-beta", "v1.2.3-beta"),
    ("1.2.3-beta", "=1.2.3-beta"),
    ("1.2.3-beta", "v 1.2.3-beta"),
    ("1.2.3-beta", "= 1.2.3-beta"),
    ("1.2.3-beta", " v1.2.3-beta"),
    ("1.2.3-beta", " =1.2.3-beta"),
    ("1.2.3-beta", " v 1.2.3-beta"),
    ("1.2.3-beta", " = 1.2.3-beta"),
    ("1.2.3-beta+build", " = 1.2.3-beta+otherbuild"),
    ("1.2.3+build", " = 1.2.3+otherbuild"),
    ("1.2.3-beta+build", "1.2.3-beta+otherbuild"),
    ("1.2.3+build", "1.2.3+otherbuild"),
    ("  v1.2.3+build", "1.2.3+otherbuild"),
];

/// node-semver `test/fixtures/compare-loose.js`: equal under `loose`.
const COMPARE_LOOSE: &[(&str, &str)] = &[
    ("=1.2.3", "1.2.3"),
    ("01.02.03", "1.2.3"),
    ("1.2.3-beta.01", "1.2.3-beta.1"),
    ("   =1.2.3", "1.2.3"),
    ("1.2.3foo", "1.2.3-foo"),
];

/// node-semver `test/fixtures/valid-versions.js` (the string inputs).
const VALID: &[&str] = &[
    "1.0.0",
    "2.1.0",
    "3.2.1",
    "v1.2.3",
    "1.2.3-0",
    "1.2.3-123",
    "1.2.3-1.2.3",
    "1.2.3-1a",
    "1.2.3-a1",
    "1.2.3-alpha",
    "1.2.3-alpha.1",
    "1.2.3-alpha-1",
    "1.2.3-alpha-.-beta",
    "1.2.3+456",
    "1.2.3+build",
    "1.2.3+new-build",
    "1.2.3+build.1",
    "1.2.3+build.1a",
    "1.2.3+build.a1",
    "1.2.3+build.alpha",
    "1.2.3+build.alpha.beta",
    "1.2.3-alpha+build",
];

#[test]
fn node_semver_fixtures() {
    let mut c = Check::new("npm");
    for (greater, lesser) in COMPARISONS {
        c.gt(greater, lesser);
    }
    for (a, b) in EQUALITY.iter().chain(COMPARE_LOOSE) {
        c.eq(a, b);
    }
    for v in VALID {
        c.valid(v);
    }
    // test/fixtures/invalid-versions.js (string rows): too long, too big, junk.
    let too_long = format!("{}.0.0", "1".repeat(255));
    for v in [
        too_long.as_str(),
        "90071992547409910.0.0",
        "0.90071992547409910.0",
        "0.0.90071992547409910",
        "hello, world",
        "xyz",
    ] {
        c.invalid(v);
    }
    c.finish();
}

/// SemVer 2.0.0 §11 (precedence) and §10 (build metadata), checked through both registrations.
#[test]
fn semver_spec_precedence() {
    for ecosystem in ["npm", "crates.io"] {
        let mut c = Check::new(ecosystem);
        // §11.4 example.
        c.ascending(&[
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha.beta",
            "1.0.0-beta",
            "1.0.0-beta.2",
            "1.0.0-beta.11",
            "1.0.0-rc.1",
            "1.0.0",
        ]);
        // §11.2 example.
        c.ascending(&["1.0.0", "2.0.0", "2.1.0", "2.1.1"]);
        // §10: build metadata does not take part in precedence.
        c.eq("1.0.0+20130313144700", "1.0.0");
        c.eq("1.0.0-beta+exp.sha.5114f85", "1.0.0-beta");
        // Numeric identifiers of any length compare by value.
        c.lt("1.0.0-9007199254740993", "1.0.0-9007199254740994");
        c.finish();
    }
}
