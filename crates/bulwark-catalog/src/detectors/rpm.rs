//! RPM distributions (Fedora, RHEL 9+, Rocky, Alma, Amazon Linux 2023, openSUSE): the
//! SQLite rpmdb, `/var/lib/rpm/rpmdb.sqlite` or `/usr/lib/sysimage/rpm/rpmdb.sqlite`.
//! Its `Packages(hnum, blob)` table holds one RPM header blob per installed package:
//!
//! ```text
//! il: u32 BE   number of index entries
//! dl: u32 BE   size of the data store
//! il × (tag: u32, type: u32, offset: u32, count: u32), all BE
//! dl bytes of data store; `offset` is relative to its start
//! ```
//!
//! The older Berkeley DB (`Packages`) and NDB (`Packages.db`) databases are matched so
//! that the user is told they were not read, instead of silently getting no packages.

use super::{file_name, Detector};
use crate::model::{DetectError, Detection, FileInput, Package, PackageType, SourcePackage};
use rusqlite::{config::DbConfig, limits::Limit, types::ValueRef, Connection};
use std::io::{Cursor, Read};
use std::time::Duration;

pub struct RpmDb;

const DB_DIRS: [&str; 2] = ["/var/lib/rpm/", "/usr/lib/sysimage/rpm/"];

impl Detector for RpmDb {
    fn name(&self) -> &'static str {
        "rpm"
    }

    fn matches(&self, path: &str, _mode: u32) -> bool {
        DB_DIRS.iter().any(|dir| matches!(path.strip_prefix(dir), Some("rpmdb.sqlite" | "Packages" | "Packages.db")))
    }

    fn max_size(&self) -> u64 {
        256 << 20
    }

    fn detect(&self, file: &FileInput<'_>) -> Result<Detection, DetectError> {
        match file_name(file.path) {
            "Packages" if is_berkeley_db(file.data) => {
                Err(DetectError::malformed("Berkeley DB rpmdb is not supported yet"))
            }
            "Packages" => Err(DetectError::malformed("not a Berkeley DB rpmdb")),
            "Packages.db" if file.data.starts_with(b"RpmP") => {
                Err(DetectError::malformed("NDB rpmdb is not supported yet"))
            }
            "Packages.db" => Err(DetectError::malformed("not an NDB rpmdb")),
            _ => read_sqlite(file),
        }
    }
}

/// Berkeley DB keeps its magic at offset 12 in the host's byte order: hash (what rpm
/// uses), btree or queue.
fn is_berkeley_db(data: &[u8]) -> bool {
    let Some(magic) = data.get(12..16).and_then(|b| <[u8; 4]>::try_from(b).ok()) else {
        return false;
    };
    [0x0006_1561u32, 0x0005_3162, 0x0004_2253]
        .iter()
        .any(|&m| u32::from_le_bytes(magic) == m || u32::from_be_bytes(magic) == m)
}

const SQLITE_MAGIC: &[u8] = b"SQLite format 3\0";
/// Largest value SQLite will hand us; real headers are a few MiB at most (kernel-core).
const MAX_BLOB: i32 = 64 << 20;

