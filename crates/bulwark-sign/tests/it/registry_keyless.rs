//! Keyless signatures in cosign's v1/v2 `.sig` layout, in a real registry on loopback
//! (Debian's `docker-registry`, fed by `skopeo` from the shared OCI layouts). The test is its
//! own Sigstore: a CA (Fulcio) issues a leaf with an email SAN and the OIDC issuer extension,
//! a P-256 key (Rekor) signs the SET, and the layer carries what cosign writes: signature,
//! certificate, chain and Rekor bundle annotations over the simple-signing payload.
//!
//! Without `docker-registry` or `skopeo` a test prints SKIPPED and passes, except under CI
//! (`CI` set), where it fails: `.ci/run` installs them, so a skip there would hide a gap.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

use base64::Engine as _;
use bulwark_sign::bundle::{Match, Policy, TrustRoot};
use bulwark_sign::cosign::{self, BUNDLE_ANNOTATION, CERTIFICATE_ANNOTATION, CHAIN_ANNOTATION, SIGNATURE_ANNOTATION};
use bulwark_sign::oci::{Attachment, NewLayer, RegistryOptions, Remote};
use bulwark_sign::payload::{self, SimpleSigning};
use bulwark_sign::SignError;
use bulwark_testkit::sigstore::{email, short_lived, Ca, IssuerExt, Leaf, Rekor, SigningKey, EMAIL, ISSUER};
use bulwark_testkit::{docker_registry, DockerRegistry};
use std::collections::BTreeMap;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;
/// Manifest digests of the shared images (../shared/images/README.md).
const NODE: &str = "sha256:afe831cd21e07c7e05df6f359834d604c6af74d69569103a00a97fdbe18b27a7";
const RUST: &str = "sha256:69f0f4bb8a1b7711ea3bbeb19b57580a5cfacf3cc2284a0872d6a5473e8435f2";

/// Plain HTTP, and an empty Docker config so that the tester's `~/.docker` plays no part.
fn opts(reg: &DockerRegistry) -> RegistryOptions {
    RegistryOptions { allow_insecure: true, docker_config: Some(reg.auth_config()) }
}

// --- The test Sigstore (bulwark-testkit's, as in keyless.rs). ---

struct World {
    ca: Ca,
    rekor: Rekor,
    leaf: Leaf,
    root: TrustRoot,
}

fn world() -> World {
    let ca = Ca::new("test fulcio");
    let rekor = Rekor::new();
    let root = TrustRoot::from_files(ca.pem().as_bytes(), rekor.pem().as_bytes(), None).unwrap();
    // Fulcio's ten-minute leaf for `EMAIL`, with both issuer extensions.
    let leaf = ca.leaf(email(EMAIL), ISSUER, IssuerExt::Both, short_lived());
    World { ca, rekor, leaf, root }
}

fn policy(w: &World, identity: &str, issuer: &str) -> Policy {
    Policy::keyless(w.root.clone(), Match::exact(identity), Match::exact(issuer))
}

/// What `cosign sign` (v1/v2, keyless) pushes for `digest`: the simple-signing payload as the
/// layer, signed by the leaf, logged as a hashedrekord entry whose SET `set_key` signs.
fn keyless_layer(w: &World, repository: &str, digest: &str, set_key: &SigningKey) -> NewLayer {
    let data = SimpleSigning::new(repository, digest).unwrap().to_json();
    let signature_b64 = B64.encode(w.leaf.key.sign(&data).unwrap().as_bytes());
    let bundle = w.rekor.bundle(&data, &signature_b64, &w.leaf.pem, 4242, set_key);
    NewLayer {
        media_type: payload::MEDIA_TYPE.into(),
        data,
        annotations: BTreeMap::from([
            (SIGNATURE_ANNOTATION.to_string(), signature_b64),
            (CERTIFICATE_ANNOTATION.to_string(), w.leaf.pem.clone()),
            (CHAIN_ANNOTATION.to_string(), w.ca.pem()),
            (BUNDLE_ANNOTATION.to_string(), bundle.to_string()),
        ]),
    }
}

/// Pushes node-app as `team/app:1.0` with a keyless signature whose SET `set_key` signs.
fn signed_node_app(reg: &DockerRegistry, w: &World, set_key: &SigningKey) -> (String, Remote) {
    let image = reg.push("node-app", "team/app:1.0");
    let remote = Remote::connect(&image, &opts(reg)).unwrap();
    assert_eq!(remote.resolve().unwrap(), NODE);
    let layer = keyless_layer(w, &remote.repository(), NODE, set_key);
    remote.append(NODE, Attachment::Signature, layer).unwrap();
    (image, remote)
}

fn err_text(e: SignError) -> String {
    let s = e.to_string();
    eprintln!("error as shown: {s}");
    s
}

