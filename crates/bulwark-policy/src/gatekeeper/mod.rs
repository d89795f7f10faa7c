//! Gatekeeper: `templates.gatekeeper.sh` ConstraintTemplates (Rego through regorus, CEL
//! `K8sNativeValidation`) and `constraints.gatekeeper.sh` constraints.
//!
//! As open-policy-agent/gatekeeper and frameworks/constraint do it: a template's Rego is run
//! through the hook module (`violation` with `input = {review, parameters}` and
//! `data.inventory`), a constraint applies when its `spec.match` matches the object or the old
//! object, and `enforcementAction` deny is a failure, dryrun and warn are warnings.

pub mod matching;
pub mod rego;
pub mod schema;
pub mod suite;

use crate::cel;
use crate::dialect::{Dialect, Policy, Request};
use crate::error::PolicyError;
use crate::kyverno::vpol::{CelRule, Verdict};
use crate::outcome::{Outcome, ResourceId, RuleResult};
use crate::resource::Document;
use matching::{group_version, Match, Target};
use rego::{Program, Violation};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// The only target Gatekeeper's admission templates have.
pub const TARGET: &str = "admission.k8s.gatekeeper.sh";

pub struct Gatekeeper;

impl Dialect for Gatekeeper {
    fn name(&self) -> &'static str {
        "Gatekeeper"
    }
    fn claims(&self, doc: &Document) -> bool {
        let av = doc.api_version();
        (av.starts_with("templates.gatekeeper.sh/") && doc.kind() == "ConstraintTemplate")
            || av.starts_with("constraints.gatekeeper.sh/")
    }
    fn compile(&self, docs: &[&Document]) -> Result<Vec<Box<dyn Policy>>, Vec<PolicyError>> {
        let mut errors = Vec::new();
        let mut templates = Templates::default();
        for doc in docs.iter().filter(|d| d.kind() == "ConstraintTemplate") {
            if let Err(e) = templates.add(&doc.value) {
                errors.push(e);
            }
        }
        let mut policies: Vec<Box<dyn Policy>> = Vec::new();
        for doc in docs.iter().filter(|d| d.kind() != "ConstraintTemplate") {
            match templates.constraint(&doc.value) {
                Ok(c) => policies.push(Box::new(c)),
                Err(e) => errors.push(e),
            }
        }
        if errors.is_empty() {
            Ok(policies)
        } else {
            Err(errors)
        }
    }
}

use crate::resource::describe;

/// A compiled template: its constraint kind and program.
pub struct Template {
    pub kind: String,
    pub engine: Engine,
    /// `spec.crd.spec.validation.openAPIV3Schema`: the schema of a constraint's parameters.
    pub schema: Option<Value>,
    /// `spec.crd.spec.validation.legacySchema`: unknown parameter fields are kept.
    pub legacy_schema: bool,
}

/// A template's program: Rego, or CEL (`K8sNativeValidation`) when the template has no Rego.
#[derive(Clone)]
pub enum Engine {
    Rego(Arc<Program>),
    Cel(Arc<CelRule>),
}

/// The fields of a `K8sNativeValidation` source (Gatekeeper's `Source` type).
const CEL_SOURCE_FIELDS: &[&str] = &["validations", "variables", "matchConditions", "failurePolicy"];

/// Templates by constraint kind (as Gatekeeper's client keeps them).
#[derive(Default)]
pub struct Templates {
    by_kind: HashMap<String, Template>,
}

impl Templates {
    /// Compiles a ConstraintTemplate. Fields we do not implement are `Unsupported`.
    pub fn add(&mut self, doc: &Value) -> Result<&Template, PolicyError> {
        let t = compile_template(doc)?;
        let kind = t.kind.clone();
        self.by_kind.insert(kind.clone(), t);
        self.by_kind.get(&kind).ok_or_else(|| PolicyError::invalid(describe(doc), "template lost"))
    }

    /// Compiles a constraint against the templates known so far.
    pub fn constraint(&self, doc: &Value) -> Result<Constraint, PolicyError> {
        compile_constraint(doc, self)
    }
}

