pub mod cyclonedx;
pub mod json;
pub mod sarif;
pub mod table;

use bulwark_catalog::SourceInfo;
use bulwark_match::{Finding, PackageRef};

/// What the scanned thing is called: its image reference, else what the user typed.
pub(crate) fn source_name(src: &SourceInfo) -> &str {
    src.name.as_deref().filter(|n| !n.is_empty()).unwrap_or(&src.input)
}

/// The package as people name it: Maven's `group:artifact`, else the name.
pub(crate) fn package_name(p: &PackageRef) -> String {
    match p.namespace.as_deref().filter(|n| !n.is_empty()) {
        Some(ns) => format!("{ns}:{}", p.name),
        None => p.name.clone(),
    }
}

/// A CVSS base score fit to print: finite and within 0–10 (a hostile database could hold
/// anything, and the schemas want a number).
pub(crate) fn valid_score(f: &Finding) -> Option<f64> {
    f.score.filter(|s| s.is_finite() && (0.0..=10.0).contains(s))
}

/// True for an `http`/`https` URL with no spaces, controls or characters URIs may not hold:
/// SARIF's `helpUri` must be an absolute URI (GitHub rejects the upload otherwise), and a
/// database could hand us `javascript:` or worse.
pub(crate) fn is_web_url(s: &str) -> bool {
    let lower = s.get(..8).unwrap_or(s).to_ascii_lowercase();
    let rest = if lower.starts_with("https://") {
        &s[8..]
    } else if lower.starts_with("http://") {
        &s[7..]
    } else {
        return false;
    };
    !rest.is_empty()
        && s.chars().all(|c| c.is_ascii_graphic() && !matches!(c, '"' | '<' | '>' | '\\' | '^' | '`' | '{' | '|' | '}'))
}

/// 64-bit FNV-1a over the parts, each followed by a 0 byte so ("ab","c") and ("a","bc")
/// differ. Stable across runs and Rust versions, unlike `DefaultHasher`: fingerprints must
/// match between scans for code scanning to follow an alert.
pub(crate) fn fingerprint(parts: &[&str]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for &b in part.as_bytes().iter().chain(&[0u8]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    format!("{h:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn web_urls() {
        assert!(is_web_url("https://osv.dev/vulnerability/GHSA-1"));
        assert!(is_web_url("HTTP://example.org"));
        assert!(!is_web_url("https://"));
        assert!(!is_web_url("osv.dev/x"));
        assert!(!is_web_url("https://a b"));
        assert!(!is_web_url("https://a\u{1b}[31m"));
        assert!(!is_web_url("javascript:alert(1)"));
        assert!(!is_web_url("ftp://x"));
        assert!(!is_web_url("httpsé://x"));
        assert!(!is_web_url(""));
    }

    #[test]
    fn fingerprints_are_fnv1a_and_separate_parts() {
        // FNV-1a of the empty input is the offset basis; of "\0" it is one round further.
        assert_eq!(fingerprint(&[]), "cbf29ce484222325");
        assert_eq!(fingerprint(&[""]), "af63bd4c8601b7df");
        assert_ne!(fingerprint(&["ab", "c"]), fingerprint(&["a", "bc"]));
    }
}
