//! The CLI's outputs on real images, validated against the official JSON schemas with real
//! validators (`check-jsonschema` for CycloneDX 1.6 and SPDX 2.3, `pyspdxtools` for SPDX's
//! own rules). `.ci/run` installs both; without them these tests fail, they do not skip.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

use crate::common;

use std::path::Path;
use std::process::Command;

fn sbom(image: &str, format: &str, out: &Path) {
    let o = common::bulwark()
        .args(["sbom", &format!("oci-dir:{}", common::image(image).display()), "--no-cache", "-q", "-f", format, "-o"])
        .arg(out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{image} {format}: {}", String::from_utf8_lossy(&o.stderr));
}

fn validator(cmd: &mut Command, what: &str) {
    let o = cmd.output().unwrap_or_else(|e| {
        panic!("{what}: cannot run {cmd:?} ({e}); install the validators: pip install check-jsonschema spdx-tools")
    });
    assert!(
        o.status.success(),
        "{what} failed validation:\n{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

fn json(p: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

const SAMPLE: [&str; 6] = ["python-app", "node-app", "rust-app", "java-app", "multi-layer", "rpm-synthetic"];

#[test]
fn cyclonedx_validates_against_the_official_schema() {
    bulwark_testkit::require_tool!("check-jsonschema");
    let t = tempfile::tempdir().unwrap();
    let schema = common::repo().join("schemas/cyclonedx/bom-1.6.schema.json").canonicalize().unwrap();
    for image in SAMPLE {
        let out = t.path().join(format!("{image}.cdx.json"));
        sbom(image, "cyclonedx-json", &out);
        validator(
            // The schema's $refs are relative to its cyclonedx.org $id: resolve them offline.
            Command::new("check-jsonschema")
                .arg("--base-uri")
                .arg(format!("file://{}", schema.display()))
                .arg("--schemafile")
                .arg(&schema)
                .arg(&out),
            &format!("{image} CycloneDX"),
        );
        let doc = json(&out);
        assert_eq!(doc["specVersion"], "1.6");
        let ours = t.path().join(format!("{image}.json"));
        sbom(image, "json", &ours);
        let n = json(&ours)["packages"].as_array().unwrap().len();
        let libs = doc["components"].as_array().unwrap().iter().filter(|c| c["purl"].is_string()).count();
        assert_eq!(libs, n, "{image}: every package is a component with a purl");
    }
}

#[test]
fn spdx_validates_against_the_official_schema_and_spdx_tools() {
    bulwark_testkit::require_tool!("check-jsonschema");
    bulwark_testkit::require_tool!("pyspdxtools");
    let t = tempfile::tempdir().unwrap();
    let schema = common::repo().join("schemas/spdx/spdx-schema-2.3.json");
    for image in SAMPLE {
        let out = t.path().join(format!("{image}.spdx.json"));
        sbom(image, "spdx-json", &out);
        validator(
            Command::new("check-jsonschema").arg("--schemafile").arg(&schema).arg(&out),
            &format!("{image} SPDX schema"),
        );
        validator(Command::new("pyspdxtools").arg("-i").arg(&out), &format!("{image} pyspdxtools"));
        assert_eq!(json(&out)["spdxVersion"], "SPDX-2.3");
    }
}

#[test]
fn table_is_the_default_and_unknown_formats_are_refused() {
    let o = common::bulwark()
        .args(["sbom", &format!("oci-dir:{}:1.0", common::image("python-app").display()), "--no-cache"])
        .output()
        .unwrap();
    assert!(o.status.success());
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("TYPE") && text.contains("LOCATION"), "{text}");
    assert!(text.contains("libssl3") && text.contains("/var/lib/dpkg/status"));
    assert!(text.contains("OS: Debian GNU/Linux 12 (bookworm)"));
    let o = common::bulwark().args(["sbom", "dir:/nonexistent", "-f", "yaml"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("yaml") && err.contains("cyclonedx-json") && err.contains("spdx-json"), "{err}");
}
