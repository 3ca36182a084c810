//! The storage API every target implements: [`Store`] (opened once per
//! target and shared by all workers) and [`Session`] (one per worker thread).
//!
//! Owns the vocabulary shared by stores and the engine: records, batches,
//! offsets, read buffers, capabilities, statistics and [`StoreError`]. It does
//! not own any store implementation, timing or counting: stores never read
//! the clock, count operations or print; the engine's worker times each call
//! in exactly one place.
//!
//! # Log semantics (checked by [`super::conformance`])
//!
//! - A store holds any number of *streams* (`u64` ids), each an independent
//!   log whose records get dense offsets starting at 0.
//! - [`Session::append`] writes a batch atomically and returns the offset of
//!   its first record; the batch's records get consecutive offsets. When it
//!   returns `Ok`, the batch is *acknowledged*: durable exactly as the
//!   target's sync policy promises.
//! - [`Session::read`] returns records from `max(from, trim_point)` onwards,
//!   in offset order, up to `max_bytes` of bodies (always at least one record
//!   when one is available), and returns the offset to read next.
//! - [`Session::trim`] makes every record below `up_to` invisible forever
//!   (also after a reopen). Trim points only move forward and are clamped to
//!   the tail.
//! - [`Session::pipeline`] is the optional split of a call into
//!   [`Pipeline::submit`] and [`Pipeline::complete`] (like fio's
//!   `queue`/`getevents`), for out-of-process stores that keep several
//!   requests in flight per session (an actor's `in_flight`); the engine
//!   keeps the timing. In-process kinds do not offer it.
//! - Log operations work only where [`Capabilities::log`] is true,
//!   key-value operations only where [`Capabilities::kv`] is true; the
//!   other family's methods keep their "not supported" defaults.

use std::collections::BTreeMap;
use std::path::PathBuf;

/// The position of a record inside its stream: dense, starting at 0.
pub type Offset = u64;

/// Keys attached to a log record (as in Restate's loglet `Keys`): used by
/// readers that filter, and written to the store with the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Keys {
    /// No key.
    #[default]
    None,
    /// One key.
    Single(u64),
    /// Two keys.
    Pair(u64, u64),
    /// An inclusive key range.
    Range(u64, u64),
}

/// One record of a batch: its keys and its body, borrowed from a payload pool
/// or a memory-mapped payload file so the hot path never copies or allocates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record<'a> {
    /// Keys of the record.
    pub keys: Keys,
    /// The record's body bytes.
    pub body: &'a [u8],
}

/// A record returned by a read: where its body lies inside [`ReadBuf::data`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadRecord {
    /// Offset of the record in its stream.
    pub offset: Offset,
    /// Keys of the record.
    pub keys: Keys,
    /// Start of the body inside [`ReadBuf::data`].
    pub start: usize,
    /// Length of the body in bytes.
    pub len: usize,
}

/// A reusable buffer that reads fill; cleared by each read.
#[derive(Debug, Default, Clone)]
pub struct ReadBuf {
    /// Record bodies, back to back.
    pub data: Vec<u8>,
    /// One entry per record, in offset order.
    pub records: Vec<ReadRecord>,
}

impl ReadBuf {
    /// Empties the buffer, keeping its allocations.
    pub fn clear(&mut self) {
        self.data.clear();
        self.records.clear();
    }

    /// Appends one record (used by stores while filling the buffer).
    pub fn push(&mut self, offset: Offset, keys: Keys, body: &[u8]) {
        let start = self.data.len();
        self.data.extend_from_slice(body);
        self.records.push(ReadRecord {
            offset,
            keys,
            start,
            len: body.len(),
        });
    }

    /// The body of the `i`th record.
    pub fn body(&self, i: usize) -> &[u8] {
        let r = &self.records[i];
        &self.data[r.start..r.start + r.len]
    }

    /// Number of records held.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// True when the buffer holds no record.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Total body bytes held.
    pub fn bytes(&self) -> usize {
        self.data.len()
    }
}

