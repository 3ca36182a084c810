//! Which cells of a run are to run: `--phase`, `--target` and `--shard`
//! as one [`CellFilter`], the one rule the engine (what it runs), the
//! report builder and the judge (what the run set out to measure) share.

use std::collections::BTreeSet;

/// The phases, targets and (variant, target) cells a run selects.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct CellFilter {
    /// `--phase`: only these phases (empty: every phase).
    pub phases: Vec<String>,
    /// `--target`: only these targets (empty: every target).
    pub targets: Vec<String>,
    /// `--shard`: only these (variant index, target name) cells; `None`: all.
    pub cells: Option<BTreeSet<(usize, String)>>,
}

impl CellFilter {
    /// True when target `target` of variant `variant` is selected.
    pub(crate) fn selects(&self, variant: usize, target: &str) -> bool {
        (self.targets.is_empty() || self.targets.iter().any(|t| t == target))
            && self
                .cells
                .as_ref()
                .is_none_or(|c| c.contains(&(variant, target.to_owned())))
    }

    /// True when phase `phase` is selected.
    pub(crate) fn selects_phase(&self, phase: &str) -> bool {
        self.phases.is_empty() || self.phases.iter().any(|p| p == phase)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_filters_select_everything_and_shards_pick_cells() {
        let all = CellFilter::default();
        assert!(all.selects(3, "wal") && all.selects_phase("write"));
        let f = CellFilter {
            phases: vec!["read".into()],
            targets: vec!["wal".into(), "rocksdb".into()],
            cells: Some(BTreeSet::from([
                (0, "wal".to_owned()),
                (1, "memory".to_owned()),
            ])),
        };
        assert!(f.selects(0, "wal"));
        assert!(!f.selects(1, "wal"), "not a cell of the shard");
        assert!(!f.selects(1, "memory"), "not a --target");
        assert!(f.selects_phase("read") && !f.selects_phase("write"));
    }
}
