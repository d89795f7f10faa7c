//! Reading an SBOM back into an [`Inventory`]: CycloneDX JSON (1.2–1.6) and SPDX 2.x JSON,
//! as bulwark, Syft and Trivy write them, so `bulwark scan sbom:FILE` needs no image.
//!
//! A package is identified by its purl alone (type, namespace, name, version); the rest
//! (source package, location, licenses, OS) comes from whichever tool's fields are present.
//! Components without a usable purl are skipped and counted in one warning per reason.

use bulwark_catalog::{Inventory, Location, OsInfo, Package, PackageType, SourceInfo, SourcePackage};
use packageurl::PackageUrl;
use serde::{Deserialize, Deserializer};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Read;
use std::path::Path;
use std::str::FromStr;

/// The largest SBOM read. Syft's SPDX for a big image (file lists included) runs to tens of
/// MiB; past this it is not an SBOM worth holding in memory.
pub const MAX_SBOM_BYTES: u64 = 256 << 20;

/// Strings from the document echoed in warnings are cut to this many characters.
const ECHO_MAX: usize = 120;

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("reading SBOM {name}: {source}")]
    Io {
        name: String,
        #[source]
        source: std::io::Error,
    },
    #[error("SBOM {name} is larger than the {limit}-byte limit")]
    TooLarge { name: String, limit: u64 },
    #[error("SBOM {name} is not valid JSON: {source}")]
    NotJson {
        name: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("SBOM {name} does not have the shape of CycloneDX or SPDX JSON: {source}")]
    Shape {
        name: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("SBOM {name}: {what} is not supported (CycloneDX 1.2–1.6 JSON or SPDX 2.x JSON are)")]
    Unsupported { name: String, what: String },
    #[error(
        "SBOM {name} is neither CycloneDX JSON (bomFormat \"CycloneDX\") nor SPDX JSON (spdxVersion \"SPDX-2.x\")"
    )]
    Unrecognised { name: String },
}

/// Reads the SBOM at `path`, refusing one larger than [`MAX_SBOM_BYTES`] before reading it.
pub fn read_sbom_file(path: impl AsRef<Path>) -> Result<Inventory, ReadError> {
    let path = path.as_ref();
    let name = path.display().to_string();
    let io = |source| ReadError::Io { name: name.clone(), source };
    let file = std::fs::File::open(path).map_err(io)?;
    let len = file.metadata().map_err(io)?.len();
    if len > MAX_SBOM_BYTES {
        return Err(ReadError::TooLarge { name, limit: MAX_SBOM_BYTES });
    }
    // A pipe or device says 0: `take` keeps the cap for those too.
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    file.take(MAX_SBOM_BYTES + 1).read_to_end(&mut bytes).map_err(io)?;
    read_sbom(&bytes, &name)
}

/// Reads a CycloneDX or SPDX JSON document; `name` names it in errors, warnings and the
/// inventory's source.
pub fn read_sbom(bytes: &[u8], name: &str) -> Result<Inventory, ReadError> {
    if bytes.len() as u64 > MAX_SBOM_BYTES {
        return Err(ReadError::TooLarge { name: name.to_string(), limit: MAX_SBOM_BYTES });
    }
    // Editors on Windows write a byte-order mark; serde_json refuses it.
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    sniff_other_formats(bytes, name)?;
    // serde_json's recursion limit (128) turns a deeply nested document into an error
    // rather than a stack overflow.
    let doc: Document = serde_json::from_slice(bytes).map_err(|source| match source.classify() {
        serde_json::error::Category::Data => ReadError::Shape { name: name.to_string(), source },
        _ => ReadError::NotJson { name: name.to_string(), source },
    })?;
    let mut reader = Reader::new(name);
    if let Some(format) = doc.bom_format.as_deref() {
        if format != "CycloneDX" {
            return Err(ReadError::Unsupported { name: name.into(), what: format!("bomFormat {:?}", clip(format)) });
        }
        reader.cyclonedx(&doc)?;
    } else if let Some(version) = doc.spdx_version.as_deref() {
        if !version.starts_with("SPDX-2.") {
            return Err(ReadError::Unsupported { name: name.into(), what: format!("spdxVersion {:?}", clip(version)) });
        }
        reader.spdx(&doc);
    } else {
        return Err(ReadError::Unrecognised { name: name.into() });
    }
    Ok(reader.finish())
}

