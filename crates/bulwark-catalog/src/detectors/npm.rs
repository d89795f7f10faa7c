//! JavaScript packages.
//!
//! - Installed: every `package.json` with both `name` and `version`, as Syft's
//!   javascript-package-cataloger reports them (`node_modules/*/package.json`, the app's own).
//! - Lockfiles: npm `package-lock.json` / `npm-shrinkwrap.json` (v1 nested `dependencies`,
//!   v2/v3 flat `packages`), `yarn.lock` (classic v1 and berry YAML) and `pnpm-lock.yaml`
//!   (v5, v6 and v9 key styles).
//!
//! Lockfiles inside `node_modules` are skipped: they describe how a dependency was developed,
//! not what is installed here (Syft skips them too).

use super::{file_name, utf8, Collector, Detector};
use crate::model::{DetectError, Detection, FileInput, PackageType};
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;

/// A package.json is a few KiB; a huge one is generated junk or an attack, not metadata.
const PACKAGE_JSON_MAX_SIZE: u64 = 4 << 20;
/// Lockfiles of large monorepos reach tens of MiB.
const LOCK_MAX_SIZE: u64 = 64 << 20;

/// npm and pip accept a UTF-8 byte-order mark (Windows editors write one); serde_json does not.
fn strip_bom(data: &[u8]) -> &[u8] {
    data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(data)
}

fn in_node_modules(path: &str) -> bool {
    path.contains("/node_modules/")
}

/// License names from `"MIT"`, `{"type": "MIT", "url": …}` or a list of either
/// (the deprecated `licenses` field, and some lockfile entries).
fn licenses_from(v: Option<&Value>, out: &mut Vec<String>) {
    // A set beside the list: a hostile list of many names must not make this quadratic.
    let mut seen: std::collections::HashSet<String> = out.iter().cloned().collect();
    let mut push = |s: &str| {
        let s = s.trim();
        if !s.is_empty() && seen.insert(s.to_string()) {
            out.push(s.to_string());
        }
    };
    let one = |v: &Value, push: &mut dyn FnMut(&str)| match v {
        Value::String(s) => push(s),
        Value::Object(m) => {
            if let Some(Value::String(t)) = m.get("type") {
                push(t);
            }
        }
        _ => {}
    };
    match v {
        Some(Value::Array(items)) => items.iter().for_each(|i| one(i, &mut push)),
        Some(v) => one(v, &mut push),
        None => {}
    }
}

// ---------------------------------------------------------------------------------------------
// package.json

pub struct NpmInstalled;

impl Detector for NpmInstalled {
    fn name(&self) -> &'static str {
        "npm-package-json"
    }

    fn matches(&self, path: &str, _mode: u32) -> bool {
        file_name(path) == "package.json"
    }

    fn max_size(&self) -> u64 {
        PACKAGE_JSON_MAX_SIZE
    }

    fn detect(&self, file: &FileInput<'_>) -> Result<Detection, DetectError> {
        let pj: NpmEntry<false> = serde_json::from_slice(strip_bom(file.data))?;
        if pj.not_an_object {
            return Err(DetectError::malformed("not a JSON object"));
        }
        // Many package.json files are not packages: `{"type": "module"}` marker files in
        // subdirectories, workspace roots without a version. A non-string `name` (it
        // happens) means the same.
        let (Some(name), Some(version)) = (as_str(&pj.name), as_str(&pj.version)) else {
            return Ok(Detection::default());
        };
        let (name, version) = (name.trim(), version.trim());
        if name.is_empty() || version.is_empty() {
            return Ok(Detection::default());
        }
        let mut licenses = Vec::new();
        licenses_from(pj.license.as_ref(), &mut licenses);
        licenses_from(pj.licenses.as_ref(), &mut licenses);
        let mut out = Collector::new(PackageType::Npm);
        out.add(name, version, licenses, file.path, "package");
        Ok(out.det)
    }
}

// ---------------------------------------------------------------------------------------------
// package-lock.json / npm-shrinkwrap.json

pub struct NpmLock;

#[derive(Deserialize)]
struct PackageLock {
    /// v2 and v3: flat, keyed by install path. v2 also carries `dependencies` for old npm.
    packages: Option<BTreeMap<String, NpmEntry<false>>>,
    /// v1: nested by install location.
    dependencies: Option<BTreeMap<String, NpmEntry<true>>>,
}

/// A package.json or one lockfile entry, read field by field: an entry that is not an object
/// becomes a warning instead of failing the file, without buffering it (entries nest deeply
/// in v1), and a repeated key keeps the last value as `JSON.parse` does instead of being an
/// error. `NESTED` says whether to descend into `dependencies` (v1 entries) or skip it
/// (package.json and v2 entries, where it is a map of ranges).
#[derive(Default)]
struct NpmEntry<const NESTED: bool> {
    not_an_object: bool,
    name: Option<Value>,
    version: Option<Value>,
    link: Option<Value>,
    license: Option<Value>,
    licenses: Option<Value>,
    dependencies: Option<BTreeMap<String, NpmEntry<true>>>,
}

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "lowercase")]
enum NpmField {
    Name,
    Version,
    Link,
    License,
    Licenses,
    Dependencies,
    #[serde(other)]
    Other,
}

