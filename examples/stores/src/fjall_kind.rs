//! The `fjall` store kind: loadline's log and key-value operations on a
//! [fjall](https://github.com/fjall-rs/fjall) LSM database, written only
//! against loadline's public API.
//!
//! Layout, as the built-in `rocksdb` kind lays out its column families:
//!
//! | keyspace | key | value |
//! |---|---|---|
//! | `data` | stream (u64 BE) ‖ offset (u64 BE) | key tag (1 byte) ‖ keys (0, 8 or 16 bytes BE) ‖ body |
//! | `meta` | stream (u64 BE) | trim point (u64 BE) |
//! | `kv` | the key | the value |
//!
//! The log semantics (dense offsets, per-stream tail and trim point, read
//! checks) are loadline's [`OrderedLog`]; this file gives it fjall's calls
//! ([`LogTable`]): an append is one fjall write batch (atomic across
//! keyspaces, one journal entry); a trim removes the trimmed records and
//! writes the new trim point in one batch, so trims survive a reopen; the
//! tail is found from the last `data` key, the trim point in `meta`.
//!
//! Durability is fjall's journal persist mode ([`FjallPersist`]): by
//! default every batch reaches the operating system before the append
//! returns, so an acknowledged append survives a kill -9.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use fjall::{Database, Keyspace, KeyspaceCreateOptions, OwnedWriteBatch, PersistMode};
use loadline::store::layout::{data_key, parse_data_key};
use loadline::store::ordered_log::{EncodedRecords, LogCursor, LogTable, OrderedLog};
use loadline::store::{
    Capabilities, Keys, LogBounds, Offset, ReadBuf, Record, Session, StatDesc, StatUnit, Store,
    StoreError, StoreKind, StoreStats,
};
use loadline::units::{ByteSize, format_size};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The `fjall` store kind.
#[derive(Debug, Clone, Copy, Default)]
pub struct FjallKind;

/// When a write reaches the journal on disk (fjall's `PersistMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FjallPersist {
    /// Every batch is flushed to the operating system before it is acknowledged: it survives a process crash (kill -9), not a power loss.
    #[default]
    Buffer,
    /// fdatasync of the journal before every acknowledgement: survives a power loss, as far as the device honours it.
    SyncData,
    /// fsync (data and metadata) of the journal before every acknowledgement.
    SyncAll,
    /// fjall's `manual_journal_persist`: batches stay in fjall's journal buffer until a `sync` actor or the close; an acknowledged write can be lost in a crash.
    Manual,
}

/// Options of the `fjall` store.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct FjallConfig {
    /// Durability of each acknowledged write: `buffer`, `sync_data`, `sync_all` or `manual`. Default `buffer`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persist: Option<FjallPersist>,
    /// Size of fjall's block cache. Default fjall's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(example = &"64MiB")]
    pub cache_size: Option<ByteSize>,
    /// Journal size at which fjall flushes memtables so old journals can go. Default fjall's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_journaling_size: Option<ByteSize>,
    /// Background flush and compaction threads (at least 1). Default fjall's (`min(cores, 4)`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker_threads: Option<u32>,
}

impl FjallConfig {
    fn persist(&self) -> FjallPersist {
        self.persist.unwrap_or_default()
    }
}

/// Statistics the fjall store reports under `target.store.*`.
const STATS: &[StatDesc] = &[
    StatDesc {
        name: "records",
        unit: StatUnit::Count,
        help: "records appended since open",
    },
    StatDesc {
        name: "bytes",
        unit: StatUnit::Bytes,
        help: "record body bytes appended since open",
    },
    StatDesc {
        name: "kv_bytes",
        unit: StatUnit::Bytes,
        help: "key and value bytes put since open",
    },
    StatDesc {
        name: "disk_bytes",
        unit: StatUnit::Bytes,
        help: "disk space of the whole database (journals and tables)",
    },
    StatDesc {
        name: "journals",
        unit: StatUnit::Count,
        help: "journal files on disk",
    },
];

impl StoreKind for FjallKind {
    const NAME: &'static str = "fjall";
    const ABOUT: &'static str =
        "fjall, an LSM-tree store with a journal, with the log mapped onto (stream, offset) keys.";
    type Config = FjallConfig;

