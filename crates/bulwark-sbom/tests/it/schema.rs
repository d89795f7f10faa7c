//! Both SBOM formats, for an inventory with every package type and awkward names and
//! licenses, validated by real validators against the official schemas in schemas/:
//! `check-jsonschema` for CycloneDX 1.6 and SPDX 2.3, and `pyspdxtools` for SPDX's own
//! rules. CI installs them (a missing one fails there); elsewhere a test without them says
//! SKIPPED.

// The helpers below are test code too, outside #[test] functions.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use bulwark_catalog::{purl_for, Inventory, LayerInfo, OsInfo, Package, PackageType, SourceInfo, SourcePackage};
use bulwark_sbom::formats::{cyclonedx, spdx};
use bulwark_sbom::Stamp;
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    bulwark_testkit::repo().canonicalize().unwrap()
}

fn run(cmd: &mut Command, what: &str) {
    let o = cmd.output().unwrap_or_else(|e| {
        panic!("{what}: cannot run {cmd:?} ({e}); install the validators: pip install check-jsonschema spdx-tools")
    });
    assert!(
        o.status.success(),
        "{what} failed ({}):\n{}\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

/// `check-jsonschema` against a schema in schemas/. The base URI points at the local file:
/// the CycloneDX schema's `$id` is on cyclonedx.org, and its relative `$ref`s to
/// spdx.SNAPSHOT.schema.json and jsf-0.82.SNAPSHOT.schema.json would otherwise be fetched
/// from there.
fn check_schema(schema: &str, file: &Path, what: &str) {
    let schema = repo().join("schemas").join(schema);
    assert!(schema.is_file(), "missing {}", schema.display());
    let base = format!("file://{}", schema.display());
    run(Command::new("check-jsonschema").arg("--base-uri").arg(base).arg("--schemafile").arg(&schema).arg(file), what);
}

fn pkg(kind: PackageType, name: &str, version: &str, licenses: &[&str], path: &str) -> Package {
    let mut p = Package::new(kind, name, version, path);
    p.licenses = licenses.iter().map(|l| l.to_string()).collect();
    p.location.layer = Some("sha256:4cc2ba3550fdcb2d2ddd2b12fcd98a365ae35577dbeca43a9963d67b337c013b".into());
    p
}

/// Awkward packages of one type. The match has no wildcard so a new type cannot be
/// forgotten here.
fn samples(kind: PackageType) -> Vec<Package> {
    use PackageType::*;
    let status = "/var/lib/dpkg/status";
    match kind {
        Deb => {
            let mut a = pkg(
                Deb,
                "libstdc++6",
                "12.2.0-14",
                &["GPLv3+", "BSD-like", "GPL-3.0-or-later WITH GCC-exception-3.1"],
                status,
            );
            a.source = Some(SourcePackage { name: "gcc-12".into(), version: "12.2.0-14".into() });
            a.arch = Some("amd64".into());
            let mut b = pkg(Deb, "libc6", "2.36-9+deb12u4", &["LGPL-2.1+", "GPL-2.0"], status);
            b.source = Some(SourcePackage { name: "glibc".into(), version: "2.36-9+deb12u4".into() });
            b.arch = Some("amd64".into());
            vec![a, b]
        }
        Apk => vec![pkg(Apk, "musl", "1.2.5-r0", &["MIT"], "/lib/apk/db/installed")],
        Rpm => {
            let mut p = pkg(Rpm, "bash", "5.1.8-9.el9", &["GPLv3+"], "/var/lib/rpm/rpmdb.sqlite");
            p.source = Some(SourcePackage { name: "bash".into(), version: "5.1.8-9.el9".into() });
            p.arch = Some("x86_64".into());
            vec![p]
        }
        Python => vec![
            pkg(
                Python,
                "zope_interface",
                "6.1",
                &["ZPL-2.1"],
                "/usr/lib/python3/site-packages/zope_interface-6.1.dist-info/METADATA",
            ),
            pkg(Python, "Ünïcödé-pkg", "0.1", &["BSD or Apache License, Version 2.0"], "/srv/ünï/METADATA"),
            pkg(
                Python,
                "requests",
                "2.31.0",
                &["Apache 2.0", "Apache-2.0"],
                "/usr/lib/python3/site-packages/requests-2.31.0.dist-info/METADATA",
            ),
        ],
        Npm => vec![
            // One package at two places: the same purl twice.
            pkg(Npm, "@types/node", "20.11.0", &["MIT"], "/app/node_modules/@types/node/package.json"),
            pkg(Npm, "@types/node", "20.11.0", &["MIT"], "/app/node_modules/x/node_modules/@types/node/package.json"),
            pkg(Npm, "dual", "1.0.0", &["(MIT OR Apache-2.0)"], "/app/node_modules/dual/package.json"),
            pkg(Npm, "custom", "1.0.0", &["MIT AND LicenseRef-Custom"], "/app/node_modules/custom/package.json"),
            pkg(Npm, "lowercase", "1.0.0", &["mit or apache-2.0"], "/app/node_modules/lowercase/package.json"),
        ],
        RustCrate => vec![pkg(RustCrate, "serde", "1.0.197", &["MIT OR Apache-2.0"], "/usr/local/bin/app")],
        GoModule => vec![
            pkg(GoModule, "github.com/spf13/cobra", "v1.8.0", &["Apache-2.0"], "/usr/local/bin/app"),
            pkg(GoModule, "example.com/main", "(devel)", &[], "/usr/local/bin/app"),
        ],
        JavaArchive => {
            let mut p = pkg(
                JavaArchive,
                "commons-lang3",
                "3.14.0",
                &["The Apache Software License, Version 2.0"],
                "/app/app.jar!BOOT-INF/lib/commons-lang3-3.14.0.jar",
            );
            p.namespace = Some("org.apache.commons".into());
            vec![p]
        }
        Gem => vec![pkg(
            Gem,
            "nokogiri",
            "1.16.0-x86_64-linux",
            &["MIT"],
            "/usr/local/bundle/specifications/nokogiri.gemspec",
        )],
        PhpComposer => vec![pkg(
            PhpComposer,
            "symfony/console",
            "v7.0.0",
            &["MIT", "GPL-2.0-or-later"],
            "/app/vendor/composer/installed.json",
        )],
        Dotnet => vec![pkg(Dotnet, "Newtonsoft.Json", "13.0.3", &["MIT"], "/app/app.deps.json")],
    }
}

fn inventory() -> Inventory {
    let os = OsInfo {
        id: "debian".into(),
        version_id: "12".into(),
        pretty_name: "Debian GNU/Linux 12 (bookworm)".into(),
        version_codename: "bookworm".into(),
        id_like: Vec::new(),
    };
    let mut packages: Vec<Package> = PackageType::ALL.into_iter().flat_map(samples).collect();
    for p in &mut packages {
        p.purl = purl_for(p, Some(&os));
    }
    // And one whose purl could not be made.
    packages.push(pkg(PackageType::Python, "no purl", "", &[], "/x/METADATA"));
    Inventory {
        source: SourceInfo {
            kind: "oci-archive".into(),
            input: "oci-archive:/tmp/app.tar".into(),
            name: Some("registry.example.com/team/app:1.0".into()),
            manifest_digest: Some("sha256:f69f26e204d465a56955043d68260bde8d93a2c0f02f13b30ad6763a940dcb4c".into()),
            image_id: Some("sha256:ec4b304a1206440309ccbec27b88f971e67058374f8ee2c594f11f3602620141".into()),
            platform: Some("linux/amd64".into()),
            layers: vec![LayerInfo {
                diff_id: "sha256:4cc2ba3550fdcb2d2ddd2b12fcd98a365ae35577dbeca43a9963d67b337c013b".into(),
                ..Default::default()
            }],
        },
        os: Some(os),
        packages,
        warnings: Vec::new(),
        skipped: Vec::new(),
    }
}

type Writer = fn(&Inventory, &Stamp, &mut dyn std::io::Write) -> Result<(), bulwark_sbom::SbomError>;

fn write(dir: &Path, file: &str, w: Writer, inv: &Inventory) -> PathBuf {
    let mut out = Vec::new();
    w(inv, &Stamp::at(1_700_000_000).unwrap(), &mut out).unwrap();
    let path = dir.join(file);
    std::fs::write(&path, &out).unwrap();
    path
}

fn json(p: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

#[test]
fn cyclonedx_is_valid_against_the_official_1_6_schema() {
    bulwark_testkit::require_tool!("check-jsonschema");
    let t = tempfile::tempdir().unwrap();
    let inv = inventory();
    let file = write(t.path(), "bom.cdx.json", cyclonedx::write_stamped, &inv);
    check_schema("cyclonedx/bom-1.6.schema.json", &file, "CycloneDX 1.6 schema");

    let doc = json(&file);
    let comps = doc["components"].as_array().unwrap();
    assert_eq!(comps.len(), inv.packages.len() + 1, "the OS and every package");
    let with_purl = comps.iter().filter(|c| c["purl"].is_string()).count();
    assert_eq!(with_purl, inv.packages.iter().filter(|p| !p.purl.is_empty()).count());
    // Same inputs and stamp, same bytes.
    let again = write(t.path(), "again.json", cyclonedx::write_stamped, &inv);
    assert_eq!(std::fs::read(&file).unwrap(), std::fs::read(&again).unwrap());
}

#[test]
fn spdx_is_valid_against_the_official_2_3_schema_and_spdx_tools() {
    bulwark_testkit::require_tool!("check-jsonschema");
    bulwark_testkit::require_tool!("pyspdxtools");
    let t = tempfile::tempdir().unwrap();
    let inv = inventory();
    let file = write(t.path(), "sbom.spdx.json", spdx::write_stamped, &inv);
    check_schema("spdx/spdx-schema-2.3.json", &file, "SPDX 2.3 schema");
    run(Command::new("pyspdxtools").arg("-i").arg(&file), "pyspdxtools");

    let doc = json(&file);
    assert_eq!(doc["packages"].as_array().unwrap().len(), inv.packages.len() + 2, "image, OS, packages");
    let refs: Vec<&str> = doc["hasExtractedLicensingInfos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["extractedText"].as_str().unwrap())
        .collect();
    for free in ["GPLv3+", "BSD-like", "Apache 2.0", "MIT AND LicenseRef-Custom", "mit or apache-2.0"] {
        assert!(refs.contains(&free), "{free} in {refs:?}");
    }
    let again = write(t.path(), "again.json", spdx::write_stamped, &inv);
    assert_eq!(std::fs::read(&file).unwrap(), std::fs::read(&again).unwrap());
}

/// The registry hands out both, and through it (time from the environment) they still
/// validate.
#[test]
fn registered_formats_validate_too() {
    bulwark_testkit::require_tool!("check-jsonschema");
    let t = tempfile::tempdir().unwrap();
    let inv = inventory();
    for (name, schema) in
        [("cyclonedx-json", "cyclonedx/bom-1.6.schema.json"), ("spdx-json", "spdx/spdx-schema-2.3.json")]
    {
        let f = bulwark_sbom::format_by_name(name).unwrap();
        let path = t.path().join(format!("{name}.json"));
        let mut out = Vec::new();
        f.write(&inv, &mut out).unwrap();
        std::fs::write(&path, out).unwrap();
        check_schema(schema, &path, name);
    }
}
