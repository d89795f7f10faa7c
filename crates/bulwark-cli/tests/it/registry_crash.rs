//! Crash safety of `bulwark registry`: the server is SIGKILLed in the middle of uploads and in
//! the middle of GC, restarted, and everything committed before the kill must still be there,
//! byte for byte, with every digest matching; what the kill interrupted must either be gone or
//! resumable, and never visible as a blob. SIGTERM, on the other hand, lets a download in
//! flight finish and exits 0.
//!
//! Kill points are made deterministic by stalling the clients: the upload bodies come from a
//! generator that stops at a chosen byte and waits, skopeo goes through a TCP proxy that stops
//! forwarding after a byte budget, and GC is killed when the number of blob files has dropped
//! by a chosen amount.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

use crate::common;

use crate::common::own_registry::{layout_digest, layout_tag, OwnRegistry};
use reqwest::blocking::{Body, Client, RequestBuilder};
use sha2::{Digest as _, Sha256};
use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

const MIB: u64 = 1 << 20;

const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.manifest.v1+json, \
     application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json";

// --- helpers ---------------------------------------------------------------------------------

fn ok(out: &Output) -> String {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// No overall timeout: the slow uploads and downloads here take their time on purpose.
fn client() -> Client {
    Client::builder().timeout(None).connect_timeout(Duration::from_secs(10)).build().unwrap()
}

type Creds = Option<(&'static str, &'static str)>;

fn with(r: RequestBuilder, creds: Creds) -> RequestBuilder {
    match creds {
        Some((u, p)) => r.basic_auth(u, Some(p)),
        None => r,
    }
}

fn sha256_file(p: &Path) -> String {
    let mut h = Sha256::new();
    std::io::copy(&mut std::fs::File::open(p).unwrap(), &mut h).unwrap();
    format!("sha256:{}", hex::encode(h.finalize()))
}

fn sha256_bytes(b: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(b)))
}

fn blob_dir(reg: &OwnRegistry) -> PathBuf {
    reg.data().join("blobs/sha256")
}

fn blob_names(reg: &OwnRegistry) -> BTreeSet<String> {
    std::fs::read_dir(blob_dir(reg))
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect()
}

fn blob_count(reg: &OwnRegistry) -> usize {
    std::fs::read_dir(blob_dir(reg)).map(|rd| rd.count()).unwrap_or(0)
}

/// Every file under `blobs/sha256/` is the blob its name says: no half-written or wrong blob is
/// ever visible, whatever was killed.
fn assert_blobs_named_by_content(reg: &OwnRegistry) -> usize {
    let mut n = 0;
    for e in std::fs::read_dir(blob_dir(reg)).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_str().unwrap().to_string();
        assert!(p.is_file(), "{} is not a file", p.display());
        assert_eq!(sha256_file(&p), format!("sha256:{name}"), "{} does not hold its digest", p.display());
        n += 1;
    }
    n
}

/// Startup removes what a killed `put_small` left in `tmp/`.
fn assert_tmp_empty(reg: &OwnRegistry) {
    let left: Vec<_> = std::fs::read_dir(reg.data().join("tmp")).unwrap().map(|e| e.unwrap().path()).collect();
    assert!(left.is_empty(), "tmp/ has leftovers after restart: {left:?}");
}

fn upload_file_size(reg: &OwnRegistry, id: &str) -> Option<u64> {
    std::fs::metadata(reg.data().join("uploads").join(id)).ok().map(|m| m.len())
}

fn upload_ids(reg: &OwnRegistry) -> BTreeSet<String> {
    std::fs::read_dir(reg.data().join("uploads"))
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned())).collect())
        .unwrap_or_default()
}

fn wait_until(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        thread::sleep(Duration::from_millis(5));
    }
}

/// Wait until `f` returns the same value for `quiet` (a stalled client's bytes have all landed).
fn wait_stable(timeout: Duration, quiet: Duration, mut f: impl FnMut() -> u64) -> u64 {
    let deadline = Instant::now() + timeout;
    let mut last = f();
    let mut since = Instant::now();
    loop {
        thread::sleep(Duration::from_millis(20));
        let now = f();
        if now != last {
            last = now;
            since = Instant::now();
        } else if since.elapsed() >= quiet {
            return now;
        }
        assert!(Instant::now() < deadline, "value never settled (last {last})");
    }
}

fn wait_child(child: &mut Child, timeout: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            return child.wait().unwrap();
        }
        thread::sleep(Duration::from_millis(20));
    }
}

// --- deterministic content -------------------------------------------------------------------

fn splitmix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Bytes `pos..pos+buf.len()` of the incompressible stream `seed`: random access, so an
/// interrupted upload resumes from wherever the server says it stands.
fn fill(seed: u64, mut pos: u64, buf: &mut [u8]) {
    let mut i = 0;
    while i < buf.len() {
        let word = splitmix(seed ^ (pos / 8).wrapping_mul(0x2545_f491_4f6c_dd1d)).to_le_bytes();
        let off = (pos % 8) as usize;
        let n = (8 - off).min(buf.len() - i);
        buf[i..i + n].copy_from_slice(&word[off..off + n]);
        i += n;
        pos += n as u64;
    }
}

fn stream_digest(seed: u64, len: u64) -> String {
    let mut h = Sha256::new();
    let mut buf = vec![0u8; MIB as usize];
    let mut pos = 0;
    while pos < len {
        let n = (len - pos).min(MIB) as usize;
        fill(seed, pos, &mut buf[..n]);
        h.update(&buf[..n]);
        pos += n as u64;
    }
    format!("sha256:{}", hex::encode(h.finalize()))
}

/// An upload body: bytes `pos..end` of stream `seed`, handed out slowly; at `stall_at` it stops
/// and waits until `release`, then fails (the server is dead by then).
struct Source {
    seed: u64,
    pos: u64,
    end: u64,
    stall_at: u64,
    release: Arc<AtomicBool>,
    progress: Arc<AtomicU64>,
}

