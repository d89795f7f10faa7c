//! Package URLs (https://github.com/package-url/purl-spec), built with the `packageurl` crate
//! so that escaping follows the spec.

use crate::model::{OsInfo, Package, PackageType};
use packageurl::PackageUrl;

/// The purl of `pkg`; OS packages carry the distro (`distro=debian-12`), as Syft and Trivy write it.
pub fn purl_for(pkg: &Package, os: Option<&OsInfo>) -> String {
    build(pkg, os).unwrap_or_default()
}

fn build(pkg: &Package, os: Option<&OsInfo>) -> Option<String> {
    // OS packages are namespaced by the distribution, `os-release`'s id when known.
    let distro =
        |default: &str| Some(os.map(|o| o.id.clone()).filter(|s| !s.is_empty()).unwrap_or_else(|| default.to_string()));
    let (namespace, name): (Option<String>, String) = match pkg.kind {
        PackageType::Deb => (distro("debian"), pkg.name.clone()),
        PackageType::Apk => (distro("alpine"), pkg.name.clone()),
        PackageType::Rpm => (distro("redhat"), pkg.name.clone()),
        PackageType::Python => (None, pkg.name.to_ascii_lowercase().replace('_', "-")),
        PackageType::Npm => match pkg.name.strip_prefix('@').and_then(|s| s.split_once('/')) {
            Some((scope, n)) => (Some(format!("@{scope}")), n.to_string()),
            None => (None, pkg.name.clone()),
        },
        PackageType::GoModule => match pkg.name.rsplit_once('/') {
            Some((ns, n)) => (Some(ns.to_string()), n.to_string()),
            None => (None, pkg.name.clone()),
        },
        PackageType::JavaArchive => (pkg.namespace.clone(), pkg.name.clone()),
        PackageType::PhpComposer => match pkg.name.split_once('/') {
            Some((ns, n)) => (Some(ns.to_string()), n.to_string()),
            None => (None, pkg.name.clone()),
        },
        PackageType::RustCrate | PackageType::Gem | PackageType::Dotnet => (None, pkg.name.clone()),
    };
    let mut purl = PackageUrl::new(pkg.kind.purl_type(), name).ok()?;
    if let Some(ns) = namespace.as_deref().filter(|s| !s.is_empty()) {
        purl.with_namespace(ns);
    }
    // The Go toolchain's purl drops the `go` prefix (`pkg:golang/stdlib@1.22.5`), as Syft writes it.
    let version = match (pkg.kind, pkg.name.as_str()) {
        (PackageType::GoModule, "stdlib") => pkg.version.strip_prefix("go").unwrap_or(&pkg.version),
        _ => pkg.version.as_str(),
    };
    if !version.is_empty() {
        purl.with_version(version);
    }
    if pkg.kind.is_os() {
        if let Some(arch) = pkg.arch.as_deref().filter(|a| !a.is_empty()) {
            purl.add_qualifier("arch", arch).ok()?;
        }
        if let Some(os) = os.filter(|o| !o.id.is_empty()) {
            purl.add_qualifier("distro", format!("{}-{}", os.id, os.version_id)).ok()?;
        }
        if let Some(src) = &pkg.source {
            if src.name != pkg.name {
                purl.add_qualifier("upstream", src.name.as_str()).ok()?;
            }
        }
    }
    Some(purl.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SourcePackage;

    #[test]
    fn deb_purl_has_distro_arch_and_upstream() {
        let mut p = Package::new(PackageType::Deb, "libsystemd0", "252.39-1~deb12u2", "/var/lib/dpkg/status");
        p.arch = Some("amd64".into());
        p.source = Some(SourcePackage { name: "systemd".into(), version: "252.39-1~deb12u2".into() });
        let os = OsInfo { id: "debian".into(), version_id: "12".into(), ..Default::default() };
        assert_eq!(
            purl_for(&p, Some(&os)),
            "pkg:deb/debian/libsystemd0@252.39-1~deb12u2?arch=amd64&distro=debian-12&upstream=systemd"
        );
    }

    #[test]
    fn scoped_npm_and_maven_and_go() {
        let p = Package::new(PackageType::Npm, "@babel/core", "7.0.0", "/x");
        assert_eq!(purl_for(&p, None), "pkg:npm/%40babel/core@7.0.0");
        let mut p = Package::new(PackageType::JavaArchive, "log4j-core", "2.19.0", "/x");
        p.namespace = Some("org.apache.logging.log4j".into());
        assert_eq!(purl_for(&p, None), "pkg:maven/org.apache.logging.log4j/log4j-core@2.19.0");
        let p = Package::new(PackageType::GoModule, "github.com/spf13/cobra", "v1.8.1", "/x");
        assert_eq!(purl_for(&p, None), "pkg:golang/github.com/spf13/cobra@v1.8.1");
    }
}
