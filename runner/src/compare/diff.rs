//! Comparing two runs cell by cell: the relative change of each cell's
//! median, judged against a threshold (per metric overridable) and, with
//! enough rounds, against the noise (a bootstrap interval of the ratio of
//! medians that must exclude no-change).
//!
//! Owns what a regression is. Reading the runs is `source`'s, the numbers
//! are `stats`'s, and every output is `report::compare`'s.

use std::collections::BTreeMap;

use serde::Serialize;

use super::cells::{CellKey, MetricCell, cells};
use super::stats;
use crate::metrics::catalog::{Better, MetricUnit};
use crate::metrics::report::{RunReport, RunStatus};

/// The default `--threshold`: a change within ±10 % is no change.
pub const DEFAULT_THRESHOLD: f64 = 0.10;

/// The relative change of the median beyond which a cell counts as
/// changed (10 %: latency up or throughput down by more than a tenth). One
/// default and overrides by metric name (`p99`) or path
/// (`write.append.p99`, `target.store.fsyncs`).
#[derive(Debug, Clone, PartialEq)]
pub struct Thresholds {
    /// For cells no override names, as a fraction (0.10 = 10 %).
    pub default: f64,
    /// `(name or path, fraction)`; a path beats a name.
    pub overrides: Vec<(String, f64)>,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            default: DEFAULT_THRESHOLD,
            overrides: Vec::new(),
        }
    }
}

fn fraction(text: &str) -> Result<f64, String> {
    let t = text.trim();
    if t == "off" {
        return Ok(f64::INFINITY);
    }
    let value = match t.strip_suffix('%') {
        Some(p) => p.trim().parse::<f64>().map(|p| p / 100.0),
        None => t.parse::<f64>(),
    };
    match value {
        Ok(f) if f.is_finite() && f >= 0.0 => Ok(f),
        _ => Err(format!(
            "`{text}` is not a threshold; write a percentage such as `10%`, a fraction (`0.1`) or `off`"
        )),
    }
}

impl Thresholds {
    /// Parses `--threshold` values: `10%` sets the default, `p99=20%` or
    /// `write.append.p99=5%` overrides it, `max=off` never judges it (the
    /// last of each wins).
    pub fn parse(args: &[String]) -> Result<Thresholds, String> {
        let mut t = Thresholds::default();
        for a in args {
            match a.split_once('=') {
                Some((name, value)) if !name.trim().is_empty() => {
                    let f = fraction(value).map_err(|e| format!("--threshold {a}: {e}"))?;
                    t.overrides.retain(|(n, _)| n != name.trim());
                    t.overrides.push((name.trim().to_owned(), f));
                }
                Some(_) => {
                    return Err(format!(
                        "--threshold {a}: write `METRIC=PERCENT`, e.g. `p99=20%`"
                    ));
                }
                None => t.default = fraction(a).map_err(|e| format!("--threshold {a}: {e}"))?,
            }
        }
        Ok(t)
    }

    /// The threshold of `key`: an override naming its path, else its
    /// metric, else the default.
    pub fn of(&self, key: &CellKey) -> f64 {
        let path = key.path();
        self.overrides
            .iter()
            .find(|(n, _)| *n == path)
            .or_else(|| self.overrides.iter().find(|(n, _)| *n == key.metric))
            .map_or(self.default, |(_, f)| *f)
    }
}

/// How to compare.
#[derive(Debug, Clone, Default)]
pub struct CompareOptions {
    /// The thresholds.
    pub thresholds: Thresholds,
    /// Compare only cells whose metric name (`p99`) or path
    /// (`write.append.p99`) is listed; empty: every cell.
    pub metrics: Vec<String>,
}

impl CompareOptions {
    fn selects(&self, key: &CellKey) -> bool {
        self.metrics.is_empty()
            || self
                .metrics
                .iter()
                .any(|m| *m == key.metric || *m == key.path())
    }
}

/// What happened to a cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Worse beyond the threshold and (when it can be judged) the noise.
    Regression,
    /// Better beyond the threshold and the noise.
    Improvement,
    /// Beyond the threshold, but the confidence interval includes no change.
    Noise,
    /// Within the threshold.
    Unchanged,
    /// A metric without a better direction (records, bytes): shown, not judged.
    Info,
}

/// One cell in both runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    /// The cell.
    pub key: CellKey,
    /// Unit of both values.
    pub unit: MetricUnit,
    /// Which way it improves.
    pub better: Option<Better>,
    /// Median of the base run's rounds.
    pub base: f64,
    /// Median of the new run's rounds.
    pub new: f64,
    /// Rounds in the base run.
    pub base_rounds: usize,
    /// Rounds in the new run.
    pub new_rounds: usize,
    /// `(new − base) / base`; `None` when base is 0 and new is not.
    pub change: Option<f64>,
    /// 95 % bootstrap interval of `new / base` (medians), when both sides
    /// have at least 3 rounds.
    pub interval: Option<(f64, f64)>,
    /// The threshold applied.
    pub threshold: f64,
    /// The verdict.
    pub status: Status,
}

