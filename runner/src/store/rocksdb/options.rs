//! Turns a checked [`RocksdbSettings`] into RocksDB `Options` (one for the DB,
//! one per column family) and the `WriteOptions` of every write, and checks
//! raw option strings before anything is opened.
//!
//! Owns the mapping from scenario fields to RocksDB setters and the raw
//! `options:` pass-through; it does not open the database.
//!
//! Typed fields are applied first and the raw `options:` map last, through
//! RocksDB's own option-string parser (`GetOptionsFromString`, reached via
//! [`Options::get_options_from_string`]), so a raw option overrides a typed
//! one and anything RocksDB can parse from an OPTIONS file is reachable:
//! DB options (`max_background_jobs`), column-family options
//! (`level_compaction_dynamic_level_bytes`) and nested table options
//! (`block_based_table_factory: "{block_size=16k}"`). See
//! <https://github.com/facebook/rocksdb/wiki/Option-String-and-Option-Map>.

use rocksdb::{
    BlockBasedOptions, Cache, ColumnFamilyDescriptor, DBCompressionType, Options, SliceTransform,
    WriteOptions,
};

use super::kind::{CfSettings, Compression, RocksdbSettings};
use super::layout::{CF_DATA, CF_KV, CF_METADATA, COLUMN_FAMILIES, MAX_MERGE_NAME, max_merge};
use crate::store::api::StoreError;

/// RocksDB's default `max_write_buffer_number`, used to size memtables from
/// `memory_budget` when the scenario does not set it.
const DEFAULT_MAX_WRITE_BUFFERS: u64 = 2;

/// Everything needed to open the database.
pub(super) struct Built {
    /// DB-wide options (also the `default` column family's); statistics are
    /// read through this object.
    pub(super) db: Options,
    /// One descriptor per column family in [`COLUMN_FAMILIES`].
    pub(super) cfs: Vec<ColumnFamilyDescriptor>,
    /// Options of every write.
    pub(super) write: WriteOptions,
}

/// Checks raw RocksDB options (name, value) one by one with RocksDB's own
/// parser, without opening anything or touching the disk, so validation can
/// report every bad entry of a scenario's `options:` map at its YAML line.
///
/// Returns one `(name, message)` pair per rejected option, in input order;
/// an empty vector means every option parses. Messages are lowercase and
/// say whether the name is unknown or the value does not parse, e.g.
/// `unknown rocksdb option \`max_backgound_jobs\`` or
/// `invalid value \`lots\` for rocksdb option \`write_buffer_size\`: …`.
/// Values RocksDB parses but rejects at open (out-of-range numbers, a
/// compression type not compiled in, such as `kSnappyCompression`) are
/// reported by [`super::RocksdbStore::open`] instead.
pub fn check_raw_options(options: &[(String, String)]) -> Vec<(String, String)> {
    let mut base = Options::default();
    let mut bad = Vec::new();
    for (k, v) in options {
        let mut s = String::new();
        if let Err(e) = push_option(&mut s, k, v) {
            bad.push((
                k.clone(),
                format!("rocksdb option `{k}` cannot be passed through: {e}"),
            ));
            continue;
        }
        if let Err(e) = base.get_options_from_string(&s) {
            bad.push((k.clone(), describe_option_error(k, v, &e.into_string())));
        }
    }
    bad
}

/// Joins raw options into one RocksDB option string (`a=1;b={x=2;y=3};`).
fn option_string(options: &[(String, String)]) -> Result<String, String> {
    let mut s = String::new();
    for (k, v) in options {
        push_option(&mut s, k, v).map_err(|e| format!("rocksdb option `{k}`: {e}"))?;
    }
    Ok(s)
}

/// Appends `name=value;` to an option string, refusing what would change
/// the meaning of the rest of the string (a `;` outside braces would smuggle
/// in a second option).
fn push_option(s: &mut String, name: &str, value: &str) -> Result<(), String> {
    let (k, v) = (name.trim(), value.trim());
    if k.is_empty() || k.contains(['=', ';', '{', '}']) {
        return Err("the option name is empty or contains `=`, `;`, `{` or `}`".to_owned());
    }
    if v.is_empty() {
        return Err("the value is empty".to_owned());
    }
    if !braces_balanced(v) || (v.contains(';') && !(v.starts_with('{') && v.ends_with('}'))) {
        return Err("a value may contain `;` only inside one `{…}` group".to_owned());
    }
    s.push_str(k);
    s.push('=');
    s.push_str(v);
    s.push(';');
    Ok(())
}

