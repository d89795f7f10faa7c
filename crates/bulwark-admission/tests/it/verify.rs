//! Image verification at admission against a real registry on loopback (Debian's
//! `docker-registry`, fed with skopeo from the shared OCI layouts), images signed with
//! bulwark-sign: signed images admitted and pinned to their digest, unsigned, other-key and
//! moved-tag images denied with messages naming key and digest, the seed's policies with test
//! keys, 100 concurrent reviews sharing one verification, a registry down or hanging answered
//! within the deadline.
//!
//! Without `docker-registry` or `skopeo` a test prints SKIPPED and passes, except under CI.

use bulwark_admission::decide::namespace_labels;
use bulwark_admission::verify::VerifyOptions;
use bulwark_admission::{review, Admission, ImageRules, ImageSettings, ImageVerifier};
use bulwark_policy::pss::PodSecurityConfiguration;
use bulwark_sign::keys::generate;
use bulwark_sign::oci::RegistryOptions;
use bulwark_sign::PrivateKey;
use bulwark_testkit::{docker_registry, DockerRegistry};
use serde_json::{json, Value};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Manifest digests of the shared images (../shared/images/README.md).
const NODE: &str = "sha256:afe831cd21e07c7e05df6f359834d604c6af74d69569103a00a97fdbe18b27a7";
const RUST: &str = "sha256:69f0f4bb8a1b7711ea3bbeb19b57580a5cfacf3cc2284a0872d6a5473e8435f2";

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

fn registry_opts(reg: &DockerRegistry) -> RegistryOptions {
    RegistryOptions { allow_insecure: true, docker_config: Some(reg.auth_config()) }
}

fn sign(reg: &DockerRegistry, image: &str, key: &PrivateKey) -> String {
    bulwark_sign::cosign::sign(image, key, Default::default(), &registry_opts(reg)).unwrap().digest
}

/// The seed's `require-signature` ClusterImagePolicy, its glob and key replaced by test ones.
fn require_signature(glob: &str, key: &PrivateKey) -> String {
    let pem = key.public_key().to_pem();
    let indented: String = pem.lines().map(|l| format!("          {l}\n")).collect();
    format!(
        "apiVersion: policy.sigstore.dev/v1beta1
kind: ClusterImagePolicy
metadata:
  name: require-signature
spec:
  images:
    - glob: \"{glob}\"
  authorities:
    - key:
        data: |
{indented}"
    )
}

/// The seed's `verify-image-signature` Kyverno ClusterPolicy, with a test key and registry.
fn verify_image_signature(reference: &str, key: &PrivateKey) -> String {
    let pem = key.public_key().to_pem();
    let indented: String = pem.lines().map(|l| format!("                      {l}\n")).collect();
    format!(
        "apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: verify-image-signature
spec:
  validationFailureAction: Enforce
  webhookTimeoutSeconds: 30
  rules:
    - name: verify-signature
      match:
        any:
          - resources:
              kinds:
                - Pod
      verifyImages:
        - imageReferences:
            - \"{reference}\"
          attestors:
            - count: 1
              entries:
                - keys:
                    publicKeys: |-
{indented}"
    )
}

fn compile(yaml: &str) -> Vec<Box<dyn bulwark_policy::Policy>> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("policy.yaml");
    std::fs::write(&path, yaml).unwrap();
    let docs: Vec<bulwark_policy::Document> =
        bulwark_policy::resource::read_paths(&[path]).map(|d| d.unwrap()).collect();
    bulwark_policy::dialect::compile(&docs).unwrap()
}

/// `production` opts in to policy-controller's policies; `other` does not.
fn namespaces() -> bulwark_admission::NamespaceLabels {
    namespace_labels(&[
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "production", "labels": {"policy.sigstore.dev/include": "true"}}}),
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "other"}}),
    ])
}

fn admission(policies: Vec<Box<dyn bulwark_policy::Policy>>, opts: VerifyOptions) -> Admission {
    Admission::new(policies, PodSecurityConfiguration::default(), namespaces(), ImageRules::default())
        .with_verifier(Arc::new(ImageVerifier::new(opts)))
}

fn verify_opts(reg: &DockerRegistry) -> VerifyOptions {
    VerifyOptions { registry: registry_opts(reg), ..Default::default() }
}

fn pod_review(namespace: &str, images: &[&str]) -> review::Review {
    let containers: Vec<Value> =
        images.iter().enumerate().map(|(i, im)| json!({"name": format!("c{i}"), "image": im})).collect();
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": namespace},
        "spec": {"containers": containers}});
    review_of(namespace, pod)
}

