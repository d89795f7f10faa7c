//! Opening a data directory and serving it: plain HTTP or TLS (rustls), graceful shutdown on
//! SIGINT/SIGTERM, and the background work (advisory DB watch, scheduled retention and GC).

use crate::auth::Auth;
use crate::config::Config;
use crate::meta::{Meta, MetaStore};
use crate::metrics::Metrics;
use crate::scan::Scanner;
use crate::state::{AppState, ClientAddr, Shared};
use crate::storage::{FsStorage, Storage};
use std::collections::HashMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("{path}: {msg}")]
    Data { path: PathBuf, msg: String },
    #[error(transparent)]
    Meta(#[from] crate::meta::MetaError),
    #[error(transparent)]
    Storage(#[from] crate::storage::StorageError),
    #[error(transparent)]
    Auth(#[from] crate::auth::AuthError),
    #[error(transparent)]
    Scan(#[from] crate::scan::ScanError),
    #[error("TLS: {0}")]
    Tls(String),
    #[error("listening on {addr}: {source}")]
    Bind { addr: std::net::SocketAddr, source: std::io::Error },
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// The metadata database of a data directory.
pub fn meta_path(data: &Path) -> PathBuf {
    data.join("meta.db")
}

/// An exclusive lock on the data directory for the server's lifetime: two servers on one
/// local directory would each think their GC lock is the only one.
pub struct DataLock(#[allow(dead_code)] std::fs::File);

pub fn lock_data(data: &Path) -> Result<DataLock, ServerError> {
    std::fs::create_dir_all(data).map_err(|e| ServerError::Data { path: data.into(), msg: e.to_string() })?;
    let p = data.join("server.lock");
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&p)
        .map_err(|e| ServerError::Data { path: p.clone(), msg: e.to_string() })?;
    match f.try_lock() {
        Ok(()) => Ok(DataLock(f)),
        Err(_) => Err(ServerError::Data {
            path: data.into(),
            msg: "another bulwark registry process is using this data directory".into(),
        }),
    }
}

/// Build the shared state for `config` (the data directory must be locked by the caller).
pub async fn open(config: Config) -> Result<Shared, ServerError> {
    let data = config.data.clone();
    let storage: Arc<dyn Storage> = Arc::new(FsStorage::open(&data)?);
    // The embedded default; a PostgreSQL store for several replicas implements the same trait.
    let meta: Arc<dyn MetaStore> = Arc::new(Meta::open(&meta_path(&data))?);
    let auth = Auth::new(config.auth.clone(), meta.as_ref()).await?;
    let scanner = if config.scan.on_push {
        let db = config.scan.db.clone().unwrap_or_else(|| bulwark_vulndb::default_path(None));
        let s = Scanner::new(meta.clone(), storage.clone(), db, Some(data.join("cache")))?;
        // What a stopped server left queued runs now (issue 10, D3).
        match s.resume().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(images = n, "scans queued again after a restart"),
            Err(e) => tracing::error!(error = %e, "re-queueing unfinished scans failed"),
        }
        Some(s)
    } else {
        None
    };
    let tls = config.tls.is_some();
    Ok(Arc::new(AppState {
        config,
        meta,
        storage,
        auth,
        scanner,
        metrics: Metrics::new(),
        gc_lock: tokio::sync::RwLock::new(()),
        tls,
    }))
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down: finishing requests in flight");
}

fn tls_config(cert: &Path, key: &Path) -> Result<rustls::ServerConfig, ServerError> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| ServerError::Tls(format!("{}: {e}", cert.display())))?
        .collect::<Result<_, _>>()
        .map_err(|e| ServerError::Tls(format!("{}: {e}", cert.display())))?;
    if certs.is_empty() {
        return Err(ServerError::Tls(format!("{}: no certificate", cert.display())));
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| ServerError::Tls(format!("{}: {e}", key.display())))?;
    // One provider, chosen here: the rest of the graph (reqwest's rustls) uses ring.
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ServerError::Tls(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| ServerError::Tls(e.to_string()))?;
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(cfg)
}

/// The client a request is from: the peer, or, when the peer is a trusted proxy, the
/// right-most `X-Forwarded-For` address that is not a trusted proxy (the left part of the
/// header is whatever the client wrote, so it is never believed past an untrusted hop).
pub fn client_ip(peer: IpAddr, headers: &axum::http::HeaderMap, trusted: &[ipnet::IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let hops: Vec<&str> =
        headers.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).collect();
    let mut client = peer;
    // Bounded: a header of thousands of hops costs no more than a few dozen parses.
    for hop in hops.iter().rev().take(32) {
        let hop = hop.trim();
        let hop = hop.strip_prefix('[').and_then(|h| h.split(']').next()).unwrap_or(hop);
        let Ok(ip) = hop.parse::<IpAddr>() else { return client };
        client = ip;
        if !is_trusted(&ip) {
            break;
        }
    }
    client
}

/// Open connections, in total and per client address (IPv6 per /64).
#[derive(Default)]
struct ConnCount {
    total: usize,
    per: HashMap<IpAddr, usize>,
}

/// One admitted connection's slot; released on drop.
struct Slot {
    counts: Arc<Mutex<ConnCount>>,
    key: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut c = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        c.total = c.total.saturating_sub(1);
        if let Some(n) = c.per.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                c.per.remove(&self.key);
            }
        }
    }
}

