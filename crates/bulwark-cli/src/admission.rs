//! `bulwark admission`: the admission webhook. `review` reads one AdmissionReview (or a bare
//! AdmissionRequest) and prints the response the webhook would give, deciding with the same
//! code and the same flags as `serve`, the HTTPS server; `cert` makes its CA and serving
//! certificate; `manifests` prints what `kubectl apply` needs to run it.

use crate::exit::Exit;
use crate::policy::{namespace_labels, policy_documents, print_errors, read_documents};
use anyhow::{bail, Context, Result};
use bulwark_admission::gate::{Gate, Unknown};
use bulwark_admission::k8s::Cluster;
use bulwark_admission::watch::Watch;
use bulwark_admission::{
    cert, manifests, review, server, Admission, ImageRules, ImageSettings, ImageVerifier, NoMatchPolicy, VerifyOptions,
};
use bulwark_policy::pss::PodSecurityConfiguration;
use bulwark_policy::resource::read_paths;
use bulwark_policy::Policy;
use bulwark_vulndb::severity::Level;
use clap::{Args, Subcommand};
use std::io::Read;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(Subcommand)]
pub(crate) enum AdmissionCommand {
    /// Decide one AdmissionReview (standard input, or FILE): print the AdmissionReview response
    /// as JSON; exit 0 when allowed, 1 when denied, 2 when the review or a policy cannot be read.
    Review(ReviewArgs),
    /// Serve the webhook over HTTPS: POST /validate and /mutate (AdmissionReview v1 and
    /// v1beta1), GET /healthz, /readyz, /metrics. Certificate and policy files are re-read when
    /// they change. Stops on SIGTERM or SIGINT after the reviews in flight.
    Serve(ServeArgs),
    /// Write a CA and a serving certificate for the webhook's Service (ca.crt, ca.key, tls.crt,
    /// tls.key; keys mode 0600) into DIR.
    Cert(CertArgs),
    /// Print the Kubernetes objects that run the webhook (YAML for kubectl apply).
    Manifests(ManifestsArgs),
    /// Read the inventory of newly admitted images (once each), match every admitted image
    /// against the database, and alert on findings that are new and at or above --severity:
    /// one JSON object per line on stdout, and a JSON POST each to --alert-url. Run it after
    /// `bulwark db update` (from cron or a CronJob; the server does not run it yet).
    Watch(WatchArgs),
    /// Admitted workloads, their images and current findings, from the watch state.
    Report(ReportArgs),
}

#[derive(Args)]
pub(crate) struct WatchArgs {
    /// The watch state (SQLite; created if missing).
    #[arg(long, value_name = "FILE")]
    state: PathBuf,
    /// Database file (default: CACHE_DIR/db/vuln.db).
    #[arg(long, env = "BULWARK_DB")]
    db: Option<PathBuf>,
    /// POST each alert as JSON to this URL.
    #[arg(long, value_name = "URL")]
    alert_url: Option<String>,
    /// Alert on new findings at or above this severity.
    #[arg(long, default_value = "CRITICAL")]
    severity: String,
    #[command(flatten)]
    image: crate::ImageArgs,
}

#[derive(Args)]
pub(crate) struct ReportArgs {
    /// The watch state written by `serve`, `review --state` and `watch`.
    #[arg(long, value_name = "FILE")]
    state: PathBuf,
    /// The severity findings alert at (shown per image).
    #[arg(long, default_value = "CRITICAL")]
    severity: String,
    /// Output format: table or json.
    #[arg(short, long, default_value = "table")]
    format: String,
}

