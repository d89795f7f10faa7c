//! Metadata in an embedded SQLite database: projects, users and their roles, manifests and what
//! they reference, tags, per-repository blob links, uploads and scan reports. Blobs themselves
//! live in [`crate::storage`]. SQLite in WAL mode lets `bulwark registry user add` run beside a
//! serving process, and its transactions make every manifest push all-or-nothing.
//!
//! [`Meta`] has the SQLite operations as plain (blocking) methods, for tools and tests that own
//! it; through [`MetaStore`] each runs on tokio's blocking pool, so a slow disk or a locked
//! database never stalls the async workers that serve requests.

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::path::Path;
use std::sync::Mutex;

/// Errors of any [`MetaStore`] backend: nothing here names SQLite (or PostgreSQL).
#[derive(Debug, thiserror::Error)]
pub enum MetaError {
    /// The backend failed (I/O, a locked or corrupt database, a lost connection).
    #[error("metadata database: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The database was written by a newer bulwark: its schema is not one this build knows.
    #[error("metadata database schema version {found} is newer than this bulwark's ({supported}); upgrade bulwark")]
    SchemaTooNew { found: i64, supported: i64 },
    #[error("tag {tag} in {repo} is immutable and points to {existing}")]
    TagImmutable { repo: String, tag: String, existing: String },
    #[error("{0}")]
    Invalid(String),
}

pub type Result<T> = std::result::Result<T, MetaError>;

#[cfg(any(test, feature = "conformance"))]
pub mod conformance;

