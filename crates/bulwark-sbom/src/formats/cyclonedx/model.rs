//! The CycloneDX 1.6 JSON we write, as serde structs: one model for the SBOM writer here and
//! the scan report's writer in `bulwark-report`. Hand-written because no CycloneDX crate
//! speaks 1.6; only what we emit, in the schema's field names and our field order (the tests
//! validate both writers' output against the official schema).

use bulwark_catalog::PackageType;
use serde::Serialize;

/// The document. An SBOM has a serial number and a timestamp and no vulnerabilities; a scan
/// report has no serial number or timestamp (the same scan gives the same bytes) and always
/// lists its vulnerabilities, even none.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Bom {
    #[serde(rename = "$schema")]
    pub schema: &'static str,
    pub bom_format: &'static str,
    pub spec_version: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub serial_number: Option<String>,
    pub version: u32,
    pub metadata: Metadata,
    pub components: Vec<Component>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vulnerabilities: Option<Vec<Vulnerability>>,
}

impl Bom {
    /// A version-1 CycloneDX 1.6 document about `component`, made by this bulwark.
    pub fn new(component: Component, components: Vec<Component>) -> Bom {
        let mut tool = Component::new("application", "bulwark");
        tool.version = Some(env!("CARGO_PKG_VERSION").to_string());
        Bom {
            schema: "http://cyclonedx.org/schema/bom-1.6.schema.json",
            bom_format: "CycloneDX",
            spec_version: "1.6",
            serial_number: None,
            version: 1,
            metadata: Metadata { timestamp: None, tools: Tools { components: vec![tool] }, component },
            components,
            vulnerabilities: None,
        }
    }
}

#[derive(Serialize)]
pub struct Metadata {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    pub tools: Tools,
    pub component: Component,
}

#[derive(Serialize)]
pub struct Tools {
    pub components: Vec<Component>,
}

#[derive(Serialize)]
pub struct Component {
    #[serde(rename = "bom-ref", skip_serializing_if = "Option::is_none")]
    pub bom_ref: Option<String>,
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub licenses: Vec<LicenseChoice>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub purl: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub properties: Vec<Property>,
}

impl Component {
    pub fn new(kind: &'static str, name: impl Into<String>) -> Self {
        Component {
            bom_ref: None,
            kind,
            group: None,
            name: name.into(),
            version: None,
            description: None,
            licenses: Vec::new(),
            purl: None,
            properties: Vec::new(),
        }
    }

    pub fn property(&mut self, name: &'static str, value: impl Into<String>) {
        self.properties.push(Property { name, value: value.into() });
    }
}

/// What a package's `bom-ref` starts from: its purl, else `type:group/name@version`.
pub fn package_ref(purl: &str, kind: PackageType, namespace: Option<&str>, name: &str, version: &str) -> String {
    if !purl.is_empty() {
        return purl.to_string();
    }
    let group = namespace.map(|g| format!("{g}/")).unwrap_or_default();
    format!("{kind}:{group}{name}@{version}")
}

/// `{"license": {...}}` or `{"expression": "..."}`; the schema forbids mixing the two.
#[derive(Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LicenseChoice {
    License(License),
    Expression(String),
}

#[derive(Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum License {
    Id(String),
    Name(String),
}

#[derive(Serialize)]
pub struct Property {
    pub name: &'static str,
    pub value: String,
}

#[derive(Serialize)]
pub struct Vulnerability {
    pub id: String,
    pub source: Source,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<Reference>,
    pub ratings: Vec<Rating>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recommendation: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub published: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub analysis: Option<Analysis>,
    pub affects: Vec<Affects>,
}

#[derive(Serialize)]
pub struct Source {
    pub name: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

#[derive(Serialize)]
pub struct Reference {
    pub id: String,
    pub source: Source,
}

#[derive(Serialize)]
pub struct Rating {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    pub severity: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vector: Option<String>,
}

/// CycloneDX VEX: the `state` and `justification` are the schema's enum values.
#[derive(Debug, PartialEq, Eq, Serialize)]
pub struct Analysis {
    pub state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub justification: Option<&'static str>,
    pub detail: String,
}

#[derive(Serialize)]
pub struct Affects {
    #[serde(rename = "ref")]
    pub bom_ref: String,
    pub versions: Vec<AffectedVersion>,
}

#[derive(Serialize)]
pub struct AffectedVersion {
    pub version: String,
    pub status: &'static str,
}
