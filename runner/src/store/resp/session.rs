//! A worker's session on a Redis-protocol server: the [`Session`] data
//! path as commands on one connection.
//!
//! - Log streams are Redis Streams, one key per stream. An append is
//!   `XADD <key> 0-* …` per record: the server numbers entries `0-1`,
//!   `0-2`, … so offset `o` is entry id `0-(o+1)` — dense, assigned by the
//!   server, and never reused (a stream keeps its last id when trimmed
//!   empty). A batch of several records is wrapped in `MULTI`/`EXEC` so its
//!   entries are consecutive even with other writers on the stream. A read
//!   is `XRANGE`, a trim `XTRIM … MINID`, bounds come from `XINFO STREAM`.
//! - Key-value pairs are plain string keys: `SET`, `GET`, `DEL`. A `put`
//!   batch of N pairs is N pipelined `SET`s (what `redis-benchmark -P N`
//!   sends); a scan walks the key space with `SCAN` and sorts, because
//!   Redis keeps no key order (its cost grows with the keys under the
//!   target's prefix).
//!
//! Every key starts with the target's prefix. This file never reads the
//! clock: the engine's worker times each call.

use std::collections::VecDeque;

use super::codec::Frame;
use super::conn::{Conn, unexpected};
use crate::store::api::{Keys, LogBounds, Offset, ReadBuf, Record, Session, StoreError};
use crate::store::{Outcome, Pipeline, Request};

/// Most entries one `XRANGE` asks for.
const MAX_RANGE: usize = 4096;
/// Keys one `SCAN` step asks for.
const SCAN_COUNT: &[u8] = b"1000";

/// A session: one connection and the key prefix.
pub(crate) struct RespSession {
    pub(super) conn: Conn,
    pub(super) prefix: Vec<u8>,
    pub(super) key: Vec<u8>,
    /// Mean body size seen by reads, to size the next `XRANGE`.
    mean_body: usize,
    /// Requests whose replies are still to read, oldest first (see
    /// `pipeline`).
    pub(super) waiting: VecDeque<Waiting>,
    /// The value of the last `GET` that found one.
    pub(super) value: Vec<u8>,
}

impl RespSession {
    pub(crate) fn new(conn: Conn, prefix: &str) -> RespSession {
        RespSession {
            conn,
            prefix: prefix.as_bytes().to_vec(),
            key: Vec::with_capacity(64),
            mean_body: 256,
            waiting: VecDeque::new(),
            value: Vec::new(),
        }
    }

    pub(super) fn stream_key(&mut self, stream: u64) {
        self.key.clear();
        self.key.extend_from_slice(&self.prefix);
        self.key.extend_from_slice(b"log:");
        self.key.extend_from_slice(stream.to_string().as_bytes());
    }

    pub(super) fn kv_key(&mut self, key: &[u8]) {
        self.key.clear();
        self.key.extend_from_slice(&self.prefix);
        self.key.extend_from_slice(b"kv:");
        self.key.extend_from_slice(key);
    }

    /// Reads `n` replies, all of them even after an error (so the
    /// connection stays in step), and returns the first error.
    fn drain(&mut self, n: usize, op: &'static str) -> Result<(), StoreError> {
        let mut first = Ok(());
        for _ in 0..n {
            let r = self.conn.ok_reply(op);
            if first.is_ok() {
                first = r.map(|_| ());
            } else {
                r?;
            }
        }
        first
    }
}

/// What a request's last reply means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Last {
    /// An `XADD`'s entry id.
    Id,
    /// `EXEC`'s array of `n` entry ids.
    Exec(usize),
    /// An acknowledgement (`+OK`, a count).
    Ack,
    /// A `GET`'s value.
    Value,
}

/// A request of the pipeline (`pipeline`) waiting for its replies.
#[derive(Debug)]
pub(super) struct Waiting {
    pub(super) tag: u64,
    pub(super) op: &'static str,
    /// Replies still to read.
    pub(super) left: usize,
    pub(super) last: Last,
    /// The first error among its replies.
    pub(super) error: Option<StoreError>,
}

/// Entry id of offset `o`: `0-(o+1)`.
fn entry_id(o: Offset) -> String {
    format!("0-{}", o.saturating_add(1))
}

