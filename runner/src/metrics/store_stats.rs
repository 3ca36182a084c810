//! Store statistics per phase and per target: the change of each counter
//! over a phase (or an interval), levels as they were at its end, and
//! target totals that add up measured phases only (warmup excluded).
//!
//! A store reports cumulative values since it was opened (the engine
//! carries them across reopens); this module turns two snapshots into a
//! phase's figures. Whether a statistic is a level is the store kind's
//! word ([`TargetKind::is_level`]); nothing here knows a kind.

use std::collections::BTreeMap;

use super::report::PhaseReport;
use crate::store::{StoreStats, TargetKind};

/// What each statistic did between `before` and `after`: counters their
/// change (never negative: a counter that went down, as after a restart
/// the store does not carry, counts from zero), levels their value in
/// `after`.
pub fn change(
    is_level: &dyn Fn(&str) -> bool,
    before: &StoreStats,
    after: &StoreStats,
) -> BTreeMap<String, f64> {
    after
        .values
        .iter()
        .map(|(name, now)| {
            let v = if is_level(name) {
                *now
            } else {
                let was = before.values.get(name).copied().unwrap_or(0.0);
                if *now >= was { now - was } else { *now }
            };
            (name.clone(), v)
        })
        .collect()
}

/// [`change`] with the levels of `kind`.
pub fn phase_change(
    kind: &TargetKind,
    before: &StoreStats,
    after: &StoreStats,
) -> BTreeMap<String, f64> {
    change(&|n| kind.is_level(n), before, after)
}

/// A target's totals: every counter summed over its measured phases
/// (warmup phases excluded, so a warmup's appends do not count), every
/// level as in `last` (the store's state at the end), and `last`'s
/// appendix.
pub fn target_totals(kind: &TargetKind, phases: &[PhaseReport], last: &StoreStats) -> StoreStats {
    let mut values = BTreeMap::new();
    for (name, now) in &last.values {
        let v = if kind.is_level(name) {
            *now
        } else {
            phases
                .iter()
                .filter(|p| !p.warmup)
                .filter_map(|p| p.stats.store.get(name))
                .sum()
        };
        values.insert(name.clone(), v);
    }
    StoreStats {
        values,
        appendix: last.appendix.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(pairs: &[(&str, f64)]) -> StoreStats {
        StoreStats {
            values: pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect(),
            appendix: None,
        }
    }

    #[test]
    fn counters_change_and_levels_are_values_at_the_end() {
        let level = |n: &str| n == "files_l0";
        let c = change(
            &level,
            &stats(&[("records", 1_000.0), ("files_l0", 4.0)]),
            &stats(&[("records", 26_000.0), ("files_l0", 2.0)]),
        );
        assert_eq!(c["records"], 25_000.0);
        assert_eq!(c["files_l0"], 2.0);
        // A counter the store restarted from zero counts what it has.
        let c = change(
            &level,
            &stats(&[("records", 1_000.0)]),
            &stats(&[("records", 10.0)]),
        );
        assert_eq!(c["records"], 10.0);
    }
}
