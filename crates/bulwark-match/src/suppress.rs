//! What the user said to leave out: an ignore file in `.trivyignore` syntax, OpenVEX
//! `not_affected`/`fixed` statements, `--ignore-unfixed`, and the `--severity` filter.
//! Suppressed findings keep their reason (shown in JSON output); severity-filtered ones
//! are simply not shown, as in Trivy.

use crate::model::{Finding, ScanReport, Suppressed, Suppression, VexJustification, VexStatus};
use bulwark_vulndb::severity::Level;
use serde::Deserialize;
use std::collections::BTreeSet;

/// Largest ignore or VEX file read (they are hand-written or generated lists of ids).
pub const MAX_POLICY_FILE: u64 = 16 << 20;

#[derive(Debug, thiserror::Error)]
pub enum SuppressError {
    #[error("{file}:{line}: {msg}")]
    Line { file: String, line: usize, msg: String },
    #[error("{file}: {msg}")]
    File { file: String, msg: String },
}

/// `.trivyignore`: one id per line, `#` comments, an optional `exp:YYYY-MM-DD` after the
/// id after which the entry stops applying.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IgnoreFile {
    pub name: String,
    pub entries: Vec<IgnoreEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IgnoreEntry {
    pub id: String,
    /// Last day the entry applies (inclusive), as `YYYY-MM-DD`.
    pub expires: Option<time::Date>,
    pub line: usize,
}

impl IgnoreFile {
    pub fn parse(text: &str, name: &str) -> Result<IgnoreFile, SuppressError> {
        let mut entries = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let mut words = line.split_whitespace();
            let Some(id) = words.next() else { continue };
            let mut expires = None;
            for w in words {
                let err = |msg: String| SuppressError::Line { file: name.to_string(), line: i + 1, msg };
                let Some(date) = w.strip_prefix("exp:") else {
                    return Err(err(format!("unexpected {:?} after the id (only exp:YYYY-MM-DD is allowed)", cut(w))));
                };
                let fmt = time::macros::format_description!("[year]-[month]-[day]");
                expires = Some(
                    time::Date::parse(date, &fmt)
                        .map_err(|_| err(format!("expiry {:?} is not a date (YYYY-MM-DD)", cut(date))))?,
                );
            }
            entries.push(IgnoreEntry { id: id.to_string(), expires, line: i + 1 });
        }
        Ok(IgnoreFile { name: name.to_string(), entries })
    }

    /// The entry that ignores `f` on `today`, if any.
    fn matching(&self, f: &Finding, today: time::Date) -> Option<&IgnoreEntry> {
        self.entries.iter().find(|e| e.expires.is_none_or(|d| today <= d) && finding_has_id(f, &e.id))
    }
}

/// An OpenVEX document (v0.2.0; the v0.0.1 shapes with string vulnerability and string
/// products are read too).
#[derive(Debug, Clone, Default)]
pub struct Vex {
    pub name: String,
    pub statements: Vec<VexStatement>,
}

#[derive(Debug, Clone)]
pub struct VexStatement {
    /// The vulnerability's name and aliases.
    pub ids: Vec<String>,
    /// Product and subcomponent identifiers (purls, or image references).
    pub products: Vec<String>,
    pub status: String,
    pub justification: Option<String>,
    pub impact: Option<String>,
}

#[derive(Deserialize)]
struct RawVex {
    #[serde(default)]
    statements: Vec<RawStatement>,
}

