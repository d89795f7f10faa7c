//! Downloads advisory zips over HTTP(S): from the public OSV bucket, or from a mirror laid
//! out the same way (`<base>/<Ecosystem>/all.zip`), into a directory of the same layout that
//! [`update`] reads.
//!
//! A download goes to `all.zip.part` and is renamed into place when complete. A dropped
//! connection, a 5xx or a short body is retried with exponential backoff, resuming with
//! `Range: bytes=N-`; beside the partial file a small `all.zip.part.json` records the URL
//! and the server's validator (ETag or Last-Modified), sent as `If-Range` so that a file
//! changed on the server restarts from zero instead of being spliced. A later run resumes a
//! partial file only when it has that validator.
//!
//! The client is reqwest's blocking one: call these from synchronous code (or from a
//! thread of its own), never from inside an async runtime.

use crate::import::{update, UpdateReport};
use crate::{DbError, Result};
use bulwark_catalog::PackageType;
use reqwest::blocking::{Client, Response};
use reqwest::header::{HeaderMap, CONTENT_LENGTH, CONTENT_RANGE, ETAG, IF_RANGE, LAST_MODIFIED, RANGE};
use reqwest::{StatusCode, Url};
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The public OSV bucket.
pub const DEFAULT_BUCKET: &str = "https://osv-vulnerabilities.storage.googleapis.com";

/// The OSV ecosystems of the distributions Bulwark matches, spelled as the bucket names its
/// folders.
const DISTRO_ECOSYSTEMS: &[&str] =
    &["Debian", "Ubuntu", "Alpine", "Wolfi", "Chainguard", "Red Hat", "Rocky Linux", "AlmaLinux"];

/// Every OSV ecosystem Bulwark matches: the distributions' and each language package type's.
pub fn default_ecosystems() -> Vec<String> {
    let languages = PackageType::ALL.into_iter().filter_map(PackageType::osv_ecosystem);
    DISTRO_ECOSYSTEMS.iter().copied().chain(languages).map(str::to_string).collect()
}

/// Default cap on one downloaded file (the largest real all.zip is a few hundred MiB).
pub const DEFAULT_MAX_BYTES: u64 = 2 << 30;

/// Longest wait between two attempts, however many there were.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// Redirects followed per request.
const MAX_REDIRECTS: usize = 10;

#[derive(Debug, Clone)]
pub struct DownloadOptions {
    /// Bucket folder names to fetch, e.g. `crates.io`, `Red Hat`.
    pub ecosystems: Vec<String>,
    /// Draw a progress bar on stderr (indicatif hides it when stderr is not a terminal).
    pub progress: bool,
    /// Further attempts per file after the first fails for a transient reason.
    pub retries: u32,
    /// Per-file size cap; a larger file is an error naming its URL.
    pub max_bytes: u64,
    /// Longest wait for the response headers or for any single read of the body (an idle
    /// timeout: a large file on a slow but live link is not cut off).
    pub timeout: Duration,
    pub connect_timeout: Duration,
    /// Wait before the first retry; doubled for each further one, up to a minute.
    pub backoff: Duration,
    /// Allow plain `http://` to hosts other than loopback.
    pub allow_insecure: bool,
}

impl Default for DownloadOptions {
    fn default() -> Self {
        DownloadOptions {
            ecosystems: default_ecosystems(),
            progress: false,
            retries: 4,
            max_bytes: DEFAULT_MAX_BYTES,
            timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(30),
            backoff: Duration::from_secs(1),
            allow_insecure: false,
        }
    }
}

/// What [`fetch_bucket_report`] got.
#[derive(Debug, Clone, Default)]
pub struct Fetched {
    /// `dest_dir/<Ecosystem>/all.zip` for each ecosystem downloaded, in request order.
    pub files: Vec<PathBuf>,
    /// One per ecosystem the server does not have (404).
    pub warnings: Vec<String>,
}

