//! CEL: the Kubernetes environment (variables, libraries, limits) and the ValidatingPolicy /
//! ValidatingAdmissionPolicy suites of ../shared.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

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
    check(
        "object.spec.containers[0].securityContext.capabilities.drop.exists(c, c.upperAscii() == 'ALL')",
        json!(true),
    );
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
    // Through the one dialect list, as `bulwark policy` compiles them.
    let policies = match bulwark_policy::dialect::compile(&policy_docs) {
        Ok(p) => p,
        Err(e) => panic!("{}: {e:?}", test.display()),
    };
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
            let Some(doc) = resources.iter().find(|d| d.kind() == kind && d.name() == name) else {
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
                    results
                        .iter()
                        .map(|r| format!("{} {:?}: {}", r.result.as_str(), r.rule, r.message))
                        .collect::<Vec<_>>()
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

// ---- Kubernetes' libraries ----

#[test]
fn kubernetes_list_library() {
    check("[1, 2, 2, 5].isSorted()", json!(true));
    check("[1, 3, 2].isSorted()", json!(false));
    check("['a', 'b'].isSorted()", json!(true));
    check("[].isSorted()", json!(true));
    check("[1, 2, 3].sum()", json!(6));
    check("[1.5, 2.5].sum()", json!(4.0));
    check("[].sum()", json!(0));
    check("[3, 1, 2].min()", json!(1));
    check("[3, 1, 2].max()", json!(3));
    check("['b', 'a'].min()", json!("a"));
    check("[1, 2, 3, 2].indexOf(2)", json!(1));
    check("[1, 2, 3, 2].lastIndexOf(2)", json!(3));
    check("[1, 2].indexOf(9)", json!(-1));
    check("sets.contains([1, 2, 3], [3, 1])", json!(true));
    check("sets.contains([1, 2], [4])", json!(false));
    check("sets.equivalent([1, 2, 2], [2, 1])", json!(true));
    check("sets.intersects(['a', 'b'], ['c', 'b'])", json!(true));
    check("sets.intersects([1], [2])", json!(false));
    assert!(eval("[].min()").unwrap_err().to_string().contains("empty list"));
    assert!(eval("[1, 'a'].max()").is_err());
    assert!(eval("[9223372036854775807, 1].sum()").unwrap_err().to_string().contains("overflow"));
}

#[test]
fn strings_extension_and_regex_library() {
    check("'TacoCat'.lowerAscii()", json!("tacocat"));
    check("'TacoCat'.upperAscii()", json!("TACOCAT"));
    check("'a,b,c'.split(',')", json!(["a", "b", "c"]));
    check("['a', 'b'].join('-')", json!("a-b"));
    check("'aaa'.replace('a', 'b', 2)", json!("bba"));
    check("'  x '.trim()", json!("x"));
    check("'hello'.substring(1, 3)", json!("el"));
    check("'hello'.indexOf('l')", json!(2));
    check("'hello'.lastIndexOf('l')", json!(3));
    check("'hello'.charAt(1)", json!("e"));
    check("'abc 123 def 456'.find('[0-9]+')", json!("123"));
    check("'abc'.find('[0-9]+')", json!(""));
    check("'abc 123 def 456'.findAll('[0-9]+')", json!(["123", "456"]));
    check("'1 2 3'.findAll('[0-9]', 2)", json!(["1", "2"]));
    check("'registry.k8s.io/pause'.matches('^registry\\\\.k8s\\\\.io/')", json!(true));
    assert!(eval("'x'.find('(')").unwrap_err().to_string().contains("not a valid regex"));
    // A regex whose program is too large is refused, not built.
    assert!(eval("'x'.find('(((a{100}){100}){100})')").unwrap_err().to_string().contains("not a valid regex"));
}

#[test]
fn quantity_library() {
    check("quantity('500m').isLessThan(quantity('1'))", json!(true));
    check("quantity('1Gi').isGreaterThan(quantity('1G'))", json!(true));
    check("quantity('1k').compareTo(quantity('1000'))", json!(0));
    check("quantity('1Ki').compareTo(quantity('1k'))", json!(1));
    check("quantity('1') == quantity('1000m')", json!(true));
    check("quantity('2Ki').asInteger()", json!(2048));
    check("quantity('1.5').isInteger()", json!(false));
    check("quantity('1.5').asApproximateFloat()", json!(1.5));
    check("quantity('-3').sign()", json!(-1));
    check("quantity('100m').add(quantity('900m')).compareTo(quantity('1'))", json!(0));
    check("quantity('1').sub(1).sign()", json!(0));
    check("quantity('1e3').asInteger()", json!(1000));
    check("isQuantity('10Mi')", json!(true));
    check("isQuantity('10MB')", json!(false));
    check("isQuantity('')", json!(false));
    assert!(eval("quantity('ten')").unwrap_err().to_string().contains("invalid quantity"));
    assert!(eval("quantity('1.5').asInteger()").is_err());
}

#[test]
fn url_library() {
    check("url('https://example.com:8443/a/b?x=1&x=2&y=').getScheme()", json!("https"));
    check("url('https://example.com:8443/a/b').getHost()", json!("example.com:8443"));
    check("url('https://example.com:8443/a/b').getHostname()", json!("example.com"));
    check("url('https://example.com:8443/a/b').getPort()", json!("8443"));
    check("url('https://[::1]:80/').getHostname()", json!("::1"));
    check("url('https://example.com/a/b').getEscapedPath()", json!("/a/b"));
    check("url('https://example.com/?x=1&x=2&y=').getQuery()", json!({"x": ["1", "2"], "y": [""]}));
    check("url('/just/a/path').getEscapedPath()", json!("/just/a/path"));
    check("isURL('https://example.com')", json!(true));
    check("isURL('not a url')", json!(false));
    check("isURL('')", json!(false));
}

#[test]
fn optional_or_value_takes_optionals_and_plain_values() {
    check("object.spec.?nope.orValue(7)", json!(7));
    check("optional.of(1).orValue(2)", json!(1));
    check("optional.none().or(optional.of(3)).value()", json!(3));
    // cel-go before v0.28 (what Kyverno and Kubernetes run) hands a plain receiver back.
    check("object.spec.containers.orValue([]).size()", json!(2));
}

#[test]
fn unknown_functions_and_bad_expressions_are_errors_naming_the_expression() {
    let err = compile("object.spec.(").unwrap_err();
    assert!(matches!(err, CelError::Compile { .. }), "{err}");
    assert!(err.to_string().contains("object.spec.("), "{err}");
    let err = eval("object.metadata.nope").unwrap_err().to_string();
    assert!(err.contains("object.metadata.nope") && err.contains("nope"), "{err}");
    let err = eval("ip('10.0.0.1')").unwrap_err().to_string();
    assert!(err.contains("ip"), "{err}");
    assert!(compile(&"a+".repeat(40_000)).is_err());
}

// ---- limits ----

/// An expression stopped by a limit: the error says which, names it, and comes quickly.
#[track_caller]
fn assert_limited(expr: &str) {
    let start = std::time::Instant::now();
    let err = eval(expr).unwrap_err();
    assert!(matches!(err, CelError::Limit { .. }), "{expr}: {err}");
    assert!(err.to_string().contains("limit exceeded"), "{err}");
    assert!(start.elapsed().as_secs() < 30, "{expr} took {:?}", start.elapsed());
}

#[test]
fn nested_comprehensions_stop_at_the_cost_limit() {
    assert_limited("lists.range(1000).all(i, lists.range(1000).all(j, lists.range(1000).all(k, true)))");
    assert_limited("lists.range(1000).map(i, lists.range(1000).map(j, lists.range(1000).map(k, k))).size() > 0");
    assert_limited("lists.range(100000).filter(i, lists.range(1000).exists(j, j == i)).size() >= 0");
}

#[test]
fn growing_strings_and_lists_stop_at_the_cost_limit() {
    // Each step ten times the last: 10 steps would be 10^11 bytes.
    let mut act = Activation::new(&input(), Limits::default()).unwrap();
    act.bind_variable("s0", &compile("'0123456789'").unwrap());
    for i in 1..=10 {
        let p = format!("variables.s{}", i - 1);
        let e = format!("[{p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}].join()");
        act.bind_variable(&format!("s{i}"), &compile(&e).unwrap());
    }
    let err = act.eval(&compile("size(variables.s10) > 0").unwrap()).unwrap_err().to_string();
    assert!(err.contains("limit exceeded"), "{err}");
    // One `replace` can multiply its input: charged before the result is built.
    let p32 = "p".repeat(32);
    assert_limited(&format!("lists.range(30).map(i, object.metadata.name).join().replace('p', '{p32}').replace('p', '{p32}').replace('p', '{p32}').replace('p', '{p32}').replace('p', '{p32}').size() > 0"));
    assert_limited(&format!(
        "'{p32}'.replace('', '{p32}').replace('', '{p32}').replace('', '{p32}').replace('', '{p32}').size() > 0"
    ));
    check("'aXbXc'.replace('X', '-')", json!("a-b-c"));
    check("'aXbXc'.replace('X', '-', 1)", json!("a-bXc"));
    check("'ab'.replace('', '-')", json!("-a-b-"));
    assert_limited("lists.range(1000000).map(i, [i, i, i, i]).size() > 0");
}

#[test]
fn the_time_limit_stops_an_evaluation() {
    let limits = Limits { max_cost: u64::MAX, max_time: std::time::Duration::from_millis(200) };
    let act = Activation::new(&input(), limits).unwrap();
    let start = std::time::Instant::now();
    let err = act
        .eval(&compile("lists.range(1000).all(i, lists.range(1000).all(j, lists.range(1000).all(k, true)))").unwrap())
        .unwrap_err()
        .to_string();
    assert!(err.contains("time limit exceeded"), "{err}");
    assert!(start.elapsed().as_secs() < 3, "took {:?}", start.elapsed());
}

#[test]
fn ordinary_policies_stay_far_below_the_limits() {
    // A pod with 200 containers, each compared with every other: no limit in sight.
    let containers: Vec<_> = (0..200).map(|i| json!({"name": format!("c{i}"), "image": "nginx"})).collect();
    let input = Input {
        object: json!({"kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": containers}}),
        ..Default::default()
    };
    let act = Activation::new(&input, Limits::default()).unwrap();
    let e = compile("object.spec.containers.all(c, object.spec.containers.exists(d, d.name == c.name))").unwrap();
    assert_eq!(act.eval_bool(&e), Ok(true));
}

