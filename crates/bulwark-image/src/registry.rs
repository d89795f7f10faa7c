//! Pulling an image from a registry over the OCI distribution API.
//!
//! `oci-client` does the talking: the `/v2/` probe, the WWW-Authenticate challenge (HTTP basic
//! or a bearer token from the registry's token service) and the blob downloads. Manifests are
//! fetched with a plain GET carrying the credential oci-client negotiated, because oci-client
//! 0.15 reads a manifest body whole with no size cap and a hostile registry could send
//! gigabytes. Blobs are streamed to a temporary directory laid out as `blobs/<algorithm>/<hex>`,
//! hashed and counted as they arrive, and the image is then resolved exactly as an OCI layout
//! directory is (so layers are checked a second time while they are read).
//!
//! Transport: HTTPS with verified certificates unless `insecure` is set, which allows HTTPS
//! without certificate checks or, where the registry does not speak TLS, plain HTTP. Unlike
//! Docker there is no silent exception for `localhost`: a local plain-HTTP registry needs
//! `insecure` too.
//!
//! Credentials come from a Docker `config.json` (`auths`), never from credential helpers
//! (see [`bulwark_oci::credentials`]).

use crate::error::{ImageError, Result};
use crate::source::{self, BlobLocation, DirBlobs, ResolvedImage};
use crate::spec::{self, Index, Manifest, Platform};
use base64::Engine as _;
use bulwark_catalog::SourceInfo;
use bulwark_oci::credentials::{self, Auth};
use bulwark_oci::media_type;
use bulwark_oci::{Descriptor, Digest};
use futures_util::{StreamExt, TryStreamExt};
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::OciDistributionError;
use oci_client::manifest::OciDescriptor;
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference, RegistryOperation};
use serde::Deserialize;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::io::AsyncWriteExt;

/// Manifests and indexes are small; anything bigger is hostile.
const MAX_MANIFEST: u64 = 8 << 20;
/// Error bodies are only read for their message.
const MAX_ERROR_BODY: usize = 64 << 10;
/// A token service's answer: a JWT of a few KiB in a small JSON object.
const MAX_TOKEN_RESPONSE: u64 = 1 << 20;
/// Platforms named in a "no image for platform" error: real indexes have a handful.
const MAX_PLATFORMS_SHOWN: usize = 32;
/// Layers downloaded at once: enough to fill a link, few enough to be polite to the registry.
const CONCURRENT_DOWNLOADS: usize = 3;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest silence in the middle of a response.
const READ_TIMEOUT: Duration = Duration::from_secs(120);
const USER_AGENT: &str = concat!("bulwark/", env!("CARGO_PKG_VERSION"));

const ACCEPT: [&str; 4] =
    [media_type::OCI_INDEX, media_type::OCI_MANIFEST, media_type::DOCKER_LIST, media_type::DOCKER_MANIFEST];

#[derive(Clone, Default)]
pub struct PullOptions {
    /// `OS/ARCH[/VARIANT]` to pick from a multi-platform index; default `linux/<host arch>`.
    pub platform: Option<String>,
    /// Unverified TLS, or plain HTTP where the registry has no TLS; only when the user asks.
    pub insecure: bool,
    /// A progress bar on stderr for the download.
    pub progress: bool,
    /// A Docker `config.json` (or the directory holding one, or a Kubernetes
    /// `.dockerconfigjson`) to take credentials from, instead of `$DOCKER_CONFIG/config.json`
    /// or `~/.docker/config.json`.
    pub docker_config: Option<PathBuf>,
    /// Layers the caller already holds (the layer cache), asked with (blob digest, diff id):
    /// those are not downloaded at all, so a re-scan fetches only the manifest and config.
    pub have_layer: Option<HaveLayer>,
}

impl std::fmt::Debug for PullOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PullOptions")
            .field("platform", &self.platform)
            .field("insecure", &self.insecure)
            .field("progress", &self.progress)
            .field("docker_config", &self.docker_config)
            .field("have_layer", &self.have_layer.is_some())
            .finish()
    }
}

/// See [`PullOptions::have_layer`].
pub type HaveLayer = std::sync::Arc<dyn Fn(&Digest, &Digest) -> bool + Send + Sync>;

/// Blobs in the download directory; layers the caller already holds are located as
/// [`BlobLocation::NotFetched`] rather than reported missing.
struct PulledBlobs {
    dir: DirBlobs,
    skipped: std::collections::HashSet<Digest>,
}

impl source::BlobSource for PulledBlobs {
    fn locate(&self, digest: &Digest) -> Result<BlobLocation> {
        if self.skipped.contains(digest) {
            return Ok(BlobLocation::NotFetched(digest.clone()));
        }
        self.dir.locate(digest)
    }
}

