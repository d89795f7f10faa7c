//! Reading YAML streams from strangers: multi-document streams split exactly, and bombs,
//! depth and size stopped by a limit with an error naming the input.

use bulwark_policy::yaml::{documents, stream, MAX_DOCUMENT_BYTES};

#[test]
fn a_stream_is_split_at_its_markers_and_empty_documents_dropped() {
    let text = "# leading comment\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: a}\n---\n---\n# only a comment\n--- {kind: Pod, metadata: {name: b}}\n...\nkind: Pod\nmetadata:\n  name: c\n  annotations:\n    x: |\n      --- inside a block scalar is still text? no: a marker at column 0 ends it\n";
    let docs = documents("s.yaml", text).unwrap();
    let names: Vec<&str> = docs.iter().map(|d| d["metadata"]["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["a", "b", "c"]);
}

#[test]
fn an_alias_bomb_is_an_error_naming_the_document() {
    let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..12 {
        let p = (b'a' + i - 1) as char;
        let c = (b'a' + i) as char;
        bomb.push_str(&format!("{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"));
    }
    let start = std::time::Instant::now();
    let err = documents("bomb.yaml", &format!("kind: Pod\n---\n{bomb}")).unwrap_err().to_string();
    assert!(err.starts_with("bomb.yaml: document 2: "), "{err}");
    // A hang guard, not a speed test (it takes milliseconds; busy CI machines vary).
    assert!(start.elapsed().as_secs() < 60, "took {:?}", start.elapsed());
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let err = documents("deep.yaml", &deep).unwrap_err().to_string();
    assert!(err.starts_with("deep.yaml: document 1: "), "{err}");
}

#[test]
fn a_document_over_the_size_limit_is_refused_while_reading() {
    // One 17 MiB document, never held whole: the reader stops at the limit.
    let line = format!("  k{}: {}\n", 0, "v".repeat(1 << 20));
    let big = std::iter::once("data:\n".to_string()).chain(std::iter::repeat_n(line, 17)).collect::<String>();
    let err = stream("big.yaml", big.as_bytes()).next().unwrap().unwrap_err().to_string();
    assert!(err.contains(&format!("over the {MAX_DOCUMENT_BYTES}-byte limit")), "{err}");
    assert!(err.starts_with("big.yaml: document 1"), "{err}");
}
