//! The engine: runs every phase of every variant against every target,
//! `--repeat` rounds of it with the target order rotated between rounds,
//! on the cells `--target` and `--shard` select, and tells an
//! [`Observer`] each step as an [`Event`]. It holds no report: the report
//! builder subscribes and assembles one (see `results::builder`).
//!
//! This is loadline's only async code: tokio orchestrates phases, the
//! phase deadline, stop signals (`signals`: SIGINT, SIGTERM, SIGHUP) and
//! progress ticks, while workers run on OS threads (`worker`, started
//! together behind a `gate`) and never touch the runtime. Every thread is
//! spawned fallibly: one the OS refuses stops the run with
//! [`EngineError::Thread`], never a panic or a hang. The engine never
//! formats text; outputs subscribe through [`Observer`].

pub mod acks;
mod cache;
pub mod crash;
pub mod datadir;
pub mod events;
pub mod gate;
pub mod hooks;
pub mod phase;
pub mod pools;
pub mod schedule;
pub mod select;
pub mod signals;
pub mod verify;
pub mod verify_kv;
pub mod worker;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

pub use events::{Ending, Event, Observer, ObserverError};
pub use select::CellFilter;

use crate::metrics::process;
use crate::metrics::report::PayloadReport;
use crate::scenario::model::{Phase, RestartKind, Scenario, Target};
use crate::store::{self, StoreError};

/// How to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Seed of every random stream.
    pub seed: u64,
    /// Where target data directories are created.
    pub data_dir: PathBuf,
    /// Keep data directories after the run.
    pub keep_data: bool,
    /// Open the data a kept directory holds instead of starting empty
    /// (`--reuse-data`); implies `keep_data`.
    pub reuse_data: bool,
    /// The phases, targets and cells to run (`--phase`, `--target`, `--shard`).
    pub filter: CellFilter,
    /// Set to interrupt the run (Ctrl-C); finished phases are kept.
    pub interrupt: Arc<AtomicBool>,
    /// Rounds (`--repeat`, at least 1): each runs every selected cell once;
    /// round `r` starts with the target `r` places down the list.
    pub repeat: usize,
    /// Timeline interval for every phase (`--interval`), overriding the
    /// scenario's `interval:`.
    pub interval: Option<Duration>,
    /// `--crash-hook` and `--after-crash-hook`, for `restart: crash` phases.
    pub crash_hooks: hooks::CrashHooks,
}

impl RunOptions {
    /// True when the target called `target` of variant `variant` is to run
    /// (`--target` and `--shard` select it).
    pub fn selects(&self, variant: usize, target: &str) -> bool {
        self.filter.selects(variant, target)
    }
}

/// The targets of `scenario` that `selected` admits, in the order round
/// `round` runs them: the file order rotated left by `round`, so each
/// target is first once every `targets` rounds and a noisy minute falls
/// on every target in turn.
pub fn round_order(
    scenario: &Scenario,
    round: usize,
    selected: impl Fn(&Target) -> bool,
) -> Vec<&Target> {
    let mut order: Vec<&Target> = scenario.targets.iter().filter(|t| selected(t)).collect();
    let n = order.len().max(1);
    order.rotate_left(round % n);
    order
}

