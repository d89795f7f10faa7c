//! Reading SBOMs back: our own CycloneDX and SPDX of real images round-trip to the same
//! packages; Syft's and Trivy's SBOMs of python-app (made here by the real binaries) read to
//! the packages we catalogue; hostile documents give errors or warnings, never a panic.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

use bulwark_catalog::{Inventory, OsInfo, PackageType};
use bulwark_sbom::formats::{cyclonedx, spdx};
use bulwark_sbom::read::{read_sbom, read_sbom_file, ReadError, MAX_SBOM_BYTES};
use bulwark_sbom::Stamp;
use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use bulwark_testkit::shared;

fn image(name: &str) -> String {
    format!("oci-dir:{}:1.0", bulwark_testkit::image(name).display())
}

fn catalog(name: &str) -> Inventory {
    let opts = bulwark_image::Options { no_cache: true, ..Default::default() };
    bulwark_image::catalog(&image(name), &opts).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Everything that identifies a package, sorted: a multiset, so a package lost or read twice
/// shows.
type Row = (PackageType, String, String, Option<String>, Option<(String, String)>, String, Option<String>);

fn rows(inv: &Inventory) -> Vec<Row> {
    let mut v: Vec<Row> = inv
        .packages
        .iter()
        .map(|p| {
            (
                p.kind,
                p.name.clone(),
                p.version.clone(),
                p.namespace.clone(),
                p.source.as_ref().map(|s| (s.name.clone(), s.version.clone())),
                p.location.path.clone(),
                p.location.layer.clone(),
            )
        })
        .collect();
    v.sort();
    v
}

fn os_id(os: Option<&OsInfo>) -> Option<(&str, &str)> {
    os.map(|o| (o.id.as_str(), o.version_id.as_str()))
}

fn write(inv: &Inventory, format: &str) -> Vec<u8> {
    let stamp = Stamp::at(0).unwrap();
    let mut out = Vec::new();
    match format {
        "cyclonedx-json" => cyclonedx::write_stamped(inv, &stamp, &mut out).unwrap(),
        "spdx-json" => spdx::write_stamped(inv, &stamp, &mut out).unwrap(),
        _ => unreachable!(),
    }
    out
}

fn round_trip(image: &str) {
    let ours = catalog(image);
    assert!(!ours.packages.is_empty(), "{image}: empty inventory");
    for format in ["cyclonedx-json", "spdx-json"] {
        let what = format!("{image} {format}");
        let back = read_sbom(&write(&ours, format), &what).unwrap_or_else(|e| panic!("{e}"));
        assert!(back.warnings.is_empty(), "{what}: {:?}", back.warnings);
        let (want, got) = (rows(&ours), rows(&back));
        if want != got {
            let missing: Vec<_> = want.iter().filter(|r| !got.contains(r)).take(5).collect();
            let extra: Vec<_> = got.iter().filter(|r| !want.contains(r)).take(5).collect();
            panic!("{what}: {} packages vs {}; lost {missing:?}; gained {extra:?}", want.len(), got.len());
        }
        assert_eq!(os_id(back.os.as_ref()), os_id(ours.os.as_ref()), "{what}");
        if format == "cyclonedx-json" {
            assert_eq!(back.os, ours.os, "{what}: the CycloneDX OS component keeps every os-release field");
        }
        let purls = |inv: &Inventory| inv.packages.iter().map(|p| p.purl.clone()).collect::<BTreeSet<_>>();
        assert_eq!(purls(&back), purls(&ours), "{what}");
        let licensed = |inv: &Inventory| inv.packages.iter().filter(|p| !p.licenses.is_empty()).count();
        assert_eq!(licensed(&back), licensed(&ours), "{what}: packages with a license");
        assert_eq!(back.source.kind, "sbom");
        assert_eq!(back.source.input, what);
        assert_eq!(back.source.manifest_digest, ours.source.manifest_digest, "{what}");
    }
}

#[test]
fn round_trip_python_app() {
    round_trip("python-app");
}

#[test]
fn round_trip_node_app() {
    round_trip("node-app");
}

#[test]
fn round_trip_java_app() {
    round_trip("java-app");
}

#[test]
fn round_trip_rust_app() {
    round_trip("rust-app");
}

// ---- Syft and Trivy ----

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(out.status.success(), "{cmd:?}: {}", String::from_utf8_lossy(&out.stderr));
}

