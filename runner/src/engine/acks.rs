//! What a crash phase's writers had acknowledged: the [`Ack`] triple, the
//! [`AckingStore`] wrapper that records one per appended record after the
//! store returns `Ok`, and the wire format a crash child uses to stream
//! them to its parent over a pipe.
//!
//! It owns no orchestration (see `crash`) and no verification (see
//! `verify`). Key-value ops pass through unrecorded. The wrapper adds one CRC32C per record body to each append;
//! that cost lands inside the measured call, which is why crash phases do
//! not report writer latency.

use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use crate::store::{
    Capabilities, LogBounds, Offset, ReadBuf, Record, Session, Store, StoreError, StoreStats,
};

/// One acknowledged record: where it is and the CRC32C of its body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ack {
    /// Stream id.
    pub stream: u64,
    /// Offset inside the stream.
    pub offset: Offset,
    /// CRC32C of the record's body.
    pub crc: u32,
}

/// One message of the child → parent protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Message {
    /// The store is open and the writers are starting: the crash clock starts.
    Ready,
    /// A record was acknowledged.
    Ack(Ack),
    /// The phase's writers finished their `records` quota; the child now
    /// waits to be killed.
    Done,
}

/// Bytes of one encoded [`Message`]: a tag, then stream, offset (both u64)
/// and CRC (u32), little-endian; fields unused by the tag are zero.
pub const MESSAGE_LEN: usize = 21;

impl Message {
    /// Appends the fixed-size encoding of `self` to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let (tag, a) = match self {
            Message::Ready => (b'R', None),
            Message::Ack(a) => (b'A', Some(a)),
            Message::Done => (b'D', None),
        };
        out.push(tag);
        out.extend_from_slice(&a.map_or(0, |a| a.stream).to_le_bytes());
        out.extend_from_slice(&a.map_or(0, |a| a.offset).to_le_bytes());
        out.extend_from_slice(&a.map_or(0, |a| a.crc).to_le_bytes());
    }

    /// Decodes one message; `None` for an unknown tag.
    pub fn decode(buf: &[u8; MESSAGE_LEN]) -> Option<Message> {
        let u64_at = |i: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&buf[i..i + 8]);
            u64::from_le_bytes(b)
        };
        let mut crc = [0u8; 4];
        crc.copy_from_slice(&buf[17..21]);
        match buf[0] {
            b'R' => Some(Message::Ready),
            b'D' => Some(Message::Done),
            b'A' => Some(Message::Ack(Ack {
                stream: u64_at(1),
                offset: u64_at(9),
                crc: u32::from_le_bytes(crc),
            })),
            _ => None,
        }
    }

    /// Reads the next whole message; `Ok(None)` at end of stream, including
    /// a message cut short by the writer's death (it was never complete).
    pub fn read_from(r: &mut impl Read) -> io::Result<Option<Message>> {
        let mut buf = [0u8; MESSAGE_LEN];
        let mut filled = 0;
        while filled < MESSAGE_LEN {
            match r.read(&mut buf[filled..]) {
                Ok(0) => return Ok(None),
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Message::decode(&buf).map(Some).ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidData, "unknown crash-child message")
        })
    }
}

/// Where acknowledgements go.
pub enum AckSink {
    /// Kept in memory (in-process crash and power-loss phases).
    Buffer(Mutex<Vec<Ack>>),
    /// Written to a pipe and flushed after every append (the crash child).
    Pipe(Mutex<Box<dyn Write + Send>>),
}

/// Shared state of an [`AckingStore`] and its sessions.
pub struct AckState {
    sink: AckSink,
    /// Records acknowledged so far.
    pub count: AtomicU64,
    /// Set at the crash moment: later acknowledgements are not recorded
    /// (nobody could have seen them).
    pub crashed: AtomicBool,
}

impl AckState {
    /// A new state writing to `sink`.
    pub fn new(sink: AckSink) -> Arc<AckState> {
        Arc::new(AckState {
            sink,
            count: AtomicU64::new(0),
            crashed: AtomicBool::new(false),
        })
    }

