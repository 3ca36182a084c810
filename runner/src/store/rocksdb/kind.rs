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
use crate::store::{Problem, StoreKind, Workload, did_you_mean};
use crate::units::{ByteSize, Percent, format_size};

/// The `rocksdb` store kind: RocksDB with the log mapped onto (stream, offset) keys.
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
    /// Total memtable memory, split between the column families: by their
    /// `memory_share` where `column_families` gives one, else `data` 8/16,
    /// `kv` 6/16, `metadata` 1/16.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_budget: Option<ByteSize>,
    /// Options of single column families (`data`: the log, `metadata`: trim
    /// points, `kv`: key-value pairs), over the fields above, which apply to
    /// every family. The log-server layout: `data: { memory_share: 85%,
    /// num_levels: 7, compression: zstd, prefix_length: 9 }`, `metadata: {
    /// memory_share: 15%, num_levels: 3 }` (the trim-point merge operator
    /// is always set on `metadata`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column_families: Option<ColumnFamilies>,
    /// Raw RocksDB options, passed through as option strings
    /// (`{ max_background_jobs: "4" }`), so anything RocksDB supports is reachable.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub options: IndexMap<String, String>,
    /// Add the full `rocksdb.stats` text to the report appendix. Default `false`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw_stats: Option<bool>,
}

/// Options per column family; a family left out uses the store-wide fields.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct ColumnFamilies {
    /// The log's records, keyed by (stream, offset): 16-byte keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<CfConfig>,
    /// Trim points, keyed `T` + stream (9 bytes), merged by the built-in max operator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<CfConfig>,
    /// Key-value pairs (`put`, `get`, `delete`, `scan`), keyed by the user's key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kv: Option<CfConfig>,
}

/// Options of one column family; each overrides the store-wide field of the same name.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct CfConfig {
    /// This family's share of `memory_budget` for its memtables (`85%`); the families without one split what is left equally. Needs `memory_budget`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_share: Option<Percent>,
    /// Number of LSM levels (RocksDB's `num_levels`, default 7).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub num_levels: Option<u32>,
    /// Block compression for every level of this family.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compression: Option<Compression>,
    /// Compression per level, from level 0 up; overrides `compression`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compression_per_level: Option<Vec<Compression>>,
    /// A fixed-length prefix extractor of this many bytes of the key (prefix bloom filters and prefix seeks); reads stay in total order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix_length: Option<u32>,
    /// An LRU block cache of this family's own instead of the shared `block_cache`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_cache: Option<ByteSize>,
    /// Bloom filter bits per key for this family.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bloom_bits: Option<f64>,
    /// Size of one memtable of this family (overrides its `memory_share`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub write_buffer_size: Option<ByteSize>,
    /// Memtables of this family before writes stall.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_write_buffer_number: Option<u32>,
    /// Target SST file size at level 1 of this family.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_file_size: Option<ByteSize>,
    /// Raw column-family options for this family only, applied after the store-wide `options`.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub options: IndexMap<String, String>,
}

/// Checked options of one column family (sizes in bytes).
#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct CfSettings {
    /// Share of the memory budget (0–1).
    pub memory_share: Option<f64>,
    /// LSM levels.
    pub num_levels: Option<u32>,
    /// Compression of every level.
    pub compression: Option<Compression>,
    /// Compression per level.
    pub compression_per_level: Vec<Compression>,
    /// Fixed prefix extractor length.
    pub prefix_length: Option<u32>,
    /// Own block cache bytes.
    pub block_cache: Option<u64>,
    /// Bloom bits per key.
    pub bloom_bits: Option<f64>,
    /// Memtable size.
    pub write_buffer_size: Option<u64>,
    /// Memtables before stalling.
    pub max_write_buffer_number: Option<u32>,
    /// L1 target file size.
    pub target_file_size: Option<u64>,
    /// Raw column-family options.
    pub options: Vec<(String, String)>,
}