#[derive(Deserialize)]
struct RawStatement {
    vulnerability: RawVuln,
    #[serde(default)]
    products: Vec<RawProduct>,
    status: String,
    #[serde(default)]
    justification: Option<String>,
    #[serde(default)]
    impact_statement: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawVuln {
    Name(String),
    Object {
        #[serde(default)]
        name: Option<String>,
        #[serde(rename = "@id", default)]
        id: Option<String>,
        #[serde(default)]
        aliases: Vec<String>,
    },
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawProduct {
    Id(String),
    Object {
        #[serde(rename = "@id", default)]
        id: Option<String>,
        #[serde(default)]
        identifiers: Option<serde_json::Map<String, serde_json::Value>>,
        #[serde(default)]
        subcomponents: Vec<RawProduct>,
    },
}

impl RawProduct {
    fn collect(self, out: &mut Vec<String>) {
        match self {
            RawProduct::Id(s) => out.push(s),
            RawProduct::Object { id, identifiers, subcomponents } => {
                out.extend(id);
                if let Some(purl) = identifiers.as_ref().and_then(|m| m.get("purl")).and_then(|v| v.as_str()) {
                    out.push(purl.to_string());
                }
                for s in subcomponents {
                    s.collect(out);
                }
            }
        }
    }
}

impl Vex {
    pub fn parse(bytes: &[u8], name: &str) -> Result<Vex, SuppressError> {
        let raw: RawVex = serde_json::from_slice(bytes).map_err(|e| SuppressError::File {
            file: name.to_string(),
            msg: format!("not an OpenVEX document: {e}"),
        })?;
        let mut statements = Vec::new();
        for s in raw.statements {
            let ids = match s.vulnerability {
                RawVuln::Name(n) => vec![n],
                RawVuln::Object { name, id, aliases } => name.into_iter().chain(id).chain(aliases).collect(),
            };
            let mut products = Vec::new();
            for p in s.products {
                p.collect(&mut products);
            }
            statements.push(VexStatement {
                ids,
                products,
                status: s.status,
                justification: s.justification,
                impact: s.impact_statement,
            });
        }
        Ok(Vex { name: name.to_string(), statements })
    }

    /// The last statement about `f` (later statements override earlier ones, as in OpenVEX).
    fn statement_for(&self, f: &Finding, image: &[String]) -> Option<&VexStatement> {
        self.statements.iter().rev().find(|s| {
            s.ids.iter().any(|id| finding_has_id(f, id))
                && (s.products.is_empty()
                    || s.products.iter().any(|p| purl_matches(p, &f.package.purl) || image.iter().any(|i| i == p)))
        })
    }
}

/// Everything that decides what is shown.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    /// Show only these levels; `None` shows all.
    pub severities: Option<BTreeSet<Level>>,
    pub ignore_unfixed: bool,
    pub ignore: Option<IgnoreFile>,
    pub vex: Vec<Vex>,
    /// The day expiry dates are checked against (today, unless a test says otherwise).
    pub today: Option<time::Date>,
}

/// Applies `policy` to `report`: suppressed findings move to `report.suppressed` with
/// what suppressed them; findings below the severity filter are dropped.
pub fn apply(report: &mut ScanReport, policy: &Policy) {
    let today = policy.today.unwrap_or_else(|| time::OffsetDateTime::now_utc().date());
    // An image is named in VEX by its reference or digest.
    let image: Vec<String> = [&report.source.name, &report.source.manifest_digest, &report.source.image_id]
        .into_iter()
        .flatten()
        .cloned()
        .collect();
    let findings = std::mem::take(&mut report.findings);
    for f in findings {
        if let Some(levels) = &policy.severities {
            if !levels.contains(&f.severity) {
                continue;
            }
        }
        if let Some((file, entry)) = policy.ignore.as_ref().and_then(|i| i.matching(&f, today).map(|e| (i, e))) {
            let by = Suppression::IgnoreFile {
                file: file.name.clone(),
                line: entry.line,
                id: entry.id.clone(),
                expires: entry.expires,
            };
            report.suppressed.push(Suppressed { finding: f, by });
            continue;
        }
        let vex = policy.vex.iter().find_map(|v| v.statement_for(&f, &image).map(|s| (v, s)));
        if let Some((doc, s)) = vex {
            if let Some(status) = VexStatus::suppressing(&s.status) {
                let by = Suppression::Vex {
                    file: doc.name.clone(),
                    status,
                    justification: s.justification.clone().map(VexJustification::from),
                    impact: s.impact.clone(),
                };
                report.suppressed.push(Suppressed { finding: f, by });
                continue;
            }
        }
        if policy.ignore_unfixed && f.fixed_version.is_none() {
            report.suppressed.push(Suppressed { finding: f, by: Suppression::Unfixed });
            continue;
        }
        report.findings.push(f);
    }
}

fn finding_has_id(f: &Finding, id: &str) -> bool {
    f.all_ids().any(|x| x.eq_ignore_ascii_case(id)) || f.records.iter().any(|r| r.eq_ignore_ascii_case(id))
}

/// A VEX product purl names a package when type, namespace and name agree, and the
/// version too if the statement gives one. Qualifiers and subpaths are ignored.
fn purl_matches(statement: &str, package: &str) -> bool {
    if !statement.starts_with("pkg:") || package.is_empty() {
        return false;
    }
    let base = |p: &str| -> String {
        let p = p.split(['?', '#']).next().unwrap_or(p);
        p.replace("%40", "@").replace("%2F", "/").replace("%2f", "/")
    };
    let (s, p) = (base(statement), base(package));
    // `pkg:npm/@scope/name@1.0`: the version is after the last `@` past the type.
    let split = |x: &str| -> (String, Option<String>) {
        let body = x.strip_prefix("pkg:").unwrap_or(x);
        match body.rfind('@') {
            Some(i) if i > 0 && !body[..i].ends_with('/') => (body[..i].to_string(), Some(body[i + 1..].to_string())),
            _ => (body.to_string(), None),
        }
    };
    let ((sn, sv), (pn, pv)) = (split(&s), split(&p));
    sn.eq_ignore_ascii_case(&pn) && (sv.is_none() || sv == pv)
}

fn cut(s: &str) -> String {
    s.chars().take(80).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purls() {
        assert!(purl_matches("pkg:pypi/django@3.2", "pkg:pypi/django@3.2"));
        assert!(purl_matches("pkg:pypi/django", "pkg:pypi/django@3.2"));
        assert!(!purl_matches("pkg:pypi/django@3.2.1", "pkg:pypi/django@3.2"));
        assert!(purl_matches("pkg:npm/%40babel/core@7.0.0", "pkg:npm/@babel/core@7.0.0"));
        assert!(!purl_matches("pkg:npm/@babel/core", "pkg:npm/@babel/core-x@7.0.0"));
        assert!(purl_matches(
            "pkg:deb/debian/libssl3@3.0.20-1~deb12u2",
            "pkg:deb/debian/libssl3@3.0.20-1~deb12u2?arch=amd64&distro=debian-12"
        ));
        assert!(!purl_matches("CVE-1", "pkg:pypi/x@1"));
    }

    #[test]
    fn ignore_file_syntax() {
        let f = IgnoreFile::parse("# header\nCVE-2020-1 exp:2025-01-31\n\nGHSA-xxxx-yyyy-zzzz # why\n", ".trivyignore")
            .unwrap();
        assert_eq!(f.entries.len(), 2);
        assert_eq!(f.entries[0].expires.map(|d| d.to_string()).as_deref(), Some("2025-01-31"));
        assert_eq!(f.entries[1].line, 4);
        let e = IgnoreFile::parse("CVE-1 exp:31/01/2025\n", "x").unwrap_err().to_string();
        assert!(e.contains("x:1") && e.contains("not a date"), "{e}");
        let e = IgnoreFile::parse("CVE-1 because\n", "x").unwrap_err().to_string();
        assert!(e.contains("exp:"), "{e}");
    }

    fn finding(id: &str, fixed: Option<&str>) -> Finding {
        Finding {
            id: id.into(),
            aliases: vec![],
            records: vec![id.into()],
            ecosystem: "npm".into(),
            package: crate::PackageRef {
                kind: bulwark_catalog::PackageType::Npm,
                name: "lodash".into(),
                namespace: None,
                version: "4.17.15".into(),
                purl: "pkg:npm/lodash@4.17.15".into(),
                source: None,
                location: bulwark_catalog::Location { path: "/app/package-lock.json".into(), layer: None },
            },
            installed_version: "4.17.15".into(),
            fixed_version: fixed.map(str::to_string),
            severity: Level::High,
            score: None,
            cvss_vector: None,
            title: None,
            description: None,
            url: String::new(),
            published: None,
        }
    }

    /// Each way of suppressing becomes its variant, with the JSON `by` and `reason` written as
    /// before the enum, and read back to the same value.
    #[test]
    fn suppressions_are_typed_and_keep_their_json() {
        let vex = br#"{"statements":[
            {"vulnerability":{"name":"CVE-2"},"status":"not_affected","justification":"vulnerable_code_not_in_execute_path","impact_statement":"never: fixed (component_not_present)"},
            {"vulnerability":"CVE-3","status":"fixed"},
            {"vulnerability":"CVE-4","status":"not_affected","justification":"made_up"},
            {"vulnerability":"CVE-5","status":"affected"}]}"#;
        let policy = Policy {
            ignore_unfixed: true,
            ignore: Some(IgnoreFile::parse("CVE-1 exp:2030-01-01\n", ".bulwarkignore").unwrap()),
            vex: vec![Vex::parse(vex, "x: fixed/vex.json").unwrap()],
            today: Some(time::macros::date!(2026 - 01 - 01)),
            ..Default::default()
        };
        let mut report = ScanReport {
            findings: ["CVE-1", "CVE-2", "CVE-3", "CVE-4", "CVE-5", "CVE-6"]
                .iter()
                .map(|id| finding(id, (*id == "CVE-6").then_some("4.17.21")))
                .collect(),
            ..Default::default()
        };
        apply(&mut report, &policy);
        let shown: Vec<&str> = report.findings.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(shown, ["CVE-6"]);
        let by: Vec<&Suppression> = report.suppressed.iter().map(|s| &s.by).collect();
        let vex = |status, justification, impact: Option<&str>| Suppression::Vex {
            file: "x: fixed/vex.json".into(),
            status,
            justification,
            impact: impact.map(str::to_string),
        };
        assert_eq!(
            by,
            [
                &Suppression::IgnoreFile {
                    file: ".bulwarkignore".into(),
                    line: 1,
                    id: "CVE-1".into(),
                    expires: Some(time::macros::date!(2030 - 01 - 01))
                },
                &vex(
                    VexStatus::NotAffected,
                    Some(VexJustification::VulnerableCodeNotInExecutePath),
                    Some("never: fixed (component_not_present)")
                ),
                &vex(VexStatus::Fixed, None, None),
                &vex(VexStatus::NotAffected, Some(VexJustification::Other("made_up".into())), None),
                // CVE-5 is `affected`: not suppressed by VEX, and has no fix.
                &Suppression::Unfixed,
            ]
        );

