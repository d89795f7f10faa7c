#![allow(clippy::unwrap_used, clippy::expect_used)]
//! `bulwark registry` access control: every principal × every endpoint × a private and a public
//! project, with basic auth on each request and with tokens fetched the way Docker fetches them;
//! leak checks (a denied pull answers like a missing repository); forged, expired, tampered and
//! unsigned tokens.

use crate::common;

use crate::common::http::Resp;

use crate::common::own_registry::{self, OwnRegistry, TOKEN_SECRET};
use base64::Engine;
use reqwest::blocking::Client;
use reqwest::Method;
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};

const SERVICE: &str = "bulwark-registry";
const PASSWORD: &str = "correct-horse-battery";

// --- principals ----------------------------------------------------------------------------------

/// Column order of every expectation table.
const WHO: [&str; 8] = ["admin", "padmin", "pusher", "puller", "teamb", "robot", "expired", "anon"];
const ADMIN: usize = 0;
const PADMIN: usize = 1;
const PUSHER: usize = 2;
const PULLER: usize = 3;
const TEAMB: usize = 4;
const ROBOT: usize = 5;
const EXPIRED: usize = 6;
const ANON: usize = 7;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Proj {
    /// `team-a`, private.
    A,
    /// `pub`, public.
    P,
}

impl Proj {
    fn repo(self) -> &'static str {
        match self {
            Proj::A => "team-a/app",
            Proj::P => "pub/app",
        }
    }
    fn short(self) -> &'static str {
        match self {
            Proj::A => "a",
            Proj::P => "p",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Mode {
    /// Basic credentials on every request.
    Basic,
    /// A token from `/token` (scope `repository:<repo>:pull,push,delete`), as Docker does.
    Token,
}

#[derive(Clone, Debug)]
enum Auth {
    None,
    Basic(String, String),
    Bearer(String),
}

struct Setup {
    reg: OwnRegistry,
    client: Client,
    /// `(user, password)` per principal; `None` for anonymous.
    creds: Vec<Option<(String, String)>>,
    tag: String,
    digest: String,
    config: String,
    manifest: Vec<u8>,
    media_type: String,
}

impl Setup {
    fn admin(&self) -> Auth {
        let (u, p) = self.creds[ADMIN].clone().unwrap();
        Auth::Basic(u, p)
    }
    fn basic(&self, who: usize) -> Auth {
        match &self.creds[who] {
            Some((u, p)) => Auth::Basic(u.clone(), p.clone()),
            None => Auth::None,
        }
    }
    fn url(&self, path: &str) -> String {
        self.reg.url(path)
    }
    fn send(&self, method: Method, path: &str, auth: &Auth, headers: &[(&str, &str)], body: Option<Vec<u8>>) -> Resp {
        let url = if path.starts_with("http") { path.to_string() } else { self.url(path) };
        send(&self.client, method, &url, auth, headers, body)
    }
    /// A token the way Docker asks for one: GET /token with basic auth (none for anonymous).
    fn token(&self, who: usize, scope: &str) -> Resp {
        let mut rb = self.client.get(self.url("/token")).query(&[("service", SERVICE), ("scope", scope)]);
        if let Some((u, p)) = &self.creds[who] {
            rb = rb.basic_auth(u, Some(p));
        }
        Resp::from_response(rb.send().unwrap())
    }
}

fn send(c: &Client, method: Method, url: &str, auth: &Auth, headers: &[(&str, &str)], body: Option<Vec<u8>>) -> Resp {
    let mut rb = c.request(method, url);
    rb = match auth {
        Auth::None => rb,
        Auth::Basic(u, p) => rb.basic_auth(u, Some(p)),
        Auth::Bearer(t) => rb.bearer_auth(t),
    };
    for (k, v) in headers {
        rb = rb.header(*k, *v);
    }
    if let Some(b) = body {
        rb = rb.body(b);
    }
    Resp::from_response(rb.send().unwrap())
}

fn sha256(b: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(b)))
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

/// A registry with projects `team-a` (private), `team-b` (private) and `pub` (public), an image
/// in each, and one account per principal.
/// Needs skopeo: call `require_tool!("skopeo")` first.
fn setup() -> Setup {
    let reg = OwnRegistry::start("", "[scan]\non_push = false");
    reg.project("team-a", &[]);
    reg.project("team-b", &[]);
    reg.project("pub", &["--public", "true"]);
    reg.add_user("root", PASSWORD, &[], true);
    reg.add_user("alice", PASSWORD, &["team-a:admin"], false);
    reg.add_user("pat", PASSWORD, &["team-a:push"], false);
    reg.add_user("paul", PASSWORD, &["team-a:pull"], false);
    reg.add_user("bob", PASSWORD, &["team-b:pull"], false);
    let robot = reg.add_robot("reader", &["team-a:pull"], None);
    // `--expires-days 0`: it expires the moment it is made.
    let expired = reg.add_robot("old", &["team-a:pull"], Some(0));
    let creds = vec![
        Some(("root".to_string(), PASSWORD.to_string())),
        Some(("alice".to_string(), PASSWORD.to_string())),
        Some(("pat".to_string(), PASSWORD.to_string())),
        Some(("paul".to_string(), PASSWORD.to_string())),
        Some(("bob".to_string(), PASSWORD.to_string())),
        Some(robot),
        Some(expired),
        None,
    ];

    let layout = common::image("rust-app");
    let tag = own_registry::layout_tag(&layout);
    for repo in ["team-a/app", "team-b/app", "pub/app"] {
        let out = reg.skopeo_push(
            &format!("oci:{}:{tag}", layout.display()),
            &format!("{repo}:{tag}"),
            Some(&format!("root:{PASSWORD}")),
        );
        assert!(out.status.success(), "skopeo push {repo}: {}\n{}", String::from_utf8_lossy(&out.stderr), reg.log());
    }
    let client = Client::builder().no_proxy().timeout(std::time::Duration::from_secs(60)).build().unwrap();
    let mut s = Setup {
        reg,
        client,
        creds,
        tag: tag.clone(),
        digest: String::new(),
        config: String::new(),
        manifest: Vec::new(),
        media_type: String::new(),
    };
    let r = s.send(Method::GET, &format!("/v2/team-a/app/manifests/{tag}"), &s.admin(), &[], None);
    assert_eq!(r.status, 200, "{}", r.describe());
    s.digest = r.header("docker-content-digest").unwrap();
    s.media_type = r.header("content-type").unwrap();
    assert_eq!(sha256(&r.body), s.digest);
    s.config = r.json()["config"]["digest"].as_str().unwrap().to_string();
    s.manifest = r.body;
    s
}

// --- the matrix ------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq)]
enum Ep {
    Base,
    ManifestGetTag,
    ManifestHeadTag,
    ManifestGetDigest,
    ManifestHeadDigest,
    BlobGet,
    BlobHead,
    TagsList,
    Catalog,
    Referrers,
    UploadStart,
    UploadMonolithic,
    UploadPatch,
    UploadPut,
    UploadStatus,
    UploadCancel,
    ManifestPut,
    ManifestDeleteTag,
    BlobDelete,
    ApiProjects,
    ApiProjectCreate,
    ApiUserCreate,
    ApiScan,
}

impl Ep {
    fn is_head(self) -> bool {
        matches!(self, Ep::ManifestHeadTag | Ep::ManifestHeadDigest | Ep::BlobHead)
    }
    fn is_mgmt(self) -> bool {
        matches!(self, Ep::ApiProjects | Ep::ApiProjectCreate | Ep::ApiUserCreate | Ep::ApiScan)
    }
}

