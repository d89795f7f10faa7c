//! Packagist vectors from composer/semver `tests/VersionParserTest.php`, `tests/ComparatorTest.php`,
//! `tests/SemverTest.php`, and php-src `ext/standard/tests/versioning/version_compare.phpt`.

use bulwark_version::Composer;

use super::Check;

/// VersionParserTest `successfulNormalizedVersions`: (input, normalized).
const NORMALIZED: &[(&str, &str)] = &[
    ("1.0.0", "1.0.0.0"),
    ("1.2.3.4", "1.2.3.4"),
    ("1.0.0RC1dev", "1.0.0.0-RC1-dev"),
    ("1.0.0-rC15-dev", "1.0.0.0-RC15-dev"),
    ("1.0.0.RC.15-dev", "1.0.0.0-RC15-dev"),
    ("1.0.0-rc1", "1.0.0.0-RC1"),
    ("1.0.0.pl3-dev", "1.0.0.0-patch3-dev"),
    ("1.0-dev", "1.0.0.0-dev"),
    ("0", "0.0.0.0"),
    ("10.4.13-beta", "10.4.13.0-beta"),
    ("10.4.13beta2", "10.4.13.0-beta2"),
    ("10.4.13beta.2", "10.4.13.0-beta2"),
    ("v1.13.11-beta.0", "1.13.11.0-beta0"),
    ("1.13.11.0-beta0", "1.13.11.0-beta0"),
    ("10.4.13-b", "10.4.13.0-beta"),
    ("10.4.13-b5", "10.4.13.0-beta5"),
    ("v1.0.0", "1.0.0.0"),
    ("2010.01", "2010.01.0.0"),
    ("2010.01.02", "2010.01.02.0"),
    ("2010.1.555", "2010.1.555.0"),
    ("2010.10.200", "2010.10.200.0"),
    ("20230131.0.0", "20230131.0.0"),
    ("202301310000.0.0", "202301310000.0.0"),
    ("v20100102", "20100102"),
    ("20100102", "20100102"),
    ("20100102.0", "20100102.0"),
    ("20100102.1.0", "20100102.1.0"),
    ("20100102.0.3", "20100102.0.3"),
    ("2010-01-02-10-20-30.0.3", "2010.01.02.10.20.30.0.3"),
    ("2010-01-02-10-20-30.5", "2010.01.02.10.20.30.5"),
    ("2010-01-02", "2010.01.02"),
    ("2012.06.07", "2012.06.07.0"),
    ("2010-01-02.5", "2010.01.02.5"),
    ("2010.1.555", "2010.1.555.0"),
    ("20100102-203040", "20100102.203040"),
    ("20100102.x-dev", "20100102.9999999.9999999.9999999-dev"),
    ("20100102.203040.x-dev", "20100102.203040.9999999.9999999-dev"),
    ("20100102203040-10", "20100102203040.10"),
    ("20100102-203040-p1", "20100102.203040-patch1"),
    ("201903.0", "201903.0"),
    ("201903.x-dev", "201903.9999999.9999999.9999999-dev"),
    ("201903.0-p2", "201903.0-patch2"),
    ("dev-master", "dev-master"),
    ("master", "dev-master"),
    ("dev-trunk", "dev-trunk"),
    ("1.x-dev", "1.9999999.9999999.9999999-dev"),
    ("dev-feature-foo", "dev-feature-foo"),
    ("DEV-FOOBAR", "dev-FOOBAR"),
    ("dev-feature/foo", "dev-feature/foo"),
    ("dev-feature+issue-1", "dev-feature+issue-1"),
    ("dev-master as 1.0.0", "dev-master"),
    ("dev-load-varnish-only-when-used as ^2.0", "dev-load-varnish-only-when-used"),
    ("dev-load-varnish-only-when-used@dev as ^2.0@dev", "dev-load-varnish-only-when-used"),
    ("1.0.0+foo@dev", "1.0.0.0"),
    ("dev-load-varnish-only-when-used@stable", "dev-load-varnish-only-when-used"),
    ("1.0.0-beta.5+foo", "1.0.0.0-beta5"),
    ("1.0.0+foo", "1.0.0.0"),
    ("1.0.0-alpha.3.1+foo", "1.0.0.0-alpha3.1"),
    ("1.0.0-alpha2.1+foo", "1.0.0.0-alpha2.1"),
    ("1.0.0-alpha-2.1-3+foo", "1.0.0.0-alpha2.1-3"),
    ("1.0.0+foo as 2.0", "1.0.0.0"),
    ("00.01.03.04", "00.01.03.04"),
    ("000.001.003.004", "000.001.003.004"),
    ("0.000.103.204", "0.000.103.204"),
    ("0700", "0700.0.0.0"),
    ("041.x-dev", "041.9999999.9999999.9999999-dev"),
    ("dev-041.003", "dev-041.003"),
    ("dev-1.0.0-dev<1.0.5-dev", "dev-1.0.0-dev<1.0.5-dev"),
    ("dev-foo bar", "dev-foo bar"),
    (" 1.0.0", "1.0.0.0"),
    ("1.0.0 ", "1.0.0.0"),
];