fn read_sqlite(file: &FileInput<'_>) -> Result<Detection, DetectError> {
    let data = file.data;
    let (Some(head), Some(rest)) = (data.get(..100), data.get(100..)) else {
        return Err(DetectError::malformed("too short for an SQLite database"));
    };
    if !head.starts_with(SQLITE_MAGIC) {
        return Err(DetectError::malformed("not an SQLite database"));
    }
    // sqlite3_malloc takes an int; rusqlite would panic past it.
    if i32::try_from(data.len()).is_err() {
        return Err(DetectError::malformed("database too large"));
    }
    // rpm writes the database in WAL mode (header bytes 18 and 19 = 2). An in-memory
    // database cannot do WAL and refuses to open such a file, and the -wal file is not
    // ours anyway: mark the copy as a rollback-journal database, which reads the same pages.
    let mut header = [0u8; 100];
    header.copy_from_slice(head);
    for b in &mut header[18..20] {
        if *b == 2 {
            *b = 1;
        }
    }

    let mut conn = Connection::open_in_memory()?;
    // The file is hostile input: no views (a view named `Packages` could be an endless
    // recursive query), no triggers, no functions from the schema, no huge values.
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_DEFENSIVE, true)?;
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_TRUSTED_SCHEMA, false)?;
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_VIEW, false)?;
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_TRIGGER, false)?;
    conn.set_limit(Limit::SQLITE_LIMIT_LENGTH, MAX_BLOB)?;
    conn.set_limit(Limit::SQLITE_LIMIT_ATTACHED, 0)?;
    conn.busy_timeout(Duration::from_secs(1))?;
    // Read-only: SQLite works on its own copy and never writes back.
    conn.deserialize_read_exact("main", Cursor::new(header).chain(rest), data.len(), true)?;

    let kind: Option<String> = conn
        .query_row("SELECT type FROM sqlite_master WHERE name = 'Packages'", [], |r| r.get(0))
        .map(Some)
        .or_else(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => Ok(None),
            e => Err(e),
        })?;
    if kind.as_deref() != Some("table") {
        return Err(DetectError::malformed("no Packages table"));
    }

    let mut det = Detection::default();
    let mut stmt = conn.prepare("SELECT hnum, blob FROM Packages")?;
    let mut rows = stmt.query([])?;
    loop {
        let row = match rows.next() {
            Ok(Some(row)) => row,
            Ok(None) => break,
            // A corrupt page: keep what was read so far.
            Err(e) => {
                det.warnings.push(format!("reading Packages stopped: {e}"));
                break;
            }
        };
        let hnum = row.get_ref(0).ok().and_then(|v| v.as_i64().ok());
        let label = hnum.map_or_else(|| "?".to_string(), |n| n.to_string());
        let blob = match row.get_ref(1) {
            Ok(ValueRef::Blob(b)) => b,
            _ => {
                det.warnings.push(format!("header {label}: not a blob"));
                continue;
            }
        };
        if super::full(&mut det) {
            break;
        }
        match package_from_header(blob, file.path) {
            Ok(Some(p)) => det.packages.push(p),
            Ok(None) => {}
            Err(why) => super::warn(&mut det, format!("header {label}: {why}")),
        }
    }
    Ok(det)
}

const TAG_NAME: u32 = 1000;
const TAG_VERSION: u32 = 1001;
const TAG_RELEASE: u32 = 1002;
const TAG_EPOCH: u32 = 1003;
const TAG_LICENSE: u32 = 1014;
const TAG_ARCH: u32 = 1022;
const TAG_SOURCERPM: u32 = 1044;

const TYPE_INT32: u32 = 4;
const TYPE_STRING: u32 = 6;
const TYPE_STRING_ARRAY: u32 = 8;
const TYPE_I18NSTRING: u32 = 9;

/// rpm's own limits (`HEADER_TAGS_MAX`, `HEADER_DATA_MAX`): anything beyond is corrupt.
const MAX_TAGS: u32 = 0xffff;
const MAX_DATA: u32 = 0x0fff_ffff;

/// One parsed header: the index entries and the data store they point into.
struct Header<'a> {
    index: &'a [u8],
    store: &'a [u8],
}

fn be_u32(b: &[u8], at: usize) -> Option<u32> {
    let bytes = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes(bytes.try_into().ok()?))
}

impl<'a> Header<'a> {
    fn parse(blob: &'a [u8]) -> Result<Self, String> {
        let (il, dl) = match (be_u32(blob, 0), be_u32(blob, 4)) {
            (Some(il), Some(dl)) => (il, dl),
            _ => return Err(format!("truncated: {} bytes", blob.len())),
        };
        if il == 0 || il > MAX_TAGS || dl > MAX_DATA {
            return Err(format!("implausible header ({il} tags, {dl} data bytes)"));
        }
        // u32 → usize is lossless on every platform we build for; 16·0xffff cannot overflow.
        let index_end = (il as usize).checked_mul(16).and_then(|n| n.checked_add(8)).ok_or("header size overflows")?;
        let end = index_end.checked_add(dl as usize).ok_or("header size overflows")?;
        match (blob.get(8..index_end), blob.get(index_end..end)) {
            (Some(index), Some(store)) => Ok(Header { index, store }),
            _ => Err(format!("truncated: header needs {end} bytes, blob has {}", blob.len())),
        }
    }

