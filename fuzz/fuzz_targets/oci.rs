//! OCI image layouts: index.json, nested indexes, image manifests and configs, followed the
//! way `oci-dir:` sources are. The input is up to three documents separated by NUL bytes:
//! index.json, a manifest, a config. In them `@MD`/`@MS` stand for the manifest's digest and
//! size and `@CD`/`@CS` for the config's, so that the fuzzer need not forge SHA-256.
#![no_main]
use libfuzzer_sys::fuzz_target;

fn subst(doc: &[u8], pairs: &[(&str, &str)]) -> Vec<u8> {
    let mut s = String::from_utf8_lossy(doc).into_owned();
    for (from, to) in pairs {
        s = s.replace(from, to);
    }
    s.into_bytes()
}

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(3, |b| *b == 0);
    let index = parts.next().unwrap_or_default();
    let manifest = parts.next().unwrap_or_default();
    let config = parts.next().unwrap_or_default();
    let (cd, cs) = (bulwark_fuzz::sha256(config), config.len().to_string());
    let manifest = subst(manifest, &[("@CD", &cd), ("@CS", &cs)]);
    let (md, ms) = (bulwark_fuzz::sha256(&manifest), manifest.len().to_string());
    let index = subst(index, &[("@MD", &md), ("@MS", &ms), ("@CD", &cd), ("@CS", &cs)]);
    let root = bulwark_fuzz::file("layout/index.json", &index);
    let Some(root) = root.parent() else { return };
    let blobs = root.join("blobs/sha256");
    if std::fs::create_dir_all(&blobs).is_err() {
        return;
    }
    let _ = std::fs::write(root.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#);
    for doc in [&manifest, config] {
        let _ = std::fs::write(blobs.join(&bulwark_fuzz::sha256(doc)["sha256:".len()..]), doc);
    }
    let _ = bulwark_image::source::oci_dir(root, None, None, "fuzz");
    let _ = bulwark_image::source::oci_dir(root, Some("1.0"), None, "fuzz");
});