// ---- every CEL expression of the shared policies compiles ----

fn collect_expressions(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                match (k.as_str(), x) {
                    ("expression" | "messageExpression" | "valueExpression", serde_json::Value::String(s)) => {
                        out.push(s.clone())
                    }
                    _ => collect_expressions(x, out),
                }
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|x| collect_expressions(x, out)),
        _ => {}
    }
}

#[test]
fn every_cel_expression_of_the_shared_policies_compiles() {
    let root = bulwark_testkit::shared().join("data/admission");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root.join("kyverno"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name().unwrap().to_str().unwrap().ends_with("-cel")
                || p.file_name().unwrap().to_str().unwrap().ends_with("-vpol")
        })
        .collect();
    dirs.push(root.join("gatekeeper"));
    let mut exprs = Vec::new();
    for dir in dirs {
        for file in bulwark_policy::resource::files(&dir).unwrap() {
            for doc in read_file(file) {
                collect_expressions(&doc.unwrap().value, &mut exprs);
            }
        }
    }
    let failed: Vec<String> = exprs.iter().filter_map(|e| compile(e).err().map(|x| x.to_string())).collect();
    eprintln!("{} CEL expressions in the shared policies, {} fail to compile", exprs.len(), failed.len());
    assert_eq!(exprs.len(), 199, "CEL expressions in the shared policies");
    assert!(failed.is_empty(), "{failed:#?}");
}

