//! [`RocksdbStore`] and its sessions: the log and key-value operations of
//! the `rocksdb` target on top of the layout in [`super::layout`].
//!
//! Owns offset assignment, reads, trims, syncs, the per-stream state that
//! makes them cheap, opening and closing. It does not own the encoding
//! (`layout`), option building (`options`) or statistics (`stats`).
//!
//! Per stream, a mutex serialises offset assignment with its write (the API
//! requires dense offsets, so two appenders to one stream must not both take
//! the same tail), while the tail and trim point are also published in
//! atomics so readers and `bounds` never wait behind an appender's fsync.
//! Different streams write in parallel and meet in RocksDB's own group
//! commit. A stream's state is loaded on first use: the trim point from
//! `metadata`, the tail by seeking to the stream's last `data` key.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Instant;

use rocksdb::{ColumnFamily, DB, Options, ReadOptions, WriteBatch, WriteOptions};

use super::kind::RocksdbSettings;
use super::layout::{
    CF_DATA, CF_KV, CF_METADATA, COLUMN_FAMILIES, data_key, decode_u64, decode_value, encode_value,
    parse_data_key, trim_key,
};
use super::{options, stats};
use crate::store::api::{
    Capabilities, Keys, LogBounds, Offset, ReadBuf, Record, Session, Store, StoreError, StoreStats,
};

/// The `rocksdb` target: the log in the `data` column family keyed by
/// (stream, offset), trim points in `metadata`, key-value pairs in `kv`.
///
/// Appends are acknowledged as `sync` and `disable_wal` say: with
/// `sync: true` an acknowledged batch survives a process kill (and power
/// loss, as far as the device honours fsync); with `sync: false` it survives
/// a process kill (it is in the OS page cache) but not power loss; with
/// `disable_wal: true` only what was flushed survives any crash.
pub struct RocksdbStore {
    inner: Arc<Inner>,
}

struct Inner {
    db: DB,
    /// `RocksDB <version>` as the opened database's OPTIONS file records it.
    software: Option<String>,
    /// The DB options, through which RocksDB's tickers are read.
    db_options: Options,
    write: WriteOptions,
    dir: PathBuf,
    disable_wal: bool,
    raw_stats: bool,
    reopen_nanos: u64,
    streams: RwLock<HashMap<u64, Arc<Stream>>>,
    /// Key and value bytes put (the log's bytes are counted per stream).
    kv_bytes: AtomicU64,
}

/// One stream's state. `tail` and `trim` change only under `write`.
struct Stream {
    write: Mutex<WriteState>,
    tail: AtomicU64,
    trim: AtomicU64,
}

#[derive(Default)]
struct WriteState {
    /// Record body bytes appended since open (for `user_bytes`).
    bytes: u64,
}

/// Maps a RocksDB error to [`StoreError::Engine`]. RocksDB's status text is
/// `<Code>: <message>` (`IO error: While lock file: /data/LOCK: …`): the code
/// is lowercased to match our messages, the rest is kept as is because it
/// may hold case-sensitive paths.
pub(super) fn engine(op: &'static str) -> impl FnOnce(rocksdb::Error) -> StoreError {
    move |e| StoreError::Engine {
        op,
        detail: lowercase_status(&e.into_string()),
    }
}

/// Lowercases the status code before the first `: ` of a RocksDB message.
pub(super) fn lowercase_status(msg: &str) -> String {
    match msg.split_once(": ") {
        Some((code, rest)) => format!("{}: {rest}", code.to_lowercase()),
        None => msg.to_lowercase(),
    }
}

/// The version of the RocksDB library this process linked, as the newest
/// OPTIONS file of the database in `dir` records it (`[Version]
/// rocksdb_version=11.8.1`, written at every open): the library actually
/// running, also when it was built outside the crate (`ROCKSDB_LIB_DIR`).
fn linked_version(dir: &Path) -> Option<String> {
    let newest = std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let n: u64 = name.strip_prefix("OPTIONS-")?.parse().ok()?;
            Some((n, e.path()))
        })
        .max()?;
    let text = std::fs::read_to_string(newest.1).ok()?;
    let v = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("rocksdb_version="))?;
    Some(format!("RocksDB {}", v.trim()))
}

