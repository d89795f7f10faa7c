//! OSV affected-range evaluation (ossf.github.io/osv-schema, "Evaluation"): events sorted
//! by version; `introduced` opens, `fixed` closes at the version, `last_affected` closes
//! after it, `limit` bounds the whole range; explicit `versions` lists match exactly.

use bulwark_version::{SemVer, VersionError, VersionScheme};
use bulwark_vulndb::osv::{Affected, Event};
use std::cmp::Ordering;

/// Whether a version is affected, and by which fix it stops being.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    NotAffected,
    /// Affected; the fix, when a `fixed` event closes the range that holds the version.
    Affected {
        fixed: Option<String>,
    },
}

/// Evaluates one `affected` entry for `version`. `scheme` orders `ECOSYSTEM` ranges;
/// `SEMVER` ranges always use SemVer (the schema says so). `GIT` ranges are skipped.
/// An event the scheme cannot parse is an error, so the caller can warn rather than
/// silently drop an advisory.
pub fn evaluate(affected: &Affected, version: &str, scheme: &dyn VersionScheme) -> Result<Verdict, VersionError> {
    if affected.versions.iter().any(|v| v == version) {
        // Explicit lists name versions exactly; a fix is still worth showing if a range has one.
        let fixed = ranges_fix(affected, version, scheme).ok().flatten();
        return Ok(Verdict::Affected { fixed });
    }
    for range in &affected.ranges {
        let scheme: &dyn VersionScheme = match range.kind.as_str() {
            "SEMVER" => &SemVer,
            "ECOSYSTEM" => scheme,
            _ => continue,
        };
        // SemVer ranges in Go and crates.io records may carry a leading `v`; tolerate it.
        let v = if range.kind == "SEMVER" { version.strip_prefix('v').unwrap_or(version) } else { version };
        if let Some(fixed) = in_range(&range.events, v, scheme)? {
            return Ok(Verdict::Affected { fixed });
        }
    }
    Ok(Verdict::NotAffected)
}

/// The fix of the range holding `version`, if any range holds it.
fn ranges_fix(affected: &Affected, version: &str, scheme: &dyn VersionScheme) -> Result<Option<String>, VersionError> {
    for range in &affected.ranges {
        let scheme: &dyn VersionScheme = match range.kind.as_str() {
            "SEMVER" => &SemVer,
            "ECOSYSTEM" => scheme,
            _ => continue,
        };
        if let Some(fixed) = in_range(&range.events, version, scheme)? {
            return Ok(fixed);
        }
    }
    Ok(None)
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    // Order at equal versions: a fix at V closes before an introduction at V reopens,
    // so `fixed 2.0, introduced 2.0` (adjacent ranges) leaves 2.0 affected by the later one.
    Fixed,
    Introduced,
    LastAffected,
    Limit,
}