/// Pull `reference` (`[registry/]repository[:tag][@sha256:…]`, Docker Hub by default) into a
/// temporary directory and resolve it for reading.
pub fn pull(reference: &str, opts: &PullOptions) -> Result<ResolvedImage> {
    let want = match opts.platform.as_deref() {
        Some(p) => Platform::parse(p)
            .ok_or_else(|| ImageError::invalid(format!("--platform {p:?}: expected OS/ARCH[/VARIANT]")))?,
        None => source::default_platform(),
    };
    let parsed: Reference =
        reference.parse().map_err(|e| ImageError::invalid(format!("{reference:?} is not an image reference: {e}")))?;
    // Checked before any request: a digest also names a file in the download directory.
    let pinned = parsed.digest().map(Digest::parse).transpose()?;
    let creds = credentials(parsed.registry(), opts.docker_config.as_deref())?;

    let dir = tempfile::Builder::new()
        .prefix("bulwark-pull-")
        .tempdir()
        .map_err(|e| ImageError::io(std::env::temp_dir(), e))?;
    let blob_dir = dir.path().join("blobs");
    std::fs::create_dir_all(&blob_dir).map_err(|e| ImageError::io(&blob_dir, e))?;

    let job = Job {
        reference: parsed.clone(),
        pinned,
        creds,
        want: want.clone(),
        insecure: opts.insecure,
        progress: opts.progress,
        blob_dir,
        have_layer: opts.have_layer.clone(),
    };
    let fetched = run(job)?;

    let info = SourceInfo {
        kind: "registry".into(),
        input: reference.into(),
        name: Some(parsed.whole()),
        ..Default::default()
    };
    let blobs =
        PulledBlobs { dir: DirBlobs(dir.path().to_path_buf()), skipped: fetched.skipped.iter().cloned().collect() };
    let (mut info, layers) = source::layers_from_manifest(&blobs, &fetched.manifest, &fetched.digest, info)?;
    if info.platform.is_none() {
        info.platform = fetched.platform.as_ref().map(Platform::to_string);
    }
    if opts.platform.is_some() && fetched.platform.is_none() {
        // A single-platform image: Docker runs it anyway (with a warning), and so do we.
        if let Some(got) = info.platform.as_deref().and_then(Platform::parse) {
            if !got.matches(&want) {
                tracing::warn!("{reference} is a single-platform image for {got}, not {want} as --platform asks");
            }
        }
    }
    Ok(ResolvedImage { info, layers, _keep: Some(dir) })
}

/// An SBOM a Bulwark registry already holds for `reference` (built when it was pushed), from
/// its `/api/v1/sbom`: matching it needs no layer download. `None` when the registry is not
/// one of ours, has not scanned the image, or answers anything unexpected: the caller then
/// pulls. A pinned digest must be the one the SBOM describes.
pub fn stored_sbom(reference: &str, opts: &PullOptions) -> Result<Option<bulwark_catalog::Inventory>> {
    let pinned = pinned_digest(reference)?;
    let Some(body) = stored(reference, opts, "/api/v1/sbom")? else { return Ok(None) };
    let Ok(mut inv) = serde_json::from_slice::<bulwark_catalog::Inventory>(&body) else { return Ok(None) };
    if pinned.as_deref().is_some_and(|p| inv.source.manifest_digest.as_deref() != Some(p)) {
        return Ok(None);
    }
    inv.source.input = reference.to_string();
    Ok(Some(inv))
}

/// The scan a Bulwark registry stored for `reference` (scan-on-push: `/api/v1/scan`, with
/// `status`, `digest`, `db_built`, `summary` and the `report`), or `None` when the registry
/// is not one of ours, has not scanned the image, or answers anything unexpected. A pinned
/// digest must be the one the scan is of.
pub fn stored_scan(reference: &str, opts: &PullOptions) -> Result<Option<serde_json::Value>> {
    let pinned = pinned_digest(reference)?;
    let Some(body) = stored(reference, opts, "/api/v1/scan")? else { return Ok(None) };
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(&body) else { return Ok(None) };
    if pinned.as_deref().is_some_and(|p| v["digest"].as_str() != Some(p)) {
        return Ok(None);
    }
    Ok(Some(v))
}

fn pinned_digest(reference: &str) -> Result<Option<String>> {
    let parsed: Reference =
        reference.parse().map_err(|e| ImageError::invalid(format!("{reference:?} is not an image reference: {e}")))?;
    Ok(parsed.digest().map(str::to_string))
}

/// GET `path` of the registry `reference` names, with `repository` and `reference` query
/// parameters and the registry's credentials: the body of a 200, else `None`.
fn stored(reference: &str, opts: &PullOptions, path: &'static str) -> Result<Option<Vec<u8>>> {
    let parsed: Reference =
        reference.parse().map_err(|e| ImageError::invalid(format!("{reference:?} is not an image reference: {e}")))?;
    let creds = credentials(parsed.registry(), opts.docker_config.as_deref())?;
    let host = parsed.resolve_registry().to_string();
    let repo = parsed.repository().to_string();
    let want = parsed.digest().or(parsed.tag()).map(str::to_string).unwrap_or_else(|| "latest".into());
    let insecure = opts.insecure;
    let fetch = async move {
        let http = reqwest::Client::builder()
            .danger_accept_invalid_certs(insecure)
            .https_only(!insecure)
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(60))
            .user_agent(USER_AGENT)
            .build()
            .map_err(|e| ImageError::Registry(format!("setting up the HTTP client: {}", chain(&e))))?;
        let mut schemes = vec!["https"];
        if insecure {
            schemes.push("http");
        }
        for scheme in schemes {
            let mut req = http
                .get(format!("{scheme}://{host}{path}"))
                .query(&[("repository", repo.as_str()), ("reference", want.as_str())]);
            match &creds.auth {
                RegistryAuth::Basic(u, p) => req = req.basic_auth(u, Some(p)),
                RegistryAuth::Bearer(t) => req = req.bearer_auth(t),
                RegistryAuth::Anonymous => {}
            }
            let Ok(mut resp) = req.send().await else { continue };
            if resp.status() != reqwest::StatusCode::OK {
                return Ok(None);
            }
            let mut body = Vec::new();
            while let Ok(Some(c)) = resp.chunk().await {
                body.extend_from_slice(&c);
                if body.len() > MAX_STORED_SBOM {
                    return Ok(None);
                }
            }
            return Ok(Some(body));
        }
        Ok(None)
    };
    // Any failure here only means the caller reads the image itself.
    Ok(block_on_own_runtime(fetch).ok().flatten())
}

/// An inventory of a large image is a few MiB of JSON.
const MAX_STORED_SBOM: usize = 256 << 20;

struct Job {
    reference: Reference,
    pinned: Option<Digest>,
    creds: Credentials,
    want: Platform,
    insecure: bool,
    progress: bool,
    blob_dir: PathBuf,
    have_layer: Option<HaveLayer>,
}

/// What the download leaves for [`source::layers_from_manifest`].
struct Fetched {
    manifest: Manifest,
    digest: Digest,
    /// The platform the index entry named, when the reference was a multi-platform index.
    platform: Option<Platform>,
    /// Layer blobs not downloaded because the caller already holds them.
    skipped: Vec<Digest>,
}

