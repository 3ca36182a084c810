//! The `rocksdb` store kind: its scenario config ([`RocksdbConfig`]), the
//! checks of that config (raw option strings through RocksDB's own
//! parser), its capabilities, and the checked [`RocksdbSettings`] the
//! store opens with.

use std::path::Path;

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{RocksdbStore, STATS, check_raw_options};
use crate::store::api::{Capabilities, StatDesc, Store, StoreError};
use crate::store::kind::{Problem, StoreKind, Workload, did_you_mean};
use crate::units::ByteSize;

/// The `rocksdb` store kind: RocksDB with the log mapped onto (stream,
/// offset) keys.
#[derive(Debug, Clone, Copy, Default)]
pub struct RocksdbKind;

/// Compression of RocksDB blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Compression {
    /// No compression.
    None,
    /// LZ4.
    Lz4,
    /// Zstandard.
    Zstd,
}

/// Options of the `rocksdb` store.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct RocksdbConfig {
    /// Sync the WAL on every write batch (`WriteOptions::set_sync`). Default `false`: an acknowledged write survives a process crash (it is in RocksDB's WAL in the page cache), not a power loss.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync: Option<bool>,
    /// Write without RocksDB's own WAL (data since the last flush is lost on a crash). Default `false`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_wal: Option<bool>,
    /// Block compression for every level. Default `none`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compression: Option<Compression>,
    /// Compression per level, from level 0 up; overrides `compression`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compression_per_level: Option<Vec<Compression>>,
    /// Size of one memtable. Default RocksDB's (64MiB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub write_buffer_size: Option<ByteSize>,
    /// Number of memtables before writes stall.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_write_buffer_number: Option<u32>,
    /// Size of the shared LRU block cache.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_cache: Option<ByteSize>,
    /// Bloom filter bits per key; absent means no filter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bloom_bits: Option<f64>,
    /// Maximum concurrent flushes and compactions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_background_jobs: Option<u32>,
    /// Target size of an SST file at level 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_file_size: Option<ByteSize>,
    /// Number of level-0 files that triggers a compaction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level0_file_num_compaction_trigger: Option<u32>,
    /// Number of level-0 files at which writes are slowed down.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level0_slowdown_writes_trigger: Option<u32>,
    /// Number of level-0 files at which writes stop.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level0_stop_writes_trigger: Option<u32>,
    /// Total memtable memory, split between the column families.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_budget: Option<ByteSize>,
    /// Raw RocksDB options, passed through as option strings
    /// (`{ max_background_jobs: "4" }`), so anything RocksDB supports is reachable.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub options: IndexMap<String, String>,
    /// Add the full `rocksdb.stats` text to the report appendix. Default `false`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw_stats: Option<bool>,
}

/// Checked RocksDB options (sizes in bytes): what [`RocksdbStore::open`] takes.
#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct RocksdbSettings {
    /// `WriteOptions::set_sync`.
    pub sync: bool,
    /// `WriteOptions::disable_wal`.
    pub disable_wal: bool,
    /// Compression of every level.
    pub compression: Option<Compression>,
    /// Compression per level.
    pub compression_per_level: Vec<Compression>,
    /// Memtable size.
    pub write_buffer_size: Option<u64>,
    /// Memtables before stalling.
    pub max_write_buffer_number: Option<u32>,
    /// Block cache bytes.
    pub block_cache: Option<u64>,
    /// Bloom bits per key.
    pub bloom_bits: Option<f64>,
    /// Background jobs.
    pub max_background_jobs: Option<u32>,
    /// L1 target file size.
    pub target_file_size: Option<u64>,
    /// L0 compaction trigger.
    pub level0_file_num_compaction_trigger: Option<u32>,
    /// L0 slowdown trigger.
    pub level0_slowdown_writes_trigger: Option<u32>,
    /// L0 stop trigger.
    pub level0_stop_writes_trigger: Option<u32>,
    /// Memtable budget split between column families.
    pub memory_budget: Option<u64>,
    /// Raw options, passed through.
    pub options: Vec<(String, String)>,
    /// Include `rocksdb.stats` in the report.
    pub raw_stats: bool,
}

impl RocksdbConfig {
    /// The settings a store opened with this config uses (defaults filled in).
    pub fn settings(&self) -> RocksdbSettings {
        RocksdbSettings {
            sync: self.sync.unwrap_or(false),
            disable_wal: self.disable_wal.unwrap_or(false),
            compression: self.compression,
            compression_per_level: self.compression_per_level.clone().unwrap_or_default(),
            write_buffer_size: self.write_buffer_size.map(|s| s.0),
            max_write_buffer_number: self.max_write_buffer_number,
            block_cache: self.block_cache.map(|s| s.0),
            bloom_bits: self.bloom_bits,
            max_background_jobs: self.max_background_jobs,
            target_file_size: self.target_file_size.map(|s| s.0),
            level0_file_num_compaction_trigger: self.level0_file_num_compaction_trigger,
            level0_slowdown_writes_trigger: self.level0_slowdown_writes_trigger,
            level0_stop_writes_trigger: self.level0_stop_writes_trigger,
            memory_budget: self.memory_budget.map(|s| s.0),
            options: self
                .options
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            raw_stats: self.raw_stats.unwrap_or(false),
        }
    }
}

