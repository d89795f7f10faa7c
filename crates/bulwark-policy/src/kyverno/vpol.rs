//! CEL policies: Kyverno's `policies.kyverno.io` ValidatingPolicy and Kubernetes'
//! `admissionregistration.k8s.io` ValidatingAdmissionPolicy with its binding (the same language).
//!
//! Evaluation follows Kyverno's ValidatingPolicy engine (pkg/cel/policies/vpol): the match
//! constraints select the request (no result at all when they do not match), match conditions
//! that are false give one `skip` (rule name empty), otherwise the validations run in order and
//! the first false one fails the rule `validation` with its message; an evaluation error is an
//! `error`. Pod policies are auto-generated for pod controllers as Kyverno does
//! (pkg/cel/autogen): one variant for DaemonSet/Deployment/ReplicaSet/StatefulSet/Job with
//! `object.spec` → `object.spec.template.spec`, one for CronJob with the job template's path.

pub(crate) mod matching;

use crate::cel::{self, Activation, Expression, Input, Limits};
use crate::dialect::{Policy, Request};
use crate::error::PolicyError;
use crate::outcome::{Outcome, ResourceId, RuleResult};
use crate::resource::Document;
use matching::MatchResources;
use serde_json::{Map, Value};

/// The rule name Kyverno's engine reports for a ValidatingPolicy's validations.
pub const RULE_VALIDATION: &str = "validation";
/// The rule name of the skip Kyverno reports when match conditions are false.
pub const RULE_SKIPPED: &str = "";

/// What a failing validation does (`validationActions`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Deny,
    Audit,
    Warn,
}

/// The CEL policy documents (policies and bindings together: a binding names its policy).
pub fn compile(docs: &[&Document]) -> Result<Vec<Box<dyn Policy>>, Vec<PolicyError>> {
    let mut policies: Vec<Box<dyn Policy>> = Vec::new();
    let mut errors = Vec::new();
    let mut vaps: Vec<&Document> = Vec::new();
    let mut bindings: Vec<&Document> = Vec::new();
    for doc in docs {
        let label = doc.label();
        match (doc.api_version().split('/').next().unwrap_or_default(), doc.kind()) {
            ("policies.kyverno.io", "ValidatingPolicy") => match compile_vpol(doc) {
                Ok(p) => policies.push(Box::new(p)),
                Err(e) => errors.extend(e),
            },
            ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy") => vaps.push(doc),
            ("admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding") => bindings.push(doc),
            _ => errors.push(PolicyError::unsupported(label, None, "kind")),
        }
    }
    for vap in vaps {
        let mine: Vec<&Document> =
            bindings.iter().copied().filter(|b| b.value["spec"]["policyName"].as_str() == Some(vap.name())).collect();
        match compile_vap(vap, &mine) {
            Ok(p) => policies.push(Box::new(p)),
            Err(e) => errors.extend(e),
        }
    }
    for b in &bindings {
        let target = b.value["spec"]["policyName"].as_str().unwrap_or_default();
        if !docs.iter().any(|d| d.kind() == "ValidatingAdmissionPolicy" && d.name() == target) {
            errors.push(PolicyError::invalid(
                b.label(),
                format!("binds policy {target:?}, which is not among the policies given"),
            ));
        }
    }
    if errors.is_empty() {
        Ok(policies)
    } else {
        Err(errors)
    }
}

/// Refuses fields we do not know at `path` (never a silent skip).
fn known(label: &str, v: &Value, path: &str, allowed: &[&str]) -> Result<(), PolicyError> {
    match v {
        Value::Null => Ok(()),
        Value::Object(o) => match o.keys().find(|k| !allowed.contains(&k.as_str())) {
            Some(k) => Err(PolicyError::unsupported(label, None, format!("{path}.{k}"))),
            None => Ok(()),
        },
        _ => Err(PolicyError::invalid(label, format!("`{path}` is not an object"))),
    }
}

fn array<'a>(label: &str, v: &'a Value, path: &str) -> Result<&'a [Value], PolicyError> {
    match v {
        Value::Null => Ok(&[]),
        Value::Array(a) => Ok(a),
        _ => Err(PolicyError::invalid(label, format!("`{path}` is not a list"))),
    }
}

