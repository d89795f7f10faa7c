//! The seed's checklist for images at deployment: allowed and rejected registries, rejected
//! tags (`latest`, also when implicit), allowed and rejected images, a digest required, and
//! `imagePullPolicy: Always`. The settings are Kubewarden trusted-repos' (`registries`,
//! `tags`, `images`, each `allow` or `reject`), so its users' settings load unchanged; Bulwark
//! adds `requireDigest`, `pullPolicyAlways` and `namespaces` (where the rules apply).

use bulwark_oci::ImageRef;
use bulwark_policy::{Outcome, Request, ResourceId, RuleResult};
use serde::Deserialize;
use serde_json::Value;

/// The policy name image rule results carry.
pub const POLICY_NAME: &str = "image-rules";

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllowReject {
    #[serde(default)]
    pub allow: Vec<String>,
    #[serde(default)]
    pub reject: Vec<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tags {
    #[serde(default)]
    pub reject: Vec<String>,
}

/// The settings as written (JSON or YAML).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ImageSettings {
    #[serde(default)]
    pub registries: AllowReject,
    #[serde(default)]
    pub tags: Tags,
    #[serde(default)]
    pub images: AllowReject,
    /// Every image must name a digest (`@sha256:…`).
    #[serde(default)]
    pub require_digest: bool,
    /// Every container must pull `Always` (the default when unset: `Always` for `latest` or no
    /// tag, else `IfNotPresent`, as the API server defaults it).
    #[serde(default)]
    pub pull_policy_always: bool,
    /// The namespaces the rules apply in; empty: every namespace.
    #[serde(default)]
    pub namespaces: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("image settings: `{0}.allow` and `{0}.reject` cannot both be given")]
    Both(&'static str),
    #[error("image settings: `{field}`: {source}")]
    Image { field: String, source: bulwark_oci::ReferenceError },
    #[error("image settings: `registries.{field}`: {value:?} is not a registry host")]
    Registry { field: &'static str, value: String },
    #[error("image settings: `tags.reject`: {0:?} is not a tag")]
    Tag(String),
}

/// Validated image rules.
#[derive(Clone, Debug, Default)]
pub struct ImageRules {
    settings: ImageSettings,
    allow_images: Vec<ImageRef>,
    reject_images: Vec<ImageRef>,
}

impl ImageRules {
    /// Validates the settings: each list an allow or a reject, every image and registry valid.
    pub fn new(settings: ImageSettings) -> Result<ImageRules, SettingsError> {
        if !settings.registries.allow.is_empty() && !settings.registries.reject.is_empty() {
            return Err(SettingsError::Both("registries"));
        }
        if !settings.images.allow.is_empty() && !settings.images.reject.is_empty() {
            return Err(SettingsError::Both("images"));
        }
        for (field, list) in [("allow", &settings.registries.allow), ("reject", &settings.registries.reject)] {
            for r in list {
                // A registry is valid when an image under it is.
                if r.contains('/') || ImageRef::parse(&format!("{r}/x")).map(|i| i.registry).is_err() {
                    return Err(SettingsError::Registry { field, value: r.clone() });
                }
            }
        }
        for t in &settings.tags.reject {
            if ImageRef::parse(&format!("x:{t}")).is_err() {
                return Err(SettingsError::Tag(t.clone()));
            }
        }
        let parse_all = |field: &str, list: &[String]| -> Result<Vec<ImageRef>, SettingsError> {
            list.iter()
                .map(|i| ImageRef::parse(i).map_err(|source| SettingsError::Image { field: field.to_string(), source }))
                .collect()
        };
        let allow_images = parse_all("images.allow", &settings.images.allow)?;
        let reject_images = parse_all("images.reject", &settings.images.reject)?;
        Ok(ImageRules { settings, allow_images, reject_images })
    }

    /// Whether any rule is set.
    pub fn is_empty(&self) -> bool {
        let s = &self.settings;
        s.registries.allow.is_empty()
            && s.registries.reject.is_empty()
            && s.tags.reject.is_empty()
            && s.images.allow.is_empty()
            && s.images.reject.is_empty()
            && !s.require_digest
            && !s.pull_policy_always
    }

    /// One result per rule set, for every container of a pod-bearing object (enforce mode:
    /// a violation is `fail`). Objects outside the chosen namespaces, and objects without a
    /// pod template, give none.
    pub fn evaluate(&self, request: &Request) -> Vec<RuleResult> {
        if self.is_empty() {
            return Vec::new();
        }
        let ns = request.object["metadata"]["namespace"].as_str().unwrap_or_default();
        if !self.settings.namespaces.is_empty() && !self.settings.namespaces.iter().any(|n| n == ns) {
            return Vec::new();
        }
        let Some((_, spec)) = bulwark_policy::resource::pod_template(request.object) else { return Vec::new() };
        let resource = ResourceId::of(request.object);
        let mut failures: Vec<(&'static str, String)> = Vec::new();
        for (field, c) in containers(spec) {
            let name = c["name"].as_str().unwrap_or_default();
            let at = format!("{field} {name:?}");
            let Some(image) = c["image"].as_str() else {
                failures.push(("images", format!("{at} has no image")));
                continue;
            };
            let r = match ImageRef::parse(image) {
                Ok(r) => r,
                Err(e) => {
                    failures.push(("images", format!("{at}: {e}")));
                    continue;
                }
            };
            failures.extend(self.check(&at, image, &r, c));
        }
        let mut out = Vec::new();
        for rule in self.rules() {
            let msgs: Vec<&str> = failures.iter().filter(|(r, _)| *r == rule).map(|(_, m)| m.as_str()).collect();
            out.push(RuleResult {
                file: request.file.to_string(),
                resource: resource.clone(),
                policy: POLICY_NAME.to_string(),
                rule: rule.to_string(),
                result: if msgs.is_empty() { Outcome::Pass } else { Outcome::Fail },
                message: msgs.join("; "),
            });
        }
        out
    }

    /// The rules that are set, by name.
    fn rules(&self) -> Vec<&'static str> {
        let s = &self.settings;
        let mut out = Vec::new();
        if !s.registries.allow.is_empty() || !s.registries.reject.is_empty() {
            out.push("registries");
        }
        if !s.tags.reject.is_empty() {
            out.push("tags");
        }
        // Unparseable images are reported under `images` whatever is set.
        out.push("images");
        if s.require_digest {
            out.push("digest");
        }
        if s.pull_policy_always {
            out.push("pull-policy");
        }
        out
    }

    fn check(&self, at: &str, image: &str, r: &ImageRef, c: &Value) -> Vec<(&'static str, String)> {
        let s = &self.settings;
        let mut out = Vec::new();
        let registry_is = |want: &str| normal_registry(want) == r.registry;
        if !s.registries.allow.is_empty() && !s.registries.allow.iter().any(|w| registry_is(w)) {
            out.push((
                "registries",
                format!("{at}: image {image:?} is from registry {}, not an allowed one", r.registry),
            ));
        }
        if s.registries.reject.iter().any(|w| registry_is(w)) {
            out.push(("registries", format!("{at}: image {image:?} is from rejected registry {}", r.registry)));
        }
        if let Some(tag) = r.effective_tag() {
            if s.tags.reject.iter().any(|t| t == tag) {
                let implicit = if r.tag.is_none() { " (implicitly)" } else { "" };
                out.push(("tags", format!("{at}: image {image:?} uses rejected tag {tag:?}{implicit}")));
            }
        }
        if !self.allow_images.is_empty() && !self.allow_images.iter().any(|a| image_matches(a, r)) {
            out.push(("images", format!("{at}: image {image:?} is not an allowed image")));
        }
        if self.reject_images.iter().any(|a| image_matches(a, r)) {
            out.push(("images", format!("{at}: image {image:?} is a rejected image")));
        }
        if s.require_digest && r.digest.is_none() {
            out.push(("digest", format!("{at}: image {image:?} is not pinned to a digest")));
        }
        if s.pull_policy_always {
            let policy = c["imagePullPolicy"].as_str().unwrap_or_else(|| {
                if r.tag.as_deref() == Some("latest") || (r.tag.is_none() && r.digest.is_none()) {
                    "Always"
                } else {
                    "IfNotPresent"
                }
            });
            if policy != "Always" {
                out.push(("pull-policy", format!("{at}: imagePullPolicy is {policy}, not Always")));
            }
        }
        out
    }
}

/// `index.docker.io` and `docker.io` are one registry.
fn normal_registry(r: &str) -> &str {
    if r == "index.docker.io" {
        bulwark_oci::reference::DOCKER_HUB
    } else {
        r
    }
}

/// An allow/reject entry matches an image of its repository; a tag or digest in the entry must
/// be the image's too.
fn image_matches(entry: &ImageRef, image: &ImageRef) -> bool {
    entry.registry == image.registry
        && entry.repository == image.repository
        && entry.tag.as_ref().is_none_or(|t| image.effective_tag() == Some(t.as_str()))
        && entry.digest.as_ref().is_none_or(|d| image.digest.as_ref() == Some(d))
}

/// Every container of a pod spec, with the field it is in.
pub fn containers(spec: &Value) -> impl Iterator<Item = (&'static str, &Value)> {
    ["initContainers", "containers", "ephemeralContainers"]
        .into_iter()
        .flat_map(move |f| spec[f].as_array().into_iter().flatten().map(move |c| (f, c)))
}
