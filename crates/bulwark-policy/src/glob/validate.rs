//! What `kubectl create` of a ClusterImagePolicy goes through, in the API server's order:
//! strict decoding against the CRD's schema (unknown fields, types), policy-controller's
//! defaulting webhook (whose patch writes `keyless.identities: null` and `images: null` when
//! absent, which the schema then refuses), and policy-controller's validating webhook
//! (`pkg/apis/policy/v1beta1/clusterimagepolicy_validation.go`, which v1alpha1 mirrors).
//! Messages are knative `FieldError`s as the webhook prints them (merged by message, paths
//! sorted), after `validation failed: `.

use super::pattern::{filepath_syntax_ok, new_registry, new_repository, Glob};
use regex::Regex;
use serde_json::{Map, Value};
use std::sync::OnceLock;

/// One knative `FieldError` entry.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct FieldError {
    message: String,
    details: String,
    paths: Vec<String>,
}

/// Errors collected under a path prefix.
#[derive(Default)]
struct Errors(Vec<FieldError>);

impl Errors {
    fn add(&mut self, message: impl Into<String>, paths: &[String], details: impl Into<String>) {
        self.0.push(FieldError { message: message.into(), details: details.into(), paths: paths.to_vec() });
    }
    fn missing(&mut self, at: &str, fields: &[&str]) {
        self.add("missing field(s)", &join_all(at, fields), "");
    }
    fn neither(&mut self, at: &str, fields: &[&str]) {
        self.add("expected exactly one, got neither", &join_all(at, fields), "");
    }
    fn both(&mut self, at: &str, fields: &[&str]) {
        self.add("expected exactly one, got both", &join_all(at, fields), "");
    }
    fn invalid(&mut self, value: &str, path: String, details: impl Into<String>) {
        self.add(format!("invalid value: {value}"), &[path], details);
    }
    fn disallowed(&mut self, at: &str, field: &str) {
        self.add("must not set the field(s)", &[join(at, field)], "");
    }