// The SQLite backend's errors become backend errors here, so `?` works inside it; the trait's
// signatures never mention rusqlite.
impl From<rusqlite::Error> for MetaError {
    fn from(e: rusqlite::Error) -> Self {
        MetaError::Backend(Box::new(e))
    }
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS projects(
  name TEXT PRIMARY KEY, public INTEGER NOT NULL DEFAULT 0, immutable_tags INTEGER NOT NULL DEFAULT 0,
  retention TEXT, block_severity TEXT, created INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS users(
  name TEXT PRIMARY KEY, hash TEXT NOT NULL, robot INTEGER NOT NULL DEFAULT 0, admin INTEGER NOT NULL DEFAULT 0,
  expires INTEGER, created INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS roles(user TEXT NOT NULL, project TEXT NOT NULL, role TEXT NOT NULL,
  PRIMARY KEY(user, project));
CREATE TABLE IF NOT EXISTS manifests(
  repo TEXT NOT NULL, digest TEXT NOT NULL, media_type TEXT NOT NULL, size INTEGER NOT NULL,
  artifact_type TEXT, subject TEXT, annotations TEXT, pushed INTEGER NOT NULL, PRIMARY KEY(repo, digest));
CREATE INDEX IF NOT EXISTS manifests_subject ON manifests(repo, subject);
CREATE TABLE IF NOT EXISTS manifest_refs(repo TEXT NOT NULL, digest TEXT NOT NULL, child TEXT NOT NULL,
  kind TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS manifest_refs_parent ON manifest_refs(repo, digest);
CREATE INDEX IF NOT EXISTS manifest_refs_child ON manifest_refs(repo, child);
CREATE TABLE IF NOT EXISTS tags(repo TEXT NOT NULL, tag TEXT NOT NULL, digest TEXT NOT NULL,
  pushed INTEGER NOT NULL, PRIMARY KEY(repo, tag));
CREATE INDEX IF NOT EXISTS tags_digest ON tags(repo, digest);
CREATE TABLE IF NOT EXISTS repo_blobs(repo TEXT NOT NULL, digest TEXT NOT NULL, linked INTEGER NOT NULL,
  PRIMARY KEY(repo, digest));
CREATE INDEX IF NOT EXISTS repo_blobs_digest ON repo_blobs(digest);
CREATE TABLE IF NOT EXISTS uploads(id TEXT PRIMARY KEY, repo TEXT NOT NULL, started INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS scans(digest TEXT PRIMARY KEY, repo TEXT NOT NULL, status TEXT NOT NULL,
  inventory TEXT, report TEXT, summary TEXT, scanned INTEGER NOT NULL, db_built TEXT, error TEXT);
CREATE TABLE IF NOT EXISTS settings(key TEXT PRIMARY KEY, value TEXT NOT NULL);
";

/// Added after the first release: scans waiting to run (durable, so a restart resumes them).
const SCHEMA_SCAN_QUEUE: &str = "
CREATE TABLE IF NOT EXISTS scan_queue(digest TEXT PRIMARY KEY, repo TEXT NOT NULL, queued INTEGER NOT NULL);
";

/// One numbered schema step. Steps run once each, in order, in one transaction with the new
/// `schema_version`; each is also safe on a database made before versions were recorded
/// (which has some of them already), so such a database simply starts at version 0.
struct Migration {
    version: i64,
    what: &'static str,
    apply: fn(&Connection) -> rusqlite::Result<()>,
}

const MIGRATIONS: [Migration; 3] = [
    Migration { version: 1, what: "the first release's tables", apply: |c| c.execute_batch(SCHEMA) },
    Migration { version: 2, what: "the durable scan queue", apply: |c| c.execute_batch(SCHEMA_SCAN_QUEUE) },
    Migration {
        version: 3,
        what: "projects.unscanned (the pull policy for images without a report)",
        apply: |c| add_column(c, "projects", "unscanned", "unscanned TEXT"),
    },
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS[MIGRATIONS.len() - 1].version;

fn add_column(c: &Connection, table: &str, column: &str, decl: &str) -> rusqlite::Result<()> {
    let have: i64 =
        c.query_row("SELECT COUNT(*) FROM pragma_table_info(?1) WHERE name=?2", params![table, column], |r| r.get(0))?;
    if have == 0 {
        c.execute_batch(&format!("ALTER TABLE {table} ADD COLUMN {decl}"))?;
    }
    Ok(())
}

/// Bring the database to [`SCHEMA_VERSION`]; returns the version it was at. An immediate
/// transaction: a second process opening the same file waits rather than migrating twice.
fn migrate(conn: &mut Connection) -> Result<i64> {
    conn.execute_batch("CREATE TABLE IF NOT EXISTS schema_version(version INTEGER NOT NULL)")?;
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let found: i64 = tx.query_row("SELECT COALESCE(MAX(version), 0) FROM schema_version", [], |r| r.get(0))?;
    if found > SCHEMA_VERSION {
        return Err(MetaError::SchemaTooNew { found, supported: SCHEMA_VERSION });
    }
    for m in MIGRATIONS.iter().filter(|m| m.version > found) {
        tracing::debug!(version = m.version, what = m.what, "metadata schema step");
        (m.apply)(&tx)?;
    }
    if found < SCHEMA_VERSION {
        tx.execute("DELETE FROM schema_version", [])?;
        tx.execute("INSERT INTO schema_version(version) VALUES(?1)", [SCHEMA_VERSION])?;
    }
    tx.commit()?;
    Ok(found)
}

/// A role on a project; each includes the ones below it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Pull,
    Push,
    Admin,
}

impl Role {
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "pull" | "reader" | "guest" => Some(Role::Pull),
            "push" | "developer" | "writer" => Some(Role::Push),
            "admin" | "maintainer" | "owner" => Some(Role::Admin),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Pull => "pull",
            Role::Push => "push",
            Role::Admin => "admin",
        }
    }
}

/// What a project with `block_severity` does with an image that has no vulnerability report
/// yet (scan queued or running, failed, or no advisory database): Harbor's "prevent vulnerable
/// images from running" refuses them too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Unscanned {
    Allow,
    Deny,
}

impl Unscanned {
    pub fn parse(s: &str) -> Option<Unscanned> {
        match s.trim().to_ascii_lowercase().as_str() {
            "allow" => Some(Unscanned::Allow),
            "deny" => Some(Unscanned::Deny),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Unscanned::Allow => "allow",
            Unscanned::Deny => "deny",
        }
    }
}

/// Retention: a tag is kept when it matches `pattern` and is among the newest `keep_last`
/// or was pushed within `keep_days`; tags not matching `pattern` are never touched.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Retention {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_last: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_days: Option<u32>,
    /// A glob (`*`, `?`) over tag names; default `*`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Project {
    pub name: String,
    pub public: bool,
    pub immutable_tags: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention: Option<Retention>,
    /// Refuse pulls of images with a finding at or above this severity (Harbor's
    /// "prevent vulnerable images from running").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_severity: Option<String>,
    /// With `block_severity`: images without a report; unset means deny.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unscanned: Option<Unscanned>,
    pub created: i64,
}

impl Project {
    pub fn new(name: &str) -> Project {
        Project {
            name: name.into(),
            public: false,
            immutable_tags: false,
            retention: None,
            block_severity: None,
            unscanned: None,
            created: now(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub name: String,
    #[serde(skip_serializing)]
    pub hash: String,
    pub robot: bool,
    /// A system administrator: every role on every project, and user management.
    pub admin: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<i64>,
    pub created: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManifestRow {
    pub repo: String,
    pub digest: String,
    pub media_type: String,
    pub size: i64,
    pub artifact_type: Option<String>,
    pub subject: Option<String>,
    /// The manifest's annotations as JSON (served in the referrers index).
    pub annotations: Option<String>,
    pub pushed: i64,
}

/// What a manifest references: blobs (config, layers) and child manifests (an index's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ref {
    Blob(String),
    Manifest(String),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScanRow {
    pub digest: String,
    pub repo: String,
    /// `done`, `failed` or `skipped` (not an image: an index, a signature, an artifact).
    pub status: String,
    pub inventory: Option<String>,
    pub report: Option<String>,
    pub summary: Option<String>,
    pub scanned: i64,
    pub db_built: Option<String>,
    pub error: Option<String>,
}

pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// The project a repository belongs to: its first path component. One-component names are
/// in `library`, as Docker Hub files them.
pub fn project_of(repo: &str) -> &str {
    match repo.split_once('/') {
        Some((p, _)) => p,
        None => "library",
    }
}

/// The embedded metadata store: one SQLite file in WAL mode.
#[derive(Clone)]
pub struct Meta {
    conn: std::sync::Arc<Mutex<Connection>>,
}

impl Meta {
    pub fn open(path: &Path) -> Result<Meta> {
        let mut conn = Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        // WAL: readers beside the writer, and several processes (the CLI beside the server).
        // synchronous=FULL: a committed push survives a power cut, not only a killed process.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        let from = migrate(&mut conn)?;
        if from != SCHEMA_VERSION {
            tracing::info!(from, to = SCHEMA_VERSION, "metadata schema migrated");
        }
        Ok(Meta { conn: std::sync::Arc::new(Mutex::new(conn)) })
    }

    fn db(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    // Row mappers and shared SQL for the `MetaStore` implementation below.

    fn project_from(r: &rusqlite::Row<'_>) -> rusqlite::Result<Project> {
        let retention: Option<String> = r.get(3)?;
        Ok(Project {
            name: r.get(0)?,
            public: r.get(1)?,
            immutable_tags: r.get(2)?,
            retention: retention.and_then(|s| serde_json::from_str(&s).ok()),
            block_severity: r.get(4)?,
            created: r.get(5)?,
            unscanned: r.get::<_, Option<String>>(6)?.as_deref().and_then(Unscanned::parse),
        })
    }

    fn user_from(r: &rusqlite::Row<'_>) -> rusqlite::Result<User> {
        Ok(User {
            name: r.get(0)?,
            hash: r.get(1)?,
            robot: r.get(2)?,
            admin: r.get(3)?,
            expires: r.get(4)?,
            created: r.get(5)?,
        })
    }

    fn manifest_from(r: &rusqlite::Row<'_>) -> rusqlite::Result<ManifestRow> {
        Ok(ManifestRow {
            repo: r.get(0)?,
            digest: r.get(1)?,
            media_type: r.get(2)?,
            size: r.get(3)?,
            artifact_type: r.get(4)?,
            subject: r.get(5)?,
            annotations: r.get(6)?,
            pushed: r.get(7)?,
        })
    }

    const MANIFEST_COLS: &'static str = "repo, digest, media_type, size, artifact_type, subject, annotations, pushed";

    fn scan_from(r: &rusqlite::Row<'_>) -> rusqlite::Result<ScanRow> {
        Ok(ScanRow {
            digest: r.get(0)?,
            repo: r.get(1)?,
            status: r.get(2)?,
            inventory: r.get(3)?,
            report: r.get(4)?,
            summary: r.get(5)?,
            scanned: r.get(6)?,
            db_built: r.get(7)?,
            error: r.get(8)?,
        })
    }

    /// The links `prune_links(?1)` drops; shared with the dry-run queries so that a GC dry run
    /// reports what a real run would do.
    const PRUNABLE_LINK: &'static str = "linked < ?1 AND NOT EXISTS (
           SELECT 1 FROM manifest_refs r WHERE r.repo=repo_blobs.repo AND r.child=repo_blobs.digest)
         AND NOT EXISTS (SELECT 1 FROM manifests m WHERE m.repo=repo_blobs.repo AND m.digest=repo_blobs.digest)";
}

/// The metadata store: what a registry knows besides blob bytes. [`Meta`] (SQLite, embedded)
/// is the default; the methods are small, async, transactional where it matters
/// (`manifest_put`) and speak [`MetaError`] only, the shape a PostgreSQL implementation for
/// several replicas takes. `meta::conformance` (tests, or the `conformance` feature) checks an
/// implementation against the contract.
#[async_trait::async_trait]
pub trait MetaStore: Send + Sync {
    async fn setting(&self, key: &str) -> Result<Option<String>>;
    /// Set `key` to `value` unless it is already set; returns the stored value.
    async fn setting_init(&self, key: &str, value: &str) -> Result<String>;
    async fn project(&self, name: &str) -> Result<Option<Project>>;
    async fn projects(&self) -> Result<Vec<Project>>;
    async fn project_put(&self, p: &Project) -> Result<()>;
    async fn project_delete(&self, name: &str) -> Result<bool>;
    async fn user(&self, name: &str) -> Result<Option<User>>;
    async fn users(&self) -> Result<Vec<User>>;
    async fn user_put(&self, u: &User) -> Result<()>;
    async fn user_delete(&self, name: &str) -> Result<bool>;
    async fn roles(&self, user: &str) -> Result<Vec<(String, Role)>>;
    async fn role_set(&self, user: &str, project: &str, role: Option<Role>) -> Result<()>;
    async fn manifest(&self, repo: &str, digest: &str) -> Result<Option<ManifestRow>>;
    async fn tag(&self, repo: &str, tag: &str) -> Result<Option<String>>;
    /// Store a manifest, what it references and optionally a tag, in one transaction.
    /// With `immutable`, moving an existing tag to another digest is refused.
    async fn manifest_put(&self, m: &ManifestRow, refs: &[Ref], tag: Option<&str>, immutable: bool) -> Result<()>;
    /// Store a manifest, what it references and every `(tag, immutable)` in one transaction:
    /// one refused tag refuses the whole push.
    async fn manifest_put_tags(&self, m: &ManifestRow, refs: &[Ref], tags: &[(&str, bool)]) -> Result<()>;
    /// Delete a manifest, its tags and its references. Blobs stay until GC.
    async fn manifest_delete(&self, repo: &str, digest: &str) -> Result<bool>;
    async fn tag_delete(&self, repo: &str, tag: &str) -> Result<bool>;
    /// Tags of a repository in lexical order, after `last`, at most `n`.
    async fn tags(&self, repo: &str, last: Option<&str>, n: Option<usize>) -> Result<Vec<String>>;
    /// Tags with the digest and push time, newest first (retention).
    async fn tags_detailed(&self, repo: &str) -> Result<Vec<(String, String, i64)>>;
    async fn tags_of(&self, repo: &str, digest: &str) -> Result<Vec<String>>;
    /// Every repository (one with a manifest or a blob), in lexical order.
    async fn repositories(&self) -> Result<Vec<String>>;
    async fn repo_exists(&self, repo: &str) -> Result<bool>;
    async fn manifests_in(&self, repo: &str) -> Result<Vec<ManifestRow>>;
    /// Manifests in `repo` whose subject is `digest`, optionally of one artifact type.
    async fn referrers(&self, repo: &str, digest: &str, artifact_type: Option<&str>) -> Result<Vec<ManifestRow>>;
    /// The manifests in `repo` that list `digest` as a child (indexes holding it).
    async fn parents(&self, repo: &str, digest: &str) -> Result<Vec<String>>;
    async fn children(&self, repo: &str, digest: &str) -> Result<Vec<Ref>>;
    async fn blob_link(&self, repo: &str, digest: &str) -> Result<()>;
    async fn blob_linked(&self, repo: &str, digest: &str) -> Result<bool>;
    async fn blob_unlink(&self, repo: &str, digest: &str) -> Result<bool>;
    async fn upload_put(&self, id: &str, repo: &str) -> Result<()>;
    async fn upload_repo(&self, id: &str) -> Result<Option<String>>;
    async fn upload_delete(&self, id: &str) -> Result<()>;
    async fn uploads(&self) -> Result<Vec<(String, String, i64)>>;
    /// Every blob digest some manifest needs: the manifests' own blobs and what they list.
    async fn referenced_blobs(&self) -> Result<HashSet<String>>;
    /// Drop blob links no manifest of the repository references, linked before `before`.
    async fn prune_links(&self, before: i64) -> Result<usize>;
    /// Blob digests still linked to some repository.
    async fn linked_blobs(&self) -> Result<HashSet<String>>;
    async fn scan_put(&self, s: &ScanRow) -> Result<()>;
    async fn scan(&self, digest: &str) -> Result<Option<ScanRow>>;
    /// Digests of stored scans with an inventory (what a DB update re-matches).
    async fn scans_with_inventory(&self) -> Result<Vec<String>>;
    /// How many links `prune_links(before)` would drop.
    async fn prunable_links(&self, before: i64) -> Result<usize>;
    /// Blob digests still linked to some repository once `prune_links(before)` has run.
    async fn linked_blobs_after_prune(&self, before: i64) -> Result<HashSet<String>>;
    /// Every (index, child manifest) pair in `repo`, in one query rather than one per manifest.
    async fn manifest_edges(&self, repo: &str) -> Result<Vec<(String, String)>>;
    /// Record a scan to run (once per digest); it stays until [`MetaStore::scan_dequeue`].
    async fn scan_enqueue(&self, digest: &str, repo: &str) -> Result<()>;
    async fn scan_dequeue(&self, digest: &str) -> Result<()>;
    /// Scans waiting, oldest first, as (digest, repo).
    async fn scan_queue(&self) -> Result<Vec<(String, String)>>;
    /// Image manifests (not indexes) with no scan row, as (digest, one repo holding it).
    async fn unscanned_manifests(&self) -> Result<Vec<(String, String)>>;
}

impl Meta {
    // --- settings -------------------------------------------------------------------------

    pub fn setting(&self, key: &str) -> Result<Option<String>> {
        Ok(self.db().query_row("SELECT value FROM settings WHERE key=?1", [key], |r| r.get(0)).optional()?)
    }

    pub fn setting_init(&self, key: &str, value: &str) -> Result<String> {
        let db = self.db();
        db.execute("INSERT OR IGNORE INTO settings(key, value) VALUES(?1, ?2)", params![key, value])?;
        Ok(db.query_row("SELECT value FROM settings WHERE key=?1", [key], |r| r.get(0))?)
    }

    // --- projects -------------------------------------------------------------------------

    pub fn project(&self, name: &str) -> Result<Option<Project>> {
        Ok(self
            .db()
            .query_row(
                "SELECT name, public, immutable_tags, retention, block_severity, created, unscanned FROM projects WHERE name=?1",
                [name],
                Self::project_from,
            )
            .optional()?)
    }

    pub fn projects(&self) -> Result<Vec<Project>> {
        let db = self.db();
        let mut st = db.prepare(
            "SELECT name, public, immutable_tags, retention, block_severity, created, unscanned FROM projects ORDER BY name",
        )?;
        let rows = st.query_map([], Self::project_from)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn project_put(&self, p: &Project) -> Result<()> {
        let retention = p.retention.as_ref().map(|r| serde_json::to_string(r).unwrap_or_default());
        self.db().execute(
            "INSERT INTO projects(name, public, immutable_tags, retention, block_severity, created, unscanned)
             VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT(name) DO UPDATE SET public=?2, immutable_tags=?3, retention=?4, block_severity=?5,
               unscanned=?7",
            params![
                p.name,
                p.public,
                p.immutable_tags,
                retention,
                p.block_severity,
                p.created,
                p.unscanned.map(Unscanned::as_str)
            ],
        )?;
        Ok(())
    }

    pub fn project_delete(&self, name: &str) -> Result<bool> {
        let db = self.db();
        db.execute("DELETE FROM roles WHERE project=?1", [name])?;
        Ok(db.execute("DELETE FROM projects WHERE name=?1", [name])? > 0)
    }

    // --- users and roles ------------------------------------------------------------------

    pub fn user(&self, name: &str) -> Result<Option<User>> {
        Ok(self
            .db()
            .query_row(
                "SELECT name, hash, robot, admin, expires, created FROM users WHERE name=?1",
                [name],
                Self::user_from,
            )
            .optional()?)
    }

    pub fn users(&self) -> Result<Vec<User>> {
        let db = self.db();
        let mut st = db.prepare("SELECT name, hash, robot, admin, expires, created FROM users ORDER BY name")?;
        let rows = st.query_map([], Self::user_from)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn user_put(&self, u: &User) -> Result<()> {
        self.db().execute(
            "INSERT INTO users(name, hash, robot, admin, expires, created) VALUES(?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT(name) DO UPDATE SET hash=?2, robot=?3, admin=?4, expires=?5",
            params![u.name, u.hash, u.robot, u.admin, u.expires, u.created],
        )?;
        Ok(())
    }

    pub fn user_delete(&self, name: &str) -> Result<bool> {
        let db = self.db();
        db.execute("DELETE FROM roles WHERE user=?1", [name])?;
        Ok(db.execute("DELETE FROM users WHERE name=?1", [name])? > 0)
    }

    pub fn roles(&self, user: &str) -> Result<Vec<(String, Role)>> {
        let db = self.db();
        let mut st = db.prepare("SELECT project, role FROM roles WHERE user=?1 ORDER BY project")?;
        let rows = st.query_map([user], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
        let mut out = Vec::new();
        for row in rows {
            let (p, r) = row?;
            if let Some(role) = Role::parse(&r) {
                out.push((p, role));
            }
        }
        Ok(out)
    }

    pub fn role_set(&self, user: &str, project: &str, role: Option<Role>) -> Result<()> {
        let db = self.db();
        match role {
            Some(r) => db.execute(
                "INSERT INTO roles(user, project, role) VALUES(?1, ?2, ?3)
                 ON CONFLICT(user, project) DO UPDATE SET role=?3",
                params![user, project, r.as_str()],
            )?,
            None => db.execute("DELETE FROM roles WHERE user=?1 AND project=?2", params![user, project])?,
        };
        Ok(())
    }

    // --- manifests and tags ---------------------------------------------------------------

    pub fn manifest(&self, repo: &str, digest: &str) -> Result<Option<ManifestRow>> {
        let sql = format!("SELECT {} FROM manifests WHERE repo=?1 AND digest=?2", Self::MANIFEST_COLS);
        Ok(self.db().query_row(&sql, params![repo, digest], Self::manifest_from).optional()?)
    }

    pub fn tag(&self, repo: &str, tag: &str) -> Result<Option<String>> {
        Ok(self
            .db()
            .query_row("SELECT digest FROM tags WHERE repo=?1 AND tag=?2", params![repo, tag], |r| r.get(0))
            .optional()?)
    }

    pub fn manifest_put(&self, m: &ManifestRow, refs: &[Ref], tag: Option<&str>, immutable: bool) -> Result<()> {
        let tags: Vec<(&str, bool)> = tag.map(|t| (t, immutable)).into_iter().collect();
        self.manifest_put_tags(m, refs, &tags)
    }

    pub fn manifest_put_tags(&self, m: &ManifestRow, refs: &[Ref], tags: &[(&str, bool)]) -> Result<()> {
        let mut db = self.db();
        let tx = db.transaction()?;
        for &(t, immutable) in tags {
            let existing: Option<String> = tx
                .query_row("SELECT digest FROM tags WHERE repo=?1 AND tag=?2", params![m.repo, t], |r| r.get(0))
                .optional()?;
            if let Some(e) = existing {
                if immutable && e != m.digest {
                    return Err(MetaError::TagImmutable { repo: m.repo.clone(), tag: t.into(), existing: e });
                }
            }
        }
        let fresh = tx.execute(
            "INSERT OR IGNORE INTO manifests(repo, digest, media_type, size, artifact_type, subject, annotations, pushed)
             VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![m.repo, m.digest, m.media_type, m.size, m.artifact_type, m.subject, m.annotations, m.pushed],
        )? > 0;
        if fresh {
            for r in refs {
                let (child, kind) = match r {
                    Ref::Blob(d) => (d, "blob"),
                    Ref::Manifest(d) => (d, "manifest"),
                };
                tx.execute(
                    "INSERT INTO manifest_refs(repo, digest, child, kind) VALUES(?1, ?2, ?3, ?4)",
                    params![m.repo, m.digest, child, kind],
                )?;
            }
        }
        for &(t, _) in tags {
            tx.execute(
                "INSERT INTO tags(repo, tag, digest, pushed) VALUES(?1, ?2, ?3, ?4)
                 ON CONFLICT(repo, tag) DO UPDATE SET digest=?3, pushed=?4",
                params![m.repo, t, m.digest, m.pushed],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    pub fn manifest_delete(&self, repo: &str, digest: &str) -> Result<bool> {
        let mut db = self.db();
        let tx = db.transaction()?;
        tx.execute("DELETE FROM tags WHERE repo=?1 AND digest=?2", params![repo, digest])?;
        tx.execute("DELETE FROM manifest_refs WHERE repo=?1 AND digest=?2", params![repo, digest])?;
        let n = tx.execute("DELETE FROM manifests WHERE repo=?1 AND digest=?2", params![repo, digest])?;
        tx.commit()?;
        Ok(n > 0)
    }

    pub fn tag_delete(&self, repo: &str, tag: &str) -> Result<bool> {
        Ok(self.db().execute("DELETE FROM tags WHERE repo=?1 AND tag=?2", params![repo, tag])? > 0)
    }

    pub fn tags(&self, repo: &str, last: Option<&str>, n: Option<usize>) -> Result<Vec<String>> {
        let db = self.db();
        let mut st = db.prepare("SELECT tag FROM tags WHERE repo=?1 AND tag > ?2 ORDER BY tag LIMIT ?3")?;
        let limit = n.map(|n| n as i64).unwrap_or(-1);
        let rows = st.query_map(params![repo, last.unwrap_or(""), limit], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn tags_detailed(&self, repo: &str) -> Result<Vec<(String, String, i64)>> {
        let db = self.db();
        let mut st = db.prepare("SELECT tag, digest, pushed FROM tags WHERE repo=?1 ORDER BY pushed DESC, tag DESC")?;
        let rows = st.query_map([repo], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn tags_of(&self, repo: &str, digest: &str) -> Result<Vec<String>> {
        let db = self.db();
        let mut st = db.prepare("SELECT tag FROM tags WHERE repo=?1 AND digest=?2 ORDER BY tag")?;
        let rows = st.query_map(params![repo, digest], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn repositories(&self) -> Result<Vec<String>> {
        let db = self.db();
        let mut st = db.prepare("SELECT repo FROM manifests UNION SELECT repo FROM repo_blobs ORDER BY 1")?;
        let rows = st.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn repo_exists(&self, repo: &str) -> Result<bool> {
        let db = self.db();
        let n: i64 = db.query_row(
            "SELECT (SELECT COUNT(*) FROM manifests WHERE repo=?1) + (SELECT COUNT(*) FROM repo_blobs WHERE repo=?1)",
            [repo],
            |r| r.get(0),
        )?;
        Ok(n > 0)
    }

    pub fn manifests_in(&self, repo: &str) -> Result<Vec<ManifestRow>> {
        let sql = format!("SELECT {} FROM manifests WHERE repo=?1 ORDER BY pushed", Self::MANIFEST_COLS);
        let db = self.db();
        let mut st = db.prepare(&sql)?;
        let rows = st.query_map([repo], Self::manifest_from)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn referrers(&self, repo: &str, digest: &str, artifact_type: Option<&str>) -> Result<Vec<ManifestRow>> {
        let sql = format!(
            "SELECT {} FROM manifests WHERE repo=?1 AND subject=?2 AND (?3 IS NULL OR artifact_type=?3) ORDER BY pushed, digest",
            Self::MANIFEST_COLS
        );
        let db = self.db();
        let mut st = db.prepare(&sql)?;
        let rows = st.query_map(params![repo, digest, artifact_type], Self::manifest_from)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn parents(&self, repo: &str, digest: &str) -> Result<Vec<String>> {
        let db = self.db();
        let mut st = db.prepare("SELECT DISTINCT digest FROM manifest_refs WHERE repo=?1 AND child=?2")?;
        let rows = st.query_map(params![repo, digest], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn children(&self, repo: &str, digest: &str) -> Result<Vec<Ref>> {
        let db = self.db();
        let mut st = db.prepare("SELECT child, kind FROM manifest_refs WHERE repo=?1 AND digest=?2")?;
        let rows = st.query_map(params![repo, digest], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
        let mut out = Vec::new();
        for row in rows {
            let (c, k) = row?;
            out.push(if k == "manifest" { Ref::Manifest(c) } else { Ref::Blob(c) });
        }
        Ok(out)
    }

    // --- blob links -----------------------------------------------------------------------

    pub fn blob_link(&self, repo: &str, digest: &str) -> Result<()> {
        self.db().execute(
            // A repeated upload or mount renews the link: GC's grace period counts from the
            // latest, or a re-pushed blob could lose its link before its manifest arrives.
            "INSERT INTO repo_blobs(repo, digest, linked) VALUES(?1, ?2, ?3)
             ON CONFLICT(repo, digest) DO UPDATE SET linked = excluded.linked",
            params![repo, digest, now()],
        )?;
        Ok(())
    }

    pub fn blob_linked(&self, repo: &str, digest: &str) -> Result<bool> {
        Ok(self
            .db()
            .query_row("SELECT 1 FROM repo_blobs WHERE repo=?1 AND digest=?2", params![repo, digest], |_| Ok(()))
            .optional()?
            .is_some())
    }

    pub fn blob_unlink(&self, repo: &str, digest: &str) -> Result<bool> {
        Ok(self.db().execute("DELETE FROM repo_blobs WHERE repo=?1 AND digest=?2", params![repo, digest])? > 0)
    }

    // --- uploads --------------------------------------------------------------------------

    pub fn upload_put(&self, id: &str, repo: &str) -> Result<()> {
        self.db().execute("INSERT INTO uploads(id, repo, started) VALUES(?1, ?2, ?3)", params![id, repo, now()])?;
        Ok(())
    }

    pub fn upload_repo(&self, id: &str) -> Result<Option<String>> {
        Ok(self.db().query_row("SELECT repo FROM uploads WHERE id=?1", [id], |r| r.get(0)).optional()?)
    }

    pub fn upload_delete(&self, id: &str) -> Result<()> {
        self.db().execute("DELETE FROM uploads WHERE id=?1", [id])?;
        Ok(())
    }

    pub fn uploads(&self) -> Result<Vec<(String, String, i64)>> {
        let db = self.db();
        let mut st = db.prepare("SELECT id, repo, started FROM uploads")?;
        let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    // --- garbage collection ---------------------------------------------------------------

    pub fn referenced_blobs(&self) -> Result<HashSet<String>> {
        let db = self.db();
        let mut out = HashSet::new();
        let mut st = db.prepare("SELECT digest FROM manifests")?;
        for d in st.query_map([], |r| r.get::<_, String>(0))? {
            out.insert(d?);
        }
        let mut st = db.prepare("SELECT child FROM manifest_refs")?;
        for d in st.query_map([], |r| r.get::<_, String>(0))? {
            out.insert(d?);
        }
        Ok(out)
    }

    pub fn prune_links(&self, before: i64) -> Result<usize> {
        let sql = format!("DELETE FROM repo_blobs WHERE {}", Self::PRUNABLE_LINK);
        Ok(self.db().execute(&sql, [before])?)
    }

    pub fn linked_blobs(&self) -> Result<HashSet<String>> {
        let db = self.db();
        let mut st = db.prepare("SELECT DISTINCT digest FROM repo_blobs")?;
        let rows = st.query_map([], |r| r.get::<_, String>(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    // --- scans ----------------------------------------------------------------------------

    pub fn scan_put(&self, s: &ScanRow) -> Result<()> {
        self.db().execute(
            "INSERT INTO scans(digest, repo, status, inventory, report, summary, scanned, db_built, error)
             VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
             ON CONFLICT(digest) DO UPDATE SET repo=?2, status=?3, inventory=?4, report=?5, summary=?6,
               scanned=?7, db_built=?8, error=?9",
            params![s.digest, s.repo, s.status, s.inventory, s.report, s.summary, s.scanned, s.db_built, s.error],
        )?;
        Ok(())
    }

    pub fn scan(&self, digest: &str) -> Result<Option<ScanRow>> {
        Ok(self
            .db()
            .query_row(
                "SELECT digest, repo, status, inventory, report, summary, scanned, db_built, error FROM scans WHERE digest=?1",
                [digest],
                Self::scan_from,
            )
            .optional()?)
    }

    pub fn scans_with_inventory(&self) -> Result<Vec<String>> {
        let db = self.db();
        let mut st = db.prepare("SELECT digest FROM scans WHERE inventory IS NOT NULL ORDER BY digest")?;
        let rows = st.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    // --- GC dry runs and retention ----------------------------------------------------------

    pub fn prunable_links(&self, before: i64) -> Result<usize> {
        let sql = format!("SELECT COUNT(*) FROM repo_blobs WHERE {}", Self::PRUNABLE_LINK);
        let n: i64 = self.db().query_row(&sql, [before], |r| r.get(0))?;
        Ok(usize::try_from(n).unwrap_or(0))
    }

    pub fn linked_blobs_after_prune(&self, before: i64) -> Result<HashSet<String>> {
        let sql = format!("SELECT DISTINCT digest FROM repo_blobs WHERE NOT ({})", Self::PRUNABLE_LINK);
        let db = self.db();
        let mut st = db.prepare(&sql)?;
        let rows = st.query_map([before], |r| r.get::<_, String>(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn manifest_edges(&self, repo: &str) -> Result<Vec<(String, String)>> {
        let db = self.db();
        let mut st = db.prepare("SELECT digest, child FROM manifest_refs WHERE repo=?1 AND kind='manifest'")?;
        let rows = st.query_map([repo], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    // --- the scan queue -------------------------------------------------------------------

    pub fn scan_enqueue(&self, digest: &str, repo: &str) -> Result<()> {
        self.db().execute(
            "INSERT OR IGNORE INTO scan_queue(digest, repo, queued) VALUES(?1, ?2, ?3)",
            params![digest, repo, now()],
        )?;
        Ok(())
    }

    pub fn scan_dequeue(&self, digest: &str) -> Result<()> {
        self.db().execute("DELETE FROM scan_queue WHERE digest=?1", [digest])?;
        Ok(())
    }

    pub fn scan_queue(&self) -> Result<Vec<(String, String)>> {
        let db = self.db();
        let mut st = db.prepare("SELECT digest, repo FROM scan_queue ORDER BY queued, digest")?;
        let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn unscanned_manifests(&self) -> Result<Vec<(String, String)>> {
        let db = self.db();
        let mut st = db.prepare(
            "SELECT m.digest, MIN(m.repo) FROM manifests m
             WHERE NOT EXISTS (SELECT 1 FROM scans s WHERE s.digest=m.digest)
               AND m.media_type NOT LIKE '%index%' AND m.media_type NOT LIKE '%manifest.list%'
             GROUP BY m.digest ORDER BY MIN(m.pushed)",
        )?;
        let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

/// Every call runs on the blocking pool: SQLite blocks (disk, locks, fsync), and an async
/// worker waiting on it would stall every request it serves.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f).await.map_err(|e| MetaError::Backend(Box::new(e)))?
}

#[async_trait::async_trait]
impl MetaStore for Meta {
    async fn setting(&self, key: &str) -> Result<Option<String>> {
        let db = self.clone();
        let key = key.to_owned();
        blocking(move || db.setting(&key)).await
    }

    async fn setting_init(&self, key: &str, value: &str) -> Result<String> {
        let db = self.clone();
        let key = key.to_owned();
        let value = value.to_owned();
        blocking(move || db.setting_init(&key, &value)).await
    }

    async fn project(&self, name: &str) -> Result<Option<Project>> {
        let db = self.clone();
        let name = name.to_owned();
        blocking(move || db.project(&name)).await
    }

    async fn projects(&self) -> Result<Vec<Project>> {
        let db = self.clone();
        blocking(move || db.projects()).await
    }

    async fn project_put(&self, p: &Project) -> Result<()> {
        let db = self.clone();
        let p = p.clone();
        blocking(move || db.project_put(&p)).await
    }

    async fn project_delete(&self, name: &str) -> Result<bool> {
        let db = self.clone();
        let name = name.to_owned();
        blocking(move || db.project_delete(&name)).await
    }

    async fn user(&self, name: &str) -> Result<Option<User>> {
        let db = self.clone();
        let name = name.to_owned();
        blocking(move || db.user(&name)).await
    }

    async fn users(&self) -> Result<Vec<User>> {
        let db = self.clone();
        blocking(move || db.users()).await
    }

    async fn user_put(&self, u: &User) -> Result<()> {
        let db = self.clone();
        let u = u.clone();
        blocking(move || db.user_put(&u)).await
    }

    async fn user_delete(&self, name: &str) -> Result<bool> {
        let db = self.clone();
        let name = name.to_owned();
        blocking(move || db.user_delete(&name)).await
    }

    async fn roles(&self, user: &str) -> Result<Vec<(String, Role)>> {
        let db = self.clone();
        let user = user.to_owned();
        blocking(move || db.roles(&user)).await
    }

    async fn role_set(&self, user: &str, project: &str, role: Option<Role>) -> Result<()> {
        let db = self.clone();
        let user = user.to_owned();
        let project = project.to_owned();
        blocking(move || db.role_set(&user, &project, role)).await
    }

    async fn manifest(&self, repo: &str, digest: &str) -> Result<Option<ManifestRow>> {
        let db = self.clone();
        let repo = repo.to_owned();
        let digest = digest.to_owned();
        blocking(move || db.manifest(&repo, &digest)).await
    }

    async fn tag(&self, repo: &str, tag: &str) -> Result<Option<String>> {
        let db = self.clone();
        let repo = repo.to_owned();
        let tag = tag.to_owned();
        blocking(move || db.tag(&repo, &tag)).await
    }

    async fn manifest_put(&self, m: &ManifestRow, refs: &[Ref], tag: Option<&str>, immutable: bool) -> Result<()> {
        let db = self.clone();
        let m = m.clone();
        let refs = refs.to_vec();
        let tag = tag.map(str::to_owned);
        blocking(move || db.manifest_put(&m, &refs, tag.as_deref(), immutable)).await
    }

    async fn manifest_put_tags(&self, m: &ManifestRow, refs: &[Ref], tags: &[(&str, bool)]) -> Result<()> {
        let db = self.clone();
        let m = m.clone();
        let refs = refs.to_vec();
        let tags: Vec<(String, bool)> = tags.iter().map(|(t, b)| (t.to_string(), *b)).collect();
        blocking(move || {
            db.manifest_put_tags(&m, &refs, &tags.iter().map(|(t, b)| (t.as_str(), *b)).collect::<Vec<_>>())
        })
        .await
    }

    async fn manifest_delete(&self, repo: &str, digest: &str) -> Result<bool> {
        let db = self.clone();
        let repo = repo.to_owned();
        let digest = digest.to_owned();
        blocking(move || db.manifest_delete(&repo, &digest)).await
    }

    async fn tag_delete(&self, repo: &str, tag: &str) -> Result<bool> {
        let db = self.clone();
        let repo = repo.to_owned();
        let tag = tag.to_owned();
        blocking(move || db.tag_delete(&repo, &tag)).await
    }

    async fn tags(&self, repo: &str, last: Option<&str>, n: Option<usize>) -> Result<Vec<String>> {
        let db = self.clone();
        let repo = repo.to_owned();
        let last = last.map(str::to_owned);
        blocking(move || db.tags(&repo, last.as_deref(), n)).await
    }

    async fn tags_detailed(&self, repo: &str) -> Result<Vec<(String, String, i64)>> {
        let db = self.clone();
        let repo = repo.to_owned();
        blocking(move || db.tags_detailed(&repo)).await
    }

    async fn tags_of(&self, repo: &str, digest: &str) -> Result<Vec<String>> {
        let db = self.clone();
        let repo = repo.to_owned();
        let digest = digest.to_owned();
        blocking(move || db.tags_of(&repo, &digest)).await
    }

    async fn repositories(&self) -> Result<Vec<String>> {
        let db = self.clone();
        blocking(move || db.repositories()).await
    }

    async fn repo_exists(&self, repo: &str) -> Result<bool> {
        let db = self.clone();
        let repo = repo.to_owned();
        blocking(move || db.repo_exists(&repo)).await
    }

    async fn manifests_in(&self, repo: &str) -> Result<Vec<ManifestRow>> {
        let db = self.clone();
        let repo = repo.to_owned();
        blocking(move || db.manifests_in(&repo)).await
    }

    async fn referrers(&self, repo: &str, digest: &str, artifact_type: Option<&str>) -> Result<Vec<ManifestRow>> {
        let db = self.clone();
        let repo = repo.to_owned();
        let digest = digest.to_owned();
        let artifact_type = artifact_type.map(str::to_owned);
        blocking(move || db.referrers(&repo, &digest, artifact_type.as_deref())).await
    }

    async fn parents(&self, repo: &str, digest: &str) -> Result<Vec<String>> {
        let db = self.clone();
        let repo = repo.to_owned();
        let digest = digest.to_owned();
        blocking(move || db.parents(&repo, &digest)).await
    }

    async fn children(&self, repo: &str, digest: &str) -> Result<Vec<Ref>> {
        let db = self.clone();
        let repo = repo.to_owned();
        let digest = digest.to_owned();
        blocking(move || db.children(&repo, &digest)).await
    }

    async fn blob_link(&self, repo: &str, digest: &str) -> Result<()> {
        let db = self.clone();
        let repo = repo.to_owned();
        let digest = digest.to_owned();
        blocking(move || db.blob_link(&repo, &digest)).await
    }

    async fn blob_linked(&self, repo: &str, digest: &str) -> Result<bool> {
        let db = self.clone();
        let repo = repo.to_owned();
        let digest = digest.to_owned();
        blocking(move || db.blob_linked(&repo, &digest)).await
    }

    async fn blob_unlink(&self, repo: &str, digest: &str) -> Result<bool> {
        let db = self.clone();
        let repo = repo.to_owned();
        let digest = digest.to_owned();
        blocking(move || db.blob_unlink(&repo, &digest)).await
    }

    async fn upload_put(&self, id: &str, repo: &str) -> Result<()> {
        let db = self.clone();
        let id = id.to_owned();
        let repo = repo.to_owned();
        blocking(move || db.upload_put(&id, &repo)).await
    }

    async fn upload_repo(&self, id: &str) -> Result<Option<String>> {
        let db = self.clone();
        let id = id.to_owned();
        blocking(move || db.upload_repo(&id)).await
    }

    async fn upload_delete(&self, id: &str) -> Result<()> {
        let db = self.clone();
        let id = id.to_owned();
        blocking(move || db.upload_delete(&id)).await
    }

    async fn uploads(&self) -> Result<Vec<(String, String, i64)>> {
        let db = self.clone();
        blocking(move || db.uploads()).await
    }

    async fn referenced_blobs(&self) -> Result<HashSet<String>> {
        let db = self.clone();
        blocking(move || db.referenced_blobs()).await
    }

    async fn prune_links(&self, before: i64) -> Result<usize> {
        let db = self.clone();
        blocking(move || db.prune_links(before)).await
    }

    async fn linked_blobs(&self) -> Result<HashSet<String>> {
        let db = self.clone();
        blocking(move || db.linked_blobs()).await
    }

    async fn scan_put(&self, s: &ScanRow) -> Result<()> {
        let db = self.clone();
        let s = s.clone();
        blocking(move || db.scan_put(&s)).await
    }

    async fn scan(&self, digest: &str) -> Result<Option<ScanRow>> {
        let db = self.clone();
        let digest = digest.to_owned();
        blocking(move || db.scan(&digest)).await
    }

    async fn scans_with_inventory(&self) -> Result<Vec<String>> {
        let db = self.clone();
        blocking(move || db.scans_with_inventory()).await
    }

    async fn prunable_links(&self, before: i64) -> Result<usize> {
        let db = self.clone();
        blocking(move || db.prunable_links(before)).await
    }

    async fn linked_blobs_after_prune(&self, before: i64) -> Result<HashSet<String>> {
        let db = self.clone();
        blocking(move || db.linked_blobs_after_prune(before)).await
    }

    async fn manifest_edges(&self, repo: &str) -> Result<Vec<(String, String)>> {
        let db = self.clone();
        let repo = repo.to_owned();
        blocking(move || db.manifest_edges(&repo)).await
    }

    async fn scan_enqueue(&self, digest: &str, repo: &str) -> Result<()> {
        let db = self.clone();
        let digest = digest.to_owned();
        let repo = repo.to_owned();
        blocking(move || db.scan_enqueue(&digest, &repo)).await
    }

    async fn scan_dequeue(&self, digest: &str) -> Result<()> {
        let db = self.clone();
        let digest = digest.to_owned();
        blocking(move || db.scan_dequeue(&digest)).await
    }

    async fn scan_queue(&self) -> Result<Vec<(String, String)>> {
        let db = self.clone();
        blocking(move || db.scan_queue()).await
    }

    async fn unscanned_manifests(&self) -> Result<Vec<(String, String)>> {
        let db = self.clone();
        blocking(move || db.unscanned_manifests()).await
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// The schema exactly as the code before numbered migrations created it (tables of the
    /// first release, the scan queue, `projects.unscanned` added by ALTER TABLE), frozen here so
    /// that later changes to the steps cannot make this test vacuous.
    const BEFORE_VERSIONS: &str = "
CREATE TABLE projects(name TEXT PRIMARY KEY, public INTEGER NOT NULL DEFAULT 0, immutable_tags INTEGER NOT NULL DEFAULT 0,
  retention TEXT, block_severity TEXT, created INTEGER NOT NULL);
CREATE TABLE users(name TEXT PRIMARY KEY, hash TEXT NOT NULL, robot INTEGER NOT NULL DEFAULT 0, admin INTEGER NOT NULL DEFAULT 0,
  expires INTEGER, created INTEGER NOT NULL);
CREATE TABLE roles(user TEXT NOT NULL, project TEXT NOT NULL, role TEXT NOT NULL, PRIMARY KEY(user, project));
CREATE TABLE manifests(repo TEXT NOT NULL, digest TEXT NOT NULL, media_type TEXT NOT NULL, size INTEGER NOT NULL,
  artifact_type TEXT, subject TEXT, annotations TEXT, pushed INTEGER NOT NULL, PRIMARY KEY(repo, digest));
CREATE INDEX manifests_subject ON manifests(repo, subject);
CREATE TABLE manifest_refs(repo TEXT NOT NULL, digest TEXT NOT NULL, child TEXT NOT NULL, kind TEXT NOT NULL);
CREATE INDEX manifest_refs_parent ON manifest_refs(repo, digest);
CREATE INDEX manifest_refs_child ON manifest_refs(repo, child);
CREATE TABLE tags(repo TEXT NOT NULL, tag TEXT NOT NULL, digest TEXT NOT NULL, pushed INTEGER NOT NULL, PRIMARY KEY(repo, tag));
CREATE INDEX tags_digest ON tags(repo, digest);
CREATE TABLE repo_blobs(repo TEXT NOT NULL, digest TEXT NOT NULL, linked INTEGER NOT NULL, PRIMARY KEY(repo, digest));
CREATE INDEX repo_blobs_digest ON repo_blobs(digest);
CREATE TABLE uploads(id TEXT PRIMARY KEY, repo TEXT NOT NULL, started INTEGER NOT NULL);
CREATE TABLE scans(digest TEXT PRIMARY KEY, repo TEXT NOT NULL, status TEXT NOT NULL,
  inventory TEXT, report TEXT, summary TEXT, scanned INTEGER NOT NULL, db_built TEXT, error TEXT);
CREATE TABLE settings(key TEXT PRIMARY KEY, value TEXT NOT NULL);
";
    const SCAN_QUEUE_AND_UNSCANNED: &str = "
CREATE TABLE scan_queue(digest TEXT PRIMARY KEY, repo TEXT NOT NULL, queued INTEGER NOT NULL);
ALTER TABLE projects ADD COLUMN unscanned TEXT;
";
    const ROWS: &str = "
INSERT INTO projects(name, public, immutable_tags, retention, block_severity, created) VALUES('team', 1, 1, NULL, 'HIGH', 1);
INSERT INTO users(name, hash, robot, admin, expires, created) VALUES('alice', 'h', 0, 1, NULL, 1);
INSERT INTO roles(user, project, role) VALUES('alice', 'team', 'push');
INSERT INTO manifests VALUES('team/app', 'sha256:aa', 'application/vnd.oci.image.manifest.v1+json', 10, NULL, NULL, NULL, 5);
INSERT INTO tags VALUES('team/app', 'v1', 'sha256:aa', 5);
INSERT INTO settings VALUES('token_secret', 'kept');
";

    fn version(path: &Path) -> i64 {
        let c = Connection::open(path).unwrap();
        c.query_row("SELECT version FROM schema_version", [], |r| r.get(0)).unwrap()
    }

    /// A database made by today's code (no schema_version) and one made by the first release
    /// open, migrate to the current version and keep their data; opening again changes nothing.
    #[test]
    fn databases_from_before_versions_migrate() {
        for (name, ddl) in [
            ("current.db", format!("{BEFORE_VERSIONS}{SCAN_QUEUE_AND_UNSCANNED}")),
            ("first-release.db", BEFORE_VERSIONS.to_string()),
        ] {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join(name);
            Connection::open(&path).unwrap().execute_batch(&format!("{ddl}{ROWS}")).unwrap();
            let meta = Meta::open(&path).unwrap();
            assert_eq!(version(&path), SCHEMA_VERSION, "{name}");
            let p = meta.project("team").unwrap().unwrap();
            assert!(p.public && p.immutable_tags, "{name}");
            assert_eq!(p.block_severity.as_deref(), Some("HIGH"));
            assert_eq!(p.unscanned, None);
            assert!(meta.user("alice").unwrap().unwrap().admin);
            assert_eq!(meta.roles("alice").unwrap(), vec![("team".to_string(), Role::Push)]);
            assert_eq!(meta.tag("team/app", "v1").unwrap().as_deref(), Some("sha256:aa"));
            assert_eq!(meta.setting("token_secret").unwrap().as_deref(), Some("kept"));
            // What the later steps added works.
            meta.scan_enqueue("sha256:aa", "team/app").unwrap();
            assert_eq!(meta.scan_queue().unwrap().len(), 1);
            let mut p = p;
            p.unscanned = Some(Unscanned::Deny);
            meta.project_put(&p).unwrap();
            drop(meta);
            let meta = Meta::open(&path).unwrap();
            assert_eq!(version(&path), SCHEMA_VERSION);
            assert_eq!(meta.project("team").unwrap().unwrap().unscanned, Some(Unscanned::Deny));
            let c = Connection::open(&path).unwrap();
            assert_eq!(c.query_row("SELECT COUNT(*) FROM schema_version", [], |r| r.get::<_, i64>(0)).unwrap(), 1);
        }
    }

    /// SQLite keeps the contract every metadata backend must (see [`conformance`]).
    #[tokio::test]
    async fn sqlite_passes_the_metadata_conformance_checks() {
        let dir = tempfile::tempdir().unwrap();
        let meta = Meta::open(&dir.path().join("meta.db")).unwrap();
        conformance::run_all(&meta).await;
    }

    /// A metadata call waiting on SQLite (another process holds the write lock) does not hold
    /// up the async worker: on a single-threaded runtime a timer still fires meanwhile. Called
    /// on the worker itself, as before, the timer waited for the lock.
    #[tokio::test(flavor = "current_thread")]
    async fn a_waiting_sqlite_call_does_not_stall_the_runtime() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("meta.db");
        let meta = Meta::open(&path).unwrap();
        let other = Connection::open(&path).unwrap();
        other.execute_batch("BEGIN EXCLUSIVE").unwrap();
        let release = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_secs(1));
            other.execute_batch("COMMIT").unwrap();
        });
        let store: &dyn MetaStore = &meta;
        let started = std::time::Instant::now();
        let tick = async {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            started.elapsed()
        };
        let (written, ticked) = tokio::join!(store.setting_init("k", "v"), tick);
        assert_eq!(written.unwrap(), "v");
        assert!(started.elapsed() >= std::time::Duration::from_millis(900), "the lock was not held");
        assert!(ticked < std::time::Duration::from_millis(800), "the timer waited for SQLite: {ticked:?}");
        release.join().unwrap();
    }

    /// A database from a newer bulwark is refused, not half-understood.
    #[test]
    fn a_newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("meta.db");
        drop(Meta::open(&path).unwrap());
        Connection::open(&path).unwrap().execute("UPDATE schema_version SET version = version + 1", []).unwrap();
        match Meta::open(&path) {
            Err(e @ MetaError::SchemaTooNew { .. }) => assert!(e.to_string().contains("newer"), "{e}"),
            other => panic!("expected SchemaTooNew, got {:?}", other.err()),
        }
    }
}
