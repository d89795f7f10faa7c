//! Policy files for tests that need a policy to behave a certain way (loop, allocate).

/// Rego that loops 10^10 times: only its 2 s time limit ends it.
pub const SLOW_REGO: &str = "r := numbers.range(1, 100000)\nn := count([1 | r[_]; r[_]])\nmsg := sprintf(\"%v\", [n])";

/// Rego that builds a 100 MB string, then a list of 1,000 copies of it (100 GB).
pub const HUNGRY_REGO: &str = "pad := concat(\"\", [p | numbers.range(1, 1000)[_]; p := \"x\"])\n\
parts := [s | i := numbers.range(1, 100000)[_]; s := sprintf(\"%v%v\", [i, pad])]\n\
big := concat(\",\", parts)\n\
copies := [c | k := numbers.range(1, 1000)[_]; c := concat(\"\", [big, sprintf(\"%v\", [k])])]\n\
msg := sprintf(\"%v\", [count(copies)])";

/// A Gatekeeper ConstraintTemplate of `kind` (e.g. `K8sSlow`) whose one `violation` rule has
/// `body` (Rego lines, setting `msg`), and a constraint of that kind on Pods: one YAML stream.
pub fn gatekeeper_pod_policy(kind: &str, body: &str) -> String {
    let name = kind.to_lowercase();
    let body: String = body.lines().map(|l| format!("          {l}\n")).collect();
    format!(
        "apiVersion: templates.gatekeeper.sh/v1\nkind: ConstraintTemplate\nmetadata:\n  name: {name}\nspec:\n  crd:\n    spec:\n      names:\n        kind: {kind}\n  targets:\n    - target: admission.k8s.gatekeeper.sh\n      rego: |\n        package {name}\n        violation[{{\"msg\": msg}}] {{\n{body}        }}\n---\napiVersion: constraints.gatekeeper.sh/v1beta1\nkind: {kind}\nmetadata:\n  name: {name}-pods\nspec:\n  match:\n    kinds:\n      - apiGroups: [\"\"]\n        kinds: [\"Pod\"]\n"
    )
}
