//! Reading one layer: stream the blob once (checking its digest), decompress once, walk the
//! tar entries, hand the files detectors want to them, and record what the squash needs
//! (whiteouts, opaque directories, every path the layer puts in place).

use crate::digest::HashingReader;
use crate::error::{ImageError, Result};
use crate::source::LayerRef;
use bulwark_catalog::{Detection, Detector, FileInput, Skipped};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::{self, BufRead, Read, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// Most bytes of file content buffered for detectors that have not run yet.
const MAX_IN_FLIGHT: u64 = 128 << 20;
/// A file for detectors: buffered, or (too big to buffer) spooled to an unlinked temporary
/// file for detectors that read by seeking.
enum Input {
    Bytes(Vec<u8>),
    Spooled(std::fs::File),
}

/// Most packages one layer's hard links may copy from their targets.
const MAX_LINKED_PACKAGES: usize = 100_000;

/// Limits that keep hostile layers from exhausting time, memory or disk.
///
/// The memory an inventory may take is bounded by `max_path_bytes` and `max_packages` per
/// layer and `max_image_packages` per image, whatever the input: past them, files are skipped
/// with a warning naming the limit, and listed in [`Inventory::skipped`]. Every default can be
/// lowered (or raised) through `BULWARK_LIMIT_<FIELD>` in the environment, e.g.
/// `BULWARK_LIMIT_MAX_PACKAGES=1000`.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Most uncompressed bytes one layer may hold.
    pub max_layer_bytes: u64,
    /// Past `bomb_floor` uncompressed bytes, the most uncompressed bytes per compressed byte.
    /// Real layers expand 2–10×; gzip tops out near 1032×, zstd goes far beyond.
    pub max_ratio: u64,
    pub bomb_floor: u64,
    /// Most tar entries in one layer.
    pub max_entries: u64,
    /// Most bytes of paths one layer's inventory keeps: the paths of the files detectors read
    /// and of hard links to them (every other path is kept as an 8-byte hash).
    pub max_path_bytes: u64,
    /// Most packages one layer's inventory keeps.
    pub max_packages: u64,
    /// Most packages one image's layers keep together.
    pub max_image_packages: u64,
    /// Largest file copied to a temporary file for a detector that seeks (an executable too
    /// big to buffer): a layer of zeros behind an ELF magic would otherwise fill `$TMPDIR`.
    /// Real Go and Rust binaries reach about 1 GB.
    pub max_spool_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        let env = |name: &str, default: u64| {
            std::env::var(format!("BULWARK_LIMIT_{name}")).ok().and_then(|v| v.trim().parse().ok()).unwrap_or(default)
        };
        Limits {
            max_layer_bytes: 64 << 30,
            max_ratio: 200,
            bomb_floor: 1 << 30,
            max_entries: env("MAX_ENTRIES", 5_000_000),
            max_path_bytes: env("MAX_PATH_BYTES", 8 << 20),
            max_packages: env("MAX_PACKAGES", 100_000),
            max_image_packages: env("MAX_IMAGE_PACKAGES", 250_000),
            max_spool_bytes: env("MAX_SPOOL_BYTES", 4 << 30),
        }
    }
}

/// Most warnings one layer keeps; the rest are counted in one last warning.
const MAX_WARNINGS: usize = 1000;
/// Longest warning kept: a warning quotes paths, and a hostile path is up to 4 MiB.
const MAX_WARNING_LEN: usize = 1024;

/// A path as the squash compares it: the first 8 bytes of its SHA-256. A layer of 5 million
/// entries of 64 KiB paths then costs 40 MB, not 320 GB; no path's bytes need to be kept to
/// tell whether it hides a lower layer's file.
pub fn path_key(path: &str) -> u64 {
    use sha2::Digest as _;
    let d = sha2::Sha256::digest(path.as_bytes());
    u64::from_be_bytes([d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]])
}

/// `s` cut to [`MAX_WARNING_LEN`] bytes (on a character boundary), marked when cut.
pub(crate) fn clip(s: String) -> String {
    if s.len() <= MAX_WARNING_LEN {
        return s;
    }
    let mut end = MAX_WARNING_LEN;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes)", &s[..end], s.len())
}

/// Warnings of one layer, capped in number and length.
#[derive(Default)]
pub(crate) struct Warnings {
    pub(crate) kept: Vec<String>,
    dropped: u64,
}

impl Warnings {
    pub(crate) fn push(&mut self, w: String) {
        if self.kept.len() < MAX_WARNINGS {
            self.kept.push(clip(w));
        } else {
            self.dropped += 1;
        }
    }

    pub(crate) fn finish(mut self) -> Vec<String> {
        if self.dropped > 0 {
            self.kept.push(format!("{} more warnings not shown (at most {MAX_WARNINGS} per layer)", self.dropped));
        }
        self.kept
    }
}