type Key = (PackageType, String, String);

/// Packages we find in python-app and the peers do not, with the reason. None: the
/// /app/requirements.txt pin `3.2.0` is the installed `3.2` under PEP 440, so it is one package.
const ONLY_BULWARK: &[(PackageType, &str, &str, &str)] = &[];

/// The deb and Python packages of `inv`, with each deb's source package.
fn deb_and_python(inv: &Inventory) -> BTreeMap<Key, Option<(String, String)>> {
    inv.packages
        .iter()
        .filter(|p| matches!(p.kind, PackageType::Deb | PackageType::Python))
        .map(|p| {
            (
                (p.kind, p.name.clone(), p.version.clone()),
                p.source.as_ref().map(|s| (s.name.clone(), s.version.clone())),
            )
        })
        .collect()
}

fn check_peer(what: &str, theirs: &Inventory, ours: &BTreeMap<Key, Option<(String, String)>>, os_version: &str) {
    // Syft's SPDX names files but no layers in a package's sourceInfo.
    let has_layers = !what.ends_with(".spdx.json");
    let t = deb_and_python(theirs);
    let only_ours: BTreeSet<&Key> = ours.keys().filter(|k| !t.contains_key(*k)).collect();
    let only_theirs: BTreeSet<&Key> = t.keys().filter(|k| !ours.contains_key(*k)).collect();
    let named: BTreeSet<Key> = ONLY_BULWARK.iter().map(|e| (e.0, e.1.to_string(), e.2.to_string())).collect();
    assert_eq!(only_ours, named.iter().collect(), "{what}: packages only we find");
    assert!(only_theirs.is_empty(), "{what}: packages only the peer finds: {only_theirs:?}");
    assert!(t.keys().filter(|k| k.0 == PackageType::Deb).count() >= 110, "{what}");
    assert!(t.keys().filter(|k| k.0 == PackageType::Python).count() >= 17, "{what}");
    // Advisories name the source package: every deb must carry ours, version included.
    for (k, src) in &t {
        if k.0 == PackageType::Deb {
            assert_eq!(src, &ours[k], "{what}: source package of {k:?}");
        }
    }
    let libssl = theirs.packages.iter().find(|p| p.name == "libssl3").unwrap();
    assert_eq!(libssl.source.as_ref().map(|s| s.name.as_str()), Some("openssl"), "{what}");
    assert_eq!(libssl.arch.as_deref(), Some("amd64"), "{what}");
    assert_eq!(os_id(theirs.os.as_ref()), Some(("debian", os_version)), "{what}");
    // Locations: Syft's and Trivy's layer ids are the layers' diff ids, as ours are.
    let requests = theirs.packages.iter().find(|p| p.name == "requests").unwrap();
    assert!(
        requests.location.path.starts_with("/usr/local/lib/python3.11/dist-packages/requests-2.19.1.dist-info/"),
        "{what}: {:?}",
        requests.location
    );
    if has_layers {
        assert!(requests.location.layer.as_deref().is_some_and(|l| l.starts_with("sha256:f283e926a4a0")), "{what}");
    }
}

