//! Stores under test: the [`Store`]/[`Session`] API, its implementations, and
//! the one `match` that opens a target. A new store is one file plus one arm.

mod api;
pub mod conformance;
pub mod memory;
#[cfg(feature = "rocksdb")]
pub mod rocksdb;
pub mod wal;

#[cfg(feature = "rocksdb")]
pub use self::rocksdb::RocksdbStore;
pub use api::*;
pub use memory::MemoryStore;
pub use wal::{SimFs, WalOptions, WalStore, WalSync};

use crate::scenario::model::TargetKind;

/// Opens the store a target kind names, in `dir` — the one `match` over
/// store kinds. A new store is one more arm.
pub fn open(kind: &TargetKind, dir: &std::path::Path) -> Result<Box<dyn Store>, StoreError> {
    match kind {
        TargetKind::Memory => Ok(Box::new(MemoryStore::new())),
        TargetKind::Wal(w) => Ok(Box::new(WalStore::open(dir, &wal_options(w))?)),
        #[cfg(feature = "rocksdb")]
        TargetKind::Rocksdb(r) => Ok(Box::new(RocksdbStore::open(dir, r)?)),
        #[cfg(not(feature = "rocksdb"))]
        TargetKind::Rocksdb(_) => Err(StoreError::Unsupported {
            op: "open",
            store: "rocksdb",
        }),
    }
}

/// The WAL options a `wal` target's checked config names (as [`open`] uses
/// them; also what simulated power loss opens its WAL with).
pub fn wal_options(w: &crate::scenario::model::WalConfig) -> WalOptions {
    WalOptions {
        segment_size: w.segment_size,
        sync: match w.sync {
            crate::scenario::model::WalSync::Always => WalSync::Always,
            crate::scenario::model::WalSync::Batch => WalSync::Batch,
            crate::scenario::model::WalSync::Never => WalSync::Never,
        },
        sync_interval: w.sync_interval,
        preallocate: w.preallocate,
    }
}

/// What a target kind supports, known before anything is opened (validation
/// checks every actor's op against it).
pub fn capabilities_of(kind: &TargetKind) -> Capabilities {
    match kind {
        TargetKind::Memory => Capabilities {
            log: true,
            kv: true,
            persistent: false,
        },
        TargetKind::Wal(_) => Capabilities {
            log: true,
            kv: false,
            persistent: true,
        },
        TargetKind::Rocksdb(_) => Capabilities {
            log: true,
            kv: true,
            persistent: true,
        },
    }
}

/// The statistics a target kind reports under `target.store.`.
pub fn stats_of(kind: &TargetKind) -> &'static [StatDesc] {
    stats_of_kind(kind.name())
}

/// Problems with raw RocksDB option strings, as `(option, message)`, found
/// without opening anything (empty when the `rocksdb` feature is off: the
/// run then refuses the target when it opens it).
pub fn check_rocksdb_options(options: &[(String, String)]) -> Vec<(String, String)> {
    #[cfg(feature = "rocksdb")]
    {
        self::rocksdb::check_raw_options(options)
    }
    #[cfg(not(feature = "rocksdb"))]
    {
        let _ = options;
        Vec::new()
    }
}

/// The statistics of the store kind called `kind` (`wal`, `rocksdb`, `memory`).
pub fn stats_of_kind(kind: &str) -> &'static [StatDesc] {
    match kind {
        "memory" => memory::STATS,
        "wal" => wal::STATS,
        #[cfg(feature = "rocksdb")]
        "rocksdb" => rocksdb::STATS,
        _ => &[],
    }
}

/// The description of statistic `name` of store kind `kind`.
pub fn stat_desc(kind: &str, name: &str) -> Option<&'static StatDesc> {
    stats_of_kind(kind).iter().find(|d| d.name == name)
}
