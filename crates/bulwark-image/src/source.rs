//! Image sources: where the manifest, config and layer blobs come from. Each loader ends in a
//! [`ResolvedImage`] — a list of layers with the place their bytes are and the digests to check —
//! so that layer reading, caching and squashing are the same for every source.

use crate::error::{ImageError, Result};
use crate::spec::{ImageConfig, Index, Manifest, Platform};
use bulwark_catalog::{LayerInfo, SourceInfo};
use bulwark_oci::media_type;
use bulwark_oci::{Descriptor, Digest};
use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// Manifests, indexes and configs are small; anything bigger is hostile.
const MAX_JSON: u64 = 8 << 20;

/// Where a blob's bytes are.
#[derive(Debug, Clone)]
pub enum BlobLocation {
    File(PathBuf),
    /// A member of an uncompressed outer tar (docker-archive, oci-archive).
    TarMember {
        archive: PathBuf,
        offset: u64,
        len: u64,
    },
    /// A registry layer not downloaded because the layer cache already holds its inventory.
    NotFetched(Digest),
}

impl BlobLocation {
    pub fn open(&self) -> Result<Box<dyn Read + Send>> {
        match self {
            BlobLocation::File(p) => Ok(Box::new(File::open(p).map_err(|e| ImageError::io(p, e))?)),
            BlobLocation::TarMember { archive, offset, len } => {
                let mut f = File::open(archive).map_err(|e| ImageError::io(archive, e))?;
                f.seek(SeekFrom::Start(*offset)).map_err(|e| ImageError::io(archive, e))?;
                Ok(Box::new(f.take(*len)))
            }
            BlobLocation::NotFetched(d) => Err(ImageError::MissingBlob(d.to_string())),
        }
    }

    #[allow(clippy::len_without_is_empty)] // a blob's size, not a collection
    pub fn len(&self) -> Result<u64> {
        match self {
            BlobLocation::File(p) => Ok(std::fs::metadata(p).map_err(|e| ImageError::io(p, e))?.len()),
            BlobLocation::TarMember { len, .. } => Ok(*len),
            BlobLocation::NotFetched(_) => Ok(0),
        }
    }

    fn read_json<T: serde::de::DeserializeOwned>(&self, what: &str) -> Result<T> {
        let mut buf = Vec::new();
        self.open()?
            .take(MAX_JSON + 1)
            .read_to_end(&mut buf)
            .map_err(|e| ImageError::invalid(format!("{what}: {e}")))?;
        if buf.len() as u64 > MAX_JSON {
            return Err(ImageError::invalid(format!("{what}: larger than {MAX_JSON} bytes")));
        }
        serde_json::from_slice(&buf).map_err(|e| ImageError::json(what, e))
    }
}

/// One layer to read.
#[derive(Debug, Clone)]
pub struct LayerRef {
    /// Digest of the blob as stored (compressed), checked while reading; `None` where the
    /// source has no such digest (a legacy docker-archive), and the diff id is checked instead.
    pub digest: Option<Digest>,
    /// Declared size of the blob; checked when known.
    pub size: Option<u64>,
    /// Digest of the uncompressed tar, from the image config.
    pub diff_id: Digest,
    pub media_type: String,
    pub location: BlobLocation,
}

/// An image whose layers can now be read.
pub struct ResolvedImage {
    pub info: SourceInfo,
    pub layers: Vec<LayerRef>,
    /// Keeps downloaded blobs alive for a registry pull.
    pub _keep: Option<tempfile::TempDir>,
}

/// A lookup of blobs by digest: a directory (`blobs/<algorithm>/<hex>`) or the members of a tar.
pub(crate) trait BlobSource {
    fn locate(&self, digest: &Digest) -> Result<BlobLocation>;
}

pub(crate) struct DirBlobs(pub PathBuf);

impl BlobSource for DirBlobs {
    fn locate(&self, digest: &Digest) -> Result<BlobLocation> {
        let p = self.0.join("blobs").join(digest.algorithm().name()).join(digest.hex());
        // symlink_metadata: a blob that is a symlink could point anywhere on the host.
        match std::fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_file() => Ok(BlobLocation::File(p)),
            Ok(_) => Err(ImageError::invalid(format!("blob {digest} in {} is not a regular file", self.0.display()))),
            Err(_) => Err(ImageError::MissingBlob(digest.to_string())),
        }
    }
}