impl<'de, const NESTED: bool> Deserialize<'de> for NpmEntry<NESTED> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<const N: bool>;
        impl<'de, const N: bool> Visitor<'de> for V<N> {
            type Value = NpmEntry<N>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a lockfile entry")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<NpmEntry<N>, A::Error> {
                let mut e = NpmEntry::<N>::default();
                while let Some(key) = map.next_key::<NpmField>()? {
                    match key {
                        NpmField::Name => e.name = Some(map.next_value()?),
                        NpmField::Version => e.version = Some(map.next_value()?),
                        NpmField::Link => e.link = Some(map.next_value()?),
                        NpmField::License => e.license = Some(map.next_value()?),
                        NpmField::Licenses => e.licenses = Some(map.next_value()?),
                        NpmField::Dependencies if N => e.dependencies = map.next_value()?,
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(e)
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<NpmEntry<N>, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(NpmEntry::bad())
            }

            fn visit_bool<E: de::Error>(self, _: bool) -> Result<NpmEntry<N>, E> {
                Ok(NpmEntry::bad())
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<NpmEntry<N>, E> {
                Ok(NpmEntry::bad())
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<NpmEntry<N>, E> {
                Ok(NpmEntry::bad())
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<NpmEntry<N>, E> {
                Ok(NpmEntry::bad())
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<NpmEntry<N>, E> {
                Ok(NpmEntry::bad())
            }
            fn visit_unit<E: de::Error>(self) -> Result<NpmEntry<N>, E> {
                Ok(NpmEntry::bad())
            }
        }
        d.deserialize_any(V::<NESTED>)
    }
}

impl<const N: bool> NpmEntry<N> {
    fn bad() -> Self {
        NpmEntry { not_an_object: true, ..Default::default() }
    }
}

fn as_str(v: &Option<Value>) -> Option<&str> {
    match v {
        Some(Value::String(s)) => Some(s.as_str()),
        _ => None,
    }
}

impl Detector for NpmLock {
    fn name(&self) -> &'static str {
        "npm-lock"
    }

    fn declared(&self) -> bool {
        true
    }

    fn matches(&self, path: &str, _mode: u32) -> bool {
        let name = file_name(path);
        (name == "package-lock.json" || name == "npm-shrinkwrap.json") && !in_node_modules(path)
    }

    fn max_size(&self) -> u64 {
        LOCK_MAX_SIZE
    }

    fn detect(&self, file: &FileInput<'_>) -> Result<Detection, DetectError> {
        let lock: PackageLock = serde_json::from_slice(strip_bom(file.data))?;
        let mut out = Collector::new(PackageType::Npm);
        if let Some(packages) = &lock.packages {
            // v2/v3. `packages` is complete; v2's `dependencies` only repeats it for npm 6.
            for (key, entry) in packages {
                npm_lock_v2_entry(key, entry, file.path, &mut out);
            }
        } else if let Some(deps) = &lock.dependencies {
            npm_lock_v1(deps, file.path, &mut out);
        }
        Ok(out.det)
    }
}

fn npm_lock_v2_entry(key: &str, e: &NpmEntry<false>, path: &str, out: &mut Collector) {
    // "" is the project itself.
    if key.is_empty() {
        return;
    }
    if e.not_an_object {
        out.warn(format!("packages[{key:?}]: not an object"));
        return;
    }
    // `link: true` is a symlink into a workspace folder, which has its own entry.
    if matches!(e.link, Some(Value::Bool(true))) {
        return;
    }
    // Only `…node_modules/<name>` keys are installed dependencies; other keys are workspace
    // folders, i.e. the project's own code, like the root entry.
    let Some(i) = key.rfind("node_modules/") else {
        return;
    };
    let from_path = &key[i + "node_modules/".len()..];
    // An alias (`"foo": "npm:bar@1"`) is installed under the alias; `name` is the real package.
    let name = as_str(&e.name).unwrap_or(from_path);
    let Some(version) = as_str(&e.version) else {
        out.warn(format!("packages[{key:?}]: no version"));
        return;
    };
    let mut licenses = Vec::new();
    licenses_from(e.license.as_ref(), &mut licenses);
    out.add(name, version, licenses, path, &format!("packages[{key:?}]"));
}

/// v1: `dependencies` nest where npm had to install a second copy under a package.
/// Depth is bounded by serde_json's recursion limit, so plain recursion is safe.
fn npm_lock_v1(deps: &BTreeMap<String, NpmEntry<true>>, path: &str, out: &mut Collector) {
    for (name, e) in deps {
        if e.not_an_object {
            out.warn(format!("dependencies[{name:?}]: not an object"));
            continue;
        }
        match as_str(&e.version) {
            // Local `file:` dependencies are links to the project's own folders.
            Some(v) if v.starts_with("file:") => {}
            // Alias: `"version": "npm:string-width@4.2.3"`.
            Some(v) if v.starts_with("npm:") => match split_name_at(&v["npm:".len()..]) {
                Some((real, ver)) => out.add(real, ver, Vec::new(), path, name),
                None => out.warn(format!("dependencies[{name:?}]: bad alias {v:?}")),
            },
            Some(v) => out.add(name, v, Vec::new(), path, name),
            None => out.warn(format!("dependencies[{name:?}]: no version")),
        }
        if let Some(nested) = &e.dependencies {
            npm_lock_v1(nested, path, out);
        }
    }
}

/// `name@rest` → (`name`, `rest`), where a leading `@` belongs to a scoped name.
fn split_name_at(s: &str) -> Option<(&str, &str)> {
    let i = s.get(1..)?.find('@')? + 1;
    let (name, rest) = (&s[..i], &s[i + 1..]);
    (!name.is_empty() && !rest.is_empty()).then_some((name, rest))
}

// ---------------------------------------------------------------------------------------------
// yarn.lock

pub struct YarnLock;

impl Detector for YarnLock {
    fn name(&self) -> &'static str {
        "yarn-lock"
    }

    fn declared(&self) -> bool {
        true
    }

    fn matches(&self, path: &str, _mode: u32) -> bool {
        file_name(path) == "yarn.lock" && !in_node_modules(path)
    }

    fn max_size(&self) -> u64 {
        LOCK_MAX_SIZE
    }

    fn detect(&self, file: &FileInput<'_>) -> Result<Detection, DetectError> {
        let text = utf8(strip_bom(file.data))?;
        // Berry (yarn 2+) lockfiles are YAML and always start with a `__metadata` entry;
        // classic (v1) lockfiles use yarn's own indented format.
        let berry = text.starts_with("__metadata:") || text.contains("\n__metadata:");
        if berry {
            yarn_berry(text, file.path)
        } else {
            Ok(yarn_classic(text, file.path))
        }
    }
}

/// The package a yarn descriptor or resolution names: `@babel/core@^7.0.0` → `@babel/core`,
/// `lodash@npm:4.17.21` → `lodash`, and for an alias
/// `string-width-cjs@npm:string-width@^4.2.0` → `string-width`.
fn yarn_descriptor_name(desc: &str) -> Option<&str> {
    let (name, range) = split_name_at(desc)?;
    if let Some(target) = range.strip_prefix("npm:") {
        if let Some((real, _)) = split_name_at(target) {
            return Some(real);
        }
    }
    Some(name)
}

/// Classic format:
///
/// ```text
/// "@babel/core@^7.0.0", "@babel/core@^7.1.0":
///   version "7.1.2"
///   resolved "https://registry.yarnpkg.com/@babel/core/-/core-7.1.2.tgz#…"
///   dependencies:
///     "@babel/code-frame" "^7.0.0"
/// ```
fn yarn_classic(text: &str, path: &str) -> Detection {
    let mut out = Collector::new(PackageType::Npm);
    // The entry being read: (line number, package name, version once seen).
    let mut current: Option<(usize, &str, Option<&str>)> = None;
    fn finish(cur: Option<(usize, &str, Option<&str>)>, out: &mut Collector, path: &str) {
        if let Some((line, name, version)) = cur {
            match version {
                Some(v) => out.add(name, v, Vec::new(), path, &format!("line {line}")),
                None => out.warn(format!("line {line}: {name} has no version")),
            }
        }
    }
    for (i, line) in text.lines().enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        if !line.starts_with([' ', '\t']) {
            finish(current.take(), &mut out, path);
            let Some(key) = line.strip_suffix(':') else {
                out.warn(format!("line {}: not an entry header", i + 1));
                continue;
            };
            // All descriptors of one entry name the same package; the first will do.
            let first = key.split(',').next().unwrap_or(key).trim().trim_matches('"');
            match yarn_descriptor_name(first) {
                Some(name) => current = Some((i + 1, name, None)),
                None => out.warn(format!("line {}: cannot read descriptor {first:?}", i + 1)),
            }
            continue;
        }
        // Entry fields are indented by exactly two spaces; deeper lines are the
        // `dependencies:` maps, where a package may well be called `version`.
        let Some(field) = line.strip_prefix("  ").filter(|f| !f.starts_with([' ', '\t'])) else {
            continue;
        };
        if let Some(value) = field.strip_prefix("version ") {
            if let Some((_, _, version)) = current.as_mut() {
                *version = Some(value.trim().trim_matches('"'));
            }
        }
    }
    finish(current.take(), &mut out, path);
    out.det
}