fn compile_template(doc: &Value) -> Result<Template, PolicyError> {
    let id = describe(doc);
    let av = doc["apiVersion"].as_str().unwrap_or_default();
    if !matches!(av, "templates.gatekeeper.sh/v1" | "templates.gatekeeper.sh/v1beta1") {
        return Err(PolicyError::unsupported(&id, None, "apiVersion"));
    }
    let spec = doc["spec"].as_object().ok_or_else(|| PolicyError::invalid(&id, "`spec` is missing"))?;
    if let Some(k) = spec.keys().find(|k| !matches!(k.as_str(), "crd" | "targets")) {
        return Err(PolicyError::unsupported(&id, None, format!("spec.{k}")));
    }
    let kind = doc["spec"]["crd"]["spec"]["names"]["kind"]
        .as_str()
        .filter(|k| !k.is_empty())
        .ok_or_else(|| PolicyError::invalid(&id, "`spec.crd.spec.names.kind` is missing"))?
        .to_string();
    let name = doc["metadata"]["name"].as_str().unwrap_or_default();
    // Gatekeeper refuses a template whose name is not its kind (compared case-insensitively,
    // `strings.EqualFold`).
    if name.to_lowercase() != kind.to_lowercase() {
        return Err(PolicyError::invalid(
            &id,
            format!(
                "the ConstraintTemplate's name {name:?} is not equal to the lowercase of CRD's Kind: {:?}",
                kind.to_lowercase()
            ),
        ));
    }
    let validation = &doc["spec"]["crd"]["spec"]["validation"];
    let schema = validation.get("openAPIV3Schema").filter(|s| !s.is_null()).cloned();
    let legacy_schema = validation["legacySchema"].as_bool().unwrap_or(false);
    let targets = doc["spec"]["targets"].as_array().map(Vec::as_slice).unwrap_or_default();
    let [target] = targets else {
        return Err(PolicyError::invalid(
            &id,
            format!("`spec.targets` must have exactly one target (it has {})", targets.len()),
        ));
    };
    let tobj = target.as_object().ok_or_else(|| PolicyError::invalid(&id, "`spec.targets[0]` must be an object"))?;
    if let Some(k) = tobj.keys().find(|k| !matches!(k.as_str(), "target" | "rego" | "libs" | "code")) {
        return Err(PolicyError::unsupported(&id, None, format!("spec.targets[0].{k}")));
    }
    if target["target"].as_str() != Some(TARGET) {
        return Err(PolicyError::invalid(&id, format!("`spec.targets[0].target` must be {TARGET}")));
    }
    let libs_of = |v: &Value, path: &str| -> Result<Vec<String>, PolicyError> {
        match v {
            Value::Null => Ok(Vec::new()),
            Value::Array(a) => a
                .iter()
                .map(|l| {
                    l.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| PolicyError::invalid(&id, format!("`{path}` must be a list of strings")))
                })
                .collect(),
            _ => Err(PolicyError::invalid(&id, format!("`{path}` must be a list of strings"))),
        }
    };
    // The Rego source: a `code` entry with engine Rego wins (it is what Gatekeeper's
    // conversion produces from the legacy fields); else the legacy `rego`/`libs`.
    let mut rego: Option<(String, Vec<String>)> = None;
    let mut cel_at: Option<usize> = None;
    if let Some(code) = target.get("code") {
        let code = code.as_array().ok_or_else(|| PolicyError::invalid(&id, "`spec.targets[0].code` must be a list"))?;
        for (i, c) in code.iter().enumerate() {
            match c["engine"].as_str().unwrap_or_default() {
                "Rego" => {
                    let src = &c["source"];
                    let r = src["rego"].as_str().ok_or_else(|| {
                        PolicyError::invalid(&id, format!("`spec.targets[0].code[{i}].source.rego` is missing"))
                    })?;
                    rego = Some((
                        r.to_string(),
                        libs_of(&src["libs"], &format!("spec.targets[0].code[{i}].source.libs"))?,
                    ));
                }
                "K8sNativeValidation" => cel_at = cel_at.or(Some(i)),
                other => {
                    return Err(PolicyError::Unsupported {
                        policy: id,
                        rule: None,
                        field: format!("spec.targets[0].code[{i}].engine"),
                        detail: Some(format!("engine {other:?}")),
                    })
                }
            }
        }
    }
    if rego.is_none() {
        if let Some(r) = target["rego"].as_str() {
            rego = Some((r.to_string(), libs_of(&target["libs"], "spec.targets[0].libs")?));
        }
    }
    let Some((src, libs)) = rego else {
        let Some(i) = cel_at else {
            return Err(PolicyError::invalid(&id, "`spec.targets[0]` has no Rego and no code"));
        };
        // CEL alone: the Kubernetes CEL environment, with Gatekeeper's variables
        // (`variables.params`, `variables.anyObject`) bound at review time.
        let path = format!("spec.targets[0].code[{i}].source");
        let source = &target["code"][i]["source"];
        let fields =
            source.as_object().ok_or_else(|| PolicyError::invalid(&id, format!("`{path}` must be an object")))?;
        if let Some(k) = fields.keys().find(|k| !CEL_SOURCE_FIELDS.contains(&k.as_str())) {
            return Err(PolicyError::unsupported(&id, None, format!("{path}.{k}")));
        }
        let rule = CelRule::compile(&id, source, &path, "validations").map_err(|errors| {
            let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
            PolicyError::invalid(&id, text.join("; "))
        })?;
        return Ok(Template {
            kind,
            engine: Engine::Cel(Arc::new(rule.with_kubernetes_semantics())),
            schema,
            legacy_schema,
        });
    };
    let program = Program::compile(&src, &libs).map_err(|e| PolicyError::invalid(&id, e))?;
    Ok(Template { kind, engine: Engine::Rego(Arc::new(program)), schema, legacy_schema })
}

