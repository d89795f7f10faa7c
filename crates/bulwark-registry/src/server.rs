//! Opening a data directory and serving it: plain HTTP or TLS (rustls), graceful shutdown on
//! SIGINT/SIGTERM, and the background work (advisory DB watch, scheduled retention and GC).

use crate::api::{AppState, Shared};
use crate::auth::Auth;
use crate::config::Config;
use crate::meta::{Meta, MetaStore};
use crate::metrics::Metrics;
use crate::scan::Scanner;
use crate::storage::{FsStorage, Storage};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

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
pub fn open(config: Config) -> Result<Shared, ServerError> {
    let data = config.data.clone();
    let storage = FsStorage::open(&data)?;
    // The embedded default; a PostgreSQL store for several replicas implements the same trait.
    let meta: Arc<dyn MetaStore> = Arc::new(Meta::open(&meta_path(&data))?);
    let auth = Auth::new(config.auth.clone(), meta.as_ref())?;
    let scanner = if config.scan.on_push {
        let db = config.scan.db.clone().unwrap_or_else(|| bulwark_vulndb::default_path(None));
        let s = Scanner::new(meta.clone(), data.clone(), db, Some(data.join("cache")));
        // What a stopped server left queued runs now (issue 10, D3).
        match s.resume() {
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
        storage: Arc::new(storage),
        auth,
        scanner,
        metrics: Metrics::new(),
        gc_lock: tokio::sync::RwLock::new(()),
        tls,
    }))
}

/// Retention is separate; this collects unreferenced blobs and abandoned uploads.
pub async fn run_gc(st: &AppState, dry_run: bool) -> Result<crate::gc::GcReport, crate::gc::GcError> {
    let opts = crate::gc::GcOptions {
        grace: Duration::from_secs(st.config.gc.grace_secs),
        upload_max_age: Duration::from_secs(st.config.gc.upload_max_age_secs),
        dry_run,
        verify_blobs: st.config.gc.verify_blobs,
    };
    let storage: &dyn Storage = st.storage.as_ref();
    let r = crate::gc::collect(st.meta.as_ref(), storage, &st.gc_lock, &opts).await?;
    st.metrics.gc_blobs_deleted.inc_by(r.blobs_deleted as u64);
    Ok(r)
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

/// Serve until SIGINT/SIGTERM, then finish requests in flight.
pub async fn serve(st: Shared, listener: tokio::net::TcpListener) -> Result<(), ServerError> {
    spawn_background(&st);
    let app = crate::api::router(st.clone());
    let Some(tls) = &st.config.tls else {
        // No Nagle: a blob answer's head and a small body would otherwise wait on the client's
        // delayed ACK (~40 ms a request).
        use axum::serve::ListenerExt;
        let listener = listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        axum::serve(listener, app).with_graceful_shutdown(shutdown_signal()).await?;
        return Ok(());
    };
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls_config(&tls.cert, &tls.key)?));
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut tasks = tokio::task::JoinSet::new();
    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(c) => c,
                Err(e) => { tracing::warn!("accept: {e}"); continue; }
            },
            _ = &mut shutdown => break,
        };
        let _ = tcp.set_nodelay(true);
        let acceptor = acceptor.clone();
        let app = app.clone();
        let mut stop = stop_rx.clone();
        tasks.spawn(async move {
            let stream = match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp)).await {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => {
                    tracing::debug!(%peer, "TLS handshake: {e}");
                    return;
                }
                Err(_) => return,
            };
            let svc = hyper_util::service::TowerToHyperService::new(app);
            let builder = hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new());
            let conn = builder.serve_connection_with_upgrades(hyper_util::rt::TokioIo::new(stream), svc);
            tokio::pin!(conn);
            tokio::select! {
                r = conn.as_mut() => { if let Err(e) = r { tracing::debug!(%peer, "connection: {e}"); } }
                _ = stop.changed() => {
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                }
            }
        });
        while tasks.try_join_next().is_some() {}
    }
    let _ = stop_tx.send(true);
    let _ = tokio::time::timeout(Duration::from_secs(30), async { while tasks.join_next().await.is_some() {} }).await;
    Ok(())
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
                let guard = st.gc_lock.write().await;
                match st.meta.projects() {
                    Ok(projects) => {
                        for p in projects.iter().filter(|p| p.retention.is_some()) {
                            if let Err(e) = crate::retention::apply(st.meta.as_ref(), p, false).await {
                                tracing::warn!(project = p.name, "retention: {e}");
                            }
                        }
                    }
                    Err(e) => tracing::warn!("retention: {e}"),
                }
                drop(guard);
                match run_gc(&st, false).await {
                    Ok(r) => tracing::info!(deleted = r.blobs_deleted, bytes = r.bytes_freed, "gc"),
                    Err(e) => tracing::warn!("gc: {e}"),
                }
            }
        });
    }
}