/// Downloads `<base_url>/<Ecosystem>/all.zip` for each of `opts.ecosystems` into
/// `dest_dir/<Ecosystem>/all.zip`. An ecosystem the server does not have (404) is logged as
/// a warning and skipped, since mirrors may hold a subset; none found at all is an error.
pub fn fetch_bucket(base_url: &str, dest_dir: &Path, opts: &DownloadOptions) -> Result<Vec<PathBuf>, DbError> {
    let fetched = fetch_bucket_report(base_url, dest_dir, opts)?;
    for w in &fetched.warnings {
        tracing::warn!("{w}");
    }
    Ok(fetched.files)
}

/// [`fetch_bucket`], returning the warnings instead of logging them.
pub fn fetch_bucket_report(base_url: &str, dest_dir: &Path, opts: &DownloadOptions) -> Result<Fetched> {
    let base = parse_base(base_url, opts.allow_insecure)?;
    if opts.ecosystems.is_empty() {
        return Err(DbError::input(shown(&base), "no ecosystems to download"));
    }
    let mut urls = Vec::with_capacity(opts.ecosystems.len());
    for eco in &opts.ecosystems {
        check_ecosystem(eco)?;
        urls.push(ecosystem_url(&base, eco)?);
    }
    let client = client(&base, opts)?;
    std::fs::create_dir_all(dest_dir).map_err(|e| DbError::io(dest_dir, e))?;

    let mut out = Fetched::default();
    for (eco, url) in opts.ecosystems.iter().zip(&urls) {
        let dir = dest_dir.join(eco);
        std::fs::create_dir_all(&dir).map_err(|e| DbError::io(&dir, e))?;
        let dest = dir.join("all.zip");
        // A file left by an earlier run must not stand in for this one if this one fails.
        remove_if_exists(&dest)?;
        match fetch_file(&client, url, &dest, opts, eco)? {
            Outcome::Done => out.files.push(dest),
            Outcome::NotFound => {
                // Best effort: an empty folder is harmless, a non-empty one is not ours to clear.
                let _ = std::fs::remove_dir(&dir);
                out.warnings.push(format!("{}: not found (HTTP 404); ecosystem {eco} skipped", shown(url)));
            }
        }
    }
    if out.files.is_empty() {
        return Err(DbError::input(
            shown(&base),
            format!(
                "none of the {} ecosystems requested is there (HTTP 404 for each: {}); expected a bucket laid out as <base>/<Ecosystem>/all.zip",
                opts.ecosystems.len(),
                opts.ecosystems.join(", ")
            ),
        ));
    }
    Ok(out)
}

/// Builds the database at `target` from `sources`, each either a URL of a bucket (fetched
/// with `opts` first) or a local path that [`update`] reads. No sources means the public
/// OSV bucket. Downloads are staged in `.<target name>.download` next to `target`, kept
/// when something fails (so that a new run resumes them) and removed after a successful
/// build. Download warnings come first in the report.
pub fn update_from(sources: &[String], target: &Path, opts: &DownloadOptions) -> Result<UpdateReport> {
    let default = [DEFAULT_BUCKET.to_string()];
    let sources = if sources.is_empty() { &default[..] } else { sources };
    let mut paths = Vec::new();
    let mut warnings = Vec::new();
    let mut staging = None;
    for (i, src) in sources.iter().enumerate() {
        if looks_like_url(src) {
            let root = staging.get_or_insert_with(|| staging_dir(target));
            let fetched = fetch_bucket_report(src, &root.join(i.to_string()), opts)?;
            warnings.extend(fetched.warnings);
            paths.extend(fetched.files);
        } else {
            paths.push(PathBuf::from(src));
        }
    }
    // The downloaded files themselves, not the staging folders: those may still hold
    // files of ecosystems not asked for this time.
    let refs: Vec<&Path> = paths.iter().map(PathBuf::as_path).collect();
    let mut report = update(&refs, target)?;
    warnings.append(&mut report.warnings);
    report.warnings = warnings;
    if let Some(root) = staging {
        if let Err(e) = std::fs::remove_dir_all(&root) {
            if e.kind() != std::io::ErrorKind::NotFound {
                report.warnings.push(format!("{}: could not remove the downloads: {e}", root.display()));
            }
        }
    }
    Ok(report)
}