#[test]
fn syft_and_trivy_sboms_of_python_app() {
    let syft = bulwark_testkit::require_peer!("syft");
    let trivy = bulwark_testkit::require_peer!("trivy");
    let dir = tempfile::tempdir().unwrap();
    let oci = shared().join("images/python-app/oci");
    let layout = format!("oci-dir:{}", oci.display());
    let (cdx, spdx) = (dir.path().join("syft.cdx.json"), dir.path().join("syft.spdx.json"));
    run(Command::new(&syft)
        .args(["scan", "-q", &layout, "-o"])
        .arg(format!("cyclonedx-json={}", cdx.display()))
        .arg("-o")
        .arg(format!("spdx-json={}", spdx.display()))
        .env("SYFT_CHECK_FOR_APP_UPDATE", "false"));
    let trivy_cdx = dir.path().join("trivy.cdx.json");
    run(Command::new(&trivy)
        .args(["image", "-q", "--input"])
        .arg(&oci)
        .args(["--skip-db-update", "--skip-java-db-update", "--skip-check-update", "--offline-scan"])
        .args(["--format", "cyclonedx", "--cache-dir"])
        .arg(dir.path().join("trivy-cache"))
        .arg("-o")
        .arg(&trivy_cdx));

    let ours = deb_and_python(&catalog("python-app"));
    for (file, os_version) in [(&cdx, "12"), (&spdx, "12")] {
        let inv = read_sbom_file(file).unwrap_or_else(|e| panic!("{e}"));
        // Syft's SPDX describes the image as a package with a pkg:oci purl: not a package in it.
        assert!(inv.warnings.is_empty(), "{}: {:?}", file.display(), inv.warnings);
        check_peer(&file.display().to_string(), &inv, &ours, os_version);
    }
    let inv = read_sbom_file(&trivy_cdx).unwrap_or_else(|e| panic!("{e}"));
    assert!(inv.warnings.is_empty(), "trivy: {:?}", inv.warnings);
    // Trivy reads /etc/debian_version (12.15) where Syft and we read os-release's VERSION_ID.
    check_peer("trivy", &inv, &ours, "12.15");
    // Trivy puts dpkg epochs in an `epoch` qualifier; the version read back carries it.
    let bsdutils = inv.packages.iter().find(|p| p.name == "bsdutils").unwrap();
    assert!(bsdutils.purl.contains("epoch=1"), "{}", bsdutils.purl);
    assert_eq!(bsdutils.version, "1:2.38.1-5+deb12u3");
}

// ---- Hand-made documents: every purl type, nesting, and the tools' own fields ----

