//! The cosign commands over a registry: sign, verify, attach sbom, attest,
//! verify-attestation, triangulate. Layout and formats are cosign's (see [`crate::oci`],
//! [`crate::payload`], [`crate::dsse`]), so either tool verifies what the other wrote.

use crate::bundle::{Artifact, Policy};
use crate::dsse::{self, Statement};
use crate::keyless::{self, LegacySignature};
use crate::oci::{Attachment, Layer, NewLayer, RegistryOptions, Remote};
use crate::payload::{self, SimpleSigning};
use crate::{SignError, Signer, Verifier};
use base64::Engine as _;
use std::collections::BTreeMap;

/// The annotation holding a layer's base64 signature.
pub const SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";
/// Attestation layers are DSSE envelopes.
pub const DSSE_MEDIA_TYPE: &str = "application/vnd.dsse.envelope.v1+json";
const PREDICATE_ANNOTATION: &str = "predicateType";

/// What `sign` did.
#[derive(Debug, Clone)]
pub struct Signed {
    /// The image digest that was signed (the tag, if any, resolved once).
    pub digest: String,
    /// Where the signature now lives, `repo:sha256-<hex>.sig`.
    pub location: String,
}

/// A signature that verified, with its payload.
#[derive(Debug, Clone)]
pub struct VerifiedSignature {
    pub payload: serde_json::Value,
    pub layer_digest: String,
}

/// `cosign sign --key`: signs the image's manifest digest and appends the signature to
/// `sha256-<hex>.sig`.
pub fn sign(
    image: &str,
    signer: &dyn Signer,
    annotations: serde_json::Map<String, serde_json::Value>,
    opts: &RegistryOptions,
) -> Result<Signed, SignError> {
    let remote = Remote::connect(image, opts)?;
    let digest = remote.resolve()?;
    let payload = SimpleSigning::new(&remote.repository(), &digest)?.with_annotations(annotations).to_json();
    let sig = signer.sign(&payload)?;
    let layer = NewLayer {
        media_type: payload::MEDIA_TYPE.into(),
        data: payload,
        annotations: BTreeMap::from([(
            SIGNATURE_ANNOTATION.to_string(),
            base64::engine::general_purpose::STANDARD.encode(sig),
        )]),
    };
    let location = remote.append(&digest, Attachment::Signature, layer)?;
    Ok(Signed { digest, location })
}

/// `cosign verify --key`: every signature under the image's `.sig` tag that verifies with
/// `verifier` and names this exact digest. An error (saying why each failed) if none does.
pub fn verify(
    image: &str,
    verifier: &dyn Verifier,
    opts: &RegistryOptions,
) -> Result<Vec<VerifiedSignature>, SignError> {
    verify_layers(image, Attachment::Signature, opts, |l, name, digest| {
        let sig = l.descriptor.annotations.get(SIGNATURE_ANNOTATION);
        let sig = sig.ok_or_else(|| format!("{name}: no {SIGNATURE_ANNOTATION} annotation"))?;
        let sig = base64::engine::general_purpose::STANDARD
            .decode(sig)
            .map_err(|_| format!("{name}: signature is not base64"))?;
        verifier.verify(&l.data, &sig).map_err(|e| format!("{name}: {e} (wrong key, or the payload was edited)"))?;
        let payload = payload_for(&l.data, name, digest).map_err(|e| format!("{name}: {e}"))?;
        Ok(VerifiedSignature { payload, layer_digest: l.descriptor.digest.to_string() })
    })
}

/// What `cosign verify --key` found over every place signatures live.
#[derive(Debug, Clone)]
pub struct KeyVerified {
    /// Each verified signature's payload: simple-signing JSON from the `.sig` tag, the in-toto
    /// statement of a Sigstore bundle.
    pub payloads: Vec<serde_json::Value>,
    /// Sources that could not be read (a hostile or broken `.sig` tag or referrer list), while
    /// another source verified.
    pub warnings: Vec<String>,
}

