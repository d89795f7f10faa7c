//! Python packages.
//!
//! - Installed distributions: `*.dist-info/METADATA` (wheels), `*.egg-info/PKG-INFO` and
//!   `*.egg-info` as a plain file (setuptools eggs). All three use the core-metadata format:
//!   RFC 822-style `Field: value` headers up to the first blank line, then the description.
//! - Declared dependencies: pip `requirements*.txt` pins, Poetry `poetry.lock`, Pipenv
//!   `Pipfile.lock` and uv `uv.lock`.
//!
//! Names are lowercased, as Syft reports them (`Django` → `django`); versions are kept exactly
//! as written (`3.2` stays `3.2`).

use super::{file_name, sane, utf8, Collector, Detector};
use crate::model::{DetectError, Detection, FileInput, Package, PackageType};
use serde::Deserialize;
use std::collections::BTreeMap;

/// Lockfiles of big projects run to a few MiB; anything past this is not a lockfile.
const LOCK_MAX_SIZE: u64 = 64 << 20;

/// pip and Pipenv accept a UTF-8 byte-order mark (Windows editors write one); parsers do not.
fn strip_bom(data: &[u8]) -> &[u8] {
    data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(data)
}

/// Python package names compare case-insensitively; Syft reports them lowercased.
fn normalize_name(name: &str) -> String {
    name.trim().to_ascii_lowercase()
}

/// `dir` (a path or a name) ends with `suffix`, ignoring ASCII case. No allocation.
fn ends_with_ci(dir: &str, suffix: &str) -> bool {
    dir.len() >= suffix.len() && dir.as_bytes()[dir.len() - suffix.len()..].eq_ignore_ascii_case(suffix.as_bytes())
}

/// A TOML error without the multi-line snippet the `Display` impl draws.
fn toml_error(text: &str, e: &toml::de::Error) -> DetectError {
    let line =
        e.span().map(|s| text.as_bytes().get(..s.start).map_or(0, |b| memchr::memchr_iter(b'\n', b).count()) + 1);
    match line {
        Some(line) => DetectError::malformed(format!("TOML line {line}: {}", e.message())),
        None => DetectError::malformed(format!("TOML: {}", e.message())),
    }
}

// ---------------------------------------------------------------------------------------------
// Installed distributions

pub struct PythonInstalled;

/// `S_IFMT` and the two file types we care about, for modes that carry the type bits.
const S_IFMT: u32 = 0o170_000;
const S_IFREG: u32 = 0o100_000;

impl Detector for PythonInstalled {
    fn name(&self) -> &'static str {
        "python-installed"
    }

    fn matches(&self, path: &str, mode: u32) -> bool {
        let Some((dir, name)) = path.rsplit_once('/') else {
            return false;
        };
        match name {
            // Syft also accepts upper-case `DIST-INFO` / `EGG-INFO` (zipped eggs unpacked).
            "METADATA" => ends_with_ci(dir, "dist-info"),
            "PKG-INFO" => ends_with_ci(dir, "egg-info"),
            // Old setuptools and distutils wrote the metadata as a single file named like
            // the directory would be; a directory of that name is handled via PKG-INFO.
            _ => name.ends_with(".egg-info") && (mode & S_IFMT == 0 || mode & S_IFMT == S_IFREG),
        }
    }

    fn detect(&self, file: &FileInput<'_>) -> Result<Detection, DetectError> {
        // The description after the headers may be in any encoding; the headers are ASCII
        // in practice, so decode lossily rather than refuse the file.
        let text = String::from_utf8_lossy(strip_bom(file.data));
        let meta = parse_core_metadata(&text);
        let name = meta.name.as_deref().map(str::trim).unwrap_or("");
        if name.is_empty() {
            return Err(DetectError::malformed("no Name field"));
        }
        // `Python-2.7.egg-info` in lib-dynload describes the interpreter, not a package.
        if name.eq_ignore_ascii_case("python") {
            return Ok(Detection::default());
        }
        let version = match meta.version.as_deref().map(str::trim) {
            Some(v) if !v.is_empty() => v,
            // pip names the directory `{name}-{version}.dist-info`, setuptools
            // `{name}-{version}-py3.11.egg-info`: good enough when the field is missing.
            _ => version_from_dir_name(file.path)
                .ok_or_else(|| DetectError::malformed(format!("package {name} has no Version")))?,
        };
        let lname = normalize_name(name);
        if !sane(&lname) || !sane(version) {
            return Err(DetectError::malformed(format!("bad name or version {name:?} {version:?}")));
        }
        let mut pkg = Package::new(PackageType::Python, lname, version, file.path);
        pkg.licenses = meta.licenses();
        Ok(Detection::packages(vec![pkg]))
    }
}

