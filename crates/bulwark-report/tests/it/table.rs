//! The table: targets, totals, rows, merged cells, colour only when asked, and hostile
//! strings that must not reach the terminal as control sequences.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

use crate::common::{finding, package, render, report, LOCK, STATUS};
use bulwark_catalog::PackageType;
use bulwark_match::ScanReport;
use bulwark_vulndb::severity::Level;

fn width(s: &str) -> usize {
    s.chars().count()
}

/// The lines of the box-drawn table under `heading`.
fn table_under<'a>(text: &'a str, heading: &str) -> Vec<&'a str> {
    let start = text.lines().position(|l| l == heading).unwrap_or_else(|| panic!("no {heading:?} in\n{text}"));
    text.lines().skip(start).skip_while(|l| !l.starts_with('┌')).take_while(|l| !l.is_empty()).collect()
}

#[test]
fn targets_totals_and_rows() {
    let text = render(&report(), "table", false);
    let first = text.lines().next().unwrap();
    assert_eq!(
        first,
        "registry.example.com/team/app:1.0 (Debian GNU/Linux 12 (bookworm)): 42 packages scanned, database of 2026-11-20T00:00:00Z"
    );

    // OS packages first, each target with its type, underlined, and its own total.
    let deb = text.find(&format!("{STATUS} (deb)\n=")).unwrap();
    let npm = text.find(&format!("{LOCK} (npm)\n=")).unwrap();
    assert!(deb < npm, "{text}");
    assert!(text.contains(&format!(
        "{STATUS} (deb)\n{}\nTotal: 3 (UNKNOWN: 0, LOW: 1, MEDIUM: 0, HIGH: 0, CRITICAL: 2)\n",
        "=".repeat(STATUS.len() + 6)
    )));
    assert!(text.contains("Total: 2 (UNKNOWN: 1, LOW: 0, MEDIUM: 0, HIGH: 1, CRITICAL: 0)"), "{text}");

    let table = table_under(&text, &format!("{STATUS} (deb)"));
    let head = table[1];
    for h in ["Library", "Vulnerability", "Severity", "Installed Version", "Fixed Version", "Title"] {
        assert!(head.contains(h), "{head}");
    }
    // Every line of a table is as wide as the others, or the boxes do not meet.
    assert!(table.iter().all(|l| width(l) == width(table[0])), "{}", table.join("\n"));
    let row = table.iter().find(|l| l.contains("CVE-2024-5535") && l.contains("libssl3")).unwrap();
    for cell in ["CRITICAL", "3.0.11-1~deb12u2", "3.0.13-1~deb12u1", "openssl: SSL_select_next_proto buffer overread"] {
        assert!(row.contains(cell), "{cell} in {row}");
    }
    // The link on the line below the title.
    let i = table.iter().position(|l| l == row).unwrap();
    assert!(table[i + 1].contains("https://security-tracker.debian.org/tracker/CVE-2024-5535"), "{}", table[i + 1]);
    // libssl3's second advisory: Library and Installed Version merged with the row above,
    // sorted by severity (CRITICAL before LOW).
    let low = table.iter().position(|l| l.contains("CVE-2024-2511")).unwrap();
    assert!(low > i, "{}", table.join("\n"));
    assert!(table[low].starts_with(&format!("│ {} │ CVE-2024-2511", " ".repeat(7))), "{}", table[low]);
    assert!(!table[low].contains("3.0.11-1~deb12u2"), "{}", table[low]);
    assert!(table[low - 1].starts_with("│         ├") && table[low - 1].contains("┤     "), "{}", table[low - 1]);
    // Another package: a full separator.
    let openssl = table.iter().position(|l| l.contains("│ openssl ")).unwrap();
    assert!(table[openssl - 1].starts_with("├─") && table[openssl - 1].ends_with("┤"), "{}", table[openssl - 1]);

    // An advisory without a fix leaves the cell empty.
    let npm_table = table_under(&text, &format!("{LOCK} (npm)"));
    let minimist = npm_table.iter().find(|l| l.contains("minimist")).unwrap();
    assert!(minimist.contains("UNKNOWN") && minimist.contains("Prototype Pollution in minimist"), "{minimist}");

    // Suppressed findings: counted by what suppressed them; none of them is listed.
    assert!(text.ends_with("Suppressed: 3 (ignorefile: 1, unfixed: 1, vex: 1); the reasons are in --format json\n"));
    for id in ["CVE-2023-4911", "CVE-2024-29041", "CVE-2023-45853"] {
        assert!(!text.contains(id), "{id} was suppressed");
    }
    assert!(!text.contains("No vulnerabilities found"));
}

