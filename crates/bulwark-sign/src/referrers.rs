//! Image signatures as cosign v3 writes them by default: a Sigstore bundle (v0.3) pushed as an
//! OCI 1.1 referrer of the image, found through the referrers API or, on registries without
//! it, through the referrers tag schema (`sha256-<hex>`, an OCI index of the referrers).
//!
//! What cosign v3 signs for an image (`cosign sign --key`, `signDigestBundle`): not the
//! simple-signing payload of the `.sig` layout ([`crate::cosign`]) but a DSSE envelope
//! (`application/vnd.in-toto+json`) around an in-toto Statement v1 whose subject is the
//! manifest digest, predicate type `https://sigstore.dev/cosign/sign/v1`, predicate `{}`.
//! With `--tlog-upload=false` the bundle's verification material is only the public key
//! hint: base64 of the SHA-256 of the key's SubjectPublicKeyInfo DER (sigstore-go's keypair).
//!
//! The referrer manifest is cosign's `WriteReferrer`: empty config
//! (`application/vnd.oci.empty.v1+json`, `{}`), `artifactType` the bundle media type, one
//! layer (the bundle), `subject` the image, and the annotations `dev.sigstore.bundle.content`,
//! `dev.sigstore.bundle.predicateType` and `org.opencontainers.image.created`.
//!
//! Verifying: with no trust root, a key-signed bundle passes when its DSSE signature verifies
//! with the key and its statement names this image digest; no transparency log is checked
//! (cosign's `--key --insecure-ignore-tlog`, and what the `.sig` layout checks). With a trust
//! root, the bundle must pass [`bundle::verify_bundle`] (Rekor entry, timestamps) as well.

use std::collections::BTreeMap;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest as _, Sha256};

use crate::bundle::{self, Artifact, Policy, TrustRoot, BUNDLE_V03_MEDIA_TYPE, MAX_BUNDLE_BYTES};
use crate::cosign::Signed;
use crate::dsse::{self, Envelope, Statement, INTOTO_PAYLOAD_TYPE, STATEMENT_V1};
use crate::oci::{Descriptor, RegistryOptions, Remote};
use crate::{gojson, keys, pem, SignError, Signer};
use bulwark_oci::Digest;

/// The predicate type of cosign v3's image signature statement.
pub const SIGN_PREDICATE_TYPE: &str = "https://sigstore.dev/cosign/sign/v1";
/// The OCI empty descriptor's media type; its content is `{}`.
pub const EMPTY_MEDIA_TYPE: &str = bulwark_oci::media_type::OCI_EMPTY;
pub const OCI_INDEX: &str = bulwark_oci::media_type::OCI_INDEX;
use bulwark_oci::media_type::{DOCKER_LIST, DOCKER_MANIFEST, OCI_MANIFEST};
pub const CONTENT_ANNOTATION: &str = "dev.sigstore.bundle.content";
pub const PREDICATE_ANNOTATION: &str = "dev.sigstore.bundle.predicateType";
pub const CREATED_ANNOTATION: &str = "org.opencontainers.image.created";
/// More referrers than this on one image is a hostile registry.
const MAX_REFERRERS: usize = 1000;

/// An OCI 1.1 manifest with `artifactType` and `subject` (what [`crate::oci::Manifest`] lacks).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReferrerManifest {
    #[serde(rename = "schemaVersion")]
    pub schema_version: u32,
    #[serde(rename = "mediaType", default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    #[serde(rename = "artifactType", default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    pub config: Descriptor,
    #[serde(default)]
    pub layers: Vec<Descriptor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Descriptor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
}

/// An OCI image index, as the referrers tag schema keeps it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Index {
    #[serde(rename = "schemaVersion")]
    pub schema_version: u32,
    #[serde(rename = "mediaType", default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    #[serde(default)]
    pub manifests: Vec<Descriptor>,
}

/// The referrers tag schema's tag for `digest`: `<alg>-<hex>` (truncated as the spec says,
/// which never shortens a SHA-256 digest).
pub fn fallback_tag(digest: &str) -> String {
    let tag = digest.replacen(':', "-", 1);
    tag.chars().take(128).collect()
}