    /// Sends one protocol message to a pipe sink (no-op for a buffer).
    pub fn send(&self, m: Message) -> io::Result<()> {
        if let AckSink::Pipe(w) = &self.sink {
            let mut buf = Vec::with_capacity(MESSAGE_LEN);
            m.encode(&mut buf);
            let mut w = w.lock().unwrap_or_else(PoisonError::into_inner);
            w.write_all(&buf)?;
            w.flush()?;
        }
        Ok(())
    }

    /// Takes the buffered acknowledgements (empty for a pipe sink).
    pub fn take(&self) -> Vec<Ack> {
        match &self.sink {
            AckSink::Buffer(b) => {
                std::mem::take(&mut *b.lock().unwrap_or_else(PoisonError::into_inner))
            }
            AckSink::Pipe(_) => Vec::new(),
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
                .extend_from_slice(acks),
            AckSink::Pipe(w) => {
                let mut buf = Vec::with_capacity(acks.len() * MESSAGE_LEN);
                for a in acks {
                    Message::Ack(*a).encode(&mut buf);
                }
                let mut w = w.lock().unwrap_or_else(PoisonError::into_inner);
                w.write_all(&buf)
                    .and_then(|()| w.flush())
                    .map_err(|source| StoreError::Io {
                        op: "send acknowledgements",
                        path: "stdout".into(),
                        source,
                    })?;
            }
        }
        self.count.fetch_add(acks.len() as u64, Ordering::AcqRel);
        Ok(())
    }
}

/// A store wrapper whose sessions record an [`Ack`] for every record of
/// every append the inner store acknowledged. Closing it does not close
/// the inner store.
pub struct AckingStore<'a> {
    inner: &'a dyn Store,
    state: Arc<AckState>,
}

impl<'a> AckingStore<'a> {
    /// Wraps `inner`, recording into `state`.
    pub fn new(inner: &'a dyn Store, state: Arc<AckState>) -> Self {
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

    // Key-value ops pass through unrecorded: a crash phase's `put` writers
    // run (and are crashed) like appenders, but only appended records are
    // acknowledged and verified.
    fn put(&mut self, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        self.inner.put(key, value)
    }

    fn get(&mut self, key: &[u8], out: &mut Vec<u8>) -> Result<bool, StoreError> {
        self.inner.get(key, out)
    }

    fn delete(&mut self, key: &[u8]) -> Result<(), StoreError> {
        self.inner.delete(key)
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
            Message::Done,
        ];
        let mut buf = Vec::new();
        for m in &msgs {
            m.encode(&mut buf);
        }
        assert_eq!(buf.len(), 3 * MESSAGE_LEN);
        buf.extend_from_slice(&[b'A', 1, 2]); // torn by a kill
        let mut r = &buf[..];
        for m in &msgs {
            assert_eq!(Message::read_from(&mut r).unwrap(), Some(*m));
        }
        assert_eq!(Message::read_from(&mut r).unwrap(), None);
    }

    #[test]
    fn every_record_of_an_acknowledged_append_is_recorded_until_the_crash() {
        let mem = MemoryStore::new();
        let state = AckState::new(AckSink::Buffer(Mutex::new(Vec::new())));
        let store = AckingStore::new(&mem, Arc::clone(&state));
        let mut s = store.session().unwrap();
        let recs = [
            Record {
                keys: Keys::None,
                body: b"a",
            },
            Record {
                keys: Keys::None,
                body: b"bc",
            },
        ];
        s.append(1, &recs).unwrap();
        s.append(1, &recs).unwrap();
        assert_eq!(state.count.load(Ordering::Acquire), 4);
        let acks = state.take();
        assert_eq!(acks.len(), 4);
        assert_eq!(acks[3].offset, 3);
        assert_eq!(acks[3].crc, crc32c::crc32c(b"bc"));
        state.crashed.store(true, Ordering::Release);
        s.append(1, &recs).unwrap();
        assert!(
            state.take().is_empty(),
            "nothing is recorded after the crash"
        );
    }
}
