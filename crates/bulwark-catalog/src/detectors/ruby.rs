//! Ruby gems: Bundler lockfiles (`Gemfile.lock`, `gems.locked`) and the gemspecs RubyGems
//! writes for installed gems (`<GEM_HOME>/specifications/*.gemspec`, default gems under
//! `specifications/default/`).
//!
//! Both are read as text. An installed gemspec is Ruby code, but RubyGems generates it with
//! `Gem::Specification#to_ruby`, one `s.field = literal` per line, so the few literals we need
//! can be read without evaluating anything.

use super::{file_name, Detector};
use crate::model::{DetectError, Detection, FileInput, Package, PackageType};
use std::borrow::Cow;
use std::collections::HashMap;

/// `Gemfile.lock`: every gem Bundler resolved, from the `specs:` of each source section.
pub struct GemfileLock;

impl Detector for GemfileLock {
    fn name(&self) -> &'static str {
        "gemfile-lock"
    }

    fn declared(&self) -> bool {
        true
    }

    fn matches(&self, path: &str, _mode: u32) -> bool {
        // `gems.locked` is what Bundler writes next to a `gems.rb` instead of a `Gemfile`.
        matches!(file_name(path), "Gemfile.lock" | "gems.locked")
    }

    fn max_size(&self) -> u64 {
        // Large monorepo lockfiles are a few hundred KiB.
        8 << 20
    }

    fn detect(&self, file: &FileInput<'_>) -> Result<Detection, DetectError> {
        let mut det = Detection::default();
        let text = text_of(file.data, &mut det);
        det.packages = parse_gemfile_lock(&text, file.path, &mut det.warnings);
        Ok(det)
    }
}

/// Sections holding gem sources; the rest (`PLATFORMS`, `DEPENDENCIES`, `CHECKSUMS`,
/// `RUBY VERSION`, `BUNDLED WITH`) name gems or versions that are not resolved packages.
const SOURCE_SECTIONS: &[&str] = &["GEM", "GIT", "PATH", "PLUGIN SOURCE"];

fn parse_gemfile_lock(text: &str, path: &str, warnings: &mut Vec<String>) -> Vec<Package> {
    let mut packages: Vec<Package> = Vec::new();
    // (name, version) -> index in `packages`: a multi-platform lockfile lists one spec per
    // platform for the same release, and only one of them is ever installed.
    let mut seen: HashMap<(String, String), usize> = HashMap::new();
    let mut in_source = false;
    let mut in_specs = false;

    for (i, line) in text.lines().enumerate() {
        let line = line.trim_end();
        if line.is_empty() {
            continue;
        }
        let indent = line.len() - line.trim_start_matches(' ').len();
        match indent {
            0 => {
                in_source = SOURCE_SECTIONS.contains(&line);
                in_specs = false;
            }
            // Source options (`remote:`, `revision:`, ...) and the `specs:` marker.
            2 => in_specs = in_source && line == "  specs:",
            // A resolved spec; 6-space lines under it are its dependency requirements.
            4 if in_specs => match parse_spec_line(&line[4..]) {
                Ok((name, version, platform)) => {
                    let key = (name.to_string(), version.to_string());
                    if let Some(&at) = seen.get(&key) {
                        // Several platforms for one release: which one is installed is not
                        // recorded here, so claim none.
                        if packages[at].arch.as_deref() != platform {
                            packages[at].arch = None;
                        }
                        continue;
                    }
                    let mut pkg = Package::new(PackageType::Gem, name, version, path);
                    pkg.arch = platform.map(str::to_string);
                    seen.insert(key, packages.len());
                    packages.push(pkg);
                }
                Err(why) => warnings.push(format!("line {}: {why}", i + 1)),
            },
            _ => {}
        }
    }
    packages
}

/// `name (version)` or `name (version-platform)`. Split like Bundler's own lockfile parser:
/// the version ends at the first `-` and the platform is the rest (`x86_64-linux`).
fn parse_spec_line(spec: &str) -> Result<(&str, &str, Option<&str>), String> {
    let (name, rest) = spec.split_once(" (").ok_or_else(|| format!("spec without a version: {spec:?}"))?;
    let inner = rest.strip_suffix(')').ok_or_else(|| format!("unterminated version in {spec:?}"))?;
    if !valid_gem_name(name) {
        return Err(format!("bad gem name {name:?}"));
    }
    let (version, platform) = match inner.split_once('-') {
        Some((v, p)) => (v, Some(p)),
        None => (inner, None),
    };
    if !valid_version(version) {
        return Err(format!("gem {name} has bad version {inner:?}"));
    }
    if platform.is_some_and(|p| !valid_version(p)) {
        return Err(format!("gem {name} has bad platform in {inner:?}"));
    }
    Ok((name, version, platform))
}

