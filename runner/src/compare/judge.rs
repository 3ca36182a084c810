//! The judgement of the gated cells of a comparison together: for each a
//! one-sided rank test of a change beyond its threshold (the minimum
//! effect: the base rounds scaled by `1 ± threshold`), the
//! Benjamini–Hochberg step-up over all of them at [`stats::ALPHA`] (one
//! family for regressions, one for improvements), and a distribution-free
//! interval of the change; a cell that is no discovery is *unchanged* when
//! its interval lies within the threshold, else *inconclusive*.
//!
//! Owns the statuses of a cell. Which cells are gated is `gate`'s, the
//! numbers `stats`', matching the cells of two runs `diff`'s.

use serde::Serialize;

use super::stats::{self, Design};
use crate::metrics::catalog::Better;

/// What happened to a cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Status {
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
    pub(crate) fn label(self) -> &'static str {
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
pub(crate) struct Interval {
    /// Lower end, as a fraction of the base median (−0.05 = 5 % less).
    pub lo: f64,
    /// Upper end.
    pub hi: f64,
    /// Its confidence (at least 0.9; exact for the rounds there are).
    pub confidence: f64,
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
pub(crate) struct Gated<'a> {
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
pub(crate) struct Judged {
    /// Regression, improvement, unchanged or inconclusive.
    pub status: Status,
    /// One-sided p-value of a change beyond the threshold: worse for a
    /// regression, better for an improvement, the smaller of the two
    /// otherwise.
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
pub(crate) fn judge(design: Design, cells: &[Gated<'_>]) -> Vec<Judged> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
