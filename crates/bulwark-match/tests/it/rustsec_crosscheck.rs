//! Cross-check of crates.io matching against RustSec's own matcher (the `rustsec` crate,
//! what `cargo audit` runs) on the same advisory data and the rust-app test image.
//!
//! The data is RustSec's `osv` branch export (`shared/data/osv/crates.io/all.zip`). `rustsec`
//! reads the advisory-db layout (`crates/<name>/RUSTSEC-*.md`, TOML front matter), not OSV, so
//! every record is turned back into such a file. The export (rustsec 0.34 `osv` module:
//! `OsvJsonRange::new` over `ranges_for_advisory`) writes each gap between unaffected/patched
//! requirements as `introduced`/`fixed` (an unbounded start as `introduced: 0.0.0-0`, an
//! exclusive bound as the next SemVer version, `x.y.(z+1)-0`); the inverse below writes each
//! gap between affected ranges back as a half-open requirement, and the first test proves,
//! record by record, that re-exporting gives exactly the events we started from.
//!
//! Compared: (crate, version, advisory id) from `rustsec::Report` — vulnerabilities *plus*
//! informational warnings (notice, unmaintained, unsound), because Bulwark reports
//! informational advisories as findings too — against Bulwark's findings (every record id
//! of every crates.io finding) for the image's `/app/Cargo.lock`.
//!
//! Needs `--features oracles` (.ci/run turns it on), so that the everyday `cargo test` does
//! not build rustsec.
#![cfg(feature = "oracles")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

use bulwark_catalog::PackageType;
use rustsec::advisory::Informational;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};

/// RustSec's OSV export in ../shared (or `$BULWARK_SHARED`).
fn osv_zip() -> PathBuf {
    bulwark_testkit::shared().join("data/osv/crates.io/all.zip")
}

fn image() -> PathBuf {
    bulwark_testkit::image("rust-app")
}
const LOCK_PATH: &str = "app/Cargo.lock";

/// (crate, version, advisory id).
type Triple = (String, String, String);

fn osv_records() -> Vec<serde_json::Value> {
    let mut zip = zip::ZipArchive::new(std::fs::File::open(osv_zip()).unwrap()).unwrap();
    let mut out = Vec::new();
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).unwrap();
        let mut text = String::new();
        entry.read_to_string(&mut text).unwrap();
        out.push(serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", entry.name())));
    }
    out
}

fn strs(v: &serde_json::Value) -> Vec<String> {
    v.as_array().into_iter().flatten().map(|s| s.as_str().unwrap().to_string()).collect()
}

/// `(kind, version)` of each event of a record's single SEMVER range.
fn events(rec: &serde_json::Value) -> Vec<(String, String)> {
    let id = rec["id"].as_str().unwrap();
    let affected = rec["affected"].as_array().unwrap();
    assert_eq!(affected.len(), 1, "{id}: the RustSec export writes one affected entry");
    let ranges = affected[0]["ranges"].as_array().unwrap();
    assert_eq!(ranges.len(), 1, "{id}: the RustSec export writes one range");
    assert_eq!(ranges[0]["type"], "SEMVER", "{id}");
    let mut out = Vec::new();
    for e in ranges[0]["events"].as_array().unwrap() {
        let (k, v) = e.as_object().unwrap().iter().next().unwrap();
        out.push((k.clone(), v.as_str().unwrap().to_string()));
    }
    out
}

/// Inverse of the export's range conversion: the requirement lists (`patched`, `unaffected`)
/// whose complement is exactly the affected ranges. Which list a gap lands in is not
/// recoverable from OSV (both are "not affected" to the matcher, which unions them): the gap
/// below the first range goes to `unaffected`, every later gap to `patched`.
fn versions_from_events(id: &str, evs: &[(String, String)]) -> (Vec<String>, Vec<String>) {
    // Pair the events into [introduced, fixed) ranges, as the export wrote them.
    let mut ranges: Vec<(String, Option<String>)> = Vec::new();
    let mut it = evs.iter().peekable();
    while let Some((k, v)) = it.next() {
        assert_eq!(k, "introduced", "{id}: expected introduced, got {k} {v}");
        let fixed = match it.peek() {
            Some((k, _)) if k == "fixed" => it.next().map(|(_, f)| f.clone()),
            _ => None,
        };
        ranges.push((v.clone(), fixed));
    }
    assert!(!ranges.is_empty(), "{id}: no range");
    let mut patched = Vec::new();
    let mut unaffected = Vec::new();
    // The export writes an unbounded start as `0.0.0-0`, the lowest SemVer version.
    if ranges[0].0 != "0.0.0-0" {
        unaffected.push(format!("< {}", ranges[0].0));
    }
    for pair in ranges.windows(2) {
        let fixed = pair[0].1.as_ref().unwrap_or_else(|| panic!("{id}: open range before another"));
        patched.push(format!(">= {fixed}, < {}", pair[1].0));
    }
    if let Some(fixed) = &ranges[ranges.len() - 1].1 {
        patched.push(format!(">= {fixed}"));
    }
    (patched, unaffected)
}