fn braces_balanced(v: &str) -> bool {
    let mut depth = 0i32;
    for c in v.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            _ => {}
        }
        if depth < 0 {
            return false;
        }
    }
    depth == 0
}

/// Turns RocksDB's status text into a lowercase message naming the option.
fn describe_option_error(name: &str, value: &str, rocksdb: &str) -> String {
    let detail = rocksdb
        .strip_prefix("Invalid argument: ")
        .unwrap_or(rocksdb)
        .trim()
        .to_lowercase();
    if detail.contains("could not find option") || detail.contains("not recognized") {
        format!("unknown rocksdb option `{name}`")
    } else {
        format!("invalid value `{value}` for rocksdb option `{name}`: {detail}")
    }
}

/// Builds the options of every column family and of the DB from `cfg`.
///
/// # Errors
///
/// [`StoreError::Engine`] when RocksDB rejects a raw option (the same check
/// as [`check_raw_options`], repeated here because a store may be opened
/// without validation, e.g. from the library).
pub(super) fn build(cfg: &RocksdbSettings) -> Result<Built, StoreError> {
    // One block cache shared by every column family, so `block_cache` is the
    // store's total.
    let cache = cfg
        .block_cache
        .map(|b| Cache::new_lru_cache(usize::try_from(b).unwrap_or(usize::MAX)));
    let raw = if cfg.options.is_empty() {
        None
    } else {
        Some(
            option_string(&cfg.options).map_err(|detail| StoreError::Engine {
                op: "apply rocksdb options",
                detail,
            })?,
        )
    };
    let apply_raw = |mut o: Options| -> Result<Options, StoreError> {
        match &raw {
            None => Ok(o),
            Some(s) => o
                .get_options_from_string(s)
                .map_err(super::error::engine("apply rocksdb options")),
        }
    };

    let mut cfs = Vec::with_capacity(COLUMN_FAMILIES.len());
    for name in COLUMN_FAMILIES {
        let o = apply_raw(cf_options(cfg, name, cache.as_ref()))?;
        // A family's own raw options come last, over the store-wide ones.
        let o = match cfg.cf(name).filter(|c| !c.options.is_empty()) {
            None => o,
            Some(c) => {
                let s = option_string(&c.options).map_err(|detail| StoreError::Engine {
                    op: "apply rocksdb options",
                    detail: format!("column family `{name}`: {detail}"),
                })?;
                let mut o = o;
                o = o
                    .get_options_from_string(&s)
                    .map_err(super::error::engine("apply rocksdb options"))?;
                o
            }
        };
        cfs.push(ColumnFamilyDescriptor::new(name, o));
    }

    let mut db = cf_options(cfg, "default", cache.as_ref());
    db.create_if_missing(true);
    db.create_missing_column_families(true);
    db.enable_statistics();
    if let Some(j) = cfg.max_background_jobs {
        db.set_max_background_jobs(i32::try_from(j).unwrap_or(i32::MAX));
    }
    if let Some(b) = cfg.memory_budget {
        // A DB-wide cap on memtable memory: RocksDB flushes the largest
        // column family when the sum of all memtables reaches it.
        db.set_db_write_buffer_size(usize::try_from(b).unwrap_or(usize::MAX));
    }
    let db = apply_raw(db)?;

    let mut write = WriteOptions::default();
    write.set_sync(cfg.sync);
    write.disable_wal(cfg.disable_wal);
    Ok(Built { db, cfs, write })
}

/// Share of `memory_budget` each column family's memtables get. By
/// default the log and the key-value pairs (used by different workloads)
/// most of it, the tiny trim-point family a little (in sixteenths: 8, 6, 1,
/// and 1 for the unused `default`). When the scenario gives families a
/// `memory_share`, those families get it and the others split what is left
/// equally.
pub(super) fn budget_share(cfg: &RocksdbSettings, cf: &str) -> f64 {
    let given: Vec<(&str, f64)> = cfg
        .column_families
        .iter()
        .filter_map(|(n, c)| c.memory_share.map(|s| (n.as_str(), s)))
        .collect();
    if given.is_empty() {
        return match cf {
            CF_DATA => 8.0,
            CF_KV => 6.0,
            CF_METADATA => 1.0,
            _ => 1.0,
        } / 16.0;
    }
    if let Some((_, s)) = given.iter().find(|(n, _)| *n == cf) {
        return *s;
    }
    let left = (1.0 - given.iter().map(|(_, s)| s).sum::<f64>()).max(0.0);
    let others = COLUMN_FAMILIES.len().saturating_sub(given.len()).max(1);
    left / others as f64
}

