//! Attestations as cosign makes them: an in-toto Statement (v0.1, what cosign v2 writes and
//! attaches under `.att`) in a DSSE envelope, signed over DSSE's pre-authentication encoding.
//!
//! - [`pae`], `"DSSEv1" SP len(type) SP type SP len(body) SP body`, lengths in ASCII decimal.
//! - [`Envelope`], `{"payloadType","payload"(base64),"signatures":[{"keyid","sig"}]}`.
//! - [`Statement`], `{"_type","predicateType","subject":[{"name","digest"}],"predicate"}`.
//! - [`PREDICATE_TYPES`]: cosign's `--type` names and their URIs (cosign
//!   `cmd/cosign/cli/options/predicate.go`, `pkg/cosign/attestation`), and
//!   [`build_statement`], which shapes the predicate as cosign's `GenerateStatement` does.
//!
//! Bytes: the envelope and statement JSON are written as Go's `json.Marshal` writes them.
//! For `custom`, `spdx`, `spdxjson`, `cyclonedx`, `openvex` and URI types the statement is
//! byte-identical to cosign's; for `slsaprovenance*`, `link` and `vuln` cosign re-shapes the
//! predicate through its Go structs (field order, zero values), which we do not copy: the
//! predicate is kept as given, keys sorted. Either way the signature covers our exact bytes.

use std::collections::BTreeMap;

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::{gojson, SignError, Signer, Verifier};

/// The DSSE payload type of an in-toto statement.
pub const INTOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
/// What cosign writes in `_type`.
pub const STATEMENT_V01: &str = "https://in-toto.io/Statement/v0.1";
/// in-toto attestation framework v1; read, and what newer tools write.
pub const STATEMENT_V1: &str = "https://in-toto.io/Statement/v1";

/// DSSE's pre-authentication encoding: what a DSSE signature covers.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + payload_type.len() + 32);
    out.extend_from_slice(b"DSSEv1 ");
    out.extend_from_slice(payload_type.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload_type.as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload);
    out
}

/// A DSSE envelope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    pub payload_type: String,
    /// The decoded payload (the statement JSON for in-toto).
    pub payload: Vec<u8>,
    pub signatures: Vec<EnvelopeSignature>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvelopeSignature {
    /// cosign writes an empty key id.
    pub keyid: String,
    /// The raw signature bytes (base64 in JSON).
    pub sig: Vec<u8>,
}

#[derive(Deserialize)]
struct RawEnvelope {
    #[serde(rename = "payloadType")]
    payload_type: String,
    payload: String,
    signatures: Vec<RawSignature>,
}

#[derive(Deserialize)]
struct RawSignature {
    #[serde(default)]
    keyid: Option<String>,
    sig: String,
}

/// DSSE asks readers to accept standard and URL-safe base64, padded or not.
const LENIENT: GeneralPurposeConfig =
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
const STANDARD_LENIENT: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::STANDARD, LENIENT);
const URL_SAFE_LENIENT: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::URL_SAFE, LENIENT);

fn decode_b64(s: &str) -> Option<Vec<u8>> {
    STANDARD_LENIENT.decode(s).or_else(|_| URL_SAFE_LENIENT.decode(s)).ok()
}

impl Envelope {
    /// Signs `payload` with one key, as cosign does (key id empty unless given).
    pub fn sign(payload_type: &str, payload: Vec<u8>, signer: &dyn Signer, keyid: &str) -> Result<Self, SignError> {
        let sig = signer.sign(&pae(payload_type, &payload))?;
        Ok(Envelope {
            payload_type: payload_type.to_string(),
            payload,
            signatures: vec![EnvelopeSignature { keyid: keyid.to_string(), sig }],
        })
    }

    /// Ok when at least one signature verifies with `verifier` over the PAE.
    pub fn verify(&self, verifier: &dyn Verifier) -> Result<(), SignError> {
        if self.signatures.is_empty() {
            return Err(SignError::BadSignature("the DSSE envelope has no signatures".into()));
        }
        let pae = pae(&self.payload_type, &self.payload);
        let mut last = None;
        for s in &self.signatures {
            match verifier.verify(&pae, &s.sig) {
                Ok(()) => return Ok(()),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| SignError::BadSignature("no signature verifies".into())))
    }