impl Source {
    fn new(seed: u64, start: u64, end: u64) -> Source {
        Source {
            seed,
            pos: start,
            end,
            stall_at: u64::MAX,
            release: Arc::new(AtomicBool::new(true)),
            progress: Arc::new(AtomicU64::new(start)),
        }
    }
    fn stalling(mut self, at: u64, release: &Arc<AtomicBool>) -> Source {
        self.stall_at = at;
        self.release = release.clone();
        self
    }
    fn body(self) -> Body {
        let len = self.end - self.pos;
        Body::sized(self, len)
    }
}

impl Read for Source {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.pos >= self.end {
            return Ok(0);
        }
        if self.pos >= self.stall_at {
            while !self.release.load(SeqCst) {
                thread::sleep(Duration::from_millis(5));
            }
            return Err(std::io::Error::other("upload abandoned: the server was killed"));
        }
        let n = (self.end.min(self.stall_at) - self.pos).min(buf.len() as u64).min(256 << 10) as usize;
        fill(self.seed, self.pos, &mut buf[..n]);
        self.pos += n as u64;
        self.progress.store(self.pos, SeqCst);
        // A slow client: the server sees the body arrive in many pieces.
        thread::sleep(Duration::from_micros(500));
        Ok(n)
    }
}

/// GET a blob and hash it as it streams; returns (digest, length).
fn fetch_blob(c: &Client, reg: &OwnRegistry, repo: &str, digest: &str, creds: Creds) -> (String, u64) {
    let mut r = with(c.get(reg.url(&format!("/v2/{repo}/blobs/{digest}"))), creds).send().unwrap();
    assert_eq!(r.status(), 200, "GET blob {repo}@{digest}");
    assert_eq!(r.headers()["docker-content-digest"].to_str().unwrap(), digest);
    let mut h = Sha256::new();
    let n = std::io::copy(&mut r, &mut h).unwrap();
    (format!("sha256:{}", hex::encode(h.finalize())), n)
}

fn head_status(c: &Client, reg: &OwnRegistry, repo: &str, digest: &str, creds: Creds) -> u16 {
    with(c.head(reg.url(&format!("/v2/{repo}/blobs/{digest}"))), creds).send().unwrap().status().as_u16()
}

// --- committed images --------------------------------------------------------------------------

/// A manifest as the registry served it after its push, and the blobs it references.
struct Committed {
    repo: String,
    tag: String,
    digest: String,
    bytes: Vec<u8>,
    blobs: Vec<(String, u64)>,
}

impl Committed {
    fn fetch(c: &Client, reg: &OwnRegistry, repo: &str, tag: &str, layout: &Path, creds: Creds) -> Committed {
        let digest = layout_digest(layout);
        let r = with(c.get(reg.url(&format!("/v2/{repo}/manifests/{tag}"))), creds)
            .header("Accept", MANIFEST_ACCEPT)
            .send()
            .unwrap();
        assert_eq!(r.status(), 200, "GET {repo}:{tag}");
        assert_eq!(r.headers()["docker-content-digest"].to_str().unwrap(), digest);
        let bytes = r.bytes().unwrap().to_vec();
        // The registry holds the very manifest of the layout.
        assert_eq!(bytes, std::fs::read(layout.join("blobs/sha256").join(&digest[7..])).unwrap(), "{repo}:{tag}");
        assert_eq!(sha256_bytes(&bytes), digest);
        let m: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        let mut blobs = Vec::new();
        for d in std::iter::once(&m["config"]).chain(m["layers"].as_array().unwrap()) {
            blobs.push((d["digest"].as_str().unwrap().to_string(), d["size"].as_u64().unwrap()));
        }
        Committed { repo: repo.into(), tag: tag.into(), digest, bytes, blobs }
    }

    /// Every file this image needs, by name under `blobs/sha256/`.
    fn files(&self) -> impl Iterator<Item = String> + '_ {
        std::iter::once(self.digest[7..].to_string()).chain(self.blobs.iter().map(|(d, _)| d[7..].to_string()))
    }

    /// By tag and by digest the same bytes as before; every blob whole and matching its digest,
    /// through the API and on disk.
    fn check(&self, c: &Client, reg: &OwnRegistry, creds: Creds) {
        for reference in [&self.tag, &self.digest] {
            let r = with(c.get(reg.url(&format!("/v2/{}/manifests/{reference}", self.repo))), creds)
                .header("Accept", MANIFEST_ACCEPT)
                .send()
                .unwrap();
            assert_eq!(r.status(), 200, "GET {}:{reference}", self.repo);
            assert_eq!(r.headers()["docker-content-digest"].to_str().unwrap(), self.digest);
            assert_eq!(r.bytes().unwrap().to_vec(), self.bytes, "{}:{reference} changed", self.repo);
        }
        for (d, size) in &self.blobs {
            let p = blob_dir(reg).join(&d[7..]);
            assert!(p.is_file(), "{}: blob {d} is gone", self.repo);
            assert_eq!(sha256_file(&p), *d, "{}: blob {d} corrupted on disk", self.repo);
            assert_eq!(fetch_blob(c, reg, &self.repo, d, creds), (d.clone(), *size), "{}: blob {d}", self.repo);
        }
    }
}

fn push_layout(reg: &OwnRegistry, image: &str, repo: &str, creds: Option<&str>) -> (PathBuf, String) {
    let layout = common::image(image);
    let tag = layout_tag(&layout);
    ok(&reg.skopeo_push(&format!("oci:{}:{tag}", layout.display()), &format!("{repo}:{tag}"), creds));
    (layout, tag)
}

/// skopeo pulls the image into a fresh OCI layout, whole.
fn assert_pulls(reg: &OwnRegistry, img: &Committed, work: &Path, creds: Option<&str>) {
    static PULLS: AtomicUsize = AtomicUsize::new(0);
    let out_layout = work.join(format!("{}-{}", img.repo.replace('/', "_"), PULLS.fetch_add(1, SeqCst)));
    ok(&reg.skopeo_pull(&format!("{}:{}", img.repo, img.tag), &format!("oci:{}:x", out_layout.display()), creds));
    let idx = std::fs::read_to_string(out_layout.join("index.json")).unwrap();
    assert!(idx.contains(&img.digest), "{}: pulled {idx}", img.repo);
    let mut n = 0;
    for e in std::fs::read_dir(out_layout.join("blobs/sha256")).unwrap() {
        let p = e.unwrap().path();
        assert_eq!(sha256_file(&p), format!("sha256:{}", p.file_name().unwrap().to_str().unwrap()));
        n += 1;
    }
    assert_eq!(n, img.blobs.len() + 1, "{}: pulled blobs", img.repo);
    std::fs::remove_dir_all(&out_layout).unwrap();
}