#[test]
fn keyless_signature_verifies_with_identity_and_issuer() {
    let reg = docker_registry!();
    let w = world();
    let (image, _) = signed_node_app(&reg, &w, &w.rekor.key);
    let ok = cosign::verify_keyless(&image, &policy(&w, EMAIL, ISSUER), &opts(&reg)).unwrap();
    assert_eq!(ok.len(), 1);
    assert_eq!(ok[0].payload["critical"]["image"]["docker-manifest-digest"], NODE);
    assert!(ok[0].layer_digest.starts_with("sha256:"));
    // By digest too, and with regular expressions for the claims.
    let regex = Policy::keyless(
        w.root.clone(),
        Match::regex(r"@example\.com$").unwrap(),
        Match::regex(r"^https://accounts\.example\.com$").unwrap(),
    );
    let by_digest = reg.image(&format!("team/app@{NODE}"));
    assert_eq!(cosign::verify_keyless(&by_digest, &regex, &opts(&reg)).unwrap().len(), 1);
}

#[test]
fn wrong_identity_or_issuer_fails() {
    let reg = docker_registry!();
    let w = world();
    let (image, _) = signed_node_app(&reg, &w, &w.rekor.key);
    let e = err_text(
        cosign::verify_keyless(&image, &policy(&w, "someone-else@example.com", ISSUER), &opts(&reg)).unwrap_err(),
    );
    assert!(e.contains("no valid signature") && e.contains(NODE), "{e}");
    assert!(e.contains("signature 1 (sha256:") && e.contains("identity mismatch"), "{e}");
    let e = err_text(
        cosign::verify_keyless(&image, &policy(&w, EMAIL, "https://token.actions.githubusercontent.com"), &opts(&reg))
            .unwrap_err(),
    );
    assert!(e.contains("signature 1 (sha256:") && e.contains("issuer mismatch"), "{e}");

    // A trust root with another CA does not vouch for the leaf.
    let other = Ca::new("another CA");
    let root = TrustRoot::from_files(other.pem().as_bytes(), w.rekor.pem().as_bytes(), None).unwrap();
    let e = err_text(
        cosign::verify_keyless(&image, &Policy::keyless(root, Match::exact(EMAIL), Match::exact(ISSUER)), &opts(&reg))
            .unwrap_err(),
    );
    assert!(e.contains("does not chain to a trusted CA"), "{e}");
}

#[test]
fn set_signed_by_another_key_fails() {
    let reg = docker_registry!();
    let w = world();
    let impostor = SigningKey::generate_ecdsa_p256().unwrap();
    let (image, _) = signed_node_app(&reg, &w, &impostor);
    let e = err_text(cosign::verify_keyless(&image, &policy(&w, EMAIL, ISSUER), &opts(&reg)).unwrap_err());
    assert!(e.contains("signed entry timestamp (SET) does not verify"), "{e}");
}

#[test]
fn signature_moved_to_another_image_fails() {
    let reg = docker_registry!();
    let w = world();
    let (_, remote) = signed_node_app(&reg, &w, &w.rekor.key);
    let other = reg.push("rust-app", "team/app:2.0");
    // node-app's signature layer, annotations and all, under rust-app's .sig tag.
    let layer = keyless_layer(&w, &remote.repository(), NODE, &w.rekor.key);
    remote.append(RUST, Attachment::Signature, layer).unwrap();
    let e = err_text(cosign::verify_keyless(&other, &policy(&w, EMAIL, ISSUER), &opts(&reg)).unwrap_err());
    assert!(e.contains(&format!("signs {NODE}, not this image's {RUST}")), "{e}");
    // Unsigned image: says the tag is missing.
    let java = reg.push("java-app", "team/java:1.0");
    let e = err_text(cosign::verify_keyless(&java, &policy(&w, EMAIL, ISSUER), &opts(&reg)).unwrap_err());
    assert!(e.contains("no signatures found"), "{e}");
}

#[test]
fn key_signed_and_bare_layers_are_named_and_skipped() {
    let reg = docker_registry!();
    let w = world();
    let (image, remote) = signed_node_app(&reg, &w, &w.rekor.key);
    // A key-signed layer beside it (cosign sign --key, no certificate) does not count, nor
    // spoil the keyless one.
    let key = bulwark_sign::keys::generate().unwrap();
    cosign::sign(&image, &key, Default::default(), &opts(&reg)).unwrap();
    assert_eq!(cosign::verify_keyless(&image, &policy(&w, EMAIL, ISSUER), &opts(&reg)).unwrap().len(), 1);

    // Under another image, a key-signed layer and a certificate without a Rekor bundle:
    // both fail, each named with its reason.
    let other = reg.push("rust-app", "team/app:2.0");
    cosign::sign(&other, &key, Default::default(), &opts(&reg)).unwrap();
    let mut layer = keyless_layer(&w, &remote.repository(), RUST, &w.rekor.key);
    layer.annotations.remove(BUNDLE_ANNOTATION);
    remote.append(RUST, Attachment::Signature, layer).unwrap();
    let e = err_text(cosign::verify_keyless(&other, &policy(&w, EMAIL, ISSUER), &opts(&reg)).unwrap_err());
    assert!(e.contains("signature 1 (sha256:") && e.contains(&format!("no {CERTIFICATE_ANNOTATION}")), "{e}");
    assert!(e.contains("signature 2 (sha256:") && e.contains(&format!("no {BUNDLE_ANNOTATION}")), "{e}");
}
