//! Kyverno's test files (`cli.kyverno.io/v1alpha1` Test, `kyverno-test.yaml`), run as
//! `kyverno test` runs them: every result entry is one assertion per resource it names.

use crate::dialect::{Operation, Policy, Request, UserInfo};
use crate::error::PolicyError;
use crate::outcome::{Outcome, ResourceId, RuleResult, TestRecord};
use crate::resource::Document;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// Every assertion of one test file, evaluated. An assertion that cannot be evaluated (a
/// feature we lack, a bad file) is a record with `ok: false` and the reason in `detail`.
pub fn run_file(path: &Path) -> Result<Vec<TestRecord>, PolicyError> {
    let test_name = path.display().to_string();
    let dir = path.parent().unwrap_or(Path::new("."));
    let test = read_docs(path.to_path_buf())?
        .into_iter()
        .next()
        .ok_or_else(|| PolicyError::input(&test_name, "empty test file"))?
        .value;
    let kind = test["kind"].as_str().unwrap_or_default();
    let api = test["apiVersion"].as_str().unwrap_or_default();
    // The older form has no apiVersion and kind.
    let older_form = api.is_empty() && kind.is_empty();
    if !(older_form || (api.starts_with("cli.kyverno.io/") && kind == "Test")) {
        return Err(PolicyError::input(&test_name, format!("{api} {kind} is not a Kyverno Test")));
    }
    // Newer forms of assertion that are not implemented must not vanish silently.
    for field in ["checks"] {
        if test.get(field).is_some() {
            return Err(PolicyError::unsupported(format!("{test_name}: Kyverno Test"), None, field));
        }
    }
    let strings = |v: &Value| -> Vec<String> {
        v.as_array().into_iter().flatten().filter_map(Value::as_str).map(str::to_string).collect()
    };

    // Policies: compiled together, else one document at a time so that one unsupported
    // policy leaves the others' assertions meaningful.
    let mut policy_docs = Vec::new();
    for p in strings(&test["policies"]) {
        policy_docs.extend(read_docs(dir.join(&p))?);
    }
    let mut policies: Vec<Box<dyn Policy>> = Vec::new();
    let mut broken: HashMap<String, String> = HashMap::new();
    match crate::dialect::compile(&policy_docs) {
        Ok(p) => policies = p,
        Err(_) => {
            for doc in &policy_docs {
                match crate::dialect::compile(std::slice::from_ref(doc)) {
                    Ok(p) => policies.extend(p),
                    Err(errs) => {
                        let text = errs.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ");
                        broken.insert(doc.name().to_string(), text);
                    }
                }
            }
        }
    }

    let mut resources = Vec::new();
    for r in strings(&test["resources"]) {
        resources.extend(read_docs(dir.join(&r))?);
    }
    let values = match test["variables"].as_str() {
        Some(v) => Values::read(&dir.join(v))?,
        None => Values::default(),
    };
    let user = match test["userinfo"].as_str() {
        Some(u) => {
            let doc = read_docs(dir.join(u))?.into_iter().next().map(|d| d.value).unwrap_or(Value::Null);
            let info = &doc["userInfo"];
            Some(UserInfo {
                username: info["username"].as_str().unwrap_or_default().to_string(),
                groups: strings(&info["groups"]),
            })
        }
        None => None,
    };

    let mut cache: HashMap<(usize, usize), Evaluated> = HashMap::new();
    let mut records = Vec::new();
    for entry in test["results"].as_array().into_iter().flatten() {
        let policy_name = entry["policy"].as_str().unwrap_or_default();
        // `namespace/name` names a namespaced Policy.
        let policy_short = policy_name.rsplit('/').next().unwrap_or(policy_name);
        let rule = entry["rule"].as_str().unwrap_or_default();
        let kind = entry["kind"].as_str().unwrap_or_default();
        let expected = entry["result"].as_str().or_else(|| entry["status"].as_str()).unwrap_or_default().to_lowercase();
        // Assertions on mutated or generated output also compare the resources produced.
        let output_assertion = ["patchedResource", "patchedResources", "generatedResource", "cloneSourceResource"]
            .into_iter()
            .find(|k| entry.get(*k).is_some());
        let mut names = strings(&entry["resources"]);
        if let Some(r) = entry["resource"].as_str() {
            names.push(r.to_string());
        }
        for wanted in names {
            let mut record = TestRecord {
                test: test_name.clone(),
                policy: policy_name.to_string(),
                rule: rule.to_string(),
                resource: format!("{kind}/{wanted}"),
                expected: expected.clone(),
                got: String::new(),
                ok: false,
                detail: String::new(),
            };
            if let Some(why) = broken.get(policy_short) {
                record.got = "error".into();
                record.detail = why.clone();
                records.push(record);
                continue;
            }
            if output_assertion == Some("cloneSourceResource") {
                record.got = "error".into();
                record.detail = "`results[].cloneSourceResource` is not supported (generate.clone is not)".into();
                records.push(record);
                continue;
            }
            let Some(pi) = policies.iter().position(|p| p.name() == policy_short) else {
                record.got = "not found".into();
                record.detail = format!("no policy named {policy_name} in the test's policies");
                records.push(record);
                continue;
            };
            let (ns_wanted, name_wanted) = match wanted.rsplit_once('/') {
                Some((ns, n)) => (Some(ns.rsplit('/').next().unwrap_or(ns).to_string()), n.to_string()),
                None => (entry["namespace"].as_str().map(str::to_string), wanted.clone()),
            };
            let found = resources.iter().position(|d| {
                let id = ResourceId::of(&d.value);
                id.name == name_wanted
                    && (kind.is_empty() || id.kind == kind)
                    && ns_wanted
                        .as_ref()
                        .is_none_or(|ns| id.namespace == *ns || (id.namespace.is_empty() && ns == "default"))
            });
            let Some(ri) = found else {
                record.got = "not found".into();
                record.detail = format!("no resource {kind} {wanted} in the test's resources");
                records.push(record);
                continue;
            };
            let evaluated = cache.entry((pi, ri)).or_insert_with(|| {
                let doc = &resources[ri];
                let policy = &policies[pi];
                let (ctx, op) = values.context(policy.name(), &ResourceId::of(&doc.value).name);
                let ns = doc.value["metadata"]["namespace"].as_str().unwrap_or("default");
                let labels = values.namespaces.get(ns);
                let req = Request {
                    file: &doc.file,
                    object: &doc.value,
                    old_object: None,
                    operation: op,
                    namespace_labels: labels,
                    user: user.as_ref(),
                    context: Some(&ctx),
                };
                // Kyverno mutates first, then validates the patched resource.
                let mutation = policy.mutate(&req);
                let mut results = mutation.results;
                let patched = mutation.patched;
                let validated = Request { object: patched.as_ref().unwrap_or(&doc.value), ..req };
                results.extend(policy.evaluate(&validated));
                Evaluated { results, patched, generated: mutation.generated }
            });
            let candidates: Vec<&RuleResult> = evaluated
                .results
                .iter()
                .filter(|r| {
                    rule.is_empty()
                        || r.rule == rule
                        || r.rule == format!("autogen-{rule}")
                        || r.rule == format!("autogen-cronjob-{rule}")
                })
                .collect();
            // The rule that applied (a generated rule for a controller) speaks for it.
            let chosen = candidates.iter().find(|r| r.result != Outcome::Skip).or(candidates.first());
            match chosen {
                Some(r) => {
                    record.resource = r.resource.to_string();
                    record.got = kyverno_result(r.result).into();
                    if r.result != Outcome::Pass {
                        record.detail = r.message.clone();
                    }
                }
                None => {
                    record.got = "not found".into();
                    record.detail = format!("policy {policy_name} has no rule {rule}");
                }
            }
            record.ok = record.got == record.expected;
            // Output assertions compare resources, as `kyverno test` does (tidied: nulls,
            // empty maps and empty lists left out).
            let compared = match output_assertion {
                Some(field @ ("patchedResource" | "patchedResources")) => {
                    let actual = evaluated.patched.as_ref().unwrap_or(&resources[ri].value);
                    Some(compare_output(dir, &entry[field], std::slice::from_ref(actual), "patched"))
                }
                Some("generatedResource") => {
                    Some(compare_output(dir, &entry["generatedResource"], &evaluated.generated, "generated"))
                }
                _ => None,
            };
            if let Some(Err(why)) = compared {
                record.ok = false;
                record.got = "fail".into();
                record.detail = why;
            }
            records.push(record);
        }
    }
    Ok(records)
}

