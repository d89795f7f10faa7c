//! A single-flight cache: the first request for a key runs the work, concurrent ones wait for
//! its result, later ones reuse it while it is fresh. Failures are shared with the requests
//! that waited for them but not kept (the next request tries again). Bounded: past the size,
//! expired entries go first, then the oldest.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::OnceCell;

struct Entry<V> {
    cell: OnceCell<V>,
    created: Instant,
}

pub struct FlightMap<V> {
    map: Mutex<HashMap<String, Arc<Entry<V>>>>,
    capacity: usize,
}

/// Whether a value is kept for later requests.
pub trait Keep {
    fn keep(&self) -> bool;
}

impl<T, E> Keep for Result<T, E> {
    fn keep(&self) -> bool {
        self.is_ok()
    }
}

impl<V: Clone + Keep> FlightMap<V> {
    pub fn new(capacity: usize) -> Self {
        FlightMap { map: Mutex::new(HashMap::new()), capacity: capacity.max(1) }
    }

    /// The value for `key`: fresh (younger than `ttl`) or in flight, else computed by `work`.
    /// The flag is true when this request did not run `work` itself.
    pub async fn get<F, Fut>(&self, key: &str, ttl: Duration, work: F) -> (V, bool)
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = V>,
    {
        let entry = {
            let Ok(mut map) = self.map.lock() else {
                // A poisoned lock (a panic elsewhere): work without the cache.
                return (work().await, false);
            };
            match map.get(key) {
                Some(e) if e.cell.get().is_none() || e.created.elapsed() < ttl => e.clone(),
                _ => {
                    if map.len() >= self.capacity {
                        evict(&mut map, ttl, self.capacity);
                    }
                    let e = Arc::new(Entry { cell: OnceCell::new(), created: Instant::now() });
                    map.insert(key.to_string(), e.clone());
                    e
                }
            }
        };
        let mut ran = false;
        let v = entry
            .cell
            .get_or_init(|| {
                ran = true;
                work()
            })
            .await
            .clone();
        if ran && (!v.keep() || ttl.is_zero()) {
            if let Ok(mut map) = self.map.lock() {
                if map.get(key).is_some_and(|e| Arc::ptr_eq(e, &entry)) {
                    map.remove(key);
                }
            }
        }
        (v, !ran)
    }

    pub fn len(&self) -> usize {
        self.map.lock().map(|m| m.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Drops expired entries, then the oldest tenth, so that inserts stay amortised O(1).
fn evict<V>(map: &mut HashMap<String, Arc<Entry<V>>>, ttl: Duration, capacity: usize) {
    map.retain(|_, e| e.cell.get().is_none() || e.created.elapsed() < ttl);
    if map.len() < capacity {
        return;
    }
    let mut ages: Vec<(Instant, String)> = map.iter().map(|(k, e)| (e.created, k.clone())).collect();
    ages.sort();
    for (_, k) in ages.into_iter().take((capacity / 10).max(1)) {
        map.remove(&k);
    }
}