/// What the export's `OsvJsonRange::new` writes for an advisory's `[versions]`.
fn export_events(versions: &rustsec::advisory::Versions) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for r in rustsec::osv::ranges_for_advisory(versions) {
        let intro = r.introduced.map(|v| v.to_string()).unwrap_or_else(|| "0.0.0-0".into());
        out.push(("introduced".to_string(), intro));
        if let Some(f) = r.fixed {
            out.push(("fixed".to_string(), f.to_string()));
        }
    }
    out
}

/// `2020-11-10T12:00:00Z` → `2020-11-10` (the export writes RustSec's dates at noon UTC).
fn date(rfc3339: &str) -> String {
    rfc3339.split('T').next().unwrap().to_string()
}

/// One OSV record as an advisory-db file: (crate, id, Markdown with TOML front matter).
fn to_rustsec(rec: &serde_json::Value) -> (String, String, String) {
    use toml::{Table, Value};
    let id = rec["id"].as_str().unwrap().to_string();
    let aff = &rec["affected"][0];
    let package = aff["package"]["name"].as_str().unwrap().to_string();
    let arr = |v: Vec<String>| Value::Array(v.into_iter().map(Value::String).collect());

    let mut adv = Table::new();
    adv.insert("id".into(), Value::String(id.clone()));
    adv.insert("package".into(), Value::String(package.clone()));
    adv.insert("date".into(), Value::String(date(rec["published"].as_str().unwrap())));
    adv.insert("aliases".into(), arr(strs(&rec["aliases"])));
    adv.insert("related".into(), arr(strs(&rec["related"])));
    let ds = &aff["database_specific"];
    adv.insert("categories".into(), arr(strs(&ds["categories"])));
    if let Some(cvss) = ds["cvss"].as_str() {
        adv.insert("cvss".into(), Value::String(cvss.into()));
    }
    if let Some(info) = ds["informational"].as_str() {
        adv.insert("informational".into(), Value::String(info.into()));
    }
    if let Some(w) = rec["withdrawn"].as_str() {
        adv.insert("withdrawn".into(), Value::String(date(w)));
    }
    if let Some(l) = rec["database_specific"]["license"].as_str() {
        adv.insert("license".into(), Value::String(l.into()));
    }
    // The export puts the crates.io page and the rustsec.org page first, then `url`, then
    // `references`; which one was `url` is lost, so all of them go back as references.
    let refs: Vec<String> =
        rec["references"].as_array().unwrap().iter().map(|r| r["url"].as_str().unwrap().to_string()).collect();
    assert!(refs.len() >= 2 && refs[0].starts_with("https://crates.io/crates/"), "{id}: {refs:?}");
    adv.insert("references".into(), arr(refs[2..].to_vec()));

    let affects = &aff["ecosystem_specific"]["affects"];
    let mut affected = Table::new();
    affected.insert("arch".into(), arr(strs(&affects["arch"])));
    affected.insert("os".into(), arr(strs(&affects["os"])));
    // OSV keeps only the function paths, not their version requirements; matching does not
    // read them.
    let functions: Table = strs(&affects["functions"]).into_iter().map(|f| (f, Value::Array(Vec::new()))).collect();
    affected.insert("functions".into(), Value::Table(functions));

    let (patched, unaffected) = versions_from_events(&id, &events(rec));
    let mut versions = Table::new();
    versions.insert("patched".into(), arr(patched));
    versions.insert("unaffected".into(), arr(unaffected));

    let mut doc = Table::new();
    doc.insert("advisory".into(), Value::Table(adv));
    doc.insert("affected".into(), Value::Table(affected));
    doc.insert("versions".into(), Value::Table(versions));
    let front = toml::to_string(&doc).unwrap();
    assert!(front.starts_with("[advisory]"), "{id}: rustsec wants [advisory] first:\n{front}");
    let title = rec["summary"].as_str().unwrap_or_default();
    assert!(!title.contains('\n'), "{id}: multi-line summary");
    let details = rec["details"].as_str().unwrap_or_default();
    (package, id, format!("```toml\n{front}```\n\n# {title}\n\n{details}\n"))
}

