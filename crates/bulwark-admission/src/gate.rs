//! The vulnerability gate (the seed's "scan critical CVEs" at admission): an image is refused
//! when its findings reach a severity. The findings come from, in order: the scan a Bulwark
//! registry stored for the image (scan-on-push), else the image's inventory (the registry's
//! stored SBOM, else its layers, read once and kept) matched against the local database. An
//! image with neither has an unknown status, a configurable decision (deny by default).
//!
//! Results are cached per digest (a digest's content never changes; the cache is dropped
//! when the database changes).

use bulwark_policy::Outcome;
use bulwark_vulndb::severity::Level;
use bulwark_vulndb::Db;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;

/// What an unknown scan status decides.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Unknown {
    #[default]
    Deny,
    Warn,
    Allow,
}

impl std::str::FromStr for Unknown {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "deny" => Ok(Unknown::Deny),
            "warn" => Ok(Unknown::Warn),
            "allow" => Ok(Unknown::Allow),
            other => Err(format!("{other:?}: one of deny, warn, allow")),
        }
    }
}

/// The findings of one image, as far as the gate needs them.
#[derive(Clone, Debug, PartialEq)]
pub struct Findings {
    /// (id, severity, package, installed, fixed).
    pub at_or_above: Vec<(String, Level, String, String, Option<String>)>,
    pub total: usize,
    /// Where they came from: `registry scan (db built …)` or `local database (built …)`.
    pub source: String,
}

/// The gate's decision on one image.
#[derive(Clone, Debug, PartialEq)]
pub struct GateResult {
    pub outcome: Outcome,
    pub message: String,
}

pub struct Gate {
    pub severity: Level,
    pub unknown: Unknown,
    /// The local database, when there is one (reopened when the file changes).
    db_path: Option<PathBuf>,
    db: Mutex<Option<(std::time::SystemTime, Db)>>,
    opts: bulwark_image::Options,
    cache: Mutex<HashMap<String, Findings>>,
}

/// Digests remembered (an entry is a few hundred bytes).
const CACHE_ENTRIES: usize = 10_000;

impl Gate {
    pub fn new(severity: Level, unknown: Unknown, db_path: Option<PathBuf>, opts: bulwark_image::Options) -> Gate {
        Gate { severity, unknown, db_path, db: Mutex::new(None), opts, cache: Mutex::new(HashMap::new()) }
    }

    /// The gate's result for an image pinned to its digest (`registry/repo@sha256:…`).
    /// Blocking (registry reads, maybe layers): call it off the async executor.
    pub fn check(&self, pinned: &str) -> GateResult {
        match self.findings(pinned) {
            Ok(Some(f)) if f.at_or_above.is_empty() => GateResult {
                outcome: Outcome::Pass,
                message: format!(
                    "{pinned}: no finding at or above {} ({} in all; {})",
                    self.severity, f.total, f.source
                ),
            },
            Ok(Some(f)) => {
                let list: Vec<String> = f
                    .at_or_above
                    .iter()
                    .take(10)
                    .map(|(id, sev, pkg, installed, fixed)| match fixed {
                        Some(v) => format!("{id} {sev} in {pkg} {installed} (fixed in {v})"),
                        None => format!("{id} {sev} in {pkg} {installed} (no fix yet)"),
                    })
                    .collect();
                let more = f.at_or_above.len().saturating_sub(10);
                GateResult {
                    outcome: Outcome::Fail,
                    message: format!(
                        "{pinned} has {} finding(s) at or above {}: {}{} ({})",
                        f.at_or_above.len(),
                        self.severity,
                        list.join(", "),
                        if more > 0 { format!(" and {more} more") } else { String::new() },
                        f.source
                    ),
                }
            }
            Ok(None) => self.unknown_result(pinned, "no scan stored by its registry and no local database"),
            Err(why) => self.unknown_result(pinned, &why),
        }
    }

    /// The configured answer for an image whose status is unknown (`why`).
    pub fn unknown_result(&self, pinned: &str, why: &str) -> GateResult {
        let outcome = match self.unknown {
            Unknown::Deny => Outcome::Fail,
            Unknown::Warn => Outcome::Warn,
            Unknown::Allow => Outcome::Pass,
        };
        GateResult { outcome, message: format!("{pinned}: vulnerability status unknown: {why}") }
    }

