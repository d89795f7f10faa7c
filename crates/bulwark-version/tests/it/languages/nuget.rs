//! NuGet vectors from NuGet/NuGet.Client `test/NuGet.Core.Tests/NuGet.Versioning.Test/`.

use super::Check;

/// `VersionComparerTests.cs`.
#[test]
fn version_comparer_tests() {
    let mut c = Check::new("NuGet");
    // VersionComparisonDefaultEqual
    for (a, b) in [
        ("1.0.0", "1.0.0"),
        ("1.0.0-BETA", "1.0.0-beta"),
        ("1.0.0-BETA+AA", "1.0.0-beta+aa"),
        ("1.0.0-BETA.X.y.5.77.0+AA", "1.0.0-beta.x.y.5.77.0+aa"),
        ("1.0.0", "1.0.0+beta"),
    ] {
        c.eq(a, b);
    }
    // VersionComparisonDefaultEqualWithNuGetVersion
    for (a, b) in
        [("1.0", "1.0.0.0"), ("1.0+test", "1.0.0.0"), ("1.0.0.1-1.2.A", "1.0.0.1-1.2.a+A"), ("1.0.01", "1.0.1.0")]
    {
        c.eq(a, b);
    }
    // VersionComparisonDefaultNotEqualWithNuGetVersion: not equal; these orders follow.
    c.lt("1.0", "1.0.0.1");
    c.lt("1.0+test", "1.0.0.1");
    c.lt("1.0.0.1-1.2.A", "1.0.0.1-1.2.a.A+A");
    c.lt("1.0.01", "1.0.1.2");
    // (VersionComparisonDefaultNotEqual compares the raw strings with object.Equals, so it states
    // nothing about versions: "1.0.0-BETA+AA" and "1.0.0-beta" are in fact equal. Not transcribed.)
    // VersionComparisonDefaultLess
    for (a, b) in [
        ("0.0.0", "1.0.0"),
        ("1.0.0", "1.1.0"),
        ("1.0.0", "1.0.1"),
        ("1.999.9999", "2.1.1"),
        ("1.0.0-BETA", "1.0.0-beta2"),
        ("1.0.0-beta+AA", "1.0.0+aa"),
        ("1.0.0-BETA", "1.0.0-beta.1+AA"),
        ("1.0.0-BETA.X.y.5.77.0+AA", "1.0.0-beta.x.y.5.79.0+aa"),
        ("1.0.0-BETA.X.y.5.79.0+AA", "1.0.0-beta.x.y.5.790.0+abc"),
    ] {
        c.lt(a, b);
    }
    c.finish();
}

