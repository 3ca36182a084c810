//! The catalog of metric paths (`<phase>.<actor>.<metric>`,
//! `<phase>.<metric>`, `target.store.*`, `target.process.*`):
//! [`MetricRef`], which way any metric improves ([`better`]), the process
//! metrics and their units, and the units and trend kinds (re-exported
//! from [`unit`](super::unit)). The per-actor and phase metrics are rows
//! of [`actor_metric`](super::actor_metric) and
//! [`phase_metric`](super::phase_metric); store statistics are their
//! kind's `StatDesc` list.
//!
//! Validation uses it to reject assertions on metrics that cannot exist;
//! reports use it to format values. It does not compute anything.

use serde::Serialize;

use super::actor_metric;
use super::phase_metric::PHASE_METRICS;
pub(crate) use super::unit::{Better, MetricUnit, TRENDS, TrendKind, split_trend};

/// Which way metric `name` (the last part of its path: `p99`,
/// `records_per_s`, `service.p99`, a store statistic) of `unit` improves;
/// `None` when the workload, not the store, sets it (records, bytes,
/// cycles). A name of a per-actor metric in its unit goes the way its
/// [`ActorMetric`](super::actor_metric::ActorMetric) row says.
pub(crate) fn better(name: &str, unit: MetricUnit) -> Option<Better> {
    if let Some((series, kind)) = split_trend(name) {
        let base = unit.slope_of().unwrap_or(unit);
        let of_series = better(series, base).or_else(|| {
            // A heap that grows is worse, whatever its level says.
            MEMORY_METRICS
                .contains(&last_part(series))
                .then_some(Better::Lower)
        });
        return match kind {
            TrendKind::Cv => Some(Better::Lower),
            TrendKind::Slope | TrendKind::Drift | TrendKind::Worst => of_series,
        };
    }
    let name = last_part(name);
    if let Some(m) = actor_metric::find(name).filter(|m| m.unit == unit) {
        return m.better;
    }
    match unit {
        MetricUnit::PerSecond | MetricUnit::BytesPerSecond => Some(Better::Higher),
        MetricUnit::Nanos | MetricUnit::Micros => Some(Better::Lower),
        MetricUnit::Count if bad_count(name) => Some(Better::Lower),
        MetricUnit::Bytes if name == "peak_rss" => Some(Better::Lower),
        MetricUnit::Ratio if name == "write_amplification" => Some(Better::Lower),
        _ => None,
    }
}

/// A count where every one is bad (a loss, a timeout): the last part of a
/// phase metric's name whose row is a count that is better lower. Other
/// counts (records, cycles) are set by the workload.
fn bad_count(name: &str) -> bool {
    PHASE_METRICS.iter().any(|m| {
        m.unit == MetricUnit::Count && m.better == Some(Better::Lower) && last_part(m.name) == name
    })
}

/// The last part of a metric name (`p99` of `service.p99`).
fn last_part(name: &str) -> &str {
    name.rsplit('.').next().unwrap_or(name)
}

/// Process memory measures: their slope is a leak.
pub(crate) const MEMORY_METRICS: &[&str] = &[
    "rss",
    "peak_rss",
    "allocated",
    "active",
    "resident",
    "mapped",
    "retained",
];

/// Process metrics, under `target.process.` (over the target's phases,
/// warmup included: CPU and disk bytes; RSS and jemalloc at the end of its
/// last phase; `peak_rss` is the process's high-water mark).
pub(crate) const PROCESS_METRICS: &[(&str, MetricUnit)] = &[
    ("cpu_user", MetricUnit::Nanos),
    ("cpu_sys", MetricUnit::Nanos),
    ("peak_rss", MetricUnit::Bytes),
    ("rss", MetricUnit::Bytes),
    ("disk_read_bytes", MetricUnit::Bytes),
    ("disk_write_bytes", MetricUnit::Bytes),
    ("allocated", MetricUnit::Bytes),
    ("active", MetricUnit::Bytes),
    ("resident", MetricUnit::Bytes),
    ("mapped", MetricUnit::Bytes),
    ("retained", MetricUnit::Bytes),
];