    /// knative's `FieldError.Error()`: same message and details merged, paths sorted, entries
    /// sorted by message then details, one per line.
    fn render(self) -> String {
        let mut merged: Vec<FieldError> = Vec::new();
        for e in self.0 {
            match merged.iter_mut().find(|m| m.message == e.message && m.details == e.details) {
                Some(m) => m.paths.extend(e.paths),
                None => merged.push(e),
            }
        }
        for m in &mut merged {
            m.paths.sort();
        }
        merged.sort_by(|a, b| (&a.message, &a.details).cmp(&(&b.message, &b.details)));
        merged
            .iter()
            .map(|e| {
                let paths = e.paths.join(", ");
                if e.details.is_empty() {
                    format!("{}: {paths}", e.message)
                } else {
                    format!("{}: {paths}\n{}", e.message, e.details)
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

fn join(at: &str, field: &str) -> String {
    if at.is_empty() {
        field.to_string()
    } else if field.is_empty() {
        at.to_string()
    } else {
        format!("{at}.{field}")
    }
}

fn join_all(at: &str, fields: &[&str]) -> Vec<String> {
    fields.iter().map(|f| join(at, f)).collect()
}

// ---------------------------------------------------------------------------------------------
// The CRD's schema (config/300-clusterimagepolicy.yaml: v1alpha1 and v1beta1 are identical).

enum S {
    Str,
    Bool,
    Int,
    Obj(&'static [(&'static str, S)]),
    Arr(&'static S),
    /// `x-kubernetes-preserve-unknown-fields` (and metadata, validated by the API server).
    Any,
}

const SECRET_REF: S = S::Obj(&[("name", S::Str), ("namespace", S::Str)]);
const KEY_REF: S = S::Obj(&[("data", S::Str), ("hashAlgorithm", S::Str), ("kms", S::Str), ("secretRef", SECRET_REF)]);
const POLICY: S = S::Obj(&[
    ("configMapRef", S::Obj(&[("key", S::Str), ("name", S::Str), ("namespace", S::Str)])),
    ("data", S::Str),
    ("fetchConfigFile", S::Bool),
    ("includeObjectMeta", S::Bool),
    ("includeSpec", S::Bool),
    ("includeTypeMeta", S::Bool),
    ("remote", S::Obj(&[("sha256sum", S::Str), ("url", S::Str)])),
    ("type", S::Str),
]);
const AUTHORITY: S = S::Obj(&[
    ("attestations", S::Arr(&S::Obj(&[("name", S::Str), ("policy", POLICY), ("predicateType", S::Str)]))),
    ("ctlog", S::Obj(&[("trustRootRef", S::Str), ("url", S::Str)])),
    ("key", KEY_REF),
    (
        "keyless",
        S::Obj(&[
            ("ca-cert", KEY_REF),
            (
                "identities",
                S::Arr(&S::Obj(&[
                    ("issuer", S::Str),
                    ("issuerRegExp", S::Str),
                    ("subject", S::Str),
                    ("subjectRegExp", S::Str),
                ])),
            ),
            ("insecureIgnoreSCT", S::Bool),
            ("trustRootRef", S::Str),
            ("url", S::Str),
        ]),
    ),
    ("name", S::Str),
    ("rfc3161timestamp", S::Obj(&[("trustRootRef", S::Str)])),
    ("signatureFormat", S::Str),
    (
        "source",
        S::Arr(&S::Obj(&[
            ("oci", S::Str),
            ("signaturePullSecrets", S::Arr(&S::Obj(&[("name", S::Str)]))),
            ("tagPrefix", S::Str),
        ])),
    ),
    ("static", S::Obj(&[("action", S::Str), ("message", S::Str)])),
]);
const MATCH: S = S::Obj(&[
    ("group", S::Str),
    ("resource", S::Str),
    (
        "selector",
        S::Obj(&[
            (
                "matchExpressions",
                S::Arr(&S::Obj(&[("key", S::Str), ("operator", S::Str), ("values", S::Arr(&S::Str))])),
            ),
            ("matchLabels", S::Any),
        ]),
    ),
    ("version", S::Str),
]);
const SPEC: S = S::Obj(&[
    ("authorities", S::Arr(&AUTHORITY)),
    ("images", S::Arr(&S::Obj(&[("glob", S::Str)]))),
    ("match", S::Arr(&MATCH)),
    ("mode", S::Str),
    ("policy", POLICY),
]);
const STATUS: S = S::Obj(&[
    ("annotations", S::Any),
    (
        "conditions",
        S::Arr(&S::Obj(&[
            ("lastTransitionTime", S::Str),
            ("message", S::Str),
            ("reason", S::Str),
            ("severity", S::Str),
            ("status", S::Str),
            ("type", S::Str),
        ])),
    ),
    ("observedGeneration", S::Int),
]);
const ROOT: S =
    S::Obj(&[("apiVersion", S::Str), ("kind", S::Str), ("metadata", S::Any), ("spec", SPEC), ("status", STATUS)]);

use crate::resource::type_name;

/// Strict decoding and the schema's types; nulls are dropped first, as the API server prunes
/// them from fields that are not nullable. Returns the cleaned object.
fn check_schema(schema: &S, v: &Value, path: &str, out: &mut Vec<String>) -> Value {
    let wrong = |want: &str, out: &mut Vec<String>| {
        let got = type_name(v);
        out.push(format!("{path}: Invalid value: \"{got}\": {path} in body must be of type {want}: \"{got}\""));
    };
    match (schema, v) {
        (S::Any, _) => v.clone(),
        (S::Str, Value::String(_)) | (S::Bool, Value::Bool(_)) => v.clone(),
        (S::Int, Value::Number(n)) if n.is_i64() || n.is_u64() => v.clone(),
        (S::Str, _) => {
            wrong("string", out);
            Value::Null
        }
        (S::Bool, _) => {
            wrong("boolean", out);
            Value::Null
        }
        (S::Int, _) => {
            wrong("integer", out);
            Value::Null
        }
        (S::Arr(item), Value::Array(a)) => Value::Array(
            a.iter().enumerate().map(|(i, x)| check_schema(item, x, &format!("{path}[{i}]"), out)).collect(),
        ),
        (S::Arr(_), _) => {
            wrong("array", out);
            Value::Null
        }
        (S::Obj(fields), Value::Object(o)) => {
            let mut clean = Map::new();
            for (k, x) in o {
                if x.is_null() {
                    continue;
                }
                let p = join(path, k);
                match fields.iter().find(|(name, _)| name == k) {
                    Some((_, s)) => {
                        clean.insert(k.clone(), check_schema(s, x, &p, out));
                    }
                    None => out.push(format!("strict decoding error: unknown field \"{p}\"")),
                }
            }
            Value::Object(clean)
        }
        (S::Obj(_), _) => {
            wrong("object", out);
            Value::Null
        }
    }
}

/// What the defaulting webhook's patch leaves that the schema then refuses: Go fields without
/// `omitempty` serialised as `null` (`spec.images`, `keyless.identities`).
fn check_defaulted(spec: &Value, out: &mut Vec<String>) {
    let null = |path: String, out: &mut Vec<String>| {
        out.push(format!("{path}: Invalid value: \"null\": {path} in body must be of type array: \"null\""));
    };
    if spec.get("images").is_none() {
        null("spec.images".into(), out);
    }
    for (i, a) in spec["authorities"].as_array().into_iter().flatten().enumerate() {
        if a.get("keyless").is_some_and(Value::is_object) && a["keyless"].get("identities").is_none() {
            null(format!("spec.authorities[{i}].keyless.identities"), out);
        }
    }
}

/// Validates a ClusterImagePolicy as `kubectl create` would see it accepted or refused. On
/// success, the object with nulls pruned (the shape policy-controller stores).
pub fn validate(doc: &Value) -> Result<Value, String> {
    let mut schema_errors = Vec::new();
    let clean = check_schema(&ROOT, doc, "", &mut schema_errors);
    if schema_errors.is_empty() {
        check_defaulted(clean.get("spec").unwrap_or(&Value::Null), &mut schema_errors);
    }
    if !schema_errors.is_empty() {
        return Err(schema_errors.join("\n"));
    }
    // The API server's own check, before any webhook.
    let meta = &clean["metadata"];
    if s(meta, "name").is_empty() && s(meta, "generateName").is_empty() {
        return Err("metadata.name: Required value: name or generateName is required".into());
    }
    let mut errs = Errors::default();
    spec(clean.get("spec").unwrap_or(&Value::Null), "spec", &mut errs);
    if errs.0.is_empty() {
        Ok(clean)
    } else {
        Err(format!("validation failed: {}", errs.render()))
    }
}

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or_default()
}
fn arr<'a>(v: &'a Value, k: &str) -> &'a [Value] {
    v.get(k).and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default()
}
fn has(v: &Value, k: &str) -> bool {
    v.get(k).is_some_and(|x| !x.is_null())
}

const VALID_MODES: &[&str] = &["enforce", "warn"];
/// The resources policy-controller's webhook is registered for (its `ValidResourceNames`).
const VALID_RESOURCES: &[&str] =
    &["replicasets", "deployments", "pods", "cronjobs", "jobs", "statefulsets", "daemonsets"];
const VALID_PREDICATE_TYPES: &[&str] = &["custom", "slsaprovenance", "spdx", "spdxjson", "cyclonedx", "link", "vuln"];
const KMS_PROVIDERS: &[&str] = &["awskms://", "azurekms://", "hashivault://", "gcpkms://"];
/// Whether empty authorities are refused (`FailOnEmptyAuthorities`, true by default).
const FAIL_ON_EMPTY_AUTHORITIES: bool = true;

fn spec(spec: &Value, at: &str, errs: &mut Errors) {
    let images = arr(spec, "images");
    if images.is_empty() {
        errs.missing(at, &["images"]);
    }
    for (i, image) in images.iter().enumerate() {
        let at = format!("{at}.images[{i}]");
        let glob = s(image, "glob");
        if glob.is_empty() {
            errs.missing(&at, &["glob"]);
        } else if let Some(details) = glob_problem(glob) {
            errs.invalid(glob, join(&at, "glob"), details);
        }
    }
    let authorities = arr(spec, "authorities");
    if authorities.is_empty() && FAIL_ON_EMPTY_AUTHORITIES {
        errs.missing(at, &["authorities"]);
    }
    for (i, a) in authorities.iter().enumerate() {
        authority(a, &format!("{at}.authorities[{i}]"), errs);
    }
    let mode = s(spec, "mode");
    if !mode.is_empty() && !VALID_MODES.contains(&mode) {
        errs.invalid(mode, join(at, "mode"), "unsupported mode");
    }
    for (i, m) in arr(spec, "match").iter().enumerate() {
        let at = format!("{at}.match[{i}]");
        let resource = s(m, "resource");
        if !resource.is_empty() && !VALID_RESOURCES.contains(&resource) {
            errs.invalid(resource, join(&at, "resource"), "unsupported resource name");
        }
        if has(m, "selector") && resource.is_empty() && s(m, "version").is_empty() && s(m, "group").is_empty() {
            errs.invalid(resource, join(&at, "selector"), "selector requires a resource type to match the labels");
        }
    }
    if let Some(p) = spec.get("policy") {
        policy(p, &join(at, "policy"), true, errs);
    }
}

/// ValidateGlob: Go's `filepath.Match` syntax, then policy-controller's glob compilation.
fn glob_problem(glob: &str) -> Option<String> {
    if !filepath_syntax_ok(glob) {
        return Some("glob is invalid: syntax error in pattern".into());
    }
    Glob::compile(glob).err().map(|e| format!("glob is invalid: {e}"))
}

fn authority(a: &Value, at: &str, errs: &mut Errors) {
    let (key, keyless, stat) = (has(a, "key"), has(a, "keyless"), has(a, "static"));
    if !key && !keyless && !stat {
        // Upstream stops here to keep the message short.
        errs.neither(at, &["key", "keyless", "static"]);
        return;
    }
    if usize::from(key) + usize::from(keyless) + usize::from(stat) > 1 {
        errs.both(at, &["key", "keyless", "static"]);
        return;
    }
    if key {
        key_ref(&a["key"], &join(at, "key"), errs);
    }
    if keyless {
        keyless_ref(&a["keyless"], &join(at, "keyless"), errs);
    }
    if stat {
        let st = &a["static"];
        let action = s(st, "action");
        if action.is_empty() {
            errs.missing(&join(at, "static"), &["action"]);
        } else if action != "fail" && action != "pass" {
            errs.invalid(action, join(at, "static.action"), "unsupported action");
        }
        // Signatures' settings mean nothing to a static authority.
        if !arr(a, "attestations").is_empty() {
            errs.both(at, &["static", "attestations"]);
        }
        if !arr(a, "source").is_empty() {
            errs.both(at, &["static", "source"]);
        }
        if has(a, "ctlog") {
            errs.both(at, &["static", "ctlog"]);
        }
        if has(a, "rfc3161timestamp") {
            errs.both(at, &["static", "rfc3161timestamp"]);
        }
    }
    for (i, src) in arr(a, "source").iter().enumerate() {
        let at = format!("{at}.source[{i}]");
        let oci = s(src, "oci");
        if !oci.is_empty() {
            if let Err(e) = validate_oci(oci) {
                errs.invalid(oci, join(&at, "oci"), e);
            }
        }
        for (j, secret) in arr(src, "signaturePullSecrets").iter().enumerate() {
            if s(secret, "name").is_empty() {
                errs.missing(&format!("{at}.signaturePullSecrets[{j}]"), &["name"]);
            }
        }
    }
    // Upstream names attestations without their index.
    for att in arr(a, "attestations") {
        let at = join(at, "attestations");
        if s(att, "name").is_empty() {
            errs.missing(&at, &["name"]);
        }
        let pt = s(att, "predicateType");
        if pt.is_empty() {
            errs.missing(&at, &["predicateType"]);
        } else if !VALID_PREDICATE_TYPES.contains(&pt) && !is_request_uri(pt) {
            errs.invalid(pt, join(&at, "predicateType"), "unsupported predicate type");
        }
        if let Some(p) = att.get("policy") {
            policy(p, &join(&at, "policy"), false, errs);
        }
    }
}

fn key_ref(key: &Value, at: &str, errs: &mut Errors) {
    let (data, kms, secret) = (s(key, "data"), s(key, "kms"), has(key, "secretRef"));
    if data.is_empty() && kms.is_empty() && !secret {
        errs.neither(at, &["data", "kms", "secretref"]);
    }
    let hash = s(key, "hashAlgorithm");
    if !hash.is_empty()
        && !matches!(hash.trim().to_ascii_lowercase().as_str(), "sha224" | "sha256" | "sha384" | "sha512")
    {
        errs.invalid(hash, join(at, "hashAlgorithm"), "");
    }
    if !data.is_empty() {
        if !kms.is_empty() || secret {
            errs.both(at, &["data", "kms", "secretref"]);
        }
        if super::pem::public_key(data).is_err() {
            errs.invalid(data, join(at, "data"), "");
        }
    } else if !kms.is_empty() && secret {
        errs.both(at, &["data", "kms", "secretref"]);
    }
    if !kms.is_empty() {
        if let Some(details) = kms_problem(kms) {
            errs.invalid(kms, join(at, "kms"), details);
        }
    }
}

fn keyless_ref(keyless: &Value, at: &str, errs: &mut Errors) {
    // The defaulting webhook gives a keyless authority with neither `url` nor `ca-cert` the
    // public Fulcio URL, so "neither" cannot happen after it.
    if has(keyless, "url") && has(keyless, "ca-cert") {
        errs.both(at, &["url", "ca-cert"]);
    }
    if has(keyless, "ca-cert") {
        key_ref(&keyless["ca-cert"], &join(at, "ca-cert"), errs);
    }
    let identities = arr(keyless, "identities");
    if identities.is_empty() {
        errs.missing(at, &["identities"]);
    }
    for (i, id) in identities.iter().enumerate() {
        let at = format!("{at}.identities[{i}]");
        let (iss, sub, iss_re, sub_re) =
            (s(id, "issuer"), s(id, "subject"), s(id, "issuerRegExp"), s(id, "subjectRegExp"));
        if !iss.is_empty() && !iss_re.is_empty() {
            errs.both(&at, &["issuer", "issuerRegExp"]);
        }
        if !sub.is_empty() && !sub_re.is_empty() {
            errs.both(&at, &["subject", "subjectRegExp"]);
        }
        for (field, re) in [("issuerRegExp", iss_re), ("subjectRegExp", sub_re)] {
            if !re.is_empty() {
                if let Err(e) = regex::RegexBuilder::new(re).size_limit(1 << 20).build() {
                    errs.invalid(re, join(&at, field), format!("regex is invalid: {e}"));
                }
            }
        }
        if sub.is_empty() && sub_re.is_empty() {
            errs.missing(&at, &["subject", "subjectRegExp"]);
        }
        if iss.is_empty() && iss_re.is_empty() {
            errs.missing(&at, &["issuer", "issuerRegExp"]);
        }
    }
}

fn policy(p: &Value, at: &str, in_spec: bool, errs: &mut Errors) {
    let ty = s(p, "type");
    if ty != "cue" && ty != "rego" {
        errs.invalid(ty, join(at, "type"), "only [cue,rego] are supported at the moment");
    }
    let (data, cm, remote) = (!s(p, "data").is_empty(), has(p, "configMapRef"), has(p, "remote"));
    if !data && !cm && !remote {
        errs.missing(at, &["data", "configMapRef"]);
    }
    if data && cm {
        errs.both(at, &["data", "configMapRef"]);
    }
    if cm {
        let c = &p["configMapRef"];
        let at = join(at, "configMapRef");
        if s(c, "name").is_empty() {
            errs.missing(&at, &["name"]);
        }
        if s(c, "key").is_empty() {
            errs.missing(&at, &["key"]);
        }
    }
    if !in_spec {
        for f in ["fetchConfigFile", "includeSpec", "includeObjectMeta", "includeTypeMeta"] {
            if has(p, f) {
                errs.disallowed(at, f);
            }
        }
    }
}

/// Go's `url.ParseRequestURI` accepts an absolute URI or an absolute path.
fn is_request_uri(s: &str) -> bool {
    if s.starts_with('/') {
        return true;
    }
    let Some((scheme, _)) = s.split_once(':') else { return false };
    let mut c = scheme.chars();
    c.next().is_some_and(|f| f.is_ascii_alphabetic())
        && c.all(|x| x.is_ascii_alphanumeric() || matches!(x, '+' | '-' | '.'))
        && !s.bytes().any(|b| b < 0x20 || b == 0x7f || b == b' ')
}

/// `common.ValidateOCI`: a registry, or a registry with a repository (strict validation).
fn validate_oci(oci: &str) -> Result<(), String> {
    if let Some((first, _)) = oci.split_once('/') {
        if first.contains('.') || first.contains(':') {
            return new_repository(oci, true).map(|_| ());
        }
    }
    new_registry(oci, true).map(|_| ())
}

fn aws_regexes() -> &'static [Regex] {
    static RES: OnceLock<Vec<Regex>> = OnceLock::new();
    RES.get_or_init(|| {
        let uuid = r"m?r?k?-?[A-Fa-f0-9]{8}-?[A-Fa-f0-9]{4}-?[A-Fa-f0-9]{4}-?[A-Fa-f0-9]{4}-?[A-Fa-f0-9]{12}";
        let arn = r"arn:(?:aws|aws-us-gov|aws-cn):kms:[a-z0-9-]+:\d{12}:";
        let host = r"([^/]*)/";
        [
            format!("^awskms://{host}({uuid})$"),
            format!("^awskms://{host}({arn}key/{uuid})$"),
            format!("^awskms://{host}((alias/.*))$"),
            format!("^awskms://{host}({arn}(alias/.*))$"),
        ]
        .iter()
        .filter_map(|r| Regex::new(r).ok())
        .collect()
    })
}

