//! Gatekeeper: every gator `suite.yaml` of the shared gatekeeper-library data, run as
//! `gator verify` runs it, with exact counts; plus limits on hostile templates.

use bulwark_policy::gatekeeper::suite::run_file;
use bulwark_policy::testfiles;

#[test]
fn gatekeeper_library_suites() {
    let root = bulwark_testkit::shared().join("data/admission/gatekeeper");
    let files = testfiles::find(&root).unwrap();
    let suites: Vec<_> = files.iter().filter(|(_, f)| f.name == "gator").collect();
    assert_eq!(suites.len(), 25, "suite files under {}", root.display());
    let (mut passed, mut failed) = (0, 0);
    for (path, _) in suites {
        let records = run_file(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(!records.is_empty(), "{}: no assertions", path.display());
        for r in records {
            if r.ok {
                passed += 1;
            } else {
                failed += 1;
                println!(
                    "FAIL {} {} {}: expected {}, got {} ({})",
                    r.test, r.rule, r.resource, r.expected, r.got, r.detail
                );
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    assert_eq!((passed, failed), (0, 0));
}
