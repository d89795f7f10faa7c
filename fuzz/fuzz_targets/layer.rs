//! The layer walker: a tar stream, plain, gzip or zstd, through every detector, with whiteouts,
//! hard links and the bomb limits (kept small here so that one input stays fast).
#![no_main]
use bulwark_image::source::{BlobLocation, LayerRef};
use bulwark_image::Limits;
use bulwark_oci::Digest;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    static DETECTORS: std::sync::OnceLock<Vec<Box<dyn bulwark_catalog::Detector>>> = std::sync::OnceLock::new();
    let detectors = DETECTORS.get_or_init(bulwark_catalog::all_detectors);
    let path = bulwark_fuzz::file("layer", data);
    let Ok(diff_id) = Digest::parse(&bulwark_fuzz::sha256(b"not the content")) else { return };
    let layer = LayerRef {
        digest: None,
        size: Some(data.len() as u64),
        diff_id,
        media_type: String::new(),
        location: BlobLocation::File(path),
    };
    // `..Limits::default()`: limits added later apply here too, at their real values.
    let limits = Limits {
        max_layer_bytes: 32 << 20,
        max_ratio: 200,
        bomb_floor: 4 << 20,
        max_entries: 20_000,
        max_spool_bytes: 32 << 20,
        ..Limits::default()
    };
    let _ = bulwark_image::layer::read_layer(&layer, detectors, &limits, &|_| {});
});
