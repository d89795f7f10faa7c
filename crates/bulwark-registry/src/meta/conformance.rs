//! The contract every [`MetaStore`] backend must keep, as async checks any implementation runs
//! against a fresh, empty store: `run_all(&store).await` (SQLite runs it in its unit tests; a
//! PostgreSQL backend runs the same). Built for tests, or with the `conformance` feature for a
//! backend in another crate. A failed check panics, naming what differs.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::{ManifestRow, MetaError, MetaStore, Project, Ref, Retention, Role, ScanRow, Unscanned, User};

const IMAGE: &str = "application/vnd.oci.image.manifest.v1+json";
const INDEX: &str = "application/vnd.oci.image.index.v1+json";

fn d(seed: &str) -> String {
    bulwark_oci::Digest::of_bytes(seed.as_bytes()).to_string()
}

fn row(repo: &str, seed: &str, media_type: &str, pushed: i64) -> ManifestRow {
    ManifestRow {
        repo: repo.into(),
        digest: d(seed),
        media_type: media_type.into(),
        size: 100,
        artifact_type: None,
        subject: None,
        annotations: None,
        pushed,
    }
}

/// Every check, in order, on one fresh store (each uses its own names).
pub async fn run_all(store: &dyn MetaStore) {
    settings(store).await;
    projects(store).await;
    users_and_roles(store).await;
    manifests_and_tags(store).await;
    immutable_tags_refuse_all_or_nothing(store).await;
    tag_listing(store).await;
    referrers_and_edges(store).await;
    blob_links_and_gc_marks(store).await;
    uploads(store).await;
    scans_and_the_queue(store).await;
}

pub async fn settings(store: &dyn MetaStore) {
    assert_eq!(store.setting("c.secret").await.unwrap(), None);
    assert_eq!(store.setting_init("c.secret", "first").await.unwrap(), "first");
    // Set once: a second init keeps the first value (two replicas starting together agree).
    assert_eq!(store.setting_init("c.secret", "second").await.unwrap(), "first");
    assert_eq!(store.setting("c.secret").await.unwrap().as_deref(), Some("first"));
}

pub async fn projects(store: &dyn MetaStore) {
    assert_eq!(store.project("c-proj").await.unwrap(), None);
    let mut p = Project::new("c-proj");
    p.public = true;
    p.immutable_tags = true;
    p.retention = Some(Retention { keep_last: Some(3), keep_days: None, pattern: Some("v*".into()) });
    p.block_severity = Some("HIGH".into());
    p.unscanned = Some(Unscanned::Deny);
    store.project_put(&p).await.unwrap();
    assert_eq!(store.project("c-proj").await.unwrap().as_ref(), Some(&p));
    // Put replaces.
    p.public = false;
    p.unscanned = None;
    store.project_put(&p).await.unwrap();
    assert_eq!(store.project("c-proj").await.unwrap().as_ref(), Some(&p));
    assert!(store.projects().await.unwrap().iter().any(|q| q == &p));
    assert!(store.project_delete("c-proj").await.unwrap());
    assert!(!store.project_delete("c-proj").await.unwrap());
    assert_eq!(store.project("c-proj").await.unwrap(), None);
}

pub async fn users_and_roles(store: &dyn MetaStore) {
    let u = User {
        name: "c-user".into(),
        hash: "$argon2id$x".into(),
        robot: false,
        admin: true,
        expires: Some(42),
        created: 7,
    };
    store.user_put(&u).await.unwrap();
    assert_eq!(store.user("c-user").await.unwrap().as_ref(), Some(&u));
    assert!(store.users().await.unwrap().iter().any(|x| x == &u));
    store.role_set("c-user", "c-b", Some(Role::Push)).await.unwrap();
    store.role_set("c-user", "c-a", Some(Role::Pull)).await.unwrap();
    store.role_set("c-user", "c-a", Some(Role::Admin)).await.unwrap();
    let mut roles = store.roles("c-user").await.unwrap();
    roles.sort();
    assert_eq!(roles, vec![("c-a".to_string(), Role::Admin), ("c-b".to_string(), Role::Push)]);
    store.role_set("c-user", "c-b", None).await.unwrap();
    assert_eq!(store.roles("c-user").await.unwrap(), vec![("c-a".to_string(), Role::Admin)]);
    assert!(store.user_delete("c-user").await.unwrap());
    assert_eq!(store.user("c-user").await.unwrap(), None);
    assert!(!store.user_delete("c-user").await.unwrap());
}