/// A failure that stops the run; finished phases stay in the report.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// A store operation failed.
    #[error("target `{target}`, {}: {source}", during(phase))]
    Store {
        /// Target name.
        target: String,
        /// Phase name (empty while opening or closing).
        phase: String,
        /// The store's error.
        #[source]
        source: StoreError,
    },
    /// An OS thread could not be started (a process or thread limit).
    #[error("target `{target}`, {}: {source}", during(phase))]
    Thread {
        /// Target name.
        target: String,
        /// Phase name.
        phase: String,
        /// Which thread, how many were running, the OS error.
        #[source]
        source: phase::SpawnError,
    },
    /// A data directory could not be claimed, cleared or removed.
    #[error(transparent)]
    DataDir(#[from] datadir::DirError),
    /// A payload could not be prepared.
    #[error(transparent)]
    Payload(#[from] pools::PoolError),
    /// The results of a finished phase could not be saved.
    #[error("target `{target}`, phase `{phase}`: saving the results: {source}")]
    Output {
        /// Target name.
        target: String,
        /// The phase whose results were not saved.
        phase: String,
        /// The observer's error (e.g. "cannot write out/run.json: no space left").
        #[source]
        source: ObserverError,
    },
}

/// Where a store error happened: a phase, or (empty) opening or closing.
fn during(phase: &str) -> String {
    if phase.is_empty() {
        "opening or closing the store".to_owned()
    } else {
        format!("phase `{phase}`")
    }
}

/// True for the restarts `crash` orchestrates (crash, power loss).
fn is_crash(ph: &Phase) -> bool {
    ph.restart
        .as_ref()
        .is_some_and(|r| matches!(r.kind, RestartKind::Crash | RestartKind::PowerLoss))
}

/// A file-name part made of `s`: letters, digits, `-` and `_` kept, the
/// rest `_` (target data directories, `.hlog` files).
pub(crate) fn file_name_part(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Claims the data directory of every selected target of every variant.
fn claim_dirs(
    variants: &[Scenario],
    opts: &RunOptions,
) -> Result<std::collections::BTreeMap<(usize, String), datadir::OwnedDir>, EngineError> {
    let reuse = if opts.reuse_data {
        datadir::Reuse::Existing
    } else {
        datadir::Reuse::Fresh
    };
    let mut dirs = std::collections::BTreeMap::new();
    for (vi, scenario) in variants.iter().enumerate() {
        for target in &scenario.targets {
            if !opts.selects(vi, &target.name) {
                continue;
            }
            let dir = opts.data_dir.join(if variants.len() > 1 {
                format!("{vi}-{}", file_name_part(&target.name))
            } else {
                file_name_part(&target.name)
            });
            let owned = datadir::OwnedDir::claim(&dir, target.kind.name(), reuse)?;
            dirs.insert((vi, target.name.clone()), owned);
        }
    }
    Ok(dirs)
}

/// Deletes a target's directory after its run unless the data is kept.
fn release(owned: datadir::OwnedDir, opts: &RunOptions) -> Result<(), EngineError> {
    if opts.keep_data || opts.reuse_data {
        return Ok(());
    }
    Ok(owned.remove()?)
}

/// Runs `variants` (the matrix expansion of one scenario), `opts.repeat`
/// rounds, telling `observer` every step; returns the error that stopped
/// the run, if any (after [`Event::RunFinished`] said so).
pub async fn run(
    variants: &[Scenario],
    opts: &RunOptions,
    observer: &mut dyn Observer,
) -> Option<EngineError> {
    let mut failure = None;
    'rounds: for round in 0..opts.repeat.max(1) {
        if let Some(first) = variants.first() {
            let order: Vec<String> = round_order(first, round, |t| {
                (0..variants.len()).any(|vi| opts.selects(vi, &t.name))
            })
            .iter()
            .map(|t| t.name.clone())
            .collect();
            let _ = observer.event(&Event::RoundStarted {
                round,
                order: &order,
            });
        }
        if let Err(e) = run_round(variants, opts, round, observer).await {
            failure = Some(e);
            break 'rounds;
        }
        if opts.interrupt.load(Ordering::Acquire) {
            break 'rounds;
        }
    }
    let ending = if failure.is_some() {
        Ending::Failed
    } else if opts.interrupt.load(Ordering::Acquire) {
        Ending::Interrupted
    } else {
        Ending::Complete
    };
    let error = failure.as_ref().map(error_chain);
    let _ = observer.event(&Event::RunFinished {
        ending,
        error: error.as_deref(),
    });
    failure
}

/// `e` and its sources, each once: "a: b: c".
fn error_chain(e: &EngineError) -> String {
    let mut msg = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        let s_text = s.to_string();
        if !msg.contains(&s_text) {
            msg.push_str(": ");
            msg.push_str(&s_text);
        }
        src = s.source();
    }
    msg
}

/// One round: every selected cell of every variant once, in a fresh data
/// directory each.
async fn run_round(
    variants: &[Scenario],
    opts: &RunOptions,
    round: usize,
    observer: &mut dyn Observer,
) -> Result<(), EngineError> {
    // Every target directory is claimed (and locked) before anything runs,
    // so a directory in use or not ours stops the run before any work.
    let mut dirs = claim_dirs(variants, opts)?;
    let mut failure = None;
    for (vi, scenario) in variants.iter().enumerate() {
        if !scenario.targets.iter().any(|t| opts.selects(vi, &t.name)) {
            continue;
        }
        let phase_filter: Vec<&str> = opts.filter.phases.iter().map(String::as_str).collect();
        let (pools, payloads): (_, Vec<PayloadReport>) =
            match pools::Pools::prepare(scenario, opts.seed, &phase_filter) {
                Ok(p) => p,
                Err(e) => {
                    failure = Some(e.into());
                    break;
                }
            };
        for p in &payloads {
            if let Some(w) = &p.warning {
                let _ = observer.event(&Event::Warning(w));
            }
        }
        let _ = observer.event(&Event::VariantStarted {
            variant: vi,
            payloads: &payloads,
        });
        let pools = Arc::new(pools);
        let mut stop = false;
        for target in round_order(scenario, round, |t| opts.selects(vi, &t.name)) {
            let Some(owned) = dirs.remove(&(vi, target.name.clone())) else {
                continue;
            };
            let result =
                run_target(scenario, vi, target, owned.path(), &pools, opts, observer).await;
            // The directory goes even when the target failed (unless kept);
            // the target's own error takes precedence.
            let released = release(owned, opts);
            if let Err(e) = result.and(released) {
                failure = Some(e);
                stop = true;
                break;
            }
            if opts.interrupt.load(Ordering::Acquire) {
                stop = true;
                break;
            }
        }
        let _ = observer.event(&Event::VariantFinished { variant: vi });
        if stop {
            break;
        }
    }
    // Directories of targets that never ran (a failure or an interrupt came first).
    for (_, owned) in dirs {
        if let Err(e) = release(owned, opts)
            && failure.is_none()
        {
            failure = Some(e);
        }
    }
    failure.map_or(Ok(()), Err)
}