/// Writes every record (withdrawn ones too) as `crates/<crate>/<id>.md` under `dir`.
fn write_advisory_db(records: &[serde_json::Value], dir: &Path) {
    for rec in records {
        let (package, id, text) = to_rustsec(rec);
        let d = dir.join("crates").join(&package);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join(format!("{id}.md")), text).unwrap();
    }
}

fn rustsec_db(records: &[serde_json::Value]) -> (tempfile::TempDir, rustsec::Database) {
    let dir = tempfile::tempdir().unwrap();
    write_advisory_db(records, dir.path());
    let db = rustsec::Database::open(dir.path()).unwrap_or_else(|e| panic!("rustsec::Database::open: {e}"));
    (dir, db)
}

#[test]
fn hand_made_ranges_invert_as_rustsec_writes_them() {
    let ev = |v: &[(&str, &str)]| -> Vec<(String, String)> {
        v.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    };
    // RUSTSEC-2021-0003 (smallvec): patched >= 0.6.14, < 1.0.0 and >= 1.6.1; unaffected < 0.6.3.
    let e = ev(&[("introduced", "0.6.3"), ("fixed", "0.6.14"), ("introduced", "1.0.0"), ("fixed", "1.6.1")]);
    let (p, u) = versions_from_events("t", &e);
    assert_eq!(p, [">= 0.6.14, < 1.0.0", ">= 1.6.1"]);
    assert_eq!(u, ["< 0.6.3"]);
    // Unbounded start, no fix: every version affected, both lists empty.
    let (p, u) = versions_from_events("t", &ev(&[("introduced", "0.0.0-0")]));
    assert!(p.is_empty() && u.is_empty());
    // An exact `= 0.2.0` unaffected requirement comes out of the export as fixed 0.2.0,
    // introduced 0.2.1-0; its inverse must re-export to the same events.
    let e = ev(&[("introduced", "0.0.0-0"), ("fixed", "0.2.0"), ("introduced", "0.2.1-0"), ("fixed", "0.2.23")]);
    let (p, u) = versions_from_events("t", &e);
    assert_eq!(p, [">= 0.2.0, < 0.2.1-0", ">= 0.2.23"]);
    let reqs = |v: &[String]| v.iter().map(|s| rustsec::VersionReq::parse(s).unwrap()).collect::<Vec<_>>();
    let versions = rustsec::advisory::Versions::new(reqs(&p), reqs(&u)).unwrap();
    assert_eq!(export_events(&versions), e);
    assert!(versions.is_vulnerable(&"0.1.9".parse().unwrap()));
    assert!(!versions.is_vulnerable(&"0.2.0".parse().unwrap()));
    assert!(versions.is_vulnerable(&"0.2.1".parse().unwrap()));
    assert!(!versions.is_vulnerable(&"0.2.23".parse().unwrap()));
}