/// One (policy, resource) evaluation: every rule's result, the patched resource, the
/// generated ones.
struct Evaluated {
    results: Vec<RuleResult>,
    patched: Option<Value>,
    generated: Vec<Value>,
}

/// Compares an output assertion's expected resource (`file`, relative to the test) with the
/// resources produced: the one of the same kind, name and namespace (or the only one). `Err`
/// says why they differ, with a short diff.
fn compare_output(dir: &Path, file: &Value, produced: &[Value], what: &str) -> Result<(), String> {
    let Some(file) = file.as_str() else { return Err(format!("the {what} resource file is not a string")) };
    let expected_docs = read_docs(dir.join(file)).map_err(|e| e.to_string())?;
    let same_id = |a: &ResourceId, b: &ResourceId| {
        a.kind == b.kind
            && a.name == b.name
            && (a.namespace == b.namespace || a.namespace.is_empty() || b.namespace.is_empty())
    };
    // The expected document for a produced resource (a file may hold several).
    let mut pairs = Vec::new();
    for p in produced {
        let id = ResourceId::of(p);
        let e = expected_docs
            .iter()
            .find(|d| same_id(&ResourceId::of(&d.value), &id))
            .or(if expected_docs.len() == 1 { expected_docs.first() } else { None });
        if let Some(e) = e {
            pairs.push((p, &e.value));
        }
    }
    let Some((actual, expected)) = pairs.first() else {
        return Err(match produced.first() {
            None => format!("no {what} resource, expected the one in {file}"),
            Some(p) => format!("{file} has no resource {}", ResourceId::of(p)),
        });
    };
    let (mut a, mut e) = (tidy(&fixup_generate_labels(actual)), tidy(&fixup_generate_labels(expected)));
    default_namespace(&mut a, &mut e);
    if a == e {
        return Ok(());
    }
    let mut diffs = Vec::new();
    diff(e.as_ref().unwrap_or(&Value::Null), a.as_ref().unwrap_or(&Value::Null), String::new(), &mut diffs);
    Err(format!("{what} resource differs from {file}: {}", diffs.join("; ")))
}

