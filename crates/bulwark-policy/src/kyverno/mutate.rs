//! `mutate` and `generate` rules of ClusterPolicy/Policy, as Kyverno's engine runs them
//! (pkg/engine/mutate/mutation.go, pkg/engine/handlers/mutation, pkg/background/generate):
//! variables substituted first, then the patch; foreach lists applied element by element,
//! each patch on the result of the previous one.

use super::classic::load_context;
use super::patch::{self, Budget};
use super::variables::{self, Vars};
use super::{classic, conditions};
use crate::error::PolicyError;
use crate::outcome::Outcome;
use serde_json::{json, Map, Value};

/// The most elements a rule's foreach lists may have in all, and the deepest nesting.
const MAX_FOREACH_ELEMENTS: usize = 10_000;
const MAX_FOREACH_DEPTH: usize = 8;

const MUTATE_FIELDS: &[&str] = &["patchStrategicMerge", "patchesJson6902", "foreach"];
const FOREACH_FIELDS: &[&str] =
    &["list", "context", "preconditions", "patchStrategicMerge", "patchesJson6902", "foreach", "order"];
const GENERATE_FIELDS: &[&str] = &[
    "apiVersion",
    "kind",
    "name",
    "namespace",
    "data",
    "synchronize",
    "orphanDownstreamOnPolicyDelete",
    "generateExisting",
    "uid",
];

/// Compile-time checks of a rule's `mutate` and `generate`: every field we do not implement is
/// Unsupported, naming it (`mutate.targets` needs a cluster, `generate.clone` a source object).
pub(super) fn check(policy: &str, rule: Option<&str>, r: &Value, errors: &mut Vec<PolicyError>) {
    let name = rule.unwrap_or_default();
    if let Some(m) = r.get("mutate") {
        let Some(mo) = classic::section(policy, rule, m, "mutate", MUTATE_FIELDS, errors) else { return };
        if !MUTATE_FIELDS.iter().any(|k| mo.contains_key(*k)) {
            errors.push(PolicyError::invalid(
                policy,
                format!("rule {name}: mutate has no patchStrategicMerge, patchesJson6902 or foreach"),
            ));
        }
        if let Some(p) = mo.get("patchesJson6902") {
            if !p.is_string() {
                errors
                    .push(PolicyError::invalid(policy, format!("rule {name}: mutate.patchesJson6902 is not a string")));
            }
        }
        check_foreach(policy, rule, &m["foreach"], "mutate.foreach", 0, errors);
    }
    if let Some(g) = r.get("generate") {
        // clone and cloneList read source objects from the cluster; foreach not done.
        let Some(go) = classic::section(policy, rule, g, "generate", GENERATE_FIELDS, errors) else { return };
        if go.get("data").is_none() && !go.contains_key("clone") && !go.contains_key("cloneList") {
            errors.push(PolicyError::invalid(policy, format!("rule {name}: generate has no data")));
        }
        for k in ["kind", "name"] {
            if go.get(k).and_then(Value::as_str).is_none_or(str::is_empty) && go.contains_key("data") {
                errors.push(PolicyError::invalid(policy, format!("rule {name}: generate.{k} is missing")));
            }
        }
    }
}

fn check_foreach(
    policy: &str,
    rule: Option<&str>,
    fe: &Value,
    path: &str,
    depth: usize,
    errors: &mut Vec<PolicyError>,
) {
    if depth > MAX_FOREACH_DEPTH {
        errors.push(PolicyError::invalid(policy, format!("{path}: foreach nested deeper than {MAX_FOREACH_DEPTH}")));
        return;
    }
    for (i, f) in fe.as_array().into_iter().flatten().enumerate() {
        for k in f.as_object().into_iter().flatten().map(|(k, _)| k) {
            if !FOREACH_FIELDS.contains(&k.as_str()) {
                errors.push(PolicyError::unsupported(policy, rule, format!("{path}[{i}].{k}")));
            }
        }
        if let Some(o) = f["order"].as_str() {
            if !matches!(o, "Ascending" | "Descending") {
                errors.push(PolicyError::invalid(
                    policy,
                    format!("{path}[{i}].order {o:?} is not Ascending or Descending"),
                ));
            }
        }
        check_foreach(policy, rule, &f["foreach"], &format!("{path}[{i}].foreach"), depth + 1, errors);
    }
}

/// What one mutate rule did: its outcome, message, and the patched resource when it changed.
pub(super) struct Applied {
    pub outcome: Outcome,
    pub message: String,
    pub patched: Option<Value>,
}

impl Applied {
    fn error(message: String) -> Self {
        Applied { outcome: Outcome::Error, message, patched: None }
    }
}

