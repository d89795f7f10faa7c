//! Accounts and projects as the management API and the CLI change them: request bodies, name
//! rules, robot naming and account creation. Errors are domain errors ([`AccountError`]); the
//! management API turns them into HTTP answers, the CLI into messages.

use crate::meta::{self, MetaError, Project, Retention, Role, User};
use serde::Deserialize;

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// The request is not acceptable (a bad name, role, password or setting).
    #[error("{0}")]
    Invalid(String),
    /// The account already exists.
    #[error("account {0} exists")]
    Exists(String),
    #[error(transparent)]
    Meta(#[from] MetaError),
    #[error("hashing the password: {0}")]
    Hash(String),
}

fn bad(msg: impl Into<String>) -> AccountError {
    AccountError::Invalid(msg.into())
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ProjectBody {
    pub name: Option<String>,
    pub public: Option<bool>,
    pub immutable_tags: Option<bool>,
    pub retention: Option<Retention>,
    pub block_severity: Option<String>,
    /// `allow` or `deny`: images without a vulnerability report when `block_severity` is set.
    pub unscanned: Option<String>,
}

pub fn valid_project(name: &str) -> bool {
    !name.contains('/') && crate::names::valid_name(name)
}

pub fn apply_project(p: &mut Project, b: &ProjectBody) -> Result<(), AccountError> {
    if let Some(v) = b.public {
        p.public = v;
    }
    if let Some(v) = b.immutable_tags {
        p.immutable_tags = v;
    }
    if let Some(r) = &b.retention {
        p.retention = Some(r.clone());
    }
    if let Some(s) = &b.block_severity {
        if s.is_empty() {
            p.block_severity = None;
        } else {
            let up = s.to_ascii_uppercase();
            if !["CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN"].contains(&up.as_str()) {
                return Err(bad(format!("block_severity {s:?}: one of CRITICAL, HIGH, MEDIUM, LOW, UNKNOWN")));
            }
            p.block_severity = Some(up);
        }
    }
    if let Some(u) = &b.unscanned {
        p.unscanned =
            Some(meta::Unscanned::parse(u).ok_or_else(|| bad(format!("unscanned {u:?}: one of allow, deny")))?);
    }
    Ok(())
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct UserBody {
    pub name: String,
    pub password: Option<String>,
    #[serde(default)]
    pub admin: bool,
    /// `project:role` strings.
    #[serde(default)]
    pub roles: Vec<String>,
    pub expires_days: Option<u32>,
}

pub fn parse_role_grant(s: &str) -> Option<(String, Role)> {
    let (p, r) = s.rsplit_once(':')?;
    if !valid_project(p) {
        return None;
    }
    Some((p.to_string(), Role::parse(r)?))
}

/// A robot's full account name, `robot$PROJECT+NAME` (Harbor's form): `name` is `NAME` when
/// every role is in one project, else `PROJECT+NAME` naming one of them. The project prefix
/// means nobody can take a name in a project they do not administer.
pub fn robot_name(name: &str, grants: &[(String, Role)]) -> Result<String, AccountError> {
    if grants.is_empty() {
        return Err(bad("a robot needs at least one role (PROJECT:pull|push|admin)"));
    }
    let (project, short) = match name.split_once('+') {
        Some((p, n)) => (p.to_string(), n),
        None => {
            let first = &grants[0].0;
            if grants.iter().any(|(p, _)| p != first) {
                return Err(bad(format!(
                    "robot {name:?} has roles in several projects: name it PROJECT+{name} with one of them"
                )));
            }
            (first.clone(), name)
        }
    };
    if !grants.iter().any(|(p, _)| *p == project) {
        return Err(bad(format!("robot {name:?}: project {project:?} is not one of its roles' projects")));
    }
    if !valid_account_name(short) {
        return Err(bad(format!("invalid robot name {short:?}")));
    }
    Ok(format!("robot${project}+{short}"))
}

pub fn valid_account_name(n: &str) -> bool {
    !n.is_empty() && n.len() <= 64 && !n.contains([':', '$', '/', ' ', '+']) && !n.chars().any(char::is_control)
}

/// Create a user or robot (named by [`robot_name`], with a generated secret, returned) and
/// its roles.
pub async fn create_account(
    meta: &dyn meta::MetaStore,
    b: &UserBody,
    robot: bool,
) -> Result<(User, Option<String>), AccountError> {
    let grants: Vec<(String, Role)> = b
        .roles
        .iter()
        .map(|r| parse_role_grant(r).ok_or_else(|| bad(format!("role {r:?}: expected PROJECT:pull|push|admin"))))
        .collect::<Result<_, _>>()?;
    let name = if robot {
        robot_name(&b.name, &grants)?
    } else if valid_account_name(&b.name.replace('+', "")) {
        // `+` is allowed in user names: it is only the robots' project separator.
        b.name.clone()
    } else {
        return Err(bad(format!("invalid account name {:?}", b.name)));
    };
    if meta.user(&name).await?.is_some() {
        return Err(AccountError::Exists(name));
    }
    let (secret, shown) = match (&b.password, robot) {
        (_, true) => {
            let s = crate::auth::random_secret();
            (s.clone(), Some(s))
        }
        (Some(p), false) if p.len() >= 8 => (p.clone(), None),
        (Some(_), false) => return Err(bad("passwords must be at least 8 characters")),
        (None, false) => return Err(bad("password is required")),
    };
    let user = User {
        name: name.clone(),
        hash: crate::auth::hash_password(&secret).map_err(|e| AccountError::Hash(e.to_string()))?,
        robot,
        admin: b.admin && !robot,
        expires: b.expires_days.map(|d| meta::now() + i64::from(d) * 86_400),
        created: meta::now(),
    };
    meta.user_put(&user).await?;
    for (p, r) in grants {
        meta.role_set(&name, &p, Some(r)).await?;
    }
    Ok((user, shown))
}