#[derive(Deserialize)]
struct BerryEntry {
    version: Option<String>,
    resolution: Option<String>,
}

/// Berry format (YAML):
///
/// ```yaml
/// "@babel/core@npm:^7.0.0, @babel/core@npm:^7.1.0":
///   version: 7.1.2
///   resolution: "@babel/core@npm:7.1.2"
/// ```
fn yarn_berry(text: &str, path: &str) -> Result<Detection, DetectError> {
    let entries: BTreeMap<String, Option<BerryEntry>> =
        serde_saphyr::from_str_with_options(text, yaml_options()).map_err(yaml_error)?;
    let mut out = Collector::new(PackageType::Npm);
    for (key, entry) in &entries {
        if key == "__metadata" {
            continue;
        }
        let Some(entry) = entry else {
            out.warn(format!("{key:?}: empty entry"));
            continue;
        };
        let resolution = entry.resolution.as_deref().unwrap_or("");
        // The project and its workspaces (`app@workspace:.`), and `link:`/`portal:` folders
        // outside it, are local code, not dependencies.
        if ["@workspace:", "@link:", "@portal:"].iter().any(|p| resolution.contains(p)) {
            continue;
        }
        // The resolution names the real package (also for aliases); the key is a fallback.
        let first = key.split(',').next().unwrap_or(key).trim();
        let name = yarn_descriptor_name(resolution).or_else(|| yarn_descriptor_name(first));
        match (name, entry.version.as_deref()) {
            (Some(name), Some(version)) => {
                // `patch:` entries repeat the package they patch with the same version.
                out.add(name, version, Vec::new(), path, &format!("{key:?}"));
            }
            _ => out.warn(format!("{key:?}: no name or version")),
        }
    }
    Ok(out.det)
}

/// YAML limits: lockfiles are large but flat, so allow many more events and nodes than
/// serde-saphyr's defaults (sized for config files) while keeping its depth and alias-bomb
/// limits. No snippets in errors: they become one-line warnings.
fn yaml_options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_events: 40_000_000,
            max_nodes: 20_000_000,
            max_documents: 16,
        },
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::LastWins,
        with_snippet: false,
    }
}

fn yaml_error(e: serde_saphyr::Error) -> DetectError {
    let msg = e.to_string();
    let msg = msg.lines().next().unwrap_or("").trim();
    DetectError::malformed(format!("YAML: {}", msg.strip_prefix("error: ").unwrap_or(msg)))
}

// ---------------------------------------------------------------------------------------------
// pnpm-lock.yaml

pub struct PnpmLock;

#[derive(Deserialize)]
struct PnpmLockFile {
    packages: Option<BTreeMap<String, Option<PnpmEntry>>>,
}

/// Only non-registry packages (tarballs, git) carry `name` and `version`; for the rest the
/// key says it all.
#[derive(Deserialize)]
struct PnpmEntry {
    name: Option<String>,
    version: Option<String>,
}

impl Detector for PnpmLock {
    fn name(&self) -> &'static str {
        "pnpm-lock"
    }

    fn declared(&self) -> bool {
        true
    }

    fn matches(&self, path: &str, _mode: u32) -> bool {
        file_name(path) == "pnpm-lock.yaml" && !in_node_modules(path)
    }

    fn max_size(&self) -> u64 {
        LOCK_MAX_SIZE
    }

    fn detect(&self, file: &FileInput<'_>) -> Result<Detection, DetectError> {
        let text = utf8(strip_bom(file.data))?;
        // pnpm 9+ may write two documents (the package-manager "env" lockfile first).
        let docs: Vec<PnpmLockFile> =
            serde_saphyr::from_multiple_with_options(text, yaml_options()).map_err(yaml_error)?;
        let mut out = Collector::new(PackageType::Npm);
        for (key, entry) in docs.iter().filter_map(|d| d.packages.as_ref()).flatten() {
            let field_name = entry.as_ref().and_then(|e| e.name.as_deref());
            let field_version = entry.as_ref().and_then(|e| e.version.as_deref());
            let from_key = pnpm_key(key);
            let name = field_name.or(from_key.map(|(n, _)| n));
            // The key's version part is a URL or path for non-registry packages, which then
            // carry a `version` field; a registry version starts with a digit.
            let version =
                field_version.or(from_key.map(|(_, v)| v).filter(|v| v.starts_with(|c: char| c.is_ascii_digit())));
            let name_version = name.zip(version);
            match name_version {
                Some((name, version)) => out.add(name, version, Vec::new(), file.path, key),
                None => out.warn(format!("packages[{key:?}]: cannot tell name and version")),
            }
        }
        Ok(out.det)
    }
}

