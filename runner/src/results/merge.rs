//! `loadline merge`: run reports of one scenario — the shards of one run,
//! or repeated runs — put together into one report, with each cell
//! (variant × target) folded over every input that measured it (see
//! `fold`: rounds add up, histograms are added losslessly) and the
//! assertions judged once, on the merged data, by the same `judge` a run
//! uses. Merging the shards of a run gives the report the unsharded run
//! writes.
//!
//! Refuses inputs that cannot belong together (another scenario, seed,
//! resolved document or loadline version) and a set of shards with cells
//! missing, naming what differs.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::engine::Ending;
use crate::metrics::report::{
    CellId, MergedInput, RepeatInfo, RunReport, RunStatus, VariantReport,
};
use crate::scenario::Loader;
use crate::scenario::load::Source;
use crate::scenario::model::Scenario;

use super::builder::{ReportBuilder, Selection};
use crate::engine::CellFilter;

/// Why the inputs cannot be merged.
#[derive(Debug, thiserror::Error)]
pub(crate) enum MergeError {
    /// Nothing to merge.
    #[error("nothing to merge: give one or more run directories")]
    Empty,
    /// Two inputs differ where they must agree.
    #[error(
        "cannot merge {} and {}: different {what} (`{first}` and `{other}`)",
        first_path.display(),
        other_path.display()
    )]
    Mismatch {
        /// What differs: `scenario`, `seed`, `loadline version` …
        what: &'static str,
        /// The first input.
        first_path: PathBuf,
        /// Its value.
        first: String,
        /// The input that differs.
        other_path: PathBuf,
        /// Its value.
        other: String,
    },
    /// The resolved scenario recorded in an input does not load.
    #[error("{}: its resolved scenario does not load: {message}", path.display())]
    Scenario {
        /// The input.
        path: PathBuf,
        /// The loader's diagnostics.
        message: String,
    },
    /// Shards were given, but some cells are in none of them.
    #[error(
        "the inputs are shards, but no input holds {}: merge every shard",
        describe(missing)
    )]
    Incomplete {
        /// The cells in no input.
        missing: Vec<CellId>,
    },
}