/// `cosign verify --key` over both places cosign keeps signatures: Sigstore bundles referring
/// to the image (v3) and the `sha256-<digest>.sig` tag (v1/v2). Any valid signature is enough:
/// a source that cannot be read (over a limit, malformed) becomes a warning, so that one
/// hostile entry cannot hide a valid signature elsewhere. When nothing verifies, the first
/// such error is returned (could not verify), else why each source failed (`BadSignature`).
pub fn verify_with_key(
    image: &str,
    public_key_pem: &str,
    opts: &crate::referrers::BundleVerifyOptions,
) -> Result<KeyVerified, SignError> {
    let key = crate::keys::load_public_key(public_key_pem.as_bytes(), "public key")?;
    let mut payloads = Vec::new();
    let mut why = Vec::new();
    let mut unreadable = Vec::new();
    match verify(image, &key, &opts.registry) {
        Ok(sigs) => payloads.extend(sigs.into_iter().map(|s| s.payload)),
        Err(SignError::BadSignature(w)) => why.push(w),
        Err(e) => unreadable.push(e),
    }
    match crate::referrers::verify_bundles(image, public_key_pem, opts) {
        Ok(found) => payloads.extend(
            found
                .into_iter()
                .map(|r| serde_json::from_slice(&r.statement.to_json()).unwrap_or(serde_json::Value::Null)),
        ),
        Err(SignError::BadSignature(w)) => why.push(w),
        Err(e) => unreadable.push(e),
    }
    if payloads.is_empty() {
        return match unreadable.into_iter().next() {
            Some(e) => Err(e),
            None => Err(SignError::BadSignature(why.join("; "))),
        };
    }
    Ok(KeyVerified { payloads, warnings: unreadable.iter().map(ToString::to_string).collect() })
}

/// The layers attached to `image` under `kind`, each checked by `check(layer, name, digest)`
/// (`name` like "signature 2 (sha256:…)"): the ones that pass, or an error listing why each
/// failed. The image's tag is resolved once; `check` sees that digest.
fn verify_layers<T>(
    image: &str,
    kind: Attachment,
    opts: &RegistryOptions,
    mut check: impl FnMut(&Layer, &str, &str) -> Result<T, String>,
) -> Result<Vec<T>, SignError> {
    let noun = match kind {
        Attachment::Attestation => "attestation",
        Attachment::Sbom => "SBOM",
        Attachment::Signature => "signature",
    };
    let remote = Remote::connect(image, opts)?;
    let digest = remote.resolve()?;
    let Some(manifest) = remote.manifest(&Remote::tag_for(&digest, kind))? else {
        return Err(SignError::BadSignature(format!(
            "no {noun}s found for {image} ({digest}): tag {} does not exist",
            remote.triangulate(&digest, kind)
        )));
    };
    let mut ok = Vec::new();
    let mut why = Vec::new();
    // Each layer fetched on its own: one unreadable layer (missing, oversized, not matching its
    // digest) is one failed entry, never a reason to ignore the others.
    for (i, descriptor) in manifest.layers.into_iter().enumerate() {
        let name = format!("{noun} {} ({})", i + 1, descriptor.digest);
        let l = match remote.blob(&descriptor) {
            Ok(data) => Layer { descriptor, data },
            Err(e) => {
                why.push(format!("{name}: {e}"));
                continue;
            }
        };
        match check(&l, &name, &digest) {
            Ok(v) => ok.push(v),
            Err(e) => why.push(e),
        }
    }
    if ok.is_empty() {
        return Err(SignError::BadSignature(format!("no valid {noun} for {image} ({digest}): {}", why.join("; "))));
    }
    Ok(ok)
}

/// A verified simple-signing payload, as JSON, when it names `digest`; else why not.
fn payload_for(data: &[u8], what: &str, digest: &str) -> Result<serde_json::Value, String> {
    let p = SimpleSigning::parse(data, what).map_err(|e| e.to_string())?;
    if p.manifest_digest != digest {
        return Err(format!(
            "signs {}, not this image's {digest} (the tag now points at other content, or the signature was copied)",
            p.manifest_digest
        ));
    }
    Ok(serde_json::from_slice(data).unwrap_or(serde_json::Value::Null))
}

/// The annotation holding a keyless signature's signing certificate (PEM).
pub const CERTIFICATE_ANNOTATION: &str = "dev.sigstore.cosign/certificate";
/// The annotation holding the certificate's intermediates and root (PEM).
pub const CHAIN_ANNOTATION: &str = "dev.sigstore.cosign/chain";
/// The annotation holding the Rekor bundle (`{SignedEntryTimestamp, Payload}`).
pub const BUNDLE_ANNOTATION: &str = "dev.sigstore.cosign/bundle";

/// `cosign verify --certificate-identity --certificate-oidc-issuer` (v1/v2 keyless layout):
/// every layer under the image's `.sig` tag whose certificate, chain and Rekor bundle
/// annotations verify offline against `policy` (see [`keyless::verify_legacy`]) and whose
/// payload names this exact digest. An error saying why each layer failed if none does.
pub fn verify_keyless(
    image: &str,
    policy: &Policy,
    opts: &RegistryOptions,
) -> Result<Vec<VerifiedSignature>, SignError> {
    verify_layers(image, Attachment::Signature, opts, |l, name, digest| {
        let payload = verify_keyless_layer(l, policy, digest).map_err(|e| format!("{name}: {e}"))?;
        Ok(VerifiedSignature { payload, layer_digest: l.descriptor.digest.to_string() })
    })
}