    /// The image's findings; `Ok(None)` when nothing can say.
    pub fn findings(&self, pinned: &str) -> Result<Option<Findings>, String> {
        let digest = pinned
            .rsplit_once('@')
            .map(|(_, d)| d.to_string())
            .ok_or_else(|| format!("{pinned} is not pinned to a digest"))?;
        self.refresh_db();
        if let Some(f) = self.cache.lock().ok().and_then(|c| c.get(&digest).cloned()) {
            return Ok(Some(f));
        }
        let pull = bulwark_image::registry::PullOptions {
            insecure: self.opts.insecure,
            docker_config: self.opts.docker_config.clone(),
            ..Default::default()
        };
        let found = match bulwark_image::registry::stored_scan(pinned, &pull).map_err(|e| e.to_string())? {
            Some(scan) if scan["status"] == "done" && scan["report"].is_object() => {
                Some(self.findings_in_report(&scan))
            }
            _ => self.findings_matched_locally(pinned)?,
        };
        if let (Some(f), Ok(mut cache)) = (&found, self.cache.lock()) {
            if cache.len() >= CACHE_ENTRIES {
                cache.clear();
            }
            cache.insert(digest, f.clone());
        }
        Ok(found)
    }

    fn findings_in_report(&self, scan: &serde_json::Value) -> Findings {
        let findings = scan["report"]["findings"].as_array().map(Vec::as_slice).unwrap_or_default();
        let at_or_above = findings
            .iter()
            .filter_map(|f| {
                let sev = f["severity"].as_str().and_then(Level::parse).unwrap_or_default();
                (sev >= self.severity).then(|| {
                    (
                        f["id"].as_str().unwrap_or_default().to_string(),
                        sev,
                        f["package"]["name"].as_str().unwrap_or_default().to_string(),
                        f["installed_version"].as_str().unwrap_or_default().to_string(),
                        f["fixed_version"].as_str().map(str::to_string),
                    )
                })
            })
            .collect();
        Findings {
            at_or_above,
            total: findings.len(),
            source: format!("the registry's scan, database built {}", scan["db_built"].as_str().unwrap_or("?")),
        }
    }

    fn findings_matched_locally(&self, pinned: &str) -> Result<Option<Findings>, String> {
        if self.db.lock().map_err(|_| "database lock poisoned".to_string())?.is_none() {
            return Ok(None);
        }
        // Read the image without holding the database: other reviews go on meanwhile.
        let inv = bulwark_image::catalog(pinned, &self.opts).map_err(|e| format!("reading {pinned}: {e}"))?;
        let guard = self.db.lock().map_err(|_| "database lock poisoned".to_string())?;
        let Some((_, db)) = guard.as_ref() else { return Ok(None) };
        let report = bulwark_match::scan(&inv, db).map_err(|e| format!("matching {pinned}: {e}"))?;
        let at_or_above = report
            .findings
            .iter()
            .filter(|f| f.severity >= self.severity)
            .map(|f| {
                (f.id.clone(), f.severity, f.package.name.clone(), f.installed_version.clone(), f.fixed_version.clone())
            })
            .collect();
        Ok(Some(Findings {
            at_or_above,
            total: report.findings.len(),
            source: format!("the local database, built {}", db.metadata().built_at),
        }))
    }

    /// Opens the database, or reopens it when its file changed (and forgets cached results).
    fn refresh_db(&self) {
        let Some(path) = &self.db_path else { return };
        let Ok(mtime) = std::fs::metadata(path).and_then(|m| m.modified()) else { return };
        let Ok(mut guard) = self.db.lock() else { return };
        if guard.as_ref().is_some_and(|(t, _)| *t == mtime) {
            return;
        }
        match Db::open(path) {
            Ok(db) => {
                *guard = Some((mtime, db));
                if let Ok(mut c) = self.cache.lock() {
                    c.clear();
                }
            }
            Err(e) => tracing::warn!(error = %e, path = %path.display(), "vulnerability database not (re)opened"),
        }
    }
}