/// RubyGems' own rule for gem names (`Gem::Specification::VALID_NAME_PATTERN`).
fn valid_gem_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
}

/// Versions and platforms: printable, no separators that would break the line format.
fn valid_version(v: &str) -> bool {
    !v.is_empty() && v.bytes().all(|b| b.is_ascii_graphic() && !matches!(b, b'(' | b')' | b',' | b'"' | b'\''))
}

/// An installed gem's specification, as RubyGems writes it on `gem install`/`bundle install`.
pub struct Gemspec;

impl Detector for Gemspec {
    fn name(&self) -> &'static str {
        "gemspec"
    }

    fn matches(&self, path: &str, _mode: u32) -> bool {
        // Only the generated specs in `specifications/` (and `specifications/default/` for
        // gems bundled with Ruby); a `*.gemspec` in a gem's source tree is arbitrary Ruby.
        let Some(dir) = path.strip_suffix(file_name(path)) else {
            return false;
        };
        path.ends_with(".gemspec") && (dir.ends_with("/specifications/") || dir.ends_with("/specifications/default/"))
    }

    fn max_size(&self) -> u64 {
        // Default gems list every file; the biggest are still well under 1 MiB.
        4 << 20
    }

    fn detect(&self, file: &FileInput<'_>) -> Result<Detection, DetectError> {
        let mut det = Detection::default();
        let text = text_of(file.data, &mut det);
        let spec = parse_gemspec(&text, &mut det.warnings);
        let name = spec.name.ok_or_else(|| DetectError::malformed("no literal s.name"))?;
        if !valid_gem_name(&name) {
            return Err(DetectError::malformed(format!("bad gem name {name:?}")));
        }
        let version =
            spec.version.ok_or_else(|| DetectError::malformed(format!("gem {name} has no literal s.version")))?;
        if !valid_version(&version) {
            return Err(DetectError::malformed(format!("gem {name} has bad version {version:?}")));
        }
        let mut pkg = Package::new(PackageType::Gem, name, version, file.path);
        // `ruby` is the pure-Ruby platform, i.e. no platform at all.
        pkg.arch = spec.platform.filter(|p| p != "ruby" && valid_version(p));
        pkg.licenses = spec.licenses.unwrap_or_default();
        det.packages.push(pkg);
        Ok(det)
    }
}

#[derive(Debug, Default)]
struct GemspecFields {
    name: Option<String>,
    version: Option<String>,
    platform: Option<String>,
    licenses: Option<Vec<String>>,
}

fn parse_gemspec(text: &str, warnings: &mut Vec<String>) -> GemspecFields {
    let mut f = GemspecFields::default();
    for (i, line) in text.lines().enumerate() {
        let Some((field, value)) = assignment(line) else {
            continue;
        };
        // The first assignment wins; RubyGems writes each field once.
        match field {
            "name" if f.name.is_none() => f.name = string_literal(value).map(|(s, _)| s),
            "version" if f.version.is_none() => f.version = string_literal(value).map(|(s, _)| s),
            // Old RubyGems wrote `Gem::Platform.new(...)` for some platforms: not a literal,
            // and then simply not recorded.
            "platform" if f.platform.is_none() => f.platform = string_literal(value).map(|(s, _)| s),
            "licenses" | "license" if f.licenses.is_none() => {
                let parsed = if value.trim_start().starts_with('[') {
                    string_array(value)
                } else {
                    string_literal(value).map(|(s, _)| vec![s])
                };
                match parsed {
                    Some(l) => f.licenses = Some(l.into_iter().filter(|s| !s.is_empty()).collect()),
                    None => warnings.push(format!("line {}: unreadable s.{field}", i + 1)),
                }
            }
            _ => {}
        }
    }
    f
}

