//! Java archives (`.jar`, `.war`, `.ear` and the plugin/server variants), which are zip
//! files. What a jar is comes, best first, from
//! `META-INF/maven/<groupId>/<artifactId>/pom.properties` (written by Maven, one per
//! artifact built or shaded into the jar), else from `META-INF/MANIFEST.MF` and the file
//! name. Archives inside archives (`WEB-INF/lib/*.jar`, `BOOT-INF/lib/*.jar`, jars in ears)
//! are opened in turn; their packages are located at `outer.war!/WEB-INF/lib/inner.jar`.
//!
//! Naming follows Syft's java cataloger so that both tools name the same jar alike.
//! Archives are input like any other: every read is capped, nesting is limited, and all
//! decompression in one file shares one budget, so a zip bomb costs a warning.

use super::{file_name, Detector};
use crate::model::{DetectError, Detection, FileInput, Package, PackageType};
use std::collections::HashSet;
use std::io::{Cursor, Read};
use zip::ZipArchive;

pub struct JavaArchive;

/// All four bytes long, which `is_java_archive` relies on.
const EXTENSIONS: [&str; 8] = [".jar", ".war", ".ear", ".jpi", ".hpi", ".par", ".sar", ".nar"];

/// Whether `path` names a Java archive (case-insensitive suffix; no allocation).
fn is_java_archive(path: &str) -> bool {
    let b = path.as_bytes();
    let Some(ext) = b.get(b.len().saturating_sub(4)..) else {
        return false;
    };
    b.len() > 4 && !path.ends_with("/.jar") && EXTENSIONS.iter().any(|e| ext.eq_ignore_ascii_case(e.as_bytes()))
}

impl Detector for JavaArchive {
    fn name(&self) -> &'static str {
        "java-archive"
    }

    fn matches(&self, path: &str, _mode: u32) -> bool {
        is_java_archive(path)
    }

    fn max_size(&self) -> u64 {
        256 << 20
    }

    fn detect(&self, file: &FileInput<'_>) -> Result<Detection, DetectError> {
        // The outer file not being a zip is an error for the walker to report; inside
        // one, a broken nested archive is only a warning.
        let archive = ZipArchive::new(Cursor::new(file.data))?;
        let mut walk = Walk::new(&LIMITS);
        walk.scan(archive, file.path, 0);
        Ok(walk.det)
    }
}

/// Bounds on the work one top-level archive may cause.
struct Limits {
    /// Archives nested deeper than this are not opened (an ear holds wars holding jars:
    /// real archives stop at 2 or 3).
    max_depth: usize,
    /// Bytes decompressed over the whole file, nested archives included.
    total: u64,
    /// Bytes of one nested archive.
    nested: u64,
    /// Bytes of one manifest or pom.properties.
    meta: u64,
}

const LIMITS: Limits = Limits { max_depth: 4, total: 512 << 20, nested: 256 << 20, meta: 1 << 20 };

struct Walk<'l> {
    limits: &'l Limits,
    /// Bytes still allowed to be decompressed.
    budget: u64,
    det: Detection,
}

/// The three fields of a `pom.properties` that name an artifact.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct PomProperties {
    group: String,
    artifact: String,
    version: String,
}

impl<'l> Walk<'l> {
    fn new(limits: &'l Limits) -> Self {
        Walk { limits, budget: limits.total, det: Detection::default() }
    }

    /// Reads entry `idx` whole, at most `cap` bytes and within the budget. Sizes in the
    /// zip directory are only claims: the cap is enforced on what actually comes out.
    fn read_entry<R: Read + std::io::Seek>(
        &mut self,
        archive: &mut ZipArchive<R>,
        idx: usize,
        cap: u64,
    ) -> Result<Vec<u8>, String> {
        let cap = cap.min(self.budget);
        let mut entry = archive.by_index(idx).map_err(|e| e.to_string())?;
        if entry.size() > cap {
            return Err(format!("skipped: {} bytes uncompressed, over the limit of {cap}", entry.size()));
        }
        // Do not trust the claimed size for the allocation either.
        let hint = usize::try_from(entry.size().min(16 << 20)).unwrap_or(0);
        let mut buf = Vec::with_capacity(hint);
        let res = (&mut entry).take(cap.saturating_add(1)).read_to_end(&mut buf);
        self.budget = self.budget.saturating_sub(buf.len() as u64);
        res.map_err(|e| e.to_string())?;
        if buf.len() as u64 > cap {
            return Err(format!("skipped: expands past the limit of {cap} bytes (zip bomb?)"));
        }
        Ok(buf)
    }

