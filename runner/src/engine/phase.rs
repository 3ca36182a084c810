//! One phase on one target: plans every worker of every actor, starts them
//! together behind a [`StartGate`] on their own OS threads, and turns their
//! recorders into a [`PhaseReport`] when they are done.
//!
//! Synchronous on purpose: the async orchestrator (`engine::run`) calls it
//! on a blocking thread and ends the phase by setting [`Control::stop`] at
//! the deadline or on Ctrl-C.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::gate::StartGate;
use super::pipelined;
use super::pools::Pools;
use super::worker::{self, Control, WorkerOp, WorkerPlan, WorkerResult};
use crate::metrics::process;
use crate::metrics::recorder::{ActorInfo, Recorder, actor_report};
use crate::metrics::report::{PhaseReport, PhaseSample, PhaseStats};
use crate::metrics::rollup::{IntervalBatch, Rollup};
use crate::metrics::store_stats;
use crate::scenario::model::{Actor, KeyConfig, KeyDistribution, OpPlan, Phase};
use crate::store::{Store, StoreError};
use crate::workload::{self, KeyDist, KeyGen, KeyParams, StreamId};

/// Everything one phase run needs.
pub(crate) struct PhaseRun<'a> {
    /// The seed of the run.
    pub seed: u64,
    /// Target name (part of every random stream's identity).
    pub target: &'a str,
    /// The phase.
    pub phase: &'a Phase,
    /// Payload pools of this variant.
    pub pools: &'a Pools,
    /// The open store.
    pub store: &'a dyn Store,
    /// Stop flag and driver count.
    pub control: Arc<Control>,
    /// One progress slot (records, recent p99) per worker, read by the progress display.
    pub progress: Arc<Vec<crate::metrics::progress::Progress>>,
    /// Length of a timeline interval: workers close one, and the store and
    /// the process are sampled, at every boundary from the phase start.
    pub interval: Duration,
    /// The target's kind, which says which store statistics are levels
    /// (`None`: every statistic is a counter).
    pub kind: Option<&'a crate::store::TargetKind>,
    /// Where each finished interval goes as the phase runs (a soak's
    /// timeline is on disk before the phase ends); `None` keeps it to the
    /// phase's report.
    pub stream: Option<std::sync::mpsc::Sender<IntervalBatch>>,
}

/// Number of worker threads a phase starts.
pub(crate) fn worker_count(phase: &Phase) -> usize {
    phase.actors.iter().map(|a| a.workers).sum()
}

/// Worker `index` of `workers`' key generator for keys `k`.
fn key_gen(k: &KeyConfig, index: usize, workers: usize) -> Result<KeyGen, StoreError> {
    let dist = match k.distribution {
        KeyDistribution::Sequential => KeyDist::Sequential,
        KeyDistribution::Uniform => KeyDist::Uniform,
        KeyDistribution::Zipfian => KeyDist::Zipfian {
            theta: k.theta,
            scrambled: true,
        },
        KeyDistribution::Latest => KeyDist::Latest,
        KeyDistribution::Hotspot => KeyDist::Hotspot {
            hot_fraction_keys: k.hot_keys,
            hot_fraction_ops: k.hot_ops,
        },
    };
    let params = KeyParams {
        dist,
        keyspace: k.space,
        key_len: k.length,
    };
    let key_gen = KeyGen::new(&params).map_err(|e| StoreError::Invalid {
        op: "keys",
        detail: e.to_string(),
    })?;
    // Sequential writers split the key space so workers do not overlap.
    Ok(if k.distribution == KeyDistribution::Sequential {
        key_gen.partition(index as u64, workers as u64)
    } else {
        key_gen
    })
}

