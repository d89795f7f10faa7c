//! CycloneDX 1.6 JSON: the scanned image as `metadata.component`, the vulnerable packages as
//! components, and one `vulnerabilities` entry per finding pointing at its package.
//!
//! Findings a VEX statement suppressed are kept with an `analysis` (`not_affected` or
//! `resolved`, and the justification mapped from OpenVEX), since that is what CycloneDX VEX
//! says; ones an ignore file or `--ignore-unfixed` removed are left out, as in the table.
//! No timestamp or serial number: the same scan gives the same document.

use super::{is_web_url, package_name, source_name, valid_score};
use crate::{ReportError, ReportFormat, WriteOptions};
use bulwark_catalog::{Location, PackageType, SourcePackage};
use bulwark_match::{Finding, PackageRef, ScanReport, Suppression, VexJustification, VexStatus};
use bulwark_sbom::formats::cyclonedx::model::{
    package_ref, AffectedVersion, Affects, Analysis, Bom, Component, Rating, Reference, Source, Vulnerability,
};
use bulwark_vulndb::severity::Level;
use std::collections::HashMap;
use std::io::Write;

pub struct CycloneDx;

/// The schema's limit on a version string.
const MAX_VERSION: usize = 1024;

impl ReportFormat for CycloneDx {
    fn name(&self) -> &'static str {
        "cyclonedx"
    }

    fn aliases(&self) -> &'static [&'static str] {
        &["cyclonedx-json"]
    }

    fn write(&self, report: &ScanReport, out: &mut dyn Write, _opts: &WriteOptions) -> Result<(), ReportError> {
        serde_json::to_writer_pretty(&mut *out, &build(report))?;
        writeln!(out)?;
        Ok(())
    }
}

fn build(report: &ScanReport) -> Bom {
    let mut refs = Refs::default();

    // The schema wants a non-empty bom-ref; a scan of nothing named still makes a BOM.
    let name = Some(source_name(&report.source)).filter(|n| !n.is_empty()).unwrap_or("unknown");
    let mut root = Component::new(if report.source.kind == "dir" { "file" } else { "container" }, name);
    root.version = report.source.manifest_digest.clone().or_else(|| report.source.image_id.clone());
    root.bom_ref = Some(refs.claim(match &root.version {
        Some(v) => format!("{name}@{v}"),
        None => name.to_string(),
    }));

    let vex = report.suppressed.iter().filter_map(|s| analysis(&s.by).map(|a| (&s.finding, Some(a))));
    let entries: Vec<(&Finding, Option<Analysis>)> = report.findings.iter().map(|f| (f, None)).chain(vex).collect();

    // One component per distinct package, in order of first appearance.
    let mut components = Vec::new();
    let mut by_package: HashMap<PackageKey, String> = HashMap::new();
    let mut vulnerabilities = Vec::with_capacity(entries.len());
    for (f, analysis) in entries {
        let key = package_key(&f.package);
        let bom_ref = match by_package.get(&key) {
            Some(r) => r.clone(),
            None => {
                let c = package_component(&f.package, &mut refs);
                let r = c.bom_ref.clone().unwrap_or_default();
                components.push(c);
                by_package.insert(key, r.clone());
                r
            }
        };
        vulnerabilities.push(vulnerability(f, bom_ref, analysis));
    }

    let mut bom = Bom::new(root, components);
    bom.vulnerabilities = Some(vulnerabilities);
    bom
}

/// What tells packages apart: everything in [`PackageRef`] (which is not `Hash`).
type PackageKey<'a> =
    (PackageType, Option<&'a str>, &'a str, &'a str, &'a str, Option<&'a SourcePackage>, &'a Location);

fn package_key(p: &PackageRef) -> PackageKey<'_> {
    (p.kind, p.namespace.as_deref(), &p.name, &p.version, &p.purl, p.source.as_ref(), &p.location)
}

