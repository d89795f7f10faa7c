//! `validate.pattern`: Kyverno's anchors and value operators, as pkg/engine/validate,
//! pkg/engine/anchor and pkg/engine/pattern evaluate them.

use serde_json::Value;

/// The anchors of a pattern key: `(k)`, `<(k)`, `^(k)`, `=(k)`, `X(k)`, `+(k)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Anchor {
    Condition,
    Global,
    Existence,
    Equality,
    Negation,
    AddIfNotPresent,
}

/// The anchor of a key and the key inside it (Kyverno: `^([+<=X^])?\((.+)\)$`).
pub fn parse_anchor(key: &str) -> Option<(Anchor, &str)> {
    let (anchor, rest) = match key.as_bytes().first()? {
        b'(' => (Anchor::Condition, key),
        b'<' => (Anchor::Global, &key[1..]),
        b'^' => (Anchor::Existence, &key[1..]),
        b'=' => (Anchor::Equality, &key[1..]),
        b'X' => (Anchor::Negation, &key[1..]),
        b'+' => (Anchor::AddIfNotPresent, &key[1..]),
        _ => return None,
    };
    let inner = rest.strip_prefix('(')?.strip_suffix(')')?;
    (!inner.is_empty()).then_some((anchor, inner))
}

/// Why a pattern did not hold, with the kind of failure: conditional and global anchor
/// mismatches make the rule skip, the others make it fail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mismatch {
    pub kind: MismatchKind,
    pub path: String,
    pub message: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MismatchKind {
    Conditional,
    Global,
    Negation,
    /// Every element of an array skipped (Kyverno's `PatternError{Skip: true}`).
    Skip,
    Plain,
}

impl Mismatch {
    fn plain(path: &str, message: String) -> Self {
        Mismatch { kind: MismatchKind::Plain, path: path.to_string(), message }
    }
    /// Kyverno's `skip(err)`: the rule does not apply.
    pub fn is_skip(&self) -> bool {
        matches!(self.kind, MismatchKind::Conditional | MismatchKind::Global | MismatchKind::Skip)
    }
}

/// How deep a pattern may recurse (a pattern is a policy: hostile input too).
const MAX_DEPTH: usize = 200;

/// The result of matching a whole resource against a pattern (Kyverno's `MatchPattern`):
/// `Ok` it holds; `Err(m)` with `m.is_skip()` the rule does not apply; else it fails at
/// `m.path` (empty when a missing anchor key is to blame).
pub fn match_pattern(resource: &Value, pattern: &Value) -> Result<(), Mismatch> {
    let mut anchors = AnchorMap::new();
    match element(resource, pattern, "/", 0, &mut anchors) {
        Ok(()) => Ok(()),
        Err(m) if m.is_skip() => Err(Mismatch { path: String::new(), ..m }),
        Err(m) if m.kind == MismatchKind::Negation => Err(m),
        // An anchor of the pattern that the resource never had: Kyverno reports no path
        // (and the rule is then an error, not a failure).
        Err(m) if anchors.values().any(|found| !found) => Err(Mismatch { path: String::new(), ..m }),
        Err(m) => Err(m),
    }
}

/// Kyverno's AnchorMap: for each condition, existence and negation key, whether the resource
/// had it anywhere.
type AnchorMap = std::collections::HashMap<String, bool>;

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "<nil>",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float64",
        Value::Number(_) => "int64",
        Value::String(_) => "string",
        Value::Array(_) => "[]interface {}",
        Value::Object(_) => "map[string]interface {}",
    }
}

/// Go's `%v` of a value, for messages.
pub fn go_fmt(v: &Value) -> String {
    match v {
        Value::Null => "<nil>".into(),
        Value::String(s) => s.clone(),
        Value::Array(a) => format!("[{}]", a.iter().map(go_fmt).collect::<Vec<_>>().join(" ")),
        Value::Object(o) => {
            format!("map[{}]", o.iter().map(|(k, v)| format!("{k}:{}", go_fmt(v))).collect::<Vec<_>>().join(" "))
        }
        other => other.to_string(),
    }
}

