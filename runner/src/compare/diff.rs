//! Comparing two runs cell by cell, and the verdict over all of them.
//!
//! A cell is matched by (variant, target, phase, actor, metric); one on a
//! side only is listed (a config change adds or removes statistics), never
//! an error. Runs that cannot be matched at all — other scenarios, other
//! phases — are an [`Unmatched`] error.
//!
//! Each cell the gate names is judged with every other gated cell
//! (`judge`: rank tests beyond the threshold, the Benjamini–Hochberg
//! step-up over all of them, so the false-alarm rate is that of the whole
//! comparison, not of each cell).
//!
//! Owns the verdict of a comparison. Reading the runs is `source`'s, which cells
//! are judged `gate`'s, the numbers `stats`', every output
//! `report::compare`'s.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::cells::{CellKey, MetricCell, cells};
use super::gate::{self, Gate};
use super::judge::{Gated, judge};
pub(crate) use super::judge::{Interval, Status};
use super::stats::{self, Design};
use crate::metrics::catalog::{Better, MetricUnit};
use crate::metrics::report::{RunReport, RunStatus};

/// `--threshold` values: the minimum effect, overriding the gate's, by
/// default and by metric name (`p99`) or path (`write.append.p99`).
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Thresholds {
    /// For cells no override names, as a fraction (0.10 = 10 %); `None`:
    /// the gate's.
    pub default: Option<f64>,
    /// `(name or path, fraction)`; a path beats a name.
    pub overrides: Vec<(String, f64)>,
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
    pub(crate) fn parse(args: &[String]) -> Result<Thresholds, String> {
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
                None => {
                    t.default = Some(fraction(a).map_err(|e| format!("--threshold {a}: {e}"))?);
                }
            }
        }
        Ok(t)
    }

    /// The threshold of `key`: an override naming its path, else its
    /// metric, else the default, else `gate`'s.
    pub(crate) fn of(&self, key: &CellKey, gate: f64) -> f64 {
        let path = key.path();
        self.overrides
            .iter()
            .find(|(n, _)| *n == path)
            .or_else(|| self.overrides.iter().find(|(n, _)| *n == key.metric))
            .map_or(self.default.unwrap_or(gate), |(_, f)| *f)
    }
}

/// How to compare.
#[derive(Debug, Clone)]
pub(crate) struct CompareOptions {
    /// The thresholds.
    pub thresholds: Thresholds,
    /// `--metric`: judge these (names or paths) instead of the gate's
    /// list and the assertions' metrics; empty: the gate's.
    pub metrics: Vec<String>,
    /// How the rounds relate.
    pub design: Design,
    /// Accept runs of differently named scenarios (`ab` with two files).
    pub any_scenario: bool,
}

impl Default for CompareOptions {
    fn default() -> Self {
        CompareOptions {
            thresholds: Thresholds::default(),
            metrics: Vec::new(),
            design: Design::Independent,
            any_scenario: false,
        }
    }
}

/// Two runs that cannot be matched cell by cell at all.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub(crate) enum Unmatched {
    /// Runs of two scenarios.
    #[error(
        "the runs are of different scenarios: `{base}` (base) and `{new}` (new); compare runs of one scenario"
    )]
    Scenario {
        /// The base run's scenario.
        base: String,
        /// The new run's scenario.
        new: String,
    },
    /// Runs with different measured phases.
    #[error(
        "the runs measured different phases: only in base: {}; only in new: {}",
        list(only_base),
        list(only_new)
    )]
    Phases {
        /// Phases of the base run only.
        only_base: Vec<String>,
        /// Phases of the new run only.
        only_new: Vec<String>,
    },
}

