//! Go modules.
//!
//! - [`GoBinary`]: the module build info the Go linker embeds in every executable built in
//!   module mode, a port of Go's `debug/buildinfo` and `runtime/debug.ParseBuildInfo`.
//!   A 32-byte header starting `\xff Go buildinf:` sits at a 16-byte aligned offset in the
//!   `.go.buildinfo` section (ELF), `__go_buildinfo` (Mach-O) or near the start of the first
//!   writable data segment. Byte 14 is the pointer size, byte 15 flags: bit 1 set (Go 1.18+)
//!   means the Go version and module info follow the header inline as varint-prefixed strings;
//!   otherwise (Go 1.13–1.17) two pointers at bytes 16.. point at Go string headers
//!   `(data pointer, length)` elsewhere in the image, in the byte order of bit 0.
//!   The module info text is framed by two 16-byte sentinels.
//! - [`GoMod`]: `go.mod` `require` directives with `replace` directives applied.
//!
//! Reported as Syft reports them: the main module, every `dep` (a replaced one under its
//! replacement's path and version) and the toolchain as `stdlib` with a version like `go1.22.5`.

use super::{file_name, Detector};
use crate::model::{DetectError, Detection, FileInput, Package, PackageType};
use object::read::macho::{FatArch, MachOFatFile32, MachOFatFile64};
use object::read::ReadCache;
use object::{FileKind, Object, ObjectSection, ObjectSegment, ReadRef, SegmentFlags};
use std::cell::Cell;
use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::ops::Range;

/// What Go writes for a module without a version: the main module of a local build.
const DEVEL: &str = "(devel)";
const BUILDINFO_MAGIC: &[u8] = b"\xff Go buildinf:";
const BUILDINFO_ALIGN: usize = 16;
const BUILDINFO_HEADER: usize = 32;
/// Go reads this much from the start of the data section to look for the header.
const SEARCH_WINDOW: u64 = 64 * 1024;
/// Real module info is tens of KiB (a few hundred modules); a bigger length field is a lie.
const MAX_MODINFO: u64 = 16 << 20;
/// Longest `-ldflags` build setting searched for a version (real ones are a few hundred bytes).
const MAX_LDFLAGS: usize = 16 << 10;
/// A garbage module info would otherwise give one warning per line.
const MAX_WARNINGS: usize = 10;

/// File magics of the executable formats: ELF, Mach-O (32/64-bit, both byte orders),
/// Mach-O universal (shares `CAFEBABE` with Java classes, which then fail to parse) and PE.
pub(crate) const EXECUTABLE_MAGIC: &[&[u8]] = &[
    b"\x7fELF",
    b"\xfe\xed\xfa\xce",
    b"\xfe\xed\xfa\xcf",
    b"\xce\xfa\xed\xfe",
    b"\xcf\xfa\xed\xfe",
    b"\xca\xfe\xba\xbe",
    b"\xca\xfe\xba\xbf",
    b"MZ",
];

/// Executables up to this size are read into memory; bigger ones (real Go and Rust
/// programs of 700 MB exist) are read by seeking to their headers and build info
/// ([`Detector::detect_file`]), so no executable is too big to read.
pub(crate) const EXECUTABLE_MAX_SIZE: u64 = 64 << 20;

/// Most bytes the seeking path reads from one executable: headers, symbol tables `object`
/// parses, the build info (at most 16 MiB) or `.dep-v0` (at most 8 MiB). Real executables
/// need a few MiB to tens of MiB; headers claiming more are refused with an error naming it.
pub const SEEK_READ_BUDGET: u64 = 256 << 20;

/// A regular file (or one whose mode carries no type bits) with any execute bit set.
pub(crate) fn is_executable(mode: u32) -> bool {
    let kind = mode & 0o170_000;
    (kind == 0 || kind == 0o100_000) && mode & 0o111 != 0
}

/// Runs `f` on `data`, copied first if misaligned: `object` (built without its `unaligned`
/// feature) reads headers in place and refuses data not 8-byte aligned. Buffers from the
/// allocator always are, so the copy is for callers handing in sub-slices.
pub(crate) fn with_aligned<R>(data: &[u8], f: impl FnOnce(&[u8]) -> R) -> R {
    if data.as_ptr().align_offset(8) == 0 {
        f(data)
    } else {
        let copy = data.to_vec();
        f(&copy)
    }
}

/// Bytes an executable is read from: in memory, or a file read by seeking ([`Seeking`]).
/// `slice` is one architecture of a Mach-O universal binary.
pub(crate) trait Source<'d>: ReadRef<'d> {
    fn slice(self, offset: u64, size: u64) -> Option<Self>;
}

impl<'d> Source<'d> for &'d [u8] {
    fn slice(self, offset: u64, size: u64) -> Option<Self> {
        let start = usize::try_from(offset).ok()?;
        let end = start.checked_add(usize::try_from(size).ok()?)?;
        self.get(start..end)
    }
}

/// How much a [`Seeking`] source may still read; `exhausted` once a read was refused.
pub(crate) struct Budget {
    left: Cell<u64>,
    exhausted: Cell<bool>,
}

impl Budget {
    pub(crate) fn new() -> Self {
        Budget { left: Cell::new(SEEK_READ_BUDGET), exhausted: Cell::new(false) }
    }

    fn take(&self, n: u64) -> bool {
        match self.left.get().checked_sub(n) {
            Some(left) => {
                self.left.set(left);
                true
            }
            None => {
                self.exhausted.set(true);
                false
            }
        }
    }

    /// An error when a read was refused: what was found may be incomplete.
    pub(crate) fn check(&self, what: &str) -> Result<(), DetectError> {
        if self.exhausted.get() {
            return Err(DetectError::OverLimit {
                message: format!(
                    "{what}: headers ask for more than {} MiB (limit SEEK_READ_BUDGET): not read",
                    SEEK_READ_BUDGET >> 20
                ),
                limit: format!("seek_read_budget {SEEK_READ_BUDGET} bytes"),
            });
        }
        Ok(())
    }
}

/// A byte range of a file, read through `object`'s cache only where asked, each read
/// charged to a [`Budget`]: memory stays small however big the file.
#[derive(Clone, Copy)]
pub(crate) struct Seeking<'d> {
    cache: &'d ReadCache<&'d File>,
    budget: &'d Budget,
    offset: u64,
    size: u64,
}

impl<'d> Seeking<'d> {
    pub(crate) fn new(cache: &'d ReadCache<&'d File>, budget: &'d Budget, size: u64) -> Self {
        Seeking { cache, budget, offset: 0, size }
    }
}

impl<'d> ReadRef<'d> for Seeking<'d> {
    fn len(self) -> Result<u64, ()> {
        Ok(self.size)
    }

    fn read_bytes_at(self, offset: u64, size: u64) -> Result<&'d [u8], ()> {
        if offset.checked_add(size).is_none_or(|end| end > self.size) || !self.budget.take(size) {
            return Err(());
        }
        self.cache.read_bytes_at(self.offset + offset, size)
    }

    fn read_bytes_at_until(self, range: Range<u64>, delimiter: u8) -> Result<&'d [u8], ()> {
        if range.start > range.end || range.end > self.size {
            return Err(());
        }
        let found = self.cache.read_bytes_at_until(self.offset + range.start..self.offset + range.end, delimiter)?;
        // The cache reads at most 4 KiB looking for the delimiter.
        if !self.budget.take(found.len() as u64) {
            return Err(());
        }
        Ok(found)
    }
}

impl<'d> Source<'d> for Seeking<'d> {
    fn slice(self, offset: u64, size: u64) -> Option<Self> {
        let end = offset.checked_add(size)?;
        (end <= self.size).then_some(Seeking { offset: self.offset + offset, size, ..self })
    }
}

/// The object images in `data`, each with the bytes its file offsets count from: one, or
/// one per architecture of a Mach-O universal binary. Anything `object` cannot parse gives
/// none: not an executable we can read.
pub(crate) fn object_images<'d, R: Source<'d>>(data: R) -> Vec<(R, object::File<'d, R>)> {
    // More slices than any real universal binary has; a Java class's "count" is its version.
    const MAX_ARCHES: usize = 16;
    fn slices<'d, R: Source<'d>, A: FatArch>(data: R, arches: &[A]) -> Vec<(R, object::File<'d, R>)> {
        arches
            .iter()
            .take(MAX_ARCHES)
            .filter_map(|a| {
                let (offset, size) = a.file_range();
                data.slice(offset, size)
            })
            .filter_map(|d| Some((d, object::File::parse(d).ok()?)))
            .collect()
    }
    match FileKind::parse(data) {
        Ok(FileKind::MachOFat32) => MachOFatFile32::parse(data).map(|f| slices(data, f.arches())).unwrap_or_default(),
        Ok(FileKind::MachOFat64) => MachOFatFile64::parse(data).map(|f| slices(data, f.arches())).unwrap_or_default(),
        Ok(_) => object::File::parse(data).ok().map(|f| (data, f)).into_iter().collect(),
        Err(_) => Vec::new(),
    }
}

