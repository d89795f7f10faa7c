//! What the fuzz targets share: running detectors the way the layer walker does, and a
//! scratch directory per process for the parsers whose public entry point is a path.

use bulwark_catalog::{all_detectors, Detector, FileInput};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Every detector that would read `data` at `path` with `mode` in an image (path match, magic
/// and size limit, as the walker checks them) runs on it.
pub fn detect(path: &str, mode: u32, data: &[u8]) {
    static DETECTORS: OnceLock<Vec<Box<dyn Detector>>> = OnceLock::new();
    let detectors = DETECTORS.get_or_init(all_detectors);
    for d in detectors {
        if !d.matches(path, mode) || data.len() as u64 > d.max_size() {
            continue;
        }
        let magic = d.magic();
        if !magic.is_empty() && !magic.iter().any(|m| data.starts_with(m)) {
            continue;
        }
        let _ = d.detect(&FileInput { path, mode, data });
    }
}

/// The first byte chooses among `choices`; the rest is the file.
pub fn pick<'a, T: Copy>(data: &'a [u8], choices: &[T]) -> Option<(T, &'a [u8])> {
    let (first, rest) = data.split_first()?;
    Some((choices[*first as usize % choices.len()], rest))
}

/// A directory of this process's own (on tmpfs when there is one), emptied per input.
pub fn scratch() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let base = if Path::new("/dev/shm").is_dir() { PathBuf::from("/dev/shm") } else { std::env::temp_dir() };
        let dir = base.join(format!("bulwark-fuzz-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch directory");
        dir
    })
}

/// `scratch()/name` holding `data` (parent directories made), the rest of scratch removed.
pub fn file(name: &str, data: &[u8]) -> PathBuf {
    let root = scratch();
    if let Ok(rd) = std::fs::read_dir(root) {
        for e in rd.flatten() {
            let p = e.path();
            let _ = if p.is_dir() { std::fs::remove_dir_all(&p) } else { std::fs::remove_file(&p) };
        }
    }
    let path = root.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("scratch subdirectory");
    }
    std::fs::write(&path, data).expect("scratch file");
    path
}

pub fn sha256(data: &[u8]) -> String {
    use sha2::Digest as _;
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(data)))
}
