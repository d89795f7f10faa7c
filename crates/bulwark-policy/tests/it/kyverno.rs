//! Kyverno: the kyverno/policies suites in shared data, run as `kyverno test` runs them, and
//! Kyverno's own tables for value operators, anchors, wildcards and condition operators
//! (pkg/engine/pattern/pattern_test.go, pkg/engine/validate/validate_test.go,
//! pkg/engine/variables/operator/*_test.go).

use bulwark_policy::kyverno::conditions::apply as condition;
use bulwark_policy::kyverno::pattern::{match_pattern, value_matches, wildcard_match};
use bulwark_policy::outcome::TestRecord;
use bulwark_policy::testfiles;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Every assertion of every test file under the Kyverno data, by top folder.
fn run_all() -> BTreeMap<String, Vec<TestRecord>> {
    let root = bulwark_testkit::shared().join("data/admission/kyverno");
    let mut by_folder: BTreeMap<String, Vec<TestRecord>> = BTreeMap::new();
    let records = match testfiles::run(&root) {
        Ok(r) => r,
        Err(e) => panic!("{}: {e}", root.display()),
    };
    for r in records {
        let rel = r.test.rsplit_once("admission/kyverno/").map(|(_, rel)| rel.to_string()).unwrap_or_default();
        let folder = rel.split('/').next().unwrap_or_default().to_string();
        by_folder.entry(folder).or_default().push(r);
    }
    by_folder
}

fn print_failures(folder: &str, records: &[TestRecord]) {
    let ok = records.iter().filter(|r| r.ok).count();
    println!("{folder}: {ok}/{} assertions agree", records.len());
    for r in records.iter().filter(|r| !r.ok) {
        let test = r.test.rsplit_once("admission/kyverno/").map(|(_, t)| t).unwrap_or(&r.test);
        println!(
            "  {test}: {} {} {}: expected {}, got {} ({})",
            r.policy, r.rule, r.resource, r.expected, r.got, r.detail
        );
    }
}

#[test]
fn kyverno_suites_agree_except_the_known_failures() {
    let all = run_all();
    for (folder, records) in &all {
        print_failures(folder, records);
    }
    let count = |folder: &str| {
        let r = &all[folder];
        (r.iter().filter(|r| r.ok).count(), r.len())
    };
    // Classic policies: validate, and mutate/generate rules whose patched and generated
    // resources are compared with the test's (best-practices has 1 `generate` and 4 `mutate`
    // assertions, other/ 15 `mutate`). In pod-security, every assertion agrees (podSecurity
    // rules through the PSS engine).
    assert_eq!(count("pod-security"), (556, 556));
    assert_eq!(count("best-practices"), (39, 39));
    assert_eq!(count("other"), (21, 21));
    // ClusterPolicies written with `validate.cel` (and celPreconditions), through the CEL
    // environment, auto-generated rules included.
    assert_eq!(count("pod-security-cel"), (511, 511));
    assert_eq!(count("best-practices-cel"), (36, 36));
    // ValidatingPolicies, through the same runner.
    assert_eq!(count("pod-security-vpol"), (375, 375));
    assert_eq!(count("best-practices-vpol"), (35, 35));
    assert_eq!(all.len(), 7, "{:?}", all.keys().collect::<Vec<_>>());
}