/// The offset of an entry id `0-<seq>`.
pub(super) fn offset_of(id: &[u8], op: &'static str) -> Result<Offset, StoreError> {
    std::str::from_utf8(id)
        .ok()
        .and_then(|s| s.strip_prefix("0-"))
        .and_then(|s| s.parse::<u64>().ok())
        .and_then(|seq| seq.checked_sub(1))
        .ok_or_else(|| StoreError::Engine {
            op,
            detail: format!(
                "entry id {} was not written by loadline (expected 0-<n>)",
                String::from_utf8_lossy(id)
            ),
        })
}

/// A record's keys as stored in its entry's `k` field (absent for none).
pub(super) fn encode_keys(keys: Keys, out: &mut [u8; 17]) -> usize {
    let (tag, a, b) = match keys {
        Keys::None => return 0,
        Keys::Single(a) => (1, a, None),
        Keys::Pair(a, b) => (2, a, Some(b)),
        Keys::Range(a, b) => (3, a, Some(b)),
    };
    out[0] = tag;
    out[1..9].copy_from_slice(&a.to_le_bytes());
    if let Some(b) = b {
        out[9..17].copy_from_slice(&b.to_le_bytes());
        17
    } else {
        9
    }
}

fn decode_keys(bytes: &[u8]) -> Option<Keys> {
    let word = |i: usize| -> Option<u64> {
        bytes
            .get(i..i + 8)
            .and_then(|w| w.try_into().ok())
            .map(u64::from_le_bytes)
    };
    match (bytes.first()?, bytes.len()) {
        (1, 9) => Some(Keys::Single(word(1)?)),
        (2, 17) => Some(Keys::Pair(word(1)?, word(9)?)),
        (3, 17) => Some(Keys::Range(word(1)?, word(9)?)),
        _ => None,
    }
}

fn bulk_bytes(f: &Frame) -> Option<&[u8]> {
    match f {
        Frame::Bulk(Some(b)) | Frame::Simple(b) => Some(b),
        _ => None,
    }
}

/// The value of `field` in a flat `[name, value, …]` reply.
fn field<'a>(items: &'a [Frame], name: &[u8]) -> Option<&'a Frame> {
    items
        .chunks_exact(2)
        .find(|p| bulk_bytes(&p[0]) == Some(name))
        .map(|p| &p[1])
}