/// Runs every phase of `scenario` (variant `vi`) on `target`, telling
/// `observer` as it opens the store, finishes each phase and closes it.
async fn run_target(
    scenario: &Scenario,
    vi: usize,
    target: &Target,
    dir: &Path,
    pools: &Arc<pools::Pools>,
    opts: &RunOptions,
    observer: &mut dyn Observer,
) -> Result<(), EngineError> {
    let before = process::sample();
    let store_err = |phase: &str, source| EngineError::Store {
        target: target.name.clone(),
        phase: phase.to_owned(),
        source,
    };
    let phase_err = |phase: &str, e: phase::PhaseError| match e {
        phase::PhaseError::Store(source) => store_err(phase, source),
        phase::PhaseError::Spawn(source) => EngineError::Thread {
            target: target.name.clone(),
            phase: phase.to_owned(),
            source,
        },
    };
    let mut store: Arc<Box<dyn store::Store>> =
        Arc::new(store::open(&target.kind, dir).map_err(|e| store_err("", e))?);
    let _ = observer.event(&Event::TargetOpened {
        variant: vi,
        target,
        store: &store.stats(),
        software: store.software().as_deref(),
    });
    // Says the target is done (with `error` when it failed).
    let closed = |observer: &mut dyn Observer, stats: store::StoreStats, error: Option<&str>| {
        let _ = observer.event(&Event::TargetClosed {
            variant: vi,
            target: &target.name,
            store: &stats,
            process: &process::delta(before, process::sample()),
            error,
        });
    };
    let label = scenario.variant.label.clone();
    let mut outcome = Ok(());
    let mut target_error: Option<String> = None;
    // Statistics of store instances closed by clean restarts, so counters
    // cover the whole run rather than restart at each reopen.
    let mut carried = store::StoreStats::default();
    for ph in &scenario.phases {
        if !opts.filter.selects_phase(&ph.name) || !ph.runs_on(&target.name) {
            continue;
        }
        if opts.interrupt.load(Ordering::Acquire) {
            break;
        }
        // `cache: cold`: close, evict, reopen and evict before the phase.
        let cold = ph.cold && target.kind.capabilities().persistent;
        if cold {
            carried = carry(&target.kind, carried, store.stats());
            store =
                cache::reopen_cold(&target.kind, store, dir).map_err(|e| store_err(&ph.name, e))?;
        }
        // The store's cumulative statistics before the phase, for its change.
        let stats_before = carry(&target.kind, carried.clone(), store.stats());
        let result = if is_crash(ph) {
            // A crash replaces the store instance (the writes of a crash
            // child are its own and not counted here); a power loss runs
            // on a simulated store and hands this one back untouched.
            if ph
                .restart
                .as_ref()
                .is_some_and(|r| r.kind == RestartKind::Crash)
            {
                carried = carry(&target.kind, carried, store.stats());
            }
            // Every session of the previous phase has ended: the store is ours.
            let Ok(only) = Arc::try_unwrap(store) else {
                return Err(store_err(
                    &ph.name,
                    StoreError::Invalid {
                        op: "restart",
                        detail: "the store is still in use".to_owned(),
                    },
                ));
            };
            let (result, back) = run_crash_phase(
                scenario, vi, target, ph, pools, only, dir, opts, &label, observer,
            )
            .await;
            match back {
                Some(s) => store = Arc::new(s),
                None => {
                    // The store could not be reopened: nothing is left to close.
                    let e = result.err().unwrap_or_else(|| {
                        phase::PhaseError::Store(StoreError::Invalid {
                            op: "restart",
                            detail: "the store was not reopened".to_owned(),
                        })
                    });
                    closed(observer, carried, Some(&e.to_string()));
                    return Err(phase_err(&ph.name, e));
                }
            }
            result
        } else {
            run_phase(vi, target, ph, pools, &store, opts, &label, observer).await
        };
        match result {
            Ok(Some(mut phase_report)) => {
                phase_report.began_cold = cold;
                if let Some(r) = &ph.restart
                    && r.kind == RestartKind::Clean
                {
                    // Every session ended with the phase, so the store is ours alone.
                    carried = carry(&target.kind, carried, store.stats());
                    let Ok(only) = Arc::try_unwrap(store) else {
                        return Err(store_err(
                            &ph.name,
                            StoreError::Invalid {
                                op: "restart",
                                detail: "the store is still in use".to_owned(),
                            },
                        ));
                    };
                    only.close().map_err(|e| store_err(&ph.name, e))?;
                    let t0 = Instant::now();
                    store = Arc::new(
                        store::open(&target.kind, dir).map_err(|e| store_err(&ph.name, e))?,
                    );
                    phase_report
                        .metrics
                        .insert("reopen.duration".to_owned(), t0.elapsed().as_nanos() as f64);
                }
                let stats_after = carry(&target.kind, carried.clone(), store.stats());
                phase_report.stats.store = crate::metrics::store_stats::phase_change(
                    &target.kind,
                    &stats_before,
                    &stats_after,
                );
                let finished = Event::PhaseFinished {
                    variant: vi,
                    target: &target.name,
                    phase: &phase_report,
                    store: &stats_after,
                    process: &process::delta(before, process::sample()),
                };
                if let Err(source) = observer.event(&finished) {
                    outcome = Err(EngineError::Output {
                        target: target.name.clone(),
                        phase: ph.name.clone(),
                        source,
                    });
                    break;
                }
            }
            Ok(None) => break, // interrupted: the partial phase is discarded
            Err(e) => {
                target_error = Some(e.to_string());
                outcome = Err(phase_err(&ph.name, e));
                break;
            }
        }
    }
    closed(
        observer,
        carry(&target.kind, carried, store.stats()),
        target_error.as_deref(),
    );
    // Close cleanly so persistent stores flush; a close error matters only
    // when nothing else failed first.
    if let Ok(only) = Arc::try_unwrap(store)
        && let Err(e) = only.close()
        && outcome.is_ok()
    {
        outcome = Err(store_err("", e));
    }
    outcome
}

