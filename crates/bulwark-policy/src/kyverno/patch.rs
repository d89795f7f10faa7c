//! Kyverno's two patch forms, on JSON values: `patchStrategicMerge` (Kyverno's anchor
//! preprocessing of pkg/engine/mutate/patch/strategicPreprocessing.go, then the strategic
//! merge that Kyverno gets from kustomize's kyaml `merge2`) and `patchesJson6902` (RFC 6902
//! with the options Kyverno passes to evanphx/json-patch: negative indices, missing paths
//! ignored by `remove`, intermediate paths created by `add`).
//!
//! Patches come from policies and resources: every walk is bounded in depth, every list index
//! in size, and the nodes a patch may add in all are counted ([`Budget`]).

use super::pattern::{self, Anchor};
use serde_json::{Map, Value};
use std::collections::HashMap;

/// How deep a patch may nest (the YAML reader allows 128 levels).
pub const MAX_DEPTH: usize = 200;
/// The most operations one `patchesJson6902` may hold.
pub const MAX_OPERATIONS: usize = 10_000;
/// The highest array index `add` pads up to (evanphx pads with nulls; a path such as
/// `/a/100000000` would otherwise allocate without bound).
pub const MAX_PAD: usize = 10_000;
/// The most JSON nodes that the patches of one rule may add in all (`copy` doubling a
/// subtree, `add` in a foreach over a long list).
pub const MAX_ADDED_NODES: usize = 1_000_000;

/// The most resource nodes that the patches of one rule may go through in all: each patch
/// copies the resource, so a foreach over a long list of a large resource is quadratic.
pub const MAX_WORK_NODES: usize = 20_000_000;

/// What a rule's patches have spent so far: nodes added (against [`MAX_ADDED_NODES`]) and
/// resource nodes gone through (against [`MAX_WORK_NODES`]).
#[derive(Debug, Default)]
pub struct Budget {
    added: usize,
    work: usize,
}

impl Budget {
    /// One more patch of `resource`.
    fn work(&mut self, resource: &Value) -> Result<(), String> {
        let left = MAX_WORK_NODES.saturating_sub(self.work);
        self.work += count_nodes(resource, left + 1);
        if self.work > MAX_WORK_NODES {
            return Err(format!(
                "the patches of this rule go through more than {MAX_WORK_NODES} resource nodes (a foreach over a long list of a large resource)"
            ));
        }
        Ok(())
    }

    fn spend(&mut self, v: &Value) -> Result<(), String> {
        let left = MAX_ADDED_NODES.saturating_sub(self.added);
        let n = count_nodes(v, left + 1);
        self.added += n;
        if self.added > MAX_ADDED_NODES {
            return Err(format!("the patches add more than {MAX_ADDED_NODES} JSON nodes"));
        }
        Ok(())
    }
}

/// Nodes of a value, counting no further than `limit`.
fn count_nodes(v: &Value, limit: usize) -> usize {
    let mut n = 0usize;
    let mut stack = vec![v];
    while let Some(x) = stack.pop() {
        n += 1;
        if n >= limit {
            return n;
        }
        match x {
            Value::Array(a) => stack.extend(a),
            Value::Object(o) => stack.extend(o.values()),
            _ => {}
        }
    }
    n
}

// ---------------------------------------------------------------------------------------
// patchStrategicMerge: anchors first (Kyverno's preprocessing), then the merge.

/// Why preprocessing stopped: a conditional `(k)` or global `<(k)` anchor that does not hold
/// makes the whole patch empty (the rule then changes nothing and is skipped); any other
/// error fails the rule.
#[derive(Debug)]
enum Pre {
    Condition,
    Global(String),
    Error(String),
}

/// Applies a `patchStrategicMerge` (variables already substituted) to a resource: the
/// resource patched, or unchanged when an anchor's condition does not hold.
pub fn strategic_merge(resource: &Value, patch: &Value, budget: &mut Budget) -> Result<Value, String> {
    budget.work(resource)?;
    let mut pattern = patch.clone();
    match preprocess(&mut pattern, resource) {
        Ok(()) => {}
        Err(Pre::Condition | Pre::Global(_)) => return Ok(resource.clone()),
        Err(Pre::Error(e)) => return Err(format!("failed to preProcess rule: {e}")),
    }
    budget.spend(&pattern)?;
    let schema = Schema::of(resource);
    let mut path = Vec::new();
    match merge(Some(resource.clone()), &pattern, &schema, &mut path)? {
        Some(v) => Ok(v),
        // A patch that deletes the whole object: kyaml yields no document.
        None => Err("the patch deletes the whole resource".into()),
    }
}

