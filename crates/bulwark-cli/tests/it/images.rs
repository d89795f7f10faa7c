//! The real shared images, read through every source kind, with whiteouts, provenance and
//! the layer cache checked against what `../shared/images/README.md` says they hold.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

use crate::common;

use bulwark_catalog::{Inventory, PackageType};
use bulwark_image::{catalog, Options};
use std::collections::BTreeSet;

fn scan(src: &str, opts: &Options) -> Inventory {
    catalog(src, opts).unwrap_or_else(|e| panic!("{src}: {e}"))
}

fn no_cache() -> Options {
    Options { no_cache: true, ..Default::default() }
}

fn set(inv: &Inventory) -> BTreeSet<(PackageType, String, String)> {
    inv.packages.iter().map(|p| (p.kind, p.name.clone(), p.version.clone())).collect()
}

fn oci(name: &str) -> String {
    format!("oci-dir:{}", common::image(name).display())
}

#[test]
fn multi_layer_whiteouts_are_applied() {
    let inv = scan(&oci("multi-layer"), &no_cache());
    let has = |t: PackageType, n: &str| inv.packages.iter().filter(|p| p.kind == t && p.name == n).count();
    assert_eq!(has(PackageType::Python, "six"), 0, "six was whited out in layer 4");
    assert_eq!(has(PackageType::Npm, "left-pad"), 0, "left-pad is under an opaque dir in layer 4");
    let is_number: Vec<_> = inv.packages.iter().filter(|p| p.name == "is-number").collect();
    assert_eq!(is_number.len(), 1, "{is_number:?}");
    assert_eq!(is_number[0].version, "7.0.0");
    let layers = &inv.source.layers;
    assert_eq!(layers.len(), 5);
    assert_eq!(is_number[0].location.layer.as_deref(), Some(layers[3].diff_id.as_str()), "comes from layer 4");
    assert_eq!(is_number[0].location.path, "/opt/node/node_modules/is-number/package.json");
    let debs: Vec<_> = inv.packages.iter().filter(|p| p.kind == PackageType::Deb).collect();
    assert_eq!(debs.len(), 109);
    assert!(!debs.iter().any(|p| p.name == "python3"));
    // Layer 5 rewrote the status file: every dpkg package now comes from it.
    assert!(debs.iter().all(|p| p.location.layer.as_deref() == Some(layers[4].diff_id.as_str())));
}

#[test]
fn python_app_packages_name_their_layer_path_and_source() {
    let inv = scan(&format!("{}:1.0", oci("python-app")), &no_cache());
    let os = inv.os.as_ref().unwrap();
    assert_eq!((os.id.as_str(), os.version_id.as_str()), ("debian", "12"));
    let find = |n: &str| inv.packages.iter().find(|p| p.name == n).unwrap_or_else(|| panic!("{n} missing"));
    let ssl = find("libssl3");
    assert_eq!(ssl.version, "3.0.20-1~deb12u2");
    assert_eq!(ssl.source.as_ref().unwrap().name, "openssl");
    assert_eq!(ssl.location.path, "/var/lib/dpkg/status");
    assert_eq!(ssl.location.layer.as_deref(), Some(inv.source.layers[1].diff_id.as_str()));
    assert_eq!(ssl.purl, "pkg:deb/debian/libssl3@3.0.20-1~deb12u2?arch=amd64&distro=debian-12&upstream=openssl");
    assert_eq!(find("libsystemd0").source.as_ref().unwrap().name, "systemd");
    assert_eq!(inv.packages.iter().filter(|p| p.kind == PackageType::Deb).count(), 110);
    assert_eq!(
        inv.source.manifest_digest.as_deref(),
        Some("sha256:f69f26e204d465a56955043d68260bde8d93a2c0f02f13b30ad6763a940dcb4c")
    );
}

#[test]
fn zstd_layer_equals_the_gzip_original() {
    let a = scan(&oci("zstd-layer"), &no_cache());
    let b = scan(&oci("debian-minbase"), &no_cache());
    assert_eq!(set(&a), set(&b));
    assert_eq!(a.packages.len(), 88);
    assert_eq!(a.source.layers[0].media_type.as_deref(), Some("application/vnd.oci.image.layer.v1.tar+zstd"));
}

#[test]
fn docker_archive_equals_oci_layout() {
    for name in ["node-app", "rust-app", "java-app"] {
        let tar = common::shared().join(format!("images/{name}/{name}.docker.tar"));
        let a = scan(&format!("docker-archive:{}", tar.display()), &no_cache());
        let b = scan(&oci(name), &no_cache());
        assert_eq!(set(&a), set(&b), "{name}");
        assert_eq!(a.source.name.as_deref(), Some(format!("docker.io/bulwark-test/{name}:1.0").as_str()));
        // Bare path: detected as a docker-archive.
        let c = scan(&tar.display().to_string(), &no_cache());
        assert_eq!(c.source.kind, "docker-archive");
    }
}