/// `SemanticVersionTests.cs` and `NuGetVersionTest.cs`.
#[test]
fn semantic_and_nuget_version_tests() {
    let mut c = Check::new("NuGet");
    // SemanticVersionTests.ParseSemanticVersionStrict / NuGetVersionTest.NuGetVersionParseStrict
    for v in [
        "1.0.0",
        "0.0.1",
        "1.2.3",
        "1.2.3-alpha",
        "1.2.3-X.yZ.3.234.243.32423423.4.23423.4324.234.234.3242",
        "1.2.3-X.yZ.3.234.243.32423423.4.23423+METADATA",
        "1.2.3-X.y3+0",
        "1.2.3-X+0",
        "1.2.3+0",
        "1.2.3-0",
        "1.2.3-X.y.3+Meta-2",
        "1.2.3-X.yZ.3.234.243.3242342+METADATA",
    ] {
        c.valid(v);
    }
    // SemanticVersionStrictEquality / SemanticVersionStrictEqualityPreRelease
    for v in ["1.2.3", "1.2.3+0", "1.2.3+321", "1.2.3+XYZ"] {
        c.eq("1.2.3", v);
    }
    for v in ["1.2.3-alpha", "1.2.3-alpha+0", "1.2.3-alpha+10", "1.2.3-alpha+beta"] {
        c.eq("1.2.3-alpha", v);
    }
    // SemanticVersionTests.TryParseStrictReturnsFalseIfVersionIsNotStrictSemVer lists strings
    // that the lenient NuGetVersion parser accepts ("2.7", "1.3.4.5", "01.2.3", ...); only the
    // ones invalid in both are transcribed.
    for v in ["1.2.3-A..B", ".2.03", "1.2.", "1.2.3-a$b", "a.b.c", "1.2.3-00", "1.2.3-A.00.B"] {
        c.invalid(v);
    }
    // NuGetVersionTest.ParseThrowsIfStringIsNotAValidSemVer
    for v in [
        "         ",
        "1beta",
        "1.2Av^c",
        "1.2..",
        "1.2.3.4.5",
        "1.2.3.Beta",
        "1.2.3.4This version is full of awesomeness!!",
        "So.is.this",
        "1.34.2Alpha",
        "1.34.2Release Candidate",
        "1.4.7-",
        "1.4.7-*",
        "1.4.7+*",
        "1.4.7-AA.01^",
        "1.4.7-AA.0A^",
        "1.4.7-A^A",
        "1.4.7+AA.01^",
        "1.2147483648",
        "1.1.2147483648",
        "1.1.1.2147483648",
        "1.1.1.1.2147483648",
        "10000000000000000000",
        "1.10000000000000000000",
        "1.1.10000000000000000000",
        "1.1.1.1.10000000000000000000",
        "1..2",
        "....",
        "..1",
        "-1.1.1.1",
        "1.-1.1.1",
        "1.1.-1.1",
        "1.1.1.-1",
        "1.",
        "1.1.",
        "1.1.1.",
        "1.1.1.1.",
        "1.1.1.1.1.",
        "1     1.1.1.1",
        "1.1     1.1.1",
        "1.1.1     1.1",
        "1.1.1.1     1",
        " .1.1.1",
        "1. .1.1",
        "1.1. .1",
        "1.1.1. ",
        "1 .",
        "1.1 .",
        "1.1.1 .",
        "1.1.1.1 .",
        "2147483648.2.3.4",
        "1.2147483648.3.4",
        "1.2.2147483648.4",
        "1.2.3.2147483648",
        "..1.2",
        "-1.2.3.4",
        "1.-2.3.4",
        "1.2.-3.4",
        "1.2.3.-4",
        "   1 9",
        "   19.   1 9",
        "   19.   19.   1 9",
        "   19.   19.   19.   1 9",
        "1 9   ",
        "19   .1 9   ",
        "19   .19   .1 9   ",
        "19   .19   .19   .1 9   ",
        "   1 9   ",
        "   19   .   1 9   ",
        "   19   .   19   .   1 9   ",
        "   19   .   19   .   19   .   1 9   ",
        "",
    ] {
        c.invalid(v);
    }
    // ParseReadsLegacyStyleVersionNumbers, ParseReadsSemverAndHybridSemverVersionNumbers,
    // ParseIgnoresLeadingAndTrailingWhitespace: (input, System.Version, release label)
    c.eq("1.022", "1.22.0.0");
    c.eq("23.2.3", "23.2.3.0");
    c.eq("1.3.42.10133", "1.3.42.10133");
    c.eq("1.022-Beta", "1.22.0.0-Beta");
    c.eq("23.2.3-Alpha", "23.2.3.0-Alpha");
    c.eq("1.3.42.10133-PreRelease", "1.3.42.10133-PreRelease");
    c.eq("1.3.42.200930-RC-2", "1.3.42.200930-RC-2");
    c.eq("  1.022-Beta", "1.22.0.0-Beta");
    c.eq("23.2.3-Alpha  ", "23.2.3.0-Alpha");
    c.eq("    1.3.42.10133-PreRelease  ", "1.3.42.10133-PreRelease");
    // SemVerLessThanAndGreaterThanOperatorsWorks
    for (a, b) in [
        ("1.0", "1.0.1"),
        ("1.23", "1.231"),
        ("1.4.5.6", "1.45.6"),
        ("1.4.5.6", "1.4.5.60"),
        ("1.01", "1.10"),
        ("1.01-alpha", "1.10-beta"),
        ("1.01.0-RC-1", "1.10.0-rc-2"),
        ("1.01-RC-1", "1.01"),
        ("1.01", "1.2-preview"),
    ] {
        c.lt(a, b);
    }
    // EqualsIsTrueForEmptyRevision / SemVerEqualsOperatorWorks
    c.eq("1.0.0.0", "1.0.0");
    for (a, b) in [
        ("1.0", "1.0.0.0"),
        ("1.23.01", "1.23.1"),
        ("1.45.6", "1.45.6.0"),
        ("1.45.6-Alpha", "1.45.6-Alpha"),
        ("1.6.2-BeTa", "1.6.02-beta"),
        ("22.3.07     ", "22.3.07"),
        ("1.0", "1.0.0.0+beta"),
        ("1.0.0.0+beta.2", "1.0.0.0+beta.1"),
    ] {
        c.eq(a, b);
    }
    // ToStringReturnsNormalizedForSemVer2: a version equals its normalized form
    c.eq("1.0+A", "1.0.0");
    c.eq("1.0-1.1", "1.0.0-1.1");
    c.eq("1.0-1.1+B.B", "1.0.0-1.1");
    c.eq("1.0.0009.01-1.1+A", "1.0.9.1-1.1");
    // NuGetVersionKeepsOriginalVersionString: these parse
    for v in ["01.42.0", "01.0", "01.42.0-alpha", "01.42.0-alpha.1", "01.42.0-alpha+metadata", "01.42.0+metadata"] {
        c.valid(v);
    }
    // TryParseStrictParsesStrictVersion
    c.eq("1.3.2-CTP-2-Refresh-Alpha", "1.3.2.0-CTP-2-Refresh-Alpha");
    // TryParseHandlesValidVersionPatterns: (input, major, minor, patch, revision)
    for (v, n) in [
        ("   19", "19.0.0.0"),
        ("   19.   19", "19.19.0.0"),
        ("   19.   19.   19", "19.19.19.0"),
        ("   19.   19.   19.   19", "19.19.19.19"),
        ("19   ", "19.0.0.0"),
        ("19   .19   ", "19.19.0.0"),
        ("19   .19   .19   ", "19.19.19.0"),
        ("19   .19   .19   .19   ", "19.19.19.19"),
        ("   19   ", "19.0.0.0"),
        ("   19   .   19   ", "19.19.0.0"),
        ("   19   .   19   .   19   ", "19.19.19.0"),
        ("   19   .   19   .   19   .   19   ", "19.19.19.19"),
        ("01.1.1.1", "1.1.1.1"),
        ("1.01.1.1", "1.1.1.1"),
        ("1.1.01.1", "1.1.1.1"),
        ("1.1.1.01", "1.1.1.1"),
        ("2147483647.1.1.1", "2147483647.1.1.1"),
        ("1.2147483647.1.1", "1.2147483647.1.1"),
        ("1.1.2147483647.1", "1.1.2147483647.1"),
        ("1.1.1.2147483647", "1.1.1.2147483647"),
    ] {
        c.eq(v, n);
    }
    c.finish();
}