/// A namespaced resource without a namespace is in `default` (the CLI's reading of a file).
fn default_namespace(a: &mut Option<Value>, e: &mut Option<Value>) {
    let ns = |v: &Option<Value>| v.as_ref().and_then(|v| v["metadata"]["namespace"].as_str().map(str::to_string));
    match (ns(a), ns(e)) {
        (None, Some(n)) if n == "default" => {
            if let Some(Value::Object(m)) = e.as_mut().and_then(|v| v.get_mut("metadata")) {
                m.remove("namespace");
            }
        }
        (Some(n), None) if n == "default" => {
            if let Some(Value::Object(m)) = a.as_mut().and_then(|v| v.get_mut("metadata")) {
                m.remove("namespace");
            }
        }
        _ => {}
    }
}

/// Kyverno's FixupGenerateLabels, on both sides of a comparison: the labels that Kyverno's
/// generate adds (`generate.kyverno.io/*`) left out, `app.kubernetes.io/managed-by: kyverno`
/// set.
fn fixup_generate_labels(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(Value::Object(meta)) = v.get_mut("metadata") {
        let mut labels = Map::new();
        labels.insert("app.kubernetes.io/managed-by".into(), json!("kyverno"));
        for (k, x) in meta.get("labels").and_then(Value::as_object).into_iter().flatten() {
            if !k.starts_with("generate.kyverno.io/") {
                labels.insert(k.clone(), x.clone());
            }
        }
        meta.insert("labels".into(), Value::Object(labels));
    }
    v
}

/// Kyverno's resource.Tidy: nulls, empty maps and empty lists removed, bottom up. Numbers
/// compare by value (Kyverno compares decoded JSON, where `1` and `1.0` are one number).
fn tidy(v: &Value) -> Option<Value> {
    match v {
        Value::Null => None,
        Value::Object(o) => {
            let m: Map<String, Value> = o.iter().filter_map(|(k, x)| tidy(x).map(|t| (k.clone(), t))).collect();
            (!m.is_empty()).then_some(Value::Object(m))
        }
        Value::Array(a) => {
            let l: Vec<Value> = a.iter().filter_map(tidy).collect();
            (!l.is_empty()).then_some(Value::Array(l))
        }
        Value::Number(n) => match n.as_f64().and_then(serde_json::Number::from_f64) {
            Some(f) => Some(Value::Number(f)),
            None => Some(v.clone()),
        },
        other => Some(other.clone()),
    }
}

