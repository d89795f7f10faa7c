//! Sigstore policy-controller: its own glob test table (`TestGlobMatch`, 42 cases), every
//! ClusterImagePolicy of its `test/testdata/policy-controller/{valid,invalid}` accepted or
//! refused as `kubectl create` does (with the error substrings upstream's tests expect), and
//! compiled policies picking the images they govern.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test

use bulwark_policy::glob::{self, compile_policies, matches, select, ClusterImagePolicy, GlobError};
use bulwark_policy::resource::read_file;
use bulwark_policy::{Operation, Outcome, Policy, Request};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

fn data() -> PathBuf {
    bulwark_testkit::shared().join("data/admission/policy-controller")
}

fn read_json(name: &str) -> Value {
    let path = data().join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).unwrap()
}

#[test]
fn the_42_upstream_glob_cases_agree_on_match_and_error() {
    let cases = read_json("glob_cases.json");
    let cases = cases.as_array().unwrap();
    assert_eq!(cases.len(), 42);
    let (mut agree, mut errors, mut matched) = (0, 0, 0);
    let mut wrong = Vec::new();
    for c in cases {
        let (g, image) = (c["glob"].as_str().unwrap(), c["image"].as_str().unwrap());
        let (want_match, want_error) = (c["match"].as_bool().unwrap(), c["error"].as_bool().unwrap());
        let got = matches(g, image);
        let (got_match, got_error) = (*got.as_ref().unwrap_or(&false), got.is_err());
        if (got_match, got_error) == (want_match, want_error) {
            agree += 1;
        } else {
            wrong.push(format!("{g} ~ {image}: want match={want_match} error={want_error}, got {got:?}"));
        }
        errors += usize::from(got_error);
        matched += usize::from(got_match);
    }
    assert!(wrong.is_empty(), "{} of 42 disagree:\n{}", wrong.len(), wrong.join("\n"));
    assert_eq!((agree, matched, errors), (42, 35, 3));
}

#[test]
fn globs_follow_the_code_not_the_docs() {
    // `*` is rewritten only when it is the whole glob; `*` never crosses `/`, `**` does.
    assert!(matches("*", "ubuntu").unwrap());
    assert!(!matches("*", "ghcr.io/foo").unwrap());
    assert!(!matches("ghcr.io/*", "ghcr.io/a/b").unwrap());
    assert!(matches("ghcr.io/**", "ghcr.io/a/b:v1").unwrap());
    // The tag delimiter is no separator: `*` runs over `:tag` too.
    assert!(matches("ghcr.io/foo*", "ghcr.io/foo:v1").unwrap());
    // `docker.io` is Docker Hub, and a digest keeps its repository.
    assert!(matches("index.docker.io/library/busybox:1.36", "docker.io/busybox:1.36").unwrap());
    let digest = format!("sha256:{}", "a".repeat(64));
    assert!(matches("ghcr.io/foo@sha256:*", &format!("ghcr.io/foo:v1@{digest}")).unwrap());
    // Invalid globs and references are errors naming them.
    assert_eq!(matches("a?", "foo").unwrap_err(), GlobError::InvalidGlob("a?".into()));
    let e = matches("**", "UPPER/case").unwrap_err().to_string();
    assert!(e.starts_with("could not parse reference: UPPER/case"), "{e}");
    // Hostile: a huge glob is refused by a limit, a long image is just not matched.
    let long = "*".repeat(glob::MAX_GLOB_BYTES + 1);
    assert!(matches(&long, "foo").unwrap_err().to_string().contains("longer than"));
    let start = std::time::Instant::now();
    let many = "*a".repeat(1000);
    assert!(!matches(&many, &format!("ghcr.io/{}", "a".repeat(200))).unwrap());
    assert!(start.elapsed().as_secs() < 5);
}

/// `path` → (accepted, error text).
fn create(path: &Path) -> Result<ClusterImagePolicy, String> {
    let docs: Vec<_> = read_file(path.to_path_buf()).collect::<Result<_, _>>().map_err(|e| e.to_string())?;
    assert_eq!(docs.len(), 1, "{}", path.display());
    let refs: Vec<_> = docs.iter().collect();
    compile_policies(&refs)
        .map(|mut p| p.remove(0))
        .map_err(|es| es.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))
}

