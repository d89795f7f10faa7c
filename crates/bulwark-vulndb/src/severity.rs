//! Severity of an advisory: from CVSS v3.x / v4.0 vectors (base score computed from the
//! vector), else the record's own severity field; `UNKNOWN` when there is none.
//!
//! Scores come from the RustSec `cvss` crate. Its base scores were checked against Red Hat's
//! reference implementation for every v2, v3.0, v3.1 and v4.0 base vector, and
//! tests/it/severity.rs pins FIRST's published examples. What it lacks is done here: refusing v3
//! vectors with a missing base metric (it scores them as if the metric were zero), scoring a
//! v4.0 vector by its base metrics alone (it folds threat and environmental metrics in), and
//! errors that name the vector.

use crate::osv::{Affected, Record, Severity};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Severity levels, ordered, spelled as Trivy and Grype spell them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "UPPERCASE")]
pub enum Level {
    #[default]
    Unknown,
    Low,
    Medium,
    High,
    Critical,
}

impl Level {
    pub const ALL: [Level; 5] = [Level::Unknown, Level::Low, Level::Medium, Level::High, Level::Critical];

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Unknown => "UNKNOWN",
            Level::Low => "LOW",
            Level::Medium => "MEDIUM",
            Level::High => "HIGH",
            Level::Critical => "CRITICAL",
        }
    }

    /// Case-insensitive; `MODERATE` (GitHub's word) and `IMPORTANT` (Red Hat's) are accepted.
    pub fn parse(s: &str) -> Option<Level> {
        match s.trim().to_ascii_uppercase().as_str() {
            "UNKNOWN" | "NONE" | "UNIMPORTANT" | "NEGLIGIBLE" => Some(Level::Unknown),
            "LOW" => Some(Level::Low),
            "MEDIUM" | "MODERATE" => Some(Level::Medium),
            "HIGH" | "IMPORTANT" => Some(Level::High),
            "CRITICAL" => Some(Level::Critical),
            _ => None,
        }
    }

    /// CVSS qualitative rating of a base score (the same bands in v3.1 and v4.0).
    pub fn from_score(score: f64) -> Level {
        if score >= 9.0 {
            Level::Critical
        } else if score >= 7.0 {
            Level::High
        } else if score >= 4.0 {
            Level::Medium
        } else if score > 0.0 {
            Level::Low
        } else {
            Level::Unknown
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How severe one advisory is for one affected package.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Rating {
    pub level: Level,
    /// CVSS base score when a vector was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    /// The vector the score was computed from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vector: Option<String>,
}

/// The CVSS versions whose base score [`cvss_base_score`] computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CvssVersion {
    V2_0,
    V3_0,
    V3_1,
    V4_0,
}

impl CvssVersion {
    pub fn as_str(self) -> &'static str {
        match self {
            CvssVersion::V2_0 => "2.0",
            CvssVersion::V3_0 => "3.0",
            CvssVersion::V3_1 => "3.1",
            CvssVersion::V4_0 => "4.0",
        }
    }

    /// The level of a base score of this version. v2 has no CRITICAL band (NVD's v2 bands).
    pub fn level(self, score: f64) -> Level {
        match self {
            CvssVersion::V2_0 if score >= 7.0 => Level::High,
            CvssVersion::V2_0 if score >= 4.0 => Level::Medium,
            CvssVersion::V2_0 => Level::Low,
            _ => Level::from_score(score),
        }
    }

    /// Which version `rate` prefers when a record has several: v4.0, then v3.x, then v2.
    fn preference(self) -> u8 {
        match self {
            CvssVersion::V2_0 => 0,
            CvssVersion::V3_0 | CvssVersion::V3_1 => 1,
            CvssVersion::V4_0 => 2,
        }
    }
}

impl fmt::Display for CvssVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CVSS v{}", self.as_str())
    }
}

/// Longer input is refused unread: a v4.0 vector with every optional metric is under 200 bytes.
pub const MAX_VECTOR_LEN: usize = 512;

