//! Crash and power-loss phases (`restart: crash | power-loss`): fill the
//! store (`prepare`), then `repeat` times run the phase's writers, crash
//! them at a seeded moment, reopen the store timing it, and check every
//! acknowledged write (`verify: acknowledged`): appended records by
//! `verify`, puts and deletes by `verify_kv`.
//!
//! Three ways to crash, chosen by the restart kind and the store:
//!
//! - **Child process** (`crash` on a persistent store): loadline re-executes
//!   itself as `loadline __crash-child`, which opens the store, runs the
//!   phase's actors and streams every acknowledged (stream, offset, CRC32C)
//!   triple, and every put and delete as it begins and is acknowledged,
//!   over its stdout ([`super::acks`]). The parent SIGKILLs it
//!   ([`std::process::Child::kill`]) at the moment drawn from the seed
//!   within `after`, after `after_records` acknowledged writes, at the
//!   phase's `duration`, or when its `records` are written — whichever comes
//!   first — and always reaps it ([`ChildGuard`]). The page cache survives
//!   a kill, so this tests the store's own recovery, not its sync policy.
//! - **Simulated power loss** (`power-loss`, kinds with
//!   [`Capabilities::power_loss`](crate::store::Capabilities::power_loss),
//!   e.g. wal): the writers run in this process on a store opened over
//!   [`SimFs`]; at the moment, while appends are in flight,
//!   [`SimFs::power_loss`] forgets every directory entry not covered by an
//!   fsync and keeps a seeded random subset of the unsynced pages, some
//!   torn ([`SimFs::reordering`]: writeback persists pages out of order).
//!   This tells sync policies apart and tries recovery on holes. The simulated
//!   store starts empty (earlier phases wrote to disk) and lives in memory,
//!   so size `prepare` accordingly.
//! - **Dropping a non-persistent store** (`crash` on e.g. `memory`): the
//!   reopen is a fresh store and every record is honestly reported lost.
//!
//! Log operations (tails, read-back) are asked of the store only when its
//! kind has [`Capabilities::log`](crate::store::Capabilities::log): a
//! key-value-only kind's crash phase checks its keys and nothing else.
//!
//! Metrics go into [`PhaseReport::metrics`]; counts are summed over cycles,
//! and `reopen.duration` is the **maximum** over cycles (so an assertion on
//! it holds for every cycle), with `reopen.p50`/`p99`/`max` beside it.
//! Writer latency is not reported for crash phases (the child is killed
//! with its histograms); measure it in a phase of its own.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::Rng;

use super::acks::{Ack, AckSink, AckState, AckingStore, KvEvent, Message};
use super::hooks::{self, CrashHooks, HookContext, HookPoint};
use super::phase::{self, PhaseRun};
use super::pools::Pools;
use super::verify::{self, Known, Tally};
use super::verify_kv::{self, KvKnown, KvTally};
use super::worker::Control;
use crate::metrics::report::PhaseReport;
use crate::scenario::model::{Op, Phase, Restart, RestartKind, Scenario, Target};
use crate::store::{self, SimFs, Store, StoreError};
use crate::workload::{self, StreamId};

/// The interval of a crash phase's writers: one (an hour) that never ends
/// before they are killed, since their measurements die with them.
const NO_TIMELINE: std::time::Duration = std::time::Duration::from_secs(3600);

/// The hidden subcommand a crash child runs.
pub const CHILD_SUBCOMMAND: &str = "__crash-child";

/// Largest batch `prepare` appends, in body bytes.
const PREPARE_BATCH_BYTES: u64 = 1 << 20;

/// How the parent polls while writers run (interrupt, deadline).
const POLL: Duration = Duration::from_millis(20);

/// The program a crash child runs: loadline itself, or (in tests) a stand-in.
#[derive(Debug, Clone)]
pub struct ChildCommand {
    /// The executable.
    pub program: PathBuf,
    /// Arguments put before the child's own (`__crash-child --file …`).
    pub prefix: Vec<String>,
}

impl ChildCommand {
    /// This executable: `/proc/self/exe` where it exists, which names the
    /// running image even after its file was replaced or deleted (a
    /// rebuild during a long run), else `std::env::current_exe`.
    pub fn current_exe() -> Result<ChildCommand, StoreError> {
        let proc_self = PathBuf::from("/proc/self/exe");
        if proc_self.exists() {
            return Ok(ChildCommand {
                program: proc_self,
                prefix: Vec::new(),
            });
        }
        let program = std::env::current_exe().map_err(|source| StoreError::Io {
            op: "find the loadline executable",
            path: PathBuf::new(),
            source,
        })?;
        Ok(ChildCommand {
            program,
            prefix: Vec::new(),
        })
    }
}

/// Everything one crash phase needs.
pub struct CrashRun<'a> {
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

/// Kills and reaps its child when dropped, so no path — error, panic or
/// interrupt — leaves a zombie or an orphan writing to the store.
#[derive(Debug)]
pub struct ChildGuard {
    child: Child,
    stdin: Option<ChildStdin>,
}

impl ChildGuard {
    /// Guards `child`, keeping its stdin open (the child exits when it
    /// closes, so it cannot outlive a parent that dies without unwinding).
    pub fn new(mut child: Child) -> ChildGuard {
        let stdin = child.stdin.take();
        ChildGuard { child, stdin }
    }

    /// The child's process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILLs the child (a no-op if it already exited) and reaps it.
    pub fn kill(&mut self) -> std::io::Result<ExitStatus> {
        let _ = self.child.kill();
        self.stdin = None;
        self.child.wait()
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.kill();
    }
}