/// `Some(fix)` when `version` is inside the range `events` describe.
fn in_range(
    events: &[Event],
    version: &str,
    scheme: &dyn VersionScheme,
) -> Result<Option<Option<String>>, VersionError> {
    let mut evs: Vec<(Kind, &str)> = Vec::with_capacity(events.len());
    for e in events {
        let pairs = [
            (Kind::Introduced, &e.introduced),
            (Kind::Fixed, &e.fixed),
            (Kind::LastAffected, &e.last_affected),
            (Kind::Limit, &e.limit),
        ];
        for (k, v) in pairs {
            if let Some(v) = v {
                evs.push((k, v.as_str()));
            }
        }
    }
    // Validate first so the sort's comparator cannot fail half-way.
    for (k, v) in &evs {
        if !(is_zero(*k, v) || *k == Kind::Limit && *v == "*") {
            scheme.compare(v, v)?;
        }
    }
    scheme.compare(version, version)?;
    // `introduced X` directly followed by `fixed X` is an empty interval (RustSec's export
    // writes one where two patched requirements meet, e.g. RUSTSEC-2024-0399 for rustls
    // 0.23.0): it affects nothing, but once sorted the tie order below would open it.
    let mut i = 0;
    while i + 1 < evs.len() {
        let (a, b) = (evs[i], evs[i + 1]);
        let empty = a.0 == Kind::Introduced
            && b.0 == Kind::Fixed
            && !is_zero(a.0, a.1)
            && scheme.compare(a.1, b.1)? == Ordering::Equal;
        if empty {
            evs.drain(i..i + 2);
        } else {
            i += 1;
        }
    }
    let cmp = |a: &(Kind, &str), b: &(Kind, &str)| -> Ordering {
        let (az, bz) = (is_zero(a.0, a.1), is_zero(b.0, b.1));
        let by_version = match (az, bz) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Less,
            (false, true) => Ordering::Greater,
            _ => scheme.compare(a.1, b.1).unwrap_or(Ordering::Equal),
        };
        by_version.then(a.0.cmp(&b.0))
    };
    evs.sort_by(cmp);

    // `limit`: versions at or past it are outside every range here.
    for (k, v) in &evs {
        if *k == Kind::Limit && *v != "*" && scheme.compare(version, v)? != Ordering::Less {
            return Ok(None);
        }
    }
    let mut vulnerable = false;
    for (i, (k, v)) in evs.iter().enumerate() {
        let ord = if is_zero(*k, v) { Ordering::Greater } else { scheme.compare(version, v)? };
        let applies = match k {
            Kind::Introduced | Kind::Fixed => ord != Ordering::Less,
            Kind::LastAffected => ord == Ordering::Greater,
            Kind::Limit => continue,
        };
        if !applies {
            // Sorted: this event and every later one lie above the version. If it is
            // inside a range, the event that closes that range names the fix (or none,
            // for `last_affected`).
            if !vulnerable {
                return Ok(None);
            }
            let fix = evs[i..].iter().find_map(|(k, v)| match k {
                Kind::Fixed => Some(Some((*v).to_string())),
                Kind::LastAffected => Some(None),
                _ => None,
            });
            return Ok(Some(fix.flatten()));
        }
        match k {
            Kind::Introduced => vulnerable = true,
            Kind::Fixed | Kind::LastAffected => vulnerable = false,
            Kind::Limit => {}
        }
    }
    Ok(if vulnerable { Some(None) } else { None })
}

/// `introduced: "0"` means "from the beginning" in every ecosystem.
fn is_zero(kind: Kind, v: &str) -> bool {
    kind == Kind::Introduced && v == "0"
}

#[cfg(test)]
mod tests {
    use super::*;
    use bulwark_version::{Dpkg, Pep440};
    use bulwark_vulndb::osv::Range;

    fn ev(kind: &str, v: &str) -> Event {
        let mut e = Event::default();
        let slot = match kind {
            "i" => &mut e.introduced,
            "f" => &mut e.fixed,
            "l" => &mut e.last_affected,
            _ => &mut e.limit,
        };
        *slot = Some(v.to_string());
        e
    }

    fn aff(kind: &str, events: &[(&str, &str)], versions: &[&str]) -> Affected {
        Affected {
            ranges: vec![Range {
                kind: kind.into(),
                repo: None,
                events: events.iter().map(|(k, v)| ev(k, v)).collect(),
            }],
            versions: versions.iter().map(|v| v.to_string()).collect(),
            ..Default::default()
        }
    }

    fn fixed(v: &str) -> Verdict {
        Verdict::Affected { fixed: Some(v.into()) }
    }

    #[test]
    fn fixed_is_exclusive() {
        // DSA-5863-1: libtasn1-6 introduced 0, fixed 4.19.0-2+deb12u1 (python-app sits exactly at it).
        let a = aff("ECOSYSTEM", &[("i", "0"), ("f", "4.19.0-2+deb12u1")], &[]);
        assert_eq!(evaluate(&a, "4.19.0-2+deb12u1", &Dpkg).unwrap(), Verdict::NotAffected);
        assert_eq!(evaluate(&a, "4.19.0-2+deb12u2", &Dpkg).unwrap(), Verdict::NotAffected);
        assert_eq!(evaluate(&a, "4.19.0-2", &Dpkg).unwrap(), fixed("4.19.0-2+deb12u1"));
        // A backport tilde sorts before the release it precedes.
        assert_eq!(evaluate(&a, "4.19.0-2+deb12u1~1", &Dpkg).unwrap(), fixed("4.19.0-2+deb12u1"));
    }

    #[test]
    fn last_affected_is_inclusive() {
        let a = aff("SEMVER", &[("i", "1.0.0"), ("l", "1.2.3")], &[]);
        assert_eq!(evaluate(&a, "1.2.3", &SemVer).unwrap(), Verdict::Affected { fixed: None });
        assert_eq!(evaluate(&a, "1.2.4", &SemVer).unwrap(), Verdict::NotAffected);
        assert_eq!(evaluate(&a, "0.9.9", &SemVer).unwrap(), Verdict::NotAffected);
        assert_eq!(evaluate(&a, "1.0.0", &SemVer).unwrap(), Verdict::Affected { fixed: None });
    }

