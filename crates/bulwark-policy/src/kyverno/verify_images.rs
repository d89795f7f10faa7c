//! Kyverno `verifyImages` rules (kyverno.io/v1): checked and parsed here into the
//! [`Verification`] form the admission webhook executes (cosign keys and keyless attestors,
//! `count`, attestations with `conditions`, `mutateDigest`, `verifyDigest`, `required`).
//! Offline (`bulwark policy apply`) a matching rule is an `error` result saying that a
//! registry is needed: its signatures are never assumed.

use crate::error::PolicyError;
use crate::verify::{Attestation, AttestationCheck, AttestorSet, Authority, AuthorityKind, Identity, Verification};
use serde_json::Value;
use std::sync::Arc;

const ENTRY_FIELDS: &[&str] = &[
    "type",
    "imageReferences",
    "skipImageReferences",
    "attestors",
    "attestations",
    "mutateDigest",
    "verifyDigest",
    "required",
    "useCache",
    "failureAction",
];
const ATTESTOR_SET_FIELDS: &[&str] = &["count", "entries"];
const ATTESTOR_FIELDS: &[&str] = &["keys", "keyless"];
const KEYS_FIELDS: &[&str] = &["publicKeys", "signatureAlgorithm", "rekor", "ctlog"];
const KEYLESS_FIELDS: &[&str] = &["subject", "issuer", "subjectRegExp", "issuerRegExp", "roots", "rekor", "ctlog"];
const ATTESTATION_FIELDS: &[&str] = &["name", "type", "predicateType", "attestors", "conditions"];

/// One `verifyImages[]` entry, parsed.
#[derive(Clone, Debug)]
pub struct VerifyImages {
    pub image_references: Vec<String>,
    pub skip_image_references: Vec<String>,
    /// `failureAction` of the entry, when given (`Enforce`: true).
    pub enforce: Option<bool>,
    pub spec: Arc<Verification>,
}

impl VerifyImages {
    /// Whether the entry governs `image` (Kyverno matches its `ImageInfo.String()`, as
    /// `image_info`'s `reference`, against the wildcards).
    pub fn governs(&self, image: &str) -> bool {
        let info = super::classic::image_info(image);
        let reference = info["reference"].as_str().unwrap_or(image);
        let m = |list: &[String]| {
            list.iter()
                .any(|p| super::pattern::wildcard_match(p, reference) || super::pattern::wildcard_match(p, image))
        };
        m(&self.image_references) && !m(&self.skip_image_references)
    }
}

