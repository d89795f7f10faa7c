//! Kyverno: the kyverno/policies suites in shared data, run as `kyverno test` runs them, and
//! Kyverno's own tables for anchors, value operators and wildcards.

use bulwark_policy::outcome::TestRecord;
use bulwark_policy::testfiles;
use std::collections::BTreeMap;

fn kyverno_data() -> std::path::PathBuf {
    bulwark_testkit::shared().join("data/admission/kyverno")
}

/// Every assertion of every test file under the Kyverno data, by top folder.
fn run_all() -> BTreeMap<String, Vec<TestRecord>> {
    let root = kyverno_data();
    let mut by_folder: BTreeMap<String, Vec<TestRecord>> = BTreeMap::new();
    for r in testfiles::run(&root).unwrap() {
        let rel = r.test.rsplit_once("admission/kyverno/").map(|(_, rel)| rel.to_string()).unwrap_or_default();
        let folder = rel.split('/').next().unwrap_or_default().to_string();
        by_folder.entry(folder).or_default().push(r);
    }
    by_folder
}

#[test]
fn suites_print() {
    let all = run_all();
    for (folder, records) in &all {
        let ok = records.iter().filter(|r| r.ok).count();
        println!("{folder}: {ok}/{}", records.len());
        for r in records.iter().filter(|r| !r.ok) {
            println!(
                "  FAIL {} {} {} {}: expected {} got {} ({})",
                r.test, r.policy, r.rule, r.resource, r.expected, r.got, r.detail
            );
        }
    }
}

#[test]
fn scratch_extra() {
    let Some(p) = std::env::var_os("KYVERNO_EXTRA") else { return };
    for r in testfiles::run(std::path::Path::new(&p)).unwrap() {
        println!(
            "{} {} {} {}: expected {} got {} ok={} ({})",
            r.test, r.policy, r.rule, r.resource, r.expected, r.got, r.ok, r.detail
        );
    }
}