/// Every converted advisory loads in `rustsec` and re-exports to exactly the OSV events it
/// came from, with its withdrawn and informational flags, so the oracle below sees the same
/// advisories Bulwark imports.
#[test]
fn every_osv_record_round_trips_through_rustsec() {
    let records = osv_records();
    assert!(records.len() > 1000, "crates.io all.zip has {} records", records.len());
    let (_dir, db) = rustsec_db(&records);
    assert_eq!(db.iter().count(), records.len(), "advisories rustsec loaded");
    let mut mismatches = Vec::new();
    for rec in &records {
        let id: rustsec::advisory::Id = rec["id"].as_str().unwrap().parse().unwrap();
        let adv = db.get(&id).unwrap_or_else(|| panic!("{id} not in the rustsec database"));
        let want = events(rec);
        let got = export_events(&adv.versions);
        if got != want {
            mismatches.push(format!("{id}: OSV {want:?}, re-exported {got:?}"));
        }
        assert_eq!(adv.metadata.withdrawn.is_some(), rec["withdrawn"].is_string(), "{id}: withdrawn");
        let info = rec["affected"][0]["database_specific"]["informational"].as_str();
        assert_eq!(adv.metadata.informational.as_ref().map(|i| i.as_str()), info, "{id}: informational");
        assert_eq!(adv.metadata.package.as_str(), rec["affected"][0]["package"]["name"], "{id}: package");
    }
    assert!(mismatches.is_empty(), "{} records do not round-trip:\n{}", mismatches.len(), mismatches.join("\n"));
}

/// `/app/Cargo.lock` read straight from the image's layer tars (OCI layout: index →
/// manifest → layers), the last layer that has it winning.
fn image_cargo_lock() -> String {
    let blob = |digest: &str| image().join("blobs/sha256").join(digest.trim_start_matches("sha256:"));
    let json = |p: &Path| -> serde_json::Value { serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap() };
    let index = json(&image().join("index.json"));
    let manifest = json(&blob(index["manifests"][0]["digest"].as_str().unwrap()));
    let mut lock = None;
    for layer in manifest["layers"].as_array().unwrap() {
        assert!(layer["mediaType"].as_str().unwrap().ends_with("tar+gzip"), "{layer}");
        let f = std::fs::File::open(blob(layer["digest"].as_str().unwrap())).unwrap();
        let mut tar = tar::Archive::new(flate2::read::MultiGzDecoder::new(f));
        for entry in tar.entries().unwrap() {
            let mut entry = entry.unwrap();
            let path = entry.path().unwrap().to_string_lossy().trim_start_matches("./").to_string();
            if path == LOCK_PATH {
                let mut text = String::new();
                entry.read_to_string(&mut text).unwrap();
                lock = Some(text);
            }
        }
    }
    lock.expect("rust-app image has /app/Cargo.lock")
}

fn show(set: &BTreeSet<Triple>) -> String {
    set.iter().map(|(n, v, id)| format!("  {n} {v} {id}")).collect::<Vec<_>>().join("\n")
}

