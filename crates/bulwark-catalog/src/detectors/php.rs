//! PHP Composer: `composer.lock` (what the project locked) and
//! `vendor/composer/installed.json` (what `composer install` actually put in `vendor/`).
//!
//! Both hold the same package objects (`name`, `version`, `license`, ...). `installed.json`
//! is a bare array in Composer 1 and `{"packages": [...]}` in Composer 2.
//! Versions are kept exactly as written (`v5.4.28`, `dev-main`), as Syft does.

use super::{file_name, Detector};
use crate::model::{DetectError, Detection, FileInput, Package, PackageType};
use serde_json::Value;

/// `composer.lock`: `packages` and `packages-dev`.
pub struct ComposerLock;

impl Detector for ComposerLock {
    fn name(&self) -> &'static str {
        "composer-lock"
    }

    fn declared(&self) -> bool {
        true
    }

    fn matches(&self, path: &str, _mode: u32) -> bool {
        file_name(path) == "composer.lock"
    }

    fn detect(&self, file: &FileInput<'_>) -> Result<Detection, DetectError> {
        let doc = parse_json(file.data)?;
        let obj = doc.as_object().ok_or_else(|| DetectError::malformed("composer.lock is not a JSON object"))?;
        let mut det = Detection::default();
        // Dev packages are included: an image built without `--no-dev` ships them.
        for key in ["packages", "packages-dev"] {
            match obj.get(key) {
                None | Some(Value::Null) => {}
                Some(Value::Array(entries)) => {
                    read_entries(entries, key, file.path, &mut det);
                }
                Some(_) => det.warnings.push(format!("{key} is not an array")),
            }
        }
        Ok(det)
    }
}

/// `<vendor-dir>/composer/installed.json`, Composer 1 or 2.
pub struct ComposerInstalled;

impl Detector for ComposerInstalled {
    fn name(&self) -> &'static str {
        "composer-installed"
    }

    fn matches(&self, path: &str, _mode: u32) -> bool {
        // Not just `vendor/`: a project can rename its vendor dir (`config.vendor-dir`).
        path.ends_with("/composer/installed.json")
    }

    fn detect(&self, file: &FileInput<'_>) -> Result<Detection, DetectError> {
        let doc = parse_json(file.data)?;
        let entries = match &doc {
            Value::Array(entries) => entries,
            Value::Object(obj) => match obj.get("packages") {
                Some(Value::Array(entries)) => entries,
                _ => return Err(DetectError::malformed("no \"packages\" array")),
            },
            _ => return Err(DetectError::malformed("installed.json is neither an array nor an object")),
        };
        let mut det = Detection::default();
        read_entries(entries, "packages", file.path, &mut det);
        Ok(det)
    }
}

fn parse_json(data: &[u8]) -> Result<Value, DetectError> {
    // Composer writes no BOM, but hand-edited files sometimes carry one.
    let data = data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(data);
    Ok(serde_json::from_slice(data)?)
}

fn read_entries(entries: &[Value], key: &str, path: &str, det: &mut Detection) {
    for (i, entry) in entries.iter().enumerate() {
        match package_from(entry, path) {
            Ok(p) => det.packages.push(p),
            Err(why) => det.warnings.push(format!("{key}[{i}]: {why}")),
        }
    }
}

fn package_from(entry: &Value, path: &str) -> Result<Package, String> {
    let obj = entry.as_object().ok_or("not an object")?;
    let name = obj.get("name").and_then(Value::as_str).ok_or("no string \"name\"")?;
    if !valid_name(name) {
        return Err(format!("bad package name {name:?}"));
    }
    let version = obj
        .get("version")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("package {name} has no string \"version\""))?;
    if version.is_empty() || version.contains(|c: char| c.is_whitespace() || c.is_control()) {
        return Err(format!("package {name} has bad version {version:?}"));
    }
    let mut pkg = Package::new(PackageType::PhpComposer, name, version, path);
    // Composer normalises `license` to an array; a bare string is tolerated.
    pkg.licenses = match obj.get("license") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => {
            items.iter().filter_map(Value::as_str).filter(|s| !s.is_empty()).map(str::to_string).collect()
        }
        _ => Vec::new(),
    };
    Ok(pkg)
}

/// `vendor/name`, as Composer requires for every installable package.
fn valid_name(name: &str) -> bool {
    let Some((vendor, pkg)) = name.split_once('/') else {
        return false;
    };
    let part_ok =
        |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
    part_ok(vendor) && part_ok(pkg)
}