/// Name and version from a `packages` key:
///
/// - v5: `/name/1.0.0`, `/@scope/name/1.0.0`, peers as `/name/1.0.0_react@18.2.0`
/// - v6: `/name@1.0.0`, `/@scope/name@1.0.0`, peers as `/name@1.0.0(react@18.2.0)`
/// - v9: `name@1.0.0`, `@scope/name@1.0.0` (peers only in `snapshots`, stripped anyway)
///
/// The version part is returned as written: for non-registry packages in v9 it is a URL
/// (`x@https://codeload.github.com/…`). v5/v6 keys of non-registry packages are paths
/// (`github.com/org/x/4f5e6d`, `registry.example.com/x/-/x-1.0.0.tgz`) that name no package
/// and return `None`; those entries carry `name` and `version` fields.
fn pnpm_key(key: &str) -> Option<(&str, &str)> {
    let (slashed, k) = match key.strip_prefix('/') {
        Some(k) => (true, k),
        None => (false, key),
    };
    let scope_len = if k.starts_with('@') { k.find('/')? + 1 } else { 0 };
    let rest = &k[scope_len..];
    let sep = rest.find(['@', '/'])?;
    let v5 = rest.as_bytes()[sep] == b'/';
    if sep == 0 || (v5 && !slashed) {
        return None;
    }
    let name = &k[..scope_len + sep];
    let mut version = &rest[sep + 1..];
    if v5 {
        // v5 peer suffix; semver versions never contain `_`.
        version = version.split('_').next().unwrap_or(version);
    }
    version = version.split('(').next().unwrap_or(version);
    (!version.is_empty()).then_some((name, version))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn run(d: &dyn Detector, path: &str, text: &str) -> Detection {
        assert!(d.matches(path, 0o100644), "{} should match {path}", d.name());
        d.detect(&FileInput { path, mode: 0o644, data: text.as_bytes() }).unwrap()
    }

    fn run_err(d: &dyn Detector, path: &str, text: &[u8]) -> String {
        d.detect(&FileInput { path, mode: 0o644, data: text }).unwrap_err().to_string()
    }

    fn nv(d: &Detection) -> Vec<(&str, &str)> {
        let mut v: Vec<_> = d.packages.iter().map(|p| (p.name.as_str(), p.version.as_str())).collect();
        v.sort();
        v
    }

    // -- package.json -------------------------------------------------------------------------

    /// A hostile `licenses` array of 100k distinct names: de-duplicating it must not be
    /// quadratic (it took minutes).
    #[test]
    fn many_licenses_are_linear() {
        let list: Vec<String> = (0..100_000).map(|i| format!("\"L{i}\"")).collect();
        let text =
            format!(r#"{{"name": "x", "version": "1", "license": "L5", "licenses": [{}, "L1"]}}"#, list.join(","));
        let start = std::time::Instant::now();
        let d = run(&NpmInstalled, "/app/package.json", &text);
        assert_eq!(d.packages[0].licenses.len(), 100_000);
        assert_eq!(d.packages[0].licenses[..3], ["L5", "L0", "L1"]);
        assert!(start.elapsed().as_secs() < 5, "{:?}", start.elapsed());
    }

    #[test]
    fn package_json_licenses() {
        let d = run(
            &NpmInstalled,
            "/app/node_modules/express/package.json",
            r#"{
  "name": "express",
  "description": "Fast, unopinionated, minimalist web framework",
  "version": "4.16.0",
  "author": "TJ Holowaychuk <tj@vision-media.ca>",
  "license": "MIT",
  "repository": "expressjs/express",
  "dependencies": {
    "accepts": "~1.3.4",
    "array-flatten": "1.1.1"
  }
}"#,
        );
        assert_eq!(nv(&d), [("express", "4.16.0")]);
        assert_eq!(d.packages[0].licenses, ["MIT"]);
        assert_eq!(d.packages[0].location.path, "/app/node_modules/express/package.json");

        let d = run(
            &NpmInstalled,
            "/app/node_modules/@types/node/package.json",
            r#"{"name":"@types/node","version":"20.11.5","license":{"type":"MIT","url":"https://opensource.org/licenses/MIT"}}"#,
        );
        assert_eq!(nv(&d), [("@types/node", "20.11.5")]);
        assert_eq!(d.packages[0].licenses, ["MIT"]);

        let d = run(
            &NpmInstalled,
            "/app/node_modules/utils-merge/package.json",
            r#"{"name":"utils-merge","version":"1.0.1","license":"MIT","licenses":[{"type":"MIT","url":"http://opensource.org/licenses/MIT"},{"type":"Apache-2.0"}, "BSD-2-Clause", 7]}"#,
        );
        assert_eq!(d.packages[0].licenses, ["MIT", "Apache-2.0", "BSD-2-Clause"]);
    }

    #[test]
    fn package_json_that_is_not_a_package() {
        for text in [
            r#"{"type":"module"}"#,
            r#"{"name":"workspace-root","private":true,"workspaces":["packages/*"]}"#,
            r#"{"name":5,"version":"1.0.0"}"#,
            r#"{"name":"x","version":{"major":1}}"#,
            r#"{"name":"x","version":""}"#,
        ] {
            let d = run(&NpmInstalled, "/app/lib/esm/package.json", text);
            assert!(d.packages.is_empty() && d.warnings.is_empty(), "{text}");
        }
        assert!(run_err(&NpmInstalled, "/app/package.json", b"{\"name\": \"x\",").contains("JSON"));
        assert_eq!(run_err(&NpmInstalled, "/app/package.json", b"[1,2]"), "not a JSON object");
        // A repeated key: the last one wins, as with JSON.parse.
        let d = run(
            &NpmInstalled,
            "/app/package.json",
            r#"{"name":"x","version":"1.0.0","license":"MIT","version":"1.0.1"}"#,
        );
        assert_eq!(nv(&d), [("x", "1.0.1")]);
        assert!(run_err(&NpmInstalled, "/app/package.json", b"\xff").contains("JSON"));
        let d = run(&NpmInstalled, "/app/package.json", r#"{"name":"bad name","version":"1.0.0"}"#);
        assert!(d.packages.is_empty());
        assert_eq!(d.warnings.len(), 1);
        assert!(!NpmInstalled.matches("/app/package.json.bak", 0o644));
        assert!(!NpmInstalled.matches("/app/not-package.json", 0o644));
        assert_eq!(NpmInstalled.max_size(), 4 << 20);
    }

    // -- package-lock.json --------------------------------------------------------------------

    const LOCK_V1: &str = r#"{
  "name": "app",
  "version": "1.0.0",
  "lockfileVersion": 1,
  "requires": true,
  "dependencies": {
    "@babel/code-frame": {
      "version": "7.12.13",
      "resolved": "https://registry.npmjs.org/@babel/code-frame/-/code-frame-7.12.13.tgz",
      "integrity": "sha512-HV1Cm0Q3ZrpCR93tkWOYiuYIgLxZXZFVG2VgK+MBWjUqZTundupbfx2aXarXuw5Ko5aMcjtJgbSs4vUGBS5v6g==",
      "dev": true,
      "requires": {
        "@babel/highlight": "^7.12.13"
      }
    },
    "debug": {
      "version": "2.6.9",
      "resolved": "https://registry.npmjs.org/debug/-/debug-2.6.9.tgz",
      "integrity": "sha512-bC7ElrdJaJnPbAP+1EotYvqZsb3ecl5wi6Bfi6BJTUcNowp6cvspg0jXznRTKDjm/E7AdgFBVeAPVMNcKGsHMA==",
      "requires": {
        "ms": "2.0.0"
      },
      "dependencies": {
        "ms": {
          "version": "2.0.0",
          "resolved": "https://registry.npmjs.org/ms/-/ms-2.0.0.tgz",
          "integrity": "sha1-VgiurfwAvmwpAd9fmGF4jeDVl8g="
        }
      }
    },
    "ms": {
      "version": "2.1.3",
      "resolved": "https://registry.npmjs.org/ms/-/ms-2.1.3.tgz",
      "integrity": "sha512-6FlzubTLZG3J2a/NVCAleEhjzq5oxgHyaCU9yYXvcLsvoVaHJq/s5xXI6/XXP6tz7R9xAOtHnSO/tXtF3WRTlA=="
    },
    "string-width-cjs": {
      "version": "npm:string-width@4.2.3",
      "resolved": "https://registry.npmjs.org/string-width/-/string-width-4.2.3.tgz",
      "integrity": "sha512-wKyQRQpjJ0sIp62ErSZdGsjMJWsap5oRNihHhu6G7JVO/9jIB6UyevL+tXuOqrng8j/cxKTWyWUwvSTriiZz/g=="
    },
    "mylib": {
      "version": "file:libs/mylib"
    },
    "broken": 42
  }
}"#;

    #[test]
    fn package_lock_v1_nested() {
        let d = run(&NpmLock, "/app/package-lock.json", LOCK_V1);
        assert_eq!(
            nv(&d),
            [
                ("@babel/code-frame", "7.12.13"),
                ("debug", "2.6.9"),
                ("ms", "2.0.0"),
                ("ms", "2.1.3"),
                ("string-width", "4.2.3"),
            ]
        );
        assert_eq!(d.warnings.len(), 1, "{:?}", d.warnings);
        assert!(d.warnings[0].contains("broken"));
    }

    const LOCK_V3: &str = r#"{
  "name": "node-app",
  "version": "1.0.0",
  "lockfileVersion": 3,
  "requires": true,
  "packages": {
    "": {
      "name": "node-app",
      "version": "1.0.0",
      "workspaces": [
        "packages/*"
      ],
      "dependencies": {
        "@babel/core": "^7.1.0",
        "debug": "^2.6.9",
        "string-width-cjs": "npm:string-width@^4.2.0"
      }
    },
    "node_modules/@babel/core": {
      "version": "7.1.2",
      "resolved": "https://registry.npmjs.org/@babel/core/-/core-7.1.2.tgz",
      "integrity": "sha512-IFeSSnjXdhDaoysIlev//UzHZbdEmm7D0EIH2qtse9xK7mXEZQpYjs2P00XlP1qYsYvid79p+Zgg6tz1mp6iVw==",
      "license": "MIT",
      "dependencies": {
        "debug": "^4.1.0"
      }
    },
    "node_modules/@babel/core/node_modules/debug": {
      "version": "4.3.4",
      "license": "MIT"
    },
    "node_modules/debug": {
      "version": "2.6.9",
      "license": "MIT",
      "dependencies": {
        "ms": "2.0.0"
      }
    },
    "node_modules/ms": {
      "version": "2.0.0",
      "license": "MIT"
    },
    "node_modules/string-width-cjs": {
      "name": "string-width",
      "version": "4.2.3",
      "license": "MIT"
    },
    "node_modules/lib-a": {
      "resolved": "packages/lib-a",
      "link": true
    },
    "packages/lib-a": {
      "name": "lib-a",
      "version": "0.0.1",
      "license": ["ISC", "MIT"]
    },
    "packages/lib-a/node_modules/ms": {
      "version": "2.1.3",
      "dev": true,
      "license": ["MIT"]
    },
    "node_modules/nover": {
      "license": "MIT"
    },
    "node_modules/weird": "oops"
  }
}"#;

    #[test]
    fn package_lock_v3() {
        let d = run(&NpmLock, "/app/package-lock.json", LOCK_V3);
        assert_eq!(
            nv(&d),
            [
                ("@babel/core", "7.1.2"),
                ("debug", "2.6.9"),
                ("debug", "4.3.4"),
                ("ms", "2.0.0"),
                ("ms", "2.1.3"),
                ("string-width", "4.2.3"),
            ]
        );
        assert!(d.packages.iter().all(|p| p.licenses == ["MIT"]));
        assert_eq!(d.warnings.len(), 2, "{:?}", d.warnings);
    }

    #[test]
    fn package_lock_v2_reads_packages_not_dependencies() {
        let text = r#"{
  "name": "app",
  "version": "1.0.0",
  "lockfileVersion": 2,
  "requires": true,
  "packages": {
    "": {"name": "app", "version": "1.0.0", "dependencies": {"lodash": "^4.17.15"}},
    "node_modules/lodash": {
      "version": "4.17.15",
      "resolved": "https://registry.npmjs.org/lodash/-/lodash-4.17.15.tgz",
      "integrity": "sha512-8xOcRHvCjnocdS5cpwXQXVzmmh5e5+saE2QGoeQmbKmRS6J3VQppPOIt0MnmE+4xlZoumy0GPG0D0MVIQbNA1A=="
    }
  },
  "dependencies": {
    "lodash": {
      "version": "4.17.15",
      "resolved": "https://registry.npmjs.org/lodash/-/lodash-4.17.15.tgz",
      "integrity": "sha512-8xOcRHvCjnocdS5cpwXQXVzmmh5e5+saE2QGoeQmbKmRS6J3VQppPOIt0MnmE+4xlZoumy0GPG0D0MVIQbNA1A=="
    }
  }
}"#;
        let d = run(&NpmLock, "/app/npm-shrinkwrap.json", text);
        assert_eq!(nv(&d), [("lodash", "4.17.15")]);
        assert_eq!(d.packages[0].location.path, "/app/npm-shrinkwrap.json");
    }

    #[test]
    fn package_lock_matching_and_malformed() {
        assert!(!NpmLock.matches("/app/node_modules/foo/package-lock.json", 0o644));
        assert!(!NpmLock.matches("/app/node_modules/.package-lock.json", 0o644));
        assert!(run_err(&NpmLock, "/app/package-lock.json", b"{\"packages\": {").contains("JSON"));
        assert!(run_err(&NpmLock, "/app/package-lock.json", b"{\"packages\": 5}").contains("JSON"));
        // Deep nesting hits serde_json's recursion limit, not the stack.
        let deep = "{\"dependencies\":{\"a\":".repeat(5000);
        assert!(run_err(&NpmLock, "/app/package-lock.json", deep.as_bytes()).contains("JSON"));
        let d = run(&NpmLock, "/app/package-lock.json", "{}");
        assert!(d.packages.is_empty());
        assert_eq!(NpmLock.max_size(), 64 << 20);
    }

    // -- yarn.lock ----------------------------------------------------------------------------

    const YARN_V1: &str = r#"# THIS IS AN AUTOGENERATED FILE. DO NOT EDIT THIS FILE DIRECTLY.