/// A constraint, ready to review objects.
pub struct Constraint {
    pub name: String,
    pub kind: String,
    id: String,
    matcher: Match,
    parameters: Value,
    /// `parameters` as regorus reads them, converted once.
    rego_parameters: regorus::Value,
    /// What a violation is: `Fail` (deny) or `Warn` (dryrun, warn).
    pub action: Outcome,
    engine: Engine,
}

fn compile_constraint(doc: &Value, templates: &Templates) -> Result<Constraint, PolicyError> {
    let id = describe(doc);
    let av = doc["apiVersion"].as_str().unwrap_or_default();
    if !matches!(
        av,
        "constraints.gatekeeper.sh/v1beta1" | "constraints.gatekeeper.sh/v1" | "constraints.gatekeeper.sh/v1alpha1"
    ) {
        return Err(PolicyError::unsupported(&id, None, "apiVersion"));
    }
    let kind = doc["kind"].as_str().unwrap_or_default().to_string();
    let template = templates
        .by_kind
        .get(&kind)
        .ok_or_else(|| PolicyError::invalid(&id, format!("no ConstraintTemplate defines the kind {kind:?}")))?;
    let name = doc["metadata"]["name"].as_str().unwrap_or_default().to_string();
    if name.is_empty() {
        return Err(PolicyError::invalid(&id, "`metadata.name` is missing"));
    }
    let empty = Map::new();
    let spec = match &doc["spec"] {
        Value::Null => &empty,
        Value::Object(m) => m,
        _ => return Err(PolicyError::invalid(&id, "`spec` must be an object")),
    };
    for k in spec.keys() {
        match k.as_str() {
            "match" | "parameters" | "enforcementAction" => {}
            _ => return Err(PolicyError::unsupported(&id, None, format!("spec.{k}"))),
        }
    }
    let matcher = Match::parse(spec.get("match").unwrap_or(&Value::Null)).map_err(|e| PolicyError::invalid(&id, e))?;
    let action = match spec.get("enforcementAction").and_then(Value::as_str).unwrap_or("deny") {
        "" | "deny" => Outcome::Fail,
        "dryrun" | "warn" => Outcome::Warn,
        "scoped" => {
            return Err(PolicyError::Unsupported {
                policy: id,
                rule: None,
                field: "spec.enforcementAction".into(),
                detail: Some("scoped (spec.scopedEnforcementActions)".into()),
            })
        }
        other => {
            return Err(PolicyError::invalid(
                &id,
                format!("`spec.enforcementAction` {other:?} is not deny, dryrun or warn"),
            ))
        }
    };
    // The driver defaults absent parameters to an empty object.
    let parameters = match spec.get("parameters") {
        None | Some(Value::Null) => Value::Object(Map::new()),
        Some(p) => p.clone(),
    };
    if let Some(schema) = &template.schema {
        let errors = schema::validate(schema, &parameters, template.legacy_schema);
        if !errors.is_empty() {
            return Err(PolicyError::invalid(
                &id,
                format!("`spec.parameters` does not match the template's schema: {}", errors.join("; ")),
            ));
        }
    }
    let rego_parameters = rego::to_rego(&parameters);
    Ok(Constraint { name, kind, id, matcher, parameters, rego_parameters, action, engine: template.engine.clone() })
}

