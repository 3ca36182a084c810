//! One phase on a thread of its own, driven from the async side: the
//! deadline, the interrupt and the progress ticks. An ordinary phase runs
//! `phase::run`; a crash or power-loss phase runs `crash::run`.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::events::{self, Event, Observer};
use super::options::RunOptions;
use super::{crash, phase, pools, soak, worker};
use crate::scenario::model::{Phase, Scenario, Target};
use crate::store::{self, StoreError};

/// Runs one phase on a blocking thread, ending it at its deadline or on
/// interrupt. `Ok(None)` means it was interrupted.
pub(crate) async fn run_phase(
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
    let (tx, rx) = std::sync::mpsc::channel();
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
            stream: Some(tx),
        })
    })?;
    let started = Instant::now();
    let deadline = ph.duration.map(|d| started + d);
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    let result = loop {
        tokio::select! {
            joined = &mut handle => break joined,
            _ = tick.tick() => {
                soak::forward(&rx, &target.name, ph, observer);
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
    soak::forward(&rx, &target.name, ph, observer);
    // Before a restart or close needs the store to itself.
    let _ = observer.event(&Event::WorkersDone);
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
        return Ok(soak::keep_interrupted(report));
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
pub(crate) async fn run_crash_phase(
    scenario: &Scenario,
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
