//! The `pod-security` policy: the Pod Security Standards as one [`Policy`] over any
//! pod-bearing resource, with the modes and exemptions of pod-security-admission.

use super::config::{Modes, PodSecurityConfiguration};
use super::{evaluate_pod, CheckResult, Level, LevelVersion};
use crate::dialect::{Operation, Policy, Request};
use crate::outcome::{Outcome, ResourceId, RuleResult};
use crate::resource::pod_template;
use serde_json::Value;

/// The policy's name in results.
pub const POLICY_NAME: &str = "pod-security";

/// The Pod Security Standards as a policy: `defaults` apply unless the request carries its
/// namespace's labels, which then decide as upstream's `PolicyToEvaluate` does.
#[derive(Clone, Debug, Default)]
pub struct PodSecurity {
    pub config: PodSecurityConfiguration,
}

impl PodSecurity {
    pub fn new(config: PodSecurityConfiguration) -> Self {
        PodSecurity { config }
    }

    /// Enforce `lv` (audit and warn privileged), no exemptions: `--pss LEVEL:VERSION`.
    pub fn enforcing(lv: LevelVersion) -> Self {
        PodSecurity { config: PodSecurityConfiguration { defaults: Modes::enforce(lv), ..Default::default() } }
    }

    /// Why the request is exempt, if it is (namespace, then user, then runtime class: the
    /// order upstream checks them in).
    fn exemption(&self, request: &Request, spec: &Value) -> Option<String> {
        let ex = &self.config.exemptions;
        let ns = request.object["metadata"]["namespace"].as_str().unwrap_or_default();
        if !ns.is_empty() && ex.namespaces.iter().any(|n| n == ns) {
            return Some(format!("namespace {ns:?} is exempt"));
        }
        if let Some(user) = request.user {
            if ex.usernames.contains(&user.username) {
                return Some(format!("user {:?} is exempt", user.username));
            }
        }
        let rc = spec["runtimeClassName"].as_str().unwrap_or_default();
        if !rc.is_empty() && ex.runtime_classes.iter().any(|r| r == rc) {
            return Some(format!("runtime class {rc:?} is exempt"));
        }
        None
    }
}

impl Policy for PodSecurity {
    fn name(&self) -> &str {
        POLICY_NAME
    }

    fn evaluate(&self, request: &Request) -> Vec<RuleResult> {
        // pod-security-admission checks creations and updates only.
        if matches!(request.operation, Operation::Delete | Operation::Connect) {
            return Vec::new();
        }
        let Some((metadata, spec)) = pod_template(request.object) else { return Vec::new() };
        // An update of a Pod that changes nothing the checks can see is allowed unevaluated
        // (upstream's `isSignificantPodUpdate`: labels, status and the like).
        if request.operation == Operation::Update && request.object["kind"] == "Pod" {
            if let Some(old) = request.old_object.filter(|o| o["kind"] == "Pod") {
                if !significant_pod_update(request.object, old) {
                    return Vec::new();
                }
            }
        }
        let (modes, label_errors) = match request.namespace_labels {
            Some(labels) => self.config.defaults.from_labels(labels),
            None => (self.config.defaults, Vec::new()),
        };
        let resource = ResourceId::of(request.object);
        let result = |rule: &str, outcome: Outcome, message: String| RuleResult {
            file: request.file.to_string(),
            resource: resource.clone(),
            policy: POLICY_NAME.to_string(),
            rule: rule.to_string(),
            result: outcome,
            message,
        };
        let mut out = Vec::new();
        if !label_errors.is_empty() {
            // Upstream evaluates anyway (bad enforce levels fail closed); the bad labels are
            // reported, never dropped.
            let text: Vec<String> = label_errors.iter().map(ToString::to_string).collect();
            out.push(result("namespace-labels", Outcome::Warn, text.join("; ")));
        }
        if modes.fully_privileged() {
            return out;
        }
        // Each distinct level:version once (upstream caches them the same way), read in place.
        let mut evaluated: Vec<(LevelVersion, Vec<CheckResult>)> = Vec::new();
        let modes_in_order =
            [(modes.enforce, Outcome::Fail), (modes.audit, Outcome::Warn), (modes.warn, Outcome::Warn)];
        // Per check id, in first-seen order: its outcome and message.
        let mut per_check: Vec<(&'static str, Outcome, String)> = Vec::new();
        let exempt = self.exemption(request, spec);
        for (lv, on_failure) in modes_in_order {
            if lv.level == Level::Privileged {
                continue;
            }
            let at = match evaluated.iter().position(|(l, _)| *l == lv) {
                Some(i) => i,
                None => {
                    evaluated.push((lv, evaluate_pod(lv, metadata, spec)));
                    evaluated.len() - 1
                }
            };
            for r in &evaluated[at].1 {
                let outcome = match (&exempt, r.allowed) {
                    (Some(_), _) => Outcome::Skip,
                    (None, true) => Outcome::Pass,
                    (None, false) => on_failure,
                };
                let message = match &exempt {
                    Some(why) => why.clone(),
                    None => r.message(),
                };
                match per_check.iter_mut().find(|(id, _, _)| *id == r.id) {
                    None => per_check.push((r.id, outcome, message)),
                    Some(entry) => {
                        // The first failing mode decides (enforce before audit and warn).
                        if entry.1 == Outcome::Pass && outcome != Outcome::Pass {
                            entry.1 = outcome;
                            entry.2 = message;
                        }
                    }
                }
            }
        }
        out.extend(per_check.into_iter().map(|(id, outcome, message)| result(id, outcome, message)));
        out
    }
}

/// `isSignificantPodUpdate`: the only pod fields an update may change are images, ephemeral
/// containers and seccomp annotations (the rest of a pod spec is immutable), so only those make
/// an update worth checking.
fn significant_pod_update(pod: &Value, old: &Value) -> bool {
    let list = |p: &'_ Value, k: &str| -> Vec<Value> { p["spec"][k].as_array().cloned().unwrap_or_default() };
    let annotation = |p: &Value, k: &str| p["metadata"]["annotations"][k].as_str().unwrap_or_default().to_string();
    let container_changed = |c: &Value, oc: &Value| {
        let key = format!("container.seccomp.security.alpha.kubernetes.io/{}", c["name"].as_str().unwrap_or_default());
        c["image"] != oc["image"] || annotation(pod, &key) != annotation(old, &key)
    };
    let (eph, old_eph) = (list(pod, "ephemeralContainers"), list(old, "ephemeralContainers"));
    if eph.len() != old_eph.len() {
        return true;
    }
    if annotation(pod, "seccomp.security.alpha.kubernetes.io/pod")
        != annotation(old, "seccomp.security.alpha.kubernetes.io/pod")
    {
        return true;
    }
    for k in ["containers", "initContainers"] {
        let (now, before) = (list(pod, k), list(old, k));
        if now.len() != before.len() || now.iter().zip(&before).any(|(c, oc)| container_changed(c, oc)) {
            return true;
        }
    }
    eph.iter().any(|c| match old_eph.iter().find(|oc| oc["name"] == c["name"]) {
        None => true,
        Some(oc) => container_changed(c, oc),
    })
}
