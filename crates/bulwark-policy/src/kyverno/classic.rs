//! `kyverno.io/v1` ClusterPolicy and Policy: match/exclude, preconditions, validate
//! (pattern, anyPattern, deny, foreach, podSecurity, cel), auto-generated pod-controller rules.
//!
//! Test values reach a policy through [`Request::context`], shaped as
//! `{"kyverno": {"values": {..}, "policies": {"<policy>": {"values": {..}, "rules": {"<rule>": {..}}}}}}`
//! (`values` are variables for every rule; a key with dots, `a.b`, is the nested path).

use super::variables::Vars;
use super::vpol::{self, CelRule, Verdict as CelVerdict};
use super::{autogen, conditions, matching, pattern, variables};
use crate::dialect::{Policy, Request};
use crate::error::PolicyError;
use crate::outcome::{Mutation, Outcome, ResourceId, RuleResult};
use crate::pss;
use crate::resource::Document;
use jmespath::{Rcvar, Variable};
use serde_json::{json, Map, Value};

/// The most elements a rule's `foreach` lists may have in all, and the deepest nesting.
const MAX_FOREACH_ELEMENTS: usize = 10_000;
const MAX_FOREACH_DEPTH: usize = 8;

/// A compiled ClusterPolicy or Policy.
pub struct ClassicPolicy {
    name: String,
    /// `Policy` is namespaced: it applies to its own namespace only.
    namespace: Option<String>,
    rules: Vec<Rule>,
    /// `spec.applyRules: One`: stop after the first rule that applies.
    apply_one: bool,
}

/// What a rule does: Kyverno runs mutate rules first, then validate rules (generate rules
/// run in the background on admission).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum RuleKind {
    Validate,
    Mutate,
    Generate,
    /// `verifyImages`: image checks for the admission webhook (see [`super::verify_images`]).
    VerifyImages,
}

struct Rule {
    name: String,
    raw: Value,
    kind: RuleKind,
    /// Outcome of a violation: `Fail` (Enforce) or `Warn` (Audit).
    violation: Outcome,
    /// `validate.cel`, compiled (after auto-generation rewrote its expressions).
    cel: Option<CelRule>,
    /// `verifyImages`, parsed.
    verify: Vec<super::verify_images::VerifyImages>,
}

/// The fields of `validate.cel` we evaluate; `paramKind`/`paramRef` need cluster objects.
const CEL_FIELDS: &[&str] = &["expressions", "variables", "auditAnnotations"];

const SPEC_FIELDS: &[&str] = &[
    "rules",
    "validationFailureAction",
    "background",
    "failurePolicy",
    "webhookTimeoutSeconds",
    "admission",
    "schemaValidation",
    "applyRules",
    "mutateExistingOnPolicyUpdate",
    "generateExisting",
    "generateExistingOnPolicyUpdate",
    "useServerSideApply",
    "emitWarning",
    "webhookConfiguration",
    "validationFailureActionOverrides",
];

const RULE_FIELDS: &[&str] = &[
    "name",
    "match",
    "exclude",
    "preconditions",
    "celPreconditions",
    "context",
    "validate",
    "mutate",
    "generate",
    "verifyImages",
    "skipBackgroundRequests",
    "reportProperties",
];

const VALIDATE_FIELDS: &[&str] = &[
    "message",
    "pattern",
    "anyPattern",
    "deny",
    "foreach",
    "podSecurity",
    "cel",
    "failureAction",
    "allowExistingViolations",
];

