//! Kyverno: `kyverno.io/v1` ClusterPolicy and Policy, `policies.kyverno.io/v1alpha1`
//! ValidatingPolicy, and Kubernetes ValidatingAdmissionPolicy with its binding.

pub mod autogen;
pub mod classic;
pub mod conditions;
pub mod matching;
pub mod mutate;
pub mod patch;
pub mod pattern;
pub mod test;
pub mod variables;
pub mod verify_images;
pub mod vpol;

use crate::dialect::{Dialect, Policy};
use crate::error::PolicyError;
use crate::resource::Document;

pub struct Kyverno;

impl Dialect for Kyverno {
    fn name(&self) -> &'static str {
        "Kyverno"
    }
    fn claims(&self, doc: &Document) -> bool {
        let av = doc.api_version();
        (av.starts_with("kyverno.io/") && matches!(doc.kind(), "ClusterPolicy" | "Policy"))
            || av.starts_with("policies.kyverno.io/")
            || (av.starts_with("admissionregistration.k8s.io/")
                && matches!(doc.kind(), "ValidatingAdmissionPolicy" | "ValidatingAdmissionPolicyBinding"))
    }
    fn compile(&self, docs: &[&Document]) -> Result<Vec<Box<dyn Policy>>, Vec<PolicyError>> {
        let (classic, cel): (Vec<&Document>, Vec<&Document>) =
            docs.iter().partition(|d| d.api_version().starts_with("kyverno.io/"));
        let mut policies = Vec::new();
        let mut errors = Vec::new();
        for doc in classic {
            match classic::compile(doc) {
                Ok(p) => policies.push(p),
                Err(e) => errors.extend(e),
            }
        }
        if !cel.is_empty() {
            match vpol::compile(&cel) {
                Ok(p) => policies.extend(p),
                Err(e) => errors.extend(e),
            }
        }
        if errors.is_empty() {
            Ok(policies)
        } else {
            Err(errors)
        }
    }
}
