//! Rounds that ran as separate runs — `loadline ab`'s interleaved rounds,
//! one run each — stacked into one report per side, every metric's rounds
//! in its target's `spread` in run order, as `--repeat` keeps them, so
//! `compare` reads them like any repeated run.
//!
//! Unlike `merge` it does not re-fold histograms or judge assertions: the
//! stacked report is read by the comparison only, never written as a run.

use std::collections::BTreeMap;

use crate::compare::cells;
use crate::metrics::report::RunReport;

/// The first round's report with every cell's value in each round (a cell
/// missing from a round has fewer values); `None` without rounds.
pub(crate) fn stack(rounds: &[RunReport]) -> Option<RunReport> {
    let mut out = rounds.first()?.clone();
    let mut values: BTreeMap<(String, String, String), Vec<f64>> = BTreeMap::new();
    for r in rounds {
        for c in cells(r) {
            values
                .entry((c.key.variant.clone(), c.key.target.clone(), c.key.path()))
                .or_default()
                .extend(c.rounds);
        }
    }
    for v in &mut out.variants {
        for t in &mut v.targets {
            t.spread.clear();
            for ((variant, target, path), vals) in &values {
                if *variant == v.label
                    && *target == t.name
                    && let Some(s) = super::stats::spread(vals.clone())
                {
                    t.spread.insert(path.clone(), s);
                }
            }
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture::run_report;

    #[test]
    fn each_round_becomes_one_value_of_every_cell_in_order() {
        let a = run_report(1);
        let mut b = a.clone();
        b.variants[0].targets[0].phases[1].actors[0].records_per_s *= 2.0;
        let stacked = stack(&[a.clone(), b, a.clone()]).expect("rounds");
        let all = cells(&stacked);
        let rps = all
            .iter()
            .find(|c| {
                c.key.target == a.variants[0].targets[0].name
                    && c.key.variant == a.variants[0].label
                    && c.key.path() == "write.append.records_per_s"
            })
            .expect("throughput");
        let x = a.variants[0].targets[0].phases[1].actors[0].records_per_s;
        assert_eq!(rps.rounds, vec![x, 2.0 * x, x]);
        assert!(stack(&[]).is_none());
    }
}