fn element(resource: &Value, pattern: &Value, path: &str, depth: usize, ae: &mut AnchorMap) -> Result<(), Mismatch> {
    if depth > MAX_DEPTH {
        return Err(Mismatch::plain(path, format!("pattern nested deeper than {MAX_DEPTH} levels")));
    }
    match pattern {
        Value::Object(p) => {
            let Value::Object(r) = resource else {
                return Err(Mismatch::plain(
                    path,
                    format!(
                        "pattern and resource have different structures. Path: {path}. Expected {}, found {}",
                        type_name(pattern),
                        type_name(resource)
                    ),
                ));
            };
            // Kyverno's AnchorMap.CheckAnchorInResource: whether each condition, existence and
            // negation key of the pattern was ever found in the resource.
            for k in p.keys() {
                if let Some((a, key)) = parse_anchor(k) {
                    if matches!(a, Anchor::Condition | Anchor::Existence | Anchor::Negation) {
                        let found = ae.entry(k.clone()).or_insert(false);
                        *found = *found || r.contains_key(key);
                    }
                }
            }
            map(r, p, path, depth, ae)
        }
        Value::Array(p) => {
            let Value::Array(r) = resource else {
                return Err(Mismatch::plain(
                    path,
                    format!(
                        "validation rule failed at path {path}, resource does not satisfy the expected overlay pattern"
                    ),
                ));
            };
            array(r, p, path, depth, ae)
        }
        _ => {
            let ok = match resource {
                Value::Array(items) => items.iter().all(|v| value_matches(v, pattern)),
                _ => value_matches(resource, pattern),
            };
            if ok {
                Ok(())
            } else {
                Err(Mismatch::plain(
                    path,
                    format!(
                        "resource value '{}' does not match '{}' at path {path}",
                        go_fmt(resource),
                        go_fmt(pattern)
                    ),
                ))
            }
        }
    }
}

fn map(
    r: &serde_json::Map<String, Value>,
    p: &serde_json::Map<String, Value>,
    path: &str,
    depth: usize,
    ae: &mut AnchorMap,
) -> Result<(), Mismatch> {
    let expanded = expand_metadata_wildcards(p, r);
    let p = expanded.as_ref().unwrap_or(p);
    // Anchors first (conditions, existence, equality, negation), then the other keys with
    // the keys holding nested anchors first (Kyverno's getSortedNestedAnchorResource).
    let mut anchors = Vec::new();
    let mut plain = Vec::new();
    for (k, v) in p {
        match parse_anchor(k) {
            Some((a, key))
                if matches!(a, Anchor::Condition | Anchor::Existence | Anchor::Equality | Anchor::Negation) =>
            {
                anchors.push((a, key, v))
            }
            _ => plain.push((k.as_str(), v)),
        }
    }
    // Conditions are evaluated before the checks that they guard.
    anchors.sort_by_key(|(a, key, _)| (*a != Anchor::Condition, *key));
    for (a, key, v) in anchors {
        handle(Some(a), key, v, r, path, depth, ae)?;
    }
    // Kyverno's getSortedNestedAnchorResource: keys in order, those with anchors inside (and
    // global anchors) pushed to the front.
    plain.sort_by_key(|(k, _)| *k);
    let mut ordered = std::collections::VecDeque::with_capacity(plain.len());
    for (k, v) in plain {
        if matches!(parse_anchor(k), Some((Anchor::Global, _))) || has_nested_anchor(v) {
            ordered.push_front((k, v));
        } else {
            ordered.push_back((k, v));
        }
    }
    for (k, v) in ordered {
        match parse_anchor(k) {
            Some((a @ Anchor::Global, key)) => handle(Some(a), key, v, r, path, depth, ae)?,
            Some((Anchor::AddIfNotPresent, _)) => {
                return Err(Mismatch::plain(path, format!("the anchor {k} is for mutate rules only")));
            }
            _ => handle(None, k, v, r, path, depth, ae)?,
        }
    }
    Ok(())
}

/// Whether a value holds an anchored key somewhere (Kyverno sorts those keys first).
fn has_nested_anchor(v: &Value) -> bool {
    match v {
        Value::Object(o) => o.iter().any(|(k, v)| parse_anchor(k).is_some() || has_nested_anchor(v)),
        Value::Array(a) => a.iter().any(has_nested_anchor),
        _ => false,
    }
}

