#![allow(clippy::unwrap_used, clippy::expect_used)]
//! `bulwark registry` against the OCI distribution spec (v1.1), with raw HTTP requests on a
//! registry without authentication (`anonymous = "full"`): pagination, manifests by tag and
//! digest, errors, indexes, deletes, referrers, ranges, chunked uploads, mounts, immutable tags,
//! size limits and the operational endpoints.

use crate::common::http::{strings, Resp};

use crate::common::own_registry::OwnRegistry;
use reqwest::blocking::Client;
use reqwest::Method;
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256, Sha512};

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
const OCI_EMPTY: &str = "application/vnd.oci.empty.v1+json";
const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";

struct Reg {
    reg: OwnRegistry,
    client: Client,
}

fn sha256(b: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(b)))
}

fn sha512(b: &[u8]) -> String {
    format!("sha512:{}", hex::encode(Sha512::digest(b)))
}

fn desc(media_type: &str, content: &[u8]) -> Value {
    json!({"mediaType": media_type, "digest": sha256(content), "size": content.len()})
}

impl Reg {
    fn start() -> Reg {
        let reg = OwnRegistry::start("anonymous = \"full\"", "[scan]\non_push = false");
        let client = Client::builder().no_proxy().timeout(std::time::Duration::from_secs(60)).build().unwrap();
        Reg { reg, client }
    }

    fn req(&self, method: Method, path: &str, headers: &[(&str, &str)], body: Option<Vec<u8>>) -> Resp {
        let url = if path.starts_with("http") { path.to_string() } else { self.reg.url(path) };
        let mut rb = self.client.request(method, url);
        for (k, v) in headers {
            rb = rb.header(*k, *v);
        }
        if let Some(b) = body {
            rb = rb.body(b);
        }
        let r = rb.send().unwrap();
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let body = r.bytes().map(|b| b.to_vec()).unwrap_or_default();
        Resp { status, headers, body }
    }

    fn get(&self, path: &str) -> Resp {
        self.req(Method::GET, path, &[], None)
    }

    fn head(&self, path: &str) -> Resp {
        self.req(Method::HEAD, path, &[], None)
    }

    /// A monolithic blob upload (`POST ?digest=`); returns the digest.
    fn blob(&self, repo: &str, content: &[u8]) -> String {
        let d = sha256(content);
        self.req(Method::POST, &format!("/v2/{repo}/blobs/uploads/?digest={d}"), &[], Some(content.to_vec()))
            .expect(201, None);
        d
    }

    fn put_manifest(&self, repo: &str, reference: &str, media_type: &str, body: &[u8]) -> Resp {
        self.req(
            Method::PUT,
            &format!("/v2/{repo}/manifests/{reference}"),
            &[("content-type", media_type)],
            Some(body.to_vec()),
        )
    }

    /// Push a small image's blobs (distinct per `seed`) and return its manifest (not pushed).
    fn image(&self, repo: &str, seed: &str) -> Vec<u8> {
        let config =
            serde_json::to_vec(&json!({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}, "config": {"Labels": {"seed": seed}}}))
                .unwrap();
        let layer = format!("layer bytes for {seed}").into_bytes();
        self.blob(repo, &config);
        self.blob(repo, &layer);
        serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": desc(OCI_CONFIG, &config),
            "layers": [desc(OCI_LAYER, &layer)],
        }))
        .unwrap()
    }

    /// Push an image under `tag`; returns (manifest bytes, digest).
    fn push_image(&self, repo: &str, tag: &str, seed: &str) -> (Vec<u8>, String) {
        let m = self.image(repo, seed);
        let d = sha256(&m);
        let r = self.put_manifest(repo, tag, OCI_MANIFEST, &m);
        r.expect(201, None);
        assert_eq!(r.header("docker-content-digest").as_deref(), Some(d.as_str()));
        (m, d)
    }
}

/// The `next` target of a `Link` header (`<URL>; rel="next"`).
fn next_link(r: &Resp) -> Option<String> {
    let l = r.header("link")?;
    assert!(l.ends_with("rel=\"next\""), "Link {l}");
    let start = l.find('<')? + 1;
    let end = l.find('>')?;
    Some(l[start..end].to_string())
}

// --- listing ---------------------------------------------------------------------------------------

#[test]
fn base_endpoint_and_operations() {
    let r = Reg::start();
    let v = r.get("/v2/");
    v.expect(200, None);
    assert_eq!(v.json(), json!({}));
    r.get("/healthz").expect(200, None);
    r.get("/readyz").expect(200, None);
    r.get("/v2/nothing/here/manifests/latest").expect(404, Some("NAME_UNKNOWN"));
    let m = r.get("/metrics");
    m.expect(200, None);
    let text = String::from_utf8_lossy(&m.body);
    assert!(text.contains("bulwark_registry_http_requests_total"), "{text}");
    assert!(text.contains("route=\"manifest\""), "{text}");
    assert!(text.contains("bulwark_registry_http_request_duration_seconds"), "{text}");
}

#[test]
fn tag_list_pagination() {
    let r = Reg::start();
    let (m, _) = r.push_image("pg/app", "e", "one");
    for t in ["c", "a", "d", "b"] {
        r.put_manifest("pg/app", t, OCI_MANIFEST, &m).expect(201, None);
    }
    let all = r.get("/v2/pg/app/tags/list");
    all.expect(200, None);
    assert_eq!(all.json()["name"], "pg/app");
    assert_eq!(all.tags(), ["a", "b", "c", "d", "e"]);
    assert_eq!(all.header("link"), None);

    let mut pages = Vec::new();
    let mut next = Some("/v2/pg/app/tags/list?n=2".to_string());
    while let Some(url) = next {
        let p = r.get(&url);
        p.expect(200, None);
        assert!(p.tags().len() <= 2, "{}", p.describe());
        next = next_link(&p);
        pages.push(p.tags());
        assert!(pages.len() < 10, "pagination does not end");
    }
    assert_eq!(pages, vec![vec!["a", "b"], vec!["c", "d"], vec!["e"]]);

    let after = r.get("/v2/pg/app/tags/list?last=b");
    assert_eq!(after.tags(), ["c", "d", "e"]);
    let zero = r.get("/v2/pg/app/tags/list?n=0");
    zero.expect(200, None);
    assert_eq!(zero.tags(), Vec::<String>::new());
    assert_eq!(zero.header("link"), None);
    r.get("/v2/pg/app/tags/list?n=lots").expect(400, Some("PAGINATION_NUMBER_INVALID"));
    r.get("/v2/pg/other/tags/list").expect(404, Some("NAME_UNKNOWN"));
}

#[test]
fn catalog_pagination() {
    let r = Reg::start();
    let names = ["cat/e", "cat/a", "lib", "cat/c", "zz/top/deep"];
    for (i, n) in names.iter().enumerate() {
        r.blob(n, format!("blob {i}").as_bytes());
    }
    let mut want: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    want.sort();
    let all = r.get("/v2/_catalog");
    all.expect(200, None);
    assert_eq!(strings(&all.json()["repositories"]), want);

    let mut got = Vec::new();
    let mut pages = 0;
    let mut next = Some("/v2/_catalog?n=2".to_string());
    while let Some(url) = next {
        let p = r.get(&url);
        p.expect(200, None);
        let page = strings(&p.json()["repositories"]);
        assert!(page.len() <= 2);
        got.extend(page);
        next = next_link(&p);
        pages += 1;
        assert!(pages < 10, "pagination does not end");
    }
    assert_eq!(got, want);
    assert_eq!(pages, 3);
    let zero = r.get("/v2/_catalog?n=0");
    zero.expect(200, None);
    assert_eq!(strings(&zero.json()["repositories"]), Vec::<String>::new());
    assert_eq!(zero.header("link"), None);
}

// --- manifests -------------------------------------------------------------------------------------

