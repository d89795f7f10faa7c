//! `bulwark registry`: serve a registry, and manage its users, robots, projects, retention and
//! GC from the command line (on the data directory; SQLite lets this run beside the server,
//! except GC, which needs the server's own lock and so goes through its API while it runs).

use anyhow::{bail, Context, Result};
use bulwark_registry::accounts::{self, ProjectBody, UserBody};
use bulwark_registry::config::{Anonymous, Config, TlsConfig};
use bulwark_registry::meta::{Meta, Retention};
use clap::{Args, Subcommand};
use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};

#[derive(Subcommand)]
pub(crate) enum RegistryCommand {
    /// Run the registry (OCI distribution API, /token, /api/v1, /metrics, /healthz).
    Serve(ServeArgs),
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage robot accounts (scoped, generated secrets).
    #[command(subcommand)]
    Robot(RobotCommand),
    /// Manage projects (the first path component of a repository).
    #[command(subcommand)]
    Project(ProjectCommand),
    /// Delete blobs no manifest references, and abandoned uploads (server stopped).
    Gc(MaintArgs),
    /// Apply every project's retention policy (delete tags and their untagged manifests).
    Retention(MaintArgs),
}

#[derive(Args)]
pub(crate) struct DataArgs {
    /// The registry's data directory.
    #[arg(long, default_value = "./data", env = "BULWARK_REGISTRY_DATA")]
    data: PathBuf,
}

#[derive(Args)]
pub(crate) struct ServeArgs {
    /// registry.toml; flags given here override it.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Address to listen on (default 127.0.0.1:5000).
    #[arg(long)]
    addr: Option<std::net::SocketAddr>,
    /// Data directory (default ./data).
    #[arg(long)]
    data: Option<PathBuf>,
    /// TLS certificate chain (PEM); with --tls-key, serve HTTPS.
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// What anonymous clients may do: none, public (pull public projects), full (no auth).
    #[arg(long, value_parser = ["none", "public", "full"])]
    anonymous: Option<String>,
    /// The advisory database for scan-on-push (default: the one `bulwark db update` writes).
    #[arg(long)]
    db: Option<PathBuf>,
    /// Do not scan pushed images.
    #[arg(long)]
    no_scan: bool,
    /// Log format: text or json.
    #[arg(long)]
    log_format: Option<String>,
}

