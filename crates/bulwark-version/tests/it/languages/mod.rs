//! Upstream test vectors for the language-ecosystem schemes, transcribed as facts.
//!
//! Each module names the upstream file its vectors come from. A [`Check`] runs every fact and
//! fails once at the end with the full list of mismatches, so one wrong vector does not hide others.

use std::cmp::Ordering;

use bulwark_version::{scheme_for, VersionScheme};

mod composer;
mod golang;
mod hostile;
mod maven;
mod nuget;
mod pep440;
mod rubygems;
mod semver;

/// Collects facts about one scheme and reports all mismatches at once.
pub struct Check {
    scheme: &'static dyn VersionScheme,
    facts: usize,
    failures: Vec<String>,
}

impl Check {
    /// The scheme registered for an OSV ecosystem name, so the registry is tested too.
    pub fn new(ecosystem: &str) -> Self {
        let scheme = scheme_for(ecosystem).unwrap_or_else(|| panic!("no scheme registered for {ecosystem}"));
        Check { scheme, facts: 0, failures: Vec::new() }
    }

    fn expect(&mut self, a: &str, b: &str, want: Ordering) {
        self.facts += 1;
        for (x, y, w) in [(a, b, want), (b, a, want.reverse())] {
            match self.scheme.compare(x, y) {
                Ok(got) if got == w => {}
                Ok(got) => self.failures.push(format!("compare({x:?}, {y:?}) = {got:?}, want {w:?}")),
                Err(e) => self.failures.push(format!("compare({x:?}, {y:?}) failed: {e}")),
            }
        }
    }

    pub fn lt(&mut self, a: &str, b: &str) {
        self.expect(a, b, Ordering::Less);
    }

    pub fn gt(&mut self, a: &str, b: &str) {
        self.expect(a, b, Ordering::Greater);
    }

    pub fn eq(&mut self, a: &str, b: &str) {
        self.expect(a, b, Ordering::Equal);
    }

    /// Every earlier entry is less than every later one.
    pub fn ascending(&mut self, versions: &[&str]) {
        for (i, a) in versions.iter().enumerate() {
            self.eq(a, a);
            for b in &versions[i + 1..] {
                self.lt(a, b);
            }
        }
    }

    /// Every pair in the list is equal, each with itself included.
    pub fn all_equal(&mut self, versions: &[&str]) {
        for (i, a) in versions.iter().enumerate() {
            for b in &versions[i..] {
                self.eq(a, b);
            }
        }
    }

    pub fn valid(&mut self, v: &str) {
        self.facts += 1;
        if !self.scheme.valid(v) {
            self.failures.push(format!("{v:?} should be valid"));
        }
        if let Err(e) = self.scheme.compare(v, v) {
            self.failures.push(format!("compare({v:?}, itself) failed: {e}"));
        }
    }

    pub fn invalid(&mut self, v: &str) {
        self.facts += 1;
        if self.scheme.valid(v) {
            self.failures.push(format!("{v:?} should be invalid"));
        }
        let ok = "1";
        for (x, y) in [(v, ok), (ok, v)] {
            if let Ok(got) = self.scheme.compare(x, y) {
                self.failures.push(format!("compare({x:?}, {y:?}) = {got:?}, want an error"));
            }
        }
    }

    /// Panics with every mismatch; returns the number of facts checked.
    pub fn finish(self) -> usize {
        assert!(
            self.failures.is_empty(),
            "{} of {} {} facts failed:\n{}",
            self.failures.len(),
            self.facts,
            self.scheme.name(),
            self.failures.join("\n")
        );
        self.facts
    }
}

#[test]
fn language_ecosystems_are_registered() {
    for (ecosystem, name) in [
        ("PyPI", "pep440"),
        ("npm", "semver"),
        ("crates.io", "semver"),
        ("Go", "go"),
        ("Maven", "maven"),
        ("RubyGems", "rubygems"),
        ("NuGet", "nuget"),
        ("Packagist", "composer"),
    ] {
        assert_eq!(scheme_for(ecosystem).map(|s| s.name()), Some(name), "{ecosystem}");
    }
}
