//! The package types and everything each is called elsewhere: Syft's type name (ours in
//! JSON), the purl type and the OSV ecosystem. Each is an exhaustive `match`, so a new type
//! does not compile until every name is given.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The kind of package, spelled as Syft spells it so SBOMs from both tools compare directly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum PackageType {
    #[serde(rename = "deb")]
    Deb,
    #[serde(rename = "apk")]
    Apk,
    #[serde(rename = "rpm")]
    Rpm,
    #[serde(rename = "python")]
    Python,
    #[serde(rename = "npm")]
    Npm,
    #[serde(rename = "rust-crate")]
    RustCrate,
    #[serde(rename = "go-module")]
    GoModule,
    #[serde(rename = "java-archive")]
    JavaArchive,
    #[serde(rename = "gem")]
    Gem,
    #[serde(rename = "php-composer")]
    PhpComposer,
    #[serde(rename = "dotnet")]
    Dotnet,
}

impl PackageType {
    /// Every type, in declaration order (a test keeps it complete).
    pub const ALL: [PackageType; 11] = [
        PackageType::Deb,
        PackageType::Apk,
        PackageType::Rpm,
        PackageType::Python,
        PackageType::Npm,
        PackageType::RustCrate,
        PackageType::GoModule,
        PackageType::JavaArchive,
        PackageType::Gem,
        PackageType::PhpComposer,
        PackageType::Dotnet,
    ];

    /// Syft's name for the type: what our JSON, tables and SBOM properties show.
    pub fn as_str(self) -> &'static str {
        match self {
            PackageType::Deb => "deb",
            PackageType::Apk => "apk",
            PackageType::Rpm => "rpm",
            PackageType::Python => "python",
            PackageType::Npm => "npm",
            PackageType::RustCrate => "rust-crate",
            PackageType::GoModule => "go-module",
            PackageType::JavaArchive => "java-archive",
            PackageType::Gem => "gem",
            PackageType::PhpComposer => "php-composer",
            PackageType::Dotnet => "dotnet",
        }
    }

    /// The package URL type (`pkg:<type>/…`).
    pub fn purl_type(self) -> &'static str {
        match self {
            PackageType::Deb => "deb",
            PackageType::Apk => "apk",
            PackageType::Rpm => "rpm",
            PackageType::Python => "pypi",
            PackageType::Npm => "npm",
            PackageType::RustCrate => "cargo",
            PackageType::GoModule => "golang",
            PackageType::JavaArchive => "maven",
            PackageType::Gem => "gem",
            PackageType::PhpComposer => "composer",
            PackageType::Dotnet => "nuget",
        }
    }

    /// The type of a purl type; `None` for types bulwark does not catalogue.
    pub fn from_purl_type(ty: &str) -> Option<PackageType> {
        PackageType::ALL.into_iter().find(|t| t.purl_type() == ty)
    }

    /// The OSV ecosystem a language package is looked up in. `None` for OS packages: their
    /// ecosystem is the distribution release (`Debian:12`), which `os-release` tells.
    pub fn osv_ecosystem(self) -> Option<&'static str> {
        match self {
            PackageType::Deb | PackageType::Apk | PackageType::Rpm => None,
            PackageType::Python => Some("PyPI"),
            PackageType::Npm => Some("npm"),
            PackageType::RustCrate => Some("crates.io"),
            PackageType::GoModule => Some("Go"),
            PackageType::JavaArchive => Some("Maven"),
            PackageType::Gem => Some("RubyGems"),
            PackageType::PhpComposer => Some("Packagist"),
            PackageType::Dotnet => Some("NuGet"),
        }
    }

    /// True for packages managed by the distribution's package manager.
    pub fn is_os(self) -> bool {
        match self {
            PackageType::Deb | PackageType::Apk | PackageType::Rpm => true,
            PackageType::Python
            | PackageType::Npm
            | PackageType::RustCrate
            | PackageType::GoModule
            | PackageType::JavaArchive
            | PackageType::Gem
            | PackageType::PhpComposer
            | PackageType::Dotnet => false,
        }
    }
}

impl fmt::Display for PackageType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    /// `ALL` is every variant once, in declaration order: the list serde's derive knows
    /// (it names them in its error for an unknown one) and the discriminants agree.
    #[test]
    fn all_is_complete() {
        for (i, t) in PackageType::ALL.into_iter().enumerate() {
            assert_eq!(t as usize, i, "{t} out of place in ALL");
        }
        let err = serde_json::from_str::<PackageType>("\"?\"").unwrap_err().to_string();
        let listed: Vec<String> = PackageType::ALL.iter().map(|t| format!("`{t}`")).collect();
        assert!(err.contains(&format!("expected one of {} at ", listed.join(", "))), "{err}");
    }

    /// The serde names are the `as_str` names; purl types and OSV ecosystems are unique, so
    /// reading either back gives the type.
    #[test]
    fn names_agree_and_are_unique() {
        for t in PackageType::ALL {
            assert_eq!(serde_json::to_value(t).unwrap(), t.as_str());
            assert_eq!(serde_json::from_value::<PackageType>(t.as_str().into()).unwrap(), t);
            assert_eq!(PackageType::from_purl_type(t.purl_type()), Some(t));
            assert_eq!(t.osv_ecosystem().is_none(), t.is_os(), "{t}");
        }
        let purls: HashSet<&str> = PackageType::ALL.iter().map(|t| t.purl_type()).collect();
        let ecosystems: HashSet<&str> = PackageType::ALL.iter().filter_map(|t| t.osv_ecosystem()).collect();
        assert_eq!(purls.len(), PackageType::ALL.len());
        assert_eq!(ecosystems.len(), PackageType::ALL.iter().filter(|t| !t.is_os()).count());
        assert_eq!(PackageType::from_purl_type("pypi"), Some(PackageType::Python));
        assert_eq!(PackageType::from_purl_type("docker"), None);
    }
}