/// Kyverno's PreProcessPattern: anchors checked against the resource and removed.
fn preprocess(pattern: &mut Value, resource: &Value) -> Result<(), Pre> {
    recurse(pattern, Some(resource), 0)?;
    if pattern.is_object() {
        delete_condition_elements(pattern, 0).map_err(Pre::Error)?;
        Ok(())
    } else {
        Err(Pre::Error("the patch is not a mapping".into()))
    }
}

fn deep(depth: usize) -> Result<(), String> {
    if depth > MAX_DEPTH {
        return Err(format!("the patch nests deeper than {MAX_DEPTH} levels"));
    }
    Ok(())
}

fn recurse(pattern: &mut Value, resource: Option<&Value>, depth: usize) -> Result<(), Pre> {
    deep(depth).map_err(Pre::Error)?;
    match pattern {
        Value::Object(_) => walk_map(pattern, resource, depth),
        Value::Array(a) => {
            if a.first().is_some_and(Value::is_object) {
                process_list_of_maps(a, resource, depth)
            } else {
                Ok(())
            }
        }
        _ => Ok(()),
    }
}

fn anchor_of(key: &str) -> Option<Anchor> {
    pattern::parse_anchor(key).map(|(a, _)| a)
}

/// Kyverno's ContainsCondition: every anchor but `+()`.
fn contains_condition(a: Option<Anchor>) -> bool {
    matches!(a, Some(Anchor::Condition | Anchor::Existence | Anchor::Equality | Anchor::Negation | Anchor::Global))
}

/// Kyverno's hasAnchor: a condition or an add-if-not-present anchor.
fn has_anchor(a: Option<Anchor>) -> bool {
    contains_condition(a) || a == Some(Anchor::AddIfNotPresent)
}

fn field<'a>(resource: Option<&'a Value>, key: &str) -> Option<&'a Value> {
    resource.and_then(Value::as_object).and_then(|o| o.get(key))
}

fn walk_map(pattern: &mut Value, resource: Option<&Value>, depth: usize) -> Result<(), Pre> {
    handle_add_if_not_present(pattern, resource);
    validate_conditions(pattern, resource, depth)?;
    let Value::Object(map) = pattern else { return Ok(()) };
    let plain: Vec<String> = map.keys().filter(|k| anchor_of(k).is_none()).cloned().collect();
    for k in plain {
        if let Some(v) = map.get_mut(&k) {
            recurse(v, field(resource, &k), depth + 1)?;
        }
    }
    Ok(())
}

/// `+(k)`: dropped from the patch when the resource has `k`, else the anchor is removed from
/// the key. Returns how many such anchors there were.
fn handle_add_if_not_present(pattern: &mut Value, resource: Option<&Value>) -> usize {
    let Value::Object(map) = pattern else { return 0 };
    let anchored: Vec<(String, String)> = map
        .keys()
        .filter_map(|k| match pattern::parse_anchor(k) {
            Some((Anchor::AddIfNotPresent, inner)) => Some((k.clone(), inner.to_string())),
            _ => None,
        })
        .collect();
    for (k, inner) in &anchored {
        let v = map.remove(k);
        if field(resource, inner).is_none() {
            if let Some(v) = v {
                map.insert(inner.clone(), v);
            }
        }
    }
    anchored.len()
}

/// Kyverno's validateConditions: global anchors, then conditional anchors, each checked as a
/// validate pattern against the resource's field.
fn validate_conditions(pattern: &mut Value, resource: Option<&Value>, depth: usize) -> Result<(), Pre> {
    check_anchors(pattern, resource, Anchor::Global, depth).map_err(Pre::Global)?;
    check_anchors(pattern, resource, Anchor::Condition, depth).map_err(|_| Pre::Condition)
}

