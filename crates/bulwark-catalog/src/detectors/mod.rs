//! Every package detector, each a small module behind [`Detector`], registered in
//! [`all_detectors`]. Adding an ecosystem means adding one module and one line there.

use crate::model::{DetectError, Detection, FileInput, Package, PackageType};
use std::collections::HashSet;

pub mod apk;
pub mod dotnet;
pub mod dpkg;
pub mod golang;
pub mod java;
pub mod npm;
pub mod os_release;
pub mod php;
pub mod python;
pub mod rpm;
pub mod ruby;
pub mod rust;

/// One kind of package evidence: a database, a lockfile, a metadata file or a binary.
pub trait Detector: Send + Sync {
    /// Stable name, shown in warnings and part of the layer cache key.
    fn name(&self) -> &'static str;

    /// Bump whenever this detector's output for the same file changes: cached layer
    /// inventories made by an older version are then read again.
    fn version(&self) -> u32 {
        1
    }

    /// Whether the file at `path` (absolute, normalised, e.g. `/var/lib/dpkg/status`)
    /// with Unix `mode` is one this detector reads. Called for every file in every layer:
    /// keep it to string tests, no allocation.
    fn matches(&self, path: &str, mode: u32) -> bool;

    /// The file must begin with one of these byte strings (ELF magic, say). The walker
    /// checks them before it buffers the file, so large non-matching files are never read.
    fn magic(&self) -> &'static [&'static [u8]] {
        &[]
    }

    /// True for lockfiles and manifests: they say what a project asked for, not what is
    /// installed. A declared package that installed evidence in the same image also shows
    /// (a `package-lock.json` entry beside its `node_modules/*/package.json`) is reported
    /// once, from the installed evidence.
    fn declared(&self) -> bool {
        false
    }

    /// Files larger than this are skipped with a warning instead of read into memory.
    fn max_size(&self) -> u64 {
        16 << 20
    }

    /// Read one file. Errors become a warning naming the file; the image goes on.
    fn detect(&self, file: &FileInput<'_>) -> Result<Detection, DetectError>;

    /// True for detectors that can read a file by seeking to what they need (executables:
    /// headers, then one section) through [`Detector::detect_file`]: a file over
    /// [`Detector::max_size`] is then read that way instead of skipped.
    fn seekable(&self) -> bool {
        false
    }

    /// Read one file by seeking, without loading it. Only called when [`Detector::seekable`].
    fn detect_file(&self, path: &str, _mode: u32, _file: &std::fs::File) -> Result<Detection, DetectError> {
        Err(DetectError::malformed(format!("{path}: {} cannot read files by seeking", self.name())))
    }
}

/// The registry: every detector, in the order their packages are reported.
pub fn all_detectors() -> Vec<Box<dyn Detector>> {
    vec![
        Box::new(os_release::OsRelease),
        Box::new(dpkg::DpkgStatus),
        Box::new(apk::ApkInstalled),
        Box::new(rpm::RpmDb),
        Box::new(java::JavaArchive),
        Box::new(ruby::GemfileLock),
        Box::new(ruby::Gemspec),
        Box::new(php::ComposerLock),
        Box::new(php::ComposerInstalled),
        Box::new(dotnet::DepsJson),
        Box::new(python::PythonInstalled),
        Box::new(python::PythonRequirements),
        Box::new(python::PoetryLock),
        Box::new(python::PipfileLock),
        Box::new(python::UvLock),
        Box::new(npm::NpmInstalled),
        Box::new(npm::NpmLock),
        Box::new(npm::YarnLock),
        Box::new(npm::PnpmLock),
        Box::new(golang::GoBinary),
        Box::new(golang::GoMod),
        Box::new(rust::CargoLock),
        Box::new(rust::CargoAuditable),
    ]
}

/// Most packages one file may give (the biggest real databases hold a few thousand): a
/// hostile 200 MB dpkg `status` gave 2.8 million, 4.2 GB in memory. Past it the detector
/// stops, with a warning naming the limit.
pub const MAX_FILE_PACKAGES: usize = 50_000;
/// Most warnings one file may give; one more says how the rest were dropped.
pub(crate) const MAX_FILE_WARNINGS: usize = 100;

