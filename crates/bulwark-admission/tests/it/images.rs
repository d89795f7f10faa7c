//! Kubewarden trusted-repos' own test cases (its settings, its AdmissionRequests, its expected
//! decisions) through the image rules.

use crate::Now;
use bulwark_admission::review;
use bulwark_admission::{Admission, ImageRules, ImageSettings};
use serde_json::Value;

fn rules(settings: &Value) -> Result<ImageRules, String> {
    let s: ImageSettings = serde_json::from_value(settings.clone()).map_err(|e| e.to_string())?;
    ImageRules::new(s).map_err(|e| e.to_string())
}

#[test]
fn kubewarden_trusted_repos_cases() {
    let dir = crate::data("admissionreview/kubewarden-trusted-repos-policy");
    let cases: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(dir.join("cases.json")).unwrap()).unwrap();
    assert_eq!(cases.len(), 6);
    let (mut allowed, mut denied, mut invalid) = (0, 0, 0);
    for case in &cases {
        let name = case["test"].as_str().unwrap();
        let body = std::fs::read(dir.join(case["request"].as_str().unwrap())).unwrap();
        let r = review::parse(&body).unwrap();
        match (rules(&case["settings_json"]), case["expect_allowed"].as_bool()) {
            (Err(e), None) => {
                invalid += 1;
                assert!(e.contains("images.allow"), "{name}: {e}");
            }
            (Ok(images), Some(expect)) => {
                let v = Admission::new(Vec::new(), Default::default(), Default::default(), images).decide(&r).now();
                assert_eq!(v.allowed, expect, "{name}: {}", v.message);
                if expect {
                    allowed += 1;
                } else {
                    assert!(v.message.starts_with("image-rules/"), "{name}: {}", v.message);
                    denied += 1;
                }
            }
            (got, expect) => panic!("{name}: settings {:?}, expected allowed {expect:?}", got.err()),
        }
    }
    assert_eq!((allowed, denied, invalid), (2, 3, 1));
}

fn pod(images: &[(&str, Option<&str>)]) -> review::Review {
    let containers: Vec<Value> = images
        .iter()
        .enumerate()
        .map(|(i, (image, pull))| {
            let mut c = serde_json::json!({"name": format!("c{i}"), "image": image});
            if let Some(p) = pull {
                c["imagePullPolicy"] = (*p).into();
            }
            c
        })
        .collect();
    let body = serde_json::json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
        "uid": "u", "operation": "CREATE", "namespace": "prod", "kind": {"group": "", "version": "v1", "kind": "Pod"},
        "object": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": containers}}}});
    review::parse(body.to_string().as_bytes()).unwrap()
}

#[test]
fn digest_pull_policy_registries_and_namespaces() {
    let d = format!("sha256:{}", "b".repeat(64));
    let images = rules(&serde_json::json!({
        "registries": {"allow": ["registry.example.com", "index.docker.io"]},
        "requireDigest": true, "pullPolicyAlways": true, "namespaces": ["prod"]}))
    .unwrap();
    let a = Admission::new(Vec::new(), Default::default(), Default::default(), images);
    // Pinned, allowed registry (Docker Hub under either name), pulled Always: allowed.
    let ok =
        pod(&[(&format!("registry.example.com/app:v1@{d}"), Some("Always")), (&format!("alpine@{d}"), Some("Always"))]);
    let v = a.decide(&ok).now();
    assert!(v.allowed, "{}", v.message);
    // A tag without digest, another registry, IfNotPresent by default for a versioned tag.
    let v = a.decide(&pod(&[("ghcr.io/o/app:v1", None)])).now();
    assert!(!v.allowed);
    assert!(
        v.message
            .contains("image-rules/registries: containers \"c0\": image \"ghcr.io/o/app:v1\" is from registry ghcr.io"),
        "{}",
        v.message
    );
    assert!(
        v.message
            .contains("image-rules/digest: containers \"c0\": image \"ghcr.io/o/app:v1\" is not pinned to a digest"),
        "{}",
        v.message
    );
    assert!(
        v.message.contains("image-rules/pull-policy: containers \"c0\": imagePullPolicy is IfNotPresent, not Always"),
        "{}",
        v.message
    );
    // Outside the chosen namespaces nothing applies.
    let mut other = pod(&[("ghcr.io/o/app:v1", None)]);
    other.object["metadata"]["namespace"] = "dev".into();
    assert!(a.decide(&other).now().allowed);
    // An unparseable image is a denial naming it, never a pass.
    let v = a.decide(&pod(&[("Registry.Example.com/APP", None)])).now();
    assert!(!v.allowed);
    assert!(v.message.contains("image-rules/images: containers \"c0\": image reference"), "{}", v.message);
}

#[test]
fn invalid_settings_are_errors_naming_the_field() {
    assert!(rules(&serde_json::json!({"registries": {"allow": ["a.io"], "reject": ["b.io"]}}))
        .unwrap_err()
        .contains("registries.allow"));
    assert!(rules(&serde_json::json!({"registries": {"allow": ["a.io/x"]}})).unwrap_err().contains("registries.allow"));
    assert!(rules(&serde_json::json!({"tags": {"reject": ["bad tag"]}})).unwrap_err().contains("tags.reject"));
    assert!(
        rules(&serde_json::json!({"signatures": []})).unwrap_err().contains("signatures"),
        "unknown fields are errors"
    );
}
