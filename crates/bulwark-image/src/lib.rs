//! Reading images: sources (OCI layout directory or archive, docker-archive, registry, root
//! filesystem), layers streamed once with their digests checked, whiteouts applied, and
//! layer inventories cached. Data flows one way: source → layers → detectors → squash.

#![forbid(unsafe_code)]

pub mod cache;
pub mod digest;
pub mod dir;
pub mod error;
pub mod layer;
pub mod links;
mod prefetch;
pub mod registry;
pub mod source;
pub mod spec;
pub mod squash;

pub use error::{ImageError, Result};
pub use layer::Limits;

use bulwark_catalog::{all_detectors, Detector, Inventory, SourceInfo};
use cache::LayerCache;
use source::ResolvedImage;
use std::path::{Path, PathBuf};

/// What the user asked to scan, as Syft and skopeo spell sources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceSpec {
    OciDir { path: PathBuf, tag: Option<String> },
    OciArchive { path: PathBuf, tag: Option<String> },
    DockerArchive { path: PathBuf },
    Dir { path: PathBuf },
    Registry { reference: String },
}

impl SourceSpec {
    /// `oci-dir:PATH[:TAG]`, `oci-archive:FILE[:TAG]`, `docker-archive:FILE`, `dir:PATH`,
    /// `registry:REF`, or a bare path (its kind detected) or reference.
    pub fn parse(input: &str) -> Result<SourceSpec> {
        if let Some((scheme, rest)) = input.split_once(':') {
            match scheme {
                "oci-dir" | "oci" => {
                    let (path, tag) = split_tag(rest);
                    return Ok(SourceSpec::OciDir { path, tag });
                }
                "oci-archive" => {
                    let (path, tag) = split_tag(rest);
                    return Ok(SourceSpec::OciArchive { path, tag });
                }
                "docker-archive" => {
                    // `docker-archive:FILE[:REF]` in skopeo; the reference only picks among
                    // several images, which we do not support, so it is dropped.
                    let (path, _) = split_tag(rest);
                    return Ok(SourceSpec::DockerArchive { path });
                }
                "dir" => return Ok(SourceSpec::Dir { path: PathBuf::from(rest) }),
                "registry" | "docker" => {
                    return Ok(SourceSpec::Registry { reference: rest.trim_start_matches("//").to_string() })
                }
                _ => {}
            }
        }
        let path = Path::new(input);
        if let Ok(meta) = std::fs::metadata(path) {
            if meta.is_dir() {
                return Ok(if path.join("index.json").is_file() && path.join("oci-layout").is_file() {
                    SourceSpec::OciDir { path: path.into(), tag: None }
                } else {
                    SourceSpec::Dir { path: path.into() }
                });
            }
            // A file: docker-archive or OCI archive, by what it holds.
            let idx = source::TarIndex::open(path)?;
            return Ok(if idx.get("manifest.json").is_some() {
                SourceSpec::DockerArchive { path: path.into() }
            } else if idx.get("index.json").is_some() {
                SourceSpec::OciArchive { path: path.into(), tag: None }
            } else {
                return Err(ImageError::invalid(format!(
                    "{input}: a file that is neither a docker-archive nor an OCI archive"
                )));
            });
        }
        // An OCI layout with a tag: `path/to/oci:1.0`.
        if let (path, Some(tag)) = split_tag(input) {
            if path.join("index.json").is_file() {
                return Ok(SourceSpec::OciDir { path, tag: Some(tag) });
            }
        }
        Ok(SourceSpec::Registry { reference: input.to_string() })
    }
}

/// `path:tag` → (path, tag); a path that exists as given is never split.
fn split_tag(s: &str) -> (PathBuf, Option<String>) {
    if Path::new(s).exists() {
        return (PathBuf::from(s), None);
    }
    match s.rsplit_once(':') {
        Some((p, t)) if !t.is_empty() && !t.contains('/') => (PathBuf::from(p), Some(t.to_string())),
        _ => (PathBuf::from(s), None),
    }
}

