//! Alpine (and Wolfi, Chainguard): `/lib/apk/db/installed`, or `/usr/lib/apk/db/installed`
//! on merged-/usr systems. One record per installed package, records separated by blank
//! lines, each line `X:value` with a one-letter key (`P` name, `V` version, `A` arch,
//! `L` license, `o` origin, i.e. the source package; `F`/`R`/`Z`... list the files).

use super::{utf8, Detector};
use crate::model::{DetectError, Detection, FileInput, Package, PackageType, SourcePackage};

pub struct ApkInstalled;

impl Detector for ApkInstalled {
    fn name(&self) -> &'static str {
        "apk"
    }

    fn matches(&self, path: &str, _mode: u32) -> bool {
        path == "/lib/apk/db/installed" || path == "/usr/lib/apk/db/installed"
    }

    /// Real `installed` files are a few MiB at most.
    fn max_size(&self) -> u64 {
        64 << 20
    }

    fn detect(&self, file: &FileInput<'_>) -> Result<Detection, DetectError> {
        let text = utf8(file.data)?;
        let mut det = Detection::default();
        for (i, record) in records(text).enumerate() {
            if super::full(&mut det) {
                break;
            }
            match package_from(&record, file.path) {
                Ok(p) => det.packages.push(p),
                Err(why) => super::warn(&mut det, format!("record {}: {why}", i + 1)),
            }
        }
        Ok(det)
    }
}

/// One record: the fields we use (first occurrence wins; apk writes each once) and
/// how many lines were not `X:value`.
#[derive(Default)]
struct Record<'a> {
    name: Option<&'a str>,
    version: Option<&'a str>,
    arch: Option<&'a str>,
    license: Option<&'a str>,
    origin: Option<&'a str>,
    bad_lines: usize,
}

/// Records in file order. A blank line (or one with only `\r`/spaces) ends a record.
fn records(text: &str) -> impl Iterator<Item = Record<'_>> + '_ {
    let mut lines = text.lines().peekable();
    std::iter::from_fn(move || {
        // Skip the blank lines between records.
        while lines.peek().is_some_and(|l| l.trim().is_empty()) {
            lines.next();
        }
        lines.peek()?;
        let mut rec = Record::default();
        for line in lines.by_ref() {
            let line = line.trim_end_matches('\r');
            if line.trim().is_empty() {
                break;
            }
            // The key is exactly one ASCII character followed by ':'.
            let (key, value) = match (line.as_bytes(), line.get(2..)) {
                ([k, b':', ..], Some(v)) if k.is_ascii() => (*k, v.trim()),
                _ => {
                    rec.bad_lines += 1;
                    continue;
                }
            };
            let slot = match key {
                b'P' => &mut rec.name,
                b'V' => &mut rec.version,
                b'A' => &mut rec.arch,
                b'L' => &mut rec.license,
                b'o' => &mut rec.origin,
                _ => continue,
            };
            if slot.is_none() {
                *slot = Some(value);
            }
        }
        Some(rec)
    })
}

