//! The `memory` target: an in-process store with full log and key-value
//! semantics and no I/O.
//!
//! It is the harness-overhead baseline (what the runner itself costs per
//! operation) and the deterministic test double for the engine. It owns no
//! durability: [`Capabilities::persistent`] is false and everything is gone
//! when the store is dropped.
//!
//! Layout: one [`Mutex`] per stream, found through a read-mostly map; each
//! session caches the streams it has touched, so the hot path of an append
//! is one hash lookup, one uncontended lock and a copy of the bodies into the
//! stream's single byte buffer (bodies back to back, plus a small index
//! entry per record). Trimmed prefixes are compacted away once they make up
//! half of a stream, so a long run with a trimmer stays bounded in memory.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use super::api::{
    Capabilities, Keys, LogBounds, Offset, ReadBuf, Record, Session, StatDesc, StatUnit, Store,
    StoreError, StoreStats,
};
use super::kind::StoreKind;

/// The `memory` store kind: [`MemoryStore`] under a target.
#[derive(Debug, Clone, Copy, Default)]
pub struct MemoryKind;

/// Options of the `memory` store (none yet; write `memory: {}`).
#[derive(
    Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct MemoryConfig {}

impl StoreKind for MemoryKind {
    const NAME: &'static str = "memory";
    const ABOUT: &'static str =
        "An in-memory store with no I/O: measures the runner's own overhead.";
    type Config = MemoryConfig;

    fn capabilities(_: &MemoryConfig) -> Capabilities {
        CAPABILITIES
    }

    fn statistics() -> &'static [StatDesc] {
        STATS
    }

    fn levels() -> &'static [&'static str] {
        &["retained_bytes"]
    }

    fn describe(_: &MemoryConfig) -> String {
        "in-memory, no I/O".to_owned()
    }

    fn open(_: &MemoryConfig, _dir: &std::path::Path) -> Result<Box<dyn Store>, StoreError> {
        Ok(Box::new(MemoryStore::new()))
    }
}

/// Log and key-value operations; nothing survives a close, so a crash
/// honestly loses everything.
const CAPABILITIES: Capabilities = Capabilities {
    log: true,
    kv: true,
    ..Capabilities::NONE
};

/// Statistics the memory store reports under `target.store.*`.
pub const STATS: &[StatDesc] = &[
    StatDesc {
        name: "appends",
        unit: StatUnit::Count,
        help: "append calls that succeeded (batches)",
    },
    StatDesc {
        name: "records",
        unit: StatUnit::Count,
        help: "records appended",
    },
    StatDesc {
        name: "bytes",
        unit: StatUnit::Bytes,
        help: "record body bytes appended",
    },
    StatDesc {
        name: "retained_bytes",
        unit: StatUnit::Bytes,
        help: "record body bytes held in memory after trims and compaction",
    },
];

/// The in-memory store: full log and key-value semantics, no I/O, not
/// persistent. Cheap to share: every session holds an `Arc` of its state.
#[derive(Debug, Default)]
pub struct MemoryStore {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    streams: RwLock<HashMap<u64, Arc<Mutex<MemStream>>>>,
    kv: RwLock<BTreeMap<Vec<u8>, Vec<u8>>>,
}

/// One stream: bodies back to back in `data`, one index entry per record
/// still held. Entry `i` is offset `first + i`; its body is
/// `data[ends[i-1] - data_base .. ends[i] - data_base]`.
#[derive(Debug, Default)]
struct MemStream {
    /// Offset of `entries[0]`.
    first: Offset,
    /// The visible start; `first <= trim_point <= tail`.
    trim_point: Offset,
    /// Logical byte position of `data[0]`.
    data_base: u64,
    /// Logical byte position where the body before `entries[0]` ends.
    start_pos: u64,
    data: Vec<u8>,
    entries: Vec<Entry>,
    /// Successful appends, for `stats` (kept under the stream's lock, which
    /// the append holds anyway, so counting costs no shared atomics).
    appends: u64,
    /// Body bytes ever appended.
    bytes: u64,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    /// Logical byte position where this record's body ends.
    end: u64,
    keys: Keys,
}

impl MemStream {
    fn tail(&self) -> Offset {
        self.first + self.entries.len() as u64
    }

    fn body_range(&self, i: usize) -> (usize, usize) {
        let start = if i == 0 {
            self.start_pos
        } else {
            self.entries[i - 1].end
        };
        let end = self.entries[i].end;
        // Both positions lie within `data` by construction: `data_base` is
        // only advanced past bodies that were dropped together with their
        // entries.
        (
            usize::try_from(start - self.data_base).unwrap_or(usize::MAX),
            usize::try_from(end - self.data_base).unwrap_or(usize::MAX),
        )
    }

