//! Sigstore policy-controller: ClusterImagePolicy documents and their image globs
//! (`images[].glob`), matched exactly as policy-controller's code matches them.
//!
//! Offline, a compiled policy can say which images it governs and apply `static` authorities;
//! verifying signatures and attestations of `key`/`keyless` authorities is the admission
//! webhook's work, so such an image gets an `error` result, never a pass. The webhook gets
//! the parsed authorities through [`Policy::image_checks`] (see [`crate::verify`]).

mod pattern;
mod pem;
mod validate;

pub use pattern::{matches, parse_reference, Glob, GlobError, Identifier, Reference, MAX_GLOB_BYTES};

use crate::dialect::{Dialect, Operation, Policy, Request};
use crate::error::PolicyError;
use crate::outcome::{Outcome, ResourceId, RuleResult};
use crate::resource::Document;
use serde_json::Value;
use std::collections::BTreeMap;

pub struct ImagePolicies;

impl Dialect for ImagePolicies {
    fn name(&self) -> &'static str {
        "policy-controller"
    }
    fn claims(&self, doc: &Document) -> bool {
        doc.api_version().starts_with("policy.sigstore.dev/") && doc.kind() == "ClusterImagePolicy"
    }
    fn compile(&self, docs: &[&Document]) -> Result<Vec<Box<dyn Policy>>, Vec<PolicyError>> {
        compile_policies(docs).map(|ps| ps.into_iter().map(|p| Box::new(p) as Box<dyn Policy>).collect())
    }
}

/// The namespace label policy-controller's webhooks select namespaces by (`true`: governed).
pub const INCLUDE_LABEL: &str = "policy.sigstore.dev/include";

/// The API versions policy-controller serves.
const VERSIONS: &[&str] = &["policy.sigstore.dev/v1alpha1", "policy.sigstore.dev/v1beta1"];

