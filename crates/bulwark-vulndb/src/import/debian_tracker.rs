//! The Debian Security Tracker's JSON export (`/tracker/data/json`, what Trivy reads):
//! source package → CVE or `TEMP-…` id → `{description, scope, debianbug, releases}`, each
//! release `{status, repositories, fixed_version, urgency, nodsa, nodsa_reason}`.
//!
//! Converted like OSV.dev's `DEBIAN-CVE-*` records: one record per id across packages,
//! `DEBIAN-<id>`, upstream `[<CVE>]`, details = description, one `affected` per (release,
//! package): `resolved` → fixed at `fixed_version` (`0` = never affected: left out), `open` →
//! no fix yet, `undetermined` → left out. The tracker's urgency becomes a severity as Trivy
//! maps it, per affected entry and, the highest of them, for the record.

use super::{debian_list, debian_releases, Importer, Warnings};
use crate::osv::{Affected, Record, Reference};
use crate::store::SourceStats;
use crate::{DbError, Result};
use bulwark_version::{Dpkg, VersionScheme};
use serde::de::{DeserializeSeed, MapAccess, Visitor};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::Path;

const FORMAT: &str = "debian-tracker";

/// Largest export read. The real one is ~80 MB and grows every year, far past the 32 MiB
/// [`super::MAX_DOCUMENT`] cap; it is parsed one package at a time, so memory follows one
/// package plus the records made, not the file, and 1 GiB is only a guard against garbage.
pub const MAX_TRACKER: u64 = 1 << 30;

/// Bytes read to decide whether a file is the export.
const SNIFF: u64 = 64 << 10;

pub struct DebianTracker;

impl Importer for DebianTracker {
    fn name(&self) -> &'static str {
        FORMAT
    }

    fn recognizes(&self, path: &Path) -> bool {
        if !path.is_file() {
            return false;
        }
        let Ok(f) = std::fs::File::open(path) else { return false };
        let mut head = Vec::new();
        f.take(SNIFF).read_to_end(&mut head).is_ok() && sniff(&head)
    }

    fn import(&self, path: &Path, sink: &mut dyn FnMut(Record) -> Result<()>) -> Result<Vec<SourceStats>> {
        let what = path.display().to_string();
        let f = std::fs::File::open(path).map_err(|e| DbError::io(path, e))?;
        let len = f.metadata().map_err(|e| DbError::io(path, e))?.len();
        if len > MAX_TRACKER {
            return Err(DbError::input(&what, format!("larger than {} MiB", MAX_TRACKER >> 20)));
        }
        let mut warnings = Warnings::default();
        let records = read(std::io::BufReader::new(f.take(MAX_TRACKER)), &mut warnings)
            .map_err(|e| DbError::input(&what, format!("not the tracker's JSON export: {e}")))?;
        let mut stats = SourceStats { location: what, format: FORMAT.into(), ..Default::default() };
        for rec in records {
            stats.records += 1;
            sink(rec)?;
        }
        stats.warnings = warnings.finish();
        Ok(vec![stats])
    }
}

/// One (package, id) entry. Unknown keys are ignored.
#[derive(Debug, Deserialize)]
struct Issue {
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    debianbug: Option<u64>,
    releases: BTreeMap<String, Release>,
}

#[derive(Debug, Deserialize)]
struct Release {
    status: String,
    #[serde(default)]
    fixed_version: Option<String>,
    #[serde(default)]
    urgency: Option<String>,
    #[serde(default)]
    nodsa: Option<String>,
    #[serde(default)]
    nodsa_reason: Option<String>,
}

/// Trivy's mapping of the tracker's urgency (`low*`/`low**` mark urgencies taken from
/// elsewhere, e.g. NVD); `not yet assigned`, `end-of-life` and anything else are unknown.
fn severity(urgency: &str) -> &'static str {
    match urgency {
        "unimportant" | "low" | "low*" | "low**" => "LOW",
        "medium" | "medium*" | "medium**" => "MEDIUM",
        "high" | "high*" | "high**" => "HIGH",
        _ => "UNKNOWN",
    }
}

