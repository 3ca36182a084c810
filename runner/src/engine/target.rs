//! One target of one variant: the store opened, every selected phase run
//! on it in order (a cold cache, a clean restart or a crash between
//! phases as the scenario says), each finished phase told to the
//! observer, and the store closed. Counters of the store instances a
//! restart closed carry over, so a target's statistics cover its whole run.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use super::drive::{run_crash_phase, run_phase};
use super::error::EngineError;
use super::events::{Event, Observer};
use super::options::RunOptions;
use super::{cache, phase, pools, settle};
use crate::metrics::process;
use crate::metrics::report::PhaseReport;
use crate::scenario::model::{Phase, RestartKind, Scenario, Settle, Target, TargetKind};
use crate::store::{self, StoreError, StoreStats};

/// A store every session of a phase may share.
type Shared = Arc<Box<dyn store::Store>>;

/// What a phase gave: its report, `None` when interrupted, or its error.
type PhaseOutcome = Result<Option<PhaseReport>, phase::PhaseError>;

/// Runs every phase of `scenario` (variant `vi`) on `target`, telling
/// `observer` as it opens the store, finishes each phase and closes it.
pub(crate) async fn run_target(
    scenario: &Scenario,
    vi: usize,
    target: &Target,
    dir: &Path,
    pools: &Arc<pools::Pools>,
    opts: &RunOptions,
    observer: &mut dyn Observer,
) -> Result<(), EngineError> {
    let mut run = TargetRun {
        scenario,
        vi,
        target,
        dir,
        pools,
        opts,
        before: process::sample(),
        carried: StoreStats::default(),
    };
    let mut store: Shared =
        Arc::new(store::open(&target.kind, dir).map_err(|e| run.store_err("", e))?);
    let _ = observer.event(&Event::TargetOpened {
        variant: vi,
        target,
        store: &store.stats(),
        software: store.software().as_deref(),
    });
    let mut outcome = Ok(());
    let mut target_error: Option<String> = None;
    for ph in &scenario.phases {
        if !opts.filter.selects_phase(&ph.name) || !ph.runs_on(&target.name) {
            continue;
        }
        if opts.interrupt.load(Ordering::Acquire) {
            break;
        }
        // `settle`: wait out the store's background work first (before a
        // cold reopen, which would only interrupt it).
        let settled = match ph.settle {
            Some(s) => match run.settle(ph, s, &store, observer).await {
                Ok(settled) => Some(settled),
                Err(e) => {
                    target_error = Some(e.to_string());
                    outcome = Err(e);
                    break;
                }
            },
            None => None,
        };
        if opts.interrupt.load(Ordering::Acquire) {
            break;
        }
        // `cache: cold`: close, evict, reopen and evict before the phase.
        let cold = ph.cold && target.kind.capabilities().persistent;
        if cold {
            run.carry_in(store.stats());
            store = cache::reopen_cold(&target.kind, store, dir)
                .map_err(|e| run.store_err(&ph.name, e))?;
        }
        // The store's cumulative statistics before the phase, for its change.
        let stats_before = run.totals(store.stats());
        let result = if is_crash(ph) {
            let (result, back) = run.crash_phase(ph, store, observer).await?;
            store = back;
            result
        } else {
            let label = &scenario.variant.label;
            run_phase(target, ph, pools, &store, opts, label, observer).await
        };
        match result {
            Ok(Some(mut phase_report)) => {
                phase_report.began_cold = cold;
                for (name, v) in settled.iter().flat_map(settle::Settled::metrics) {
                    phase_report.metrics.insert(name.to_owned(), v);
                }
                if ph
                    .restart
                    .as_ref()
                    .is_some_and(|r| r.kind == RestartKind::Clean)
                {
                    store = run.clean_restart(&ph.name, store, &mut phase_report)?;
                }
                if let Err(e) = run.finish_phase(ph, phase_report, &stats_before, &store, observer)
                {
                    outcome = Err(e);
                    break;
                }
            }
            Ok(None) => break, // interrupted: the partial phase is discarded
            Err(e) => {
                target_error = Some(e.to_string());
                outcome = Err(run.phase_err(&ph.name, e));
                break;
            }
        }
    }
    run.closed(observer, run.totals(store.stats()), target_error.as_deref());
    // Close cleanly so persistent stores flush; a close error matters only
    // when nothing else failed first.
    if let Ok(only) = Arc::try_unwrap(store)
        && let Err(e) = only.close()
        && outcome.is_ok()
    {
        outcome = Err(run.store_err("", e));
    }
    outcome
}

