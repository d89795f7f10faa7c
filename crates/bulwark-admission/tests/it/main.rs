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
