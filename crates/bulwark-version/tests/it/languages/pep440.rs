//! PEP 440 vectors from pypa/packaging `tests/test_version.py`.

use super::Check;

/// `VERSIONS` ("This list must be in the correct sorting order").
const VERSIONS: &[&str] = &[
    // Implicit epoch of 0
    "1.0.dev0",
    "1.0.dev456",
    "1.0.dev456+local",
    "1.0a0",
    "1.0a0.post0.dev0",
    "1.0a0.post0",
    "1.0a1.dev1",
    "1.0a1.dev1+local",
    "1.0a1",
    "1.0a1+local",
    "1.0b0",
    "1.0b1.dev456",
    "1.0b2",
    "1.0b2.post345.dev456",
    "1.0b2.post345",
    "1.0b2-346",
    "1.0rc0",
    "1.0rc1.dev1",
    "1.0c1",
    "1.0rc2",
    "1.0",
    "1.0.post0.dev0",
    "1.0.post0",
    "1.0.post456.dev34",
    "1.0.post456",
    "1.0.post456+local",
    "1.0.1.dev1",
    "1.0.1a1",
    "1.0.1",
    "1.0.1+local",
    "1.0.1.post1",
    "1.1.dev1",
    "1.2+a",
    "1.2+abc",
    "1.2+abcdef",
    "1.2+def",
    "1.2+0",
    "1.2+1",
    "1.2+1.abc",
    "1.2+1.1",
    "1.2+1.1.0",
    "1.2+2",
    "1.2+123",
    "1.2+123456",
    "1.2.r32+123456",
    "1.2.rev33+123456",
    // Explicit epoch of 1
    "1!1.0.dev0",
    "1!1.0.dev456",
    "1!1.0.dev456+local",
    "1!1.0a0",
    "1!1.0a0.post0.dev0",
    "1!1.0a0.post0",
    "1!1.0a1.dev1",
    "1!1.0a1.dev1+local",
    "1!1.0a1",
    "1!1.0a1+local",
    "1!1.0b0",
    "1!1.0b1.dev456",
    "1!1.0b2",
    "1!1.0b2.post345.dev456",
    "1!1.0b2.post345",
    "1!1.0b2-346",
    "1!1.0rc0",
    "1!1.0rc1.dev1",
    "1!1.0c1",
    "1!1.0rc2",
    "1!1.0",
    "1!1.0.post0.dev0",
    "1!1.0.post0",
    "1!1.0.post456.dev34",
    "1!1.0.post456",
    "1!1.0.post456+local",
    "1!1.0.1.dev1",
    "1!1.0.1a1",
    "1!1.0.1",
    "1!1.0.1+local",
    "1!1.0.1.post1",
    "1!1.1.dev1",
    "1!1.2+a",
    "1!1.2+abc",
    "1!1.2+abcdef",
    "1!1.2+def",
    "1!1.2+0",
    "1!1.2+1",
    "1!1.2+1.abc",
    "1!1.2+1.1",
    "1!1.2+1.1.0",
    "1!1.2+2",
    "1!1.2+123",
    "1!1.2+123456",
    "1!1.2.r32+123456",
    "1!1.2.rev33+123456",
];

/// `test_invalid_versions`.
const INVALID: &[&str] = &[
    // Non sensical versions should be invalid
    "french toast",
    // Versions with invalid local versions
    "1.0+a+",
    "1.0++",
    "1.0+_foobar",
    "1.0+foo&asd",
    "1.0+1+1",
    // Spaces in versions are also invalid
    "1. 0",
    "1 .0",
    "1. 0a1",
    "1 .0a1",
    "1.0 a1",
    "1.0a 1",
    // Versions do need to be standard numbers
    "٠١٢.٣٤٥.٦٧٨٩",
    // Invalid versions that trigger the fast path (digits/dots only)
    ".",
    "..",
    "1..0",
    "1.0.",
    ".1.0",
    "1..2.3",
    // Local version which includes a non-ASCII letter that matches
    // regex '[a-z]' when re.IGNORECASE is in force and re.ASCII is not
    "1.0+\u{130}",
];

