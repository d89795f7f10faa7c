//! Conformance of the OS version schemes with their upstream projects' own test vectors,
//! and hostile-input properties. One binary so the vector tables can be shared.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

mod apk;
mod dpkg;
mod hostile;
mod rpm;