#[cfg(test)]
// Tests panic on purpose when an expectation fails.
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const LOCK: &str = include_str!("../../tests/fixtures/php/composer.lock");
    const INSTALLED_V1: &str = include_str!("../../tests/fixtures/php/installed-v1.json");
    const INSTALLED_V2: &str = include_str!("../../tests/fixtures/php/installed-v2.json");

    fn run(d: &dyn Detector, path: &str, data: &[u8]) -> Result<Detection, DetectError> {
        d.detect(&FileInput { path, mode: 0o644, data })
    }

    fn nv(d: &Detection) -> Vec<(&str, &str)> {
        d.packages.iter().map(|p| (p.name.as_str(), p.version.as_str())).collect()
    }

    #[test]
    fn composer_lock_reads_packages_and_dev_packages() {
        let d = run(&ComposerLock, "/var/www/html/composer.lock", LOCK.as_bytes()).unwrap();
        assert!(d.warnings.is_empty(), "{:?}", d.warnings);
        assert_eq!(
            nv(&d),
            [
                ("psr/container", "2.0.2"),
                ("symfony/console", "v5.4.28"),
                ("symfony/polyfill-mbstring", "v1.28.0"),
                ("symfony/service-contracts", "v2.5.2"),
                ("phpunit/php-timer", "5.0.3"),
            ]
        );
        let console = &d.packages[1];
        assert_eq!(console.kind, PackageType::PhpComposer);
        assert_eq!(console.licenses, ["MIT"]);
        assert_eq!(console.location.path, "/var/www/html/composer.lock");
        assert_eq!(crate::purl_for(console, None), "pkg:composer/symfony/console@v5.4.28");
        assert_eq!(d.packages[4].licenses, ["BSD-3-Clause"]);
    }

    #[test]
    fn installed_json_composer_1_and_2() {
        let path = "/var/www/html/vendor/composer/installed.json";
        let d1 = run(&ComposerInstalled, path, INSTALLED_V1.as_bytes()).unwrap();
        let d2 = run(&ComposerInstalled, path, INSTALLED_V2.as_bytes()).unwrap();
        assert!(d1.warnings.is_empty() && d2.warnings.is_empty());
        let want = [("monolog/monolog", "2.9.1"), ("psr/log", "1.1.4")];
        assert_eq!(nv(&d1), want);
        assert_eq!(nv(&d2), want);
        assert_eq!(d2.packages[0].licenses, ["MIT"]);
        assert_eq!(d2.packages[0].location.path, path);
    }

    #[test]
    fn malformed_entries_warn_and_the_rest_stays() {
        let text = r#"{"packages": [
            {"name": "psr/log", "version": "1.1.4", "license": "MIT"},
            "oops",
            {"name": "novendor", "version": "1.0"},
            {"name": "a/b"},
            {"name": "a/b", "version": 3},
            {"name": "a/b c", "version": "1"},
            {"name": "a/b", "version": "1 2"},
            {"version": "1"},
            {"name": "ok/pkg", "version": "dev-main", "license": ["MIT", 7, ""]}
        ], "packages-dev": {"x": 1}}"#;
        let d = run(&ComposerLock, "/composer.lock", text.as_bytes()).unwrap();
        assert_eq!(nv(&d), [("psr/log", "1.1.4"), ("ok/pkg", "dev-main")]);
        assert_eq!(d.packages[0].licenses, ["MIT"]);
        assert_eq!(d.packages[1].licenses, ["MIT"]);
        assert_eq!(d.warnings.len(), 8, "{:?}", d.warnings);
        assert!(d.warnings[0].starts_with("packages[1]:"));
        assert_eq!(d.warnings[7], "packages-dev is not an array");
    }

    #[test]
    fn unreadable_files_are_errors() {
        for data in [&b""[..], b"{", b"[]", b"\"x\"", b"null", b"\xff"] {
            assert!(run(&ComposerLock, "/composer.lock", data).is_err(), "{data:?}");
        }
        for data in [&b""[..], b"{}", b"{\"packages\": {}}", b"3", b"[1"] {
            let r = run(&ComposerInstalled, "/vendor/composer/installed.json", data);
            assert!(r.is_err(), "{data:?}");
        }
        // An empty lock (a project without dependencies) is fine, BOM or not.
        let d = run(&ComposerLock, "/composer.lock", b"\xEF\xBB\xBF{\"packages\": [], \"packages-dev\": []}").unwrap();
        assert!(d.packages.is_empty() && d.warnings.is_empty());
    }

    #[test]
    fn truncated_fixtures_never_panic() {
        for (d, text) in [
            (&ComposerLock as &dyn Detector, LOCK),
            (&ComposerInstalled, INSTALLED_V1),
            (&ComposerInstalled, INSTALLED_V2),
        ] {
            for end in 0..text.len() {
                let _ = run(d, "/app/vendor/composer/installed.json", &text.as_bytes()[..end]);
            }
        }
    }

    #[test]
    fn matching() {
        assert!(ComposerLock.matches("/var/www/html/composer.lock", 0o644));
        assert!(!ComposerLock.matches("/var/www/html/composer.json", 0o644));
        assert!(!ComposerLock.matches("/var/www/html/xcomposer.lock", 0o644));
        assert!(ComposerInstalled.matches("/app/vendor/composer/installed.json", 0o644));
        assert!(ComposerInstalled.matches("/app/lib/composer/installed.json", 0o644));
        assert!(!ComposerInstalled.matches("/app/vendor/composer/installed.php", 0o644));
        assert!(!ComposerInstalled.matches("/usr/lib/node/installed.json", 0o644));
    }
}
