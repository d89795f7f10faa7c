//! One database from every kind of source at once: the OSV bucket snapshot, Alpine's secdb
//! (YAML directory and one JSON file), the tracker's DSA/DLA lists and its JSON export.

use bulwark_vulndb::{importers, update, Db};
use std::path::Path;

const SHARED: bulwark_testkit::SharedDir = bulwark_testkit::SharedDir("data");
const TRACKER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/debian-tracker.json");
const ALPINE_JSON: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/alpine-secdb-v3.20-main.json");

fn shared(p: &str) -> String {
    format!("{SHARED}/{p}")
}

#[test]
fn each_source_goes_to_its_own_importer() {
    let cases = [
        (shared("osv"), "osv"),
        (shared("osv/Alpine/all.zip"), "osv"),
        (shared("alpine-secdb"), "alpine-secdb"),
        (shared("alpine-secdb/v3.11/main.yaml"), "alpine-secdb"),
        (ALPINE_JSON.to_string(), "alpine-secdb"),
        (shared("debian-security-tracker"), "debian-list"),
        (shared("debian-security-tracker/DLA.list"), "debian-list"),
        (TRACKER.to_string(), "debian-tracker"),
    ];
    for (path, want) in cases {
        let got = importers().iter().find(|i| i.recognizes(Path::new(&path))).map(|i| i.name());
        assert_eq!(got, Some(want), "{path}");
    }
    let readme = shared("debian-security-tracker/README.md");
    assert!(importers().iter().all(|i| !i.recognizes(Path::new(&readme))));
}

#[test]
fn native_feeds_and_osv_in_one_database() {
    let tmp = tempfile::tempdir().unwrap();
    let target = tmp.path().join("vuln.db");
    let (osv, alpine, debian) = (shared("osv"), shared("alpine-secdb"), shared("debian-security-tracker"));
    let sources = [Path::new(&osv), Path::new(&alpine), Path::new(ALPINE_JSON), Path::new(&debian), Path::new(TRACKER)];
    let report = update(&sources, &target).unwrap();
    let db = Db::open(&target).unwrap();

    // The DSA from the native list (it replaced OSV's copy of the same id) and the tracker's
    // per-CVE record both name libtasn1-6 in Debian 12.
    let ids: Vec<String> = db.lookup("Debian:12", "libtasn1-6").unwrap().into_iter().map(|r| r.id).collect();
    assert!(ids.contains(&"DSA-5863-1".to_string()), "{ids:?}");
    assert!(ids.contains(&"DEBIAN-CVE-2024-12133".to_string()), "{ids:?}");
    let dsa = db.get("DSA-5863-1").unwrap().unwrap();
    assert_eq!(dsa.summary.as_deref(), Some("libtasn1-6 - security update"));
    let fixed = dsa.affected[0].ranges[0].events.iter().find_map(|e| e.fixed.clone());
    assert_eq!(fixed.as_deref(), Some("4.19.0-2+deb12u1"));
    let tar: Vec<String> = db.lookup("Debian:12", "tar").unwrap().into_iter().map(|r| r.id).collect();
    assert!(tar.contains(&"DEBIAN-TEMP-0290435-0B57B5".to_string()), "{tar:?}");

    let openssl = db.lookup("Alpine:v3.11", "openssl").unwrap();
    assert!(openssl.len() >= 5, "{}", openssl.len());
    assert!(openssl.iter().all(|r| r.id.starts_with("ALPINE-CVE-")));
    assert!(openssl.iter().any(|r| r.id == "ALPINE-CVE-2019-1551"));
    let v320: Vec<String> = db.lookup("Alpine:v3.20", "openssl").unwrap().into_iter().map(|r| r.id).collect();
    assert_eq!(v320.len(), 9, "{v320:?}");

    let md = db.metadata();
    assert_eq!(md, &report.metadata);
    let records = |format: &str| -> u64 { md.sources.iter().filter(|s| s.format == format).map(|s| s.records).sum() };
    assert_eq!(records("alpine-secdb"), 2_437 + 10);
    assert_eq!(records("debian-list"), 5_883 + 4_220);
    assert_eq!(records("debian-tracker"), 8);
    assert!(records("osv") > 20_000, "{}", records("osv"));
    // Ids, not records: the native lists' DSAs/DLAs replace OSV's copies instead of adding to
    // them, the tracker's DEBIAN-* ids and the v3.20 file's ALPINE-* ids are new.
    assert_eq!(md.ecosystems.get("Debian"), Some(&(11_345 + 8)));
    assert_eq!(md.ecosystems.get("Alpine"), Some(&(2_437 + 10)));
    for eco in ["npm", "PyPI", "Go", "crates.io", "Maven"] {
        assert!(md.ecosystems.get(eco).is_some_and(|n| *n > 0), "{eco}: {:?}", md.ecosystems);
    }

    // Source data slips are reported, naming their file; the tracker fixture has none.
    assert!(report.warnings.iter().any(|w| w.contains("DSA.list") && w.contains("DSA-423")), "{:?}", report.warnings);
    assert!(report.warnings.iter().any(|w| w.contains("1.11-20-r0")), "{:?}", report.warnings);
    assert!(!report.warnings.iter().any(|w| w.contains("debian-tracker.json")), "{:?}", report.warnings);
}
