//! CycloneDX 1.6 JSON, in the model of [`model`] (shared with the scan report's writer).
//!
//! Layout follows Syft's so the two compare directly: the image is `metadata.component`, the
//! OS is a component of type `operating-system`, every package is a `library` component
//! with the package type and location as `bulwark:` properties.

pub mod model;

use super::{is_dir, package_hash, source_name, source_version, Ids};
use crate::license::{self, Kind};
use crate::{Format, SbomError, Stamp};
use bulwark_catalog::{Inventory, OsInfo, Package};
use model::{package_ref, Bom, Component, License, LicenseChoice};
use std::collections::HashMap;
use std::io::Write;

pub struct CycloneDx;

const NAME: &str = "cyclonedx-json";

impl Format for CycloneDx {
    fn name(&self) -> &'static str {
        NAME
    }

    fn write(&self, inv: &Inventory, out: &mut dyn Write) -> Result<(), SbomError> {
        write_stamped(inv, &Stamp::from_env()?, out)
    }
}

/// Writes `inv` with the given time and id source, e.g. [`Stamp::at`] for byte-identical
/// output.
pub fn write_stamped(inv: &Inventory, stamp: &Stamp, out: &mut dyn Write) -> Result<(), SbomError> {
    let bom = build(inv, stamp)?;
    serde_json::to_writer_pretty(&mut *out, &bom)?;
    writeln!(out)?;
    Ok(())
}

fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}

fn build(inv: &Inventory, stamp: &Stamp) -> Result<Bom, SbomError> {
    let mut taken = Ids::default();

    let root = root_component(inv, &mut taken);
    let mut components = Vec::with_capacity(inv.packages.len() + 1);
    if let Some(os) = &inv.os {
        components.push(os_component(os, &mut taken));
    }
    let refs = bom_refs(&inv.packages, &mut taken);
    components.extend(inv.packages.iter().zip(refs).map(|(p, r)| package_component(p, r)));

    let mut bom = Bom::new(root, components);
    bom.serial_number = Some(format!("urn:uuid:{}", stamp.uuid(NAME, inv)?));
    bom.metadata.timestamp = Some(stamp.timestamp());
    Ok(bom)
}

/// Claims `want`, or `want-2`, `want-3`… if an earlier component holds it.
fn claim(taken: &mut Ids, want: String) -> String {
    taken.claim(want)
}

fn root_component(inv: &Inventory, taken: &mut Ids) -> Component {
    let src = &inv.source;
    let name = source_name(src);
    let mut c = Component::new(if is_dir(src) { "file" } else { "container" }, name);
    c.version = source_version(src).map(str::to_string);
    c.bom_ref = Some(claim(
        taken,
        match &c.version {
            Some(v) => format!("{name}@{v}"),
            None => name.to_string(),
        },
    ));
    if let Some(id) = &src.image_id {
        c.property("bulwark:image:id", id);
    }
    if let Some(p) = &src.platform {
        c.property("bulwark:image:platform", p);
    }
    c
}

fn os_component(os: &OsInfo, taken: &mut Ids) -> Component {
    let mut c = Component::new("operating-system", os.id.clone());
    c.version = non_empty(&os.version_id);
    c.description = non_empty(&os.pretty_name);
    c.bom_ref = Some(claim(taken, format!("os:{}@{}", os.id, os.version_id)));
    for like in &os.id_like {
        c.property("bulwark:distro:id-like", like);
    }
    if !os.version_codename.is_empty() {
        c.property("bulwark:distro:version-codename", &os.version_codename);
    }
    c
}

/// One unique `bom-ref` per package: the purl (else type/name@version) when only one
/// package has it, else that plus a `package-id` qualifier hashed from the package, which
/// differs between locations.
fn bom_refs(pkgs: &[Package], taken: &mut Ids) -> Vec<String> {
    let bases: Vec<String> =
        pkgs.iter().map(|p| package_ref(&p.purl, p.kind, p.namespace.as_deref(), &p.name, &p.version)).collect();
    let mut count: HashMap<&str, usize> = HashMap::new();
    for b in &bases {
        *count.entry(b).or_default() += 1;
    }
    pkgs.iter()
        .zip(&bases)
        .map(|(p, base)| {
            let want = if count.get(base.as_str()).copied().unwrap_or(0) > 1 {
                let sep = if base.contains('?') { '&' } else { '?' };
                format!("{base}{sep}package-id={}", package_hash(p))
            } else {
                base.clone()
            };
            claim(taken, want)
        })
        .collect()
}

