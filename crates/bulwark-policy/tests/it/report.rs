//! PolicyReport and SARIF outputs. SARIF is validated against the official SARIF 2.1.0 schema
//! (the repository's `schemas/sarif-2.1.0.json`) with `check-jsonschema`, as bulwark-report's
//! tests validate `scan`'s. No copy of the wgpolicyk8s.io PolicyReport CRD is available
//! offline, so the reports' shape is asserted field by field against the CRD's fields.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test

use bulwark_policy::glob::ClusterImagePolicy;
use bulwark_policy::report::{policy_report, sarif};
use bulwark_policy::resource::read_file;
use bulwark_policy::{Document, Outcome, Policy, Request, ResourceId, RuleResult};
use serde_json::Value;
use std::process::Command;

/// Real results: two ClusterImagePolicies (one static `fail` in warn mode, one needing
/// signatures) over policy-controller's own test resources (a Pod and a Job), plus a pass, a
/// skip and a cluster-scoped result.
fn results() -> Vec<RuleResult> {
    let dir = bulwark_testkit::shared().join("data/admission/policy-controller/test/testdata/resources");
    let cips = [
        "apiVersion: policy.sigstore.dev/v1beta1\nkind: ClusterImagePolicy\nmetadata: {name: no-timestamp-server}\nspec:\n  mode: warn\n  images: [{glob: 'ghcr.io/sigstore/timestamp-server**'}]\n  authorities: [{static: {action: fail, message: not here}}]\n",
        "apiVersion: policy.sigstore.dev/v1beta1\nkind: ClusterImagePolicy\nmetadata: {name: signed}\nspec:\n  images: [{glob: 'ghcr.io/**'}]\n  authorities: [{name: keyless, keyless: {identities: [{issuer: i, subject: s}]}}]\n",
    ];
    let policies: Vec<ClusterImagePolicy> = cips
        .iter()
        .map(|t| {
            let value = bulwark_policy::yaml::parse_one("cip.yaml", t).unwrap();
            ClusterImagePolicy::compile(&Document { file: "cip.yaml".into(), index: 1, value }).unwrap()
        })
        .collect();
    let mut out = Vec::new();
    for f in ["pod.yaml", "job.yaml"] {
        let path = dir.join(f);
        for doc in read_file(path.clone()) {
            let doc = doc.unwrap();
            let file = format!("resources/{f}");
            let req = Request { file: &file, object: &doc.value, ..Default::default() };
            for p in &policies {
                out.extend(p.evaluate(&req));
            }
        }
    }
    let r = |ns: &str, kind: &str, result: Outcome, message: &str| RuleResult {
        file: "k8s/a b.yaml".into(),
        resource: ResourceId { api_version: "v1".into(), kind: kind.into(), namespace: ns.into(), name: "x".into() },
        policy: "disallow-latest-tag".into(),
        rule: "validate-image-tag".into(),
        result,
        message: message.into(),
    };
    out.push(r("demo-attestations", "Pod", Outcome::Pass, "validation rule 'validate-image-tag' passed."));
    out.push(r("default", "Pod", Outcome::Skip, ""));
    out.push(r("", "Namespace", Outcome::Fail, "cluster-scoped \"quoted\" <message>"));
    out
}

#[test]
fn the_results_under_test_are_what_the_policies_say() {
    let rs = results();
    let got: Vec<(&str, &str, Outcome)> =
        rs.iter().map(|r| (r.resource.kind.as_str(), r.policy.as_str(), r.result)).collect();
    assert_eq!(
        got,
        [
            ("Pod", "no-timestamp-server", Outcome::Warn),
            ("Pod", "signed", Outcome::Error),
            ("Job", "no-timestamp-server", Outcome::Warn),
            ("Job", "signed", Outcome::Error),
            ("Pod", "disallow-latest-tag", Outcome::Pass),
            ("Pod", "disallow-latest-tag", Outcome::Skip),
            ("Namespace", "disallow-latest-tag", Outcome::Fail),
        ]
    );
    assert_eq!(rs[2].rule, "spec.template.spec.containers[0].image");
}