/// The regular-file members of an uncompressed tar, by normalised path.
pub(crate) struct TarIndex {
    archive: PathBuf,
    members: HashMap<String, (u64, u64)>,
}

impl TarIndex {
    pub fn open(archive: &Path) -> Result<TarIndex> {
        let f = File::open(archive).map_err(|e| ImageError::io(archive, e))?;
        let mut head = [0u8; 4];
        let n = (&f).read(&mut head).map_err(|e| ImageError::io(archive, e))?;
        if n >= 2 && head[..2] == [0x1f, 0x8b] {
            return Err(ImageError::Unsupported(format!(
                "{}: a gzip-compressed archive; decompress it first (gunzip), as docker load and skopeo need too",
                archive.display()
            )));
        }
        let f = File::open(archive).map_err(|e| ImageError::io(archive, e))?;
        let budget = crate::layer::TarBudget::new();
        let mut tar = tar::Archive::new(budget.reader(f));
        let mut members = HashMap::new();
        let bad =
            |e: std::io::Error| ImageError::invalid(format!("{}: not a readable tar archive: {e}", archive.display()));
        for entry in tar.entries().map_err(bad)? {
            let mut entry = entry.map_err(bad)?;
            budget.entry_started(&mut entry);
            if entry.header().entry_type() != tar::EntryType::Regular {
                continue;
            }
            let path = entry.path().map_err(bad)?;
            let Some(path) = crate::layer::normalize(&path.to_string_lossy()) else {
                continue;
            };
            members.insert(path.trim_start_matches('/').to_string(), (entry.raw_file_position(), entry.size()));
        }
        Ok(TarIndex { archive: archive.to_path_buf(), members })
    }

    pub fn get(&self, name: &str) -> Option<BlobLocation> {
        let name = crate::layer::normalize(name)?;
        self.members.get(name.trim_start_matches('/')).map(|&(offset, len)| BlobLocation::TarMember {
            archive: self.archive.clone(),
            offset,
            len,
        })
    }
}

impl BlobSource for TarIndex {
    fn locate(&self, digest: &Digest) -> Result<BlobLocation> {
        self.get(&format!("blobs/{}/{}", digest.algorithm(), digest.hex()))
            .ok_or_else(|| ImageError::MissingBlob(digest.to_string()))
    }
}

/// The platform to pick from an index when the user names none.
pub fn default_platform() -> Platform {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        other => other,
    };
    Platform::new("linux", arch, None)
}

/// Resolve an OCI image layout (a directory or the members of an archive).
pub(crate) fn resolve_oci_layout(
    blobs: &dyn BlobSource,
    index: Index,
    tag: Option<&str>,
    platform: Option<&Platform>,
    mut info: SourceInfo,
) -> Result<(Manifest, Digest, Option<String>, SourceInfo)> {
    let candidates: Vec<&Descriptor> = match tag {
        Some(t) => index.manifests.iter().filter(|d| d.ref_name() == Some(t)).collect(),
        None => index.manifests.iter().collect(),
    };
    let desc = match candidates.as_slice() {
        [] if tag.is_some() => {
            let tags: Vec<_> = index.manifests.iter().filter_map(Descriptor::ref_name).collect();
            return Err(ImageError::invalid(format!(
                "no image tagged {:?} in the layout (tags: {tags:?})",
                tag.unwrap_or_default()
            )));
        }
        [] => return Err(ImageError::invalid("the layout's index.json lists no manifest")),
        [one] => (*one).clone(),
        many => {
            // Several entries without a tag to pick: fine if they are one multi-platform set.
            let want = platform.cloned().unwrap_or_else(default_platform);
            let hit = many.iter().find(|d| d.platform.as_ref().is_some_and(|p| p.matches(&want)));
            match hit {
                Some(d) => (*d).clone(),
                None => {
                    let tags: Vec<_> = many.iter().filter_map(|d| d.ref_name()).collect();
                    return Err(ImageError::invalid(format!(
                        "the layout holds {} images; name one with :TAG (tags: {tags:?})",
                        many.len()
                    )));
                }
            }
        }
    };
    if let Some(name) = desc.ref_name() {
        info.name.get_or_insert_with(|| name.to_string());
    }
    let (manifest, digest) = follow_to_manifest(blobs, desc, platform, 0)?;
    Ok((manifest, digest, info.name.clone(), info))
}

