//! The comparable cells of a run: one per (variant, target, phase, actor,
//! metric), with its unit, the direction the metric catalog gives it and
//! its value in every round.
//!
//! Every consumer of per-round values — `compare`, `bencher.json` — goes
//! through [`cells`], so how rounds are stored in a `RunReport` is known in
//! this one place. Today a run has one round, so each cell holds one value.

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
pub struct MetricCell {
    /// What it is.
    pub key: CellKey,
    /// Unit of the values.
    pub unit: MetricUnit,
    /// Which way it improves (`None`: set by the workload, not judged).
    pub better: Option<Better>,
    /// Its value in each round, in base units.
    pub rounds: Vec<f64>,
}

/// Every measured cell of `report`, in the order of `results.csv`.
pub fn cells(report: &RunReport) -> Vec<MetricCell> {
    report
        .rows()
        .into_iter()
        .map(|row| {
            let unit = MetricUnit::from_label(row.unit).unwrap_or(MetricUnit::Count);
            let name = row.metric.rsplit('.').next().unwrap_or(&row.metric);
            // `service.p99`, `per_record.p99`: latency; `reopen.duration`: time.
            let better = catalog::better(name, unit);
            MetricCell {
                key: CellKey {
                    variant: row.variant,
                    target: row.target,
                    phase: row.phase,
                    actor: row.actor,
                    metric: row.metric,
                },
                unit,
                better,
                rounds: vec![row.value],
            }
        })
        .collect()
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
}
