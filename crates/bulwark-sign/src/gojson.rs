//! JSON written byte for byte as Go's `encoding/json.Marshal` writes it, because cosign signs
//! those exact bytes: no whitespace, object keys sorted (Go maps), `<`, `>`, `&`, U+2028 and
//! U+2029 escaped as `\u003c`…, and numbers as float64 (Go decodes JSON numbers into float64).
//! serde_json differs on the escapes and, with `preserve_order` on anywhere in the build, on
//! key order.

use serde_json::Value;

#[cfg(test)]
pub(crate) fn to_string(value: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, value);
    out
}

pub(crate) fn write_value(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => write_number(out, n),
        Value::String(s) => write_str(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push('{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_str(out, k);
                out.push(':');
                write_value(out, v);
            }
            out.push('}');
        }
    }
}

pub(crate) fn write_str(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            // Go 1.22+ writes these two short forms.
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' | '\u{0}'..='\u{1f}' => {
                let b = c as u32 as u8;
                out.push_str("\\u00");
                out.push(HEX[(b >> 4) as usize] as char);
                out.push(HEX[(b & 0xf) as usize] as char);
            }
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Go's float64 formatting in `encoding/json`: shortest round-trip digits, plain notation
/// unless |f| < 1e-6 or >= 1e21, where it is `1e+21` / `1e-7` style.
fn write_number(out: &mut String, n: &serde_json::Number) {
    let f = n.as_f64().unwrap_or(0.0);
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let s = format!("{f:e}");
        match s.split_once('e') {
            Some((mantissa, exp)) if !exp.starts_with('-') => {
                out.push_str(mantissa);
                out.push_str("e+");
                out.push_str(exp);
            }
            _ => out.push_str(&s),
        }
    } else {
        out.push_str(&format!("{f}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn matches_go_marshal() {
        // Expected strings are what Go 1.22+ `json.Marshal` prints for the same values.
        let v = json!({"b": 1, "a": [true, null, 1.5, 1e21, 1e-7, 0.000001, 100000000000000000000.0, -0.0],
                        "c": "<a href=\"x\">&\u{2028}\u{1}\u{8}\u{c}\t/é"});
        assert_eq!(
            to_string(&v),
            r#"{"a":[true,null,1.5,1e+21,1e-7,0.000001,100000000000000000000,-0],"b":1,"c":"\u003ca href=\"x\"\u003e\u0026\u2028\u0001\b\f\t/é"}"#
        );
        // Integers beyond 2^53 lose precision, as they do through Go's float64.
        assert_eq!(to_string(&json!(12345678901234567891u64)), "12345678901234567000");
    }
}
