//! CycloneDX 1.6 with vulnerabilities: components for the vulnerable packages, one
//! vulnerability per finding pointing at its component, VEX-suppressed findings with their
//! analysis; validated against the official schema with `check-jsonschema`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

use crate::common::{check_schema, finding, json, package, render, report, LOCK};
use bulwark_catalog::PackageType;
use bulwark_match::ScanReport;
use bulwark_vulndb::severity::Level;
use serde_json::{json, Value};
use std::collections::HashSet;

const SCHEMA: &str = "cyclonedx/bom-1.6.schema.json";

fn vuln<'a>(doc: &'a Value, id: &str) -> Vec<&'a Value> {
    doc["vulnerabilities"].as_array().unwrap().iter().filter(|v| v["id"] == id).collect()
}

#[test]
fn validates_against_the_official_schema() {
    bulwark_testkit::require_tool!("check-jsonschema");
    check_schema(SCHEMA, &render(&report(), "cyclonedx", false), "CycloneDX");
    check_schema(SCHEMA, &render(&ScanReport::default(), "cyclonedx-json", false), "empty CycloneDX");
}

#[test]
fn components_and_vulnerabilities() {
    let doc = json(&report(), "cyclonedx-json");
    assert_eq!(doc["specVersion"], "1.6");
    assert_eq!(doc["metadata"]["component"]["type"], "container");
    assert_eq!(doc["metadata"]["component"]["name"], "registry.example.com/team/app:1.0");
    assert_eq!(doc["metadata"]["tools"]["components"][0]["name"], "bulwark");

    let comps = doc["components"].as_array().unwrap();
    let names: Vec<&str> = comps.iter().map(|c| c["name"].as_str().unwrap()).collect();
    // libssl3 once for its two advisories; libc6 for its VEX-suppressed one.
    assert_eq!(names, ["libssl3", "openssl", "lodash", "minimist", "libc6"]);
    let refs: HashSet<&str> = comps.iter().map(|c| c["bom-ref"].as_str().unwrap()).collect();
    assert_eq!(refs.len(), comps.len());
    assert_eq!(comps[2]["bom-ref"], "pkg:npm/lodash@4.17.15");
    assert_eq!(comps[2]["purl"], "pkg:npm/lodash@4.17.15");

    let vulns = doc["vulnerabilities"].as_array().unwrap();
    assert_eq!(vulns.len(), 6);
    for v in vulns {
        let r = v["affects"][0]["ref"].as_str().unwrap();
        assert!(refs.contains(r), "{r} is no component");
    }
    // Left out like in the table: ignored and unfixed.
    assert!(vuln(&doc, "CVE-2024-29041").is_empty() && vuln(&doc, "CVE-2023-45853").is_empty());

    let overread = vuln(&doc, "CVE-2024-5535");
    assert_eq!(overread.len(), 2);
    let v = overread[0];
    assert_eq!(
        v["ratings"],
        json!([{
            "score": 9.1,
            "severity": "critical",
            "method": "CVSSv31",
            "vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:H"
        }])
    );
    assert_eq!(v["source"], json!({"name": "NVD", "url": "https://security-tracker.debian.org/tracker/CVE-2024-5535"}));
    assert_eq!(v["references"][0]["id"], "DSA-5678-1");
    assert_eq!(v["references"][0]["source"]["name"], "Debian");
    assert_eq!(v["recommendation"], "Upgrade libssl3 to 3.0.13-1~deb12u1");
    assert_eq!(v["description"], "openssl: SSL_select_next_proto buffer overread");
    assert!(v["detail"].as_str().unwrap().starts_with("Calling the OpenSSL API"));
    assert_eq!(v["published"], "2024-06-27T11:15:00Z");
    assert_eq!(
        v["affects"],
        json!([{"ref": comps[0]["bom-ref"], "versions": [{"version": "3.0.11-1~deb12u2", "status": "affected"}]}])
    );
    assert!(v.get("analysis").is_none());
    assert_eq!(overread[1]["affects"][0]["ref"], comps[1]["bom-ref"]);
    assert_eq!(overread[1]["recommendation"], "Upgrade openssl to 3.0.13-1~deb12u1");

    let lodash = vuln(&doc, "GHSA-35jh-r3h4-6jhm")[0];
    assert_eq!(lodash["source"]["name"], "GitHub");
    assert_eq!(
        lodash["references"],
        json!([{"id": "CVE-2021-23337", "source": {"name": "NVD", "url": "https://osv.dev/vulnerability/CVE-2021-23337"}}])
    );
    // "not a date" is no date-time.
    assert!(lodash.get("published").is_none());
    let minimist = vuln(&doc, "GHSA-vh95-rmgr-6w4m")[0];
    assert_eq!(minimist["ratings"], json!([{"severity": "unknown"}]));
    assert!(minimist.get("recommendation").is_none());
    assert_eq!(minimist["source"], json!({"name": "GitHub"}), "a javascript: link is dropped");

    let glibc = vuln(&doc, "CVE-2023-4911")[0];
    assert_eq!(
        glibc["analysis"],
        json!({
            "state": "not_affected",
            "justification": "code_not_reachable",
            "detail": "vex.json: not_affected (vulnerable_code_not_in_execute_path): no setuid binaries"
        })
    );
    assert_eq!(glibc["affects"][0]["versions"][0]["status"], "unaffected");
}

/// The same package at two places is two components with distinct refs; versions longer than
/// the schema allows are cut; a NaN score is no score; still valid.
#[test]
fn duplicates_and_hostile_values_still_validate() {
    bulwark_testkit::require_tool!("check-jsonschema");
    let long = "9".repeat(5000);
    let mut a =
        finding("CVE-2024-1", package(PackageType::Npm, "a", &long, "pkg:npm/a@1", LOCK), Level::High, Some("2"));
    a.score = Some(f64::NAN);
    a.published = Some("2024-02-30T00:00:00+25:00".into());
    let mut b = a.clone();
    b.package.location.path = "/other/package-lock.json".into();
    let mut c = finding("CVE-2024-2", package(PackageType::Npm, "b", "1", "", LOCK), Level::Low, None);
    c.cvss_vector = Some("AV:N/AC:L/Au:N/C:P/I:P/A:P".into());
    c.score = Some(5.0);
    let r = ScanReport { findings: vec![a, b, c], ..Default::default() };
    let text = render(&r, "cyclonedx", false);
    check_schema(SCHEMA, &text, "hostile CycloneDX");
    let doc: Value = serde_json::from_str(&text).unwrap();
    let refs: Vec<&str> =
        doc["components"].as_array().unwrap().iter().map(|c| c["bom-ref"].as_str().unwrap()).collect();
    assert_eq!(refs, ["pkg:npm/a@1", "pkg:npm/a@1-2", "npm:b@1"]);
    assert_eq!(doc["vulnerabilities"][0]["ratings"], json!([{"severity": "high"}]));
    assert_eq!(doc["vulnerabilities"][2]["ratings"][0]["method"], "CVSSv2");
    assert_eq!(doc["vulnerabilities"][0]["affects"][0]["versions"][0]["version"].as_str().unwrap().len(), 1024);
}
