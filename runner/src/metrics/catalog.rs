//! The catalog of metric names and units: which metric paths exist for a
//! scenario (`<phase>.<actor>.<metric>`, `<phase>.<metric>`,
//! `target.store.*`, `target.process.*`) and the unit of each.
//!
//! Validation uses it to reject assertions on metrics that cannot exist;
//! reports use it to format values. It does not compute anything.

use serde::Serialize;

use super::actor_metric;
pub use super::unit::{Better, METRIC_UNITS, MetricUnit, TRENDS, TrendKind, split_trend};

/// Phase-level counts where every one is bad (losses); other counts
/// (records, cycles, bytes) are set by the workload and have no better
/// direction. A per-actor metric's direction is its row's.
const BAD_COUNTS: &[&str] = &[
    "lost_records",
    "corrupt_records",
    "lost_puts",
    "corrupt_puts",
    "lost_deletes",
    "corrupt_deletes",
    "holes",
    "unrecoverable_cycles",
    "loss_window_records",
    "timed_out",
];

/// Which way metric `name` (the last part of its path: `p99`,
/// `records_per_s`, `service.p99`, a store statistic) of `unit` improves;
/// `None` when the workload, not the store, sets it (records, bytes,
/// cycles). A name of a per-actor metric in its unit goes the way its
/// [`ActorMetric`](super::actor_metric::ActorMetric) row says.
pub fn better(name: &str, unit: MetricUnit) -> Option<Better> {
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
        MetricUnit::Count if BAD_COUNTS.contains(&name) => Some(Better::Lower),
        MetricUnit::Bytes if name == "peak_rss" => Some(Better::Lower),
        MetricUnit::Ratio if name == "write_amplification" => Some(Better::Lower),
        _ => None,
    }
}

/// The last part of a metric name (`p99` of `service.p99`).
fn last_part(name: &str) -> &str {
    name.rsplit('.').next().unwrap_or(name)
}

/// Process memory measures: their slope is a leak.
pub const MEMORY_METRICS: &[&str] = &[
    "rss",
    "peak_rss",
    "allocated",
    "active",
    "resident",
    "mapped",
    "retained",
];

/// Phase-level metrics of every phase.
pub const PHASE_METRICS: &[(&str, MetricUnit)] = &[("duration", MetricUnit::Nanos)];

/// Phase-level metrics of restart phases.
pub const RESTART_METRICS: &[(&str, MetricUnit)] = &[("reopen.duration", MetricUnit::Nanos)];

/// Phase-level metrics of phases with `settle`: how long the store took
/// to become quiescent before the phase measured (`settle.wait`), 1 when
/// the timeout passed first (`on_timeout: measure`; under the default
/// `fail` the run stops instead), and the compaction debt when the
/// settle began and when it ended.
pub const SETTLE_METRICS: &[(&str, MetricUnit)] = &[
    ("settle.wait", MetricUnit::Nanos),
    ("settle.timed_out", MetricUnit::Count),
    ("settle.debt", MetricUnit::Bytes),
    ("settle.debt_left", MetricUnit::Bytes),
];

/// Phase-level metrics of crash and power-loss phases, summed over
/// `repeat` cycles; `reopen.duration` is the maximum over cycles.
/// `acknowledged_records` counts every acknowledged write: appended
/// records, keys put and keys deleted.
pub const CRASH_METRICS: &[(&str, MetricUnit)] = &[
    ("cycles", MetricUnit::Count),
    ("acknowledged_records", MetricUnit::Count),
    ("dropped_bytes", MetricUnit::Bytes),
    ("cut_frames", MetricUnit::Count),
    ("cut_records", MetricUnit::Count),
    ("reopen.p50", MetricUnit::Nanos),
    ("reopen.p99", MetricUnit::Nanos),
    ("reopen.max", MetricUnit::Nanos),
];

/// Phase-level metrics of crash and power-loss phases with `verify:
/// acknowledged`, summed over cycles, over appended records and
/// key-value writes together (a key counts once per cycle, under its last
/// acknowledged write). `verified_records` is how many checks were made:
/// assertions on the others are not judged when it is 0.
pub const VERIFY_METRICS: &[(&str, MetricUnit)] = &[
    ("verified_records", MetricUnit::Count),
    ("recovered_records", MetricUnit::Count),
    ("lost_records", MetricUnit::Count),
    ("corrupt_records", MetricUnit::Count),
    ("indeterminate_records", MetricUnit::Count),
    ("unacknowledged_survivors", MetricUnit::Count),
    ("holes", MetricUnit::Count),
];

/// The per-kind counts of `verify: acknowledged` for key-value writes,
/// `<count>_<kind>` with kind `puts` or `deletes` (present when the phase
/// has an actor of that op): writes acknowledged, keys verified, and of
/// those recovered, lost, corrupt and indeterminate.
pub const KV_VERIFY_COUNTS: &[&str] = &[
    "acknowledged",
    "verified",
    "recovered",
    "lost",
    "corrupt",
    "indeterminate",
];

/// The kinds of [`KV_VERIFY_COUNTS`], with the op each counts.
pub const KV_VERIFY_KINDS: &[(&str, &str)] = &[("puts", "put"), ("deletes", "delete")];

