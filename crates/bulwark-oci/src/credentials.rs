//! Registry credentials from Docker's `config.json` (`auths`), as `docker login` writes them:
//! read, never a credential helper run. Also a Kubernetes `.dockerconfigjson` as is, and the
//! legacy `.dockercfg` layout. The secret never reaches a log line or an error message.

use base64::Engine as _;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

/// A `config.json` (or a Kubernetes secret, itself capped at 1 MiB) is small.
const MAX_DOCKER_CONFIG: u64 = 1 << 20;
/// The key Docker files Docker Hub credentials under.
const DOCKER_HUB_KEY: &str = "https://index.docker.io/v1/";

/// How to authenticate to a registry. `Debug` never shows the secret.
#[derive(Clone, PartialEq, Eq)]
pub enum Auth {
    Anonymous,
    Basic {
        username: String,
        password: String,
    },
    /// A registry token used as is (`registrytoken`).
    Bearer(String),
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::Anonymous => f.write_str("Anonymous"),
            Auth::Basic { username, .. } => write!(f, "Basic({username:?}, <password>)"),
            Auth::Bearer(_) => f.write_str("Bearer(<token>)"),
        }
    }
}

/// Credentials for one registry and where they came from.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub auth: Auth,
    /// Where they came from, e.g. `/root/.docker/config.json (auths "ghcr.io")`; `None` when
    /// anonymous.
    pub source: Option<String>,
    /// The file looked in, for a "no credentials" message.
    pub searched: String,
}

#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    /// The file given explicitly cannot be read.
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    /// A config file or entry that is not what Docker writes; never quotes a value.
    #[error("{0}")]
    Invalid(String),
}

/// Registry-supplied or user text made safe to print: no control characters, bounded length.
fn clean(s: &str, max: usize) -> String {
    let mut out: String = s.chars().map(|c| if c.is_control() { ' ' } else { c }).take(max).collect();
    if s.chars().count() > max {
        out.push('…');
    }
    out.trim().to_string()
}

#[derive(Deserialize, Default)]
struct DockerConfig {
    #[serde(default)]
    auths: BTreeMap<String, AuthEntry>,
    #[serde(rename = "credHelpers", default)]
    cred_helpers: BTreeMap<String, String>,
    #[serde(rename = "credsStore", default)]
    creds_store: Option<String>,
    /// Everything else: in the legacy `.dockercfg` format (Kubernetes `dockercfg` secrets),
    /// the registry entries themselves, with no `auths` around them.
    #[serde(flatten)]
    other: BTreeMap<String, serde_json::Value>,
}

impl DockerConfig {
    /// Take the registry entries of a legacy `.dockercfg` into `auths`.
    fn adopt_legacy(&mut self) {
        if !self.auths.is_empty() {
            return;
        }
        for (key, value) in std::mem::take(&mut self.other) {
            if value.get("auth").is_some() {
                // An entry that does not parse is skipped: its error could quote a secret.
                if let Ok(entry) = serde_json::from_value::<AuthEntry>(value) {
                    self.auths.insert(key, entry);
                }
            }
        }
    }
}

#[derive(Deserialize, Default)]
struct AuthEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(rename = "identitytoken", default)]
    identity_token: Option<String>,
    #[serde(rename = "registrytoken", default)]
    registry_token: Option<String>,
}

/// The config file Docker would read: the explicit one, else `$DOCKER_CONFIG/config.json`,
/// else `~/.docker/config.json`.
pub fn docker_config_path(
    explicit: Option<&Path>,
    docker_config_env: Option<PathBuf>,
    home: Option<PathBuf>,
) -> Option<PathBuf> {
    if let Some(p) = explicit {
        return Some(if p.is_dir() { p.join("config.json") } else { p.to_path_buf() });
    }
    if let Some(d) = docker_config_env.filter(|d| !d.as_os_str().is_empty()) {
        return Some(d.join("config.json"));
    }
    home.map(|h| h.join(".docker").join("config.json"))
}

