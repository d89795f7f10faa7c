//! CVSS base scores against FIRST's published examples, hostile vectors, and `rate` on the real
//! OSV records in ../shared/data/osv.

use bulwark_vulndb::osv::{Affected, Record, Severity};
use bulwark_vulndb::severity::{
    candidates, cvss_base_score, rate, CvssError, CvssProblem, CvssVersion, Level, Rating, MAX_VECTOR_LEN,
};
use std::collections::BTreeMap;
use std::io::Read;

fn score(vector: &str) -> f64 {
    match cvss_base_score(vector) {
        Ok((_, s)) => s,
        Err(e) => panic!("{e}"),
    }
}

fn problem(vector: &str) -> CvssProblem {
    match cvss_base_score(vector) {
        Ok(got) => panic!("{vector} scored {got:?}, expected an error"),
        Err(e) => e.problem,
    }
}

/// Asserts every (vector, score) pair and reports all mismatches at once.
fn assert_scores(cases: &[(&str, f64)]) {
    let wrong: Vec<String> = cases
        .iter()
        .filter_map(|(v, want)| match cvss_base_score(v) {
            Ok((_, got)) if got == *want => None,
            got => Some(format!("{v}: want {want}, got {got:?}")),
        })
        .collect();
    assert!(wrong.is_empty(), "{} of {} wrong:\n{}", wrong.len(), cases.len(), wrong.join("\n"));
}

// ---- CVSS v3.x ----

/// Base scores from FIRST's "CVSS v3.1: Examples" document (each vector is the example's base
/// vector there; the CVE names the example).
#[test]
fn v3_1_specification_examples() {
    assert_scores(&[
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1), // CVE-2013-1937 phpMyAdmin reflected XSS
        ("CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:L/I:L/A:N", 6.4), // CVE-2013-0375 MySQL stored SQL injection
        ("CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:N/A:N", 3.1), // CVE-2014-3566 SSLv3 POODLE
        ("CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:H/I:H/A:H", 9.9), // CVE-2012-1516 VMware guest to host escape
        ("CVSS:3.1/AV:L/AC:L/PR:H/UI:N/S:U/C:L/I:L/A:L", 4.2), // CVE-2009-0783 Apache Tomcat XML parser
        ("CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H", 8.8), // CVE-2012-0384 Cisco IOS arbitrary command
        ("CVSS:3.1/AV:L/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:H", 7.8), // CVE-2015-1098 Apple iWork DoS
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N", 7.5), // CVE-2014-0160 OpenSSL Heartbleed
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8), // CVE-2014-6271 GNU Bash Shellshock
        ("CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:C/C:N/I:H/A:N", 6.8), // CVE-2008-1447 DNS Kaminsky bug
        ("CVSS:3.1/AV:P/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 6.8), // CVE-2014-2005 Sophos login screen bypass
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:L/I:N/A:N", 5.8), // CVE-2010-0467 Joomla directory traversal
        ("CVSS:3.1/AV:A/AC:L/PR:N/UI:N/S:C/C:H/I:N/A:H", 9.3), // CVE-2013-6014 Juniper proxy ARP DoS
        ("CVSS:3.1/AV:N/AC:L/PR:L/UI:R/S:C/C:L/I:L/A:N", 5.4), // CVE-2014-9253 DokuWiki reflected XSS
        ("CVSS:3.1/AV:A/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 8.8), // CVE-2011-1265 Windows Bluetooth RCE
        ("CVSS:3.1/AV:P/AC:L/PR:N/UI:N/S:U/C:N/I:H/A:N", 4.6), // CVE-2014-2019 Apple iOS security bypass
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:H", 8.8), // CVE-2015-0970 SearchBlox CSRF
        ("CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:N", 7.4), // CVE-2014-0224 OpenSSL CCS injection
        // The v3.1 specification's own worst case with scope changed (capped at 10).
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", 10.0),
    ]);
}