/// The first few paths where two values differ (`path: expected X, got Y`).
fn diff(expected: &Value, got: &Value, path: String, out: &mut Vec<String>) {
    const MAX_DIFFS: usize = 5;
    if out.len() >= MAX_DIFFS || expected == got {
        return;
    }
    match (expected, got) {
        (Value::Object(e), Value::Object(g)) => {
            let keys: std::collections::BTreeSet<&String> = e.keys().chain(g.keys()).collect();
            for k in keys {
                diff(e.get(k).unwrap_or(&Value::Null), g.get(k).unwrap_or(&Value::Null), format!("{path}/{k}"), out);
            }
        }
        (Value::Array(e), Value::Array(g)) if e.len() == g.len() => {
            for (i, (x, y)) in e.iter().zip(g).enumerate() {
                diff(x, y, format!("{path}/{i}"), out);
            }
        }
        _ => {
            let short = |v: &Value| {
                let mut t = v.to_string();
                if t.len() > 120 {
                    let mut cut = 117;
                    while !t.is_char_boundary(cut) {
                        cut -= 1;
                    }
                    t.truncate(cut);
                    t.push_str("...");
                }
                t
            };
            let at = if path.is_empty() { "/".to_string() } else { path };
            out.push(format!("{at}: expected {}, got {}", short(expected), short(got)));
        }
    }
}

/// The result word `kyverno test` compares: an Audit violation is a `fail` too.
fn kyverno_result(o: Outcome) -> &'static str {
    match o {
        Outcome::Warn => "fail",
        other => other.as_str(),
    }
}

fn read_docs(path: PathBuf) -> Result<Vec<Document>, PolicyError> {
    crate::resource::read_file(path).collect()
}

/// A test's `values.yaml` (`cli.kyverno.io/v1alpha1` Values).
#[derive(Default)]
struct Values {
    global: Map<String, Value>,
    /// policy -> rule -> values.
    rules: BTreeMap<String, Map<String, Value>>,
    /// policy -> resource name -> values.
    resources: BTreeMap<(String, String), Map<String, Value>>,
    /// namespace -> labels.
    namespaces: BTreeMap<String, BTreeMap<String, String>>,
}

impl Values {
    fn read(path: &Path) -> Result<Self, PolicyError> {
        let doc = read_docs(path.to_path_buf())?.into_iter().next().map(|d| d.value).unwrap_or(Value::Null);
        let mut v = Values::default();
        let obj = |x: &Value| x.as_object().cloned().unwrap_or_default();
        v.global = obj(&doc["globalValues"]);
        for p in doc["policies"].as_array().into_iter().flatten() {
            let pname = p["name"].as_str().unwrap_or_default().to_string();
            let mut rules = Map::new();
            for r in p["rules"].as_array().into_iter().flatten() {
                rules.insert(r["name"].as_str().unwrap_or_default().to_string(), Value::Object(obj(&r["values"])));
            }
            v.rules.insert(pname.clone(), rules);
            for r in p["resources"].as_array().into_iter().flatten() {
                let rname = r["name"].as_str().unwrap_or_default().to_string();
                v.resources.insert((pname.clone(), rname), obj(&r["values"]));
            }
        }
        let labels = |x: &Value| -> BTreeMap<String, String> {
            x.as_object()
                .into_iter()
                .flatten()
                .map(|(k, v)| (k.clone(), v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())))
                .collect()
        };
        for ns in doc["namespaceSelector"].as_array().into_iter().flatten() {
            v.namespaces.insert(ns["name"].as_str().unwrap_or_default().to_string(), labels(&ns["labels"]));
        }
        for ns in doc["namespaces"].as_array().into_iter().flatten() {
            let meta = &ns["metadata"];
            v.namespaces.insert(meta["name"].as_str().unwrap_or_default().to_string(), labels(&meta["labels"]));
        }
        Ok(v)
    }

    /// The request context for one policy and resource, and the operation the values set.
    fn context(&self, policy: &str, resource: &str) -> (Value, Operation) {
        let mut values = self.global.clone();
        if let Some(r) = self.resources.get(&(policy.to_string(), resource.to_string())) {
            for (k, v) in r {
                values.insert(k.clone(), v.clone());
            }
        }
        let op = values
            .remove("request.operation")
            .and_then(|v| v.as_str().and_then(Operation::parse))
            .unwrap_or(Operation::Create);
        let rules = self.rules.get(policy).cloned().unwrap_or_default();
        let ctx = json!({"kyverno": {"values": values, "policies": {policy: {"rules": rules}}}});
        (ctx, op)
    }
}