/// Go build info in executables.
pub struct GoBinary;

impl Detector for GoBinary {
    fn name(&self) -> &'static str {
        "go-binary"
    }

    fn matches(&self, _path: &str, mode: u32) -> bool {
        is_executable(mode)
    }

    fn magic(&self) -> &'static [&'static [u8]] {
        EXECUTABLE_MAGIC
    }

    fn max_size(&self) -> u64 {
        EXECUTABLE_MAX_SIZE
    }

    /// 2: executables over the in-memory limit are read by seeking, no longer skipped.
    fn version(&self) -> u32 {
        2
    }

    fn detect(&self, file: &FileInput<'_>) -> Result<Detection, DetectError> {
        with_aligned(file.data, |data| detect_go(data, file.path))
    }

    fn seekable(&self) -> bool {
        true
    }

    fn detect_file(&self, path: &str, _mode: u32, file: &File) -> Result<Detection, DetectError> {
        let size = file.metadata()?.len();
        let cache = ReadCache::new(file);
        let budget = Budget::new();
        let found = detect_go(Seeking::new(&cache, &budget, size), path);
        budget.check("Go build info")?;
        found
    }
}

fn detect_go<'d, R: Source<'d>>(data: R, path: &str) -> Result<Detection, DetectError> {
    let mut det = Detection::default();
    let mut seen = HashSet::new();
    for (data, image) in object_images(data) {
        let Some(raw) = read_raw_build_info(&image, data, &mut det.warnings)? else {
            continue;
        };
        let info = parse_modinfo(&raw.modinfo, &mut det.warnings);
        // A universal binary repeats the same modules once per architecture.
        for p in packages(info, &raw.go_version, path) {
            if seen.insert((p.name.clone(), p.version.clone())) {
                det.packages.push(p);
            }
        }
    }
    Ok(det)
}

/// The two strings the linker records: `runtime.buildVersion` and `runtime.modinfo`
/// (without its sentinels; empty for a binary not built in module mode).
#[derive(Debug, PartialEq, Eq)]
struct RawBuildInfo {
    go_version: String,
    modinfo: String,
}

/// The image's loaded bytes by virtual address: the file-backed part of each segment,
/// read only where asked.
struct Memory<'d, R: ReadRef<'d>> {
    data: R,
    /// (address, file offset, file size)
    segments: Vec<(u64, u64, u64)>,
    _data: std::marker::PhantomData<&'d [u8]>,
}

impl<'d, R: ReadRef<'d>> Memory<'d, R> {
    fn new(image: &object::File<'d, R>, data: R) -> Self {
        let segments = image
            .segments()
            .map(|s| {
                let (offset, size) = s.file_range();
                (s.address(), offset, size)
            })
            .filter(|&(_, _, size)| size != 0)
            .collect();
        Memory { data, segments, _data: std::marker::PhantomData }
    }

    /// Up to `size` bytes at `addr`, stopping at the end of the segment holding `addr`
    /// (Go's `ReadData`); `None` when no segment holds it.
    fn read(&self, addr: u64, size: u64) -> Option<&'d [u8]> {
        self.segments.iter().find_map(|&(start, offset, len)| {
            let off = addr.checked_sub(start).filter(|&o| o < len)?;
            let n = size.min(len - off);
            self.data.read_bytes_at(offset.checked_add(off)?, n).ok()
        })
    }

    /// Exactly `len` bytes at `addr`, or `None`.
    fn read_exact(&self, addr: u64, len: u64) -> Option<&'d [u8]> {
        if len == 0 {
            return Some(&[]);
        }
        self.read(addr, len).filter(|d| d.len() as u64 == len)
    }

    /// A varint-prefixed string at `addr` (at most [`MAX_MODINFO`] bytes) and the address
    /// after it.
    fn string(&self, addr: u64) -> Option<(&'d [u8], u64)> {
        let (len, n) = uvarint(self.read(addr, 10)?)?;
        if len > MAX_MODINFO {
            return None;
        }
        let at = addr.checked_add(n as u64)?;
        Some((self.read_exact(at, len)?, at.checked_add(len)?))
    }
}

/// Where Go looks for the header: the dedicated section, else the first writable,
/// non-executable data segment (stripped section headers, old linkers).
fn data_start<'d, R: ReadRef<'d>>(image: &object::File<'d, R>) -> Option<u64> {
    for name in [".go.buildinfo", "__go_buildinfo"] {
        if let Some(s) = image.section_by_name(name) {
            return Some(s.address());
        }
    }
    const MACHO_RW: u32 = 3;
    const PE_INITIALIZED_DATA: u32 = 0x0000_0040;
    const PE_MEM_READ: u32 = 0x4000_0000;
    const PE_MEM_WRITE: u32 = 0x8000_0000;
    const PE_ALIGN_32BYTES: u32 = 0x0060_0000;
    image
        .segments()
        .find(|s| match s.flags() {
            SegmentFlags::Elf { p_flags } => p_flags & (object::elf::PF_X | object::elf::PF_W) == object::elf::PF_W,
            SegmentFlags::MachO { maxprot, initprot, .. } => {
                s.address() != 0 && s.file_range().1 != 0 && initprot == MACHO_RW && maxprot == MACHO_RW
            }
            SegmentFlags::Coff { characteristics } => {
                s.file_range().1 != 0
                    && characteristics & !PE_ALIGN_32BYTES == PE_INITIALIZED_DATA | PE_MEM_READ | PE_MEM_WRITE
            }
            _ => false,
        })
        .map(|s| s.address())
}

/// `Ok(None)`: not a Go binary (no header). An error: a header whose contents do not hold up.
fn read_raw_build_info<'d, R: ReadRef<'d>>(
    image: &object::File<'d, R>,
    data: R,
    warnings: &mut Vec<String>,
) -> Result<Option<RawBuildInfo>, DetectError> {
    let Some(start) = data_start(image) else {
        return Ok(None);
    };
    let mem = Memory::new(image, data);
    let Some(window) = mem.read(start, SEARCH_WINDOW) else {
        return Ok(None);
    };
    let Some(at) = memchr::memmem::find_iter(window, BUILDINFO_MAGIC)
        .find(|&i| i % BUILDINFO_ALIGN == 0 && window.len() - i >= BUILDINFO_HEADER)
    else {
        return Ok(None);
    };
    let bad = |what: &str| DetectError::malformed(format!("Go build info: {what}"));
    let header = window.get(at..at + BUILDINFO_HEADER).ok_or_else(|| bad("truncated header"))?;
    let (ptr_size, flags) = match header.get(14..16) {
        Some(&[p, f]) => (p, f),
        _ => return Err(bad("truncated header")),
    };
    let (go_version, modinfo): (&[u8], &[u8]) = if flags & 2 != 0 {
        // Go 1.18+: inline, past the search window for a big program's module info: read
        // each string by its length.
        let after = u64::try_from(at + BUILDINFO_HEADER)
            .ok()
            .and_then(|n| start.checked_add(n))
            .ok_or_else(|| bad("header address overflows"))?;
        let (version, after) = mem.string(after).ok_or_else(|| bad("unreadable Go version string"))?;
        let (modinfo, _) = mem.string(after).ok_or_else(|| bad("unreadable module info"))?;
        (version, modinfo)
    } else {
        // Go 1.13–1.17: pointers to Go string headers. Go reads any size but 4 as 8.
        let ptr = if ptr_size == 4 { 4 } else { 8 };
        let big_endian = flags != 0;
        let read_ptr = |b: &[u8]| -> Option<u64> {
            Some(match (ptr, big_endian) {
                (4, false) => u64::from(u32::from_le_bytes(b.get(..4)?.try_into().ok()?)),
                (4, true) => u64::from(u32::from_be_bytes(b.get(..4)?.try_into().ok()?)),
                (_, false) => u64::from_le_bytes(b.get(..8)?.try_into().ok()?),
                (_, true) => u64::from_be_bytes(b.get(..8)?.try_into().ok()?),
            })
        };
        let read_string = |addr: u64| {
            let hdr = mem.read(addr, 2 * ptr as u64)?;
            let data = read_ptr(hdr)?;
            let len = read_ptr(hdr.get(ptr..)?)?;
            if len == 0 {
                return Some(&[][..]);
            }
            if len > MAX_MODINFO {
                return None;
            }
            mem.read_exact(data, len)
        };
        let version_at = header.get(16..).and_then(&read_ptr);
        let modinfo_at = header.get(16 + ptr..).and_then(&read_ptr);
        let version = version_at.and_then(&read_string).ok_or_else(|| bad("Go version pointer leads nowhere"))?;
        let modinfo = match modinfo_at.and_then(&read_string) {
            Some(m) => m,
            None => {
                warnings.push("Go build info: module info pointer leads nowhere".into());
                &[]
            }
        };
        (version, modinfo)
    };
    if go_version.is_empty() {
        return Err(bad("empty Go version"));
    }
    if modinfo.len() as u64 > MAX_MODINFO {
        return Err(bad("module info larger than 16 MiB"));
    }
    // Strip the sentinels (cmd/go's modload.infoStart/infoEnd), as Go does: 16 bytes each
    // side, the last line's newline just before the end one. Anything else is no module info.
    let modinfo = match modinfo.len().checked_sub(17).and_then(|i| modinfo.get(i)) {
        Some(&b'\n') if modinfo.len() >= 33 => modinfo.get(16..modinfo.len().saturating_sub(16)).unwrap_or(&[]),
        _ => &[],
    };
    Ok(Some(RawBuildInfo {
        go_version: String::from_utf8_lossy(go_version).into_owned(),
        modinfo: String::from_utf8_lossy(modinfo).into_owned(),
    }))
}