impl Session for RespSession {
    fn append(&mut self, stream: u64, batch: &[Record<'_>]) -> Result<Offset, StoreError> {
        if batch.is_empty() {
            return Ok(self.bounds(stream)?.tail);
        }
        match self.round_trip(Request::Append { stream, batch })? {
            Outcome::Appended(first) => Ok(first),
            o => Err(mismatch("append", o)),
        }
    }

    fn read(
        &mut self,
        stream: u64,
        from: Offset,
        max_bytes: usize,
        out: &mut ReadBuf,
    ) -> Result<Offset, StoreError> {
        out.clear();
        self.stream_key(stream);
        let count = (max_bytes / self.mean_body.max(1)).clamp(1, MAX_RANGE);
        let start = entry_id(from);
        let count = count.to_string();
        let reply = self.conn.call(
            &[
                b"XRANGE",
                &self.key,
                start.as_bytes(),
                b"+",
                b"COUNT",
                count.as_bytes(),
            ],
            "read (XRANGE)",
        )?;
        let Frame::Array(Some(entries)) = reply else {
            return Err(unexpected("read (XRANGE)", &reply));
        };
        let mut next = None;
        for e in &entries {
            let Frame::Array(Some(pair)) = e else {
                return Err(unexpected("read (XRANGE)", e));
            };
            let (Some(id), Some(Frame::Array(Some(fields)))) =
                (pair.first().and_then(bulk_bytes), pair.get(1))
            else {
                return Err(unexpected("read (XRANGE)", e));
            };
            let offset = offset_of(id, "read (XRANGE)")?;
            let body = field(fields, b"b").and_then(bulk_bytes).unwrap_or(&[]);
            let keys = match field(fields, b"k").and_then(bulk_bytes) {
                None => Keys::None,
                Some(k) => decode_keys(k).ok_or_else(|| StoreError::Engine {
                    op: "read (XRANGE)",
                    detail: format!("entry {offset} has malformed keys"),
                })?,
            };
            if !out.is_empty() && out.bytes() + body.len() > max_bytes {
                next = Some(offset);
                break;
            }
            out.push(offset, keys, body);
        }
        if let Some(last) = out.records.last() {
            self.mean_body = (out.bytes() / out.len()).max(1);
            return Ok(next.unwrap_or(last.offset + 1));
        }
        Ok(from.max(self.bounds(stream)?.trim_point))
    }

    fn trim(&mut self, stream: u64, up_to: Offset) -> Result<(), StoreError> {
        self.trim_many(&[(stream, up_to)])
    }

    fn trim_many(&mut self, points: &[(u64, Offset)]) -> Result<(), StoreError> {
        for &(stream, up_to) in points {
            self.stream_key(stream);
            // MINID evicts entries with ids below the threshold: offsets
            // below `up_to`. Trimming an absent key creates nothing.
            let min = entry_id(up_to);
            let key = std::mem::take(&mut self.key);
            self.conn
                .command(&[b"XTRIM", &key, b"MINID", min.as_bytes()]);
            self.key = key;
        }
        self.drain(points.len(), "trim (XTRIM)")
    }

    fn sync(&mut self) -> Result<(), StoreError> {
        // Redis acknowledges a write after its own `appendfsync` policy;
        // there is nothing more to ask (WAITAOF needs 7.2). A round trip
        // orders the sync after every earlier command of the session.
        self.conn.call(&[b"PING"], "sync (PING)").map(|_| ())
    }

    fn bounds(&mut self, stream: u64) -> Result<LogBounds, StoreError> {
        self.stream_key(stream);
        let key = std::mem::take(&mut self.key);
        self.conn.command(&[b"XINFO", b"STREAM", &key]);
        self.key = key;
        let items = match self.conn.reply()? {
            Frame::Array(Some(items)) => items,
            Frame::Error(e) if e.contains("no such key") => return Ok(LogBounds::default()),
            f => return Err(unexpected("bounds (XINFO STREAM)", &f)),
        };
        let int = |name: &[u8]| match field(&items, name) {
            Some(Frame::Int(n)) => u64::try_from(*n).ok(),
            _ => None,
        };
        let tail = field(&items, b"last-generated-id")
            .and_then(bulk_bytes)
            .map(|id| offset_of(id, "bounds (XINFO STREAM)").map_or(0, |o| o + 1))
            .unwrap_or(0);
        if int(b"length") == Some(0) {
            return Ok(LogBounds {
                trim_point: tail,
                tail,
            });
        }
        let first = match field(&items, b"recorded-first-entry-id").and_then(bulk_bytes) {
            Some(id) => Some(id),
            None => match field(&items, b"first-entry") {
                Some(Frame::Array(Some(e))) => e.first().and_then(bulk_bytes),
                _ => None,
            },
        };
        let trim_point = match first {
            Some(id) => offset_of(id, "bounds (XINFO STREAM)")?,
            None => 0,
        };
        Ok(LogBounds { trim_point, tail })
    }

    fn put(&mut self, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        self.round_trip(Request::Put { key, value }).map(|_| ())
    }

    fn put_batch(
        &mut self,
        keys: &[u8],
        key_ranges: &[std::ops::Range<usize>],
        values: &[Record<'_>],
    ) -> Result<(), StoreError> {
        self.round_trip(Request::PutBatch {
            keys,
            key_ranges,
            values,
        })
        .map(|_| ())
    }

    fn get(&mut self, key: &[u8], out: &mut Vec<u8>) -> Result<bool, StoreError> {
        match self.round_trip(Request::Get { key })? {
            Outcome::Got(Some(_)) => {
                std::mem::swap(out, &mut self.value);
                Ok(true)
            }
            Outcome::Got(None) => Ok(false),
            o => Err(mismatch("get", o)),
        }
    }

    fn delete(&mut self, key: &[u8]) -> Result<(), StoreError> {
        self.round_trip(Request::Delete { key }).map(|_| ())
    }

    fn delete_batch(
        &mut self,
        keys: &[u8],
        key_ranges: &[std::ops::Range<usize>],
    ) -> Result<(), StoreError> {
        if key_ranges.is_empty() {
            return Ok(());
        }
        self.round_trip(Request::DeleteBatch { keys, key_ranges })
            .map(|_| ())
    }

    fn pipeline(&mut self) -> Option<&mut dyn Pipeline> {
        Some(self)
    }

    fn scan(&mut self, start: &[u8], limit: usize, out: &mut ReadBuf) -> Result<usize, StoreError> {
        out.clear();
        self.kv_key(b"");
        let skip = self.key.len();
        let pattern = [glob_escape(&self.key), b"*".to_vec()].concat();
        let mut keys: Vec<Vec<u8>> = Vec::new();
        let mut cursor = b"0".to_vec();
        loop {
            let reply = self.conn.call(
                &[b"SCAN", &cursor, b"MATCH", &pattern, b"COUNT", SCAN_COUNT],
                "scan (SCAN)",
            )?;
            let Frame::Array(Some(parts)) = &reply else {
                return Err(unexpected("scan (SCAN)", &reply));
            };
            let (Some(Frame::Bulk(Some(next))), Some(Frame::Array(Some(found)))) =
                (parts.first(), parts.get(1))
            else {
                return Err(unexpected("scan (SCAN)", &reply));
            };
            keys.extend(
                found
                    .iter()
                    .filter_map(bulk_bytes)
                    .filter(|k| k.len() >= skip && &k[skip..] >= start)
                    .map(<[u8]>::to_vec),
            );
            if next.as_slice() == b"0" {
                break;
            }
            cursor.clone_from(next);
        }
        keys.sort_unstable();
        keys.dedup();
        keys.truncate(limit);
        if keys.is_empty() {
            return Ok(0);
        }
        let mut args: Vec<&[u8]> = Vec::with_capacity(keys.len() + 1);
        args.push(b"MGET");
        args.extend(keys.iter().map(Vec::as_slice));
        let reply = self.conn.call(&args, "scan (MGET)")?;
        let Frame::Array(Some(values)) = &reply else {
            return Err(unexpected("scan (MGET)", &reply));
        };
        // A key deleted between SCAN and MGET is skipped.
        for (i, v) in values.iter().enumerate() {
            if let Frame::Bulk(Some(v)) = v {
                out.push(i as Offset, Keys::None, v);
            }
        }
        Ok(out.len())
    }
}

/// The error for an outcome of another kind of request than asked.
fn mismatch(op: &'static str, o: Outcome) -> StoreError {
    StoreError::Invalid {
        op,
        detail: format!("the reply was read as {o:?}"),
    }
}

/// `bytes` with the glob characters of `SCAN … MATCH` escaped.
pub(crate) fn glob_escape(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + 4);
    for &b in bytes {
        if matches!(b, b'*' | b'?' | b'[' | b']' | b'\\') {
            out.push(b'\\');
        }
        out.push(b);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_encode_and_decode_back() {
        let all = [
            Keys::Single(0),
            Keys::Single(u64::MAX),
            Keys::Pair(1, u64::MAX - 1),
            Keys::Range(u64::MAX, 3),
        ];
        let mut buf = [0u8; 17];
        for k in all {
            let n = encode_keys(k, &mut buf);
            assert_eq!(decode_keys(&buf[..n]), Some(k));
        }
        assert_eq!(encode_keys(Keys::None, &mut buf), 0);
        assert_eq!(decode_keys(&[2, 0, 0]), None, "a short pair is refused");
    }

    #[test]
    fn entry_ids_map_to_dense_offsets() {
        assert_eq!(entry_id(0), "0-1");
        assert_eq!(offset_of(b"0-1", "t").ok(), Some(0));
        assert_eq!(offset_of(b"0-42", "t").ok(), Some(41));
        assert!(offset_of(b"0-0", "t").is_err(), "0-0 is no entry");
        assert!(
            offset_of(b"1700000000000-0", "t").is_err(),
            "an auto id is not loadline's"
        );
    }

    #[test]
    fn glob_characters_are_escaped() {
        assert_eq!(glob_escape(b"a*b?[c]\\"), b"a\\*b\\?\\[c\\]\\\\".to_vec());
    }
}