fn handle(
    anchor: Option<Anchor>,
    key: &str,
    pattern: &Value,
    r: &serde_json::Map<String, Value>,
    path: &str,
    depth: usize,
    ae: &mut AnchorMap,
) -> Result<(), Mismatch> {
    let current = format!("{path}{key}/");
    let value = r.get(key);
    match anchor {
        None => {
            if pattern.as_str() == Some("*") {
                return match value {
                    Some(v) if !v.is_null() => Ok(()),
                    _ => Err(Mismatch::plain(path, format!("{path}/{key} not found"))),
                };
            }
            element(value.unwrap_or(&Value::Null), pattern, &current, depth + 1, ae)
        }
        Some(Anchor::Negation) => match value {
            Some(_) => Err(Mismatch {
                kind: MismatchKind::Negation,
                path: current.clone(),
                message: format!("negation anchor matched in resource: {current} is not allowed"),
            }),
            None => Ok(()),
        },
        Some(Anchor::Equality) => match value {
            Some(v) => element(v, pattern, &current, depth + 1, ae),
            None => Ok(()),
        },
        Some(Anchor::Condition) => match value {
            Some(v) => element(v, pattern, &current, depth + 1, ae).map_err(|m| Mismatch {
                kind: MismatchKind::Conditional,
                path: m.path,
                message: format!("conditional anchor mismatch: {}", m.message),
            }),
            None => Err(Mismatch {
                kind: MismatchKind::Conditional,
                path: current,
                message: "conditional anchor mismatch: conditional anchor key doesn't exist in the resource".into(),
            }),
        },
        Some(Anchor::Global) => match value {
            Some(v) => element(v, pattern, &current, depth + 1, ae).map_err(|m| Mismatch {
                kind: MismatchKind::Global,
                path: m.path,
                message: format!("global anchor mismatch: {}", m.message),
            }),
            None => Ok(()),
        },
        Some(Anchor::Existence) => {
            let Some(v) = value else { return Ok(()) };
            let Value::Array(items) = v else {
                return Err(Mismatch::plain(
                    &current,
                    format!(
                        "invalid resource type {}: Existence ^ () anchor can be used only on list/array type resource",
                        type_name(v)
                    ),
                ));
            };
            let Value::Array(patterns) = pattern else {
                return Err(Mismatch::plain(
                    &current,
                    format!(
                        "invalid pattern type {}: Pattern has to be of list to compare against resource",
                        type_name(pattern)
                    ),
                ));
            };
            for p in patterns {
                if !p.is_object() {
                    return Err(Mismatch::plain(
                        &current,
                        format!(
                            "invalid pattern type {}: Pattern has to be of type map to compare against items in resource",
                            type_name(pattern)
                        ),
                    ));
                }
                let found = items
                    .iter()
                    .enumerate()
                    .any(|(i, item)| element(item, p, &format!("{current}{i}/"), depth + 1, ae).is_ok());
                if !found {
                    return Err(Mismatch::plain(
                        &current,
                        format!("existence anchor validation failed at path {current}"),
                    ));
                }
            }
            Ok(())
        }
        Some(Anchor::AddIfNotPresent) => {
            Err(Mismatch::plain(path, format!("the anchor +({key}) is for mutate rules only")))
        }
    }
}

fn array(r: &[Value], p: &[Value], path: &str, depth: usize, ae: &mut AnchorMap) -> Result<(), Mismatch> {
    let Some(first) = p.first() else {
        return Err(Mismatch::plain(path, "pattern Array empty".into()));
    };
    match first {
        Value::Object(_) => {
            let mut applied = 0;
            let mut skipped = Vec::new();
            for (i, item) in r.iter().enumerate() {
                match element(item, first, &format!("{path}{i}/"), depth + 1, ae) {
                    Ok(()) => applied += 1,
                    Err(m) if m.is_skip() => skipped.push(m.message),
                    Err(m) => return Err(m),
                }
            }
            if applied == 0 && !skipped.is_empty() {
                return Err(Mismatch { kind: MismatchKind::Skip, path: path.to_string(), message: skipped.join("; ") });
            }
            Ok(())
        }
        Value::Array(_) => {
            if r.len() < p.len() {
                return Err(Mismatch::plain(
                    "",
                    format!(
                        "validate Array failed, array length mismatch, resource Array len is {} and pattern Array len is {}",
                        r.len(),
                        p.len()
                    ),
                ));
            }
            let mut applied = 0;
            let mut skipped = Vec::new();
            for (i, pe) in p.iter().enumerate() {
                match element(&r[i], pe, &format!("{path}{i}/"), depth + 1, ae) {
                    Ok(()) => applied += 1,
                    Err(m) if m.is_skip() => skipped.push(m.message),
                    Err(m) => return Err(m),
                }
            }
            if applied == 0 && !skipped.is_empty() {
                return Err(Mismatch { kind: MismatchKind::Skip, path: path.to_string(), message: skipped.join("; ") });
            }
            Ok(())
        }
        // A scalar pattern in a list: every element of the resource's list must match it.
        _ => element(&Value::Array(r.to_vec()), first, path, depth + 1, ae),
    }
}