fn check_anchors(pattern: &mut Value, resource: Option<&Value>, which: Anchor, depth: usize) -> Result<(), String> {
    deep(depth)?;
    let Value::Object(map) = pattern else { return Ok(()) };
    let keys: Vec<(String, String)> = map
        .keys()
        .filter_map(|k| match pattern::parse_anchor(k) {
            Some((a, inner)) if a == which => Some((k.clone(), inner.to_string())),
            _ => None,
        })
        .collect();
    for (k, inner) in keys {
        let Some(rv) = field(resource, &inner) else {
            return Err(format!("could not found \"{inner}\" key in the resource"));
        };
        let Some(pv) = map.get_mut(&k) else { continue };
        if handle_add_if_not_present(pv, Some(rv)) > 0 {
            continue;
        }
        // Kyverno's checkCondition reads a scalar node as its text (`3`, `true`), maps and
        // lists as JSON.
        let (rv, pv) = (scalar_text(rv), scalar_text(pv));
        pattern::match_pattern(&rv, &pv).map_err(|m| m.message)?;
    }
    Ok(())
}

/// A scalar as the text of its YAML node; maps and lists as they are.
fn scalar_text(v: &Value) -> std::borrow::Cow<'_, Value> {
    use std::borrow::Cow;
    match v {
        Value::Bool(b) => Cow::Owned(Value::String(b.to_string())),
        Value::Number(n) => Cow::Owned(Value::String(n.to_string())),
        Value::Null => Cow::Owned(Value::String("null".into())),
        other => Cow::Borrowed(other),
    }
}

/// Kyverno's processListOfMaps: an element with anchors is checked against every element of
/// the resource's list; each element it holds for becomes a patch element named after it
/// (the merge then finds it by name). A global anchor that holds for no element skips the
/// whole patch.
fn process_list_of_maps(pattern: &mut Vec<Value>, resource: Option<&Value>, depth: usize) -> Result<(), Pre> {
    let resource_elements: &[Value] = match resource {
        None | Some(Value::Null) => &[],
        Some(Value::Array(a)) => a,
        Some(_) => return Err(Pre::Error("wrong node kind: expected a sequence in the resource".into())),
    };
    let mut added = Vec::new();
    for element in pattern.iter() {
        if !has_anchors(element, has_anchor, 0) {
            continue;
        }
        let has_global = has_anchors(element, |a| a == Some(Anchor::Global), 0);
        let mut passed = false;
        let mut last_global: Option<String> = None;
        let mut copy = element.clone();
        for re in resource_elements {
            match recurse(&mut copy, Some(re), depth + 1) {
                Ok(()) => {}
                Err(Pre::Condition) => continue,
                Err(Pre::Global(e)) => {
                    last_global = Some(e);
                    continue;
                }
                Err(e) => return Err(e),
            }
            if has_global {
                passed = true;
            } else if let Some(named) = pattern_for(&copy, re).map_err(Pre::Error)? {
                added.push(named);
            }
        }
        if resource.is_none() {
            match recurse(&mut copy, None, depth + 1) {
                Ok(()) => passed |= has_global,
                Err(Pre::Condition) => continue,
                Err(e) => return Err(e),
            }
        }
        if !passed {
            if let Some(e) = last_global {
                return Err(Pre::Global(e));
            }
        }
    }
    pattern.extend(added);
    Ok(())
}

/// Kyverno's handlePatternName: the checked element without its anchors, named as the
/// resource's element (none when that element has no name, or nothing is left).
fn pattern_for(checked: &Value, resource_element: &Value) -> Result<Option<Value>, String> {
    let name = match resource_element.get("name") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) if s.is_empty() => return Ok(None),
        Some(n) => n.clone(),
    };
    let mut node = checked.clone();
    if delete_anchors(&mut node, true, false, 0)? {
        return Ok(None);
    }
    if let Value::Object(o) = &mut node {
        o.insert("name".into(), name);
    }
    Ok(Some(node))
}

fn has_anchors(v: &Value, pred: fn(Option<Anchor>) -> bool, depth: usize) -> bool {
    if depth > MAX_DEPTH {
        return false;
    }
    match v {
        Value::Object(o) => {
            o.iter().any(|(k, x)| pred(anchor_of(k)) || (!is_nil_or_empty(x) && has_anchors(x, pred, depth + 1)))
        }
        Value::String(s) => contains_condition(anchor_of(s)),
        Value::Array(a) => a.iter().any(|x| has_anchors(x, pred, depth + 1)),
        _ => false,
    }
}

fn is_nil_or_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Object(o) => o.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

/// Kyverno's deleteConditionElements on the patch's top level.
fn delete_condition_elements(pattern: &mut Value, depth: usize) -> Result<(), String> {
    let Value::Object(map) = pattern else { return Ok(()) };
    let keys: Vec<String> = map.keys().cloned().collect();
    for k in keys {
        let delete_scalar = contains_condition(anchor_of(&k));
        let Some(v) = map.get_mut(&k) else { continue };
        if delete_anchors(v, delete_scalar, false, depth + 1)? {
            map.remove(&k);
        }
    }
    Ok(())
}

