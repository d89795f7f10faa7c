//! Reading YAML and JSON documents from strangers, with budgets: a YAML bomb (aliases that
//! expand without end), a document nested thousands deep or a file of gigabytes is an error
//! naming the input, not a hang or an out-of-memory kill.
//!
//! A stream is split at its document markers and parsed one document at a time, so memory
//! follows the largest document, not the stream (a `---` at column 0 always ends a document in
//! YAML, even inside a block scalar, so the split is exact).

use crate::error::PolicyError;
use serde_json::Value;
use std::io::BufRead;

/// The largest single document (a Kubernetes object is at most 1.5 MiB in etcd; a policy
/// bundle document is smaller still).
pub const MAX_DOCUMENT_BYTES: usize = 16 << 20;
/// The deepest nesting accepted (real manifests and policies stay under 30).
pub const MAX_DEPTH: usize = 128;

/// Every document of a YAML stream (or JSON), as JSON values, in order. `input` names the
/// source in errors ("deploy.yaml: document 3: ..."). Empty documents are dropped, as kubectl
/// drops them.
pub fn documents(input: &str, text: &str) -> Result<Vec<Value>, PolicyError> {
    stream(input, text.as_bytes()).collect()
}

/// The documents of a stream, read and parsed one at a time.
pub fn stream<R: BufRead>(input: impl Into<String>, reader: R) -> impl Iterator<Item = Result<Value, PolicyError>> {
    Splitter { input: input.into(), reader, index: 0, done: false, line: Vec::new(), carry: Vec::new() }
}

struct Splitter<R> {
    input: String,
    reader: R,
    /// Documents returned so far (for error messages: "document 3").
    index: usize,
    done: bool,
    line: Vec<u8>,
    /// What followed the `---` that began the next document (`--- {kind: Pod}`).
    carry: Vec<u8>,
}

impl<R: BufRead> Splitter<R> {
    /// The next document's text, or None at the end.
    fn next_text(&mut self) -> Result<Option<Vec<u8>>, PolicyError> {
        let mut doc = std::mem::take(&mut self.carry);
        loop {
            if self.done {
                return Ok(has_content(&doc).then_some(doc));
            }
            self.line.clear();
            // A line is bounded too: one line may be the whole document.
            let n = std::io::Read::take(self.reader.by_ref(), (MAX_DOCUMENT_BYTES + 1) as u64)
                .read_until(b'\n', &mut self.line)
                .map_err(|e| PolicyError::input(&self.input, e.to_string()))?;
            if n == 0 {
                self.done = true;
                continue;
            }
            if is_marker(&self.line, b"---") {
                let rest = self.line[3..].to_vec();
                if has_content(&doc) {
                    self.carry = rest;
                    return Ok(Some(doc));
                }
                doc = rest;
                continue;
            }
            if is_marker(&self.line, b"...") {
                if has_content(&doc) {
                    return Ok(Some(doc));
                }
                doc.clear();
                continue;
            }
            if doc.len() + self.line.len() > MAX_DOCUMENT_BYTES {
                self.done = true;
                return Err(PolicyError::input(
                    format!("{}: document {}", self.input, self.index + 1),
                    format!("over the {MAX_DOCUMENT_BYTES}-byte limit for one document"),
                ));
            }
            doc.extend_from_slice(&self.line);
        }
    }
}

/// `---` or `...` at column 0, alone or followed by a space (YAML's document markers).
fn is_marker(line: &[u8], marker: &[u8]) -> bool {
    line.starts_with(marker) && line.get(3).is_none_or(|c| matches!(c, b' ' | b'\t' | b'\r' | b'\n'))
}

/// Whether any line is more than blanks and comments.
fn has_content(doc: &[u8]) -> bool {
    doc.split(|&b| b == b'\n').any(|l| {
        let t = l.trim_ascii_start();
        !t.is_empty() && t[0] != b'#'
    })
}

impl<R: BufRead> Iterator for Splitter<R> {
    type Item = Result<Value, PolicyError>;
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let text = match self.next_text() {
                Ok(Some(t)) => t,
                Ok(None) => return None,
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            };
            self.index += 1;
            let name = format!("{}: document {}", self.input, self.index);
            let Ok(text) = std::str::from_utf8(&text) else {
                return Some(Err(PolicyError::input(name, "not UTF-8")));
            };
            match parse_one(&name, text) {
                Ok(Value::Null) => continue,
                other => return Some(other),
            }
        }
    }
}

/// One document's text to a value, within the budgets.
pub fn parse_one(input: &str, text: &str) -> Result<Value, PolicyError> {
    let v: Value = serde_saphyr::from_str_with_options(text, options())
        .map_err(|e| PolicyError::input(input, format!("not valid YAML: {e}")))?;
    if depth(&v) > MAX_DEPTH {
        return Err(PolicyError::input(input, format!("nested deeper than {MAX_DEPTH} levels")));
    }
    Ok(v)
}

/// One value as a YAML document (`bulwark policy apply --output-mutated`).
pub fn to_yaml(v: &Value) -> Result<String, PolicyError> {
    serde_saphyr::to_string(v).map_err(|e| PolicyError::input("YAML output", e.to_string()))
}

fn options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_depth: MAX_DEPTH,
            max_aliases: 10_000,
            max_events: 10_000_000,
            max_nodes: 5_000_000,
            max_documents: 1,
        },
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::LastWins,
        with_snippet: false,
    }
}

/// Nesting depth, without recursion (the input may be deep).
pub fn depth(v: &Value) -> usize {
    let mut max = 0;
    let mut stack = vec![(v, 1usize)];
    while let Some((v, d)) = stack.pop() {
        max = max.max(d);
        match v {
            Value::Array(a) => stack.extend(a.iter().map(|x| (x, d + 1))),
            Value::Object(o) => stack.extend(o.values().map(|x| (x, d + 1))),
            _ => {}
        }
    }
    max
}
