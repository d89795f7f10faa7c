//! `download` against a real HTTP/1.1 server on loopback, run by each test, serving real
//! OSV zips from ../shared with Range support and scripted misbehaviour.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

use bulwark_vulndb::download::{fetch_bucket, fetch_bucket_report, update_from, DownloadOptions};
use bulwark_vulndb::{update, Db};
use sha2::{Digest, Sha256};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// What the server does wrong, consumed as requests arrive.
#[derive(Default, Clone)]
struct Script {
    /// This many responses stop after `drop_after` body bytes and close the connection.
    drop_times: u32,
    drop_after: usize,
    /// Answer 200 with the whole file even to a Range request.
    ignore_range: bool,
    /// This many 500s before anything else.
    fail_500: u32,
    /// Close-delimited bodies, no Content-Length.
    no_content_length: bool,
    /// Answer every request with a 302 to this URL.
    redirect_to: Option<String>,
}

#[derive(Debug, Clone)]
struct Seen {
    path: String,
    range: Option<String>,
    if_range: Option<String>,
    status: u16,
}

struct Shared {
    root: PathBuf,
    script: Script,
    log: Vec<Seen>,
}

struct Server {
    addr: SocketAddr,
    shared: Arc<Mutex<Shared>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    _root: tempfile::TempDir,
}

impl Server {
    /// Serves `files` (bucket path → source file) under a fresh root.
    fn start(files: &[(&str, PathBuf)], script: Script) -> Server {
        let root = tempfile::tempdir().unwrap();
        for (rel, src) in files {
            let dst = root.path().join(rel);
            std::fs::create_dir_all(dst.parent().unwrap()).unwrap();
            std::fs::copy(src, &dst).unwrap();
        }
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Mutex::new(Shared { root: root.path().to_path_buf(), script, log: Vec::new() }));
        let stop = Arc::new(AtomicBool::new(false));
        let (s, st) = (shared.clone(), stop.clone());
        // Bounded: stops when the test drops it, after 2 minutes, or after 200 connections.
        let thread = std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(120);
            let mut served = 0;
            while !st.load(Ordering::SeqCst) && Instant::now() < deadline && served < 200 {
                match listener.accept() {
                    Ok((stream, _)) => {
                        served += 1;
                        let _ = handle(stream, &s);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(2)),
                }
            }
        });
        Server { addr, shared, stop, thread: Some(thread), _root: root }
    }

    fn base(&self) -> String {
        format!("http://{}/osv", self.addr)
    }

    fn log(&self) -> Vec<Seen> {
        self.shared.lock().unwrap().log.clone()
    }

    fn root(&self) -> PathBuf {
        self.shared.lock().unwrap().root.clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn handle(stream: TcpStream, shared: &Mutex<Shared>) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
    let (mut range, mut if_range) = (None, None);
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h == "\r\n" {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            match k.trim().to_ascii_lowercase().as_str() {
                "range" => range = Some(v.trim().to_string()),
                "if-range" => if_range = Some(v.trim().to_string()),
                _ => {}
            }
        }
    }

    let mut sh = shared.lock().unwrap();
    let mut seen = Seen { path: path.clone(), range: range.clone(), if_range: if_range.clone(), status: 0 };
    let mut out = stream;
    if sh.script.fail_500 > 0 {
        sh.script.fail_500 -= 1;
        seen.status = 500;
        sh.log.push(seen);
        return out.write_all(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    }
    if let Some(to) = sh.script.redirect_to.clone() {
        seen.status = 302;
        sh.log.push(seen);
        let head = format!("HTTP/1.1 302 Found\r\nLocation: {to}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        return out.write_all(head.as_bytes());
    }
    let rel = percent_decode(path.trim_start_matches('/'));
    let file = sh.root.join(&rel);
    let data = match (rel.split('/').any(|s| s == ".."), std::fs::read(&file)) {
        (false, Ok(d)) => d,
        _ => {
            seen.status = 404;
            sh.log.push(seen);
            return out.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    };
    let etag = format!("\"{}\"", &hex(&Sha256::digest(&data))[..16]);
    let start = range
        .as_deref()
        .filter(|_| !sh.script.ignore_range)
        .filter(|_| if_range.as_deref().is_none_or(|v| v == etag))
        .and_then(|r| r.strip_prefix("bytes="))
        .and_then(|r| r.strip_suffix('-'))
        .and_then(|n| n.parse::<usize>().ok());
    let (status, body, extra) = match start {
        Some(n) if n >= data.len() => {
            seen.status = 416;
            sh.log.push(seen);
            let head = format!(
                "HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                data.len()
            );
            return out.write_all(head.as_bytes());
        }
        Some(n) => (
            "206 Partial Content",
            &data[n..],
            format!("Content-Range: bytes {n}-{}/{}\r\n", data.len() - 1, data.len()),
        ),
        None => ("200 OK", &data[..], String::new()),
    };
    seen.status = status[..3].parse().unwrap();
    sh.log.push(seen);
    let length =
        if sh.script.no_content_length { String::new() } else { format!("Content-Length: {}\r\n", body.len()) };
    let head = format!("HTTP/1.1 {status}\r\n{length}{extra}ETag: {etag}\r\nConnection: close\r\n\r\n");
    let cut = if sh.script.drop_times > 0 {
        sh.script.drop_times -= 1;
        Some(sh.script.drop_after.min(body.len()))
    } else {
        None
    };
    let body = body.to_vec();
    drop(sh);
    out.write_all(head.as_bytes())?;
    match cut {
        Some(n) => {
            out.write_all(&body[..n])?;
            out.flush()?;
            // FIN, not RST: the client gets every byte written before it sees the end.
            out.shutdown(Shutdown::Write)?;
            let _ = out.read(&mut [0u8; 64]);
        }
        None => out.write_all(&body)?,
    }
    Ok(())
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn sha256(p: &Path) -> String {
    hex(&Sha256::digest(std::fs::read(p).unwrap()))
}

fn real(eco: &str) -> PathBuf {
    bulwark_testkit::shared().join("data/osv").join(eco).join("all.zip")
}

fn crates_and_go() -> Vec<(&'static str, PathBuf)> {
    vec![("osv/crates.io/all.zip", real("crates.io")), ("osv/Go/all.zip", real("Go"))]
}

fn opts(ecosystems: &[&str]) -> DownloadOptions {
    DownloadOptions {
        ecosystems: ecosystems.iter().map(|s| s.to_string()).collect(),
        retries: 3,
        backoff: Duration::from_millis(10),
        timeout: Duration::from_secs(20),
        connect_timeout: Duration::from_secs(5),
        ..DownloadOptions::default()
    }
}

/// Every file under `dir`, relative, sorted.
fn tree(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(dir).unwrap().to_string_lossy().into_owned());
            }
        }
    }
    out.sort();
    out
}

