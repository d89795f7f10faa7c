//! Our JSON: the schema field first, the whole report (suppressed findings and their
//! reasons too) and nothing lost on the way back in.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

use crate::common::{render, report};
use bulwark_match::ScanReport;

#[test]
fn schema_first_and_round_trips() {
    let r = report();
    let text = render(&r, "json", true);
    assert!(text.starts_with("{\n  \"schema\": \"bulwark-scan/1\",\n  \"tool\": \"bulwark "), "{text}");
    assert!(!text.contains('\u{1b}'), "escapes stay JSON-escaped, colour or not");
    let back: ScanReport = serde_json::from_str(&text).unwrap();
    assert_eq!(back, r);

    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(doc["findings"].as_array().unwrap().len(), 5);
    assert_eq!(doc["findings"][0]["severity"], "CRITICAL");
    assert_eq!(doc["findings"][0]["package"]["type"], "deb");
    let suppressed: Vec<(&str, &str, &str)> = doc["suppressed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["finding"]["id"].as_str().unwrap(), s["by"].as_str().unwrap(), s["reason"].as_str().unwrap()))
        .collect();
    assert_eq!(
        suppressed,
        [
            (
                "CVE-2023-4911",
                "vex",
                "vex.json: not_affected (vulnerable_code_not_in_execute_path): no setuid binaries"
            ),
            ("CVE-2024-29041", "ignorefile", ".bulwarkignore:3: CVE-2024-29041 until 2030-01-01"),
            ("CVE-2023-45853", "unfixed", "no fixed version"),
        ]
    );
}

#[test]
fn empty_report() {
    let doc: serde_json::Value = serde_json::from_str(&render(&ScanReport::default(), "json", false)).unwrap();
    assert_eq!(doc["schema"], "bulwark-scan/1");
    assert_eq!(doc["findings"], serde_json::json!([]));
    assert_eq!(doc["packages_scanned"], 0);
}

#[test]
fn registry() {
    let names: Vec<&str> = bulwark_report::formats().iter().map(|f| f.name()).collect();
    assert_eq!(names, ["table", "json", "sarif", "cyclonedx"]);
    for n in names {
        assert_eq!(bulwark_report::format_by_name(n).unwrap().name(), n);
    }
    assert_eq!(bulwark_report::format_by_name("cyclonedx-json").unwrap().name(), "cyclonedx");
    assert!(bulwark_report::format_by_name("spdx-json").is_none());
    assert!(bulwark_report::format_by_name("").is_none());
}