/// The visible extent of one stream: records in `trim_point..tail` can be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LogBounds {
    /// The first offset that is still visible.
    pub trim_point: Offset,
    /// The offset the next append will get.
    pub tail: Offset,
}

/// What a store can do. Validation decides from a kind's capabilities,
/// before anything runs, whether each phase's ops and restart are possible
/// on a target: every combination it accepts runs.
///
/// Build one from [`Capabilities::NONE`] so that fields added later
/// default to "cannot":
///
/// ```
/// use loadline::store::Capabilities;
/// let caps = Capabilities { log: true, persistent: true, crash_durable: true, ..Capabilities::NONE };
/// assert!(!caps.kv);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// append / read / trim / sync / bounds (those [`Session`] methods,
    /// overridden).
    pub log: bool,
    /// put / get / delete / scan (those [`Session`] methods, overridden).
    pub kv: bool,
    /// Data survives a close and reopen of the store in the same
    /// directory, also by another process (`restart: clean` keeps it, and
    /// `restart: crash` runs the writers in a child process).
    pub persistent: bool,
    /// Every acknowledged write survives a kill -9 of the writing process
    /// (the page cache survives; the store must not hold acknowledged data
    /// only in its own memory). Without it, `restart: crash` with `verify:
    /// acknowledged` is allowed but warned about: losses are the finding.
    pub crash_durable: bool,
    /// The store can be opened on loadline's simulated file system
    /// ([`StoreKind::open_simulated`](super::StoreKind::open_simulated)),
    /// which `restart: power-loss` needs.
    pub power_loss: bool,
    /// The largest batch one append accepts, in body and key bytes, when
    /// the store has such a limit (the WAL: what a segment holds).
    pub max_batch_bytes: Option<u64>,
    /// The most requests one session keeps in flight through its
    /// [`Session::pipeline`] (an actor's `in_flight`); 1 for a store whose
    /// sessions finish each call before returning (every in-process kind:
    /// more concurrency there is more `workers`).
    pub max_in_flight: u32,
}

impl Capabilities {
    /// A store that can do nothing: the base to build capabilities from.
    pub const NONE: Capabilities = Capabilities {
        log: false,
        kv: false,
        persistent: false,
        crash_durable: false,
        power_loss: false,
        max_batch_bytes: None,
        max_in_flight: 1,
    };
}

/// Unit of a store statistic, so reports and assertions can format and
/// compare it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum StatUnit {
    /// A plain count.
    Count,
    /// Bytes.
    Bytes,
    /// Nanoseconds.
    Nanos,
    /// Microseconds.
    Micros,
    /// A dimensionless ratio.
    Ratio,
}

/// A ratio statistic computed from counters the same kind reports:
/// `sum(numerator) / sum(denominator)` (0 while the denominator is 0).
/// Loadline recomputes it from the counters' change over each phase and
/// interval, and from their totals over a target's measured phases, so it
/// means the same at every level and across reopens (a store's own value
/// is since its last open).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RatioStat {
    /// The ratio's name (one of the kind's statistics).
    pub name: &'static str,
    /// Counters added up above the line.
    pub numerator: &'static [&'static str],
    /// Counters added up below the line.
    pub denominator: &'static [&'static str],
}

/// The static description of one statistic a store kind reports, used at
/// validation time to check `target.store.<name>` assertions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatDesc {
    /// Name under `target.store.`.
    pub name: &'static str,
    /// Unit of the value.
    pub unit: StatUnit,
    /// One line for the report and the docs.
    pub help: &'static str,
}

/// A statistic a store of some kind declares from its config rather than
/// in code (an `external` plug-in's own, named in the target's config so
/// validation knows it before the plug-in runs): the text is owned. See
/// [`StoreKind::declared_statistics`](super::StoreKind::declared_statistics).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclaredStat {
    /// Name under `target.store.`.
    pub name: String,
    /// Unit of the value.
    pub unit: StatUnit,
    /// One line for the report and the docs.
    pub help: String,
    /// A level (a value at a moment), not a counter.
    pub level: bool,
}

/// A snapshot of a store's own statistics.
#[derive(
    Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
