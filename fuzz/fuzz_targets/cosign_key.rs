//! cosign key files: public keys (PEM SPKI), encrypted private keys (the scrypt + secretbox
//! envelope, parameters as the file states them, within the limits), imported PKCS#8 keys.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = bulwark_sign::keys::load_public_key(data, "fuzz");
    let _ = bulwark_sign::keys::import_private_key(data, "fuzz");
    let _ = bulwark_sign::keys::load_private_key(data, b"fuzz", "fuzz");
});
