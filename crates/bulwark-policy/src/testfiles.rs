//! `bulwark policy test`: finds the test files under a path and runs each with its dialect.

use crate::error::PolicyError;
use crate::outcome::TestRecord;
use std::path::{Path, PathBuf};

/// A kind of test file: how it is recognised and run.
pub struct TestFormat {
    pub name: &'static str,
    pub file_name: &'static str,
    pub run: fn(&Path) -> Result<Vec<TestRecord>, PolicyError>,
}

/// Every test file format, in one list.
pub const FORMATS: &[TestFormat] = &[
    TestFormat { name: "Kyverno", file_name: "kyverno-test.yaml", run: crate::kyverno::test::run_file },
    TestFormat { name: "gator", file_name: "suite.yaml", run: crate::gatekeeper::suite::run_file },
];

/// The test files under `path` (or `path` itself), sorted, with their format.
pub fn find(path: &Path) -> Result<Vec<(PathBuf, &'static TestFormat)>, PolicyError> {
    let mut out = Vec::new();
    for file in crate::resource::files(path)? {
        let name = file.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        if let Some(f) = FORMATS.iter().find(|f| f.file_name == name) {
            out.push((file, f));
        }
    }
    Ok(out)
}

/// Every test file under `path`, run. A file that cannot run at all is one failed record
/// naming it, so that it counts as a failure and never disappears.
pub fn run(path: &Path) -> Result<Vec<TestRecord>, PolicyError> {
    let mut records = Vec::new();
    for (file, format) in find(path)? {
        match (format.run)(&file) {
            Ok(r) => records.extend(r),
            Err(e) => records.push(TestRecord {
                test: file.display().to_string(),
                policy: String::new(),
                rule: String::new(),
                resource: String::new(),
                expected: "run".into(),
                got: "error".into(),
                ok: false,
                detail: e.to_string(),
            }),
        }
    }
    Ok(records)
}
