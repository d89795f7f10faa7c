//! Kubernetes' `MatchResources` (admissionregistration.k8s.io): which requests a CEL policy or
//! binding applies to, as k8s.io/apiserver's admission policy matcher decides it.

use crate::dialect::Request;
use crate::error::PolicyError;
use crate::resource::labels;
use serde_json::Value;
use std::collections::BTreeMap;

/// A label selector (`matchLabels` and `matchExpressions`).
#[derive(Clone, Debug, Default)]
pub struct Selector {
    labels: BTreeMap<String, String>,
    expressions: Vec<(String, Op, Vec<String>)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    In,
    NotIn,
    Exists,
    DoesNotExist,
}

impl Selector {
    fn parse(label: &str, v: &Value, path: &str) -> Result<Option<Selector>, PolicyError> {
        if v.is_null() {
            return Ok(None);
        }
        super::known(label, v, path, &["matchLabels", "matchExpressions"])?;
        let mut s = Selector::default();
        if let Some(m) = v["matchLabels"].as_object() {
            for (k, val) in m {
                let val = val
                    .as_str()
                    .ok_or_else(|| PolicyError::invalid(label, format!("`{path}.matchLabels.{k}` is not a string")))?;
                s.labels.insert(k.clone(), val.to_string());
            }
        }
        for (i, e) in
            super::array(label, &v["matchExpressions"], &format!("{path}.matchExpressions"))?.iter().enumerate()
        {
            let p = format!("{path}.matchExpressions[{i}]");
            super::known(label, e, &p, &["key", "operator", "values"])?;
            let key = e["key"].as_str().unwrap_or_default().to_string();
            let op = match e["operator"].as_str() {
                Some("In") => Op::In,
                Some("NotIn") => Op::NotIn,
                Some("Exists") => Op::Exists,
                Some("DoesNotExist") => Op::DoesNotExist,
                other => {
                    return Err(PolicyError::invalid(
                        label,
                        format!("`{p}.operator` {other:?} is not a selector operator"),
                    ))
                }
            };
            let values = super::array(label, &e["values"], &format!("{p}.values"))?
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect();
            s.expressions.push((key, op, values));
        }
        Ok(Some(s))
    }

    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.labels.iter().all(|(k, v)| labels.get(k) == Some(v))
            && self.expressions.iter().all(|(k, op, values)| match op {
                Op::In => labels.get(k).is_some_and(|v| values.contains(v)),
                Op::NotIn => labels.get(k).is_none_or(|v| !values.contains(v)),
                Op::Exists => labels.contains_key(k),
                Op::DoesNotExist => !labels.contains_key(k),
            })
    }
}

/// One `NamedRuleWithOperations`.
#[derive(Clone, Debug)]
struct Rule {
    groups: Vec<String>,
    versions: Vec<String>,
    resources: Vec<String>,
    operations: Vec<String>,
    scope: String,
    names: Vec<String>,
}

impl Rule {
    fn parse(label: &str, v: &Value, path: &str) -> Result<Rule, PolicyError> {
        super::known(
            label,
            v,
            path,
            &["apiGroups", "apiVersions", "resources", "operations", "scope", "resourceNames"],
        )?;
        let list = |f: &str| -> Result<Vec<String>, PolicyError> {
            Ok(super::array(label, &v[f], &format!("{path}.{f}"))?
                .iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect())
        };
        Ok(Rule {
            groups: list("apiGroups")?,
            versions: list("apiVersions")?,
            resources: list("resources")?,
            operations: list("operations")?,
            scope: v["scope"].as_str().unwrap_or("*").to_string(),
            names: list("resourceNames")?,
        })
    }

    fn matches(&self, group: &str, version: &str, resource: &str, op: &str, namespaced: bool, name: &str) -> bool {
        let any = |list: &[String], x: &str| list.iter().any(|l| l == "*" || l == x);
        let resource_ok = self.resources.iter().any(|r| {
            let (res, sub) = r.split_once('/').unwrap_or((r, ""));
            // Offline there is no subresource.
            (res == "*" || res == resource) && (sub == "*" || sub.is_empty())
        });
        let scope_ok = match self.scope.as_str() {
            "Cluster" => !namespaced,
            "Namespaced" => namespaced,
            _ => true,
        };
        any(&self.groups, group)
            && any(&self.versions, version)
            && resource_ok
            && any(&self.operations, op)
            && scope_ok
            && (self.names.is_empty() || self.names.iter().any(|n| n == name))
    }
}