/// Admission of a new connection: `None` (close it at once), or its slot and whether it is
/// in the reserve.
fn admit(counts: &Arc<Mutex<ConnCount>>, lim: &crate::config::Connections, ip: IpAddr) -> Option<(Slot, bool)> {
    let key = crate::auth::client_key(ip);
    let mut c = counts.lock().unwrap_or_else(|p| p.into_inner());
    let mine = c.per.get(&key).copied().unwrap_or(0);
    if c.total >= lim.max || mine >= lim.per_client {
        return None;
    }
    let reserved = c.total >= lim.max.saturating_sub(lim.reserved);
    c.total += 1;
    *c.per.entry(key).or_insert(0) += 1;
    Some((Slot { counts: counts.clone(), key }, reserved))
}

/// What a connection in the reserve may ask: probes, metrics, and anything with credentials.
fn reserve_serves(req: &axum::http::Request<hyper::body::Incoming>) -> bool {
    matches!(req.uri().path(), "/healthz" | "/readyz" | "/metrics")
        || req.headers().contains_key(axum::http::header::AUTHORIZATION)
}

/// When a connection last moved bytes, and how many requests it has in flight and has begun.
struct Activity {
    epoch: Instant,
    last_ms: AtomicU64,
    in_flight: AtomicUsize,
    started: AtomicUsize,
}

impl Activity {
    fn touch(&self) {
        self.last_ms.store(self.epoch.elapsed().as_millis() as u64, Ordering::Relaxed);
    }
    fn idle_for(&self) -> Duration {
        self.epoch.elapsed().saturating_sub(Duration::from_millis(self.last_ms.load(Ordering::Relaxed)))
    }
}

struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
        self.0.touch();
    }
}

/// An I/O stream that records activity, for the idle timeout.
struct Tracked<I> {
    io: I,
    act: Arc<Activity>,
}

impl<I: AsyncRead + Unpin> AsyncRead for Tracked<I> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.io).poll_read(cx, buf);
        if matches!(r, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.act.touch();
        }
        r
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for Tracked<I> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, b: &[u8]) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.io).poll_write(cx, b);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.act.touch();
        }
        r
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.act.touch();
        }
        r
    }
    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// Serve until SIGINT/SIGTERM, then finish requests in flight. Plain HTTP or TLS, with the
