//! Prometheus metrics (`/metrics`, OpenMetrics text): requests by route class, method and
//! status, their latency, and bytes served and received.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// A route class (`manifest`, `blob`, `upload`, `tags`, `catalog`, `referrers`, `token`,
    /// `api`, …), never the path: repository names would make the series unbounded.
    pub route: &'static str,
    /// One of the methods the registry knows, else `other`: any token is a valid method name,
    /// and each new label value is a new series kept forever.
    pub method: &'static str,
    /// Only statuses this server produces: a bounded set.
    pub status: u16,
}

/// The metrics label of a request method (bounded, see [`RequestLabels::method`]).
pub fn method_label(m: &axum::http::Method) -> &'static str {
    use axum::http::Method as M;
    match *m {
        M::GET => "GET",
        M::HEAD => "HEAD",
        M::PUT => "PUT",
        M::POST => "POST",
        M::PATCH => "PATCH",
        M::DELETE => "DELETE",
        M::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub route: &'static str,
}

pub struct Metrics {
    registry: Registry,
    pub requests: Family<RequestLabels, Counter>,
    pub latency: Family<RouteLabels, Histogram>,
    pub bytes_sent: Counter,
    pub bytes_received: Counter,
    pub gc_blobs_deleted: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("bulwark_registry");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            Histogram::new([0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0])
        });
        let bytes_sent = Counter::default();
        let bytes_received = Counter::default();
        let gc_blobs_deleted = Counter::default();
        registry.register("http_requests", "HTTP requests by route class, method and status", requests.clone());
        registry.register("http_request_duration_seconds", "Time to the response head", latency.clone());
        registry.register("blob_bytes_sent", "Blob bytes served", bytes_sent.clone());
        registry.register("blob_bytes_received", "Blob bytes uploaded", bytes_received.clone());
        registry.register("gc_blobs_deleted", "Blobs removed by garbage collection", gc_blobs_deleted.clone());
        Metrics { registry, requests, latency, bytes_sent, bytes_received, gc_blobs_deleted }
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}
