//! Kyverno `mutate` and `generate` rules: each anchor, strategic-merge lists by their merge
//! key, RFC 6902 operations and their errors, foreach order, rules in order, auto-generated
//! rules for controllers, generate `data`, and hostile patches.

use bulwark_policy::kyverno::patch::{json_patch, parse_json_patch, strategic_merge, Budget};
use bulwark_policy::{Document, Mutation, Policy, Request};
use serde_json::{json, Value};

fn compile(yaml: &str) -> Vec<Box<dyn Policy>> {
    let docs: Vec<Document> = bulwark_policy::yaml::documents("p.yaml", yaml)
        .unwrap()
        .into_iter()
        .enumerate()
        .map(|(i, value)| Document { file: "p.yaml".into(), index: i + 1, value })
        .collect();
    match bulwark_policy::dialect::compile(&docs) {
        Ok(p) => p,
        Err(e) => panic!("{}", e.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")),
    }
}

/// A ClusterPolicy with one rule for Pods whose `mutate` is the given YAML (indented).
fn policy(mutate: &str) -> Box<dyn Policy> {
    let text = format!(
        "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: {{name: p, annotations: {{pod-policies.kyverno.io/autogen-controllers: none}}}}\nspec:\n  rules:\n  - name: r\n    match: {{any: [{{resources: {{kinds: [Pod]}}}}]}}\n    mutate:\n{mutate}"
    );
    compile(&text).pop().unwrap()
}

fn run(p: &dyn Policy, object: &Value) -> Mutation {
    p.mutate(&Request { file: "r.yaml", object, ..Default::default() })
}

fn outcomes(m: &Mutation) -> Vec<(&str, &str)> {
    m.results.iter().map(|r| (r.rule.as_str(), r.result.as_str())).collect()
}

fn pod(spec: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "ns"}, "spec": spec})
}

fn smp(resource: &Value, patch: Value) -> Result<Value, String> {
    strategic_merge(resource, &patch, &mut Budget::default())
}

fn jp(resource: &Value, ops: &str) -> Result<Value, String> {
    json_patch(resource, &parse_json_patch(ops)?, &mut Budget::default())
}

#[test]
fn add_if_not_present_anchor_adds_only_missing_fields() {
    let p = policy("      patchStrategicMerge:\n        metadata:\n          labels:\n            +(team): platform\n");
    let bare = pod(json!({"containers": [{"name": "c", "image": "i"}]}));
    let m = run(p.as_ref(), &bare);
    assert_eq!(outcomes(&m), [("r", "pass")]);
    assert_eq!(m.patched.unwrap()["metadata"]["labels"], json!({"team": "platform"}));
    let mut labelled = bare.clone();
    labelled["metadata"]["labels"] = json!({"team": "mine"});
    let m = run(p.as_ref(), &labelled);
    // The field is there: nothing changes, and an unchanged resource is a skip.
    assert_eq!(outcomes(&m), [("r", "skip")]);
    assert_eq!(m.results[0].message, "no patches applied");
    assert!(m.patched.is_none());
}