/// The in-toto statement cosign v3 signs for an image (protojson of in-toto's `Statement`:
/// `_type`, `subject` (`digest`, `annotations`), `predicateType`, `predicate`).
pub fn sign_statement(digest: &str, annotations: &Map<String, Value>) -> Result<Vec<u8>, SignError> {
    crate::payload::check_digest(digest).map_err(|m| SignError::format("image digest", m))?;
    let (alg, hex) = digest.split_once(':').ok_or_else(|| SignError::format("image digest", "no algorithm"))?;
    let mut out = String::with_capacity(256);
    out.push_str(r#"{"_type":"#);
    gojson::write_str(&mut out, STATEMENT_V1);
    out.push_str(r#","subject":[{"digest":{"#);
    gojson::write_str(&mut out, alg);
    out.push(':');
    gojson::write_str(&mut out, hex);
    // cosign always sets the annotations struct, so an empty one is written as `{}`.
    out.push_str(r#"},"annotations":"#);
    gojson::write_value(&mut out, &Value::Object(annotations.clone()));
    out.push_str(r#"}],"predicateType":"#);
    gojson::write_str(&mut out, SIGN_PREDICATE_TYPE);
    out.push_str(r#","predicate":{}}"#);
    Ok(out.into_bytes())
}

/// cosign's key hint: base64 of the SHA-256 of the SubjectPublicKeyInfo DER.
pub fn key_hint(public_key_pem: &str) -> Result<String, SignError> {
    let block = pem::parse(public_key_pem.as_bytes(), keys::MAX_KEY_FILE_BYTES, "public key")?;
    Ok(STANDARD.encode(Sha256::digest(&block.der[..])))
}

/// A v0.3 bundle of a DSSE envelope signed with a key, no log entry and no timestamp, as
/// sigstore-go marshals it (protojson field order; empty fields left out).
pub fn key_signed_bundle(envelope: &Envelope, hint: &str) -> Vec<u8> {
    let mut out = String::with_capacity(envelope.payload.len() * 4 / 3 + 512);
    out.push_str(r#"{"mediaType":"#);
    gojson::write_str(&mut out, BUNDLE_V03_MEDIA_TYPE);
    out.push_str(r#","verificationMaterial":{"publicKey":{"hint":"#);
    gojson::write_str(&mut out, hint);
    out.push_str(r#"}},"dsseEnvelope":{"payload":""#);
    out.push_str(&STANDARD.encode(&envelope.payload));
    out.push_str(r#"","payloadType":"#);
    gojson::write_str(&mut out, &envelope.payload_type);
    out.push_str(r#","signatures":["#);
    for (i, s) in envelope.signatures.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(r#"{"sig":""#);
        out.push_str(&STANDARD.encode(&s.sig));
        out.push('"');
        if !s.keyid.is_empty() {
            out.push_str(r#","keyid":"#);
            gojson::write_str(&mut out, &s.keyid);
        }
        out.push('}');
    }
    out.push_str("]}}");
    out.into_bytes()
}

fn json<T: Serialize>(v: &T) -> Result<Vec<u8>, SignError> {
    serde_json::to_vec(v).map_err(|e| SignError::Other(format!("encoding JSON: {e}")))
}

/// The image's own descriptor (media type, digest, size), for the referrer's `subject`.
fn image_descriptor(remote: &Remote, digest: &str) -> Result<Descriptor, SignError> {
    let what = format!("{}@{digest}", remote.repository());
    let body = remote
        .pull_raw(digest, &[OCI_MANIFEST, DOCKER_MANIFEST, OCI_INDEX, DOCKER_LIST])?
        .ok_or_else(|| SignError::Registry(format!("{what}: manifest not found")))?;
    let v: Value = serde_json::from_slice(&body)
        .map_err(|e| SignError::Registry(format!("{what}: manifest is not JSON ({e})")))?;
    let media_type = match v.get("mediaType").and_then(Value::as_str) {
        Some(m) => m.to_string(),
        // An OCI manifest may leave its media type out; an index is told by its `manifests`.
        None if v.get("manifests").is_some() => OCI_INDEX.to_string(),
        None => OCI_MANIFEST.to_string(),
    };
    let digest = Digest::parse(digest).map_err(|e| SignError::Registry(format!("{what}: {e}")))?;
    Ok(Descriptor::new(media_type, digest, body.len() as u64))
}

/// `cosign sign --key` (v3, `--new-bundle-format`, `--tlog-upload=false`): signs the image
/// digest into a Sigstore bundle pushed as a referrer of the image; on a registry without the
/// referrers API the referrer is also listed under the fallback tag `sha256-<hex>`.
/// `annotations` (cosign's `-a`) go into the statement's subject. `location` is
/// `repo@<referrer manifest digest>`.
pub fn sign_bundle(
    image: &str,
    signer: &dyn Signer,
    annotations: Map<String, Value>,
    opts: &RegistryOptions,
) -> Result<Signed, SignError> {
    let remote = Remote::connect(image, opts)?;
    let digest = remote.resolve()?;
    let subject = image_descriptor(&remote, &digest)?;
    let statement = sign_statement(&digest, &annotations)?;
    let envelope = Envelope::sign(INTOTO_PAYLOAD_TYPE, statement, signer, "")?;
    let bundle = key_signed_bundle(&envelope, &key_hint(&signer.public_key_pem())?);

    let config = b"{}";
    remote.push_blob(config)?;
    remote.push_blob(&bundle)?;
    let annotations = BTreeMap::from([
        (CREATED_ANNOTATION.to_string(), dsse::rfc3339_now()),
        (CONTENT_ANNOTATION.to_string(), "dsse-envelope".to_string()),
        (PREDICATE_ANNOTATION.to_string(), SIGN_PREDICATE_TYPE.to_string()),
    ]);
    let manifest = ReferrerManifest {
        schema_version: 2,
        media_type: Some(OCI_MANIFEST.into()),
        artifact_type: Some(BUNDLE_V03_MEDIA_TYPE.into()),
        config: Descriptor::of(EMPTY_MEDIA_TYPE, config),
        layers: vec![Descriptor::of(BUNDLE_V03_MEDIA_TYPE, &bundle)],
        subject: Some(subject),
        annotations: Some(annotations.clone()),
    };
    let body = json(&manifest)?;
    let mut entry = Descriptor::of(OCI_MANIFEST, &body);
    entry.artifact_type = Some(BUNDLE_V03_MEDIA_TYPE.into());
    entry.annotations = annotations;
    let manifest_digest = entry.digest.to_string();
    remote.push_manifest(&manifest_digest, body, OCI_MANIFEST)?;
    // A registry with the referrers API indexes the subject itself; otherwise the client
    // keeps the fallback tag (distribution spec v1.1, "referrers tag schema").
    if remote.referrers_api(&digest)?.is_none() {
        add_to_fallback_index(&remote, &digest, entry)?;
    }
    Ok(Signed { digest, location: format!("{}@{manifest_digest}", remote.repository()) })
}

fn fallback_index(remote: &Remote, digest: &str) -> Result<Option<Index>, SignError> {
    let tag = fallback_tag(digest);
    let what = format!("{}:{tag}", remote.repository());
    let Some(body) = remote.pull_raw(&tag, &[OCI_INDEX])? else { return Ok(None) };
    let index: Index = serde_json::from_slice(&body)
        .map_err(|e| SignError::Registry(format!("{what}: not an OCI image index ({e})")))?;
    if index.manifests.len() > MAX_REFERRERS {
        return Err(SignError::Registry(format!(
            "{what}: {} referrers, more than {MAX_REFERRERS}",
            index.manifests.len()
        )));
    }
    Ok(Some(index))
}

/// Adds `entry` to the index under the fallback tag of `digest` (creating it), keeping what
/// is there.
fn add_to_fallback_index(remote: &Remote, digest: &str, entry: Descriptor) -> Result<(), SignError> {
    let mut index = fallback_index(remote, digest)?.unwrap_or(Index {
        schema_version: 2,
        media_type: Some(OCI_INDEX.into()),
        manifests: Vec::new(),
    });
    if index.manifests.iter().any(|m| m.digest == entry.digest) {
        return Ok(());
    }
    index.media_type = Some(OCI_INDEX.into());
    index.manifests.push(entry);
    remote.push_manifest(&fallback_tag(digest), json(&index)?, OCI_INDEX)
}

/// How bundles are checked.
#[derive(Debug, Clone, Default)]
pub struct BundleVerifyOptions {
    pub registry: RegistryOptions,
    /// When set, every bundle must also pass [`bundle::verify_bundle`] against this root
    /// (transparency log entry, timestamps). When `None`, no log is checked, as cosign's
    /// `--insecure-ignore-tlog`.
    pub trust_root: Option<TrustRoot>,
}

/// A bundle referrer that verified.
#[derive(Debug, Clone)]
pub struct VerifiedReferrer {
    /// The referrer manifest.
    pub manifest_digest: String,
    /// The bundle layer.
    pub bundle_digest: String,
    /// The signed statement (subject: this image).
    pub statement: Statement,
    /// True when the transparency log entry was checked against a trust root.
    pub tlog_verified: bool,
}

/// `cosign verify --key` (v3 bundles): every Sigstore bundle referring to the image that is
/// signed by `public_key_pem`, about this exact digest, with cosign's signature predicate
/// type. An error saying why each failed when none does.
pub fn verify_bundles(
    image: &str,
    public_key_pem: &str,
    opts: &BundleVerifyOptions,
) -> Result<Vec<VerifiedReferrer>, SignError> {
    let key = keys::load_public_key(public_key_pem.as_bytes(), "public key")?;
    let policy = opts.trust_root.clone().map(|root| Policy::public_key(public_key_pem, root)).transpose()?;
    let remote = Remote::connect(image, &opts.registry)?;
    let digest = remote.resolve()?;
    let (entries, source) = match remote.referrers_api(&digest)? {
        Some(list) => (list, "the referrers API".to_string()),
        None => {
            let tag = format!("{}:{}", remote.repository(), fallback_tag(&digest));
            match fallback_index(&remote, &digest)? {
                Some(index) => (index.manifests.into_iter().map(Ok).collect(), tag),
                None => {
                    return Err(SignError::BadSignature(format!(
                        "no Sigstore bundles found for {image} ({digest}): the registry has no referrers API \
                         and {tag} does not exist"
                    )))
                }
            }
        }
    };
    if entries.len() > MAX_REFERRERS {
        return Err(SignError::Registry(format!("{source}: {} referrers, more than {MAX_REFERRERS}", entries.len())));
    }
    let mut ok = Vec::new();
    let mut why = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let e = match e {
            Ok(e) => e,
            Err(unusable) => {
                why.push(unusable.clone());
                continue;
            }
        };
        // Other kinds of referrers (SBOMs, Notary signatures) are not ours to judge.
        if e.artifact_type.as_deref().is_some_and(|t| !t.starts_with("application/vnd.dev.sigstore.bundle")) {
            continue;
        }
        let name = format!("referrer {} ({})", i + 1, e.digest);
        match verify_referrer(&remote, &digest, e, &key, policy.as_ref()) {
            Ok(Some(v)) => ok.push(v),
            Ok(None) => {}
            Err(err) => why.push(format!("{name}: {err}")),
        }
    }
    if ok.is_empty() {
        let why = if why.is_empty() { format!("{source} lists no Sigstore bundle") } else { why.join("; ") };
        return Err(SignError::BadSignature(format!("no valid Sigstore bundle for {image} ({digest}): {why}")));
    }
    Ok(ok)
}

/// `Ok(None)`: a referrer that is not a Sigstore bundle.
fn verify_referrer(
    remote: &Remote,
    digest: &str,
    entry: &Descriptor,
    key: &keys::PublicKey,
    policy: Option<&Policy>,
) -> Result<Option<VerifiedReferrer>, SignError> {
    if entry.size > MAX_BUNDLE_BYTES as u64 {
        return Err(SignError::format("referrer manifest", format!("manifest of {} bytes is too large", entry.size)));
    }
    let body = remote
        .pull_raw(entry.digest.as_str(), &[OCI_MANIFEST])?
        .ok_or_else(|| SignError::format("referrer manifest", "the listed manifest does not exist"))?;
    let m: ReferrerManifest = serde_json::from_slice(&body)
        .map_err(|e| SignError::format("referrer manifest", format!("not an OCI image manifest ({e})")))?;
    let artifact_type = m.artifact_type.as_deref().unwrap_or(m.config.media_type.as_str());
    if !artifact_type.starts_with("application/vnd.dev.sigstore.bundle") {
        return Ok(None);
    }
    match &m.subject {
        Some(s) if s.digest.as_str() == digest => {}
        Some(s) => {
            return Err(SignError::BadSignature(format!(
                "its subject is {}, not this image's {digest} (the referrer was copied from another image)",
                s.digest
            )))
        }
        None => return Err(SignError::BadSignature("the manifest has no subject".into())),
    }
    let layer = m
        .layers
        .iter()
        .find(|l| l.media_type.starts_with("application/vnd.dev.sigstore.bundle"))
        .ok_or_else(|| SignError::format("referrer manifest", "no Sigstore bundle layer"))?;
    if layer.size > MAX_BUNDLE_BYTES as u64 {
        return Err(SignError::format(
            "referrer manifest",
            format!("bundle of {} bytes, more than {MAX_BUNDLE_BYTES}", layer.size),
        ));
    }
    let data = remote.blob(layer)?;
    let statement = verify_key_bundle(&data, key, digest, &format!("bundle {}", layer.digest))?;
    let tlog_verified = match policy {
        Some(p) => {
            bundle::verify_bundle(&data, Artifact::sha256_hex(digest)?, p)?;
            true
        }
        None => false,
    };
    Ok(Some(VerifiedReferrer {
        manifest_digest: entry.digest.to_string(),
        bundle_digest: layer.digest.to_string(),
        statement,
        tlog_verified,
    }))
}

#[derive(Deserialize)]
struct RawBundle {
    #[serde(rename = "mediaType")]
    media_type: String,
    #[serde(rename = "verificationMaterial", default)]
    verification_material: Option<Map<String, Value>>,
    #[serde(rename = "dsseEnvelope", default)]
    dsse_envelope: Option<Value>,
    #[serde(rename = "messageSignature", default)]
    message_signature: Option<Value>,
}

/// Checks a key-signed image signature bundle: its DSSE signature verifies with `key`, its
/// statement is cosign's signature statement and names `digest`. The log is not looked at.
pub fn verify_key_bundle(
    bundle_json: &[u8],
    key: &keys::PublicKey,
    digest: &str,
    what: &str,
) -> Result<Statement, SignError> {
    if bundle_json.len() > MAX_BUNDLE_BYTES {
        return Err(SignError::format(what, format!("bundle larger than {MAX_BUNDLE_BYTES} bytes")));
    }
    let raw: RawBundle = serde_json::from_slice(bundle_json)
        .map_err(|e| SignError::format(what, format!("not a Sigstore bundle: {e}")))?;
    if !raw.media_type.starts_with("application/vnd.dev.sigstore.bundle") {
        return Err(SignError::format(
            what,
            format!("mediaType {:?} is not a Sigstore bundle", raw.media_type.chars().take(80).collect::<String>()),
        ));
    }
    let material = raw.verification_material.unwrap_or_default();
    if !material.contains_key("publicKey") {
        return Err(SignError::format(
            what,
            "signed with a certificate, not a key: verify it keylessly against a trust root",
        ));
    }
    let Some(env) = raw.dsse_envelope else {
        let msg = if raw.message_signature.is_some() {
            "a messageSignature bundle; cosign signs images into a DSSE envelope"
        } else {
            "the bundle has no dsseEnvelope"
        };
        return Err(SignError::format(what, msg));
    };
    let env = Envelope::from_json(&json(&env)?, what)?;
    if env.payload_type != INTOTO_PAYLOAD_TYPE {
        return Err(SignError::format(
            what,
            format!(
                "DSSE payloadType {:?} is not {INTOTO_PAYLOAD_TYPE:?}",
                env.payload_type.chars().take(80).collect::<String>()
            ),
        ));
    }
    if let Err(e) = env.verify(key) {
        let hint = material.get("publicKey").and_then(|p| p.get("hint")).and_then(Value::as_str);
        let ours = STANDARD.encode(Sha256::digest(key.spki_der()));
        let whose = match hint {
            Some(h) if h != ours => " (its key hint names another key)",
            _ => " (wrong key, or the bundle was edited)",
        };
        return Err(SignError::BadSignature(format!("{what}: {e}{whose}")));
    }
    let st = Statement::parse(&env.payload, what)?;
    if !st.has_subject_digest(digest) {
        let named: Vec<String> =
            st.subjects.iter().flat_map(|s| s.digest.iter().map(|(a, h)| format!("{a}:{h}"))).collect();
        return Err(SignError::BadSignature(format!("{what}: signs {}, not this image's {digest}", named.join(", "))));
    }
    if st.predicate_type != SIGN_PREDICATE_TYPE {
        return Err(SignError::BadSignature(format!(
            "{what}: predicate type {:?} is an attestation, not a cosign image signature ({SIGN_PREDICATE_TYPE})",
            st.predicate_type.chars().take(120).collect::<String>()
        )));
    }
    Ok(st)
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:9494e567c7c44e8b9f8808c1658a47c9b7979ef3cceef10f48754fc2706802ba";

    #[test]
    fn statement_is_cosigns_shape() {
        let s = String::from_utf8(sign_statement(D, &Map::new()).unwrap()).unwrap();
        assert_eq!(
            s,
            r#"{"_type":"https://in-toto.io/Statement/v1","subject":[{"digest":{"sha256":"9494e567c7c44e8b9f8808c1658a47c9b7979ef3cceef10f48754fc2706802ba"},"annotations":{}}],"predicateType":"https://sigstore.dev/cosign/sign/v1","predicate":{}}"#
        );
        assert!(sign_statement("sha256:abc", &Map::new()).is_err());
    }

    #[test]
    fn bundle_round_trip_and_failures() {
        let k = keys::generate().unwrap();
        let other = keys::generate().unwrap();
        let env = Envelope::sign(INTOTO_PAYLOAD_TYPE, sign_statement(D, &Map::new()).unwrap(), &k, "").unwrap();
        let b = key_signed_bundle(&env, &key_hint(&k.public_key_pem()).unwrap());
        let v: Value = serde_json::from_slice(&b).unwrap();
        assert_eq!(v["mediaType"], BUNDLE_V03_MEDIA_TYPE);
        assert!(v["verificationMaterial"]["publicKey"]["hint"].as_str().unwrap().len() == 44);
        let st = verify_key_bundle(&b, k.public_key(), D, "b").unwrap();
        assert_eq!(st.predicate_type, SIGN_PREDICATE_TYPE);
        let e = verify_key_bundle(&b, other.public_key(), D, "b").unwrap_err().to_string();
        assert!(e.contains("another key"), "{e}");
        let d2 = format!("sha256:{}", "1".repeat(64));
        let e = verify_key_bundle(&b, k.public_key(), &d2, "b").unwrap_err().to_string();
        assert!(e.contains(D) && e.contains(&d2), "{e}");
        let e = verify_key_bundle(b"{", k.public_key(), D, "b").unwrap_err().to_string();
        assert!(e.contains("not a Sigstore bundle"), "{e}");
    }

    #[test]
    fn fallback_tag_form() {
        assert_eq!(fallback_tag(D), D.replace(':', "-"));
    }
}