/// The core-metadata header fields we use.
#[derive(Debug, Default)]
struct CoreMetadata {
    name: Option<String>,
    version: Option<String>,
    license: Option<String>,
    license_expression: Option<String>,
    classifiers: Vec<String>,
}

fn parse_core_metadata(text: &str) -> CoreMetadata {
    let mut meta = CoreMetadata::default();
    // Whether a continuation line belongs to `License`, the one field read across lines.
    let mut in_license = false;
    let mut started = false;
    for line in text.lines() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.trim().is_empty() {
            // The headers end at the first blank line; the description follows.
            if started {
                break;
            }
            continue;
        }
        if line.starts_with(' ') || line.starts_with('\t') {
            if in_license {
                if let Some(l) = meta.license.as_mut() {
                    l.push('\n');
                    l.push_str(line.trim());
                }
            }
            continue;
        }
        in_license = false;
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        started = true;
        let value = value.trim();
        let key = key.trim();
        if key.eq_ignore_ascii_case("Name") {
            meta.name.get_or_insert_with(|| value.to_string());
        } else if key.eq_ignore_ascii_case("Version") {
            meta.version.get_or_insert_with(|| value.to_string());
        } else if key.eq_ignore_ascii_case("License") {
            meta.license = Some(value.to_string());
            in_license = true;
        } else if key.eq_ignore_ascii_case("License-Expression") {
            meta.license_expression = Some(value.to_string());
        } else if key.eq_ignore_ascii_case("Classifier") {
            if let Some(rest) = value.strip_prefix("License ::") {
                meta.classifiers.push(rest.trim().to_string());
            }
        }
    }
    meta
}

impl CoreMetadata {
    /// `License-Expression` (PEP 639) if given, else a short `License` field, else the
    /// license classifiers, mapped to SPDX ids where the classifier names one license.
    fn licenses(&self) -> Vec<String> {
        if let Some(expr) = self.license_expression.as_deref().map(str::trim) {
            if !expr.is_empty() {
                return vec![expr.to_string()];
            }
        }
        if let Some(lic) = self.license.as_deref().map(str::trim) {
            // Many packages paste the whole license text into `License`; that is not a name.
            let usable = !lic.is_empty()
                && !lic.contains('\n')
                && lic.len() <= 100
                && !lic.eq_ignore_ascii_case("UNKNOWN")
                && !lic.eq_ignore_ascii_case("None");
            if usable {
                return vec![lic.to_string()];
            }
        }
        let mut out: Vec<String> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for c in &self.classifiers {
            // `OSI Approved :: MIT License` → `MIT License`; a bare `OSI Approved` says nothing.
            let last = c.rsplit("::").next().unwrap_or(c).trim();
            if last.is_empty() || last == "OSI Approved" {
                continue;
            }
            let lic = classifier_spdx(last).unwrap_or(last);
            if seen.insert(lic) {
                out.push(lic.to_string());
            }
        }
        out
    }
}

/// SPDX id for a trove license classifier that names exactly one license. Classifiers such
/// as `BSD License` or `Apache Software License` name a family, not a version, and are
/// reported as written.
fn classifier_spdx(classifier: &str) -> Option<&'static str> {
    const TABLE: &[(&str, &str)] = &[
        ("MIT License", "MIT"),
        ("MIT No Attribution License (MIT-0)", "MIT-0"),
        ("ISC License (ISCL)", "ISC"),
        ("Mozilla Public License 1.1 (MPL 1.1)", "MPL-1.1"),
        ("Mozilla Public License 2.0 (MPL 2.0)", "MPL-2.0"),
        ("GNU General Public License v2 (GPLv2)", "GPL-2.0-only"),
        ("GNU General Public License v2 or later (GPLv2+)", "GPL-2.0-or-later"),
        ("GNU General Public License v3 (GPLv3)", "GPL-3.0-only"),
        ("GNU General Public License v3 or later (GPLv3+)", "GPL-3.0-or-later"),
        ("GNU Lesser General Public License v2 (LGPLv2)", "LGPL-2.0-only"),
        ("GNU Lesser General Public License v2 or later (LGPLv2+)", "LGPL-2.0-or-later"),
        ("GNU Lesser General Public License v3 (LGPLv3)", "LGPL-3.0-only"),
        ("GNU Lesser General Public License v3 or later (LGPLv3+)", "LGPL-3.0-or-later"),
        ("GNU Affero General Public License v3", "AGPL-3.0-only"),
        ("GNU Affero General Public License v3 or later (AGPLv3+)", "AGPL-3.0-or-later"),
        ("Python Software Foundation License", "PSF-2.0"),
        ("The Unlicense (Unlicense)", "Unlicense"),
        ("zlib/libpng License", "Zlib"),
        ("Boost Software License 1.0 (BSL-1.0)", "BSL-1.0"),
        ("Eclipse Public License 2.0 (EPL-2.0)", "EPL-2.0"),
        ("European Union Public Licence 1.2 (EUPL 1.2)", "EUPL-1.2"),
        ("Universal Permissive License (UPL)", "UPL-1.0"),
        ("CC0 1.0 Universal (CC0 1.0) Public Domain Dedication", "CC0-1.0"),
    ];
    TABLE.iter().find(|(c, _)| *c == classifier).map(|(_, spdx)| *spdx)
}