#[test]
fn downloads_two_ecosystems_skips_a_missing_one_and_imports() {
    let server = Server::start(&crates_and_go(), Script::default());
    let dest = tempfile::tempdir().unwrap();
    let o = DownloadOptions { progress: true, ..opts(&["crates.io", "Go", "Red Hat"]) };
    let files = fetch_bucket(&server.base(), dest.path(), &o).unwrap();
    assert_eq!(files, vec![dest.path().join("crates.io/all.zip"), dest.path().join("Go/all.zip")]);
    assert_eq!(sha256(&files[0]), sha256(&real("crates.io")));
    assert_eq!(sha256(&files[1]), sha256(&real("Go")));
    // Nothing left over: no partial files, no folder for the missing ecosystem.
    assert_eq!(tree(dest.path()), vec!["Go/all.zip", "crates.io/all.zip"]);
    // The space is sent percent-encoded, as the OSV bucket names the folder.
    let log = server.log();
    assert!(log.iter().any(|s| s.path == "/osv/Red%20Hat/all.zip" && s.status == 404), "{log:?}");
    assert!(log.iter().all(|s| s.range.is_none()), "{log:?}");

    let db_path = dest.path().join("db/vuln.db");
    update(&[dest.path()], &db_path).unwrap();
    let db = Db::open(&db_path).unwrap();
    assert!(!db.lookup("crates.io", "smallvec").unwrap().is_empty());
    assert!(db.metadata().ecosystems.contains_key("Go"), "{:?}", db.metadata().ecosystems);
}

#[test]
fn missing_ecosystem_is_a_warning_naming_it() {
    let server = Server::start(&crates_and_go(), Script::default());
    let dest = tempfile::tempdir().unwrap();
    let got = fetch_bucket_report(&server.base(), dest.path(), &opts(&["Red Hat", "Go"])).unwrap();
    assert_eq!(got.files, vec![dest.path().join("Go/all.zip")]);
    assert_eq!(got.warnings.len(), 1, "{:?}", got.warnings);
    assert!(got.warnings[0].contains("/osv/Red%20Hat/all.zip"), "{}", got.warnings[0]);
    assert!(got.warnings[0].contains("Red Hat skipped") && got.warnings[0].contains("404"), "{}", got.warnings[0]);
}

