//! What a crash phase's writers had acknowledged: the [`Ack`] triple of an
//! appended record, the [`KvEvent`]s of key-value writes (each `put` and
//! `delete` as it starts and as it is acknowledged), the [`AckingStore`]
//! wrapper that records them around the store's calls, and the wire format
//! a crash child uses to stream them to its parent over a pipe.
//!
//! It owns no orchestration (see `crash`) and no verification (see
//! `verify` and `verify_kv`). Reads pass through unrecorded. The wrapper
//! adds one CRC32C per record body or value, and one message per write, to
//! each call; that cost lands inside the measured call, which is why crash
//! phases do not report writer latency.
//!
//! A key-value write is recorded twice: *begun* (key, and the CRC32C of the
//! value or "delete") before the store is called, *acknowledged* after it
//! returned `Ok`. The order of the two in one stream is what verification
//! reads as time: a write acknowledged before another began precedes it;
//! one begun but never acknowledged was in flight at the crash and may or
//! may not have landed (Jepsen's register semantics).

use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use crate::store::{
    Capabilities, LogBounds, Offset, ReadBuf, Record, Session, Store, StoreError, StoreStats,
};

/// One acknowledged record: where it is and the CRC32C of its body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ack {
    /// Stream id.
    pub stream: u64,
    /// Offset inside the stream.
    pub offset: Offset,
    /// CRC32C of the record's body.
    pub crc: u32,
}

/// One step of a key-value write, in the order the writers took them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum KvEvent {
    /// Write `id` is about to be sent to the store: `key` set to a value
    /// with CRC32C `value`, or removed (`None`).
    Begin {
        /// Unique among the phase's writes; a batch gets consecutive ids.
        id: u64,
        /// The key.
        key: Vec<u8>,
        /// CRC32C of the value put, `None` for a delete.
        value: Option<u32>,
    },
    /// Writes `first..first + count` returned `Ok`.
    Acked {
        /// The first id.
        first: u64,
        /// How many.
        count: u64,
    },
}

/// One message of the child → parent protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Message {
    /// The store is open and the writers are starting: the crash clock starts.
    Ready,
    /// A record was acknowledged.
    Ack(Ack),
    /// A key-value write began or was acknowledged.
    Kv(KvEvent),
    /// The phase's writers finished their `records` quota; the child now
    /// waits to be killed.
    Done,
}

/// Bytes of one encoded [`Message`]'s header: a tag, then two u64 and a
/// u32, little-endian; fields unused by the tag are zero. An append's ack
/// is (stream, offset, CRC); a begun put or delete is (id, key length,
/// value CRC) followed by the key's bytes; an acknowledged write is
/// (first id, count, 0).
pub(crate) const MESSAGE_LEN: usize = 21;

/// The longest key a begun write may carry on the wire (a guard against
/// reading garbage as a length).
const MAX_KEY_LEN: u64 = 1 << 20;