// --- a throttling proxy for skopeo -----------------------------------------------------------

/// Forwards connections to the registry; client-to-server bytes stop after `budget` in all
/// (the client hangs mid-request) until `release`, when every connection is cut.
struct Throttle {
    port: u16,
    forwarded: Arc<AtomicU64>,
}

fn throttle(upstream: u16, budget: u64, release: &Arc<AtomicBool>) -> Throttle {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let forwarded = Arc::new(AtomicU64::new(0));
    let (f, rel) = (forwarded.clone(), release.clone());
    thread::spawn(move || {
        for conn in l.incoming() {
            let Ok(client) = conn else { break };
            if rel.load(SeqCst) {
                break;
            }
            let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else { continue };
            let (mut s2, mut c2) = (server.try_clone().unwrap(), client.try_clone().unwrap());
            thread::spawn(move || {
                let _ = std::io::copy(&mut s2, &mut c2);
                let _ = c2.shutdown(Shutdown::Both);
                let _ = s2.shutdown(Shutdown::Both);
            });
            let (f, rel) = (f.clone(), rel.clone());
            thread::spawn(move || pump(client, server, budget, &f, &rel));
        }
    });
    Throttle { port, forwarded }
}

fn pump(mut from: TcpStream, mut to: TcpStream, budget: u64, forwarded: &AtomicU64, release: &AtomicBool) {
    let mut buf = vec![0u8; 64 << 10];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let before = forwarded.fetch_add(n as u64, SeqCst);
        let allowed = budget.saturating_sub(before).min(n as u64) as usize;
        if allowed > 0 && to.write_all(&buf[..allowed]).is_err() {
            break;
        }
        if allowed < n {
            while !release.load(SeqCst) {
                thread::sleep(Duration::from_millis(5));
            }
            break;
        }
    }
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
}

// --- 1. SIGKILL during uploads ---------------------------------------------------------------

