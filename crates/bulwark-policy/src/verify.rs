//! Image verification a policy asks for, in one form for every dialect that asks
//! (policy-controller's ClusterImagePolicy authorities, Kyverno's `verifyImages`): the engine
//! parses, validates and matches the policies; verifying needs a registry, so it is the
//! admission webhook's work (`bulwark-admission`'s `verify` module runs these checks).
//! Offline, such rules give an `error` result saying a registry is needed, never a pass.

use serde_json::Value;
use std::sync::Arc;

/// One container image that one policy rule wants verified.
#[derive(Clone, Debug)]
pub struct ImageCheck {
    pub policy: String,
    /// The rule: Kyverno's rule name; for a ClusterImagePolicy, the image's field path
    /// (`spec.containers[0].image`), as its results name it.
    pub rule: String,
    /// JSON pointer to the image field in the object (`/spec/containers/0/image`): where a
    /// digest pin is written.
    pub pointer: String,
    pub container: String,
    pub image: String,
    /// Enforce (a failure denies) or warn/audit (a warning).
    pub enforce: bool,
    /// A namespace label that must be `"true"` for the check to apply (policy-controller's
    /// opt-in, `policy.sigstore.dev/include`); the policy's results are dropped elsewhere.
    pub opt_in_label: Option<&'static str>,
    pub spec: Arc<Verification>,
}

/// What must hold for an image.
#[derive(Clone, Debug, Default)]
pub struct Verification {
    /// For messages: "ClusterImagePolicy require-signature", "ClusterPolicy x rule y".
    pub label: String,
    /// Every set must pass.
    pub attestors: Vec<AttestorSet>,
    /// Every attestation must be present and hold (Kyverno's rule-level `attestations`).
    pub attestations: Vec<Attestation>,
    /// Write the verified digest into the image (`ref:tag@sha256:…`).
    pub mutate_digest: bool,
    /// The image must name a digest (after mutation).
    pub verify_digest: bool,
    /// Kyverno `required`: signatures must be found (false: only verified when present).
    pub required: bool,
    /// A field the webhook cannot honour (a CIP-level `spec.policy`, ...): the check is an
    /// error naming it, never a pass.
    pub unsupported: Option<String>,
}

/// Authorities of which `count` must pass (`None`: all of them).
#[derive(Clone, Debug, Default)]
pub struct AttestorSet {
    pub count: Option<usize>,
    pub entries: Vec<Authority>,
}

#[derive(Clone, Debug)]
pub struct Authority {
    pub name: String,
    pub kind: AuthorityKind,
    /// policy-controller: an authority with attestations checks those instead of signatures.
    pub attestations: Vec<Attestation>,
    /// A field of the authority not supported at admission (`source`, `ctlog`, ...).
    pub unsupported: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum AuthorityKind {
    /// A public key, PEM (one or more `PUBLIC KEY` blocks: any one verifies).
    Key { pem: String },
    /// A key in a Kubernetes Secret: needs the Kubernetes API.
    SecretKey { namespace: String, name: String },
    /// A KMS key reference: not supported offline.
    Kms(String),
    /// Fulcio certificates with these identities (any one), checked against a trust root.
    Keyless { identities: Vec<Identity>, url: String, roots: Option<String> },
    /// policy-controller's `static`.
    Static { pass: bool, message: String },
}

/// Issuer and subject, each exact or a regular expression (empty: any).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Identity {
    pub issuer: String,
    pub issuer_regexp: String,
    pub subject: String,
    pub subject_regexp: String,
}

#[derive(Clone, Debug)]
pub struct Attestation {
    pub name: String,
    pub predicate_type: String,
    /// Kyverno: who must have signed it (empty: the rule's attestors; policy-controller:
    /// the authority it belongs to).
    pub attestors: Vec<AttestorSet>,
    pub check: AttestationCheck,
}

#[derive(Clone, Debug)]
pub enum AttestationCheck {
    /// Present and verified is enough.
    Present,
    /// policy-controller: a Rego module whose `isCompliant` must be true over the statement.
    Rego(String),
    /// Not supported (CUE, a policy from a ConfigMap or URL): why.
    Unsupported(String),
    /// Kyverno: `conditions` (any/all blocks) over the statement's predicate.
    Conditions(Value),
}