impl Message {
    /// Appends the encoding of `self` to `out`.
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        let (tag, a, b, c, key): (u8, u64, u64, u32, &[u8]) = match self {
            Message::Ready => (b'R', 0, 0, 0, &[]),
            Message::Done => (b'D', 0, 0, 0, &[]),
            Message::Ack(a) => (b'A', a.stream, a.offset, a.crc, &[]),
            Message::Kv(KvEvent::Begin { id, key, value }) => (
                if value.is_some() { b'P' } else { b'X' },
                *id,
                key.len() as u64,
                value.unwrap_or(0),
                key,
            ),
            Message::Kv(KvEvent::Acked { first, count }) => (b'K', *first, *count, 0, &[]),
        };
        out.push(tag);
        out.extend_from_slice(&a.to_le_bytes());
        out.extend_from_slice(&b.to_le_bytes());
        out.extend_from_slice(&c.to_le_bytes());
        out.extend_from_slice(key);
    }

    /// Reads the next whole message; `Ok(None)` at end of stream, including
    /// a message cut short by the writer's death (it was never complete).
    pub(crate) fn read_from(r: &mut impl Read) -> io::Result<Option<Message>> {
        let mut buf = [0u8; MESSAGE_LEN];
        if !read_full(r, &mut buf)? {
            return Ok(None);
        }
        let u64_at = |i: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&buf[i..i + 8]);
            u64::from_le_bytes(b)
        };
        let (a, b) = (u64_at(1), u64_at(9));
        let mut crc = [0u8; 4];
        crc.copy_from_slice(&buf[17..21]);
        let c = u32::from_le_bytes(crc);
        let bad = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_owned());
        Ok(Some(match buf[0] {
            b'R' => Message::Ready,
            b'D' => Message::Done,
            b'A' => Message::Ack(Ack {
                stream: a,
                offset: b,
                crc: c,
            }),
            b'K' => Message::Kv(KvEvent::Acked { first: a, count: b }),
            tag @ (b'P' | b'X') => {
                if b > MAX_KEY_LEN {
                    return Err(bad("crash-child key longer than 1 MiB"));
                }
                let mut key = vec![0u8; b as usize];
                if !read_full(r, &mut key)? {
                    return Ok(None);
                }
                Message::Kv(KvEvent::Begin {
                    id: a,
                    key,
                    value: (tag == b'P').then_some(c),
                })
            }
            _ => return Err(bad("unknown crash-child message")),
        }))
    }
}

/// Fills `buf`; false at end of stream (also part way).
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<bool> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            Ok(0) => return Ok(false),
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

/// What an in-process crash cycle's writers left: appended records'
/// acknowledgements and key-value writes' events, in order.
#[derive(Debug, Default)]
pub(crate) struct Captured {
    /// Acknowledged appended records.
    pub acks: Vec<Ack>,
    /// Key-value writes, begun and acknowledged.
    pub kv: Vec<KvEvent>,
}

/// Where acknowledgements go.
pub(crate) enum AckSink {
    /// Kept in memory (in-process crash and power-loss phases).
    Buffer(Mutex<Captured>),
    /// Written to a pipe and flushed after every append (the crash child).
    Pipe(Mutex<Box<dyn Write + Send>>),
}

/// Shared state of an [`AckingStore`] and its sessions.
pub(crate) struct AckState {
    sink: AckSink,
    /// Writes acknowledged so far: appended records, keys put or deleted.
    pub count: AtomicU64,
    /// Set at the crash moment: later acknowledgements are not recorded
    /// (nobody could have seen them). Writes still begin on the record:
    /// one begun after the moment may land all the same.
    pub crashed: AtomicBool,
    /// The next key-value write's id.
    next_write: AtomicU64,
}

fn pipe_err(op: &'static str) -> impl FnOnce(io::Error) -> StoreError {
    move |source| StoreError::Io {
        op,
        path: "stdout".into(),
        source,
    }
}

impl AckState {
    /// A new state writing to `sink`.
    pub(crate) fn new(sink: AckSink) -> Arc<AckState> {
        Arc::new(AckState {
            sink,
            count: AtomicU64::new(0),
            crashed: AtomicBool::new(false),
            next_write: AtomicU64::new(0),
        })
    }

    /// An empty buffer sink's state (in-process cycles).
    pub(crate) fn buffered() -> Arc<AckState> {
        AckState::new(AckSink::Buffer(Mutex::new(Captured::default())))
    }

    /// Sends one protocol message to a pipe sink (no-op for a buffer).
    pub(crate) fn send(&self, m: &Message) -> io::Result<()> {
        if let AckSink::Pipe(w) = &self.sink {
            let mut buf = Vec::with_capacity(MESSAGE_LEN);
            m.encode(&mut buf);
            let mut w = w.lock().unwrap_or_else(PoisonError::into_inner);
            w.write_all(&buf)?;
            w.flush()?;
        }
        Ok(())
    }