    fn append(&mut self, batch: &[Record<'_>]) -> Offset {
        let first = self.tail();
        let mut pos = self.data_base + self.data.len() as u64;
        for r in batch {
            self.data.extend_from_slice(r.body);
            pos += r.body.len() as u64;
            self.entries.push(Entry {
                end: pos,
                keys: r.keys,
            });
            self.bytes += r.body.len() as u64;
        }
        self.appends += 1;
        first
    }

    fn trim(&mut self, up_to: Offset) {
        let up_to = up_to.min(self.tail());
        if up_to <= self.trim_point {
            return;
        }
        self.trim_point = up_to;
        // Compact once the trimmed prefix is at least half of what is held:
        // amortised O(1) per record, and memory stays bounded.
        let dead = usize::try_from(self.trim_point - self.first).unwrap_or(usize::MAX);
        if dead > 0 && dead * 2 >= self.entries.len() {
            let cut_pos = self.entries[dead - 1].end;
            let cut = usize::try_from(cut_pos - self.data_base).unwrap_or(usize::MAX);
            self.data.drain(..cut);
            self.entries.drain(..dead);
            self.data_base = cut_pos;
            self.start_pos = cut_pos;
            self.first = self.trim_point;
        }
    }

    fn read(&self, from: Offset, max_bytes: usize, out: &mut ReadBuf) -> Offset {
        let start = from.max(self.trim_point);
        let tail = self.tail();
        if start >= tail {
            return start;
        }
        let mut next = start;
        let mut i = usize::try_from(start - self.first).unwrap_or(usize::MAX);
        while i < self.entries.len() {
            let (a, b) = self.body_range(i);
            if !out.is_empty() && out.bytes() + (b - a) > max_bytes {
                break;
            }
            out.push(next, self.entries[i].keys, &self.data[a..b]);
            next += 1;
            i += 1;
        }
        next
    }
}

impl MemoryStore {
    /// A new, empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Inner {
    fn stream(&self, id: u64) -> Arc<Mutex<MemStream>> {
        if let Some(s) = self
            .streams
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&id)
        {
            return Arc::clone(s);
        }
        let mut map = self.streams.write().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(map.entry(id).or_default())
    }

    fn existing(&self, id: u64) -> Option<Arc<Mutex<MemStream>>> {
        self.streams
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&id)
            .map(Arc::clone)
    }
}

impl Store for MemoryStore {
    fn capabilities(&self) -> Capabilities {
        CAPABILITIES
    }

    fn session(&self) -> Result<Box<dyn Session>, StoreError> {
        Ok(Box::new(MemorySession {
            inner: Arc::clone(&self.inner),
            cache: HashMap::new(),
            last: None,
        }))
    }

    fn stats(&self) -> StoreStats {
        let (mut appends, mut records, mut bytes, mut retained) = (0u64, 0u64, 0u64, 0u64);
        for s in self
            .inner
            .streams
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
        {
            let s = s.lock().unwrap_or_else(PoisonError::into_inner);
            appends += s.appends;
            records += s.tail();
            bytes += s.bytes;
            retained += s.data.len() as u64;
        }
        let mut values = BTreeMap::new();
        for (name, v) in [
            ("appends", appends),
            ("records", records),
            ("bytes", bytes),
            ("retained_bytes", retained),
        ] {
            values.insert(name.to_owned(), v as f64);
        }
        StoreStats {
            values,
            appendix: None,
        }
    }

    fn close(self: Box<Self>) -> Result<(), StoreError> {
        Ok(())
    }
}

/// One worker's handle: caches the streams it has used so appends skip the
/// shared map, and the last one used so a worker appending to one stream
/// skips even the hash lookup.
struct MemorySession {
    inner: Arc<Inner>,
    cache: HashMap<u64, Arc<Mutex<MemStream>>>,
    last: Option<(u64, Arc<Mutex<MemStream>>)>,
}

impl MemorySession {
    fn stream(&mut self, id: u64) -> &Mutex<MemStream> {
        let last = match self.last.take() {
            Some((l, s)) if l == id => (l, s),
            _ => {
                let inner = &self.inner;
                (
                    id,
                    Arc::clone(self.cache.entry(id).or_insert_with(|| inner.stream(id))),
                )
            }
        };
        &self.last.insert(last).1
    }
}