/// What every admission command decides with (`serve` takes the same).
#[derive(Args)]
pub(crate) struct PolicyArgs {
    /// Policy files or directories (Kyverno, Gatekeeper, ValidatingAdmissionPolicy); repeatable.
    #[arg(long = "policy", value_name = "PATH")]
    policies: Vec<PathBuf>,
    /// Namespace objects (YAML): their labels (Pod Security Standards, selectors), as the
    /// webhook would read them from the API.
    #[arg(long, value_name = "FILE")]
    namespaces: Option<PathBuf>,
    /// A PodSecurityConfiguration (or an AdmissionConfiguration holding one): defaults and
    /// exemptions for namespaces without labels.
    #[arg(long, value_name = "FILE")]
    pss_config: Option<PathBuf>,
    /// Image rules (YAML or JSON; Kubewarden trusted-repos settings: `registries`, `tags`,
    /// `images` allow/reject, plus `requireDigest`, `pullPolicyAlways`, `namespaces`).
    #[arg(long, value_name = "FILE")]
    images: Option<PathBuf>,
    /// Registry access for image verification (ClusterImagePolicy authorities, Kyverno
    /// verifyImages), as the signing commands take it.
    #[command(flatten)]
    registry: crate::sign::RegistryArgs,
    /// The keyless trust root (default: Sigstore's public-good instance), as `bulwark verify`.
    #[command(flatten)]
    trust: crate::sign::TrustRootArgs,
    /// How long image verification may take for one review, in seconds (below the
    /// webhook's timeoutSeconds: a slow registry gets a denial saying so).
    #[arg(long, value_name = "SECONDS", default_value_t = 8)]
    verify_deadline: u64,
    /// policy-controller's no-match-policy: an image no ClusterImagePolicy governs, in a
    /// namespace labelled policy.sigstore.dev/include=true, is denied, warned or allowed.
    #[arg(long, value_name = "deny|warn|allow", default_value = "deny", value_parser = ["deny", "warn", "allow"])]
    no_match_policy: String,
    /// Refuse images with findings at or above this severity (CRITICAL, HIGH, ...): from the
    /// scan their Bulwark registry stored, else their inventory matched with --db.
    #[arg(long, value_name = "SEVERITY")]
    vuln_gate: Option<String>,
    /// What an image whose vulnerability status is unknown gets under --vuln-gate.
    #[arg(long, value_name = "deny|warn|allow", default_value = "deny", value_parser = ["deny", "warn", "allow"])]
    vuln_unknown: String,
    /// The vulnerability database for --vuln-gate (default: CACHE_DIR/db/vuln.db); reopened
    /// when `bulwark db update` replaces it.
    #[arg(long, env = "BULWARK_DB", value_name = "FILE")]
    db: Option<PathBuf>,
    /// Read namespace labels from the Kubernetes API (a watch cache), with this kubeconfig.
    #[arg(long, value_name = "FILE", conflicts_with = "in_cluster")]
    kubeconfig: Option<PathBuf>,
    /// Read namespace labels from the Kubernetes API with the in-cluster configuration.
    #[arg(long)]
    in_cluster: bool,
}

/// Connects to the Kubernetes API when asked (`--kubeconfig`, `--in-cluster`), on the current
/// runtime (the namespace watch keeps running on it), and waits for the first namespace list.
async fn cluster(a: &PolicyArgs) -> Result<Option<bulwark_admission::k8s::Cluster>> {
    if a.kubeconfig.is_none() && !a.in_cluster {
        return Ok(None);
    }
    let (cluster, _task) = bulwark_admission::k8s::connect(a.kubeconfig.as_deref()).await?;
    cluster.ready(Duration::from_secs(30)).await?;
    Ok(Some(cluster))
}

#[derive(Args)]
pub(crate) struct ReviewArgs {
    #[command(flatten)]
    policy: PolicyArgs,
    /// Record an admitted workload's digest-pinned images in this watch state (see `watch`);
    /// a dry-run review records nothing.
    #[arg(long, value_name = "FILE")]
    state: Option<PathBuf>,
    /// Answer as the /mutate endpoint: the JSONPatch (digest pins of verified images,
    /// Kyverno mutate rules) instead of the /validate decision.
    #[arg(long)]
    mutate: bool,
    /// The review to decide; standard input when absent or `-`.
    file: Option<PathBuf>,
}

#[derive(Args)]
pub(crate) struct ServeArgs {
    #[command(flatten)]
    policy: PolicyArgs,
    /// The serving certificate (PEM, the chain after it); re-read when it changes.
    #[arg(long, value_name = "FILE")]
    tls_cert: PathBuf,
    /// Its private key (PEM); re-read when it changes.
    #[arg(long, value_name = "FILE")]
    tls_key: PathBuf,
    /// The address to listen on.
    #[arg(long, default_value = "0.0.0.0:8443")]
    addr: SocketAddr,
    /// Every review is answered within this (`500ms`, `8s`): a decision not done by then is a
    /// denial saying so. Keep it below the webhook's timeoutSeconds (10 in `manifests`).
    #[arg(long, default_value = "8s", value_parser = parse_duration)]
    timeout: Duration,
    /// At the deadline, or before the policies are loaded, allow with a warning instead of
    /// denying (as `failurePolicy: Ignore` would).
    #[arg(long)]
    fail_open: bool,
    /// How often the certificate and policy files are checked for changes.
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    reload_interval: Duration,
    /// Log lines as JSON (`json`) or text (`text`, the default).
    #[arg(long, value_name = "FORMAT", default_value = "text")]
    log_format: String,
}

