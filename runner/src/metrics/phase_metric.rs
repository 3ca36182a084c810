//! The phase-level metrics (`<phase>.<metric>`: `duration`,
//! `reopen.duration`, `lost_records` …), one row each in
//! [`PHASE_METRICS`]: name, unit, better direction, the phases that report
//! it ([`Scope`]), the op whose writes a per-kind count counts, the count
//! a verdict is judged against, and what a crash count means for the
//! report. Validation, units, compare's direction, the judge and
//! `report.md` read this table; adding a phase metric is adding a row here
//! and writing its value where the engine measures it (see
//! `ARCHITECTURE.md`, "A metric").
//!
//! Phase metrics are values in the phase's `metrics` map, written by the
//! engine (restart, crash, settle) under these names; unlike per-actor
//! metrics there is no field to read, so a row carries no getter. Store
//! and process statistics of a phase (`<phase>.store.*`,
//! `<phase>.process.*`) are not rows here: the store kind and the catalog
//! own them.

use self::Scope::{Crash, Every, PowerLoss, Restart, Settle, Verify};
use super::unit::MetricUnit::{Bytes, Count, Nanos};
use super::unit::{Better, MetricUnit, same_name};

/// Which phases report a phase metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    /// Every measured phase.
    Every,
    /// Phases with `settle`.
    Settle,
    /// Phases with a `restart` (of any kind).
    Restart,
    /// Crash and power-loss phases (summed over cycles).
    Crash,
    /// Power-loss phases only.
    PowerLoss,
    /// Crash and power-loss phases with `verify: acknowledged`.
    Verify,
}

/// What a phase is, as far as its metrics go.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct PhaseSetup {
    /// It has `settle`.
    pub settles: bool,
    /// It has a `restart`.
    pub restarts: bool,
    /// Its restart is a crash or a power loss.
    pub crashes: bool,
    /// Its restart is a power loss.
    pub loses_power: bool,
    /// It has `verify: acknowledged`.
    pub verifies: bool,
}

impl Scope {
    /// A phase of `shape` reports the metrics of this scope.
    pub(crate) fn applies(self, shape: &PhaseSetup) -> bool {
        match self {
            Scope::Every => true,
            Scope::Settle => shape.settles,
            Scope::Restart => shape.restarts,
            Scope::Crash => shape.crashes,
            Scope::PowerLoss => shape.loses_power,
            Scope::Verify => shape.crashes && shape.verifies,
        }
    }
}

/// One phase-level metric.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PhaseMetric {
    /// Its name under `<phase>.` and in `results.csv`.
    pub name: &'static str,
    /// The unit of its value.
    pub unit: MetricUnit,
    /// Which way it improves (`None`: the workload sets it).
    pub better: Option<Better>,
    /// The phases that report it.
    pub scope: Scope,
    /// A per-kind count of `verify: acknowledged`: the op whose writes it
    /// counts (present when the phase has an actor of that op).
    pub op: Option<&'static str>,
    /// A verdict on verified writes: the count that must not be 0 for it
    /// to be judged (`verified_records`, `verified_puts`).
    pub judged_by: Option<&'static str>,
    /// What a crash count counts, beside its table in the report.
    pub meaning: Option<&'static str>,
}

/// A row with no op, no judging count and no meaning.
const fn row(
    name: &'static str,
    unit: MetricUnit,
    better: Option<Better>,
    scope: Scope,
) -> PhaseMetric {
    PhaseMetric {
        name,
        unit,
        better,
        scope,
        op: None,
        judged_by: None,
        meaning: None,
    }
}

impl PhaseMetric {
    /// The same row, explained in the report.
    const fn meaning(mut self, meaning: &'static str) -> Self {
        self.meaning = Some(meaning);
        self
    }

    /// The same row, judged only when `count` is not 0.
    const fn judged_by(mut self, count: &'static str) -> Self {
        self.judged_by = Some(count);
        self
    }

    /// The same row, counting the writes of `op` only.
    const fn of_op(mut self, op: &'static str) -> Self {
        self.op = Some(op);
        self
    }
}

/// Times, losses, errors: lower is better.
const LOWER: Option<Better> = Some(Better::Lower);