fn string<'a>(label: &str, v: &'a Value, path: &str) -> Result<Option<&'a str>, PolicyError> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s)),
        _ => Err(PolicyError::invalid(label, format!("`{path}` is not a string"))),
    }
}

/// One validation.
#[derive(Debug)]
struct Validation {
    expression: Expression,
    message: Option<String>,
    message_expression: Option<Expression>,
}

/// A compiled spec: what is evaluated for one request (the policy, or one autogen variant).
#[derive(Debug)]
struct Spec {
    match_resources: MatchResources,
    rule: CelRule,
}

/// Match conditions, variables and validations: the CEL part of a ValidatingPolicy or
/// ValidatingAdmissionPolicy, also what Kyverno's `validate.cel` and Gatekeeper's
/// `K8sNativeValidation` source hold. Reusable by those dialects.
#[derive(Debug)]
pub struct CelRule {
    match_conditions: Vec<(String, Expression)>,
    variables: Vec<(String, Expression)>,
    validations: Vec<Validation>,
    fail_open: bool,
    /// Kubernetes' semantics (ValidatingAdmissionPolicy) rather than Kyverno's: a failed or
    /// empty message expression falls back to `message`, then to "failed expression: ...";
    /// with `failurePolicy: Ignore` an evaluation error lets the request through.
    kubernetes: bool,
}

/// What a [`CelRule`] says about one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// A match condition is false (or failed, with `failurePolicy: Ignore`).
    Skip,
    Pass,
    /// The first false validation's message.
    Fail(String),
    /// An expression that could not be evaluated, or a limit.
    Error(String),
}

/// The unsupported variables and Kyverno libraries: a policy naming them is refused.
const UNSUPPORTED_VARIABLES: &[&str] = &["authorizer", "http", "resource", "globalContext", "imageData", "image"];

fn compile_expr(label: &str, path: &str, source: &str) -> Result<Expression, PolicyError> {
    let e = cel::compile(source).map_err(|e| PolicyError::invalid(label, format!("{path}: {e}")))?;
    if let Some(v) = UNSUPPORTED_VARIABLES.iter().find(|v| e.uses_variable(v)) {
        return Err(PolicyError::Unsupported {
            policy: label.to_string(),
            rule: None,
            field: path.to_string(),
            detail: Some(format!("the `{v}` variable")),
        });
    }
    Ok(e)
}

