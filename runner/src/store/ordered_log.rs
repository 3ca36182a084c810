//! A log on an ordered key-value store, written once: [`OrderedLog`] keeps
//! each stream's state (tail, trim point, appended bytes), assigns dense
//! offsets, reads with the gap and trim checks, and trims — so a store
//! whose only primitive is an ordered map implements five calls of
//! [`LogTable`] (its own get, put, delete and range) and gets the log
//! semantics the conformance suite checks.
//!
//! The built-in `rocksdb` kind and the fjall and redb plug-ins of
//! `examples/stores` are built on it. Record values use the encoding of
//! [`super::layout`] (keys and body); how a store keys a record — a
//! 16-byte [`data_key`](super::layout::data_key) or a `(u64, u64)` tuple —
//! is its own choice, as long as one stream's records iterate in offset
//! order.
//!
//! Concurrency: per stream, a mutex serialises offset assignment with its
//! write (offsets must be dense, so two appenders to one stream must not
//! both take the same tail), while the tail and trim point are published in
//! atomics so reads and `bounds` never wait behind an appender's write.
//! A stream's state is loaded on first use from the table (trim point, last
//! offset). A [`LogCursor`] per session remembers the last stream it used,
//! so a worker that appends to one stream takes no shared lock per call.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use super::api::{LogBounds, Offset, ReadBuf, Record, StoreError};
use super::layout::{decode_value, encode_value};

/// What a store provides for [`OrderedLog`]: its log's records, ordered by
/// (stream, offset), and one trim point per stream.
///
/// Each write must be atomic (all of it or none of it after a crash) and as
/// durable as the store's configuration promises when it returns.
pub trait LogTable: Send + Sync {
    /// The trim point stored for `stream` (`None`: never trimmed).
    ///
    /// # Errors
    ///
    /// The store's error when the read fails or the value is malformed.
    fn trim_point(&self, stream: u64) -> Result<Option<Offset>, StoreError>;

    /// The offset of the last record of `stream` (`None`: it has none).
    ///
    /// # Errors
    ///
    /// The store's error when the read fails.
    fn last_offset(&self, stream: u64) -> Result<Option<Offset>, StoreError>;

    /// Writes `records` of `stream` (offsets `records.first()` onward) in
    /// one atomic write.
    ///
    /// # Errors
    ///
    /// The store's error; then nothing of the batch may be visible.
    fn write_records(&self, stream: u64, records: EncodedRecords<'_>) -> Result<(), StoreError>;

    /// Calls `visit(offset, value)` for each record of `stream` with an
    /// offset in `from..to`, in offset order, until `visit` returns false.
    ///
    /// # Errors
    ///
    /// The store's error when the read fails (or a key is malformed).
    fn scan_records(
        &self,
        stream: u64,
        from: Offset,
        to: Offset,
        visit: &mut dyn FnMut(Offset, &[u8]) -> bool,
    ) -> Result<(), StoreError>;

    /// Stores `to` as the trim point of `stream` and removes its records
    /// in `from..to`, in one atomic write (a store may hide the range first
    /// and reclaim it later, as RocksDB's range deletion does).
    ///
    /// # Errors
    ///
    /// The store's error; then the old trim point stays.
    fn trim_records(&self, stream: u64, from: Offset, to: Offset) -> Result<(), StoreError>;
}

/// A batch of records to write, encoded one at a time into a buffer the
/// session reuses (no allocation per record).
pub struct EncodedRecords<'a> {
    first: Offset,
    records: &'a [Record<'a>],
    buf: &'a mut Vec<u8>,
}