/// Every phase metric, grouped by scope in the order validation lists
/// them. `settle.*`: how long the store took to become quiescent before
/// the phase measured, 1 when the timeout passed first (`on_timeout:
/// measure`), the compaction debt when the settle began and ended.
/// Crash and power-loss counts are summed over `repeat` cycles
/// (`reopen.duration` is the maximum); `acknowledged_records` counts every
/// acknowledged write (records appended, keys put and deleted). The
/// verification counts are over appended records and key-value writes
/// together (a key counts once per cycle, under its last acknowledged
/// write), then per kind (`_puts`, `_deletes`): writes acknowledged, keys
/// verified, and of those recovered, lost, corrupt and indeterminate.
pub(crate) const PHASE_METRICS: &[PhaseMetric] = &[
    row("duration", Nanos, LOWER, Every),
    row("settle.wait", Nanos, LOWER, Settle),
    row("settle.timed_out", Count, LOWER, Settle),
    row("settle.debt", Bytes, None, Settle),
    row("settle.debt_left", Bytes, None, Settle),
    row("reopen.duration", Nanos, LOWER, Restart),
    row("cycles", Count, None, Crash),
    row("acknowledged_records", Count, None, Crash)
        .meaning("records the store acknowledged during this phase's cycles"),
    row("dropped_bytes", Bytes, None, Crash),
    row("cut_frames", Count, None, Crash),
    row("cut_records", Count, None, Crash),
    row("reopen.p50", Nanos, LOWER, Crash),
    row("reopen.p99", Nanos, LOWER, Crash),
    row("reopen.max", Nanos, LOWER, Crash),
    // Records the store had written (acknowledged or not) that the power
    // loss took, and cycles after which the log could not be reopened at
    // all (every record of it counted lost).
    row("loss_window_records", Count, LOWER, PowerLoss),
    row("unrecoverable_cycles", Count, LOWER, PowerLoss),
    row("verified_records", Count, None, Verify),
    row("recovered_records", Count, None, Verify)
        .judged_by("verified_records")
        .meaning("of those, records read back intact after the reopen that followed"),
    row("lost_records", Count, LOWER, Verify)
        .judged_by("verified_records")
        .meaning("records known to be in the store — acknowledged in a cycle, survivors of an earlier cycle, or written before the phase — that were missing after a reopen; it can exceed `acknowledged_records` (a `memory` store loses everything at each crash, earlier phases' records included)"),
    row("corrupt_records", Count, LOWER, Verify)
        .judged_by("verified_records")
        .meaning("known records read back with another checksum"),
    row("indeterminate_records", Count, None, Verify).judged_by("verified_records"),
    row("unacknowledged_survivors", Count, None, Verify)
        .judged_by("verified_records")
        .meaning("records read back that were never acknowledged (legal: an acknowledgement can be lost in flight)"),
    row("holes", Count, LOWER, Verify)
        .judged_by("verified_records")
        .meaning("gaps in a stream's readable offsets"),
    row("acknowledged_puts", Count, None, Verify).of_op("put"),
    row("verified_puts", Count, None, Verify).of_op("put"),
    row("recovered_puts", Count, None, Verify).of_op("put").judged_by("verified_puts"),
    row("lost_puts", Count, LOWER, Verify).of_op("put").judged_by("verified_puts"),
    row("corrupt_puts", Count, LOWER, Verify).of_op("put").judged_by("verified_puts"),
    row("indeterminate_puts", Count, None, Verify).of_op("put").judged_by("verified_puts"),
    row("acknowledged_deletes", Count, None, Verify).of_op("delete"),
    row("verified_deletes", Count, None, Verify).of_op("delete"),
    row("recovered_deletes", Count, None, Verify).of_op("delete").judged_by("verified_deletes"),
    row("lost_deletes", Count, LOWER, Verify).of_op("delete").judged_by("verified_deletes"),
    row("corrupt_deletes", Count, LOWER, Verify).of_op("delete").judged_by("verified_deletes"),
    row("indeterminate_deletes", Count, None, Verify).of_op("delete").judged_by("verified_deletes"),
];

/// The row called `name`, for a pick named in code: a name no row has
/// fails the build (in a `const`) or panics.
pub(crate) const fn named(name: &str) -> &'static PhaseMetric {
    let mut i = 0;
    while i < PHASE_METRICS.len() {
        if same_name(PHASE_METRICS[i].name, name) {
            return &PHASE_METRICS[i];
        }
        i += 1;
    }
    panic!("no phase metric of that name in PHASE_METRICS")
}

/// The row called `name`; `None` for another name.
pub(crate) fn find(name: &str) -> Option<&'static PhaseMetric> {
    PHASE_METRICS.iter().find(|m| m.name == name)
}

/// The rows of `scope`, in table order.
pub(crate) fn of_scope(scope: Scope) -> impl Iterator<Item = &'static PhaseMetric> {
    PHASE_METRICS.iter().filter(move |m| m.scope == scope)
}

/// The unit of a phase metric name; `None` for names no phase reports.
pub(crate) fn phase_metric_unit(name: &str) -> Option<MetricUnit> {
    find(name).map(|m| m.unit)
}

/// The count that says whether verification metric `name` has anything
/// to judge (`verified_records`, `verified_puts`, `verified_deletes`);
/// `None` for metrics that are not verdicts on verified writes.
pub(crate) fn judged_by(name: &str) -> Option<String> {
    find(name)?.judged_by.map(str::to_owned)
}

/// True when `name` is the first part of a phase-level metric (`duration`,
/// `reopen`, `lost_records`, …), `store` or `process`: an actor of that
/// name would shadow it in metric paths (`<phase>.<actor>.<metric>`).
pub(crate) fn is_phase_metric_word(name: &str) -> bool {
    name == "store"
        || name == "process"
        || PHASE_METRICS
            .iter()
            .any(|m| m.name.split('.').next() == Some(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_every_judging_count_is_a_row_of_the_same_scope() {
        let mut names: Vec<&str> = PHASE_METRICS.iter().map(|m| m.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), PHASE_METRICS.len(), "a name twice");
        for m in PHASE_METRICS {
            assert_eq!(
                MetricUnit::from_label(m.unit.label()),
                Some(m.unit),
                "{}",
                m.name
            );
            if let Some(count) = m.judged_by {
                let counter = find(count).expect("a row");
                assert_eq!((counter.scope, counter.op), (m.scope, m.op), "{}", m.name);
                assert_eq!(counter.judged_by, None, "{count} is judged by nothing");
            }
        }
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
        assert_eq!(find("corrupt_deletes").and_then(|m| m.op), Some("delete"));
        assert_eq!(find("lost_records").and_then(|m| m.op), None);
        assert_eq!(phase_metric_unit("lost_puts"), Some(MetricUnit::Count));
        assert!(is_phase_metric_word("reopen"));
        assert!(is_phase_metric_word("lost_puts"));
        assert!(!is_phase_metric_word("writer"));
    }
}