/// How to catalogue.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub platform: Option<String>,
    /// `None`: the default cache directory.
    pub cache_dir: Option<PathBuf>,
    pub no_cache: bool,
    pub insecure: bool,
    /// Registry credentials: a Docker `config.json` (or a Kubernetes `.dockerconfigjson`);
    /// `None`: `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`.
    pub docker_config: Option<PathBuf>,
    /// Show a progress bar (the caller decides: only on a terminal).
    pub progress: bool,
    pub limits: Limits,
    /// Read the layers even when the registry (a Bulwark registry) already holds an SBOM.
    pub no_registry_sbom: bool,
    /// How a `dir:` source is walked.
    pub dir: dir::DirOptions,
}

/// Catalogue an image or directory: every package visible in its final filesystem.
pub fn catalog(input: &str, opts: &Options) -> Result<Inventory> {
    let spec = SourceSpec::parse(input)?;
    let detectors = all_detectors();
    let platform = match opts.platform.as_deref() {
        Some(p) => Some(
            spec::Platform::parse(p)
                .ok_or_else(|| ImageError::invalid(format!("--platform {p:?}: expected OS/ARCH[/VARIANT]")))?,
        ),
        None => None,
    };
    let image = match spec {
        SourceSpec::Dir { path } => {
            let inv = dir::read_dir_tree(&path, &detectors, &opts.dir)?;
            let info = SourceInfo {
                kind: "dir".into(),
                input: input.into(),
                name: Some(path.display().to_string()),
                ..Default::default()
            };
            let mut out = squash::squash(info, std::slice::from_ref(&inv));
            for p in &mut out.packages {
                p.location.layer = None;
            }
            return Ok(out);
        }
        SourceSpec::OciDir { path, tag } => source::oci_dir(&path, tag.as_deref(), platform.as_ref(), input)?,
        SourceSpec::OciArchive { path, tag } => source::oci_archive(&path, tag.as_deref(), platform.as_ref(), input)?,
        SourceSpec::DockerArchive { path } => source::docker_archive(&path, input)?,
        SourceSpec::Registry { reference } => {
            if !opts.no_registry_sbom {
                let pull = registry::PullOptions {
                    insecure: opts.insecure,
                    docker_config: opts.docker_config.clone(),
                    ..Default::default()
                };
                if let Some(mut inv) = registry::stored_sbom(&reference, &pull)? {
                    inv.source.kind = "registry-sbom".into();
                    return Ok(inv);
                }
            }
            // Layers whose inventory is cached are not even downloaded.
            let have_layer: Option<registry::HaveLayer> = open_cache(opts, &detectors).map(|c| {
                let c = std::sync::Arc::new(c);
                let f: registry::HaveLayer =
                    std::sync::Arc::new(move |blob: &bulwark_oci::Digest, diff_id: &bulwark_oci::Digest| {
                        c.get(&key_for(Some(blob), diff_id)).is_some()
                    });
                f
            });
            let pull = registry::PullOptions {
                platform: opts.platform.clone(),
                insecure: opts.insecure,
                progress: opts.progress,
                docker_config: opts.docker_config.clone(),
                have_layer,
            };
            let mut image = registry::pull(&reference, &pull)?;
            image.info.input = input.into();
            image
        }
    };
    catalog_image(image, &detectors, opts)
}