/// The version part of `Django-3.2.dist-info/METADATA` or `six-1.16.0-py3.11.egg-info`.
fn version_from_dir_name(path: &str) -> Option<&str> {
    let name = file_name(path);
    // For `.../x.dist-info/METADATA` and `.../x.egg-info/PKG-INFO` the directory names it.
    let dir = if name == "METADATA" || name == "PKG-INFO" { file_name(path.rsplit_once('/')?.0) } else { name };
    let stem = [".dist-info", ".egg-info"]
        .iter()
        .find(|suffix| ends_with_ci(dir, suffix))
        .and_then(|suffix| dir.get(..dir.len() - suffix.len()))?;
    // Both tools escape `-` in the name as `_`, so the version is the second `-` field.
    let version = stem.split('-').nth(1)?;
    (!version.is_empty()).then_some(version)
}

// ---------------------------------------------------------------------------------------------
// requirements.txt

pub struct PythonRequirements;

impl Detector for PythonRequirements {
    fn name(&self) -> &'static str {
        "python-requirements"
    }

    fn declared(&self) -> bool {
        true
    }

    fn matches(&self, path: &str, _mode: u32) -> bool {
        // Syft's glob is `*requirements*.txt`: `requirements-dev.txt`, `test-requirements.txt`.
        let name = file_name(path);
        name.ends_with(".txt") && name.contains("requirements")
    }

    fn detect(&self, file: &FileInput<'_>) -> Result<Detection, DetectError> {
        let text = utf8(strip_bom(file.data))?;
        let mut out = Collector::new(PackageType::Python).normalizing(normalize_name);
        // pip joins `\`-continued lines before anything else.
        let mut logical = String::new();
        let mut first_line = 0;
        for (i, line) in text.lines().enumerate() {
            let line = line.strip_suffix('\r').unwrap_or(line);
            if logical.is_empty() {
                first_line = i + 1;
            }
            if let Some(head) = line.strip_suffix('\\') {
                logical.push_str(head);
                logical.push(' ');
                continue;
            }
            logical.push_str(line);
            requirement_line(&logical, first_line, file.path, &mut out);
            logical.clear();
        }
        if !logical.is_empty() {
            requirement_line(&logical, first_line, file.path, &mut out);
        }
        Ok(out.det)
    }
}

/// One logical line of a requirements file: report it if it pins `name==version`.
fn requirement_line(line: &str, lineno: usize, path: &str, out: &mut Collector) {
    // A comment starts at `#` at the start of the line or after whitespace; a `#` inside a
    // URL (`#egg=`) is not one.
    let mut line = line;
    let bytes = line.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'#' && (i == 0 || bytes[i - 1].is_ascii_whitespace()) {
            line = &line[..i];
            break;
        }
    }
    let line = line.trim();
    // Options (`-r other.txt`, `-e .`, `--index-url`, `--hash` on its own line).
    if line.is_empty() || line.starts_with('-') {
        return;
    }
    // Per-requirement options (`--hash=sha256:…`) follow the requirement after whitespace.
    let bytes = line.as_bytes();
    let line = match (1..bytes.len()).find(|&i| bytes[i] == b'-' && bytes[i - 1].is_ascii_whitespace()) {
        Some(i) => &line[..i],
        None => line,
    };
    // Environment markers: `foo==1.0 ; python_version < "3.8"` still pins foo.
    let req = line.split(';').next().unwrap_or(line).trim();
    // Direct references (`name @ https://…`), paths and URLs name no version.
    if req.contains('@') || req.contains("://") || req.starts_with('.') || req.starts_with('/') {
        return;
    }
    let name_end =
        req.find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))).unwrap_or(req.len());
    let name = &req[..name_end];
    let mut rest = req[name_end..].trim_start();
    // Extras: `requests[security]==2.19.1`.
    if let Some(after) = rest.strip_prefix('[') {
        match after.find(']') {
            Some(i) => rest = after[i + 1..].trim_start(),
            None => {
                out.warn(format!("line {lineno}: unclosed extras in {req:?}"));
                return;
            }
        }
    }
    // `===` is PEP 440 arbitrary equality, also an exact pin.
    let Some(version) = rest.strip_prefix("===").or_else(|| rest.strip_prefix("==")).map(str::trim) else {
        // Ranges (`>=`, `~=`) and bare names are not pins.
        return;
    };
    if name.is_empty() {
        out.warn(format!("line {lineno}: cannot read requirement {req:?}"));
        return;
    }
    // `==1.*` and `==1.0,<2` are ranges, `${VERSION}` is unexpanded: not a pin.
    if version.is_empty() || version.contains(['*', ',', '<', '>', '!', '=', '~', '$']) {
        return;
    }
    out.add(name, version, Vec::new(), path, &format!("line {lineno}"));
}