/// `  s.field = value` -> (`field`, `value`). The receiver is whatever the block variable is
/// called (`s` from RubyGems, `spec` from some tools).
fn assignment(line: &str) -> Option<(&str, &str)> {
    let line = line.trim_start();
    let (receiver, rest) = line.split_once('.')?;
    if receiver.is_empty() || !receiver.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return None;
    }
    let field_len = rest.bytes().take_while(|b| b.is_ascii_alphanumeric() || *b == b'_').count();
    let (field, rest) = rest.split_at(field_len);
    let value = rest.trim_start().strip_prefix('=')?;
    // `==` and `=~` are comparisons, not assignments.
    if value.starts_with(['=', '~']) {
        return None;
    }
    Some((field, value))
}

/// `["MIT".freeze, "Ruby".freeze]`; `None` unless every element is a string literal.
fn string_array(value: &str) -> Option<Vec<String>> {
    let mut rest = value.trim_start().strip_prefix('[')?;
    let mut out = Vec::new();
    loop {
        rest = rest.trim_start();
        if rest.starts_with(']') {
            return Some(out);
        }
        let (s, after) = string_literal(rest)?;
        out.push(s);
        rest = after.trim_start();
        if let Some(r) = rest.strip_prefix(',') {
            rest = r;
        } else if rest.starts_with(']') {
            return Some(out);
        } else {
            return None;
        }
    }
}

/// One Ruby string literal at the start of `value` (`"..."`, `'...'` or `%q{...}`), with an
/// optional `.freeze`; returns its contents and what follows.
fn string_literal(value: &str) -> Option<(String, &str)> {
    let value = value.trim_start();
    let (s, rest) = if let Some(body) = value.strip_prefix('"') {
        double_quoted(body)?
    } else if let Some(body) = value.strip_prefix('\'') {
        single_quoted(body)?
    } else if let Some(body) = value.strip_prefix("%q").or_else(|| value.strip_prefix("%Q")) {
        percent_quoted(body)?
    } else {
        return None;
    };
    Some((s, rest.strip_prefix(".freeze").unwrap_or(rest)))
}

/// Body of a `"..."` literal as `String#dump` writes it: `\"`, `\\`, `\#`, `\uXXXX`,
/// `\u{X Y}`, `\xHH` and the usual single-letter escapes. Interpolation is left as text.
fn double_quoted(body: &str) -> Option<(String, &str)> {
    let mut out = String::new();
    let mut rest = body;
    loop {
        let mut chars = rest.chars();
        match chars.next()? {
            '"' => return Some((out, chars.as_str())),
            '\\' => {
                let e = chars.next()?;
                rest = chars.as_str();
                match e {
                    'n' => out.push('\n'),
                    't' => out.push('\t'),
                    'r' => out.push('\r'),
                    'e' => out.push('\u{1b}'),
                    's' => out.push(' '),
                    '0' => out.push('\0'),
                    'u' => {
                        if let Some(braced) = rest.strip_prefix('{') {
                            let close = braced.find('}')?;
                            for hex in braced[..close].split_whitespace() {
                                out.push(hex_char(hex)?);
                            }
                            rest = &braced[close + 1..];
                        } else {
                            out.push(hex_char(rest.get(..4)?)?);
                            rest = &rest[4..];
                        }
                    }
                    'x' => {
                        let n = rest.bytes().take(2).take_while(u8::is_ascii_hexdigit).count();
                        let byte = u8::from_str_radix(rest.get(..n)?, 16).ok()?;
                        // A lone byte is only a character when it is ASCII.
                        out.push(if byte.is_ascii() { char::from(byte) } else { char::REPLACEMENT_CHARACTER });
                        rest = &rest[n..];
                    }
                    other => out.push(other),
                }
            }
            c => {
                out.push(c);
                rest = chars.as_str();
            }
        }
    }
}

fn hex_char(hex: &str) -> Option<char> {
    if hex.is_empty() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    char::from_u32(u32::from_str_radix(hex, 16).ok()?)
}

/// Body of a `'...'` literal: only `\'` and `\\` are escapes.
fn single_quoted(body: &str) -> Option<(String, &str)> {
    let mut out = String::new();
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\'' => return Some((out, &body[i + 1..])),
            '\\' => {
                let (_, e) = chars.next()?;
                if !matches!(e, '\'' | '\\') {
                    out.push('\\');
                }
                out.push(e);
            }
            c => out.push(c),
        }
    }
    None
}

