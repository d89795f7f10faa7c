//! Who is asking and what they may do: passwords (argon2id), Docker token auth (a Bearer
//! challenge and a token endpoint issuing HS256 JWTs with `access` claims, as distribution's
//! token spec describes), basic auth on the API itself, and roles per project.
//!
//! Tokens carry the access granted when they were issued (the intersection of what was asked
//! and what the account may do), so a request with a token needs no database lookup.

use crate::config::{Anonymous, AuthConfig};
use crate::meta::{self, MetaStore, Role, User};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("invalid credentials")]
    BadCredentials,
    #[error("invalid token: {0}")]
    BadToken(String),
    #[error("password hashing: {0}")]
    Hash(String),
    #[error(transparent)]
    Meta(#[from] meta::MetaError),
    #[error("token secret {path}: {msg}")]
    Secret { path: String, msg: String },
    /// Too many failed logins from this client address (or for this account from it), or too
    /// many password checks at once: try again after this many seconds.
    #[error("too many login attempts; retry after {0} s")]
    Throttled(u64),
}

/// What a request may do on a repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Action {
    Pull,
    Push,
    Delete,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Pull => "pull",
            Action::Push => "push",
            Action::Delete => "delete",
        }
    }
    fn parse(s: &str) -> Option<Action> {
        match s {
            "pull" => Some(Action::Pull),
            "push" => Some(Action::Push),
            "delete" => Some(Action::Delete),
            _ => None,
        }
    }
    /// The least role that allows it: deleting is a project admin's.
    fn needs(self) -> Role {
        match self {
            Action::Pull => Role::Pull,
            Action::Push => Role::Push,
            Action::Delete => Role::Admin,
        }
    }
}

/// One entry of a token's `access` claim (distribution's token format).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Access {
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
    pub actions: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub exp: i64,
    pub nbf: i64,
    pub iat: i64,
    pub jti: String,
    #[serde(default)]
    pub access: Vec<Access>,
}

/// The caller of one request.
#[derive(Debug, Clone)]
pub enum Principal {
    Anonymous,
    /// Authenticated with a password (basic auth): rights read from the database.
    Account {
        user: User,
        roles: Vec<(String, Role)>,
    },
    /// Authenticated with a token: exactly the access it carries.
    Token(Claims),
}

impl Principal {
    pub fn name(&self) -> &str {
        match self {
            Principal::Anonymous => "anonymous",
            Principal::Account { user, .. } => &user.name,
            Principal::Token(c) => &c.sub,
        }
    }
    pub fn is_anonymous(&self) -> bool {
        match self {
            Principal::Anonymous => true,
            Principal::Token(c) => c.sub.is_empty(),
            Principal::Account { .. } => false,
        }
    }
    /// A token as the account its subject names now, roles read afresh, for what a token's
    /// `access` claim cannot answer (the catalog, the management API); an anonymous token as
    /// anonymous. `None`: the account is gone or has expired since the token was issued.
    pub async fn into_account(self, meta: &dyn MetaStore) -> Result<Option<Principal>, meta::MetaError> {
        match self {
            Principal::Token(c) if !c.sub.is_empty() => match meta.user(&c.sub).await? {
                Some(user) if user.expires.is_some_and(|e| e <= meta::now()) => Ok(None),
                Some(user) => {
                    let roles = meta.roles(&user.name).await?;
                    Ok(Some(Principal::Account { user, roles }))
                }
                None => Ok(None),
            },
            Principal::Token(_) => Ok(Some(Principal::Anonymous)),
            other => Ok(Some(other)),
        }
    }

    pub fn is_sysadmin(&self) -> bool {
        matches!(self, Principal::Account { user, .. } if user.admin)
    }
}

pub struct Auth {
    cfg: AuthConfig,
    encoding: EncodingKey,
    decoding: DecodingKey,
    /// Verified basic credentials (a hash of them) → when the check expires: argon2 costs tens
    /// of milliseconds by design, and a pull sends the same header with every request.
    verified: Mutex<HashMap<[u8; 32], Instant>>,
    /// Failed logins per client address and per address + account. Accounts themselves are
    /// never locked: anyone could keep anyone else out (distribution and Harbor do not either).
    throttle: Mutex<Throttle>,
    /// Password checks running at once: argon2 is deliberately costly, and a burst of logins
    /// must not take every core (or every blocking thread) from pulls.
    hashing: tokio::sync::Semaphore,
    /// An argon2 hash of a random secret, same parameters as real ones: an unknown or expired
    /// account costs the same work as a wrong password, so timing does not tell which names exist.
    dummy_hash: String,
}

