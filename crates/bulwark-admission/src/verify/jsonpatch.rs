//! RFC 6902 JSON Patches for /mutate: the difference between the object as sent and as
//! mutated (Kyverno mutate rules, digest pins), and a value set at a JSON pointer.

use serde_json::{json, Value};

/// The operations that turn `from` into `to`: objects compared key by key, arrays of equal
/// length element by element (so a digest pin is one `replace` of `/spec/containers/N/image`),
/// anything else replaced whole.
pub fn diff(from: &Value, to: &Value) -> Vec<Value> {
    let mut ops = Vec::new();
    walk(from, to, &mut String::new(), &mut ops);
    ops
}

fn walk(from: &Value, to: &Value, path: &mut String, ops: &mut Vec<Value>) {
    if from == to {
        return;
    }
    match (from, to) {
        (Value::Object(a), Value::Object(b)) => {
            let len = path.len();
            for (k, va) in a {
                push_token(path, k);
                match b.get(k) {
                    Some(vb) => walk(va, vb, path, ops),
                    None => ops.push(json!({"op": "remove", "path": path.as_str()})),
                }
                path.truncate(len);
            }
            for (k, vb) in b {
                if !a.contains_key(k) {
                    push_token(path, k);
                    ops.push(json!({"op": "add", "path": path.as_str(), "value": vb}));
                    path.truncate(len);
                }
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            let len = path.len();
            for (i, (va, vb)) in a.iter().zip(b).enumerate() {
                path.push('/');
                path.push_str(&i.to_string());
                walk(va, vb, path, ops);
                path.truncate(len);
            }
        }
        _ => ops.push(json!({"op": "replace", "path": path.as_str(), "value": to})),
    }
}

/// `/` then the key with `~` and `/` escaped (RFC 6901).
fn push_token(path: &mut String, key: &str) {
    path.push('/');
    path.push_str(&key.replace('~', "~0").replace('/', "~1"));
}

/// The value at a JSON pointer, mutable.
pub fn at_mut<'a>(v: &'a mut Value, pointer: &str) -> Option<&'a mut Value> {
    v.pointer_mut(pointer)
}