/// limits of `[connections]`: header and idle timeouts, a cap in total and per client, and a
/// reserve of connections for probes and clients with credentials.
pub async fn serve(st: Shared, listener: tokio::net::TcpListener) -> Result<(), ServerError> {
    spawn_background(&st);
    let app = crate::router::router(st.clone());
    let acceptor = match &st.config.tls {
        Some(tls) => Some(tokio_rustls::TlsAcceptor::from(Arc::new(tls_config(&tls.cert, &tls.key)?))),
        None => None,
    };
    let lim = st.config.connections.clone();
    let header_timeout = Duration::from_secs(lim.header_timeout_secs.max(1));
    let idle_timeout = Duration::from_secs(lim.idle_timeout_secs.max(1));
    let trusted: Arc<[ipnet::IpNet]> = lim.trusted_proxies.clone().into();
    let mut builder = hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new());
    builder.http1().timer(hyper_util::rt::TokioTimer::new()).header_read_timeout(header_timeout);
    builder.http2().timer(hyper_util::rt::TokioTimer::new());
    let builder = Arc::new(builder);
    let counts = Arc::new(Mutex::new(ConnCount::default()));
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut tasks = tokio::task::JoinSet::new();
    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(c) => c,
                Err(e) => {
                    // Out of file descriptors, most likely: pause rather than spin.
                    tracing::warn!("accept: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let Some((slot, reserved)) = admit(&counts, &lim, peer.ip()) else {
            tracing::debug!(%peer, "connection refused: connection limit");
            drop(tcp);
            continue;
        };
        // No Nagle: a blob answer's head and a small body would otherwise wait on the client's
        // delayed ACK (~40 ms a request).
        let _ = tcp.set_nodelay(true);
        let acceptor = acceptor.clone();
        let app = app.clone();
        let builder = builder.clone();
        let stop = stop_rx.clone();
        let trusted = trusted.clone();
        tasks.spawn(async move {
            let _slot = slot;
            match acceptor {
                None => {
                    serve_conn(tcp, peer, reserved, app, &builder, stop, header_timeout, idle_timeout, trusted).await
                }
                Some(acc) => match tokio::time::timeout(header_timeout, acc.accept(tcp)).await {
                    Ok(Ok(s)) => {
                        serve_conn(s, peer, reserved, app, &builder, stop, header_timeout, idle_timeout, trusted).await
                    }
                    Ok(Err(e)) => tracing::debug!(%peer, "TLS handshake: {e}"),
                    Err(_) => tracing::debug!(%peer, "TLS handshake: timed out"),
                },
            }
        });
        while tasks.try_join_next().is_some() {}
    }
    // Close the listening socket at once: new clients are refused while requests in flight finish.
    drop(listener);
    let _ = stop_tx.send(true);
    let _ = tokio::time::timeout(Duration::from_secs(30), async { while tasks.join_next().await.is_some() {} }).await;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn serve_conn<I>(
    io: I,
    peer: std::net::SocketAddr,
    reserved: bool,
    app: axum::Router,
    builder: &hyper_util::server::conn::auto::Builder<hyper_util::rt::TokioExecutor>,
    mut stop: tokio::sync::watch::Receiver<bool>,
    header_timeout: Duration,
    idle_timeout: Duration,
    trusted: Arc<[ipnet::IpNet]>,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    use tower::ServiceExt as _;
    let act = Arc::new(Activity {
        epoch: Instant::now(),
        last_ms: AtomicU64::new(0),
        in_flight: AtomicUsize::new(0),
        started: AtomicUsize::new(0),
    });
    let svc_act = act.clone();
    let svc = tower::service_fn(move |mut req: axum::http::Request<hyper::body::Incoming>| {
        let app = app.clone();
        let act = svc_act.clone();
        let trusted = trusted.clone();
        async move {
            act.in_flight.fetch_add(1, Ordering::Relaxed);
            act.started.fetch_add(1, Ordering::Relaxed);
            let _guard = InFlight(act);
            let client = client_ip(peer.ip(), req.headers(), &trusted);
            req.extensions_mut().insert(ClientAddr(client));
            if reserved && !reserve_serves(&req) {
                let mut resp = axum::response::Response::new(axum::body::Body::from("server busy: connection limit\n"));
                *resp.status_mut() = axum::http::StatusCode::SERVICE_UNAVAILABLE;
                let h = resp.headers_mut();
                h.insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from_static("1"));
                h.insert(axum::http::header::CONNECTION, axum::http::HeaderValue::from_static("close"));
                return Ok::<_, std::convert::Infallible>(resp);
            }
            app.oneshot(req).await
        }
    });
    let svc = hyper_util::service::TowerToHyperService::new(svc);
    let io = Tracked { io, act: act.clone() };
    let conn = builder.serve_connection_with_upgrades(hyper_util::rt::TokioIo::new(io), svc);
    tokio::pin!(conn);
    let mut tick = tokio::time::interval(Duration::from_millis(250).min(header_timeout / 4));
    loop {
        tokio::select! {
            r = conn.as_mut() => {
                if let Err(e) = r {
                    tracing::debug!(%peer, "connection: {e}");
                }
                return;
            }
            _ = stop.changed() => {
                conn.as_mut().graceful_shutdown();
                let _ = conn.as_mut().await;
                return;
            }
            _ = tick.tick() => {
                if act.in_flight.load(Ordering::Relaxed) > 0 {
                    continue;
                }
                // Before its first request a connection is reading a header (HTTP/2's preface
                // included, which hyper's HTTP/1 timer does not cover); after, it is idle.
                let limit = if act.started.load(Ordering::Relaxed) == 0 { header_timeout } else { idle_timeout };
                if act.idle_for() >= limit || (act.started.load(Ordering::Relaxed) == 0 && act.epoch.elapsed() >= header_timeout) {
                    tracing::debug!(%peer, "connection closed: timed out");
                    return;
                }
            }
        }
    }
}