#[test]
fn sigkill_during_uploads_loses_nothing_committed_and_shows_no_partial_blob() {
    bulwark_testkit::require_tool!("skopeo");
    // Blobs are never collected here (the default hour of grace); abandoned uploads are, after
    // a second.
    let mut reg = OwnRegistry::start("anonymous = \"full\"", "[scan]\non_push = false\n[gc]\nupload_max_age_secs = 1");
    let c = client();
    let work = tempfile::tempdir().unwrap();

    // Two committed images.
    let mut committed = Vec::new();
    for (image, repo) in [("multi-layer", "crash/multi"), ("java-app", "crash/java")] {
        let (layout, tag) = push_layout(&reg, image, repo, None);
        committed.push(Committed::fetch(&c, &reg, repo, &tag, &layout, None));
    }
    let before_files = blob_names(&reg);

    let release = Arc::new(AtomicBool::new(false));

    // A: a 128 MB blob in 32 MB PATCH chunks; the first chunk lands, the second stalls 10 MB in.
    const SEED_A: u64 = 0xa11ce;
    const TOTAL_A: u64 = 128 * MIB + 4321;
    const CHUNK: u64 = 32 * MIB;
    const STALL_A: u64 = CHUNK + 10 * MIB + 123;
    let digest_a = stream_digest(SEED_A, TOTAL_A);
    let r = c.post(reg.url("/v2/crash/chunked/blobs/uploads/")).send().unwrap();
    assert_eq!(r.status(), 202);
    let loc = r.headers()["location"].to_str().unwrap().to_string();
    let id_a = loc.rsplit('/').next().unwrap().to_string();
    let r = c
        .patch(reg.url(&loc))
        .header("Content-Type", "application/octet-stream")
        .header("Content-Range", format!("0-{}", CHUNK - 1))
        .body(Source::new(SEED_A, 0, CHUNK).body())
        .send()
        .unwrap();
    assert_eq!(r.status(), 202);
    assert_eq!(r.headers()["range"].to_str().unwrap(), format!("0-{}", CHUNK - 1));
    let loc_a = r.headers()["location"].to_str().unwrap().to_string();
    let upload_a = {
        let (c, url, rel) = (c.clone(), reg.url(&loc_a), release.clone());
        thread::spawn(move || {
            c.patch(url)
                .header("Content-Type", "application/octet-stream")
                .header("Content-Range", format!("{CHUNK}-{}", 2 * CHUNK - 1))
                .body(Source::new(SEED_A, CHUNK, 2 * CHUNK).stalling(STALL_A, &rel).body())
                .send()
                .map(|r| r.status().as_u16())
                .map_err(|e| e.to_string())
        })
    };
    wait_until("upload A reaches its stall point", Duration::from_secs(120), || {
        upload_file_size(&reg, &id_a).unwrap_or(0) >= STALL_A - MIB
    });
    let seen_a =
        wait_stable(Duration::from_secs(60), Duration::from_millis(300), || upload_file_size(&reg, &id_a).unwrap_or(0));
    assert!((CHUNK..=STALL_A).contains(&seen_a), "upload A stored {seen_a}");

    // B: a 48 MB monolithic POST ?digest=, stalled 20 MB in.
    const SEED_B: u64 = 0xb0b;
    const TOTAL_B: u64 = 48 * MIB + 77;
    const STALL_B: u64 = 20 * MIB + 5;
    let digest_b = stream_digest(SEED_B, TOTAL_B);
    let ids_before_b = upload_ids(&reg);
    let upload_b = {
        let (c, url, rel) =
            (c.clone(), reg.url(&format!("/v2/crash/mono/blobs/uploads/?digest={digest_b}")), release.clone());
        thread::spawn(move || {
            c.post(url)
                .header("Content-Type", "application/octet-stream")
                .body(Source::new(SEED_B, 0, TOTAL_B).stalling(STALL_B, &rel).body())
                .send()
                .map(|r| r.status().as_u16())
                .map_err(|e| e.to_string())
        })
    };
    let mut id_b = String::new();
    wait_until("upload B reaches its stall point", Duration::from_secs(120), || {
        for id in upload_ids(&reg).difference(&ids_before_b) {
            if upload_file_size(&reg, id).unwrap_or(0) >= STALL_B - MIB {
                id_b = id.clone();
                return true;
            }
        }
        false
    });
    let seen_b =
        wait_stable(Duration::from_secs(60), Duration::from_millis(300), || upload_file_size(&reg, &id_b).unwrap_or(0));
    assert!(seen_b <= STALL_B, "upload B stored {seen_b}");

    // C: skopeo pushes a third image through a proxy that stops forwarding 10 MB in, which is in
    // the middle of its 24 MB layer.
    let third_layout = common::image("zstd-layer");
    let third_tag = layout_tag(&third_layout);
    let third_manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(third_layout.join("blobs/sha256").join(&layout_digest(&third_layout)[7..])).unwrap(),
    )
    .unwrap();
    let third_layer = third_manifest["layers"][0]["digest"].as_str().unwrap().to_string();
    let proxy = throttle(reg.port, 10 * MIB, &release);
    let ids_before_c = upload_ids(&reg);
    let mut skopeo = Command::new("skopeo")
        .args(["copy", "--retry-times", "0", "--dest-tls-verify=false"])
        .arg(format!("oci:{}:{third_tag}", third_layout.display()))
        .arg(format!("docker://127.0.0.1:{}/crash/third:{third_tag}", proxy.port))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_until("skopeo's push reaches the proxy's budget", Duration::from_secs(120), || {
        proxy.forwarded.load(SeqCst) >= 10 * MIB
    });
    let mut id_c = String::new();
    wait_until("skopeo's layer upload lands", Duration::from_secs(60), || {
        for id in upload_ids(&reg).difference(&ids_before_c) {
            if upload_file_size(&reg, id).unwrap_or(0) >= 8 * MIB {
                id_c = id.clone();
                return true;
            }
        }
        false
    });
    wait_stable(Duration::from_secs(60), Duration::from_millis(300), || upload_file_size(&reg, &id_c).unwrap_or(0));
    assert!(skopeo.try_wait().unwrap().is_none(), "skopeo finished before the kill");

    // All three are in flight: SIGKILL.
    reg.kill();
    release.store(true, SeqCst);
    let res_a = upload_a.join().unwrap();
    let res_b = upload_b.join().unwrap();
    assert!(!matches!(res_a, Ok(s) if s < 300), "upload A succeeded: {res_a:?}");
    assert!(!matches!(res_b, Ok(s) if s < 300), "upload B succeeded: {res_b:?}");
    let status = wait_child(&mut skopeo, Duration::from_secs(60));
    assert!(!status.success(), "skopeo's push survived the kill");
    // What was interrupted never became a blob.
    for d in [&digest_a, &digest_b, &third_layer] {
        assert!(!blob_dir(&reg).join(&d[7..]).exists(), "{d} is a blob, but its upload was killed");
    }
    assert_eq!(upload_file_size(&reg, &id_a), Some(seen_a), "upload A changed after the kill");
    eprintln!(
        "killed with upload A at {seen_a} of {TOTAL_A} bytes, B at {seen_b} of {TOTAL_B}, skopeo's layer at {} bytes",
        upload_file_size(&reg, &id_c).unwrap_or(0)
    );

    reg.restart();
    assert_tmp_empty(&reg);
    let n = assert_blobs_named_by_content(&reg);
    assert!(n >= before_files.len());
    assert!(blob_names(&reg).is_superset(&before_files));
    for img in &committed {
        img.check(&c, &reg, None);
    }
    assert_eq!(head_status(&c, &reg, "crash/chunked", &digest_a, None), 404);
    assert_eq!(head_status(&c, &reg, "crash/mono", &digest_b, None), 404);

    // A is resumable from exactly what the server stored; if it were gone, it could be
    // restarted. Either way the blob then verifies.
    let r = c.get(reg.url(&format!("/v2/crash/chunked/blobs/uploads/{id_a}"))).send().unwrap();
    let loc = match r.status().as_u16() {
        204 => {
            let range = r.headers()["range"].to_str().unwrap().to_string();
            assert_eq!(range, format!("0-{}", seen_a - 1), "upload A after restart");
            eprintln!("upload A resumes at {seen_a}");
            let r = c
                .patch(reg.url(r.headers()["location"].to_str().unwrap()))
                .header("Content-Type", "application/octet-stream")
                .header("Content-Range", format!("{seen_a}-{}", TOTAL_A - 1))
                .body(Source::new(SEED_A, seen_a, TOTAL_A).body())
                .send()
                .unwrap();
            assert_eq!(r.status(), 202, "resuming upload A: {:?}", r.text());
            assert_eq!(r.headers()["range"].to_str().unwrap(), format!("0-{}", TOTAL_A - 1));
            r.headers()["location"].to_str().unwrap().to_string()
        }
        404 => {
            eprintln!("upload A was dropped by the restart: uploading it again");
            let r = c.post(reg.url("/v2/crash/chunked/blobs/uploads/")).send().unwrap();
            assert_eq!(r.status(), 202);
            let loc = r.headers()["location"].to_str().unwrap().to_string();
            let r = c.patch(reg.url(&loc)).body(Source::new(SEED_A, 0, TOTAL_A).body()).send().unwrap();
            assert_eq!(r.status(), 202);
            r.headers()["location"].to_str().unwrap().to_string()
        }
        s => panic!("upload A status after restart: {s}"),
    };
    let sep = if loc.contains('?') { '&' } else { '?' };
    let r = c.put(reg.url(&format!("{loc}{sep}digest={digest_a}"))).send().unwrap();
    assert_eq!(r.status(), 201, "committing upload A: {:?}", r.text());
    assert_eq!(fetch_blob(&c, &reg, "crash/chunked", &digest_a, None), (digest_a.clone(), TOTAL_A));

    // B's upload is there (it was never acknowledged, so the client cannot resume it, but GC
    // will collect it); a fresh monolithic upload of the same blob succeeds.
    let r = c.get(reg.url(&format!("/v2/crash/mono/blobs/uploads/{id_b}"))).send().unwrap();
    if r.status() == 204 {
        assert_eq!(r.headers()["range"].to_str().unwrap(), format!("0-{}", seen_b - 1));
    } else {
        assert_eq!(r.status(), 404);
    }
    let r = c
        .post(reg.url(&format!("/v2/crash/mono/blobs/uploads/?digest={digest_b}")))
        .header("Content-Type", "application/octet-stream")
        .body(Source::new(SEED_B, 0, TOTAL_B).body())
        .send()
        .unwrap();
    assert_eq!(r.status(), 201, "monolithic upload B after restart: {:?}", r.text());
    assert_eq!(fetch_blob(&c, &reg, "crash/mono", &digest_b, None), (digest_b.clone(), TOTAL_B));

    // skopeo pulls both earlier images, and pushes the third one again.
    for img in &committed {
        assert_pulls(&reg, img, work.path(), None);
    }
    ok(&reg.skopeo_push(
        &format!("oci:{}:{third_tag}", third_layout.display()),
        &format!("crash/third:{third_tag}"),
        None,
    ));
    let third = Committed::fetch(&c, &reg, "crash/third", &third_tag, &third_layout, None);
    third.check(&c, &reg, None);
    assert_pulls(&reg, &third, work.path(), None);

    // What the kill left in uploads/ (B, skopeo's layer) is abandoned: GC removes it, and
    // nothing committed.
    let leftovers = upload_ids(&reg);
    assert!(leftovers.contains(&id_b) && leftovers.contains(&id_c), "{leftovers:?}");
    reg.add_user("root", "root-password", &[], true);
    thread::sleep(Duration::from_millis(1500));
    let (status, body) = gc_request(&c, &reg.url("/api/v1/gc")).unwrap();
    assert_eq!(status, 200, "{body}");
    let report: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(report["blobs_deleted"], 0, "{report}");
    assert!(report["uploads_removed"].as_u64().unwrap() >= 2, "{report}");
    assert!(upload_ids(&reg).is_empty(), "{:?}", upload_ids(&reg));
    let r = c.get(reg.url(&format!("/v2/crash/mono/blobs/uploads/{id_b}"))).send().unwrap();
    assert_eq!(r.status(), 404);
    for img in committed.iter().chain([&third]) {
        img.check(&c, &reg, None);
    }
    assert_blobs_named_by_content(&reg);
    assert_tmp_empty(&reg);
}

