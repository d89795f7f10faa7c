//! Gatekeeper: every gator `suite.yaml` of the shared gatekeeper-library data, run as
//! `gator verify` runs it, with exact counts; plus limits on hostile templates.

use bulwark_policy::dialect::{Operation, Request};
use bulwark_policy::gatekeeper::suite::run_file;
use bulwark_policy::gatekeeper::{review_of_object, Templates};
use bulwark_policy::{testfiles, Outcome, PolicyError};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

#[test]
fn gatekeeper_library_suites() {
    let root = bulwark_testkit::shared().join("data/admission/gatekeeper");
    let files = testfiles::find(&root).unwrap();
    let suites: Vec<_> = files.iter().filter(|(_, f)| f.name == "gator").collect();
    assert_eq!(suites.len(), 25, "suite files under {}", root.display());
    let (mut passed, mut failed) = (0, 0);
    for (path, _) in suites {
        let records = run_file(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(!records.is_empty(), "{}: no assertions", path.display());
        for r in records {
            if r.ok {
                passed += 1;
            } else {
                failed += 1;
                println!(
                    "FAIL {} {} {}: expected {}, got {} ({})",
                    r.test, r.rule, r.resource, r.expected, r.got, r.detail
                );
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    // Every assertion of the 25 suites (none needs a live cluster).
    assert_eq!((passed, failed), (146, 0));
}

fn template(kind: &str, rego: &str) -> Value {
    json!({
        "apiVersion": "templates.gatekeeper.sh/v1",
        "kind": "ConstraintTemplate",
        "metadata": {"name": kind.to_lowercase()},
        "spec": {
            "crd": {"spec": {"names": {"kind": kind}}},
            "targets": [{"target": "admission.k8s.gatekeeper.sh", "rego": rego}]
        }
    })
}

fn constraint(kind: &str, spec: Value) -> Value {
    json!({"apiVersion": "constraints.gatekeeper.sh/v1beta1", "kind": kind, "metadata": {"name": "c"}, "spec": spec})
}

fn pod(ns: &str, labels: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": ns, "labels": labels},
           "spec": {"containers": [{"name": "a", "image": "nginx"}]}})
}

const ALWAYS: &str = "package k\nviolation[{\"msg\": msg}] {\n  msg := sprintf(\"%v %v\", [input.review.object.metadata.name, input.parameters.x])\n}\n";

fn messages(t: &Templates, c: &Value, review: &Value) -> Option<Vec<String>> {
    let c = match t.constraint(c) {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    };
    match c.review(review, None, None) {
        Ok(v) => v.map(|v| v.into_iter().map(|v| v.msg).collect()),
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn parameters_and_review_reach_the_rego() {
    let mut t = Templates::default();
    t.add(&template("K8sAlways", ALWAYS)).unwrap();
    let c = constraint("K8sAlways", json!({"parameters": {"x": 7}}));
    assert_eq!(messages(&t, &c, &review_of_object(&pod("default", json!({})))), Some(vec!["p 7".to_string()]));
}

#[test]
fn match_kinds_namespaces_labels_and_names() {
    let mut t = Templates::default();
    t.add(&template("K8sAlways", ALWAYS)).unwrap();
    let r = |ns: &str, labels: Value| review_of_object(&pod(ns, labels));
    let m = |spec: Value| {
        messages(&t, &constraint("K8sAlways", json!({"match": spec})), &r("kube-system", json!({"a": "b"})))
    };
    assert!(m(json!({"kinds": [{"apiGroups": [""], "kinds": ["Pod"]}]})).is_some());
    assert!(m(json!({"kinds": [{"apiGroups": ["apps"], "kinds": ["Pod"]}]})).is_none());
    assert!(m(json!({"kinds": [{"apiGroups": ["*"], "kinds": ["*"]}]})).is_some());
    assert!(m(json!({"namespaces": ["kube-*"]})).is_some());
    assert!(m(json!({"namespaces": ["*-system"]})).is_some());
    assert!(m(json!({"namespaces": ["default"]})).is_none());
    assert!(m(json!({"excludedNamespaces": ["*system"]})).is_none());
    assert!(m(json!({"labelSelector": {"matchLabels": {"a": "b"}}})).is_some());
    assert!(m(json!({"labelSelector": {"matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["b"]}]}}))
        .is_none());
    assert!(m(json!({"labelSelector": {"matchExpressions": [{"key": "z", "operator": "DoesNotExist"}]}})).is_some());
    assert!(m(json!({"scope": "Cluster"})).is_none());
    assert!(m(json!({"scope": "Namespaced"})).is_some());
    assert!(m(json!({"name": "p*"})).is_some());
    assert!(m(json!({"name": "q"})).is_none());
    // A namespaceSelector needs the namespace's labels: without them it is an error, not a guess.
    let c = t
        .constraint(&constraint("K8sAlways", json!({"match": {"namespaceSelector": {"matchLabels": {"team": "x"}}}})))
        .unwrap();
    let review = r("kube-system", json!({}));
    assert!(c.review(&review, None, None).unwrap_err().contains("namespace"));
    let labels: BTreeMap<String, String> = [("team".to_string(), "x".to_string())].into();
    assert!(c.review(&review, Some(("kube-system", &labels)), None).unwrap().is_some());
    let other = BTreeMap::new();
    assert!(c.review(&review, Some(("kube-system", &other)), None).unwrap().is_none());
}

fn compile_err(t: &Templates, c: &Value) -> String {
    match t.constraint(c) {
        Ok(_) => panic!("compiled"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn unknown_kinds_and_fields_are_errors_naming_them() {
    let mut t = Templates::default();
    t.add(&template("K8sAlways", ALWAYS)).unwrap();
    let e = compile_err(&t, &constraint("K8sNoSuchKind", json!({})));
    assert!(e.contains("K8sNoSuchKind"), "{e}");
    let e = compile_err(&t, &constraint("K8sAlways", json!({"match": {"namespace": ["x"]}})));
    assert!(e.contains("spec.match.namespace"), "{e}");
    let e = compile_err(&t, &constraint("K8sAlways", json!({"enforcementAction": "scoped"})));
    assert!(e.contains("enforcementAction") && e.contains("not supported"), "{e}");
    let e = compile_err(
        &t,
        &constraint(
            "K8sAlways",
            json!({"match": {"labelSelector": {"matchExpressions": [{"key": "a", "operator": "In", "values": []}]}}}),
        ),
    );
    assert!(e.contains("matchExpressions[0].values"), "{e}");
}

#[test]
fn a_cel_only_template_runs_its_cel_and_rego_wins_over_cel() {
    let mut doc = template("K8sCel", ALWAYS);
    doc["spec"]["targets"][0] = json!({"target": "admission.k8s.gatekeeper.sh", "code": [
        {"engine": "K8sNativeValidation", "source": {
            "variables": [{"name": "want", "expression": "has(variables.params.x) ? variables.params.x : 0"}],
            "validations": [{"expression": "variables.anyObject.metadata.name != 'p' || variables.want != 2",
                             "messageExpression": "'no ' + variables.anyObject.metadata.name"}]}}]});
    let mut t = Templates::default();
    t.add(&doc).unwrap();
    let review = review_of_object(&pod("d", json!({})));
    assert_eq!(messages(&t, &constraint("K8sCel", json!({"parameters": {"x": 1}})), &review), Some(vec![]));
    assert_eq!(
        messages(&t, &constraint("K8sCel", json!({"parameters": {"x": 2}})), &review),
        Some(vec!["no p".to_string()])
    );
    // A source field Gatekeeper's CEL source does not have is refused, naming it.
    let mut bad = doc.clone();
    bad["spec"]["targets"][0]["code"][0]["source"]["reason"] = json!("x");
    let err = Templates::default().add(&bad).err().unwrap();
    assert!(matches!(err, PolicyError::Unsupported { .. }), "{err}");
    assert!(err.to_string().contains("spec.targets[0].code[0].source.reason"), "{err}");
    doc["spec"]["targets"][0]["code"]
        .as_array_mut()
        .unwrap()
        .push(json!({"engine": "Rego", "source": {"rego": ALWAYS}}));
    let mut t = Templates::default();
    t.add(&doc).unwrap();
    let c = constraint("K8sCel", json!({"parameters": {"x": 1}}));
    assert_eq!(messages(&t, &c, &review_of_object(&pod("d", json!({})))), Some(vec!["p 1".to_string()]));
}

#[test]
fn a_rule_with_several_bodies_is_several_rules() {
    let rego = "package k\nviolation[{\"msg\": msg}] {\n  input.review.operation == \"UPDATE\"\n  msg := \"one\"\n} {\n  # a comment with a brace }\n  msg := \"two {\"\n}\n";
    let mut t = Templates::default();
    t.add(&template("K8sMulti", rego)).unwrap();
    let c = constraint("K8sMulti", json!({}));
    let mut review = review_of_object(&pod("d", json!({})));
    assert_eq!(messages(&t, &c, &review), Some(vec!["two {".to_string()]));
    review["operation"] = json!("UPDATE");
    let mut got = messages(&t, &c, &review).unwrap();
    got.sort();
    assert_eq!(got, ["one", "two {"]);
}

#[test]
fn enforcement_actions_and_policy_results() {
    let mut t = Templates::default();
    t.add(&template("K8sAlways", ALWAYS)).unwrap();
    let obj = pod("d", json!({}));
    let req = Request { file: "f.yaml", object: &obj, operation: Operation::Create, ..Default::default() };
    for (action, want) in [
        (None, Outcome::Fail),
        (Some("deny"), Outcome::Fail),
        (Some("dryrun"), Outcome::Warn),
        (Some("warn"), Outcome::Warn),
    ] {
        let mut spec = json!({"parameters": {"x": 1}});
        if let Some(a) = action {
            spec["enforcementAction"] = json!(a);
        }
        let c = t.constraint(&constraint("K8sAlways", spec)).unwrap();
        let r = bulwark_policy::Policy::evaluate(&c, &req);
        assert_eq!(r.len(), 1);
        assert_eq!((r[0].result, r[0].message.as_str(), r[0].rule.as_str()), (want, "p 1", "K8sAlways"));
    }
}

#[test]
fn inventory_is_data_inventory() {
    let rego = "package k\nviolation[{\"msg\": msg}] {\n  other := data.inventory.namespace[ns][\"v1\"][\"Pod\"][name]\n  name != input.review.object.metadata.name\n  msg := sprintf(\"%v/%v\", [ns, name])\n}\n";
    let mut t = Templates::default();
    t.add(&template("K8sInv", rego)).unwrap();
    let c = t.constraint(&constraint("K8sInv", json!({}))).unwrap();
    let mut inv = bulwark_policy::gatekeeper::Inventory::default();
    let mut other = pod("ns1", json!({}));
    other["metadata"]["name"] = json!("q");
    inv.add(&other).unwrap();
    let got = c.review(&review_of_object(&pod("d", json!({}))), None, inv.data.as_ref()).unwrap().unwrap();
    assert_eq!(got.iter().map(|v| v.msg.as_str()).collect::<Vec<_>>(), ["ns1/q"]);
}

#[test]
fn rego_that_loops_without_end_is_stopped_by_the_time_limit() {
    // 10^10 iterations: without a limit this would run for hours.
    let rego = "package k\nviolation[{\"msg\": msg}] {\n  r := numbers.range(1, 100000)\n  n := count([1 | r[_]; r[_]])\n  msg := sprintf(\"%v\", [n])\n}\n";
    let mut t = Templates::default();
    t.add(&template("K8sLoop", rego)).unwrap();
    let c = t.constraint(&constraint("K8sLoop", json!({}))).unwrap();
    let start = Instant::now();
    let err = c.review(&review_of_object(&pod("d", json!({}))), None, None).unwrap_err();
    assert!(start.elapsed() < Duration::from_secs(20), "took {:?}", start.elapsed());
    assert!(err.contains("time limit"), "{err}");
    // Through the Policy interface it is an error result, never a pass.
    let obj = pod("d", json!({}));
    let req = Request { file: "f.yaml", object: &obj, ..Default::default() };
    let r = bulwark_policy::Policy::evaluate(&c, &req);
    assert_eq!(r[0].result, Outcome::Error, "{r:?}");
}

#[test]
fn an_oversized_template_is_refused() {
    let rego = format!("package k\n{}violation[{{\"msg\": \"x\"}}] {{ true }}\n", "# pad\n".repeat(30_000));
    let err = Templates::default().add(&template("K8sBig", &rego)).err().unwrap().to_string();
    assert!(err.contains("k8sbig"), "{err}");
}

#[test]
fn numbers_range_is_bounded_and_otherwise_unchanged() {
    let rego = "package k\nviolation[{\"msg\": msg}] {\n  msg := sprintf(\"%v\", [[numbers.range(1, 3), numbers.range(5, 1), numbers.range_step(0, 10, 3), numbers.range_step(10, 0, 3)]])\n}\n";
    let mut t = Templates::default();
    t.add(&template("K8sRange", rego)).unwrap();
    let c = constraint("K8sRange", json!({}));
    let got = messages(&t, &c, &review_of_object(&pod("d", json!({})))).unwrap();
    assert_eq!(got, ["[[1, 2, 3], [5, 4, 3, 2, 1], [0, 3, 6, 9], [10, 7, 4, 1]]"]);
    // One call asking for 10^12 elements would allocate terabytes before any time check.
    let rego = "package k\nviolation[{\"msg\": msg}] {\n  n := count(numbers.range(1, 1000000000000))\n  msg := sprintf(\"%v\", [n])\n}\n";
    let mut t = Templates::default();
    t.add(&template("K8sHuge", rego)).unwrap();
    let c = t.constraint(&constraint("K8sHuge", json!({}))).unwrap();
    let err = c.review(&review_of_object(&pod("d", json!({}))), None, None).unwrap_err();
    assert!(err.contains("over the limit of 1000000"), "{err}");
}

#[test]
fn re_match_is_available_as_in_opa_v0() {
    let rego = "package k\nviolation[{\"msg\": msg}] {\n  re_match(\"^[0-9]+(\\\\.[0-9]+)?$\", input.parameters.v)\n  not re_match(\"^x\", input.parameters.v)\n  msg := \"matched\"\n}\n";
    let mut t = Templates::default();
    t.add(&template("K8sRe", rego)).unwrap();
    let review = review_of_object(&pod("d", json!({})));
    assert_eq!(
        messages(&t, &constraint("K8sRe", json!({"parameters": {"v": "1.5"}})), &review),
        Some(vec!["matched".to_string()])
    );
    assert_eq!(messages(&t, &constraint("K8sRe", json!({"parameters": {"v": "1.5m"}})), &review), Some(vec![]));
}

#[test]
fn future_keywords_parenthesised_heads_and_namespaced_inventory() {
    let rego = r#"package k
import future.keywords.contains
import future.keywords.if

violation contains ({"msg": msg}) if {
  obj := input.review.object
  sel := data.inventory.namespace[obj.metadata.namespace]["policy/v1"].PodDisruptionBudget[_]
  want := { [k, v] | some k; v := sel.spec.selector.matchLabels[k] }
  have := { [k, v] | some k; v := obj.metadata.labels[k] }
  count(want - have) == 0
  object.get(sel.spec, "maxUnavailable", 1) == 0
  msg := sprintf("%v selected by %v", [obj.metadata.name, sel.metadata.name])
}
"#;
    let mut t = Templates::default();
    t.add(&template("K8sPdb", rego)).unwrap();
    let c = t.constraint(&constraint("K8sPdb", json!({}))).unwrap();
    let mut inv = bulwark_policy::gatekeeper::Inventory::default();
    inv.add(
        &json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "b", "namespace": "ns"},
                    "spec": {"maxUnavailable": 0, "selector": {"matchLabels": {"app": "x"}}}}),
    )
    .unwrap();
    let review = review_of_object(&pod("ns", json!({"app": "x", "tier": "y"})));
    let got = c.review(&review, None, inv.data.as_ref()).unwrap().unwrap();
    assert_eq!(got.iter().map(|v| v.msg.as_str()).collect::<Vec<_>>(), ["p selected by b"]);
    let other = review_of_object(&pod("ns", json!({"app": "z"})));
    assert_eq!(c.review(&other, None, inv.data.as_ref()).unwrap().unwrap(), vec![]);
}

#[test]
fn deeply_nested_rego_is_refused_quickly_not_a_stack_overflow() {
    for depth in [17, 40, 100_000] {
        for (open, close) in [("[", "]"), ("{", "}"), ("(", ")")] {
            let deep = format!(
                "package k\nviolation[{{\"msg\": m}}] {{\n  m := {}1{}\n}}\n",
                open.repeat(depth),
                close.repeat(depth)
            );
            let start = Instant::now();
            let err = Templates::default().add(&template("K8sDeep", &deep)).err().unwrap().to_string();
            assert!(err.contains("k8sdeep") && err.contains("nested"), "{err}");
            assert!(start.elapsed() < Duration::from_secs(1), "{open} {depth}: {:?}", start.elapsed());
        }
    }
    // At the limit a template still compiles.
    let ok = format!("package k\nviolation[{{\"msg\": m}}] {{\n  m := {}1{}\n}}\n", "[".repeat(14), "]".repeat(14));
    Templates::default().add(&template("K8sDeep", &ok)).unwrap();
}

#[test]
fn an_admission_review_is_unwrapped_as_gator_does() {
    use bulwark_policy::gatekeeper::review_of_admission_review;
    let obj = pod("d", json!({}));
    let ar = json!({"apiVersion": "admission.k8s.io/v1beta1", "kind": "AdmissionReview",
                    "request": {"operation": "DELETE", "oldObject": obj, "userInfo": {"username": "u"}}});
    let r = review_of_admission_review(&ar).unwrap();
    assert_eq!(r["object"], obj, "DELETE reviews the old object");
    assert_eq!(r["operation"], "DELETE");
    assert_eq!(r["kind"], json!({"group": "", "version": "", "kind": ""}));
    assert_eq!(r["userInfo"]["username"], "u");
    let err = review_of_admission_review(&json!({"kind": "AdmissionReview", "request": {"operation": "CREATE"}}))
        .unwrap_err();
    assert!(err.contains("\"object\" or \"oldObject\""), "{err}");
    let err = review_of_admission_review(&json!({"kind": "AdmissionReview", "request": {"object": obj, "bogus": 1}}))
        .unwrap_err();
    assert!(err.contains("request.bogus"), "{err}");
    let err = review_of_admission_review(&json!({"kind": "AdmissionReview"})).unwrap_err();
    assert!(err.contains("AdmissionRequest"), "{err}");
}

#[test]
fn sprintf_widths_that_regorus_mishandles_are_refused() {
    for fmt in ["%4000000000d", "%\u{0663}d", "%99999999999999999999d"] {
        let rego = format!("package k\nviolation[{{\"msg\": m}}] {{\n  m := sprintf(\"{fmt}\", [1])\n}}\n");
        let err = Templates::default().add(&template("K8sFmt", &rego)).err().unwrap().to_string();
        assert!(err.contains("format width"), "{fmt}: {err}");
    }
    let rego = "package k\nviolation[{\"msg\": m}] {\n  m := sprintf(\"%05d|%v\", [42, \"x\"])\n}\n";
    let mut t = Templates::default();
    t.add(&template("K8sFmt", rego)).unwrap();
    let got = messages(&t, &constraint("K8sFmt", json!({})), &review_of_object(&pod("d", json!({}))));
    assert_eq!(got, Some(vec!["00042|x".to_string()]));
}

#[test]
fn a_panic_inside_regorus_is_an_error_result_not_a_crash() {
    // The format comes from the constraint, so no check of the template's text can see it;
    // regorus' sprintf panics on a width in non-ASCII digits.
    let rego = "package k\nviolation[{\"msg\": m}] {\n  m := sprintf(input.parameters.f, [1])\n}\n";
    let mut t = Templates::default();
    t.add(&template("K8sPanic", rego)).unwrap();
    let c = t.constraint(&constraint("K8sPanic", json!({"parameters": {"f": "%\u{0663}d"}}))).unwrap();
    let obj = pod("d", json!({}));
    let r = bulwark_policy::Policy::evaluate(&c, &Request { file: "f.yaml", object: &obj, ..Default::default() });
    assert_eq!(r[0].result, Outcome::Error, "{r:?}");
    assert!(r[0].message.contains("panicked"), "{r:?}");
}

/// The library's templates that carry both Rego and CEL (`K8sNativeValidation`) are run with
/// their CEL alone on their own suites: both engines must give every assertion's expected
/// answer (the copy keeps the suite and samples; only the template's Rego entries go).
#[test]
fn cel_only_copies_of_the_library_templates_pass_their_suites() {
    let root = bulwark_testkit::shared().join("data/admission/gatekeeper/library");
    let mut templates = Vec::new();
    for entry in walk(&root) {
        if entry.file_name().is_some_and(|n| n == "template.yaml")
            && std::fs::read_to_string(&entry).unwrap().contains("K8sNativeValidation")
        {
            templates.push(entry);
        }
    }
    templates.sort();
    assert_eq!(templates.len(), 9, "templates with CEL under {}", root.display());
    let (mut passed, mut failed) = (0, 0);
    for template in &templates {
        let dir = template.parent().unwrap();
        if !dir.join("suite.yaml").exists() {
            continue;
        }
        let tmp = tempfile::tempdir().unwrap();
        copy_dir(dir, tmp.path());
        let mut doc: Value =
            bulwark_policy::yaml::documents("template.yaml", &std::fs::read_to_string(template).unwrap())
                .unwrap()
                .remove(0);
        let target = &mut doc["spec"]["targets"][0];
        let code = target["code"].as_array_mut().unwrap();
        code.retain(|c| c["engine"] == "K8sNativeValidation");
        assert_eq!(code.len(), 1, "{}", template.display());
        target.as_object_mut().unwrap().remove("rego");
        target.as_object_mut().unwrap().remove("libs");
        std::fs::write(tmp.path().join("template.yaml"), serde_json::to_string(&doc).unwrap()).unwrap();
        for r in run_file(&tmp.path().join("suite.yaml")).unwrap() {
            if r.ok {
                passed += 1;
            } else {
                failed += 1;
                println!(
                    "FAIL {} {} {}: expected {}, got {} ({})",
                    dir.display(),
                    r.rule,
                    r.resource,
                    r.expected,
                    r.got,
                    r.detail
                );
            }
        }
    }
    println!("CEL only: {passed} passed, {failed} failed");
    assert_eq!(failed, 0);
    assert!(passed > 40, "{passed} assertions");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        let dest = to.join(p.file_name().unwrap());
        if p.is_dir() {
            std::fs::create_dir_all(&dest).unwrap();
            copy_dir(&p, &dest);
        } else {
            std::fs::copy(&p, &dest).unwrap();
        }
    }
}

/// The Rego of a template document: `spec.targets[0].rego`/`libs`, or its `code` entry with
/// engine Rego.
fn rego_of(doc: &Value) -> (String, Vec<String>) {
    let target = &doc["spec"]["targets"][0];
    let strings = |v: &Value| {
        v.as_array().map(|a| a.iter().map(|s| s.as_str().unwrap().to_string()).collect()).unwrap_or_default()
    };
    if let Some(rego) = target["rego"].as_str() {
        return (rego.to_string(), strings(&target["libs"]));
    }
    let code = target["code"].as_array().unwrap().iter().find(|c| c["engine"] == "Rego").unwrap();
    (code["source"]["rego"].as_str().unwrap().to_string(), strings(&code["source"]["libs"]))
}

#[test]
fn every_library_template_runs_on_the_bytecode_vm() {
    // The interpreter is only a fallback: every template of the shared library compiles for
    // regorus' VM (and the suites above pass on it).
    let root = bulwark_testkit::shared().join("data/admission/gatekeeper");
    let mut on_vm = 0;
    let mut off: Vec<String> = Vec::new();
    for path in walk(&root).into_iter().filter(|p| p.file_name().is_some_and(|n| n == "template.yaml")) {
        let doc = bulwark_policy::yaml::parse_one("t", &std::fs::read_to_string(&path).unwrap()).unwrap();
        let (rego, libs) = rego_of(&doc);
        let program = bulwark_policy::gatekeeper::rego::Program::compile(&rego, &libs)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        if program.on_vm() {
            on_vm += 1;
        } else {
            off.push(path.display().to_string());
        }
    }
    assert!(off.is_empty(), "on the interpreter: {off:?}");
    assert_eq!(on_vm, 25);
}

#[test]
fn a_host_call_error_leaves_the_vm_ready() {
    // numbers.range over its limit is an error from the host call; the next evaluation of the
    // same program on the same VM works.
    let rego = "package k\nviolation[{\"msg\": msg}] {\n  n := input.parameters.n\n  r := numbers.range(1, n)\n  msg := sprintf(\"%v\", [count(r)])\n}\n";
    let program = bulwark_policy::gatekeeper::rego::Program::compile(rego, &[]).unwrap();
    assert!(program.on_vm());
    let err = program.violations(&json!({"parameters": {"n": 100_000_000}}), None).unwrap_err();
    assert!(err.contains("over the limit of 1000000"), "{err}");
    let ok = program.violations(&json!({"parameters": {"n": 5}}), None).unwrap();
    assert_eq!(ok[0].msg, "5");
    // re_match (OPA v0) through the host call too.
    let rego = "package k\nviolation[{\"msg\": \"m\"}] {\n  re_match(\"^a+$\", input.parameters.s)\n}\n";
    let program = bulwark_policy::gatekeeper::rego::Program::compile(rego, &[]).unwrap();
    assert_eq!(program.violations(&json!({"parameters": {"s": "aaa"}}), None).unwrap().len(), 1);
    assert_eq!(program.violations(&json!({"parameters": {"s": "ab"}}), None).unwrap().len(), 0);
}

#[test]
fn constraint_parameters_are_checked_against_the_template_schema() {
    // The library's K8sAllowedRepos: `repos` is a list of strings.
    let dir = bulwark_testkit::shared().join("data/admission/gatekeeper/library/general/allowedrepos");
    let doc =
        bulwark_policy::yaml::parse_one("t", &std::fs::read_to_string(dir.join("template.yaml")).unwrap()).unwrap();
    let mut t = Templates::default();
    t.add(&doc).unwrap();
    assert!(t.constraint(&constraint("K8sAllowedRepos", json!({"parameters": {"repos": ["ghcr.io/"]}}))).is_ok());
    // A misspelt parameter would make the constraint allow everything: an error naming it.
    let e = compile_err(&t, &constraint("K8sAllowedRepos", json!({"parameters": {"repo": ["ghcr.io/"]}})));
    assert!(e.contains("parameters.repo: unknown field"), "{e}");
    let e = compile_err(&t, &constraint("K8sAllowedRepos", json!({"parameters": {"repos": "ghcr.io/"}})));
    assert!(e.contains("parameters.repos: Invalid value: \"string\"") && e.contains("must be of type array"), "{e}");
    let e = compile_err(&t, &constraint("K8sAllowedRepos", json!({"parameters": {"repos": [1]}})));
    assert!(e.contains("parameters.repos[0]"), "{e}");
}