# yarn lockfile v1


"@babel/code-frame@^7.0.0", "@babel/code-frame@^7.10.4":
  version "7.12.13"
  resolved "https://registry.yarnpkg.com/@babel/code-frame/-/code-frame-7.12.13.tgz#dcfc826beef65e75c50e21d3837d7d95798dd658"
  integrity sha512-HV1Cm0Q3ZrpCR93tkWOYiuYIgLxZXZFVG2VgK+MBWjUqZTundupbfx2aXarXuw5Ko5aMcjtJgbSs4vUGBS5v6g==
  dependencies:
    "@babel/highlight" "^7.12.13"

"@babel/core@^7.0.0", "@babel/core@^7.1.0":
  version "7.1.2"
  resolved "https://registry.yarnpkg.com/@babel/core/-/core-7.1.2.tgz#f8d2a9ceb6832887329a7b60f9d035791400ba4e"
  integrity sha512-IFeSSnjXdhDaoysIlev//UzHZbdEmm7D0EIH2qtse9xK7mXEZQpYjs2P00XlP1qYsYvid79p+Zgg6tz1mp6iVw==
  dependencies:
    version "^1.0.0"
    debug "^3.1.0"

lodash@^4.17.15, lodash@^4.17.20:
  version "4.17.21"
  resolved "https://registry.yarnpkg.com/lodash/-/lodash-4.17.21.tgz#679591c564c3bffaae8454cf0b3df370c3d6911c"
  integrity sha512-v2kDEe57lecTulaDIuNTPy3Ry4gLGJ6Z1O3vE1krgXZNrsQ+LFTGHVxVjcXPs17LhbZVGedAJv8XZ1tvj5FvSg==

