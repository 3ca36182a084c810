//! [`RocksdbStore`] and its sessions: the log and key-value operations of
//! the `rocksdb` target on top of the layout in [`super::layout`].
//!
//! Owns RocksDB's side of the log ([`LogTable`]: the trim point from
//! `metadata`, the tail by seeking to the stream's last `data` key, one
//! `WriteBatch` per append, a range deletion plus a merged trim point per
//! trim), the key-value operations, syncs, opening and closing. Offsets,
//! per-stream state and read checks are the shared
//! [`OrderedLog`](crate::store::ordered_log::OrderedLog)'s; the encoding is
//! `layout`'s, option building `options`' and statistics `stats`'.
//!
//! Different streams write in parallel and meet in RocksDB's own group
//! commit.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use rocksdb::{ColumnFamily, DB, Options, ReadOptions, WriteBatch, WriteOptions};

use super::error::engine;
use super::kind::RocksdbSettings;
use super::layout::{
    CF_DATA, CF_KV, CF_METADATA, COLUMN_FAMILIES, data_key, decode_u64, parse_data_key, trim_key,
};
use super::{options, stats};
use crate::store::api::{
    Capabilities, Keys, LogBounds, Offset, ReadBuf, Record, Session, Store, StoreError, StoreStats,
};
use crate::store::ordered_log::{EncodedRecords, LogCursor, LogTable, OrderedLog};

/// The `rocksdb` target: the log in the `data` column family keyed by
/// (stream, offset), trim points in `metadata`, key-value pairs in `kv`.
///
/// Appends are acknowledged as `sync` and `disable_wal` say: with
/// `sync: true` an acknowledged batch survives a process kill (and power
/// loss, as far as the device honours fsync); with `sync: false` it survives
/// a process kill (it is in the OS page cache) but not power loss; with
/// `disable_wal: true` only what was flushed survives any crash.
pub struct RocksdbStore {
    inner: Arc<OrderedLog<Inner>>,
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
    /// Key and value bytes put (the log's bytes are counted per stream).
    kv_bytes: AtomicU64,
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
        let inner = Inner {
            software: linked_version(dir),
            db,
            db_options: built.db,
            write: built.write,
            dir: dir.to_path_buf(),
            disable_wal: cfg.disable_wal,
            raw_stats: cfg.raw_stats,
            reopen_nanos,
            kv_bytes: AtomicU64::new(0),
        };
        Ok(RocksdbStore {
            inner: Arc::new(OrderedLog::new(inner, dir)),
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
        self.inner.table().flush_memtables()
    }

    /// Compacts every column family's whole key range (tests use it to
    /// check that trims survive compaction and that compaction statistics
    /// move).
    ///
    /// # Errors
    ///
    /// [`StoreError::Engine`] when a column family is missing.
    pub fn compact(&self) -> Result<(), StoreError> {
        let inner = self.inner.table();
        for name in COLUMN_FAMILIES {
            let cf = inner.cf(name)?;
            inner.db.compact_range_cf(cf, None::<&[u8]>, None::<&[u8]>);
        }
        Ok(())
    }

    /// The underlying database (tests inspect it directly).
    #[cfg(test)]
    pub(super) fn db(&self) -> &DB {
        &self.inner.table().db
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

    fn corrupt(&self, stream: u64, detail: &str) -> StoreError {
        StoreError::Corrupt {
            path: self.dir.clone(),
            offset: 0,
            detail: format!("stream {stream}: {detail}"),
        }
    }
}

impl LogTable for Inner {
    fn trim_point(&self, stream: u64) -> Result<Option<Offset>, StoreError> {
        match self
            .db
            .get_pinned_cf(self.cf(CF_METADATA)?, trim_key(stream))
            .map_err(engine("read trim point"))?
        {
            Some(v) => decode_u64(&v)
                .map(Some)
                .ok_or_else(|| self.corrupt(stream, "trim point is not 8 bytes")),
            None => Ok(None),
        }
    }

    fn last_offset(&self, stream: u64) -> Result<Option<Offset>, StoreError> {
        // Total order: with a prefix extractor on `data` (`prefix_length`),
        // a prefix seek to a key no record has could miss the last one.
        let mut ro = ReadOptions::default();
        ro.set_total_order_seek(true);
        let mut it = self.db.raw_iterator_cf_opt(self.cf(CF_DATA)?, ro);
        it.seek_for_prev(data_key(stream, u64::MAX));
        let last = match it.key().and_then(parse_data_key) {
            Some((s, o)) if s == stream => Some(o),
            _ => None,
        };
        it.status().map_err(engine("find stream tail"))?;
        Ok(last)
    }

    fn write_records(&self, stream: u64, records: EncodedRecords<'_>) -> Result<(), StoreError> {
        let data = self.cf(CF_DATA)?;
        let mut wb = WriteBatch::with_capacity_bytes(records.body_bytes() + 40 * records.len());
        records.try_for_each(|offset, value| {
            wb.put_cf(data, data_key(stream, offset), value);
            Ok::<(), StoreError>(())
        })?;
        self.db.write_opt(wb, &self.write).map_err(engine("append"))
    }

    fn scan_records(
        &self,
        stream: u64,
        from: Offset,
        to: Offset,
        visit: &mut dyn FnMut(Offset, &[u8]) -> bool,
    ) -> Result<(), StoreError> {
        let mut ro = ReadOptions::default();
        ro.set_iterate_upper_bound(data_key(stream, to));
        ro.set_total_order_seek(true);
        let mut it = self.db.raw_iterator_cf_opt(self.cf(CF_DATA)?, ro);
        it.seek(data_key(stream, from));
        while let Some((k, v)) = it.item() {
            let Some((_, offset)) = parse_data_key(k) else {
                return Err(self.corrupt(stream, "a data key is not 16 bytes"));
            };
            if !visit(offset, v) {
                return Ok(());
            }
            it.next();
        }
        it.status().map_err(engine("read"))
    }

    fn trim_records(&self, stream: u64, from: Offset, to: Offset) -> Result<(), StoreError> {
        // One atomic batch: the range deletion hides the records at once
        // (before any compaction reclaims them) and the merged trim point
        // keeps them hidden, and the tail known, after a reopen.
        let mut wb = WriteBatch::default();
        wb.delete_range_cf(
            self.cf(CF_DATA)?,
            data_key(stream, from),
            data_key(stream, to),
        );
        wb.merge_cf(self.cf(CF_METADATA)?, trim_key(stream), to.to_be_bytes());
        self.db.write_opt(wb, &self.write).map_err(engine("trim"))
    }
}

impl Store for RocksdbStore {
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            crash_durable: !self.inner.table().disable_wal,
            ..super::kind::capabilities(&RocksdbSettings::default())
        }
    }

