//! The speed floor for `bulwark sbom`: decompress every layer blob of an OCI layout once,
//! in parallel across layers, with the same inflaters the scanner uses, and nothing else
//! (no hashing, no tar parsing). `bench/sbom.sh` prints our time as a ratio of this.
//!
//! Usage: inflate_floor OCI_LAYOUT_DIR

use rayon::prelude::*;
use std::io::{BufRead, BufReader, Read};
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args().nth(1).ok_or("usage: inflate_floor OCI_LAYOUT_DIR")?;
    let start = Instant::now();
    let index: serde_json::Value = serde_json::from_slice(&std::fs::read(format!("{dir}/index.json"))?)?;
    let blob = |d: &str| format!("{dir}/blobs/sha256/{}", d.trim_start_matches("sha256:"));
    let mdigest = index["manifests"][0]["digest"].as_str().ok_or("no manifest")?;
    let manifest: serde_json::Value = serde_json::from_slice(&std::fs::read(blob(mdigest))?)?;
    let layers: Vec<String> = manifest["layers"]
        .as_array()
        .ok_or("no layers")?
        .iter()
        .filter_map(|l| l["digest"].as_str().map(blob))
        .collect();
    let total: u64 = layers
        .par_iter()
        .map(|path| -> u64 {
            let Ok(f) = std::fs::File::open(path) else { return 0 };
            let mut r = BufReader::with_capacity(256 << 10, f);
            let magic = r.fill_buf().map(|b| b.to_vec()).unwrap_or_default();
            let mut dec: Box<dyn Read> = if magic.starts_with(&[0x1f, 0x8b]) {
                Box::new(flate2::bufread::MultiGzDecoder::new(r))
            } else if magic.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
                match zstd::stream::read::Decoder::with_buffer(r) {
                    Ok(d) => Box::new(d),
                    Err(_) => return 0,
                }
            } else {
                Box::new(r)
            };
            std::io::copy(&mut dec, &mut std::io::sink()).unwrap_or(0)
        })
        .sum();
    let secs = start.elapsed().as_secs_f64();
    println!("{secs:.4} {total}");
    Ok(())
}
