//! The comparable cells of a run: one per (variant, target, phase, actor,
//! metric), with its unit, the direction the metric catalog gives it and
//! its value in every round.
//!
//! Every consumer of per-round values — `compare`, `bencher.json` — goes
//! through [`cells`], so how rounds are stored in a `RunReport` is known in
//! this one place: a target's `spread` (one entry per metric path, every
//! round's value) when the run had rounds, the metric's field otherwise.

use serde::Serialize;

use crate::metrics::catalog::{self, Better, MetricUnit};
use crate::metrics::report::RunReport;

/// What identifies a cell across runs.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct CellKey {
    /// Variant label (empty without a matrix).
    pub variant: String,
    /// Target name.
    pub target: String,
    /// Phase name (`target` for target-level metrics).
    pub phase: String,
    /// Actor name (`store`/`process` for target-level metrics, empty for phase metrics).
    pub actor: String,
    /// Metric name (`p99`, `records_per_s`, `reopen.duration`, a store statistic).
    pub metric: String,
}

impl CellKey {
    /// The metric path as assertions write it: `write.append.p99`,
    /// `recover.reopen.duration`, `target.store.fsyncs`.
    pub fn path(&self) -> String {
        if self.actor.is_empty() {
            format!("{}.{}", self.phase, self.metric)
        } else {
            format!("{}.{}.{}", self.phase, self.actor, self.metric)
        }
    }

    /// `write.append.p99 on wal` (with ` [variant]` under a matrix).
    pub fn describe(&self) -> String {
        let mut s = format!("{} on {}", self.path(), self.target);
        if !self.variant.is_empty() {
            s.push_str(&format!(" [{}]", self.variant));
        }
        s
    }
}

/// One cell of a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct MetricCell {
    /// What it is.
    pub key: CellKey,
    /// Unit of the values.
    pub unit: MetricUnit,
    /// Which way it improves (`None`: set by the workload, not judged).
    pub better: Option<Better>,
    /// Its value in each round, in base units.
    pub rounds: Vec<f64>,
}

/// Every measured cell of `report`, in the order of `results.csv`; with
/// `--repeat` (or merged runs) each cell holds every round's value, as the
/// target's `spread` keeps them, otherwise its one value.
pub(crate) fn cells(report: &RunReport) -> Vec<MetricCell> {
    let mut out = Vec::new();
    for v in &report.variants {
        for t in &v.targets {
            for m in t.measured() {
                let rounds = t
                    .spread
                    .get(&m.path())
                    .map_or_else(|| vec![m.value], |s| s.values.clone());
                // `service.p99`, `per_record.p99`: latency; `reopen.duration`:
                // time; `rss.slope`: a trend, judged by its series' direction.
                let better = catalog::better(&m.metric, m.unit);
                out.push(MetricCell {
                    key: CellKey {
                        variant: v.label.clone(),
                        target: t.name.clone(),
                        phase: m.phase,
                        actor: m.actor,
                        metric: m.metric,
                    },
                    unit: m.unit,
                    better,
                    rounds,
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture::run_report;

    #[test]
    fn every_row_is_a_cell_with_its_direction() {
        let r = run_report(2);
        let all = cells(&r);
        assert_eq!(all.len(), r.rows().len());
        let p99 = all
            .iter()
            .find(|c| c.key.path() == "write.append.p99" && c.key.variant == "batch=100")
            .expect("p99 cell");
        assert_eq!(p99.better, Some(Better::Lower));
        assert_eq!(p99.rounds.len(), 1);
        let rps = all
            .iter()
            .find(|c| c.key.metric == "records_per_s")
            .expect("throughput cell");
        assert_eq!(rps.better, Some(Better::Higher));
        assert!(
            all.iter()
                .any(|c| c.key.metric == "records" && c.better.is_none())
        );
        assert_eq!(
            p99.key.describe(),
            format!("write.append.p99 on {} [batch=100]", p99.key.target)
        );
    }

    #[test]
    fn rounds_come_from_the_targets_spread() {
        let mut r = run_report(1);
        let t = &mut r.variants[0].targets[0];
        let values = vec![3.0e6, 1.0e6, 2.0e6];
        t.spread.insert(
            "write.append.p99".to_owned(),
            crate::results::stats::spread(values.clone()).expect("three values"),
        );
        let target = t.name.clone();
        let all = cells(&r);
        let p99 = all
            .iter()
            .find(|c| c.key.path() == "write.append.p99" && c.key.target == target)
            .expect("p99 cell");
        assert_eq!(p99.rounds, values);
        let other = all
            .iter()
            .find(|c| c.key.metric == "records_per_s" && c.key.target == target)
            .expect("throughput cell");
        assert_eq!(
            other.rounds.len(),
            1,
            "a metric without spread has one round"
        );
    }
}
