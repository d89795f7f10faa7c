//! CEL policies: Kyverno's `policies.kyverno.io/v1alpha1` ValidatingPolicy and Kubernetes'
//! `admissionregistration.k8s.io` ValidatingAdmissionPolicy with its binding (the same language).

use crate::dialect::Policy;
use crate::error::PolicyError;
use crate::resource::Document;

/// The CEL policy documents (policies and bindings together: a binding names its policy).
pub fn compile(docs: &[&Document]) -> Result<Vec<Box<dyn Policy>>, Vec<PolicyError>> {
    Err(docs
        .iter()
        .map(|d| PolicyError::unsupported(format!("{} {} {}", d.api_version(), d.kind(), d.name()), None, "spec"))
        .collect())
}