/// What the cluster would know beside the object: `data.inventory` and the namespaces.
#[derive(Clone, Debug, Default)]
pub struct Inventory {
    /// `data.inventory` (`cluster[gv][kind][name]`, `namespace[ns][gv][kind][name]`), or None.
    pub data: Option<Value>,
    /// Namespace name → labels (Gatekeeper's namespace cache), for `namespaceSelector`.
    pub namespaces: BTreeMap<String, BTreeMap<String, String>>,
}

impl Inventory {
    /// Adds an object as gator's `AddData` does (an object needs a version and a kind).
    pub fn add(&mut self, obj: &Value) -> Result<(), String> {
        let name = obj["metadata"]["name"].as_str().unwrap_or_default();
        let av = obj["apiVersion"].as_str().unwrap_or_default();
        let kind = obj["kind"].as_str().unwrap_or_default();
        let (group, version) = group_version(av);
        if version.is_empty() {
            return Err(format!("resource {name} has no version"));
        }
        if kind.is_empty() {
            return Err(format!("resource {name} has no kind"));
        }
        if kind == "Namespace" && group.is_empty() {
            self.namespaces.insert(name.to_string(), crate::resource::labels(obj));
        }
        let ns = obj["metadata"]["namespace"].as_str().unwrap_or_default();
        let mut path: Vec<&str> = if ns.is_empty() { vec!["cluster"] } else { vec!["namespace", ns] };
        path.extend([av, kind, name]);
        let root = self.data.get_or_insert_with(|| Value::Object(Map::new()));
        let mut cur = root;
        for p in path {
            let Value::Object(m) = cur else { return Err("inventory is not an object".into()) };
            cur = m.entry(p.to_string()).or_insert_with(|| Value::Object(Map::new()));
        }
        *cur = obj.clone();
        Ok(())
    }
}

/// `input.review` for a bare object, as Gatekeeper's target builds it
/// (`unstructuredToAdmissionRequest`): no operation, no user.
pub fn review_of_object(obj: &Value) -> Value {
    let (group, version) = group_version(obj["apiVersion"].as_str().unwrap_or_default());
    let mut r = base_review();
    r.insert(
        "kind".into(),
        json!({"group": group, "version": version, "kind": obj["kind"].as_str().unwrap_or_default()}),
    );
    put_nonempty(&mut r, "name", obj["metadata"]["name"].as_str());
    put_nonempty(&mut r, "namespace", obj["metadata"]["namespace"].as_str());
    r.insert("object".into(), obj.clone());
    Value::Object(r)
}

/// `input.review` for an admission request as the engine's callers describe it.
pub fn review_of_request(req: &Request) -> Value {
    let obj = req.object;
    let mut r = match review_of_object(obj) {
        Value::Object(r) => r,
        _ => Map::new(),
    };
    r.insert("operation".into(), Value::String(req.operation.as_str().into()));
    if let Some(old) = req.old_object {
        r.insert("oldObject".into(), old.clone());
    }
    if let Some(u) = req.user {
        let mut ui = Map::new();
        put_nonempty(&mut ui, "username", Some(&u.username));
        if !u.groups.is_empty() {
            ui.insert("groups".into(), json!(u.groups));
        }
        r.insert("userInfo".into(), Value::Object(ui));
    }
    Value::Object(r)
}

