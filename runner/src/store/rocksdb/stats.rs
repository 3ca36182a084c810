//! The `rocksdb` target's statistics: the list it reports under
//! `target.store.*` and the snapshot built from RocksDB's tickers
//! (`Options::enable_statistics`) and DB properties.
//!
//! Owns the names, units and meaning of every statistic; it reads RocksDB's
//! counters and never times or counts anything itself (the store hands it
//! the user bytes it kept under its stream locks and its measured open time).

use std::collections::BTreeMap;

use rocksdb::statistics::{Histogram, Ticker};
use rocksdb::{DB, Options, properties};

use super::layout::COLUMN_FAMILIES;
use crate::store::api::{StatDesc, StatUnit, StoreSeries, StoreStats};

/// Number of LSM levels reported as `files_l0` … `files_l6`.
const LEVELS: usize = 7;

/// Statistics the RocksDB store reports under `target.store.*`.
pub(crate) const STATS: &[StatDesc] = &[
    StatDesc {
        name: "stall_micros",
        unit: StatUnit::Micros,
        help: "time writers were delayed or stopped by flush and compaction backlog (rocksdb.stall.micros)",
    },
    StatDesc {
        name: "wal_syncs",
        unit: StatUnit::Count,
        help: "WAL file syncs (rocksdb.wal.synced)",
    },
    StatDesc {
        name: "wal_bytes",
        unit: StatUnit::Bytes,
        help: "bytes written to the WAL (rocksdb.wal.bytes)",
    },
    StatDesc {
        name: "flush_bytes",
        unit: StatUnit::Bytes,
        help: "bytes written by memtable flushes (rocksdb.flush.write.bytes)",
    },
    StatDesc {
        name: "compaction_read_bytes",
        unit: StatUnit::Bytes,
        help: "bytes read by compactions (rocksdb.compact.read.bytes)",
    },
    StatDesc {
        name: "compaction_write_bytes",
        unit: StatUnit::Bytes,
        help: "bytes written by compactions (rocksdb.compact.write.bytes)",
    },
    StatDesc {
        name: "block_cache_hits",
        unit: StatUnit::Count,
        help: "block cache hits (rocksdb.block.cache.hit)",
    },
    StatDesc {
        name: "block_cache_misses",
        unit: StatUnit::Count,
        help: "block cache misses (rocksdb.block.cache.miss)",
    },
    StatDesc {
        name: "block_cache_hit_rate",
        unit: StatUnit::Ratio,
        help: "block cache hits / (hits + misses); 0 before any block is read",
    },
    StatDesc {
        name: "ingest_bytes",
        unit: StatUnit::Bytes,
        help: "key and value bytes handed to RocksDB writes, headers included (rocksdb.bytes.written)",
    },
    StatDesc {
        name: "user_bytes",
        unit: StatUnit::Bytes,
        help: "payload bytes written by the workload: record bodies appended plus keys and values put",
    },
    StatDesc {
        name: "write_amplification",
        unit: StatUnit::Ratio,
        help: "(flush + compaction bytes written) / user_bytes; 0 before any user byte",
    },
    StatDesc {
        name: "live_sst_bytes",
        unit: StatUnit::Bytes,
        help: "size of the live SST files, all column families (rocksdb.live-sst-files-size)",
    },
    StatDesc {
        name: "pending_compaction_bytes",
        unit: StatUnit::Bytes,
        help: "estimated bytes compaction still has to rewrite (rocksdb.estimate-pending-compaction-bytes)",
    },
    StatDesc {
        name: "memtable_bytes",
        unit: StatUnit::Bytes,
        help: "size of the active and unflushed memtables (rocksdb.cur-size-all-mem-tables)",
    },
    StatDesc {
        name: "files_l0",
        unit: StatUnit::Count,
        help: "SST files at level 0",
    },
    StatDesc {
        name: "files_l1",
        unit: StatUnit::Count,
        help: "SST files at level 1",
    },
    StatDesc {
        name: "files_l2",
        unit: StatUnit::Count,
        help: "SST files at level 2",
    },
    StatDesc {
        name: "files_l3",
        unit: StatUnit::Count,
        help: "SST files at level 3",
    },
    StatDesc {
        name: "files_l4",
        unit: StatUnit::Count,
        help: "SST files at level 4",
    },
    StatDesc {
        name: "files_l5",
        unit: StatUnit::Count,
        help: "SST files at level 5",
    },
    StatDesc {
        name: "files_l6",
        unit: StatUnit::Count,
        help: "SST files at level 6",
    },
    StatDesc {
        name: "reopen_nanos",
        unit: StatUnit::Nanos,
        help: "time the last open of the database took (WAL replay included)",
    },
    StatDesc {
        name: "write_stopped",
        unit: StatUnit::Count,
        help: "1 while writes are stopped by flush or compaction backlog, else 0 (rocksdb.is-write-stopped, any column family)",
    },
];