fn spawn_background(st: &Shared) {
    if let Some(s) = &st.scanner {
        s.spawn_db_watch(Duration::from_secs(st.config.scan.db_poll_secs.max(1)));
    }
    let every = st.config.gc.interval_secs;
    if every > 0 {
        let st = st.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(every));
            tick.tick().await;
            loop {
                tick.tick().await;
                crate::maintenance::scheduled(&st).await;
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::client_ip;
    use axum::http::{HeaderMap, HeaderValue};
    use std::net::IpAddr;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED))
    }

    fn xff(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("x-forwarded-for", HeaderValue::from_str(v).unwrap_or(HeaderValue::from_static("")));
        }
        h
    }

    #[test]
    fn forwarded_client_is_the_rightmost_untrusted_hop() {
        let trusted: Vec<ipnet::IpNet> = ["10.0.0.0/8", "fd00::/8"].iter().filter_map(|n| n.parse().ok()).collect();
        let proxy = ip("10.0.0.5");
        // Untrusted peer: the header is ignored.
        assert_eq!(client_ip(ip("192.0.2.1"), &xff(&["198.51.100.1"]), &trusted), ip("192.0.2.1"));
        // Trusted peer: the right-most address not a trusted proxy, over several headers.
        assert_eq!(client_ip(proxy, &xff(&["6.6.6.6, 198.51.100.1, 10.1.1.1"]), &trusted), ip("198.51.100.1"));
        assert_eq!(client_ip(proxy, &xff(&["6.6.6.6", "198.51.100.2"]), &trusted), ip("198.51.100.2"));
        assert_eq!(client_ip(proxy, &xff(&["[2001:db8::1]"]), &trusted), ip("2001:db8::1"));
        // Every hop trusted: the left-most. No header: the proxy itself.
        assert_eq!(client_ip(proxy, &xff(&["10.2.2.2, 10.1.1.1"]), &trusted), ip("10.2.2.2"));
        assert_eq!(client_ip(proxy, &HeaderMap::new(), &trusted), proxy);
        // Garbage stops the walk at the last good hop, never believed beyond it.
        assert_eq!(client_ip(proxy, &xff(&["198.51.100.3, junk, 10.1.1.1"]), &trusted), ip("10.1.1.1"));
        // Nothing trusted: always the peer.
        assert_eq!(client_ip(proxy, &xff(&["198.51.100.1"]), &[]), proxy);
    }
}
