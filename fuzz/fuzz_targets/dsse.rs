//! DSSE envelopes and the in-toto statements inside. The first byte picks: a raw envelope, or
//! a statement wrapped in an envelope correctly signed with a known key, so that the statement
//! parser past the signature check is reached.
#![no_main]
use base64::Engine as _;
use bulwark_sign::keys::KeyPair;
use bulwark_sign::Signer as _;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn key() -> &'static KeyPair {
    static K: OnceLock<KeyPair> = OnceLock::new();
    K.get_or_init(|| bulwark_sign::keys::generate().expect("key pair"))
}

fuzz_target!(|data: &[u8]| {
    let pair = key();
    let public = pair.public_key();
    let Some((which, rest)) = data.split_first() else { return };
    let envelope = if which % 2 == 0 {
        rest.to_vec()
    } else {
        let b64 = base64::engine::general_purpose::STANDARD;
        let payload_type = "application/vnd.in-toto+json";
        let Ok(sig) = pair.sign(&bulwark_sign::dsse::pae(payload_type, rest)) else { return };
        format!(
            r#"{{"payloadType":"{payload_type}","payload":"{}","signatures":[{{"keyid":"","sig":"{}"}}]}}"#,
            b64.encode(rest),
            b64.encode(sig)
        )
        .into_bytes()
    };
    if let Ok(st) = bulwark_sign::dsse::verify_attestation(&envelope, public, "fuzz") {
        let _ = st.to_json();
        let _ = bulwark_sign::provenance::check(
            &st,
            &bulwark_sign::provenance::Requirements { source_uri: "github.com/org/app".into(), builder_id: None },
        );
    }
});