#[test]
fn manifests_by_tag_and_digest() {
    let r = Reg::start();
    let m = r.image("mf/app", "one");
    let d = sha256(&m);
    let put = r.put_manifest("mf/app", "v1", OCI_MANIFEST, &m);
    put.expect(201, None);
    assert_eq!(put.header("location").as_deref(), Some(format!("/v2/mf/app/manifests/{d}").as_str()));
    assert_eq!(put.header("docker-content-digest").as_deref(), Some(d.as_str()));
    for reference in ["v1".to_string(), d.clone()] {
        let g = r.get(&format!("/v2/mf/app/manifests/{reference}"));
        g.expect(200, None);
        assert_eq!(g.body, m, "{reference}");
        assert_eq!(g.header("content-type").as_deref(), Some(OCI_MANIFEST));
        assert_eq!(g.header("docker-content-digest").as_deref(), Some(d.as_str()));
        assert_eq!(g.header("content-length"), Some(m.len().to_string()));
        let h = r.head(&format!("/v2/mf/app/manifests/{reference}"));
        h.expect(200, None);
        assert!(h.body.is_empty());
        assert_eq!(h.header("content-length"), Some(m.len().to_string()), "HEAD {reference}");
        assert_eq!(h.header("content-type").as_deref(), Some(OCI_MANIFEST));
        assert_eq!(h.header("docker-content-digest").as_deref(), Some(d.as_str()));
    }

    // A Docker schema 2 manifest keeps its media type.
    let config = br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#;
    r.blob("mf/docker", config);
    let dm = serde_json::to_vec_pretty(&json!({
        "schemaVersion": 2, "mediaType": DOCKER_MANIFEST, "config": desc(DOCKER_CONFIG, config), "layers": [],
    }))
    .unwrap();
    r.put_manifest("mf/docker", "latest", DOCKER_MANIFEST, &dm).expect(201, None);
    let g = r.get("/v2/mf/docker/manifests/latest");
    assert_eq!(g.body, dm);
    assert_eq!(g.header("content-type").as_deref(), Some(DOCKER_MANIFEST));

    // Unknown references.
    r.get("/v2/mf/app/manifests/nope").expect(404, Some("MANIFEST_UNKNOWN"));
    r.get(&format!("/v2/mf/app/manifests/{}", sha256(b"nothing"))).expect(404, Some("MANIFEST_UNKNOWN"));
    assert_eq!(r.head("/v2/mf/app/manifests/nope").status, 404);
}

#[test]
fn manifest_errors() {
    let r = Reg::start();
    let config = br#"{"architecture":"amd64","os":"linux"}"#;
    r.blob("err/app", config);
    let missing_layer = b"never uploaded";
    let m = serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": desc(OCI_CONFIG, config),
        "layers": [desc(OCI_LAYER, missing_layer)],
    }))
    .unwrap();
    r.put_manifest("err/app", "v1", OCI_MANIFEST, &m).expect(400, Some("MANIFEST_BLOB_UNKNOWN"));
    // A blob stored for another repository is not this one's.
    r.blob("err/other", missing_layer);
    r.put_manifest("err/app", "v1", OCI_MANIFEST, &m).expect(400, Some("MANIFEST_BLOB_UNKNOWN"));
    r.get("/v2/err/app/manifests/v1").expect(404, Some("MANIFEST_UNKNOWN"));

    // Pushed by a digest that is not the content's.
    let good = r.image("err/app", "good");
    r.put_manifest("err/app", &sha256(b"something else"), OCI_MANIFEST, &good).expect(400, Some("DIGEST_INVALID"));
    r.put_manifest("err/app", "sha256:1234", OCI_MANIFEST, &good).expect(400, Some("DIGEST_INVALID"));
    // A size that is not the blob's.
    let mut wrong_size: Value = serde_json::from_slice(&good).unwrap();
    wrong_size["config"]["size"] = json!(3);
    r.put_manifest("err/app", "v2", OCI_MANIFEST, &serde_json::to_vec(&wrong_size).unwrap())
        .expect(400, Some("MANIFEST_INVALID"));
    // A negative size cannot be any blob's.
    wrong_size["config"]["size"] = json!(-1);
    r.put_manifest("err/app", "v2", OCI_MANIFEST, &serde_json::to_vec(&wrong_size).unwrap())
        .expect(400, Some("MANIFEST_INVALID"));
    // A malformed digest inside the manifest is a digest error, as distribution answers it.
    let mut bad_digest: Value = serde_json::from_slice(&good).unwrap();
    bad_digest["layers"][0]["digest"] = json!("sha256:../../etc/passwd");
    r.put_manifest("err/app", "v2", OCI_MANIFEST, &serde_json::to_vec(&bad_digest).unwrap())
        .expect(400, Some("DIGEST_INVALID"));
    r.put_manifest("err/app", "v2", OCI_MANIFEST, b"{not json").expect(400, Some("MANIFEST_INVALID"));
    // Content-Type and mediaType disagree.
    r.put_manifest("err/app", "v2", OCI_INDEX, &good).expect(400, Some("MANIFEST_INVALID"));

    // Invalid repository names, on every kind of endpoint.
    for path in [
        "/v2/UPPER/tags/list",
        "/v2/a..b/tags/list",
        "/v2/a_-b/tags/list",
        "/v2/-a/tags/list",
        "/v2/a//b/tags/list",
        "/v2/UPPER/manifests/latest",
        "/v2/a..b/blobs/uploads/",
    ] {
        let method = if path.ends_with("uploads/") { Method::POST } else { Method::GET };
        r.req(method, path, &[], None).expect(400, Some("NAME_INVALID"));
    }
    r.put_manifest("Bad/Name", "v1", OCI_MANIFEST, &good).expect(400, Some("NAME_INVALID"));

    // Invalid tags.
    let long = "a".repeat(129);
    for tag in ["-bad", ".bad", "bad%20tag", long.as_str()] {
        r.put_manifest("err/app", tag, OCI_MANIFEST, &good).expect(400, Some("TAG_INVALID"));
        // Pulls of a reference that cannot exist are misses (the OCI conformance suite's
        // `.INVALID_MANIFEST_NAME`); pushes keep saying why.
        r.get(&format!("/v2/err/app/manifests/{tag}")).expect(404, Some("MANIFEST_UNKNOWN"));
    }
    r.put_manifest("err/app", &format!("{}?tag=-bad", sha256(&good)), OCI_MANIFEST, &good)
        .expect(400, Some("TAG_INVALID"));
    r.put_manifest("err/app", &"a".repeat(128), OCI_MANIFEST, &good).expect(201, None);
    r.put_manifest("err/app", "_under.score-1", OCI_MANIFEST, &good).expect(201, None);
    // An invalid digest as a reference.
    r.get("/v2/err/app/manifests/sha256:nothex").expect(400, Some("DIGEST_INVALID"));
}

#[test]
fn index_children_must_exist() {
    let r = Reg::start();
    let amd = r.image("ix/app", "amd64");
    let arm = r.image("ix/app", "arm64");
    let index = serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": OCI_INDEX,
        "manifests": [
            {"mediaType": OCI_MANIFEST, "digest": sha256(&amd), "size": amd.len(), "platform": {"architecture": "amd64", "os": "linux"}},
            {"mediaType": OCI_MANIFEST, "digest": sha256(&arm), "size": arm.len(), "platform": {"architecture": "arm64", "os": "linux"}},
        ],
    }))
    .unwrap();
    r.put_manifest("ix/app", "multi", OCI_INDEX, &index).expect(400, Some("MANIFEST_BLOB_UNKNOWN"));
    r.put_manifest("ix/app", &sha256(&amd), OCI_MANIFEST, &amd).expect(201, None);
    // One child present is not enough.
    r.put_manifest("ix/app", "multi", OCI_INDEX, &index).expect(400, Some("MANIFEST_BLOB_UNKNOWN"));
    r.put_manifest("ix/app", &sha256(&arm), OCI_MANIFEST, &arm).expect(201, None);
    let put = r.put_manifest("ix/app", "multi", OCI_INDEX, &index);
    put.expect(201, None);
    assert_eq!(put.header("docker-content-digest"), Some(sha256(&index)));
    let g = r.get("/v2/ix/app/manifests/multi");
    assert_eq!(g.body, index);
    assert_eq!(g.header("content-type").as_deref(), Some(OCI_INDEX));
    // Children in another repository do not count.
    r.image("ix/other", "amd64");
    r.put_manifest("ix/other", "multi", OCI_INDEX, &index).expect(400, Some("MANIFEST_BLOB_UNKNOWN"));
}

