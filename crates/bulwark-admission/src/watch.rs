//! Watching what was admitted (Trivy Operator's job): each admitted workload's images by digest
//! (namespace, kind, name, container), each image's inventory (read once, kept), and the
//! findings it had at the last match. When a new advisory database arrives, every kept
//! inventory is matched again — no layer is read twice — and findings that are new and at or
//! above the alert severity become [`Alert`]s.
//!
//! State is one SQLite file (`--state`): it survives restarts, and `bulwark admission report`
//! reads it while the server runs (WAL).

use bulwark_catalog::Inventory;
use bulwark_vulndb::severity::Level;
use bulwark_vulndb::Db;
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Mutex;

#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    #[error("admission state {path}: {source}")]
    Sqlite { path: String, source: rusqlite::Error },
    #[error("admission state: {0}")]
    Data(String),
    #[error("matching {image}: {source}")]
    Match { image: String, source: bulwark_match::MatchError },
}

/// One admitted workload and its images (digests as verified or resolved at admission).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Admitted {
    pub namespace: String,
    pub kind: String,
    pub name: String,
    pub containers: Vec<AdmittedContainer>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdmittedContainer {
    pub container: String,
    /// The image as the pod spec names it.
    pub image: String,
    /// `sha256:…`.
    pub digest: String,
}

/// A finding that was not there at the last match, at or above the alert severity.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub namespace: String,
    pub kind: String,
    pub name: String,
    pub container: String,
    pub image: String,
    pub digest: String,
    pub vulnerability: String,
    pub severity: Level,
    pub package: String,
    pub installed_version: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fixed_version: Option<String>,
    /// When the database that found it was built.
    pub db_built_at: String,
}

/// (namespace, kind, name).
pub type WorkloadKey = (String, String, String);