#[derive(Args)]
pub(crate) struct CertArgs {
    /// The webhook's Service name.
    #[arg(long, default_value = manifests::NAME)]
    service: String,
    /// The Service's namespace.
    #[arg(long, default_value = manifests::NAMESPACE)]
    namespace: String,
    /// The directory to write ca.crt, ca.key, tls.crt and tls.key into (created if needed).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Validity of both certificates, in days.
    #[arg(long, default_value_t = 365)]
    days: u32,
    /// Replace existing files.
    #[arg(long)]
    force: bool,
}

#[derive(Args)]
pub(crate) struct ManifestsArgs {
    /// The bulwark image the Deployment runs (REGISTRY/bulwark:TAG, or by digest).
    #[arg(long, value_name = "REF")]
    image: String,
    /// The CA certificate of `admission cert` (ca.crt): the webhooks' caBundle.
    #[arg(long, value_name = "FILE")]
    ca: PathBuf,
    /// The namespace to deploy in (the webhooks never apply to it, nor to kube-system).
    #[arg(long, default_value = manifests::NAMESPACE)]
    namespace: String,
    /// Write to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
}

pub(crate) fn run(c: AdmissionCommand) -> Result<Exit> {
    match c {
        AdmissionCommand::Review(a) => review_one(a),
        AdmissionCommand::Watch(a) => watch(a),
        AdmissionCommand::Report(a) => report(a),
        AdmissionCommand::Serve(a) => serve(a),
        AdmissionCommand::Cert(a) => make_cert(a),
        AdmissionCommand::Manifests(a) => print_manifests(a),
    }
}

/// `500ms`, `8s`, `2m` (a bare number is seconds).
fn parse_duration(s: &str) -> Result<Duration, String> {
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: u64 = num.parse().map_err(|_| format!("{s:?}: a number and a unit (ms, s, m)"))?;
    let d = match unit {
        "ms" => Duration::from_millis(n),
        "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n.saturating_mul(60)),
        _ => return Err(format!("{s:?}: the unit is ms, s or m")),
    };
    if d.is_zero() || d > Duration::from_secs(3600) {
        return Err(format!("{s:?}: between 1ms and 1h"));
    }
    Ok(d)
}

/// Builds the decision maker from the flags; `Ok(None)` when errors were printed.
pub(crate) fn admission(a: &PolicyArgs, cluster: Option<Cluster>) -> Result<Option<Admission>> {
    let mut policies: Vec<Box<dyn Policy>> = Vec::new();
    if !a.policies.is_empty() {
        let mut input_errors = 0;
        let docs = policy_documents(read_documents(&a.policies, &mut input_errors));
        if input_errors > 0 {
            return Ok(None);
        }
        if docs.is_empty() {
            bail!("no policy under the --policy paths");
        }
        match bulwark_policy::dialect::compile(&docs) {
            Ok(p) => policies = p,
            Err(errors) => {
                print_errors(&errors);
                return Ok(None);
            }
        }
    }
    rest(a, policies, cluster).map(Some)
}

