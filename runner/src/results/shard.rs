//! `--shard I/N`: which (variant × target) cells shard I of N runs.
//!
//! The split is deterministic and balanced by expected work: each cell's
//! work is estimated from its phases (see [`expected_work`]), cells are
//! sorted by work (largest first) and then by a name key that does not
//! depend on the order of the file (the variant's matrix settings, sorted,
//! and the target name), and each goes to the least loaded shard
//! (longest-processing-time-first). Reordering targets, matrix values or
//! matrix keys in the file moves no cell to another shard.

use std::collections::BTreeSet;
use std::str::FromStr;
use std::time::Duration;

use crate::scenario::model::{RestartKind, Scenario, Target};

/// Records per second assumed for a phase that ends on `records` alone
/// (only the ratio between cells matters).
pub(crate) const NOMINAL_RECORDS_PER_S: f64 = 1_000_000.0;

/// Bytes per second assumed for a crash phase's `prepare` fill.
pub(crate) const NOMINAL_PREPARE_BYTES_PER_S: f64 = 200.0 * 1024.0 * 1024.0;

/// Shard I of N, 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ShardSpec {
    /// This shard, 1..=count.
    pub index: u32,
    /// Number of shards.
    pub count: u32,
}

/// A `--shard` that is not `I/N` with 1 ≤ I ≤ N.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--shard {text}: {reason}")]
pub(crate) struct ShardSpecError {
    /// What was given.
    pub text: String,
    /// What is wrong.
    pub reason: &'static str,
}

impl FromStr for ShardSpec {
    type Err = ShardSpecError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let err = |reason| ShardSpecError {
            text: text.to_owned(),
            reason,
        };
        let (i, n) = text
            .split_once('/')
            .ok_or_else(|| err("expected I/N, e.g. 2/3 (shard 2 of 3)"))?;
        let index: u32 = i
            .trim()
            .parse()
            .map_err(|_| err("I is not a whole number"))?;
        let count: u32 = n
            .trim()
            .parse()
            .map_err(|_| err("N is not a whole number"))?;
        if count == 0 {
            return Err(err("N must be at least 1"));
        }
        if index == 0 || index > count {
            return Err(err("I must be between 1 and N (shards count from 1)"));
        }
        Ok(ShardSpec { index, count })
    }
}

impl std::fmt::Display for ShardSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// A cell's name key, independent of the order of the file: the
/// variant's settings sorted, then the target name.
pub(crate) fn cell_key(scenario: &Scenario, target: &str) -> String {
    let mut settings: Vec<String> = scenario
        .variant
        .settings
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    settings.sort();
    format!("{}\u{1f}{target}", settings.join("\u{1e}"))
}

/// The expected work of `target`'s cell in seconds: per phase that runs on
/// it, its `duration` (capped by `records` at [`NOMINAL_RECORDS_PER_S`]),
/// or `records` at that rate; a crash phase costs its cycles times the end
/// of its `after` window (1 s without one) plus its `prepare` fill; every
/// phase at least 10 ms. An estimate for balancing, not a prediction.
pub(crate) fn expected_work(scenario: &Scenario, target: &Target) -> f64 {
    let mut total = 0.0;
    for ph in scenario.phases.iter().filter(|p| p.runs_on(&target.name)) {
        let by_records = ph.records.map(|r| r as f64 / NOMINAL_RECORDS_PER_S);
        let by_time = ph.duration.map(|d| d.as_secs_f64());
        let mut secs = match (by_time, by_records) {
            (Some(t), Some(r)) => t.min(r),
            (Some(t), None) => t,
            (None, Some(r)) => r,
            (None, None) => 0.0,
        };
        if let Some(r) = &ph.restart
            && matches!(r.kind, RestartKind::Crash | RestartKind::PowerLoss)
        {
            let window = r.after.map_or(Duration::from_secs(1), |(_, hi)| hi);
            secs = r.repeat as f64 * window.as_secs_f64();
            if let Some((bytes, _)) = &r.prepare {
                secs += *bytes as f64 / NOMINAL_PREPARE_BYTES_PER_S;
            }
        }
        total += secs.max(0.01);
    }
    total
}

