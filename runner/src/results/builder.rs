//! The one builder of the [`RunReport`]: subscribes to the engine's
//! [`Event`]s, owns the report, folds `--repeat` rounds (see `fold`) and
//! evaluates the assertions — in [`judge`], the one place they are
//! evaluated. `merge` uses the same builder: each input's cells are one
//! more round ([`ReportBuilder::add_round`]), so shards and repeated runs
//! fold exactly as a run's own rounds do.
//!
//! Cells (variant × target) are placed in file order whatever order they
//! ran in (rounds rotate the targets; shards run a part), so a report's
//! shape depends on the scenario, not on the schedule.

use std::collections::BTreeSet;

use crate::engine::{CellFilter, Ending, Event, Observer, ObserverError, RunOptions};
use crate::metrics::report::{
    PayloadReport, RepeatInfo, RunReport, RunStatus, TargetReport, VariantReport,
};
use crate::scenario::model::Scenario;

/// One variant as measured in one round.
#[derive(Debug, Clone)]
struct VariantSlot {
    payloads: Vec<PayloadReport>,
    /// By the target's index in the scenario.
    targets: Vec<Option<TargetReport>>,
}

/// One round of the run.
#[derive(Debug, Clone, Default)]
struct Round {
    order: Vec<String>,
    /// By variant index.
    variants: Vec<Option<VariantSlot>>,
}

/// Assembles the report of a run from its events.
#[derive(Debug)]
pub(crate) struct ReportBuilder {
    /// Top-level fields (version, seed, environment …); `variants` empty.
    header: RunReport,
    scenarios: Vec<Scenario>,
    opts: Selection,
    rounds: Vec<Round>,
    /// Variants whose assertions snapshots show (they finished a round).
    judged: BTreeSet<usize>,
    ending: Option<(Ending, Option<String>)>,
    /// Distinct (variant, target, phase) finished: the folded report's phase count.
    distinct: BTreeSet<(usize, String, String)>,
}

/// Which cells and phases a run planned, for judging assertions.
#[derive(Debug, Clone, Default)]
pub(crate) struct Selection {
    /// `--phase`, `--target` and `--shard`.
    pub filter: CellFilter,
    /// Rounds planned.
    pub repeat: usize,
    /// The run `… of baseline` assertions read (`--baseline`).
    pub baseline: Option<std::sync::Arc<RunReport>>,
}

impl Selection {
    /// The selection `opts` runs, judged against `baseline`.
    pub(crate) fn of(opts: &RunOptions, baseline: Option<std::sync::Arc<RunReport>>) -> Self {
        Selection {
            filter: opts.filter.clone(),
            repeat: opts.repeat.max(1),
            baseline,
        }
    }

    /// True when the run was to measure `target` of variant `variant`.
    pub(crate) fn selects(&self, variant: usize, target: &str) -> bool {
        self.filter.selects(variant, target)
    }
}

impl ReportBuilder {
    /// A builder for a run of `scenarios` (the variants of one file)
    /// selected by `opts`; `header` carries the top-level fields.
    pub(crate) fn new(header: RunReport, scenarios: &[Scenario], opts: Selection) -> Self {
        ReportBuilder {
            header,
            scenarios: scenarios.to_vec(),
            opts,
            rounds: Vec::new(),
            judged: BTreeSet::new(),
            ending: None,
            distinct: BTreeSet::new(),
        }
    }

    /// Adds a finished measurement of some cells as one more round: the
    /// variants of another report of the same scenario (a shard, or a
    /// repeated run, for `merge`), matched by variant index and target name.
    pub(crate) fn add_round(&mut self, variants: &[VariantReport]) {
        let mut round = Round::default();
        for (vi, scenario) in self.scenarios.iter().enumerate() {
            let Some(v) = variants.get(vi) else {
                round.variants.push(None);
                continue;
            };
            let targets = scenario
                .targets
                .iter()
                .map(|t| v.targets.iter().find(|x| x.name == t.name).cloned())
                .collect();
            for t in &v.targets {
                for p in &t.phases {
                    self.distinct.insert((vi, t.name.clone(), p.name.clone()));
                }
            }
            round.variants.push(Some(VariantSlot {
                payloads: v.payloads.clone(),
                targets,
            }));
        }
        self.rounds.push(round);
    }