/// Worker `index` of `workers`' op: the actor's plan with its payload
/// pool looked up and its key generator made.
fn worker_op<'a>(
    plan: &OpPlan,
    pools: &'a Pools,
    index: usize,
    workers: usize,
) -> Result<WorkerOp<'a>, StoreError> {
    let pool = |name: &str, batch: usize| {
        pools
            .get(name, batch)
            .map(|p| p.view())
            .ok_or_else(|| StoreError::Invalid {
                op: "plan",
                detail: format!("no pool for payload `{name}` with batch {batch}"),
            })
    };
    Ok(match plan {
        OpPlan::Append {
            streams,
            batch,
            payload,
        } => WorkerOp::Append {
            streams: *streams,
            payload: pool(payload, *batch)?,
        },
        OpPlan::Read {
            streams,
            from,
            lag,
            max_bytes,
        } => WorkerOp::Read {
            streams: *streams,
            from: *from,
            lag: *lag,
            max_bytes: *max_bytes as usize,
        },
        OpPlan::Trim {
            streams,
            every,
            keep,
        } => WorkerOp::Trim {
            streams: *streams,
            every: *every,
            keep: *keep,
        },
        OpPlan::Sync { every } => WorkerOp::Sync { every: *every },
        OpPlan::Put {
            batch,
            payload,
            keys,
        } => WorkerOp::Put {
            payload: pool(payload, *batch)?,
            keys: key_gen(keys, index, workers)?,
        },
        OpPlan::Get { keys } => WorkerOp::Get {
            keys: key_gen(keys, index, workers)?,
        },
        OpPlan::Delete { batch, keys } => WorkerOp::Delete {
            batch: *batch,
            keys: key_gen(keys, index, workers)?,
        },
        OpPlan::Scan { keys, scan_length } => WorkerOp::Scan {
            keys: key_gen(keys, index, workers)?,
            scan_length: *scan_length as usize,
        },
    })
}

/// An OS thread the engine needed could not be started (typically a
/// process or thread limit: `ulimit -u`, a container's pids limit).
#[derive(Debug, thiserror::Error)]
#[error(
    "cannot start thread {thread} ({started} of the {planned} threads it needed were running; a process or thread limit such as `ulimit -u`?): {source}"
)]
pub(crate) struct SpawnError {
    /// The thread's name, e.g. `loadline-append-44`.
    pub thread: String,
    /// Threads of the same batch already running when it failed.
    pub started: usize,
    /// Threads the batch needed.
    pub planned: usize,
    /// The OS error.
    #[source]
    pub source: std::io::Error,
}

/// Why a phase stopped without a report.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PhaseError {
    /// A store operation failed (the first worker error).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A thread could not be started; the workers already started were
    /// released and stopped before doing any operation.
    #[error(transparent)]
    Spawn(#[from] SpawnError),
}

impl PhaseError {
    /// The error as a store-layer error, for the crash phase's code, which
    /// reports every failure as one.
    pub(crate) fn into_store_error(self) -> StoreError {
        match self {
            PhaseError::Store(e) => e,
            PhaseError::Spawn(e) => StoreError::Io {
                op: "start thread",
                path: std::path::PathBuf::from(e.thread),
                source: e.source,
            },
        }
    }
}