#[derive(Subcommand)]
pub(crate) enum UserCommand {
    /// Add a user; the password comes from BULWARK_REGISTRY_PASSWORD, standard input or a prompt.
    Add {
        name: String,
        /// PROJECT:ROLE (pull, push or admin); repeat for several projects.
        #[arg(long = "role")]
        roles: Vec<String>,
        /// A system administrator (every project, user management).
        #[arg(long)]
        admin: bool,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Give or change a user's role on a project (`--role PROJECT:none` removes it).
    Role {
        name: String,
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
        #[command(flatten)]
        data: DataArgs,
    },
    List {
        #[command(flatten)]
        data: DataArgs,
    },
    Del {
        name: String,
        #[command(flatten)]
        data: DataArgs,
    },
}

#[derive(Subcommand)]
pub(crate) enum RobotCommand {
    /// Add a robot account `robot$PROJECT+NAME` (NAME alone when its roles are in one project,
    /// else PROJECT+NAME with one of them); prints its name and secret once.
    Add {
        name: String,
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
        /// Expire after this many days.
        #[arg(long)]
        expires_days: Option<u32>,
        #[command(flatten)]
        data: DataArgs,
    },
}

#[derive(Args)]
pub(crate) struct ProjectOpts {
    /// Anyone may pull (when the server allows anonymous access to public projects).
    #[arg(long)]
    public: Option<bool>,
    /// A tag, once pushed, cannot be moved to other content.
    #[arg(long)]
    immutable_tags: Option<bool>,
    /// Retention: keep the newest N matching tags.
    #[arg(long)]
    keep_last: Option<u32>,
    /// Retention: keep matching tags pushed within D days.
    #[arg(long)]
    keep_days: Option<u32>,
    /// Retention: the tags the rule covers (glob, default *).
    #[arg(long)]
    tag_pattern: Option<String>,
    /// Refuse pulls of images with findings at or above this severity ("" to stop).
    #[arg(long)]
    block_severity: Option<String>,
    /// With --block-severity: pull images not scanned yet or whose scan failed (default deny).
    #[arg(long, value_parser = ["allow", "deny"])]
    unscanned: Option<String>,
}

#[derive(Subcommand)]
pub(crate) enum ProjectCommand {
    Create {
        name: String,
        #[command(flatten)]
        opts: ProjectOpts,
        #[command(flatten)]
        data: DataArgs,
    },
    Update {
        name: String,
        #[command(flatten)]
        opts: ProjectOpts,
        #[command(flatten)]
        data: DataArgs,
    },
    List {
        #[command(flatten)]
        data: DataArgs,
    },
}

#[derive(Args)]
pub(crate) struct MaintArgs {
    /// Say what would be deleted; delete nothing.
    #[arg(long)]
    dry_run: bool,
    /// registry.toml, for its data directory and [gc] grace and upload age.
    #[arg(long)]
    config: Option<PathBuf>,
    /// The data directory (default: the config's, else ./data).
    #[arg(long, env = "BULWARK_REGISTRY_DATA")]
    data: Option<PathBuf>,
}

pub(crate) fn run(cmd: RegistryCommand) -> Result<i32> {
    match cmd {
        RegistryCommand::Serve(a) => serve(a),
        RegistryCommand::User(c) => user(c),
        RegistryCommand::Robot(RobotCommand::Add { name, roles, expires_days, data }) => {
            let meta = open_meta(&data.data)?;
            let body = UserBody { name, roles, expires_days, ..Default::default() };
            let (user, secret) = block_on(accounts::create_account(&meta, &body, true))??;
            println!("{}", serde_json::json!({"name": user.name, "secret": secret, "expires": user.expires}));
            Ok(0)
        }
        RegistryCommand::Project(c) => project(c),
        RegistryCommand::Gc(a) => maintenance(a, true),
        RegistryCommand::Retention(a) => maintenance(a, false),
    }
}

fn open_meta(data: &Path) -> Result<Meta> {
    std::fs::create_dir_all(data).with_context(|| format!("creating {}", data.display()))?;
    let p = bulwark_registry::server::meta_path(data);
    Meta::open(&p).with_context(|| format!("opening {}", p.display()))
}

fn serve(a: ServeArgs) -> Result<i32> {
    let mut cfg = match &a.config {
        Some(p) => Config::load(p)?,
        None => Config::default(),
    };
    if let Some(v) = a.addr {
        cfg.addr = v;
    }
    if let Some(v) = a.data {
        cfg.data = v;
    }
    if let (Some(cert), Some(key)) = (a.tls_cert, a.tls_key) {
        cfg.tls = Some(TlsConfig { cert, key });
    }
    if let Some(v) = a.anonymous.as_deref() {
        cfg.auth.anonymous = match v {
            "none" => Anonymous::None,
            "full" => Anonymous::Full,
            _ => Anonymous::Public,
        };
    }
    if let Some(db) = a.db {
        cfg.scan.db = Some(db);
    }
    if a.no_scan {
        cfg.scan.on_push = false;
    }
    if a.log_format.is_some() {
        cfg.log_format = a.log_format;
    }
    init_logging(cfg.log_format.as_deref());
    let _lock = bulwark_registry::server::lock_data(&cfg.data)?;
    let addr = cfg.addr;
    if cfg.auth.anonymous == Anonymous::Full {
        tracing::warn!("anonymous = full: anyone who can reach {addr} may push, pull and delete");
    }
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async move {
        let state = bulwark_registry::server::open(cfg).await?;
        let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("listening on {addr}"))?;
        tracing::info!(addr = %listener.local_addr()?, tls = state.tls, "bulwark registry listening");
        bulwark_registry::server::serve(state, listener).await?;
        anyhow::Ok(())
    })?;
    Ok(0)
}

fn init_logging(format: Option<&str>) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let b = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if format == Some("json") {
        b.json().init();
    } else {
        b.init();
    }
}

/// The password for a new user: the environment, else standard input (one line) when it is
/// not a terminal, else a prompt twice.
fn new_password() -> Result<String> {
    if let Ok(p) = std::env::var("BULWARK_REGISTRY_PASSWORD") {
        return Ok(p);
    }
    if !std::io::stdin().is_terminal() {
        let mut s = String::new();
        std::io::stdin().take(4096).read_to_string(&mut s)?;
        return Ok(s.lines().next().unwrap_or("").to_string());
    }
    let a = rpassword::prompt_password("Password: ")?;
    let b = rpassword::prompt_password("Password again: ")?;
    if a != b {
        bail!("the passwords differ");
    }
    Ok(a)
}