fn list(names: &[String]) -> String {
    if names.is_empty() {
        "none".to_owned()
    } else {
        names
            .iter()
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// One cell in both runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Change {
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
    /// The interval of the change (gated cells with enough rounds).
    pub interval: Option<Interval>,
    /// One-sided p-value of a change beyond the threshold, in the
    /// direction judged (gated cells): worse for a regression, better for
    /// an improvement, the smaller of the two otherwise.
    pub p: Option<f64>,
    /// The threshold applied (the minimum effect).
    pub threshold: f64,
    /// The verdict.
    pub status: Status,
    /// Why it is unjudgeable, not gated or inconclusive.
    pub reason: Option<String>,
}

/// The verdict of a comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Verdict {
    /// Every gated cell unchanged, improved or unjudgeable.
    Pass,
    /// No regression, but some gated cells could not be decided.
    Inconclusive,
    /// At least one regression.
    Regression,
}

impl Verdict {
    /// `PASS`, `INCONCLUSIVE`, `REGRESSION`.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Verdict::Pass => "PASS",
            Verdict::Inconclusive => "INCONCLUSIVE",
            Verdict::Regression => "REGRESSION",
        }
    }
}

/// Two runs compared.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Comparison {
    /// The base run's scenario name.
    pub base_scenario: String,
    /// The new run's scenario name.
    pub new_scenario: String,
    /// How the rounds were judged.
    pub design: Design,
    /// What was gated.
    pub gate: Gate,
    /// Every cell present in both, in the new run's order.
    pub changes: Vec<Change>,
    /// Cells of the base run only.
    pub only_in_base: Vec<CellKey>,
    /// Cells of the new run only.
    pub only_in_new: Vec<CellKey>,
    /// Things a reader must know (other seed, host, an incomplete run).
    pub notes: Vec<String>,
}

impl Comparison {
    #[cfg(test)]
    /// The regressed cells.
    pub(crate) fn regressions(&self) -> impl Iterator<Item = &Change> {
        self.changes
            .iter()
            .filter(|c| c.status == Status::Regression)
    }

    /// How many cells have `status`.
    pub(crate) fn count(&self, status: Status) -> usize {
        self.changes.iter().filter(|c| c.status == status).count()
    }

    /// The cells the gate judged (unjudgeable ones excluded).
    pub(crate) fn gated(&self) -> usize {
        self.changes
            .iter()
            .filter(|c| {
                matches!(
                    c.status,
                    Status::Regression
                        | Status::Improvement
                        | Status::Inconclusive
                        | Status::Unchanged
                )
            })
            .count()
    }

    /// The verdict over every gated cell.
    pub(crate) fn verdict(&self) -> Verdict {
        if self.count(Status::Regression) > 0 {
            Verdict::Regression
        } else if self.count(Status::Inconclusive) > 0 {
            Verdict::Inconclusive
        } else {
            Verdict::Pass
        }
    }
}

/// The measured phases of a run, every variant and target.
fn phases(r: &RunReport) -> BTreeSet<String> {
    r.variants
        .iter()
        .flat_map(|v| &v.targets)
        .flat_map(|t| &t.phases)
        .filter(|p| !p.warmup)
        .map(|p| p.name.clone())
        .collect()
}

/// Both runs' cells, for `gate::unjudgeable`.
struct Both<'a> {
    base: BTreeMap<&'a CellKey, &'a MetricCell>,
    new: BTreeMap<&'a CellKey, &'a MetricCell>,
    targets: BTreeMap<&'a str, usize>,
}

impl gate::Rounds for Both<'_> {
    fn both(&self, key: &CellKey) -> Option<(&[f64], &[f64])> {
        Some((&self.base.get(key)?.rounds, &self.new.get(key)?.rounds))
    }

    fn siblings(&self, key: &CellKey) -> Vec<&CellKey> {
        self.new
            .keys()
            .filter(|k| k.variant == key.variant && k.target == key.target)
            .copied()
            .collect()
    }

    fn targets(&self, key: &CellKey) -> usize {
        self.targets.get(key.variant.as_str()).copied().unwrap_or(1)
    }
}

fn targets_per_variant(r: &RunReport) -> impl Iterator<Item = (&str, usize)> {
    r.variants
        .iter()
        .map(|v| (v.label.as_str(), v.targets.len()))
}

