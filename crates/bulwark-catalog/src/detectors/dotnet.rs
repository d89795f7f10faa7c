//! .NET: the `<app>.deps.json` that `dotnet build`/`dotnet publish` writes next to an app.
//!
//! `targets.<framework>` and `libraries` are both keyed by `Name/Version`; only `libraries`
//! says what each one is. NuGet packages are `"type": "package"`; projects of the same
//! solution (`project`), framework reference assemblies (`reference`, `referenceassembly`)
//! and the runtime pack of a self-contained app (`runtimepack`) are not NuGet packages.

use super::Detector;
use crate::model::{DetectError, Detection, FileInput, Package, PackageType};
use serde_json::{Map, Value};
use std::collections::BTreeSet;

pub struct DepsJson;

impl Detector for DepsJson {
    fn name(&self) -> &'static str {
        "dotnet-deps"
    }

    fn matches(&self, path: &str, _mode: u32) -> bool {
        path.len() > ".deps.json".len() && path.ends_with(".deps.json") && !path.ends_with("/.deps.json")
    }

    fn detect(&self, file: &FileInput<'_>) -> Result<Detection, DetectError> {
        // The SDK writes no BOM, but other generators of this format do.
        let data = file.data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(file.data);
        let doc: Value = serde_json::from_slice(data)?;
        let doc = doc.as_object().ok_or_else(|| DetectError::malformed("deps.json is not a JSON object"))?;
        let libraries = match doc.get("libraries") {
            Some(Value::Object(l)) => l,
            _ => return Err(DetectError::malformed("no \"libraries\" object")),
        };
        let mut det = Detection::default();

        // Every Name/Version either section mentions, once: a library normally appears in
        // `libraries` and in every target framework (`net8.0` and `net8.0/linux-x64`, say).
        let mut keys: BTreeSet<&str> = libraries.keys().map(String::as_str).collect();
        match doc.get("targets") {
            None | Some(Value::Null) => {}
            Some(Value::Object(targets)) => {
                for (tfm, libs) in targets {
                    match libs.as_object() {
                        Some(libs) => keys.extend(libs.keys().map(String::as_str)),
                        None => det.warnings.push(format!("target {tfm:?} is not an object")),
                    }
                }
            }
            Some(_) => det.warnings.push("\"targets\" is not an object".to_string()),
        }

        for key in keys {
            match package_from(key, libraries, file.path) {
                Ok(Some(p)) => det.packages.push(p),
                Ok(None) => {}
                Err(why) => det.warnings.push(format!("{key:?}: {why}")),
            }
        }
        // By name, not by key: `/` sorts after `.`, which would put `A.B/1` after `A.B.C/1`.
        det.packages.sort_by(|a, b| (&a.name, &a.version).cmp(&(&b.name, &b.version)));
        Ok(det)
    }
}

fn package_from(key: &str, libraries: &Map<String, Value>, path: &str) -> Result<Option<Package>, String> {
    // Without its `libraries` entry there is no telling a package from a project.
    let lib = libraries
        .get(key)
        .ok_or("in targets but not in libraries")?
        .as_object()
        .ok_or("library entry is not an object")?;
    let kind = lib.get("type").and_then(Value::as_str).ok_or("library entry has no string \"type\"")?;
    if kind != "package" {
        return Ok(None);
    }
    // NuGet ids contain no `/`, but split at the last one anyway so the version stays whole.
    let (name, version) = key.rsplit_once('/').ok_or("no '/' between name and version")?;
    let bad = |s: &str| s.is_empty() || s.contains(|c: char| c.is_whitespace() || c.is_control());
    if bad(name) || bad(version) {
        return Err("bad name or version".to_string());
    }
    Ok(Some(Package::new(PackageType::Dotnet, name, version, path)))
}

