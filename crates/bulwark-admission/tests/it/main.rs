#![allow(clippy::unwrap_used, clippy::expect_used)]
//! bulwark-admission on real AdmissionReview bodies from shared data.

mod decide;
mod gate;
mod images;
mod k8s;
mod review;
mod server;
mod verify;
mod watch;

use std::path::PathBuf;

pub fn data(rel: &str) -> PathBuf {
    bulwark_testkit::shared().join("data/admission").join(rel)
}

/// Runs a future to completion on a current-thread runtime (tests call the async API).
pub trait Now: std::future::Future + Sized {
    fn now(self) -> Self::Output {
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(self)
    }
}

impl<F: std::future::Future> Now for F {}

/// Asserts an answer to one of controller-runtime's HTTP edge cases (`it`) is its answer:
/// allowed, uid, status code, apiVersion, kind and message, except the JSON parser's own words
/// (Go's and serde's differ).
pub fn assert_answers_like_controller_runtime(it: &str, expected: &serde_json::Value, got: &serde_json::Value) {
    let (e, g) = (&expected["response"], &got["response"]);
    for k in ["uid", "allowed"] {
        assert_eq!(g[k], e[k], "{it}: {got}");
    }
    assert_eq!(g["status"]["code"], e["status"]["code"], "{it}: {got}");
    assert_eq!((&got["apiVersion"], &got["kind"]), (&expected["apiVersion"], &expected["kind"]), "{it}: {got}");
    let (em, gm) = (e["status"]["message"].as_str(), g["status"]["message"].as_str());
    match em {
        Some(m) if m.starts_with("couldn't get version/kind; json parse error:") => {
            assert!(gm.unwrap().starts_with("couldn't get version/kind; json parse error:"), "{it}: {got}")
        }
        _ => assert_eq!(gm, em, "{it}: {got}"),
    }
}