/// Go's `binary.Uvarint`: the value and the bytes it took; `None` if truncated or > 64 bits.
fn uvarint(data: &[u8]) -> Option<(u64, usize)> {
    let mut x: u64 = 0;
    for (i, &b) in data.iter().enumerate().take(10) {
        let shift = 7 * i as u32;
        if b < 0x80 {
            if i == 9 && b > 1 {
                return None;
            }
            return Some((x | u64::from(b) << shift, i + 1));
        }
        x |= u64::from(b & 0x7f) << shift;
    }
    None
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Module {
    path: String,
    version: String,
    replace: Option<(String, String)>,
}

impl Module {
    /// What was built: the replacement if there is one.
    fn effective(&self) -> (&str, &str) {
        match &self.replace {
            Some((p, v)) => (p, v),
            None => (&self.path, &self.version),
        }
    }
}

#[derive(Debug, Default)]
struct BuildInfo {
    /// The main package's import path (`path` line).
    path: String,
    main: Option<Module>,
    deps: Vec<Module>,
    settings: Vec<(String, String)>,
}

impl BuildInfo {
    fn setting(&self, key: &str) -> Option<&str> {
        self.settings.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

fn warn(warnings: &mut Vec<String>, msg: String) {
    if warnings.len() < MAX_WARNINGS {
        warnings.push(msg);
    }
}

/// `runtime/debug.ParseBuildInfo`, except that a bad line is skipped with a warning
/// instead of failing the whole binary.
fn parse_modinfo(text: &str, warnings: &mut Vec<String>) -> BuildInfo {
    enum Last {
        None,
        Main,
        Dep(usize),
    }
    fn module(cols: &str) -> Option<Module> {
        let c: Vec<&str> = cols.split('\t').collect();
        match c.as_slice() {
            [path, version] | [path, version, _] if !path.is_empty() => {
                Some(Module { path: path.to_string(), version: version.to_string(), replace: None })
            }
            _ => None,
        }
    }
    let mut bi = BuildInfo::default();
    let mut last = Last::None;
    for (n, line) in text.split('\n').enumerate() {
        let n = n + 1;
        if let Some(rest) = line.strip_prefix("path\t") {
            bi.path = rest.to_string();
        } else if let Some(rest) = line.strip_prefix("mod\t") {
            match module(rest) {
                Some(m) => {
                    bi.main = Some(m);
                    last = Last::Main;
                }
                None => warn(warnings, format!("Go module info line {n}: bad mod line")),
            }
        } else if let Some(rest) = line.strip_prefix("dep\t") {
            match module(rest) {
                Some(m) => {
                    bi.deps.push(m);
                    last = Last::Dep(bi.deps.len() - 1);
                }
                None => warn(warnings, format!("Go module info line {n}: bad dep line")),
            }
        } else if let Some(rest) = line.strip_prefix("=>\t") {
            let target = match last {
                Last::Main => bi.main.as_mut(),
                Last::Dep(i) => bi.deps.get_mut(i),
                Last::None => None,
            };
            match (target, module(rest)) {
                (Some(t), Some(r)) => t.replace = Some((r.path, r.version)),
                (None, _) => warn(warnings, format!("Go module info line {n}: replacement without a module")),
                (_, None) => warn(warnings, format!("Go module info line {n}: bad => line")),
            }
            last = Last::None;
        } else if let Some(rest) = line.strip_prefix("build\t") {
            match build_setting(rest) {
                Some(kv) => bi.settings.push(kv),
                None => warn(warnings, format!("Go module info line {n}: bad build line")),
            }
        }
    }
    bi
}

/// `key=value`, either side possibly Go-quoted (keys with `=` or spaces, values with spaces).
fn build_setting(kv: &str) -> Option<(String, String)> {
    let (key, raw_value) = if kv.starts_with(['"', '`']) {
        let end = quoted_prefix_len(kv)?;
        let value = kv.get(end..)?.strip_prefix('=')?;
        (unquote(kv.get(..end)?)?, value)
    } else {
        let (k, v) = kv.split_once('=')?;
        (k.to_string(), v)
    };
    if key.is_empty() {
        return None;
    }
    let value = if raw_value.starts_with(['"', '`']) { unquote(raw_value)? } else { raw_value.to_string() };
    Some((key, value))
}

/// Length of the quoted string `s` starts with, quotes included.
fn quoted_prefix_len(s: &str) -> Option<usize> {
    let quote = s.chars().next()?;
    let mut escaped = false;
    for (i, c) in s.char_indices().skip(1) {
        match c {
            _ if escaped => escaped = false,
            '\\' if quote == '"' => escaped = true,
            c if c == quote => return Some(i + 1),
            _ => {}
        }
    }
    None
}

/// Go's `strconv.Unquote` for the escapes Go's `%q`/`strconv.Quote` writes.
fn unquote(s: &str) -> Option<String> {
    if let Some(raw) = s.strip_prefix('`') {
        return raw.strip_suffix('`').map(str::to_string);
    }
    let inner = s.strip_prefix('"')?.strip_suffix('"')?;
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let hex = |chars: &mut std::str::Chars<'_>, n: usize| -> Option<u32> {
            let digits: String = chars.by_ref().take(n).collect();
            (digits.len() == n).then(|| u32::from_str_radix(&digits, 16).ok()).flatten()
        };
        match chars.next()? {
            'a' => out.push('\x07'),
            'b' => out.push('\x08'),
            'f' => out.push('\x0c'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            'v' => out.push('\x0b'),
            '\\' => out.push('\\'),
            '"' => out.push('"'),
            '\'' => out.push('\''),
            // `\xHH` is a byte; build settings are text, so treat it as a Latin-1 char.
            'x' => out.push(char::from_u32(hex(&mut chars, 2)?)?),
            'u' => out.push(char::from_u32(hex(&mut chars, 4)?)?),
            'U' => out.push(char::from_u32(hex(&mut chars, 8)?)?),
            _ => return None,
        }
    }
    Some(out)
}

/// The packages of one binary, as Syft makes them.
fn packages(mut info: BuildInfo, go_version: &str, path: &str) -> Vec<Package> {
    // Syft: a build with only a `path` line (Debian builds with -trimpath and no module
    // line, `go build file.go` giving `command-line-arguments`) still has a main module:
    // the single `(devel)` dependency if there is exactly one, else the path as `(devel)`.
    let missing_main = match &info.main {
        None => !info.path.is_empty(),
        Some(m) => m.path == "command-line-arguments" && m.version.is_empty(),
    };
    if missing_main {
        let devel: Vec<usize> =
            info.deps.iter().enumerate().filter(|(_, d)| d.version == DEVEL).map(|(i, _)| i).collect();
        info.main = Some(match devel.as_slice() {
            [i] => info.deps.remove(*i),
            _ => Module { path: info.path.clone(), version: DEVEL.to_string(), replace: None },
        });
    }
    let mut out = Vec::with_capacity(info.deps.len() + 2);
    if let Some(main) = &info.main {
        let (name, version) = main.effective();
        if !name.is_empty() {
            let version = if version == DEVEL {
                main_version(&info, &main.path).unwrap_or_else(|| DEVEL.to_string())
            } else {
                version.to_string()
            };
            out.push(Package::new(PackageType::GoModule, name, version, path));
        }
    }
    for dep in &info.deps {
        let (name, version) = dep.effective();
        // Old toolchains could list a module with no path; Syft drops nameless packages.
        if !name.is_empty() {
            out.push(Package::new(PackageType::GoModule, name, version, path));
        }
    }
    // Syft's stdlib version is the toolchain version up to the first space
    // (`go1.22.3 X:boringcrypto`); a development toolchain (`devel go1.24-abcdef ...`)
    // names no release, and Syft then reports no stdlib.
    let toolchain = go_version.split(' ').next().unwrap_or_default();
    if toolchain.strip_prefix("go").is_some_and(|v| v.starts_with(|c: char| c.is_ascii_digit())) {
        out.push(Package::new(PackageType::GoModule, "stdlib", toolchain, path));
    }
    out
}

/// A better version than `(devel)` for the main module, the way Syft finds one by default:
/// a version passed with `-ldflags -X` (`main.version=1.2.3`, `<module>/...ver=1.2.3`),
/// else a pseudo-version from the VCS revision and time Go records.
fn main_version(info: &BuildInfo, main_path: &str) -> Option<String> {
    if let Some(v) = info.setting("-ldflags").and_then(|l| version_from_ldflags(l, main_path)) {
        return Some(v);
    }
    let revision = info.setting("vcs.revision")?;
    let time = info.setting("vcs.time")?;
    let short: String = revision.chars().take(12).collect();
    Some(format!("v0.0.0-{}-{short}", pseudo_time(time)))
}

/// RFC 3339 UTC time (Go records `vcs.time` in UTC) as `yyyymmddhhmmss`; Go's zero time
/// when it does not parse, as Syft does.
fn pseudo_time(t: &str) -> String {
    const ZERO: &str = "00010101000000";
    let b = t.as_bytes();
    let digits = |r: std::ops::Range<usize>| {
        b.get(r.clone()).filter(|d| d.iter().all(u8::is_ascii_digit)).and_then(|_| t.get(r))
    };
    let shape = b.get(4) == Some(&b'-')
        && b.get(7) == Some(&b'-')
        && matches!(b.get(10), Some(b'T' | b't'))
        && b.get(13) == Some(&b':')
        && b.get(16) == Some(&b':');
    let tail = t.get(19..).unwrap_or("");
    let tail = tail.strip_prefix('.').map_or(tail, |f| f.trim_start_matches(|c: char| c.is_ascii_digit()));
    if !shape || !matches!(tail, "Z" | "z" | "+00:00" | "-00:00") {
        return ZERO.to_string();
    }
    let parts = [0..4, 5..7, 8..10, 11..13, 14..16, 17..19].map(digits);
    if parts.iter().any(Option::is_none) {
        return ZERO.to_string();
    }
    parts.iter().flatten().copied().collect()
}

/// Syft's `extractVersionFromLDFlags`: the first `-X` assignment to `main.<x>` or to
/// `<main module>/<pkg>.<x>` where `<x>` ends in `ver`/`version` (any `[vV]`) or `tag`
/// (any `[tT]`), whose value (after any `path/` prefix) starts `v?N.N.N`. Returned with a
/// leading `v`.
fn version_from_ldflags(ldflags: &str, main_module: &str) -> Option<String> {
    // Each `=` below rescans its token: fine for real ldflags (a few hundred bytes), quadratic
    // for a hostile one of megabytes, which names no version worth finding anyway.
    if ldflags.len() > MAX_LDFLAGS {
        return None;
    }
    let bytes = ldflags.as_bytes();
    let is_space = |c: u8| matches!(c, b' ' | b'\t' | b'\n' | b'\r' | b'\x0c');
    for pass in [ident_is_version as fn(&str) -> bool, ident_is_tag] {
        for (eq, _) in ldflags.match_indices('=') {
            let key_start = bytes.get(..eq)?.iter().rposition(|&c| is_space(c)).map_or(0, |i| i + 1);
            let key = ldflags.get(key_start..eq)?;
            let Some((prefix, ident)) = key.rsplit_once('.') else {
                continue;
            };
            let prefix_ok =
                prefix.ends_with("main") || (!main_module.is_empty() && prefix.contains(&format!("{main_module}/")));
            if !prefix_ok || !pass(ident) {
                continue;
            }
            let value_end =
                bytes.get(eq + 1..)?.iter().position(|&c| is_space(c)).map_or(ldflags.len(), |i| eq + 1 + i);
            let value = ldflags.get(eq + 1..value_end)?;
            // `(\S+/)*` is greedy: the version after the last `/` that yields one wins.
            let starts = value.match_indices('/').map(|(i, _)| i + 1).rev().chain(std::iter::once(0));
            for s in starts {
                if let Some(v) = value.get(s..).and_then(semver_prefix) {
                    return Some(if v.starts_with('v') { v.to_string() } else { format!("v{v}") });
                }
            }
        }
    }
    None
}

/// `[a-zA-Z0-9]*[vV]er(sion)?` (the regex's optional release/git/build groups fold into the
/// leading class).
fn ident_is_version(ident: &str) -> bool {
    let base = ident.strip_suffix("ersion").or_else(|| ident.strip_suffix("er"));
    ident.bytes().all(|c| c.is_ascii_alphanumeric()) && base.is_some_and(|b| b.ends_with(['v', 'V']))
}

/// `[a-zA-Z0-9]*[tT]ag`.
fn ident_is_tag(ident: &str) -> bool {
    ident.bytes().all(|c| c.is_ascii_alphanumeric())
        && ident.strip_suffix("ag").is_some_and(|b| b.ends_with(['t', 'T']))
}

/// The regex `v?\d+.\d+.\d+[-\w]*` anchored at the start of `s` (`.` is any character,
/// with the backtracking Go's regexp does), giving the matched text.
fn semver_prefix(s: &str) -> Option<&str> {
    let b = s.as_bytes();
    // Greedy digit runs, backtracking to shorter ones; `.` then takes any one byte
    // (a byte, not a char: fine, the tail class below is ASCII and the text is re-sliced).
    fn digits_then(b: &[u8], i: usize, groups_left: u32) -> Option<usize> {
        let run = b.get(i..)?.iter().take_while(|c| c.is_ascii_digit()).count();
        for len in (1..=run).rev() {
            let after = i + len;
            if groups_left == 0 {
                return Some(after);
            }
            if b.get(after).is_some() {
                if let Some(end) = digits_then(b, after + 1, groups_left - 1) {
                    return Some(end);
                }
            }
        }
        None
    }
    let starts: &[usize] = if b.first() == Some(&b'v') { &[1, 0] } else { &[0] };
    for &start in starts {
        if let Some(end) = digits_then(b, start, 2) {
            let tail =
                b.get(end..)?.iter().take_while(|c| c.is_ascii_alphanumeric() || **c == b'_' || **c == b'-').count();
            // The match began at 0 (the `v`, if any, is part of it) in both cases.
            return s.get(..end + tail);
        }
    }
    None
}

/// `go.mod`: required modules, replacements applied.
pub struct GoMod;

impl Detector for GoMod {
    fn name(&self) -> &'static str {
        "go-mod"
    }

    fn declared(&self) -> bool {
        true
    }

    fn matches(&self, path: &str, _mode: u32) -> bool {
        file_name(path) == "go.mod"
    }

    fn detect(&self, file: &FileInput<'_>) -> Result<Detection, DetectError> {
        let text = super::utf8(file.data)?;
        let mut det = Detection::default();
        let gomod = parse_gomod(text, &mut det.warnings);
        let replacements = gomod.replacements();
        let mut seen = HashSet::new();
        for (path, version) in &gomod.require {
            let (name, version) = replacements.resolve(path, version);
            if seen.insert((name.to_string(), version.to_string())) {
                det.packages.push(Package::new(PackageType::GoModule, name, version, file.path));
            }
        }
        Ok(det)
    }
}

#[derive(Debug)]
struct Replace {
    old: String,
    /// `None`: every version of `old`.
    old_version: Option<String>,
    new: String,
    /// `None`: a directory on disk.
    new_version: Option<String>,
}

#[derive(Debug, Default)]
struct GoModFile {
    require: Vec<(String, String)>,
    replace: Vec<Replace>,
}

impl GoModFile {
    /// The `replace` directives by what they replace, the last of each winning: looked up
    /// once per requirement, so a hostile go.mod of many of both is not quadratic.
    fn replacements(&self) -> Replacements<'_> {
        let mut r = Replacements { exact: HashMap::new(), any: HashMap::new() };
        for rep in &self.replace {
            match rep.old_version.as_deref() {
                Some(v) => r.exact.insert((rep.old.as_str(), v), rep),
                None => r.any.insert(rep.old.as_str(), rep),
            };
        }
        r
    }
}

