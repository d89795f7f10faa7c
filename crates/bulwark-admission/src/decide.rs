//! The decision on one review: every policy (the policy engine's dialects, the Pod Security
//! Standards by namespace labels, the image rules) evaluated on the request; enforce-mode
//! failures and evaluation errors deny, audit and warn results become warnings.

use crate::images::ImageRules;
use crate::review::{Review, Verdict};
use bulwark_policy::dialect::UserInfo;
use bulwark_policy::pss::{PodSecurity, PodSecurityConfiguration};
use bulwark_policy::{Operation, Outcome, Policy, Request, RuleResult};
use serde_json::Value;
use std::collections::BTreeMap;

/// The API server's limit on one warning's length (longer ones are truncated by it).
const MAX_WARNING: usize = 256;

/// Namespace name -> labels.
pub type NamespaceLabels = BTreeMap<String, BTreeMap<String, String>>;

/// Everything a review is decided by.
pub struct Admission {
    pub policies: Vec<Box<dyn Policy>>,
    /// The Pod Security Standards: the configuration's defaults and exemptions, and each
    /// namespace's `pod-security.kubernetes.io/*` labels.
    pub pod_security: PodSecurity,
    pub namespaces: NamespaceLabels,
    pub images: ImageRules,
}

impl Admission {
    pub fn new(
        policies: Vec<Box<dyn Policy>>,
        pss: PodSecurityConfiguration,
        namespaces: NamespaceLabels,
        images: ImageRules,
    ) -> Self {
        Admission { policies, pod_security: PodSecurity::new(pss), namespaces, images }
    }

    /// Every rule's result for the review (PSS enforce on a pod controller already turned
    /// into a warning: the API server enforces on Pods only).
    pub fn results(&self, review: &Review) -> Vec<RuleResult> {
        let operation = Operation::parse(&review.operation).unwrap_or_default();
        // A DELETE has no object: the policies see the old one, as Kyverno's do.
        let object = if review.object.is_null() { &review.old_object } else { &review.object };
        if object.is_null() {
            return Vec::new();
        }
        let no_labels = BTreeMap::new();
        let ns =
            object["metadata"]["namespace"].as_str().filter(|s| !s.is_empty()).unwrap_or(review.namespace.as_str());
        let labels = self.namespaces.get(ns).unwrap_or(&no_labels);
        let user = UserInfo { username: review.username.clone(), groups: review.groups.clone() };
        let request = Request {
            file: "admission",
            object,
            old_object: (!review.old_object.is_null()).then_some(&review.old_object),
            operation,
            namespace_labels: Some(labels),
            user: Some(&user),
            context: None,
        };
        let mut results: Vec<RuleResult> = self.policies.iter().flat_map(|p| p.evaluate(&request)).collect();
        let is_pod = object["kind"] == "Pod";
        for mut r in self.pod_security.evaluate(&request) {
            if !is_pod && r.result == Outcome::Fail {
                r.result = Outcome::Warn;
            }
            results.push(r);
        }
        results.extend(self.images.evaluate(&request));
        results
    }

    /// The /validate verdict: denied when a rule failed in enforce mode or could not be
    /// evaluated. Async because image verification (registry reads) will be part of it.
    pub async fn decide(&self, review: &Review) -> Verdict {
        verdict(&self.results(review))
    }

    /// The /mutate verdict: the JSONPatch to apply (Kyverno mutate rules, digest pins). Not
    /// implemented yet: allowed with no patch (the decision itself is /validate's).
    pub async fn mutate(&self, _review: &Review) -> Verdict {
        Verdict { allowed: true, ..Default::default() }
    }
}

/// Results to a verdict. The denial names each failing policy and rule with its message;
/// warnings are `policy/rule: message`, each within the API server's length limit.
pub fn verdict(results: &[RuleResult]) -> Verdict {
    let mut denials = Vec::new();
    let mut warnings = Vec::new();
    for r in results {
        let line = if r.message.is_empty() {
            format!("{}/{}", r.policy, r.rule)
        } else {
            format!("{}/{}: {}", r.policy, r.rule, r.message)
        };
        match r.result {
            Outcome::Fail => denials.push(line),
            Outcome::Error => denials.push(format!("{line} (the rule could not be evaluated)")),
            Outcome::Warn => warnings.push(truncate(line, MAX_WARNING)),
            Outcome::Pass | Outcome::Skip => {}
        }
    }
    let results = results
        .iter()
        .filter(|r| r.result != Outcome::Skip)
        .map(|r| (r.policy.clone(), r.rule.clone(), r.result))
        .collect();
    Verdict { allowed: denials.is_empty(), message: denials.join("; "), warnings, patch: Vec::new(), results }
}

fn truncate(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut end = max - 3;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
        s.push_str("...");
    }
    s
}

/// Namespace labels from `Namespace` objects (YAML or JSON, multi-document).
pub fn namespace_labels(docs: &[Value]) -> NamespaceLabels {
    let mut out = NamespaceLabels::new();
    for d in docs.iter().filter(|d| d["kind"] == "Namespace") {
        let Some(name) = d["metadata"]["name"].as_str() else { continue };
        let labels = d["metadata"]["labels"]
            .as_object()
            .map(|m| m.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string()))).collect())
            .unwrap_or_default();
        out.insert(name.to_string(), labels);
    }
    out
}