pub struct StoreStats {
    /// Values by name (names as in the store's `STATS` list).
    pub values: BTreeMap<String, f64>,
    /// Free text for the report appendix (e.g. RocksDB's `rocksdb.stats`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appendix: Option<String>,
}

/// A statistic a store offers the live metrics endpoint beyond its
/// declared list (RocksDB: every ticker, histogram and column-family
/// property): a family, the labels that tell its members apart, and the
/// value as it is now.
#[derive(Debug, Clone, PartialEq)]
pub struct StoreSeries {
    /// Family name, `[a-z0-9_]` (`rocksdb_ticker`); the endpoint serves it
    /// as `loadline_store_<family>`.
    pub family: &'static str,
    /// What the family measures, for the endpoint's help text.
    pub help: &'static str,
    /// Labels telling the family's members apart (`ticker` →
    /// `rocksdb.block.cache.miss`).
    pub labels: Vec<(&'static str, String)>,
    /// True for a counter (only ever grows while the store is open).
    pub counter: bool,
    /// The value now.
    pub value: f64,
}

/// Everything that can go wrong inside a store. Messages are lowercase and
/// name the operation, the path and the cause.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// An I/O call failed.
    #[error("{op} {path}: {source}")]
    Io {
        /// The operation, e.g. `fdatasync`.
        op: &'static str,
        /// The file or directory involved.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// Stored data failed a check (CRC, framing, ordering).
    #[error("corrupt data in {path} at byte {offset}: {detail}")]
    Corrupt {
        /// The file holding the damage.
        path: PathBuf,
        /// Byte offset of the damage inside the file.
        offset: u64,
        /// What is wrong.
        detail: String,
    },
    /// An earlier failed sync poisoned the store; only a reopen recovers.
    #[error("store is poisoned by an earlier failure ({cause}); reopen it to recover")]
    Poisoned {
        /// The original failure.
        cause: String,
    },
    /// The store does not support the operation.
    #[error("{op} is not supported by the {store} store")]
    Unsupported {
        /// The operation.
        op: &'static str,
        /// The store kind.
        store: &'static str,
    },
    /// A caller broke the API contract (e.g. a record larger than a segment).
    #[error("invalid {op}: {detail}")]
    Invalid {
        /// The operation.
        op: &'static str,
        /// What was wrong.
        detail: String,
    },
    /// An error reported by an embedded engine (e.g. RocksDB).
    #[error("{op}: {detail}")]
    Engine {
        /// The operation.
        op: &'static str,
        /// The engine's message.
        detail: String,
    },
}

impl StoreError {
    /// An [`StoreError::Io`]: operation `op` on `path` failed with `source`.
    pub fn io(op: &'static str, path: &std::path::Path, source: std::io::Error) -> Self {
        StoreError::Io {
            op,
            path: path.to_path_buf(),
            source,
        }
    }
}

/// The error of a [`Session`] method a store does not override.
fn unsupported(op: &'static str) -> StoreError {
    StoreError::Unsupported { op, store: "this" }
}

/// A store under test: opened once per target and shared by every worker.
pub trait Store: Send + Sync {
    /// What this store supports.
    fn capabilities(&self) -> Capabilities;
    /// A new session for one worker thread.
    fn session(&self) -> Result<Box<dyn Session>, StoreError>;
    /// A snapshot of the store's own statistics.
    fn stats(&self) -> StoreStats;
    /// Everything else the store can tell a live metrics endpoint (read at
    /// each scrape while a phase runs). Default: nothing beyond [`stats`](Self::stats).
    fn series(&self) -> Vec<StoreSeries> {
        Vec::new()
    }
    /// The library and version this store runs on, as the store itself
    /// tells (RocksDB: the `rocksdb_version` its OPTIONS file records,
    /// `RocksDB 11.8.1` — the library actually linked, also one built with
    /// `ROCKSDB_LIB_DIR`); `run.json` records it per target. Default: none
    /// (loadline's own stores are versions of loadline).
    fn software(&self) -> Option<String> {
        None
    }
    /// The background work in flight now (flushes, compactions, files
    /// prepared ahead of need), which a phase's `settle` waits out before
    /// it measures. Cheap: asked every few milliseconds while settling.
    /// Default: quiescent — right for a store without background work.
    fn background(&self) -> super::Background {
        super::Background::QUIESCENT
    }
    /// Flushes and closes the store; the data directory stays.
    fn close(self: Box<Self>) -> Result<(), StoreError>;
}

/// One worker's handle on a store. Log operations where
/// [`Capabilities::log`] is true, key-value operations where
/// [`Capabilities::kv`] is true. Every method has a default that returns
/// [`StoreError::Unsupported`], so a kind implements only the family it
/// has: validation never lets a scenario call the other (it asks the
/// kind's capabilities first), and the crash and verify machinery asks a
/// key-value-only store for keys only.
pub trait Session: Send {
    /// Appends a batch to `stream`; returns the offset of its first record.
    fn append(&mut self, _stream: u64, _batch: &[Record<'_>]) -> Result<Offset, StoreError> {
        Err(unsupported("append"))
    }
    /// Reads from `from` (or the trim point, if later) up to `max_bytes` of
    /// bodies into `out` (cleared first); returns the next offset to read.
    fn read(
        &mut self,
        _stream: u64,
        _from: Offset,
        _max_bytes: usize,
        _out: &mut ReadBuf,
    ) -> Result<Offset, StoreError> {
        Err(unsupported("read"))
    }
    /// Makes records below `up_to` invisible; trim points never move back.
    fn trim(&mut self, _stream: u64, _up_to: Offset) -> Result<(), StoreError> {
        Err(unsupported("trim"))
    }
    /// Trims several streams, `(stream, up_to)` each, as [`trim`](Self::trim)
    /// would one after another. A store that persists trim points can
    /// override it to persist them once for all (the WAL writes its trim
    /// file once); the default trims one stream after another. A trim
    /// actor calls it once per round with its share of the streams.
    fn trim_many(&mut self, points: &[(u64, Offset)]) -> Result<(), StoreError> {
        for &(stream, up_to) in points {
            self.trim(stream, up_to)?;
        }
        Ok(())
    }
    /// Makes every append acknowledged so far durable.
    fn sync(&mut self) -> Result<(), StoreError> {
        Err(unsupported("sync"))
    }
    /// The visible extent of `stream`.
    fn bounds(&mut self, _stream: u64) -> Result<LogBounds, StoreError> {
        Err(unsupported("bounds"))
    }

    /// Sets `key` to `value`.
    fn put(&mut self, _key: &[u8], _value: &[u8]) -> Result<(), StoreError> {
        Err(unsupported("put"))
    }
    /// Sets key `i` to `values[i].body` for every `i`, as one operation
    /// where the store can (a write batch); by default one `put` after
    /// another. Key `i` is `keys[key_ranges[i]]`; both slices have the same
    /// length.
    fn put_batch(
        &mut self,
        keys: &[u8],
        key_ranges: &[std::ops::Range<usize>],
        values: &[Record<'_>],
    ) -> Result<(), StoreError> {
        for (k, v) in key_ranges.iter().zip(values) {
            self.put(&keys[k.clone()], v.body)?;
        }
        Ok(())
    }
    /// Removes every key `keys[key_ranges[i]]`, as one operation where the
    /// store can (a write batch); by default one `delete` after another.
    fn delete_batch(
        &mut self,
        keys: &[u8],
        key_ranges: &[std::ops::Range<usize>],
    ) -> Result<(), StoreError> {
        for k in key_ranges {
            self.delete(&keys[k.clone()])?;
        }
        Ok(())
    }
    /// Reads `key` into `out`; returns false when absent.
    fn get(&mut self, _key: &[u8], _out: &mut Vec<u8>) -> Result<bool, StoreError> {
        Err(unsupported("get"))
    }
    /// Removes `key` (absent keys are fine).
    fn delete(&mut self, _key: &[u8]) -> Result<(), StoreError> {
        Err(unsupported("delete"))
    }
    /// Reads up to `limit` pairs with keys `>= start`, in key order, into
    /// `out` (each record's body is the value; keys are not returned);
    /// returns the number of pairs read.
    fn scan(
        &mut self,
        _start: &[u8],
        _limit: usize,
        _out: &mut ReadBuf,
    ) -> Result<usize, StoreError> {
        Err(unsupported("scan"))
    }

    /// The session's split submit/complete interface, for actors that
    /// keep several requests in flight (`in_flight` above 1): asked once
    /// per worker, before its first operation. Default: `None`, a session
    /// whose calls finish before they return. A kind returning one sets
    /// [`Capabilities::max_in_flight`] above 1.
    fn pipeline(&mut self) -> Option<&mut dyn Pipeline> {
        None
    }
}

// Requests in flight: the optional split submit/complete interface of a
// session (`Session::pipeline`), for out-of-process stores.

/// One operation handed to [`Pipeline::submit`]: the data-path calls that
/// do not depend on an earlier reply. Borrowed data is copied (encoded)
/// by `submit`, so the caller may reuse its buffers at once.
#[derive(Debug, Clone, Copy)]
pub enum Request<'a> {
    /// [`Session::append`](Session::append): a batch to a stream.
    Append {
        /// The stream.
        stream: u64,
        /// The records, appended atomically.
        batch: &'a [Record<'a>],
    },
    /// [`Session::put`](Session::put).
    Put {
        /// The key.
        key: &'a [u8],
        /// The value.
        value: &'a [u8],
    },
    /// [`Session::put_batch`](Session::put_batch): key `i` is
    /// `keys[key_ranges[i]]`, its value `values[i].body`.
    PutBatch {
        /// The keys, back to back.
        keys: &'a [u8],
        /// Each key's range in `keys`.
        key_ranges: &'a [std::ops::Range<usize>],
        /// The values.
        values: &'a [Record<'a>],
    },
    /// [`Session::get`](Session::get).
    Get {
        /// The key.
        key: &'a [u8],
    },
    /// [`Session::delete`](Session::delete).
    Delete {
        /// The key.
        key: &'a [u8],
    },
    /// [`Session::delete_batch`](Session::delete_batch).
    DeleteBatch {
        /// The keys, back to back.
        keys: &'a [u8],
        /// Each key's range in `keys`.
        key_ranges: &'a [std::ops::Range<usize>],
    },
}

