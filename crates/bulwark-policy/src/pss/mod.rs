//! The Pod Security Standards (baseline, restricted), every check of every version, as
//! Kubernetes' pod-security-admission evaluates them.
//!
//! The API below is what the rest of the engine uses (the `pod-security` policy of `bulwark
//! policy apply --pss`, namespace labels, Kyverno's `validate.podSecurity`).
//!
//! The model is upstream's registry (`policy/registry.go`): each check has versioned
//! implementations; a policy version uses, per check, the newest implementation whose minimum
//! version it has reached; versions past the newest minimum are clamped to it; restricted is
//! every baseline check except those a restricted check overrides at that version, plus the
//! restricted checks.

mod checks;
mod config;
mod policy;

pub use config::{Exemptions, Modes, PodSecurityConfiguration, LABEL_PREFIX};
pub use policy::{PodSecurity, POLICY_NAME};

use serde_json::Value;
use std::fmt;
use std::str::FromStr;

/// The newest policy version we implement: `latest` means this one.
pub const MAX_MINOR: u32 = 37;

/// A Pod Security Standards level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    Privileged,
    Baseline,
    Restricted,
}

/// A policy version: `latest` or `v1.MINOR`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Version {
    /// A minor version of Kubernetes 1.x.
    Minor(u32),
    Latest,
}

/// A level at a version (`restricted:v1.30`, `baseline:latest`, `restricted`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LevelVersion {
    pub level: Level,
    pub version: Version,
}

/// One check's verdict on a pod.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckResult {
    /// The upstream check id (`allowPrivilegeEscalation`, `capabilities_restricted`, ...).
    pub id: &'static str,
    /// The control's name in the Pod Security Standards page (Kyverno's `controlName`).
    pub control: &'static str,
    pub allowed: bool,
    /// Upstream's forbidden reason and detail (`allowPrivilegeEscalation != false`,
    /// `container "x" must set securityContext.allowPrivilegeEscalation=false`).
    pub reason: String,
    pub detail: String,
}

impl CheckResult {
    /// Upstream's `reason (detail)` form (`ForbiddenDetail` of an aggregate of one); empty when
    /// allowed.
    pub fn message(&self) -> String {
        match (self.allowed, self.detail.is_empty()) {
            (true, _) => String::new(),
            (false, true) => self.reason.clone(),
            (false, false) => format!("{} ({})", self.reason, self.detail),
        }
    }
}

/// An error parsing a level, version or label: names the bad text.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{what} {text:?}: {expected}")]
pub struct ParseError {
    pub what: &'static str,
    pub text: String,
    pub expected: &'static str,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Privileged => "privileged",
            Level::Baseline => "baseline",
            Level::Restricted => "restricted",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `api.ParseLevel`: exactly `privileged`, `baseline` or `restricted` (case-sensitive).
impl FromStr for Level {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, ParseError> {
        match s {
            "privileged" => Ok(Level::Privileged),
            "baseline" => Ok(Level::Baseline),
            "restricted" => Ok(Level::Restricted),
            _ => Err(ParseError {
                what: "level",
                text: s.to_string(),
                expected: "must be one of privileged, baseline, restricted",
            }),
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Version::Latest => f.write_str("latest"),
            Version::Minor(m) => write!(f, "v1.{m}"),
        }
    }
}

/// `api.ParseVersion`: `latest` or `v1.N` (regexp `^v1\.([0-9]|[1-9][0-9]*)$`: no leading
/// zeros, no patch, major 1 only).
impl FromStr for Version {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, ParseError> {
        let err = || ParseError { what: "version", text: s.to_string(), expected: "must be \"latest\" or \"v1.x\"" };
        if s == "latest" {
            return Ok(Version::Latest);
        }
        let minor = s.strip_prefix("v1.").ok_or_else(err)?;
        let digits_ok =
            !minor.is_empty() && minor.bytes().all(|b| b.is_ascii_digit()) && (minor == "0" || !minor.starts_with('0'));
        if !digits_ok {
            return Err(err());
        }
        // Go's Atoi fails past its range; a minor that large is an error there too.
        minor.parse::<u32>().map(Version::Minor).map_err(|_| err())
    }
}

impl fmt::Display for LevelVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.level, self.version)
    }
}

