//! The independent oracle's findings (tests/facts/scan/expected.json) and a scan report's
//! findings in the same shape, to compare (bulwark-testkit's), and the advisory database.

pub use bulwark_testkit::facts::{expected, records, Key};

/// A private copy of the database built (once per run, see bulwark-testkit's
/// `advisory_db`) from every real source in ../shared/data, at `path`.
pub fn build_db(path: &std::path::Path) {
    bulwark_testkit::copy_advisory_db(path);
}