#[test]
fn conditional_anchor_in_a_list_patches_the_matching_elements_by_name() {
    let p = policy(
        "      patchStrategicMerge:\n        spec:\n          containers:\n          - (image): \"*:latest\"\n            imagePullPolicy: Always\n",
    );
    let object = pod(json!({"containers": [
        {"name": "a", "image": "nginx:latest"},
        {"name": "b", "image": "redis:7"},
        {"name": "c", "image": "busybox:latest", "imagePullPolicy": "Never"}
    ]}));
    let patched = run(p.as_ref(), &object).patched.unwrap();
    assert_eq!(
        patched["spec"]["containers"],
        json!([
            {"name": "a", "image": "nginx:latest", "imagePullPolicy": "Always"},
            {"name": "b", "image": "redis:7"},
            {"name": "c", "image": "busybox:latest", "imagePullPolicy": "Always"}
        ])
    );
    // Scalars compare as their text, with the value operators of validate patterns.
    let p = policy("      patchStrategicMerge:\n        spec:\n          (hostNetwork): \"true\"\n          (priority): \">5\"\n          dnsPolicy: ClusterFirstWithHostNet\n");
    let mut host = pod(json!({"containers": [{"name": "a"}], "hostNetwork": true, "priority": 10}));
    assert_eq!(run(p.as_ref(), &host).patched.unwrap()["spec"]["dnsPolicy"], "ClusterFirstWithHostNet");
    host["spec"]["priority"] = json!(1);
    assert_eq!(outcomes(&run(p.as_ref(), &host)), [("r", "skip")]);
    // A conditional anchor on a map that does not hold: the whole patch is dropped.
    let p =
        policy("      patchStrategicMerge:\n        metadata:\n          (name): other\n          labels: {x: y}\n");
    let m = run(p.as_ref(), &object);
    assert_eq!(outcomes(&m), [("r", "skip")]);
}

#[test]
fn global_anchor_gates_the_whole_patch() {
    let p = policy(
        "      patchStrategicMerge:\n        metadata:\n          annotations:\n            +(safe-to-evict): \"true\"\n        spec:\n          volumes:\n          - <(emptyDir): {}\n",
    );
    let with = pod(
        json!({"containers": [{"name": "c"}], "volumes": [{"name": "h", "hostPath": {"path": "/x"}}, {"name": "e", "emptyDir": {}}]}),
    );
    let m = run(p.as_ref(), &with);
    assert_eq!(outcomes(&m), [("r", "pass")]);
    let patched = m.patched.unwrap();
    assert_eq!(patched["metadata"]["annotations"], json!({"safe-to-evict": "true"}));
    // The anchored element is not added to the list: volumes are as they were.
    assert_eq!(patched["spec"]["volumes"], with["spec"]["volumes"]);
    let without = pod(json!({"containers": [{"name": "c"}], "volumes": [{"name": "h", "hostPath": {"path": "/x"}}]}));
    assert_eq!(outcomes(&run(p.as_ref(), &without)), [("r", "skip")]);
    let none = pod(json!({"containers": [{"name": "c"}]}));
    assert_eq!(outcomes(&run(p.as_ref(), &none)), [("r", "skip")]);
}

