//! Maven: `org.apache.maven.artifact.versioning.ComparableVersion` (the Maven 3.9 / 4 rules, with
//! combination items such as `rc1`).
//!
//! A version is split on `.`, `-` and digit/letter transitions into items: numbers, qualifiers and
//! nested lists (a list starts at a `-` or at a digit/letter transition, so `1.0-rc-1` is
//! `[1, [rc, 1]]`). Qualifiers order as alpha(a) < beta(b) < milestone(m) < rc(cr) < snapshot <
//! release ("", ga, final, release) < sp < any other text (lexical); trailing zeros and release
//! qualifiers are trimmed. Every string is a Maven version; the only error is a non-ASCII digit,
//! where Java's `Character.isDigit` and `Integer.parseInt` behave in ways not worth mimicking.
//!
//! Like Maven's, this order is not transitive on some odd strings: `"" < "x1.0.0" < ".0rc1"`, yet
//! `"" > ".0rc1"` (an empty version against a list that starts with a pre-release qualifier).
//! Real release strings do not meet this, but sorting arbitrary input with it can misbehave.
//!
//! Each nested list is always the last element of its parent, so the tree is stored as a chain of
//! levels and compared without recursion: hostile input such as `a1a1a1…` nests once per pair.

use std::cmp::Ordering;

use crate::decimal::cmp_decimal;
use crate::{VersionError, VersionScheme};

/// Maven's `ComparableVersion`.
pub struct Maven;

const NAME: &str = "maven";

impl VersionScheme for Maven {
    fn name(&self) -> &'static str {
        NAME
    }

    fn compare(&self, a: &str, b: &str) -> Result<Ordering, VersionError> {
        let pa = parse(a)?;
        let pb = parse(b)?;
        Ok(cmp_levels(&pa, &pb))
    }

    fn valid(&self, v: &str) -> bool {
        parse(v).is_ok()
    }
}

/// Java's IntItem, LongItem and BigIntegerItem: the kind comes from the digit count, and a shorter
/// kind always sorts first (`IntItem.compareTo(LongItem) == -1`).
#[derive(Debug, Clone)]
struct Num {
    kind: u8,
    digits: String,
}

impl Num {
    fn zero() -> Self {
        Num { kind: 0, digits: "0".to_owned() }
    }

    /// `parseItem(.., isDigit = true, buf)` with `stripLeadingZeroes`, whose all-zero case keeps
    /// the whole string (so nineteen zeros make a BigIntegerItem 0).
    fn parse(buf: &str) -> Self {
        let stripped = match buf.find(|c| c != '0') {
            Some(i) => &buf[i..],
            None if buf.is_empty() => "0",
            None => buf,
        };
        let kind = match stripped.len() {
            0..=9 => 0,
            10..=18 => 1,
            _ => 2,
        };
        Num { kind, digits: stripped.to_owned() }
    }

    fn is_zero(&self) -> bool {
        self.digits.bytes().all(|b| b == b'0')
    }

    fn cmp(&self, other: &Num) -> Ordering {
        self.kind.cmp(&other.kind).then_with(|| cmp_decimal(&self.digits, &other.digits))
    }
}

/// `StringItem.comparableQualifier`: known qualifiers by rank, others after them by text.
/// Java builds `"7-" + qualifier` and compares strings; an enum says the same without allocation.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Qualifier {
    /// Index in `alpha, beta, milestone, rc, snapshot, "", sp`; ga/final/release rank as "".
    Known(u8),
    /// Unknown text, as UTF-16 units because Java compares strings by them.
    Other(Vec<u16>),
}

/// Rank of the empty qualifier: the release itself.
const RELEASE: Qualifier = Qualifier::Known(5);

impl Qualifier {
    /// `new StringItem(value, followedByDigit)`.
    fn new(value: &str, followed_by_digit: bool) -> Self {
        let value = match value {
            "a" if followed_by_digit => "alpha",
            "b" if followed_by_digit => "beta",
            "m" if followed_by_digit => "milestone",
            "cr" => "rc",
            other => other,
        };
        match value {
            "alpha" => Qualifier::Known(0),
            "beta" => Qualifier::Known(1),
            "milestone" => Qualifier::Known(2),
            "rc" => Qualifier::Known(3),
            "snapshot" => Qualifier::Known(4),
            "" | "ga" | "final" | "release" => RELEASE,
            "sp" => Qualifier::Known(6),
            other => Qualifier::Other(other.encode_utf16().collect()),
        }
    }
}

#[derive(Debug, Clone)]
enum Item {
    Num(Num),
    /// A StringItem; `empty` is Java's `isNull` (the text was ""), which trimming needs.
    Str {
        q: Qualifier,
        empty: bool,
    },
    /// CombinationItem: a qualifier immediately followed by a number (`rc1`, `alpha-2`).
    Comb(Qualifier, Num),
    /// The nested list: always the last item of its level, its content is the next level.
    List,
}

