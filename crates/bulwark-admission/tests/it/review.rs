//! controller-runtime's webhook HTTP edge cases (its own test table), answered as it answers.

use crate::Now;
use bulwark_admission::review::{self, ReviewError};
use bulwark_admission::{Admission, ImageRules};
use serde_json::Value;

fn answer(content_type: Option<&str>, body: &[u8]) -> Value {
    match review::read_http(content_type, body) {
        Ok(r) => {
            let a = Admission::new(Vec::new(), Default::default(), Default::default(), ImageRules::default());
            review::response(&r, &a.decide(&r).now())
        }
        Err(e) => review::error_response(&e),
    }
}

#[test]
fn controller_runtime_edge_cases() {
    let path = crate::data("admissionreview/controller-runtime/http_edge_cases.json");
    let cases: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(cases.len(), 8);
    let mut checked = 0;
    for case in &cases {
        let it = case["it"].as_str().unwrap();
        let ct = case["content_type"].as_str();
        let body: Vec<u8> = match case["body"].as_str() {
            None | Some("<http.NoBody>") => Vec::new(),
            // 8 MiB of bytes: over the limit, read no further than it.
            Some("<endless random bytes (crypto/rand.Reader)>") => {
                (0..8 * 1024 * 1024).map(|i| (i % 251) as u8).collect()
            }
            Some(b) => b.as_bytes().to_vec(),
        };
        let expected: Value = serde_json::from_str(case["expected_response_body"].as_str().unwrap()).unwrap();
        let got = answer(ct, &body);
        crate::assert_answers_like_controller_runtime(it, &expected, &got);
        checked += 1;
    }
    assert_eq!(checked, 8);
}

#[test]
fn a_bare_request_and_v1beta1_are_read_and_other_versions_refused() {
    let bare = crate::data("admissionreview/kubewarden-trusted-repos-policy/test_data/pod_creation.json");
    let r = review::parse(&std::fs::read(bare).unwrap()).unwrap();
    assert_eq!(r.uid, "1299d386-525b-4032-98ae-1949f69f9cfc");
    assert_eq!(r.object["kind"], "Pod", "kind filled from request.kind");
    assert_eq!(r.object["apiVersion"], "v1");
    assert_eq!(r.username, "alice");
    let err =
        review::parse(br#"{"apiVersion":"admission.k8s.io/v2","kind":"AdmissionReview","request":{}}"#).unwrap_err();
    assert!(matches!(err, ReviewError::Version(_)), "{err}");
    assert_eq!(review::parse(b"[1]").unwrap_err().code(), 400);
    assert_eq!(review::parse(b"   ").unwrap_err(), ReviewError::EmptyBody);
    // Content type with parameters is JSON.
    assert!(review::read_http(Some("application/json; charset=utf-8"), br#"{"request":{}}"#).is_ok());
}

#[test]
fn hostile_reviews_are_errors_or_bounded_decisions() {
    // Nesting past serde_json's recursion limit: a 400 naming the parse error, no stack overflow.
    let deep = format!("{{\"request\":{{\"object\":{}{}}}}}", "[".repeat(100_000), "]".repeat(100_000));
    let e = review::parse(deep.as_bytes()).unwrap_err();
    assert_eq!(e.code(), 400);
    assert!(e.to_string().contains("recursion limit"), "{e}");
    // Just over the body limit: 413 before any parsing.
    let big = vec![b' '; review::MAX_BODY + 1];
    assert_eq!(review::parse(&big).unwrap_err(), ReviewError::TooLarge);
    // A pod with 20,000 containers, each with an image rule to check: decided, quickly.
    let containers: Vec<Value> = (0..20_000)
        .map(|i| serde_json::json!({"name": format!("c{i}"), "image": format!("r.example.com/app:{i}")}))
        .collect();
    let body = serde_json::json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
        "uid": "h", "operation": "CREATE", "namespace": "x", "kind": {"group": "", "version": "v1", "kind": "Pod"},
        "object": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": containers}}}});
    let bytes = serde_json::to_vec(&body).unwrap();
    assert!(bytes.len() < review::MAX_BODY);
    let r = review::parse(&bytes).unwrap();
    let settings: bulwark_admission::ImageSettings =
        serde_json::from_value(serde_json::json!({"requireDigest": true})).unwrap();
    let a = Admission::new(Vec::new(), Default::default(), Default::default(), ImageRules::new(settings).unwrap());
    let started = std::time::Instant::now();
    let v = a.decide(&r).now();
    assert!(started.elapsed() < std::time::Duration::from_secs(20), "{:?}", started.elapsed());
    assert!(!v.allowed);
    assert!(v.message.starts_with("image-rules/digest: containers \"c0\""), "{}", &v.message[..200]);
    // The message is bounded (it ends up in events and audit logs) and says what was left out.
    assert!(v.message.len() <= 16 * 1024 + 64, "{}", v.message.len());
    assert!(v.message.ends_with("...") || v.message.contains("more"), "{}", &v.message[v.message.len() - 100..]);
}