/// Checks and parses a rule's `verifyImages`; every field not implemented is named.
pub fn parse(policy: &str, rule: &str, list: &Value, errors: &mut Vec<PolicyError>) -> Vec<VerifyImages> {
    let mut out = Vec::new();
    let Some(items) = list.as_array() else {
        errors.push(PolicyError::invalid(policy, format!("rule {rule}: verifyImages is not a list")));
        return out;
    };
    let unsupported =
        |errors: &mut Vec<PolicyError>, f: String| errors.push(PolicyError::unsupported(policy, Some(rule), f));
    for (i, e) in items.iter().enumerate() {
        let at = format!("verifyImages[{i}]");
        let Some(obj) = e.as_object() else {
            errors.push(PolicyError::invalid(policy, format!("rule {rule}: {at} is not a mapping")));
            continue;
        };
        for k in obj.keys() {
            if !ENTRY_FIELDS.contains(&k.as_str()) {
                unsupported(errors, format!("{at}.{k}"));
            }
        }
        if let Some(t) = e["type"].as_str().filter(|t| *t != "Cosign") {
            unsupported(errors, format!("{at}.type {t}"));
        }
        let strings = |v: &Value| -> Vec<String> {
            v.as_array().into_iter().flatten().filter_map(Value::as_str).map(str::to_string).collect()
        };
        let image_references = strings(&e["imageReferences"]);
        if image_references.is_empty() {
            errors.push(PolicyError::invalid(policy, format!("rule {rule}: {at}.imageReferences is required")));
        }
        let attestors = attestor_sets(policy, rule, &e["attestors"], &format!("{at}.attestors"), errors);
        let mut attestations = Vec::new();
        for (j, a) in e["attestations"].as_array().into_iter().flatten().enumerate() {
            let at = format!("{at}.attestations[{j}]");
            for k in a.as_object().into_iter().flatten().map(|(k, _)| k) {
                if !ATTESTATION_FIELDS.contains(&k.as_str()) {
                    unsupported(errors, format!("{at}.{k}"));
                }
            }
            let predicate_type =
                a["predicateType"].as_str().or_else(|| a["type"].as_str()).unwrap_or_default().to_string();
            if predicate_type.is_empty() {
                errors.push(PolicyError::invalid(policy, format!("rule {rule}: {at}.predicateType is required")));
            }
            let check = match a.get("conditions") {
                Some(c) => AttestationCheck::Conditions(c.clone()),
                None => AttestationCheck::Present,
            };
            attestations.push(Attestation {
                name: a["name"].as_str().unwrap_or_default().to_string(),
                predicate_type,
                attestors: attestor_sets(policy, rule, &a["attestors"], &format!("{at}.attestors"), errors),
                check,
            });
        }
        if attestors.is_empty() && attestations.iter().all(|a| a.attestors.is_empty()) && !attestations.is_empty() {
            errors.push(PolicyError::invalid(policy, format!("rule {rule}: {at}: attestations need attestors")));
        }
        if attestors.is_empty() && attestations.is_empty() {
            errors.push(PolicyError::invalid(policy, format!("rule {rule}: {at}: no attestors or attestations")));
        }
        let flag = |k: &str, default: bool| e[k].as_bool().unwrap_or(default);
        let enforce = match e["failureAction"].as_str() {
            None => None,
            Some("Enforce" | "enforce") => Some(true),
            Some("Audit" | "audit") => Some(false),
            Some(a) => {
                errors.push(PolicyError::invalid(policy, format!("rule {rule}: {at}.failureAction {a:?}")));
                None
            }
        };
        out.push(VerifyImages {
            image_references,
            skip_image_references: strings(&e["skipImageReferences"]),
            enforce,
            spec: Arc::new(Verification {
                label: format!("{policy} rule {rule}"),
                attestors,
                attestations,
                mutate_digest: flag("mutateDigest", true),
                verify_digest: flag("verifyDigest", true),
                required: flag("required", true),
                unsupported: None,
            }),
        });
    }
    out
}

