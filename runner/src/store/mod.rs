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
pub(crate) mod fs;
mod kind;
pub mod layout;
mod memory;
pub mod ordered_log;
mod power_loss;
mod registry;
mod resp;
#[cfg(feature = "rocksdb")]
mod rocksdb;
pub(crate) mod service_time;
mod tied;
mod wal;

pub use api::*;
pub use background::Background;
pub use external::{ExternalConfig, ExternalKind, ExternalStore};
pub use fs::SimFs;
pub(crate) use kind::ProblemAt;
pub use kind::{AppendPlan, ConfigError, Problem, StoreKind, Workload};
pub use memory::{MemoryConfig, MemoryKind, MemoryStore};
pub use registry::{
    DuplicateKind, Registry, TargetKind, did_you_mean, missing_feature, open, stat_desc,
};
pub use resp::{RespConfig, RespKind, RespServerConfig, RespStore};
#[cfg(feature = "rocksdb")]
pub use rocksdb::{
    Compression, RocksdbConfig, RocksdbKind, RocksdbSettings, RocksdbStore, check_raw_options,
};
pub use wal::{
    MIN_SEGMENT_SIZE, RecoveryMode, WalConfig, WalKind, WalOptions, WalRecoveryMode, WalStore,
    WalSync, WalSyncPolicy,
};
