//! Inventory × database → findings. For each package: look up its (ecosystem, name),
//! evaluate every record's ranges with the ecosystem's version order, then merge the
//! records that are aliases of one another into one finding.

use crate::ecosystem::{query, Query, Skip};
use crate::model::{DbSummary, Finding, PackageRef, ScanReport};
use crate::ranges::{evaluate, Verdict};
use bulwark_catalog::{Inventory, Package};
use bulwark_vulndb::osv::Record;
use bulwark_vulndb::severity::{rate, Rating};
use bulwark_vulndb::{normalize_name, Db};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, thiserror::Error)]
pub enum MatchError {
    #[error(transparent)]
    Db(#[from] bulwark_vulndb::DbError),
}

/// One record that matched one package.
struct Hit {
    record: Record,
    fixed: Option<String>,
    rating: Rating,
}

/// Matches every package of `inv` against `db`.
pub fn scan(inv: &Inventory, db: &Db) -> Result<ScanReport, MatchError> {
    let meta = db.metadata();
    let mut report = ScanReport {
        source: inv.source.clone(),
        os: inv.os.clone(),
        db: DbSummary {
            built_at: meta.built_at.clone(),
            schema_version: meta.schema_version,
            advisories: meta.advisories,
        },
        ..Default::default()
    };
    let mut unknown_os = 0usize;
    let mut unsupported_os = None;
    // Many packages share one lookup (a Debian source package builds several binaries).
    let mut cache: BTreeMap<(String, String), std::rc::Rc<Vec<Record>>> = BTreeMap::new();
    for pkg in &inv.packages {
        let q = match query(pkg, inv.os.as_ref()) {
            Ok(q) => q,
            Err(Skip::UnknownOs) => {
                unknown_os += 1;
                continue;
            }
            Err(Skip::UnsupportedOs(id)) => {
                unsupported_os = Some(id);
                continue;
            }
            Err(Skip::NoVersion | Skip::NoCoordinate) => continue,
        };
        report.packages_scanned += 1;
        let key = (q.ecosystem.clone(), normalize_name(&q.ecosystem, &q.name));
        let records = match cache.get(&key) {
            Some(r) => r.clone(),
            None => {
                let r = std::rc::Rc::new(db.lookup(&q.ecosystem, &q.name)?);
                cache.insert(key, r.clone());
                r
            }
        };
        let hits = match_records(pkg, &q, &records, &mut report.warnings);
        report.findings.extend(merge(pkg, &q, hits));
    }
    if unknown_os > 0 {
        report.warnings.push(format!(
            "{unknown_os} OS packages not scanned: the image has no os-release, so its distribution release is unknown"
        ));
    }
    if let Some(id) = unsupported_os {
        report.warnings.push(format!("OS packages not scanned: no advisory ecosystem for distribution {id:?}"));
    }
    sort_findings(&mut report.findings);
    Ok(report)
}

/// Order shown everywhere: by location, package, then severity (highest first) and id.
pub fn sort_findings(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        (&a.package.location.path, &a.package.name, &a.installed_version)
            .cmp(&(&b.package.location.path, &b.package.name, &b.installed_version))
            .then(b.severity.cmp(&a.severity))
            .then(a.id.cmp(&b.id))
    });
}

