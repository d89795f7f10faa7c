//! When a document was made, and the unique id it carries (CycloneDX `serialNumber`, SPDX
//! `documentNamespace`).
//!
//! Normally that is the current time and a random UUID. With `SOURCE_DATE_EPOCH` set (the
//! reproducible-builds.org convention) the time is that instant and the UUID is derived from
//! the time and the inventory, so the same scan gives byte-identical documents.

use crate::SbomError;
use bulwark_catalog::Inventory;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    created: OffsetDateTime,
    reproducible: bool,
}

impl Stamp {
    /// `SOURCE_DATE_EPOCH` when set and not empty, else [`Stamp::now`].
    pub fn from_env() -> Result<Self, SbomError> {
        match std::env::var_os("SOURCE_DATE_EPOCH") {
            Some(v) if !v.is_empty() => {
                let s = v.to_string_lossy();
                let secs = s.trim().parse::<i64>().map_err(|_| SbomError::SourceDateEpoch(s.to_string()))?;
                Self::at(secs)
            }
            _ => Ok(Self::now()),
        }
    }

    /// The current time, with random document ids.
    pub fn now() -> Self {
        Stamp { created: OffsetDateTime::now_utc(), reproducible: false }
    }

    /// A fixed time (Unix seconds), with document ids derived from it and the inventory.
    pub fn at(unix_secs: i64) -> Result<Self, SbomError> {
        let created = (unix_secs >= 0)
            .then(|| OffsetDateTime::from_unix_timestamp(unix_secs).ok())
            .flatten()
            // Both schemas want a four-digit year.
            .filter(|t| t.year() <= 9999)
            .ok_or_else(|| SbomError::SourceDateEpoch(unix_secs.to_string()))?;
        Ok(Stamp { created, reproducible: true })
    }

    /// UTC, whole seconds, `Z`: the one form SPDX's schema accepts, and valid RFC 3339 for
    /// CycloneDX.
    pub fn timestamp(&self) -> String {
        let t = self.created;
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        )
    }

    /// The document's UUID: random, or for a reproducible stamp a hash of the format, the
    /// tool version, the time and the whole inventory, so a different scan never repeats it.
    pub(crate) fn uuid(&self, format: &str, inv: &Inventory) -> Result<Uuid, SbomError> {
        if !self.reproducible {
            return Ok(Uuid::new_v4());
        }
        let mut h = Sha256::new();
        for part in [format, env!("CARGO_PKG_VERSION"), &self.timestamp()] {
            h.update(part.as_bytes());
            h.update([0]);
        }
        h.update(serde_json::to_vec(inv)?);
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&h.finalize()[..16]);
        // Shaped as version 4: CycloneDX's serialNumber pattern admits only versions 1-5, and
        // hash bytes are as good as random ones for uniqueness.
        Ok(uuid::Builder::from_random_bytes(bytes).into_uuid())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_whole_seconds_in_utc() {
        assert_eq!(Stamp::at(0).unwrap().timestamp(), "1970-01-01T00:00:00Z");
        assert_eq!(Stamp::at(1_700_000_000).unwrap().timestamp(), "2023-11-14T22:13:20Z");
        assert!(Stamp::at(-1).is_err());
        assert!(Stamp::at(i64::MAX).is_err());
        let now = Stamp::now().timestamp();
        assert_eq!(now.len(), 20, "{now}");
    }

    #[test]
    fn reproducible_ids_repeat_and_random_ones_do_not() {
        let inv = Inventory::default();
        let a = Stamp::at(1).unwrap();
        assert_eq!(a.uuid("x", &inv).unwrap(), a.uuid("x", &inv).unwrap());
        assert_ne!(a.uuid("x", &inv).unwrap(), a.uuid("y", &inv).unwrap());
        assert_ne!(a.uuid("x", &inv).unwrap(), Stamp::at(2).unwrap().uuid("x", &inv).unwrap());
        assert_eq!(a.uuid("x", &inv).unwrap().get_version_num(), 4);
        let n = Stamp::now();
        assert_ne!(n.uuid("x", &inv).unwrap(), n.uuid("x", &inv).unwrap());
    }
}