fn package_component(p: &Package, bom_ref: String) -> Component {
    let mut c = Component::new("library", p.name.clone());
    c.bom_ref = Some(bom_ref);
    c.group = p.namespace.as_deref().and_then(non_empty);
    c.version = non_empty(&p.version);
    c.licenses = licenses(&p.licenses);
    c.purl = non_empty(&p.purl);
    c.property("bulwark:package:type", p.kind.as_str());
    if let Some(arch) = &p.arch {
        c.property("bulwark:package:arch", arch);
    }
    if let Some(s) = &p.source {
        c.property("bulwark:package:source-name", &s.name);
        c.property("bulwark:package:source-version", &s.version);
    }
    c.property("bulwark:location:path", &p.location.path);
    if let Some(layer) = &p.location.layer {
        c.property("bulwark:location:layer", layer);
    }
    c
}

/// SPDX ids that the `spdx` crate's (newer) license list has but the CycloneDX 1.6 schema's
/// enum does not: as `license.id` they would fail validation, so they go out as names.
/// A test keeps this in step with schemas/cyclonedx/spdx.SNAPSHOT.schema.json.
const NOT_IN_SCHEMA: &[&str] = &[
    "BSD-2-Clause-pos-unchanged",
    "BSD-3-Clause-OpenWebUI",
    "BSD-Source-Code-no-disclaimer",
    "BSD-Source-alt-GPL",
    "BSD-ask-to-endorse",
    "Brian-Gladman-3-Clause-no-conversion",
    "Bugroff",
    "CC-BY-NC-3.0-IGO",
    "FDK-MPEG-H",
    "GFDL-1.1-invariants",
    "GFDL-1.1-no-invariants",
    "GFDL-1.2-invariants",
    "GFDL-1.2-no-invariants",
    "GFDL-1.3-invariants",
    "GFDL-1.3-no-invariants",
    "Hippocratic-3.0-core",
    "Informatica",
    "MVT-1.1",
    "atc-game",
];