/// The fields of `admission.k8s.io` AdmissionRequest (gator refuses any other).
const REQUEST_FIELDS: &[&str] = &[
    "uid",
    "kind",
    "resource",
    "subResource",
    "requestKind",
    "requestResource",
    "requestSubResource",
    "name",
    "namespace",
    "operation",
    "userInfo",
    "object",
    "oldObject",
    "dryRun",
    "options",
];

/// `input.review` for an AdmissionReview under test, unwrapped as gator does: its `request`,
/// with Go's zero values for the fields it leaves out, and on DELETE the old object as object.
pub fn review_of_admission_review(ar: &Value) -> Result<Value, String> {
    let top = ar.as_object().ok_or("the AdmissionReview is not an object")?;
    if let Some(k) = top.keys().find(|k| !matches!(k.as_str(), "apiVersion" | "kind" | "request" | "response")) {
        return Err(format!("unable to convert to an AdmissionReview object: unknown field {k:?}"));
    }
    let req = match top.get("request") {
        Some(Value::Object(r)) => r,
        _ => return Err("request did not actually pass in an AdmissionRequest".into()),
    };
    if let Some(k) = req.keys().find(|k| !REQUEST_FIELDS.contains(&k.as_str())) {
        return Err(format!("unable to convert to an AdmissionReview object: unknown field \"request.{k}\""));
    }
    let present = |k: &str| req.get(k).is_some_and(|v| !v.is_null());
    if !present("object") && !present("oldObject") {
        return Err("AdmissionRequest does not contain an \"object\" or \"oldObject\" to review".into());
    }
    let mut r = base_review();
    for (k, v) in req {
        if !v.is_null() {
            r.insert(k.clone(), v.clone());
        }
    }
    if r.get("operation").and_then(Value::as_str) == Some("DELETE") && !present("object") {
        if let Some(old) = req.get("oldObject") {
            r.insert("object".into(), old.clone());
        }
    }
    Ok(Value::Object(r))
}

/// The fields an `admissionv1.AdmissionRequest` always marshals (no `omitempty`).
fn base_review() -> Map<String, Value> {
    let mut r = Map::new();
    r.insert("uid".into(), json!(""));
    r.insert("kind".into(), json!({"group": "", "version": "", "kind": ""}));
    r.insert("resource".into(), json!({"group": "", "version": "", "resource": ""}));
    r.insert("operation".into(), json!(""));
    r.insert("userInfo".into(), json!({}));
    r
}

fn put_nonempty(m: &mut Map<String, Value>, k: &str, v: Option<&str>) {
    if let Some(v) = v.filter(|v| !v.is_empty()) {
        m.insert(k.into(), Value::String(v.into()));
    }
}

impl Constraint {
    /// "constraints.gatekeeper.sh/v1beta1 K8sRequiredLabels must-have-owner", for errors.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Reviews one admission review: None when the constraint does not match (neither the
    /// object nor the old object), else its violations. `namespace` is the object's namespace
    /// when known (name and labels).
    pub fn review(
        &self,
        review: &Value,
        namespace: Option<(&str, &BTreeMap<String, String>)>,
        inventory: Option<&Value>,
    ) -> Result<Option<Vec<Violation>>, String> {
        let objects = ["object", "oldObject"].iter().filter_map(|k| review.get(*k));
        if !self.applies(objects, namespace)? {
            return Ok(None);
        }
        self.run(review, || rego::to_rego(review), namespace, inventory).map(Some)
    }