/// The ratios of [`STATS`] and the counters they are computed from.
pub(crate) const RATIO_STATS: &[crate::store::RatioStat] = &[
    crate::store::RatioStat {
        name: "write_amplification",
        numerator: &["flush_bytes", "compaction_write_bytes"],
        denominator: &["user_bytes"],
    },
    crate::store::RatioStat {
        name: "block_cache_hit_rate",
        numerator: &["block_cache_hits"],
        denominator: &["block_cache_hits", "block_cache_misses"],
    },
];

/// The statistics of [`STATS`] that are levels (values at a moment), not
/// counters: a phase reports their value at its end.
pub(crate) const LEVEL_STATS: &[&str] = &[
    "live_sst_bytes",
    "pending_compaction_bytes",
    "memtable_bytes",
    "files_l0",
    "files_l1",
    "files_l2",
    "files_l3",
    "files_l4",
    "files_l5",
    "files_l6",
    "reopen_nanos",
    "write_stopped",
];

/// A snapshot with every name in [`STATS`]. `user_bytes` and `reopen_nanos`
/// come from the store; with `raw` the appendix holds RocksDB's own text
/// (`rocksdb.cfstats` per column family, `rocksdb.dbstats`, every ticker).
pub(super) fn snapshot(
    db: &DB,
    opts: &Options,
    user_bytes: u64,
    reopen_nanos: u64,
    raw: bool,
) -> StoreStats {
    let tick = |t: Ticker| opts.get_ticker_count(t);
    let mut v: BTreeMap<String, f64> = BTreeMap::new();
    let mut put = |name: &str, x: f64| {
        v.insert(name.to_owned(), x);
    };
    let (hits, misses) = (tick(Ticker::BlockCacheHit), tick(Ticker::BlockCacheMiss));
    let (flush, compact_w) = (
        tick(Ticker::FlushWriteBytes),
        tick(Ticker::CompactWriteBytes),
    );
    put("stall_micros", tick(Ticker::StallMicros) as f64);
    put("wal_syncs", tick(Ticker::WalFileSynced) as f64);
    put("wal_bytes", tick(Ticker::WalFileBytes) as f64);
    put("flush_bytes", flush as f64);
    put(
        "compaction_read_bytes",
        tick(Ticker::CompactReadBytes) as f64,
    );
    put("compaction_write_bytes", compact_w as f64);
    put("block_cache_hits", hits as f64);
    put("block_cache_misses", misses as f64);
    put("block_cache_hit_rate", ratio(hits, hits + misses));
    put("ingest_bytes", tick(Ticker::BytesWritten) as f64);
    put("user_bytes", user_bytes as f64);
    put("write_amplification", ratio(flush + compact_w, user_bytes));
    put(
        "live_sst_bytes",
        sum_property(db, properties::LIVE_SST_FILES_SIZE) as f64,
    );
    put(
        "pending_compaction_bytes",
        sum_property(db, properties::ESTIMATE_PENDING_COMPACTION_BYTES) as f64,
    );
    put(
        "memtable_bytes",
        sum_property(db, properties::CUR_SIZE_ALL_MEM_TABLES) as f64,
    );
    for level in 0..LEVELS {
        put(
            &format!("files_l{level}"),
            sum_property(db, &properties::num_files_at_level(level)) as f64,
        );
    }
    put("reopen_nanos", reopen_nanos as f64);
    put(
        "write_stopped",
        f64::from(sum_property(db, properties::IS_WRITE_STOPPED) > 0),
    );
    StoreStats {
        values: v,
        appendix: raw.then(|| appendix(db, opts)),
    }
}

