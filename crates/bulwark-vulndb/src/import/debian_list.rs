//! The Debian Security Tracker's advisory lists in their own text format: `data/DSA/list`
//! (Debian Security Advisories) and `data/DLA/list` (LTS advisories), here `DSA.list` /
//! `DLA.list`, a directory holding them, or a tracker checkout's `data/` with `DSA/list`.
//!
//! ```text
//! [10 Feb 2025] DSA-5863-1 libtasn1-6 - security update
//!     {CVE-2024-12133}
//!     [bookworm] - libtasn1-6 4.19.0-2+deb12u1
//! ```
//!
//! Converted as OSV.dev's Debian converter does: one record per advisory, `summary` = the
//! header text after the id, `upstream` = the CVEs, `published` = `modified` = the date at
//! 00:00 UTC, one `affected` per `[codename]` line (`<not-affected>` dropped, `<unfixed>` and
//! `<end-of-life>` without a `fixed` event), advisories with no affected release left out.

use super::{debian_releases, read_capped, Importer, Warnings};
use crate::osv::{Affected, AffectedPackage, Event, Range, Record, Reference};
use crate::store::SourceStats;
use crate::{DbError, Result};
use bulwark_version::{Dpkg, VersionScheme};
use std::path::{Path, PathBuf};

const FORMAT: &str = "debian-list";

/// The file names this importer reads inside a directory, in order.
const LAYOUTS: &[&str] = &["DSA.list", "DLA.list", "DSA/list", "DLA/list"];

pub struct DebianList;

impl Importer for DebianList {
    fn name(&self) -> &'static str {
        FORMAT
    }

    fn recognizes(&self, path: &Path) -> bool {
        !files(path).is_empty()
    }

    fn import(&self, path: &Path, sink: &mut dyn FnMut(Record) -> Result<()>) -> Result<Vec<SourceStats>> {
        let mut stats = Vec::new();
        for file in files(path) {
            let f = std::fs::File::open(&file).map_err(|e| DbError::io(&file, e))?;
            let what = file.display().to_string();
            let bytes = read_capped(f, &what)?;
            let mut warnings = Warnings::default();
            let records = parse(&String::from_utf8_lossy(&bytes), &mut warnings);
            let mut s = SourceStats { location: what, format: FORMAT.into(), ..Default::default() };
            for rec in records {
                s.records += 1;
                sink(rec)?;
            }
            s.warnings = warnings.finish();
            stats.push(s);
        }
        Ok(stats)
    }
}

/// The list files under `path` (or `path` itself), each checked to start like a list.
fn files(path: &Path) -> Vec<PathBuf> {
    let candidates: Vec<PathBuf> = if path.is_file() {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let parent = path.parent().and_then(|p| p.file_name()).and_then(|n| n.to_str()).unwrap_or("");
        let named = matches!(name, "DSA.list" | "DLA.list") || (name == "list" && matches!(parent, "DSA" | "DLA"));
        if named {
            vec![path.to_path_buf()]
        } else {
            Vec::new()
        }
    } else if path.is_dir() {
        LAYOUTS.iter().map(|l| path.join(l)).filter(|p| p.is_file()).collect()
    } else {
        Vec::new()
    };
    candidates.into_iter().filter(|p| looks_like_list(p)).collect()
}

/// The first non-blank line of a list is an advisory header: `[DD Mon YYYY] …`.
fn looks_like_list(path: &Path) -> bool {
    use std::io::Read;
    let Ok(f) = std::fs::File::open(path) else { return false };
    let mut head = Vec::new();
    if f.take(4096).read_to_end(&mut head).is_err() {
        return false;
    }
    let text = String::from_utf8_lossy(&head);
    text.lines().find(|l| !l.trim().is_empty()).is_some_and(|l| l.starts_with('[') && parse_header(l).is_ok())
}

/// An advisory being read: its header and the lines seen so far.
struct Pending {
    line: usize,
    record: Record,
}

