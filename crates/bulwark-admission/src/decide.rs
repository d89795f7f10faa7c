//! The decision on one review: every policy (the policy engine's dialects, the Pod Security
//! Standards by namespace labels, the image rules) evaluated on the request; enforce-mode
//! failures and evaluation errors deny, audit and warn results become warnings.

use crate::gate::{Gate, GateResult};
use crate::images::ImageRules;
use crate::k8s::Cluster;
use crate::review::{Review, Verdict};
use crate::verify::{checks, jsonpatch, ImageVerifier};
use bulwark_policy::dialect::UserInfo;
use bulwark_policy::pss::{PodSecurity, PodSecurityConfiguration};
use bulwark_policy::verify::ImageCheck;
use bulwark_policy::{Operation, Outcome, Policy, Request, ResourceId, RuleResult};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

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
    /// Verifies the images the policies want verified (shared: its cache and single-flight
    /// span reviews).
    pub verifier: Arc<ImageVerifier>,
    /// How long image verification may take for one review: below the webhook's
    /// `timeoutSeconds`, so that a slow registry gets a denial saying so, not a timeout.
    pub deadline: Duration,
    /// Images no ClusterImagePolicy governs, in namespaces that opted in.
    pub no_match: NoMatchPolicy,
    /// The vulnerability gate, when one is set (`--vuln-gate`).
    pub gate: Option<Arc<Gate>>,
    /// The cluster: namespace labels from its watch cache, over `namespaces`.
    pub cluster: Option<Cluster>,
}

/// The policy and rule names of the vulnerability gate's results.
pub const GATE_POLICY: &str = "vulnerability-gate";
pub const GATE_RULE: &str = "severity";

/// policy-controller's `no-match-policy`: what happens, in a namespace that opted in
/// (`policy.sigstore.dev/include: "true"`), to an image that no ClusterImagePolicy governs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum NoMatchPolicy {
    /// policy-controller's default: denied ("no matching policies").
    #[default]
    Deny,
    Warn,
    Allow,
}

impl NoMatchPolicy {
    pub fn parse(s: &str) -> Option<NoMatchPolicy> {
        match s {
            "deny" => Some(NoMatchPolicy::Deny),
            "warn" => Some(NoMatchPolicy::Warn),
            "allow" => Some(NoMatchPolicy::Allow),
            _ => None,
        }
    }
}

/// The policy name of no-match results.
pub const NO_MATCH_POLICY: &str = "policy-controller";

/// A review's results with images verified.
#[derive(Clone, Debug, Default)]
pub struct Verified {
    pub results: Vec<RuleResult>,
    /// (JSON pointer, pinned image) of each verified image to pin.
    pub pins: Vec<(String, String)>,
    /// The (policy, rule) pairs decided by image verification.
    pub image_rules: BTreeSet<(String, String)>,
}

/// `image` (as written) pinned to `digest`.
fn pin_of(image: &str, digest: &str) -> String {
    match image.split_once('@') {
        Some(_) => image.to_string(),
        None => format!("{image}@{digest}"),
    }
}

/// `registry/repository@digest`: a pinned reference without its tag, as the gate reads images.
fn by_digest(pinned: &str) -> String {
    match bulwark_oci::ImageRef::parse(pinned) {
        Ok(r) => match &r.digest {
            Some(d) => format!("{}@{d}", r.name()),
            None => pinned.to_string(),
        },
        Err(_) => pinned.to_string(),
    }
}

/// The default verification deadline (the manifests' `timeoutSeconds` is 10).
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(8);

impl Admission {
    pub fn new(
        policies: Vec<Box<dyn Policy>>,
        pss: PodSecurityConfiguration,
        namespaces: NamespaceLabels,
        images: ImageRules,
    ) -> Self {
        Admission {
            policies,
            pod_security: PodSecurity::new(pss),
            namespaces,
            images,
            verifier: Arc::new(ImageVerifier::default()),
            deadline: DEFAULT_DEADLINE,
            no_match: NoMatchPolicy::default(),
            gate: None,
            cluster: None,
        }
    }

    /// With a vulnerability gate: each image of a CREATE or UPDATE is checked (by digest).
    pub fn with_gate(mut self, gate: Arc<Gate>) -> Self {
        self.gate = Some(gate);
        self
    }

