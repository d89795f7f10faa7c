//! The one interface every policy dialect implements, and the one list of dialects.

use crate::error::PolicyError;
use crate::outcome::{Mutation, RuleResult};
use crate::resource::Document;
use serde_json::Value;
use std::collections::BTreeMap;

/// The admission operation a resource is evaluated for (`CREATE` offline, as `kyverno apply`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Operation {
    #[default]
    Create,
    Update,
    Delete,
    Connect,
}

impl Operation {
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Create => "CREATE",
            Operation::Update => "UPDATE",
            Operation::Delete => "DELETE",
            Operation::Connect => "CONNECT",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.to_ascii_uppercase().as_str() {
            "CREATE" => Operation::Create,
            "UPDATE" => Operation::Update,
            "DELETE" => Operation::Delete,
            "CONNECT" => Operation::Connect,
            _ => return None,
        })
    }
}

/// Who asks (AdmissionReview `userInfo`).
#[derive(Clone, Debug, Default)]
pub struct UserInfo {
    pub username: String,
    pub groups: Vec<String>,
}

/// What one evaluation sees: the object, and what the API server would tell about it.
#[derive(Clone, Debug, Default)]
pub struct Request<'a> {
    /// The file the object came from, for the results.
    pub file: &'a str,
    pub object: &'a Value,
    /// The object before an UPDATE.
    pub old_object: Option<&'a Value>,
    pub operation: Operation,
    /// The labels of the object's namespace, when known (`--namespace-labels`, test values).
    pub namespace_labels: Option<&'a BTreeMap<String, String>>,
    pub user: Option<&'a UserInfo>,
    /// Extra values a dialect's test files supply (Kyverno's `values.yaml` globals and
    /// per-resource values, gator's inventory), as JSON.
    pub context: Option<&'a Value>,
}

/// A compiled policy: evaluates requests, one result per rule that it has.
pub trait Policy: Send + Sync {
    /// Its name in results (`metadata.name`; `pod-security` for PSS).
    fn name(&self) -> &str;
    /// Every rule's result for this request (skipped rules included, as `skip`).
    fn evaluate(&self, request: &Request) -> Vec<RuleResult>;
    /// What the policy's mutating rules do to the request (Kyverno `mutate` and `generate`):
    /// their results, the patched object and the generated resources. Validation
    /// ([`Policy::evaluate`]) is then done on the patched object, as Kyverno does. Dialects
    /// without mutation keep this default: no results, no patch.
    fn mutate(&self, request: &Request) -> Mutation {
        let _ = request;
        Mutation::default()
    }
    /// The container images the policy wants verified with a registry (signatures,
    /// attestations, digests) for this request: the admission webhook verifies them and its
    /// results replace [`Policy::evaluate`]'s for the same policy and rule (which offline say
    /// that a registry is needed). Dialects without image verification keep this default.
    fn image_checks(&self, request: &Request) -> Vec<crate::verify::ImageCheck> {
        let _ = request;
        Vec::new()
    }
}

/// A policy language: which documents it reads, and how it compiles them.
pub trait Dialect: Send + Sync {
    /// For messages: "Kyverno", "Gatekeeper", ...
    fn name(&self) -> &'static str;
    /// Whether this dialect reads the document (by `apiVersion` and `kind`).
    fn claims(&self, doc: &Document) -> bool;
    /// Compiles every document it claims (together: a Gatekeeper constraint needs its
    /// template). A field not implemented is [`PolicyError::Unsupported`], never ignored.
    fn compile(&self, docs: &[&Document]) -> Result<Vec<Box<dyn Policy>>, Vec<PolicyError>>;
}

/// Every dialect, in one list: a new one is added here.
pub fn dialects() -> Vec<Box<dyn Dialect>> {
    vec![
        Box::new(crate::kyverno::Kyverno),
        Box::new(crate::gatekeeper::Gatekeeper),
        Box::new(crate::glob::ImagePolicies),
    ]
}

/// The API groups of the policy tools' documents. A policy directory also holds workloads,
/// test files and package metadata (Kyverno's `.kyverno-test/`, `artifacthub-pkg.yml`, gator
/// samples): documents outside these groups are not policies and are left out, as the
/// tools' own CLIs leave them out. A document of one of these groups that no dialect reads
/// (a Kyverno CleanupPolicy, a Gatekeeper mutator) is an error, never skipped.
pub const POLICY_GROUPS: &[&str] = &[
    "kyverno.io",
    "policies.kyverno.io",
    "templates.gatekeeper.sh",
    "constraints.gatekeeper.sh",
    "mutations.gatekeeper.sh",
    "expansion.gatekeeper.sh",
    "externaldata.gatekeeper.sh",
    "admissionregistration.k8s.io",
    "policy.sigstore.dev",
];

/// Whether a document belongs to a policy tool's API group (see [`POLICY_GROUPS`]).
pub fn is_policy_document(doc: &Document) -> bool {
    let group = doc.api_version().split_once('/').map(|(g, _)| g).unwrap_or_default();
    POLICY_GROUPS.contains(&group)
}

/// Compiles policy documents with the dialect that claims each; a document no dialect claims is
/// an error naming it (a policy file that silently does nothing is the worst outcome).
pub fn compile(docs: &[Document]) -> Result<Vec<Box<dyn Policy>>, Vec<PolicyError>> {
    let dialects = dialects();
    let mut errors = Vec::new();
    let mut claimed: Vec<Vec<&Document>> = vec![Vec::new(); dialects.len()];
    for doc in docs {
        match dialects.iter().position(|d| d.claims(doc)) {
            Some(i) => claimed[i].push(doc),
            None => errors.push(PolicyError::input(
                format!("{}: document {}", doc.file, doc.index),
                format!("{} {} {:?} is not a policy Bulwark reads", doc.api_version(), doc.kind(), doc.name()),
            )),
        }
    }
    let mut policies = Vec::new();
    for (d, docs) in dialects.iter().zip(claimed) {
        if docs.is_empty() {
            continue;
        }
        match d.compile(&docs) {
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