/// The count that says whether verification metric `name` has anything
/// to judge (`verified_records`, `verified_puts`, `verified_deletes`);
/// `None` for metrics that are not verdicts on verified writes (the
/// verified and acknowledged counts themselves, cycles, reopen times).
pub fn judged_by(name: &str) -> Option<String> {
    for (kind, _) in KV_VERIFY_KINDS {
        if let Some(count) = name.strip_suffix(&format!("_{kind}")) {
            return (KV_VERIFY_COUNTS.contains(&count)
                && !matches!(count, "acknowledged" | "verified"))
            .then(|| format!("verified_{kind}"));
        }
    }
    (VERIFY_METRICS.iter().any(|(n, _)| *n == name) && name != "verified_records")
        .then(|| "verified_records".to_owned())
}

/// The op a per-kind verification metric (`lost_puts`) needs in its
/// phase; `None` for other names.
pub fn kv_verify_op(name: &str) -> Option<&'static str> {
    KV_VERIFY_KINDS.iter().find_map(|(kind, op)| {
        name.strip_suffix(&format!("_{kind}"))
            .filter(|c| KV_VERIFY_COUNTS.contains(c))
            .map(|_| *op)
    })
}

/// Phase-level metrics of power-loss phases only, summed over cycles:
/// records the store had written (acknowledged or not) that the power loss
/// took, and cycles after which the log could not be reopened at all
/// (every record of it counted lost).
pub const POWER_LOSS_METRICS: &[(&str, MetricUnit)] = &[
    ("loss_window_records", MetricUnit::Count),
    ("unrecoverable_cycles", MetricUnit::Count),
];

/// Process metrics, under `target.process.` (over the target's phases,
/// warmup included: CPU and disk bytes; RSS and jemalloc at the end of its
/// last phase; `peak_rss` is the process's high-water mark).
pub const PROCESS_METRICS: &[(&str, MetricUnit)] = &[
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
pub const PROCESS_WIDE: &[&str] = &[
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
pub const PHASE_PROCESS_METRICS: &[(&str, MetricUnit)] = &[
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

/// What each record count of a crash or power-loss phase counts, for the
/// report beside its table (summed over the phase's cycles).
pub const CRASH_METRIC_MEANINGS: &[(&str, &str)] = &[
    (
        "acknowledged_records",
        "records the store acknowledged during this phase's cycles",
    ),
    (
        "recovered_records",
        "of those, records read back intact after the reopen that followed",
    ),
    (
        "lost_records",
        "records known to be in the store — acknowledged in a cycle, survivors of an earlier cycle, or written before the phase — that were missing after a reopen; it can exceed `acknowledged_records` (a `memory` store loses everything at each crash, earlier phases' records included)",
    ),
    (
        "corrupt_records",
        "known records read back with another checksum",
    ),
    (
        "unacknowledged_survivors",
        "records read back that were never acknowledged (legal: an acknowledgement can be lost in flight)",
    ),
    ("holes", "gaps in a stream's readable offsets"),
];

/// True when `name` is the first part of a phase-level metric (`duration`,
/// `reopen`, `lost_records`, …) or `store`: an actor of that name would
/// shadow it in metric paths (`<phase>.<actor>.<metric>`).
pub fn is_phase_metric_word(name: &str) -> bool {
    name == "store"
        || name == "process"
        || [
            PHASE_METRICS,
            RESTART_METRICS,
            SETTLE_METRICS,
            CRASH_METRICS,
            POWER_LOSS_METRICS,
        ]
        .iter()
        .flat_map(|list| list.iter())
        .any(|(n, _)| n.split('.').next() == Some(name))
        || VERIFY_METRICS.iter().any(|(n, _)| *n == name)
        || kv_verify_op(name).is_some()
}

/// The unit of a phase-level metric name (`duration`, `reopen.duration`,
/// `lost_records`, …); `None` for names no phase reports.
pub fn phase_metric_unit(name: &str) -> Option<MetricUnit> {
    [
        PHASE_METRICS,
        RESTART_METRICS,
        SETTLE_METRICS,
        CRASH_METRICS,
        POWER_LOSS_METRICS,
    ]
    .iter()
    .flat_map(|list| list.iter())
    .find(|(n, _)| *n == name)
    .map(|(_, u)| *u)
    .or_else(|| {
        VERIFY_METRICS
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, u)| *u)
    })
    .or_else(|| kv_verify_op(name).map(|_| MetricUnit::Count))
}

/// Converts a store statistic's unit.
pub fn stat_unit(unit: crate::store::StatUnit) -> MetricUnit {
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
    }

    #[test]
    fn verdicts_on_verified_writes_name_the_count_that_must_not_be_zero() {
        assert_eq!(
            judged_by("lost_records").as_deref(),
            Some("verified_records")
        );
        assert_eq!(judged_by("holes").as_deref(), Some("verified_records"));
        assert_eq!(judged_by("lost_puts").as_deref(), Some("verified_puts"));
        assert_eq!(
            judged_by("indeterminate_deletes").as_deref(),
            Some("verified_deletes")
        );
        for not_a_verdict in [
            "verified_records",
            "verified_puts",
            "acknowledged_puts",
            "acknowledged_records",
            "cycles",
            "reopen.duration",
        ] {
            assert_eq!(judged_by(not_a_verdict), None, "{not_a_verdict}");
        }
        assert_eq!(kv_verify_op("corrupt_deletes"), Some("delete"));
        assert_eq!(kv_verify_op("lost_records"), None);
        assert_eq!(phase_metric_unit("lost_puts"), Some(MetricUnit::Count));
        assert_eq!(better("lost_puts", MetricUnit::Count), Some(Better::Lower));
    }
}