    /// With namespace labels from the cluster's watch cache.
    pub fn with_cluster(mut self, cluster: Cluster) -> Self {
        self.cluster = Some(cluster);
        self
    }

    /// With this `no-match-policy`.
    pub fn with_no_match(mut self, no_match: NoMatchPolicy) -> Self {
        self.no_match = no_match;
        self
    }

    /// With this verifier (registry options, trust root, cache) instead of the default one.
    pub fn with_verifier(mut self, verifier: Arc<ImageVerifier>) -> Self {
        self.verifier = verifier;
        self
    }

    /// With this verification deadline per review.
    pub fn with_deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// Runs `f` on the review's request (the policies' view of it); `None` without an object.
    fn with_request<R>(&self, review: &Review, object: Option<&Value>, f: impl FnOnce(&Request) -> R) -> Option<R> {
        let operation = Operation::parse(&review.operation).unwrap_or_default();
        // A DELETE has no object: the policies see the old one, as Kyverno's do.
        let object = object.unwrap_or(if review.object.is_null() { &review.old_object } else { &review.object });
        if object.is_null() {
            return None;
        }
        let labels = self.namespace_labels(review, object).unwrap_or_default();
        let labels = &labels;
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
        Some(f(&request))
    }

    fn namespace_labels(&self, review: &Review, object: &Value) -> Option<BTreeMap<String, String>> {
        let ns =
            object["metadata"]["namespace"].as_str().filter(|s| !s.is_empty()).unwrap_or(review.namespace.as_str());
        if let Some(c) = &self.cluster {
            if let Some(labels) = c.namespace_labels(ns) {
                return Some(labels);
            }
        }
        self.namespaces.get(ns).cloned()
    }

    /// The vulnerability gate's result for each distinct image of the review's pod template,
    /// by the digest it pins, its verified pin, or what its tag points at now.
    async fn gate_results(&self, review: &Review, pins: &[(String, String)]) -> Vec<RuleResult> {
        let Some(gate) = &self.gate else { return Vec::new() };
        if !matches!(review.operation.as_str(), "CREATE" | "UPDATE") || review.object.is_null() {
            return Vec::new();
        }
        let Some((_, spec)) = bulwark_policy::resource::pod_template(&review.object) else { return Vec::new() };
        let mut images: Vec<String> = Vec::new();
        for (_, c) in crate::images::containers(spec) {
            if let Some(i) = c["image"].as_str() {
                if !images.iter().any(|x| x == i) {
                    images.push(i.to_string());
                }
            }
        }
        let resource = ResourceId::of(&review.object);
        let secs = self.deadline.as_secs_f64();
        let resource = &resource;
        let checks = images.iter().map(|image| {
            let gate = gate.clone();
            async move {
                let pinned = match pins.iter().find(|(_, p)| p.split('@').next() == Some(image.as_str()) || p == image)
                {
                    Some((_, p)) => Ok(p.clone()),
                    None => self.verifier.resolve(image).await.map(|d| pin_of(image, &d)).map_err(|e| e.to_string()),
                };
                let r = match pinned {
                    Ok(p) => {
                        let p = by_digest(&p);
                        match tokio::time::timeout(self.deadline, tokio::task::spawn_blocking(move || gate.check(&p)))
                            .await
                        {
                            Ok(Ok(r)) => r,
                            Ok(Err(e)) => GateResult {
                                outcome: Outcome::Error,
                                message: format!("{image}: the gate failed: {e}"),
                            },
                            Err(_) => GateResult {
                                outcome: Outcome::Fail,
                                message: format!(
                                    "{image}: the vulnerability check did not finish within the deadline of {secs} s"
                                ),
                            },
                        }
                    }
                    Err(why) => gate.unknown_result(image, &format!("its digest could not be resolved: {why}")),
                };
                RuleResult {
                    file: "admission".into(),
                    resource: resource.clone(),
                    policy: GATE_POLICY.into(),
                    rule: GATE_RULE.into(),
                    result: r.outcome,
                    message: r.message,
                }
            }
        });
        futures_util::future::join_all(checks).await
    }