#[test]
fn push_by_digest_with_several_tags() {
    let r = Reg::start();
    let m = r.image("tg/app", "one");
    let d = sha256(&m);
    let put = r.put_manifest("tg/app", &format!("{d}?tag=a&tag=b"), OCI_MANIFEST, &m);
    put.expect(201, None);
    assert_eq!(put.header("docker-content-digest").as_deref(), Some(d.as_str()));
    assert_eq!(r.get("/v2/tg/app/tags/list").tags(), ["a", "b"]);
    for t in ["a", "b"] {
        let g = r.get(&format!("/v2/tg/app/manifests/{t}"));
        g.expect(200, None);
        assert_eq!(g.header("docker-content-digest").as_deref(), Some(d.as_str()));
    }
    // By digest without a tag: stored, untagged.
    let m2 = r.image("tg/app", "two");
    r.put_manifest("tg/app", &sha256(&m2), OCI_MANIFEST, &m2).expect(201, None);
    r.get(&format!("/v2/tg/app/manifests/{}", sha256(&m2))).expect(200, None);
    assert_eq!(r.get("/v2/tg/app/tags/list").tags(), ["a", "b"]);
}

#[test]
fn deletes() {
    let r = Reg::start();
    let (m, d) = r.push_image("del/app", "x", "one");
    r.put_manifest("del/app", "y", OCI_MANIFEST, &m).expect(201, None);

    // By tag: only the tag goes.
    r.req(Method::DELETE, "/v2/del/app/manifests/x", &[], None).expect(202, None);
    r.get("/v2/del/app/manifests/x").expect(404, Some("MANIFEST_UNKNOWN"));
    r.get("/v2/del/app/manifests/y").expect(200, None);
    r.get(&format!("/v2/del/app/manifests/{d}")).expect(200, None);
    assert_eq!(r.get("/v2/del/app/tags/list").tags(), ["y"]);
    r.req(Method::DELETE, "/v2/del/app/manifests/x", &[], None).expect(404, Some("MANIFEST_UNKNOWN"));

    // By digest: the manifest and every tag on it.
    r.req(Method::DELETE, &format!("/v2/del/app/manifests/{d}"), &[], None).expect(202, None);
    r.get(&format!("/v2/del/app/manifests/{d}")).expect(404, Some("MANIFEST_UNKNOWN"));
    assert_eq!(r.head(&format!("/v2/del/app/manifests/{d}")).status, 404);
    r.get("/v2/del/app/manifests/y").expect(404, Some("MANIFEST_UNKNOWN"));
    assert_eq!(r.get("/v2/del/app/tags/list").tags(), Vec::<String>::new());
    r.req(Method::DELETE, &format!("/v2/del/app/manifests/{d}"), &[], None).expect(404, Some("MANIFEST_UNKNOWN"));
    r.req(Method::DELETE, "/v2/del/none/manifests/x", &[], None).expect(404, Some("NAME_UNKNOWN"));

    // Blobs.
    let b = r.blob("del/app", b"a blob to delete");
    r.head(&format!("/v2/del/app/blobs/{b}")).expect(200, None);
    r.req(Method::DELETE, &format!("/v2/del/app/blobs/{b}"), &[], None).expect(202, None);
    assert_eq!(r.head(&format!("/v2/del/app/blobs/{b}")).status, 404);
    r.get(&format!("/v2/del/app/blobs/{b}")).expect(404, Some("BLOB_UNKNOWN"));
    r.req(Method::DELETE, &format!("/v2/del/app/blobs/{b}"), &[], None).expect(404, Some("BLOB_UNKNOWN"));
    r.req(Method::DELETE, "/v2/del/app/blobs/sha256:zz", &[], None).expect(400, Some("DIGEST_INVALID"));
}

// --- referrers ---------------------------------------------------------------------------------------

#[test]
fn referrers() {
    let r = Reg::start();
    let (subject, sd) = r.push_image("rf/app", "v1", "subject");
    let empty = b"{}";
    let empty_d = r.blob("rf/app", empty);
    assert_eq!(empty_d, "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a");
    let sbom = br#"{"bomFormat":"CycloneDX"}"#;
    r.blob("rf/app", sbom);
    let subject_desc = json!({"mediaType": OCI_MANIFEST, "digest": sd, "size": subject.len()});
    let sbom_type = "application/vnd.example.sbom.v1+json";
    let sig_type = "application/vnd.example.signature.v1+json";
    let a1 = serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": sbom_type,
        "config": desc(OCI_EMPTY, empty), "layers": [desc("application/vnd.cyclonedx+json", sbom)],
        "subject": subject_desc, "annotations": {"org.example.kind": "sbom", "org.opencontainers.image.created": "2024-01-01T00:00:00Z"},
    }))
    .unwrap();
    let a2 = serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": sig_type,
        "config": desc(OCI_EMPTY, empty), "layers": [desc(OCI_EMPTY, empty)],
        "subject": subject_desc, "annotations": {"org.example.kind": "signature"},
    }))
    .unwrap();
    // No artifactType: the config's media type stands in for it.
    let custom_config = "application/vnd.example.custom.config.v1+json";
    let a3 = serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": desc(custom_config, empty), "layers": [],
        "subject": subject_desc,
    }))
    .unwrap();
    for a in [&a1, &a2, &a3] {
        let put = r.put_manifest("rf/app", &sha256(a), OCI_MANIFEST, a);
        put.expect(201, None);
        assert_eq!(put.header("oci-subject").as_deref(), Some(sd.as_str()));
    }
    // A manifest without a subject has no OCI-Subject header.
    let (_, _) = r.push_image("rf/app", "plain", "plain");
    let plain = r.image("rf/app", "plain2");
    assert_eq!(r.put_manifest("rf/app", "plain2", OCI_MANIFEST, &plain).header("oci-subject"), None);

    let all = r.get(&format!("/v2/rf/app/referrers/{sd}"));
    all.expect(200, None);
    assert_eq!(all.header("content-type").as_deref(), Some(OCI_INDEX));
    assert_eq!(all.header("oci-filters-applied"), None);
    let idx = all.json();
    assert_eq!(idx["schemaVersion"], 2);
    assert_eq!(idx["mediaType"], OCI_INDEX);
    let list = idx["manifests"].as_array().unwrap();
    assert_eq!(list.len(), 3, "{idx}");
    let find = |a: &[u8]| list.iter().find(|m| m["digest"] == sha256(a)).cloned().unwrap_or(Value::Null);
    let m1 = find(&a1);
    assert_eq!(m1["artifactType"], sbom_type);
    assert_eq!(m1["mediaType"], OCI_MANIFEST);
    assert_eq!(m1["size"], a1.len());
    assert_eq!(m1["annotations"]["org.example.kind"], "sbom");
    assert_eq!(m1["annotations"]["org.opencontainers.image.created"], "2024-01-01T00:00:00Z");
    let m2 = find(&a2);
    assert_eq!(m2["artifactType"], sig_type);
    assert_eq!(m2["annotations"]["org.example.kind"], "signature");
    assert_eq!(find(&a3)["artifactType"], custom_config);

    // Percent-encoded as clients do: a bare `+` in a query is a space.
    let filtered = r.get(&format!("/v2/rf/app/referrers/{sd}?artifactType={}", sbom_type.replace('+', "%2B")));
    filtered.expect(200, None);
    assert_eq!(filtered.header("oci-filters-applied").as_deref(), Some("artifactType"));
    let fl = filtered.json()["manifests"].as_array().unwrap().clone();
    assert_eq!(fl.len(), 1);
    assert_eq!(fl[0]["digest"], sha256(&a1));
    let none = r.get(&format!("/v2/rf/app/referrers/{sd}?artifactType=application/x-none"));
    none.expect(200, None);
    assert_eq!(none.json()["manifests"], json!([]));

    // Unknown subject: an empty index, not a 404.
    let unknown = r.get(&format!("/v2/rf/app/referrers/{}", sha256(b"unknown")));
    unknown.expect(200, None);
    assert_eq!(unknown.header("content-type").as_deref(), Some(OCI_INDEX));
    assert_eq!(unknown.json()["manifests"], json!([]));
    r.get("/v2/rf/app/referrers/sha256:xyz").expect(400, Some("DIGEST_INVALID"));
    r.get("/v2/rf/app/referrers/latest").expect(400, Some("DIGEST_INVALID"));

    // A deleted referrer leaves the list.
    r.req(Method::DELETE, &format!("/v2/rf/app/manifests/{}", sha256(&a2)), &[], None).expect(202, None);
    let after = r.get(&format!("/v2/rf/app/referrers/{sd}"));
    assert_eq!(after.json()["manifests"].as_array().unwrap().len(), 2);
}