fn review_of(namespace: &str, object: Value) -> review::Review {
    let kind = object["kind"].clone();
    let group = if kind == "Pod" { "" } else { "apps" };
    let body = json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
        "uid": "u1", "operation": "CREATE", "namespace": namespace,
        "kind": {"group": group, "version": "v1", "kind": kind}, "object": object}});
    review::parse(body.to_string().as_bytes()).unwrap()
}

#[test]
fn require_signature_admits_signed_pins_digest_and_denies_unsigned_other_key_and_moved_tag() {
    let reg = docker_registry!();
    let app = reg.push("node-app", "team/app:v1");
    let unsigned = reg.push("rust-app", "team/unsigned:v1");
    let other = reg.push("rust-app", "team/other:v1");
    let (good, bad) = (generate().unwrap(), generate().unwrap());
    assert_eq!(sign(&reg, &app, &good), NODE);
    assert_eq!(sign(&reg, &other, &bad), RUST);
    let a = admission(compile(&require_signature(&format!("{}/**", reg.host()), &good)), verify_opts(&reg));
    let rt = rt();

    // Signed: admitted, and /mutate pins the tag to the verified digest.
    let r = pod_review("production", &[&app]);
    let v = rt.block_on(a.decide(&r));
    assert!(v.allowed, "{}", v.message);
    let m = rt.block_on(a.mutate(&r));
    assert!(m.allowed, "{}", m.message);
    assert_eq!(
        m.patch,
        vec![json!({"op": "replace", "path": "/spec/containers/0/image", "value": format!("{app}@{NODE}")})]
    );
    let out = review::response(&r, &m);
    assert_eq!(out["response"]["patchType"], "JSONPatch");

    // The pinned image (as /validate sees it after /mutate) is admitted, with no further pin.
    let pinned = format!("{app}@{NODE}");
    let r2 = pod_review("production", &[&pinned]);
    assert!(rt.block_on(a.decide(&r2)).allowed);
    assert!(rt.block_on(a.mutate(&r2)).patch.is_empty());

    // Unsigned: denied, naming the authority, the repository and the digest.
    let v = rt.block_on(a.decide(&pod_review("production", &[&unsigned])));
    assert!(!v.allowed);
    let want = format!("no signature by key authority-0 on {}/team/unsigned@{RUST}", reg.host());
    assert!(v.message.contains(&want), "{}", v.message);
    assert!(v.message.starts_with("require-signature/spec.containers[0].image: container \"c0\""), "{}", v.message);
    let m = rt.block_on(a.mutate(&pod_review("production", &[&unsigned])));
    assert!(!m.allowed && m.patch.is_empty());

    // Signed by another key: denied.
    let v = rt.block_on(a.decide(&pod_review("production", &[&other])));
    assert!(!v.allowed);
    assert!(
        v.message.contains(&format!("no signature by key authority-0 on {}/team/other@{RUST}", reg.host())),
        "{}",
        v.message
    );

    // One good image and one bad: denied for the bad one only.
    let v = rt.block_on(a.decide(&pod_review("production", &[&app, &unsigned])));
    assert!(!v.allowed);
    assert!(!v.message.contains("containers[0]"), "{}", v.message);
    assert!(v.message.contains("containers[1]"), "{}", v.message);

    // A namespace without policy-controller's opt-in label: the policy does not apply.
    assert!(rt.block_on(a.decide(&pod_review("other", &[&unsigned]))).allowed);

    // The tag moved after signing (other content pushed to it): denied, saying so.
    reg.push("rust-app", "team/app:v1");
    let v = rt.block_on(a.decide(&pod_review("production", &[&app])));
    assert!(!v.allowed);
    assert!(v.message.contains(&format!("on {}/team/app@{RUST}", reg.host())), "{}", v.message);
    assert!(
        v.message.contains(&format!("tag moved: {app} was verified at {NODE} and now points at {RUST}")),
        "{}",
        v.message
    );
    // The digest that was signed is still admitted.
    assert!(rt.block_on(a.decide(&r2)).allowed);
}