/// Ids as `license.id`, free text as `license.name`; a lone expression as `expression`, and
/// several ids and expressions ANDed into one expression. Free text next to an expression
/// leaves no valid form for the expression but a name, as the schema forbids mixing.
fn licenses(declared: &[String]) -> Vec<LicenseChoice> {
    let all = license::distinct(declared);
    let kinds: Vec<Kind> = all
        .iter()
        .map(|l| match license::classify(l) {
            Kind::Id if NOT_IN_SCHEMA.contains(l) => Kind::Name,
            k => k,
        })
        .collect();
    let any_expr = kinds.iter().any(|k| matches!(k, Kind::Expression { .. }));
    let any_name = kinds.contains(&Kind::Name);
    if any_expr && !any_name {
        return vec![LicenseChoice::Expression(license::and_all(all))];
    }
    all.iter()
        .zip(kinds)
        .map(|(l, k)| {
            LicenseChoice::License(match k {
                Kind::Id => License::Id(l.to_string()),
                Kind::Expression { .. } | Kind::Name => License::Name(l.to_string()),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use bulwark_catalog::{PackageType, SourceInfo, SourcePackage};
    use std::collections::HashSet;

    /// 20k identical packages (a hostile dpkg status can repeat one stanza a million times):
    /// each bom-ref tried `-2`, `-3`… from the start, which was quadratic.
    #[test]
    fn many_identical_packages_get_unique_refs_fast() {
        let inv = Inventory {
            packages: vec![Package::new(PackageType::Deb, "a", "1", "/var/lib/dpkg/status"); 20_000],
            ..Default::default()
        };
        let start = std::time::Instant::now();
        let bom = build(&inv, &Stamp::at(0).unwrap()).unwrap();
        assert!(start.elapsed().as_secs() < 5, "{:?}", start.elapsed());
        let refs: HashSet<&str> = bom.components.iter().filter_map(|c| c.bom_ref.as_deref()).collect();
        assert_eq!(refs.len(), 20_000);
        let base = bom.components[0].bom_ref.clone().unwrap();
        assert_eq!(bom.components[2].bom_ref.as_deref(), Some(format!("{base}-3").as_str()));
    }

    #[test]
    fn claims_go_on_where_they_left_off() {
        let mut ids = Ids::default();
        let got: Vec<String> =
            ["a", "a-2", "a", "a", "a-3-2", "a-3", "a-3", "b"].iter().map(|w| claim(&mut ids, w.to_string())).collect();
        assert_eq!(got, ["a", "a-2", "a-3", "a-4", "a-3-2", "a-3-3", "a-3-4", "b"]);
    }

    fn strings(l: &[&str]) -> Vec<String> {
        l.iter().map(|s| s.to_string()).collect()
    }

    fn id(s: &str) -> LicenseChoice {
        LicenseChoice::License(License::Id(s.into()))
    }

    fn name(s: &str) -> LicenseChoice {
        LicenseChoice::License(License::Name(s.into()))
    }

    #[test]
    fn license_mapping() {
        assert_eq!(licenses(&strings(&["MIT"])), [id("MIT")]);
        assert_eq!(licenses(&strings(&["MIT", "ISC", "MIT"])), [id("MIT"), id("ISC")]);
        assert_eq!(licenses(&strings(&["GPLv3+", "BSD-like"])), [name("GPLv3+"), name("BSD-like")]);
        assert_eq!(licenses(&strings(&["MIT", "BSD-like"])), [id("MIT"), name("BSD-like")]);
        assert_eq!(licenses(&strings(&["MIT OR Apache-2.0"])), [LicenseChoice::Expression("MIT OR Apache-2.0".into())]);
        assert_eq!(
            licenses(&strings(&["ISC", "MIT OR Apache-2.0"])),
            [LicenseChoice::Expression("ISC AND (MIT OR Apache-2.0)".into())]
        );
        assert_eq!(
            licenses(&strings(&["MIT OR Apache-2.0", "Apache 2.0"])),
            [name("MIT OR Apache-2.0"), name("Apache 2.0")]
        );
        assert_eq!(licenses(&strings(&["Bugroff"])), [name("Bugroff")]);
        assert!(licenses(&[]).is_empty());
        let json = serde_json::to_string(&licenses(&strings(&["MIT", "BSD-like"]))).unwrap();
        assert_eq!(json, r#"[{"license":{"id":"MIT"}},{"license":{"name":"BSD-like"}}]"#);
    }

    /// Every id the crate knows and the schema's enum lacks must be in [`NOT_IN_SCHEMA`],
    /// or a package with that license would make an invalid BOM.
    #[test]
    fn ids_missing_from_the_schema_are_listed() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../schemas/cyclonedx/spdx.SNAPSHOT.schema.json");
        let schema: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        let known: HashSet<&str> = schema["enum"].as_array().unwrap().iter().filter_map(|v| v.as_str()).collect();
        let missing: Vec<&str> = spdx::identifiers::LICENSES
            .iter()
            .map(|l| l.name)
            .filter(|n| !known.contains(n) && license::classify(n) == Kind::Id)
            .filter(|n| !NOT_IN_SCHEMA.contains(n))
            .collect();
        assert!(missing.is_empty(), "add to NOT_IN_SCHEMA: {missing:?}");
    }

    fn pkg(kind: PackageType, name: &str, version: &str, purl: &str, path: &str) -> Package {
        let mut p = Package::new(kind, name, version, path);
        p.purl = purl.to_string();
        p
    }

    fn inventory() -> Inventory {
        let mut deb =
            pkg(PackageType::Deb, "libc6", "2.36", "pkg:deb/debian/libc6@2.36?arch=amd64", "/var/lib/dpkg/status");
        deb.source = Some(SourcePackage { name: "glibc".into(), version: "2.36-9".into() });
        deb.arch = Some("amd64".into());
        deb.location.layer = Some("sha256:aa".into());
        let mut maven =
            pkg(PackageType::JavaArchive, "guava", "33.0", "pkg:maven/com.google/guava@33.0", "/app/lib/guava.jar");
        maven.namespace = Some("com.google".into());
        Inventory {
            source: SourceInfo {
                kind: "oci-dir".into(),
                input: "oci-dir:/x".into(),
                name: Some("app:1.0".into()),
                manifest_digest: Some("sha256:bb".into()),
                ..Default::default()
            },
            os: Some(OsInfo { id: "debian".into(), version_id: "12".into(), ..Default::default() }),
            packages: vec![
                deb,
                maven,
                // The same purl at two places, twice at one place, and no purl at all.
                pkg(PackageType::Npm, "@types/node", "20.1.0", "pkg:npm/%40types/node@20.1.0", "/a/package.json"),
                pkg(PackageType::Npm, "@types/node", "20.1.0", "pkg:npm/%40types/node@20.1.0", "/b/package.json"),
                pkg(PackageType::Npm, "@types/node", "20.1.0", "pkg:npm/%40types/node@20.1.0", "/b/package.json"),
                pkg(PackageType::Python, "odd_name", "1.0", "", "/site-packages/odd_name/METADATA"),
            ],
            warnings: Vec::new(),
            skipped: Vec::new(),
        }
    }

    #[test]
    fn structure_and_unique_bom_refs() {
        let mut out = Vec::new();
        write_stamped(&inventory(), &Stamp::at(1_700_000_000).unwrap(), &mut out).unwrap();
        let doc: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(doc["specVersion"], "1.6");
        assert_eq!(doc["metadata"]["timestamp"], "2023-11-14T22:13:20Z");
        assert_eq!(doc["metadata"]["component"]["type"], "container");
        assert_eq!(doc["metadata"]["component"]["name"], "app:1.0");
        assert_eq!(doc["metadata"]["component"]["version"], "sha256:bb");
        assert_eq!(doc["metadata"]["tools"]["components"][0]["name"], "bulwark");
        let serial = doc["serialNumber"].as_str().unwrap();
        assert!(serial.starts_with("urn:uuid:") && serial.len() == 45, "{serial}");

        let comps = doc["components"].as_array().unwrap();
        assert_eq!(comps[0]["type"], "operating-system");
        assert_eq!(comps[0]["name"], "debian");
        assert!(comps[1..].iter().all(|c| c["type"] == "library"));
        let mut refs: Vec<&str> = comps.iter().map(|c| c["bom-ref"].as_str().unwrap()).collect();
        refs.push(doc["metadata"]["component"]["bom-ref"].as_str().unwrap());
        assert_eq!(refs.iter().collect::<HashSet<_>>().len(), refs.len(), "{refs:?}");
        // A purl held by one package is its bom-ref as it is.
        assert_eq!(comps[1]["bom-ref"], "pkg:deb/debian/libc6@2.36?arch=amd64");
        assert!(refs[3].starts_with("pkg:npm/%40types/node@20.1.0?package-id="), "{refs:?}");
        assert!(refs[5].ends_with("-2"), "{refs:?}");
        assert_eq!(comps[6]["bom-ref"], "python:odd_name@1.0");
        assert!(comps[6].get("purl").is_none());

        assert_eq!(comps[2]["group"], "com.google");
        let props: Vec<(&str, &str)> = comps[1]["properties"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p["name"].as_str().unwrap(), p["value"].as_str().unwrap()))
            .collect();
        for want in [
            ("bulwark:package:type", "deb"),
            ("bulwark:package:source-name", "glibc"),
            ("bulwark:package:source-version", "2.36-9"),
            ("bulwark:location:path", "/var/lib/dpkg/status"),
            ("bulwark:location:layer", "sha256:aa"),
        ] {
            assert!(props.contains(&want), "{want:?} in {props:?}");
        }
    }

    #[test]
    fn reproducible_with_a_fixed_stamp() {
        let write = |s: Stamp| {
            let mut out = Vec::new();
            write_stamped(&inventory(), &s, &mut out).unwrap();
            out
        };
        let s = Stamp::at(42).unwrap();
        assert_eq!(write(s), write(s));
        assert_ne!(write(Stamp::now()), write(Stamp::now()));
    }
}
