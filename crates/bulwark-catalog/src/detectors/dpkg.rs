//! Debian and Ubuntu: `/var/lib/dpkg/status` and distroless `/var/lib/dpkg/status.d/*`.
//! Each stanza is RFC 822-style `Field: value` lines, continuation lines start with a space,
//! stanzas are separated by blank lines.

use super::{full, utf8, warn, Detector};
use crate::model::{DetectError, Detection, FileInput, Package, PackageType, SourcePackage};

pub struct DpkgStatus;

impl Detector for DpkgStatus {
    fn name(&self) -> &'static str {
        "dpkg"
    }

    fn matches(&self, path: &str, _mode: u32) -> bool {
        if path == "/var/lib/dpkg/status" {
            return true;
        }
        // Distroless: one stanza file per package; `*.md5sums` beside them are not stanzas.
        match path.strip_prefix("/var/lib/dpkg/status.d/") {
            Some(rest) => !rest.is_empty() && !rest.contains('/') && !rest.ends_with(".md5sums"),
            None => false,
        }
    }

    /// The biggest real `status` files are a few MiB (a full desktop: ~5 MiB).
    fn max_size(&self) -> u64 {
        64 << 20
    }

    fn detect(&self, file: &FileInput<'_>) -> Result<Detection, DetectError> {
        let text = utf8(file.data)?;
        let mut det = Detection::default();
        for (i, stanza) in stanzas(text).enumerate() {
            if full(&mut det) {
                break;
            }
            match package_from(&stanza, file.path) {
                Ok(Some(p)) => det.packages.push(p),
                Ok(None) => {}
                Err(why) => warn(&mut det, format!("stanza {}: {why}", i + 1)),
            }
        }
        Ok(det)
    }
}

/// Fields of one stanza, in order; a continuation line is appended to the previous value.
fn stanzas(text: &str) -> impl Iterator<Item = Vec<(&str, String)>> + '_ {
    text.split("\n\n").filter(|s| !s.trim().is_empty()).map(|block| {
        let mut fields: Vec<(&str, String)> = Vec::new();
        for line in block.lines() {
            if line.starts_with(' ') || line.starts_with('\t') {
                if let Some((_, v)) = fields.last_mut() {
                    v.push('\n');
                    v.push_str(line.trim());
                }
            } else if let Some((k, v)) = line.split_once(':') {
                fields.push((k.trim(), v.trim().to_string()));
            }
        }
        fields
    })
}

fn package_from(fields: &[(&str, String)], path: &str) -> Result<Option<Package>, String> {
    let get = |k: &str| fields.iter().find(|(f, _)| f.eq_ignore_ascii_case(k)).map(|(_, v)| v.as_str());
    let name = get("Package").ok_or("no Package field")?;
    if name.is_empty() || name.contains(char::is_whitespace) {
        return Err(format!("bad package name {name:?}"));
    }
    // Only what is installed: `deinstall ok config-files` leaves a stanza but no package.
    if let Some(status) = get("Status") {
        let state = status.split_whitespace().last().unwrap_or("");
        if !matches!(state, "installed" | "half-configured" | "unpacked" | "triggers-awaited" | "triggers-pending") {
            return Ok(None);
        }
    }
    let version = get("Version").ok_or_else(|| format!("package {name} has no Version"))?;
    if version.is_empty() || version.contains(char::is_whitespace) {
        return Err(format!("package {name} has bad version {version:?}"));
    }
    let mut pkg = Package::new(PackageType::Deb, name, version, path);
    pkg.arch = get("Architecture").map(str::to_string);
    // `Source: name` or `Source: name (version)`; missing means same as the binary package.
    pkg.source = Some(match get("Source") {
        Some(src) => match src.split_once('(') {
            Some((n, v)) => {
                SourcePackage { name: n.trim().to_string(), version: v.trim_end_matches(')').trim().to_string() }
            }
            None => SourcePackage { name: src.trim().to_string(), version: version.to_string() },
        },
        None => SourcePackage { name: name.to_string(), version: version.to_string() },
    });
    Ok(Some(pkg))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detect(text: &str) -> Detection {
        DpkgStatus.detect(&FileInput { path: "/var/lib/dpkg/status", mode: 0o644, data: text.as_bytes() }).unwrap()
    }

    #[test]
    fn reads_source_with_and_without_version() {
        let d = detect(
            "Package: libsystemd0\nStatus: install ok installed\nArchitecture: amd64\nSource: systemd\nVersion: 252.39-1~deb12u2\nDescription: x\n more\n\n\
             Package: libssl3\nStatus: install ok installed\nSource: openssl (3.0.20-1~deb12u2)\nVersion: 3.0.20-1~deb12u2\n\n\
             Package: tar\nStatus: install ok installed\nVersion: 1.34+dfsg-1.2+deb12u1\n",
        );
        assert_eq!(d.packages.len(), 3);
        let s = d.packages[0].source.as_ref().unwrap();
        assert_eq!((s.name.as_str(), s.version.as_str()), ("systemd", "252.39-1~deb12u2"));
        let s = d.packages[1].source.as_ref().unwrap();
        assert_eq!((s.name.as_str(), s.version.as_str()), ("openssl", "3.0.20-1~deb12u2"));
        assert_eq!(d.packages[2].source.as_ref().unwrap().name, "tar");
        assert_eq!(d.packages[0].arch.as_deref(), Some("amd64"));
    }

    #[test]
    fn skips_removed_and_warns_on_malformed() {
        let d = detect(
            "Package: gone\nStatus: deinstall ok config-files\nVersion: 1\n\nPackage: nover\nStatus: install ok installed\n\nVersion: 2\n\nPackage: ok\nVersion: 1.0\n",
        );
        assert_eq!(d.packages.len(), 1);
        assert_eq!(d.packages[0].name, "ok");
        assert_eq!(d.warnings.len(), 2, "{:?}", d.warnings);
    }

    #[test]
    fn matches_distroless_status_d() {
        assert!(DpkgStatus.matches("/var/lib/dpkg/status.d/base", 0o644));
        assert!(!DpkgStatus.matches("/var/lib/dpkg/status.d/base.md5sums", 0o644));
        assert!(!DpkgStatus.matches("/var/lib/dpkg/status-old", 0o644));
    }
}