// --- blobs -------------------------------------------------------------------------------------------

#[test]
fn blob_ranges() {
    let r = Reg::start();
    let content: Vec<u8> = (0..100u8).collect();
    let d = r.blob("rg/app", &content);
    let full = r.get(&format!("/v2/rg/app/blobs/{d}"));
    full.expect(200, None);
    assert_eq!(full.body, content);
    assert_eq!(full.header("docker-content-digest").as_deref(), Some(d.as_str()));
    assert_eq!(full.header("accept-ranges").as_deref(), Some("bytes"));
    let h = r.head(&format!("/v2/rg/app/blobs/{d}"));
    h.expect(200, None);
    assert_eq!(h.header("content-length").as_deref(), Some("100"));
    assert!(h.body.is_empty());

    let get = |range: &str| r.req(Method::GET, &format!("/v2/rg/app/blobs/{d}"), &[("range", range)], None);
    for (range, start, end) in
        [("bytes=0-9", 0, 9), ("bytes=-5", 95, 99), ("bytes=90-", 90, 99), ("bytes=95-200", 95, 99)]
    {
        let p = get(range);
        p.expect(206, None);
        assert_eq!(p.body, content[start..=end], "{range}");
        assert_eq!(p.header("content-range"), Some(format!("bytes {start}-{end}/100")), "{range}");
        assert_eq!(p.header("content-length"), Some((end - start + 1).to_string()), "{range}");
    }
    for range in ["bytes=100-110", "bytes=200-"] {
        let p = get(range);
        p.expect(416, None);
        assert_eq!(p.header("content-range").as_deref(), Some("bytes */100"), "{range}");
    }
    r.get(&format!("/v2/rg/app/blobs/{}", sha256(b"absent"))).expect(404, Some("BLOB_UNKNOWN"));
    r.get("/v2/rg/app/blobs/sha256:short").expect(400, Some("DIGEST_INVALID"));
}

#[test]
fn chunked_uploads() {
    let r = Reg::start();
    let start = r.req(Method::POST, "/v2/up/app/blobs/uploads/", &[], None);
    start.expect(202, None);
    assert_eq!(start.header("range").as_deref(), Some("0-0"));
    let loc = start.header("location").unwrap();
    assert!(loc.starts_with("/v2/up/app/blobs/uploads/"), "{loc}");
    let id = loc.rsplit('/').next().unwrap().to_string();
    assert_eq!(start.header("docker-upload-uuid").as_deref(), Some(id.as_str()));

    let first = b"0123456789";
    let p = r.req(
        Method::PATCH,
        &loc,
        &[("content-range", "0-9"), ("content-type", "application/octet-stream")],
        Some(first.to_vec()),
    );
    p.expect(202, None);
    assert_eq!(p.header("range").as_deref(), Some("0-9"));
    let loc = p.header("location").unwrap_or(loc);
    // A chunk that does not continue where the upload stands.
    let bad = r.req(Method::PATCH, &loc, &[("content-range", "5-14")], Some(b"abcdefghij".to_vec()));
    bad.expect(416, None);
    assert_eq!(bad.header("range").as_deref(), Some("0-9"));
    let st = r.get(&loc);
    st.expect(204, None);
    assert_eq!(st.header("range").as_deref(), Some("0-9"));
    assert!(st.header("location").is_some());
    // A streamed chunk (no Content-Range), then the last one with the closing PUT.
    let second = b"abcdefghij";
    let p = r.req(Method::PATCH, &loc, &[], Some(second.to_vec()));
    p.expect(202, None);
    assert_eq!(p.header("range").as_deref(), Some("0-19"));
    let last = b"KLMNO";
    let whole: Vec<u8> = [&first[..], &second[..], &last[..]].concat();
    let d = sha256(&whole);
    let done = r.req(Method::PUT, &format!("{loc}?digest={d}"), &[], Some(last.to_vec()));
    done.expect(201, None);
    assert_eq!(done.header("location").as_deref(), Some(format!("/v2/up/app/blobs/{d}").as_str()));
    assert_eq!(done.header("docker-content-digest").as_deref(), Some(d.as_str()));
    assert_eq!(r.get(&format!("/v2/up/app/blobs/{d}")).body, whole);
    // The finished upload is gone.
    r.get(&loc).expect(404, Some("BLOB_UPLOAD_UNKNOWN"));

    // The closing PUT with a digest the content does not have.
    let loc = r.req(Method::POST, "/v2/up/app/blobs/uploads/", &[], None).header("location").unwrap();
    r.req(Method::PATCH, &loc, &[], Some(b"some bytes".to_vec())).expect(202, None);
    r.req(Method::PUT, &format!("{loc}?digest={}", sha256(b"other bytes")), &[], None)
        .expect(400, Some("DIGEST_INVALID"));
    r.get(&format!("/v2/up/app/blobs/{}", sha256(b"other bytes"))).expect(404, Some("BLOB_UNKNOWN"));
    // … and without a digest.
    let loc = r.req(Method::POST, "/v2/up/app/blobs/uploads/", &[], None).header("location").unwrap();
    r.req(Method::PUT, &loc, &[], Some(b"x".to_vec())).expect(400, Some("DIGEST_INVALID"));
    // Monolithic POST with a digest the body does not have.
    r.req(Method::POST, &format!("/v2/up/app/blobs/uploads/?digest={}", sha256(b"a")), &[], Some(b"b".to_vec()))
        .expect(400, Some("DIGEST_INVALID"));

    // Upload ids belong to their repository.
    let loc = r.req(Method::POST, "/v2/up/app/blobs/uploads/", &[], None).header("location").unwrap();
    let id = loc.rsplit('/').next().unwrap().to_string();
    let other = format!("/v2/up/other/blobs/uploads/{id}");
    r.req(Method::PATCH, &other, &[], Some(b"x".to_vec())).expect(404, Some("BLOB_UPLOAD_UNKNOWN"));
    r.get(&other).expect(404, Some("BLOB_UPLOAD_UNKNOWN"));
    r.req(Method::PUT, &format!("{other}?digest={}", sha256(b"")), &[], None).expect(404, Some("BLOB_UPLOAD_UNKNOWN"));
    r.req(Method::DELETE, &other, &[], None).expect(404, Some("BLOB_UPLOAD_UNKNOWN"));
    r.get("/v2/up/app/blobs/uploads/not-an-upload").expect(404, Some("BLOB_UPLOAD_UNKNOWN"));
    // Cancelling.
    r.req(Method::DELETE, &loc, &[], None).expect(204, None);
    r.get(&loc).expect(404, Some("BLOB_UPLOAD_UNKNOWN"));
    r.req(Method::DELETE, &loc, &[], None).expect(404, Some("BLOB_UPLOAD_UNKNOWN"));
    r.req(Method::PATCH, &loc, &[], Some(b"x".to_vec())).expect(404, Some("BLOB_UPLOAD_UNKNOWN"));
}