#[test]
fn value_patterns_as_kyverno_pattern_test() {
    let v = |value: Value, pattern: Value| value_matches(&value, &pattern);
    assert!(v(json!(true), json!(true)) && !v(json!(true), json!(false)) && v(json!(false), json!(false)));
    for (value, pattern, want) in [
        ("anything", "*", true),
        ("", "*", true),
        ("leftright", "*right", true),
        ("right", "*right", true),
        ("leftmiddle", "*right", false),
        ("abbeba", "ab*ba", true),
        ("abbca", "ab*ba", false),
        ("abbba", "ab?ba", true),
        ("abbbba", "ab?ba", false),
        ("10.100.11.54", "192.168.88.1 | 10.100.11.*", true),
        ("10", ">1 & <20", true),
        ("10", ">1 & <20 | >31 & <33", true),
        ("32", ">1 & <20 | >31 & <33", true),
        ("21", ">1 & <20 | >31 & <33", false),
        ("256Mi", "128Mi-512Mi", true),
        ("1024Mi", "128Mi-512Mi", false),
        ("64Mi", "128Mi-512Mi", false),
        ("256Mi", "128Mi!-512Mi", false),
        ("1024Mi", "128Mi!-512Mi", true),
        ("64Mi", "128Mi!-512Mi", true),
        ("1024Gi", "1024Gi", true),
        ("1024Mi", "1Gi", true),
        ("0.2", "200m", true),
        ("2048", "1024", false),
        ("1Gi", ">1000Mi", true),
        ("1G", "<1Gi", true),
        ("500m", ">=0.5", true),
        ("1", ">=500m", true),
        ("0.5", "<=.5", true),
        ("0.2", "!.5", true),
        ("gii", "1024Gi", false),
        ("5.16.5-arch1-1", "!5.10.84-1", true),
        ("5.10.84-1", "!5.10.84-1", false),
        ("5.16.5-arch1-1", "!5.10.84-1 & !5.15.2-1", true),
        ("5.15.2-1", "!5.10.84-1 & !5.15.2-1", false),
        ("nginx:latest", "!*:latest", false),
        ("nginx:1.2", "*:*", true),
        ("nginx", "*:*", false),
        ("90s", ">1m", true),
        ("30s", ">1m", false),
    ] {
        assert_eq!(v(json!(value), json!(pattern)), want, "{value:?} against {pattern:?}");
    }
    for (value, pattern, want) in [
        (json!(0), "0-2", true),
        (json!(2), "0-2", true),
        (json!(3), "0-2", false),
        (json!(0), "10!-20", true),
        (json!(15), "10!-20", false),
        (json!(25), "10!-20", true),
        (json!(0), "0.00001-2.00001", false),
        (json!(1), "0.00001-2.00001", true),
        (json!(2.0001), "0.00001-2.00001", false),
        (json!(2.0001), "0.00001!-2.00001", true),
        (json!(2), "2-2", true),
        (json!(2), "2!-2", false),
        (json!(2.99999), "2.99998-3", true),
        (json!(3.00001), "2.99998!-3", true),
        (json!(4), ">= 3", true),
        (json!(1024), "1024", true),
        (json!(7.00001), ">7.000001", true),
        (json!(7.0), "7", true),
        (json!(6.000000001), "<6", false),
    ] {
        assert_eq!(v(value.clone(), json!(pattern)), want, "{value} against {pattern:?}");
    }
    // null matches the zero value of every scalar type, and nothing else.
    for (value, want) in [
        (json!(""), true),
        (json!(0), true),
        (json!(0.0), true),
        (json!(false), true),
        (json!("x"), false),
        (json!(1), false),
        (json!(true), false),
        (json!({}), false),
    ] {
        assert_eq!(v(value.clone(), Value::Null), want, "{value} against null");
    }
    assert!(v(json!(7), json!(7.0)) && !v(json!(7.000001), json!(7)) && !v(json!(8), json!(7)));
}

#[test]
fn anchors_as_kyverno_validate_test() {
    let pod = |containers: Value| json!({"kind": "Pod", "spec": {"containers": containers}});
    // Conditional: a container with the tag `latest` must pull Always; none such is a skip.
    let p = json!({"spec": {"containers": [{"(image)": "*:latest", "imagePullPolicy": "Always"}]}});
    assert!(match_pattern(&pod(json!([{"image": "a:latest", "imagePullPolicy": "Always"}])), &p).is_ok());
    let e = match_pattern(&pod(json!([{"image": "a:latest", "imagePullPolicy": "IfNotPresent"}])), &p).unwrap_err();
    assert!(!e.is_skip() && e.path == "/spec/containers/0/imagePullPolicy/", "{e:?}");
    assert!(match_pattern(&pod(json!([{"image": "a:1"}])), &p).unwrap_err().is_skip());
    // Equality: checked only when present.
    let p = json!({"spec": {"containers": [{"=(securityContext)": {"=(privileged)": "false"}}]}});
    assert!(match_pattern(&pod(json!([{"name": "a"}])), &p).is_ok());
    assert!(match_pattern(&pod(json!([{"securityContext": {"privileged": false}}])), &p).is_ok());
    let e = match_pattern(&pod(json!([{"securityContext": {"privileged": true}}])), &p).unwrap_err();
    assert_eq!(e.path, "/spec/containers/0/securityContext/privileged/");
    // Negation: the key must be absent.
    let p = json!({"spec": {"=(volumes)": [{"X(hostPath)": "null"}]}});
    assert!(match_pattern(&json!({"spec": {"volumes": [{"emptyDir": {}}]}}), &p).is_ok());
    let e = match_pattern(&json!({"spec": {"volumes": [{"hostPath": {"path": "/"}}]}}), &p).unwrap_err();
    assert!(!e.is_skip() && e.path == "/spec/volumes/0/hostPath/", "{e:?}");
    // Existence: at least one element matches.
    let p = json!({"spec": {"^(containers)": [{"image": "nginx:*"}]}});
    assert!(match_pattern(&pod(json!([{"image": "a"}, {"image": "nginx:1"}])), &p).is_ok());
    assert!(match_pattern(&pod(json!([{"image": "a"}])), &p).is_err());
    // Global: a mismatch anywhere makes the whole rule skip.
    let p = json!({"spec": {"containers": [{"<(image)": "corp.io/*"}], "imagePullSecrets": [{"name": "regcred"}]}});
    assert!(match_pattern(&json!({"spec": {"containers": [{"image": "docker.io/x"}]}}), &p).unwrap_err().is_skip());
    assert!(match_pattern(&json!({"spec": {"containers": [{"image": "corp.io/x"}]}}), &p).is_err());
    assert!(match_pattern(
        &json!({"spec": {"containers": [{"image": "corp.io/x"}], "imagePullSecrets": [{"name": "regcred"}]}}),
        &p
    )
    .is_ok());
    // Wildcard keys in metadata stand for the resource's keys.
    let p = json!({"metadata": {"=(annotations)": {"=(container.apparmor.security.beta.kubernetes.io/*)": "runtime/default | localhost/*"}}});
    let with = |v: &str| json!({"metadata": {"annotations": {"container.apparmor.security.beta.kubernetes.io/c": v}}});
    assert!(match_pattern(&with("localhost/x"), &p).is_ok());
    assert!(match_pattern(&with("unconfined"), &p).is_err());
    // `*` as a value requires the key.
    assert!(match_pattern(&json!({"a": 1}), &json!({"b": "*"})).is_err());
    assert!(match_pattern(&json!({"b": "x"}), &json!({"b": "*"})).is_ok());
}

