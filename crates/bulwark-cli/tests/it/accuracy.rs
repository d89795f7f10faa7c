//! Accuracy against Syft 1.18.1: for every shared image, the set of (type, name, version)
//! we find equals the set Syft finds on the same OCI layout, except for differences named
//! here one by one with the reason. Syft's output was produced once
//! (`syft scan oci-dir:IMAGE -o syft-json`, reduced to type/name/version/purl/path) and is
//! kept in `tests/facts/syft/`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

use crate::common;

use std::collections::BTreeSet;

type Key = (String, String, String);

/// Packages we report and Syft does not, per image, with the reason.
const ONLY_BULWARK: &[(&str, &str, &str, &str, &str)] = &[
    // Syft reads Cargo.lock only for directories. /app/Cargo.lock lists every crate the
    // resolver picked for any target and any kind: the build-dependency autocfg and the
    // Windows-only winapi crates, which the cargo-auditable data in the Linux binary rightly
    // leaves out. Reported from the lockfile, located at /app/Cargo.lock.
    ("rust-app", "rust-crate", "autocfg", "1.5.1", "Cargo.lock build-dependency, not compiled into the binary"),
    ("rust-app", "rust-crate", "winapi", "0.3.9", "Cargo.lock Windows-only dependency"),
    ("rust-app", "rust-crate", "winapi-i686-pc-windows-gnu", "0.4.0", "Cargo.lock Windows-only dependency"),
    ("rust-app", "rust-crate", "winapi-x86_64-pc-windows-gnu", "0.4.0", "Cargo.lock Windows-only dependency"),
];

/// Packages Syft reports and we do not, per image, with the reason.
const ONLY_SYFT: &[(&str, &str, &str, &str, &str)] = &[
    // None: every package Syft 1.18.1 finds on the shared images, we find.
];

fn syft(image: &str) -> BTreeSet<Key> {
    let path = common::repo().join("tests/facts/syft").join(format!("{image}.json"));
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    doc["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["type"].as_str().unwrap().to_string(),
                p["name"].as_str().unwrap().to_string(),
                p["version"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn ours(image: &str) -> BTreeSet<Key> {
    let opts = bulwark_image::Options { no_cache: true, ..Default::default() };
    let src = format!("oci-dir:{}", common::image(image).display());
    let inv = bulwark_image::catalog(&src, &opts).unwrap_or_else(|e| panic!("{image}: {e}"));
    inv.packages.iter().map(|p| (p.kind.to_string(), p.name.clone(), p.version.clone())).collect()
}

fn named(list: &[(&str, &str, &str, &str, &str)], image: &str) -> BTreeSet<Key> {
    list.iter().filter(|e| e.0 == image).map(|e| (e.1.to_string(), e.2.to_string(), e.3.to_string())).collect()
}

fn check(image: &str) {
    let theirs = syft(image);
    let ours = ours(image);
    let only_ours: BTreeSet<_> = ours.difference(&theirs).cloned().collect();
    let only_theirs: BTreeSet<_> = theirs.difference(&ours).cloned().collect();
    assert_eq!(
        only_ours,
        named(ONLY_BULWARK, image),
        "{image}: packages only Bulwark finds differ from the named list"
    );
    assert_eq!(only_theirs, named(ONLY_SYFT, image), "{image}: packages only Syft finds differ from the named list");
    assert!(!ours.is_empty(), "{image}: empty inventory");
}

#[test]
fn debian_minbase() {
    check("debian-minbase");
}

#[test]
fn python_app() {
    check("python-app");
}

#[test]
fn node_app() {
    check("node-app");
}

#[test]
fn rust_app() {
    check("rust-app");
}

#[test]
fn java_app() {
    check("java-app");
}

#[test]
fn multi_layer() {
    check("multi-layer");
}

#[test]
fn zstd_layer() {
    check("zstd-layer");
}

#[test]
fn rpm_synthetic() {
    check("rpm-synthetic");
}