fn staging_dir(target: &Path) -> PathBuf {
    let dir = target.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "vuln.db".into());
    dir.join(format!(".{name}.download"))
}

/// `scheme://…` with a plausible scheme; anything else is a path.
fn looks_like_url(s: &str) -> bool {
    s.split_once("://").is_some_and(|(scheme, _)| {
        scheme.len() >= 2
            && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    })
}

fn parse_base(base_url: &str, allow_insecure: bool) -> Result<Url> {
    let url = Url::parse(base_url).map_err(|e| DbError::input(base_url, format!("not a URL: {e}")))?;
    if let Some(msg) = refusal(&url, allow_insecure) {
        return Err(DbError::input(shown(&url), msg));
    }
    if url.cannot_be_a_base() || url.host_str().is_none() {
        return Err(DbError::input(shown(&url), "not a URL of a bucket (expected https://host/path)"));
    }
    Ok(url)
}

/// Why a request to `url` is refused, if it is.
fn refusal(url: &Url, allow_insecure: bool) -> Option<String> {
    match url.scheme() {
        "https" => None,
        "http" if allow_insecure || is_loopback(url) => None,
        "http" => Some(
            "plain http:// is refused for hosts other than loopback (advisories could be altered in transit); use https://, or allow insecure downloads explicitly"
                .into(),
        ),
        s => Some(format!("unsupported URL scheme {s}:// (use https://, or http:// on loopback)")),
    }
}