// ---------------------------------------------------------------------------------------------
// poetry.lock

pub struct PoetryLock;

#[derive(Deserialize)]
struct TomlLock {
    #[serde(default)]
    package: Vec<toml::Table>,
}

impl Detector for PoetryLock {
    fn name(&self) -> &'static str {
        "poetry-lock"
    }

    fn declared(&self) -> bool {
        true
    }

    fn matches(&self, path: &str, _mode: u32) -> bool {
        file_name(path) == "poetry.lock"
    }

    fn max_size(&self) -> u64 {
        LOCK_MAX_SIZE
    }

    fn detect(&self, file: &FileInput<'_>) -> Result<Detection, DetectError> {
        let text = utf8(strip_bom(file.data))?;
        let lock: TomlLock = toml::from_str(text).map_err(|e| toml_error(text, &e))?;
        let mut out = Collector::new(PackageType::Python).normalizing(normalize_name);
        for (i, p) in lock.package.iter().enumerate() {
            let name = p.get("name").and_then(toml::Value::as_str);
            let version = p.get("version").and_then(toml::Value::as_str);
            match (name, version) {
                (Some(n), Some(v)) => out.add(n, v, Vec::new(), file.path, &format!("package {}", i + 1)),
                _ => out.warn(format!("package {}: no name or version", i + 1)),
            }
        }
        Ok(out.det)
    }
}

// ---------------------------------------------------------------------------------------------
// uv.lock

pub struct UvLock;

impl Detector for UvLock {
    fn name(&self) -> &'static str {
        "uv-lock"
    }

    fn declared(&self) -> bool {
        true
    }

    fn matches(&self, path: &str, _mode: u32) -> bool {
        file_name(path) == "uv.lock"
    }

    fn max_size(&self) -> u64 {
        LOCK_MAX_SIZE
    }

    fn detect(&self, file: &FileInput<'_>) -> Result<Detection, DetectError> {
        let text = utf8(strip_bom(file.data))?;
        let lock: TomlLock = toml::from_str(text).map_err(|e| toml_error(text, &e))?;
        let mut out = Collector::new(PackageType::Python).normalizing(normalize_name);
        for (i, p) in lock.package.iter().enumerate() {
            let Some(name) = p.get("name").and_then(toml::Value::as_str) else {
                out.warn(format!("package {}: no name", i + 1));
                continue;
            };
            // `source = { editable = "." }` / `{ virtual = "." }` is the project itself or a
            // workspace member: its own code, not a dependency.
            let local = p
                .get("source")
                .and_then(toml::Value::as_table)
                .is_some_and(|s| s.contains_key("editable") || s.contains_key("virtual"));
            if local {
                continue;
            }
            match p.get("version") {
                Some(toml::Value::String(version)) => {
                    out.add(name, version, Vec::new(), file.path, &format!("package {name}"));
                }
                // uv leaves out `version` only for projects with a dynamic version.
                None => {}
                Some(_) => out.warn(format!("package {name}: version is not a string")),
            }
        }
        Ok(out.det)
    }
}

// ---------------------------------------------------------------------------------------------
// Pipfile.lock

pub struct PipfileLock;

/// One entry of a map, or whatever else stood there (kept apart so one odd entry does
/// not fail the whole file).
#[derive(Deserialize)]
#[serde(untagged)]
enum Lenient<T> {
    Ok(T),
    Bad(serde::de::IgnoredAny),
}

#[derive(Deserialize)]
struct PipfileLockFile {
    #[serde(default)]
    default: BTreeMap<String, Lenient<PipfileEntry>>,
    #[serde(default)]
    develop: BTreeMap<String, Lenient<PipfileEntry>>,
}

#[derive(Deserialize)]
struct PipfileEntry {
    version: Option<serde_json::Value>,
}

