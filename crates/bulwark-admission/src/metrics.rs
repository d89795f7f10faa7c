//! The webhook's Prometheus metrics (`/metrics`, OpenMetrics text, prefix `bulwark_admission`):
//! reviews by endpoint and result, rule results by policy, rule and result, review latency,
//! requests that could not be reviewed, reloads; and the counters the image verifier
//! increments (verification cache hits and misses, registry fetches) through [`Metrics`].

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::sync::Arc;

/// `/validate` or `/mutate`.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum Endpoint {
    Validate,
    Mutate,
}

impl Endpoint {
    pub fn as_str(self) -> &'static str {
        match self {
            Endpoint::Validate => "validate",
            Endpoint::Mutate => "mutate",
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReviewLabels {
    pub endpoint: &'static str,
    /// `allowed`, `denied`, `timeout` (the deadline answered), `error` (not reviewable).
    pub result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RuleLabels {
    /// Names from the loaded policies: bounded by the configuration, never by requests.
    pub policy: String,
    pub rule: String,
    /// `pass`, `fail`, `warn`, `error` (skips are not counted: every rule skips most objects).
    pub result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EndpointLabels {
    pub endpoint: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ErrorLabels {
    pub endpoint: &'static str,
    /// The status in the review's `status.code` (400, 413) or 500 for an evaluation that
    /// panicked.
    pub code: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReloadLabels {
    /// `policies` or `tls`.
    pub what: &'static str,
    /// `ok` or `failed` (the last good set or pair kept).
    pub result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FetchLabels {
    /// `ok` or `error`.
    pub result: &'static str,
}

struct Inner {
    registry: Registry,
    reviews: Family<ReviewLabels, Counter>,
    rules: Family<RuleLabels, Counter>,
    latency: Family<EndpointLabels, Histogram>,
    errors: Family<ErrorLabels, Counter>,
    reloads: Family<ReloadLabels, Counter>,
    policies: Gauge,
    cache_hits: Counter,
    cache_misses: Counter,
    fetches: Family<FetchLabels, Counter>,
}

/// A cheap handle to the webhook's metrics (clone it into the verifier).
#[derive(Clone)]
pub struct Metrics(Arc<Inner>);

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("bulwark_admission");
        let reviews = Family::<ReviewLabels, Counter>::default();
        let rules = Family::<RuleLabels, Counter>::default();
        let latency = Family::<EndpointLabels, Histogram>::new_with_constructor(|| {
            Histogram::new([0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0])
        });
        let errors = Family::<ErrorLabels, Counter>::default();
        let reloads = Family::<ReloadLabels, Counter>::default();
        let policies = Gauge::default();
        let cache_hits = Counter::default();
        let cache_misses = Counter::default();
        let fetches = Family::<FetchLabels, Counter>::default();
        registry.register("reviews", "Reviews answered, by endpoint and result", reviews.clone());
        registry.register("rule_results", "Rule results, by policy, rule and result", rules.clone());
        registry.register("review_duration_seconds", "Time from the request to its answer", latency.clone());
        registry.register("review_errors", "Requests that could not be reviewed, by status code", errors.clone());
        registry.register("reloads", "Policy and TLS reloads, by result", reloads.clone());
        registry.register("policies", "Policies in the set being served", policies.clone());
        registry.register("verification_cache_hits", "Image verifications answered from the cache", cache_hits.clone());
        registry.register("verification_cache_misses", "Image verifications not in the cache", cache_misses.clone());
        registry.register("registry_fetches", "Registry requests made by image verification", fetches.clone());
        Metrics(Arc::new(Inner {
            registry,
            reviews,
            rules,
            latency,
            errors,
            reloads,
            policies,
            cache_hits,
            cache_misses,
            fetches,
        }))
    }

    /// One review answered: its result, its latency and every rule result of its verdict.
    pub fn review(&self, endpoint: Endpoint, result: &'static str, seconds: f64, rules: &[crate::review::RuleTally]) {
        let e = endpoint.as_str();
        self.0.reviews.get_or_create(&ReviewLabels { endpoint: e, result }).inc();
        self.0.latency.get_or_create(&EndpointLabels { endpoint: e }).observe(seconds);
        for (policy, rule, outcome) in rules {
            let result = match outcome {
                bulwark_policy::Outcome::Pass => "pass",
                bulwark_policy::Outcome::Fail => "fail",
                bulwark_policy::Outcome::Warn => "warn",
                bulwark_policy::Outcome::Error => "error",
                bulwark_policy::Outcome::Skip => continue,
            };
            self.0.rules.get_or_create(&RuleLabels { policy: policy.clone(), rule: rule.clone(), result }).inc();
        }
    }

    /// A request that could not be reviewed (answered with `code` in the review).
    pub fn error(&self, endpoint: Endpoint, code: u16, seconds: f64) {
        let e = endpoint.as_str();
        self.0.errors.get_or_create(&ErrorLabels { endpoint: e, code }).inc();
        self.0.reviews.get_or_create(&ReviewLabels { endpoint: e, result: "error" }).inc();
        self.0.latency.get_or_create(&EndpointLabels { endpoint: e }).observe(seconds);
    }

    /// A reload of `what` (`policies`, `tls`).
    pub fn reload(&self, what: &'static str, ok: bool) {
        let result = if ok { "ok" } else { "failed" };
        self.0.reloads.get_or_create(&ReloadLabels { what, result }).inc();
    }

    /// The number of policies being served.
    pub fn set_policies(&self, n: usize) {
        self.0.policies.set(i64::try_from(n).unwrap_or(i64::MAX));
    }

    /// For the verifier: a verification answered from its cache.
    pub fn cache_hit(&self) {
        self.0.cache_hits.inc();
    }

    /// For the verifier: a verification that had to go to the registry.
    pub fn cache_miss(&self) {
        self.0.cache_misses.inc();
    }

    /// For the verifier: one registry request, and whether it succeeded.
    pub fn registry_fetch(&self, ok: bool) {
        self.0.fetches.get_or_create(&FetchLabels { result: if ok { "ok" } else { "error" } }).inc();
    }

    /// The OpenMetrics text.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.0.registry).is_err() {
            out.clear();
        }
        out
    }
}
