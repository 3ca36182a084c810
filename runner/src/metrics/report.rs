//! The one serializable [`RunReport`]: everything a run measured, computed
//! once and read by every output (CSV, JSON, JUnit, Markdown, console).
//!
//! Owns the report's shape, units in field names (`p99_ns`,
//! `bytes_per_s`), metric lookup by path for assertions, and the flat rows
//! of `results.csv`. It does not measure (see `recorder`) or format (see
//! `report/`).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::catalog::{MetricUnit, PROCESS_METRICS};
use crate::metrics::catalog::MetricRef;
use crate::metrics::verdict::AssertionResult;
use crate::store::StoreStats;

pub use super::samples::{IntervalReport, MemoryStats, PhaseProcess, PhaseSample};

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Still running (a report written after a phase).
    Running,
    /// Every phase ran.
    Complete,
    /// Stopped by Ctrl-C; finished phases are kept.
    Interrupted,
    /// Stopped by a store or I/O error; finished phases are kept.
    Failed,
}

/// The version of the `run.json` format this build writes and reads.
/// Bumped on any change a reader must know about; `schemas/run.schema.json`
/// is generated from these types.
pub const RUN_FORMAT_VERSION: u32 = 1;

/// Where `loadline schema --write` puts the schema of `run.json`.
pub const RUN_SCHEMA_PATH: &str = "schemas/run.schema.json";

/// `run.json` could not be read back.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a `run.json` of a known shape.
    #[error("{}: not a loadline run.json: {source}", path.display())]
    Parse {
        /// The file.
        path: std::path::PathBuf,
        /// serde_json's error, with line and column.
        #[source]
        source: serde_json::Error,
    },
    /// Written by a loadline with another format version.
    #[error(
        "{}: run.json format_version {found}; this loadline reads version {RUN_FORMAT_VERSION}",
        path.display()
    )]
    Version {
        /// The file.
        path: std::path::PathBuf,
        /// The version it declares.
        found: u64,
    },
}

/// The whole run: what `run.json` holds, written by every run and read
/// back by [`RunReport::read`].
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[schemars(title = "loadline run.json")]
pub struct RunReport {
    /// Version of this format ([`RUN_FORMAT_VERSION`]).
    pub format_version: u32,
    /// loadline version and git revision.
    pub loadline_version: String,
    /// Scenario name.
    pub scenario: String,
    /// Scenario description.
    pub description: Option<String>,
    /// The scenario file.
    pub file: String,
    /// The scenario file's content hash and git commit (absent in reports
    /// written before loadline recorded them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<ScenarioSource>,
    /// The seed every random stream derives from.
    pub seed: u64,
    /// UTC start time, RFC 3339.
    pub started_at: String,
    /// UTC end time, RFC 3339 (absent while running).
    pub finished_at: Option<String>,
    /// How the run ended.
    pub status: RunStatus,
    /// The error that stopped the run, if any.
    pub error: Option<String>,
    /// The signal that stopped an interrupted run: `SIGINT`, `SIGTERM` or
    /// `SIGHUP` (`null` otherwise).
    pub stopped_by: Option<String>,
    /// Where and on what it ran.
    pub environment: Environment,
    /// One entry per matrix variant (one when there is no matrix).
    pub variants: Vec<VariantReport>,
    /// `--repeat N` (or `repeat:`) with N > 1: how many rounds were planned
    /// and ran, and the target order of each. Every metric's per-round
    /// values are in its target's `spread`; the metrics themselves are the
    /// medians. Absent for a single round.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeat: Option<RepeatInfo>,
    /// `--shard I/N`: which part of the (variant × target) cells this run
    /// holds. Absent for an unsharded run (and for the output of `merge`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<ShardInfo>,
    /// `--phase` filter the run was started with (empty: every phase), so
    /// `merge` judges assertions as the run did.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub only_phases: Vec<String>,
    /// `--target` filter the run was started with (empty: every target).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub only_targets: Vec<String>,
    /// `loadline merge`: the run directories this report was merged from,
    /// in the order given.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub merged_from: Vec<MergedInput>,
}