/// One target's run: what its phases share.
struct TargetRun<'a> {
    scenario: &'a Scenario,
    vi: usize,
    target: &'a Target,
    dir: &'a Path,
    pools: &'a Arc<pools::Pools>,
    opts: &'a RunOptions,
    /// The process's counters when the target opened.
    before: process::Sample,
    /// Statistics of store instances closed by restarts, so counters cover
    /// the whole run rather than restart at each reopen.
    carried: StoreStats,
}

impl TargetRun<'_> {
    fn store_err(&self, phase: &str, source: StoreError) -> EngineError {
        EngineError::Store {
            target: self.target.name.clone(),
            phase: phase.to_owned(),
            source,
        }
    }

    fn phase_err(&self, phase: &str, e: phase::PhaseError) -> EngineError {
        match e {
            phase::PhaseError::Store(source) => self.store_err(phase, source),
            phase::PhaseError::Spawn(source) => EngineError::Thread {
                target: self.target.name.clone(),
                phase: phase.to_owned(),
                source,
            },
        }
    }

    /// Says the target is done (with `error` when it failed).
    fn closed(&self, observer: &mut dyn Observer, stats: StoreStats, error: Option<&str>) {
        let _ = observer.event(&Event::TargetClosed {
            variant: self.vi,
            target: &self.target.name,
            store: &stats,
            process: &process::delta(self.before, process::sample()),
            error,
        });
    }

    /// Adds the statistics of a store instance about to close to those carried.
    fn carry_in(&mut self, closing: StoreStats) {
        let carried = std::mem::take(&mut self.carried);
        self.carried = carry(&self.target.kind, carried, closing);
    }

    /// The target's statistics so far: those carried plus `now`'s.
    fn totals(&self, now: StoreStats) -> StoreStats {
        carry(&self.target.kind, self.carried.clone(), now)
    }

    /// The store to itself: every session of the previous phase has ended.
    fn sole(&self, store: Shared, phase: &str) -> Result<Box<dyn store::Store>, EngineError> {
        Arc::try_unwrap(store).map_err(|_| {
            self.store_err(
                phase,
                StoreError::Invalid {
                    op: "restart",
                    detail: "the store is still in use".to_owned(),
                },
            )
        })
    }

    /// Runs a crash or power-loss phase and returns its outcome with the
    /// store to go on with. A crash replaces the store instance (the
    /// writes of a crash child are its own and not counted here); a power
    /// loss runs on a simulated store and hands this one back untouched.
    /// When the store could not be reopened the target is closed here and
    /// the phase's error returned.
    async fn crash_phase(
        &mut self,
        ph: &Phase,
        store: Shared,
        observer: &mut dyn Observer,
    ) -> Result<(PhaseOutcome, Shared), EngineError> {
        if ph
            .restart
            .as_ref()
            .is_some_and(|r| r.kind == RestartKind::Crash)
        {
            self.carry_in(store.stats());
        }
        let only = self.sole(store, &ph.name)?;
        let (result, back) = run_crash_phase(
            self.scenario,
            self.target,
            ph,
            self.pools,
            only,
            self.dir,
            self.opts,
            &self.scenario.variant.label,
            observer,
        )
        .await;
        match back {
            Some(s) => Ok((result, Arc::new(s))),
            None => {
                // The store could not be reopened: nothing is left to close.
                let e = result.err().unwrap_or_else(|| {
                    phase::PhaseError::Store(StoreError::Invalid {
                        op: "restart",
                        detail: "the store was not reopened".to_owned(),
                    })
                });
                self.closed(observer, self.carried.clone(), Some(&e.to_string()));
                Err(self.phase_err(&ph.name, e))
            }
        }
    }

    /// `settle` before phase `ph`: waits until `store` is quiescent. A
    /// timeout is [`EngineError::Settle`] under `on_timeout: fail`, and
    /// a warning under `measure` (the phase's `settle.timed_out` says it).
    async fn settle(
        &self,
        ph: &Phase,
        s: Settle,
        store: &Shared,
        observer: &mut dyn Observer,
    ) -> Result<settle::Settled, EngineError> {
        let settled =
            settle::settle(store.as_ref().as_ref(), s.timeout, &self.opts.interrupt).await;
        if settled.timed_out {
            if s.fail_on_timeout {
                return Err(EngineError::Settle {
                    target: self.target.name.clone(),
                    phase: ph.name.clone(),
                    timeout: s.timeout,
                    left: settled.after,
                });
            }
            let _ = observer.event(&Event::Warning(&format!(
                "target `{}`, phase `{}`: the store did not settle within {} ({} left); measuring anyway",
                self.target.name,
                ph.name,
                crate::units::format_duration(s.timeout),
                settled.after
            )));
        }
        Ok(settled)
    }

    /// `restart: clean` after a phase: close the store, reopen it and
    /// record how long the reopen took in `report`.
    fn clean_restart(
        &mut self,
        phase: &str,
        store: Shared,
        report: &mut PhaseReport,
    ) -> Result<Shared, EngineError> {
        // Every session ended with the phase, so the store is ours alone.
        self.carry_in(store.stats());
        let only = self.sole(store, phase)?;
        only.close().map_err(|e| self.store_err(phase, e))?;
        let t0 = Instant::now();
        let reopened =
            store::open(&self.target.kind, self.dir).map_err(|e| self.store_err(phase, e))?;
        report
            .metrics
            .insert("reopen.duration".to_owned(), t0.elapsed().as_nanos() as f64);
        Ok(Arc::new(reopened))
    }

    /// Tells `observer` a phase finished, with the store's change over it;
    /// an error when its results could not be saved.
    fn finish_phase(
        &self,
        ph: &Phase,
        mut report: PhaseReport,
        stats_before: &StoreStats,
        store: &Shared,
        observer: &mut dyn Observer,
    ) -> Result<(), EngineError> {
        let stats_after = self.totals(store.stats());
        report.stats.store = crate::metrics::store_stats::phase_change(
            &self.target.kind,
            stats_before,
            &stats_after,
        );
        let finished = Event::PhaseFinished {
            variant: self.vi,
            target: &self.target.name,
            phase: &report,
            store: &stats_after,
            process: &process::delta(self.before, process::sample()),
        };
        observer
            .event(&finished)
            .map_err(|source| EngineError::Output {
                target: self.target.name.clone(),
                phase: ph.name.clone(),
                source,
            })
    }
}

/// True for the restarts `crash` orchestrates (crash, power loss).
fn is_crash(ph: &Phase) -> bool {
    ph.restart
        .as_ref()
        .is_some_and(|r| matches!(r.kind, RestartKind::Crash | RestartKind::PowerLoss))
}

/// Adds a reopened store's statistics to those of its earlier instances:
/// counters add up; levels (gauges and ratios) are the current instance's.
fn carry(kind: &TargetKind, mut earlier: StoreStats, now: StoreStats) -> StoreStats {
    for (k, v) in now.values {
        let level = kind.is_level(&k);
        let slot = earlier.values.entry(k).or_insert(0.0);
        *slot = if level { v } else { *slot + v };
    }
    if now.appendix.is_some() {
        earlier.appendix = now.appendix;
    }
    earlier
}
