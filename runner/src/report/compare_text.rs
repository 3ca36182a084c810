//! The words of a comparison shared by its outputs (`compare`): a cell's
//! change, interval and p-value as text, the cells of one status grouped
//! by target (largest change first), the cells on one side only, the
//! verdict line and the sentence naming the statistics used.

use std::collections::BTreeMap;

use super::format::{margin, pct};
use crate::compare::diff::{Change, Comparison, Status};
use crate::compare::{CellKey, Design, stats};

/// `+12.3%`, `−4.0%`, `from 0`.
pub(crate) fn change_text(ch: &Change) -> String {
    match ch.change {
        Some(f) => margin(f),
        None => "from 0".to_owned(),
    }
}

/// `[−3.1%, +2.0%] 90%`, `n/a (2+2 rounds)`, or nothing for a cell not
/// judged.
pub(crate) fn interval_text(ch: &Change) -> String {
    if matches!(ch.status, Status::NotGated | Status::Unjudgeable) {
        return String::new();
    }
    match ch.interval {
        Some(i) => format!(
            "[{}, {}] {:.0}%",
            margin(i.lo),
            margin(i.hi),
            (i.confidence * 100.0).floor()
        ),
        None => format!("n/a ({}+{} rounds)", ch.base_rounds, ch.new_rounds),
    }
}

pub(crate) fn p_text(ch: &Change) -> String {
    ch.p.map_or_else(String::new, |p| format!("{p:.3}"))
}

/// How large a change is, as a factor (the log of new over base, signed
/// so that worse is positive): throughput halved and latency doubled are
/// the same size, and a relative change of latency (unbounded) does not
/// outrank one of throughput (at most −100 %) merely by its scale.
pub(crate) fn factor_size(ch: &Change) -> f64 {
    let sign = match ch.better {
        Some(crate::metrics::catalog::Better::Lower) => 1.0,
        Some(crate::metrics::catalog::Better::Higher) => -1.0,
        None => return 0.0,
    };
    if ch.base == 0.0 || ch.new == 0.0 {
        return if ch.base == ch.new {
            0.0
        } else {
            sign * (ch.new - ch.base).signum() * f64::INFINITY
        };
    }
    sign * (ch.new / ch.base).abs().ln()
}

/// What a reader looks at first: throughput (0), then tail latency (1),
/// then every other metric (2).
pub(crate) fn headline_rank(ch: &Change) -> u8 {
    let m = ch.key.metric.as_str();
    if m.ends_with("_per_s") {
        0
    } else if m == "p99" || m.ends_with(".p99") {
        1
    } else {
        2
    }
}

/// Cells of `status`, grouped by target: targets by their largest change
/// first; in each target throughput first, then p99, then the rest
/// ([`headline_rank`]), each largest first (by factor).
pub(crate) fn by_target(c: &Comparison, status: Status) -> Vec<(&str, Vec<&Change>)> {
    let size = |ch: &Change| {
        let w = factor_size(ch);
        if status == Status::Improvement { -w } else { w }
    };
    let mut groups: BTreeMap<&str, Vec<&Change>> = BTreeMap::new();
    for ch in c.changes.iter().filter(|ch| ch.status == status) {
        groups.entry(ch.key.target.as_str()).or_default().push(ch);
    }
    let largest = |v: &[&Change]| {
        v.iter()
            .map(|ch| size(ch))
            .fold(f64::NEG_INFINITY, f64::max)
    };
    let mut out: Vec<(&str, Vec<&Change>)> = groups.into_iter().collect();
    for (_, v) in &mut out {
        v.sort_by(|a, b| {
            headline_rank(a)
                .cmp(&headline_rank(b))
                .then(size(b).total_cmp(&size(a)))
        });
    }
    out.sort_by(|a, b| largest(&b.1).total_cmp(&largest(&a.1)));
    out
}

/// The cell without its target (the group names it).
pub(crate) fn cell_name(k: &CellKey) -> String {
    if k.variant.is_empty() {
        k.path()
    } else {
        format!("{} [{}]", k.path(), k.variant)
    }
}

/// `group_commit_records on wal (write, target)`: cells of one side,
/// grouped by metric and target.
pub(crate) fn one_side(keys: &[CellKey]) -> Vec<String> {
    let mut groups: BTreeMap<(String, String, String), Vec<String>> = BTreeMap::new();
    for k in keys {
        let place = if k.actor.is_empty() || k.actor == "store" || k.actor == "process" {
            k.phase.clone()
        } else {
            format!("{}.{}", k.phase, k.actor)
        };
        groups
            .entry((k.metric.clone(), k.target.clone(), k.variant.clone()))
            .or_default()
            .push(place);
    }
    groups
        .into_iter()
        .map(|((metric, target, variant), places)| {
            let variant = if variant.is_empty() {
                String::new()
            } else {
                format!(" [{variant}]")
            };
            format!("{metric} on {target}{variant} ({})", places.join(", "))
        })
        .collect()
}

/// `only in new: …` lines, one per side that has any.
pub(crate) fn one_side_lines(c: &Comparison) -> Vec<String> {
    let mut out = Vec::new();
    for (side, keys) in [("base", &c.only_in_base), ("new", &c.only_in_new)] {
        if !keys.is_empty() {
            out.push(format!("only in {side}: {}", one_side(keys).join("; ")));
        }
    }
    out
}

/// The verdict line: `REGRESSION — 3 regressions, …`.
pub(crate) fn summary_line(c: &Comparison) -> String {
    format!(
        "{} — {} regression(s), {} improvement(s) among {} gated cells ({} unchanged, {} inconclusive); {} unjudgeable, {} not gated, {} on one side only",
        c.verdict().label(),
        c.count(Status::Regression),
        c.count(Status::Improvement),
        c.gated(),
        c.count(Status::Unchanged),
        c.count(Status::Inconclusive),
        c.count(Status::Unjudgeable),
        c.count(Status::NotGated),
        c.only_in_base.len() + c.only_in_new.len()
    )
}

/// The statistics used, in a sentence.
pub(crate) fn method(c: &Comparison) -> String {
    let test = match c.design {
        Design::Independent => {
            "an exact one-sided Wilcoxon rank-sum test of the new rounds against the base rounds scaled by 1 ± the threshold"
        }
        Design::Paired => {
            "an exact one-sided Wilcoxon signed-rank test of each interleaved pair's difference beyond the threshold"
        }
    };
    format!(
        "The gate {}. A gated cell regresses when {test} is a discovery after the Benjamini–Hochberg step-up at {} over all {} gated cells (so two runs of identical code raise an alarm at most {} of the time); the interval is the distribution-free (Hodges–Lehmann) one; a cell is unchanged when its interval lies within the threshold and inconclusive when neither holds (more rounds can decide it).",
        c.gate.describe(),
        pct(stats::ALPHA),
        c.gated(),
        pct(stats::ALPHA)
    )
}
