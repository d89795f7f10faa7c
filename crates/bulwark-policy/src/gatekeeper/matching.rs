//! A constraint's `spec.match`, as Gatekeeper's `pkg/mutation/match` decides it: every
//! top-level matcher must agree (kinds, scope, namespaces, excludedNamespaces, labelSelector,
//! namespaceSelector, name, source); an unset matcher matches everything.

use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// The fields of Gatekeeper's `Match` (match_types.go); any other is an error naming it.
const FIELDS: &[&str] =
    &["kinds", "scope", "namespaces", "excludedNamespaces", "labelSelector", "namespaceSelector", "name", "source"];

#[derive(Clone, Debug, Default)]
pub struct Match {
    kinds: Vec<Kinds>,
    scope: String,
    namespaces: Vec<String>,
    excluded_namespaces: Vec<String>,
    label_selector: Option<Selector>,
    namespace_selector: Option<Selector>,
    name: String,
    source: String,
}

#[derive(Clone, Debug, Default)]
struct Kinds {
    api_groups: Vec<String>,
    kinds: Vec<String>,
}

/// A `metav1.LabelSelector`, already checked as `LabelSelectorAsSelector` checks it.
#[derive(Clone, Debug, Default)]
pub struct Selector {
    labels: BTreeMap<String, String>,
    expressions: Vec<Requirement>,
}

#[derive(Clone, Debug)]
enum Requirement {
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    DoesNotExist(String),
}

/// What is matched: the object, and its namespace when known (a `Namespace` object with labels).
pub struct Target<'a> {
    pub object: &'a Value,
    /// The object's namespace (name and labels), when the caller knows it.
    pub namespace: Option<(&'a str, &'a BTreeMap<String, String>)>,
}

fn strings(v: &Value, path: &str) -> Result<Vec<String>, String> {
    match v {
        Value::Null => Ok(Vec::new()),
        Value::Array(a) => a
            .iter()
            .map(|s| s.as_str().map(str::to_string).ok_or_else(|| format!("`{path}` must be a list of strings")))
            .collect(),
        _ => Err(format!("`{path}` must be a list of strings")),
    }
}

fn string(v: &Value, path: &str) -> Result<String, String> {
    match v {
        Value::Null => Ok(String::new()),
        Value::String(s) => Ok(s.clone()),
        _ => Err(format!("`{path}` must be a string")),
    }
}

impl Match {
    /// Reads `spec.match`. Errors name the field (`spec.match.foo`).
    pub fn parse(v: &Value) -> Result<Match, String> {
        let m = match v {
            Value::Null => return Ok(Match::default()),
            Value::Object(m) => m,
            _ => return Err("`spec.match` must be an object".into()),
        };
        if let Some(k) = m.keys().find(|k| !FIELDS.contains(&k.as_str())) {
            return Err(format!("`spec.match.{k}` is not a field of Gatekeeper's match"));
        }
        let kinds = match &m.get("kinds").unwrap_or(&Value::Null) {
            Value::Null => Vec::new(),
            Value::Array(a) => a
                .iter()
                .enumerate()
                .map(|(i, k)| {
                    let path = format!("spec.match.kinds[{i}]");
                    let o = k.as_object().ok_or_else(|| format!("`{path}` must be an object"))?;
                    if let Some(f) = o.keys().find(|f| !matches!(f.as_str(), "apiGroups" | "kinds")) {
                        return Err(format!("`{path}.{f}` is not a field of Gatekeeper's match kinds"));
                    }
                    Ok(Kinds {
                        api_groups: strings(&k["apiGroups"], &format!("{path}.apiGroups"))?,
                        kinds: strings(&k["kinds"], &format!("{path}.kinds"))?,
                    })
                })
                .collect::<Result<_, String>>()?,
            _ => return Err("`spec.match.kinds` must be a list".into()),
        };
        let get = |k: &str| m.get(k).unwrap_or(&Value::Null);
        let source = string(get("source"), "spec.match.source")?;
        if !matches!(source.as_str(), "" | "All" | "Generated" | "Original") {
            // Gatekeeper's sourceMatch fails the match with this error.
            return Err(format!("`spec.match.source` is {source:?}: must be All, Generated or Original"));
        }
        Ok(Match {
            kinds,
            scope: string(get("scope"), "spec.match.scope")?,
            namespaces: strings(get("namespaces"), "spec.match.namespaces")?,
            excluded_namespaces: strings(get("excludedNamespaces"), "spec.match.excludedNamespaces")?,
            label_selector: Selector::parse_opt(get("labelSelector"), "spec.match.labelSelector")?,
            namespace_selector: Selector::parse_opt(get("namespaceSelector"), "spec.match.namespaceSelector")?,
            name: string(get("name"), "spec.match.name")?,
            source,
        })
    }