/// What one layer contributes, independent of every other layer: the unit of caching.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct LayerInventory {
    pub diff_id: String,
    /// Detections by file path, for the files some detector read.
    pub files: BTreeMap<String, Vec<Detection>>,
    /// [`path_key`]s of paths removed from lower layers by `.wh.<name>` entries.
    pub whiteouts: Vec<u64>,
    /// [`path_key`]s of directories whose lower-layer contents are hidden by `.wh..wh..opq`.
    pub opaque_dirs: Vec<u64>,
    /// [`path_key`]s of every non-directory path this layer puts in place: each hides the same
    /// path (and anything beneath it) in lower layers.
    pub entries: Vec<u64>,
    /// Hard links (path, target) at paths a detector wants: they share the target's findings.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<(String, String)>,
    /// Symbolic links (path, target as written): a package database may be behind one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub symlinks: Vec<(String, String)>,
    pub warnings: Vec<String>,
    /// Files a detector wanted but that were not read, because of a limit.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<Skipped>,
}

/// Lexically normalise a tar path to `/a/b`; `None` when it climbs out of the root with `..`
/// (such an entry is hostile: it is reported and never treated as part of the image).
pub fn normalize(raw: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for part in raw.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    let mut out = String::with_capacity(raw.len() + 1);
    for p in &parts {
        out.push('/');
        out.push_str(p);
    }
    if out.is_empty() {
        out.push('/');
    }
    Some(out)
}

/// Counts bytes coming out of the decompressor and stops a decompression bomb.
struct Guard<'a, R> {
    inner: R,
    out: u64,
    compressed: &'a dyn Fn() -> u64,
    limits: &'a Limits,
}

impl<R: Read> Read for Guard<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.out += n as u64;
        if self.out > self.limits.max_layer_bytes {
            return Err(io::Error::other(format!(
                "decompression bomb: more than {} bytes uncompressed",
                self.limits.max_layer_bytes
            )));
        }
        if self.out > self.limits.bomb_floor {
            let c = (self.compressed)().max(1);
            if self.out / c > self.limits.max_ratio {
                return Err(io::Error::other(format!(
                    "decompression bomb: {} bytes uncompressed from {c} compressed (more than {}:1)",
                    self.out, self.limits.max_ratio
                )));
            }
        }
        Ok(n)
    }
}

/// Most bytes the tar reader may take between the end of one entry's data and the start of
/// the next entry's: its header, extension headers (GNU long name and long link, PAX records)
/// and sparse maps. The tar crate reads extension headers whole into memory, so without a cap
/// one huge header is one huge allocation. Go's archive/tar, which writes nearly every layer,
/// refuses more than 1 MiB for each kind.
pub(crate) const MAX_TAR_HEADERS: u64 = 4 << 20;

/// Where the tar reader is, and how far it may read: see [`MAX_TAR_HEADERS`].
pub(crate) struct TarBudget {
    pos: AtomicU64,
    limit: AtomicU64,
}

impl TarBudget {
    pub(crate) fn new() -> Self {
        TarBudget { pos: AtomicU64::new(0), limit: AtomicU64::new(MAX_TAR_HEADERS) }
    }

    /// `inner`, read through this budget; give it to `tar::Archive::new`.
    pub(crate) fn reader<R: Read>(&self, inner: R) -> BudgetedReader<'_, R> {
        BudgetedReader { inner, budget: self }
    }

    /// Call with each entry as the archive yields it (before reading from it): the reader may
    /// then go to the end of the entry's data, and [`MAX_TAR_HEADERS`] beyond.
    pub(crate) fn entry_started<R: Read>(&self, entry: &mut tar::Entry<'_, R>) {
        // Nothing of the entry's data is read yet: its data starts here (after the header,
        // and for a sparse file after its sparse map).
        let start = self.pos.load(Ordering::Relaxed);
        // A sparse entry's size is the expanded file's; what the archive stores is the header's
        // size, or its PAX `size` record (the first, as the tar crate takes it).
        let stored = if entry.header().entry_type().is_gnu_sparse() {
            let pax_size = match entry.pax_extensions() {
                Ok(Some(exts)) => exts
                    .map_while(|e| e.ok())
                    .find(|e| e.key() == Ok("size"))
                    .and_then(|e| e.value().ok().and_then(|v| v.parse::<u64>().ok())),
                _ => None,
            };
            pax_size.or_else(|| entry.header().entry_size().ok()).unwrap_or(u64::MAX)
        } else {
            entry.size()
        };
        let next_header = start.saturating_add(stored.saturating_add(511) & !511);
        self.limit.store(next_header.saturating_add(MAX_TAR_HEADERS), Ordering::Relaxed);
    }
}

pub(crate) struct BudgetedReader<'b, R> {
    inner: R,
    budget: &'b TarBudget,
}

