//! Layer inventories cached on disk by the layer's verified digest, so a re-scan, or another
//! image on the same base, reads no layer twice. The key also covers every detector's name
//! and version (as Trivy's cache key does), so a changed detector invalidates only what it
//! touches. Writes go to a temp file in the same directory and are renamed into place:
//! readers never see a half-written entry, a crash leaves at worst a stray temp file, and
//! several processes may share the directory.

use crate::error::{ImageError, Result};
use crate::layer::LayerInventory;
use bulwark_catalog::Detector;
use sha2::{Digest as _, Sha256};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// Bump when [`LayerInventory`] or the layer walk changes shape.
const SCHEMA: u32 = 3;
/// Largest cache entry read or written. A layer's inventory within its budget
/// ([`crate::Limits`]: 5 million 8-byte path keys, 8 MiB of paths, 100,000 packages) is well
/// under this; an entry that would be bigger is not written, since it would never be read.
const MAX_ENTRY: u64 = 1 << 30;

pub struct LayerCache {
    dir: PathBuf,
    detectors_key: String,
    /// [`MAX_ENTRY`], lowered by tests.
    max_entry: u64,
}

impl LayerCache {
    /// `$XDG_CACHE_HOME/bulwark` (or the platform's cache dir), like Trivy's `--cache-dir`.
    pub fn default_dir() -> Option<PathBuf> {
        dirs::cache_dir().map(|d| d.join("bulwark"))
    }

    pub fn new(root: &Path, detectors: &[Box<dyn Detector>]) -> LayerCache {
        let mut k = format!("schema={SCHEMA}");
        for d in detectors {
            k.push_str(&format!(";{}={}", d.name(), d.version()));
        }
        LayerCache { dir: root.join("layers"), detectors_key: k, max_entry: MAX_ENTRY }
    }

    fn path(&self, verified_digest: &str) -> PathBuf {
        let key = Sha256::digest(format!("{}|{}", self.detectors_key, verified_digest).as_bytes());
        self.dir.join(format!("{}.json", hex::encode(key)))
    }

    /// The cached inventory, or `None` (a corrupt entry is treated as a miss and rewritten).
    /// The directory may be shared: an entry must be a regular file, not a symlink (to
    /// `/dev/zero`, say) or a FIFO (opening one blocks), and no bigger than [`MAX_ENTRY`].
    pub fn get(&self, verified_digest: &str) -> Option<LayerInventory> {
        let path = self.path(verified_digest);
        let meta = std::fs::symlink_metadata(&path).ok()?;
        if !meta.file_type().is_file() || meta.len() > self.max_entry {
            return None;
        }
        let f = std::fs::File::open(&path).ok()?;
        if !f.metadata().ok()?.file_type().is_file() {
            return None;
        }
        let mut bytes = Vec::new();
        f.take(self.max_entry + 1).read_to_end(&mut bytes).ok()?;
        if bytes.len() as u64 > self.max_entry {
            return None;
        }
        let inv: LayerInventory = serde_json::from_slice(&bytes).ok()?;
        Some(inv)
    }

    pub fn put(&self, verified_digest: &str, inv: &LayerInventory) -> Result<()> {
        std::fs::create_dir_all(&self.dir).map_err(|e| ImageError::io(&self.dir, e))?;
        // A `layers` symlink planted in a shared cache directory would send writes elsewhere.
        if !std::fs::symlink_metadata(&self.dir).map_err(|e| ImageError::io(&self.dir, e))?.is_dir() {
            return Err(ImageError::invalid(format!(
                "{}: not a directory (a symlink?): not written",
                self.dir.display()
            )));
        }
        // Serialised straight into the file, and stopped past MAX_ENTRY: no copy in memory.
        let tmp = tempfile::NamedTempFile::new_in(&self.dir).map_err(|e| ImageError::io(&self.dir, e))?;
        let mut out = Capped { inner: std::io::BufWriter::new(tmp), left: self.max_entry };
        if let Err(e) = serde_json::to_writer(&mut out, inv) {
            return Err(if out.left == 0 {
                ImageError::invalid(format!("layer cache entry over {} bytes: not written", self.max_entry))
            } else {
                ImageError::json("layer cache entry", e)
            });
        }
        let tmp = out.inner.into_inner().map_err(|e| ImageError::io(&self.dir, e.into_error()))?;
        let target = self.path(verified_digest);
        tmp.persist(&target).map_err(|e| ImageError::io(&target, e.error))?;
        Ok(())
    }
}