/// `test_normalized_versions`: (version, normalized) — a version orders equal to its normal form.
const NORMALIZED: &[(&str, &str)] = &[
    // Various development release incarnations
    ("1.0dev", "1.0.dev0"),
    ("1.0.dev", "1.0.dev0"),
    ("1.0dev1", "1.0.dev1"),
    ("1.0-dev", "1.0.dev0"),
    ("1.0-dev1", "1.0.dev1"),
    ("1.0DEV", "1.0.dev0"),
    ("1.0.DEV", "1.0.dev0"),
    ("1.0DEV1", "1.0.dev1"),
    ("1.0.DEV1", "1.0.dev1"),
    ("1.0-DEV", "1.0.dev0"),
    ("1.0-DEV1", "1.0.dev1"),
    // Various alpha incarnations
    ("1.0a", "1.0a0"),
    ("1.0.a", "1.0a0"),
    ("1.0.a1", "1.0a1"),
    ("1.0-a", "1.0a0"),
    ("1.0-a1", "1.0a1"),
    ("1.0alpha", "1.0a0"),
    ("1.0.alpha", "1.0a0"),
    ("1.0.alpha1", "1.0a1"),
    ("1.0-alpha", "1.0a0"),
    ("1.0-alpha1", "1.0a1"),
    ("1.0A", "1.0a0"),
    ("1.0.A", "1.0a0"),
    ("1.0.A1", "1.0a1"),
    ("1.0-A", "1.0a0"),
    ("1.0-A1", "1.0a1"),
    ("1.0ALPHA", "1.0a0"),
    ("1.0.ALPHA", "1.0a0"),
    ("1.0.ALPHA1", "1.0a1"),
    ("1.0-ALPHA", "1.0a0"),
    ("1.0-ALPHA1", "1.0a1"),
    // Various beta incarnations
    ("1.0b", "1.0b0"),
    ("1.0.b", "1.0b0"),
    ("1.0.b1", "1.0b1"),
    ("1.0-b", "1.0b0"),
    ("1.0-b1", "1.0b1"),
    ("1.0beta", "1.0b0"),
    ("1.0.beta", "1.0b0"),
    ("1.0.beta1", "1.0b1"),
    ("1.0-beta", "1.0b0"),
    ("1.0-beta1", "1.0b1"),
    ("1.0B", "1.0b0"),
    ("1.0.B", "1.0b0"),
    ("1.0.B1", "1.0b1"),
    ("1.0-B", "1.0b0"),
    ("1.0-B1", "1.0b1"),
    ("1.0BETA", "1.0b0"),
    ("1.0.BETA", "1.0b0"),
    ("1.0.BETA1", "1.0b1"),
    ("1.0-BETA", "1.0b0"),
    ("1.0-BETA1", "1.0b1"),
    // Various release candidate incarnations
    ("1.0c", "1.0rc0"),
    ("1.0.c", "1.0rc0"),
    ("1.0.c1", "1.0rc1"),
    ("1.0-c", "1.0rc0"),
    ("1.0-c1", "1.0rc1"),
    ("1.0rc", "1.0rc0"),
    ("1.0.rc", "1.0rc0"),
    ("1.0.rc1", "1.0rc1"),
    ("1.0-rc", "1.0rc0"),
    ("1.0-rc1", "1.0rc1"),
    ("1.0C", "1.0rc0"),
    ("1.0.C", "1.0rc0"),
    ("1.0.C1", "1.0rc1"),
    ("1.0-C", "1.0rc0"),
    ("1.0-C1", "1.0rc1"),
    ("1.0RC", "1.0rc0"),
    ("1.0.RC", "1.0rc0"),
    ("1.0.RC1", "1.0rc1"),
    ("1.0-RC", "1.0rc0"),
    ("1.0-RC1", "1.0rc1"),
    // Various post release incarnations
    ("1.0post", "1.0.post0"),
    ("1.0.post", "1.0.post0"),
    ("1.0post1", "1.0.post1"),
    ("1.0-post", "1.0.post0"),
    ("1.0-post1", "1.0.post1"),
    ("1.0POST", "1.0.post0"),
    ("1.0.POST", "1.0.post0"),
    ("1.0POST1", "1.0.post1"),
    ("1.0r", "1.0.post0"),
    ("1.0rev", "1.0.post0"),
    ("1.0.POST1", "1.0.post1"),
    ("1.0.r1", "1.0.post1"),
    ("1.0.rev1", "1.0.post1"),
    ("1.0-POST", "1.0.post0"),
    ("1.0-POST1", "1.0.post1"),
    ("1.0-5", "1.0.post5"),
    ("1.0-r5", "1.0.post5"),
    ("1.0-rev5", "1.0.post5"),
    // Local version case insensitivity
    ("1.0+AbC", "1.0+abc"),
    // Integer Normalization
    ("1.01", "1.1"),
    ("1.0a05", "1.0a5"),
    ("1.0b07", "1.0b7"),
    ("1.0c056", "1.0rc56"),
    ("1.0rc09", "1.0rc9"),
    ("1.0.post000", "1.0.post0"),
    ("1.1.dev09000", "1.1.dev9000"),
    ("00!1.2", "1.2"),
    ("0100!0.0", "100!0.0"),
    // Various other normalizations
    ("v1.0", "1.0"),
    ("   v1.0\t\n", "1.0"),
    // Non-ASCII whitespace
    ("\u{202F}1.0\t\u{2029}\n ", "1.0"),
];

