//! `bulwark admission`: the admission webhook's decisions from the command line.
//! `review` reads one AdmissionReview (or a bare AdmissionRequest) and prints the response the
//! webhook would give, deciding with the same code as the server.

use crate::exit::Exit;
use crate::policy::{namespace_labels, policy_documents, print_errors, read_documents};
use anyhow::{bail, Context, Result};
use bulwark_admission::watch::Watch;
use bulwark_admission::{review, Admission, ImageRules, ImageSettings, ImageVerifier, NoMatchPolicy, VerifyOptions};
use bulwark_policy::pss::PodSecurityConfiguration;
use bulwark_policy::resource::read_paths;
use bulwark_policy::Policy;
use bulwark_vulndb::severity::Level;
use clap::{Args, Subcommand};
use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(Subcommand)]
pub(crate) enum AdmissionCommand {
    /// Decide one AdmissionReview (standard input, or FILE): print the AdmissionReview response
    /// as JSON; exit 0 when allowed, 1 when denied, 2 when the review or a policy cannot be read.
    Review(ReviewArgs),
    /// Read the inventory of newly admitted images (once each), match every admitted image
    /// against the database, and alert on findings that are new and at or above --severity:
    /// one JSON object per line on stdout, and a JSON POST each to --alert-url. Run it after
    /// `bulwark db update` (the server does so when its database changes).
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

pub(crate) fn run(c: AdmissionCommand) -> Result<Exit> {
    match c {
        AdmissionCommand::Review(a) => review_one(a),
        AdmissionCommand::Watch(a) => watch(a),
        AdmissionCommand::Report(a) => report(a),
    }
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
    Ok(Some(
        Admission::new(policies, pss, namespaces, images)
            .with_verifier(Arc::new(ImageVerifier::new(verify)))
            .with_deadline(Duration::from_secs(a.verify_deadline.max(1)))
            .with_no_match(NoMatchPolicy::parse(&a.no_match_policy).unwrap_or_default()),
    ))
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