/// Levels of the version tree: `levels[k]` ends with `Item::List` exactly when `levels[k + 1]` exists.
type Levels = Vec<Vec<Item>>;

fn parse(input: &str) -> Result<Levels, VersionError> {
    if input.chars().any(|c| !c.is_ascii() && c.is_numeric()) {
        return Err(VersionError::new(NAME, input, "non-ASCII digits are not supported"));
    }
    let v = input.to_lowercase();
    let mut levels: Levels = vec![Vec::new()];
    // Java's `list.add(list = new ListItem())`: the new list becomes the current (last) level.
    fn open(levels: &mut Levels) {
        if let Some(last) = levels.last_mut() {
            last.push(Item::List);
        }
        levels.push(Vec::new());
    }
    fn add(levels: &mut Levels, item: Item) {
        if let Some(last) = levels.last_mut() {
            last.push(item);
        }
    }
    fn current_empty(levels: &Levels) -> bool {
        levels.last().is_none_or(Vec::is_empty)
    }

    let chars: Vec<(usize, char)> = v.char_indices().collect();
    let mut is_digit = false;
    let mut is_combination = false;
    let mut start = 0;
    for (idx, &(i, c)) in chars.iter().enumerate() {
        if c == '.' {
            let item = if i == start {
                Item::Num(Num::zero())
            } else {
                parse_item(input, is_combination, is_digit, &v[start..i])?
            };
            add(&mut levels, item);
            is_combination = false;
            start = i + 1;
        } else if c == '-' {
            if i == start {
                add(&mut levels, Item::Num(Num::zero()));
            } else {
                // `X-1` is read as the combination `X1`.
                if !is_digit && chars.get(idx + 1).is_some_and(|&(_, n)| n.is_ascii_digit()) {
                    is_combination = true;
                    continue;
                }
                let item = parse_item(input, is_combination, is_digit, &v[start..i])?;
                add(&mut levels, item);
            }
            start = i + 1;
            if !current_empty(&levels) {
                open(&mut levels);
            }
            is_combination = false;
        } else if c.is_ascii_digit() {
            if !is_digit && i > start {
                // Letters then digits: a combination item in a new list.
                is_combination = true;
                if !current_empty(&levels) {
                    open(&mut levels);
                }
            }
            is_digit = true;
        } else {
            if is_digit && i > start {
                let item = parse_item(input, is_combination, true, &v[start..i])?;
                add(&mut levels, item);
                start = i;
                open(&mut levels);
                is_combination = false;
            }
            is_digit = false;
        }
    }
    if v.len() > start {
        // A trailing qualifier gets its own list, so `1.0.0.X1 < 1.0.0-X2` and `2.0.X == 2-X`.
        if !is_digit && !current_empty(&levels) {
            open(&mut levels);
        }
        let item = parse_item(input, is_combination, is_digit, &v[start..])?;
        add(&mut levels, item);
    }
    normalize(&mut levels);
    Ok(levels)
}

fn parse_item(input: &str, is_combination: bool, is_digit: bool, buf: &str) -> Result<Item, VersionError> {
    if is_combination {
        let buf = buf.replace('-', "");
        let split = buf.find(|c: char| c.is_ascii_digit()).unwrap_or(0);
        let (text, digits) = buf.split_at(split);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            // Java's Integer.parseInt would throw here.
            return Err(VersionError::new(NAME, input, "malformed qualifier/number combination"));
        }
        Ok(Item::Comb(Qualifier::new(text, true), Num::parse(digits)))
    } else if is_digit {
        Ok(Item::Num(Num::parse(buf)))
    } else {
        Ok(Item::Str { q: Qualifier::new(buf, false), empty: buf.is_empty() })
    }
}

/// `ListItem.normalize`, innermost list first: drop null items (0, "", empty list) at the end of a
/// list or before a qualifier, and before a nested list that starts with a qualifier.
fn normalize(levels: &mut Levels) {
    for k in (0..levels.len()).rev() {
        let (head, tail) = levels.split_at_mut(k + 1);
        let Some(list) = head.last_mut() else { continue };
        let next = tail.first();
        let next_is_empty = next.is_none_or(Vec::is_empty);
        let next_starts_with_text =
            next.and_then(|l| l.first()).is_some_and(|i| matches!(i, Item::Str { .. } | Item::Comb(..)));
        // Java removes in place from the end; a keep-mask gives the same result in linear time,
        // which matters for hostile input like `0.a.0.a.…`.
        let mut keep = vec![true; list.len()];
        let mut next: Option<&Item> = None;
        for (i, item) in list.iter().enumerate().rev() {
            let null = match item {
                Item::Num(n) => n.is_zero(),
                Item::Str { empty, .. } => *empty,
                Item::Comb(..) => false,
                Item::List => next_is_empty,
            };
            let remove = null
                && match next {
                    None | Some(Item::Str { .. }) => true,
                    Some(Item::List) => next_starts_with_text,
                    Some(_) => false,
                };
            if remove {
                keep[i] = false;
            } else {
                next = Some(item);
            }
        }
        let mut flags = keep.into_iter();
        list.retain(|_| flags.next().unwrap_or(true));
        if !matches!(list.last(), Some(Item::List)) {
            levels.truncate(k + 1);
        }
    }
}