#[test]
fn every_crd_validation_case_is_accepted_or_refused_with_upstreams_words() {
    let cases = read_json("cip_crd_validation_cases.json");
    let cases = cases.as_array().unwrap();
    let (mut accepted, mut rejected, mut substrings) = (0, 0, 0);
    let mut wrong = Vec::new();
    for c in cases {
        let path = data().join(c["path"].as_str().unwrap());
        let got = create(&path);
        match (c["expect"].as_str().unwrap(), &got) {
            ("accepted", Ok(_)) => accepted += 1,
            ("rejected", Err(e)) => {
                rejected += 1;
                for want in c["expected_error_substrings"].as_array().unwrap() {
                    let want = want.as_str().unwrap();
                    if e.contains(want) {
                        substrings += 1;
                    } else {
                        wrong.push(format!("{}: error lacks {want:?}:\n{e}", path.display()));
                    }
                }
                // The error names the file and the policy.
                assert!(e.starts_with(&format!("{}: policy.sigstore.dev/", path.display())), "{e}");
            }
            (want, got) => {
                wrong.push(format!("{}: want {want}, got {:?}", path.display(), got.as_ref().map(|p| &p.name)))
            }
        }
    }
    assert!(wrong.is_empty(), "{} disagreements:\n{}", wrong.len(), wrong.join("\n\n"));
    assert_eq!(cases.len(), 47);
    assert_eq!((accepted, rejected, substrings), (14, 33, 39));
    // The table lists every file of the two folders.
    let files = ["valid", "invalid"]
        .iter()
        .map(|d| std::fs::read_dir(data().join("test/testdata/policy-controller").join(d)).unwrap().count())
        .sum::<usize>();
    assert_eq!(files, cases.len());
}

fn cip(yaml: &str) -> Result<ClusterImagePolicy, String> {
    let value = bulwark_policy::yaml::parse_one("t.yaml", yaml).unwrap();
    let doc = bulwark_policy::Document { file: "t.yaml".into(), index: 1, value };
    ClusterImagePolicy::compile(&doc).map_err(|e| e.to_string())
}

const KEY: &str = "      data: |\n        -----BEGIN PUBLIC KEY-----\n        MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEaEOVJCFtduYr3xqTxeRWSW32CY/s\n        TBNZj4oIUPl8JvhVPJ1TKDPlNcuT4YphSt6t3yOmMvkdQbCj8broX6vijw==\n        -----END PUBLIC KEY-----\n";

#[test]
fn schema_refuses_unknown_fields_and_wrong_types() {
    let base = "apiVersion: policy.sigstore.dev/v1beta1\nkind: ClusterImagePolicy\nmetadata: {name: p}\nspec:\n  images: [{glob: '**'}]\n  authorities:\n  - key:\n";
    assert!(cip(&format!("{base}{KEY}")).is_ok());
    let e = cip(&format!("{base}{KEY}  mdoe: warn\n")).unwrap_err();
    assert!(e.contains("unknown field \"spec.mdoe\""), "{e}");
    let e = cip(&format!("{base}{KEY}  mode: [warn]\n")).unwrap_err();
    assert!(e.contains("spec.mode in body must be of type string"), "{e}");
    let e = cip(&format!("{}{KEY}", base.replace("images: [{glob: '**'}]", "images: []"))).unwrap_err();
    assert!(e.contains("missing field(s): spec.images"), "{e}");
    let e = cip(&format!("{}{KEY}", base.replace("  images: [{glob: '**'}]\n", ""))).unwrap_err();
    assert!(e.contains("spec.images: Invalid value: \"null\""), "{e}");
    // An apiVersion policy-controller does not serve.
    let e = cip(&format!("{base}{KEY}").replace("v1beta1", "v2")).unwrap_err();
    assert!(e.contains("`apiVersion` is not supported"), "{e}");
}

fn pod(kind: &str, images: &[&str]) -> Value {
    let containers: Vec<Value> =
        images.iter().enumerate().map(|(i, im)| json!({"name": format!("c{i}"), "image": im})).collect();
    let spec = json!({"containers": containers});
    match kind {
        "Pod" => {
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "ns", "labels": {"app": "x"}}, "spec": spec})
        }
        "CronJob" => json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "cj", "namespace": "ns"},
            "spec": {"jobTemplate": {"spec": {"template": {"spec": spec}}}}}),
        k => {
            json!({"apiVersion": "apps/v1", "kind": k, "metadata": {"name": "d", "namespace": "ns"}, "spec": {"template": {"spec": spec}}})
        }
    }
}