/// Parses a whole list. Malformed lines become warnings naming the line; the advisory they
/// belong to keeps its other lines.
pub(crate) fn parse(text: &str, warnings: &mut Warnings) -> Vec<Record> {
    let mut out = Vec::new();
    let mut current: Option<Pending> = None;
    // After a bad header its body lines belong to nothing: skip them quietly.
    let mut skipping = false;
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        if raw.trim().is_empty() {
            continue;
        }
        if raw.starts_with('[') {
            flush(current.take(), &mut out);
            match parse_header(raw) {
                Ok(record) => {
                    current = Some(Pending { line: n, record });
                    skipping = false;
                }
                Err(e) => {
                    warnings.push(format!("line {n}: {e}: {raw:?}"));
                    skipping = true;
                }
            }
            continue;
        }
        if !raw.starts_with([' ', '\t']) {
            warnings.push(format!("line {n}: not an advisory header nor an indented line: {raw:?}"));
            continue;
        }
        if skipping {
            continue;
        }
        let Some(pending) = current.as_mut() else {
            warnings.push(format!("line {n}: indented line before the first advisory: {raw:?}"));
            continue;
        };
        let line = raw.trim();
        if line.starts_with("NOTE:") {
            continue;
        }
        if let Some(body) = line.strip_prefix('{') {
            let Some(ids) = body.strip_suffix('}') else {
                warnings.push(format!("line {n}: unclosed {{…}} list in {}", pending.record.id));
                continue;
            };
            pending.record.upstream.extend(ids.split_whitespace().map(str::to_string));
        } else if line.starts_with('[') {
            match parse_release(line) {
                Ok(Some((a, odd))) => {
                    if let Some(v) = odd {
                        warnings.push(format!(
                            "line {n}: {} : {v:?} is not a Debian version (kept, as OSV keeps it)",
                            pending.record.id
                        ));
                    }
                    pending.record.affected.push(a);
                }
                Ok(None) => {}
                Err(e) => warnings.push(format!("line {n}: {} : {e}: {line:?}", pending.record.id)),
            }
        } else {
            warnings.push(format!("line {n}: unrecognised line in {}: {line:?}", pending.record.id));
        }
    }
    flush(current, &mut out);
    out
}

/// Keeps an advisory that names at least one release, as OSV's converter does.
fn flush(pending: Option<Pending>, out: &mut Vec<Record>) {
    if let Some(p) = pending {
        if !p.record.affected.is_empty() {
            out.push(p.record);
        } else {
            tracing::debug!(id = %p.record.id, line = p.line, "advisory names no affected release: left out");
        }
    }
}

/// `[10 Feb 2025] DSA-5863-1 libtasn1-6 - security update` → a record with id, summary and
/// dates; `affected` and `upstream` are filled in from the lines that follow.
fn parse_header(line: &str) -> std::result::Result<Record, String> {
    let rest = line.strip_prefix('[').ok_or("no date")?;
    let (date, rest) = rest.split_once(']').ok_or("unclosed date")?;
    let when = parse_date(date)?;
    let rest = rest.trim_start();
    let (id, summary) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    if !valid_id(id) {
        return Err(format!("{id:?} is not an advisory id"));
    }
    let summary = summary.trim();
    Ok(Record {
        id: id.to_string(),
        summary: (!summary.is_empty()).then(|| summary.to_string()),
        published: Some(when.clone()),
        modified: Some(when),
        references: vec![Reference {
            kind: "ADVISORY".into(),
            url: format!("https://security-tracker.debian.org/tracker/{id}"),
        }],
        database_specific: Some(serde_json::json!({ "source": source_url(id) })),
        ..Default::default()
    })
}