/// Runs the phase's actors to completion; returns the phase report (or the
/// first error, with the partial report discarded).
pub(crate) fn run(run: &PhaseRun<'_>) -> Result<PhaseReport, PhaseError> {
    let phase = run.phase;
    let drivers = Drivers::of(phase);
    run.control
        .drivers_left
        .store(drivers.workers, Ordering::Release);
    // Plan every worker before starting any, so a bad plan starts nothing.
    let plans = plan_workers(run, &drivers)?;
    let started = Instant::now();
    let store_before = run.store.stats();
    let process_before = process::sample();
    let mut sampler = Sampler {
        run,
        stats: store_before.clone(),
        process: process_before,
        at: started,
    };
    let workers: Vec<usize> = phase.actors.iter().map(|a| a.workers).collect();
    let mut rollup = Rollup::new(&workers, run.interval);
    let mut ran = run_workers(run, plans, &mut sampler, &mut rollup, started);
    let duration_ns = ran.finished_at.duration_since(started).as_nanos() as u64;
    let span_ns = ran
        .finished_at
        .saturating_duration_since(ran.zero)
        .as_nanos() as u64;
    let (last, mut timelines) = rollup.finish(&run.progress, span_ns);
    if ran.spawn_failed.is_none() {
        // The last (partial) interval.
        let sample = sampler.sample(ran.zero, ran.finished_at);
        send(
            run,
            IntervalBatch {
                actors: last,
                samples: vec![sample.clone()],
            },
        );
        ran.samples.push(sample);
    }
    let phase_stats = PhaseStats {
        store: store_stats::change(
            &|n| sampler.is_level(n),
            sampler.ratios(),
            &store_before,
            &sampler.stats,
        ),
        process: Some(process::phase_delta(
            process_before,
            sampler.process,
            duration_ns,
        )),
        timeline: ran.samples,
    };
    if let Some(e) = ran.spawn_failed {
        return Err(e.into());
    }
    if let Some(e) = ran.per_actor.iter_mut().find_map(|(_, e)| e.take()) {
        return Err(e.into());
    }
    let actors = phase
        .actors
        .iter()
        .zip(&ran.per_actor)
        .zip(timelines.iter_mut())
        .map(|((a, (r, _)), timeline)| {
            let info = ActorInfo {
                name: a.name.clone(),
                op: a.plan.name().to_owned(),
                workers: a.workers,
                rate: a.rate,
            };
            let mut report = actor_report(&info, r, duration_ns);
            report.timeline = std::mem::take(timeline);
            report
        })
        .collect();
    Ok(PhaseReport {
        name: phase.name.clone(),
        warmup: phase.warmup,
        duration_ns,
        ended_by: ended_by(phase, &run.control, drivers.workers).to_owned(),
        actors,
        metrics: BTreeMap::new(),
        stats: phase_stats,
        began_cold: false,
    })
}

/// Which actors drive the phase's end ([`is_driver`]) and how many
/// workers they have between them.
struct Drivers {
    /// Per actor, in order.
    flags: Vec<bool>,
    /// Workers of the driving actors.
    workers: usize,
}

impl Drivers {
    fn of(phase: &Phase) -> Drivers {
        let flags: Vec<bool> = phase.actors.iter().map(|a| is_driver(phase, a)).collect();
        let workers = phase
            .actors
            .iter()
            .zip(&flags)
            .filter(|(_, d)| **d)
            .map(|(a, _)| a.workers)
            .sum();
        Drivers { flags, workers }
    }
}

/// One planned worker: its actor's index, its plan and its session.
type Planned<'a> = (usize, WorkerPlan<'a>, Box<dyn crate::store::Session>);

/// Plans every worker of every actor, each with its own session; a
/// `records` phase splits its count evenly between the driving workers
/// (the first `total % n` take one more).
fn plan_workers<'a>(run: &PhaseRun<'a>, drivers: &Drivers) -> Result<Vec<Planned<'a>>, StoreError> {
    let phase = run.phase;
    let mut plans = Vec::new();
    let mut driver_slot = 0u64;
    for (ai, actor) in phase.actors.iter().enumerate() {
        for w in 0..actor.workers {
            let quota = if drivers.flags[ai] {
                phase.records.map(|total| {
                    let n = drivers.workers.max(1) as u64;
                    let share = total / n + u64::from(driver_slot < total % n);
                    driver_slot += 1;
                    share
                })
            } else {
                None
            };
            let id = StreamId {
                seed: run.seed,
                target: run.target,
                phase: &phase.name,
                actor: &actor.name,
                worker: w as u64,
            };
            let op = worker_op(&actor.plan, run.pools, w, actor.workers)?;
            plans.push((
                ai,
                WorkerPlan {
                    op,
                    index: w,
                    workers: actor.workers,
                    quota,
                    driver: drivers.flags[ai],
                    rate: actor.rate.map(|r| r / actor.workers as f64),
                    rng: workload::stream(&id),
                    interval: run.interval,
                    in_flight: actor.in_flight,
                },
                run.store.session()?,
            ));
        }
    }
    Ok(plans)
}