/// v3.0 and v3.1 share the base equations; v3.0's naive round-up gives the same base scores.
#[test]
fn v3_0_vectors() {
    // RUSTSEC-2016-0001 (rust-openssl insecure defaults), as in crates.io/all.zip.
    assert_eq!(cvss_base_score("CVSS:3.0/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H"), Ok((CvssVersion::V3_0, 8.1)));
    assert_eq!(cvss_base_score("CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H"), Ok((CvssVersion::V3_1, 8.1)));
    // PYSEC-2017-105 (PyPI/all.zip).
    assert_eq!(score("CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"), 7.5);
}

/// Raw base values that sit on, just under and just over a tenth (computed with the v3.1
/// specification's §7.1 equations): Roundup goes to the next tenth unless the value is on it.
#[test]
fn v3_roundup_edge_cases() {
    assert_scores(&[
        // 1.08 × (5.1387 + 0.2693) = 5.29999597… just under 5.3: Roundup gives 5.3, not 5.4.
        ("CVSS:3.1/AV:P/AC:L/PR:N/UI:N/S:C/C:H/I:N/A:N", 5.3),
        // 4.7534 + 0.7469 = 5.50032… just over 5.5: Roundup gives 5.6.
        ("CVSS:3.1/AV:L/AC:L/PR:H/UI:N/S:U/C:H/I:L/A:L", 5.6),
        ("CVSS:3.0/AV:L/AC:L/PR:H/UI:N/S:U/C:H/I:L/A:L", 5.6),
        // 6.00047… with scope changed: 6.1.
        ("CVSS:3.1/AV:L/AC:H/PR:L/UI:R/S:C/C:H/I:L/A:N", 6.1),
        // 7.19976…: 7.2.
        ("CVSS:3.1/AV:A/AC:H/PR:H/UI:R/S:C/C:L/I:H/A:H", 7.2),
        // Scope changed: 1.08 × (6.05 + 3.89) = 10.7 is capped at 10.
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:N", 10.0),
        // No impact: 0, whatever the exploitability.
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", 0.0),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:N/I:N/A:N", 0.0),
        // The smallest non-zero base score.
        ("CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N", 1.6),
    ]);
}

