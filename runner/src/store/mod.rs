//! Stores under test: the [`Store`]/[`Session`] data path, the
//! [`StoreKind`] trait a kind of store implements, the [`Registry`] of
//! kinds, the built-in kinds (`memory`, `wal`, `rocksdb`, `resp`, `external`) and the
//! [`conformance`] suite.
//!
//! A store kind is one type owning its YAML name, config type, config
//! checks, capabilities, statistics and `open`; a checked scenario holds it
//! as a [`TargetKind`]. A new built-in kind is its file plus one line in
//! [`Registry::builtin`]; a binary built on loadline adds its own with
//! [`App::store`](crate::App::store). Nothing outside a kind's file
//! matches on a kind or its name.
//!
//! This module does not depend on the scenario model: configs live with
//! their stores, and the scenario holds them.

mod api;
mod background;
pub mod conformance;
pub mod external;
mod kind;
pub mod layout;
mod memory;
pub mod ordered_log;
mod power_loss;
mod resp;
#[cfg(feature = "rocksdb")]
mod rocksdb;
mod tied;
mod wal;

pub use api::*;
pub use background::Background;
pub use external::{ExternalConfig, ExternalKind, ExternalStore};
pub(crate) use kind::ProblemAt;
pub use kind::{
    AppendPlan, ConfigError, DuplicateKind, Problem, Registry, StoreKind, TargetKind, Workload,
    did_you_mean,
};
pub use memory::{MemoryConfig, MemoryKind, MemoryStore};
pub use resp::{RespConfig, RespKind, RespServerConfig, RespStore};
#[cfg(feature = "rocksdb")]
pub use rocksdb::{
    Compression, RocksdbConfig, RocksdbKind, RocksdbSettings, RocksdbStore, check_raw_options,
};
pub use wal::{
    MIN_SEGMENT_SIZE, RecoveryMode, SimFs, WalConfig, WalKind, WalOptions, WalRecoveryMode,
    WalStore, WalSync, WalSyncPolicy,
};

impl Registry {
    /// The kinds every loadline binary has, in the order the schema and
    /// messages list them: the one list of built-in kinds.
    pub fn builtin() -> Registry {
        let r = Registry::empty().with::<WalKind>();
        #[cfg(feature = "rocksdb")]
        let r = r.and_then(Registry::with::<RocksdbKind>);
        r.and_then(Registry::with::<MemoryKind>)
            .and_then(Registry::with::<RespKind>)
            .and_then(Registry::with::<ExternalKind>)
            .expect("built-in kind names are distinct")
    }
}

/// The cargo feature of loadline that adds built-in kind `kind`, when
/// this build was made without it (`rocksdb` in a build with
/// `default-features = false`); `None` for kinds this build has or never
/// heard of. Messages about an unknown kind say so.
pub fn missing_feature(kind: &str) -> Option<&'static str> {
    (cfg!(not(feature = "rocksdb")) && kind == "rocksdb").then_some("rocksdb")
}

/// Opens the store a target's kind names, in `dir`.
///
/// # Errors
///
/// Whatever the kind's `open` reports.
pub fn open(kind: &TargetKind, dir: &std::path::Path) -> Result<Box<dyn Store>, StoreError> {
    kind.open(dir)
}

/// The description of statistic `name` of the built-in store kind called
/// `kind` (for reports read back from disk, which name their kind).
pub fn stat_desc(kind: &str, name: &str) -> Option<&'static StatDesc> {
    static BUILTIN: std::sync::OnceLock<Registry> = std::sync::OnceLock::new();
    BUILTIN
        .get_or_init(Registry::builtin)
        .statistics(kind)
        .iter()
        .find(|d| d.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The built-in kinds pass the same one-call conformance check as
    /// plug-in kinds (log and key-value as their capabilities say, kill -9
    /// for the crash-durable ones), at their default configs.
    #[test]
    fn memory_kind_conforms() {
        conformance::check_kind::<MemoryKind>(&MemoryConfig::default());
    }

    #[test]
    fn wal_kind_conforms() {
        conformance::check_kind::<WalKind>(&WalConfig::default());
    }

    #[cfg(feature = "rocksdb")]
    #[test]
    fn rocksdb_kind_conforms() {
        conformance::check_kind::<RocksdbKind>(&RocksdbConfig::default());
    }

    #[test]
    fn the_builtin_registry_lists_each_kind_once() {
        let r = Registry::builtin();
        assert_eq!(r.names(), ["wal", "rocksdb", "memory", "resp", "external"]);
        assert_eq!(
            Registry::builtin().with::<WalKind>().err(),
            Some(DuplicateKind("wal"))
        );
        assert!(r.configure("fjall", &serde_json::json!({})).is_none());
    }

    /// Guards issue 29: a `rocksdb:` target in a build without the
    /// feature is named as such, not as an unknown kind.
    #[test]
    fn a_kind_left_out_by_a_feature_names_the_feature() {
        let built = Registry::builtin().contains("rocksdb");
        assert_eq!(missing_feature("rocksdb").is_some(), !built);
        assert_eq!(missing_feature("wal"), None);
        assert_eq!(missing_feature("btree"), None);
    }
}