/// A workload as `admission report` shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WorkloadReport {
    pub namespace: String,
    pub kind: String,
    pub name: String,
    pub images: Vec<ImageReport>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ImageReport {
    pub container: String,
    pub image: String,
    pub digest: String,
    /// False until the image's inventory was read (then findings are known).
    pub inventoried: bool,
    /// Findings by severity at the last match.
    pub findings: BTreeMap<Level, u64>,
    /// The ids at or above the alert severity.
    pub alerting: Vec<String>,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS workloads (
  id INTEGER PRIMARY KEY, namespace TEXT NOT NULL, kind TEXT NOT NULL, name TEXT NOT NULL,
  UNIQUE(namespace, kind, name));
CREATE TABLE IF NOT EXISTS containers (
  workload INTEGER NOT NULL REFERENCES workloads(id) ON DELETE CASCADE,
  container TEXT NOT NULL, image TEXT NOT NULL, digest TEXT NOT NULL,
  PRIMARY KEY(workload, container));
CREATE TABLE IF NOT EXISTS images (
  digest TEXT PRIMARY KEY, reference TEXT NOT NULL, inventory TEXT, matched_db TEXT);
CREATE TABLE IF NOT EXISTS findings (
  digest TEXT NOT NULL, id TEXT NOT NULL, severity TEXT NOT NULL, package TEXT NOT NULL,
  installed TEXT NOT NULL, fixed TEXT, PRIMARY KEY(digest, id, package, installed));
";

/// The watch state.
pub struct Watch {
    conn: Mutex<Connection>,
    path: String,
    /// Alerts are raised for new findings at or above this.
    pub alert_severity: Level,
}

impl Watch {
    /// Opens (creating) the state file.
    pub fn open(path: &Path, alert_severity: Level) -> Result<Watch, WatchError> {
        let shown = path.display().to_string();
        let err = |source| WatchError::Sqlite { path: shown.clone(), source };
        let conn = Connection::open(path).map_err(err)?;
        conn.pragma_update(None, "journal_mode", "WAL").map_err(err)?;
        conn.pragma_update(None, "foreign_keys", "ON").map_err(err)?;
        conn.busy_timeout(std::time::Duration::from_secs(5)).map_err(err)?;
        conn.execute_batch(SCHEMA).map_err(err)?;
        Ok(Watch { conn: Mutex::new(conn), path: shown, alert_severity })
    }

    fn conn(&self) -> Result<std::sync::MutexGuard<'_, Connection>, WatchError> {
        self.conn.lock().map_err(|_| WatchError::Data("state lock poisoned".into()))
    }

    fn sql(&self, source: rusqlite::Error) -> WatchError {
        WatchError::Sqlite { path: self.path.clone(), source }
    }

    /// Records an admitted workload: its containers replace what was recorded for it.
    pub fn record(&self, a: &Admitted) -> Result<(), WatchError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction().map_err(|e| self.sql(e))?;
        tx.execute(
            "INSERT INTO workloads(namespace, kind, name) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
            params![a.namespace, a.kind, a.name],
        )
        .map_err(|e| self.sql(e))?;
        let id: i64 = tx
            .query_row(
                "SELECT id FROM workloads WHERE namespace = ?1 AND kind = ?2 AND name = ?3",
                params![a.namespace, a.kind, a.name],
                |r| r.get(0),
            )
            .map_err(|e| self.sql(e))?;
        tx.execute("DELETE FROM containers WHERE workload = ?1", params![id]).map_err(|e| self.sql(e))?;
        for c in &a.containers {
            tx.execute(
                "INSERT OR REPLACE INTO containers(workload, container, image, digest) VALUES (?1, ?2, ?3, ?4)",
                params![id, c.container, c.image, c.digest],
            )
            .map_err(|e| self.sql(e))?;
            let reference = pinned_reference(&c.image, &c.digest);
            tx.execute(
                "INSERT INTO images(digest, reference) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
                params![c.digest, reference],
            )
            .map_err(|e| self.sql(e))?;
        }
        tx.commit().map_err(|e| self.sql(e))
    }

    /// Images whose inventory has not been read yet: (digest, reference to read it by).
    pub fn pending_inventories(&self) -> Result<Vec<(String, String)>, WatchError> {
        let conn = self.conn()?;
        let mut st =
            conn.prepare("SELECT digest, reference FROM images WHERE inventory IS NULL").map_err(|e| self.sql(e))?;
        let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).map_err(|e| self.sql(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.sql(e))
    }

    /// Keeps an image's inventory (read once: later matches use it).
    pub fn set_inventory(&self, digest: &str, inv: &Inventory) -> Result<(), WatchError> {
        let json = serde_json::to_string(inv).map_err(|e| WatchError::Data(e.to_string()))?;
        let conn = self.conn()?;
        conn.execute("UPDATE images SET inventory = ?2 WHERE digest = ?1", params![digest, json])
            .map_err(|e| self.sql(e))?;
        Ok(())
    }

    /// The database build the findings were last matched with, if any match happened.
    pub fn matched_db(&self) -> Result<Option<String>, WatchError> {
        let conn = self.conn()?;
        conn.query_row("SELECT max(matched_db) FROM images", [], |r| r.get::<_, Option<String>>(0))
            .map_err(|e| self.sql(e))
    }

    /// Matches every kept inventory against `db`; stores the findings; returns the alerts for
    /// findings at or above the alert severity that the image did not have before. An image
    /// matched for the first time alerts too (its workload was admitted before its findings
    /// were known).
    pub fn rematch(&self, db: &Db) -> Result<Vec<Alert>, WatchError> {
        let built_at = db.metadata().built_at.clone();
        let images: Vec<(String, String, String)> = {
            let conn = self.conn()?;
            let mut st = conn
                .prepare("SELECT digest, reference, inventory FROM images WHERE inventory IS NOT NULL")
                .map_err(|e| self.sql(e))?;
            let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).map_err(|e| self.sql(e))?;
            rows.collect::<Result<_, _>>().map_err(|e| self.sql(e))?
        };
        let mut alerts = Vec::new();
        for (digest, reference, inventory) in images {
            let inv: Inventory =
                serde_json::from_str(&inventory).map_err(|e| WatchError::Data(format!("{digest}: inventory: {e}")))?;
            let report = bulwark_match::scan(&inv, db)
                .map_err(|source| WatchError::Match { image: reference.clone(), source })?;
            let mut conn = self.conn()?;
            let tx = conn.transaction().map_err(|e| self.sql(e))?;
            let before: BTreeSet<(String, String, String)> = {
                let mut st = tx
                    .prepare("SELECT id, package, installed FROM findings WHERE digest = ?1")
                    .map_err(|e| self.sql(e))?;
                let rows = st
                    .query_map(params![digest], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                    .map_err(|e| self.sql(e))?;
                rows.collect::<Result<_, _>>().map_err(|e| self.sql(e))?
            };
            tx.execute("DELETE FROM findings WHERE digest = ?1", params![digest]).map_err(|e| self.sql(e))?;
            let mut new_here = Vec::new();
            for f in &report.findings {
                tx.execute(
                    "INSERT OR REPLACE INTO findings(digest, id, severity, package, installed, fixed) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![digest, f.id, f.severity.as_str(), f.package.name, f.installed_version, f.fixed_version],
                )
                .map_err(|e| self.sql(e))?;
                let key = (f.id.clone(), f.package.name.clone(), f.installed_version.clone());
                if f.severity >= self.alert_severity && !before.contains(&key) {
                    new_here.push(f.clone());
                }
            }
            tx.execute("UPDATE images SET matched_db = ?2 WHERE digest = ?1", params![digest, built_at])
                .map_err(|e| self.sql(e))?;
            // Every workload running the image hears of it.
            let users: Vec<(String, String, String, String, String)> = {
                let mut st = tx
                    .prepare(
                        "SELECT w.namespace, w.kind, w.name, c.container, c.image FROM containers c
                         JOIN workloads w ON w.id = c.workload WHERE c.digest = ?1 ORDER BY 1, 2, 3, 4",
                    )
                    .map_err(|e| self.sql(e))?;
                let rows = st
                    .query_map(params![digest], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
                    .map_err(|e| self.sql(e))?;
                rows.collect::<Result<_, _>>().map_err(|e| self.sql(e))?
            };
            tx.commit().map_err(|e| self.sql(e))?;
            for f in &new_here {
                for (namespace, kind, name, container, image) in &users {
                    alerts.push(Alert {
                        namespace: namespace.clone(),
                        kind: kind.clone(),
                        name: name.clone(),
                        container: container.clone(),
                        image: image.clone(),
                        digest: digest.clone(),
                        vulnerability: f.id.clone(),
                        severity: f.severity,
                        package: f.package.name.clone(),
                        installed_version: f.installed_version.clone(),
                        fixed_version: f.fixed_version.clone(),
                        db_built_at: built_at.clone(),
                    });
                }
            }
        }
        Ok(alerts)
    }

    /// Every workload with its images and their current findings.
    pub fn report(&self) -> Result<Vec<WorkloadReport>, WatchError> {
        let conn = self.conn()?;
        let mut st = conn
            .prepare(
                "SELECT w.namespace, w.kind, w.name, c.container, c.image, c.digest, i.inventory IS NOT NULL
                 FROM workloads w JOIN containers c ON c.workload = w.id JOIN images i ON i.digest = c.digest
                 ORDER BY 1, 2, 3, 4",
            )
            .map_err(|e| self.sql(e))?;
        type Row = (String, String, String, String, String, String, bool);
        let rows: Vec<Row> = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?)))
            .map_err(|e| self.sql(e))?
            .collect::<Result<_, _>>()
            .map_err(|e| self.sql(e))?;
        let mut fs =
            conn.prepare("SELECT id, severity FROM findings WHERE digest = ?1 ORDER BY id").map_err(|e| self.sql(e))?;
        let mut out: Vec<WorkloadReport> = Vec::new();
        for (namespace, kind, name, container, image, digest, inventoried) in rows {
            let found: Vec<(String, String)> = fs
                .query_map(params![digest], |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(|e| self.sql(e))?
                .collect::<Result<_, _>>()
                .map_err(|e| self.sql(e))?;
            let mut findings = BTreeMap::new();
            let mut alerting = BTreeSet::new();
            for (id, sev) in found {
                let level = Level::parse(&sev).unwrap_or_default();
                *findings.entry(level).or_insert(0) += 1;
                if level >= self.alert_severity {
                    alerting.insert(id);
                }
            }
            let img = ImageReport {
                container,
                image,
                digest,
                inventoried,
                findings,
                alerting: alerting.into_iter().collect(),
            };
            match out.last_mut().filter(|w| w.namespace == namespace && w.kind == kind && w.name == name) {
                Some(w) => w.images.push(img),
                None => out.push(WorkloadReport { namespace, kind, name, images: vec![img] }),
            }
        }
        Ok(out)
    }

    /// Findings at or above the alert severity per workload (the Prometheus gauge).
    pub fn alerting_by_workload(&self) -> Result<Vec<(WorkloadKey, u64)>, WatchError> {
        Ok(self
            .report()?
            .into_iter()
            .map(|w| {
                let n = w.images.iter().map(|i| i.alerting.len() as u64).sum();
                ((w.namespace, w.kind, w.name), n)
            })
            .collect())
    }

    /// Whether a workload is recorded (for tests and the report).
    pub fn has_workload(&self, namespace: &str, kind: &str, name: &str) -> Result<bool, WatchError> {
        let conn = self.conn()?;
        conn.query_row(
            "SELECT 1 FROM workloads WHERE namespace = ?1 AND kind = ?2 AND name = ?3",
            params![namespace, kind, name],
            |_| Ok(()),
        )
        .optional()
        .map(|o| o.is_some())
        .map_err(|e| self.sql(e))
    }
}