#[test]
fn policy_reports_per_namespace_and_one_for_the_cluster() {
    let rs = results();
    let list = policy_report(&rs).unwrap();
    assert_eq!((list["apiVersion"].as_str(), list["kind"].as_str()), (Some("v1"), Some("List")));
    let items = list["items"].as_array().unwrap();
    let heads: Vec<(&str, &str, Option<&str>)> = items
        .iter()
        .map(|i| {
            (i["kind"].as_str().unwrap(), i["metadata"]["name"].as_str().unwrap(), i["metadata"]["namespace"].as_str())
        })
        .collect();
    assert_eq!(
        heads,
        [
            ("ClusterPolicyReport", "clusterpolicyreport", None),
            ("PolicyReport", "policyreport-ns-default", Some("default")),
            ("PolicyReport", "policyreport-ns-demo-attestations", Some("demo-attestations")),
            ("PolicyReport", "policyreport-ns-demo-keyless-signing", Some("demo-keyless-signing")),
        ]
    );
    let mut total = 0;
    for item in items {
        // The wgpolicyk8s.io/v1alpha2 CRD's fields, and nothing else at the top.
        assert_eq!(item["apiVersion"], "wgpolicyk8s.io/v1alpha2");
        let keys: Vec<&String> = item.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["apiVersion", "kind", "metadata", "results", "summary"]);
        let summary = item["summary"].as_object().unwrap();
        assert_eq!(summary.len(), 5);
        let results = item["results"].as_array().unwrap();
        for o in ["pass", "fail", "warn", "error", "skip"] {
            let n = results.iter().filter(|r| r["result"] == o).count();
            assert_eq!(summary[o].as_u64(), Some(n as u64), "{o}");
        }
        for r in results {
            for k in r.as_object().unwrap().keys() {
                assert!(
                    ["policy", "rule", "result", "message", "resources", "scored", "source"].contains(&k.as_str()),
                    "{k}"
                );
            }
            assert_eq!((r["scored"].as_bool(), r["source"].as_str()), (Some(true), Some("bulwark")));
            let res = r["resources"].as_array().unwrap();
            assert_eq!(res.len(), 1);
            assert_eq!(res[0]["namespace"].as_str(), item["metadata"]["namespace"].as_str());
            assert!(res[0]["kind"].is_string() && res[0]["name"].is_string());
            total += 1;
        }
    }
    assert_eq!(total, rs.len());
    let demo = &items[2];
    assert_eq!(demo["summary"], serde_json::json!({"pass": 1, "fail": 0, "warn": 1, "error": 1, "skip": 0}));
    let first = &demo["results"][0];
    assert_eq!(first["policy"], "no-timestamp-server");
    assert_eq!(first["rule"], "spec.containers[0].image");
    assert_eq!(
        first["resources"][0],
        serde_json::json!({"apiVersion": "v1", "kind": "Pod", "name": "demo", "namespace": "demo-attestations"})
    );
}

#[test]
fn sarif_has_a_rule_per_policy_rule_and_a_result_per_failure() {
    let rs = results();
    let doc = sarif(&rs).unwrap();
    assert_eq!(doc["version"], "2.1.0");
    let run = &doc["runs"][0];
    let rules: Vec<&str> =
        run["tool"]["driver"]["rules"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(
        rules,
        [
            "disallow-latest-tag/validate-image-tag",
            "no-timestamp-server/spec.containers[0].image",
            "no-timestamp-server/spec.template.spec.containers[0].image",
            "signed/spec.containers[0].image",
            "signed/spec.template.spec.containers[0].image",
        ]
    );
    let results = run["results"].as_array().unwrap();
    // 2 warn + 2 error + 1 fail; pass and skip are not findings.
    let levels: Vec<&str> = results.iter().map(|r| r["level"].as_str().unwrap()).collect();
    assert_eq!(levels, ["warning", "error", "warning", "error", "error"]);
    for r in results {
        let i = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(r["ruleId"].as_str(), Some(rules[i]));
    }
    assert_eq!(results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"], "resources/pod.yaml");
    assert_eq!(results[4]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"], "k8s/a%20b.yaml");
    assert_eq!(results[4]["locations"][0]["logicalLocations"][0]["fullyQualifiedName"], "Namespace/x");
}

fn check_sarif_schema(doc: &Value, what: &str) {
    // This crate's own checkout (the testkit's path is that of whichever worktree built it).
    let schema =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas/sarif-2.1.0.json").canonicalize().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("doc.json");
    std::fs::write(&file, serde_json::to_string_pretty(doc).unwrap()).unwrap();
    let o = Command::new("check-jsonschema")
        .arg("--base-uri")
        .arg(format!("file://{}", schema.display()))
        .arg("--schemafile")
        .arg(&schema)
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{what} failed validation:\n{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn sarif_validates_against_the_official_schema() {
    bulwark_testkit::require_tool!("check-jsonschema");
    check_sarif_schema(&sarif(&results()).unwrap(), "SARIF");
    check_sarif_schema(&sarif(&[]).unwrap(), "empty SARIF");
    // And a schema violation is caught (the validator really runs).
    let mut bad = sarif(&results()).unwrap();
    bad["runs"][0]["results"][0]["level"] = "fatal".into();
    let r = std::panic::catch_unwind(|| check_sarif_schema(&bad, "bad SARIF"));
    assert!(r.is_err(), "an invalid level passed the schema");
}