/// Two runs compared.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    /// The base run's scenario name.
    pub base_scenario: String,
    /// The new run's scenario name.
    pub new_scenario: String,
    /// Every cell present in both, in the new run's order.
    pub changes: Vec<Change>,
    /// Cells of the base run the new run lacks.
    pub missing_in_new: Vec<CellKey>,
    /// Cells of the new run the base run lacks.
    pub missing_in_base: Vec<CellKey>,
    /// Things a reader must know (other scenario, seed, host, an incomplete run).
    pub notes: Vec<String>,
}

impl Comparison {
    /// True when every cell of each run is in the other.
    pub fn comparable(&self) -> bool {
        self.missing_in_new.is_empty() && self.missing_in_base.is_empty()
    }

    /// The regressed cells.
    pub fn regressions(&self) -> impl Iterator<Item = &Change> {
        self.changes
            .iter()
            .filter(|c| c.status == Status::Regression)
    }

    /// How many cells have `status`.
    pub fn count(&self, status: Status) -> usize {
        self.changes.iter().filter(|c| c.status == status).count()
    }

    /// True when some judged cell has fewer than 3 rounds on a side, so its
    /// noise was not judged and the threshold alone decided.
    pub fn noise_unjudged(&self) -> bool {
        self.changes
            .iter()
            .any(|c| c.better.is_some() && c.base_rounds.min(c.new_rounds) < stats::MIN_ROUNDS)
    }
}

fn judge(base: &MetricCell, new: &MetricCell, threshold: f64) -> Change {
    let (b, n) = (
        stats::median(&base.rounds).unwrap_or_default(),
        stats::median(&new.rounds).unwrap_or_default(),
    );
    let change = if b == 0.0 {
        (n == 0.0).then_some(0.0)
    } else {
        Some((n - b) / b.abs())
    };
    let interval = stats::ratio_interval(&base.rounds, &new.rounds, &format!("{:?}", new.key));
    let status = match new.better {
        None => Status::Info,
        Some(better) => {
            // How much worse, as a signed fraction of the base (positive:
            // worse; from zero to something is infinitely so).
            let sign = if better == Better::Lower { 1.0 } else { -1.0 };
            let worse_by = change.map_or(sign * f64::INFINITY, |c| c * sign);
            // Whether the interval of new/base lies wholly on the worse
            // (or better) side of 1; without one, noise is not judged.
            let lies = |worse: bool| match interval {
                None => true,
                Some((lo, hi)) => {
                    if (better == Better::Lower) == worse {
                        lo > 1.0
                    } else {
                        hi < 1.0
                    }
                }
            };
            if worse_by > threshold {
                if lies(true) {
                    Status::Regression
                } else {
                    Status::Noise
                }
            } else if worse_by < -threshold {
                if lies(false) {
                    Status::Improvement
                } else {
                    Status::Noise
                }
            } else {
                Status::Unchanged
            }
        }
    };
    Change {
        key: new.key.clone(),
        unit: new.unit,
        better: new.better,
        base: b,
        new: n,
        base_rounds: base.rounds.len(),
        new_rounds: new.rounds.len(),
        change,
        interval,
        threshold,
        status,
    }
}