/// `VersionParsingTests.cs` and `SemVer201SpecTests.cs`.
#[test]
fn parsing_and_semver201_spec_tests() {
    let mut c = Check::new("NuGet");
    // VersionParsingTests.VersionLength: all normalize to 2.0.0
    c.all_equal(&["2", "2.0", "2.0.0", "2.0.0.0"]);
    // VersionParsingTests.FullVersionParsing
    for v in [
        "1.0.0-Beta",
        "1.0.0-Beta.2",
        "1.0.0+MetaOnly",
        "1.0.0",
        "1.0.0-Beta+Meta",
        "1.0.0-RC.X+MetaAA",
        "1.0.0-RC.X.35.A.3455+Meta-A-B-C",
    ] {
        c.valid(v);
    }
    // IsPrereleaseParsing: pre-releases sort below the release
    for v in ["1.0.0-Beta", "1.0.0-Beta+Meta", "1.0.0-RC.X+Meta", "1.0.0-RC.X.35.A.3455+Meta"] {
        c.lt(v, "1.0.0");
    }
    c.eq("1.0.0+Metadata", "1.0.0");

    // SemVer201SpecTests: strings valid under the strict parser are valid here too.
    for v in [
        "1.2.3",
        "10.2.3",
        "13234.223.32222",
        "0.1.2",
        "1.0.0",
        "0.0.0",
        "0.1.2-Alpha",
        "0.1.2-Alpha.2.34.5.453.345.345.345.345.A.B.bbbbbbb.Csdfdfdf",
        "0.1.2-Alpha-2-5Bdd",
        "0.1.2--",
        "0.1.2--B-C-",
        "0.1.2--B2.-.C.-A0-",
        "0.1.2+NoReleaseLabel",
        "0.1.2-02A",
        "0.1.2-2.02B",
        "0.1.2-2.A.02-",
        "0.1.2-A02.A",
        "0.1.2+02A",
        "0.1.2+A",
        "0.1.2+20349244.233.344.0",
        "0.1.2+203-49244.23-3.34-4.0-.-.-",
        "0.1.2+AAaaaaAAAaaaa",
        "0.1.2+-",
        "0.1.2+----.-.-.-",
        "0.1.2----+----",
        "0.1.2+02.02-02",
        "0.1.2+02",
        "0.1.2+000000",
        "0.1.2+AA-02A",
        "0.1.2+A.-A-02A",
    ] {
        c.valid(v);
    }
    // Invalid for the lenient parser as well (negative numbers, empty or bad identifiers,
    // numeric leading zeros in labels). The 3-part, leading-zero and inner-space rules
    // ("1.2. 3", "1. 2.3", "1.3 .4") are strict-only: NuGetVersion allows spaces around numbers,
    // as TryParseHandlesValidVersionPatterns shows.
    for v in [
        "X.2.3",
        "1.2.Z",
        "X.Y.Z",
        "-1.2.3",
        "1.-2.3",
        "1.2.-3",
        "0.1.2-Alpha..2",
        "0.1.2-Alpha.",
        "0.1.2-.AA",
        "0.1.2-",
        "0.1.2-alp=ha",
        "0.1.2-alp┐jj",
        "0.1.2-a&444",
        "0.1.2-a.&.444",
        "0.1.2-02",
        "0.1.2-2.02",
        "0.1.2-2.A.02",
        "0.1.2-02.A",
        "0.1.2+ÄÄ",
        "0.1.2+22.2ÄÄ",
        "0.1.2+2+A",
        "0.1.2+02A.",
        "0.1.2+02..A",
        "0.1.2+",
    ] {
        c.invalid(v);
    }
    // SemVerSortVersion, SemVerSortRelease, SemVerSortReleaseNumeric, SemVerSortReleaseAlpha,
    // SemVerSortNumericAlpha, SemVerSortReleaseLabelCount: lower < higher
    for (a, b) in [
        ("1.2.3", "1.2.4"),
        ("1.2.3", "2.0.0"),
        ("9.9.9", "10.1.1"),
        ("1.2.3-alpha", "1.2.3"),
        ("1.2.3-2", "1.2.3-3"),
        ("1.2.3-1.9", "1.2.3-1.50"),
        ("1.2.3-2A", "1.2.3-3A"),
        ("1.2.3-1.50A", "1.2.3-1.9A"),
        ("1.2.3-999999", "1.2.3-Z"),
        ("1.2.3-A.999999", "1.2.3-A.56-2"),
        ("1.2.3-a", "1.2.3-a.2"),
        ("1.2.3-a.2.3.4", "1.2.3-a.2.3.4.5"),
    ] {
        c.lt(a, b);
    }
    c.eq("1.2. 3", "1.2.3");
    c.eq("1. 2.3", "1.2.3");
    c.eq("1.3 .4", "1.3.4");
    // SemVerSortIgnoreReleaseCasing
    c.eq("1.2.3-a", "1.2.3-A");
    c.eq("1.2.3-A-b2-C", "1.2.3-a-B2-c");
    c.finish();
}