impl CelRule {
    /// Compiles `matchConditions`, `variables`, the validations under `validations_key`
    /// (`validations`; Kyverno's `validate.cel` says `expressions`), `auditAnnotations` and
    /// `failurePolicy` of `v`, whose path in the document is `path` (`spec`). The caller
    /// refuses the fields it does not know.
    pub fn compile(label: &str, v: &Value, path: &str, validations_key: &str) -> Result<CelRule, Vec<PolicyError>> {
        let mut errors = Vec::new();
        let mut named = |what: &str| -> Vec<(String, Expression)> {
            let path = format!("{path}.{what}");
            let items = match array(label, &v[what], &path) {
                Ok(a) => a,
                Err(e) => {
                    errors.push(e);
                    return Vec::new();
                }
            };
            let mut out = Vec::new();
            for (i, item) in items.iter().enumerate() {
                let p = format!("{path}[{i}]");
                if let Err(e) = known(label, item, &p, &["name", "expression"]) {
                    errors.push(e);
                    continue;
                }
                let name = item["name"].as_str().unwrap_or_default().to_string();
                match string(label, &item["expression"], &format!("{p}.expression")) {
                    Ok(Some(src)) => match compile_expr(label, &format!("{p}.expression"), src) {
                        Ok(e) => out.push((name, e)),
                        Err(e) => errors.push(e),
                    },
                    Ok(None) => errors.push(PolicyError::invalid(label, format!("`{p}.expression` is required"))),
                    Err(e) => errors.push(e),
                }
            }
            out
        };
        let match_conditions = named("matchConditions");
        let variables = named("variables");
        let mut validations = Vec::new();
        let vpath = format!("{path}.{validations_key}");
        match array(label, &v[validations_key], &vpath) {
            Ok(items) => {
                for (i, item) in items.iter().enumerate() {
                    let p = format!("{vpath}[{i}]");
                    if let Err(e) = known(label, item, &p, &["expression", "message", "messageExpression", "reason"]) {
                        errors.push(e);
                        continue;
                    }
                    let expression = match string(label, &item["expression"], &format!("{p}.expression")) {
                        Ok(Some(src)) => compile_expr(label, &format!("{p}.expression"), src),
                        Ok(None) => Err(PolicyError::invalid(label, format!("`{p}.expression` is required"))),
                        Err(e) => Err(e),
                    };
                    let message_expression =
                        match string(label, &item["messageExpression"], &format!("{p}.messageExpression")) {
                            Ok(Some(src)) => compile_expr(label, &format!("{p}.messageExpression"), src).map(Some),
                            Ok(None) => Ok(None),
                            Err(e) => Err(e),
                        };
                    let message =
                        string(label, &item["message"], &format!("{p}.message")).map(|m| m.map(str::to_string));
                    match (expression, message_expression, message) {
                        (Ok(expression), Ok(message_expression), Ok(message)) => {
                            validations.push(Validation { expression, message, message_expression })
                        }
                        (a, b, c) => errors.extend(a.err().into_iter().chain(b.err()).chain(c.err())),
                    }
                }
            }
            Err(e) => errors.push(e),
        }
        // Audit annotations only annotate the audit event: compiled (so a bad one is
        // reported), they do not change a result.
        let apath = format!("{path}.auditAnnotations");
        match array(label, &v["auditAnnotations"], &apath) {
            Ok(items) => {
                for (i, item) in items.iter().enumerate() {
                    let p = format!("{apath}[{i}]");
                    if let Err(e) = known(label, item, &p, &["key", "valueExpression"]) {
                        errors.push(e);
                    } else if let Some(src) = item["valueExpression"].as_str() {
                        if let Err(e) = compile_expr(label, &format!("{p}.valueExpression"), src) {
                            errors.push(e);
                        }
                    }
                }
            }
            Err(e) => errors.push(e),
        }
        let fail_open = match v["failurePolicy"].as_str() {
            None | Some("Fail") => false,
            Some("Ignore") => true,
            Some(other) => {
                errors.push(PolicyError::invalid(
                    label,
                    format!("{path}.failurePolicy {other:?} is neither Fail nor Ignore"),
                ));
                false
            }
        };
        if validations.is_empty() && errors.is_empty() {
            errors.push(PolicyError::invalid(label, format!("{vpath} is empty: the policy checks nothing")));
        }
        if errors.is_empty() {
            Ok(CelRule { match_conditions, variables, validations, fail_open, kubernetes: false })
        } else {
            Err(errors)
        }
    }

    /// The rule with Kubernetes' semantics (ValidatingAdmissionPolicy's messages and failure
    /// policy) instead of Kyverno's.
    pub fn with_kubernetes_semantics(mut self) -> Self {
        self.kubernetes = true;
        self
    }

    /// Evaluates the rule on `input` as Kyverno's engine does: match conditions (any false
    /// skips; errors fail closed unless `failurePolicy: Ignore`), variables, then the
    /// validations in order until one is false. `bind` adds variables of the caller's own
    /// (Gatekeeper's `variables.params`) before the rule's.
    pub fn evaluate(&self, input: &Input, limits: Limits, bind: &[(&str, &Value)]) -> Verdict {
        let mut act = match Activation::new(input, limits) {
            Ok(a) => a,
            Err(e) => return Verdict::Error(e.to_string()),
        };
        let mut errors = Vec::new();
        for (name, cond) in &self.match_conditions {
            match act.eval_bool(cond) {
                Ok(false) => return Verdict::Skip,
                Ok(true) => {}
                Err(e) => errors.push(format!("match condition {name:?}: {e}")),
            }
        }
        if !errors.is_empty() {
            return if self.fail_open { Verdict::Skip } else { Verdict::Error(errors.join("; ")) };
        }
        for (name, value) in bind {
            act.bind_value(name, value);
        }
        for (name, e) in &self.variables {
            act.bind_variable(name, e);
        }
        for v in &self.validations {
            match act.eval_bool(&v.expression) {
                Ok(true) => {}
                Ok(false) => return Verdict::Fail(self.message(&act, v)),
                Err(_) if self.kubernetes && self.fail_open => return Verdict::Skip,
                Err(e) => return Verdict::Error(e.to_string()),
            }
        }
        Verdict::Pass
    }
}

