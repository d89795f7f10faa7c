//! Digit-string comparison shared by the language schemes: registries accept numbers wider than
//! any machine integer (date stamps, CI build counters), so they are ordered as decimal strings.

use std::cmp::Ordering;

/// Orders two ASCII digit strings by numeric value, ignoring leading zeros, at any length.
pub(crate) fn cmp_decimal(a: &str, b: &str) -> Ordering {
    let a = a.trim_start_matches('0');
    let b = b.trim_start_matches('0');
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// True for a non-empty run of ASCII digits.
pub(crate) fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compares_by_value_not_text() {
        assert_eq!(cmp_decimal("10", "9"), Ordering::Greater);
        assert_eq!(cmp_decimal("007", "7"), Ordering::Equal);
        assert_eq!(cmp_decimal("0", "000"), Ordering::Equal);
        assert_eq!(cmp_decimal("", "0"), Ordering::Equal);
        assert_eq!(cmp_decimal("123456789012345678901234567890", "123456789012345678901234567891"), Ordering::Less);
    }
}
