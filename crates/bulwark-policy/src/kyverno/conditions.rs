//! `preconditions` and `validate.deny.conditions`: any/all blocks of {key, operator, value},
//! with Kyverno's operators (pkg/engine/variables/operator).

use super::pattern::{parse_duration, parse_quantity, wildcard_match};
use super::variables::{substitute_all_in_conditions as substitute_all, Vars};
use serde_json::Value;

/// Conditions as written: `{any: [...], all: [...]}` or the old plain list (all of them).
/// Returns whether they hold; an error is a substitution or operator problem.
pub fn evaluate(conditions: &Value, ctx: &Vars) -> Result<bool, String> {
    match conditions {
        Value::Null => Ok(true),
        Value::Array(list) => {
            for c in list {
                if !condition(c, ctx)? {
                    return Ok(false);
                }
            }
            Ok(true)
        }
        Value::Object(o) => {
            // `any: []` holds nothing (Kyverno checks for a non-nil list).
            if let Some(any) = o.get("any").and_then(Value::as_array) {
                let mut held = false;
                for c in any {
                    if condition(c, ctx)? {
                        held = true;
                        break;
                    }
                }
                if !held {
                    return Ok(false);
                }
            }
            if let Some(all) = o.get("all").and_then(Value::as_array) {
                for c in all {
                    if !condition(c, ctx)? {
                        return Ok(false);
                    }
                }
            }
            Ok(true)
        }
        other => Err(format!("conditions must be a list or {{any, all}}, found {other}")),
    }
}

/// The operators Kyverno knows (the deprecated ones included).
pub const OPERATORS: &[&str] = &[
    "Equals",
    "Equal",
    "NotEquals",
    "NotEqual",
    "In",
    "AnyIn",
    "AllIn",
    "NotIn",
    "AnyNotIn",
    "AllNotIn",
    "GreaterThan",
    "GreaterThanOrEquals",
    "LessThan",
    "LessThanOrEquals",
    "DurationGreaterThan",
    "DurationGreaterThanOrEquals",
    "DurationLessThan",
    "DurationLessThanOrEquals",
];

fn condition(c: &Value, ctx: &Vars) -> Result<bool, String> {
    let op = c["operator"].as_str().unwrap_or_default();
    let key =
        substitute_all(&c["key"], ctx).map_err(|e| format!("failed to substitute variables in condition key: {e}"))?;
    let value = substitute_all(&c["value"], ctx)
        .map_err(|e| format!("failed to substitute variables in condition value: {e}"))?;
    apply(op, &key, &value)
}

/// One operator on a substituted key and value.
pub fn apply(op: &str, key: &Value, value: &Value) -> Result<bool, String> {
    Ok(match op {
        "Equals" | "Equal" => equals(key, value),
        "NotEquals" | "NotEqual" => !equals(key, value),
        "AnyIn" => any_in(key, value),
        "AllIn" => all_in(key, value),
        "AnyNotIn" => any_not_in(key, value),
        "AllNotIn" => all_not_in(key, value),
        // Deprecated: In is every key in the value, NotIn every key not in it.
        "In" => all_in(key, value),
        "NotIn" => all_not_in(key, value),
        "GreaterThan" => numeric(key, value, |o| o.is_gt()),
        "GreaterThanOrEquals" => numeric(key, value, |o| o.is_ge()),
        "LessThan" => numeric(key, value, |o| o.is_lt()),
        "LessThanOrEquals" => numeric(key, value, |o| o.is_le()),
        "DurationGreaterThan" => duration(key, value, |o| o.is_gt()),
        "DurationGreaterThanOrEquals" => duration(key, value, |o| o.is_ge()),
        "DurationLessThan" => duration(key, value, |o| o.is_lt()),
        "DurationLessThanOrEquals" => duration(key, value, |o| o.is_le()),
        other => return Err(format!("unknown condition operator {other:?}")),
    })
}

fn as_f64(v: &Value) -> Option<f64> {
    v.as_f64()
}

/// Kyverno's EqualHandler.
fn equals(key: &Value, value: &Value) -> bool {
    match key {
        Value::String(k) => {
            // Durations first (the stricter form), then quantities, then wildcards.
            if let Some(kd) = parse_duration(k) {
                if let Some(vd) = value.as_str().and_then(parse_duration) {
                    return kd == vd;
                }
            }
            if let Some(kq) = parse_quantity(k) {
                if let Some(vq) = value.as_str().and_then(parse_quantity) {
                    return kq == vq;
                }
            }
            match value {
                Value::String(v) => wildcard_match(v, k),
                _ => false,
            }
        }
        Value::Number(k) => match value {
            Value::Number(v) => as_f64(&Value::Number(k.clone())) == v.as_f64(),
            Value::String(v) => {
                // A quantity string equals a number of the same size.
                parse_quantity(v).is_some_and(|q| Some(q) == k.as_f64())
            }
            _ => false,
        },
        Value::Bool(k) => value.as_bool() == Some(*k),
        Value::Null => value.is_null(),
        Value::Array(_) | Value::Object(_) => key == value,
    }
}