fn is_loopback(url: &Url) -> bool {
    let Some(host) = url.host_str() else { return false };
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    let bare = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Ecosystem names become folder names under `dest_dir`: nothing that could leave it.
fn check_ecosystem(eco: &str) -> Result<()> {
    let bad = eco.is_empty()
        || eco == "."
        || eco == ".."
        || eco.contains(['/', '\\'])
        || eco.chars().any(char::is_control)
        || eco.len() > 100;
    if bad {
        return Err(DbError::input(format!("ecosystem {eco:?}"), "not a bucket folder name"));
    }
    Ok(())
}

/// `<base>/<eco>/all.zip`, the ecosystem percent-encoded as one path segment (`Red%20Hat`).
fn ecosystem_url(base: &Url, eco: &str) -> Result<Url> {
    let mut url = base.clone();
    {
        let mut segs = url
            .path_segments_mut()
            .map_err(|()| DbError::input(shown(base), "not a URL of a bucket (expected https://host/path)"))?;
        segs.pop_if_empty().push(eco).push("all.zip");
    }
    Ok(url)
}

/// The URL as shown in messages: without a password.
fn shown(url: &Url) -> String {
    let mut u = url.clone();
    if u.password().is_some() {
        let _ = u.set_password(Some("***"));
    }
    u.to_string()
}

fn client(base: &Url, opts: &DownloadOptions) -> Result<Client> {
    let allow = opts.allow_insecure;
    // A redirect must not take a request somewhere the original URL could not go.
    let policy = reqwest::redirect::Policy::custom(move |attempt| {
        if attempt.previous().len() >= MAX_REDIRECTS {
            let msg = format!("more than {MAX_REDIRECTS} redirects");
            return attempt.error(msg);
        }
        match refusal(attempt.url(), allow) {
            Some(msg) => {
                let msg = format!("redirected to {}: {msg}", shown(attempt.url()));
                attempt.error(msg)
            }
            None => attempt.follow(),
        }
    });
    let mut b = Client::builder()
        .user_agent(concat!("bulwark/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(opts.connect_timeout)
        .timeout(opts.timeout)
        .redirect(policy);
    if is_loopback(base) {
        // An HTTP(S)_PROXY from the environment has no business relaying to loopback.
        b = b.no_proxy();
    }
    b.build().map_err(|e| DbError::input("HTTP client", chain(&e)))
}

enum Outcome {
    Done,
    NotFound,
}

/// Why one attempt did not finish the file.
enum Failure {
    /// Worth another attempt (after backoff), resuming from what is on disk.
    Retry(String),
    Fatal(DbError),
}

impl From<DbError> for Failure {
    fn from(e: DbError) -> Self {
        Failure::Fatal(e)
    }
}

/// Kept beside the partial file: what it is a prefix of.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct PartMeta {
    url: String,
    /// Strong ETag or Last-Modified of the response the first bytes came from.
    validator: Option<String>,
    /// Full size as the server announced it.
    total: Option<u64>,
}

struct Download<'a> {
    client: &'a Client,
    url: &'a Url,
    part: PathBuf,
    meta_path: PathBuf,
    meta: PartMeta,
    opts: &'a DownloadOptions,
    bar: Progress,
}

fn fetch_file(client: &Client, url: &Url, dest: &Path, opts: &DownloadOptions, label: &str) -> Result<Outcome> {
    let part = with_suffix(dest, ".part");
    let meta_path = with_suffix(dest, ".part.json");
    let mut dl = Download {
        client,
        url,
        meta: PartMeta { url: url.to_string(), ..PartMeta::default() },
        part,
        meta_path,
        opts,
        bar: Progress::new(opts.progress, label),
    };
    dl.adopt_leftover()?;
    let mut last = String::new();
    for attempt in 0..=opts.retries {
        if attempt > 0 {
            let wait = backoff(opts.backoff, attempt);
            tracing::info!("{}: {last}; retrying in {wait:?} ({attempt}/{})", shown(url), opts.retries);
            std::thread::sleep(wait);
        }
        match dl.attempt() {
            Ok(Some(())) => {
                std::fs::rename(&dl.part, dest).map_err(|e| DbError::io(dest, e))?;
                remove_if_exists(&dl.meta_path)?;
                dl.bar.finish();
                return Ok(Outcome::Done);
            }
            Ok(None) => {
                dl.discard()?;
                dl.bar.finish();
                return Ok(Outcome::NotFound);
            }
            Err(Failure::Retry(msg)) => last = msg,
            Err(Failure::Fatal(e)) => {
                dl.bar.finish();
                return Err(e);
            }
        }
    }
    dl.bar.finish();
    Err(DbError::input(
        shown(url),
        format!(
            "{last} (gave up after {} attempt{}; run again to resume)",
            opts.retries + 1,
            if opts.retries == 0 { "" } else { "s" }
        ),
    ))
}

fn backoff(base: Duration, attempt: u32) -> Duration {
    let factor = 1u32.checked_shl(attempt.saturating_sub(1)).unwrap_or(u32::MAX);
    base.saturating_mul(factor).min(MAX_BACKOFF)
}

impl Download<'_> {
    /// Keeps a partial file from an earlier run only when it is of this URL and a validator
    /// lets the server say whether it is still the same file.
    fn adopt_leftover(&mut self) -> Result<()> {
        let keep = std::fs::read(&self.meta_path)
            .ok()
            .and_then(|b| serde_json::from_slice::<PartMeta>(&b).ok())
            .filter(|m| m.url == self.meta.url && m.validator.is_some() && self.part.is_file());
        match keep {
            Some(m) => self.meta = m,
            None => self.discard()?,
        }
        Ok(())
    }

    /// Forgets the partial file.
    fn discard(&mut self) -> Result<()> {
        remove_if_exists(&self.part)?;
        remove_if_exists(&self.meta_path)?;
        self.meta = PartMeta { url: self.meta.url.clone(), ..PartMeta::default() };
        Ok(())
    }

    fn have(&self) -> Result<u64> {
        match std::fs::metadata(&self.part) {
            Ok(m) => Ok(m.len()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
            Err(e) => Err(DbError::io(&self.part, e)),
        }
    }

    /// One request. `Ok(Some)`: the part file is complete; `Ok(None)`: 404.
    fn attempt(&mut self) -> Result<Option<()>, Failure> {
        let mut offset = self.have()?;
        if offset > self.opts.max_bytes {
            self.discard()?;
            offset = 0;
        }
        let mut resp = self.send(offset)?;
        if resp.status() == StatusCode::RANGE_NOT_SATISFIABLE && offset > 0 {
            // The partial file is not a prefix of what is there now: start over at once.
            self.discard()?;
            offset = 0;
            resp = self.send(0)?;
        }
        let status = resp.status();
        let url = shown(self.url);
        let (start, end, total) = match status {
            StatusCode::NOT_FOUND => return Ok(None),
            StatusCode::OK => {
                // Also the answer of a server that ignores Range, or of one whose file
                // changed (If-Range): either way the body is the whole file.
                let len = content_length(resp.headers());
                (0, len, len)
            }
            StatusCode::PARTIAL_CONTENT => match content_range(resp.headers()) {
                Ok((a, b, total)) if a == offset && total.is_none_or(|t| b < t) => {
                    let len = b - a + 1;
                    if content_length(resp.headers()).is_some_and(|cl| cl != len) {
                        self.discard()?;
                        return Err(Failure::Retry(format!(
                            "Content-Length disagrees with Content-Range bytes {a}-{b}; starting over"
                        )));
                    }
                    if total.is_some() && self.meta.total.is_some() && total != self.meta.total {
                        self.discard()?;
                        return Err(Failure::Retry("the file changed on the server; starting over".into()));
                    }
                    (a, Some(b + 1), total.or(self.meta.total))
                }
                Ok((a, b, t)) => {
                    self.discard()?;
                    let t = t.map_or("*".to_string(), |t| t.to_string());
                    return Err(Failure::Retry(format!(
                        "asked for bytes {offset}- and got Content-Range bytes {a}-{b}/{t}; starting over"
                    )));
                }
                Err(msg) => {
                    self.discard()?;
                    return Err(Failure::Retry(format!("HTTP 206 with {msg}; starting over")));
                }
            },
            s if s.is_server_error()
                || s == StatusCode::TOO_MANY_REQUESTS
                || s == StatusCode::REQUEST_TIMEOUT
                || s == StatusCode::RANGE_NOT_SATISFIABLE =>
            {
                return Err(Failure::Retry(format!("HTTP {s}")));
            }
            s => return Err(Failure::Fatal(DbError::input(url, format!("HTTP {s}")))),
        };
        if let Some(size) = total.or(end) {
            if size > self.opts.max_bytes {
                self.discard()?;
                return Err(Failure::Fatal(self.too_large(format!("{size} bytes"))));
            }
        }
        if start == 0 {
            self.meta.validator = validator(resp.headers());
            self.meta.total = total;
            let json = serde_json::to_vec(&self.meta).map_err(DbError::Json)?;
            std::fs::write(&self.meta_path, json).map_err(|e| DbError::io(&self.meta_path, e))?;
        }

        let mut file = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(false)
            .open(&self.part)
            .map_err(|e| DbError::io(&self.part, e))?;
        if start == 0 {
            file.set_len(0).map_err(|e| DbError::io(&self.part, e))?;
        }
        file.seek(SeekFrom::Start(start)).map_err(|e| DbError::io(&self.part, e))?;
        self.bar.start(start, total);

        let pos = self.copy_body(&mut resp, &mut file, start)?;
        file.sync_all().map_err(|e| DbError::io(&self.part, e))?;
        drop(file);
        if let Some(end) = end {
            if pos < end {
                return Err(Failure::Retry(format!("body ended after {pos} of {end} bytes")));
            }
            if pos > end {
                self.discard()?;
                return Err(Failure::Retry(format!("server sent more than the {end} bytes it announced")));
            }
        }
        if let Some(total) = total {
            if pos < total {
                // A valid but short 206: fetch the rest on the next attempt.
                return Err(Failure::Retry(format!("got bytes up to {pos} of {total}")));
            }
        }
        Ok(Some(()))
    }

    fn send(&self, offset: u64) -> Result<Response, Failure> {
        let mut req = self.client.get(self.url.clone());
        if offset > 0 {
            req = req.header(RANGE, format!("bytes={offset}-"));
            if let Some(v) = &self.meta.validator {
                req = req.header(IF_RANGE, v.as_str());
            }
        }
        req.send().map_err(|e| {
            let msg = chain(&e);
            if e.is_redirect() || e.is_builder() {
                Failure::Fatal(DbError::input(shown(self.url), msg))
            } else {
                Failure::Retry(msg)
            }
        })
    }

    /// Appends the body to `file` from `pos`; returns the new end. A read error is a
    /// transient failure with what was written kept for the next attempt.
    fn copy_body(&mut self, resp: &mut Response, file: &mut File, mut pos: u64) -> Result<u64, Failure> {
        let mut buf = vec![0u8; 256 << 10];
        loop {
            let n = match resp.read(&mut buf) {
                Ok(0) => return Ok(pos),
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    let _ = file.sync_all();
                    return Err(Failure::Retry(format!("connection lost after byte {pos}: {}", chain(&e))));
                }
            };
            pos += n as u64;
            if pos > self.opts.max_bytes {
                self.discard()?;
                return Err(Failure::Fatal(self.too_large(format!("more than {pos} bytes"))));
            }
            file.write_all(&buf[..n]).map_err(|e| DbError::io(&self.part, e))?;
            self.bar.inc(n as u64);
        }
    }

    fn too_large(&self, size: String) -> DbError {
        DbError::input(shown(self.url), format!("{size}, over the limit of {} bytes per file", self.opts.max_bytes))
    }
}

