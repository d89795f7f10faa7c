//! Debian release codenames → the version OSV puts in `Debian:<version>`, as Debian's
//! distro-info table (`debian.csv`) numbers them. Shared by the DSA/DLA list importer and
//! the tracker JSON importer so both name the same release the same way.

/// Codename → version. Before wheezy Debian numbered point-less majors as `X.Y`
/// (woody 3.0, sarge 3.1, …), which is what OSV's `Debian:3.0` … `Debian:6.0` use.
const RELEASES: &[(&str, &str)] = &[
    ("buzz", "1.1"),
    ("rex", "1.2"),
    ("bo", "1.3"),
    ("hamm", "2.0"),
    ("slink", "2.1"),
    ("potato", "2.2"),
    ("woody", "3.0"),
    ("sarge", "3.1"),
    ("etch", "4.0"),
    ("lenny", "5.0"),
    ("squeeze", "6.0"),
    ("wheezy", "7"),
    ("jessie", "8"),
    ("stretch", "9"),
    ("buster", "10"),
    ("bullseye", "11"),
    ("bookworm", "12"),
    ("trixie", "13"),
    ("forky", "14"),
    ("duke", "15"),
];

/// `Debian:<version>` for a codename, or `None` when the codename is not a numbered release.
pub(crate) fn ecosystem(codename: &str) -> Option<String> {
    RELEASES.iter().find(|(c, _)| *c == codename).map(|(_, v)| format!("Debian:{v}"))
}

/// Suites that never get a version number: skipped without a warning, since OSV has no
/// ecosystem for them and they are in every tracker entry.
pub(crate) fn is_unnumbered(codename: &str) -> bool {
    matches!(codename, "sid" | "experimental" | "unstable" | "testing")
}

/// The purl OSV gives a Debian source package.
pub(crate) fn purl(source: &str) -> String {
    format!("pkg:deb/debian/{source}?arch=source")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codenames_map_to_osv_ecosystems() {
        assert_eq!(ecosystem("woody").as_deref(), Some("Debian:3.0"));
        assert_eq!(ecosystem("squeeze").as_deref(), Some("Debian:6.0"));
        assert_eq!(ecosystem("wheezy").as_deref(), Some("Debian:7"));
        assert_eq!(ecosystem("bookworm").as_deref(), Some("Debian:12"));
        assert_eq!(ecosystem("trixie").as_deref(), Some("Debian:13"));
        assert_eq!(ecosystem("sid"), None);
        assert_eq!(ecosystem("Bookworm"), None);
        assert!(is_unnumbered("sid") && is_unnumbered("experimental"));
        assert!(!is_unnumbered("bookworm") && !is_unnumbered("nonsense"));
    }
}
