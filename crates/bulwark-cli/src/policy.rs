//! `bulwark policy`: apply users' admission policies (Kyverno, Gatekeeper, ClusterImagePolicy)
//! and the Pod Security Standards to manifests offline, run their test files, and lint them.

use anyhow::{bail, Context, Result};
use bulwark_policy::pss::{LevelVersion, Modes, PodSecurity, PodSecurityConfiguration};
use bulwark_policy::resource::{pod_template, read_paths};
use bulwark_policy::{Document, Outcome, Policy, PolicyError, Request, RuleResult, TestRecord};
use clap::{Args, Subcommand};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::exit::Exit;

#[derive(Subcommand)]
pub(crate) enum PolicyCommand {
    /// Evaluate resources against policies and/or the Pod Security Standards: one result per
    /// resource x policy x rule; exit 1 when an enforce-mode rule fails or a rule errs.
    Apply(ApplyArgs),
    /// Run the Kyverno `kyverno-test.yaml` and gator `suite.yaml` files found under PATH.
    Test(TestArgs),
    /// Compile every policy document under the paths; every unsupported or invalid field is an
    /// error (exit 2).
    Lint(LintArgs),
}

#[derive(Args)]
pub(crate) struct ApplyArgs {
    /// Policy files or directories (Kyverno, Gatekeeper templates and constraints,
    /// ClusterImagePolicy); repeatable.
    #[arg(long = "policy", value_name = "PATH")]
    policies: Vec<PathBuf>,
    /// Check the Pod Security Standards at LEVEL[:VERSION] (`restricted`, `baseline:v1.30`;
    /// the version defaults to latest), in enforce mode.
    #[arg(long, value_name = "LEVEL[:VERSION]")]
    pss: Option<String>,
    /// YAML Namespace objects: the Pod Security Standards labels of each resource's namespace
    /// (`pod-security.kubernetes.io/{enforce,audit,warn}[-version]`) decide, over `--pss`.
    #[arg(long, value_name = "FILE")]
    namespace_labels: Option<PathBuf>,
    /// A PodSecurityConfiguration (or an AdmissionConfiguration holding one): its defaults and
    /// exemptions (usernames, runtimeClasses, namespaces).
    #[arg(long, value_name = "FILE")]
    pss_config: Option<PathBuf>,
    /// Output format: table, json, policy-report, sarif.
    #[arg(short, long, default_value = "table")]
    format: String,
    /// As Kyverno's flag: violations of audit-mode rules (Audit, dryrun, warn, PSS audit and
    /// warn labels) are reported as `warn`; without it they are reported as `fail`, as Kyverno
    /// does. Either way only enforce-mode failures (and errors) make the exit code 1.
    #[arg(long)]
    audit_warn: bool,
    /// Write to FILE instead of standard output.
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Write the resources that mutate rules changed, as they left them, and the resources
    /// that generate rules create, as a YAML stream to FILE (`-`: standard output, after the
    /// results), as `kyverno apply` prints them. Mutations never change the exit code.
    #[arg(long, value_name = "FILE")]
    output_mutated: Option<PathBuf>,
    /// Print to stderr how many resources were evaluated and the evaluation time per resource
    /// (p50, p99, max; every policy together, reading and parsing excluded). bench/policy.sh
    /// reads it.
    #[arg(long)]
    stats: bool,
    /// Stop a Rego evaluation that allocates more than MIB mebibytes (a template building values
    /// without bound); the evaluation's result is an error.
    #[arg(long, value_name = "MIB", default_value_t = bulwark_policy::gatekeeper::rego::REGO_MEMORY_LIMIT >> 20)]
    rego_memory_limit: u64,
    /// Resource files or directories (`.yaml`, `.yml`, `.json`), or `-` for standard input.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
}

#[derive(Args)]
pub(crate) struct TestArgs {
    /// A test file or a directory searched for them.
    path: PathBuf,
    /// Output format: text (one line per assertion) or json.
    #[arg(short, long, default_value = "text")]
    format: String,
}

#[derive(Args)]
pub(crate) struct LintArgs {
    /// Policy files or directories.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
}