#[test]
fn pod_controllers_init_and_ephemeral_containers_are_pinned_at_their_template_paths() {
    let reg = docker_registry!();
    let app = reg.push("node-app", "team/app:v1");
    let key = generate().unwrap();
    sign(&reg, &app, &key);
    let a = admission(compile(&require_signature(&format!("{}/**", reg.host()), &key)), verify_opts(&reg));
    let rt = rt();
    let spec = json!({"initContainers": [{"name": "i", "image": app}], "containers": [{"name": "c", "image": app}],
        "ephemeralContainers": [{"name": "e", "image": app}]});
    let deploy = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "namespace": "production"},
        "spec": {"template": {"metadata": {}, "spec": spec.clone()}}});
    let m = rt.block_on(a.mutate(&review_of("production", deploy)));
    assert!(m.allowed, "{}", m.message);
    let pinned = format!("{app}@{NODE}");
    let paths: Vec<(&str, &str)> =
        m.patch.iter().map(|op| (op["path"].as_str().unwrap(), op["value"].as_str().unwrap())).collect();
    assert_eq!(
        paths,
        vec![
            ("/spec/template/spec/containers/0/image", pinned.as_str()),
            ("/spec/template/spec/ephemeralContainers/0/image", pinned.as_str()),
            ("/spec/template/spec/initContainers/0/image", pinned.as_str()),
        ]
    );
    assert!(m.patch.iter().all(|op| op["op"] == "replace"));
    let cron = json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "c", "namespace": "production"},
        "spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "c", "image": app}]}}}}}});
    let m = rt.block_on(a.mutate(&review_of("production", cron)));
    assert_eq!(m.patch[0]["path"], "/spec/jobTemplate/spec/template/spec/containers/0/image");
    // One verification served all of them.
    assert_eq!(a.verifier.stats.verifications.load(Ordering::Relaxed), 1);
}

#[test]
fn latest_is_denied_by_the_image_rules_beside_a_signature_policy() {
    let reg = docker_registry!();
    let app = reg.push("node-app", "team/app:latest");
    let key = generate().unwrap();
    sign(&reg, &app, &key);
    let rules: ImageSettings = serde_json::from_value(json!({"tags": {"reject": ["latest"]}})).unwrap();
    let a = Admission::new(
        compile(&require_signature(&format!("{}/**", reg.host()), &key)),
        PodSecurityConfiguration::default(),
        namespaces(),
        ImageRules::new(rules).unwrap(),
    )
    .with_verifier(Arc::new(ImageVerifier::new(verify_opts(&reg))));
    let rt = rt();
    let v = rt.block_on(a.decide(&pod_review("production", &[&app])));
    assert!(!v.allowed);
    assert_eq!(v.message, format!("image-rules/tags: containers \"c0\": image \"{app}\" uses rejected tag \"latest\""));
    // Untagged is `latest` too.
    let untagged = app.trim_end_matches(":latest").to_string();
    let v = rt.block_on(a.decide(&pod_review("production", &[&untagged])));
    assert!(v.message.contains("uses rejected tag \"latest\" (implicitly)"), "{}", v.message);
}

#[test]
fn a_hundred_concurrent_reviews_of_one_new_image_share_one_verification() {
    let reg = docker_registry!();
    let app = reg.push("node-app", "team/app:v1");
    let key = generate().unwrap();
    sign(&reg, &app, &key);
    let a = Arc::new(admission(compile(&require_signature(&format!("{}/**", reg.host()), &key)), verify_opts(&reg)));
    let rt = rt();
    let verdicts = rt.block_on(async {
        let tasks: Vec<_> = (0..100)
            .map(|_| {
                let (a, app) = (a.clone(), app.clone());
                tokio::spawn(async move { a.decide(&pod_review("production", &[&app])).await })
            })
            .collect();
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.unwrap());
        }
        out
    });
    assert_eq!(verdicts.len(), 100);
    assert!(verdicts.iter().all(|v| v.allowed), "{:?}", verdicts.iter().find(|v| !v.allowed));
    let s = &a.verifier.stats;
    assert_eq!(s.verifications.load(Ordering::Relaxed), 1, "one verification for 100 reviews");
    assert_eq!(s.cache_hits.load(Ordering::Relaxed), 99);
    let resolves = s.resolves.load(Ordering::Relaxed);
    eprintln!("100 concurrent reviews: {resolves} tag resolutions, 1 verification");
    assert!((1..100).contains(&resolves), "concurrent resolutions of one tag are shared: {resolves}");
}

#[test]
fn registry_down_or_hanging_is_denied_within_the_deadline_saying_so() {
    // Nothing listens on the port: connection refused.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let key = generate().unwrap();
    let down = format!("127.0.0.1:{port}/team/app:v1");
    let opts = VerifyOptions {
        registry: RegistryOptions { allow_insecure: true, docker_config: None },
        timeout: Duration::from_secs(1),
        ..Default::default()
    };
    let a = admission(compile(&require_signature("**", &key)), opts.clone()).with_deadline(Duration::from_secs(2));
    let rt = rt();
    let t = Instant::now();
    let v = rt.block_on(a.decide(&pod_review("production", &[&down])));
    assert!(!v.allowed);
    assert!(v.message.contains(&format!("registry unreachable or failing for {down}")), "{}", v.message);
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());

    // A registry that accepts connections and never answers: the timeout answers.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let hung = format!("{}/team/app:v1", listener.local_addr().unwrap());
    let held = std::thread::spawn(move || {
        let mut conns = Vec::new();
        for c in listener.incoming().take(8) {
            conns.push(c);
        }
        std::thread::sleep(Duration::from_secs(5));
    });
    let t = Instant::now();
    let v = rt.block_on(a.decide(&pod_review("production", &[&hung])));
    let took = t.elapsed();
    assert!(!v.allowed);
    assert!(
        v.message.contains(&format!("resolving {hung} did not finish within 1 s (registry slow or unreachable)")),
        "{}",
        v.message
    );
    assert!(took < Duration::from_millis(2500), "{took:?}");
    drop(held);
    rt.shutdown_timeout(Duration::from_millis(100));
}