/// Temporal and environmental metrics are validated but leave the base score alone.
#[test]
fn v3_temporal_and_environmental_metrics_do_not_change_the_base_score() {
    assert_eq!(score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:U/RL:O/RC:U/CR:L/MAV:P"), 9.8);
    assert_eq!(problem("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:Q"), invalid("E", "Q"));
}

// ---- CVSS v4.0 ----

/// Base vectors (CVSS-B) and their scores from FIRST's "CVSS v4.0 Examples" page (which
/// matches FIRST's calculator); the supplemental metrics some carry do not change a score.
#[test]
fn v4_first_examples() {
    assert_scores(&[
        ("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", 9.3),
        ("CVSS:4.0/AV:L/AC:L/AT:N/PR:L/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", 8.5),
        ("CVSS:4.0/AV:L/AC:L/AT:P/PR:L/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", 7.3),
        ("CVSS:4.0/AV:N/AC:L/AT:P/PR:N/UI:P/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", 7.7),
        ("CVSS:4.0/AV:N/AC:L/AT:P/PR:N/UI:N/VC:H/VI:L/VA:L/SC:N/SI:N/SA:N", 8.3),
        ("CVSS:4.0/AV:L/AC:L/AT:N/PR:N/UI:A/VC:L/VI:N/VA:N/SC:N/SI:N/SA:N", 4.6),
        ("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:A/VC:N/VI:N/VA:N/SC:L/SI:L/SA:N", 5.1),
        ("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:L/SI:L/SA:N", 6.9),
        ("CVSS:4.0/AV:L/AC:L/AT:N/PR:H/UI:N/VC:N/VI:N/VA:N/SC:H/SI:N/SA:N", 5.9),
        ("CVSS:4.0/AV:L/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H", 9.4),
        ("CVSS:4.0/AV:P/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:H/SA:N/S:P/V:D", 8.3),
        ("CVSS:4.0/AV:A/AC:L/AT:N/PR:N/UI:N/VC:N/VI:L/VA:N/SC:H/SI:N/SA:H", 6.4),
        ("CVSS:4.0/AV:L/AC:L/AT:N/PR:H/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H/R:I", 9.3),
        ("CVSS:4.0/AV:L/AC:L/AT:P/PR:H/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H/R:I", 8.7),
        ("CVSS:4.0/AV:P/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H", 8.6),
        ("CVSS:4.0/AV:N/AC:L/AT:N/PR:L/UI:N/VC:H/VI:N/VA:N/SC:N/SI:N/SA:N", 7.1),
        ("CVSS:4.0/AV:N/AC:L/AT:P/PR:N/UI:N/VC:H/VI:N/VA:N/SC:N/SI:N/SA:N", 8.2),
        ("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:H/SC:N/SI:N/SA:L", 8.7),
        ("CVSS:4.0/AV:N/AC:L/AT:N/PR:L/UI:P/VC:N/VI:N/VA:N/SC:L/SI:L/SA:N", 5.1),
        ("CVSS:4.0/AV:N/AC:L/AT:P/PR:L/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", 7.7),
        ("CVSS:4.0/AV:L/AC:L/AT:N/PR:H/UI:N/VC:H/VI:H/VA:N/SC:N/SI:N/SA:N", 8.3),
        ("CVSS:4.0/AV:L/AC:L/AT:N/PR:N/UI:P/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", 8.5),
        ("CVSS:4.0/AV:P/AC:L/AT:P/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", 5.4),
        ("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:N/VA:N/SC:N/SI:N/SA:N", 8.7),
        ("CVSS:4.0/AV:N/AC:L/AT:N/PR:H/UI:N/VC:H/VI:N/VA:N/SC:N/SI:N/SA:N", 6.9),
        ("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:N/SI:L/SA:N", 6.9),
        ("CVSS:4.0/AV:L/AC:L/AT:N/PR:N/UI:P/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/S:P", 8.5),
        ("CVSS:4.0/AV:N/AC:L/AT:N/PR:L/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H/S:P/AU:Y/V:C/RE:L", 9.4),
        ("CVSS:4.0/AV:A/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:N/SC:N/SI:N/SA:N/S:P", 8.6),
        ("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:H/SC:N/SI:N/SA:N/V:C", 8.7),
        // The top and bottom of the scale.
        ("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H", 10.0),
        ("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:N/SI:N/SA:N", 0.0),
    ]);
}

/// FIRST's examples also give CVSS-BT and CVSS-BTE scores; the base score of those vectors is
/// the score of their base metrics alone (the first example of each pair above).
#[test]
fn v4_base_score_ignores_threat_and_environmental_metrics() {
    let bt = "CVSS:4.0/AV:N/AC:L/AT:P/PR:N/UI:P/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/E:U"; // CVSS-BT 5.2
    assert_eq!(cvss_base_score(bt), Ok((CvssVersion::V4_0, 7.7)));
    let bte =
        "CVSS:4.0/AV:N/AC:L/AT:P/PR:N/UI:N/VC:H/VI:L/VA:L/SC:N/SI:N/SA:N/CR:H/IR:L/AR:L/MAV:N/MAC:H/MVC:H/MVI:L/MVA:L"; // CVSS-BTE 8.1
    assert_eq!(score(bte), 8.3);
    let bte = "CVSS:4.0/AV:N/AC:L/AT:N/PR:L/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H/E:P/CR:L/IR:H/AR:L/MAV:L/MAC:H/MAT:N/MPR:N/MUI:N/MVC:N/MVI:H/MVA:L/MSC:N/MSI:S/MSA:L"; // CVSS-BTE 7.0
    assert_eq!(score(bte), score("CVSS:4.0/AV:N/AC:L/AT:N/PR:L/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H"));
    // RUSTSEC-2025-0138 (crates.io/all.zip) carries E:P: its base score is 6.9 (CVSS-BT 5.5).
    assert_eq!(score("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:L/VA:N/SC:N/SI:N/SA:N/E:P"), 6.9);
    // A bad threat metric is still an error.
    assert_eq!(problem("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/E:Z"), invalid("E", "Z"));
}

// ---- CVSS v2 ----

/// Base scores from the CVSS v2 guide's §3.3 examples; v2 has no CRITICAL band.
#[test]
fn v2_guide_examples() {
    assert_eq!(cvss_base_score("AV:N/AC:L/Au:N/C:N/I:N/A:C"), Ok((CvssVersion::V2_0, 7.8))); // CVE-2002-0392
    assert_eq!(score("AV:N/AC:L/Au:N/C:C/I:C/A:C"), 10.0); // CVE-2003-0818
    assert_eq!(score("AV:L/AC:H/Au:N/C:C/I:C/A:C"), 6.2); // CVE-2003-0062
    assert_eq!(score("(AV:N/AC:L/Au:N/C:C/I:C/A:C)"), 10.0);
    assert_eq!(score("CVSS:2.0/AV:N/AC:L/Au:N/C:C/I:C/A:C"), 10.0);
    assert_eq!(CvssVersion::V2_0.level(10.0), Level::High);
    assert_eq!(CvssVersion::V2_0.level(6.9), Level::Medium);
    assert_eq!(CvssVersion::V2_0.level(3.9), Level::Low);
    assert_eq!(CvssVersion::V3_1.level(10.0), Level::Critical);
    assert_eq!(problem("AV:N/AC:L/Au:N/C:C/I:C"), CvssProblem::MissingMetric("A".into()));
}

// ---- Hostile and malformed vectors ----

fn invalid(metric: &str, value: &str) -> CvssProblem {
    CvssProblem::InvalidValue { metric: metric.into(), value: value.into() }
}

#[test]
fn malformed_vectors_are_errors_naming_the_problem() {
    let cases: Vec<(&str, CvssProblem)> = vec![
        // Missing metric: the `cvss` crate alone would score this v3 vector as if A were 0.
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H", CvssProblem::MissingMetric("A".into())),
        ("CVSS:3.1", CvssProblem::MissingMetric("AV".into())),
        ("CVSS:4.0/AV:N/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", CvssProblem::MissingMetric("AC".into())),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/AV:L", CvssProblem::DuplicateMetric("AV".into())),
        (
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/SA:N",
            CvssProblem::DuplicateMetric("SA".into()),
        ),
        ("CVSS:3.1/AV:Q/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", invalid("AV", "Q")),
        ("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:X/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", invalid("UI", "X")),
        // NSWG-ECO-504's vector as published (npm/all.zip): U is no value of I or A.
        ("CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:U/A:U", invalid("I", "U")),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/ZZ:H", CvssProblem::UnknownMetric("ZZ".into())),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/", CvssProblem::Malformed("".into())),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N//S:U/C:H/I:H/A:H", CvssProblem::Malformed("".into())),
        ("CVSS:3.1/AV:N:L/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", CvssProblem::Malformed("AV:N:L".into())),
        ("CVSS:3.1/AV:Ñ/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", invalid("AV", "Ñ")),
        ("CVSS:5.0/AV:N/AC:L", CvssProblem::UnsupportedVersion("5.0".into())),
        ("CVSS:3.2/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", CvssProblem::UnsupportedVersion("3.2".into())),
        ("cvss:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", CvssProblem::NotCvss),
        ("HIGH", CvssProblem::NotCvss),
        ("", CvssProblem::Empty),
        ("   ", CvssProblem::Empty),
    ];
    for (vector, want) in cases {
        let err = match cvss_base_score(vector) {
            Ok(got) => panic!("{vector:?} scored {got:?}"),
            Err(e) => e,
        };
        assert_eq!(err.problem, want, "{vector:?}");
        assert_eq!(err.vector, vector);
        let message = err.to_string();
        assert!(message.contains(vector) && message.contains(&want.to_string()), "{message}");
    }
}

