pub mod cyclonedx;
pub mod json;
pub mod spdx;
pub mod table;

use bulwark_catalog::{Package, SourceInfo};
use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// The ids of one document (CycloneDX `bom-ref`s, SPDX ids), each handed out once.
/// Shared with the scan report's CycloneDX writer.
#[derive(Default)]
pub struct Ids {
    /// Every id given, with the last `-N` suffix tried with it as the base: a run of equal
    /// wants (a hostile image can hold a million identical packages) goes on from there
    /// instead of trying `-2`, `-3`… again each time, which was quadratic.
    taken: HashMap<String, u64>,
}

impl Ids {
    /// `want`, or `want-2`, `want-3`… if an earlier element holds it.
    pub fn claim(&mut self, want: String) -> String {
        let Some(&last) = self.taken.get(&want) else {
            self.taken.insert(want.clone(), 1);
            return want;
        };
        let mut n = last;
        loop {
            n += 1;
            let candidate = format!("{want}-{n}");
            if !self.taken.contains_key(&candidate) {
                self.taken.insert(candidate.clone(), 1);
                self.taken.insert(want, n);
                return candidate;
            }
        }
    }
}

/// 16 hex digits that tell apart packages equal in name, version and purl: every field that
/// identifies a package goes in, so the same package at the same place hashes the same in
/// every run.
pub(crate) fn package_hash(p: &Package) -> String {
    let mut h = Sha256::new();
    let source = p.source.as_ref();
    for part in [
        p.kind.as_str(),
        p.namespace.as_deref().unwrap_or(""),
        &p.name,
        &p.version,
        p.arch.as_deref().unwrap_or(""),
        &p.purl,
        source.map_or("", |s| s.name.as_str()),
        source.map_or("", |s| s.version.as_str()),
        &p.location.path,
        p.location.layer.as_deref().unwrap_or(""),
    ] {
        h.update(part.as_bytes());
        // A separator, so ("ab", "c") and ("a", "bc") differ.
        h.update([0]);
    }
    hex::encode(&h.finalize()[..8])
}

/// What the scanned thing is called: its image reference, else what the user typed.
pub(crate) fn source_name(src: &SourceInfo) -> &str {
    src.name.as_deref().filter(|n| !n.is_empty()).unwrap_or(&src.input)
}

/// The image's version: the manifest digest, else the image id (config digest).
pub(crate) fn source_version(src: &SourceInfo) -> Option<&str> {
    src.manifest_digest.as_deref().or(src.image_id.as_deref()).filter(|v| !v.is_empty())
}

/// A plain directory, not an image.
pub(crate) fn is_dir(src: &SourceInfo) -> bool {
    src.kind == "dir"
}