/// Follow index → manifest, choosing the platform in a multi-arch index.
pub(crate) fn follow_to_manifest(
    blobs: &dyn BlobSource,
    desc: Descriptor,
    platform: Option<&Platform>,
    depth: usize,
) -> Result<(Manifest, Digest)> {
    if depth > 4 {
        return Err(ImageError::invalid("indexes nested more than 4 deep"));
    }
    let digest = desc.digest.clone();
    let loc = blobs.locate(&digest)?;
    let bytes = read_verified(&loc, &digest, desc.size)?;
    let media_type = if desc.media_type.is_empty() { sniff_media_type(&bytes) } else { desc.media_type.clone() };
    if media_type::is_index(&media_type) {
        let index: Index =
            serde_json::from_slice(&bytes).map_err(|e| ImageError::json(format!("index {digest}"), e))?;
        let want = platform.cloned().unwrap_or_else(default_platform);
        let chosen = index
            .manifests
            .iter()
            .find(|d| d.platform.as_ref().is_some_and(|p| p.matches(&want)))
            .cloned()
            .ok_or_else(|| {
                let have: Vec<String> =
                    index.manifests.iter().filter_map(|d| d.platform.as_ref().map(|p| p.to_string())).collect();
                ImageError::invalid(format!("index {digest} has no image for platform {want} (it has: {have:?})"))
            })?;
        return follow_to_manifest(blobs, chosen, platform, depth + 1);
    }
    let manifest: Manifest =
        serde_json::from_slice(&bytes).map_err(|e| ImageError::json(format!("manifest {digest}"), e))?;
    Ok((manifest, digest))
}

fn sniff_media_type(bytes: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct Probe {
        #[serde(rename = "mediaType", default)]
        media_type: String,
        #[serde(default)]
        manifests: Option<serde_json::Value>,
    }
    match serde_json::from_slice::<Probe>(bytes) {
        Ok(p) if !p.media_type.is_empty() => p.media_type,
        Ok(p) if p.manifests.is_some() => media_type::OCI_INDEX.to_string(),
        _ => media_type::OCI_MANIFEST.to_string(),
    }
}

/// Read a small blob whole and check its digest and size.
pub(crate) fn read_verified(loc: &BlobLocation, digest: &Digest, size: u64) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    loc.open()?
        .take(MAX_JSON + 1)
        .read_to_end(&mut buf)
        .map_err(|e| ImageError::invalid(format!("blob {digest}: {e}")))?;
    if buf.len() as u64 > MAX_JSON {
        return Err(ImageError::invalid(format!(
            "blob {digest}: larger than {MAX_JSON} bytes for a manifest or config"
        )));
    }
    let actual = digest.algorithm().digest(&buf);
    if &actual != digest {
        return Err(ImageError::DigestMismatch { digest: digest.to_string(), actual: actual.to_string() });
    }
    if size > 0 && buf.len() as u64 != size {
        return Err(ImageError::SizeMismatch { digest: digest.to_string(), expected: size, actual: buf.len() as u64 });
    }
    Ok(buf)
}

