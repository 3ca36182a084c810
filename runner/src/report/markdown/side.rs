//! With a matrix: one table per measured phase and actor, a row per
//! variant and a column per target (throughput and p99).

use serde::Serialize;

use super::phase::union;
use crate::metrics::report::RunReport;

/// One phase and actor across the variants of a matrix.
#[derive(Debug, Serialize)]
pub(crate) struct SideBySide {
    /// Phase name.
    pub phase: String,
    /// Actor name.
    pub actor: String,
    /// Column heads: the targets, in run order.
    pub targets: Vec<String>,
    /// One row per variant.
    pub rows: Vec<SideRow>,
}

/// One variant's row of a [`SideBySide`] table.
#[derive(Debug, Serialize)]
pub(crate) struct SideRow {
    /// The variant's label.
    pub variant: String,
    /// One cell per target (`None` where it did not run).
    pub cells: Vec<Option<SideCell>>,
}

/// Throughput and tail latency of one actor on one target in one variant.
#[derive(Debug, Serialize)]
pub(crate) struct SideCell {
    /// Records per second.
    pub records_per_s: f64,
    /// p99 latency, ns.
    pub p99_ns: u64,
}

/// The side-by-side tables of a matrix report (empty for one variant).
pub(super) fn side_by_side(report: &RunReport) -> Vec<SideBySide> {
    if report.variants.len() < 2 {
        return Vec::new();
    }
    let targets = union(report.variants.iter().map(|v| {
        v.targets
            .iter()
            .map(|t| t.name.as_str())
            .collect::<Vec<_>>()
    }));
    let mut pairs: Vec<(String, String)> = Vec::new();
    for v in &report.variants {
        for t in &v.targets {
            for p in t.phases.iter().filter(|p| !p.warmup) {
                for a in p.actors.iter().filter(|a| a.records > 0) {
                    let pair = (p.name.clone(), a.name.clone());
                    if !pairs.contains(&pair) {
                        pairs.push(pair);
                    }
                }
            }
        }
    }
    pairs
        .into_iter()
        .map(|(phase, actor)| SideBySide {
            rows: report
                .variants
                .iter()
                .map(|v| SideRow {
                    variant: v.label.clone(),
                    cells: targets
                        .iter()
                        .map(|name| {
                            let a = v
                                .targets
                                .iter()
                                .find(|t| &t.name == name)?
                                .phases
                                .iter()
                                .find(|p| p.name == phase)?
                                .actors
                                .iter()
                                .find(|a| a.name == actor)?;
                            Some(SideCell {
                                records_per_s: a.records_per_s,
                                p99_ns: a.latency.p99_ns,
                            })
                        })
                        .collect(),
                })
                .collect(),
            phase,
            actor,
            targets: targets.clone(),
        })
        .collect()
}