#[test]
fn seed_verify_image_signature_kyverno_policy_admits_signed_pins_and_denies_unsigned() {
    let reg = docker_registry!();
    let app = reg.push("node-app", "team/app:v1");
    let unsigned = reg.push("rust-app", "team/unsigned:v1");
    let key = generate().unwrap();
    sign(&reg, &app, &key);
    let policy = verify_image_signature(&format!("{}/team/*", reg.host()), &key);
    let a = admission(compile(&policy), verify_opts(&reg));
    let rt = rt();
    // Kyverno policies need no namespace opt-in.
    let r = pod_review("other", &[&app]);
    let v = rt.block_on(a.decide(&r));
    assert!(v.allowed, "{}", v.message);
    let m = rt.block_on(a.mutate(&r));
    assert_eq!(
        m.patch,
        vec![json!({"op": "replace", "path": "/spec/containers/0/image", "value": format!("{app}@{NODE}")})]
    );
    let v = rt.block_on(a.decide(&pod_review("other", &[&unsigned])));
    assert!(!v.allowed);
    assert!(v.message.starts_with("verify-image-signature/verify-signature: container \"c0\" image"), "{}", v.message);
    assert!(
        v.message.contains(&format!(
            "no signature by key verifyImages[0].attestors[0].entries[0] on {}/team/unsigned@{RUST}",
            reg.host()
        )),
        "{}",
        v.message
    );
    // An image outside imageReferences is not verified.
    let elsewhere = reg.push("rust-app", "elsewhere/x:v1");
    assert!(rt.block_on(a.decide(&pod_review("other", &[&elsewhere]))).allowed);
    // The auto-generated rule verifies a Deployment's images.
    let deploy = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "namespace": "other"},
        "spec": {"template": {"metadata": {}, "spec": {"containers": [{"name": "c", "image": unsigned}]}}}});
    let v = rt.block_on(a.decide(&review_of("other", deploy)));
    assert!(!v.allowed);
    assert!(v.message.starts_with("verify-image-signature/autogen-verify-signature: "), "{}", v.message);
    // Offline (no admission), the rule says a registry is needed: an error, never a pass.
    let offline = a.results(&pod_review("other", &[&app]));
    let r = offline.iter().find(|r| r.rule == "verify-signature").unwrap();
    assert_eq!(r.result, bulwark_policy::Outcome::Error);
    assert!(r.message.contains("needs a registry"), "{}", r.message);
}