#[test]
fn wildcards_as_kyverno_wildcard_test() {
    for (p, t, want) in [
        ("*", "", true),
        ("*", "abc", true),
        ("a*c", "abbbc", true),
        ("a?c", "abc", true),
        ("a?c", "ac", false),
        ("*.example.com", "a.b.example.com", true),
        ("*.example.com", "example.com", false),
        ("a*b*c", "aXbYc", true),
        ("a*b*c", "aXbY", false),
    ] {
        assert_eq!(wildcard_match(p, t), want, "{p:?} against {t:?}");
    }
    // A long text against many stars stays fast (no exponential backtracking).
    let text = "a".repeat(10_000);
    let start = std::time::Instant::now();
    assert!(!wildcard_match(&format!("{}b", "*a".repeat(50)), &text));
    assert!(start.elapsed().as_secs() < 5);
}

#[test]
fn condition_operators_as_kyverno_operator_tests() {
    let c = |op: &str, k: Value, v: Value| condition(op, &k, &v).unwrap();
    assert!(c("Equals", json!("a"), json!("a")) && c("Equals", json!("abc"), json!("a*")));
    assert!(c("Equals", json!("1Gi"), json!("1024Mi")) && c("Equals", json!("1h"), json!("60m")));
    assert!(c("Equals", json!(1), json!(1.0)) && !c("Equals", json!(true), json!("true")));
    assert!(c("NotEquals", json!("a"), json!("b")) && !c("NotEquals", json!([1, 2]), json!([1, 2])));
    assert!(c("AnyIn", json!(["a", "z"]), json!(["a", "b"])) && !c("AnyIn", json!(["y", "z"]), json!(["a", "b"])));
    assert!(c("AllIn", json!(["a", "b"]), json!(["a", "b", "c"])) && !c("AllIn", json!(["a", "z"]), json!(["a"])));
    assert!(c("AnyNotIn", json!(["a", "z"]), json!(["a", "b"])) && !c("AnyNotIn", json!(["a"]), json!(["a", "b"])));
    assert!(c("AllNotIn", json!(["y", "z"]), json!(["a"])) && !c("AllNotIn", json!(["a", "z"]), json!(["a"])));
    assert!(!c("AnyNotIn", json!([]), json!(["a"])), "an empty key has nothing outside the set");
    assert!(c("AnyIn", json!("ab*"), json!(["abc"])), "wildcards work both ways");
    assert!(
        c("AnyNotIn", json!([80, 5500]), json!("5000-6000")) && !c("AnyNotIn", json!([5000, 6000]), json!("5000-6000"))
    );
    assert!(c("AnyIn", json!("a"), json!("[\"a\", \"b\"]")), "a JSON list in a string");
    assert!(c("GreaterThan", json!(3), json!("2")) && c("GreaterThan", json!("2Gi"), json!("1Gi")));
    assert!(c("LessThan", json!("2Gi"), json!("3Gi")) && !c("LessThan", json!("3Gi"), json!("2Gi")));
    assert!(c("GreaterThanOrEquals", json!(1), json!(1)) && c("LessThanOrEquals", json!("1m"), json!("2m")));
    assert!(
        c("DurationGreaterThan", json!("2h"), json!("90m"))
            && c("DurationLessThanOrEquals", json!("1h"), json!("3600s"))
    );
    assert!(condition("Bogus", &json!(1), &json!(1)).is_err());
}