/// The key of `tag` in a pattern map, plain or anchored (`=(annotations)`).
fn pattern_key<'a>(tag: &str, m: &'a serde_json::Map<String, Value>) -> Option<&'a String> {
    m.keys().find(|k| k.as_str() == tag || parse_anchor(k).is_some_and(|(_, inner)| inner == tag))
}

/// Kyverno's `wildcards.ExpandInMetadata`: wildcard keys under `labels` and `annotations` of a
/// pattern's `metadata` stand for the resource's keys that they match (anchors kept). Kyverno
/// takes one matching key in Go's map order; every matching key is taken here, so that the
/// result does not depend on an order.
fn expand_metadata_wildcards(
    p: &serde_json::Map<String, Value>,
    r: &serde_json::Map<String, Value>,
) -> Option<serde_json::Map<String, Value>> {
    let meta_key = pattern_key("metadata", p)?;
    let Value::Object(meta) = &p[meta_key] else { return None };
    let rmeta = r.get("metadata").and_then(Value::as_object)?;
    let mut changed = false;
    let mut new_meta = meta.clone();
    for field in ["labels", "annotations"] {
        let Some(field_key) = pattern_key(field, meta) else { continue };
        let Value::Object(pm) = &meta[field_key] else { continue };
        if !pm.keys().any(|k| k.contains('*') || k.contains('?')) {
            continue;
        }
        let Some(rm) = rmeta.get(field).and_then(Value::as_object) else { continue };
        let mut out = serde_json::Map::new();
        for (k, v) in pm {
            if !(k.contains('*') || k.contains('?')) {
                out.insert(k.clone(), v.clone());
                continue;
            }
            let (prefix, bare) = match parse_anchor(k) {
                Some((_, inner)) => (&k[..k.len() - inner.len() - 1], inner),
                None => ("", k.as_str()),
            };
            let matched: Vec<&String> = rm.keys().filter(|rk| wildcard_match(bare, rk)).collect();
            if matched.is_empty() {
                out.insert(k.clone(), v.clone());
            }
            for rk in matched {
                let key = if prefix.is_empty() { rk.clone() } else { format!("{prefix}{rk})") };
                out.insert(key, v.clone());
            }
        }
        new_meta.insert(field_key.clone(), Value::Object(out));
        changed = true;
    }
    if !changed {
        return None;
    }
    let mut np = p.clone();
    np.insert(meta_key.clone(), Value::Object(new_meta));
    Some(np)
}

/// Kyverno's `wildcard.Match`: `*` any run of characters, `?` exactly one.
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    // Most patterns have no wildcard; ASCII needs no decoding (a byte is a character).
    if !pattern.contains(['*', '?']) {
        return pattern == text;
    }
    if pattern.is_ascii() && text.is_ascii() {
        return wildcard_match_units(pattern.as_bytes(), text.as_bytes(), b'*', b'?');
    }
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    wildcard_match_units(&p, &t, '*', '?')
}

