//! Hostile images: each crafted input gives a clear error naming the input and the problem
//! (non-zero exit) where the image is unusable, or a clear warning and the rest of the
//! inventory where only one file is bad. Never a panic, never a write outside a temp dir.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

use crate::common;
use crate::common::oci;

use bulwark_image::{catalog, ImageError, Limits, Options};
use oci::{dpkg_status, tar, Entry, Layer};

fn opts() -> Options {
    Options { no_cache: true, ..Default::default() }
}

fn scan(dir: &std::path::Path) -> Result<bulwark_catalog::Inventory, ImageError> {
    catalog(&format!("oci-dir:{}:t", dir.display()), &opts())
}

fn base_layer() -> Layer {
    Layer::gzip(&tar(&[
        Entry::File("etc/os-release", oci::OS_RELEASE),
        Entry::File(
            "var/lib/dpkg/status",
            &dpkg_status(&[("libc6", "2.36-9+deb12u14"), ("tar", "1.34+dfsg-1.2+deb12u1")]),
        ),
    ]))
}

fn names(inv: &bulwark_catalog::Inventory) -> Vec<String> {
    inv.packages.iter().map(|p| format!("{}@{}", p.name, p.version)).collect()
}

#[test]
fn path_traversal_entries_are_skipped_with_a_warning() {
    let t = tempfile::tempdir().unwrap();
    let sentinel = t.path().join("escaped");
    let evil = format!("../../../../../../../..{}/package.json", sentinel.display());
    let layer = Layer::gzip(&tar(&[
        Entry::File(&evil, br#"{"name":"evil","version":"6.6.6"}"#),
        Entry::File("app/node_modules/ok/package.json", br#"{"name":"ok","version":"1.0.0"}"#),
    ]));
    oci::layout(&t.path().join("img"), "t", &[base_layer(), layer]);
    let inv = scan(&t.path().join("img")).unwrap();
    let n = names(&inv);
    assert!(!n.iter().any(|p| p.starts_with("evil")), "{n:?}");
    assert!(n.contains(&"libc6@2.36-9+deb12u14".to_string()));
    assert!(inv.warnings.iter().any(|w| w.contains("climbs out of the root")), "{:?}", inv.warnings);
    assert!(!sentinel.exists(), "something was written outside the temp dir");
}

/// One layer listed 2000 times (a manifest may repeat a blob): it is read once, and neither
/// its inventory nor its warnings are copied once per listing (each copy of a big inventory
/// cost its full size in memory).
#[test]
fn a_layer_listed_many_times_is_counted_once() {
    let t = tempfile::tempdir().unwrap();
    let pkgs: Vec<(String, &str)> = (0..200).map(|i| (format!("p{i}"), "1")).collect();
    let pkgs: Vec<(&str, &str)> = pkgs.iter().map(|(n, v)| (n.as_str(), *v)).collect();
    let status = dpkg_status(&pkgs);
    let layer = tar(&[Entry::File("var/lib/dpkg/status", &status), Entry::File("../x", b"")]);
    let layers: Vec<Layer> = (0..2000).map(|_| Layer::gzip(&layer)).collect();
    oci::layout(&t.path().join("img"), "t", &layers);
    let start = std::time::Instant::now();
    let inv = scan(&t.path().join("img")).unwrap();
    assert!(start.elapsed().as_secs() < 20, "{:?}", start.elapsed());
    assert_eq!(inv.packages.len(), 200);
    assert_eq!(inv.warnings.len(), 1, "{:?}", &inv.warnings[..2]);
}

#[test]
fn symlinks_are_never_followed() {
    let t = tempfile::tempdir().unwrap();
    // os-release pointing at the host's, an escaping relative link, and a package.json link.
    let layer = Layer::gzip(&tar(&[
        Entry::Symlink("etc/os-release", "/etc/os-release"),
        Entry::Symlink("usr/lib/os-release", "../../../../../../etc/os-release"),
        Entry::Symlink("app/node_modules/x/package.json", "/proc/self/environ"),
        Entry::Symlink("var/lib/dpkg/status", "../../../../../var/lib/dpkg/status"),
    ]));
    oci::layout(&t.path().join("img"), "t", &[layer]);
    let inv = scan(&t.path().join("img")).unwrap();
    assert!(inv.os.is_none(), "read the host's os-release: {:?}", inv.os);
    assert!(inv.packages.is_empty(), "{:?}", names(&inv));
}

#[test]
fn symlink_in_upper_layer_hides_the_lower_file() {
    let t = tempfile::tempdir().unwrap();
    let upper = Layer::gzip(&tar(&[Entry::Symlink("var/lib/dpkg/status", "/dev/null")]));
    oci::layout(&t.path().join("img"), "t", &[base_layer(), upper]);
    let inv = scan(&t.path().join("img")).unwrap();
    assert!(inv.packages.is_empty(), "{:?}", names(&inv));
}

#[test]
fn hardlink_to_outside_is_refused_and_inside_is_followed() {
    let t = tempfile::tempdir().unwrap();
    let layer = Layer::gzip(&tar(&[
        Entry::File("var/lib/dpkg/status", &dpkg_status(&[("bash", "5.2.15-2+b7")])),
        Entry::Hardlink("var/lib/dpkg/status.d/evil", "../../../../../../etc/shadow"),
        Entry::Hardlink("var/lib/dpkg/status.d/copy", "var/lib/dpkg/status"),
    ]));
    oci::layout(&t.path().join("img"), "t", &[layer]);
    let inv = scan(&t.path().join("img")).unwrap();
    let paths: Vec<_> = inv.packages.iter().map(|p| p.location.path.as_str()).collect();
    assert_eq!(paths, vec!["/var/lib/dpkg/status", "/var/lib/dpkg/status.d/copy"]);
    assert!(
        inv.warnings.iter().any(|w| w.contains("status.d/evil") && w.contains("outside the root")),
        "{:?}",
        inv.warnings
    );
}

#[test]
fn decompression_bomb_is_stopped() {
    let t = tempfile::tempdir().unwrap();
    // 64 MiB of zeros in one file: about 64 KiB gzipped.
    let zeros = vec![0u8; 64 << 20];
    let layer = Layer::gzip(&tar(&[Entry::File("zeros", &zeros)]));
    assert!(layer.blob.len() < 200_000);
    oci::layout(&t.path().join("img"), "t", &[layer]);
    let mut o = opts();
    o.limits = Limits { bomb_floor: 8 << 20, ..Limits::default() };
    let err = catalog(&format!("oci-dir:{}:t", t.path().join("img").display()), &o).unwrap_err().to_string();
    assert!(err.contains("decompression bomb"), "{err}");
    assert!(err.contains("sha256:"), "error names the layer: {err}");
}

#[test]
fn zstd_bomb_with_default_limits_is_stopped() {
    let t = tempfile::tempdir().unwrap();
    // A 2 GiB file of zeros, streamed through zstd without ever holding it: a few KiB stored.
    let mut enc = zstd::stream::write::Encoder::new(Vec::new(), 1).unwrap();
    {
        use std::io::Write;
        let mut h = tar::Header::new_gnu();
        h.set_path("zeros").unwrap();
        h.set_size(2 << 30);
        h.set_mode(0o644);
        h.set_cksum();
        enc.write_all(h.as_bytes()).unwrap();
        let chunk = vec![0u8; 1 << 20];
        for _ in 0..2048 {
            enc.write_all(&chunk).unwrap();
        }
    }
    let blob = enc.finish().unwrap();
    assert!(blob.len() < 1 << 20, "{}", blob.len());
    let layer = Layer {
        blob,
        media_type: "application/vnd.oci.image.layer.v1.tar+zstd",
        diff_id: format!("sha256:{}", "0".repeat(64)),
    };
    oci::layout(&t.path().join("img"), "t", &[layer]);
    let err = scan(&t.path().join("img")).unwrap_err().to_string();
    assert!(err.contains("decompression bomb"), "{err}");
}

#[test]
fn truncated_gzip_is_an_error_naming_the_layer() {
    let t = tempfile::tempdir().unwrap();
    let mut layer = base_layer();
    let keep = layer.blob.len() / 2;
    layer.blob.truncate(keep);
    oci::layout(&t.path().join("img"), "t", &[layer]);
    let err = scan(&t.path().join("img")).unwrap_err().to_string();
    assert!(err.contains("layer sha256:"), "{err}");
}

#[test]
fn digest_mismatch_names_the_blob() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("img");
    oci::layout(&dir, "t", &[base_layer()]);
    // Swap the layer blob's content for another valid layer.
    let layer_digest = {
        let idx: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("index.json")).unwrap()).unwrap();
        let md = idx["manifests"][0]["digest"].as_str().unwrap().to_string();
        let m: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("blobs/sha256").join(&md[7..])).unwrap()).unwrap();
        m["layers"][0]["digest"].as_str().unwrap().to_string()
    };
    let other = Layer::gzip(&tar(&[Entry::File("var/lib/dpkg/status", &dpkg_status(&[("evil", "1")]))]));
    let p = dir.join("blobs/sha256").join(&layer_digest[7..]);
    std::fs::write(&p, &other.blob).unwrap();
    let err = scan(&dir).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, ImageError::DigestMismatch { .. }), "{msg}");
    assert!(msg.contains(&layer_digest), "{msg}");
}