impl EncodedRecords<'_> {
    /// The offset of the first record.
    pub fn first(&self) -> Offset {
        self.first
    }

    /// How many records.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The records' body bytes (a hint for sizing a write batch).
    pub fn body_bytes(&self) -> usize {
        self.records.iter().map(|r| r.body.len()).sum()
    }

    /// Calls `f(offset, encoded value)` for each record, in order; stops at
    /// the first error and returns it.
    ///
    /// # Errors
    ///
    /// Whatever `f` returns.
    pub fn try_for_each<E>(
        self,
        mut f: impl FnMut(Offset, &[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        for (r, offset) in self.records.iter().zip(self.first..) {
            encode_value(r.keys, r.body, self.buf);
            f(offset, self.buf)?;
        }
        Ok(())
    }
}

/// One stream's state; `tail` and `trim` change only under `write`.
#[derive(Debug, Default)]
struct Stream {
    write: Mutex<Appended>,
    tail: AtomicU64,
    trim: AtomicU64,
}

/// What a stream's appenders counted (under its write lock).
#[derive(Debug, Default, Clone, Copy)]
struct Appended {
    records: u64,
    bytes: u64,
}

/// A session's memory of the last stream it used, and its value buffer.
#[derive(Debug, Default)]
pub struct LogCursor {
    last: Option<(u64, Arc<Stream>)>,
    buf: Vec<u8>,
}

/// The log semantics on a [`LogTable`]; see the module docs.
#[derive(Debug)]
pub struct OrderedLog<T> {
    table: T,
    /// Named in corruption errors.
    path: PathBuf,
    streams: RwLock<HashMap<u64, Arc<Stream>>>,
}

impl<T: LogTable> OrderedLog<T> {
    /// A log on `table`, whose data lives at `path` (named in errors).
    pub fn new(table: T, path: &Path) -> Self {
        OrderedLog {
            table,
            path: path.to_path_buf(),
            streams: RwLock::new(HashMap::new()),
        }
    }

    /// The table, for the store's other operations.
    pub fn table(&self) -> &T {
        &self.table
    }

    /// Appends `batch` to `stream`; returns the first record's offset.
    ///
    /// # Errors
    ///
    /// The table's error; the tail does not move then.
    pub fn append(
        &self,
        cursor: &mut LogCursor,
        stream: u64,
        batch: &[Record<'_>],
    ) -> Result<Offset, StoreError> {
        let st = self.stream(cursor, stream)?;
        let mut w = st.write.lock().unwrap_or_else(PoisonError::into_inner);
        let first = st.tail.load(Ordering::Acquire);
        if batch.is_empty() {
            return Ok(first);
        }
        self.table.write_records(
            stream,
            EncodedRecords {
                first,
                records: batch,
                buf: &mut cursor.buf,
            },
        )?;
        st.tail.store(first + batch.len() as u64, Ordering::Release);
        w.records += batch.len() as u64;
        w.bytes += batch.iter().map(|r| r.body.len() as u64).sum::<u64>();
        Ok(first)
    }

    /// Reads `stream` from `from` (or its trim point, if later) into `out`,
    /// at least one record and at most `max_bytes` of bodies; returns the
    /// offset to read next.
    ///
    /// # Errors
    ///
    /// [`StoreError::Corrupt`] when a record below the tail is missing or
    /// malformed; the table's error when the read fails.
    pub fn read(
        &self,
        cursor: &mut LogCursor,
        stream: u64,
        from: Offset,
        max_bytes: usize,
        out: &mut ReadBuf,
    ) -> Result<Offset, StoreError> {
        out.clear();
        let st = self.stream(cursor, stream)?;
        let start = from.max(st.trim.load(Ordering::Acquire));
        // Bounded by the published tail: a batch still being written is
        // not acknowledged, so it is not read.
        let tail = st.tail.load(Ordering::Acquire);
        if start >= tail {
            return Ok(start);
        }
        let mut next = start;
        let mut damage: Option<String> = None;
        self.table
            .scan_records(stream, start, tail, &mut |offset, value| {
                if offset != next {
                    // The only legitimate gap is a trim that ran since the
                    // trim point was loaded.
                    if out.is_empty() && offset <= st.trim.load(Ordering::Acquire) {
                        next = offset;
                    } else {
                        damage = Some(format!("record {next} is missing (found {offset})"));
                        return false;
                    }
                }
                let Some((keys, body)) = decode_value(value) else {
                    damage = Some(format!("record {offset} has a bad header"));
                    return false;
                };
                if !out.is_empty() && out.bytes() + body.len() > max_bytes {
                    return false;
                }
                out.push(offset, keys, body);
                next = offset + 1;
                true
            })?;
        if let Some(detail) = damage {
            return Err(self.corrupt(stream, &detail));
        }
        if out.is_empty() {
            // Everything from `start` was trimmed meanwhile, or records
            // are missing below the tail.
            let trim = st.trim.load(Ordering::Acquire);
            if trim >= tail {
                return Ok(trim);
            }
            return Err(self.corrupt(stream, &format!("records {start}..{tail} are missing")));
        }
        Ok(next)
    }

    /// Trims `stream` up to `up_to` (at most its tail); a trim point at or
    /// below the current one changes nothing.
    ///
    /// # Errors
    ///
    /// The table's error; the trim point does not move then.
    pub fn trim(
        &self,
        cursor: &mut LogCursor,
        stream: u64,
        up_to: Offset,
    ) -> Result<(), StoreError> {
        let st = self.stream(cursor, stream)?;
        let _w = st.write.lock().unwrap_or_else(PoisonError::into_inner);
        let tail = st.tail.load(Ordering::Acquire);
        let current = st.trim.load(Ordering::Acquire);
        let new = up_to.min(tail);
        if new <= current {
            return Ok(());
        }
        self.table.trim_records(stream, current, new)?;
        st.trim.store(new, Ordering::Release);
        Ok(())
    }

    /// The trim point and tail of `stream`.
    ///
    /// # Errors
    ///
    /// The table's error when the stream's state cannot be loaded.
    pub fn bounds(&self, cursor: &mut LogCursor, stream: u64) -> Result<LogBounds, StoreError> {
        let st = self.stream(cursor, stream)?;
        // Trim point first: it never exceeds the tail, and both only grow.
        let trim_point = st.trim.load(Ordering::Acquire);
        let tail = st.tail.load(Ordering::Acquire);
        Ok(LogBounds { trim_point, tail })
    }

    /// (records, body bytes) appended since the log was opened.
    pub fn appended(&self) -> (u64, u64) {
        self.streams
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .map(|s| *s.write.lock().unwrap_or_else(PoisonError::into_inner))
            .fold((0, 0), |(r, b), a| (r + a.records, b + a.bytes))
    }

    /// The state of `id`: the cursor's, or loaded from the table on first use.
    fn stream(&self, cursor: &mut LogCursor, id: u64) -> Result<Arc<Stream>, StoreError> {
        if let Some((last, s)) = &cursor.last
            && *last == id
        {
            return Ok(Arc::clone(s));
        }
        let s = self.shared_stream(id)?;
        cursor.last = Some((id, Arc::clone(&s)));
        Ok(s)
    }

    fn shared_stream(&self, id: u64) -> Result<Arc<Stream>, StoreError> {
        if let Some(s) = self
            .streams
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&id)
        {
            return Ok(Arc::clone(s));
        }
        // Loading under the write lock: a second loader waits and then
        // finds the state, so no append can be lost to a stale copy.
        let mut map = self.streams.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(s) = map.get(&id) {
            return Ok(Arc::clone(s));
        }
        let trim = self.table.trim_point(id)?.unwrap_or(0);
        let tail = self.table.last_offset(id)?.map_or(0, |o| o + 1).max(trim);
        let s = Arc::new(Stream {
            write: Mutex::new(Appended::default()),
            tail: AtomicU64::new(tail),
            trim: AtomicU64::new(trim),
        });
        map.insert(id, Arc::clone(&s));
        Ok(s)
    }

    fn corrupt(&self, stream: u64, detail: &str) -> StoreError {
        StoreError::Corrupt {
            path: self.path.clone(),
            offset: 0,
            detail: format!("stream {stream}: {detail}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::LazyLock;

    use super::*;
    use crate::store::api::{Capabilities, Keys, Session, Store, StoreStats};
    use crate::store::conformance;

    /// An ordered map that outlives a store (one per directory), so a
    /// reopen finds what was written: a persistent store in miniature.
    type Tables = (BTreeMap<(u64, u64), Vec<u8>>, BTreeMap<u64, u64>);
    type Map = Arc<Mutex<Tables>>;
    static DISKS: LazyLock<Mutex<HashMap<PathBuf, Map>>> = LazyLock::new(Default::default);

    struct MapTable(Map);

    impl MapTable {
        fn lock(&self) -> std::sync::MutexGuard<'_, Tables> {
            self.0.lock().unwrap_or_else(PoisonError::into_inner)
        }
    }

    impl LogTable for MapTable {
        fn trim_point(&self, stream: u64) -> Result<Option<Offset>, StoreError> {
            Ok(self.lock().1.get(&stream).copied())
        }
        fn last_offset(&self, stream: u64) -> Result<Option<Offset>, StoreError> {
            Ok(self
                .lock()
                .0
                .range((stream, 0)..=(stream, u64::MAX))
                .next_back()
                .map(|(k, _)| k.1))
        }
        fn write_records(
            &self,
            stream: u64,
            records: EncodedRecords<'_>,
        ) -> Result<(), StoreError> {
            let mut staged = Vec::new();
            records.try_for_each(|o, v| {
                staged.push(((stream, o), v.to_vec()));
                Ok::<(), StoreError>(())
            })?;
            self.lock().0.extend(staged);
            Ok(())
        }
        fn scan_records(
            &self,
            stream: u64,
            from: Offset,
            to: Offset,
            visit: &mut dyn FnMut(Offset, &[u8]) -> bool,
        ) -> Result<(), StoreError> {
            for ((_, o), v) in self.lock().0.range((stream, from)..(stream, to)) {
                if !visit(*o, v) {
                    break;
                }
            }
            Ok(())
        }
        fn trim_records(&self, stream: u64, from: Offset, to: Offset) -> Result<(), StoreError> {
            let mut m = self.lock();
            m.1.insert(stream, to);
            for o in from..to {
                m.0.remove(&(stream, o));
            }
            Ok(())
        }
    }

    struct MapStore(Arc<OrderedLog<MapTable>>);
    struct MapSession(Arc<OrderedLog<MapTable>>, LogCursor);

    impl Store for MapStore {
        fn capabilities(&self) -> Capabilities {
            Capabilities {
                log: true,
                persistent: true,
                ..Capabilities::NONE
            }
        }
        fn session(&self) -> Result<Box<dyn Session>, StoreError> {
            Ok(Box::new(MapSession(
                Arc::clone(&self.0),
                LogCursor::default(),
            )))
        }
        fn stats(&self) -> StoreStats {
            StoreStats::default()
        }
        fn close(self: Box<Self>) -> Result<(), StoreError> {
            Ok(())
        }
    }

    impl Session for MapSession {
        fn append(&mut self, stream: u64, batch: &[Record<'_>]) -> Result<Offset, StoreError> {
            self.0.append(&mut self.1, stream, batch)
        }
        fn read(
            &mut self,
            stream: u64,
            from: Offset,
            max: usize,
            out: &mut ReadBuf,
        ) -> Result<Offset, StoreError> {
            self.0.read(&mut self.1, stream, from, max, out)
        }
        fn trim(&mut self, stream: u64, up_to: Offset) -> Result<(), StoreError> {
            self.0.trim(&mut self.1, stream, up_to)
        }
        fn sync(&mut self) -> Result<(), StoreError> {
            Ok(())
        }
        fn bounds(&mut self, stream: u64) -> Result<LogBounds, StoreError> {
            self.0.bounds(&mut self.1, stream)
        }
    }

    fn open(dir: &Path) -> Result<Box<dyn Store>, StoreError> {
        let map = Arc::clone(
            DISKS
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .entry(dir.to_path_buf())
                .or_default(),
        );
        Ok(Box::new(MapStore(Arc::new(OrderedLog::new(
            MapTable(map),
            dir,
        )))))
    }

    #[test]
    fn a_map_with_five_calls_keeps_the_log_semantics() {
        let dir = tempfile::tempdir().unwrap();
        conformance::check_log_store(&open, dir.path());
    }

    #[test]
    fn counts_appends_and_refuses_a_hole_below_the_tail() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path()).unwrap();
        let mut s = store.session().unwrap();
        let body = [7u8; 10];
        let batch = [Record {
            keys: Keys::Single(1),
            body: &body,
        }; 3];
        assert_eq!(s.append(4, &batch).unwrap(), 0);
        assert_eq!(s.append(4, &batch[..1]).unwrap(), 3);
        let map = Arc::clone(&DISKS.lock().unwrap()[dir.path()]);
        let log = OrderedLog::new(MapTable(Arc::clone(&map)), dir.path());
        let mut c = LogCursor::default();
        assert_eq!(
            log.bounds(&mut c, 4).unwrap(),
            LogBounds {
                trim_point: 0,
                tail: 4
            }
        );
        log.append(&mut c, 4, &batch).unwrap();
        assert_eq!(log.appended(), (3, 30));
        map.lock().unwrap().0.remove(&(4, 1));
        let mut out = ReadBuf::default();
        let err = log.read(&mut c, 4, 0, usize::MAX, &mut out).unwrap_err();
        assert!(
            matches!(&err, StoreError::Corrupt { detail, .. } if detail.contains("record 1 is missing (found 2)")),
            "{err}"
        );
    }
}
