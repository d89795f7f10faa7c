//! How `bulwark` ends. Exit codes are API (scripts and CI gates branch on them), so they are
//! one table, kept here and in the README, as cosign keeps its own:
//!
//! | Code | Meaning | When |
//! |------|---------|------|
//! | 0 | success | the command did what it was asked: an SBOM or report written (findings alone do not fail a scan), a signature, attestation, provenance or bundle verified |
//! | 1 | policy or verification failure | `verify`, `verify-attestation`, `verify-provenance`, `verify-bundle`: nothing verifies (no signature, wrong key or identity, bad signature, digest mismatch, untrusted chain or log entry); `policy apply`: an enforce-mode rule failed or could not be evaluated; `policy test`: an assertion failed; `admission review`: the review is denied |
//! | 2 | usage or input error | bad flags or values; an input that cannot be read or is malformed (image, SBOM, key, certificate, bundle, trust root, ignore or VEX file); a registry that cannot be reached; any other error |
//! | N | scan gate | `scan --exit-code N` (0–255, Trivy's flag): N when findings are left after `--severity`, `--ignore-unfixed` and suppressions |
//!
//! Clap's own usage errors exit 2 as well; `--help` and `--version` exit 0.

/// The outcome of a command; errors (`Err`) are code 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exit {
    Success,
    /// Verification or policy said no.
    Failure,
    /// Usage or input error: what `main` returns for any `Err`.
    Error,
    /// `scan --exit-code N` with findings left.
    Findings(u8),
}

impl Exit {
    pub(crate) fn code(self) -> i32 {
        match self {
            Exit::Success => 0,
            Exit::Failure => 1,
            Exit::Error => 2,
            Exit::Findings(n) => i32::from(n),
        }
    }
}
