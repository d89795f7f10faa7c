//! SARIF 2.1.0 as GitHub code scanning takes it: one run, one rule per advisory, one result
//! per vulnerable package, located at the file the package was found in (relative to the
//! image root, as GitHub wants a relative URI).
//!
//! Suppressed findings are left out: GitHub does not reliably honour SARIF `suppressions`
//! and would open alerts for them. Their reasons are in the JSON format.

use super::{fingerprint, is_web_url, package_name, source_name, valid_score};
use crate::text::{clean, cut, markdown};
use crate::{ReportError, ReportFormat, WriteOptions};
use bulwark_match::{Finding, ScanReport};
use bulwark_vulndb::severity::Level;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::io::Write;

pub struct Sarif;

const SCHEMA: &str = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";
/// The base the relative locations resolve against: the image's root directory.
const ROOT: &str = "ROOTPATH";
/// Longest rule description kept; advisories' details run to pages.
const MAX_DESCRIPTION: usize = 2000;
const MAX_SHORT: usize = 300;
/// Packages listed in one rule's help before "and N more".
const MAX_HELP_PACKAGES: usize = 20;
/// The key of our fingerprint in `partialFingerprints`; bump the version if its inputs change.
const FINGERPRINT_KEY: &str = "bulwarkFinding/v1";

impl ReportFormat for Sarif {
    fn name(&self) -> &'static str {
        "sarif"
    }

    fn write(&self, report: &ScanReport, out: &mut dyn Write, _opts: &WriteOptions) -> Result<(), ReportError> {
        serde_json::to_writer_pretty(&mut *out, &build(report))?;
        writeln!(out)?;
        Ok(())
    }
}

