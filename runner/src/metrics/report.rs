//! The one serializable [`RunReport`]: everything a run measured, computed
//! once and read by every output (CSV, JSON, JUnit, Markdown, console).
//!
//! Owns the report's shape, units in field names (`p99_ns`,
//! `bytes_per_s`), metric lookup by path for assertions, and the flat rows
//! of `results.csv`. It does not measure (see `recorder`) or format (see
//! `report/`).

use std::collections::BTreeMap;

use serde::Serialize;

use super::catalog::{MetricUnit, PROCESS_METRICS};
use crate::assertions::{AssertionResult, MetricRef};
use crate::store::StoreStats;

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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

/// The whole run.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    /// loadline version and git revision.
    pub loadline_version: String,
    /// Scenario name.
    pub scenario: String,
    /// Scenario description.
    pub description: Option<String>,
    /// The scenario file.
    pub file: String,
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
}

/// The machine and build a run happened on.
#[derive(Debug, Clone, Default, Serialize)]
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
#[derive(Debug, Clone, Serialize)]
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
#[derive(Debug, Clone, Serialize)]
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
#[derive(Debug, Clone, Serialize)]
pub struct TargetReport {
    /// Target name.
    pub name: String,
    /// Store kind (`wal`, `rocksdb`, `memory`).
    pub kind: String,
    /// Phases in run order (warmup phases included, flagged).
    pub phases: Vec<PhaseReport>,
    /// The store's statistics at the end of the run.
    pub store: StoreStats,
    /// The unit of each statistic the store kind declares (so reports
    /// format plug-in kinds' statistics too).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub store_units: BTreeMap<String, crate::store::StatUnit>,
    /// Process statistics over this target's phases.
    pub process: ProcessStats,
    /// The error that stopped this target, if any.
    pub error: Option<String>,
}

/// Process statistics from `/proc`, as deltas over a target's run.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct ProcessStats {
    /// User CPU time, ns.
    pub cpu_user_ns: u64,
    /// System CPU time, ns.
    pub cpu_sys_ns: u64,
    /// Peak resident set size of the process, bytes.
    pub peak_rss_bytes: u64,
    /// Bytes read from storage.
    pub disk_read_bytes: u64,
    /// Bytes written to storage.
    pub disk_write_bytes: u64,
}

/// Results of one phase on one target.
#[derive(Debug, Clone, Serialize)]
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
}

/// Latency statistics in nanoseconds.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq)]
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
#[derive(Debug, Clone, Serialize)]
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
}

impl ActorReport {
    /// The per-actor metric called `name` (`p99`, `service.p99`, `records` …).
    pub fn metric(&self, name: &str) -> Option<f64> {
        if let Some(s) = name.strip_prefix("service.") {
            return self.service.and_then(|l| l.get(s));
        }
        Some(match name {
            "count" => self.count as f64,
            "records" => self.records as f64,
            "bytes" => self.bytes as f64,
            "errors" => self.errors as f64,
            "late" => self.late as f64,
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
            "disk_read_bytes" => self.disk_read_bytes as f64,
            "disk_write_bytes" => self.disk_write_bytes as f64,
            _ => return None,
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

    /// The value of a metric on this target; `None` when it does not exist
    /// here (e.g. a RocksDB statistic on a WAL target, or a phase that did
    /// not run).
    pub fn lookup(&self, metric: &MetricRef) -> Option<f64> {
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
                if metric == "duration" {
                    Some(p.duration_ns as f64)
                } else {
                    p.metrics.get(metric).copied()
                }
            }
            MetricRef::Store { stat } => self.store.values.get(stat).copied(),
            MetricRef::Process { metric } => self.process.metric(metric),
        }
    }
}

/// One row of `results.csv`.
#[derive(Debug, Clone, Serialize, PartialEq)]
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
    /// Every metric of every measured (non-warmup) phase, one row each.
    pub fn rows(&self) -> Vec<MetricRow> {
        let mut rows = Vec::new();
        for v in &self.variants {
            for t in &v.targets {
                let mut push =
                    |phase: &str, actor: &str, metric: &str, value: f64, unit: MetricUnit| {
                        rows.push(MetricRow {
                            variant: v.label.clone(),
                            target: t.name.clone(),
                            phase: phase.to_owned(),
                            actor: actor.to_owned(),
                            metric: metric.to_owned(),
                            value,
                            unit: unit.label(),
                        });
                    };
                for p in t.phases.iter().filter(|p| !p.warmup) {
                    push(
                        &p.name,
                        "",
                        "duration",
                        p.duration_ns as f64,
                        MetricUnit::Nanos,
                    );
                    for (k, val) in &p.metrics {
                        let unit =
                            super::catalog::phase_metric_unit(k).unwrap_or(MetricUnit::Count);
                        push(&p.name, "", k, *val, unit);
                    }
                    for a in &p.actors {
                        for (name, unit) in super::catalog::ACTOR_METRICS {
                            if let Some(val) = a.metric(name) {
                                push(&p.name, &a.name, name, val, *unit);
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
                    if let Some(val) = t.process.metric(name) {
                        push("target", "process", name, val, *unit);
                    }
                }
                for (name, val) in &t.store.values {
                    let unit = t.store_unit(name).unwrap_or(MetricUnit::Count);
                    push("target", "store", name, *val, unit);
                }
            }
        }
        rows
    }

    /// True when no assertion of any variant failed.
    pub fn passed(&self) -> bool {
        self.variants
            .iter()
            .flat_map(|v| &v.assertions)
            .all(|a| a.verdict != crate::assertions::Verdict::Fail)
    }
}