    /// Phases the report holds so far (each cell's phase once, however
    /// many rounds ran it).
    pub(crate) fn finished_phases(&self) -> usize {
        self.distinct.len()
    }

    fn round(&mut self) -> &mut Round {
        if self.rounds.is_empty() {
            self.rounds.push(Round::default());
        }
        let n = self.scenarios.len();
        let r = self.rounds.last_mut().expect("a round was just pushed");
        if r.variants.len() < n {
            r.variants.resize(n, None);
        }
        r
    }

    /// The kind of target `target` of variant `vi`.
    fn kind(&self, vi: usize, target: &str) -> Option<crate::store::TargetKind> {
        let t = self
            .scenarios
            .get(vi)?
            .targets
            .iter()
            .find(|t| t.name == target)?;
        Some(t.kind.clone())
    }

    fn slot(&mut self, vi: usize, target: &str) -> Option<&mut TargetReport> {
        let ti = self
            .scenarios
            .get(vi)?
            .targets
            .iter()
            .position(|t| t.name == target)?;
        self.round()
            .variants
            .get_mut(vi)?
            .as_mut()?
            .targets
            .get_mut(ti)?
            .as_mut()
    }

    /// The report so far: rounds folded, assertions judged on the variants
    /// that finished (on every variant once the run is over).
    pub(crate) fn report(&self) -> RunReport {
        let finished = self.ending.is_some();
        let mut report = self.header.clone();
        for (vi, scenario) in self.scenarios.iter().enumerate() {
            let slots: Vec<&VariantSlot> = self
                .rounds
                .iter()
                .filter_map(|r| r.variants.get(vi)?.as_ref())
                .collect();
            if slots.is_empty() && !finished {
                continue;
            }
            let targets = (0..scenario.targets.len())
                .filter_map(|ti| {
                    let parts: Vec<&TargetReport> = slots
                        .iter()
                        .filter_map(|s| s.targets.get(ti)?.as_ref())
                        .collect();
                    super::fold::fold_targets(&parts)
                })
                .collect();
            let v = VariantReport {
                label: scenario.variant.label.clone(),
                settings: scenario.variant.settings.clone(),
                resolved: scenario.resolved.clone(),
                payloads: slots
                    .first()
                    .map(|s| s.payloads.clone())
                    .unwrap_or_default(),
                targets,
                assertions: Vec::new(),
            };
            report.variants.push(v);
        }
        judge(&mut report, &self.scenarios, &self.opts);
        // Snapshots written between variants carry the verdicts of the
        // variants that finished; the others are judged at the end.
        if !finished {
            for (vi, v) in report.variants.iter_mut().enumerate() {
                if !self.judged.contains(&vi) {
                    v.assertions.clear();
                }
            }
        }
        if self.opts.repeat > 1 {
            let complete = match self.ending {
                Some((Ending::Complete, _)) => self.rounds.len(),
                _ => self.rounds.len().saturating_sub(1),
            };
            report.repeat = Some(RepeatInfo {
                rounds: self.opts.repeat as u32,
                completed: complete as u32,
                orders: self.rounds.iter().map(|r| r.order.clone()).collect(),
            });
        }
        report.only_phases = self.opts.filter.phases.clone();
        report.only_targets = self.opts.filter.targets.clone();
        match &self.ending {
            None => report.status = RunStatus::Running,
            Some((ending, error)) => {
                report.status = match ending {
                    Ending::Complete => RunStatus::Complete,
                    Ending::Interrupted => RunStatus::Interrupted,
                    Ending::Failed => RunStatus::Failed,
                };
                report.error = error.clone();
            }
        }
        report
    }
}