#[test]
fn purl_types_and_fields() {
    let doc = r#"{
      "bomFormat": "CycloneDX", "specVersion": "1.4", "version": 1,
      "components": [
        {"type": "library", "name": "libcrypto3", "version": "3.3.2-r0",
         "purl": "pkg:apk/alpine/libcrypto3@3.3.2-r0?arch=x86_64&distro=alpine-3.20.3&upstream=openssl",
         "licenses": [{"license": {"id": "Apache-2.0"}}, {"expression": "MIT OR ISC"}],
         "properties": [{"name": "syft:location:0:path", "value": "/lib/apk/db/installed"},
                        {"name": "syft:location:0:layerID", "value": "sha256:aa"}]},
        {"type": "library", "name": "musl", "purl": "pkg:apk/alpine/musl@1.2.5-r0?distro=alpine-3.20.3"},
        {"type": "library", "name": "bash", "purl": "pkg:rpm/rocky/bash@4.4.20-4.el8?arch=x86_64&epoch=1&upstream=bash-4.4.20-4.el8.src.rpm"},
        {"type": "application", "name": "app", "version": "1.0", "purl": "pkg:npm/app@1.0",
         "components": [
           {"type": "library", "name": "JSONStream", "purl": "pkg:npm/jsonstream@1.3.5",
            "components": [{"type": "library", "name": "core", "group": "@babel", "purl": "pkg:npm/%40babel/core@7.24.0"}]}
         ]},
        {"type": "library", "name": "Typing_Extensions", "purl": "pkg:pypi/typing-extensions@4.12.2",
         "properties": [{"name": "aquasecurity:trivy:FilePath", "value": "usr/lib/python3/dist-packages/typing_extensions-4.12.2.dist-info/METADATA"},
                        {"name": "aquasecurity:trivy:LayerDiffID", "value": "sha256:bb"}]},
        {"type": "library", "name": "regex", "purl": "pkg:cargo/regex@1.5.4"},
        {"type": "library", "name": "github.com/spf13/cobra", "purl": "pkg:golang/github.com/spf13/cobra@v1.8.1"},
        {"type": "library", "name": "stdlib", "version": "go1.22.5", "purl": "pkg:golang/stdlib@1.22.5"},
        {"type": "library", "group": "org.apache.logging.log4j", "name": "log4j-core", "purl": "pkg:maven/org.apache.logging.log4j/log4j-core@2.19.0"},
        {"type": "library", "name": "rack", "purl": "pkg:gem/rack@2.2.3"},
        {"type": "library", "name": "monolog/monolog", "purl": "pkg:composer/monolog/monolog@2.9.1"},
        {"type": "library", "name": "Newtonsoft.Json", "purl": "pkg:nuget/Newtonsoft.Json@13.0.1"},
        {"type": "library", "name": "nover", "version": "2.0", "purl": "pkg:cargo/nover"},
        {"type": "file", "name": "/etc/passwd"},
        {"type": "library", "name": "python", "purl": "pkg:generic/python@3.11.2"}
      ]}"#;
    let inv = read_sbom(doc.as_bytes(), "fixture.cdx.json").unwrap();
    let got: Vec<(PackageType, &str, &str, Option<&str>)> =
        inv.packages.iter().map(|p| (p.kind, p.name.as_str(), p.version.as_str(), p.namespace.as_deref())).collect();
    use PackageType::*;
    assert_eq!(
        got,
        [
            (Apk, "libcrypto3", "3.3.2-r0", None),
            (Apk, "musl", "1.2.5-r0", None),
            (Rpm, "bash", "1:4.4.20-4.el8", None),
            (Npm, "app", "1.0", None),
            (Npm, "JSONStream", "1.3.5", None),
            (Npm, "@babel/core", "7.24.0", None),
            (Python, "typing_extensions", "4.12.2", None),
            (RustCrate, "regex", "1.5.4", None),
            (GoModule, "github.com/spf13/cobra", "v1.8.1", None),
            (GoModule, "stdlib", "go1.22.5", None),
            (JavaArchive, "log4j-core", "2.19.0", Some("org.apache.logging.log4j")),
            (Gem, "rack", "2.2.3", None),
            (PhpComposer, "monolog/monolog", "2.9.1", None),
            (Dotnet, "Newtonsoft.Json", "13.0.1", None),
            (RustCrate, "nover", "2.0", None),
        ]
    );
    let p = &inv.packages[0];
    assert_eq!(p.arch.as_deref(), Some("x86_64"));
    assert_eq!(p.source.as_ref().map(|s| (s.name.as_str(), s.version.as_str())), Some(("openssl", "3.3.2-r0")));
    assert_eq!(p.licenses, ["Apache-2.0", "MIT OR ISC"]);
    assert_eq!((p.location.path.as_str(), p.location.layer.as_deref()), ("/lib/apk/db/installed", Some("sha256:aa")));
    // No upstream: an apk is its own origin.
    assert_eq!(inv.packages[1].source.as_ref().map(|s| s.name.as_str()), Some("musl"));
    assert_eq!(inv.packages[1].location.path, "sbom:fixture.cdx.json");
    let rpm_src = inv.packages[2].source.as_ref().unwrap();
    assert_eq!((rpm_src.name.as_str(), rpm_src.version.as_str()), ("bash", "1:4.4.20-4.el8"));
    let py = &inv.packages[6];
    assert_eq!(py.location.path, "/usr/lib/python3/dist-packages/typing_extensions-4.12.2.dist-info/METADATA");
    assert_eq!(py.location.layer.as_deref(), Some("sha256:bb"));
    // No operating-system component: the OS comes from the first OS package's distro.
    assert_eq!(os_id(inv.os.as_ref()), Some(("alpine", "3.20.3")));
    assert_eq!(inv.warnings.len(), 1, "{:?}", inv.warnings);
    assert!(inv.warnings[0].contains("generic (1)"), "{:?}", inv.warnings);
}