// ---- ValidatingAdmissionPolicy, bindings, matching, refusals ----

fn policy_docs(yaml: &str) -> Vec<Document> {
    bulwark_policy::yaml::documents("p.yaml", yaml)
        .unwrap()
        .into_iter()
        .enumerate()
        .map(|(i, value)| Document { file: "p.yaml".into(), index: i + 1, value })
        .collect()
}

fn compile_docs(yaml: &str) -> Result<Vec<Box<dyn Policy>>, Vec<bulwark_policy::PolicyError>> {
    let docs = policy_docs(yaml);
    let refs: Vec<&Document> = docs.iter().collect();
    vpol::compile(&refs)
}

/// The errors of a compilation that must fail.
fn compile_errors(yaml: &str) -> Vec<String> {
    match compile_docs(yaml) {
        Ok(p) => panic!("compiled {} policies", p.len()),
        Err(e) => e.iter().map(|e| e.to_string()).collect(),
    }
}

fn outcomes(
    policy: &dyn Policy,
    object: serde_json::Value,
    labels: Option<&BTreeMap<String, String>>,
) -> Vec<(String, String, String)> {
    let request = Request { file: "r.yaml", object: &object, namespace_labels: labels, ..Default::default() };
    policy.evaluate(&request).into_iter().map(|r| (r.rule, r.result.as_str().to_string(), r.message)).collect()
}