impl ReportBuilder {
    /// The run is over: [`ReportBuilder::report`] now judges every variant.
    pub(crate) fn finish(&mut self, ending: Ending, error: Option<String>) {
        self.ending = Some((ending, error));
    }
}

impl Observer for ReportBuilder {
    fn event(&mut self, event: &Event<'_>) -> Result<(), ObserverError> {
        match event {
            Event::RoundStarted { order, .. } => self.rounds.push(Round {
                order: order.to_vec(),
                variants: Vec::new(),
            }),
            Event::VariantStarted { variant, payloads } => {
                let n = self.scenarios.get(*variant).map_or(0, |s| s.targets.len());
                if let Some(v) = self.round().variants.get_mut(*variant) {
                    *v = Some(VariantSlot {
                        payloads: payloads.to_vec(),
                        targets: vec![None; n],
                    });
                }
            }
            Event::TargetOpened {
                variant,
                target,
                store,
                software,
            } => {
                let report = TargetReport {
                    name: target.name.clone(),
                    kind: target.kind.name().to_owned(),
                    software: software.map(str::to_owned),
                    phases: Vec::new(),
                    store: crate::metrics::store_stats::target_totals(&target.kind, &[], store),
                    store_units: target
                        .kind
                        .statistics()
                        .iter()
                        .map(|d| (d.name.to_owned(), d.unit))
                        .collect(),
                    process: Default::default(),
                    error: None,
                    spread: Default::default(),
                };
                let ti = self
                    .scenarios
                    .get(*variant)
                    .and_then(|s| s.targets.iter().position(|t| t.name == target.name));
                if let Some(ti) = ti
                    && let Some(Some(v)) = self.round().variants.get_mut(*variant)
                    && let Some(t) = v.targets.get_mut(ti)
                {
                    *t = Some(report);
                }
            }
            Event::PhaseFinished {
                variant,
                target,
                phase,
                store,
                process,
            } => {
                self.distinct
                    .insert((*variant, (*target).to_owned(), phase.name.clone()));
                let kind = self.kind(*variant, target);
                if let Some(t) = self.slot(*variant, target) {
                    t.phases.push((*phase).clone());
                    t.store = totals(kind.as_ref(), &t.phases, store);
                    t.process = **process;
                }
            }
            Event::TargetClosed {
                variant,
                target,
                store,
                process,
                error,
            } => {
                let kind = self.kind(*variant, target);
                if let Some(t) = self.slot(*variant, target) {
                    t.store = totals(kind.as_ref(), &t.phases, store);
                    t.process = **process;
                    t.error = error.map(str::to_owned);
                }
            }
            Event::VariantFinished { variant } => {
                self.judged.insert(*variant);
            }
            Event::RunFinished { ending, error } => self.finish(*ending, error.map(str::to_owned)),
            Event::PhaseStarted { .. }
            | Event::WorkersDone
            | Event::Tick
            | Event::Intervals { .. }
            | Event::Warning(_) => {}
        }
        Ok(())
    }
}

/// A target's store totals after `phases`: counters summed over its
/// measured phases (warmup excluded), levels as the store reports them now.
fn totals(
    kind: Option<&crate::store::TargetKind>,
    phases: &[crate::metrics::report::PhaseReport],
    now: &crate::store::StoreStats,
) -> crate::store::StoreStats {
    match kind {
        Some(kind) => crate::metrics::store_stats::target_totals(kind, phases, now),
        None => now.clone(),
    }
}

