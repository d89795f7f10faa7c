//! `bulwark admission cert`, `serve`, `review` and `manifests` as a user runs them: a server
//! on loopback with the certificate `cert` made, a real TLS client posting the shared
//! AdmissionReview samples, and `admission review` deciding the same JSON the same way;
//! SIGTERM; the manifests through `bulwark policy apply --pss restricted`.

use crate::common::{bulwark, shared};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

const HOST: &str = "bulwark-admission.bulwark-system.svc";

fn data(rel: &str) -> PathBuf {
    shared().join("data/admission").join(rel)
}

/// The policy flags both `serve` and `review` get.
fn policy_flags(dir: &Path) -> Vec<String> {
    let ns = dir.join("namespaces.yaml");
    std::fs::write(
        &ns,
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: colin-coder\n  labels:\n    pod-security.kubernetes.io/enforce: restricted\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: default\n  labels:\n    pod-security.kubernetes.io/enforce: baseline\n",
    )
    .unwrap();
    let images = dir.join("images.yaml");
    std::fs::write(&images, "registries:\n  allow: [ghcr.io, registry.k8s.io]\n").unwrap();
    vec![
        "--policy".into(),
        data("kyverno/best-practices/disallow-latest-tag/disallow-latest-tag.yaml").display().to_string(),
        "--policy".into(),
        data("kyverno/pod-security/baseline/disallow-privileged-containers").display().to_string(),
        "--namespaces".into(),
        ns.display().to_string(),
        "--images".into(),
        images.display().to_string(),
    ]
}

struct Served {
    child: Child,
    addr: String,
    log: std::sync::mpsc::Receiver<String>,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(tls: &Path, flags: &[String]) -> Served {
    let mut child = bulwark()
        .args(["admission", "serve", "--addr", "127.0.0.1:0", "--reload-interval", "200ms", "--tls-cert"])
        .arg(tls.join("tls.crt"))
        .arg("--tls-key")
        .arg(tls.join("tls.key"))
        .args(flags)
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    // Owned by the guard at once: killed and reaped whatever happens below.
    let mut srv = Served { child, addr: String::new(), log: rx };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let line = srv.log.recv_timeout(deadline.saturating_duration_since(Instant::now())).expect("no listening line");
        if let Some(a) = line.strip_prefix("bulwark admission: listening on https://") {
            srv.addr = a.to_string();
            return srv;
        }
    }
}

impl Served {
    fn client(&self, tls: &Path) -> reqwest::blocking::Client {
        reqwest::blocking::Client::builder()
            .resolve(HOST, self.addr.parse().unwrap())
            .add_root_certificate(reqwest::Certificate::from_pem(&std::fs::read(tls.join("ca.crt")).unwrap()).unwrap())
            .timeout(Duration::from_secs(20))
            .build()
            .unwrap()
    }

    fn url(&self, path: &str) -> String {
        format!("https://{HOST}:{}{path}", self.addr.rsplit(':').next().unwrap())
    }

