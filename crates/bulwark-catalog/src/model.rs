pub use crate::package_type::PackageType;
use serde::{Deserialize, Serialize};

/// Where a package was found: the layer (by diff id) and the file inside the image.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Location {
    /// Absolute path inside the image or root filesystem, e.g. `/var/lib/dpkg/status`.
    /// For a file inside an archive (a jar in a jar) the inner path follows a `!`.
    pub path: String,
    /// Diff id of the layer that holds the file; `None` for a plain directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer: Option<String>,
}

/// The source package an OS package was built from (dpkg `Source:`, rpm `SOURCERPM`, apk origin).
/// Vulnerability advisories for Debian and Ubuntu name the source package, not the binary one.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SourcePackage {
    pub name: String,
    pub version: String,
}

/// One package found in an image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Package {
    #[serde(rename = "type")]
    pub kind: PackageType,
    pub name: String,
    pub version: String,
    /// Ecosystem namespace that is not part of the name: a Maven groupId.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<SourcePackage>,
    /// License expressions or names exactly as the package declares them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub licenses: Vec<String>,
    /// CPU architecture for OS packages (`amd64`, `x86_64`, `noarch`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arch: Option<String>,
    /// Package URL; filled in by [`crate::purl_for`] once the OS is known.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub purl: String,
    pub location: Location,
}

impl Package {
    /// A package with the fields every detector sets; the rest default to empty.
    pub fn new(kind: PackageType, name: impl Into<String>, version: impl Into<String>, path: &str) -> Self {
        Package {
            kind,
            name: name.into(),
            version: version.into(),
            namespace: None,
            source: None,
            licenses: Vec::new(),
            arch: None,
            purl: String::new(),
            location: Location { path: path.to_string(), layer: None },
        }
    }
}

/// The operating system the image says it is, from `os-release`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OsInfo {
    /// `ID`, e.g. `debian`, `alpine`, `rocky`.
    pub id: String,
    /// `VERSION_ID`, e.g. `12`, `3.20.3`, `8.9`.
    pub version_id: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub pretty_name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub version_codename: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub id_like: Vec<String>,
}

/// One file handed to a detector.
#[derive(Debug, Clone, Copy)]
pub struct FileInput<'a> {
    /// Absolute, normalised path inside the image (`/usr/lib/...`).
    pub path: &'a str,
    /// Unix permission bits from the tar header or the file system.
    pub mode: u32,
    pub data: &'a [u8],
}

/// What a detector found in one file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Detection {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub packages: Vec<Package>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os: Option<OsInfo>,
    /// Problems worth telling the user about that did not stop the detector
    /// (a malformed stanza skipped, say).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Set from [`crate::Detector::declared`] by the walker: these packages come from a
    /// lockfile or manifest, not from installed files.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub declared: bool,
    /// Set when the detector stopped at a limit (see `MAX_FILE_PACKAGES`): the file's
    /// packages are incomplete, and the walker lists the file as skipped.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
}

impl Detection {
    pub fn packages(packages: Vec<Package>) -> Self {
        Detection { packages, ..Default::default() }
    }
}

/// A file a detector could not read at all. The walker turns it into a warning naming the
/// file and goes on with the rest of the image.
#[derive(Debug, thiserror::Error)]
pub enum DetectError {
    #[error("{0}")]
    Malformed(String),
    #[error("not UTF-8")]
    NotUtf8,
    #[error("JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("archive: {0}")]
    Zip(#[from] zip::result::ZipError),
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    /// The file was not read (or not all of it) because of a limit: listed as skipped.
    #[error("{message}")]
    OverLimit { message: String, limit: String },
}

impl DetectError {
    pub fn malformed(msg: impl Into<String>) -> Self {
        DetectError::Malformed(msg.into())
    }
}

/// What was scanned: enough to name it in an SBOM and to find the layers again.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceInfo {
    /// `oci-dir`, `oci-archive`, `docker-archive`, `registry` or `dir`.
    pub kind: String,
    /// What the user gave, e.g. `oci-dir:../shared/images/python-app/oci:1.0`.
    pub input: String,
    /// Image name (registry reference or tag) where known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Manifest digest (`sha256:…`) where known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest_digest: Option<String>,
    /// Config digest, i.e. the image id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub layers: Vec<LayerInfo>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerInfo {
    pub diff_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    #[serde(default)]
    pub size: u64,
}

/// The result of cataloguing an image: its OS, every package visible in the final
/// filesystem (after whiteouts), and what went wrong on the way.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inventory {
    pub source: SourceInfo,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os: Option<OsInfo>,
    pub packages: Vec<Package>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Files a detector wanted but did not read because of a limit (each also a warning):
    /// an inventory with any is incomplete.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<Skipped>,
}

/// A file a detector wanted but did not read, or whose findings were dropped, because of a
/// limit: reported, never silent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    /// The file (for a budget that ran out, the first file dropped).
    pub path: String,
    /// The detector that wanted it.
    pub detector: String,
    /// The limit, with its value, e.g. `max_size 16777216 bytes`.
    pub limit: String,
    /// How many files this entry stands for (more than one when a budget ran out).
    #[serde(default = "one")]
    pub files: u64,
}

fn one() -> u64 {
    1
}