/// How much of the vector an error quotes.
const QUOTE_CHARS: usize = 200;

/// A vector that gives no score: the vector (cut to 200 characters) and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("CVSS vector `{vector}`: {problem}")]
pub struct CvssError {
    pub vector: String,
    pub problem: CvssProblem,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CvssProblem {
    #[error("empty")]
    Empty,
    #[error("{len} bytes, longer than any valid vector ({MAX_VECTOR_LEN} at most)")]
    TooLong { len: usize },
    #[error("not a CVSS vector (no `CVSS:3.x/` or `CVSS:4.0/` prefix, and not a v2 `AV:…/Au:…` vector)")]
    NotCvss,
    #[error("unsupported CVSS version `{0}` (2.0, 3.0, 3.1 and 4.0 are supported)")]
    UnsupportedVersion(String),
    #[error("component `{0}` is not METRIC:VALUE")]
    Malformed(String),
    #[error("unknown metric `{0}`")]
    UnknownMetric(String),
    #[error("metric {metric} has an invalid value `{value}`")]
    InvalidValue { metric: String, value: String },
    #[error("metric {0} is given more than once")]
    DuplicateMetric(String),
    #[error("mandatory metric {0} is missing")]
    MissingMetric(String),
    #[error("{0}")]
    Other(String),
}

/// The CVSS base score of `vector` (v2, v3.0, v3.1 or v4.0), rounded to one decimal as the
/// specifications round it. Threat, temporal, environmental and supplemental metrics are
/// checked but do not change the base score.
pub fn cvss_base_score(vector: &str) -> Result<(CvssVersion, f64), CvssError> {
    let error = |problem| CvssError { vector: cut(vector, QUOTE_CHARS), problem };
    let v = vector.trim();
    if v.is_empty() {
        return Err(error(CvssProblem::Empty));
    }
    if v.len() > MAX_VECTOR_LEN {
        return Err(error(CvssProblem::TooLong { len: v.len() }));
    }
    let (version, score) = score_vector(v).map_err(error)?;
    // The crate's arithmetic can leave 8.100000000000001; a score is one decimal by definition.
    Ok((version, (score * 10.0).round() / 10.0))
}

fn score_vector(v: &str) -> Result<(CvssVersion, f64), CvssProblem> {
    if let Some(rest) = v.strip_prefix("CVSS:") {
        let version = rest.split('/').next().unwrap_or_default();
        return match version {
            "3.0" | "3.1" => score_v3(v),
            "4.0" => score_v4(v),
            // Some feeds prefix v2 vectors; the v2 syntax itself has no prefix.
            "2.0" => score_v2(rest.strip_prefix("2.0/").unwrap_or_default()),
            other => Err(CvssProblem::UnsupportedVersion(cut(other, 20))),
        };
    }
    // NVD once wrote v2 vectors in parentheses.
    let bare = v.strip_prefix('(').and_then(|s| s.strip_suffix(')')).unwrap_or(v);
    if bare.starts_with("AV:") && bare.contains("/Au:") {
        return score_v2(bare);
    }
    Err(CvssProblem::NotCvss)
}

fn score_v2(v: &str) -> Result<(CvssVersion, f64), CvssProblem> {
    let parsed = cvss::v2::Vector::from_str(v).map_err(problem)?;
    Ok((CvssVersion::V2_0, parsed.score().value()))
}

fn score_v3(v: &str) -> Result<(CvssVersion, f64), CvssProblem> {
    let parsed = cvss::v3::Vector::from_str(v).map_err(problem)?;
    // The crate accepts a vector without some base metric and scores it as zero.
    let present = [
        ("AV", parsed.av.is_some()),
        ("AC", parsed.ac.is_some()),
        ("PR", parsed.pr.is_some()),
        ("UI", parsed.ui.is_some()),
        ("S", parsed.s.is_some()),
        ("C", parsed.c.is_some()),
        ("I", parsed.i.is_some()),
        ("A", parsed.a.is_some()),
    ];
    if let Some((name, _)) = present.iter().find(|(_, is)| !is) {
        return Err(CvssProblem::MissingMetric((*name).to_string()));
    }
    let version = if parsed.minor_version == 0 { CvssVersion::V3_0 } else { CvssVersion::V3_1 };
    Ok((version, parsed.base_score().value()))
}

/// The v4.0 base metrics: CVSS-B is computed from these alone.
const V4_BASE_METRICS: [&str; 11] = ["AV", "AC", "AT", "PR", "UI", "VC", "VI", "VA", "SC", "SI", "SA"];

fn score_v4(v: &str) -> Result<(CvssVersion, f64), CvssProblem> {
    // The whole vector is parsed first so a bad threat or environmental metric is still an error.
    let full = cvss::v4::Vector::from_str(v).map_err(problem)?;
    let metrics: Vec<&str> = v.split('/').skip(1).collect();
    let base: Vec<&str> = metrics
        .iter()
        .copied()
        .filter(|m| {
            m.split_once(':').is_some_and(|(name, _)| V4_BASE_METRICS.contains(&name.to_ascii_uppercase().as_str()))
        })
        .collect();
    // The crate scores every metric given (CVSS-BT/BE/BTE); the base score is the base metrics'.
    let score = if base.len() == metrics.len() {
        full.score()
    } else {
        cvss::v4::Vector::from_str(&format!("CVSS:4.0/{}", base.join("/"))).map_err(problem)?.score()
    };
    Ok((CvssVersion::V4_0, score.value()))
}

/// The crate's error as one of ours, quoting at most a few dozen characters of the input.
fn problem(e: cvss::Error) -> CvssProblem {
    use cvss::Error as E;
    const Q: usize = 40;
    match e {
        E::InvalidComponent { component } => CvssProblem::Malformed(cut(&component, Q)),
        E::InvalidPrefix { prefix } => CvssProblem::UnsupportedVersion(cut(&prefix, Q)),
        E::UnsupportedVersion { version } => CvssProblem::UnsupportedVersion(cut(&version, Q)),
        E::UnknownMetric { name } => CvssProblem::UnknownMetric(cut(&name, Q)),
        E::InvalidMetricV2 { metric_type, value } => {
            CvssProblem::InvalidValue { metric: metric_type.name().to_string(), value: cut(&value, Q) }
        }
        E::InvalidMetricV3 { metric_type, value } => {
            CvssProblem::InvalidValue { metric: metric_type.name().to_string(), value: cut(&value, Q) }
        }
        E::InvalidMetricV4 { metric_type, value } => {
            CvssProblem::InvalidValue { metric: metric_type.name().to_string(), value: cut(&value, Q) }
        }
        E::DuplicateMetricV2 { metric_type } => CvssProblem::DuplicateMetric(metric_type.name().to_string()),
        E::DuplicateMetricV3 { metric_type } => CvssProblem::DuplicateMetric(metric_type.name().to_string()),
        E::DuplicateMetricV4 { metric_type } => CvssProblem::DuplicateMetric(metric_type.name().to_string()),
        E::MissingMandatoryMetricV2 { metric_type } => CvssProblem::MissingMetric(metric_type.name().to_string()),
        E::MissingMandatoryMetricV4 { metric_type } => CvssProblem::MissingMetric(metric_type.name().to_string()),
        other => CvssProblem::Other(cut(&other.to_string(), QUOTE_CHARS)),
    }
}

/// At most `max` characters of `s`, with `…` when cut.
fn cut(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s.to_string(),
    }
}