/// Kyverno's deleteAnchors: anchors removed; true when nothing but anchors was there (the
/// node then goes, so that it does not delete fields of the resource).
fn delete_anchors(node: &mut Value, delete_scalar: bool, traverse_maps: bool, depth: usize) -> Result<bool, String> {
    deep(depth)?;
    match node {
        Value::Object(map) => {
            let anchored: Vec<String> = map.keys().filter(|k| contains_condition(anchor_of(k))).cloned().collect();
            let mut anchors_left = false;
            for k in &anchored {
                let Some(v) = map.get_mut(k) else { continue };
                if delete_anchors(v, true, traverse_maps, depth + 1)? {
                    map.remove(k);
                } else {
                    anchors_left = true;
                }
            }
            if anchors_left {
                let keys: Vec<String> = map.keys().filter(|k| contains_condition(anchor_of(k))).cloned().collect();
                for k in keys {
                    if let (Some(v), Some((_, inner))) = (map.remove(&k), pattern::parse_anchor(&k)) {
                        map.insert(inner.to_string(), v);
                    }
                }
            }
            let mut delete = true;
            let keys: Vec<String> = map.keys().cloned().collect();
            for k in keys {
                let Some(v) = map.get_mut(&k) else { continue };
                if delete_anchors(v, false, traverse_maps, depth + 1)? {
                    map.remove(&k);
                } else {
                    delete = false;
                }
            }
            Ok(delete)
        }
        Value::Array(list) => {
            let was_empty = list.is_empty();
            let mut kept = Vec::with_capacity(list.len());
            for mut el in std::mem::take(list) {
                let remove = if has_anchors(&el, has_anchor, 0) {
                    if traverse_maps && el.is_object() {
                        delete_anchors(&mut el, true, traverse_maps, depth + 1)?
                    } else {
                        true
                    }
                } else {
                    delete_anchors(&mut el, false, traverse_maps, depth + 1)?
                };
                if !remove {
                    kept.push(el);
                }
            }
            *list = kept;
            Ok(list.is_empty() && !was_empty)
        }
        _ => Ok(delete_scalar),
    }
}

/// Where the merge is: the resource's kind decides how its lists merge. kyaml reads the
/// Kubernetes OpenAPI schema of built-in kinds: a list field whose
/// `x-kubernetes-patch-strategy` has `merge` merges by its merge keys (or, for scalars such
/// as finalizers, as a set); any other list of a built-in kind is replaced. Other kinds have
/// no schema: a list merges by `name` when its elements all have one (kyaml's inference).
struct Schema {
    builtin: bool,
    service: bool,
}

/// How a list merges.
#[derive(Debug, PartialEq)]
enum ListMerge {
    /// The patch's list replaces the resource's.
    Replace,
    /// Elements matched by these fields (`x-kubernetes-list-map-keys`, the first being the
    /// patch merge key).
    Keys(&'static [&'static str]),
    /// Scalars merged as a set (strategy merge without a key: finalizers).
    Primitive,
    /// No schema: inferred from the elements.
    Infer,
}

impl Schema {
    fn of(resource: &Value) -> Self {
        let api = resource["apiVersion"].as_str().unwrap_or_default();
        let group = api.split_once('/').map(|(g, _)| g).unwrap_or("");
        Schema {
            builtin: !api.is_empty() && (group.is_empty() || !group.contains('.') || group.ends_with(".k8s.io")),
            service: resource["kind"].as_str() == Some("Service") && group.is_empty(),
        }
    }