const VERIFIED_TTL: Duration = Duration::from_secs(60);
const ISSUER: &str = "bulwark-registry";
/// Failures from one client address before each further attempt from it waits a backoff.
const FREE_PER_ADDR: u32 = 20;
/// Failures for one account from one address before attempts on it from there wait.
const FREE_PER_ADDR_ACCOUNT: u32 = 5;
/// The backoff doubles per failure past the free ones, from 1 s up to this.
const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// A record with no failure for this long is forgotten.
const FORGET_AFTER: Duration = Duration::from_secs(900);
/// Records kept at most per map (oldest dropped first): bounded memory under many addresses.
const MAX_RECORDS: usize = 100_000;
/// How long a login waits for a free password-check slot before it is told to retry.
const HASH_QUEUE_WAIT: Duration = Duration::from_secs(2);

/// Failure counts with exponential backoff, per client address (IPv6 per /64: one host has
/// a whole prefix) and per (address, account).
#[derive(Default)]
struct Throttle {
    addr: HashMap<IpAddr, Failures>,
    account: HashMap<(IpAddr, String), Failures>,
}

#[derive(Clone, Copy)]
struct Failures {
    count: u32,
    last: Instant,
}

impl Failures {
    /// When the next attempt may be checked, given `free` attempts without backoff.
    fn wait(&self, free: u32, now: Instant) -> Option<Duration> {
        if self.count < free {
            return None;
        }
        let shift = (self.count - free).min(16);
        let backoff = Duration::from_secs(1u64 << shift).min(MAX_BACKOFF);
        let until = self.last + backoff;
        (until > now).then(|| until - now)
    }
}

/// One client for throttling and connection counts: an IPv4-mapped address as IPv4, an IPv6
/// address as its /64 (one host has a whole prefix).
pub(crate) fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
        v4 => v4,
    }
}

fn record_failure<K: std::hash::Hash + Eq + Clone>(m: &mut HashMap<K, Failures>, k: &K, now: Instant) {
    if m.len() >= MAX_RECORDS && !m.contains_key(k) {
        m.retain(|_, f| now.duration_since(f.last) < FORGET_AFTER);
        if m.len() >= MAX_RECORDS {
            // Still full: drop the oldest half rather than grow.
            let mut lasts: Vec<Instant> = m.values().map(|f| f.last).collect();
            lasts.sort_unstable();
            let cut = lasts[lasts.len() / 2];
            m.retain(|_, f| f.last > cut);
        }
    }
    let f = m.entry(k.clone()).or_insert(Failures { count: 0, last: now });
    if now.duration_since(f.last) >= FORGET_AFTER {
        f.count = 0;
    }
    f.count = f.count.saturating_add(1);
    f.last = now;
}

pub fn hash_password(password: &str) -> Result<String, AuthError> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AuthError::Hash(e.to_string()))
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

/// A random secret for a robot account: 32 bytes, URL-safe base64.
pub fn random_secret() -> String {
    use rand::RngCore;
    let mut b = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut b);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