const VAP: &str = r#"
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: replicas}
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
    - apiGroups: [apps]
      apiVersions: [v1]
      operations: [CREATE, UPDATE]
      resources: [deployments]
  matchConditions:
  - name: not-system
    expression: "!object.metadata.name.startsWith('system-')"
  variables:
  - name: replicas
    expression: "object.spec.?replicas.orValue(1)"
  validations:
  - expression: "variables.replicas <= 5"
    messageExpression: "'replicas must be at most 5, not ' + string(variables.replicas)"
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: replicas-binding}
spec:
  policyName: replicas
  validationActions: [Warn, Audit]
  matchResources:
    namespaceSelector:
      matchExpressions:
      - {key: env, operator: In, values: [prod]}
"#;

fn deployment(name: &str, replicas: i64) -> serde_json::Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": "team"},
           "spec": {"replicas": replicas, "template": {"spec": {"containers": []}}}})
}

#[test]
fn a_validating_admission_policy_applies_through_its_binding() {
    let policies = compile_docs(VAP).unwrap();
    assert_eq!(policies.len(), 1);
    let p = policies[0].as_ref();
    assert_eq!(p.name(), "replicas");
    let prod: BTreeMap<String, String> = [("env".to_string(), "prod".to_string())].into();
    let dev: BTreeMap<String, String> = [("env".to_string(), "dev".to_string())].into();
    assert_eq!(
        outcomes(p, deployment("web", 9), Some(&prod)),
        [("validation".into(), "warn".into(), "replicas must be at most 5, not 9".into())]
    );
    assert_eq!(outcomes(p, deployment("web", 3), Some(&prod)), [("validation".into(), "pass".into(), String::new())]);
    // The binding's namespace selector leaves dev out; match conditions skip system-*.
    assert!(outcomes(p, deployment("web", 9), Some(&dev)).is_empty());
    assert_eq!(outcomes(p, deployment("system-x", 9), Some(&prod)), [("".into(), "skip".into(), "skip".into())]);
    // Not a deployment: not matched at all.
    assert!(outcomes(p, json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x"}}), Some(&prod)).is_empty());
}

#[test]
fn an_unbound_validating_admission_policy_denies_and_a_stray_binding_is_an_error() {
    let unbound = VAP.split("\n---\n").next().unwrap();
    let p = compile_docs(unbound).unwrap();
    assert_eq!(outcomes(p[0].as_ref(), deployment("web", 9), None)[0].1, "fail");
    // Kubernetes' messages: no message at all names the expression.
    let plain = unbound
        .replace("    messageExpression: \"'replicas must be at most 5, not ' + string(variables.replicas)\"", "");
    let p = compile_docs(&plain).unwrap();
    assert_eq!(outcomes(p[0].as_ref(), deployment("web", 9), None)[0].2, "failed expression: variables.replicas <= 5");
    // failurePolicy Ignore lets an evaluation error through.
    let ignore = unbound
        .replace("failurePolicy: Fail", "failurePolicy: Ignore")
        .replace("variables.replicas <= 5", "variables.replicas <= object.nope");
    let p = compile_docs(&ignore).unwrap();
    assert_eq!(outcomes(p[0].as_ref(), deployment("web", 9), None)[0].1, "skip");
    let stray = VAP.split("\n---\n").nth(1).unwrap();
    let err = compile_errors(stray);
    assert!(err[0].contains("not among the policies given"), "{}", err[0]);
}

#[test]
fn what_we_do_not_implement_is_refused_naming_the_field() {
    let base = |spec_extra: &str, validation: &str| {
        format!(
            "apiVersion: policies.kyverno.io/v1alpha1\nkind: ValidatingPolicy\nmetadata: {{name: x}}\nspec:\n  matchConstraints:\n    resourceRules: [{{apiGroups: [''], apiVersions: [v1], operations: [CREATE], resources: [pods]}}]\n  validations:\n  - expression: \"{validation}\"\n{spec_extra}"
        )
    };
    let err = |yaml: String| compile_errors(&yaml).join("\n");
    let e = err(base("", "authorizer.group('').resource('pods').check('get').allowed()"));
    assert!(
        e.contains("is not supported") && e.contains("spec.validations[0].expression") && e.contains("authorizer"),
        "{e}"
    );
    let e = err(base("  evaluation: {mode: JSON}\n", "true"));
    assert!(e.contains("spec.evaluation.mode") && e.contains("is not supported"), "{e}");
    let e = err(base("  generate: true\n", "true"));
    assert!(e.contains("`spec.generate` is not supported"), "{e}");
    let e = err(base("", "object.("));
    assert!(e.contains("compiling `object.(`"), "{e}");
    let vap = "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicy\nmetadata: {name: v}\nspec:\n  paramKind: {apiVersion: v1, kind: ConfigMap}\n  matchConstraints: {resourceRules: []}\n  validations: [{expression: 'true'}]\n";
    let e = compile_errors(vap).join("\n");
    assert!(e.contains("`spec.paramKind` is not supported"), "{e}");
    let e = compile_errors("apiVersion: policies.kyverno.io/v1alpha1\nkind: MutatingPolicy\nmetadata: {name: m}\n")
        .join("\n");
    assert!(e.contains("MutatingPolicy m") && e.contains("is not supported"), "{e}");
}

#[test]
fn pod_policies_are_generated_for_controllers_as_kyverno_does() {
    let yaml = "apiVersion: policies.kyverno.io/v1alpha1\nkind: ValidatingPolicy\nmetadata: {name: no-latest}\nspec:\n  validationActions: [Deny]\n  matchConstraints:\n    resourceRules: [{apiGroups: [''], apiVersions: [v1], operations: [CREATE, UPDATE], resources: [pods]}]\n  matchConditions:\n  - name: named\n    expression: \"object.metadata.name != 'skip-me'\"\n  validations:\n  - expression: \"object.spec.containers.all(c, !c.image.endsWith(':latest'))\"\n    messageExpression: \"object.metadata.name + ' uses :latest'\"\n";
    let p = compile_docs(yaml).unwrap();
    let p = p[0].as_ref();
    let pod = |image: &str| json!({"containers": [{"name": "c", "image": image}]});
    let cron = json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "cj"},
        "spec": {"jobTemplate": {"spec": {"template": {"metadata": {"name": "tpl"}, "spec": pod("nginx:latest")}}}}});
    // `object.metadata.name` stays the workload's own name (Kyverno protects `.name`).
    assert_eq!(outcomes(p, cron, None), [("validation".into(), "fail".into(), "cj uses :latest".into())]);
    let deploy = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "skip-me"},
        "spec": {"template": {"spec": pod("nginx:latest")}}});
    assert_eq!(outcomes(p, deploy, None)[0].1, "skip");
    let rc = json!({"apiVersion": "v1", "kind": "ReplicationController", "metadata": {"name": "rc"},
        "spec": {"template": {"spec": pod("nginx:latest")}}});
    assert!(outcomes(p, rc, None).is_empty(), "ReplicationController is not among Kyverno's autogen targets");
    // Controllers can be chosen; a policy on more than pods is not generated.
    let only_jobs = yaml.replace(
        "spec:\n  validationActions",
        "spec:\n  autogen: {podControllers: {controllers: [jobs]}}\n  validationActions",
    );
    let p = compile_docs(&only_jobs).unwrap();
    let job = json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"}, "spec": {"template": {"spec": pod("a:latest")}}});
    let deploy = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}, "spec": {"template": {"spec": pod("a:latest")}}});
    assert_eq!(outcomes(p[0].as_ref(), job, None)[0].1, "fail");
    assert!(outcomes(p[0].as_ref(), deploy, None).is_empty());
}