/// One ClusterPolicy or Policy document.
pub fn compile(doc: &Document) -> Result<Box<dyn Policy>, Vec<PolicyError>> {
    let policy = doc.label();
    let spec = &doc.value["spec"];
    let mut errors = Vec::new();
    let Some(spec_obj) = spec.as_object() else {
        return Err(vec![PolicyError::invalid(policy, "`spec` is missing or not a mapping")]);
    };
    for k in spec_obj.keys() {
        if !SPEC_FIELDS.contains(&k.as_str()) {
            errors.push(PolicyError::unsupported(&policy, None, format!("spec.{k}")));
        }
    }
    if spec["validationFailureActionOverrides"].as_array().is_some_and(|a| !a.is_empty()) {
        errors.push(PolicyError::unsupported(&policy, None, "spec.validationFailureActionOverrides"));
    }
    let default_action = match spec["validationFailureAction"].as_str() {
        None => Outcome::Warn,
        Some(a) => match action(a) {
            Some(o) => o,
            None => {
                errors.push(PolicyError::invalid(
                    &policy,
                    format!("spec.validationFailureAction {a:?} is not Enforce or Audit"),
                ));
                Outcome::Warn
            }
        },
    };
    let Some(written) = spec["rules"].as_array() else {
        errors.push(PolicyError::invalid(&policy, "`spec.rules` is missing or not a list"));
        return Err(errors);
    };
    // Every rule as written is checked, so that the error names the user's rule.
    for (i, r) in written.iter().enumerate() {
        check_rule(&policy, i, r, &mut errors);
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut rules = Vec::new();
    for raw in autogen::compute_rules(&doc.value) {
        let name = raw["name"].as_str().unwrap_or_default().to_string();
        let violation = match raw["validate"]["failureAction"].as_str() {
            Some(a) => action(a).unwrap_or(default_action),
            None => default_action,
        };
        let cel = match raw["validate"].get("cel") {
            None => None,
            Some(c) => {
                // celPreconditions are the CEL rule's match conditions: one false skips it.
                let mut c = c.clone();
                if let (Some(m), Value::Object(o)) = (raw.get("celPreconditions"), &mut c) {
                    o.insert("matchConditions".into(), m.clone());
                }
                match CelRule::compile(&policy, &c, &format!("rule {name}: validate.cel"), "expressions") {
                    Ok(rule) => Some(rule),
                    Err(e) => {
                        errors.extend(e);
                        None
                    }
                }
            }
        };
        let mut kind = super::mutate::kind_of(&raw);
        let mut verify = Vec::new();
        if let Some(list) = raw.get("verifyImages") {
            kind = RuleKind::VerifyImages;
            // Checked on the rule as written; the generated rules carry the same entries.
            verify = super::verify_images::parse(&policy, &name, list, &mut Vec::new());
        }
        rules.push(Rule { name, raw, kind, violation, cel, verify });
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let namespace =
        (doc.kind() == "Policy").then(|| doc.value["metadata"]["namespace"].as_str().unwrap_or("default").to_string());
    Ok(Box::new(ClassicPolicy {
        name: doc.name().to_string(),
        namespace,
        rules,
        apply_one: spec["applyRules"].as_str() == Some("One"),
    }))
}

fn action(a: &str) -> Option<Outcome> {
    match a {
        "Enforce" | "enforce" => Some(Outcome::Fail),
        "Audit" | "audit" => Some(Outcome::Warn),
        _ => None,
    }
}

fn check_rule(policy: &str, i: usize, r: &Value, errors: &mut Vec<PolicyError>) {
    let name = r["name"].as_str().unwrap_or_default();
    let rule = Some(if name.is_empty() { "" } else { name });
    let Some(obj) = r.as_object() else {
        errors.push(PolicyError::invalid(policy, format!("spec.rules[{i}] is not a mapping")));
        return;
    };
    if name.is_empty() {
        errors.push(PolicyError::invalid(policy, format!("spec.rules[{i}] has no name")));
    }
    for k in obj.keys() {
        if !RULE_FIELDS.contains(&k.as_str()) {
            // verifyImages, imageExtractors, ...
            errors.push(PolicyError::unsupported(policy, rule, k.clone()));
        }
    }
    let actions = ["validate", "mutate", "generate", "verifyImages"].iter().filter(|k| obj.contains_key(**k)).count();
    if actions > 1 {
        errors.push(PolicyError::invalid(
            policy,
            format!("rule {name}: a rule has only one of validate, mutate, generate or verifyImages"),
        ));
    }
    if let Some(list) = obj.get("verifyImages") {
        super::verify_images::parse(policy, name, list, errors);
    }
    super::mutate::check(policy, rule, r, errors);
    if actions == 0 && !obj.keys().any(|k| !RULE_FIELDS.contains(&k.as_str())) {
        errors.push(PolicyError::invalid(
            policy,
            format!("rule {name}: has no validate, mutate, generate or verifyImages"),
        ));
    }
    for block in ["match", "exclude"] {
        if let Some(f) = matching::unsupported_field(&r[block], block) {
            errors.push(PolicyError::unsupported(policy, rule, f));
        }
    }
    check_context(policy, rule, &r["context"], "context", errors);
    if obj.contains_key("celPreconditions") && r["validate"].get("cel").is_none() {
        errors.push(PolicyError::Unsupported {
            policy: policy.to_string(),
            rule: rule.map(str::to_string),
            field: "celPreconditions".into(),
            detail: Some("only on rules with validate.cel".into()),
        });
    }
    if let Some(v) = obj.get("validate") {
        let Some(vo) = section(policy, rule, v, "validate", VALIDATE_FIELDS, errors) else { return };
        if let Some(a) = vo.get("failureAction").and_then(Value::as_str) {
            if action(a).is_none() {
                errors.push(PolicyError::invalid(
                    policy,
                    format!("rule {name}: validate.failureAction {a:?} is not Enforce or Audit"),
                ));
            }
        }
        if let Some(ps) = vo.get("podSecurity") {
            if let Err(e) = pod_security_spec(ps) {
                errors.push(PolicyError::invalid(policy, format!("rule {name}: validate.podSecurity: {e}")));
            }
            for (j, ex) in ps["exclude"].as_array().into_iter().flatten().enumerate() {
                let control = ex["controlName"].as_str().unwrap_or_default();
                if control_ids(control).is_empty() {
                    errors.push(PolicyError::invalid(
                        policy,
                        format!("rule {name}: validate.podSecurity.exclude[{j}].controlName {control:?} is not a Pod Security Standards control"),
                    ));
                }
                for k in ex.as_object().into_iter().flatten().map(|(k, _)| k) {
                    // restrictedField and values are accepted: Kyverno's evaluation does not read them.
                    if !matches!(k.as_str(), "controlName" | "images" | "restrictedField" | "values") {
                        errors.push(PolicyError::unsupported(
                            policy,
                            rule,
                            format!("validate.podSecurity.exclude[{j}].{k}"),
                        ));
                    }
                }
            }
        }
        for k in ["pattern", "anyPattern"] {
            if let Some(p) = vo.get(k) {
                check_pattern(policy, rule, p, &format!("validate.{k}"), errors);
            }
        }
        if let Some(c) = vo.get("cel") {
            for k in c.as_object().into_iter().flatten().map(|(k, _)| k) {
                if !CEL_FIELDS.contains(&k.as_str()) {
                    errors.push(PolicyError::unsupported(policy, rule, format!("validate.cel.{k}")));
                }
            }
        }
        check_foreach(policy, rule, &vo.get("foreach").cloned().unwrap_or(Value::Null), "validate.foreach", errors);
        check_operators(policy, rule, &vo.get("deny").map(|d| d["conditions"].clone()).unwrap_or(Value::Null), errors);
    }
    check_operators(policy, rule, &r["preconditions"], errors);
}

/// A rule's `validate`/`mutate`/`generate` section as a mapping, each field outside `known`
/// reported Unsupported (`{what}.{field}`); `None` (an error pushed) when it is not a mapping.
pub(super) fn section<'a>(
    policy: &str,
    rule: Option<&str>,
    v: &'a Value,
    what: &str,
    known: &[&str],
    errors: &mut Vec<PolicyError>,
) -> Option<&'a Map<String, Value>> {
    let Some(o) = v.as_object() else {
        let name = rule.unwrap_or_default();
        errors.push(PolicyError::invalid(policy, format!("rule {name}: {what} is not a mapping")));
        return None;
    };
    for k in o.keys().filter(|k| !known.contains(&k.as_str())) {
        errors.push(PolicyError::unsupported(policy, rule, format!("{what}.{k}")));
    }
    Some(o)
}