    fn wait_ready(&self, c: &reqwest::blocking::Client) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while c.get(self.url("/readyz")).send().map(|r| r.status() != 200).unwrap_or(true) {
            assert!(Instant::now() < deadline, "never ready");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn cert(out: &Path, force: bool) -> std::process::Output {
    let mut c = bulwark();
    c.args([
        "admission",
        "cert",
        "--service",
        "bulwark-admission",
        "--namespace",
        "bulwark-system",
        "--days",
        "30",
        "--out",
    ])
    .arg(out);
    if force {
        c.arg("--force");
    }
    c.output().unwrap()
}

/// Every sample as an AdmissionReview file: the GKE review, and the Kubewarden requests
/// wrapped in v1 and v1beta1 reviews.
fn samples(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![data("admissionreview/kube-rs/v1_pod_create_gke.json")];
    for folder in ["kubewarden-pod-privileged-policy", "kubewarden-trusted-repos-policy"] {
        let mut files: Vec<PathBuf> = std::fs::read_dir(data(&format!("admissionreview/{folder}/test_data")))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| !p.file_name().unwrap().to_str().unwrap().starts_with("settings"))
            .collect();
        files.sort();
        for f in files {
            let req: Value = serde_json::from_slice(&std::fs::read(&f).unwrap()).unwrap();
            for v in ["v1", "v1beta1"] {
                let review =
                    json!({"apiVersion": format!("admission.k8s.io/{v}"), "kind": "AdmissionReview", "request": req});
                let p = dir.join(format!("{folder}-{v}-{}", f.file_name().unwrap().to_str().unwrap()));
                std::fs::write(&p, serde_json::to_vec(&review).unwrap()).unwrap();
                out.push(p);
            }
        }
    }
    out
}

#[test]
fn serve_decides_as_review_does_over_tls_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let tls = dir.path().join("tls");
    let o = cert(&tls, false);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        for (f, mode) in [("ca.crt", 0o644), ("ca.key", 0o600), ("tls.crt", 0o644), ("tls.key", 0o600)] {
            assert_eq!(std::fs::metadata(tls.join(f)).unwrap().permissions().mode() & 0o777, mode, "{f}");
        }
    }
    let before = std::fs::read(tls.join("tls.key")).unwrap();
    let o = cert(&tls, false);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("ca.crt: already exists (--force replaces it)"));
    assert_eq!(std::fs::read(tls.join("tls.key")).unwrap(), before, "nothing replaced without --force");
    assert!(cert(&tls, true).status.success());
    assert_ne!(std::fs::read(tls.join("tls.key")).unwrap(), before);

    let flags = policy_flags(dir.path());
    let srv = serve(&tls, &flags);
    let client = srv.client(&tls);
    srv.wait_ready(&client);
    let files = samples(dir.path());
    let (mut allowed, mut denied, mut latest_warned) = (0, 0, 0);
    for f in &files {
        let body = std::fs::read(f).unwrap();
        let got: Value = client
            .post(srv.url("/validate"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .unwrap()
            .json()
            .unwrap();
        let o = bulwark().args(["admission", "review"]).args(&flags).arg(f).output().unwrap();
        let want: Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(got, want, "{}", f.display());
        let ok = got["response"]["allowed"].as_bool().unwrap();
        if f.to_str().unwrap().ends_with("pod_creation_latest.json") {
            // The Kyverno policy is in Audit mode: a warning, beside the registry denial.
            let w = got["response"]["warnings"][0].as_str().unwrap();
            assert!(w.starts_with("disallow-latest-tag/validate-image-tag: "), "{w}");
            latest_warned += 1;
        }
        assert_eq!(o.status.code(), Some(if ok { 0 } else { 1 }), "{}", f.display());
        if ok {
            allowed += 1;
        } else {
            denied += 1;
        }
    }
    // 1 GKE review + (6 privileged-policy + 11 trusted-repos requests) x 2 versions.
    assert_eq!(files.len(), 35);
    assert_eq!((allowed, denied, latest_warned), (ALLOWED, 35 - ALLOWED, 2));

    // SIGTERM: the server stops, exit 0, the port closed.
    // The `kill` command sends it (unsafe code, libc::kill, is forbidden here).
    let st = std::process::Command::new("kill").args(["-TERM", &srv.child.id().to_string()]).status().unwrap();
    assert!(st.success());
    let mut srv = srv;
    let status = exit_after_sigterm(&mut srv.child);
    assert_eq!(status.code(), Some(0));
    let log: Vec<String> = srv.log.try_iter().collect();
    assert!(log.iter().any(|l| l.contains("stopped")), "{log:?}");
    assert!(client.get(srv.url("/healthz")).send().is_err());
}

/// Allowed among the 35 samples: the 8 trusted-repos requests whose images are all on
/// ghcr.io or registry.k8s.io (CronJob, DaemonSet, Deployment, Ingress, Job, ReplicaSet,
/// ReplicationController, StatefulSet), in both versions. Denied: the GKE pod (restricted
/// namespace), every privileged-policy request (docker.io images; the three privileged Pods
/// also by baseline), and the three trusted-repos Pods from docker.io.
const ALLOWED: usize = 16;

#[test]
fn manifests_pass_their_own_restricted_check() {
    let dir = tempfile::tempdir().unwrap();
    let tls = dir.path().join("tls");
    assert!(cert(&tls, false).status.success());
    let o = bulwark()
        .args(["admission", "manifests", "--image", "registry.example.com/bulwark:1.0", "--ca"])
        .arg(tls.join("ca.crt"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let yaml = String::from_utf8(o.stdout).unwrap();
    assert!(yaml.contains("kind: ValidatingWebhookConfiguration"));
    let mut child = bulwark()
        .args(["policy", "apply", "--pss", "restricted:latest", "--format", "json", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(yaml.as_bytes()).unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let records: Vec<Value> = serde_json::from_slice(&o.stdout).unwrap();
    let deploy: Vec<&Value> = records.iter().filter(|r| r["resource"]["kind"] == "Deployment").collect();
    assert!(!deploy.is_empty());
    assert!(deploy.iter().all(|r| r["result"] == "pass"), "{deploy:?}");

    // A bad CA or image is refused, naming the flag.
    std::fs::write(dir.path().join("bad.crt"), "nope").unwrap();
    let o = bulwark()
        .args(["admission", "manifests", "--image", "registry.example.com/bulwark:1.0", "--ca"])
        .arg(dir.path().join("bad.crt"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--ca: no PEM certificate"));
    let o = bulwark()
        .args(["admission", "manifests", "--image", "UPPER/Case::x", "--ca"])
        .arg(tls.join("ca.crt"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--image"));
}

#[test]
fn sigterm_lets_a_review_in_flight_answer_within_its_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let tls = dir.path().join("tls");
    assert!(cert(&tls, false).status.success());
    std::fs::write(
        dir.path().join("slow.yaml"),
        bulwark_testkit::policies::gatekeeper_pod_policy("K8sSlow", bulwark_testkit::policies::SLOW_REGO),
    )
    .unwrap();
    let flags = vec![
        "--timeout".to_string(),
        "1500ms".into(),
        "--policy".into(),
        dir.path().join("slow.yaml").display().to_string(),
    ];
    let mut srv = serve(&tls, &flags);
    let client = srv.client(&tls);
    srv.wait_ready(&client);
    let url = srv.url("/validate");
    let body = std::fs::read(data("admissionreview/kube-rs/v1_pod_create_gke.json")).unwrap();
    let c = client.clone();
    let start = Instant::now();
    let in_flight = std::thread::spawn(move || {
        c.post(url).header("content-type", "application/json").body(body).send().unwrap().json::<Value>().unwrap()
    });
    std::thread::sleep(Duration::from_millis(400));
    let st = std::process::Command::new("kill").args(["-TERM", &srv.child.id().to_string()]).status().unwrap();
    assert!(st.success());
    let got = in_flight.join().unwrap();
    let took = start.elapsed();
    assert_eq!(got["response"]["allowed"], false);
    assert_eq!(
        got["response"]["status"]["message"],
        "bulwark admission: no decision within the 1.5s deadline (--timeout); denied"
    );
    assert!(took < Duration::from_millis(2500), "{took:?}");
    let status = exit_after_sigterm(&mut srv.child);
    assert_eq!(status.code(), Some(0));
}

#[test]
fn serve_refuses_to_start_without_its_policies_or_with_bad_flags() {
    let dir = tempfile::tempdir().unwrap();
    let tls = dir.path().join("tls");
    assert!(cert(&tls, false).status.success());
    std::fs::write(dir.path().join("bad.yaml"), "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata:\n  name: x\nspec:\n  rules:\n    - name: r\n      match: {any: [{resources: {kinds: [Pod]}}]}\n      validate:\n        unheardOf: 1\n").unwrap();
    let run = |extra: &[&str]| {
        bulwark()
            .args(["admission", "serve", "--addr", "127.0.0.1:0", "--tls-cert"])
            .arg(tls.join("tls.crt"))
            .arg("--tls-key")
            .arg(tls.join("tls.key"))
            .args(extra)
            .output()
            .unwrap()
    };
    // A first policy set that does not compile: exit 2 naming it, never serving without it.
    let o = run(&["--policy", dir.path().join("bad.yaml").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("bulwark: error: policies: ") && err.contains("unheardOf"), "{err}");
    // A key that is not one: exit 2 naming the file.
    std::fs::write(dir.path().join("bad.key"), "nope").unwrap();
    let o = bulwark()
        .args(["admission", "serve", "--addr", "127.0.0.1:0", "--tls-cert"])
        .arg(tls.join("tls.crt"))
        .arg("--tls-key")
        .arg(dir.path().join("bad.key"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("bad.key"), "{}", String::from_utf8_lossy(&o.stderr));
    // Durations: a number and a unit.
    for bad in ["0s", "8x", "fast"] {
        let o = run(&["--timeout", bad]);
        assert_eq!(o.status.code(), Some(2), "{bad}");
    }
}

/// The server's exit status, once it has stopped after SIGTERM (within 20 s).
fn exit_after_sigterm(child: &mut std::process::Child) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        assert!(Instant::now() < deadline, "still running after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
}
