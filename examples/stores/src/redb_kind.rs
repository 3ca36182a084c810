//! The `redb` store kind: loadline's log and key-value operations on a
//! [redb](https://github.com/cberner/redb) copy-on-write B-tree file,
//! written only against loadline's public API.
//!
//! Layout (one file, `redb.db`, in the target's directory):
//!
//! | table | key | value |
//! |---|---|---|
//! | `data` | (stream, offset) | key tag (1 byte) ‖ keys (0, 8 or 16 bytes BE) ‖ body |
//! | `trim` | stream | trim point |
//! | `kv` | the key | the value |
//!
//! The log semantics (dense offsets, per-stream tail and trim point, read
//! checks) are loadline's [`OrderedLog`]; this file gives it redb's calls
//! ([`LogTable`]): an append is one write transaction; a trim removes the
//! trimmed records and writes the new trim point in one transaction, so
//! trims survive a reopen. redb runs one write transaction at a time, so
//! appenders queue on it.
//!
//! Durability is redb's per-transaction [`RedbDurability`]: by default
//! every commit is fsynced before the append returns.

use std::collections::BTreeMap;
use std::fmt::Display;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use loadline::store::ordered_log::{EncodedRecords, LogCursor, LogTable, OrderedLog};
use loadline::store::{
    Capabilities, Keys, LogBounds, Offset, ReadBuf, Record, Session, StatDesc, StatUnit, Store,
    StoreError, StoreKind, StoreStats,
};
use loadline::units::{ByteSize, format_size};
use redb::{Database, Durability, ReadableDatabase, TableDefinition};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The `redb` store kind.
#[derive(Debug, Clone, Copy, Default)]
pub struct RedbKind;

/// When a committed write is durable (redb's `Durability`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RedbDurability {
    /// Every commit is fsynced before it is acknowledged (redb's default): it survives a process crash and a power loss, as far as the device honours fsync.
    #[default]
    Immediate,
    /// Commits are not durable until a later immediate commit (a `sync` actor or the close): an acknowledged write can be lost in a crash.
    None,
}

/// Options of the `redb` store.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct RedbConfig {
    /// Durability of each acknowledged write: `immediate` or `none`. Default `immediate`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub durability: Option<RedbDurability>,
    /// Size of redb's page cache. Default redb's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(example = &"64MiB")]
    pub cache_size: Option<ByteSize>,
}

impl RedbConfig {
    fn durability(&self) -> RedbDurability {
        self.durability.unwrap_or_default()
    }
}

const DATA: TableDefinition<(u64, u64), &[u8]> = TableDefinition::new("data");
const TRIM: TableDefinition<u64, u64> = TableDefinition::new("trim");
const KV: TableDefinition<&[u8], &[u8]> = TableDefinition::new("kv");

/// The database file inside the target's directory.
const FILE: &str = "redb.db";

/// Statistics the redb store reports under `target.store.*`.
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
        name: "commits",
        unit: StatUnit::Count,
        help: "write transactions committed since open",
    },
    StatDesc {
        name: "file_bytes",
        unit: StatUnit::Bytes,
        help: "size of the database file",
    },
];

impl StoreKind for RedbKind {
    const NAME: &'static str = "redb";
    const ABOUT: &'static str =
        "redb, a copy-on-write B-tree file, with the log mapped onto (stream, offset) keys.";
    type Config = RedbConfig;

    fn capabilities(config: &RedbConfig) -> Capabilities {
        capabilities(config.durability())
    }

    fn statistics() -> &'static [StatDesc] {
        STATS
    }

    fn describe(config: &RedbConfig) -> String {
        let mut s = format!(
            "durability {}",
            match config.durability() {
                RedbDurability::Immediate => "immediate",
                RedbDurability::None => "none",
            }
        );
        if let Some(c) = config.cache_size {
            s.push_str(&format!(", cache {}", format_size(c.0)));
        }
        s
    }

    fn open(config: &RedbConfig, dir: &Path) -> Result<Box<dyn Store>, StoreError> {
        Ok(Box::new(RedbStore::open(config, dir)?))
    }
}

fn capabilities(d: RedbDurability) -> Capabilities {
    Capabilities {
        log: true,
        kv: true,
        persistent: true,
        crash_durable: d == RedbDurability::Immediate,
        ..Capabilities::NONE
    }
}

