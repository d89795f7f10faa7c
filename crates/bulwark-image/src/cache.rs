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
use std::io::Write;
use std::path::{Path, PathBuf};

/// Bump when [`LayerInventory`] or the layer walk changes shape.
const SCHEMA: u32 = 2;

pub struct LayerCache {
    dir: PathBuf,
    detectors_key: String,
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
        LayerCache { dir: root.join("layers"), detectors_key: k }
    }

    fn path(&self, verified_digest: &str) -> PathBuf {
        let key = Sha256::digest(format!("{}|{}", self.detectors_key, verified_digest).as_bytes());
        self.dir.join(format!("{}.json", hex::encode(key)))
    }

    /// The cached inventory, or `None` (a corrupt entry is treated as a miss and rewritten).
    pub fn get(&self, verified_digest: &str) -> Option<LayerInventory> {
        let bytes = std::fs::read(self.path(verified_digest)).ok()?;
        let inv: LayerInventory = serde_json::from_slice(&bytes).ok()?;
        Some(inv)
    }

    pub fn put(&self, verified_digest: &str, inv: &LayerInventory) -> Result<()> {
        std::fs::create_dir_all(&self.dir).map_err(|e| ImageError::io(&self.dir, e))?;
        let mut tmp = tempfile::NamedTempFile::new_in(&self.dir).map_err(|e| ImageError::io(&self.dir, e))?;
        let bytes = serde_json::to_vec(inv).map_err(|e| ImageError::json("layer cache entry", e))?;
        tmp.write_all(&bytes).map_err(|e| ImageError::io(tmp.path(), e))?;
        let target = self.path(verified_digest);
        tmp.persist(&target).map_err(|e| ImageError::io(&target, e.error))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_corrupt_entry_is_a_miss() {
        let dir = tempfile::tempdir().unwrap();
        let dets = bulwark_catalog::all_detectors();
        let c = LayerCache::new(dir.path(), &dets);
        assert!(c.get("sha256:x").is_none());
        let inv = LayerInventory { diff_id: "sha256:x".into(), entries: vec!["/a".into()], ..Default::default() };
        c.put("sha256:x", &inv).unwrap();
        assert_eq!(c.get("sha256:x").unwrap().entries, vec!["/a".to_string()]);
        std::fs::write(c.path("sha256:x"), b"{truncated").unwrap();
        assert!(c.get("sha256:x").is_none());
        // No temp files left behind.
        assert_eq!(std::fs::read_dir(dir.path().join("layers")).unwrap().count(), 1);
    }
}
