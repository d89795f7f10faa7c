//! Sorting declared license strings into SPDX license ids, SPDX expressions and free text,
//! with the `spdx` crate's license list (strict syntax, deprecated ids allowed since they are
//! still on the list).

use spdx::{AdditionItem, Expression, LicenseItem, ParseMode};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Exactly one id from the SPDX license list.
    Id,
    /// A valid SPDX expression; `refs` if it names `LicenseRef-`/`DocumentRef-` licenses,
    /// which an SPDX document would have to define.
    Expression { refs: bool },
    /// Anything else: "BSD-like", "GPLv3+", "Apache 2.0".
    Name,
}

const MODE: ParseMode = ParseMode { allow_deprecated: true, ..ParseMode::STRICT };

/// Words the license list carries but that mean "unknown", not a license.
const RESERVED: [&str; 2] = ["NOASSERTION", "NONE"];

/// An exact, case-sensitive id lookup: `spdx::license_id` drops a trailing `+`, which would
/// turn `GPL-2.0+` into `GPL-2.0`.
fn is_listed_id(s: &str) -> bool {
    spdx::identifiers::LICENSES.binary_search_by(|l| l.name.cmp(s)).is_ok()
}

/// `s` must already be trimmed.
pub(crate) fn classify(s: &str) -> Kind {
    if s.is_empty() || RESERVED.contains(&s) {
        return Kind::Name;
    }
    if is_listed_id(s) {
        return Kind::Id;
    }
    let Ok(expr) = Expression::parse_mode(s, MODE) else {
        return Kind::Name;
    };
    let mut refs = false;
    for r in expr.requirements() {
        match &r.req.license {
            LicenseItem::Spdx { id, .. } if RESERVED.contains(&id.name) => return Kind::Name,
            LicenseItem::Spdx { .. } => {}
            LicenseItem::Other(_) => refs = true,
        }
        // `AdditionRef-` is SPDX 3 syntax; an SPDX 2.3 reader would reject it.
        if let Some(AdditionItem::Other(_)) = r.req.addition {
            return Kind::Name;
        }
    }
    Kind::Expression { refs }
}

/// The declared strings, trimmed, without empties and repeats, in their original order.
pub(crate) fn distinct(licenses: &[String]) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    // A set beside the list: a hostile package can declare a hundred thousand licenses.
    let mut seen = std::collections::HashSet::new();
    for l in licenses.iter().map(|l| l.trim()).filter(|l| !l.is_empty()) {
        if seen.insert(l) {
            out.push(l);
        }
    }
    out
}

/// Joins expressions with `AND`, bracketing compound ones so precedence cannot change them.
pub(crate) fn and_all<'a>(parts: impl IntoIterator<Item = &'a str>) -> String {
    let parts: Vec<&str> = parts.into_iter().collect();
    if let [one] = parts[..] {
        return one.to_string();
    }
    let parts: Vec<String> = parts
        .into_iter()
        .map(|p| if p.contains(char::is_whitespace) { format!("({p})") } else { p.to_string() })
        .collect();
    parts.join(" AND ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_expressions_and_names() {
        for id in ["MIT", "Apache-2.0", "GPL-2.0-or-later", "GPL-2.0", "GPL-2.0+", "BSD-3-Clause", "0BSD"] {
            assert_eq!(classify(id), Kind::Id, "{id}");
        }
        for e in [
            "MIT OR Apache-2.0",
            "(MIT OR Apache-2.0) AND BSD-3-Clause",
            "GPL-2.0-or-later WITH Classpath-exception-2.0",
            "Apache-2.0+",
        ] {
            assert_eq!(classify(e), Kind::Expression { refs: false }, "{e}");
        }
        assert_eq!(classify("LicenseRef-Proprietary"), Kind::Expression { refs: true });
        assert_eq!(classify("MIT AND LicenseRef-x"), Kind::Expression { refs: true });
        for n in [
            "GPLv3+",
            "BSD-like",
            "BSD",
            "Apache 2.0",
            "mit",
            "BSD or Apache License, Version 2.0",
            "MIT OR",
            "NOASSERTION",
            "NONE",
            "MIT OR NOASSERTION",
            "GPL-2.0-only WITH AdditionRef-x",
            "",
        ] {
            assert_eq!(classify(n), Kind::Name, "{n}");
        }
    }

    /// 100k distinct declared licenses: de-duplicating them must not be quadratic.
    #[test]
    fn many_licenses_are_linear() {
        let l: Vec<String> = (0..100_000).map(|i| format!("L{i}")).chain(["L7".to_string()]).collect();
        let start = std::time::Instant::now();
        assert_eq!(distinct(&l).len(), 100_000);
        assert!(start.elapsed().as_secs() < 5, "{:?}", start.elapsed());
    }

    #[test]
    fn distinct_and_joined() {
        let l = vec![" MIT ".to_string(), "MIT".into(), String::new(), "A OR B".into()];
        assert_eq!(distinct(&l), ["MIT", "A OR B"]);
        assert_eq!(and_all(["MIT", "A OR B"]), "MIT AND (A OR B)");
        assert_eq!(and_all(["A OR B"]), "A OR B");
    }
}