impl Auth {
    /// The signing secret comes from `token_secret_file`, else from the metadata database
    /// (made at first start), so that restarts and replicas accept each other's tokens.
    pub async fn new(cfg: AuthConfig, meta: &dyn MetaStore) -> Result<Auth, AuthError> {
        let secret: Vec<u8> = match &cfg.token_secret_file {
            Some(p) => {
                let s = std::fs::read(p)
                    .map_err(|e| AuthError::Secret { path: p.display().to_string(), msg: e.to_string() })?;
                if s.len() < 32 {
                    return Err(AuthError::Secret {
                        path: p.display().to_string(),
                        msg: "shorter than 32 bytes".into(),
                    });
                }
                s
            }
            None => {
                let s = meta.setting_init("token_secret", &random_secret()).await?;
                s.into_bytes()
            }
        };
        Ok(Auth {
            cfg,
            encoding: EncodingKey::from_secret(&secret),
            decoding: DecodingKey::from_secret(&secret),
            verified: Mutex::new(HashMap::new()),
            throttle: Mutex::new(Throttle::default()),
            hashing: tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2).max(2),
            ),
            dummy_hash: hash_password(&random_secret())?,
        })
    }

    pub fn config(&self) -> &AuthConfig {
        &self.cfg
    }

    pub fn anonymous(&self) -> Anonymous {
        self.cfg.anonymous
    }

    /// Check a user name and password (or a robot's secret) from `client`. Expired and unknown
    /// accounts fail after the same work as a wrong password; a client with too many recent
    /// failures is told to wait ([`AuthError::Throttled`]) without a password check.
    pub async fn login(
        &self,
        meta: &dyn MetaStore,
        client: IpAddr,
        name: &str,
        password: &str,
    ) -> Result<User, AuthError> {
        let addr = client_key(client);
        let acct = (addr, name.to_string());
        let now = Instant::now();
        {
            let t = self.throttle.lock().unwrap_or_else(|p| p.into_inner());
            let wait = [
                t.addr.get(&addr).and_then(|f| f.wait(FREE_PER_ADDR, now)),
                t.account.get(&acct).and_then(|f| f.wait(FREE_PER_ADDR_ACCOUNT, now)),
            ]
            .into_iter()
            .flatten()
            .max();
            if let Some(w) = wait {
                tracing::info!(%client, account = name, "login throttled");
                return Err(AuthError::Throttled(w.as_secs().max(1)));
            }
        }
        let user = meta.user(name).await?;
        let live = user.as_ref().filter(|u| u.expires.is_none_or(|e| e > meta::now()));
        let hash = user.as_ref().map(|u| u.hash.clone()).unwrap_or_else(|| self.dummy_hash.clone());
        let key: [u8; 32] = Sha256::new()
            .chain_update(name.as_bytes())
            .chain_update([0])
            .chain_update(password.as_bytes())
            .chain_update([0])
            .chain_update(hash.as_bytes())
            .finalize()
            .into();
        if let Some(u) = live {
            let mut v = self.verified.lock().unwrap_or_else(|p| p.into_inner());
            if v.get(&key).is_some_and(|t| *t > now) {
                return Ok(u.clone());
            }
            if v.len() > 10_000 {
                v.retain(|_, t| *t > now);
            }
        }
        let ok = {
            let _permit = tokio::time::timeout(HASH_QUEUE_WAIT, self.hashing.acquire())
                .await
                .map_err(|_| AuthError::Throttled(1))?
                .map_err(|_| AuthError::Throttled(1))?;
            let pw = password.to_string();
            tokio::task::spawn_blocking(move || verify_password(&pw, &hash))
                .await
                .map_err(|e| AuthError::Hash(e.to_string()))?
        };
        let now = Instant::now();
        match live {
            Some(u) if ok => {
                self.throttle.lock().unwrap_or_else(|p| p.into_inner()).account.remove(&acct);
                self.verified.lock().unwrap_or_else(|p| p.into_inner()).insert(key, now + VERIFIED_TTL);
                Ok(u.clone())
            }
            // An expired account's right secret: refused, but not a guess to count (its CI job
            // retrying must not throttle the address for everyone behind it).
            None if ok && user.is_some() => Err(AuthError::BadCredentials),
            _ => {
                let mut t = self.throttle.lock().unwrap_or_else(|p| p.into_inner());
                record_failure(&mut t.addr, &addr, now);
                record_failure(&mut t.account, &acct, now);
                Err(AuthError::BadCredentials)
            }
        }
    }

    /// The principal of an `Authorization` header value (`None` header: anonymous).
    pub async fn authenticate(
        &self,
        meta: &dyn MetaStore,
        client: IpAddr,
        header: Option<&str>,
    ) -> Result<Principal, AuthError> {
        let Some(h) = header else { return Ok(Principal::Anonymous) };
        if let Some(tok) = strip_scheme(h, "Bearer") {
            return self.verify_token(tok).map(Principal::Token);
        }
        if let Some(b) = strip_scheme(h, "Basic") {
            let (name, password) = decode_basic(b).ok_or(AuthError::BadCredentials)?;
            let user = self.login(meta, client, &name, &password).await?;
            let roles = meta.roles(&user.name).await?;
            return Ok(Principal::Account { user, roles });
        }
        Err(AuthError::BadCredentials)
    }

    pub fn verify_token(&self, token: &str) -> Result<Claims, AuthError> {
        let mut v = Validation::new(Algorithm::HS256);
        v.set_audience(&[&self.cfg.service]);
        v.set_issuer(&[ISSUER]);
        v.validate_nbf = true;
        v.leeway = 5;
        v.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &v)
            .map(|d| d.claims)
            .map_err(|e| AuthError::BadToken(e.to_string()))
    }

    /// Issue a token for `subject` (empty: anonymous) with `access`.
    pub fn issue(&self, subject: &str, access: Vec<Access>) -> Result<(String, Claims), AuthError> {
        let now = meta::now();
        let claims = Claims {
            iss: ISSUER.into(),
            sub: subject.into(),
            aud: self.cfg.service.clone(),
            exp: now + self.cfg.token_ttl_secs as i64,
            nbf: now - 1,
            iat: now,
            jti: uuid::Uuid::new_v4().to_string(),
            access,
        };
        let tok = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| AuthError::BadToken(e.to_string()))?;
        Ok((tok, claims))
    }

    /// May `who` do `action` on repository `repo`? `project` is the repo's project row,
    /// when it exists (public projects allow anonymous pulls if the config does).
    pub fn allowed(&self, who: &Principal, repo: &str, action: Action, project: Option<&meta::Project>) -> bool {
        if self.cfg.anonymous == Anonymous::Full {
            return true;
        }
        let public_pull =
            action == Action::Pull && self.cfg.anonymous == Anonymous::Public && project.is_some_and(|p| p.public);
        match who {
            Principal::Anonymous => public_pull,
            Principal::Account { user, roles } => {
                if user.admin {
                    return true;
                }
                public_pull || role_allows(roles, meta::project_of(repo), action)
            }
            Principal::Token(c) => {
                c.access.iter().any(|a| {
                    a.kind == "repository"
                        && a.name == repo
                        && a.actions.iter().any(|s| s == action.as_str() || s == "*")
                }) || public_pull
            }
        }
    }

    /// What a token request may get: for each requested scope, the actions the account may
    /// take (distribution grants the intersection and never errors on a denied scope).
    pub async fn grant(
        &self,
        meta: &dyn MetaStore,
        who: Option<&User>,
        scopes: &[Scope],
    ) -> Result<Vec<Access>, AuthError> {
        let roles = match who {
            Some(u) => meta.roles(&u.name).await?,
            None => Vec::new(),
        };
        let principal = match who {
            Some(u) => Principal::Account { user: u.clone(), roles },
            None => Principal::Anonymous,
        };
        let mut out = Vec::new();
        for s in scopes {
            match s.kind.as_str() {
                // A name the /v2 routes would refuse gets nothing: a grant for
                // `team-a/../team-b/x` must not exist even if no route would ever honour it.
                "repository" if !crate::names::valid_name(&s.name) => {
                    out.push(Access { kind: s.kind.clone(), name: s.name.clone(), actions: Vec::new() });
                }
                "repository" => {
                    let project = meta.project(meta::project_of(&s.name)).await?;
                    let mut actions = Vec::new();
                    for a in &s.actions {
                        let expanded: Vec<Action> = if a == "*" {
                            vec![Action::Pull, Action::Push, Action::Delete]
                        } else {
                            Action::parse(a).into_iter().collect()
                        };
                        for act in expanded {
                            if self.allowed(&principal, &s.name, act, project.as_ref())
                                && !actions.contains(&act.as_str().to_string())
                            {
                                actions.push(act.as_str().to_string());
                            }
                        }
                    }
                    out.push(Access { kind: s.kind.clone(), name: s.name.clone(), actions });
                }
                // The catalog is filtered per caller, so any authenticated caller may list it.
                "registry" if s.name == "catalog" && who.is_some() => {
                    out.push(Access { kind: "registry".into(), name: "catalog".into(), actions: vec!["*".into()] })
                }
                _ => {}
            }
        }
        Ok(out)
    }
}

