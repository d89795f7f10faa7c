//! `match` and `exclude` (pkg/utils/match): kinds with group/version and wildcards, names and
//! namespaces with wildcards, label and namespace selectors, operations, subjects.

use super::pattern::wildcard_match;
use crate::dialect::Request;
use serde_json::Value;

/// The fields of a resource filter that we evaluate; anything else is refused at compile time.
pub const RESOURCE_FIELDS: &[&str] =
    &["kinds", "names", "name", "namespaces", "selector", "namespaceSelector", "operations", "annotations"];

/// Fields of a match block whose data is not offline (who may do what in the cluster).
pub const CLUSTER_FIELDS: &[&str] = &["roles", "clusterRoles"];

/// Checks a `match`/`exclude` block's shape; returns the unsupported field, if any.
pub fn unsupported_field(block: &Value, prefix: &str) -> Option<String> {
    let filters: Vec<(String, &Value)> = match block {
        Value::Object(o) => {
            let mut v = Vec::new();
            for (k, x) in o {
                match k.as_str() {
                    "any" | "all" => {
                        for (i, f) in x.as_array().into_iter().flatten().enumerate() {
                            v.push((format!("{prefix}.{k}[{i}]"), f));
                        }
                    }
                    "resources" | "subjects" | "roles" | "clusterRoles" => {}
                    other => return Some(format!("{prefix}.{other}")),
                }
            }
            if o.contains_key("resources")
                || o.contains_key("subjects")
                || o.contains_key("roles")
                || o.contains_key("clusterRoles")
            {
                v.push((prefix.to_string(), block));
            }
            v
        }
        Value::Null => Vec::new(),
        _ => return Some(prefix.to_string()),
    };
    for (path, f) in filters {
        let Some(fo) = f.as_object() else { return Some(path) };
        for (k, x) in fo {
            match k.as_str() {
                "resources" => {
                    for rk in x.as_object().into_iter().flatten().map(|(k, _)| k) {
                        if !RESOURCE_FIELDS.contains(&rk.as_str()) {
                            return Some(format!("{path}.resources.{rk}"));
                        }
                    }
                }
                "subjects" => {}
                "any" | "all" if path == prefix => {}
                c if CLUSTER_FIELDS.contains(&c) => return Some(format!("{path}.{c}")),
                other => return Some(format!("{path}.{other}")),
            }
        }
    }
    None
}

/// Whether a `match` block selects the request (an empty block selects nothing).
pub fn matches(block: &Value, req: &Request) -> bool {
    if let Some(any) = block.get("any").and_then(Value::as_array) {
        if !any.is_empty() {
            return any.iter().any(|f| filter(f, req));
        }
    }
    if let Some(all) = block.get("all").and_then(Value::as_array) {
        if !all.is_empty() {
            return all.iter().all(|f| filter(f, req));
        }
    }
    if block.get("resources").is_some() || block.get("subjects").is_some() {
        return filter(block, req);
    }
    false
}

/// Whether an `exclude` block excludes the request.
pub fn excluded(block: &Value, req: &Request) -> bool {
    if block.is_null() {
        return false;
    }
    matches(block, req)
}

