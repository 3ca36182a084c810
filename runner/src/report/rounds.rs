//! The spread of a repeated run, arranged for people: the `## Rounds`
//! table of `report.md` and the range the console prints beside each
//! assertion. Values come from each target's `spread` (see
//! `results::fold`); this module only picks and arranges them.

use serde::Serialize;

use crate::metrics::catalog::MetricUnit;
use crate::metrics::report::{RunReport, Spread, TargetReport};

/// Actor metrics the rounds table always shows (plus every metric an
/// assertion names).
const SHOWN: &[&str] = &["records_per_s", "p50", "p99"];

/// The rounds section of `report.md`.
#[derive(Debug, Serialize)]
pub struct RoundsView {
    /// Rounds asked for.
    pub planned: u32,
    /// Rounds that ran to their end.
    pub completed: u32,
    /// One row per shown metric per target.
    pub rows: Vec<RoundRow>,
}

/// One metric of one target over the rounds.
#[derive(Debug, Serialize)]
pub struct RoundRow {
    /// Variant label (empty without a matrix).
    pub variant: String,
    /// Target name.
    pub target: String,
    /// Metric path.
    pub metric: String,
    /// Its unit.
    pub unit: MetricUnit,
    /// The spread.
    pub spread: Spread,
    /// Rounds that measured it.
    pub rounds: usize,
}

/// The spread of the metric `path` on `target` (the median the assertion
/// on it judged, with its range), when the run had rounds.
pub fn spread_of<'a>(target: &'a TargetReport, path: &str) -> Option<&'a Spread> {
    target.spread.get(path)
}

/// The metric path an assertion text names (`write.append.p99 < 1ms` →
/// `write.append.p99`).
pub fn assertion_path(text: &str) -> Option<String> {
    crate::assertions::parse(text).ok().map(|a| a.metric)
}

/// The rounds view of `report`; `None` for a single round.
pub fn view(report: &RunReport) -> Option<RoundsView> {
    let repeat = report.repeat.as_ref()?;
    let mut rows = Vec::new();
    for v in &report.variants {
        let asserted: Vec<String> = v
            .assertions
            .iter()
            .filter_map(|a| assertion_path(&a.assertion))
            .collect();
        for t in &v.targets {
            for m in t.measured() {
                let path = m.path();
                let shown = (!m.actor.is_empty()
                    && m.phase != "target"
                    && SHOWN.contains(&m.metric.as_str()))
                    || asserted.contains(&path);
                if !shown {
                    continue;
                }
                if let Some(s) = t.spread.get(&path) {
                    rows.push(RoundRow {
                        variant: v.label.clone(),
                        target: t.name.clone(),
                        metric: path,
                        unit: m.unit,
                        rounds: s.values.len(),
                        spread: s.clone(),
                    });
                }
            }
        }
    }
    Some(RoundsView {
        planned: repeat.rounds,
        completed: repeat.completed,
        rows,
    })
}
