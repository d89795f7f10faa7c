//! What a scan produces: findings (one per vulnerability per package, aliases merged),
//! findings suppressed with their reason, and what the scan was run against.

use bulwark_catalog::{Location, OsInfo, PackageType, SourceInfo, SourcePackage};
use bulwark_vulndb::severity::Level;
use serde::{Deserialize, Serialize};

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

/// A finding left out of the results, with the reason kept for the JSON output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Suppressed {
    pub finding: Finding,
    /// `ignorefile`, `vex` or `unfixed`.
    pub by: String,
    /// The ignore file line, the VEX statement's status and justification, …
    pub reason: String,
}