/// Where the scenario came from: the file's content hash, and the git
/// commit of the repository holding it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ScenarioSource {
    /// SHA-256 of the scenario file's bytes as read (before `--set`
    /// overrides and profiles), lowercase hex: what `sha256sum FILE` prints.
    pub sha256: String,
    /// The commit checked out in the git repository holding the file
    /// (`git rev-parse HEAD`); absent outside a checkout or without `git`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_commit: Option<String>,
    /// True when the file differs from that commit (modified or not
    /// tracked), so `git_commit` alone does not reproduce it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_modified: Option<bool>,
}

/// Rounds of a repeated run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RepeatInfo {
    /// Rounds asked for (`--repeat N`).
    pub rounds: u32,
    /// Rounds that ran to their end (fewer when the run stopped early; a
    /// merge of repeated runs adds theirs up).
    pub completed: u32,
    /// Each round's target order (rotated by one between rounds, so a
    /// noisy minute hits every target), as target names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub orders: Vec<Vec<String>>,
}

/// The part of the cells a sharded run holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ShardInfo {
    /// This shard, 1-based.
    pub index: u32,
    /// Number of shards.
    pub count: u32,
    /// The cells of this shard: variant label (empty without a matrix) and target name.
    pub cells: Vec<CellId>,
}

/// One (variant × target) cell.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
pub struct CellId {
    /// Variant label (empty without a matrix).
    pub variant: String,
    /// Target name.
    pub target: String,
}

/// One input of `loadline merge`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MergedInput {
    /// The `run.json` read.
    pub path: String,
    /// Its shard (`2/3`), if it was one.
    pub shard: Option<String>,
    /// The host it ran on.
    pub hostname: String,
    /// When it started (UTC, RFC 3339).
    pub started_at: String,
}

/// A metric over the rounds of a repeated run: its per-round values and
/// their median, range and a distribution-free confidence interval of the
/// median.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Spread {
    /// The value of each round that measured it, in round order (a merge
    /// of repeated runs appends the runs' rounds in the order given).
    pub values: Vec<f64>,
    /// Median of `values` (the mean of the middle two for an even count):
    /// what the metric reports and what assertions judge — except for a
    /// maximum (`max`, `service.max`, `per_record.max`, `reopen.max`),
    /// which reports the largest of the rounds (`max` below).
    pub median: f64,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
    /// Lower end of the confidence interval of the median: an order
    /// statistic of `values` chosen from the binomial distribution
    /// (no assumption about the shape of the distribution).
    pub ci_low: f64,
    /// Upper end of the confidence interval of the median.
    pub ci_high: f64,
    /// The interval's confidence: the smallest interval of order
    /// statistics with at least 95 %; with fewer than 6 rounds no interval
    /// reaches 95 % and this is `[min, max]` with its lower confidence
    /// (75 % for 3 rounds, 87.5 % for 4, 93.75 % for 5).
    pub ci_level: f64,
}

impl Spread {
    /// What the metric at `path` reports over the rounds: the median, except
    /// for a maximum (`….max`, `….service.max`, `….per_record.max`), which
    /// is the largest of the rounds' maxima — the median of maxima would
    /// hide the worst operation of every other round.
    pub fn reported(&self, path: &str) -> f64 {
        if is_maximum(path) {
            self.max
        } else {
            self.median
        }
    }
}

/// True when the metric at `path` is a maximum (its last part is `max`).
pub fn is_maximum(path: &str) -> bool {
    path.rsplit('.').next() == Some("max")
}

/// The machine and build a run happened on.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct Environment {
    /// Host name.
    pub hostname: String,
    /// Kernel release (`uname -r`).
    pub kernel: String,
    /// OS name.
    pub os: String,
    /// CPU model.
    pub cpu_model: String,
    /// Logical cores.
    pub cores: usize,
    /// Total memory in bytes.
    pub memory_bytes: u64,
    /// rustc that built loadline.
    pub rustc: String,
    /// Filesystem type of the data directory (e.g. `ext4`, `tmpfs`).
    pub filesystem: String,
    /// Data directory.
    pub data_dir: String,
}

/// One matrix variant.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct VariantReport {
    /// Label such as `size=1KiB,batch=10` (empty without a matrix).
    pub label: String,
    /// Matrix key and value of each dimension.
    pub settings: Vec<(String, serde_json::Value)>,
    /// The resolved scenario document of this variant.
    pub resolved: serde_json::Value,
    /// Payload compressibility, checked after generation.
    pub payloads: Vec<PayloadReport>,
    /// One entry per target.
    pub targets: Vec<TargetReport>,
    /// Every assertion on every target.
    pub assertions: Vec<AssertionResult>,
}