    /// The patch strategy of a list field of the built-in types (the `patchStrategy:"merge"`
    /// fields of k8s.io/api that pods, controllers and services carry).
    fn list_merge(&self, path: &[String]) -> ListMerge {
        if !self.builtin {
            return ListMerge::Infer;
        }
        let Some(name) = path.last().map(String::as_str) else { return ListMerge::Replace };
        // The field's parent, list elements skipped (`containers`, `[name=x]`, `ports`).
        let parent = path.iter().rev().skip(1).find(|p| !p.starts_with('[')).map(String::as_str).unwrap_or("");
        let in_container = matches!(parent, "containers" | "initContainers" | "ephemeralContainers");
        match name {
            "containers"
            | "initContainers"
            | "ephemeralContainers"
            | "volumes"
            | "imagePullSecrets"
            | "resourceClaims"
            | "schedulingGates" => ListMerge::Keys(&["name"]),
            "hostAliases" => ListMerge::Keys(&["ip"]),
            "topologySpreadConstraints" => ListMerge::Keys(&["topologyKey", "whenUnsatisfiable"]),
            "env" | "volumeMounts" | "volumeDevices" | "ports" if in_container => match name {
                "env" => ListMerge::Keys(&["name"]),
                "volumeMounts" => ListMerge::Keys(&["mountPath"]),
                "volumeDevices" => ListMerge::Keys(&["devicePath"]),
                _ => ListMerge::Keys(&["containerPort", "protocol"]),
            },
            "ports" if self.service && path.len() == 2 && path[0] == "spec" => ListMerge::Keys(&["port", "protocol"]),
            "ownerReferences" if parent == "metadata" => ListMerge::Keys(&["uid"]),
            "finalizers" if parent == "metadata" => ListMerge::Primitive,
            "conditions" if path.first().is_some_and(|p| p == "status") => ListMerge::Keys(&["type"]),
            _ => ListMerge::Replace,
        }
    }
}

/// kyaml's merge2 of one node: `patch` onto `dest`. `None` removes the node.
/// The resource's node is taken, not copied: a patch walks only the patch's paths.
fn merge(dest: Option<Value>, patch: &Value, schema: &Schema, path: &mut Vec<String>) -> Result<Option<Value>, String> {
    deep(path.len())?;
    let dest = dest.filter(|d| !d.is_null());
    match patch {
        // An explicit null deletes the field.
        Value::Null => Ok(None),
        Value::Object(p) => {
            match p.get("$patch").and_then(Value::as_str) {
                Some("delete") => return Ok(None),
                Some("replace") => {
                    let mut r = p.clone();
                    r.remove("$patch");
                    return Ok(Some(Value::Object(r)));
                }
                Some("merge") | None => {}
                Some(other) => return Err(format!("unknown patch directive $patch: {other}")),
            }
            let mut out = match dest {
                None => Map::new(),
                Some(Value::Object(d)) => d,
                Some(_) => return Err(format!("wrong node kind at {}: the patch has a mapping", show(path))),
            };
            for (k, pv) in p {
                if k == "$patch" {
                    continue;
                }
                path.push(k.clone());
                let merged = merge(out.remove(k), pv, schema, path)?;
                path.pop();
                match merged {
                    Some(v) => {
                        out.insert(k.clone(), v);
                    }
                    None => {
                        out.remove(k);
                    }
                }
            }
            Ok(Some(Value::Object(out)))
        }
        Value::Array(p) => {
            let d = match dest {
                None => None,
                Some(Value::Array(d)) => Some(d),
                Some(_) => return Err(format!("wrong node kind at {}: the patch has a sequence", show(path))),
            };
            merge_list(d, p, schema, path)
        }
        scalar => {
            if let Some(d) = &dest {
                if d.is_object() || d.is_array() {
                    return Err(format!("wrong node kind at {}: the patch has a scalar", show(path)));
                }
            }
            Ok(Some(scalar.clone()))
        }
    }
}

fn show(path: &[String]) -> String {
    if path.is_empty() {
        ".".into()
    } else {
        path.join(".")
    }
}

/// The key all elements of a list have (kyaml's GetAssociativeKey: only `name` is inferred).
fn associative_key(list: &[Value]) -> Option<&'static str> {
    (!list.is_empty() && list.iter().all(|e| e.get("name").is_some())).then_some("name")
}

