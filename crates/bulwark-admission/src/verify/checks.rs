//! The policies' image checks run over the [`ImageVerifier`]: each image's tag resolved to a
//! digest once, each attestor set's authorities verified on that digest (concurrently), the
//! set passing when `count` of them do (policy-controller: any one authority; Kyverno: all,
//! or `count`), Kyverno's rule-level attestations with their conditions, then the digest pin.

use super::{ImageVerifier, VerifyError};
use bulwark_oci::ImageRef;
use bulwark_policy::verify::{AttestorSet, AuthorityKind, ImageCheck};
use bulwark_policy::Outcome;
use futures_util::future::join_all;
use serde_json::Value;

/// One check's result and, when it passed and pins digests, the pin.
#[derive(Clone, Debug)]
pub struct Checked {
    pub outcome: Outcome,
    pub message: String,
    /// (JSON pointer, new image) for /mutate.
    pub pin: Option<(String, String)>,
}

/// Kyverno attestation `conditions` over a statement: a list of any/all blocks, every one
/// holding; the predicate's fields are the variables (`{{ builder.id }}`), as Kyverno adds
/// the predicate to the rule context.
pub fn conditions_hold(conditions: &Value, statement: &Value) -> Result<bool, String> {
    let vars = bulwark_policy::kyverno::variables::Vars::new(statement["predicate"].clone());
    match conditions {
        Value::Array(blocks) => {
            for b in blocks {
                if !bulwark_policy::kyverno::conditions::evaluate(b, &vars)? {
                    return Ok(false);
                }
            }
            Ok(true)
        }
        other => bulwark_policy::kyverno::conditions::evaluate(other, &vars),
    }
}

/// Runs one check.
pub async fn run(v: &ImageVerifier, c: &ImageCheck) -> Checked {
    let at_container = format!("container {:?} image {}", c.container, c.image);
    let failed = |why: String| Checked {
        outcome: if c.enforce { Outcome::Fail } else { Outcome::Warn },
        message: format!("{at_container}: {why}"),
        pin: None,
    };
    let error = |why: String| Checked { outcome: Outcome::Error, message: format!("{at_container}: {why}"), pin: None };
    if let Some(u) = &c.spec.unsupported {
        return error(u.clone());
    }
    let r = match ImageRef::parse(&c.image) {
        Ok(r) => r,
        Err(e) => return error(e.to_string()),
    };
    // Static-only policies decide without a registry, and pin nothing.
    let all_static = c.spec.attestations.is_empty()
        && c.spec.attestors.iter().flat_map(|s| &s.entries).all(|a| matches!(a.kind, AuthorityKind::Static { .. }));
    if all_static {
        return match verify_sets(v, "", &c.spec.attestors, None).await {
            Ok(names) => Checked { outcome: Outcome::Pass, message: format!("{at_container}: {names}"), pin: None },
            Err((why, _)) => failed(why),
        };
    }
    let digest = match v.resolve(&c.image).await {
        Ok(d) => d,
        Err(e) => return failed(e.to_string()),
    };
    let at = format!("{}@{digest}", r.name());
    let mut passed = Vec::new();
    let mut why = Vec::new();
    // Whether every failure is a feature we do not implement: an error (not evaluated), not
    // a verdict on the image.
    let mut all_unsupported = true;
    match verify_sets(v, &at, &c.spec.attestors, None).await {
        Ok(names) => passed.push(names),
        Err((w, u)) => {
            why.push(w);
            all_unsupported &= u;
        }
    }
    for att in &c.spec.attestations {
        let sets = if att.attestors.is_empty() { &c.spec.attestors } else { &att.attestors };
        match verify_sets(v, &at, sets, Some(att)).await {
            Ok(names) => passed.push(format!("attestation {} {names}", att.predicate_type)),
            Err((w, u)) => {
                why.push(w);
                all_unsupported &= u;
            }
        }
    }
    if !why.is_empty() && all_unsupported {
        return error(why.join("; "));
    }
    if !why.is_empty() {
        let absent = why.iter().all(|w| w.contains("(absent)"));
        if !c.spec.required && absent {
            return Checked {
                outcome: Outcome::Skip,
                message: format!("{at_container}: no signatures on {at} (not required)"),
                pin: None,
            };
        }
        let mut msg = why.join("; ");
        if let Some(old) = v.moved_from(&c.image, &digest) {
            msg.push_str(&format!(" (tag moved: {} was verified at {old} and now points at {digest})", c.image));
        }
        return failed(msg);
    }
    v.remember(&c.image, &digest);
    if c.spec.verify_digest && !c.spec.mutate_digest && r.digest.is_none() {
        return failed("is not pinned to a digest (verifyDigest)".into());
    }
    let pin =
        (c.spec.mutate_digest && r.digest.is_none()).then(|| (c.pointer.clone(), format!("{}@{digest}", c.image)));
    Checked { outcome: Outcome::Pass, message: format!("{at_container}: verified {at}: {}", passed.join("; ")), pin }
}

/// Every set must pass; a set passes when `count` (default all) of its entries verify.
/// Ok: what passed, for the message; Err: why not (absent signatures marked "(absent)"), and
/// whether every failure was an unsupported feature.
async fn verify_sets(
    v: &ImageVerifier,
    at: &str,
    sets: &[AttestorSet],
    attestation: Option<&bulwark_policy::verify::Attestation>,
) -> Result<String, (String, bool)> {
    let mut names = Vec::new();
    for set in sets {
        let results = join_all(set.entries.iter().map(|a| async move {
            let r = match attestation {
                None => v.verify(at, a).await,
                Some(att) => v.attestation(at, a, att).await,
            };
            (a, r)
        }))
        .await;
        let need = set.count.filter(|n| *n > 0).unwrap_or(set.entries.len()).min(set.entries.len()).max(1);
        let ok: Vec<&str> = results.iter().filter(|(_, r)| r.is_ok()).map(|(a, _)| a.name.as_str()).collect();
        if ok.len() >= need {
            names.push(format!("by {}", ok.join(", ")));
            continue;
        }
        let errs: Vec<String> = results
            .iter()
            .filter_map(|(_, r)| r.as_ref().err())
            .map(|e| if e.is_absent() { format!("{e} (absent)") } else { e.to_string() })
            .collect();
        let registry_down =
            results.iter().any(|(_, r)| matches!(r, Err(VerifyError::Registry { .. } | VerifyError::Timeout { .. })));
        let head = if set.entries.len() > 1 && !registry_down {
            format!("{} of {} authorities verified, {need} needed: ", ok.len(), set.entries.len())
        } else {
            String::new()
        };
        let unsupported = results.iter().all(|(_, r)| matches!(r, Ok(_) | Err(VerifyError::Unsupported(_))));
        return Err((format!("{head}{}", errs.join("; ")), unsupported));
    }
    Ok(names.join("; "))
}