    #[test]
    fn explicit_versions_and_multiple_intervals() {
        let a = aff("ECOSYSTEM", &[("i", "1.0"), ("f", "1.5"), ("i", "2.0"), ("f", "2.2")], &["0.5"]);
        assert_eq!(evaluate(&a, "0.5", &Pep440).unwrap(), Verdict::Affected { fixed: None });
        assert_eq!(evaluate(&a, "0.6", &Pep440).unwrap(), Verdict::NotAffected);
        assert_eq!(evaluate(&a, "1.4", &Pep440).unwrap(), fixed("1.5"));
        assert_eq!(evaluate(&a, "1.5", &Pep440).unwrap(), Verdict::NotAffected);
        assert_eq!(evaluate(&a, "1.9", &Pep440).unwrap(), Verdict::NotAffected);
        assert_eq!(evaluate(&a, "2.0", &Pep440).unwrap(), fixed("2.2"));
        assert_eq!(evaluate(&a, "2.2", &Pep440).unwrap(), Verdict::NotAffected);
        // PEP 440: 3.2 is 3.2.0, and events may come unsorted.
        let b = aff("ECOSYSTEM", &[("f", "3.2.1"), ("i", "3.2")], &[]);
        assert_eq!(evaluate(&b, "3.2.0", &Pep440).unwrap(), fixed("3.2.1"));
    }

    #[test]
    fn empty_intervals_affect_nothing() {
        // RUSTSEC-2024-0399 (rustls): introduced 0.23.0, fixed 0.23.0 is empty; only the
        // second interval [0.23.13, 0.23.18) is affected.
        let a = aff("SEMVER", &[("i", "0.23.0"), ("f", "0.23.0"), ("i", "0.23.13"), ("f", "0.23.18")], &[]);
        assert_eq!(evaluate(&a, "0.23.0", &SemVer).unwrap(), Verdict::NotAffected);
        assert_eq!(evaluate(&a, "0.23.12", &SemVer).unwrap(), Verdict::NotAffected);
        assert_eq!(evaluate(&a, "0.23.13", &SemVer).unwrap(), fixed("0.23.18"));
        // Adjacent intervals still join: 2.0 is in the second one.
        let b = aff("SEMVER", &[("i", "1.0.0"), ("f", "2.0.0"), ("i", "2.0.0"), ("f", "3.0.0")], &[]);
        assert_eq!(evaluate(&b, "2.0.0", &SemVer).unwrap(), fixed("3.0.0"));
    }

    #[test]
    fn unfixed_and_limit() {
        let open = aff("ECOSYSTEM", &[("i", "0")], &[]);
        assert_eq!(evaluate(&open, "9.9-1", &Dpkg).unwrap(), Verdict::Affected { fixed: None });
        let limited = aff("SEMVER", &[("i", "0"), ("lim", "2.0.0")], &[]);
        assert_eq!(evaluate(&limited, "1.9.9", &SemVer).unwrap(), Verdict::Affected { fixed: None });
        assert_eq!(evaluate(&limited, "2.0.0", &SemVer).unwrap(), Verdict::NotAffected);
    }

    #[test]
    fn semver_ranges_use_semver_and_git_is_ignored() {
        // Go records: SEMVER with a `-0` pre-release bound; installed versions may carry `v`.
        let a = aff("SEMVER", &[("i", "1.22.0-0"), ("f", "1.22.7")], &[]);
        assert_eq!(evaluate(&a, "1.22.5", &Dpkg).unwrap(), fixed("1.22.7"));
        assert_eq!(evaluate(&a, "v1.22.7", &Dpkg).unwrap(), Verdict::NotAffected);
        let g = aff("GIT", &[("i", "0"), ("f", "abc123")], &[]);
        assert_eq!(evaluate(&g, "1.0", &Pep440).unwrap(), Verdict::NotAffected);
    }

    #[test]
    fn invalid_versions_are_errors() {
        let a = aff("ECOSYSTEM", &[("i", "0"), ("f", "not a version!!")], &[]);
        assert!(evaluate(&a, "1.0", &Pep440).is_err());
        let b = aff("ECOSYSTEM", &[("i", "0"), ("f", "1.0")], &[]);
        assert!(evaluate(&b, "@@@", &Pep440).is_err());
    }
}