#[test]
fn update_from_mixes_urls_and_local_paths() {
    let server = Server::start(&crates_and_go(), Script::default());
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("cache/db/vuln.db");
    let sources = vec![server.base(), real("npm").display().to_string()];
    let report = update_from(&sources, &target, &opts(&["crates.io", "PyPI"])).unwrap();
    assert!(report.warnings.iter().any(|w| w.contains("PyPI skipped")), "{:?}", report.warnings);
    let db = Db::open(&target).unwrap();
    assert!(!db.lookup("crates.io", "smallvec").unwrap().is_empty());
    let ecos = &db.metadata().ecosystems;
    assert!(ecos.contains_key("crates.io") && ecos.contains_key("npm") && !ecos.contains_key("Go"), "{ecos:?}");
    // The staging folder is gone once the database is built.
    assert_eq!(tree(&dir.path().join("cache/db")), vec!["vuln.db"]);
}

#[test]
fn dropped_connection_resumes_with_range() {
    let script = Script { drop_times: 1, drop_after: 300_000, ..Script::default() };
    let server = Server::start(&crates_and_go(), script);
    let dest = tempfile::tempdir().unwrap();
    let files = fetch_bucket(&server.base(), dest.path(), &opts(&["crates.io"])).unwrap();
    assert_eq!(sha256(&files[0]), sha256(&real("crates.io")));
    let log = server.log();
    assert_eq!(log.len(), 2, "{log:?}");
    assert_eq!(log[0].range, None);
    assert_eq!(log[1].range.as_deref(), Some("bytes=300000-"), "{log:?}");
    assert_eq!(log[1].status, 206);
    // The server's ETag goes back as If-Range, so a changed file is not spliced.
    assert!(log[1].if_range.as_deref().is_some_and(|v| v.starts_with('"')), "{log:?}");
    assert_eq!(tree(dest.path()), vec!["crates.io/all.zip"]);
}

#[test]
fn partial_file_resumes_on_the_next_run() {
    let script = Script { drop_times: 1, drop_after: 250_000, ..Script::default() };
    let server = Server::start(&crates_and_go(), script);
    let dest = tempfile::tempdir().unwrap();
    let o = DownloadOptions { retries: 0, ..opts(&["crates.io"]) };
    let err = fetch_bucket(&server.base(), dest.path(), &o).unwrap_err().to_string();
    assert!(err.contains("/osv/crates.io/all.zip") && err.contains("resume"), "{err}");
    assert_eq!(std::fs::metadata(dest.path().join("crates.io/all.zip.part")).unwrap().len(), 250_000);
    assert!(!dest.path().join("crates.io/all.zip").exists());

    let files = fetch_bucket(&server.base(), dest.path(), &o).unwrap();
    assert_eq!(sha256(&files[0]), sha256(&real("crates.io")));
    assert_eq!(server.log().last().unwrap().range.as_deref(), Some("bytes=250000-"));
    assert_eq!(tree(dest.path()), vec!["crates.io/all.zip"]);
}

#[test]
fn file_changed_on_server_between_runs_restarts() {
    let script = Script { drop_times: 1, drop_after: 2_000_000, ..Script::default() };
    let server = Server::start(&crates_and_go(), script);
    let dest = tempfile::tempdir().unwrap();
    let o = DownloadOptions { retries: 0, ..opts(&["Go"]) };
    fetch_bucket(&server.base(), dest.path(), &o).unwrap_err();
    // New, shorter content under the same name: none of the old prefix may survive.
    std::fs::copy(real("crates.io"), server.root().join("osv/Go/all.zip")).unwrap();
    let files = fetch_bucket(&server.base(), dest.path(), &o).unwrap();
    assert_eq!(sha256(&files[0]), sha256(&real("crates.io")));
    let last = server.log().last().unwrap().clone();
    assert_eq!((last.range.as_deref(), last.status), (Some("bytes=2000000-"), 200), "{last:?}");
}

#[test]
fn server_ignoring_range_restarts_from_zero() {
    let script = Script { drop_times: 1, drop_after: 400_000, ignore_range: true, ..Script::default() };
    let server = Server::start(&crates_and_go(), script);
    let dest = tempfile::tempdir().unwrap();
    let files = fetch_bucket(&server.base(), dest.path(), &opts(&["crates.io"])).unwrap();
    assert_eq!(sha256(&files[0]), sha256(&real("crates.io")));
    let log = server.log();
    assert_eq!(log.len(), 2, "{log:?}");
    assert_eq!((log[1].range.as_deref(), log[1].status), (Some("bytes=400000-"), 200));
}