/// One mutate rule on the resource (match, exclude, context and preconditions already done),
/// as Kyverno's mutate.Mutate and forEachMutator.
pub(super) fn apply(
    rule: &str,
    mutate: &Value,
    ctx: &mut Vars,
    resource: &Value,
    supplied: &Map<String, Value>,
) -> Applied {
    let mut budget = Budget::default();
    if let Some(fe) = mutate.get("foreach") {
        let spent = std::cell::Cell::new(0usize);
        let run = Foreach { rule, supplied, spent: &spent };
        return match run.lists(fe, ctx, resource.clone(), 0, &mut budget) {
            Err(e) => Applied::error(e),
            Ok((applied, patched)) => {
                let changed = patched != *resource;
                let (outcome, message) = if applied == 0 {
                    (Outcome::Skip, format!("{applied} elements processed"))
                } else {
                    (Outcome::Pass, success_message(&patched))
                };
                Applied { outcome, message, patched: changed.then_some(patched) }
            }
        };
    }
    match patch_once(mutate, ctx, resource, &mut budget) {
        Err(e) => Applied::error(e),
        Ok(p) if p == *resource => {
            Applied { outcome: Outcome::Skip, message: "no patches applied".into(), patched: None }
        }
        Ok(p) => Applied { outcome: Outcome::Pass, message: success_message(&p), patched: Some(p) },
    }
}

/// Kyverno's buildSuccessMessage.
fn success_message(r: &Value) -> String {
    let id = crate::outcome::ResourceId::of(r);
    if id.namespace.is_empty() {
        format!("mutated {}/{}", id.kind, id.name)
    } else {
        format!("mutated {}/{} in namespace {}", id.kind, id.name, id.namespace)
    }
}

/// The patch of a rule or foreach entry, variables substituted, applied (Kyverno's
/// NewPatcher: patchStrategicMerge before patchesJson6902).
fn patch_once(block: &Value, ctx: &Vars, resource: &Value, budget: &mut Budget) -> Result<Value, String> {
    if let Some(psm) = block.get("patchStrategicMerge") {
        let psm = substitute(psm, ctx).map_err(|e| format!("variable substitution failed: {e}"))?;
        return patch::strategic_merge(resource, &psm, budget).map_err(|e| format!("failed to patch resource: {e}"));
    }
    if let Some(text) = block.get("patchesJson6902").and_then(Value::as_str) {
        let text =
            match variables::substitute_str(text, ctx).map_err(|e| format!("variable substitution failed: {e}"))? {
                Value::String(s) => s,
                other => other.to_string(),
            };
        let ops = patch::parse_json_patch(&text).map_err(|e| format!("failed to patch resource: {e}"))?;
        return patch::json_patch(resource, &ops, budget).map_err(|e| format!("failed to patch resource: {e}"));
    }
    Err("empty mutate rule".into())
}

/// Kyverno's SubstituteAll: variables in values, and in keys too (its JSON traversal visits
/// keys; a key must stay a string: `labels: {"{{ element.name }}": "yes"}`).
fn substitute(v: &Value, ctx: &Vars) -> Result<Value, String> {
    let values = variables::substitute_all(v, ctx)?.into_owned();
    substitute_keys(values, ctx, 0)
}

fn substitute_keys(v: Value, ctx: &Vars, depth: usize) -> Result<Value, String> {
    if depth > patch::MAX_DEPTH {
        return Err(format!("nested deeper than {} levels", patch::MAX_DEPTH));
    }
    match v {
        Value::Object(o) => {
            let mut out = Map::new();
            for (k, x) in o {
                let key = if variables::has_variables(&k) {
                    match variables::substitute_str(&k, ctx)? {
                        Value::String(s) => s,
                        _ => return Err(format!("expected string after substituting variables in key \"{k}\"")),
                    }
                } else {
                    k
                };
                out.insert(key, substitute_keys(x, ctx, depth + 1)?);
            }
            Ok(Value::Object(out))
        }
        Value::Array(a) => {
            a.into_iter().map(|x| substitute_keys(x, ctx, depth + 1)).collect::<Result<_, _>>().map(Value::Array)
        }
        other => Ok(other),
    }
}

struct Foreach<'a> {
    rule: &'a str,
    supplied: &'a Map<String, Value>,
    /// Elements processed so far in this rule, all nestings together.
    spent: &'a std::cell::Cell<usize>,
}

