//! `registry.toml`: everything `bulwark registry serve` can be told, with defaults that are
//! safe on a shared network (authentication on, anonymous pulls only of public projects).

use serde::Deserialize;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path}: {source}")]
    Parse { path: PathBuf, source: toml::de::Error },
    #[error("{0}")]
    Invalid(String),
}

/// What anonymous clients may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Anonymous {
    /// Nothing, even on public projects.
    None,
    /// Pull from projects marked public (the default).
    #[default]
    Public,
    /// Everything: no authentication at all (a throwaway or test registry).
    Full,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub addr: SocketAddr,
    pub data: PathBuf,
    pub auth: AuthConfig,
    pub tls: Option<TlsConfig>,
    pub scan: ScanConfig,
    pub gc: GcConfig,
    pub limits: Limits,
    pub connections: Connections,
    /// `json` for one JSON object per log line, else human-readable.
    pub log_format: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            addr: SocketAddr::from(([127, 0, 0, 1], 5000)),
            data: PathBuf::from("./data"),
            auth: AuthConfig::default(),
            tls: None,
            scan: ScanConfig::default(),
            gc: GcConfig::default(),
            limits: Limits::default(),
            connections: Connections::default(),
            log_format: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    pub anonymous: Anonymous,
    /// The `service` named in the Bearer challenge and the tokens' audience.
    pub service: String,
    /// Where clients fetch tokens; default: this server's own `/token`, by the Host they used.
    pub realm: Option<String>,
    pub token_ttl_secs: u64,
    /// A file holding the token signing secret (shared by replicas); default: one generated
    /// at first start and kept in the metadata database.
    pub token_secret_file: Option<PathBuf>,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            anonymous: Anonymous::Public,
            service: "bulwark-registry".into(),
            realm: None,
            token_ttl_secs: 300,
            token_secret_file: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    pub cert: PathBuf,
    pub key: PathBuf,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScanConfig {
    /// Scan every image manifest when it is pushed.
    pub on_push: bool,
    /// The advisory database (`bulwark db update` writes it); default: the user cache's.
    pub db: Option<PathBuf>,
    /// How often to look for a new advisory database and re-match stored SBOMs.
    pub db_poll_secs: u64,
}

impl Default for ScanConfig {
    fn default() -> Self {
        ScanConfig { on_push: true, db: None, db_poll_secs: 60 }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GcConfig {
    /// Blobs younger than this are never collected: a client pushes layers before the manifest
    /// that references them.
    pub grace_secs: u64,
    /// Abandoned uploads older than this are removed.
    pub upload_max_age_secs: u64,
    /// Run retention and GC every this many seconds; 0: only when asked.
    pub interval_secs: u64,
    /// Hash every kept blob at each GC and quarantine the damaged ones (reads every stored
    /// byte once per run).
    pub verify_blobs: bool,
}

impl Default for GcConfig {
    fn default() -> Self {
        GcConfig { grace_secs: 3600, upload_max_age_secs: 24 * 3600, interval_secs: 0, verify_blobs: true }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    pub max_manifest_bytes: u64,
    pub max_blob_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        // distribution's own manifest cap; blobs up to 64 GiB.
        Limits { max_manifest_bytes: 4 << 20, max_blob_bytes: 64 << 30 }
    }
}

/// Connection limits: what an unauthenticated client can hold open.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Connections {
    /// A connection must deliver a request's complete header within this (and a TLS handshake
    /// too); an HTTP/1 connection waiting for its next request counts as reading a header.
    pub header_timeout_secs: u64,
    /// A connection with no request in flight and no bytes either way for this long is closed
    /// (HTTP/2 included).
    pub idle_timeout_secs: u64,
    /// Connections open at once; more are closed as soon as accepted.
    pub max: usize,
    /// The last this-many of `max` serve only `/healthz`, `/readyz`, `/metrics` and requests
    /// with credentials (others get 503), so probes and clients get through a flood.
    pub reserved: usize,
    /// Connections open at once from one client address (IPv6: one /64).
    pub per_client: usize,
    /// Reverse proxies (CIDR ranges) whose `X-Forwarded-For` names the client: behind an
    /// ingress every request comes from the proxy, and login throttling keyed by its address
    /// would let one guesser throttle everyone. Empty: the header is ignored (a client could
    /// otherwise pick its own address and escape throttling).
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

impl Connections {
    pub fn check(&self) -> Result<(), String> {
        if self.header_timeout_secs == 0 || self.idle_timeout_secs == 0 {
            return Err("timeouts must be at least 1 second".into());
        }
        if self.max == 0 || self.per_client == 0 || self.reserved >= self.max {
            return Err(format!(
                "need max >= 1, per_client >= 1 and reserved < max (max {}, reserved {})",
                self.max, self.reserved
            ));
        }
        Ok(())
    }
}

impl Default for Connections {
    fn default() -> Self {
        Connections {
            header_timeout_secs: 20,
            idle_timeout_secs: 120,
            max: 1000,
            reserved: 50,
            per_client: 200,
            trusted_proxies: Vec::new(),
        }
    }
}

impl Config {
    pub fn load(path: &std::path::Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.into(), source })?;
        let cfg: Config = toml::from_str(&text).map_err(|source| ConfigError::Parse { path: path.into(), source })?;
        cfg.connections.check().map_err(|m| ConfigError::Invalid(format!("{}: [connections] {m}", path.display())))?;
        Ok(cfg)
    }
}
