//! A worker's session on an `external` plug-in: each [`Session`] call as
//! one request and its reply ([`super::protocol`]). Bodies, keys and
//! values go base64-encoded inside the JSON lines. It never reads the
//! clock: the engine's worker times each call.

use std::sync::Arc;

use super::plugin::Plugin;
use super::protocol::{
    AppendReply, BoundsReply, Bytes, GetReply, Op, ReadReply, ScanReply, WireKeys, WireRecord,
};
use crate::store::api::{Keys, LogBounds, Offset, ReadBuf, Record, Session, StoreError};

/// A session: the shared plug-in.
pub(crate) struct ExternalSession {
    plugin: Arc<Plugin>,
}

impl ExternalSession {
    pub(crate) fn new(plugin: Arc<Plugin>) -> ExternalSession {
        ExternalSession { plugin }
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