/// Read every layer (from the cache where possible, the rest in parallel) and squash.
pub fn catalog_image(image: ResolvedImage, detectors: &[Box<dyn Detector>], opts: &Options) -> Result<Inventory> {
    let cache = open_cache(opts, detectors);
    let bar = progress_bar(opts.progress, &image);
    let tick = |n: u64| {
        if let Some(b) = &bar {
            b.inc(n);
        }
    };
    // Identical layers (the same blob twice in one image) are read once.
    let keys: Vec<String> = image.layers.iter().map(cache_key).collect();
    let mut unique: Vec<usize> = Vec::new();
    let mut seen: std::collections::HashSet<&str> = std::collections::HashSet::new();
    for (i, k) in keys.iter().enumerate() {
        if seen.insert(k.as_str()) {
            unique.push(i);
        }
    }
    let image_packages = std::sync::atomic::AtomicU64::new(0);
    let read_one = |i: usize| -> Result<layer::LayerInventory> {
        let l = &image.layers[i];
        let mut inv = match cache.as_ref().and_then(|c| c.get(&keys[i])) {
            Some(hit) => {
                tick(l.size.unwrap_or(0));
                hit
            }
            None => {
                let inv = layer::read_layer(l, detectors, &opts.limits, &tick)?;
                if let Some(c) = &cache {
                    if let Err(e) = c.put(&keys[i], &inv) {
                        tracing::warn!("layer cache: {e}");
                    }
                }
                inv
            }
        };
        // Each layer is within its own budget; together they share the image's.
        let n: u64 = inv.files.values().flatten().map(|d| d.packages.len() as u64).sum();
        let before = image_packages.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
        if n > 0 && before + n > opts.limits.max_image_packages {
            let limit = format!("max_image_packages {}", opts.limits.max_image_packages);
            let first = inv.files.keys().next().cloned().unwrap_or_default();
            inv.warnings.push(layer::clip(format!(
                "{} files a detector read skipped: over the limit {limit} (BULWARK_LIMIT_MAX_IMAGE_PACKAGES), the first {first}",
                inv.files.len()
            )));
            inv.skipped.push(bulwark_catalog::Skipped {
                path: layer::clip(first),
                detector: String::new(),
                limit,
                files: inv.files.len() as u64,
            });
            inv.files.clear();
        }
        Ok(inv)
    };
    // Layers are walked on plain threads, one per core: a layer walk is a long blocking
    // stream, and keeping it off rayon's pool leaves that pool free to run the detectors
    // while the inflaters run, instead of queueing every file until its layer ends.
    let workers = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2).min(unique.len()).max(1);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let slots: Vec<std::sync::Mutex<Option<Result<layer::LayerInventory>>>> =
        unique.iter().map(|_| std::sync::Mutex::new(None)).collect();
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(&i) = unique.get(n) else { break };
                let r = read_one(i);
                if let Ok(mut slot) = slots[n].lock() {
                    *slot = Some(r);
                }
            });
        }
    });
    let mut by_key: std::collections::HashMap<&str, layer::LayerInventory> = std::collections::HashMap::new();
    for (n, slot) in slots.into_iter().enumerate() {
        let r = slot.into_inner().ok().flatten().ok_or_else(|| ImageError::invalid("a layer reader thread failed"))?;
        by_key.insert(keys[unique[n]].as_str(), r?);
    }
    // Borrowed, not cloned: a layer listed many times must not cost its inventory each time.
    // The same layer twice in a row adds nothing the first did not (whiteouts never hide their
    // own layer's files), so a run of one layer is squashed once.
    let layers: Vec<&layer::LayerInventory> = keys
        .iter()
        .enumerate()
        .filter(|&(i, k)| i == 0 || keys.get(i - 1) != Some(k))
        .filter_map(|(_, k)| by_key.get(k.as_str()))
        .collect();
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    // Package databases behind symbolic links: the layers are read again for the files seen
    // through them, and each such file that its own layer's successors leave visible is added
    // on top, under the path through the link.
    let links = links::final_links(&layers);
    let (aliases, mut link_warnings) = links::aliases(&links, &layers);
    let mut through_links: Vec<layer::LayerInventory> = Vec::new();
    if !aliases.is_empty() {
        for (i, l) in image.layers.iter().enumerate() {
            if i > 0 && keys.get(i - 1) == Some(&keys[i]) {
                continue;
            }
            let Some(first) = by_key.get(keys[i].as_str()) else { continue };
            let Some(pos) = layers.iter().position(|x| std::ptr::eq(*x, first)) else { continue };
            // A layer not at hand (a registry pull skips layers whose inventory is cached) is
            // a warning: the rest of the image stands.
            let mut extra = match layer::read_layer_aliased(l, detectors, &opts.limits, &aliases) {
                Ok(extra) => extra,
                Err(e) => {
                    link_warnings.push(format!("reading again for files behind symbolic links: {e}"));
                    continue;
                }
            };
            let real: std::collections::HashMap<String, String> =
                extra.files.keys().filter_map(|a| Some((a.clone(), links::resolve(&links, a).ok()?))).collect();
            extra.files.retain(|a, _| {
                real.get(a).is_some_and(|p| {
                    layers[pos + 1..].iter().all(|up| {
                        let replaced: std::collections::HashSet<u64> =
                            up.whiteouts.iter().chain(&up.entries).copied().collect();
                        let opaque: std::collections::HashSet<u64> = up.opaque_dirs.iter().copied().collect();
                        !squash::hides(p, &replaced, &opaque)
                    })
                })
            });
            if !extra.files.is_empty() {
                // The walk's own warnings were given by the first pass; keep the detectors'.
                let warnings = extra
                    .warnings
                    .into_iter()
                    .filter(|w| extra.files.keys().any(|a| w.starts_with(a.as_str())))
                    .collect();
                through_links.push(layer::LayerInventory {
                    diff_id: extra.diff_id,
                    files: extra.files,
                    warnings,
                    skipped: extra.skipped,
                    ..Default::default()
                });
            }
        }
    }
    let mut all: Vec<&layer::LayerInventory> = layers;
    all.extend(through_links.iter());
    let mut inv = squash::squash(image.info.clone(), &all);
    inv.warnings.append(&mut link_warnings);
    Ok(inv)
}

