//! Stack layer inventories into the final filesystem view, applying whiteouts exactly as the
//! OCI image spec (layer.md, "Whiteouts") says: a `.wh.<name>` hides `<name>` and everything
//! beneath it in lower layers; `.wh..wh..opq` hides every lower-layer child of its
//! directory; whiteouts never hide entries of their own layer. A path a layer puts in place
//! replaces the same path, and anything beneath it, from lower layers.

use crate::layer::{path_key, LayerInventory};
use bulwark_catalog::{purl_for, Detection, Inventory, OsInfo, Package, PackageType, SourceInfo};
use bulwark_version::VersionScheme;
use std::borrow::{Borrow, Cow};
use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap, HashSet};

/// [`path_key`]s of `path` and of each of its ancestors, the root last.
fn ancestry(path: &str) -> Vec<u64> {
    let mut keys = vec![path_key(path)];
    let mut at = path;
    while let Some((parent, _)) = at.rsplit_once('/') {
        let parent = if parent.is_empty() { "/" } else { parent };
        keys.push(path_key(parent));
        if parent == "/" {
            break;
        }
        at = parent;
    }
    keys
}

/// Whether a layer hides the lower-layer file whose [`ancestry`] is `keys`: a whiteout or an
/// entry of its own at the path or at one of its ancestors, or an opaque marker on one of its
/// ancestors. Layers keep only [`path_key`]s, so this asks for each ancestor of the few files
/// detectors read rather than walking every path the layer holds.
fn hides_keys(keys: &[u64], replaced: &HashSet<u64>, opaque: &HashSet<u64>) -> bool {
    let n = keys.len();
    keys.iter().enumerate().any(|(i, k)| (i + 1 < n && replaced.contains(k)) || (i > 0 && opaque.contains(k)))
}

/// [`hides_keys`] for one path.
pub(crate) fn hides(path: &str, replaced: &HashSet<u64>, opaque: &HashSet<u64>) -> bool {
    hides_keys(&ancestry(path), replaced, opaque)
}

/// `layers` bottom first, owned or borrowed (an image may list one layer many times).
pub fn squash<L: Borrow<LayerInventory>>(source: SourceInfo, layers: &[L]) -> Inventory {
    let mut view: BTreeMap<String, (usize, Vec<Detection>)> = BTreeMap::new();
    // Each file's ancestry, hashed once however many layers ask.
    let mut ancestries: std::collections::HashMap<String, Vec<u64>> = std::collections::HashMap::new();
    let mut warnings = Vec::new();
    let mut skipped = Vec::new();
    // A layer listed many times warns once, not once per listing.
    let mut warned: HashSet<*const LayerInventory> = HashSet::new();
    for (i, layer) in layers.iter().enumerate() {
        let layer: &LayerInventory = layer.borrow();
        // Also covers a directory replaced by a file or symlink: its lower children go.
        if !view.is_empty() {
            let replaced: HashSet<u64> = layer.whiteouts.iter().chain(&layer.entries).copied().collect();
            let opaque: HashSet<u64> = layer.opaque_dirs.iter().copied().collect();
            if !replaced.is_empty() || !opaque.is_empty() {
                view.retain(|path, _| {
                    let keys = ancestries.entry(path.clone()).or_insert_with(|| ancestry(path));
                    !hides_keys(keys, &replaced, &opaque)
                });
            }
        }
        for (path, dets) in &layer.files {
            view.insert(path.clone(), (i, dets.clone()));
        }
        if warned.insert(layer) {
            // A directory is one layer without a diff id: its warnings need no prefix.
            warnings.extend(layer.warnings.iter().map(|w| match layer.diff_id.as_str() {
                "" => w.clone(),
                id => format!("layer {}: {w}", short(id)),
            }));
            skipped.extend(layer.skipped.iter().cloned());
        }
    }

    // OS identity: /etc/os-release wins over /usr/lib/os-release, as os-release(5) says.
    let os_from = |p: &str| view.get(p).and_then(|(_, d)| d.iter().find_map(|d| d.os.clone()));
    let os: Option<OsInfo> = os_from("/etc/os-release").or_else(|| os_from("/usr/lib/os-release"));

    // Installed evidence first; a declared (lockfile) package that the installed evidence
    // also shows is dropped, so `node_modules` plus `package-lock.json` lists each package once.
    let mut packages: Vec<Package> = Vec::new();
    let mut declared: Vec<Package> = Vec::new();
    for (li, dets) in view.values() {
        for d in dets {
            for p in &d.packages {
                let mut p = p.clone();
                p.location.layer = layers.get(*li).map(|l| l.borrow().diff_id.clone());
                if d.declared {
                    declared.push(p);
                } else {
                    packages.push(p);
                }
            }
        }
    }
    // One package when name and version are equal as the ecosystem defines equality: pip
    // installs `Django==3.2.0` as `Django-3.2.dist-info`, and PEP 440 says 3.2 == 3.2.0.
    let mut installed: HashMap<(PackageType, Cow<'_, str>), Vec<&str>> = HashMap::new();
    for p in &packages {
        installed.entry((p.kind, same_name_key(p.kind, &p.name))).or_default().push(p.version.as_str());
    }
    let declared: Vec<Package> = declared
        .into_iter()
        .filter(|d| {
            let shown = installed.get(&(d.kind, same_name_key(d.kind, &d.name)));
            !shown.is_some_and(|versions| versions.iter().any(|v| same_version(d.kind, v, &d.version)))
        })
        .collect();
    packages.extend(declared);
    for p in &mut packages {
        p.purl = purl_for(p, os.as_ref());
    }
    packages.sort_by(|a, b| {
        (a.kind, &a.name, &a.version, &a.location.path).cmp(&(b.kind, &b.name, &b.version, &b.location.path))
    });
    Inventory { source, os, packages, warnings, skipped }
}

/// The name as the ecosystem compares names: Python's are equal after PEP 503 normalisation
/// (`Django`, `django`; `zope.interface`, `zope-interface`); others as written.
fn same_name_key(kind: PackageType, name: &str) -> Cow<'_, str> {
    if kind != PackageType::Python {
        return Cow::Borrowed(name);
    }
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !out.ends_with('-') {
                out.push('-');
            }
        } else {
            out.push(c.to_ascii_lowercase());
        }
    }
    Cow::Owned(out)
}