/// Run the async pull on a runtime of its own (the rest of the crate is synchronous).
fn run(job: Job) -> Result<Fetched> {
    block_on_own_runtime(fetch(job))
}

/// Run `fut` on a current-thread runtime of its own, on a thread of its own when the caller is
/// itself async (blocking on a runtime from inside another one panics).
fn block_on_own_runtime<T: Send + 'static>(fut: impl Future<Output = Result<T>> + Send + 'static) -> Result<T> {
    let go = move || -> Result<T> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| ImageError::Registry(format!("starting the async runtime: {e}")))?;
        // Spawned, so that a panic deep in the HTTP stack on a malformed answer ends this
        // request with an error instead of the process.
        let task = rt.spawn(fut);
        match rt.block_on(task) {
            Ok(result) => result,
            Err(e) => Err(ImageError::Registry(format!("the registry client failed: {e}"))),
        }
    };
    if tokio::runtime::Handle::try_current().is_ok() {
        std::thread::spawn(go)
            .join()
            .unwrap_or_else(|_| Err(ImageError::Registry("the registry client thread panicked".into())))
    } else {
        go()
    }
}

async fn fetch(job: Job) -> Result<Fetched> {
    let reg = Remote::connect(&job).await?;

    // The reference's manifest: by digest when pinned, else by tag.
    let top = job.reference.digest().or(job.reference.tag()).unwrap_or("latest").to_string();
    let mut got = reg.manifest(&top, MAX_MANIFEST).await?;
    let mut digest = Digest::of_bytes(&got.body);
    if let Some(pinned) = &job.pinned {
        digest = pinned.algorithm().digest(&got.body);
        if &digest != pinned {
            return Err(ImageError::DigestMismatch { digest: pinned.to_string(), actual: digest.to_string() });
        }
    } else if let Some(named) = got.digest_header.as_deref().and_then(|h| Digest::parse(h).ok()) {
        // Checked with the algorithm the registry named; the image is still known by its sha256.
        if !named.matches(&got.body) {
            let named = named.as_str();
            return Err(ImageError::Registry(format!(
                "{}: the registry named manifest {} but sent content hashing to {digest}",
                reg.host,
                clean(named, 80)
            )));
        }
    }

    // Follow index → manifest for the wanted platform.
    let mut platform = None;
    let mut depth = 0;
    while manifest_kind(&got.body, got.content_type.as_deref(), &format!("manifest {digest}"))? == Kind::Index {
        depth += 1;
        if depth > 4 {
            return Err(ImageError::invalid(format!("{}: indexes nested more than 4 deep", job.reference)));
        }
        let index: Index =
            serde_json::from_slice(&got.body).map_err(|e| ImageError::json(format!("index {digest}"), e))?;
        let desc = choose_platform(&index, &job.want, &format!("{} (index {digest})", job.reference))?;
        let child = desc.digest.clone();
        let size = desc.size;
        if size > MAX_MANIFEST {
            return Err(ImageError::invalid(format!(
                "index {digest} declares manifest {child} of {size} bytes, more than {MAX_MANIFEST}"
            )));
        }
        got = reg.manifest(child.as_str(), MAX_MANIFEST).await?;
        let actual = child.algorithm().digest(&got.body);
        if actual != child {
            return Err(ImageError::DigestMismatch { digest: child.to_string(), actual: actual.to_string() });
        }
        if desc.size > 0 && got.body.len() as u64 != size {
            return Err(ImageError::SizeMismatch {
                digest: child.to_string(),
                expected: size,
                actual: got.body.len() as u64,
            });
        }
        platform = desc.platform.clone();
        digest = child;
    }
    let manifest: Manifest =
        serde_json::from_slice(&got.body).map_err(|e| ImageError::json(format!("manifest {digest}"), e))?;
    let config_type = manifest.config.media_type.as_str();
    if !config_type.is_empty()
        && config_type != "application/vnd.oci.image.config.v1+json"
        && config_type != "application/vnd.docker.container.image.v1+json"
    {
        return Err(ImageError::Unsupported(format!(
            "{}: manifest {digest} is an artifact with config type {}, not a container image",
            job.reference,
            clean(config_type, 120)
        )));
    }

    // Every readable layer the caller does not hold, each blob once.
    let mut blobs: Vec<Blob> = Vec::new();
    let config = Blob::from_descriptor(&manifest.config)?;
    if config.size > MAX_MANIFEST {
        return Err(ImageError::invalid(format!(
            "config {} declares {} bytes, more than {MAX_MANIFEST}",
            config.digest, config.size
        )));
    }
    // The config first: its diff ids tell which layers the caller already holds.
    let config_digest = config.digest.clone();
    reg.download_all(std::slice::from_ref(&config), &job.blob_dir, false).await?;
    let diff_ids: Vec<Digest> = match &job.have_layer {
        Some(_) => {
            let path = blob_path(&job.blob_dir, &config_digest);
            let bytes = credentials::read_bounded(&path, MAX_MANIFEST).map_err(|e| ImageError::io(&path, e))?;
            let config: spec::ImageConfig =
                serde_json::from_slice(&bytes).map_err(|e| ImageError::json(format!("config {config_digest}"), e))?;
            config.rootfs.diff_ids.iter().map(|d| Digest::parse(d)).collect::<std::result::Result<_, _>>()?
        }
        None => Vec::new(),
    };
    let mut skipped = Vec::new();
    // A set beside the list: a manifest may list tens of thousands of layers.
    let mut listed = std::collections::HashSet::new();
    let layer_descs = manifest.layers.iter().filter(|d| media_type::is_layer(&d.media_type));
    for (i, d) in layer_descs.enumerate() {
        let b = Blob::from_descriptor(d)?;
        let held = match (&job.have_layer, diff_ids.get(i)) {
            (Some(have), Some(diff_id)) => have(&b.digest, diff_id),
            _ => false,
        };
        if held {
            skipped.push(b.digest);
        } else if listed.insert(b.digest.clone()) {
            blobs.push(b);
        }
    }
    reg.download_all(&blobs, &job.blob_dir, job.progress).await?;
    Ok(Fetched { manifest, digest, platform, skipped })
}