#[test]
fn oci_archive_with_tag_equals_oci_layout() {
    let t = tempfile::tempdir().unwrap();
    let archive = t.path().join("rpm.oci.tar");
    let st = std::process::Command::new("tar")
        .arg("-C")
        .arg(common::image("rpm-synthetic"))
        .arg("-cf")
        .arg(&archive)
        .arg(".")
        .status()
        .unwrap();
    assert!(st.success());
    let a = scan(&format!("oci-archive:{}:8.9", archive.display()), &no_cache());
    let b = scan(&oci("rpm-synthetic"), &no_cache());
    assert_eq!(set(&a), set(&b));
    let err = catalog(&format!("oci-archive:{}:nope", archive.display()), &no_cache()).unwrap_err().to_string();
    assert!(err.contains("nope") && err.contains("8.9"), "{err}");
}

#[test]
fn dir_source_reads_a_root_filesystem() {
    let t = tempfile::tempdir().unwrap();
    let layout = common::image("debian-minbase");
    let idx: serde_json::Value = serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    let md = idx["manifests"][0]["digest"].as_str().unwrap();
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(layout.join("blobs/sha256").join(&md[7..])).unwrap()).unwrap();
    let ld = m["layers"][0]["digest"].as_str().unwrap();
    let st = std::process::Command::new("tar")
        .arg("-xzf")
        .arg(layout.join("blobs/sha256").join(&ld[7..]))
        .arg("-C")
        .arg(t.path())
        .status()
        .unwrap();
    assert!(st.success());
    let a = scan(&format!("dir:{}", t.path().display()), &no_cache());
    let b = scan(&oci("debian-minbase"), &no_cache());
    assert_eq!(set(&a), set(&b));
    assert!(a.packages.iter().all(|p| p.location.layer.is_none()));
    assert_eq!(a.os.as_ref().map(|o| o.id.as_str()), Some("debian"));
}

#[test]
fn layer_cache_is_shared_between_images_and_survives_corruption() {
    let t = tempfile::tempdir().unwrap();
    let opts = Options { cache_dir: Some(t.path().to_path_buf()), ..Default::default() };
    let entries = || std::fs::read_dir(t.path().join("layers")).map(|d| d.count()).unwrap_or(0);
    let cold = scan(&oci("debian-minbase"), &opts);
    assert_eq!(entries(), 1);
    // python-app shares debian-minbase's first layer: only its second layer is new.
    let py = scan(&oci("python-app"), &opts);
    assert_eq!(entries(), 2);
    let warm = scan(&oci("debian-minbase"), &opts);
    assert_eq!(cold, warm);
    assert_eq!(scan(&oci("python-app"), &opts), py);
    // A corrupt entry (a crash mid-write by an older tool, a full disk) is a miss, not an error.
    for e in std::fs::read_dir(t.path().join("layers")).unwrap() {
        std::fs::write(e.unwrap().path(), b"{\"diff_id\": ").unwrap();
    }
    assert_eq!(scan(&oci("python-app"), &opts), py);
    assert_eq!(entries(), 2, "no temp files left behind");
}

#[test]
fn unknown_tag_lists_the_tags() {
    let err = catalog(&format!("{}:2.0", oci("python-app")), &no_cache()).unwrap_err().to_string();
    assert!(err.contains("2.0") && err.contains("1.0"), "{err}");
}

#[test]
fn lockfile_entries_shown_installed_are_listed_once() {
    // node-app has /app/package-lock.json and /app/node_modules: 69 dependencies + the app.
    let inv = scan(&format!("{}:1.0", oci("node-app")), &no_cache());
    assert_eq!(inv.packages.len(), 70);
    assert!(inv.packages.iter().all(|p| p.location.path.ends_with("/package.json")));
    assert_eq!(inv.source.name.as_deref(), Some(format!("{}:1.0", common::image("node-app").display()).as_str()));
    // rust-app: crates in both the binary and Cargo.lock come from the binary; the lockfile
    // adds only what the binary does not hold.
    let inv = scan(&oci("rust-app"), &no_cache());
    let from_lock: Vec<_> =
        inv.packages.iter().filter(|p| p.location.path == "/app/Cargo.lock").map(|p| p.name.as_str()).collect();
    assert_eq!(from_lock, vec!["autocfg", "winapi", "winapi-i686-pc-windows-gnu", "winapi-x86_64-pc-windows-gnu"]);
}
