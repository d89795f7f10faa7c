//! A scan report made by hand: findings in two targets (a dpkg status file and an npm
//! lockfile), one advisory in two packages, one package with two advisories, findings
//! suppressed three ways, and a title and a link written to attack a terminal.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)] // shared by several test binaries

use bulwark_catalog::{Location, OsInfo, PackageType, SourceInfo, SourcePackage};
use bulwark_match::{DbSummary, Finding, PackageRef, ScanReport, Suppressed, Suppression, VexJustification, VexStatus};
use bulwark_report::{format_by_name, WriteOptions};
use bulwark_vulndb::severity::Level;
use std::path::PathBuf;
use std::process::Command;

pub const STATUS: &str = "/var/lib/dpkg/status";
pub const LOCK: &str = "/app/package-lock.json";
pub const HOSTILE_TITLE: &str =
    "Command Injection in lodash\u{1b}[2J\u{1b}]0;pwned\u{7}\r\nrm -rf / \u{9b}31m\u{202e}gnp.exe";

pub fn package(kind: PackageType, name: &str, version: &str, purl: &str, path: &str) -> PackageRef {
    PackageRef {
        kind,
        name: name.into(),
        namespace: None,
        version: version.into(),
        purl: purl.into(),
        source: None,
        location: Location {
            path: path.into(),
            layer: Some("sha256:4cc2ba3550fdcb2d2ddd2b12fcd98a365ae35577dbeca43a9963d67b337c013b".into()),
        },
    }
}

pub fn finding(id: &str, package: PackageRef, severity: Level, fixed: Option<&str>) -> Finding {
    Finding {
        id: id.into(),
        aliases: Vec::new(),
        records: vec![id.into()],
        ecosystem: if package.kind == PackageType::Deb { "Debian:12".into() } else { "npm".into() },
        installed_version: package.version.clone(),
        package,
        fixed_version: fixed.map(str::to_string),
        severity,
        score: None,
        cvss_vector: None,
        title: None,
        description: None,
        url: format!("https://osv.dev/vulnerability/{id}"),
        published: None,
    }
}

fn deb(name: &str, version: &str) -> PackageRef {
    let mut p = package(
        PackageType::Deb,
        name,
        version,
        &format!("pkg:deb/debian/{name}@{version}?arch=amd64&distro=debian-12"),
        STATUS,
    );
    p.source = Some(SourcePackage { name: "openssl".into(), version: version.into() });
    p
}

fn npm(name: &str, version: &str) -> PackageRef {
    package(PackageType::Npm, name, version, &format!("pkg:npm/{name}@{version}"), LOCK)
}