/// Credentials for `registry` (a host, `host:port`, or `docker.io`) from Docker's config.json:
/// the explicit file (or directory holding `config.json`, or Kubernetes `.dockerconfigjson`),
/// else `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`; anonymous when none
/// applies. Only a file named explicitly must exist. Warnings (credential helpers not run,
/// identity tokens) are logged.
pub fn load(registry: &str, explicit: Option<&Path>) -> Result<Credentials, CredentialsError> {
    let path = docker_config_path(explicit, std::env::var_os("DOCKER_CONFIG").map(PathBuf::from), dirs::home_dir());
    let anonymous = |searched: String| Credentials { auth: Auth::Anonymous, source: None, searched };
    let Some(path) = path else {
        return Ok(anonymous("no Docker config.json (no home directory)".into()));
    };
    let searched = path.display().to_string();
    let bytes = match read_bounded(&path, MAX_DOCKER_CONFIG) {
        Ok(b) => b,
        // Only a file the user named must exist; the default one often does not.
        Err(e) if explicit.is_none() && e.kind() == std::io::ErrorKind::NotFound => return Ok(anonymous(searched)),
        Err(e) if explicit.is_some() => return Err(CredentialsError::Io { path, source: e }),
        Err(e) => {
            tracing::warn!("{searched}: {e}; going on without credentials");
            return Ok(anonymous(searched));
        }
    };
    // serde_json's messages can quote the offending value, which may be a password: only the
    // position is reported.
    let mut config: DockerConfig = serde_json::from_slice(&bytes).map_err(|e| {
        CredentialsError::Invalid(format!(
            "{searched}: not a Docker config.json ({:?} error at line {}, column {})",
            e.classify(),
            e.line(),
            e.column()
        ))
    })?;
    config.adopt_legacy();
    let found = lookup(&config, registry, &searched)?;
    for w in &found.warnings {
        tracing::warn!("{w}");
    }
    Ok(match found.auth {
        Some((auth, key)) => Credentials { auth, source: Some(format!("{searched} (auths {key:?})")), searched },
        None => anonymous(searched),
    })
}

/// A whole file, refused past `max` bytes without reading the rest (a config or manifest
/// named by a stranger may be a device or a huge file).
pub fn read_bounded(path: &Path, max: u64) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    std::fs::File::open(path)?.take(max + 1).read_to_end(&mut buf)?;
    if buf.len() as u64 > max {
        return Err(std::io::Error::other(format!("larger than {max} bytes")));
    }
    Ok(buf)
}

struct Lookup {
    /// The credentials and the `auths` key they were under.
    auth: Option<(Auth, String)>,
    warnings: Vec<String>,
}

/// Find `registry`'s credentials as Docker does: the exact key first (Docker Hub's is
/// `https://index.docker.io/v1/`), then any key with the same host, with or without a scheme
/// or path.
fn lookup(config: &DockerConfig, registry: &str, file: &str) -> Result<Lookup, CredentialsError> {
    let mut warnings = Vec::new();
    if let Some((key, helper)) = matching(&config.cred_helpers, registry).next() {
        warnings.push(format!(
            "{file}: credHelpers names docker-credential-{} for {key:?}; Bulwark does not run credential helpers, \
             so it uses an auths entry if there is one, else pulls anonymously",
            clean(helper, 60)
        ));
    }
    for (key, entry) in matching(&config.auths, registry) {
        if let Some(auth) = entry_auth(entry, key, file)? {
            return Ok(Lookup { auth: Some((auth, key.clone())), warnings });
        }
        if entry.identity_token.as_deref().is_some_and(|t| !t.is_empty()) {
            warnings.push(format!(
                "{file}: auths {key:?} holds an identity token (an OAuth refresh token), which Bulwark does not \
                 support; pulling anonymously"
            ));
        }
    }
    if let Some(store) = &config.creds_store {
        if warnings.is_empty() {
            warnings.push(format!(
                "{file}: credsStore keeps credentials in docker-credential-{}, which Bulwark does not run; no \
                 auths entry for {registry}, so pulling anonymously (give a config.json with an auths entry to \
                 authenticate)",
                clean(store, 60)
            ));
        }
    }
    Ok(Lookup { auth: None, warnings })
}

/// Entries of an `auths` or `credHelpers` map that apply to `registry`, the exact key first.
fn matching<'a, T>(map: &'a BTreeMap<String, T>, registry: &str) -> impl Iterator<Item = (&'a String, &'a T)> {
    let registry = registry.to_ascii_lowercase();
    let hub = is_docker_hub(&registry);
    let exact = if hub { DOCKER_HUB_KEY.to_string() } else { registry.clone() };
    let first = map.get_key_value(&exact);
    let rest = map.iter().filter(move |(k, _)| {
        **k != exact && {
            let h = key_host(k);
            if hub {
                is_docker_hub(&h)
            } else {
                h == registry
            }
        }
    });
    first.into_iter().chain(rest)
}

