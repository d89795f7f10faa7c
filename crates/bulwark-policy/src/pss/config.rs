//! Which level and version apply in which mode: the namespace labels
//! `pod-security.kubernetes.io/{enforce,audit,warn}[-version]` over the defaults of the
//! AdmissionConfiguration's `PodSecurityConfiguration`, and its exemptions.

use super::{Level, LevelVersion, ParseError, Version};
use crate::error::PolicyError;
use serde_json::Value;
use std::collections::BTreeMap;

/// The namespace labels' common prefix.
pub const LABEL_PREFIX: &str = "pod-security.kubernetes.io/";

/// The level and version of each mode (`api.Policy`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Modes {
    pub enforce: LevelVersion,
    pub audit: LevelVersion,
    pub warn: LevelVersion,
}

const PRIVILEGED_LATEST: LevelVersion = LevelVersion { level: Level::Privileged, version: Version::Latest };

impl Default for Modes {
    /// Upstream's defaults when the configuration sets none: privileged, latest, in every mode.
    fn default() -> Self {
        Modes { enforce: PRIVILEGED_LATEST, audit: PRIVILEGED_LATEST, warn: PRIVILEGED_LATEST }
    }
}

/// A label that did not parse: the label, and why (the policy still applies, as upstream's).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LabelError {
    pub label: String,
    pub error: ParseError,
}

impl std::fmt::Display for LabelError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "metadata.labels[{}]: {}", self.label, self.error)
    }
}

impl Modes {
    /// Only `enforce` set (what `--pss LEVEL:VERSION` means); audit and warn privileged.
    pub fn enforce(lv: LevelVersion) -> Self {
        Modes { enforce: lv, ..Modes::default() }
    }

    /// Whether no mode checks anything.
    pub fn fully_privileged(&self) -> bool {
        [self.enforce, self.audit, self.warn].iter().all(|m| m.level == Level::Privileged)
    }

    /// `api.PolicyToEvaluate`: the namespace's labels over these defaults. A bad level fails
    /// closed for enforce (restricted) and open for audit and warn (privileged); a bad version
    /// is `latest`; each bad label is also an error in the list. Without an explicit warn
    /// level, warn follows an explicit enforce level that is stricter than it (and its
    /// version, unless warn's is set).
    pub fn from_labels(&self, labels: &BTreeMap<String, String>) -> (Modes, Vec<LabelError>) {
        let mut p = *self;
        let mut errors = Vec::new();
        if labels.is_empty() {
            return (p, errors);
        }
        let get = |suffix: &str| labels.get(&format!("{LABEL_PREFIX}{suffix}")).map(String::as_str);
        let level = |suffix: &str, on_error: Level, errors: &mut Vec<LabelError>| -> Option<(Level, bool)> {
            let text = get(suffix)?;
            Some(match text.parse::<Level>() {
                Ok(l) => (l, true),
                Err(error) => {
                    errors.push(LabelError { label: format!("{LABEL_PREFIX}{suffix}"), error });
                    (on_error, false)
                }
            })
        };
        let mut has_enforce_level = false;
        if let Some((l, ok)) = level("enforce", Level::Restricted, &mut errors) {
            p.enforce.level = l;
            // A bad enforce level does not become warn's default.
            has_enforce_level = ok;
        }
        let version = |suffix: &str, errors: &mut Vec<LabelError>| -> Option<Version> {
            let text = get(suffix)?;
            Some(text.parse::<Version>().unwrap_or_else(|error| {
                errors.push(LabelError { label: format!("{LABEL_PREFIX}{suffix}"), error });
                Version::Latest
            }))
        };
        if let Some(v) = version("enforce-version", &mut errors) {
            p.enforce.version = v;
        }
        if let Some((l, _)) = level("audit", Level::Privileged, &mut errors) {
            p.audit.level = l;
        }
        if let Some(v) = version("audit-version", &mut errors) {
            p.audit.version = v;
        }
        let mut has_warn_level = false;
        if let Some((l, _)) = level("warn", Level::Privileged, &mut errors) {
            p.warn.level = l;
            has_warn_level = true;
        }
        let mut has_warn_version = false;
        if let Some(v) = version("warn-version", &mut errors) {
            p.warn.version = v;
            has_warn_version = true;
        }
        if !has_warn_level && has_enforce_level && p.enforce.level > p.warn.level {
            p.warn.level = p.enforce.level;
            if !has_warn_version {
                p.warn.version = p.enforce.version;
            }
        }
        (p, errors)
    }
}

