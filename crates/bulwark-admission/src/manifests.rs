//! `bulwark admission manifests`: everything `kubectl apply` needs to run the webhook —
//! Namespace, ServiceAccount, the RBAC it reads with (namespaces, secrets for
//! imagePullSecrets, service accounts), a Deployment of 2 replicas that passes its own Pod
//! Security Standards restricted check, a PodDisruptionBudget, the Service, and the Validating
//! and Mutating WebhookConfigurations (`caBundle`, `failurePolicy: Fail`, `sideEffects: None`,
//! `timeoutSeconds: 10`, both review versions, pods and every pod controller, its own
//! namespace and kube-system exempt).
//!
//! Two objects are the user's: the TLS Secret (`kubectl create secret tls`, from the files of
//! `bulwark admission cert`) and the policies ConfigMap (`kubectl create configmap
//! --from-file`), so that no key and no policy is printed here.

use crate::cert::is_dns_label;
use base64::Engine as _;
use serde_json::{json, Value};

/// The service (and Deployment, ServiceAccount, …) name; the name `admission cert` defaults to.
pub const NAME: &str = "bulwark-admission";
/// The namespace it is deployed in by default.
pub const NAMESPACE: &str = "bulwark-system";
/// The webhooks' `timeoutSeconds` (the server's default `--timeout` of 8 s answers first).
pub const TIMEOUT_SECONDS: i32 = 10;
/// The TLS Secret the Deployment mounts.
pub const TLS_SECRET: &str = "bulwark-admission-tls";
/// The ConfigMap of policies the Deployment mounts.
pub const POLICY_CONFIGMAP: &str = "bulwark-admission-policies";

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("--namespace {0:?} is not a DNS label")]
    Namespace(String),
    #[error("--image {image:?}: {source}")]
    Image { image: String, source: bulwark_oci::ReferenceError },
    #[error("--ca: {0}")]
    Ca(String),
    #[error("YAML: {0}")]
    Yaml(String),
}

/// What the manifests are made from.
pub struct Options<'a> {
    /// The bulwark image (`REGISTRY/bulwark:TAG`, better by digest).
    pub image: &'a str,
    /// The CA certificate (PEM) that signed the serving certificate: the `caBundle`.
    pub ca_pem: &'a [u8],
    pub namespace: &'a str,
}

/// The resources the webhooks intercept: pods and every pod-bearing kind.
fn rules() -> Value {
    let ops = json!(["CREATE", "UPDATE"]);
    json!([
        {"apiGroups": [""], "apiVersions": ["v1"], "operations": ops,
         "resources": ["pods", "pods/ephemeralcontainers", "replicationcontrollers", "podtemplates"], "scope": "Namespaced"},
        {"apiGroups": ["apps"], "apiVersions": ["v1"], "operations": ops,
         "resources": ["deployments", "replicasets", "statefulsets", "daemonsets"], "scope": "Namespaced"},
        {"apiGroups": ["batch"], "apiVersions": ["v1"], "operations": ops,
         "resources": ["jobs", "cronjobs"], "scope": "Namespaced"}
    ])
}