/// Adds a reopened store's statistics to those of its earlier instances:
/// counters add up; levels (gauges and ratios) are the current instance's.
fn carry(
    kind: &crate::scenario::model::TargetKind,
    mut earlier: store::StoreStats,
    now: store::StoreStats,
) -> store::StoreStats {
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

/// Runs one phase on a blocking thread, ending it at its deadline or on
/// interrupt. `Ok(None)` means it was interrupted.
#[expect(
    clippy::too_many_arguments,
    reason = "the phase context is exactly these parts"
)]
async fn run_phase(
    vi: usize,
    target: &Target,
    ph: &Phase,
    pools: &Arc<pools::Pools>,
    store: &Arc<Box<dyn store::Store>>,
    opts: &RunOptions,
    label: &str,
    observer: &mut dyn Observer,
) -> Result<Option<crate::metrics::report::PhaseReport>, phase::PhaseError> {
    let control = Arc::new(worker::Control::default());
    let progress: Arc<Vec<crate::metrics::progress::Progress>> = Arc::new(
        (0..phase::worker_count(ph))
            .map(|_| crate::metrics::progress::Progress::default())
            .collect(),
    );
    let _ = observer.event(&Event::PhaseStarted {
        variant: vi,
        label,
        target: &target.name,
        phase: ph,
        progress: Arc::clone(&progress),
        store: Some(events::SharedStore(Arc::clone(store))),
        statistics: target.kind.statistics(),
        levels: target.kind.levels(),
    });
    let (ph_owned, target_name, pools, store, ctl, prog, seed) = (
        ph.clone(),
        target.name.clone(),
        Arc::clone(pools),
        Arc::clone(store),
        Arc::clone(&control),
        Arc::clone(&progress),
        opts.seed,
    );
    let (interval, kind) = (opts.interval.unwrap_or(ph.interval), target.kind.clone());
    let mut handle = phase_thread("loadline-phase", move || {
        phase::run(&phase::PhaseRun {
            seed,
            target: &target_name,
            phase: &ph_owned,
            pools: &pools,
            store: store.as_ref().as_ref(),
            control: ctl,
            progress: prog,
            interval,
            kind: Some(&kind),
        })
    })?;
    let started = Instant::now();
    let deadline = ph.duration.map(|d| started + d);
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    let result = loop {
        tokio::select! {
            joined = &mut handle => break joined,
            _ = tick.tick() => {
                let _ = observer.event(&Event::Tick);
                if opts.interrupt.load(Ordering::Acquire) {
                    control.stop.store(true, Ordering::Release);
                }
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    control.stop.store(true, Ordering::Release);
                }
            }
            _ = sleep_until(deadline) => {
                control.stop.store(true, Ordering::Release);
            }
        }
    };
    // Before a restart or close needs the store to itself.
    let _ = observer.event(&Event::WorkersDone {
        variant: vi,
        target: &target.name,
    });
    let report = match result {
        Ok(r) => r?,
        Err(_) => {
            return Err(StoreError::Invalid {
                op: "phase",
                detail: "the phase thread panicked".to_owned(),
            }
            .into());
        }
    };
    if opts.interrupt.load(Ordering::Acquire) {
        return Ok(None);
    }
    Ok(Some(report))
}