struct Replacements<'a> {
    /// `old version => ...`, by (old, version).
    exact: HashMap<(&'a str, &'a str), &'a Replace>,
    /// `old => ...`, for every version of old.
    any: HashMap<&'a str, &'a Replace>,
}

impl<'a> Replacements<'a> {
    /// What a requirement builds as. A replacement of this exact version beats one of every
    /// version, as in Go. A directory replacement has no version: it is reported as Go
    /// reports it in a binary's build info, the directory with `(devel)`.
    fn resolve(&self, path: &'a str, version: &'a str) -> (&'a str, &'a str) {
        match self.exact.get(&(path, version)).or_else(|| self.any.get(path)) {
            Some(r) => (&r.new, r.new_version.as_deref().unwrap_or(DEVEL)),
            None => (path, version),
        }
    }
}

/// Module paths may be long; they never hold whitespace or control characters.
fn sane(s: &str) -> bool {
    super::sane_up_to(s, 1024)
}

/// The go.mod grammar, as far as `require` and `replace` need it: one directive per line
/// or a `verb ( ... )` block, `//` comments, Go-quoted tokens.
fn parse_gomod(text: &str, warnings: &mut Vec<String>) -> GoModFile {
    let mut out = GoModFile::default();
    let mut block: Option<String> = None;
    for (n, line) in text.lines().enumerate() {
        let n = n + 1;
        let Some(tokens) = tokenize(line) else {
            warn(warnings, format!("go.mod line {n}: unterminated quote"));
            continue;
        };
        let args: &[String] = match (&block, tokens.as_slice()) {
            (_, []) => continue,
            (Some(_), [close]) if close == ")" => {
                block = None;
                continue;
            }
            (Some(_), args) => args,
            (None, [verb, open]) if open == "(" => {
                block = Some(verb.clone());
                continue;
            }
            (None, [_, open, close]) if open == "(" && close == ")" => continue,
            (None, [_, args @ ..]) => args,
        };
        let verb = block.as_deref().or_else(|| tokens.first().map(String::as_str)).unwrap_or_default();
        match verb {
            "require" => match args {
                [path, version] if sane(path) && sane(version) => {
                    out.require.push((path.clone(), version.clone()));
                }
                _ => warn(warnings, format!("go.mod line {n}: bad require")),
            },
            "replace" => match replace(args) {
                Some(r) => out.replace.push(r),
                None => warn(warnings, format!("go.mod line {n}: bad replace")),
            },
            _ => {}
        }
    }
    if let Some(verb) = block {
        warn(warnings, format!("go.mod: {verb} block not closed"));
    }
    out
}