/// A blob to download, with the digest and exact size the manifest declares.
struct Blob {
    digest: Digest,
    size: u64,
    media_type: String,
}

impl Blob {
    fn from_descriptor(d: &Descriptor) -> Result<Blob> {
        // Sizes are required (the descriptor does not parse without one) and bound the download.
        Ok(Blob { digest: d.digest.clone(), size: d.size, media_type: d.media_type.clone() })
    }
}

/// A manifest as the registry sent it.
struct Fetch {
    body: Vec<u8>,
    content_type: Option<String>,
    digest_header: Option<String>,
}

/// One registry and repository, authenticated.
struct Remote<'a> {
    job: &'a Job,
    client: Client,
    http: reqwest::Client,
    /// `Authorization` header value for manifest requests.
    authorization: Option<String>,
    host: String,
    base: String,
}

impl<'a> Remote<'a> {
    async fn connect(job: &'a Job) -> Result<Remote<'a>> {
        let host = job.reference.resolve_registry().to_string();
        let http = reqwest::Client::builder()
            .danger_accept_invalid_certs(job.insecure)
            .https_only(!job.insecure)
            .connect_timeout(CONNECT_TIMEOUT)
            .read_timeout(READ_TIMEOUT)
            .user_agent(USER_AGENT)
            .build()
            .map_err(|e| ImageError::Registry(format!("setting up the HTTP client: {}", chain(&e))))?;
        // Insecure, as Docker treats an insecure registry: HTTPS without certificate checks
        // where the registry speaks TLS (a self-signed certificate), else plain HTTP.
        let tls = !job.insecure || http.get(format!("https://{host}/v2/")).send().await.is_ok();
        let config = ClientConfig {
            protocol: if tls { ClientProtocol::Https } else { ClientProtocol::Http },
            accept_invalid_certificates: job.insecure,
            // The platform is chosen here, with an error that lists what the index has.
            platform_resolver: None,
            connect_timeout: Some(CONNECT_TIMEOUT),
            read_timeout: Some(READ_TIMEOUT),
            user_agent: USER_AGENT,
            ..Default::default()
        };
        let client = Client::try_from(config)
            .map_err(|e| ImageError::Registry(format!("setting up the HTTP client: {}", chain(&e))))?;
        let scheme = if tls { "https" } else { "http" };
        let base = format!("{scheme}://{host}/v2/{}", job.reference.repository());
        let mut remote = Remote { job, client, http, authorization: None, host, base };

        // The challenge: a bearer token from the token service, HTTP basic, or nothing. The
        // token is fetched here, its answer read with a cap; given a token, oci-client makes
        // no request of its own (it would read the answer whole, however big).
        let auth = match remote.bearer_token(scheme).await? {
            Some(token) => RegistryAuth::Bearer(token),
            None => job.creds.auth.clone(),
        };
        let token = remote
            .client
            .auth(&job.reference, &auth, RegistryOperation::Pull)
            .await
            .map_err(|e| remote.oci_error(e, "connecting"))?;
        remote.authorization = match (token, &job.creds.auth) {
            (Some(t), _) => Some(format!("Bearer {t}")),
            (None, RegistryAuth::Basic(user, pass)) => {
                Some(format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))))
            }
            _ => None,
        };
        // oci-client puts the token in a header with unwrap(): refuse one that is not a valid
        // header value here, instead of panicking there.
        if let Some(h) = &remote.authorization {
            if reqwest::header::HeaderValue::from_str(h).is_err() {
                return Err(ImageError::Registry(format!(
                    "{}: the token service sent a token that is not a valid HTTP header value",
                    remote.host
                )));
            }
        }
        Ok(remote)
    }

    /// A token from the registry's token service, as oci-client would get it (the first
    /// `Bearer` challenge of `/v2/`, scope `repository:<repo>:pull`, basic credentials if
    /// any), with the answer read up to [`MAX_TOKEN_RESPONSE`] bytes. `None` when the registry
    /// asks for no bearer token, or the credentials are a token already.
    async fn bearer_token(&self, scheme: &str) -> Result<Option<String>> {
        if matches!(self.job.creds.auth, RegistryAuth::Bearer(_)) {
            return Ok(None);
        }
        let resp = self
            .http
            .get(format!("{scheme}://{}/v2/", self.host))
            .send()
            .await
            .map_err(|e| self.transport_error(&e, "connecting"))?;
        let challenge = resp.headers().get(reqwest::header::WWW_AUTHENTICATE).and_then(|h| h.to_str().ok());
        let Some((realm, service)) = challenge.and_then(bearer_challenge) else {
            return Ok(None);
        };
        drop(resp);
        let what = "connecting (token service)";
        let scope = format!("repository:{}:pull", self.job.reference.repository());
        let mut query = vec![("scope", scope.as_str())];
        if let Some(s) = &service {
            query.push(("service", s));
        }
        let mut req = self.http.get(&realm).query(&query);
        if let RegistryAuth::Basic(user, pass) = &self.job.creds.auth {
            req = req.basic_auth(user, Some(pass));
        }
        let mut resp = req.send().await.map_err(|e| self.transport_error(&e, what))?;
        if resp.status() != reqwest::StatusCode::OK {
            let detail = error_detail(resp).await;
            return Err(self.status_error(401, &detail, what));
        }
        let too_big = || {
            ImageError::Registry(format!(
                "{}: {what}: the token service's answer is larger than {MAX_TOKEN_RESPONSE} bytes",
                self.host
            ))
        };
        if resp.content_length().is_some_and(|n| n > MAX_TOKEN_RESPONSE) {
            return Err(too_big());
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| self.transport_error(&e, what))? {
            if body.len() as u64 + chunk.len() as u64 > MAX_TOKEN_RESPONSE {
                return Err(too_big());
            }
            body.extend_from_slice(&chunk);
        }
        #[derive(Deserialize)]
        struct Answer {
            token: Option<String>,
            access_token: Option<String>,
        }
        // Never quote the answer: it holds a credential.
        let answer: Answer = serde_json::from_slice(&body).map_err(|e| {
            ImageError::Registry(format!(
                "{}: {what}: the token service's answer is not JSON ({:?})",
                self.host,
                e.classify()
            ))
        })?;
        match answer.token.or(answer.access_token) {
            Some(t) => Ok(Some(t)),
            None => {
                Err(ImageError::Registry(format!("{}: {what}: the token service's answer holds no token", self.host)))
            }
        }
    }

    /// GET a manifest by tag or digest, reading at most `max` bytes.
    async fn manifest(&self, reference: &str, max: u64) -> Result<Fetch> {
        let url = format!("{}/manifests/{reference}", self.base);
        let sep = if reference.starts_with("sha256:") { '@' } else { ':' };
        let what = format!("fetching manifest {}{sep}{reference}", self.job.reference.repository());
        let mut req = self.http.get(&url).header(reqwest::header::ACCEPT, ACCEPT.join(", "));
        if let Some(a) = &self.authorization {
            req = req.header(reqwest::header::AUTHORIZATION, a);
        }
        let mut resp = req.send().await.map_err(|e| self.transport_error(&e, &what))?;
        let status = resp.status();
        if !status.is_success() {
            let detail = error_detail(resp).await;
            return Err(self.status_error(status.as_u16(), &detail, &what));
        }
        if resp.content_length().is_some_and(|n| n > max) {
            return Err(ImageError::invalid(format!("{}: {what} is larger than {max} bytes", self.host)));
        }
        let header = |name: &str| resp.headers().get(name).and_then(|v| v.to_str().ok()).map(|s| s.trim().to_string());
        let content_type = header("content-type");
        let digest_header = header("docker-content-digest");
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| self.transport_error(&e, &what))? {
            if body.len() as u64 + chunk.len() as u64 > max {
                return Err(ImageError::invalid(format!("{}: {what} is larger than {max} bytes", self.host)));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Fetch { body, content_type, digest_header })
    }

    /// Download `blobs`, a few at a time, into `dir/<algorithm>/<hex>`.
    async fn download_all(&self, blobs: &[Blob], dir: &Path, progress: bool) -> Result<()> {
        let bar = progress.then(|| progress_bar(blobs.iter().map(|b| b.size).sum()));
        // Collected first: a lazy `map` closure in the stream trips the compiler's Send check.
        let jobs: Vec<_> = blobs.iter().map(|b| self.download(b, dir, bar.as_ref())).collect();
        let result = futures_util::stream::iter(jobs)
            .buffer_unordered(CONCURRENT_DOWNLOADS)
            .try_for_each(|()| async { Ok(()) })
            .await;
        if let Some(b) = bar {
            b.finish_and_clear();
        }
        result
    }

    /// Stream one blob to disk, hashing and counting it on the way; it gets its final name
    /// only once both check out.
    async fn download(&self, blob: &Blob, dir: &Path, bar: Option<&indicatif::ProgressBar>) -> Result<()> {
        let path = blob_path(dir, &blob.digest);
        let part = path.with_extension("part");
        if let Some(parent) = path.parent() {
            tokio::fs::create_dir_all(parent).await.map_err(|e| ImageError::io(parent, e))?;
        }
        let desc = OciDescriptor {
            media_type: blob.media_type.clone(),
            digest: blob.digest.to_string(),
            size: i64::try_from(blob.size).unwrap_or(i64::MAX),
            // Never fetch the "foreign" URLs a manifest may list: they could point anywhere.
            urls: None,
            annotations: None,
        };
        let mut stream = self
            .client
            .pull_blob_stream(&self.job.reference, &desc)
            .await
            .map_err(|e| self.oci_error(e, &format!("fetching blob {}", blob.digest)))?;
        if let Some(len) = stream.content_length.filter(|&n| n != blob.size) {
            return Err(ImageError::SizeMismatch { digest: blob.digest.to_string(), expected: blob.size, actual: len });
        }
        let file = tokio::fs::File::create(&part).await.map_err(|e| ImageError::io(&part, e))?;
        let mut out = tokio::io::BufWriter::with_capacity(1 << 20, file);
        let mut hasher = blob.digest.hasher();
        let mut got = 0u64;
        while let Some(chunk) = stream.next().await {
            let chunk = match chunk {
                Ok(c) => c,
                Err(e) => {
                    // oci-client checks the digest too and reports a mismatch as an error after
                    // the last byte: say it as everywhere else, naming the blob.
                    if got == blob.size {
                        let actual = hasher.finish();
                        if actual != blob.digest {
                            let actual = actual.to_string();
                            return Err(ImageError::DigestMismatch { digest: blob.digest.to_string(), actual });
                        }
                    }
                    return Err(ImageError::Registry(format!(
                        "{}: blob {}: download failed after {got} of {} bytes: {}",
                        self.host,
                        blob.digest,
                        blob.size,
                        chain(&e)
                    )));
                }
            };
            got += chunk.len() as u64;
            if got > blob.size {
                // Stop at once: a registry that sends more than declared could fill the disk.
                return Err(ImageError::SizeMismatch {
                    digest: blob.digest.to_string(),
                    expected: blob.size,
                    actual: got,
                });
            }
            hasher.update(&chunk);
            out.write_all(&chunk).await.map_err(|e| ImageError::io(&part, e))?;
            if let Some(b) = bar {
                b.inc(chunk.len() as u64);
            }
        }
        out.flush().await.map_err(|e| ImageError::io(&part, e))?;
        drop(out);
        if got != blob.size {
            return Err(ImageError::SizeMismatch { digest: blob.digest.to_string(), expected: blob.size, actual: got });
        }
        let actual = hasher.finish();
        if actual != blob.digest {
            return Err(ImageError::DigestMismatch { digest: blob.digest.to_string(), actual: actual.to_string() });
        }
        tokio::fs::rename(&part, &path).await.map_err(|e| ImageError::io(&path, e))
    }

    /// An error from oci-client, said in terms of what the user can do about it.
    fn oci_error(&self, e: OciDistributionError, during: &str) -> ImageError {
        match &e {
            OciDistributionError::AuthenticationFailure(reason) => self.status_error(401, &clean(reason, 300), during),
            OciDistributionError::UnauthorizedError { .. } => self.status_error(401, "", during),
            OciDistributionError::ServerError { code, message, .. } => {
                self.status_error(*code, &clean(message, 300), during)
            }
            OciDistributionError::RegistryError { envelope, .. } => {
                let detail: Vec<String> = envelope.errors.iter().map(|x| clean(&x.to_string(), 200)).collect();
                // The envelope does not carry the status; its codes say enough.
                ImageError::Registry(format!("{}: {during}: {}", self.host, detail.join("; ")))
            }
            OciDistributionError::RequestError(re) => match re.status() {
                Some(s) => self.status_error(s.as_u16(), "", during),
                None => self.transport_error(re, during),
            },
            _ => ImageError::Registry(format!("{}: {during}: {}", self.host, chain(&e))),
        }
    }

    /// A connection-level failure; suggests `--insecure` where plain HTTP or an untrusted
    /// certificate is the likely cause.
    fn transport_error(&self, e: &(dyn std::error::Error + 'static), during: &str) -> ImageError {
        let text = chain(e);
        let lower = text.to_ascii_lowercase();
        let mut msg = format!("{}: {during}: {text}", self.host);
        if !self.job.insecure
            && ["tls", "certificate", "handshake", "invalidcontenttype", "corrupt message", "ssl"]
                .iter()
                .any(|w| lower.contains(w))
        {
            msg.push_str(&format!(
                "; {} may serve plain HTTP or use a certificate that is not trusted: pass --insecure to allow \
                 plain HTTP and unverified TLS (HTTPS is required otherwise, for localhost too)",
                self.host
            ));
        }
        ImageError::Registry(msg)
    }

    fn status_error(&self, code: u16, detail: &str, what: &str) -> ImageError {
        let host = &self.host;
        let repo = self.job.reference.repository();
        let detail = if detail.is_empty() { String::new() } else { format!(": {detail}") };
        ImageError::Registry(match (code, &self.job.creds.source) {
            (401, Some(source)) => format!(
                "{host}: authentication failed (HTTP 401) {what}: the credentials for {host} from {source} were rejected{detail}"
            ),
            (401, None) => format!(
                "{host}: authentication required (HTTP 401) {what}, and no credentials for {host} were found in {}; \
                 log in with `docker login {host}` or give a Docker config.json that has them{detail}",
                self.job.creds.searched
            ),
            (403, _) => format!("{host}: access to {repo} denied (HTTP 403) {what}{detail}"),
            (404, _) => format!("{host}: not found (HTTP 404) {what}{detail}"),
            (429, _) => format!("{host}: rate limited (HTTP 429) {what}; try again later{detail}"),
            _ => format!("{host}: HTTP {code} {what}{detail}"),
        })
    }
}

