//! Tag retention per project, in the manner of Harbor's: among a repository's tags matching
//! the policy's pattern, keep the `keep_last` most recently pushed and those pushed within
//! `keep_days`; delete the other matching tags, then the manifests nothing keeps any more.
//! Blobs are left to [`crate::gc`].
//!
//! A manifest is kept when it is reachable from a kept root: a remaining tag, an index that
//! lists it, an image it is a referrer (`subject`) of, or the image a cosign / referrers
//! fallback tag (`sha256-<hex>.sig`) on it names. Digest-only pushes that nothing points to
//! are roots too unless older than `keep_days`: retention deletes what its rule names.

use crate::meta::{self, ManifestRow, MetaError, MetaStore, Project, Retention};
use serde::Serialize;
use std::collections::{HashMap, HashSet};

#[derive(Debug, thiserror::Error)]
pub enum RetentionError {
    #[error(transparent)]
    Meta(#[from] MetaError),
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RetentionReport {
    pub project: String,
    pub dry_run: bool,
    /// Only repositories where something was (or, in a dry run, would be) deleted.
    pub repositories: Vec<RepoRetention>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RepoRetention {
    pub repo: String,
    pub deleted_tags: Vec<String>,
    /// In deletion order.
    pub deleted_manifests: Vec<String>,
}

const DAY: i64 = 86_400;

/// The digest a cosign / OCI referrers fallback tag (`sha256-<64 hex>`, optionally followed
/// by `.sig`, `.att`, `.sbom` or another `.` suffix) names, when `tag` is one.
pub fn fallback_subject(tag: &str) -> Option<String> {
    let rest = tag.strip_prefix("sha256-")?;
    let (hex, suffix) = rest.split_at_checked(64)?;
    let hex_ok = hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    (hex_ok && (suffix.is_empty() || suffix.starts_with('.'))).then(|| format!("sha256:{hex}"))
}

/// A glob over the whole of `s`: `*` is any run of characters, `?` exactly one. Greedy with
/// backtracking to the last `*` only, so time stays near-linear for any pattern.
pub fn glob_match(pattern: &str, s: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let s: Vec<char> = s.chars().collect();
    let (mut pi, mut si) = (0, 0);
    // After the last `*`: where the pattern resumes, and where in `s` the star's match ends.
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        match p.get(pi) {
            Some('*') => {
                pi += 1;
                star = Some((pi, si));
            }
            Some(&c) if c == '?' || c == s[si] => {
                pi += 1;
                si += 1;
            }
            _ => match star {
                Some((sp, ss)) => {
                    pi = sp;
                    si = ss + 1;
                    star = Some((sp, ss + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// The tags the policy deletes. `tags` is `(tag, digest, pushed)`, as `Meta::tags_detailed`
/// returns them. Fallback tags are never counted nor matched: they go with their subject.
pub fn plan(tags: &[(String, String, i64)], policy: &Retention, now: i64) -> Vec<String> {
    if policy.keep_last.is_none() && policy.keep_days.is_none() {
        return Vec::new();
    }
    let pattern = policy.pattern.as_deref().unwrap_or("*");
    let mut matching: Vec<&(String, String, i64)> =
        tags.iter().filter(|(t, _, _)| fallback_subject(t).is_none() && glob_match(pattern, t)).collect();
    // Newest first, ties by name, so the plan does not depend on the input's order.
    matching.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| b.0.cmp(&a.0)));
    let cutoff = policy.keep_days.map(|d| now.saturating_sub(i64::from(d) * DAY));
    matching
        .iter()
        .enumerate()
        .filter(|(i, (_, _, pushed))| {
            let by_count = policy.keep_last.is_some_and(|n| (*i as u64) < u64::from(n));
            let by_age = cutoff.is_some_and(|c| *pushed >= c);
            !(by_count || by_age)
        })
        .map(|(_, (t, _, _))| t.clone())
        .collect()
}

/// Apply the project's policy to each of its repositories.
pub async fn apply(meta: &dyn MetaStore, project: &Project, dry_run: bool) -> Result<RetentionReport, RetentionError> {
    let mut report = RetentionReport { project: project.name.clone(), dry_run, repositories: Vec::new() };
    let Some(policy) = &project.retention else { return Ok(report) };
    if policy.keep_last.is_none() && policy.keep_days.is_none() {
        return Ok(report);
    }
    let now = meta::now();
    for repo in meta.repositories().await?.into_iter().filter(|r| meta::project_of(r) == project.name) {
        let r = apply_repo(meta, &repo, policy, project.immutable_tags, now, dry_run).await?;
        if !r.deleted_tags.is_empty() || !r.deleted_manifests.is_empty() {
            tracing::info!(
                repo,
                dry_run,
                tags = r.deleted_tags.len(),
                manifests = r.deleted_manifests.len(),
                "retention"
            );
            report.repositories.push(r);
        }
        // The metadata calls block; let other tasks run between repositories.
        tokio::task::yield_now().await;
    }
    Ok(report)
}

async fn apply_repo(
    meta: &dyn MetaStore,
    repo: &str,
    policy: &Retention,
    immutable: bool,
    now: i64,
    dry_run: bool,
) -> Result<RepoRetention, MetaError> {
    let tags = meta.tags_detailed(repo).await?;
    let manifests = meta.manifests_in(repo).await?;
    let edges = meta.manifest_edges(repo).await?;
    // Immutable tags outrank retention (as in Harbor): deleting one would let it be pushed
    // again elsewhere. Only what no tag keeps (digest-only pushes past keep_days) can go.
    let doomed_tags: HashSet<String> =
        if immutable { HashSet::new() } else { plan(&tags, policy, now).into_iter().collect() };
    let cutoff = policy.keep_days.map(|d| now.saturating_sub(i64::from(d) * DAY));
    let doomed = doomed_manifests(&manifests, &edges, &tags, &doomed_tags, cutoff);

    let mut out = RepoRetention { repo: repo.to_string(), ..Default::default() };
    // Tags a doomed manifest may carry: the plan's, and fallback tags naming a doomed manifest.
    let doomed_set: HashSet<&str> = doomed.iter().copied().collect();
    let removable =
        |t: &str| doomed_tags.contains(t) || fallback_subject(t).is_some_and(|s| doomed_set.contains(s.as_str()));
    let mut deleted: HashSet<&str> = HashSet::new();
    for d in &doomed {
        if !dry_run {
            // Re-check against the database: a push since we read it (a new index listing
            // this manifest, a new tag on it) wins over the plan.
            if !meta.parents(repo, d).await?.is_empty() || !meta.tags_of(repo, d).await?.iter().all(|t| removable(t)) {
                tracing::info!(repo, digest = d, "retention: manifest gained a reference, kept");
                continue;
            }
            meta.manifest_delete(repo, d).await?;
            tracing::debug!(repo, digest = d, "retention: manifest deleted");
        }
        deleted.insert(d);
        out.deleted_manifests.push(d.to_string());
    }

    // Then the tags: the plan's, and fallback tags whose subject is gone (but whose holder
    // stays, say because an index lists it). A deleted manifest's tags went with it.
    for (t, digest, _) in &tags {
        let gone_subject = fallback_subject(t).is_some_and(|s| deleted.contains(s.as_str()));
        if !doomed_tags.contains(t) && !gone_subject {
            continue;
        }
        if deleted.contains(digest.as_str()) || dry_run {
            out.deleted_tags.push(t.clone());
            continue;
        }
        // Only if it still points where the plan saw it: a re-pushed tag is new.
        if meta.tag(repo, t).await?.as_deref() == Some(digest.as_str()) && meta.tag_delete(repo, t).await? {
            tracing::debug!(repo, tag = t, "retention: tag deleted");
            out.deleted_tags.push(t.clone());
        }
    }
    out.deleted_tags.sort();
    Ok(out)
}

/// The manifests no kept root reaches, ordered so that whatever points at another manifest
/// (an index at its children, a referrer at its subject, a fallback tag's holder at the image
/// it names) goes first: a kill midway never leaves an index with a missing child.
fn doomed_manifests<'a>(
    manifests: &'a [ManifestRow],
    edges: &'a [(String, String)],
    tags: &'a [(String, String, i64)],
    doomed_tags: &HashSet<String>,
    cutoff: Option<i64>,
) -> Vec<&'a str> {
    let present: HashSet<&str> = manifests.iter().map(|m| m.digest.as_str()).collect();
    // Every "a points at b": an index at its children, a referrer at its subject, a fallback
    // tag's holder at the image it names. Keeping goes the index→child way, the others back.
    let mut points: Vec<(&str, &str)> = Vec::new();
    let mut keeps: HashMap<&str, Vec<&str>> = HashMap::new();
    let mut has_parent: HashSet<&str> = HashSet::new();
    for (parent, child) in edges {
        points.push((parent, child));
        keeps.entry(parent).or_default().push(child);
        has_parent.insert(child);
    }
    for m in manifests {
        if let Some(s) = m.subject.as_deref().and_then(|s| present.get(s).copied()) {
            points.push((&m.digest, s));
            keeps.entry(s).or_default().push(&m.digest);
        }
    }
    let mut tagged: HashSet<&str> = HashSet::new();
    let mut roots: Vec<&str> = Vec::new();
    for (t, d, _) in tags {
        tagged.insert(d);
        match fallback_subject(t) {
            Some(s) => match present.get(s.as_str()).copied() {
                // Lives and dies with the image it names.
                Some(s) => {
                    points.push((d, s));
                    keeps.entry(s).or_default().push(d);
                }
                // Names an image elsewhere (cosign's COSIGN_REPOSITORY) or never pushed: not ours to judge.
                None => roots.push(d),
            },
            None if !doomed_tags.contains(t) => roots.push(d),
            None => {}
        }
    }
    for m in manifests {
        let d = m.digest.as_str();
        let standalone =
            !tagged.contains(d) && !has_parent.contains(d) && m.subject.as_deref().is_none_or(|s| !present.contains(s));
        if standalone && cutoff.is_none_or(|c| m.pushed >= c) {
            roots.push(d);
        }
    }

    let mut kept: HashSet<&str> = HashSet::new();
    let mut stack: Vec<&str> = roots.into_iter().filter(|d| present.contains(d)).collect();
    while let Some(d) = stack.pop() {
        if kept.insert(d) {
            stack.extend(keeps.get(d).into_iter().flatten().copied());
        }
    }

    // Order the rest so that, among them, what points goes before what it points at (Kahn).
    let doomed: Vec<&str> = manifests.iter().map(|m| m.digest.as_str()).filter(|d| !kept.contains(d)).collect();
    let doomed_set: HashSet<&str> = doomed.iter().copied().collect();
    let mut points_at: HashMap<&str, Vec<&str>> = HashMap::new();
    for (from, to) in points {
        if from != to && doomed_set.contains(from) && doomed_set.contains(to) {
            points_at.entry(from).or_default().push(to);
        }
    }
    let mut pointed: HashMap<&str, usize> = HashMap::new();
    for to in points_at.values().flatten() {
        *pointed.entry(to).or_default() += 1;
    }
    let mut order = Vec::with_capacity(doomed.len());
    let mut ready: Vec<&str> = doomed.iter().copied().filter(|d| !pointed.contains_key(d)).rev().collect();
    let mut placed: HashSet<&str> = HashSet::new();
    while let Some(d) = ready.pop() {
        if !placed.insert(d) {
            continue;
        }
        order.push(d);
        for to in points_at.get(d).into_iter().flatten() {
            if let Some(n) = pointed.get_mut(to) {
                *n -= 1;
                if *n == 0 {
                    ready.push(to);
                }
            }
        }
    }
    // A cycle cannot come from content addresses; should fallback tags make one, append it.
    order.extend(doomed.iter().copied().filter(|d| !placed.contains(d)));
    order
}