/// Turn a manifest into layers to read, with diff ids from its config.
pub(crate) fn layers_from_manifest(
    blobs: &dyn BlobSource,
    manifest: &Manifest,
    manifest_digest: &Digest,
    mut info: SourceInfo,
) -> Result<(SourceInfo, Vec<LayerRef>)> {
    let config_digest = manifest.config.digest.clone();
    let config_bytes = read_verified(&blobs.locate(&config_digest)?, &config_digest, manifest.config.size)?;
    let config: ImageConfig =
        serde_json::from_slice(&config_bytes).map_err(|e| ImageError::json(format!("config {config_digest}"), e))?;
    let layer_descs: Vec<&Descriptor> =
        manifest.layers.iter().filter(|l| media_type::is_layer(&l.media_type)).collect();
    if layer_descs.len() != config.rootfs.diff_ids.len() {
        return Err(ImageError::invalid(format!(
            "manifest {manifest_digest} has {} layers but config {config_digest} lists {} diff ids",
            layer_descs.len(),
            config.rootfs.diff_ids.len()
        )));
    }
    let mut layers = Vec::with_capacity(layer_descs.len());
    for (d, diff_id) in layer_descs.iter().zip(&config.rootfs.diff_ids) {
        let digest = d.digest.clone();
        let diff_id = Digest::parse(diff_id)?;
        let size = Some(d.size).filter(|&s| s > 0);
        layers.push(LayerRef {
            location: blobs.locate(&digest)?,
            digest: Some(digest),
            size,
            diff_id,
            media_type: d.media_type.clone(),
        });
    }
    info.manifest_digest = Some(manifest_digest.to_string());
    info.image_id = Some(config_digest.to_string());
    if !config.os.is_empty() {
        info.platform =
            Some(Platform::new(config.os.clone(), config.architecture.clone(), config.variant.clone()).to_string());
    }
    info.layers = layers
        .iter()
        .map(|l| LayerInfo {
            diff_id: l.diff_id.to_string(),
            digest: l.digest.as_ref().map(Digest::to_string),
            media_type: Some(l.media_type.clone()),
            size: l.size.unwrap_or(0),
        })
        .collect();
    Ok((info, layers))
}

/// A name for an image in a layout: the `ref.name` annotation when it is a full reference
/// (`docker.io/library/alpine:3.20`, as BuildKit writes it), else `PATH:TAG` (skopeo and
/// umoci write only the tag), else the path.
fn layout_image_name(path: &Path, ref_name: Option<String>) -> String {
    match ref_name {
        Some(r) if r.contains('/') => r,
        Some(tag) => format!("{}:{tag}", path.display()),
        None => path.display().to_string(),
    }
}

/// `oci-dir:PATH[:TAG]`.
pub fn oci_dir(path: &Path, tag: Option<&str>, platform: Option<&Platform>, input: &str) -> Result<ResolvedImage> {
    let index_path = path.join("index.json");
    if !index_path.is_file() {
        return Err(ImageError::invalid(format!("{}: not an OCI image layout (no index.json)", path.display())));
    }
    let index: Index = BlobLocation::File(index_path.clone()).read_json(&index_path.display().to_string())?;
    let blobs = DirBlobs(path.to_path_buf());
    let info = SourceInfo { kind: "oci-dir".into(), input: input.into(), ..Default::default() };
    let (manifest, digest, _, mut info) = resolve_oci_layout(&blobs, index, tag, platform, info)?;
    info.name = Some(layout_image_name(path, info.name.take()));
    let (info, layers) = layers_from_manifest(&blobs, &manifest, &digest, info)?;
    Ok(ResolvedImage { info, layers, _keep: None })
}

/// An image in a directory of blobs laid out as `ROOT/blobs/<algorithm>/<hex>` (a registry's
/// storage), from its manifest digest; an index is followed to the platform's manifest.
pub fn blob_root(
    root: &Path,
    manifest_digest: &Digest,
    name: &str,
    platform: Option<&Platform>,
) -> Result<ResolvedImage> {
    let blobs = DirBlobs(root.to_path_buf());
    // Size 0 is "unknown" to read_verified (the digest is still checked); the type is sniffed.
    let desc = Descriptor::new(String::new(), manifest_digest.clone(), 0);
    let (manifest, digest) = follow_to_manifest(&blobs, desc, platform, 0)?;
    let info =
        SourceInfo { kind: "registry".into(), input: name.into(), name: Some(name.into()), ..Default::default() };
    let (info, layers) = layers_from_manifest(&blobs, &manifest, &digest, info)?;
    Ok(ResolvedImage { info, layers, _keep: None })
}