/// `old [version] => new [version]`.
fn replace(args: &[String]) -> Option<Replace> {
    let arrow = args.iter().position(|a| a == "=>")?;
    let (old, new) = (args.get(..arrow)?, args.get(arrow + 1..)?);
    let (old, old_version) = match old {
        [p] => (p, None),
        [p, v] => (p, Some(v.clone())),
        _ => return None,
    };
    let (new, new_version) = match new {
        [p] => (p, None),
        [p, v] => (p, Some(v.clone())),
        _ => return None,
    };
    let all_sane =
        [Some(old), old_version.as_ref(), Some(new), new_version.as_ref()].into_iter().flatten().all(|s| sane(s));
    all_sane.then(|| Replace { old: old.clone(), old_version, new: new.clone(), new_version })
}

/// Tokens of one go.mod line up to any `//` comment: words, Go-quoted strings, and the
/// punctuation `(`, `)` and `=>`. `None` for an unterminated quote.
fn tokenize(line: &str) -> Option<Vec<String>> {
    let mut tokens = Vec::new();
    let mut rest = line;
    loop {
        rest = rest.trim_start();
        if rest.is_empty() || rest.starts_with("//") {
            return Some(tokens);
        }
        if rest.starts_with(['"', '`']) {
            let end = quoted_prefix_len(rest)?;
            tokens.push(unquote(rest.get(..end)?)?);
            rest = rest.get(end..)?;
        } else if let Some(r) = rest.strip_prefix("=>") {
            tokens.push("=>".to_string());
            rest = r;
        } else if rest.starts_with(['(', ')']) {
            tokens.push(rest.get(..1)?.to_string());
            rest = rest.get(1..)?;
        } else {
            let end =
                rest.find(|c: char| c.is_whitespace() || matches!(c, '(' | ')' | '"' | '`')).unwrap_or(rest.len());
            let end = rest.get(..end)?.find("=>").unwrap_or(end);
            let end = rest.get(..end)?.find("//").unwrap_or(end);
            tokens.push(rest.get(..end)?.to_string());
            rest = rest.get(end..)?;
        }
    }
}

/// A minimal ELF64 little-endian executable for tests: one read-write `PT_LOAD` segment
/// holding `payload` at virtual address [`testutil::VADDR`], optionally section headers
/// naming that segment `section`.
#[cfg(test)]
pub(crate) mod testutil {
    pub(crate) const VADDR: u64 = 0x40_1000;
    const DATA_OFF: usize = 0x1000;

    pub(crate) fn elf(section: Option<&str>, payload: &[u8]) -> Vec<u8> {
        let mut f = vec![0u8; DATA_OFF];
        f.extend_from_slice(payload);
        let (shoff, shnum, shstrndx) = match section {
            Some(name) => {
                let strtab_off = f.len();
                let mut strtab = vec![0u8];
                strtab.extend_from_slice(name.as_bytes());
                strtab.push(0);
                let shstr_name = strtab.len();
                strtab.extend_from_slice(b".shstrtab\0");
                f.extend_from_slice(&strtab);
                while !f.len().is_multiple_of(8) {
                    f.push(0);
                }
                let shoff = f.len();
                f.extend_from_slice(&[0u8; 64]); // the null section
                f.extend_from_slice(&shdr(1, 1, 3, VADDR, DATA_OFF, payload.len()));
                f.extend_from_slice(&shdr(shstr_name, 3, 0, 0, strtab_off, strtab.len()));
                (shoff, 3u16, 2u16)
            }
            None => (0, 0, 0),
        };
        let mut h = Vec::with_capacity(64 + 56);
        h.extend_from_slice(b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0");
        h.extend_from_slice(&2u16.to_le_bytes()); // ET_EXEC
        h.extend_from_slice(&62u16.to_le_bytes()); // x86-64
        h.extend_from_slice(&1u32.to_le_bytes());
        h.extend_from_slice(&VADDR.to_le_bytes()); // entry
        h.extend_from_slice(&64u64.to_le_bytes()); // phoff
        h.extend_from_slice(&(shoff as u64).to_le_bytes());
        h.extend_from_slice(&0u32.to_le_bytes());
        for v in [64u16, 56, 1, 64, shnum, shstrndx] {
            h.extend_from_slice(&v.to_le_bytes());
        }
        h.extend_from_slice(&1u32.to_le_bytes()); // PT_LOAD
        h.extend_from_slice(&6u32.to_le_bytes()); // PF_R | PF_W
        for v in [DATA_OFF as u64, VADDR, VADDR, payload.len() as u64, payload.len() as u64, 0x1000] {
            h.extend_from_slice(&v.to_le_bytes());
        }
        f[..h.len()].copy_from_slice(&h);
        f
    }

    fn shdr(name: usize, kind: u32, flags: u64, addr: u64, off: usize, size: usize) -> Vec<u8> {
        let mut s = Vec::with_capacity(64);
        s.extend_from_slice(&(name as u32).to_le_bytes());
        s.extend_from_slice(&kind.to_le_bytes());
        for v in [flags, addr, off as u64, size as u64] {
            s.extend_from_slice(&v.to_le_bytes());
        }
        s.extend_from_slice(&[0u8; 8]); // link, info
        s.extend_from_slice(&1u64.to_le_bytes()); // addralign
        s.extend_from_slice(&0u64.to_le_bytes()); // entsize
        s
    }
}

#[cfg(test)]
mod tests {
    use super::testutil::{elf, VADDR};
    use super::*;