fn content_length(h: &HeaderMap) -> Option<u64> {
    h.get(CONTENT_LENGTH)?.to_str().ok()?.trim().parse().ok()
}

/// `Content-Range: bytes A-B/TOTAL` or `bytes A-B/*`.
fn content_range(h: &HeaderMap) -> Result<(u64, u64, Option<u64>), String> {
    let Some(v) = h.get(CONTENT_RANGE) else { return Err("no Content-Range".into()) };
    let s = v.to_str().map_err(|_| "a Content-Range that is not text".to_string())?;
    let bad = || format!("an invalid Content-Range {s:?}");
    let rest = s.trim().strip_prefix("bytes ").ok_or_else(bad)?;
    let (range, total) = rest.split_once('/').ok_or_else(bad)?;
    let (a, b) = range.split_once('-').ok_or_else(bad)?;
    let a: u64 = a.trim().parse().map_err(|_| bad())?;
    let b: u64 = b.trim().parse().map_err(|_| bad())?;
    let total = match total.trim() {
        "*" => None,
        t => Some(t.parse::<u64>().map_err(|_| bad())?),
    };
    if b < a {
        return Err(bad());
    }
    Ok((a, b, total))
}

/// What `If-Range` may carry: a strong ETag, else Last-Modified (weak ETags are not allowed there).
fn validator(h: &HeaderMap) -> Option<String> {
    let text = |name: reqwest::header::HeaderName| h.get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
    text(ETAG).filter(|e| e.starts_with('"')).or_else(|| text(LAST_MODIFIED))
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

fn remove_if_exists(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(DbError::io(path, e)),
    }
}