/// Process metrics that are the whole process's, not one target's: the
/// high-water mark and the memory held at a phase's end include what the
/// targets run before it left behind, so with several targets in a run
/// they depend on the (rotated) target order and are not a target's
/// measurement. CPU time and disk bytes are counted over the target's own
/// phases and are.
pub(crate) const PROCESS_WIDE: &[&str] = &[
    "peak_rss",
    "rss",
    "allocated",
    "active",
    "resident",
    "mapped",
    "retained",
];

/// Process metrics of one phase, under `<phase>.process.`: CPU over the
/// phase, utilisation (cores busy), RSS and jemalloc at its end.
pub(crate) const PHASE_PROCESS_METRICS: &[(&str, MetricUnit)] = &[
    ("cpu_user", MetricUnit::Nanos),
    ("cpu_sys", MetricUnit::Nanos),
    ("cpu_utilisation", MetricUnit::Ratio),
    ("rss", MetricUnit::Bytes),
    ("allocated", MetricUnit::Bytes),
    ("active", MetricUnit::Bytes),
    ("resident", MetricUnit::Bytes),
    ("mapped", MetricUnit::Bytes),
    ("retained", MetricUnit::Bytes),
];

/// Converts a store statistic's unit.
pub(crate) fn stat_unit(unit: crate::store::StatUnit) -> MetricUnit {
    use crate::store::StatUnit;
    match unit {
        StatUnit::Count => MetricUnit::Count,
        StatUnit::Bytes => MetricUnit::Bytes,
        StatUnit::Nanos => MetricUnit::Nanos,
        StatUnit::Micros => MetricUnit::Micros,
        StatUnit::Ratio => MetricUnit::Ratio,
    }
}

/// What an assertion measures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "scope")]
pub enum MetricRef {
    /// `<phase>.<actor>.<metric>`
    Actor {
        /// Phase name.
        phase: String,
        /// Actor name.
        actor: String,
        /// Metric, e.g. `p99` or `service.p99`.
        metric: String,
    },
    /// `<phase>.<metric>`
    Phase {
        /// Phase name.
        phase: String,
        /// Metric, e.g. `duration` or `reopen.duration`.
        metric: String,
    },
    /// `target.store.<stat>`
    Store {
        /// Statistic name.
        stat: String,
    },
    /// `target.process.<metric>`
    Process {
        /// Metric name.
        metric: String,
    },
}

impl MetricRef {
    /// The phase a metric belongs to (`None` for target-level metrics).
    pub fn phase(&self) -> Option<&str> {
        match self {
            MetricRef::Actor { phase, .. } | MetricRef::Phase { phase, .. } => Some(phase),
            MetricRef::Store { .. } | MetricRef::Process { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_is_better_lower_and_throughput_higher() {
        assert_eq!(better("p99", MetricUnit::Nanos), Some(Better::Lower));
        assert_eq!(
            better("records_per_s", MetricUnit::PerSecond),
            Some(Better::Higher)
        );
        assert_eq!(better("errors", MetricUnit::Count), Some(Better::Lower));
        assert_eq!(better("records", MetricUnit::Count), None);
        assert_eq!(better("lost_puts", MetricUnit::Count), Some(Better::Lower));
        assert_eq!(
            better("settle.timed_out", MetricUnit::Count),
            Some(Better::Lower)
        );
        assert_eq!(better("cycles", MetricUnit::Count), None);
    }

    /// Compare judges a per-actor or phase metric the way its row says.
    #[test]
    fn every_rows_direction_is_what_compare_uses() {
        for m in super::actor_metric::ACTOR_METRICS {
            assert_eq!(better(m.name, m.unit), m.better, "{}", m.name);
        }
        for m in PHASE_METRICS {
            assert_eq!(better(m.name, m.unit), m.better, "{}", m.name);
        }
    }
}