// Legend: a bare number is the status; with a word, also the OCI error code of the body.
const U: &str = "401 UNAUTHORIZED";
const N: &str = "404 NAME_UNKNOWN";
const D: &str = "403 DENIED";
const S: &str = "404 NOT_SCANNED";
const M: &str = "404 MANIFEST_UNKNOWN";

use Proj::{A, P};

/// Columns: admin (system), padmin (team-a:admin), pusher (team-a:push), puller (team-a:pull),
/// teamb (team-b:pull only), robot (team-a:pull), expired robot, anonymous.
/// The server runs with the default `anonymous = "public"`.
#[rustfmt::skip]
const TABLE: &[(Ep, Proj, [&str; 8])] = &[
    //                                admin  padmin pusher puller teamb  robot  expired anon
    (Ep::Base,               A, ["200", "200", "200", "200", "200", "200", U,     U]),
    (Ep::Base,               P, ["200", "200", "200", "200", "200", "200", U,     U]),
    (Ep::ManifestGetTag,     A, ["200", "200", "200", "200", N,     "200", U,     U]),
    (Ep::ManifestGetTag,     P, ["200", "200", "200", "200", "200", "200", U,     "200"]),
    (Ep::ManifestHeadTag,    A, ["200", "200", "200", "200", "404", "200", "401", "401"]),
    (Ep::ManifestHeadTag,    P, ["200", "200", "200", "200", "200", "200", "401", "200"]),
    (Ep::ManifestGetDigest,  A, ["200", "200", "200", "200", N,     "200", U,     U]),
    (Ep::ManifestGetDigest,  P, ["200", "200", "200", "200", "200", "200", U,     "200"]),
    (Ep::ManifestHeadDigest, A, ["200", "200", "200", "200", "404", "200", "401", "401"]),
    (Ep::ManifestHeadDigest, P, ["200", "200", "200", "200", "200", "200", "401", "200"]),
    (Ep::BlobGet,            A, ["200", "200", "200", "200", N,     "200", U,     U]),
    (Ep::BlobGet,            P, ["200", "200", "200", "200", "200", "200", U,     "200"]),
    (Ep::BlobHead,           A, ["200", "200", "200", "200", "404", "200", "401", "401"]),
    (Ep::BlobHead,           P, ["200", "200", "200", "200", "200", "200", "401", "200"]),
    (Ep::TagsList,           A, ["200", "200", "200", "200", N,     "200", U,     U]),
    (Ep::TagsList,           P, ["200", "200", "200", "200", "200", "200", U,     "200"]),
    (Ep::Catalog,            A, ["200", "200", "200", "200", "200", "200", U,     "200"]),
    (Ep::Catalog,            P, ["200", "200", "200", "200", "200", "200", U,     "200"]),
    (Ep::Referrers,          A, ["200", "200", "200", "200", N,     "200", U,     U]),
    (Ep::Referrers,          P, ["200", "200", "200", "200", "200", "200", U,     "200"]),
    (Ep::UploadStart,        A, ["202", "202", "202", D,     D,     D,     U,     U]),
    (Ep::UploadStart,        P, ["202", D,     D,     D,     D,     D,     U,     U]),
    (Ep::UploadMonolithic,   A, ["201", "201", "201", D,     D,     D,     U,     U]),
    (Ep::UploadMonolithic,   P, ["201", D,     D,     D,     D,     D,     U,     U]),
    (Ep::UploadPatch,        A, ["202", "202", "202", D,     D,     D,     U,     U]),
    (Ep::UploadPatch,        P, ["202", D,     D,     D,     D,     D,     U,     U]),
    (Ep::UploadPut,          A, ["201", "201", "201", D,     D,     D,     U,     U]),
    (Ep::UploadPut,          P, ["201", D,     D,     D,     D,     D,     U,     U]),
    (Ep::UploadStatus,       A, ["204", "204", "204", D,     D,     D,     U,     U]),
    (Ep::UploadStatus,       P, ["204", D,     D,     D,     D,     D,     U,     U]),
    (Ep::UploadCancel,       A, ["204", "204", "204", D,     D,     D,     U,     U]),
    (Ep::UploadCancel,       P, ["204", D,     D,     D,     D,     D,     U,     U]),
    (Ep::ManifestPut,        A, ["201", "201", "201", D,     D,     D,     U,     U]),
    (Ep::ManifestPut,        P, ["201", D,     D,     D,     D,     D,     U,     U]),
    (Ep::ManifestDeleteTag,  A, ["202", "202", D,     D,     D,     D,     U,     U]),
    (Ep::ManifestDeleteTag,  P, ["202", D,     D,     D,     D,     D,     U,     U]),
    (Ep::BlobDelete,         A, ["202", "202", D,     D,     D,     D,     U,     U]),
    (Ep::BlobDelete,         P, ["202", D,     D,     D,     D,     D,     U,     U]),
    (Ep::ApiProjects,        A, ["200", "200", "200", "200", "200", "200", U,     "200"]),
    (Ep::ApiProjectCreate,   A, ["201", D,     D,     D,     D,     D,     U,     U]),
    (Ep::ApiUserCreate,      A, ["201", D,     D,     D,     D,     D,     U,     U]),
    (Ep::ApiScan,            A, [S,     S,     S,     S,     M,     S,     U,     U]),
    (Ep::ApiScan,            P, [S,     S,     S,     S,     S,     S,     U,     S]),
];

/// What `_catalog` lists for each principal: only what it may pull.
fn expected_catalog(who: usize) -> Vec<&'static str> {
    match who {
        ADMIN => vec!["pub/app", "team-a/app", "team-b/app"],
        PADMIN | PUSHER | PULLER | ROBOT => vec!["pub/app", "team-a/app"],
        TEAMB => vec!["pub/app", "team-b/app"],
        ANON => vec!["pub/app"],
        _ => Vec::new(),
    }
}

/// What `GET /api/v1/projects` lists: public projects and the caller's own.
fn expected_projects(who: usize) -> Vec<&'static str> {
    match who {
        ADMIN => vec!["pub", "team-a", "team-b"],
        PADMIN | PUSHER | PULLER | ROBOT => vec!["pub", "team-a"],
        TEAMB => vec!["pub", "team-b"],
        ANON => vec!["pub"],
        _ => Vec::new(),
    }
}

/// The credential a principal presents in `mode` for `proj`'s repository.
fn auth_for(s: &Setup, who: usize, mode: Mode, proj: Proj) -> Auth {
    match mode {
        Mode::Basic => s.basic(who),
        Mode::Token => {
            let r = s.token(who, &format!("repository:{}:pull,push,delete", proj.repo()));
            if who == EXPIRED {
                // No token for an expired account; it can only keep presenting its secret.
                assert_eq!(r.status, 401, "token for an expired robot: {}", r.describe());
                return s.basic(who);
            }
            assert_eq!(r.status, 200, "token for {}: {}", WHO[who], r.describe());
            Auth::Bearer(r.json()["token"].as_str().unwrap().to_string())
        }
    }
}

/// An upload started by the system admin in `repo`; returns its absolute URL.
fn admin_upload(s: &Setup, repo: &str) -> String {
    let r = s.send(Method::POST, &format!("/v2/{repo}/blobs/uploads/"), &s.admin(), &[], None);
    assert_eq!(r.status, 202, "{}", r.describe());
    s.url(&r.header("location").unwrap())
}

