//! Symbolic links inside the image (issue 10, D6): a package database reached through a link
//! (`/var/lib/dpkg -> /opt/dpkgdb`) is read under the path its detector knows. Links are
//! resolved within the image only: an absolute target is relative to the image root, `..`
//! stops at the root, and more than [`MAX_HOPS`] links on one path is a loop (a warning).

use crate::layer::{path_key, LayerInventory};
use std::collections::{BTreeMap, HashSet, VecDeque};

/// Links followed on one path before it counts as a loop (Linux's `MAXSYMLINKS`).
pub const MAX_HOPS: usize = 40;

/// Files that package databases live at, looked for behind links (exact paths).
const DATABASES: &[&str] = &[
    "/var/lib/dpkg/status",
    "/lib/apk/db/installed",
    "/usr/lib/apk/db/installed",
    "/var/lib/rpm/Packages",
    "/var/lib/rpm/Packages.db",
    "/var/lib/rpm/rpmdb.sqlite",
    "/usr/lib/sysimage/rpm/Packages",
    "/usr/lib/sysimage/rpm/Packages.db",
    "/usr/lib/sysimage/rpm/rpmdb.sqlite",
    "/usr/share/rpm/Packages",
    "/usr/share/rpm/rpmdb.sqlite",
    "/etc/os-release",
    "/usr/lib/os-release",
];

/// Directories of language metadata: a link to one (`/app/node_modules -> /opt/nm`), or to a
/// package in one from outside any, is followed.
const LANGUAGE_DIRS: &[&str] =
    &["node_modules", "site-packages", "dist-packages", "specifications", "vendor", "status.d"];

/// `path` with every link on it resolved within the root, as a normalised absolute path;
/// `Err` names the loop.
pub fn resolve(links: &BTreeMap<String, String>, path: &str) -> Result<String, String> {
    let mut queue: VecDeque<String> = path.split('/').map(str::to_string).collect();
    let mut cur: Vec<String> = Vec::new();
    let mut hops = 0;
    while let Some(c) = queue.pop_front() {
        match c.as_str() {
            "" | "." => {}
            ".." => {
                cur.pop();
            }
            name => {
                let candidate =
                    format!("/{}", cur.iter().map(String::as_str).chain([name]).collect::<Vec<_>>().join("/"));
                match links.get(&candidate) {
                    Some(target) => {
                        hops += 1;
                        if hops > MAX_HOPS {
                            return Err(format!("{path}: more than {MAX_HOPS} symbolic links (a loop?): not followed"));
                        }
                        if target.starts_with('/') {
                            cur.clear();
                        }
                        for (i, t) in target.split('/').enumerate() {
                            queue.insert(i, t.to_string());
                        }
                    }
                    None => cur.push(name.to_string()),
                }
            }
        }
    }
    Ok(format!("/{}", cur.join("/")))
}

/// The links of the squashed filesystem: `layers` bottom first, each hiding what lower layers
/// held at its whiteouts and entries, as the squash does for files.
pub fn final_links(layers: &[&LayerInventory]) -> BTreeMap<String, String> {
    let mut view: BTreeMap<String, String> = BTreeMap::new();
    for layer in layers {
        if !view.is_empty() {
            let replaced: HashSet<u64> = layer.whiteouts.iter().chain(&layer.entries).copied().collect();
            let opaque: HashSet<u64> = layer.opaque_dirs.iter().copied().collect();
            view.retain(|path, _| !crate::squash::hides(path, &replaced, &opaque));
        }
        for (path, target) in &layer.symlinks {
            view.insert(path.clone(), target.clone());
        }
    }
    view
}

/// The links worth reading layers again for, as (link path, resolved path), and warnings for
/// links that loop. A link matters when a package database would be found behind it (a file
/// some layer holds at the resolved place) or when it names a language metadata directory.
pub fn aliases(links: &BTreeMap<String, String>, layers: &[&LayerInventory]) -> (Vec<(String, String)>, Vec<String>) {
    let mut out = Vec::new();
    let mut warnings = Vec::new();
    let held = |p: &str| {
        let k = path_key(p);
        layers.iter().any(|l| l.entries.contains(&k))
    };
    for link in links.keys() {
        let real = match resolve(links, link) {
            Ok(r) => r,
            Err(w) => {
                warnings.push(w);
                continue;
            }
        };
        if &real == link || real == "/" {
            continue;
        }
        let database = DATABASES.iter().any(|db| {
            let rest =
                if db == link { Some("") } else { db.strip_prefix(link.as_str()).filter(|r| r.starts_with('/')) };
            rest.is_some_and(|rest| held(&format!("{real}{rest}")))
        });
        // The metadata directory itself, or a package in one that lives outside any (pnpm's
        // links into `.pnpm/…/node_modules` are found where they are).
        let last = link.rsplit('/').next().unwrap_or("");
        let parent = link.rsplit('/').nth(1).unwrap_or("");
        let language = LANGUAGE_DIRS.contains(&last)
            || (LANGUAGE_DIRS.contains(&parent) && !real.split('/').any(|c| LANGUAGE_DIRS.contains(&c)));
        if database || language {
            out.push((link.clone(), real));
        }
    }
    (out, warnings)
}

/// The path `path` is seen at through one of `aliases` (link path, resolved path), if any.
pub fn aliased<'a>(aliases: &'a [(String, String)], path: &str) -> impl Iterator<Item = String> + 'a {
    let path = path.to_string();
    aliases.iter().filter_map(move |(link, real)| {
        if path == *real {
            Some(link.clone())
        } else {
            path.strip_prefix(real.as_str()).filter(|r| r.starts_with('/')).map(|r| format!("{link}{r}"))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn links(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
    }

    #[test]
    fn resolves_within_the_root() {
        let l = links(&[
            ("/var/lib/dpkg", "/opt/dpkgdb"),
            ("/opt/dpkgdb", "../../../../../srv/db"),
            ("/a", "b"),
            ("/b", "/a"),
            ("/rel/x", "../y/z"),
        ]);
        assert_eq!(resolve(&l, "/var/lib/dpkg/status").unwrap(), "/srv/db/status");
        assert_eq!(resolve(&l, "/rel/x/f").unwrap(), "/y/z/f");
        assert!(resolve(&l, "/a/f").unwrap_err().contains("more than 40 symbolic links"));
        assert_eq!(resolve(&l, "/plain/file").unwrap(), "/plain/file");
    }

    #[test]
    fn aliased_paths() {
        let a = vec![("/var/lib/dpkg".to_string(), "/opt/db".to_string())];
        assert_eq!(aliased(&a, "/opt/db/status").collect::<Vec<_>>(), ["/var/lib/dpkg/status"]);
        assert_eq!(aliased(&a, "/opt/dbx/status").count(), 0);
    }
}
