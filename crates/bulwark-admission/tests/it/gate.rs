//! The vulnerability gate on real parts: node-app in Debian's docker-registry (which stores no
//! scans), matched with the shared advisory database: CVE-2021-44906 (CRITICAL) refuses it;
//! without a database the status is unknown, denied by default; python-app (no CRITICAL in
//! this database) passes a CRITICAL gate and fails a HIGH one.

use bulwark_admission::gate::{Gate, Unknown};
use bulwark_policy::Outcome;
use bulwark_testkit::{docker_registry, DockerOptions};
use bulwark_vulndb::severity::Level;

#[test]
fn the_gate_refuses_critical_findings_and_unknown_status() {
    let reg = docker_registry!(DockerOptions::default());
    let mut pinned = Vec::new();
    for name in ["node-app", "python-app"] {
        let layout = bulwark_testkit::image(name);
        reg.push_layout(&layout, "1.0", &format!("shop/{name}:v1"), &[]);
        let digest = bulwark_testkit::own_registry::layout_digest(&layout);
        pinned.push(format!("{}/shop/{name}@{digest}", reg.host()));
    }
    let opts = bulwark_image::Options {
        insecure: true,
        no_cache: true,
        docker_config: Some(reg.docker_config("cfg", "{}")),
        ..Default::default()
    };
    let db = Some(bulwark_testkit::advisory_db().to_path_buf());
    let gate = Gate::new(Level::Critical, Unknown::Deny, db.clone(), opts.clone());
    let r = gate.check(&pinned[0]);
    assert_eq!(r.outcome, Outcome::Fail, "{}", r.message);
    assert!(
        r.message.contains(
            "has 1 finding(s) at or above CRITICAL: CVE-2021-44906 CRITICAL in minimist 1.2.0 (fixed in 1.2.6)"
        ),
        "{}",
        r.message
    );
    assert!(r.message.contains("the local database, built"), "{}", r.message);
    let r = gate.check(&pinned[1]);
    assert_eq!(r.outcome, Outcome::Pass, "{}", r.message);
    let high = Gate::new(Level::High, Unknown::Deny, db, opts.clone());
    let r = high.check(&pinned[1]);
    assert_eq!(r.outcome, Outcome::Fail, "{}", r.message);
    assert!(r.message.contains("has 4 finding(s) at or above HIGH"), "{}", r.message);

    // No database, no stored scan: unknown, decided by configuration.
    for (unknown, outcome) in
        [(Unknown::Deny, Outcome::Fail), (Unknown::Warn, Outcome::Warn), (Unknown::Allow, Outcome::Pass)]
    {
        let r = Gate::new(Level::Critical, unknown, None, opts.clone()).check(&pinned[0]);
        assert_eq!(r.outcome, outcome, "{}", r.message);
        assert!(r.message.contains("vulnerability status unknown"), "{}", r.message);
    }
    // An unpinned reference is never guessed at.
    let r = gate.check(&format!("{}/shop/node-app:v1", reg.host()));
    assert_eq!(r.outcome, Outcome::Fail);
    assert!(r.message.contains("not pinned to a digest"), "{}", r.message);
}
