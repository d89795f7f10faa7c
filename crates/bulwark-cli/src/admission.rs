//! `bulwark admission`: the admission webhook. `review` reads one AdmissionReview (or a bare
//! AdmissionRequest) and prints the response the webhook would give, deciding with the same
//! code and the same flags as `serve`, the HTTPS server; `cert` makes its CA and serving
//! certificate; `manifests` prints what `kubectl apply` needs to run it.

use crate::exit::Exit;
use crate::policy::{namespace_labels, policy_documents, print_errors, read_documents};
use anyhow::{bail, Context, Result};
use bulwark_admission::{cert, manifests, review, server, Admission, ImageRules, ImageSettings};
use bulwark_policy::pss::PodSecurityConfiguration;
use bulwark_policy::resource::read_paths;
use bulwark_policy::Policy;
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
}

#[derive(Args)]
pub(crate) struct ReviewArgs {
    #[command(flatten)]
    policy: PolicyArgs,
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
pub(crate) fn admission(a: &PolicyArgs) -> Result<Option<Admission>> {
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
    rest(a, policies).map(Some)
}

/// As [`admission`], for the server: every error in the one message it logs.
fn load(a: &PolicyArgs) -> Result<Admission, String> {
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
    rest(a, policies).map_err(|e| format!("{e:#}"))
}

/// The namespaces, Pod Security configuration and image rules, around the policies.
fn rest(a: &PolicyArgs, policies: Vec<Box<dyn Policy>>) -> Result<Admission> {
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
    Ok(Admission::new(policies, pss, namespaces, images))
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
    let policy = Arc::new(a.policy);
    let loader: server::Loader = Arc::new(move || load(&policy));
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
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
    let Some(admission) = admission(&a.policy)? else { return Ok(Exit::Error) };
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
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let verdict = rt.block_on(admission.decide(&parsed));
    println!("{}", serde_json::to_string_pretty(&review::response(&parsed, &verdict))?);
    Ok(if verdict.allowed { Exit::Success } else { Exit::Failure })
}
