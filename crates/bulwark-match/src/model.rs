//! What a scan produces: findings (one per vulnerability per package, aliases merged),
//! findings suppressed with their reason, and what the scan was run against.

use bulwark_catalog::{Location, OsInfo, PackageType, SourceInfo, SourcePackage};
use bulwark_vulndb::severity::Level;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The result of `bulwark scan`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ScanReport {
    pub source: SourceInfo,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os: Option<OsInfo>,
    pub db: DbSummary,
    /// Packages looked up (every package of the inventory with a known ecosystem).
    pub packages_scanned: usize,
    pub findings: Vec<Finding>,
    /// Findings an ignore file, a VEX statement or `--ignore-unfixed` removed, with why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub suppressed: Vec<Suppressed>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// Which database the scan used.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DbSummary {
    pub built_at: String,
    pub schema_version: u32,
    pub advisories: u64,
}

/// The package a finding is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageRef {
    #[serde(rename = "type")]
    pub kind: PackageType,
    pub name: String,
    /// Maven groupId.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub version: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub purl: String,
    /// Source package (Debian/Ubuntu advisories name it rather than the binary package).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<SourcePackage>,
    pub location: Location,
}

/// One vulnerability in one package.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// The id shown first: the CVE when there is one (as Trivy and Grype show it), else
    /// the advisory's own id.
    pub id: String,
    /// Every other id the vulnerability is known by (GHSA, RUSTSEC, PYSEC, DSA, GO-…).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// Ids of the database records that matched (merged because they are aliases).
    pub records: Vec<String>,
    /// OSV ecosystem the package was matched in, e.g. `Debian:12`, `PyPI`.
    pub ecosystem: String,
    pub package: PackageRef,
    pub installed_version: String,
    /// The lowest version that fixes it, when the advisory names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixed_version: Option<String>,
    pub severity: Level,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cvss_vector: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The advisory's page.
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<String>,
}

impl Finding {
    /// The primary id and every alias.
    pub fn all_ids(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.id.as_str()).chain(self.aliases.iter().map(String::as_str))
    }
}

/// A finding left out of the results, and what left it out. In JSON it is
/// `{"finding": …, "by": "vex", "reason": "vex.json: not_affected (…)"}`: `by` is
/// [`Suppression::kind`], `reason` its [`Display`](fmt::Display).
#[derive(Debug, Clone, PartialEq)]
pub struct Suppressed {
    pub finding: Finding,
    pub by: Suppression,
}

/// What suppressed a finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Suppression {
    /// An ignore file entry (`.trivyignore` syntax), by file and line.
    IgnoreFile { file: String, line: usize, id: String, expires: Option<time::Date> },
    /// An OpenVEX statement that the product is not affected, or that the vulnerability is fixed.
    Vex { file: String, status: VexStatus, justification: Option<VexJustification>, impact: Option<String> },
    /// `--ignore-unfixed`: no version fixes it yet.
    Unfixed,
}

/// The OpenVEX statuses that suppress a finding (`affected` and `under_investigation` do not).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VexStatus {
    NotAffected,
    Fixed,
}

/// OpenVEX's justifications for `not_affected`; any other text is kept as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VexJustification {
    ComponentNotPresent,
    VulnerableCodeNotPresent,
    VulnerableCodeNotInExecutePath,
    VulnerableCodeCannotBeControlledByAdversary,
    InlineMitigationsAlreadyExist,
    Other(String),
}