impl<R: Read> Read for BudgetedReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let pos = self.budget.pos.load(Ordering::Relaxed);
        let room = self.budget.limit.load(Ordering::Relaxed).saturating_sub(pos);
        if room == 0 && !buf.is_empty() {
            return Err(io::Error::other(format!(
                "more than {MAX_TAR_HEADERS} bytes of headers (long names, PAX records) before one entry"
            )));
        }
        let max = usize::try_from(room).unwrap_or(usize::MAX).min(buf.len());
        let n = self.inner.read(&mut buf[..max])?;
        self.budget.pos.store(pos + n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Read one layer and run the detectors over it. The blob digest (or, without one, the
/// diff id) is checked after the last byte: a mismatch discards everything found.
pub fn read_layer(
    layer: &LayerRef,
    detectors: &[Box<dyn Detector>],
    limits: &Limits,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<LayerInventory> {
    walk(layer, detectors, limits, progress, None)
}

/// Read `layer` again for the files seen through `aliases` (link path, resolved path) that a
/// detector wants under the link's path but not under their own: `files` is keyed by the
/// path through the link.
pub fn read_layer_aliased(
    layer: &LayerRef,
    detectors: &[Box<dyn Detector>],
    limits: &Limits,
    aliases: &[(String, String)],
) -> Result<LayerInventory> {
    walk(layer, detectors, limits, &|_| {}, Some(aliases))
}

fn walk(
    layer: &LayerRef,
    detectors: &[Box<dyn Detector>],
    limits: &Limits,
    progress: &(dyn Fn(u64) + Sync),
    aliases: Option<&[(String, String)]>,
) -> Result<LayerInventory> {
    let name = layer.digest.as_ref().unwrap_or(&layer.diff_id).to_string();
    let fail = |message: String| ImageError::Layer { layer: name.clone(), message };

    let raw = layer.location.open()?;
    let compressed_count = AtomicU64::new(0);
    std::thread::scope(|s| {
        let (mut head, reader) =
            crate::prefetch::spawn(s, raw, layer.digest.as_ref().map(|d| d.algorithm()), &compressed_count, progress);
        let mut magic = [0u8; 4];
        {
            let m = head.fill_buf().map_err(|e| fail(format!("reading blob: {e}")))?;
            let k = m.len().min(4);
            magic[..k].copy_from_slice(&m[..k]);
        }
        let decompressed: Box<dyn Read + '_> = if magic.starts_with(&[0x1f, 0x8b]) {
            Box::new(flate2::bufread::MultiGzDecoder::new(&mut head))
        } else if magic.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Box::new(zstd::stream::read::Decoder::with_buffer(&mut head).map_err(|e| fail(format!("zstd: {e}")))?)
        } else {
            Box::new(&mut head)
        };
        let compressed_fn = || compressed_count.load(Ordering::Relaxed);
        let guarded = Guard { inner: decompressed, out: 0, compressed: &compressed_fn, limits };
        // The diff id is checked when no blob digest vouches for the bytes (docker-archive).
        let mut tar_stream = HashingReader::new(guarded, layer.digest.is_none().then(|| layer.diff_id.algorithm()));

        let mut inv = LayerInventory { diff_id: layer.diff_id.to_string(), ..Default::default() };
        let mut warnings = Warnings::default();
        // (path, detections, warnings) per file, filled in by the detection tasks.
        type FileResults = Vec<(String, Vec<Detection>, Vec<String>, Vec<Skipped>)>;
        let results: Mutex<FileResults> = Mutex::new(Vec::new());
        let in_flight = AtomicU64::new(0);
        // The layer's budgets: path bytes kept (files read, hard links) and packages kept.
        let mut path_bytes = 0u64;
        let mut link_bytes = 0u64;
        let packages = AtomicU64::new(0);
        let over_packages: Mutex<Option<Skipped>> = Mutex::new(None);
        let mut over_paths: Option<Skipped> = None;
        {
            let budget = TarBudget::new();
            let mut archive = tar::Archive::new(budget.reader(&mut tar_stream));
            let entries = archive.entries().map_err(|e| fail(format!("not a tar stream: {e}")))?;
            detector_pool().in_place_scope(|scope| -> Result<()> {
                let mut count = 0u64;
                for entry in entries {
                    let mut entry = entry.map_err(|e| fail(format!("corrupt tar stream: {e}")))?;
                    budget.entry_started(&mut entry);
                    count += 1;
                    if count > limits.max_entries {
                        return Err(fail(format!("more than {} entries", limits.max_entries)));
                    }
                    let raw_path = match entry.path() {
                        Ok(p) => p.to_string_lossy().into_owned(),
                        Err(e) => {
                            warnings.push(format!("entry with unreadable path skipped: {e}"));
                            continue;
                        }
                    };
                    let Some(path) = normalize(&raw_path) else {
                        warnings.push(format!("entry {raw_path:?} climbs out of the root with '..': skipped"));
                        continue;
                    };
                    let (dir, base) = path.rsplit_once('/').unwrap_or(("", path.as_str()));
                    if let Some(hidden) = base.strip_prefix(".wh.") {
                        if hidden == ".wh..opq" {
                            inv.opaque_dirs.push(path_key(if dir.is_empty() { "/" } else { dir }));
                        } else if !hidden.is_empty() {
                            inv.whiteouts.push(path_key(&format!("{dir}/{hidden}")));
                        }
                        continue;
                    }
                    let kind = entry.header().entry_type();
                    if kind.is_dir() {
                        continue;
                    }
                    inv.entries.push(path_key(&path));
                    let mode = entry.header().mode().unwrap_or(0o644);
                    // Past the path budget no more paths are kept: the file is listed as skipped.
                    let mut over_path_budget = |path: &str, detector: &str, path_bytes: &mut u64| {
                        *path_bytes += path.len() as u64;
                        if *path_bytes <= limits.max_path_bytes {
                            return false;
                        }
                        match &mut over_paths {
                            Some(s) => s.files += 1,
                            None => {
                                over_paths = Some(Skipped {
                                    path: clip(path.to_string()),
                                    detector: detector.to_string(),
                                    limit: format!("max_path_bytes {} per layer", limits.max_path_bytes),
                                    files: 1,
                                })
                            }
                        }
                        true
                    };
                    if kind.is_hard_link() {
                        // A hard link shares its target's content, which came earlier in this
                        // layer; the target's findings are copied once all detections are in.
                        if let Some(d) = detectors.iter().find(|d| d.matches(&path, mode)) {
                            if over_path_budget(&path, d.name(), &mut path_bytes) {
                                continue;
                            }
                            let target = entry.link_name().ok().flatten().map(|t| t.to_string_lossy().into_owned());
                            match target.as_deref().and_then(normalize) {
                                Some(t) => inv.links.push((path, t)),
                                None => {
                                    warnings.push(format!("{path}: hard link to a target outside the root: skipped"))
                                }
                            }
                        }
                        continue;
                    }
                    if kind.is_symlink() && aliases.is_none() {
                        if let Ok(Some(target)) = entry.link_name() {
                            let target = target.to_string_lossy().into_owned();
                            // Links have a budget of their own (the same size): many links do
                            // not take the budget of the files detectors read.
                            link_bytes += target.len() as u64;
                            if !over_path_budget(&path, "symlink", &mut link_bytes) {
                                inv.symlinks.push((path, target));
                            }
                        }
                        continue;
                    }
                    if !(kind.is_file() || kind == tar::EntryType::Continuous) {
                        continue; // devices, fifos: nothing to read
                    }
                    // The second pass: only files seen through a link, under the link's path.
                    let path = match aliases {
                        None => path,
                        Some(aliases) => {
                            let seen = crate::links::aliased(aliases, &path).find(|a| {
                                detectors.iter().any(|d| d.matches(a, mode))
                                    && !detectors.iter().any(|d| d.matches(&path, mode))
                            });
                            match seen {
                                Some(a) => a,
                                None => continue,
                            }
                        }
                    };
                    let wanted: Vec<usize> =
                        detectors.iter().enumerate().filter(|(_, d)| d.matches(&path, mode)).map(|(i, _)| i).collect();
                    if wanted.is_empty() {
                        continue;
                    }
                    let size = entry.size();
                    // Read the magic first, so big files no detector wants are never buffered.
                    let head_len = 8.min(size) as usize;
                    let mut headbuf = [0u8; 8];
                    if let Err(e) = entry.read_exact(&mut headbuf[..head_len]) {
                        return Err(fail(format!("{path}: {e}")));
                    }
                    let mut wanted: Vec<usize> = wanted
                        .into_iter()
                        .filter(|&i| {
                            let m = detectors[i].magic();
                            m.is_empty() || m.iter().any(|m| headbuf[..head_len].starts_with(m))
                        })
                        .collect();
                    let cap = wanted.iter().map(|&i| detectors[i].max_size()).max().unwrap_or(0);
                    let spool = size > cap;
                    if spool {
                        // Too big to buffer: detectors that seek (executables) read a spooled
                        // copy on disk; the others skip the file, named.
                        let (seek, skip): (Vec<usize>, Vec<usize>) =
                            wanted.iter().partition(|&&i| detectors[i].seekable());
                        if let Some(&i) = skip.first() {
                            let (detector, cap) = (detectors[i].name(), detectors[i].max_size());
                            warnings.push(format!(
                                "{path}: {size} bytes is over the {cap}-byte limit of the {detector} detector: skipped"
                            ));
                            inv.skipped.push(Skipped {
                                path: clip(path.clone()),
                                detector: detector.into(),
                                limit: format!("max_size {cap} bytes"),
                                files: 1,
                            });
                        }
                        wanted = seek;
                        if size > limits.max_spool_bytes && !wanted.is_empty() {
                            let detector = detectors[wanted[0]].name();
                            warnings.push(format!(
                                "{path}: {size} bytes is over the {}-byte limit for a temporary copy \
                                 (BULWARK_LIMIT_MAX_SPOOL_BYTES) of the {detector} detector: skipped",
                                limits.max_spool_bytes
                            ));
                            inv.skipped.push(Skipped {
                                path: clip(path.clone()),
                                detector: detector.into(),
                                limit: format!("max_spool_bytes {} bytes", limits.max_spool_bytes),
                                files: 1,
                            });
                            continue;
                        }
                    }
                    if wanted.is_empty() {
                        continue;
                    }
                    if over_path_budget(&path, detectors[wanted[0]].name(), &mut path_bytes) {
                        continue;
                    }
                    let input = if spool {
                        // An unlinked temporary file: memory stays flat, disk use is the
                        // file's size while its detectors run.
                        let spooled = tempfile::tempfile().and_then(|mut f| {
                            f.write_all(&headbuf[..head_len])?;
                            io::copy(&mut entry, &mut f)?;
                            Ok(f)
                        });
                        match spooled {
                            Ok(f) => Input::Spooled(f),
                            Err(e) => {
                                let detector = detectors[wanted[0]].name();
                                warnings.push(format!(
                                    "{path}: {size} bytes could not be copied to a temporary file for the \
                                     {detector} detector ({e}): skipped"
                                ));
                                inv.skipped.push(Skipped {
                                    path: clip(path),
                                    detector: detector.into(),
                                    limit: format!("temporary file: {e}"),
                                    files: 1,
                                });
                                continue;
                            }
                        }
                    } else {
                        let mut data = Vec::with_capacity(size.min(1 << 20) as usize);
                        data.extend_from_slice(&headbuf[..head_len]);
                        if let Err(e) = (&mut entry).take(cap).read_to_end(&mut data) {
                            return Err(fail(format!("{path}: {e}")));
                        }
                        Input::Bytes(data)
                    };
                    let results = &results;
                    let in_flight = &in_flight;
                    let (packages, over_packages) = (&packages, &over_packages);
                    let len = match &input {
                        Input::Bytes(data) => data.len() as u64,
                        Input::Spooled(_) => 0,
                    };
                    let detect = move || {
                        let (dets, warns, file_skipped) = match &input {
                            Input::Bytes(data) => run_detectors(detectors, &wanted, &path, mode, data, None),
                            Input::Spooled(f) => run_detectors(detectors, &wanted, &path, mode, &[], Some(f)),
                        };
                        drop(input);
                        // Past the package budget a file's findings are dropped (and listed), so
                        // a hostile database of millions of packages is not kept.
                        let n: u64 = dets.iter().map(|d| d.packages.len() as u64).sum();
                        if n > 0 && packages.fetch_add(n, Ordering::Relaxed) + n > limits.max_packages {
                            if let Ok(mut o) = over_packages.lock() {
                                match &mut *o {
                                    Some(s) => s.files += 1,
                                    None => {
                                        *o = Some(Skipped {
                                            path: clip(path),
                                            detector: wanted
                                                .first()
                                                .and_then(|&i| detectors.get(i))
                                                .map_or("", |d| d.name())
                                                .into(),
                                            limit: format!("max_packages {} per layer", limits.max_packages),
                                            files: 1,
                                        })
                                    }
                                }
                            }
                            return;
                        }
                        if let Ok(mut r) = results.lock() {
                            r.push((path, dets, warns, file_skipped));
                        }
                    };
                    // Backpressure: when the detectors fall behind (an image of big jars), this
                    // thread runs the detector itself instead of queueing more buffers, so
                    // memory stays flat however large the image. A spooled file is read here
                    // too, so at most one is on disk at a time.
                    if spool || in_flight.load(Ordering::Relaxed) + len > MAX_IN_FLIGHT {
                        detect();
                    } else {
                        in_flight.fetch_add(len, Ordering::Relaxed);
                        scope.spawn(move |_| {
                            detect();
                            in_flight.fetch_sub(len, Ordering::Relaxed);
                        });
                    }
                }
                Ok(())
            })?;
        }
        // The tar end marker may come before the end of the blob: read the rest so both
        // digests cover every byte.
        io::copy(&mut tar_stream, &mut io::sink()).map_err(|e| fail(format!("reading past the tar end: {e}")))?;
        let (uncompressed_digest, _) = tar_stream.finish();
        drop(head);
        let (blob_digest, blob_len) = reader.join().map_err(|_| fail("the blob reader thread failed".into()))?;
        if let (Some(expected), Some(actual)) = (&layer.digest, blob_digest) {
            if *expected != actual {
                return Err(ImageError::DigestMismatch { digest: expected.to_string(), actual: actual.to_string() });
            }
        }
        if let Some(size) = layer.size {
            if size != blob_len {
                return Err(ImageError::SizeMismatch { digest: name.clone(), expected: size, actual: blob_len });
            }
        }
        if let Some(actual) = uncompressed_digest {
            if actual != layer.diff_id {
                return Err(ImageError::DiffIdMismatch {
                    diff_id: layer.diff_id.to_string(),
                    actual: actual.to_string(),
                });
            }
        }
        let mut results = results.into_inner().unwrap_or_default();
        // Detection tasks finish in any order: sort, so warnings come out the same every run.
        results.sort_by(|a, b| a.0.cmp(&b.0));
        for (path, dets, warns, file_skipped) in results {
            inv.skipped.extend(file_skipped);
            for w in warns {
                warnings.push(w);
            }
            inv.files.entry(path).or_default().extend(dets);
        }
        for over in [over_paths, over_packages.into_inner().ok().flatten()].into_iter().flatten() {
            warnings.push(format!(
                "{} files a detector wanted skipped: over the limit {} (BULWARK_LIMIT_{}), the first {}",
                over.files,
                over.limit,
                over.limit.split(' ').next().unwrap_or("").to_uppercase(),
                over.path,
            ));
            inv.skipped.push(over);
        }
        // A set, not a scan of every entry per link: a hostile layer has many of both.
        let entries: std::collections::HashSet<u64> =
            if inv.links.is_empty() { Default::default() } else { inv.entries.iter().copied().collect() };
        // Each link copies its target's findings: many links to one big lockfile would
        // multiply memory without bound, so the copies share one budget.
        let mut copied = 0usize;
        let mut over_budget = 0usize;
        for (path, target) in inv.links.clone() {
            match inv.files.get(&target) {
                Some(dets) => {
                    let n: usize = dets.iter().map(|d| d.packages.len()).sum();
                    if copied.saturating_add(n) > MAX_LINKED_PACKAGES {
                        over_budget += 1;
                        continue;
                    }
                    copied += n;
                    let mut dets = dets.clone();
                    for p in dets.iter_mut().flat_map(|d| d.packages.iter_mut()) {
                        p.location.path = p.location.path.replacen(&target, &path, 1);
                    }
                    inv.files.insert(path, dets);
                }
                // A target no detector wanted (a script linked under an executable's name) is fine.
                None if entries.contains(&path_key(&target)) => {}
                None => {
                    warnings.push(format!("{path}: hard link to {target}, which this layer does not hold: skipped"))
                }
            }
        }
        if over_budget > 0 {
            warnings.push(format!(
                "{over_budget} hard links skipped: their targets' packages would pass {MAX_LINKED_PACKAGES} copies in this layer"
            ));
        }
        inv.warnings = warnings.finish();
        Ok(inv)
    })
}

/// The detectors' own pool: one thread fewer than there are cores, because each layer being
/// read already keeps a core busy inflating; idle rayon workers spinning for work would
/// otherwise take CPU from the inflaters on small machines.
fn detector_pool() -> &'static rayon::ThreadPool {
    static POOL: std::sync::OnceLock<rayon::ThreadPool> = std::sync::OnceLock::new();
    POOL.get_or_init(|| {
        let n = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2).saturating_sub(1).max(1);
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .thread_name(|i| format!("bulwark-detect-{i}"))
            .build()
            .unwrap_or_else(|e| panic!("cannot start the detector threads: {e}"))
    })
}