fn compile(yaml: &str) -> Result<Vec<Box<dyn bulwark_policy::Policy>>, Vec<bulwark_policy::PolicyError>> {
    let docs: Vec<bulwark_policy::Document> = bulwark_policy::yaml::documents("p.yaml", yaml)
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(i, value)| bulwark_policy::Document { file: "p.yaml".into(), index: i + 1, value })
        .collect();
    bulwark_policy::dialect::compile(&docs)
}

fn results(policy: &dyn bulwark_policy::Policy, object: &Value) -> Vec<(String, String)> {
    let req = bulwark_policy::Request { file: "r.yaml", object, ..Default::default() };
    policy.evaluate(&req).into_iter().map(|r| (r.rule, r.result.as_str().to_string())).collect()
}

const REQUIRE_TAG: &str = r#"
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: tags}
spec:
  validationFailureAction: Enforce
  rules:
  - name: a-rule-with-a-rather-long-name-that-goes-past-sixty-three-chars
    match: {any: [{resources: {kinds: [Pod]}}]}
    validate:
      message: "tag {{ request.object.spec.containers[0].name }}"
      pattern: {spec: {containers: [{image: "*:*"}]}}
"#;

#[test]
fn pod_rules_are_generated_for_controllers_with_kyvernos_names() {
    let policies = compile(REQUIRE_TAG).unwrap();
    let deploy = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
        "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "nginx"}]}}}});
    let got = results(policies[0].as_ref(), &deploy);
    let names: Vec<&str> = got.iter().map(|(r, _)| r.as_str()).collect();
    assert_eq!(
        names,
        [
            "a-rule-with-a-rather-long-name-that-goes-past-sixty-three-chars",
            "autogen-a-rule-with-a-rather-long-name-that-goes-past-sixty-thr",
            "autogen-cronjob-a-rule-with-a-rather-long-name-that-goes-past-s",
        ]
    );
    let outcomes: Vec<&str> = got.iter().map(|(_, o)| o.as_str()).collect();
    assert_eq!(outcomes, ["skip", "fail", "skip"]);
    let req = bulwark_policy::Request { file: "r.yaml", object: &deploy, ..Default::default() };
    let fail = policies[0].evaluate(&req).into_iter().find(|r| r.result.as_str() == "fail").unwrap();
    assert_eq!(
        fail.message,
        "validation error: tag c. rule autogen-a-rule-with-a-rather-long-name-that-goes-past-sixty-thr failed at path /spec/template/spec/containers/0/image/"
    );
    // References to the pod are shifted into the template (Kyverno's updateFields), the
    // message's too.
    // `none` turns generation off.
    let none = REQUIRE_TAG.replace(
        "metadata: {name: tags}",
        "metadata: {name: tags, annotations: {pod-policies.kyverno.io/autogen-controllers: none}}",
    );
    assert_eq!(results(compile(&none).unwrap()[0].as_ref(), &deploy).len(), 1);
}

#[test]
fn unsupported_fields_are_errors_naming_policy_rule_and_field() {
    let mutate = r#"
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: m}
spec:
  rules:
  - name: add
    match: {any: [{resources: {kinds: [Pod]}}]}
    mutate: {targets: [{apiVersion: v1, kind: ConfigMap}], patchStrategicMerge: {metadata: {labels: {a: b}}}}
  - name: copy
    match: {any: [{resources: {kinds: [Namespace]}}]}
    generate: {apiVersion: v1, kind: Secret, name: s, namespace: n, clone: {namespace: default, name: s}}
  - name: cel
    match: {any: [{resources: {kinds: [Pod]}}]}
    validate: {cel: {paramKind: {kind: ConfigMap}, expressions: [{expression: "true"}]}}