#[test]
fn manifest_naming_a_missing_blob() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("img");
    oci::layout(&dir, "t", &[base_layer()]);
    let idx: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("index.json")).unwrap()).unwrap();
    let md = idx["manifests"][0]["digest"].as_str().unwrap().to_string();
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("blobs/sha256").join(&md[7..])).unwrap()).unwrap();
    let ld = m["layers"][0]["digest"].as_str().unwrap().to_string();
    std::fs::remove_file(dir.join("blobs/sha256").join(&ld[7..])).unwrap();
    let msg = scan(&dir).unwrap_err().to_string();
    assert!(msg.contains(&ld) && msg.contains("missing"), "{msg}");
}

#[test]
fn digest_with_path_traversal_is_refused() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("img");
    oci::layout(&dir, "t", &[base_layer()]);
    let index = r#"{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:../../../../etc/passwd","size":1,"annotations":{"org.opencontainers.image.ref.name":"t"}}]}"#;
    std::fs::write(dir.join("index.json"), index).unwrap();
    let msg = scan(&dir).unwrap_err().to_string();
    assert!(msg.contains("sha256:../../../../etc/passwd") && msg.contains("hex"), "{msg}");
}

#[test]
fn huge_single_line_package_json_is_skipped_with_a_warning() {
    let t = tempfile::tempdir().unwrap();
    let mut big = br#"{"name":"big","version":"1.0.0","description":""#.to_vec();
    big.resize(100 << 20, b'a');
    big.extend_from_slice(b"\"}");
    let layer = Layer::gzip(&tar(&[
        Entry::File("app/node_modules/big/package.json", &big),
        Entry::File("var/lib/dpkg/status", &dpkg_status(&[("bash", "5.2.15-2+b7")])),
    ]));
    oci::layout(&t.path().join("img"), "t", &[layer]);
    let inv = scan(&t.path().join("img")).unwrap();
    assert_eq!(names(&inv), vec!["bash@5.2.15-2+b7"]);
    assert!(
        inv.warnings.iter().any(|w| w.contains("/app/node_modules/big/package.json") && w.contains("limit")),
        "{:?}",
        inv.warnings
    );
}

