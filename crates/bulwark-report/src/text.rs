//! Making untrusted strings (names, versions, titles from the image and the database) safe
//! and short enough for a terminal.

/// `s` with no control characters: line breaks and tabs become one space, and the rest (ANSI
/// escapes' ESC, C1 controls such as CSI, NUL…) and Unicode's bidirectional overrides, which
/// can make a terminal show text in another order than it is, are dropped. Runs of spaces
/// collapse to one; ends are trimmed.
pub(crate) fn clean(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut space = false;
    for c in s.chars() {
        let c = match c {
            '\n' | '\r' | '\t' | '\u{b}' | '\u{c}' | '\u{85}' | '\u{2028}' | '\u{2029}' => ' ',
            c if c.is_control() || is_bidi_control(c) => continue,
            c => c,
        };
        if c == ' ' {
            space = true;
            continue;
        }
        if space && !out.is_empty() {
            out.push(' ');
        }
        space = false;
        out.push(c);
    }
    out
}

fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Width in columns, counted in chars: close enough for the Latin text of advisories.
pub(crate) fn width(s: &str) -> usize {
    s.chars().count()
}

/// `s` cut to at most `max` columns, ending in `…` when cut.
pub(crate) fn cut(s: &str, max: usize) -> String {
    if width(s) <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// `s` broken into lines of at most `max` columns, at spaces where it can; no more than
/// `lines` lines, the last ending in `…` when something was left out.
pub(crate) fn wrap(s: &str, max: usize, lines: usize) -> Vec<String> {
    let max = max.max(1);
    let mut out = Vec::new();
    let mut rest: Vec<char> = s.chars().collect();
    while !rest.is_empty() && out.len() < lines {
        if rest.len() <= max {
            out.push(rest.iter().collect());
            rest.clear();
            break;
        }
        // Break after the last space that fits, else mid-word.
        let at = rest[..=max].iter().rposition(|&c| c == ' ').filter(|&i| i > 0).unwrap_or(max);
        out.push(rest[..at].iter().collect::<String>().trim_end().to_string());
        let skip = rest[at..].iter().take_while(|&&c| c == ' ').count();
        rest.drain(..at + skip);
    }
    if !rest.is_empty() {
        if let Some(last) = out.last_mut() {
            *last = cut(&format!("{last}…"), max);
            if !last.ends_with('…') {
                last.push('…');
            }
        }
    }
    if out.is_empty() {
        out.push(String::new());
    }
    out
}

/// Markdown-safe text for a table cell or a line of SARIF help: control characters gone and
/// the characters Markdown acts on escaped, so a title cannot become a link or break the table.
pub(crate) fn markdown(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in clean(s).chars() {
        if matches!(c, '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '#' | '!' | '(' | ')') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_drops_escapes_and_joins_lines() {
        assert_eq!(clean("a\u{1b}[31mred\u{1b}[0m\r\n\tb  c "), "a[31mred[0m b c");
        assert_eq!(clean("x\u{9b}2Jy\u{0}z\u{7f}"), "x2Jyz");
        assert_eq!(clean("\u{202e}evil\u{2066}"), "evil");
        assert_eq!(clean("\n\n"), "");
        assert_eq!(clean("ünïcode ok"), "ünïcode ok");
    }

    #[test]
    fn cut_and_wrap() {
        assert_eq!(cut("abcdef", 4), "abc…");
        assert_eq!(cut("abcd", 4), "abcd");
        assert_eq!(wrap("short", 10, 3), ["short"]);
        assert_eq!(wrap("one two three four", 9, 3), ["one two", "three", "four"]);
        assert_eq!(wrap("abcdefghij", 4, 2), ["abcd", "efg…"]);
        assert_eq!(wrap("", 4, 2), [""]);
        let long = "x".repeat(1 << 20);
        let w = wrap(&long, 20, 3);
        assert_eq!(w.len(), 3);
        assert!(w.iter().all(|l| width(l) <= 20));
    }

    #[test]
    fn markdown_escapes() {
        assert_eq!(markdown("[x](javascript:1) | <b>\n"), r"\[x\]\(javascript:1\) \| \<b\>");
    }
}
