//! The admission policy engine: the users' own policy files, evaluated offline as the admission
//! tools evaluate them, for `bulwark policy` in CI and for the admission webhook.
//!
//! Dialects (each a module behind [`Dialect`], listed once in [`dialects`]):
//! - [`pss`]: the Pod Security Standards, every check of every version, as pod-security-admission;
//! - [`kyverno`]: Kyverno ClusterPolicy/Policy, ValidatingPolicy and ValidatingAdmissionPolicy;
//! - [`gatekeeper`]: ConstraintTemplates (Rego through regorus, CEL) and their constraints;
//! - [`glob`]: Sigstore policy-controller's image globs (ClusterImagePolicy `images[].glob`).
//!
//! Everything is input from strangers: documents are read with budgets ([`yaml`]), a feature
//! not implemented is [`PolicyError::Unsupported`] naming the field, never a silent pass.

pub mod cel;
pub mod dialect;
pub mod error;
pub mod gatekeeper;
pub mod glob;
pub mod kyverno;
pub mod outcome;
pub mod pss;
pub mod report;
pub mod resource;
pub mod testfiles;
pub mod verify;
pub mod yaml;

pub use dialect::{dialects, Dialect, Operation, Policy, Request};
pub use error::PolicyError;
pub use outcome::{Mutation, Outcome, ResourceId, RuleResult, TestRecord};
pub use resource::Document;
