//! The Kubernetes admission webhook's decisions, without the server: an AdmissionReview in
//! ([`review`]), every policy of the policy engine plus the Pod Security Standards by
//! namespace labels and the image rules ([`decide`], [`images`]), the AdmissionReview
//! response out. `bulwark admission review` and `bulwark admission serve` both decide here,
//! so a review through the CLI decides exactly as the server would.

pub mod cert;
pub mod decide;
pub mod gate;
pub mod images;
pub mod k8s;
pub mod manifests;
pub mod metrics;
pub mod review;
pub mod server;
pub mod verify;
pub mod watch;

pub use decide::{Admission, NamespaceLabels, NoMatchPolicy};
pub use images::{ImageRules, ImageSettings};
pub use metrics::Metrics;
pub use review::{Review, ReviewError, ReviewVersion, RuleTally, Verdict};
pub use verify::{ImageVerifier, VerifyOptions};