/// A writer that fails once `left` bytes are written.
struct Capped<W> {
    inner: W,
    left: u64,
}

impl<W: Write> Write for Capped<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if buf.len() as u64 > self.left {
            self.left = 0;
            return Err(std::io::Error::other("too big"));
        }
        let n = self.inner.write(buf)?;
        self.left -= n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Entries planted by another user of a shared cache directory: a FIFO blocked `get`
    /// for ever, a symlink to `/dev/zero` was read until memory ran out.
    #[test]
    fn planted_entries_are_misses() {
        let dir = tempfile::tempdir().unwrap();
        let dets = bulwark_catalog::all_detectors();
        let c = LayerCache::new(dir.path(), &dets);
        std::fs::create_dir_all(dir.path().join("layers")).unwrap();
        let fifo = c.path("sha256:fifo");
        assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
        std::os::unix::fs::symlink("/dev/zero", c.path("sha256:zero")).unwrap();
        let real = c.path("sha256:real");
        c.put("sha256:real", &LayerInventory::default()).unwrap();
        std::os::unix::fs::symlink(&real, c.path("sha256:link")).unwrap();
        let huge = std::fs::File::create(c.path("sha256:huge")).unwrap();
        huge.set_len(MAX_ENTRY + 1).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let got: Vec<bool> = ["fifo", "zero", "link", "huge", "real"]
                .iter()
                .map(|k| c.get(&format!("sha256:{k}")).is_some())
                .collect();
            let _ = tx.send(got);
        });
        let got = rx.recv_timeout(std::time::Duration::from_secs(20)).expect("the cache blocked on a planted entry");
        assert_eq!(got, [false, false, false, false, true]);

        // Nor does a planted `layers` symlink redirect writes.
        let dir = tempfile::tempdir().unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(elsewhere.path(), dir.path().join("layers")).unwrap();
        let c = LayerCache::new(dir.path(), &dets);
        assert!(c.put("sha256:x", &LayerInventory::default()).is_err());
        assert_eq!(std::fs::read_dir(elsewhere.path()).unwrap().count(), 0);
    }

    #[test]
    fn round_trip_and_corrupt_entry_is_a_miss() {
        let dir = tempfile::tempdir().unwrap();
        let dets = bulwark_catalog::all_detectors();
        let c = LayerCache::new(dir.path(), &dets);
        assert!(c.get("sha256:x").is_none());
        let inv = LayerInventory { diff_id: "sha256:x".into(), entries: vec![u64::MAX, 1], ..Default::default() };
        c.put("sha256:x", &inv).unwrap();
        assert_eq!(c.get("sha256:x").unwrap().entries, vec![u64::MAX, 1]);
        std::fs::write(c.path("sha256:x"), b"{truncated").unwrap();
        assert!(c.get("sha256:x").is_none());
        // No temp files left behind.
        assert_eq!(std::fs::read_dir(dir.path().join("layers")).unwrap().count(), 1);
    }

    /// Writes were unbounded while reads refuse entries over the limit: a 2.9 GB entry was
    /// written, never to be read. An entry over the limit is now not written at all.
    #[test]
    fn an_entry_it_would_not_read_is_not_written() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = LayerCache::new(dir.path(), &bulwark_catalog::all_detectors());
        c.max_entry = 4096;
        let big = LayerInventory { entries: (0..1000).map(|i| u64::MAX - i).collect(), ..Default::default() };
        let e = c.put("sha256:big", &big).unwrap_err().to_string();
        assert!(e.contains("over 4096 bytes: not written"), "{e}");
        assert_eq!(std::fs::read_dir(dir.path().join("layers")).unwrap().count(), 0);
        let small = LayerInventory { entries: (0..10).collect(), ..Default::default() };
        c.put("sha256:small", &small).unwrap();
        assert_eq!(c.get("sha256:small").unwrap().entries.len(), 10);
    }
}