/// The registry's explanation of a failed request: the codes and messages of its OCI error
/// envelope, or the start of the body.
async fn error_detail(mut resp: reqwest::Response) -> String {
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = resp.chunk().await {
        body.extend_from_slice(&chunk);
        if body.len() >= MAX_ERROR_BODY {
            break;
        }
    }
    #[derive(Deserialize)]
    struct Envelope {
        #[serde(default)]
        errors: Vec<Entry>,
    }
    #[derive(Deserialize)]
    struct Entry {
        #[serde(default)]
        code: String,
        #[serde(default)]
        message: String,
    }
    match serde_json::from_slice::<Envelope>(&body) {
        Ok(env) if !env.errors.is_empty() => {
            let parts: Vec<String> =
                env.errors.iter().map(|e| clean(&format!("{} {}", e.code, e.message), 200)).collect();
            parts.join("; ")
        }
        _ => clean(&String::from_utf8_lossy(&body), 200),
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Kind {
    Index,
    Manifest,
}

/// Index or image manifest, by the body's `mediaType`, else the Content-Type header, else its
/// shape. Schema 1 and non-image artifacts are refused by name.
fn manifest_kind(body: &[u8], content_type: Option<&str>, what: &str) -> Result<Kind> {
    #[derive(Deserialize)]
    struct Probe {
        #[serde(rename = "schemaVersion", default)]
        schema_version: Option<i64>,
        #[serde(rename = "mediaType", default)]
        media_type: Option<String>,
        #[serde(default)]
        manifests: Option<serde::de::IgnoredAny>,
        #[serde(default)]
        config: Option<serde::de::IgnoredAny>,
    }
    let probe: Probe = serde_json::from_slice(body).map_err(|e| ImageError::json(what, e))?;
    let header = content_type.map(|c| c.split(';').next().unwrap_or(c).trim()).filter(|c| !c.is_empty());
    let media_type = probe.media_type.as_deref().filter(|m| !m.is_empty()).or(header);
    if probe.schema_version == Some(1)
        || media_type.is_some_and(|m| m.starts_with("application/vnd.docker.distribution.manifest.v1"))
    {
        return Err(ImageError::Unsupported(format!(
            "{what} is a Docker schema 1 manifest (deprecated since 2017; current Docker refuses it too): \
             push the image again with a current Docker, or convert it with `skopeo copy --format v2s2`"
        )));
    }
    match media_type {
        Some(media_type::OCI_INDEX | media_type::DOCKER_LIST) => Ok(Kind::Index),
        Some(media_type::OCI_MANIFEST | media_type::DOCKER_MANIFEST) => Ok(Kind::Manifest),
        _ if probe.manifests.is_some() => Ok(Kind::Index),
        _ if probe.config.is_some() => Ok(Kind::Manifest),
        Some(other) => {
            Err(ImageError::Unsupported(format!("{what} has media type {}, not a container image", clean(other, 120))))
        }
        None => Err(ImageError::invalid(format!("{what} is neither an image manifest nor an index"))),
    }
}

/// The realm and service of the first `Bearer` challenge in a `WWW-Authenticate` header,
/// parsed as oci-client parses it.
fn bearer_challenge(header: &str) -> Option<(String, Option<String>)> {
    http_auth::ChallengeParser::new(header).filter_map(|c| c.ok()).find_map(|c| {
        if !c.scheme.eq_ignore_ascii_case("Bearer") {
            return None;
        }
        let param = |name: &str| {
            c.params.iter().rev().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.to_unescaped())
        };
        Some((param("realm")?, param("service")))
    })
}

/// The index entry for `want`, or an error listing the platforms the index has.
fn choose_platform<'a>(index: &'a Index, want: &Platform, what: &str) -> Result<&'a Descriptor> {
    if let Some(d) = index.manifests.iter().find(|d| d.platform.as_ref().is_some_and(|p| p.matches(want))) {
        return Ok(d);
    }
    let mut have: Vec<String> = Vec::new();
    // A set beside the list, and a cap on what is shown: a hostile index of 8 MiB names
    // a hundred thousand platforms.
    let mut seen = std::collections::HashSet::new();
    for p in index.manifests.iter().filter_map(|d| d.platform.as_ref()) {
        // Build attestations sit in indexes as unknown/unknown: not a platform to offer.
        let attestation = p.os == "unknown" && p.architecture == "unknown";
        let s = clean(&p.to_string(), 60);
        if !attestation && seen.insert(s.clone()) {
            have.push(s);
        }
    }
    let more = have.len().saturating_sub(MAX_PLATFORMS_SHOWN);
    have.truncate(MAX_PLATFORMS_SHOWN);
    if more > 0 {
        have.push(format!("and {more} more"));
    }
    let have = if have.is_empty() { "no entry that names a platform".to_string() } else { have.join(", ") };
    Err(ImageError::invalid(format!(
        "{what} has no image for platform {want}; available platforms: {have} (choose one with --platform)"
    )))
}