#[test]
fn malformed_dpkg_status_keeps_the_good_stanzas() {
    let t = tempfile::tempdir().unwrap();
    let status = b"Package: good\nStatus: install ok installed\nVersion: 1.0-1\n\n\
        Package: noversion\nStatus: install ok installed\n\n\
        \xff\xfe garbage line without colon\n\n\
        Package: bad name\nVersion: 1\n\n\
        Package: good2\nVersion: 2.0\n";
    let layer = Layer::gzip(&tar(&[Entry::File("var/lib/dpkg/status", status)]));
    oci::layout(&t.path().join("img"), "t", &[layer]);
    let inv = scan(&t.path().join("img")).unwrap();
    // Not UTF-8 as a whole: the detector reports the file, the image still inventories.
    assert!(inv.warnings.iter().any(|w| w.contains("/var/lib/dpkg/status")), "{:?}", inv.warnings);
    let status = "Package: good\nStatus: install ok installed\nVersion: 1.0-1\n\n\
        Package: noversion\nStatus: install ok installed\n\n\
        garbage line without colon\n\n\
        Package: bad name\nVersion: 1\n\n\
        Package: good2\nVersion: 2.0\n";
    let t2 = tempfile::tempdir().unwrap();
    let layer = Layer::gzip(&tar(&[Entry::File("var/lib/dpkg/status", status.as_bytes())]));
    oci::layout(&t2.path().join("img"), "t", &[layer]);
    let inv = scan(&t2.path().join("img")).unwrap();
    assert_eq!(names(&inv), vec!["good@1.0-1", "good2@2.0"]);
    assert!(inv.warnings.len() >= 2, "{:?}", inv.warnings);
}