"string-width-cjs@npm:string-width@^4.2.0":
  version "4.2.3"
  resolved "https://registry.yarnpkg.com/string-width/-/string-width-4.2.3.tgz#269c7117d27b05ad2e536830a8ec895ef9c6d010"
  integrity sha512-wKyQRQpjJ0sIp62ErSZdGsjMJWsap5oRNihHhu6G7JVO/9jIB6UyevL+tXuOqrng8j/cxKTWyWUwvSTriiZz/g==

string-width@^4.1.0:
  version "4.2.3"
  resolved "https://registry.yarnpkg.com/string-width/-/string-width-4.2.3.tgz#269c7117d27b05ad2e536830a8ec895ef9c6d010"
"#;

    #[test]
    fn yarn_classic() {
        let d = run(&YarnLock, "/app/yarn.lock", YARN_V1);
        assert_eq!(
            nv(&d),
            [
                ("@babel/code-frame", "7.12.13"),
                ("@babel/core", "7.1.2"),
                ("lodash", "4.17.21"),
                ("string-width", "4.2.3"),
            ]
        );
        assert!(d.warnings.is_empty(), "{:?}", d.warnings);
        assert_eq!(d.packages[0].location.path, "/app/yarn.lock");
    }

    #[test]
    fn yarn_classic_malformed() {
        let d = run(
            &YarnLock,
            "/app/yarn.lock",
            "# yarn lockfile v1\r\n\r\nnover@^1:\r\n  resolved \"x\"\r\ngarbage line\r\n@:\r\nok@^1:\r\n  version \"1.0.0\"\r\n",
        );
        assert_eq!(nv(&d), [("ok", "1.0.0")]);
        assert_eq!(d.warnings.len(), 3, "{:?}", d.warnings);
        assert!(run_err(&YarnLock, "/app/yarn.lock", b"\xff\xfe").contains("UTF-8"));
        assert!(!YarnLock.matches("/app/node_modules/x/yarn.lock", 0o644));
    }

    const YARN_BERRY: &str = r#"# This file is generated by running "yarn install" inside your project.
# Manual changes might be lost - proceed with caution!

__metadata:
  version: 8
  cacheKey: 10c0

"@babel/code-frame@npm:^7.0.0, @babel/code-frame@npm:^7.10.4":
  version: 7.24.7
  resolution: "@babel/code-frame@npm:7.24.7"
  dependencies:
    "@babel/highlight": "npm:^7.24.7"
    picocolors: "npm:^1.0.0"
  checksum: 10c0/ab0af539473a9f5aeaac7047e377cb4f4edd255a81d84a76058595f8540784cc3fbe8acf73f1e073981104562490aabfb23008cd66dc677a456a4ed5390fdde6
  languageName: node
  linkType: hard

"lodash@npm:^4.17.21":
  version: 4.17.21
  resolution: "lodash@npm:4.17.21"
  checksum: 10c0/d8cbea072bb08655bb4c989da418994b073a608dffa608b09ac04b43a791b12aeae7cd7ad919aa4c925f33b48490b5cfe6c1f71d827956071dae2e7bb3a6b74c
  languageName: node
  linkType: hard

"my-app@workspace:.":
  version: 0.0.0-use.local
  resolution: "my-app@workspace:."
  dependencies:
    lodash: "npm:^4.17.21"
  languageName: unknown
  linkType: soft

"resolve@npm:^1.20.0":
  version: 1.22.8
  resolution: "resolve@npm:1.22.8"
  languageName: node
  linkType: hard

"resolve@patch:resolve@npm%3A^1.20.0#optional!builtin<compat/resolve>":
  version: 1.22.8
  resolution: "resolve@patch:resolve@npm%3A1.22.8#optional!builtin<compat/resolve>::version=1.22.8&hash=c3c19d"
  languageName: node
  linkType: hard

"string-width-cjs@npm:string-width@^4.2.0":
  version: 4.2.3
  resolution: "string-width@npm:4.2.3"
  languageName: node
  linkType: hard

"tiny@npm:1.10":
  version: 1.10
  resolution: "tiny@npm:1.10"
  languageName: node
  linkType: hard
