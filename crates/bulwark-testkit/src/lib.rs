//! What every crate's tests share: where the shared test data is, the external tools a test
//! needs (and what happens when one is missing), Debian's `docker-registry` and our own
//! registry as processes, the scan oracle's facts, the advisory database built once per run
//! (feature `advisory-db`) and a test Sigstore (feature `keyless`).
//!
//! A missing tool never makes a test pass silently: [`require_tool!`] and friends fail the
//! test when `CI` is set (`.ci/run` sets it and installs every tool), and otherwise print a
//! `SKIPPED <test>: needs …` line on the real stderr (not captured by the test harness), which
//! `.ci/run` counts as skipped.

// Test code: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod docker;
pub mod facts;
pub mod own_registry;
pub mod policies;
pub mod receiver;

#[cfg(feature = "advisory-db")]
mod advisory;
#[cfg(feature = "advisory-db")]
pub use advisory::{advisory_db, copy_advisory_db};

#[cfg(feature = "keyless")]
pub mod sigstore;

pub use docker::{DockerOptions, DockerRegistry};
pub use own_registry::OwnRegistry;

use std::io::Write as _;
use std::path::{Path, PathBuf};

/// The repository (workspace) root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `../shared` beside the repository, or `$BULWARK_SHARED`.
pub fn shared() -> PathBuf {
    std::env::var_os("BULWARK_SHARED").map(PathBuf::from).unwrap_or_else(|| repo().join("../shared"))
}

/// `shared()/SUB`, displayed: for format strings (`const DATA: SharedDir = SharedDir("data");`
/// then `format!("{DATA}/osv")`), where a `&str` constant used to name `../shared`.
#[derive(Clone, Copy, Debug)]
pub struct SharedDir(pub &'static str);

impl std::fmt::Display for SharedDir {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", shared().join(self.0).display())
    }
}

/// A shared image's OCI layout: `shared()/images/NAME/oci`.
pub fn image(name: &str) -> PathBuf {
    shared().join("images").join(name).join("oci")
}

/// Where `.ci/peers.sh` puts the peer binaries (Syft, Trivy).
pub fn peers_bin() -> PathBuf {
    repo().join("target/peers/bin")
}

/// True when every test must run: `CI` is set (and not `false`/`0`), as `.ci/run` does.
pub fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// The running test's name (libtest names each test's thread after it).
pub fn test_name() -> String {
    std::thread::current().name().unwrap_or("<unnamed test>").to_string()
}

/// A test cannot run because `what` is missing. Under CI that is a failure (panics);
/// otherwise it prints `SKIPPED <test>: needs <what> (<hint>)` on the process's real stderr,
/// past the harness's capture, so that the line shows and `.ci/run` can count it.
#[track_caller]
pub fn skip(what: &str, hint: &str) {
    let test = test_name();
    if ci() {
        panic!("{test}: needs {what}, which is missing, and CI is set: .ci/run installs it ({hint})");
    }
    // One write of one line (a pipe keeps it whole), starting on a line of its own even when
    // the harness left `test x ... ` unfinished.
    let line = format!("\nSKIPPED {test}: needs {what} ({hint})\n");
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

/// How to install the tools the tests use.
pub fn install_hint(tool: &str) -> &'static str {
    match tool {
        "skopeo" => "apt-get install skopeo",
        "umoci" => "apt-get install umoci",
        "docker-registry" | "/usr/bin/docker-registry" => "apt-get install docker-registry",
        "htpasswd" => "apt-get install apache2-utils",
        "jq" => "apt-get install jq",
        "openssl" => "apt-get install openssl",
        "check-jsonschema" => "pip install check-jsonschema==0.39.0",
        "pyspdxtools" => "pip install spdx-tools==0.8.5",
        "syft" | "trivy" => "bash .ci/peers.sh",
        _ => "see .ci/run",
    }
}

/// `name` found on `PATH` (an executable file), without running it.
pub fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(name)).find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The tool `name` on `PATH`; when missing, [`skip`] (a panic under CI) and `None`.
/// Prefer [`require_tool!`], which returns from the test.
#[track_caller]
pub fn tool(name: &str) -> Option<PathBuf> {
    let found = find_on_path(name);
    if found.is_none() {
        skip(name, install_hint(name));
    }
    found
}

/// An executable at a fixed path (`/usr/bin/docker-registry`); when missing, [`skip`] with
/// `hint` (a panic under CI) and `None`. Prefer [`require_file!`].
#[track_caller]
pub fn file(path: impl AsRef<Path>, hint: &str) -> Option<PathBuf> {
    let path = path.as_ref();
    if is_executable(path) {
        return Some(path.to_path_buf());
    }
    skip(&path.display().to_string(), hint);
    None
}

/// A peer binary of `.ci/peers.sh` (`syft`, `trivy`) under `target/peers/bin`. Prefer
/// [`require_peer!`].
#[track_caller]
pub fn peer(name: &str) -> Option<PathBuf> {
    file(peers_bin().join(name), install_hint(name))
}

/// The path of tool `$name` on `PATH`, or return from the test: SKIPPED locally, a failure
/// under CI. `let skopeo = require_tool!("skopeo");`
#[macro_export]
macro_rules! require_tool {
    ($name:expr) => {
        match $crate::tool($name) {
            Some(path) => path,
            None => return,
        }
    };
}

/// An executable at a fixed path, or return from the test (see [`require_tool!`]).
/// `require_file!("/usr/bin/docker-registry", "apt-get install docker-registry")`.
#[macro_export]
macro_rules! require_file {
    ($path:expr, $hint:expr) => {
        match $crate::file($path, $hint) {
            Some(path) => path,
            None => return,
        }
    };
}

/// A `.ci/peers.sh` binary (`syft`, `trivy`), or return from the test (see [`require_tool!`]).
#[macro_export]
macro_rules! require_peer {
    ($name:expr) => {
        match $crate::peer($name) {
            Some(path) => path,
            None => return,
        }
    };
}

/// Debian's `docker-registry` started with `$opts` (default: plain HTTP, no auth), or return
/// from the test when it, skopeo (or htpasswd, openssl for the options that need them) is
/// missing: SKIPPED locally, a failure under CI.
#[macro_export]
macro_rules! docker_registry {
    () => {
        $crate::docker_registry!($crate::DockerOptions::default())
    };
    ($opts:expr) => {
        match $crate::DockerRegistry::start($opts) {
            Some(registry) => registry,
            None => return,
        }
    };
}