#[test]
fn huge_input_is_refused_and_quoted_short() {
    let base = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H";
    let huge = format!("{base}{}", "/E:X".repeat(250_000));
    let err: CvssError = cvss_base_score(&huge).unwrap_err();
    assert_eq!(err.problem, CvssProblem::TooLong { len: huge.len() });
    assert_eq!(err.vector.chars().count(), 201, "200 characters and an ellipsis");
    assert!(err.vector.starts_with(base) && err.vector.ends_with('…'));
    assert!(err.to_string().len() < 400);
    // One byte over the limit is refused; a long but valid v4.0 vector (every metric) is not.
    assert!(matches!(problem(&"A".repeat(MAX_VECTOR_LEN + 1)), CvssProblem::TooLong { .. }));
    let full = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/E:A/CR:H/IR:H/AR:H/MAV:N/MAC:L/MAT:N/MPR:N/MUI:N/MVC:H/MVI:H/MVA:H/MSC:N/MSI:N/MSA:N/S:N/AU:N/R:U/V:D/RE:L/U:Clear";
    assert_eq!(score(full), 9.3);
    // Multi-byte characters are cut on a character boundary.
    let err = cvss_base_score(&"é".repeat(300)).unwrap_err();
    assert_eq!(err.vector.chars().count(), 201);
}