    /// `(type, offset, count)` of the first entry for `tag`.
    fn entry(&self, tag: u32) -> Option<(u32, usize, u32)> {
        self.index.chunks_exact(16).find_map(|e| {
            if be_u32(e, 0)? != tag {
                return None;
            }
            Some((be_u32(e, 4)?, be_u32(e, 8)? as usize, be_u32(e, 12)?))
        })
    }

    /// A string tag (the first element of an array or i18n table); `Ok(None)` if absent.
    fn string(&self, tag: u32) -> Result<Option<String>, String> {
        let Some((ty, off, count)) = self.entry(tag) else {
            return Ok(None);
        };
        if !matches!(ty, TYPE_STRING | TYPE_STRING_ARRAY | TYPE_I18NSTRING) || count == 0 {
            return Err(format!("tag {tag} has type {ty}, count {count}"));
        }
        let tail = self.store.get(off..).ok_or_else(|| format!("tag {tag} points past the data"))?;
        let len = memchr::memchr(0, tail).ok_or_else(|| format!("tag {tag} is unterminated"))?;
        // Old packages have Latin-1 in free text; a replacement character beats losing them.
        Ok(Some(String::from_utf8_lossy(&tail[..len]).into_owned()))
    }

    fn int32(&self, tag: u32) -> Result<Option<u32>, String> {
        let Some((ty, off, count)) = self.entry(tag) else {
            return Ok(None);
        };
        if ty != TYPE_INT32 || count == 0 {
            return Err(format!("tag {tag} has type {ty}, count {count}"));
        }
        be_u32(self.store, off).map(Some).ok_or_else(|| format!("tag {tag} points past the data"))
    }
}

fn package_from_header(blob: &[u8], path: &str) -> Result<Option<Package>, String> {
    let h = Header::parse(blob)?;
    let name = h.string(TAG_NAME)?.ok_or("no NAME")?;
    if name.is_empty() || name.contains(char::is_whitespace) {
        return Err(format!("bad package name {name:?}"));
    }
    // Imported signing keys live in the rpmdb as fake packages; they are not software.
    if name == "gpg-pubkey" {
        return Ok(None);
    }
    let version = h.string(TAG_VERSION)?.ok_or_else(|| format!("package {name} has no VERSION"))?;
    let release = h.string(TAG_RELEASE)?.ok_or_else(|| format!("package {name} has no RELEASE"))?;
    let epoch = h.int32(TAG_EPOCH)?;
    // As Syft (and rpm's own NEVRA) write it: the epoch only when the tag is present.
    let evr = |v: &str| match epoch {
        Some(e) => format!("{e}:{v}"),
        None => v.to_string(),
    };
    let full_version = evr(&format!("{version}-{release}"));
    if version.is_empty() || full_version.contains(char::is_whitespace) {
        return Err(format!("package {name} has bad version {full_version:?}"));
    }
    let mut pkg = Package::new(PackageType::Rpm, name.as_str(), full_version.as_str(), path);
    pkg.arch = h.string(TAG_ARCH).ok().flatten().filter(|a| !a.is_empty());
    if let Some(l) = h.string(TAG_LICENSE).ok().flatten().filter(|l| !l.is_empty()) {
        pkg.licenses.push(l);
    }
    // The source rpm file name carries no epoch, but a source and its binaries share
    // one spec file and so one epoch.
    pkg.source = h
        .string(TAG_SOURCERPM)
        .ok()
        .flatten()
        .and_then(|s| parse_source_rpm(&s).map(|(n, vr)| (n.to_string(), evr(vr))))
        .map(|(name, version)| SourcePackage { name, version });
    Ok(Some(pkg))
}