/// Integer properties served per column family on the live endpoint.
const CF_PROPERTIES: &[&str] = &[
    "rocksdb.num-files-at-level0",
    "rocksdb.num-files-at-level1",
    "rocksdb.num-files-at-level2",
    "rocksdb.num-files-at-level3",
    "rocksdb.num-files-at-level4",
    "rocksdb.num-files-at-level5",
    "rocksdb.num-files-at-level6",
    "rocksdb.estimate-pending-compaction-bytes",
    "rocksdb.live-sst-files-size",
    "rocksdb.total-sst-files-size",
    "rocksdb.cur-size-all-mem-tables",
    "rocksdb.size-all-mem-tables",
    "rocksdb.num-immutable-mem-table",
    "rocksdb.mem-table-flush-pending",
    "rocksdb.compaction-pending",
    "rocksdb.num-running-compactions",
    "rocksdb.num-running-flushes",
    "rocksdb.estimate-num-keys",
    "rocksdb.is-write-stopped",
    "rocksdb.actual-delayed-write-rate",
    "rocksdb.block-cache-usage",
];

/// Every ticker, every histogram with data and the integer properties of
/// every column family, as they are now: what the log-server bench's
/// endpoint shows, for `loadline run --metrics-addr`.
pub(super) fn series(db: &DB, opts: &Options) -> Vec<StoreSeries> {
    let mut out = Vec::new();
    for t in Ticker::iter() {
        out.push(StoreSeries {
            family: "rocksdb_ticker",
            help: "RocksDB ticker (Options::enable_statistics), by name",
            labels: vec![("ticker", t.name().to_owned())],
            counter: true,
            value: opts.get_ticker_count(*t) as f64,
        });
    }
    for h in Histogram::iter() {
        let d = opts.get_histogram_data(*h);
        if d.count() == 0 {
            continue;
        }
        for (stat, v) in [
            ("p50", d.median()),
            ("p95", d.p95()),
            ("p99", d.p99()),
            ("max", d.max()),
            ("mean", d.average()),
            ("count", d.count() as f64),
            ("sum", d.sum() as f64),
        ] {
            out.push(StoreSeries {
                family: "rocksdb_distribution",
                help: "RocksDB histogram (label histogram) statistic (label stat: p50, p95, p99, max, mean in the histogram's unit, mostly micros; count; sum)",
                labels: vec![("histogram", h.name().to_owned()), ("stat", stat.to_owned())],
                counter: false,
                value: v,
            });
        }
    }
    for name in COLUMN_FAMILIES {
        let Some(cf) = db.cf_handle(name) else {
            continue;
        };
        for p in CF_PROPERTIES {
            if let Ok(Some(v)) = db.property_int_value_cf(cf, *p) {
                out.push(StoreSeries {
                    family: "rocksdb_cf_property",
                    help: "RocksDB integer property of a column family (labels cf, property)",
                    labels: vec![("cf", (*name).to_owned()), ("property", (*p).to_owned())],
                    counter: false,
                    value: v as f64,
                });
            }
        }
    }
    out
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

/// The sum of an integer property over every column family (a property that
/// cannot be read counts as 0: statistics never fail a run).
fn sum_property(db: &DB, name: &properties::PropName) -> u64 {
    COLUMN_FAMILIES
        .iter()
        .filter_map(|cf| db.cf_handle(cf))
        .filter_map(|cf| db.property_int_value_cf(cf, name).ok().flatten())
        .sum()
}

fn appendix(db: &DB, opts: &Options) -> String {
    let mut out = String::new();
    for name in COLUMN_FAMILIES {
        if let Some(cf) = db.cf_handle(name)
            && let Ok(Some(text)) = db.property_value_cf(cf, "rocksdb.cfstats")
        {
            out.push_str(&format!("== column family `{name}` (rocksdb.cfstats) ==\n"));
            out.push_str(&text);
            out.push('\n');
        }
    }
    if let Ok(Some(text)) = db.property_value(properties::DBSTATS) {
        out.push_str("== rocksdb.dbstats ==\n");
        out.push_str(&text);
        out.push('\n');
    }
    if let Some(text) = opts.get_statistics() {
        out.push_str("== statistics (tickers and histograms) ==\n");
        out.push_str(&text);
    }
    out
}