/// Passes a finished interval to the phase's stream, if it has one.
fn send(run: &PhaseRun<'_>, batch: IntervalBatch) {
    if let Some(tx) = &run.stream
        && (!batch.actors.is_empty() || !batch.samples.is_empty())
    {
        // A closed receiver (the engine gave up on the phase) loses only
        // the live copy: the report still gets every interval.
        let _ = tx.send(batch);
    }
}

/// What running the workers left.
struct Ran {
    /// The start line (the gate's opening).
    zero: Instant,
    /// When the last worker was joined.
    finished_at: Instant,
    /// The store and process samples of every full interval.
    samples: Vec<PhaseSample>,
    /// Per actor: every worker's recorder merged, and the first error.
    per_actor: Vec<(Recorder, Option<StoreError>)>,
    /// A thread that could not be started (then nothing ran).
    spawn_failed: Option<SpawnError>,
}

/// Starts every planned worker on its own OS thread behind one gate,
/// samples the store and the process at every interval boundary until
/// they are done, and joins them.
fn run_workers(
    run: &PhaseRun<'_>,
    plans: Vec<Planned<'_>>,
    sampler: &mut Sampler<'_, '_>,
    rollup: &mut Rollup,
    started: Instant,
) -> Ran {
    let phase = run.phase;
    // Every worker plus this thread; opened early when a spawn fails, so
    // the workers already started are not left waiting for a missing one.
    let gate = StartGate::new(plans.len() + 1);
    let mut ran = Ran {
        zero: started,
        finished_at: started,
        samples: Vec::new(),
        per_actor: phase
            .actors
            .iter()
            .map(|a| (Recorder::new(a.rate.is_some()), None))
            .collect(),
        spawn_failed: None,
    };
    let planned = plans.len();
    std::thread::scope(|scope| {
        let mut handles = Vec::new();
        for (slot, (ai, plan, session)) in plans.into_iter().enumerate() {
            let control = &run.control;
            let gate = &gate;
            let progress = &run.progress[slot];
            let name = format!("loadline-{}-{}", phase.actors[ai].name, plan.index);
            let handle =
                std::thread::Builder::new()
                    .name(name.clone())
                    .spawn_scoped(scope, move || {
                        // The one decision per worker: the synchronous loop
                        // is untouched by pipelining.
                        let op_loop: worker::OpLoop = if plan.in_flight > 1 {
                            pipelined::op_loop
                        } else {
                            worker::op_loop
                        };
                        worker::run(plan, session, control, gate, progress, op_loop)
                    });
            match handle {
                Ok(h) => handles.push((ai, h)),
                Err(e) => {
                    // Stop before opening the gate: the started workers
                    // see the flag first thing and return without an op.
                    run.control.stop.store(true, Ordering::Release);
                    ran.spawn_failed = Some(SpawnError {
                        thread: name,
                        started: handles.len(),
                        planned,
                        source: e,
                    });
                    // The remaining plans (and their sessions) are dropped
                    // unstarted: one failure is enough to report.
                    break;
                }
            }
        }
        if ran.spawn_failed.is_some() {
            gate.open();
        } else {
            ran.zero = gate.wait();
            sampler.at = ran.zero;
            sample_until_done(run, &handles, sampler, rollup, &mut ran);
        }
        for (ai, h) in handles {
            let WorkerResult { recorder, error } = match h.join() {
                Ok(r) => r,
                Err(_) => {
                    run.control.stop.store(true, Ordering::Release);
                    WorkerResult {
                        recorder: Recorder::new(false),
                        error: Some(StoreError::Invalid {
                            op: "worker",
                            detail: "a worker thread panicked".to_owned(),
                        }),
                    }
                }
            };
            ran.per_actor[ai].0.merge(&recorder);
            if ran.per_actor[ai].1.is_none() {
                ran.per_actor[ai].1 = error;
            }
        }
        ran.finished_at = Instant::now();
    });
    ran
}