#[test]
fn a_cel_rule_serves_other_dialects_with_their_own_variables() {
    use bulwark_policy::kyverno::vpol::{CelRule, Verdict};
    // Kyverno's validate.cel calls its validations `expressions`.
    let cel = json!({
        "variables": [{"name": "max", "expression": "variables.params.max"}],
        "expressions": [{"expression": "size(object.spec.containers) <= variables.max", "messageExpression": "'at most ' + string(variables.max)"}],
    });
    let rule = CelRule::compile("ClusterPolicy x", &cel, "spec.rules[0].validate.cel", "expressions").unwrap();
    let params = json!({"max": 1});
    assert_eq!(rule.evaluate(&input(), Limits::default(), &[("params", &params)]), Verdict::Fail("at most 1".into()));
    let params = json!({"max": 2});
    assert_eq!(rule.evaluate(&input(), Limits::default(), &[("params", &params)]), Verdict::Pass);
    let bad = json!({"expressions": [{"expression": "true", "severity": "high"}]});
    let err = CelRule::compile("ClusterPolicy x", &bad, "spec.rules[0].validate.cel", "expressions").unwrap_err();
    assert!(
        err[0].to_string().contains("`spec.rules[0].validate.cel.expressions[0].severity` is not supported"),
        "{}",
        err[0]
    );
}