fn attestor_sets(policy: &str, rule: &str, v: &Value, at: &str, errors: &mut Vec<PolicyError>) -> Vec<AttestorSet> {
    let unsupported =
        |errors: &mut Vec<PolicyError>, f: String| errors.push(PolicyError::unsupported(policy, Some(rule), f));
    let mut out = Vec::new();
    for (i, set) in v.as_array().into_iter().flatten().enumerate() {
        let at = format!("{at}[{i}]");
        for k in set.as_object().into_iter().flatten().map(|(k, _)| k) {
            if !ATTESTOR_SET_FIELDS.contains(&k.as_str()) {
                unsupported(errors, format!("{at}.{k}"));
            }
        }
        let mut entries = Vec::new();
        for (j, e) in set["entries"].as_array().into_iter().flatten().enumerate() {
            let at = format!("{at}.entries[{j}]");
            for k in e.as_object().into_iter().flatten().map(|(k, _)| k) {
                if !ATTESTOR_FIELDS.contains(&k.as_str()) {
                    // certificates, attestor (nested), annotations, repository
                    unsupported(errors, format!("{at}.{k}"));
                }
            }
            let name = at.clone();
            if let Some(keys) = e.get("keys") {
                check_fields(keys, KEYS_FIELDS, &format!("{at}.keys"), &mut |f| unsupported(errors, f));
                check_tlog(keys, &format!("{at}.keys"), &mut |f| unsupported(errors, f));
                let pem = keys["publicKeys"].as_str().unwrap_or_default();
                if !pem.contains("-----BEGIN") {
                    // A `k8s://` secret or KMS reference: not a PEM.
                    unsupported(errors, format!("{at}.keys.publicKeys (only PEM keys; not a Secret or KMS reference)"));
                }
                entries.push(Authority {
                    name,
                    kind: AuthorityKind::Key { pem: pem.to_string() },
                    attestations: Vec::new(),
                    unsupported: None,
                });
            } else if let Some(k) = e.get("keyless") {
                check_fields(k, KEYLESS_FIELDS, &format!("{at}.keyless"), &mut |f| unsupported(errors, f));
                check_tlog(k, &format!("{at}.keyless"), &mut |f| unsupported(errors, f));
                let s = |f: &str| k[f].as_str().unwrap_or_default().to_string();
                for f in ["subjectRegExp", "issuerRegExp"] {
                    let re = s(f);
                    if !re.is_empty() && regex::RegexBuilder::new(&re).size_limit(1 << 20).build().is_err() {
                        errors.push(PolicyError::invalid(
                            policy,
                            format!("rule {rule}: {at}.keyless.{f}: invalid regex"),
                        ));
                    }
                }
                entries.push(Authority {
                    name,
                    kind: AuthorityKind::Keyless {
                        identities: vec![Identity {
                            issuer: s("issuer"),
                            issuer_regexp: s("issuerRegExp"),
                            subject: s("subject"),
                            subject_regexp: s("subjectRegExp"),
                        }],
                        url: String::new(),
                        roots: k["roots"].as_str().map(str::to_string),
                    },
                    attestations: Vec::new(),
                    unsupported: None,
                });
            } else {
                errors.push(PolicyError::invalid(policy, format!("rule {rule}: {at}: needs keys or keyless")));
            }
        }
        let count = set["count"].as_u64().map(|c| usize::try_from(c).unwrap_or(usize::MAX));
        out.push(AttestorSet { count, entries });
    }
    out
}

fn check_fields(v: &Value, allowed: &[&str], at: &str, unsupported: &mut dyn FnMut(String)) {
    for k in v.as_object().into_iter().flatten().map(|(k, _)| k) {
        if !allowed.contains(&k.as_str()) {
            unsupported(format!("{at}.{k}"));
        }
    }
}

/// Transparency logs are not consulted online: only `rekor.ignoreTlog: true` and
/// `ctlog.ignoreSCT: true` (what is done) are accepted; a Rekor URL or key is not.
fn check_tlog(v: &Value, at: &str, unsupported: &mut dyn FnMut(String)) {
    for (k, ok) in [("rekor", "ignoreTlog"), ("ctlog", "ignoreSCT")] {
        if let Some(o) = v.get(k).and_then(Value::as_object) {
            for (f, val) in o {
                if f != ok || val != &Value::Bool(true) {
                    unsupported(format!("{at}.{k}.{f}"));
                }
            }
        }
    }
}

/// Every container image of a pod-bearing object: (JSON pointer, container name, image).
pub fn image_fields(object: &Value) -> Vec<(String, String, String)> {
    let prefix = match object["kind"].as_str().unwrap_or_default() {
        "Pod" => "/spec",
        "Deployment" | "ReplicaSet" | "StatefulSet" | "DaemonSet" | "Job" | "ReplicationController" => {
            "/spec/template/spec"
        }
        "CronJob" => "/spec/jobTemplate/spec/template/spec",
        "PodTemplate" => "/template/spec",
        _ => return Vec::new(),
    };
    let Some(spec) = object.pointer(prefix) else { return Vec::new() };
    let mut out = Vec::new();
    for field in ["initContainers", "containers", "ephemeralContainers"] {
        for (i, c) in spec[field].as_array().into_iter().flatten().enumerate() {
            if let Some(image) = c["image"].as_str() {
                out.push((
                    format!("{prefix}/{field}/{i}/image"),
                    c["name"].as_str().unwrap_or_default().to_string(),
                    image.to_string(),
                ));
            }
        }
    }
    out
}
