//! `bulwark registry serve` with a certificate: HTTPS by rustls, the token realm advertised as
//! https, and skopeo pushing and pulling through it with token auth, trusting only our CA.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

use crate::common;

use crate::common::own_registry::{layout_digest, layout_tag};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn tls_serves_https_with_token_auth() {
    bulwark_testkit::require_tool!("skopeo");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ck = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string(), "localhost".to_string()]).unwrap();
    let cert_pem = ck.cert.pem();
    std::fs::write(d.join("tls.crt"), &cert_pem).unwrap();
    std::fs::write(d.join("tls.key"), ck.signing_key.serialize_pem()).unwrap();
    // skopeo trusts the CAs in a directory of *.crt files.
    let certs = d.join("certs");
    std::fs::create_dir_all(&certs).unwrap();
    std::fs::write(certs.join("ca.crt"), &cert_pem).unwrap();

    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let data = d.join("data");
    let add = common::bulwark()
        .args(["registry", "user", "add", "tls-user", "--role", "secure:push", "--data"])
        .arg(&data)
        .env("BULWARK_REGISTRY_PASSWORD", "tls-password")
        .output()
        .unwrap();
    assert!(add.status.success(), "{}", String::from_utf8_lossy(&add.stderr));
    let log = std::fs::File::create(d.join("server.log")).unwrap();
    let _server = Server(
        common::bulwark()
            .args(["registry", "serve", "--no-scan", "--addr", &format!("127.0.0.1:{port}"), "--data"])
            .arg(&data)
            .arg("--tls-cert")
            .arg(d.join("tls.crt"))
            .arg("--tls-key")
            .arg(d.join("tls.key"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap(),
    );
    let client = reqwest::blocking::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(cert_pem.as_bytes()).unwrap())
        .build()
        .unwrap();
    let base = format!("https://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while client.get(format!("{base}/healthz")).send().map(|r| r.status() != 200).unwrap_or(true) {
        assert!(
            Instant::now() < deadline,
            "no HTTPS server: {}",
            std::fs::read_to_string(d.join("server.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // The challenge sends clients to the token endpoint over https.
    let r = client.get(format!("{base}/v2/")).send().unwrap();
    assert_eq!(r.status(), 401);
    let challenge = r.headers()["www-authenticate"].to_str().unwrap().to_string();
    assert!(challenge.starts_with(&format!("Bearer realm=\"https://127.0.0.1:{port}/token\"")), "{challenge}");
    // Plain HTTP on the TLS port gets nowhere.
    let plain = reqwest::blocking::Client::new().get(format!("http://127.0.0.1:{port}/healthz")).send();
    assert!(plain.map(|r| r.status() != 200).unwrap_or(true));

    // skopeo, trusting only our CA, pushes and pulls with token auth.
    let node = common::image("node-app");
    let dest = format!("docker://127.0.0.1:{port}/secure/app:v1");
    let out = Command::new("skopeo")
        .args(["copy", "--retry-times", "0", "--dest-creds", "tls-user:tls-password", "--dest-cert-dir"])
        .arg(&certs)
        .arg(format!("oci:{}:{}", node.display(), layout_tag(&node)))
        .arg(&dest)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let back = d.join("back");
    let out = Command::new("skopeo")
        .args(["copy", "--retry-times", "0", "--src-creds", "tls-user:tls-password", "--src-cert-dir"])
        .arg(&certs)
        .arg(&dest)
        .arg(format!("oci:{}:v1", back.display()))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let idx = std::fs::read_to_string(back.join("index.json")).unwrap();
    assert!(idx.contains(&layout_digest(&node)), "{idx}");
    // Without our CA, the certificate is refused.
    let out = Command::new("skopeo")
        .args(["inspect", "--raw", "--creds", "tls-user:tls-password"])
        .arg(&dest)
        .output()
        .unwrap();
    assert!(!out.status.success());
}