/// Go's `fmt.Sprint` of a value, as the set operators compare elements.
fn sprint(v: &Value) -> String {
    super::pattern::go_fmt(v)
}

fn key_list(key: &Value) -> Option<Vec<String>> {
    match key {
        Value::Array(a) => Some(a.iter().map(sprint).collect()),
        Value::String(_) | Value::Number(_) | Value::Bool(_) => Some(vec![sprint(key)]),
        _ => None,
    }
}

/// A numeric range value `a-b` (Kyverno's In/NotIn family accepts `5000-6000`).
fn numeric_range(s: &str) -> Option<(f64, f64)> {
    let s = s.trim();
    let idx = s.get(1..)?.find('-')? + 1;
    let (a, b) = (s[..idx].trim(), s[idx + 1..].trim());
    Some((a.parse().ok()?, b.parse().ok()?))
}

/// The value as a list of strings: a list, a JSON list in a string, a range or one string.
enum Set {
    List(Vec<String>),
    Range(f64, f64),
}

fn value_set(value: &Value) -> Option<Set> {
    match value {
        Value::Array(a) => Some(Set::List(a.iter().map(sprint).collect())),
        Value::String(s) => {
            if let Some((lo, hi)) = numeric_range(s) {
                return Some(Set::Range(lo, hi));
            }
            if let Ok(Value::Array(a)) = serde_json::from_str::<Value>(s) {
                return Some(Set::List(a.iter().map(sprint).collect()));
            }
            Some(Set::List(vec![s.clone()]))
        }
        Value::Number(_) | Value::Bool(_) => Some(Set::List(vec![sprint(value)])),
        _ => None,
    }
}

fn contains(set: &Set, k: &str) -> bool {
    match set {
        Set::List(items) => items.iter().any(|v| wildcard_match(v, k) || wildcard_match(k, v)),
        Set::Range(lo, hi) => k.parse::<f64>().is_ok_and(|n| n >= *lo && n <= *hi),
    }
}

fn any_in(key: &Value, value: &Value) -> bool {
    let (Some(keys), Some(set)) = (key_list(key), value_set(value)) else { return false };
    keys.iter().any(|k| contains(&set, k))
}

fn all_in(key: &Value, value: &Value) -> bool {
    let (Some(keys), Some(set)) = (key_list(key), value_set(value)) else { return false };
    keys.iter().all(|k| contains(&set, k))
}

fn any_not_in(key: &Value, value: &Value) -> bool {
    let (Some(keys), Some(set)) = (key_list(key), value_set(value)) else { return false };
    keys.iter().any(|k| !contains(&set, k))
}

fn all_not_in(key: &Value, value: &Value) -> bool {
    let (Some(keys), Some(set)) = (key_list(key), value_set(value)) else { return false };
    keys.iter().all(|k| !contains(&set, k))
}

/// A number, a numeric string, a quantity or a duration (Kyverno's numeric operators try
/// them in that order: numbers, then durations, then quantities; semver is not compared).
fn numeric(key: &Value, value: &Value, ok: fn(std::cmp::Ordering) -> bool) -> bool {
    let num = |v: &Value| match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    if let (Some(a), Some(b)) = (num(key), num(value)) {
        return a.partial_cmp(&b).is_some_and(ok);
    }
    let dur = |v: &Value| v.as_str().and_then(parse_duration);
    if let (Some(a), Some(b)) = (dur(key), dur(value)) {
        return a.partial_cmp(&b).is_some_and(ok);
    }
    let qty = |v: &Value| match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => parse_quantity(s),
        _ => None,
    };
    if let (Some(a), Some(b)) = (qty(key), qty(value)) {
        return a.partial_cmp(&b).is_some_and(ok);
    }
    false
}

fn duration(key: &Value, value: &Value, ok: fn(std::cmp::Ordering) -> bool) -> bool {
    // Numbers are seconds (Kyverno's Duration* operators).
    let d = |v: &Value| match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => parse_duration(s),
        _ => None,
    };
    match (d(key), d(value)) {
        (Some(a), Some(b)) => a.partial_cmp(&b).is_some_and(ok),
        _ => false,
    }
}
