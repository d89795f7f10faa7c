//! `dir:PATH`: a root filesystem on disk, read as a single layer. The walk never follows a
//! symbolic link, so it cannot leave the tree; links that lead to a package database or a
//! language metadata directory inside the tree are resolved as in an image (see
//! [`crate::links`]), never outside the given root. By default the walk stays on the root's
//! file system: `/proc`, `/sys` and other mounts below the root are skipped, as Syft skips
//! pseudo-filesystems (`cross_mounts` reads them). Package databases of nested root file
//! systems (a chroot under `/srv`, a container runtime's storage) are read only when asked
//! (`nested_roots`): they are not the root's packages.

use crate::error::{ImageError, Result};
use crate::layer::{path_key, run_detectors, LayerInventory};
use bulwark_catalog::Detector;
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// How to walk a directory.
#[derive(Debug, Clone, Copy, Default)]
pub struct DirOptions {
    /// Descend into other file systems mounted below the root (`/proc`, `/sys`, …).
    pub cross_mounts: bool,
    /// Also report the package databases of root file systems nested in the tree (any
    /// `…/var/lib/dpkg/status`, `…/lib/apk/db/installed`, rpm database), at their own paths.
    pub nested_roots: bool,
}

/// Paths of package databases, matched as path suffixes when `nested_roots` is on.
const NESTED_DATABASES: &[&str] = &[
    "/var/lib/dpkg/status",
    "/lib/apk/db/installed",
    "/var/lib/rpm/Packages",
    "/var/lib/rpm/Packages.db",
    "/var/lib/rpm/rpmdb.sqlite",
    "/usr/lib/sysimage/rpm/rpmdb.sqlite",
];

/// (file on disk, path the detectors see, mode, detectors, size)
type Wanted = (PathBuf, String, u32, Vec<usize>, u64);

pub fn read_dir_tree(root: &Path, detectors: &[Box<dyn Detector>], opts: &DirOptions) -> Result<LayerInventory> {
    let meta = std::fs::symlink_metadata(root).map_err(|e| ImageError::io(root, e))?;
    if !meta.is_dir() {
        return Err(ImageError::invalid(format!("{}: not a directory", root.display())));
    }
    let mut inv = LayerInventory { diff_id: String::new(), ..Default::default() };
    let mut wanted_files: Vec<Wanted> = Vec::new();
    let mut links: BTreeMap<String, String> = BTreeMap::new();
    walk(root, String::new(), meta.dev(), detectors, opts, &mut inv, &mut wanted_files, &mut links, false);

    // Links inside the tree: the files seen through them, under the path through the link.
    let (aliases, warns) = {
        let layers = [&inv];
        crate::links::aliases(&links, &layers)
    };
    inv.warnings.extend(warns);
    for (link, real) in &aliases {
        let real_fs = root.join(real.trim_start_matches('/'));
        let Ok(md) = std::fs::symlink_metadata(&real_fs) else { continue };
        let mut found = Vec::new();
        let mut scratch = LayerInventory::default();
        if md.is_dir() {
            walk(
                &real_fs,
                real.clone(),
                meta.dev(),
                detectors,
                opts,
                &mut scratch,
                &mut found,
                &mut BTreeMap::new(),
                true,
            );
        } else if md.is_file() {
            found.push((real_fs, real.clone(), md.permissions().mode(), Vec::new(), md.len()));
        }
        for (fs_path, path, mode, _, size) in found {
            let Some(alias) = crate::links::aliased(std::slice::from_ref(&(link.clone(), real.clone())), &path).next()
            else {
                continue;
            };
            let wanted: Vec<usize> =
                detectors.iter().enumerate().filter(|(_, d)| d.matches(&alias, mode)).map(|(i, _)| i).collect();
            if !wanted.is_empty() && !detectors.iter().any(|d| d.matches(&path, mode)) {
                wanted_files.push((fs_path, alias, mode, wanted, size));
            }
        }
    }

    let results: Vec<_> = wanted_files
        .into_par_iter()
        .map(|(fs_path, path, mode, wanted, size)| {
            let file = match std::fs::File::open(&fs_path) {
                Ok(f) => f,
                Err(e) => return (path.clone(), Vec::new(), vec![format!("{path}: {e}")], Vec::new()),
            };
            let mut head = Vec::with_capacity(8);
            if let Err(e) = (&file).take(8).read_to_end(&mut head) {
                return (path.clone(), Vec::new(), vec![format!("{path}: {e}")], Vec::new());
            }
            let wanted = wanted.into_iter().filter(|&i| {
                detectors.get(i).is_some_and(|d| d.magic().is_empty() || d.magic().iter().any(|m| head.starts_with(m)))
            });
            // Detectors that seek (executables) read the open file, whatever its size; the
            // others read it into memory up to their limit.
            let (seek, buffer): (Vec<usize>, Vec<usize>) =
                wanted.partition(|&i| detectors.get(i).is_some_and(|d| d.seekable()));
            let (mut dets, mut warns, mut skipped) = run_detectors(detectors, &seek, &path, mode, &[], Some(&file));
            let cap = buffer.iter().filter_map(|&i| detectors.get(i)).map(|d| d.max_size()).max().unwrap_or(0);
            if !buffer.is_empty() && size > cap {
                let detector = buffer.first().and_then(|&i| detectors.get(i)).map_or("", |d| d.name());
                warns.push(format!(
                    "{path}: {size} bytes is over the {cap}-byte limit of the {detector} detector: skipped"
                ));
                skipped.push(bulwark_catalog::Skipped {
                    path: path.clone(),
                    detector: detector.into(),
                    limit: format!("max_size {cap} bytes"),
                    files: 1,
                });
            } else if !buffer.is_empty() {
                let mut data = Vec::new();
                let read = (&file).seek(SeekFrom::Start(0)).and_then(|_| (&file).take(cap).read_to_end(&mut data));
                if let Err(e) = read {
                    warns.push(format!("{path}: {e}"));
                } else {
                    let (d, w, s) = run_detectors(detectors, &buffer, &path, mode, &data, None);
                    dets.extend(d);
                    warns.extend(w);
                    skipped.extend(s);
                }
            }
            (path, dets, warns, skipped)
        })
        .collect();
    for (path, dets, warns, skipped) in results {
        inv.warnings.extend(warns);
        inv.skipped.extend(skipped);
        if !dets.is_empty() {
            inv.files.insert(path, dets);
        }
    }
    // Only the walk needed them (to tell which databases links lead to).
    inv.entries = Vec::new();
    Ok(inv)
}