#[test]
fn spdx_root_os_and_license_refs() {
    let doc = r#"{
      "spdxVersion": "SPDX-2.2", "SPDXID": "SPDXRef-DOCUMENT", "name": "x",
      "creationInfo": {"creators": ["Tool: other-1.0"]},
      "documentDescribes": ["SPDXRef-root"],
      "packages": [
        {"SPDXID": "SPDXRef-root", "name": "registry.example/app", "versionInfo": "sha256:cc",
         "externalRefs": [{"referenceCategory": "PACKAGE_MANAGER", "referenceType": "purl", "referenceLocator": "pkg:oci/app@sha256:cc"}]},
        {"SPDXID": "SPDXRef-os", "name": "ubuntu", "versionInfo": "22.04", "primaryPackagePurpose": "OPERATING-SYSTEM"},
        {"SPDXID": "SPDXRef-a", "name": "libssl3", "versionInfo": "3.0.2-0ubuntu1.15",
         "licenseDeclared": "Apache-2.0 AND LicenseRef-Artistic AND (MIT OR ISC)",
         "sourceInfo": "acquired package info from DPKG DB: /usr/share/doc/libssl3/copyright, /var/lib/dpkg/status",
         "externalRefs": [{"referenceCategory": "SECURITY", "referenceType": "cpe23Type", "referenceLocator": "cpe:2.3:a:x"},
                          {"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl",
                           "referenceLocator": "pkg:deb/ubuntu/libssl3@3.0.2-0ubuntu1.15?arch=amd64&distro=ubuntu-22.04&upstream=openssl%403.0.2-0ubuntu1.15"}]},
        {"SPDXID": "SPDXRef-b", "name": "nopurl", "versionInfo": "1"}
      ],
      "hasExtractedLicensingInfos": [{"licenseId": "LicenseRef-Artistic", "extractedText": "Artistic"}]
    }"#;
    let inv = read_sbom(doc.as_bytes(), "fixture.spdx.json").unwrap();
    assert_eq!(inv.packages.len(), 1);
    let p = &inv.packages[0];
    assert_eq!((p.kind, p.name.as_str()), (PackageType::Deb, "libssl3"));
    assert_eq!(
        p.source.as_ref().map(|s| (s.name.as_str(), s.version.as_str())),
        Some(("openssl", "3.0.2-0ubuntu1.15"))
    );
    assert_eq!(p.licenses, ["Apache-2.0", "Artistic", "MIT OR ISC"]);
    assert_eq!(p.location.path, "/usr/share/doc/libssl3/copyright");
    assert_eq!(os_id(inv.os.as_ref()), Some(("ubuntu", "22.04")));
    assert_eq!(inv.source.name.as_deref(), Some("registry.example/app"));
    assert_eq!(inv.warnings, ["fixture.spdx.json: skipped 1 component(s) without a package URL"]);
}

// ---- Hostile input ----

fn err(doc: &[u8]) -> ReadError {
    match read_sbom(doc, "evil.json") {
        Ok(inv) => panic!("read: {} packages", inv.packages.len()),
        Err(e) => {
            assert!(e.to_string().contains("evil.json"), "{e}");
            e
        }
    }
}

