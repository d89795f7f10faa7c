//! `bulwark admission`: the admission webhook's decisions from the command line.
//! `review` reads one AdmissionReview (or a bare AdmissionRequest) and prints the response the
//! webhook would give, deciding with the same code as the server.

use crate::exit::Exit;
use crate::policy::{namespace_labels, policy_documents, print_errors, read_documents};
use anyhow::{bail, Context, Result};
use bulwark_admission::{review, Admission, ImageRules, ImageSettings, ImageVerifier, NoMatchPolicy, VerifyOptions};
use bulwark_policy::pss::PodSecurityConfiguration;
use bulwark_policy::resource::read_paths;
use bulwark_policy::Policy;
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
    Ok(if verdict.allowed { Exit::Success } else { Exit::Failure })
}
