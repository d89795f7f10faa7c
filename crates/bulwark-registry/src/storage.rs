//! Content storage behind one trait: blobs by digest and in-progress uploads. The local
//! filesystem is the embedded default; the trait speaks in streams and whole small objects so
//! that an S3-compatible store fits it (multipart uploads for `upload_*`, ranged GETs for `get`).
//!
//! Crash safety on the filesystem: a blob only ever appears under its digest by linking a
//! fully written, fsynced and verified file, so a killed server never serves half a blob or
//! the wrong bytes; what a kill leaves behind is a temp file or an upload, which startup and
//! GC clean.
//!
//! A committed blob is never written again (issue 10, D1): requests on one upload are
//! exclusive (a second one while the first runs is refused with [`StorageError::UploadBusy`]),
//! a commit first moves the upload to a private temp name that no request can open, and the
//! blob is installed with a no-replace link, so an existing blob (maybe shared by other
//! projects) is never swapped for another file: the upload is simply discarded.

use async_trait::async_trait;
use bulwark_oci::{Algorithm, Digest, Hasher};
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use std::collections::{HashMap, HashSet};
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Mutex;
use std::time::SystemTime;
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

pub type ByteStream = Pin<Box<dyn Stream<Item = io::Result<Bytes>> + Send>>;

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("blob unknown: {0}")]
    BlobUnknown(String),
    #[error("upload unknown: {0}")]
    UploadUnknown(String),
    #[error("digest mismatch: expected {expected}, content is {actual}")]
    DigestMismatch { expected: String, actual: String },
    #[error("upload {0} is busy with another request; retry when it has finished")]
    UploadBusy(String),
    #[error("upload {id}: chunk starts at {got}, but {have} bytes are stored")]
    OutOfOrder { id: String, have: u64, got: u64 },
    #[error("range {start}-{end} is outside a blob of {size} bytes")]
    BadRange { start: u64, end: u64, size: u64 },
    #[error("{what} is larger than the {limit}-byte limit")]
    TooLarge { what: String, limit: u64 },
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("request body: {0}")]
    Body(io::Error),
}

pub type Result<T> = std::result::Result<T, StorageError>;

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> StorageError + '_ {
    move |source| StorageError::Io { path: path.to_path_buf(), source }
}

/// One stored blob, as GC sees it.
#[derive(Debug, Clone)]
pub struct BlobInfo {
    pub digest: Digest,
    pub size: u64,
    pub modified: SystemTime,
}

/// A blob's bytes, whole or a range of them.
pub struct BlobRead {
    /// The blob's full size.
    pub size: u64,
    /// The bytes served (the range, or all of them).
    pub len: u64,
    pub body: ByteStream,
}

#[async_trait]
pub trait Storage: Send + Sync + 'static {
    /// A blob's size, or `None` when it is not stored.
    async fn stat(&self, digest: &Digest) -> Result<Option<u64>>;
    /// Stream a blob, or the inclusive byte range `start..=end` of it.
    async fn get(&self, digest: &Digest, range: Option<(u64, Option<u64>)>) -> Result<Option<BlobRead>>;
    /// Read a small blob (a manifest) whole; larger than `max` is an error.
    async fn read_small(&self, digest: &Digest, max: u64) -> Result<Option<Vec<u8>>>;
    /// Store a small blob the caller holds whole; its digest is checked here.
    async fn put_small(&self, digest: &Digest, bytes: &[u8]) -> Result<()>;
    /// Start an upload; returns its id.
    async fn upload_create(&self) -> Result<String>;
    /// Bytes received so far.
    async fn upload_size(&self, id: &str) -> Result<Option<u64>>;
    /// Append a chunk. `offset`, when given, must equal the bytes already stored (OCI's
    /// `Content-Range` rule). Returns the new size. `limit` caps the whole upload.
    async fn upload_append(&self, id: &str, offset: Option<u64>, body: ByteStream, limit: u64) -> Result<u64>;
    /// Verify the upload against `digest` and make it a blob; returns its size.
    async fn upload_commit(&self, id: &str, digest: &Digest) -> Result<u64>;
    async fn upload_abort(&self, id: &str) -> Result<()>;
    async fn delete(&self, digest: &Digest) -> Result<bool>;
    async fn list(&self) -> Result<Vec<BlobInfo>>;
    /// In-progress uploads with the time of their last write.
    async fn list_uploads(&self) -> Result<Vec<(String, SystemTime)>>;
    /// A directory laid out as an OCI layout's `blobs/<algorithm>/<hex>`, when blobs are
    /// local files: scanning reads layers from it in place.
    fn local_root(&self) -> Option<&Path>;
    /// Hash a stored blob: `Some(true)` when its content is its digest, `None` when it is gone.
    async fn verify(&self, digest: &Digest) -> Result<Option<bool>>;
    /// Take a damaged blob out of service (kept aside for inspection, no longer served);
    /// false when it was gone already.
    async fn quarantine(&self, digest: &Digest) -> Result<bool>;
}