fn wildcard_match_units<T: PartialEq + Copy>(p: &[T], t: &[T], any: T, one: T) -> bool {
    // Iterative matching with one backtrack point: linear in practice, never exponential.
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == one || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == any {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == any {
        pi += 1;
    }
    pi == p.len()
}

/// Kyverno's `pattern.Validate`: a resource value against a scalar pattern.
pub fn value_matches(value: &Value, pattern: &Value) -> bool {
    match pattern {
        Value::Bool(b) => value.as_bool() == Some(*b),
        Value::Number(n) if n.is_i64() || n.is_u64() => {
            let Some(p) = n.as_i64().or_else(|| n.as_u64().map(|u| u as i64)) else { return false };
            match value {
                Value::Number(v) => match v.as_i64() {
                    Some(i) => i == p,
                    None => v.as_f64().is_some_and(|f| f.trunc() == f && f as i64 == p),
                },
                Value::String(s) => s.parse::<i64>().is_ok_and(|i| i == p),
                _ => false,
            }
        }
        Value::Number(n) => {
            let p = n.as_f64().unwrap_or(f64::NAN);
            match value {
                Value::Number(v) => match v.as_i64() {
                    Some(i) => p.trunc() == p && p as i64 == i,
                    None => v.as_f64() == Some(p),
                },
                Value::String(s) => go_parse_float(s).is_some_and(|f| f == p),
                _ => false,
            }
        }
        Value::Null => match value {
            Value::Number(v) => v.as_f64() == Some(0.0),
            Value::String(s) => s.is_empty(),
            Value::Bool(b) => !b,
            Value::Null => true,
            _ => false,
        },
        Value::Object(_) => value.is_object(),
        Value::Array(_) => false,
        Value::String(p) => string_patterns(value, p),
    }
}

fn go_parse_float(s: &str) -> Option<f64> {
    let t = s.trim_start_matches(['+', '-']);
    if t.is_empty()
        || t.eq_ignore_ascii_case("inf")
        || t.eq_ignore_ascii_case("infinity")
        || t.eq_ignore_ascii_case("nan")
    {
        return match t.to_ascii_lowercase().as_str() {
            "inf" | "infinity" | "nan" => s.parse().ok(),
            _ => None,
        };
    }
    s.parse().ok()
}

fn string_patterns(value: &Value, pattern: &str) -> bool {
    if value.as_str() == Some(pattern) {
        return true;
    }
    pattern.split('|').any(|alt| alt.trim_matches(' ').split('&').all(|c| string_pattern(value, c.trim_matches(' '))))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Equal,
    NotEqual,
    More,
    Less,
    MoreEqual,
    LessEqual,
}

/// Kyverno's `operator.GetOperatorFromStringPattern`, ranges included.
fn operator(pattern: &str) -> (Op, usize) {
    if pattern.len() < 2 {
        return (Op::Equal, 0);
    }
    for (prefix, op) in
        [(">=", Op::MoreEqual), ("<=", Op::LessEqual), (">", Op::More), ("<", Op::Less), ("!", Op::NotEqual)]
    {
        if pattern.starts_with(prefix) {
            return (op, prefix.len());
        }
    }
    (Op::Equal, 0)
}

/// `a-b` and `a!-b` with numbers or quantities on both sides (Kyverno's range operators).
fn range(pattern: &str) -> Option<(bool, &str, &str)> {
    fn endpoint(s: &str) -> bool {
        // (\d+(\.\d+)?)([^-]*): a number, then a unit without '-'.
        let digits = s.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return false;
        }
        let rest = &s[digits..];
        let rest = match rest.strip_prefix('.') {
            Some(r) => {
                let d = r.bytes().take_while(u8::is_ascii_digit).count();
                if d == 0 {
                    rest
                } else {
                    &r[d..]
                }
            }
            None => rest,
        };
        !rest.contains('-')
    }
    if let Some((a, b)) = pattern.split_once("!-") {
        if endpoint(a) && endpoint(b) {
            return Some((false, a, b));
        }
    }
    let (a, b) = pattern.split_once('-')?;
    (endpoint(a) && endpoint(b)).then_some((true, a, b))
}

fn string_pattern(value: &Value, pattern: &str) -> bool {
    if let Some((inside, a, b)) = range(pattern) {
        return if inside {
            string_pattern(value, &format!(">= {a}")) && string_pattern(value, &format!("<= {b}"))
        } else {
            string_pattern(value, &format!("< {a}")) || string_pattern(value, &format!("> {b}"))
        };
    }
    let (op, len) = operator(pattern);
    let p = pattern[len..].trim();
    compare_duration(value, p, op) || compare_quantity(value, p, op) || compare_string(value, p, op)
}