#[test]
fn cli_exits_non_zero_with_a_clear_message_on_an_unusable_image() {
    let t = tempfile::tempdir().unwrap();
    let mut layer = base_layer();
    layer.blob.truncate(40);
    oci::layout(&t.path().join("img"), "t", &[layer]);
    let out = common::bulwark()
        .args(["sbom", &format!("oci-dir:{}:t", t.path().join("img").display()), "--no-cache"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bulwark: error:") && err.contains("layer sha256:"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn not_an_image_at_all() {
    let t = tempfile::tempdir().unwrap();
    let f = t.path().join("junk.tar");
    std::fs::write(&f, b"this is not a tar file at all, just text").unwrap();
    let out = common::bulwark().args(["sbom", &format!("docker-archive:{}", f.display())]).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("junk.tar") && !err.contains("panicked"), "{err}");
}

/// Issue 10, D2: every path of a layer was kept (and written to the layer cache), so 48,000
/// paths of 64 KiB took 5.7 GB. Paths no detector reads are now kept as 8-byte keys, and the
/// paths that are kept share a budget: past it files are skipped, named in a warning and in
/// `skipped`. Before: the cache entry held every path (here 2 × 400 × 16 KiB = 13 MB) and
/// nothing was skipped.
#[test]
fn long_paths_are_kept_within_a_budget() {
    let t = tempfile::tempdir().unwrap();
    oci::layout(&t.path().join("img"), "t", &[Layer::gzip(&oci::long_paths_tar(400, 16 << 10))]);
    let cache = t.path().join("cache");
    let mut opts = Options { cache_dir: Some(cache.clone()), ..Default::default() };
    opts.limits.max_path_bytes = 1 << 20;
    let inv = catalog(&format!("oci-dir:{}:t", t.path().join("img").display()), &opts).unwrap();
    // 1 MiB of 16 KiB paths: 63 files read, the other 337 skipped.
    assert!((50..=64).contains(&inv.packages.len()), "{}", inv.packages.len());
    assert!(
        inv.warnings.iter().any(|w| w.contains("337 files a detector wanted skipped")
            && w.contains("max_path_bytes 1048576 per layer")
            && w.contains("BULWARK_LIMIT_MAX_PATH_BYTES")),
        "{:?}",
        inv.warnings
    );
    assert_eq!(inv.skipped.len(), 1, "{:?}", inv.skipped);
    assert_eq!(inv.skipped[0].files, 337);
    assert_eq!(inv.skipped[0].detector, "npm-package-json");
    // The cache entry: the kept paths (about 1 MiB, each twice: key and location) and 800
    // keys; not 13 MB of paths.
    let entry_size: u64 =
        std::fs::read_dir(cache.join("layers")).unwrap().map(|e| e.unwrap().metadata().unwrap().len()).sum();
    assert!(entry_size < 3 << 20, "cache entry of {entry_size} bytes");
    // Read back from the cache: the same answer.
    let again = catalog(&format!("oci-dir:{}:t", t.path().join("img").display()), &opts).unwrap();
    assert_eq!(again.packages.len(), inv.packages.len());
    assert_eq!(again.skipped, inv.skipped);
}

/// Issue 10, D2: a 200 MB dpkg `status` of 2.8 million packages took 4.2 GB. A layer keeps at
/// most `max_packages`: past it a file's findings are dropped, named in a warning and in
/// `skipped`. Before: all 30,000 packages were kept.
#[test]
fn a_huge_package_database_is_kept_within_a_budget() {
    let t = tempfile::tempdir().unwrap();
    oci::layout(&t.path().join("img"), "t", &[Layer::gzip(&oci::huge_status_tar(30_000))]);
    let mut opts = opts();
    opts.limits.max_packages = 10_000;
    let inv = catalog(&format!("oci-dir:{}:t", t.path().join("img").display()), &opts).unwrap();
    assert!(inv.packages.is_empty(), "{}", inv.packages.len());
    assert!(
        inv.warnings.iter().any(|w| w.contains("/var/lib/dpkg/status")
            && w.contains("max_packages 10000 per layer")
            && w.contains("BULWARK_LIMIT_MAX_PACKAGES")),
        "{:?}",
        inv.warnings
    );
    assert_eq!(inv.skipped[0].detector, "dpkg");
    // Within the budget, all of them.
    let mut opts = opts.clone();
    opts.limits.max_packages = 30_000;
    let inv = catalog(&format!("oci-dir:{}:t", t.path().join("img").display()), &opts).unwrap();
    assert_eq!(inv.packages.len(), 30_000);
    assert!(inv.skipped.is_empty());
    // One file over the per-file cap (50,000): the detector stops there, and says so.
    let t2 = tempfile::tempdir().unwrap();
    oci::layout(&t2.path().join("img"), "t", &[Layer::gzip(&oci::huge_status_tar(50_010))]);
    let defaults = Options { no_cache: true, ..Default::default() };
    let inv = catalog(&format!("oci-dir:{}:t", t2.path().join("img").display()), &defaults).unwrap();
    assert_eq!(inv.packages.len(), 50_000);
    assert!(
        inv.skipped.iter().any(|s| s.limit == "max_file_packages 50000" && s.detector == "dpkg"),
        "{:?}",
        inv.skipped
    );
    // The image budget, over several layers.
    let t = tempfile::tempdir().unwrap();
    let layers: Vec<Layer> = (0..3).map(|i| Layer::gzip(&oci::huge_status_tar(1000 + i))).collect();
    oci::layout(&t.path().join("img"), "t", &layers);
    let mut opts = opts.clone();
    opts.limits.max_image_packages = 2500;
    let inv = catalog(&format!("oci-dir:{}:t", t.path().join("img").display()), &opts).unwrap();
    assert!(inv.skipped.iter().any(|s| s.limit == "max_image_packages 2500"), "{:?}", inv.skipped);
    assert!(inv.warnings.iter().any(|w| w.contains("BULWARK_LIMIT_MAX_IMAGE_PACKAGES")), "{:?}", inv.warnings);
}

/// The CLI: the limits are lowered through the environment, the warning is on stderr and the
/// JSON lists the skipped file.
#[test]
fn cli_names_the_limit_and_lists_skipped_files() {
    let t = tempfile::tempdir().unwrap();
    oci::layout(&t.path().join("img"), "t", &[Layer::gzip(&oci::huge_status_tar(3000))]);
    let out = common::bulwark()
        .args(["sbom", &format!("oci-dir:{}:t", t.path().join("img").display()), "--no-cache", "-f", "json"])
        .env("BULWARK_LIMIT_MAX_PACKAGES", "1000")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("max_packages 1000 per layer"), "{err}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["skipped"][0]["path"], "/var/lib/dpkg/status", "{v}");
    assert_eq!(v["skipped"][0]["limit"], "max_packages 1000 per layer");
}

/// Issue 10, D6: `/var/lib/dpkg` a link to `/opt/dpkgdb` gave 0 packages (Syft found them).
/// Links are now resolved within the image: directory and file links, relative and absolute,
/// across layers, chains; a `..` cannot climb above the root; a loop is a warning, not a hang.
/// Before: every case but the loop gave no packages.
#[test]
fn package_databases_behind_symlinks_are_found_within_the_image() {
    let status = dpkg_status(&[("bash", "5.2.15-2+b7"), ("openssl", "3.0.15-1~deb12u1")]);
    let want = vec!["bash@5.2.15-2+b7".to_string(), "openssl@3.0.15-1~deb12u1".to_string()];
    let real = |dir: &str| {
        Layer::gzip(&tar(&[
            Entry::File("etc/os-release", oci::OS_RELEASE),
            Entry::File(&format!("{dir}/status"), &status),
        ]))
    };
    let cases: Vec<(&str, Vec<Layer>)> = vec![
        // The directory link in a layer above the database.
        (
            "dir link above",
            vec![real("opt/dpkgdb"), Layer::gzip(&tar(&[Entry::Symlink("var/lib/dpkg", "/opt/dpkgdb")]))],
        ),
        // The link first, the database added later.
        (
            "dir link below",
            vec![Layer::gzip(&tar(&[Entry::Symlink("var/lib/dpkg", "../../opt/dpkgdb")])), real("opt/dpkgdb")],
        ),
        // A file link whose `..` would climb above the root: it stops there, as in the kernel.
        (
            "file link",
            vec![
                real("opt/db"),
                Layer::gzip(&tar(&[Entry::Symlink("var/lib/dpkg/status", "../../../../../../opt/db/status")])),
            ],
        ),
        // A chain of links.
        (
            "chain",
            vec![
                real("srv/c"),
                Layer::gzip(&tar(&[
                    Entry::Symlink("var/lib/dpkg", "/a"),
                    Entry::Symlink("a", "b"),
                    Entry::Symlink("b", "/srv/c"),
                ])),
            ],
        ),
    ];
    for (what, layers) in cases {
        let t = tempfile::tempdir().unwrap();
        oci::layout(&t.path().join("img"), "t", &layers);
        let inv = scan(&t.path().join("img")).unwrap();
        assert_eq!(names(&inv), want, "{what}: {:?}", inv.warnings);
        assert!(inv.packages.iter().all(|p| p.location.path == "/var/lib/dpkg/status"), "{what}");
    }
    // Language metadata behind a link.
    let t = tempfile::tempdir().unwrap();
    let layer = Layer::gzip(&tar(&[
        Entry::File("opt/nm/left-pad/package.json", br#"{"name":"left-pad","version":"1.3.0"}"#),
        Entry::Symlink("app/node_modules", "/opt/nm"),
    ]));
    oci::layout(&t.path().join("img"), "t", &[layer]);
    assert_eq!(names(&scan(&t.path().join("img")).unwrap()), ["left-pad@1.3.0"]);
    // A loop: a warning, quickly.
    let t = tempfile::tempdir().unwrap();
    let layer = Layer::gzip(&tar(&[
        Entry::File("opt/db/status", &status),
        Entry::Symlink("var/lib/dpkg", "/x"),
        Entry::Symlink("x", "var/lib/dpkg"),
    ]));
    oci::layout(&t.path().join("img"), "t", &[layer]);
    let start = std::time::Instant::now();
    let inv = scan(&t.path().join("img")).unwrap();
    assert!(start.elapsed().as_secs() < 10);
    assert!(inv.packages.is_empty());
    assert!(
        inv.warnings.iter().any(|w| w.contains("/var/lib/dpkg: more than 40 symbolic links")),
        "{:?}",
        inv.warnings
    );
    // A whiteout of the database above the link hides it again.
    let t = tempfile::tempdir().unwrap();
    let layers = vec![
        real("opt/dpkgdb"),
        Layer::gzip(&tar(&[Entry::Symlink("var/lib/dpkg", "/opt/dpkgdb")])),
        Layer::gzip(&tar(&[Entry::File("opt/dpkgdb/.wh.status", b"")])),
    ];
    oci::layout(&t.path().join("img"), "t", &layers);
    assert!(scan(&t.path().join("img")).unwrap().packages.is_empty());
}

/// Issue 10, D6 for `dir:`: a database behind a link inside the tree is found; a link that
/// leads outside the given root is resolved inside it (here to nothing) and never followed
/// out. Before: 0 packages from the link inside the tree.
#[test]
fn dir_sources_resolve_links_within_the_root() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("root");
    std::fs::create_dir_all(root.join("opt/dpkgdb")).unwrap();
    std::fs::create_dir_all(root.join("var/lib")).unwrap();
    std::fs::create_dir_all(root.join("etc")).unwrap();
    std::fs::write(root.join("etc/os-release"), oci::OS_RELEASE).unwrap();
    std::fs::write(root.join("opt/dpkgdb/status"), dpkg_status(&[("bash", "5.2.15-2+b7")])).unwrap();
    std::os::unix::fs::symlink("/opt/dpkgdb", root.join("var/lib/dpkg")).unwrap();
    // Outside the root: a database that must never be read through a link.
    std::fs::create_dir_all(t.path().join("outside/db")).unwrap();
    std::fs::write(t.path().join("outside/db/installed"), b"P:evil\nV:6.6.6\n\n").unwrap();
    std::fs::create_dir_all(root.join("lib")).unwrap();
    std::os::unix::fs::symlink(t.path().join("outside"), root.join("lib/apk")).unwrap();
    std::os::unix::fs::symlink("../../../../outside", root.join("usr")).unwrap();
    // A loop.
    std::os::unix::fs::symlink("/loop2", root.join("loop1")).unwrap();
    std::os::unix::fs::symlink("/loop1", root.join("loop2")).unwrap();
    let inv = catalog(&format!("dir:{}", root.display()), &opts()).unwrap();
    assert_eq!(names(&inv), ["bash@5.2.15-2+b7"], "{:?}", inv.warnings);
    assert_eq!(inv.packages[0].location.path, "/var/lib/dpkg/status");
}

/// The notes on `dir:/`: nested root file systems' databases are reported only with
/// `nested_roots` (`--nested-roots`), at their paths in the tree.
#[test]
fn dir_nested_roots_are_an_option() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path();
    std::fs::create_dir_all(root.join("var/lib/dpkg")).unwrap();
    std::fs::write(root.join("var/lib/dpkg/status"), dpkg_status(&[("bash", "5.2.15-2+b7")])).unwrap();
    let nested = root.join("srv/chroot/var/lib/dpkg");
    std::fs::create_dir_all(&nested).unwrap();
    std::fs::write(nested.join("status"), dpkg_status(&[("openssl", "3.0.15-1~deb12u1")])).unwrap();
    let inv = catalog(&format!("dir:{}", root.display()), &opts()).unwrap();
    assert_eq!(names(&inv), ["bash@5.2.15-2+b7"]);
    let mut o = opts();
    o.dir.nested_roots = true;
    let inv = catalog(&format!("dir:{}", root.display()), &o).unwrap();
    assert_eq!(names(&inv), ["bash@5.2.15-2+b7", "openssl@3.0.15-1~deb12u1"]);
    let openssl = inv.packages.iter().find(|p| p.name == "openssl").unwrap();
    assert_eq!(openssl.location.path, "/srv/chroot/var/lib/dpkg/status");
}

