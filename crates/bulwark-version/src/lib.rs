//! Version ordering for each package ecosystem, so advisory ranges (OSV `introduced`/`fixed`)
//! can be matched against installed versions with the ecosystem's own rules.
//!
//! Every scheme is a unit struct implementing [`VersionScheme`]; [`scheme_for`] maps an OSV
//! ecosystem name to one. The table [`ECOSYSTEMS`] is the only place that mapping lives.
#![forbid(unsafe_code)]

use std::borrow::Cow;
use std::cmp::Ordering;

mod apk;
mod composer;
mod decimal;
mod dpkg;
mod golang;
mod maven;
mod nuget;
mod pep440;
mod rpm;
mod rubygems;
mod semver;

pub use apk::Apk;
pub use composer::Composer;
pub use dpkg::{DebVersion, Dpkg};
pub use golang::Go;
pub use maven::Maven;
pub use nuget::NuGet;
pub use pep440::Pep440;
pub use rpm::{rpmvercmp, Evr, Rpm};
pub use rubygems::RubyGems;
pub use semver::SemVer;

/// A version string the scheme cannot order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {scheme} version {version:?}: {reason}")]
pub struct VersionError {
    /// [`VersionScheme::name`] of the scheme that rejected it.
    pub scheme: &'static str,
    /// The offending string (cut to [`VersionError::MAX_SHOWN`] bytes: input may be hostile).
    pub version: String,
    pub reason: Cow<'static, str>,
}

impl VersionError {
    /// Longest prefix of a bad version kept in the error, so a hostile megabyte string
    /// does not end up in every log line.
    pub const MAX_SHOWN: usize = 200;

    pub fn new(scheme: &'static str, version: &str, reason: impl Into<Cow<'static, str>>) -> Self {
        let version = if version.len() > Self::MAX_SHOWN {
            let mut end = Self::MAX_SHOWN;
            while !version.is_char_boundary(end) {
                end -= 1;
            }
            format!("{}…", &version[..end])
        } else {
            version.to_owned()
        };
        VersionError { scheme, version, reason: reason.into() }
    }
}

/// One ecosystem's version order.
pub trait VersionScheme: Send + Sync {
    /// Short stable name, e.g. `"dpkg"`, used in errors and logs.
    fn name(&self) -> &'static str;

    /// Orders two versions; an error names the first one that is not a valid version.
    fn compare(&self, a: &str, b: &str) -> Result<Ordering, VersionError>;

    /// True when `v` is a version this scheme can order.
    fn valid(&self, v: &str) -> bool {
        self.compare(v, v).is_ok()
    }
}

/// OSV ecosystem name (the part before any `:` suffix) → version scheme.
/// The single registry: add new ecosystems here only.
pub static ECOSYSTEMS: &[(&str, &dyn VersionScheme)] = &[
    // dpkg-based distributions.
    ("Debian", &Dpkg),
    ("Ubuntu", &Dpkg),
    // apk-based distributions.
    ("Alpine", &Apk),
    ("Wolfi", &Apk),
    ("Chainguard", &Apk),
    // rpm-based distributions.
    ("Red Hat", &Rpm),
    ("Rocky Linux", &Rpm),
    ("AlmaLinux", &Rpm),
    ("openSUSE", &Rpm),
    ("SUSE", &Rpm),
    ("Mageia", &Rpm),
    ("openEuler", &Rpm),
    ("Photon OS", &Rpm),
    // Language ecosystems.
    ("PyPI", &Pep440),
    ("npm", &SemVer),
    ("crates.io", &SemVer),
    ("Go", &Go),
    ("Maven", &Maven),
    ("RubyGems", &RubyGems),
    ("NuGet", &NuGet),
    ("Packagist", &Composer),
];

/// The version scheme of an OSV ecosystem, e.g. `"Debian:12"` or `"Alpine:v3.20"`.
/// OSV qualifies distribution ecosystems with a release after `:`; the order does not depend on it.
pub fn scheme_for(ecosystem: &str) -> Option<&'static dyn VersionScheme> {
    let base = ecosystem.split(':').next().unwrap_or(ecosystem);
    ECOSYSTEMS.iter().find(|(name, _)| *name == base).map(|(_, scheme)| *scheme)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_maps_qualified_names() {
        assert_eq!(scheme_for("Debian:12").map(|s| s.name()), Some("dpkg"));
        assert_eq!(scheme_for("Alpine:v3.20").map(|s| s.name()), Some("apk"));
        assert_eq!(scheme_for("Red Hat:enterprise_linux:9::appstream").map(|s| s.name()), Some("rpm"));
        assert!(scheme_for("NoSuchEcosystem").is_none());
    }

    #[test]
    fn registry_names_are_unique() {
        let mut names: Vec<_> = ECOSYSTEMS.iter().map(|(n, _)| *n).collect();
        names.sort_unstable();
        let len = names.len();
        names.dedup();
        assert_eq!(names.len(), len, "duplicate ecosystem in ECOSYSTEMS");
    }
}
