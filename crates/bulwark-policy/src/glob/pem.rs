//! Whether `key.data` is a public key, as sigstore's `cryptoutils.UnmarshalPEMToPublicKey`
//! decides it: the first PEM block, `PUBLIC KEY` (PKIX) or `RSA PUBLIC KEY` (PKCS #1), whose
//! DER parses as an RSA, ECDSA (P-224/256/384/521), Ed25519, X25519 or DSA key with nothing
//! after it. Structure only: an EC point is checked for its length and form, not that it lies
//! on the curve (Go does check that; the signature verification of the next issue will).

use base64::Engine;

const OID_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const OID_EC: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const OID_ED25519: &[u8] = &[0x2b, 0x65, 0x70];
const OID_X25519: &[u8] = &[0x2b, 0x65, 0x6e];
const OID_DSA: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x38, 0x04, 0x01];
/// Named curves and their field size in bytes.
const CURVES: &[(&[u8], usize)] = &[
    (&[0x2b, 0x81, 0x04, 0x00, 0x21], 28),                   // P-224
    (&[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07], 32), // P-256
    (&[0x2b, 0x81, 0x04, 0x00, 0x22], 48),                   // P-384
    (&[0x2b, 0x81, 0x04, 0x00, 0x23], 66),                   // P-521
];

/// Ok when the text holds a public key Go would accept; the error says why not.
pub fn public_key(text: &str) -> Result<(), &'static str> {
    let (label, der) = pem_decode(text).ok_or("PEM decoding failed")?;
    match label.as_str() {
        "PUBLIC KEY" => pkix(&der),
        "RSA PUBLIC KEY" => rsa_pkcs1(&der),
        _ => Err("unknown Public key PEM file type"),
    }
}

/// The first well-formed PEM block: its label and decoded bytes (Go's `pem.Decode`).
fn pem_decode(text: &str) -> Option<(String, Vec<u8>)> {
    let mut rest = text;
    loop {
        let start = rest.find("-----BEGIN ")?;
        let after = &rest[start + 11..];
        // Go's pem.Decode only takes a BEGIN line at the start of a line.
        if start > 0 && rest.as_bytes()[start - 1] != b'\n' {
            rest = after;
            continue;
        }
        let line_end = after.find('\n')?;
        let head = after[..line_end].trim_end_matches('\r').trim_end();
        if let Some(label) = head.strip_suffix("-----") {
            let body = &after[line_end + 1..];
            let end_marker = format!("-----END {label}-----");
            if let Some(end) = body.find(&end_marker) {
                let b64: String = body[..end]
                    .lines()
                    .filter(|l| !l.contains(':'))
                    .flat_map(|l| l.chars())
                    .filter(|c| !c.is_whitespace())
                    .collect();
                if let Ok(der) = base64::engine::general_purpose::STANDARD.decode(b64) {
                    return Some((label.to_string(), der));
                }
            }
        }
        rest = &after[line_end..];
    }
}

/// One DER TLV: (tag, contents, rest). Definite lengths only, minimal forms not enforced.
fn tlv(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, b) = b.split_first()?;
    let (&l, mut b) = b.split_first()?;
    let len = if l < 0x80 {
        l as usize
    } else {
        let n = (l & 0x7f) as usize;
        if n == 0 || n > 4 || b.len() < n {
            return None;
        }
        let mut len = 0usize;
        for &x in &b[..n] {
            len = (len << 8) | x as usize;
        }
        b = &b[n..];
        len
    };
    if b.len() < len {
        return None;
    }
    Some((tag, &b[..len], &b[len..]))
}

fn expect(b: &[u8], tag: u8) -> Result<(&[u8], &[u8]), &'static str> {
    match tlv(b) {
        Some((t, c, rest)) if t == tag => Ok((c, rest)),
        _ => Err("malformed DER"),
    }
}

fn pkix(der: &[u8]) -> Result<(), &'static str> {
    let (spki, trailing) = expect(der, 0x30)?;
    if !trailing.is_empty() {
        return Err("trailing data after ASN.1 of public-key");
    }
    let (alg, rest) = expect(spki, 0x30)?;
    let (bits, rest) = expect(rest, 0x03)?;
    if !rest.is_empty() {
        return Err("malformed DER");
    }
    let (oid, params) = expect(alg, 0x06)?;
    let (&unused, key) = bits.split_first().ok_or("malformed DER")?;
    if unused != 0 {
        return Err("malformed bit string");
    }
    if oid == OID_RSA {
        rsa_pkcs1(key)
    } else if oid == OID_EC {
        let (curve, _) = expect(params, 0x06)?;
        let size = CURVES.iter().find(|(c, _)| *c == curve).map(|(_, s)| *s).ok_or("unsupported elliptic curve")?;
        if key.len() == 1 + 2 * size && key[0] == 4 {
            Ok(())
        } else {
            Err("failed to unmarshal elliptic curve point")
        }
    } else if oid == OID_ED25519 || oid == OID_X25519 {
        if key.len() == 32 {
            Ok(())
        } else {
            Err("wrong key length")
        }
    } else if oid == OID_DSA {
        expect(key, 0x02).map(|_| ())
    } else {
        Err("unknown public key algorithm")
    }
}

fn rsa_pkcs1(der: &[u8]) -> Result<(), &'static str> {
    let (seq, trailing) = expect(der, 0x30)?;
    if !trailing.is_empty() {
        return Err("trailing data after RSA public key");
    }
    let (n, rest) = expect(seq, 0x02)?;
    let (e, rest) = expect(rest, 0x02)?;
    if !rest.is_empty() || n.is_empty() || e.is_empty() || n[0] & 0x80 != 0 || e[0] & 0x80 != 0 {
        return Err("malformed RSA public key");
    }
    if n.iter().all(|&b| b == 0) || e.iter().all(|&b| b == 0) {
        return Err("RSA modulus or exponent is not positive");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::public_key;

    const EC: &str = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEaEOVJCFtduYr3xqTxeRWSW32CY/s\nTBNZj4oIUPl8JvhVPJ1TKDPlNcuT4YphSt6t3yOmMvkdQbCj8broX6vijw==\n-----END PUBLIC KEY-----\n";

    #[test]
    fn public_keys_as_go_reads_them() {
        assert_eq!(public_key(EC), Ok(()));
        assert_eq!(public_key(&format!("leading text\n{EC}")), Ok(()));
        assert!(public_key(&format!("x{EC}")).is_err(), "BEGIN must start a line");
        assert!(public_key("---somedata---").is_err());
        assert!(public_key(&EC.replace("PUBLIC KEY", "CERTIFICATE")).is_err());
        // One byte of the point changed in length: not a P-256 point.
        assert!(public_key(&EC.replace("ijw==", "ij")).is_err());
    }
}