/// Blobs under `ROOT/blobs/<algorithm>/<hex>` (the OCI layout's own shape: `sha256` and
/// `sha512` side by side), uploads under
/// `ROOT/uploads/<id>`, temp files under `ROOT/tmp`, damaged blobs GC found under
/// `ROOT/quarantine/<hex>`.
pub struct FsStorage {
    root: PathBuf,
    /// Running sha256 hashes of uploads written in order, so that committing does not re-read
    /// them. Lost on restart; a commit then hashes the file, as it does for sha512 (the
    /// algorithm is only known at commit, and sha256 is what clients use).
    hashers: Mutex<HashMap<String, (Hasher, u64)>>,
    /// Uploads a request is working on (see the module docs).
    busy: std::sync::Arc<Mutex<HashSet<String>>>,
}

/// Exclusive use of one upload while it lives; dropped with the request, also when the
/// client goes away mid-body.
struct UploadClaim {
    busy: std::sync::Arc<Mutex<HashSet<String>>>,
    id: String,
}

impl Drop for UploadClaim {
    fn drop(&mut self) {
        self.busy.lock().unwrap_or_else(|p| p.into_inner()).remove(&self.id);
    }
}

impl FsStorage {
    pub fn open(root: &Path) -> Result<FsStorage> {
        for d in ["blobs/sha256", "blobs/sha512", "uploads", "tmp", "quarantine"] {
            let p = root.join(d);
            std::fs::create_dir_all(&p).map_err(io_err(&p))?;
        }
        // Temp files are only ever what a killed server was writing or committing.
        let tmp = root.join("tmp");
        if let Ok(rd) = std::fs::read_dir(&tmp) {
            for e in rd.flatten() {
                let _ = std::fs::remove_file(e.path());
            }
        }
        Ok(FsStorage {
            root: root.to_path_buf(),
            hashers: Mutex::new(HashMap::new()),
            busy: std::sync::Arc::new(Mutex::new(HashSet::new())),
        })
    }

    fn blob_path(&self, d: &Digest) -> PathBuf {
        self.root.join("blobs").join(d.algorithm().name()).join(d.hex())
    }

    /// Upload ids are ours (UUIDs), but they come back in URLs: anything else is unknown.
    fn upload_path(&self, id: &str) -> Option<PathBuf> {
        uuid::Uuid::parse_str(id).ok().filter(|u| u.hyphenated().to_string() == id)?;
        Some(self.root.join("uploads").join(id))
    }

    fn hashers(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Hasher, u64)>> {
        self.hashers.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Claim `id` for this request, or refuse: two requests on one upload never overlap.
    fn claim(&self, id: &str) -> Result<UploadClaim> {
        let mut busy = self.busy.lock().unwrap_or_else(|p| p.into_inner());
        if !busy.insert(id.to_string()) {
            return Err(StorageError::UploadBusy(id.to_string()));
        }
        Ok(UploadClaim { busy: self.busy.clone(), id: id.to_string() })
    }

    fn temp_path(&self) -> PathBuf {
        self.root.join("tmp").join(uuid::Uuid::new_v4().to_string())
    }

    /// fsync the private file `from`, link it as `dest` unless `dest` exists (an existing blob
    /// holds the same verified content and may be in use: it is never replaced), drop `from`,
    /// and fsync the directory so the new name is durable.
    async fn install(&self, file: tokio::fs::File, from: &Path, dest: &Path) -> Result<()> {
        file.sync_all().await.map_err(io_err(from))?;
        drop(file);
        // link(2) fails with EEXIST rather than replacing: no window where a check and a
        // rename could both pass.
        let linked = match tokio::fs::hard_link(from, dest).await {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
            Err(e) => Err(StorageError::Io { path: dest.to_path_buf(), source: e }),
        };
        let _ = tokio::fs::remove_file(from).await;
        if linked? {
            if let Some(dir) = dest.parent() {
                if let Ok(d) = tokio::fs::File::open(dir).await {
                    let _ = d.sync_all().await;
                }
            }
        }
        Ok(())
    }
}

/// The digest of a file read in 1 MiB pieces.
async fn hash_file(f: &mut tokio::fs::File, path: &Path, algorithm: Algorithm) -> Result<Digest> {
    let mut h = algorithm.hasher();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).await.map_err(io_err(path))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finish())
}

