//! Comparing two runs cell by cell, and the verdict over all of them.
//!
//! A cell is matched by (variant, target, phase, actor, metric); one on a
//! side only is listed (a config change adds or removes statistics), never
//! an error. Runs that cannot be matched at all — other scenarios, other
//! phases — are an [`Unmatched`] error.
//!
//! Each cell the gate names is tested for a change *beyond its threshold*
//! (the minimum effect): the base rounds are scaled by `1 ± threshold` and
//! a one-sided rank test (`stats`) asks whether the new rounds still lie
//! beyond them. The p-values of all gated cells go through the
//! Benjamini–Hochberg step-up at [`stats::ALPHA`] (one family for
//! regressions, one for improvements), so the false-alarm rate is that of
//! the whole comparison, not of each cell. A cell the test
//! cannot decide is *inconclusive*; one whose interval lies within the
//! threshold is *unchanged*.
//!
//! Owns what a regression is. Reading the runs is `source`'s, which cells
//! are judged `gate`'s, the numbers `stats`', every output
//! `report::compare`'s.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::cells::{CellKey, MetricCell, cells};
use super::gate::{self, Gate};
use super::stats::{self, Design};
use crate::metrics::catalog::{Better, MetricUnit};
use crate::metrics::report::{RunReport, RunStatus};

/// `--threshold` values: the minimum effect, overriding the gate's, by
/// default and by metric name (`p99`) or path (`write.append.p99`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Thresholds {
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
                None => {
                    t.default = Some(fraction(a).map_err(|e| format!("--threshold {a}: {e}"))?);
                }
            }
        }
        Ok(t)
    }

    /// The threshold of `key`: an override naming its path, else its
    /// metric, else the default, else `gate`'s.
    pub fn of(&self, key: &CellKey, gate: f64) -> f64 {
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
pub struct CompareOptions {
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
pub enum Unmatched {
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

/// What happened to a cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Worse beyond the threshold, a discovery over all gated cells.
    Regression,
    /// Better beyond the threshold, a discovery over all gated cells.
    Improvement,
    /// Neither decided nor within the threshold: more rounds could tell.
    Inconclusive,
    /// Its interval (or, with too few rounds for one, its median) lies
    /// within the threshold.
    Unchanged,
    /// Gated, but no number of rounds could judge it (the reason says why).
    Unjudgeable,
    /// Not in the gate (or without a better direction): listed only.
    NotGated,
}

impl Status {
    /// `regression`, `improvement`, … as the CSV writes it.
    pub fn label(self) -> &'static str {
        match self {
            Status::Regression => "regression",
            Status::Improvement => "improvement",
            Status::Inconclusive => "inconclusive",
            Status::Unchanged => "unchanged",
            Status::Unjudgeable => "unjudgeable",
            Status::NotGated => "not gated",
        }
    }
}

/// A distribution-free interval of the change, relative to the base median.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Interval {
    /// Lower end, as a fraction of the base median (−0.05 = 5 % less).
    pub lo: f64,
    /// Upper end.
    pub hi: f64,
    /// Its confidence (at least 0.9; exact for the rounds there are).
    pub confidence: f64,
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

impl Change {
    /// How much worse, as a signed fraction of the base (positive: worse;
    /// from zero to something is infinitely so); 0 without a direction.
    pub fn worse_by(&self) -> f64 {
        let sign = match self.better {
            Some(Better::Lower) => 1.0,
            Some(Better::Higher) => -1.0,
            None => return 0.0,
        };
        self.change.map_or(sign * f64::INFINITY, |c| c * sign)
    }
}

/// The verdict of a comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Every gated cell unchanged, improved or unjudgeable.
    Pass,
    /// No regression, but some gated cells could not be decided.
    Inconclusive,
    /// At least one regression.
    Regression,
}

impl Verdict {
    /// `PASS`, `INCONCLUSIVE`, `REGRESSION`.
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Pass => "PASS",
            Verdict::Inconclusive => "INCONCLUSIVE",
            Verdict::Regression => "REGRESSION",
        }
    }
}