fn describe(cells: &[CellId]) -> String {
    cells
        .iter()
        .map(|c| {
            if c.variant.is_empty() {
                format!("`{}`", c.target)
            } else {
                format!("`{}` [{}]", c.target, c.variant)
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The scenario variants an input's report was run from, rebuilt from the
/// resolved documents it records.
fn scenarios(
    path: &Path,
    report: &RunReport,
    loader: &Loader,
) -> Result<Vec<Scenario>, MergeError> {
    report
        .variants
        .iter()
        .map(|v| {
            // Without its matrix: this variant's values are already in it
            // (as the crash child loads it).
            let mut doc = v.resolved.clone();
            if let Some(o) = doc.as_object_mut() {
                o.remove("matrix");
            }
            let source = Source {
                name: report.file.clone(),
                text: doc.to_string(),
            };
            let loaded = loader
                .load_source(source, Path::new(&report.file), &[])
                .map_err(|d| MergeError::Scenario {
                    path: path.to_path_buf(),
                    message: d.render(),
                })?;
            let mut s = loaded
                .variants
                .into_iter()
                .next()
                .ok_or_else(|| MergeError::Scenario {
                    path: path.to_path_buf(),
                    message: "no variant".to_owned(),
                })?;
            s.variant.label = v.label.clone();
            s.variant.settings = v.settings.clone();
            s.resolved = v.resolved.clone();
            Ok(s)
        })
        .collect()
}

fn check(
    what: &'static str,
    first: (&Path, String),
    other: (&Path, String),
) -> Result<(), MergeError> {
    if first.1 == other.1 {
        return Ok(());
    }
    Err(MergeError::Mismatch {
        what,
        first_path: first.0.to_path_buf(),
        first: first.1,
        other_path: other.0.to_path_buf(),
        other: other.1,
    })
}

/// Merges `inputs` (each a `run.json` path and its report, in the order
/// given); the store kinds of `loader` rebuild the scenario for judging.
pub(crate) fn merge(
    inputs: &[(PathBuf, RunReport)],
    loader: &Loader,
) -> Result<RunReport, MergeError> {
    let ((first_path, first), _) = inputs.split_first().ok_or(MergeError::Empty)?;
    for (path, r) in &inputs[1..] {
        check_belongs(first_path, first, path, r)?;
    }
    let variants = scenarios(first_path, first, loader)?;
    let sel = Selection {
        filter: CellFilter {
            phases: first.only_phases.clone(),
            targets: first.only_targets.clone(),
            cells: None,
        },
        repeat: 1,
        baseline: None,
    };
    let held = held_cells(inputs, &variants, &sel);
    if inputs.iter().all(|(_, r)| r.shard.is_some()) {
        check_complete(&variants, &sel, &held)?;
    }
    // The run's own builder, each input one more round of the cells it holds.
    let mut builder = ReportBuilder::new(
        merged_header(first, inputs),
        &variants,
        Selection {
            filter: CellFilter {
                cells: Some(held),
                ..sel.filter
            },
            ..sel
        },
    );
    for (_, r) in inputs {
        builder.add_round(&r.variants);
    }
    let rank = |s: &RunStatus| match s {
        RunStatus::Complete => 0,
        RunStatus::Running => 1,
        RunStatus::Interrupted => 2,
        RunStatus::Failed => 3,
    };
    let status = inputs
        .iter()
        .map(|(_, r)| r.status.clone())
        .max_by_key(rank)
        .unwrap_or(RunStatus::Complete);
    let ending = match status {
        RunStatus::Complete => Ending::Complete,
        RunStatus::Failed => Ending::Failed,
        RunStatus::Interrupted | RunStatus::Running => Ending::Interrupted,
    };
    builder.finish(ending, inputs.iter().find_map(|(_, r)| r.error.clone()));
    let mut out = builder.report();
    out.status = status;
    // Lines as in the scenario file (the rebuilt scenario is the resolved JSON).
    let lines: BTreeMap<String, Option<usize>> = inputs
        .iter()
        .flat_map(|(_, r)| r.variants.iter().flat_map(|v| &v.assertions))
        .map(|a| (a.assertion.clone(), a.line))
        .collect();
    for a in out.variants.iter_mut().flat_map(|v| &mut v.assertions) {
        a.line = lines.get(&a.assertion).copied().flatten();
    }
    let overlapping = cells_overlap(inputs);
    out.repeat = repeat_info(inputs, overlapping);
    Ok(out)
}

/// Input `r` (at `path`) belongs with the first: the same scenario, seed,
/// loadline version, variants (resolved alike) and filters.
fn check_belongs(
    first_path: &Path,
    first: &RunReport,
    path: &Path,
    r: &RunReport,
) -> Result<(), MergeError> {
    let a = first_path;
    check(
        "scenarios",
        (a, first.scenario.clone()),
        (path, r.scenario.clone()),
    )?;
    check(
        "seeds",
        (a, first.seed.to_string()),
        (path, r.seed.to_string()),
    )?;
    check(
        "loadline versions",
        (a, first.loadline_version.clone()),
        (path, r.loadline_version.clone()),
    )?;
    check("variants", (a, labels(first)), (path, labels(r)))?;
    for (va, vb) in first.variants.iter().zip(&r.variants) {
        if va.resolved != vb.resolved {
            return Err(MergeError::Mismatch {
                what: "resolved scenarios",
                first_path: first_path.to_path_buf(),
                first: variant_name(va),
                other_path: path.to_path_buf(),
                other: format!("{}, which differs", variant_name(vb)),
            });
        }
    }
    check(
        "--phase filters",
        (a, first.only_phases.join(",")),
        (path, r.only_phases.join(",")),
    )?;
    check(
        "--target filters",
        (a, first.only_targets.join(",")),
        (path, r.only_targets.join(",")),
    )
}

/// The cells the inputs hold: those they measured, those their shards
/// were assigned, and every selected cell of an unsharded run.
fn held_cells(
    inputs: &[(PathBuf, RunReport)],
    variants: &[Scenario],
    sel: &Selection,
) -> BTreeSet<(usize, String)> {
    let mut held: BTreeSet<(usize, String)> = BTreeSet::new();
    for (_, r) in inputs {
        for (vi, v) in r.variants.iter().enumerate() {
            for t in &v.targets {
                held.insert((vi, t.name.clone()));
            }
        }
        match &r.shard {
            Some(s) => {
                for c in &s.cells {
                    if let Some(vi) = r.variants.iter().position(|v| v.label == c.variant) {
                        held.insert((vi, c.target.clone()));
                    }
                }
            }
            // An unsharded run was to measure every selected cell.
            None => {
                for (vi, s) in variants.iter().enumerate() {
                    for t in s.targets.iter().filter(|t| sel.selects(vi, &t.name)) {
                        held.insert((vi, t.name.clone()));
                    }
                }
            }
        }
    }
    held
}

/// Shards merged must hold every selected cell between them.
fn check_complete(
    variants: &[Scenario],
    sel: &Selection,
    held: &BTreeSet<(usize, String)>,
) -> Result<(), MergeError> {
    let missing: Vec<CellId> = variants
        .iter()
        .enumerate()
        .flat_map(|(vi, s)| {
            s.targets
                .iter()
                .filter(move |t| sel.selects(vi, &t.name))
                .filter(move |t| !held.contains(&(vi, t.name.clone())))
                .map(move |t| CellId {
                    variant: s.variant.label.clone(),
                    target: t.name.clone(),
                })
        })
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(MergeError::Incomplete { missing })
    }
}

/// The merged run's header: the first input's, spanning every input's
/// start and end, naming the inputs it was merged from.
fn merged_header(first: &RunReport, inputs: &[(PathBuf, RunReport)]) -> RunReport {
    let mut header = first.clone();
    header.variants.clear();
    header.shard = None;
    header.repeat = None;
    header.started_at = inputs
        .iter()
        .map(|(_, r)| r.started_at.clone())
        .min()
        .unwrap_or_default();
    header.finished_at = inputs
        .iter()
        .filter_map(|(_, r)| r.finished_at.clone())
        .max();
    header.stopped_by = inputs.iter().find_map(|(_, r)| r.stopped_by.clone());
    header.merged_from = inputs
        .iter()
        .map(|(path, r)| MergedInput {
            path: path.display().to_string(),
            shard: r.shard.as_ref().map(|s| format!("{}/{}", s.index, s.count)),
            hostname: r.environment.hostname.clone(),
            started_at: r.started_at.clone(),
        })
        .collect();
    header
}

/// True when some cell is in more than one input (repeated runs, not shards).
fn cells_overlap(inputs: &[(PathBuf, RunReport)]) -> bool {
    let mut seen = BTreeSet::new();
    for (_, r) in inputs {
        for (vi, v) in r.variants.iter().enumerate() {
            for t in &v.targets {
                if !seen.insert((vi, t.name.clone())) {
                    return true;
                }
            }
        }
    }
    false
}

fn labels(r: &RunReport) -> String {
    r.variants
        .iter()
        .map(|v| v.label.as_str())
        .collect::<Vec<_>>()
        .join("; ")
}

fn variant_name(v: &VariantReport) -> String {
    if v.label.is_empty() {
        "the scenario".to_owned()
    } else {
        format!("variant {}", v.label)
    }
}

/// Rounds of the merged report: shards of one run keep theirs; repeated
/// runs of the same cells add theirs up.
fn repeat_info(inputs: &[(PathBuf, RunReport)], overlapping: bool) -> Option<RepeatInfo> {
    let each = |r: &RunReport| {
        r.repeat
            .as_ref()
            .map_or((1, 1), |x| (x.rounds, x.completed))
    };
    let (rounds, completed) = if overlapping {
        inputs.iter().fold((0, 0), |(a, b), (_, r)| {
            let (x, y) = each(r);
            (a + x, b + y)
        })
    } else {
        inputs.iter().fold((1, u32::MAX), |(a, b), (_, r)| {
            let (x, y) = each(r);
            (a.max(x), b.min(y))
        })
    };
    (rounds > 1).then_some(RepeatInfo {
        rounds,
        completed,
        orders: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture::run_report;

    fn refused(change: impl Fn(&mut RunReport)) -> String {
        let a = run_report(1);
        let mut b = run_report(1);
        change(&mut b);
        let inputs = vec![
            (PathBuf::from("r/1/run.json"), a),
            (PathBuf::from("r/2/run.json"), b),
        ];
        merge(&inputs, Loader::builtin())
            .expect_err("refused")
            .to_string()
    }

    /// Guards issue 13 item 5: inputs of other scenarios, seeds, versions or
    /// resolved documents are refused, naming both files and both values.
    #[test]
    fn inputs_that_do_not_belong_together_are_refused_by_name() {
        assert_eq!(
            refused(|r| r.loadline_version = "0.2.0 (def5678)".into()),
            "cannot merge r/1/run.json and r/2/run.json: different loadline versions (`0.1.0 (abc1234)` and `0.2.0 (def5678)`)"
        );
        assert_eq!(
            refused(|r| r.scenario = "other".into()),
            "cannot merge r/1/run.json and r/2/run.json: different scenarios (`wal-vs-rocksdb-append` and `other`)"
        );
        assert_eq!(
            refused(|r| r.seed = 43),
            "cannot merge r/1/run.json and r/2/run.json: different seeds (`42` and `43`)"
        );
        let e = refused(|r| r.variants[0].resolved["phases"] = serde_json::json!([]));
        assert!(e.contains("different resolved scenarios"), "{e}");
        let e = merge(&[], Loader::builtin())
            .expect_err("nothing")
            .to_string();
        assert!(e.starts_with("nothing to merge"), "{e}");
    }
}