#[test]
fn lists_merge_by_their_kubernetes_merge_key() {
    let object = pod(json!({"containers": [
        {"name": "a", "image": "x", "env": [{"name": "A", "value": "1"}],
         "volumeMounts": [{"name": "v", "mountPath": "/data"}],
         "ports": [{"containerPort": 80, "name": "http"}],
         "args": ["--one", "--two"]}
    ], "imagePullSecrets": [{"name": "s1"}]}));
    let patched = smp(
        &object,
        json!({"spec": {
            "containers": [{"name": "a",
                "env": [{"name": "B", "value": "2"}, {"name": "A", "value": "9"}],
                "volumeMounts": [{"name": "w", "mountPath": "/data", "readOnly": true}],
                "ports": [{"containerPort": 443}],
                "args": ["--three"]},
                {"name": "z", "image": "new"}],
            "imagePullSecrets": [{"name": "s2"}]
        }}),
    )
    .unwrap();
    let c = &patched["spec"]["containers"];
    // Merged by name, existing order kept, new elements appended.
    assert_eq!(c[0]["env"], json!([{"name": "A", "value": "9"}, {"name": "B", "value": "2"}]));
    // volumeMounts by mountPath, ports by containerPort.
    assert_eq!(c[0]["volumeMounts"], json!([{"name": "w", "mountPath": "/data", "readOnly": true}]));
    assert_eq!(c[0]["ports"], json!([{"containerPort": 80, "name": "http"}, {"containerPort": 443}]));
    // A list without a merge key is replaced.
    assert_eq!(c[0]["args"], json!(["--three"]));
    assert_eq!(c[1], json!({"name": "z", "image": "new"}));
    assert_eq!(patched["spec"]["imagePullSecrets"], json!([{"name": "s1"}, {"name": "s2"}]));

    // A null deletes; `$patch: delete` deletes an element; `$patch: replace` a map.
    let patched = smp(
        &patched,
        json!({"metadata": {"namespace": null}, "spec": {"containers": [{"name": "z", "$patch": "delete"},
            {"name": "a", "env": [{"name": "B", "$patch": "delete"}]}]}}),
    )
    .unwrap();
    assert!(patched["metadata"].get("namespace").is_none());
    assert_eq!(patched["spec"]["containers"].as_array().unwrap().len(), 1);
    assert_eq!(patched["spec"]["containers"][0]["env"], json!([{"name": "A", "value": "9"}]));

    // Ports by (containerPort, protocol): a port without a protocol is the same port; finalizers
    // merge as a set; tolerations (no patch strategy) are replaced even when similar.
    let object = pod(json!({"containers": [{"name": "a", "ports": [{"containerPort": 53, "protocol": "UDP"}]}],
        "tolerations": [{"key": "k", "operator": "Exists"}]}));
    let mut object = object;
    object["metadata"]["finalizers"] = json!(["x"]);
    let patched = smp(
        &object,
        json!({"metadata": {"finalizers": ["y", "x"]}, "spec": {
            "containers": [{"name": "a", "ports": [{"containerPort": 53, "protocol": "TCP"}, {"containerPort": 53, "name": "dns"}]}],
            "tolerations": [{"key": "other", "operator": "Exists"}]}}),
    )
    .unwrap();
    assert_eq!(patched["metadata"]["finalizers"], json!(["x", "y"]));
    assert_eq!(
        patched["spec"]["containers"][0]["ports"],
        json!([{"containerPort": 53, "protocol": "UDP", "name": "dns"}, {"containerPort": 53, "protocol": "TCP"}])
    );
    assert_eq!(patched["spec"]["tolerations"], json!([{"key": "other", "operator": "Exists"}]));

    // A custom resource's list merges by `name` only when every element has one.
    let cr = json!({"apiVersion": "example.com/v1", "kind": "Thing", "metadata": {"name": "t"},
        "spec": {"ports": [{"containerPort": 1, "name": "a"}], "items": [{"id": 1}]}});
    let patched =
        smp(&cr, json!({"spec": {"ports": [{"containerPort": 1, "name": "b"}], "items": [{"id": 2}]}})).unwrap();
    assert_eq!(patched["spec"]["ports"], json!([{"containerPort": 1, "name": "a"}, {"containerPort": 1, "name": "b"}]));
    assert_eq!(patched["spec"]["items"], json!([{"id": 2}]));
    // A patch of another shape than the resource is an error.
    assert!(smp(&cr, json!({"spec": {"items": {"a": 1}}})).unwrap_err().contains("wrong node kind"));
}