fn progress_bar(total: u64) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::with_draw_target(Some(total), indicatif::ProgressDrawTarget::stderr());
    if let Ok(style) = indicatif::ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message("pulling layers");
    bar
}

/// An error with its causes (reqwest hides the interesting part in `source()`).
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        let t = s.to_string();
        if !out.contains(&t) {
            out.push_str(": ");
            out.push_str(&t);
        }
        cur = s.source();
    }
    clean(&out, 600)
}

/// Registry-supplied text made safe to print: no control characters (terminal escapes),
/// bounded length.
fn clean(s: &str, max: usize) -> String {
    let mut out: String = s.chars().map(|c| if c.is_control() { ' ' } else { c }).take(max).collect();
    if s.chars().count() > max {
        out.push('…');
    }
    out.trim().to_string()
}

// ---------------------------------------------------------------------------------------------
// Credentials from Docker's config.json.

/// What to authenticate with, in oci-client's terms. The secret never reaches a log line or an
/// error message.
struct Credentials {
    auth: RegistryAuth,
    /// Where they came from, e.g. `/root/.docker/config.json (auths "ghcr.io")`; `None` when
    /// anonymous.
    source: Option<String>,
    /// The file looked in, for the "no credentials" message.
    searched: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.auth {
            RegistryAuth::Anonymous => "anonymous",
            RegistryAuth::Basic(..) => "basic",
            RegistryAuth::Bearer(_) => "bearer",
        };
        f.debug_struct("Credentials").field("auth", &kind).field("source", &self.source).finish()
    }
}

