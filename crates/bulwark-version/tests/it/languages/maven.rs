//! Maven vectors from apache/maven
//! `compat/maven-artifact/src/test/java/org/apache/maven/artifact/versioning/ComparableVersionTest.java`.

use super::Check;

const VERSIONS_QUALIFIER: &[&str] = &[
    "1-alpha2snapshot",
    "1-alpha2",
    "1-alpha-123",
    "1-beta-2",
    "1-beta123",
    "1-m2",
    "1-m11",
    "1-rc",
    "1-cr2",
    "1-rc123",
    "1-SNAPSHOT",
    "1",
    "1-sp",
    "1-sp2",
    "1-sp123",
    "1-abc",
    "1-def",
    "1-pom-1",
    "1-1-snapshot",
    "1-1",
    "1-2",
    "1-123",
];

const VERSIONS_NUMBER: &[&str] = &[
    "2.0", "2.0.a", "2-1", "2.0.2", "2.0.123", "2.1.0", "2.1-a", "2.1b", "2.1-c", "2.1-1", "2.1.0.1", "2.2", "2.123",
    "11.a2", "11.a11", "11.b2", "11.b11", "11.m2", "11.m11", "11", "11.a", "11b", "11c", "11m",
];

#[test]
fn comparable_version_test() {
    let mut c = Check::new("Maven");
    // testVersionsQualifier, testVersionsNumber
    c.ascending(VERSIONS_QUALIFIER);
    c.ascending(VERSIONS_NUMBER);

    // testVersionsEqual
    for (a, b) in [
        ("1", "1"),
        ("1", "1.0"),
        ("1", "1.0.0"),
        ("1.0", "1.0.0"),
        ("1", "1-0"),
        ("1", "1.0-0"),
        ("1.0", "1.0-0"),
        // no separator between number and character
        ("1a", "1-a"),
        ("1a", "1.0-a"),
        ("1a", "1.0.0-a"),
        ("1.0a", "1-a"),
        ("1.0.0a", "1-a"),
        ("1x", "1-x"),
        ("1x", "1.0-x"),
        ("1x", "1.0.0-x"),
        ("1.0x", "1-x"),
        ("1.0.0x", "1-x"),
        ("1cr", "1rc"),
        // special "aliases" a, b and m for alpha, beta and milestone
        ("1a1", "1-alpha-1"),
        ("1b2", "1-beta-2"),
        ("1m3", "1-milestone-3"),
        // case insensitive
        ("1X", "1x"),
        ("1A", "1a"),
        ("1B", "1b"),
        ("1M", "1m"),
        ("1Cr", "1Rc"),
        ("1cR", "1rC"),
        ("1m3", "1Milestone3"),
        ("1m3", "1MileStone3"),
        ("1m3", "1MILESTONE3"),
    ] {
        c.eq(a, b);
    }
    c.valid("1.0-alpha");

    // testVersionsHaveSameOrderButAreNotEqual (same order is all this scheme exposes)
    for a in
        ["1ga", "1release", "1final", "1Ga", "1GA", "1RELEASE", "1release", "1RELeaSE", "1Final", "1FinaL", "1FINAL"]
    {
        c.eq(a, "1");
    }

    // testVersionComparing
    for (a, b) in [
        ("1", "2"),
        ("1.5", "2"),
        ("1", "2.5"),
        ("1.0", "1.1"),
        ("1.1", "1.2"),
        ("1.0.0", "1.1"),
        ("1.0.1", "1.1"),
        ("1.1", "1.2.0"),
        ("1.0-alpha-1", "1.0"),
        ("1.0-alpha-1", "1.0-alpha-2"),
        ("1.0-alpha-1", "1.0-beta-1"),
        ("1.0-beta-1", "1.0-SNAPSHOT"),
        ("1.0-SNAPSHOT", "1.0"),
        ("1.0-alpha-1-SNAPSHOT", "1.0-alpha-1"),
        ("1.0", "1.0-1"),
        ("1.0-1", "1.0-2"),
        ("1.0.0", "1.0-1"),
        ("2.0-1", "2.0.1"),
        ("2.0.1-klm", "2.0.1-lmn"),
        ("2.0.1", "2.0.1-xyz"),
        ("2.0.1", "2.0.1-123"),
        ("2.0.1-xyz", "2.0.1-123"),
    ] {
        c.lt(a, b);
    }

    // testLeadingZeroes
    c.lt("0.7", "2");
    c.lt("0.2", "1.0.7");

    // testGetCanonical: these parse (canonical forms are not exposed).
    for v in ["0.x", "0-x", "0.rc", "0-1"] {
        c.valid(v);
    }

    // testCompareDigitToLetter
    c.gt("7", "J");
    c.gt("7", "c");

    // testLexicographicOrder
    c.gt("zebra", "aardvark");
    c.gt("ζέβρα", "zebra");

    // testMng5568
    c.lt("6.1.0rc3", "6.1.0");
    c.lt("6.1.0rc3", "6.1H.5-beta");
    c.lt("6.1.0", "6.1H.5-beta");

    // testMng6572
    let (a, b, cc, d) =
        ("20190126.230843", "1234567890.12345", "123456789012345.1H.5-beta", "12345678901234567890.1H.5-beta");
    c.lt(a, b);
    c.lt(b, cc);
    c.lt(a, cc);
    c.lt(cc, d);
    c.lt(b, d);
    c.lt(a, d);

    // testVersionEqualWithLeadingZeroes, testVersionZeroEqualWithLeadingZeroes (lengths 1 to 19)
    let ones: Vec<String> = (1..=19).rev().map(|n| format!("{}1", "0".repeat(n - 1))).collect();
    let zeros: Vec<String> = (1..=19).rev().map(|n| "0".repeat(n)).collect();
    c.all_equal(&ones.iter().map(String::as_str).collect::<Vec<_>>());
    c.all_equal(&zeros.iter().map(String::as_str).collect::<Vec<_>>());

    // testMng6964
    c.lt("1-0.alpha", "1");
    c.lt("1-0.beta", "1");
    c.lt("1-0.alpha", "1-0.beta");

    // testLocaleIndependent
    c.eq("1-abcdefghijklmnopqrstuvwxyz", "1-ABCDEFGHIJKLMNOPQRSTUVWXYZ");

    // testReuse
    c.eq("2", "2");

    // testMng7644
    for x in ["abc", "alpha", "a", "beta", "b", "def", "milestone", "m", "RC"] {
        c.lt(&format!("1.0.0.{x}1"), &format!("1.0.0-{x}2"));
        c.eq(&format!("2-{x}"), &format!("2.0.{x}"));
        c.eq(&format!("2-{x}"), &format!("2.0.0.{x}"));
        c.eq(&format!("2.0.{x}"), &format!("2.0.0.{x}"));
    }

    // testMng7714
    c.lt("1.0.final-redhat", "1.0-sp1-redhat");
    c.lt("1.0.final-redhat", "1.0-sp-1-redhat");
    c.lt("1.0.final-redhat", "1.0-sp.1-redhat");
    c.finish();
}
