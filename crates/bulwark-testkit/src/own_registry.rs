//! Our own registry (`bulwark registry serve`) as a subprocess on a free loopback port, for
//! tests with real clients (skopeo, umoci, bulwark sign) and for kill-and-restart tests.
//! `CARGO_BIN_EXE_bulwark` exists only in bulwark-cli's tests, so the binary is a parameter.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct OwnRegistry {
    /// The `bulwark` binary.
    bin: PathBuf,
    child: Option<Child>,
    pub port: u16,
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    /// Extra environment for the server process (limits lowered by a test).
    env: Vec<(String, String)>,
    /// "listening" lines in the log before the last spawn: readiness needs one more, so that a
    /// healthz answered by another test's server on a port both chose is not taken for ours.
    listening_before: usize,
}

/// A 32-byte token secret the tests know, so they can forge and expire tokens.
pub const TOKEN_SECRET: &[u8] = b"test-secret-test-secret-test-secret-0123";

impl OwnRegistry {
    /// `bin registry serve` with `extra` appended to the generated registry.toml (e.g.
    /// `[scan]\ndb = "…"`). The config always sets `addr`, `data` and
    /// `auth.token_secret_file`; put other `[auth]` keys in `auth_extra`.
    pub fn start(bin: &Path, auth_extra: &str, extra: &str) -> OwnRegistry {
        Self::start_with_env(bin, auth_extra, extra, &[])
    }

    /// [`OwnRegistry::start`], with `env` set for the server (and kept across restarts).
    pub fn start_with_env(bin: &Path, auth_extra: &str, extra: &str, env: &[(&str, &str)]) -> OwnRegistry {
        let env: Vec<(String, String)> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let mut dir = tempfile::tempdir().unwrap();
        for _ in 0..5 {
            let secret = dir.path().join("token.secret");
            std::fs::write(&secret, TOKEN_SECRET).unwrap();
            let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
            let config = dir.path().join("registry.toml");
            let toml = format!(
                "addr = \"127.0.0.1:{port}\"\ndata = \"{}\"\n[auth]\ntoken_secret_file = \"{}\"\n{auth_extra}\n{extra}\n",
                dir.path().join("data").display(),
                secret.display()
            );
            std::fs::write(&config, toml).unwrap();
            let mut reg = OwnRegistry {
                bin: bin.to_path_buf(),
                child: None,
                port,
                dir,
                config,
                env: env.clone(),
                listening_before: 0,
            };
            reg.spawn();
            if reg.wait_ready() {
                return reg;
            }
            let _ = reg.child.take().map(|mut c| c.kill());
            dir = reg.into_dir();
        }
        panic!("bulwark registry did not start");
    }

    fn into_dir(mut self) -> tempfile::TempDir {
        let _ = self.child.take().map(|mut c| {
            let _ = c.kill();
            c.wait()
        });
        let empty = tempfile::tempdir().unwrap();
        std::mem::replace(&mut self.dir, empty)
    }

    fn spawn(&mut self) {
        self.listening_before = self.log().matches("bulwark registry listening").count();
        let log =
            std::fs::OpenOptions::new().create(true).append(true).open(self.dir.path().join("server.log")).unwrap();
        let child = Command::new(&self.bin)
            .args(["registry", "serve", "--config"])
            .arg(&self.config)
            .env("RUST_LOG", "info")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
    }