/// VersionParserTest `failingNormalizedVersions`.
const FAILING: &[&str] = &[
    "",
    "a",
    "1.0.0-meh",
    "1.0.0.0.0",
    "feature-foo",
    "1.0.0+foo bar",
    "1.0.1-SNAPSHOT",
    "1.0.0<1.0.5-dev",
    "1.0.0-dev<1.0.5-dev",
    "foo bar-dev",
    "1.0 .2",
    " as ",
    " as 1.2",
    "^",
    "^8 || ^",
    "~",
    "~1 ~",
    "~1",
    "^1",
    "1.*",
    "20100102.0.3.4",
];

#[test]
fn version_parser_test() {
    let mut failures = Vec::new();
    for (input, normal) in NORMALIZED {
        match Composer.normalize(input) {
            Ok(got) if got == *normal => {}
            other => failures.push(format!("normalize({input:?}) = {other:?}, want {normal:?}")),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} normalizations failed:\n{}",
        failures.len(),
        NORMALIZED.len(),
        failures.join("\n")
    );
    let mut c = Check::new("Packagist");
    for (input, _) in NORMALIZED {
        c.eq(input, input);
    }
    for v in FAILING {
        c.invalid(v);
    }
    c.finish();
}

#[test]
fn comparator_test() {
    let mut c = Check::new("Packagist");
    // greaterThanProvider / lessThanProvider / equalToProvider / compareProvider (true rows)
    c.gt("1.25.0", "1.24.0");
    c.lt("1.25.0", "1.26.0");
    c.eq("1.25.0", "1.25.0");
    c.gt("1.26.0", "dev-foo");
    c.lt("1.0.0", "1.2-dev");
    c.lt("dev-foo", "1.26.0");
    c.lt("1.25.0-beta2.1", "1.25.0-b.3");
    c.lt("1.25.0-b2.1", "1.25.0beta.3");
    c.lt("1.25.0-b-2.1", "1.25.0-rc");
    c.eq("1.25.0-beta2.1", "1.25.0-b.2.1");
    c.eq("1.25.0beta2.1", "1.25.0-b2.1");
    // dev-foo vs dev-master / dev-bar: neither greater, less nor equal in Composer. dev-master is
    // the default branch (9999999-dev) once sorted, so it is above dev-foo here; two named
    // branches have no order and give an error.
    c.lt("dev-foo", "dev-master");
    let composer = bulwark_version::scheme_for("Packagist").unwrap();
    assert!(composer.compare("dev-foo", "dev-bar").is_err());
    c.finish();
}

#[test]
fn semver_sort_test() {
    let mut c = Check::new("Packagist");
    // sortProvider
    c.ascending(&["0.1", "1.0", "2.4.0-alpha", "2.4.0", "3.2.1"]);
    c.eq("0.1", "0.1");
    c.ascending(&["dev-foo", "1.0", "50.2", "dev-master"]);
    // satisfiedByProvider ordering facts: 1.9999.9999 < 2.0 and 0.9999.9999 < 1.0
    c.lt("1.9999.9999", "2.0");
    c.lt("0.9999.9999", "1.0");
    // satisfiesProvider rows that are plain comparisons
    c.lt("1.2.3-beta", "1.2.3");
    c.lt("1.0.0beta", "1.0.0");
    c.lt("0.5.4-alpha", "0.5.4-beta");
    c.eq("v0.1.97", "0.1.97");
    c.lt("v0.1.93", "0.1.97");
    c.finish();
}

/// php-src `ext/standard/tests/versioning/version_compare.phpt`, "TESTING COMPARE", through
/// Composer's normalization (which keeps these inputs' order).
#[test]
fn php_version_compare_phpt() {
    let mut c = Check::new("Packagist");
    c.lt("1", "2");
    c.gt("10", "2");
    c.lt("1.0", "1.1");
    c.gt("1.2", "1.0.1");
    // 1.0-dev < 1.0a1 < 1.0b1 < 1.0RC1 = 1.0rc1 < 1.0 < 1.0pl1
    c.ascending(&["1.0-dev", "1.0a1", "1.0b1", "1.0RC1", "1.0", "1.0pl1"]);
    c.eq("1.0RC1", "1.0rc1");
    c.finish();
}