/// Deterministic mutations of valid vectors (characters dropped, doubled, swapped for vector
/// syntax): each either scores within 0..=10 or is an error, never a panic.
#[test]
fn mutated_vectors_never_panic() {
    let seeds = [
        "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H/E:P/RL:O/RC:C/CR:H/MAV:L/MS:U",
        "CVSS:3.0/AV:L/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N",
        "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/E:A/MSI:S/S:P/U:Amber",
        "AV:N/AC:L/Au:N/C:P/I:P/A:P/E:F/RL:OF/RC:C/CDP:H/TD:H/CR:H/IR:H/AR:H",
    ];
    let alphabet: Vec<char> = "/:CVS.0134AHLNPRUXESI é".chars().collect();
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move |n: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n as u64) as usize
    };
    let (mut ok, mut errors) = (0, 0);
    for round in 0..20_000 {
        let mut chars: Vec<char> = seeds[round % seeds.len()].chars().collect();
        for _ in 0..1 + next(3) {
            let at = next(chars.len());
            match next(3) {
                0 => {
                    chars.remove(at);
                }
                1 => chars.insert(at, chars[at]),
                _ => chars[at] = alphabet[next(alphabet.len())],
            }
        }
        let vector: String = chars.into_iter().collect();
        match cvss_base_score(&vector) {
            Ok((_, s)) => {
                assert!((0.0..=10.0).contains(&s), "{vector}: {s}");
                ok += 1;
            }
            Err(e) => {
                assert!(!e.to_string().is_empty());
                errors += 1;
            }
        }
    }
    // Both outcomes occur, so the mutations are neither all harmless nor all fatal.
    assert!(ok > 100 && errors > 1000, "{ok} scored, {errors} refused");
}

// ---- rate() on hand-made records ----

fn sev(kind: &str, score: &str) -> Severity {
    Severity { kind: kind.into(), score: score.into() }
}

const V3_HIGH: &str = "CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H"; // 8.8
const V4_LOW: &str = "CVSS:4.0/AV:N/AC:L/AT:P/PR:N/UI:P/VC:N/VI:N/VA:N/SC:L/SI:L/SA:L"; // 2.3
const V4_CRITICAL: &str = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"; // 9.3

fn record(severity: Vec<Severity>, database_specific: Option<serde_json::Value>) -> Record {
    Record { id: "TEST-1".into(), severity, database_specific, ..Default::default() }
}

#[test]
fn rate_prefers_v4_over_v3_in_any_order() {
    for severity in
        [vec![sev("CVSS_V3", V3_HIGH), sev("CVSS_V4", V4_LOW)], vec![sev("CVSS_V4", V4_LOW), sev("CVSS_V3", V3_HIGH)]]
    {
        let r = rate(&record(severity, None), None);
        assert_eq!(r, Rating { level: Level::Low, score: Some(2.3), vector: Some(V4_LOW.into()) });
    }
}

#[test]
fn rate_skips_a_vector_that_does_not_parse() {
    let broken_v4 = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:Q/SC:N/SI:N/SA:N";
    let r = rate(&record(vec![sev("CVSS_V4", broken_v4), sev("CVSS_V3", V3_HIGH)], None), None);
    assert_eq!(r, Rating { level: Level::High, score: Some(8.8), vector: Some(V3_HIGH.into()) });
    // Nothing parses: the textual severity is next.
    let text = Some(serde_json::json!({"severity": "MODERATE"}));
    let r = rate(&record(vec![sev("CVSS_V4", broken_v4)], text), None);
    assert_eq!(r, Rating { level: Level::Medium, score: None, vector: None });
}