impl Session for MemorySession {
    fn append(&mut self, stream: u64, batch: &[Record<'_>]) -> Result<Offset, StoreError> {
        let s = self.stream(stream);
        Ok(s.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .append(batch))
    }

    fn read(
        &mut self,
        stream: u64,
        from: Offset,
        max_bytes: usize,
        out: &mut ReadBuf,
    ) -> Result<Offset, StoreError> {
        out.clear();
        match self.inner.existing(stream) {
            Some(s) => Ok(s
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .read(from, max_bytes, out)),
            None => Ok(from),
        }
    }

    fn trim(&mut self, stream: u64, up_to: Offset) -> Result<(), StoreError> {
        if let Some(s) = self.inner.existing(stream) {
            s.lock().unwrap_or_else(PoisonError::into_inner).trim(up_to);
        }
        Ok(())
    }

    fn sync(&mut self) -> Result<(), StoreError> {
        Ok(())
    }

    fn bounds(&mut self, stream: u64) -> Result<LogBounds, StoreError> {
        Ok(match self.inner.existing(stream) {
            Some(s) => {
                let s = s.lock().unwrap_or_else(PoisonError::into_inner);
                LogBounds {
                    trim_point: s.trim_point,
                    tail: s.tail(),
                }
            }
            None => LogBounds::default(),
        })
    }

    fn put(&mut self, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        let mut kv = self
            .inner
            .kv
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        match kv.get_mut(key) {
            Some(v) => {
                v.clear();
                v.extend_from_slice(value);
            }
            None => {
                kv.insert(key.to_vec(), value.to_vec());
            }
        }
        Ok(())
    }

    fn get(&mut self, key: &[u8], out: &mut Vec<u8>) -> Result<bool, StoreError> {
        out.clear();
        let kv = self.inner.kv.read().unwrap_or_else(PoisonError::into_inner);
        Ok(match kv.get(key) {
            Some(v) => {
                out.extend_from_slice(v);
                true
            }
            None => false,
        })
    }

    fn delete(&mut self, key: &[u8]) -> Result<(), StoreError> {
        self.inner
            .kv
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(key);
        Ok(())
    }

    /// A batch of puts under one write lock (what a write batch is to the
    /// in-memory baseline).
    fn put_batch(
        &mut self,
        keys: &[u8],
        key_ranges: &[std::ops::Range<usize>],
        values: &[Record<'_>],
    ) -> Result<(), StoreError> {
        let mut kv = self
            .inner
            .kv
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        for (k, v) in key_ranges.iter().zip(values) {
            let key = &keys[k.clone()];
            match kv.get_mut(key) {
                Some(old) => {
                    old.clear();
                    old.extend_from_slice(v.body);
                }
                None => {
                    kv.insert(key.to_vec(), v.body.to_vec());
                }
            }
        }
        Ok(())
    }

    /// A batch of deletes under one write lock.
    fn delete_batch(
        &mut self,
        keys: &[u8],
        key_ranges: &[std::ops::Range<usize>],
    ) -> Result<(), StoreError> {
        let mut kv = self
            .inner
            .kv
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        for k in key_ranges {
            kv.remove(&keys[k.clone()]);
        }
        Ok(())
    }

    fn scan(&mut self, start: &[u8], limit: usize, out: &mut ReadBuf) -> Result<usize, StoreError> {
        out.clear();
        let kv = self.inner.kv.read().unwrap_or_else(PoisonError::into_inner);
        let mut n = 0;
        for (_, v) in kv
            .range::<[u8], _>((std::ops::Bound::Included(start), std::ops::Bound::Unbounded))
            .take(limit)
        {
            out.push(n as Offset, Keys::None, v);
            n += 1;
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::conformance;

    fn open(_: &std::path::Path) -> Result<Box<dyn Store>, StoreError> {
        Ok(Box::new(MemoryStore::new()))
    }

    #[test]
    fn memory_store_passes_the_log_conformance_suite() {
        let dir = tempfile::tempdir().expect("tempdir");
        conformance::check_log_store(&open, dir.path());
    }

    #[test]
    fn memory_store_passes_the_kv_conformance_suite() {
        let dir = tempfile::tempdir().expect("tempdir");
        conformance::check_kv_store(&open, dir.path());
    }

    #[test]
    fn compaction_after_trim_keeps_offsets_and_bodies() {
        // Guards the index arithmetic of compaction: after many trims that
        // drain the buffer, reads still return the right body per offset.
        let store = MemoryStore::new();
        let mut s = store.session().expect("session");
        let bodies: Vec<Vec<u8>> = (0..100u8).map(|i| vec![i; usize::from(i % 7)]).collect();
        for b in &bodies {
            s.append(
                3,
                &[Record {
                    keys: Keys::Single(u64::from(b.len() as u8)),
                    body: b,
                }],
            )
            .expect("append");
        }
        let mut buf = ReadBuf::default();
        for t in (0..100).step_by(9) {
            s.trim(3, t).expect("trim");
            let next = s.read(3, 0, usize::MAX, &mut buf).expect("read");
            assert_eq!(next, 100);
            assert_eq!(buf.records[0].offset, t);
            for (i, r) in buf.records.iter().enumerate() {
                assert_eq!(
                    buf.body(i),
                    &bodies[usize::try_from(r.offset).expect("small")][..]
                );
            }
        }
        let stats = store.stats();
        assert_eq!(stats.values["records"], 100.0);
        assert_eq!(stats.values["appends"], 100.0);
        assert!(stats.values["retained_bytes"] < stats.values["bytes"]);
    }

    #[test]
    fn stats_names_match_the_stat_list() {
        let store = MemoryStore::new();
        let names: Vec<&str> = STATS.iter().map(|d| d.name).collect();
        let got: Vec<String> = store.stats().values.into_keys().collect();
        let mut want: Vec<&str> = names.clone();
        want.sort_unstable();
        assert_eq!(got, want);
    }
}
