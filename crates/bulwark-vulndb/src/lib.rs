//! The local advisory database. Importers turn each upstream format (OSV zips as the OSV
//! bucket lays them out, Alpine's secdb, the Debian Security Tracker's lists and JSON) into
//! OSV records; [`store`] keeps them in one SQLite file indexed by (ecosystem, package).
#![forbid(unsafe_code)]

pub mod download;
pub mod import;
pub mod osv;
pub mod severity;
pub mod store;

pub use import::{importers, update, Importer, UpdateReport};
pub use osv::Record;
pub use store::{Builder, Db, Metadata, SourceStats, SCHEMA_VERSION};

use bulwark_catalog::PackageType;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("no vulnerability database at {}; build one with `bulwark db update` (online) or `bulwark db update --source DIR` (offline, a directory laid out like the OSV bucket)", .0.display())]
    Missing(PathBuf),
    #[error("{}: database schema version {found}, this bulwark reads version {want}; run `bulwark db update`", path.display())]
    Schema { path: PathBuf, found: u32, want: u32 },
    #[error("{}: not a readable bulwark database ({}); run `bulwark db update`", .0.display(), .1)]
    Corrupt(PathBuf, String),
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{what}: {msg}")]
    Input { what: String, msg: String },
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("JSON: {0}")]
    Json(#[from] serde_json::Error),
}

impl DbError {
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        DbError::Io { path: path.to_path_buf(), source }
    }
    pub fn input(what: impl Into<String>, msg: impl Into<String>) -> Self {
        DbError::Input { what: what.into(), msg: msg.into() }
    }
}

pub type Result<T, E = DbError> = std::result::Result<T, E>;

/// The database file in the user's cache directory (`~/.cache/bulwark/db/vuln.db` on Linux),
/// under `cache_dir` when one is given (`--cache-dir`, as Trivy keeps its DB under its cache).
pub fn default_path(cache_dir: Option<&Path>) -> PathBuf {
    let base = match cache_dir {
        Some(d) => d.to_path_buf(),
        None => std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
            .unwrap_or_else(std::env::temp_dir)
            .join("bulwark"),
    };
    base.join("db").join("vuln.db")
}

/// Package names as the index stores them. PyPI names compare after PEP 503
/// normalisation (`Django` = `django`, `zope.interface` = `zope-interface`); elsewhere
/// names are exact.
pub fn normalize_name(ecosystem: &str, name: &str) -> String {
    let base = ecosystem.split(':').next().unwrap_or(ecosystem);
    if Some(base) != PackageType::Python.osv_ecosystem() {
        return name.to_string();
    }
    let mut out = String::with_capacity(name.len());
    let mut sep = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            sep = true;
        } else {
            if sep && !out.is_empty() {
                out.push('-');
            }
            sep = false;
            out.extend(c.to_lowercase());
        }
    }
    out
}

pub(crate) fn now_rfc3339() -> String {
    let now = time::OffsetDateTime::now_utc();
    now.format(&time::format_description::well_known::Rfc3339).unwrap_or_else(|_| now.unix_timestamp().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pep503_names() {
        assert_eq!(normalize_name("PyPI", "Django"), "django");
        assert_eq!(normalize_name("PyPI", "zope.interface"), "zope-interface");
        assert_eq!(normalize_name("PyPI", "a__b--c"), "a-b-c");
        assert_eq!(normalize_name("npm", "Foo"), "Foo");
    }
}