impl Detector for PipfileLock {
    fn name(&self) -> &'static str {
        "pipfile-lock"
    }

    fn declared(&self) -> bool {
        true
    }

    fn matches(&self, path: &str, _mode: u32) -> bool {
        file_name(path) == "Pipfile.lock"
    }

    fn max_size(&self) -> u64 {
        LOCK_MAX_SIZE
    }

    fn detect(&self, file: &FileInput<'_>) -> Result<Detection, DetectError> {
        let lock: PipfileLockFile = serde_json::from_slice(strip_bom(file.data))?;
        let mut out = Collector::new(PackageType::Python).normalizing(normalize_name);
        for (section, entries) in [("default", &lock.default), ("develop", &lock.develop)] {
            for (name, entry) in entries {
                let Lenient::Ok(entry) = entry else {
                    out.warn(format!("{section}.{name}: not an object"));
                    continue;
                };
                match entry.version.as_ref() {
                    Some(serde_json::Value::String(v)) => {
                        let v = v.strip_prefix("===").or_else(|| v.strip_prefix("=="));
                        match v {
                            Some(v) => out.add(name, v, Vec::new(), file.path, &format!("{section}.{name}")),
                            None => out.warn(format!("{section}.{name}: version is not ==")),
                        }
                    }
                    // Editable, path and VCS entries carry no version.
                    None => {}
                    Some(_) => out.warn(format!("{section}.{name}: version is not a string")),
                }
            }
        }
        Ok(out.det)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn run(d: &dyn Detector, path: &str, text: &str) -> Detection {
        assert!(d.matches(path, 0o100644), "{} should match {path}", d.name());
        d.detect(&FileInput { path, mode: 0o644, data: text.as_bytes() }).unwrap()
    }

    fn nv(d: &Detection) -> Vec<(&str, &str)> {
        d.packages.iter().map(|p| (p.name.as_str(), p.version.as_str())).collect()
    }

    // -- installed ---------------------------------------------------------------------------

    const DJANGO_METADATA: &str = "Metadata-Version: 2.1\n\
Name: Django\n\
Version: 3.2\n\
Summary: A high-level Python Web framework that encourages rapid development and clean, pragmatic design.\n\
Home-page: https://www.djangoproject.com/\n\
Author: Django Software Foundation\n\
Author-email: foundation@djangoproject.com\n\
License: BSD-3-Clause\n\
Project-URL: Documentation, https://docs.djangoproject.com/\n\
Platform: any\n\
Classifier: Development Status :: 5 - Production/Stable\n\
Classifier: License :: OSI Approved :: BSD License\n\
Requires-Python: >=3.6\n\
Requires-Dist: asgiref (<4,>=3.3.2)\n\
Requires-Dist: pytz\n\
Requires-Dist: sqlparse (>=0.2.2)\n\
Provides-Extra: argon2\n\
\n\
======\n\
Django\n\
======\n\
\n\
Name: not-a-header\n";

    #[test]
    fn dist_info_metadata() {
        let path = "/usr/local/lib/python3.11/dist-packages/Django-3.2.dist-info/METADATA";
        let d = run(&PythonInstalled, path, DJANGO_METADATA);
        assert_eq!(nv(&d), [("django", "3.2")]);
        assert_eq!(d.packages[0].licenses, ["BSD-3-Clause"]);
        assert_eq!(d.packages[0].location.path, path);
        assert_eq!(d.packages[0].kind, PackageType::Python);
    }

    #[test]
    fn license_expression_wins_and_classifiers_are_the_fallback() {
        let path = "/usr/lib/python3/site-packages/attrs-24.2.0.dist-info/METADATA";
        let d = run(
            &PythonInstalled,
            path,
            "Metadata-Version: 2.4\nName: attrs\nVersion: 24.2.0\nLicense: MIT\nLicense-Expression: MIT\nLicense-File: LICENSE\n",
        );
        assert_eq!(d.packages[0].licenses, ["MIT"]);

        // `License: UNKNOWN` (old setuptools) and license text pasted into `License`.
        let d = run(
            &PythonInstalled,
            "/usr/lib/python3/dist-packages/PyYAML-5.3.1.dist-info/METADATA",
            "Metadata-Version: 2.1\r\nName: PyYAML\r\nVersion: 5.3.1\r\nLicense: UNKNOWN\r\nClassifier: License :: OSI Approved :: MIT License\r\nClassifier: Programming Language :: Python\r\n\r\nYAML\r\n",
        );
        assert_eq!(nv(&d), [("pyyaml", "5.3.1")]);
        assert_eq!(d.packages[0].licenses, ["MIT"]);

        let d = run(
            &PythonInstalled,
            "/usr/lib/python3/dist-packages/foo-1.0.dist-info/METADATA",
            "Metadata-Version: 2.1\nName: foo\nVersion: 1.0\nLicense: Copyright (c) 2020 Someone\n        Permission is hereby granted, free of charge...\n        THE SOFTWARE IS PROVIDED \"AS IS\"\nClassifier: License :: OSI Approved :: BSD License\nClassifier: License :: OSI Approved :: Mozilla Public License 2.0 (MPL 2.0)\nClassifier: License :: OSI Approved\n",
        );
        assert_eq!(d.packages[0].licenses, ["BSD License", "MPL-2.0"]);
    }

    #[test]
    fn egg_info_directory_and_plain_file() {
        let pkg_info = "Metadata-Version: 1.1\nName: six\nVersion: 1.16.0\nSummary: Python 2 and 3 compatibility utilities\nLicense: MIT\nDescription: UNKNOWN\nPlatform: UNKNOWN\n";
        let d = run(&PythonInstalled, "/usr/lib/python3/dist-packages/six-1.16.0.egg-info/PKG-INFO", pkg_info);
        assert_eq!(nv(&d), [("six", "1.16.0")]);
        let d = run(&PythonInstalled, "/usr/lib/python3/dist-packages/six-1.16.0-py3.11.egg-info", pkg_info);
        assert_eq!(nv(&d), [("six", "1.16.0")]);
        // Zipped eggs unpacked: `foo.egg/EGG-INFO/PKG-INFO`.
        assert!(PythonInstalled.matches("/usr/lib/python2.7/site-packages/foo-1.0-py2.7.egg/EGG-INFO/PKG-INFO", 0o644));
        // A directory named `*.egg-info` is not the plain-file form.
        assert!(!PythonInstalled.matches("/usr/lib/python3/x-1.0.egg-info", 0o040755));
        assert!(!PythonInstalled.matches("/usr/lib/python3/x-1.0.dist-info/RECORD", 0o644));
        assert!(!PythonInstalled.matches("/usr/share/doc/METADATA", 0o644));
    }

    #[test]
    fn python_runtime_egg_info_is_skipped() {
        let d = run(
            &PythonInstalled,
            "/usr/lib/python2.7/lib-dynload/Python-2.7.egg-info",
            "Metadata-Version: 1.0\nName: Python\nVersion: 2.7.18\nLicense: PSF license\n",
        );
        assert!(d.packages.is_empty());
    }

    #[test]
    fn installed_malformed() {
        let path = "/usr/lib/python3/dist-packages/partial.dist-info/METADATA";
        let err = PythonInstalled
            .detect(&FileInput { path, mode: 0o644, data: b"Metadata-Version: 2.1\nSummary: no name here\n" })
            .unwrap_err();
        assert!(err.to_string().contains("Name"), "{err}");
        // Binary garbage: no panic, a clear error.
        assert!(PythonInstalled
            .detect(&FileInput { path, mode: 0o644, data: &[0xff, 0xfe, 0, 1, b'\n', b':', 0x80] })
            .is_err());
        // No Version field: taken from the directory name.
        let d = run(
            &PythonInstalled,
            "/usr/lib/python3/dist-packages/zope.interface-5.4.0.dist-info/METADATA",
            "Name: zope.interface\n",
        );
        assert_eq!(nv(&d), [("zope.interface", "5.4.0")]);
        let err = PythonInstalled.detect(&FileInput { path, mode: 0o644, data: b"Name: x\n" }).unwrap_err();
        assert!(err.to_string().contains("no Version"), "{err}");
        assert_eq!(version_from_dir_name("/a/b-.egg-info"), None);
        assert_eq!(version_from_dir_name("/a/.egg-info"), None);
        assert_eq!(version_from_dir_name("/a/x"), None);
    }

    // -- requirements.txt ---------------------------------------------------------------------

    #[test]
    fn requirements_pins_only() {
        let text = "\
# Production dependencies
-r base.txt
-c constraints.txt
--index-url https://pypi.org/simple
-e git+https://github.com/org/proj.git#egg=proj
requests==2.19.1
urllib3==1.24.1  # pinned for CVE-2019-11236 fix later
Django==3.2.0
Jinja2 == 2.10
requests[security,socks]==2.19.1
PyYAML==5.3.1 ; python_version >= \"3.6\"
cryptography==3.3.2 \\
    --hash=sha256:0d7b69674b738068fa6ffade5c962ecd14969690585aaca0a1b1fc9058938a72 \\
    --hash=sha256:1bd0ccb0a1ed775cd7e2144fe46df9dc03eefd722bbcf587b3e0616ea4a81eff
flask>=0.12
click~=7.1
numpy==1.*
six==1.16.0,<2
pkg @ https://example.com/pkg-1.0.tar.gz
./local/path
https://example.com/other-2.0.whl
attrs===21.4.0
typing_extensions==4.0.0
";
        let d = run(&PythonRequirements, "/app/requirements.txt", text);
        assert_eq!(
            nv(&d),
            [
                ("requests", "2.19.1"),
                ("urllib3", "1.24.1"),
                ("django", "3.2.0"),
                ("jinja2", "2.10"),
                ("pyyaml", "5.3.1"),
                ("cryptography", "3.3.2"),
                ("attrs", "21.4.0"),
                ("typing_extensions", "4.0.0"),
            ]
        );
        assert!(d.warnings.is_empty(), "{:?}", d.warnings);
    }

    #[test]
    fn requirements_matching_and_malformed() {
        assert!(PythonRequirements.matches("/app/requirements-dev.txt", 0o644));
        assert!(PythonRequirements.matches("/src/test-requirements.txt", 0o644));
        assert!(!PythonRequirements.matches("/app/requirements.in", 0o644));
        assert!(!PythonRequirements.matches("/usr/lib/x.egg-info/requires.txt", 0o644));
        let d = run(&PythonRequirements, "/app/requirements.txt", "==1.0\nfoo[bar==1.0\nok==1.0\n\\");
        assert_eq!(nv(&d), [("ok", "1.0")]);
        assert_eq!(d.warnings.len(), 2, "{:?}", d.warnings);
        assert!(PythonRequirements
            .detect(&FileInput { path: "/app/requirements.txt", mode: 0o644, data: b"\xff\xfe" })
            .is_err());
    }

    // -- poetry.lock --------------------------------------------------------------------------

    #[test]
    fn poetry_lock() {
        let text = r#"# This file is automatically @generated by Poetry 1.8.3 and should not be changed by hand.

[[package]]
name = "certifi"
version = "2024.8.30"
description = "Python package for providing Mozilla's CA Bundle."
optional = false
python-versions = ">=3.6"
files = [
    {file = "certifi-2024.8.30-py3-none-any.whl", hash = "sha256:922820b53db7a7257ffbda3f597266d435245903d80737e34f8a45ff3e3230d8"},
    {file = "certifi-2024.8.30.tar.gz", hash = "sha256:bec941d2aa8195e248a60b31ff9f0558284cf01a52591ceda73ea9afffd69fd9"},
]

[[package]]
name = "Django"
version = "3.2"
description = "A high-level Python Web framework that encourages rapid development and clean, pragmatic design."
optional = false
python-versions = ">=3.6"
files = []

[package.dependencies]
asgiref = ">=3.3.2,<4"
pytz = "*"

[package.extras]
argon2 = ["argon2-cffi (>=19.1.0)"]

[[package]]
name = "mylib"
version = "0.1.0"
description = ""
optional = false
python-versions = "^3.11"
files = []
develop = true

[package.source]
type = "directory"
url = "libs/mylib"

[metadata]
lock-version = "2.0"
python-versions = "^3.11"
content-hash = "0a1b2c3d"
"#;
        let d = run(&PoetryLock, "/app/poetry.lock", text);
        assert_eq!(nv(&d), [("certifi", "2024.8.30"), ("django", "3.2"), ("mylib", "0.1.0")]);
    }

    #[test]
    fn poetry_lock_malformed() {
        let d = run(
            &PoetryLock,
            "/app/poetry.lock",
            "[[package]]\nname = \"a\"\nversion = \"1\"\n\n[[package]]\nname = \"b\"\nversion = 2\n",
        );
        assert_eq!(nv(&d), [("a", "1")]);
        assert_eq!(d.warnings.len(), 1);
        let err = PoetryLock
            .detect(&FileInput {
                path: "/app/poetry.lock",
                mode: 0o644,
                data: b"[[package]]\nname = \"a\"\nversion = \n",
            })
            .unwrap_err();
        assert!(err.to_string().starts_with("TOML line 3"), "{err}");
        assert!(PoetryLock
            .detect(&FileInput { path: "/app/poetry.lock", mode: 0o644, data: b"package = 5\n" })
            .is_err());
    }

    // -- uv.lock ------------------------------------------------------------------------------

    #[test]
    fn uv_lock() {
        let text = r#"version = 1
revision = 2
requires-python = ">=3.12"

[[package]]
name = "certifi"
version = "2024.8.30"
source = { registry = "https://pypi.org/simple" }
sdist = { url = "https://files.pythonhosted.org/packages/b0/ee/9b19140fe824b367c04c5e1b369942dd754c4c5462d5674002f75c4dedc1/certifi-2024.8.30.tar.gz", hash = "sha256:bec941d2aa8195e248a60b31ff9f0558284cf01a52591ceda73ea9afffd69fd9", size = 168507 }
wheels = [
    { url = "https://files.pythonhosted.org/packages/12/90/3c9ff0512038035f59d279fddeb79f5f1eccd8859f06d6163c58798b9487/certifi-2024.8.30-py3-none-any.whl", hash = "sha256:922820b53db7a7257ffbda3f597266d435245903d80737e34f8a45ff3e3230d8", size = 167321 },
]

[[package]]
name = "my-project"
version = "0.1.0"
source = { editable = "." }
dependencies = [
    { name = "certifi" },
    { name = "pyyaml" },
]

[package.metadata]
requires-dist = [
    { name = "certifi", specifier = ">=2024" },
    { name = "pyyaml", specifier = ">=6" },
]

[[package]]
name = "pyyaml"
version = "6.0.2"
source = { registry = "https://pypi.org/simple" }
sdist = { url = "https://files.pythonhosted.org/packages/54/ed/79a089b6be93607fa5cdaedf301d7dfb23af5f25c398d5ead2525b063e17/pyyaml-6.0.2.tar.gz", hash = "sha256:d584d9ec91ad65861cc08d42e834324ef890a082e591037abe114850ff7bbc3e", size = 130631 }

[[package]]
name = "tools"
source = { virtual = "tools" }

[[package]]
name = "gitdep"
version = "0.3.0"
source = { git = "https://github.com/org/gitdep?rev=main#4f5e6d7c8b9a" }
"#;
        let d = run(&UvLock, "/app/uv.lock", text);
        assert_eq!(nv(&d), [("certifi", "2024.8.30"), ("pyyaml", "6.0.2"), ("gitdep", "0.3.0")]);
        assert!(d.warnings.is_empty());
        assert!(UvLock.detect(&FileInput { path: "/app/uv.lock", mode: 0o644, data: b"[[package]\n" }).is_err());
        let d = run(
            &UvLock,
            "/app/uv.lock",
            "[[package]]\nversion = \"1.0\"\n\n[[package]]\nname = \"x\"\nversion = 1.0\n\n[[package]]\nname = \"dyn\"\nsource = { directory = \"libs/dyn\" }\n",
        );
        assert!(d.packages.is_empty());
        assert_eq!(d.warnings.len(), 2, "{:?}", d.warnings);
    }

    // -- Pipfile.lock -------------------------------------------------------------------------

    #[test]
    fn pipfile_lock() {
        let text = r#"{
    "_meta": {
        "hash": {
            "sha256": "8f1a4c5a2a1d6b1f0b5f8e2c7a0b5d5a7c6e3f2b1a0c9d8e7f6a5b4c3d2e1f00"
        },
        "pipfile-spec": 6,
        "requires": {
            "python_version": "3.11"
        },
        "sources": [
            {
                "name": "pypi",
                "url": "https://pypi.org/simple",
                "verify_ssl": true
            }
        ]
    },
    "default": {
        "certifi": {
            "hashes": [
                "sha256:922820b53db7a7257ffbda3f597266d435245903d80737e34f8a45ff3e3230d8"
            ],
            "index": "pypi",
            "markers": "python_version >= '3.6'",
            "version": "==2024.8.30"
        },
        "django": {
            "hashes": [],
            "index": "pypi",
            "version": "==3.2"
        },
        "mylib": {
            "editable": true,
            "path": "."
        }
    },
    "develop": {
        "certifi": {
            "hashes": [],
            "version": "==2024.8.30"
        },
        "pytest": {
            "hashes": [],
            "index": "pypi",
            "markers": "python_version >= '3.8'",
            "version": "==8.3.3"
        },
        "weird": "nope",
        "odd": {"version": 3}
    }
}"#;
        let d = run(&PipfileLock, "/app/Pipfile.lock", text);
        assert_eq!(nv(&d), [("certifi", "2024.8.30"), ("django", "3.2"), ("pytest", "8.3.3")]);
        assert_eq!(d.warnings.len(), 2, "{:?}", d.warnings);
        assert!(PipfileLock
            .detect(&FileInput { path: "/app/Pipfile.lock", mode: 0o644, data: b"{\"default\": [" })
            .is_err());
    }

    /// Hostile METADATA with many distinct license classifiers: de-duplicating them must not
    /// be quadratic (100k classifiers took minutes).
    #[test]
    fn many_license_classifiers_are_linear() {
        let mut text = String::from("Name: x\nVersion: 1\n");
        for i in 0..100_000 {
            text.push_str(&format!("Classifier: License :: L{i}\nClassifier: License :: L{i}\n"));
        }
        let start = std::time::Instant::now();
        let d = run(&PythonInstalled, "/x-1.dist-info/METADATA", &text);
        assert_eq!(d.packages[0].licenses.len(), 100_000);
        assert_eq!(d.packages[0].licenses[..2], ["L0", "L1"]);
        assert!(start.elapsed().as_secs() < 5, "{:?}", start.elapsed());
    }

    #[test]
    fn sizes() {
        assert_eq!(PoetryLock.max_size(), 64 << 20);
        assert_eq!(UvLock.max_size(), 64 << 20);
        assert_eq!(PipfileLock.max_size(), 64 << 20);
    }
}