// --- 2. SIGKILL during GC --------------------------------------------------------------------

const ROOT: Creds = Some(("root", "root-password"));

fn gc_request(c: &Client, url: &str) -> Result<(u16, String), String> {
    let r = with(c.post(url), ROOT).send().map_err(|e| e.to_string())?;
    let status = r.status().as_u16();
    Ok((status, r.text().map_err(|e| e.to_string())?))
}

#[test]
fn sigkill_during_gc_keeps_every_referenced_blob() {
    bulwark_testkit::require_tool!("skopeo");
    let mut reg = OwnRegistry::start("", "[scan]\non_push = false\n[gc]\ngrace_secs = 0");
    reg.add_user("root", "root-password", &[], true);
    let skopeo_creds = Some("root:root-password");
    let c = client();
    let work = tempfile::tempdir().unwrap();

    // Kept images; node-app is also pushed to a repository where it is then deleted, and
    // python-app (deleted) shares its two big layers with multi-layer (kept).
    let mut kept = Vec::new();
    for (image, repo) in [("multi-layer", "keep/multi"), ("java-app", "keep/java"), ("node-app", "keep/node")] {
        let (layout, tag) = push_layout(&reg, image, repo, skopeo_creds);
        kept.push(Committed::fetch(&c, &reg, repo, &tag, &layout, ROOT));
    }
    let mut gone = Vec::new();
    for (image, repo) in [
        ("python-app", "gone/python"),
        ("node-app", "gone/node"),
        ("zstd-layer", "gone/zstd"),
        ("rust-app", "gone/rust"),
    ] {
        let (layout, tag) = push_layout(&reg, image, repo, skopeo_creds);
        gone.push(Committed::fetch(&c, &reg, repo, &tag, &layout, ROOT));
    }
    for img in &gone {
        let r = with(c.delete(reg.url(&format!("/v2/{}/manifests/{}", img.repo, img.digest))), ROOT).send().unwrap();
        assert_eq!(r.status(), 202, "DELETE {}@{}", img.repo, img.digest);
        let r = with(c.get(reg.url(&format!("/v2/{}/manifests/{}", img.repo, img.digest))), ROOT).send().unwrap();
        assert_eq!(r.status(), 404);
    }
    let keep: BTreeSet<String> = kept.iter().flat_map(|m| m.files()).collect();

    // Unreferenced blobs: small ones uploaded through the API (linked to their repository until
    // GC prunes the link), and many orphans (blobs no metadata knows, as a kill between writing
    // a manifest's blob and recording it leaves) so that the sweep takes long enough to kill.
    const API_BLOBS: usize = 2_000;
    const ORPHANS: usize = 18_000;
    let t = Instant::now();
    let mut junk = Vec::new();
    for i in 0..API_BLOBS {
        let body = format!("junk blob {i}\n").into_bytes();
        let d = sha256_bytes(&body);
        let r = with(c.post(reg.url(&format!("/v2/gone/junk/blobs/uploads/?digest={d}"))), ROOT)
            .header("Content-Type", "application/octet-stream")
            .body(body)
            .send()
            .unwrap();
        assert_eq!(r.status(), 201);
        junk.push(d);
    }
    eprintln!("{API_BLOBS} monolithic uploads in {:?}", t.elapsed());
    for i in 0..ORPHANS {
        let body = format!("orphan blob {i}\n").into_bytes();
        std::fs::write(blob_dir(&reg).join(&sha256_bytes(&body)[7..]), &body).unwrap();
    }
    // Links are pruned when older than `now - grace`, to the second.
    thread::sleep(Duration::from_millis(1100));

    let total = blob_count(&reg);
    assert!(total >= keep.len() + API_BLOBS + ORPHANS, "{total} blobs");
    let deletable = total - keep.len();
    eprintln!("{total} blobs, {} referenced, {deletable} to collect", keep.len());

    let check = |reg: &OwnRegistry| {
        assert_tmp_empty(reg);
        assert_blobs_named_by_content(reg);
        let names = blob_names(reg);
        let missing: Vec<_> = keep.difference(&names).collect();
        assert!(missing.is_empty(), "referenced blobs gone: {missing:?}");
        for img in &kept {
            img.check(&c, reg, ROOT);
        }
    };

    // Kill points: while GC is marking (right after the request), at its first deletion, then
    // a sixth of the way further each time.
    let step = deletable / 6;
    let mut killed_mid_sweep = 0;
    for (round, want) in [None, Some(1), Some(step), Some(step), Some(step)].into_iter().enumerate() {
        let before = blob_count(&reg);
        let gc = {
            let (c, url) = (c.clone(), reg.url("/api/v1/gc"));
            thread::spawn(move || gc_request(&c, &url))
        };
        match want {
            None => thread::sleep(Duration::from_millis(20)),
            Some(k) => {
                let deadline = Instant::now() + Duration::from_secs(300);
                while before.saturating_sub(blob_count(&reg)) < k && !gc.is_finished() && Instant::now() < deadline {
                    thread::sleep(Duration::from_micros(200));
                }
            }
        }
        reg.kill();
        let res = gc.join().unwrap();
        let after = blob_count(&reg);
        eprintln!("round {round}: kill at {want:?} deletions: {before} -> {after} blobs; gc request: {res:?}");
        if after > keep.len() && after < before {
            killed_mid_sweep += 1;
        }
        if let Ok((status, body)) = &res {
            // GC got to finish before the kill.
            assert_eq!(*status, 200, "{body}");
        }
        if round == 4 {
            // The offline GC works on the data directory of a killed server (its lock died with
            // it). Its default hour of grace keeps the young orphans; it must not harm anything.
            let out = common::bulwark().args(["registry", "gc", "--data"]).arg(reg.data()).output().unwrap();
            let report: serde_json::Value = serde_json::from_str(&ok(&out)).unwrap();
            eprintln!("offline gc after the kill: {report}");
            assert_eq!(blob_count(&reg), after, "{report}");
        }
        reg.restart();
        check(&reg);
        if after == keep.len() {
            break;
        }
    }
    assert!(killed_mid_sweep >= 1, "GC was never killed in the middle of its sweep");

    // skopeo pulls what is kept.
    for img in &kept {
        assert_pulls(&reg, img, work.path(), skopeo_creds);
    }

    // GC to completion collects exactly the unreferenced blobs.
    let (status, body) = gc_request(&c, &reg.url("/api/v1/gc")).unwrap();
    assert_eq!(status, 200, "{body}");
    let report: serde_json::Value = serde_json::from_str(&body).unwrap();
    eprintln!("final gc: {report}");
    assert_eq!(report["kept_young"], 0, "{report}");
    assert_eq!(blob_names(&reg), keep, "after GC, the blobs are exactly the referenced ones");
    check(&reg);
    for d in junk.iter().take(5) {
        assert_eq!(head_status(&c, &reg, "gone/junk", d, ROOT), 404);
    }
    for img in &gone {
        let r = with(c.get(reg.url(&format!("/v2/{}/manifests/{}", img.repo, img.digest))), ROOT).send().unwrap();
        assert_eq!(r.status(), 404);
    }
    // And once more: nothing left to do.
    let (status, body) = gc_request(&c, &reg.url("/api/v1/gc")).unwrap();
    assert_eq!(status, 200, "{body}");
    let report: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(report["blobs_deleted"], 0, "{report}");
    assert_eq!(blob_names(&reg), keep);
}