/// Compares `new` with `base`, cell by cell; `Err` when they cannot be
/// matched at all.
pub(crate) fn compare(
    base: &RunReport,
    new: &RunReport,
    opts: &CompareOptions,
) -> Result<Comparison, Unmatched> {
    check_matched(base, new, opts)?;
    let (mut gate, gate_note) = Gate::of_run(new);
    if !opts.metrics.is_empty() {
        gate.metrics = opts.metrics.clone();
        gate.assertion_metrics.clear();
    }
    let base_cells = cells(base);
    let new_cells = cells(new);
    let mut targets: BTreeMap<&str, usize> = targets_per_variant(base).collect();
    for (v, n) in targets_per_variant(new) {
        let e = targets.entry(v).or_insert(n);
        *e = (*e).max(n);
    }
    let both = Both {
        base: base_cells.iter().map(|c| (&c.key, c)).collect(),
        new: new_cells.iter().map(|c| (&c.key, c)).collect(),
        targets,
    };
    let mut changes = Vec::new();
    let mut only_in_new = Vec::new();
    let (mut at, mut gated): (Vec<usize>, Vec<Gated<'_>>) = (Vec::new(), Vec::new());
    let mut paired_fallback = false;
    for n in &new_cells {
        let Some(b) = both.base.get(&n.key) else {
            only_in_new.push(n.key.clone());
            continue;
        };
        let (bm, nm) = (
            stats::median(&b.rounds).unwrap_or_default(),
            stats::median(&n.rounds).unwrap_or_default(),
        );
        let threshold = opts.thresholds.of(&n.key, gate.threshold);
        let mut change = Change {
            key: n.key.clone(),
            unit: n.unit,
            better: n.better,
            base: bm,
            new: nm,
            base_rounds: b.rounds.len(),
            new_rounds: n.rounds.len(),
            change: if bm == 0.0 {
                (nm == 0.0).then_some(0.0)
            } else {
                Some((nm - bm) / bm.abs())
            },
            interval: None,
            p: None,
            threshold,
            status: Status::NotGated,
            reason: None,
        };
        match n.better {
            None => {
                change.reason =
                    Some("no better direction (set by the workload, or a level)".to_owned());
            }
            Some(_) if !gate.selects(&n.key) => {
                change.reason = Some("not in the gate".to_owned());
            }
            Some(_) if threshold.is_infinite() => {
                change.reason = Some("threshold off".to_owned());
            }
            Some(better) => {
                if let Some(why) = gate::unjudgeable(&n.key, &both) {
                    change.status = Status::Unjudgeable;
                    change.reason = Some(why.to_string());
                } else {
                    paired_fallback |=
                        opts.design == Design::Paired && b.rounds.len() != n.rounds.len();
                    at.push(changes.len());
                    gated.push(Gated {
                        base: &b.rounds,
                        new: &n.rounds,
                        better,
                        threshold,
                        stream: format!("{:?}", n.key),
                    });
                }
            }
        }
        changes.push(change);
    }
    for (i, j) in at.into_iter().zip(judge(opts.design, &gated)) {
        let c = &mut changes[i];
        c.status = j.status;
        c.p = Some(j.p);
        c.interval = j.interval;
        c.reason = j.reason;
    }
    let new_keys: BTreeSet<&CellKey> = new_cells.iter().map(|c| &c.key).collect();
    let only_in_base = base_cells
        .iter()
        .filter(|c| !new_keys.contains(&c.key))
        .map(|c| c.key.clone())
        .collect();
    let notes = notes(base, new, gate_note, paired_fallback);
    Ok(Comparison {
        base_scenario: base.scenario.clone(),
        new_scenario: new.scenario.clone(),
        design: opts.design,
        gate,
        changes,
        only_in_base,
        only_in_new,
        notes,
    })
}

/// Runs of one scenario (unless `any_scenario`) with the same measured
/// phases can be compared; anything else cannot be matched at all.
fn check_matched(
    base: &RunReport,
    new: &RunReport,
    opts: &CompareOptions,
) -> Result<(), Unmatched> {
    if base.scenario != new.scenario && !opts.any_scenario {
        return Err(Unmatched::Scenario {
            base: base.scenario.clone(),
            new: new.scenario.clone(),
        });
    }
    let (pb, pn) = (phases(base), phases(new));
    if pb != pn {
        return Err(Unmatched::Phases {
            only_base: pb.difference(&pn).cloned().collect(),
            only_new: pn.difference(&pb).cloned().collect(),
        });
    }
    Ok(())
}

/// What a reader of the comparison should know about its inputs: the
/// gate's note, other scenario names, seeds or hosts, runs that did not
/// complete, and cells judged as independent rounds in a paired design.
fn notes(
    base: &RunReport,
    new: &RunReport,
    gate_note: Option<String>,
    paired_fallback: bool,
) -> Vec<String> {
    let mut notes: Vec<String> = gate_note.into_iter().collect();
    if base.scenario != new.scenario {
        notes.push(format!(
            "the runs are of differently named scenarios: `{}` (base) and `{}` (new)",
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
            "the runs are from different hosts (`{}` and `{}`): a shift between machines is judged as a change",
            base.environment.hostname, new.environment.hostname
        ));
    }
    for (side, r) in [("base", base), ("new", new)] {
        if r.status != RunStatus::Complete {
            notes.push(format!("the {side} run did not complete ({:?})", r.status).to_lowercase());
        }
    }
    if paired_fallback {
        notes.push(
            "some cells have different round counts on each side: judged as independent rounds"
                .to_owned(),
        );
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture::run_report;

    #[test]
    fn thresholds_parse_with_overrides_by_name_and_path() {
        let t = Thresholds::parse(&["5%".into(), "p99=20%".into(), "write.append.p99=0.3".into()])
            .expect("parses");
        assert_eq!(t.default, Some(0.05));
        let p99 = CellKey {
            variant: String::new(),
            target: "wal".into(),
            phase: "write".into(),
            actor: "append".into(),
            metric: "p99".into(),
        };
        assert_eq!(t.of(&p99, 0.1), 0.3, "the path wins");
        let mut other = p99.clone();
        other.phase = "mixed".into();
        assert_eq!(t.of(&other, 0.1), 0.2);
        other.metric = "p50".into();
        assert_eq!(t.of(&other, 0.1), 0.05);
        assert_eq!(Thresholds::default().of(&other, 0.07), 0.07, "the gate's");
        assert!(Thresholds::parse(&["ten".into()]).is_err());
        let off = Thresholds::parse(&["max=off".into()]).expect("parses");
        let mut max = p99.clone();
        max.metric = "max".into();
        assert_eq!(off.of(&max, 0.1), f64::INFINITY);
        assert!(Thresholds::parse(&["=5%".into()]).is_err());
    }

    /// `run_report(1)` with `rounds` rounds per cell: every cell's value
    /// times the factors.
    fn with_rounds(r: &RunReport, factors: &[f64], scale: impl Fn(&CellKey) -> f64) -> RunReport {
        let mut out = r.clone();
        for v in &mut out.variants {
            let label = v.label.clone();
            for t in &mut v.targets {
                let name = t.name.clone();
                for m in t.measured() {
                    let key = CellKey {
                        variant: label.clone(),
                        target: name.clone(),
                        phase: m.phase.clone(),
                        actor: m.actor.clone(),
                        metric: m.metric.clone(),
                    };
                    let s = scale(&key);
                    let values: Vec<f64> = factors.iter().map(|f| m.value * f * s).collect();
                    if let Some(sp) = crate::results::stats::spread(values) {
                        t.spread.insert(m.path(), sp);
                    }
                }
            }
        }
        out
    }

    #[test]
    fn identical_runs_pass_and_a_cell_on_one_side_is_listed() {
        let r = run_report(1);
        let a = with_rounds(&r, &[1.0, 1.02, 0.98, 1.01, 0.99], |_| 1.0);
        let b = with_rounds(&r, &[1.01, 0.99, 1.0, 0.98, 1.02], |_| 1.0);
        let c = compare(&a, &b, &CompareOptions::default()).expect("matched");
        assert_eq!(c.verdict(), Verdict::Pass, "{:#?}", c.changes);
        assert!(c.gated() > 0);
        assert!(c.only_in_base.is_empty() && c.only_in_new.is_empty());
        let mut fewer = b.clone();
        let t = &mut fewer.variants[0].targets[0];
        let stat = t.store.values.keys().next().cloned().expect("a store stat");
        t.store.values.remove(&stat);
        let c = compare(&a, &fewer, &CompareOptions::default()).expect("still matched");
        assert!(
            c.only_in_base
                .iter()
                .any(|k| k.phase == "target" && k.metric == stat),
            "{:?}",
            c.only_in_base
        );
    }

    #[test]
    fn other_scenarios_or_phases_cannot_be_matched() {
        let r = run_report(1);
        let mut other = r.clone();
        other.scenario = "other".into();
        assert!(matches!(
            compare(&r, &other, &CompareOptions::default()),
            Err(Unmatched::Scenario { .. })
        ));
        let opts = CompareOptions {
            any_scenario: true,
            ..CompareOptions::default()
        };
        assert!(compare(&r, &other, &opts).is_ok());
        let mut fewer = r.clone();
        for t in &mut fewer.variants[0].targets {
            t.phases.retain(|p| p.name != "mixed");
        }
        for v in &mut fewer.variants[1..] {
            for t in &mut v.targets {
                t.phases.retain(|p| p.name != "mixed");
            }
        }
        let err = compare(&r, &fewer, &CompareOptions::default()).expect_err("phases differ");
        assert_eq!(
            err.to_string(),
            "the runs measured different phases: only in base: `mixed`; only in new: none"
        );
    }

    #[test]
    fn a_clear_slowdown_of_the_gated_cells_is_a_regression_and_the_rest_is_listed() {
        let r = run_report(1);
        let rounds = [1.0, 1.02, 0.98, 1.01, 0.99];
        let a = with_rounds(&r, &rounds, |_| 1.0);
        let b = with_rounds(&r, &rounds, |k| match k.metric.as_str() {
            "p50" | "p99" => 1.5,
            "records_per_s" => 0.6,
            _ => 1.0,
        });
        let c = compare(&a, &b, &CompareOptions::default()).expect("matched");
        assert_eq!(c.verdict(), Verdict::Regression);
        let reg: Vec<String> = c.regressions().map(|ch| ch.key.metric.clone()).collect();
        assert!(reg.contains(&"records_per_s".to_owned()), "{reg:?}");
        assert!(
            reg.iter()
                .all(|m| ["p50", "p99", "records_per_s"].contains(&m.as_str())),
            "only gated cells regress: {reg:?}"
        );
        let p999 = c
            .changes
            .iter()
            .find(|ch| ch.key.metric == "max")
            .expect("max");
        assert_eq!(p999.status, Status::NotGated);
        // With 3 rounds each the same change cannot be decided.
        let a3 = with_rounds(&r, &rounds[..3], |_| 1.0);
        let b3 = with_rounds(&r, &rounds[..3], |k| {
            if k.metric == "records_per_s" {
                0.6
            } else {
                1.0
            }
        });
        let c = compare(&a3, &b3, &CompareOptions::default()).expect("matched");
        assert_eq!(c.verdict(), Verdict::Inconclusive);
        let rps = c
            .changes
            .iter()
            .find(|ch| ch.key.metric == "records_per_s" && ch.status == Status::Inconclusive)
            .expect("inconclusive throughput");
        assert!(
            rps.reason
                .as_deref()
                .is_some_and(|r| r.contains("run more rounds")),
            "{rps:?}"
        );
    }
}