fn check_context(policy: &str, rule: Option<&str>, ctx: &Value, path: &str, errors: &mut Vec<PolicyError>) {
    for (i, entry) in ctx.as_array().into_iter().flatten().enumerate() {
        if entry["name"].as_str().unwrap_or_default().is_empty() {
            errors.push(PolicyError::invalid(policy, format!("{path}[{i}] has no name")));
        }
        for k in entry.as_object().into_iter().flatten().map(|(k, _)| k) {
            // imageRegistry, apiCall, configMap and globalReference need a cluster or a
            // registry: they are an error at evaluation unless a test value supplies them.
            if !matches!(
                k.as_str(),
                "name" | "variable" | "imageRegistry" | "apiCall" | "configMap" | "globalReference"
            ) {
                errors.push(PolicyError::unsupported(policy, rule, format!("{path}[{i}].{k}")));
            }
        }
    }
}

/// A pattern's keys and values: `+()` belongs to mutate rules (Kyverno refuses it in validate),
/// and `$()` references to other fields of the pattern are not implemented.
fn check_pattern(policy: &str, rule: Option<&str>, p: &Value, path: &str, errors: &mut Vec<PolicyError>) {
    let mut stack = vec![(p, path.to_string())];
    while let Some((v, at)) = stack.pop() {
        match v {
            Value::Object(o) => {
                for (k, x) in o {
                    if matches!(pattern::parse_anchor(k), Some((pattern::Anchor::AddIfNotPresent, _))) {
                        errors.push(PolicyError::invalid(
                            policy,
                            format!(
                                "rule {}: {at}.{k}: the +() anchor is for mutate rules, not validate",
                                rule.unwrap_or_default()
                            ),
                        ));
                    }
                    stack.push((x, format!("{at}.{k}")));
                }
            }
            Value::Array(a) => stack.extend(a.iter().enumerate().map(|(i, x)| (x, format!("{at}[{i}]")))),
            Value::String(t) if t.contains("$(") => {
                errors.push(PolicyError::Unsupported {
                    policy: policy.to_string(),
                    rule: rule.map(str::to_string),
                    field: at,
                    detail: Some("`$()` references in patterns".into()),
                });
            }
            _ => {}
        }
    }
}

fn check_foreach(policy: &str, rule: Option<&str>, fe: &Value, path: &str, errors: &mut Vec<PolicyError>) {
    for (i, f) in fe.as_array().into_iter().flatten().enumerate() {
        for k in ["pattern", "anyPattern"] {
            if let Some(p) = f.get(k) {
                check_pattern(policy, rule, p, &format!("{path}[{i}].{k}"), errors);
            }
        }
        for k in f.as_object().into_iter().flatten().map(|(k, _)| k) {
            if !matches!(
                k.as_str(),
                "list" | "elementScope" | "context" | "preconditions" | "pattern" | "anyPattern" | "deny" | "foreach"
            ) {
                errors.push(PolicyError::unsupported(policy, rule, format!("{path}[{i}].{k}")));
            }
        }
        check_context(policy, rule, &f["context"], &format!("{path}[{i}].context"), errors);
        check_operators(policy, rule, &f["preconditions"], errors);
        check_operators(policy, rule, &f["deny"]["conditions"], errors);
        check_foreach(policy, rule, &f["foreach"], &format!("{path}[{i}].foreach"), errors);
    }
}

fn check_operators(policy: &str, rule: Option<&str>, conds: &Value, errors: &mut Vec<PolicyError>) {
    let list: Vec<&Value> = match conds {
        Value::Array(a) => a.iter().collect(),
        Value::Object(o) => o.values().filter_map(Value::as_array).flatten().collect(),
        _ => Vec::new(),
    };
    for c in list {
        let op = c["operator"].as_str().unwrap_or_default();
        if !conditions::OPERATORS.contains(&op) {
            errors.push(PolicyError::invalid(
                policy,
                format!("rule {}: condition operator {op:?} is not one of Kyverno's", rule.unwrap_or_default()),
            ));
        }
    }
}

fn pod_security_spec(ps: &Value) -> Result<pss::LevelVersion, String> {
    let level = match ps["level"].as_str().unwrap_or_default() {
        "privileged" => pss::Level::Privileged,
        "baseline" => pss::Level::Baseline,
        "restricted" => pss::Level::Restricted,
        other => return Err(format!("level {other:?} is not privileged, baseline or restricted")),
    };
    let version = match ps["version"].as_str().unwrap_or("latest") {
        "latest" | "" => pss::Version::Latest,
        v => {
            let minor = v
                .strip_prefix("v1.")
                .and_then(|m| m.parse::<u32>().ok())
                .ok_or_else(|| format!("version {v:?} is not latest or v1.N"))?;
            pss::Version::Minor(minor)
        }
    };
    Ok(pss::LevelVersion { level, version })
}

impl Policy for ClassicPolicy {
    fn name(&self) -> &str {
        &self.name
    }

    /// The images `verifyImages` rules govern in this request (rules matched, excluded and
    /// preconditions as for any rule), for the admission webhook to verify.
    fn image_checks(&self, req: &Request) -> Vec<crate::verify::ImageCheck> {
        let mut out = Vec::new();
        // Kyverno verifies images on CREATE and UPDATE only (a DELETE never waits on a registry).
        if !matches!(req.operation, crate::dialect::Operation::Create | crate::dialect::Operation::Update) {
            return out;
        }
        let mut base: Option<Vars> = None;
        for rule in self.rules.iter().filter(|r| r.kind == RuleKind::VerifyImages) {
            if self.prepare(rule, req, req, &mut base).is_err() {
                continue;
            }
            for (pointer, container, image) in super::verify_images::image_fields(req.object) {
                // Kyverno: every entry that governs an image verifies it.
                for v in rule.verify.iter().filter(|v| v.governs(&image)) {
                    out.push(crate::verify::ImageCheck {
                        policy: self.name.clone(),
                        rule: rule.name.clone(),
                        pointer: pointer.clone(),
                        container: container.clone(),
                        image: image.clone(),
                        enforce: v.enforce.unwrap_or(rule.violation == Outcome::Fail),
                        opt_in_label: None,
                        spec: v.spec.clone(),
                    });
                }
            }
        }
        out
    }

