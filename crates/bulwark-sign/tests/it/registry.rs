//! Signatures, attestations and SBOMs in a real registry on loopback: Debian's
//! `docker-registry` (distribution 2.8, started per test by bulwark-testkit with its own
//! storage and port), fed with `skopeo copy` from the shared OCI layouts. Tampering is done by
//! hand over the registry's HTTP API (the testkit's raw client), independent of the code under
//! test.
//!
//! Without `docker-registry` or `skopeo` a test prints SKIPPED and passes, except under CI
//! (`CI` set), where it fails: `.ci/run` installs them, so a skip there would hide a gap.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use bulwark_sign::cosign::{self, SIGNATURE_ANNOTATION};
use bulwark_sign::keys::{generate, load_private_key, load_public_key};
use bulwark_sign::oci::{Attachment, RegistryOptions, Remote};
use bulwark_sign::{PrivateKey, SignError};
use bulwark_testkit::docker::sha256 as sha;
use bulwark_testkit::{docker_registry, DockerOptions, DockerRegistry, SharedDir};
use serde_json::{json, Value};

/// Manifest digests of the shared images (../shared/images/README.md).
const NODE: &str = "sha256:afe831cd21e07c7e05df6f359834d604c6af74d69569103a00a97fdbe18b27a7";
const RUST: &str = "sha256:69f0f4bb8a1b7711ea3bbeb19b57580a5cfacf3cc2284a0872d6a5473e8435f2";
const JAVA: &str = "sha256:efb227a4a1599a812f596071a2a92f56692096a197a3a3ea7e79e69e5f426f2b";
const COSIGN_KEYS: SharedDir = SharedDir("data/cosign/policy-controller-keys");
const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

/// docker-registry with manifest and blob DELETE enabled, and `auth` as its one account.
macro_rules! registry {
    () => {
        docker_registry!(DockerOptions::default().delete())
    };
    ($user:expr, $password:expr) => {
        docker_registry!(DockerOptions::default().delete().auth($user, $password))
    };
}

/// Plain HTTP allowed, with the registry's credentials (if any) in a config.json.
fn opts(reg: &DockerRegistry) -> RegistryOptions {
    RegistryOptions { allow_insecure: true, docker_config: Some(reg.auth_config()) }
}

/// A manifest's exact bytes, or `None` for 404.
fn raw_manifest(reg: &DockerRegistry, repo: &str, reference: &str) -> Option<Vec<u8>> {
    reg.get_manifest(repo, reference, &format!("{OCI_MANIFEST}, application/vnd.docker.distribution.manifest.v2+json"))
}

fn manifest(reg: &DockerRegistry, repo: &str, reference: &str) -> Value {
    let body = raw_manifest(reg, repo, reference).unwrap_or_else(|| panic!("no manifest {repo}:{reference}"));
    serde_json::from_slice(&body).unwrap()
}

/// Replaces layer `index` of the manifest under `tag` with `data`, keeping the layer's
/// media type and annotations (so the old signature stays beside new content).
fn replace_layer(reg: &DockerRegistry, repo: &str, tag: &str, index: usize, data: &[u8]) -> String {
    let mut m = manifest(reg, repo, tag);
    let digest = reg.put_blob(repo, data);
    m["layers"][index]["digest"] = json!(digest);
    m["layers"][index]["size"] = json!(data.len());
    reg.put_manifest(repo, tag, OCI_MANIFEST, &serde_json::to_vec(&m).unwrap());
    digest
}

/// `sha256-<hex>.<suffix>`.
fn tag(digest: &str, suffix: &str) -> String {
    format!("{}.{suffix}", digest.replacen(':', "-", 1))
}

fn key() -> PrivateKey {
    generate().unwrap()
}

fn err_text(e: SignError) -> String {
    let s = e.to_string();
    eprintln!("error as shown: {s}");
    s
}

/// What an authentication failure reads like (oci-client's words or the registry's).
fn is_auth_error(e: &str) -> bool {
    let lower = e.to_lowercase();
    ["401", "unauthorized", "not authorized", "authentication"].iter().any(|w| lower.contains(w))
}

