//! Where cosign keeps signatures, attestations and SBOMs in a registry: an OCI image
//! manifest tagged `sha256-<hex of the image digest>.sig` (`.att`, `.sbom`) in the image's
//! repository, one layer per signature. New signatures are appended to the layers already
//! there, so several signers accumulate on one tag, as with cosign.

use crate::SignError;
use bulwark_oci::media_type::{DOCKER_LIST, DOCKER_MANIFEST, OCI_INDEX};
pub use bulwark_oci::media_type::{OCI_CONFIG, OCI_MANIFEST};
pub use bulwark_oci::Descriptor;
use bulwark_oci::{credentials, Auth, Digest};
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::OciDistributionError;
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference, RegistryOperation};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// A signature manifest holds a handful of layers; a registry serving more is hostile.
const MAX_LAYERS: usize = 1000;
/// Largest signature, attestation or SBOM layer read back.
pub const MAX_LAYER: u64 = 64 << 20;

/// The three kinds of things cosign attaches, by their tag suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attachment {
    Signature,
    Attestation,
    Sbom,
}

impl Attachment {
    pub fn suffix(self) -> &'static str {
        match self {
            Attachment::Signature => "sig",
            Attachment::Attestation => "att",
            Attachment::Sbom => "sbom",
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct RegistryOptions {
    /// Plain HTTP and unverified TLS, as cosign's `--allow-insecure-registry`.
    pub allow_insecure: bool,
    /// A Docker config.json (or its directory) to read credentials from.
    pub docker_config: Option<PathBuf>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    #[serde(rename = "schemaVersion")]
    pub schema_version: u32,
    #[serde(rename = "mediaType", default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    pub config: Descriptor,
    #[serde(default)]
    pub layers: Vec<Descriptor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
}

/// One attached layer, read back and checked against its digest.
#[derive(Debug, Clone)]
pub struct Layer {
    pub descriptor: Descriptor,
    pub data: Vec<u8>,
}

/// A layer to attach.
pub struct NewLayer {
    pub media_type: String,
    pub data: Vec<u8>,
    pub annotations: BTreeMap<String, String>,
}

/// A registry connection for one repository, blocking.
pub struct Remote {
    client: Client,
    auth: RegistryAuth,
    rt: tokio::runtime::Runtime,
    /// The image as the user named it.
    pub reference: Reference,
}

fn err(what: &str, e: impl std::fmt::Display) -> SignError {
    SignError::Registry(format!("{what}: {e}"))
}

pub fn sha256(data: &[u8]) -> String {
    Digest::of_bytes(data).to_string()
}

/// Credentials for `registry` from Docker's config.json (see [`bulwark_oci::credentials::load`]).
fn registry_auth(registry: &str, opts: &RegistryOptions) -> Result<RegistryAuth, SignError> {
    let found = credentials::load(registry, opts.docker_config.as_deref()).map_err(|e| err(registry, e))?;
    Ok(match found.auth {
        Auth::Anonymous => RegistryAuth::Anonymous,
        Auth::Basic { username, password } => RegistryAuth::Basic(username, password),
        Auth::Bearer(token) => RegistryAuth::Bearer(token),
    })
}

impl Remote {
    pub fn connect(image: &str, opts: &RegistryOptions) -> Result<Remote, SignError> {
        let reference: Reference = image.parse().map_err(|e| err(image, format!("not an image reference ({e})")))?;
        let registry = reference.resolve_registry().to_string();
        let config = ClientConfig {
            // Cosign's --allow-insecure-registry: HTTP where TLS is absent, and no certificate check.
            protocol: if opts.allow_insecure { ClientProtocol::Http } else { ClientProtocol::Https },
            accept_invalid_certificates: opts.allow_insecure,
            // A registry that accepts and never answers must not hold a thread forever (the
            // admission webhook runs these calls on a bounded pool).
            connect_timeout: Some(std::time::Duration::from_secs(10)),
            read_timeout: Some(std::time::Duration::from_secs(30)),
            ..Default::default()
        };
        let auth = registry_auth(&registry, opts)?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| SignError::Other(format!("starting the I/O runtime: {e}")))?;
        let remote = Remote { client: Client::new(config), auth, rt, reference };
        remote
            .rt
            .block_on(remote.client.auth(&remote.reference, &remote.auth, RegistryOperation::Push))
            .or_else(|e| match e {
                // Read-only credentials still let us verify; pushing will then fail clearly.
                OciDistributionError::AuthenticationFailure(_) | OciDistributionError::UnauthorizedError { .. } => {
                    remote.rt.block_on(remote.client.auth(&remote.reference, &remote.auth, RegistryOperation::Pull))
                }
                e => Err(e),
            })
            .map_err(|e| {
                let hint = if opts.allow_insecure {
                    ""
                } else {
                    " (HTTPS with a verified certificate is required; --allow-insecure-registry permits plain HTTP and unverified TLS)"
                };
                err(&registry, format!("{e}{hint}"))
            })?;
        Ok(remote)
    }

    fn at(&self, tag_or_digest: &str) -> Reference {
        let r = &self.reference;
        // Tags cannot hold a `:`; digests always do.
        if tag_or_digest.contains(':') {
            Reference::with_digest(r.registry().to_string(), r.repository().to_string(), tag_or_digest.to_string())
        } else {
            Reference::with_tag(r.registry().to_string(), r.repository().to_string(), tag_or_digest.to_string())
        }
    }

    /// `registry/repository`, as cosign writes `docker-reference`.
    pub fn repository(&self) -> String {
        format!("{}/{}", self.reference.registry(), self.reference.repository())
    }

    /// The image's manifest digest: the one in the reference, else what the tag points at
    /// now. Signing resolves the tag once and signs the digest.
    pub fn resolve(&self) -> Result<String, SignError> {
        if let Some(d) = self.reference.digest() {
            return Ok(d.to_string());
        }
        let what = self.reference.whole();
        let (body, digest) = self
            .rt
            .block_on(self.client.pull_manifest_raw(
                &self.reference,
                &self.auth,
                &[OCI_MANIFEST, DOCKER_MANIFEST, OCI_INDEX, DOCKER_LIST],
            ))
            .map_err(|e| err(&what, e))?;
        // Never trust the header alone: the digest is of the bytes we got.
        let computed = sha256(&body);
        if !digest.is_empty() && digest != computed {
            return Err(err(&what, format!("registry says digest {digest}, content hashes to {computed}")));
        }
        Ok(computed)
    }

    /// `sha256-<hex>.<suffix>`, the tag cosign uses for `digest`.
    pub fn tag_for(digest: &str, kind: Attachment) -> String {
        format!("{}.{}", digest.replacen(':', "-", 1), kind.suffix())
    }

    /// The full reference of the attachment tag, as `cosign triangulate` prints it.
    pub fn triangulate(&self, digest: &str, kind: Attachment) -> String {
        format!("{}:{}", self.repository(), Self::tag_for(digest, kind))
    }

    /// The manifest under `tag`, or `None` when the tag does not exist.
    pub fn manifest(&self, tag: &str) -> Result<Option<Manifest>, SignError> {
        let r = self.at(tag);
        match self.rt.block_on(self.client.pull_manifest_raw(&r, &self.auth, &[OCI_MANIFEST, DOCKER_MANIFEST])) {
            Ok((body, _)) => {
                let m: Manifest = serde_json::from_slice(&body)
                    .map_err(|e| err(&r.whole(), format!("not an image manifest ({e})")))?;
                if m.layers.len() > MAX_LAYERS {
                    return Err(err(&r.whole(), format!("{} layers, more than {MAX_LAYERS}", m.layers.len())));
                }
                Ok(Some(m))
            }
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(err(&r.whole(), e)),
        }
    }

    /// Every layer under the attachment tag of `digest`, each checked against its digest.
    pub fn layers(&self, digest: &str, kind: Attachment) -> Result<Option<Vec<Layer>>, SignError> {
        let tag = Self::tag_for(digest, kind);
        let Some(m) = self.manifest(&tag)? else { return Ok(None) };
        let mut out = Vec::with_capacity(m.layers.len());
        for d in m.layers {
            let data = self.blob(&d)?;
            out.push(Layer { descriptor: d, data });
        }
        Ok(Some(out))
    }

    pub(crate) fn blob(&self, d: &Descriptor) -> Result<Vec<u8>, SignError> {
        let what = format!("{}@{}", self.repository(), d.digest);
        if d.size > MAX_LAYER {
            return Err(err(&what, format!("{} bytes, more than {MAX_LAYER}", d.size)));
        }
        let desc = oci_client::manifest::OciDescriptor {
            media_type: d.media_type.clone(),
            digest: d.digest.to_string(),
            size: d.size as i64,
            ..Default::default()
        };
        let mut buf = Vec::new();
        self.rt.block_on(self.client.pull_blob(&self.reference, &desc, &mut buf)).map_err(|e| err(&what, e))?;
        if buf.len() as u64 != d.size || !d.digest.matches(&buf) {
            return Err(err(&what, "content does not match its digest"));
        }
        Ok(buf)
    }

    pub(crate) fn push_blob(&self, data: &[u8]) -> Result<String, SignError> {
        let digest = sha256(data);
        self.rt
            .block_on(self.client.push_blob(&self.reference, data, &digest))
            .map_err(|e| err(&format!("{}: pushing {digest}", self.repository()), e))?;
        Ok(digest)
    }

    /// A manifest or index by tag or digest, raw, or `None` when absent. Fetched by digest, its
    /// bytes are checked against the digest.
    pub(crate) fn pull_raw(&self, tag_or_digest: &str, accept: &[&str]) -> Result<Option<Vec<u8>>, SignError> {
        let r = self.at(tag_or_digest);
        match self.rt.block_on(self.client.pull_manifest_raw(&r, &self.auth, accept)) {
            Ok((body, _)) => {
                if tag_or_digest.contains(':') {
                    let d = Digest::parse(tag_or_digest).map_err(|e| err(&r.whole(), e))?;
                    if !d.matches(&body) {
                        return Err(err(&r.whole(), "content does not match its digest"));
                    }
                }
                Ok(Some(body))
            }
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(err(&r.whole(), e)),
        }
    }

    /// Puts a manifest or index under a tag or its digest.
    pub(crate) fn push_manifest(
        &self,
        tag_or_digest: &str,
        body: Vec<u8>,
        content_type: &str,
    ) -> Result<(), SignError> {
        let r = self.at(tag_or_digest);
        let ct = reqwest_header(content_type)?;
        self.rt.block_on(self.client.push_manifest_raw(&r, body, ct)).map_err(|e| err(&r.whole(), e))?;
        Ok(())
    }

    /// The manifests referring to `digest`, from the OCI 1.1 referrers API, or `None` when the
    /// registry has no such API (it answers 404, as distribution 2.8 does). An entry whose
    /// digest or size cannot be used is an `Err` naming it, so the others still count.
    #[allow(clippy::type_complexity)]
    pub(crate) fn referrers_api(&self, digest: &str) -> Result<Option<Vec<Result<Descriptor, String>>>, SignError> {
        let r = self.at(digest);
        match self.rt.block_on(self.client.pull_referrers(&r, None)) {
            Ok(index) => Ok(Some(
                index
                    .manifests
                    .into_iter()
                    .map(|m| {
                        let shown = || m.digest.chars().take(160).collect::<String>();
                        let d = Digest::parse(&m.digest).map_err(|e| format!("referrer {:?}: {e}", shown()))?;
                        let size = u64::try_from(m.size).map_err(|_| format!("referrer {d}: negative size"))?;
                        let mut desc = Descriptor::new(m.media_type, d, size);
                        desc.annotations = m.annotations.unwrap_or_default();
                        Ok(desc)
                    })
                    .collect(),
            )),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(OciDistributionError::RegistryError { envelope, .. })
                if envelope.errors.iter().any(|x| matches!(x.code, oci_client::errors::OciErrorCode::Unsupported)) =>
            {
                Ok(None)
            }
            Err(e) => Err(err(&format!("{}: referrers of {digest}", self.repository()), e)),
        }
    }

    /// Appends `layer` to the attachment manifest of `digest` (creating it when absent) and
    /// re-tags it. A layer identical to one already there (same content and annotations) is
    /// not added twice.
    pub fn append(&self, digest: &str, kind: Attachment, layer: NewLayer) -> Result<String, SignError> {
        let tag = Self::tag_for(digest, kind);
        let mut layers = self.manifest(&tag)?.map(|m| m.layers).unwrap_or_default();
        self.push_blob(&layer.data)?;
        let mut desc = Descriptor::of(layer.media_type, &layer.data);
        desc.annotations = layer.annotations;
        if !layers.contains(&desc) {
            layers.push(desc);
        }
        // The config cosign writes: an empty image config naming the layers.
        let diff_ids: Vec<&str> = layers.iter().map(|l| l.digest.as_str()).collect();
        let config = serde_json::to_vec(&serde_json::json!({
            "architecture": "", "created": "0001-01-01T00:00:00Z", "history": [{"created": "0001-01-01T00:00:00Z"}],
            "os": "", "rootfs": {"type": "layers", "diff_ids": diff_ids}, "config": {}
        }))
        .map_err(|e| SignError::Other(e.to_string()))?;
        self.push_blob(&config)?;
        let manifest = Manifest {
            schema_version: 2,
            media_type: Some(OCI_MANIFEST.into()),
            config: Descriptor::of(OCI_CONFIG, &config),
            layers,
            annotations: None,
        };
        let body = serde_json::to_vec(&manifest).map_err(|e| SignError::Other(e.to_string()))?;
        let r = self.at(&tag);
        let ct = reqwest_header(OCI_MANIFEST)?;
        self.rt.block_on(self.client.push_manifest_raw(&r, body, ct)).map_err(|e| err(&r.whole(), e))?;
        Ok(self.triangulate(digest, kind))
    }
}

fn reqwest_header(v: &str) -> Result<http::HeaderValue, SignError> {
    http::HeaderValue::from_str(v).map_err(|e| SignError::Other(e.to_string()))
}

fn is_not_found(e: &OciDistributionError) -> bool {
    match e {
        OciDistributionError::ImageManifestNotFoundError(_) => true,
        OciDistributionError::RegistryError { envelope, .. } => envelope.errors.iter().any(|x| {
            matches!(
                x.code,
                oci_client::errors::OciErrorCode::ManifestUnknown | oci_client::errors::OciErrorCode::NameUnknown
            )
        }),
        OciDistributionError::ServerError { code, .. } => *code == 404,
        _ => false,
    }
}
