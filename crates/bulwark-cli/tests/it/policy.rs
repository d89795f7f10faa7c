//! `bulwark policy`: apply with the Pod Security Standards on pod-security-admission's own
//! fixtures (json and table, exit codes), standard input, directories, pod controllers and
//! namespace labels; lint and test on inputs whose answer does not depend on the dialects.

use crate::common::bulwark;
use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

fn pss(rel: &str) -> PathBuf {
    bulwark_testkit::shared().join("data/admission/pss").join(rel)
}

fn run(args: &[&str]) -> Output {
    bulwark().args(args).output().unwrap()
}

fn run_paths(args: &[&str], paths: &[&Path]) -> Output {
    let mut c = bulwark();
    c.args(args);
    for p in paths {
        c.arg(p);
    }
    c.output().unwrap()
}

fn json(out: &Output) -> Vec<Value> {
    serde_json::from_slice::<Vec<Value>>(&out.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    })
}

fn results<'a>(records: &'a [Value], result: &str) -> Vec<&'a Value> {
    records.iter().filter(|r| r["result"] == result).collect()
}

#[test]
fn apply_pss_on_fixtures_json_and_exit_codes() {
    let fail = pss("restricted/v1.30/fail/runasnonroot0.yaml");
    let out = run_paths(&["policy", "apply", "--pss", "restricted:v1.30", "--format", "json"], &[&fail]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let records = json(&out);
    // restricted at 1.30: 8 baseline checks not overridden + 6 restricted checks.
    assert_eq!(records.len(), 14, "{records:#?}");
    let failed = results(&records, "fail");
    assert_eq!(failed.len(), 1, "{failed:#?}");
    let f = failed[0];
    assert_eq!(f["policy"], "pod-security");
    assert_eq!(f["rule"], "runAsNonRoot");
    assert_eq!(f["resource"]["kind"], "Pod");
    assert_eq!(f["resource"]["name"], "runasnonroot0");
    assert_eq!(f["file"], fail.display().to_string());
    assert_eq!(
        f["message"],
        "runAsNonRoot != true (pod or containers \"initcontainer1\", \"container1\" must set securityContext.runAsNonRoot=true)"
    );
    assert_eq!(results(&records, "pass").len(), 13);

    let pass = pss("restricted/v1.30/pass/base.yaml");
    let out = run_paths(&["policy", "apply", "--pss", "restricted:v1.30", "--format", "json"], &[&pass]);
    assert_eq!(out.status.code(), Some(0));
    let records = json(&out);
    assert_eq!(records.len(), 14);
    assert_eq!(results(&records, "pass").len(), 14);

    // The same pod at baseline: the 11 baseline checks of 1.30 (no restricted ones) pass.
    let out = run_paths(&["policy", "apply", "--pss", "baseline:v1.30", "--format", "json"], &[&fail]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(json(&out).len(), 11);
}

#[test]
fn apply_pss_table_has_one_row_per_result() {
    let fail = pss("baseline/v1.36/fail/hostnamespaces0.yaml");
    let out = run_paths(&["policy", "apply", "--pss", "baseline"], &[&fail]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("RESOURCE") && lines[0].contains("RULE") && lines[0].contains("MESSAGE"), "{text}");
    // Baseline at latest: 12 checks, a header and a summary line.
    assert_eq!(lines.len(), 14, "{text}");
    let row = lines.iter().find(|l| l.contains("hostNamespaces")).unwrap();
    assert!(
        row.starts_with("Pod/hostnamespaces0") && row.contains(" fail ") && row.contains("host namespaces ("),
        "{row}"
    );
    assert_eq!(lines[13], "11 pass, 1 fail, 0 warn, 0 skip, 0 error");
    // -o writes the same to a file.
    let dir = tempfile::tempdir().unwrap();
    let o = dir.path().join("out.txt");
    let out = run_paths(&["policy", "apply", "--pss", "baseline", "-o"], &[&o, &fail]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(std::fs::read_to_string(&o).unwrap(), text);
}

#[test]
fn apply_reads_standard_input_and_directories() {
    let fixture = pss("restricted/v1.36/fail/allowprivilegeescalation0.yaml");
    let mut child = bulwark()
        .args(["policy", "apply", "--pss", "restricted:v1.36", "--format", "json", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&std::fs::read(&fixture).unwrap()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let records = json(&out);
    assert!(records.iter().all(|r| r["file"] == "-"));
    let failed = results(&records, "fail");
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["rule"], "allowPrivilegeEscalation");

    // A kind without a pod: no results, an empty array, exit 0.
    let mut child = bulwark()
        .args(["policy", "apply", "--pss", "restricted", "--format", "json", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "[]\n");

    // A directory: every fixture in it, one resource each.
    let dir = pss("baseline/v1.36/pass");
    let files = std::fs::read_dir(&dir).unwrap().count();
    let out = run_paths(&["policy", "apply", "--pss", "baseline:v1.36", "--format", "json"], &[&dir]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let records = json(&out);
    let files_seen: std::collections::BTreeSet<&str> = records.iter().map(|r| r["file"].as_str().unwrap()).collect();
    assert_eq!(files_seen.len(), files);
    assert_eq!(records.len(), files * 12);
    let dir = pss("baseline/v1.36/fail");
    let out = run_paths(&["policy", "apply", "--pss", "baseline:v1.36", "--format", "json"], &[&dir]);
    assert_eq!(out.status.code(), Some(1));
    let records = json(&out);
    for file in std::fs::read_dir(&dir).unwrap() {
        let file = file.unwrap().path().display().to_string();
        assert!(records.iter().any(|r| r["file"] == file.as_str() && r["result"] == "fail"), "{file} not denied");
    }
}

const DEPLOYMENT: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: nginx
        securityContext: {privileged: true}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly, namespace: shop}
spec:
  schedule: "0 0 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          hostNetwork: true
          containers:
          - name: job
            image: busybox
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: shop}
data: {a: b}
"#;

#[test]
fn apply_checks_pod_templates_of_controllers() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("app.yaml");
    std::fs::write(&f, DEPLOYMENT).unwrap();
    let out = run_paths(&["policy", "apply", "--pss", "baseline:v1.30", "--format", "json"], &[&f]);
    assert_eq!(out.status.code(), Some(1));
    let records = json(&out);
    // Two pod-bearing resources, 11 baseline checks at 1.30 each; the ConfigMap gives nothing.
    assert_eq!(records.len(), 22);
    let failed: Vec<(String, String)> = results(&records, "fail")
        .iter()
        .map(|r| {
            (
                format!("{}/{}", r["resource"]["kind"].as_str().unwrap(), r["resource"]["name"].as_str().unwrap()),
                r["rule"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        failed,
        [
            ("Deployment/web".to_string(), "privileged".to_string()),
            ("CronJob/nightly".to_string(), "hostNamespaces".to_string())
        ]
    );
    let cron = results(&records, "fail")[1];
    assert_eq!(cron["message"], "host namespaces (hostNetwork=true)");
    assert_eq!(cron["resource"]["namespace"], "shop");
}

const NAMESPACES: &str = r#"apiVersion: v1
kind: Namespace
metadata:
  name: secure
  labels:
    pod-security.kubernetes.io/enforce: restricted
    pod-security.kubernetes.io/enforce-version: v1.30
---
apiVersion: v1
kind: Namespace
metadata:
  name: lax
  labels:
    pod-security.kubernetes.io/warn: baseline
---
apiVersion: v1
kind: Namespace
metadata:
  name: open
"#;

fn privileged_pod(ns: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: p-{ns}, namespace: {ns}}}\nspec:\n  containers:\n  - name: c\n    image: x\n    securityContext: {{privileged: true}}\n"
    )
}

#[test]
fn apply_uses_namespace_labels() {
    let dir = tempfile::tempdir().unwrap();
    let ns = dir.path().join("ns.yaml");
    std::fs::write(&ns, NAMESPACES).unwrap();
    let pods = dir.path().join("pods.yaml");
    std::fs::write(&pods, ["secure", "lax", "open"].map(privileged_pod).join("---\n")).unwrap();

    let apply = |extra: &[&str]| {
        let mut args = vec!["policy", "apply", "--format", "json", "--namespace-labels"];
        let ns = ns.to_str().unwrap();
        args.push(ns);
        args.extend_from_slice(extra);
        args.push(pods.to_str().unwrap());
        run(&args)
    };
    let by = |records: &[Value], name: &str, rule: &str| -> String {
        records
            .iter()
            .find(|r| r["resource"]["name"] == name && r["rule"] == rule)
            .map(|r| r["result"].as_str().unwrap().to_string())
            .unwrap_or_else(|| "none".into())
    };
    // --audit-warn: the warn label's violation stays a warning.
    let out = apply(&["--audit-warn"]);
    assert_eq!(out.status.code(), Some(1), "secure's enforce fails");
    let records = json(&out);
    assert_eq!(by(&records, "p-secure", "privileged"), "fail");
    assert_eq!(by(&records, "p-secure", "runAsNonRoot"), "fail");
    assert_eq!(by(&records, "p-lax", "privileged"), "warn");
    assert_eq!(by(&records, "p-lax", "runAsNonRoot"), "none");
    // No labels: privileged, nothing checked.
    assert!(records.iter().all(|r| r["resource"]["name"] != "p-open"));

    // Only the warn namespace: shown as a warning with --audit-warn and as a failure without
    // (Kyverno's default), but only enforce-mode failures gate: exit 0 both ways.
    std::fs::write(&pods, privileged_pod("lax")).unwrap();
    assert_eq!(apply(&["--audit-warn"]).status.code(), Some(0));
    let out = apply(&[]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(by(&json(&out), "p-lax", "privileged"), "fail");

    // --pss gives the default for namespaces without labels.
    std::fs::write(&pods, privileged_pod("open")).unwrap();
    let out = apply(&["--pss", "baseline"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(by(&json(&out), "p-open", "privileged"), "fail");

    // A file that is not Namespace objects is an input error naming it.
    let out = run_paths(&["policy", "apply", "--namespace-labels"], &[&pods, &pods]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("is not a Namespace") && err.contains("pods.yaml"), "{err}");
}

#[test]
fn usage_and_input_errors_exit_2() {
    let fixture = pss("baseline/v1.36/pass/base.yaml");
    let out = run_paths(&["policy", "apply", "--pss", "strict:v1.30"], &[&fixture]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("\"strict\""));
    let out = run_paths(&["policy", "apply", "--pss", "baseline:1.30"], &[&fixture]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("\"1.30\""));
    let out = run_paths(&["policy", "apply", "--pss", "baseline", "--format", "xml"], &[&fixture]);
    assert_eq!(out.status.code(), Some(2));
    let out = run_paths(&["policy", "apply"], &[&fixture]);
    assert_eq!(out.status.code(), Some(2), "nothing to apply");
    // A missing resource file.
    let out = run(&["policy", "apply", "--pss", "baseline", "/nonexistent/x.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/x.yaml"));
    // --policy paths with no policy in them: an error, exit 2 (they would check nothing).
    let out = run_paths(&["policy", "apply", "--policy"], &[&fixture, &fixture]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no policy under the --policy paths"));
}

#[test]
fn lint_and_test_report_what_they_read() {
    let fixture = pss("baseline/v1.36/pass/base.yaml");
    let out = run_paths(&["policy", "lint"], &[&fixture]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("base.yaml") && err.contains("none of the 1 documents is a policy"), "{err}");

    let empty = tempfile::tempdir().unwrap();
    let out = run_paths(&["policy", "lint"], &[empty.path()]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "0 policies read from 0 documents\n");

    let out = run_paths(&["policy", "test"], &[empty.path()]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "0 passed, 0 failed, 0 skipped\n");
    let out = run_paths(&["policy", "test", "--format", "json"], &[empty.path()]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(json(&out).len(), 0);
}

/// A policy folder as published (kyverno/policies: the policy, `artifacthub-pkg.yml`, and
/// `.kyverno-test/` with resources and the test file) works as `--policy`: the documents that
/// are not policies are left out with a note, the policy applies (autogen rules included), and
/// `bulwark policy test` on the same folder agrees with its own test file. A document of a
/// policy group that we do not read is an error, not left out.
#[test]
fn apply_a_published_kyverno_policy_folder_and_its_test() {
    let dir = bulwark_testkit::shared().join("data/admission/kyverno/pod-security/baseline/disallow-capabilities");
    let resources = dir.join(".kyverno-test/resource.yaml");
    let out = run_paths(&["policy", "apply", "--format", "json", "--policy"], &[&dir, &resources]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("are not policies and were left out"), "{stderr}");
    // The policy is in Audit mode: its violations are shown as `fail` (Kyverno's default
    // without --audit-warn) but do not gate.
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let records = json(&out);
    let fails = results(&records, "fail");
    assert!(!fails.is_empty() && !results(&records, "pass").is_empty(), "{records:?}");
    assert!(fails.iter().all(|r| r["policy"] == "disallow-capabilities"));
    assert!(fails.iter().any(|r| r["rule"] == "autogen-cronjob-adding-capabilities"), "{fails:?}");

    let out = run_paths(&["policy", "test"], &[&dir]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.trim_end().ends_with(" passed, 0 failed, 0 skipped"), "{stdout}");

    let t = tempfile::tempdir().unwrap();
    let cleanup = t.path().join("cleanup.yaml");
    std::fs::write(&cleanup, "apiVersion: kyverno.io/v2\nkind: ClusterCleanupPolicy\nmetadata: {name: c}\nspec: {}\n")
        .unwrap();
    let out = run_paths(&["policy", "lint"], &[&cleanup]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("ClusterCleanupPolicy"), "{:?}", out);
}

#[test]
fn rego_that_allocates_without_bound_is_stopped_by_the_memory_limit() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("hungry.yaml");
    // A template whose Rego would build 100 GB: the memory limit stops it (in its own process).
    std::fs::write(
        &policy,
        bulwark_testkit::policies::gatekeeper_pod_policy("K8sHungry", bulwark_testkit::policies::HUNGRY_REGO),
    )
    .unwrap();
    let pod = pss("baseline/v1.36/pass/base.yaml");
    let started = std::time::Instant::now();
    let out = run_paths(
        &["policy", "apply", "--rego-memory-limit", "512", "--format", "json", "--policy", policy.to_str().unwrap()],
        &[&pod],
    );
    let records = json(&out);
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0]["result"], "error", "{records:?}");
    let msg = records[0]["message"].as_str().unwrap();
    assert!(msg.contains("over the 512 MiB memory limit for Rego"), "{msg}");
    assert_eq!(out.status.code(), Some(1));
    // 1000 copies of 100 MB would be 100 GB and minutes of copying.
    assert!(started.elapsed() < std::time::Duration::from_secs(60), "{:?}", started.elapsed());
}

/// A mutate policy: per-rule results as for validation (a mutation never gates), and
/// `--output-mutated` writes the patched resources as YAML, to a file or after the results on
/// standard output; a validate rule in the same run sees the patched resource.
#[test]
fn apply_a_mutate_policy_writes_the_mutated_resources() {
    let t = tempfile::tempdir().unwrap();
    let policy = t.path().join("policy.yaml");
    std::fs::write(
        &policy,
        r#"apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: pull}
spec:
  validationFailureAction: Enforce
  rules:
  - name: always
    match: {any: [{resources: {kinds: [Pod]}}]}
    mutate:
      patchStrategicMerge:
        spec:
          containers:
          - (image): "*:latest"
            imagePullPolicy: Always
  - name: must-pull
    match: {any: [{resources: {kinds: [Pod]}}]}
    validate:
      pattern: {spec: {containers: [{(image): "*:latest", imagePullPolicy: Always}]}}
"#,
    )
    .unwrap();
    let pods = t.path().join("pods.yaml");
    std::fs::write(
        &pods,
        "apiVersion: v1\nkind: Pod\nmetadata: {name: latest}\nspec: {containers: [{name: c, image: 'nginx:latest'}]}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: pinned}\nspec: {containers: [{name: c, image: 'nginx:1.27'}]}\n",
    )
    .unwrap();
    let mutated = t.path().join("mutated.yaml");
    let out = run_paths(
        &["policy", "apply", "--format", "json", "--output-mutated", mutated.to_str().unwrap(), "--policy"],
        &[&policy, &pods],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let records = json(&out);
    let get = |res: &str, rule: &str| {
        records
            .iter()
            .find(|r| r["resource"]["name"] == res && r["rule"] == rule)
            .map(|r| r["result"].as_str().unwrap().to_string())
            .unwrap()
    };
    assert_eq!(get("latest", "always"), "pass");
    assert_eq!(get("pinned", "always"), "skip");
    // Validated after mutation: the enforce rule holds on the patched pod.
    assert_eq!(get("latest", "must-pull"), "pass");
    let written = std::fs::read_to_string(&mutated).unwrap();
    let docs = bulwark_policy::yaml::documents("mutated.yaml", &written).unwrap();
    assert_eq!(docs.len(), 1, "{written}");
    assert_eq!(docs[0]["metadata"]["name"], "latest");
    assert_eq!(docs[0]["spec"]["containers"][0]["imagePullPolicy"], "Always");

    // Standard output: the table, then the YAML stream.
    let out = run_paths(&["policy", "apply", "--output-mutated", "-", "--policy"], &[&policy, &pods]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    let (table, yaml) = stdout.split_once("---\n").unwrap();
    assert!(table.contains("mutated Pod/latest"), "{table}");
    assert!(yaml.contains("imagePullPolicy: Always") && !yaml.contains("pinned"), "{yaml}");

    // Without the mutation, the same validate rule fails and gates.
    let text = std::fs::read_to_string(&policy).unwrap();
    let (head, rest) = text.split_once("  - name: always\n").unwrap();
    let validate_only = format!("{head}{}", &rest[rest.find("  - name: must-pull").unwrap()..]);
    std::fs::write(&policy, validate_only).unwrap();
    let out = run_paths(&["policy", "apply", "--format", "json", "--policy"], &[&policy, &pods]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stdout));
}