/// The payload's `critical` as verify returned it.
fn critical(v: &cosign::VerifiedSignature) -> (&str, &str) {
    let c = &v.payload["critical"];
    (c["identity"]["docker-reference"].as_str().unwrap(), c["image"]["docker-manifest-digest"].as_str().unwrap())
}

const CYCLONEDX: &str = r#"{"bomFormat":"CycloneDX","specVersion":"1.6","version":1,"components":[{"type":"library","name":"lodash","version":"4.17.15","purl":"pkg:npm/lodash@4.17.15"}]}"#;

#[test]
fn sign_then_verify_and_signatures_accumulate() {
    let reg = registry!();
    reg.push("node-app", "team/app:1.0");
    let image = reg.image("team/app:1.0");
    let opts = opts(&reg);
    let (a, b) = (key(), key());

    let signed = cosign::sign(&image, &a, Default::default(), &opts).unwrap();
    assert_eq!(signed.digest, NODE, "the tag resolved to the image's manifest digest");
    assert_eq!(signed.location, format!("{}/team/app:{}", reg.host(), tag(NODE, "sig")));
    let ok = cosign::verify(&image, a.public_key(), &opts).unwrap();
    assert_eq!(ok.len(), 1);
    assert_eq!(critical(&ok[0]), (reg.image("team/app").as_str(), NODE));
    assert_eq!(ok[0].payload["critical"]["type"], "cosign container image signature");
    assert_eq!(ok[0].payload["optional"], Value::Null);

    // The layer as the registry holds it: cosign's media type, payload bytes, signature annotation.
    let m = manifest(&reg, "team/app", &tag(NODE, "sig"));
    assert_eq!(m["mediaType"], OCI_MANIFEST);
    let layer = &m["layers"][0];
    assert_eq!(layer["mediaType"], "application/vnd.dev.cosign.simplesigning.v1+json");
    assert_eq!(layer["digest"], ok[0].layer_digest.as_str());
    let payload = reg.get_blob("team/app", layer["digest"].as_str().unwrap());
    let want = format!(
        r#"{{"critical":{{"identity":{{"docker-reference":"{}/team/app"}},"image":{{"docker-manifest-digest":"{NODE}"}},"type":"cosign container image signature"}},"optional":null}}"#,
        reg.host()
    );
    assert_eq!(String::from_utf8(payload.clone()).unwrap(), want, "byte for byte what cosign signs");
    let sig = STANDARD.decode(layer["annotations"][SIGNATURE_ANNOTATION].as_str().unwrap()).unwrap();
    bulwark_sign::Verifier::verify(a.public_key(), &payload, &sig).unwrap();

    // A second signer accumulates on the same tag; each key verifies its own layer only.
    cosign::sign(&image, &b, Default::default(), &opts).unwrap();
    let m = reg.skopeo_manifest(&format!("team/app:{}", tag(NODE, "sig")));
    let layers = m["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 2, "{m}");
    let ok_a = cosign::verify(&image, a.public_key(), &opts).unwrap();
    let ok_b = cosign::verify(&image, b.public_key(), &opts).unwrap();
    assert_eq!((ok_a.len(), ok_b.len()), (1, 1));
    // Same payload bytes (same blob), told apart by their signature annotations.
    assert_eq!(ok_a[0].layer_digest, ok_b[0].layer_digest);
    assert_ne!(layers[0]["annotations"], layers[1]["annotations"]);

    // The same key again over the same payload: P-256 signing is deterministic (RFC 6979), so
    // the layer is identical and not added twice (cosign's DupeDetector gives the same result).
    let before = raw_manifest(&reg, "team/app", &tag(NODE, "sig")).unwrap();
    cosign::sign(&image, &a, Default::default(), &opts).unwrap();
    let after = raw_manifest(&reg, "team/app", &tag(NODE, "sig")).unwrap();
    let m: Value = serde_json::from_slice(&after).unwrap();
    assert_eq!(m["layers"].as_array().unwrap().len(), 2, "{m}");
    assert_eq!(serde_json::from_slice::<Value>(&before).unwrap()["layers"], m["layers"]);
    assert_eq!(cosign::verify(&image, a.public_key(), &opts).unwrap().len(), 1);
    assert_eq!(cosign::verify(&image, b.public_key(), &opts).unwrap().len(), 1);

    // Annotations land in `optional`, sorted as Go writes them.
    let mut ann = serde_json::Map::new();
    ann.insert("team".into(), json!("payments"));
    ann.insert("approved".into(), json!("yes"));
    cosign::sign(&image, &b, ann, &opts).unwrap();
    assert_eq!(manifest(&reg, "team/app", &tag(NODE, "sig"))["layers"].as_array().unwrap().len(), 3);
    let ok_b = cosign::verify(&image, b.public_key(), &opts).unwrap();
    assert_eq!(ok_b.len(), 2);
    assert!(ok_b.iter().any(|v| v.payload["optional"] == json!({"approved": "yes", "team": "payments"})));

    // Verify by digest reference, and by tag plus digest.
    let by_digest = reg.image(&format!("team/app@{NODE}"));
    let ok = cosign::verify(&by_digest, a.public_key(), &opts).unwrap();
    assert_eq!(ok.len(), 1);
    assert_eq!(critical(&ok[0]), (reg.image("team/app").as_str(), NODE));
    let ok = cosign::verify(&reg.image(&format!("team/app:1.0@{NODE}")), b.public_key(), &opts).unwrap();
    assert_eq!(ok.len(), 2);
}

#[test]
fn sign_by_digest_reference() {
    let reg = registry!();
    reg.push("rust-app", "team/rust:1.0");
    let opts = opts(&reg);
    let a = key();
    let signed = cosign::sign(&reg.image(&format!("team/rust@{RUST}")), &a, Default::default(), &opts).unwrap();
    assert_eq!(signed.digest, RUST);
    // The tag resolves to the same digest, so the signature is found through it too.
    let ok = cosign::verify(&reg.image("team/rust:1.0"), a.public_key(), &opts).unwrap();
    assert_eq!(critical(&ok[0]), (reg.image("team/rust").as_str(), RUST));
    // A digest that is not in the repository is an error naming it.
    let missing = "sha256:0000000000000000000000000000000000000000000000000000000000000000";
    let e = err_text(cosign::verify(&reg.image(&format!("team/rust@{missing}")), a.public_key(), &opts).unwrap_err());
    assert!(e.contains("no signatures found") && e.contains(missing), "{e}");
}

#[test]
fn wrong_key_and_missing_signature_tag() {
    let reg = registry!();
    reg.push("node-app", "team/app:1.0");
    reg.push("java-app", "team/java:1.0");
    let opts = opts(&reg);
    let (a, other) = (key(), key());
    let image = reg.image("team/app:1.0");
    cosign::sign(&image, &a, Default::default(), &opts).unwrap();

    let e = err_text(cosign::verify(&image, other.public_key(), &opts).unwrap_err());
    let layer = manifest(&reg, "team/app", &tag(NODE, "sig"))["layers"][0]["digest"].as_str().unwrap().to_string();
    assert!(e.contains("no valid signature for") && e.contains(NODE), "{e}");
    assert!(e.contains(&format!("signature 1 ({layer})")) && e.contains("wrong key"), "{e}");

    let e = err_text(cosign::verify(&reg.image("team/java:1.0"), a.public_key(), &opts).unwrap_err());
    assert!(e.contains("no signatures found") && e.contains(JAVA), "{e}");
    assert!(e.contains(&format!("{}/team/java:{} does not exist", reg.host(), tag(JAVA, "sig"))), "{e}");
    let e = err_text(cosign::verify_attestation(&image, a.public_key(), None, &opts).unwrap_err());
    assert!(e.contains("no attestations found") && e.contains(&tag(NODE, "att")), "{e}");

    // An image that does not exist at all.
    let e = err_text(cosign::verify(&reg.image("team/nothing:1.0"), a.public_key(), &opts).unwrap_err());
    assert!(e.contains("team/nothing:1.0"), "{e}");
    assert!(!e.contains("no signatures found"), "a missing image is not a missing signature: {e}");
}

#[test]
fn edited_payload_fails() {
    let reg = registry!();
    reg.push("node-app", "team/app:1.0");
    let opts = opts(&reg);
    let a = key();
    let image = reg.image("team/app:1.0");
    cosign::sign(&image, &a, Default::default(), &opts).unwrap();

    let sig_tag = tag(NODE, "sig");
    let m = manifest(&reg, "team/app", &sig_tag);
    let payload = reg.get_blob("team/app", m["layers"][0]["digest"].as_str().unwrap());
    let text = String::from_utf8(payload).unwrap();
    let edited = text.replace(r#""optional":null"#, r#""optional":{"approved":"yes"}"#);
    assert_ne!(edited, text);
    let new_layer = replace_layer(&reg, "team/app", &sig_tag, 0, edited.as_bytes());
    // The signature annotation was kept: only the payload changed.
    assert_eq!(manifest(&reg, "team/app", &sig_tag)["layers"][0]["annotations"], m["layers"][0]["annotations"]);

    let e = err_text(cosign::verify(&image, a.public_key(), &opts).unwrap_err());
    assert!(e.contains(&format!("signature 1 ({new_layer})")), "{e}");
    assert!(e.contains("does not verify") || e.contains("does not match"), "{e}");
    assert!(e.contains("the payload was edited"), "{e}");

    // A signature annotation that is not base64 is named as such.
    let mut m = manifest(&reg, "team/app", &sig_tag);
    m["layers"][0]["annotations"][SIGNATURE_ANNOTATION] = json!("not base64!");
    reg.put_manifest("team/app", &sig_tag, OCI_MANIFEST, &serde_json::to_vec(&m).unwrap());
    let e = err_text(cosign::verify(&image, a.public_key(), &opts).unwrap_err());
    assert!(e.contains("signature is not base64"), "{e}");
    // And one without the annotation.
    m["layers"][0]["annotations"] = json!({});
    reg.put_manifest("team/app", &sig_tag, OCI_MANIFEST, &serde_json::to_vec(&m).unwrap());
    let e = err_text(cosign::verify(&image, a.public_key(), &opts).unwrap_err());
    assert!(e.contains(&format!("no {SIGNATURE_ANNOTATION} annotation")), "{e}");
}

/// One unreadable `.sig` layer (a descriptor over the layer size limit, placed first) does not
/// hide a valid signature after it: it is one failed entry, named in the reasons.
#[test]
fn an_unreadable_sig_layer_does_not_hide_a_valid_one() {
    let reg = registry!();
    reg.push("node-app", "team/app:1.0");
    let opts = opts(&reg);
    let a = key();
    let image = reg.image("team/app:1.0");
    cosign::sign(&image, &a, Default::default(), &opts).unwrap();

    let sig_tag = tag(NODE, "sig");
    let mut m = manifest(&reg, "team/app", &sig_tag);
    let mut hostile = m["layers"][0].clone();
    hostile["size"] = json!(bulwark_sign::oci::MAX_LAYER + 1);
    let hostile_digest = hostile["digest"].as_str().unwrap().to_string();
    m["layers"].as_array_mut().unwrap().insert(0, hostile);
    reg.put_manifest("team/app", &sig_tag, OCI_MANIFEST, &serde_json::to_vec(&m).unwrap());

    let sigs = cosign::verify(&image, a.public_key(), &opts).unwrap();
    assert_eq!(sigs.len(), 1);
    assert_eq!(critical(&sigs[0]).1, NODE);
    // Alone, the hostile layer is the reason given.
    m["layers"].as_array_mut().unwrap().truncate(1);
    reg.put_manifest("team/app", &sig_tag, OCI_MANIFEST, &serde_json::to_vec(&m).unwrap());
    let e = err_text(cosign::verify(&image, a.public_key(), &opts).unwrap_err());
    assert!(e.contains(&format!("signature 1 ({hostile_digest})")) && e.contains("more than"), "{e}");
}

#[test]
fn signature_copied_to_another_image_fails() {
    let reg = registry!();
    reg.push("node-app", "team/app:1.0");
    reg.push("rust-app", "team/app:2.0");
    let opts = opts(&reg);
    let a = key();
    cosign::sign(&reg.image("team/app:1.0"), &a, Default::default(), &opts).unwrap();

    // The .sig manifest of image A, byte for byte, under the .sig tag of image B.
    let raw = raw_manifest(&reg, "team/app", &tag(NODE, "sig")).unwrap();
    assert!(raw_manifest(&reg, "team/app", &tag(RUST, "sig")).is_none());
    reg.put_manifest("team/app", &tag(RUST, "sig"), OCI_MANIFEST, &raw);

    let image_b = reg.image("team/app:2.0");
    let e = err_text(cosign::verify(&image_b, a.public_key(), &opts).unwrap_err());
    assert!(e.contains(&format!("signs {NODE}, not this image's {RUST}")), "{e}");
    assert!(e.contains("copied"), "{e}");
    // Image A still verifies.
    assert_eq!(cosign::verify(&reg.image("team/app:1.0"), a.public_key(), &opts).unwrap().len(), 1);

    // The same with skopeo, into another repository (the blobs travel with it).
    reg.push("rust-app", "other/rust:1.0");
    reg.skopeo_copy(
        &format!("docker://{}/team/app:{}", reg.host(), tag(NODE, "sig")),
        &format!("docker://{}/other/rust:{}", reg.host(), tag(RUST, "sig")),
    );
    let e = err_text(cosign::verify(&reg.image("other/rust:1.0"), a.public_key(), &opts).unwrap_err());
    assert!(e.contains(&format!("signs {NODE}, not this image's {RUST}")), "{e}");
}

#[test]
fn retagged_image_fails() {
    let reg = registry!();
    reg.push("node-app", "team/app:1.0");
    let opts = opts(&reg);
    let a = key();
    let image = reg.image("team/app:1.0");
    assert_eq!(cosign::sign(&image, &a, Default::default(), &opts).unwrap().digest, NODE);

    // Other content pushed over the signed tag.
    reg.push("java-app", "team/app:1.0");
    let e = err_text(cosign::verify(&image, a.public_key(), &opts).unwrap_err());
    assert!(e.contains("no signatures found") && e.contains(JAVA), "{e}");
    // The signed content is still there, and still verifies by digest.
    let ok = cosign::verify(&reg.image(&format!("team/app@{NODE}")), a.public_key(), &opts).unwrap();
    assert_eq!(critical(&ok[0]).1, NODE);

    // A signature for the new content by someone else does not help the old key.
    let b = key();
    cosign::sign(&image, &b, Default::default(), &opts).unwrap();
    let e = err_text(cosign::verify(&image, a.public_key(), &opts).unwrap_err());
    assert!(e.contains("no valid signature") && e.contains(JAVA) && e.contains("wrong key"), "{e}");
}

#[test]
fn attestations() {
    let reg = registry!();
    reg.push("node-app", "team/app:1.0");
    let opts = opts(&reg);
    let (a, other) = (key(), key());
    let image = reg.image("team/app:1.0");

    let signed = cosign::attest(&image, &a, "cyclonedx", CYCLONEDX.as_bytes(), &opts).unwrap();
    assert_eq!(signed.digest, NODE);
    assert_eq!(signed.location, format!("{}/team/app:{}", reg.host(), tag(NODE, "att")));

    let ok = cosign::verify_attestation(&image, a.public_key(), Some("cyclonedx"), &opts).unwrap();
    assert_eq!(ok.len(), 1);
    assert_eq!(ok[0].predicate_type, "https://cyclonedx.org/bom");
    assert_eq!(ok[0].predicate, serde_json::from_str::<Value>(CYCLONEDX).unwrap());
    assert_eq!(ok[0].subjects.len(), 1);
    assert_eq!(ok[0].subjects[0].name, reg.image("team/app"));
    assert_eq!(ok[0].subjects[0].digest["sha256"], NODE.strip_prefix("sha256:").unwrap());
    // Without --type any predicate type is accepted; by URI too.
    assert_eq!(cosign::verify_attestation(&image, a.public_key(), None, &opts).unwrap().len(), 1);
    let by_uri = cosign::verify_attestation(&image, a.public_key(), Some("https://cyclonedx.org/bom"), &opts);
    assert_eq!(by_uri.unwrap().len(), 1);

    // The layer: a DSSE envelope with cosign's annotations.
    let att_tag = tag(NODE, "att");
    let m = manifest(&reg, "team/app", &att_tag);
    let layer = &m["layers"][0];
    assert_eq!(layer["mediaType"], "application/vnd.dsse.envelope.v1+json");
    assert_eq!(layer["annotations"]["predicateType"], "https://cyclonedx.org/bom");
    assert_eq!(layer["annotations"][SIGNATURE_ANNOTATION], "");

    // Another predicate type is refused, naming both.
    let e = err_text(cosign::verify_attestation(&image, a.public_key(), Some("slsaprovenance"), &opts).unwrap_err());
    assert!(e.contains("no valid attestation") && e.contains(NODE), "{e}");
    assert!(e.contains("predicate type https://cyclonedx.org/bom is not https://slsa.dev/provenance/v0.2"), "{e}");
    // An unknown --type name is refused before any network access.
    let e = err_text(cosign::verify_attestation(&image, a.public_key(), Some("nonsense"), &opts).unwrap_err());
    assert!(e.contains("\"nonsense\" is neither one of"), "{e}");
    // The wrong key.
    let e = err_text(cosign::verify_attestation(&image, other.public_key(), None, &opts).unwrap_err());
    assert!(e.contains("attestation") && e.contains("does not"), "{e}");

    // A second attestation of another type accumulates; --type picks it.
    let slsa = br#"{"builder":{"id":"https://example.com/builder"},"buildType":"https://example.com/type"}"#;
    cosign::attest(&image, &a, "slsaprovenance", slsa, &opts).unwrap();
    assert_eq!(manifest(&reg, "team/app", &att_tag)["layers"].as_array().unwrap().len(), 2);
    let ok = cosign::verify_attestation(&image, a.public_key(), Some("slsaprovenance"), &opts).unwrap();
    assert_eq!(ok.len(), 1);
    assert_eq!(ok[0].predicate_type, "https://slsa.dev/provenance/v0.2");
    assert_eq!(cosign::verify_attestation(&image, a.public_key(), None, &opts).unwrap().len(), 2);

    // DSSE payloadType changed in the stored envelope (signature kept): refused, naming it.
    let m = manifest(&reg, "team/app", &att_tag);
    let envelope = reg.get_blob("team/app", m["layers"][0]["digest"].as_str().unwrap());
    let mut env: Value = serde_json::from_slice(&envelope).unwrap();
    assert_eq!(env["payloadType"], "application/vnd.in-toto+json");
    env["payloadType"] = json!("application/json");
    let new_layer = replace_layer(&reg, "team/app", &att_tag, 0, &serde_json::to_vec(&env).unwrap());
    let e = err_text(cosign::verify_attestation(&image, a.public_key(), Some("cyclonedx"), &opts).unwrap_err());
    assert!(e.contains(&format!("attestation 1 ({new_layer})")), "{e}");
    assert!(e.contains("payloadType \"application/json\" is not \"application/vnd.in-toto+json\""), "{e}");
    // The other attestation is untouched.
    assert_eq!(cosign::verify_attestation(&image, a.public_key(), None, &opts).unwrap().len(), 1);

    // The statement inside edited (subject moved to another digest), signature kept.
    let mut env: Value = serde_json::from_slice(&envelope).unwrap();
    let statement = STANDARD.decode(env["payload"].as_str().unwrap()).unwrap();
    let edited = String::from_utf8(statement).unwrap().replace(&NODE[7..], &JAVA[7..]);
    env["payload"] = json!(STANDARD.encode(edited));
    replace_layer(&reg, "team/app", &att_tag, 0, &serde_json::to_vec(&env).unwrap());
    let e = err_text(cosign::verify_attestation(&image, a.public_key(), Some("cyclonedx"), &opts).unwrap_err());
    assert!(e.contains("no valid attestation") && e.contains("does not match the key and message"), "{e}");
}

#[test]
fn triangulate_and_sbom_attachment() {
    let reg = registry!();
    reg.push("node-app", "team/app:1.0");
    let opts = opts(&reg);
    let image = reg.image("team/app:1.0");
    let hex = NODE.strip_prefix("sha256:").unwrap();
    for (kind, suffix) in [(Attachment::Signature, "sig"), (Attachment::Attestation, "att"), (Attachment::Sbom, "sbom")]
    {
        let want = format!("{}/team/app:sha256-{hex}.{suffix}", reg.host());
        assert_eq!(cosign::triangulate(&image, kind, &opts).unwrap(), want);
        let by_digest = reg.image(&format!("team/app@{NODE}"));
        assert_eq!(cosign::triangulate(&by_digest, kind, &opts).unwrap(), want);
    }

    let media_type = "application/vnd.cyclonedx+json";
    let location = cosign::attach_sbom(&image, CYCLONEDX.as_bytes().to_vec(), media_type, &opts).unwrap();
    assert_eq!(location, cosign::triangulate(&image, Attachment::Sbom, &opts).unwrap());
    let remote = Remote::connect(&image, &opts).unwrap();
    assert_eq!(remote.resolve().unwrap(), NODE);
    let layers = remote.layers(NODE, Attachment::Sbom).unwrap().unwrap();
    assert_eq!(layers.len(), 1);
    assert_eq!(layers[0].data, CYCLONEDX.as_bytes());
    assert_eq!(layers[0].descriptor.media_type, media_type);
    assert_eq!(layers[0].descriptor.digest.as_str(), sha(CYCLONEDX.as_bytes()));
    // skopeo sees the same thing.
    let m = reg.skopeo_manifest(&format!("team/app:sha256-{hex}.sbom"));
    assert_eq!(m["layers"][0]["mediaType"], media_type);
    assert_eq!(m["layers"][0]["digest"], sha(CYCLONEDX.as_bytes()).as_str());
    // Nothing else was attached.
    assert!(remote.layers(NODE, Attachment::Signature).unwrap().is_none());
    assert!(remote.layers(NODE, Attachment::Attestation).unwrap().is_none());

    // A stored blob whose bytes no longer match its digest is refused, naming the blob.
    let blob = reg
        .dir
        .path()
        .join("storage/docker/registry/v2/blobs/sha256")
        .join(&layers[0].descriptor.digest.hex()[..2])
        .join(layers[0].descriptor.digest.hex())
        .join("data");
    let mut bytes = std::fs::read(&blob).unwrap();
    bytes[0] = b'[';
    std::fs::write(&blob, bytes).unwrap();
    let e = err_text(remote.layers(NODE, Attachment::Sbom).unwrap_err());
    assert!(e.contains(layers[0].descriptor.digest.as_str()), "{e}");
    assert!(e.contains("does not match its digest") || e.contains("Invalid digest"), "{e}");
}

#[test]
fn cosign_written_key_files() {
    let reg = registry!();
    reg.push("java-app", "team/java:1.0");
    let opts = opts(&reg);
    let key_pem = std::fs::read(format!("{COSIGN_KEYS}/cosign.key")).unwrap();
    let pub_pem = std::fs::read(format!("{COSIGN_KEYS}/cosign.pub")).unwrap();
    let private = load_private_key(&key_pem, b"", "cosign.key").unwrap();
    let public = load_public_key(&pub_pem, "cosign.pub").unwrap();
    let image = reg.image("team/java:1.0");

    assert_eq!(cosign::sign(&image, &private, Default::default(), &opts).unwrap().digest, JAVA);
    let ok = cosign::verify(&image, &public, &opts).unwrap();
    assert_eq!(critical(&ok[0]), (reg.image("team/java").as_str(), JAVA));
    let e = err_text(cosign::verify(&image, key().public_key(), &opts).unwrap_err());
    assert!(e.contains("wrong key"), "{e}");

    cosign::attest(&image, &private, "cyclonedx", CYCLONEDX.as_bytes(), &opts).unwrap();
    assert_eq!(cosign::verify_attestation(&image, &public, Some("cyclonedx"), &opts).unwrap().len(), 1);
}

#[test]
fn basic_auth_from_a_docker_config() {
    let reg = registry!("bulwark", "s3cret-pass");
    reg.push("node-app", "team/app:1.0");
    let opts = opts(&reg);
    let a = key();
    let image = reg.image("team/app:1.0");

    let signed = cosign::sign(&image, &a, Default::default(), &opts).unwrap();
    assert_eq!(signed.digest, NODE);
    assert_eq!(cosign::verify(&image, a.public_key(), &opts).unwrap().len(), 1);
    cosign::attest(&image, &a, "cyclonedx", CYCLONEDX.as_bytes(), &opts).unwrap();
    assert_eq!(cosign::verify_attestation(&image, a.public_key(), None, &opts).unwrap().len(), 1);
    assert_eq!(manifest(&reg, "team/app", &tag(NODE, "sig"))["layers"].as_array().unwrap().len(), 1);

    // No credentials: refused, saying it is about authentication.
    let anonymous = RegistryOptions { allow_insecure: true, docker_config: Some(reg.docker_config("anon", "{}")) };
    let e = err_text(cosign::sign(&image, &a, Default::default(), &anonymous).unwrap_err());
    assert!(e.contains(&reg.host()), "names the registry: {e}");
    assert!(is_auth_error(&e), "{e}");
    let e = err_text(cosign::verify(&image, a.public_key(), &anonymous).unwrap_err());
    assert!(is_auth_error(&e), "{e}");

    // A wrong password: refused the same way, and nothing was added.
    let wrong = json!({"auths": {reg.host(): {"auth": STANDARD.encode("bulwark:wrong")}}});
    let wrong =
        RegistryOptions { allow_insecure: true, docker_config: Some(reg.docker_config("wrong", &wrong.to_string())) };
    let e = err_text(cosign::sign(&image, &a, Default::default(), &wrong).unwrap_err());
    assert!(is_auth_error(&e), "{e}");
    assert!(!e.contains("s3cret-pass") && !e.contains(&STANDARD.encode("bulwark:wrong")), "no secrets: {e}");
    assert_eq!(manifest(&reg, "team/app", &tag(NODE, "sig"))["layers"].as_array().unwrap().len(), 1);
}

#[test]
fn plain_http_needs_allow_insecure() {
    let reg = registry!();
    reg.push("node-app", "team/app:1.0");
    let a = key();
    let image = reg.image("team/app:1.0");
    let secure = RegistryOptions { allow_insecure: false, ..opts(&reg) };
    let e = err_text(cosign::sign(&image, &a, Default::default(), &secure).unwrap_err());
    assert!(e.contains(&reg.host()) && e.contains("https://"), "names the registry and says it tried HTTPS: {e}");
    // Nothing was written.
    assert!(raw_manifest(&reg, "team/app", &tag(NODE, "sig")).is_none());
    let e2 = err_text(cosign::verify(&image, a.public_key(), &secure).unwrap_err());
    assert!(e2.contains(&reg.host()), "{e2}");
    assert!(!e2.contains("no signatures found"), "a refused connection is not a missing signature: {e2}");
    // The same calls work once allowed.
    cosign::sign(&image, &a, Default::default(), &opts(&reg)).unwrap();
    assert_eq!(cosign::verify(&image, a.public_key(), &opts(&reg)).unwrap().len(), 1);
}

// Gaps found in src/ and reported, not fixed here: un-ignore each once fixed.

#[test]
fn plain_http_error_says_how_to_allow_it() {
    let reg = registry!();
    reg.push("node-app", "team/app:1.0");
    let secure = RegistryOptions { allow_insecure: false, ..opts(&reg) };
    let e = err_text(cosign::sign(&reg.image("team/app:1.0"), &key(), Default::default(), &secure).unwrap_err());
    assert!(e.contains("insecure"), "{e}");
}

#[test]
fn attestation_signature_failure_names_the_layer() {
    let reg = registry!();
    reg.push("node-app", "team/app:1.0");
    let opts = opts(&reg);
    let image = reg.image("team/app:1.0");
    cosign::attest(&image, &key(), "cyclonedx", CYCLONEDX.as_bytes(), &opts).unwrap();
    let e = err_text(cosign::verify_attestation(&image, key().public_key(), None, &opts).unwrap_err());
    let layer = manifest(&reg, "team/app", &tag(NODE, "att"))["layers"][0]["digest"].as_str().unwrap().to_string();
    assert!(e.contains(&format!("attestation 1 ({layer})")), "{e}");
}