fn key_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The most element comparisons one list merge with several keys may make (those lists are
/// matched element by element).
const MAX_COMPARISONS: usize = 10_000_000;

fn merge_list(
    dest: Option<Vec<Value>>,
    patch: &[Value],
    schema: &Schema,
    path: &mut Vec<String>,
) -> Result<Option<Value>, String> {
    // `- $patch: replace` in the list: the rest of the patch list replaces the list.
    if patch.iter().any(|e| e.get("$patch").and_then(Value::as_str) == Some("replace")) {
        let rest: Vec<Value> =
            patch.iter().filter(|e| e.get("$patch").and_then(Value::as_str) != Some("replace")).cloned().collect();
        return Ok(Some(Value::Array(rest)));
    }
    let keys: &[&str] = match schema.list_merge(path) {
        ListMerge::Replace => return Ok(Some(Value::Array(patch.to_vec()))),
        ListMerge::Primitive => return Ok(Some(Value::Array(merge_set(dest.unwrap_or_default(), patch)))),
        ListMerge::Keys(k) => k,
        ListMerge::Infer => {
            // kyaml: associative when a source's elements all have `name`; a source whose
            // elements do not, after one whose do, is a conflict.
            let dk = dest.as_ref().filter(|d| !d.is_empty()).map(|d| associative_key(d));
            let pk = (!patch.is_empty()).then(|| associative_key(patch));
            match (dk, pk) {
                (Some(Some(a)), Some(b)) if Some(a) != b => {
                    return Err(format!(
                        "conflicting merge keys [{a},{}] for field {}",
                        b.unwrap_or_default(),
                        show(path)
                    ))
                }
                (Some(Some(_)), _) | (_, Some(Some(_))) => &["name"],
                _ => return Ok(Some(Value::Array(patch.to_vec()))),
            }
        }
    };
    let values = |e: &Value| -> Vec<String> {
        keys.iter().map(|k| e.get(*k).filter(|v| !v.is_null()).map(key_text).unwrap_or_default()).collect()
    };
    let mut out: Vec<Value> = dest.unwrap_or_default();
    let mut removed = vec![false; out.len()];
    // One key: an index by value; several: kyaml's match (equal where both are set, one
    // value in common), element by element.
    let mut index: HashMap<String, usize> = HashMap::new();
    if keys.len() == 1 {
        for (i, e) in out.iter().enumerate() {
            let v = values(e).remove(0);
            if !v.is_empty() {
                index.entry(v).or_insert(i);
            }
        }
    } else if out.len().saturating_mul(patch.len()) > MAX_COMPARISONS {
        return Err(format!(
            "the lists at {} are too long to merge ({} x {} elements)",
            show(path),
            out.len(),
            patch.len()
        ));
    }
    for pe in patch {
        let pv = values(pe);
        if pv.iter().all(String::is_empty) {
            // An element without its merge key matches nothing (kyaml drops it).
            continue;
        }
        let at = if keys.len() == 1 {
            index.get(&pv[0]).copied()
        } else {
            out.iter().enumerate().position(|(i, e)| !removed[i] && keys_match(&values(e), &pv))
        };
        // The element is taken out for the merge and its result put back (or removed).
        let current = at.filter(|i| !removed[*i]).map(|i| std::mem::take(&mut out[i]));
        path.push(format!("[{}]", keys.iter().zip(&pv).map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",")));
        let merged = merge(current, pe, schema, path)?;
        path.pop();
        match merged {
            // A deleted or emptied element leaves the list.
            None => {
                if let Some(i) = at {
                    removed[i] = true;
                }
            }
            Some(Value::Object(o)) if o.is_empty() => {
                if let Some(i) = at {
                    removed[i] = true;
                }
            }
            Some(mut v) => {
                if let Value::Object(o) = &mut v {
                    for (k, kv) in keys.iter().zip(&pv) {
                        if !kv.is_empty() && !o.contains_key(*k) {
                            if let Some(x) = pe.get(*k) {
                                o.insert((*k).to_string(), x.clone());
                            }
                        }
                    }
                }
                match at {
                    Some(i) => {
                        out[i] = v;
                        removed[i] = false;
                    }
                    None => {
                        if keys.len() == 1 {
                            index.insert(pv[0].clone(), out.len());
                        }
                        out.push(v);
                        removed.push(false);
                    }
                }
            }
        }
    }
    let out: Vec<Value> = out.into_iter().zip(removed).filter(|(_, r)| !r).map(|(v, _)| v).collect();
    Ok(Some(Value::Array(out)))
}

/// kyaml's match of two elements' key values: equal wherever both are set, and at least one
/// value in common (a port without a protocol is the same port).
fn keys_match(a: &[String], b: &[String]) -> bool {
    let mut common = false;
    for (x, y) in a.iter().zip(b) {
        if x == y {
            common |= !x.is_empty();
        } else if !x.is_empty() && !y.is_empty() {
            return false;
        }
    }
    common
}

