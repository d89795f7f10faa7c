//! Every package detector, each a small module behind [`Detector`], registered in
//! [`all_detectors`]. Adding an ecosystem means adding one module and one line there.

use crate::model::{DetectError, Detection, FileInput};

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

/// Helpers shared by detectors.
pub(crate) fn utf8(data: &[u8]) -> Result<&str, DetectError> {
    std::str::from_utf8(data).map_err(|_| DetectError::NotUtf8)
}

/// The last component of a path.
pub(crate) fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
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
