//! RubyGems vectors from rubygems/rubygems `test/rubygems/test_gem_version.rb`.

use super::Check;

#[test]
fn test_gem_version() {
    let mut c = Check::new("RubyGems");

    // test_bump / test_release: the expected values, which are ordinary versions.
    for v in ["5.3", "5.2.4", "5.2.4.a", "5.2.4.a10", "5.1", "5.0.0", "6", "5"] {
        c.valid(v);
    }
    c.lt("5.2.4.a", "5.2.4");
    c.lt("5.2.4.a", "5.2.4.a10");

    // test_eql_eh / test_equals2 (eql? is stricter than ==; ordering follows ==)
    c.eq("1.2", "1.2");
    c.lt("1.2", "1.3");
    c.eq("1.2.b1", "1.2.b.1");

    // test_hash: equal hashes are equal versions
    c.eq("1.2", "1.2.0");
    c.eq("1.2.pre.1", "1.2.0.pre.1.0");

    // test_initialize
    for good in ["1.0", "1.0 ", " 1.0 ", "1.0\n", "\n1.0\n"] {
        c.eq("1.0", good);
    }

    // test_initialize_invalid
    for bad in ["junk", "1.0\n2.0", "1..2", "1.2 3.4", "2.3422222.222.222222222.22222.ads0as.dasd0.ddd2222.2.qd3e."] {
        c.invalid(bad);
    }
    // test_class_correct
    c.valid("5.1");
    c.invalid("an incorrect version");

    // test_empty_version: blank is "0"
    for empty in ["", "   ", " "] {
        c.eq(empty, "0");
    }

    // test_prerelease: a letter anywhere makes a pre-release, below the release it precedes
    for (pre, release) in [
        ("1.2.0.a", "1.2.0"),
        ("2.9.b", "2.9"),
        ("22.1.50.0.d", "22.1.50.0"),
        ("1.2.d.42", "1.2"),
        ("1.A", "1"),
        ("1-1", "1"),
        ("1-a", "1"),
    ] {
        c.lt(pre, release);
    }

    // test_spaceship
    c.eq("1.0", "1.0.0");
    c.gt("1.0", "1.0.a");
    c.gt("1.8.2", "0.0.0");
    c.gt("1.8.2", "1.8.2.a");
    c.gt("1.8.2.b", "1.8.2.a");
    c.lt("1.8.2.a", "1.8.2");
    c.gt("1.8.2.a10", "1.8.2.a9");
    c.eq("", "0");
    c.eq("0.beta.1", "0.0.beta.1");
    c.lt("0.0.beta", "0.0.beta.1");
    c.lt("0.0.beta", "0.beta.1");
    c.lt("5.a", "5.0.0.rc2");
    c.gt("5.x", "5.0.0.rc2");

    // test_semver
    c.ascending(&["1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1"]);
    c.lt("1.0.0-rc1", "1.0.0");
    c.lt("1.0.0-1", "1");

    // test_canonical_segments: equal canonical segments are equal versions
    c.eq("1.0.0", "1");
    c.eq("1.0.0.a.1.0", "1.a.1");
    c.eq("1.2.3-1", "1.2.3.pre.1");

    // test_frozen_version
    c.lt("1.freeze.test", "1");
    c.finish();
}
