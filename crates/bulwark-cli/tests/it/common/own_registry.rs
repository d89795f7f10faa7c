//! Our own registry (`bulwark registry serve`) on a free loopback port, for tests with real
//! clients (skopeo, umoci, bulwark sign) and for kill-and-restart tests: bulwark-testkit's,
//! run from this test build's `bulwark` binary.

#![allow(dead_code)]

use std::ops::{Deref, DerefMut};
use std::path::Path;

pub use bulwark_testkit::own_registry::{layout_digest, layout_tag, TOKEN_SECRET};

/// [`bulwark_testkit::OwnRegistry`] started from `CARGO_BIN_EXE_bulwark`.
pub struct OwnRegistry(bulwark_testkit::OwnRegistry);

impl OwnRegistry {
    /// Start with `extra` appended to the generated registry.toml (e.g. `[scan]\ndb = "…"`).
    /// The config always sets `addr`, `data` and `auth.token_secret_file`; put other `[auth]`
    /// keys in `auth_extra`.
    pub fn start(auth_extra: &str, extra: &str) -> OwnRegistry {
        Self::start_with_env(auth_extra, extra, &[])
    }

    /// [`OwnRegistry::start`], with `env` set for the server (and kept across restarts).
    pub fn start_with_env(auth_extra: &str, extra: &str, env: &[(&str, &str)]) -> OwnRegistry {
        let bin = Path::new(env!("CARGO_BIN_EXE_bulwark"));
        OwnRegistry(bulwark_testkit::OwnRegistry::start_with_env(bin, auth_extra, extra, env))
    }
}

impl Deref for OwnRegistry {
    type Target = bulwark_testkit::OwnRegistry;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl DerefMut for OwnRegistry {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

/// skopeo, as `bulwark_testkit::require_tool!("skopeo")` decides: false (after a SKIPPED
/// line) locally without it, a failure under CI. Prefer the macro, which returns by itself.
pub fn have_skopeo() -> bool {
    bulwark_testkit::tool("skopeo").is_some()
}