fn engine<E: Display>(op: &'static str) -> impl FnOnce(E) -> StoreError {
    move |e| StoreError::Engine {
        op,
        detail: format!("redb: {e}"),
    }
}

/// The redb store: one database file in the target's directory.
struct RedbStore {
    log: Arc<OrderedLog<Inner>>,
}

struct Inner {
    db: Database,
    durability: RedbDurability,
    path: PathBuf,
    kv_bytes: AtomicU64,
    commits: AtomicU64,
}

impl RedbStore {
    fn open(config: &RedbConfig, dir: &Path) -> Result<RedbStore, StoreError> {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::Io {
            op: "create directory",
            path: dir.to_path_buf(),
            source,
        })?;
        let path = dir.join(FILE);
        let mut b = Database::builder();
        if let Some(c) = config.cache_size {
            b.set_cache_size(usize::try_from(c.0).unwrap_or(usize::MAX));
        }
        let db = b.create(&path).map_err(engine("open"))?;
        // Create the tables, so readers never find them missing.
        let tx = db.begin_write().map_err(engine("open"))?;
        tx.open_table(DATA).map_err(engine("open table data"))?;
        tx.open_table(TRIM).map_err(engine("open table trim"))?;
        tx.open_table(KV).map_err(engine("open table kv"))?;
        tx.commit().map_err(engine("open"))?;
        let inner = Inner {
            db,
            durability: config.durability(),
            path: path.clone(),
            kv_bytes: AtomicU64::new(0),
            commits: AtomicU64::new(0),
        };
        Ok(RedbStore {
            log: Arc::new(OrderedLog::new(inner, &path)),
        })
    }
}

impl Inner {
    /// A write transaction committed as the durability setting says.
    fn begin(&self, op: &'static str) -> Result<redb::WriteTransaction, StoreError> {
        let mut tx = self.db.begin_write().map_err(engine(op))?;
        tx.set_durability(match self.durability {
            RedbDurability::Immediate => Durability::Immediate,
            RedbDurability::None => Durability::None,
        })
        .map_err(engine(op))?;
        Ok(tx)
    }

    fn commit(&self, tx: redb::WriteTransaction, op: &'static str) -> Result<(), StoreError> {
        tx.commit().map_err(engine(op))?;
        self.commits.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Makes every earlier commit durable: an empty immediate commit.
    fn persist(&self, op: &'static str) -> Result<(), StoreError> {
        let mut tx = self.db.begin_write().map_err(engine(op))?;
        tx.set_durability(Durability::Immediate)
            .map_err(engine(op))?;
        self.commit(tx, op)
    }
}

impl LogTable for Inner {
    fn trim_point(&self, stream: u64) -> Result<Option<Offset>, StoreError> {
        let tx = self.db.begin_read().map_err(engine("read trim point"))?;
        Ok(tx
            .open_table(TRIM)
            .map_err(engine("read trim point"))?
            .get(stream)
            .map_err(engine("read trim point"))?
            .map(|g| g.value()))
    }

    fn last_offset(&self, stream: u64) -> Result<Option<Offset>, StoreError> {
        let tx = self.db.begin_read().map_err(engine("read tail"))?;
        let data = tx.open_table(DATA).map_err(engine("read tail"))?;
        Ok(data
            .range((stream, 0)..=(stream, u64::MAX))
            .map_err(engine("read tail"))?
            .next_back()
            .transpose()
            .map_err(engine("read tail"))?
            .map(|(k, _)| k.value().1))
    }

    fn write_records(&self, stream: u64, records: EncodedRecords<'_>) -> Result<(), StoreError> {
        let tx = self.begin("append")?;
        {
            let mut t = tx.open_table(DATA).map_err(engine("append"))?;
            records.try_for_each(|offset, value| {
                t.insert((stream, offset), value)
                    .map(|_| ())
                    .map_err(engine("append"))
            })?;
        }
        self.commit(tx, "append")
    }

    fn scan_records(
        &self,
        stream: u64,
        from: Offset,
        to: Offset,
        visit: &mut dyn FnMut(Offset, &[u8]) -> bool,
    ) -> Result<(), StoreError> {
        let tx = self.db.begin_read().map_err(engine("read"))?;
        let t = tx.open_table(DATA).map_err(engine("read"))?;
        for item in t
            .range((stream, from)..(stream, to))
            .map_err(engine("read"))?
        {
            let (k, v) = item.map_err(engine("read"))?;
            if !visit(k.value().1, v.value()) {
                break;
            }
        }
        Ok(())
    }