    /// Whether the constraint matches one of the objects (the review's object and old
    /// object; those that are not objects do not count, and none is an error).
    fn applies<'v>(
        &self,
        objects: impl Iterator<Item = &'v Value>,
        namespace: Option<(&str, &BTreeMap<String, String>)>,
    ) -> Result<bool, String> {
        let mut any = false;
        for object in objects.filter(|v| v.is_object()) {
            any = true;
            if self.matcher.matches(&Target { object, namespace })? {
                return Ok(true);
            }
        }
        if any {
            Ok(false)
        } else {
            Err("neither object nor old object are defined".into())
        }
    }

    /// The violations of a review the constraint matches; `rego_review` is the review as
    /// regorus reads it (made only for a Rego template).
    fn run(
        &self,
        review: &Value,
        rego_review: impl FnOnce() -> regorus::Value,
        namespace: Option<(&str, &BTreeMap<String, String>)>,
        inventory: Option<&Value>,
    ) -> Result<Vec<Violation>, String> {
        match &self.engine {
            Engine::Rego(program) => {
                // `{"review": ..., "parameters": ...}`, built as regorus values: the review is
                // converted without copying it, the parameters were converted once.
                let input = regorus::Value::from(BTreeMap::from([
                    (regorus::Value::from("review"), rego_review()),
                    (regorus::Value::from("parameters"), self.rego_parameters.clone()),
                ]));
                program.violations_of(input, inventory)
            }
            Engine::Cel(rule) => {
                let object = review.get("object").filter(|v| v.is_object()).cloned().unwrap_or(Value::Null);
                let old_object = review.get("oldObject").filter(|v| v.is_object()).cloned().unwrap_or(Value::Null);
                let any_object = if object.is_null() { old_object.clone() } else { object.clone() };
                let namespace_object = match namespace {
                    Some((name, labels)) => json!({"apiVersion": "v1", "kind": "Namespace",
                        "metadata": {"name": name, "labels": labels}}),
                    None => Value::Null,
                };
                let input =
                    cel::Input { object, old_object, request: review.clone(), params: Value::Null, namespace_object };
                let bind: [(&str, &Value); 2] = [("params", &self.parameters), ("anyObject", &any_object)];
                match rule.evaluate(&input, cel::Limits::default(), &bind) {
                    Verdict::Skip | Verdict::Pass => Ok(Vec::new()),
                    Verdict::Fail(msg) => Ok(vec![Violation { msg, details: Value::Null }]),
                    Verdict::Error(e) => Err(e),
                }
            }
        }
    }
}

/// As a [`Policy`]: one result per constraint and object, the rule being the constraint's
/// kind; violations joined into the message. The namespace's labels come from
/// `Request::namespace_labels`, `data.inventory` from `Request::context["inventory"]` (in the
/// shape [`Inventory`] builds).
impl Policy for Constraint {
    fn name(&self) -> &str {
        &self.name
    }

    fn evaluate(&self, request: &Request) -> Vec<RuleResult> {
        let ns_name = request.object["metadata"]["namespace"].as_str().unwrap_or_default();
        let namespace = request.namespace_labels.filter(|_| !ns_name.is_empty()).map(|l| (ns_name, l));
        let inventory = request.context.and_then(|c| c.get("inventory"));
        // Matched on the request's own objects (what the review would hold as `object` and
        // `oldObject`); the review is built only for a constraint that applies, and for Rego
        // it is shared by the constraints that review the same request (see `ReviewCache`).
        let objects = std::iter::once(request.object).chain(request.old_object);
        let reviewed = self.applies(objects, namespace).and_then(|applies| {
            if !applies {
                return Ok(None);
            }
            match &self.engine {
                Engine::Rego(_) => {
                    let rego_review = REVIEW_CACHE.with(|c| c.borrow_mut().get(request));
                    self.run(&Value::Null, || rego_review, namespace, inventory).map(Some)
                }
                Engine::Cel(_) => {
                    let review = review_of_request(request);
                    self.run(&review, || regorus::Value::Undefined, namespace, inventory).map(Some)
                }
            }
        });
        let (result, message) = match reviewed {
            Ok(None) => (Outcome::Skip, String::new()),
            Ok(Some(v)) if v.is_empty() => (Outcome::Pass, String::new()),
            Ok(Some(v)) => (self.action, v.iter().map(|v| v.msg.as_str()).collect::<Vec<_>>().join("; ")),
            Err(e) => (Outcome::Error, e),
        };
        vec![RuleResult {
            file: request.file.to_string(),
            resource: ResourceId::of(request.object),
            policy: self.name.clone(),
            rule: self.kind.clone(),
            result,
            message,
        }]
    }
}

thread_local! {
    static REVIEW_CACHE: std::cell::RefCell<ReviewCache> = const { std::cell::RefCell::new(ReviewCache { last: None }) };
}