#[test]
fn kyverno_count_and_attestation_conditions_and_cip_rego_attestations() {
    let reg = docker_registry!();
    let app = reg.push("node-app", "team/app:v1");
    let (k1, k2) = (generate().unwrap(), generate().unwrap());
    sign(&reg, &app, &k1);
    let provenance = json!({"builder": {"id": "https://ci.example/builder@v1"}, "buildType": "https://example/build"});
    bulwark_sign::cosign::attest(&app, &k1, "slsaprovenance", provenance.to_string().as_bytes(), &registry_opts(&reg))
        .unwrap();
    let pem = |k: &PrivateKey| -> String {
        k.public_key().to_pem().lines().map(|l| format!("                      {l}\n")).collect()
    };
    let kyverno = |count: usize, builder: &str| {
        format!(
            "apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: provenance
spec:
  validationFailureAction: Enforce
  rules:
    - name: slsa
      match:
        any:
          - resources:
              kinds: [Pod]
      verifyImages:
        - imageReferences: [\"{host}/*\"]
          attestors:
            - count: {count}
              entries:
                - keys:
                    publicKeys: |-
{k1}                - keys:
                    publicKeys: |-
{k2}          attestations:
            - predicateType: https://slsa.dev/provenance/v0.2
              attestors:
                - entries:
                    - keys:
                        publicKeys: |-
{k1a}              conditions:
                - all:
                    - key: \"{{{{ builder.id }}}}\"
                      operator: Equals
                      value: \"{builder}\"
",
            host = reg.host(),
            k1 = pem(&k1),
            k2 = pem(&k2),
            k1a = k1
                .public_key()
                .to_pem()
                .lines()
                .map(|l| format!("                          {l}\n"))
                .collect::<String>(),
        )
    };
    let rt = rt();
    // One of two keys signed: count 1 passes, the provenance's builder holds.
    let a = admission(compile(&kyverno(1, "https://ci.example/builder@v1")), verify_opts(&reg));
    let v = rt.block_on(a.decide(&pod_review("other", &[&app])));
    assert!(v.allowed, "{}", v.message);
    // count 2 (or all): one signature is not enough.
    let a = admission(compile(&kyverno(2, "https://ci.example/builder@v1")), verify_opts(&reg));
    let v = rt.block_on(a.decide(&pod_review("other", &[&app])));
    assert!(!v.allowed);
    assert!(v.message.contains("1 of 2 authorities verified, 2 needed"), "{}", v.message);
    // Another builder: the attestation's conditions do not hold.
    let a = admission(compile(&kyverno(1, "https://other/builder")), verify_opts(&reg));
    let v = rt.block_on(a.decide(&pod_review("other", &[&app])));
    assert!(!v.allowed);
    assert!(v.message.contains("no attestation https://slsa.dev/provenance/v0.2"), "{}", v.message);
    assert!(v.message.contains("its conditions do not hold"), "{}", v.message);

    // policy-controller: an authority with attestations and a Rego policy.
    let cip = |builder: &str| {
        format!(
            "apiVersion: policy.sigstore.dev/v1alpha1
kind: ClusterImagePolicy
metadata:
  name: provenance
spec:
  images:
    - glob: \"**\"
  authorities:
    - name: ci
      key:
        data: |
{key}      attestations:
        - name: slsa
          predicateType: slsaprovenance
          policy:
            type: rego
            data: |
              package sigstore
              default isCompliant = false
              isCompliant {{
                input.predicate.builder.id == \"{builder}\"
              }}
",
            key = k1.public_key().to_pem().lines().map(|l| format!("          {l}\n")).collect::<String>(),
        )
    };
    let a = admission(compile(&cip("https://ci.example/builder@v1")), verify_opts(&reg));
    let v = rt.block_on(a.decide(&pod_review("production", &[&app])));
    assert!(v.allowed, "{}", v.message);
    let a = admission(compile(&cip("https://other/builder")), verify_opts(&reg));
    let v = rt.block_on(a.decide(&pod_review("production", &[&app])));
    assert!(!v.allowed);
    assert!(v.message.contains("no attestation slsa (slsaprovenance) by key ci"), "{}", v.message);
    assert!(v.message.contains("its Rego policy's isCompliant is not true"), "{}", v.message);
    // CUE is refused clearly.
    let cue = cip("x").replace("type: rego", "type: cue");
    let a = admission(compile(&cue), verify_opts(&reg));
    let v = rt.block_on(a.decide(&pod_review("production", &[&app])));
    assert!(!v.allowed);
    assert!(v.message.contains("CUE policies are not supported"), "{}", v.message);
}

/// What `cosign sign` (v1/v2 keyless) pushes for `digest`: the simple-signing payload signed
/// by a Fulcio-style leaf for `EMAIL`/`ISSUER`, its certificate, chain and Rekor bundle.
fn sign_keyless(reg: &DockerRegistry, image: &str, ca: &Ca, rekor: &Rekor) {
    use base64::Engine as _;
    use bulwark_sign::cosign::{BUNDLE_ANNOTATION, CERTIFICATE_ANNOTATION, CHAIN_ANNOTATION, SIGNATURE_ANNOTATION};
    use bulwark_sign::oci::{Attachment, NewLayer, Remote};
    let leaf = ca.leaf(email(EMAIL), ISSUER, IssuerExt::Both, short_lived());
    let remote = Remote::connect(image, &registry_opts(reg)).unwrap();
    let digest = remote.resolve().unwrap();
    let data = bulwark_sign::payload::SimpleSigning::new(&remote.repository(), &digest).unwrap().to_json();
    let signature_b64 = base64::engine::general_purpose::STANDARD.encode(leaf.key.sign(&data).unwrap().as_bytes());
    let bundle = rekor.bundle(&data, &signature_b64, &leaf.pem, 4242, &rekor.key);
    let layer = NewLayer {
        media_type: bulwark_sign::payload::MEDIA_TYPE.into(),
        data,
        annotations: std::collections::BTreeMap::from([
            (SIGNATURE_ANNOTATION.to_string(), signature_b64),
            (CERTIFICATE_ANNOTATION.to_string(), leaf.pem.clone()),
            (CHAIN_ANNOTATION.to_string(), ca.pem()),
            (BUNDLE_ANNOTATION.to_string(), bundle.to_string()),
        ]),
    };
    remote.append(&digest, Attachment::Signature, layer).unwrap();
}

use bulwark_testkit::sigstore::{email, short_lived, Ca, IssuerExt, Rekor, EMAIL, ISSUER};

#[test]
fn keyless_identities_with_a_test_sigstore_cip_and_kyverno() {
    let reg = docker_registry!();
    let app = reg.push("node-app", "team/app:v1");
    let (ca, rekor) = (Ca::new("test fulcio"), Rekor::new());
    sign_keyless(&reg, &app, &ca, &rekor);
    let root = bulwark_sign::bundle::TrustRoot::from_files(ca.pem().as_bytes(), rekor.pem().as_bytes(), None).unwrap();
    let opts = VerifyOptions { trust_root: Some(root), ..verify_opts(&reg) };
    let cip = |identity: &str| {
        format!(
            "apiVersion: policy.sigstore.dev/v1beta1
kind: ClusterImagePolicy
metadata:
  name: keyless
spec:
  images:
    - glob: \"**\"
  authorities:
    - name: fulcio
      keyless:
        url: https://fulcio.example
        identities:
{identity}"
        )
    };
    let rt = rt();
    let exact = cip(&format!("          - issuer: {ISSUER}\n            subject: {EMAIL}\n"));
    let a = admission(compile(&exact), opts.clone());
    let v = rt.block_on(a.decide(&pod_review("production", &[&app])));
    assert!(v.allowed, "{}", v.message);
    assert_eq!(rt.block_on(a.mutate(&pod_review("production", &[&app]))).patch.len(), 1);
    let re = cip(
        "          - issuerRegExp: ^https://accounts\\.example\\.com$\n            subjectRegExp: .*@example\\.com$\n",
    );
    let a = admission(compile(&re), opts.clone());
    assert!(rt.block_on(a.decide(&pod_review("production", &[&app]))).allowed);
    // Another subject: denied, naming the identity asked for.
    let other = cip(&format!("          - issuer: {ISSUER}\n            subject: someone@else.example\n"));
    let a = admission(compile(&other), opts.clone());
    let v = rt.block_on(a.decide(&pod_review("production", &[&app])));
    assert!(!v.allowed);
    assert!(
        v.message.contains(&format!(
            "no signature by authority fulcio (keyless: issuer {ISSUER} subject someone@else.example)"
        )),
        "{}",
        v.message
    );
    // Without a trust root: denied, saying one is needed.
    let a = admission(compile(&exact), verify_opts(&reg));
    let v = rt.block_on(a.decide(&pod_review("production", &[&app])));
    assert!(!v.allowed);
    assert!(v.message.contains("keyless verification needs a trust root"), "{}", v.message);

    // Kyverno keyless attestor.
    let kyverno = |subject: &str| {
        format!(
            "apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: keyless
spec:
  validationFailureAction: Enforce
  rules:
    - name: keyless
      match:
        any:
          - resources:
              kinds: [Pod]
      verifyImages:
        - imageReferences: [\"*\"]
          attestors:
            - entries:
                - keyless:
                    subject: \"{subject}\"
                    issuer: \"{ISSUER}\"
                    rekor:
                      ignoreTlog: true
"
        )
    };
    let a = admission(compile(&kyverno(EMAIL)), opts.clone());
    let v = rt.block_on(a.decide(&pod_review("other", &[&app])));
    assert!(v.allowed, "{}", v.message);
    let a = admission(compile(&kyverno("nobody@example.com")), opts);
    assert!(!rt.block_on(a.decide(&pod_review("other", &[&app]))).allowed);
}

#[test]
fn kyverno_mutate_rules_and_digest_pins_make_one_json_patch_and_delete_never_verifies() {
    let reg = docker_registry!();
    let app = reg.push("node-app", "team/app:v1");
    let key = generate().unwrap();
    sign(&reg, &app, &key);
    let label = "apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: add-labels
spec:
  rules:
    - name: add-team
      match:
        any:
          - resources:
              kinds: [Pod]
      mutate:
        patchStrategicMerge:
          metadata:
            labels:
              team: payments
";
    let mut policies = compile(label);
    policies.extend(compile(&verify_image_signature(&format!("{}/team/*", reg.host()), &key)));
    let a = admission(policies, verify_opts(&reg));
    let rt = rt();
    let r = pod_review("other", &[&app]);
    let m = rt.block_on(a.mutate(&r));
    assert!(m.allowed, "{}", m.message);
    assert_eq!(
        m.patch,
        vec![
            json!({"op": "add", "path": "/metadata/labels", "value": {"team": "payments"}}),
            json!({"op": "replace", "path": "/spec/containers/0/image", "value": format!("{app}@{NODE}")}),
        ]
    );
    // The patch applied to the object gives the object the policies produced.
    let mut patched = r.object.clone();
    patched["metadata"]["labels"] = json!({"team": "payments"});
    patched["spec"]["containers"][0]["image"] = json!(format!("{app}@{NODE}"));
    let mut applied = r.object.clone();
    for op in &m.patch {
        let path = op["path"].as_str().unwrap();
        *applied
            .pointer_mut(path.rsplit_once('/').unwrap().0)
            .unwrap()
            .as_object_mut()
            .unwrap()
            .entry(path.rsplit('/').next().unwrap())
            .or_insert(Value::Null) = op["value"].clone();
    }
    assert_eq!(applied, patched);

    // A DELETE of a pod whose image is unsigned: no verification, no registry, allowed.
    let unsigned = format!("{}/team/none:v1", reg.host());
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "other"},
        "spec": {"containers": [{"name": "c", "image": unsigned}]}});
    let body = json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
        "uid": "d", "operation": "DELETE", "namespace": "other", "kind": {"group": "", "version": "v1", "kind": "Pod"},
        "oldObject": pod}});
    let del = review::parse(body.to_string().as_bytes()).unwrap();
    let before = a.verifier.stats.resolves.load(Ordering::Relaxed);
    assert!(rt.block_on(a.decide(&del)).allowed);
    assert_eq!(a.verifier.stats.resolves.load(Ordering::Relaxed), before);
}

