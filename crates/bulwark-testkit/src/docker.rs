//! Debian's `docker-registry` (distribution 2.8) on a free loopback port, with its storage,
//! config and log in a temp dir, fed by `skopeo`: plain, with htpasswd basic auth, or HTTPS
//! with a self-signed certificate for 127.0.0.1. Killed on drop.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where Debian installs distribution's registry.
pub const REGISTRY_BIN: &str = "/usr/bin/docker-registry";

/// How to start the registry. `DockerOptions::default().auth("u", "p").tls().delete()`.
#[derive(Debug, Clone, Default)]
pub struct DockerOptions {
    /// htpasswd basic auth with this one account.
    pub auth: Option<(String, String)>,
    /// HTTPS only, with a self-signed certificate for 127.0.0.1 (see [`DockerRegistry::cert`]).
    pub tls: bool,
    /// `storage.delete.enabled` (manifest and blob DELETE).
    pub delete: bool,
}

impl DockerOptions {
    pub fn auth(mut self, user: &str, password: &str) -> Self {
        self.auth = Some((user.to_string(), password.to_string()));
        self
    }
    pub fn tls(mut self) -> Self {
        self.tls = true;
        self
    }
    pub fn delete(mut self) -> Self {
        self.delete = true;
        self
    }
}

/// A running `docker-registry`.
pub struct DockerRegistry {
    child: Child,
    pub port: u16,
    /// Storage (`storage/`), config, log, certificate, skopeo policy.
    pub dir: tempfile::TempDir,
    /// `user:password` the registry's htpasswd accepts.
    pub creds: Option<String>,
    pub tls: bool,
}

/// An HTTP response from [`DockerRegistry::request`].
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

impl DockerRegistry {
    /// `None` when docker-registry, skopeo (or htpasswd for `auth`, openssl for `tls`) is
    /// missing: SKIPPED locally, a panic under CI (see [`crate::skip`]). Use
    /// [`crate::docker_registry!`], which returns from the test.
    #[track_caller]
    pub fn start(opts: DockerOptions) -> Option<DockerRegistry> {
        crate::file(REGISTRY_BIN, crate::install_hint("docker-registry"))?;
        crate::tool("skopeo")?;
        let mut dir = tempfile::tempdir().unwrap();
        let mut auth_yaml = String::new();
        if let Some((user, pass)) = &opts.auth {
            let htpasswd = crate::tool("htpasswd")?;
            let out = Command::new(htpasswd).args(["-Bbn", user, pass]).output().unwrap();
            assert!(out.status.success(), "htpasswd: {}", String::from_utf8_lossy(&out.stderr));
            let path = dir.path().join("htpasswd");
            std::fs::write(&path, &out.stdout).unwrap();
            auth_yaml = format!("auth:\n  htpasswd:\n    realm: bulwark-test\n    path: {}\n", path.display());
        }
        let mut tls_yaml = String::new();
        if opts.tls {
            let openssl = crate::tool("openssl")?;
            let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
            let out = Command::new(openssl)
                .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1"])
                .args(["-addext", "subjectAltName=IP:127.0.0.1", "-keyout"])
                .arg(&key)
                .arg("-out")
                .arg(&cert)
                .output()
                .unwrap();
            assert!(out.status.success(), "openssl req: {}", String::from_utf8_lossy(&out.stderr));
            tls_yaml = format!("  tls:\n    certificate: {}\n    key: {}\n", cert.display(), key.display());
        }
        let delete_yaml = if opts.delete { "  delete:\n    enabled: true\n" } else { "" };
        // The port is chosen free, then bound by the registry: retry if someone took it since.
        for _ in 0..5 {
            let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
            let config = dir.path().join("config.yml");
            std::fs::write(
                &config,
                format!(
                    "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    \
                     rootdirectory: {}\n{delete_yaml}http:\n  addr: 127.0.0.1:{port}\n  secret: \
                     bulwark-test-secret\n{tls_yaml}{auth_yaml}",
                    dir.path().join("storage").display()
                ),
            )
            .unwrap();
            let log = std::fs::File::create(dir.path().join("registry.log")).unwrap();
            let child = Command::new(REGISTRY_BIN)
                .arg("serve")
                .arg(&config)
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .unwrap();
            let creds = opts.auth.as_ref().map(|(u, p)| format!("{u}:{p}"));
            let mut reg = DockerRegistry { child, port, dir, creds, tls: opts.tls };
            if reg.wait_ready() {
                return Some(reg);
            }
            let _ = reg.child.kill();
            let _ = reg.child.wait();
            // Another port, same storage and files.
            dir = std::mem::replace(&mut reg.dir, tempfile::tempdir().unwrap());
        }
        panic!(
            "docker-registry did not start; log: {}",
            std::fs::read_to_string(dir.path().join("registry.log")).unwrap_or_default()
        );
    }