fn user(c: UserCommand) -> Result<i32> {
    match c {
        UserCommand::Add { name, roles, admin, data } => {
            let meta = open_meta(&data.data)?;
            let body = UserBody { name, password: Some(new_password()?), admin, roles, expires_days: None };
            let (user, _) = block_on(accounts::create_account(&meta, &body, false))??;
            eprintln!("added user {}", user.name);
        }
        UserCommand::Role { name, roles, data } => {
            let meta = open_meta(&data.data)?;
            if meta.user(&name)?.is_none() {
                bail!("no user {name}");
            }
            for r in roles {
                match r.rsplit_once(':') {
                    Some((p, "none")) => meta.role_set(&name, p, None)?,
                    _ => {
                        let (p, role) = accounts::parse_role_grant(&r)
                            .with_context(|| format!("--role {r:?}: PROJECT:pull|push|admin|none"))?;
                        meta.role_set(&name, &p, Some(role))?;
                    }
                }
            }
        }
        UserCommand::List { data } => {
            let meta = open_meta(&data.data)?;
            for u in meta.users()? {
                let roles: Vec<String> =
                    meta.roles(&u.name)?.into_iter().map(|(p, r)| format!("{p}:{}", r.as_str())).collect();
                println!(
                    "{}",
                    serde_json::json!({"name": u.name, "admin": u.admin, "robot": u.robot, "expires": u.expires, "roles": roles})
                );
            }
        }
        UserCommand::Del { name, data } => {
            let meta = open_meta(&data.data)?;
            if !meta.user_delete(&name)? {
                bail!("no user {name}");
            }
        }
    }
    Ok(0)
}

/// Run one call of the registry library (its metadata store is async) from a CLI command.
fn block_on<F: std::future::Future>(f: F) -> Result<F::Output> {
    Ok(tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(f))
}

fn project_body(name: &str, o: &ProjectOpts) -> ProjectBody {
    let retention = (o.keep_last.is_some() || o.keep_days.is_some() || o.tag_pattern.is_some()).then(|| Retention {
        keep_last: o.keep_last,
        keep_days: o.keep_days,
        pattern: o.tag_pattern.clone(),
    });
    ProjectBody {
        name: Some(name.to_string()),
        public: o.public,
        immutable_tags: o.immutable_tags,
        retention,
        block_severity: o.block_severity.clone(),
        unscanned: o.unscanned.clone(),
    }
}

fn project(c: ProjectCommand) -> Result<i32> {
    match c {
        ProjectCommand::Create { name, opts, data } | ProjectCommand::Update { name, opts, data } => {
            if !accounts::valid_project(&name) {
                bail!("invalid project name {name:?}: lowercase letters, digits and . _ - separators");
            }
            let meta = open_meta(&data.data)?;
            let mut p = meta.project(&name)?.unwrap_or_else(|| bulwark_registry::meta::Project::new(&name));
            accounts::apply_project(&mut p, &project_body(&name, &opts))?;
            meta.project_put(&p)?;
            println!("{}", serde_json::to_string(&p)?);
        }
        ProjectCommand::List { data } => {
            let meta = open_meta(&data.data)?;
            for p in meta.projects()? {
                println!("{}", serde_json::to_string(&p)?);
            }
        }
    }
    Ok(0)
}

fn maintenance(a: MaintArgs, gc: bool) -> Result<i32> {
    let mut cfg = match &a.config {
        Some(p) => Config::load(p)?,
        None => Config::default(),
    };
    if let Some(d) = a.data {
        cfg.data = d;
    }
    cfg.scan.on_push = false;
    // GC decides what is unreferenced; a server pushing at the same time could reference a blob
    // between the decision and the delete. Its lock says whether one is running.
    let _lock = bulwark_registry::server::lock_data(&cfg.data)
        .context("the registry server is running: use POST /api/v1/gc (or /api/v1/retention) on it, or stop it")?;
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async move {
        let st = bulwark_registry::server::open(cfg).await?;
        if gc {
            let r = bulwark_registry::maintenance::run_gc(&st, a.dry_run).await?;
            println!("{}", serde_json::to_string(&r)?);
        } else {
            let run = bulwark_registry::maintenance::apply_retention(&st, a.dry_run).await?;
            for r in &run.reports {
                println!("{}", serde_json::to_string(r)?);
            }
            if let Some((project, e)) = run.failed.first() {
                bail!("retention of project {project}: {e}");
            }
        }
        anyhow::Ok(())
    })?;
    Ok(0)
}