fn match_records(pkg: &Package, q: &Query, records: &[Record], warnings: &mut Vec<String>) -> Vec<Hit> {
    let Some(scheme) = bulwark_version::scheme_for(&q.ecosystem) else {
        return Vec::new();
    };
    let want = normalize_name(&q.ecosystem, &q.name);
    let mut hits = Vec::new();
    for rec in records {
        let mut matched: Option<(Option<String>, &bulwark_vulndb::osv::Affected)> = None;
        for aff in &rec.affected {
            let Some(p) = &aff.package else { continue };
            if p.ecosystem != q.ecosystem || normalize_name(&p.ecosystem, &p.name) != want {
                continue;
            }
            match evaluate(aff, &q.version, scheme) {
                Ok(Verdict::Affected { fixed }) => {
                    // Several entries may match (one per range set): keep the lowest fix.
                    let better = match (&matched, &fixed) {
                        (None, _) => true,
                        (Some((Some(old), _)), Some(new)) => {
                            scheme.compare(new, old).map(|o| o.is_lt()).unwrap_or(false)
                        }
                        _ => false,
                    };
                    if better {
                        matched = Some((fixed, aff));
                    }
                }
                Ok(Verdict::NotAffected) => {}
                Err(e) => warnings.push(format!(
                    "{} {} ({}): advisory {} not evaluated: {e}",
                    pkg.name, pkg.version, pkg.location.path, rec.id
                )),
            }
        }
        if let Some((fixed, aff)) = matched {
            hits.push(Hit { rating: rate(rec, Some(aff)), record: rec.clone(), fixed });
        }
    }
    hits
}

/// Groups hits whose ids overlap (a record's id in another's aliases, or a shared alias)
/// and makes one finding of each group.
fn merge(pkg: &Package, q: &Query, hits: Vec<Hit>) -> Vec<Finding> {
    let n = hits.len();
    let mut parent: Vec<usize> = (0..n).collect();
    fn find(p: &mut [usize], mut i: usize) -> usize {
        while p[i] != i {
            p[i] = p[p[i]];
            i = p[i];
        }
        i
    }
    let mut owner: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, h) in hits.iter().enumerate() {
        // Aliases merge; `upstream` (the CVEs a DSA fixes) does not: two DSAs fixing one
        // CVE in different uploads are two findings.
        for id in std::iter::once(&h.record.id).chain(&h.record.aliases) {
            match owner.get(id.as_str()) {
                Some(&j) => {
                    let (a, b) = (find(&mut parent, i), find(&mut parent, j));
                    parent[a] = b;
                }
                None => {
                    owner.insert(id, i);
                }
            }
        }
    }
    let mut groups: BTreeMap<usize, Vec<&Hit>> = BTreeMap::new();
    for (i, h) in hits.iter().enumerate() {
        let root = find(&mut parent, i);
        groups.entry(root).or_default().push(h);
    }
    groups.into_values().map(|group| finding(pkg, q, &group)).collect()
}

