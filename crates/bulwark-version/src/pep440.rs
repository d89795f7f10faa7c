//! PyPI: PEP 440 ordering, parsed and ordered by the `pep440_rs` crate (the parser `uv` uses).
//!
//! That covers epochs (`1!2.0`), release segments with implicit zero padding (`1.0 == 1.0.0`),
//! pre-releases and their spellings (`a`/`alpha`, `b`/`beta`, `rc`/`c`/`pre`/`preview`), post
//! releases (`.post1`, `-1`, `rev1`, `r1`), dev releases, local versions (`+ubuntu.1`),
//! normalisation (`v` prefix, `-`/`_`/`.` separators, leading zeros) and case-insensitivity.
//!
//! Two gaps in the crate are handled or noted here: it trims only ASCII whitespace, so the input
//! is trimmed first the way Python's `str.strip` does; and it stores numbers as `u64`, so a
//! segment above 2^64-1 (valid for Python's integers) is an error here.

use std::cmp::Ordering;
use std::str::FromStr;

use pep440_rs::Version;

use crate::{VersionError, VersionScheme};

/// PEP 440.
pub struct Pep440;

const NAME: &str = "pep440";

impl VersionScheme for Pep440 {
    fn name(&self) -> &'static str {
        NAME
    }

    fn compare(&self, a: &str, b: &str) -> Result<Ordering, VersionError> {
        Ok(parse(a)?.cmp(&parse(b)?))
    }

    fn valid(&self, v: &str) -> bool {
        parse(v).is_ok()
    }
}

/// Python's `str.isspace`: Unicode whitespace plus the ASCII information separators 0x1C–0x1F.
fn python_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// The crate's messages quote the whole input; keep them as short as [`VersionError`] keeps it.
const MAX_REASON: usize = 200;

fn parse(input: &str) -> Result<Version, VersionError> {
    Version::from_str(input.trim_matches(python_space)).map_err(|e| {
        let mut reason = e.to_string();
        if reason.len() > MAX_REASON {
            let mut end = MAX_REASON;
            while !reason.is_char_boundary(end) {
                end -= 1;
            }
            reason.truncate(end);
            reason.push('…');
        }
        VersionError::new(NAME, input, reason)
    })
}