    /// Whether the object is in scope. An error is a match that cannot be decided (Gatekeeper
    /// reports it as an error, not as "no match").
    pub fn matches(&self, t: &Target) -> Result<bool, String> {
        let obj = t.object;
        let (group, _) = group_version(obj["apiVersion"].as_str().unwrap_or_default());
        let kind = obj["kind"].as_str().unwrap_or_default();
        let is_namespace = kind == "Namespace" && group.is_empty();
        let obj_ns = obj["metadata"]["namespace"].as_str().unwrap_or_default();

        // kinds
        if !self.kinds.is_empty()
            && !self.kinds.iter().any(|k| {
                let kind_ok = k.kinds.is_empty() || k.kinds.iter().any(|x| x == "*" || x == kind);
                let group_ok = k.api_groups.is_empty() || k.api_groups.iter().any(|x| x == "*" || x == group);
                kind_ok && group_ok
            })
        {
            return Ok(false);
        }
        // scope (an unknown scope, e.g. a typo, matches: Gatekeeper's default branch)
        let has_namespace = !obj_ns.is_empty() || t.namespace.is_some();
        match self.scope.as_str() {
            // Cluster: a Namespace or an object without a namespace.
            "Cluster" if !is_namespace && has_namespace => return Ok(false),
            "Namespaced" if is_namespace || !has_namespace => return Ok(false),
            _ => {}
        }
        // The namespace the lists are checked against: the Namespace object's own name, the
        // known namespace, or the one the object declares (as gator has no cluster).
        let namespace = if is_namespace {
            Some(obj["metadata"]["name"].as_str().unwrap_or_default())
        } else if let Some((name, _)) = t.namespace {
            Some(name)
        } else if !obj_ns.is_empty() {
            Some(obj_ns)
        } else {
            None
        };
        if let Some(ns) = namespace {
            if !self.namespaces.is_empty() && !self.namespaces.iter().any(|w| wildcard(w, ns)) {
                return Ok(false);
            }
            if self.excluded_namespaces.iter().any(|w| wildcard(w, ns)) {
                return Ok(false);
            }
        }
        let labels = crate::resource::labels(obj);
        if let Some(sel) = &self.label_selector {
            if !sel.matches(&labels) {
                return Ok(false);
            }
        }
        if let Some(sel) = &self.namespace_selector {
            if is_namespace {
                if !sel.matches(&labels) {
                    return Ok(false);
                }
            } else if t.namespace.is_none() && obj_ns.is_empty() {
                // A cluster-scoped object: matched.
            } else {
                match t.namespace {
                    Some((_, ns_labels)) => {
                        if !sel.matches(ns_labels) {
                            return Ok(false);
                        }
                    }
                    None => {
                        return Err(format!(
                            "namespace selector for namespace-scoped object but namespace {obj_ns:?} is not known (give it as a Namespace object)"
                        ))
                    }
                }
            }
        }
        if !self.name.is_empty() {
            let name = obj["metadata"]["name"].as_str().unwrap_or_default();
            let generate = obj["metadata"]["generateName"].as_str().unwrap_or_default();
            if !(wildcard(&self.name, name) || wildcard_generate_name(&self.name, generate)) {
                return Ok(false);
            }
        }
        // source: objects reviewed here are always originals (not generated by expansion).
        if self.source == "Generated" {
            return Ok(false);
        }
        Ok(true)
    }
}

/// `group/version` or `version` (core).
pub fn group_version(api_version: &str) -> (&str, &str) {
    match api_version.split_once('/') {
        Some((g, v)) => (g, v),
        None => ("", api_version),
    }
}