    /// Takes what the buffer holds (empty for a pipe sink).
    pub(crate) fn take(&self) -> Captured {
        match &self.sink {
            AckSink::Buffer(b) => {
                std::mem::take(&mut *b.lock().unwrap_or_else(PoisonError::into_inner))
            }
            AckSink::Pipe(_) => Captured::default(),
        }
    }

    fn record(&self, acks: &[Ack]) -> Result<(), StoreError> {
        if self.crashed.load(Ordering::Acquire) {
            return Ok(());
        }
        match &self.sink {
            AckSink::Buffer(b) => b
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .acks
                .extend_from_slice(acks),
            AckSink::Pipe(w) => {
                let mut buf = Vec::with_capacity(acks.len() * MESSAGE_LEN);
                for a in acks {
                    Message::Ack(*a).encode(&mut buf);
                }
                let mut w = w.lock().unwrap_or_else(PoisonError::into_inner);
                w.write_all(&buf)
                    .and_then(|()| w.flush())
                    .map_err(pipe_err("send acknowledgements"))?;
            }
        }
        self.count.fetch_add(acks.len() as u64, Ordering::AcqRel);
        Ok(())
    }

    /// Records that the writes of `keys` (key, value CRC or `None` for a
    /// delete) are about to be sent to the store; returns the first id.
    /// Recorded also after the crash moment.
    fn begin<'k>(
        &self,
        n: usize,
        keys: impl Iterator<Item = (&'k [u8], Option<u32>)>,
    ) -> Result<u64, StoreError> {
        let first = self.next_write.fetch_add(n as u64, Ordering::AcqRel);
        let events = keys.zip(first..).map(|((key, value), id)| KvEvent::Begin {
            id,
            key: key.to_vec(),
            value,
        });
        self.push_kv(events, "send begun writes")?;
        Ok(first)
    }

    /// Records that writes `first..first + count` were acknowledged
    /// (nothing after the crash moment).
    fn acked(&self, first: u64, count: usize) -> Result<(), StoreError> {
        if self.crashed.load(Ordering::Acquire) {
            return Ok(());
        }
        let event = KvEvent::Acked {
            first,
            count: count as u64,
        };
        self.push_kv(std::iter::once(event), "send acknowledged writes")?;
        self.count.fetch_add(count as u64, Ordering::AcqRel);
        Ok(())
    }

    fn push_kv(
        &self,
        events: impl Iterator<Item = KvEvent>,
        op: &'static str,
    ) -> Result<(), StoreError> {
        match &self.sink {
            AckSink::Buffer(b) => b
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .kv
                .extend(events),
            AckSink::Pipe(w) => {
                let mut buf = Vec::new();
                for e in events {
                    Message::Kv(e).encode(&mut buf);
                }
                let mut w = w.lock().unwrap_or_else(PoisonError::into_inner);
                w.write_all(&buf)
                    .and_then(|()| w.flush())
                    .map_err(pipe_err(op))?;
            }
        }
        Ok(())
    }
}

/// A store wrapper whose sessions record an [`Ack`] for every record of
/// every append the inner store acknowledged, and every put and delete as
/// it begins and when it is acknowledged. Closing it does not close the
/// inner store.
pub(crate) struct AckingStore<'a> {
    inner: &'a dyn Store,
    state: Arc<AckState>,
}

impl<'a> AckingStore<'a> {
    /// Wraps `inner`, recording into `state`.
    pub(crate) fn new(inner: &'a dyn Store, state: Arc<AckState>) -> Self {
        AckingStore { inner, state }
    }
}

impl Store for AckingStore<'_> {
    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    fn session(&self) -> Result<Box<dyn Session>, StoreError> {
        Ok(Box::new(AckingSession {
            inner: self.inner.session()?,
            state: Arc::clone(&self.state),
            acks: Vec::new(),
        }))
    }

    fn stats(&self) -> StoreStats {
        self.inner.stats()
    }

    fn close(self: Box<Self>) -> Result<(), StoreError> {
        Ok(())
    }
}

