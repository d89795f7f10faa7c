//! A small PEM reader and writer: one block, no headers, as Go's `encoding/pem` writes
//! for cosign. Our own so the size cap, the errors and the zeroizing of the body are ours.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use zeroize::Zeroizing;

use crate::SignError;

pub(crate) struct Block {
    pub label: String,
    /// The decoded body; may be secret (an unencrypted private key), so it is wiped on drop.
    pub der: Zeroizing<Vec<u8>>,
}

/// The first PEM block in `input`. Text before it and after it is ignored, as Go does.
pub(crate) fn parse(input: &[u8], max_len: usize, what: &str) -> Result<Block, SignError> {
    if input.len() > max_len {
        return Err(SignError::key(
            what,
            format!("{} bytes is larger than any key file (limit {} bytes)", input.len(), max_len),
        ));
    }
    let text = std::str::from_utf8(input).map_err(|_| SignError::key(what, "not a PEM file (not UTF-8 text)"))?;
    let mut lines = text.lines();
    let label = loop {
        let Some(line) = lines.next() else {
            return Err(SignError::key(what, "not a PEM file (no -----BEGIN line)"));
        };
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("-----BEGIN ") {
            match rest.strip_suffix("-----") {
                Some(label) => break label.to_string(),
                None => return Err(SignError::key(what, "malformed PEM -----BEGIN line")),
            }
        }
    };
    let end = format!("-----END {label}-----");
    // The body is secret for unencrypted keys: collect it in a buffer that is wiped.
    let mut body = Zeroizing::new(String::new());
    let mut ended = false;
    for line in lines.by_ref() {
        let line = line.trim();
        if line == end {
            ended = true;
            break;
        }
        if line.contains(':') {
            return Err(SignError::key(what, format!("PEM block `{label}` has headers, which cosign never writes")));
        }
        body.push_str(line);
    }
    if !ended {
        return Err(SignError::key(what, format!("PEM block `{label}` has no `{end}` line")));
    }
    let der = STANDARD
        .decode(body.as_bytes())
        .map(Zeroizing::new)
        .map_err(|_| SignError::key(what, format!("PEM block `{label}` is not valid base64")))?;
    Ok(Block { label, der })
}

/// PEM text as Go's `pem.EncodeToMemory` writes it: 64 columns, a final newline.
pub(crate) fn encode(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = String::with_capacity(b64.len() + b64.len() / 64 + label.len() * 2 + 40);
    out.push_str("-----BEGIN ");
    out.push_str(label);
    out.push_str("-----\n");
    // base64 output is ASCII, so byte chunks are whole characters.
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str("-----END ");
    out.push_str(label);
    out.push_str("-----\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_64_columns() {
        let der: Vec<u8> = (0..=255u8).collect();
        let text = encode("PUBLIC KEY", &der);
        assert!(text.lines().all(|l| l.len() <= 64));
        assert!(text.ends_with("-----END PUBLIC KEY-----\n"));
        let block = parse(text.as_bytes(), 1 << 16, "t").unwrap();
        assert_eq!(block.label, "PUBLIC KEY");
        assert_eq!(&block.der[..], &der[..]);
    }

    fn err(r: Result<Block, SignError>) -> String {
        match r {
            Ok(_) => panic!("parsed"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn rejects_missing_end_bad_base64_and_big_input() {
        let e = err(parse(b"-----BEGIN X-----\nAAAA\n", 100, "f"));
        assert!(e.contains("no `-----END X-----` line"), "{e}");
        let e = err(parse(b"-----BEGIN X-----\nA*AA\n-----END X-----\n", 100, "f"));
        assert!(e.contains("not valid base64"), "{e}");
        let e = err(parse(&[b'a'; 101], 100, "f"));
        assert!(e.contains("larger than any key file"), "{e}");
        let e = err(parse(b"hello", 100, "f"));
        assert!(e.contains("no -----BEGIN line"), "{e}");
    }
}