    fn warn(&mut self, location: &str, what: &str, why: impl std::fmt::Display) {
        self.det.warnings.push(format!("{location}: {what}: {why}"));
    }

    fn scan<R: Read + std::io::Seek>(&mut self, mut archive: ZipArchive<R>, location: &str, depth: usize) {
        let mut manifest_idx = None;
        let mut poms: Vec<(String, usize)> = Vec::new();
        let mut pom_xml_dirs: HashSet<String> = HashSet::new();
        let mut nested: Vec<(String, usize)> = Vec::new();
        for idx in 0..archive.len() {
            let Some(name) = archive.name_for_index(idx) else {
                continue;
            };
            if name.ends_with('/') {
                continue;
            }
            if name.eq_ignore_ascii_case("META-INF/MANIFEST.MF") {
                manifest_idx.get_or_insert(idx);
            } else if let Some(dir) = maven_dir(name, "pom.properties") {
                poms.push((dir.to_string(), idx));
            } else if let Some(dir) = maven_dir(name, "pom.xml") {
                pom_xml_dirs.insert(dir.to_string());
            } else if is_java_archive(name) {
                nested.push((name.to_string(), idx));
            }
        }

        let manifest = manifest_idx.and_then(|idx| match self.read_entry(&mut archive, idx, self.limits.meta) {
            Ok(b) => Some(Manifest::parse(&String::from_utf8_lossy(&b))),
            Err(why) => {
                self.warn(location, "META-INF/MANIFEST.MF", why);
                None
            }
        });

        // Sorted by directory, as Syft walks them; the same artifact twice is one package.
        poms.sort();
        let mut props: Vec<(String, PomProperties)> = Vec::new();
        let mut seen_props: HashSet<PomProperties> = HashSet::new();
        for (dir, idx) in poms {
            let what = format!("{dir}pom.properties");
            let p = match self.read_entry(&mut archive, idx, self.limits.meta) {
                Ok(b) => parse_pom_properties(&String::from_utf8_lossy(&b)),
                Err(why) => {
                    self.warn(location, &what, why);
                    continue;
                }
            };
            match p {
                Ok(p) if seen_props.insert(p.clone()) => props.push((dir, p)),
                Ok(_) => {}
                Err(why) => self.warn(location, &what, why),
            }
        }

        let file = FileName::parse(file_name(location));
        let licenses = manifest.as_ref().map(|m| m.licenses()).unwrap_or_default();
        if props.is_empty() {
            // No Maven metadata: name it from the manifest and file name, as Syft does. A
            // zip without a manifest is not taken for a package (Syft agrees).
            if let Some(m) = &manifest {
                let name = select_name(m, &file);
                if name.is_empty() {
                    self.warn(location, "MANIFEST.MF", "no name for the archive");
                } else {
                    let mut pkg =
                        Package::new(PackageType::JavaArchive, name.as_str(), select_version(m, &file), location);
                    // Syft's purl falls back to the name as groupId (`commons-io/commons-io`
                    // is often right); doing the same keeps purls comparable.
                    pkg.namespace = Some(m.group_id().unwrap_or(name));
                    pkg.licenses = licenses;
                    self.det.packages.push(pkg);
                }
            }
        } else {
            let main = main_pom(&props, &file.name, &pom_xml_dirs);
            for (i, (_, p)) in props.into_iter().enumerate() {
                let mut pkg = Package::new(PackageType::JavaArchive, p.artifact.as_str(), p.version.as_str(), location);
                pkg.namespace = Some(p.group).filter(|g| !g.is_empty());
                // The manifest describes the archive itself, not what was shaded into it.
                if Some(i) == main {
                    pkg.licenses = licenses.clone();
                }
                self.det.packages.push(pkg);
            }
        }

        if !nested.is_empty() && depth >= self.limits.max_depth {
            self.warn(
                location,
                "nested archives",
                format!("{} not opened: nested deeper than {}", nested.len(), self.limits.max_depth),
            );
            return;
        }
        for (name, idx) in nested {
            let inner_location = format!("{location}!/{name}");
            let data = match self.read_entry(&mut archive, idx, self.limits.nested) {
                Ok(d) => d,
                Err(why) => {
                    self.warn(location, &name, why);
                    continue;
                }
            };
            match ZipArchive::new(Cursor::new(data.as_slice())) {
                Ok(inner) => self.scan(inner, &inner_location, depth + 1),
                Err(e) => self.warn(location, &name, e),
            }
        }
    }
}

