//! Kyverno's test files (`cli.kyverno.io/v1alpha1` Test, `kyverno-test.yaml`), run as
//! `kyverno test` runs them: every result entry is one assertion.

use crate::error::PolicyError;
use crate::outcome::TestRecord;
use std::path::Path;

/// Every assertion of one test file, evaluated. An assertion that cannot be evaluated (a
/// feature we lack, a bad file) is a record with `ok: false` and the reason in `detail`.
pub fn run_file(path: &Path) -> Result<Vec<TestRecord>, PolicyError> {
    Err(PolicyError::unsupported(path.display().to_string(), None, "this test file"))
}