/// The last request's review as regorus reads it. Every constraint is a policy of its own,
/// evaluated one after another on the same request: converting the review (a copy of the
/// whole object) once instead of once per constraint is most of a constraint's cost. The
/// entry is used only for a request equal in every field the review is made of, compared by
/// value (an address may be reused by the next object).
struct ReviewCache {
    last: Option<CachedReview>,
}

struct CachedReview {
    object: Value,
    old_object: Option<Value>,
    operation: crate::dialect::Operation,
    user: Option<(String, Vec<String>)>,
    review: regorus::Value,
}

impl ReviewCache {
    fn get(&mut self, request: &Request) -> regorus::Value {
        let user = request.user.map(|u| (u.username.as_str(), u.groups.as_slice()));
        if let Some(c) = &self.last {
            if c.operation == request.operation
                && c.user.as_ref().map(|(n, g)| (n.as_str(), g.as_slice())) == user
                && c.old_object.as_ref() == request.old_object
                && c.object == *request.object
            {
                return c.review.clone();
            }
        }
        let mut built = review_of_request(request);
        let review = rego::to_rego(&built);
        // The review's own copies become the entry's key.
        let mut take = |k: &str| built.get_mut(k).map(Value::take);
        let object = take("object").unwrap_or_default();
        let old_object = take("oldObject");
        self.last = Some(CachedReview {
            object,
            old_object,
            operation: request.operation,
            user: request.user.map(|u| (u.username.clone(), u.groups.clone())),
            review: review.clone(),
        });
        review
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialect::{Operation, UserInfo};

    fn constraint() -> Constraint {
        let rego = "package k\nviolation[{\"msg\": m}] {\n  m := sprintf(\"%v %v %v %v\", [input.review.object.metadata.name, input.review.operation, object.get(input.review, [\"oldObject\", \"metadata\", \"name\"], \"-\"), object.get(input.review, [\"userInfo\", \"username\"], \"-\")])\n}\n";
        let mut t = Templates::default();
        t.add(&json!({"apiVersion": "templates.gatekeeper.sh/v1", "kind": "ConstraintTemplate",
            "metadata": {"name": "k8sname"},
            "spec": {"crd": {"spec": {"names": {"kind": "K8sName"}}},
                     "targets": [{"target": TARGET, "rego": rego}]}}))
            .unwrap();
        t.constraint(&json!({"apiVersion": "constraints.gatekeeper.sh/v1beta1", "kind": "K8sName",
            "metadata": {"name": "c"}}))
            .unwrap()
    }

    fn pod(name: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": {}})
    }

    /// The review shared between constraints is the one of this request: a request that
    /// differs in its object, old object, operation or user gets its own.
    #[test]
    fn the_shared_review_is_never_another_requests() {
        let c = constraint();
        let msg = |r: &Request| {
            let out = c.evaluate(r);
            assert_eq!(out.len(), 1);
            out[0].message.clone()
        };
        let (a, b) = (pod("a"), pod("b"));
        let base = Request { file: "f", object: &a, ..Default::default() };
        assert_eq!(msg(&base), "a CREATE - -");
        assert_eq!(msg(&base), "a CREATE - -");
        assert_eq!(msg(&Request { object: &b, ..base.clone() }), "b CREATE - -");
        assert_eq!(
            msg(&Request { operation: Operation::Update, old_object: Some(&b), ..base.clone() }),
            "a UPDATE b -"
        );
        assert_eq!(
            msg(&Request { operation: Operation::Update, old_object: Some(&a), ..base.clone() }),
            "a UPDATE a -"
        );
        let user = UserInfo { username: "u".into(), groups: vec![] };
        assert_eq!(msg(&Request { user: Some(&user), ..base.clone() }), "a CREATE - u");
        assert_eq!(msg(&base), "a CREATE - -");
        // The same object at a new address, changed in place between two requests.
        let mut d = pod("d");
        assert_eq!(msg(&Request { object: &d, ..base.clone() }), "d CREATE - -");
        d["metadata"]["name"] = json!("e");
        assert_eq!(msg(&Request { object: &d, ..base.clone() }), "e CREATE - -");
    }
}