    const START: &[u8] = b"0w\xaf\x0c\x92t\x08\x02A\xe1\xc1\x07\xe6\xd6\x18\xe6";
    const END: &[u8] = b"\xf92C1\x86\x18 r\x00\x82B\x10A\x16\xd8\xf2";

    fn varint(mut n: u64, out: &mut Vec<u8>) {
        while n >= 0x80 {
            out.push((n as u8) | 0x80);
            n >>= 7;
        }
        out.push(n as u8);
    }

    fn framed(modinfo: &str) -> Vec<u8> {
        [START, modinfo.as_bytes(), END].concat()
    }

    /// A Go 1.18+ build info blob: header, then inline version and framed module info.
    fn inline_blob(version: &str, modinfo: &str) -> Vec<u8> {
        let mut b = BUILDINFO_MAGIC.to_vec();
        b.extend_from_slice(&[8, 2]);
        b.resize(BUILDINFO_HEADER, 0);
        varint(version.len() as u64, &mut b);
        b.extend_from_slice(version.as_bytes());
        let m = framed(modinfo);
        varint(m.len() as u64, &mut b);
        b.extend_from_slice(&m);
        b
    }

    fn detect_bytes(data: &[u8]) -> Result<Detection, DetectError> {
        GoBinary.detect(&FileInput { path: "/usr/bin/app", mode: 0o755, data })
    }

    fn names(d: &Detection) -> Vec<(String, String)> {
        d.packages.iter().map(|p| (p.name.clone(), p.version.clone())).collect()
    }

    const MODINFO: &str = "path\texample.com/app/cmd/app\n\
        mod\texample.com/app\tv1.2.3\th1:abc=\n\
        dep\tgithub.com/a/b\tv0.1.0\th1:x=\n\
        dep\tgithub.com/old/c\tv1.0.0\n\
        =>\tgithub.com/fork/c\tv1.0.1\th1:y=\n\
        dep\tgithub.com/local/d\tv0.0.0\n\
        =>\t../d\t(devel)\t\n\
        build\t-compiler=gc\n\
        build\tGOOS=linux\n";

    fn p(n: &str, v: &str) -> (String, String) {
        (n.to_string(), v.to_string())
    }

    #[test]
    fn reads_inline_build_info_from_section() {
        let bin = elf(Some(".go.buildinfo"), &inline_blob("go1.22.5", MODINFO));
        let d = detect_bytes(&bin).unwrap();
        assert_eq!(
            names(&d),
            vec![
                p("example.com/app", "v1.2.3"),
                p("github.com/a/b", "v0.1.0"),
                p("github.com/fork/c", "v1.0.1"),
                p("../d", "(devel)"),
                p("stdlib", "go1.22.5"),
            ]
        );
        assert!(d.warnings.is_empty(), "{:?}", d.warnings);
        assert!(d.packages.iter().all(|p| p.kind == PackageType::GoModule && p.location.path == "/usr/bin/app"));
    }

    #[test]
    fn finds_header_in_first_writable_segment_without_sections() {
        // Stripped section headers: Go falls back to the data segment, 16-byte aligned.
        let mut payload = vec![0u8; 48];
        // A decoy magic at an unaligned offset must be skipped.
        payload[3..3 + BUILDINFO_MAGIC.len()].copy_from_slice(BUILDINFO_MAGIC);
        payload.extend(inline_blob("go1.21.0 X:boringcrypto", MODINFO));
        let d = detect_bytes(&elf(None, &payload)).unwrap();
        assert_eq!(d.packages.len(), 5);
        assert_eq!(names(&d)[4], p("stdlib", "go1.21.0"));
    }

    #[test]
    fn reads_pre_118_pointer_format() {
        // Header, then two string headers (ptr, len), then the bytes they point at.
        let version = b"go1.16.15";
        let modinfo = framed("path\tx.io/y\nmod\tx.io/y\tv0.3.0\t\ndep\tx.io/z\tv1.0.0\th1:q=\n");
        let hdrs = VADDR + 32;
        let vers_at = hdrs + 32;
        let mod_at = vers_at + version.len() as u64;
        let mut b = BUILDINFO_MAGIC.to_vec();
        b.extend_from_slice(&[8, 0]);
        b.extend_from_slice(&hdrs.to_le_bytes());
        b.extend_from_slice(&(hdrs + 16).to_le_bytes());
        for v in [vers_at, version.len() as u64, mod_at, modinfo.len() as u64] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        b.extend_from_slice(version);
        b.extend_from_slice(&modinfo);
        let d = detect_bytes(&elf(Some(".go.buildinfo"), &b)).unwrap();
        assert_eq!(names(&d), vec![p("x.io/y", "v0.3.0"), p("x.io/z", "v1.0.0"), p("stdlib", "go1.16.15")]);

        // The same with pointers that lead outside the image: an error, not a panic.
        let mut bad = b.clone();
        bad[16..24].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(detect_bytes(&elf(Some(".go.buildinfo"), &bad)).is_err());
        // A string header claiming a huge length.
        let mut huge = b.clone();
        huge[40..48].copy_from_slice(&(u64::MAX - 3).to_le_bytes());
        assert!(detect_bytes(&elf(Some(".go.buildinfo"), &huge)).is_err());
    }

    #[test]
    fn main_path_only_is_main_module_in_devel() {
        // Debian's builds: a path line and build settings, no mod line.
        let info = "path\tgithub.com/opencontainers/umoci/cmd/umoci\nbuild\t-compiler=gc\n";
        let d = detect_bytes(&elf(Some(".go.buildinfo"), &inline_blob("go1.19.8", info))).unwrap();
        assert_eq!(names(&d), vec![p("github.com/opencontainers/umoci/cmd/umoci", "(devel)"), p("stdlib", "go1.19.8")]);
    }

    #[test]
    fn no_module_info_still_reports_toolchain() {
        // GOPATH-mode build: a version, module info without sentinels.
        let mut b = BUILDINFO_MAGIC.to_vec();
        b.extend_from_slice(&[8, 2]);
        b.resize(BUILDINFO_HEADER, 0);
        b.extend_from_slice(b"\x08go1.15.2\x00");
        let d = detect_bytes(&elf(Some(".go.buildinfo"), &b)).unwrap();
        assert_eq!(names(&d), vec![p("stdlib", "go1.15.2")]);
    }

    #[test]
    fn devel_main_version_from_ldflags_then_vcs() {
        let base = "path\tgithub.com/anchore/syft/cmd/syft\nmod\tgithub.com/anchore/syft\t(devel)\t\n";
        let with = |extra: &str| {
            let info = format!("{base}{extra}");
            let d = detect_bytes(&elf(Some(".go.buildinfo"), &inline_blob("go1.23.4", &info))).unwrap();
            d.packages[0].version.clone()
        };
        assert_eq!(
            with("build\t-ldflags=\"-w -s -X main.gitCommit=5e16e50 -X main.version=1.18.1 \"\nbuild\tvcs.revision=5e16e5031a13f8a1\nbuild\tvcs.time=2024-12-13T18:30:11Z\n"),
            "v1.18.1"
        );
        assert_eq!(
            with("build\tvcs.revision=5e16e5031a13f8a11057\nbuild\tvcs.time=2024-12-13T18:30:11Z\n"),
            "v0.0.0-20241213183011-5e16e5031a13"
        );
        assert_eq!(with("build\tvcs.revision=abc\n"), "(devel)");
        assert_eq!(with(""), "(devel)");
    }

    #[test]
    fn ldflags_patterns() {
        let m = "github.com/aquasecurity/trivy";
        let v = |l: &str| version_from_ldflags(l, m);
        assert_eq!(v("-s -w -X github.com/aquasecurity/trivy/pkg/version/app.ver=0.59.1").as_deref(), Some("v0.59.1"));
        assert_eq!(v("-X main.Version=v2.0.0-rc1").as_deref(), Some("v2.0.0-rc1"));
        assert_eq!(v("-X main.buildTag=refs/tags/1.2.3").as_deref(), Some("v1.2.3"));
        assert_eq!(v("-X main.gitCommit=1.2.3"), None);
        assert_eq!(v("-X other.com/x.version=1.2.3"), None);
        assert_eq!(v("-X main.version=dev"), None);
        assert_eq!(v("=== = =.= main.version="), None);
        assert_eq!(semver_prefix("12345x"), Some("12345x"));
        assert_eq!(semver_prefix("1.2"), None);
        assert_eq!(semver_prefix("v1.2.3+meta"), Some("v1.2.3"));
    }