#[test]
fn rate_uses_the_affected_entry_first() {
    let affected = Affected { severity: vec![sev("CVSS_V4", V4_CRITICAL)], ..Default::default() };
    let rec = record(vec![sev("CVSS_V4", V4_LOW)], None);
    assert_eq!(rate(&rec, Some(&affected)).score, Some(9.3));
    assert_eq!(rate(&rec, None).score, Some(2.3));
    // A v4.0 vector of the record still beats a v3.1 one of the affected entry.
    let affected = Affected { severity: vec![sev("CVSS_V3", V3_HIGH)], ..Default::default() };
    assert_eq!(rate(&rec, Some(&affected)).score, Some(2.3));
}

#[test]
fn rate_falls_back_to_database_specific_vectors() {
    // RustSec's shape: the vector in affected[].database_specific.cvss.
    let affected = Affected {
        database_specific: Some(serde_json::json!({"cvss": V3_HIGH, "categories": []})),
        ..Default::default()
    };
    assert_eq!(rate(&record(vec![], None), Some(&affected)).score, Some(8.8));
    // The Node.js WG's shape: database_specific.cvss_vector on the record.
    let rec = record(vec![], Some(serde_json::json!({"cvss_vector": V4_CRITICAL, "severity": "LOW"})));
    assert_eq!(rate(&rec, None), Rating { level: Level::Critical, score: Some(9.3), vector: Some(V4_CRITICAL.into()) });
    // `cvss: null` (RustSec without a score) is no vector.
    let affected = Affected { database_specific: Some(serde_json::json!({"cvss": null})), ..Default::default() };
    assert_eq!(rate(&record(vec![], None), Some(&affected)), Rating::default());
}

#[test]
fn rate_textual_severities() {
    for (text, level) in [("MODERATE", Level::Medium), ("high", Level::High), ("CRITICAL", Level::Critical)] {
        let rec = record(vec![], Some(serde_json::json!({ "severity": text })));
        assert_eq!(rate(&rec, None), Rating { level, score: None, vector: None }, "{text}");
    }
    // The affected entry's word first; a word that means nothing is skipped.
    let affected = Affected { database_specific: Some(serde_json::json!({"severity": "LOW"})), ..Default::default() };
    let rec = record(vec![], Some(serde_json::json!({"severity": "HIGH"})));
    assert_eq!(rate(&rec, Some(&affected)).level, Level::Low);
    let affected = Affected { database_specific: Some(serde_json::json!({"severity": "n/a"})), ..Default::default() };
    assert_eq!(rate(&rec, Some(&affected)).level, Level::High);
    // OSV's `Ubuntu` type carries a word, not a vector.
    assert_eq!(rate(&record(vec![sev("Ubuntu", "medium")], None), None).level, Level::Medium);
    assert_eq!(rate(&record(vec![], Some(serde_json::json!({"severity": 7}))), None), Rating::default());
}

#[test]
fn rate_uses_cvss_v2_last() {
    let v2 = "AV:N/AC:L/Au:N/C:C/I:C/A:C";
    assert_eq!(
        rate(&record(vec![sev("CVSS_V2", v2)], None), None),
        Rating { level: Level::High, score: Some(10.0), vector: Some(v2.into()) }
    );
    let r = rate(
        &record(vec![sev("CVSS_V2", v2), sev("CVSS_V3", "CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N")], None),
        None,
    );
    assert_eq!((r.level, r.score), (Level::Low, Some(1.6)));
}

// ---- rate() on the real records in ../shared/data/osv ----

const OSV: bulwark_testkit::SharedDir = bulwark_testkit::SharedDir("data/osv");
const ECOSYSTEMS: [&str; 7] = ["Alpine", "Debian", "Go", "Maven", "PyPI", "crates.io", "npm"];

/// Every record of `<ecosystem>/all.zip`.
fn records(ecosystem: &str) -> Vec<Record> {
    let path = format!("{OSV}/{ecosystem}/all.zip");
    let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut zip = zip::ZipArchive::new(std::io::BufReader::new(file)).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut out = Vec::new();
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).unwrap_or_else(|e| panic!("{path}: entry {i}: {e}"));
        if !entry.name().ends_with(".json") {
            continue;
        }
        let mut text = String::new();
        entry.read_to_string(&mut text).unwrap_or_else(|e| panic!("{path}: {}: {e}", entry.name()));
        out.push(serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {}: {e}", entry.name())));
    }
    out
}

