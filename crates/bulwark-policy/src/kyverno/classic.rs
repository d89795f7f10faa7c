//! `kyverno.io/v1` ClusterPolicy and Policy: match/exclude, preconditions, validate
//! (pattern, anyPattern, deny, foreach, podSecurity, cel), auto-generated pod-controller rules.

use crate::dialect::Policy;
use crate::error::PolicyError;
use crate::resource::Document;

/// One ClusterPolicy or Policy document.
pub fn compile(doc: &Document) -> Result<Box<dyn Policy>, Vec<PolicyError>> {
    Err(vec![PolicyError::unsupported(format!("{} {} {}", doc.api_version(), doc.kind(), doc.name()), None, "spec")])
}
