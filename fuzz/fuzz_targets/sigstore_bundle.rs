//! Sigstore bundles (v0.1–v0.3): inspected, then verified against the public-good trust root
//! with a key policy and a keyless one.
#![no_main]
use bulwark_sign::bundle::{inspect_bundle, verify_bundle, Artifact, Match, Policy, TrustRoot};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn policies() -> &'static [Policy; 2] {
    static P: OnceLock<[Policy; 2]> = OnceLock::new();
    P.get_or_init(|| {
        let root = TrustRoot::public_good().expect("public-good root");
        let pair = bulwark_sign::keys::generate().expect("key pair");
        [
            Policy::public_key(&pair.public_key().to_pem(), root.clone()).expect("key policy"),
            Policy::keyless(root, Match::exact("someone@example.com"), Match::exact("https://accounts.google.com")),
        ]
    })
}

fuzz_target!(|data: &[u8]| {
    let _ = inspect_bundle(data);
    for p in policies() {
        let _ = verify_bundle(data, Artifact::Bytes(b"artifact"), p);
        let _ = verify_bundle(data, Artifact::Sha256([0; 32]), p);
    }
});