/// As [`admission`], for the server: every error in the one message it logs.
fn load(a: &PolicyArgs, cluster: Option<Cluster>) -> Result<Admission, String> {
    let mut policies: Vec<Box<dyn Policy>> = Vec::new();
    if !a.policies.is_empty() {
        let mut errors = Vec::new();
        let mut docs = Vec::new();
        for d in read_paths(&a.policies) {
            match d {
                Ok(d) => docs.push(d),
                Err(e) => errors.push(e.to_string()),
            }
        }
        if !errors.is_empty() {
            return Err(errors.join("; "));
        }
        let docs = policy_documents(docs);
        if docs.is_empty() {
            return Err("no policy under the --policy paths".into());
        }
        policies = bulwark_policy::dialect::compile(&docs)
            .map_err(|errors| errors.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; "))?;
    }
    rest(a, policies, cluster).map_err(|e| format!("{e:#}"))
}

/// The namespaces, Pod Security configuration and image rules, around the policies.
fn rest(a: &PolicyArgs, policies: Vec<Box<dyn Policy>>, cluster: Option<Cluster>) -> Result<Admission> {
    let namespaces = match &a.namespaces {
        Some(p) => namespace_labels(p).with_context(|| format!("reading --namespaces {}", p.display()))?,
        None => Default::default(),
    };
    let pss = match &a.pss_config {
        Some(p) => {
            let mut docs = read_paths(std::slice::from_ref(p));
            let doc = docs.next().with_context(|| format!("{}: no document", p.display()))??;
            PodSecurityConfiguration::from_value(&doc.file, &doc.value)?
        }
        None => PodSecurityConfiguration::default(),
    };
    let images = match &a.images {
        Some(p) => {
            let mut docs = read_paths(std::slice::from_ref(p));
            let doc = docs.next().with_context(|| format!("{}: no document", p.display()))??;
            let settings: ImageSettings =
                serde_json::from_value(doc.value).with_context(|| format!("--images {}", p.display()))?;
            ImageRules::new(settings).with_context(|| format!("--images {}", p.display()))?
        }
        None => ImageRules::default(),
    };
    let verify = VerifyOptions {
        registry: a.registry.options(),
        trust_root: Some(a.trust.root().context("the keyless trust root")?),
        // One registry operation gets at most the deadline.
        timeout: Duration::from_secs(a.verify_deadline.max(1)),
        ..Default::default()
    };
    let mut admission = Admission::new(policies, pss, namespaces, images)
        .with_verifier(Arc::new(ImageVerifier::new(verify)))
        .with_deadline(Duration::from_secs(a.verify_deadline.max(1)))
        .with_no_match(NoMatchPolicy::parse(&a.no_match_policy).unwrap_or_default());
    if let Some(level) = &a.vuln_gate {
        let level = severity(level).context("--vuln-gate")?;
        let unknown: Unknown = a.vuln_unknown.parse().map_err(|e: String| anyhow::anyhow!("--vuln-unknown {e}"))?;
        let db = a.db.clone().unwrap_or_else(|| bulwark_vulndb::default_path(None));
        let opts = bulwark_image::Options {
            insecure: a.registry.options().allow_insecure,
            docker_config: a.registry.options().docker_config,
            ..Default::default()
        };
        admission = admission.with_gate(Arc::new(Gate::new(level, unknown, Some(db), opts)));
    }
    if let Some(c) = cluster {
        admission = admission.with_cluster(c);
    }
    Ok(admission)
}

fn init_logging(format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let b = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if format == "json" {
        b.json().init();
    } else {
        b.init();
    }
}

fn serve(a: ServeArgs) -> Result<Exit> {
    if !matches!(a.log_format.as_str(), "text" | "json") {
        bail!("--log-format {:?}: text or json", a.log_format);
    }
    init_logging(&a.log_format);
    if a.timeout >= Duration::from_secs(manifests::TIMEOUT_SECONDS as u64) {
        tracing::warn!(
            timeout = ?a.timeout,
            "--timeout is not below the webhook's timeoutSeconds ({}): the API server may give up first",
            manifests::TIMEOUT_SECONDS
        );
    }
    let mut cfg = server::Config::new(a.tls_cert.clone(), a.tls_key.clone());
    cfg.timeout = a.timeout;
    cfg.fail_open = a.fail_open;
    cfg.poll = a.reload_interval;
    let p = &a.policy;
    cfg.watch = p.policies.iter().chain(&p.namespaces).chain(&p.pss_config).chain(&p.images).cloned().collect();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let cluster = rt.block_on(cluster(&a.policy))?;
    let policy = Arc::new(a.policy);
    let loader: server::Loader = Arc::new(move || load(&policy, cluster.clone()));
    rt.block_on(async move {
        let listener =
            tokio::net::TcpListener::bind(a.addr).await.with_context(|| format!("listening on {}", a.addr))?;
        let local = listener.local_addr()?;
        // A stable line for scripts and tests (port 0 picks one).
        eprintln!("bulwark admission: listening on https://{local}");
        tracing::info!(addr = %local, timeout = ?cfg.timeout, fail_open = cfg.fail_open, "serving");
        server::serve(cfg, loader, listener, server::shutdown_signal()).await?;
        anyhow::Ok(())
    })?;
    Ok(Exit::Success)
}

fn make_cert(a: CertArgs) -> Result<Exit> {
    let files = cert::generate(&a.service, &a.namespace, a.days)?;
    let paths = cert::write(&a.out, &files, a.force)?;
    for p in paths {
        eprintln!("wrote {}", p.display());
    }
    Ok(Exit::Success)
}

fn print_manifests(a: ManifestsArgs) -> Result<Exit> {
    let ca = std::fs::read(&a.ca).with_context(|| format!("reading --ca {}", a.ca.display()))?;
    let yaml = manifests::yaml(&manifests::Options { image: &a.image, ca_pem: &ca, namespace: &a.namespace })?;
    crate::write_output(a.output.as_deref(), |out| Ok(out.write_all(yaml.as_bytes())?))?;
    Ok(Exit::Success)
}

fn review_one(a: ReviewArgs) -> Result<Exit> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let cluster = rt.block_on(cluster(&a.policy))?;
    let Some(admission) = admission(&a.policy, cluster)? else { return Ok(Exit::Error) };
    let mut body = Vec::new();
    match a.file.as_deref() {
        None => std::io::stdin().lock().take(review::MAX_BODY as u64 + 1).read_to_end(&mut body)?,
        Some(p) if p.as_os_str() == "-" => {
            std::io::stdin().lock().take(review::MAX_BODY as u64 + 1).read_to_end(&mut body)?
        }
        Some(p) => std::fs::File::open(p)
            .with_context(|| format!("reading {}", p.display()))?
            .take(review::MAX_BODY as u64 + 1)
            .read_to_end(&mut body)?,
    };
    let parsed = match review::parse(&body) {
        Ok(r) => r,
        Err(e) => {
            println!("{}", serde_json::to_string_pretty(&review::error_response(&e))?);
            eprintln!("bulwark: error: {e}");
            return Ok(Exit::Error);
        }
    };
    let verdict =
        if a.mutate { rt.block_on(admission.mutate(&parsed)) } else { rt.block_on(admission.decide(&parsed)) };
    println!("{}", serde_json::to_string_pretty(&review::response(&parsed, &verdict))?);
    if let (Some(state), true, false) = (&a.state, verdict.allowed, parsed.dry_run) {
        if let Some(admitted) = bulwark_admission::watch::admitted(&parsed) {
            let w = Watch::open(state, Level::Critical)?;
            w.record(&admitted)?;
        }
    }
    Ok(if verdict.allowed { Exit::Success } else { Exit::Failure })
}