/// `LEVEL` or `LEVEL:VERSION` (`restricted`, `restricted:v1.30`, `baseline:latest`); a missing
/// version is `latest`, as for namespace labels.
impl FromStr for LevelVersion {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, ParseError> {
        let (level, version) = match s.split_once(':') {
            Some((l, v)) => (l, v.parse()?),
            None => (s, Version::Latest),
        };
        Ok(LevelVersion { level: level.parse()?, version })
    }
}

type CheckFn = fn(&Value, &Value) -> checks::Denial;

/// One implementation of a check, from a minimum version on.
struct Versioned {
    min: u32,
    check: CheckFn,
    /// Baseline checks this (restricted) implementation replaces at restricted.
    overrides: &'static [&'static str],
}

struct Check {
    id: &'static str,
    control: &'static str,
    level: Level,
    versions: &'static [Versioned],
}

const fn v(min: u32, check: CheckFn) -> Versioned {
    Versioned { min, check, overrides: &[] }
}

const fn vo(min: u32, check: CheckFn, overrides: &'static [&'static str]) -> Versioned {
    Versioned { min, check, overrides }
}

use checks as c;

/// Every check, baseline ones then restricted ones, each group sorted by id as upstream's
/// registry orders them (Go string order: bytes).
static CHECKS: &[Check] = &[
    Check {
        id: "appArmorProfile",
        control: "AppArmor",
        level: Level::Baseline,
        versions: &[v(0, c::app_armor_profile_1_0)],
    },
    Check {
        id: "capabilities_baseline",
        control: "Capabilities",
        level: Level::Baseline,
        versions: &[v(0, c::capabilities_baseline_1_0)],
    },
    Check {
        id: "hostNamespaces",
        control: "Host Namespaces",
        level: Level::Baseline,
        versions: &[v(0, c::host_namespaces_1_0)],
    },
    Check {
        id: "hostPathVolumes",
        control: "HostPath Volumes",
        level: Level::Baseline,
        versions: &[v(0, c::host_path_volumes_1_0)],
    },
    Check { id: "hostPorts", control: "Host Ports", level: Level::Baseline, versions: &[v(0, c::host_ports_1_0)] },
    Check {
        id: "hostProbesAndHostLifecycle",
        control: "Host Probes / Lifecycle Hooks",
        level: Level::Baseline,
        versions: &[v(34, c::host_probes_and_host_lifecycle_1_34)],
    },
    Check {
        id: "privileged",
        control: "Privileged Containers",
        level: Level::Baseline,
        versions: &[v(0, c::privileged_1_0)],
    },
    Check {
        id: "procMount",
        control: "/proc Mount Type",
        level: Level::Baseline,
        versions: &[v(0, c::proc_mount_1_0), v(35, c::proc_mount_1_35_baseline)],
    },
    Check {
        id: "seLinuxOptions",
        control: "SELinux",
        level: Level::Baseline,
        versions: &[v(0, c::se_linux_options_1_0), v(31, c::se_linux_options_1_31)],
    },
    Check {
        id: "seccompProfile_baseline",
        control: "Seccomp",
        level: Level::Baseline,
        versions: &[v(0, c::seccomp_profile_baseline_1_0), v(19, c::seccomp_profile_baseline_1_19)],
    },
    Check {
        id: "sysctls",
        control: "Sysctls",
        level: Level::Baseline,
        versions: &[
            v(0, c::sysctls_1_0),
            v(27, c::sysctls_1_27),
            v(29, c::sysctls_1_29),
            v(32, c::sysctls_1_32),
            v(37, c::sysctls_1_37),
        ],
    },
    Check {
        id: "windowsHostProcess",
        control: "HostProcess",
        level: Level::Baseline,
        versions: &[v(0, c::windows_host_process_1_0)],
    },
    Check {
        id: "allowPrivilegeEscalation",
        control: "Privilege Escalation",
        level: Level::Restricted,
        versions: &[v(8, c::allow_privilege_escalation_1_8), v(25, c::allow_privilege_escalation_1_25)],
    },
    Check {
        id: "capabilities_restricted",
        control: "Capabilities",
        level: Level::Restricted,
        versions: &[
            vo(22, c::capabilities_restricted_1_22, &["capabilities_baseline"]),
            vo(25, c::capabilities_restricted_1_25, &["capabilities_baseline"]),
        ],
    },
    Check {
        id: "procMount_restricted",
        control: "/proc Mount Type",
        level: Level::Restricted,
        versions: &[vo(35, c::proc_mount_1_0, &["procMount"])],
    },
    Check {
        id: "restrictedVolumes",
        control: "Volume Types",
        level: Level::Restricted,
        versions: &[vo(0, c::restricted_volumes_1_0, &["hostPathVolumes"])],
    },
    Check {
        id: "runAsNonRoot",
        control: "Running as Non-root",
        level: Level::Restricted,
        versions: &[v(0, c::run_as_non_root_1_0), v(35, c::run_as_non_root_1_35)],
    },
    Check {
        id: "runAsUser",
        control: "Running as Non-root user",
        level: Level::Restricted,
        versions: &[v(23, c::run_as_user_1_23), v(35, c::run_as_user_1_35)],
    },
    Check {
        id: "seccompProfile_restricted",
        control: "Seccomp",
        level: Level::Restricted,
        versions: &[
            vo(19, c::seccomp_profile_restricted_1_19, &["seccompProfile_baseline"]),
            vo(25, c::seccomp_profile_restricted_1_25, &["seccompProfile_baseline"]),
        ],
    },
];