#[async_trait]
impl Storage for FsStorage {
    async fn stat(&self, digest: &Digest) -> Result<Option<u64>> {
        let p = self.blob_path(digest);
        match tokio::fs::metadata(&p).await {
            Ok(m) if m.is_file() => Ok(Some(m.len())),
            Ok(_) => Ok(None),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StorageError::Io { path: p, source: e }),
        }
    }

    async fn get(&self, digest: &Digest, range: Option<(u64, Option<u64>)>) -> Result<Option<BlobRead>> {
        let p = self.blob_path(digest);
        let mut f = match tokio::fs::File::open(&p).await {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(StorageError::Io { path: p, source: e }),
        };
        let size = f.metadata().await.map_err(io_err(&p))?.len();
        let (start, len) = match range {
            None => (0, size),
            Some((start, end)) => {
                let end = end.unwrap_or(size.saturating_sub(1)).min(size.saturating_sub(1));
                if start >= size || end < start {
                    return Err(StorageError::BadRange { start, end, size });
                }
                (start, end - start + 1)
            }
        };
        if start > 0 {
            f.seek(io::SeekFrom::Start(start)).await.map_err(io_err(&p))?;
        }
        let body = tokio_util::io::ReaderStream::with_capacity(f.take(len), 256 << 10);
        Ok(Some(BlobRead { size, len, body: Box::pin(body) }))
    }

    async fn read_small(&self, digest: &Digest, max: u64) -> Result<Option<Vec<u8>>> {
        let p = self.blob_path(digest);
        let f = match tokio::fs::File::open(&p).await {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(StorageError::Io { path: p, source: e }),
        };
        let mut buf = Vec::new();
        f.take(max + 1).read_to_end(&mut buf).await.map_err(io_err(&p))?;
        if buf.len() as u64 > max {
            return Err(StorageError::TooLarge { what: format!("blob {digest}"), limit: max });
        }
        Ok(Some(buf))
    }

    async fn put_small(&self, digest: &Digest, bytes: &[u8]) -> Result<()> {
        let actual = digest.algorithm().digest(bytes);
        if &actual != digest {
            return Err(StorageError::DigestMismatch { expected: digest.to_string(), actual: actual.to_string() });
        }
        let dest = self.blob_path(digest);
        if tokio::fs::metadata(&dest).await.is_ok() {
            return Ok(());
        }
        let tmp = self.temp_path();
        let mut f = tokio::fs::File::create(&tmp).await.map_err(io_err(&tmp))?;
        f.write_all(bytes).await.map_err(io_err(&tmp))?;
        self.install(f, &tmp, &dest).await
    }

    async fn upload_create(&self) -> Result<String> {
        let id = uuid::Uuid::new_v4().hyphenated().to_string();
        let p = self.root.join("uploads").join(&id);
        tokio::fs::File::create(&p).await.map_err(io_err(&p))?;
        self.hashers().insert(id.clone(), (Algorithm::Sha256.hasher(), 0));
        Ok(id)
    }

    async fn upload_size(&self, id: &str) -> Result<Option<u64>> {
        let Some(p) = self.upload_path(id) else { return Ok(None) };
        match tokio::fs::metadata(&p).await {
            Ok(m) => Ok(Some(m.len())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StorageError::Io { path: p, source: e }),
        }
    }

    async fn upload_append(&self, id: &str, offset: Option<u64>, mut body: ByteStream, limit: u64) -> Result<u64> {
        let p = self.upload_path(id).ok_or_else(|| StorageError::UploadUnknown(id.to_string()))?;
        // Held until the chunk is written or rolled back: no commit can take the file from
        // under this handle, so the rollback below can only ever shorten the upload.
        let _claim = self.claim(id)?;
        let mut f = match tokio::fs::OpenOptions::new().append(true).open(&p).await {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(StorageError::UploadUnknown(id.to_string())),
            Err(e) => return Err(StorageError::Io { path: p, source: e }),
        };
        let have = f.metadata().await.map_err(io_err(&p))?.len();
        if let Some(off) = offset {
            if off != have {
                return Err(StorageError::OutOfOrder { id: id.to_string(), have, got: off });
            }
        }
        // The running hash is only valid while every byte went through it.
        let mut hasher = self.hashers().remove(id).filter(|(_, n)| *n == have);
        let mut size = have;
        let mut w = tokio::io::BufWriter::with_capacity(256 << 10, &mut f);
        let res: Result<()> = async {
            while let Some(chunk) = body.next().await {
                let chunk = chunk.map_err(StorageError::Body)?;
                size += chunk.len() as u64;
                if size > limit {
                    return Err(StorageError::TooLarge { what: format!("upload {id}"), limit });
                }
                if let Some((h, n)) = hasher.as_mut() {
                    h.update(&chunk);
                    *n += chunk.len() as u64;
                }
                w.write_all(&chunk).await.map_err(io_err(&p))?;
            }
            w.flush().await.map_err(io_err(&p))?;
            Ok(())
        }
        .await;
        if let Err(e) = res {
            // A failed chunk is not kept: the upload goes back to its last good size, so a
            // client resuming from what `upload_size` says gets a consistent file.
            drop(w);
            let _ = f.set_len(have).await;
            return Err(e);
        }
        if let Some(h) = hasher {
            self.hashers().insert(id.to_string(), h);
        }
        Ok(size)
    }

    async fn upload_commit(&self, id: &str, digest: &Digest) -> Result<u64> {
        let p = self.upload_path(id).ok_or_else(|| StorageError::UploadUnknown(id.to_string()))?;
        let _claim = self.claim(id)?;
        // Private from here on: no request can open the upload by its id any more.
        let private = self.temp_path();
        match tokio::fs::rename(&p, &private).await {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(StorageError::UploadUnknown(id.to_string())),
            Err(e) => return Err(StorageError::Io { path: p, source: e }),
        }
        let mut f = tokio::fs::File::open(&private).await.map_err(io_err(&private))?;
        let size = f.metadata().await.map_err(io_err(&private))?.len();
        let running = self.hashers().remove(id).filter(|(h, n)| *n == size && h.algorithm() == digest.algorithm());
        let actual = match running {
            Some((h, _)) => h.finish(),
            None => hash_file(&mut f, &private, digest.algorithm()).await?,
        };
        if &actual != digest {
            // The upload is dropped, as the spec allows: its content can never become this blob.
            drop(f);
            let _ = tokio::fs::remove_file(&private).await;
            return Err(StorageError::DigestMismatch { expected: digest.to_string(), actual: actual.to_string() });
        }
        let dest = self.blob_path(digest);
        self.install(f, &private, &dest).await?;
        Ok(size)
    }

    async fn upload_abort(&self, id: &str) -> Result<()> {
        let p = self.upload_path(id).ok_or_else(|| StorageError::UploadUnknown(id.to_string()))?;
        let _claim = self.claim(id)?;
        self.hashers().remove(id);
        match tokio::fs::remove_file(&p).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Err(StorageError::UploadUnknown(id.to_string())),
            Err(e) => Err(StorageError::Io { path: p, source: e }),
        }
    }

    async fn delete(&self, digest: &Digest) -> Result<bool> {
        let p = self.blob_path(digest);
        match tokio::fs::remove_file(&p).await {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(StorageError::Io { path: p, source: e }),
        }
    }

    async fn list(&self) -> Result<Vec<BlobInfo>> {
        let mut out = Vec::new();
        for alg in Algorithm::ALL {
            let dir = self.root.join("blobs").join(alg.name());
            // A store created before sha512 support has no such directory until reopened.
            let mut rd = match tokio::fs::read_dir(&dir).await {
                Ok(rd) => rd,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(StorageError::Io { path: dir, source: e }),
            };
            while let Some(e) = rd.next_entry().await.map_err(io_err(&dir))? {
                let name = e.file_name();
                let Some(name) = name.to_str() else { continue };
                let Ok(digest) = Digest::parse(&format!("{}:{name}", alg.name())) else { continue };
                let Ok(m) = e.metadata().await else { continue };
                out.push(BlobInfo { digest, size: m.len(), modified: m.modified().unwrap_or(SystemTime::UNIX_EPOCH) });
            }
        }
        Ok(out)
    }

    async fn list_uploads(&self) -> Result<Vec<(String, SystemTime)>> {
        let dir = self.root.join("uploads");
        let mut rd = tokio::fs::read_dir(&dir).await.map_err(io_err(&dir))?;
        let mut out = Vec::new();
        while let Some(e) = rd.next_entry().await.map_err(io_err(&dir))? {
            let Some(name) = e.file_name().to_str().map(str::to_string) else { continue };
            let modified = e.metadata().await.ok().and_then(|m| m.modified().ok()).unwrap_or(SystemTime::UNIX_EPOCH);
            out.push((name, modified));
        }
        Ok(out)
    }

    fn local_root(&self) -> Option<&Path> {
        Some(&self.root)
    }

    async fn verify(&self, digest: &Digest) -> Result<Option<bool>> {
        let p = self.blob_path(digest);
        let mut f = match tokio::fs::File::open(&p).await {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(StorageError::Io { path: p, source: e }),
        };
        Ok(Some(&hash_file(&mut f, &p, digest.algorithm()).await? == digest))
    }

    async fn quarantine(&self, digest: &Digest) -> Result<bool> {
        let p = self.blob_path(digest);
        let dest = self.root.join("quarantine").join(digest.hex());
        // A rename: a reader streaming the old file keeps its handle; new readers get 404 and
        // a push of the blob installs a good copy.
        match tokio::fs::rename(&p, &dest).await {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(StorageError::Io { path: p, source: e }),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn once(b: &'static [u8]) -> ByteStream {
        Box::pin(futures_util::stream::once(async move { Ok(Bytes::from_static(b)) }))
    }

    fn ino(p: &Path) -> u64 {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(p).map(|m| m.ino()).unwrap_or(0)
    }

    /// A request still writing an upload keeps it: a second write, a commit and an abort are
    /// refused until it ends, and its rollback only ever shortens the upload.
    #[tokio::test]
    async fn an_upload_in_use_is_refused_to_other_requests() {
        let dir = tempfile::tempdir().unwrap();
        let s = std::sync::Arc::new(FsStorage::open(dir.path()).unwrap());
        let id = s.upload_create().await.unwrap();
        let (tx, rx) = tokio::sync::mpsc::channel::<io::Result<Bytes>>(1);
        let body: ByteStream = Box::pin(tokio_stream_from(rx));
        let slow = {
            let (s, id) = (s.clone(), id.clone());
            tokio::spawn(async move { s.upload_append(&id, None, body, 1 << 20).await })
        };
        tx.send(Ok(Bytes::from_static(b"first"))).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let d = Digest::of_bytes(b"first");
        assert!(matches!(s.upload_append(&id, None, once(b"x"), 1 << 20).await, Err(StorageError::UploadBusy(_))));
        assert!(matches!(s.upload_commit(&id, &d).await, Err(StorageError::UploadBusy(_))));
        assert!(matches!(s.upload_abort(&id).await, Err(StorageError::UploadBusy(_))));
        // The writer's client goes away: the chunk is rolled back, the upload is free again.
        tx.send(Err(io::Error::other("client gone"))).await.unwrap();
        assert!(matches!(slow.await, Ok(Err(StorageError::Body(_)))));
        assert_eq!(s.upload_size(&id).await.ok().flatten(), Some(0));
        assert_eq!(s.upload_append(&id, Some(0), once(b"first"), 1 << 20).await.ok(), Some(5));
        assert_eq!(s.upload_commit(&id, &d).await.ok(), Some(5));
    }

    /// A second upload of a stored blob is discarded: the stored file is never replaced.
    #[tokio::test]
    async fn an_existing_blob_is_never_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let s = FsStorage::open(dir.path()).unwrap();
        let d = Digest::of_bytes(b"layer");
        for _ in 0..2 {
            let id = s.upload_create().await.unwrap();
            s.upload_append(&id, Some(0), once(b"layer"), 1 << 20).await.unwrap();
            let before = ino(&s.blob_path(&d));
            assert_eq!(s.upload_commit(&id, &d).await.ok(), Some(5));
            if before != 0 {
                assert_eq!(ino(&s.blob_path(&d)), before, "the blob was replaced");
            }
            assert_eq!(s.upload_size(&id).await.ok().flatten(), None, "the upload is gone");
        }
        s.put_small(&d, b"layer").await.unwrap();
        assert_eq!(std::fs::read_dir(dir.path().join("tmp")).map(|r| r.count()).ok(), Some(0));
        assert_eq!(s.verify(&d).await.ok(), Some(Some(true)));
    }

    fn tokio_stream_from(
        mut rx: tokio::sync::mpsc::Receiver<io::Result<Bytes>>,
    ) -> impl Stream<Item = io::Result<Bytes>> + Send {
        futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
    }
}