/// `META-INF/maven/g/a/` for `META-INF/maven/g/a/<file>`, anywhere in the archive.
fn maven_dir<'a>(name: &'a str, file: &str) -> Option<&'a str> {
    let dir = name.strip_suffix(file)?;
    (dir.ends_with('/') && dir.contains("META-INF/maven/")).then_some(dir)
}

/// A Java properties file, reduced to what Maven writes: `key=value` lines and comments.
fn parse_pom_properties(text: &str) -> Result<PomProperties, String> {
    let (mut group, mut artifact, mut version) = (None, None, None);
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
            continue;
        }
        // `key=value`, `key: value` and `key value` are all valid properties syntax.
        let Some(sep) = line.find(['=', ':', ' ', '\t']) else {
            continue;
        };
        let (key, rest) = line.split_at(sep);
        let value = rest.get(1..).unwrap_or("").trim_start().trim_start_matches(['=', ':']).trim();
        let slot = match key.trim() {
            "groupId" => &mut group,
            "artifactId" => &mut artifact,
            "version" => &mut version,
            _ => continue,
        };
        slot.get_or_insert(value.to_string());
    }
    let artifact = artifact.filter(|a| !a.is_empty() && !a.contains(char::is_whitespace)).ok_or("no artifactId")?;
    let version = version
        .filter(|v| !v.is_empty() && !v.contains(char::is_whitespace))
        .ok_or_else(|| format!("{artifact} has no version"))?;
    Ok(PomProperties { group: group.unwrap_or_default(), artifact, version })
}

/// Which pom.properties describes the archive itself rather than something shaded into
/// it. Syft's rule: an artifactId equal to the file's name wins; failing any, one the
/// name is a prefix of, or that ends the name. Among several, the first whose directory
/// also has a pom.xml, else the last.
fn main_pom(props: &[(String, PomProperties)], file_name: &str, pom_xml_dirs: &HashSet<String>) -> Option<usize> {
    if file_name.is_empty() {
        return None;
    }
    let exact = props.iter().any(|(_, p)| p.artifact == file_name);
    let fits = |p: &PomProperties| {
        if exact {
            p.artifact == file_name
        } else {
            p.artifact.starts_with(file_name) || file_name.ends_with(p.artifact.as_str())
        }
    };
    let candidates: Vec<usize> = props.iter().enumerate().filter(|(_, (_, p))| fits(p)).map(|(i, _)| i).collect();
    candidates
        .iter()
        .copied()
        .find(|&i| props.get(i).is_some_and(|(d, _)| pom_xml_dirs.contains(d)))
        .or_else(|| candidates.last().copied())
}

/// `name-1.2.3.jar` → name `name`, version `1.2.3`: the version starts at the first `-`
/// followed by a digit (`log4j-1.2-api.jar` is `log4j` `1.2-api` to Syft too).
#[derive(Debug, PartialEq, Eq)]
struct FileName {
    name: String,
    version: String,
}

impl FileName {
    fn parse(file: &str) -> Self {
        let stem = match file.rfind('.') {
            Some(dot) if dot > 0 => file.get(..dot).unwrap_or(file),
            _ => file,
        };
        let split = stem
            .match_indices('-')
            .map(|(i, _)| i)
            .find(|&i| i > 0 && stem.get(i + 1..).is_some_and(|v| v.starts_with(|c: char| c.is_ascii_digit())));
        match split.and_then(|i| Some((stem.get(..i)?, stem.get(i + 1..)?))) {
            Some((name, version)) if name.starts_with(|c: char| c.is_alphabetic()) => {
                FileName { name: name.to_string(), version: version.to_string() }
            }
            _ => FileName { name: stem.to_string(), version: String::new() },
        }
    }
}

/// A parsed `MANIFEST.MF`: the main section, then the per-entry sections.
#[derive(Debug, Default)]
struct Manifest {
    sections: Vec<Vec<(String, String)>>,
}