#[test]
fn cross_repository_mount() {
    let r = Reg::start();
    let d = r.blob("mnt/src", b"shared layer");
    let m = r.req(Method::POST, &format!("/v2/mnt/dst/blobs/uploads/?mount={d}&from=mnt/src"), &[], None);
    m.expect(201, None);
    assert_eq!(m.header("location").as_deref(), Some(format!("/v2/mnt/dst/blobs/{d}").as_str()));
    assert_eq!(m.header("docker-content-digest").as_deref(), Some(d.as_str()));
    assert_eq!(r.get(&format!("/v2/mnt/dst/blobs/{d}")).body, b"shared layer");

    // The source lacks it (though another repository has it): a plain upload instead.
    let other = r.blob("mnt/elsewhere", b"elsewhere");
    for (digest, from) in [(sha256(b"nowhere"), "mnt/src"), (other.clone(), "mnt/src"), (d.clone(), "mnt/missing")] {
        let p = r.req(Method::POST, &format!("/v2/mnt/dst2/blobs/uploads/?mount={digest}&from={from}"), &[], None);
        p.expect(202, None);
        assert!(p.header("location").unwrap().starts_with("/v2/mnt/dst2/blobs/uploads/"));
        assert_eq!(p.header("range").as_deref(), Some("0-0"));
    }
    assert_eq!(r.head(&format!("/v2/mnt/dst2/blobs/{other}")).status, 404);
    // The fallback upload works as any other.
    let p = r.req(Method::POST, &format!("/v2/mnt/dst2/blobs/uploads/?mount={other}&from=mnt/src"), &[], None);
    let loc = p.header("location").unwrap();
    r.req(Method::PUT, &format!("{loc}?digest={other}"), &[], Some(b"elsewhere".to_vec())).expect(201, None);
    r.head(&format!("/v2/mnt/dst2/blobs/{other}")).expect(200, None);
}

// --- the OCI conformance suite's failures (issue 11, section 6) ---------------------------------------
// Each test sends the requests opencontainers/distribution-spec `conformance/` sends (the v1.1.1
// Ginkgo suite and the redesigned suite at HEAD) and checks what it checks.

/// HEAD/GET of a manifest reference that is neither a tag nor a digest (v1.1.1's
/// `nonexistentManifest = ".INVALID_MANIFEST_NAME"`): 404, as for a missing tag; PUT of such a
/// reference still says TAG_INVALID.
#[test]
fn conformance_invalid_manifest_reference_is_unknown() {
    let r = Reg::start();
    let (m, _) = r.push_image("conf/pull", "v1", "pull");
    let h = r.req(Method::HEAD, "/v2/conf/pull/manifests/.INVALID_MANIFEST_NAME", &[], None);
    assert_eq!(h.status, 404, "HEAD {}", h.describe());
    r.get("/v2/conf/pull/manifests/.INVALID_MANIFEST_NAME").expect(404, Some("MANIFEST_UNKNOWN"));
    // In a repository that does not exist, the name is what is unknown (still 404).
    r.get("/v2/conf/nothing/manifests/.INVALID_MANIFEST_NAME").expect(404, Some("NAME_UNKNOWN"));
    r.put_manifest("conf/pull", ".INVALID_MANIFEST_NAME", OCI_MANIFEST, &m).expect(400, Some("TAG_INVALID"));
    // A reference shaped like a digest stays a bad digest (the suite accepts 400 or 404).
    r.get("/v2/conf/pull/manifests/sha256:baddigeststring").expect(400, Some("DIGEST_INVALID"));
}

/// HEAD's `TestReferrers` on "artifacts-with-subject": an image manifest (OCI image config, no
/// artifactType) with a subject is listed with the config's media type as its artifactType,
/// and the `artifactType` filter for that type finds it (Docker's config type too).
#[test]
fn conformance_referrers_artifact_type_of_image_configs() {
    let r = Reg::start();
    let (subject, sd) = r.push_image("conf/ref", "image", "subject");
    let subject_desc = json!({"mediaType": OCI_MANIFEST, "digest": sd, "size": subject.len()});
    let mut referrers = Vec::new();
    for (seed, config_type, manifest_type) in
        [("oci", OCI_CONFIG, OCI_MANIFEST), ("docker", DOCKER_CONFIG, DOCKER_MANIFEST)]
    {
        let config = serde_json::to_vec(&json!({"architecture": "amd64", "os": "linux",
            "rootfs": {"type": "layers", "diff_ids": []}, "config": {"Labels": {"seed": seed}}}))
        .unwrap();
        let layer = format!("referrer layer {seed}").into_bytes();
        r.blob("conf/ref", &config);
        r.blob("conf/ref", &layer);
        let m = serde_json::to_vec(&json!({
            "schemaVersion": 2, "mediaType": manifest_type,
            "config": desc(config_type, &config), "layers": [desc(OCI_LAYER, &layer)],
            "subject": subject_desc,
        }))
        .unwrap();
        let put = r.put_manifest("conf/ref", &sha256(&m), manifest_type, &m);
        put.expect(201, None);
        assert_eq!(put.header("oci-subject").as_deref(), Some(sd.as_str()));
        referrers.push((m, config_type, manifest_type));
    }
    let list = r.get(&format!("/v2/conf/ref/referrers/{sd}"));
    list.expect(200, None);
    let entries = list.json()["manifests"].as_array().cloned().unwrap_or_default();
    assert_eq!(entries.len(), 2, "{}", list.describe());
    for (m, config_type, manifest_type) in &referrers {
        let goal =
            json!({"mediaType": manifest_type, "digest": sha256(m), "size": m.len(), "artifactType": config_type});
        assert!(entries.contains(&goal), "{goal} missing from {entries:?}");
        let filtered = r.get(&format!("/v2/conf/ref/referrers/{sd}?artifactType={}", config_type.replace('+', "%2B")));
        filtered.expect(200, None);
        assert_eq!(filtered.header("oci-filters-applied").as_deref(), Some("artifactType"));
        assert_eq!(filtered.json()["manifests"], json!([goal]), "filter {config_type}");
    }
}

