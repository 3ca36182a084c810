//! A worker's session on an `external` plug-in: each [`Session`] call as
//! one request and its reply ([`super::protocol`]), and the session's
//! [`Pipeline`]: several requests in flight, their replies taken in
//! whatever order the plug-in sends them. A put or delete batch is one
//! request per key (the protocol has no batch of them), completed when
//! every one is answered. Bodies, keys and values go base64-encoded
//! inside the JSON lines. It never reads the clock: the engine's worker
//! times each call.

use std::collections::HashMap;
use std::sync::Arc;

use super::plugin::{Plugin, op_name};
use super::protocol::{
    AppendReply, BoundsReply, Bytes, GetReply, Op, ReadReply, ScanReply, WireKeys, WireRecord,
};
use crate::store::api::{Keys, LogBounds, Offset, ReadBuf, Record, Session, StoreError};
use crate::store::{Outcome, Pipeline, Request};

/// A request of the pipeline: its tag, requests (ids) still unanswered,
/// the first error among the answers, and its outcome so far.
struct Submitted {
    left: usize,
    error: Option<StoreError>,
    outcome: Outcome,
}

/// A session: the shared plug-in, and the pipeline's requests in flight.
pub(crate) struct ExternalSession {
    plugin: Arc<Plugin>,
    /// Pipeline: id in flight → its request's tag and op name.
    ids: HashMap<u64, (u64, &'static str)>,
    /// Pipeline: tag → its request.
    tags: HashMap<u64, Submitted>,
}

impl ExternalSession {
    pub(crate) fn new(plugin: Arc<Plugin>) -> ExternalSession {
        ExternalSession {
            plugin,
            ids: HashMap::new(),
            tags: HashMap::new(),
        }
    }

    /// Sends `op` as part of the request tagged `tag`.
    fn send(&mut self, tag: u64, op: Op) -> Result<(), StoreError> {
        let name = op_name(&op);
        let id = self.plugin.send(op)?;
        self.ids.insert(id, (tag, name));
        Ok(())
    }