    fn check(config: &FjallConfig, _: &loadline::store::Workload) -> Vec<loadline::store::Problem> {
        let mut out = Vec::new();
        if config.worker_threads == Some(0) {
            out.push(
                loadline::store::Problem::error(
                    "worker_threads",
                    "`worker_threads` must be at least 1",
                )
                .found("0"),
            );
        }
        out
    }

    fn capabilities(config: &FjallConfig) -> Capabilities {
        Capabilities {
            log: true,
            kv: true,
            persistent: true,
            crash_durable: config.persist() != FjallPersist::Manual,
            ..Capabilities::NONE
        }
    }

    fn statistics() -> &'static [StatDesc] {
        STATS
    }

    fn describe(config: &FjallConfig) -> String {
        let mut s = format!(
            "persist {}",
            serde_json::to_value(config.persist())
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default()
        );
        if let Some(c) = config.cache_size {
            s.push_str(&format!(", cache {}", format_size(c.0)));
        }
        s
    }

    fn open(config: &FjallConfig, dir: &Path) -> Result<Box<dyn Store>, StoreError> {
        Ok(Box::new(FjallStore::open(config, dir)?))
    }
}

fn engine(op: &'static str) -> impl FnOnce(fjall::Error) -> StoreError {
    move |e| StoreError::Engine {
        op,
        detail: format!("fjall: {e:?}").to_lowercase(),
    }
}

/// The fjall store: one database in the target's directory.
struct FjallStore {
    log: Arc<OrderedLog<Inner>>,
}

struct Inner {
    db: Database,
    data: Keyspace,
    meta: Keyspace,
    kv: Keyspace,
    persist: FjallPersist,
    /// Named in corruption errors.
    dir: PathBuf,
    kv_bytes: AtomicU64,
}

impl FjallStore {
    fn open(config: &FjallConfig, dir: &Path) -> Result<FjallStore, StoreError> {
        let mut b =
            Database::builder(dir).manual_journal_persist(config.persist() == FjallPersist::Manual);
        if let Some(c) = config.cache_size {
            b = b.cache_size(c.0);
        }
        if let Some(j) = config.max_journaling_size {
            b = b.max_journaling_size(j.0);
        }
        if let Some(n) = config.worker_threads {
            b = b.worker_threads(usize::try_from(n.max(1)).unwrap_or(1));
        }
        let db = b.open().map_err(engine("open"))?;
        let ks = |name| db.keyspace(name, KeyspaceCreateOptions::default);
        let data = ks("data").map_err(engine("open keyspace data"))?;
        let meta = ks("meta").map_err(engine("open keyspace meta"))?;
        let kv = ks("kv").map_err(engine("open keyspace kv"))?;
        let inner = Inner {
            db,
            data,
            meta,
            kv,
            persist: config.persist(),
            dir: dir.to_path_buf(),
            kv_bytes: AtomicU64::new(0),
        };
        Ok(FjallStore {
            log: Arc::new(OrderedLog::new(inner, dir)),
        })
    }
}

impl Inner {
    /// A batch acknowledged as the persist mode says.
    fn batch(&self) -> OwnedWriteBatch {
        let b = self.db.batch();
        match self.persist {
            FjallPersist::SyncData => b.durability(Some(PersistMode::SyncData)),
            FjallPersist::SyncAll => b.durability(Some(PersistMode::SyncAll)),
            // `Buffer` is the database's default for batches; `Manual`
            // leaves them in fjall's buffer.
            FjallPersist::Buffer | FjallPersist::Manual => b,
        }
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
            .meta
            .get(stream.to_be_bytes())
            .map_err(engine("read trim point"))?
        {
            Some(v) => {
                Ok(Some(u64::from_be_bytes(v.as_ref().try_into().map_err(
                    |_| self.corrupt(stream, "trim point is not 8 bytes"),
                )?)))
            }
            None => Ok(None),
        }
    }

    fn last_offset(&self, stream: u64) -> Result<Option<Offset>, StoreError> {
        match self
            .data
            .range(data_key(stream, 0)..=data_key(stream, u64::MAX))
            .next_back()
        {
            Some(g) => {
                let k = g.key().map_err(engine("read tail"))?;
                Ok(Some(
                    parse_data_key(&k)
                        .ok_or_else(|| self.corrupt(stream, "a data key is not 16 bytes"))?
                        .1,
                ))
            }
            None => Ok(None),
        }
    }