/// HEAD's "chunked out-of-order and put chunk" (`BlobPatchChunked` with `OutOfOrderChunks` and
/// `PutLastChunk`): a closing `PUT ?digest=` whose `Content-Range` does not start where the
/// upload stands is 416 with the upload's `Range`, like PATCH, and appends nothing; the client
/// recovers with GET (204, `Range: 0-<last>`) and finishes.
#[test]
fn conformance_closing_put_out_of_order_is_416() {
    let r = Reg::start();
    // Three chunks of 100 bytes, the last one short.
    let blob: Vec<u8> = (0..295u32).map(|i| (i * 7 % 251) as u8).collect();
    for (algo, d) in [("sha256", sha256(&blob)), ("sha512", sha512(&blob))] {
        let post = r.req(Method::POST, "/v2/conf/chunk/blobs/uploads/", &[("content-length", "0")], None);
        post.expect(202, None);
        let loc = post.header("location").unwrap();
        let patch = |start: usize, end: usize| {
            r.req(
                Method::PATCH,
                &loc,
                &[("content-type", "application/octet-stream"), ("content-range", &format!("{start}-{end}"))],
                Some(blob[start..=end].to_vec()),
            )
        };
        patch(0, 99).expect(202, None);
        patch(100, 199).expect(202, None);
        // The last chunk sent again from the start: the suite's `badStart = 0` case.
        let bad = r.req(
            Method::PUT,
            &format!("{loc}?digest={d}"),
            &[("content-type", "application/octet-stream"), ("content-range", "0-94")],
            Some(blob[0..=94].to_vec()),
        );
        assert_eq!(bad.status, 416, "{algo}: {}", bad.describe());
        assert_eq!(bad.header("range").as_deref(), Some("0-199"), "{algo}");
        // Skipping ahead is refused the same way.
        let ahead = r.req(
            Method::PUT,
            &format!("{loc}?digest={d}"),
            &[("content-type", "application/octet-stream"), ("content-range", "250-294")],
            Some(blob[250..=294].to_vec()),
        );
        assert_eq!(ahead.status, 416, "{algo}: {}", ahead.describe());
        let st = r.get(&loc);
        st.expect(204, None);
        assert_eq!(st.header("range").as_deref(), Some("0-199"), "{algo}: nothing was appended");
        let done = r.req(
            Method::PUT,
            &format!("{loc}?digest={d}"),
            &[("content-type", "application/octet-stream"), ("content-range", "200-294")],
            Some(blob[200..].to_vec()),
        );
        done.expect(201, None);
        assert_eq!(done.header("docker-content-digest").as_deref(), Some(d.as_str()));
        assert_eq!(r.get(&format!("/v2/conf/chunk/blobs/{d}")).body, blob, "{algo}");
    }
}

/// HEAD's "Blobs sha512" (every blob push API with sha512 digests), "Digest Algorithm sha512"
/// (an index, its images and their blobs pushed by sha512 digest) and "Tag Param sha512"; plus
/// the image-spec rules for other algorithms.
#[test]
fn conformance_sha512_digests_end_to_end() {
    let r = Reg::start();
    let repo = "conf/sha512";
    let octet = ("content-type", "application/octet-stream");
    let check_blob = |repo: &str, content: &[u8]| {
        let d = sha512(content);
        let h = r.head(&format!("/v2/{repo}/blobs/{d}"));
        h.expect(200, None);
        assert_eq!(h.header("content-length"), Some(content.len().to_string()));
        assert_eq!(h.header("docker-content-digest").as_deref(), Some(d.as_str()));
        let g = r.get(&format!("/v2/{repo}/blobs/{d}"));
        g.expect(200, None);
        assert_eq!(g.body, content);
        assert_eq!(g.header("docker-content-digest").as_deref(), Some(d.as_str()));
    };
    // post only (monolithic POST ?digest=).
    let post_only = b"sha512 post only".to_vec();
    let d = sha512(&post_only);
    let p = r.req(Method::POST, &format!("/v2/{repo}/blobs/uploads/?digest={d}"), &[octet], Some(post_only.clone()));
    p.expect(201, None);
    assert_eq!(p.header("location").as_deref(), Some(format!("/v2/{repo}/blobs/{d}").as_str()));
    assert_eq!(p.header("docker-content-digest").as_deref(), Some(d.as_str()));
    check_blob(repo, &post_only);
    // post+put.
    let post_put = b"sha512 post then put".to_vec();
    let d = sha512(&post_put);
    let loc = r.req(Method::POST, &format!("/v2/{repo}/blobs/uploads/"), &[], None).header("location").unwrap();
    let put = r.req(Method::PUT, &format!("{loc}?digest={d}"), &[octet], Some(post_put.clone()));
    put.expect(201, None);
    assert_eq!(put.header("docker-content-digest").as_deref(), Some(d.as_str()));
    check_blob(repo, &post_put);
    // chunked, closing PUT without a body; and streamed (PATCH without Content-Range).
    let chunked: Vec<u8> = (0..300u32).map(|i| (i % 256) as u8).collect();
    let d = sha512(&chunked);
    let loc = r
        .req(Method::POST, &format!("/v2/{repo}/blobs/uploads/"), &[("content-length", "0")], None)
        .header("location")
        .unwrap();
    for (start, end) in [(0usize, 99usize), (100, 199), (200, 299)] {
        r.req(
            Method::PATCH,
            &loc,
            &[octet, ("content-range", &format!("{start}-{end}"))],
            Some(chunked[start..=end].to_vec()),
        )
        .expect(202, None);
    }
    let put = r.req(Method::PUT, &format!("{loc}?digest={d}"), &[octet, ("content-length", "0")], None);
    put.expect(201, None);
    assert_eq!(put.header("docker-content-digest").as_deref(), Some(d.as_str()));
    check_blob(repo, &chunked);
    let streamed = b"sha512 streamed".to_vec();
    let d = sha512(&streamed);
    let loc = r.req(Method::POST, &format!("/v2/{repo}/blobs/uploads/"), &[], None).header("location").unwrap();
    r.req(Method::PATCH, &loc, &[octet], Some(streamed.clone())).expect(202, None);
    r.req(Method::PUT, &format!("{loc}?digest={d}"), &[], None).expect(201, None);
    check_blob(repo, &streamed);
    // bad digest: the content is not the digest's.
    let loc = r.req(Method::POST, &format!("/v2/{repo}/blobs/uploads/"), &[], None).header("location").unwrap();
    r.req(Method::PUT, &format!("{loc}?digest={}", sha512(b"other")), &[octet], Some(b"oh no".to_vec()))
        .expect(400, Some("DIGEST_INVALID"));
    // The same content under both algorithms: two blobs, each served under its own digest.
    let both = b"the same bytes".to_vec();
    r.blob(repo, &both);
    r.req(Method::POST, &format!("/v2/{repo}/blobs/uploads/?digest={}", sha512(&both)), &[], Some(both.clone()))
        .expect(201, None);
    check_blob(repo, &both);
    // mount from another repository.
    let mounted = b"sha512 mounted".to_vec();
    let d = sha512(&mounted);
    r.req(Method::POST, &format!("/v2/conf/sha512src/blobs/uploads/?digest={d}"), &[], Some(mounted.clone()))
        .expect(201, None);
    let m = r.req(Method::POST, &format!("/v2/{repo}/blobs/uploads/?mount={d}&from=conf/sha512src"), &[], None);
    m.expect(201, None);
    assert_eq!(m.header("location").as_deref(), Some(format!("/v2/{repo}/blobs/{d}").as_str()));
    assert_eq!(m.header("docker-content-digest").as_deref(), Some(d.as_str()));
    check_blob(repo, &mounted);
    // On disk beside sha256.
    let hex = d.strip_prefix("sha512:").unwrap();
    assert!(r.reg.data().join("blobs/sha512").join(hex).is_file(), "blobs/sha512/{hex}");
    // blob delete.
    r.req(Method::DELETE, &format!("/v2/{repo}/blobs/{d}"), &[], None).expect(202, None);
    r.head(&format!("/v2/{repo}/blobs/{d}")).expect(404, None);

    // An index of two images, every descriptor by sha512, pushed by digest with ?tag=.
    let mut children = Vec::new();
    for arch in ["amd64", "arm64"] {
        let config = serde_json::to_vec(
            &json!({"architecture": arch, "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}}),
        )
        .unwrap();
        let layer = format!("sha512 layer {arch}").into_bytes();
        for b in [&config, &layer] {
            r.req(Method::POST, &format!("/v2/{repo}/blobs/uploads/?digest={}", sha512(b)), &[], Some(b.to_vec()))
                .expect(201, None);
        }
        let m = serde_json::to_vec(&json!({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": sha512(&config), "size": config.len()},
            "layers": [{"mediaType": OCI_LAYER, "digest": sha512(&layer), "size": layer.len()}],
        }))
        .unwrap();
        let md = sha512(&m);
        let put = r.put_manifest(repo, &format!("{md}?tag=img-{arch}"), OCI_MANIFEST, &m);
        put.expect(201, None);
        assert_eq!(put.header("docker-content-digest").as_deref(), Some(md.as_str()));
        assert_eq!(put.header("location").as_deref(), Some(format!("/v2/{repo}/manifests/{md}").as_str()));
        children.push(json!({"mediaType": OCI_MANIFEST, "digest": md, "size": m.len(),
            "platform": {"architecture": arch, "os": "linux"}}));
        for reference in [md.clone(), format!("img-{arch}")] {
            let g = r.get(&format!("/v2/{repo}/manifests/{reference}"));
            g.expect(200, None);
            assert_eq!(g.body, m, "{reference}");
            assert_eq!(g.header("docker-content-digest").as_deref(), Some(md.as_str()), "{reference}");
            let h = r.head(&format!("/v2/{repo}/manifests/{reference}"));
            h.expect(200, None);
            assert_eq!(h.header("docker-content-digest").as_deref(), Some(md.as_str()), "HEAD {reference}");
        }
    }
    let index =
        serde_json::to_vec(&json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": children})).unwrap();
    let xd = sha512(&index);
    r.put_manifest(repo, &xd, OCI_INDEX, &index).expect(201, None);
    assert_eq!(r.get(&format!("/v2/{repo}/manifests/{xd}")).body, index);
    // Pushed by a sha512 digest the content does not have.
    r.put_manifest(repo, &sha512(b"not the index"), OCI_INDEX, &index).expect(400, Some("DIGEST_INVALID"));
    // Referrers of a sha512 subject.
    let empty = b"{}";
    r.req(Method::POST, &format!("/v2/{repo}/blobs/uploads/?digest={}", sha512(empty)), &[], Some(empty.to_vec()))
        .expect(201, None);
    let art = serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": "application/vnd.example.sbom",
        "config": {"mediaType": OCI_EMPTY, "digest": sha512(empty), "size": 2}, "layers": [],
        "subject": {"mediaType": OCI_INDEX, "digest": xd, "size": index.len()},
    }))
    .unwrap();
    let put = r.put_manifest(repo, &sha512(&art), OCI_MANIFEST, &art);
    put.expect(201, None);
    assert_eq!(put.header("oci-subject").as_deref(), Some(xd.as_str()));
    let refs = r.get(&format!("/v2/{repo}/referrers/{xd}"));
    refs.expect(200, None);
    assert_eq!(refs.json()["manifests"][0]["digest"], sha512(&art));
    // Deletes by sha512 digest.
    r.req(Method::DELETE, &format!("/v2/{repo}/manifests/{}", sha512(&art)), &[], None).expect(202, None);
    r.req(Method::DELETE, &format!("/v2/{repo}/manifests/{xd}"), &[], None).expect(202, None);
    r.head(&format!("/v2/{repo}/manifests/{xd}")).expect(404, None);

    // The image-spec grammar: unregistered algorithms are unsupported, malformed ones invalid.
    let unknown = r.get(&format!("/v2/{repo}/blobs/sha384:{}", "a".repeat(96)));
    unknown.expect(400, Some("DIGEST_INVALID"));
    assert!(unknown.message().contains("unsupported"), "{}", unknown.describe());
    for bad in [format!("sha512:{}", "a".repeat(64)), format!("sha512:{}", "A".repeat(128)), "sha512:".to_string()] {
        r.get(&format!("/v2/{repo}/blobs/{bad}")).expect(400, Some("DIGEST_INVALID"));
        r.get(&format!("/v2/{repo}/manifests/{bad}")).expect(400, Some("DIGEST_INVALID"));
    }
}

