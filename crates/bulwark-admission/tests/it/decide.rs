//! Decisions over the policy engine: PSS by namespace labels on a real API server review,
//! enforce on pod controllers as warnings (as the API server), Kyverno policies from shared data.

use crate::Now;
use bulwark_admission::decide::namespace_labels;
use bulwark_admission::review;
use bulwark_admission::{Admission, ImageRules};
use bulwark_policy::pss::PodSecurityConfiguration;
use serde_json::{json, Value};

fn namespaces() -> bulwark_admission::NamespaceLabels {
    namespace_labels(&[
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "colin-coder", "labels": {"pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/enforce-version": "v1.30"}}}),
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "lax", "labels": {"pod-security.kubernetes.io/warn": "restricted"}}}),
    ])
}

fn gke() -> review::Review {
    let body = std::fs::read(crate::data("admissionreview/kube-rs/v1_pod_create_gke.json")).unwrap();
    review::parse(&body).unwrap()
}

#[test]
fn pss_enforce_label_denies_a_real_review_with_upstream_messages() {
    let a = Admission::new(Vec::new(), PodSecurityConfiguration::default(), namespaces(), ImageRules::default());
    let r = gke();
    let v = a.decide(&r).now();
    assert!(!v.allowed);
    assert!(
        v.message.contains("pod-security/runAsNonRoot: runAsNonRoot != true (pod or container \"echo-server\" must set securityContext.runAsNonRoot=true)"),
        "{}",
        v.message
    );
    let out = review::response(&r, &v);
    assert_eq!(out["response"]["uid"], "0c9a8d74-9cb7-44dd-b98e-09fd62def2f4");
    assert_eq!(out["response"]["status"]["code"], 403);
    // Without labels (PSA's default: privileged) it is allowed.
    let none =
        Admission::new(Vec::new(), PodSecurityConfiguration::default(), Default::default(), ImageRules::default());
    assert!(none.decide(&r).now().allowed);
}

#[test]
fn warn_labels_and_controllers_give_warnings_not_denials() {
    let a = Admission::new(Vec::new(), PodSecurityConfiguration::default(), namespaces(), ImageRules::default());
    let mut r = gke();
    r.object["metadata"]["namespace"] = "lax".into();
    let v = a.decide(&r).now();
    assert!(v.allowed);
    assert!(v.warnings.iter().any(|w| w.starts_with("pod-security/runAsNonRoot: ")), "{:?}", v.warnings);
    assert!(v.warnings.iter().all(|w| w.len() <= 256));
    // A Deployment in the enforcing namespace: warned, not denied (PSA enforces on Pods only).
    let pod_spec = gke().object["spec"].clone();
    let deploy: Value = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "namespace": "colin-coder"},
        "spec": {"template": {"metadata": {}, "spec": pod_spec}}});
    let body = json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {"uid": "d1", "operation": "CREATE",
        "namespace": "colin-coder", "kind": {"group": "apps", "version": "v1", "kind": "Deployment"}, "object": deploy}});
    let r = review::parse(body.to_string().as_bytes()).unwrap();
    let v = a.decide(&r).now();
    assert!(v.allowed, "{}", v.message);
    assert!(v.warnings.iter().any(|w| w.starts_with("pod-security/runAsNonRoot")), "{:?}", v.warnings);
}

#[test]
fn kyverno_enforce_policies_deny_and_audit_policies_warn() {
    let dir = crate::data("kyverno/pod-security/baseline/disallow-privileged-containers");
    let docs: Vec<bulwark_policy::Document> = bulwark_policy::resource::read_paths(&[dir])
        .map(|d| d.unwrap())
        .filter(bulwark_policy::dialect::is_policy_document)
        .collect();
    let policies = bulwark_policy::dialect::compile(&docs).unwrap();
    let a = Admission::new(policies, PodSecurityConfiguration::default(), Default::default(), ImageRules::default());
    let body = std::fs::read(crate::data(
        "admissionreview/kubewarden-pod-privileged-policy/test_data/privileged_container.json",
    ))
    .unwrap();
    let r = review::parse(&body).unwrap();
    // The policy is in Audit mode upstream: a warning, allowed.
    let v = a.decide(&r).now();
    assert!(v.allowed, "{}", v.message);
    assert!(v.warnings.iter().any(|w| w.starts_with("disallow-privileged-containers/")), "{:?}", v.warnings);
    // The same policy in Enforce mode denies, naming policy and rule.
    let enforcing: Vec<bulwark_policy::Document> = docs
        .iter()
        .cloned()
        .map(|mut d| {
            d.value["spec"]["validationFailureAction"] = "Enforce".into();
            d
        })
        .collect();
    let a = Admission::new(
        bulwark_policy::dialect::compile(&enforcing).unwrap(),
        PodSecurityConfiguration::default(),
        Default::default(),
        ImageRules::default(),
    );
    let v = a.decide(&r).now();
    assert!(!v.allowed);
    assert!(v.message.starts_with("disallow-privileged-containers/privileged-containers: "), "{}", v.message);
    let ok = std::fs::read(crate::data(
        "admissionreview/kubewarden-pod-privileged-policy/test_data/no_privileged_containers.json",
    ))
    .unwrap();
    let v = a.decide(&review::parse(&ok).unwrap()).now();
    assert!(v.allowed && v.warnings.is_empty(), "{v:?}");
}
