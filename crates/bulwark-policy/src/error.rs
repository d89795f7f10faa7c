//! One error type for the engine. Every variant names the input (file, policy, rule) and the
//! problem, so that a user can fix the file without reading our code.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum PolicyError {
    /// A file or stream that cannot be read or parsed, or breaks a limit (size, depth, aliases).
    #[error("{input}: {problem}")]
    Input { input: String, problem: String },
    /// A policy field we do not implement yet: an error, never a silent pass.
    /// `policy` is e.g. "kyverno.io/v1 ClusterPolicy disallow-x", `field` the YAML path.
    #[error("{policy}: {}`{field}` is not supported{}", rule.as_deref().map(|r| format!("rule {r}: ")).unwrap_or_default(), detail.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Unsupported { policy: String, rule: Option<String>, field: String, detail: Option<String> },
    /// A policy that is wrong as written (missing or mistyped field, bad expression).
    #[error("{policy}: {problem}")]
    Invalid { policy: String, problem: String },
    /// An evaluation stopped by a limit (time, steps, memory) or failing at run time.
    #[error("{policy}: {problem}")]
    Evaluation { policy: String, problem: String },
}

impl PolicyError {
    pub fn input(input: impl Into<String>, problem: impl Into<String>) -> Self {
        PolicyError::Input { input: input.into(), problem: problem.into() }
    }
    pub fn invalid(policy: impl Into<String>, problem: impl Into<String>) -> Self {
        PolicyError::Invalid { policy: policy.into(), problem: problem.into() }
    }
    pub fn unsupported(policy: impl Into<String>, rule: Option<&str>, field: impl Into<String>) -> Self {
        PolicyError::Unsupported {
            policy: policy.into(),
            rule: rule.map(str::to_string),
            field: field.into(),
            detail: None,
        }
    }
}