pub(crate) fn run(c: PolicyCommand) -> Result<Exit> {
    match c {
        PolicyCommand::Apply(a) => apply(a),
        PolicyCommand::Test(a) => test(a),
        PolicyCommand::Lint(a) => lint(a),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Table,
    Json,
    PolicyReport,
    Sarif,
}

/// The policy documents among `docs`; how many others were left out is said on stderr (a
/// policy folder also holds test resources and package metadata).
pub(crate) fn policy_documents(docs: Vec<Document>) -> Vec<Document> {
    let total = docs.len();
    let (policies, others): (Vec<Document>, Vec<Document>) =
        docs.into_iter().partition(bulwark_policy::dialect::is_policy_document);
    if let Some(first) = others.first() {
        eprintln!(
            "bulwark: note: {} of {total} documents under the policy paths are not policies and were left out (the first: {}: document {}, {} {:?})",
            others.len(),
            first.file,
            first.index,
            if first.api_version().is_empty() { "no apiVersion" } else { first.api_version() },
            first.kind()
        );
    }
    policies
}

/// Every document under `paths`; each unreadable input printed (it makes the run exit 2).
pub(crate) fn read_documents(paths: &[PathBuf], errors: &mut usize) -> Vec<Document> {
    let mut docs = Vec::new();
    for doc in read_paths(paths) {
        match doc {
            Ok(d) => docs.push(d),
            Err(e) => {
                eprintln!("bulwark: error: {e}");
                *errors += 1;
            }
        }
    }
    docs
}

pub(crate) fn print_errors(errors: &[PolicyError]) {
    for e in errors {
        eprintln!("bulwark: error: {e}");
    }
}

/// Namespace name -> labels, from YAML `Namespace` objects.
pub(crate) fn namespace_labels(path: &Path) -> Result<BTreeMap<String, BTreeMap<String, String>>> {
    let mut out = BTreeMap::new();
    for doc in read_paths(std::slice::from_ref(&path.to_path_buf())) {
        let doc = doc?;
        let at = format!("{}: document {}", doc.file, doc.index);
        if doc.kind() != "Namespace" {
            bail!("{at}: {} {:?} is not a Namespace", doc.kind(), doc.name());
        }
        if doc.name().is_empty() {
            bail!("{at}: a Namespace without metadata.name");
        }
        let mut labels = BTreeMap::new();
        if let Some(map) = doc.value["metadata"]["labels"].as_object() {
            for (k, v) in map {
                let Some(v) = v.as_str() else { bail!("{at}: label {k:?} is not a string") };
                labels.insert(k.clone(), v.to_string());
            }
        }
        out.insert(doc.name().to_string(), labels);
    }
    Ok(out)
}

fn apply(a: ApplyArgs) -> Result<Exit> {
    let format = match a.format.as_str() {
        "table" => Format::Table,
        "json" => Format::Json,
        "policy-report" => Format::PolicyReport,
        "sarif" => Format::Sarif,
        other => bail!("unknown --format {other:?}; one of: table, json, policy-report, sarif"),
    };
    if a.policies.is_empty() && a.pss.is_none() && a.namespace_labels.is_none() && a.pss_config.is_none() {
        bail!("nothing to apply: give --policy, --pss, --pss-config or --namespace-labels");
    }
    bulwark_policy::gatekeeper::rego::set_memory_limit(a.rego_memory_limit.saturating_mul(1 << 20));
    let mut input_errors = 0;
    let mut policies: Vec<Box<dyn Policy>> = Vec::new();
    if !a.policies.is_empty() {
        let docs = policy_documents(read_documents(&a.policies, &mut input_errors));
        if input_errors > 0 {
            return Ok(Exit::Error);
        }
        // Policy paths holding no policy would check nothing: never a silent pass.
        if docs.is_empty() {
            eprintln!("bulwark: error: no policy under the --policy paths");
            return Ok(Exit::Error);
        }
        match bulwark_policy::dialect::compile(&docs) {
            Ok(p) => policies.extend(p),
            Err(errors) => {
                print_errors(&errors);
                return Ok(Exit::Error);
            }
        }
    }
    let namespaces = match &a.namespace_labels {
        Some(p) => Some(namespace_labels(p).with_context(|| format!("reading --namespace-labels {}", p.display()))?),
        None => None,
    };
    let mut pss_config = match &a.pss_config {
        Some(p) => {
            let mut docs = read_paths(std::slice::from_ref(p));
            let doc = docs.next().with_context(|| format!("{}: no document", p.display()))??;
            if docs.next().is_some() {
                bail!("{}: one PodSecurityConfiguration expected, found more documents", p.display());
            }
            PodSecurityConfiguration::from_value(&doc.file, &doc.value)?
        }
        None => PodSecurityConfiguration::default(),
    };
    if let Some(text) = &a.pss {
        let lv: LevelVersion = text.parse().with_context(|| format!("--pss {text:?}"))?;
        pss_config.defaults = Modes { enforce: lv, ..pss_config.defaults };
    }
    if a.pss.is_some() || a.pss_config.is_some() || namespaces.is_some() {
        policies.push(Box::new(PodSecurity::new(pss_config)));
    }

    let no_labels = BTreeMap::new();
    let mut failed = false;
    // JSON is streamed, one record per line, so that memory does not grow with the input; the
    // other formats need every result (column widths, reports).
    let mut kept: Vec<RuleResult> = Vec::new();
    // Nanoseconds per resource, for --stats (4 bytes a resource).
    let mut timings: Vec<u32> = Vec::new();
    // The mutated and generated resources, as YAML documents (--output-mutated).
    let mut mutated: Vec<String> = Vec::new();
    let started = std::time::Instant::now();
    crate::write_output(a.output.as_deref(), |out| {
        let mut first = true;
        if format == Format::Json {
            write!(out, "[")?;
        }
        for doc in read_paths(&a.paths) {
            let doc = match doc {
                Ok(d) => d,
                Err(e) => {
                    eprintln!("bulwark: error: {e}");
                    input_errors += 1;
                    continue;
                }
            };
            // kubectl puts an object without a namespace in the current one: `default` here.
            let ns = doc.value["metadata"]["namespace"].as_str().filter(|s| !s.is_empty()).unwrap_or("default");
            let labels = namespaces.as_ref().map(|n| n.get(ns).unwrap_or(&no_labels));
            let request =
                Request { file: &doc.file, object: &doc.value, namespace_labels: labels, ..Default::default() };
            let t = std::time::Instant::now();
            // Mutation first, each policy on the previous one's output, then validation of the
            // patched resource (Kyverno's order).
            let mut results: Vec<RuleResult> = Vec::new();
            let mut patched: Option<serde_json::Value> = None;
            let mut generated = Vec::new();
            for p in &policies {
                let m = p.mutate(&Request { object: patched.as_ref().unwrap_or(&doc.value), ..request.clone() });
                results.extend(m.results);
                generated.extend(m.generated);
                if m.patched.is_some() {
                    patched = m.patched;
                }
            }
            let request = Request { object: patched.as_ref().unwrap_or(&doc.value), ..request };
            results.extend(policies.iter().flat_map(|p| p.evaluate(&request)));
            if a.stats && pod_template(&doc.value).is_some() {
                timings.push(u32::try_from(t.elapsed().as_nanos()).unwrap_or(u32::MAX));
            }
            if a.output_mutated.is_some() {
                for v in patched.iter().chain(&generated) {
                    mutated.push(bulwark_policy::yaml::to_yaml(v)?);
                }
            }
            {
                for mut r in results {
                    // Only enforce-mode failures (and errors) gate the run, as admission would
                    // block only those; the report follows Kyverno's default, where an
                    // audit-mode violation is shown as a failure unless --audit-warn.
                    failed |= matches!(r.result, Outcome::Fail | Outcome::Error);
                    if !a.audit_warn && r.result == Outcome::Warn {
                        r.result = Outcome::Fail;
                    }
                    if format == Format::Json {
                        out.write_all(if first { b"\n  " } else { b",\n  " })?;
                        serde_json::to_writer(&mut *out, &r)?;
                        first = false;
                    } else {
                        kept.push(r);
                    }
                }
            }
        }
        match format {
            Format::Json => writeln!(out, "{}]", if first { "" } else { "\n" })?,
            Format::Table => write_table(out, &kept)?,
            Format::PolicyReport => {
                serde_json::to_writer_pretty(&mut *out, &bulwark_policy::report::policy_report(&kept)?)?;
                writeln!(out)?;
            }
            Format::Sarif => {
                serde_json::to_writer_pretty(&mut *out, &bulwark_policy::report::sarif(&kept)?)?;
                writeln!(out)?;
            }
        }
        Ok(())
    })?;
    if a.stats {
        print_stats(&mut timings, started.elapsed());
    }
    if let Some(path) = &a.output_mutated {
        let to = (path.as_os_str() != "-").then_some(path.as_path());
        crate::write_output(to, |out| {
            for doc in &mutated {
                writeln!(out, "---")?;
                out.write_all(doc.as_bytes())?;
                if !doc.ends_with('\n') {
                    writeln!(out)?;
                }
            }
            Ok(())
        })?;
    }
    Ok(if input_errors > 0 {
        Exit::Error
    } else if failed {
        Exit::Failure
    } else {
        Exit::Success
    })
}

/// One row per result, columns aligned; control characters in messages shown escaped so that
/// a hostile resource cannot draw on the terminal.
/// `--stats`: the per-resource evaluation latency over the pod-bearing resources.
fn print_stats(timings: &mut [u32], total: std::time::Duration) {
    timings.sort_unstable();
    let at = |q: f64| {
        let i = ((timings.len() as f64 * q).ceil() as usize).saturating_sub(1);
        timings.get(i).map_or(0.0, |&n| f64::from(n) / 1000.0)
    };
    eprintln!(
        "stats: {} pod-bearing resources; evaluation per resource p50 {:.1} us, p99 {:.1} us, max {:.1} us; {:.2} s in all",
        timings.len(),
        at(0.50),
        at(0.99),
        at(1.0),
        total.as_secs_f64()
    );
}

fn write_table(out: &mut dyn Write, results: &[RuleResult]) -> Result<()> {
    let clean = |s: &str| {
        s.chars()
            .flat_map(|c| if c.is_control() { c.escape_default().collect::<Vec<_>>() } else { vec![c] })
            .collect::<String>()
    };
    let rows: Vec<[String; 5]> = results
        .iter()
        .map(|r| {
            [
                clean(&r.resource.to_string()),
                clean(&r.policy),
                clean(&r.rule),
                r.result.as_str().to_string(),
                clean(&r.message),
            ]
        })
        .collect();
    let header = ["RESOURCE", "POLICY", "RULE", "RESULT", "MESSAGE"];
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: [&str; 5]| {
        let mut s = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i == 4 {
                s.push_str(cell);
            } else {
                s.push_str(&format!("{cell:<w$}  ", w = widths[i]));
            }
        }
        s.trim_end().to_string()
    };
    writeln!(out, "{}", line(header))?;
    for row in &rows {
        writeln!(out, "{}", line([&row[0], &row[1], &row[2], &row[3], &row[4]]))?;
    }
    let count = |o: Outcome| results.iter().filter(|r| r.result == o).count();
    writeln!(
        out,
        "{} pass, {} fail, {} warn, {} skip, {} error",
        count(Outcome::Pass),
        count(Outcome::Fail),
        count(Outcome::Warn),
        count(Outcome::Skip),
        count(Outcome::Error)
    )?;
    Ok(())
}