/// A blob pushed by the system admin into `repo`; returns its digest.
fn admin_blob(s: &Setup, repo: &str, content: &[u8]) -> String {
    let d = sha256(content);
    let r =
        s.send(Method::POST, &format!("/v2/{repo}/blobs/uploads/?digest={d}"), &s.admin(), &[], Some(content.to_vec()));
    assert_eq!(r.status, 201, "{}", r.describe());
    d
}

/// Run one cell; returns the response and, when the request had a visible effect (or should
/// have had none), a follow-up check as an error string.
fn run_cell(s: &Setup, ep: Ep, proj: Proj, who: usize, mode: Mode, auth: &Auth) -> (Resp, Option<String>) {
    let repo = proj.repo();
    let suffix = format!("{}-{}-{}", if mode == Mode::Basic { "b" } else { "t" }, WHO[who], proj.short());
    let get = |p: &str| s.send(Method::GET, p, auth, &[], None);
    let head = |p: &str| s.send(Method::HEAD, p, auth, &[], None);
    let mut problem = None;
    let r = match ep {
        Ep::Base => get("/v2/"),
        Ep::ManifestGetTag => get(&format!("/v2/{repo}/manifests/{}", s.tag)),
        Ep::ManifestHeadTag => head(&format!("/v2/{repo}/manifests/{}", s.tag)),
        Ep::ManifestGetDigest => get(&format!("/v2/{repo}/manifests/{}", s.digest)),
        Ep::ManifestHeadDigest => head(&format!("/v2/{repo}/manifests/{}", s.digest)),
        Ep::BlobGet => get(&format!("/v2/{repo}/blobs/{}", s.config)),
        Ep::BlobHead => head(&format!("/v2/{repo}/blobs/{}", s.config)),
        Ep::TagsList => get(&format!("/v2/{repo}/tags/list")),
        Ep::Referrers => get(&format!("/v2/{repo}/referrers/{}", s.digest)),
        Ep::Catalog => {
            let r = get("/v2/_catalog");
            if r.status == 200 {
                let got: Vec<String> = r.json()["repositories"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_str().unwrap().to_string())
                    .collect();
                if got != expected_catalog(who) {
                    problem = Some(format!("catalog lists {got:?}, expected {:?}", expected_catalog(who)));
                }
            }
            r
        }
        Ep::UploadStart => s.send(Method::POST, &format!("/v2/{repo}/blobs/uploads/"), auth, &[], None),
        Ep::UploadMonolithic => {
            let content = format!("monolithic-{suffix}").into_bytes();
            let d = sha256(&content);
            let r = s.send(Method::POST, &format!("/v2/{repo}/blobs/uploads/?digest={d}"), auth, &[], Some(content));
            let after = s.send(Method::HEAD, &format!("/v2/{repo}/blobs/{d}"), &s.admin(), &[], None);
            if (r.status == 201) != (after.status == 200) {
                problem = Some(format!("after {} the blob HEAD is {}", r.status, after.status));
            }
            r
        }
        Ep::UploadPatch => {
            let loc = admin_upload(s, repo);
            s.send(
                Method::PATCH,
                &loc,
                auth,
                &[("content-range", "0-4"), ("content-type", "application/octet-stream")],
                Some(b"12345".to_vec()),
            )
        }
        Ep::UploadPut => {
            let loc = admin_upload(s, repo);
            let content = format!("chunk-{suffix}").into_bytes();
            let d = sha256(&content);
            s.send(Method::PUT, &format!("{loc}?digest={d}"), auth, &[], Some(content))
        }
        Ep::UploadStatus => get(&admin_upload(s, repo)),
        Ep::UploadCancel => {
            let loc = admin_upload(s, repo);
            let r = s.send(Method::DELETE, &loc, auth, &[], None);
            let after = s.send(Method::GET, &loc, &s.admin(), &[], None);
            let want = if r.status == 204 { 404 } else { 204 };
            if after.status != want {
                problem = Some(format!("after {} the upload status is {}", r.status, after.status));
            }
            r
        }
        Ep::ManifestPut => {
            let tag = format!("put-{suffix}");
            let r = s.send(
                Method::PUT,
                &format!("/v2/{repo}/manifests/{tag}"),
                auth,
                &[("content-type", &s.media_type)],
                Some(s.manifest.clone()),
            );
            let after = s.send(Method::HEAD, &format!("/v2/{repo}/manifests/{tag}"), &s.admin(), &[], None);
            if (r.status == 201) != (after.status == 200) {
                problem = Some(format!("after {} the new tag answers {}", r.status, after.status));
            }
            r
        }
        Ep::ManifestDeleteTag => {
            let tag = format!("del-{suffix}");
            let put = s.send(
                Method::PUT,
                &format!("/v2/{repo}/manifests/{tag}"),
                &s.admin(),
                &[("content-type", &s.media_type)],
                Some(s.manifest.clone()),
            );
            assert_eq!(put.status, 201, "{}", put.describe());
            let r = s.send(Method::DELETE, &format!("/v2/{repo}/manifests/{tag}"), auth, &[], None);
            let after = s.send(Method::HEAD, &format!("/v2/{repo}/manifests/{tag}"), &s.admin(), &[], None);
            let want = if r.status == 202 { 404 } else { 200 };
            if after.status != want {
                problem = Some(format!("after {} the tag answers {}", r.status, after.status));
            }
            r
        }
        Ep::BlobDelete => {
            let d = admin_blob(s, repo, format!("to-delete-{suffix}").as_bytes());
            let r = s.send(Method::DELETE, &format!("/v2/{repo}/blobs/{d}"), auth, &[], None);
            let after = s.send(Method::HEAD, &format!("/v2/{repo}/blobs/{d}"), &s.admin(), &[], None);
            let want = if r.status == 202 { 404 } else { 200 };
            if after.status != want {
                problem = Some(format!("after {} the blob answers {}", r.status, after.status));
            }
            r
        }
        Ep::ApiProjects => {
            let r = get("/api/v1/projects");
            if r.status == 200 {
                let got: Vec<String> =
                    r.json().as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap().to_string()).collect();
                let want = expected_projects(who);
                let ok = if who == ADMIN { want.iter().all(|w| got.iter().any(|g| g == w)) } else { got == want };
                if !ok {
                    problem = Some(format!("projects {got:?}, expected {want:?}"));
                }
            }
            r
        }
        Ep::ApiProjectCreate => {
            let body = serde_json::to_vec(&json!({"name": format!("p-{suffix}")})).unwrap();
            s.send(Method::POST, "/api/v1/projects", auth, &[("content-type", "application/json")], Some(body))
        }
        Ep::ApiUserCreate => {
            let body = serde_json::to_vec(&json!({"name": format!("u-{suffix}"), "password": PASSWORD})).unwrap();
            s.send(Method::POST, "/api/v1/users", auth, &[("content-type", "application/json")], Some(body))
        }
        Ep::ApiScan => get(&format!("/api/v1/scan?repository={repo}&reference={}", s.tag)),
    };
    (r, problem)
}