fn number_to_string(value: &Value) -> Option<String> {
    match value {
        Value::Null => Some("0".into()),
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Some(i.to_string()),
            None => n.as_f64().map(|f| format!("{f:.6}")),
        },
        _ => None,
    }
}

fn apply(op: Op, ord: std::cmp::Ordering) -> bool {
    use std::cmp::Ordering::*;
    match op {
        Op::Equal => ord == Equal,
        Op::NotEqual => ord != Equal,
        Op::More => ord == Greater,
        Op::Less => ord == Less,
        Op::MoreEqual => ord != Less,
        Op::LessEqual => ord != Greater,
    }
}

fn compare_duration(value: &Value, pattern: &str, op: Op) -> bool {
    let Some(p) = parse_duration(pattern) else { return false };
    let Some(v) = number_to_string(value).and_then(|s| parse_duration(&s)) else { return false };
    v.partial_cmp(&p).is_some_and(|o| apply(op, o))
}

fn compare_quantity(value: &Value, pattern: &str, op: Op) -> bool {
    let Some(p) = parse_quantity(pattern) else { return false };
    let Some(v) = number_to_string(value).and_then(|s| parse_quantity(&s)) else { return false };
    v.partial_cmp(&p).is_some_and(|o| apply(op, o))
}

fn compare_string(value: &Value, pattern: &str, op: Op) -> bool {
    if !matches!(op, Op::Equal | Op::NotEqual) {
        return false;
    }
    let s = match value {
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => match n.as_i64() {
            Some(i) => i.to_string(),
            None => go_float_e(n.as_f64().unwrap_or_default()),
        },
        _ => return false,
    };
    let m = wildcard_match(pattern, &s);
    if op == Op::NotEqual {
        !m
    } else {
        m
    }
}

/// Go's `strconv.FormatFloat(v, 'E', -1, 64)`.
fn go_float_e(f: f64) -> String {
    let s = format!("{f:E}");
    // Rust prints `1.5E2`; Go prints `1.5E+02`.
    match s.split_once('E') {
        Some((m, e)) => {
            let (sign, digits) = match e.strip_prefix('-') {
                Some(d) => ('-', d),
                None => ('+', e),
            };
            format!("{m}E{sign}{digits:0>2}")
        }
        None => s,
    }
}

/// Go's `time.ParseDuration`, in seconds: `300ms`, `-1.5h`, `2h45m`.
pub fn parse_duration(s: &str) -> Option<f64> {
    let (neg, mut rest) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if rest == "0" {
        return Some(0.0);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total = 0.0;
    while !rest.is_empty() {
        let n = rest.bytes().take_while(|b| b.is_ascii_digit() || *b == b'.').count();
        if n == 0 {
            return None;
        }
        let num: f64 = rest[..n].parse().ok()?;
        rest = &rest[n..];
        let u = rest.bytes().take_while(|b| !b.is_ascii_digit() && *b != b'.').count();
        let unit = match &rest[..u] {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        rest = &rest[u..];
        total += num * unit;
    }
    Some(if neg { -total } else { total })
}

/// A Kubernetes resource quantity (`100m`, `2Gi`, `1e3`, `1.5`), as a number.
pub fn parse_quantity(s: &str) -> Option<f64> {
    let s = s.trim();
    if s.is_empty() || s.len() > 64 {
        return None;
    }
    let (sign, body) = match s.as_bytes()[0] {
        b'-' => (-1.0, &s[1..]),
        b'+' => (1.0, &s[1..]),
        _ => (1.0, s),
    };
    let n = body.bytes().take_while(|b| b.is_ascii_digit() || *b == b'.').count();
    let num_str = &body[..n];
    if num_str.is_empty() || num_str == "." || num_str.matches('.').count() > 1 {
        return None;
    }
    let num: f64 = num_str.parse().ok()?;
    let suffix = &body[n..];
    let mult = match suffix {
        "" => 1.0,
        "Ki" => 1024f64,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        e if e.starts_with(['e', 'E']) => {
            let exp: i32 = e[1..].parse().ok()?;
            if !(-100..=100).contains(&exp) {
                return None;
            }
            10f64.powi(exp)
        }
        _ => return None,
    };
    Some(sign * num * mult)
}