/// Each `bom-ref` handed out once, as in our SBOMs.
type Refs = bulwark_sbom::Ids;

fn version(v: &str) -> Option<String> {
    (!v.is_empty()).then(|| v.chars().take(MAX_VERSION).collect())
}

fn package_component(p: &PackageRef, refs: &mut Refs) -> Component {
    let mut c = Component::new("library", p.name.clone());
    c.bom_ref = Some(refs.claim(package_ref(&p.purl, p.kind, p.namespace.as_deref(), &p.name, &p.version)));
    c.group = p.namespace.clone().filter(|g| !g.is_empty());
    c.version = version(&p.version);
    c.purl = Some(p.purl.clone()).filter(|u| !u.is_empty());
    c.property("bulwark:package:type", p.kind.as_str());
    c.property("bulwark:location:path", &p.location.path);
    if let Some(layer) = &p.location.layer {
        c.property("bulwark:location:layer", layer);
    }
    c
}

fn vulnerability(f: &Finding, bom_ref: String, analysis: Option<Analysis>) -> Vulnerability {
    let references = f
        .aliases
        .iter()
        .map(|a| Reference {
            id: a.clone(),
            source: Source { name: source_of(a), url: Some(format!("https://osv.dev/vulnerability/{a}")) },
        })
        .collect();
    let score = valid_score(f);
    let rating = Rating {
        score,
        severity: severity(f.severity),
        method: score.map(|_| method(f.cvss_vector.as_deref().unwrap_or(""))),
        vector: f.cvss_vector.clone().filter(|v| !v.is_empty()),
    };
    let recommendation = f.fixed_version.as_ref().map(|v| format!("Upgrade {} to {v}", package_name(&f.package)));
    // A VEX-suppressed finding is about a version its owner says is not affected.
    let status = if analysis.is_some() { "unaffected" } else { "affected" };
    Vulnerability {
        id: f.id.clone(),
        source: Source { name: source_of(&f.id), url: Some(f.url.clone()).filter(|u| is_web_url(u)) },
        references,
        ratings: vec![rating],
        description: f.title.clone().filter(|t| !t.is_empty()),
        detail: f.description.clone().filter(|d| !d.is_empty()),
        recommendation,
        published: f.published.clone().filter(|p| is_date_time(p)),
        analysis,
        affects: vec![Affects {
            bom_ref,
            versions: vec![AffectedVersion {
                version: version(&f.installed_version).unwrap_or_else(|| "unknown".into()),
                status,
            }],
        }],
    }
}

/// Who publishes ids with this prefix; the database is built from OSV, so OSV otherwise.
fn source_of(id: &str) -> &'static str {
    let prefix = id.split('-').next().unwrap_or("").to_ascii_uppercase();
    match prefix.as_str() {
        "CVE" => "NVD",
        "GHSA" => "GitHub",
        "RUSTSEC" => "RustSec",
        "PYSEC" => "PyPA",
        "GO" => "Go",
        "DSA" | "DLA" | "DTSA" | "DEBIAN" => "Debian",
        "USN" | "UBUNTU" => "Ubuntu",
        "ALSA" | "ALBA" | "ALEA" => "AlmaLinux",
        "RLSA" => "Rocky Linux",
        "RHSA" | "RHBA" | "RHEA" => "Red Hat",
        "ALPINE" => "Alpine",
        _ => "OSV",
    }
}

fn severity(level: Level) -> &'static str {
    match level {
        Level::Critical => "critical",
        Level::High => "high",
        Level::Medium => "medium",
        Level::Low => "low",
        Level::Unknown => "unknown",
    }
}

/// The scoring method a vector names by its prefix; a v2 vector has none.
fn method(vector: &str) -> &'static str {
    if vector.starts_with("CVSS:4.0/") {
        "CVSSv4"
    } else if vector.starts_with("CVSS:3.1/") {
        "CVSSv31"
    } else if vector.starts_with("CVSS:3.0/") {
        "CVSSv3"
    } else if vector.starts_with("AV:") {
        "CVSSv2"
    } else {
        "other"
    }
}

