//! The spread of a repeated run, arranged for people: the `## Rounds`
//! table of `report.md` and the range the console prints beside each
//! assertion. Values come from each target's `spread` (see
//! `results::fold`); this module only picks and arranges them.

use serde::Serialize;

use crate::metrics::actor_metric::{ActorMetric, named};
use crate::metrics::catalog::MetricUnit;
use crate::metrics::report::{RunReport, Spread, TargetReport};

/// Actor metrics the rounds table always shows (plus every metric an
/// assertion names).
const SHOWN: [&ActorMetric; 3] = [named("records_per_s"), named("p50"), named("p99")];

/// The rounds section of `report.md`.
#[derive(Debug, Serialize)]
pub(crate) struct RoundsView {
    /// Rounds asked for.
    pub planned: u32,
    /// Rounds that ran to their end.
    pub completed: u32,
    /// One row per shown metric per target.
    pub rows: Vec<RoundRow>,
}

/// One metric of one target over the rounds.
#[derive(Debug, Serialize)]
pub(crate) struct RoundRow {
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
pub(crate) fn spread_of<'a>(target: &'a TargetReport, path: &str) -> Option<&'a Spread> {
    target.spread.get(path)
}

/// The metric path an assertion text names (`write.append.p99 < 1ms` →
/// `write.append.p99`).
pub(crate) fn assertion_path(text: &str) -> Option<String> {
    crate::assertions::parse(text).ok().map(|a| a.metric)
}

/// The rounds view of `report`; `None` for a single round.
pub(crate) fn view(report: &RunReport) -> Option<RoundsView> {
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
                    && SHOWN.iter().any(|s| s.name == m.metric))
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

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::metrics::report::RepeatInfo;
    use crate::report::fixture::run_report;

    /// The fixture as a run of three rounds: round r's throughputs and
    /// latencies scaled by 0.9, 1.0 and 1.2, folded as a run folds them.
    fn three_rounds(variants: usize) -> crate::metrics::report::RunReport {
        let mut report = run_report(variants);
        let scaled = |scale: f64| {
            let mut r = run_report(variants);
            for t in r.variants.iter_mut().flat_map(|v| &mut v.targets) {
                for a in t.phases.iter_mut().flat_map(|p| &mut p.actors) {
                    a.records_per_s *= scale;
                    a.latency.p50_ns = (a.latency.p50_ns as f64 * scale) as u64;
                    a.latency.p99_ns = (a.latency.p99_ns as f64 * scale) as u64;
                }
            }
            r
        };
        let rounds = [scaled(0.9), scaled(1.0), scaled(1.2)];
        for (vi, v) in report.variants.iter_mut().enumerate() {
            for (ti, t) in v.targets.iter_mut().enumerate() {
                let parts: Vec<_> = rounds.iter().map(|r| &r.variants[vi].targets[ti]).collect();
                *t = crate::results::fold::fold_targets(&parts).expect("three parts");
            }
        }
        report.repeat = Some(RepeatInfo {
            rounds: 3,
            completed: 3,
            orders: vec![],
        });
        report
    }

    #[test]
    fn markdown_report_with_rounds_snapshot() {
        let md = crate::report::markdown::MarkdownTemplate::builtin()
            .expect("builtin")
            .render(&three_rounds(1), Path::new("report.md"))
            .expect("renders");
        let start = md.find("## Rounds").expect("a rounds section");
        let end = md[start..].find("\n## ").map_or(md.len(), |e| start + e);
        insta::assert_snapshot!(&md[start..end]);
        assert!(md.contains("Observed values are medians of the rounds, a `max` the largest"));
    }

    #[test]
    fn console_with_rounds_snapshot() {
        insta::assert_snapshot!(crate::report::console::summary(
            &three_rounds(2),
            Path::new("out")
        ));
    }
}