// --- policies and limits -------------------------------------------------------------------------------

#[test]
fn immutable_tags() {
    let r = Reg::start();
    r.reg.project("imm", &["--immutable-tags", "true"]);
    let (one, d1) = r.push_image("imm/app", "v1", "one");
    let two = r.image("imm/app", "two");
    let moved = r.put_manifest("imm/app", "v1", OCI_MANIFEST, &two);
    moved.expect(409, Some("DENIED"));
    let g = r.get("/v2/imm/app/manifests/v1");
    assert_eq!(g.header("docker-content-digest").as_deref(), Some(d1.as_str()));
    // The same content again is fine; new tags are fine.
    r.put_manifest("imm/app", "v1", OCI_MANIFEST, &one).expect(201, None);
    r.put_manifest("imm/app", "v2", OCI_MANIFEST, &two).expect(201, None);
    // cosign's signature tags are rewritten as signatures accumulate.
    let sig_tag = format!("sha256-{}.sig", &d1["sha256:".len()..]);
    r.put_manifest("imm/app", &sig_tag, OCI_MANIFEST, &one).expect(201, None);
    r.put_manifest("imm/app", &sig_tag, OCI_MANIFEST, &two).expect(201, None);
    assert_eq!(r.get(&format!("/v2/imm/app/manifests/{sig_tag}")).header("docker-content-digest"), Some(sha256(&two)));
    // Tags in a mutable project move.
    r.push_image("mut/app", "v1", "one");
    r.put_manifest("mut/app", "v1", OCI_MANIFEST, &r.image("mut/app", "two")).expect(201, None);
}

/// A push refused for one of its tags leaves nothing behind (the spec's PUT is one operation).
#[test]
fn immutable_tag_refusal_is_all_or_nothing() {
    let r = Reg::start();
    r.reg.project("imm", &["--immutable-tags", "true"]);
    let (_, d1) = r.push_image("imm/app", "v1", "one");
    let two = r.image("imm/app", "two");
    let d2 = sha256(&two);
    r.put_manifest("imm/app", &format!("{d2}?tag=fresh&tag=v1"), OCI_MANIFEST, &two).expect(409, Some("DENIED"));
    assert_eq!(r.get("/v2/imm/app/manifests/v1").header("docker-content-digest"), Some(d1));
    r.get("/v2/imm/app/manifests/fresh").expect(404, Some("MANIFEST_UNKNOWN"));
}

/// Harbor refuses deleting immutable tags: deleting one and pushing it again would move it.
/// Deleting by digest a manifest that holds an immutable tag is the same move, refused too;
/// untagged manifests, cosign's tags and mutable projects delete as before.
#[test]
fn immutable_tags_cannot_be_deleted_and_pushed_again() {
    let r = Reg::start();
    r.reg.project("imm", &["--immutable-tags", "true"]);
    let (_, d1) = r.push_image("imm/app", "v1", "one");
    let del = r.req(Method::DELETE, "/v2/imm/app/manifests/v1", &[], None);
    del.expect(409, Some("DENIED"));
    assert!(del.message().contains("immutable") && del.message().contains("v1"), "{}", del.describe());
    let del = r.req(Method::DELETE, &format!("/v2/imm/app/manifests/{d1}"), &[], None);
    del.expect(409, Some("DENIED"));
    assert!(del.message().contains("v1"), "{}", del.describe());
    // The tag still names the first image, and cannot be moved by a push either.
    let two = r.image("imm/app", "two");
    r.put_manifest("imm/app", "v1", OCI_MANIFEST, &two).expect(409, Some("DENIED"));
    assert_eq!(r.get("/v2/imm/app/manifests/v1").header("docker-content-digest"), Some(d1.clone()));
    // An untagged manifest in the immutable project can be deleted.
    let d2 = sha256(&two);
    r.put_manifest("imm/app", &d2, OCI_MANIFEST, &two).expect(201, None);
    r.req(Method::DELETE, &format!("/v2/imm/app/manifests/{d2}"), &[], None).expect(202, None);
    // cosign's signature tags are not immutable: they can go.
    let sig_tag = format!("sha256-{}.sig", &d1["sha256:".len()..]);
    r.put_manifest("imm/app", &sig_tag, OCI_MANIFEST, &r.image("imm/app", "sig")).expect(201, None);
    r.req(Method::DELETE, &format!("/v2/imm/app/manifests/{sig_tag}"), &[], None).expect(202, None);
    // A mutable project deletes tags as before.
    r.push_image("mut/app", "v1", "one");
    r.req(Method::DELETE, "/v2/mut/app/manifests/v1", &[], None).expect(202, None);
}