impl RocksdbStore {
    /// Opens (creating if needed) the database in `dir` with the options of
    /// `cfg`, recovering from RocksDB's WAL after a crash. The time the open
    /// takes is reported as the `reopen_nanos` statistic.
    ///
    /// # Errors
    ///
    /// [`StoreError::Engine`] when a raw option does not parse, RocksDB
    /// rejects an option value, the directory is locked by another open
    /// store, or recovery fails.
    pub fn open(dir: &Path, cfg: &RocksdbSettings) -> Result<RocksdbStore, StoreError> {
        let built = options::build(cfg)?;
        // Timing our own open is the statistic itself, not a measurement of
        // an operation the engine times.
        let started = Instant::now();
        let db = DB::open_cf_descriptors(&built.db, dir, built.cfs).map_err(engine("open"))?;
        let reopen_nanos = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
        Ok(RocksdbStore {
            inner: Arc::new(Inner {
                software: linked_version(dir),
                db,
                db_options: built.db,
                write: built.write,
                dir: dir.to_path_buf(),
                disable_wal: cfg.disable_wal,
                raw_stats: cfg.raw_stats,
                reopen_nanos,
                streams: RwLock::new(HashMap::new()),
                kv_bytes: AtomicU64::new(0),
            }),
        })
    }

    /// Flushes every column family's memtables to SST files and waits for
    /// the flushes (used by tests and by anything that wants the LSM
    /// statistics to include recent writes).
    ///
    /// # Errors
    ///
    /// [`StoreError::Engine`] when a flush fails.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.inner.flush_memtables()
    }

    /// Compacts every column family's whole key range (tests use it to
    /// check that trims survive compaction and that compaction statistics
    /// move).
    ///
    /// # Errors
    ///
    /// [`StoreError::Engine`] when a column family is missing.
    pub fn compact(&self) -> Result<(), StoreError> {
        for name in COLUMN_FAMILIES {
            let cf = self.inner.cf(name)?;
            self.inner
                .db
                .compact_range_cf(cf, None::<&[u8]>, None::<&[u8]>);
        }
        Ok(())
    }

    /// The underlying database (tests inspect it directly).
    #[cfg(test)]
    pub(super) fn db(&self) -> &DB {
        &self.inner.db
    }
}

impl Inner {
    fn cf(&self, name: &'static str) -> Result<&ColumnFamily, StoreError> {
        self.db.cf_handle(name).ok_or(StoreError::Engine {
            op: "column family",
            detail: format!("column family `{name}` is missing"),
        })
    }

    fn flush_memtables(&self) -> Result<(), StoreError> {
        for name in COLUMN_FAMILIES {
            let cf = self.cf(name)?;
            self.db.flush_cf(cf).map_err(engine("flush"))?;
        }
        Ok(())
    }

