//! `bulwark admission review --state`, `watch` and `report` with real parts: node-app pushed to
//! Debian's docker-registry on loopback, admitted by digest, inventoried once from the
//! registry, matched against an old database (no npm advisories: nothing) and the shared one
//! (CVE-2021-44906, CRITICAL: one line on stdout, one POST to a real receiver), then reported.

use crate::common::bulwark;
use bulwark_testkit::{docker_registry, DockerOptions};
use serde_json::{json, Value};

#[test]
fn admitted_images_are_watched_and_a_new_critical_finding_alerts_once() {
    let reg = docker_registry!(DockerOptions::default());
    let layout = bulwark_testkit::image("node-app");
    reg.push_layout(&layout, "1.0", "shop/node:v1", &[]);
    let digest = bulwark_testkit::own_registry::layout_digest(&layout);
    let image = format!("{}/shop/node:v1@{digest}", reg.host());
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state.db");
    let config = reg.docker_config("cfg", "{}");

    let review = json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
        "uid": "w1", "operation": "CREATE", "namespace": "shop", "kind": {"group": "apps", "version": "v1", "kind": "Deployment"},
        "object": {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "shop"},
            "spec": {"template": {"metadata": {}, "spec": {"containers": [{"name": "app", "image": image}]}}}}}});
    let file = tmp.path().join("review.json");
    std::fs::write(&file, review.to_string()).unwrap();
    // A dry run records nothing; the real request records the workload.
    let mut dry = review.clone();
    dry["request"]["dryRun"] = true.into();
    let dry_file = tmp.path().join("dry.json");
    std::fs::write(&dry_file, dry.to_string()).unwrap();
    let out = bulwark().args(["admission", "review", "--state"]).arg(&state).arg(&dry_file).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let out = bulwark().args(["admission", "report", "--format", "json", "--state"]).arg(&state).output().unwrap();
    assert_eq!(serde_json::from_slice::<Value>(&out.stdout).unwrap(), json!([]));
    let out = bulwark().args(["admission", "review", "--state"]).arg(&state).arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));

    // The old database: no npm advisories, so nothing to say (the inventory is read now).
    let old = tmp.path().join("old.db");
    let data = bulwark_testkit::shared().join("data");
    let out = bulwark()
        .args(["db", "update", "--db"])
        .arg(&old)
        .arg("--source")
        .arg(data.join("alpine-secdb"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let watch = |db: &std::path::Path, extra: &[&str]| {
        let out = bulwark()
            .args(["admission", "watch", "--insecure", "--no-cache", "--registry-config"])
            .arg(&config)
            .arg("--state")
            .arg(&state)
            .arg("--db")
            .arg(db)
            .args(extra)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    assert_eq!(watch(&old, &[]), "");

    // The new database: one alert, on stdout and POSTed.
    let (url, rx) = bulwark_testkit::receiver::json_receiver();
    let lines = watch(bulwark_testkit::advisory_db(), &["--alert-url", &url]);
    let alerts: Vec<Value> = lines.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(alerts.len(), 1, "{lines}");
    assert_eq!(alerts[0]["vulnerability"], "CVE-2021-44906");
    assert_eq!(alerts[0]["namespace"], "shop");
    assert_eq!(alerts[0]["name"], "web");
    assert_eq!(alerts[0]["digest"], digest);
    let posted = rx.recv_timeout(std::time::Duration::from_secs(10)).unwrap();
    assert_eq!(posted, alerts[0]);
    assert!(rx.recv_timeout(std::time::Duration::from_millis(300)).is_err(), "one POST");
    // Again with the same database: nothing new.
    assert_eq!(watch(bulwark_testkit::advisory_db(), &["--alert-url", &url]), "");

    let out = bulwark().args(["admission", "report", "--format", "json", "--state"]).arg(&state).output().unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report[0]["name"], "web");
    assert_eq!(report[0]["images"][0]["alerting"], json!(["CVE-2021-44906"]));
    assert_eq!(report[0]["images"][0]["inventoried"], true);
    let out = bulwark().args(["admission", "report", "--state"]).arg(&state).output().unwrap();
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(
        table.contains("shop/Deployment/web") && table.contains("CRITICAL:1") && table.contains("(CVE-2021-44906)"),
        "{table}"
    );
}

/// `--vuln-gate CRITICAL`: node-app (CVE-2021-44906) is refused by tag (resolved to its digest
/// at the registry) and by digest; python-app (no CRITICAL in this database) is admitted; a
/// registry that is not there gives an unknown status, denied by default and allowed with
/// `--vuln-unknown allow`.
#[test]
fn the_vulnerability_gate_refuses_a_critical_image() {
    let reg = docker_registry!(DockerOptions::default());
    for name in ["node-app", "python-app"] {
        reg.push_layout(&bulwark_testkit::image(name), "1.0", &format!("shop/{name}:v1"), &[]);
    }
    let tmp = tempfile::tempdir().unwrap();
    let config = reg.docker_config("cfg", "{}");
    let review = |image: &str| {
        let body = json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
            "uid": "g", "operation": "CREATE", "namespace": "shop", "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "object": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "shop"},
                "spec": {"containers": [{"name": "app", "image": image}]}}}});
        let f = tmp.path().join(format!("r{}.json", image.len()));
        std::fs::write(&f, body.to_string()).unwrap();
        f
    };
    let decide = |image: &str, extra: &[&str]| -> (i32, Value) {
        let out = bulwark()
            .args(["admission", "review", "--vuln-gate", "CRITICAL", "--allow-insecure-registry", "--db"])
            .arg(bulwark_testkit::advisory_db())
            .arg("--registry-config")
            .arg(&config)
            .args(extra)
            .arg(review(image))
            .output()
            .unwrap();
        let v: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
        (out.status.code().unwrap(), v["response"].clone())
    };
    let node = format!("{}/shop/node-app:v1", reg.host());
    let (code, r) = decide(&node, &[]);
    assert_eq!(code, 1, "{r}");
    let msg = r["status"]["message"].as_str().unwrap();
    assert!(msg.starts_with("vulnerability-gate/severity: "), "{msg}");
    assert!(msg.contains("CVE-2021-44906 CRITICAL in minimist 1.2.0 (fixed in 1.2.6)"), "{msg}");
    let digest = bulwark_testkit::own_registry::layout_digest(&bulwark_testkit::image("node-app"));
    let (code, _) = decide(&format!("{}/shop/node-app@{digest}", reg.host()), &[]);
    assert_eq!(code, 1);
    let (code, r) = decide(&format!("{}/shop/python-app:v1", reg.host()), &[]);
    assert_eq!(code, 0, "{r}");
    // Nothing listens there: unknown.
    let gone = "127.0.0.1:9/shop/app:v1";
    let (code, r) = decide(gone, &[]);
    assert_eq!(code, 1, "{r}");
    assert!(r["status"]["message"].as_str().unwrap().contains("vulnerability status unknown"), "{r}");
    assert!(r["status"]["message"].as_str().unwrap().contains("could not be resolved"), "{r}");
    let (code, r) = decide(gone, &["--vuln-unknown", "allow"]);
    assert_eq!(code, 0, "{r}");
}