/// Who and what the admission plugin does not check.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Exemptions {
    pub usernames: Vec<String>,
    pub runtime_classes: Vec<String>,
    pub namespaces: Vec<String>,
}

/// The `PodSecurityConfiguration` (pod-security.admission.config.k8s.io/v1): defaults and
/// exemptions.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PodSecurityConfiguration {
    pub defaults: Modes,
    pub exemptions: Exemptions,
}

pub const CONFIG_API_VERSION: &str = "pod-security.admission.config.k8s.io/v1";

impl PodSecurityConfiguration {
    /// Reads a `PodSecurityConfiguration`, bare or as the `PodSecurity` plugin's
    /// `configuration` in an `apiserver.config.k8s.io/v1` `AdmissionConfiguration`. `input`
    /// names the source in errors. Unknown fields are errors: a setting we would ignore is one
    /// the user thinks applies.
    pub fn from_value(input: &str, doc: &Value) -> Result<Self, PolicyError> {
        let kind = doc["kind"].as_str().unwrap_or_default();
        if kind == "AdmissionConfiguration" {
            let plugins = doc["plugins"].as_array().map(Vec::as_slice).unwrap_or_default();
            let Some(plugin) = plugins.iter().find(|p| p["name"].as_str() == Some("PodSecurity")) else {
                return Err(PolicyError::invalid(input, "AdmissionConfiguration has no PodSecurity plugin"));
            };
            if plugin.get("path").is_some() {
                return Err(PolicyError::unsupported(input, None, "plugins[PodSecurity].path"));
            }
            return Self::from_value(input, &plugin["configuration"]);
        }
        let obj = doc
            .as_object()
            .ok_or_else(|| PolicyError::invalid(input, "a PodSecurityConfiguration must be a mapping"))?;
        let api_version = doc["apiVersion"].as_str().unwrap_or_default();
        if kind != "PodSecurityConfiguration" || api_version != CONFIG_API_VERSION {
            return Err(PolicyError::invalid(
                input,
                format!("expected {CONFIG_API_VERSION} PodSecurityConfiguration, got {api_version:?} {kind:?}"),
            ));
        }
        for key in obj.keys() {
            if !matches!(key.as_str(), "apiVersion" | "kind" | "defaults" | "exemptions") {
                return Err(PolicyError::unsupported(input, None, key.clone()));
            }
        }
        let mut config = PodSecurityConfiguration::default();
        if let Some(defaults) = obj.get("defaults").filter(|d| !d.is_null()) {
            let d = defaults.as_object().ok_or_else(|| PolicyError::invalid(input, "defaults must be a mapping"))?;
            for (key, value) in d {
                let text = value
                    .as_str()
                    .ok_or_else(|| PolicyError::invalid(input, format!("defaults.{key} must be a string")))?;
                let bad = |e: ParseError| PolicyError::invalid(input, format!("defaults.{key}: {e}"));
                let m = &mut config.defaults;
                match key.as_str() {
                    "enforce" => m.enforce.level = text.parse().map_err(bad)?,
                    "enforce-version" => m.enforce.version = text.parse().map_err(bad)?,
                    "audit" => m.audit.level = text.parse().map_err(bad)?,
                    "audit-version" => m.audit.version = text.parse().map_err(bad)?,
                    "warn" => m.warn.level = text.parse().map_err(bad)?,
                    "warn-version" => m.warn.version = text.parse().map_err(bad)?,
                    _ => return Err(PolicyError::unsupported(input, None, format!("defaults.{key}"))),
                }
            }
        }
        if let Some(ex) = obj.get("exemptions").filter(|d| !d.is_null()) {
            let ex = ex.as_object().ok_or_else(|| PolicyError::invalid(input, "exemptions must be a mapping"))?;
            for (key, value) in ex {
                let list = match key.as_str() {
                    "usernames" => &mut config.exemptions.usernames,
                    "runtimeClasses" => &mut config.exemptions.runtime_classes,
                    "namespaces" => &mut config.exemptions.namespaces,
                    _ => return Err(PolicyError::unsupported(input, None, format!("exemptions.{key}"))),
                };
                for item in value.as_array().into_iter().flatten() {
                    match item.as_str() {
                        Some(s) if !s.is_empty() => list.push(s.to_string()),
                        _ => {
                            return Err(PolicyError::invalid(
                                input,
                                format!("exemptions.{key}: {item} is not a non-empty string"),
                            ))
                        }
                    }
                }
                if !value.is_array() && !value.is_null() {
                    return Err(PolicyError::invalid(input, format!("exemptions.{key} must be a list")));
                }
            }
        }
        Ok(config)
    }
}