fn package_from(rec: &Record<'_>, path: &str) -> Result<Package, String> {
    if rec.bad_lines > 0 && rec.name.is_none() {
        return Err(format!("{} malformed lines and no P: field", rec.bad_lines));
    }
    let name = rec.name.ok_or("no P: field")?;
    if name.is_empty() || name.contains(char::is_whitespace) {
        return Err(format!("bad package name {name:?}"));
    }
    let version = rec.version.ok_or_else(|| format!("package {name} has no V: field"))?;
    if version.is_empty() || version.contains(char::is_whitespace) {
        return Err(format!("package {name} has bad version {version:?}"));
    }
    let mut pkg = Package::new(PackageType::Apk, name, version, path);
    pkg.arch = rec.arch.filter(|a| !a.is_empty()).map(str::to_string);
    // Kept whole: newer records hold an SPDX expression (`MPL-2.0 AND MIT`) that
    // splitting on spaces would break apart.
    if let Some(l) = rec.license.filter(|l| !l.is_empty()) {
        pkg.licenses.push(l.to_string());
    }
    // Subpackages are built from their origin's APKBUILD in the same run, so they share
    // its version; a missing origin means the package is its own source.
    let origin = rec.origin.filter(|o| !o.is_empty() && !o.contains(char::is_whitespace)).unwrap_or(name);
    pkg.source = Some(SourcePackage { name: origin.to_string(), version: version.to_string() });
    Ok(pkg)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Abridged from alpine:3.20's `/lib/apk/db/installed` (file lists shortened), in
    /// apk's exact layout.
    const ALPINE_3_20: &str = "\
C:Q1J9w0ZMiqyqLG6ifSc3Qzp1tCzfQ=
P:musl
V:1.2.5-r0
A:x86_64
S:411323
I:663552
T:the musl c library (libc) implementation
U:https://musl.libc.org/
L:MIT
o:musl
m:Timo Teräs <timo.teras@iki.fi>
t:1712672532
c:5f7a4b1c3a9d5e2c1a0b6e7d8f9a0b1c2d3e4f50
p:so:libc.musl-x86_64.so.1=1
F:lib
R:ld-musl-x86_64.so.1
a:0:0:755
Z:Q1D+Uk6pJwDDyPdzmX8tzdfj8XrDM=
R:libc.musl-x86_64.so.1
a:0:0:777
Z:Q17yJ3JFNypA4mxhJJr0ou6CzsJVI=

C:Q1RKtaN5DrEUm7gZq8sNAhrTOvwX4=
P:busybox
V:1.36.1-r29
A:x86_64
S:521236
I:951296
T:Size optimized toolbox of many common UNIX utilities
U:https://busybox.net/
L:GPL-2.0-only
o:busybox
m:Sören Tempel <soeren+alpine@soeren-tempel.net>
t:1717155418
c:1e6f8ac3d1d4d2e5b0c5a8d94c5d6a7b8c9d0e1f
D:so:libc.musl-x86_64.so.1
p:/bin/sh cmd:busybox=1.36.1-r29 cmd:sh=1.36.1-r29
r:busybox-initscripts
F:bin
R:busybox
a:0:0:755
Z:Q1WUwBY0eOGgzhVxTZxu/XuYvlh5Q=
R:sh
a:0:0:777
Z:Q1pcfTfDNEbNKQc2s1tia7da05M8Q=
F:etc
R:securetty
Z:Q1mB95Hhc4ZJKVh1YEvGD5dOfsyQU=
F:usr
F:usr/share
F:usr/share/udhcpc
R:default.script
a:0:0:755
Z:Q1HWpG3eQD8Uoi4mks2E3uK2UmS8Y=

C:Q1Ih9yKmFlWOdbPtnpnJddZoxGCKU=
P:ca-certificates-bundle
V:20240226-r0
A:x86_64
S:130546
I:231424
T:Pre generated bundle of Mozilla certificates
U:https://www.mozilla.org/en-US/about/governance/policies/security-group/certs/
L:MPL-2.0 AND MIT
o:ca-certificates
m:Natanael Copa <ncopa@alpinelinux.org>
t:1709052600
c:a1b2c3d4e5f60718293a4b5c6d7e8f9012345678
p:ca-certificates-cacert=20240226-r0
F:etc
F:etc/ssl
F:etc/ssl/certs
R:ca-certificates.crt
Z:Q1Fr3R5J5hp9ZEw0WXgWxHbV4ZTl4=

C:Q1qQ8wZGiNOZPrXJyQyXJ4Lt+QFG4=
P:ssl_client
V:1.36.1-r29
A:x86_64
S:4955
I:14336
T:EXternal ssl_client for busybox wget
U:https://busybox.net/
L:GPL-2.0-only
o:busybox
m:Sören Tempel <soeren+alpine@soeren-tempel.net>
t:1717155418
c:1e6f8ac3d1d4d2e5b0c5a8d94c5d6a7b8c9d0e1f
D:so:libc.musl-x86_64.so.1 so:libcrypto.so.3 so:libssl.so.3
p:cmd:ssl_client=1.36.1-r29
i:busybox=1.36.1-r29 libssl3
F:usr
F:usr/bin
R:ssl_client
a:0:0:755
Z:Q1KpJ2SXEXzTrbTnsbV3QDMPaOtwM=

";

    fn detect(text: &str) -> Detection {
        let det = ApkInstalled.detect(&FileInput { path: "/lib/apk/db/installed", mode: 0o644, data: text.as_bytes() });
        match det {
            Ok(d) => d,
            Err(e) => panic!("detect failed: {e}"),
        }
    }

    fn src(p: &Package) -> (&str, &str) {
        match &p.source {
            Some(s) => (s.name.as_str(), s.version.as_str()),
            None => ("", ""),
        }
    }

    #[test]
    fn reads_alpine_3_20_records() {
        let d = detect(ALPINE_3_20);
        assert!(d.warnings.is_empty(), "{:?}", d.warnings);
        let names: Vec<_> = d.packages.iter().map(|p| (p.name.as_str(), p.version.as_str())).collect();
        assert_eq!(
            names,
            [
                ("musl", "1.2.5-r0"),
                ("busybox", "1.36.1-r29"),
                ("ca-certificates-bundle", "20240226-r0"),
                ("ssl_client", "1.36.1-r29"),
            ]
        );
        let ssl = &d.packages[3];
        assert_eq!(src(ssl), ("busybox", "1.36.1-r29"));
        assert_eq!(ssl.arch.as_deref(), Some("x86_64"));
        assert_eq!(ssl.licenses, ["GPL-2.0-only"]);
        assert_eq!(ssl.location.path, "/lib/apk/db/installed");
        assert_eq!(d.packages[2].licenses, ["MPL-2.0 AND MIT"]);
        assert_eq!(src(&d.packages[2]), ("ca-certificates", "20240226-r0"));
        assert_eq!(src(&d.packages[0]), ("musl", "1.2.5-r0"));
    }

    #[test]
    fn crlf_and_missing_origin() {
        let d = detect("P:zlib\r\nV:1.3.1-r1\r\nA:aarch64\r\n\r\n\r\n\r\nP:x\nV:1\n");
        assert!(d.warnings.is_empty(), "{:?}", d.warnings);
        assert_eq!(d.packages.len(), 2);
        assert_eq!(d.packages[0].version, "1.3.1-r1");
        assert_eq!(d.packages[0].arch.as_deref(), Some("aarch64"));
        assert_eq!(src(&d.packages[0]), ("zlib", "1.3.1-r1"));
    }

    #[test]
    fn malformed_records_warn_and_the_rest_are_read() {
        let d = detect(
            "P:nover\nA:x86_64\n\n\
             V:1.0-r0\nL:MIT\n\n\
             garbage line\n\u{0}\u{0}\n\n\
             P:bad name\nV:1\n\n\
             P:badver\nV:1 2\n\n\
             P:\nV:\n\n\
             P:ok\nV:2.0-r1\nthis is not a field\nPV\n\n\
             :\n\n",
        );
        let names: Vec<_> = d.packages.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["ok"]);
        assert_eq!(d.warnings.len(), 7, "{:?}", d.warnings);
    }

    #[test]
    fn matches_only_the_database() {
        assert!(ApkInstalled.matches("/lib/apk/db/installed", 0o644));
        assert!(ApkInstalled.matches("/usr/lib/apk/db/installed", 0o644));
        assert!(!ApkInstalled.matches("/lib/apk/db/installed.bak", 0o644));
        assert!(!ApkInstalled.matches("/lib/apk/db/triggers", 0o644));
    }

    #[test]
    fn empty_file_has_no_packages() {
        let d = detect("");
        assert!(d.packages.is_empty() && d.warnings.is_empty());
        let d = detect("\n\n  \n");
        assert!(d.packages.is_empty() && d.warnings.is_empty());
    }
}