    /// Hostile ldflags (one long token of `=`): each `=` used to rescan the token, so 200 KB
    /// took minutes. Real ldflags are a few hundred bytes.
    #[test]
    fn huge_ldflags_are_not_quadratic() {
        let start = std::time::Instant::now();
        let l = format!("{} -X main.version=1.2.3", "a=".repeat(100_000));
        assert_eq!(version_from_ldflags(&l, "example.com/m"), None);
        assert!(start.elapsed().as_secs() < 2, "{:?}", start.elapsed());
        let l = format!("{} -X main.version=1.2.3", "-s ".repeat(1000));
        assert_eq!(version_from_ldflags(&l, "example.com/m").as_deref(), Some("v1.2.3"));
    }

    #[test]
    fn build_setting_quoting() {
        assert_eq!(
            build_setting("-ldflags=\"-X main.v=1 \\\"q\\\"\""),
            Some(("-ldflags".into(), "-X main.v=1 \"q\"".into()))
        );
        assert_eq!(build_setting("\"a=b\"=c"), Some(("a=b".into(), "c".into())));
        assert_eq!(build_setting("=x"), None);
        assert_eq!(build_setting("\"unterminated=x"), None);
        assert_eq!(build_setting("k=\"bad\\q\""), None);
    }

    #[test]
    fn modinfo_bad_lines_warn() {
        let mut w = Vec::new();
        let bi = parse_modinfo("=>\tx\tv1\ndep\tonly-path\ndep\ta\tv1\n=>\tb\ndep\t\tv1\nbuild\tnovalue\n", &mut w);
        assert_eq!(bi.deps.len(), 1);
        assert_eq!(bi.deps[0].replace, None);
        assert_eq!(w.len(), 5, "{w:?}");
    }

    #[test]
    fn hostile_blobs_fail_cleanly() {
        let header = |flags: u8| {
            let mut b = BUILDINFO_MAGIC.to_vec();
            b.extend_from_slice(&[8, flags]);
            b.resize(BUILDINFO_HEADER, 0);
            b
        };
        let cases: Vec<Vec<u8>> = vec![
            // Inline flag, then nothing.
            header(2),
            // A varint that never ends.
            [header(2), vec![0xff; 12]].concat(),
            // A 10-byte varint overflowing 64 bits.
            [header(2), vec![0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]].concat(),
            // A length far past the data.
            [header(2), vec![0xff, 0xff, 0xff, 0xff, 0x0f], b"go1.2".to_vec()].concat(),
            // Version fine, module info length lies.
            [header(2), b"\x06go1.20\xff\x7f".to_vec()].concat(),
            // Empty version.
            [header(2), b"\x00\x00".to_vec()].concat(),
            // Pointer format, pointers to nowhere.
            [header(0), vec![0xab; 16]].concat(),
            [header(1), vec![0xab; 16]].concat(),
        ];
        for (i, blob) in cases.iter().enumerate() {
            let r = detect_bytes(&elf(Some(".go.buildinfo"), blob));
            assert!(r.is_err(), "case {i}: {r:?}");
        }
        // Magic with fewer than 32 bytes after it, or misaligned: not Go, no error.
        let mut short = BUILDINFO_MAGIC.to_vec();
        short.extend_from_slice(&[8, 2, 0]);
        let d = detect_bytes(&elf(Some(".go.buildinfo"), &short)).unwrap();
        assert!(d.packages.is_empty());
        let d = detect_bytes(&elf(Some(".go.buildinfo"), &[&[0u8][..], &header(2)].concat())).unwrap();
        assert!(d.packages.is_empty());
    }

    #[test]
    fn truncated_and_non_go_executables() {
        let bin = elf(Some(".go.buildinfo"), &inline_blob("go1.22.5", MODINFO));
        // Every truncation: never a panic; an error or nothing.
        for cut in (0..bin.len()).step_by(7) {
            let _ = detect_bytes(&bin[..cut]);
        }
        // Misaligned input is copied, not refused.
        let mut shifted = vec![0u8; bin.len() + 1];
        shifted[1..].copy_from_slice(&bin);
        assert_eq!(detect_bytes(&shifted[1..]).unwrap().packages.len(), 5);
        // An ELF without build info, and things that are not executables at all.
        for data in [
            elf(Some(".data"), &[0u8; 100]),
            b"\x7fELF garbage".to_vec(),
            b"\xca\xfe\xba\xbe\x00\x00\x00\x3d rest of a class".to_vec(),
            b"MZ".to_vec(),
            Vec::new(),
        ] {
            assert!(detect_bytes(&data).unwrap().packages.is_empty());
        }
    }

    #[test]
    fn matches_executables_only() {
        assert!(GoBinary.matches("/usr/bin/x", 0o755));
        assert!(GoBinary.matches("/usr/bin/x", 0o100_744));
        assert!(!GoBinary.matches("/usr/bin/x", 0o644));
        assert!(!GoBinary.matches("/usr/bin/x", 0o120_777)); // symlink
        assert!(!GoBinary.matches("/usr/bin", 0o040_755)); // directory
        assert!(GoBinary.magic().contains(&&b"\x7fELF"[..]));
        assert_eq!(GoBinary.max_size(), 64 << 20);
        assert!(GoBinary.seekable());
    }

    /// The Go binary at `path`; `None` when it is not installed (SKIPPED locally, a failure
    /// under CI: .ci/run installs it).
    fn real(path: &str) -> Option<Detection> {
        let name = path.rsplit('/').next().unwrap_or(path);
        bulwark_testkit::file(path, bulwark_testkit::install_hint(name))?;
        let data = std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"));
        Some(GoBinary.detect(&FileInput { path, mode: 0o755, data: &data }).unwrap_or_else(|e| panic!("{path}: {e}")))
    }