#[test]
fn rust_app_findings_match_rustsec() {
    let records = osv_records();

    // --- RustSec: `cargo audit` on /app/Cargo.lock with the converted database.
    let (_dir, rdb) = rustsec_db(&records);
    assert!(
        rdb.iter().all(|a| !matches!(a.metadata.informational, Some(Informational::Other(_)))),
        "an informational kind rustsec's report has no warning for would be silently left out of the oracle"
    );
    let lockfile: rustsec::Lockfile = image_cargo_lock().parse().unwrap();
    let settings = rustsec::report::Settings {
        informational_warnings: vec![Informational::Notice, Informational::Unmaintained, Informational::Unsound],
        ..Default::default()
    };
    let report = rustsec::Report::generate(&rdb, &lockfile, &settings);
    let mut theirs: BTreeSet<Triple> = BTreeSet::new();
    for v in &report.vulnerabilities.list {
        theirs.insert((v.package.name.to_string(), v.package.version.to_string(), v.advisory.id.to_string()));
    }
    for w in report.warnings.values().flatten() {
        let a = w.advisory.as_ref().expect("informational warnings carry their advisory");
        theirs.insert((w.package.name.to_string(), w.package.version.to_string(), a.id.to_string()));
    }
    // What rustsec looks up: crates.io packages only (`query_vulnerabilities` skips others).
    let lock_crates: BTreeSet<(String, String)> = lockfile
        .packages
        .iter()
        .filter(|p| p.source.as_ref().is_some_and(|s| s.is_default_registry()))
        .map(|p| (p.name.to_string(), p.version.to_string()))
        .collect();

    // --- Bulwark: a database from the same zip only, the image catalogued, then matched.
    let tmp = tempfile::tempdir().unwrap();
    let db_path = tmp.path().join("vuln.db");
    let update = bulwark_vulndb::update(&[osv_zip().as_path()], &db_path).unwrap();
    assert!(update.warnings.is_empty(), "import warnings: {:?}", update.warnings);
    let live = records.iter().filter(|r| !r["withdrawn"].is_string()).count() as u64;
    assert_eq!(update.metadata.advisories, live, "advisories imported (withdrawn ones are skipped)");
    let db = bulwark_vulndb::Db::open(&db_path).unwrap();
    let opts = bulwark_image::Options { no_cache: true, ..Default::default() };
    let inv = bulwark_image::catalog(&format!("oci-dir:{}:1.0", image().display()), &opts).unwrap();
    let scan = bulwark_match::scan(&inv, &db).unwrap();
    assert!(scan.warnings.is_empty(), "scan warnings: {:?}", scan.warnings);
    let mut ours: BTreeSet<Triple> = BTreeSet::new();
    let mut where_found: BTreeMap<Triple, BTreeSet<String>> = BTreeMap::new();
    for f in scan.findings.iter().filter(|f| f.ecosystem == "crates.io") {
        for r in &f.records {
            let t = (f.package.name.clone(), f.installed_version.clone(), r.clone());
            where_found.entry(t.clone()).or_default().insert(f.package.location.path.clone());
            ours.insert(t);
        }
    }
    let our_crates: BTreeSet<(String, String)> = inv
        .packages
        .iter()
        .filter(|p| p.kind == PackageType::RustCrate)
        .map(|p| (p.name.clone(), p.version.clone()))
        .collect();

    // --- Which crates each side sees, difference by difference.
    let only_ours: BTreeSet<_> = our_crates.difference(&lock_crates).cloned().collect();
    let only_theirs: BTreeSet<_> = lock_crates.difference(&our_crates).cloned().collect();
    // rust-app 0.1.0 is the image's own root crate: the auditable binary lists it (kind
    // runtime), and in Cargo.lock it has no `source`, so rustsec does not look it up.
    let root = ("rust-app".to_string(), "0.1.0".to_string());
    assert_eq!(only_ours, BTreeSet::from([root.clone()]), "crates only Bulwark's inventory has");
    // Cargo.lock-only crates (autocfg, a build dependency; winapi and its two target shims,
    // Windows-only) are not in the binary but stay in our inventory at /app/Cargo.lock: none
    // is missing.
    assert!(only_theirs.is_empty(), "Cargo.lock crates missing from Bulwark's inventory: {only_theirs:?}");
    assert!(
        !ours.iter().any(|(n, v, _)| (n, v) == (&root.0, &root.1)),
        "the root crate is not a crates.io package, yet matched: {}",
        show(&ours)
    );

    // --- The findings, on the crates both sides see.
    let common: BTreeSet<_> = our_crates.intersection(&lock_crates).cloned().collect();
    let ours_common: BTreeSet<Triple> =
        ours.iter().filter(|(n, v, _)| common.contains(&(n.clone(), v.clone()))).cloned().collect();
    let theirs_common: BTreeSet<Triple> =
        theirs.iter().filter(|(n, v, _)| common.contains(&(n.clone(), v.clone()))).cloned().collect();
    let located: Vec<String> = where_found.iter().map(|((n, v, id), at)| format!("  {n} {v} {id} at {at:?}")).collect();
    assert_eq!(
        ours_common,
        theirs_common,
        "\nBulwark ({}):\n{}\nrustsec vulnerabilities + informational warnings ({}):\n{}\nonly Bulwark:\n{}\nonly rustsec:\n{}\nBulwark findings by location:\n{}",
        ours_common.len(),
        show(&ours_common),
        theirs_common.len(),
        show(&theirs_common),
        show(&ours_common.difference(&theirs_common).cloned().collect()),
        show(&theirs_common.difference(&ours_common).cloned().collect()),
        located.join("\n"),
    );
    // Not an empty-equals-empty pass: the advisories the image was built to carry are there.
    for (n, v, id) in [
        ("time", "0.1.43", "RUSTSEC-2020-0071"),
        ("smallvec", "1.6.0", "RUSTSEC-2021-0003"),
        ("regex", "1.5.4", "RUSTSEC-2022-0013"),
        ("chrono", "0.4.19", "RUSTSEC-2020-0159"),
    ] {
        assert!(theirs_common.contains(&(n.into(), v.into(), id.into())), "rustsec misses {n} {v} {id}");
    }
}