#[cfg(test)]
// Tests panic on purpose when an expectation fails.
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const WEBAPP: &str = include_str!("../../tests/fixtures/dotnet/WebApp.deps.json");

    fn run(data: &[u8]) -> Result<Detection, DetectError> {
        DepsJson.detect(&FileInput { path: "/app/WebApp.deps.json", mode: 0o644, data })
    }

    fn nv(d: &Detection) -> Vec<(&str, &str)> {
        d.packages.iter().map(|p| (p.name.as_str(), p.version.as_str())).collect()
    }

    #[test]
    fn reads_packages_and_skips_projects() {
        let d = run(WEBAPP.as_bytes()).unwrap();
        assert!(d.warnings.is_empty(), "{:?}", d.warnings);
        assert_eq!(
            nv(&d),
            [
                ("Microsoft.Extensions.ApiDescription.Server", "6.0.5"),
                ("Microsoft.OpenApi", "1.2.3"),
                ("Newtonsoft.Json", "13.0.1"),
                ("Swashbuckle.AspNetCore", "6.5.0"),
                ("Swashbuckle.AspNetCore.Swagger", "6.5.0"),
                ("Swashbuckle.AspNetCore.SwaggerGen", "6.5.0"),
                ("Swashbuckle.AspNetCore.SwaggerUI", "6.5.0"),
            ]
        );
        let p = d.packages.iter().find(|p| p.name == "Newtonsoft.Json").unwrap();
        assert_eq!(p.kind, PackageType::Dotnet);
        assert_eq!(p.location.path, "/app/WebApp.deps.json");
        assert_eq!(crate::purl_for(p, None), "pkg:nuget/Newtonsoft.Json@13.0.1");
    }

    #[test]
    fn self_contained_runtime_pack_and_reference_assemblies_are_not_packages() {
        let text = r#"{
  "runtimeTarget": {"name": ".NETCoreApp,Version=v8.0/linux-x64", "signature": ""},
  "compilationOptions": {},
  "targets": {
    ".NETCoreApp,Version=v8.0": {
      "Api/1.0.0": {"dependencies": {"Serilog": "3.1.1"}, "runtime": {"Api.dll": {}}},
      "Serilog/3.1.1": {"runtime": {"lib/net7.0/Serilog.dll": {"assemblyVersion": "2.0.0.0", "fileVersion": "3.1.1.0"}}}
    },
    ".NETCoreApp,Version=v8.0/linux-x64": {
      "Api/1.0.0": {"dependencies": {"Serilog": "3.1.1", "runtimepack.Microsoft.NETCore.App.Runtime.linux-x64": "8.0.0"}, "runtime": {"Api.dll": {}}},
      "runtimepack.Microsoft.NETCore.App.Runtime.linux-x64/8.0.0": {"runtime": {"System.Private.CoreLib.dll": {"assemblyVersion": "8.0.0.0", "fileVersion": "8.0.23.53103"}}},
      "Serilog/3.1.1": {"runtime": {"lib/net7.0/Serilog.dll": {"assemblyVersion": "2.0.0.0", "fileVersion": "3.1.1.0"}}},
      "System.Web/4.0.0.0": {"compile": {"System.Web.dll": {}}}
    }
  },
  "libraries": {
    "Api/1.0.0": {"type": "project", "serviceable": false, "sha512": ""},
    "runtimepack.Microsoft.NETCore.App.Runtime.linux-x64/8.0.0": {"type": "runtimepack", "serviceable": false, "sha512": ""},
    "Serilog/3.1.1": {"type": "package", "serviceable": true, "sha512": "sha512-AAAA", "path": "serilog/3.1.1", "hashPath": "serilog.3.1.1.nupkg.sha512"},
    "System.Web/4.0.0.0": {"type": "reference", "serviceable": false, "sha512": ""}
  }
}"#;
        let d = run(text.as_bytes()).unwrap();
        assert!(d.warnings.is_empty(), "{:?}", d.warnings);
        assert_eq!(nv(&d), [("Serilog", "3.1.1")]);
    }

    #[test]
    fn malformed_entries_warn_and_the_rest_stays() {
        let text = r#"{
  "targets": {
    "net8.0": {"Orphan/1.0.0": {}, "Good/2.0.0": {}},
    "broken": [1, 2]
  },
  "libraries": {
    "Good/2.0.0": {"type": "package"},
    "NoSlash": {"type": "package"},
    "Empty/": {"type": "package"},
    "/1.0": {"type": "package"},
    "Sp ace/1.0": {"type": "package"},
    "NoType/1.0": {"sha512": ""},
    "NumType/1.0": {"type": 1},
    "NotObj/1.0": "package",
    "Odd/Name/1.0-beta": {"type": "package"}
  }
}"#;
        let d = run(text.as_bytes()).unwrap();
        assert_eq!(nv(&d), [("Good", "2.0.0"), ("Odd/Name", "1.0-beta")]);
        assert_eq!(d.warnings.len(), 9, "{:?}", d.warnings);
    }

    #[test]
    fn unreadable_files_are_errors() {
        for data in [&b""[..], b"{", b"[]", b"{\"targets\": {}}", b"{\"libraries\": []}", b"\xff"] {
            assert!(run(data).is_err(), "{data:?}");
        }
        let d = run(b"\xEF\xBB\xBF{\"libraries\": {}}").unwrap();
        assert!(d.packages.is_empty() && d.warnings.is_empty());
    }

    #[test]
    fn truncated_fixture_never_panics() {
        for end in 0..WEBAPP.len() {
            let _ = run(&WEBAPP.as_bytes()[..end]);
        }
    }

    #[test]
    fn matching() {
        assert!(DepsJson.matches("/app/WebApp.deps.json", 0o644));
        assert!(DepsJson
            .matches("/usr/share/dotnet/shared/Microsoft.NETCore.App/8.0.0/Microsoft.NETCore.App.deps.json", 0o644));
        assert!(!DepsJson.matches("/app/.deps.json", 0o644));
        assert!(!DepsJson.matches(".deps.json", 0o644));
        assert!(!DepsJson.matches("/app/WebApp.runtimeconfig.json", 0o644));
        assert!(!DepsJson.matches("/app/deps.json", 0o644));
    }
}