/// Compares `new` with `base`, cell by cell.
pub fn compare(base: &RunReport, new: &RunReport, opts: &CompareOptions) -> Comparison {
    let base_cells: BTreeMap<CellKey, MetricCell> = cells(base)
        .into_iter()
        .filter(|c| opts.selects(&c.key))
        .map(|c| (c.key.clone(), c))
        .collect();
    let new_cells: Vec<MetricCell> = cells(new)
        .into_iter()
        .filter(|c| opts.selects(&c.key))
        .collect();
    let mut changes = Vec::new();
    let mut missing_in_base = Vec::new();
    for n in &new_cells {
        match base_cells.get(&n.key) {
            Some(b) => changes.push(judge(b, n, opts.thresholds.of(&n.key))),
            None => missing_in_base.push(n.key.clone()),
        }
    }
    let new_keys: std::collections::BTreeSet<&CellKey> = new_cells.iter().map(|c| &c.key).collect();
    let missing_in_new = base_cells
        .keys()
        .filter(|k| !new_keys.contains(k))
        .cloned()
        .collect();
    let mut notes = Vec::new();
    if base.scenario != new.scenario {
        notes.push(format!(
            "the runs are of different scenarios: `{}` (base) and `{}` (new)",
            base.scenario, new.scenario
        ));
    }
    if base.seed != new.seed {
        notes.push(format!(
            "the runs have different seeds ({} and {}): payloads and keys differ",
            base.seed, new.seed
        ));
    }
    if base.environment.hostname != new.environment.hostname {
        notes.push(format!(
            "the runs are from different hosts (`{}` and `{}`)",
            base.environment.hostname, new.environment.hostname
        ));
    }
    for (side, r) in [("base", base), ("new", new)] {
        if r.status != RunStatus::Complete {
            notes.push(format!("the {side} run did not complete ({:?})", r.status).to_lowercase());
        }
    }
    Comparison {
        base_scenario: base.scenario.clone(),
        new_scenario: new.scenario.clone(),
        changes,
        missing_in_new,
        missing_in_base,
        notes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture::run_report;

    fn cell(metric: &str, unit: MetricUnit, rounds: &[f64]) -> MetricCell {
        MetricCell {
            key: CellKey {
                variant: String::new(),
                target: "wal".into(),
                phase: "write".into(),
                actor: "append".into(),
                metric: metric.into(),
            },
            unit,
            better: crate::metrics::catalog::better(metric, unit),
            rounds: rounds.to_vec(),
        }
    }

    #[test]
    fn thresholds_parse_with_overrides_by_name_and_path() {
        let t = Thresholds::parse(&["5%".into(), "p99=20%".into(), "write.append.p99=0.3".into()])
            .expect("parses");
        assert_eq!(t.default, 0.05);
        let p99 = cell("p99", MetricUnit::Nanos, &[1.0]).key;
        assert_eq!(t.of(&p99), 0.3, "the path wins");
        let mut other = p99.clone();
        other.phase = "mixed".into();
        assert_eq!(t.of(&other), 0.2);
        other.metric = "p50".into();
        assert_eq!(t.of(&other), 0.05);
        assert!(Thresholds::parse(&["ten".into()]).is_err());
        let off = Thresholds::parse(&["max=off".into()]).expect("parses");
        let mut max = p99.clone();
        max.metric = "max".into();
        assert_eq!(off.of(&max), f64::INFINITY);
        assert!(Thresholds::parse(&["=5%".into()]).is_err());
    }

    #[test]
    fn one_round_each_applies_the_threshold_alone() {
        let slower = judge(
            &cell("p99", MetricUnit::Nanos, &[100.0]),
            &cell("p99", MetricUnit::Nanos, &[120.0]),
            0.1,
        );
        assert_eq!(slower.status, Status::Regression);
        assert!(slower.interval.is_none());
        let within = judge(
            &cell("p99", MetricUnit::Nanos, &[100.0]),
            &cell("p99", MetricUnit::Nanos, &[105.0]),
            0.1,
        );
        assert_eq!(within.status, Status::Unchanged);
        let faster = judge(
            &cell("records_per_s", MetricUnit::PerSecond, &[100.0]),
            &cell("records_per_s", MetricUnit::PerSecond, &[150.0]),
            0.1,
        );
        assert_eq!(faster.status, Status::Improvement);
        let drop = judge(
            &cell("records_per_s", MetricUnit::PerSecond, &[100.0]),
            &cell("records_per_s", MetricUnit::PerSecond, &[80.0]),
            0.1,
        );
        assert_eq!(drop.status, Status::Regression);
        // The threshold is the relative change of the median: 9 % less
        // throughput is within 10 %.
        let slight = judge(
            &cell("records_per_s", MetricUnit::PerSecond, &[100.0]),
            &cell("records_per_s", MetricUnit::PerSecond, &[91.0]),
            0.1,
        );
        assert_eq!(slight.status, Status::Unchanged);
        let info = judge(
            &cell("records", MetricUnit::Count, &[100.0]),
            &cell("records", MetricUnit::Count, &[200.0]),
            0.1,
        );
        assert_eq!(info.status, Status::Info);
    }

    #[test]
    fn errors_from_zero_are_a_regression() {
        let c = judge(
            &cell("errors", MetricUnit::Count, &[0.0]),
            &cell("errors", MetricUnit::Count, &[3.0]),
            0.1,
        );
        assert_eq!((c.change, c.status), (None, Status::Regression));
    }

    #[test]
    fn with_three_rounds_a_change_within_the_noise_is_not_a_regression() {
        let noisy = judge(
            &cell("p99", MetricUnit::Nanos, &[100.0, 150.0, 90.0]),
            &cell("p99", MetricUnit::Nanos, &[140.0, 95.0, 160.0]),
            0.1,
        );
        assert_eq!(noisy.status, Status::Noise, "{noisy:?}");
        let clear = judge(
            &cell("p99", MetricUnit::Nanos, &[100.0, 101.0, 99.0]),
            &cell("p99", MetricUnit::Nanos, &[150.0, 151.0, 149.0]),
            0.1,
        );
        assert_eq!(clear.status, Status::Regression, "{clear:?}");
    }

    #[test]
    fn identical_runs_compare_unchanged_and_missing_cells_are_named() {
        let r = run_report(1);
        let c = compare(&r, &r, &CompareOptions::default());
        assert!(c.comparable());
        assert_eq!(c.regressions().count(), 0);
        assert!(c.notes.is_empty(), "{:?}", c.notes);
        let mut fewer = r.clone();
        fewer.variants[0].targets[0].phases.pop();
        let c = compare(&r, &fewer, &CompareOptions::default());
        assert!(!c.comparable());
        assert!(c.missing_in_base.is_empty());
        assert!(
            c.missing_in_new
                .iter()
                .any(|k| k.phase == "mixed" && k.target == "wal-group-commit")
        );
    }
}
