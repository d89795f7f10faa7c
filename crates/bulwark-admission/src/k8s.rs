//! What the webhook reads from the Kubernetes API (through `kube`): namespace labels, kept in
//! a watch cache (a reflector: one list, then a watch, re-listed on errors with backoff), so a
//! review never waits on the API for them; and registry credentials for a pod, from its
//! `imagePullSecrets` and its service account's, read when verification needs them.
//!
//! In-cluster configuration by default, or a kubeconfig file (`--kubeconfig`).

use futures_util::StreamExt;
use k8s_openapi::api::core::v1::{Namespace, Secret, ServiceAccount};
use kube::api::Api;
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{watcher, WatchStreamExt};
use kube::Client;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum KubeError {
    #[error("kubeconfig {path}: {why}")]
    Kubeconfig { path: String, why: String },
    #[error("Kubernetes API: {0}")]
    Api(String),
    #[error("the namespace cache is not ready after {0:?} (is the API reachable?)")]
    NotReady(Duration),
}

/// The cluster the webhook serves.
#[derive(Clone)]
pub struct Cluster {
    client: Client,
    namespaces: Store<Namespace>,
}

/// A connected client; the namespace watch runs on the current tokio runtime until the
/// returned handle is dropped or aborted.
pub async fn connect(kubeconfig: Option<&Path>) -> Result<(Cluster, tokio::task::JoinHandle<()>), KubeError> {
    let client = match kubeconfig {
        Some(p) => {
            let shown = p.display().to_string();
            let kc = kube::config::Kubeconfig::read_from(p)
                .map_err(|e| KubeError::Kubeconfig { path: shown.clone(), why: e.to_string() })?;
            let config = kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default())
                .await
                .map_err(|e| KubeError::Kubeconfig { path: shown.clone(), why: e.to_string() })?;
            Client::try_from(config).map_err(|e| KubeError::Kubeconfig { path: shown, why: e.to_string() })?
        }
        None => Client::try_default().await.map_err(|e| KubeError::Api(e.to_string()))?,
    };
    let (reader, writer) = reflector::store::<Namespace>();
    let api: Api<Namespace> = Api::all(client.clone());
    let watch = watcher(api, watcher::Config::default()).default_backoff().reflect(writer).applied_objects();
    let task = tokio::spawn(async move {
        let mut watch = std::pin::pin!(watch);
        while let Some(event) = watch.next().await {
            // The watcher re-lists by itself after an error (with backoff): only say so.
            if let Err(e) = event {
                tracing::warn!(error = %e, "namespace watch");
            }
        }
    });
    Ok((Cluster { client, namespaces: reader }, task))
}

impl Cluster {
    /// Waits until the namespace cache has its first full list.
    pub async fn ready(&self, within: Duration) -> Result<(), KubeError> {
        tokio::time::timeout(within, self.namespaces.wait_until_ready())
            .await
            .map_err(|_| KubeError::NotReady(within))?
            .map_err(|e| KubeError::Api(e.to_string()))
    }

    /// A namespace's labels, from the cache (`None`: no such namespace, or not seen yet).
    pub fn namespace_labels(&self, name: &str) -> Option<BTreeMap<String, String>> {
        let ns = self.namespaces.get(&ObjectRef::new(name))?;
        Some(ns.metadata.labels.clone().unwrap_or_default())
    }

    /// Every namespace's labels, as the cache holds them now.
    pub fn all_namespace_labels(&self) -> crate::decide::NamespaceLabels {
        self.namespaces
            .state()
            .iter()
            .filter_map(|ns| Some((ns.metadata.name.clone()?, ns.metadata.labels.clone().unwrap_or_default())))
            .collect()
    }

    /// The Docker config JSON (`.dockerconfigjson`, or the legacy `.dockercfg`) of every pull
    /// secret a pod may use: its own `imagePullSecrets`, then its service account's
    /// (`default` when it names none), as the kubelet looks them up. A secret that does not
    /// exist is skipped, as the kubelet skips it; an API error is an error.
    pub async fn pull_secrets(&self, namespace: &str, pod_spec: &Value) -> Result<Vec<Vec<u8>>, KubeError> {
        let mut names: Vec<String> = names_of(&pod_spec["imagePullSecrets"]);
        let sa_name = pod_spec["serviceAccountName"].as_str().filter(|s| !s.is_empty()).unwrap_or("default");
        let sas: Api<ServiceAccount> = Api::namespaced(self.client.clone(), namespace);
        if let Some(sa) = sas
            .get_opt(sa_name)
            .await
            .map_err(|e| KubeError::Api(format!("serviceaccount {namespace}/{sa_name}: {e}")))?
        {
            for r in sa.image_pull_secrets.unwrap_or_default() {
                if !r.name.is_empty() && !names.contains(&r.name) {
                    names.push(r.name);
                }
            }
        }
        let secrets: Api<Secret> = Api::namespaced(self.client.clone(), namespace);
        let mut out = Vec::new();
        for name in names {
            let Some(secret) =
                secrets.get_opt(&name).await.map_err(|e| KubeError::Api(format!("secret {namespace}/{name}: {e}")))?
            else {
                continue;
            };
            let data = secret.data.unwrap_or_default();
            if let Some(v) = data.get(".dockerconfigjson").or_else(|| data.get(".dockercfg")) {
                out.push(v.0.clone());
            }
        }
        Ok(out)
    }
}

/// `[{name: …}]` → names.
fn names_of(v: &Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["name"].as_str())
        .filter(|n| !n.is_empty())
        .map(str::to_string)
        .collect()
}