/// Add a warning to `det`, up to [`MAX_FILE_WARNINGS`].
pub(crate) fn warn(det: &mut Detection, msg: String) {
    match det.warnings.len() {
        n if n < MAX_FILE_WARNINGS => det.warnings.push(msg),
        n if n == MAX_FILE_WARNINGS => {
            det.warnings.push(format!("more than {MAX_FILE_WARNINGS} warnings: the rest not shown"))
        }
        _ => {}
    }
}

/// True when `det` holds [`MAX_FILE_PACKAGES`] packages: the caller stops reading the file.
/// Warns (once: the caller stops).
pub(crate) fn full(det: &mut Detection) -> bool {
    if det.packages.len() < MAX_FILE_PACKAGES {
        return false;
    }
    det.warnings.push(format!(
        "more than {MAX_FILE_PACKAGES} packages in one file (limit MAX_FILE_PACKAGES): the rest skipped"
    ));
    det.truncated = true;
    true
}

/// Helpers shared by detectors.
pub(crate) fn utf8(data: &[u8]) -> Result<&str, DetectError> {
    std::str::from_utf8(data).map_err(|_| DetectError::NotUtf8)
}

/// Names and versions end up in SBOMs and purls: refuse empty and overlong ones, and ones
/// with whitespace or control characters, which no packaging tool writes.
pub(crate) fn sane_up_to(s: &str, max: usize) -> bool {
    !s.is_empty() && s.len() <= max && !s.chars().any(|c| c.is_whitespace() || c.is_control())
}

pub(crate) fn sane(s: &str) -> bool {
    sane_up_to(s, 256)
}

/// Packages of one file, each (name, version) once: lockfiles list a package once per place
/// it is installed or per range that chose it, and requirement files repeat entries.
pub(crate) struct Collector {
    kind: PackageType,
    /// Canonical spelling of a name in this ecosystem (Python lowercases).
    normalize: fn(&str) -> String,
    pub(crate) det: Detection,
    seen: HashSet<(String, String)>,
    capped: bool,
}

impl Collector {
    pub(crate) fn new(kind: PackageType) -> Self {
        Collector { kind, normalize: str::to_string, det: Detection::default(), seen: HashSet::new(), capped: false }
    }

    pub(crate) fn normalizing(mut self, normalize: fn(&str) -> String) -> Self {
        self.normalize = normalize;
        self
    }

    /// Add a package; a bad name or version becomes a warning naming `what`.
    pub(crate) fn add(&mut self, name: &str, version: &str, licenses: Vec<String>, path: &str, what: &str) {
        if self.det.packages.len() >= MAX_FILE_PACKAGES {
            if !self.capped {
                self.capped = true;
                full(&mut self.det);
            }
            return;
        }
        let name = (self.normalize)(name);
        let version = version.trim();
        if !sane(&name) || !sane(version) {
            warn(&mut self.det, format!("{what}: bad name or version {name:?} {version:?}"));
            return;
        }
        if self.seen.insert((name.clone(), version.to_string())) {
            let mut pkg = Package::new(self.kind, name, version, path);
            pkg.licenses = licenses;
            self.det.packages.push(pkg);
        }
    }

    pub(crate) fn warn(&mut self, msg: String) {
        warn(&mut self.det, msg);
    }
}

/// The last component of a path.
pub(crate) fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Syft 1.18.1's packages for a shared image, kept in `tests/facts/syft/`:
/// (name, version, purl, path), for detectors to compare with.
#[cfg(test)]
pub(crate) fn syft_facts(image: &str) -> Vec<(String, String, String, String)> {
    let path = format!("{}/../../tests/facts/syft/{image}.json", env!("CARGO_MANIFEST_DIR"));
    let facts: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    facts["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            let s = |k: &str| p[k].as_str().unwrap_or_default().to_string();
            (s("name"), s("version"), s("purl"), s("path"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detector_names_are_unique() {
        let mut names: Vec<_> = all_detectors().iter().map(|d| d.name()).collect();
        let n = names.len();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), n);
    }
}