#[test]
fn kyverno_required_false_skips_unsigned_images_but_not_ones_signed_by_another_key() {
    let reg = docker_registry!();
    let unsigned = reg.push("node-app", "team/unsigned:v1");
    let other = reg.push("rust-app", "team/other:v1");
    let (key, another) = (generate().unwrap(), generate().unwrap());
    sign(&reg, &other, &another);
    let policy = verify_image_signature(&format!("{}/team/*", reg.host()), &key)
        .replace("        - imageReferences:", "        - required: false\n          imageReferences:");
    let a = admission(compile(&policy), verify_opts(&reg));
    let rt = rt();
    let v = rt.block_on(a.decide(&pod_review("other", &[&unsigned])));
    assert!(v.allowed, "{}", v.message);
    // Nothing verified: nothing pinned.
    assert!(rt.block_on(a.mutate(&pod_review("other", &[&unsigned]))).patch.is_empty());
    let v = rt.block_on(a.decide(&pod_review("other", &[&other])));
    assert!(!v.allowed, "a signature by another key is not absence");
    assert!(v.message.contains("no signature by key"), "{}", v.message);
}

/// A "registry" that answers every request with 200 and `body`.
fn garbage_registry(body: &'static [u8]) -> String {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { return };
            std::thread::spawn(move || {
                let mut reader = BufReader::new(conn.try_clone().unwrap());
                let mut conn = conn;
                loop {
                    let mut line = String::new();
                    // One request head (no bodies in what the verifier sends).
                    loop {
                        line.clear();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        if line == "\r\n" {
                            break;
                        }
                    }
                    let head = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.oci.image.manifest.v1+json\r\nContent-Length: {}\r\n\r\n",
                        body.len()
                    );
                    if conn.write_all(head.as_bytes()).and_then(|_| conn.write_all(body)).is_err() {
                        return;
                    }
                }
            });
        }
    });
    addr
}