/// Evaluates every assertion of the run on the (folded) report, in
/// [`crate::results::judge::evaluate_run`], the one place assertions are
/// judged (not-run rules included); with rounds, every metric is the
/// median of the rounds.
pub(crate) fn judge(report: &mut RunReport, scenarios: &[Scenario], sel: &Selection) {
    crate::results::judge::evaluate_run(scenarios, &sel.filter, report, sel.baseline.as_deref());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::report::{Environment, ProcessStats};
    use crate::metrics::verdict::Verdict;
    use crate::report::fixture::run_report;
    use crate::store::StoreStats;

    fn variants() -> Vec<Scenario> {
        crate::scenario::test_variants(
            "version: 1\nname: t\ntargets:\n  a: { memory: {} }\n  b: { memory: {} }\npayloads:\n  p: { size: 64B, pool: 16 }\nphases:\n  - name: write\n    records: 10\n    actors: [{ op: append }]\nassertions:\n  - write.append.records == 10\n",
        )
    }

    fn header() -> RunReport {
        let mut r = run_report(1);
        r.variants.clear();
        r.environment = Environment::default();
        r
    }

    /// A phase report named `write` whose actor `append` wrote `records`.
    fn write_phase(records: u64) -> crate::metrics::report::PhaseReport {
        let mut p = run_report(1).variants[0].targets[0].phases[1].clone();
        p.name = "write".to_owned();
        p.actors.truncate(1);
        p.actors[0].name = "append".to_owned();
        p.actors[0].records = records;
        p
    }

    fn cell(b: &mut ReportBuilder, scenario: &Scenario, target: usize, records: u64) {
        let t = &scenario.targets[target];
        let (stats, process) = (StoreStats::default(), ProcessStats::default());
        for e in [
            Event::TargetOpened {
                variant: 0,
                target: t,
                store: &stats,
                software: None,
            },
            Event::PhaseFinished {
                variant: 0,
                target: &t.name,
                phase: &write_phase(records),
                store: &stats,
                process: &process,
            },
            Event::TargetClosed {
                variant: 0,
                target: &t.name,
                store: &stats,
                process: &process,
                error: None,
            },
        ] {
            b.event(&e).unwrap();
        }
    }

    /// Guards issue 13 item 6: the builder alone assembles the report from
    /// events — cells in file order whatever order they ran in, assertions
    /// judged once the variant finished (not in a snapshot before), and
    /// on the median once rounds fold.
    #[test]
    fn events_become_a_report_in_file_order_judged_when_the_variant_ends() {
        let vs = variants();
        let mut b = ReportBuilder::new(
            header(),
            &vs,
            Selection {
                repeat: 3,
                ..Selection::default()
            },
        );
        for (round, order) in [["b", "a"], ["a", "b"], ["b", "a"]].iter().enumerate() {
            let order: Vec<String> = order.iter().map(|s| (*s).to_owned()).collect();
            b.event(&Event::RoundStarted { order: &order }).unwrap();
            b.event(&Event::VariantStarted {
                variant: 0,
                payloads: &[],
            })
            .unwrap();
            // b first, then a; a writes 10 records in two rounds of three.
            cell(&mut b, &vs[0], 1, 10);
            cell(&mut b, &vs[0], 0, if round == 1 { 9 } else { 10 });
            if round == 0 {
                let snapshot = b.report();
                assert_eq!(snapshot.status, RunStatus::Running);
                assert!(snapshot.variants[0].assertions.is_empty(), "not judged yet");
            }
            b.event(&Event::VariantFinished { variant: 0 }).unwrap();
        }
        b.event(&Event::RunFinished {
            ending: Ending::Complete,
            error: None,
        })
        .unwrap();
        let r = b.report();
        assert_eq!(r.status, RunStatus::Complete);
        let names: Vec<&str> = r.variants[0]
            .targets
            .iter()
            .map(|t| t.name.as_str())
            .collect();
        assert_eq!(names, ["a", "b"]);
        let a = &r.variants[0].targets[0];
        assert_eq!(a.spread["write.append.records"].values, [10.0, 9.0, 10.0]);
        assert_eq!(a.phases[0].actors[0].records, 10, "the median");
        let verdicts: Vec<(&str, Verdict)> = r.variants[0]
            .assertions
            .iter()
            .map(|x| (x.target.as_str(), x.verdict))
            .collect();
        assert_eq!(verdicts, [("a", Verdict::Pass), ("b", Verdict::Pass)]);
        let rep = r.repeat.expect("rounds");
        assert_eq!((rep.rounds, rep.completed), (3, 3));
        assert_eq!(rep.orders[0], ["b", "a"]);
    }
}