fn role_allows(roles: &[(String, Role)], project: &str, action: Action) -> bool {
    roles.iter().any(|(p, r)| p == project && *r >= action.needs())
}

fn strip_scheme<'a>(h: &'a str, scheme: &str) -> Option<&'a str> {
    let (s, rest) = h.trim().split_once(' ')?;
    s.eq_ignore_ascii_case(scheme).then(|| rest.trim())
}

pub fn decode_basic(b64: &str) -> Option<(String, String)> {
    let raw = base64::engine::general_purpose::STANDARD.decode(b64.trim()).ok()?;
    let s = String::from_utf8(raw).ok()?;
    let (u, p) = s.split_once(':')?;
    Some((u.to_string(), p.to_string()))
}

/// A token request scope: `repository:team-a/app:pull,push`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub kind: String,
    pub name: String,
    pub actions: Vec<String>,
}

impl Scope {
    /// Several scopes may share one parameter, space-separated (RFC 6749), as containerd sends.
    pub fn parse_all(s: &str) -> Vec<Scope> {
        s.split(' ').filter_map(Scope::parse).collect()
    }

    pub fn parse(s: &str) -> Option<Scope> {
        // Repository names never contain ':', so the first field is the type and the last
        // the actions.
        let (kind, rest) = s.split_once(':')?;
        let (name, actions) = rest.rsplit_once(':')?;
        if kind.is_empty() || name.is_empty() {
            return None;
        }
        Some(Scope {
            kind: kind.into(),
            name: name.into(),
            actions: actions.split(',').filter(|a| !a.is_empty()).map(str::to_string).collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn scopes_parse() {
        assert_eq!(
            Scope::parse("repository:team-a/app:pull,push"),
            Some(Scope {
                kind: "repository".into(),
                name: "team-a/app".into(),
                actions: vec!["pull".into(), "push".into()]
            })
        );
        assert_eq!(Scope::parse_all("repository:a/b:pull repository:c/d:push").len(), 2);
        assert_eq!(Scope::parse("repository::pull"), None);
        assert_eq!(Scope::parse("garbage"), None);
    }

    #[test]
    fn passwords_round_trip() {
        let h = hash_password("s3cret").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("s3cret", &h));
        assert!(!verify_password("s3cre", &h));
        assert!(!verify_password("s3cret", "not a hash"));
    }

    #[tokio::test]
    async fn guessing_throttles_the_guesser_not_the_account() {
        let dir = tempfile::tempdir().unwrap();
        let meta = crate::meta::Meta::open(&dir.path().join("meta.db")).unwrap();
        let user = User {
            name: "alice".into(),
            hash: hash_password("right-password").unwrap(),
            robot: false,
            admin: false,
            expires: None,
            created: 0,
        };
        meta.user_put(&user).unwrap();
        let auth = Auth::new(AuthConfig::default(), &meta).await.unwrap();
        let attacker: IpAddr = "192.0.2.7".parse().unwrap();
        let victim: IpAddr = "198.51.100.1".parse().unwrap();
        for _ in 0..FREE_PER_ADDR_ACCOUNT {
            assert!(matches!(auth.login(&meta, attacker, "alice", "wrong").await, Err(AuthError::BadCredentials)));
        }
        // The guesser now waits, even with the right password…
        assert!(matches!(auth.login(&meta, attacker, "alice", "right-password").await, Err(AuthError::Throttled(_))));
        // …and the account's owner, elsewhere, does not.
        assert!(auth.login(&meta, victim, "alice", "right-password").await.is_ok());
        // Another address of the same IPv6 /64 counts as the same client.
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2::ffff".parse().unwrap();
        for _ in 0..FREE_PER_ADDR_ACCOUNT {
            let _ = auth.login(&meta, a, "alice", "wrong").await;
        }
        assert!(matches!(auth.login(&meta, b, "alice", "wrong").await, Err(AuthError::Throttled(_))));
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        let now = Instant::now();
        let f = |count| Failures { count, last: now };
        assert_eq!(f(4).wait(5, now), None);
        assert_eq!(f(5).wait(5, now), Some(Duration::from_secs(1)));
        assert_eq!(f(7).wait(5, now), Some(Duration::from_secs(4)));
        assert_eq!(f(1000).wait(5, now), Some(MAX_BACKOFF));
    }

    #[test]
    fn basic_header() {
        assert_eq!(decode_basic("YWxpY2U6cHc6eA=="), Some(("alice".into(), "pw:x".into())));
        assert_eq!(decode_basic("!!!"), None);
    }
}