#[test]
fn on_delete_the_object_is_old_object() {
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "x"}});
    let request = Request { object: &pod, operation: Operation::Delete, ..Default::default() };
    let input = Input::from_request(&request, "pods", Some("x"));
    let act = Activation::new(&input, Limits::default()).unwrap();
    let e = compile("object == null && oldObject.metadata.name == 'p' && request.operation == 'DELETE' && request.resource.resource == 'pods'").unwrap();
    assert_eq!(act.eval_bool(&e), Ok(true));
}

#[test]
fn copies_of_a_large_object_are_charged_by_their_size() {
    let containers: Vec<_> =
        (0..2000).map(|i| json!({"name": format!("c{i}"), "image": "nginx", "args": ["a", "b"]})).collect();
    let input = Input {
        object: json!({"kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": containers}}),
        ..Default::default()
    };
    let act = Activation::new(&input, Limits::default()).unwrap();
    let start = std::time::Instant::now();
    let err = act.eval(&compile("lists.range(100000).map(i, object).size() > 0").unwrap()).unwrap_err();
    assert!(matches!(err, CelError::Limit { .. }), "{err}");
    // Unoptimised, on a shared machine: the point is that it ends, long before 100,000 copies.
    assert!(start.elapsed().as_secs() < 30, "took {:?}", start.elapsed());
}

#[test]
fn names_bound_by_a_comprehension_are_not_the_variables_we_refuse() {
    let e = compile(
        "object.spec.containers.map(c, c.image).all(image, image != '') && [1].exists(resource, resource == 1)",
    )
    .unwrap();
    assert!(!e.uses_variable("image") && !e.uses_variable("resource") && !e.uses_variable("c"));
    assert!(e.uses_variable("object"));
    let e = compile("[image].all(image, true)").unwrap();
    assert!(e.uses_variable("image"), "the range is outside the comprehension's scope");
    let yaml = "apiVersion: policies.kyverno.io/v1alpha1\nkind: ValidatingPolicy\nmetadata: {name: x}\nspec:\n  matchConstraints:\n    resourceRules: [{apiGroups: [''], apiVersions: [v1], operations: [CREATE], resources: [pods]}]\n  validations:\n  - expression: \"object.spec.containers.all(image, has(image.name))\"\n";
    assert_eq!(compile_docs(yaml).map(|p| p.len()).ok(), Some(1));
}

#[test]
fn deeply_nested_expressions_are_refused_or_evaluated_without_overflow() {
    for depth in [50, 100, 200, 1000, 100_000] {
        let e = format!("{}1{}", "(1 + ".repeat(depth), ")".repeat(depth));
        match compile(&e) {
            Ok(c) => {
                let act = Activation::new(&input(), Limits::default()).unwrap();
                assert_eq!(bulwark_policy::cel::to_json(&act.eval(&c).unwrap()), json!(depth as i64 + 1));
            }
            Err(err) => assert!(matches!(err, CelError::Compile { .. }), "{err}"),
        }
        let e = format!("{}true{}", "[".repeat(depth), "]".repeat(depth));
        if let Ok(c) = compile(&e) {
            let act = Activation::new(&input(), Limits::default()).unwrap();
            let _ = act.eval(&c);
        }
    }
}
