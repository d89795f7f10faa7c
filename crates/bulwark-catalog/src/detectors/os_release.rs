//! OS identity from `os-release` (freedesktop.org format: `KEY=value`, optionally quoted).

use super::{utf8, Detector};
use crate::model::{DetectError, Detection, FileInput, OsInfo};

pub struct OsRelease;

impl Detector for OsRelease {
    fn name(&self) -> &'static str {
        "os-release"
    }

    fn matches(&self, path: &str, _mode: u32) -> bool {
        path == "/etc/os-release" || path == "/usr/lib/os-release"
    }

    fn max_size(&self) -> u64 {
        64 << 10
    }

    fn detect(&self, file: &FileInput<'_>) -> Result<Detection, DetectError> {
        let os = parse(utf8(file.data)?);
        if os.id.is_empty() {
            return Err(DetectError::malformed("no ID= line"));
        }
        Ok(Detection { os: Some(os), ..Default::default() })
    }
}

pub fn parse(text: &str) -> OsInfo {
    let mut os = OsInfo::default();
    for line in text.lines() {
        let Some((key, value)) = line.trim().split_once('=') else {
            continue;
        };
        let value = unquote(value.trim());
        match key.trim() {
            "ID" => os.id = value.to_ascii_lowercase(),
            "VERSION_ID" => os.version_id = value,
            "PRETTY_NAME" => os.pretty_name = value,
            "VERSION_CODENAME" => os.version_codename = value,
            "ID_LIKE" => os.id_like = value.split_whitespace().map(str::to_string).collect(),
            _ => {}
        }
    }
    os
}

fn unquote(v: &str) -> String {
    let v = v
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .or_else(|| v.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')))
        .unwrap_or(v);
    v.replace("\\\"", "\"").replace("\\$", "$").replace("\\\\", "\\")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_debian() {
        let os = parse(
            "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\nID=debian\n",
        );
        assert_eq!(os.id, "debian");
        assert_eq!(os.version_id, "12");
        assert_eq!(os.version_codename, "bookworm");
        assert_eq!(os.pretty_name, "Debian GNU/Linux 12 (bookworm)");
    }

    #[test]
    fn rejects_file_without_id() {
        let f = FileInput { path: "/etc/os-release", mode: 0o644, data: b"NAME=x\n" };
        assert!(OsRelease.detect(&f).is_err());
    }
}
