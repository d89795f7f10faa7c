//! `bulwark admission serve`: the webhook over HTTPS. POST `/validate` and `/mutate` take an
//! AdmissionReview (v1, or v1beta1 answered in kind) and answer it within a deadline;
//! `/healthz`, `/readyz` (ready once policies are loaded) and `/metrics` (Prometheus).
//!
//! - Every review is answered before `timeout`: a decision not done by then is a denial saying
//!   so (or, with `fail_open`, an allow with a warning: `failurePolicy: Ignore` semantics). The
//!   decision runs on a blocking thread (the policy engine is synchronous and a Rego or CEL
//!   evaluation may run to its own limit), under a bound on concurrent evaluations.
//! - The body is read up to [`MAX_BODY`]; past it the answer is controller-runtime's 413 in
//!   the review (HTTP 200), and nothing more is buffered.
//! - Certificate and key files are re-read when they change; a pair that does not load keeps
//!   the current one. Policy files likewise: a set that does not compile keeps the last good
//!   set; the server never serves none.
//! - `dryRun` requests are decided as any other: a decision has no side effects. (The
//!   admitted-image record of issue 13's watch must skip them when it exists.)

use crate::metrics::{Endpoint, Metrics};
use crate::review::{self, ReviewError, Verdict, MAX_BODY};
use crate::Admission;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http_body_util::BodyExt as _;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::Semaphore;

/// How the server runs.
#[derive(Clone, Debug)]
pub struct Config {
    pub tls_cert: PathBuf,
    pub tls_key: PathBuf,
    /// The deadline of every review (below the webhook's `timeoutSeconds`).
    pub timeout: Duration,
    /// At the deadline (or before policies are loaded): allow with a warning instead of deny.
    pub fail_open: bool,
    /// The files and directories the policy loader reads: a change reloads the policies.
    pub watch: Vec<PathBuf>,
    /// How often the policy and TLS files are checked for changes.
    pub poll: Duration,
    /// Decisions evaluated at once; more wait (within their deadline) for a slot.
    pub max_concurrent: usize,
    pub metrics: Metrics,
}

impl Config {
    pub fn new(tls_cert: PathBuf, tls_key: PathBuf) -> Config {
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        Config {
            tls_cert,
            tls_key,
            timeout: DEFAULT_TIMEOUT,
            fail_open: false,
            watch: Vec::new(),
            poll: Duration::from_secs(2),
            max_concurrent: (cores * 8).max(16),
            metrics: Metrics::new(),
        }
    }
}

/// Request bodies held at once, in KiB: 64 MiB (nine bodies at the 7 MiB limit).
const BODY_BUDGET_KIB: usize = 64 * 1024;

/// `--timeout`'s default: under the `timeoutSeconds: 10` that `admission manifests` writes,
/// so the API server hears our answer rather than its own timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(8);

/// Builds the decision maker from the policy files (called at start and on each change, on a
/// blocking thread); an error names what did not load.
pub type Loader = Arc<dyn Fn() -> Result<Admission, String> + Send + Sync>;

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("TLS: {0}")]
    Tls(String),
    #[error("policies: {0}")]
    Policies(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// The current certificate and key, swapped when the files change. Handshakes read it.
#[derive(Debug)]
pub struct CertResolver {
    current: RwLock<Arc<CertifiedKey>>,
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl CertResolver {
    fn load(cert: &Path, key: &Path) -> Result<CertResolver, ServerError> {
        // One provider, chosen here: the rest of the graph (reqwest's rustls) uses ring.
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let ck = certified_key(cert, key, &provider).map_err(ServerError::Tls)?;
        Ok(CertResolver { current: RwLock::new(Arc::new(ck)), provider })
    }

    /// Re-reads the files; on an error the current pair stays.
    fn reload(&self, cert: &Path, key: &Path) -> Result<(), String> {
        let ck = certified_key(cert, key, &self.provider)?;
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(ck);
        Ok(())
    }
}

impl ResolvesServerCert for CertResolver {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current.read().unwrap_or_else(|p| p.into_inner()).clone())
    }
}

