//! The advisory database from every real source in `shared()/data` (OSV zips, the Debian
//! tracker's DSA/DLA lists, Alpine's secdb), built once and shared by every test binary and
//! thread of a run, and by later runs while nothing it depends on changed.
//!
//! The cache key is a SHA-256 over (a) each source file's path, size and content, (b) the
//! sources of the code that builds the database (bulwark-vulndb and bulwark-version, which
//! normalises versions) and `Cargo.lock`. Content, not mtimes: a checkout, a copy of
//! `../shared` or `touch` changes mtimes without changing the database, and an edit that keeps
//! the size and mtime (a restore from a tarball) must not keep a stale one. Hashing the ~20 MB
//! takes well under a second at the sha2 opt-level the workspace sets; building takes ~10 s.
//! The code is part of the key because a changed importer makes a different database from
//! the same data, and a test must see the importer it is testing.
//!
//! The file lives in `<target>/testkit/advisory-db-<key>/vuln.db`. Several test binaries (or
//! `cargo test` runs) asking at once take an exclusive lock on `<target>/testkit/advisory-db.lock`
//! first, so one builds and the others wait and reuse it; `bulwark_vulndb::update` itself
//! builds in a temp file and renames it in, so a crash never leaves a half-written database
//! under the final name. Older keys' directories are removed by whoever builds a new one.

use sha2::{Digest as _, Sha256};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The advisory sources, in the order the tests have always given them to `db update`.
pub fn sources() -> Vec<PathBuf> {
    let data = crate::shared().join("data");
    vec![data.join("osv"), data.join("debian-security-tracker"), data.join("alpine-secdb")]
}

/// The database built from [`sources`] with `bulwark_vulndb::update` (what `bulwark db update
/// --source …` runs): once per run, cached by a digest of the data and the building code.
/// Read-only: copy it ([`copy_advisory_db`]) to change or replace it.
pub fn advisory_db() -> &'static Path {
    static DB: OnceLock<PathBuf> = OnceLock::new();
    DB.get_or_init(build_or_reuse)
}

/// A private copy of [`advisory_db`] at `to` (for a test that renames or replaces it).
pub fn copy_advisory_db(to: &Path) {
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::copy(advisory_db(), to).unwrap_or_else(|e| panic!("copy the advisory db to {}: {e}", to.display()));
}

fn build_or_reuse() -> PathBuf {
    let sources = sources();
    for s in &sources {
        assert!(s.exists(), "{} missing: the advisory data is in ../shared (or $BULWARK_SHARED)", s.display());
    }
    let key = key(&sources);
    let root = target_dir().join("testkit");
    std::fs::create_dir_all(&root).unwrap();
    let dir = root.join(format!("advisory-db-{key}"));
    let db = dir.join("vuln.db");
    let lock = std::fs::File::create(root.join("advisory-db.lock")).unwrap();
    lock.lock().unwrap();
    if !db.is_file() {
        std::fs::create_dir_all(&dir).unwrap();
        let refs: Vec<&Path> = sources.iter().map(PathBuf::as_path).collect();
        let started = std::time::Instant::now();
        bulwark_vulndb::update(&refs, &db).unwrap_or_else(|e| panic!("building the advisory db: {e}"));
        // On the real stderr (past the harness's capture): a build is worth knowing about.
        let line = format!("testkit: advisory db built in {:.1}s: {}\n", started.elapsed().as_secs_f64(), db.display());
        let _ = std::io::Write::write_all(&mut std::io::stderr().lock(), line.as_bytes());
        // Older keys are dead weight (hundreds of MB over a day of edits).
        for e in std::fs::read_dir(&root).unwrap().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with("advisory-db-") && e.path() != dir {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
    drop(lock);
    db
}

/// The cargo target directory of this test run: `CARGO_TARGET_DIR`, else the one holding
/// this test executable (`<target>/debug/deps/…`), else the workspace's `target/`.
fn target_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(d);
    }
    let exe = std::env::current_exe().ok();
    let deps = exe.as_deref().and_then(Path::parent).filter(|d| d.ends_with("deps"));
    match deps.and_then(Path::parent).and_then(Path::parent) {
        Some(t) => t.to_path_buf(),
        None => crate::repo().join("target"),
    }
}

/// SHA-256 (first 16 hex digits) of the sources' paths, sizes and contents and of the code
/// that builds the database.
fn key(sources: &[PathBuf]) -> String {
    let mut h = Sha256::new();
    let mut files = Vec::new();
    for s in sources {
        // The absolute path goes in too: the database records where its sources were.
        h.update(s.to_string_lossy().as_bytes());
        h.update([0]);
        walk(s, &mut files);
    }
    let repo = crate::repo();
    for c in ["crates/bulwark-vulndb", "crates/bulwark-version"] {
        walk(&repo.join(c).join("src"), &mut files);
        files.push(repo.join(c).join("Cargo.toml"));
    }
    files.push(repo.join("Cargo.lock"));
    for f in files {
        let data = std::fs::read(&f).unwrap_or_default();
        h.update(f.to_string_lossy().as_bytes());
        h.update([0]);
        h.update((data.len() as u64).to_le_bytes());
        h.update(&data);
    }
    hex::encode(&h.finalize()[..8])
}

/// Every file under `path` (or `path` itself), sorted, so the key does not depend on the
/// order the file system lists them in.
fn walk(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_file() {
        out.push(path.to_path_buf());
        return;
    }
    let Ok(rd) = std::fs::read_dir(path) else { return };
    let mut entries: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
    entries.sort();
    for e in entries {
        walk(&e, out);
    }
}