/// A vector `rate` considers, and where in the record it was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate<'a> {
    pub source: &'static str,
    pub vector: &'a str,
}

type VectorsAt = for<'a> fn(&'a Record, Option<&'a Affected>) -> Vec<&'a str>;

/// Where vectors are found, in the order `rate` tries them within one CVSS version. The
/// `database_specific` ones are vectors that some feeds give instead of a `severity` entry:
/// RustSec's `affected[].database_specific.cvss`, the Node.js WG's `cvss_vector`.
const VECTOR_SOURCES: &[(&str, VectorsAt)] = &[
    ("affected[].severity", |_, a| a.map(|a| typed_vectors(&a.severity)).unwrap_or_default()),
    ("severity", |r, _| typed_vectors(&r.severity)),
    ("affected[].database_specific.cvss", |_, a| {
        text_field(a.and_then(|a| a.database_specific.as_ref()), "cvss").into_iter().collect()
    }),
    ("database_specific.cvss", |r, _| text_field(r.database_specific.as_ref(), "cvss").into_iter().collect()),
    ("affected[].database_specific.cvss_vector", |_, a| {
        text_field(a.and_then(|a| a.database_specific.as_ref()), "cvss_vector").into_iter().collect()
    }),
    ("database_specific.cvss_vector", |r, _| {
        text_field(r.database_specific.as_ref(), "cvss_vector").into_iter().collect()
    }),
];