/// A certificate chain and its key from PEM files, checked to belong together.
fn certified_key(cert: &Path, key: &Path, provider: &rustls::crypto::CryptoProvider) -> Result<CertifiedKey, String> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| format!("{}: {e}", cert.display()))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{}: {e}", cert.display()))?;
    if certs.is_empty() {
        return Err(format!("{}: no certificate", cert.display()));
    }
    let der = PrivateKeyDer::from_pem_file(key).map_err(|e| format!("{}: {e}", key.display()))?;
    let signing = provider.key_provider.load_private_key(der).map_err(|e| format!("{}: {e}", key.display()))?;
    let ck = CertifiedKey::new(certs, signing);
    // A half-replaced pair (new certificate, old key) must not be served.
    ck.keys_match().map_err(|e| format!("{} and {}: {e}", cert.display(), key.display()))?;
    Ok(ck)
}

fn tls_config(resolver: Arc<CertResolver>) -> Result<rustls::ServerConfig, ServerError> {
    let mut cfg = rustls::ServerConfig::builder_with_provider(resolver.provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| ServerError::Tls(e.to_string()))?
        .with_no_client_auth()
        .with_cert_resolver(resolver);
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(cfg)
}

struct AppState {
    admission: RwLock<Option<Arc<Admission>>>,
    metrics: Metrics,
    timeout: Duration,
    fail_open: bool,
    permits: Arc<Semaphore>,
    /// KiB of request bodies held at once, over all requests: many large bodies at once wait
    /// (within their deadline) rather than grow memory without bound.
    body_budget: Arc<Semaphore>,
}

impl AppState {
    fn current(&self) -> Option<Arc<Admission>> {
        self.admission.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn set(&self, a: Admission) {
        self.metrics.set_policies(a.policies.len());
        *self.admission.write().unwrap_or_else(|p| p.into_inner()) = Some(Arc::new(a));
    }
}

type Shared = Arc<AppState>;

/// The HTTP routes (no TLS): for the server below, and for tests through `tower::ServiceExt`.
fn router(st: Shared) -> axum::Router {
    axum::Router::new()
        .route("/validate", post(|s: State<Shared>, r: Request| handle(s, r, Endpoint::Validate)))
        .route("/mutate", post(|s: State<Shared>, r: Request| handle(s, r, Endpoint::Mutate)))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(st)
}

async fn readyz(State(st): State<Shared>) -> Response {
    if st.current().is_some() {
        "ok\n".into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "policies not loaded yet\n").into_response()
    }
}

async fn metrics(State(st): State<Shared>) -> Response {
    let mut resp = st.metrics.render().into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    resp
}

/// A JSON answer (HTTP 200 in every case, as controller-runtime answers: the API server reads
/// the outcome from the review).
fn json(v: &serde_json::Value) -> Response {
    let mut body = serde_json::to_vec(v).unwrap_or_default();
    body.push(b'\n');
    let mut resp = Response::new(Body::from(body));
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp
}