    fn write_records(&self, stream: u64, records: EncodedRecords<'_>) -> Result<(), StoreError> {
        let mut b = self.batch();
        records.try_for_each(|offset, value| {
            b.insert(&self.data, &data_key(stream, offset)[..], value);
            Ok::<(), StoreError>(())
        })?;
        b.commit().map_err(engine("append"))
    }

    fn scan_records(
        &self,
        stream: u64,
        from: Offset,
        to: Offset,
        visit: &mut dyn FnMut(Offset, &[u8]) -> bool,
    ) -> Result<(), StoreError> {
        for g in self
            .data
            .range(data_key(stream, from)..data_key(stream, to))
        {
            let (k, v) = g.into_inner().map_err(engine("read"))?;
            let Some((_, offset)) = parse_data_key(&k) else {
                return Err(self.corrupt(stream, "a data key is not 16 bytes"));
            };
            if !visit(offset, &v) {
                break;
            }
        }
        Ok(())
    }

    fn trim_records(&self, stream: u64, from: Offset, to: Offset) -> Result<(), StoreError> {
        // One atomic batch: the trim point (which keeps the records hidden
        // and the tail known after a reopen) and the removal of the records.
        let mut b = self.batch();
        b.insert(&self.meta, &stream.to_be_bytes()[..], &to.to_be_bytes()[..]);
        for offset in from..to {
            b.remove(&self.data, &data_key(stream, offset)[..]);
        }
        b.commit().map_err(engine("trim"))
    }
}

impl Store for FjallStore {
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            log: true,
            kv: true,
            persistent: true,
            crash_durable: self.log.table().persist != FjallPersist::Manual,
            ..Capabilities::NONE
        }
    }

    fn session(&self) -> Result<Box<dyn Session>, StoreError> {
        Ok(Box::new(FjallSession {
            log: Arc::clone(&self.log),
            cursor: LogCursor::default(),
        }))
    }

    fn stats(&self) -> StoreStats {
        let i = self.log.table();
        let (records, bytes) = self.log.appended();
        let mut values = BTreeMap::new();
        values.insert("records".to_owned(), records as f64);
        values.insert("bytes".to_owned(), bytes as f64);
        values.insert(
            "kv_bytes".to_owned(),
            i.kv_bytes.load(Ordering::Relaxed) as f64,
        );
        values.insert(
            "disk_bytes".to_owned(),
            i.db.disk_space().unwrap_or(0) as f64,
        );
        values.insert("journals".to_owned(), i.db.journal_count() as f64);
        StoreStats {
            values,
            appendix: None,
        }
    }

    fn close(self: Box<Self>) -> Result<(), StoreError> {
        self.log
            .table()
            .db
            .persist(PersistMode::SyncAll)
            .map_err(engine("close"))
    }
}

/// One worker's handle: the log's cursor (last stream, value buffer).
struct FjallSession {
    log: Arc<OrderedLog<Inner>>,
    cursor: LogCursor,
}

impl Session for FjallSession {
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
        self.log
            .table()
            .db
            .persist(PersistMode::SyncData)
            .map_err(engine("sync"))
    }

    fn bounds(&mut self, stream: u64) -> Result<LogBounds, StoreError> {
        self.log.bounds(&mut self.cursor, stream)
    }

    fn put(&mut self, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        let inner = self.log.table();
        let mut b = inner.batch();
        b.insert(&inner.kv, key, value);
        b.commit().map_err(engine("put"))?;
        inner
            .kv_bytes
            .fetch_add((key.len() + value.len()) as u64, Ordering::Relaxed);
        Ok(())
    }

    fn get(&mut self, key: &[u8], out: &mut Vec<u8>) -> Result<bool, StoreError> {
        out.clear();
        match self.log.table().kv.get(key).map_err(engine("get"))? {
            Some(v) => {
                out.extend_from_slice(&v);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    fn delete(&mut self, key: &[u8]) -> Result<(), StoreError> {
        let inner = self.log.table();
        let mut b = inner.batch();
        b.remove(&inner.kv, key);
        b.commit().map_err(engine("delete"))
    }

    fn scan(&mut self, start: &[u8], limit: usize, out: &mut ReadBuf) -> Result<usize, StoreError> {
        out.clear();
        let mut n = 0;
        for g in self.log.table().kv.range(start..) {
            if n >= limit {
                break;
            }
            let v = g.value().map_err(engine("scan"))?;
            out.push(n as Offset, Keys::None, &v);
            n += 1;
        }
        Ok(n)
    }
}