/// XML and tag-value are the other SBOM encodings people will hand us: say so plainly
/// instead of reporting a JSON syntax error at column 1.
fn sniff_other_formats(bytes: &[u8], name: &str) -> Result<(), ReadError> {
    let start = bytes.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(bytes.len());
    let head = &bytes[start..bytes.len().min(start + 64)];
    let what = if head.starts_with(b"<") {
        "XML"
    } else if head.starts_with(b"SPDXVersion:") {
        "SPDX tag-value"
    } else {
        return Ok(());
    };
    Err(ReadError::Unsupported { name: name.to_string(), what: what.to_string() })
}

// ---- The document: one struct for both formats, only the fields read ----

/// `null` where a list is expected reads as an empty list.
fn list<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Vec<T>, D::Error> {
    Option::<Vec<T>>::deserialize(d).map(Option::unwrap_or_default)
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Document {
    // CycloneDX
    bom_format: Option<String>,
    spec_version: Option<String>,
    metadata: Option<CdxMetadata>,
    #[serde(default, deserialize_with = "list")]
    components: Vec<CdxComponent>,
    // SPDX
    spdx_version: Option<String>,
    creation_info: Option<SpdxCreationInfo>,
    #[serde(default, deserialize_with = "list")]
    packages: Vec<SpdxPackage>,
    #[serde(default, deserialize_with = "list")]
    relationships: Vec<SpdxRelationship>,
    #[serde(default, deserialize_with = "list")]
    document_describes: Vec<String>,
    #[serde(default, deserialize_with = "list")]
    has_extracted_licensing_infos: Vec<SpdxExtractedLicense>,
}

#[derive(Deserialize, Default)]
struct CdxMetadata {
    component: Option<CdxComponent>,
}

#[derive(Deserialize, Default)]
struct CdxComponent {
    #[serde(rename = "type")]
    kind: Option<String>,
    group: Option<String>,
    name: Option<String>,
    version: Option<String>,
    description: Option<String>,
    purl: Option<String>,
    #[serde(default, deserialize_with = "list")]
    licenses: Vec<CdxLicenseChoice>,
    #[serde(default, deserialize_with = "list")]
    properties: Vec<CdxProperty>,
    #[serde(default, deserialize_with = "list")]
    components: Vec<CdxComponent>,
}

#[derive(Deserialize, Default)]
struct CdxLicenseChoice {
    license: Option<CdxLicense>,
    expression: Option<String>,
}

#[derive(Deserialize, Default)]
struct CdxLicense {
    id: Option<String>,
    name: Option<String>,
}

#[derive(Deserialize, Default)]
struct CdxProperty {
    name: Option<String>,
    value: Option<String>,
}

#[derive(Deserialize, Default)]
struct SpdxCreationInfo {
    #[serde(default, deserialize_with = "list")]
    creators: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct SpdxPackage {
    #[serde(rename = "SPDXID")]
    spdx_id: Option<String>,
    name: Option<String>,
    version_info: Option<String>,
    license_declared: Option<String>,
    license_concluded: Option<String>,
    source_info: Option<String>,
    primary_package_purpose: Option<String>,
    #[serde(default, deserialize_with = "list")]
    external_refs: Vec<SpdxExternalRef>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct SpdxExternalRef {
    reference_type: Option<String>,
    reference_locator: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct SpdxRelationship {
    spdx_element_id: Option<String>,
    relationship_type: Option<String>,
    related_spdx_element: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct SpdxExtractedLicense {
    license_id: Option<String>,
    extracted_text: Option<String>,
    name: Option<String>,
}

// ---- From either format to packages ----

/// What one component or package says about itself, before its purl is interpreted.
#[derive(Default)]
struct Entry<'a> {
    purl: &'a str,
    /// The names the document gives (`name`, and `group/name`): kept over the purl's name
    /// where they differ only in case, which some purl types fold.
    names: Vec<String>,
    version: Option<&'a str>,
    licenses: Vec<String>,
    source_name: Option<String>,
    source_version: Option<String>,
    arch: Option<String>,
    path: Option<String>,
    layer: Option<String>,
}

struct Reader<'n> {
    name: &'n str,
    inv: Inventory,
    /// `distro` qualifier of the first OS package: the OS where the document names none.
    distro: Option<String>,
    no_purl: usize,
    bad_purl: usize,
    first_bad: Option<String>,
    unsupported: BTreeMap<String, usize>,
}

impl<'n> Reader<'n> {
    fn new(name: &'n str) -> Self {
        Reader {
            name,
            inv: Inventory {
                source: SourceInfo { kind: "sbom".into(), input: name.to_string(), ..Default::default() },
                ..Default::default()
            },
            distro: None,
            no_purl: 0,
            bad_purl: 0,
            first_bad: None,
            unsupported: BTreeMap::new(),
        }
    }

    fn cyclonedx(&mut self, doc: &Document) -> Result<(), ReadError> {
        let spec = doc.spec_version.as_deref().unwrap_or("");
        let minor = spec.strip_prefix("1.").and_then(|m| m.parse::<u32>().ok());
        match minor {
            Some(2..=6) => {}
            // Later 1.x add fields but keep the ones read here.
            Some(m) if m > 6 => {
                self.inv.warnings.push(format!("{}: CycloneDX {spec} is newer than 1.6; read as 1.6", self.name))
            }
            _ => {
                return Err(ReadError::Unsupported {
                    name: self.name.into(),
                    what: format!("CycloneDX specVersion {:?}", clip(spec)),
                })
            }
        }
        if let Some(root) = doc.metadata.as_ref().and_then(|m| m.component.as_ref()) {
            let src = &mut self.inv.source;
            src.name = root.name.clone().filter(|n| !n.is_empty());
            src.manifest_digest = root.version.clone().filter(|v| v.starts_with("sha256:"));
            src.image_id =
                prop(root, "bulwark:image:id").or_else(|| prop(root, "aquasecurity:trivy:ImageID")).map(Into::into);
            src.platform = prop(root, "bulwark:image:platform").map(Into::into);
        }
        // Depth-first in document order, nested components included; a stack rather than
        // recursion, though serde's depth limit already bounds the nesting.
        let mut stack: Vec<&CdxComponent> = doc.components.iter().rev().collect();
        while let Some(c) = stack.pop() {
            stack.extend(c.components.iter().rev());
            self.cdx_component(c);
        }
        Ok(())
    }

    fn cdx_component(&mut self, c: &CdxComponent) {
        let kind = c.kind.as_deref().unwrap_or("library");
        if kind == "operating-system" {
            if self.inv.os.is_none() {
                self.inv.os = Some(cdx_os(c));
            }
            return;
        }
        let Some(purl) = c.purl.as_deref().filter(|p| !p.trim().is_empty()) else {
            // Files, containers, data and the like are not packages; a library without a
            // purl is one we cannot identify.
            if matches!(kind, "library" | "application" | "framework") {
                self.no_purl += 1;
            }
            return;
        };
        let mut e = Entry { purl, version: c.version.as_deref(), ..Default::default() };
        if let Some(n) = c.name.as_deref() {
            e.names.push(n.to_string());
            if let Some(g) = c.group.as_deref().filter(|g| !g.is_empty()) {
                e.names.push(format!("{g}/{n}"));
            }
        }
        for l in &c.licenses {
            let text =
                l.expression.as_deref().or(l.license.as_ref().and_then(|l| l.id.as_deref().or(l.name.as_deref())));
            if let Some(t) = text.filter(|t| !t.is_empty()) {
                e.licenses.push(t.to_string());
            }
        }
        let p = |n| prop(c, n).map(str::to_string);
        // Ours, then Syft's, then Trivy's.
        e.source_name = p("bulwark:package:source-name")
            .or_else(|| p("syft:metadata:source"))
            .or_else(|| p("aquasecurity:trivy:SrcName"));
        e.source_version = p("bulwark:package:source-version")
            .or_else(|| p("syft:metadata:sourceVersion"))
            .or_else(|| trivy_source_version(c));
        e.arch = p("bulwark:package:arch");
        e.path = p("bulwark:location:path")
            .or_else(|| p("syft:location:0:path"))
            .or_else(|| p("aquasecurity:trivy:FilePath").map(|f| if f.starts_with('/') { f } else { format!("/{f}") }));
        e.layer = p("bulwark:location:layer")
            .or_else(|| p("syft:location:0:layerID"))
            .or_else(|| p("aquasecurity:trivy:LayerDiffID"));
        self.add(e);
    }

    fn spdx(&mut self, doc: &Document) {
        let ours =
            doc.creation_info.as_ref().is_some_and(|c| c.creators.iter().any(|t| t.starts_with("Tool: bulwark-")));
        let mut described: HashSet<&str> = doc.document_describes.iter().map(String::as_str).collect();
        for r in &doc.relationships {
            match (r.spdx_element_id.as_deref(), r.relationship_type.as_deref(), r.related_spdx_element.as_deref()) {
                (Some("SPDXRef-DOCUMENT"), Some("DESCRIBES"), Some(id)) => {
                    described.insert(id);
                }
                (Some(id), Some("DESCRIBED_BY"), Some("SPDXRef-DOCUMENT")) => {
                    described.insert(id);
                }
                _ => {}
            }
        }
        let extracted: HashMap<&str, &str> = doc
            .has_extracted_licensing_infos
            .iter()
            .filter_map(|l| Some((l.license_id.as_deref()?, l.extracted_text.as_deref().or(l.name.as_deref())?)))
            .collect();

        for pkg in &doc.packages {
            let purpose = pkg.primary_package_purpose.as_deref().unwrap_or("");
            if matches!(purpose, "OPERATING_SYSTEM" | "OPERATING-SYSTEM") {
                if self.inv.os.is_none() {
                    self.inv.os = Some(spdx_os(pkg));
                }
                continue;
            }
            let is_root = pkg.spdx_id.as_deref().is_some_and(|id| described.contains(id));
            if is_root && self.inv.source.name.is_none() {
                self.inv.source.name = pkg.name.clone().filter(|n| !n.is_empty());
                self.inv.source.manifest_digest = pkg.version_info.clone().filter(|v| v.starts_with("sha256:"));
            }
            let purl = pkg
                .external_refs
                .iter()
                .find(|r| r.reference_type.as_deref() == Some("purl"))
                .and_then(|r| r.reference_locator.as_deref())
                .filter(|p| !p.trim().is_empty());
            // The image or directory the document describes is not a package in it.
            if purpose == "CONTAINER" || (is_root && purl.is_none_or(|p| kind_of(p).is_none())) {
                continue;
            }
            let Some(purl) = purl else {
                self.no_purl += 1;
                continue;
            };
            let mut e = Entry { purl, version: pkg.version_info.as_deref(), ..Default::default() };
            e.names.extend(pkg.name.clone());
            e.licenses = spdx_licenses(pkg, &extracted);
            if let Some(info) = pkg.source_info.as_deref() {
                if ours {
                    read_our_source_info(info, &mut e);
                } else {
                    e.path = first_path(info);
                }
            }
            self.add(e);
        }
    }

    fn add(&mut self, e: Entry<'_>) {
        let purl = match PackageUrl::from_str(e.purl) {
            Ok(p) => p,
            Err(err) => {
                self.bad_purl += 1;
                if self.first_bad.is_none() {
                    self.first_bad = Some(format!("{:?}: {}", clip(e.purl), clip(&err.to_string())));
                }
                return;
            }
        };
        let Some(kind) = PackageType::from_purl_type(purl.ty()) else {
            *self.unsupported.entry(clip(purl.ty())).or_default() += 1;
            return;
        };
        let q = |k: &str| purl.qualifiers().get(k).map(|v| v.as_ref()).filter(|v| !v.is_empty());
        let ns = purl.namespace().filter(|n| !n.is_empty());
        let name = purl.name();
        let (name, namespace) = match kind {
            PackageType::Npm => match ns {
                Some(scope) if scope.starts_with('@') => (format!("{scope}/{name}"), None),
                Some(scope) => (format!("@{scope}/{name}"), None),
                None => (name.to_string(), None),
            },
            PackageType::GoModule | PackageType::PhpComposer => match ns {
                Some(ns) => (format!("{ns}/{name}"), None),
                None => (name.to_string(), None),
            },
            PackageType::JavaArchive => (name.to_string(), ns.map(str::to_string)),
            _ => (name.to_string(), None),
        };
        let name = display_name(kind, name, &e.names);
        let mut version = purl.version().or(e.version).unwrap_or("").to_string();
        if kind == PackageType::GoModule && name == "stdlib" && !version.is_empty() && !version.starts_with("go") {
            // Our catalog, like Syft's own JSON, keeps the toolchain's `go` prefix that the purl drops.
            version = format!("go{version}");
        }
        if kind.is_os() {
            // Trivy moves the epoch into a qualifier; our versions carry it as dpkg and rpm print it.
            if let Some(epoch) = q("epoch").filter(|e| *e != "0") {
                if !version.contains(':') {
                    version = format!("{epoch}:{version}");
                }
            }
        }

        let mut pkg = Package::new(kind, name, version, "");
        pkg.namespace = namespace;
        pkg.licenses = e.licenses;
        pkg.purl = e.purl.to_string();
        pkg.location = Location {
            path: e.path.filter(|p| !p.is_empty()).unwrap_or_else(|| format!("sbom:{}", self.name)),
            layer: e.layer.filter(|l| !l.is_empty()),
        };
        if kind.is_os() {
            pkg.arch = q("arch").map(str::to_string).or(e.arch);
            pkg.source = source_package(&pkg, q("upstream"), e.source_name, e.source_version);
            if self.distro.is_none() {
                self.distro = q("distro").map(str::to_string);
            }
        }
        self.inv.packages.push(pkg);
    }

    fn finish(mut self) -> Inventory {
        let name = self.name;
        if self.inv.os.is_none() {
            self.inv.os = self.distro.as_deref().map(os_from_distro);
        }
        if self.no_purl > 0 {
            self.inv.warnings.push(format!("{name}: skipped {} component(s) without a package URL", self.no_purl));
        }
        if self.bad_purl > 0 {
            self.inv.warnings.push(format!(
                "{name}: skipped {} component(s) with an unparsable package URL, the first {}",
                self.bad_purl,
                self.first_bad.as_deref().unwrap_or("")
            ));
        }
        if !self.unsupported.is_empty() {
            let types: Vec<String> = self.unsupported.iter().map(|(t, n)| format!("{t} ({n})")).collect();
            self.inv
                .warnings
                .push(format!("{name}: skipped components of package URL types not read: {}", types.join(", ")));
        }
        self.inv
    }
}

fn kind_of(purl: &str) -> Option<PackageType> {
    PackageUrl::from_str(purl).ok().and_then(|p| PackageType::from_purl_type(p.ty()))
}

/// The purl's name, or the document's where it is the same package name in another case:
/// the purl folds npm names (as our writer does) and Python names (as the spec says), and
/// the catalog keeps npm's case and Python's underscores, lowercased.
fn display_name(kind: PackageType, derived: String, names: &[String]) -> String {
    match kind {
        PackageType::Npm => names.iter().find(|n| n.eq_ignore_ascii_case(&derived)).cloned().unwrap_or(derived),
        PackageType::Python => {
            names.iter().map(|n| n.to_ascii_lowercase()).find(|n| n.replace('_', "-") == derived).unwrap_or(derived)
        }
        _ => derived,
    }
}

/// The source package of an OS package: the document's own fields first, then the purl's
/// `upstream` (`openssl`, Syft's `openssl@3.0.20-1~deb12u2`, or an rpm's source file name),
/// and for deb and apk the package itself, as dpkg and apk treat a missing source.
fn source_package(
    pkg: &Package,
    upstream: Option<&str>,
    name: Option<String>,
    version: Option<String>,
) -> Option<SourcePackage> {
    let (up_name, up_version) = match upstream {
        Some(u) => match u.strip_suffix(".src.rpm").or_else(|| u.strip_suffix(".nosrc.rpm")) {
            Some(stem) => match split_nvr(stem) {
                Some((n, vr)) => (Some(n.to_string()), Some(with_epoch_of(&pkg.version, vr))),
                None => (Some(u.to_string()), None),
            },
            None => match u.split_once('@') {
                Some((n, v)) => (Some(n.to_string()), Some(v.to_string()).filter(|v| !v.is_empty())),
                None => (Some(u.to_string()), None),
            },
        },
        None => (None, None),
    };
    let name = name.filter(|n| !n.is_empty()).or(up_name).filter(|n| !n.is_empty());
    let name = match name {
        Some(n) => n,
        None if pkg.kind != PackageType::Rpm => pkg.name.clone(),
        None => return None,
    };
    let version = version.filter(|v| !v.is_empty()).or(up_version).unwrap_or_else(|| pkg.version.clone());
    Some(SourcePackage { name, version })
}

/// `openssl-1.1.1k-7.el8` → (`openssl`, `1.1.1k-7.el8`).
fn split_nvr(stem: &str) -> Option<(&str, &str)> {
    let (rest, release) = stem.rsplit_once('-')?;
    let (name, version) = rest.rsplit_once('-')?;
    if name.is_empty() || version.is_empty() || release.is_empty() {
        return None;
    }
    Some((name, stem.get(name.len() + 1..)?))
}

/// A source rpm's file name has no epoch; it shares its binaries' (one spec file).
fn with_epoch_of(binary_version: &str, vr: &str) -> String {
    match binary_version.split_once(':') {
        Some((epoch, _)) => format!("{epoch}:{vr}"),
        None => vr.to_string(),
    }
}

/// Trivy splits the source version: `SrcEpoch`, `SrcVersion`, `SrcRelease`.
fn trivy_source_version(c: &CdxComponent) -> Option<String> {
    let version = prop(c, "aquasecurity:trivy:SrcVersion")?;
    let mut v = match prop(c, "aquasecurity:trivy:SrcEpoch").filter(|e| *e != "0") {
        Some(epoch) => format!("{epoch}:{version}"),
        None => version.to_string(),
    };
    if let Some(release) = prop(c, "aquasecurity:trivy:SrcRelease") {
        v.push('-');
        v.push_str(release);
    }
    Some(v)
}

fn prop<'a>(c: &'a CdxComponent, name: &str) -> Option<&'a str> {
    c.properties.iter().find(|p| p.name.as_deref() == Some(name)).and_then(|p| p.value.as_deref())
}

fn cdx_os(c: &CdxComponent) -> OsInfo {
    let p = |n| prop(c, n).unwrap_or("").to_string();
    let mut os = OsInfo {
        id: c.name.clone().unwrap_or_default(),
        version_id: c.version.clone().unwrap_or_default(),
        pretty_name: c.description.clone().unwrap_or_default(),
        version_codename: p("bulwark:distro:version-codename"),
        id_like: Vec::new(),
    };
    if os.version_codename.is_empty() {
        os.version_codename = p("syft:distro:versionCodename");
    }
    if os.pretty_name.is_empty() {
        os.pretty_name = p("syft:distro:prettyName");
    }
    for q in &c.properties {
        let (Some(n), Some(v)) = (q.name.as_deref(), q.value.as_deref()) else { continue };
        if n == "bulwark:distro:id-like" || n.starts_with("syft:distro:idLike") {
            os.id_like.push(v.to_string());
        }
    }
    os
}

fn spdx_os(p: &SpdxPackage) -> OsInfo {
    OsInfo {
        id: p.name.clone().unwrap_or_default(),
        version_id: p.version_info.clone().unwrap_or_default(),
        pretty_name: p
            .source_info
            .as_deref()
            .and_then(|s| s.strip_prefix("acquired from os-release: "))
            .unwrap_or("")
            .to_string(),
        ..Default::default()
    }
}

/// `debian-12`, `alpine-3.20.3`, `opensuse-leap-15.5`: the version is what follows the last
/// dash, if it starts with a digit.
fn os_from_distro(d: &str) -> OsInfo {
    let (id, version) = match d.rsplit_once('-') {
        Some((id, v)) if v.starts_with(|c: char| c.is_ascii_digit()) && !id.is_empty() => (id, v),
        _ => (d, ""),
    };
    OsInfo { id: id.to_string(), version_id: version.to_string(), ..Default::default() }
}

/// `licenseDeclared` (else `licenseConcluded`) split at its top-level ANDs, which is how our
/// writer joins a package's licenses; `LicenseRef-`s are given back their text.
fn spdx_licenses(p: &SpdxPackage, extracted: &HashMap<&str, &str>) -> Vec<String> {
    let given = |l: &Option<String>| l.clone().filter(|l| !matches!(l.trim(), "" | "NOASSERTION" | "NONE"));
    let Some(expr) = given(&p.license_declared).or_else(|| given(&p.license_concluded)) else {
        return Vec::new();
    };
    split_and(&expr)
        .into_iter()
        .map(|part| {
            let bare = part.strip_prefix('(').and_then(|s| s.strip_suffix(')')).unwrap_or(part);
            extracted.get(bare).map(|t| t.to_string()).unwrap_or_else(|| bare.to_string())
        })
        .collect()
}

fn split_and(expr: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0i64, 0);
    let bytes = expr.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'(' => depth += 1,
            b')' => depth -= 1,
            b' ' if depth == 0 && bytes[i..].starts_with(b" AND ") => {
                parts.push(expr[start..i].trim());
                i += 5;
                start = i;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    parts.push(expr[start..].trim());
    parts.retain(|p| !p.is_empty());
    parts
}

/// Our SPDX writer's `sourceInfo`: `acquired package info from deb metadata: PATH in layer
/// LAYER; built from source package NAME VERSION`.
fn read_our_source_info(info: &str, e: &mut Entry<'_>) {
    let Some((_, rest)) = info.split_once(" metadata: ") else { return };
    let (rest, source) = match rest.rsplit_once("; built from source package ") {
        Some((r, s)) => (r, Some(s)),
        None => (rest, None),
    };
    let (path, layer) = match rest.rsplit_once(" in layer ") {
        Some((p, l)) => (p, Some(l)),
        None => (rest, None),
    };
    e.path = Some(path.to_string());
    e.layer = layer.map(str::to_string);
    if let Some(s) = source {
        let (n, v) = s.split_once(' ').unwrap_or((s, ""));
        e.source_name = Some(n.to_string());
        e.source_version = Some(v.to_string());
    }
}

/// Syft's `sourceInfo`: `acquired package info from DPKG DB: /a, /b, /c`; the first path is
/// the one its CycloneDX names `syft:location:0:path`.
fn first_path(info: &str) -> Option<String> {
    let (_, paths) = info.split_once(": ")?;
    let first = paths.split(", ").next()?.trim();
    first.starts_with('/').then(|| first.to_string())
}

/// At most [`ECHO_MAX`] characters of `s`, for messages.
fn clip(s: &str) -> String {
    match s.char_indices().nth(ECHO_MAX) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn distro_qualifiers() {
        let os = os_from_distro("opensuse-leap-15.5");
        assert_eq!((os.id.as_str(), os.version_id.as_str()), ("opensuse-leap", "15.5"));
        let os = os_from_distro("alpine-3.20.3");
        assert_eq!((os.id.as_str(), os.version_id.as_str()), ("alpine", "3.20.3"));
        let os = os_from_distro("wolfi");
        assert_eq!((os.id.as_str(), os.version_id.as_str()), ("wolfi", ""));
    }

    #[test]
    fn and_split_keeps_parenthesised_groups() {
        assert_eq!(split_and("ISC AND (MIT OR Apache-2.0)"), ["ISC", "(MIT OR Apache-2.0)"]);
        assert_eq!(split_and("MIT"), ["MIT"]);
        assert_eq!(split_and("(A AND B) AND C"), ["(A AND B)", "C"]);
        assert!(split_and("  ").is_empty());
    }

    #[test]
    fn upstream_forms() {
        let mut deb = Package::new(PackageType::Deb, "libssl3", "3.0.20-1~deb12u2", "/x");
        let s = source_package(&deb, Some("openssl@3.0.20-1~deb12u1"), None, None).unwrap();
        assert_eq!((s.name.as_str(), s.version.as_str()), ("openssl", "3.0.20-1~deb12u1"));
        let s = source_package(&deb, Some("openssl"), None, None).unwrap();
        assert_eq!((s.name.as_str(), s.version.as_str()), ("openssl", "3.0.20-1~deb12u2"));
        deb.name = "tar".into();
        let s = source_package(&deb, None, None, None).unwrap();
        assert_eq!(s.name, "tar");
        let rpm = Package::new(PackageType::Rpm, "openssl-libs", "1:1.1.1k-7.el8", "/x");
        let s = source_package(&rpm, Some("openssl-1.1.1k-7.el8.src.rpm"), None, None).unwrap();
        assert_eq!((s.name.as_str(), s.version.as_str()), ("openssl", "1:1.1.1k-7.el8"));
        assert!(source_package(&rpm, None, None, None).is_none());
    }

    #[test]
    fn clip_cuts_on_char_boundaries() {
        let long = "é".repeat(500);
        assert_eq!(clip(&long).chars().count(), ECHO_MAX + 1);
        assert_eq!(clip("short"), "short");
    }
}