/// Every object, in apply order.
pub fn objects(o: &Options) -> Result<Vec<Value>, ManifestError> {
    let ns = o.namespace;
    if !is_dns_label(ns) {
        return Err(ManifestError::Namespace(ns.to_string()));
    }
    bulwark_oci::ImageRef::parse(o.image)
        .map_err(|source| ManifestError::Image { image: o.image.to_string(), source })?;
    check_ca(o.ca_pem)?;
    let ca_bundle = base64::engine::general_purpose::STANDARD.encode(o.ca_pem);
    let labels = json!({"app.kubernetes.io/name": NAME, "app.kubernetes.io/part-of": "bulwark"});
    let selector = json!({"app.kubernetes.io/name": NAME});
    let meta = |name: &str| json!({"name": name, "namespace": ns, "labels": labels});
    // Never the webhook's own namespace (it could not start its own pods while down) nor
    // kube-system. The label is set by the API server on every namespace (1.21+).
    let namespace_selector = json!({"matchExpressions": [
        {"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": [ns, "kube-system"]}
    ]});
    let webhook = |kind: &str, path: &str| {
        json!({
            "name": format!("{kind}.{NAME}.bulwark.dev"),
            "clientConfig": {"service": {"name": NAME, "namespace": ns, "path": path, "port": 443}, "caBundle": ca_bundle},
            "rules": rules(),
            "failurePolicy": "Fail",
            "matchPolicy": "Equivalent",
            "sideEffects": "None",
            "timeoutSeconds": TIMEOUT_SECONDS,
            "admissionReviewVersions": ["v1", "v1beta1"],
            "namespaceSelector": namespace_selector,
        })
    };
    let probe = |path: &str, period: i32| json!({"httpGet": {"path": path, "port": "https", "scheme": "HTTPS"}, "periodSeconds": period, "timeoutSeconds": 2, "failureThreshold": 3});
    let mut mutating = webhook("mutate", "/mutate");
    mutating["reinvocationPolicy"] = json!("IfNeeded");
    Ok(vec![
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": {
            "pod-security.kubernetes.io/enforce": "restricted",
            "pod-security.kubernetes.io/enforce-version": "latest"}}}),
        json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta(NAME)}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
        "metadata": {"name": NAME, "labels": labels},
        "rules": [
            // Namespace labels (Pod Security Standards, selectors), the pods' pull secrets
            // and their service accounts' (registry credentials). Read only.
            {"apiGroups": [""], "resources": ["namespaces", "secrets", "serviceaccounts"], "verbs": ["get", "list", "watch"]}
        ]}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": NAME, "labels": labels},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": NAME},
            "subjects": [{"kind": "ServiceAccount", "name": NAME, "namespace": ns}]}),
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta(NAME), "spec": {
            "replicas": 2,
            "selector": {"matchLabels": selector},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
            "template": {"metadata": {"labels": labels}, "spec": {
                "serviceAccountName": NAME,
                "securityContext": {"runAsNonRoot": true, "runAsUser": 65532, "runAsGroup": 65532,
                    "seccompProfile": {"type": "RuntimeDefault"}},
                "affinity": {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
                    {"weight": 100, "podAffinityTerm": {"labelSelector": {"matchLabels": selector},
                        "topologyKey": "kubernetes.io/hostname"}}]}},
                "terminationGracePeriodSeconds": 30,
                "containers": [{
                    "name": "webhook",
                    "image": o.image,
                    "imagePullPolicy": "IfNotPresent",
                    // `..data` is the ConfigMap volume's current version: the directory
                    // itself also holds the previous one while it is swapped.
                    "args": ["admission", "serve", "--addr", "0.0.0.0:8443",
                        "--tls-cert", "/tls/tls.crt", "--tls-key", "/tls/tls.key",
                        "--policy", "/policies/..data"],
                    "ports": [{"name": "https", "containerPort": 8443, "protocol": "TCP"}],
                    "readinessProbe": probe("/readyz", 5),
                    "livenessProbe": probe("/healthz", 10),
                    "resources": {"requests": {"cpu": "100m", "memory": "64Mi"},
                        "limits": {"memory": "256Mi"}},
                    "securityContext": {"allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true,
                        "runAsNonRoot": true, "capabilities": {"drop": ["ALL"]},
                        "seccompProfile": {"type": "RuntimeDefault"}},
                    "volumeMounts": [
                        {"name": "tls", "mountPath": "/tls", "readOnly": true},
                        {"name": "policies", "mountPath": "/policies", "readOnly": true}
                    ]
                }],
                "volumes": [
                    {"name": "tls", "secret": {"secretName": TLS_SECRET}},
                    {"name": "policies", "configMap": {"name": POLICY_CONFIGMAP}}
                ]
            }}
        }}),
        json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": meta(NAME),
            "spec": {"minAvailable": 1, "selector": {"matchLabels": selector}}}),
        json!({"apiVersion": "v1", "kind": "Service", "metadata": meta(NAME), "spec": {
            "selector": selector,
            "ports": [{"name": "https", "port": 443, "targetPort": "https", "protocol": "TCP"}]}}),
        json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
            "metadata": {"name": NAME, "labels": labels}, "webhooks": [webhook("validate", "/validate")]}),
        json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
            "metadata": {"name": NAME, "labels": labels}, "webhooks": [mutating]}),
    ])
}

/// The CA file must hold one or more certificates and nothing else that PEM-decodes wrong.
fn check_ca(pem: &[u8]) -> Result<(), ManifestError> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::CertificateDer;
    let mut n = 0;
    for c in CertificateDer::pem_slice_iter(pem) {
        c.map_err(|e| ManifestError::Ca(e.to_string()))?;
        n += 1;
    }
    if n == 0 {
        return Err(ManifestError::Ca("no PEM certificate".into()));
    }
    Ok(())
}

/// The objects as one multi-document YAML stream, with a header saying what to create first.
pub fn yaml(o: &Options) -> Result<String, ManifestError> {
    let objs = objects(o)?;
    let body = serde_saphyr::to_string_multiple(&objs).map_err(|e| ManifestError::Yaml(e.to_string()))?;
    let ns = o.namespace;
    Ok(format!(
        "# bulwark admission webhook. The webhooks fail closed: create its Secret and ConfigMap first,\n\
         #   kubectl create namespace {ns}\n\
         #   kubectl create secret tls {TLS_SECRET} -n {ns} --cert tls/tls.crt --key tls/tls.key\n\
         #   kubectl create configmap {POLICY_CONFIGMAP} -n {ns} --from-file=policies/\n\
         # then kubectl apply -f this file.\n\
         {body}"
    ))
}