fn severity_rank(s: &str) -> u8 {
    match s {
        "LOW" => 1,
        "MEDIUM" => 2,
        "HIGH" => 3,
        _ => 0,
    }
}

/// What is known of one id so far, across packages.
#[derive(Default)]
struct Pending {
    details: Option<String>,
    bugs: BTreeSet<u64>,
    /// (package, release order, affected), sorted when the record is built.
    affected: Vec<(String, (u32, u32), Affected)>,
    /// Highest severity seen and the urgency it came from.
    severity: Option<(&'static str, String)>,
}

/// Everything read so far, plus the warnings.
struct Acc<'w> {
    by_id: BTreeMap<String, Pending>,
    warnings: &'w mut Warnings,
    unknown_releases: BTreeSet<String>,
}

/// Reads the whole export, one top-level package at a time.
fn read(reader: impl Read, warnings: &mut Warnings) -> std::result::Result<Vec<Record>, serde_json::Error> {
    let mut acc = Acc { by_id: BTreeMap::new(), warnings, unknown_releases: BTreeSet::new() };
    let mut de = serde_json::Deserializer::from_reader(reader);
    Packages(&mut acc).deserialize(&mut de)?;
    de.end()?;
    Ok(acc.by_id.into_iter().filter_map(|(id, p)| build(id, p)).collect())
}

/// The top-level object, visited entry by entry so no package but the current one is held.
struct Packages<'a, 'w>(&'a mut Acc<'w>);

impl<'de> DeserializeSeed<'de> for Packages<'_, '_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> std::result::Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Packages<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an object of source packages")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<(), A::Error> {
        while let Some(package) = map.next_key::<String>()? {
            // Held loosely so one odd entry is a warning, not the end of the import.
            let issues: serde_json::Value = map.next_value()?;
            self.0.package(&package, issues);
        }
        Ok(())
    }
}

impl Acc<'_> {
    fn package(&mut self, package: &str, issues: serde_json::Value) {
        let serde_json::Value::Object(issues) = issues else {
            self.warnings.push(format!("{package:?}: not an object of issues"));
            return;
        };
        if !debian_list::valid_package(package) {
            self.warnings.push(format!("{package:?}: not a source package name"));
            return;
        }
        for (id, issue) in issues {
            if !valid_id(&id) {
                self.warnings.push(format!("{package}: {id:?} is not a CVE or TEMP id"));
                continue;
            }
            match serde_json::from_value::<Issue>(issue) {
                Ok(issue) => self.issue(package, &id, issue),
                Err(e) => self.warnings.push(format!("{package}/{id}: not a tracker entry: {e}")),
            }
        }
    }

    fn issue(&mut self, package: &str, id: &str, issue: Issue) {
        let mut affected = Vec::new();
        let mut worst: Option<(&'static str, String)> = None;
        for (codename, rel) in issue.releases {
            let Some(ecosystem) = debian_releases::ecosystem(&codename) else {
                // One warning per release name, not one per CVE.
                if !debian_releases::is_unnumbered(&codename) && self.unknown_releases.insert(codename.clone()) {
                    self.warnings.push(format!("{package}/{id}: unknown release {codename:?} (skipped everywhere)"));
                }
                continue;
            };
            let fixed = match rel.status.as_str() {
                "resolved" => match rel.fixed_version.as_deref() {
                    Some("0") => continue,
                    Some(v) if Dpkg.valid(v) => Some(v.to_string()),
                    other => {
                        self.warnings.push(format!("{package}/{id}/{codename}: resolved at {other:?}, not a version"));
                        continue;
                    }
                },
                "open" => None,
                "undetermined" => continue,
                other => {
                    self.warnings.push(format!("{package}/{id}/{codename}: unknown status {other:?}"));
                    continue;
                }
            };
            let urgency = rel.urgency.unwrap_or_else(|| "not yet assigned".into());
            let sev = severity(&urgency);
            if worst.as_ref().is_none_or(|(s, _)| severity_rank(sev) > severity_rank(s)) {
                worst = Some((sev, urgency.clone()));
            }
            let mut a = debian_list::affected(&ecosystem, package, fixed.as_deref());
            let mut specific = serde_json::json!({ "urgency": urgency, "severity": sev });
            for (k, v) in [("nodsa", rel.nodsa), ("nodsa_reason", rel.nodsa_reason)] {
                if let Some(v) = v.filter(|v| !v.is_empty()) {
                    specific[k] = serde_json::Value::String(v);
                }
            }
            a.ecosystem_specific = Some(specific);
            affected.push((package.to_string(), release_order(&ecosystem), a));
        }
        let p = self.by_id.entry(id.to_string()).or_default();
        if p.details.is_none() {
            p.details = issue.description.filter(|d| !d.trim().is_empty());
        }
        p.bugs.extend(issue.debianbug);
        p.affected.extend(affected);
        if let Some((sev, urgency)) = worst {
            if p.severity.as_ref().is_none_or(|(s, _)| severity_rank(sev) > severity_rank(s)) {
                p.severity = Some((sev, urgency));
            }
        }
    }
}