/// `%q{...}` as RubyGems 1.x wrote names and versions; bracket delimiters nest.
fn percent_quoted(body: &str) -> Option<(String, &str)> {
    let open = body.chars().next()?;
    let close = match open {
        '{' => '}',
        '(' => ')',
        '[' => ']',
        '<' => '>',
        c if c.is_ascii_punctuation() => c,
        _ => return None,
    };
    let body = &body[open.len_utf8()..];
    let mut depth = 0usize;
    for (i, c) in body.char_indices() {
        if c == close && depth == 0 {
            return Some((body[..i].to_string(), &body[i + close.len_utf8()..]));
        } else if c == close {
            depth -= 1;
        } else if c == open {
            depth += 1;
        }
    }
    None
}

/// Both files are UTF-8 in practice; a stray invalid byte (a Latin-1 author name, say) should
/// not cost the whole file, so it is replaced and noted.
fn text_of<'a>(data: &'a [u8], det: &mut Detection) -> Cow<'a, str> {
    let text = String::from_utf8_lossy(data);
    if let Cow::Owned(_) = text {
        det.warnings.push("invalid UTF-8 replaced with U+FFFD".to_string());
    }
    text
}

#[cfg(test)]
// Tests panic on purpose when an expectation fails.
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const LOCK: &str = include_str!("../../tests/fixtures/ruby/Gemfile.lock");
    const RACK_SPEC: &str = include_str!("../../tests/fixtures/ruby/rack-2.2.8.gemspec");
    const NOKOGIRI_SPEC: &str = include_str!("../../tests/fixtures/ruby/nokogiri-1.15.4-x86_64-linux.gemspec");

    fn run(d: &dyn Detector, path: &str, data: &[u8]) -> Result<Detection, DetectError> {
        d.detect(&FileInput { path, mode: 0o644, data })
    }

    fn nv(d: &Detection) -> Vec<(&str, &str)> {
        d.packages.iter().map(|p| (p.name.as_str(), p.version.as_str())).collect()
    }

    #[test]
    fn gemfile_lock_reads_gem_git_and_path_specs() {
        let d = run(&GemfileLock, "/app/Gemfile.lock", LOCK.as_bytes()).unwrap();
        assert!(d.warnings.is_empty(), "{:?}", d.warnings);
        let got = nv(&d);
        assert_eq!(got.len(), 28, "{got:?}");
        // Source sections in file order: GIT, PATH, then the rubygems.org GEM section.
        assert_eq!(
            got[..4],
            [("lograge", "0.14.0"), ("billing", "0.1.0"), ("actionpack", "7.0.8"), ("actionview", "7.0.8"),]
        );
        assert_eq!(got[27], ("zeitwerk", "2.6.12"));
        // Dependency lines (6 spaces) and DEPENDENCIES/PLATFORMS entries are not packages.
        assert_eq!(got.iter().filter(|(n, _)| *n == "railties").count(), 1);
        assert!(!got.iter().any(|(n, _)| *n == "x86_64-linux" || *n == "ruby"));
        let p = &d.packages[0];
        assert_eq!(p.kind, PackageType::Gem);
        assert_eq!(p.location.path, "/app/Gemfile.lock");
        assert_eq!(crate::purl_for(p, None), "pkg:gem/lograge@0.14.0");
        // The platform is split off the version, as Bundler does.
        let noko = d.packages.iter().find(|p| p.name == "nokogiri").unwrap();
        assert_eq!(noko.arch.as_deref(), Some("x86_64-linux"));
        let pg = d.packages.iter().find(|p| p.name == "pg").unwrap();
        assert_eq!(pg.arch, None);
    }

    #[test]
    fn gemfile_lock_merges_platform_variants_of_one_release() {
        let text = "GEM\n  remote: https://rubygems.org/\n  specs:\n    nokogiri (1.15.4-aarch64-linux)\n      racc (~> 1.4)\n    nokogiri (1.15.4-x86_64-linux)\n      racc (~> 1.4)\n    nokogiri (1.15.4)\n\nPLATFORMS\n  aarch64-linux\n  x86_64-linux\n";
        let d = run(&GemfileLock, "/app/Gemfile.lock", text.as_bytes()).unwrap();
        assert_eq!(nv(&d), [("nokogiri", "1.15.4")]);
        assert_eq!(d.packages[0].arch, None);
    }

    #[test]
    fn gemfile_lock_warns_on_malformed_specs_and_keeps_the_rest() {
        let text = "GEM\r\n  remote: https://rubygems.org/\r\n  specs:\r\n    rack (2.2.8)\r\n    noversion\r\n    bad name (1.0)\r\n    open (1.0\r\n    empty ()\r\n    sp ace (1.0 beta)\r\n    ok (1.0)\r\n      rack (>= 2)\r\n\r\nDEPENDENCIES\r\n    notagem (1.0)\r\n";
        let d = run(&GemfileLock, "/app/Gemfile.lock", text.as_bytes()).unwrap();
        assert_eq!(nv(&d), [("rack", "2.2.8"), ("ok", "1.0")]);
        assert_eq!(d.warnings.len(), 5, "{:?}", d.warnings);
        assert!(d.warnings[0].starts_with("line 5:"), "{:?}", d.warnings);
    }

    #[test]
    fn gemfile_lock_survives_garbage() {
        for data in [
            &b""[..],
            b"\xff\xfe\x00GEM\n  specs:\n    x (1",
            b"GEM\n  specs:\n    \xc3(1.0)\n",
            b"    rack (1.0)\n",
            b"GEM\n    rack (1.0)\n",
        ] {
            let d = run(&GemfileLock, "/Gemfile.lock", data).unwrap();
            assert!(d.packages.is_empty(), "{data:?}: {:?}", d.packages);
        }
    }

    #[test]
    fn gemspec_reads_generated_spec() {
        let path = "/usr/local/bundle/specifications/rack-2.2.8.gemspec";
        let d = run(&Gemspec, path, RACK_SPEC.as_bytes()).unwrap();
        assert!(d.warnings.is_empty(), "{:?}", d.warnings);
        assert_eq!(nv(&d), [("rack", "2.2.8")]);
        assert_eq!(d.packages[0].licenses, ["MIT"]);
        assert_eq!(d.packages[0].arch, None);
        assert_eq!(d.packages[0].location.path, path);
    }

    #[test]
    fn gemspec_reads_platform_gem_with_frozen_version() {
        let path = "/usr/local/bundle/specifications/nokogiri-1.15.4-x86_64-linux.gemspec";
        let d = run(&Gemspec, path, NOKOGIRI_SPEC.as_bytes()).unwrap();
        assert_eq!(nv(&d), [("nokogiri", "1.15.4")]);
        assert_eq!(d.packages[0].arch.as_deref(), Some("x86_64-linux"));
        assert_eq!(d.packages[0].licenses, ["MIT"]);
    }

    #[test]
    fn gemspec_reads_old_rubygems_and_escapes() {
        let text = "Gem::Specification.new do |s|\n  s.name = %q{json}\n  s.version = \"1.8.6\"\n  s.licenses = [\"Ruby\", 'GPL-2.0']\n  s.description = \"caf\\u00E9 \\u{92f8 41} \\\"q\\\" \\#{x}\"\nend\n";
        let d = run(&Gemspec, "/x/specifications/json-1.8.6.gemspec", text.as_bytes()).unwrap();
        assert_eq!(nv(&d), [("json", "1.8.6")]);
        assert_eq!(d.packages[0].licenses, ["Ruby", "GPL-2.0"]);
        assert_eq!(
            double_quoted(r#"caf\u00E9 \u{92f8 41} \"q\" \#{x}\x41".freeze"#),
            Some(("café 鋸A \"q\" #{x}A".to_string(), ".freeze"))
        );
        assert_eq!(string_literal(" %q<a<b>c>.freeze rest"), Some(("a<b>c".to_string(), " rest")));
    }

    #[test]
    fn gemspec_single_license_and_other_receiver() {
        let text = "Gem::Specification.new do |spec|\n  spec.name = \"bcrypt\".freeze\n  spec.version = \"3.1.19\"\n  spec.license = \"MIT\".freeze\n  spec.platform = \"ruby\".freeze\nend\n";
        let d = run(&Gemspec, "/x/specifications/bcrypt-3.1.19.gemspec", text.as_bytes()).unwrap();
        assert_eq!(nv(&d), [("bcrypt", "3.1.19")]);
        assert_eq!(d.packages[0].licenses, ["MIT"]);
        assert_eq!(d.packages[0].arch, None);
    }

    #[test]
    fn gemspec_malformed() {
        let path = "/x/specifications/a-1.gemspec";
        // No literal name or version: the file is an error, which the walker reports.
        for text in [
            "",
            "s.name = Foo::NAME\ns.version = \"1\"\n",
            "s.name = \"a\"\ns.version = Foo::VERSION\n",
            "s.name = \"unterminated\ns.version = \"1\"\n",
            "s.name = \"bad name\"\ns.version = \"1\"\n",
            "s.name = \"a\"\ns.version = \"1 2\"\n",
            "s.name == \"a\"\ns.version = \"1\"\n",
            "s.name = \"\\u{zz}\"\n",
            "s.name = \"\\u12\"\n",
        ] {
            assert!(run(&Gemspec, path, text.as_bytes()).is_err(), "{text:?}");
        }
        // A bad licence list is a warning; the gem is still reported.
        let d = run(&Gemspec, path, b"s.name = \"a\"\ns.version = \"1\"\ns.licenses = [\"MIT\", LICENSE]\n").unwrap();
        assert_eq!(nv(&d), [("a", "1")]);
        assert!(d.packages[0].licenses.is_empty());
        assert_eq!(d.warnings.len(), 1);
        // Invalid UTF-8 elsewhere in the file is replaced, not fatal.
        let d = run(&Gemspec, path, b"s.name = \"a\"\ns.version = \"1\"\ns.authors = [\"\xe9\"]\n").unwrap();
        assert_eq!(nv(&d), [("a", "1")]);
        assert_eq!(d.warnings.len(), 1);
    }

    #[test]
    fn truncated_fixtures_never_panic() {
        for (d, path, text) in [
            (&GemfileLock as &dyn Detector, "/app/Gemfile.lock", LOCK),
            (&Gemspec, "/x/specifications/rack-2.2.8.gemspec", RACK_SPEC),
            (&Gemspec, "/x/specifications/n.gemspec", NOKOGIRI_SPEC),
        ] {
            for end in 0..text.len() {
                let _ = run(d, path, &text.as_bytes()[..end]);
            }
        }
    }

    #[test]
    fn mutated_fixtures_never_panic() {
        // Deterministic xorshift: sprinkle the bytes the literal parser cares about.
        const TRICKY: &[u8] = b"\"'\\u{}()[]<>%q, .=-\n\xc3\xa9\xe9";
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as usize
        };
        for (d, path, text) in [
            (&GemfileLock as &dyn Detector, "/app/Gemfile.lock", LOCK),
            (&Gemspec, "/x/specifications/rack-2.2.8.gemspec", RACK_SPEC),
            (&Gemspec, "/x/specifications/n.gemspec", NOKOGIRI_SPEC),
        ] {
            for _ in 0..300 {
                let mut data = text.as_bytes().to_vec();
                for _ in 0..1 + next() % 8 {
                    let at = next() % data.len();
                    data[at] = TRICKY[next() % TRICKY.len()];
                }
                let _ = run(d, path, &data);
            }
        }
    }

    #[test]
    fn matching() {
        assert!(GemfileLock.matches("/app/Gemfile.lock", 0o644));
        assert!(GemfileLock.matches("/srv/gems.locked", 0o644));
        assert!(!GemfileLock.matches("/app/Gemfile", 0o644));
        assert!(!GemfileLock.matches("/app/Gemfile.lock.bak", 0o644));
        assert!(Gemspec.matches("/usr/local/lib/ruby/gems/3.2.0/specifications/rack-2.2.8.gemspec", 0o644));
        assert!(Gemspec.matches("/usr/local/lib/ruby/gems/3.2.0/specifications/default/json-2.6.3.gemspec", 0o644));
        assert!(Gemspec.matches("/app/vendor/bundle/ruby/3.2.0/specifications/puma-6.4.0.gemspec", 0o644));
        assert!(!Gemspec.matches("/usr/local/bundle/gems/rack-2.2.8/rack.gemspec", 0o644));
        assert!(!Gemspec.matches("/app/specifications/x/y.gemspec", 0o644));
        assert!(!Gemspec.matches("/specifications/x.gemspec.orig", 0o644));
        assert!(!Gemspec.matches("specifications/", 0o644));
    }
}