/// An error with its causes (reqwest keeps the useful part in `source()`).
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        let msg = s.to_string();
        if !out.contains(&msg) {
            out.push_str(": ");
            out.push_str(&msg);
        }
        cur = s.source();
    }
    out
}

/// One bar per file on stderr, or nothing.
struct Progress(Option<indicatif::ProgressBar>);

impl Progress {
    fn new(show: bool, label: &str) -> Self {
        if !show {
            return Progress(None);
        }
        let bar = indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr());
        if let Ok(style) =
            indicatif::ProgressStyle::with_template("{msg:>12} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}")
        {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(label.to_string());
        Progress(Some(bar))
    }

    fn start(&self, pos: u64, total: Option<u64>) {
        if let Some(bar) = &self.0 {
            match total {
                Some(t) => bar.set_length(t),
                None => bar.unset_length(),
            }
            bar.set_position(pos);
        }
    }

    fn inc(&self, n: u64) {
        if let Some(bar) = &self.0 {
            bar.inc(n);
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.0 {
            bar.finish();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_ecosystems_are_the_distros_and_every_language_type() {
        let all = default_ecosystems();
        for eco in ["Debian", "Red Hat", "PyPI", "npm", "crates.io", "Go", "Maven", "RubyGems", "NuGet", "Packagist"] {
            assert!(all.iter().any(|e| e == eco), "{eco} in {all:?}");
        }
        assert_eq!(all.len(), DISTRO_ECOSYSTEMS.len() + PackageType::ALL.iter().filter(|t| !t.is_os()).count());
    }

    #[test]
    fn urls_encode_ecosystems_as_one_segment() {
        let base = parse_base("https://mirror.example/osv/", false).unwrap();
        assert_eq!(ecosystem_url(&base, "Red Hat").unwrap().as_str(), "https://mirror.example/osv/Red%20Hat/all.zip");
        let base = parse_base(DEFAULT_BUCKET, false).unwrap();
        assert_eq!(
            ecosystem_url(&base, "crates.io").unwrap().as_str(),
            "https://osv-vulnerabilities.storage.googleapis.com/crates.io/all.zip"
        );
    }

    #[test]
    fn hostile_ecosystem_names_refused() {
        for eco in ["", ".", "..", "../etc", "a/b", "a\\b", "a\nb"] {
            assert!(check_ecosystem(eco).is_err(), "{eco:?}");
        }
        assert!(check_ecosystem("Rocky Linux").is_ok());
    }

    #[test]
    fn content_range_parsing() {
        let mut h = HeaderMap::new();
        h.insert(CONTENT_RANGE, "bytes 10-19/20".parse().unwrap());
        assert_eq!(content_range(&h), Ok((10, 19, Some(20))));
        h.insert(CONTENT_RANGE, "bytes 10-19/*".parse().unwrap());
        assert_eq!(content_range(&h), Ok((10, 19, None)));
        for bad in ["bytes 19-10/20", "bytes */20", "items 1-2/3", "bytes 1-2", "bytes a-2/3"] {
            h.insert(CONTENT_RANGE, bad.parse().unwrap());
            assert!(content_range(&h).is_err(), "{bad}");
        }
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        let b = Duration::from_millis(100);
        assert_eq!(backoff(b, 1), Duration::from_millis(100));
        assert_eq!(backoff(b, 3), Duration::from_millis(400));
        assert_eq!(backoff(b, 40), MAX_BACKOFF);
    }

    #[test]
    fn url_or_path() {
        assert!(looks_like_url("https://mirror.example/osv"));
        assert!(looks_like_url("ftp://x"));
        assert!(!looks_like_url("../shared/data/osv"));
        assert!(!looks_like_url("/tmp/a://b"));
    }

    #[test]
    fn loopback_hosts() {
        for u in ["http://127.0.0.1:8/", "http://127.3.4.5/", "http://localhost/", "http://[::1]:9/"] {
            assert!(refusal(&Url::parse(u).unwrap(), false).is_none(), "{u}");
        }
        for u in ["http://10.0.0.1/", "http://mirror.example/", "http://localhost.evil.example/"] {
            assert!(refusal(&Url::parse(u).unwrap(), false).is_some(), "{u}");
            assert!(refusal(&Url::parse(u).unwrap(), true).is_none(), "{u}");
        }
        assert!(refusal(&Url::parse("file:///etc/passwd").unwrap(), true).is_some());
    }
}
