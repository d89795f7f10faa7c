//! `bulwark scan` end to end on the shared images and the real advisory data in
//! ../shared/data (OSV zips, the Debian tracker's DSA/DLA lists, Alpine's secdb).
//!
//! The expected findings in tests/facts/scan/expected.json come from an independent oracle,
//! tests/facts/scan/oracle.py: the same OSV records evaluated with dpkg itself, PyPA's
//! `packaging` and python-semver, none of our matching code.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

use crate::common;

use crate::common::scan_facts::{expected, records, Key};

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Output;

/// One database for the whole test run, from every real source (bulwark-testkit builds it
/// once and caches it by the data's digest).
fn db() -> &'static Path {
    bulwark_testkit::advisory_db()
}

fn scan(source: &str, extra: &[&str]) -> Output {
    common::bulwark().args(["scan", source, "-q", "--no-cache", "--db"]).arg(db()).args(extra).output().unwrap()
}

fn scan_json(source: &str, extra: &[&str]) -> serde_json::Value {
    let out = scan(source, &[&["-f", "json"], extra].concat());
    assert!(out.status.success(), "{source}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn image_source(name: &str) -> String {
    format!("oci-dir:{}", common::image(name).display())
}

fn assert_same(image: &str) {
    let got = records(&scan_json(&image_source(image), &[]));
    let want = expected(image);
    let keys: BTreeSet<&Key> = got.keys().chain(want.keys()).collect();
    let mut diffs = Vec::new();
    for k in keys {
        let (g, w) = (got.get(k).cloned().unwrap_or_default(), want.get(k).cloned().unwrap_or_default());
        if g != w {
            diffs.push(format!(
                "{k:?}: extra {:?}, missing {:?}",
                g.difference(&w).collect::<Vec<_>>(),
                w.difference(&g).collect::<Vec<_>>()
            ));
        }
    }
    assert!(diffs.is_empty(), "{image}: findings differ from the oracle:\n{}", diffs.join("\n"));
}

#[test]
fn python_app_findings_are_exactly_the_oracles() {
    assert_same("python-app");
}

#[test]
fn node_app_findings_are_exactly_the_oracles() {
    // SOURCES.md: every npm GHSA record here affects node-app except GHSA-jf85-cpcp-j695
    // (lodash fixed 4.17.12) and GHSA-c2qf-rxjj-qqgw (semver 5.7.3 is past 5.7.2).
    assert_same("node-app");
    let all: BTreeSet<String> = records(&scan_json(&image_source("node-app"), &[])).into_values().flatten().collect();
    assert!(!all.contains("GHSA-jf85-cpcp-j695") && !all.contains("GHSA-c2qf-rxjj-qqgw"), "{all:?}");
    assert_eq!(all.iter().filter(|id| id.starts_with("GHSA-")).count(), 16, "{all:?}");
}

#[test]
fn rust_app_findings_are_exactly_the_oracles() {
    assert_same("rust-app");
}

#[test]
fn java_app_findings_are_exactly_the_oracles() {
    // Only snakeyaml 1.33 (GHSA-mjmj-j48q-9wg2, < 2.0). commons-text 1.10.0 sits exactly
    // at GHSA-599f-7c49-w659's fixed version and must not be reported.
    assert_same("java-app");
    let report = scan_json(&image_source("java-app"), &[]);
    let names: Vec<&str> =
        report["findings"].as_array().unwrap().iter().map(|f| f["package"]["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["snakeyaml"]);
}

#[test]
fn debian_images_have_no_backport_false_positives() {
    // The Debian records are loaded and name python-app's source packages in Debian:12 ...
    let db = bulwark_vulndb::Db::open(db()).unwrap();
    let mut dsas = BTreeSet::new();
    for src in ["glibc", "openssl", "expat", "python3.11", "krb5", "util-linux", "libtasn1-6"] {
        for r in db.lookup("Debian:12", src).unwrap() {
            if r.id.starts_with("DSA-") {
                dsas.insert(r.id);
            }
        }
    }
    assert!(dsas.contains("DSA-5863-1"), "{dsas:?}");
    assert!(dsas.len() >= 11, "expected the 11 DSAs naming python-app's source packages, got {dsas:?}");
    // ... and every one is fixed in what is installed: no Debian finding at all.
    for image in ["python-app", "debian-minbase", "multi-layer"] {
        let report = scan_json(&image_source(image), &[]);
        let debian: Vec<_> = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["ecosystem"].as_str().unwrap().starts_with("Debian"))
            .map(|f| f["id"].clone())
            .collect();
        assert!(debian.is_empty(), "{image}: Debian findings {debian:?}");
        assert!(report["packages_scanned"].as_u64().unwrap() >= 88, "{image}: OS packages were not looked up");
    }
    assert_same("multi-layer");
    assert_same("debian-minbase");
}

#[test]
fn exit_code_severity_and_ignore_file_gate_ci() {
    let src = image_source("java-app");
    assert_eq!(scan(&src, &["--exit-code", "1"]).status.code(), Some(1));
    // GHSA-mjmj-j48q-9wg2 is HIGH (CVSS 8.3): a CRITICAL-only gate passes.
    assert_eq!(scan(&src, &["--exit-code", "1", "--severity", "CRITICAL"]).status.code(), Some(0));
    assert_eq!(scan(&src, &["--exit-code", "1", "--severity", "HIGH,CRITICAL"]).status.code(), Some(1));
    let dir = tempfile::tempdir().unwrap();
    let ignore = dir.path().join(".bulwarkignore");
    // By its CVE alias, as users write them.
    std::fs::write(&ignore, "# accepted until the upgrade\nCVE-2022-1471 exp:2999-01-01\n").unwrap();
    let out = scan(&src, &["--exit-code", "1", "-f", "json", "--ignorefile", ignore.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["suppressed"][0]["by"], "ignorefile");
    assert!(report["suppressed"][0]["reason"].as_str().unwrap().contains("CVE-2022-1471"));
    // An expired entry no longer applies.
    std::fs::write(&ignore, "CVE-2022-1471 exp:2020-01-01\n").unwrap();
    assert_eq!(scan(&src, &["--exit-code", "1", "--ignorefile", ignore.to_str().unwrap()]).status.code(), Some(1));
}

/// `--exit-code` is Trivy's: the code asked for when findings are left, 0 otherwise. The OS
/// keeps only an exit code's low byte, so `--exit-code 256` exited 0 with findings (a CI gate
/// that never closes) and -1 exited 255: both are now usage errors (exit 2).
#[test]
fn exit_code_is_used_as_given_and_must_fit_a_byte() {
    let src = image_source("java-app");
    assert_eq!(scan(&src, &["--exit-code", "3"]).status.code(), Some(3));
    assert_eq!(scan(&src, &["--exit-code", "3", "--severity", "CRITICAL"]).status.code(), Some(0));
    assert_eq!(scan(&src, &[]).status.code(), Some(0));
    for bad in ["256", "-1", "x"] {
        let out = scan(&src, &[&format!("--exit-code={bad}")]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "--exit-code={bad}: {err}");
        assert!(err.contains("--exit-code"), "{err}");
    }
}

#[test]
fn vex_not_affected_suppresses_with_its_reason() {
    let dir = tempfile::tempdir().unwrap();
    let vex = dir.path().join("vex.json");
    std::fs::write(
        &vex,
        r#"{"@context":"https://openvex.dev/ns/v0.2.0","@id":"https://example.com/vex/1","author":"t","timestamp":"2026-01-01T00:00:00Z","version":1,
            "statements":[{"vulnerability":{"name":"GHSA-35jh-r3h4-6jhm"},"products":[{"@id":"pkg:npm/lodash@4.17.15"}],
                           "status":"not_affected","justification":"vulnerable_code_not_in_execute_path"}]}"#,
    )
    .unwrap();
    let report = scan_json(&image_source("node-app"), &["--vex", vex.to_str().unwrap()]);
    let sup = report["suppressed"].as_array().unwrap();
    assert_eq!(sup.len(), 1, "{sup:?}");
    assert_eq!(sup[0]["by"], "vex");
    assert!(sup[0]["reason"].as_str().unwrap().contains("vulnerable_code_not_in_execute_path"));
    assert!(sup[0]["finding"]["records"].as_array().unwrap().iter().any(|r| r == "GHSA-35jh-r3h4-6jhm"));
    let shown = records(&report).into_values().flatten().collect::<BTreeSet<_>>();
    assert!(!shown.contains("GHSA-35jh-r3h4-6jhm"));
}

/// The CycloneDX analysis follows the VEX statement, whatever its free text says: it was read
/// back from the reason string by substring, so an impact statement naming another
/// justification picked that one, and a VEX file under a path holding ": fixed" turned every
/// not_affected into "resolved".
#[test]
fn vex_analysis_in_cyclonedx_ignores_free_text() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("x: fixed");
    std::fs::create_dir(&sub).unwrap();
    let vex = sub.join("vex.json");
    std::fs::write(
        &vex,
        r#"{"@context":"https://openvex.dev/ns/v0.2.0","@id":"https://example.com/vex/2","author":"t","timestamp":"2026-01-01T00:00:00Z","version":1,
            "statements":[{"vulnerability":{"name":"CVE-2020-28168"},"products":[{"@id":"pkg:npm/axios"}],
                           "status":"not_affected","justification":"vulnerable_code_not_in_execute_path",
                           "impact_statement":"never: fixed (component_not_present)"}]}"#,
    )
    .unwrap();
    let out = scan(&image_source("node-app"), &["-f", "cyclonedx", "--vex", vex.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let analysed: Vec<&serde_json::Value> =
        doc["vulnerabilities"].as_array().unwrap().iter().filter(|v| v.get("analysis").is_some()).collect();
    assert_eq!(analysed.len(), 1, "{analysed:?}");
    assert_eq!(analysed[0]["id"], "CVE-2020-28168");
    let a = &analysed[0]["analysis"];
    assert_eq!((a["state"].as_str(), a["justification"].as_str()), (Some("not_affected"), Some("code_not_reachable")));
    assert_eq!(
        a["detail"].as_str().unwrap(),
        format!(
            "{}: not_affected (vulnerable_code_not_in_execute_path): never: fixed (component_not_present)",
            vex.display()
        )
    );
}

#[test]
fn an_sbom_scans_like_its_image() {
    let dir = tempfile::tempdir().unwrap();
    for (image, format) in [("node-app", "cyclonedx-json"), ("python-app", "spdx-json"), ("rust-app", "cyclonedx-json")]
    {
        let sbom = dir.path().join(format!("{image}.{format}.json"));
        let out = common::bulwark()
            .args(["sbom", &image_source(image), "-q", "--no-cache", "-f", format, "-o"])
            .arg(&sbom)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let from_sbom = records(&scan_json(&format!("sbom:{}", sbom.display()), &[]));
        let want: BTreeSet<(String, String, BTreeSet<String>)> =
            expected(image).into_iter().map(|((n, v, _), r)| (n, v, r)).collect();
        let got: BTreeSet<(String, String, BTreeSet<String>)> =
            from_sbom.into_iter().map(|((n, v, _), r)| (n, v, r)).collect();
        assert_eq!(got, want, "{image} via {format}");
    }
}

#[test]
fn a_missing_database_says_how_to_get_one() {
    let dir = tempfile::tempdir().unwrap();
    let out = common::bulwark()
        .args(["scan", &image_source("node-app"), "-q", "--db"])
        .arg(dir.path().join("none.db"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bulwark db update") && err.contains("--source"), "{err}");
}

#[test]
fn db_info_reports_sources_and_counts() {
    let out = common::bulwark().args(["db", "info", "-f", "json", "--db"]).arg(db()).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for eco in ["Alpine", "Debian", "Go", "Maven", "PyPI", "crates.io", "npm"] {
        assert!(info["ecosystems"][eco].as_u64().unwrap_or(0) > 0, "{eco}: {info}");
    }
    // 13 crates.io + 17 Go + 10 PyPI records are withdrawn (SOURCES.md).
    assert_eq!(info["withdrawn_skipped"], 40);
    let formats: BTreeSet<&str> =
        info["sources"].as_array().unwrap().iter().map(|s| s["format"].as_str().unwrap()).collect();
    assert!(formats.contains("osv") && formats.len() >= 3, "{formats:?}");
}

#[test]
fn go_binary_modules_and_stdlib_match_the_oracle() {
    // Syft 1.18.1's own executable (a real Go binary, built with go1.23.4) in a directory:
    // its modules match Go records by module path, and its toolchain matches `stdlib`.
    let syft = bulwark_testkit::require_peer!("syft");
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(&syft, dir.path().join("syft")).unwrap();
    let report = scan_json(&format!("dir:{}", dir.path().display()), &[]);
    let got = records(&report);
    let want = expected("syft-binary");
    assert_eq!(got, want);
    let stdlib = got.iter().find(|((n, v, _), _)| n == "stdlib" && v == "go1.23.4").map(|(_, r)| r.len());
    assert!(stdlib.unwrap_or(0) > 10, "stdlib findings: {stdlib:?}");

    // Some Go records name no fix yet: --ignore-unfixed moves exactly those aside.
    let unfixed: BTreeSet<String> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f.get("fixed_version").is_none())
        .map(|f| f["id"].as_str().unwrap().to_string())
        .collect();
    assert!(!unfixed.is_empty());
    let filtered = scan_json(&format!("dir:{}", dir.path().display()), &["--ignore-unfixed"]);
    let suppressed: BTreeSet<String> = filtered["suppressed"]
        .as_array()
        .unwrap()
        .iter()
        .inspect(|s| assert_eq!(s["by"], "unfixed"))
        .map(|s| s["finding"]["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(suppressed, unfixed);
    assert!(filtered["findings"].as_array().unwrap().iter().all(|f| f.get("fixed_version").is_some()));
}

#[test]
fn an_update_killed_midway_leaves_the_old_database_usable() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vuln.db");
    let osv = common::shared().join("data/osv");
    let small = common::bulwark()
        .args(["db", "update", "-q", "--db"])
        .arg(&path)
        .arg("--source")
        .arg(osv.join("Maven/all.zip"))
        .output()
        .unwrap();
    assert!(small.status.success(), "{}", String::from_utf8_lossy(&small.stderr));
    let before = std::fs::read(&path).unwrap();
    // A big update, killed (SIGKILL: no cleanup) while it writes.
    let mut child =
        common::bulwark().args(["db", "update", "-q", "--db"]).arg(&path).arg("--source").arg(&osv).spawn().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    // Wait until its temp file exists, so the kill lands mid-write.
    loop {
        let writing = std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .any(|e| e.file_name().to_string_lossy().starts_with(".bulwark-db-"));
        if writing || std::time::Instant::now() > deadline {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(!status.success(), "the update finished before it could be killed");
    assert_eq!(std::fs::read(&path).unwrap(), before, "the old database changed");
    let out = common::bulwark()
        .args(["scan", &image_source("java-app"), "-q", "--no-cache", "-f", "json", "--db"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["findings"][0]["records"][0], "GHSA-mjmj-j48q-9wg2");
}

#[test]
fn sarif_and_cyclonedx_of_a_real_scan_validate() {
    let dir = tempfile::tempdir().unwrap();
    let schemas = common::repo().join("schemas");
    for (format, schema) in [("sarif", "sarif-2.1.0.json"), ("cyclonedx", "cyclonedx/bom-1.6.schema.json")] {
        let out_file = dir.path().join(format!("node-app.{format}.json"));
        let out = scan(&image_source("node-app"), &["-f", format, "-o", out_file.to_str().unwrap()]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let schema = schemas.join(schema);
        // The CycloneDX schema refers to spdx.schema.json and jsf-0.82.schema.json beside it.
        let base = format!("file://{}/", schema.parent().unwrap().display());
        let check = std::process::Command::new("check-jsonschema")
            .args(["--base-uri", &base, "--schemafile"])
            .arg(&schema)
            .arg(&out_file)
            .output()
            .unwrap_or_else(|e| panic!("check-jsonschema: {e}; pip install check-jsonschema"));
        assert!(check.status.success(), "{format}: {}", String::from_utf8_lossy(&check.stdout));
        let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&out_file).unwrap()).unwrap();
        if format == "sarif" {
            // One rule per advisory; node-app has 17 records in 17 findings.
            assert_eq!(doc["runs"][0]["tool"]["driver"]["rules"].as_array().unwrap().len(), 17);
            assert_eq!(doc["runs"][0]["results"].as_array().unwrap().len(), 17);
        } else {
            assert_eq!(doc["vulnerabilities"].as_array().unwrap().len(), 17);
        }
    }
}

#[test]
fn syft_and_trivy_sboms_scan_like_the_image() {
    // SBOMs written by the peers themselves (Syft 1.18.1, Trivy 0.59.1, installed by
    // .ci/peers.sh), scanned: the same (package, version, records) as scanning the image.
    let syft = bulwark_testkit::require_peer!("syft");
    let trivy = bulwark_testkit::require_peer!("trivy");
    let dir = tempfile::tempdir().unwrap();
    for image in ["node-app", "python-app"] {
        let layout = common::image(image);
        let syft_out = dir.path().join(format!("{image}.syft.cdx.json"));
        let st = std::process::Command::new(&syft)
            .env("SYFT_CHECK_FOR_APP_UPDATE", "false")
            .arg("scan")
            .arg(format!("oci-dir:{}", layout.display()))
            .args(["-q", "-o"])
            .arg(format!("cyclonedx-json={}", syft_out.display()))
            .status()
            .unwrap();
        assert!(st.success());
        let trivy_out = dir.path().join(format!("{image}.trivy.cdx.json"));
        let st = std::process::Command::new(&trivy)
            .env("TRIVY_CACHE_DIR", dir.path().join("trivy-cache"))
            .args(["image", "--input"])
            .arg(&layout)
            .args(["--skip-db-update", "--skip-java-db-update", "--offline-scan", "--format", "cyclonedx", "-q", "-o"])
            .arg(&trivy_out)
            .status()
            .unwrap();
        assert!(st.success());
        let key = |m: BTreeMap<Key, BTreeSet<String>>| -> BTreeSet<(String, String, BTreeSet<String>)> {
            m.into_iter().map(|((n, v, _), r)| (n.to_lowercase(), v, r)).collect()
        };
        let want = key(expected(image));
        for (peer, sbom) in [("syft", &syft_out), ("trivy", &trivy_out)] {
            let got = key(records(&scan_json(&format!("sbom:{}", sbom.display()), &[])));
            assert_eq!(got, want, "{image} via {peer}'s SBOM");
            // The Debian packages were looked up too (as Debian:12, by source package).
            if image == "python-app" {
                let report = scan_json(&format!("sbom:{}", sbom.display()), &[]);
                assert!(report["packages_scanned"].as_u64().unwrap() > 100, "{peer}: {}", report["packages_scanned"]);
                assert_eq!(report["os"]["id"], "debian", "{peer}");
            }
        }
    }
}