/// Requested entropy vs achieved compression of one payload.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct PayloadReport {
    /// Payload name.
    pub name: String,
    /// Requested entropy (0..=1).
    pub requested_entropy: f64,
    /// zstd compressed/original ratio of a sample.
    pub zstd_ratio: f64,
    /// lz4 compressed/original ratio of a sample.
    pub lz4_ratio: f64,
    /// Bytes sampled.
    pub sample_bytes: u64,
    /// Bytes the pool (or mapped file) holds.
    pub memory_bytes: u64,
    /// The warning printed when the achieved ratio disagrees with the request.
    pub warning: Option<String>,
}

/// Results on one target.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct TargetReport {
    /// Target name.
    pub name: String,
    /// Store kind (`wal`, `rocksdb`, `memory`).
    pub kind: String,
    /// What the store runs on, as it said when opened (`RocksDB 11.8.1`);
    /// absent for loadline's own stores.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub software: Option<String>,
    /// Phases in run order (warmup phases included, flagged).
    pub phases: Vec<PhaseReport>,
    /// The store's statistics at the end of the run.
    pub store: StoreStats,
    /// The unit of each statistic the store kind declares (so reports
    /// format plug-in kinds' statistics too).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub store_units: BTreeMap<String, crate::store::StatUnit>,
    /// Process statistics over this target's phases.
    pub process: ProcessStats,
    /// The error that stopped this target, if any.
    pub error: Option<String>,
    /// With more than one round: every measured metric's per-round values
    /// and spread, keyed by its assertion path (`write.append.p99`,
    /// `write.duration`, `target.store.fsyncs`, `target.process.cpu_user`);
    /// the metric fields above hold the medians. Empty for one round.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub spread: BTreeMap<String, Spread>,
}

/// Process statistics from `/proc`, as deltas over a target's run.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, JsonSchema)]
pub struct ProcessStats {
    /// User CPU time, ns.
    pub cpu_user_ns: u64,
    /// System CPU time, ns.
    pub cpu_sys_ns: u64,
    /// Peak resident set size of the process, bytes: the high-water mark
    /// since the process started, so the same or growing on every target
    /// of a run (see `rss_bytes` and `memory` for this target's).
    pub peak_rss_bytes: u64,
    /// Resident set size at the end of this target's last phase, bytes
    /// (`VmRSS`), before its store is closed.
    #[serde(default)]
    pub rss_bytes: u64,
    /// jemalloc's view at the end of this target's last phase, before its
    /// store is closed (absent in builds without the `jemalloc` feature).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<MemoryStats>,
    /// Bytes read from storage.
    pub disk_read_bytes: u64,
    /// Bytes written to storage.
    pub disk_write_bytes: u64,
}

/// Store and process statistics of one phase.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PhaseStats {
    /// Store statistics addressable as `<phase>.store.<stat>`: for counters
    /// the change over the phase (so `write.store.records` counts this
    /// phase's records only), for levels (gauges and ratios) the value at
    /// the phase's end.
    pub store: BTreeMap<String, f64>,
    /// Process statistics addressable as `<phase>.process.<metric>`
    /// (absent for crash and power-loss phases, whose work is a child's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process: Option<PhaseProcess>,
    /// The same, sampled at every interval boundary of the phase.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub timeline: Vec<PhaseSample>,
}

/// Results of one phase on one target.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct PhaseReport {
    /// Phase name.
    pub name: String,
    /// Excluded from results and assertions.
    pub warmup: bool,
    /// Wall-clock duration, ns.
    pub duration_ns: u64,
    /// Why the phase ended: `records`, `duration`, `interrupted`, `error`, `done`,
    /// or `crash` (crash and power-loss phases).
    pub ended_by: String,
    /// One entry per actor.
    pub actors: Vec<ActorReport>,
    /// Phase-level metrics (e.g. `reopen.duration` in ns, `lost_records`).
    pub metrics: BTreeMap<String, f64>,
    /// Store and process statistics of the phase, and their timeline.
    #[serde(default)]
    pub stats: PhaseStats,
    /// The phase began with the target's files evicted from the page cache
    /// (`cache: cold`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub began_cold: bool,
}