/// The image pinned to its digest, to read its inventory by (`repo@sha256:…`).
fn pinned_reference(image: &str, digest: &str) -> String {
    match bulwark_oci::ImageRef::parse(image) {
        Ok(r) => format!("{}@{digest}", r.name()),
        Err(_) => format!("{image}@{digest}"),
    }
}

/// Reads the inventory of every image that has none yet (once per image: `bulwark-image`
/// takes a Bulwark registry's stored SBOM when there is one, else reads the layers). Returns
/// the images that could not be read, with why (they are tried again next time).
pub fn inventory_pending(watch: &Watch, opts: &bulwark_image::Options) -> Result<Vec<(String, String)>, WatchError> {
    let mut failed = Vec::new();
    for (digest, reference) in watch.pending_inventories()? {
        match bulwark_image::catalog(&reference, opts) {
            Ok(inv) => watch.set_inventory(&digest, &inv)?,
            Err(e) => failed.push((reference, e.to_string())),
        }
    }
    Ok(failed)
}

/// How long one alert POST may take, and how many times it is tried.
const POST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
const POST_ATTEMPTS: u32 = 3;

/// Sends each alert as one JSON POST to `url`, retried with backoff on errors and 5xx.
/// Returns the alerts that could not be delivered, with why.
pub async fn post_alerts(url: &str, alerts: &[Alert]) -> Vec<(Alert, String)> {
    let client = match reqwest::Client::builder().timeout(POST_TIMEOUT).build() {
        Ok(c) => c,
        Err(e) => return alerts.iter().map(|a| (a.clone(), e.to_string())).collect(),
    };
    let mut failed = Vec::new();
    for a in alerts {
        let mut why = String::new();
        for attempt in 0..POST_ATTEMPTS {
            if attempt > 0 {
                tokio::time::sleep(std::time::Duration::from_millis(200 << attempt)).await;
            }
            match client.post(url).json(a).send().await {
                Ok(r) if r.status().is_success() => {
                    why.clear();
                    break;
                }
                // A 4xx will not get better by trying again.
                Ok(r) if r.status().is_client_error() => {
                    why = format!("{url} answered {}", r.status());
                    break;
                }
                Ok(r) => why = format!("{url} answered {}", r.status()),
                Err(e) => why = format!("{url}: {e}"),
            }
        }
        if !why.is_empty() {
            failed.push((a.clone(), why));
        }
    }
    failed
}

/// The workload an allowed review admits, with the containers whose images name a digest
/// (a tag is recorded once verification has resolved it to the digest it pins). `None` for
/// an object without a pod template or without a pinned image.
pub fn admitted(review: &crate::review::Review) -> Option<Admitted> {
    let object = &review.object;
    let (_, spec) = bulwark_policy::resource::pod_template(object)?;
    let containers: Vec<AdmittedContainer> = crate::images::containers(spec)
        .filter_map(|(_, c)| {
            let image = c["image"].as_str()?;
            let digest = bulwark_oci::ImageRef::parse(image).ok()?.digest?;
            Some(AdmittedContainer {
                container: c["name"].as_str().unwrap_or_default().to_string(),
                image: image.to_string(),
                digest: digest.to_string(),
            })
        })
        .collect();
    if containers.is_empty() {
        return None;
    }
    let meta = &object["metadata"];
    Some(Admitted {
        namespace: meta["namespace"].as_str().unwrap_or(&review.namespace).to_string(),
        kind: object["kind"].as_str().unwrap_or_default().to_string(),
        name: meta["name"].as_str().or(meta["generateName"].as_str()).unwrap_or(&review.name).to_string(),
        containers,
    })
}
