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

    let mut cache: HashMap<(usize, usize), Vec<RuleResult>> = HashMap::new();
    let mut records = Vec::new();
    for entry in test["results"].as_array().into_iter().flatten() {
        let policy_name = entry["policy"].as_str().unwrap_or_default();
        // `namespace/name` names a namespaced Policy.
        let policy_short = policy_name.rsplit('/').next().unwrap_or(policy_name);
        let rule = entry["rule"].as_str().unwrap_or_default();
        let kind = entry["kind"].as_str().unwrap_or_default();
        let expected = entry["result"].as_str().or_else(|| entry["status"].as_str()).unwrap_or_default().to_lowercase();
        // Assertions on mutated or generated output compare resources we do not produce.
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
            if let Some(field) = output_assertion {
                record.got = "error".into();
                record.detail = format!("`results[].{field}` is not supported (mutate and generate output)");
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
            let results = cache.entry((pi, ri)).or_insert_with(|| {
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
                policy.evaluate(&req)
            });
            let candidates: Vec<&RuleResult> = results
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
            records.push(record);
        }
    }
    Ok(records)
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