#[test]
fn a_registry_answering_garbage_is_a_denial_saying_what_it_sent() {
    let key = generate().unwrap();
    let a = admission(
        compile(&require_signature("**", &key)),
        VerifyOptions { registry: RegistryOptions { allow_insecure: true, docker_config: None }, ..Default::default() },
    );
    let rt = rt();
    let host = garbage_registry(b"\x00\xffnot json at all{{{");
    let image = format!("{host}/team/app:v1");
    let v = rt.block_on(a.decide(&pod_review("production", &[&image])));
    assert!(!v.allowed);
    assert!(
        v.message.contains(&format!("registry unreachable or failing for {host}/team/app@sha256:")),
        "{}",
        v.message
    );
    assert!(v.message.contains("not an image manifest"), "{}", v.message);
    // Nothing was pinned, and the failure was not cached: the next review asks again.
    assert!(rt.block_on(a.mutate(&pod_review("production", &[&image]))).patch.is_empty());
    assert_eq!(a.verifier.stats.verifications.load(Ordering::Relaxed), 2);
}

#[test]
fn policy_controller_examples_load_verbatim_and_never_admit_what_they_did_not_verify() {
    let reg = docker_registry!();
    let app = reg.push("node-app", "team/app:v1");
    sign(&reg, &app, &generate().unwrap());
    let dir = crate::data("policy-controller/examples/policies");
    let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    let opts = VerifyOptions {
        trust_root: Some(bulwark_sign::bundle::TrustRoot::public_good().unwrap()),
        ..verify_opts(&reg)
    };
    let rt = rt();
    let mut seen = Vec::new();
    for f in files {
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        let docs: Vec<bulwark_policy::Document> =
            bulwark_policy::resource::read_paths(std::slice::from_ref(&f)).map(|d| d.unwrap()).collect();
        let policies = match bulwark_policy::dialect::compile(&docs) {
            Ok(p) => p,
            Err(e) => {
                // As `kubectl create` refuses them (placeholders in KMS URIs).
                assert!(e[0].to_string().contains("kms key should be in the format awskms://"), "{}", e[0]);
                seen.push(format!("{name}: refused"));
                continue;
            }
        };
        let a = admission(policies, opts.clone());
        // allow-only-pods governs only its own image (refused before any registry is asked);
        // the others are asked about the test registry's image, never about the Internet.
        let image = if name == "allow-only-pods.yaml" { "ghcr.io/sigstore/timestamp-server:v1" } else { app.as_str() };
        {
            let v = rt.block_on(a.verified_results(&pod_review("production", &[image])));
            for r in v.results {
                assert_ne!(r.result, bulwark_policy::Outcome::Pass, "{name}: {}", r.message);
                let short = if image == app { "app" } else { "timestamp-server" };
                seen.push(format!("{name} {short}: {:?}", r.result));
                assert!(!r.message.is_empty());
                eprintln!("{name} {short}: {:?} {}", r.result, r.message);
            }
        }
    }
    assert_eq!(
        seen,
        [
            "allow-only-pods.yaml timestamp-server: Error",
            "custom-key-attestation-sbom-spdxjson.yaml app: Error",
            "keyless-attestation-sbom-spdxjson.yaml app: Error",
            // Its glob names one digest: the image matches no policy (no-match-policy: deny).
            "release-signed-by-github-actions.yaml app: Fail",
            "signed-by-aws-kms-key.yaml: refused",
            "signed-by-gcp-kms-key.yaml app: Error",
            "signed-by-github-actions.yaml app: Fail",
        ]
    );
}