struct AckingSession {
    inner: Box<dyn Session>,
    state: Arc<AckState>,
    acks: Vec<Ack>,
}

impl Session for AckingSession {
    fn append(&mut self, stream: u64, batch: &[Record<'_>]) -> Result<Offset, StoreError> {
        let first = self.inner.append(stream, batch)?;
        self.acks.clear();
        self.acks
            .extend(batch.iter().zip(first..).map(|(r, offset)| Ack {
                stream,
                offset,
                crc: crc32c::crc32c(r.body),
            }));
        self.state.record(&self.acks)?;
        Ok(first)
    }

    fn read(
        &mut self,
        stream: u64,
        from: Offset,
        max_bytes: usize,
        out: &mut ReadBuf,
    ) -> Result<Offset, StoreError> {
        self.inner.read(stream, from, max_bytes, out)
    }

    fn trim(&mut self, stream: u64, up_to: Offset) -> Result<(), StoreError> {
        self.inner.trim(stream, up_to)
    }

    fn trim_many(&mut self, points: &[(u64, Offset)]) -> Result<(), StoreError> {
        self.inner.trim_many(points)
    }

    fn sync(&mut self) -> Result<(), StoreError> {
        self.inner.sync()
    }

    fn bounds(&mut self, stream: u64) -> Result<LogBounds, StoreError> {
        self.inner.bounds(stream)
    }

    fn put(&mut self, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        let crc = crc32c::crc32c(value);
        let id = self.state.begin(1, std::iter::once((key, Some(crc))))?;
        self.inner.put(key, value)?;
        self.state.acked(id, 1)
    }

    fn put_batch(
        &mut self,
        keys: &[u8],
        key_ranges: &[std::ops::Range<usize>],
        values: &[Record<'_>],
    ) -> Result<(), StoreError> {
        let writes = key_ranges
            .iter()
            .zip(values)
            .map(|(k, v)| (&keys[k.clone()], Some(crc32c::crc32c(v.body))));
        let id = self
            .state
            .begin(key_ranges.len().min(values.len()), writes)?;
        self.inner.put_batch(keys, key_ranges, values)?;
        self.state.acked(id, key_ranges.len().min(values.len()))
    }

    fn get(&mut self, key: &[u8], out: &mut Vec<u8>) -> Result<bool, StoreError> {
        self.inner.get(key, out)
    }

    fn delete(&mut self, key: &[u8]) -> Result<(), StoreError> {
        let id = self.state.begin(1, std::iter::once((key, None)))?;
        self.inner.delete(key)?;
        self.state.acked(id, 1)
    }

    fn delete_batch(
        &mut self,
        keys: &[u8],
        key_ranges: &[std::ops::Range<usize>],
    ) -> Result<(), StoreError> {
        let writes = key_ranges.iter().map(|k| (&keys[k.clone()], None));
        let id = self.state.begin(key_ranges.len(), writes)?;
        self.inner.delete_batch(keys, key_ranges)?;
        self.state.acked(id, key_ranges.len())
    }

    fn scan(&mut self, start: &[u8], limit: usize, out: &mut ReadBuf) -> Result<usize, StoreError> {
        self.inner.scan(start, limit, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Keys, MemoryStore};

    #[test]
    fn messages_round_trip_and_a_cut_message_is_end_of_stream() {
        let msgs = [
            Message::Ready,
            Message::Ack(Ack {
                stream: 3,
                offset: u64::MAX - 1,
                crc: 0xDEAD_BEEF,
            }),
            Message::Kv(KvEvent::Begin {
                id: 7,
                key: b"key-1".to_vec(),
                value: Some(42),
            }),
            Message::Kv(KvEvent::Begin {
                id: 8,
                key: Vec::new(),
                value: None,
            }),
            Message::Kv(KvEvent::Acked { first: 7, count: 2 }),
            Message::Done,
        ];
        let mut buf = Vec::new();
        for m in &msgs {
            m.encode(&mut buf);
        }
        assert_eq!(buf.len(), 6 * MESSAGE_LEN + 5);
        let whole = buf.len();
        // A begun write torn inside its key by a kill.
        Message::Kv(KvEvent::Begin {
            id: 9,
            key: b"abcdef".to_vec(),
            value: None,
        })
        .encode(&mut buf);
        buf.truncate(whole + MESSAGE_LEN + 2);
        let mut r = &buf[..];
        for m in &msgs {
            assert_eq!(Message::read_from(&mut r).unwrap().as_ref(), Some(m));
        }
        assert_eq!(Message::read_from(&mut r).unwrap(), None);
        let mut torn_header: &[u8] = &[b'A', 1, 2];
        assert_eq!(Message::read_from(&mut torn_header).unwrap(), None);
    }

    fn recs() -> [Record<'static>; 2] {
        [
            Record {
                keys: Keys::None,
                body: b"a",
            },
            Record {
                keys: Keys::None,
                body: b"bc",
            },
        ]
    }

    #[test]
    fn every_record_of_an_acknowledged_append_is_recorded_until_the_crash() {
        let mem = MemoryStore::new();
        let state = AckState::buffered();
        let store = AckingStore::new(&mem, Arc::clone(&state));
        let mut s = store.session().unwrap();
        s.append(1, &recs()).unwrap();
        s.append(1, &recs()).unwrap();
        assert_eq!(state.count.load(Ordering::Acquire), 4);
        let acks = state.take().acks;
        assert_eq!(acks.len(), 4);
        assert_eq!(acks[3].offset, 3);
        assert_eq!(acks[3].crc, crc32c::crc32c(b"bc"));
        state.crashed.store(true, Ordering::Release);
        s.append(1, &recs()).unwrap();
        assert!(
            state.take().acks.is_empty(),
            "nothing is recorded after the crash"
        );
    }

    #[test]
    fn puts_and_deletes_are_recorded_as_begun_then_acknowledged() {
        let mem = MemoryStore::new();
        let state = AckState::buffered();
        let store = AckingStore::new(&mem, Arc::clone(&state));
        let mut s = store.session().unwrap();
        s.put(b"k", b"v").unwrap();
        s.put_batch(b"k1k2", &[0..2, 2..4], &recs()).unwrap();
        s.delete_batch(b"k1k1", &[0..2, 2..4]).unwrap();
        assert_eq!(state.count.load(Ordering::Acquire), 5);
        let kv = state.take().kv;
        let crc = crc32c::crc32c;
        assert_eq!(
            kv,
            vec![
                KvEvent::Begin {
                    id: 0,
                    key: b"k".to_vec(),
                    value: Some(crc(b"v"))
                },
                KvEvent::Acked { first: 0, count: 1 },
                KvEvent::Begin {
                    id: 1,
                    key: b"k1".to_vec(),
                    value: Some(crc(b"a"))
                },
                KvEvent::Begin {
                    id: 2,
                    key: b"k2".to_vec(),
                    value: Some(crc(b"bc"))
                },
                KvEvent::Acked { first: 1, count: 2 },
                KvEvent::Begin {
                    id: 3,
                    key: b"k1".to_vec(),
                    value: None
                },
                KvEvent::Begin {
                    id: 4,
                    key: b"k1".to_vec(),
                    value: None
                },
                KvEvent::Acked { first: 3, count: 2 },
            ]
        );
        let mut out = Vec::new();
        assert!(
            !s.get(b"k1", &mut out).unwrap(),
            "the writes reached the store"
        );
        assert!(s.get(b"k2", &mut out).unwrap());
        state.crashed.store(true, Ordering::Release);
        s.delete(b"k").unwrap();
        assert_eq!(
            state.take().kv,
            vec![KvEvent::Begin {
                id: 5,
                key: b"k".to_vec(),
                value: None
            }],
            "a write begun after the crash is recorded, its acknowledgement is not"
        );
    }
}