    fn evaluate(&self, req: &Request) -> Vec<RuleResult> {
        let mut out = Vec::with_capacity(self.rules.len());
        let mut applied = false;
        let resource = ResourceId::of(req.object);
        // The request's variables, built and converted for JMESPath once for all the rules
        // that match (most rules do not: they are for other kinds).
        let mut base: Option<Vars> = None;
        // Mutate and generate rules answer through `mutate`.
        for rule in self.rules.iter().filter(|r| matches!(r.kind, RuleKind::Validate | RuleKind::VerifyImages)) {
            let (result, message) = if self.apply_one && applied {
                (Outcome::Skip, "rule skipped: applyRules is One and an earlier rule applied".to_string())
            } else {
                self.evaluate_rule(rule, req, &mut base)
            };
            applied |= result != Outcome::Skip;
            out.push(RuleResult {
                file: req.file.to_string(),
                resource: resource.clone(),
                policy: self.name.clone(),
                rule: rule.name.clone(),
                result,
                message,
            });
        }
        out
    }

    /// The mutate rules in order, each on the resource as the previous one left it (matched
    /// against it too), then the generate rules. As in Kyverno's engine, the variables
    /// (`request.object`, `images`) stay those of the request: a later rule patches the
    /// previous rule's output but reads the object as it was sent.
    fn mutate(&self, req: &Request) -> Mutation {
        let mut out = Mutation::default();
        if self.rules.iter().all(|r| r.kind == RuleKind::Validate) {
            return out;
        }
        let resource = ResourceId::of(req.object);
        let mut patched: Option<Value> = None;
        let mut base: Option<Vars> = None;
        let original = req.clone();
        let mut applied = false;
        for kind in [RuleKind::Mutate, RuleKind::Generate] {
            for rule in self.rules.iter().filter(|r| r.kind == kind) {
                let object = patched.as_ref().unwrap_or(req.object);
                let now = Request { object, ..req.clone() };
                let (result, message) = if self.apply_one && applied {
                    (Outcome::Skip, "rule skipped: applyRules is One and an earlier rule applied".to_string())
                } else {
                    match self.prepare(rule, &now, &original, &mut base) {
                        Err(verdict) => verdict,
                        Ok((mut ctx, supplied)) if kind == RuleKind::Mutate => {
                            let a = super::mutate::apply(&rule.name, &rule.raw["mutate"], &mut ctx, object, &supplied);
                            if let Some(p) = a.patched {
                                patched = Some(p);
                            }
                            (a.outcome, a.message)
                        }
                        Ok((ctx, _)) => match super::mutate::generate(&rule.raw["generate"], &ctx) {
                            Ok(g) => {
                                let m = super::mutate::generated_message(&g);
                                out.generated.push(g);
                                (Outcome::Pass, m)
                            }
                            Err(e) => (Outcome::Error, e),
                        },
                    }
                };
                // Kyverno counts the rules that applied (passed) for applyRules: One.
                applied |= result == Outcome::Pass;
                out.results.push(RuleResult {
                    file: req.file.to_string(),
                    resource: resource.clone(),
                    policy: self.name.clone(),
                    rule: rule.name.clone(),
                    result,
                    message,
                });
            }
        }
        out.patched = patched;
        out
    }
}

/// An outcome with its message.
type Verdict = (Outcome, String);

impl ClassicPolicy {
    /// What every rule does first: the namespace of a Policy, match and exclude, the test
    /// values, the context and the preconditions. `Err` is the rule's result when it does not
    /// go on (skip or error). `req` is matched; the variables are those of `vars_req`.
    fn prepare(
        &self,
        rule: &Rule,
        req: &Request,
        vars_req: &Request,
        base: &mut Option<Vars>,
    ) -> Result<(Vars, Map<String, Value>), Verdict> {
        let raw = &rule.raw;
        if let Some(ns) = &self.namespace {
            let rns = req.object["metadata"]["namespace"].as_str().unwrap_or_default();
            if rns != ns {
                return Err((
                    Outcome::Skip,
                    format!("rule not matched: a Policy of namespace {ns} applies only to its namespace"),
                ));
            }
        }
        if !matching::matches(&raw["match"], req) {
            return Err((Outcome::Skip, "rule not matched".into()));
        }
        if matching::excluded(&raw["exclude"], req) {
            return Err((Outcome::Skip, "rule excluded".into()));
        }
        let supplied = self.supplied(rule, vars_req);
        let mut ctx = base.get_or_insert_with(|| request_vars(vars_req)).clone();
        for (k, v) in &supplied {
            ctx.set_path(k, v.clone());
        }
        if let Err(e) = load_context(&raw["context"], &mut ctx, &rule.name, &supplied) {
            return Err((Outcome::Error, e));
        }
        match conditions::evaluate(&raw["preconditions"], &ctx) {
            Ok(true) => {}
            Ok(false) => return Err((Outcome::Skip, "preconditions not met".into())),
            Err(e) => return Err((Outcome::Error, format!("failed to evaluate preconditions: {e}"))),
        }
        Ok((ctx, supplied))
    }