async fn handle(State(st): State<Shared>, req: Request, endpoint: Endpoint) -> Response {
    let start = Instant::now();
    let deadline = tokio::time::Instant::from_std(start + st.timeout);
    let content_type =
        req.headers().get(header::CONTENT_TYPE).map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let fail = |e: ReviewError| {
        st.metrics.error(endpoint, e.code(), start.elapsed().as_secs_f64());
        json(&review::error_response(&e))
    };
    let mut incoming = req.into_body();
    // Read up to MAX_BODY: an endless body is never buffered past it.
    let mut body = Vec::new();
    let mut held: Option<tokio::sync::OwnedSemaphorePermit> = None;
    loop {
        match tokio::time::timeout_at(deadline, incoming.frame()).await {
            Ok(None) => break,
            Ok(Some(Ok(frame))) => {
                let Ok(data) = frame.into_data() else { continue };
                if body.len() + data.len() > MAX_BODY {
                    drain(incoming);
                    return fail(ReviewError::TooLarge);
                }
                // Paid for before it is kept (whole KiB; a frame is at most MAX_BODY here).
                let kib = u32::try_from(data.len().div_ceil(1024)).unwrap_or(u32::MAX);
                match tokio::time::timeout_at(deadline, st.body_budget.clone().acquire_many_owned(kib)).await {
                    Ok(Ok(p)) => match held.as_mut() {
                        Some(h) => h.merge(p),
                        None => held = Some(p),
                    },
                    Ok(Err(_)) | Err(_) => {
                        return fail(ReviewError::Shape(format!(
                            "the request body was not read within {:?}: the server is reading many large bodies",
                            st.timeout
                        )))
                    }
                }
                body.extend_from_slice(&data);
            }
            Ok(Some(Err(e))) => return fail(ReviewError::Shape(format!("reading the request body: {e}"))),
            Err(_) => {
                return fail(ReviewError::Shape(format!("the request body was not read within {:?}", st.timeout)))
            }
        }
    }
    let parsed = match review::read_http(content_type.as_deref(), &body) {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    drop(body);
    drop(held);
    let (verdict, result) = decide(&st, endpoint, &parsed, deadline).await;
    st.metrics.review(endpoint, result, start.elapsed().as_secs_f64(), &verdict.results);
    json(&review::response(&parsed, &verdict))
}

/// Reads and discards what follows an over-large body (at most another [`MAX_BODY`]), then
/// holds the connection unread until two seconds have passed, while the 413 answer is
/// written: an HTTP/1.1 client still sending would otherwise meet a reset connection before
/// reading the answer. Go's server discards and lingers likewise; memory stays bounded (the
/// kernel's buffers), and an endless sender is simply blocked.
fn drain(mut body: Body) {
    tokio::spawn(async move {
        let until = tokio::time::Instant::now() + Duration::from_secs(2);
        let mut left = MAX_BODY;
        let _ = tokio::time::timeout_at(until, async {
            while let Some(Ok(frame)) = body.frame().await {
                let n = frame.data_ref().map_or(0, |d| d.len());
                left = match left.checked_sub(n) {
                    Some(l) => l,
                    None => break,
                };
            }
        })
        .await;
        tokio::time::sleep_until(until).await;
        drop(body);
    });
}

/// The verdict and its metrics result (`allowed`, `denied`, `timeout`, `error`).
async fn decide(
    st: &AppState,
    endpoint: Endpoint,
    parsed: &review::Review,
    deadline: tokio::time::Instant,
) -> (Verdict, &'static str) {
    let Some(admission) = st.current() else {
        return (fallback(st.fail_open, "the policies are not loaded yet"), "error");
    };
    // Waiting for a slot counts against the deadline. The slot goes with the evaluation, so
    // one that outlives its deadline still holds it: runaway evaluations bound themselves.
    let permit = match tokio::time::timeout_at(deadline, st.permits.clone().acquire_owned()).await {
        Ok(Ok(p)) => p,
        Ok(Err(_)) => return (fallback(st.fail_open, "the server is shutting down"), "error"),
        Err(_) => return (deadline_verdict(st), "timeout"),
    };
    let rt = tokio::runtime::Handle::current();
    let r = parsed.clone();
    let task = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        rt.block_on(async {
            match endpoint {
                Endpoint::Validate => admission.decide(&r).await,
                Endpoint::Mutate => admission.mutate(&r).await,
            }
        })
    });
    match tokio::time::timeout_at(deadline, task).await {
        Ok(Ok(v)) => {
            let result = if v.allowed { "allowed" } else { "denied" };
            (v, result)
        }
        Ok(Err(e)) => {
            tracing::error!(uid = %parsed.uid, "the decision failed: {e}");
            st.metrics.error(endpoint, 500, 0.0);
            (fallback(st.fail_open, "internal error while deciding"), "error")
        }
        Err(_) => {
            tracing::warn!(uid = %parsed.uid, timeout = ?st.timeout, "no decision within the deadline");
            (deadline_verdict(st), "timeout")
        }
    }
}

