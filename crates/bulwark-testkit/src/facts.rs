//! The independent scan oracle's findings (`tests/facts/scan/expected.json`, see
//! bulwark-cli's scan tests for how they were made) and a `bulwark-scan/1` report's findings
//! in the same shape, to compare.

use std::collections::{BTreeMap, BTreeSet};

/// (package name, version, path).
pub type Key = (String, String, String);

/// A `bulwark-scan/1` report's findings: (name, version, path) → the records that matched.
pub fn records(report: &serde_json::Value) -> BTreeMap<Key, BTreeSet<String>> {
    let mut out: BTreeMap<Key, BTreeSet<String>> = BTreeMap::new();
    for f in report["findings"].as_array().unwrap() {
        let p = &f["package"];
        let key = (
            p["name"].as_str().unwrap().to_string(),
            p["version"].as_str().unwrap().to_string(),
            p["location"]["path"].as_str().unwrap().to_string(),
        );
        let set = out.entry(key).or_default();
        for r in f["records"].as_array().unwrap() {
            set.insert(r.as_str().unwrap().to_string());
        }
    }
    out
}

/// The oracle's findings for a shared image (or another subject it has facts for).
pub fn expected(image: &str) -> BTreeMap<Key, BTreeSet<String>> {
    let path = crate::repo().join("tests/facts/scan/expected.json");
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    doc[image]
        .as_array()
        .unwrap_or_else(|| panic!("no facts for {image}"))
        .iter()
        .map(|r| {
            let key = (
                r["name"].as_str().unwrap().to_string(),
                r["version"].as_str().unwrap().to_string(),
                r["path"].as_str().unwrap().to_string(),
            );
            (key, r["records"].as_array().unwrap().iter().map(|x| x.as_str().unwrap().to_string()).collect())
        })
        .collect()
}

/// [`records`] of a report given as JSON text (as the registry stores it).
pub fn records_json(report: &str) -> BTreeMap<Key, BTreeSet<String>> {
    records(&serde_json::from_str(report).unwrap())
}