/// The CycloneDX analysis of a suppressed finding: a VEX statement's state, justification
/// and the reason as detail. Findings an ignore file or `--ignore-unfixed` removed have none
/// (they are left out of the document, as in the table).
fn analysis(s: &Suppression) -> Option<Analysis> {
    let (state, justification) = match s {
        Suppression::Vex { status: VexStatus::Fixed, .. } => ("resolved", None),
        Suppression::Vex { status: VexStatus::NotAffected, justification, .. } => {
            ("not_affected", justification.as_ref().and_then(justification_of))
        }
        Suppression::IgnoreFile { .. } | Suppression::Unfixed => return None,
    };
    Some(Analysis { state, justification, detail: s.to_string() })
}

/// The nearest CycloneDX justification to an OpenVEX one (the CycloneDX 1.6 set is finer).
fn justification_of(j: &VexJustification) -> Option<&'static str> {
    match j {
        VexJustification::ComponentNotPresent | VexJustification::VulnerableCodeNotPresent => Some("code_not_present"),
        VexJustification::VulnerableCodeNotInExecutePath => Some("code_not_reachable"),
        VexJustification::VulnerableCodeCannotBeControlledByAdversary => Some("requires_environment"),
        VexJustification::InlineMitigationsAlreadyExist => Some("protected_by_mitigating_control"),
        VexJustification::Other(_) => None,
    }
}