/// Every check id, in upstream's order.
pub fn check_ids() -> impl Iterator<Item = &'static str> {
    CHECKS.iter().map(|c| c.id)
}

/// A check's implementation at minor version `minor`, if the check exists there.
fn at(check: &Check, minor: u32) -> Option<&Versioned> {
    check.versions.iter().rev().find(|v| v.min <= minor)
}

/// The minor version a policy version evaluates as (`latest` and future versions are clamped
/// to the newest, as upstream's registry does).
pub fn effective_minor(version: Version) -> u32 {
    match version {
        Version::Latest => MAX_MINOR,
        Version::Minor(m) => m.min(MAX_MINOR),
    }
}

/// Every check of `lv` on a pod (its metadata and spec), in upstream's order.
pub fn evaluate_pod(lv: LevelVersion, metadata: &Value, spec: &Value) -> Vec<CheckResult> {
    if lv.level == Level::Privileged {
        return Vec::new();
    }
    let minor = effective_minor(lv.version);
    // Without collecting the overridden ids: this runs for every pod.
    let overridden = |id: &str| {
        lv.level == Level::Restricted
            && CHECKS
                .iter()
                .filter(|c| c.level == Level::Restricted)
                .filter_map(|c| at(c, minor))
                .any(|v| v.overrides.contains(&id))
    };
    let mut out = Vec::with_capacity(CHECKS.len());
    out.extend(
        CHECKS
            .iter()
            .filter(|c| c.level <= lv.level && !(c.level == Level::Baseline && overridden(c.id)))
            .filter_map(|c| at(c, minor).map(|v| (c, v)))
            .map(|(c, v)| match (v.check)(metadata, spec) {
                None => CheckResult {
                    id: c.id,
                    control: c.control,
                    allowed: true,
                    reason: String::new(),
                    detail: String::new(),
                },
                Some((reason, detail)) => CheckResult { id: c.id, control: c.control, allowed: false, reason, detail },
            }),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_are_in_upstream_order_and_versions_increase() {
        let baseline: Vec<&str> = CHECKS.iter().filter(|c| c.level == Level::Baseline).map(|c| c.id).collect();
        let restricted: Vec<&str> = CHECKS.iter().filter(|c| c.level == Level::Restricted).map(|c| c.id).collect();
        let mut b = baseline.clone();
        b.sort_unstable();
        let mut r = restricted.clone();
        r.sort_unstable();
        assert_eq!(baseline, b);
        assert_eq!(restricted, r);
        assert_eq!(CHECKS.len(), baseline.len() + restricted.len());
        assert!(CHECKS.iter().position(|c| c.level == Level::Restricted) == Some(baseline.len()));
        for c in CHECKS {
            assert!(c.versions.windows(2).all(|w| w[0].min < w[1].min), "{}", c.id);
            assert!(c.versions.iter().all(|v| v.min <= MAX_MINOR), "{}", c.id);
            for v in c.versions {
                assert!(c.level == Level::Restricted || v.overrides.is_empty(), "{}", c.id);
                for o in v.overrides {
                    assert!(CHECKS.iter().any(|b| b.id == *o && b.level == Level::Baseline), "{o}");
                }
            }
        }
        assert_eq!(CHECKS.iter().flat_map(|c| c.versions).map(|v| v.min).max(), Some(MAX_MINOR));
    }
}
