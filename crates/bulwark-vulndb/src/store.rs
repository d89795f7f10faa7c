//! The database file: SQLite, one table of records (OSV JSON) and one index from
//! (ecosystem, package) to records, so a lookup reads only the advisories of that package.
//!
//! A build writes a new file next to the old one and renames it into place: a crash or
//! Ctrl-C mid-update leaves the previous database whole and usable.

use crate::osv::Record;
use crate::{normalize_name, DbError, Result};
use rusqlite::{params, Connection, OpenFlags, OptionalExtension};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Bumped whenever the tables or the meaning of a stored field change; an older or newer
/// file is refused with a message to run `bulwark db update`.
pub const SCHEMA_VERSION: u32 = 1;

/// What `bulwark db info` shows: when the file was built, from what, and what it holds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Metadata {
    pub schema_version: u32,
    /// RFC 3339 UTC.
    pub built_at: String,
    pub sources: Vec<SourceStats>,
    /// Advisories per ecosystem (release qualifiers dropped: `Debian`, not `Debian:12`).
    pub ecosystems: BTreeMap<String, u64>,
    pub advisories: u64,
    /// Withdrawn records seen and left out.
    pub withdrawn_skipped: u64,
}

/// One source as it was imported.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceStats {
    /// What the user named (path or URL) plus the file inside it, e.g. `…/osv/PyPI/all.zip`.
    pub location: String,
    /// Importer name: `osv`, `alpine-secdb`, `debian-list`, `debian-tracker`.
    pub format: String,
    pub records: u64,
    /// Records skipped as malformed, and why (the first few).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// Writes a new database file; [`Builder::commit`] moves it into place.
pub struct Builder {
    conn: Connection,
    temp: tempfile::TempPath,
    target: PathBuf,
    meta: Metadata,
    ecosystems: BTreeMap<String, std::collections::HashSet<i64>>,
}

impl Builder {
    /// Starts a build that will replace `target` on commit. The temp file sits in the same
    /// directory so the final rename is atomic.
    pub fn create(target: &Path) -> Result<Builder> {
        let dir = target.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(|e| DbError::io(dir, e))?;
        remove_stale_temps(dir);
        let temp = tempfile::Builder::new()
            .prefix(".bulwark-db-")
            .suffix(".tmp")
            .tempfile_in(dir)
            .map_err(|e| DbError::io(dir, e))?
            .into_temp_path();
        let conn = Connection::open(&temp)?;
        // A fresh file nobody else reads yet: no journal needed until it is renamed in.
        conn.execute_batch(
            "PRAGMA journal_mode = OFF;
             PRAGMA synchronous = OFF;
             CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
             CREATE TABLE advisory (rowid INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, record TEXT NOT NULL);
             CREATE TABLE affected (ecosystem TEXT NOT NULL, name TEXT NOT NULL, advisory INTEGER NOT NULL);
             -- A record replaced by a later source (OSV's DSA by the tracker's list) drops
             -- its rows by advisory: without this index, a full scan each time.
             CREATE INDEX affected_by_advisory ON affected (advisory);
             BEGIN;",
        )?;
        let meta = Metadata { schema_version: SCHEMA_VERSION, ..Default::default() };
        Ok(Builder { conn, temp, target: target.to_path_buf(), meta, ecosystems: BTreeMap::new() })
    }

    /// Adds one record. Withdrawn records are counted and skipped. A record whose id is
    /// already present replaces it (the same DSA from OSV's Debian zip and from the
    /// tracker's list, say): the later source wins.
    pub fn add(&mut self, record: &Record) -> Result<bool> {
        if record.withdrawn.is_some() {
            self.meta.withdrawn_skipped += 1;
            return Ok(false);
        }
        let json = serde_json::to_string(record)?;
        let old: Option<i64> =
            self.conn.query_row("SELECT rowid FROM advisory WHERE id = ?1", [&record.id], |r| r.get(0)).optional()?;
        if let Some(rowid) = old {
            self.conn.execute("DELETE FROM affected WHERE advisory = ?1", [rowid])?;
            self.conn.execute("DELETE FROM advisory WHERE rowid = ?1", [rowid])?;
            for set in self.ecosystems.values_mut() {
                set.remove(&rowid);
            }
        }
        self.conn.execute("INSERT INTO advisory (id, record) VALUES (?1, ?2)", params![record.id, json])?;
        let rowid = self.conn.last_insert_rowid();
        let mut seen = std::collections::HashSet::new();
        let mut stmt =
            self.conn.prepare_cached("INSERT INTO affected (ecosystem, name, advisory) VALUES (?1, ?2, ?3)")?;
        for a in &record.affected {
            let Some(p) = &a.package else { continue };
            let name = normalize_name(&p.ecosystem, &p.name);
            if seen.insert((p.ecosystem.clone(), name.clone())) {
                stmt.execute(params![p.ecosystem, name, rowid])?;
            }
            let base = p.ecosystem.split(':').next().unwrap_or(&p.ecosystem).to_string();
            self.ecosystems.entry(base).or_default().insert(rowid);
        }
        Ok(true)
    }

    /// Records a source's statistics for `db info`.
    pub fn note_source(&mut self, stats: SourceStats) {
        self.meta.sources.push(stats);
    }