#[test]
fn manifest_size_limit() {
    let r = Reg::start();
    let base: Value = serde_json::from_slice(&r.image("big/app", "one")).unwrap();
    let with_padding = |n: usize| {
        let mut m = base.clone();
        m["annotations"] = json!({"padding": "x".repeat(n)});
        serde_json::to_vec(&m).unwrap()
    };
    // Just under 4 MiB is accepted; over it is 413.
    let under = with_padding((4 << 20) - 1024);
    assert!(under.len() <= 4 << 20);
    r.put_manifest("big/app", "under", OCI_MANIFEST, &under).expect(201, None);
    assert_eq!(r.get("/v2/big/app/manifests/under").body, under);
    let over = with_padding((4 << 20) + 1024);
    r.put_manifest("big/app", "over", OCI_MANIFEST, &over).expect(413, None);
    r.get("/v2/big/app/manifests/over").expect(404, Some("MANIFEST_UNKNOWN"));
}

// --- connection limits and metrics cardinality (issue 10) --------------------------------------

/// A raw request on a new connection; the whole answer (the server closes: HTTP/1.0).
fn raw(host: &str, req: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(host).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(5))).unwrap();
    s.write_all(req.as_bytes()).unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

/// Whether the server has closed `s` (EOF or reset) within `within`.
fn closed_within(s: &mut std::net::TcpStream, within: std::time::Duration) -> bool {
    use std::io::Read;
    s.set_read_timeout(Some(within)).unwrap();
    let mut buf = Vec::new();
    match s.read_to_end(&mut buf) {
        Ok(_) => true,
        Err(e) => e.kind() == std::io::ErrorKind::ConnectionReset,
    }
}

/// D8: slowloris. Connections holding a partial header (or nothing) are closed after the
/// header timeout; while they are open, the reserve still serves `/healthz` and callers with
/// credentials, and refuses the rest quickly (503).
#[test]
fn slow_headers_time_out_and_the_reserve_serves_probes() {
    use std::io::Write;
    let reg = OwnRegistry::start(
        "anonymous = \"full\"",
        "[scan]\non_push = false\n[connections]\nheader_timeout_secs = 2\nidle_timeout_secs = 2\nmax = 40\nreserved = 5\nper_client = 1000",
    );
    let host = reg.host();
    let start = std::time::Instant::now();
    let mut slow: Vec<std::net::TcpStream> = (0..36)
        .map(|i| {
            let mut s = std::net::TcpStream::connect(&host).unwrap();
            if i % 6 != 0 {
                s.write_all(b"GET /v2/ HTTP/1.1\r\nHost: x\r\nX-Slow: ").unwrap();
            }
            s
        })
        .collect();
    std::thread::sleep(std::time::Duration::from_millis(300));
    // 36 of 40 are taken: a new connection is in the reserve.
    let health = raw(&host, "GET /healthz HTTP/1.0\r\nHost: x\r\n\r\n");
    assert!(health.starts_with("HTTP/1.0 200") || health.starts_with("HTTP/1.1 200"), "{health}");
    let anon = raw(&host, "GET /v2/ HTTP/1.0\r\nHost: x\r\n\r\n");
    assert!(anon.starts_with("HTTP/1.1 503") || anon.starts_with("HTTP/1.0 503"), "{anon}");
    assert!(anon.to_ascii_lowercase().contains("retry-after: 1"), "{anon}");
    // With credentials (here wrong ones): served, so the answer is the API's own.
    let authed = raw(&host, "GET /v2/ HTTP/1.0\r\nHost: x\r\nAuthorization: Basic bm9ib2R5Ondyb25n\r\n\r\n");
    assert!(authed.starts_with("HTTP/1.0 401") || authed.starts_with("HTTP/1.1 401"), "{authed}");
    // Every slow connection is closed by the header timeout (2 s), not left open.
    for (i, s) in slow.iter_mut().enumerate() {
        let left = std::time::Duration::from_secs(6).saturating_sub(start.elapsed());
        assert!(closed_within(s, left.max(std::time::Duration::from_millis(10))), "slow connection {i} still open");
    }
    let took = start.elapsed();
    assert!(took >= std::time::Duration::from_millis(1500), "closed after {took:?}: before the header timeout");
    // Out of the reserve again: anonymous requests are served.
    let anon = raw(&host, "GET /v2/ HTTP/1.0\r\nHost: x\r\n\r\n");
    assert!(anon.starts_with("HTTP/1.0 200") || anon.starts_with("HTTP/1.1 200"), "{anon}");
    // A keep-alive connection left idle after a request is closed too.
    let mut idle = std::net::TcpStream::connect(&host).unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let t = std::time::Instant::now();
    assert!(closed_within(&mut idle, std::time::Duration::from_secs(6)), "idle connection still open");
    assert!(t.elapsed() >= std::time::Duration::from_millis(1500), "idle connection closed after {:?}", t.elapsed());
}

/// D8: one client address holds at most `per_client` connections; others are unaffected.
#[test]
fn one_client_cannot_take_every_connection() {
    use std::io::Write;
    let reg = OwnRegistry::start(
        "anonymous = \"full\"",
        "[scan]\non_push = false\n[connections]\nheader_timeout_secs = 30\nper_client = 5",
    );
    let host = reg.host();
    // The readiness probe's connection may still be winding down on the server: let it go.
    std::thread::sleep(std::time::Duration::from_millis(500));
    // std connects from 127.0.0.1; the other client binds 127.0.0.3.
    let mut held: Vec<std::net::TcpStream> = (0..5).map(|_| std::net::TcpStream::connect(&host).unwrap()).collect();
    for s in &mut held {
        s.write_all(b"GET /v2/ HTTP/1.1\r\nHost: x\r\n").unwrap();
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    for (i, s) in held.iter_mut().enumerate() {
        assert!(!closed_within(s, std::time::Duration::from_millis(50)), "held connection {i} was refused");
    }
    let mut sixth = std::net::TcpStream::connect(&host).unwrap();
    assert!(
        closed_within(&mut sixth, std::time::Duration::from_secs(3)),
        "a sixth connection from one address was kept"
    );
    let other =
        Client::builder().no_proxy().local_address("127.0.0.3".parse::<std::net::IpAddr>().unwrap()).build().unwrap();
    assert_eq!(other.get(reg.url("/v2/")).send().unwrap().status(), 200);
    for s in &mut held {
        assert!(!closed_within(s, std::time::Duration::from_millis(100)), "held connection closed early");
    }
}

/// D9: invented request methods do not become metrics series.
#[test]
fn invented_methods_do_not_grow_metrics() {
    let r = Reg::start();
    for i in 0..1000 {
        let m = Method::from_bytes(format!("M{i:07}X").as_bytes()).unwrap();
        let resp = r.req(m, "/v2/", &[], None);
        assert!(resp.status < 500, "{}", resp.describe());
    }
    let m = r.get("/metrics");
    m.expect(200, None);
    let text = String::from_utf8_lossy(&m.body);
    let series = text.lines().filter(|l| l.starts_with("bulwark_registry_http_requests_total{")).count();
    assert!(series <= 10, "{series} request series after 1,000 invented methods");
    assert!(text.contains("method=\"other\""), "{text}");
    assert!(!text.contains("M0000998X"), "an invented method is a label value");
    assert!(text.len() < 20_000, "/metrics is {} bytes", text.len());
}