// --- 3. SIGTERM during a download ------------------------------------------------------------

#[test]
fn sigterm_lets_a_download_in_flight_finish_and_exits_0() {
    let mut reg = OwnRegistry::start("anonymous = \"full\"", "[scan]\non_push = false");
    let c = client();
    const SEED: u64 = 0xd0d0;
    const TOTAL: u64 = 160 * MIB + 3;
    let digest = stream_digest(SEED, TOTAL);
    let r = c
        .post(reg.url(&format!("/v2/big/dl/blobs/uploads/?digest={digest}")))
        .header("Content-Type", "application/octet-stream")
        .body(Source::new(SEED, 0, TOTAL).body())
        .send()
        .unwrap();
    assert_eq!(r.status(), 201, "{:?}", r.text());

    // A slow reader: ~30 MB/s, so the 160 MB take several seconds, far more than the socket
    // buffers hold.
    let progress = Arc::new(AtomicU64::new(0));
    let download = {
        let (url, progress) = (reg.url(&format!("/v2/big/dl/blobs/{digest}")), progress.clone());
        thread::spawn(move || {
            // Its own client: no idle pooled connection shared with the test thread.
            let mut r = client().get(url).send().map_err(|e| e.to_string())?;
            if r.status() != 200 {
                return Err(format!("status {}", r.status()));
            }
            let mut h = Sha256::new();
            let mut buf = vec![0u8; 256 << 10];
            let mut n = 0u64;
            loop {
                let k = r.read(&mut buf).map_err(|e| format!("after {n} bytes: {e}"))?;
                if k == 0 {
                    break;
                }
                h.update(&buf[..k]);
                n += k as u64;
                progress.store(n, SeqCst);
                thread::sleep(Duration::from_millis(8));
            }
            Ok((format!("sha256:{}", hex::encode(h.finalize())), n))
        })
    };
    wait_until("the download is under way", Duration::from_secs(60), || progress.load(SeqCst) >= 16 * MIB);

    // SIGTERM: the listener closes at once while the download goes on.
    let pid = reg.pid().unwrap().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    wait_until("the server stops accepting connections", Duration::from_secs(10), || {
        TcpStream::connect(("127.0.0.1", reg.port)).is_err()
    });
    let at_close = progress.load(SeqCst);
    assert!(at_close < TOTAL, "the download had finished before the listener closed");

    let code = reg.terminate();
    let got = download.join().unwrap();
    assert_eq!(code, Some(0), "exit after SIGTERM:\n{}", reg.log());
    assert_eq!(
        got,
        Ok((digest.clone(), TOTAL)),
        "the download in flight (at {at_close} bytes when the listener closed)"
    );

    // A clean stop leaves a clean data directory.
    reg.restart();
    assert_tmp_empty(&reg);
    assert_blobs_named_by_content(&reg);
    assert_eq!(head_status(&c, &reg, "big/dl", &digest, None), 200);
}

