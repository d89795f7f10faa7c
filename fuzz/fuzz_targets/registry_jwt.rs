//! The registry's token checks: a raw bearer token, a token correctly signed with the
//! registry's secret over claims the fuzzer writes (so the claims parser is reached), and a
//! whole `Authorization` header (Bearer or Basic; Basic reaches the account lookup).
#![no_main]
use base64::Engine as _;
use bulwark_registry::auth::Auth;
use bulwark_registry::config::AuthConfig;
use bulwark_registry::meta::Meta;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

const SECRET: &[u8] = b"fuzzing-secret-of-at-least-32-bytes!";

/// One runtime for the whole run: the metadata store and the password check are async.
fn rt() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime"))
}

fn setup() -> &'static (Auth, Meta) {
    static S: OnceLock<(Auth, Meta)> = OnceLock::new();
    S.get_or_init(|| {
        let dir = bulwark_fuzz::scratch().join("registry");
        std::fs::create_dir_all(&dir).expect("registry scratch");
        let secret = dir.join("secret");
        std::fs::write(&secret, SECRET).expect("secret");
        let meta = Meta::open(&dir.join("meta.db")).expect("metadata store");
        let cfg = AuthConfig { token_secret_file: Some(secret), ..AuthConfig::default() };
        (rt().block_on(Auth::new(cfg, &meta)).expect("auth"), meta)
    })
}

fuzz_target!(|data: &[u8]| {
    let (auth, meta) = setup();
    let Some((which, rest)) = data.split_first() else { return };
    match which % 3 {
        0 => {
            let _ = auth.verify_token(&String::from_utf8_lossy(rest));
        }
        1 => {
            let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
            let input = format!("{}.{}", b64.encode(br#"{"alg":"HS256","typ":"JWT"}"#), b64.encode(rest));
            let key = jsonwebtoken::EncodingKey::from_secret(SECRET);
            let Ok(sig) = jsonwebtoken::crypto::sign(input.as_bytes(), &key, jsonwebtoken::Algorithm::HS256) else {
                return;
            };
            let _ = auth.verify_token(&format!("{input}.{sig}"));
        }
        _ => {
            // Basic credentials reach the (async, throttled) password check.
            let header = String::from_utf8_lossy(rest);
            let client = std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);
            let _ = rt().block_on(auth.authenticate(meta, client, Some(&header)));
        }
    }
});
