//! A constraint's `spec.parameters` checked against its template's
//! `spec.crd.spec.validation.openAPIV3Schema`, as the API server checks a constraint object
//! (and `kubectl apply`, strict by default, refuses unknown fields): a parameter of the wrong
//! type, outside an `enum`, missing when `required`, or unknown to the schema is an error
//! naming its path, so that a typo never makes a constraint check nothing.
//!
//! The structural-schema keywords are checked (`type`, `nullable`, `properties`, `items`,
//! `additionalProperties`, `required`, `enum`, `x-kubernetes-preserve-unknown-fields`) and the
//! common value limits (`minimum`, `maximum`, `minLength`, `maxLength`, `minItems`, `maxItems`,
//! `pattern`); descriptive keywords are ignored. `legacySchema: true` keeps unknown fields, as
//! Gatekeeper's conversion does.

use serde_json::Value;

/// How deep a schema or a parameter value may nest (both are user input).
const MAX_DEPTH: usize = 64;
/// Largest compiled `pattern` regex.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// Errors, each naming the parameter's path (`parameters.exemptImages[2]`).
pub fn validate(schema: &Value, value: &Value, legacy: bool) -> Vec<String> {
    let mut errors = Vec::new();
    check(schema, value, "parameters", legacy, 0, &mut errors);
    errors
}

use crate::resource::type_name;

fn check(schema: &Value, value: &Value, path: &str, legacy: bool, depth: usize, errors: &mut Vec<String>) {
    if depth > MAX_DEPTH {
        errors.push(format!("{path}: nested over {MAX_DEPTH} levels"));
        return;
    }
    let Some(s) = schema.as_object() else { return };
    if value.is_null() {
        // A null is accepted where the schema allows it or says nothing of the type.
        if s.get("nullable").and_then(Value::as_bool) != Some(true) && s.contains_key("type") {
            errors.push(format!(
                "{path}: Invalid value: \"null\": {path} in body must be of type {}",
                s["type"].as_str().unwrap_or("?")
            ));
        }
        return;
    }
    if let Some(t) = s.get("type").and_then(Value::as_str) {
        let got = type_name(value);
        let ok = got == t || (t == "number" && got == "integer");
        if !ok {
            errors.push(format!("{path}: Invalid value: \"{got}\": {path} in body must be of type {t}: \"{got}\""));
            return;
        }
    }
    if let Some(allowed) = s.get("enum").and_then(Value::as_array) {
        if !allowed.contains(value) {
            let list: Vec<String> = allowed.iter().map(Value::to_string).collect();
            errors.push(format!("{path}: Unsupported value: {value}: supported values: {}", list.join(", ")));
        }
    }
    match value {
        Value::Object(m) => {
            for r in s.get("required").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str) {
                if !m.contains_key(r) {
                    errors.push(format!("{path}.{r}: Required value"));
                }
            }
            let props = s.get("properties").and_then(Value::as_object);
            let preserve =
                legacy || s.get("x-kubernetes-preserve-unknown-fields").and_then(Value::as_bool) == Some(true);
            for (k, v) in m {
                let at = format!("{path}.{k}");
                if let Some(p) = props.and_then(|p| p.get(k)) {
                    check(p, v, &at, legacy, depth + 1, errors);
                    continue;
                }
                match s.get("additionalProperties") {
                    Some(Value::Object(_)) => check(&s["additionalProperties"], v, &at, legacy, depth + 1, errors),
                    Some(Value::Bool(true)) => {}
                    // No schema for the field: unknown, unless the schema keeps unknown fields
                    // or says nothing of the object's fields at all.
                    _ if preserve || (props.is_none() && !s.contains_key("additionalProperties")) => {}
                    _ => errors.push(format!("{at}: unknown field \"{k}\"")),
                }
            }
        }
        Value::Array(a) => {
            if let Some(items) = s.get("items") {
                for (i, v) in a.iter().enumerate() {
                    check(items, v, &format!("{path}[{i}]"), legacy, depth + 1, errors);
                }
            }
            bound(s, "minItems", "maxItems", a.len(), path, "items", errors);
        }
        Value::String(text) => {
            bound(s, "minLength", "maxLength", text.chars().count(), path, "characters", errors);
            if let Some(p) = s.get("pattern").and_then(Value::as_str) {
                match regex::RegexBuilder::new(p).size_limit(REGEX_SIZE_LIMIT).build() {
                    Ok(re) if re.is_match(text) => {}
                    Ok(_) => errors.push(format!("{path}: Invalid value: {value}: {path} in body should match '{p}'")),
                    Err(e) => errors.push(format!("{path}: the schema's pattern {p:?} is not a valid regex: {e}")),
                }
            }
        }
        Value::Number(n) => {
            let x = n.as_f64().unwrap_or(0.0);
            if let Some(min) = s.get("minimum").and_then(Value::as_f64) {
                if x < min {
                    errors.push(format!(
                        "{path}: Invalid value: {n}: {path} in body should be greater than or equal to {min}"
                    ));
                }
            }
            if let Some(max) = s.get("maximum").and_then(Value::as_f64) {
                if x > max {
                    errors.push(format!(
                        "{path}: Invalid value: {n}: {path} in body should be less than or equal to {max}"
                    ));
                }
            }
        }
        Value::Bool(_) | Value::Null => {}
    }
}

fn bound(
    s: &serde_json::Map<String, Value>,
    min: &str,
    max: &str,
    n: usize,
    path: &str,
    what: &str,
    errors: &mut Vec<String>,
) {
    if let Some(lo) = s.get(min).and_then(Value::as_u64) {
        if (n as u64) < lo {
            errors.push(format!("{path}: should have at least {lo} {what}"));
        }
    }
    if let Some(hi) = s.get(max).and_then(Value::as_u64) {
        if (n as u64) > hi {
            errors.push(format!("{path}: should have at most {hi} {what}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn types_unknown_fields_enums_and_limits() {
        let schema = json!({"type": "object", "properties": {
            "exemptImages": {"type": "array", "items": {"type": "string"}},
            "limit": {"type": "integer", "minimum": 1},
            "mode": {"type": "string", "enum": ["a", "b"]},
            "labels": {"type": "array", "items": {"type": "object", "properties": {"key": {"type": "string"}}}}}});
        assert!(validate(&schema, &json!({"exemptImages": ["x"], "limit": 3, "mode": "a"}), false).is_empty());
        let e =
            validate(&schema, &json!({"exemptImage": ["x"], "limit": "3", "mode": "c", "labels": [{"key": 1}]}), false);
        assert_eq!(e.len(), 4, "{e:?}");
        assert!(e.iter().any(|m| m.starts_with("parameters.exemptImage: unknown field")), "{e:?}");
        assert!(e.iter().any(|m| m.starts_with("parameters.limit: Invalid value: \"string\"")), "{e:?}");
        assert!(e.iter().any(|m| m.starts_with("parameters.mode: Unsupported value")), "{e:?}");
        assert!(e.iter().any(|m| m.starts_with("parameters.labels[0].key:")), "{e:?}");
        assert!(validate(&schema, &json!({"limit": 0}), false)[0].contains("greater than or equal to 1"));
        // legacySchema keeps unknown fields.
        assert!(validate(&schema, &json!({"other": 1}), true).is_empty());
        // A schema that says nothing of the fields accepts any.
        assert!(validate(&json!({"type": "object"}), &json!({"x": 1}), false).is_empty());
    }
}