impl Manifest {
    /// `Key: value` lines; a line starting with one space continues the previous value
    /// (lines are wrapped at 72 bytes); a blank line starts the next section.
    fn parse(text: &str) -> Self {
        let mut sections: Vec<Vec<(String, String)>> = vec![Vec::new()];
        // The spec allows CRLF, LF and lone CR line ends.
        let normalised = text.replace("\r\n", "\n").replace('\r', "\n");
        for line in normalised.split('\n') {
            if let Some(cont) = line.strip_prefix(' ') {
                if let Some((_, v)) = sections.last_mut().and_then(|s| s.last_mut()) {
                    v.push_str(cont);
                }
                continue;
            }
            if line.trim().is_empty() {
                if sections.last().is_some_and(|s| !s.is_empty()) {
                    sections.push(Vec::new());
                }
                continue;
            }
            if let Some((k, v)) = line.split_once(':') {
                if let Some(s) = sections.last_mut() {
                    s.push((k.trim().to_string(), v.trim().to_string()));
                }
            }
        }
        Manifest { sections }
    }

    fn main(&self, key: &str) -> Option<&str> {
        self.sections.first().and_then(|s| lookup(s, key))
    }

    /// The main section first, then any other (Syft's `fieldValueFromManifest`).
    fn any(&self, key: &str) -> Option<&str> {
        self.sections.iter().find_map(|s| lookup(s, key))
    }

    fn licenses(&self) -> Vec<String> {
        ["Bundle-License", "Plugin-License-Name"]
            .iter()
            .filter_map(|k| self.any(k))
            .flat_map(split_outside_quotes)
            .collect()
    }

    /// A groupId guessed from fields that often hold a reverse domain name
    /// (Syft's `groupIDFromJavaManifest`).
    fn group_id(&self) -> Option<String> {
        const PRIMARY: [&str; 7] = [
            "Bundle-SymbolicName",
            "Extension-Name",
            "Specification-Vendor",
            "Implementation-Vendor",
            "Implementation-Vendor-Id",
            "Implementation-Title",
            "Bundle-Activator",
        ];
        const SECONDARY: [&str; 3] = ["Automatic-Module-Name", "Main-Class", "Package"];
        PRIMARY
            .iter()
            .chain(SECONDARY.iter())
            .filter_map(|k| self.main(k))
            .map(|v| v.split(';').next().unwrap_or(v).trim())
            .find(|v| looks_like_group_id(v))
            .map(str::to_string)
    }
}

fn lookup<'a>(section: &'a [(String, String)], key: &str) -> Option<&'a str> {
    section.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty())
}

fn looks_like_group_id(v: &str) -> bool {
    const DOMAINS: [&str; 12] =
        ["com.", "org.", "net.", "io.", "be.", "dev.", "edu.", "gov.", "ch.", "de.", "uk.", "jp."];
    !v.contains(char::is_whitespace) && DOMAINS.iter().any(|d| v.starts_with(d))
}

/// `Apache-2.0, MIT;link="a,b"` → [`Apache-2.0`, `MIT;link="a,b"`].
fn split_outside_quotes(v: &str) -> Vec<String> {
    let mut out = Vec::new();
    let (mut start, mut quoted) = (0, false);
    for (i, c) in v.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                out.extend(v.get(start..i).map(str::trim).map(str::to_string));
                start = i + 1;
            }
            _ => {}
        }
    }
    out.extend(v.get(start..).map(str::trim).map(str::to_string));
    out.retain(|s| !s.is_empty());
    out
}

/// Syft's `selectName`: the Maven bundle plugin's symbolic name, then the file name,
/// then whatever the manifest calls the archive.
fn select_name(m: &Manifest, file: &FileName) -> String {
    if m.main("Created-By").is_some_and(|c| c.contains("Apache Maven Bundle Plugin")) {
        if let Some(sym) = m.main("Bundle-SymbolicName") {
            let sym = sym.split(';').next().unwrap_or(sym).trim();
            if let Some(last) = sym.rsplit('.').next().filter(|s| !s.is_empty()) {
                return last.to_string();
            }
        }
    }
    if !file.name.is_empty() {
        return file.name.clone();
    }
    ["Name", "Bundle-Name", "Short-Name", "Extension-Name", "Implementation-Title"]
        .iter()
        .find_map(|k| m.main(k))
        .unwrap_or_default()
        .to_string()
}