impl Suppression {
    /// `ignorefile`, `vex` or `unfixed`: the JSON's `by`.
    pub fn kind(&self) -> &'static str {
        match self {
            Suppression::IgnoreFile { .. } => "ignorefile",
            Suppression::Vex { .. } => "vex",
            Suppression::Unfixed => "unfixed",
        }
    }

    /// Reads back what [`kind`](Self::kind) and the `Display` wrote; `None` if `reason` is
    /// not in the form `by` writes. Only for reading our own JSON: the writers use the enum.
    pub fn from_json(by: &str, reason: &str) -> Option<Suppression> {
        match by {
            "unfixed" => Some(Suppression::Unfixed),
            "ignorefile" => {
                // `FILE:LINE: ID[ until YYYY-MM-DD]`; the id has no spaces.
                let fmt = time::macros::format_description!("[year]-[month]-[day]");
                let until =
                    reason.rsplit_once(" until ").and_then(|(r, d)| Some((r, time::Date::parse(d, &fmt).ok()?)));
                let (rest, expires) = match until {
                    Some((rest, d)) => (rest, Some(d)),
                    None => (reason, None),
                };
                let (at, id) = rest.rsplit_once(": ")?;
                let (file, line) = at.rsplit_once(':')?;
                Some(Suppression::IgnoreFile { file: file.into(), line: line.parse().ok()?, id: id.into(), expires })
            }
            "vex" => {
                // `FILE: STATUS[ (JUSTIFICATION)][: IMPACT]`: the first status word that
                // ends there, is followed by a justification, or by an impact.
                let (at, status, after) = [(": not_affected", VexStatus::NotAffected), (": fixed", VexStatus::Fixed)]
                    .iter()
                    .flat_map(|(word, status)| {
                        reason.match_indices(word).map(move |(i, _)| (i, *status, &reason[i + word.len()..]))
                    })
                    .filter(|(_, _, after)| after.is_empty() || after.starts_with(" (") || after.starts_with(": "))
                    .min_by_key(|(i, _, _)| *i)?;
                let (justification, rest) = match after.strip_prefix(" (") {
                    Some(j) => {
                        let end = j.match_indices(')').map(|(i, _)| i).find(|&i| {
                            let tail = &j[i + 1..];
                            tail.is_empty() || tail.starts_with(": ")
                        })?;
                        (Some(VexJustification::from(j[..end].to_string())), &j[end + 1..])
                    }
                    None => (None, after),
                };
                let impact = rest.strip_prefix(": ").map(str::to_string);
                Some(Suppression::Vex { file: reason[..at].into(), status, justification, impact })
            }
            _ => None,
        }
    }
}

/// The reason shown in JSON, e.g. `.bulwarkignore:3: CVE-2024-1 until 2030-01-01` or
/// `vex.json: not_affected (vulnerable_code_not_in_execute_path): never called`.
impl fmt::Display for Suppression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Suppression::IgnoreFile { file, line, id, expires } => {
                write!(f, "{file}:{line}: {id}")?;
                if let Some(d) = expires {
                    write!(f, " until {d}")?;
                }
                Ok(())
            }
            Suppression::Vex { file, status, justification, impact } => {
                write!(f, "{file}: {}", status.as_str())?;
                if let Some(j) = justification {
                    write!(f, " ({})", j.as_str())?;
                }
                if let Some(i) = impact {
                    write!(f, ": {i}")?;
                }
                Ok(())
            }
            Suppression::Unfixed => f.write_str("no fixed version"),
        }
    }
}

impl VexStatus {
    /// The status if it is one that suppresses.
    pub fn suppressing(status: &str) -> Option<VexStatus> {
        match status {
            "not_affected" => Some(VexStatus::NotAffected),
            "fixed" => Some(VexStatus::Fixed),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            VexStatus::NotAffected => "not_affected",
            VexStatus::Fixed => "fixed",
        }
    }
}

impl VexJustification {
    const KNOWN: [VexJustification; 5] = [
        VexJustification::ComponentNotPresent,
        VexJustification::VulnerableCodeNotPresent,
        VexJustification::VulnerableCodeNotInExecutePath,
        VexJustification::VulnerableCodeCannotBeControlledByAdversary,
        VexJustification::InlineMitigationsAlreadyExist,
    ];

    pub fn as_str(&self) -> &str {
        match self {
            VexJustification::ComponentNotPresent => "component_not_present",
            VexJustification::VulnerableCodeNotPresent => "vulnerable_code_not_present",
            VexJustification::VulnerableCodeNotInExecutePath => "vulnerable_code_not_in_execute_path",
            VexJustification::VulnerableCodeCannotBeControlledByAdversary => {
                "vulnerable_code_cannot_be_controlled_by_adversary"
            }
            VexJustification::InlineMitigationsAlreadyExist => "inline_mitigations_already_exist",
            VexJustification::Other(s) => s,
        }
    }
}

impl From<String> for VexJustification {
    fn from(s: String) -> Self {
        VexJustification::KNOWN.into_iter().find(|k| k.as_str() == s).unwrap_or(VexJustification::Other(s))
    }
}

/// The JSON form: `by` and `reason` strings, as before the enum.
#[derive(Serialize, Deserialize)]
struct SuppressedJson<F, S> {
    finding: F,
    by: S,
    reason: S,
}

impl Serialize for Suppressed {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        SuppressedJson { finding: &self.finding, by: self.by.kind().to_string(), reason: self.by.to_string() }
            .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Suppressed {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let j = SuppressedJson::<Finding, String>::deserialize(d)?;
        let by = Suppression::from_json(&j.by, &j.reason).ok_or_else(|| {
            let cut = |s: &str| s.chars().take(80).collect::<String>();
            serde::de::Error::custom(format!(
                "suppressed by {:?}: reason {:?} is not one bulwark writes",
                cut(&j.by),
                cut(&j.reason)
            ))
        })?;
        Ok(Suppressed { finding: j.finding, by })
    }
}