/// Credentials for `registry` from Docker's config.json, found as
/// [`bulwark_oci::credentials::load`] finds them, in oci-client's terms.
fn credentials(registry: &str, explicit: Option<&Path>) -> Result<Credentials> {
    let found = credentials::load(registry, explicit).map_err(|e| match e {
        credentials::CredentialsError::Io { path, source } => ImageError::io(path, source),
        credentials::CredentialsError::Invalid(msg) => ImageError::invalid(msg),
    })?;
    let auth = match found.auth {
        Auth::Anonymous => RegistryAuth::Anonymous,
        Auth::Basic { username, password } => RegistryAuth::Basic(username, password),
        Auth::Bearer(token) => RegistryAuth::Bearer(token),
    };
    Ok(Credentials { auth, source: found.source, searched: found.searched })
}

/// Where `digest`'s blob goes under a download's `blobs` directory.
fn blob_path(blobs: &Path, digest: &Digest) -> PathBuf {
    blobs.join(digest.algorithm().name()).join(digest.hex())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn schema1_and_artifacts_are_refused_by_name() {
        let s1 = br#"{"schemaVersion": 1, "name": "x", "tag": "1", "fsLayers": []}"#;
        let e = manifest_kind(s1, Some("application/vnd.docker.distribution.manifest.v1+prettyjws"), "manifest m")
            .unwrap_err()
            .to_string();
        assert!(e.contains("schema 1"), "{e}");
        assert!(manifest_kind(s1, None, "m").is_err());
        let oci = br#"{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": []}"#;
        assert_eq!(manifest_kind(oci, Some("text/plain"), "m").unwrap(), Kind::Index);
        let bare = br#"{"schemaVersion": 2, "config": {"digest": "x"}, "layers": []}"#;
        assert_eq!(
            manifest_kind(bare, Some("application/vnd.oci.image.manifest.v1+json; charset=utf-8"), "m").unwrap(),
            Kind::Manifest
        );
        assert_eq!(manifest_kind(bare, None, "m").unwrap(), Kind::Manifest);
        let odd = br#"{"schemaVersion": 2, "mediaType": "application/vnd.example.thing"}"#;
        assert!(manifest_kind(odd, None, "m").unwrap_err().to_string().contains("not a container image"));
    }

    #[test]
    fn platform_choice_lists_what_there_is() {
        let [a, b, c] = [b"a", b"b", b"c"].map(|x| Digest::of_bytes(x));
        let index: Index = serde_json::from_str(&format!(
            r#"{{"manifests": [
                {{"digest": "{a}", "size": 1, "platform": {{"os": "linux", "architecture": "amd64"}}}},
                {{"digest": "{b}", "size": 1, "platform": {{"os": "linux", "architecture": "arm64", "variant": "v8"}}}},
                {{"digest": "{c}", "size": 1, "platform": {{"os": "unknown", "architecture": "unknown"}}}}
            ]}}"#,
        ))
        .unwrap();
        let arm = Platform::parse("linux/arm64").unwrap();
        assert_eq!(choose_platform(&index, &arm, "i").unwrap().digest, b);
        let e = choose_platform(&index, &Platform::parse("linux/s390x").unwrap(), "i").unwrap_err().to_string();
        assert!(e.contains("linux/amd64, linux/arm64/v8") && !e.contains("unknown"), "{e}");
    }

    /// A plain-HTTP registry on localhost that wants a bearer token from its own `/token`,
    /// which answers `token_body`; records each request's head.
    fn fake_registry(token_body: Vec<u8>) -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
        use std::io::Write as _;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let realm = format!("http://{addr}/token");
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let log = seen.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { continue };
                let (realm, body, log) = (realm.clone(), token_body.clone(), log.clone());
                std::thread::spawn(move || {
                    let mut head = Vec::new();
                    let mut byte = [0u8; 1];
                    while !head.ends_with(b"\r\n\r\n") {
                        match conn.read(&mut byte) {
                            // A TLS handshake (the HTTPS probe): not spoken here.
                            Ok(1) if head.is_empty() && byte[0] == 0x16 => return,
                            Ok(1) if head.len() < 65536 => head.push(byte[0]),
                            _ => return,
                        }
                    }
                    let head = String::from_utf8_lossy(&head).into_owned();
                    let token = head.starts_with("GET /token");
                    log.lock().unwrap().push(head);
                    let _ = if token {
                        conn.write_all(
                            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n",
                        )
                        .and_then(|()| conn.write_all(&body))
                    } else {
                        conn.write_all(
                            format!(
                                "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer realm=\"{realm}\",service=\"fake\"\r\n\
                                 Content-Length: 0\r\nConnection: close\r\n\r\n"
                            )
                            .as_bytes(),
                        )
                    };
                });
            }
        });
        (addr, seen)
    }

    fn pull_from(addr: &str) -> String {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config.json");
        std::fs::write(&config, "{}").unwrap();
        let opts = PullOptions { insecure: true, docker_config: Some(config), ..Default::default() };
        pull(&format!("{addr}/team/app:1.0"), &opts).err().unwrap().to_string()
    }

    /// The token service's answer was read whole by oci-client: a hostile one (its realm
    /// can be any host) could send gigabytes. It is now read with a cap, without a length
    /// header too.
    #[test]
    fn token_service_answer_is_bounded() {
        let (addr, _) = fake_registry(vec![b'a'; 8 << 20]);
        let e = pull_from(&addr);
        assert!(e.contains("token service's answer is larger than 1048576 bytes"), "{e}");

        // A token of a sane answer is what the registry then gets.
        let (addr, seen) = fake_registry(br#"{"token": "tok-123", "expires_in": 300}"#.to_vec());
        let e = pull_from(&addr);
        assert!(e.contains("HTTP 401") && e.contains("fetching manifest team/app:1.0"), "{e}");
        let seen = seen.lock().unwrap();
        assert!(seen.iter().any(|h| h.starts_with("GET /token?scope=repository%3Ateam%2Fapp%3Apull&service=fake ")));
        assert!(seen.iter().any(|h| h.starts_with("GET /v2/team/app/manifests/1.0 ") && h.contains("Bearer tok-123")));
    }

    #[test]
    fn bearer_challenges_are_read_like_oci_client() {
        let c = |h: &str| bearer_challenge(h);
        assert_eq!(
            c(r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io""#),
            Some(("https://auth.docker.io/token".into(), Some("registry.docker.io".into())))
        );
        assert_eq!(c(r#"Basic realm="x", bearer realm="https://t/\"q\"""#), Some(("https://t/\"q\"".into(), None)));
        assert_eq!(c(r#"Basic realm="x""#), None);
        assert_eq!(c("Bearer service=x"), None);
    }

    /// An index naming 200k platforms: the error de-duplicated them with a scan of the list
    /// per entry, and listed every one.
    #[test]
    fn platform_error_on_a_huge_index_is_fast_and_short() {
        let d = Digest::of_bytes(b"a");
        let manifests: Vec<String> = (0..200_000)
            .map(|i| {
                format!(r#"{{"digest": "{d}", "size": 1, "platform": {{"os": "linux", "architecture": "a{i}"}}}}"#)
            })
            .collect();
        let index: Index = serde_json::from_str(&format!(r#"{{"manifests": [{}]}}"#, manifests.join(","))).unwrap();
        let start = std::time::Instant::now();
        let e = choose_platform(&index, &Platform::parse("linux/s390x").unwrap(), "i").unwrap_err().to_string();
        assert!(start.elapsed().as_secs() < 5, "{:?}", start.elapsed());
        assert!(e.contains("linux/a0, linux/a1") && e.contains("and 199968 more") && e.len() < 2000, "{e}");
    }

    #[test]
    fn clean_strips_terminal_escapes() {
        assert_eq!(clean("bad\x1b[31mred\nline", 100), "bad [31mred line");
        assert_eq!(clean("abcdef", 3), "abc…");
    }
}