/// `common.ValidateKMS`: a supported provider; AWS references checked as upstream does.
fn kms_problem(kms: &str) -> Option<String> {
    if !KMS_PROVIDERS.iter().any(|p| kms.starts_with(p)) {
        return Some(format!(
            "malformed KMS format, should be prefixed by any of the supported providers: [{}]",
            KMS_PROVIDERS.join(" ")
        ));
    }
    if !kms.starts_with("awskms://") {
        return None;
    }
    let reference_err = "kms key should be in the format awskms://[ENDPOINT]/[ID/ALIAS/ARN] (endpoint optional)";
    let parts: Vec<&str> = kms.split('/').collect();
    if parts.len() < 4 {
        return Some("malformed AWS KMS format 'awskms://$ENDPOINT/$KEYID', should be conformant with KMS standard documented here: https://docs.aws.amazon.com/kms/latest/developerguide/concepts.html#key-id".into());
    }
    if !aws_regexes().iter().any(|re| re.is_match(kms)) {
        return Some(reference_err.into());
    }
    let endpoint = parts[2];
    if !endpoint.is_empty() && (endpoint.starts_with("arn") || endpoint.starts_with("alias")) {
        return Some(reference_err.into());
    }
    if !endpoint.is_empty() {
        if let Err(e) = split_host_port(endpoint) {
            return Some(format!("malformed endpoint: address {endpoint}: {e}"));
        }
    }
    // The key id is the fourth `/` part: for a key ARN that is `arn:...:key`, whose resource
    // is `key`; a bare key id or `alias/...` is not an ARN at all.
    let key_id = parts[3];
    let Some(rest) = key_id.strip_prefix("arn:") else {
        return Some("failed to parse either key or alias arn: arn: invalid prefix".into());
    };
    let sections: Vec<&str> = rest.splitn(5, ':').collect();
    if sections.len() != 5 {
        return Some("failed to parse either key or alias arn: arn: not enough sections".into());
    }
    let resource = sections[4];
    if resource != "key" && resource != "alias" {
        return Some(format!("Got ARN: {key_id} Resource: {resource}"));
    }
    None
}