/// `matchConstraints` / a binding's `matchResources`.
#[derive(Clone, Debug)]
pub struct MatchResources {
    namespace_selector: Option<Selector>,
    object_selector: Option<Selector>,
    rules: Vec<Rule>,
    exclude: Vec<Rule>,
    /// A binding's `matchResources` without `resourceRules` does not constrain resources
    /// (it is intersected with the policy's constraints).
    any_resource: bool,
}

impl MatchResources {
    /// A binding's `matchResources`: without `resourceRules`, every resource the policy matches.
    pub fn parse_binding(label: &str, v: &Value, path: &str) -> Result<MatchResources, PolicyError> {
        let mut m = MatchResources::parse(label, v, path)?;
        m.any_resource = m.rules.is_empty();
        Ok(m)
    }

    pub fn parse(label: &str, v: &Value, path: &str) -> Result<MatchResources, PolicyError> {
        if v.is_null() {
            return Err(PolicyError::invalid(label, format!("`{path}` is required")));
        }
        super::known(
            label,
            v,
            path,
            &["namespaceSelector", "objectSelector", "resourceRules", "excludeResourceRules", "matchPolicy"],
        )?;
        // `Equivalent` (the default) also matches a request for another version of the same
        // resource; offline the request is for the version written, so both are `Exact` here.
        if let Some(p) = v["matchPolicy"].as_str().filter(|p| !matches!(*p, "Exact" | "Equivalent")) {
            return Err(PolicyError::invalid(
                label,
                format!("`{path}.matchPolicy` {p:?} is neither Exact nor Equivalent"),
            ));
        }
        let rules = |f: &str| -> Result<Vec<Rule>, PolicyError> {
            super::array(label, &v[f], &format!("{path}.{f}"))?
                .iter()
                .enumerate()
                .map(|(i, r)| Rule::parse(label, r, &format!("{path}.{f}[{i}]")))
                .collect()
        };
        Ok(MatchResources {
            namespace_selector: Selector::parse(label, &v["namespaceSelector"], &format!("{path}.namespaceSelector"))?,
            object_selector: Selector::parse(label, &v["objectSelector"], &format!("{path}.objectSelector"))?,
            rules: rules("resourceRules")?,
            exclude: rules("excludeResourceRules")?,
            any_resource: false,
        })
    }

    /// Whether the request is in scope.
    pub fn matches(&self, request: &Request, resource: &str, namespace: Option<&str>) -> Result<bool, String> {
        let object = request.object;
        let (group, version) = crate::cel::split_api_version(object["apiVersion"].as_str().unwrap_or_default());
        let op = request.operation.as_str();
        let name = object["metadata"]["name"].as_str().unwrap_or_default();
        let namespaced = namespace.is_some();
        if !self.any_resource && !self.rules.iter().any(|r| r.matches(group, version, resource, op, namespaced, name)) {
            return Ok(false);
        }
        if self.exclude.iter().any(|r| r.matches(group, version, resource, op, namespaced, name)) {
            return Ok(false);
        }
        if let Some(sel) = &self.object_selector {
            let ok = sel.matches(&labels(object)) || request.old_object.is_some_and(|o| sel.matches(&labels(o)));
            if !ok {
                return Ok(false);
            }
        }
        if let Some(sel) = &self.namespace_selector {
            let kind = object["kind"].as_str().unwrap_or_default();
            let ns_labels = if kind == "Namespace" && group.is_empty() {
                Some(labels(object))
            } else if namespaced {
                Some(request.namespace_labels.cloned().unwrap_or_default())
            } else {
                // Other cluster-scoped objects are never skipped by a namespace selector.
                None
            };
            if let Some(l) = ns_labels {
                if !sel.matches(&l) {
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }
}

/// The resource (plural) of an object's kind, as Kubernetes guesses it when there is no
/// discovery (`UnsafeGuessKindToResource`): lower case, `-s`, `-es` after `s`, `-ies` for `-y`.
pub fn resource_of(object: &Value) -> String {
    let kind = object["kind"].as_str().unwrap_or_default().to_ascii_lowercase();
    if kind.is_empty() || kind == "endpoints" {
        return kind;
    }
    if kind.ends_with('s') {
        format!("{kind}es")
    } else if let Some(stem) = kind.strip_suffix('y') {
        format!("{stem}ies")
    } else {
        format!("{kind}s")
    }
}