    fn evaluate_rule(&self, rule: &Rule, req: &Request, base: &mut Option<Vars>) -> Verdict {
        let raw = &rule.raw;
        let (mut ctx, supplied) = match self.prepare(rule, req, req, base) {
            Ok(x) => x,
            Err(verdict) => return verdict,
        };
        if rule.kind == RuleKind::VerifyImages {
            if !matches!(req.operation, crate::dialect::Operation::Create | crate::dialect::Operation::Update) {
                return (Outcome::Skip, "verifyImages applies to CREATE and UPDATE".into());
            }
            // Offline there is no registry: the governed images are an error, never a pass.
            let governed: Vec<String> = super::verify_images::image_fields(req.object)
                .into_iter()
                .filter(|(_, _, image)| rule.verify.iter().any(|v| v.governs(image)))
                .map(|(_, _, image)| image)
                .collect();
            if governed.is_empty() {
                return (Outcome::Skip, "no image matches imageReferences".into());
            }
            return (
                Outcome::Error,
                format!(
                    "verifyImages: verifying {} needs a registry; not verified (`bulwark admission review` with registry flags verifies it)",
                    governed.join(", ")
                ),
            );
        }
        let v = &raw["validate"];
        if let Some(cel) = &rule.cel {
            return match validate_cel(&rule.name, cel, req) {
                (Outcome::Fail, m) => (rule.violation, m),
                other => other,
            };
        }
        let (outcome, message) = validate(rule, v, &mut ctx, req, Scope::default(), &supplied);
        // An UPDATE whose old object had the same pattern result is not reported again
        // (Kyverno's validateOldObject): a violation that was already there is skipped.
        if req.operation == crate::dialect::Operation::Update
            && v["allowExistingViolations"].as_bool() != Some(false)
            && v.get("deny").is_none()
            && (v.get("pattern").is_some() || v.get("anyPattern").is_some())
        {
            if let Some(old) = req.old_object {
                let old_req = Request { object: old, ..req.clone() };
                let mut old_ctx = ctx.clone();
                old_ctx.set_path("request.object", old.clone());
                let (old_outcome, old_message) = validate(rule, v, &mut old_ctx, &old_req, Scope::default(), &supplied);
                if old_outcome == outcome && old_message == message && outcome != Outcome::Pass {
                    return (Outcome::Skip, "skipping modified resource as validation results have not changed".into());
                }
            }
        }
        match outcome {
            Outcome::Fail => (rule.violation, message),
            other => (other, message),
        }
    }

    /// The test values that stand for this rule's context entries.
    fn supplied(&self, rule: &Rule, req: &Request) -> Map<String, Value> {
        let mut out = Map::new();
        let Some(k) = req.context.map(|c| &c["kyverno"]) else { return out };
        let base = base_rule_name(&rule.name);
        let p = &k["policies"][&self.name];
        for src in [&k["values"], &p["values"], &p["rules"][base], &p["rules"][&rule.name]] {
            for (key, v) in src.as_object().into_iter().flatten() {
                out.insert(key.clone(), v.clone());
            }
        }
        out
    }
}

/// The variables every rule reads, `request` and `images` (test values are set per rule),
/// built once for all the policies that evaluate the same request: the last request's are
/// kept, and used again when the request holds the same data.
fn request_vars(req: &Request) -> Vars {
    thread_local! {
        static LAST: std::cell::RefCell<Option<Vars>> = const { std::cell::RefCell::new(None) };
    }
    LAST.with(|last| {
        let mut last = last.borrow_mut();
        if let Some(v) = last.as_ref().filter(|v| same_request(v, req)) {
            return v.clone();
        }
        let v = build_request_vars(req);
        *last = Some(v.clone());
        v
    })
}

fn user_info(u: &crate::dialect::UserInfo) -> Value {
    json!({"username": u.username, "groups": u.groups})
}

/// Whether variables built by [`build_request_vars`] are those of this request (everything
/// else in them is derived from the object).
fn same_request(vars: &Vars, req: &Request) -> bool {
    let Some(request) = vars.get_var("request").and_then(|r| r.as_object()) else { return false };
    let field = |k: &str| request.get(k).map(|v| &**v);
    let same = |k: &str, v: Option<&Value>| match (field(k), v) {
        (None, None) => true,
        (Some(a), Some(b)) => variables::same(b, a),
        _ => false,
    };
    field("operation").and_then(|o| o.as_string()).is_some_and(|o| o == req.operation.as_str())
        && same("object", Some(req.object))
        && same("oldObject", req.old_object)
        && same("userInfo", req.user.map(user_info).as_ref())
}

fn build_request_vars(req: &Request) -> Vars {
    let text = |s: &str| Rcvar::new(Variable::String(s.to_string()));
    // The request in JMESPath's form directly: its JSON would be a copy of the object.
    let mut request = std::collections::BTreeMap::new();
    request.insert("object".to_string(), variables::convert(req.object));
    request.insert("operation".to_string(), text(req.operation.as_str()));
    request.insert("namespace".to_string(), text(req.object["metadata"]["namespace"].as_str().unwrap_or_default()));
    request.insert("name".to_string(), text(req.object["metadata"]["name"].as_str().unwrap_or_default()));
    request.insert(
        "kind".to_string(),
        variables::convert(&json!({"kind": req.object["kind"].as_str().unwrap_or_default()})),
    );
    if let Some(old) = req.old_object {
        request.insert("oldObject".to_string(), variables::convert(old));
    }
    if let Some(u) = req.user {
        request.insert("userInfo".to_string(), variables::convert(&user_info(u)));
    }
    let mut vars = Vars::default();
    vars.set_var("request", Rcvar::new(Variable::Object(request)));
    vars.set("images", Some(images(req.object)));
    vars
}

/// `validate.cel`, as Kyverno evaluates it (its ValidatingAdmissionPolicy validator on the
/// object, its old object and the admission request).
fn validate_cel(name: &str, cel: &CelRule, req: &Request) -> Verdict {
    let namespace = vpol::namespace_of(req.object);
    let resource = vpol::matching::resource_of(req.object);
    let input = crate::cel::Input::from_request(req, &resource, namespace.as_deref());
    match cel.evaluate(&input, crate::cel::Limits::default(), &[]) {
        CelVerdict::Pass => (Outcome::Pass, format!("validation rule '{name}' passed.")),
        CelVerdict::Skip => (Outcome::Skip, format!("rule {name} skipped: a match condition is false")),
        CelVerdict::Fail(m) => (Outcome::Fail, m),
        CelVerdict::Error(e) => (Outcome::Error, e),
    }
}

