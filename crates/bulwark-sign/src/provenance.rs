//! SLSA provenance checks as slsa-verifier makes them, on an attestation that already
//! verified: the builder is the one expected and the source repository is the one expected.
//! Both SLSA v0.2 (`https://slsa.dev/provenance/v0.2`) and v1 predicates are read.

use crate::dsse::Statement;
use crate::SignError;
use serde_json::Value;

pub const SLSA_V02: &str = "https://slsa.dev/provenance/v0.2";
pub const SLSA_V1: &str = "https://slsa.dev/provenance/v1";

/// What the provenance must say.
#[derive(Debug, Clone, Default)]
pub struct Requirements {
    /// `github.com/org/app`: compared after dropping `git+`, the scheme, `.git` and `@ref`.
    pub source_uri: String,
    /// Exact builder id, e.g.
    /// `https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_container_slsa3.yml@refs/tags/v2.0.0`.
    /// A value without `@` matches any version of that builder, as slsa-verifier allows.
    pub builder_id: Option<String>,
}

/// What the provenance said.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    pub predicate_type: String,
    pub builder_id: String,
    pub source_uri: String,
}

/// Checks one verified statement against `req`.
pub fn check(st: &Statement, req: &Requirements) -> Result<Summary, SignError> {
    let p = &st.predicate;
    let str_at = |v: &Value, path: &[&str]| -> Option<String> {
        let mut cur = v;
        for k in path {
            cur = cur.get(k)?;
        }
        cur.as_str().map(str::to_string)
    };
    let (builder, sources): (Option<String>, Vec<String>) = match st.predicate_type.as_str() {
        SLSA_V02 => {
            let mut s: Vec<String> = str_at(p, &["invocation", "configSource", "uri"]).into_iter().collect();
            if let Some(m) = p.get("materials").and_then(Value::as_array) {
                s.extend(m.iter().filter_map(|x| str_at(x, &["uri"])));
            }
            (str_at(p, &["builder", "id"]), s)
        }
        SLSA_V1 => {
            let mut s: Vec<String> = ["repository", "source"]
                .iter()
                .filter_map(|k| str_at(p, &["buildDefinition", "externalParameters", "workflow", k]))
                .collect();
            if let Some(d) = p.pointer("/buildDefinition/resolvedDependencies").and_then(Value::as_array) {
                s.extend(d.iter().filter_map(|x| str_at(x, &["uri"])));
            }
            (str_at(p, &["runDetails", "builder", "id"]), s)
        }
        other => {
            return Err(SignError::BadSignature(format!(
                "attestation predicate type {other} is not SLSA provenance ({SLSA_V02} or {SLSA_V1})"
            )))
        }
    };
    let builder = builder.ok_or_else(|| SignError::BadSignature("provenance names no builder id".into()))?;
    if let Some(want) = &req.builder_id {
        let ok = if want.contains('@') { &builder == want } else { builder.split('@').next() == Some(want.as_str()) };
        if !ok {
            return Err(SignError::BadSignature(format!(
                "provenance builder {builder:?} is not the expected {want:?}"
            )));
        }
    }
    let want = normalize(&req.source_uri);
    let Some(source) = sources.iter().find(|s| normalize(s) == want) else {
        return Err(SignError::BadSignature(format!(
            "provenance source {:?} is not the expected {:?}",
            sources.first().map(String::as_str).unwrap_or("(none)"),
            req.source_uri
        )));
    };
    Ok(Summary { predicate_type: st.predicate_type.clone(), builder_id: builder, source_uri: source.clone() })
}

/// `git+https://github.com/Org/App.git@refs/heads/main` → `github.com/org/app`.
fn normalize(uri: &str) -> String {
    let u = uri.trim();
    let u = u.strip_prefix("git+").unwrap_or(u);
    let u = u.split_once("://").map_or(u, |(_, rest)| rest);
    let u = u.split('@').next().unwrap_or(u);
    let u = u.trim_end_matches('/');
    let u = u.strip_suffix(".git").unwrap_or(u);
    u.to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsse::Subject;

    fn st(ty: &str, predicate: Value) -> Statement {
        Statement {
            statement_type: crate::dsse::STATEMENT_V01.into(),
            subjects: vec![Subject { name: "x".into(), digest: Default::default() }],
            predicate_type: ty.into(),
            predicate,
        }
    }

    const GENERATOR: &str =
        "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_container_slsa3.yml";

    #[test]
    fn v02_and_v1_builders_and_sources() {
        // Shapes as slsa-github-generator writes them.
        let v02 = st(
            SLSA_V02,
            serde_json::json!({"builder": {"id": format!("{GENERATOR}@refs/tags/v1.9.0")},
                "invocation": {"configSource": {"uri": "git+https://github.com/org/app@refs/heads/main"}}}),
        );
        let req = Requirements { source_uri: "github.com/org/app".into(), builder_id: Some(GENERATOR.into()) };
        assert_eq!(check(&v02, &req).unwrap().source_uri, "git+https://github.com/org/app@refs/heads/main");
        let v1 = st(
            SLSA_V1,
            serde_json::json!({"runDetails": {"builder": {"id": format!("{GENERATOR}@refs/tags/v2.0.0")}},
                "buildDefinition": {"resolvedDependencies": [{"uri": "git+https://github.com/org/app@refs/tags/v1"}]}}),
        );
        check(&v1, &req).unwrap();
        let pinned = Requirements { builder_id: Some(format!("{GENERATOR}@refs/tags/v1.9.0")), ..req.clone() };
        assert!(check(&v1, &pinned).unwrap_err().to_string().contains("builder"));
        let other = Requirements { source_uri: "github.com/evil/app".into(), ..req.clone() };
        assert!(check(&v02, &other).unwrap_err().to_string().contains("source"));
        let wrong = st("https://cyclonedx.org/bom", serde_json::json!({}));
        assert!(check(&wrong, &req).unwrap_err().to_string().contains("not SLSA"));
    }
}
