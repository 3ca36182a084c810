//! Requests in flight on a session's connection: [`Pipeline`] for
//! [`RespSession`]. A submitted request is its commands encoded into the
//! connection's write buffer (sent when a completion is awaited or the
//! buffer passes [`FLUSH_AT`]); the server answers the commands of one
//! connection in order, so completions come first in, first out and the
//! session keeps a queue of what it is waiting for.
//!
//! The synchronous writes and gets of the session go through the same
//! path (submit, then wait for that one completion), so the commands a
//! request sends are written in one place:
//!
//! | request | commands | replies read |
//! |---|---|---|
//! | append of 1 record | `XADD` | its entry id |
//! | append of N | `MULTI`, N × `XADD`, `EXEC` | `+OK`, N × `+QUEUED`, the ids |
//! | put | `SET` | `+OK` |
//! | put batch of N | N × `SET` | N × `+OK` |
//! | get | `GET` | the value or nil |
//! | delete, delete batch | one `DEL` with every key | the count |
//!
//! Every reply of a request is read even after an error one, so the
//! connection stays in step; the request's first error is its outcome.

use super::codec::{self, Frame};
use super::conn::unexpected;
use super::session::{Last, RespSession, Waiting, encode_keys, offset_of};
use crate::store::api::{Record, StoreError};
use crate::store::{Outcome, Pipeline, Request};

/// Buffered command bytes beyond which a submit sends them at once.
const FLUSH_AT: usize = 64 * 1024;

