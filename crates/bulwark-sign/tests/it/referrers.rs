//! cosign v3's bundle layout on a real registry: Debian's `docker-registry` (distribution 2.8,
//! which has no referrers API, so the referrers tag schema is what makes bundles findable),
//! started per test on loopback by bulwark-testkit and fed with `skopeo copy` from the shared
//! OCI layouts.
//! Without the tools each test says SKIPPED, unless `CI` is set: then it fails.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use base64::Engine as _;
use bulwark_sign::bundle::BUNDLE_V03_MEDIA_TYPE;
use bulwark_sign::oci::RegistryOptions;
use bulwark_sign::referrers::{self, BundleVerifyOptions};
use bulwark_sign::{keys, Signer as _};
use bulwark_testkit::docker::sha256 as sha;
use bulwark_testkit::{docker_registry, DockerRegistry};
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};

const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

/// Plain HTTP, and an empty Docker config so that the tester's `~/.docker` plays no part.
fn opts(reg: &DockerRegistry) -> RegistryOptions {
    RegistryOptions { allow_insecure: true, docker_config: Some(reg.auth_config()) }
}

fn verify_opts(reg: &DockerRegistry) -> BundleVerifyOptions {
    BundleVerifyOptions { registry: opts(reg), trust_root: None }
}

fn manifest_digest(reg: &DockerRegistry, repo: &str, tag: &str) -> String {
    sha(&reg.get_manifest(repo, tag, OCI_MANIFEST).unwrap())
}

fn fallback_index(reg: &DockerRegistry, repo: &str, digest: &str) -> Value {
    let body = reg
        .get_manifest(repo, &digest.replace(':', "-"), OCI_INDEX)
        .unwrap_or_else(|| panic!("no fallback tag for {digest}"));
    serde_json::from_slice(&body).unwrap()
}

#[test]
fn sign_then_verify_through_the_fallback_tag() {
    let reg = docker_registry!();
    reg.push("node-app", "team/app:v1");
    let image = format!("{}/team/app:v1", reg.host());
    let digest = manifest_digest(&reg, "team/app", "v1");
    let key = keys::generate().unwrap();

    let signed = referrers::sign_bundle(&image, &key, serde_json::Map::new(), &opts(&reg)).unwrap();
    assert_eq!(signed.digest, digest);
    let (_, referrer_digest) = signed.location.split_once('@').unwrap();

    // The fallback tag: an OCI index listing the referrer, with its artifact type.
    let index = fallback_index(&reg, "team/app", &digest);
    assert_eq!(index["mediaType"], OCI_INDEX);
    let m = index["manifests"].as_array().unwrap();
    assert_eq!(m.len(), 1);
    assert_eq!(m[0]["artifactType"], BUNDLE_V03_MEDIA_TYPE);
    assert_eq!(m[0]["digest"], referrer_digest);
    assert_eq!(m[0]["annotations"]["dev.sigstore.bundle.predicateType"], "https://sigstore.dev/cosign/sign/v1");

    // The referrer manifest as cosign writes it.
    let body = reg.get_manifest("team/app", referrer_digest, OCI_MANIFEST).unwrap();
    let manifest: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(manifest["artifactType"], BUNDLE_V03_MEDIA_TYPE);
    assert_eq!(manifest["config"]["mediaType"], "application/vnd.oci.empty.v1+json");
    assert_eq!(manifest["config"]["size"], 2);
    assert_eq!(manifest["subject"]["digest"], digest.as_str());
    assert_eq!(manifest["subject"]["mediaType"], OCI_MANIFEST);
    assert_eq!(manifest["annotations"]["dev.sigstore.bundle.content"], "dsse-envelope");
    let layer = &manifest["layers"][0];
    assert_eq!(layer["mediaType"], BUNDLE_V03_MEDIA_TYPE);
    let bundle: Value = serde_json::from_slice(&reg.get_blob("team/app", layer["digest"].as_str().unwrap())).unwrap();
    let hint = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(key.public_key().spki_der()));
    assert_eq!(bundle["verificationMaterial"]["publicKey"]["hint"], hint.as_str());
    assert_eq!(bundle["dsseEnvelope"]["payloadType"], "application/vnd.in-toto+json");

    let ok = referrers::verify_bundles(&image, &key.public_key_pem(), &verify_opts(&reg)).unwrap();
    assert_eq!(ok.len(), 1);
    assert_eq!(ok[0].manifest_digest, referrer_digest);
    assert!(ok[0].statement.has_subject_digest(&digest));
    assert!(!ok[0].tlog_verified);
}