/// A primitive associative list (finalizers): the resource's values, then the patch's new
/// ones.
fn merge_set(dest: Vec<Value>, patch: &[Value]) -> Vec<Value> {
    let mut out = dest;
    let mut seen: std::collections::HashSet<String> = out.iter().map(key_text).collect();
    for v in patch {
        if seen.insert(key_text(v)) {
            out.push(v.clone());
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// patchesJson6902

/// Parses a `patchesJson6902` (YAML or JSON text, variables already substituted) into its
/// operations.
pub fn parse_json_patch(text: &str) -> Result<Vec<Value>, String> {
    let v = crate::yaml::parse_one("patchesJson6902", text).map_err(|e| format!("failed to decode patches: {e}"))?;
    match v {
        Value::Array(ops) if ops.len() > MAX_OPERATIONS => {
            Err(format!("failed to decode patches: more than {MAX_OPERATIONS} operations"))
        }
        Value::Array(ops) => Ok(ops),
        Value::Null => Ok(Vec::new()),
        _ => Err("failed to decode patches: not a list of operations".into()),
    }
}

/// Applies RFC 6902 operations in order; any failing operation fails the whole patch.
pub fn json_patch(resource: &Value, ops: &[Value], budget: &mut Budget) -> Result<Value, String> {
    budget.work(resource)?;
    let mut doc = resource.clone();
    for (i, op) in ops.iter().enumerate() {
        apply_op(&mut doc, op, budget).map_err(|e| format!("operation {i}: {e}"))?;
    }
    Ok(doc)
}

fn apply_op(doc: &mut Value, op: &Value, budget: &mut Budget) -> Result<(), String> {
    let kind = op["op"].as_str().ok_or("missing \"op\"")?;
    let path = op["path"].as_str().ok_or_else(|| format!("{kind} operation has no \"path\""))?;
    let tokens = pointer(path)?;
    match kind {
        "add" => {
            let v = op.get("value").ok_or("add operation has no \"value\"")?;
            budget.spend(v)?;
            add(doc, &tokens, v.clone(), true)
        }
        "remove" => remove(doc, &tokens, true).map(|_| ()),
        "replace" => {
            let v = op.get("value").ok_or("replace operation has no \"value\"")?;
            budget.spend(v)?;
            replace(doc, &tokens, v.clone())
        }
        "move" => {
            let from = pointer(op["from"].as_str().ok_or("move operation has no \"from\"")?)?;
            if tokens.len() > from.len() && tokens[..from.len()] == from[..] {
                return Err("move operation: \"from\" is a prefix of \"path\"".into());
            }
            let v = remove(doc, &from, false)?.ok_or("move operation does not apply: doc is missing from path")?;
            add(doc, &tokens, v, false)
        }
        "copy" => {
            let from = pointer(op["from"].as_str().ok_or("copy operation has no \"from\"")?)?;
            let v = get(doc, &from).ok_or("copy operation does not apply: doc is missing from path")?.clone();
            budget.spend(&v)?;
            add(doc, &tokens, v, false)
        }
        "test" => {
            let want = op.get("value").unwrap_or(&Value::Null);
            match get(doc, &tokens) {
                Some(got) if got == want => Ok(()),
                None if want.is_null() => Ok(()),
                _ => Err(format!("testing value {path} failed")),
            }
        }
        other => Err(format!("unknown operation {other:?}")),
    }
}

/// A JSON pointer's tokens (`~1` is `/`, `~0` is `~`).
fn pointer(p: &str) -> Result<Vec<String>, String> {
    if p.is_empty() {
        return Ok(Vec::new());
    }
    let Some(rest) = p.strip_prefix('/') else {
        return Err(format!("JSON pointer {p:?} does not start with /"));
    };
    let tokens: Vec<String> = rest.split('/').map(|t| t.replace("~1", "/").replace("~0", "~")).collect();
    if tokens.len() > MAX_DEPTH {
        return Err(format!("JSON pointer deeper than {MAX_DEPTH}"));
    }
    Ok(tokens)
}

/// An array index: `-` is the end (for add), negative counts from the end.
fn index(token: &str, len: usize, for_add: bool) -> Result<usize, String> {
    if token == "-" && for_add {
        return Ok(len);
    }
    let i: i64 = token.parse().map_err(|_| format!("invalid array index {token:?}"))?;
    let limit = if for_add { len } else { len.saturating_sub(1) };
    let i = if i < 0 {
        let back = i.unsigned_abs() as usize;
        if back > len {
            return Err(format!("array index {i} out of bounds"));
        }
        len - back
    } else {
        usize::try_from(i).map_err(|_| format!("array index {i} out of bounds"))?
    };
    if i > limit || (!for_add && len == 0) {
        return Err(format!("array index {i} out of bounds (length {len})"));
    }
    Ok(i)
}

fn get<'a>(doc: &'a Value, tokens: &[String]) -> Option<&'a Value> {
    let mut cur = doc;
    for t in tokens {
        cur = match cur {
            Value::Object(o) => o.get(t)?,
            Value::Array(a) => a.get(index(t, a.len(), false).ok()?)?,
            _ => return None,
        };
    }
    Some(cur)
}

/// The parent of the last token, created on the way when `ensure` (evanphx's
/// EnsurePathExistsOnAdd: an array when the next token is an index or `-`, else a map).
fn parent<'a>(doc: &'a mut Value, tokens: &[String], ensure: bool) -> Result<&'a mut Value, String> {
    let mut cur = doc;
    for (i, t) in tokens[..tokens.len().saturating_sub(1)].iter().enumerate() {
        let next = &tokens[i + 1];
        let fresh = || {
            if next == "-" || next.parse::<i64>().is_ok() {
                Value::Array(Vec::new())
            } else {
                Value::Object(Map::new())
            }
        };
        cur = match cur {
            Value::Object(o) => {
                let missing = o.get(t).is_none_or(Value::is_null);
                if missing {
                    if !ensure {
                        return Err(format!("doc is missing path: {t}"));
                    }
                    o.insert(t.clone(), fresh());
                }
                o.get_mut(t).ok_or_else(|| format!("doc is missing path: {t}"))?
            }
            Value::Array(a) => {
                let len = a.len();
                let at = match t.parse::<usize>() {
                    Ok(n) if ensure && n >= len => {
                        if n > MAX_PAD {
                            return Err(format!("array index {n} is over the {MAX_PAD} limit"));
                        }
                        a.resize(n + 1, Value::Null);
                        n
                    }
                    _ => index(t, len, false)?,
                };
                let slot = &mut a[at];
                if slot.is_null() && ensure {
                    *slot = fresh();
                }
                slot
            }
            _ => return Err(format!("doc is missing path: {t}")),
        };
    }
    Ok(cur)
}