    /// Indexes, writes the metadata, and renames the file over `target`.
    pub fn commit(mut self) -> Result<Metadata> {
        self.meta.built_at = crate::now_rfc3339();
        self.meta.advisories = self.conn.query_row("SELECT count(*) FROM advisory", [], |r| r.get::<_, i64>(0))? as u64;
        self.meta.ecosystems = self.ecosystems.iter().map(|(k, v)| (k.clone(), v.len() as u64)).collect();
        let meta_json = serde_json::to_string(&self.meta)?;
        self.conn.execute_batch("CREATE INDEX affected_by_package ON affected (ecosystem, name);")?;
        self.conn.execute("INSERT INTO meta (key, value) VALUES ('metadata', ?1)", [&meta_json])?;
        self.conn
            .execute("INSERT INTO meta (key, value) VALUES ('schema_version', ?1)", [SCHEMA_VERSION.to_string()])?;
        self.conn.execute_batch("COMMIT; VACUUM;")?;
        self.conn.close().map_err(|(_, e)| DbError::Sqlite(e))?;
        // Durable before it becomes visible: fsync the file, rename, fsync the directory.
        std::fs::File::open(&self.temp).and_then(|f| f.sync_all()).map_err(|e| DbError::io(&self.temp, e))?;
        self.temp.persist(&self.target).map_err(|e| DbError::io(&self.target, e.error))?;
        if let Some(dir) = self.target.parent().filter(|p| !p.as_os_str().is_empty()) {
            // Directory fsync is best effort: not every file system allows opening one.
            let _ = std::fs::File::open(dir).and_then(|f| f.sync_all());
        }
        Ok(self.meta)
    }
}

/// Temp files an update killed mid-way left behind. Only old ones: a younger one may
/// belong to an update running right now.
fn remove_stale_temps(dir: &Path) {
    const STALE: std::time::Duration = std::time::Duration::from_secs(3600);
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    for e in rd.flatten() {
        let name = e.file_name();
        let name = name.to_string_lossy();
        if !(name.starts_with(".bulwark-db-") && name.ends_with(".tmp")) {
            continue;
        }
        let old =
            e.metadata().and_then(|m| m.modified()).ok().and_then(|t| t.elapsed().ok()).is_some_and(|a| a > STALE);
        if old {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// An open database, read-only.
pub struct Db {
    conn: Connection,
    path: PathBuf,
    meta: Metadata,
}

impl Db {
    pub fn open(path: &Path) -> Result<Db> {
        if !path.exists() {
            return Err(DbError::Missing(path.to_path_buf()));
        }
        let conn =
            Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
                .map_err(|e| DbError::Corrupt(path.to_path_buf(), e.to_string()))?;
        let version: Option<String> = conn
            .query_row("SELECT value FROM meta WHERE key = 'schema_version'", [], |r| r.get(0))
            .optional()
            .map_err(|e| DbError::Corrupt(path.to_path_buf(), e.to_string()))?;
        let version: u32 = version.and_then(|v| v.parse().ok()).unwrap_or(0);
        if version != SCHEMA_VERSION {
            return Err(DbError::Schema { path: path.to_path_buf(), found: version, want: SCHEMA_VERSION });
        }
        let meta: String = conn
            .query_row("SELECT value FROM meta WHERE key = 'metadata'", [], |r| r.get(0))
            .map_err(|e| DbError::Corrupt(path.to_path_buf(), e.to_string()))?;
        let meta = serde_json::from_str(&meta).map_err(|e| DbError::Corrupt(path.to_path_buf(), e.to_string()))?;
        Ok(Db { conn, path: path.to_path_buf(), meta })
    }

    pub fn metadata(&self) -> &Metadata {
        &self.meta
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every record naming `name` in `ecosystem` (exact ecosystem string, e.g. `Debian:12`).
    pub fn lookup(&self, ecosystem: &str, name: &str) -> Result<Vec<Record>> {
        let name = normalize_name(ecosystem, name);
        let mut stmt = self.conn.prepare_cached(
            "SELECT a.record FROM affected f JOIN advisory a ON a.rowid = f.advisory
             WHERE f.ecosystem = ?1 AND f.name = ?2 ORDER BY a.id",
        )?;
        let rows = stmt.query_map(params![ecosystem, name], |r| r.get::<_, String>(0))?;
        let mut out = Vec::new();
        for row in rows {
            let json = row?;
            let rec: Record =
                serde_json::from_str(&json).map_err(|e| DbError::Corrupt(self.path.clone(), e.to_string()))?;
            out.push(rec);
        }
        Ok(out)
    }

    /// The ecosystems (full strings, with release qualifiers) that have records.
    pub fn ecosystems(&self) -> Result<Vec<String>> {
        let mut stmt = self.conn.prepare("SELECT DISTINCT ecosystem FROM affected ORDER BY ecosystem")?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    /// One record by id.
    pub fn get(&self, id: &str) -> Result<Option<Record>> {
        let json: Option<String> =
            self.conn.query_row("SELECT record FROM advisory WHERE id = ?1", [id], |r| r.get(0)).optional()?;
        json.map(|j| serde_json::from_str(&j).map_err(|e| DbError::Corrupt(self.path.clone(), e.to_string())))
            .transpose()
    }
}