        let json = serde_json::to_value(&report.suppressed).unwrap();
        let pairs: Vec<(&str, &str)> = json
            .as_array()
            .unwrap()
            .iter()
            .map(|s| (s["by"].as_str().unwrap(), s["reason"].as_str().unwrap()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("ignorefile", ".bulwarkignore:1: CVE-1 until 2030-01-01"),
                (
                    "vex",
                    "x: fixed/vex.json: not_affected (vulnerable_code_not_in_execute_path): never: fixed (component_not_present)"
                ),
                ("vex", "x: fixed/vex.json: fixed"),
                ("vex", "x: fixed/vex.json: not_affected (made_up)"),
                ("unfixed", "no fixed version"),
            ]
        );
        assert_eq!(json[0].as_object().unwrap().keys().collect::<Vec<_>>(), ["by", "finding", "reason"]);
        let back: Vec<Suppressed> = serde_json::from_value(json).unwrap();
        assert_eq!(back, report.suppressed);
    }

    #[test]
    fn reasons_read_back() {
        let read = |by, reason| Suppression::from_json(by, reason);
        assert_eq!(
            read("ignorefile", "my ignore: list:12: GHSA-1:x"),
            Some(Suppression::IgnoreFile {
                file: "my ignore: list".into(),
                line: 12,
                id: "GHSA-1:x".into(),
                expires: None
            })
        );
        assert_eq!(
            read("ignorefile", "a until b:3: CVE-1"),
            Some(Suppression::IgnoreFile { file: "a until b".into(), line: 3, id: "CVE-1".into(), expires: None })
        );
        assert_eq!(
            read("vex", "v.json: not_affected (odd (text)): why: because"),
            Some(Suppression::Vex {
                file: "v.json".into(),
                status: VexStatus::NotAffected,
                justification: Some(VexJustification::Other("odd (text)".into())),
                impact: Some("why: because".into()),
            })
        );
        assert_eq!(
            read("vex", "fixed.json: fixed: upstream"),
            Some(Suppression::Vex {
                file: "fixed.json".into(),
                status: VexStatus::Fixed,
                justification: None,
                impact: Some("upstream".into()),
            })
        );
        assert_eq!(read("unfixed", "no fixed version"), Some(Suppression::Unfixed));
        for (by, reason) in [("vex", "v.json: affected"), ("ignorefile", "no line"), ("other", "x"), ("vex", "")] {
            assert_eq!(read(by, reason), None, "{by} {reason}");
        }
    }
}