    /// The state of `id`, loaded from the database on first use.
    fn stream(&self, id: u64) -> Result<Arc<Stream>, StoreError> {
        if let Some(s) = self
            .streams
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&id)
        {
            return Ok(Arc::clone(s));
        }
        // Loading under the write lock: a second loader waits and then finds
        // the state, so no append can be lost to a stale copy.
        let mut map = self.streams.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(s) = map.get(&id) {
            return Ok(Arc::clone(s));
        }
        let (trim, tail) = self.load_stream(id)?;
        let s = Arc::new(Stream {
            write: Mutex::new(WriteState::default()),
            tail: AtomicU64::new(tail),
            trim: AtomicU64::new(trim),
        });
        map.insert(id, Arc::clone(&s));
        Ok(s)
    }

    /// (trim point, tail) of `id` as stored.
    fn load_stream(&self, id: u64) -> Result<(Offset, Offset), StoreError> {
        let trim = match self
            .db
            .get_pinned_cf(self.cf(CF_METADATA)?, trim_key(id))
            .map_err(engine("read trim point"))?
        {
            Some(v) => {
                decode_u64(&v).ok_or_else(|| self.corrupt(id, "trim point is not 8 bytes"))?
            }
            None => 0,
        };
        // Total order: with a prefix extractor on `data` (`prefix_length`),
        // a prefix seek to a key no record has could miss the last one.
        let mut ro = ReadOptions::default();
        ro.set_total_order_seek(true);
        let mut it = self.db.raw_iterator_cf_opt(self.cf(CF_DATA)?, ro);
        it.seek_for_prev(data_key(id, u64::MAX));
        let last = match it.key().and_then(parse_data_key) {
            Some((s, o)) if s == id => Some(o),
            _ => None,
        };
        it.status().map_err(engine("find stream tail"))?;
        let tail = last.map_or(0, |o| o + 1).max(trim);
        Ok((trim, tail))
    }

    fn corrupt(&self, stream: u64, detail: &str) -> StoreError {
        StoreError::Corrupt {
            path: self.dir.clone(),
            offset: 0,
            detail: format!("stream {stream}: {detail}"),
        }
    }

    fn user_bytes(&self) -> u64 {
        let log: u64 = self
            .streams
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .map(|s| s.write.lock().unwrap_or_else(PoisonError::into_inner).bytes)
            .sum();
        log + self.kv_bytes.load(Ordering::Relaxed)
    }
}

impl Store for RocksdbStore {
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            crash_durable: !self.inner.disable_wal,
            ..super::kind::capabilities(&RocksdbSettings::default())
        }
    }

    fn session(&self) -> Result<Box<dyn Session>, StoreError> {
        Ok(Box::new(RocksdbSession {
            inner: Arc::clone(&self.inner),
            last: None,
            value: Vec::new(),
        }))
    }

    fn stats(&self) -> StoreStats {
        let i = &self.inner;
        stats::snapshot(
            &i.db,
            &i.db_options,
            i.user_bytes(),
            i.reopen_nanos,
            i.raw_stats,
        )
    }

    fn series(&self) -> Vec<crate::store::StoreSeries> {
        stats::series(&self.inner.db, &self.inner.db_options)
    }

    fn software(&self) -> Option<String> {
        self.inner.software.clone()
    }

    fn close(self: Box<Self>) -> Result<(), StoreError> {
        let inner = self.inner;
        if inner.disable_wal {
            // Without a WAL only SST files hold data.
            inner.flush_memtables()?;
        } else {
            inner.db.flush_wal(true).map_err(engine("sync wal"))?;
        }
        match Arc::try_unwrap(inner) {
            // Dropping the DB waits for background flushes and compactions
            // and releases the directory lock.
            Ok(inner) => {
                drop(inner);
                Ok(())
            }
            Err(inner) => Err(StoreError::Invalid {
                op: "close",
                detail: format!(
                    "{} session(s) of the rocksdb store in {} are still open; drop them before closing",
                    Arc::strong_count(&inner) - 1,
                    inner.dir.display()
                ),
            }),
        }
    }
}

/// One worker's handle: remembers the last stream it used (a worker usually
/// appends to one stream at a time) and reuses one value buffer.
struct RocksdbSession {
    inner: Arc<Inner>,
    last: Option<(u64, Arc<Stream>)>,
    value: Vec<u8>,
}

impl RocksdbSession {
    fn stream(&mut self, id: u64) -> Result<Arc<Stream>, StoreError> {
        match &self.last {
            Some((l, s)) if *l == id => Ok(Arc::clone(s)),
            _ => {
                let s = self.inner.stream(id)?;
                self.last = Some((id, Arc::clone(&s)));
                Ok(s)
            }
        }
    }
}

