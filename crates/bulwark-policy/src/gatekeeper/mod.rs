//! Gatekeeper: `templates.gatekeeper.sh` ConstraintTemplates (Rego through regorus, CEL
//! `K8sNativeValidation`) and `constraints.gatekeeper.sh` constraints.

pub mod suite;

use crate::dialect::{Dialect, Policy};
use crate::error::PolicyError;
use crate::resource::Document;

pub struct Gatekeeper;

impl Dialect for Gatekeeper {
    fn name(&self) -> &'static str {
        "Gatekeeper"
    }
    fn claims(&self, doc: &Document) -> bool {
        let av = doc.api_version();
        (av.starts_with("templates.gatekeeper.sh/") && doc.kind() == "ConstraintTemplate")
            || av.starts_with("constraints.gatekeeper.sh/")
    }
    fn compile(&self, docs: &[&Document]) -> Result<Vec<Box<dyn Policy>>, Vec<PolicyError>> {
        Err(docs
            .iter()
            .map(|d| PolicyError::unsupported(format!("{} {} {}", d.api_version(), d.kind(), d.name()), None, "spec"))
            .collect())
    }
}