#[derive(Serialize)]
struct Log {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    runs: Vec<Run>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Run {
    tool: Tool,
    original_uri_base_ids: BTreeMap<&'static str, ArtifactLocation>,
    results: Vec<SarifResult>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    properties: BTreeMap<&'static str, String>,
}

#[derive(Serialize)]
struct Tool {
    driver: Driver,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Driver {
    name: &'static str,
    full_name: String,
    version: &'static str,
    semantic_version: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    information_uri: Option<&'static str>,
    rules: Vec<Rule>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Rule {
    id: String,
    name: &'static str,
    short_description: Text,
    full_description: Text,
    #[serde(skip_serializing_if = "Option::is_none")]
    help_uri: Option<String>,
    help: Help,
    properties: RuleProperties,
}

#[derive(Serialize)]
struct Text {
    text: String,
}

#[derive(Serialize)]
struct Help {
    text: String,
    markdown: String,
}

#[derive(Serialize)]
struct RuleProperties {
    /// GitHub reads this (a number as a string) to rank the alert: 9.0+ critical, 7.0+ high…
    #[serde(rename = "security-severity", skip_serializing_if = "Option::is_none")]
    security_severity: Option<String>,
    precision: &'static str,
    tags: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult {
    rule_id: String,
    rule_index: usize,
    level: &'static str,
    message: Text,
    locations: Vec<Location>,
    partial_fingerprints: BTreeMap<&'static str, String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Location {
    physical_location: PhysicalLocation,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PhysicalLocation {
    artifact_location: ArtifactLocation,
    region: Region,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ArtifactLocation {
    uri: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    uri_base_id: Option<&'static str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Region {
    start_line: u32,
}

/// The project's page, when the workspace names one (`homepage` or `repository`).
fn information_uri() -> Option<&'static str> {
    [env!("CARGO_PKG_HOMEPAGE"), env!("CARGO_PKG_REPOSITORY")].into_iter().find(|u| is_web_url(u))
}

fn build(report: &ScanReport) -> Log {
    // Rules in order of first appearance; each advisory's findings kept for its help text.
    let mut index: HashMap<&str, usize> = HashMap::new();
    let mut groups: Vec<Vec<&Finding>> = Vec::new();
    for f in &report.findings {
        let i = *index.entry(f.id.as_str()).or_insert_with(|| {
            groups.push(Vec::new());
            groups.len() - 1
        });
        groups[i].push(f);
    }
    let rules = groups.iter().filter_map(|g| Some(rule(g.first()?, g))).collect();
    let results =
        report.findings.iter().map(|f| result(f, index.get(f.id.as_str()).copied().unwrap_or_default())).collect();

    let mut properties = BTreeMap::new();
    properties.insert("imageName", source_name(&report.source).to_string());
    if let Some(d) = &report.source.manifest_digest {
        properties.insert("manifestDigest", d.clone());
    }
    if let Some(id) = &report.source.image_id {
        properties.insert("imageId", id.clone());
    }

    let driver = Driver {
        name: "bulwark",
        full_name: concat!("bulwark ", env!("CARGO_PKG_VERSION")).to_string(),
        version: env!("CARGO_PKG_VERSION"),
        semantic_version: env!("CARGO_PKG_VERSION"),
        information_uri: information_uri(),
        rules,
    };
    Log {
        schema: SCHEMA,
        version: "2.1.0",
        runs: vec![Run {
            tool: Tool { driver },
            original_uri_base_ids: BTreeMap::from([(
                ROOT,
                ArtifactLocation { uri: "file:///".into(), uri_base_id: None },
            )]),
            results,
            properties,
        }],
    }
}

/// The rule for one advisory, from all its findings (the same id in several packages).
fn rule(first: &Finding, group: &[&Finding]) -> Rule {
    let level = group.iter().map(|f| f.severity).max().unwrap_or_default();
    let score = group.iter().filter_map(|f| valid_score(f)).reduce(f64::max);
    let title = first.title.as_deref().map(clean).filter(|t| !t.is_empty());
    let short = cut(title.as_deref().unwrap_or(&first.id), MAX_SHORT);
    let description = first.description.as_deref().map(|d| d.trim()).filter(|d| !d.is_empty());
    let full = cut(description.unwrap_or(&short), MAX_DESCRIPTION);
    let url = Some(first.url.clone()).filter(|u| is_web_url(u));

    let mut text = format!("Vulnerability {}\nSeverity: {level}\n", clean(&first.id));
    let mut md = format!(
        "**Vulnerability {}**\n\n| Severity | Package | Installed Version | Fixed Version | Location |\n| --- | --- | --- | --- | --- |\n",
        markdown(&first.id)
    );
    for f in group.iter().take(MAX_HELP_PACKAGES) {
        let fixed = clean(f.fixed_version.as_deref().unwrap_or("none"));
        text.push_str(&format!(
            "Package: {}\nInstalled Version: {}\nFixed Version: {fixed}\nLocation: {}\n",
            clean(&package_name(&f.package)),
            clean(&f.installed_version),
            clean(&f.package.location.path)
        ));
        md.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            f.severity,
            markdown(&package_name(&f.package)),
            markdown(&f.installed_version),
            markdown(&fixed),
            markdown(&f.package.location.path)
        ));
    }
    if group.len() > MAX_HELP_PACKAGES {
        let more = format!("… and {} more\n", group.len() - MAX_HELP_PACKAGES);
        text.push_str(&more);
        md.push_str(&format!("\n{more}"));
    }
    if let Some(u) = &url {
        text.push_str(&format!("Link: {u}\n"));
        // In angle brackets: a `)` in the URL would end a bare link destination.
        md.push_str(&format!("\n[{}](<{u}>)\n", markdown(&first.id)));
    }
    if let Some(d) = description {
        // Line by line, so paragraphs survive the cleaning.
        let d = cut(d, MAX_DESCRIPTION);
        let lines = || d.lines().map(|l| l.trim_end());
        text.push_str(&format!("\n{}\n", lines().map(clean).collect::<Vec<_>>().join("\n")));
        md.push_str(&format!("\n{}\n", lines().map(markdown).collect::<Vec<_>>().join("\n")));
    }

    Rule {
        id: first.id.clone(),
        name: if first.package.kind.is_os() {
            "OsPackageVulnerability"
        } else {
            "LanguageSpecificPackageVulnerability"
        },
        short_description: Text { text: short },
        full_description: Text { text: full },
        help_uri: url,
        help: Help { text, markdown: md },
        properties: RuleProperties {
            security_severity: security_severity(score, level),
            precision: "very-high",
            tags: vec!["security".into(), "vulnerability".into(), level.as_str().into()],
        },
    }
}

/// The CVSS score, else a value in the middle of the level's band; none for UNKNOWN.
fn security_severity(score: Option<f64>, level: Level) -> Option<String> {
    if let Some(s) = score {
        return Some(format!("{s:.1}"));
    }
    let v = match level {
        Level::Critical => "9.5",
        Level::High => "8.0",
        Level::Medium => "5.5",
        Level::Low => "2.0",
        Level::Unknown => return None,
    };
    Some(v.to_string())
}

fn sarif_level(level: Level) -> &'static str {
    match level {
        Level::Critical | Level::High => "error",
        Level::Medium => "warning",
        Level::Low | Level::Unknown => "note",
    }
}

fn result(f: &Finding, rule_index: usize) -> SarifResult {
    let name = package_name(&f.package);
    let fixed = match &f.fixed_version {
        Some(v) => format!("fixed in {v}"),
        None => "no fix yet".to_string(),
    };
    let message = format!("Package {name} version {} is vulnerable to {} ({fixed})", f.installed_version, f.id);
    let p = &f.package;
    let print = fingerprint(&[
        &f.id,
        p.kind.as_str(),
        p.namespace.as_deref().unwrap_or(""),
        &p.name,
        &f.installed_version,
        &p.location.path,
    ]);
    SarifResult {
        rule_id: f.id.clone(),
        rule_index,
        level: sarif_level(f.severity),
        message: Text { text: message },
        locations: vec![Location {
            physical_location: PhysicalLocation {
                artifact_location: ArtifactLocation { uri: relative_uri(&p.location.path), uri_base_id: Some(ROOT) },
                region: Region { start_line: 1 },
            },
        }],
        partial_fingerprints: BTreeMap::from([(FINGERPRINT_KEY, print)]),
    }
}

/// The path inside the image as a relative URI reference: no leading `/`, and every byte
/// that may not stand in a path percent-encoded (`:` too, which in a first segment would
/// read as a scheme).
fn relative_uri(path: &str) -> String {
    let path = path.trim_start_matches('/');
    if path.is_empty() {
        return ".".to_string();
    }
    let mut out = String::with_capacity(path.len());
    for &b in path.as_bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/!$&'()*+,;=@".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_uris() {
        assert_eq!(relative_uri("/var/lib/dpkg/status"), "var/lib/dpkg/status");
        assert_eq!(relative_uri("/app/x.jar!/BOOT-INF/lib/y z.jar"), "app/x.jar!/BOOT-INF/lib/y%20z.jar");
        assert_eq!(relative_uri("//c:/a%b\n"), "c%3A/a%25b%0A");
        assert_eq!(relative_uri("/ü"), "%C3%BC");
        assert_eq!(relative_uri("/"), ".");
    }

    #[test]
    fn severity_from_score_or_level() {
        assert_eq!(security_severity(Some(7.46), Level::High).as_deref(), Some("7.5"));
        assert_eq!(security_severity(Some(0.0), Level::Unknown).as_deref(), Some("0.0"));
        assert_eq!(security_severity(None, Level::Critical).as_deref(), Some("9.5"));
        assert_eq!(security_severity(None, Level::Medium).as_deref(), Some("5.5"));
        assert_eq!(security_severity(None, Level::Unknown), None);
        assert_eq!(sarif_level(Level::High), "error");
        assert_eq!(sarif_level(Level::Medium), "warning");
        assert_eq!(sarif_level(Level::Unknown), "note");
    }
}