    /// policy-controller's `no-match-policy` for the images of an opted-in namespace that no
    /// ClusterImagePolicy governs (`checks` are those that apply), on CREATE and UPDATE.
    fn no_match_results(&self, request: &Request, checks: &[ImageCheck]) -> Vec<RuleResult> {
        let outcome = match self.no_match {
            NoMatchPolicy::Allow => return Vec::new(),
            NoMatchPolicy::Deny => Outcome::Fail,
            NoMatchPolicy::Warn => Outcome::Warn,
        };
        let included = request
            .namespace_labels
            .and_then(|m| m.get(bulwark_policy::glob::INCLUDE_LABEL))
            .is_some_and(|v| v == "true");
        let deleting = !request.object["metadata"]["deletionTimestamp"].is_null();
        if !included || deleting || !matches!(request.operation, Operation::Create | Operation::Update) {
            return Vec::new();
        }
        let resource = ResourceId::of(request.object);
        bulwark_policy::glob::image_pointers(request.object)
            .into_iter()
            .filter(|(_, pointer, _)| !checks.iter().any(|c| c.opt_in_label.is_some() && c.pointer == *pointer))
            .map(|(path, _, image)| RuleResult {
                file: "admission".into(),
                resource: resource.clone(),
                policy: NO_MATCH_POLICY.into(),
                rule: path,
                result: outcome,
                message: format!(
                    "image {image}: no matching policies (no ClusterImagePolicy governs it; no-match-policy)"
                ),
            })
            .collect()
    }

    /// The image checks of every policy for the request, without those of policies the
    /// namespace has not opted in to; and the policies left out that way.
    fn image_checks(&self, request: &Request) -> (Vec<ImageCheck>, BTreeSet<String>) {
        let mut out = Vec::new();
        let mut opted_out = BTreeSet::new();
        for p in &self.policies {
            for c in p.image_checks(request) {
                let included = c
                    .opt_in_label
                    .is_none_or(|l| request.namespace_labels.and_then(|m| m.get(l)).is_some_and(|v| v == "true"));
                if included {
                    out.push(c);
                } else {
                    opted_out.insert(c.policy.clone());
                }
            }
        }
        (out, opted_out)
    }

    /// Every rule's result with the images verified: the policies' image checks run (under
    /// the deadline) and their results replace the offline ones for the same policy and rule.
    /// Also the digest pins of the checks that passed.
    pub async fn verified_results(&self, review: &Review) -> Verified {
        let Some((mut results, (checks, opted_out), resource, no_match)) = self.with_request(review, None, |req| {
            let (checks, opted_out) = self.image_checks(req);
            let no_match = self.no_match_results(req, &checks);
            (self.results_of(req), (checks, opted_out), ResourceId::of(req.object), no_match)
        }) else {
            return Verified::default();
        };
        results.extend(no_match);
        let replaced: BTreeSet<(&str, &str)> = checks.iter().map(|c| (c.policy.as_str(), c.rule.as_str())).collect();
        results.retain(|r| {
            !replaced.contains(&(r.policy.as_str(), r.rule.as_str())) && !opted_out.contains(r.policy.as_str())
        });
        let secs = self.deadline.as_secs_f64();
        let checked = futures_util::future::join_all(checks.iter().map(|c| async move {
            match tokio::time::timeout(self.deadline, checks::run(&self.verifier, c)).await {
                Ok(done) => done,
                Err(_) => checks::Checked {
                    outcome: if c.enforce { Outcome::Fail } else { Outcome::Warn },
                    message: format!(
                        "container {:?} image {}: verification did not finish within the deadline of {secs} s (registry slow or unreachable)",
                        c.container, c.image
                    ),
                    pin: None,
                },
            }
        }))
        .await;
        let mut pins = Vec::new();
        for (c, done) in checks.iter().zip(checked) {
            if let Some(pin) = done.pin {
                if !pins.iter().any(|(p, _): &(String, String)| *p == pin.0) {
                    pins.push(pin);
                }
            }
            results.push(RuleResult {
                file: "admission".into(),
                resource: resource.clone(),
                policy: c.policy.clone(),
                rule: c.rule.clone(),
                result: done.outcome,
                message: done.message,
            });
        }
        results.extend(self.gate_results(review, &pins).await);
        let image_rules = checks.into_iter().map(|c| (c.policy, c.rule)).collect();
        Verified { results, pins, image_rules }
    }

