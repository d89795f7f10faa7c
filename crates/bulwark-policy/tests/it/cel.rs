//! CEL: the Kubernetes environment (variables, libraries, limits) and the ValidatingPolicy /
//! ValidatingAdmissionPolicy suites of ../shared.

use bulwark_policy::cel::{compile, Activation, CelError, Input, Limits};
use serde_json::json;

fn input() -> Input {
    Input {
        object: json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "namespace": "ns", "labels": {"app": "x"}},
            "spec": {"containers": [
                {"name": "a", "image": "nginx", "securityContext": {"runAsUser": 0, "capabilities": {"drop": ["all"]}}},
                {"name": "b", "image": "eu.foo.io/b"}
            ]}
        }),
        namespace_object: json!({"metadata": {"name": "ns"}}),
        ..Default::default()
    }
}

/// Evaluates `expr` against [`input`], as JSON.
fn eval(expr: &str) -> Result<serde_json::Value, CelError> {
    let act = Activation::new(&input(), Limits::default()).unwrap();
    let e = compile(expr)?;
    act.eval(&e).map(|v| bulwark_policy::cel::to_json(&v))
}

#[track_caller]
fn check(expr: &str, want: serde_json::Value) {
    match eval(expr) {
        Ok(got) => assert_eq!(got, want, "{expr}"),
        Err(e) => panic!("{expr}: {e}"),
    }
}

#[test]
fn object_fields_optionals_and_macros() {
    check("object.metadata.name", json!("p"));
    check("has(object.metadata.labels)", json!(true));
    check("has(object.spec.volumes)", json!(false));
    check("object.spec.?volumes.orValue([]).size()", json!(0));
    check("object.spec.containers.all(c, c.image != '')", json!(true));
    check("object.spec.containers.exists_one(c, c.name == 'a')", json!(true));
    check("object.spec.containers.map(c, c.name).join(', ')", json!("a, b"));
    check("object.spec.containers.filter(c, has(c.securityContext)).map(c, c.name)", json!(["a"]));
    check("object.spec.containers[0].?securityContext.?runAsUser.orValue(1) > 0", json!(false));
    check("object.spec.containers[1].?securityContext.?runAsUser.orValue(1) > 0", json!(true));
    check("object.spec.containers[0].securityContext.capabilities.drop.exists(c, c.upperAscii() == 'ALL')", json!(true));
    check("namespaceObject.metadata.name", json!("ns"));
    check("oldObject == null", json!(true));
}

#[test]
fn variables_are_bound_in_order_and_a_failed_one_names_itself() {
    let mut act = Activation::new(&input(), Limits::default()).unwrap();
    act.bind_variable("all", &compile("object.spec.containers + object.spec.?initContainers.orValue([])").unwrap());
    act.bind_variable("names", &compile("variables.all.map(c, c.name)").unwrap());
    act.bind_variable("bad", &compile("object.spec.nope").unwrap());
    let v = act.eval(&compile("variables.names").unwrap()).unwrap();
    assert_eq!(bulwark_policy::cel::to_json(&v), json!(["a", "b"]));
    let err = act.eval(&compile("variables.bad == 1").unwrap()).unwrap_err().to_string();
    assert!(err.contains("variable `bad`") && err.contains("nope"), "{err}");
}

// ---- the ValidatingPolicy suites of ../shared (kyverno/*-vpol/**/.kyverno-test) ----

use bulwark_policy::dialect::{Operation, Policy, Request};
use bulwark_policy::kyverno::vpol;
use bulwark_policy::outcome::Outcome;
use bulwark_policy::resource::{read_file, Document};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn docs(path: &Path) -> Vec<Document> {
    read_file(path.to_path_buf()).map(|d| d.unwrap()).collect()
}