fn deadline_verdict(st: &AppState) -> Verdict {
    fallback(st.fail_open, &format!("no decision within the {:?} deadline (--timeout)", st.timeout))
}

/// Denied saying why, or with `fail_open` allowed with the reason as a warning.
fn fallback(fail_open: bool, why: &str) -> Verdict {
    if fail_open {
        Verdict {
            allowed: true,
            warnings: vec![format!("bulwark admission: {why}; allowed (--fail-open)")],
            ..Default::default()
        }
    } else {
        Verdict { allowed: false, message: format!("bulwark admission: {why}; denied"), ..Default::default() }
    }
}

/// What a set of paths looks like now (path, size, modification time of every file under
/// them), to notice a change by polling. Symlinks are followed (Kubernetes swaps the `..data`
/// link of a mounted Secret or ConfigMap); the walk is bounded.
fn fingerprint(paths: &[PathBuf]) -> Vec<(PathBuf, u64, Option<SystemTime>)> {
    const MAX_ENTRIES: usize = 10_000;
    let mut out = Vec::new();
    let mut stack: Vec<(PathBuf, usize)> = paths.iter().map(|p| (p.clone(), 0)).collect();
    while let Some((p, depth)) = stack.pop() {
        if out.len() >= MAX_ENTRIES {
            break;
        }
        match std::fs::metadata(&p) {
            Ok(m) if m.is_dir() && depth < 16 => {
                out.push((p.clone(), 0, m.modified().ok()));
                if let Ok(rd) = std::fs::read_dir(&p) {
                    stack.extend(rd.flatten().map(|e| (e.path(), depth + 1)));
                }
            }
            Ok(m) => out.push((p, m.len(), m.modified().ok())),
            Err(_) => out.push((p, u64::MAX, None)),
        }
    }
    out.sort();
    out
}