/// Log and key-value operations, persistent; an acknowledged write
/// survives a process crash unless RocksDB's WAL is off.
pub(crate) fn capabilities(settings: &RocksdbSettings) -> Capabilities {
    Capabilities {
        log: true,
        kv: true,
        persistent: true,
        crash_durable: !settings.disable_wal,
        ..Capabilities::NONE
    }
}

/// Frequently tuned RocksDB options, for "did you mean" on raw option names
/// (RocksDB itself decides what is valid).
const COMMON_ROCKSDB_OPTIONS: &[&str] = &[
    "max_background_jobs",
    "max_background_compactions",
    "max_background_flushes",
    "write_buffer_size",
    "max_write_buffer_number",
    "min_write_buffer_number_to_merge",
    "db_write_buffer_size",
    "target_file_size_base",
    "max_bytes_for_level_base",
    "max_bytes_for_level_multiplier",
    "level0_file_num_compaction_trigger",
    "level0_slowdown_writes_trigger",
    "level0_stop_writes_trigger",
    "compaction_style",
    "compression",
    "bottommost_compression",
    "bytes_per_sync",
    "wal_bytes_per_sync",
    "max_total_wal_size",
    "max_open_files",
    "enable_pipelined_write",
    "allow_concurrent_memtable_write",
    "unordered_write",
    "manual_wal_flush",
    "avoid_flush_during_shutdown",
    "soft_pending_compaction_bytes_limit",
    "hard_pending_compaction_bytes_limit",
    "block_based_table_factory",
    "max_subcompactions",
    "delayed_write_rate",
];

impl StoreKind for RocksdbKind {
    const NAME: &'static str = "rocksdb";
    const ABOUT: &'static str = "RocksDB, with the log mapped onto (stream, offset) keys.";
    type Config = RocksdbConfig;

    fn check(r: &RocksdbConfig, _: &Workload) -> Vec<Problem> {
        let mut out = Vec::new();
        if let Some(levels) = &r.compression_per_level
            && levels.len() > 7
        {
            out.push(
                Problem::error(
                    "compression_per_level",
                    "too many levels in `compression_per_level`",
                )
                .expected("at most 7 entries (levels 0 to 6)"),
            );
        }
        if let Some(b) = r.bloom_bits
            && !(b > 0.0 && b <= 64.0)
        {
            out.push(
                Problem::error("bloom_bits", "`bloom_bits` is out of range")
                    .expected("bits per key in (0, 64]"),
            );
        }
        let raw: Vec<(String, String)> = r
            .options
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for (k, message) in check_raw_options(&raw) {
            let bad_name = message.starts_with("unknown");
            let field = format!("options/{}", k.replace('~', "~0").replace('/', "~1"));
            let mut p = Problem::error(&field, message).expected(
                "a RocksDB option name (as in an OPTIONS file) and a value RocksDB accepts",
            );
            if bad_name {
                p = p.on_key();
                if let Some(m) = did_you_mean(&k, COMMON_ROCKSDB_OPTIONS.iter().copied()) {
                    p = p.help(format!("did you mean `{m}`?"));
                }
            }
            out.push(p);
        }
        if r.disable_wal == Some(true) && r.sync == Some(true) {
            out.push(
                Problem::error(
                    "sync",
                    "`sync: true` has no effect with `disable_wal: true`",
                )
                .help("RocksDB rejects synced writes without a WAL; drop one of the two"),
            );
        }
        out
    }

    fn capabilities(config: &RocksdbConfig) -> Capabilities {
        capabilities(&config.settings())
    }

    fn statistics() -> &'static [StatDesc] {
        STATS
    }

    fn levels() -> &'static [&'static str] {
        super::stats::LEVEL_STATS
    }

    fn describe(config: &RocksdbConfig) -> String {
        let r = config.settings();
        format!(
            "sync {}, wal {}, compression {}",
            r.sync,
            if r.disable_wal { "off" } else { "on" },
            r.compression
                .map_or("none".to_owned(), |c| format!("{c:?}").to_lowercase())
        )
    }

    fn open(config: &RocksdbConfig, dir: &Path) -> Result<Box<dyn Store>, StoreError> {
        Ok(Box::new(RocksdbStore::open(dir, &config.settings())?))
    }
}