impl CfConfig {
    fn settings(&self) -> CfSettings {
        CfSettings {
            memory_share: self.memory_share.map(|p| p.0),
            num_levels: self.num_levels,
            compression: self.compression,
            compression_per_level: self.compression_per_level.clone().unwrap_or_default(),
            prefix_length: self.prefix_length,
            block_cache: self.block_cache.map(|b| b.0),
            bloom_bits: self.bloom_bits,
            write_buffer_size: self.write_buffer_size.map(|b| b.0),
            max_write_buffer_number: self.max_write_buffer_number,
            target_file_size: self.target_file_size.map(|b| b.0),
            options: self
                .options
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        }
    }
}

impl ColumnFamilies {
    /// The families that are configured, by name.
    fn named(&self) -> Vec<(&'static str, &CfConfig)> {
        [
            ("data", &self.data),
            ("metadata", &self.metadata),
            ("kv", &self.kv),
        ]
        .into_iter()
        .filter_map(|(n, c)| c.as_ref().map(|c| (n, c)))
        .collect()
    }
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
    /// Options of single column families, by name (`data`, `metadata`, `kv`).
    pub column_families: Vec<(String, CfSettings)>,
}

impl RocksdbSettings {
    /// The options of column family `name`, if the scenario gave any.
    pub fn cf(&self, name: &str) -> Option<&CfSettings> {
        self.column_families
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, c)| c)
    }
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
            column_families: self
                .column_families
                .as_ref()
                .map(|c| {
                    c.named()
                        .into_iter()
                        .map(|(n, c)| (n.to_owned(), c.settings()))
                        .collect()
                })
                .unwrap_or_default(),
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

impl Compression {
    /// The name a scenario writes (`zstd`).
    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Lz4 => "lz4",
            Compression::Zstd => "zstd",
        }
    }
}

/// `k=v; …` of raw options, for `explain`.
fn raw_list(options: &[(String, String)]) -> String {
    options
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ")
}

/// One column family's options, for `explain`.
fn describe_cf(cf: &CfSettings) -> String {
    let mut parts = Vec::new();
    if let Some(s) = cf.memory_share {
        parts.push(format!("{}% of memory_budget", (s * 1000.0).round() / 10.0));
    }
    if let Some(n) = cf.num_levels {
        parts.push(format!("{n} levels"));
    }
    if let Some(c) = cf.compression {
        parts.push(format!("compression {}", c.name()));
    }
    if !cf.compression_per_level.is_empty() {
        let levels: Vec<&str> = cf.compression_per_level.iter().map(|c| c.name()).collect();
        parts.push(format!("compression per level {}", levels.join("/")));
    }
    if let Some(n) = cf.prefix_length {
        parts.push(format!("{n}-byte prefix extractor"));
    }
    if let Some(b) = cf.block_cache {
        parts.push(format!("own block_cache {}", format_size(b)));
    }
    if let Some(b) = cf.bloom_bits {
        parts.push(format!("bloom {b} bits/key"));
    }
    if let Some(b) = cf.write_buffer_size {
        parts.push(format!("write_buffer_size {}", format_size(b)));
    }
    if let Some(n) = cf.max_write_buffer_number {
        parts.push(format!("{n} memtables"));
    }
    if let Some(b) = cf.target_file_size {
        parts.push(format!("target_file_size {}", format_size(b)));
    }
    if !cf.options.is_empty() {
        parts.push(format!("options {{{}}}", raw_list(&cf.options)));
    }
    parts.join(", ")
}

/// The checks the store-wide fields and each column family share; `at` is
/// the field prefix (`""` or `column_families/data/`).
fn check_shared(
    out: &mut Vec<Problem>,
    at: &str,
    compression_per_level: Option<&[Compression]>,
    bloom_bits: Option<f64>,
    options: &IndexMap<String, String>,
) {
    if let Some(levels) = compression_per_level
        && levels.len() > 7
    {
        out.push(
            Problem::error(
                &format!("{at}compression_per_level"),
                "too many levels in `compression_per_level`",
            )
            .expected("at most 7 entries (levels 0 to 6)"),
        );
    }
    if let Some(b) = bloom_bits
        && !(b > 0.0 && b <= 64.0)
    {
        out.push(
            Problem::error(&format!("{at}bloom_bits"), "`bloom_bits` is out of range")
                .expected("bits per key in (0, 64]"),
        );
    }
    let raw: Vec<(String, String)> = options
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for (k, message) in check_raw_options(&raw) {
        let bad_name = message.starts_with("unknown");
        let field = format!("{at}options/{}", k.replace('~', "~0").replace('/', "~1"));
        let mut p = Problem::error(&field, message)
            .expected("a RocksDB option name (as in an OPTIONS file) and a value RocksDB accepts");
        if bad_name {
            p = p.on_key();
            if let Some(m) = did_you_mean(&k, COMMON_ROCKSDB_OPTIONS.iter().copied()) {
                p = p.help(format!("did you mean `{m}`?"));
            }
        }
        out.push(p);
    }
}