/// Two runs compared.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
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

    /// The cells the gate judged (unjudgeable ones excluded).
    pub fn gated(&self) -> usize {
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
    pub fn verdict(&self) -> Verdict {
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

/// The one-sided p-values of a change beyond `t`: (larger, smaller).
fn one_sided(design: Design, base: &[f64], new: &[f64], t: f64, stream: &str) -> (f64, f64) {
    let up: Vec<f64> = base.iter().map(|b| b * (1.0 + t)).collect();
    let down: Vec<f64> = base.iter().map(|b| b * (1.0 - t)).collect();
    match design {
        Design::Paired if base.len() == new.len() => {
            let larger: Vec<f64> = new.iter().zip(&up).map(|(a, b)| a - b).collect();
            let smaller: Vec<f64> = new.iter().zip(&down).map(|(a, b)| b - a).collect();
            (
                stats::signed_rank_p(&larger, &format!("{stream}+")),
                stats::signed_rank_p(&smaller, &format!("{stream}-")),
            )
        }
        _ => {
            let neg = |v: &[f64]| v.iter().map(|x| -x).collect::<Vec<f64>>();
            (
                stats::rank_sum_p(&up, new, &format!("{stream}+")),
                stats::rank_sum_p(&neg(&down), &neg(new), &format!("{stream}-")),
            )
        }
    }
}

/// A gated cell to judge.
pub struct Gated<'a> {
    /// Base rounds.
    pub base: &'a [f64],
    /// New rounds.
    pub new: &'a [f64],
    /// Which way it improves.
    pub better: Better,
    /// The minimum effect.
    pub threshold: f64,
    /// Names its random stream (used with many rounds only).
    pub stream: String,
}

/// The judgement of one gated cell.
#[derive(Debug, Clone, PartialEq)]
pub struct Judged {
    /// Regression, improvement, unchanged or inconclusive.
    pub status: Status,
    /// One-sided p-value of a change beyond the threshold (see
    /// [`Change::p`]).
    pub p: f64,
    /// The interval of the change relative to the base median.
    pub interval: Option<Interval>,
    /// Why it is inconclusive.
    pub reason: Option<String>,
}

/// The interval of the change of `new` over `base`, relative to the base:
/// of the ratio (a shift of the logarithms, so it never reaches below
/// −100 %) when every value is positive, else of the difference over the
/// base median (so a round of 0 has one too); `None` with too few rounds
/// or a base median of 0.
fn change_interval(design: Design, base: &[f64], new: &[f64]) -> Option<Interval> {
    let positive = base.iter().chain(new).all(|v| *v > 0.0);
    if positive {
        let ln = |v: &[f64]| v.iter().map(|x| x.ln()).collect::<Vec<f64>>();
        let (lo, hi, confidence) = stats::shift_interval(design, &ln(base), &ln(new))?;
        return Some(Interval {
            lo: lo.exp() - 1.0,
            hi: hi.exp() - 1.0,
            confidence,
        });
    }
    let bm = stats::median(base).filter(|m| *m != 0.0)?;
    let (lo, hi, confidence) = stats::shift_interval(design, base, new)?;
    Some(Interval {
        lo: lo / bm.abs(),
        hi: hi / bm.abs(),
        confidence,
    })
}

/// Judges every gated cell of a comparison together: one-sided rank tests
/// beyond each threshold, the Benjamini–Hochberg step-up over all of them,
/// then unchanged (interval within the threshold) or inconclusive for the
/// cells that are not discoveries. A paired design with unequal round
/// counts judges that cell as independent rounds.
pub fn judge(design: Design, cells: &[Gated<'_>]) -> Vec<Judged> {
    let mut sides = Vec::with_capacity(cells.len());
    let mut out: Vec<Judged> = cells
        .iter()
        .map(|g| {
            let design = if g.base.len() == g.new.len() {
                design
            } else {
                Design::Independent
            };
            let interval = change_interval(design, g.base, g.new);
            let (larger, smaller) = one_sided(design, g.base, g.new, g.threshold, &g.stream);
            // (worse, better) in the cell's terms.
            let pair = if g.better == Better::Lower {
                (larger, smaller)
            } else {
                (smaller, larger)
            };
            sides.push((pair, design));
            Judged {
                status: Status::Inconclusive,
                p: pair.0.min(pair.1),
                interval,
                reason: None,
            }
        })
        .collect();
    // One family per direction: the regressions' false-discovery rate is
    // controlled at ALPHA whatever the improvements do.
    let worse: Vec<f64> = sides.iter().map(|((w, _), _)| *w).collect();
    let better: Vec<f64> = sides.iter().map(|((_, b), _)| *b).collect();
    let regressed = stats::benjamini_hochberg(&worse, stats::ALPHA);
    let improved = stats::benjamini_hochberg(&better, stats::ALPHA);
    let m = cells.len();
    for (i, (j, g)) in out.iter_mut().zip(cells).enumerate() {
        let design = sides[i].1;
        j.status = if regressed[i] {
            j.p = worse[i];
            Status::Regression
        } else if improved[i] {
            j.p = better[i];
            Status::Improvement
        } else {
            let within = match j.interval {
                Some(i) => i.lo >= -g.threshold && i.hi <= g.threshold,
                None => {
                    let (bm, nm) = (
                        stats::median(g.base).unwrap_or_default(),
                        stats::median(g.new).unwrap_or_default(),
                    );
                    bm != 0.0 && ((nm - bm) / bm.abs()).abs() <= g.threshold
                        || bm == 0.0 && nm == 0.0
                }
            };
            if within {
                Status::Unchanged
            } else {
                let floor = stats::min_p(design, g.base.len(), g.new.len());
                let alone = stats::ALPHA / m as f64;
                j.reason = Some(if floor > alone {
                    format!(
                        "{} and {} rounds reach p = {:.3} at best; alone among {m} gated cells a change needs p ≤ {:.4}: run more rounds",
                        g.base.len(),
                        g.new.len(),
                        floor,
                        alone
                    )
                } else {
                    format!("p = {:.3}, not a discovery among {m} gated cells", j.p)
                });
                Status::Inconclusive
            }
        };
    }
    out
}

/// Compares `new` with `base`, cell by cell; `Err` when they cannot be
/// matched at all.
pub fn compare(
    base: &RunReport,
    new: &RunReport,
    opts: &CompareOptions,
) -> Result<Comparison, Unmatched> {
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

    /// Error rates by simulation: `draws` seeded comparisons of `cells`
    /// gated latency cells, each round log-normal around 1 (`sigma`), each
    /// pair of rounds shifted together by a log-normal drift (`drift`: the
    /// machine's minute-to-minute speed, which interleaving shares between
    /// the sides), the first `affected` cells of the new side slowed by
    /// `effect`. Returns the share of comparisons with any regression among
    /// the unaffected cells (false alarms) and with every affected cell a
    /// regression (detections).
    #[expect(clippy::too_many_arguments, reason = "one simulation's parameters")]
    fn simulate(
        design: Design,
        rounds: usize,
        cells: usize,
        affected: usize,
        effect: f64,
        sigma: f64,
        drift: f64,
        threshold: f64,
        draws: usize,
    ) -> (f64, f64) {
        use rand::Rng;
        let mut rng = crate::workload::bootstrap_stream(7, "simulation");
        let mut normal = move || {
            let u1: f64 = 1.0 - rng.random::<f64>();
            let u2: f64 = rng.random::<f64>();
            (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
        };
        let (mut alarms, mut found) = (0usize, 0usize);
        for _ in 0..draws {
            let shifts: Vec<f64> = (0..rounds).map(|_| drift * normal()).collect();
            let sides: Vec<(Vec<f64>, Vec<f64>)> = (0..cells)
                .map(|c| {
                    let slow = if c < affected { effect } else { 1.0 };
                    let base = shifts
                        .iter()
                        .map(|d| (d + sigma * normal()).exp())
                        .collect();
                    let new = shifts
                        .iter()
                        .map(|d| slow * (d + sigma * normal()).exp())
                        .collect();
                    (base, new)
                })
                .collect();
            let gated: Vec<Gated<'_>> = sides
                .iter()
                .enumerate()
                .map(|(i, (b, n))| Gated {
                    base: b,
                    new: n,
                    better: Better::Lower,
                    threshold,
                    stream: format!("cell {i}"),
                })
                .collect();
            let judged = judge(design, &gated);
            if judged[affected..]
                .iter()
                .any(|j| j.status == Status::Regression)
            {
                alarms += 1;
            }
            if affected > 0
                && judged[..affected]
                    .iter()
                    .all(|j| j.status == Status::Regression)
            {
                found += 1;
            }
        }
        (alarms as f64 / draws as f64, found as f64 / draws as f64)
    }

    /// Three standard errors above `rate` for `draws` draws.
    fn at_most(rate: f64, draws: usize) -> f64 {
        rate + 3.0 * (rate * (1.0 - rate) / draws as f64).sqrt()
    }

    #[test]
    fn identical_code_raises_an_alarm_at_most_alpha_of_the_time() {
        // Without a threshold the step-up alone bounds the rate by ALPHA.
        for (design, rounds, drift) in [
            (Design::Independent, 5, 0.0),
            (Design::Independent, 7, 0.0),
            (Design::Paired, 10, 0.3),
        ] {
            let (alarms, _) = simulate(design, rounds, 20, 0, 1.0, 0.05, drift, 0.0, 2000);
            eprintln!("A/A {design:?} {rounds} rounds, threshold 0: {alarms}");
            assert!(
                alarms <= at_most(stats::ALPHA, 2000),
                "{design:?} {rounds}: {alarms}"
            );
        }
        // The shipped default: a 10 % minimum effect over 5 % noise.
        for (design, rounds) in [(Design::Independent, 5), (Design::Paired, 10)] {
            let (alarms, _) = simulate(design, rounds, 20, 0, 1.0, 0.05, 0.3, 0.10, 2000);
            eprintln!("A/A {design:?} {rounds} rounds, threshold 10%: {alarms}");
            assert!(alarms <= 0.005, "{design:?} {rounds}: {alarms}");
        }
    }

    #[test]
    fn a_slowdown_beyond_the_threshold_is_found_among_many_cells() {
        // Interleaved pairs under a machine drift (30 %) six times the
        // noise: 3 of 20 cells 30 % slower, a 10 % threshold.
        let (alarms, found) = simulate(Design::Paired, 10, 20, 3, 1.3, 0.05, 0.3, 0.10, 2000);
        eprintln!("A/B paired 10 pairs, +30% on 3 of 20: found {found}, false {alarms}");
        assert!(found >= 0.95, "{found}");
        assert!(alarms <= at_most(stats::ALPHA, 2000), "{alarms}");
        // The same drift breaks independent rounds: nothing is found.
        let (_, lost) = simulate(Design::Independent, 7, 20, 3, 1.3, 0.05, 0.3, 0.10, 500);
        eprintln!("A/B independent 7 rounds under drift: found {lost}");
        assert!(lost < found, "{lost} vs {found}");
        // Without drift, a 30 % change on 6 of 20 cells: 5 rounds each
        // find all six most of the time, 7 rounds nearly always.
        let (_, five) = simulate(Design::Independent, 5, 20, 6, 1.3, 0.05, 0.0, 0.10, 2000);
        let (_, seven) = simulate(Design::Independent, 7, 20, 6, 1.3, 0.05, 0.0, 0.10, 2000);
        eprintln!("A/B independent, +30% on 6 of 20: found {five} (5 rounds), {seven} (7 rounds)");
        assert!(five >= 0.5 && seven >= 0.95, "{five} {seven}");
        // 3 rounds each never decide a single cell among 20.
        let (_, found) = simulate(Design::Independent, 3, 20, 1, 2.0, 0.05, 0.0, 0.10, 500);
        assert_eq!(found, 0.0);
    }

    #[test]
    fn the_smallest_slowdown_found_grows_as_rounds_shrink() {
        // 3 of 20 cells slowed, 5 % noise, 10 % threshold: the smallest of
        // these slowdowns whose three cells are all found in ≥ 95 % of 400
        // comparisons (paired under 30 % drift; independent without drift).
        let effects = [1.15, 1.2, 1.3, 1.5, 2.0, 3.0];
        let smallest = |design: Design, rounds: usize, drift: f64| {
            effects
                .iter()
                .copied()
                .find(|e| simulate(design, rounds, 20, 3, *e, 0.05, drift, 0.10, 400).1 >= 0.95)
        };
        let mut found = Vec::new();
        for (design, rounds, drift) in [
            (Design::Paired, 3, 0.3),
            (Design::Paired, 5, 0.3),
            (Design::Paired, 10, 0.3),
            (Design::Independent, 3, 0.0),
            (Design::Independent, 5, 0.0),
            (Design::Independent, 7, 0.0),
        ] {
            let e = smallest(design, rounds, drift);
            eprintln!("smallest slowdown found: {design:?} {rounds} rounds: {e:?}");
            found.push(e);
        }
        // Too few rounds find nothing, however large.
        assert_eq!(found[0], None);
        assert_eq!(found[1], None);
        assert_eq!(found[3], None);
        assert!(found[2].is_some_and(|e| e <= 1.3), "{found:?}");
        assert!(found[5].is_some(), "{found:?}");
    }
}