#[test]
fn hostile_strings_are_neutralised() {
    let text = render(&report(), "table", false);
    for bad in ['\u{1b}', '\u{7}', '\r', '\u{9b}', '\u{202e}'] {
        assert!(!text.contains(bad), "{bad:?} reached the output");
    }
    // The title's line break did not start a line of its own.
    assert!(!text.lines().any(|l| l.trim_start().starts_with("rm -rf")));
    let row = text.lines().find(|l| l.contains("lodash")).unwrap();
    assert!(row.contains("│ Command Injection in lodash[2J]0;pwned rm -rf / 3… │"), "{row}");
}

#[test]
fn colour_only_when_asked() {
    let plain = render(&report(), "table", false);
    assert!(!plain.contains('\u{1b}'));
    let colored = render(&report(), "table", true);
    assert!(colored.contains("\u{1b}[31mCRITICAL\u{1b}[0m"), "{colored}");
    assert!(colored.contains("\u{1b}[91mHIGH\u{1b}[0m"));
    assert!(colored.contains("\u{1b}[34mLOW\u{1b}[0m"));
    assert!(colored.contains("\u{1b}[36mUNKNOWN\u{1b}[0m"));
    // Every escape is one of ours: the title's own escapes are still gone.
    let ours = ["[31m", "[91m", "[33m", "[34m", "[36m", "[0m"];
    for (i, _) in colored.match_indices('\u{1b}') {
        assert!(ours.iter().any(|o| colored[i + 1..].starts_with(o)), "{:?}", &colored[i..i + 8]);
    }
    // Colour does not change the layout.
    let strip = colored.replace("\u{1b}[0m", "");
    let strip = ours.iter().fold(strip, |s, o| s.replace(&format!("\u{1b}{o}"), ""));
    assert_eq!(strip, plain);
}

#[test]
fn nothing_found_says_so() {
    let mut r = report();
    r.findings.clear();
    let text = render(&r, "table", false);
    assert!(
        text.contains("\nNo vulnerabilities found in registry.example.com/team/app:1.0 (42 packages scanned).\n"),
        "{text}"
    );
    assert!(!text.contains("Total:") && !text.contains('┌'), "{text}");
    assert!(text.contains("Suppressed: 3 "));

    r.suppressed.clear();
    r.os = None;
    let text = render(&r, "table", false);
    assert_eq!(
        text,
        "registry.example.com/team/app:1.0: 42 packages scanned, database of 2026-11-20T00:00:00Z\n\n\
         No vulnerabilities found in registry.example.com/team/app:1.0 (42 packages scanned).\n"
    );
}

/// A name, version and title of a megabyte each: the lines stay a screen wide, and the
/// table stays small.
#[test]
fn huge_values_keep_lines_short() {
    let huge = "x".repeat(1 << 20);
    let mut f = finding("CVE-2024-1", package(PackageType::Npm, &huge, &huge, "", LOCK), Level::High, Some(&huge));
    f.title = Some(huge.clone());
    f.url = format!("https://example.org/{huge}");
    let r = ScanReport { findings: vec![f.clone(), f], packages_scanned: 1, ..Default::default() };
    let text = render(&r, "table", false);
    assert!(text.len() < 10_000, "{} bytes", text.len());
    let longest = text.lines().map(width).max().unwrap();
    assert!(longest <= 200, "a line of {longest} columns");
    let table = table_under(&text, &format!("{LOCK} (npm)"));
    assert!(table.iter().all(|l| width(l) == width(table[0])), "{}", table.join("\n"));
    // Wrapped to three lines, the last cut with an ellipsis.
    assert!(table.iter().filter(|l| l.contains("xxxxxxxxxxxxxxxxxxxxxxxxxxxx │")).count() >= 2, "{}", table.join("\n"));
    assert!(table.iter().any(|l| l.contains("xxx… │")), "{}", table.join("\n"));
}
