//! `bulwark admission cert`: a CA and a serving certificate for the webhook's Service
//! (`NAME.NS.svc` and its shorter and longer forms), as the API server reaches it. The CA's
//! certificate goes into the webhook configurations' `caBundle`.

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    SerialNumber,
};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use time::{Duration, OffsetDateTime};

/// The longest validity accepted (ten years).
pub const MAX_DAYS: u32 = 3650;

#[derive(Debug, thiserror::Error)]
pub enum CertError {
    #[error("{what} {value:?} is not a DNS label (lower-case letters, digits and '-', at most 63, starting and ending alphanumeric)")]
    Name { what: &'static str, value: String },
    #[error("--days {0}: between 1 and {MAX_DAYS}")]
    Days(u32),
    #[error("certificate: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("{}: already exists (--force replaces it)", .0.display())]
    Exists(PathBuf),
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
}

/// The four PEM files.
pub struct CertFiles {
    pub ca_cert: String,
    pub ca_key: String,
    pub cert: String,
    pub key: String,
}

/// The file names written, in order: CA certificate and key, serving certificate and key.
pub const FILE_NAMES: [&str; 4] = ["ca.crt", "ca.key", "tls.crt", "tls.key"];

/// A Kubernetes DNS-1123 label (Service and Namespace names are).
pub fn is_dns_label(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
}

/// The names the API server may use for the Service (it uses `NAME.NS.svc`).
pub fn service_names(service: &str, namespace: &str) -> Vec<String> {
    vec![
        format!("{service}.{namespace}.svc"),
        service.to_string(),
        format!("{service}.{namespace}"),
        format!("{service}.{namespace}.svc.cluster.local"),
    ]
}

/// A random serial (RFC 5280: positive, at most 20 octets), from a fresh key's randomness
/// through SHA-256: rcgen has no serial of its own and two certificates must never share one.
fn serial(key: &KeyPair) -> SerialNumber {
    use std::hash::{BuildHasher, Hasher};
    // The key is fresh randomness; the time and a per-process random hasher make two serials
    // from equal keys (never expected) differ anyway.
    let mut bytes = Vec::with_capacity(16);
    for i in 0..2u64 {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write(key.public_key_pem().as_bytes());
        h.write_u64(i);
        h.write_i128(OffsetDateTime::now_utc().unix_timestamp_nanos());
        bytes.extend_from_slice(&h.finish().to_be_bytes());
    }
    bytes[0] &= 0x7f;
    bytes[0] |= 0x01;
    SerialNumber::from(bytes)
}

/// A CA (`bulwark-admission CA`) and a serving certificate for `service.namespace.svc`,
/// valid `days` from now (backdated five minutes for clock skew). ECDSA P-256 keys.
pub fn generate(service: &str, namespace: &str, days: u32) -> Result<CertFiles, CertError> {
    if !is_dns_label(service) {
        return Err(CertError::Name { what: "--service", value: service.to_string() });
    }
    if !is_dns_label(namespace) {
        return Err(CertError::Name { what: "--namespace", value: namespace.to_string() });
    }
    if days == 0 || days > MAX_DAYS {
        return Err(CertError::Days(days));
    }
    let now = OffsetDateTime::now_utc();
    let not_before = now - Duration::minutes(5);
    let not_after = now + Duration::days(i64::from(days));

    let ca_key = KeyPair::generate()?;
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.distinguished_name.push(DnType::CommonName, format!("bulwark-admission CA ({namespace})"));
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    ca.not_before = not_before;
    ca.not_after = not_after;
    ca.serial_number = Some(serial(&ca_key));
    let ca_cert = ca.self_signed(&ca_key)?;

    let key = KeyPair::generate()?;
    let names = service_names(service, namespace);
    let mut params = CertificateParams::new(names.clone())?;
    params.distinguished_name.push(DnType::CommonName, names[0].clone());
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    params.not_before = not_before;
    params.not_after = not_after;
    params.serial_number = Some(serial(&key));
    let issuer = Issuer::new(ca, &ca_key);
    let cert = params.signed_by(&key, &issuer)?;
    Ok(CertFiles { ca_cert: ca_cert.pem(), ca_key: ca_key.serialize_pem(), cert: cert.pem(), key: key.serialize_pem() })
}

/// Writes the files into `dir` (created if needed): keys readable by the owner only. Nothing
/// is replaced without `force`, and nothing is written when any file exists.
pub fn write(dir: &Path, files: &CertFiles, force: bool) -> Result<Vec<PathBuf>, CertError> {
    std::fs::create_dir_all(dir).map_err(|source| CertError::Io { path: dir.to_path_buf(), source })?;
    let paths: Vec<PathBuf> = FILE_NAMES.iter().map(|n| dir.join(n)).collect();
    if !force {
        if let Some(p) = paths.iter().find(|p| p.symlink_metadata().is_ok()) {
            return Err(CertError::Exists(p.clone()));
        }
    }
    let contents = [&files.ca_cert, &files.ca_key, &files.cert, &files.key];
    for (i, (path, text)) in paths.iter().zip(contents).enumerate() {
        let secret = i % 2 == 1;
        write_file(path, text.as_bytes(), secret, force)
            .map_err(|source| CertError::Io { path: path.clone(), source })?;
    }
    Ok(paths)
}

fn write_file(path: &Path, bytes: &[u8], secret: bool, force: bool) -> std::io::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true);
    if force {
        // Replaced, not rewritten in place: a key file must never be readable by others, even
        // for an instant, whatever mode the old file had.
        match std::fs::remove_file(path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    opts.create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(if secret { 0o600 } else { 0o644 });
    }
    let mut f = opts.open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn names_are_dns_labels() {
        assert!(is_dns_label("bulwark-admission"));
        for bad in ["", "-a", "a-", "A", "a.b", "a_b", &"a".repeat(64)] {
            assert!(!is_dns_label(bad), "{bad:?}");
        }
        assert!(matches!(generate("a.b", "ns", 1), Err(CertError::Name { .. })));
        assert!(matches!(generate("a", "ns", 0), Err(CertError::Days(0))));
        assert!(matches!(generate("a", "ns", MAX_DAYS + 1), Err(CertError::Days(_))));
    }
}