type TextAt = for<'a> fn(&'a Record, Option<&'a Affected>) -> Option<&'a str>;

/// Where a textual severity is found, in the order `rate` tries them: GitHub's
/// `database_specific.severity` (or an importer's mapping of Debian urgency), and OSV's
/// `Ubuntu` severity type, whose score is a word.
const TEXT_SOURCES: &[TextAt] = &[
    |_, a| text_field(a.and_then(|a| a.database_specific.as_ref()), "severity"),
    |r, _| text_field(r.database_specific.as_ref(), "severity"),
    |_, a| a.and_then(|a| ubuntu_priority(&a.severity)),
    |r, _| ubuntu_priority(&r.severity),
];

fn typed_vectors(severity: &[Severity]) -> Vec<&str> {
    severity
        .iter()
        .filter(|s| matches!(s.kind.to_ascii_uppercase().as_str(), "CVSS_V2" | "CVSS_V3" | "CVSS_V4"))
        .map(|s| s.score.as_str())
        .collect()
}

fn ubuntu_priority(severity: &[Severity]) -> Option<&str> {
    severity.iter().find(|s| s.kind.eq_ignore_ascii_case("Ubuntu")).map(|s| s.score.as_str())
}

fn text_field<'a>(object: Option<&'a serde_json::Value>, key: &str) -> Option<&'a str> {
    object?.get(key)?.as_str()
}

/// Every vector `rate(record, affected)` may use, in the order it tries them, each once.
pub fn candidates<'a>(record: &'a Record, affected: Option<&'a Affected>) -> Vec<Candidate<'a>> {
    let mut out: Vec<Candidate<'a>> = Vec::new();
    for (source, find) in VECTOR_SOURCES {
        for vector in find(record, affected) {
            if !out.iter().any(|c| c.vector.trim() == vector.trim()) {
                out.push(Candidate { source, vector });
            }
        }
    }
    out
}

/// The rating of `record` for `affected` (its own `severity` first, then the record's).
/// Prefers CVSS v4.0 over v3.x, and v3.x over v2; a vector that does not parse is skipped for
/// the next one. Without a vector, `database_specific.severity` (GitHub, Debian urgency) is
/// used. `affected: None` rates the record's own fields only.
pub fn rate(record: &Record, affected: Option<&Affected>) -> Rating {
    let mut best: Option<(CvssVersion, f64, &str)> = None;
    for c in candidates(record, affected) {
        match cvss_base_score(c.vector) {
            Ok((version, score)) => {
                if best.is_none_or(|(held, ..)| version.preference() > held.preference()) {
                    best = Some((version, score, c.vector));
                }
            }
            Err(e) => tracing::debug!(id = %record.id, source = c.source, "severity: skipped {e}"),
        }
    }
    if let Some((version, score, vector)) = best {
        return Rating { level: version.level(score), score: Some(score), vector: Some(vector.trim().to_string()) };
    }
    let level = TEXT_SOURCES
        .iter()
        .filter_map(|find| find(record, affected).and_then(Level::parse))
        .find(|level| *level != Level::Unknown)
        .unwrap_or_default();
    Rating { level, score: None, vector: None }
}
