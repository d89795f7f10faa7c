//! Alpine's security database (secdb): per branch and repository, each package's `secfixes`,
//! fixed version → the ids it fixes. Read in both of its forms: the YAML of the old
//! alpine-secdb repository (`v3.11/main.yaml`, …) and the JSON secdb.alpinelinux.org serves
//! today (`v3.20/main.json`), as one file or a directory of branch directories.
//!
//! Converted as OSV.dev's Alpine importer does: one record per CVE across every branch
//! (`ALPINE-<CVE>`, upstream `[<CVE>]`), one `affected` per (branch, package, fixed version)
//! with ecosystem `Alpine:v3.X` and an ECOSYSTEM range `introduced 0` → `fixed`.
//! Records span files, so a whole source is read before any record is emitted; give all
//! branches as one source (a directory), or a later source's record replaces the earlier one.

use super::{read_capped, Importer, Warnings};
use crate::osv::{Affected, AffectedPackage, Event, Range, Record, Reference};
use crate::store::SourceStats;
use crate::{DbError, Result};
use bulwark_version::Apk;
use regex::Regex;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

const FORMAT: &str = "alpine-secdb";

/// Bytes read to decide whether a file is a secdb document.
const SNIFF: u64 = 64 << 10;

pub struct AlpineSecdb;

impl Importer for AlpineSecdb {
    fn name(&self) -> &'static str {
        FORMAT
    }

    fn recognizes(&self, path: &Path) -> bool {
        candidates(path).iter().any(|f| is_secdb(f))
    }

    fn import(&self, path: &Path, sink: &mut dyn FnMut(Record) -> Result<()>) -> Result<Vec<SourceStats>> {
        let mut warnings = Warnings::default();
        let mut fixes = Fixes::default();
        for file in files(path) {
            let f = std::fs::File::open(&file).map_err(|e| DbError::io(&file, e))?;
            let what = file.display().to_string();
            let bytes = read_capped(f, &what)?;
            match parse(&file, &bytes) {
                Ok(db) => fixes.add(&file, db, &mut warnings),
                Err(e) => warnings.push(format!("{what}: not a secdb document: {e}")),
            }
        }
        let mut stats =
            SourceStats { location: path.display().to_string(), format: FORMAT.into(), ..Default::default() };
        for rec in fixes.into_records() {
            stats.records += 1;
            sink(rec)?;
        }
        stats.warnings = warnings.finish();
        Ok(vec![stats])
    }
}

/// One secdb file. Unknown keys (`archs`, `urlprefix`, `apkurl`) are ignored.
#[derive(Debug, Deserialize)]
struct SecDb {
    #[serde(default)]
    distroversion: Option<String>,
    #[serde(default)]
    reponame: Option<String>,
    /// `packages:` with nothing under it (v3.3/community.yaml) is null.
    #[serde(default)]
    packages: Option<Vec<PackageEntry>>,
}

#[derive(Debug, Deserialize)]
struct PackageEntry {
    pkg: Package,
}

#[derive(Debug, Deserialize)]
struct Package {
    name: String,
    /// Fixed version → ids; either side may be empty in hand-edited YAML.
    #[serde(default)]
    secfixes: Option<BTreeMap<String, Option<Vec<Option<String>>>>>,
}

fn parse(file: &Path, bytes: &[u8]) -> std::result::Result<SecDb, String> {
    if file.extension().is_some_and(|e| e == "json") {
        return serde_json::from_slice(bytes).map_err(|e| e.to_string());
    }
    let text = std::str::from_utf8(bytes).map_err(|e| format!("not UTF-8: {e}"))?;
    serde_saphyr::from_str_with_options(text, yaml_options()).map_err(|e| {
        let msg = e.to_string();
        msg.lines().next().unwrap_or("").trim().to_string()
    })
}

/// A secdb branch file is flat but long: allow more events and nodes than serde-saphyr's
/// defaults (sized for config files), keep its depth and alias-bomb limits. Duplicate keys:
/// the last wins, as in the JSON form.
fn yaml_options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_events: 20_000_000,
            max_nodes: 10_000_000,
            max_documents: 1,
        },
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::LastWins,
        with_snippet: false,
    }
}

/// One (branch, repository, package, fixed version) for a CVE.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Fix {
    branch: BranchKey,
    repo: String,
    package: String,
    fixed: String,
}

/// `v3.9` sorts before `v3.10`; anything not `vN.N` (e.g. `edge`) after the numbered ones.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct BranchKey(Option<(u32, u32)>, String);

