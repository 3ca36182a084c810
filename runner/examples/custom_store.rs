//! How to add a store to loadline: implement [`Store`] (opened once per
//! target, shared by workers) and [`Session`] (one per worker thread),
//! describe the kind with [`StoreKind`] (its YAML name, config, capabilities,
//! statistics and `open`), and hand it to [`loadline::App`]: the binary is
//! the whole loadline command line with `vec:` targets next to the built-in
//! ones. The test at the bottom proves the semantics with one call of the
//! conformance suite.
//!
//! This store keeps each stream in a `Vec` behind a mutex: correct, simple,
//! and not fast.
//!
//! ```text
//! cargo run --release --example custom_store -- validate my.yaml   # targets: { v: { vec: {} } }
//! cargo run --release --example custom_store -- schema             # includes `vec`
//! cargo test --release --example custom_store                      # conformance
//! ```

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use loadline::store::{
    Capabilities, Keys, LogBounds, Offset, ReadBuf, Record, Session, StatDesc, Store, StoreError,
    StoreKind, StoreStats,
};

/// The `vec` store kind.
struct VecKind;

/// Options of the `vec` store (none; write `vec: {}`).
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
struct VecConfig {}

impl StoreKind for VecKind {
    const NAME: &'static str = "vec";
    const ABOUT: &'static str = "An example log store: a Vec per stream behind a mutex.";
    type Config = VecConfig;

    fn capabilities(_: &VecConfig) -> Capabilities {
        CAPABILITIES
    }

    fn statistics() -> &'static [StatDesc] {
        &[]
    }

    fn open(_: &VecConfig, _dir: &Path) -> Result<Box<dyn Store>, StoreError> {
        Ok(Box::new(VecStore::default()))
    }
}

/// Log operations only, in memory.
const CAPABILITIES: Capabilities = Capabilities {
    log: true,
    ..Capabilities::NONE
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
        CAPABILITIES
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
    loadline::App::new()
        .name("custom_store")
        .store::<VecKind>()
        .main()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The conformance suite, in one call: log semantics (the kind claims
    /// nothing else).
    #[test]
    fn vec_store_conforms() {
        loadline::store::conformance::check_kind::<VecKind>(&VecConfig::default());
    }
}