    /// Wait until the port answers HTTP (a TLS port answers a plain request with 400); false
    /// if the process died.
    fn wait_ready(&mut self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if self.child.try_wait().unwrap().is_some() {
                return false;
            }
            if let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)) {
                let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
                let _ = s.write_all(b"GET /v2/ HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
                let mut head = [0u8; 12];
                if s.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/") {
                    return true;
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    /// `127.0.0.1:PORT`.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// `HOST/REPO[:TAG|@DIGEST]`.
    pub fn image(&self, repo_and_reference: &str) -> String {
        format!("{}/{repo_and_reference}", self.host())
    }

    /// The registry's self-signed certificate (with [`DockerOptions::tls`]).
    pub fn cert(&self) -> PathBuf {
        self.dir.path().join("cert.pem")
    }

    /// The registry's own log (errors only).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }

    /// A skopeo signature policy of our own: the host may have no /etc/containers/policy.json.
    pub fn policy(&self) -> PathBuf {
        let policy = self.dir.path().join("policy.json");
        std::fs::write(&policy, r#"{"default":[{"type":"insecureAcceptAnything"}]}"#).unwrap();
        policy
    }

    /// `skopeo copy oci:<shared image>:1.0 docker://HOST/DEST`; returns `HOST/DEST`.
    pub fn push(&self, image: &str, dest: &str) -> String {
        self.push_layout(&crate::image(image), "1.0", dest, &[]);
        self.image(dest)
    }

    /// `skopeo copy oci:LAYOUT:TAG docker://HOST/DEST`, with extra skopeo flags.
    pub fn push_layout(&self, layout: &Path, tag: &str, dest: &str, extra: &[&str]) {
        let mut cmd = self.skopeo();
        cmd.args(["copy", "--quiet", "--dest-tls-verify=false"]);
        if let Some(c) = &self.creds {
            cmd.args(["--dest-creds", c]);
        }
        cmd.args(extra).arg(format!("oci:{}:{tag}", layout.display())).arg(format!("docker://{}", self.image(dest)));
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "skopeo copy {} {dest}: {}",
            layout.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// `skopeo copy SRC DEST` with this registry's credentials on whichever side is `docker://`.
    pub fn skopeo_copy(&self, src: &str, dest: &str) {
        let mut cmd = self.skopeo();
        cmd.args(["copy", "--quiet", "--dest-tls-verify=false"]);
        if src.starts_with("docker://") {
            cmd.arg("--src-tls-verify=false");
        }
        if let Some(c) = &self.creds {
            cmd.args(["--dest-creds", c]);
            if src.starts_with("docker://") {
                cmd.args(["--src-creds", c]);
            }
        }
        let out = cmd.arg(src).arg(dest).output().unwrap();
        assert!(out.status.success(), "skopeo copy {src} {dest}: {}", String::from_utf8_lossy(&out.stderr));
    }

    /// `skopeo inspect --raw docker://HOST/REFERENCE`: the manifest as skopeo reads it.
    pub fn skopeo_manifest(&self, reference: &str) -> serde_json::Value {
        let mut cmd = self.skopeo();
        cmd.args(["inspect", "--raw", "--tls-verify=false"]);
        if let Some(c) = &self.creds {
            cmd.args(["--creds", c]);
        }
        let out = cmd.arg(format!("docker://{}", self.image(reference))).output().unwrap();
        assert!(out.status.success(), "skopeo inspect {reference}: {}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// skopeo with this registry's policy.
    fn skopeo(&self) -> Command {
        let mut cmd = Command::new("skopeo");
        cmd.stdin(Stdio::null()).arg("--policy").arg(self.policy());
        cmd
    }

    /// Where the registry keeps a blob's bytes (to corrupt or remove them behind its back).
    pub fn blob_data(&self, digest: &str) -> PathBuf {
        let (alg, hex) = digest.split_once(':').unwrap();
        self.dir.path().join("storage/docker/registry/v2/blobs").join(alg).join(&hex[..2]).join(hex).join("data")
    }

    /// `DIR/NAME/config.json` holding `json`, so that the tester's `~/.docker` plays no part.
    pub fn docker_config(&self, name: &str, json: &str) -> PathBuf {
        let dir = self.dir.path().join(name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("config.json"), json).unwrap();
        dir.join("config.json")
    }

    /// A Docker `config.json` holding this registry's credentials (`{}` without auth), so that
    /// the tester's `~/.docker` plays no part.
    pub fn auth_config(&self) -> PathBuf {
        let json = match &self.creds {
            Some(c) => serde_json::json!({"auths": {self.host(): {"auth": STANDARD.encode(c)}}}),
            None => serde_json::json!({}),
        };
        self.docker_config("docker", &json.to_string())
    }

    /// `GET /v2/REPO/manifests/REFERENCE` with `accept`: the exact bytes, or `None` for 404.
    pub fn get_manifest(&self, repo: &str, reference: &str, accept: &str) -> Option<Vec<u8>> {
        let r = self.request("GET", &format!("/v2/{repo}/manifests/{reference}"), &[("Accept", accept)], b"");
        match r.status {
            200 => Some(r.body),
            404 => None,
            s => panic!("GET manifest {repo}:{reference}: HTTP {s}: {}", String::from_utf8_lossy(&r.body)),
        }
    }

    /// `PUT /v2/REPO/manifests/REFERENCE`, which must answer 201.
    pub fn put_manifest(&self, repo: &str, reference: &str, media_type: &str, body: &[u8]) {
        let r =
            self.request("PUT", &format!("/v2/{repo}/manifests/{reference}"), &[("Content-Type", media_type)], body);
        assert_eq!(r.status, 201, "PUT manifest {repo}:{reference}: {}", String::from_utf8_lossy(&r.body));
    }

    /// `GET /v2/REPO/blobs/DIGEST`, which must answer 200 with bytes of that (sha256) digest.
    pub fn get_blob(&self, repo: &str, digest: &str) -> Vec<u8> {
        let r = self.request("GET", &format!("/v2/{repo}/blobs/{digest}"), &[], b"");
        assert_eq!(r.status, 200, "GET blob {digest}: {}", String::from_utf8_lossy(&r.body));
        assert_eq!(sha256(&r.body), digest, "GET blob {digest}: other bytes");
        r.body
    }

    /// A monolithic upload (POST, then PUT with the digest); returns the blob's digest.
    pub fn put_blob(&self, repo: &str, data: &[u8]) -> String {
        let digest = sha256(data);
        let r = self.request("POST", &format!("/v2/{repo}/blobs/uploads/"), &[], b"");
        assert_eq!(r.status, 202, "start upload: {}", String::from_utf8_lossy(&r.body));
        let location = r.header("location").expect("upload Location").to_string();
        // Distribution answers with an absolute URL; request() wants the path.
        let path = match location.find("/v2/") {
            Some(i) => location[i..].to_string(),
            None => location,
        };
        let sep = if path.contains('?') { '&' } else { '?' };
        let r = self.request(
            "PUT",
            &format!("{path}{sep}digest={digest}"),
            &[("Content-Type", "application/octet-stream")],
            data,
        );
        assert_eq!(r.status, 201, "finish upload: {}", String::from_utf8_lossy(&r.body));
        digest
    }

    /// The registry API by hand (plain HTTP only), with the registry's credentials if any:
    /// independent of the code under test, for reading and tampering.
    pub fn request(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Response {
        assert!(!self.tls, "request() speaks plain HTTP");
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n",
            self.host(),
            body.len()
        );
        if let Some(c) = &self.creds {
            head.push_str(&format!("Authorization: Basic {}\r\n", STANDARD.encode(c)));
        }
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        s.write_all(head.as_bytes()).unwrap();
        s.write_all(body).unwrap();
        let mut raw = Vec::new();
        s.read_to_end(&mut raw).unwrap();
        let end = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("no end of HTTP headers");
        let text = String::from_utf8(raw[..end].to_vec()).unwrap();
        let mut lines = text.split("\r\n");
        let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .collect();
        let mut resp = Response { status, headers, body: raw[end + 4..].to_vec() };
        if resp.header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
            resp.body = dechunk(&resp.body);
        }
        resp
    }
}

impl Drop for DockerRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `sha256:<hex>` of `data`.
pub fn sha256(data: &[u8]) -> String {
    use sha2::Digest as _;
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(data)))
}

/// A chunked HTTP/1.1 body, joined.
pub fn dechunk(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let eol = body.windows(2).position(|w| w == b"\r\n").unwrap();
        let size_text = std::str::from_utf8(&body[..eol]).unwrap();
        let size = usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16).unwrap();
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&body[eol + 2..eol + 2 + size]);
        body = &body[eol + 2 + size + 2..];
    }
}