impl Foreach<'_> {
    /// Kyverno's mutateForEach: each list in turn, on the resource as the previous left it.
    /// Returns how many lists applied, and the resource.
    fn lists(
        &self,
        fe: &Value,
        ctx: &mut Vars,
        mut resource: Value,
        nesting: usize,
        budget: &mut Budget,
    ) -> Result<(usize, Value), String> {
        if nesting >= MAX_FOREACH_DEPTH {
            return Err(format!("rule {}: foreach nested deeper than {MAX_FOREACH_DEPTH}", self.rule));
        }
        let mut applied = 0usize;
        for f in fe.as_array().into_iter().flatten() {
            let expr = f["list"].as_str().unwrap_or_default();
            let expr = match variables::substitute_str(expr, ctx) {
                Ok(Value::String(s)) => s,
                Ok(other) => other.to_string(),
                Err(e) => return Err(format!("failed to evaluate list {expr}: {e}")),
            };
            let elements = match variables::query(&expr, ctx) {
                Ok(Value::Array(a)) => a,
                Ok(other) => vec![other],
                Err(e) => return Err(format!("failed to evaluate list {expr}: {e}")),
            };
            if self.spent.get().saturating_add(elements.len()) > MAX_FOREACH_ELEMENTS {
                return Err(format!(
                    "rule {}: foreach over more than {MAX_FOREACH_ELEMENTS} elements in all",
                    self.rule
                ));
            }
            self.spent.set(self.spent.get() + elements.len());
            resource = self.elements(f, elements, ctx, resource, nesting, budget)?;
            applied += 1;
        }
        Ok((applied, resource))
    }

    /// Kyverno's mutateElements: patchStrategicMerge lists go in descending order unless
    /// `order` says otherwise; every element starts from the same variables.
    fn elements(
        &self,
        f: &Value,
        elements: Vec<Value>,
        ctx: &mut Vars,
        mut resource: Value,
        nesting: usize,
        budget: &mut Budget,
    ) -> Result<Value, String> {
        let reverse = match f["order"].as_str() {
            Some("Descending") => true,
            Some(_) => false,
            None => f.get("patchStrategicMerge").is_some(),
        };
        let saved = ctx.save_foreach(f, nesting);
        let mut order: Vec<(usize, Value)> = elements.into_iter().enumerate().collect();
        if reverse {
            order.reverse();
        }
        let result = (|| {
            for (i, el) in order {
                if el.is_null() {
                    continue;
                }
                for (k, v) in &saved {
                    ctx.restore(k, v);
                }
                ctx.set("element", Some(el));
                ctx.alias(&format!("element{nesting}"), "element");
                ctx.set("elementIndex", Some(json!(i)));
                ctx.alias(&format!("elementIndex{nesting}"), "elementIndex");
                load_context(&f["context"], ctx, self.rule, self.supplied)
                    .map_err(|e| format!("failed to load to mutate.foreach[{i}].context: {e}"))?;
                match conditions::evaluate(&f["preconditions"], ctx) {
                    Ok(true) => {}
                    Ok(false) => continue,
                    Err(e) => return Err(format!("failed to evaluate mutate.foreach[{i}].preconditions: {e}")),
                }
                resource = match f.get("foreach") {
                    Some(nested) => self.lists(nested, ctx, resource, nesting + 1, budget)?.1,
                    None => patch_once(f, ctx, &resource, budget)?,
                };
            }
            Ok(resource)
        })();
        for (k, v) in &saved {
            ctx.restore(k, v);
        }
        result
    }
}

/// A `generate` rule with `data`: the resource it creates, variables substituted (Kyverno
/// sets the data as the object's content, then its apiVersion, kind, name and namespace).
pub(super) fn generate(generate: &Value, ctx: &Vars) -> Result<Value, String> {
    let g = substitute(generate, ctx).map_err(|e| format!("variable substitution failed: {e}"))?;
    let text = |k: &str| -> String {
        match &g[k] {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            other => other.to_string(),
        }
    };
    let mut obj = match &g["data"] {
        Value::Object(o) => o.clone(),
        Value::Null => Map::new(),
        _ => return Err("generate.data is not a mapping".into()),
    };
    obj.insert("apiVersion".into(), json!(text("apiVersion")));
    obj.insert("kind".into(), json!(text("kind")));
    let meta = obj.entry("metadata").or_insert_with(|| json!({}));
    let Value::Object(meta) = meta else { return Err("generate.data.metadata is not a mapping".into()) };
    meta.insert("name".into(), json!(text("name")));
    let ns = text("namespace");
    if ns.is_empty() {
        meta.remove("namespace");
    } else {
        meta.insert("namespace".into(), json!(ns));
    }
    Ok(Value::Object(obj))
}

/// The message of a generate rule that applied.
pub(super) fn generated_message(v: &Value) -> String {
    format!("created {}", crate::outcome::ResourceId::of(v))
}

/// Whether a compiled rule is a mutate or generate rule (it has no validation).
pub(super) fn kind_of(raw: &Value) -> classic::RuleKind {
    if raw.get("mutate").is_some() {
        classic::RuleKind::Mutate
    } else if raw.get("generate").is_some() {
        classic::RuleKind::Generate
    } else {
        classic::RuleKind::Validate
    }
}