/// One `.sig` layer in the keyless layout: its payload when it verifies, else why not.
fn verify_keyless_layer(l: &Layer, policy: &Policy, digest: &str) -> Result<serde_json::Value, String> {
    let annotation = |key: &str| l.descriptor.annotations.get(key);
    let signature = annotation(SIGNATURE_ANNOTATION).ok_or_else(|| format!("no {SIGNATURE_ANNOTATION} annotation"))?;
    // Without a certificate the layer was signed with a key: only `--key` can verify it.
    let certificate = annotation(CERTIFICATE_ANNOTATION).filter(|c| !c.trim().is_empty()).ok_or_else(|| {
        format!("no {CERTIFICATE_ANNOTATION} annotation (a key-signed signature? verify it with --key)")
    })?;
    // Offline there is no Rekor to ask: the SET in the bundle is the transparency evidence.
    let rekor = annotation(BUNDLE_ANNOTATION)
        .filter(|b| !b.trim().is_empty())
        .ok_or_else(|| format!("no {BUNDLE_ANNOTATION} annotation (no Rekor entry to check the signature against)"))?;
    let sig = LegacySignature {
        signature_b64: signature,
        certificate_pem: Some(certificate.as_bytes()),
        chain_pem: annotation(CHAIN_ANNOTATION).map(|c| c.as_bytes()),
        rekor_bundle_json: rekor.as_bytes(),
    };
    keyless::verify_legacy(Artifact::Bytes(&l.data), &sig, policy).map_err(|e| e.to_string())?;
    payload_for(&l.data, "payload", digest)
}

/// `cosign attach sbom`: the SBOM as a layer of `sha256-<hex>.sbom`, with its media type.
pub fn attach_sbom(image: &str, sbom: Vec<u8>, media_type: &str, opts: &RegistryOptions) -> Result<String, SignError> {
    let remote = Remote::connect(image, opts)?;
    let digest = remote.resolve()?;
    remote.append(
        &digest,
        Attachment::Sbom,
        NewLayer { media_type: media_type.into(), data: sbom, annotations: BTreeMap::new() },
    )
}

/// `cosign attest --key --type --predicate`: an in-toto statement about the image digest in
/// a signed DSSE envelope, appended to `sha256-<hex>.att`.
pub fn attest(
    image: &str,
    signer: &dyn Signer,
    type_name: &str,
    predicate: &[u8],
    opts: &RegistryOptions,
) -> Result<Signed, SignError> {
    let remote = Remote::connect(image, opts)?;
    let digest = remote.resolve()?;
    let statement = dsse::build_statement(type_name, predicate, &remote.repository(), &digest, &dsse::rfc3339_now())?;
    let envelope = dsse::attest(&statement, signer)?;
    let layer = NewLayer {
        media_type: DSSE_MEDIA_TYPE.into(),
        data: envelope.to_json(),
        annotations: BTreeMap::from([
            (SIGNATURE_ANNOTATION.to_string(), String::new()),
            (PREDICATE_ANNOTATION.to_string(), statement.predicate_type.clone()),
        ]),
    };
    let location = remote.append(&digest, Attachment::Attestation, layer)?;
    Ok(Signed { digest, location })
}

/// `cosign verify-attestation --key [--type]`: every attestation that verifies, is about
/// this digest and (if asked) has the predicate type; an error saying why each failed if none.
pub fn verify_attestation(
    image: &str,
    verifier: &dyn Verifier,
    type_name: Option<&str>,
    opts: &RegistryOptions,
) -> Result<Vec<Statement>, SignError> {
    let want = type_name.map(dsse::predicate_type_uri).transpose()?;
    verify_layers(image, Attachment::Attestation, opts, |l, name, digest| {
        // The DSSE check names the layer itself.
        let st = dsse::verify_attestation(&l.data, verifier, name).map_err(|e| e.to_string())?;
        if !st.has_subject_digest(digest) {
            return Err(format!("{name}: its subject is not this image's {digest}"));
        }
        if let Some(w) = &want {
            if &st.predicate_type != w {
                return Err(format!("{name}: predicate type {} is not {w}", st.predicate_type));
            }
        }
        Ok(st)
    })
}

/// `cosign triangulate [--type]`: where the signature (attestation, SBOM) of the image lives.
pub fn triangulate(image: &str, kind: Attachment, opts: &RegistryOptions) -> Result<String, SignError> {
    let remote = Remote::connect(image, opts)?;
    let digest = remote.resolve()?;
    Ok(remote.triangulate(&digest, kind))
}