fn find(ecosystem: &str, id: &str) -> Record {
    records(ecosystem).into_iter().find(|r| r.id == id).unwrap_or_else(|| panic!("{id} not in {ecosystem}"))
}

#[test]
fn rustsec_2016_0001_is_high_8_1() {
    let rec = find("crates.io", "RUSTSEC-2016-0001");
    let want = Rating {
        level: Level::High,
        score: Some(8.1),
        vector: Some("CVSS:3.0/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H".into()),
    };
    assert_eq!(rate(&rec, rec.affected.first()), want);
    assert_eq!(rate(&rec, None), want);
    // The same vector sits in severity and affected[].database_specific.cvss: considered once.
    assert_eq!(candidates(&rec, rec.affected.first()).len(), 1);
}

#[test]
fn rustsec_v4_vector_with_exploit_maturity_gets_its_base_score() {
    let rec = find("crates.io", "RUSTSEC-2025-0138");
    let r = rate(&rec, rec.affected.first());
    assert_eq!((r.level, r.score), (Level::Medium, Some(6.9)));
    assert!(r.vector.unwrap_or_default().ends_with("/E:P"));
}

#[test]
fn ghsa_npm_record_with_cvss_v3() {
    // GHSA-9wv6-86v2-598j (path-to-regexp ReDoS): CVSS_V3 only, GitHub says HIGH.
    let rec = find("npm", "GHSA-9wv6-86v2-598j");
    assert_eq!(
        rate(&rec, rec.affected.first()),
        Rating {
            level: Level::High,
            score: Some(7.5),
            vector: Some("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H".into())
        }
    );
    // GHSA-qwcr-r2fm-qrc7 (body-parser) has v3.1 (7.5) and v4.0 (8.7): v4.0 wins.
    let rec = find("npm", "GHSA-qwcr-r2fm-qrc7");
    let r = rate(&rec, rec.affected.first());
    assert_eq!((r.level, r.score), (Level::High, Some(8.7)));
    assert!(r.vector.unwrap_or_default().starts_with("CVSS:4.0/"));
    // GHSA-8cf7-32gw-wr33 has no vector: GitHub's MODERATE.
    let rec = find("npm", "GHSA-8cf7-32gw-wr33");
    assert_eq!(rate(&rec, rec.affected.first()), Rating { level: Level::Medium, score: None, vector: None });
}

/// GitHub derives its severity word from the CVSS score: where a GHSA record has a v3.1
/// vector only, our level from the vector is GitHub's word.
#[test]
fn ghsa_levels_from_v3_vectors_agree_with_github() {
    let mut checked = 0;
    for rec in records("npm").into_iter().chain(records("Maven")).filter(|r| r.id.starts_with("GHSA-")) {
        let kinds: Vec<&str> = rec.severity.iter().map(|s| s.kind.as_str()).collect();
        if kinds != ["CVSS_V3"] {
            continue;
        }
        let github = rec.database_specific.as_ref().and_then(|d| d["severity"].as_str()).and_then(Level::parse);
        assert_eq!(Some(rate(&rec, rec.affected.first()).level), github, "{}", rec.id);
        checked += 1;
    }
    assert_eq!(checked, 21);
}