pub fn report() -> ScanReport {
    let mut overread =
        finding("CVE-2024-5535", deb("libssl3", "3.0.11-1~deb12u2"), Level::Critical, Some("3.0.13-1~deb12u1"));
    overread.aliases = vec!["DSA-5678-1".into()];
    overread.score = Some(9.1);
    overread.cvss_vector = Some("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:H".into());
    overread.title = Some("openssl: SSL_select_next_proto buffer overread".into());
    overread.description = Some("Calling the OpenSSL API function SSL_select_next_proto with an empty supported client protocols buffer may cause a crash or memory contents to be sent to the peer.".into());
    overread.url = "https://security-tracker.debian.org/tracker/CVE-2024-5535".into();
    overread.published = Some("2024-06-27T11:15:00Z".into());
    let mut overread_bin = overread.clone();
    overread_bin.package = deb("openssl", "3.0.11-1~deb12u2");

    let mut dos = finding("CVE-2024-2511", deb("libssl3", "3.0.11-1~deb12u2"), Level::Low, Some("3.0.13-1~deb12u1"));
    dos.title = Some("openssl: Unbounded memory growth with session handling in TLSv1.3".into());

    let mut lodash = finding("GHSA-35jh-r3h4-6jhm", npm("lodash", "4.17.15"), Level::High, Some("4.17.21"));
    lodash.aliases = vec!["CVE-2021-23337".into()];
    lodash.score = Some(7.2);
    lodash.cvss_vector = Some("CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H".into());
    lodash.title = Some(HOSTILE_TITLE.into());
    lodash.description =
        Some("Line one\n\nLine two with <script>alert(1)</script> and [a link](javascript:alert(1))".into());
    lodash.url = "https://github.com/advisories/GHSA-35jh-r3h4-6jhm".into();
    lodash.published = Some("not a date".into());

    let mut minimist = finding("GHSA-vh95-rmgr-6w4m", npm("minimist", "1.2.0"), Level::Unknown, None);
    minimist.title = Some("Prototype Pollution in minimist".into());
    minimist.url = "javascript:alert(document.cookie)".into();

    let mut glibc = finding("CVE-2023-4911", deb("libc6", "2.36-9+deb12u1"), Level::High, Some("2.36-9+deb12u3"));
    glibc.package.source = Some(SourcePackage { name: "glibc".into(), version: "2.36-9+deb12u1".into() });
    glibc.score = Some(7.8);
    glibc.cvss_vector = Some("CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H".into());
    let express = finding("CVE-2024-29041", npm("express", "4.18.2"), Level::Medium, Some("4.19.2"));
    let zlib = finding("CVE-2023-45853", deb("zlib1g", "1:1.2.13.dfsg-1"), Level::Critical, None);

    ScanReport {
        source: SourceInfo {
            kind: "registry".into(),
            input: "registry.example.com/team/app:1.0".into(),
            name: Some("registry.example.com/team/app:1.0".into()),
            manifest_digest: Some("sha256:9f1b6b0b2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6".into()),
            image_id: Some("sha256:0a1b2c3d".into()),
            platform: Some("linux/amd64".into()),
            layers: Vec::new(),
        },
        os: Some(OsInfo {
            id: "debian".into(),
            version_id: "12".into(),
            pretty_name: "Debian GNU/Linux 12 (bookworm)".into(),
            ..Default::default()
        }),
        db: DbSummary { built_at: "2026-11-20T00:00:00Z".into(), schema_version: 1, advisories: 123_456 },
        packages_scanned: 42,
        findings: vec![overread, dos, overread_bin, lodash, minimist],
        suppressed: vec![
            Suppressed {
                finding: glibc,
                by: Suppression::Vex {
                    file: "vex.json".into(),
                    status: VexStatus::NotAffected,
                    justification: Some(VexJustification::VulnerableCodeNotInExecutePath),
                    impact: Some("no setuid binaries".into()),
                },
            },
            Suppressed {
                finding: express,
                by: Suppression::IgnoreFile {
                    file: ".bulwarkignore".into(),
                    line: 3,
                    id: "CVE-2024-29041".into(),
                    expires: Some(time::macros::date!(2030 - 01 - 01)),
                },
            },
            Suppressed { finding: zlib, by: Suppression::Unfixed },
        ],
        warnings: vec!["/usr/lib/python3/dist-packages/x/METADATA: not UTF-8".into()],
    }
}

/// `report` written in `format`.
pub fn render(report: &ScanReport, format: &str, color: bool) -> String {
    let f = format_by_name(format).unwrap_or_else(|| panic!("no format {format}"));
    let mut out = Vec::new();
    f.write(report, &mut out, &WriteOptions { color }).unwrap();
    String::from_utf8(out).unwrap()
}

pub fn json(report: &ScanReport, format: &str) -> serde_json::Value {
    serde_json::from_str(&render(report, format, false)).unwrap()
}

pub fn repo() -> PathBuf {
    bulwark_testkit::repo().canonicalize().unwrap()
}

/// `check-jsonschema` against a schema in schemas/ (tests first `require_tool!` it: CI
/// installs it, elsewhere the test says SKIPPED). The base URI points at the local file so that relative
/// `$ref`s (CycloneDX's to the SPDX and JSF schemas) resolve offline.
pub fn check_schema(schema: &str, text: &str, what: &str) {
    let schema = repo().join("schemas").join(schema);
    assert!(schema.is_file(), "missing {}", schema.display());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("doc.json");
    std::fs::write(&file, text).unwrap();
    let mut cmd = Command::new("check-jsonschema");
    cmd.arg("--base-uri").arg(format!("file://{}", schema.display())).arg("--schemafile").arg(&schema).arg(&file);
    let o = cmd.output().unwrap_or_else(|e| {
        panic!("{what}: cannot run {cmd:?} ({e}); install the validator: pip install check-jsonschema==0.39.0")
    });
    assert!(
        o.status.success(),
        "{what} failed validation ({}):\n{}\n{}\n{text}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}