    fn version_of<'a>(d: &'a Detection, name: &str) -> Option<&'a str> {
        d.packages.iter().find(|p| p.name == name).map(|p| p.version.as_str())
    }

    #[test]
    fn real_syft_and_trivy_binaries() {
        let peers = bulwark_testkit::peers_bin();
        for (bin, main, main_version, go, dep) in [
            ("syft", "github.com/anchore/syft", "v1.18.1", "go1.23.4", "github.com/anchore/stereoscope"),
            ("trivy", "github.com/aquasecurity/trivy", "v0.59.1", "go1.23.5", "github.com/aquasecurity/trivy-db"),
        ] {
            let Some(d) = real(peers.join(bin).to_str().unwrap()) else {
                continue;
            };
            assert!(d.warnings.is_empty(), "{bin}: {:?}", d.warnings);
            assert!(d.packages.len() > 150, "{bin}: {}", d.packages.len());
            assert_eq!(version_of(&d, main), Some(main_version), "{bin}");
            assert_eq!(version_of(&d, "stdlib"), Some(go), "{bin}");
            for name in [dep, "github.com/spf13/cobra"] {
                let v = version_of(&d, name);
                assert!(v.is_some_and(|v| v.starts_with('v')), "{bin}: {name} {v:?}");
            }
            eprintln!("{bin}: {} Go modules", d.packages.len());
        }
    }

    /// Issue 10, D11: a hostile executable (600 MiB, sparse) whose symbol table claims
    /// 300 MiB: the seeking read refuses it at the budget and says so, nothing is allocated.
    #[test]
    fn seeking_read_budget_is_an_error_naming_it() {
        let mut bin = elf(Some(".go.buildinfo"), &inline_blob("go1.22.5", MODINFO));
        let shoff = u64::from_le_bytes(bin[40..48].try_into().unwrap()) as usize;
        let sh = shoff + 64; // section 1
        bin[sh + 4..sh + 8].copy_from_slice(&2u32.to_le_bytes()); // SHT_SYMTAB
        bin[sh + 24..sh + 32].copy_from_slice(&0u64.to_le_bytes()); // offset
        bin[sh + 32..sh + 40].copy_from_slice(&(300u64 << 20).to_le_bytes()); // size
        bin[sh + 40..sh + 44].copy_from_slice(&2u32.to_le_bytes()); // link: a string table
        bin[sh + 56..sh + 64].copy_from_slice(&24u64.to_le_bytes()); // entsize
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big");
        std::fs::write(&path, &bin).unwrap();
        File::options().write(true).open(&path).unwrap().set_len(600 << 20).unwrap();
        let f = File::open(&path).unwrap();
        let e = GoBinary.detect_file("/big", 0o755, &f).unwrap_err().to_string();
        assert!(e.contains("more than 256 MiB (limit SEEK_READ_BUDGET)"), "{e}");
    }

    /// A universal binary's slices are found in memory and by seeking alike (the slice here
    /// holds an ELF: `object` parses any format in a slice).
    #[test]
    fn universal_binary_slices_in_memory_and_by_seeking() {
        let bin = elf(Some(".go.buildinfo"), &inline_blob("go1.22.5", MODINFO));
        let mut fat = Vec::new();
        for v in [0xcafe_babe_u32, 1, 7, 3, 4096, bin.len() as u32, 12] {
            fat.extend_from_slice(&v.to_be_bytes());
        }
        fat.resize(4096, 0);
        fat.extend_from_slice(&bin);
        let d = detect_bytes(&fat).unwrap();
        assert_eq!(d.packages.len(), 5, "{d:?}");
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("fat"), &fat).unwrap();
        let f = File::open(dir.path().join("fat")).unwrap();
        assert_eq!(GoBinary.detect_file("/usr/bin/app", 0o755, &f).unwrap(), d);
        // A slice past the end of the file: nothing, no error.
        fat.truncate(4096 + 100);
        let f = File::create(dir.path().join("cut")).unwrap();
        std::io::Write::write_all(&mut &f, &fat).unwrap();
        let f = File::open(dir.path().join("cut")).unwrap();
        assert!(GoBinary.detect_file("/cut", 0o755, &f).unwrap().packages.is_empty());
    }

    /// Issue 10, D11: a Go binary bigger than any in-memory limit (a real one with a sparse
    /// tail of 600 MiB, its sections intact) is read by seeking: the same modules as the
    /// binary itself, reading a few MiB.
    #[test]
    fn big_go_binary_is_read_by_seeking() {
        let syft = bulwark_testkit::require_peer!("syft");
        let data = std::fs::read(&syft).unwrap_or_else(|e| panic!("{}: {e}", syft.display()));
        let small = GoBinary.detect(&FileInput { path: "/syft", mode: 0o755, data: &data }).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("syft");
        std::fs::write(&big, &data).unwrap();
        let f = File::options().write(true).open(&big).unwrap();
        f.set_len(600 << 20).unwrap();
        let f = File::open(&big).unwrap();
        assert!(f.metadata().unwrap().len() > GoBinary.max_size());
        let seeked = GoBinary.detect_file("/syft", 0o755, &f).unwrap();
        assert!(seeked.packages.len() > 150, "{}", seeked.packages.len());
        assert_eq!(seeked, small);

        // How much the seeking path read: the budget left says.
        let cache = ReadCache::new(&f);
        let budget = Budget::new();
        detect_go(Seeking::new(&cache, &budget, 600 << 20), "/syft").unwrap();
        let read = SEEK_READ_BUDGET - budget.left.get();
        assert!(read < 32 << 20, "read {read} bytes");
        eprintln!("syft with a 600 MiB tail: {} modules, {read} bytes read", seeked.packages.len());

        // A budget too small for the headers: an error naming the limit, not silence.
        let tight = Budget { left: Cell::new(1000), exhausted: Cell::new(false) };
        let _ = detect_go(Seeking::new(&cache, &tight, 600 << 20), "/syft");
        assert!(tight.check("Go build info").unwrap_err().to_string().contains("SEEK_READ_BUDGET"));
    }

    #[test]
    fn real_debian_go_binaries() {
        for (path, main) in [
            ("/usr/bin/docker-registry", "github.com/docker/distribution/cmd/registry"),
            ("/usr/bin/skopeo", "github.com/containers/skopeo/cmd/skopeo"),
            ("/usr/bin/umoci", "github.com/opencontainers/umoci/cmd/umoci"),
        ] {
            let Some(d) = real(path) else { continue };
            assert_eq!(version_of(&d, main), Some("(devel)"), "{path}: {d:?}");
            assert!(version_of(&d, "stdlib").is_some_and(|v| v.starts_with("go1.")), "{path}: {d:?}");
        }
        // A C program: nothing, fast.
        if let Some(d) = real("/bin/ls") {
            assert!(d.packages.is_empty());
        }
    }

    #[test]
    fn gomod_require_and_replace() {
        let text = r#"module example.com/app

go 1.22
toolchain go1.22.5

require github.com/single/one v1.0.0 // a comment

require (
	github.com/a/b v1.2.3
	github.com/c/d v0.0.0-20230101000000-abcdef123456 // indirect
	"github.com/quoted/e" v2.0.0+incompatible
	github.com/f/g v1.0.0
	github.com/h/i v1.1.0
)

replace github.com/a/b => github.com/fork/b v1.2.4

replace (
	github.com/f/g v1.0.0 => ../local/g
	github.com/f/g v9.9.9 => github.com/never/g v9.9.9
	github.com/h/i v1.0.0 => github.com/wrong/i v1.0.0
	github.com/not/required => github.com/x/y v1.0.0
)

exclude github.com/a/b v1.0.0
retract [v1.0.0, v1.0.5]
"#;
        let d = GoMod.detect(&FileInput { path: "/src/go.mod", mode: 0o644, data: text.as_bytes() }).unwrap();
        assert_eq!(
            names(&d),
            vec![
                p("github.com/single/one", "v1.0.0"),
                p("github.com/fork/b", "v1.2.4"),
                p("github.com/c/d", "v0.0.0-20230101000000-abcdef123456"),
                p("github.com/quoted/e", "v2.0.0+incompatible"),
                p("../local/g", "(devel)"),
                p("github.com/h/i", "v1.1.0"),
            ]
        );
        assert!(d.warnings.is_empty(), "{:?}", d.warnings);
        assert!(GoMod.matches("/src/go.mod", 0o644));
        assert!(!GoMod.matches("/src/go.mod.bak", 0o644));
    }

    /// A hostile go.mod with 50k requires and 50k replaces: resolving each requirement must not
    /// scan every replace (that took minutes).
    #[test]
    fn gomod_many_replaces_are_linear() {
        let mut text = String::from("require (\n");
        for i in 0..50_000 {
            text.push_str(&format!("  m{i} v1.0.0\n"));
        }
        text.push_str(")\nreplace (\n");
        for i in 0..50_000 {
            text.push_str(&format!("  r{i} => s{i} v1.0.0\n"));
        }
        text.push_str("  m7 => n7 v2.0.0\n  m8 v1.0.0 => n8 v3.0.0\n  m8 => n8 v9.0.0\n  m9 => ./local\n)\n");
        let start = std::time::Instant::now();
        let d = GoMod.detect(&FileInput { path: "/go.mod", mode: 0o644, data: text.as_bytes() }).unwrap();
        assert!(start.elapsed().as_secs() < 5, "{:?}", start.elapsed());
        assert_eq!(d.packages.len(), 50_000);
        let got: Vec<(&str, &str)> = d.packages.iter().map(|p| (p.name.as_str(), p.version.as_str())).collect();
        assert_eq!(got[..3], [("m0", "v1.0.0"), ("m1", "v1.0.0"), ("m2", "v1.0.0")]);
        assert_eq!(got[7..10], [("n7", "v2.0.0"), ("n8", "v3.0.0"), ("./local", "(devel)")]);
    }

    #[test]
    fn gomod_malformed() {
        let d = GoMod
            .detect(&FileInput {
                path: "/go.mod",
                mode: 0o644,
                data: b"require (\n  a\n  b v1 extra\n  \"unterminated v1\n  ok/x v1.0.0\nreplace a =>\nreplace => b v1\n",
            })
            .unwrap();
        assert_eq!(names(&d), vec![p("ok/x", "v1.0.0")]);
        // Three bad requires, then `replace ...` read as a (bad) require inside the open
        // block, twice, then the unclosed block.
        assert_eq!(d.warnings.len(), 6, "{:?}", d.warnings);
        assert!(GoMod.detect(&FileInput { path: "/go.mod", mode: 0o644, data: b"\xff\xfe" }).is_err());
    }
}