/// Run the chosen detectors over one file (`data`, or with `file` the open file, which
/// seekable detectors read instead); errors and detector warnings become warnings that name
/// the file and the detector.
pub(crate) fn run_detectors(
    detectors: &[Box<dyn Detector>],
    wanted: &[usize],
    path: &str,
    mode: u32,
    data: &[u8],
    file: Option<&std::fs::File>,
) -> (Vec<Detection>, Vec<String>, Vec<Skipped>) {
    let input = FileInput { path, mode, data };
    let mut dets = Vec::new();
    let mut warns = Vec::new();
    let mut skipped = Vec::new();
    for &i in wanted {
        let Some(d) = detectors.get(i) else { continue };
        let found = match file {
            Some(f) if d.seekable() => d.detect_file(path, mode, f),
            _ => d.detect(&input),
        };
        match found {
            Ok(mut found) => {
                found.declared = d.declared();
                if found.truncated {
                    skipped.push(Skipped {
                        path: clip(path.to_string()),
                        detector: d.name().into(),
                        limit: format!("max_file_packages {}", bulwark_catalog::MAX_FILE_PACKAGES),
                        files: 1,
                    });
                }
                warns.extend(found.warnings.drain(..).map(|w| format!("{path}: {}: {w}", d.name())));
                if !found.packages.is_empty() || found.os.is_some() {
                    dets.push(found);
                }
            }
            Err(e) => {
                if let bulwark_catalog::DetectError::OverLimit { limit, .. } = &e {
                    skipped.push(Skipped {
                        path: clip(path.to_string()),
                        detector: d.name().into(),
                        limit: limit.clone(),
                        files: 1,
                    });
                }
                warns.push(format!("{path}: {}: {e}", d.name()))
            }
        }
    }
    (dets, warns, skipped)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::BlobLocation;
    use bulwark_oci::Digest;

    /// Read `tar` (plain or gzip) as a layer checked by its diff id.
    fn read(blob: &[u8], tar: &[u8]) -> Result<LayerInventory> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("layer");
        std::fs::write(&path, blob).unwrap();
        let layer = LayerRef {
            digest: None,
            size: None,
            diff_id: Digest::of_bytes(tar),
            media_type: String::new(),
            location: BlobLocation::File(path),
        };
        read_layer(&layer, &bulwark_catalog::all_detectors(), &Limits::default(), &|_| {})
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    /// A raw GNU header: hostile sizes and types stay as given.
    fn header(name: &str, kind: u8, size: u64) -> tar::Header {
        let mut h = tar::Header::new_gnu();
        h.as_gnu_mut().unwrap().name[..name.len()].copy_from_slice(name.as_bytes());
        h.set_entry_type(tar::EntryType::new(kind));
        h.set_mode(0o644);
        h.set_size(size);
        h.set_cksum();
        h
    }

    fn push(tar: &mut Vec<u8>, h: &tar::Header, data: &[u8]) {
        tar.extend_from_slice(h.as_bytes());
        tar.extend_from_slice(data);
        tar.resize(tar.len().next_multiple_of(512), 0);
    }

    fn os_release(tar: &mut Vec<u8>) {
        let data = b"ID=debian\nVERSION_ID=12\n";
        push(tar, &header("etc/os-release", b'0', data.len() as u64), data);
    }

    fn end(mut tar: Vec<u8>) -> Vec<u8> {
        tar.resize(tar.len() + 1024, 0);
        tar
    }

    fn os_found(inv: &LayerInventory) -> bool {
        inv.files.get("/etc/os-release").is_some_and(|d| d.iter().any(|d| d.os.is_some()))
    }

    /// An executable too big to buffer is copied to a temporary file for the seeking
    /// detectors, but never past `max_spool_bytes`: a layer of zeros behind an ELF magic
    /// would fill the disk. Over the limit it is skipped, named, never silently.
    #[test]
    fn spooled_copies_are_bounded() {
        let size = (64u64 << 20) + 4096;
        let mut tar = Vec::new();
        os_release(&mut tar);
        let mut h = header("usr/local/bin/big", b'0', size);
        h.set_mode(0o755);
        h.set_cksum();
        let mut data = vec![0u8; size as usize];
        data[..4].copy_from_slice(b"\x7fELF");
        push(&mut tar, &h, &data);
        drop(data);
        let tar = end(tar);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("layer");
        std::fs::write(&path, &tar).unwrap();
        let layer = LayerRef {
            digest: None,
            size: None,
            diff_id: Digest::of_bytes(&tar),
            media_type: String::new(),
            location: BlobLocation::File(path),
        };
        let limits = Limits { max_spool_bytes: 64 << 20, ..Limits::default() };
        let inv = read_layer(&layer, &bulwark_catalog::all_detectors(), &limits, &|_| {}).unwrap();
        assert!(os_found(&inv));
        assert!(
            inv.skipped.iter().any(|s| s.path == "/usr/local/bin/big" && s.limit.contains("max_spool_bytes")),
            "{:?}",
            inv.skipped
        );
        assert!(inv.warnings.iter().any(|w| w.contains("BULWARK_LIMIT_MAX_SPOOL_BYTES")), "{:?}", inv.warnings);
        // Under the limit the same file is copied and read (no build info in it: a warning
        // from the detector, not a skip for size).
        let inv = read_layer(&layer, &bulwark_catalog::all_detectors(), &Limits::default(), &|_| {}).unwrap();
        assert!(!inv.skipped.iter().any(|s| s.limit.contains("max_spool_bytes")), "{:?}", inv.skipped);
    }

    /// A GNU long name or PAX header of 8 MiB (8 KiB gzipped) was read whole into memory by
    /// the tar crate: any size an attacker liked, up to the layer limit.
    #[test]
    fn huge_extension_headers_are_refused() {
        for kind in [b'L', b'K', b'x'] {
            let mut tar = Vec::new();
            let big = if kind == b'x' {
                let rec = format!(" path={}\n", "a".repeat(8 << 20));
                format!("{}{rec}", rec.len() + (rec.len() + 8).to_string().len()).into_bytes()
            } else {
                vec![b'a'; 8 << 20]
            };
            push(&mut tar, &header("././@LongLink", kind, big.len() as u64), &big);
            os_release(&mut tar);
            let tar = end(tar);
            let e = read(&gzip(&tar), &tar).unwrap_err().to_string();
            assert!(e.contains("bytes of headers"), "{}: {e}", kind as char);
        }
    }

    /// Long names the way real layers carry them still read, and so does a GNU sparse file
    /// (whose map comes after its header), with the budget still enforced after it.
    #[test]
    fn long_names_and_sparse_files_still_read() {
        let mut tar = Vec::new();
        let long = format!("usr/{}/x", "d".repeat(300));
        push(&mut tar, &header("././@LongLink", b'L', long.len() as u64 + 1), format!("{long}\0").as_bytes());
        push(&mut tar, &header("short", b'0', 3), b"abc");
        let rec = format!(" path={long}/y\n");
        let rec = format!("{}{rec}", rec.len() + 3);
        push(&mut tar, &header("PaxHeaders/y", b'x', rec.len() as u64), rec.as_bytes());
        push(&mut tar, &header("short", b'0', 3), b"abc");
        // A sparse file of 1 MiB + 512 storing 1024 bytes, its map spilling into one extension
        // block, then an entry after it.
        let mut h = header("sparse", b'S', 1024);
        let gnu = h.as_gnu_mut().unwrap();
        gnu.sparse[0].set_offset(0);
        gnu.sparse[0].set_length(512);
        gnu.set_is_extended(true);
        gnu.set_real_size((1 << 20) + 512);
        h.set_cksum();
        tar.extend_from_slice(h.as_bytes());
        let mut ext = tar::GnuExtSparseHeader::new();
        ext.sparse_mut()[0].set_offset(1 << 20);
        ext.sparse_mut()[0].set_length(512);
        tar.extend_from_slice(ext.as_mut_bytes());
        tar.extend_from_slice(&[7u8; 1024]);
        os_release(&mut tar);
        let ok = end(tar.clone());
        let inv = read(&ok, &ok).unwrap();
        assert!(inv.entries.contains(&path_key(&format!("/{long}"))), "{:?}", inv.entries);
        assert!(inv.entries.contains(&path_key(&format!("/{long}/y"))), "{:?}", inv.entries);
        assert!(inv.entries.contains(&path_key("/sparse")), "{:?}", inv.entries);
        assert!(os_found(&inv), "{:?}", inv.warnings);
        // The sparse file's expanded size does not widen the budget for what follows it.
        push(&mut tar, &header("././@LongLink", b'L', 8 << 20), &vec![b'a'; 8 << 20]);
        os_release(&mut tar);
        let bad = end(tar);
        let e = read(&bad, &bad).unwrap_err().to_string();
        assert!(e.contains("bytes of headers"), "{e}");
    }

    /// Many hard links to one big database: each copied its target's packages, so a few
    /// hundred KB of tar headers became gigabytes. The copies now share a budget.
    #[test]
    fn hard_links_cannot_multiply_findings() {
        let mut status = String::new();
        for i in 0..1000 {
            status.push_str(&format!("Package: p{i}\nStatus: install ok installed\nVersion: 1\n\n"));
        }
        let mut tar = Vec::new();
        push(&mut tar, &header("var/lib/dpkg/status.d/base", b'0', status.len() as u64), status.as_bytes());
        for i in 0..1000 {
            let mut h = header(&format!("var/lib/dpkg/status.d/l{i}"), b'1', 0);
            h.set_link_name("var/lib/dpkg/status.d/base").unwrap();
            h.set_cksum();
            push(&mut tar, &h, &[]);
        }
        let tar = end(tar);
        let inv = read(&gzip(&tar), &tar).unwrap();
        let copies: usize = inv.files.values().flatten().map(|d| d.packages.len()).sum();
        assert_eq!(copies, 1000 + MAX_LINKED_PACKAGES, "{:?}", inv.warnings);
        assert!(inv.warnings.iter().any(|w| w.contains("900 hard links skipped")), "{:?}", inv.warnings);
        let l5 = &inv.files["/var/lib/dpkg/status.d/l5"][0].packages[0];
        assert_eq!(l5.location.path, "/var/lib/dpkg/status.d/l5");
    }

    /// Links to a file no detector found anything in were checked against every entry of the
    /// layer, one scan per link.
    #[test]
    fn many_hard_links_to_plain_files_stay_fast() {
        let mut tar = Vec::new();
        for i in 0..40_000 {
            push(&mut tar, &header(&format!("f/{i}"), b'0', 0), &[]);
        }
        push(&mut tar, &header("app/readme.txt", b'0', 2), b"hi");
        for i in 0..40_000 {
            let mut h = header(&format!("n/{i}/package.json"), b'1', 0);
            h.set_link_name("app/readme.txt").unwrap();
            h.set_cksum();
            push(&mut tar, &h, &[]);
        }
        let tar = end(tar);
        let start = std::time::Instant::now();
        let inv = read(&gzip(&tar), &tar).unwrap();
        assert!(start.elapsed().as_secs() < 5, "{:?}", start.elapsed());
        assert_eq!(inv.links.len(), 40_000);
        assert!(inv.warnings.is_empty(), "{:?}", &inv.warnings[..3]);
    }

    #[test]
    fn normalize_paths() {
        assert_eq!(normalize("./usr/lib/../bin/x").as_deref(), Some("/usr/bin/x"));
        assert_eq!(normalize("/etc//os-release").as_deref(), Some("/etc/os-release"));
        assert_eq!(normalize("../../etc/passwd"), None);
        assert_eq!(normalize("a/../../b"), None);
        assert_eq!(normalize("./").as_deref(), Some("/"));
    }
}
