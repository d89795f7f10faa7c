//! SARIF: what GitHub code scanning reads (rules, levels, security-severity, relative
//! locations, fingerprints), validated against the official SARIF 2.1.0 schema with
//! `check-jsonschema`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

use crate::common::{check_schema, finding, json, package, render, report, LOCK};
use bulwark_catalog::PackageType;
use bulwark_match::ScanReport;
use bulwark_vulndb::severity::Level;
use serde_json::Value;
use std::collections::HashSet;

fn rule<'a>(run: &'a Value, id: &str) -> &'a Value {
    run["tool"]["driver"]["rules"].as_array().unwrap().iter().find(|r| r["id"] == id).unwrap()
}

#[test]
fn validates_against_the_official_schema() {
    bulwark_testkit::require_tool!("check-jsonschema");
    check_schema("sarif-2.1.0.json", &render(&report(), "sarif", false), "SARIF");
    check_schema("sarif-2.1.0.json", &render(&ScanReport::default(), "sarif", false), "empty SARIF");
}

#[test]
fn one_rule_per_advisory_and_a_result_per_package() {
    let doc = json(&report(), "sarif");
    assert_eq!(doc["version"], "2.1.0");
    let runs = doc["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1);
    let run = &runs[0];
    let driver = &run["tool"]["driver"];
    assert_eq!(driver["name"], "bulwark");
    assert_eq!(driver["version"], env!("CARGO_PKG_VERSION"));

    let rules = driver["rules"].as_array().unwrap();
    let ids: Vec<&str> = rules.iter().map(|r| r["id"].as_str().unwrap()).collect();
    // CVE-2024-5535 is in two packages but is one rule; suppressed findings are left out.
    assert_eq!(ids, ["CVE-2024-5535", "CVE-2024-2511", "GHSA-35jh-r3h4-6jhm", "GHSA-vh95-rmgr-6w4m"]);
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), 5);
    for r in results {
        let i = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[i]["id"], r["ruleId"]);
    }
    assert_eq!(results.iter().filter(|r| r["ruleId"] == "CVE-2024-5535").count(), 2);

    let overread = rule(run, "CVE-2024-5535");
    assert_eq!(overread["shortDescription"]["text"], "openssl: SSL_select_next_proto buffer overread");
    assert!(overread["fullDescription"]["text"].as_str().unwrap().starts_with("Calling the OpenSSL API"));
    assert_eq!(overread["helpUri"], "https://security-tracker.debian.org/tracker/CVE-2024-5535");
    assert_eq!(overread["properties"]["security-severity"], "9.1");
    assert_eq!(overread["properties"]["tags"], serde_json::json!(["security", "vulnerability", "CRITICAL"]));
    let help = overread["help"]["text"].as_str().unwrap();
    for want in [
        "Package: libssl3",
        "Package: openssl",
        "Installed Version: 3.0.11-1~deb12u2",
        "Fixed Version: 3.0.13-1~deb12u1",
    ] {
        assert!(help.contains(want), "{want} in {help}");
    }
    let md = overread["help"]["markdown"].as_str().unwrap();
    assert!(md.contains("| CRITICAL | libssl3 | 3.0.11-1~deb12u2 |"), "{md}");
    assert!(md.contains("[CVE-2024-5535](<https://security-tracker.debian.org/tracker/CVE-2024-5535>)"), "{md}");
    // A description cannot inject links or HTML into GitHub's page; its paragraphs stay.
    let md = rule(run, "GHSA-35jh-r3h4-6jhm")["help"]["markdown"].as_str().unwrap();
    assert!(
        md.ends_with("Line one\n\nLine two with \\<script\\>alert\\(1\\)\\</script\\> and \\[a link\\]\\(javascript:alert\\(1\\)\\)\n"),
        "{md}"
    );

    // Without a score, the level's value; none for UNKNOWN.
    assert_eq!(rule(run, "CVE-2024-2511")["properties"]["security-severity"], "2.0");
    assert_eq!(rule(run, "GHSA-35jh-r3h4-6jhm")["properties"]["security-severity"], "7.2");
    let minimist = rule(run, "GHSA-vh95-rmgr-6w4m");
    assert!(minimist["properties"].get("security-severity").is_none());
    // A javascript: link is no helpUri.
    assert!(minimist.get("helpUri").is_none(), "{minimist}");

    let levels: Vec<(&str, &str)> =
        results.iter().map(|r| (r["ruleId"].as_str().unwrap(), r["level"].as_str().unwrap())).collect();
    assert_eq!(
        levels,
        [
            ("CVE-2024-5535", "error"),
            ("CVE-2024-2511", "note"),
            ("CVE-2024-5535", "error"),
            ("GHSA-35jh-r3h4-6jhm", "error"),
            ("GHSA-vh95-rmgr-6w4m", "note")
        ]
    );
    assert_eq!(
        results[0]["message"]["text"],
        "Package libssl3 version 3.0.11-1~deb12u2 is vulnerable to CVE-2024-5535 (fixed in 3.0.13-1~deb12u1)"
    );
    assert_eq!(
        results[4]["message"]["text"],
        "Package minimist version 1.2.0 is vulnerable to GHSA-vh95-rmgr-6w4m (no fix yet)"
    );
}