/// A record that did not run (a case needing a cluster or registry) rather than one that
/// failed.
fn skipped(r: &TestRecord) -> bool {
    !r.ok && r.got == "skipped"
}

fn test(a: TestArgs) -> Result<Exit> {
    let json = match a.format.as_str() {
        "text" | "table" => false,
        "json" => true,
        other => bail!("unknown --format {other:?}; one of: text, json"),
    };
    let records = bulwark_policy::testfiles::run(&a.path)?;
    let passed = records.iter().filter(|r| r.ok).count();
    let skip = records.iter().filter(|r| skipped(r)).count();
    let failed = records.len() - passed - skip;
    let summary = format!("{passed} passed, {failed} failed, {skip} skipped");
    crate::write_output(None, |out| {
        if json {
            serde_json::to_writer_pretty(&mut *out, &records)?;
            writeln!(out)?;
        } else {
            for r in &records {
                let verdict = if r.ok {
                    "ok"
                } else if skipped(r) {
                    "SKIP"
                } else {
                    "FAIL"
                };
                write!(
                    out,
                    "{verdict}  {}  policy {}  rule {}  resource {}  expected {}  got {}",
                    r.test, r.policy, r.rule, r.resource, r.expected, r.got
                )?;
                if !r.detail.is_empty() {
                    write!(out, "  ({})", r.detail)?;
                }
                writeln!(out)?;
            }
            writeln!(out, "{summary}")?;
        }
        Ok(())
    })?;
    if json {
        eprintln!("{summary}");
    }
    Ok(if failed > 0 { Exit::Failure } else { Exit::Success })
}

fn lint(a: LintArgs) -> Result<Exit> {
    let mut input_errors = 0;
    let all = read_documents(&a.paths, &mut input_errors);
    let total = all.len();
    let docs = policy_documents(all);
    if total > 0 && docs.is_empty() {
        eprintln!("bulwark: error: none of the {total} documents is a policy");
        return Ok(Exit::Error);
    }
    let compiled = bulwark_policy::dialect::compile(&docs);
    match compiled {
        Err(errors) => {
            print_errors(&errors);
            Ok(Exit::Error)
        }
        Ok(_) if input_errors > 0 => Ok(Exit::Error),
        Ok(policies) => {
            println!("{} policies read from {total} documents", policies.len());
            Ok(Exit::Success)
        }
    }
}