/// Go's `net.SplitHostPort` errors, for the messages.
fn split_host_port(hostport: &str) -> Result<(), &'static str> {
    if let Some(rest) = hostport.strip_prefix('[') {
        let Some(end) = rest.find(']') else { return Err("missing ']' in address") };
        return match &rest[end + 1..] {
            "" => Err("missing port in address"),
            p if p.starts_with(':') => Ok(()),
            _ => Err("missing port in address"),
        };
    }
    let Some(i) = hostport.rfind(':') else { return Err("missing port in address") };
    if hostport[..i].contains(':') {
        return Err("too many colons in address");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_errors_merge_and_sort_as_knative() {
        let mut e = Errors::default();
        e.missing("spec.a", &["y", "x"]);
        e.invalid("v", "spec.b".into(), "why");
        e.missing("spec.c", &["z"]);
        assert_eq!(e.render(), "invalid value: v: spec.b\nwhy\nmissing field(s): spec.a.x, spec.a.y, spec.c.z");
    }

    #[test]
    fn aws_kms_references() {
        assert_eq!(
            kms_problem("awskms:///arn:aws:kms:us-east-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"),
            None
        );
        assert_eq!(kms_problem("awskms://localhost:4566/arn:aws:kms:us-east-2:111122223333:alias/x"), None);
        assert!(kms_problem("awskms:///1234abcd-12ab-34cd-56ef-1234567890ab").is_some());
        assert!(kms_problem("awskms:///alias/ExampleAlias").is_some());
        assert!(kms_problem("foo://x").is_some());
        assert_eq!(kms_problem("hashivault://key/path"), None);
    }
}