/// `oci-archive:FILE[:TAG]`: an OCI layout in an (uncompressed) tar; blobs are read in place.
pub fn oci_archive(path: &Path, tag: Option<&str>, platform: Option<&Platform>, input: &str) -> Result<ResolvedImage> {
    let tar = TarIndex::open(path)?;
    let index_loc = tar
        .get("index.json")
        .ok_or_else(|| ImageError::invalid(format!("{}: not an OCI layout archive (no index.json)", path.display())))?;
    let index: Index = index_loc.read_json(&format!("{}!index.json", path.display()))?;
    let info = SourceInfo { kind: "oci-archive".into(), input: input.into(), ..Default::default() };
    let (manifest, digest, _, mut info) = resolve_oci_layout(&tar, index, tag, platform, info)?;
    info.name = Some(layout_image_name(path, info.name.take()));
    let (info, layers) = layers_from_manifest(&tar, &manifest, &digest, info)?;
    Ok(ResolvedImage { info, layers, _keep: None })
}

/// `docker-archive:FILE`: the `docker save` format (manifest.json, config, layer tars).
pub fn docker_archive(path: &Path, input: &str) -> Result<ResolvedImage> {
    #[derive(serde::Deserialize)]
    struct Entry {
        #[serde(rename = "Config")]
        config: String,
        #[serde(rename = "RepoTags", default)]
        repo_tags: Option<Vec<String>>,
        #[serde(rename = "Layers", default)]
        layers: Vec<String>,
    }
    let tar = TarIndex::open(path)?;
    // Newer Docker writes an OCI layout inside the archive; the manifest.json beside it
    // still describes the image, so one reader serves both.
    let what = |n: &str| format!("{}!{n}", path.display());
    let manifest_loc = tar
        .get("manifest.json")
        .ok_or_else(|| ImageError::invalid(format!("{}: not a docker-archive (no manifest.json)", path.display())))?;
    let entries: Vec<Entry> = manifest_loc.read_json(&what("manifest.json"))?;
    let entry = match entries.as_slice() {
        [one] => one,
        [] => return Err(ImageError::invalid(format!("{}: manifest.json lists no image", what("manifest.json")))),
        _ => {
            return Err(ImageError::Unsupported(format!(
                "{}: holds {} images; only single-image archives are supported",
                path.display(),
                entries.len()
            )))
        }
    };
    let config_loc = tar.get(&entry.config).ok_or_else(|| ImageError::MissingBlob(what(&entry.config)))?;
    let mut config_bytes = Vec::new();
    config_loc
        .open()?
        .take(MAX_JSON)
        .read_to_end(&mut config_bytes)
        .map_err(|e| ImageError::invalid(format!("{}: {e}", what(&entry.config))))?;
    let config: ImageConfig =
        serde_json::from_slice(&config_bytes).map_err(|e| ImageError::json(what(&entry.config), e))?;
    if config.rootfs.diff_ids.len() != entry.layers.len() {
        return Err(ImageError::invalid(format!(
            "{}: manifest.json lists {} layers but the config lists {} diff ids",
            path.display(),
            entry.layers.len(),
            config.rootfs.diff_ids.len()
        )));
    }
    let mut layers = Vec::new();
    for (name, diff_id) in entry.layers.iter().zip(&config.rootfs.diff_ids) {
        let location = tar.get(name).ok_or_else(|| ImageError::MissingBlob(what(name)))?;
        // `blobs/<algorithm>/<hex>` names are content digests: check them too.
        let digest = name
            .strip_prefix("blobs/")
            .and_then(|rest| rest.split_once('/'))
            .and_then(|(alg, hex)| Digest::parse(&format!("{alg}:{hex}")).ok());
        layers.push(LayerRef {
            digest,
            size: None,
            diff_id: Digest::parse(diff_id)?,
            media_type: String::new(),
            location,
        });
    }
    let info = SourceInfo {
        kind: "docker-archive".into(),
        input: input.into(),
        name: entry.repo_tags.as_ref().and_then(|t| t.first().cloned()),
        manifest_digest: None,
        image_id: Some(Digest::of_bytes(&config_bytes).to_string()),
        platform: (!config.os.is_empty()).then(|| format!("{}/{}", config.os, config.architecture)),
        layers: layers
            .iter()
            .map(|l: &LayerRef| LayerInfo {
                diff_id: l.diff_id.to_string(),
                digest: l.digest.as_ref().map(Digest::to_string),
                media_type: None,
                size: l.location.len().unwrap_or(0),
            })
            .collect(),
    };
    Ok(ResolvedImage { info, layers, _keep: None })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The outer tar of a docker-archive or OCI archive is input too: a GNU long name of
    /// 16 MiB was read whole into memory before the first member was even indexed.
    #[test]
    fn huge_long_name_in_an_archive_is_refused() {
        let mut tar = Vec::new();
        let mut h = tar::Header::new_gnu();
        h.as_gnu_mut().unwrap().name[..13].copy_from_slice(b"././@LongLink");
        h.set_entry_type(tar::EntryType::GNULongName);
        h.set_size(16 << 20);
        h.set_cksum();
        tar.extend_from_slice(h.as_bytes());
        tar.resize(tar.len() + (16 << 20), b'a');
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_size(2);
        h.set_cksum();
        b.append_data(&mut h, "manifest.json", &b"[]"[..]).unwrap();
        tar.extend_from_slice(&b.into_inner().unwrap());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("image.tar");
        std::fs::write(&path, &tar).unwrap();
        let e = TarIndex::open(&path).err().unwrap().to_string();
        assert!(e.contains("image.tar") && e.contains("bytes of headers"), "{e}");
        // Without it, the archive indexes.
        std::fs::write(&path, &tar[512 + (16 << 20)..]).unwrap();
        assert!(TarIndex::open(&path).unwrap().get("manifest.json").is_some());
    }

    /// An index in a bare blob directory is followed to the platform's manifest, and the
    /// blobs are found by digest alone.
    #[test]
    fn blob_root_follows_an_index_to_the_platforms_image() {
        // sha512 (the image spec's other registered algorithm) end to end: blobs/sha512/<hex>,
        // each blob and layer checked with the algorithm of its digest.
        for alg in bulwark_oci::Algorithm::ALL {
            blob_root_with(alg);
        }
    }

    fn blob_root_with(alg: bulwark_oci::Algorithm) {
        let dir = tempfile::tempdir().unwrap();
        let blobs = dir.path().join("blobs").join(alg.name());
        std::fs::create_dir_all(&blobs).unwrap();
        let put = |bytes: &[u8]| -> Digest {
            let d = alg.digest(bytes);
            std::fs::write(blobs.join(d.hex()), bytes).unwrap();
            d
        };
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_size(5);
        h.set_cksum();
        b.append_data(&mut h, "etc/hello", &b"hello"[..]).unwrap();
        let layer = b.into_inner().unwrap();
        let layer_digest = put(&layer);
        let config = format!(r#"{{"os":"linux","architecture":"arm64","rootfs":{{"diff_ids":["{layer_digest}"]}}}}"#);
        let config_digest = put(config.as_bytes());
        let manifest = format!(
            r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{config_digest}","size":{}}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"{layer_digest}","size":{}}}]}}"#,
            config.len(),
            layer.len(),
            OCI_MANIFEST = media_type::OCI_MANIFEST
        );
        let manifest_digest = put(manifest.as_bytes());
        let index = format!(
            r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"{}","digest":"{manifest_digest}","size":{},"platform":{{"os":"linux","architecture":"arm64"}}}}]}}"#,
            media_type::OCI_MANIFEST,
            manifest.len()
        );
        let index_digest = put(index.as_bytes());
        let arm = Platform::parse("linux/arm64").unwrap();
        for start in [&index_digest, &manifest_digest] {
            let img = blob_root(dir.path(), start, "team/app", Some(&arm)).unwrap();
            assert_eq!(img.info.kind, "registry");
            assert_eq!(img.info.name.as_deref(), Some("team/app"));
            assert_eq!(img.info.manifest_digest.as_deref(), Some(manifest_digest.as_str()));
            assert_eq!(img.layers.len(), 1);
            assert_eq!(img.layers[0].diff_id, layer_digest);
        }
        let s390 = Platform::parse("linux/s390x").unwrap();
        let e = blob_root(dir.path(), &index_digest, "team/app", Some(&s390)).err().unwrap().to_string();
        assert!(e.contains("no image for platform linux/s390x"), "{e}");
        std::fs::remove_file(blobs.join(layer_digest.hex())).unwrap();
        let e = blob_root(dir.path(), &manifest_digest, "team/app", None).err().unwrap().to_string();
        assert!(e.contains(layer_digest.as_str()), "{e}");
    }
}
