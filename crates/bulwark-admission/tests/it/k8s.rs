//! The Kubernetes client side against a real HTTP server on loopback that answers the API
//! paths the webhook uses with the API's own JSON shapes (NamespaceList, watch events,
//! ServiceAccount, Secret, Status): list-then-watch of namespaces into the cache, a label
//! change arriving by watch, pull secrets from the pod and its service account.

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use base64::Engine as _;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

#[derive(Clone)]
struct Api {
    /// Watch events queued by the test, sent to the (one) watch connection.
    events: Arc<Mutex<Option<mpsc::UnboundedReceiver<Value>>>>,
    requests: Arc<Mutex<Vec<String>>>,
}

fn ns(name: &str, labels: Value, rv: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "uid": format!("uid-{name}"), "resourceVersion": rv, "labels": labels}, "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}})
}

fn not_found(kind: &str, name: &str) -> Response {
    let body = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": format!("{kind} \"{name}\" not found"), "reason": "NotFound", "details": {"name": name, "kind": kind}, "code": 404});
    (StatusCode::NOT_FOUND, axum::Json(body)).into_response()
}

async fn namespaces(State(api): State<Api>, Query(q): Query<HashMap<String, String>>) -> Response {
    api.requests
        .lock()
        .unwrap()
        .push(format!("namespaces watch={}", q.get("watch").map(String::as_str).unwrap_or("false")));
    if q.get("watch").map(String::as_str) == Some("true") {
        let Some(mut rx) = api.events.lock().unwrap().take() else {
            // A second watch (after a reconnect) gets an empty, open-ended stream.
            return Response::new(
                Body::from_stream(futures_util::stream::pending::<Result<Vec<u8>, std::io::Error>>()),
            );
        };
        let stream = async_stream(move |tx: mpsc::UnboundedSender<Result<Vec<u8>, std::io::Error>>| async move {
            while let Some(ev) = rx.recv().await {
                let mut line = serde_json::to_vec(&ev).unwrap();
                line.push(b'\n');
                if tx.send(Ok(line)).is_err() {
                    break;
                }
            }
        });
        return Response::new(Body::from_stream(stream));
    }
    let list = json!({"kind": "NamespaceList", "apiVersion": "v1", "metadata": {"resourceVersion": "100"}, "items": [
        ns("production", json!({"pod-security.kubernetes.io/enforce": "restricted", "kubernetes.io/metadata.name": "production"}), "90"),
        ns("shop", json!({"kubernetes.io/metadata.name": "shop"}), "91"),
    ]});
    axum::Json(list).into_response()
}

/// A stream fed by a task (no extra crates).
fn async_stream<F, Fut>(f: F) -> impl futures_util::Stream<Item = Result<Vec<u8>, std::io::Error>>
where
    F: FnOnce(mpsc::UnboundedSender<Result<Vec<u8>, std::io::Error>>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(f(tx));
    futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|item| (item, rx)) })
}

async fn service_account(State(api): State<Api>, Path((namespace, name)): Path<(String, String)>) -> Response {
    api.requests.lock().unwrap().push(format!("serviceaccount {namespace}/{name}"));
    if namespace == "shop" && name == "builder" {
        return axum::Json(
            json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name, "namespace": namespace},
            "imagePullSecrets": [{"name": "sa-cred"}, {"name": "missing"}]}),
        )
        .into_response();
    }
    not_found("serviceaccounts", &name)
}

async fn secret(State(api): State<Api>, Path((namespace, name)): Path<(String, String)>) -> Response {
    api.requests.lock().unwrap().push(format!("secret {namespace}/{name}"));
    let config = |user: &str| {
        let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:pw"));
        let cfg = json!({"auths": {"registry.example.com": {"auth": auth}}}).to_string();
        base64::engine::general_purpose::STANDARD.encode(cfg)
    };
    let data = match (namespace.as_str(), name.as_str()) {
        ("shop", "pod-cred") => json!({".dockerconfigjson": config("pod")}),
        ("shop", "sa-cred") => json!({".dockerconfigjson": config("sa")}),
        _ => return not_found("secrets", &name),
    };
    axum::Json(json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": namespace},
        "type": "kubernetes.io/dockerconfigjson", "data": data}))
    .into_response()
}

#[test]
fn namespaces_are_cached_and_watched_and_pull_secrets_read() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let api = Api { events: Arc::new(Mutex::new(Some(events_rx))), requests: Arc::default() };
        let app = Router::new()
            .route("/api/v1/namespaces", get(namespaces))
            .route("/api/v1/namespaces/{namespace}/serviceaccounts/{name}", get(service_account))
            .route("/api/v1/namespaces/{namespace}/secrets/{name}", get(secret))
            .with_state(api.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = dir.path().join("kubeconfig");
        std::fs::write(
            &kubeconfig,
            format!(
                "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: http://{addr}\nusers:\n- name: u\n  user:\n    token: test-token\ncontexts:\n- name: x\n  context:\n    cluster: c\n    user: u\ncurrent-context: x\n"
            ),
        )
        .unwrap();
        let (cluster, task) = bulwark_admission::k8s::connect(Some(&kubeconfig)).await.unwrap();
        cluster.ready(std::time::Duration::from_secs(10)).await.unwrap();
        let prod = cluster.namespace_labels("production").unwrap();
        assert_eq!(prod.get("pod-security.kubernetes.io/enforce").map(String::as_str), Some("restricted"));
        assert!(cluster.namespace_labels("nope").is_none());
        assert_eq!(cluster.all_namespace_labels().len(), 2);

        // A label change and a new namespace arrive by watch.
        events_tx.send(json!({"type": "MODIFIED", "object": ns("shop", json!({"pod-security.kubernetes.io/enforce": "baseline"}), "101")})).unwrap();
        events_tx.send(json!({"type": "ADDED", "object": ns("dev", json!({}), "102")})).unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let shop = cluster.namespace_labels("shop").unwrap();
            if shop.get("pod-security.kubernetes.io/enforce").map(String::as_str) == Some("baseline") && cluster.namespace_labels("dev").is_some() {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "the watch events did not reach the cache");
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        // A deletion too.
        events_tx.send(json!({"type": "DELETED", "object": ns("dev", json!({}), "103")})).unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while cluster.namespace_labels("dev").is_some() {
            assert!(std::time::Instant::now() < deadline, "the deletion did not reach the cache");
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }

        // Pull secrets: the pod's, then its service account's; a missing one is skipped.
        let spec = json!({"serviceAccountName": "builder", "imagePullSecrets": [{"name": "pod-cred"}], "containers": []});
        let secrets = cluster.pull_secrets("shop", &spec).await.unwrap();
        let users: Vec<String> = secrets
            .iter()
            .map(|s| {
                let v: Value = serde_json::from_slice(s).unwrap();
                let auth = v["auths"]["registry.example.com"]["auth"].as_str().unwrap();
                String::from_utf8(base64::engine::general_purpose::STANDARD.decode(auth).unwrap()).unwrap()
            })
            .collect();
        assert_eq!(users, ["pod:pw", "sa:pw"]);
        // No service account object (the default one not created yet): only the pod's.
        let secrets = cluster.pull_secrets("shop", &json!({"imagePullSecrets": [{"name": "pod-cred"}]})).await.unwrap();
        assert_eq!(secrets.len(), 1);
        let requests = api.requests.lock().unwrap().clone();
        assert!(requests.iter().any(|r| r == "namespaces watch=false") && requests.iter().any(|r| r == "namespaces watch=true"), "{requests:?}");
        assert!(requests.contains(&"secret shop/missing".to_string()), "{requests:?}");
        task.abort();
    });
}