fn compression(c: Compression) -> DBCompressionType {
    match c {
        Compression::None => DBCompressionType::None,
        Compression::Lz4 => DBCompressionType::Lz4,
        Compression::Zstd => DBCompressionType::Zstd,
    }
}

/// The memtable size of column family `cf`: its own `write_buffer_size`,
/// else the store-wide one, else its share of `memory_budget` over its
/// memtables (at least 64 KiB).
pub(super) fn memtable_size(cfg: &RocksdbSettings, cf: &str) -> Option<u64> {
    let own = cfg.cf(cf);
    let buffers = own
        .and_then(|c| c.max_write_buffer_number)
        .or(cfg.max_write_buffer_number)
        .map_or(DEFAULT_MAX_WRITE_BUFFERS, u64::from)
        .max(1);
    let shared = own.is_some_and(|c| c.memory_share.is_some());
    own.and_then(|c| c.write_buffer_size)
        .or(if shared { None } else { cfg.write_buffer_size })
        .or_else(|| {
            cfg.memory_budget
                .map(|b| ((b as f64 * budget_share(cfg, cf) / buffers as f64) as u64).max(64 << 10))
        })
}

/// The typed (non-raw) options of column family `cf`: the store-wide
/// fields, overridden by the family's own where it has them.
fn cf_options(cfg: &RocksdbSettings, cf: &str, cache: Option<&Cache>) -> Options {
    let own: Option<&CfSettings> = cfg.cf(cf);
    let mut o = Options::default();
    let comp = own.and_then(|c| c.compression).or(cfg.compression);
    o.set_compression_type(compression(comp.unwrap_or(Compression::None)));
    let per_level = match own {
        Some(c) if !c.compression_per_level.is_empty() => &c.compression_per_level,
        _ => &cfg.compression_per_level,
    };
    if !per_level.is_empty() {
        let levels: Vec<DBCompressionType> = per_level.iter().map(|c| compression(*c)).collect();
        o.set_compression_per_level(&levels);
    }
    if let Some(n) = own
        .and_then(|c| c.max_write_buffer_number)
        .or(cfg.max_write_buffer_number)
    {
        o.set_max_write_buffer_number(i32::try_from(n).unwrap_or(i32::MAX));
    }
    if let Some(b) = memtable_size(cfg, cf) {
        o.set_write_buffer_size(usize::try_from(b).unwrap_or(usize::MAX));
    }
    if let Some(b) = own
        .and_then(|c| c.target_file_size)
        .or(cfg.target_file_size)
    {
        o.set_target_file_size_base(b);
    }
    if let Some(n) = own.and_then(|c| c.num_levels) {
        o.set_num_levels(i32::try_from(n).unwrap_or(i32::MAX));
    }
    if let Some(n) = own.and_then(|c| c.prefix_length) {
        o.set_prefix_extractor(SliceTransform::create_fixed_prefix(n as usize));
    }
    if let Some(n) = cfg.level0_file_num_compaction_trigger {
        o.set_level_zero_file_num_compaction_trigger(i32::try_from(n).unwrap_or(i32::MAX));
    }
    if let Some(n) = cfg.level0_slowdown_writes_trigger {
        o.set_level_zero_slowdown_writes_trigger(i32::try_from(n).unwrap_or(i32::MAX));
    }
    if let Some(n) = cfg.level0_stop_writes_trigger {
        o.set_level_zero_stop_writes_trigger(i32::try_from(n).unwrap_or(i32::MAX));
    }
    let mut table = BlockBasedOptions::default();
    match own.and_then(|c| c.block_cache) {
        Some(b) => {
            table.set_block_cache(&Cache::new_lru_cache(
                usize::try_from(b).unwrap_or(usize::MAX),
            ));
        }
        None => {
            if let Some(c) = cache {
                table.set_block_cache(c);
            }
        }
    }
    if let Some(bits) = own.and_then(|c| c.bloom_bits).or(cfg.bloom_bits) {
        table.set_bloom_filter(bits, false);
    }
    o.set_block_based_table_factory(&table);
    if cf == CF_METADATA {
        o.set_merge_operator_associative(MAX_MERGE_NAME, max_merge);
    }
    o
}