// --- 4. one upload, two requests: a committed blob is never written again (issue 10, D1) -----

const ALICE: Creds = Some(("alice", "alice-password"));

/// team-b/secret and the public pub/base hold node-app; alice may push to team-a only.
fn shared_layer_setup() -> (OwnRegistry, Committed, String, Vec<u8>) {
    let reg = OwnRegistry::start("", "[scan]\non_push = false\n[gc]\ngrace_secs = 0");
    reg.add_user("root", "root-password", &[], true);
    reg.add_user("alice", "alice-password", &["team-a:push"], false);
    reg.project("team-a", &[]);
    reg.project("team-b", &[]);
    reg.project("pub", &["--public", "true"]);
    let c = client();
    let (layout, tag) = push_layout(&reg, "node-app", "team-b/secret", Some("root:root-password"));
    push_layout(&reg, "node-app", "pub/base", Some("root:root-password"));
    let secret = Committed::fetch(&c, &reg, "team-b/secret", &tag, &layout, ROOT);
    // The layer D: the biggest blob, whose bytes alice can pull from pub/base.
    let (d, _) = secret.blobs.iter().max_by_key(|(_, s)| *s).unwrap().clone();
    let bytes = client().get(reg.url(&format!("/v2/pub/base/blobs/{d}"))).send().unwrap().bytes().unwrap().to_vec();
    assert_eq!(sha256_bytes(&bytes), d);
    (reg, secret, d, bytes)
}

fn start_upload(c: &Client, reg: &OwnRegistry, repo: &str, creds: Creds) -> String {
    let r = with(c.post(reg.url(&format!("/v2/{repo}/blobs/uploads/"))), creds).send().unwrap();
    assert_eq!(r.status(), 202, "POST upload in {repo}");
    r.headers()["location"].to_str().unwrap().to_string()
}

/// A PATCH on a raw connection that declares `len` body bytes and sends only `first` of them:
/// the server is then inside the request, waiting for the rest.
fn slow_patch(reg: &OwnRegistry, location: &str, len: usize, first: &[u8], creds: Creds) -> TcpStream {
    use base64::Engine;
    let mut s = TcpStream::connect(("127.0.0.1", reg.port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let auth = match creds {
        Some((u, p)) => {
            format!("Authorization: Basic {}\r\n", base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}")))
        }
        None => String::new(),
    };
    let head = format!(
        "PATCH {location} HTTP/1.1\r\nHost: {}\r\n{auth}Content-Type: application/octet-stream\r\nContent-Length: {len}\r\n\r\n",
        reg.host()
    );
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(first).unwrap();
    s.flush().unwrap();
    // Let the server authenticate and start writing the body into the upload.
    thread::sleep(Duration::from_millis(800));
    s
}

/// The status code of the answer on a raw connection.
fn raw_status(s: &mut TcpStream) -> u16 {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        match s.read(&mut byte) {
            Ok(1) => buf.push(byte[0]),
            _ => break,
        }
    }
    let head = String::from_utf8_lossy(&buf);
    head.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or_else(|| panic!("no answer: {head:?}"))
}

fn blob_inode(reg: &OwnRegistry, digest: &str) -> u64 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(blob_dir(reg).join(&digest[7..])).unwrap().ino()
}

/// The append variant: a second PATCH on alice's upload is still streaming when she commits
/// the upload as D; before the fix its rest landed in the shared blob D (1,050,671 bytes grew
/// to 1,350,671 and every image using D failed to pull).
#[test]
fn a_patch_streaming_into_a_committed_upload_cannot_grow_the_shared_blob() {
    bulwark_testkit::require_tool!("skopeo");
    let (reg, secret, d, layer) = shared_layer_setup();
    let c = client();
    let work = tempfile::tempdir().unwrap();
    let inode = blob_inode(&reg, &d);

    let loc = start_upload(&c, &reg, "team-a/scratch", ALICE);
    let r = with(c.patch(reg.url(&loc)), ALICE).body(layer.clone()).send().unwrap();
    assert_eq!(r.status(), 202, "PATCH the layer");
    const DECLARED: usize = 300_000;
    let junk = vec![b'x'; DECLARED];
    let mut second = slow_patch(&reg, &loc, DECLARED, &junk[..10], ALICE);
    let put = with(c.put(reg.url(&format!("{loc}?digest={d}"))), ALICE).send().unwrap();
    let put_status = put.status().as_u16();
    let put_body = put.text().unwrap();
    second.write_all(&junk[10..]).unwrap();
    let patch_status = raw_status(&mut second);
    drop(second);
    thread::sleep(Duration::from_millis(300));

    // The other project's blob is byte for byte what was pushed, on disk and through the API,
    // and skopeo still pulls the image.
    secret.check(&c, &reg, ROOT);
    assert_pulls(&reg, &secret, work.path(), Some("root:root-password"));
    // The commit raced a request on the same upload: refused, not half-done.
    assert_eq!(put_status, 416, "PUT while a PATCH streams into the upload: {put_body}");
    assert!(put_body.contains("BLOB_UPLOAD_INVALID"), "{put_body}");
    assert_eq!(patch_status, 202, "the PATCH that held the upload");
    // The existing blob D was never replaced: the same file as before.
    assert_eq!(blob_inode(&reg, &d), inode, "blob {d} was replaced");

    // A plain upload of D into alice's own repository (D exists already) is accepted, links
    // D there, and still leaves the stored file alone.
    let loc = start_upload(&c, &reg, "team-a/scratch", ALICE);
    let r = with(c.put(reg.url(&format!("{loc}?digest={d}"))), ALICE).body(layer.clone()).send().unwrap();
    assert_eq!(r.status(), 201, "a sequential upload of an existing blob");
    assert_eq!(blob_inode(&reg, &d), inode, "blob {d} was replaced by a later upload of the same content");
    assert_eq!(fetch_blob(&c, &reg, "team-a/scratch", &d, ALICE), (d.clone(), layer.len() as u64));
    secret.check(&c, &reg, ROOT);
}