/// One resource filter: every condition that it states holds.
fn filter(f: &Value, req: &Request) -> bool {
    let r = &f["resources"];
    let obj = req.object;
    let meta = &obj["metadata"];
    let kind = obj["kind"].as_str().unwrap_or_default();
    let name = meta["name"].as_str().or_else(|| meta["generateName"].as_str()).unwrap_or_default();
    let namespace = meta["namespace"].as_str().unwrap_or_default();
    if let Some(kinds) = r.get("kinds").and_then(Value::as_array) {
        let api = obj["apiVersion"].as_str().unwrap_or_default();
        let (group, version) = api.rsplit_once('/').unwrap_or(("", api));
        if !kinds.iter().filter_map(Value::as_str).any(|k| kind_matches(k, group, version, kind)) {
            return false;
        }
    }
    if let Some(n) = r.get("name").and_then(Value::as_str) {
        if !wildcard_match(n, name) {
            return false;
        }
    }
    if let Some(names) = r.get("names").and_then(Value::as_array) {
        if !names.is_empty() && !names.iter().filter_map(Value::as_str).any(|n| wildcard_match(n, name)) {
            return false;
        }
    }
    if let Some(nss) = r.get("namespaces").and_then(Value::as_array) {
        // A Namespace is matched by its own name (Kyverno's checkNameSpace).
        let ns = if kind == "Namespace" { name } else { namespace };
        if !nss.is_empty() && !nss.iter().filter_map(Value::as_str).any(|n| wildcard_match(n, ns)) {
            return false;
        }
    }
    if let Some(ops) = r.get("operations").and_then(Value::as_array) {
        if !ops.is_empty() && !ops.iter().filter_map(Value::as_str).any(|o| o == req.operation.as_str()) {
            return false;
        }
    }
    if let Some(ann) = r.get("annotations").and_then(Value::as_object) {
        let have = meta["annotations"].as_object();
        let ok = ann.iter().all(|(k, v)| {
            have.into_iter().flatten().any(|(hk, hv)| {
                wildcard_match(k, hk) && wildcard_match(v.as_str().unwrap_or_default(), hv.as_str().unwrap_or_default())
            })
        });
        if !ok {
            return false;
        }
    }
    if let Some(sel) = r.get("selector") {
        if !sel.is_null() && !selector(sel, &labels(&meta["labels"])) {
            return false;
        }
    }
    if let Some(sel) = r.get("namespaceSelector") {
        if !sel.is_null() {
            let ns_labels: Vec<(String, String)> = if kind == "Namespace" {
                labels(&meta["labels"])
            } else {
                req.namespace_labels.into_iter().flatten().map(|(k, v)| (k.clone(), v.clone())).collect()
            };
            if !selector(sel, &ns_labels) {
                return false;
            }
        }
    }
    if let Some(subjects) = f.get("subjects").and_then(Value::as_array) {
        if !subjects.is_empty() && !subjects.iter().any(|s| subject(s, req)) {
            return false;
        }
    }
    true
}

fn subject(s: &Value, req: &Request) -> bool {
    let Some(user) = req.user else { return false };
    let name = s["name"].as_str().unwrap_or_default();
    match s["kind"].as_str().unwrap_or_default() {
        "User" => wildcard_match(name, &user.username),
        "Group" => user.groups.iter().any(|g| wildcard_match(name, g)),
        "ServiceAccount" => {
            let ns = s["namespace"].as_str().unwrap_or_default();
            user.username == format!("system:serviceaccount:{ns}:{name}")
        }
        _ => false,
    }
}

fn labels(v: &Value) -> Vec<(String, String)> {
    v.as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())))
        .collect()
}

/// A Kubernetes label selector (Kyverno allows wildcards in matchLabels).
pub fn selector(sel: &Value, labels: &[(String, String)]) -> bool {
    let get = |k: &str| labels.iter().find(|(lk, _)| lk == k).map(|(_, v)| v.as_str());
    if let Some(ml) = sel.get("matchLabels").and_then(Value::as_object) {
        for (k, v) in ml {
            let v = v.as_str().unwrap_or_default();
            let ok = if k.contains('*') || k.contains('?') || v.contains('*') || v.contains('?') {
                labels.iter().any(|(lk, lv)| wildcard_match(k, lk) && wildcard_match(v, lv))
            } else {
                get(k) == Some(v)
            };
            if !ok {
                return false;
            }
        }
    }
    for e in sel.get("matchExpressions").and_then(Value::as_array).into_iter().flatten() {
        let key = e["key"].as_str().unwrap_or_default();
        let values: Vec<&str> = e["values"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        let ok = match e["operator"].as_str().unwrap_or_default() {
            "In" => get(key).is_some_and(|v| values.contains(&v)),
            "NotIn" => get(key).is_none_or(|v| !values.contains(&v)),
            "Exists" => get(key).is_some(),
            "DoesNotExist" => get(key).is_none(),
            _ => false,
        };
        if !ok {
            return false;
        }
    }
    true
}

/// A `kinds` entry (`Pod`, `v1/Pod`, `apps/v1/Deployment`, `*`, `Pod/status`) against a
/// resource's group, version and kind.
pub fn kind_matches(entry: &str, group: &str, version: &str, kind: &str) -> bool {
    if entry == "*" {
        return true;
    }
    let parts: Vec<&str> = entry.split('/').collect();
    // A subresource form (`Pod/status`, `v1/Pod/status`) never matches the object itself.
    let (g, v, k) = match parts.as_slice() {
        [k] => ("*", "*", *k),
        [a, b] => {
            if b.chars().next().is_some_and(char::is_lowercase) {
                return false;
            }
            ("*", *a, *b)
        }
        [g, v, k] => {
            if k.chars().next().is_some_and(char::is_lowercase) {
                return false;
            }
            (*g, *v, *k)
        }
        _ => return false,
    };
    wildcard_match(g, group) && wildcard_match(v, version) && wildcard_match(k, kind)
}
