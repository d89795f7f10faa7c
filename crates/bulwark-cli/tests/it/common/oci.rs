//! Build small OCI image layouts in a temp dir, for crafted (often hostile) test images.

use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::Path;

pub fn sha(data: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(data)))
}

/// One tar entry, written with a raw header so that hostile names (`../x`) stay as given.
#[allow(dead_code)] // each test binary uses a different subset
pub enum Entry<'a> {
    File(&'a str, &'a [u8]),
    Exec(&'a str, &'a [u8]),
    Dir(&'a str),
    Symlink(&'a str, &'a str),
    Hardlink(&'a str, &'a str),
}

pub fn tar(entries: &[Entry<'_>]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for e in entries {
        let mut h = tar::Header::new_gnu();
        let (name, kind, data, link, mode): (&str, tar::EntryType, &[u8], Option<&str>, u32) = match e {
            Entry::File(n, d) => (n, tar::EntryType::Regular, d, None, 0o644),
            Entry::Exec(n, d) => (n, tar::EntryType::Regular, d, None, 0o755),
            Entry::Dir(n) => (n, tar::EntryType::Directory, &[], None, 0o755),
            Entry::Symlink(n, t) => (n, tar::EntryType::Symlink, &[], Some(*t), 0o777),
            Entry::Hardlink(n, t) => (n, tar::EntryType::Link, &[], Some(*t), 0o644),
        };
        let gnu = h.as_gnu_mut().unwrap();
        gnu.name[..name.len()].copy_from_slice(name.as_bytes());
        if let Some(l) = link {
            gnu.linkname[..l.len()].copy_from_slice(l.as_bytes());
        }
        h.set_entry_type(kind);
        h.set_mode(mode);
        h.set_size(data.len() as u64);
        h.set_mtime(1_764_000_000);
        h.set_cksum();
        b.append(&h, data).unwrap();
    }
    b.into_inner().unwrap()
}

pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// A layer as stored: (blob bytes, media type, uncompressed tar for the diff id).
pub struct Layer {
    pub blob: Vec<u8>,
    pub media_type: &'static str,
    pub diff_id: String,
}

impl Layer {
    pub fn gzip(tar: &[u8]) -> Layer {
        Layer { blob: gzip(tar), media_type: "application/vnd.oci.image.layer.v1.tar+gzip", diff_id: sha(tar) }
    }
}

fn put(dir: &Path, data: &[u8]) -> String {
    let d = sha(data);
    let p = dir.join("blobs/sha256").join(&d[7..]);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, data).unwrap();
    d
}

/// Write an OCI layout with one image tagged `tag`; returns the manifest digest.
pub fn layout(dir: &Path, tag: &str, layers: &[Layer]) -> String {
    let described: Vec<_> =
        layers.iter().map(|l| (put(dir, &l.blob), l.blob.len() as u64, l.media_type, l.diff_id.clone())).collect();
    layout_described(dir, tag, &described)
}

/// [`layout`] for layers whose blobs are (or will be) put in place by the caller:
/// (digest, size, media type, diff id) each.
pub fn layout_described(dir: &Path, tag: &str, layers: &[(String, u64, &str, String)]) -> String {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    let config = serde_json::json!({
        "architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": layers.iter().map(|l| l.3.clone()).collect::<Vec<_>>()},
    });
    let config = serde_json::to_vec(&config).unwrap();
    let cd = put(dir, &config);
    let layer_descs: Vec<_> = layers
        .iter()
        .map(|(digest, size, media_type, _)| serde_json::json!({"mediaType": media_type, "digest": digest, "size": size}))
        .collect();
    let manifest = serde_json::json!({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": config.len()},
        "layers": layer_descs,
    });
    let manifest = serde_json::to_vec(&manifest).unwrap();
    let md = put(dir, &manifest);
    let index = serde_json::json!({"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md, "size": manifest.len(),
        "annotations": {"org.opencontainers.image.ref.name": tag}}]});
    std::fs::write(dir.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
    md
}

pub const OS_RELEASE: &[u8] = b"PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\n";

#[allow(dead_code)] // each test binary uses a different subset
pub fn dpkg_status(pkgs: &[(&str, &str)]) -> Vec<u8> {
    let mut s = String::new();
    for (n, v) in pkgs {
        s.push_str(&format!("Package: {n}\nStatus: install ok installed\nArchitecture: amd64\nVersion: {v}\n\n"));
    }
    s.into_bytes()
}

/// A hostile layer's tar: `n` `package.json` files whose paths are each about `len` bytes
/// (GNU long names), plus `n` plain files at such paths. Issue 10 (D2): 48,000 paths of
/// 64 KiB took 5.7 GB.
#[allow(dead_code)]
pub fn long_paths_tar(n: usize, len: usize) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let dirs = "d".repeat(200) + "/";
    let long = dirs.repeat(len / dirs.len() + 1);
    for i in 0..n {
        for (name, data) in [
            (
                format!("app/{i}/{long}node_modules/p{i}/package.json"),
                format!(r#"{{"name":"p{i}","version":"1.0.0"}}"#),
            ),
            (format!("app/{i}/{long}plain.txt"), String::from("x")),
        ] {
            let mut h = tar::Header::new_gnu();
            h.set_mode(0o644);
            h.set_size(data.len() as u64);
            h.set_entry_type(tar::EntryType::Regular);
            b.append_data(&mut h, name, data.as_bytes()).unwrap();
        }
    }
    b.into_inner().unwrap()
}

/// A hostile `/var/lib/dpkg/status` of `n` packages. Issue 10 (D2): 2.8 million took 4.2 GB.
#[allow(dead_code)]
pub fn huge_status_tar(n: usize) -> Vec<u8> {
    let mut s = String::with_capacity(n * 64);
    for i in 0..n {
        s.push_str(&format!("Package: p{i}\nStatus: install ok installed\nVersion: 1.{i}\n\n"));
    }
    tar(&[Entry::File("etc/os-release", OS_RELEASE), Entry::File("var/lib/dpkg/status", s.as_bytes())])
}