fn finding(pkg: &Package, q: &Query, group: &[&Hit]) -> Finding {
    let mut records: Vec<String> = group.iter().map(|h| h.record.id.clone()).collect();
    records.sort();
    records.dedup();
    let mut ids: BTreeSet<String> = BTreeSet::new();
    for h in group {
        ids.extend(h.record.all_ids());
    }
    // The CVE first, as users search for it; else the first record's id.
    let id = ids.iter().find(|i| i.starts_with("CVE-")).cloned().unwrap_or_else(|| records[0].clone());
    let aliases: Vec<String> = ids.into_iter().filter(|i| *i != id).collect();
    // The highest rating of the group; with equal levels, one with a score.
    let best = group
        .iter()
        .max_by(|a, b| {
            a.rating.level.cmp(&b.rating.level).then(a.rating.score.is_some().cmp(&b.rating.score.is_some()))
        })
        .map(|h| h.rating.clone())
        .unwrap_or_default();
    let scheme = bulwark_version::scheme_for(&q.ecosystem);
    let fixed_version = group
        .iter()
        .filter_map(|h| h.fixed.clone())
        .min_by(|a, b| scheme.and_then(|s| s.compare(a, b).ok()).unwrap_or(std::cmp::Ordering::Equal));
    let first = &group.iter().min_by_key(|h| &h.record.id).map(|h| &h.record);
    let title = first.and_then(|r| {
        r.summary.clone().filter(|s| !s.is_empty()).or_else(|| {
            r.details.as_deref().and_then(|d| d.lines().find(|l| !l.trim().is_empty())).map(|l| l.trim().to_string())
        })
    });
    let url = first
        .and_then(|r| r.references.iter().find(|x| x.kind == "ADVISORY").map(|x| x.url.clone()))
        .unwrap_or_else(|| format!("https://osv.dev/vulnerability/{}", records[0]));
    Finding {
        id,
        aliases,
        records,
        ecosystem: q.ecosystem.clone(),
        package: PackageRef {
            kind: pkg.kind,
            name: pkg.name.clone(),
            namespace: pkg.namespace.clone(),
            version: pkg.version.clone(),
            purl: pkg.purl.clone(),
            source: pkg.source.clone(),
            location: pkg.location.clone(),
        },
        installed_version: q.version.clone(),
        fixed_version,
        severity: best.level,
        score: best.score,
        cvss_vector: best.vector,
        title,
        description: first.and_then(|r| r.details.clone()),
        url,
        published: first.and_then(|r| r.published.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bulwark_catalog::{PackageType, SourceInfo};
    use bulwark_vulndb::osv::{Affected, AffectedPackage, Event, Range};
    use bulwark_vulndb::Builder;

    fn record(id: &str, aliases: &[&str], fixed: &str, cvss: Option<&str>) -> Record {
        Record {
            id: id.into(),
            aliases: aliases.iter().map(|a| a.to_string()).collect(),
            severity: cvss
                .map(|v| vec![bulwark_vulndb::osv::Severity { kind: "CVSS_V3".into(), score: v.into() }])
                .unwrap_or_default(),
            affected: vec![Affected {
                package: Some(AffectedPackage { ecosystem: "PyPI".into(), name: "Django".into(), purl: None }),
                ranges: vec![Range {
                    kind: "ECOSYSTEM".into(),
                    repo: None,
                    events: vec![Event::introduced("0"), Event::fixed(fixed)],
                }],
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    #[test]
    fn aliases_merge_into_one_finding_with_every_id() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let mut b = Builder::create(&path).unwrap();
        // PyPA's PYSEC record and GitHub's GHSA record of one CVE, as both databases
        // publish it (modelled on PYSEC-2021-7 / GHSA-rxjp-mfm9-w4wr, CVE-2021-31542).
        b.add(&record("PYSEC-2021-7", &["CVE-2021-31542", "GHSA-rxjp-mfm9-w4wr"], "3.2.1", None)).unwrap();
        b.add(&record(
            "GHSA-rxjp-mfm9-w4wr",
            &["CVE-2021-31542"],
            "3.2.1",
            Some("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:H/A:N"),
        ))
        .unwrap();
        // An unrelated advisory for the same package stays separate.
        b.add(&record("PYSEC-2021-98", &["CVE-2021-33203"], "3.2.4", None)).unwrap();
        b.commit().unwrap();
        let db = Db::open(&path).unwrap();
        let inv = Inventory {
            source: SourceInfo::default(),
            packages: vec![Package::new(PackageType::Python, "django", "3.2", "/x/METADATA")],
            ..Default::default()
        };
        let report = scan(&inv, &db).unwrap();
        assert_eq!(report.findings.len(), 2, "{:#?}", report.findings);
        let merged = report.findings.iter().find(|f| f.id == "CVE-2021-31542").unwrap();
        assert_eq!(merged.records, ["GHSA-rxjp-mfm9-w4wr", "PYSEC-2021-7"]);
        assert_eq!(merged.aliases, ["GHSA-rxjp-mfm9-w4wr", "PYSEC-2021-7"]);
        // The group's rating is the best one: GHSA's vector (7.5 HIGH), not PYSEC's nothing.
        assert_eq!(merged.severity, bulwark_vulndb::severity::Level::High);
        assert_eq!(merged.score, Some(7.5));
        assert_eq!(merged.fixed_version.as_deref(), Some("3.2.1"));
        let other = report.findings.iter().find(|f| f.id == "CVE-2021-33203").unwrap();
        assert_eq!(other.records, ["PYSEC-2021-98"]);
    }
}