fn is_docker_hub(host: &str) -> bool {
    matches!(host, "docker.io" | "index.docker.io" | "registry-1.docker.io")
}

/// `https://host:port/v1/` → `host:port`, as Docker's `ConvertToHostname`.
fn key_host(key: &str) -> String {
    let k = key.trim();
    let k = k.strip_prefix("https://").or_else(|| k.strip_prefix("http://")).unwrap_or(k);
    k.split('/').next().unwrap_or(k).to_ascii_lowercase()
}

fn entry_auth(e: &AuthEntry, key: &str, file: &str) -> Result<Option<Auth>, CredentialsError> {
    if let Some(encoded) = e.auth.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
        // Docker writes padded standard base64; some tools drop the padding.
        let engine = base64::engine::GeneralPurpose::new(
            &base64::alphabet::STANDARD,
            base64::engine::GeneralPurposeConfig::new()
                .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
        );
        let bad = |why: &str| CredentialsError::Invalid(format!("{file}: auths {key:?}: \"auth\" {why}"));
        let raw = engine.decode(encoded).map_err(|_| bad("is not base64"))?;
        let text = String::from_utf8(raw).map_err(|_| bad("does not decode to UTF-8"))?;
        let (user, pass) = text.split_once(':').ok_or_else(|| bad("does not decode to user:password"))?;
        if !user.is_empty() {
            return Ok(Some(Auth::Basic { username: user.to_string(), password: pass.to_string() }));
        }
    }
    if let (Some(user), Some(pass)) = (e.username.as_deref(), e.password.as_deref()) {
        if !user.is_empty() {
            return Ok(Some(Auth::Basic { username: user.to_string(), password: pass.to_string() }));
        }
    }
    if let Some(token) = e.registry_token.as_deref().filter(|t| !t.is_empty()) {
        return Ok(Some(Auth::Bearer(token.to_string())));
    }
    Ok(None)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn config(json: &str) -> DockerConfig {
        serde_json::from_str(json).unwrap()
    }

    fn basic(l: &Lookup) -> (String, String) {
        match &l.auth {
            Some((Auth::Basic { username: u, password: p }, _)) => (u.clone(), p.clone()),
            _ => panic!("no basic credentials"),
        }
    }

    #[test]
    fn matches_keys_like_docker() {
        let c = config(
            r#"{"auths": {
                "https://index.docker.io/v1/": {"auth": "aHViOmh1YnBhc3M="},
                "https://ghcr.io": {"username": "gh", "password": "ghpass"},
                "registry.example.com:5000/v2/": {"auth": "ZXg6ZXhwYXNz"},
                "127.0.0.1:5000": {"auth": "bG9jYWw6cHc"}
            }}"#,
        );
        assert_eq!(basic(&lookup(&c, "docker.io", "f").unwrap()), ("hub".into(), "hubpass".into()));
        assert_eq!(basic(&lookup(&c, "index.docker.io", "f").unwrap()), ("hub".into(), "hubpass".into()));
        assert_eq!(basic(&lookup(&c, "ghcr.io", "f").unwrap()), ("gh".into(), "ghpass".into()));
        assert_eq!(basic(&lookup(&c, "Registry.Example.com:5000", "f").unwrap()), ("ex".into(), "expass".into()));
        // Unpadded base64, as some tools write it.
        assert_eq!(basic(&lookup(&c, "127.0.0.1:5000", "f").unwrap()), ("local".into(), "pw".into()));
        assert!(lookup(&c, "127.0.0.1:5001", "f").unwrap().auth.is_none());
        assert!(lookup(&c, "quay.io", "f").unwrap().auth.is_none());
        // Hub credentials filed under a bare host work too.
        let c = config(r#"{"auths": {"docker.io": {"auth": "aHViOmh1YnBhc3M="}}}"#);
        assert_eq!(basic(&lookup(&c, "docker.io", "f").unwrap()), ("hub".into(), "hubpass".into()));
    }

    #[test]
    fn empty_entries_are_skipped() {
        let c = config(
            r#"{"auths": {
                "reg.example": {},
                "https://reg.example/v2/": {"auth": "bmV3Om5ldw=="},
                "https://other.example/": {"auth": "b2xkOm9sZA=="}
            }}"#,
        );
        assert_eq!(basic(&lookup(&c, "reg.example", "f").unwrap()), ("new".into(), "new".into()));
    }

    #[test]
    fn registry_token_is_bearer_and_identity_token_warns() {
        let c = config(r#"{"auths": {"a.example": {"registrytoken": "tok"}, "b.example": {"identitytoken": "x"}}}"#);
        assert!(matches!(lookup(&c, "a.example", "f").unwrap().auth, Some((Auth::Bearer(t), _)) if t == "tok"));
        let l = lookup(&c, "b.example", "f").unwrap();
        assert!(l.auth.is_none());
        assert!(l.warnings[0].contains("identity token"), "{:?}", l.warnings);
    }

    #[test]
    fn helpers_and_stores_warn_without_running() {
        let c = config(r#"{"auths": {"https://index.docker.io/v1/": {}}, "credsStore": "desktop"}"#);
        let l = lookup(&c, "docker.io", "cfg.json").unwrap();
        assert!(l.auth.is_none());
        assert!(l.warnings.len() == 1 && l.warnings[0].contains("docker-credential-desktop"), "{:?}", l.warnings);
        let c = config(r#"{"credHelpers": {"gcr.io": "gcloud"}, "auths": {"gcr.io": {"auth": "dTpw"}}}"#);
        let l = lookup(&c, "gcr.io", "cfg.json").unwrap();
        assert_eq!(basic(&l), ("u".into(), "p".into()));
        assert!(l.warnings[0].contains("docker-credential-gcloud"), "{:?}", l.warnings);
        assert!(lookup(&c, "quay.io", "cfg.json").unwrap().warnings.is_empty());
    }

    #[test]
    fn bad_auth_fields_are_errors_that_keep_the_secret() {
        let secret = "s3cr3t-no-colon";
        let encoded = base64::engine::general_purpose::STANDARD.encode(secret);
        let c = config(&format!(r#"{{"auths": {{"r.example": {{"auth": "{encoded}"}}}}}}"#));
        let e = lookup(&c, "r.example", "f").err().unwrap().to_string();
        assert!(e.contains("user:password") && !e.contains(secret) && !e.contains(&encoded), "{e}");
        let c = config(r#"{"auths": {"r.example": {"auth": "!!!"}}}"#);
        assert!(lookup(&c, "r.example", "f").is_err());
    }

    #[test]
    fn malformed_config_error_does_not_quote_values() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        std::fs::write(&path, r#"{"auths": {"r.example": {"password": ["hunter2-secret"]}}}"#).unwrap();
        let e = load("r.example", Some(&path)).unwrap_err().to_string();
        assert!(e.contains("not a Docker config.json") && !e.contains("hunter2"), "{e}");
        // A directory given explicitly means the config.json inside it.
        std::fs::write(&path, r#"{"auths": {"r.example": {"auth": "dTpodW50ZXIy"}}}"#).unwrap();
        let c = load("r.example", Some(dir.path())).unwrap();
        assert!(matches!(&c.auth, Auth::Basic { username: u, .. } if u == "u"));
        let shown = format!("{c:?}");
        assert!(shown.contains("Basic(\"u\"") && !shown.contains("hunter2"), "{shown}");
        // An explicit file that does not exist is an error, not anonymous access.
        assert!(load("r.example", Some(&dir.path().join("nope.json"))).is_err());
    }

    #[test]
    fn legacy_dockercfg_entries_are_read() {
        let mut c = config(r#"{"https://r.example/v1/": {"auth": "dTpw", "email": "x@example"}}"#);
        c.adopt_legacy();
        assert_eq!(basic(&lookup(&c, "r.example", "f").unwrap()), ("u".into(), "p".into()));
        // Beside `auths`, other top-level keys are settings, not registries.
        let mut c = config(r#"{"auths": {"y.example": {}}, "psFormat": "table", "x.example": {"auth": "dTpw"}}"#);
        c.adopt_legacy();
        assert!(lookup(&c, "x.example", "f").unwrap().auth.is_none());
    }

    #[test]
    fn config_path_precedence() {
        let explicit = Path::new("/nonexistent/k8s/.dockerconfigjson");
        assert_eq!(
            docker_config_path(Some(explicit), Some("/d".into()), Some("/home/u".into())),
            Some(explicit.to_path_buf())
        );
        assert_eq!(
            docker_config_path(None, Some("/d".into()), Some("/home/u".into())),
            Some(PathBuf::from("/d/config.json"))
        );
        assert_eq!(
            docker_config_path(None, Some("".into()), Some("/home/u".into())),
            Some(PathBuf::from("/home/u/.docker/config.json"))
        );
        assert_eq!(docker_config_path(None, None, None), None);
    }
}