/// RFC 3339 date-time (`2024-01-31T12:00:00Z`, optional fraction, `Z` or offset), the
/// schema's `date-time`; OSV's `published` should be one, but a record could say anything.
fn is_date_time(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| b.get(r).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    let at = |i: usize, c: &[u8]| b.get(i).is_some_and(|x| c.contains(x));
    if !(digits(0..4) && at(4, b"-") && digits(5..7) && at(7, b"-") && digits(8..10) && at(10, b"Tt"))
        || !(digits(11..13) && at(13, b":") && digits(14..16) && at(16, b":") && digits(17..19))
    {
        return false;
    }
    let num = |r: std::ops::Range<usize>| s.get(r).and_then(|x| x.parse::<u32>().ok()).unwrap_or(99);
    let (year, month) = (num(0..4), num(5..7));
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        1..=12 => 31,
        _ => return false,
    };
    if !(1..=days).contains(&num(8..10)) || num(11..13) > 23 || num(14..16) > 59 {
        return false;
    }
    if num(17..19) > 60 {
        return false;
    }
    let mut i = 19;
    if at(i, b".") {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    match b.get(i) {
        Some(b'Z' | b'z') => i + 1 == b.len(),
        Some(b'+' | b'-') => {
            i + 6 == b.len()
                && digits(i + 1..i + 3)
                && at(i + 3, b":")
                && digits(i + 4..i + 6)
                && num(i + 1..i + 3) <= 23
                && num(i + 4..i + 6) <= 59
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_times() {
        for ok in ["2024-01-31T12:00:00Z", "2024-01-31T12:00:00.123456Z", "2024-01-31t12:00:00+02:00"] {
            assert!(is_date_time(ok), "{ok}");
        }
        for bad in ["2024-01-31", "2024-13-01T00:00:00Z", "2024-01-31T12:00:00", "2024-01-31T12:00:00.Z", "x", ""] {
            assert!(!is_date_time(bad), "{bad}");
        }
        assert!(!is_date_time("2024-01-31T12:00:00+0200"));
        assert!(is_date_time("2024-02-29T00:00:00Z"));
        assert!(!is_date_time("2023-02-29T00:00:00Z"));
        assert!(!is_date_time("2024-04-31T00:00:00Z"));
        assert!(!is_date_time("２０２４-01-31T12:00:00Z"));
    }

    #[test]
    fn methods_and_sources() {
        assert_eq!(method("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"), "CVSSv31");
        assert_eq!(method("CVSS:4.0/AV:N"), "CVSSv4");
        assert_eq!(method("CVSS:3.0/AV:N"), "CVSSv3");
        assert_eq!(method("AV:N/AC:L/Au:N/C:P/I:P/A:P"), "CVSSv2");
        assert_eq!(method(""), "other");
        assert_eq!(source_of("CVE-2024-1"), "NVD");
        assert_eq!(source_of("GHSA-aaaa-bbbb-cccc"), "GitHub");
        assert_eq!(source_of("weird"), "OSV");
    }

    fn vex(status: VexStatus, justification: Option<&str>, impact: Option<&str>) -> Suppression {
        Suppression::Vex {
            file: "vex.json".into(),
            status,
            justification: justification.map(|j| VexJustification::from(j.to_string())),
            impact: impact.map(str::to_string),
        }
    }

    #[test]
    fn vex_statements_map_to_analysis() {
        let state = |s: &Suppression| analysis(s).map(|a| (a.state, a.justification));
        let na = VexStatus::NotAffected;
        for (openvex, cdx) in [
            ("component_not_present", "code_not_present"),
            ("vulnerable_code_not_present", "code_not_present"),
            ("vulnerable_code_not_in_execute_path", "code_not_reachable"),
            ("vulnerable_code_cannot_be_controlled_by_adversary", "requires_environment"),
            ("inline_mitigations_already_exist", "protected_by_mitigating_control"),
        ] {
            assert_eq!(state(&vex(na, Some(openvex), None)), Some(("not_affected", Some(cdx))), "{openvex}");
        }
        assert_eq!(state(&vex(na, Some("made_up"), None)), Some(("not_affected", None)));
        assert_eq!(state(&vex(na, None, None)), Some(("not_affected", None)));
        // A fixed statement is resolved; a justification is only for not_affected.
        assert_eq!(state(&vex(VexStatus::Fixed, Some("component_not_present"), None)), Some(("resolved", None)));
        assert_eq!(state(&Suppression::Unfixed), None);
        let ignored =
            Suppression::IgnoreFile { file: ".bulwarkignore".into(), line: 1, id: "CVE-1".into(), expires: None };
        assert_eq!(state(&ignored), None);

        let a = analysis(&vex(na, Some("vulnerable_code_not_in_execute_path"), Some("never called"))).unwrap();
        assert_eq!(a.detail, "vex.json: not_affected (vulnerable_code_not_in_execute_path): never called");
    }

    /// The analysis came from re-reading the reason string by substring: an impact statement
    /// naming another justification, or a file name holding `: fixed`, gave the wrong one.
    #[test]
    fn free_text_does_not_change_the_analysis() {
        let s = vex(
            VexStatus::NotAffected,
            Some("vulnerable_code_not_in_execute_path"),
            Some("never: fixed (component_not_present)"),
        );
        let a = analysis(&s).unwrap();
        assert_eq!((a.state, a.justification), ("not_affected", Some("code_not_reachable")));
        let s = Suppression::Vex {
            file: "x: fixed/vex.json".into(),
            status: VexStatus::NotAffected,
            justification: Some(VexJustification::ComponentNotPresent),
            impact: None,
        };
        let a = analysis(&s).unwrap();
        assert_eq!((a.state, a.justification), ("not_affected", Some("code_not_present")));
        assert_eq!(a.detail, "x: fixed/vex.json: not_affected (component_not_present)");
    }

    #[test]
    fn refs_are_unique() {
        let mut r = Refs::default();
        let got: Vec<String> = ["a", "a", "a-2", "a", "b"].iter().map(|w| r.claim(w.to_string())).collect();
        assert_eq!(got, ["a", "a-2", "a-2-2", "a-3", "b"]);
    }
}