/// Latency statistics in nanoseconds.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct Latency {
    /// Mean, ns.
    pub mean_ns: f64,
    /// Median, ns.
    pub p50_ns: u64,
    /// 90th percentile, ns.
    pub p90_ns: u64,
    /// 99th percentile, ns.
    pub p99_ns: u64,
    /// 99.9th percentile, ns.
    pub p999_ns: u64,
    /// 99.99th percentile, ns.
    pub p9999_ns: u64,
    /// Maximum, ns.
    pub max_ns: u64,
}

impl Latency {
    /// The statistic called `name` (`mean`, `p50` … `max`), in ns.
    pub fn get(&self, name: &str) -> Option<f64> {
        Some(match name {
            "mean" => self.mean_ns,
            "p50" => self.p50_ns as f64,
            "p90" => self.p90_ns as f64,
            "p99" => self.p99_ns as f64,
            "p999" => self.p999_ns as f64,
            "p9999" => self.p9999_ns as f64,
            "max" => self.max_ns as f64,
            _ => return None,
        })
    }
}

/// Results of one actor in one phase on one target.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ActorReport {
    /// Actor name.
    pub name: String,
    /// Operation.
    pub op: String,
    /// Worker threads.
    pub workers: usize,
    /// Target rate (ops/s) for open-loop actors.
    pub rate_per_s: Option<f64>,
    /// Operations completed.
    pub count: u64,
    /// Records appended, read or written.
    pub records: u64,
    /// Body bytes appended or read.
    pub bytes: u64,
    /// Operations that returned an error.
    pub errors: u64,
    /// Open loop: operations that started later than intended.
    pub late: u64,
    /// Gets only: operations that found their key (the rest of `count`
    /// missed it, or failed: `errors`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hits: Option<u64>,
    /// Time the actor ran, ns.
    pub duration_ns: u64,
    /// Records per second.
    pub records_per_s: f64,
    /// Operations (batches) per second.
    pub batches_per_s: f64,
    /// Body bytes per second.
    pub bytes_per_s: f64,
    /// Latency; under a rate, measured from each op's intended start.
    pub latency: Latency,
    /// Open loop only: service time, measured from the actual start.
    pub service: Option<Latency>,
    /// The latency histogram, HDR V2 serialized and base64 encoded, so
    /// percentiles can be recomputed later.
    pub histogram: String,
    /// The service-time histogram, same encoding.
    pub service_histogram: Option<String>,
    /// The first error message, when there were errors.
    pub first_error: Option<String>,
    /// One entry per interval (`--interval`, `interval:`; 1 s by default)
    /// from the phase start: what the actor did in it. The intervals'
    /// `ops`, `records`, `bytes` and `errors` add up exactly to the
    /// actor's totals. Empty for crash phases.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub timeline: Vec<IntervalReport>,
}

impl ActorReport {
    /// The per-actor metric called `name` (`p99`, `service.p99`, `records` …).
    pub fn metric(&self, name: &str) -> Option<f64> {
        if super::catalog::split_trend(name).is_some() {
            return super::series::actor_trend(&self.timeline, name);
        }
        if let Some(s) = name.strip_prefix("service.") {
            return self.service.and_then(|l| l.get(s));
        }
        if let Some(s) = name.strip_prefix("per_record.") {
            // Each op's latency shared by the records it carried (batches
            // of 10 at 8 µs are 0.8 µs a record): the op statistic times
            // ops / records.
            if self.records == 0 {
                return None;
            }
            return self
                .latency
                .get(s)
                .map(|v| v * self.count as f64 / self.records as f64);
        }
        Some(match name {
            "count" => self.count as f64,
            "records" => self.records as f64,
            "bytes" => self.bytes as f64,
            "errors" => self.errors as f64,
            "late" => self.late as f64,
            "hits" => self.hits? as f64,
            "misses" => self.count.saturating_sub(self.hits? + self.errors) as f64,
            "hit_ratio" => {
                let hits = self.hits? as f64;
                let done = self.count.saturating_sub(self.errors);
                if done == 0 {
                    return None;
                }
                hits / done as f64
            }
            "duration" => self.duration_ns as f64,
            "records_per_s" => self.records_per_s,
            "batches_per_s" => self.batches_per_s,
            "bytes_per_s" => self.bytes_per_s,
            other => return self.latency.get(other),
        })
    }
}

