//! Read a blob on a helper thread, hashing and counting it there, and hand it over in large
//! chunks: the inflater's thread does nothing but inflate and walk the tar, while the
//! SHA-256 of the compressed bytes runs on another core.

use bulwark_oci::{Algorithm, Digest, Hasher};
use std::io::{self, BufRead, Read};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread::{Scope, ScopedJoinHandle};

const CHUNK: usize = 256 << 10;
/// Chunks in flight: enough to keep both threads busy, small enough to keep memory flat.
const DEPTH: usize = 8;

pub(crate) struct Prefetched {
    rx: Receiver<io::Result<Vec<u8>>>,
    /// Spent chunks go back to the reader: fresh 256 KiB allocations would be mmap'd,
    /// zeroed and page-faulted every time.
    spent: SyncSender<Vec<u8>>,
    cur: Vec<u8>,
    pos: usize,
    done: bool,
}

/// Start reading `raw` on a thread of `scope`. The handle yields the digest (with the algorithm in `hash`)
/// and the byte count once the reader reaches the end or the consumer goes away.
pub(crate) fn spawn<'scope, 'env>(
    scope: &'scope Scope<'scope, 'env>,
    mut raw: Box<dyn Read + Send>,
    hash: Option<Algorithm>,
    count: &'env AtomicU64,
    progress: &'env (dyn Fn(u64) + Sync),
) -> (Prefetched, ScopedJoinHandle<'scope, (Option<Digest>, u64)>) {
    let (tx, rx) = sync_channel::<io::Result<Vec<u8>>>(DEPTH);
    let (spent, recycled) = sync_channel::<Vec<u8>>(DEPTH + 2);
    let handle = scope.spawn(move || {
        let mut hasher = hash.map(Hasher::new);
        let mut total = 0u64;
        loop {
            let mut buf = recycled.try_recv().unwrap_or_default();
            buf.resize(CHUNK, 0);
            let mut filled = 0;
            // Fill the chunk: file reads may come back short.
            let res = loop {
                match raw.read(&mut buf[filled..]) {
                    Ok(0) => break Ok(()),
                    Ok(n) => {
                        filled += n;
                        if filled == CHUNK {
                            break Ok(());
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => break Err(e),
                }
            };
            if let Err(e) = res {
                let _ = tx.send(Err(e));
                break;
            }
            if filled == 0 {
                break;
            }
            buf.truncate(filled);
            if let Some(h) = hasher.as_mut() {
                h.update(&buf);
            }
            total += filled as u64;
            count.fetch_add(filled as u64, Ordering::Relaxed);
            progress(filled as u64);
            if tx.send(Ok(buf)).is_err() {
                break; // the consumer stopped (an error upstream): no need to read on
            }
        }
        (hasher.map(Hasher::finish), total)
    });
    (Prefetched { rx, spent, cur: Vec::new(), pos: 0, done: false }, handle)
}

impl BufRead for Prefetched {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        while self.pos >= self.cur.len() && !self.done {
            match self.rx.recv() {
                Ok(Ok(chunk)) => {
                    let old = std::mem::replace(&mut self.cur, chunk);
                    let _ = self.spent.try_send(old);
                    self.pos = 0;
                }
                Ok(Err(e)) => {
                    self.done = true;
                    return Err(e);
                }
                Err(_) => self.done = true,
            }
        }
        Ok(self.cur.get(self.pos..).unwrap_or(&[]))
    }

    fn consume(&mut self, amt: usize) {
        self.pos = (self.pos + amt).min(self.cur.len());
    }
}

impl Read for Prefetched {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let avail = self.fill_buf()?;
        let n = avail.len().min(out.len());
        out[..n].copy_from_slice(&avail[..n]);
        self.consume(n);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivers_every_byte_and_the_digest() {
        let data: Vec<u8> = (0..1_000_003u32).map(|i| (i % 251) as u8).collect();
        let count = AtomicU64::new(0);
        let noop = |_: u64| {};
        let (got, (digest, n)) = std::thread::scope(|s| {
            let (mut r, h) = spawn(s, Box::new(io::Cursor::new(data.clone())), Some(Algorithm::Sha256), &count, &noop);
            let mut got = Vec::new();
            r.read_to_end(&mut got).unwrap();
            (got, h.join().unwrap())
        });
        assert_eq!(got, data);
        assert_eq!(n, data.len() as u64);
        assert_eq!(digest.unwrap(), bulwark_oci::Digest::of_bytes(&data));
    }

    #[test]
    fn consumer_going_away_ends_the_reader() {
        let count = AtomicU64::new(0);
        let noop = |_: u64| {};
        std::thread::scope(|s| {
            let (r, h) = spawn(s, Box::new(io::repeat(0).take(1 << 30)), None, &count, &noop);
            drop(r);
            let (_, n) = h.join().unwrap();
            assert!(n < 1 << 30);
        });
    }
}
