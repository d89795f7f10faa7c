//! Importers: each reads one upstream format and yields OSV records. They are tried in the
//! order of [`importers`]; the first that recognises a source reads it.

mod alpine;
mod debian_list;
mod debian_releases;
mod debian_tracker;
mod osv_bucket;

pub use alpine::AlpineSecdb;
pub use debian_list::DebianList;
pub use debian_tracker::DebianTracker;
pub use osv_bucket::OsvBucket;

use crate::osv::Record;
use crate::store::{Builder, Metadata, SourceStats};
use crate::{DbError, Result};
use std::io::Read;
use std::path::Path;

/// Largest single JSON/YAML document an importer reads (an OSV record is a few KiB; the
/// biggest real ones are under 1 MiB). Zip entries are read through this cap, so a
/// decompression bomb in an all.zip is an error naming the entry, not an OOM.
pub const MAX_DOCUMENT: u64 = 32 << 20;

/// Warnings kept per source; the rest are counted.
pub const MAX_WARNINGS: usize = 20;

/// One upstream advisory format.
pub trait Importer: Send + Sync {
    /// Short stable name shown in `db info`: `osv`, `alpine-secdb`, `debian-list`, ….
    fn name(&self) -> &'static str;
    /// True when `path` (a file or a directory) holds data in this format.
    fn recognizes(&self, path: &Path) -> bool;
    /// Reads every record under `path` into `sink`; returns per-file statistics.
    /// A malformed record is a warning in the stats, not an error; an unreadable file is an error.
    fn import(&self, path: &Path, sink: &mut dyn FnMut(Record) -> Result<()>) -> Result<Vec<SourceStats>>;
}

/// Every importer, in the order they are tried. Add new formats here. The native formats
/// sniff content and come first: OSV's importer takes any `*.json`, which would otherwise
/// claim an Alpine secdb or Debian tracker JSON file.
pub fn importers() -> &'static [&'static dyn Importer] {
    &[&AlpineSecdb, &DebianList, &DebianTracker, &OsvBucket]
}

/// What an update did.
#[derive(Debug, Clone, Default)]
pub struct UpdateReport {
    pub metadata: Metadata,
    pub warnings: Vec<String>,
}

/// Builds a new database at `target` from local `sources` (files or directories, each read
/// by the first importer that recognises it) and moves it into place atomically.
pub fn update(sources: &[&Path], target: &Path) -> Result<UpdateReport> {
    let mut builder = Builder::create(target)?;
    let mut warnings = Vec::new();
    for src in sources {
        let Some(imp) = importers().iter().find(|i| i.recognizes(src)) else {
            let names: Vec<_> = importers().iter().map(|i| i.name()).collect();
            return Err(DbError::input(
                src.display().to_string(),
                format!("not a known advisory source (formats: {})", names.join(", ")),
            ));
        };
        let mut add_err = None;
        let stats = imp.import(src, &mut |rec| {
            if add_err.is_none() {
                if let Err(e) = builder.add(&rec) {
                    add_err = Some(e);
                }
            }
            Ok(())
        })?;
        if let Some(e) = add_err {
            return Err(e);
        }
        for s in stats {
            warnings.extend(s.warnings.iter().map(|w| format!("{}: {w}", s.location)));
            builder.note_source(s);
        }
    }
    let metadata = builder.commit()?;
    Ok(UpdateReport { metadata, warnings })
}

/// Reads at most [`MAX_DOCUMENT`] bytes from `r`; more is an error naming `what`.
pub(crate) fn read_capped(mut r: impl std::io::Read, what: &str) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    (&mut r).take(MAX_DOCUMENT + 1).read_to_end(&mut buf).map_err(|e| DbError::input(what, e.to_string()))?;
    if buf.len() as u64 > MAX_DOCUMENT {
        return Err(DbError::input(what, format!("larger than {} MiB", MAX_DOCUMENT >> 20)));
    }
    Ok(buf)
}

/// Collects warnings up to [`MAX_WARNINGS`], counting the rest.
#[derive(Debug, Default)]
pub(crate) struct Warnings {
    pub kept: Vec<String>,
    pub dropped: u64,
}

impl Warnings {
    pub fn push(&mut self, w: String) {
        if self.kept.len() < MAX_WARNINGS {
            self.kept.push(w);
        } else {
            self.dropped += 1;
        }
    }
    pub fn finish(mut self) -> Vec<String> {
        if self.dropped > 0 {
            self.kept.push(format!("… and {} more", self.dropped));
        }
        self.kept
    }
}