/// Runs a crash or power-loss phase on a blocking thread (see `crash`),
/// ticking the observer meanwhile. Returns the phase's outcome and the
/// store to continue with (`None` only when it could not be reopened).
#[expect(
    clippy::too_many_arguments,
    reason = "the phase context is exactly these parts"
)]
async fn run_crash_phase(
    scenario: &Scenario,
    vi: usize,
    target: &Target,
    ph: &Phase,
    pools: &Arc<pools::Pools>,
    store: Box<dyn store::Store>,
    dir: &Path,
    opts: &RunOptions,
    label: &str,
    observer: &mut dyn Observer,
) -> (
    Result<Option<crate::metrics::report::PhaseReport>, phase::PhaseError>,
    Option<Box<dyn store::Store>>,
) {
    let child = match crash::ChildCommand::current_exe() {
        Ok(c) => c,
        Err(e) => return (Err(e.into()), Some(store)),
    };
    let progress: Arc<Vec<crate::metrics::progress::Progress>> =
        Arc::new(vec![crate::metrics::progress::Progress::default()]);
    let _ = observer.event(&Event::PhaseStarted {
        variant: vi,
        label,
        target: &target.name,
        phase: ph,
        progress: Arc::clone(&progress),
        store: None,
        statistics: target.kind.statistics(),
        levels: target.kind.levels(),
    });
    let (scenario, target, ph, pools, dir, interrupt, seed) = (
        scenario.clone(),
        target.clone(),
        ph.clone(),
        Arc::clone(pools),
        dir.to_path_buf(),
        Arc::clone(&opts.interrupt),
        opts.seed,
    );
    let crash_hooks = opts.crash_hooks.clone();
    let handle = phase_thread("loadline-crash", move || {
        let Some(restart) = ph.restart.as_ref() else {
            return (
                Err(StoreError::Invalid {
                    op: "restart",
                    detail: "not a crash phase".to_owned(),
                }),
                Some(store),
            );
        };
        crash::run(
            &crash::CrashRun {
                scenario: &scenario,
                target: &target,
                phase: &ph,
                restart,
                pools: &pools,
                seed,
                dir: &dir,
                interrupt: &interrupt,
                progress,
                child,
                hooks: &crash_hooks,
            },
            store,
        )
    });
    // A failed spawn dropped the store with the closure: nothing to go on with.
    let mut handle = match handle {
        Ok(h) => h,
        Err(e) => return (Err(e.into()), None),
    };
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    loop {
        tokio::select! {
            joined = &mut handle => {
                return match joined {
                    Ok((result, store)) => (result.map_err(Into::into), store),
                    Err(_) => (
                        Err(StoreError::Invalid {
                            op: "phase",
                            detail: "the crash phase thread panicked".to_owned(),
                        }
                        .into()),
                        None,
                    ),
                };
            }
            _ = tick.tick() => {
                let _ = observer.event(&Event::Tick);
            }
        }
    }
}

