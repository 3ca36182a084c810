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

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use super::api::{
    Capabilities, Keys, LogBounds, Offset, ReadBuf, Record, Session, StatDesc, StatUnit, Store,
    StoreError, StoreStats,
};
use super::kind::StoreKind;

/// The `memory` store kind: [`MemoryStore`] under a target.
#[derive(Debug, Clone, Copy, Default)]
pub struct MemoryKind;

/// Options of the `memory` store (`memory: {}` for none).
#[derive(
    Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct MemoryConfig {
    /// A testing aid, not a store feature: every append, read, put, get,
    /// delete and scan first busy-waits this long (`10us`), before it takes
    /// any lock, so workers are delayed side by side. It slows the store by
    /// a known amount, to check that a comparison detects a slowdown of
    /// that size (`loadline ab … --set targets.mem.memory.delay=1us`).
    /// Default none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(example = &"10us")]
    pub delay: Option<crate::units::HumanDuration>,
}

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

    fn describe(c: &MemoryConfig) -> String {
        match c.delay {
            Some(d) => format!("in-memory, no I/O, {d} added to every operation (a testing aid)"),
            None => "in-memory, no I/O".to_owned(),
        }
    }

    fn open(c: &MemoryConfig, _dir: &std::path::Path) -> Result<Box<dyn Store>, StoreError> {
        let mut store = MemoryStore::new();
        store.delay = c.delay.map(|d| d.0);
        Ok(Box::new(store))
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
pub(crate) const STATS: &[StatDesc] = &[
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
    /// `delay:` (see [`MemoryConfig::delay`]).
    delay: Option<std::time::Duration>,
}

#[derive(Debug, Default)]
struct Inner {
    streams: RwLock<HashMap<u64, Arc<Mutex<MemStream>>>>,
    kv: RwLock<BTreeMap<Vec<u8>, Vec<u8>>>,
}

/// Size of a body chunk: bodies are copied into chunks allocated once at
/// this capacity (or a body's own size, when larger) and never grown, so an
/// append never reallocates and copies what the stream already holds (a
/// doubling `Vec` of 100 MB made one append in a million take half a
/// second under jemalloc).
const CHUNK: usize = 1 << 20;

/// Entries per index block: the index grows by whole blocks for the same
/// reason (5 M entries in one `Vec` are 240 MB to copy when it doubles).
const ENTRY_BLOCK: usize = 4096;

/// Body chunks and index blocks a trim released, freed by whoever holds
/// this once the stream's lock is let go: freeing a trim's worth of 1 MiB
/// chunks returns their pages to the kernel, which took 0.35–0.41 s for
/// the 4.7 GB a 1 s warmup had appended on this VM, and an appender
/// waiting for the lock meanwhile stalled as long
/// (`scenarios/wal-sync-policies.yaml`, `tail` phase, p99 261 ms).
#[derive(Debug, Default)]
struct Released {
    chunks: Vec<Vec<u8>>,
    blocks: Vec<Vec<Entry>>,
}

/// One stream: bodies back to back in fixed-capacity chunks, and an index
/// of one entry per record still held, in fixed-capacity blocks. Entry `i`
/// (offset `first + i`) is the `skip + i`-th entry of the blocks.
#[derive(Debug, Default)]
struct MemStream {
    /// Offset of the first held entry: the trim point.
    first: Offset,
    /// Number (since the stream began) of `chunks[0]`.
    chunk_base: u64,
    chunks: VecDeque<Vec<u8>>,
    blocks: VecDeque<Vec<Entry>>,
    /// Trimmed entries still at the front of `blocks[0]`.
    skip: usize,
    /// Entries held (offsets `first .. first + len`).
    len: usize,
    /// Body bytes of the held entries (what trims have not released).
    held: u64,
    /// Successful appends, for `stats` (kept under the stream's lock, which
    /// the append holds anyway, so counting costs no shared atomics).
    appends: u64,
    /// Body bytes ever appended.
    bytes: u64,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    /// Number of the chunk holding the body (see `chunk_base`).
    chunk: u64,
    /// Where in that chunk the body starts (below [`CHUNK`], or 0 for a
    /// body larger than a chunk, which gets a chunk of its own).
    start: u32,
    /// Body length.
    len: u64,
    keys: Keys,
}

impl MemStream {
    fn tail(&self) -> Offset {
        self.first + self.len as u64
    }

    /// The `i`-th held entry (`i < len`).
    fn entry(&self, i: usize) -> &Entry {
        let j = self.skip + i;
        &self.blocks[j / ENTRY_BLOCK][j % ENTRY_BLOCK]
    }

    fn body(&self, e: &Entry) -> &[u8] {
        // Entries only name chunks still held: chunks are released only
        // below the first held entry's chunk.
        let chunk = &self.chunks[usize::try_from(e.chunk - self.chunk_base).unwrap_or(usize::MAX)];
        let start = e.start as usize;
        &chunk[start..start + usize::try_from(e.len).unwrap_or(usize::MAX)]
    }

    fn append(&mut self, batch: &[Record<'_>]) -> Offset {
        let first = self.tail();
        for r in batch {
            let len = r.body.len();
            if self
                .chunks
                .back()
                .is_none_or(|c| c.capacity() - c.len() < len)
            {
                self.chunks.push_back(Vec::with_capacity(CHUNK.max(len)));
            }
            let number = self.chunk_base + self.chunks.len() as u64 - 1;
            let chunk = self.chunks.back_mut().expect("a chunk was just ensured");
            let start = chunk.len();
            chunk.extend_from_slice(r.body);
            if self.blocks.back().is_none_or(|b| b.len() == ENTRY_BLOCK) {
                self.blocks.push_back(Vec::with_capacity(ENTRY_BLOCK));
            }
            self.blocks
                .back_mut()
                .expect("a block was just ensured")
                .push(Entry {
                    chunk: number,
                    start: u32::try_from(start).unwrap_or(u32::MAX),
                    len: len as u64,
                    keys: r.keys,
                });
            self.len += 1;
            self.bytes += len as u64;
            self.held += len as u64;
        }
        self.appends += 1;
        first
    }

    /// Releases every record below `up_to`: index blocks and body chunks
    /// go as soon as nothing held is in them (amortised O(1) per record).
    /// Returns them, for the caller to free once it has let go of the
    /// stream's lock.
    fn trim(&mut self, up_to: Offset) -> Released {
        let mut released = Released::default();
        let up_to = up_to.min(self.tail());
        if up_to <= self.first {
            return released;
        }
        let dead = usize::try_from(up_to - self.first).unwrap_or(usize::MAX);
        let bytes: u64 = (0..dead).map(|i| self.entry(i).len).sum();
        self.held -= bytes;
        self.first = up_to;
        self.len -= dead;
        self.skip += dead;
        // Whole blocks behind the first held entry go; a full block whose
        // every entry is trimmed too (the next append opens a new one).
        while self.skip >= ENTRY_BLOCK
            || (self.len == 0 && self.blocks.front().is_some_and(|b| b.len() == ENTRY_BLOCK))
        {
            let Some(b) = self.blocks.pop_front() else {
                break;
            };
            self.skip -= b.len().min(self.skip);
            released.blocks.push(b);
        }
        // Chunks below the first held body go; the last chunk stays
        // (appends continue into it).
        let keep_from = if self.len > 0 {
            self.entry(0).chunk
        } else {
            self.chunk_base + self.chunks.len().saturating_sub(1) as u64
        };
        while self.chunk_base < keep_from {
            let Some(c) = self.chunks.pop_front() else {
                break;
            };
            self.chunk_base += 1;
            released.chunks.push(c);
        }
        released
    }

    fn read(&self, from: Offset, max_bytes: usize, out: &mut ReadBuf) -> Offset {
        let start = from.max(self.first);
        let tail = self.tail();
        if start >= tail {
            return start;
        }
        let mut next = start;
        let mut i = usize::try_from(start - self.first).unwrap_or(usize::MAX);
        while i < self.len {
            let e = self.entry(i);
            let len = usize::try_from(e.len).unwrap_or(usize::MAX);
            if !out.is_empty() && out.bytes().saturating_add(len) > max_bytes {
                break;
            }
            out.push(next, e.keys, self.body(e));
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
            delay: self.delay,
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
            retained += s.held;
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
    delay: Option<std::time::Duration>,
}

impl MemorySession {
    /// The `delay:` testing aid: a busy wait, not a sleep, because a sleep
    /// of a few microseconds lasts the kernel's timer slack (~50 µs) and
    /// would not slow the store by the amount asked. The only clock read
    /// in a store, and it times nothing: the worker's timing of the call
    /// includes the wait, as it should.
    fn wait(&self) {
        if let Some(d) = self.delay {
            let until = std::time::Instant::now() + d;
            while std::time::Instant::now() < until {
                std::hint::spin_loop();
            }
        }
    }

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
        self.wait();
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
        self.wait();
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
            let released = s.lock().unwrap_or_else(PoisonError::into_inner).trim(up_to);
            // Freed here, with the lock released (see `Released`).
            drop(released);
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
                    trim_point: s.first,
                    tail: s.tail(),
                }
            }
            None => LogBounds::default(),
        })
    }

    fn put(&mut self, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        self.wait();
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
        self.wait();
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
        self.wait();
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
        self.wait();
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
        self.wait();
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
        self.wait();
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
    fn the_delay_testing_aid_slows_every_append_by_at_least_its_amount() {
        let dir = tempfile::tempdir().expect("tempdir");
        let config: MemoryConfig =
            serde_json::from_value(serde_json::json!({ "delay": "2ms" })).expect("config");
        let store = MemoryKind::open(&config, dir.path()).expect("open");
        let mut s = store.session().expect("session");
        let body = [7u8; 16];
        let batch = [Record {
            keys: Keys::None,
            body: &body,
        }];
        let start = std::time::Instant::now();
        for _ in 0..5 {
            s.append(1, &batch).expect("append");
        }
        assert!(start.elapsed() >= std::time::Duration::from_millis(10));
        assert!(MemoryKind::describe(&config).contains("2ms added to every operation"));
        let plain = MemoryKind::open(&MemoryConfig::default(), dir.path()).expect("open");
        let mut s = plain.session().expect("session");
        let start = std::time::Instant::now();
        s.append(1, &batch).expect("append");
        assert!(start.elapsed() < std::time::Duration::from_millis(2));
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
    fn bodies_fill_chunks_without_reallocating_and_chunks_go_with_trims() {
        // Guards the chunked body storage: bodies that do not fit the last
        // chunk start a new one (a larger-than-chunk body gets its own),
        // reads return each body intact across chunk boundaries, and a
        // trim releases the chunks below the first held record.
        let store = MemoryStore::new();
        let mut s = store.session().expect("session");
        let sizes = [
            CHUNK / 3,
            CHUNK / 3,
            CHUNK / 2,
            CHUNK * 2 + 5,
            7,
            CHUNK - 1,
            0,
            1,
        ];
        let bodies: Vec<Vec<u8>> = sizes
            .iter()
            .enumerate()
            .map(|(i, n)| vec![u8::try_from(i).expect("small"); *n])
            .collect();
        for b in &bodies {
            s.append(
                1,
                &[Record {
                    keys: Keys::None,
                    body: b,
                }],
            )
            .expect("append");
        }
        let mut buf = ReadBuf::default();
        assert_eq!(s.read(1, 0, usize::MAX, &mut buf).expect("read"), 8);
        for (i, b) in bodies.iter().enumerate() {
            assert_eq!(buf.body(i), &b[..], "body {i}");
        }
        let stream = store.inner.existing(1).expect("stream");
        let chunks_before = stream.lock().expect("lock").chunks.len();
        assert_eq!(chunks_before, 5, "{sizes:?}");
        // The chunks a trim releases are handed back, to be freed after
        // the stream's lock is let go.
        let released = stream.lock().expect("lock").trim(5);
        let held = stream.lock().expect("lock").chunks.len();
        assert!(
            held < chunks_before,
            "{held} of {chunks_before} chunks held"
        );
        assert_eq!(released.chunks.len(), chunks_before - held);
        drop(released);
        s.trim(1, 5)
            .expect("a second trim to the same point is a no-op");
        assert_eq!(stream.lock().expect("lock").chunks.len(), held);
        assert_eq!(s.read(1, 0, usize::MAX, &mut buf).expect("read"), 8);
        assert_eq!(buf.records[0].offset, 5);
        for (i, r) in buf.records.iter().enumerate() {
            assert_eq!(
                buf.body(i),
                &bodies[usize::try_from(r.offset).expect("small")][..]
            );
        }
        let total: usize = sizes.iter().sum();
        let kept: usize = sizes[5..].iter().sum();
        let stats = store.stats();
        assert_eq!(stats.values["bytes"], total as f64);
        assert_eq!(stats.values["retained_bytes"], kept as f64);
    }

    #[test]
    fn index_blocks_go_with_trims_and_offsets_stay_right() {
        // Guards the block arithmetic of the index: appends across several
        // blocks, trims inside, at and across block boundaries (and to the
        // tail), and reads that must return each offset's own body.
        let store = MemoryStore::new();
        let mut s = store.session().expect("session");
        let n = ENTRY_BLOCK * 3 + 17;
        let body = |i: usize| (i as u64).to_le_bytes();
        for i in 0..n {
            s.append(
                2,
                &[Record {
                    keys: Keys::Single(i as u64),
                    body: &body(i),
                }],
            )
            .expect("append");
        }
        let stream = store.inner.existing(2).expect("stream");
        let mut buf = ReadBuf::default();
        for t in [
            1,
            ENTRY_BLOCK - 1,
            ENTRY_BLOCK,
            ENTRY_BLOCK * 2 + 5,
            n - 1,
            n,
        ] {
            s.trim(2, t as u64).expect("trim");
            let next = s.read(2, 0, usize::MAX, &mut buf).expect("read");
            assert_eq!(next, n as u64, "trim {t}");
            assert_eq!(buf.records.len(), n - t, "trim {t}");
            for (k, r) in buf.records.iter().enumerate() {
                assert_eq!(r.offset, (t + k) as u64);
                assert_eq!(buf.body(k), &body(t + k)[..]);
            }
            let st = stream.lock().expect("lock");
            let held_blocks = (st.skip + st.len).div_ceil(ENTRY_BLOCK);
            assert!(
                st.blocks.len() <= held_blocks.max(1),
                "trim {t}: {} blocks",
                st.blocks.len()
            );
        }
        // Appends continue after everything was trimmed.
        s.append(
            2,
            &[Record {
                keys: Keys::None,
                body: b"after",
            }],
        )
        .expect("append");
        assert_eq!(
            s.read(2, 0, usize::MAX, &mut buf).expect("read"),
            n as u64 + 1
        );
        assert_eq!(buf.records[0].offset, n as u64);
        assert_eq!(buf.body(0), b"after");
        assert_eq!(store.stats().values["retained_bytes"], 5.0);
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