#[test]
fn every_role_on_every_endpoint() {
    bulwark_testkit::require_tool!("skopeo");
    let s = setup();
    let realm = format!("Bearer realm=\"{}\",service=\"{SERVICE}\"", s.url("/token"));
    let mut failures = Vec::new();
    let mut cells = 0;
    for mode in [Mode::Basic, Mode::Token] {
        for (ep, proj, row) in TABLE {
            for (who, want) in row.iter().enumerate() {
                let auth = auth_for(&s, who, mode, *proj);
                let (r, problem) = run_cell(&s, *ep, *proj, who, mode, &auth);
                cells += 1;
                // A token denied a write gets distribution's insufficient_scope challenge
                // (the client may fetch a wider token); basic auth gets 403.
                let want = if matches!(mode, Mode::Token) && *want == D && !ep.is_mgmt() { U } else { *want };
                let (want_status, want_code) = match want.split_once(' ') {
                    Some((st, code)) => (st.parse::<u16>().unwrap(), Some(code)),
                    None => (want.parse::<u16>().unwrap(), None),
                };
                let cell = format!("{mode:?} {ep:?} {} as {}", proj.repo(), WHO[who]);
                if r.status != want_status {
                    failures.push(format!("{cell}: expected {want}, got {}", r.describe()));
                    continue;
                }
                if let Some(code) = want_code.filter(|_| !ep.is_head()) {
                    if r.code() != code {
                        failures.push(format!("{cell}: expected code {code}, got {}", r.describe()));
                    }
                }
                // A 401 from the distribution API always says where to get a token.
                if r.status == 401 && !ep.is_mgmt() {
                    match r.header("www-authenticate") {
                        Some(h) if h.starts_with(&realm) => {}
                        other => failures.push(format!("{cell}: 401 with WWW-Authenticate {other:?}")),
                    }
                }
                if let Some(p) = problem {
                    failures.push(format!("{cell}: {p}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{} of {cells} cells differ:\n{}", failures.len(), failures.join("\n"));
}

/// What `/token` grants for `repository:<repo>:pull,push,delete`: the intersection of what was
/// asked and what the account may do (an empty list where it may do nothing).
#[test]
fn token_grants_follow_roles() {
    bulwark_testkit::require_tool!("skopeo");
    let s = setup();
    #[rustfmt::skip]
    let table: [(Proj, [&[&str]; 8]); 2] = [
        //       admin                         padmin                        pusher            puller     teamb      robot      expired anon
        (A, [&["pull", "push", "delete"], &["pull", "push", "delete"], &["pull", "push"], &["pull"], &[],       &["pull"], &[],     &[]]),
        (P, [&["pull", "push", "delete"], &["pull"],                   &["pull"],         &["pull"], &["pull"], &["pull"], &[],     &["pull"]]),
    ];
    let key = jsonwebtoken::DecodingKey::from_secret(TOKEN_SECRET);
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    v.set_audience(&[SERVICE]);
    for (proj, row) in table {
        for (who, want) in row.iter().enumerate() {
            let r = s.token(who, &format!("repository:{}:pull,push,delete", proj.repo()));
            if who == EXPIRED {
                assert_eq!(r.status, 401, "expired robot got a token: {}", r.describe());
                continue;
            }
            assert_eq!(r.status, 200, "{}: {}", WHO[who], r.describe());
            let j = r.json();
            assert_eq!(j["token"], j["access_token"]);
            assert!(j["expires_in"].as_i64().unwrap() > 0);
            let claims = jsonwebtoken::decode::<Value>(j["token"].as_str().unwrap(), &key, &v).unwrap().claims;
            assert_eq!(claims["iss"], "bulwark-registry");
            let sub = s.creds[who].as_ref().map(|c| c.0.as_str()).unwrap_or("");
            assert_eq!(claims["sub"], sub);
            let access = &claims["access"][0];
            assert_eq!(access["type"], "repository");
            assert_eq!(access["name"], proj.repo());
            let got: Vec<&str> = access["actions"].as_array().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
            assert_eq!(&got, want, "{} on {}", WHO[who], proj.repo());
        }
    }
}

// --- leaks -----------------------------------------------------------------------------------------

#[test]
fn denied_pulls_answer_like_missing_repositories() {
    bulwark_testkit::require_tool!("skopeo");
    let s = setup();
    let (tag, digest, config) = (s.tag.clone(), s.digest.clone(), s.config.clone());
    // The same requests on an existing private repository and on missing ones.
    let paths = |repo: &str| {
        vec![
            format!("/v2/{repo}/manifests/{tag}"),
            format!("/v2/{repo}/manifests/{digest}"),
            format!("/v2/{repo}/tags/list"),
            format!("/v2/{repo}/blobs/{config}"),
            format!("/v2/{repo}/referrers/{digest}"),
        ]
    };
    let missing = ["team-a/nope", "team-a/app/deeper", "ghost/app"];
    for mode in [Mode::Basic, Mode::Token] {
        for (i, existing) in paths("team-a/app").iter().enumerate() {
            let auth = auth_for(&s, TEAMB, mode, A);
            let r = s.send(Method::GET, existing, &auth, &[], None);
            assert_eq!((r.status, r.code().as_str()), (404, "NAME_UNKNOWN"), "{mode:?} {existing}: {}", r.describe());
            assert_eq!(r.header("www-authenticate"), None);
            // HEAD is defined on manifests and blobs only.
            let has_head = existing.contains("/manifests/") || existing.contains("/blobs/");
            let h = s.send(Method::HEAD, existing, &auth, &[], None);
            if has_head {
                assert_eq!(h.status, 404, "{mode:?} HEAD {existing}");
            }
            for repo in missing {
                let path = &paths(repo)[i];
                let auth = match mode {
                    Mode::Basic => s.basic(TEAMB),
                    Mode::Token => {
                        let t = s.token(TEAMB, &format!("repository:{repo}:pull"));
                        Auth::Bearer(t.json()["token"].as_str().unwrap().to_string())
                    }
                };
                let m = s.send(Method::GET, path, &auth, &[], None);
                assert_eq!((m.status, m.code()), (r.status, r.code()), "{mode:?} {path} vs {existing}");
                assert_eq!(m.message().replace(repo, "team-a/app"), r.message(), "{mode:?} {path} vs {existing}");
                assert_eq!(m.header("content-type"), r.header("content-type"));
                let mh = s.send(Method::HEAD, path, &auth, &[], None);
                assert_eq!(mh.status, h.status, "{mode:?} HEAD {path}");
            }
        }
    }
    // A missing repository as someone who may pull in its project sees it: the same answer.
    for path in [format!("/v2/team-a/nope/manifests/{tag}"), "/v2/team-a/nope/tags/list".to_string()] {
        let r = s.send(Method::GET, &path, &s.basic(PULLER), &[], None);
        assert_eq!((r.status, r.code().as_str()), (404, "NAME_UNKNOWN"), "{path}: {}", r.describe());
    }

    // Anonymous: the same challenge for an existing private repository and a missing one.
    for repo in ["team-a/app", "team-a/nope", "ghost/app"] {
        for method in [Method::GET, Method::HEAD] {
            let r = s.send(method.clone(), &format!("/v2/{repo}/manifests/{tag}"), &Auth::None, &[], None);
            assert_eq!(r.status, 401, "{method} {repo}: {}", r.describe());
            assert_eq!(
                r.header("www-authenticate").as_deref(),
                Some(
                    format!(
                        "Bearer realm=\"{}\",service=\"{SERVICE}\",scope=\"repository:{repo}:pull\"",
                        s.url("/token")
                    )
                    .as_str()
                ),
                "{method} {repo}"
            );
            if method == Method::GET {
                assert_eq!(r.code(), "UNAUTHORIZED");
            }
        }
    }

    // Push-denied is a 403 whether or not the repository exists (existence is not revealed).
    for repo in ["team-a/app", "team-a/nope"] {
        let r = s.send(
            Method::PUT,
            &format!("/v2/{repo}/manifests/x"),
            &s.basic(PULLER),
            &[("content-type", &s.media_type)],
            Some(s.manifest.clone()),
        );
        assert_eq!((r.status, r.code().as_str()), (403, "DENIED"), "{repo}: {}", r.describe());
    }

    // A cross-repository mount only takes from what the caller may pull; otherwise it is a
    // plain upload whether or not the source has the blob.
    let secret_blob = admin_blob(&s, "team-b/app", b"team-b only");
    let public_blob = admin_blob(&s, "pub/app", b"public layer");
    for mode in [Mode::Basic, Mode::Token] {
        let auth = match mode {
            Mode::Basic => s.basic(PUSHER),
            Mode::Token => {
                let t = s.token(
                    PUSHER,
                    "repository:team-a/app:pull,push repository:team-b/app:pull repository:pub/app:pull",
                );
                Auth::Bearer(t.json()["token"].as_str().unwrap().to_string())
            }
        };
        for (d, from) in [(&secret_blob, "team-b/app"), (&secret_blob, "team-b/nope"), (&public_blob, "team-b/app")] {
            let r =
                s.send(Method::POST, &format!("/v2/team-a/app/blobs/uploads/?mount={d}&from={from}"), &auth, &[], None);
            assert_eq!(r.status, 202, "{mode:?} mount {d} from {from}: {}", r.describe());
            assert!(r.header("location").unwrap().starts_with("/v2/team-a/app/blobs/uploads/"));
        }
        assert_eq!(
            s.send(Method::HEAD, &format!("/v2/team-a/app/blobs/{secret_blob}"), &s.admin(), &[], None).status,
            404
        );
        let r = s.send(
            Method::POST,
            &format!("/v2/team-a/app/blobs/uploads/?mount={public_blob}&from=pub/app"),
            &auth,
            &[],
            None,
        );
        assert_eq!(r.status, 201, "{mode:?} mount from pub: {}", r.describe());
    }

    // The management API: a private project someone may not see is like a missing one.
    let a = s.send(Method::GET, "/api/v1/projects/team-a", &s.basic(TEAMB), &[], None);
    let b = s.send(Method::GET, "/api/v1/projects/nope", &s.basic(TEAMB), &[], None);
    assert_eq!((a.status, a.code()), (404, "NOT_FOUND".to_string()));
    assert_eq!((b.status, b.code()), (a.status, a.code()));
    let a =
        s.send(Method::GET, &format!("/api/v1/scan?repository=team-a/app&reference={tag}"), &s.basic(TEAMB), &[], None);
    let b = s.send(
        Method::GET,
        &format!("/api/v1/scan?repository=team-a/nope&reference={tag}"),
        &s.basic(TEAMB),
        &[],
        None,
    );
    assert_eq!((a.status, a.code().as_str()), (404, "MANIFEST_UNKNOWN"), "{}", a.describe());
    assert_eq!((b.status, b.code()), (a.status, a.code()));
    // … and the catalog names nothing of team-a to team-b.
    let c = s.send(Method::GET, "/v2/_catalog", &s.basic(TEAMB), &[], None);
    assert!(!String::from_utf8_lossy(&c.body).contains("team-a"), "{}", c.describe());
}

// --- tokens ----------------------------------------------------------------------------------------

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

fn claims(sub: &str, access: Value) -> Value {
    let now = now();
    json!({
        "iss": "bulwark-registry", "sub": sub, "aud": SERVICE, "exp": now + 300, "nbf": now - 1, "iat": now,
        "jti": "test-jti", "access": access,
    })
}

fn forge(claims: &Value, secret: &[u8]) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(secret),
    )
    .unwrap()
}

fn all_access(repo: &str) -> Value {
    json!([{"type": "repository", "name": repo, "actions": ["pull", "push", "delete"]}])
}

#[test]
fn tokens_cannot_be_forged_reused_or_stretched() {
    bulwark_testkit::require_tool!("skopeo");
    let s = setup();
    let manifest_path = format!("/v2/team-a/app/manifests/{}", s.tag);
    let put = |auth: &Auth, tag: &str| {
        s.send(
            Method::PUT,
            &format!("/v2/team-a/app/manifests/{tag}"),
            auth,
            &[("content-type", &s.media_type)],
            Some(s.manifest.clone()),
        )
    };
    let expect_401 = |r: &Resp, what: &str| {
        assert_eq!(r.status, 401, "{what}: {}", r.describe());
        assert!(r.header("www-authenticate").is_some_and(|h| h.starts_with("Bearer realm=")), "{what}");
    };

    // The forging helper makes tokens the server accepts (so the rejections below are about
    // the one thing changed in each).
    let good = Auth::Bearer(forge(&claims("paul", all_access("team-a/app")), TOKEN_SECRET));
    assert_eq!(s.send(Method::GET, &manifest_path, &good, &[], None).status, 200);
    assert_eq!(put(&good, "forged-ok").status, 201);

    // Expired (beyond the 5 s leeway).
    let mut c = claims("paul", all_access("team-a/app"));
    c["exp"] = json!(now() - 120);
    c["iat"] = json!(now() - 420);
    c["nbf"] = json!(now() - 420);
    expect_401(&s.send(Method::GET, &manifest_path, &Auth::Bearer(forge(&c, TOKEN_SECRET)), &[], None), "expired");
    // Not yet valid.
    let mut c = claims("paul", all_access("team-a/app"));
    c["nbf"] = json!(now() + 600);
    expect_401(&s.send(Method::GET, &manifest_path, &Auth::Bearer(forge(&c, TOKEN_SECRET)), &[], None), "nbf");
    // Another audience, another issuer.
    let mut c = claims("paul", all_access("team-a/app"));
    c["aud"] = json!("another-service");
    expect_401(&s.send(Method::GET, &manifest_path, &Auth::Bearer(forge(&c, TOKEN_SECRET)), &[], None), "aud");
    let mut c = claims("paul", all_access("team-a/app"));
    c["iss"] = json!("someone-else");
    expect_401(&s.send(Method::GET, &manifest_path, &Auth::Bearer(forge(&c, TOKEN_SECRET)), &[], None), "iss");
    // Signed with another secret.
    let other =
        Auth::Bearer(forge(&claims("root", all_access("team-a/app")), b"another-secret-another-secret-0123456789"));
    expect_401(&s.send(Method::GET, &manifest_path, &other, &[], None), "other secret");
    expect_401(&put(&other, "other-secret"), "other secret push");
    // alg none, with and without a signature part.
    let payload = b64(&serde_json::to_vec(&claims("root", all_access("team-a/app"))).unwrap());
    for header in [json!({"alg": "none", "typ": "JWT"}), json!({"alg": "None"})] {
        let h = b64(&serde_json::to_vec(&header).unwrap());
        for tok in [format!("{h}.{payload}."), format!("{h}.{payload}")] {
            expect_401(&s.send(Method::GET, &manifest_path, &Auth::Bearer(tok.clone()), &[], None), "alg none");
            expect_401(&put(&Auth::Bearer(tok), "alg-none"), "alg none push");
        }
    }
    // Garbage.
    expect_401(&s.send(Method::GET, &manifest_path, &Auth::Bearer("not.a.token".into()), &[], None), "garbage");

    // A real pull-only token with its access claim widened, signature kept.
    let r = s.token(PULLER, "repository:team-a/app:pull,push,delete");
    let real = r.json()["token"].as_str().unwrap().to_string();
    assert_eq!(s.send(Method::GET, &manifest_path, &Auth::Bearer(real.clone()), &[], None).status, 200);
    // Its push is refused with distribution's insufficient_scope challenge.
    let r = put(&Auth::Bearer(real.clone()), "pull-only");
    assert_eq!(r.status, 401, "{}", r.describe());
    assert!(r.header("www-authenticate").unwrap().contains("error=\"insufficient_scope\""), "{}", r.describe());
    let parts: Vec<&str> = real.split('.').collect();
    assert_eq!(parts.len(), 3);
    let mut body: Value =
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    assert_eq!(body["access"][0]["actions"], json!(["pull"]));
    body["access"] = all_access("team-a/app");
    let tampered = Auth::Bearer(format!("{}.{}.{}", parts[0], b64(&serde_json::to_vec(&body).unwrap()), parts[2]));
    expect_401(&put(&tampered, "tampered"), "tampered push");
    expect_401(&s.send(Method::GET, &manifest_path, &tampered, &[], None), "tampered pull");
    // Only the subject changed: still not the server's signature.
    let mut body2: Value =
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    body2["sub"] = json!("root");
    let tampered = Auth::Bearer(format!("{}.{}.{}", parts[0], b64(&serde_json::to_vec(&body2).unwrap()), parts[2]));
    expect_401(&s.send(Method::GET, &manifest_path, &tampered, &[], None), "tampered subject");

    // A token for team-a never asked for team-b: a challenge naming the scope to ask for.
    let r = s.token(ADMIN, "repository:team-a/app:pull,push,delete");
    let team_a = Auth::Bearer(r.json()["token"].as_str().unwrap().to_string());
    let r = s.send(Method::GET, &format!("/v2/team-b/app/manifests/{}", s.tag), &team_a, &[], None);
    expect_401(&r, "team-a token on team-b");
    assert!(r.header("www-authenticate").unwrap().ends_with(",scope=\"repository:team-b/app:pull\""));
    let r = s.send(
        Method::PUT,
        "/v2/team-b/app/manifests/x",
        &team_a,
        &[("content-type", &s.media_type)],
        Some(s.manifest.clone()),
    );
    expect_401(&r, "team-a token pushing to team-b");
    assert!(r.header("www-authenticate").unwrap().ends_with(",scope=\"repository:team-b/app:pull,push\""));
    let r = s.send(Method::DELETE, "/v2/team-b/app/manifests/1.0", &team_a, &[], None);
    expect_401(&r, "team-a token deleting in team-b");
    assert!(r.header("www-authenticate").unwrap().ends_with(",scope=\"repository:team-b/app:delete\""));

    // /token itself: wrong password, unknown user, malformed basic → 401.
    for (u, p) in [("pat", "wrong-password"), ("nobody", PASSWORD), ("robot$team-a+reader", "not-the-secret")] {
        let r = Resp::from_response(
            s.client
                .get(s.url("/token"))
                .query(&[("service", SERVICE), ("scope", "repository:team-a/app:pull")])
                .basic_auth(u, Some(p))
                .send()
                .unwrap(),
        );
        assert_eq!(r.status, 401, "{u}: {}", r.describe());
        assert!(r.json().get("token").is_none());
    }
    let r =
        s.send(Method::GET, "/token?service=bulwark-registry", &Auth::None, &[("authorization", "Basic !!!")], None);
    assert_eq!(r.status, 401, "{}", r.describe());
    // … and basic auth with a wrong password straight on /v2 and /api/v1.
    let wrong = Auth::Basic("pat".into(), "wrong-password".into());
    expect_401(&s.send(Method::GET, &manifest_path, &wrong, &[], None), "wrong password on /v2");
    assert_eq!(s.send(Method::GET, "/api/v1/projects", &wrong, &[], None).status, 401);

    // The OAuth2 password grant (POST /token), as containerd and Docker try first.
    let form = |pw: &str| {
        serde_urlencoded_form(&[
            ("grant_type", "password"),
            ("username", "pat"),
            ("password", pw),
            ("service", SERVICE),
            ("scope", "repository:team-a/app:pull,push"),
            ("client_id", "docker"),
        ])
    };
    let r = s.send(
        Method::POST,
        "/token",
        &Auth::None,
        &[("content-type", "application/x-www-form-urlencoded")],
        Some(form(PASSWORD)),
    );
    assert_eq!(r.status, 200, "{}", r.describe());
    let tok = r.json()["access_token"].as_str().unwrap().to_string();
    assert_eq!(put(&Auth::Bearer(tok), "via-post-token").status, 201);
    let r = s.send(
        Method::POST,
        "/token",
        &Auth::None,
        &[("content-type", "application/x-www-form-urlencoded")],
        Some(form("wrong-password")),
    );
    assert_eq!(r.status, 401, "{}", r.describe());
    let r = s.send(
        Method::POST,
        "/token",
        &Auth::None,
        &[("content-type", "application/x-www-form-urlencoded")],
        Some(b"grant_type=refresh_token&refresh_token=x".to_vec()),
    );
    assert_eq!(r.status, 400, "{}", r.describe());

    // An expired account gets no token at all, by GET or POST.
    let (robot, secret) = s.creds[EXPIRED].clone().unwrap();
    let r = s.token(EXPIRED, "repository:team-a/app:pull");
    assert_eq!(r.status, 401);
    let body = serde_urlencoded_form(&[("grant_type", "password"), ("username", &robot), ("password", &secret)]);
    let r = s.send(
        Method::POST,
        "/token",
        &Auth::None,
        &[("content-type", "application/x-www-form-urlencoded")],
        Some(body),
    );
    assert_eq!(r.status, 401, "{}", r.describe());
}

/// `application/x-www-form-urlencoded` without another dependency.
fn serde_urlencoded_form(pairs: &[(&str, &str)]) -> Vec<u8> {
    fn enc(s: &str) -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect()
    }
    pairs.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect::<Vec<_>>().join("&").into_bytes()
}

// --- login throttling, timing, robots, anonymous API, scope names (issue 10) -----------------------

/// A client whose connections come from `local` (any 127.0.0.0/8 address reaches the server on
/// loopback), so that the server sees distinct client addresses.
fn client_from(local: &str) -> Client {
    Client::builder()
        .no_proxy()
        .local_address(local.parse::<std::net::IpAddr>().unwrap())
        .timeout(std::time::Duration::from_secs(60))
        .build()
        .unwrap()
}

fn token_for(reg: &OwnRegistry, c: &Client, user: &str, password: &str, scope: &str) -> Resp {
    Resp::from_response(
        c.get(reg.url("/token"))
            .query(&[("service", SERVICE), ("scope", scope)])
            .basic_auth(user, Some(password))
            .send()
            .unwrap(),
    )
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

/// D4: wrong guesses from one address throttle that address (429 + Retry-After, no password
/// check), never the account: its owner, elsewhere, logs in throughout.
#[test]
fn guessing_a_password_throttles_the_guesser_not_the_account() {
    let reg = OwnRegistry::start("", "[scan]\non_push = false");
    reg.project("team-a", &[]);
    reg.add_user("victim", PASSWORD, &["team-a:pull"], false);
    let attacker = client_from("127.0.0.2");
    let victim = client_from("127.0.0.1");
    let scope = "repository:team-a/app:pull";
    let mut wrong = Vec::new();
    let mut throttled = Vec::new();
    for i in 0..40 {
        let t = std::time::Instant::now();
        let r = token_for(&reg, &attacker, "victim", &format!("guess-{i}"), scope);
        let secs = t.elapsed().as_secs_f64();
        match r.status {
            401 => wrong.push(secs),
            429 => {
                let after: u64 = r.header("retry-after").expect("429 without Retry-After").parse().unwrap();
                assert!((1..=300).contains(&after), "Retry-After {after}");
                throttled.push(secs);
            }
            _ => panic!("guess {i}: {}", r.describe()),
        }
        // The owner logs in from elsewhere all along (first after ten guesses: no cached login).
        if i >= 10 && i % 5 == 0 {
            token_for(&reg, &victim, "victim", PASSWORD, scope).expect(200, None);
        }
    }
    assert!(wrong.len() >= 3 && wrong.len() <= 10, "{} wrong-password answers before throttling", wrong.len());
    assert!(throttled.len() >= 30, "only {} of 40 guesses throttled", throttled.len());
    // Throttled answers skip the password check.
    assert!(median(throttled.clone()) < median(wrong.clone()), "429 {throttled:?} vs 401 {wrong:?}");
    // Basic auth on /v2 goes through the same throttle: the guesser waits even with the password…
    let r = send(&attacker, Method::GET, &reg.url("/v2/"), &Auth::Basic("victim".into(), PASSWORD.into()), &[], None);
    r.expect(429, Some("TOOMANYREQUESTS"));
    assert!(r.header("retry-after").is_some());
    // …and the owner does not.
    send(&victim, Method::GET, &reg.url("/v2/"), &Auth::Basic("victim".into(), PASSWORD.into()), &[], None)
        .expect(200, None);
}

fn token_via_proxy(reg: &OwnRegistry, c: &Client, xff: &str, user: &str, password: &str) -> Resp {
    Resp::from_response(
        c.get(reg.url("/token"))
            .query(&[("service", SERVICE), ("scope", "repository:team-a/app:pull")])
            .header("X-Forwarded-For", xff)
            .basic_auth(user, Some(password))
            .send()
            .unwrap(),
    )
}

/// D4 behind a reverse proxy: every request comes from the proxy's address, so throttling by
/// that address would let one guesser throttle everyone behind it. With the proxy trusted,
/// the client is the right-most untrusted `X-Forwarded-For` hop; untrusted peers cannot pick
/// their own address with the header.
#[test]
fn behind_a_trusted_proxy_the_forwarded_client_is_throttled() {
    let reg = OwnRegistry::start("", "[scan]\non_push = false\n[connections]\ntrusted_proxies = [\"127.0.0.1/32\"]");
    reg.project("team-a", &[]);
    reg.add_user("victim", PASSWORD, &["team-a:pull"], false);
    let proxy = client_from("127.0.0.1");
    let mut statuses = Vec::new();
    for i in 0..30 {
        // The guesser writes its own X-Forwarded-For; the proxy appends the address it saw.
        let xff = format!("10.9.9.{i}, 198.51.100.7");
        statuses.push(token_via_proxy(&reg, &proxy, &xff, "victim", &format!("guess-{i}")).status);
    }
    assert!(statuses.iter().filter(|s| **s == 429).count() >= 20, "guesser not throttled: {statuses:?}");
    // Another client behind the same proxy logs in.
    token_via_proxy(&reg, &proxy, "198.51.100.8", "victim", PASSWORD).expect(200, None);

    // An untrusted peer's X-Forwarded-For is ignored: rotating it does not escape the throttle.
    let direct = client_from("127.0.0.3");
    let mut statuses = Vec::new();
    for i in 0..30 {
        statuses.push(token_via_proxy(&reg, &direct, &format!("203.0.113.{i}"), "victim", "wrong").status);
    }
    assert!(statuses.iter().filter(|s| **s == 429).count() >= 20, "spoofed header escaped: {statuses:?}");
}

/// D7: an unknown account costs the same password work as a known one with a wrong password.
#[test]
fn login_time_does_not_tell_which_accounts_exist() {
    let reg = OwnRegistry::start("", "[scan]\non_push = false");
    reg.add_user("known", PASSWORD, &[], false);
    // One address per pair of tries, so that throttling never answers early.
    let clients: Vec<Client> = (1..=15).map(|i| client_from(&format!("127.0.1.{i}"))).collect();
    let (mut unknown, mut known) = (Vec::new(), Vec::new());
    for (i, c) in clients.iter().enumerate() {
        // Connection set-up outside the timing.
        assert_eq!(c.get(reg.url("/healthz")).send().unwrap().status(), 200);
        for (user, times) in [(format!("nobody-{i}"), &mut unknown), ("known".to_string(), &mut known)] {
            let t = std::time::Instant::now();
            token_for(&reg, c, &user, "wrong-password", "repository:x/y:pull").expect(401, None);
            times.push(t.elapsed().as_secs_f64());
        }
    }
    let (u, k) = (median(unknown), median(known));
    eprintln!("median login: unknown user {:.2} ms, known user {:.2} ms", u * 1e3, k * 1e3);
    assert!(u >= 0.5 * k, "unknown user {:.2} ms vs known user {:.2} ms: timing tells", u * 1e3, k * 1e3);
}

/// Projects team-a and team-b; root (system admin), dave (no roles), paul (team-a pull), alice
/// (team-a admin), bea (team-b admin).
fn robots_setup() -> (OwnRegistry, Client) {
    let reg = OwnRegistry::start("", "[scan]\non_push = false");
    reg.project("team-a", &[]);
    reg.project("team-b", &[]);
    reg.add_user("root", PASSWORD, &[], true);
    reg.add_user("dave", PASSWORD, &[], false);
    reg.add_user("paul", PASSWORD, &["team-a:pull"], false);
    reg.add_user("alice", PASSWORD, &["team-a:admin"], false);
    reg.add_user("bea", PASSWORD, &["team-b:admin"], false);
    let client = Client::builder().no_proxy().timeout(std::time::Duration::from_secs(60)).build().unwrap();
    (reg, client)
}

fn create_robot(reg: &OwnRegistry, c: &Client, auth: &Auth, body: Value) -> Resp {
    send(
        c,
        Method::POST,
        &reg.url("/api/v1/robots"),
        auth,
        &[("content-type", "application/json")],
        Some(body.to_string().into_bytes()),
    )
}

fn basic(u: &str) -> Auth {
    Auth::Basic(u.into(), PASSWORD.into())
}

/// D5, first bullet: a robot needs at least one project, and admin on each.
#[test]
fn robots_need_a_project_and_its_admin() {
    let (reg, c) = robots_setup();
    for who in ["dave", "paul", "alice"] {
        create_robot(&reg, &c, &basic(who), json!({"name": "squat", "roles": []})).expect(400, None);
    }
    create_robot(&reg, &c, &basic("paul"), json!({"name": "squat", "roles": ["team-a:pull"]})).expect(403, None);
    create_robot(&reg, &c, &basic("dave"), json!({"name": "squat", "roles": ["team-a:pull"]})).expect(403, None);
    // Admin on one of two projects is not enough.
    create_robot(&reg, &c, &basic("alice"), json!({"name": "team-a+x", "roles": ["team-a:pull", "team-b:pull"]}))
        .expect(403, None);
    create_robot(&reg, &c, &Auth::None, json!({"name": "squat", "roles": ["team-a:pull"]})).expect(401, None);
    for name in ["robot$squat", "robot$team-a+squat"] {
        token_for(&reg, &c, name, "anything", "repository:team-a/app:pull").expect(401, None);
    }
    let r = create_robot(&reg, &c, &basic("alice"), json!({"name": "ci", "roles": ["team-a:pull"]}));
    r.expect(201, None);
    assert_eq!(r.json()["name"], "robot$team-a+ci");
}

/// D5, second bullet: robot names live in their project's namespace, so a name taken in one
/// project leaves the others free.
#[test]
fn robot_names_are_namespaced_by_project() {
    let (reg, c) = robots_setup();
    let r = create_robot(&reg, &c, &basic("bea"), json!({"name": "deploy", "roles": ["team-b:push"]}));
    r.expect(201, None);
    assert_eq!(r.json()["name"], "robot$team-b+deploy");
    // bea cannot put a name in team-a's namespace, with or without team-a roles.
    create_robot(&reg, &c, &basic("bea"), json!({"name": "team-a+deploy", "roles": ["team-b:push"]})).expect(400, None);
    create_robot(&reg, &c, &basic("bea"), json!({"name": "team-a+deploy", "roles": ["team-a:push"]})).expect(403, None);
    // The admin's robot of the same short name in team-a is unaffected.
    let (name, secret) = reg.add_robot("deploy", &["team-a:push"], None);
    assert_eq!(name, "robot$team-a+deploy");
    let t = token_for(&reg, &c, &name, &secret, "repository:team-a/app:pull,push");
    t.expect(200, None);
    let claims = jwt_claims(t.json()["token"].as_str().unwrap());
    assert_eq!(claims["access"][0]["actions"], json!(["pull", "push"]));
    // A robot with roles in two projects names one of them.
    create_robot(&reg, &c, &basic("root"), json!({"name": "both", "roles": ["team-a:pull", "team-b:pull"]}))
        .expect(400, None);
    let r =
        create_robot(&reg, &c, &basic("root"), json!({"name": "team-b+both", "roles": ["team-a:pull", "team-b:pull"]}));
    r.expect(201, None);
    assert_eq!(r.json()["name"], "robot$team-b+both");
}

/// D5, third bullet: robots cannot create robots (not even shorter-lived ones).
#[test]
fn robots_cannot_create_robots() {
    let (reg, c) = robots_setup();
    let r =
        create_robot(&reg, &c, &basic("alice"), json!({"name": "ci", "roles": ["team-a:admin"], "expires_days": 1}));
    r.expect(201, None);
    let robot = Auth::Basic(r.json()["name"].as_str().unwrap().into(), r.json()["secret"].as_str().unwrap().into());
    for body in [
        json!({"name": "forever", "roles": ["team-a:pull"], "expires_days": null}),
        json!({"name": "brief", "roles": ["team-a:pull"], "expires_days": 1}),
    ] {
        create_robot(&reg, &c, &robot, body).expect(403, None);
    }
    // Through a token of the robot as well.
    let t = token_for(
        &reg,
        &c,
        r.json()["name"].as_str().unwrap(),
        r.json()["secret"].as_str().unwrap(),
        "repository:team-a/app:pull",
    );
    t.expect(200, None);
    let bearer = Auth::Bearer(t.json()["token"].as_str().unwrap().to_string());
    create_robot(&reg, &c, &bearer, json!({"name": "forever", "roles": ["team-a:pull"]})).expect(403, None);
}

/// D5, fourth bullet: every /api/v1 call checks the account again, so an expired robot's
/// still-valid token does nothing there.
#[test]
fn an_expired_accounts_token_does_nothing_in_the_api() {
    let (reg, c) = robots_setup();
    // `--expires-days 0`: expired the moment it is made.
    let (name, secret) = reg.add_robot("old", &["team-a:admin"], Some(0));
    send(&c, Method::GET, &reg.url("/api/v1/projects"), &Auth::Basic(name.clone(), secret), &[], None)
        .expect(401, None);
    // A token signed with the server's secret, as one issued before the expiry would be.
    let tok = Auth::Bearer(forge(&claims(&name, all_access("team-a/app")), TOKEN_SECRET));
    create_robot(&reg, &c, &tok, json!({"name": "heir", "roles": ["team-a:pull"]})).expect(401, None);
    send(&c, Method::GET, &reg.url("/api/v1/projects"), &tok, &[], None).expect(401, None);
    send(&c, Method::GET, &reg.url("/api/v1/projects/team-a"), &tok, &[], None).expect(401, None);
    // A live account's token still works.
    let tok = Auth::Bearer(forge(&claims("alice", all_access("team-a/app")), TOKEN_SECRET));
    send(&c, Method::GET, &reg.url("/api/v1/projects/team-a"), &tok, &[], None).expect(200, None);
}

fn jwt_claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

/// D10: /api/v1 follows `[auth] anonymous` as /v2 does: `none` answers nothing anonymously,
/// `public` shows public projects, `full` everything readable; administration always needs an
/// account.
#[test]
fn anonymous_setting_applies_to_the_project_api() {
    for mode in ["none", "public", "full"] {
        let reg = OwnRegistry::start(&format!("anonymous = \"{mode}\""), "[scan]\non_push = false");
        reg.project("team-a", &[]);
        reg.project("pub", &["--public", "true"]);
        let c = Client::builder().no_proxy().build().unwrap();
        let get = |p: &str| send(&c, Method::GET, &reg.url(p), &Auth::None, &[], None);
        let list = get("/api/v1/projects");
        let (p, a) = (get("/api/v1/projects/pub"), get("/api/v1/projects/team-a"));
        let v2 = get("/v2/pub/app/tags/list");
        match mode {
            "none" => {
                for r in [&list, &p, &a, &v2] {
                    r.expect(401, Some("UNAUTHORIZED"));
                }
            }
            "public" => {
                list.expect(200, None);
                let names: Vec<String> =
                    list.json().as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap().to_string()).collect();
                assert_eq!(names, ["pub"], "{mode}");
                p.expect(200, None);
                a.expect(404, None);
            }
            _ => {
                list.expect(200, None);
                let mut names: Vec<String> =
                    list.json().as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap().to_string()).collect();
                names.sort();
                assert_eq!(names, ["pub", "team-a"], "{mode}");
                p.expect(200, None);
                a.expect(200, None);
            }
        }
        let create = send(
            &c,
            Method::POST,
            &reg.url("/api/v1/projects"),
            &Auth::None,
            &[("content-type", "application/json")],
            Some(br#"{"name":"new"}"#.to_vec()),
        );
        create.expect(401, None);
    }
}

/// A token scope whose name the /v2 routes would refuse grants nothing, even to an admin.
#[test]
fn scope_names_are_checked_before_granting() {
    let (reg, c) = robots_setup();
    let t = Resp::from_response(
        c.get(reg.url("/token"))
            .query(&[
                ("service", SERVICE),
                ("scope", "repository:team-a/../team-b/secret:pull,push"),
                ("scope", "repository:team-a/app:pull,push"),
                ("scope", "repository:Team-A/App:pull"),
            ])
            .basic_auth("root", Some(PASSWORD))
            .send()
            .unwrap(),
    );
    t.expect(200, None);
    let access = jwt_claims(t.json()["token"].as_str().unwrap())["access"].clone();
    let by_name = |n: &str| access.as_array().unwrap().iter().find(|a| a["name"] == n).cloned();
    for bad in ["team-a/../team-b/secret", "Team-A/App"] {
        let a = by_name(bad);
        assert!(a.is_none() || a.as_ref().unwrap()["actions"] == json!([]), "{bad}: {a:?}");
    }
    assert_eq!(by_name("team-a/app").unwrap()["actions"], json!(["pull", "push"]));
}