impl BranchKey {
    fn new(s: &str) -> Self {
        let num = s
            .strip_prefix('v')
            .and_then(|v| v.split_once('.'))
            .and_then(|(a, b)| Some((a.parse().ok()?, b.parse().ok()?)));
        BranchKey(num, s.to_string())
    }
}

/// Every CVE's fixes across the whole source.
#[derive(Default)]
struct Fixes {
    by_cve: BTreeMap<String, BTreeSet<Fix>>,
}

impl Fixes {
    fn add(&mut self, file: &Path, db: SecDb, warnings: &mut Warnings) {
        let what = file.display();
        // The document names its branch and repository; the file's place is the fallback.
        let branch = db
            .distroversion
            .or_else(|| file.parent().and_then(|p| p.file_name()).and_then(|n| n.to_str()).map(str::to_string))
            .unwrap_or_default();
        let repo =
            db.reponame.or_else(|| file.file_stem().and_then(|n| n.to_str()).map(str::to_string)).unwrap_or_default();
        if !valid_word(&branch) || !valid_word(&repo) {
            warnings.push(format!("{what}: branch {branch:?} / repository {repo:?} is not usable as an ecosystem"));
            return;
        }
        let branch_key = BranchKey::new(&branch);
        for entry in db.packages.unwrap_or_default() {
            let pkg = entry.pkg;
            if !valid_word(&pkg.name) {
                warnings.push(format!("{what}: {:?} is not a package name", pkg.name));
                continue;
            }
            for (version, ids) in pkg.secfixes.unwrap_or_default() {
                // "0" is Alpine's "never affected in this branch".
                if version == "0" {
                    continue;
                }
                if !Apk::validate(&version) {
                    if !osv_accepts(&version) {
                        warnings.push(format!("{what}: {}: {version:?} is not an apk version; skipped", pkg.name));
                        continue;
                    }
                    warnings.push(format!(
                        "{what}: {}: {version:?} is not an apk version (kept, as OSV keeps it)",
                        pkg.name
                    ));
                }
                for id in ids.unwrap_or_default().into_iter().flatten() {
                    // Entries may carry more after the id (`CVE-2017-8903 XSA-213`, `CVE-… (BGP)`):
                    // the first word is the id, as OSV.dev takes it. Only CVE-keyed ones become
                    // records (XSA-, ZBX-, wnpa-sec-… have no ALPINE- id).
                    let Some(cve) = id.split_whitespace().next().filter(|c| c.starts_with("CVE-")) else { continue };
                    self.by_cve.entry(cve.to_string()).or_default().insert(Fix {
                        branch: branch_key.clone(),
                        repo: repo.clone(),
                        package: pkg.name.clone(),
                        fixed: version.clone(),
                    });
                }
            }
        }
    }

    fn into_records(self) -> impl Iterator<Item = Record> {
        self.by_cve.into_iter().map(|(cve, fixes)| Record {
            id: format!("ALPINE-{cve}"),
            upstream: vec![cve.clone()],
            affected: fixes.into_iter().map(affected).collect(),
            references: vec![Reference {
                kind: "ADVISORY".into(),
                url: format!("https://security.alpinelinux.org/vuln/{cve}"),
            }],
            ..Default::default()
        })
    }
}

fn affected(fix: Fix) -> Affected {
    let branch = fix.branch.1;
    Affected {
        package: Some(AffectedPackage {
            ecosystem: format!("Alpine:{branch}"),
            purl: Some(format!("pkg:apk/alpine/{}?arch=source", fix.package)),
            name: fix.package,
        }),
        ranges: vec![Range {
            kind: "ECOSYSTEM".into(),
            repo: None,
            events: vec![Event::introduced("0"), Event::fixed(fix.fixed)],
        }],
        database_specific: Some(serde_json::json!({ "secdb": format!("{branch}/{}", fix.repo) })),
        ..Default::default()
    }
}

/// OSV.dev's own test of a secdb version (its `valid_version`, after abuild's APKBUILD(5)):
/// looser than apk-tools in places (`10.2.22.r0`, `6.6.2p1-r0`, one suffix without `_`).
/// Entries it accepts are kept even when apk's grammar rejects them, so no fix OSV publishes
/// is lost here; the matcher then decides what an unparseable fixed version means.
fn osv_accepts(v: &str) -> bool {
    static PATTERN: LazyLock<Option<Regex>> = LazyLock::new(|| {
        Regex::new(r"^(\d+\.)*(\d+)[a-zA-Z]?(_?(?:alpha|beta|rc|pre|cvs|svn|git|hg|p)\d*)?([-\.]r\d+)?$").ok()
    });
    PATTERN.as_ref().is_some_and(|p| p.is_match(v))
}

