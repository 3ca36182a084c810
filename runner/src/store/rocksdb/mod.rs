//! The `rocksdb` target: loadline's log and key-value operations mapped onto
//! RocksDB (the store most teams compare their own log against), with its
//! options taken from the scenario and its statistics exposed as
//! `target.store.*` metrics.
//!
//! Owns the RocksDB store only: the layout (`layout`), the options mapping
//! and raw option checks (`options`), the statistics (`stats`), the
//! background work a `settle` waits for (`background`), the
//! store and sessions (`store`) and the `rocksdb` store kind: its scenario
//! config, checks and capabilities (`kind`). It never times, counts
//! operations or prints.
//!
//! Built only with the `rocksdb` cargo feature (on by default), which
//! compiles the bundled RocksDB with lz4 and zstd.

mod background;
mod error;
mod kind;
mod layout;
mod options;
mod stats;
mod store;

#[cfg(test)]
mod tests;

pub use kind::{Compression, RocksdbConfig, RocksdbKind, RocksdbSettings};
pub use options::check_raw_options;
pub(crate) use stats::STATS;
pub use store::RocksdbStore;