impl CelRule {
    /// A failed validation's message.
    fn message(&self, act: &Activation, v: &Validation) -> String {
        let evaluated = v.message_expression.as_ref().map(|me| act.eval_string(me));
        if !self.kubernetes {
            // Kyverno: the message expression's result, or why it has none.
            return match evaluated {
                Some(Ok(m)) => m,
                Some(Err(e)) => format!("failed to evaluate message expression: {e}"),
                None => v.message.clone().unwrap_or_default(),
            };
        }
        // Kubernetes: an empty or failing message expression falls back to the message.
        match evaluated {
            Some(Ok(m)) if !m.trim().is_empty() => m,
            _ => match &v.message {
                Some(m) if !m.is_empty() => m.clone(),
                _ => format!("failed expression: {}", v.expression.source().trim()),
            },
        }
    }
}

/// The parts of a spec that ValidatingPolicy and ValidatingAdmissionPolicy share.
fn compile_spec(label: &str, spec: &Value) -> Result<Spec, Vec<PolicyError>> {
    let match_resources = MatchResources::parse(label, &spec["matchConstraints"], "spec.matchConstraints");
    let rule = CelRule::compile(label, spec, "spec", "validations");
    match (match_resources, rule) {
        (Ok(match_resources), Ok(rule)) => Ok(Spec { match_resources, rule }),
        (m, r) => Err(m.err().into_iter().chain(r.err().into_iter().flatten()).collect()),
    }
}

fn actions(label: &str, v: &Value, path: &str) -> Result<Vec<Action>, PolicyError> {
    let mut out = Vec::new();
    for a in array(label, v, path)? {
        out.push(match a.as_str() {
            Some("Deny") => Action::Deny,
            Some("Audit") => Action::Audit,
            Some("Warn") => Action::Warn,
            _ => return Err(PolicyError::invalid(label, format!("`{path}` has {a}: not Deny, Audit or Warn"))),
        });
    }
    Ok(out)
}

/// A compiled ValidatingPolicy or ValidatingAdmissionPolicy (with its bindings).
pub struct CelPolicy {
    name: String,
    /// The policy itself, then its auto-generated variants (each with its own match).
    specs: Vec<Spec>,
    /// For a ValidatingAdmissionPolicy: each binding's match and actions (none: the policy is
    /// applied as if bound once with `Deny`, as `kyverno apply` does with an unbound policy).
    bindings: Vec<(Option<MatchResources>, Vec<Action>)>,
    limits: Limits,
}

impl std::fmt::Debug for CelPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CelPolicy").field("name", &self.name).field("specs", &self.specs.len()).finish()
    }
}

fn compile_vpol(doc: &Document) -> Result<CelPolicy, Vec<PolicyError>> {
    let label = doc.label();
    let spec = &doc.value["spec"];
    known(
        &label,
        spec,
        "spec",
        &[
            "validationActions",
            "evaluation",
            "matchConstraints",
            "matchConditions",
            "variables",
            "validations",
            "auditAnnotations",
            "failurePolicy",
            "webhookConfiguration",
            "autogen",
        ],
    )
    .map_err(|e| vec![e])?;
    let ev = &spec["evaluation"];
    known(&label, ev, "spec.evaluation", &["background", "admission", "mode"]).map_err(|e| vec![e])?;
    if let Some(mode) = ev["mode"].as_str().filter(|m| *m != "Kubernetes") {
        return Err(vec![PolicyError::Unsupported {
            policy: label,
            rule: None,
            field: "spec.evaluation.mode".into(),
            detail: Some(format!("mode {mode}")),
        }]);
    }
    known(&label, &spec["webhookConfiguration"], "spec.webhookConfiguration", &["timeoutSeconds"])
        .map_err(|e| vec![e])?;
    known(&label, &spec["autogen"], "spec.autogen", &["podControllers"]).map_err(|e| vec![e])?;
    known(&label, &spec["autogen"]["podControllers"], "spec.autogen.podControllers", &["controllers"])
        .map_err(|e| vec![e])?;
    let mut actions = actions(&label, &spec["validationActions"], "spec.validationActions").map_err(|e| vec![e])?;
    if actions.is_empty() {
        // Kyverno's default for a ValidatingPolicy without actions.
        actions.push(Action::Deny);
    }
    let mut specs = vec![compile_spec(&label, spec)?];
    for variant in autogen(spec) {
        specs.push(compile_spec(&label, &variant)?);
    }
    Ok(CelPolicy { name: doc.name().to_string(), specs, bindings: vec![(None, actions)], limits: Limits::default() })
}