impl ProcessStats {
    /// The process metric called `name`.
    pub fn metric(&self, name: &str) -> Option<f64> {
        Some(match name {
            "cpu_user" => self.cpu_user_ns as f64,
            "cpu_sys" => self.cpu_sys_ns as f64,
            "peak_rss" => self.peak_rss_bytes as f64,
            "rss" => self.rss_bytes as f64,
            "disk_read_bytes" => self.disk_read_bytes as f64,
            "disk_write_bytes" => self.disk_write_bytes as f64,
            other => return self.memory.and_then(|m| m.metric(other)),
        })
    }
}

impl TargetReport {
    /// The unit of store statistic `name`: as the target's kind declared
    /// it, else as a built-in kind of the same name declares it.
    pub fn store_unit(&self, name: &str) -> Option<MetricUnit> {
        self.store_units
            .get(name)
            .copied()
            .or_else(|| crate::store::stat_desc(&self.kind, name).map(|d| d.unit))
            .map(super::catalog::stat_unit)
    }

    /// The unit of a phase's series `store.<stat>` or `process.<metric>`.
    fn series_unit(&self, series: &str) -> Option<MetricUnit> {
        if let Some(stat) = series.strip_prefix("store.") {
            self.store_unit(stat)
        } else {
            let m = series.strip_prefix("process.")?;
            super::catalog::PHASE_PROCESS_METRICS
                .iter()
                .find(|(n, _)| *n == m)
                .map(|(_, u)| *u)
        }
    }

    /// Every metric of its measured (non-warmup) phases and its target
    /// totals, in `results.csv` order, with the values this report holds
    /// (for a folded report, see [`TargetReport::spread`] for the medians).
    pub fn measured(&self) -> Vec<MetricValue> {
        let mut out = Vec::new();
        let mut push = |phase: &str, actor: &str, metric: &str, value: f64, unit: MetricUnit| {
            out.push(MetricValue {
                phase: phase.to_owned(),
                actor: actor.to_owned(),
                metric: metric.to_owned(),
                value,
                unit,
            });
        };
        for p in self.phases.iter().filter(|p| !p.warmup) {
            push(
                &p.name,
                "",
                "duration",
                p.duration_ns as f64,
                MetricUnit::Nanos,
            );
            for (k, val) in &p.metrics {
                let unit = super::catalog::phase_metric_unit(k).unwrap_or(MetricUnit::Count);
                push(&p.name, "", k, *val, unit);
            }
            for (k, val) in &p.stats.store {
                let unit = self.store_unit(k).unwrap_or(MetricUnit::Count);
                push(&p.name, "store", k, *val, unit);
            }
            for (name, unit) in super::catalog::PHASE_PROCESS_METRICS {
                if let Some(val) = p.stats.process.as_ref().and_then(|x| x.metric(name)) {
                    push(&p.name, "process", name, val, *unit);
                }
            }
            for (name, unit) in super::series::listed_phase_trends(&p.stats.timeline) {
                if let Some(val) = super::series::phase_trend(
                    &p.stats.timeline,
                    &name,
                    unit.slope_of().unwrap_or(unit),
                ) {
                    let name = name.strip_prefix("process.").unwrap_or(&name);
                    push(&p.name, "process", name, val, unit);
                }
            }
            for a in &p.actors {
                for (name, unit) in super::catalog::ACTOR_METRICS {
                    if let Some(val) = a.metric(name) {
                        push(&p.name, &a.name, name, val, *unit);
                    }
                }
                for (name, unit) in super::series::listed_actor_trends(&a.timeline) {
                    if let Some(val) = a.metric(&name) {
                        push(&p.name, &a.name, &name, val, unit);
                    }
                }
                if a.records > a.count {
                    // Batched ops: latency amortized per record.
                    for name in super::catalog::LATENCY_METRICS {
                        let key = format!("per_record.{name}");
                        if let Some(val) = a.metric(&key) {
                            push(&p.name, &a.name, &key, val, MetricUnit::Nanos);
                        }
                    }
                }
                if a.service.is_some() {
                    for name in super::catalog::LATENCY_METRICS {
                        let key = format!("service.{name}");
                        if let Some(val) = a.metric(&key) {
                            push(&p.name, &a.name, &key, val, MetricUnit::Nanos);
                        }
                    }
                }
            }
        }
        for (name, unit) in PROCESS_METRICS {
            if let Some(val) = self.process.metric(name) {
                push("target", "process", name, val, *unit);
            }
        }
        for (name, val) in &self.store.values {
            let unit = self.store_unit(name).unwrap_or(MetricUnit::Count);
            push("target", "store", name, *val, unit);
        }
        out
    }