    pub fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    fn wait_ready(&mut self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Some(c) = self.child.as_mut() {
                if c.try_wait().unwrap().is_some() {
                    return false;
                }
            }
            if let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)) {
                let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
                let _ = s.write_all(b"GET /healthz HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
                let mut buf = String::new();
                let _ = s.read_to_string(&mut buf);
                let ours = self.log().matches("bulwark registry listening").count() > self.listening_before;
                if ours && (buf.starts_with("HTTP/1.0 200") || buf.starts_with("HTTP/1.1 200")) {
                    return true;
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// SIGKILL: no chance to flush or clean anything.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM and wait for a graceful exit; returns the exit status code.
    pub fn terminate(&mut self) -> Option<i32> {
        let mut c = self.child.take()?;
        let _ = Command::new("kill").args(["-TERM", &c.id().to_string()]).status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Some(s) = c.try_wait().unwrap() {
                return s.code();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = c.kill();
        None
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    pub fn restart(&mut self) {
        self.kill();
        for _ in 0..3 {
            self.spawn();
            if self.wait_ready() {
                return;
            }
            self.kill();
            std::thread::sleep(Duration::from_millis(300));
        }
        panic!("bulwark registry did not restart:\n{}", self.log());
    }

    /// `bulwark registry user add` on this registry's data directory.
    pub fn add_user(&self, name: &str, password: &str, roles: &[&str], admin: bool) {
        let mut cmd = Command::new(&self.bin);
        cmd.args(["registry", "user", "add", name, "--data"]).arg(self.data());
        for r in roles {
            cmd.args(["--role", r]);
        }
        if admin {
            cmd.arg("--admin");
        }
        let out = cmd.env("BULWARK_REGISTRY_PASSWORD", password).output().unwrap();
        assert!(out.status.success(), "user add: {}", String::from_utf8_lossy(&out.stderr));
    }

    /// `bulwark registry project create NAME ARGS…`.
    pub fn project(&self, name: &str, args: &[&str]) {
        let out = Command::new(&self.bin)
            .args(["registry", "project", "create", name])
            .args(args)
            .arg("--data")
            .arg(self.data())
            .output()
            .unwrap();
        assert!(out.status.success(), "project create: {}", String::from_utf8_lossy(&out.stderr));
    }

    /// A robot account; returns (name, secret).
    pub fn add_robot(&self, name: &str, roles: &[&str], expires_days: Option<u32>) -> (String, String) {
        let mut cmd = Command::new(&self.bin);
        cmd.args(["registry", "robot", "add", name, "--data"]).arg(self.data());
        for r in roles {
            cmd.args(["--role", r]);
        }
        if let Some(d) = expires_days {
            cmd.args(["--expires-days", &d.to_string()]);
        }
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "robot add: {}", String::from_utf8_lossy(&out.stderr));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        (v["name"].as_str().unwrap().to_string(), v["secret"].as_str().unwrap().to_string())
    }

    /// `skopeo copy SRC docker://HOST/DEST`, with `creds` (`user:password`) when given.
    pub fn skopeo_push(&self, src: &str, dest: &str, creds: Option<&str>) -> std::process::Output {
        let mut cmd = Command::new("skopeo");
        cmd.args(["copy", "--retry-times", "0", "--dest-tls-verify=false"]);
        if let Some(c) = creds {
            cmd.args(["--dest-creds", c]);
        }
        cmd.arg(src).arg(format!("docker://{}/{dest}", self.host()));
        cmd.output().unwrap()
    }

    /// `skopeo copy docker://HOST/SRC DEST`.
    pub fn skopeo_pull(&self, src: &str, dest: &str, creds: Option<&str>) -> std::process::Output {
        let mut cmd = Command::new("skopeo");
        cmd.args(["copy", "--retry-times", "0", "--src-tls-verify=false"]);
        if let Some(c) = creds {
            cmd.args(["--src-creds", c]);
        }
        cmd.arg(format!("docker://{}/{src}", self.host())).arg(dest);
        cmd.output().unwrap()
    }
}

impl Drop for OwnRegistry {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The image's tag in its shared OCI layout (the `ref.name` of its only manifest).
pub fn layout_tag(layout: &Path) -> String {
    let idx: serde_json::Value = serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    idx["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"].as_str().unwrap().to_string()
}

/// The manifest digest of the layout's only image.
pub fn layout_digest(layout: &Path) -> String {
    let idx: serde_json::Value = serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    idx["manifests"][0]["digest"].as_str().unwrap().to_string()
}
