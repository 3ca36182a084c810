//! A target's part of the [`RunReport`](super::report::RunReport): its
//! phases, store statistics and process totals, the spread of every
//! metric over the rounds, and metric lookup by path for assertions and
//! `results.csv`.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::actor_metric::{self, ACTOR_METRICS};
use super::catalog::{MetricRef, MetricUnit, PROCESS_METRICS};
use super::phase_report::{ActorReport, PhaseReport};
use super::samples::MemoryStats;
use crate::store::StoreStats;

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
pub(crate) fn is_maximum(path: &str) -> bool {
    path.rsplit('.').next() == Some("max")
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
                let unit = super::phase_metric::phase_metric_unit(k).unwrap_or(MetricUnit::Count);
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
                for m in ACTOR_METRICS {
                    if let Some(val) = m.get(a) {
                        push(&p.name, &a.name, m.name, val, m.unit);
                    }
                }
                for (name, unit) in super::series::listed_actor_trends(&a.timeline) {
                    if let Some(val) = a.metric(&name) {
                        push(&p.name, &a.name, &name, val, unit);
                    }
                }
                if a.records > a.count {
                    // Batched ops: latency amortized per record.
                    for m in actor_metric::latencies() {
                        if let Some(val) = m.per_record(a) {
                            let key = format!("per_record.{}", m.name);
                            push(&p.name, &a.name, &key, val, m.unit);
                        }
                    }
                }
                if a.service.is_some() {
                    for m in actor_metric::latencies() {
                        if let Some(val) = m.service(a) {
                            let key = format!("service.{}", m.name);
                            push(&p.name, &a.name, &key, val, m.unit);
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

impl ActorReport {
    /// The per-actor metric called `name` (`p99`, `service.p99`,
    /// `per_record.p99`, `records`, `p99.slope`), as
    /// [`ACTOR_METRICS`] describes it; `None` when this actor does not
    /// measure it.
    pub fn metric(&self, name: &str) -> Option<f64> {
        if super::catalog::split_trend(name).is_some() {
            return super::series::actor_trend(&self.timeline, name);
        }
        if let Some(stat) = name.strip_prefix("service.") {
            return actor_metric::find(stat)?.service(self);
        }
        if let Some(stat) = name.strip_prefix("per_record.") {
            return actor_metric::find(stat)?.per_record(self);
        }
        actor_metric::find(name)?.get(self)
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
pub(crate) fn metric_path(metric: &MetricRef) -> String {
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
