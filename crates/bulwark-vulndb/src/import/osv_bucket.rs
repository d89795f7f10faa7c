//! OSV records as the public OSV bucket lays them out: `<Ecosystem>/all.zip`, each holding
//! one `<ID>.json` per advisory. Also reads a single `all.zip`, or a directory of `*.json`.

use super::{read_capped, Importer, Warnings};
use crate::osv::Record;
use crate::store::SourceStats;
use crate::{DbError, Result};
use std::path::{Path, PathBuf};

/// Zip entries in one all.zip at most (the largest real one, PyPI, has ~20 000).
const MAX_ENTRIES: usize = 1_000_000;

pub struct OsvBucket;

impl Importer for OsvBucket {
    fn name(&self) -> &'static str {
        "osv"
    }

    fn recognizes(&self, path: &Path) -> bool {
        if path.is_file() {
            return path.extension().is_some_and(|e| e == "zip" || e == "json");
        }
        !files(path).is_empty()
    }

    fn import(&self, path: &Path, sink: &mut dyn FnMut(Record) -> Result<()>) -> Result<Vec<SourceStats>> {
        let list = if path.is_file() { vec![path.to_path_buf()] } else { files(path) };
        let mut stats = Vec::new();
        let mut loose =
            SourceStats { location: path.display().to_string(), format: "osv".into(), ..Default::default() };
        let mut loose_warn = Warnings::default();
        for file in list {
            if file.extension().is_some_and(|e| e == "zip") {
                stats.push(read_zip(&file, sink)?);
            } else {
                let f = std::fs::File::open(&file).map_err(|e| DbError::io(&file, e))?;
                let what = file.display().to_string();
                let bytes = read_capped(f, &what)?;
                match serde_json::from_slice::<Record>(&bytes) {
                    Ok(rec) => {
                        loose.records += 1;
                        sink(rec)?;
                    }
                    Err(e) => loose_warn.push(format!("{}: not an OSV record: {e}", file.display())),
                }
            }
        }
        loose.warnings = loose_warn.finish();
        if loose.records > 0 || !loose.warnings.is_empty() {
            stats.push(loose);
        }
        Ok(stats)
    }
}

/// The files this importer reads under a directory: `*/all.zip`, `*.zip` and `*.json`
/// directly inside it, sorted so imports are reproducible.
fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(rd) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut out = Vec::new();
    for entry in rd.flatten() {
        let p = entry.path();
        if p.is_dir() {
            let zip = p.join("all.zip");
            if zip.is_file() {
                out.push(zip);
            }
        } else if p.extension().is_some_and(|e| e == "zip" || e == "json") {
            out.push(p);
        }
    }
    out.sort();
    out
}

fn read_zip(file: &Path, sink: &mut dyn FnMut(Record) -> Result<()>) -> Result<SourceStats> {
    let f = std::fs::File::open(file).map_err(|e| DbError::io(file, e))?;
    let what = file.display().to_string();
    let mut zip = zip::ZipArchive::new(std::io::BufReader::new(f))
        .map_err(|e| DbError::input(&what, format!("not a readable zip: {e}")))?;
    if zip.len() > MAX_ENTRIES {
        return Err(DbError::input(&what, format!("{} entries, more than {MAX_ENTRIES}", zip.len())));
    }
    let mut stats = SourceStats { location: what.clone(), format: "osv".into(), ..Default::default() };
    let mut warnings = Warnings::default();
    for i in 0..zip.len() {
        let entry = zip.by_index(i).map_err(|e| DbError::input(&what, format!("entry {i}: {e}")))?;
        if entry.is_dir() || !entry.name().ends_with(".json") {
            continue;
        }
        let name = entry.name().to_string();
        let bytes = read_capped(entry, &format!("{what}!{name}"))?;
        match serde_json::from_slice::<Record>(&bytes) {
            Ok(rec) => {
                stats.records += 1;
                sink(rec)?;
            }
            Err(e) => warnings.push(format!("{name}: not an OSV record: {e}")),
        }
    }
    stats.warnings = warnings.finish();
    Ok(stats)
}
