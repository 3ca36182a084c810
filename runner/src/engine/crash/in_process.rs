//! A crash cycle in this process: the writers run on the target's store
//! (a simulated one for a power loss) until the crash moment, then the
//! simulated disk loses power, or the caller drops the store.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::context::{CrashRun, Crashed, NO_TIMELINE, deadline, spawn_err};
use crate::engine::acks::{AckState, AckingStore};
use crate::engine::phase::{self, PhaseRun};
use crate::engine::worker::Control;
use crate::store::{SimFs, Store, StoreError};

/// Runs the writers in this process until the crash moment, then crashes:
/// power loss on `sim`, or nothing (the caller drops the store).
pub(super) fn in_process_cycle(
    run: &CrashRun<'_>,
    store: &dyn Store,
    cycle: u64,
    sim: Option<&SimFs>,
) -> Result<Option<Crashed>, StoreError> {
    let control = Arc::new(Control::default());
    let state = AckState::buffered();
    let acking = AckingStore::new(store, Arc::clone(&state));
    let progress: Arc<Vec<crate::metrics::progress::Progress>> = Arc::new(
        (0..phase::worker_count(run.phase))
            .map(|_| crate::metrics::progress::Progress::default())
            .collect(),
    );
    let limit = deadline(run, cycle);
    let records_before = store.stats().values.get("records").copied();
    let mut interrupted = false;
    let (ended_early, result) = std::thread::scope(|scope| {
        let phase_run = PhaseRun {
            seed: run.seed,
            target: &run.target.name,
            phase: run.phase,
            pools: run.pools,
            store: &acking,
            control: Arc::clone(&control),
            progress,
            // The writers' measurements die with the child: no timeline.
            interval: NO_TIMELINE,
            kind: None,
        };
        let handle = match std::thread::Builder::new()
            .name("loadline-crash-phase".to_owned())
            .spawn_scoped(scope, move || phase::run(&phase_run))
        {
            Ok(h) => h,
            Err(source) => return (true, Err(spawn_err("loadline-crash-phase", source))),
        };
        let t0 = Instant::now();
        let mut ended_early = false;
        loop {
            let count = state.count.load(Ordering::Acquire);
            run.progress[0].records.store(count, Ordering::Relaxed);
            if handle.is_finished() {
                ended_early = true;
                break;
            }
            if run.interrupt.load(Ordering::Acquire) {
                interrupted = true;
                break;
            }
            if run.restart.after_records.is_some_and(|n| count >= n)
                || limit.is_some_and(|d| t0.elapsed() >= d)
            {
                break;
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        // The crash: writers may be mid-append; what they acknowledge from
        // here on never reached a client.
        state.crashed.store(true, Ordering::Release);
        if let Some(sim) = sim {
            sim.power_loss();
        }
        control.stop.store(true, Ordering::Release);
        let result = match handle.join() {
            Ok(r) => r.map_err(phase::PhaseError::into_store_error),
            Err(_) => Err(StoreError::Invalid {
                op: "crash phase",
                detail: "a writer thread panicked".to_owned(),
            }),
        };
        (ended_early, result)
    });
    // Errors after a power loss are the loss itself (EIO, poisoning).
    if let Err(e) = result
        && (ended_early || sim.is_none())
    {
        return Err(e);
    }
    if interrupted {
        return Ok(None);
    }
    let written = match (sim, records_before, store.stats().values.get("records")) {
        (Some(_), Some(before), Some(after)) => Some((after - before).max(0.0) as u64),
        _ => None,
    };
    let captured = state.take();
    Ok(Some(Crashed {
        acks: captured.acks,
        kv: captured.kv,
        written,
    }))
}
