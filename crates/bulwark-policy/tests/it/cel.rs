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