/// The Node.js Security WG published a score next to each vector. 22 of those scores do not
/// follow from their own vector (9.3 for `C:H/I:N/A:N`, say): Red Hat's reference calculator
/// gives our numbers for them, so they are the source's slips and named here.
#[test]
fn nswg_scores_agree_with_the_published_ones() {
    const SOURCE_SLIPS: [&str; 22] = [
        "NSWG-ECO-363",
        "NSWG-ECO-364",
        "NSWG-ECO-365",
        "NSWG-ECO-366",
        "NSWG-ECO-367",
        "NSWG-ECO-368",
        "NSWG-ECO-373",
        "NSWG-ECO-381",
        "NSWG-ECO-383",
        "NSWG-ECO-384",
        "NSWG-ECO-385",
        "NSWG-ECO-386",
        "NSWG-ECO-389",
        "NSWG-ECO-420",
        "NSWG-ECO-439",
        "NSWG-ECO-467",
        "NSWG-ECO-468",
        "NSWG-ECO-485",
        "NSWG-ECO-493",
        "NSWG-ECO-494",
        "NSWG-ECO-515",
        "NSWG-ECO-516",
    ];
    let (mut agree, mut differ) = (0, Vec::new());
    for rec in records("npm").into_iter().filter(|r| r.id.starts_with("NSWG-ECO-") && !r.severity.is_empty()) {
        let published = rec.database_specific.as_ref().and_then(|d| d["cvss_score"].as_f64());
        if rate(&rec, rec.affected.first()).score == published {
            agree += 1;
        } else {
            differ.push(rec.id.clone());
        }
    }
    differ.sort();
    assert_eq!(differ, SOURCE_SLIPS);
    assert_eq!(agree, 435);
    // NSWG-ECO-504's only vector is invalid (`I:U/A:U`): no score, and no word to fall back on.
    let rec = find("npm", "NSWG-ECO-504");
    assert_eq!(candidates(&rec, rec.affected.first())[0].source, "database_specific.cvss_vector");
    assert_eq!(rate(&rec, rec.affected.first()), Rating::default());
}

#[test]
fn pypi_record_without_severity_is_unknown() {
    let rec = find("PyPI", "PYSEC-2005-1");
    assert!(rec.severity.is_empty() && rec.database_specific.is_none());
    assert_eq!(rate(&rec, rec.affected.first()), Rating::default());
    let rec = find("PyPI", "PYSEC-2017-105");
    assert_eq!(rate(&rec, rec.affected.first()).level, Level::High);
}

/// rate() over every record of every zip: the level of each record (the highest over its
/// affected entries), and every vector that failed to parse. The expected counts were computed
/// independently with Red Hat's Python `cvss` package applying the same rules.
#[test]
fn every_real_record_rates_and_every_real_vector_parses() {
    let mut table: BTreeMap<&str, [usize; 5]> = BTreeMap::new();
    let mut failures: Vec<String> = Vec::new();
    for ecosystem in ECOSYSTEMS {
        let mut counts = [0usize; 5];
        for rec in records(ecosystem) {
            let entries: Vec<Option<&Affected>> =
                if rec.affected.is_empty() { vec![None] } else { rec.affected.iter().map(Some).collect() };
            let mut level = Level::Unknown;
            for affected in entries {
                level = level.max(rate(&rec, affected).level);
                for c in candidates(&rec, affected) {
                    if let Err(e) = cvss_base_score(c.vector) {
                        let line = format!("{} {}: {e}", rec.id, c.source);
                        if !failures.contains(&line) {
                            failures.push(line);
                        }
                    }
                }
            }
            counts[level as usize] += 1;
        }
        table.insert(ecosystem, counts);
    }
    println!("ecosystem  UNKNOWN LOW MEDIUM HIGH CRITICAL");
    for (ecosystem, c) in &table {
        println!("{ecosystem:<10} {:>7} {:>3} {:>6} {:>4} {:>8}", c[0], c[1], c[2], c[3], c[4]);
    }
    println!("vectors that failed to parse: {}\n{}", failures.len(), failures.join("\n"));

    let want: BTreeMap<&str, [usize; 5]> = BTreeMap::from([
        ("Alpine", [2437, 0, 0, 0, 0]),
        ("Debian", [11345, 0, 0, 0, 0]),
        ("Go", [4291, 0, 0, 0, 0]),
        ("Maven", [0, 0, 1, 5, 5]),
        ("PyPI", [2459, 8, 86, 74, 34]),
        // 789 records without a vector, and 3 whose v4.0 vector has no impact at all (0.0).
        ("crates.io", [792, 24, 113, 196, 81]),
        ("npm", [10, 33, 155, 246, 41]),
    ]);
    assert_eq!(table, want);
    // The one real vector that does not parse is invalid in its source (see SOURCES.md).
    assert_eq!(
        failures,
        ["NSWG-ECO-504 database_specific.cvss_vector: CVSS vector `CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:U/A:U`: \
          metric I has an invalid value `U`"]
    );
}