pub async fn manifests_and_tags(store: &dyn MetaStore) {
    let repo = "c-mf/app";
    assert!(!store.repo_exists(repo).await.unwrap());
    let mut m = row(repo, "c-mf-1", IMAGE, 10);
    m.annotations = Some(r#"{"a":"b"}"#.into());
    m.artifact_type = Some("application/vnd.oci.image.config.v1+json".into());
    let refs = [Ref::Blob(d("c-mf-cfg")), Ref::Blob(d("c-mf-layer"))];
    store.manifest_put(&m, &refs, Some("v1"), false).await.unwrap();
    assert!(store.repo_exists(repo).await.unwrap());
    assert!(store.repositories().await.unwrap().contains(&repo.to_string()));
    assert_eq!(store.manifest(repo, &m.digest).await.unwrap().as_ref(), Some(&m));
    assert_eq!(store.manifest("c-mf/other", &m.digest).await.unwrap(), None, "manifests belong to a repository");
    assert_eq!(store.tag(repo, "v1").await.unwrap().as_deref(), Some(m.digest.as_str()));
    let mut children = store.children(repo, &m.digest).await.unwrap();
    children.sort_by_key(|r| format!("{r:?}"));
    let mut want = refs.to_vec();
    want.sort_by_key(|r| format!("{r:?}"));
    assert_eq!(children, want);
    // A second put of the same manifest moves/adds tags and keeps its references.
    store.manifest_put_tags(&m, &[], &[("v1", false), ("latest", false)]).await.unwrap();
    assert_eq!(store.tags_of(repo, &m.digest).await.unwrap(), ["latest", "v1"]);
    assert_eq!(store.children(repo, &m.digest).await.unwrap().len(), 2);
    // A mutable tag moves to another manifest.
    let m2 = row(repo, "c-mf-2", IMAGE, 20);
    store.manifest_put(&m2, &[], Some("latest"), false).await.unwrap();
    assert_eq!(store.tag(repo, "latest").await.unwrap().as_deref(), Some(m2.digest.as_str()));
    assert_eq!(store.manifests_in(repo).await.unwrap().len(), 2);
    assert!(store.tag_delete(repo, "latest").await.unwrap());
    assert!(!store.tag_delete(repo, "latest").await.unwrap());
    // Deleting a manifest takes its tags and references, not other manifests'.
    assert!(store.manifest_delete(repo, &m.digest).await.unwrap());
    assert!(!store.manifest_delete(repo, &m.digest).await.unwrap());
    assert_eq!(store.tag(repo, "v1").await.unwrap(), None);
    assert_eq!(store.children(repo, &m.digest).await.unwrap(), vec![]);
    assert!(store.manifest(repo, &m2.digest).await.unwrap().is_some());
}

pub async fn immutable_tags_refuse_all_or_nothing(store: &dyn MetaStore) {
    let repo = "c-imm/app";
    let a = row(repo, "c-imm-a", IMAGE, 1);
    let b = row(repo, "c-imm-b", IMAGE, 2);
    store.manifest_put(&a, &[], Some("v1"), true).await.unwrap();
    // Same digest again: fine.
    store.manifest_put(&a, &[], Some("v1"), true).await.unwrap();
    match store.manifest_put_tags(&b, &[Ref::Blob(d("c-imm-x"))], &[("fresh", true), ("v1", true)]).await {
        Err(MetaError::TagImmutable { repo: r, tag, existing }) => {
            assert_eq!((r.as_str(), tag.as_str(), existing.as_str()), (repo, "v1", a.digest.as_str()));
        }
        other => panic!("expected TagImmutable, got {other:?}"),
    }
    // Nothing of the refused push was stored.
    assert_eq!(store.tag(repo, "fresh").await.unwrap(), None);
    assert_eq!(store.manifest(repo, &b.digest).await.unwrap(), None);
    assert_eq!(store.tag(repo, "v1").await.unwrap().as_deref(), Some(a.digest.as_str()));
    // Without the immutable flag the tag moves.
    store.manifest_put(&b, &[], Some("v1"), false).await.unwrap();
    assert_eq!(store.tag(repo, "v1").await.unwrap().as_deref(), Some(b.digest.as_str()));
}

pub async fn tag_listing(store: &dyn MetaStore) {
    let repo = "c-tags/app";
    for (i, t) in ["b", "a", "d", "c"].iter().enumerate() {
        let m = row(repo, &format!("c-tags-{t}"), IMAGE, 100 + i as i64);
        store.manifest_put(&m, &[], Some(t), false).await.unwrap();
    }
    assert_eq!(store.tags(repo, None, None).await.unwrap(), ["a", "b", "c", "d"]);
    assert_eq!(store.tags(repo, None, Some(2)).await.unwrap(), ["a", "b"]);
    assert_eq!(store.tags(repo, Some("b"), Some(10)).await.unwrap(), ["c", "d"]);
    assert_eq!(store.tags(repo, Some("d"), None).await.unwrap(), Vec::<String>::new());
    assert_eq!(store.tags(repo, None, Some(0)).await.unwrap(), Vec::<String>::new());
    // Newest first, for retention.
    let detailed: Vec<String> = store.tags_detailed(repo).await.unwrap().into_iter().map(|(t, _, _)| t).collect();
    assert_eq!(detailed, ["c", "d", "a", "b"]);
    assert_eq!(store.tags("c-tags/none", None, None).await.unwrap(), Vec::<String>::new());
}

pub async fn referrers_and_edges(store: &dyn MetaStore) {
    let repo = "c-ref/app";
    let subject = row(repo, "c-ref-subject", IMAGE, 1);
    store.manifest_put(&subject, &[], None, false).await.unwrap();
    let mut sbom = row(repo, "c-ref-sbom", IMAGE, 2);
    sbom.subject = Some(subject.digest.clone());
    sbom.artifact_type = Some("application/spdx+json".into());
    let mut sig = row(repo, "c-ref-sig", IMAGE, 3);
    sig.subject = Some(subject.digest.clone());
    sig.artifact_type = Some("application/vnd.dev.cosign.simplesigning.v1+json".into());
    for m in [&sbom, &sig] {
        store.manifest_put(m, &[], None, false).await.unwrap();
    }
    let all: Vec<String> =
        store.referrers(repo, &subject.digest, None).await.unwrap().into_iter().map(|m| m.digest).collect();
    assert_eq!(all, [sbom.digest.clone(), sig.digest.clone()], "oldest first");
    let spdx = store.referrers(repo, &subject.digest, Some("application/spdx+json")).await.unwrap();
    assert_eq!(spdx, vec![sbom.clone()]);
    assert_eq!(store.referrers("c-ref/other", &subject.digest, None).await.unwrap(), vec![]);
    // An index and its children.
    let child = row(repo, "c-ref-child", IMAGE, 4);
    store.manifest_put(&child, &[], None, false).await.unwrap();
    let index = row(repo, "c-ref-index", INDEX, 5);
    store.manifest_put(&index, &[Ref::Manifest(child.digest.clone())], Some("multi"), false).await.unwrap();
    assert_eq!(store.parents(repo, &child.digest).await.unwrap(), std::slice::from_ref(&index.digest));
    assert_eq!(store.manifest_edges(repo).await.unwrap(), vec![(index.digest.clone(), child.digest.clone())]);
}

pub async fn blob_links_and_gc_marks(store: &dyn MetaStore) {
    let repo = "c-blob/app";
    let (cfg, orphan) = (d("c-blob-cfg"), d("c-blob-orphan"));
    assert!(!store.blob_linked(repo, &cfg).await.unwrap());
    store.blob_link(repo, &cfg).await.unwrap();
    store.blob_link(repo, &cfg).await.unwrap();
    store.blob_link(repo, &orphan).await.unwrap();
    assert!(store.blob_linked(repo, &cfg).await.unwrap());
    assert!(!store.blob_linked("c-blob/other", &cfg).await.unwrap(), "links belong to a repository");
    assert!(store.repo_exists(repo).await.unwrap(), "a repository with only blobs exists");
    let m = row(repo, "c-blob-m", IMAGE, 1);
    store.manifest_put(&m, &[Ref::Blob(cfg.clone())], Some("v1"), false).await.unwrap();
    let referenced = store.referenced_blobs().await.unwrap();
    assert!(referenced.contains(&cfg) && referenced.contains(&m.digest) && !referenced.contains(&orphan));
    let linked = store.linked_blobs().await.unwrap();
    assert!(linked.contains(&cfg) && linked.contains(&orphan));
    // Links older than the cutoff that no manifest of the repository references are prunable.
    let future = super::now() + 3600;
    let n = store.prunable_links(future).await.unwrap();
    assert!(n >= 1);
    let after = store.linked_blobs_after_prune(future).await.unwrap();
    assert!(after.contains(&cfg) && !after.contains(&orphan), "{after:?}");
    assert_eq!(store.prunable_links(0).await.unwrap(), 0, "nothing is older than the epoch");
    assert_eq!(store.prune_links(future).await.unwrap(), n, "the dry run counted what the prune drops");
    assert!(!store.blob_linked(repo, &orphan).await.unwrap());
    assert!(store.blob_linked(repo, &cfg).await.unwrap());
    assert!(store.blob_unlink(repo, &cfg).await.unwrap());
    assert!(!store.blob_unlink(repo, &cfg).await.unwrap());
}

pub async fn uploads(store: &dyn MetaStore) {
    let id = "00000000-0000-4000-8000-00000000c0de";
    assert_eq!(store.upload_repo(id).await.unwrap(), None);
    store.upload_put(id, "c-up/app").await.unwrap();
    assert_eq!(store.upload_repo(id).await.unwrap().as_deref(), Some("c-up/app"));
    assert!(store.uploads().await.unwrap().iter().any(|(i, r, _)| i == id && r == "c-up/app"));
    store.upload_delete(id).await.unwrap();
    assert_eq!(store.upload_repo(id).await.unwrap(), None);
}

pub async fn scans_and_the_queue(store: &dyn MetaStore) {
    let repo = "c-scan/app";
    let image = row(repo, "c-scan-image", IMAGE, 1);
    let index = row(repo, "c-scan-index", INDEX, 2);
    for m in [&image, &index] {
        store.manifest_put(m, &[], None, false).await.unwrap();
    }
    let unscanned = store.unscanned_manifests().await.unwrap();
    assert!(unscanned.contains(&(image.digest.clone(), repo.to_string())), "{unscanned:?}");
    assert!(!unscanned.iter().any(|(d, _)| d == &index.digest), "indexes are not scanned");
    store.scan_enqueue(&image.digest, repo).await.unwrap();
    store.scan_enqueue(&image.digest, repo).await.unwrap();
    let queue = store.scan_queue().await.unwrap();
    assert_eq!(queue.iter().filter(|(d, _)| d == &image.digest).count(), 1, "queued once");
    let mut s = ScanRow {
        digest: image.digest.clone(),
        repo: repo.into(),
        status: "done".into(),
        inventory: Some("{}".into()),
        report: Some("{}".into()),
        summary: Some(r#"{"critical":1}"#.into()),
        scanned: 5,
        db_built: Some("2026-01-01T00:00:00Z".into()),
        error: None,
    };
    store.scan_put(&s).await.unwrap();
    assert_eq!(store.scan(&image.digest).await.unwrap().as_ref(), Some(&s));
    assert!(store.scans_with_inventory().await.unwrap().contains(&image.digest));
    assert!(!store.unscanned_manifests().await.unwrap().iter().any(|(d, _)| d == &image.digest));
    // Put replaces.
    s.status = "failed".into();
    s.inventory = None;
    s.error = Some("why".into());
    store.scan_put(&s).await.unwrap();
    assert_eq!(store.scan(&image.digest).await.unwrap().as_ref(), Some(&s));
    assert!(!store.scans_with_inventory().await.unwrap().contains(&image.digest));
    store.scan_dequeue(&image.digest).await.unwrap();
    assert!(!store.scan_queue().await.unwrap().iter().any(|(d, _)| d == &image.digest));
}