#[test]
fn json_patch_diff_escapes_keys_and_replaces_lists_that_changed_length() {
    use bulwark_admission::verify::jsonpatch::diff;
    let from = json!({"metadata": {"annotations": {"a/b": "1", "c~d": "2", "gone": "x"}},
        "spec": {"containers": [{"image": "a"}], "volumes": [1]}});
    let to = json!({"metadata": {"annotations": {"a/b": "9", "c~d": "2", "new": "y"}},
        "spec": {"containers": [{"image": "a@sha256:1"}], "volumes": [1, 2]}});
    assert_eq!(
        diff(&from, &to),
        vec![
            json!({"op": "replace", "path": "/metadata/annotations/a~1b", "value": "9"}),
            json!({"op": "remove", "path": "/metadata/annotations/gone"}),
            json!({"op": "add", "path": "/metadata/annotations/new", "value": "y"}),
            json!({"op": "replace", "path": "/spec/containers/0/image", "value": "a@sha256:1"}),
            json!({"op": "replace", "path": "/spec/volumes", "value": [1, 2]}),
        ]
    );
    assert!(diff(&from, &from).is_empty());
    let tilde = diff(&json!({"c~d": 1}), &json!({"c~d": 2}));
    assert_eq!(tilde[0]["path"], "/c~0d");
}

#[test]
fn no_match_policy_in_opted_in_namespaces_as_policy_controller() {
    use bulwark_admission::NoMatchPolicy;
    let key = generate().unwrap();
    // No registry is asked: no policy governs the image.
    let cip = require_signature("registry.example.com/**", &key);
    let image = "docker.io/library/nginx:1.27";
    let rt = rt();
    let a = admission(compile(&cip), VerifyOptions::default());
    let v = rt.block_on(a.decide(&pod_review("production", &[image])));
    assert!(!v.allowed);
    assert_eq!(
        v.message,
        format!("policy-controller/spec.containers[0].image: image {image}: no matching policies (no ClusterImagePolicy governs it; no-match-policy)")
    );
    // Not opted in: not governed at all.
    assert!(rt.block_on(a.decide(&pod_review("other", &[image]))).allowed);
    let a = admission(compile(&cip), VerifyOptions::default()).with_no_match(NoMatchPolicy::Warn);
    let v = rt.block_on(a.decide(&pod_review("production", &[image])));
    assert!(v.allowed);
    assert_eq!(v.warnings.len(), 1, "{:?}", v.warnings);
    let a = admission(compile(&cip), VerifyOptions::default()).with_no_match(NoMatchPolicy::Allow);
    let v = rt.block_on(a.decide(&pod_review("production", &[image])));
    assert!(v.allowed && v.warnings.is_empty(), "{v:?}");
    assert_eq!(a.verifier.stats.resolves.load(Ordering::Relaxed), 0);
}