#[test]
fn signatures_accumulate_and_keys_are_told_apart() {
    let reg = docker_registry!();
    reg.push("node-app", "team/app:v1");
    let image = format!("{}/team/app:v1", reg.host());
    let digest = manifest_digest(&reg, "team/app", "v1");
    let (k1, k2, k3) = (keys::generate().unwrap(), keys::generate().unwrap(), keys::generate().unwrap());
    referrers::sign_bundle(&image, &k1, serde_json::Map::new(), &opts(&reg)).unwrap();
    referrers::sign_bundle(&image, &k2, serde_json::Map::new(), &opts(&reg)).unwrap();

    let index = fallback_index(&reg, "team/app", &digest);
    let m = index["manifests"].as_array().unwrap();
    assert_eq!(m.len(), 2, "{index}");
    assert_ne!(m[0]["digest"], m[1]["digest"]);
    assert!(m.iter().all(|e| e["artifactType"] == BUNDLE_V03_MEDIA_TYPE));

    for k in [&k1, &k2] {
        let ok = referrers::verify_bundles(&image, &k.public_key_pem(), &verify_opts(&reg)).unwrap();
        assert_eq!(ok.len(), 1);
    }
    let e = referrers::verify_bundles(&image, &k3.public_key_pem(), &verify_opts(&reg)).unwrap_err().to_string();
    assert!(e.contains("no valid Sigstore bundle") && e.contains("another key"), "{e}");
    assert!(e.contains("referrer 1 (") && e.contains("referrer 2 ("), "{e}");
}

#[test]
fn a_bundle_copied_to_another_image_fails_naming_the_digest() {
    let reg = docker_registry!();
    reg.push("node-app", "team/app:a");
    reg.push("python-app", "team/app:b");
    let (a, b) = (manifest_digest(&reg, "team/app", "a"), manifest_digest(&reg, "team/app", "b"));
    assert_ne!(a, b);
    let key = keys::generate().unwrap();
    referrers::sign_bundle(&format!("{}/team/app:a", reg.host()), &key, serde_json::Map::new(), &opts(&reg)).unwrap();
    let index = reg.get_manifest("team/app", &a.replace(':', "-"), OCI_INDEX).unwrap();
    reg.put_manifest("team/app", &b.replace(':', "-"), OCI_INDEX, &index);

    let image_b = format!("{}/team/app:b", reg.host());
    let e = referrers::verify_bundles(&image_b, &key.public_key_pem(), &verify_opts(&reg)).unwrap_err().to_string();
    assert!(e.contains(&format!("its subject is {a}, not this image's {b}")), "{e}");
    // Image A itself still verifies.
    referrers::verify_bundles(&format!("{}/team/app:a", reg.host()), &key.public_key_pem(), &verify_opts(&reg))
        .unwrap();
}

#[test]
fn a_tampered_bundle_fails() {
    let reg = docker_registry!();
    reg.push("node-app", "team/app:v1");
    let image = format!("{}/team/app:v1", reg.host());
    let digest = manifest_digest(&reg, "team/app", "v1");
    let key = keys::generate().unwrap();
    let signed = referrers::sign_bundle(&image, &key, serde_json::Map::new(), &opts(&reg)).unwrap();
    let (_, referrer) = signed.location.split_once('@').unwrap();

    // Edit the signed statement (an annotation added to the subject) and re-push the bundle,
    // its manifest and the index, so only the signature can tell.
    let mut manifest: Value =
        serde_json::from_slice(&reg.get_manifest("team/app", referrer, OCI_MANIFEST).unwrap()).unwrap();
    let layer_digest = manifest["layers"][0]["digest"].as_str().unwrap().to_string();
    let mut bundle: Value = serde_json::from_slice(&reg.get_blob("team/app", &layer_digest)).unwrap();
    let b64 = base64::engine::general_purpose::STANDARD;
    let payload = b64.decode(bundle["dsseEnvelope"]["payload"].as_str().unwrap()).unwrap();
    let edited = String::from_utf8(payload).unwrap().replace(r#""annotations":{}"#, r#""annotations":{"env":"prod"}"#);
    assert!(edited.contains("prod"));
    bundle["dsseEnvelope"]["payload"] = json!(b64.encode(edited));
    let data = serde_json::to_vec(&bundle).unwrap();
    let new_layer = reg.put_blob("team/app", &data);
    manifest["layers"][0]["digest"] = json!(new_layer);
    manifest["layers"][0]["size"] = json!(data.len());
    let body = serde_json::to_vec(&manifest).unwrap();
    let new_manifest = sha(&body);
    reg.put_manifest("team/app", &new_manifest, OCI_MANIFEST, &body);
    let mut index = fallback_index(&reg, "team/app", &digest);
    index["manifests"][0]["digest"] = json!(new_manifest);
    index["manifests"][0]["size"] = json!(body.len());
    reg.put_manifest("team/app", &digest.replace(':', "-"), OCI_INDEX, &serde_json::to_vec(&index).unwrap());

    let e = referrers::verify_bundles(&image, &key.public_key_pem(), &verify_opts(&reg)).unwrap_err().to_string();
    assert!(e.contains(&new_manifest) && e.contains("does not match"), "{e}");
}