"#;
    let errs: Vec<String> = compile(mutate).err().unwrap().iter().map(ToString::to_string).collect();
    assert_eq!(
        errs,
        [
            "kyverno.io/v1 ClusterPolicy m: rule add: `mutate.targets` is not supported",
            "kyverno.io/v1 ClusterPolicy m: rule copy: `generate.clone` is not supported",
            "kyverno.io/v1 ClusterPolicy m: rule cel: `validate.cel.paramKind` is not supported",
        ]
    );
    // A registry lookup with no test value is an error at evaluation, never a pass.
    let registry = r#"
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: r}
spec:
  rules:
  - name: size
    match: {any: [{resources: {kinds: [Pod]}}]}
    context: [{name: size, imageRegistry: {reference: "{{ request.object.spec.containers[0].image }}"}}]
    validate: {deny: {conditions: {all: [{key: "{{ size }}", operator: GreaterThan, value: 1}]}}}
"#;
    let p = compile(registry).unwrap();
    let pod = json!({"kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "i"}]}});
    assert_eq!(results(p[0].as_ref(), &pod)[0], ("size".to_string(), "error".to_string()));
}

#[test]
fn audit_is_warn_and_a_namespaced_policy_sees_its_namespace_only() {
    let policy = r#"
apiVersion: kyverno.io/v1
kind: Policy
metadata: {name: labels, namespace: team}
spec:
  rules:
  - name: need-label
    match: {any: [{resources: {kinds: [ConfigMap], names: ["cfg-*"]}}]}
    validate: {pattern: {metadata: {labels: {app: "?*"}}}}
"#;
    let p = compile(policy).unwrap();
    let cm = |ns: &str, name: &str| json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": ns}});
    assert_eq!(results(p[0].as_ref(), &cm("team", "cfg-1")), [("need-label".to_string(), "warn".to_string())]);
    assert_eq!(results(p[0].as_ref(), &cm("other", "cfg-1")), [("need-label".to_string(), "skip".to_string())]);
    assert_eq!(results(p[0].as_ref(), &cm("team", "x")), [("need-label".to_string(), "skip".to_string())]);
}

#[test]
fn hostile_inputs_stop_at_a_limit_with_an_error() {
    let policy = r#"
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: h}
spec:
  rules:
  - name: each
    match: {any: [{resources: {kinds: [Pod]}}]}
    validate:
      foreach:
      - list: request.object.spec.containers
        foreach:
        - list: request.object.spec.containers
          deny: {conditions: {all: [{key: "{{ element.name }}", operator: Equals, value: "never"}]}}
"#;
    let p = compile(policy).unwrap();
    let containers: Vec<Value> = (0..2_000).map(|i| json!({"name": format!("c{i}"), "image": "i"})).collect();
    let pod = json!({"kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": containers}});
    let start = std::time::Instant::now();
    let req = bulwark_policy::Request { file: "r.yaml", object: &pod, ..Default::default() };
    let r = p[0].evaluate(&req).into_iter().next().unwrap();
    assert_eq!(r.result.as_str(), "error", "{r:?}");
    assert!(r.message.contains("foreach over more than"), "{}", r.message);
    assert!(start.elapsed().as_secs() < 20, "took {:?}", start.elapsed());
    // A JMESPath expression nested deep enough to exhaust the parser's stack is refused.
    let deep = format!("{}a{}", "(".repeat(5_000), ")".repeat(5_000));
    assert!(bulwark_policy::kyverno::variables::query_value(&deep, &json!({})).is_err());
    let deep = format!("{}a{}", "(".repeat(1_000), ")".repeat(1_000));
    assert!(bulwark_policy::kyverno::variables::query_value(&deep, &json!({})).unwrap_err().contains("nested deeper"));
    // A regex from a policy beyond the size limit is an error, not an allocation.
    let big = format!("{{{{ regex_match('{}', 'x') }}}}", "(a|b){1000}".repeat(20));
    assert!(bulwark_policy::kyverno::variables::substitute_str(
        &big,
        &bulwark_policy::kyverno::variables::Vars::new(json!({}))
    )
    .is_err());
}

#[test]
fn an_update_that_keeps_an_existing_violation_is_skipped() {
    let policy = r#"
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: labels}
spec:
  validationFailureAction: Enforce
  rules:
  - name: need-label
    match: {any: [{resources: {kinds: [ConfigMap]}}]}
    validate: {pattern: {metadata: {labels: {app: "?*"}}}}
"#;
    let p = compile(policy).unwrap();
    let bare = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}});
    let labelled = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "labels": {"app": "a"}}});
    let update = |old: &Value, new: &Value| {
        let req = bulwark_policy::Request {
            file: "r.yaml",
            object: new,
            old_object: Some(old),
            operation: bulwark_policy::Operation::Update,
            ..Default::default()
        };
        p[0].evaluate(&req)[0].result.as_str().to_string()
    };
    assert_eq!(update(&bare, &bare), "skip");
    assert_eq!(update(&labelled, &bare), "fail");
    assert_eq!(update(&bare, &labelled), "pass");
}