impl StoreKind for RocksdbKind {
    const NAME: &'static str = "rocksdb";
    const ABOUT: &'static str = "RocksDB, with the log mapped onto (stream, offset) keys.";
    type Config = RocksdbConfig;

    fn check(r: &RocksdbConfig, _: &Workload) -> Vec<Problem> {
        let mut out = Vec::new();
        check_shared(
            &mut out,
            "",
            r.compression_per_level.as_deref(),
            r.bloom_bits,
            &r.options,
        );
        let families = r
            .column_families
            .as_ref()
            .map(ColumnFamilies::named)
            .unwrap_or_default();
        let mut shares = 0.0;
        for (name, cf) in &families {
            let at = format!("column_families/{name}/");
            check_shared(
                &mut out,
                &at,
                cf.compression_per_level.as_deref(),
                cf.bloom_bits,
                &cf.options,
            );
            if let Some(share) = cf.memory_share {
                shares += share.0;
                if r.memory_budget.is_none() {
                    out.push(
                        Problem::error(
                            &format!("{at}memory_share"),
                            "`memory_share` needs a `memory_budget` to share",
                        )
                        .help("set `memory_budget` on the target, or `write_buffer_size` on the family"),
                    );
                }
                if !(share.0 > 0.0 && share.0 <= 1.0) {
                    out.push(
                        Problem::error(
                            &format!("{at}memory_share"),
                            "`memory_share` is out of range",
                        )
                        .expected("a share in (0%, 100%]")
                        .found(share.to_string()),
                    );
                }
            }
            if let Some(n) = cf.num_levels
                && !(1..=16).contains(&n)
            {
                out.push(
                    Problem::error(&format!("{at}num_levels"), "`num_levels` is out of range")
                        .expected("between 1 and 16 levels")
                        .found(n.to_string()),
                );
            }
            if let Some(n) = cf.prefix_length
                && !(1..=4096).contains(&n)
            {
                out.push(
                    Problem::error(
                        &format!("{at}prefix_length"),
                        "`prefix_length` is out of range",
                    )
                    .expected("between 1 and 4096 bytes")
                    .found(n.to_string()),
                );
            }
        }
        if shares > 1.0 + 1e-9 {
            out.push(
                Problem::error(
                    "column_families",
                    "the column families' `memory_share`s add up to more than 100%",
                )
                .found(format!("{}%", (shares * 1000.0).round() / 10.0))
                .expected("shares that sum to at most 100% of `memory_budget`"),
            );
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

    fn ratios() -> &'static [crate::store::RatioStat] {
        super::stats::RATIO_STATS
    }

    fn describe(config: &RocksdbConfig) -> String {
        let r = config.settings();
        let mut parts = vec![
            format!("sync {}", r.sync),
            format!("wal {}", if r.disable_wal { "off" } else { "on" }),
            format!(
                "compression {}",
                r.compression.map_or("none", Compression::name)
            ),
        ];
        let sizes = [
            ("memory_budget", r.memory_budget),
            ("block_cache", r.block_cache),
            ("write_buffer_size", r.write_buffer_size),
            ("target_file_size", r.target_file_size),
        ];
        for (name, v) in sizes {
            if let Some(v) = v {
                parts.push(format!("{name} {}", format_size(v)));
            }
        }
        if !r.options.is_empty() {
            parts.push(format!("options {{{}}}", raw_list(&r.options)));
        }
        for (name, cf) in &r.column_families {
            parts.push(format!("cf {name} [{}]", describe_cf(cf)));
        }
        parts.join(", ")
    }

    fn open(config: &RocksdbConfig, dir: &Path) -> Result<Box<dyn Store>, StoreError> {
        Ok(Box::new(RocksdbStore::open(dir, &config.settings())?))
    }
}
