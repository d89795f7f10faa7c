//! The registry's request parsing: `/v2/` routes with repository names, tags and digests,
//! `Range` and upload `Content-Range` headers, token scopes, basic credentials. The first
//! byte picks the parser; the rest is the header or path.
#![no_main]
use bulwark_registry::distribution::fuzzing;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((which, rest)) = data.split_first() else { return };
    let s = String::from_utf8_lossy(rest);
    match which % 6 {
        0 => fuzzing::route(&s),
        1 => {
            let size = rest.get(..8).map(|b| u64::from_le_bytes(b.try_into().unwrap_or_default()));
            if let Some(Ok((start, Some(end)))) = fuzzing::range(&s, size) {
                let _ = end.checked_sub(start);
            }
        }
        2 => {
            let _ = fuzzing::content_range(&s);
        }
        3 => {
            for scope in bulwark_registry::auth::Scope::parse_all(&s) {
                let _ = bulwark_registry::names::valid_name(&scope.name);
            }
        }
        4 => {
            let _ = bulwark_registry::auth::decode_basic(&s);
        }
        _ => {
            let _ = bulwark_registry::names::valid_name(&s);
            let _ = bulwark_registry::names::valid_tag(&s);
        }
    }
});