/// Compiles ClusterImagePolicy documents (the webhook keeps these to pick policies per image
/// with [`select`]). Every refusal names the document and says what `kubectl create` would.
pub fn compile_policies(docs: &[&Document]) -> Result<Vec<ClusterImagePolicy>, Vec<PolicyError>> {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for doc in docs {
        match ClusterImagePolicy::compile(doc) {
            Ok(p) => out.push(p),
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// The policies that govern a container image of an object of `kind` with `labels`, as the
/// webhook's `GetMatchingPolicies` picks them: `spec.match` first (by kind and labels), then
/// the globs against the image's normalised name (`ref.Name()`: `index.docker.io/library/x:latest`;
/// so upstream's raw-string fallback of [`matches`] never applies here). An image that is not
/// a valid reference, or a selector that is not valid, is an error, as upstream.
pub fn select<'a>(
    policies: &'a [ClusterImagePolicy],
    image: &str,
    kind: &str,
    labels: &Value,
) -> Result<Vec<&'a ClusterImagePolicy>, GlobError> {
    let name = parse_reference(image)?.name();
    let mut out = Vec::new();
    for p in policies {
        let selected = p.selects(kind, labels).map_err(|reason| GlobError::BadReference {
            image: image.to_string(),
            reason: format!("ClusterImagePolicy {}: {reason}", p.name),
        })?;
        if selected && p.matches_image(&name)?.is_some() {
            out.push(p);
        }
    }
    Ok(out)
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mode {
    Enforce,
    Warn,
}

/// What an authority needs.
#[derive(Clone, Debug)]
pub enum Authority {
    /// `static: {action: pass|fail}`: decided without signatures.
    Static { name: String, pass: bool, message: String },
    /// `key` or `keyless` (with or without attestations): needs signature verification,
    /// which the admission webhook does with this parsed form.
    Verify { name: String, authority: crate::verify::Authority },
}

/// A `spec.match[]` entry: which resources the policy applies to.
#[derive(Clone, Debug)]
struct MatchResource {
    group: String,
    version: String,
    resource: String,
    selector: Option<Value>,
}

/// A validated ClusterImagePolicy.
#[derive(Clone, Debug)]
pub struct ClusterImagePolicy {
    pub name: String,
    /// "policy.sigstore.dev/v1beta1 ClusterImagePolicy name", for messages.
    pub label: String,
    pub globs: Vec<Glob>,
    pub authorities: Vec<Authority>,
    pub mode: Mode,
    /// `spec.policy` (CUE or Rego over the verified results): needs the webhook.
    pub has_policy: bool,
    matches: Vec<MatchResource>,
}

impl ClusterImagePolicy {
    pub fn compile(doc: &Document) -> Result<ClusterImagePolicy, PolicyError> {
        let label = format!("{}: {} {} {}", doc.file, doc.api_version(), doc.kind(), doc.name());
        if !VERSIONS.contains(&doc.api_version()) {
            return Err(PolicyError::unsupported(label, None, "apiVersion"));
        }
        let clean = validate::validate(&doc.value).map_err(|problem| PolicyError::invalid(&label, problem))?;
        let spec = &clean["spec"];
        let str_of = |v: &Value, k: &str| v[k].as_str().unwrap_or_default().to_string();
        let mut globs = Vec::new();
        for image in spec["images"].as_array().into_iter().flatten() {
            // Validation compiled every glob already; an error here is still reported.
            globs.push(
                Glob::compile(image["glob"].as_str().unwrap_or_default())
                    .map_err(|e| PolicyError::invalid(&label, format!("spec.images: {e}")))?,
            );
        }
        let authorities = spec["authorities"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
            .map(|(i, a)| {
                // The defaulting webhook names unnamed authorities by index.
                let name = a["name"].as_str().filter(|n| !n.is_empty()).map(str::to_string);
                let name = name.unwrap_or_else(|| format!("authority-{i}"));
                match a.get("static") {
                    Some(st) => Authority::Static {
                        name,
                        pass: st["action"].as_str() == Some("pass"),
                        message: str_of(st, "message"),
                    },
                    None => Authority::Verify { authority: parse_authority(&name, a), name },
                }
            })
            .collect();
        let matches = spec["match"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|m| MatchResource {
                group: str_of(m, "group"),
                version: str_of(m, "version"),
                resource: str_of(m, "resource"),
                selector: m.get("selector").cloned(),
            })
            .collect();
        Ok(ClusterImagePolicy {
            name: doc.name().to_string(),
            label,
            globs,
            authorities,
            mode: if spec["mode"].as_str() == Some("warn") { Mode::Warn } else { Mode::Enforce },
            has_policy: spec.get("policy").is_some(),
            matches,
        })
    }

    /// The first glob that matches the image, if any.
    pub fn matches_image(&self, image: &str) -> Result<Option<&Glob>, GlobError> {
        for g in &self.globs {
            if g.matches(image)? {
                return Ok(Some(g));
            }
        }
        Ok(None)
    }

    /// Whether `spec.match` selects an object of `kind` with `labels` (no entries: every one).
    /// As upstream: the kind is looked up in its own table (the object's apiVersion is not
    /// consulted), group and resource must be equal, version equal or `*`, and the selector
    /// must match the object's own labels.
    fn selects(&self, kind: &str, labels: &Value) -> Result<bool, String> {
        if self.matches.is_empty() {
            return Ok(true);
        }
        let (group, version, resource) = kind_resource(kind);
        for m in &self.matches {
            if m.resource == resource && (m.version == version || m.version == "*") && m.group == group {
                match &m.selector {
                    None => return Ok(true),
                    Some(sel) => {
                        if selector_matches(sel, labels)? {
                            return Ok(true);
                        }
                    }
                }
            }
        }
        Ok(false)
    }
}

/// policy-controller's `kindResourceMap`, as it is: its ReplicaSet key is misspelt
/// (`ReplicatSet`) and DaemonSet has group `""`, so a `match` for `replicasets` or for
/// `apps` daemonsets selects nothing there, and nothing here. Other kinds: the zero value.
fn kind_resource(kind: &str) -> (&'static str, &'static str, &'static str) {
    match kind {
        "Deployment" => ("apps", "v1", "deployments"),
        "CronJob" => ("batch", "v1", "cronjobs"),
        "Job" => ("batch", "v1", "jobs"),
        "DaemonSet" => ("", "v1", "daemonsets"),
        "StatefulSet" => ("apps", "v1", "statefulsets"),
        "Pod" => ("", "v1", "pods"),
        _ => ("", "", ""),
    }
}

/// A Kubernetes label selector (`matchLabels` and `matchExpressions`, ANDed), with
/// `LabelSelectorAsSelector`'s refusals (unknown operator, values where none belong).
fn selector_matches(selector: &Value, labels: &Value) -> Result<bool, String> {
    let label = |k: &str| labels.get(k).and_then(Value::as_str);
    let mut ok = true;
    for (k, v) in selector["matchLabels"].as_object().into_iter().flatten() {
        ok &= v.as_str().is_some_and(|v| label(k) == Some(v));
    }
    for e in selector["matchExpressions"].as_array().into_iter().flatten() {
        let key = e["key"].as_str().unwrap_or_default();
        let values: Vec<&str> = e["values"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        let op = e["operator"].as_str().unwrap_or_default();
        ok &= match op {
            "In" | "NotIn" if values.is_empty() => return Err(format!("{op} needs values (key {key:?})")),
            "Exists" | "DoesNotExist" if !values.is_empty() => {
                return Err(format!("{op} takes no values (key {key:?})"))
            }
            "In" => label(key).is_some_and(|v| values.contains(&v)),
            "NotIn" => label(key).is_none_or(|v| !values.contains(&v)),
            "Exists" => label(key).is_some(),
            "DoesNotExist" => label(key).is_none(),
            _ => return Err(format!("{op:?} is not a valid label selector operator")),
        };
    }
    Ok(ok)
}

/// Every container image of a pod-bearing object, with its field path.
fn images(object: &Value) -> Vec<(String, String)> {
    image_fields(object).into_iter().map(|f| (f.path, f.image)).collect()
}

/// Every container image of the kinds policy-controller's webhook validates: (field path as
/// its results name it, JSON pointer, image). The webhook's `no-match-policy` applies to the
/// ones no policy governs.
pub fn image_pointers(object: &Value) -> Vec<(String, String, String)> {
    image_fields(object).into_iter().map(|f| (f.path, f.pointer, f.image)).collect()
}

/// A container's image field.
struct ImageField {
    /// `spec.containers[0].image`
    path: String,
    /// `/spec/containers/0/image`
    pointer: String,
    container: String,
    image: String,
}

/// Every container image of the kinds policy-controller reads, with its path and pointer.
fn image_fields(object: &Value) -> Vec<ImageField> {
    let (prefix, spec) = match object["kind"].as_str().unwrap_or_default() {
        "Pod" => ("spec", &object["spec"]),
        "Deployment" | "ReplicaSet" | "StatefulSet" | "DaemonSet" | "Job" => {
            ("spec.template.spec", &object["spec"]["template"]["spec"])
        }
        "CronJob" => {
            ("spec.jobTemplate.spec.template.spec", &object["spec"]["jobTemplate"]["spec"]["template"]["spec"])
        }
        _ => return Vec::new(),
    };
    let mut out = Vec::new();
    let pointer_prefix = format!("/{}", prefix.replace('.', "/"));
    for field in ["initContainers", "containers", "ephemeralContainers"] {
        for (i, c) in spec[field].as_array().into_iter().flatten().enumerate() {
            if let Some(image) = c["image"].as_str() {
                out.push(ImageField {
                    path: format!("{prefix}.{field}[{i}].image"),
                    pointer: format!("{pointer_prefix}/{field}/{i}/image"),
                    container: c["name"].as_str().unwrap_or_default().to_string(),
                    image: image.to_string(),
                });
            }
        }
    }
    out
}

/// A validated authority in the form the webhook verifies.
fn parse_authority(name: &str, a: &Value) -> crate::verify::Authority {
    use crate::verify::{Attestation, AttestationCheck, AuthorityKind, Identity};
    let str_of = |v: &Value, k: &str| v[k].as_str().unwrap_or_default().to_string();
    let key_kind = |k: &Value| {
        if let Some(data) = k["data"].as_str().filter(|d| !d.is_empty()) {
            AuthorityKind::Key { pem: data.to_string() }
        } else if let Some(kms) = k["kms"].as_str().filter(|d| !d.is_empty()) {
            AuthorityKind::Kms(kms.to_string())
        } else {
            AuthorityKind::SecretKey {
                namespace: str_of(&k["secretRef"], "namespace"),
                name: str_of(&k["secretRef"], "name"),
            }
        }
    };
    let mut unsupported = None;
    let kind = if let Some(k) = a.get("key") {
        key_kind(k)
    } else {
        let k = &a["keyless"];
        if k.get("ca-cert").is_some_and(|c| c.get("data").is_none()) {
            unsupported = Some("keyless.ca-cert (a Secret or KMS reference; give the CA as data)".to_string());
        }
        if k.get("insecureIgnoreSCT").is_some() {
            unsupported = Some("keyless.insecureIgnoreSCT".to_string());
        }
        AuthorityKind::Keyless {
            identities: k["identities"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|i| Identity {
                    issuer: str_of(i, "issuer"),
                    issuer_regexp: str_of(i, "issuerRegExp"),
                    subject: str_of(i, "subject"),
                    subject_regexp: str_of(i, "subjectRegExp"),
                })
                .collect(),
            url: str_of(k, "url"),
            roots: k["ca-cert"]["data"].as_str().map(str::to_string),
        }
    };
    // Fields that change where or how signatures are found: refused at admission, named.
    for f in ["source", "rfc3161timestamp", "signatureFormat"] {
        if a.get(f).is_some() {
            unsupported = Some(f.to_string());
        }
    }
    // `ctlog` is the Rekor log: a keyless signature's SET is checked offline against the
    // trust root's Rekor key (the URL is not called); key signatures are verified without a
    // log, so asking for one there is refused rather than ignored.
    if a.get("ctlog").is_some() && a.get("key").is_some() {
        unsupported = Some("ctlog (a transparency-log check of key signatures)".to_string());
    }
    let attestations = a["attestations"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|at| {
            let p = &at["policy"];
            let check = if p.is_null() {
                AttestationCheck::Present
            } else if p["type"] == "cue" {
                AttestationCheck::Unsupported("CUE policies are not supported; use type: rego".into())
            } else if let Some(d) = p["data"].as_str().filter(|d| !d.is_empty()) {
                AttestationCheck::Rego(d.to_string())
            } else {
                AttestationCheck::Unsupported(
                    "a policy from a ConfigMap or a remote URL is not supported; give it as data".into(),
                )
            };
            Attestation {
                name: str_of(at, "name"),
                predicate_type: str_of(at, "predicateType"),
                attestors: Vec::new(),
                check,
            }
        })
        .collect();
    crate::verify::Authority { name: name.to_string(), kind, attestations, unsupported }
}

impl Policy for ClusterImagePolicy {
    fn name(&self) -> &str {
        &self.name
    }

    /// The governed images as checks for the webhook: every authority (any one admits, as
    /// policy-controller's), digests pinned (its mutating webhook resolves tags to digests).
    /// Images that cannot be matched keep [`Policy::evaluate`]'s error result.
    fn image_checks(&self, request: &Request) -> Vec<crate::verify::ImageCheck> {
        use crate::verify::{AttestorSet, AuthorityKind, ImageCheck, Verification};
        let object = request.object;
        let deleting = !object["metadata"]["deletionTimestamp"].is_null();
        if !matches!(request.operation, Operation::Create | Operation::Update) || deleting {
            return Vec::new();
        }
        let kind = object["kind"].as_str().unwrap_or_default();
        if self.selects(kind, &object["metadata"]["labels"]) != Ok(true) {
            return Vec::new();
        }
        let entries = self
            .authorities
            .iter()
            .map(|a| match a {
                Authority::Verify { authority, .. } => authority.clone(),
                Authority::Static { name, pass, message } => crate::verify::Authority {
                    name: name.clone(),
                    kind: AuthorityKind::Static { pass: *pass, message: message.clone() },
                    attestations: Vec::new(),
                    unsupported: None,
                },
            })
            .collect();
        let spec = std::sync::Arc::new(Verification {
            label: format!("ClusterImagePolicy {}", self.name),
            attestors: vec![AttestorSet { count: Some(1), entries }],
            attestations: Vec::new(),
            mutate_digest: true,
            verify_digest: false,
            required: true,
            unsupported: self
                .has_policy
                .then(|| "spec.policy (CUE/Rego over the authorities' results) is not supported at admission".into()),
        });
        let mut out = Vec::new();
        for f in image_fields(object) {
            let Ok(r) = parse_reference(&f.image) else { continue };
            if !matches!(self.matches_image(&r.name()), Ok(Some(_))) {
                continue;
            }
            out.push(ImageCheck {
                policy: self.name.clone(),
                rule: f.path,
                pointer: f.pointer,
                container: f.container,
                image: f.image,
                enforce: self.mode == Mode::Enforce,
                opt_in_label: Some(INCLUDE_LABEL),
                spec: spec.clone(),
            });
        }
        out
    }

    /// One result per container image the policy governs (the rule is the image's field
    /// path, as upstream names it); nothing for images or resources it does not govern, and
    /// nothing for DELETE/CONNECT or an object being deleted (the webhook lets those through).
    fn evaluate(&self, request: &Request) -> Vec<RuleResult> {
        let object = request.object;
        let deleting = !object["metadata"]["deletionTimestamp"].is_null();
        if !matches!(request.operation, Operation::Create | Operation::Update) || deleting {
            return Vec::new();
        }
        let kind = object["kind"].as_str().unwrap_or_default();
        let resource = ResourceId::of(object);
        let result = |rule: String, result: Outcome, message: String| RuleResult {
            file: request.file.to_string(),
            resource: resource.clone(),
            policy: self.name.clone(),
            rule,
            result,
            message,
        };
        let mut out = Vec::new();
        let images = images(object);
        if images.is_empty() {
            return out;
        }
        match self.selects(kind, &object["metadata"]["labels"]) {
            Ok(true) => {}
            Ok(false) => return out,
            Err(e) => {
                // Upstream fails the whole lookup ("policy with wrong match label selector").
                for (path, _) in images {
                    out.push(result(path, Outcome::Error, format!("spec.match: {e}")));
                }
                return out;
            }
        }
        for (path, image) in images {
            let name = match parse_reference(&image) {
                Ok(r) => r.name(),
                Err(e) => {
                    out.push(result(path, Outcome::Error, e.to_string()));
                    continue;
                }
            };
            let glob = match self.matches_image(&name) {
                Ok(Some(g)) => g.as_str().to_string(),
                Ok(None) => continue,
                Err(e) => {
                    out.push(result(path, Outcome::Error, format!("image {image:?}: {e}")));
                    continue;
                }
            };
            let (outcome, message) = self.decide(&image, &glob);
            out.push(result(path, outcome, message));
        }
        out
    }
}

impl ClusterImagePolicy {
    /// What can be decided offline for a matched image: `static` authorities (any passing one
    /// admits, as any authority may), unless a CIP-level policy must still run over them.
    fn decide(&self, image: &str, glob: &str) -> (Outcome, String) {
        let verify: Vec<&str> = self
            .authorities
            .iter()
            .filter_map(|a| match a {
                Authority::Verify { name, .. } => Some(name.as_str()),
                Authority::Static { .. } => None,
            })
            .collect();
        let statics: Vec<(&str, bool, &str)> = self
            .authorities
            .iter()
            .filter_map(|a| match a {
                Authority::Static { name, pass, message } => Some((name.as_str(), *pass, message.as_str())),
                Authority::Verify { .. } => None,
            })
            .collect();
        let prefix = format!("image {image} matches glob {glob:?}");
        // Any one authority admits the image; a CIP-level policy then runs over the results.
        if let Some((name, _, _)) = statics.iter().find(|(_, pass, _)| *pass) {
            if self.has_policy {
                return (
                    Outcome::Error,
                    format!("{prefix}: static authority {name} passes, but spec.policy (CUE/Rego over the authorities' results) needs the admission webhook; not evaluated"),
                );
            }
            return (Outcome::Pass, format!("{prefix}: static authority {name} passes"));
        }
        if !verify.is_empty() {
            return (
                Outcome::Error,
                format!(
                    "{prefix}: verifying signatures of authorities {} needs the admission webhook; not verified",
                    verify.join(", ")
                ),
            );
        }
        // Only failing static authorities (validation refused empty authorities).
        let mut why: BTreeMap<&str, &str> = BTreeMap::new();
        for (name, _, message) in &statics {
            why.insert(name, if message.is_empty() { "disallowed by static policy" } else { message });
        }
        let why = why.iter().map(|(n, m)| format!("{n}: {m}")).collect::<Vec<_>>().join("; ");
        let outcome = if self.mode == Mode::Warn { Outcome::Warn } else { Outcome::Fail };
        (outcome, format!("{prefix}: {why}"))
    }
}
