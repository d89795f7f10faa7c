//! Rust crates.
//!
//! - [`CargoLock`]: `Cargo.lock`, every `[[package]]` (lock format versions 1 to 4 all use
//!   that table; the pre-2017 format also has a `[root]` table for the root package).
//! - [`CargoAuditable`]: executables built with `cargo auditable`, which embeds the
//!   dependency tree as zlib-compressed JSON in a `.dep-v0` section (ELF, PE; in `__DATA`
//!   on Mach-O). Reported as Syft reports it: every package whose `kind` is `runtime` (the
//!   default), the root crate included; `build` and `dev` dependencies are not in the binary.

use super::golang::{is_executable, object_images, with_aligned, Budget, Seeking, Source, EXECUTABLE_MAGIC};
use super::{file_name, sane, utf8, Detector};
use crate::model::{DetectError, Detection, FileInput, Package, PackageType};
use object::read::ReadCache;
use object::{Object, ObjectSection};
use serde::Deserialize;
use std::collections::HashSet;

/// The section cargo-auditable writes.
const AUDIT_SECTION: &str = ".dep-v0";
/// Inflated audit data is a few KiB per hundred crates; past this it is a zip bomb.
const MAX_AUDIT_JSON: usize = 8 << 20;

/// `Cargo.lock`.
pub struct CargoLock;

impl Detector for CargoLock {
    fn name(&self) -> &'static str {
        "cargo-lock"
    }

    fn declared(&self) -> bool {
        true
    }

    fn matches(&self, path: &str, _mode: u32) -> bool {
        file_name(path) == "Cargo.lock"
    }

    fn detect(&self, file: &FileInput<'_>) -> Result<Detection, DetectError> {
        let text = utf8(file.data)?;
        let doc: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| DetectError::malformed(format!("Cargo.lock: {}", e.message())))?;
        let mut det = Detection::default();
        if let Some(v) = doc.get("version") {
            if !matches!(v.as_integer(), Some(1..=4)) {
                det.warnings.push(format!("Cargo.lock: unknown format version {v}; read as version 4"));
            }
        }
        let root = doc.get("root").into_iter();
        let packages = doc.get("package").and_then(toml::Value::as_array).into_iter().flatten();
        let mut seen = HashSet::new();
        for (i, entry) in root.chain(packages).enumerate() {
            let field = |k: &str| entry.get(k).and_then(toml::Value::as_str);
            match (field("name"), field("version")) {
                (Some(name), Some(version)) if sane(name) && sane(version) => {
                    // Two entries of one name and version differ only by source (a git
                    // fork and crates.io); one package is enough.
                    if seen.insert((name, version)) {
                        det.packages.push(Package::new(PackageType::RustCrate, name, version, file.path));
                    }
                }
                _ => det.warnings.push(format!("Cargo.lock: package {} has no usable name or version", i + 1)),
            }
        }
        Ok(det)
    }
}

/// Executables built with `cargo auditable`.
pub struct CargoAuditable;

#[derive(Deserialize)]
struct AuditData {
    packages: Vec<AuditPackage>,
}

#[derive(Deserialize)]
struct AuditPackage {
    name: String,
    version: String,
    /// `runtime` (the default), `build` or `dev`.
    #[serde(default)]
    kind: Option<String>,
}

impl Detector for CargoAuditable {
    fn name(&self) -> &'static str {
        "cargo-auditable"
    }

    fn matches(&self, _path: &str, mode: u32) -> bool {
        is_executable(mode)
    }

    fn magic(&self) -> &'static [&'static [u8]] {
        EXECUTABLE_MAGIC
    }

    fn max_size(&self) -> u64 {
        super::golang::EXECUTABLE_MAX_SIZE
    }

    /// 2: executables over the in-memory limit are read by seeking, no longer skipped.
    fn version(&self) -> u32 {
        2
    }

    fn detect(&self, file: &FileInput<'_>) -> Result<Detection, DetectError> {
        with_aligned(file.data, |data| detect_auditable(data, file.path))
    }

    fn seekable(&self) -> bool {
        true
    }

    fn detect_file(&self, path: &str, _mode: u32, file: &std::fs::File) -> Result<Detection, DetectError> {
        let size = file.metadata()?.len();
        let cache = ReadCache::new(file);
        let budget = Budget::new();
        let found = detect_auditable(Seeking::new(&cache, &budget, size), path);
        budget.check(AUDIT_SECTION)?;
        found
    }
}

