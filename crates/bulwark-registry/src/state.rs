//! The state every request handler shares, and the client address a request came from.

use crate::config::Config;
use crate::meta::MetaStore;
use crate::metrics::Metrics;
use crate::scan::Scanner;
use crate::storage::Storage;
use std::net::IpAddr;
use std::sync::Arc;

/// Everything a request handler needs.
pub struct AppState {
    pub config: Config,
    pub meta: Arc<dyn MetaStore>,
    pub storage: Arc<dyn Storage>,
    pub auth: crate::auth::Auth,
    pub scanner: Option<Scanner>,
    pub metrics: Metrics,
    /// Held shared while a push checks and records what a manifest references, exclusive
    /// while GC decides what is unreferenced: a push never races a sweep.
    pub gc_lock: tokio::sync::RwLock<()>,
    /// Whether this server speaks TLS (for the token realm it advertises).
    pub tls: bool,
}

pub type Shared = Arc<AppState>;

/// The peer address of the connection a request came on (unspecified when the router runs
/// without [`crate::server::serve`], as in unit tests). Login throttling is keyed by it.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub IpAddr);

impl ClientAddr {
    pub fn of(ext: &axum::http::Extensions) -> IpAddr {
        ext.get::<ClientAddr>().map(|c| c.0).unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED))
    }
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut axum::http::request::Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(ClientAddr::of(&parts.extensions)))
    }
}