/// `Item.compareTo(null)` for a non-list item: how it compares with padding.
fn cmp_null(item: &Item) -> Ordering {
    match item {
        Item::Num(n) if n.is_zero() => Ordering::Equal,
        Item::Num(_) => Ordering::Greater,
        Item::Str { q, .. } | Item::Comb(q, _) => q.cmp(&RELEASE),
        // Lists are walked by the caller.
        Item::List => Ordering::Equal,
    }
}

/// `left.compareTo(right)` for two items that are not both lists.
fn cmp_items(left: &Item, right: &Item) -> Ordering {
    use Item::*;
    match (left, right) {
        (Num(a), Num(b)) => a.cmp(b),
        (Num(_), _) => Ordering::Greater,
        (_, Num(_)) => Ordering::Less,
        (Str { q: a, .. }, Str { q: b, .. }) => a.cmp(b),
        // `X1 > X`: a combination outranks its bare qualifier.
        (Str { q: a, .. }, Comb(b, _)) => a.cmp(b).then(Ordering::Less),
        (Comb(a, _), Str { q: b, .. }) => a.cmp(b).then(Ordering::Greater),
        (Comb(a, x), Comb(b, y)) => a.cmp(b).then_with(|| x.cmp(y)),
        // `1-1 > 1-sp`, `1-1 > 1-rc1`.
        (List, Str { .. } | Comb(..)) => Ordering::Greater,
        (Str { .. } | Comb(..), List) => Ordering::Less,
        (List, List) => Ordering::Equal,
    }
}

/// `ListItem.compareTo(null)` from position `i` of level `k` on, following nested lists.
fn cmp_rest_with_null(levels: &Levels, mut k: usize, mut i: usize) -> Ordering {
    while let Some(level) = levels.get(k) {
        for item in &level[i.min(level.len())..] {
            if matches!(item, Item::List) {
                break;
            }
            let ord = cmp_null(item);
            if ord != Ordering::Equal {
                return ord;
            }
        }
        if !matches!(level.last(), Some(Item::List)) || i >= level.len() {
            return Ordering::Equal;
        }
        k += 1;
        i = 0;
    }
    Ordering::Equal
}

fn cmp_levels(a: &Levels, b: &Levels) -> Ordering {
    let (mut ka, mut kb) = (0, 0);
    'level: loop {
        let (la, lb) = match (a.get(ka), b.get(kb)) {
            (Some(la), Some(lb)) => (la, lb),
            // A missing level is an empty list, which equals an empty list.
            (Some(_), None) => return cmp_rest_with_null(a, ka, 0),
            (None, Some(_)) => return cmp_rest_with_null(b, kb, 0).reverse(),
            (None, None) => return Ordering::Equal,
        };
        for i in 0..la.len().max(lb.len()) {
            let ord = match (la.get(i), lb.get(i)) {
                (Some(Item::List), Some(Item::List)) => {
                    ka += 1;
                    kb += 1;
                    continue 'level;
                }
                (Some(x), Some(y)) => cmp_items(x, y),
                (Some(_), None) => cmp_rest_with_null(a, ka, i),
                (None, Some(_)) => cmp_rest_with_null(b, kb, i).reverse(),
                (None, None) => Ordering::Equal,
            };
            if ord != Ordering::Equal {
                return ord;
            }
            if la.get(i).is_none() || lb.get(i).is_none() {
                // The rest of the longer list was already walked against null.
                return Ordering::Equal;
            }
        }
        return Ordering::Equal;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(a: &str, b: &str) -> Ordering {
        Maven.compare(a, b).unwrap()
    }

    #[test]
    fn deep_nesting_does_not_recurse() {
        let deep = "a1".repeat(200_000);
        assert_eq!(cmp(&deep, &deep), Ordering::Equal);
        assert_eq!(cmp(&deep, "1"), Ordering::Less);
    }

    #[test]
    fn reproduces_mavens_intransitive_corner() {
        // Java: "" vs "x1.0.0" is -1, "x1.0.0" vs ".0rc1" is -1, "" vs ".0rc1" is +1.
        assert_eq!(cmp("", "x1.0.0"), Ordering::Less);
        assert_eq!(cmp("x1.0.0", ".0rc1"), Ordering::Less);
        assert_eq!(cmp("", ".0rc1"), Ordering::Greater);
    }

    #[test]
    fn trailing_zeros_and_release_qualifiers_trim() {
        assert_eq!(cmp("1.0.0", "1"), Ordering::Equal);
        assert_eq!(cmp("1-0", "1"), Ordering::Equal);
        assert_eq!(cmp("1.ga", "1"), Ordering::Equal);
        assert_eq!(cmp("", "0"), Ordering::Equal);
    }
}