fn detect_auditable<'d, R: Source<'d>>(data: R, path: &str) -> Result<Detection, DetectError> {
    let mut det = Detection::default();
    let mut seen = HashSet::new();
    for (_, image) in object_images(data) {
        // Section lookup reads only the section headers: cheap for the many
        // executables that are not Rust.
        let Some(section) = image.section_by_name(AUDIT_SECTION) else {
            continue;
        };
        // Compressed data is smaller than what it inflates to: a bigger section is a lie,
        // refused before it is read.
        if section.size() > MAX_AUDIT_JSON as u64 {
            return Err(DetectError::malformed(format!(
                "{AUDIT_SECTION} section: {} bytes, over {} MiB",
                section.size(),
                MAX_AUDIT_JSON >> 20
            )));
        }
        let compressed = section.data().map_err(|e| DetectError::malformed(format!("{AUDIT_SECTION} section: {e}")))?;
        for p in audit_packages(compressed, path)? {
            // A universal binary repeats the list once per architecture.
            if seen.insert((p.name.clone(), p.version.clone())) {
                det.packages.push(p);
            }
        }
    }
    Ok(det)
}

/// The runtime packages of one `.dep-v0` section.
fn audit_packages(compressed: &[u8], path: &str) -> Result<Vec<Package>, DetectError> {
    let json =
        miniz_oxide::inflate::decompress_to_vec_zlib_with_limit(compressed, MAX_AUDIT_JSON).map_err(|e| {
            match e.status {
                miniz_oxide::inflate::TINFLStatus::HasMoreOutput => DetectError::malformed(format!(
                    "{AUDIT_SECTION}: inflates to more than {} MiB",
                    MAX_AUDIT_JSON >> 20
                )),
                status => DetectError::malformed(format!("{AUDIT_SECTION}: bad zlib data ({status:?})")),
            }
        })?;
    let audit: AuditData = serde_json::from_slice(&json)?;
    Ok(audit
        .packages
        .into_iter()
        .filter(|p| p.kind.as_deref().is_none_or(|k| k == "runtime"))
        .filter(|p| sane(&p.name) && sane(&p.version))
        .map(|p| Package::new(PackageType::RustCrate, p.name, p.version, path))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::super::golang::testutil::elf;
    use super::*;
    use std::io::Read;

    fn names(d: &Detection) -> Vec<(String, String)> {
        d.packages.iter().map(|p| (p.name.clone(), p.version.clone())).collect()
    }

    fn lock(text: &str) -> Result<Detection, DetectError> {
        CargoLock.detect(&FileInput { path: "/app/Cargo.lock", mode: 0o644, data: text.as_bytes() })
    }

    fn auditable(data: &[u8]) -> Result<Detection, DetectError> {
        CargoAuditable.detect(&FileInput { path: "/app/bin", mode: 0o755, data })
    }

    fn zlib(data: &[u8]) -> Vec<u8> {
        miniz_oxide::deflate::compress_to_vec_zlib(data, 6)
    }

    #[test]
    fn lockfile_versions() {
        // Version 1 (no version key, [metadata] checksums), 3 and 4 and an old [root].
        let v1 = "[[package]]\nname = \"a\"\nversion = \"1.0.0\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\ndependencies = [\n \"a 1.0.0 (registry+https://github.com/rust-lang/crates.io-index)\",\n]\n\n[metadata]\n\"checksum a 1.0.0 (registry+https://github.com/rust-lang/crates.io-index)\" = \"00\"\n";
        assert_eq!(lock(v1).unwrap().packages.len(), 2);
        let v3 = "version = 3\n\n[[package]]\nname = \"b\"\nversion = \"2.0.0\"\nsource = \"git+https://github.com/x/b#abc\"\n";
        assert_eq!(lock(v3).unwrap().packages[0].version, "2.0.0");
        let root = "[root]\nname = \"old\"\nversion = \"0.0.1\"\n\n[[package]]\nname = \"c\"\nversion = \"1.0.0\"\n";
        let d = lock(root).unwrap();
        assert_eq!(names(&d), vec![("old".to_string(), "0.0.1".to_string()), ("c".to_string(), "1.0.0".to_string())]);
        let d = lock("version = 9\n[[package]]\nname = \"d\"\nversion = \"1.0.0\"\n").unwrap();
        assert_eq!((d.packages.len(), d.warnings.len()), (1, 1));
    }

    #[test]
    fn lockfile_malformed() {
        assert!(lock("[[package]\nname=").is_err());
        assert!(CargoLock.detect(&FileInput { path: "/Cargo.lock", mode: 0o644, data: b"\xff" }).is_err());
        let d = lock("package = 3\n").unwrap();
        assert!(d.packages.is_empty());
        let d = lock("[[package]]\nname = \"x\"\n[[package]]\nname = 1\nversion = \"1\"\n[[package]]\nname = \"has space\"\nversion = \"1\"\n[[package]]\nname = \"ok\"\nversion = \"1\"\n").unwrap();
        assert_eq!(d.packages.len(), 1);
        assert_eq!(d.warnings.len(), 3, "{:?}", d.warnings);
        assert!(CargoLock.matches("/src/Cargo.lock", 0o644));
        assert!(!CargoLock.matches("/src/Cargo.toml", 0o644));
    }

    #[test]
    fn audit_section_runtime_packages() {
        let json = br#"{"packages":[{"name":"a","version":"1.0.0","source":"crates.io"},{"name":"b","version":"0.1.0","source":"crates.io","kind":"build"},{"name":"t","version":"0.1.0","source":"crates.io","kind":"dev"},{"name":"app","version":"0.1.0","source":"local","dependencies":[0],"root":true}],"format":1}"#;
        let d = auditable(&elf(Some(AUDIT_SECTION), &zlib(json))).unwrap();
        assert_eq!(names(&d), vec![("a".to_string(), "1.0.0".to_string()), ("app".to_string(), "0.1.0".to_string())]);
        assert!(d.packages.iter().all(|p| p.kind == PackageType::RustCrate));
        // No section: nothing. Not an executable: nothing.
        assert!(auditable(&elf(Some(".data"), &zlib(json))).unwrap().packages.is_empty());
        assert!(auditable(b"\x7fELF").unwrap().packages.is_empty());
        assert!(CargoAuditable.matches("/x", 0o755));
        assert!(!CargoAuditable.matches("/x", 0o644));
    }

    #[test]
    fn audit_section_hostile() {
        // A bomb: 64 MiB of zeros compresses to ~64 KiB; must fail at the cap.
        let bomb = zlib(&vec![0u8; 64 << 20]);
        let e = auditable(&elf(Some(AUDIT_SECTION), &bomb)).unwrap_err();
        assert!(e.to_string().contains("more than 8 MiB"), "{e}");
        // Not zlib, truncated zlib, zlib of non-JSON, JSON of the wrong shape.
        let good = zlib(br#"{"packages":[]}"#);
        for data in [
            b"garbage".to_vec(),
            good[..good.len() / 2].to_vec(),
            zlib(b"not json"),
            zlib(br#"{"packages":{}}"#),
            zlib(br#"{"packages":[{"name":"a"}]}"#),
        ] {
            assert!(auditable(&elf(Some(AUDIT_SECTION), &data)).is_err());
        }
        assert!(auditable(&elf(Some(AUDIT_SECTION), &good)).unwrap().packages.is_empty());
        // A section bigger than anything that inflates to 8 MiB is refused before it is read.
        let e = auditable(&elf(Some(AUDIT_SECTION), &vec![0u8; 9 << 20])).unwrap_err();
        assert!(e.to_string().contains("over 8 MiB"), "{e}");
        // Truncations of a valid binary never panic.
        let bin = elf(Some(AUDIT_SECTION), &good);
        for cut in 0..bin.len() {
            let _ = auditable(&bin[..cut]);
        }
    }

    /// The real rust-app image layer: `/app/rust-app` (cargo-auditable) and `/app/Cargo.lock`.
    fn rust_app_layer() -> Vec<(String, Vec<u8>)> {
        let layer = bulwark_testkit::image("rust-app")
            .join("blobs/sha256/28ab8f74cbc93c4c26c233fe40203f9c287a9a12bf6d2d77fdbf763e66c86b2f");
        let layer = layer.to_str().unwrap();
        // Shared test data, like the other detectors' real layers: missing is a failure.
        let gz = std::fs::File::open(layer).unwrap_or_else(|e| panic!("{layer}: {e}"));
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(gz));
        let mut files = Vec::new();
        for entry in archive.entries().unwrap_or_else(|e| panic!("{e}")) {
            let mut entry = entry.unwrap_or_else(|e| panic!("{e}"));
            let path = entry.path().unwrap_or_else(|e| panic!("{e}"));
            let path = format!("/{}", path.to_string_lossy().trim_start_matches("./"));
            let mut data = Vec::new();
            entry.read_to_end(&mut data).unwrap_or_else(|e| panic!("{e}"));
            files.push((path, data));
        }
        files
    }

    #[test]
    fn real_rust_app_matches_syft() {
        let files = rust_app_layer();
        let get = |p: &str| {
            files
                .iter()
                .find(|(path, _)| path == p)
                .map(|(_, d)| d.as_slice())
                .unwrap_or_else(|| panic!("{p} not in layer"))
        };
        let bin = get("/app/rust-app");
        let d = CargoAuditable
            .detect(&FileInput { path: "/app/rust-app", mode: 0o755, data: bin })
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(d.warnings.is_empty(), "{:?}", d.warnings);
        let mut got: Vec<_> = d
            .packages
            .iter()
            .map(|p| (p.name.clone(), p.version.clone(), crate::purl_for(p, None), p.location.path.clone()))
            .collect();
        got.sort();
        let mut want = crate::detectors::syft_facts("rust-app");
        want.sort();
        assert_eq!(want.len(), 11);
        assert_eq!(got, want);

        // Issue 10, D11: the same binary with a 600 MiB sparse tail, read by seeking.
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let big = dir.path().join("rust-app");
        std::fs::write(&big, bin).unwrap_or_else(|e| panic!("{e}"));
        let f = std::fs::OpenOptions::new().read(true).write(true).open(&big).unwrap_or_else(|e| panic!("{e}"));
        f.set_len(600 << 20).unwrap_or_else(|e| panic!("{e}"));
        let seeked = CargoAuditable.detect_file("/app/rust-app", 0o755, &f).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(seeked, d);

        // The Go detector sees the same ELF and finds nothing.
        let go = super::super::golang::GoBinary
            .detect(&FileInput { path: "/app/rust-app", mode: 0o755, data: bin })
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(go.packages.is_empty());

        // The lockfile has everything, build-only and Windows-only crates too.
        let lockfile = CargoLock
            .detect(&FileInput { path: "/app/Cargo.lock", mode: 0o644, data: get("/app/Cargo.lock") })
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(lockfile.packages.len(), 15);
        assert!(lockfile.warnings.is_empty());
        for (name, version, _, _) in &want {
            assert!(lockfile.packages.iter().any(|p| &p.name == name && &p.version == version), "{name} {version}");
        }
    }
}
