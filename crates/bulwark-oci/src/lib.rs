//! OCI basics shared by the image reader, the signing commands and the registry: content
//! digests ([`Digest`], sha256 and sha512, validated to the image spec's grammar), the one
//! [`Descriptor`] type, media types, and registry credentials from Docker's `config.json`.
//!
//! Nothing here does I/O beyond reading the credentials file, and nothing depends on the
//! package detectors, so a crate that only talks to registries stays small.
#![forbid(unsafe_code)]

pub mod credentials;
pub mod descriptor;
pub mod digest;
pub mod media_type;
pub mod reference;

pub use credentials::{Auth, Credentials, CredentialsError};
pub use descriptor::{Descriptor, Platform};
pub use digest::{Algorithm, Digest, DigestError, Hasher};
pub use reference::{ImageRef, ReferenceError};