    /// The value of a metric on this target; `None` when it does not exist
    /// here (e.g. a RocksDB statistic on a WAL target, or a phase that did
    /// not run). With rounds, the median of the rounds (a maximum: the
    /// largest of the rounds').
    pub fn lookup(&self, metric: &MetricRef) -> Option<f64> {
        if !self.spread.is_empty() {
            let path = metric_path(metric);
            if let Some(s) = self.spread.get(&path) {
                return Some(s.reported(&path));
            }
        }
        match metric {
            MetricRef::Actor {
                phase,
                actor,
                metric,
            } => self
                .phases
                .iter()
                .find(|p| &p.name == phase)?
                .actors
                .iter()
                .find(|a| &a.name == actor)?
                .metric(metric),
            MetricRef::Phase { phase, metric } => {
                let p = self.phases.iter().find(|p| &p.name == phase)?;
                if let Some((series, _)) = super::catalog::split_trend(metric) {
                    let unit = self.series_unit(series)?;
                    super::series::phase_trend(&p.stats.timeline, metric, unit)
                } else if metric == "duration" {
                    Some(p.duration_ns as f64)
                } else if let Some(stat) = metric.strip_prefix("store.") {
                    p.stats.store.get(stat).copied()
                } else if let Some(m) = metric.strip_prefix("process.") {
                    p.stats.process.as_ref().and_then(|x| x.metric(m))
                } else {
                    p.metrics.get(metric).copied()
                }
            }
            MetricRef::Store { stat } => self.store.values.get(stat).copied(),
            MetricRef::Process { metric } => self.process.metric(metric),
        }
    }
}

/// One measured metric of a target, as [`TargetReport::measured`] lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricValue {
    /// Phase name (`target` for target-level metrics).
    pub phase: String,
    /// Actor name (`store` or `process` for target-level metrics; empty
    /// for phase-level metrics).
    pub actor: String,
    /// Metric name.
    pub metric: String,
    /// Value in base units, as this report holds it.
    pub value: f64,
    /// Unit.
    pub unit: MetricUnit,
}

impl MetricValue {
    /// Its assertion path: `write.append.p99`, `write.duration`, `target.store.fsyncs`.
    pub fn path(&self) -> String {
        if self.actor.is_empty() {
            format!("{}.{}", self.phase, self.metric)
        } else {
            format!("{}.{}.{}", self.phase, self.actor, self.metric)
        }
    }
}

/// The assertion path of `metric` (the key of [`TargetReport::spread`]).
pub fn metric_path(metric: &MetricRef) -> String {
    match metric {
        MetricRef::Actor {
            phase,
            actor,
            metric,
        } => format!("{phase}.{actor}.{metric}"),
        MetricRef::Phase { phase, metric } => format!("{phase}.{metric}"),
        MetricRef::Store { stat } => format!("target.store.{stat}"),
        MetricRef::Process { metric } => format!("target.process.{metric}"),
    }
}

/// One row of `results.csv`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct MetricRow {
    /// Variant label.
    pub variant: String,
    /// Target name.
    pub target: String,
    /// Phase name (`target` for target-level metrics).
    pub phase: String,
    /// Actor name (empty for phase- and target-level metrics).
    pub actor: String,
    /// Metric name.
    pub metric: String,
    /// Value in `unit`.
    pub value: f64,
    /// Unit (`ns`, `bytes`, `count`, `per_s`, `bytes_per_s`, `ratio`, `us`).
    pub unit: &'static str,
}

impl RunReport {
    /// The run's id, `<scenario>-<start as compact UTC>`
    /// (`quickstart-20261121T104207Z`): the name of its default output
    /// directory, and the `run_id` column of every CSV, so tables of many
    /// runs can be concatenated and joined (derived from `scenario` and
    /// `started_at`, which `run.json` holds).
    pub fn run_id(&self) -> String {
        let stamp: String = self
            .started_at
            .chars()
            .filter(|c| *c != '-' && *c != ':')
            .collect();
        format!("{}-{stamp}", self.scenario)
    }