    fn session(&self) -> Result<Box<dyn Session>, StoreError> {
        Ok(Box::new(RocksdbSession {
            log: Arc::clone(&self.inner),
            cursor: LogCursor::default(),
        }))
    }

    fn stats(&self) -> StoreStats {
        let i = self.inner.table();
        let user_bytes = self.inner.appended().1 + i.kv_bytes.load(Ordering::Relaxed);
        stats::snapshot(
            &i.db,
            &i.db_options,
            user_bytes,
            i.reopen_nanos,
            i.raw_stats,
        )
    }

    fn series(&self) -> Vec<crate::store::StoreSeries> {
        let i = self.inner.table();
        stats::series(&i.db, &i.db_options)
    }

    fn software(&self) -> Option<String> {
        self.inner.table().software.clone()
    }

    fn background(&self) -> crate::store::Background {
        super::background::background(&self.inner.table().db)
    }

    fn close(self: Box<Self>) -> Result<(), StoreError> {
        let inner = self.inner;
        let table = inner.table();
        if table.disable_wal {
            // Without a WAL only SST files hold data.
            table.flush_memtables()?;
        } else {
            table.db.flush_wal(true).map_err(engine("sync wal"))?;
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
                    inner.table().dir.display()
                ),
            }),
        }
    }
}

/// One worker's handle: its cursor remembers the last stream it used (a
/// worker usually appends to one stream at a time) and reuses one value
/// buffer.
struct RocksdbSession {
    log: Arc<OrderedLog<Inner>>,
    cursor: LogCursor,
}

impl Session for RocksdbSession {
    fn append(&mut self, stream: u64, batch: &[Record<'_>]) -> Result<Offset, StoreError> {
        self.log.append(&mut self.cursor, stream, batch)
    }

    fn read(
        &mut self,
        stream: u64,
        from: Offset,
        max_bytes: usize,
        out: &mut ReadBuf,
    ) -> Result<Offset, StoreError> {
        self.log
            .read(&mut self.cursor, stream, from, max_bytes, out)
    }

    fn trim(&mut self, stream: u64, up_to: Offset) -> Result<(), StoreError> {
        self.log.trim(&mut self.cursor, stream, up_to)
    }

    fn sync(&mut self) -> Result<(), StoreError> {
        let inner = self.log.table();
        if inner.disable_wal {
            inner.flush_memtables()
        } else {
            inner.db.flush_wal(true).map_err(engine("sync wal"))
        }
    }

    fn bounds(&mut self, stream: u64) -> Result<LogBounds, StoreError> {
        self.log.bounds(&mut self.cursor, stream)
    }

    fn put(&mut self, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        let inner = self.log.table();
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
        let inner = self.log.table();
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
        let inner = self.log.table();
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
        let inner = self.log.table();
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
        let inner = self.log.table();
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
        let inner = self.log.table();
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
