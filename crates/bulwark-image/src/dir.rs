//! `dir:PATH`: a root filesystem on disk, read as a single layer. Symlinks are never
//! followed, so a link inside the tree cannot lead the walk out of it.

use crate::error::{ImageError, Result};
use crate::layer::{run_detectors, LayerInventory};
use bulwark_catalog::Detector;
use rayon::prelude::*;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

pub fn read_dir_tree(root: &Path, detectors: &[Box<dyn Detector>]) -> Result<LayerInventory> {
    let meta = std::fs::symlink_metadata(root).map_err(|e| ImageError::io(root, e))?;
    if !meta.is_dir() {
        return Err(ImageError::invalid(format!("{}: not a directory", root.display())));
    }
    let mut inv = LayerInventory { diff_id: String::new(), ..Default::default() };
    let mut wanted_files: Vec<(PathBuf, String, u32, Vec<usize>, u64)> = Vec::new();
    let mut stack = vec![(root.to_path_buf(), String::new())];
    while let Some((dir, rel)) = stack.pop() {
        let rd = match std::fs::read_dir(&dir) {
            Ok(rd) => rd,
            Err(e) => {
                inv.warnings.push(format!("{}: {e}: skipped", dir.display()));
                continue;
            }
        };
        for ent in rd.flatten() {
            let name = ent.file_name().to_string_lossy().into_owned();
            let path = format!("{rel}/{name}");
            let Ok(ft) = ent.file_type() else { continue };
            if ft.is_dir() {
                stack.push((ent.path(), path));
                continue;
            }
            if !ft.is_file() {
                continue;
            }
            let Ok(md) = ent.metadata() else { continue };
            let mode = md.permissions().mode();
            let wanted: Vec<usize> =
                detectors.iter().enumerate().filter(|(_, d)| d.matches(&path, mode)).map(|(i, _)| i).collect();
            if !wanted.is_empty() {
                wanted_files.push((ent.path(), path, mode, wanted, md.len()));
            }
        }
    }
    let results: Vec<_> = wanted_files
        .into_par_iter()
        .map(|(fs_path, path, mode, wanted, size)| {
            let cap = wanted.iter().filter_map(|&i| detectors.get(i)).map(|d| d.max_size()).max().unwrap_or(0);
            if size > cap {
                return (
                    path.clone(),
                    Vec::new(),
                    vec![format!("{path}: {size} bytes is over the {cap}-byte limit: skipped")],
                );
            }
            let mut data = Vec::new();
            let read = std::fs::File::open(&fs_path).and_then(|f| f.take(cap).read_to_end(&mut data));
            if let Err(e) = read {
                return (path.clone(), Vec::new(), vec![format!("{path}: {e}")]);
            }
            let wanted: Vec<usize> = wanted
                .into_iter()
                .filter(|&i| {
                    detectors
                        .get(i)
                        .is_some_and(|d| d.magic().is_empty() || d.magic().iter().any(|m| data.starts_with(m)))
                })
                .collect();
            let (dets, warns) = run_detectors(detectors, &wanted, &path, mode, &data);
            (path, dets, warns)
        })
        .collect();
    for (path, dets, warns) in results {
        inv.warnings.extend(warns);
        if !dets.is_empty() {
            inv.files.insert(path, dets);
        }
    }
    Ok(inv)
}