/// True when `a` and `b` are one version under `kind`'s own order (PEP 440, SemVer, RubyGems,
/// …); versions the scheme cannot read are equal only when identical.
fn same_version(kind: PackageType, a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    // Declared packages come from language lockfiles; the OS schemes are listed for completeness.
    let scheme: &dyn VersionScheme = match kind {
        PackageType::Python => &bulwark_version::Pep440,
        PackageType::Npm | PackageType::RustCrate => &bulwark_version::SemVer,
        PackageType::GoModule => &bulwark_version::Go,
        PackageType::JavaArchive => &bulwark_version::Maven,
        PackageType::Gem => &bulwark_version::RubyGems,
        PackageType::PhpComposer => &bulwark_version::Composer,
        PackageType::Dotnet => &bulwark_version::NuGet,
        PackageType::Deb => &bulwark_version::Dpkg,
        PackageType::Apk => &bulwark_version::Apk,
        PackageType::Rpm => &bulwark_version::Rpm,
    };
    scheme.compare(a, b) == Ok(Ordering::Equal)
}

fn short(diff_id: &str) -> &str {
    let hex = diff_id.strip_prefix("sha256:").unwrap_or(diff_id);
    hex.get(..12).unwrap_or(hex)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer(id: &str, files: &[(&str, &str)], whiteouts: &[&str], opaque: &[&str]) -> LayerInventory {
        let mut l = LayerInventory { diff_id: id.into(), ..Default::default() };
        for (path, name) in files {
            l.entries.push(path_key(path));
            l.files.insert(
                path.to_string(),
                vec![Detection::packages(vec![Package::new(PackageType::Npm, *name, "1", path)])],
            );
        }
        l.whiteouts = whiteouts.iter().map(|s| path_key(s)).collect();
        l.opaque_dirs = opaque.iter().map(|s| path_key(s)).collect();
        l
    }

    fn names(inv: &Inventory) -> Vec<(String, String)> {
        inv.packages.iter().map(|p| (p.name.clone(), p.location.layer.clone().unwrap())).collect()
    }

    #[test]
    fn whiteout_hides_lower_tree_but_not_own_layer() {
        let l1 = layer("a", &[("/n/x/package.json", "x"), ("/n/y/package.json", "y")], &[], &[]);
        let l2 = layer("b", &[("/n/x/package.json", "x2")], &["/n/x", "/n/y"], &[]);
        let inv = squash(SourceInfo::default(), &[l1, l2]);
        assert_eq!(names(&inv), vec![("x2".to_string(), "b".to_string())]);
    }

    #[test]
    fn opaque_dir_hides_lower_children_only() {
        let l1 = layer("a", &[("/opt/nm/l/package.json", "left-pad"), ("/opt/other/package.json", "keep")], &[], &[]);
        let l2 = layer("b", &[("/opt/nm/i/package.json", "is-number")], &[], &["/opt/nm"]);
        let inv = squash(SourceInfo::default(), &[l1, l2]);
        let mut got: Vec<_> = names(&inv).into_iter().map(|(n, _)| n).collect();
        got.sort();
        assert_eq!(got, vec!["is-number", "keep"]);
    }

    #[test]
    fn file_replaced_by_later_layer_takes_its_content() {
        let l1 = layer("a", &[("/var/lib/dpkg/status", "old")], &[], &[]);
        let mut l2 = layer("b", &[], &[], &[]);
        l2.entries.push(path_key("/var/lib/dpkg/status"));
        let inv = squash(SourceInfo::default(), &[l1, l2]);
        assert!(inv.packages.is_empty());
    }

    #[test]
    fn directory_replaced_by_file_hides_children() {
        let l1 = layer("a", &[("/app/node_modules/x/package.json", "x")], &[], &[]);
        let mut l2 = layer("b", &[], &[], &[]);
        l2.entries.push(path_key("/app/node_modules")); // now a symlink
        let inv = squash(SourceInfo::default(), &[l1, l2]);
        assert!(inv.packages.is_empty());
    }

    fn npm_files(l: &mut LayerInventory, paths: impl Iterator<Item = String>) {
        for path in paths {
            l.entries.push(path_key(&path));
            let det = vec![Detection::packages(vec![Package::new(PackageType::Npm, "x", "1", &path)])];
            l.files.insert(path, det);
        }
    }

    /// 100k files below, then 200k entries and 50k opaque directories above: each whiteout
    /// must cost what it removes, not a pass over every lower file (the opaque directories
    /// took minutes).
    #[test]
    fn many_entries_and_opaque_dirs_stay_fast() {
        let mut l1 = LayerInventory { diff_id: "a".into(), ..Default::default() };
        npm_files(&mut l1, (0..100_000).map(|i| format!("/d{i}/package.json")));
        let mut l2 = LayerInventory { diff_id: "b".into(), ..Default::default() };
        l2.entries = (0..200_000).map(|i| path_key(&format!("/e{i}/x"))).collect();
        l2.entries.push(path_key("/d0"));
        l2.opaque_dirs = (0..50_000).map(|i| path_key(&format!("/o{i}"))).collect();
        l2.opaque_dirs.push(path_key("/d1"));
        let mut l3 = LayerInventory { diff_id: "c".into(), ..Default::default() };
        npm_files(&mut l3, (0..100_000).map(|i| format!("/f{i}/package.json")));
        let start = std::time::Instant::now();
        let inv = squash(SourceInfo::default(), &[l1, l2, l3]);
        assert!(start.elapsed().as_secs() < 5, "{:?}", start.elapsed());
        assert_eq!(inv.packages.len(), 199_998);
        assert!(!inv
            .packages
            .iter()
            .any(|p| p.location.path.starts_with("/d0/") || p.location.path.starts_with("/d1/")));
        // `/` opaque hides everything below, and only that.
        let mut l4 = LayerInventory { diff_id: "d".into(), opaque_dirs: vec![path_key("/")], ..Default::default() };
        npm_files(&mut l4, std::iter::once("/g/package.json".to_string()));
        let inv = squash(SourceInfo::default(), &[layer("a", &[("/n/package.json", "n")], &[], &[]), l4]);
        assert_eq!(names(&inv), [("x".to_string(), "d".to_string())]);
    }

    #[test]
    fn declared_packages_shown_installed_are_listed_once() {
        let mut l = layer("a", &[("/app/node_modules/x/package.json", "x")], &[], &[]);
        let lock = Detection {
            packages: vec![
                Package::new(PackageType::Npm, "x", "1", "/app/package-lock.json"),
                Package::new(PackageType::Npm, "only-in-lock", "1", "/app/package-lock.json"),
            ],
            declared: true,
            ..Default::default()
        };
        l.files.insert("/app/package-lock.json".into(), vec![lock]);
        let inv = squash(SourceInfo::default(), &[l]);
        let got: Vec<_> = inv.packages.iter().map(|p| (p.name.as_str(), p.location.path.as_str())).collect();
        assert_eq!(got, vec![("only-in-lock", "/app/package-lock.json"), ("x", "/app/node_modules/x/package.json")]);
    }

    #[test]
    fn declared_packages_equal_under_the_ecosystem_order_are_listed_once() {
        let mut l = LayerInventory { diff_id: "a".into(), ..Default::default() };
        let dist = "/usr/lib/python3/dist-packages/Django-3.2.dist-info/METADATA";
        l.files.insert(
            dist.into(),
            vec![Detection::packages(vec![Package::new(PackageType::Python, "Django", "3.2", dist)])],
        );
        let req = "/app/requirements.txt";
        let lock = Detection {
            packages: vec![
                // PEP 440: 3.2.0 == 3.2, and names compare after PEP 503 normalisation.
                Package::new(PackageType::Python, "Django", "3.2.0", req),
                Package::new(PackageType::Python, "django", "3.2.0", req),
                // A different version stays: the lockfile asks for what is not installed.
                Package::new(PackageType::Python, "Django", "3.2.1", req),
                // npm's SemVer has no such equality: 1.0 is not a version there, kept as written.
                Package::new(PackageType::Npm, "x", "1.0", "/app/package-lock.json"),
            ],
            declared: true,
            ..Default::default()
        };
        l.files.insert(req.into(), vec![lock]);
        let npm = "/app/node_modules/x/package.json";
        l.files.insert(npm.into(), vec![Detection::packages(vec![Package::new(PackageType::Npm, "x", "1.0.0", npm)])]);
        let inv = squash(SourceInfo::default(), &[l]);
        let got: Vec<_> =
            inv.packages.iter().map(|p| (p.name.as_str(), p.version.as_str(), p.location.path.as_str())).collect();
        assert_eq!(
            got,
            vec![
                ("Django", "3.2", dist),
                ("Django", "3.2.1", req),
                ("x", "1.0", "/app/package-lock.json"),
                ("x", "1.0.0", npm),
            ]
        );
    }
}