/// The notes on `dir:/`: mounts below the root (`/proc`, `/sys`, here `/dev`'s) are skipped
/// with a warning unless `cross_mounts` (`--cross-mounts`). Before: walked.
#[test]
fn dir_walks_stay_on_the_roots_file_system() {
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let under_dev: Vec<&str> =
        mounts.lines().filter_map(|l| l.split(' ').nth(4)).filter(|m| m.starts_with("/dev/")).collect();
    assert!(!under_dev.is_empty(), "this test needs a mount below /dev (/dev/pts, /dev/shm): none in mountinfo");
    let inv = catalog("dir:/dev", &opts()).unwrap();
    let first = &under_dev[0]["/dev".len()..];
    assert!(
        inv.warnings.iter().any(|w| w.starts_with(&format!("{first}: another file system mounted here"))),
        "{first}: {:?}",
        inv.warnings
    );
    let mut o = opts();
    o.dir.cross_mounts = true;
    let inv = catalog("dir:/dev", &o).unwrap();
    assert!(!inv.warnings.iter().any(|w| w.contains("another file system")), "{:?}", inv.warnings);
}

/// Issue 10, D11: a file over a detector's size limit that the detector cannot read by
/// seeking (a dpkg `status` of 65 MiB: sparse, nothing on disk) is named in a warning with
/// the detector and the limit, and listed under `skipped` in the JSON output.
/// Before: for `dir:` the warning named neither the detector nor the limit's name, and the
/// JSON did not list the file.
#[test]
fn a_file_skipped_for_size_is_never_silent() {
    let t = tempfile::tempdir().unwrap();
    let status = t.path().join("var/lib/dpkg/status");
    std::fs::create_dir_all(status.parent().unwrap()).unwrap();
    let f = std::fs::File::create(&status).unwrap();
    std::io::Write::write_all(&mut &f, b"Package: a\nVersion: 1\n").unwrap();
    f.set_len(65 << 20).unwrap();
    let out = common::bulwark().args(["sbom", &format!("dir:{}", t.path().display()), "-f", "json"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("/var/lib/dpkg/status: 68157440 bytes is over the 67108864-byte limit of the dpkg detector"),
        "{err}"
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["skipped"][0]["path"], "/var/lib/dpkg/status", "{v}");
    assert_eq!(v["skipped"][0]["limit"], "max_size 67108864 bytes");
}

/// A real Go executable (Syft) made 600 MiB by a sparse tail, its sections intact, at
/// `dir/usr/local/bin/big`.
fn big_go_binary(syft: &std::path::Path, dir: &std::path::Path) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let bin = dir.join("usr/local/bin/big");
    std::fs::create_dir_all(bin.parent().unwrap()).unwrap();
    std::fs::copy(syft, &bin).unwrap_or_else(|e| panic!("{}: {e}", syft.display()));
    std::fs::OpenOptions::new().write(true).open(&bin).unwrap().set_len(600 << 20).unwrap();
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    bin
}