fn add(doc: &mut Value, tokens: &[String], v: Value, ensure: bool) -> Result<(), String> {
    let Some(last) = tokens.last() else {
        *doc = v;
        return Ok(());
    };
    match parent(doc, tokens, ensure)? {
        Value::Object(o) => {
            o.insert(last.clone(), v);
            Ok(())
        }
        Value::Array(a) => {
            let i = index(last, a.len(), true).map_err(|e| format!("add operation does not apply: {e}"))?;
            a.insert(i, v);
            Ok(())
        }
        _ => Err(format!("add operation does not apply: doc is missing path: {}", tokens.join("/"))),
    }
}

/// Removes the value at the path; a missing path is no error when `allow_missing`
/// (Kyverno's AllowMissingPathOnRemove).
fn remove(doc: &mut Value, tokens: &[String], allow_missing: bool) -> Result<Option<Value>, String> {
    let Some(last) = tokens.last() else {
        return Ok(Some(std::mem::take(doc)));
    };
    let parent = match parent(doc, tokens, false) {
        Ok(p) => p,
        Err(_) if allow_missing => return Ok(None),
        Err(e) => return Err(format!("remove operation does not apply: {e}")),
    };
    let removed = match parent {
        Value::Object(o) => o.remove(last),
        Value::Array(a) => match index(last, a.len(), false) {
            Ok(i) => Some(a.remove(i)),
            Err(_) => None,
        },
        _ => None,
    };
    if removed.is_none() && !allow_missing {
        return Err(format!("remove operation does not apply: doc is missing path: /{}", tokens.join("/")));
    }
    Ok(removed)
}

fn replace(doc: &mut Value, tokens: &[String], v: Value) -> Result<(), String> {
    let Some(last) = tokens.last() else {
        *doc = v;
        return Ok(());
    };
    let missing = || format!("replace operation does not apply: doc is missing path: /{}", tokens.join("/"));
    match parent(doc, tokens, false).map_err(|_| missing())? {
        Value::Object(o) => match o.get_mut(last) {
            Some(slot) => {
                *slot = v;
                Ok(())
            }
            None => Err(missing()),
        },
        Value::Array(a) => {
            let i = index(last, a.len(), false).map_err(|_| missing())?;
            a[i] = v;
            Ok(())
        }
        _ => Err(missing()),
    }
}
