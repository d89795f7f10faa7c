//! `bulwark admission review` with image verification, against Debian's docker-registry on
//! loopback: the seed's require-signature ClusterImagePolicy with a test key, the registry
//! flags as the signing commands take them; a signed image admitted and (with `--mutate`)
//! pinned to its digest, an unsigned one denied with the reason; a registry that is down
//! answered with a denial saying so.

use crate::common::bulwark;
use base64::Engine as _;
use bulwark_sign::oci::RegistryOptions;
use bulwark_testkit::docker_registry;
use serde_json::{json, Value};
use std::path::Path;

const NODE: &str = "sha256:afe831cd21e07c7e05df6f359834d604c6af74d69569103a00a97fdbe18b27a7";
const RUST: &str = "sha256:69f0f4bb8a1b7711ea3bbeb19b57580a5cfacf3cc2284a0872d6a5473e8435f2";

fn review(image: &str) -> String {
    json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
        "uid": "7f0b2891-916f-4ed6-b7cd-27bff1815a8c", "operation": "CREATE", "namespace": "production",
        "kind": {"group": "", "version": "v1", "kind": "Pod"},
        "object": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "production"},
            "spec": {"containers": [{"name": "web", "image": image}]}}}})
    .to_string()
}

fn run(dir: &Path, config: &Path, image: &str, extra: &[&str]) -> (i32, Value) {
    let file = dir.join("review.json");
    std::fs::write(&file, review(image)).unwrap();
    let out = bulwark()
        .args(["admission", "review", "--allow-insecure-registry", "--verify-deadline", "5", "--policy"])
        .arg(dir.join("policies"))
        .arg("--namespaces")
        .arg(dir.join("namespaces.yaml"))
        .arg("--registry-config")
        .arg(config)
        .args(extra)
        .arg(&file)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let v: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{e}: {stdout}\nstderr: {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code().unwrap(), v)
}

#[test]
fn admission_review_verifies_signatures_and_pins_digests() {
    let reg = docker_registry!();
    let app = reg.push("node-app", "team/app:v1");
    let unsigned = reg.push("rust-app", "team/unsigned:v1");
    let key = bulwark_sign::keys::generate().unwrap();
    let opts = RegistryOptions { allow_insecure: true, docker_config: Some(reg.auth_config()) };
    bulwark_sign::cosign::sign(&app, &key, Default::default(), &opts).unwrap();

    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("policies")).unwrap();
    let pem: String = key.public_key().to_pem().lines().map(|l| format!("          {l}\n")).collect();
    std::fs::write(
        dir.path().join("policies/require-signature.yaml"),
        format!(
            "apiVersion: policy.sigstore.dev/v1beta1\nkind: ClusterImagePolicy\nmetadata:\n  name: require-signature\nspec:\n  images:\n    - glob: \"{}/**\"\n  authorities:\n    - key:\n        data: |\n{pem}",
            reg.host()
        ),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("namespaces.yaml"),
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: production\n  labels:\n    policy.sigstore.dev/include: \"true\"\n",
    )
    .unwrap();
    // Kept beside the test's files: the registry's own goes with it.
    let config = dir.path().join("config.json");
    std::fs::copy(reg.auth_config(), &config).unwrap();

    let (code, v) = run(dir.path(), &config, &app, &[]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["response"]["allowed"], true);
    assert_eq!(v["response"]["uid"], "7f0b2891-916f-4ed6-b7cd-27bff1815a8c");

    let (code, v) = run(dir.path(), &config, &app, &["--mutate"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["response"]["patchType"], "JSONPatch");
    let patch = base64::engine::general_purpose::STANDARD.decode(v["response"]["patch"].as_str().unwrap()).unwrap();
    let patch: Value = serde_json::from_slice(&patch).unwrap();
    assert_eq!(patch, json!([{"op": "replace", "path": "/spec/containers/0/image", "value": format!("{app}@{NODE}")}]));

    let (code, v) = run(dir.path(), &config, &unsigned, &[]);
    assert_eq!(code, 1, "{v}");
    assert_eq!(v["response"]["allowed"], false);
    assert_eq!(v["response"]["status"]["code"], 403);
    let msg = v["response"]["status"]["message"].as_str().unwrap();
    assert!(msg.contains(&format!("no signature by key authority-0 on {}/team/unsigned@{RUST}", reg.host())), "{msg}");

    // The registry gone: denied, saying so, well within the deadline.
    let host = reg.host();
    drop(reg);
    let t = std::time::Instant::now();
    let (code, v) = run(dir.path(), &config, &app, &[]);
    assert_eq!(code, 1, "{v}");
    let msg = v["response"]["status"]["message"].as_str().unwrap();
    assert!(msg.contains(&format!("registry unreachable or failing for {host}/team/app:v1")), "{msg}");
    assert!(t.elapsed() < std::time::Duration::from_secs(5), "{:?}", t.elapsed());
}
