//! Go vectors from golang/mod `semver/semver_test.go` and golang/go `src/internal/gover/gover_test.go`.

use super::Check;

/// x/mod `semver_test.go` `tests`: (input, canonical form, "" when invalid). The list is in
/// ascending order, and entries with the same canonical form are equal.
const MODULE_TESTS: &[(&str, &str)] = &[
    ("bad", ""),
    ("v1-alpha.beta.gamma", ""),
    ("v1-pre", ""),
    ("v1+meta", ""),
    ("v1-pre+meta", ""),
    ("v1.2-pre", ""),
    ("v1.2+meta", ""),
    ("v1.2-pre+meta", ""),
    ("v1.0.0-alpha", "v1.0.0-alpha"),
    ("v1.0.0-alpha.1", "v1.0.0-alpha.1"),
    ("v1.0.0-alpha.beta", "v1.0.0-alpha.beta"),
    ("v1.0.0-beta", "v1.0.0-beta"),
    ("v1.0.0-beta.2", "v1.0.0-beta.2"),
    ("v1.0.0-beta.11", "v1.0.0-beta.11"),
    ("v1.0.0-rc.1", "v1.0.0-rc.1"),
    ("v1", "v1.0.0"),
    ("v1.0", "v1.0.0"),
    ("v1.0.0", "v1.0.0"),
    ("v1.2", "v1.2.0"),
    ("v1.2.0", "v1.2.0"),
    ("v1.2.3-456", "v1.2.3-456"),
    ("v1.2.3-456.789", "v1.2.3-456.789"),
    ("v1.2.3-456-789", "v1.2.3-456-789"),
    ("v1.2.3-456a", "v1.2.3-456a"),
    ("v1.2.3-pre", "v1.2.3-pre"),
    ("v1.2.3-pre+meta", "v1.2.3-pre"),
    ("v1.2.3-pre.1", "v1.2.3-pre.1"),
    ("v1.2.3-zzz", "v1.2.3-zzz"),
    ("v1.2.3", "v1.2.3"),
    ("v1.2.3+meta", "v1.2.3"),
    ("v1.2.3+meta-pre", "v1.2.3"),
    ("v1.2.3+meta-pre.sha.256a", "v1.2.3"),
];

#[test]
fn x_mod_semver_vectors() {
    let mut c = Check::new("Go");
    // TestCompare: invalid versions are errors here (x/mod sorts them below valid ones).
    for (i, (a, ca)) in MODULE_TESTS.iter().enumerate() {
        if ca.is_empty() {
            c.invalid(a);
            continue;
        }
        for (b, cb) in &MODULE_TESTS[i..] {
            if ca == cb {
                c.eq(a, b);
            } else {
                c.lt(a, b);
            }
        }
    }
    // TestCompare's explicit list.
    c.eq("v1", "v1");
    c.gt("v2", "v1");
    c.lt("v1", "v2");
    // The stored copy of semver_test.go also lists {"v1.19", "v1.2", -1}, matching a stored
    // semver.go whose compareInt compares digits as text. That contradicts SemVer §11.2 ("compared
    // numerically") and Go's own gover vectors (1.5 < 1.10), so the numeric fact is asserted.
    c.gt("v1.19", "v1.2");
    c.finish();
}

/// gover_test.go `compareTests`, minus its rows on invalid strings ("", "x"), which are errors here.
const GOVER_COMPARE: &[(&str, &str, i8)] = &[
    ("1", "1.1", -1),
    ("1.5", "1.6", -1),
    ("1.5", "1.10", -1),
    ("1.6", "1.6.1", -1),
    ("1.19", "1.19.0", 0),
    ("1.19rc1", "1.19", -1),
    ("1.20", "1.20.0", 0),
    ("1.20rc1", "1.20", -1),
    ("1.21", "1.21.0", -1),
    ("1.21", "1.21rc1", -1),
    ("1.21rc1", "1.21.0", -1),
    ("1.6", "1.19", -1),
    ("1.19", "1.19.1", -1),
    ("1.19rc1", "1.19", -1),
    ("1.19rc1", "1.19.1", -1),
    ("1.19rc1", "1.19rc2", -1),
    ("1.19.0", "1.19.1", -1),
    ("1.19rc1", "1.19.0", -1),
    ("1.19alpha3", "1.19beta2", -1),
    ("1.19beta2", "1.19rc1", -1),
    ("1.1", "1.99999999999999998", -1),
    ("1.99999999999999998", "1.99999999999999999", -1),
];

#[test]
fn gover_vectors() {
    let mut c = Check::new("Go");
    for &(a, b, want) in GOVER_COMPARE {
        match want {
            -1 => c.lt(a, b),
            0 => c.eq(a, b),
            _ => c.gt(a, b),
        }
        // The same facts with the `go` prefix of toolchain names.
        match want {
            -1 => c.lt(&format!("go{a}"), &format!("go{b}")),
            0 => c.eq(&format!("go{a}"), &format!("go{b}")),
            _ => c.gt(&format!("go{a}"), &format!("go{b}")),
        }
    }
    // isValidTests.
    for v in [
        "1.2rc3",
        "1.2.3",
        "1.999testmod",
        "1.22",
        "1.21.0",
        "1.21rc2",
        "1.21",
        "1.20.0",
        "1.20",
        "1.19",
        "1.3",
        "1.2",
        "1",
    ] {
        c.valid(v);
    }
    c.invalid("1.600+auto");
    c.finish();
}

/// How the two kinds meet, following the Go vulnerability database's `GoTagToSemver`
/// (golang/vuln `internal/semver`): `go1.21rc2` is `v1.21.0-rc.2`, OSV writes both without `v`.
#[test]
fn toolchain_against_osv_semver() {
    let mut c = Check::new("Go");
    c.eq("go1.21rc2", "1.21.0-rc.2");
    c.eq("go1.21.3", "1.21.3");
    c.eq("go1.20", "1.20.0");
    c.eq("go1", "1.0.0");
    c.lt("go1.21.3", "1.21.4");
    c.lt("1.21.0-rc.2", "go1.21.0");
    c.lt("go1.21", "1.21.0-rc.1");
    // Pseudo-versions are pre-releases of the next patch and order by timestamp.
    c.ascending(&[
        "v0.0.0-20191109021931-daa7c04131f5",
        "v0.0.0-20200101000000-000000000000",
        "v0.0.0",
        "v0.1.0-pre",
        "v0.1.0",
        "v0.1.1-0.20200101000000-abcdefabcdef",
        "v0.1.1",
    ]);
    // +incompatible is build metadata.
    c.eq("v2.0.0+incompatible", "2.0.0");
    c.lt("v2.0.0+incompatible", "v2.0.1+incompatible");
    c.invalid("v01.2.3");
    c.invalid("1.2.3-01");
    c.invalid("go1.21.3rc1");
    c.finish();
}