#[test]
fn body_over_the_cap_is_an_error_naming_the_url() {
    for no_content_length in [false, true] {
        let server = Server::start(&crates_and_go(), Script { no_content_length, ..Script::default() });
        let dest = tempfile::tempdir().unwrap();
        let o = DownloadOptions { max_bytes: 100_000, ..opts(&["crates.io"]) };
        let err = fetch_bucket(&server.base(), dest.path(), &o).unwrap_err().to_string();
        let url = format!("{}/crates.io/all.zip", server.base());
        assert!(err.contains(&url) && err.contains("100000"), "{no_content_length}: {err}");
        // Not retried, and nothing half-written left behind.
        assert_eq!(server.log().len(), 1);
        assert!(tree(dest.path()).is_empty(), "{:?}", tree(dest.path()));
    }
}

#[test]
fn close_delimited_body_downloads() {
    let server = Server::start(&crates_and_go(), Script { no_content_length: true, ..Script::default() });
    let dest = tempfile::tempdir().unwrap();
    let files = fetch_bucket(&server.base(), dest.path(), &opts(&["Go"])).unwrap();
    assert_eq!(sha256(&files[0]), sha256(&real("Go")));
}

#[test]
fn server_errors_are_retried() {
    let server = Server::start(&crates_and_go(), Script { fail_500: 2, ..Script::default() });
    let dest = tempfile::tempdir().unwrap();
    let files = fetch_bucket(&server.base(), dest.path(), &opts(&["crates.io"])).unwrap();
    assert_eq!(sha256(&files[0]), sha256(&real("crates.io")));
    let statuses: Vec<u16> = server.log().iter().map(|s| s.status).collect();
    assert_eq!(statuses, vec![500, 500, 200]);
}

#[test]
fn retries_run_out() {
    let server = Server::start(&crates_and_go(), Script { fail_500: 10, ..Script::default() });
    let dest = tempfile::tempdir().unwrap();
    let o = DownloadOptions { retries: 1, ..opts(&["crates.io"]) };
    let err = fetch_bucket(&server.base(), dest.path(), &o).unwrap_err().to_string();
    assert!(err.contains("/osv/crates.io/all.zip") && err.contains("500") && err.contains("2 attempts"), "{err}");
    assert_eq!(server.log().len(), 2);
}

#[test]
fn every_ecosystem_missing_is_an_error() {
    let server = Server::start(&crates_and_go(), Script::default());
    let dest = tempfile::tempdir().unwrap();
    let err = fetch_bucket(&server.base(), dest.path(), &opts(&["npm", "PyPI"])).unwrap_err().to_string();
    assert!(err.contains(&server.base()) && err.contains("npm, PyPI") && err.contains("404"), "{err}");
    // A 404 is an answer, not a failure: no retries.
    assert_eq!(server.log().len(), 2);
}

#[test]
fn plain_http_to_another_host_is_refused_before_connecting() {
    let dest = tempfile::tempdir().unwrap();
    // .invalid never resolves; the refusal must come before any lookup or connection.
    let o = DownloadOptions { connect_timeout: Duration::from_millis(1), ..opts(&["crates.io"]) };
    let err = fetch_bucket("http://mirror.invalid/osv", dest.path(), &o).unwrap_err().to_string();
    assert!(err.contains("http://mirror.invalid/osv") && err.contains("refused"), "{err}");
    assert!(tree(dest.path()).is_empty());
    let err = fetch_bucket("ftp://mirror.invalid/osv", dest.path(), &o).unwrap_err().to_string();
    assert!(err.contains("unsupported URL scheme"), "{err}");
}

#[test]
fn redirect_to_plain_http_elsewhere_is_refused() {
    let to = "http://mirror.invalid/osv/crates.io/all.zip".to_string();
    let server = Server::start(&crates_and_go(), Script { redirect_to: Some(to), ..Script::default() });
    let dest = tempfile::tempdir().unwrap();
    let err = fetch_bucket(&server.base(), dest.path(), &opts(&["crates.io"])).unwrap_err().to_string();
    assert!(err.contains("redirected to http://mirror.invalid/") && err.contains("refused"), "{err}");
    assert_eq!(server.log().len(), 1, "a refused redirect is not retried");
}
