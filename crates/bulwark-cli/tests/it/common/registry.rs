//! Debian's `docker-registry` (distribution 2.8) on a free loopback port, fed by `skopeo`.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const REGISTRY_BIN: &str = "/usr/bin/docker-registry";

pub struct Registry {
    child: Child,
    pub port: u16,
    pub dir: tempfile::TempDir,
}

impl Registry {
    /// `None` (SKIPPED) when the tools are missing locally; a failure under CI.
    pub fn start() -> Option<Registry> {
        let missing =
            !std::path::Path::new(REGISTRY_BIN).exists() || Command::new("skopeo").arg("--version").output().is_err();
        if missing {
            assert!(std::env::var_os("CI").is_none(), "CI is set but docker-registry or skopeo is missing");
            eprintln!("SKIPPED: needs {REGISTRY_BIN} and skopeo");
            return None;
        }
        // The port is chosen free, then bound by the registry: retry if someone took it since.
        for _ in 0..5 {
            let dir = tempfile::tempdir().unwrap();
            let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
            let config = dir.path().join("config.yml");
            let yaml = format!(
                "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n",
                dir.path().join("storage").display()
            );
            std::fs::write(&config, yaml).unwrap();
            let child = Command::new(REGISTRY_BIN)
                .arg("serve")
                .arg(&config)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let mut reg = Registry { child, port, dir };
            if reg.wait_ready() {
                return Some(reg);
            }
        }
        panic!("docker-registry did not start");
    }

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

    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// `skopeo copy oci:<shared image>:1.0 docker://HOST/DEST`; returns `HOST/DEST`.
    pub fn push(&self, image: &str, dest: &str) -> String {
        let policy = self.dir.path().join("policy.json");
        std::fs::write(&policy, r#"{"default":[{"type":"insecureAcceptAnything"}]}"#).unwrap();
        let out = Command::new("skopeo")
            .arg("--policy")
            .arg(&policy)
            .args(["copy", "--quiet", "--dest-tls-verify=false"])
            .arg(format!("oci:{}:1.0", super::image(image).display()))
            .arg(format!("docker://{}/{dest}", self.host()))
            .output()
            .unwrap();
        assert!(out.status.success(), "skopeo copy: {}", String::from_utf8_lossy(&out.stderr));
        format!("{}/{dest}", self.host())
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