/// The rule a generated rule came from (test values name the written rule).
fn base_rule_name(name: &str) -> &str {
    name.strip_prefix("autogen-cronjob-").or_else(|| name.strip_prefix("autogen-")).unwrap_or(name)
}

/// Loads `context` entries into the variables: `variable` entries are computed; the entries
/// that need a cluster or a registry come from test values, else are an error.
pub(super) fn load_context(
    entries: &Value,
    ctx: &mut Vars,
    rule: &str,
    supplied: &Map<String, Value>,
) -> Result<(), String> {
    for entry in entries.as_array().into_iter().flatten() {
        let name = entry["name"].as_str().unwrap_or_default();
        if let Some(v) = supplied.get(name) {
            ctx.set_path(name, v.clone());
            continue;
        }
        if let Some(var) = entry.get("variable") {
            let value = match var.get("value") {
                Some(v) => variables::substitute_all(v, ctx).map_err(|e| format!("context {name}: {e}"))?.into_owned(),
                None => Value::Null,
            };
            let value = match var.get("jmesPath").and_then(Value::as_str) {
                Some(jp) => {
                    let jp = match variables::substitute_str(jp, ctx)? {
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    let result = if var.get("value").is_some() {
                        variables::query_value(&jp, &value)
                    } else {
                        variables::query(&jp, ctx)
                    };
                    result.map_err(|e| format!("context {name}: {e}"))?
                }
                None => value,
            };
            let value = if value.is_null() {
                match var.get("default") {
                    Some(d) => {
                        variables::substitute_all(d, ctx).map_err(|e| format!("context {name}: {e}"))?.into_owned()
                    }
                    None => return Err(format!("context {name}: the variable has no value and no default")),
                }
            } else {
                value
            };
            ctx.set_path(name, value);
            continue;
        }
        let kind = entry.as_object().and_then(|o| o.keys().find(|k| k.as_str() != "name")).cloned().unwrap_or_default();
        return Err(format!(
            "rule {rule}: context entry {name:?}: `context.{kind}` is not supported offline (it needs a cluster or a registry; a test's values.yaml may supply it)"
        ));
    }
    Ok(())
}

/// Kyverno's `images` variable: every container's image, parsed.
fn images(object: &Value) -> Value {
    let Some((_, spec)) = crate::resource::pod_template(object) else { return json!({}) };
    let mut out = Map::new();
    for field in ["containers", "initContainers", "ephemeralContainers"] {
        let mut m = Map::new();
        for c in spec[field].as_array().into_iter().flatten() {
            let (Some(name), Some(image)) = (c["name"].as_str(), c["image"].as_str()) else { continue };
            m.insert(name.to_string(), image_info(image));
        }
        if !m.is_empty() {
            out.insert(field.to_string(), Value::Object(m));
        }
    }
    Value::Object(out)
}

/// An image reference's parts, as Kyverno's ImageInfo: registry, path, name, tag, digest.
pub fn image_info(image: &str) -> Value {
    let (rest, digest) = match image.split_once('@') {
        Some((r, d)) => (r, d),
        None => (image, ""),
    };
    let (registry, path) = match rest.split_once('/') {
        Some((first, p)) if first.contains('.') || first.contains(':') || first == "localhost" => (first, p),
        _ => ("docker.io", rest),
    };
    let (path, tag) = match path.rsplit_once(':') {
        Some((p, t)) if !t.contains('/') => (p, t),
        _ => (path, ""),
    };
    let tag = if tag.is_empty() && digest.is_empty() { "latest" } else { tag };
    let name = path.rsplit('/').next().unwrap_or(path);
    let mut reference = format!("{registry}/{path}");
    if !tag.is_empty() {
        reference.push(':');
        reference.push_str(tag);
    }
    if !digest.is_empty() {
        reference.push('@');
        reference.push_str(digest);
    }
    json!({"registry": registry, "path": path, "name": name, "tag": tag, "digest": digest, "reference": reference})
}

/// Kyverno's message for a failed pattern (buildErrorMessage): the rule's message, the rule
/// and the path; with no path, the error.
fn pattern_message(rule: &str, validate: &Value, ctx: &Vars, path: &str, err: &str) -> String {
    let Some(raw) = validate["message"].as_str().filter(|m| !m.is_empty()) else {
        if path.is_empty() {
            return format!("validation error: rule {rule} execution error: {err}");
        }
        return format!("validation error: rule {rule} failed at path {path}");
    };
    let mut msg = match variables::substitute_str(raw, ctx) {
        Ok(Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => {
            return format!("validation error: variables substitution error in rule {rule} execution error: {err}")
        }
    };
    if !msg.ends_with('.') {
        msg.push('.');
    }
    if path.is_empty() {
        format!("validation error: {msg} rule {rule} execution error: {err}")
    } else {
        format!("validation error: {msg} rule {rule} failed at path {path}")
    }
}

/// Kyverno's getDenyMessage: the rule's message, substituted (empty when it cannot be).
fn deny_message(rule: &str, validate: &Value, ctx: &Vars) -> String {
    match validate["message"].as_str().filter(|m| !m.is_empty()) {
        None => format!("validation error: rule {rule} failed"),
        Some(raw) => match variables::substitute_str(raw, ctx) {
            Ok(Value::String(s)) => s,
            Ok(_) => "the produced message didn't resolve to a string, check your policy definition.".into(),
            Err(_) => String::new(),
        },
    }
}

/// The validation of a rule, or of one `foreach` element (`v` holds deny, pattern,
/// anyPattern, foreach or podSecurity), in Kyverno's validator order. `Fail` here is a
/// violation; the caller maps it to the rule's failure action. `element` is the foreach
/// element that patterns check (element scope), else the resource.
fn validate(
    rule: &Rule,
    v: &Value,
    ctx: &mut Vars,
    req: &Request,
    scope: Scope,
    supplied: &Map<String, Value>,
) -> Verdict {
    let rule_validate = &rule.raw["validate"];
    let name = &rule.name;
    if let Some(deny) = v.get("deny") {
        return match conditions::evaluate(&deny["conditions"], ctx) {
            Ok(true) => (Outcome::Fail, deny_message(name, rule_validate, ctx)),
            Ok(false) => (Outcome::Pass, format!("validation rule '{name}' passed.")),
            Err(e) => (Outcome::Error, format!("failed to check deny conditions: {e}")),
        };
    }
    let target: &Value = scope.element.as_ref().unwrap_or(req.object);
    if let Some(p) = v.get("pattern") {
        let p = match variables::substitute_all(p, ctx) {
            Ok(p) => p,
            Err(e) => return (Outcome::Error, format!("variable substitution failed: {e}")),
        };
        return match pattern::match_pattern(target, &p) {
            Ok(()) => (Outcome::Pass, format!("validation rule '{name}' passed.")),
            Err(m) if m.is_skip() => (Outcome::Skip, m.message),
            Err(m) if m.path.is_empty() => (Outcome::Error, pattern_message(name, rule_validate, ctx, "", &m.message)),
            Err(m) => (Outcome::Fail, pattern_message(name, rule_validate, ctx, &m.path, &m.message)),
        };
    }
    if let Some(list) = v.get("anyPattern") {
        let list = match variables::substitute_all(list, ctx) {
            Ok(l) => l,
            Err(e) => return (Outcome::Error, format!("variable substitution failed: {e}")),
        };
        let Some(patterns) = list.as_array() else {
            return (Outcome::Error, "failed to deserialize anyPattern, expected type array".into());
        };
        let mut failed = Vec::new();
        let mut skipped = Vec::new();
        for (i, p) in patterns.iter().enumerate() {
            match pattern::match_pattern(target, p) {
                Ok(()) => return (Outcome::Pass, format!("validation rule '{name}' anyPattern[{i}] passed.")),
                Err(m) if m.is_skip() => skipped.push(format!("rule {name}[{i}] skipped: {}", m.message)),
                Err(m) if m.path.is_empty() => failed.push(format!("rule {name}[{i}] failed: {}", m.message)),
                Err(m) => failed.push(format!("rule {name}[{i}] failed at path {}", m.path)),
            }
        }
        if !skipped.is_empty() && failed.is_empty() {
            return (Outcome::Skip, skipped.join(" "));
        }
        if failed.is_empty() {
            // An empty anyPattern: Kyverno passes with the rule's message.
            return (Outcome::Pass, rule_validate["message"].as_str().unwrap_or_default().to_string());
        }
        let errs = failed.join(" ");
        let message = rule_validate["message"].as_str().unwrap_or_default();
        let msg = if message.is_empty() {
            format!("validation error: {errs}")
        } else if message.ends_with('.') {
            format!("validation error: {message} {errs}")
        } else {
            format!("validation error: {message}. {errs}")
        };
        return (Outcome::Fail, msg);
    }
    if let Some(fe) = v.get("foreach") {
        return foreach(rule, fe, ctx, req, &scope, supplied);
    }
    if let Some(ps) = v.get("podSecurity") {
        return pod_security(name, ps, req);
    }
    (Outcome::Error, format!("rule {name}: validate has no pattern, anyPattern, deny, foreach or podSecurity"))
}

/// Where a validation runs: the foreach nesting, and the element patterns check (None: the
/// resource).
#[derive(Clone, Default)]
struct Scope {
    nesting: usize,
    element: Option<Value>,
    /// Elements validated so far in this rule, all nestings together (nested lists multiply).
    spent: std::rc::Rc<std::cell::Cell<usize>>,
}

/// Kyverno's validateForEach: each list's elements validated in turn; the first failure
/// decides; no element applied at all is a skip.
fn foreach(
    rule: &Rule,
    fe: &Value,
    ctx: &mut Vars,
    req: &Request,
    scope: &Scope,
    supplied: &Map<String, Value>,
) -> Verdict {
    let name = &rule.name;
    let nesting = scope.nesting;
    if nesting >= MAX_FOREACH_DEPTH {
        return (Outcome::Error, format!("rule {name}: foreach nested deeper than {MAX_FOREACH_DEPTH}"));
    }
    let mut applied = 0usize;
    for f in fe.as_array().into_iter().flatten() {
        let list_expr = f["list"].as_str().unwrap_or_default();
        let list_expr = match variables::substitute_str(list_expr, ctx) {
            Ok(Value::String(s)) => s,
            Ok(other) => other.to_string(),
            Err(_) => continue,
        };
        // A list that cannot be evaluated (a missing field) is passed over, as Kyverno does.
        let elements = match variables::query(&list_expr, ctx) {
            Ok(Value::Null) | Err(_) => continue,
            Ok(Value::Array(a)) => a,
            Ok(other) => vec![other],
        };
        if elements.len() > MAX_FOREACH_ELEMENTS {
            return (Outcome::Error, format!("rule {name}: foreach list of more than {MAX_FOREACH_ELEMENTS} elements"));
        }
        // Each element starts from the same variables (Kyverno's checkpoint/restore): the keys
        // an element sets are put back afterwards, rather than copying every variable (the
        // object included) for each element.
        let saved = ctx.save_foreach(f, nesting);
        let last = elements.len().saturating_sub(1);
        let explicit_scope = f["elementScope"].as_bool();
        for (i, el) in elements.into_iter().enumerate() {
            if el.is_null() {
                continue;
            }
            scope.spent.set(scope.spent.get() + 1);
            if scope.spent.get() > MAX_FOREACH_ELEMENTS {
                return (
                    Outcome::Error,
                    format!("rule {name}: foreach over more than {MAX_FOREACH_ELEMENTS} elements in all"),
                );
            }
            let scoped = match explicit_scope {
                Some(true) if !el.is_object() => {
                    return (
                        Outcome::Error,
                        format!("failed to process foreach: cannot use elementScope=true foreach rules for elements that are not maps, expected type=map got type={}", json_type(&el)),
                    );
                }
                Some(s) => s,
                None => el.is_object(),
            };
            for (k, v) in &saved {
                ctx.restore(k, v);
            }
            let ectx = &mut *ctx;
            ectx.set("element", Some(el.clone()));
            ectx.alias(&format!("element{nesting}"), "element");
            ectx.set("elementIndex", Some(json!(i)));
            ectx.alias(&format!("elementIndex{nesting}"), "elementIndex");
            if let Err(e) = load_context(&f["context"], ectx, name, supplied) {
                if i < last {
                    continue;
                }
                return (Outcome::Error, format!("validation failure: failed to load context: {e}"));
            }
            match conditions::evaluate(&f["preconditions"], ectx) {
                Ok(true) => {}
                Ok(false) => continue,
                Err(e) => {
                    if i < last {
                        continue;
                    }
                    return (Outcome::Error, format!("validation failure: failed to evaluate preconditions: {e}"));
                }
            }
            let inner = Scope { nesting: nesting + 1, element: scoped.then(|| el.clone()), spent: scope.spent.clone() };
            let (o, m) = validate(rule, f, ectx, req, inner, supplied);
            match o {
                Outcome::Skip => continue,
                Outcome::Pass => applied += 1,
                Outcome::Error if i < last => continue,
                _ => return (o, format!("validation failure: {m}")),
            }
        }
        for (k, v) in &saved {
            ctx.restore(k, v);
        }
    }
    if applied == 0 {
        return (Outcome::Skip, "rule skipped".into());
    }
    (Outcome::Pass, "rule passed".into())
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "<nil>",
        Value::Bool(_) => "bool",
        Value::Number(_) => "float64",
        Value::String(_) => "string",
        Value::Array(_) => "[]interface {}",
        Value::Object(_) => "map[string]interface {}",
    }
}

/// Kyverno's PSS control names and the upstream check ids each stands for
/// (pkg/pss/utils PSS_control_name_to_ids).
fn control_ids(control: &str) -> &'static [&'static str] {
    match control {
        "Capabilities" => &["capabilities_baseline", "capabilities_restricted"],
        "Seccomp" => &["seccompProfile_baseline", "seccompProfile_restricted"],
        "Privileged Containers" => &["privileged"],
        "Host Ports" => &["hostPorts"],
        "/proc Mount Type" => &["procMount"],
        "Host Probes / Lifecycle Hooks" => &["hostProbesAndHostLifecycle"],
        "HostProcess" => &["windowsHostProcess"],
        "SELinux" => &["seLinuxOptions"],
        "Host Namespaces" => &["hostNamespaces"],
        "HostPath Volumes" => &["hostPathVolumes"],
        "Sysctls" => &["sysctls"],
        "AppArmor" => &["appArmorProfile"],
        "Privilege Escalation" => &["allowPrivilegeEscalation"],
        "Running as Non-root" => &["runAsNonRoot"],
        "Running as Non-root user" => &["runAsUser"],
        "Volume Types" => &["restrictedVolumes"],
        _ => &[],
    }
}

