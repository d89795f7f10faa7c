//! SPDX 2.3 JSON: the image as a CONTAINER package the document describes, containing the
//! OS and every package found.

use super::{is_dir, package_hash, source_name, source_version, Ids};
use crate::license::{self, Kind};
use crate::{Format, SbomError, Stamp};
use bulwark_catalog::{Inventory, OsInfo, Package};
use serde::Serialize;
use std::collections::HashMap;
use std::io::Write;

pub struct Spdx;

const NAME: &str = "spdx-json";

/// Namespaces only need to be unique URIs, not resolvable; `.invalid` (RFC 2606) says so
/// and claims nobody's domain.
const NAMESPACE_BASE: &str = "https://bulwark.invalid/spdx/";

const NOASSERTION: &str = "NOASSERTION";

impl Format for Spdx {
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
    let doc = build(inv, stamp)?;
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    writeln!(out)?;
    Ok(())
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Document {
    spdx_version: &'static str,
    data_license: &'static str,
    #[serde(rename = "SPDXID")]
    spdx_id: &'static str,
    name: String,
    document_namespace: String,
    creation_info: CreationInfo,
    packages: Vec<SpdxPackage>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    has_extracted_licensing_infos: Vec<ExtractedLicense>,
    relationships: Vec<Relationship>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CreationInfo {
    created: String,
    creators: Vec<String>,
    license_list_version: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SpdxPackage {
    #[serde(rename = "SPDXID")]
    spdx_id: String,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    version_info: Option<String>,
    supplier: &'static str,
    download_location: &'static str,
    files_analyzed: bool,
    license_concluded: &'static str,
    license_declared: String,
    copyright_text: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    source_info: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    external_refs: Vec<ExternalRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    primary_package_purpose: Option<&'static str>,
}

impl SpdxPackage {
    fn new(spdx_id: String, name: impl Into<String>, version: &str) -> Self {
        SpdxPackage {
            spdx_id,
            name: name.into(),
            version_info: (!version.is_empty()).then(|| version.to_string()),
            supplier: NOASSERTION,
            download_location: NOASSERTION,
            // No file list: bulwark reads package metadata, not every file of a package.
            files_analyzed: false,
            license_concluded: NOASSERTION,
            license_declared: NOASSERTION.to_string(),
            copyright_text: NOASSERTION,
            source_info: None,
            external_refs: Vec::new(),
            primary_package_purpose: None,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExternalRef {
    reference_category: &'static str,
    reference_type: &'static str,
    reference_locator: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Relationship {
    spdx_element_id: String,
    relationship_type: &'static str,
    related_spdx_element: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExtractedLicense {
    license_id: String,
    /// Only the declared string: bulwark records license names, not license texts.
    extracted_text: String,
    name: String,
    comment: &'static str,
}

/// The characters SPDX allows after `SPDXRef-` and `LicenseRef-` are letters, digits, `.`
/// and `-`; anything else (`@`, `/`, `_`, `+`, non-ASCII) becomes `-`, runs of `-` shrink
/// to one, and the result is cut to a readable length.
pub(crate) fn sanitise(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let c = if c.is_ascii_alphanumeric() || c == '.' { c } else { '-' };
        if c == '-' && (out.is_empty() || out.ends_with('-')) {
            continue;
        }
        out.push(c);
        if out.len() >= 64 {
            break;
        }
    }
    let trimmed = out.trim_end_matches('-');
    if trimmed.is_empty() {
        "x".to_string()
    } else {
        trimmed.to_string()
    }
}

/// Claims `want`, or `want-2`, `want-3`… if an earlier element holds it.
fn claim(taken: &mut Ids, want: String) -> String {
    taken.claim(want)
}

/// Free-text licenses turned into `LicenseRef-` ids, each defined once in the document.
#[derive(Default)]
struct LicenseRefs {
    by_text: HashMap<String, String>,
    taken: Ids,
    defined: Vec<ExtractedLicense>,
}

impl LicenseRefs {
    fn get(&mut self, text: &str) -> String {
        if let Some(id) = self.by_text.get(text) {
            return id.clone();
        }
        // Two texts can sanitise alike ("GPLv3+", "GPLv3-"); claim keeps their ids apart.
        let id = claim(&mut self.taken, format!("LicenseRef-{}", sanitise(text)));
        self.defined.push(ExtractedLicense {
            license_id: id.clone(),
            extracted_text: text.to_string(),
            name: text.to_string(),
            comment: "The license as the package declares it; it is not an SPDX license id or expression.",
        });
        self.by_text.insert(text.to_string(), id.clone());
        id
    }

    /// `licenseDeclared`: the declared strings ANDed, each one an SPDX id or expression as it
    /// is, or else a `LicenseRef-`. An expression that names its own `LicenseRef-`s is taken
    /// whole as free text, as this document could not define what those refer to.
    fn declared(&mut self, declared: &[String]) -> String {
        let parts: Vec<String> = license::distinct(declared)
            .into_iter()
            .map(|l| match license::classify(l) {
                Kind::Id | Kind::Expression { refs: false } => l.to_string(),
                Kind::Expression { refs: true } | Kind::Name => self.get(l),
            })
            .collect();
        if parts.is_empty() {
            NOASSERTION.to_string()
        } else {
            license::and_all(parts.iter().map(String::as_str))
        }
    }
}

fn source_info(p: &Package) -> String {
    let mut s = format!("acquired package info from {} metadata: {}", p.kind, p.location.path);
    if let Some(layer) = &p.location.layer {
        s.push_str(&format!(" in layer {layer}"));
    }
    if let Some(src) = &p.source {
        s.push_str(&format!("; built from source package {} {}", src.name, src.version));
    }
    s
}

/// `SPDXRef-Package-<type>-<name>-<hash>`: readable, and unique through the hash of every
/// identifying field.
fn package_id(p: &Package) -> String {
    let name = match &p.namespace {
        Some(g) => format!("{g}-{}", p.name),
        None => p.name.clone(),
    };
    format!("SPDXRef-Package-{}-{}-{}", p.kind, sanitise(&name), package_hash(p))
}

fn os_package(os: &OsInfo, taken: &mut Ids) -> SpdxPackage {
    let id = claim(taken, format!("SPDXRef-OperatingSystem-{}", sanitise(&format!("{}-{}", os.id, os.version_id))));
    let mut pkg = SpdxPackage::new(id, os.id.clone(), &os.version_id);
    // The spec's prose says OPERATING-SYSTEM, but the official 2.3 JSON schema's enum only
    // has OPERATING_SYSTEM; spdx-tools reads either.
    pkg.primary_package_purpose = Some("OPERATING_SYSTEM");
    if !os.pretty_name.is_empty() {
        pkg.source_info = Some(format!("acquired from os-release: {}", os.pretty_name));
    }
    pkg
}

fn build(inv: &Inventory, stamp: &Stamp) -> Result<Document, SbomError> {
    let src = &inv.source;
    let name = source_name(src);
    let uuid = stamp.uuid(NAME, inv)?;
    let mut taken = Ids::default();
    let mut refs = LicenseRefs::default();

    let (what, purpose) = if is_dir(src) { ("Directory", "FILE") } else { ("Image", "CONTAINER") };
    let root_id = claim(&mut taken, format!("SPDXRef-DocumentRoot-{what}-{}", sanitise(name)));
    let mut root = SpdxPackage::new(root_id.clone(), name, source_version(src).unwrap_or(""));
    root.primary_package_purpose = Some(purpose);

    let mut packages = vec![root];
    let mut relationships = vec![Relationship {
        spdx_element_id: "SPDXRef-DOCUMENT".to_string(),
        relationship_type: "DESCRIBES",
        related_spdx_element: root_id.clone(),
    }];
    let contains = |id: &str| Relationship {
        spdx_element_id: root_id.clone(),
        relationship_type: "CONTAINS",
        related_spdx_element: id.to_string(),
    };

    if let Some(os) = &inv.os {
        let pkg = os_package(os, &mut taken);
        relationships.push(contains(&pkg.spdx_id));
        packages.push(pkg);
    }
    for p in &inv.packages {
        let mut pkg = SpdxPackage::new(claim(&mut taken, package_id(p)), p.name.clone(), &p.version);
        pkg.license_declared = refs.declared(&p.licenses);
        pkg.source_info = Some(source_info(p));
        if !p.purl.is_empty() {
            pkg.external_refs.push(ExternalRef {
                reference_category: "PACKAGE-MANAGER",
                reference_type: "purl",
                reference_locator: p.purl.clone(),
            });
        }
        relationships.push(contains(&pkg.spdx_id));
        packages.push(pkg);
    }

    // SPDX wants "M.N"; the crate says "M.N.P".
    let list = spdx::license_version().split('.').take(2).collect::<Vec<_>>().join(".");
    Ok(Document {
        spdx_version: "SPDX-2.3",
        data_license: "CC0-1.0",
        spdx_id: "SPDXRef-DOCUMENT",
        name: name.to_string(),
        document_namespace: format!("{NAMESPACE_BASE}{}-{uuid}", sanitise(name)),
        creation_info: CreationInfo {
            created: stamp.timestamp(),
            creators: vec![format!("Tool: bulwark-{}", env!("CARGO_PKG_VERSION"))],
            license_list_version: list,
        },
        packages,
        has_extracted_licensing_infos: refs.defined,
        relationships,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bulwark_catalog::{PackageType, SourceInfo};
    use std::collections::HashSet;

    /// 20k identical packages, and 10k free-text licenses that sanitise alike: each id tried
    /// `-2`, `-3`… from the start, which was quadratic.
    #[test]
    fn many_identical_ids_are_claimed_fast() {
        let mut p = Package::new(PackageType::Deb, "a", "1", "/var/lib/dpkg/status");
        p.licenses =
            (0..10_000).map(|i| format!("Custom license {}", "+".repeat(i % 7) + &"~".repeat(i / 7))).collect();
        let mut inv = Inventory { packages: vec![p; 2], ..Default::default() };
        inv.packages.extend(vec![Package::new(PackageType::Deb, "a", "1", "/var/lib/dpkg/status"); 20_000]);
        let start = std::time::Instant::now();
        let doc = build(&inv, &Stamp::at(0).unwrap()).unwrap();
        assert!(start.elapsed().as_secs() < 10, "{:?}", start.elapsed());
        let ids: HashSet<&str> = doc.packages.iter().map(|p| p.spdx_id.as_str()).collect();
        assert_eq!(ids.len(), doc.packages.len());
        let refs: HashSet<&str> = doc.has_extracted_licensing_infos.iter().map(|l| l.license_id.as_str()).collect();
        assert_eq!(refs.len(), 10_000);
    }

    fn strings(l: &[&str]) -> Vec<String> {
        l.iter().map(|s| s.to_string()).collect()
    }

    fn valid_idstring(s: &str) -> bool {
        !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
    }

    #[test]
    fn sanitised_ids_use_only_the_allowed_characters() {
        assert_eq!(sanitise("@types/node"), "types-node");
        assert_eq!(sanitise("libstdc++6"), "libstdc-6");
        assert_eq!(sanitise("zope_interface"), "zope-interface");
        assert_eq!(sanitise("naïve"), "na-ve");
        assert_eq!(sanitise("日本"), "x");
        assert_eq!(sanitise(""), "x");
        assert_eq!(sanitise(&"a".repeat(200)).len(), 64);
        for s in ["@types/node", "c++", "ü", "a b\tc", "--x--", "GPLv3+"] {
            assert!(valid_idstring(&sanitise(s)), "{s}");
        }
    }

    #[test]
    fn license_declared_mapping() {
        let mut r = LicenseRefs::default();
        assert_eq!(r.declared(&[]), "NOASSERTION");
        assert_eq!(r.declared(&strings(&["MIT"])), "MIT");
        assert_eq!(r.declared(&strings(&["MIT OR Apache-2.0"])), "MIT OR Apache-2.0");
        assert_eq!(r.declared(&strings(&["ISC", "MIT OR Apache-2.0"])), "ISC AND (MIT OR Apache-2.0)");
        assert_eq!(r.declared(&strings(&["GPLv3+"])), "LicenseRef-GPLv3");
        assert_eq!(r.declared(&strings(&["GPLv3-"])), "LicenseRef-GPLv3-2");
        assert_eq!(
            r.declared(&strings(&["MIT", "BSD-like", "GPLv3+"])),
            "MIT AND LicenseRef-BSD-like AND LicenseRef-GPLv3"
        );
        assert_eq!(r.declared(&strings(&["LicenseRef-Foo"])), "LicenseRef-LicenseRef-Foo");
        let ids: Vec<&str> = r.defined.iter().map(|d| d.license_id.as_str()).collect();
        assert_eq!(ids, ["LicenseRef-GPLv3", "LicenseRef-GPLv3-2", "LicenseRef-BSD-like", "LicenseRef-LicenseRef-Foo"]);
        assert_eq!(r.defined[0].extracted_text, "GPLv3+");
    }

    #[test]
    fn structure_and_unique_ids() {
        let mut a = Package::new(PackageType::Npm, "@types/node", "20.1.0", "/a/package.json");
        a.purl = "pkg:npm/%40types/node@20.1.0".into();
        let mut b = a.clone();
        b.location.path = "/b/package.json".into();
        let c = b.clone();
        let inv = Inventory {
            source: SourceInfo {
                kind: "oci-dir".into(),
                input: "oci-dir:/x".into(),
                name: Some("my/app:1.0".into()),
                manifest_digest: Some("sha256:bb".into()),
                ..Default::default()
            },
            os: Some(OsInfo { id: "alpine".into(), version_id: "3.20.3".into(), ..Default::default() }),
            packages: vec![a, b, c],
            warnings: Vec::new(),
            skipped: Vec::new(),
        };
        let mut out = Vec::new();
        write_stamped(&inv, &Stamp::at(0).unwrap(), &mut out).unwrap();
        let doc: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(doc["spdxVersion"], "SPDX-2.3");
        assert_eq!(doc["creationInfo"]["created"], "1970-01-01T00:00:00Z");
        assert!(doc["documentNamespace"].as_str().unwrap().starts_with("https://bulwark.invalid/spdx/my-app-1.0-"));
        let pkgs = doc["packages"].as_array().unwrap();
        assert_eq!(pkgs.len(), 5);
        assert_eq!(pkgs[0]["primaryPackagePurpose"], "CONTAINER");
        assert_eq!(pkgs[0]["SPDXID"], "SPDXRef-DocumentRoot-Image-my-app-1.0");
        assert_eq!(pkgs[1]["primaryPackagePurpose"], "OPERATING_SYSTEM");
        let ids: Vec<&str> = pkgs.iter().map(|p| p["SPDXID"].as_str().unwrap()).collect();
        assert_eq!(ids.iter().collect::<HashSet<_>>().len(), ids.len(), "{ids:?}");
        for id in &ids {
            assert!(valid_idstring(id.strip_prefix("SPDXRef-").unwrap()), "{id}");
        }
        assert!(ids[2].starts_with("SPDXRef-Package-npm-types-node-"), "{ids:?}");
        assert_eq!(pkgs[2]["externalRefs"][0]["referenceLocator"], "pkg:npm/%40types/node@20.1.0");
        let rel = doc["relationships"].as_array().unwrap();
        assert_eq!(rel[0]["relationshipType"], "DESCRIBES");
        assert_eq!(rel.len(), 1 + 4);
        assert!(rel[1..].iter().all(|r| r["relationshipType"] == "CONTAINS" && r["spdxElementId"] == ids[0]));
    }
}