/// Samples the store and the process at every interval boundary from
/// `ran.zero` until every worker is done (never touched by them), passing
/// each finished interval on as it closes.
fn sample_until_done<T>(
    run: &PhaseRun<'_>,
    handles: &[(usize, std::thread::ScopedJoinHandle<'_, T>)],
    sampler: &mut Sampler<'_, '_>,
    rollup: &mut Rollup,
    ran: &mut Ran,
) {
    let zero = ran.zero;
    let every = run.interval.max(Duration::from_millis(1));
    let mut next = zero + every;
    while !handles.iter().all(|(_, h)| h.is_finished()) {
        let now = Instant::now();
        if now >= next {
            let sample = sampler.sample(zero, now);
            send(
                run,
                IntervalBatch {
                    actors: rollup.collect(&run.progress),
                    samples: vec![sample.clone()],
                },
            );
            ran.samples.push(sample);
            let n = now.duration_since(zero).as_nanos() / every.as_nanos().max(1);
            next = zero + every * (n as u32 + 1);
        } else {
            std::thread::sleep((next - now).min(Duration::from_millis(10)));
        }
    }
}

/// Why the phase ended, as the report says it: its `records` were done,
/// readers without writers read everything there was (before reaching
/// their `records`, or before the `duration` ran out), its `duration` ran
/// out, or (neither given) every worker finished.
fn ended_by(phase: &Phase, control: &Control, driver_workers: usize) -> &'static str {
    let drivers_done = driver_workers > 0
        && control.drivers_left.load(Ordering::Acquire) == 0
        && !control.stop.load(Ordering::Acquire);
    let exhausted = drivers_done && control.exhausted.load(Ordering::Acquire) > 0;
    if phase.records.is_some() && drivers_done && !exhausted {
        "records"
    } else if exhausted {
        "exhausted"
    } else if phase.duration.is_some() {
        "duration"
    } else {
        "done"
    }
}

/// Takes the store and process samples of a phase's intervals, each the
/// change since the one before.
struct Sampler<'r, 'a> {
    run: &'r PhaseRun<'a>,
    /// The store's statistics at the last sample.
    stats: crate::store::StoreStats,
    /// The process's counters at the last sample.
    process: process::Sample,
    /// When the last sample was taken.
    at: Instant,
}

impl Sampler<'_, '_> {
    fn is_level(&self, name: &str) -> bool {
        self.run.kind.is_some_and(|k| k.is_level(name))
    }

    fn ratios(&self) -> &'static [crate::store::RatioStat] {
        self.run.kind.map_or(&[][..], |k| k.ratios())
    }

    /// The interval from the last sample to `now` (`zero`: the phase start).
    fn sample(&mut self, zero: Instant, now: Instant) -> PhaseSample {
        let stats = self.run.store.stats();
        let proc_now = process::sample();
        let wall = now.saturating_duration_since(self.at);
        let sample = PhaseSample {
            t_s: self.at.saturating_duration_since(zero).as_secs_f64(),
            duration_s: wall.as_secs_f64(),
            store: store_stats::change(&|n| self.is_level(n), self.ratios(), &self.stats, &stats),
            process: process::phase_delta(self.process, proc_now, wall.as_nanos() as u64),
        };
        self.stats = stats;
        self.process = proc_now;
        self.at = now;
        sample
    }
}

/// Drivers decide when a phase ends: writers, or readers when there is no writer.
pub(crate) fn is_driver(phase: &Phase, actor: &Actor) -> bool {
    let has_writers = phase.actors.iter().any(Actor::is_writer);
    if has_writers {
        actor.is_writer()
    } else {
        actor.is_reader()
    }
}