/// Gatekeeper's `wildcard.Wildcard.Matches`: `*x*` contains, `*x` suffix, `x*` prefix, else equal.
pub fn wildcard(w: &str, candidate: &str) -> bool {
    if w.len() >= 2 && w.starts_with('*') && w.ends_with('*') {
        candidate.contains(&w[1..w.len() - 1])
    } else if let Some(s) = w.strip_prefix('*') {
        candidate.ends_with(s)
    } else if let Some(p) = w.strip_suffix('*') {
        candidate.starts_with(p)
    } else {
        w == candidate
    }
}

/// `MatchesGenerateName`: only a prefix (or contains) glob can match a generateName.
fn wildcard_generate_name(w: &str, generate: &str) -> bool {
    if w.len() >= 2 && w.starts_with('*') && w.ends_with('*') {
        generate.contains(&w[1..w.len() - 1])
    } else if w.starts_with('*') {
        false
    } else if let Some(p) = w.strip_suffix('*') {
        generate.starts_with(p)
    } else {
        false
    }
}

impl Selector {
    fn parse_opt(v: &Value, path: &str) -> Result<Option<Selector>, String> {
        match v {
            Value::Null => Ok(None),
            Value::Object(m) => Selector::parse(m, path).map(Some),
            _ => Err(format!("`{path}` must be an object")),
        }
    }

    /// As `metav1.LabelSelectorAsSelector`: operators In/NotIn need values, Exists/DoesNotExist
    /// take none.
    pub fn parse(m: &Map<String, Value>, path: &str) -> Result<Selector, String> {
        if let Some(k) = m.keys().find(|k| !matches!(k.as_str(), "matchLabels" | "matchExpressions")) {
            return Err(format!("`{path}.{k}` is not a field of a label selector"));
        }
        let mut labels = BTreeMap::new();
        match m.get("matchLabels").unwrap_or(&Value::Null) {
            Value::Null => {}
            Value::Object(l) => {
                for (k, v) in l {
                    let v = v.as_str().ok_or_else(|| format!("`{path}.matchLabels.{k}` must be a string"))?;
                    labels.insert(k.clone(), v.to_string());
                }
            }
            _ => return Err(format!("`{path}.matchLabels` must be an object")),
        }
        let mut expressions = Vec::new();
        match m.get("matchExpressions").unwrap_or(&Value::Null) {
            Value::Null => {}
            Value::Array(a) => {
                for (i, e) in a.iter().enumerate() {
                    let p = format!("{path}.matchExpressions[{i}]");
                    let key = e["key"].as_str().ok_or_else(|| format!("`{p}.key` must be a string"))?.to_string();
                    let values = strings(&e["values"], &format!("{p}.values"))?;
                    let op = e["operator"].as_str().unwrap_or_default();
                    let r = match op {
                        "In" | "NotIn" if values.is_empty() => {
                            return Err(format!("`{p}.values`: must be non-empty for operator {op}"))
                        }
                        "Exists" | "DoesNotExist" if !values.is_empty() => {
                            return Err(format!("`{p}.values`: must be empty for operator {op}"))
                        }
                        "In" => Requirement::In(key, values),
                        "NotIn" => Requirement::NotIn(key, values),
                        "Exists" => Requirement::Exists(key),
                        "DoesNotExist" => Requirement::DoesNotExist(key),
                        _ => return Err(format!("`{p}.operator` {op:?} is not a valid label selector operator")),
                    };
                    expressions.push(r);
                }
            }
            _ => return Err(format!("`{path}.matchExpressions` must be a list")),
        }
        Ok(Selector { labels, expressions })
    }

    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.labels.iter().all(|(k, v)| labels.get(k) == Some(v))
            && self.expressions.iter().all(|r| match r {
                Requirement::In(k, vs) => labels.get(k).is_some_and(|v| vs.contains(v)),
                Requirement::NotIn(k, vs) => labels.get(k).is_none_or(|v| !vs.contains(v)),
                Requirement::Exists(k) => labels.contains_key(k),
                Requirement::DoesNotExist(k) => !labels.contains_key(k),
            })
    }
}
