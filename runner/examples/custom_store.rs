//! How to add a store to loadline: implement [`Store`] (opened once per
//! target, shared by workers) and [`Session`] (one per worker thread), then
//! prove the semantics with the conformance suite every store runs.
//!
//! This one keeps each stream in a `Vec` behind a mutex: correct, simple,
//! and not fast. To make it a target, add a variant to `TargetSpec` /
//! `TargetKind` and one arm to `store::open`.
//!
//! Run with `cargo run --release --example custom_store`.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use loadline::store::{
    Capabilities, Keys, LogBounds, Offset, ReadBuf, Record, Session, Store, StoreError, StoreStats,
    conformance,
};

#[derive(Default)]
struct Stream {
    records: Vec<(Keys, Vec<u8>)>,
    trim_point: Offset,
}

/// A log store in a mutex-guarded map of vectors.
#[derive(Default, Clone)]
struct VecStore {
    streams: Arc<Mutex<HashMap<u64, Stream>>>,
}

impl Store for VecStore {
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            log: true,
            kv: false,
            persistent: false,
        }
    }
    fn session(&self) -> Result<Box<dyn Session>, StoreError> {
        Ok(Box::new(self.clone()))
    }
    fn stats(&self) -> StoreStats {
        StoreStats::default()
    }
    fn close(self: Box<Self>) -> Result<(), StoreError> {
        Ok(())
    }
}

impl VecStore {
    fn with<T>(&self, stream: u64, f: impl FnOnce(&mut Stream) -> T) -> T {
        let mut map = self
            .streams
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(map.entry(stream).or_default())
    }
}

impl Session for VecStore {
    fn append(&mut self, stream: u64, batch: &[Record<'_>]) -> Result<Offset, StoreError> {
        Ok(self.with(stream, |s| {
            let first = s.records.len() as Offset;
            s.records
                .extend(batch.iter().map(|r| (r.keys, r.body.to_vec())));
            first
        }))
    }

    fn read(
        &mut self,
        stream: u64,
        from: Offset,
        max_bytes: usize,
        out: &mut ReadBuf,
    ) -> Result<Offset, StoreError> {
        out.clear();
        Ok(self.with(stream, |s| {
            let mut next = from.max(s.trim_point);
            while let Some((keys, body)) = s.records.get(next as usize) {
                if !out.is_empty() && out.bytes() + body.len() > max_bytes {
                    break;
                }
                out.push(next, *keys, body);
                next += 1;
            }
            next
        }))
    }

    fn trim(&mut self, stream: u64, up_to: Offset) -> Result<(), StoreError> {
        self.with(stream, |s| {
            s.trim_point = s.trim_point.max(up_to.min(s.records.len() as Offset))
        });
        Ok(())
    }

    fn sync(&mut self) -> Result<(), StoreError> {
        Ok(())
    }

    fn bounds(&mut self, stream: u64) -> Result<LogBounds, StoreError> {
        Ok(self.with(stream, |s| LogBounds {
            trim_point: s.trim_point,
            tail: s.records.len() as Offset,
        }))
    }
}

fn main() {
    let dir = std::env::temp_dir();
    let open =
        |_: &Path| -> Result<Box<dyn Store>, StoreError> { Ok(Box::new(VecStore::default())) };
    conformance::check_log_store(&open, &dir);
    println!("VecStore passes loadline's log conformance suite");
}
