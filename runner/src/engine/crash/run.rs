//! A crash phase's cycles: fill the store, then per cycle crash the
//! writers (in a child process, in this process on a simulated disk, or by
//! dropping a non-persistent store), reopen the store timing it and check
//! every acknowledged write; the phase's metrics summed over cycles.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::Instant;

use super::child::child_cycle;
use super::context::{CrashRun, hook_context, hook_err, reorder_seed, stream_ids};
use super::in_process::in_process_cycle;
use crate::engine::acks::KvEvent;
use crate::engine::hooks::{self, HookPoint};
use crate::engine::verify::{self, Known, Tally};
use crate::engine::verify_kv::{self, KvKnown, KvTally};
use crate::metrics::report::PhaseReport;
use crate::scenario::model::{OpPlan, Phase, RestartKind};
use crate::store::{self, SimFs, Store, StoreError};

/// Largest batch `prepare` appends, in body bytes.
const PREPARE_BATCH_BYTES: u64 = 1 << 20;

/// Which way this phase crashes.
enum Mode {
    Child,
    PowerLoss(SimFs, PathBuf),
    Drop,
}

/// What a crash phase returns: the phase report (`None` when interrupted)
/// or the error that stopped it, and the store to continue with (`None`
/// only when it could not be reopened).
pub(crate) type CrashOutcome = (
    Result<Option<PhaseReport>, StoreError>,
    Option<Box<dyn Store>>,
);

/// Runs a crash or power-loss phase on `store` (the target's open store).
pub(crate) fn run(run: &CrashRun<'_>, store: Box<dyn Store>) -> CrashOutcome {
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
/// [`PHASE_METRICS`](crate::metrics::phase_metric::PHASE_METRICS)).
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
    let has = |f: fn(&OpPlan) -> bool| phase.actors.iter().any(|a| f(&a.plan));
    let puts = has(|p| matches!(p, OpPlan::Put { .. }));
    let deletes = has(|p| matches!(p, OpPlan::Delete { .. }));
    for (present, kind, t) in [(puts, "puts", p), (deletes, "deletes", d)] {
        if !present {
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
        .any(|p| {
            p.actors
                .iter()
                .any(|a| matches!(a.plan, OpPlan::Put { .. }))
        })
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
        .map(|a| a.plan.streams())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::crash::ChildCommand;
    use crate::engine::crash::context::crash_delay;
    use crate::engine::crash::process::ChildGuard;
    use crate::engine::pools::Pools;
    use crate::scenario::load::Source;
    use crate::scenario::model::Scenario;
    use crate::store::MemoryStore;
    use std::path::Path;
    use std::process::{Command, Stdio};
    use std::sync::Arc;
    use std::sync::atomic::AtomicBool;
    use std::time::Duration;

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
                hooks: &crate::engine::hooks::CrashHooks::default(),
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

    /// Every metric the phase wrote is a row of `PHASE_METRICS` that a
    /// verifying crash (or, with `power_loss`, power-loss) phase reports.
    fn every_metric_is_a_row(r: &PhaseReport, power_loss: bool) {
        use crate::metrics::phase_metric::{PhaseSetup, find};
        let setup = PhaseSetup {
            restarts: true,
            crashes: true,
            loses_power: power_loss,
            verifies: true,
            ..PhaseSetup::default()
        };
        for name in r.metrics.keys() {
            assert!(
                find(name).is_some_and(|m| m.scope.applies(&setup)),
                "`{name}` is not a row of its phase's scope"
            );
        }
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
        every_metric_is_a_row(&r, true);
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
        every_metric_is_a_row(&r, false);
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
