//! The webhook server on loopback, over real TLS with a certificate from `admission cert` and
//! a real client (reqwest, the CA as its only root): real AdmissionReview bodies decided as
//! `Admission::decide` decides them, controller-runtime's HTTP edge cases (an endless body
//! included), v1beta1 in kind, metrics, the deadline, TLS and policy reloads.

use bulwark_admission::decide::namespace_labels;
use bulwark_admission::server::{self, Config, Loader, ServerError};
use bulwark_admission::{cert, review, Admission, ImageRules, Metrics, NamespaceLabels};
use bulwark_policy::pss::PodSecurityConfiguration;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const HOST: &str = "bulwark-admission.bulwark-system.svc";

fn namespaces() -> NamespaceLabels {
    namespace_labels(&[
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "colin-coder", "labels": {
            "pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/enforce-version": "v1.30"}}}),
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default", "labels": {
            "pod-security.kubernetes.io/enforce": "baseline"}}}),
    ])
}

/// A loader over a policy directory (empty: no policies), the namespaces above.
fn loader(policies: Option<PathBuf>) -> Loader {
    Arc::new(move || {
        let mut list = Vec::new();
        if let Some(dir) = &policies {
            let mut docs = Vec::new();
            for d in bulwark_policy::resource::read_paths(std::slice::from_ref(dir)) {
                docs.push(d.map_err(|e| e.to_string())?);
            }
            list = bulwark_policy::dialect::compile(&docs)
                .map_err(|es| es.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; "))?;
        }
        Ok(Admission::new(list, PodSecurityConfiguration::default(), namespaces(), ImageRules::default()))
    })
}

/// The same decisions, in process, for comparison.
fn direct(policies: Option<PathBuf>) -> Admission {
    (loader(policies))().unwrap()
}

/// Writes a CA and serving certificate into `dir` (replacing what is there).
fn make_cert(dir: &Path) {
    let files = cert::generate("bulwark-admission", "bulwark-system", 2).unwrap();
    cert::write(dir, &files, true).unwrap();
}

struct Srv {
    addr: SocketAddr,
    tls: PathBuf,
    /// The server's metrics handle, as the verifier gets it.
    metrics: Metrics,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    done: tokio::task::JoinHandle<Result<(), ServerError>>,
    _dir: tempfile::TempDir,
}

impl Srv {
    async fn start(loader: Loader, tweak: impl FnOnce(&mut Config)) -> Srv {
        let dir = tempfile::tempdir().unwrap();
        let tls = dir.path().join("tls");
        make_cert(&tls);
        let mut cfg = Config::new(tls.join("tls.crt"), tls.join("tls.key"));
        cfg.poll = Duration::from_millis(200);
        tweak(&mut cfg);
        let metrics = cfg.metrics.clone();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let done = tokio::spawn(server::serve(cfg, loader, listener, async move {
            let _ = rx.await;
        }));
        let srv = Srv { addr, tls, metrics, stop: Some(tx), done, _dir: dir };
        srv.wait_ready().await;
        srv
    }

    /// A new client (a new connection, so a new handshake) trusting `cas`.
    fn client_with(&self, cas: &[PathBuf]) -> reqwest::Client {
        let mut b = reqwest::Client::builder().resolve(HOST, self.addr).tls_info(true).pool_max_idle_per_host(0);
        for ca in cas {
            b = b.add_root_certificate(reqwest::Certificate::from_pem(&std::fs::read(ca).unwrap()).unwrap());
        }
        b.build().unwrap()
    }

    fn client(&self) -> reqwest::Client {
        self.client_with(&[self.tls.join("ca.crt")])
    }

    fn url(&self, path: &str) -> String {
        format!("https://{HOST}:{}{path}", self.addr.port())
    }

    async fn wait_ready(&self) {
        let c = self.client();
        for _ in 0..100 {
            if let Ok(r) = c.get(self.url("/readyz")).send().await {
                if r.status() == 200 {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the server was not ready after 5 s");
    }

    async fn post(&self, path: &str, body: Vec<u8>) -> Value {
        let r = self
            .client()
            .post(self.url(path))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        r.json().await.unwrap()
    }

    async fn metrics_text(&self) -> String {
        self.client().get(self.url("/metrics")).send().await.unwrap().text().await.unwrap()
    }

    async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        tokio::time::timeout(Duration::from_secs(15), self.done).await.unwrap().unwrap().unwrap();
    }
}

/// The value of one series in the metrics text (0 when absent).
fn metric(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series).and_then(|rest| rest.strip_prefix(' ')))
        .map(|v| v.trim().parse().unwrap())
        .unwrap_or(0.0)
}

fn gke() -> Vec<u8> {
    std::fs::read(crate::data("admissionreview/kube-rs/v1_pod_create_gke.json")).unwrap()
}

/// A review of `request` (a bare AdmissionRequest from shared data) as `api_version`.
fn wrap(request: &Path, api_version: &str) -> Vec<u8> {
    let req: Value = serde_json::from_slice(&std::fs::read(request).unwrap()).unwrap();
    serde_json::to_vec(&json!({"apiVersion": api_version, "kind": "AdmissionReview", "request": req})).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_reviews_are_answered_as_decide_answers_them_in_kind() {
    let srv = Srv::start(loader(None), |_| {}).await;
    let a = direct(None);
    let mut bodies = vec![gke()];
    let dir = crate::data("admissionreview/kubewarden-pod-privileged-policy/test_data");
    let mut names: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    names.sort();
    for p in names.iter().filter(|p| !p.ends_with("settings_skip_init_and_ephemeral_containers.json")) {
        bodies.push(wrap(p, "admission.k8s.io/v1"));
        bodies.push(wrap(p, "admission.k8s.io/v1beta1"));
    }
    // The GKE review as v1beta1 too.
    let mut beta: Value = serde_json::from_slice(&gke()).unwrap();
    beta["apiVersion"] = json!("admission.k8s.io/v1beta1");
    bodies.push(serde_json::to_vec(&beta).unwrap());
    let (mut allowed, mut denied, mut beta_seen) = (0, 0, 0);
    for body in &bodies {
        let r = review::parse(body).unwrap();
        let want = review::response(&r, &a.decide(&r).await);
        let got = srv.post("/validate", body.clone()).await;
        assert_eq!(got, want, "{}", String::from_utf8_lossy(&body[..200.min(body.len())]));
        assert_eq!(got["apiVersion"], r.version.api_version());
        assert_eq!(got["response"]["uid"], r.uid.as_str());
        if got["apiVersion"] == "admission.k8s.io/v1beta1" {
            beta_seen += 1;
        }
        if got["response"]["allowed"] == true {
            allowed += 1;
        } else {
            denied += 1;
        }
    }
    // The GKE pod runs as root in a restricted namespace (both versions); the privileged-policy
    // requests are in `default`, enforcing baseline: its three privileged Pods are denied, its
    // Deployment and StatefulSet warned (PSA enforces on Pods), the unprivileged Pod allowed.
    assert_eq!(bodies.len(), 14);
    assert_eq!((allowed, denied, beta_seen), (6, 8, 7));
    let gke_answer = srv.post("/validate", gke()).await;
    assert!(gke_answer["response"]["status"]["message"].as_str().unwrap().contains("pod-security/runAsNonRoot"));
    // /mutate answers in kind too (no mutation yet: allowed, no patch).
    // The handle the verifier gets counts into the same /metrics.
    srv.metrics.cache_hit();
    srv.metrics.registry_fetch(false);
    let m = srv.post("/mutate", serde_json::to_vec(&beta).unwrap()).await;
    assert_eq!(
        (m["apiVersion"].as_str(), m["response"]["allowed"].as_bool()),
        (Some("admission.k8s.io/v1beta1"), Some(true))
    );
    let text = srv.metrics_text().await;
    assert_eq!(metric(&text, r#"bulwark_admission_reviews_total{endpoint="validate",result="allowed"}"#), 6.0);
    assert_eq!(metric(&text, r#"bulwark_admission_reviews_total{endpoint="validate",result="denied"}"#), 9.0);
    assert_eq!(
        metric(&text, r#"bulwark_admission_rule_results_total{policy="pod-security",rule="privileged",result="fail"}"#),
        6.0
    );
    assert_eq!(metric(&text, r#"bulwark_admission_reviews_total{endpoint="mutate",result="allowed"}"#), 1.0);
    assert_eq!(
        metric(
            &text,
            r#"bulwark_admission_rule_results_total{policy="pod-security",rule="runAsNonRoot",result="fail"}"#
        ),
        3.0
    );
    assert_eq!(metric(&text, r#"bulwark_admission_review_duration_seconds_count{endpoint="validate"}"#), 15.0);
    assert_eq!(metric(&text, r#"bulwark_admission_reloads_total{what="policies",result="ok"}"#), 1.0);
    assert_eq!(metric(&text, "bulwark_admission_verification_cache_hits_total"), 1.0);
    assert_eq!(metric(&text, "bulwark_admission_verification_cache_misses_total"), 0.0);
    assert_eq!(metric(&text, r#"bulwark_admission_registry_fetches_total{result="error"}"#), 1.0);
    // HTTP/2 (as the API server speaks to webhooks when offered) and HTTP/1.1 both serve.
    let h = srv.client().get(srv.url("/healthz")).send().await.unwrap();
    assert_eq!((h.status(), h.version()), (reqwest::StatusCode::OK, reqwest::Version::HTTP_2));
    let c1 = reqwest::Client::builder()
        .resolve(HOST, srv.addr)
        .http1_only()
        .add_root_certificate(reqwest::Certificate::from_pem(&std::fs::read(srv.tls.join("ca.crt")).unwrap()).unwrap())
        .build()
        .unwrap();
    let r = c1.post(srv.url("/validate")).header("content-type", "application/json").body(gke()).send().await.unwrap();
    assert_eq!(r.version(), reqwest::Version::HTTP_11);
    assert_eq!(r.json::<Value>().await.unwrap(), srv.post("/validate", gke()).await);
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn controller_runtime_edge_cases_over_http() {
    let srv = Srv::start(loader(None), |_| {}).await;
    let path = crate::data("admissionreview/controller-runtime/http_edge_cases.json");
    let cases: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut checked = 0;
    for case in &cases {
        let it = case["it"].as_str().unwrap();
        if case["body"] == "<endless random bytes (crypto/rand.Reader)>" {
            continue; // below, streamed
        }
        let body: Vec<u8> = match case["body"].as_str() {
            None | Some("<http.NoBody>") => Vec::new(),
            Some(b) => b.as_bytes().to_vec(),
        };
        let mut req = srv.client().post(srv.url("/validate")).body(body);
        if let Some(ct) = case["content_type"].as_str() {
            req = req.header("content-type", ct);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), 200, "{it}");
        let text = r.text().await.unwrap();
        assert!(text.ends_with('\n'), "{it}");
        let got: Value = serde_json::from_str(&text).unwrap();
        let expected: Value = serde_json::from_str(case["expected_response_body"].as_str().unwrap()).unwrap();
        crate::assert_answers_like_controller_runtime(it, &expected, &got);
        checked += 1;
    }
    assert_eq!(checked, 7);
    let text = srv.metrics_text().await;
    assert_eq!(metric(&text, r#"bulwark_admission_review_errors_total{endpoint="validate",code="400"}"#), 4.0);
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_body_gets_413_and_is_not_read_past_the_limit() {
    let srv = Srv::start(loader(None), |_| {}).await;
    for http1 in [false, true] {
        // 64 MiB offered, in 64 KiB chunks of one shared buffer (the client allocates nothing).
        let chunk = bytes::Bytes::from(vec![b'{'; 64 * 1024]);
        let pulled = Arc::new(AtomicUsize::new(0));
        let p = pulled.clone();
        use futures_util::StreamExt as _;
        let stream = futures_util::stream::iter(0..1024).map(move |_| {
            p.fetch_add(chunk.len(), Ordering::Relaxed);
            Ok::<_, std::io::Error>(chunk.clone())
        });
        let mut b = reqwest::Client::builder().resolve(HOST, srv.addr).add_root_certificate(
            reqwest::Certificate::from_pem(&std::fs::read(srv.tls.join("ca.crt")).unwrap()).unwrap(),
        );
        if http1 {
            b = b.http1_only();
        }
        let r = b
            .build()
            .unwrap()
            .post(srv.url("/validate"))
            .header("content-type", "application/json")
            .body(reqwest::Body::wrap_stream(stream))
            .send()
            .await
            .unwrap();
        assert_eq!(r.version(), if http1 { reqwest::Version::HTTP_11 } else { reqwest::Version::HTTP_2 });
        assert_eq!(r.status(), 200);
        let got: Value = r.json().await.unwrap();
        assert_eq!(got["response"]["status"]["code"], 413, "{got}");
        assert_eq!(got["response"]["status"]["message"], "request entity is too large; limit is 7340032 bytes");
        assert_eq!(got["response"]["allowed"], false);
        let sent = pulled.load(Ordering::Relaxed);
        eprintln!("endless body (HTTP/1.1 {http1}): {sent} bytes pulled by the client of 67108864 offered");
        // Over the 8 MiB the case asks for, and far short of what was offered: the server
        // stopped at its limit (plus at most as much discarded while the answer is written,
        // and what socket and stream buffers hold).
        assert!(sent > review::MAX_BODY, "{sent}");
        assert!(sent < 32 * 1024 * 1024, "the server read on: {sent} bytes pulled");
    }
    let text = srv.metrics_text().await;
    assert_eq!(metric(&text, r#"bulwark_admission_review_errors_total{endpoint="validate",code="413"}"#), 2.0);
    srv.stop().await;
}

/// A Gatekeeper template whose Rego loops for hours without its time limit (2 s).
fn slow_policy(dir: &Path) {
    let policy = bulwark_testkit::policies::gatekeeper_pod_policy("K8sSlow", bulwark_testkit::policies::SLOW_REGO);
    std::fs::write(dir.join("slow.yaml"), policy).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_deadline_answers_in_time_with_a_reason() {
    let pol = tempfile::tempdir().unwrap();
    slow_policy(pol.path());
    for fail_open in [false, true] {
        let srv = Srv::start(loader(Some(pol.path().to_path_buf())), |c| {
            c.timeout = Duration::from_secs(1);
            c.fail_open = fail_open;
        })
        .await;
        let start = Instant::now();
        let got = srv.post("/validate", gke()).await;
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(950) && took < Duration::from_millis(1800), "{took:?}");
        let resp = &got["response"];
        if fail_open {
            assert_eq!(resp["allowed"], true, "{got}");
            assert_eq!(
                resp["warnings"][0],
                "bulwark admission: no decision within the 1s deadline (--timeout); allowed (--fail-open)"
            );
        } else {
            assert_eq!(resp["allowed"], false, "{got}");
            assert_eq!(
                resp["status"]["message"],
                "bulwark admission: no decision within the 1s deadline (--timeout); denied"
            );
            assert_eq!(resp["status"]["code"], 403);
        }
        assert_eq!(resp["uid"], "0c9a8d74-9cb7-44dd-b98e-09fd62def2f4");
        let text = srv.metrics_text().await;
        assert_eq!(metric(&text, r#"bulwark_admission_reviews_total{endpoint="validate",result="timeout"}"#), 1.0);
        srv.stop().await;
    }
}

/// The DER of the certificate in a PEM file.
fn der(pem_file: &Path) -> Vec<u8> {
    use rustls_pki_types::pem::PemObject;
    rustls_pki_types::CertificateDer::from_pem_file(pem_file).unwrap().to_vec()
}

async fn presented(srv: &Srv, cas: &[PathBuf]) -> Vec<u8> {
    let r = srv.client_with(cas).get(srv.url("/healthz")).send().await.unwrap();
    r.extensions().get::<reqwest::tls::TlsInfo>().unwrap().peer_certificate().unwrap().to_vec()
}

/// Replaces `to` with `from` atomically (as a Secret volume update does).
fn replace(from: &Path, to: &Path) {
    let tmp = to.with_extension("tmp");
    std::fs::copy(from, &tmp).unwrap();
    std::fs::rename(&tmp, to).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_files_replaced_while_serving_are_presented_at_the_next_handshake() {
    let srv = Srv::start(loader(None), |_| {}).await;
    let old_ca = srv.tls.join("ca.crt");
    let old = der(&srv.tls.join("tls.crt"));
    assert_eq!(presented(&srv, std::slice::from_ref(&old_ca)).await, old);
    let next = tempfile::tempdir().unwrap();
    make_cert(next.path());
    let new_ca = next.path().join("ca.crt");
    let new = der(&next.path().join("tls.crt"));
    assert_ne!(new, old);
    let both = [old_ca.clone(), new_ca.clone()];

    // A key that does not belong to the certificate: refused, the old pair stays.
    replace(&next.path().join("tls.crt"), &srv.tls.join("tls.crt"));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = srv.metrics_text().await;
        if metric(&text, r#"bulwark_admission_reloads_total{what="tls",result="failed"}"#) >= 1.0 {
            break;
        }
        assert!(Instant::now() < deadline, "no failed reload seen: {text}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(presented(&srv, &both).await, old, "a mismatched pair must not be served");

    // The key follows: the next handshake presents the new certificate.
    replace(&next.path().join("tls.key"), &srv.tls.join("tls.key"));
    let deadline = Instant::now() + Duration::from_secs(10);
    while presented(&srv, &both).await != new {
        assert!(Instant::now() < deadline, "the new certificate was never presented");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Trusted through the new CA alone; the old CA no longer verifies it.
    assert_eq!(presented(&srv, std::slice::from_ref(&new_ca)).await, new);
    assert!(srv.client_with(std::slice::from_ref(&old_ca)).get(srv.url("/healthz")).send().await.is_err());
    // The test's own clients trust the new CA from here on (the server does not read ca.crt).
    let old_ca_pem = std::fs::read(&old_ca).unwrap();
    replace(&new_ca, &old_ca);
    assert_ne!(std::fs::read(&old_ca).unwrap(), old_ca_pem);
    let text = srv.metrics_text().await;
    assert_eq!(metric(&text, r#"bulwark_admission_reloads_total{what="tls",result="ok"}"#), 1.0);

    // Garbage in both files: the current pair stays.
    std::fs::write(srv.tls.join("tls.crt"), "not a certificate").unwrap();
    std::fs::write(srv.tls.join("tls.key"), "not a key").unwrap();
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(presented(&srv, std::slice::from_ref(&new_ca)).await, new);
    let text = srv.metrics_text().await;
    assert_eq!(metric(&text, r#"bulwark_admission_reloads_total{what="tls",result="ok"}"#), 1.0);
    assert!(metric(&text, r#"bulwark_admission_reloads_total{what="tls",result="failed"}"#) >= 2.0, "{text}");
    srv.stop().await;
}

/// Kyverno's disallow-latest-tag rule, in `action` mode.
fn latest_policy(action: &str) -> String {
    format!(
        r#"apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: disallow-latest-tag
spec:
  validationFailureAction: {action}
  rules:
    - name: validate-image-tag
      match:
        any:
          - resources:
              kinds: [Pod]
      validate:
        message: "Using a mutable image tag e.g. 'latest' is not allowed."
        pattern:
          spec:
            containers:
              - image: "!*:latest"
"#
    )
}

fn latest_pod() -> Vec<u8> {
    let body = json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
        "uid": "u-latest", "operation": "CREATE", "namespace": "shop", "kind": {"group": "", "version": "v1", "kind": "Pod"},
        "object": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "shop"},
            "spec": {"containers": [{"name": "c", "image": "nginx:latest"}]}}}});
    serde_json::to_vec(&body).unwrap()
}

async fn wait_reloads(srv: &Srv, result: &str, n: f64) {
    let series = format!(r#"bulwark_admission_reloads_total{{what="policies",result="{result}"}}"#);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if metric(&srv.metrics_text().await, &series) >= n {
            return;
        }
        assert!(Instant::now() < deadline, "{series} never reached {n}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policy_edits_while_serving_reload_or_keep_the_last_good_set() {
    let pol = tempfile::tempdir().unwrap();
    let file = pol.path().join("latest.yaml");
    std::fs::write(&file, latest_policy("Audit")).unwrap();
    let srv = Srv::start(loader(Some(pol.path().to_path_buf())), |c| c.watch = vec![pol.path().to_path_buf()]).await;
    let got = srv.post("/validate", latest_pod()).await;
    assert_eq!(got["response"]["allowed"], true, "{got}");
    assert!(got["response"]["warnings"][0].as_str().unwrap().starts_with("disallow-latest-tag/validate-image-tag: "));

    // A good edit: Audit -> Enforce takes effect.
    std::fs::write(&file, latest_policy("Enforce")).unwrap();
    wait_reloads(&srv, "ok", 2.0).await;
    let got = srv.post("/validate", latest_pod()).await;
    assert_eq!(got["response"]["allowed"], false, "{got}");
    assert!(got["response"]["status"]["message"]
        .as_str()
        .unwrap()
        .starts_with("disallow-latest-tag/validate-image-tag: "));

    // A bad edit (a field we do not implement, then broken YAML): the last good set stays.
    std::fs::write(&file, latest_policy("Audit").replace("      validate:", "      validate:\n        unheardOf: 1"))
        .unwrap();
    wait_reloads(&srv, "failed", 1.0).await;
    std::fs::write(pol.path().join("broken.yaml"), "kind: [unclosed").unwrap();
    wait_reloads(&srv, "failed", 2.0).await;
    let got = srv.post("/validate", latest_pod()).await;
    assert_eq!(got["response"]["allowed"], false, "the last good set (Enforce) is kept: {got}");
    let text = srv.metrics_text().await;
    assert_eq!(metric(&text, "bulwark_admission_policies"), 1.0);
    assert_eq!(metric(&text, r#"bulwark_admission_reloads_total{what="policies",result="ok"}"#), 2.0);

    // Fixed again: reloaded.
    std::fs::remove_file(pol.path().join("broken.yaml")).unwrap();
    std::fs::write(&file, latest_policy("Audit")).unwrap();
    wait_reloads(&srv, "ok", 3.0).await;
    assert_eq!(srv.post("/validate", latest_pod()).await["response"]["allowed"], true);
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_ready_until_policies_load_and_a_first_bad_set_stops_the_server() {
    // A slow first load: /readyz says 503 and reviews are denied saying why, until it is done.
    let inner = loader(None);
    let slow: Loader = Arc::new(move || {
        std::thread::sleep(Duration::from_millis(1500));
        inner()
    });
    let dir = tempfile::tempdir().unwrap();
    make_cert(dir.path());
    let cfg = Config::new(dir.path().join("tls.crt"), dir.path().join("tls.key"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let done = tokio::spawn(server::serve(cfg, slow, listener, async move {
        let _ = rx.await;
    }));
    let client = reqwest::Client::builder()
        .resolve(HOST, addr)
        .add_root_certificate(
            reqwest::Certificate::from_pem(&std::fs::read(dir.path().join("ca.crt")).unwrap()).unwrap(),
        )
        .build()
        .unwrap();
    let url = |p: &str| format!("https://{HOST}:{}{p}", addr.port());
    assert_eq!(client.get(url("/readyz")).send().await.unwrap().status(), 503);
    assert_eq!(client.get(url("/healthz")).send().await.unwrap().status(), 200);
    let got: Value = client
        .post(url("/validate"))
        .header("content-type", "application/json")
        .body(gke())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(got["response"]["allowed"], false);
    assert_eq!(got["response"]["status"]["message"], "bulwark admission: the policies are not loaded yet; denied");
    tokio::time::sleep(Duration::from_millis(1700)).await;
    assert_eq!(client.get(url("/readyz")).send().await.unwrap().status(), 200);
    let _ = tx.send(());
    done.await.unwrap().unwrap();

    // A first set that does not compile: the server ends with the error, never serving none.
    let pol = tempfile::tempdir().unwrap();
    std::fs::write(
        pol.path().join("bad.yaml"),
        latest_policy("Enforce").replace("      validate:", "      validate:\n        unheardOf: 1"),
    )
    .unwrap();
    let cfg = Config::new(dir.path().join("tls.crt"), dir.path().join("tls.key"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let r = tokio::time::timeout(
        Duration::from_secs(10),
        server::serve(cfg, loader(Some(pol.path().to_path_buf())), listener, std::future::pending()),
    )
    .await
    .unwrap();
    match r {
        Err(ServerError::Policies(m)) => assert!(m.contains("unheardOf"), "{m}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_reviews_and_their_latency() {
    let srv = Srv::start(loader(None), |_| {}).await;
    let client = srv.client();
    let body = gke();
    // Sequential, one connection: the latency of one review through TLS, spawn_blocking and PSS.
    let n = 200;
    let start = Instant::now();
    for _ in 0..n {
        let r = client
            .post(srv.url("/validate"))
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(r.json::<Value>().await.unwrap()["response"]["allowed"], false);
    }
    let seq = start.elapsed() / n;
    // The decision alone, in process: what spawn_blocking and TLS add is the difference.
    let a = direct(None);
    let r = review::parse(&body).unwrap();
    let start = Instant::now();
    for _ in 0..n {
        assert!(!a.decide(&r).await.allowed);
    }
    let alone = start.elapsed() / n;
    // 400 at once over 16 connections.
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..400 {
        let c = if i % 16 == 0 { srv.client() } else { client.clone() };
        let (url, body) = (srv.url("/validate"), body.clone());
        tasks.spawn(async move {
            let r = c.post(url).header("content-type", "application/json").body(body).send().await.unwrap();
            r.json::<Value>().await.unwrap()["response"]["allowed"] == false
        });
    }
    let mut denied = 0;
    while let Some(r) = tasks.join_next().await {
        denied += usize::from(r.unwrap());
    }
    let conc = start.elapsed();
    assert_eq!(denied, 400);
    eprintln!("admission server: {seq:?} per sequential review ({alone:?} of it deciding); 400 concurrent in {conc:?}");
    let text = srv.metrics_text().await;
    assert_eq!(metric(&text, r#"bulwark_admission_reviews_total{endpoint="validate",result="denied"}"#), 600.0);
    srv.stop().await;
}

/// Deserialises `v` into `T` and back: every field must survive (k8s-openapi ignores unknown
/// fields, so a misspelt one would otherwise pass).
fn round_trip<T: serde::de::DeserializeOwned + serde::Serialize>(v: &Value) -> usize {
    let typed: T = serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("{}: {e}", v["kind"]));
    assert_eq!(&serde_json::to_value(&typed).unwrap(), v, "{} lost or changed fields", v["kind"]);
    1
}

#[test]
fn manifests_are_kubernetes_objects_and_the_deployment_passes_restricted() {
    use bulwark_admission::manifests;
    use k8s_openapi::api::rbac::v1 as rbac;
    use k8s_openapi::api::{admissionregistration::v1 as adm, apps::v1 as apps, core::v1 as core, policy::v1 as pol};
    let dir = tempfile::tempdir().unwrap();
    make_cert(dir.path());
    let ca = std::fs::read(dir.path().join("ca.crt")).unwrap();
    let opts =
        manifests::Options { image: "registry.example.com/bulwark:1.0", ca_pem: &ca, namespace: "bulwark-system" };
    let yaml = manifests::yaml(&opts).unwrap();
    // Read back as kubectl would read the file: every document, through the engine's YAML reader.
    let docs = bulwark_policy::yaml::documents("manifests", &yaml).unwrap();
    assert_eq!(docs, manifests::objects(&opts).unwrap());
    let mut kinds = Vec::new();
    let mut typed = 0;
    for d in &docs {
        let kind = d["kind"].as_str().unwrap();
        kinds.push(kind.to_string());
        typed += match kind {
            "Namespace" => round_trip::<core::Namespace>(d),
            "ServiceAccount" => round_trip::<core::ServiceAccount>(d),
            "Service" => round_trip::<core::Service>(d),
            "ClusterRole" => round_trip::<rbac::ClusterRole>(d),
            "ClusterRoleBinding" => round_trip::<rbac::ClusterRoleBinding>(d),
            "Deployment" => round_trip::<apps::Deployment>(d),
            "PodDisruptionBudget" => round_trip::<pol::PodDisruptionBudget>(d),
            "ValidatingWebhookConfiguration" => round_trip::<adm::ValidatingWebhookConfiguration>(d),
            "MutatingWebhookConfiguration" => round_trip::<adm::MutatingWebhookConfiguration>(d),
            other => panic!("unexpected {other}"),
        };
    }
    assert_eq!(typed, 9);
    assert_eq!(
        kinds,
        [
            "Namespace",
            "ServiceAccount",
            "ClusterRole",
            "ClusterRoleBinding",
            "Deployment",
            "PodDisruptionBudget",
            "Service",
            "ValidatingWebhookConfiguration",
            "MutatingWebhookConfiguration"
        ]
    );
    // The webhooks: the CA that signed the serving certificate, failing closed within 10 s.
    let vwc: adm::ValidatingWebhookConfiguration = serde_json::from_value(docs[7].clone()).unwrap();
    let w = &vwc.webhooks.unwrap()[0];
    assert_eq!(w.client_config.ca_bundle.as_ref().unwrap().0, ca);
    assert_eq!(w.client_config.service.as_ref().unwrap().path.as_deref(), Some("/validate"));
    assert_eq!(
        (w.failure_policy.as_deref(), w.side_effects.as_str(), w.timeout_seconds),
        (Some("Fail"), "None", Some(10))
    );
    assert_eq!(w.admission_review_versions, ["v1", "v1beta1"]);
    let exempt = &w.namespace_selector.as_ref().unwrap().match_expressions.as_ref().unwrap()[0];
    assert_eq!(exempt.values.as_deref(), Some(&["bulwark-system".to_string(), "kube-system".to_string()][..]));
    let resources: Vec<String> = w.rules.as_ref().unwrap().iter().flat_map(|r| r.resources.clone().unwrap()).collect();
    for r in [
        "pods",
        "deployments",
        "replicasets",
        "statefulsets",
        "daemonsets",
        "jobs",
        "cronjobs",
        "replicationcontrollers",
    ] {
        assert!(resources.iter().any(|x| x == r), "{r}");
    }
    let d: apps::Deployment = serde_json::from_value(docs[4].clone()).unwrap();
    assert_eq!(d.spec.replicas, Some(2));

    // Its own Pod Security Standards restricted check, every version, through the library.
    let deploy = &docs[4];
    for version in ["latest", "v1.25", "v1.30", "v1.37"] {
        let pss = bulwark_policy::pss::PodSecurity::enforcing(format!("restricted:{version}").parse().unwrap());
        let req = bulwark_policy::Request { file: "manifests", object: deploy, ..Default::default() };
        let results = bulwark_policy::Policy::evaluate(&pss, &req);
        assert!(!results.is_empty());
        let bad: Vec<_> = results.iter().filter(|r| r.result != bulwark_policy::Outcome::Pass).collect();
        assert!(bad.is_empty(), "{version}: {bad:?}");
    }
    // The server certificate names the Service as the API server calls it.
    let files = cert::generate("bulwark-admission", "bulwark-system", 1).unwrap();
    assert!(files.cert.starts_with("-----BEGIN CERTIFICATE-----"));
    assert_eq!(cert::service_names("a", "b"), ["a.b.svc", "a", "a.b", "a.b.svc.cluster.local"]);
    // Hostile input: refused naming the flag.
    assert!(manifests::objects(&manifests::Options { ca_pem: b"nope", ..opts }).is_err());
    assert!(manifests::objects(&manifests::Options { namespace: "../x", ..opts }).is_err());
    assert!(manifests::objects(&manifests::Options { image: "a b", ..opts }).is_err());
}