#[test]
fn locations_are_relative_and_fingerprints_unique() {
    let doc = json(&report(), "sarif");
    let run = &doc["runs"][0];
    assert_eq!(run["originalUriBaseIds"]["ROOTPATH"]["uri"], "file:///");
    let results = run["results"].as_array().unwrap();
    let loc = &results[0]["locations"][0]["physicalLocation"];
    assert_eq!(loc["artifactLocation"]["uri"], "var/lib/dpkg/status");
    assert_eq!(loc["artifactLocation"]["uriBaseId"], "ROOTPATH");
    assert_eq!(loc["region"]["startLine"], 1);
    assert_eq!(results[3]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"], "app/package-lock.json");
    // The same advisory in two packages of one file are two alerts, not one.
    let prints: HashSet<&str> =
        results.iter().map(|r| r["partialFingerprints"]["bulwarkFinding/v1"].as_str().unwrap()).collect();
    assert_eq!(prints.len(), results.len());
    // …and the same in every run.
    assert_eq!(json(&report(), "sarif"), doc);
}

/// Scores out of range, a link with a space, a path that needs escaping, a title of control
/// characters: still a document the schema accepts.
#[test]
fn hostile_values_still_validate() {
    bulwark_testkit::require_tool!("check-jsonschema");
    let mut a = finding(
        "CVE-2024-1",
        package(PackageType::Npm, "a\nb", "1.0\u{1b}[0m", "", "/weird path/ü:x/package-lock.json"),
        Level::High,
        None,
    );
    a.score = Some(f64::NAN);
    a.url = "https://example.org/a b".into();
    a.title = Some("\u{1b}]8;;http://evil\u{7}click\u{1b}]8;;\u{7}".into());
    let mut b = finding("CVE-2024-2", package(PackageType::Npm, "c", "2", "", LOCK), Level::Medium, Some("3"));
    b.score = Some(11.0);
    b.description = Some("x".repeat(100_000));
    let r = ScanReport { findings: vec![a, b], ..Default::default() };
    let text = render(&r, "sarif", false);
    check_schema("sarif-2.1.0.json", &text, "hostile SARIF");
    let doc: Value = serde_json::from_str(&text).unwrap();
    let run = &doc["runs"][0];
    assert_eq!(
        run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "weird%20path/%C3%BC%3Ax/package-lock.json"
    );
    assert_eq!(rule(run, "CVE-2024-1")["properties"]["security-severity"], "8.0");
    assert_eq!(rule(run, "CVE-2024-2")["properties"]["security-severity"], "5.5");
    assert!(rule(run, "CVE-2024-1").get("helpUri").is_none());
    assert!(rule(run, "CVE-2024-2")["fullDescription"]["text"].as_str().unwrap().chars().count() <= 2000);
}