/// Runs `f` on an OS thread of its own and returns a future of its result
/// (an error if it panicked). Unlike `tokio::task::spawn_blocking`, which
/// panics when the OS refuses a thread (a process limit), a failed spawn
/// is an error the run reports.
fn phase_thread<T: Send + 'static>(
    name: &'static str,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<tokio::sync::oneshot::Receiver<T>, phase::SpawnError> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || {
            // A panic drops `tx`, which the receiver sees as an error.
            let _ = tx.send(f());
        })
        .map_err(|source| phase::SpawnError {
            thread: name.to_owned(),
            started: 0,
            planned: 1,
            source,
        })?;
    Ok(rx)
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(tokio::time::Instant::from_std(d)).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::report::{ActorReport, Environment, RunReport, RunStatus};
    use crate::results::builder::{ReportBuilder, Selection};
    use crate::scenario::load::Source;
    use crate::store::{
        Capabilities, LogBounds, MemoryStore, Offset, ReadBuf, Record, Session, Store, StoreStats,
    };
    use std::sync::atomic::AtomicU64;

    fn scenario(yaml: &str) -> Scenario {
        let src = Source {
            name: "test.yaml".to_owned(),
            text: yaml.to_owned(),
        };
        match crate::scenario::load_source(src, Path::new("test.yaml"), &[]) {
            Ok(l) => l.variants.into_iter().next().expect("one variant"),
            Err(d) => panic!("{}", d.render()),
        }
    }

    fn empty_report() -> RunReport {
        RunReport {
            format_version: crate::metrics::report::RUN_FORMAT_VERSION,
            loadline_version: "test".into(),
            scenario: "test".into(),
            description: None,
            file: "test.yaml".into(),
            seed: 1,
            started_at: String::new(),
            finished_at: None,
            status: RunStatus::Running,
            error: None,
            stopped_by: None,
            environment: Environment::default(),
            variants: Vec::new(),
            repeat: None,
            shard: None,
            only_phases: Vec::new(),
            only_targets: Vec::new(),
            merged_from: Vec::new(),
            source: None,
        }
    }

    /// Runs `variants` with the report builder subscribed; its report.
    async fn run_built(
        variants: &[Scenario],
        opts: &RunOptions,
    ) -> (RunReport, Option<EngineError>) {
        let mut builder = ReportBuilder::new(empty_report(), variants, Selection::of(opts, None));
        let err = run(variants, opts, &mut builder).await;
        (builder.report(), err)
    }

    fn opts(dir: &Path) -> RunOptions {
        RunOptions {
            seed: 7,
            data_dir: dir.to_path_buf(),
            keep_data: false,
            reuse_data: false,
            filter: CellFilter::default(),
            interrupt: Arc::new(AtomicBool::new(false)),
            repeat: 1,
            interval: None,
            crash_hooks: hooks::CrashHooks::default(),
        }
    }

    fn actor<'a>(r: &'a RunReport, phase: &str, actor: &str) -> &'a ActorReport {
        let t = &r.variants[0].targets[0];
        let p = t
            .phases
            .iter()
            .find(|p| p.name == phase)
            .expect("phase ran");
        p.actors
            .iter()
            .find(|a| a.name == actor)
            .expect("actor ran")
    }

    const BASE: &str = "version: 1\nname: t\ntargets:\n  mem:\n    memory: {}\npayloads:\n  p:\n    size: 64B\n    pool: 16\n";

    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn records_are_split_between_workers_and_warmup_is_flagged() {
        let s = scenario(&format!(
            "{BASE}phases:\n  - name: warm\n    warmup: true\n    records: 1000\n    actors:\n      - {{ op: append }}\n  - name: write\n    records: 10_001\n    actors:\n      - {{ op: append, workers: 3, batch: 1, streams: 4 }}\n"
        ));
        let dir = tempfile::tempdir().unwrap();
        let (r, err) = run_built(&[s], &opts(dir.path())).await;
        assert!(err.is_none(), "{err:?}");
        let a = actor(&r, "write", "append");
        assert_eq!(
            a.records, 10_001,
            "every record of the quota, split with the remainder"
        );
        assert_eq!(a.count, 10_001);
        assert_eq!(a.bytes, 10_001 * 64);
        assert!(r.variants[0].targets[0].phases[0].warmup);
        assert_eq!(r.variants[0].targets[0].phases[1].ended_by, "records");
    }

    /// Guards issue 29: gets count what they found. 100 keys put, gets
    /// over a space of 200: about half hit.
    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn gets_count_hits_and_misses() {
        let s = scenario(&format!(
            "{BASE}phases:\n  - name: load\n    records: 100\n    actors:\n      - {{ op: put, keys: {{ space: 100, distribution: sequential }} }}\n  - name: read\n    records: 2000\n    actors:\n      - {{ op: get, workers: 2, keys: {{ space: 200 }} }}\n"
        ));
        let dir = tempfile::tempdir().unwrap();
        let (r, err) = run_built(&[s], &opts(dir.path())).await;
        assert!(err.is_none(), "{err:?}");
        let g = actor(&r, "read", "get");
        let hits = g.metric("hits").expect("a get counts hits");
        let misses = g.metric("misses").expect("and misses");
        assert_eq!(hits + misses, 2000.0);
        let ratio = g.metric("hit_ratio").expect("ratio");
        assert!((0.35..0.65).contains(&ratio), "{ratio}");
        assert_eq!(
            actor(&r, "load", "put").metric("hits"),
            None,
            "only gets count hits"
        );
    }

    /// Guards issue 18 item 10: a run stopped before anything finished
    /// still lists every variant and target with its assertions, marked
    /// not run (it used to say "no assertions").
    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn a_stopped_run_marks_unmeasured_assertions_of_every_variant_not_run() {
        let src = Source {
            name: "test.yaml".to_owned(),
            text: format!(
                "{BASE}phases:\n  - name: write\n    records: 100\n    actors:\n      - {{ op: append }}\nassertions:\n  - write.append.records == 100\nmatrix:\n  payloads.p.size: [64B, 128B]\n"
            ),
        };
        let variants = match crate::scenario::load_source(src, Path::new("test.yaml"), &[]) {
            Ok(l) => l.variants,
            Err(d) => panic!("{}", d.render()),
        };
        assert_eq!(variants.len(), 2);
        let dir = tempfile::tempdir().unwrap();
        let o = opts(dir.path());
        o.interrupt.store(true, Ordering::Release);
        let (r, err) = run_built(&variants, &o).await;
        assert!(err.is_none(), "{err:?}");
        assert_eq!(r.status, RunStatus::Interrupted);
        assert_eq!(r.variants.len(), 2, "the variant never started is listed");
        for v in &r.variants {
            assert_eq!(v.assertions.len(), 1, "{}", v.label);
            assert_eq!(
                v.assertions[0].verdict,
                crate::metrics::verdict::Verdict::NotRun,
                "{}",
                v.label
            );
        }
        assert!(r.variants[1].targets.is_empty());
    }

    /// Guards issue 13 item 2: rounds rotate the target order, and the
    /// report keeps file order with every metric's per-round values.
    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn rounds_rotate_the_targets_and_fold_into_medians() {
        let s = scenario(
            "version: 1\nname: t\ntargets:\n  a:\n    memory: {}\n  b:\n    memory: {}\n  c:\n    memory: {}\npayloads:\n  p:\n    size: 64B\n    pool: 16\nphases:\n  - name: write\n    records: 500\n    actors:\n      - { op: append }\nassertions:\n  - write.append.records == 500\n",
        );
        let dir = tempfile::tempdir().unwrap();
        let mut o = opts(dir.path());
        o.repeat = 3;
        let (r, err) = run_built(&[s], &o).await;
        assert!(err.is_none(), "{err:?}");
        let repeat = r.repeat.clone().expect("rounds recorded");
        assert_eq!((repeat.rounds, repeat.completed), (3, 3));
        assert_eq!(
            repeat.orders,
            [["a", "b", "c"], ["b", "c", "a"], ["c", "a", "b"]]
        );
        let names: Vec<&str> = r.variants[0]
            .targets
            .iter()
            .map(|t| t.name.as_str())
            .collect();
        assert_eq!(names, ["a", "b", "c"], "file order, whatever ran first");
        for t in &r.variants[0].targets {
            let s = &t.spread["write.append.records"];
            assert_eq!(s.values, [500.0, 500.0, 500.0]);
            assert_eq!(t.spread["write.append.p99"].values.len(), 3);
            let h = crate::metrics::recorder::decode(&t.phases[0].actors[0].histogram).unwrap();
            assert_eq!(h.len(), 1_500, "the rounds' histograms are added");
        }
        assert_eq!(r.variants[0].assertions.len(), 3);
        assert!(r.passed());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn duration_ends_a_phase_and_readers_follow_writers() {
        let s = scenario(&format!(
            "{BASE}phases:\n  - name: mixed\n    duration: 300ms\n    actors:\n      - {{ op: append, batch: 4 }}\n      - {{ op: read, from: head }}\n      - {{ op: trim, every: 50ms, keep: 100 }}\n"
        ));
        let dir = tempfile::tempdir().unwrap();
        let started = Instant::now();
        let (r, err) = run_built(&[s], &opts(dir.path())).await;
        assert!(err.is_none(), "{err:?}");
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(actor(&r, "mixed", "append").records > 0);
        assert!(
            actor(&r, "mixed", "read").records > 0,
            "the reader read what the writer wrote"
        );
        assert!(
            actor(&r, "mixed", "trim").count >= 2,
            "the trimmer ran every 50ms"
        );
    }

    /// A store that stalls for 50 ms once every `every` appends.
    struct Stalling {
        inner: MemoryStore,
        every: u64,
        n: Arc<AtomicU64>,
    }
    struct StallingSession {
        inner: Box<dyn Session>,
        every: u64,
        n: Arc<AtomicU64>,
    }
    impl Store for Stalling {
        fn capabilities(&self) -> Capabilities {
            self.inner.capabilities()
        }
        fn session(&self) -> Result<Box<dyn Session>, StoreError> {
            Ok(Box::new(StallingSession {
                inner: self.inner.session()?,
                every: self.every,
                n: Arc::clone(&self.n),
            }))
        }
        fn stats(&self) -> StoreStats {
            self.inner.stats()
        }
        fn close(self: Box<Self>) -> Result<(), StoreError> {
            Ok(())
        }
    }
    impl Session for StallingSession {
        fn append(&mut self, stream: u64, batch: &[Record<'_>]) -> Result<Offset, StoreError> {
            if self.n.fetch_add(1, Ordering::Relaxed) % self.every == self.every - 1 {
                std::thread::sleep(Duration::from_millis(50));
            }
            self.inner.append(stream, batch)
        }
        fn read(
            &mut self,
            s: u64,
            f: Offset,
            m: usize,
            o: &mut ReadBuf,
        ) -> Result<Offset, StoreError> {
            self.inner.read(s, f, m, o)
        }
        fn trim(&mut self, s: u64, u: Offset) -> Result<(), StoreError> {
            self.inner.trim(s, u)
        }
        fn sync(&mut self) -> Result<(), StoreError> {
            self.inner.sync()
        }
        fn bounds(&mut self, s: u64) -> Result<LogBounds, StoreError> {
            self.inner.bounds(s)
        }
    }

    /// Runs the only phase of `s` on a memory store that stalls 50 ms on
    /// every `every`-th append, with timeline `interval`.
    fn run_stalling(
        s: &Scenario,
        every: u64,
        interval: Duration,
    ) -> crate::metrics::report::PhaseReport {
        let (pools, _) = pools::Pools::prepare(s, 1, &[]).unwrap();
        let store = Stalling {
            inner: MemoryStore::new(),
            every,
            n: Arc::new(AtomicU64::new(0)),
        };
        let workers = s.phases[0].actors.iter().map(|a| a.workers).sum::<usize>();
        let progress = Arc::new(
            (0..workers)
                .map(|_| crate::metrics::progress::Progress::default())
                .collect::<Vec<_>>(),
        );
        phase::run(&phase::PhaseRun {
            seed: 1,
            target: "stall",
            phase: &s.phases[0],
            pools: &pools,
            store: &store,
            control: Arc::new(worker::Control::default()),
            progress,
            interval,
            kind: None,
        })
        .unwrap()
    }

    /// Guards issue 14 item 1: a store stall shows in the timeline as
    /// intervals without operations, the ops of every interval add up to
    /// the actor's totals, and the op that waited counts in the interval
    /// it completed in.
    #[test]
    fn a_stall_leaves_empty_intervals_and_intervals_add_up_to_the_totals() {
        let s = scenario(&format!(
            "{BASE}phases:\n  - name: w\n    records: 400\n    actors:\n      - {{ op: append, workers: 2 }}\n"
        ));
        let report = run_stalling(&s, 100, Duration::from_millis(10));
        let a = &report.actors[0];
        assert_eq!(a.records, 400);
        // 4 stalls of 50 ms, two workers: at least ~100 ms of 10 ms intervals.
        assert!(a.timeline.len() >= 10, "{} intervals", a.timeline.len());
        assert_eq!(a.timeline.iter().map(|i| i.records).sum::<u64>(), a.records);
        assert_eq!(a.timeline.iter().map(|i| i.ops).sum::<u64>(), a.count);
        let empty = a.timeline.iter().filter(|i| i.ops == 0).count();
        assert!(
            empty >= 2,
            "stalls leave empty intervals: {:?}",
            a.timeline.iter().map(|i| i.ops).collect::<Vec<_>>()
        );
        assert!(
            a.timeline.iter().any(|i| i.max_ns >= 50_000_000),
            "the stalled op is in the interval it completed in"
        );
        assert!(!report.stats.timeline.is_empty(), "the store was sampled");
    }

    /// Guards the coordinated-omission correction: under a rate, a store
    /// stall delays every queued operation, and p99 latency (from the
    /// intended start) must show it while service time does not.
    #[test]
    fn open_loop_latency_includes_queueing_behind_a_stall_but_service_time_does_not() {
        let s = scenario(&format!(
            "{BASE}phases:\n  - name: w\n    records: 2000\n    actors:\n      - {{ op: append, rate: 1000/s }}\n"
        ));
        let report = run_stalling(&s, 500, Duration::from_secs(1));
        let a = &report.actors[0];
        let service = a.service.expect("open loop has service time");
        // 4 stalls of 50 ms at 1 op/ms: ~50 ops queue behind each stall, so
        // about 10% of ops wait and p99 latency is tens of milliseconds.
        assert!(
            a.latency.p99_ns > 20_000_000,
            "p99 latency {} ns should include queueing",
            a.latency.p99_ns
        );
        assert!(
            service.p99_ns < 10_000_000,
            "p99 service time {} ns should exclude queueing",
            service.p99_ns
        );
        assert!(
            service.max_ns >= 50_000_000,
            "the stall itself is a service time"
        );
        assert!(a.late > 0, "operations behind the stall started late");
    }
}
