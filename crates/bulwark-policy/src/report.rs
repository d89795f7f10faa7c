//! Output formats for policy results: PolicyReport (wgpolicyk8s.io/v1alpha2, as Kyverno writes
//! it) and SARIF for code scanning. Table and JSON are the CLI's.

use crate::error::PolicyError;
use crate::outcome::RuleResult;
use serde_json::Value;

/// The results as a PolicyReport (namespaced resources) and ClusterPolicyReport (the others).
pub fn policy_report(_results: &[RuleResult]) -> Result<Value, PolicyError> {
    Err(PolicyError::unsupported("bulwark", None, "--format policy-report"))
}

/// The results as SARIF 2.1.0, one rule per (policy, rule), one result per failure or warning.
pub fn sarif(_results: &[RuleResult]) -> Result<Value, PolicyError> {
    Err(PolicyError::unsupported("bulwark", None, "--format sarif"))
}