/// The truncate variant: a PATCH holds the (empty) upload open while the real layer is
/// PATCHed and committed through it; dropping the first PATCH rolled the upload back to 0
/// bytes, which before the fix was the shared blob D.
#[test]
fn a_dropped_patch_cannot_truncate_a_committed_blob() {
    bulwark_testkit::require_tool!("skopeo");
    let (reg, secret, d, layer) = shared_layer_setup();
    let c = client();
    let work = tempfile::tempdir().unwrap();

    let loc = start_upload(&c, &reg, "team-a/scratch", ALICE);
    let first = slow_patch(&reg, &loc, 1000, b"", ALICE);
    let r = with(c.patch(reg.url(&loc)), ALICE).body(layer.clone()).send().unwrap();
    let patch_status = r.status().as_u16();
    let patch_body = r.text().unwrap();
    let put = with(c.put(reg.url(&format!("{loc}?digest={d}"))), ALICE).send().unwrap();
    let put_status = put.status().as_u16();
    let put_body = put.text().unwrap();
    first.shutdown(Shutdown::Both).unwrap();
    drop(first);
    // The server notices the dropped body and rolls its upload back.
    thread::sleep(Duration::from_millis(1000));

    assert_eq!(std::fs::metadata(blob_dir(&reg).join(&d[7..])).unwrap().len(), layer.len() as u64, "blob {d} size");
    secret.check(&c, &reg, ROOT);
    assert_pulls(&reg, &secret, work.path(), Some("root:root-password"));
    // Both requests that came while the first PATCH held the upload were refused.
    assert_eq!(patch_status, 416, "a second PATCH on a busy upload: {patch_body}");
    assert!(patch_body.contains("BLOB_UPLOAD_INVALID") && patch_body.contains("busy"), "{patch_body}");
    assert_eq!(put_status, 416, "a PUT on a busy upload: {put_body}");
    // Once the first PATCH is gone the upload is usable again, from where it stands.
    let r = with(c.put(reg.url(&format!("{loc}?digest={d}"))), ALICE).body(layer.clone()).send().unwrap();
    assert_eq!(r.status(), 201, "the upload after the dropped PATCH: {:?}", r.text());
    secret.check(&c, &reg, ROOT);
}

/// A byte flipped in a stored layer, and a config cut short, are found by GC: reported,
/// moved out of the blob store (no longer served), and a push of the image heals it.
#[test]
fn gc_finds_quarantines_and_reports_damaged_blobs() {
    bulwark_testkit::require_tool!("skopeo");
    let reg = OwnRegistry::start("", "[scan]\non_push = false\n[gc]\ngrace_secs = 0");
    reg.add_user("root", "root-password", &[], true);
    let c = client();
    let work = tempfile::tempdir().unwrap();
    let (layout, tag) = push_layout(&reg, "node-app", "keep/node", Some("root:root-password"));
    let img = Committed::fetch(&c, &reg, "keep/node", &tag, &layout, ROOT);
    let (layer, size) = img.blobs.iter().max_by_key(|(_, s)| *s).unwrap().clone();
    let config = img.blobs[0].0.clone();
    assert_ne!(layer, config);

    // A clean registry verifies clean.
    let (status, text) = gc_request(&c, &reg.url("/api/v1/gc")).unwrap();
    assert_eq!(status, 200, "{text}");
    let report: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(report["blobs_verified"], 3, "{text}");
    assert_eq!(report["corrupt"], serde_json::json!([]), "{text}");

    // Flip one byte in the middle of the layer (size unchanged); cut the config short.
    let lp = blob_dir(&reg).join(&layer[7..]);
    let mut bytes = std::fs::read(&lp).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    std::fs::write(&lp, &bytes).unwrap();
    let cp = blob_dir(&reg).join(&config[7..]);
    let cbytes = std::fs::read(&cp).unwrap();
    std::fs::write(&cp, &cbytes[..cbytes.len() - 1]).unwrap();

    // A dry run reports and moves nothing.
    let (status, text) = gc_request(&c, &reg.url("/api/v1/gc?dry_run=true")).unwrap();
    assert_eq!(status, 200, "{text}");
    let report: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(report["corrupt"].as_array().map(Vec::len), Some(2), "{text}");
    assert!(lp.is_file());

    let (status, text) = gc_request(&c, &reg.url("/api/v1/gc")).unwrap();
    assert_eq!(status, 200, "{text}");
    let report: serde_json::Value = serde_json::from_str(&text).unwrap();
    let corrupt: BTreeSet<String> =
        report["corrupt"].as_array().unwrap().iter().map(|v| v["digest"].as_str().unwrap().to_string()).collect();
    assert_eq!(corrupt, BTreeSet::from([layer.clone(), config.clone()]), "{text}");
    assert_eq!(report["blobs_quarantined"], 2, "{text}");
    // Not served any more, kept aside for inspection, and said in the log.
    assert!(!lp.exists() && !cp.exists(), "damaged blobs left in the blob store");
    assert_eq!(std::fs::read(reg.data().join("quarantine").join(&layer[7..])).unwrap(), bytes);
    assert_eq!(head_status(&c, &reg, "keep/node", &layer, ROOT), 404);
    let log = reg.log();
    assert!(log.contains(&layer) && log.contains("quarantine"), "log:\n{log}");

    // Pushing the image again uploads the missing blobs, and it pulls whole.
    push_layout(&reg, "node-app", "keep/node", Some("root:root-password"));
    assert_eq!(fetch_blob(&c, &reg, "keep/node", &layer, ROOT), (layer.clone(), size));
    img.check(&c, &reg, ROOT);
    assert_pulls(&reg, &img, work.path(), Some("root:root-password"));
}