fn compile_vap(doc: &Document, bindings: &[&Document]) -> Result<CelPolicy, Vec<PolicyError>> {
    let label = doc.label();
    let spec = &doc.value["spec"];
    known(
        &label,
        spec,
        "spec",
        &[
            "failurePolicy",
            "paramKind",
            "matchConstraints",
            "validations",
            "auditAnnotations",
            "matchConditions",
            "variables",
        ],
    )
    .map_err(|e| vec![e])?;
    if !spec["paramKind"].is_null() {
        // Params are cluster objects named by the binding: offline there are none.
        return Err(vec![PolicyError::unsupported(label, None, "spec.paramKind")]);
    }
    let mut compiled = compile_spec(&label, spec)?;
    compiled.rule = compiled.rule.with_kubernetes_semantics();
    let mut bound = Vec::new();
    let mut errors = Vec::new();
    for b in bindings {
        let blabel = b.label();
        let bspec = &b.value["spec"];
        let parsed = (|| {
            known(&blabel, bspec, "spec", &["policyName", "paramRef", "matchResources", "validationActions"])?;
            if !bspec["paramRef"].is_null() {
                return Err(PolicyError::unsupported(&blabel, None, "spec.paramRef"));
            }
            let m = if bspec["matchResources"].is_null() {
                None
            } else {
                Some(MatchResources::parse_binding(&blabel, &bspec["matchResources"], "spec.matchResources")?)
            };
            let a = actions(&blabel, &bspec["validationActions"], "spec.validationActions")?;
            if a.is_empty() {
                return Err(PolicyError::invalid(&blabel, "spec.validationActions is required"));
            }
            Ok((m, a))
        })();
        match parsed {
            Ok(x) => bound.push(x),
            Err(e) => errors.push(e),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    if bound.is_empty() {
        bound.push((None, vec![Action::Deny]));
    }
    Ok(CelPolicy { name: doc.name().to_string(), specs: vec![compiled], bindings: bound, limits: Limits::default() })
}

// ---- autogen (pkg/cel/autogen) ----

/// The pod controllers Kyverno generates for: (resource, group, version, kind, replacements).
const CONTROLLERS: &[(&str, &str, &str, &str, &str)] = &[
    ("cronjobs", "batch", "v1", "CronJob", "cronjobs"),
    ("daemonsets", "apps", "v1", "DaemonSet", "defaults"),
    ("deployments", "apps", "v1", "Deployment", "defaults"),
    ("jobs", "batch", "v1", "Job", "defaults"),
    ("replicasets", "apps", "v1", "ReplicaSet", "defaults"),
    ("statefulsets", "apps", "v1", "StatefulSet", "defaults"),
];

/// Whether the policy matches exactly pods (core v1, no names, selectors or exclusions):
/// Kyverno's `CanAutoGen`.
fn can_autogen(m: &Value) -> bool {
    let selector_empty = |s: &Value| {
        s.is_null()
            || (s["matchLabels"].as_object().is_none_or(Map::is_empty)
                && s["matchExpressions"].as_array().is_none_or(Vec::is_empty))
    };
    let rules = m["resourceRules"].as_array().map(Vec::as_slice).unwrap_or_default();
    let only = |v: &Value, want: &str| v.as_array().is_some_and(|a| a.len() == 1 && a[0] == want);
    m.is_object()
        && selector_empty(&m["namespaceSelector"])
        && selector_empty(&m["objectSelector"])
        && m["excludeResourceRules"].as_array().is_none_or(Vec::is_empty)
        && rules.len() == 1
        && rules[0]["resourceNames"].as_array().is_none_or(Vec::is_empty)
        && only(&rules[0]["apiGroups"], "")
        && only(&rules[0]["apiVersions"], "v1")
        && only(&rules[0]["resources"], "pods")
}

/// The auto-generated variants of a ValidatingPolicy spec, as Kyverno computes them: one per
/// replacement set, sorted by its name (`cronjobs`, `defaults`).
fn autogen(spec: &Value) -> Vec<Value> {
    if !can_autogen(&spec["matchConstraints"]) {
        return Vec::new();
    }
    let chosen: Vec<&str> = match spec["autogen"]["podControllers"]["controllers"].as_array() {
        Some(list) => list.iter().filter_map(Value::as_str).collect(),
        None => CONTROLLERS.iter().map(|c| c.0).collect(),
    };
    let mut out = Vec::new();
    for replacements in ["cronjobs", "defaults"] {
        let targets: Vec<_> = CONTROLLERS.iter().filter(|c| c.4 == replacements && chosen.contains(&c.0)).collect();
        if targets.is_empty() {
            continue;
        }
        let mut variant = spec.clone();
        let operations = spec["matchConstraints"]["resourceRules"][0]["operations"].clone();
        // One rule per group/version, sorted, resources sorted.
        let mut gvs: Vec<(&str, &str)> = targets.iter().map(|t| (t.1, t.2)).collect();
        gvs.sort();
        gvs.dedup();
        let rules: Vec<Value> = gvs
            .iter()
            .map(|(g, v)| {
                let mut resources: Vec<&str> = targets.iter().filter(|t| t.1 == *g && t.2 == *v).map(|t| t.0).collect();
                resources.sort();
                serde_json::json!({"apiGroups": [g], "apiVersions": [v], "resources": resources, "operations": operations})
            })
            .collect();
        variant["matchConstraints"] = serde_json::json!({ "resourceRules": rules });
        let mut preconditions: Vec<String> = targets
            .iter()
            .map(|t| format!("(object.apiVersion == '{}/{}' && object.kind =='{}')", t.1, t.2, t.3))
            .collect();
        preconditions.sort();
        preconditions.dedup();
        let precondition = preconditions.join("||");
        let prefix = format!("autogen-{replacements}");
        if let Some(conds) = spec["matchConditions"].as_array() {
            variant["matchConditions"] = Value::Array(
                conds
                    .iter()
                    .map(|c| {
                        serde_json::json!({
                            "name": format!("{prefix}-{}", c["name"].as_str().unwrap_or_default()),
                            "expression": format!("!({precondition}) || ({})", c["expression"].as_str().unwrap_or_default()),
                        })
                    })
                    .collect(),
            );
        }
        let to = if replacements == "cronjobs" { "spec.jobTemplate.spec.template." } else { "spec.template." };
        let pairs = [("spec", format!("{to}spec")), ("metadata", format!("{to}metadata"))];
        replace_strings(&mut variant, &pairs);
        out.push(variant);
    }
    out
}

/// Applies Kyverno's replacements to every string of the spec (Kyverno rewrites the spec's
/// JSON text; none of the patterns can span a JSON string's quotes).
fn replace_strings(v: &mut Value, pairs: &[(&str, String); 2]) {
    match v {
        Value::String(s) => {
            let mut t = std::mem::take(s);
            for (from, to) in pairs {
                for prefix in ["object.", "oldObject."] {
                    t = replace_unprotected(&t, &format!("{prefix}{from}"), &format!("{prefix}{to}"));
                }
            }
            *s = t;
        }
        Value::Array(a) => a.iter_mut().for_each(|x| replace_strings(x, pairs)),
        Value::Object(o) => o.values_mut().for_each(|x| replace_strings(x, pairs)),
        _ => {}
    }
}

/// Every `from` becomes `to`, except where `.name` or `.namespace` follows as a whole segment
/// (the workload's own name and namespace stay the workload's).
fn replace_unprotected(data: &str, from: &str, to: &str) -> String {
    let mut out = String::with_capacity(data.len());
    let mut rest = data;
    while let Some(i) = rest.find(from) {
        out.push_str(&rest[..i]);
        let after = &rest[i + from.len()..];
        let protected = [".namespace", ".name"].iter().any(|p| {
            after.strip_prefix(p).is_some_and(|n| !n.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_'))
        });
        out.push_str(if protected { from } else { to });
        rest = after;
    }
    out.push_str(rest);
    out
}

// ---- evaluation ----

/// Kinds that are not namespaced (the ones policies meet; anything else is namespaced, and an
/// object without a namespace is in `default`, as `kubectl apply` and `kyverno apply` put it).
const CLUSTER_SCOPED: &[&str] = &[
    "Namespace",
    "Node",
    "PersistentVolume",
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "StorageClass",
    "PriorityClass",
    "RuntimeClass",
    "IngressClass",
    "CSIDriver",
    "CSINode",
    "VolumeAttachment",
    "APIService",
    "CertificateSigningRequest",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
    "MutatingAdmissionPolicy",
    "MutatingAdmissionPolicyBinding",
    "PodSecurityPolicy",
    "FlowSchema",
    "PriorityLevelConfiguration",
    "ClusterPolicy",
    "ClusterPolicyReport",
    "ValidatingPolicy",
    "ClusterIssuer",
    "ComponentStatus",
];

/// The namespace of an object as admission sees it (None: cluster-scoped).
pub fn namespace_of(object: &Value) -> Option<String> {
    let kind = object["kind"].as_str().unwrap_or_default();
    if CLUSTER_SCOPED.contains(&kind) {
        return None;
    }
    Some(object["metadata"]["namespace"].as_str().filter(|n| !n.is_empty()).unwrap_or("default").to_string())
}

impl Policy for CelPolicy {
    fn name(&self) -> &str {
        &self.name
    }

    fn evaluate(&self, request: &Request) -> Vec<RuleResult> {
        let object = request.object;
        let namespace = namespace_of(object);
        let resource = matching::resource_of(object);
        let mut input = Input::from_request(request, &resource, namespace.as_deref());
        input.params = Value::Null;
        let result = |rule: String, outcome: Outcome, message: String| RuleResult {
            file: request.file.to_string(),
            resource: ResourceId::of(object),
            policy: self.name.clone(),
            rule,
            result: outcome,
            message,
        };
        let mut out = Vec::new();
        for (binding_match, actions) in &self.bindings {
            if let Some(m) = binding_match {
                match m.matches(request, &resource, namespace.as_deref()) {
                    Ok(true) => {}
                    Ok(false) => continue,
                    Err(e) => {
                        out.push(result("match".into(), Outcome::Error, e));
                        continue;
                    }
                }
            }
            // The first spec whose constraints match (the policy, or its autogen variant).
            let mut matched = None;
            for spec in &self.specs {
                match spec.match_resources.matches(request, &resource, namespace.as_deref()) {
                    Ok(true) => {
                        matched = Some(spec);
                        break;
                    }
                    Ok(false) => {}
                    Err(e) => {
                        out.push(result("match".into(), Outcome::Error, e));
                        break;
                    }
                }
            }
            let Some(spec) = matched else { continue };
            out.push(match spec.rule.evaluate(&input, self.limits, &[]) {
                Verdict::Skip => result(RULE_SKIPPED.into(), Outcome::Skip, "skip".into()),
                Verdict::Pass => result(RULE_VALIDATION.into(), Outcome::Pass, String::new()),
                Verdict::Fail(message) => {
                    let outcome = if actions.contains(&Action::Deny) { Outcome::Fail } else { Outcome::Warn };
                    result(RULE_VALIDATION.into(), outcome, message)
                }
                Verdict::Error(e) => result(RULE_VALIDATION.into(), Outcome::Error, e),
            });
        }
        out
    }
}