/// The crash moment of `cycle`, drawn from the seed within `after`.
pub fn crash_delay(
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
pub fn stream_ids(scenario: &Scenario) -> std::ops::Range<u64> {
    let n = scenario
        .phases
        .iter()
        .flat_map(|p| &p.actors)
        .map(|a| a.streams)
        .max()
        .unwrap_or(1);
    0..n
}

/// The seed of the simulated disk's page reordering, from the scenario seed,
/// the target and the phase (`disk`: which simulated disk of the phase).
fn reorder_seed(run: &CrashRun<'_>, disk: u64) -> u64 {
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
fn deadline(run: &CrashRun<'_>, cycle: u64) -> Option<Duration> {
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
struct Crashed {
    acks: Vec<Ack>,
    /// Key-value writes begun and acknowledged, in order.
    kv: Vec<KvEvent>,
    /// Records the store wrote in the cycle (power loss only).
    written: Option<u64>,
}

/// Which way this phase crashes.
enum Mode {
    Child,
    PowerLoss(SimFs, PathBuf),
    Drop,
}

/// What a crash phase returns: the phase report (`None` when interrupted)
/// or the error that stopped it, and the store to continue with (`None`
/// only when it could not be reopened).
pub type CrashOutcome = (
    Result<Option<PhaseReport>, StoreError>,
    Option<Box<dyn Store>>,
);

/// Runs a crash or power-loss phase on `store` (the target's open store).
pub fn run(run: &CrashRun<'_>, store: Box<dyn Store>) -> CrashOutcome {
    let started = Instant::now();
    match run.restart.kind {
        RestartKind::PowerLoss => {
            if !run.target.kind.capabilities().power_loss {
                return (
                    Err(StoreError::Unsupported {
                        op: "restart: power-loss",
                        store: run.target.kind.name(),
                    }),
                    Some(store),
                );
            }
            let mode = Mode::PowerLoss(
                SimFs::reordering(reorder_seed(run, 0)),
                PathBuf::from("/power-loss").join(&run.target.name),
            );
            // The target's own store sits out the phase, untouched.
            let result = cycles(run, mode, None, started);
            (result.map(|(r, _)| r), Some(store))
        }
        _ => {
            let mode = if store.capabilities().persistent {
                Mode::Child
            } else {
                Mode::Drop
            };
            match cycles(run, mode, Some(store), started) {
                Ok((r, s)) => (Ok(r), s),
                Err(e) => (Err(e), None),
            }
        }
    }
}

type CycleResult = Result<(Option<PhaseReport>, Option<Box<dyn Store>>), StoreError>;

fn open_mode(run: &CrashRun<'_>, mode: &Mode) -> Result<Box<dyn Store>, StoreError> {
    match mode {
        Mode::Child | Mode::Drop => store::open(&run.target.kind, run.dir),
        Mode::PowerLoss(sim, dir) => run.target.kind.open_simulated(sim, dir),
    }
}

fn cycles(
    run: &CrashRun<'_>,
    mode: Mode,
    store: Option<Box<dyn Store>>,
    started: Instant,
) -> CycleResult {
    let mut cur = match store {
        Some(s) => s,
        None => open_mode(run, &mode)?,
    };
    let log = run.target.kind.capabilities().log;
    let streams = if log { stream_ids(run.scenario) } else { 0..0 };
    let fresh = kv_fresh(run);
    if let Some((bytes, payload)) = &run.restart.prepare
        && !prepare(run, cur.as_ref(), *bytes, payload)?
    {
        return Ok((None, Some(cur)));
    }
    let mut known = if run.restart.verify && log {
        verify::verify(cur.as_ref(), streams.clone(), &Known::default(), &[])?.1
    } else {
        Known::default()
    };
    let mut tally = Tally::default();
    let mut kv_known = KvKnown::default();
    let mut kv_tally = KvTally::default();
    let mut kv_acknowledged = 0u64;
    let mut reopen_ns: Vec<u64> = Vec::new();
    let mut acknowledged = 0u64;
    let mut dropped = 0f64;
    let mut cut_frames = 0f64;
    let mut cut_records = 0f64;
    let mut loss_window = 0u64;
    let mut unrecoverable = 0u64;
    let mut mode = mode;
    for cycle in 0..run.restart.repeat {
        run.progress[0].records.store(0, Ordering::Relaxed);
        let tail_before = total_tail(cur.as_ref(), streams.clone())?;
        let mut log_lost = false;
        let crashed = match &mut mode {
            Mode::Child => {
                cur.close()?;
                let c = child_cycle(run, cycle)?;
                if c.is_some()
                    && let Some(cmd) = &run.hooks.after_crash
                    && !hooks::run(
                        HookPoint::AfterCrash,
                        cmd,
                        &hook_context(run, cycle, None),
                        run.interrupt,
                    )
                    .map_err(hook_err)?
                {
                    // Interrupted before the fault was undone (a file
                    // system may be down): nothing to reopen.
                    return Ok((None, None));
                }
                let t0 = Instant::now();
                cur = store::open(&run.target.kind, run.dir)?;
                reopen_ns.push(t0.elapsed().as_nanos() as u64);
                c
            }
            Mode::PowerLoss(sim, dir) => {
                let c = in_process_cycle(run, cur.as_ref(), cycle, Some(sim))?;
                drop(cur);
                let t0 = Instant::now();
                match run.target.kind.open_simulated(sim, dir) {
                    Ok(s) => cur = s,
                    // The log did not survive the power loss: a finding of
                    // the phase, not a failure of the run. Its records are
                    // lost; the next cycle starts on a fresh simulated disk.
                    Err(StoreError::Corrupt { .. }) => {
                        log_lost = true;
                        *sim = SimFs::reordering(reorder_seed(run, cycle + 1));
                        cur = run.target.kind.open_simulated(sim, dir)?;
                    }
                    Err(e) => return Err(e),
                }
                reopen_ns.push(t0.elapsed().as_nanos() as u64);
                c
            }
            Mode::Drop => {
                let c = in_process_cycle(run, cur.as_ref(), cycle, None)?;
                drop(cur);
                let t0 = Instant::now();
                // Not persistent: opening again is a fresh, empty store.
                cur = store::open(&run.target.kind, run.dir)?;
                reopen_ns.push(t0.elapsed().as_nanos() as u64);
                c
            }
        };
        let Some(crashed) = crashed else {
            return Ok((None, Some(cur)));
        };
        acknowledged += crashed.acks.len() as u64;
        kv_acknowledged += crashed
            .kv
            .iter()
            .map(|e| match e {
                KvEvent::Acked { count, .. } => *count,
                KvEvent::Begin { .. } => 0,
            })
            .sum::<u64>();
        if log_lost {
            unrecoverable += 1;
            let acked_in_known = crashed
                .acks
                .iter()
                .filter(|a| known.contains(a.stream, a.offset))
                .count() as u64;
            tally.lost += known.len() + crashed.acks.len() as u64 - acked_in_known;
            loss_window += tail_before + crashed.written.unwrap_or(0);
            known = Known::default();
            continue;
        }
        let recovered = cur.stats().values;
        let stat = |name: &str| recovered.get(name).copied().unwrap_or(0.0);
        dropped += stat("recovery_dropped_bytes");
        cut_frames += stat("recovery_cut_frames");
        cut_records += stat("recovery_cut_records");
        if let Some(written) = crashed.written {
            let tail_after = total_tail(cur.as_ref(), streams.clone())?;
            loss_window += (tail_before + written).saturating_sub(tail_after);
        }
        if run.restart.verify {
            let (t, after) = verify::verify(cur.as_ref(), streams.clone(), &known, &crashed.acks)?;
            tally.add(&t);
            known = after;
            if !crashed.kv.is_empty() || !kv_known.is_empty() {
                let (t, after) = verify_kv::verify(cur.as_ref(), &kv_known, &crashed.kv, fresh)?;
                kv_tally.add(&t);
                kv_known = after;
            }
        }
    }
    let mut m = BTreeMap::new();
    m.insert(
        "acknowledged_records".to_owned(),
        (acknowledged + kv_acknowledged) as f64,
    );
    if run.restart.verify {
        insert_verified(&mut m, run.phase, &tally, &kv_tally);
    }
    m.insert("dropped_bytes".to_owned(), dropped);
    m.insert("cut_frames".to_owned(), cut_frames);
    m.insert("cut_records".to_owned(), cut_records);
    if matches!(mode, Mode::PowerLoss(..)) {
        m.insert("loss_window_records".to_owned(), loss_window as f64);
        m.insert("unrecoverable_cycles".to_owned(), unrecoverable as f64);
    }
    reopen_ns.sort_unstable();
    let max = reopen_ns.last().copied().unwrap_or(0) as f64;
    m.insert("reopen.duration".to_owned(), max);
    m.insert("reopen.max".to_owned(), max);
    m.insert("reopen.p50".to_owned(), percentile(&reopen_ns, 50.0));
    m.insert("reopen.p99".to_owned(), percentile(&reopen_ns, 99.0));
    m.insert("cycles".to_owned(), reopen_ns.len() as f64);
    let report = PhaseReport {
        name: run.phase.name.clone(),
        warmup: run.phase.warmup,
        duration_ns: started.elapsed().as_nanos() as u64,
        ended_by: "crash".to_owned(),
        actors: Vec::new(),
        metrics: m,
        stats: Default::default(),
        began_cold: false,
    };
    Ok((Some(report), Some(cur)))
}

/// The counts of `verify: acknowledged`: totals over appended records and
/// key-value writes (`*_records`), and per kind for each of `put` and
/// `delete` the phase has (`*_puts`, `*_deletes`; see
/// [`catalog::VERIFY_METRICS`](crate::metrics::catalog::VERIFY_METRICS)).
fn insert_verified(m: &mut BTreeMap<String, f64>, phase: &Phase, log: &Tally, kv: &KvTally) {
    let mut put = |k: &str, v: u64| {
        m.insert(k.to_owned(), v as f64);
    };
    let (p, d) = (&kv.puts, &kv.deletes);
    put(
        "verified_records",
        log.checked + p.judged() + d.judged() + kv.rechecked,
    );
    put(
        "recovered_records",
        log.recovered + p.recovered + d.recovered,
    );
    put("lost_records", log.lost + p.lost + d.lost);
    put("corrupt_records", log.corrupt + p.corrupt + d.corrupt);
    put("indeterminate_records", p.indeterminate + d.indeterminate);
    put("unacknowledged_survivors", log.unacknowledged_survivors);
    put("holes", log.holes);
    for (op, kind, t) in [(Op::Put, "puts", p), (Op::Delete, "deletes", d)] {
        if !phase.actors.iter().any(|a| a.op == op) {
            continue;
        }
        put(&format!("acknowledged_{kind}"), t.acknowledged);
        put(&format!("verified_{kind}"), t.judged());
        put(&format!("recovered_{kind}"), t.recovered);
        put(&format!("lost_{kind}"), t.lost);
        put(&format!("corrupt_{kind}"), t.corrupt);
        put(&format!("indeterminate_{kind}"), t.indeterminate);
    }
}

/// True when no phase before `run.phase` on its target puts key-value
/// data: every key the crash phase writes was absent before it.
fn kv_fresh(run: &CrashRun<'_>) -> bool {
    !run.scenario
        .phases
        .iter()
        .take_while(|p| p.name != run.phase.name)
        .filter(|p| p.runs_on(&run.target.name))
        .any(|p| p.actors.iter().any(|a| a.op == Op::Put))
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1] as f64
}

/// Sum of the tails of `streams`.
fn total_tail(store: &dyn Store, streams: std::ops::Range<u64>) -> Result<u64, StoreError> {
    let mut s = store.session()?;
    let mut total = 0;
    for id in streams {
        total += s.bounds(id)?.tail;
    }
    Ok(total)
}

/// Fills `store` with about `bytes` of `payload` in big batches spread
/// over the phase's streams. Returns false when interrupted.
fn prepare(
    run: &CrashRun<'_>,
    store: &dyn Store,
    bytes: u64,
    payload: &str,
) -> Result<bool, StoreError> {
    let source = run
        .pools
        .get(payload, 1)
        .ok_or_else(|| StoreError::Invalid {
            op: "prepare",
            detail: format!("no pool for payload `{payload}`"),
        })?;
    let view = source.view();
    let records = view.records();
    if records.is_empty() {
        return Ok(true);
    }
    let limit = run
        .target
        .kind
        .capabilities()
        .max_batch_bytes
        .map_or(PREPARE_BATCH_BYTES, |m| PREPARE_BATCH_BYTES.min(m / 4));
    // Batches: consecutive runs of pool records up to `limit` body bytes.
    let mut batches: Vec<(usize, usize, u64)> = Vec::new();
    let mut start = 0;
    while start < records.len() {
        let mut end = start;
        let mut size = 0u64;
        while end < records.len()
            && (end == start || size + records[end].body.len() as u64 <= limit)
        {
            size += records[end].body.len() as u64;
            end += 1;
        }
        batches.push((start, end, size));
        start = end;
    }
    let streams = run
        .phase
        .actors
        .iter()
        .map(|a| a.streams)
        .max()
        .unwrap_or(1)
        .max(1);
    let mut session = store.session()?;
    let mut written = 0u64;
    let mut i = 0usize;
    while written < bytes {
        if run.interrupt.load(Ordering::Acquire) {
            return Ok(false);
        }
        let (a, b, size) = batches[i % batches.len()];
        session.append(i as u64 % streams, &records[a..b])?;
        written += size.max(1);
        i += 1;
    }
    Ok(true)
}

/// Runs the writers in this process until the crash moment, then crashes:
/// power loss on `sim`, or nothing (the caller drops the store).
fn in_process_cycle(
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

/// Events the pipe reader sends to the cycle's loop.
enum Event {
    Ready,
    Limit,
    Done,
    Eof(Option<std::io::Error>),
}

/// The child's copy of the scenario: the resolved document without its
/// matrix (the values of this variant are already in it), as JSON.
fn child_document(scenario: &Scenario) -> String {
    let mut doc = scenario.resolved.clone();
    if let Some(o) = doc.as_object_mut() {
        o.remove("matrix");
    }
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}

/// True when `status` is a death by SIGINT, SIGTERM or SIGHUP — what a
/// terminal, `timeout`, `docker stop` or systemd sends to stop a run.
fn killed_by_stop_signal(status: &ExitStatus) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        matches!(
            status.signal(),
            Some(libc::SIGINT | libc::SIGTERM | libc::SIGHUP)
        )
    }
    #[cfg(not(unix))]
    {
        let _ = status;
        false
    }
}

/// How long a child's death by a stop signal waits for the same signal to
/// reach this process's handler (it is delivered to both at once, but the
/// handler sets the flag from the runtime's thread, later than the pipe
/// reports the child's end).
const STOP_SIGNAL_GRACE: Duration = Duration::from_secs(2);

/// Waits up to [`STOP_SIGNAL_GRACE`] for `interrupt`; true if it was set.
fn interrupt_follows(interrupt: &AtomicBool) -> bool {
    let until = Instant::now() + STOP_SIGNAL_GRACE;
    while Instant::now() < until {
        if interrupt.load(Ordering::Acquire) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    interrupt.load(Ordering::Acquire)
}

/// A helper thread of a crash phase could not be started (e.g. under a
/// process limit); the guards kill and reap the child on the way out.
fn spawn_err(thread: &str, source: std::io::Error) -> StoreError {
    StoreError::Io {
        op: "start thread",
        path: PathBuf::from(thread),
        source,
    }
}

/// What a hook of `cycle` (from 0) is told.
fn hook_context<'a>(run: &'a CrashRun<'_>, cycle: u64, child_pid: Option<u32>) -> HookContext<'a> {
    HookContext {
        target: &run.target.name,
        phase: &run.phase.name,
        cycle: cycle + 1,
        data_dir: run.dir,
        child_pid,
    }
}

fn hook_err(e: hooks::HookError) -> StoreError {
    StoreError::Invalid {
        op: "crash hook",
        detail: e.to_string(),
    }
}

fn child_err(detail: String) -> StoreError {
    StoreError::Invalid {
        op: "crash child",
        detail,
    }
}

/// Runs one cycle's writers in a child process and kills it at the moment.
/// `Ok(None)` when interrupted (the child is killed and reaped all the same).
fn child_cycle(run: &CrashRun<'_>, cycle: u64) -> Result<Option<Crashed>, StoreError> {
    let mut cmd = Command::new(&run.child.program);
    cmd.args(&run.child.prefix)
        .arg(CHILD_SUBCOMMAND)
        .arg("--file")
        .arg(&run.scenario.file)
        .arg("--target")
        .arg(&run.target.name)
        .arg("--phase")
        .arg(&run.phase.name)
        .arg("--seed")
        .arg(run.seed.to_string())
        .arg("--data")
        .arg(run.dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // A process group of its own: a Ctrl-C in a terminal (or `timeout`)
    // signals the whole foreground group, and a child that died of it
    // would look like a failed phase. Only the parent decides when the
    // child dies; it still exits on its own when the parent does (stdin).
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let mut child = cmd.spawn().map_err(|source| StoreError::Io {
        op: "start crash child",
        path: run.child.program.clone(),
        source,
    })?;
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let mut guard = ChildGuard::new(child);
    let doc = child_document(run.scenario);
    if let Some(stdin) = guard.stdin.as_mut() {
        // A child that died at once shows up below as an early end of stream.
        let _ = write!(stdin, "{}\n{doc}", doc.len()).and_then(|()| stdin.flush());
    }
    let (tx, rx) = mpsc::channel();
    let after_records = run.restart.after_records;
    let progress = Arc::clone(&run.progress);
    let reader = std::thread::Builder::new().name("loadline-crash-acks".to_owned());
    let reader = reader.spawn(move || {
        let mut acks = Vec::new();
        let mut kv = Vec::new();
        let mut writes = 0u64;
        let Some(out) = stdout else {
            let _ = tx.send(Event::Eof(None));
            return (acks, kv);
        };
        let mut r = std::io::BufReader::with_capacity(64 << 10, out);
        let mut limit_sent = false;
        loop {
            match Message::read_from(&mut r) {
                Ok(Some(Message::Ready)) => {
                    let _ = tx.send(Event::Ready);
                }
                Ok(Some(Message::Done)) => {
                    let _ = tx.send(Event::Done);
                }
                Ok(Some(m @ (Message::Ack(_) | Message::Kv(_)))) => {
                    match m {
                        Message::Ack(a) => {
                            acks.push(a);
                            writes += 1;
                        }
                        Message::Kv(e) => {
                            if let KvEvent::Acked { count, .. } = &e {
                                writes += count;
                            }
                            kv.push(e);
                        }
                        _ => {}
                    }
                    progress[0].records.store(writes, Ordering::Relaxed);
                    if !limit_sent && after_records.is_some_and(|n| writes >= n) {
                        limit_sent = true;
                        let _ = tx.send(Event::Limit);
                    }
                }
                Ok(None) => {
                    let _ = tx.send(Event::Eof(None));
                    return (acks, kv);
                }
                Err(e) => {
                    let _ = tx.send(Event::Eof(Some(e)));
                    return (acks, kv);
                }
            }
        }
    });
    let reader = reader.map_err(|source| spawn_err("loadline-crash-acks", source))?;
    let errors = std::thread::Builder::new()
        .name("loadline-crash-stderr".to_owned())
        .spawn(move || {
            let mut text = String::new();
            if let Some(mut e) = stderr {
                let _ = e.read_to_string(&mut text);
            }
            text
        })
        .map_err(|source| spawn_err("loadline-crash-stderr", source))?;
    let limit = deadline(run, cycle);
    let mut ready_at: Option<Instant> = None;
    let mut died: Option<Option<std::io::Error>> = None;
    let mut interrupted = false;
    loop {
        if run.interrupt.load(Ordering::Acquire) {
            interrupted = true;
            break;
        }
        let wait = match (ready_at, limit) {
            (Some(t0), Some(d)) => {
                let left = d.saturating_sub(t0.elapsed());
                if left.is_zero() {
                    break;
                }
                left.min(POLL)
            }
            _ => POLL,
        };
        match rx.recv_timeout(wait) {
            Ok(Event::Ready) => ready_at = Some(Instant::now()),
            Ok(Event::Limit | Event::Done) => break,
            Ok(Event::Eof(e)) => {
                died = Some(e);
                break;
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => {
                died = Some(None);
                break;
            }
        }
    }
    // The crash hook runs while the writers still write: it may fault or
    // crash their file system, and their death meanwhile is the crash.
    let mut hook_failed = None;
    if !interrupted
        && died.is_none()
        && let Some(cmd) = &run.hooks.crash
    {
        let ctx = hook_context(run, cycle, Some(guard.id()));
        match hooks::run(HookPoint::Crash, cmd, &ctx, run.interrupt) {
            Ok(true) => {}
            Ok(false) => interrupted = true,
            Err(e) => hook_failed = Some(hook_err(e)),
        }
    }
    let status = guard.kill();
    let (acks, kv) = reader
        .join()
        .map_err(|_| child_err("the pipe reader panicked".to_owned()))?;
    let stderr_text = errors.join().unwrap_or_default();
    if interrupted {
        return Ok(None);
    }
    if let Some(e) = hook_failed {
        return Err(e);
    }
    if died.is_some()
        && status.as_ref().is_ok_and(killed_by_stop_signal)
        && interrupt_follows(run.interrupt)
    {
        // Signalled along with us (e.g. systemd stops the whole cgroup):
        // the child's death is the interrupt, not a finding of the phase.
        return Ok(None);
    }
    if let Some(e) = died {
        let status = status.map_or_else(|e| e.to_string(), |s| s.to_string());
        let mut detail = format!("the child ended before it was killed ({status})");
        if let Some(e) = e {
            detail.push_str(&format!("; reading its acknowledgements: {e}"));
        }
        let text = stderr_text.trim();
        if !text.is_empty() {
            detail.push_str(": ");
            detail.push_str(text);
        }
        return Err(child_err(detail));
    }
    Ok(Some(Crashed {
        acks,
        kv,
        written: None,
    }))
}

/// The crash child's work, inside `loadline __crash-child`: opens the store
/// in `dir`, runs the phase's actors with every acknowledgement streamed to
/// `out`, then waits to be killed. Returns only on error.
pub fn child_main(
    scenario: &Scenario,
    target: &Target,
    phase: &Phase,
    seed: u64,
    dir: &Path,
    out: Box<dyn Write + Send>,
) -> Result<std::convert::Infallible, StoreError> {
    let (pools, _) = Pools::prepare(scenario, seed, &[phase.name.as_str()]).map_err(|e| {
        StoreError::Invalid {
            op: "prepare payloads",
            detail: e.to_string(),
        }
    })?;
    let store = store::open(&target.kind, dir)?;
    let state = AckState::new(AckSink::Pipe(Mutex::new(out)));
    let acking = AckingStore::new(store.as_ref(), Arc::clone(&state));
    let pipe_err = |source| StoreError::Io {
        op: "write to the parent",
        path: PathBuf::from("stdout"),
        source,
    };
    state.send(&Message::Ready).map_err(pipe_err)?;
    let progress: Arc<Vec<crate::metrics::progress::Progress>> = Arc::new(
        (0..phase::worker_count(phase))
            .map(|_| crate::metrics::progress::Progress::default())
            .collect(),
    );
    phase::run(&PhaseRun {
        seed,
        target: &target.name,
        phase,
        pools: &pools,
        store: &acking,
        control: Arc::new(Control::default()),
        progress,
        interval: NO_TIMELINE,
        kind: None,
    })
    .map_err(phase::PhaseError::into_store_error)?;
    state.send(&Message::Done).map_err(pipe_err)?;
    // Crash, not close: the parent kills this process now.
    loop {
        std::thread::park();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::load::Source;
    use crate::store::MemoryStore;

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

    /// A scenario with one crashing phase on one target.
    fn crash_scenario(target: &str, restart: &str, extra: &str) -> Scenario {
        scenario(&format!(
            "version: 1\nname: t\ntargets:\n  t:\n    {target}\npayloads:\n  p:\n    size: 256B\n    pool: 32\nphases:\n  - name: recover\n    actors:\n      - {{ op: append, streams: 3, batch: 4, workers: 2, payload: p }}\n    restart: {restart}\n    verify: acknowledged\n{extra}"
        ))
    }

    /// Runs the scenario's only phase through `run`, on `store`.
    fn run_phase(
        s: &Scenario,
        dir: &Path,
        store: Box<dyn Store>,
        interrupt: &AtomicBool,
        child: ChildCommand,
    ) -> CrashOutcome {
        let (pools, _) = Pools::prepare(s, 3, &[]).unwrap();
        let phase = &s.phases[0];
        run(
            &CrashRun {
                scenario: s,
                target: &s.targets[0],
                phase,
                restart: phase.restart.as_ref().unwrap(),
                pools: &pools,
                seed: 3,
                dir,
                interrupt,
                progress: Arc::new(vec![crate::metrics::progress::Progress::default()]),
                child,
                hooks: &CrashHooks::default(),
            },
            store,
        )
    }

    fn no_child() -> ChildCommand {
        ChildCommand {
            program: PathBuf::from("/nonexistent/loadline"),
            prefix: Vec::new(),
        }
    }

    fn metric(r: &PhaseReport, name: &str) -> f64 {
        *r.metrics
            .get(name)
            .unwrap_or_else(|| panic!("no metric {name}"))
    }

    #[test]
    fn crash_moments_are_seeded_and_inside_the_window() {
        let (lo, hi) = (Duration::from_millis(100), Duration::from_millis(200));
        let w = Some((lo, hi));
        let a = crash_delay(1, "t", "p", 0, w).unwrap();
        assert_eq!(
            a,
            crash_delay(1, "t", "p", 0, w).unwrap(),
            "same seed, same moment"
        );
        let all: Vec<Duration> = (0..50)
            .map(|c| crash_delay(1, "t", "p", c, w).unwrap())
            .collect();
        assert!(all.iter().all(|d| *d >= lo && *d <= hi));
        assert!(
            all.iter().any(|d| *d != a),
            "cycles crash at different moments"
        );
        assert_eq!(crash_delay(1, "t", "p", 0, None), None);
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&v, 50.0), 50.0);
        assert_eq!(percentile(&v, 99.0), 99.0);
        assert_eq!(percentile(&[7], 99.0), 7.0);
        assert_eq!(percentile(&[], 50.0), 0.0);
    }

    /// Guards the durability contract of `sync: always` under simulated
    /// power loss, over several cycles on top of each other.
    #[test]
    fn power_loss_under_sync_always_loses_nothing_acknowledged() {
        let s = crash_scenario(
            "wal: { sync: always, segment_size: 64KiB }",
            "power-loss",
            "    after: 30ms..60ms\n    repeat: 3\n    prepare: { bytes: 200KiB }\n",
        );
        let dir = tempfile::tempdir().unwrap();
        let (r, back) = run_phase(
            &s,
            dir.path(),
            Box::new(MemoryStore::new()),
            &AtomicBool::new(false),
            no_child(),
        );
        let r = r.unwrap().unwrap();
        assert!(back.is_some(), "the target's store is handed back");
        assert_eq!(metric(&r, "cycles"), 3.0);
        assert!(metric(&r, "acknowledged_records") > 0.0);
        assert_eq!(metric(&r, "lost_records"), 0.0);
        assert_eq!(metric(&r, "corrupt_records"), 0.0);
        assert_eq!(metric(&r, "holes"), 0.0);
        assert_eq!(
            metric(&r, "recovered_records"),
            metric(&r, "acknowledged_records")
        );
        assert!(metric(&r, "reopen.duration") >= metric(&r, "reopen.p50"));
    }

    /// Proof the check can fail: `sync: never` acknowledges before anything
    /// is durable, so a power loss must show lost acknowledged records.
    #[test]
    fn power_loss_under_sync_never_reports_lost_acknowledged_records() {
        let s = crash_scenario(
            "wal: { sync: never }",
            "power-loss",
            "    after_records: 2000\n    repeat: 2\n",
        );
        let dir = tempfile::tempdir().unwrap();
        let (r, _) = run_phase(
            &s,
            dir.path(),
            Box::new(MemoryStore::new()),
            &AtomicBool::new(false),
            no_child(),
        );
        let r = r.unwrap().unwrap();
        assert!(metric(&r, "acknowledged_records") >= 4000.0);
        assert!(metric(&r, "lost_records") >= 4000.0, "{:?}", r.metrics);
        assert!(metric(&r, "loss_window_records") >= metric(&r, "lost_records"));
    }

    #[test]
    fn a_crashed_memory_store_honestly_loses_everything() {
        let s = crash_scenario("memory: {}", "crash", "    records: 1000\n");
        let dir = tempfile::tempdir().unwrap();
        let (r, back) = run_phase(
            &s,
            dir.path(),
            Box::new(MemoryStore::new()),
            &AtomicBool::new(false),
            no_child(),
        );
        let r = r.unwrap().unwrap();
        assert!(back.is_some());
        assert_eq!(metric(&r, "acknowledged_records"), 1000.0);
        assert_eq!(metric(&r, "lost_records"), 1000.0);
        assert_eq!(metric(&r, "recovered_records"), 0.0);
    }

    /// Guards issue 29: puts acknowledged before a crash are verified —
    /// the memory store (which loses everything) must show them lost, per
    /// op kind, with a non-zero verified count.
    #[test]
    fn acknowledged_puts_and_deletes_are_verified_and_a_memory_store_loses_the_puts() {
        let s = scenario(
            "version: 1\nname: t\ntargets:\n  t:\n    memory: {}\npayloads:\n  value:\n    size: 1KiB\n    pool: 16\nphases:\n  - name: crash\n    restart: crash\n    verify: acknowledged\n    records: 400\n    actors:\n      - { op: put, payload: value, keys: { space: 1k } }\n      - { op: delete, keys: { space: 1k } }\n",
        );
        let dir = tempfile::tempdir().unwrap();
        let (r, _) = run_phase(
            &s,
            dir.path(),
            Box::new(MemoryStore::new()),
            &AtomicBool::new(false),
            no_child(),
        );
        let r = r.unwrap().unwrap();
        let puts = metric(&r, "acknowledged_puts");
        let deletes = metric(&r, "acknowledged_deletes");
        assert!(puts > 0.0 && deletes > 0.0, "{:?}", r.metrics);
        assert_eq!(metric(&r, "acknowledged_records"), puts + deletes);
        assert!(metric(&r, "verified_puts") > 0.0);
        assert_eq!(
            metric(&r, "lost_puts"),
            metric(&r, "verified_puts"),
            "every key whose last acknowledged write was a put is gone"
        );
        assert_eq!(
            metric(&r, "recovered_deletes"),
            metric(&r, "verified_deletes"),
            "a deleted key is absent from an empty store"
        );
        assert_eq!(metric(&r, "lost_records"), metric(&r, "lost_puts"));
        assert_eq!(metric(&r, "corrupt_records"), 0.0);
        assert!(metric(&r, "verified_records") > 0.0);
    }

    /// A kind with key-value operations only: the memory store behind a
    /// session that keeps the log methods' "not supported" defaults.
    struct KvOnlyKind;

    struct KvOnlyStore(MemoryStore);

    struct KvOnlySession(Box<dyn crate::store::Session>);

    const KV_ONLY: crate::store::Capabilities = crate::store::Capabilities {
        kv: true,
        ..crate::store::Capabilities::NONE
    };

    impl crate::store::StoreKind for KvOnlyKind {
        const NAME: &'static str = "kvonly";
        const ABOUT: &'static str = "Key-value operations only.";
        type Config = crate::store::MemoryConfig;
        fn capabilities(_: &Self::Config) -> crate::store::Capabilities {
            KV_ONLY
        }
        fn statistics() -> &'static [crate::store::StatDesc] {
            &[]
        }
        fn open(_: &Self::Config, _: &Path) -> Result<Box<dyn Store>, StoreError> {
            Ok(Box::new(KvOnlyStore(MemoryStore::new())))
        }
    }

    impl Store for KvOnlyStore {
        fn capabilities(&self) -> crate::store::Capabilities {
            KV_ONLY
        }
        fn session(&self) -> Result<Box<dyn crate::store::Session>, StoreError> {
            Ok(Box::new(KvOnlySession(self.0.session()?)))
        }
        fn stats(&self) -> crate::store::StoreStats {
            crate::store::StoreStats::default()
        }
        fn close(self: Box<Self>) -> Result<(), StoreError> {
            Ok(())
        }
    }

    impl crate::store::Session for KvOnlySession {
        fn put(&mut self, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
            self.0.put(key, value)
        }
        fn get(&mut self, key: &[u8], out: &mut Vec<u8>) -> Result<bool, StoreError> {
            self.0.get(key, out)
        }
        fn delete(&mut self, key: &[u8]) -> Result<(), StoreError> {
            self.0.delete(key)
        }
    }

    /// Guards issue 29: a key-value-only kind that validates runs its
    /// crash phase — nothing asks it for log bounds or reads.
    #[test]
    fn a_key_value_only_kind_runs_its_crash_phase() {
        let registry = crate::store::Registry::builtin()
            .with::<KvOnlyKind>()
            .unwrap();
        let loader = crate::scenario::Loader::new(registry);
        let src = Source {
            name: "t.yaml".to_owned(),
            text: "version: 1\nname: t\ntargets:\n  t:\n    kvonly: {}\npayloads:\n  v:\n    size: 64B\n    pool: 4\nphases:\n  - name: crash\n    restart: crash\n    verify: acknowledged\n    records: 200\n    repeat: 2\n    actors:\n      - { op: put, payload: v, batch: 4, keys: { space: 100 } }\n".to_owned(),
        };
        let s = match loader.load_source(src, Path::new("t.yaml"), &[]) {
            Ok(l) => l.variants.into_iter().next().unwrap(),
            Err(d) => panic!("{}", d.render()),
        };
        let dir = tempfile::tempdir().unwrap();
        let store = s.targets[0].kind.open(dir.path()).unwrap();
        let (r, back) = run_phase(&s, dir.path(), store, &AtomicBool::new(false), no_child());
        let r = r.unwrap().unwrap();
        assert!(back.is_some());
        assert_eq!(metric(&r, "cycles"), 2.0);
        assert!(metric(&r, "acknowledged_puts") >= 400.0, "{:?}", r.metrics);
        assert!(
            metric(&r, "lost_puts") > 0.0,
            "not persistent: the puts are gone"
        );
    }

    fn alive(pid: u32) -> bool {
        Path::new(&format!("/proc/{pid}")).exists()
    }

    #[test]
    fn a_dropped_guard_kills_and_reaps_its_child() {
        let child = Command::new("sleep")
            .arg("60")
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        let guard = ChildGuard::new(child);
        let pid = guard.id();
        assert!(alive(pid));
        drop(guard);
        assert!(!alive(pid), "killed and reaped: no zombie left in /proc");
    }

    /// A stand-in child that records its pid and never becomes ready.
    fn sleeper(pid_file: &Path) -> ChildCommand {
        ChildCommand {
            program: PathBuf::from("sh"),
            prefix: vec![
                "-c".to_owned(),
                format!("echo $$ > {}; exec sleep 60", pid_file.display()),
                "sh".to_owned(),
            ],
        }
    }

    #[test]
    fn an_interrupt_mid_phase_kills_and_reaps_the_child() {
        let s = crash_scenario("wal: {}", "crash", "    after: 30s\n");
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("pid");
        let store = store::open(&s.targets[0].kind, &dir.path().join("data")).unwrap();
        let interrupt = Arc::new(AtomicBool::new(false));
        let setter = {
            let interrupt = Arc::clone(&interrupt);
            let pid_file = pid_file.clone();
            std::thread::spawn(move || {
                while !pid_file.exists() {
                    std::thread::sleep(Duration::from_millis(5));
                }
                std::thread::sleep(Duration::from_millis(50));
                interrupt.store(true, Ordering::Release);
            })
        };
        let t0 = Instant::now();
        let (r, back) = run_phase(
            &s,
            &dir.path().join("data"),
            store,
            &interrupt,
            sleeper(&pid_file),
        );
        setter.join().unwrap();
        assert!(r.unwrap().is_none(), "an interrupted phase is discarded");
        assert!(back.is_some(), "the store is reopened for the final close");
        assert!(t0.elapsed() < Duration::from_secs(10));
        let pid: u32 = std::fs::read_to_string(&pid_file)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert!(!alive(pid), "child {pid} was reaped");
    }

    #[test]
    fn a_child_that_dies_on_its_own_is_an_error_naming_its_stderr() {
        let s = crash_scenario("wal: {}", "crash", "    after: 30s\n");
        let dir = tempfile::tempdir().unwrap();
        let store = store::open(&s.targets[0].kind, dir.path()).unwrap();
        let child = ChildCommand {
            program: PathBuf::from("sh"),
            prefix: vec![
                "-c".to_owned(),
                "echo 'error: no space left' >&2; exit 3".to_owned(),
                "sh".to_owned(),
            ],
        };
        let (r, _) = run_phase(&s, dir.path(), store, &AtomicBool::new(false), child);
        let e = r.unwrap_err().to_string();
        assert!(e.contains("no space left"), "{e}");
        assert!(e.contains("before it was killed"), "{e}");
    }
}