    /// The envelope as cosign (go-securesystemslib `dsse.Envelope`) marshals it.
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = String::with_capacity(self.payload.len() * 4 / 3 + 256);
        out.push_str(r#"{"payloadType":"#);
        gojson::write_str(&mut out, &self.payload_type);
        out.push_str(r#","payload":""#);
        out.push_str(&STANDARD.encode(&self.payload));
        out.push_str(r#"","signatures":["#);
        for (i, s) in self.signatures.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(r#"{"keyid":"#);
            gojson::write_str(&mut out, &s.keyid);
            out.push_str(r#","sig":""#);
            out.push_str(&STANDARD.encode(&s.sig));
            out.push_str(r#""}"#);
        }
        out.push_str("]}");
        out.into_bytes()
    }

    /// Parses an envelope. `what` names it in errors.
    pub fn from_json(bytes: &[u8], what: &str) -> Result<Self, SignError> {
        let raw: RawEnvelope =
            serde_json::from_slice(bytes).map_err(|e| SignError::format(what, format!("not a DSSE envelope: {e}")))?;
        if raw.payload_type.is_empty() {
            return Err(SignError::format(what, "DSSE payloadType is empty"));
        }
        let payload =
            decode_b64(&raw.payload).ok_or_else(|| SignError::format(what, "DSSE payload is not valid base64"))?;
        let mut signatures = Vec::with_capacity(raw.signatures.len());
        for (i, s) in raw.signatures.into_iter().enumerate() {
            let sig = decode_b64(&s.sig)
                .ok_or_else(|| SignError::format(what, format!("DSSE signature {i} is not valid base64")))?;
            signatures.push(EnvelopeSignature { keyid: s.keyid.unwrap_or_default(), sig });
        }
        Ok(Envelope { payload_type: raw.payload_type, payload, signatures })
    }
}

/// An in-toto statement.
#[derive(Clone, Debug, PartialEq)]
pub struct Statement {
    /// `_type`: [`STATEMENT_V01`] (what cosign writes) or [`STATEMENT_V1`].
    pub statement_type: String,
    pub subjects: Vec<Subject>,
    pub predicate_type: String,
    pub predicate: Value,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subject {
    /// cosign puts the repository here (`ghcr.io/org/app`).
    pub name: String,
    /// Algorithm → lowercase hex, e.g. `sha256` → 64 hex digits.
    pub digest: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct RawStatement {
    #[serde(rename = "_type")]
    statement_type: String,
    subject: Vec<RawSubject>,
    #[serde(rename = "predicateType")]
    predicate_type: String,
    #[serde(default)]
    predicate: Value,
}

#[derive(Deserialize)]
struct RawSubject {
    #[serde(default)]
    name: String,
    digest: BTreeMap<String, String>,
}

impl Statement {
    /// The statement JSON as cosign writes it (Go `json.Marshal` of in-toto-golang's
    /// `Statement`: `_type`, `predicateType`, `subject`, `predicate`).
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = String::with_capacity(512);
        out.push_str(r#"{"_type":"#);
        gojson::write_str(&mut out, &self.statement_type);
        out.push_str(r#","predicateType":"#);
        gojson::write_str(&mut out, &self.predicate_type);
        out.push_str(r#","subject":["#);
        for (i, s) in self.subjects.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(r#"{"name":"#);
            gojson::write_str(&mut out, &s.name);
            out.push_str(r#","digest":{"#);
            for (j, (alg, hex)) in s.digest.iter().enumerate() {
                if j > 0 {
                    out.push(',');
                }
                gojson::write_str(&mut out, alg);
                out.push(':');
                gojson::write_str(&mut out, hex);
            }
            out.push_str("}}");
        }
        out.push_str(r#"],"predicate":"#);
        gojson::write_value(&mut out, &self.predicate);
        out.push('}');
        out.into_bytes()
    }

    /// Parses and checks a statement: a known `_type`, at least one subject, digests in
    /// lowercase hex of the right length, a predicate type.
    pub fn parse(bytes: &[u8], what: &str) -> Result<Self, SignError> {
        let raw: RawStatement = serde_json::from_slice(bytes)
            .map_err(|e| SignError::format(what, format!("not an in-toto statement: {e}")))?;
        if raw.statement_type != STATEMENT_V01 && raw.statement_type != STATEMENT_V1 {
            return Err(SignError::format(
                what,
                format!("unknown statement _type {:?}", raw.statement_type.chars().take(80).collect::<String>()),
            ));
        }
        if raw.subject.is_empty() {
            return Err(SignError::format(what, "the statement has no subject"));
        }
        if raw.predicate_type.is_empty() {
            return Err(SignError::format(what, "the statement has an empty predicateType"));
        }
        let mut subjects = Vec::with_capacity(raw.subject.len());
        for (i, s) in raw.subject.into_iter().enumerate() {
            if s.digest.is_empty() {
                return Err(SignError::format(what, format!("subject {i} has no digest")));
            }
            for (alg, hex) in &s.digest {
                check_hex_digest(alg, hex).map_err(|m| SignError::format(what, format!("subject {i}: {m}")))?;
            }
            subjects.push(Subject { name: s.name, digest: s.digest });
        }
        Ok(Statement {
            statement_type: raw.statement_type,
            subjects,
            predicate_type: raw.predicate_type,
            predicate: raw.predicate,
        })
    }

    /// True when a subject has this image digest (`sha256:<hex>`).
    pub fn has_subject_digest(&self, digest: &str) -> bool {
        let Some((alg, hex)) = digest.split_once(':') else {
            return false;
        };
        self.subjects.iter().any(|s| s.digest.get(alg).is_some_and(|h| h == hex))
    }
}

fn check_hex_digest(alg: &str, hex: &str) -> Result<(), String> {
    let want = match alg {
        "sha256" => Some(64),
        "sha512" => Some(128),
        "sha384" => Some(96),
        "sha1" => Some(40),
        _ => None,
    };
    let hex_ok = !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if !hex_ok || want.is_some_and(|n| hex.len() != n) {
        return Err(format!("digest {alg:?} is not {} lowercase hex digits", want.unwrap_or(0)));
    }
    Ok(())
}

/// How cosign shapes a predicate file into the statement's `predicate`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shape {
    /// `{"Data": <the file as a string>, "Timestamp": <RFC 3339>}`.
    CosignCustom,
    /// A JSON object with these keys present (cosign's `checkRequiredJSONFields`).
    ObjectWith(&'static [&'static str]),
    /// The file as a JSON string.
    Text,
    /// Any JSON value.
    Json,
}

/// A cosign `--type` name and its predicate type URI.
#[derive(Clone, Copy, Debug)]
pub struct PredicateType {
    pub name: &'static str,
    pub uri: &'static str,
    shape: Shape,
}

/// cosign's `--type` names, in the order of cosign's `PredicateTypeMap`.
pub const PREDICATE_TYPES: &[PredicateType] = &[
    PredicateType { name: "custom", uri: "https://cosign.sigstore.dev/attestation/v1", shape: Shape::CosignCustom },
    PredicateType {
        name: "slsaprovenance",
        uri: "https://slsa.dev/provenance/v0.2",
        shape: Shape::ObjectWith(&["builder", "buildType"]),
    },
    PredicateType {
        name: "slsaprovenance02",
        uri: "https://slsa.dev/provenance/v0.2",
        shape: Shape::ObjectWith(&["builder", "buildType"]),
    },
    PredicateType {
        name: "slsaprovenance1",
        uri: "https://slsa.dev/provenance/v1",
        shape: Shape::ObjectWith(&["buildDefinition", "runDetails"]),
    },
    PredicateType { name: "spdx", uri: "https://spdx.dev/Document", shape: Shape::Text },
    PredicateType { name: "spdxjson", uri: "https://spdx.dev/Document", shape: Shape::Json },
    PredicateType { name: "cyclonedx", uri: "https://cyclonedx.org/bom", shape: Shape::Json },
    PredicateType { name: "link", uri: "https://in-toto.io/Link/v1", shape: Shape::ObjectWith(&[]) },
    PredicateType {
        name: "vuln",
        uri: "https://cosign.sigstore.dev/attestation/vuln/v1",
        shape: Shape::ObjectWith(&[]),
    },
    PredicateType { name: "openvex", uri: "https://openvex.dev/ns", shape: Shape::Json },
];

/// The predicate type URI for a cosign `--type` name, or the name itself when it is an
/// absolute URI (as cosign accepts any URI).
pub fn predicate_type_uri(name: &str) -> Result<String, SignError> {
    if let Some(t) = PREDICATE_TYPES.iter().find(|t| t.name == name) {
        return Ok(t.uri.to_string());
    }
    if is_absolute_uri(name) {
        return Ok(name.to_string());
    }
    Err(SignError::format(
        "predicate type",
        format!(
            "{:?} is neither one of {} nor an absolute URI",
            name.chars().take(80).collect::<String>(),
            PREDICATE_TYPES.iter().map(|t| t.name).collect::<Vec<_>>().join(", ")
        ),
    ))
}

fn is_absolute_uri(s: &str) -> bool {
    let Some((scheme, rest)) = s.split_once(':') else {
        return false;
    };
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        && !rest.is_empty()
        && !s.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// The statement cosign's `attest --type TYPE --predicate FILE` makes for an image:
/// subject `repo` with `digest` (`sha256:<hex>` or bare hex), predicate shaped per type.
/// `timestamp` (RFC 3339, UTC, seconds) is used by `custom` only; see [`rfc3339_now`].
pub fn build_statement(
    type_name: &str,
    predicate: &[u8],
    repo: &str,
    digest: &str,
    timestamp: &str,
) -> Result<Statement, SignError> {
    let what = "predicate";
    let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
    check_hex_digest("sha256", hex).map_err(|m| SignError::format("image digest", m))?;
    let (uri, shape) = match PREDICATE_TYPES.iter().find(|t| t.name == type_name) {
        Some(t) => (t.uri.to_string(), t.shape),
        // A URI: cosign requires a JSON object predicate.
        None => (predicate_type_uri(type_name)?, Shape::ObjectWith(&[])),
    };
    let value = match shape {
        Shape::CosignCustom => {
            let mut m = Map::new();
            m.insert("Data".into(), Value::String(String::from_utf8_lossy(predicate).into_owned()));
            m.insert("Timestamp".into(), Value::String(timestamp.to_string()));
            Value::Object(m)
        }
        Shape::Text => Value::String(String::from_utf8_lossy(predicate).into_owned()),
        Shape::Json => serde_json::from_slice(predicate)
            .map_err(|e| SignError::format(what, format!("not JSON, as --type {type_name} needs: {e}")))?,
        Shape::ObjectWith(required) => {
            let v: Value = serde_json::from_slice(predicate)
                .map_err(|e| SignError::format(what, format!("not JSON, as --type {type_name} needs: {e}")))?;
            let Value::Object(map) = &v else {
                return Err(SignError::format(what, format!("--type {type_name} needs a JSON object")));
            };
            if let Some(missing) = required.iter().find(|k| !map.contains_key(**k)) {
                return Err(SignError::format(
                    what,
                    format!("required field {missing} missing for --type {type_name}"),
                ));
            }
            v
        }
    };
    Ok(Statement {
        statement_type: STATEMENT_V01.to_string(),
        subjects: vec![Subject { name: repo.to_string(), digest: BTreeMap::from([("sha256".into(), hex.into())]) }],
        predicate_type: uri,
        predicate: value,
    })
}

/// Signs a statement into a DSSE envelope, as `cosign attest` does.
pub fn attest(statement: &Statement, signer: &dyn Signer) -> Result<Envelope, SignError> {
    Envelope::sign(INTOTO_PAYLOAD_TYPE, statement.to_json(), signer, "")
}

/// Verifies an attestation envelope (JSON) with `verifier` and returns its statement.
pub fn verify_attestation(envelope_json: &[u8], verifier: &dyn Verifier, what: &str) -> Result<Statement, SignError> {
    let env = Envelope::from_json(envelope_json, what)?;
    if env.payload_type != INTOTO_PAYLOAD_TYPE {
        return Err(SignError::format(
            what,
            format!(
                "DSSE payloadType {:?} is not {INTOTO_PAYLOAD_TYPE:?}",
                env.payload_type.chars().take(80).collect::<String>()
            ),
        ));
    }
    env.verify(verifier).map_err(|e| match e {
        SignError::BadSignature(m) => SignError::BadSignature(format!("{what}: {m}")),
        e => e,
    })?;
    Statement::parse(&env.payload, what)
}

/// Now as cosign stamps custom predicates: RFC 3339, UTC, whole seconds.
pub fn rfc3339_now() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    rfc3339_from_unix(secs)
}

fn rfc3339_from_unix(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pae_matches_the_spec_example() {
        // The DSSE spec's protocol.md test vector.
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world".to_vec()
        );
        assert_eq!(pae("", b""), b"DSSEv1 0  0 ".to_vec());
    }

    #[test]
    fn predicate_type_names() {
        for (name, uri) in [
            ("slsaprovenance", "https://slsa.dev/provenance/v0.2"),
            ("slsaprovenance02", "https://slsa.dev/provenance/v0.2"),
            ("slsaprovenance1", "https://slsa.dev/provenance/v1"),
            ("link", "https://in-toto.io/Link/v1"),
            ("spdx", "https://spdx.dev/Document"),
            ("spdxjson", "https://spdx.dev/Document"),
            ("cyclonedx", "https://cyclonedx.org/bom"),
            ("vuln", "https://cosign.sigstore.dev/attestation/vuln/v1"),
            ("openvex", "https://openvex.dev/ns"),
            ("custom", "https://cosign.sigstore.dev/attestation/v1"),
            ("https://example.com/my/v1", "https://example.com/my/v1"),
        ] {
            assert_eq!(predicate_type_uri(name).unwrap(), uri, "{name}");
        }
        for bad in ["cyclonedxxml", "sbom", "", "not a uri", "1http://x"] {
            assert!(predicate_type_uri(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn build_statement_shapes() {
        let d = "a".repeat(64);
        let s = build_statement("spdx", b"SPDXVersion: SPDX-2.3\n", "r", &d, "t").unwrap();
        assert_eq!(s.predicate, Value::String("SPDXVersion: SPDX-2.3\n".into()));
        let e = build_statement("slsaprovenance", br#"{"builder":{}}"#, "r", &d, "t").unwrap_err().to_string();
        assert!(e.contains("required field buildType missing"), "{e}");
        let e = build_statement("https://example.com/t", b"[1]", "r", &d, "t").unwrap_err().to_string();
        assert!(e.contains("needs a JSON object"), "{e}");
        let e = build_statement("cyclonedx", b"{", "r", &d, "t").unwrap_err().to_string();
        assert!(e.contains("not JSON"), "{e}");
        assert!(build_statement("custom", b"x", "r", "sha256:XYZ", "t").is_err());
        let s = build_statement("slsaprovenance1", br#"{"buildDefinition":{},"runDetails":{}}"#, "r", &d, "t").unwrap();
        assert_eq!(s.predicate_type, "https://slsa.dev/provenance/v1");
    }

    #[test]
    fn statement_parse_checks() {
        let ok =
            String::from_utf8(build_statement("custom", b"x", "r", &"b".repeat(64), "t").unwrap().to_json()).unwrap();
        assert!(Statement::parse(ok.as_bytes(), "a").is_ok());
        for (text, want) in [
            (ok.replace("Statement/v0.1", "Statement/v9"), "unknown statement _type"),
            (ok.replace(&"b".repeat(64), &"b".repeat(63)), "64 lowercase hex"),
            (ok.replace(&"b".repeat(64), &"B".repeat(64)), "lowercase hex"),
            (ok.replace(r#""subject":[{"name":"r","digest":{"sha256":"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"}}]"#, r#""subject":[]"#), "no subject"),
        ] {
            let e = Statement::parse(text.as_bytes(), "a").unwrap_err().to_string();
            assert!(e.contains(want), "{text}: {e}");
        }
    }

    #[test]
    fn rfc3339_dates() {
        assert_eq!(rfc3339_from_unix(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339_from_unix(1_740_770_291), "2025-02-28T19:18:11Z");
        assert_eq!(rfc3339_from_unix(951_782_400), "2000-02-29T00:00:00Z");
    }
}
