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
    assert!(start.elapsed().as_secs() < 5, "{expr} took {:?}", start.elapsed());
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
    // A pod with 500 containers, every policy shape of the suites: no limit in sight.
    let containers: Vec<_> = (0..500).map(|i| json!({"name": format!("c{i}"), "image": "nginx"})).collect();
    let input = Input {
        object: json!({"kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": containers}}),
        ..Default::default()
    };
    let act = Activation::new(&input, Limits::default()).unwrap();
    let e = compile("object.spec.containers.all(c, object.spec.containers.exists(d, d.name == c.name))").unwrap();
    assert_eq!(act.eval_bool(&e), Ok(true));
}