/// Syft's `selectVersion`: the file name's version, then the manifest's.
fn select_version(m: &Manifest, file: &FileName) -> String {
    if !file.version.is_empty() {
        return file.version.clone();
    }
    ["Implementation-Version", "Specification-Version", "Plugin-Version", "Bundle-Version"]
        .iter()
        .find_map(|k| m.any(k))
        .unwrap_or_default()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;
    use zip::write::SimpleFileOptions;
    use zip::{CompressionMethod, ZipWriter};

    fn zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut w = ZipWriter::new(Cursor::new(Vec::new()));
        let opts = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
        for (name, data) in entries {
            w.start_file(*name, opts).unwrap_or_else(|e| panic!("{e}"));
            w.write_all(data).unwrap_or_else(|e| panic!("{e}"));
        }
        w.finish().unwrap_or_else(|e| panic!("{e}")).into_inner()
    }

    fn pom(group: &str, artifact: &str, version: &str) -> Vec<u8> {
        format!("#Generated by Maven\n#Tue Dec 20 2022\ngroupId={group}\nartifactId={artifact}\nversion={version}\n")
            .into_bytes()
    }

    fn pom_path(group: &str, artifact: &str) -> String {
        format!("META-INF/maven/{group}/{artifact}/pom.properties")
    }

    fn detect(path: &str, data: &[u8]) -> Detection {
        JavaArchive.detect(&FileInput { path, mode: 0o644, data }).unwrap_or_else(|e| panic!("detect failed: {e}"))
    }

    fn scan_with(limits: &Limits, path: &str, data: &[u8]) -> Detection {
        let archive = ZipArchive::new(Cursor::new(data)).unwrap_or_else(|e| panic!("{e}"));
        let mut walk = Walk::new(limits);
        walk.scan(archive, path, 0);
        walk.det
    }

    fn summary(d: &Detection) -> Vec<(String, String, String, String)> {
        d.packages
            .iter()
            .map(|p| {
                (p.namespace.clone().unwrap_or_default(), p.name.clone(), p.version.clone(), p.location.path.clone())
            })
            .collect()
    }

    #[test]
    fn real_java_app_matches_syft() {
        let layer = bulwark_testkit::image("java-app")
            .join("blobs/sha256/5d5a342deefe65f82071b2b0199a257ab93ad6a0e83026760800ad23a44fe173");
        let layer = layer.to_str().unwrap();
        let gz = std::fs::File::open(layer).unwrap_or_else(|e| panic!("{layer}: {e}"));
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(gz));
        let mut got = Vec::new();
        for entry in archive.entries().unwrap_or_else(|e| panic!("{e}")) {
            let mut entry = entry.unwrap_or_else(|e| panic!("{e}"));
            let path = entry.path().unwrap_or_else(|e| panic!("{e}"));
            let path = format!("/{}", path.to_string_lossy().trim_start_matches("./"));
            if !JavaArchive.matches(&path, 0o644) {
                continue;
            }
            let mut data = Vec::new();
            entry.read_to_end(&mut data).unwrap_or_else(|e| panic!("{e}"));
            let d = detect(&path, &data);
            assert!(d.warnings.is_empty(), "{path}: {:?}", d.warnings);
            for p in &d.packages {
                got.push((p.name.clone(), p.version.clone(), crate::purl_for(p, None), p.location.path.clone()));
            }
        }
        let mut want = crate::detectors::syft_facts("java-app");
        assert_eq!(want.len(), 14);
        want.sort();
        got.sort();
        assert_eq!(got, want);
    }

    #[test]
    fn shaded_jar_gives_one_package_per_pom_and_licenses_to_the_main_one() {
        let jar = zip(&[
            (
                "META-INF/MANIFEST.MF",
                b"Manifest-Version: 1.0\r\nBundle-License: \"Apache-2.0\";link=\"https://www.apache\r\n .org/licenses/LICENSE-2.0.txt\", MIT\r\n\r\n",
            ),
            (&pom_path("com.google.guava", "guava"), &pom("com.google.guava", "guava", "31.1-jre")),
            (&pom_path("com.example", "app-core"), &pom("com.example", "app-core", "1.4.0")),
            // The same artifact recorded twice is one package.
            (
                "shaded/META-INF/maven/com.example/app-core/pom.properties",
                &pom("com.example", "app-core", "1.4.0"),
            ),
            ("com/example/App.class", b"\xca\xfe\xba\xbe"),
        ]);
        let d = detect("/opt/app-core-1.4.0.jar", &jar);
        assert!(d.warnings.is_empty(), "{:?}", d.warnings);
        let s = summary(&d);
        assert_eq!(s.len(), 2, "{s:?}");
        let app = d.packages.iter().find(|p| p.name == "app-core");
        let app = app.unwrap_or_else(|| panic!("no app-core"));
        assert_eq!(app.namespace.as_deref(), Some("com.example"));
        assert_eq!(app.licenses, ["\"Apache-2.0\";link=\"https://www.apache.org/licenses/LICENSE-2.0.txt\"", "MIT"]);
        let guava = d.packages.iter().find(|p| p.name == "guava");
        let guava = guava.unwrap_or_else(|| panic!("no guava"));
        assert!(guava.licenses.is_empty());
        assert_eq!(guava.location.path, "/opt/app-core-1.4.0.jar");
    }

    #[test]
    fn main_pom_follows_syft() {
        let p = |a: &str| {
            (
                format!("META-INF/maven/g/{a}/"),
                PomProperties { group: "g".into(), artifact: a.into(), version: "1".into() },
            )
        };
        let none = HashSet::new();
        let props = [p("core"), p("spring-core"), p("spring-core-extra")];
        // Exact match wins over prefix/suffix matches.
        assert_eq!(main_pom(&props, "spring-core", &none), Some(1));
        // Otherwise the last of the loose matches, unless one has a pom.xml.
        assert_eq!(main_pom(&props, "spring", &none), Some(2));
        let xml: HashSet<String> = ["META-INF/maven/g/spring-core/".to_string()].into();
        assert_eq!(main_pom(&props, "spring", &xml), Some(1));
        assert_eq!(main_pom(&props, "unrelated", &none), None);
    }

    #[test]
    fn manifest_fallback_without_pom() {
        let manifest = b"Manifest-Version: 1.0\nCreated-By: Apache Maven Bundle Plugin\nBundle-SymbolicName: org.apache.commons.commons-io;singleton:=true\nBundle-Version: 2.11.0\nBundle-License: https://www.apache.org/licenses/LICENSE-2.0.txt\n";
        let d = detect("/lib/cio.jar", &zip(&[("META-INF/MANIFEST.MF", manifest)]));
        assert_eq!(
            summary(&d),
            [(
                "org.apache.commons.commons-io".to_string(),
                "commons-io".to_string(),
                "2.11.0".to_string(),
                "/lib/cio.jar".to_string()
            )]
        );
        assert_eq!(d.packages[0].licenses, ["https://www.apache.org/licenses/LICENSE-2.0.txt"]);

        // Not built by the bundle plugin: the file name names it and gives the version.
        let manifest = b"Manifest-Version: 1.0\nImplementation-Title: Foo Library\nImplementation-Version: 9.9\n";
        let d = detect("/lib/foo-lib-1.2.3-SNAPSHOT.jar", &zip(&[("META-INF/MANIFEST.MF", manifest)]));
        assert_eq!(d.packages.len(), 1);
        assert_eq!(d.packages[0].name, "foo-lib");
        assert_eq!(d.packages[0].version, "1.2.3-SNAPSHOT");
        // No groupId anywhere: the name stands in, as in Syft's purls.
        assert_eq!(d.packages[0].namespace.as_deref(), Some("foo-lib"));

        // No version in the file name: the manifest's, continuation lines joined.
        let manifest =
            b"Manifest-Version: 1.0\nImplementation-Vendor-Id: org.example\nImplementation-Version: 1.2.\n 3-beta\n\nName: x/\nSpecification-Version: 7\n";
        let d = detect("/lib/thing.war", &zip(&[("META-INF/MANIFEST.MF", manifest)]));
        assert_eq!(
            summary(&d),
            [("org.example".to_string(), "thing".to_string(), "1.2.3-beta".to_string(), "/lib/thing.war".to_string())]
        );

        // Neither a manifest nor a pom: not a package.
        let d = detect("/lib/data-1.0.jar", &zip(&[("data.txt", b"x")]));
        assert!(d.packages.is_empty() && d.warnings.is_empty());
    }

    #[test]
    fn nested_archives_are_located_with_bang() {
        let inner = zip(&[(&pom_path("org.yaml", "snakeyaml"), &pom("org.yaml", "snakeyaml", "1.33"))]);
        let lib = zip(&[
            (&pom_path("com.example", "web"), &pom("com.example", "web", "2.0")),
            ("WEB-INF/lib/snakeyaml-1.33.jar", &inner),
        ]);
        let ear = zip(&[("web.war", &lib), ("lib/", b"")]);
        let d = detect("/srv/app.ear", &ear);
        assert!(d.warnings.is_empty(), "{:?}", d.warnings);
        assert_eq!(
            summary(&d).into_iter().map(|(_, n, _, l)| (n, l)).collect::<Vec<_>>(),
            [
                ("web".to_string(), "/srv/app.ear!/web.war".to_string()),
                ("snakeyaml".to_string(), "/srv/app.ear!/web.war!/WEB-INF/lib/snakeyaml-1.33.jar".to_string()),
            ]
        );
    }

    #[test]
    fn deep_nesting_stops_at_the_limit() {
        let mut jar = zip(&[(&pom_path("g", "level6"), &pom("g", "level6", "1"))]);
        for level in (0..6).rev() {
            let a = format!("level{level}");
            jar = zip(&[(&pom_path("g", &a), &pom("g", &a, "1")), ("inner.jar", &jar)]);
        }
        let d = detect("/x.jar", &jar);
        let names: Vec<_> = d.packages.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["level0", "level1", "level2", "level3", "level4"]);
        assert_eq!(d.warnings.len(), 1, "{:?}", d.warnings);
        assert!(d.warnings[0].contains("nested deeper than 4"), "{:?}", d.warnings);
        assert!(d.warnings[0].starts_with("/x.jar!/inner.jar!/inner.jar!/inner.jar!/inner.jar:"));
    }

    #[test]
    fn zip_bombs_cost_a_warning() {
        let zeros = vec![0u8; 4 << 20];
        let limits = Limits { max_depth: 4, total: 3 << 20, nested: 2 << 20, meta: 64 << 10 };
        // A nested "jar" that inflates past the per-entry limit.
        let jar = zip(&[(&pom_path("g", "ok"), &pom("g", "ok", "1")), ("BOOT-INF/lib/bomb.jar", &zeros)]);
        assert!(jar.len() < 64 << 10, "deflate should squeeze the zeros");
        let d = scan_with(&limits, "/b.jar", &jar);
        assert_eq!(d.packages.len(), 1);
        assert_eq!(d.warnings.len(), 1, "{:?}", d.warnings);
        assert!(d.warnings[0].contains("over the limit"), "{:?}", d.warnings);

        // Many nested archives: each fits, together they exhaust the budget. They are
        // stored, not deflated, so that reading one costs its full 1 MiB.
        let stored = |entries: &[(&str, &[u8])]| {
            let mut w = ZipWriter::new(Cursor::new(Vec::new()));
            let opts = SimpleFileOptions::default().compression_method(CompressionMethod::Stored);
            for (name, data) in entries {
                w.start_file(*name, opts).unwrap_or_else(|e| panic!("{e}"));
                w.write_all(data).unwrap_or_else(|e| panic!("{e}"));
            }
            w.finish().unwrap_or_else(|e| panic!("{e}")).into_inner()
        };
        let small = stored(&[(&pom_path("g", "s"), &pom("g", "s", "1")), ("pad.bin", &zeros[..1 << 20])]);
        let names: Vec<String> = (0..8).map(|i| format!("lib/s{i}.jar")).collect();
        let entries: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), small.as_slice())).collect();
        let d = scan_with(&limits, "/many.jar", &stored(&entries));
        // 3 MiB of budget: two 1 MiB jars, then the rest are refused.
        assert_eq!(d.packages.len(), 2, "{:?}", d.warnings);
        assert_eq!(d.warnings.len(), 6, "{:?}", d.warnings);
    }

    #[test]
    fn lying_sizes_are_caught_by_the_read_cap() {
        let big = vec![b'a'; 256 << 10];
        let mut jar = zip(&[(&pom_path("g", "liar"), &big)]);
        // Claim 10 bytes uncompressed in both the local header and the directory.
        let claim = 10u32.to_le_bytes();
        jar[22..26].copy_from_slice(&claim);
        let cd = memchr::memmem::find(&jar, b"PK\x01\x02").unwrap_or_else(|| panic!("no CD"));
        jar[cd + 24..cd + 28].copy_from_slice(&claim);
        let limits = Limits { max_depth: 4, total: 1 << 20, nested: 1 << 20, meta: 1 << 10 };
        let d = scan_with(&limits, "/liar.jar", &jar);
        assert!(d.packages.is_empty());
        assert_eq!(d.warnings.len(), 1, "{:?}", d.warnings);
    }

    #[test]
    fn garbage_is_an_error_or_a_warning_never_a_panic() {
        assert!(JavaArchive.detect(&FileInput { path: "/a.jar", mode: 0o644, data: b"not a zip at all" }).is_err());
        let good = zip(&[
            (&pom_path("g", "a"), &pom("g", "a", "1")),
            ("lib/bad.jar", b"PK\x03\x04 garbage"),
            ("lib/empty.jar", b""),
        ]);
        let d = detect("/a.jar", &good);
        assert_eq!(d.packages.len(), 1);
        assert_eq!(d.warnings.len(), 2, "{:?}", d.warnings);
        // Every truncation of a valid jar: an error or a result, no panic.
        for cut in 0..good.len() {
            let _ = JavaArchive.detect(&FileInput { path: "/a.jar", mode: 0o644, data: &good[..cut] });
        }
        // A broken pom.properties is a warning; the archive's other metadata still counts.
        let jar = zip(&[
            (&pom_path("g", "nover"), b"groupId=g\nartifactId=nover\n"),
            (&pom_path("g", "noart"), b"\xff\xfe garbage"),
        ]);
        let d = detect("/b.jar", &jar);
        assert!(d.packages.is_empty());
        assert_eq!(d.warnings.len(), 2, "{:?}", d.warnings);
    }

    #[test]
    fn file_names_split_like_syft() {
        let f = |s: &str| {
            let f = FileName::parse(s);
            (f.name, f.version)
        };
        let s = |a: &str, b: &str| (a.to_string(), b.to_string());
        assert_eq!(f("spring-core-5.3.1.jar"), s("spring-core", "5.3.1"));
        assert_eq!(f("pkg-extra-field-4.3-rc-1.jar"), s("pkg-extra-field", "4.3-rc-1"));
        assert_eq!(f("log4j-1.2-api.jar"), s("log4j", "1.2-api"));
        assert_eq!(f("jackson-core.jar"), s("jackson-core", ""));
        assert_eq!(f("1.0.jar"), s("1.0", ""));
        assert_eq!(f("-1.jar"), s("-1", ""));
        assert_eq!(f("noext"), s("noext", ""));
        assert_eq!(f(".jar"), s(".jar", ""));
    }

    #[test]
    fn properties_syntax() {
        let p = parse_pom_properties("! c\n  groupId : g.h\nartifactId a\nversion=1=2\nversion=3\n");
        assert_eq!(p, Ok(PomProperties { group: "g.h".into(), artifact: "a".into(), version: "1=2".into() }));
        assert!(parse_pom_properties("groupId=g\nartifactId=\nversion=1").is_err());
    }

    /// A hostile jar holding 50k distinct pom.properties: de-duplicating them must not be
    /// quadratic (it took minutes).
    #[test]
    fn many_pom_properties_are_linear() {
        let mut w = ZipWriter::new(Cursor::new(Vec::new()));
        let opts = SimpleFileOptions::default().compression_method(CompressionMethod::Stored);
        for i in 0..50_000 {
            w.start_file(pom_path("g", &format!("a{i}")), opts).unwrap_or_else(|e| panic!("{e}"));
            w.write_all(&pom("g", &format!("a{i}"), "1")).unwrap_or_else(|e| panic!("{e}"));
        }
        // The same artifact twice is still one package.
        w.start_file(pom_path("g2", "a7"), opts).unwrap_or_else(|e| panic!("{e}"));
        w.write_all(&pom("g", "a7", "1")).unwrap_or_else(|e| panic!("{e}"));
        let data = w.finish().unwrap_or_else(|e| panic!("{e}")).into_inner();
        let start = std::time::Instant::now();
        let d = detect("/app/fat.jar", &data);
        assert_eq!(d.packages.len(), 50_000);
        assert!(start.elapsed().as_secs() < 5, "{:?}", start.elapsed());
    }

    #[test]
    fn matches_archive_suffixes() {
        for p in ["/a/b.jar", "/a/B.JAR", "/x.war", "/x.ear", "/p.hpi", "/p.jpi", "/x.nar", "/x.sar", "/x.par"] {
            assert!(JavaArchive.matches(p, 0o644), "{p}");
        }
        for p in ["/a/b.jar.sha1", "/jar", "/a/.jar", ".jar", "/a/b.zip", "/é"] {
            assert!(!JavaArchive.matches(p, 0o644), "{p}");
        }
    }
}