impl Session for RocksdbSession {
    fn append(&mut self, stream: u64, batch: &[Record<'_>]) -> Result<Offset, StoreError> {
        let st = self.stream(stream)?;
        let inner = &*self.inner;
        let data = inner.cf(CF_DATA)?;
        let mut w = st.write.lock().unwrap_or_else(PoisonError::into_inner);
        let first = st.tail.load(Ordering::Acquire);
        if batch.is_empty() {
            return Ok(first);
        }
        let size: usize = batch.iter().map(|r| r.body.len() + 40).sum();
        let mut wb = WriteBatch::with_capacity_bytes(size);
        let mut bytes = 0u64;
        for (r, offset) in batch.iter().zip(first..) {
            encode_value(r.keys, r.body, &mut self.value);
            wb.put_cf(data, data_key(stream, offset), &self.value);
            bytes += r.body.len() as u64;
        }
        inner
            .db
            .write_opt(wb, &inner.write)
            .map_err(engine("append"))?;
        st.tail.store(first + batch.len() as u64, Ordering::Release);
        w.bytes += bytes;
        Ok(first)
    }

    fn read(
        &mut self,
        stream: u64,
        from: Offset,
        max_bytes: usize,
        out: &mut ReadBuf,
    ) -> Result<Offset, StoreError> {
        out.clear();
        let st = self.stream(stream)?;
        let inner = &*self.inner;
        let start = from.max(st.trim.load(Ordering::Acquire));
        let tail = st.tail.load(Ordering::Acquire);
        if start >= tail {
            return Ok(start);
        }
        let mut ro = ReadOptions::default();
        // Bounded by the published tail: a batch still being written is not
        // acknowledged, so it is not read.
        ro.set_iterate_upper_bound(data_key(stream, tail));
        ro.set_total_order_seek(true);
        let mut it = inner.db.raw_iterator_cf_opt(inner.cf(CF_DATA)?, ro);
        it.seek(data_key(stream, start));
        let mut next = start;
        while let Some((k, v)) = it.item() {
            let Some((_, offset)) = parse_data_key(k) else {
                return Err(inner.corrupt(stream, "a data key is not 16 bytes"));
            };
            if offset != next {
                // The only legitimate gap is a trim that ran between loading
                // the trim point and creating the iterator.
                if out.is_empty() && offset <= st.trim.load(Ordering::Acquire) {
                    next = offset;
                } else {
                    return Err(inner.corrupt(
                        stream,
                        &format!("record {next} is missing (found {offset})"),
                    ));
                }
            }
            let Some((keys, body)) = decode_value(v) else {
                return Err(inner.corrupt(stream, &format!("record {offset} has a bad header")));
            };
            if !out.is_empty() && out.bytes() + body.len() > max_bytes {
                break;
            }
            out.push(offset, keys, body);
            next = offset + 1;
            it.next();
        }
        it.status().map_err(engine("read"))?;
        if out.is_empty() {
            // Everything from `start` was trimmed meanwhile, or records are
            // missing below the tail.
            let trim = st.trim.load(Ordering::Acquire);
            if trim >= tail {
                return Ok(trim);
            }
            return Err(inner.corrupt(stream, &format!("records {start}..{tail} are missing")));
        }
        Ok(next)
    }

    fn trim(&mut self, stream: u64, up_to: Offset) -> Result<(), StoreError> {
        let st = self.stream(stream)?;
        let inner = &*self.inner;
        let _w = st.write.lock().unwrap_or_else(PoisonError::into_inner);
        let tail = st.tail.load(Ordering::Acquire);
        let current = st.trim.load(Ordering::Acquire);
        let new = up_to.min(tail);
        if new <= current {
            return Ok(());
        }
        // One atomic batch: the range deletion hides the records at once
        // (before any compaction reclaims them) and the merged trim point
        // keeps them hidden, and the tail known, after a reopen.
        let mut wb = WriteBatch::default();
        wb.delete_range_cf(
            inner.cf(CF_DATA)?,
            data_key(stream, current),
            data_key(stream, new),
        );
        wb.merge_cf(inner.cf(CF_METADATA)?, trim_key(stream), new.to_be_bytes());
        inner
            .db
            .write_opt(wb, &inner.write)
            .map_err(engine("trim"))?;
        st.trim.store(new, Ordering::Release);
        Ok(())
    }

    fn sync(&mut self) -> Result<(), StoreError> {
        if self.inner.disable_wal {
            self.inner.flush_memtables()
        } else {
            self.inner.db.flush_wal(true).map_err(engine("sync wal"))
        }
    }

    fn bounds(&mut self, stream: u64) -> Result<LogBounds, StoreError> {
        let st = self.stream(stream)?;
        // Trim point first: it never exceeds the tail, and both only grow.
        let trim_point = st.trim.load(Ordering::Acquire);
        let tail = st.tail.load(Ordering::Acquire);
        Ok(LogBounds { trim_point, tail })
    }

    fn put(&mut self, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        let inner = &*self.inner;
        inner
            .db
            .put_cf_opt(inner.cf(CF_KV)?, key, value, &inner.write)
            .map_err(engine("put"))?;
        inner
            .kv_bytes
            .fetch_add((key.len() + value.len()) as u64, Ordering::Relaxed);
        Ok(())
    }

    /// A batch of puts is one RocksDB `WriteBatch`: one WAL record, and one
    /// sync under `sync: true`.
    fn put_batch(
        &mut self,
        keys: &[u8],
        key_ranges: &[std::ops::Range<usize>],
        values: &[Record<'_>],
    ) -> Result<(), StoreError> {
        let inner = &*self.inner;
        let cf = inner.cf(CF_KV)?;
        let mut wb = WriteBatch::default();
        let mut bytes = 0usize;
        for (k, v) in key_ranges.iter().zip(values) {
            wb.put_cf(cf, &keys[k.clone()], v.body);
            bytes += k.len() + v.body.len();
        }
        inner
            .db
            .write_opt(wb, &inner.write)
            .map_err(engine("put"))?;
        inner.kv_bytes.fetch_add(bytes as u64, Ordering::Relaxed);
        Ok(())
    }

    fn get(&mut self, key: &[u8], out: &mut Vec<u8>) -> Result<bool, StoreError> {
        out.clear();
        let inner = &*self.inner;
        match inner
            .db
            .get_pinned_cf(inner.cf(CF_KV)?, key)
            .map_err(engine("get"))?
        {
            Some(v) => {
                out.extend_from_slice(&v);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    fn delete(&mut self, key: &[u8]) -> Result<(), StoreError> {
        let inner = &*self.inner;
        inner
            .db
            .delete_cf_opt(inner.cf(CF_KV)?, key, &inner.write)
            .map_err(engine("delete"))
    }

    fn delete_batch(
        &mut self,
        keys: &[u8],
        key_ranges: &[std::ops::Range<usize>],
    ) -> Result<(), StoreError> {
        let inner = &*self.inner;
        let cf = inner.cf(CF_KV)?;
        let mut wb = WriteBatch::default();
        for k in key_ranges {
            wb.delete_cf(cf, &keys[k.clone()]);
        }
        inner
            .db
            .write_opt(wb, &inner.write)
            .map_err(engine("delete"))
    }

    fn scan(&mut self, start: &[u8], limit: usize, out: &mut ReadBuf) -> Result<usize, StoreError> {
        out.clear();
        let inner = &*self.inner;
        // A scan crosses key prefixes: total order, whatever `prefix_length`.
        let mut ro = ReadOptions::default();
        ro.set_total_order_seek(true);
        let mut it = inner.db.raw_iterator_cf_opt(inner.cf(CF_KV)?, ro);
        it.seek(start);
        let mut n = 0;
        while n < limit {
            let Some(v) = it.value() else { break };
            out.push(n as Offset, Keys::None, v);
            n += 1;
            it.next();
        }
        it.status().map_err(engine("scan"))?;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::lowercase_status;

    #[test]
    fn status_codes_are_lowercased_and_paths_kept() {
        assert_eq!(
            lowercase_status("IO error: While lock file: /Data/LOCK: Resource busy"),
            "io error: While lock file: /Data/LOCK: Resource busy"
        );
        assert_eq!(lowercase_status("Corruption"), "corruption");
    }
}