#[test]
fn not_json_or_not_an_sbom() {
    assert!(matches!(err(b"hello"), ReadError::NotJson { .. }));
    assert!(matches!(err(b""), ReadError::NotJson { .. }));
    assert!(matches!(err(b"\xff\xfe{\x00"), ReadError::NotJson { .. }));
    assert!(matches!(err(b"<?xml version=\"1.0\"?><bom/>"), ReadError::Unsupported { .. }));
    assert!(matches!(err(b"SPDXVersion: SPDX-2.3\n"), ReadError::Unsupported { .. }));
    assert!(matches!(err(b"[1, 2, 3]"), ReadError::Shape { .. }));
    assert!(matches!(err(b"{\"bomFormat\": 5}"), ReadError::Shape { .. }));
    assert!(matches!(
        err(br#"{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": {"a": 1}}"#),
        ReadError::Shape { .. }
    ));
    assert!(matches!(
        err(br#"{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [{"properties": [{"name": 1}]}]}"#),
        ReadError::Shape { .. }
    ));
    assert!(matches!(err(br#"{"bomFormat": "CycloneDX", "specVersion": "1.1"}"#), ReadError::Unsupported { .. }));
    assert!(matches!(err(br#"{"bomFormat": "CycloneDX"}"#), ReadError::Unsupported { .. }));
    assert!(matches!(err(br#"{"bomFormat": "SWID"}"#), ReadError::Unsupported { .. }));
    assert!(matches!(err(br#"{"spdxVersion": "SPDX-3.0"}"#), ReadError::Unsupported { .. }));
    assert!(matches!(err(br#"{"hello": "world"}"#), ReadError::Unrecognised { .. }));
    // A real SBOM cut short.
    let inv = Inventory {
        packages: vec![bulwark_catalog::Package::new(PackageType::Gem, "a", "1", "/x")],
        ..Default::default()
    };
    let full = write(&inv, "cyclonedx-json");
    assert!(matches!(err(&full[..full.len() / 2]), ReadError::NotJson { .. }));
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let deep = |open: &str, close: &str| {
        let mut s = String::from(r#"{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": ["#);
        s.push_str(&open.repeat(10_000));
        s.push_str(&close.repeat(10_000));
        s.push_str("]}");
        s
    };
    // Nested components, a field that is read…
    let e = err(deep(r#"{"name": "x", "purl": "pkg:npm/x@1", "components": ["#, "]}").as_bytes());
    assert!(e.to_string().contains("recursion limit"), "{e}");
    // …arrays where a component should be…
    err(deep("[", "]").as_bytes());
    // …and in a field that is not read, which serde_json skips without recursing: read, not
    // a crash, even a million deep.
    for depth in [10_000, 1_000_000] {
        let mut arrays = String::from(r#"{"bomFormat": "CycloneDX", "specVersion": "1.6", "x": "#);
        arrays.push_str(&"[".repeat(depth));
        arrays.push_str(&"]".repeat(depth));
        arrays.push('}');
        let inv = read_sbom(arrays.as_bytes(), "evil.json").unwrap();
        assert!(inv.packages.is_empty() && inv.warnings.is_empty());
    }
}

#[test]
fn garbage_purls_are_counted_warnings() {
    // A type that is not one, 900 kB long: the warning quotes only the start of it.
    let long = format!("pkg:{}/x@1", "%ff".repeat(300_000));
    let mut components = vec![
        r#"{"name": "good", "purl": "pkg:npm/good@1.0.0"}"#.to_string(),
        r#"{"name": "a", "purl": "not a purl"}"#.to_string(),
        r#"{"name": "b", "purl": "pkg:"}"#.to_string(),
        r#"{"name": "c", "purl": "pkg:deb/"}"#.to_string(),
        r#"{"name": "d", "purl": "pkg:de b/x@1"}"#.to_string(),
        r#"{"name": "e", "purl": "pkg:npm/x@%ff%fe"}"#.to_string(),
        r#"{"name": "f", "purl": "pkg:npm/x?a%20b=1"}"#.to_string(),
        format!(r#"{{"name": "g", "purl": "{long}"}}"#),
        r#"{"name": "h", "purl": "pkg:nosuch/x@1"}"#.to_string(),
        r#"{"name": "i", "purl": "pkg:deb/debian/x@1?distro=%ff"}"#.to_string(),
        r#"{"type": "operating-system"}"#.to_string(),
    ];
    components.extend((0..5000).map(|i| format!(r#"{{"name": "nopurl{i}", "version": "1"}}"#)));
    let doc =
        format!(r#"{{"bomFormat": "CycloneDX", "specVersion": "1.5", "components": [{}]}}"#, components.join(","));
    let inv = read_sbom(doc.as_bytes(), "evil.json").unwrap();
    let names: Vec<&str> = inv.packages.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["good"]);
    assert!(inv.warnings.len() <= 3, "{:?}", inv.warnings);
    let all = inv.warnings.join("\n");
    assert!(all.contains("skipped 5000 component(s) without a package URL"), "{all}");
    assert!(all.contains("unparsable package URL"), "{all}");
    assert!(all.contains("nosuch (1)"), "{all}");
    assert!(inv.warnings.iter().all(|w| w.len() < 1000 && w.starts_with("evil.json: ")), "{all}");
    // An operating-system component with no name is an empty OS, not a crash.
    assert_eq!(os_id(inv.os.as_ref()), Some(("", "")));
}

#[test]
fn file_over_the_cap_is_refused_unread() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.json");
    // Sparse: no disk is used, and nothing is read.
    std::fs::File::create(&path).unwrap().set_len(MAX_SBOM_BYTES + 1).unwrap();
    let e = read_sbom_file(&path).unwrap_err();
    assert!(matches!(e, ReadError::TooLarge { .. }), "{e}");
    assert!(e.to_string().contains("huge.json"), "{e}");
    let e = read_sbom_file(dir.path().join("absent.json")).unwrap_err();
    assert!(matches!(e, ReadError::Io { .. }) && e.to_string().contains("absent.json"), "{e}");
}