/// `test_version_str_repr`: (version, str(Version(version))).
const STR_REPR: &[(&str, &str)] = &[
    ("1.0.dev456", "1.0.dev456"),
    ("1.0a1", "1.0a1"),
    ("1.0a2.dev456", "1.0a2.dev456"),
    ("1.0a12.dev456", "1.0a12.dev456"),
    ("1.0a12", "1.0a12"),
    ("1.0b1.dev456", "1.0b1.dev456"),
    ("1.0b2", "1.0b2"),
    ("1.0b2.post345.dev456", "1.0b2.post345.dev456"),
    ("1.0b2.post345", "1.0b2.post345"),
    ("1.0rc1.dev456", "1.0rc1.dev456"),
    ("1.0rc1", "1.0rc1"),
    ("1.0", "1.0"),
    ("1.0.post456.dev34", "1.0.post456.dev34"),
    ("1.0.post456", "1.0.post456"),
    ("1.0.1", "1.0.1"),
    ("0!1.0.2", "1.0.2"),
    ("1.0.3+7", "1.0.3+7"),
    ("0!1.0.4+8.0", "1.0.4+8.0"),
    ("1.0.5+9.5", "1.0.5+9.5"),
    ("1.2+1234.abc", "1.2+1234.abc"),
    ("1.2+123456", "1.2+123456"),
    ("1.2+123abc", "1.2+123abc"),
    ("1.2+123abc456", "1.2+123abc456"),
    ("1.2+abc", "1.2+abc"),
    ("1.2+abc123", "1.2+abc123"),
    ("1.2+abc123def", "1.2+abc123def"),
    ("1.1.dev1", "1.1.dev1"),
    ("7!1.0.dev456", "7!1.0.dev456"),
    ("7!1.0a1", "7!1.0a1"),
    ("7!1.0a2.dev456", "7!1.0a2.dev456"),
    ("7!1.0a12.dev456", "7!1.0a12.dev456"),
    ("7!1.0a12", "7!1.0a12"),
    ("7!1.0b1.dev456", "7!1.0b1.dev456"),
    ("7!1.0b2", "7!1.0b2"),
    ("7!1.0b2.post345.dev456", "7!1.0b2.post345.dev456"),
    ("7!1.0b2.post345", "7!1.0b2.post345"),
    ("7!1.0rc1.dev456", "7!1.0rc1.dev456"),
    ("7!1.0rc1", "7!1.0rc1"),
    ("7!1.0", "7!1.0"),
    ("7!1.0.post456.dev34", "7!1.0.post456.dev34"),
    ("7!1.0.post456", "7!1.0.post456"),
    ("7!1.0.1", "7!1.0.1"),
    ("7!1.0.2", "7!1.0.2"),
    ("7!1.0.3+7", "7!1.0.3+7"),
    ("7!1.0.4+8.0", "7!1.0.4+8.0"),
    ("7!1.0.5+9.5", "7!1.0.5+9.5"),
    ("7!1.1.dev1", "7!1.1.dev1"),
];

#[test]
fn packaging_test_version_vectors() {
    let mut c = Check::new("PyPI");
    c.ascending(VERSIONS);
    for v in INVALID {
        c.invalid(v);
    }
    for (v, normal) in NORMALIZED.iter().chain(STR_REPR) {
        c.eq(v, normal);
    }
    // test_version_rc_and_c_equals
    c.eq("1.0rc1", "1.0c1");
    c.finish();
}

/// Facts from the PEP 440 text itself, for spellings packaging's tests do not list.
#[test]
fn pep440_spec_facts() {
    let mut c = Check::new("PyPI");
    // "Release segment": comparison pads the shorter release with zeros.
    c.eq("1.0", "1.0.0");
    c.eq("1", "1.0.0.0");
    c.lt("1.0.0", "1.0.0.1");
    // "Pre-release spelling": c, pre and preview are rc.
    c.eq("1.0pre1", "1.0rc1");
    c.eq("1.0preview1", "1.0rc1");
    c.eq("1.0-preview-1", "1.0rc1");
    // "Post release spelling" and "Implicit post release number".
    c.eq("1.0-1", "1.0.post1");
    c.eq("1.0rev", "1.0.post0");
    // "Local version segments": `-` and `_` separate like `.`; a local version follows its public one.
    c.eq("1.0+ubuntu-1", "1.0+ubuntu.1");
    c.eq("1.0+ubuntu_1", "1.0+ubuntu.1");
    c.lt("1.0", "1.0+ubuntu.1");
    c.lt("1.0+ubuntu.1", "1.0.post1");
    // "Case sensitivity".
    c.eq("1.0RC1", "1.0rc1");
    c.eq("1.0+UBUNTU.1", "1.0+ubuntu.1");
    // Epochs outrank everything else.
    c.lt("2013.10", "1!1.0");
    c.finish();
}