/// `openssl-1.1.1k-7.el8.src.rpm` → (`openssl`, `1.1.1k-7.el8`).
fn parse_source_rpm(file: &str) -> Option<(&str, &str)> {
    let stem = file.strip_suffix(".src.rpm").or_else(|| file.strip_suffix(".nosrc.rpm"))?;
    let (rest, release) = stem.rsplit_once('-')?;
    let (name, version) = rest.rsplit_once('-')?;
    if name.is_empty() || version.is_empty() || release.is_empty() {
        return None;
    }
    let vr_start = name.len() + 1;
    Some((name, stem.get(vr_start..)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a header blob from `(tag, type, data)`; strings must include their NUL.
    fn header(entries: &[(u32, u32, &[u8])]) -> Vec<u8> {
        let mut index = Vec::new();
        let mut store = Vec::new();
        for (tag, ty, data) in entries {
            index.extend_from_slice(&tag.to_be_bytes());
            index.extend_from_slice(&ty.to_be_bytes());
            index.extend_from_slice(&(store.len() as u32).to_be_bytes());
            index.extend_from_slice(&1u32.to_be_bytes());
            store.extend_from_slice(data);
        }
        let mut blob = Vec::new();
        blob.extend_from_slice(&(entries.len() as u32).to_be_bytes());
        blob.extend_from_slice(&(store.len() as u32).to_be_bytes());
        blob.extend_from_slice(&index);
        blob.extend_from_slice(&store);
        blob
    }

    fn pkg_header(name: &str, version: &str, release: &str, epoch: Option<u32>) -> Vec<u8> {
        let z = |s: &str| [s.as_bytes(), b"\0"].concat();
        let (n, v, r) = (z(name), z(version), z(release));
        let src = z(&format!("{name}-{version}-{release}.src.rpm"));
        let e = epoch.map(u32::to_be_bytes);
        let mut entries: Vec<(u32, u32, &[u8])> = vec![
            (TAG_NAME, TYPE_STRING, &n),
            (TAG_VERSION, TYPE_STRING, &v),
            (TAG_RELEASE, TYPE_STRING, &r),
            (TAG_LICENSE, TYPE_STRING, b"MIT\0"),
            (TAG_ARCH, TYPE_STRING, b"x86_64\0"),
            (TAG_SOURCERPM, TYPE_STRING, &src),
        ];
        if let Some(e) = &e {
            entries.push((TAG_EPOCH, TYPE_INT32, e));
        }
        header(&entries)
    }

    /// An rpmdb-shaped SQLite file holding `blobs`, as bytes.
    fn sqlite_db(blobs: &[Vec<u8>]) -> Vec<u8> {
        let conn = Connection::open_in_memory().unwrap_or_else(|e| panic!("{e}"));
        conn.execute_batch("CREATE TABLE 'Packages' (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL);")
            .unwrap_or_else(|e| panic!("{e}"));
        for b in blobs {
            conn.execute("INSERT INTO Packages (blob) VALUES (?1)", [b]).unwrap_or_else(|e| panic!("{e}"));
        }
        let data = conn.serialize("main").unwrap_or_else(|e| panic!("{e}"));
        data.to_vec()
    }

    fn detect(path: &str, data: &[u8]) -> Result<Detection, DetectError> {
        RpmDb.detect(&FileInput { path, mode: 0o644, data })
    }

    fn ok(path: &str, data: &[u8]) -> Detection {
        detect(path, data).unwrap_or_else(|e| panic!("detect failed: {e}"))
    }

    const SQLITE_PATH: &str = "/var/lib/rpm/rpmdb.sqlite";

    #[test]
    fn real_rocky_fixture_matches_syft() {
        let layer = bulwark_testkit::image("rpm-synthetic")
            .join("blobs/sha256/ad8abeecee7cb43a458d570975267a511d90a80dc3e5a850f6a275b895a5a999");
        let layer = layer.to_str().unwrap();
        let gz = std::fs::File::open(layer).unwrap_or_else(|e| panic!("{layer}: {e}"));
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(gz));
        let mut db = None;
        for entry in archive.entries().unwrap_or_else(|e| panic!("{e}")) {
            let mut entry = entry.unwrap_or_else(|e| panic!("{e}"));
            let path = entry.path().unwrap_or_else(|e| panic!("{e}")).into_owned();
            if path.ends_with("var/lib/rpm/rpmdb.sqlite") {
                let mut buf = Vec::new();
                entry.read_to_end(&mut buf).unwrap_or_else(|e| panic!("{e}"));
                db = Some(buf);
            }
        }
        let db = db.unwrap_or_else(|| panic!("no rpmdb.sqlite in the layer"));
        // The fixture is in WAL mode, like every rpmdb rpm writes.
        assert_eq!(db.get(18..20), Some(&[2u8, 2][..]));
        let d = ok(SQLITE_PATH, &db);
        assert!(d.warnings.is_empty(), "{:?}", d.warnings);

        let facts = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/facts/syft/rpm-synthetic.json");
        let facts: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(facts).unwrap_or_else(|e| panic!("{e}")))
                .unwrap_or_else(|e| panic!("{e}"));
        let mut want: Vec<(String, String, String)> = facts["packages"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| {
                let s = |k: &str| p[k].as_str().unwrap_or_default().to_string();
                (s("name"), s("version"), s("path"))
            })
            .collect();
        let mut got: Vec<_> =
            d.packages.iter().map(|p| (p.name.clone(), p.version.clone(), p.location.path.clone())).collect();
        want.sort();
        got.sort();
        assert_eq!(got, want);

        let ssl = d.packages.iter().find(|p| p.name == "openssl-libs");
        let ssl = ssl.unwrap_or_else(|| panic!("no openssl-libs"));
        assert_eq!(ssl.arch.as_deref(), Some("noarch"));
        assert_eq!(ssl.licenses, ["OpenSSL"]);
        let src = ssl.source.as_ref().unwrap_or_else(|| panic!("no source"));
        assert_eq!((src.name.as_str(), src.version.as_str()), ("openssl-libs", "1.1.1k-7.el8"));
    }

    #[test]
    fn epoch_source_and_gpg_pubkey() {
        let blobs = vec![
            pkg_header("openssl-libs", "3.0.7", "27.el9", Some(1)),
            pkg_header("gpg-pubkey", "8483c65d", "5ccc5b19", None),
            pkg_header("bash", "5.1.8", "9.el9", Some(0)),
        ];
        let d = ok(SQLITE_PATH, &sqlite_db(&blobs));
        assert!(d.warnings.is_empty(), "{:?}", d.warnings);
        assert_eq!(d.packages.len(), 2);
        let p = &d.packages[0];
        assert_eq!(p.version, "1:3.0.7-27.el9");
        let s = p.source.as_ref().unwrap_or_else(|| panic!("no source"));
        assert_eq!((s.name.as_str(), s.version.as_str()), ("openssl-libs", "1:3.0.7-27.el9"));
        assert_eq!(p.arch.as_deref(), Some("x86_64"));
        // Epoch 0 is written when the tag is there, as Syft does.
        assert_eq!(d.packages[1].version, "0:5.1.8-9.el9");
    }

    #[test]
    fn truncated_and_garbage_headers_warn_and_keep_the_rest() {
        let good = pkg_header("curl", "7.76.1", "29.el9", None);
        let mut truncated = pkg_header("zlib", "1.2.11", "40.el9", None);
        truncated.truncate(truncated.len() - 5);
        // Offset pointing past the store.
        let mut bad_offset = pkg_header("xz", "5.2.5", "8.el9", None);
        bad_offset[8 + 8..8 + 12].copy_from_slice(&u32::MAX.to_be_bytes());
        // Huge counts that would overflow naive arithmetic.
        let huge = [u32::MAX.to_be_bytes(), u32::MAX.to_be_bytes()].concat();
        // Name not NUL-terminated: the store ends mid-string.
        let unterminated = header(&[(TAG_NAME, TYPE_STRING, b"abc")]);
        // Name stored as an integer.
        let wrong_type = header(&[(TAG_NAME, TYPE_INT32, &[0, 0, 0, 1])]);
        let blobs = vec![truncated, good.clone(), bad_offset, huge, vec![0, 0], vec![], unterminated, wrong_type, good];
        let d = ok(SQLITE_PATH, &sqlite_db(&blobs));
        let names: Vec<_> = d.packages.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["curl", "curl"]);
        assert_eq!(d.warnings.len(), 7, "{:?}", d.warnings);
        assert!(d.warnings[0].starts_with("header 1: truncated"), "{:?}", d.warnings);
    }

    #[test]
    fn every_prefix_of_a_header_is_handled() {
        let blob = pkg_header("glibc", "2.34", "100.el9", Some(2));
        for n in 0..blob.len() {
            let r = package_from_header(&blob[..n], SQLITE_PATH);
            assert!(r.is_err(), "prefix {n} parsed");
        }
        let p = package_from_header(&blob, SQLITE_PATH);
        assert!(matches!(p, Ok(Some(ref p)) if p.version == "2:2.34-100.el9"));
    }

    #[test]
    fn rejects_non_rpmdb_sqlite_and_garbage() {
        let conn = Connection::open_in_memory().unwrap_or_else(|e| panic!("{e}"));
        conn.execute_batch("CREATE TABLE t (x); CREATE VIEW Packages AS SELECT 1 AS hnum, x'00' AS blob;")
            .unwrap_or_else(|e| panic!("{e}"));
        let db = conn.serialize("main").unwrap_or_else(|e| panic!("{e}")).to_vec();
        assert!(detect(SQLITE_PATH, &db).is_err());
        assert!(detect(SQLITE_PATH, b"SQLite format 3\0 but then nothing").is_err());
        let mut junk = SQLITE_MAGIC.to_vec();
        junk.resize(8192, 0xA5);
        assert!(detect(SQLITE_PATH, &junk).is_err());
        assert!(detect(SQLITE_PATH, &[]).is_err());
        // A database truncated mid-file: an error or fewer packages, never a panic.
        let full = sqlite_db(&[pkg_header("a", "1", "1", None)]);
        for cut in [100, 512, 4096, full.len() - 1] {
            let _ = detect(SQLITE_PATH, &full[..cut.min(full.len())]);
        }
    }

    fn err(path: &str, data: &[u8]) -> String {
        match detect(path, data) {
            Ok(d) => panic!("expected an error, got {d:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn berkeley_and_ndb_are_reported_not_read() {
        let mut bdb = vec![0u8; 4096];
        bdb[12..16].copy_from_slice(&0x0006_1561u32.to_le_bytes());
        assert_eq!(err("/var/lib/rpm/Packages", &bdb), "Berkeley DB rpmdb is not supported yet");
        assert_eq!(err("/var/lib/rpm/Packages", b"hello"), "not a Berkeley DB rpmdb");
        assert_eq!(err("/usr/lib/sysimage/rpm/Packages.db", b"RpmP\0\0\0\0"), "NDB rpmdb is not supported yet");
    }

    #[test]
    fn matches_rpmdb_paths_only() {
        for p in [
            "/var/lib/rpm/rpmdb.sqlite",
            "/usr/lib/sysimage/rpm/rpmdb.sqlite",
            "/var/lib/rpm/Packages",
            "/usr/lib/sysimage/rpm/Packages.db",
        ] {
            assert!(RpmDb.matches(p, 0o644), "{p}");
        }
        for p in [
            "/var/lib/rpm/rpmdb.sqlite-wal",
            "/var/lib/rpm/Name",
            "/var/lib/rpm/sub/Packages",
            "/opt/var/lib/rpm/rpmdb.sqlite",
        ] {
            assert!(!RpmDb.matches(p, 0o644), "{p}");
        }
    }

    #[test]
    fn source_rpm_names() {
        assert_eq!(parse_source_rpm("openssl-libs-1.1.1k-7.el8.src.rpm"), Some(("openssl-libs", "1.1.1k-7.el8")));
        assert_eq!(parse_source_rpm("kernel-5.14.0-362.el9.nosrc.rpm"), Some(("kernel", "5.14.0-362.el9")));
        assert_eq!(parse_source_rpm("nodash.src.rpm"), None);
        assert_eq!(parse_source_rpm("a-b.src.rpm"), None);
        assert_eq!(parse_source_rpm("-1-2.src.rpm"), None);
        assert_eq!(parse_source_rpm("x-1-2.rpm"), None);
    }
}