"#;

    #[test]
    fn yarn_berry() {
        let d = run(&YarnLock, "/app/yarn.lock", YARN_BERRY);
        assert_eq!(
            nv(&d),
            [
                ("@babel/code-frame", "7.24.7"),
                ("lodash", "4.17.21"),
                ("resolve", "1.22.8"),
                ("string-width", "4.2.3"),
                // A plain YAML scalar, but a version string: not the float 1.1.
                ("tiny", "1.10"),
            ]
        );
        assert!(d.warnings.is_empty(), "{:?}", d.warnings);
    }

    #[test]
    fn yarn_berry_malformed() {
        let err = run_err(&YarnLock, "/app/yarn.lock", b"__metadata:\n  version: 8\n\n\"a@npm:1\":\n  version: [1\n");
        assert!(err.starts_with("YAML"), "{err}");
        assert!(!err.contains('\n'), "{err}");
        let d = run(
            &YarnLock,
            "/app/yarn.lock",
            "__metadata:\n  version: 8\n\"a@npm:1\":\n  resolution: \"a@npm:1.0.0\"\n\"b@npm:1\":\n\"c@npm:1\":\n  version: 1.0.0\n",
        );
        assert_eq!(nv(&d), [("c", "1.0.0")]);
        assert_eq!(d.warnings.len(), 2, "{:?}", d.warnings);
        // A duplicated entry (a hand-resolved merge conflict) is tolerated.
        let d = run(
            &YarnLock,
            "/app/yarn.lock",
            "__metadata:\n  version: 6\n  cacheKey: 8\n\n\"@types/qs@npm:6.9.4\":\n  version: 6.9.4\n  resolution: \"@types/qs@npm:6.9.4\"\n  languageName: node\n  linkType: hard\n\n\"@types/qs@npm:6.9.4\":\n  version: 6.9.4\n  resolution: \"@types/qs@npm:6.9.4\"\n  languageName: node\n  linkType: hard\n",
        );
        assert_eq!(nv(&d), [("@types/qs", "6.9.4")]);
        // An alias bomb in fields we skip is still cut off by serde-saphyr's limits.
        let mut bomb = String::from("__metadata:\n  version: 8\n  a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let p = i - 1;
            bomb.push_str(&format!(
                "  a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        assert!(run_err(&YarnLock, "/app/yarn.lock", bomb.as_bytes()).starts_with("YAML"));
    }

    // -- pnpm-lock.yaml -----------------------------------------------------------------------

    const PNPM_V5: &str = r#"lockfileVersion: 5.4

specifiers:
  '@babel/core': ^7.21.0
  express: ^4.18.2
  react-dom: ^18.2.0

dependencies:
  '@babel/core': 7.21.0
  express: 4.18.2
  react-dom: 18.2.0_react@18.2.0

packages:

  /@babel/core/7.21.0:
    resolution: {integrity: sha512-PuxUbxcW6ZYe656yL3EAhpy7qXKq0DmYsrJLpbB8XrsCP9Nm+XCg9XFMb5vIDliPD7+U/+M+QJlH17XOcB7eXA==}
    engines: {node: '>=6.9.0'}
    dev: false

  /accepts/1.3.8:
    resolution: {integrity: sha512-PYAthTa2m2VKxuvSD3DPC/Gy+U+sOA1LAuT8mkmRuvw+NACSaeXEQ+NHcVF7rONl6qcaxV3Uuemwawk+7+SJLw==}
    engines: {node: '>= 0.6'}
    dependencies:
      mime-types: 2.1.35
      negotiator: 0.6.3
    dev: false

  /react-dom/18.2.0_react@18.2.0:
    resolution: {integrity: sha512-6IMTriUmvsjHUjNtEDudZfuDQUoWXVxKHhlEGSk81n4YFS+r/Kl99wXiwlVXtPBtJenozv2P+hxDsw9eA7Xo6g==}
    peerDependencies:
      react: ^18.2.0
    dependencies:
      loose-envify: 1.4.0
      react: 18.2.0
      scheduler: 0.23.0
    dev: false

  /@emotion/react/11.10.5_@types+react@18.0.26:
    resolution: {integrity: sha512-TZs6235tCJ/7iF6/rvTaOH4oxQg2gMAcdHemjwLKIjKz4rRuYe1HJ2TQJKnAcRAfOUDdU8XoDadCe1rl72iv8A==}
    dev: false

  registry.example.com/private-pkg/-/private-pkg-2.0.1.tgz:
    resolution: {tarball: https://registry.example.com/private-pkg/-/private-pkg-2.0.1.tgz}
    name: private-pkg
    version: 2.0.1
    dev: false
"#;

    const PNPM_V6: &str = r#"lockfileVersion: '6.0'

settings:
  autoInstallPeers: true
  excludeLinksFromLockfile: false

dependencies:
  '@babel/core':
    specifier: ^7.21.0
    version: 7.21.0
  react-dom:
    specifier: ^18.2.0
    version: 18.2.0(react@18.2.0)

packages:

  /@babel/core@7.21.0:
    resolution: {integrity: sha512-PuxUbxcW6ZYe656yL3EAhpy7qXKq0DmYsrJLpbB8XrsCP9Nm+XCg9XFMb5vIDliPD7+U/+M+QJlH17XOcB7eXA==}
    engines: {node: '>=6.9.0'}
    dev: false

  /accepts@1.3.8:
    resolution: {integrity: sha512-PYAthTa2m2VKxuvSD3DPC/Gy+U+sOA1LAuT8mkmRuvw+NACSaeXEQ+NHcVF7rONl6qcaxV3Uuemwawk+7+SJLw==}
    engines: {node: '>= 0.6'}
    dev: false

  /react-dom@18.2.0(react@18.2.0):
    resolution: {integrity: sha512-6IMTriUmvsjHUjNtEDudZfuDQUoWXVxKHhlEGSk81n4YFS+r/Kl99wXiwlVXtPBtJenozv2P+hxDsw9eA7Xo6g==}
    peerDependencies:
      react: ^18.2.0
    dev: false

  /react-dom@18.2.0(react@18.3.1):
    resolution: {integrity: sha512-6IMTriUmvsjHUjNtEDudZfuDQUoWXVxKHhlEGSk81n4YFS+r/Kl99wXiwlVXtPBtJenozv2P+hxDsw9eA7Xo6g==}
    dev: false

  github.com/org/gitdep/4f5e6d7c8b9a:
    resolution: {tarball: https://codeload.github.com/org/gitdep/tar.gz/4f5e6d7c8b9a}
    name: gitdep
    version: 0.3.0
    dev: false
"#;

    const PNPM_V9: &str = r#"lockfileVersion: '9.0'

settings:
  autoInstallPeers: true
  excludeLinksFromLockfile: false

importers:

  .:
    dependencies:
      '@babel/core':
        specifier: ^7.21.0
        version: 7.21.0
      react-dom:
        specifier: ^18.2.0
        version: 18.2.0(react@18.2.0)

packages:

  '@babel/core@7.21.0':
    resolution: {integrity: sha512-PuxUbxcW6ZYe656yL3EAhpy7qXKq0DmYsrJLpbB8XrsCP9Nm+XCg9XFMb5vIDliPD7+U/+M+QJlH17XOcB7eXA==}
    engines: {node: '>=6.9.0'}

  accepts@1.3.8:
    resolution: {integrity: sha512-PYAthTa2m2VKxuvSD3DPC/Gy+U+sOA1LAuT8mkmRuvw+NACSaeXEQ+NHcVF7rONl6qcaxV3Uuemwawk+7+SJLw==}
    engines: {node: '>= 0.6'}

  react-dom@18.2.0:
    resolution: {integrity: sha512-6IMTriUmvsjHUjNtEDudZfuDQUoWXVxKHhlEGSk81n4YFS+r/Kl99wXiwlVXtPBtJenozv2P+hxDsw9eA7Xo6g==}
    peerDependencies:
      react: ^18.2.0

  gitdep@https://codeload.github.com/org/gitdep/tar.gz/4f5e6d7c8b9a:
    resolution: {tarball: https://codeload.github.com/org/gitdep/tar.gz/4f5e6d7c8b9a}
    version: 0.3.0

snapshots:

  '@babel/core@7.21.0': {}

  accepts@1.3.8: {}

  react-dom@18.2.0(react@18.2.0):
    dependencies:
      react: 18.2.0
"#;

    #[test]
    fn pnpm_v5() {
        let d = run(&PnpmLock, "/app/pnpm-lock.yaml", PNPM_V5);
        assert_eq!(
            nv(&d),
            [
                ("@babel/core", "7.21.0"),
                ("@emotion/react", "11.10.5"),
                ("accepts", "1.3.8"),
                ("private-pkg", "2.0.1"),
                ("react-dom", "18.2.0"),
            ]
        );
        assert!(d.warnings.is_empty(), "{:?}", d.warnings);
    }

    #[test]
    fn pnpm_v6() {
        let d = run(&PnpmLock, "/app/pnpm-lock.yaml", PNPM_V6);
        assert_eq!(
            nv(&d),
            [("@babel/core", "7.21.0"), ("accepts", "1.3.8"), ("gitdep", "0.3.0"), ("react-dom", "18.2.0"),]
        );
        assert!(d.warnings.is_empty(), "{:?}", d.warnings);
    }

    #[test]
    fn pnpm_v9_and_two_documents() {
        let d = run(&PnpmLock, "/app/pnpm-lock.yaml", PNPM_V9);
        assert_eq!(
            nv(&d),
            [("@babel/core", "7.21.0"), ("accepts", "1.3.8"), ("gitdep", "0.3.0"), ("react-dom", "18.2.0"),]
        );
        assert!(d.warnings.is_empty(), "{:?}", d.warnings);

        // pnpm 10 with `managePackageManagerVersions` puts an env lockfile document first.
        let env = "---\nlockfileVersion: '9.0'\n\nimporters:\n\n  .:\n    configDependencies: {}\n    packageManagerDependencies:\n      pnpm:\n        specifier: 10.0.0\n        version: 10.0.0\n\npackages:\n\n  pnpm@10.0.0:\n    resolution: {integrity: sha512-AAAA}\n    hasBin: true\n\nsnapshots:\n\n  pnpm@10.0.0: {}\n\n---\n";
        let d = run(&PnpmLock, "/app/pnpm-lock.yaml", &format!("{env}{PNPM_V9}"));
        assert_eq!(d.packages.len(), 5);
        assert!(nv(&d).contains(&("pnpm", "10.0.0")));
    }

    #[test]
    fn pnpm_keys() {
        assert_eq!(pnpm_key("/accepts/1.3.8"), Some(("accepts", "1.3.8")));
        assert_eq!(pnpm_key("/@babel/core/7.21.0_supports-color@5.5.0"), Some(("@babel/core", "7.21.0")));
        assert_eq!(pnpm_key("/@babel/core@7.21.0(supports-color@5.5.0)"), Some(("@babel/core", "7.21.0")));
        assert_eq!(pnpm_key("react-dom@18.2.0(react@18.2.0)"), Some(("react-dom", "18.2.0")));
        assert_eq!(pnpm_key("@scope/x@1.0.0-rc.1"), Some(("@scope/x", "1.0.0-rc.1")));
        assert_eq!(pnpm_key("github.com/org/gitdep/4f5e6d7c8b9a"), None);
        assert_eq!(pnpm_key("registry.example.com/x/-/x-1.0.0.tgz"), None);
        assert_eq!(pnpm_key("x@file:../x"), Some(("x", "file:../x")));
        for junk in ["", "/", "@", "@/", "@x", "/@x/", "x@", "@@1", "@a/@1"] {
            assert_eq!(pnpm_key(junk), None, "{junk:?}");
        }
    }

    #[test]
    fn pnpm_malformed() {
        let d = run(
            &PnpmLock,
            "/app/pnpm-lock.yaml",
            "lockfileVersion: '9.0'\npackages:\n  x@file:../x:\n    resolution: {directory: ../x, type: directory}\n  ok@1.0.0:\n  y@1.0.0:\n    resolution: {integrity: sha512-AAAA}\n",
        );
        assert_eq!(nv(&d), [("ok", "1.0.0"), ("y", "1.0.0")]);
        assert_eq!(d.warnings.len(), 1, "{:?}", d.warnings);
        let d = run(&PnpmLock, "/app/pnpm-lock.yaml", "lockfileVersion: '9.0'\n");
        assert!(d.packages.is_empty());
        let d = run(&PnpmLock, "/app/pnpm-lock.yaml", "");
        assert!(d.packages.is_empty());
        let err = run_err(&PnpmLock, "/app/pnpm-lock.yaml", b"packages: [1, 2\n");
        assert!(err.starts_with("YAML"), "{err}");
        let err = run_err(&PnpmLock, "/app/pnpm-lock.yaml", b"packages: 5\n");
        assert!(err.starts_with("YAML"), "{err}");
        let deep = format!("packages: {}{}\n", "[".repeat(10_000), "]".repeat(10_000));
        let err = run_err(&PnpmLock, "/app/pnpm-lock.yaml", deep.as_bytes());
        assert!(err.starts_with("YAML"), "{err}");
        assert!(!PnpmLock.matches("/app/node_modules/.pnpm/lock.yaml", 0o644));
        assert!(!PnpmLock.matches("/app/node_modules/x/pnpm-lock.yaml", 0o644));
    }
}