/// Polls the TLS and policy files and reloads what changed.
async fn watch(st: Shared, cfg: Config, resolver: Arc<CertResolver>, loader: Loader) {
    let tls_files = vec![cfg.tls_cert.clone(), cfg.tls_key.clone()];
    let mut tls_seen = fingerprint(&tls_files);
    let mut policies_seen = fingerprint(&cfg.watch);
    let mut tick = tokio::time::interval(cfg.poll.max(Duration::from_millis(100)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tick.tick().await;
        let now = fingerprint(&tls_files);
        if now != tls_seen {
            // Remembered even when the pair does not load: the next write (say, the key after
            // the certificate) is a change again.
            tls_seen = now;
            match resolver.reload(&cfg.tls_cert, &cfg.tls_key) {
                Ok(()) => {
                    tracing::info!("TLS certificate reloaded");
                    st.metrics.reload("tls", true);
                }
                Err(e) => {
                    tracing::error!("TLS reload failed, keeping the current certificate: {e}");
                    st.metrics.reload("tls", false);
                }
            }
        }
        let now = fingerprint(&cfg.watch);
        if now != policies_seen {
            policies_seen = now;
            let l = loader.clone();
            match tokio::task::spawn_blocking(move || l()).await {
                Ok(Ok(a)) => {
                    tracing::info!(policies = a.policies.len(), "policies reloaded");
                    st.set(a);
                    st.metrics.reload("policies", true);
                }
                Ok(Err(e)) => {
                    tracing::error!("policy reload failed, keeping the last good set: {e}");
                    st.metrics.reload("policies", false);
                }
                Err(e) => {
                    tracing::error!("policy reload failed, keeping the last good set: {e}");
                    st.metrics.reload("policies", false);
                }
            }
        }
    }
}

/// SIGTERM or SIGINT.
pub async fn shutdown_signal() {
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
}

/// Serves on `listener` until `shutdown` completes, then finishes the reviews in flight (at
/// most one deadline). Policies load in the background (`/readyz` says when); a first set
/// that does not load ends the server with the error: it never serves none.
pub async fn serve(
    cfg: Config,
    loader: Loader,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ServerError> {
    let resolver = Arc::new(CertResolver::load(&cfg.tls_cert, &cfg.tls_key)?);
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls_config(resolver.clone())?));
    let st: Shared = Arc::new(AppState {
        admission: RwLock::new(None),
        metrics: cfg.metrics.clone(),
        timeout: cfg.timeout,
        fail_open: cfg.fail_open,
        permits: Arc::new(Semaphore::new(cfg.max_concurrent.max(1))),
        body_budget: Arc::new(Semaphore::new(BODY_BUDGET_KIB)),
    });
    let app = router(st.clone());
    let l = loader.clone();
    let mut first_load = tokio::task::spawn_blocking(move || l());
    let mut loaded = false;
    let mut watcher: Option<tokio::task::JoinHandle<()>> = None;
    let handshake_timeout = Duration::from_secs(10);
    let mut builder = hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new());
    builder.http1().timer(hyper_util::rt::TokioTimer::new()).header_read_timeout(handshake_timeout);
    builder.http2().timer(hyper_util::rt::TokioTimer::new());
    let builder = Arc::new(builder);
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut tasks = tokio::task::JoinSet::new();
    tokio::pin!(shutdown);
    let result = loop {
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
            r = &mut first_load, if !loaded => {
                loaded = true;
                match r {
                    Ok(Ok(a)) => {
                        tracing::info!(policies = a.policies.len(), "policies loaded; ready");
                        st.set(a);
                        st.metrics.reload("policies", true);
                        watcher = Some(tokio::spawn(watch(st.clone(), cfg.clone(), resolver.clone(), loader.clone())));
                        continue;
                    }
                    Ok(Err(e)) => break Err(ServerError::Policies(e)),
                    Err(e) => break Err(ServerError::Policies(e.to_string())),
                }
            }
            _ = &mut shutdown => break Ok(()),
        };
        // No Nagle: a small answer would otherwise wait on the client's delayed ACK.
        let _ = tcp.set_nodelay(true);
        let acceptor = acceptor.clone();
        let app = app.clone();
        let builder = builder.clone();
        let mut stop = stop_rx.clone();
        tasks.spawn(async move {
            let tls = match tokio::time::timeout(handshake_timeout, acceptor.accept(tcp)).await {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => return tracing::debug!(%peer, "TLS handshake: {e}"),
                Err(_) => return tracing::debug!(%peer, "TLS handshake: timed out"),
            };
            let svc = hyper_util::service::TowerToHyperService::new(app);
            let conn = builder.serve_connection(hyper_util::rt::TokioIo::new(tls), svc);
            tokio::pin!(conn);
            tokio::select! {
                r = conn.as_mut() => {
                    if let Err(e) = r {
                        tracing::debug!(%peer, "connection: {e}");
                    }
                }
                _ = stop.changed() => {
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.as_mut().await;
                }
            }
        });
        while tasks.try_join_next().is_some() {}
    };
    // Close the listening socket at once; requests in flight finish (each within its deadline).
    drop(listener);
    if let Some(w) = watcher {
        w.abort();
    }
    first_load.abort();
    let _ = stop_tx.send(true);
    let grace = cfg.timeout + Duration::from_secs(2);
    if tokio::time::timeout(grace, async { while tasks.join_next().await.is_some() {} }).await.is_err() {
        tracing::warn!("connections still open after {grace:?}: closed");
    }
    tracing::info!("stopped");
    result
}
