//! Output formats for policy results: PolicyReport (wgpolicyk8s.io/v1alpha2, as Kyverno writes
//! it) and SARIF for code scanning. Table and JSON are the CLI's.

use crate::error::PolicyError;
use crate::outcome::{Outcome, RuleResult};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// The `source` of every report result: the engine that produced it.
pub const SOURCE: &str = "bulwark";

/// The results as PolicyReports: one `PolicyReport` per namespace for namespaced resources and
/// one `ClusterPolicyReport` for cluster-scoped ones (names as Kyverno's CLI gives them:
/// `policyreport-ns-<namespace>`, `clusterpolicyreport`), each with its `summary` counts,
/// wrapped in a `v1` `List` so one document carries them all. Results keep their input order.
pub fn policy_report(results: &[RuleResult]) -> Result<Value, PolicyError> {
    // None = cluster-scoped.
    let mut by_scope: BTreeMap<Option<&str>, Vec<&RuleResult>> = BTreeMap::new();
    for r in results {
        let ns = r.resource.namespace.as_str();
        by_scope.entry((!ns.is_empty()).then_some(ns)).or_default().push(r);
    }
    let items: Vec<Value> = by_scope
        .into_iter()
        .map(|(ns, results)| {
            let mut summary = Map::new();
            for o in [Outcome::Pass, Outcome::Fail, Outcome::Warn, Outcome::Error, Outcome::Skip] {
                let n = results.iter().filter(|r| r.result == o).count();
                summary.insert(o.as_str().to_string(), json!(n));
            }
            let metadata = match ns {
                Some(ns) => json!({"name": format!("policyreport-ns-{ns}"), "namespace": ns}),
                None => json!({"name": "clusterpolicyreport"}),
            };
            json!({
                "apiVersion": "wgpolicyk8s.io/v1alpha2",
                "kind": if ns.is_some() { "PolicyReport" } else { "ClusterPolicyReport" },
                "metadata": metadata,
                "results": results.iter().map(|r| report_result(r)).collect::<Vec<_>>(),
                "summary": summary,
            })
        })
        .collect();
    Ok(json!({"apiVersion": "v1", "kind": "List", "items": items}))
}

fn report_result(r: &RuleResult) -> Value {
    let mut resource = Map::new();
    if !r.resource.api_version.is_empty() {
        resource.insert("apiVersion".into(), json!(r.resource.api_version));
    }
    resource.insert("kind".into(), json!(r.resource.kind));
    resource.insert("name".into(), json!(r.resource.name));
    if !r.resource.namespace.is_empty() {
        resource.insert("namespace".into(), json!(r.resource.namespace));
    }
    let mut out = Map::new();
    out.insert("policy".into(), json!(r.policy));
    out.insert("rule".into(), json!(r.rule));
    out.insert("result".into(), json!(r.result.as_str()));
    if !r.message.is_empty() {
        out.insert("message".into(), json!(r.message));
    }
    out.insert("resources".into(), json!([resource]));
    out.insert("scored".into(), json!(true));
    out.insert("source".into(), json!(SOURCE));
    Value::Object(out)
}

/// The results as SARIF 2.1.0: one rule per (policy, rule) among the results, one result per
/// `fail` (level error), `warn` (warning) or `error` (error: the rule could not be evaluated),
/// located in the file the resource came from and named by the resource.
pub fn sarif(results: &[RuleResult]) -> Result<Value, PolicyError> {
    let mut rule_index: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for r in results {
        rule_index.insert((r.policy.as_str(), r.rule.as_str()), 0);
    }
    let mut rules = Vec::with_capacity(rule_index.len());
    for (i, ((policy, rule), index)) in rule_index.iter_mut().enumerate() {
        *index = i;
        rules.push(json!({
            "id": rule_id(policy, rule),
            "name": rule_id(policy, rule),
            "shortDescription": {"text": format!("policy {policy}, rule {rule}")},
            "properties": {"policy": policy, "rule": rule},
        }));
    }
    let findings: Vec<Value> = results
        .iter()
        .filter_map(|r| {
            let level = match r.result {
                Outcome::Fail | Outcome::Error => "error",
                Outcome::Warn => "warning",
                Outcome::Pass | Outcome::Skip => return None,
            };
            let index = rule_index.get(&(r.policy.as_str(), r.rule.as_str())).copied().unwrap_or_default();
            let text = if r.message.is_empty() {
                format!("{}: {} {}", r.resource, r.result.as_str(), rule_id(&r.policy, &r.rule))
            } else {
                format!("{}: {}", r.resource, r.message)
            };
            Some(json!({
                "ruleId": rule_id(&r.policy, &r.rule),
                "ruleIndex": index,
                "level": level,
                "kind": "fail",
                "message": {"text": text},
                "locations": [{
                    "physicalLocation": {"artifactLocation": {"uri": file_uri(&r.file)}},
                    "logicalLocations": [{"fullyQualifiedName": r.resource.to_string(), "kind": "resource"}],
                }],
                "properties": {"result": r.result.as_str()},
            }))
        })
        .collect();
    let mut driver = json!({"name": "bulwark", "version": env!("CARGO_PKG_VERSION"), "rules": rules});
    // The project's page only when the workspace names one: no invented URL.
    if let Some(uri) =
        [env!("CARGO_PKG_HOMEPAGE"), env!("CARGO_PKG_REPOSITORY")].into_iter().find(|u| u.starts_with("https://"))
    {
        driver["informationUri"] = json!(uri);
    }
    Ok(json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{"tool": {"driver": driver}, "results": findings}],
    }))
}

fn rule_id(policy: &str, rule: &str) -> String {
    format!("{policy}/{rule}")
}

/// A file as a URI reference: relative paths stay relative (code scanning resolves them
/// against the checkout), absolute ones become `file://` URIs; every byte that may not stand
/// in a path is percent-encoded (`:` too, which in a first segment would read as a scheme).
fn file_uri(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    if path.starts_with('/') {
        out.push_str("file://");
    }
    for &b in path.as_bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/!$&'()*+,;=@".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    if out.is_empty() {
        out.push('.');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::file_uri;

    #[test]
    fn file_uris() {
        assert_eq!(file_uri("k8s/deploy.yaml"), "k8s/deploy.yaml");
        assert_eq!(file_uri("/abs/a b.yaml"), "file:///abs/a%20b.yaml");
        assert_eq!(file_uri("c:x/ü"), "c%3Ax/%C3%BC");
        assert_eq!(file_uri("-"), "-");
    }
}