/// `bulwark ARGS` under `/usr/bin/time -v`: the JSON inventory and the peak RSS in KiB.
fn sbom_with_peak_rss(args: &[&str]) -> (serde_json::Value, u64) {
    let out = std::process::Command::new("/usr/bin/time")
        .arg("-v")
        .arg(env!("CARGO_BIN_EXE_bulwark"))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("/usr/bin/time (GNU time) is needed: {e}"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let rss = err
        .lines()
        .find_map(|l| l.trim().strip_prefix("Maximum resident set size (kbytes): "))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no peak RSS in: {err}"));
    (serde_json::from_slice(&out.stdout).unwrap(), rss)
}

fn assert_syft_modules(v: &serde_json::Value, path: &str) {
    let pkgs = v["packages"].as_array().unwrap();
    let go: Vec<_> = pkgs.iter().filter(|p| p.to_string().contains(path)).collect();
    assert!(go.len() > 150, "{} packages from {path}: {v}", go.len());
    assert!(go.iter().any(|p| p["name"] == "github.com/anchore/syft" && p["version"] == "v1.18.1"), "{go:?}");
    assert!(v["skipped"].as_array().is_none_or(|s| s.is_empty()), "{}", v["skipped"]);
}

/// Issue 10, D11: a 600 MiB Go executable in a `dir:` source gives its modules, read by
/// seeking to the build info (peak memory far below the file's size). Before: skipped over
/// the 512 MiB limit of the go-binary detector, 0 modules.
#[test]
fn a_big_go_binary_in_a_dir_is_read_by_seeking() {
    let syft = bulwark_testkit::require_peer!("syft");
    // Peak memory is measured by GNU time.
    bulwark_testkit::require_file!("/usr/bin/time", "apt-get install time");
    let t = tempfile::tempdir().unwrap();
    big_go_binary(&syft, t.path());
    let (v, rss) = sbom_with_peak_rss(&["sbom", &format!("dir:{}", t.path().display()), "-f", "json"]);
    assert_syft_modules(&v, "/usr/local/bin/big");
    eprintln!("dir: peak RSS {rss} KiB");
    assert!(rss < 200 << 10, "peak RSS {rss} KiB for a 600 MiB file");
}

/// Issue 10, D11: the seeking read has a budget (256 MiB); an executable whose headers ask
/// for more (Syft's ELF, 600 MiB sparse, with a section header turned into a 300 MiB symbol
/// table) is not read, with a warning naming the file, the detector and the limit, and is
/// listed under `skipped`.
#[test]
fn an_executable_over_the_seek_budget_is_never_silent() {
    let syft = bulwark_testkit::require_peer!("syft");
    // Peak memory is measured by GNU time.
    bulwark_testkit::require_file!("/usr/bin/time", "apt-get install time");
    let t = tempfile::tempdir().unwrap();
    let bin = big_go_binary(&syft, t.path());
    let mut elf = std::fs::OpenOptions::new().read(true).write(true).open(&bin).unwrap();
    let mut h = [0u8; 64];
    std::io::Read::read_exact(&mut elf, &mut h).unwrap();
    let shoff = u64::from_le_bytes(h[40..48].try_into().unwrap());
    let shstrndx = u16::from_le_bytes(h[62..64].try_into().unwrap());
    let mut sh = [0u8; 64];
    std::io::Seek::seek(&mut elf, std::io::SeekFrom::Start(shoff + 64)).unwrap();
    std::io::Read::read_exact(&mut elf, &mut sh).unwrap();
    sh[4..8].copy_from_slice(&2u32.to_le_bytes()); // SHT_SYMTAB
    sh[24..32].copy_from_slice(&0u64.to_le_bytes()); // offset
    sh[32..40].copy_from_slice(&(300u64 << 20).to_le_bytes()); // size
    sh[40..44].copy_from_slice(&u32::from(shstrndx).to_le_bytes()); // its string table
    sh[56..64].copy_from_slice(&24u64.to_le_bytes()); // entry size
    std::io::Seek::seek(&mut elf, std::io::SeekFrom::Start(shoff + 64)).unwrap();
    std::io::Write::write_all(&mut elf, &sh).unwrap();
    drop(elf);
    let (v, rss) = sbom_with_peak_rss(&["sbom", &format!("dir:{}", t.path().display()), "-f", "json"]);
    let warnings = v["warnings"].to_string();
    assert!(
        warnings.contains(
            "/usr/local/bin/big: go-binary: Go build info: headers ask for more than 256 MiB (limit SEEK_READ_BUDGET)"
        ),
        "{warnings}"
    );
    let skipped = v["skipped"].as_array().unwrap();
    assert!(
        skipped.iter().any(|s| s["path"] == "/usr/local/bin/big"
            && s["detector"] == "go-binary"
            && s["limit"] == "seek_read_budget 268435456 bytes"),
        "{skipped:?}"
    );
    assert!(rss < 200 << 10, "peak RSS {rss} KiB");
}

/// Issue 10, D11: the same executable in an uncompressed image layer (a tar stream cannot
/// seek): spooled to a temporary file and read by seeking, memory flat.
#[test]
fn a_big_go_binary_in_a_layer_is_read_by_seeking() {
    use sha2::Digest;
    use std::io::{Read, Write};
    let syft = bulwark_testkit::require_peer!("syft");
    // Peak memory is measured by GNU time.
    bulwark_testkit::require_file!("/usr/bin/time", "apt-get install time");
    let t = tempfile::tempdir().unwrap();
    let bin = big_go_binary(&syft, &t.path().join("root"));
    // The layer tar, written and hashed as a stream: 600 MiB never in this process's memory.
    let tar_path = t.path().join("layer.tar");
    {
        let mut b = tar::Builder::new(std::fs::File::create(&tar_path).unwrap());
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Regular);
        h.set_mode(0o755);
        h.set_size(600 << 20);
        h.set_mtime(1_764_000_000);
        b.append_data(&mut h, "usr/local/bin/big", std::fs::File::open(&bin).unwrap()).unwrap();
        b.into_inner().unwrap().flush().unwrap();
    }
    std::fs::remove_dir_all(t.path().join("root")).unwrap();
    let (digest, size) = {
        let mut f = std::fs::File::open(&tar_path).unwrap();
        let mut hasher = sha2::Sha256::new();
        let mut buf = vec![0u8; 1 << 20];
        let mut size = 0u64;
        loop {
            let n = f.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            size += n as u64;
        }
        (format!("sha256:{}", hex::encode(hasher.finalize())), size)
    };
    let img = t.path().join("img");
    oci::layout_described(
        &img,
        "t",
        &[(digest.clone(), size, "application/vnd.oci.image.layer.v1.tar", digest.clone())],
    );
    std::fs::rename(&tar_path, img.join("blobs/sha256").join(&digest[7..])).unwrap();
    let (v, rss) = sbom_with_peak_rss(&["sbom", &format!("oci-dir:{}:t", img.display()), "--no-cache", "-f", "json"]);
    assert_syft_modules(&v, "/usr/local/bin/big");
    eprintln!("layer: peak RSS {rss} KiB");
    assert!(rss < 200 << 10, "peak RSS {rss} KiB for a 600 MiB file");
}
