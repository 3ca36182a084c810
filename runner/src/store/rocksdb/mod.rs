//! The `rocksdb` target: loadline's log and key-value operations mapped onto
//! RocksDB (the store most teams compare their own log against), with its
//! options taken from the scenario and its statistics exposed as
//! `target.store.*` metrics.
//!
//! Owns the RocksDB store only: the layout (`layout`), the options mapping
//! and raw option checks (`options`), the statistics (`stats`) and the
//! store and sessions (`store`). It does not choose which store a target
//! opens (that is the one `match` in [`crate::store`]) and never times,
//! counts operations or prints.
//!
//! Built only with the `rocksdb` cargo feature (on by default), which
//! compiles the bundled RocksDB with lz4 and zstd.

mod layout;
mod options;
mod stats;
mod store;

#[cfg(test)]
mod tests;

pub use options::check_raw_options;
pub use stats::STATS;
pub use store::RocksdbStore;