/// `DSA-5863-1`, `DLA-4051-1`, `DSA-1304` (old DSAs have no revision).
fn valid_id(id: &str) -> bool {
    let mut parts = id.split('-');
    let prefix = parts.next().unwrap_or("");
    let nums: Vec<&str> = parts.collect();
    !prefix.is_empty()
        && prefix.bytes().all(|b| b.is_ascii_uppercase())
        && (1..=2).contains(&nums.len())
        && nums.iter().all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// Where the tracker keeps the list an advisory comes from.
fn source_url(id: &str) -> String {
    let kind = id.split('-').next().unwrap_or("DSA");
    format!("https://salsa.debian.org/security-tracker-team/security-tracker/-/raw/master/data/{kind}/list")
}

/// `10 Feb 2025` → `2025-02-10T00:00:00Z`.
fn parse_date(s: &str) -> std::result::Result<String, String> {
    let bad = || format!("{s:?} is not a date like `10 Feb 2025`");
    let mut it = s.split_whitespace();
    let (Some(d), Some(m), Some(y), None) = (it.next(), it.next(), it.next(), it.next()) else {
        return Err(bad());
    };
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let month = MONTHS.iter().position(|x| *x == m).ok_or_else(bad)? as u8 + 1;
    let day: u8 = d.parse().map_err(|_| bad())?;
    let year: i32 = if y.len() == 4 { y.parse().map_err(|_| bad())? } else { return Err(bad()) };
    let month = time::Month::try_from(month).map_err(|_| bad())?;
    let date = time::Date::from_calendar_date(year, month, day).map_err(|_| bad())?;
    Ok(format!("{:04}-{:02}-{:02}T00:00:00Z", date.year(), month as u8, date.day()))
}

/// `[bookworm] - libtasn1-6 4.19.0-2+deb12u1 (optional note)` → one affected entry, plus the
/// fixed version when it is not a valid dpkg version (the list has one such slip, DSA-423:
/// OSV keeps it, so do we, with a warning); `Ok(None)` for lines that name no affected
/// release (`<not-affected>`, sid).
fn parse_release(line: &str) -> std::result::Result<Option<(Affected, Option<String>)>, String> {
    let rest = line.strip_prefix('[').ok_or("no release")?;
    let (codename, rest) = rest.split_once(']').ok_or("unclosed release name")?;
    let rest = rest.trim_start().strip_prefix('-').ok_or("no `-` after the release")?;
    let mut words = rest.split_whitespace();
    let package = words.next().ok_or("no package")?;
    let version = words.next().ok_or("no version")?;
    let Some(ecosystem) = debian_releases::ecosystem(codename) else {
        if debian_releases::is_unnumbered(codename) {
            return Ok(None);
        }
        return Err(format!("unknown release {codename:?}"));
    };
    if !valid_package(package) {
        return Err(format!("{package:?} is not a source package name"));
    }
    let fixed = match version {
        "<not-affected>" => return Ok(None),
        "<unfixed>" | "<end-of-life>" => None,
        v if v.starts_with('<') => return Err(format!("unknown marker {v}")),
        v if !v.bytes().all(|b| b.is_ascii_graphic()) => return Err(format!("{v:?} is not a version")),
        v => Some(v),
    };
    let odd = fixed.filter(|v| !Dpkg.valid(v)).map(str::to_string);
    Ok(Some((affected(&ecosystem, package, fixed), odd)))
}

/// Debian policy: lower-case letters, digits, `+ - .`, starting alphanumeric.
pub(crate) fn valid_package(name: &str) -> bool {
    name.bytes().next().is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'.'))
}