/// The `kyverno-test.yaml` files under the `*-vpol` folders, sorted.
fn vpol_suites() -> Vec<PathBuf> {
    let root = bulwark_testkit::shared().join("data/admission/kyverno");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&root).unwrap() {
        let dir = entry.unwrap().path();
        if dir.file_name().unwrap().to_str().unwrap().ends_with("-vpol") {
            out.extend(
                bulwark_policy::resource::files(&dir)
                    .unwrap()
                    .into_iter()
                    .filter(|f| f.file_name().is_some_and(|n| n == "kyverno-test.yaml")),
            );
        }
    }
    out.sort();
    out
}

/// Kyverno's word for our outcome: audit and warn violations are `fail` in `kyverno test`.
fn kyverno_word(o: Outcome) -> &'static str {
    match o {
        Outcome::Warn | Outcome::Fail => "fail",
        other => other.as_str(),
    }
}

#[derive(Default)]
struct Tally {
    total: usize,
    agree: usize,
    disagreements: Vec<String>,
}

fn run_suite(test: &Path, tally: &mut Tally) {
    let dir = test.parent().unwrap();
    let t = &docs(test)[0].value;
    let mut policy_docs = Vec::new();
    for p in t["policies"].as_array().unwrap() {
        policy_docs.extend(docs(&dir.join(p.as_str().unwrap())));
    }
    let refs: Vec<&Document> = policy_docs.iter().collect();
    let policies = vpol::compile(&refs).unwrap_or_else(|e| panic!("{}: {e:?}", test.display()));
    let mut resources = Vec::new();
    for r in t["resources"].as_array().unwrap() {
        resources.extend(docs(&dir.join(r.as_str().unwrap())));
    }
    // values.yaml: the namespaces' labels.
    let mut ns_labels: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    if let Some(v) = t["variables"].as_str() {
        for ns in docs(&dir.join(v))[0].value["namespaces"].as_array().into_iter().flatten() {
            let labels = ns["metadata"]["labels"]
                .as_object()
                .map(|m| m.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string())).collect())
                .unwrap_or_default();
            ns_labels.insert(ns["metadata"]["name"].as_str().unwrap().to_string(), labels);
        }
    }
    for entry in t["results"].as_array().unwrap() {
        let policy: &dyn Policy =
            policies.iter().find(|p| p.name() == entry["policy"].as_str().unwrap()).unwrap().as_ref();
        let kind = entry["kind"].as_str().unwrap();
        let expected = entry["result"].as_str().unwrap();
        for name in entry["resources"].as_array().unwrap() {
            let name = name.as_str().unwrap();
            tally.total += 1;
            let Some(doc) =
                resources.iter().find(|d| d.kind() == kind && d.name() == name)
            else {
                tally.disagreements.push(format!("{}: {kind}/{name}: resource not found", test.display()));
                continue;
            };
            let labels = vpol::namespace_of(&doc.value).and_then(|ns| ns_labels.get(&ns).cloned());
            let request = Request {
                file: &doc.file,
                object: &doc.value,
                operation: Operation::Create,
                namespace_labels: labels.as_ref(),
                ..Default::default()
            };
            let results = policy.evaluate(&request);
            let got: Vec<String> = results.iter().map(|r| kyverno_word(r.result).to_string()).collect();
            if got.len() == 1 && got[0] == expected {
                tally.agree += 1;
            } else {
                tally.disagreements.push(format!(
                    "{}: {} {kind}/{name}: expected {expected}, got {:?}",
                    test.display(),
                    policy.name(),
                    results.iter().map(|r| format!("{} {:?}: {}", r.result.as_str(), r.rule, r.message)).collect::<Vec<_>>()
                ));
            }
        }
    }
}

#[test]
fn every_validating_policy_suite_agrees_with_kyverno() {
    let suites = vpol_suites();
    assert_eq!(suites.len(), 16, "the *-vpol suites of ../shared");
    let mut tally = Tally::default();
    for s in &suites {
        run_suite(s, &mut tally);
    }
    for d in &tally.disagreements {
        eprintln!("DISAGREE {d}");
    }
    eprintln!("{}/{} ValidatingPolicy assertions agree", tally.agree, tally.total);
    assert_eq!(tally.total, 410, "assertions in the suites");
    assert_eq!(tally.agree, tally.total, "{} disagreements", tally.disagreements.len());
}