/// The cells (variant index, target name) shard `spec` runs, of the cells
/// `selects` admits (`--target`).
pub(crate) fn assign(
    variants: &[Scenario],
    spec: ShardSpec,
    selects: impl Fn(&str) -> bool,
) -> BTreeSet<(usize, String)> {
    let mut cells: Vec<(f64, String, usize, String)> = Vec::new();
    for (vi, s) in variants.iter().enumerate() {
        for t in s.targets.iter().filter(|t| selects(&t.name)) {
            cells.push((
                expected_work(s, t),
                cell_key(s, &t.name),
                vi,
                t.name.clone(),
            ));
        }
    }
    cells.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    let mut load = vec![0.0f64; spec.count as usize];
    let mut mine = BTreeSet::new();
    for (work, _, vi, name) in cells {
        let (shard, _) = load
            .iter()
            .enumerate()
            .min_by(|a, b| a.1.total_cmp(b.1).then_with(|| a.0.cmp(&b.0)))
            .unwrap_or((0, &0.0));
        load[shard] += work;
        if shard + 1 == spec.index as usize {
            mine.insert((vi, name));
        }
    }
    mine
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::scenario::test_variants as variants;

    const HEAD: &str = "version: 1\nname: s\npayloads:\n  p:\n    size: 64B\n    pool: 16\nphases:\n  - name: w\n    duration: 1s\n    targets: [a]\n    actors:\n      - { op: append }\n  - name: x\n    records: 100k\n    actors:\n      - { op: append }\n";

    fn split(yaml: &str, n: u32) -> Vec<BTreeSet<(String, String)>> {
        let vs = variants(yaml);
        (1..=n)
            .map(|i| {
                assign(&vs, ShardSpec { index: i, count: n }, |_| true)
                    .into_iter()
                    .map(|(vi, t)| (vs[vi].variant.label.clone(), t))
                    .collect()
            })
            .collect()
    }

    #[test]
    fn shard_specs_parse_and_refuse_nonsense() {
        assert_eq!(
            "2/3".parse::<ShardSpec>(),
            Ok(ShardSpec { index: 2, count: 3 })
        );
        for bad in ["0/3", "4/3", "1/0", "a/3", "3", "1/b"] {
            let e = bad.parse::<ShardSpec>().unwrap_err();
            assert!(
                e.to_string().starts_with(&format!("--shard {bad}: ")),
                "{e}"
            );
        }
    }

    #[test]
    fn every_cell_is_in_exactly_one_shard_and_the_split_ignores_file_order() {
        let a = format!(
            "{HEAD}targets:\n  a: {{ memory: {{}} }}\n  b: {{ memory: {{}} }}\n  c: {{ memory: {{}} }}\nmatrix:\n  payloads.p.size: [64B, 1KiB]\n  phases.x.records: [1000, 2000]\n"
        );
        let b = format!(
            "{HEAD}targets:\n  c: {{ memory: {{}} }}\n  a: {{ memory: {{}} }}\n  b: {{ memory: {{}} }}\nmatrix:\n  phases.x.records: [2000, 1000]\n  payloads.p.size: [1KiB, 64B]\n"
        );
        let (sa, sb) = (split(&a, 3), split(&b, 3));
        let all: Vec<_> = sa.iter().flatten().collect();
        assert_eq!(all.len(), 12, "4 variants x 3 targets");
        let unique: BTreeSet<_> = all.iter().collect();
        assert_eq!(unique.len(), 12, "no cell in two shards");
        // Labels follow the key order, so compare by (sorted settings, target).
        let key = |sets: &Vec<BTreeSet<(String, String)>>| -> Vec<BTreeSet<(Vec<String>, String)>> {
            sets.iter()
                .map(|s| {
                    s.iter()
                        .map(|(l, t)| {
                            let mut parts: Vec<String> = l.split(',').map(str::to_owned).collect();
                            parts.sort();
                            (parts, t.clone())
                        })
                        .collect()
                })
                .collect()
        };
        assert_eq!(key(&sa), key(&sb), "the same cells in the same shards");
    }

    #[test]
    fn shards_are_balanced_by_expected_work() {
        // Target a runs a 1 s phase the others do not: its cells weigh more.
        let yaml = format!(
            "{HEAD}targets:\n  a: {{ memory: {{}} }}\n  b: {{ memory: {{}} }}\n  c: {{ memory: {{}} }}\n  d: {{ memory: {{}} }}\n"
        );
        let s = split(&yaml, 2);
        let heavy = s
            .iter()
            .position(|x| x.iter().any(|(_, t)| t == "a"))
            .unwrap();
        assert_eq!(
            s[heavy].len(),
            1,
            "the heavy cell has a shard to itself: {s:?}"
        );
        assert_eq!(s[1 - heavy].len(), 3);
    }
}