    /// A call whose `ok` carries nothing.
    fn done(&self, op: Op) -> Result<(), StoreError> {
        self.plugin.call::<serde_json::Value>(op).map(|_| ())
    }
}

impl Session for ExternalSession {
    fn append(&mut self, stream: u64, batch: &[Record<'_>]) -> Result<Offset, StoreError> {
        let records = batch
            .iter()
            .map(|r| WireRecord {
                offset: None,
                keys: WireKeys::of(r.keys),
                body: Bytes(r.body.to_vec()),
            })
            .collect();
        let r: AppendReply = self.plugin.call(Op::Append { stream, records })?;
        Ok(r.first)
    }

    fn read(
        &mut self,
        stream: u64,
        from: Offset,
        max_bytes: usize,
        out: &mut ReadBuf,
    ) -> Result<Offset, StoreError> {
        out.clear();
        let r: ReadReply = self.plugin.call(Op::Read {
            stream,
            from,
            max_bytes: max_bytes as u64,
        })?;
        for rec in &r.records {
            let offset = rec.offset.ok_or_else(|| StoreError::Engine {
                op: "read",
                detail: "a record of the reply has no `offset`".to_owned(),
            })?;
            out.push(offset, WireKeys::keys(rec.keys), &rec.body.0);
        }
        Ok(r.next)
    }

    fn trim(&mut self, stream: u64, up_to: Offset) -> Result<(), StoreError> {
        self.done(Op::Trim { stream, up_to })
    }

    fn sync(&mut self) -> Result<(), StoreError> {
        self.done(Op::Sync)
    }

    fn bounds(&mut self, stream: u64) -> Result<LogBounds, StoreError> {
        let b: BoundsReply = self.plugin.call(Op::Bounds { stream })?;
        Ok(LogBounds {
            trim_point: b.trim_point,
            tail: b.tail,
        })
    }

    fn put(&mut self, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        self.done(Op::Put {
            key: Bytes(key.to_vec()),
            value: Bytes(value.to_vec()),
        })
    }

    fn get(&mut self, key: &[u8], out: &mut Vec<u8>) -> Result<bool, StoreError> {
        let r: GetReply = self.plugin.call(Op::Get {
            key: Bytes(key.to_vec()),
        })?;
        out.clear();
        Ok(r.value.is_some_and(|v| {
            out.extend_from_slice(&v.0);
            true
        }))
    }

    fn delete(&mut self, key: &[u8]) -> Result<(), StoreError> {
        self.done(Op::Delete {
            key: Bytes(key.to_vec()),
        })
    }

    fn pipeline(&mut self) -> Option<&mut dyn Pipeline> {
        Some(self)
    }

    fn scan(&mut self, start: &[u8], limit: usize, out: &mut ReadBuf) -> Result<usize, StoreError> {
        out.clear();
        let r: ScanReply = self.plugin.call(Op::Scan {
            start: Bytes(start.to_vec()),
            limit: limit as u64,
        })?;
        let n = r.values.len().min(limit);
        for (i, v) in r.values.iter().take(n).enumerate() {
            out.push(i as Offset, Keys::None, &v.0);
        }
        Ok(n)
    }
}

/// An append's records on the wire.
fn wire_records(batch: &[Record<'_>]) -> Vec<WireRecord> {
    batch
        .iter()
        .map(|r| WireRecord {
            offset: None,
            keys: WireKeys::of(r.keys),
            body: Bytes(r.body.to_vec()),
        })
        .collect()
}

impl Pipeline for ExternalSession {
    fn submit(&mut self, tag: u64, request: Request<'_>) -> Result<(), StoreError> {
        let (left, outcome) = match request {
            Request::Append { stream, batch } => {
                let records = wire_records(batch);
                self.send(tag, Op::Append { stream, records })?;
                (1, Outcome::Appended(0))
            }
            Request::Put { key, value } => {
                self.send(
                    tag,
                    Op::Put {
                        key: Bytes(key.to_vec()),
                        value: Bytes(value.to_vec()),
                    },
                )?;
                (1, Outcome::Done)
            }
            Request::PutBatch {
                keys,
                key_ranges,
                values,
            } => {
                let mut n = 0;
                for (k, v) in key_ranges.iter().zip(values) {
                    self.send(
                        tag,
                        Op::Put {
                            key: Bytes(keys[k.clone()].to_vec()),
                            value: Bytes(v.body.to_vec()),
                        },
                    )?;
                    n += 1;
                }
                (n, Outcome::Done)
            }
            Request::Get { key } => {
                self.send(
                    tag,
                    Op::Get {
                        key: Bytes(key.to_vec()),
                    },
                )?;
                (1, Outcome::Got(None))
            }
            Request::Delete { key } => {
                self.send(
                    tag,
                    Op::Delete {
                        key: Bytes(key.to_vec()),
                    },
                )?;
                (1, Outcome::Done)
            }
            Request::DeleteBatch { keys, key_ranges } => {
                for k in key_ranges {
                    self.send(
                        tag,
                        Op::Delete {
                            key: Bytes(keys[k.clone()].to_vec()),
                        },
                    )?;
                }
                (key_ranges.len(), Outcome::Done)
            }
        };
        if left == 0 {
            return Err(StoreError::Invalid {
                op: "submit",
                detail: "an empty batch".to_owned(),
            });
        }
        self.tags.insert(
            tag,
            Submitted {
                left,
                error: None,
                outcome,
            },
        );
        Ok(())
    }

    fn complete(&mut self, wait: bool) -> Result<Option<(u64, Outcome)>, StoreError> {
        loop {
            let ids = &self.ids;
            let filed = match self.plugin.wait(|id| ids.contains_key(&id), wait) {
                Ok(Some(f)) => f,
                Ok(None) => return Ok(None),
                Err(broken) => {
                    let name = self.ids.values().next().map_or("complete", |v| v.1);
                    return Err(StoreError::Engine {
                        op: name,
                        detail: broken,
                    });
                }
            };
            let (id, reply) = filed;
            let Some((tag, name)) = self.ids.remove(&id) else {
                continue;
            };
            let Some(sub) = self.tags.get_mut(&tag) else {
                continue;
            };
            sub.left -= 1;
            let result = match name {
                "append" => self
                    .plugin
                    .decode::<AppendReply>(name, reply)
                    .map(|r| Outcome::Appended(r.first)),
                "get" => self
                    .plugin
                    .decode::<GetReply>(name, reply)
                    .map(|r| Outcome::Got(r.value.map(|v| v.0.len()))),
                _ => self
                    .plugin
                    .decode::<serde_json::Value>(name, reply)
                    .map(|_| Outcome::Done),
            };
            match result {
                Ok(o) => sub.outcome = o,
                Err(e) => {
                    if sub.error.is_none() {
                        sub.error = Some(e);
                    }
                }
            }
            if sub.left > 0 {
                continue;
            }
            let Some(done) = self.tags.remove(&tag) else {
                continue;
            };
            return match done.error {
                Some(e) => Err(e),
                None => Ok(Some((tag, done.outcome))),
            };
        }
    }
}
