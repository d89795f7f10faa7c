//! What an evaluation says: one record per (resource, policy, rule). The JSON field names are
//! an interface (`bulwark policy apply --format json`): scripts depend on them, keep them.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A rule's result, with Kyverno's and PolicyReport's words.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// The rule applied and held.
    Pass,
    /// The rule applied and was violated, in enforce mode (deny, Enforce).
    Fail,
    /// Violated, in audit/warn mode (Audit, warn, dryrun): reported, not blocking.
    Warn,
    /// The rule did not apply (match, exclude, preconditions).
    Skip,
    /// The rule could not be evaluated (a bad expression, a limit): never a pass.
    Error,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Fail => "fail",
            Outcome::Warn => "warn",
            Outcome::Skip => "skip",
            Outcome::Error => "error",
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ResourceId {
    #[serde(default, rename = "apiVersion", skip_serializing_if = "String::is_empty")]
    pub api_version: String,
    pub kind: String,
    #[serde(default)]
    pub namespace: String,
    pub name: String,
}

impl ResourceId {
    /// The identity of a Kubernetes object (`generateName` when it has no name yet).
    pub fn of(object: &Value) -> Self {
        let s = |v: &Value| v.as_str().unwrap_or_default().to_string();
        let meta = &object["metadata"];
        let name = meta["name"].as_str().or_else(|| meta["generateName"].as_str()).unwrap_or_default().to_string();
        ResourceId {
            api_version: s(&object["apiVersion"]),
            kind: s(&object["kind"]),
            namespace: s(&meta["namespace"]),
            name,
        }
    }
}

impl std::fmt::Display for ResourceId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.namespace.is_empty() {
            write!(f, "{}/{}", self.kind, self.name)
        } else {
            write!(f, "{}/{}/{}", self.kind, self.namespace, self.name)
        }
    }
}

/// One (resource, policy, rule) result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleResult {
    /// The file the resource came from (`-` for standard input).
    pub file: String,
    pub resource: ResourceId,
    /// The policy's name; `pod-security` for the Pod Security Standards.
    pub policy: String,
    /// The rule's name; for PSS the upstream check id (e.g. `allowPrivilegeEscalation`).
    pub rule: String,
    pub result: Outcome,
    #[serde(default)]
    pub message: String,
}

/// What a policy's mutating rules do to one request (Kyverno `mutate` and `generate`), as
/// [`crate::dialect::Policy::mutate`] returns it. The admission webhook turns `patched` into
/// its JSONPatch response; `bulwark policy apply --output-mutated` prints it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Mutation {
    /// One result per mutate or generate rule: `pass` (applied), `skip` (not matched, or
    /// nothing to change) or `error`; never `fail` (a mutation does not block).
    pub results: Vec<RuleResult>,
    /// The object after every mutate rule, in order; `None` when none changed it.
    pub patched: Option<Value>,
    /// The resources that generate rules create (apiVersion, kind, metadata.name and
    /// namespace set), for the request's object.
    pub generated: Vec<Value>,
}

/// One assertion of a policy test file (Kyverno `kyverno-test.yaml`, gator `suite.yaml`), as
/// `bulwark policy test --format json` prints it. Field names are an interface: keep them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestRecord {
    /// The test file.
    pub test: String,
    pub policy: String,
    pub rule: String,
    /// The resource (`Kind/namespace/name`) or the gator case name.
    pub resource: String,
    pub expected: String,
    pub got: String,
    pub ok: bool,
    /// Why, when `got` is an error or the case could not run (empty otherwise).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
}