impl RespSession {
    /// Encodes `batch` as `XADD`s to `stream` (in `MULTI`/`EXEC` when it
    /// holds several) and queues it under `tag`.
    fn submit_append(&mut self, tag: u64, stream: u64, batch: &[Record<'_>]) {
        self.stream_key(stream);
        let many = batch.len() > 1;
        if many {
            self.conn.command(&[b"MULTI"]);
        }
        let mut kbuf = [0u8; 17];
        for r in batch {
            let klen = encode_keys(r.keys, &mut kbuf);
            let out = self.conn.out();
            codec::array(out, if klen == 0 { 5 } else { 7 });
            codec::bulk(out, b"XADD");
            codec::bulk(out, &self.key);
            codec::bulk(out, b"0-*");
            codec::bulk(out, b"b");
            codec::bulk(out, r.body);
            if klen > 0 {
                codec::bulk(out, b"k");
                codec::bulk(out, &kbuf[..klen]);
            }
        }
        if many {
            self.conn.command(&[b"EXEC"]);
            self.wait(
                tag,
                "append (EXEC)",
                batch.len() + 2,
                Last::Exec(batch.len()),
            );
        } else {
            self.wait(tag, "append (XADD)", 1, Last::Id);
        }
    }

    /// Encodes `SET <prefix>kv:<key> <value>`.
    fn set(&mut self, key: &[u8], value: &[u8]) {
        self.kv_key(key);
        let k = std::mem::take(&mut self.key);
        self.conn.command(&[b"SET", &k, value]);
        self.key = k;
    }

    /// Encodes one `DEL` of every key `keys[key_ranges[i]]`.
    fn del(&mut self, keys: &[u8], key_ranges: &[std::ops::Range<usize>]) {
        let out = self.conn.out();
        codec::array(out, key_ranges.len() + 1);
        codec::bulk(out, b"DEL");
        for r in key_ranges {
            codec::bulk_parts(self.conn.out(), &[&self.prefix, b"kv:", &keys[r.clone()]]);
        }
    }

    fn wait(&mut self, tag: u64, op: &'static str, left: usize, last: Last) {
        self.waiting.push_back(Waiting {
            tag,
            op,
            left,
            last,
            error: None,
        });
    }

    /// Reads the replies of the oldest request; `None` when `wait` is
    /// false and they have not all arrived (those that have are kept).
    fn next_completion(&mut self, wait: bool) -> Result<Option<(u64, Outcome)>, StoreError> {
        loop {
            let Some(front) = self.waiting.front() else {
                return Err(StoreError::Invalid {
                    op: "complete",
                    detail: "no request in flight".to_owned(),
                });
            };
            let op = front.op;
            let frame = if wait {
                self.conn.reply()?
            } else {
                match self.conn.try_reply()? {
                    Some(f) => f,
                    None => return Ok(None),
                }
            };
            let error = match &frame {
                Frame::Error(e) => Some(StoreError::Engine {
                    op,
                    detail: format!("{}: {e}", self.conn.address()),
                }),
                _ => None,
            };
            let front = self
                .waiting
                .front_mut()
                .ok_or_else(|| StoreError::Invalid {
                    op: "complete",
                    detail: "no request in flight".to_owned(),
                })?;
            front.left -= 1;
            if front.error.is_none() {
                front.error = error;
            }
            if front.left > 0 {
                continue;
            }
            let Some(done) = self.waiting.pop_front() else {
                continue;
            };
            if let Some(e) = done.error {
                return Err(e);
            }
            let outcome = match (done.last, frame) {
                (Last::Id, Frame::Bulk(Some(id))) => Outcome::Appended(offset_of(&id, op)?),
                (Last::Exec(n), Frame::Array(Some(ids))) if ids.len() == n => match &ids[0] {
                    Frame::Bulk(Some(id)) => Outcome::Appended(offset_of(id, "append (XADD)")?),
                    Frame::Error(e) => {
                        return Err(StoreError::Engine {
                            op: "append (XADD)",
                            detail: e.clone(),
                        });
                    }
                    f => return Err(unexpected(op, f)),
                },
                (Last::Ack, _) => Outcome::Done,
                (Last::Value, Frame::Bulk(Some(v))) => {
                    let len = v.len();
                    self.value = v;
                    Outcome::Got(Some(len))
                }
                (Last::Value, Frame::Bulk(None)) => Outcome::Got(None),
                (_, f) => return Err(unexpected(op, &f)),
            };
            return Ok(Some((done.tag, outcome)));
        }
    }

    /// Submits `request` and waits for its outcome (the synchronous
    /// calls). Only with nothing else in flight.
    pub(super) fn round_trip(&mut self, request: Request<'_>) -> Result<Outcome, StoreError> {
        self.submit(0, request)?;
        match self.next_completion(true)? {
            Some((_, outcome)) => Ok(outcome),
            None => Err(StoreError::Invalid {
                op: "complete",
                detail: "no reply".to_owned(),
            }),
        }
    }
}

impl Pipeline for RespSession {
    fn submit(&mut self, tag: u64, request: Request<'_>) -> Result<(), StoreError> {
        match request {
            Request::Append { stream, batch } => {
                if batch.is_empty() {
                    return Err(StoreError::Invalid {
                        op: "append",
                        detail: "an empty batch cannot be pipelined".to_owned(),
                    });
                }
                self.submit_append(tag, stream, batch);
            }
            Request::Put { key, value } => {
                self.set(key, value);
                self.wait(tag, "put (SET)", 1, Last::Ack);
            }
            Request::PutBatch {
                keys,
                key_ranges,
                values,
            } => {
                let n = key_ranges.len().min(values.len());
                for (k, v) in key_ranges.iter().zip(values) {
                    self.set(&keys[k.clone()], v.body);
                }
                if n == 0 {
                    self.conn.command(&[b"PING"]);
                }
                self.wait(tag, "put (SET)", n.max(1), Last::Ack);
            }
            Request::Get { key } => {
                self.kv_key(key);
                let k = std::mem::take(&mut self.key);
                self.conn.command(&[b"GET", &k]);
                self.key = k;
                self.wait(tag, "get (GET)", 1, Last::Value);
            }
            Request::Delete { key } => {
                self.del(key, std::slice::from_ref(&(0..key.len())));
                self.wait(tag, "delete (DEL)", 1, Last::Ack);
            }
            Request::DeleteBatch { keys, key_ranges } => {
                if key_ranges.is_empty() {
                    self.conn.command(&[b"PING"]);
                } else {
                    self.del(keys, key_ranges);
                }
                self.wait(tag, "delete (DEL)", 1, Last::Ack);
            }
        }
        if self.conn.buffered() >= FLUSH_AT {
            self.conn.flush()?;
        }
        Ok(())
    }

    fn complete(&mut self, wait: bool) -> Result<Option<(u64, Outcome)>, StoreError> {
        self.next_completion(wait)
    }
}