/// What a completed [`Request`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// An append: the offset of the batch's first record.
    Appended(Offset),
    /// A put, put batch, delete or delete batch was acknowledged.
    Done,
    /// A get: the value's length in bytes, `None` when the key is absent.
    Got(Option<usize>),
}

/// A session's split submit/complete interface (see the module docs).
///
/// Contract:
/// - [`submit`](Self::submit) may buffer the request; it must reach the
///   store no later than the next [`complete`](Self::complete) that
///   waits, so a caller waiting for a completion never waits for a
///   request still in a buffer.
/// - Every submitted request completes exactly once, with the tag it was
///   submitted with. Completions may come in any order.
/// - A request's outcome is what the synchronous [`Session`]
///   call would have returned; an acknowledged write is durable as the
///   target's sync policy promises, as there.
/// - After an error the session may be unusable; the engine stops the
///   worker at the first one.
pub trait Pipeline {
    /// Hands `request` over, tagged `tag` (any value; the engine uses a
    /// slot index). Returns once its bytes are copied.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the request cannot be sent (the connection or
    /// the plug-in is gone) or is invalid for this store.
    fn submit(&mut self, tag: u64, request: Request<'_>) -> Result<(), StoreError>;

    /// The tag and outcome of one finished request. With `wait` it blocks
    /// until one has finished (flushing buffered requests first); without,
    /// it returns `Ok(None)` at once when none has finished yet. Never
    /// called with nothing in flight.
    ///
    /// # Errors
    ///
    /// The store's error for a request (a server error reply, an
    /// `unsupported` answer), or a broken connection.
    fn complete(&mut self, wait: bool) -> Result<Option<(u64, Outcome)>, StoreError>;
}