/// Versions at and around every bound of `rec`'s range: the bound itself, its neighbours
/// and a pre-release of it (the cases where interval ends and SemVer precedence bite).
fn probe_versions(rec: &serde_json::Value) -> BTreeSet<String> {
    let mut out = BTreeSet::from(["0.0.0".to_string(), "0.1.0".to_string(), "1.0.0".to_string()]);
    for (_, v) in events(rec) {
        let Ok(v) = v.parse::<rustsec::Version>() else { panic!("{}: bound {v} is not SemVer", rec["id"]) };
        out.insert(v.to_string());
        let mut next = v.clone();
        next.pre = rustsec::semver::Prerelease::EMPTY;
        next.patch += 1;
        out.insert(next.to_string());
        if v.patch > 0 {
            let mut prev = v.clone();
            prev.pre = rustsec::semver::Prerelease::EMPTY;
            prev.patch -= 1;
            out.insert(prev.to_string());
        }
        if v.pre.is_empty() {
            out.insert(format!("{v}-alpha.1"));
        }
    }
    out
}

/// Beyond the image: every crate named by an advisory, at the versions around each of its
/// advisories' bounds, scanned by Bulwark (lookup, range evaluation, alias merging) and
/// queried in rustsec (vulnerable and informational, withdrawn left out, as `cargo audit`).
#[test]
fn every_advisory_bound_matches_rustsec() {
    let records = osv_records();
    let (_dir, rdb) = rustsec_db(&records);
    let mut probes: BTreeSet<(String, String)> = BTreeSet::new();
    for rec in &records {
        let name = rec["affected"][0]["package"]["name"].as_str().unwrap().to_string();
        probes.extend(probe_versions(rec).into_iter().map(|v| (name.clone(), v)));
    }

    let mut theirs: BTreeSet<Triple> = BTreeSet::new();
    for (name, version) in &probes {
        let q = rustsec::database::Query::new()
            .collection(rustsec::Collection::Crates)
            .package_name(name.parse().unwrap())
            .package_version(version.parse().unwrap())
            .withdrawn(false);
        for a in rdb.query(&q) {
            theirs.insert((name.clone(), version.clone(), a.id().to_string()));
        }
    }

    let tmp = tempfile::tempdir().unwrap();
    let db_path = tmp.path().join("vuln.db");
    bulwark_vulndb::update(&[osv_zip().as_path()], &db_path).unwrap();
    let db = bulwark_vulndb::Db::open(&db_path).unwrap();
    let inv = bulwark_catalog::Inventory {
        packages: probes
            .iter()
            .map(|(n, v)| bulwark_catalog::Package::new(PackageType::RustCrate, n.as_str(), v.as_str(), "/Cargo.lock"))
            .collect(),
        ..Default::default()
    };
    let scan = bulwark_match::scan(&inv, &db).unwrap();
    assert!(scan.warnings.is_empty(), "scan warnings: {:?}", scan.warnings);
    assert_eq!(scan.packages_scanned, probes.len());
    let ours: BTreeSet<Triple> = scan
        .findings
        .iter()
        .flat_map(|f| f.records.iter().map(|r| (f.package.name.clone(), f.installed_version.clone(), r.clone())))
        .collect();

    // Empty intervals (`introduced X, fixed X`, which RustSec's export writes where two
    // patched requirements meet: RUSTSEC-2022-0012, 2023-0039, 2024-0399, 2026-0149) once
    // made us report every version from X on; this comparison found it.
    let only_ours: BTreeSet<Triple> = ours.difference(&theirs).cloned().collect();
    let only_theirs: BTreeSet<Triple> = theirs.difference(&ours).cloned().collect();
    // Both lists in full would be thousands of lines: the differences, then the sizes.
    assert!(
        only_ours.is_empty() && only_theirs.is_empty(),
        "only Bulwark ({}):\n{}\nonly rustsec ({}):\n{}\n\
         (Bulwark {} findings, rustsec {}, over {} crate versions)",
        only_ours.len(),
        show(&only_ours),
        only_theirs.len(),
        show(&only_theirs),
        ours.len(),
        theirs.len(),
        probes.len(),
    );
    assert!(theirs.len() > 1000, "too few matches for a meaningful cross-check: {}", theirs.len());
}