    /// Reads a `run.json`, refusing other format versions with a message
    /// that names both.
    pub fn read(path: &std::path::Path) -> Result<RunReport, ReadError> {
        let text = std::fs::read_to_string(path).map_err(|source| ReadError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_json(&text, path)
    }

    /// Parses `run.json` text (`path` names it in errors).
    pub fn from_json(text: &str, path: &std::path::Path) -> Result<RunReport, ReadError> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|source| ReadError::Parse {
                path: path.to_path_buf(),
                source,
            })?;
        let found = value
            .get("format_version")
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(0);
        if found != u64::from(RUN_FORMAT_VERSION) {
            return Err(ReadError::Version {
                path: path.to_path_buf(),
                found,
            });
        }
        serde_json::from_value(value).map_err(|source| ReadError::Parse {
            path: path.to_path_buf(),
            source,
        })
    }

    /// The JSON Schema of `run.json` (draft 2020-12), as committed in
    /// `schemas/run.schema.json`.
    pub fn schema() -> serde_json::Value {
        serde_json::to_value(schemars::schema_for!(RunReport)).unwrap_or_default()
    }

    /// Every metric of every measured (non-warmup) phase, one row each;
    /// with rounds, the value is the median of the rounds (a maximum: the
    /// largest of the rounds').
    pub fn rows(&self) -> Vec<MetricRow> {
        let mut rows = Vec::new();
        for v in &self.variants {
            for t in &v.targets {
                for m in t.measured() {
                    let path = m.path();
                    let value = t.spread.get(&path).map_or(m.value, |s| s.reported(&path));
                    rows.push(MetricRow {
                        variant: v.label.clone(),
                        target: t.name.clone(),
                        phase: m.phase,
                        actor: m.actor,
                        metric: m.metric,
                        value,
                        unit: m.unit.label(),
                    });
                }
            }
        }
        rows
    }

    /// True when no assertion of any variant failed or went unjudged (a
    /// gate over nothing is no pass).
    pub fn passed(&self) -> bool {
        use crate::metrics::verdict::Verdict;
        self.variants
            .iter()
            .flat_map(|v| &v.assertions)
            .all(|a| !matches!(a.verdict, Verdict::Fail | Verdict::NotJudged))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture::run_report;
    use std::path::Path;

    #[test]
    fn run_json_round_trips_byte_for_byte() {
        for variants in [1, 2] {
            let first = serde_json::to_string_pretty(&run_report(variants)).expect("writes");
            let read = RunReport::from_json(&first, Path::new("run.json")).expect("reads back");
            let second = serde_json::to_string_pretty(&read).expect("writes again");
            assert_eq!(first, second);
        }
    }

    #[test]
    fn per_record_latency_is_amortized_over_each_ops_records() {
        // Kaelix: "< 1 µs amortized per message in batches".
        let mut a = run_report(1).variants[0].targets[0].phases[1].actors[0].clone();
        a.count = 1_000;
        a.records = 10_000;
        a.latency.p99_ns = 8_000;
        assert_eq!(a.metric("per_record.p99"), Some(800.0));
        assert_eq!(
            crate::metrics::catalog::actor_metric_unit("per_record.p99"),
            Some(MetricUnit::Nanos)
        );
        assert_eq!(
            crate::metrics::catalog::actor_metric_unit("per_record.records"),
            None
        );
        a.records = 0;
        assert_eq!(a.metric("per_record.p99"), None, "nothing to share it over");
    }

    #[test]
    fn another_format_version_is_refused_by_name() {
        let mut v = serde_json::to_value(run_report(1)).expect("json");
        v["format_version"] = serde_json::json!(7);
        let err = RunReport::from_json(&v.to_string(), Path::new("old/run.json"))
            .expect_err("refused")
            .to_string();
        assert_eq!(
            err,
            "old/run.json: run.json format_version 7; this loadline reads version 1"
        );
        let err = RunReport::from_json("{", Path::new("x.json")).expect_err("not json");
        assert!(matches!(err, ReadError::Parse { .. }), "{err}");
    }

    #[test]
    fn the_report_validates_against_its_own_schema() {
        let schema = RunReport::schema();
        let validator = jsonschema::draft202012::new(&schema).expect("schema compiles");
        let doc = serde_json::to_value(run_report(2)).expect("json");
        let errors: Vec<String> = validator.iter_errors(&doc).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{errors:?}");
    }
}