/// Branch, repository and package names end up in ecosystems and purls: keep them plain.
fn valid_word(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'+' | b'-'))
}

/// Secdb files under `path`: `path` itself, its `*.yaml|*.yml|*.json` files, and those of
/// its branch directories (`v3.11/main.yaml`, `edge/main.json`), each sniffed.
fn files(path: &Path) -> Vec<PathBuf> {
    candidates(path).into_iter().filter(|f| is_secdb(f)).collect()
}

/// The files [`files`] would sniff, by name only (cheap, so recognition can stop early).
fn candidates(path: &Path) -> Vec<PathBuf> {
    if path.is_file() {
        return vec![path.to_path_buf()];
    }
    let mut out = Vec::new();
    for entry in read_dir_sorted(path) {
        if entry.is_dir() {
            let name = entry.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if name.starts_with('v') || name == "edge" {
                out.extend(read_dir_sorted(&entry).into_iter().filter(|f| f.is_file()));
            }
        } else {
            out.push(entry);
        }
    }
    out
}

fn read_dir_sorted(dir: &Path) -> Vec<PathBuf> {
    let Ok(rd) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut v: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
    v.sort();
    v
}

/// A YAML or JSON file whose first bytes hold secdb's keys: `distroversion` (or, when a
/// JSON writer put it later, `packages` with `secfixes`), so OSV records, the tracker's JSON
/// and other YAML are left to their own importers.
fn is_secdb(path: &Path) -> bool {
    use std::io::Read;
    let Some(ext) = path.extension().and_then(|e| e.to_str()) else { return false };
    let json = match ext {
        "json" => true,
        "yaml" | "yml" => false,
        _ => return false,
    };
    let Ok(f) = std::fs::File::open(path) else { return false };
    let mut head = Vec::new();
    if f.take(SNIFF).read_to_end(&mut head).is_err() {
        return false;
    }
    let text = String::from_utf8_lossy(&head);
    if json {
        text.trim_start().starts_with('{')
            && text.contains("\"packages\"")
            && (text.contains("\"distroversion\"") || text.contains("\"secfixes\""))
    } else {
        let key = |k: &str| text.lines().any(|l| l.strip_prefix(k).is_some_and(|r| r.trim_start().starts_with(':')));
        key("packages") && (key("distroversion") || text.contains("secfixes:"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    const SHARED: bulwark_testkit::SharedDir = bulwark_testkit::SharedDir("data");
    const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/alpine-secdb-v3.20-main.json");

    fn import(path: &Path) -> (Vec<Record>, SourceStats) {
        let mut recs = Vec::new();
        let mut stats = AlpineSecdb
            .import(path, &mut |r| {
                recs.push(r);
                Ok(())
            })
            .unwrap();
        assert_eq!(stats.len(), 1);
        (recs, stats.remove(0))
    }

    /// (ecosystem, name, fixed, secdb) of every affected entry, sorted, without repeats: a CVE
    /// listed twice under one version (ffmpeg, v3.6) is two equal entries in OSV's zip and
    /// one here.
    fn entries(r: &Record) -> Vec<(String, String, String, String)> {
        let mut v: Vec<_> = r
            .affected
            .iter()
            .map(|a| {
                let p = a.package.as_ref().unwrap();
                let ev = &a.ranges[0].events;
                assert_eq!(ev.len(), 2, "{}", r.id);
                assert_eq!(ev[0], Event::introduced("0"));
                let secdb = a.database_specific.as_ref().unwrap()["secdb"].as_str().unwrap().to_string();
                (p.ecosystem.clone(), p.name.clone(), ev[1].fixed.clone().unwrap(), secdb)
            })
            .collect();
        v.sort();
        v.dedup();
        v
    }

    #[test]
    fn real_secdb_yaml_matches_osv_alpine_zip() {
        let (ours, stats) = import(Path::new(&format!("{SHARED}/alpine-secdb")));
        let f = std::fs::File::open(format!("{SHARED}/osv/Alpine/all.zip")).unwrap();
        let mut zip = zip::ZipArchive::new(f).unwrap();
        let mut theirs = BTreeMap::new();
        for i in 0..zip.len() {
            let rec: Record = serde_json::from_reader(zip.by_index(i).unwrap()).unwrap();
            theirs.insert(rec.id.clone(), rec);
        }
        assert_eq!(theirs.len(), 2_437);
        let ours: BTreeMap<_, _> = ours.into_iter().map(|r| (r.id.clone(), r)).collect();
        let only_ours: Vec<_> = ours.keys().filter(|k| !theirs.contains_key(*k)).collect();
        let only_theirs: Vec<_> = theirs.keys().filter(|k| !ours.contains_key(*k)).collect();
        assert!(
            only_ours.is_empty() && only_theirs.is_empty(),
            "only ours: {only_ours:?}, only OSV's: {only_theirs:?}"
        );
        for (id, r) in &ours {
            let t = &theirs[id];
            assert_eq!(entries(r), entries(t), "{id}");
            assert_eq!(r.upstream, t.upstream, "{id}");
            assert_eq!(r.references, t.references, "{id}");
            let p = r.affected[0].package.as_ref().unwrap();
            assert_eq!(p.purl.as_deref(), Some(format!("pkg:apk/alpine/{}?arch=source", p.name).as_str()));
        }
        assert_eq!(stats.records, 2_437);
        // Bad versions are reported (capped), and nothing else is.
        assert!(stats.warnings.iter().all(|w| w.contains("is not an apk version") || w.starts_with("… and")));
        assert!(stats.warnings.iter().any(|w| w.contains("\"1.11-20-r0\" is not an apk version; skipped")));
        // OSV keeps CVE-2020-7247's `6.6.2p1-r0` (apk would want `6.6.2_p1-r0`); so do we.
        let r = &ours["ALPINE-CVE-2020-7247"];
        assert_eq!(entries(r), [("Alpine:v3.11".into(), "opensmtpd".into(), "6.6.2p1-r0".into(), "v3.11/main".into())]);
    }

    #[test]
    fn json_form_as_served_today() {
        let (recs, stats) = import(Path::new(FIXTURE));
        assert!(stats.warnings.is_empty(), "{:?}", stats.warnings);
        let ids: Vec<_> = recs.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "ALPINE-CVE-2023-5678",
                "ALPINE-CVE-2023-6129",
                "ALPINE-CVE-2023-6237",
                "ALPINE-CVE-2024-0727",
                "ALPINE-CVE-2024-2511",
                "ALPINE-CVE-2024-31142",
                "ALPINE-CVE-2024-4603",
                "ALPINE-CVE-2024-4741",
                "ALPINE-CVE-2024-5535",
                "ALPINE-CVE-2024-6119",
            ]
        );
        let r = &recs[0];
        assert_eq!(r.upstream, ["CVE-2023-5678"]);
        assert_eq!(r.references[0].url, "https://security.alpinelinux.org/vuln/CVE-2023-5678");
        assert_eq!(entries(r), [("Alpine:v3.20".into(), "openssl".into(), "3.1.4-r1".into(), "v3.20/main".into())]);
        // Two CVEs under one fixed version: both get it.
        assert_eq!(entries(&recs[2])[0].2, "3.1.4-r4");
        // `CVE-… XSA-…` keys the record by the CVE; XSA-only and `0` (never affected) make none.
        let xen = recs.iter().find(|r| r.id == "ALPINE-CVE-2024-31142").unwrap();
        assert_eq!(entries(xen), [("Alpine:v3.20".into(), "xen".into(), "4.18.2-r0".into(), "v3.20/main".into())]);
        assert!(!recs.iter().any(|r| r.id.contains("XSA") || r.id == "ALPINE-CVE-2020-11739"));
    }

    #[test]
    fn yaml_quirks() {
        let dir = tempfile::tempdir().unwrap();
        let branch = dir.path().join("v3.9");
        std::fs::create_dir(&branch).unwrap();
        // Keys that YAML would read as numbers stay as written; `0` skips; a bad version warns;
        // a second branch of the same CVE joins the same record.
        std::fs::write(
            branch.join("main.yaml"),
            "---\ndistroversion: v3.9\nreponame: main\narchs:\n  - x86_64\npackages:\n  - pkg:\n      name: foo\n      secfixes:\n        1.10:\n          - CVE-2020-0001 XSA-1\n        0:\n          - CVE-2020-0002\n        2.0-1-r1:\n          - CVE-2020-0003\n        3.0-r0:\n          - XSA-300\n          -\n        4.0-r0:\n  - pkg:\n      name: bar\n",
        )
        .unwrap();
        let other = dir.path().join("v3.10");
        std::fs::create_dir(&other).unwrap();
        std::fs::write(
            other.join("community.yaml"),
            "distroversion: v3.10\nreponame: community\npackages:\n  - pkg:\n      name: foo\n      secfixes:\n        1.10-r0:\n          - CVE-2020-0001\n",
        )
        .unwrap();
        std::fs::write(other.join("broken.yaml"), "distroversion: v3.10\npackages: [\n").unwrap();
        assert!(AlpineSecdb.recognizes(dir.path()));
        let (recs, stats) = import(dir.path());
        assert_eq!(recs.len(), 1, "{recs:?}");
        assert_eq!(recs[0].id, "ALPINE-CVE-2020-0001");
        assert_eq!(
            entries(&recs[0]),
            [
                ("Alpine:v3.10".into(), "foo".into(), "1.10-r0".into(), "v3.10/community".into()),
                ("Alpine:v3.9".into(), "foo".into(), "1.10".into(), "v3.9/main".into()),
            ]
        );
        // Branch order is numeric: v3.9 before v3.10.
        assert_eq!(recs[0].affected[0].package.as_ref().unwrap().ecosystem, "Alpine:v3.9");
        assert_eq!(stats.warnings.len(), 2, "{:?}", stats.warnings);
        assert!(stats.warnings[0].contains("broken.yaml: not a secdb document"), "{:?}", stats.warnings);
        assert!(stats.warnings[1].contains("\"2.0-1-r1\" is not an apk version; skipped"), "{:?}", stats.warnings);
    }

    #[test]
    fn osv_version_rule() {
        for v in ["1.2.3-r0", "6.6.2p1-r0", "10.2.22.r0", "1.0_rc7", "2.8.6", "1.2.3a_pre2-r10"] {
            assert!(osv_accepts(v), "{v}");
        }
        // Bad versions found in secdb (the first seven are in OSV's own list), and made-up ones.
        for v in
            ["1.18.-r2", "2.15.r-r1", "57-1-r2", "1.7.5.-r1", "1.11-20-r0", "4.10-1-r1", "2.7.16-33", "110.73/r0", ""]
        {
            assert!(!osv_accepts(v), "{v}");
            assert!(!Apk::validate(v), "{v}");
        }
    }

    #[test]
    fn yaml_bombs_hit_the_budget() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("main.yaml");
        // Billion laughs: each level refers to the previous one ten times.
        let mut y = String::from("distroversion: v3.9\npackages: []\na0: &a0 [x,x,x,x,x,x,x,x,x,x]\n");
        for i in 1..10 {
            y.push_str(&format!("a{i}: &a{i} [{}]\n", vec![format!("*a{}", i - 1); 10].join(",")));
        }
        std::fs::write(&f, y).unwrap();
        let (recs, stats) = import(&f);
        assert!(recs.is_empty());
        assert!(stats.warnings[0].contains("not a secdb document: budget breached"), "{:?}", stats.warnings);
    }

    #[test]
    fn recognizes_secdb_only() {
        assert!(AlpineSecdb.recognizes(Path::new(&format!("{SHARED}/alpine-secdb"))));
        assert!(AlpineSecdb.recognizes(Path::new(&format!("{SHARED}/alpine-secdb/v3.3/community.yaml"))));
        assert!(AlpineSecdb.recognizes(Path::new(FIXTURE)));
        assert!(!AlpineSecdb.recognizes(Path::new(&format!("{SHARED}/osv"))));
        assert!(!AlpineSecdb.recognizes(Path::new(&format!("{SHARED}/osv/Alpine/all.zip"))));
        assert!(!AlpineSecdb.recognizes(Path::new(&format!("{SHARED}/debian-security-tracker"))));
        let tracker = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/debian-tracker.json");
        assert!(!AlpineSecdb.recognizes(Path::new(tracker)));
        let dir = tempfile::tempdir().unwrap();
        let osv = dir.path().join("ALPINE-CVE-2020-1.json");
        std::fs::write(&osv, r#"{"id":"ALPINE-CVE-2020-1","affected":[]}"#).unwrap();
        assert!(!AlpineSecdb.recognizes(&osv));
        assert!(!AlpineSecdb.recognizes(dir.path()));
        let other = dir.path().join("config.yaml");
        std::fs::write(&other, "packages:\n  - name: x\n").unwrap();
        assert!(!AlpineSecdb.recognizes(&other));
    }
}