/// The cache key is the digest [`layer::read_layer`] verifies before anything is cached: the
/// blob digest where the manifest gives one, else the diff id (hashed from the stream).
/// A diff id that was not checked is never trusted alone: a hostile image could claim a
/// popular base layer's diff id over different content and plant a false inventory for
/// every later scan of that base. (Hashing the uncompressed stream as well would cost
/// ~40% of the read, which is why it is not done when the blob digest already vouches.)
fn cache_key(l: &source::LayerRef) -> String {
    key_for(l.digest.as_ref(), &l.diff_id)
}

fn key_for(blob: Option<&bulwark_oci::Digest>, diff_id: &bulwark_oci::Digest) -> String {
    match blob {
        Some(d) => format!("{d}|{diff_id}"),
        None => diff_id.to_string(),
    }
}

/// The layer cache the options ask for, if any.
fn open_cache(opts: &Options, detectors: &[Box<dyn Detector>]) -> Option<LayerCache> {
    if opts.no_cache {
        return None;
    }
    opts.cache_dir.clone().or_else(LayerCache::default_dir).map(|d| LayerCache::new(&d, detectors))
}

fn progress_bar(enabled: bool, image: &ResolvedImage) -> Option<indicatif::ProgressBar> {
    if !enabled {
        return None;
    }
    let total: u64 = image.layers.iter().map(|l| l.size.unwrap_or_else(|| l.location.len().unwrap_or(0))).sum();
    let bar = indicatif::ProgressBar::with_draw_target(Some(total), indicatif::ProgressDrawTarget::stderr());
    if let Ok(style) = indicatif::ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message("reading layers");
    Some(bar)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_source_prefixes() {
        assert_eq!(
            SourceSpec::parse("oci-dir:/nonexistent/oci:1.0").unwrap(),
            SourceSpec::OciDir { path: "/nonexistent/oci".into(), tag: Some("1.0".into()) }
        );
        assert_eq!(
            SourceSpec::parse("docker-archive:/x/y.tar").unwrap(),
            SourceSpec::DockerArchive { path: "/x/y.tar".into() }
        );
        assert_eq!(
            SourceSpec::parse("registry.example.com/team/app:v1.2.3").unwrap(),
            SourceSpec::Registry { reference: "registry.example.com/team/app:v1.2.3".into() }
        );
        assert_eq!(SourceSpec::parse("dir:/").unwrap(), SourceSpec::Dir { path: "/".into() });
    }
}