/// One Debian affected entry: ECOSYSTEM range from 0, fixed when known.
pub(crate) fn affected(ecosystem: &str, package: &str, fixed: Option<&str>) -> Affected {
    let mut events = vec![Event::introduced("0")];
    if let Some(f) = fixed {
        events.push(Event::fixed(f));
    }
    Affected {
        package: Some(AffectedPackage {
            ecosystem: ecosystem.to_string(),
            name: package.to_string(),
            purl: Some(debian_releases::purl(package)),
        }),
        ranges: vec![Range { kind: "ECOSYSTEM".into(), repo: None, events }],
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    const SHARED: bulwark_testkit::SharedDir = bulwark_testkit::SharedDir("data");

    fn parse_str(text: &str) -> (Vec<Record>, Vec<String>) {
        let mut w = Warnings::default();
        let recs = parse(text, &mut w);
        (recs, w.finish())
    }

    fn fixed_of(a: &Affected) -> Option<&str> {
        a.ranges[0].events.iter().find_map(|e| e.fixed.as_deref())
    }

    #[test]
    fn converts_entries_like_osv() {
        // Lines copied from DSA.list (DSA-5863-1, DSA-880-1, DSA-3699-1, DSA-2092-1), plus
        // made-up bad lines.
        let text = "\
[10 Feb 2025] DSA-5863-1 libtasn1-6 - security update
\t{CVE-2024-12133}
\t[bookworm] - libtasn1-6 4.19.0-2+deb12u1
[02 Nov 2005] DSA-880-1 phpmyadmin - several
\t{CVE-2005-2869 CVE-2005-3300}
\t[woody] - phpmyadmin <unfixed>
\t[sarge] - phpmyadmin 4:2.6.2-3sarge1 (high)
\t[sid] - phpmyadmin 4:2.6.4-1
\tNOTE: fixed in testing at time of DSA
[25 Oct 2016] DSA-3699-1 virtualbox - end of life
\t[jessie] - virtualbox <end-of-life>
[17 Aug 2010] DSA-2092-1  lxr-cvs - cross-site scripting
        [lenny] - lxr-cvs 0.9.5+cvs20071020-1+lenny1
        [woody] - lxr-cvs <not-affected> (Vulnerable code not present)
[29 Mar 2024] DSA-5649-1 xz-utils - security update
\t{CVE-2024-3094}
";
        let (recs, warnings) = parse_str(text);
        assert!(warnings.is_empty(), "{warnings:?}");
        let ids: Vec<_> = recs.iter().map(|r| r.id.as_str()).collect();
        // DSA-5649-1 names no release: not written.
        assert_eq!(ids, ["DSA-5863-1", "DSA-880-1", "DSA-3699-1", "DSA-2092-1"]);

        let r = &recs[0];
        assert_eq!(r.summary.as_deref(), Some("libtasn1-6 - security update"));
        assert_eq!(r.upstream, ["CVE-2024-12133"]);
        assert_eq!(r.published.as_deref(), Some("2025-02-10T00:00:00Z"));
        assert_eq!(r.modified, r.published);
        assert_eq!(r.references[0].url, "https://security-tracker.debian.org/tracker/DSA-5863-1");
        let p = r.affected[0].package.as_ref().unwrap();
        assert_eq!((p.ecosystem.as_str(), p.name.as_str()), ("Debian:12", "libtasn1-6"));
        assert_eq!(p.purl.as_deref(), Some("pkg:deb/debian/libtasn1-6?arch=source"));
        assert_eq!(r.affected[0].ranges[0].events, [Event::introduced("0"), Event::fixed("4.19.0-2+deb12u1")]);

        // <unfixed> keeps the release without a fix; sid has no OSV ecosystem.
        let r = &recs[1];
        assert_eq!(r.affected.len(), 2);
        assert_eq!(r.affected[0].package.as_ref().unwrap().ecosystem, "Debian:3.0");
        assert_eq!(fixed_of(&r.affected[0]), None);
        assert_eq!(fixed_of(&r.affected[1]), Some("4:2.6.2-3sarge1"));
        assert_eq!(recs[2].upstream, Vec::<String>::new());
        assert_eq!(fixed_of(&recs[2].affected[0]), None);
        // Double space after the id; <not-affected> dropped.
        assert_eq!(recs[3].summary.as_deref(), Some("lxr-cvs - cross-site scripting"));
        assert_eq!(recs[3].affected.len(), 1);
    }

    #[test]
    fn malformed_lines_are_warnings() {
        let text = "\
\t[bookworm] - orphan 1.0-1
[31 Feb 2025] DSA-9999-1 bad - date
\t[bookworm] - bad 1.0-1
[10 Feb 2025] DSA-9998-1 good - security update
\t{CVE-2025-0001
\t[bookworm] - good
\t[zanzibar] - good 1.0-1
\t[bookworm] - good <postponed>
\t[bookworm] - Good 1.0-1
\t[bookworm] - good not_a:version!
\t[bookworm]
\tsomething else
\t[experimental] - good 2.0-1
\t[bookworm] - good 1.0-2
garbage at column 0
[10 Feb 2025] not-an-id x - y
\u{1F4A5}
";
        let (recs, warnings) = parse_str(text);
        assert_eq!(recs.len(), 1, "{recs:?}");
        assert_eq!(recs[0].id, "DSA-9998-1");
        assert_eq!(recs[0].affected.len(), 2);
        assert_eq!(fixed_of(&recs[0].affected[0]), Some("not_a:version!"));
        assert_eq!(fixed_of(&recs[0].affected[1]), Some("1.0-2"));
        let has = |s: &str| warnings.iter().any(|w| w.contains(s));
        assert!(has("line 1: indented line before the first advisory"), "{warnings:?}");
        assert!(has("line 2: \"31 Feb 2025\" is not a date"), "{warnings:?}");
        assert!(!has("line 3"), "body of a bad header is skipped quietly: {warnings:?}");
        assert!(has("line 5: unclosed"), "{warnings:?}");
        assert!(has("line 6: DSA-9998-1 : no version"), "{warnings:?}");
        assert!(has("line 7: DSA-9998-1 : unknown release \"zanzibar\""), "{warnings:?}");
        assert!(has("line 8: DSA-9998-1 : unknown marker <postponed>"), "{warnings:?}");
        assert!(has("line 9: DSA-9998-1 : \"Good\" is not a source package name"), "{warnings:?}");
        assert!(has("line 10: DSA-9998-1 : \"not_a:version!\" is not a Debian version (kept"), "{warnings:?}");
        assert!(has("line 11: DSA-9998-1 : no `-`"), "{warnings:?}");
        assert!(has("line 12: unrecognised line"), "{warnings:?}");
        assert!(!has("experimental"), "{warnings:?}");
        assert!(has("line 15: not an advisory header"), "{warnings:?}");
        assert!(has("line 16: \"not-an-id\" is not an advisory id"), "{warnings:?}");
        assert!(has("line 17: not an advisory header"), "{warnings:?}");
    }

    #[test]
    fn warnings_are_capped() {
        let text: String = (0..100).map(|i| format!("junk {i}\n")).collect();
        let (_, warnings) = parse_str(&text);
        assert_eq!(warnings.len(), super::super::MAX_WARNINGS + 1);
        assert_eq!(warnings.last().map(String::as_str), Some("… and 80 more"));
    }

    #[test]
    fn recognizes_lists_only() {
        let dir = format!("{SHARED}/debian-security-tracker");
        assert!(DebianList.recognizes(Path::new(&dir)));
        assert!(DebianList.recognizes(Path::new(&format!("{dir}/DSA.list"))));
        assert!(!DebianList.recognizes(Path::new(&format!("{dir}/README.md"))));
        assert!(!DebianList.recognizes(Path::new(&format!("{SHARED}/osv"))));
        assert!(!DebianList.recognizes(Path::new(&format!("{SHARED}/osv/Debian/all.zip"))));
        assert!(!DebianList.recognizes(Path::new(&format!("{SHARED}/alpine-secdb"))));
        // A file with the right name but other content is not a list.
        let tmp = tempfile::tempdir().unwrap();
        let fake = tmp.path().join("DSA.list");
        std::fs::write(&fake, "{\"id\": \"DSA-1\"}\n").unwrap();
        assert!(!DebianList.recognizes(&fake));
        assert!(!DebianList.recognizes(tmp.path()));
        // A tracker checkout's data/ directory.
        std::fs::create_dir(tmp.path().join("DLA")).unwrap();
        std::fs::write(tmp.path().join("DLA/list"), "[13 Feb 2025] DLA-4051-1 x - y\n").unwrap();
        assert!(DebianList.recognizes(tmp.path()));
        assert!(DebianList.recognizes(&tmp.path().join("DLA/list")));
    }

    /// The comparable part of a record: what the matcher uses.
    type Key = (Option<String>, Vec<String>, Vec<(String, String, Vec<Range>)>);

    fn key(r: &Record) -> Key {
        let affected = r
            .affected
            .iter()
            .map(|a| {
                let p = a.package.as_ref().unwrap();
                (p.ecosystem.clone(), p.name.clone(), a.ranges.clone())
            })
            .collect();
        (r.summary.clone(), r.upstream.clone(), affected)
    }

    fn osv_zip(eco: &str) -> BTreeMap<String, Record> {
        let f = std::fs::File::open(format!("{SHARED}/osv/{eco}/all.zip")).unwrap();
        let mut zip = zip::ZipArchive::new(f).unwrap();
        let mut out = BTreeMap::new();
        for i in 0..zip.len() {
            let entry = zip.by_index(i).unwrap();
            let rec: Record = serde_json::from_reader(entry).unwrap();
            out.insert(rec.id.clone(), rec);
        }
        out
    }

    fn import_all(path: &Path) -> (Vec<Record>, Vec<SourceStats>) {
        let mut recs = Vec::new();
        let stats = DebianList
            .import(path, &mut |r| {
                recs.push(r);
                Ok(())
            })
            .unwrap();
        (recs, stats)
    }

    #[test]
    fn real_lists_match_osv_debian_zip() {
        let (ours, stats) = import_all(Path::new(&format!("{SHARED}/debian-security-tracker")));
        assert_eq!(stats.len(), 2);
        // The one slip in the real lists: a package name where the version goes.
        assert_eq!(
            stats[0].warnings,
            ["line 18945: DSA-423 : \"kernel-image-2.4.17-ia64\" is not a Debian version (kept, as OSV keeps it)"]
        );
        assert!(stats[1].warnings.is_empty(), "{:?}", stats[1].warnings);
        let zip = osv_zip("Debian");
        let mut compared = 0;
        let mut ours_ids = std::collections::HashSet::new();
        for r in &ours {
            assert!(ours_ids.insert(r.id.clone()), "{} twice", r.id);
            let theirs = zip.get(&r.id).unwrap_or_else(|| panic!("{} not in the OSV Debian zip", r.id));
            assert_eq!(key(r), key(theirs), "{}", r.id);
            assert_eq!(r.published, theirs.published, "{}", r.id);
            assert_eq!(r.references, theirs.references, "{}", r.id);
            compared += 1;
        }
        // 5,883 DSA + 4,220 DLA come from these lists (SOURCES.md); the rest of the zip came
        // from a later README history, which carries no summary.
        assert_eq!(compared, 5_883 + 4_220);
        for (id, r) in &zip {
            if !ours_ids.contains(id) {
                assert!(r.summary.is_none(), "{id} is in the zip with a summary but was not produced");
            }
        }
        let dsa = ours.iter().find(|r| r.id == "DSA-5863-1").unwrap();
        assert_eq!(dsa.upstream, ["CVE-2024-12133"]);
        assert_eq!(dsa.affected.len(), 1);
        let p = dsa.affected[0].package.as_ref().unwrap();
        assert_eq!((p.ecosystem.as_str(), p.name.as_str()), ("Debian:12", "libtasn1-6"));
        assert_eq!(fixed_of(&dsa.affected[0]), Some("4.19.0-2+deb12u1"));
    }
}