fn eval(p: &ClusterImagePolicy, object: &Value) -> Vec<(String, Outcome, String)> {
    let req = Request { file: "r.yaml", object, ..Default::default() };
    p.evaluate(&req).into_iter().map(|r| (r.rule, r.result, r.message)).collect()
}

#[test]
fn a_signature_policy_is_an_error_for_the_images_it_governs_and_silent_for_others() {
    let p = cip(&format!(
        "apiVersion: policy.sigstore.dev/v1alpha1\nkind: ClusterImagePolicy\nmetadata: {{name: signed}}\nspec:\n  images: [{{glob: 'ghcr.io/acme/**'}}]\n  authorities:\n  - key:\n{KEY}"
    ))
    .unwrap();
    let r = eval(&p, &pod("Deployment", &["ghcr.io/acme/app:v1", "nginx", "ghcr.io/other/x"]));
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(r[0].0, "spec.template.spec.containers[0].image");
    assert_eq!(r[0].1, Outcome::Error);
    assert!(r[0].2.contains("authority-0") && r[0].2.contains("admission webhook"), "{}", r[0].2);
    let r = eval(&p, &pod("CronJob", &["ghcr.io/acme/job@sha256:".to_string().as_str()]));
    // An invalid reference is an error, not a silent skip.
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].1, Outcome::Error);
    assert!(eval(&p, &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}})).is_empty());
    // The webhook's selection: by kind and labels, then by the image's normalised name.
    let ps = vec![p];
    let labels = json!({});
    assert_eq!(select(&ps, "ghcr.io/acme/app", "Pod", &labels).unwrap().len(), 1);
    assert!(select(&ps, "nginx", "Pod", &labels).unwrap().is_empty());
    assert!(select(&ps, "Not A Ref", "Pod", &labels).is_err());
    // Deletions and objects being deleted are let through.
    let obj = pod("Pod", &["ghcr.io/acme/app:v1"]);
    let req = Request { file: "r.yaml", object: &obj, operation: Operation::Delete, ..Default::default() };
    assert!(ps[0].evaluate(&req).is_empty());
    let mut deleting = obj.clone();
    deleting["metadata"]["deletionTimestamp"] = json!("2026-01-01T00:00:00Z");
    assert!(eval(&ps[0], &deleting).is_empty());
}

#[test]
fn the_webhook_matches_the_normalised_name_only() {
    // glob.Match("foo", "foo") is true by its raw-string fallback, but the webhook passes
    // `ref.Name()`, so a CIP with glob `foo` does not govern image `foo`.
    assert!(matches("foo", "foo").unwrap());
    let p = cip(&format!(
        "apiVersion: policy.sigstore.dev/v1beta1\nkind: ClusterImagePolicy\nmetadata: {{name: raw}}\nspec:\n  images: [{{glob: foo}}, {{glob: 'index.docker.io/library/bar:*'}}]\n  authorities:\n  - key:\n{KEY}"
    ))
    .unwrap();
    let ps = vec![p];
    assert!(select(&ps, "foo", "Pod", &json!({})).unwrap().is_empty());
    assert_eq!(select(&ps, "bar:1.0", "Pod", &json!({})).unwrap().len(), 1);
    let r = eval(&ps[0], &pod("Pod", &["foo", "bar"]));
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].0, "spec.containers[1].image");
}

