//! Watching admitted workloads: node-app admitted while the database knew no npm advisory; a
//! new database (with OSV's npm records) brings CVE-2021-44906 (minimist, CRITICAL): exactly
//! one alert, POSTed to a real HTTP receiver on loopback, the report shows it, and matching
//! again with the same database alerts nothing new.

use crate::Now;
use bulwark_admission::watch::{self, Admitted, AdmittedContainer, Watch};
use bulwark_vulndb::severity::Level;
use std::net::TcpListener;

#[test]
fn a_new_database_alerts_once_on_a_new_critical_finding() {
    let dir = tempfile::tempdir().unwrap();
    let w = Watch::open(&dir.path().join("state.db"), Level::Critical).unwrap();
    let digest = format!("sha256:{}", "1".repeat(64));
    let admitted = Admitted {
        namespace: "shop".into(),
        kind: "Deployment".into(),
        name: "web".into(),
        containers: vec![AdmittedContainer {
            container: "app".into(),
            image: "registry.example.com/node-app:1.0".into(),
            digest: digest.clone(),
        }],
    };
    w.record(&admitted).unwrap();
    assert!(w.has_workload("shop", "Deployment", "web").unwrap());
    assert_eq!(
        w.pending_inventories().unwrap(),
        [(digest.clone(), "registry.example.com/node-app@".to_string() + &digest)]
    );
    // The inventory is read once (here from the OCI layout the image came from).
    let image = bulwark_testkit::shared().join("images/node-app/oci");
    let inv = bulwark_image::catalog(&format!("oci-dir:{}", image.display()), &Default::default()).unwrap();
    w.set_inventory(&digest, &inv).unwrap();
    assert!(w.pending_inventories().unwrap().is_empty());

    // The old database: distribution advisories only, no npm records.
    let old = dir.path().join("old.db");
    let data = bulwark_testkit::shared().join("data");
    bulwark_vulndb::update(
        &[data.join("alpine-secdb").as_path(), data.join("debian-security-tracker").as_path()],
        &old,
    )
    .unwrap();
    let alerts = w.rematch(&bulwark_vulndb::Db::open(&old).unwrap()).unwrap();
    assert!(alerts.is_empty(), "{alerts:?}");

    // The new database brings the npm advisories.
    let new = bulwark_vulndb::Db::open(bulwark_testkit::advisory_db()).unwrap();
    let alerts = w.rematch(&new).unwrap();
    let ids: Vec<&str> = alerts.iter().map(|a| a.vulnerability.as_str()).collect();
    assert_eq!(ids, ["CVE-2021-44906"], "{alerts:?}");
    let a = &alerts[0];
    assert_eq!(
        (a.namespace.as_str(), a.kind.as_str(), a.name.as_str(), a.container.as_str()),
        ("shop", "Deployment", "web", "app")
    );
    assert_eq!(
        (a.package.as_str(), a.installed_version.as_str(), a.fixed_version.as_deref()),
        ("minimist", "1.2.0", Some("1.2.6"))
    );
    assert_eq!(a.severity, Level::Critical);

    // Delivered as one JSON POST.
    let (url, rx) = bulwark_testkit::receiver::json_receiver();
    let failed = watch::post_alerts(&url, &alerts).now();
    assert!(failed.is_empty(), "{failed:?}");
    let got = rx.recv_timeout(std::time::Duration::from_secs(10)).unwrap();
    assert_eq!(got["vulnerability"], "CVE-2021-44906");
    assert_eq!(got["severity"], "CRITICAL");
    assert!(rx.recv_timeout(std::time::Duration::from_millis(300)).is_err(), "one POST only");

    // The report and the gauge show it; the same database again alerts nothing.
    let report = w.report().unwrap();
    assert_eq!(report.len(), 1);
    assert_eq!(report[0].images[0].alerting, ["CVE-2021-44906"]);
    assert_eq!(report[0].images[0].findings.get(&Level::High), Some(&5));
    assert_eq!(
        w.alerting_by_workload().unwrap(),
        [(("shop".to_string(), "Deployment".to_string(), "web".to_string()), 1)]
    );
    assert!(w.rematch(&new).unwrap().is_empty());
}

#[test]
fn undeliverable_alerts_are_returned_with_why() {
    // Nothing listens on this port once the listener is dropped.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let alert = watch::Alert {
        namespace: "n".into(),
        kind: "Pod".into(),
        name: "p".into(),
        container: "c".into(),
        image: "i".into(),
        digest: "d".into(),
        vulnerability: "CVE-1".into(),
        severity: Level::Critical,
        package: "x".into(),
        installed_version: "1".into(),
        fixed_version: None,
        db_built_at: "t".into(),
    };
    let failed = watch::post_alerts(&format!("http://127.0.0.1:{port}/"), &[alert]).now();
    assert_eq!(failed.len(), 1);
    assert!(failed[0].1.contains(&format!("127.0.0.1:{port}")), "{}", failed[0].1);
}