/// The failing checks of a pod, one per check id (Kyverno keys them by id).
fn failing(lv: pss::LevelVersion, meta: &Value, spec: &Value) -> Vec<pss::CheckResult> {
    let mut out: Vec<pss::CheckResult> = Vec::new();
    for c in pss::evaluate_pod(lv, meta, spec) {
        if !c.allowed && !out.iter().any(|o| o.id == c.id) {
            out.push(c);
        }
    }
    out
}

/// `validate.podSecurity`, as Kyverno's pss.EvaluatePod: the checks failing on the whole pod,
/// less those of an excluded control that also fail on the excluded part alone: with
/// `images`, a pod of only the matching containers (no pod-level fields); without, the pod's
/// own fields with one bare container.
fn pod_security(name: &str, ps: &Value, req: &Request) -> Verdict {
    let lv = match pod_security_spec(ps) {
        Ok(lv) => lv,
        Err(e) => return (Outcome::Error, e),
    };
    let Some((meta, spec)) = crate::resource::pod_template(req.object) else {
        return (Outcome::Skip, "podSecurity: the resource has no pod".into());
    };
    let mut remaining = failing(lv, meta, spec);
    for ex in ps["exclude"].as_array().into_iter().flatten() {
        let ids = control_ids(ex["controlName"].as_str().unwrap_or_default());
        let images: Vec<&str> = ex["images"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        let (m, s) = if images.is_empty() {
            let mut s = spec.clone();
            if let Some(o) = s.as_object_mut() {
                o.insert("containers".into(), json!([{"name": "fake"}]));
                o.remove("initContainers");
                o.remove("ephemeralContainers");
            }
            (meta.clone(), s)
        } else {
            let mut s = Map::new();
            for field in ["containers", "initContainers", "ephemeralContainers"] {
                let matching: Vec<Value> = spec[field]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|c| {
                        let image = c["image"].as_str().unwrap_or_default();
                        images.iter().any(|p| pattern::wildcard_match(p, image))
                    })
                    .cloned()
                    .collect();
                if !matching.is_empty() {
                    s.insert(field.into(), Value::Array(matching));
                }
            }
            let m = json!({"name": meta["name"], "namespace": meta["namespace"]});
            (m, Value::Object(s))
        };
        for e in failing(lv, &m, &s) {
            if ids.contains(&e.id) {
                remaining.retain(|r| r.id != e.id);
            }
        }
    }
    if remaining.is_empty() {
        return (Outcome::Pass, format!("validation rule '{name}' passed."));
    }
    let level = ps["level"].as_str().unwrap_or_default();
    let version = ps["version"].as_str().unwrap_or_default();
    let checks: String = remaining
        .iter()
        .map(|c| format!("({{Allowed:false ForbiddenReason:{} ForbiddenDetail:{}}})\n", c.reason, c.detail))
        .collect();
    (Outcome::Fail, format!("Validation rule '{name}' failed. It violates PodSecurity \"{level}:{version}\": {checks}"))
}