    /// Every rule's result for the review (PSS enforce on a pod controller already turned
    /// into a warning: the API server enforces on Pods only).
    /// Image verification is not part of these (see [`Admission::verified_results`]).
    pub fn results(&self, review: &Review) -> Vec<RuleResult> {
        self.with_request(review, None, |req| self.results_of(req)).unwrap_or_default()
    }

    fn results_of(&self, request: &Request) -> Vec<RuleResult> {
        let request = request.clone();
        let object = request.object;
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
    /// evaluated, image verification included.
    pub async fn decide(&self, review: &Review) -> Verdict {
        verdict(&self.verified_results(review).await.results)
    }

    /// The /mutate verdict: the JSONPatch to apply, the difference between the object as
    /// sent and after the policies' mutate rules (Kyverno) and the digest pins of verified
    /// images. Denied when an enforced image check failed (as Kyverno's verifyImages denies
    /// in its mutating webhook: there is nothing verified to pin); other rules are
    /// /validate's. Mutation errors become warnings.
    pub async fn mutate(&self, review: &Review) -> Verdict {
        let operation = Operation::parse(&review.operation).unwrap_or_default();
        if review.object.is_null() || !matches!(operation, Operation::Create | Operation::Update) {
            return Verdict { allowed: true, ..Default::default() };
        }
        let mut current = review.object.clone();
        let mut mutation_results = Vec::new();
        for p in &self.policies {
            let snapshot = current.clone();
            let m = self.with_request(review, Some(&snapshot), |req| p.mutate(req));
            if let Some(m) = m {
                if let Some(patched) = m.patched {
                    current = patched;
                }
                mutation_results.extend(m.results);
            }
        }
        let Verified { results, pins, image_rules } = self.verified_results(review).await;
        // The verdict of the image checks only.
        let image_results: Vec<RuleResult> =
            results.into_iter().filter(|r| image_rules.contains(&(r.policy.clone(), r.rule.clone()))).collect();
        let mut v = verdict(&image_results);
        for r in &mutation_results {
            if r.result == Outcome::Error {
                v.warnings.push(truncate(format!("{}/{}: {}", r.policy, r.rule, r.message), MAX_WARNING));
            }
        }
        if !v.allowed {
            return v;
        }
        for (pointer, image) in pins {
            // Pinned where the mutated object still has the image that was verified.
            let original = review.object.pointer(&pointer).cloned();
            if let Some(slot) = jsonpatch::at_mut(&mut current, &pointer) {
                if Some(&*slot) == original.as_ref() {
                    *slot = Value::String(image);
                }
            }
        }
        v.patch = jsonpatch::diff(&review.object, &current);
        v
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
    // Warnings: kubectl prints each; a few dozen say all there is to say.
    if warnings.len() > MAX_WARNINGS {
        let more = warnings.len() - MAX_WARNINGS;
        warnings.truncate(MAX_WARNINGS);
        warnings.push(format!("... and {more} more warnings"));
    }
    let results = results
        .iter()
        .filter(|r| r.result != Outcome::Skip)
        .map(|r| (r.policy.clone(), r.rule.clone(), r.result))
        .collect();
    Verdict {
        allowed: denials.is_empty(),
        message: bounded_join(&denials, MAX_MESSAGE),
        warnings,
        patch: Vec::new(),
        results,
    }
}

/// The longest denial message (the API server stores it in events and audit logs).
const MAX_MESSAGE: usize = 16 * 1024;
const MAX_WARNINGS: usize = 50;

/// `parts` joined by `; `, cut at a part boundary near `max` bytes with how many were left out.
fn bounded_join(parts: &[String], max: usize) -> String {
    let mut out = String::new();
    for (i, p) in parts.iter().enumerate() {
        let sep = if i == 0 { "" } else { "; " };
        if out.len() + sep.len() + p.len() > max && i > 0 {
            out.push_str(&format!("; ... and {} more", parts.len() - i));
            return out;
        }
        out.push_str(sep);
        out.push_str(&truncate(p.clone(), max));
    }
    out
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