#[test]
fn match_follows_upstreams_kind_table_quirks_included() {
    let text = |m: &str| {
        format!(
            "apiVersion: policy.sigstore.dev/v1beta1\nkind: ClusterImagePolicy\nmetadata: {{name: m}}\nspec:\n  match: [{m}]\n  images: [{{glob: '**'}}]\n  authorities: [{{static: {{action: pass}}}}]\n"
        )
    };
    let count = |m: &str, kind: &str| eval(&cip(&text(m)).unwrap(), &pod(kind, &["busybox"])).len();
    assert_eq!(count("{resource: deployments, group: apps, version: v1}", "Deployment"), 1);
    assert_eq!(count("{resource: deployments, group: apps, version: '*'}", "Deployment"), 1);
    // Empty fields are not wildcards: the group must be equal.
    assert_eq!(count("{resource: deployments, version: v1}", "Deployment"), 0);
    assert_eq!(count("{resource: pods, version: v1}", "Deployment"), 0);
    // Upstream's table misspells ReplicaSet and gives DaemonSet group "".
    assert_eq!(count("{resource: replicasets, group: apps, version: v1}", "ReplicaSet"), 0);
    assert_eq!(count("{resource: daemonsets, group: apps, version: v1}", "DaemonSet"), 0);
    assert_eq!(count("{resource: daemonsets, version: v1}", "DaemonSet"), 1);
    // Labels: the object's own; an invalid selector is an error, not a skip.
    let sel = "{resource: pods, version: v1, selector: {matchExpressions: [{key: app, operator: In, values: [x]}]}}";
    assert_eq!(count(sel, "Pod"), 1);
    let bad = "{resource: pods, version: v1, selector: {matchExpressions: [{key: app, operator: Near}]}}";
    let r = eval(&cip(&text(bad)).unwrap(), &pod("Pod", &["busybox"]));
    assert_eq!((r.len(), r[0].1), (1, Outcome::Error));
}

#[test]
fn static_authorities_decide_offline_and_match_selects_resources() {
    let text = |action: &str, mode: &str| {
        format!(
            "apiVersion: policy.sigstore.dev/v1beta1\nkind: ClusterImagePolicy\nmetadata: {{name: s}}\nspec:\n  mode: {mode}\n  match: [{{resource: pods, version: v1, selector: {{matchLabels: {{app: x}}}}}}]\n  images: [{{glob: '**'}}]\n  authorities: [{{static: {{action: {action}, message: nope}}}}]\n"
        )
    };
    let pass = cip(&text("pass", "enforce")).unwrap();
    let r = eval(&pass, &pod("Pod", &["busybox"]));
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].1, Outcome::Pass);
    // `match` is pods with app=x: a Deployment is not governed.
    assert!(eval(&pass, &pod("Deployment", &["busybox"])).is_empty());
    let r = eval(&cip(&text("fail", "enforce")).unwrap(), &pod("Pod", &["busybox"]));
    assert_eq!((r[0].1, r[0].2.ends_with("authority-0: nope")), (Outcome::Fail, true), "{r:?}");
    let r = eval(&cip(&text("fail", "warn")).unwrap(), &pod("Pod", &["busybox"]));
    assert_eq!(r[0].1, Outcome::Warn);
    // A CIP-level policy over the results still needs the webhook: an error, not the pass.
    let with_policy = text("pass", "enforce") + "  policy: {type: cue, data: 'x: 1'}\n";
    let r = eval(&cip(&with_policy).unwrap(), &pod("Pod", &["busybox"]));
    assert_eq!(r[0].1, Outcome::Error, "{r:?}");
    let e = cip(&text("maybe", "enforce")).unwrap_err();
    assert!(e.contains("invalid value: maybe: spec.authorities[0].static.action"), "{e}");
}

/// policy-controller's end-to-end, tester and example policies are real CIPs `kubectl create`
/// accepts; the one exception is an example whose KMS reference is a `<< placeholder >>`.
#[test]
fn upstreams_e2e_and_example_policies_are_accepted() {
    let (mut ok, mut refused) = (0, Vec::new());
    for d in ["test/testdata/policy-controller/e2e", "test/testdata/policy-controller/tester", "examples/policies"] {
        for f in std::fs::read_dir(data().join(d)).unwrap() {
            let path = f.unwrap().path();
            for doc in read_file(path.clone()).map(Result::unwrap).filter(|d| d.kind() == "ClusterImagePolicy") {
                match ClusterImagePolicy::compile(&doc) {
                    Ok(_) => ok += 1,
                    Err(e) => refused.push(e.to_string()),
                }
            }
        }
    }
    assert_eq!(refused.len(), 1, "{refused:#?}");
    assert!(refused[0].contains("signed-by-aws-kms-key.yaml") && refused[0].contains("<< region >>"), "{}", refused[0]);
    assert_eq!(ok, 42);
}
