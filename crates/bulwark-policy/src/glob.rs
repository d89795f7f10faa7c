//! Sigstore policy-controller: ClusterImagePolicy documents and their image globs
//! (`images[].glob`), matched exactly as policy-controller's code matches them.

use crate::dialect::{Dialect, Policy};
use crate::error::PolicyError;
use crate::resource::Document;

pub struct ImagePolicies;

impl Dialect for ImagePolicies {
    fn name(&self) -> &'static str {
        "policy-controller"
    }
    fn claims(&self, doc: &Document) -> bool {
        doc.api_version().starts_with("policy.sigstore.dev/") && doc.kind() == "ClusterImagePolicy"
    }
    fn compile(&self, docs: &[&Document]) -> Result<Vec<Box<dyn Policy>>, Vec<PolicyError>> {
        Err(docs
            .iter()
            .map(|d| PolicyError::unsupported(format!("{} {} {}", d.api_version(), d.kind(), d.name()), None, "spec"))
            .collect())
    }
}