fn severity(s: &str) -> Result<Level> {
    Level::parse(s).with_context(|| format!("unknown --severity {s:?}; use UNKNOWN, LOW, MEDIUM, HIGH, CRITICAL"))
}

fn watch(a: WatchArgs) -> Result<Exit> {
    let level = severity(&a.severity)?;
    let w = Watch::open(&a.state, level)?;
    let db_path = a.db.clone().unwrap_or_else(|| bulwark_vulndb::default_path(a.image.cache_dir.as_deref()));
    let db = bulwark_vulndb::Db::open(&db_path)?;
    let failed = bulwark_admission::watch::inventory_pending(&w, &a.image.options())?;
    for (image, why) in &failed {
        eprintln!("bulwark: warning: {image}: inventory not read (tried again next time): {why}");
    }
    let alerts = w.rematch(&db)?;
    for alert in &alerts {
        println!("{}", serde_json::to_string(alert)?);
    }
    let mut undelivered = 0;
    if let Some(url) = &a.alert_url {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        for (alert, why) in rt.block_on(bulwark_admission::watch::post_alerts(url, &alerts)) {
            eprintln!(
                "bulwark: error: alert {} on {}/{}: not delivered: {why}",
                alert.vulnerability, alert.namespace, alert.name
            );
            undelivered += 1;
        }
    }
    eprintln!("bulwark: {} new finding(s) at or above {level}", alerts.len());
    Ok(if undelivered > 0 { Exit::Error } else { Exit::Success })
}

fn report(a: ReportArgs) -> Result<Exit> {
    let w = Watch::open(&a.state, severity(&a.severity)?)?;
    let report = w.report()?;
    match a.format.as_str() {
        "json" => println!("{}", serde_json::to_string_pretty(&report)?),
        "table" => {
            println!("{:<40} {:<12} {:<60} {:>9} FINDINGS (ALERTING)", "WORKLOAD", "CONTAINER", "IMAGE", "INVENTORY");
            for wl in &report {
                for i in &wl.images {
                    let counts: Vec<String> = i.findings.iter().rev().map(|(l, n)| format!("{l}:{n}")).collect();
                    println!(
                        "{:<40} {:<12} {:<60} {:>9} {} {}",
                        format!("{}/{}/{}", wl.namespace, wl.kind, wl.name),
                        i.container,
                        i.image,
                        if i.inventoried { "yes" } else { "pending" },
                        if counts.is_empty() { "-".to_string() } else { counts.join(" ") },
                        if i.alerting.is_empty() { String::new() } else { format!("({})", i.alerting.join(", ")) }
                    );
                }
            }
        }
        other => bail!("unknown --format {other:?}; one of: table, json"),
    }
    Ok(Exit::Success)
}