/// `CVE-2024-12133`, `TEMP-0290435-0B57B5`.
fn valid_id(id: &str) -> bool {
    let rest = id.strip_prefix("CVE-").or_else(|| id.strip_prefix("TEMP-"));
    rest.is_some_and(|r| !r.is_empty() && r.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
}

/// `Debian:3.1` → (3, 1), `Debian:12` → (12, 0): releases in age order.
fn release_order(ecosystem: &str) -> (u32, u32) {
    let v = ecosystem.trim_start_matches("Debian:");
    let (a, b) = v.split_once('.').unwrap_or((v, "0"));
    (a.parse().unwrap_or(u32::MAX), b.parse().unwrap_or(0))
}

/// The record of one id; `None` when no release is affected (as OSV leaves such ids out).
fn build(id: String, mut p: Pending) -> Option<Record> {
    if p.affected.is_empty() {
        return None;
    }
    p.affected.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
    let mut references =
        vec![Reference { kind: "ADVISORY".into(), url: format!("https://security-tracker.debian.org/tracker/{id}") }];
    references.extend(
        p.bugs.iter().map(|b| Reference { kind: "REPORT".into(), url: format!("https://bugs.debian.org/{b}") }),
    );
    let (sev, urgency) = p.severity.unwrap_or(("UNKNOWN", "not yet assigned".into()));
    Some(Record {
        id: format!("DEBIAN-{id}"),
        upstream: if id.starts_with("CVE-") { vec![id.clone()] } else { Vec::new() },
        details: p.details,
        affected: p.affected.into_iter().map(|(_, _, a)| a).collect(),
        references,
        database_specific: Some(serde_json::json!({ "severity": sev, "urgency": urgency })),
        ..Default::default()
    })
}

/// The export starts `{"<package>":{"<CVE-…|TEMP-…>":{` and mentions `"releases"` early.
/// Strict on purpose: OSV records, Alpine's secdb JSON and other JSON objects fail it.
fn sniff(head: &[u8]) -> bool {
    let mut c = Cursor { b: head, i: 0 };
    let Some(package) = c.object_key() else { return false };
    if !debian_list::valid_package(&package) {
        return false;
    }
    let Some(id) = c.object_key() else { return false };
    valid_id(&id) && c.ws_then(b'{') && head.windows(10).any(|w| w == b"\"releases\"")
}

/// Just enough of a JSON tokenizer for [`sniff`].
struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn ws_then(&mut self, want: u8) -> bool {
        while self.b.get(self.i).is_some_and(|c| c.is_ascii_whitespace()) {
            self.i += 1;
        }
        if self.b.get(self.i) == Some(&want) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    /// `{ "key" :` → key.
    fn object_key(&mut self) -> Option<String> {
        if !self.ws_then(b'{') || !self.ws_then(b'"') {
            return None;
        }
        let start = self.i;
        while let Some(&c) = self.b.get(self.i) {
            match c {
                b'"' => break,
                // Package names and ids never need escapes.
                b'\\' => return None,
                _ => self.i += 1,
            }
        }
        let key = std::str::from_utf8(self.b.get(start..self.i)?).ok()?.to_string();
        self.i += 1;
        self.ws_then(b':').then_some(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/debian-tracker.json");

    fn import(path: &Path) -> (BTreeMap<String, Record>, SourceStats) {
        let mut recs = BTreeMap::new();
        let mut stats = DebianTracker
            .import(path, &mut |r| {
                assert!(recs.insert(r.id.clone(), r).is_none());
                Ok(())
            })
            .unwrap();
        (recs, stats.remove(0))
    }

    fn parse_str(json: &str) -> (Vec<Record>, Vec<String>) {
        let mut w = Warnings::default();
        let recs = read(json.as_bytes(), &mut w).unwrap();
        (recs, w.finish())
    }

    /// (ecosystem, name, fixed) of every affected entry, in order.
    fn entries(r: &Record) -> Vec<(String, String, Option<String>)> {
        r.affected
            .iter()
            .map(|a| {
                let p = a.package.as_ref().unwrap();
                assert_eq!(a.ranges[0].events[0].introduced.as_deref(), Some("0"));
                let fixed = a.ranges[0].events.get(1).and_then(|e| e.fixed.clone());
                (p.ecosystem.clone(), p.name.clone(), fixed)
            })
            .collect()
    }

    fn e(eco: &str, name: &str, fixed: Option<&str>) -> (String, String, Option<String>) {
        (eco.into(), name.into(), fixed.map(str::to_string))
    }

    fn sev(r: &Record) -> (&str, &str) {
        let d = r.database_specific.as_ref().unwrap();
        (d["severity"].as_str().unwrap(), d["urgency"].as_str().unwrap())
    }

    #[test]
    fn fixture_converts_like_osv() {
        let (recs, stats) = import(Path::new(FIXTURE));
        assert!(stats.warnings.is_empty(), "{:?}", stats.warnings);
        let ids: Vec<_> = recs.keys().map(String::as_str).collect();
        assert_eq!(
            ids,
            [
                "DEBIAN-CVE-2011-3374",
                "DEBIAN-CVE-2022-3715",
                "DEBIAN-CVE-2023-38545",
                "DEBIAN-CVE-2023-4863",
                "DEBIAN-CVE-2024-12133",
                "DEBIAN-CVE-2024-3094",
                "DEBIAN-CVE-2025-0444",
                "DEBIAN-TEMP-0290435-0B57B5",
            ]
        );
        assert_eq!(stats.records, 8);

        // Resolved in three releases; sid has no OSV ecosystem.
        let r = &recs["DEBIAN-CVE-2024-12133"];
        assert_eq!(r.upstream, ["CVE-2024-12133"]);
        assert!(r.details.as_deref().unwrap().starts_with("A flaw in libtasn1"));
        assert_eq!(
            entries(r),
            [
                e("Debian:11", "libtasn1-6", Some("4.16.0-2+deb11u2")),
                e("Debian:12", "libtasn1-6", Some("4.19.0-2+deb12u1")),
                e("Debian:13", "libtasn1-6", Some("4.20.0-2")),
            ]
        );
        let p = r.affected[1].package.as_ref().unwrap();
        assert_eq!(p.purl.as_deref(), Some("pkg:deb/debian/libtasn1-6?arch=source"));
        assert_eq!(r.references[0].url, "https://security-tracker.debian.org/tracker/CVE-2024-12133");
        assert_eq!(r.references[1].url, "https://bugs.debian.org/1095406");
        assert_eq!(sev(r), ("UNKNOWN", "not yet assigned"));

        // Open everywhere, unimportant → LOW (as Trivy), no fixed event.
        let r = &recs["DEBIAN-CVE-2011-3374"];
        assert_eq!(entries(r), [e("Debian:11", "apt", None), e("Debian:12", "apt", None), e("Debian:13", "apt", None)]);
        assert_eq!(sev(r), ("LOW", "unimportant"));
        assert_eq!(r.affected[0].ecosystem_specific.as_ref().unwrap()["severity"], "LOW");

        // Open with no-dsa in one release, fixed in another; undetermined dropped; the
        // record takes the highest urgency.
        let r = &recs["DEBIAN-CVE-2022-3715"];
        assert_eq!(entries(r), [e("Debian:11", "bash", None), e("Debian:12", "bash", Some("5.2.15-1"))]);
        let spec = r.affected[0].ecosystem_specific.as_ref().unwrap();
        assert_eq!((spec["urgency"].as_str(), spec["nodsa"].as_str()), (Some("low"), Some("Minor issue")));
        assert_eq!(spec["nodsa_reason"], "postponed");
        assert_eq!(sev(r), ("MEDIUM", "medium"));

        // fixed_version "0": never affected in buster.
        let r = &recs["DEBIAN-CVE-2023-38545"];
        assert_eq!(
            entries(r),
            [e("Debian:11", "curl", Some("7.74.0-1.3+deb11u10")), e("Debian:12", "curl", Some("7.88.1-10+deb12u4"))]
        );
        assert_eq!(sev(r), ("HIGH", "high"));
        let r = &recs["DEBIAN-CVE-2024-3094"];
        assert_eq!(entries(r), [e("Debian:13", "xz-utils", Some("5.6.1+really5.4.5-1"))]);

        // One CVE under two source packages is one record.
        let r = &recs["DEBIAN-CVE-2023-4863"];
        assert_eq!(
            entries(r),
            [
                e("Debian:11", "firefox-esr", Some("102.15.1esr-1~deb11u1")),
                e("Debian:12", "firefox-esr", Some("102.15.1esr-1~deb12u1")),
                e("Debian:11", "libwebp", Some("0.6.1-2.1+deb11u2")),
                e("Debian:12", "libwebp", Some("1.2.4-0.2+deb12u1")),
            ]
        );

        // end-of-life urgency is unknown severity; the release stays affected, unfixed.
        let r = &recs["DEBIAN-CVE-2025-0444"];
        assert_eq!(
            entries(r),
            [e("Debian:11", "chromium", None), e("Debian:12", "chromium", Some("133.0.6943.53-1~deb12u1"))]
        );
        assert_eq!(sev(r), ("UNKNOWN", "not yet assigned"));
        assert_eq!(r.affected[0].ecosystem_specific.as_ref().unwrap()["urgency"], "end-of-life");

        // TEMP ids are kept, with no upstream CVE.
        let r = &recs["DEBIAN-TEMP-0290435-0B57B5"];
        assert!(r.upstream.is_empty());
        assert_eq!(entries(r), [e("Debian:12", "tar", None), e("Debian:13", "tar", None)]);
        assert_eq!(sev(r), ("LOW", "unimportant"));
    }

    #[test]
    fn urgency_maps_as_trivy() {
        for (u, s) in [
            ("unimportant", "LOW"),
            ("low", "LOW"),
            ("low**", "LOW"),
            ("medium", "MEDIUM"),
            ("medium*", "MEDIUM"),
            ("high", "HIGH"),
            ("not yet assigned", "UNKNOWN"),
            ("end-of-life", "UNKNOWN"),
            ("whatever", "UNKNOWN"),
        ] {
            assert_eq!(severity(u), s, "{u}");
        }
    }

    #[test]
    fn odd_entries_are_warnings() {
        let json = r#"{
          "good": {"CVE-2025-1": {"releases": {
              "bookworm": {"status": "resolved", "fixed_version": "1.0-1"},
              "zanzibar": {"status": "open"},
              "bullseye": {"status": "resolved", "fixed_version": "not a version!"},
              "buster": {"status": "resolved"},
              "stretch": {"status": "wontfix"},
              "sid": {"status": "open"},
              "experimental": {"status": "open"}}},
            "CVE-2025-2": {"releases": {"bookworm": {"status": "resolved", "fixed_version": "0"}}},
            "CVE-2025-3": {"releases": "none"},
            "CVE-2025-4": {"description": "no releases"},
            "DSA-1234-1": {"releases": {}},
            "CVE-2025-5": {"releases": {"trixie": {"status": "open"}, "zanzibar": {"status": "open"}}}},
          "Bad Name": {"CVE-2025-6": {"releases": {"bookworm": {"status": "open"}}}},
          "notanobject": [1, 2]
        }"#;
        let (recs, warnings) = parse_str(json);
        let ids: Vec<_> = recs.iter().map(|r| r.id.as_str()).collect();
        // CVE-2025-2 is not affected anywhere: no record.
        assert_eq!(ids, ["DEBIAN-CVE-2025-1", "DEBIAN-CVE-2025-5"]);
        assert_eq!(entries(&recs[0]), [e("Debian:12", "good", Some("1.0-1"))]);
        let has = |s: &str| warnings.iter().filter(|w| w.contains(s)).count();
        assert_eq!(has("unknown release \"zanzibar\""), 1, "{warnings:?}");
        assert_eq!(has("good/CVE-2025-1/bullseye: resolved at Some(\"not a version!\")"), 1, "{warnings:?}");
        assert_eq!(has("good/CVE-2025-1/buster: resolved at None"), 1, "{warnings:?}");
        assert_eq!(has("unknown status \"wontfix\""), 1, "{warnings:?}");
        assert_eq!(has("good/CVE-2025-3: not a tracker entry"), 1, "{warnings:?}");
        assert_eq!(has("good/CVE-2025-4: not a tracker entry"), 1, "{warnings:?}");
        assert_eq!(has("\"DSA-1234-1\" is not a CVE or TEMP id"), 1, "{warnings:?}");
        assert_eq!(has("\"Bad Name\": not a source package name"), 1, "{warnings:?}");
        assert_eq!(has("\"notanobject\": not an object of issues"), 1, "{warnings:?}");
        assert!(!warnings.iter().any(|w| w.contains("sid") || w.contains("experimental")), "{warnings:?}");
        assert_eq!(warnings.len(), 9, "{warnings:?}");
    }

    #[test]
    fn broken_json_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("json");
        std::fs::write(&f, r#"{"zlib": {"CVE-2025-1": {"releases": {"bookworm": {"status": "open"}}}}, "x": "#)
            .unwrap();
        assert!(DebianTracker.recognizes(&f));
        let err = DebianTracker.import(&f, &mut |_| Ok(())).unwrap_err().to_string();
        assert!(err.starts_with(&f.display().to_string()), "{err}");
        assert!(err.contains("not the tracker's JSON export"), "{err}");
        std::fs::write(&f, r#"{"zlib": {}} trailing"#).unwrap();
        assert!(DebianTracker.import(&f, &mut |_| Ok(())).is_err());
    }

    #[test]
    fn recognizes_the_export_only() {
        assert!(DebianTracker.recognizes(Path::new(FIXTURE)));
        let shared = bulwark_testkit::SharedDir("data");
        let alpine = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/alpine-secdb-v3.20-main.json");
        assert!(!DebianTracker.recognizes(Path::new(alpine)));
        assert!(!DebianTracker.recognizes(Path::new(&format!("{shared}/debian-security-tracker"))));
        assert!(!DebianTracker.recognizes(Path::new(&format!("{shared}/debian-security-tracker/DSA.list"))));
        assert!(!DebianTracker.recognizes(Path::new(&format!("{shared}/osv/Debian/all.zip"))));
        for (text, want) in [
            (r#"{"id": "DSA-5863-1", "affected": [{"package": {}}]}"#, false),
            (r#"{"openssl": {"GHSA-1": {"releases": {}}}}"#, false),
            (r#"{"openssl": {"CVE-2024-1": {"description": "x"}}}"#, false),
            (r#"{"openssl": ["CVE-2024-1"]}"#, false),
            ("", false),
            (" {\n \"openssl\" : {\"TEMP-0000000-ABCDEF\":{\"releases\":{}}}}", true),
        ] {
            assert_eq!(sniff(text.as_bytes()), want, "{text}");
        }
    }
}
