//! What a crash phase needs and when it crashes: the run's parts, the
//! seeded crash moment, and what one cycle's writers left behind.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use rand::Rng;

use super::process::ChildCommand;
use crate::engine::acks::{Ack, KvEvent};
use crate::engine::hooks::{CrashHooks, HookContext, HookError};
use crate::engine::pools::Pools;
use crate::scenario::model::{Phase, Restart, Scenario, Target};
use crate::store::StoreError;
use crate::workload::{self, StreamId};

/// The interval of a crash phase's writers: one (an hour) that never ends
/// before they are killed, since their measurements die with them.
pub(super) const NO_TIMELINE: std::time::Duration = std::time::Duration::from_secs(3600);

/// Everything one crash phase needs.
pub(crate) struct CrashRun<'a> {
    /// The variant (its resolved document is sent to the child).
    pub scenario: &'a Scenario,
    /// The target.
    pub target: &'a Target,
    /// The phase.
    pub phase: &'a Phase,
    /// The phase's restart step.
    pub restart: &'a Restart,
    /// Payload pools.
    pub pools: &'a Pools,
    /// The run's seed.
    pub seed: u64,
    /// The target's data directory.
    pub dir: &'a Path,
    /// Set to interrupt: the child is killed and reaped, the phase discarded.
    pub interrupt: &'a AtomicBool,
    /// One counter: records acknowledged in the current cycle.
    pub progress: Arc<Vec<crate::metrics::progress::Progress>>,
    /// What a crash child runs.
    pub child: ChildCommand,
    /// Commands run at each cycle's crash moment and before its reopen
    /// (child-process cycles only: the others have no file system to fault).
    pub hooks: &'a CrashHooks,
}

/// What a hook of `cycle` (from 0) is told.
pub(super) fn hook_context<'a>(
    run: &'a CrashRun<'_>,
    cycle: u64,
    child_pid: Option<u32>,
) -> HookContext<'a> {
    HookContext {
        target: &run.target.name,
        phase: &run.phase.name,
        cycle: cycle + 1,
        data_dir: run.dir,
        child_pid,
    }
}

/// A hook's failure as the crash phase reports every failure.
pub(super) fn hook_err(e: HookError) -> StoreError {
    StoreError::Invalid {
        op: "crash hook",
        detail: e.to_string(),
    }
}

/// The crash moment of `cycle`, drawn from the seed within `after`.
pub(crate) fn crash_delay(
    seed: u64,
    target: &str,
    phase: &str,
    cycle: u64,
    after: Option<(Duration, Duration)>,
) -> Option<Duration> {
    let (a, b) = after?;
    let span = b.saturating_sub(a).as_nanos() as u64;
    let mut rng = workload::stream(&StreamId {
        seed,
        target,
        phase,
        actor: "crash",
        worker: cycle,
    });
    let extra = if span == 0 {
        0
    } else {
        rng.random_range(0..=span)
    };
    Some(a + Duration::from_nanos(extra))
}

/// Stream ids any actor of the scenario writes: `0..max(streams)`.
pub(crate) fn stream_ids(scenario: &Scenario) -> std::ops::Range<u64> {
    let n = scenario
        .phases
        .iter()
        .flat_map(|p| &p.actors)
        .map(|a| a.plan.streams())
        .max()
        .unwrap_or(1);
    0..n
}

/// The seed of the simulated disk's page reordering, from the scenario seed,
/// the target and the phase (`disk`: which simulated disk of the phase).
pub(super) fn reorder_seed(run: &CrashRun<'_>, disk: u64) -> u64 {
    workload::substream(
        &StreamId {
            seed: run.seed,
            target: &run.target.name,
            phase: &run.phase.name,
            actor: "power-loss",
            worker: disk,
        },
        "reorder",
    )
    .random()
}

/// When the writers are crashed, measured from their start.
pub(super) fn deadline(run: &CrashRun<'_>, cycle: u64) -> Option<Duration> {
    let drawn = crash_delay(
        run.seed,
        &run.target.name,
        &run.phase.name,
        cycle,
        run.restart.after,
    );
    match (drawn, run.phase.duration) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// What one cycle's writers left behind.
pub(super) struct Crashed {
    pub(super) acks: Vec<Ack>,
    /// Key-value writes begun and acknowledged, in order.
    pub(super) kv: Vec<KvEvent>,
    /// Records the store wrote in the cycle (power loss only).
    pub(super) written: Option<u64>,
}

/// A helper thread of a crash phase could not be started (e.g. under a
/// process limit); the guards kill and reap the child on the way out.
pub(super) fn spawn_err(thread: &str, source: std::io::Error) -> StoreError {
    StoreError::io("start thread", Path::new(thread), source)
}