    fn trim_records(&self, stream: u64, from: Offset, to: Offset) -> Result<(), StoreError> {
        // One transaction: the trim point (which keeps the records hidden
        // and the tail known after a reopen) and the removal of the records.
        let tx = self.begin("trim")?;
        {
            let mut t = tx.open_table(TRIM).map_err(engine("trim"))?;
            t.insert(stream, to).map_err(engine("trim"))?;
            let mut d = tx.open_table(DATA).map_err(engine("trim"))?;
            d.retain_in((stream, from)..(stream, to), |_, _| false)
                .map_err(engine("trim"))?;
        }
        self.commit(tx, "trim")
    }
}

impl Store for RedbStore {
    fn capabilities(&self) -> Capabilities {
        capabilities(self.log.table().durability)
    }

    fn session(&self) -> Result<Box<dyn Session>, StoreError> {
        Ok(Box::new(RedbSession {
            log: Arc::clone(&self.log),
            cursor: LogCursor::default(),
        }))
    }

    fn stats(&self) -> StoreStats {
        let i = self.log.table();
        let (records, bytes) = self.log.appended();
        let mut values = BTreeMap::new();
        for (name, v) in [
            ("records", records),
            ("bytes", bytes),
            ("kv_bytes", i.kv_bytes.load(Ordering::Relaxed)),
            ("commits", i.commits.load(Ordering::Relaxed)),
            (
                "file_bytes",
                std::fs::metadata(&i.path).map_or(0, |m| m.len()),
            ),
        ] {
            values.insert(name.to_owned(), v as f64);
        }
        StoreStats {
            values,
            appendix: None,
        }
    }

    fn close(self: Box<Self>) -> Result<(), StoreError> {
        let inner = self.log.table();
        if inner.durability == RedbDurability::None {
            inner.persist("close")?;
        }
        Ok(())
    }
}

/// One worker's handle: the log's cursor (last stream, value buffer).
struct RedbSession {
    log: Arc<OrderedLog<Inner>>,
    cursor: LogCursor,
}

impl Session for RedbSession {
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
        self.log.table().persist("sync")
    }

    fn bounds(&mut self, stream: u64) -> Result<LogBounds, StoreError> {
        self.log.bounds(&mut self.cursor, stream)
    }

    fn put(&mut self, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        let inner = self.log.table();
        let tx = inner.begin("put")?;
        {
            let mut t = tx.open_table(KV).map_err(engine("put"))?;
            t.insert(key, value).map_err(engine("put"))?;
        }
        inner.commit(tx, "put")?;
        inner
            .kv_bytes
            .fetch_add((key.len() + value.len()) as u64, Ordering::Relaxed);
        Ok(())
    }

    fn get(&mut self, key: &[u8], out: &mut Vec<u8>) -> Result<bool, StoreError> {
        out.clear();
        let tx = self.log.table().db.begin_read().map_err(engine("get"))?;
        let t = tx.open_table(KV).map_err(engine("get"))?;
        match t.get(key).map_err(engine("get"))? {
            Some(v) => {
                out.extend_from_slice(v.value());
                Ok(true)
            }
            None => Ok(false),
        }
    }

    fn delete(&mut self, key: &[u8]) -> Result<(), StoreError> {
        let inner = self.log.table();
        let tx = inner.begin("delete")?;
        {
            let mut t = tx.open_table(KV).map_err(engine("delete"))?;
            t.remove(key).map_err(engine("delete"))?;
        }
        inner.commit(tx, "delete")
    }

    fn scan(&mut self, start: &[u8], limit: usize, out: &mut ReadBuf) -> Result<usize, StoreError> {
        out.clear();
        let tx = self.log.table().db.begin_read().map_err(engine("scan"))?;
        let t = tx.open_table(KV).map_err(engine("scan"))?;
        let mut n = 0;
        for item in t.range(start..).map_err(engine("scan"))? {
            if n >= limit {
                break;
            }
            let (_, v) = item.map_err(engine("scan"))?;
            out.push(n as Offset, Keys::None, v.value());
            n += 1;
        }
        Ok(n)
    }
}
