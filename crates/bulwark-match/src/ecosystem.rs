//! Which OSV ecosystem, package name and version a catalogued package is looked up under.
//! OS packages are qualified by the distribution release (`Debian:12`, `Alpine:v3.20`), and
//! Debian-family advisories name the **source** package, so that is what is looked up.

use bulwark_catalog::{OsInfo, Package, PackageType};

/// The lookup key of one package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// OSV ecosystem, e.g. `Debian:12`, `PyPI`, `Go`.
    pub ecosystem: String,
    pub name: String,
    pub version: String,
}

/// Why a package is not looked up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skip {
    /// An OS package in an image whose release we cannot tell (no `os-release`).
    UnknownOs,
    /// A version no advisory can name, e.g. Go's `(devel)`.
    NoVersion,
    /// A Java archive without a Maven groupId: no Maven coordinate to look up.
    NoCoordinate,
    /// A distribution we have no ecosystem for.
    UnsupportedOs(String),
}

/// How a package becomes a query: OS packages by the distribution release, the others in
/// their type's OSV ecosystem ([`PackageType::osv_ecosystem`]), Go and Maven names adjusted.
pub fn query(pkg: &Package, os: Option<&OsInfo>) -> Result<Query, Skip> {
    if pkg.version.is_empty() || pkg.version == "(devel)" || pkg.version == "UNKNOWN" {
        return Err(Skip::NoVersion);
    }
    let Some(ecosystem) = pkg.kind.osv_ecosystem() else {
        return os_query(pkg, os);
    };
    let (name, version) = match pkg.kind {
        PackageType::GoModule => {
            // Go records write versions without the `v`; the toolchain is `stdlib` at `go1.x`.
            let version = if pkg.name == "stdlib" {
                pkg.version.strip_prefix("go").unwrap_or(&pkg.version)
            } else {
                pkg.version.strip_prefix('v').unwrap_or(&pkg.version)
            };
            (pkg.name.clone(), version)
        }
        PackageType::JavaArchive => match &pkg.namespace {
            Some(group) if !group.is_empty() => (format!("{group}:{}", pkg.name), pkg.version.as_str()),
            _ => return Err(Skip::NoCoordinate),
        },
        PackageType::Deb
        | PackageType::Apk
        | PackageType::Rpm
        | PackageType::Python
        | PackageType::Npm
        | PackageType::RustCrate
        | PackageType::Gem
        | PackageType::PhpComposer
        | PackageType::Dotnet => (pkg.name.clone(), pkg.version.as_str()),
    };
    Ok(Query { ecosystem: ecosystem.into(), name, version: version.into() })
}

fn os_query(pkg: &Package, os: Option<&OsInfo>) -> Result<Query, Skip> {
    let os = os.filter(|o| !o.id.is_empty()).ok_or(Skip::UnknownOs)?;
    let release = distro_ecosystem(os).ok_or_else(|| Skip::UnsupportedOs(os.id.clone()))?;
    // Debian and Ubuntu advisories, Alpine's secdb and OSV's Alpine records all name the
    // source package (apk: the origin) and its version.
    let (name, version) = match (&pkg.source, pkg.kind) {
        (Some(src), PackageType::Deb | PackageType::Apk) if !src.name.is_empty() => {
            let v = if src.version.is_empty() { &pkg.version } else { &src.version };
            (src.name.clone(), v.clone())
        }
        _ => (pkg.name.clone(), pkg.version.clone()),
    };
    Ok(Query { ecosystem: release, name, version })
}

/// OSV's name for a distribution release, from `os-release`.
pub fn distro_ecosystem(os: &OsInfo) -> Option<String> {
    let v = os.version_id.trim();
    let major = v.split('.').next().unwrap_or(v);
    let major_minor = || v.split('.').take(2).collect::<Vec<_>>().join(".");
    Some(match os.id.as_str() {
        "debian" if !major.is_empty() => format!("Debian:{major}"),
        "ubuntu" if !v.is_empty() => format!("Ubuntu:{v}"),
        "alpine" if !v.is_empty() => format!("Alpine:v{}", major_minor()),
        "rocky" if !major.is_empty() => format!("Rocky Linux:{major}"),
        "almalinux" if !major.is_empty() => format!("AlmaLinux:{major}"),
        "wolfi" => "Wolfi".to_string(),
        "chainguard" => "Chainguard".to_string(),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(id: &str, v: &str) -> OsInfo {
        OsInfo { id: id.into(), version_id: v.into(), ..Default::default() }
    }

    /// A language ecosystem we look packages up in must have a version order to compare in.
    #[test]
    fn every_language_ecosystem_has_a_version_scheme() {
        for t in PackageType::ALL {
            if let Some(eco) = t.osv_ecosystem() {
                assert!(bulwark_version::scheme_for(eco).is_some(), "{t}: no version scheme for {eco}");
            }
        }
    }

    #[test]
    fn distro_releases() {
        assert_eq!(distro_ecosystem(&os("debian", "12")).as_deref(), Some("Debian:12"));
        assert_eq!(distro_ecosystem(&os("alpine", "3.20.3")).as_deref(), Some("Alpine:v3.20"));
        assert_eq!(distro_ecosystem(&os("rocky", "8.9")).as_deref(), Some("Rocky Linux:8"));
        assert_eq!(distro_ecosystem(&os("debian", "")), None);
        assert_eq!(distro_ecosystem(&os("plan9", "4")), None);
    }

    #[test]
    fn debian_packages_are_looked_up_by_source() {
        let mut p = Package::new(PackageType::Deb, "libssl3", "3.0.20-1~deb12u2", "/var/lib/dpkg/status");
        p.source = Some(bulwark_catalog::SourcePackage { name: "openssl".into(), version: "3.0.20-1~deb12u2".into() });
        let q = query(&p, Some(&os("debian", "12"))).unwrap();
        assert_eq!((q.ecosystem.as_str(), q.name.as_str()), ("Debian:12", "openssl"));
        assert_eq!(query(&p, None), Err(Skip::UnknownOs));
    }

    #[test]
    fn go_versions_lose_their_prefix() {
        let p = Package::new(PackageType::GoModule, "stdlib", "go1.22.5", "/bin/x");
        assert_eq!(query(&p, None).unwrap().version, "1.22.5");
        let p = Package::new(PackageType::GoModule, "golang.org/x/net", "v0.17.0", "/bin/x");
        assert_eq!(query(&p, None).unwrap().version, "0.17.0");
        let p = Package::new(PackageType::GoModule, "example.com/main", "(devel)", "/bin/x");
        assert_eq!(query(&p, None), Err(Skip::NoVersion));
    }
}