/// Walk `dir` (seen as `rel`) without following links: files some detector wants (every file
/// with `collect_all`) go to `wanted`, links to `links`, every file's [`path_key`] to
/// `inv.entries`.
#[allow(clippy::too_many_arguments)]
fn walk(
    dir: &Path,
    rel: String,
    root_dev: u64,
    detectors: &[Box<dyn Detector>],
    opts: &DirOptions,
    inv: &mut LayerInventory,
    wanted: &mut Vec<Wanted>,
    links: &mut BTreeMap<String, String>,
    collect_all: bool,
) {
    let mut stack = vec![(dir.to_path_buf(), rel)];
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
            if ft.is_symlink() {
                if let Ok(target) = std::fs::read_link(ent.path()) {
                    links.insert(path, target.to_string_lossy().into_owned());
                }
                continue;
            }
            if ft.is_dir() {
                if !opts.cross_mounts {
                    match ent.metadata() {
                        Ok(md) if md.dev() != root_dev => {
                            inv.warnings.push(format!(
                                "{path}: another file system mounted here: skipped (--cross-mounts reads it)"
                            ));
                            continue;
                        }
                        _ => {}
                    }
                }
                stack.push((ent.path(), path));
                continue;
            }
            if !ft.is_file() {
                continue;
            }
            inv.entries.push(path_key(&path));
            let Ok(md) = ent.metadata() else { continue };
            let mode = md.permissions().mode();
            if collect_all {
                wanted.push((ent.path(), path, mode, Vec::new(), md.len()));
                continue;
            }
            let found: Vec<usize> =
                detectors.iter().enumerate().filter(|(_, d)| d.matches(&path, mode)).map(|(i, _)| i).collect();
            if !found.is_empty() {
                wanted.push((ent.path(), path, mode, found, md.len()));
                continue;
            }
            // A nested root's database: read by the detector of the database's own path,
            // reported at its path in the tree.
            if opts.nested_roots {
                if let Some(db) = NESTED_DATABASES.iter().find(|db| path.ends_with(*db) && path.len() > db.len()) {
                    let found: Vec<usize> =
                        detectors.iter().enumerate().filter(|(_, d)| d.matches(db, mode)).map(|(i, _)| i).collect();
                    if !found.is_empty() {
                        wanted.push((ent.path(), path, mode, found, md.len()));
                    }
                }
            }
        }
    }
}