#[test]
fn json_patch_operations_as_rfc_6902_with_kyvernos_options() {
    let doc = json!({"a": {"b": [1, 2, 3]}, "c": "x"});
    let ok = |ops: &str| jp(&doc, ops).unwrap();
    assert_eq!(ok(r#"[{"op": "add", "path": "/a/b/-", "value": 4}]"#)["a"]["b"], json!([1, 2, 3, 4]));
    assert_eq!(ok(r#"[{"op": "add", "path": "/a/b/1", "value": 9}]"#)["a"]["b"], json!([1, 9, 2, 3]));
    assert_eq!(ok("- op: add\n  path: /a/b/-1\n  value: 9\n")["a"]["b"], json!([1, 2, 9, 3]));
    // add creates the missing path (EnsurePathExistsOnAdd): a list for an index, else a map.
    assert_eq!(ok(r#"[{"op": "add", "path": "/d/e/-", "value": 1}]"#)["d"], json!({"e": [1]}));
    assert_eq!(ok(r#"[{"op": "add", "path": "/d/e", "value": 1}]"#)["d"], json!({"e": 1}));
    assert_eq!(ok(r#"[{"op": "remove", "path": "/a/b/0"}]"#)["a"]["b"], json!([2, 3]));
    // remove of a missing path is no error (AllowMissingPathOnRemove).
    assert_eq!(ok(r#"[{"op": "remove", "path": "/nothing/here"}]"#), doc);
    assert_eq!(ok(r#"[{"op": "replace", "path": "/c", "value": "y"}]"#)["c"], "y");
    let moved = ok(r#"[{"op": "move", "from": "/c", "path": "/a/c"}]"#);
    assert_eq!((moved.get("c"), &moved["a"]["c"]), (None, &json!("x")));
    assert_eq!(ok(r#"[{"op": "copy", "from": "/a/b", "path": "/z"}]"#)["z"], json!([1, 2, 3]));
    assert_eq!(ok(r#"[{"op": "test", "path": "/c", "value": "x"}, {"op": "add", "path": "/t", "value": 1}]"#)["t"], 1);
    assert_eq!(ok(r#"[{"op": "add", "path": "/k~1v~0", "value": 1}]"#)["k/v~"], 1);
    // Errors, and a failed operation leaves nothing half done.
    for (ops, want) in [
        (r#"[{"op": "replace", "path": "/missing", "value": 1}]"#, "replace operation does not apply"),
        (r#"[{"op": "test", "path": "/c", "value": "y"}]"#, "testing value /c failed"),
        (r#"[{"op": "add", "path": "/a/b/7", "value": 1}]"#, "out of bounds"),
        (r#"[{"op": "jump", "path": "/c"}]"#, "unknown operation"),
        (r#"[{"op": "add", "path": "c", "value": 1}]"#, "does not start with /"),
        (r#"[{"op": "add", "path": "/c"}]"#, "has no \"value\""),
        (r#"[{"op": "move", "from": "/a", "path": "/a/b/x"}]"#, "prefix"),
        (r#"{"op": "add"}"#, "not a list of operations"),
    ] {
        let err = jp(&doc, ops).unwrap_err();
        assert!(err.contains(want), "{ops}: {err}");
    }
}

#[test]
fn json_patch_rule_with_variables_appends_in_foreach_order() {
    // Kyverno's add-image-as-env-var: patchesJson6902 elements go in list order.
    let p = policy(
        "      foreach:\n      - list: request.object.spec.containers[]\n        patchesJson6902: |-\n          - op: add\n            path: /spec/containers/{{elementIndex}}/env/-\n            value: {name: IMAGE, value: \"{{ element.image }}\"}\n",
    );
    let object = pod(
        json!({"containers": [{"name": "a", "image": "nginx:1"}, {"name": "b", "image": "redis:7", "env": [{"name": "X", "value": "1"}]}]}),
    );
    let m = run(p.as_ref(), &object);
    assert_eq!(outcomes(&m), [("r", "pass")]);
    let c = &m.patched.unwrap()["spec"]["containers"];
    assert_eq!(c[0]["env"], json!([{"name": "IMAGE", "value": "nginx:1"}]));
    assert_eq!(c[1]["env"], json!([{"name": "X", "value": "1"}, {"name": "IMAGE", "value": "redis:7"}]));
}

#[test]
fn foreach_strategic_merge_goes_in_descending_order_each_on_the_previous_result() {
    // Each element sets one annotation to its name: the last one patched stays.
    let mutate = |order: &str| {
        format!(
            "      foreach:\n      - list: request.object.spec.containers\n{order}        patchStrategicMerge:\n          metadata:\n            annotations:\n              last: \"{{{{ element.name }}}}\"\n          spec:\n            containers:\n            - name: \"{{{{ element.name }}}}\"\n              env:\n              - name: INDEX\n                value: \"i{{{{ elementIndex }}}}\"\n"
        )
    };
    let object = pod(json!({"containers": [{"name": "a"}, {"name": "b"}, {"name": "c"}]}));
    let p = policy(&mutate(""));
    let patched = run(p.as_ref(), &object).patched.unwrap();
    // Descending by default for patchStrategicMerge: the first element is patched last.
    assert_eq!(patched["metadata"]["annotations"]["last"], "a");
    let ascending = policy(&mutate("        order: Ascending\n"));
    assert_eq!(run(ascending.as_ref(), &object).patched.unwrap()["metadata"]["annotations"]["last"], "c");
    for (i, name) in ["a", "b", "c"].iter().enumerate() {
        assert_eq!(patched["spec"]["containers"][i]["name"], *name);
        assert_eq!(patched["spec"]["containers"][i]["env"], json!([{"name": "INDEX", "value": format!("i{i}")}]));
    }
    // Variables in keys are substituted too (Kyverno's traversal visits keys).
    let keyed = "      foreach:\n      - list: request.object.spec.containers\n        patchStrategicMerge:\n          metadata:\n            labels:\n              \"has-{{ element.name }}\": \"yes\"\n";
    let patched = run(policy(keyed).as_ref(), &object).patched.unwrap();
    assert_eq!(patched["metadata"]["labels"], json!({"has-a": "yes", "has-b": "yes", "has-c": "yes"}));
    // Two foreach lists: the second patches what the first produced.
    let two = "      foreach:\n      - list: request.object.spec.containers\n        patchesJson6902: |-\n          - op: add\n            path: /metadata/labels/{{element.name}}\n            value: one\n      - list: request.object.spec.containers\n        patchesJson6902: |-\n          - op: replace\n            path: /metadata/labels/{{element.name}}\n            value: two\n";
    let patched = run(policy(two).as_ref(), &object).patched.unwrap();
    assert_eq!(patched["metadata"]["labels"], json!({"a": "two", "b": "two", "c": "two"}));
    // `order: Ascending` with a patch whose effect depends on order: prepend to a list.
    let order = "      foreach:\n      - list: request.object.spec.containers\n        order: Ascending\n        patchesJson6902: |-\n          - op: add\n            path: /spec/seen/0\n            value: \"{{element.name}}\"\n";
    let patched = run(policy(order).as_ref(), &object).patched.unwrap();
    assert_eq!(patched["spec"]["seen"], json!(["c", "b", "a"]));
    let desc = order.replace("Ascending", "Descending");
    let patched = run(policy(&desc).as_ref(), &object).patched.unwrap();
    assert_eq!(patched["spec"]["seen"], json!(["a", "b", "c"]));
}

#[test]
fn nested_foreach_sees_both_elements() {
    let p = policy(
        "      foreach:\n      - list: request.object.spec.containers\n        foreach:\n        - list: element.env\n          preconditions:\n            all:\n            - {key: \"{{ element.name }}\", operator: Equals, value: SECRET}\n          patchesJson6902: |-\n            - op: replace\n              path: /spec/containers/{{elementIndex0}}/env/{{elementIndex1}}/value\n              value: \"{{ element0.name }}-redacted\"\n",
    );
    let object = pod(json!({"containers": [
        {"name": "a", "env": [{"name": "X", "value": "1"}, {"name": "SECRET", "value": "s"}]},
        {"name": "b", "env": [{"name": "SECRET", "value": "t"}]}
    ]}));
    let m = run(p.as_ref(), &object);
    assert_eq!(outcomes(&m), [("r", "pass")]);
    let c = &m.patched.unwrap()["spec"]["containers"];
    assert_eq!(c[0]["env"], json!([{"name": "X", "value": "1"}, {"name": "SECRET", "value": "a-redacted"}]));
    assert_eq!(c[1]["env"], json!([{"name": "SECRET", "value": "b-redacted"}]));
}

#[test]
fn rules_apply_in_order_and_validation_sees_the_patched_resource() {
    let text = r#"
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: chain, annotations: {pod-policies.kyverno.io/autogen-controllers: none}}
spec:
  validationFailureAction: Enforce
  rules:
  - name: first
    match: {any: [{resources: {kinds: [Pod]}}]}
    mutate: {patchStrategicMerge: {metadata: {labels: {+(stage): one}}}}
  - name: second
    match: {any: [{resources: {kinds: [Pod], selector: {matchLabels: {stage: one}}}}]}
    mutate: {patchStrategicMerge: {metadata: {labels: {stage: two, was: "{{ request.object.metadata.labels.stage || 'none' }}"}}}}
  - name: check
    match: {any: [{resources: {kinds: [Pod]}}]}
    validate: {pattern: {metadata: {labels: {stage: two}}}}
"#;
    let p = compile(text).pop().unwrap();
    let object = pod(json!({"containers": [{"name": "c"}]}));
    let m = run(p.as_ref(), &object);
    assert_eq!(outcomes(&m), [("first", "pass"), ("second", "pass")]);
    let patched = m.patched.unwrap();
    // The second rule matched the first one's output and patched it, while its variables
    // read the object as sent (Kyverno's engine keeps `request.object`).
    assert_eq!(patched["metadata"]["labels"], json!({"stage": "two", "was": "none"}));
    // evaluate() has the validate rules only; on the original the pattern fails.
    let on_original = p.evaluate(&Request { file: "r.yaml", object: &object, ..Default::default() });
    assert_eq!(
        on_original.iter().map(|r| (r.rule.as_str(), r.result.as_str())).collect::<Vec<_>>(),
        [("check", "fail")]
    );
    let on_patched = p.evaluate(&Request { file: "r.yaml", object: &patched, ..Default::default() });
    assert_eq!(on_patched[0].result.as_str(), "pass");
}

#[test]
fn mutate_rules_are_generated_for_pod_controllers() {
    let text = r#"
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: pull}
spec:
  rules:
  - name: always-pull
    match: {any: [{resources: {kinds: [Pod]}}]}
    mutate:
      patchStrategicMerge:
        spec:
          containers:
          - (name): "?*"
            imagePullPolicy: Always
  - name: label-each
    match: {any: [{resources: {kinds: [Pod]}}]}
    mutate:
      foreach:
      - list: request.object.spec.containers
        patchStrategicMerge:
          spec:
            containers:
            - name: "{{ element.name }}"
              securityContext: {runAsNonRoot: true}
"#;
    let p = compile(text).pop().unwrap();
    let deploy = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "namespace": "ns"},
        "spec": {"template": {"metadata": {"labels": {"app": "d"}}, "spec": {"containers": [{"name": "web", "image": "nginx"}]}}}});
    let m = run(p.as_ref(), &deploy);
    assert_eq!(
        outcomes(&m),
        [
            ("always-pull", "skip"),
            ("label-each", "skip"),
            ("autogen-always-pull", "pass"),
            ("autogen-cronjob-always-pull", "skip"),
            ("autogen-label-each", "pass"),
            ("autogen-cronjob-label-each", "skip"),
        ]
    );
    let patched = m.patched.unwrap();
    // The patch moved under spec.template, and request.object.spec into the template.
    assert_eq!(patched["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"], "Always");
    assert_eq!(
        patched["spec"]["template"]["spec"]["containers"][0],
        json!({"name": "web", "image": "nginx", "imagePullPolicy": "Always", "securityContext": {"runAsNonRoot": true}})
    );
    assert!(patched["spec"].get("containers").is_none());
    let cron = json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "c"},
        "spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "j"}]}}}}}});
    let patched = run(p.as_ref(), &cron).patched.unwrap();
    assert_eq!(
        patched["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"],
        "Always"
    );
}

#[test]
fn generate_data_builds_the_resource_with_variables() {
    let text = r#"
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: gen}
spec:
  rules:
  - name: quota
    match: {any: [{resources: {kinds: [Namespace]}}]}
    generate:
      apiVersion: v1
      kind: ResourceQuota
      name: "quota-{{ request.object.metadata.name }}"
      namespace: "{{ request.object.metadata.name }}"
      synchronize: true
      data:
        metadata: {labels: {owner: "{{ request.object.metadata.labels.owner }}"}}
        spec: {hard: {pods: "10"}}
"#;
    let p = compile(text).pop().unwrap();
    let ns =
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a", "labels": {"owner": "ann"}}});
    let m = run(p.as_ref(), &ns);
    assert_eq!(outcomes(&m), [("quota", "pass")]);
    assert!(m.patched.is_none());
    assert_eq!(
        m.generated,
        [json!({"apiVersion": "v1", "kind": "ResourceQuota",
            "metadata": {"name": "quota-team-a", "namespace": "team-a", "labels": {"owner": "ann"}},
            "spec": {"hard": {"pods": "10"}}})]
    );
    // A variable that does not resolve is an error, never an empty value.
    let bare = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "b"}});
    let m = run(p.as_ref(), &bare);
    assert_eq!(outcomes(&m), [("quota", "error")]);
    assert!(m.generated.is_empty());
}

#[test]
fn registry_context_needs_a_test_value_and_is_never_empty() {
    let p = policy(
        "      foreach:\n      - list: request.object.spec.containers\n        context:\n        - name: ref\n          imageRegistry: {reference: \"{{ element.image }}\", jmesPath: resolvedImage}\n        patchStrategicMerge:\n          spec:\n            containers:\n            - name: \"{{ element.name }}\"\n              image: \"{{ ref }}\"\n",
    );
    let object = pod(json!({"containers": [{"name": "c", "image": "busybox"}]}));
    let m = run(p.as_ref(), &object);
    assert_eq!(outcomes(&m), [("r", "error")]);
    assert!(m.results[0].message.contains("imageRegistry"), "{}", m.results[0].message);
    assert!(m.patched.is_none());
    // With the value supplied (as a test's values.yaml does), the patch applies.
    let ctx = json!({"kyverno": {"values": {}, "policies": {"p": {"rules": {"r": {"ref": "busybox@sha256:00"}}}}}});
    let m = p.mutate(&Request { file: "r.yaml", object: &object, context: Some(&ctx), ..Default::default() });
    assert_eq!(m.patched.unwrap()["spec"]["containers"][0]["image"], "busybox@sha256:00");
}

#[test]
fn hostile_patches_are_stopped_with_clear_errors() {
    let doc = json!({"a": [1]});
    // A JSON pointer into a huge index: no padding to a hundred million nulls.
    let err = jp(&doc, r#"[{"op": "add", "path": "/b/100000000/c", "value": 1}]"#).unwrap_err();
    assert!(err.contains("limit"), "{err}");
    let err = jp(&doc, r#"[{"op": "add", "path": "/a/99999999999999999999999", "value": 1}]"#).unwrap_err();
    assert!(err.contains("index"), "{err}");
    // `copy` doubling a subtree: stopped by the nodes budget.
    let mut ops = vec![json!({"op": "add", "path": "/x", "value": [0, 0, 0, 0, 0, 0, 0, 0]})];
    for _ in 0..40 {
        ops.push(json!({"op": "copy", "from": "/x", "path": "/x/-"}));
    }
    let err = jp(&doc, &Value::Array(ops).to_string()).unwrap_err();
    assert!(err.contains("JSON nodes"), "{err}");
    // A deep patch.
    let mut deep = json!("leaf");
    for _ in 0..300 {
        deep = json!({"k": deep});
    }
    let err = smp(&doc, deep.clone()).unwrap_err();
    assert!(err.contains("deeper"), "{err}");
    let err = jp(&doc, &json!([{"op": "add", "path": "/k".repeat(300), "value": 1}]).to_string()).unwrap_err();
    assert!(err.contains("deeper"), "{err}");
    // A foreach over a huge list, appending for every element.
    let p = policy(
        "      foreach:\n      - list: request.object.spec.containers\n        patchesJson6902: |-\n          - op: add\n            path: /spec/containers/-\n            value: {name: more}\n",
    );
    let many: Vec<Value> = (0..20_000).map(|i| json!({"name": format!("c{i}")})).collect();
    let m = run(p.as_ref(), &pod(json!({"containers": many})));
    assert_eq!(outcomes(&m), [("r", "error")]);
    assert!(m.results[0].message.contains("10000"), "{}", m.results[0].message);
    // A foreach within the element limit over a large resource: each patch copies the
    // resource, so the work is bounded too.
    let p = policy(
        "      foreach:\n      - list: request.object.spec.containers\n        patchStrategicMerge:\n          spec:\n            containers:\n            - name: \"{{ element.name }}\"\n              imagePullPolicy: Always\n",
    );
    let big: Vec<Value> = (0..9_000)
        .map(|i| json!({"name": format!("c{i}"), "image": "nginx", "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]}))
        .collect();
    let start = std::time::Instant::now();
    let m = run(p.as_ref(), &pod(json!({"containers": big})));
    assert_eq!(outcomes(&m), [("r", "error")]);
    assert!(m.results[0].message.contains("resource nodes"), "{}", m.results[0].message);
    assert!(start.elapsed().as_secs() < 60, "took {:?}", start.elapsed());
    // Operations without bound.
    let ops: Vec<Value> = (0..20_000).map(|_| json!({"op": "test", "path": "/a"})).collect();
    assert!(parse_json_patch(&Value::Array(ops).to_string()).unwrap_err().contains("operations"));
}

/// `kyverno test` assertions on patched and generated resources compare the resources: a test
/// whose expected resource differs fails with a short diff (path, expected, got), and one
/// that agrees passes. The suite's own folder, copied with one expected value changed.
#[test]
fn patched_and_generated_resources_are_compared_with_the_tests() {
    let kyverno = bulwark_testkit::shared().join("data/admission/kyverno");
    let t = tempfile::tempdir().unwrap();
    let changes = [
        ("other/always-pull-images", "patchedResource1.yaml", "imagePullPolicy: Always", "imagePullPolicy: Never"),
        ("best-practices/add-network-policy", "generatedResource.yaml", "- Egress", "- Egress\n  - Other"),
    ];
    for (folder, ..) in changes {
        let dest = t.path().join(folder);
        std::fs::create_dir_all(dest.join(".kyverno-test")).unwrap();
        let src = kyverno.join(folder);
        for entry in std::fs::read_dir(&src).unwrap().chain(std::fs::read_dir(src.join(".kyverno-test")).unwrap()) {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_file() {
                let rel = entry.path().strip_prefix(&src).unwrap().to_path_buf();
                std::fs::copy(entry.path(), dest.join(rel)).unwrap();
            }
        }
    }
    let all = bulwark_policy::testfiles::run(t.path()).unwrap();
    assert!(all.len() == 3 && all.iter().all(|r| r.ok), "{all:?}");
    for (folder, file, from, to) in changes {
        let expected = t.path().join(folder).join(".kyverno-test").join(file);
        let text = std::fs::read_to_string(&expected).unwrap();
        assert!(text.contains(from), "{text}");
        std::fs::write(&expected, text.replace(from, to)).unwrap();
    }
    let records = bulwark_policy::testfiles::run(t.path()).unwrap();
    let failed: Vec<_> = records.iter().filter(|r| !r.ok).collect();
    assert_eq!(failed.len(), 2, "{records:?}");
    assert_eq!((failed[0].expected.as_str(), failed[0].got.as_str()), ("pass", "fail"));
    assert!(
        failed.iter().any(|r| r.detail
            == "generated resource differs from generatedResource.yaml: /spec/policyTypes: expected [\"Ingress\",\"Egress\",\"Other\"], got [\"Ingress\",\"Egress\"]"),
        "{failed:?}"
    );
    assert!(
        failed.iter().any(|r| r.detail
            == "patched resource differs from patchedResource1.yaml: /spec/containers/0/imagePullPolicy: expected \"Never\", got \"Always\""),
        "{failed:?}"
    );
}
