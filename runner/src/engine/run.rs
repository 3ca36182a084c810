//! A run: `--repeat` rounds, each every selected cell of every variant
//! in a fresh data directory, the targets rotated between rounds; per
//! target, its phases in order with the store opened, restarted and
//! closed between them.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::datadir::{self, file_name_part};
use super::error::{EngineError, error_chain};
use super::events::{Ending, Event, Observer};
use super::options::RunOptions;
use super::pools;
use super::target::run_target;
use crate::metrics::report::PayloadReport;
use crate::scenario::model::{Scenario, Target};

/// The targets of `scenario` that `selected` admits, in the order round
/// `round` runs them: the file order rotated left by `round`, so each
/// target is first once every `targets` rounds and a noisy minute falls
/// on every target in turn.
pub(crate) fn round_order(
    scenario: &Scenario,
    round: usize,
    selected: impl Fn(&Target) -> bool,
) -> Vec<&Target> {
    let mut order: Vec<&Target> = scenario.targets.iter().filter(|t| selected(t)).collect();
    let n = order.len().max(1);
    order.rotate_left(round % n);
    order
}

/// Claims the data directory of every selected target of every variant.
fn claim_dirs(
    variants: &[Scenario],
    opts: &RunOptions,
) -> Result<BTreeMap<(usize, String), datadir::OwnedDir>, EngineError> {
    let reuse = if opts.reuse_data {
        datadir::Reuse::Existing
    } else {
        datadir::Reuse::Fresh
    };
    let mut dirs = BTreeMap::new();
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
pub(crate) async fn run(
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
            let _ = observer.event(&Event::RoundStarted { order: &order });
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{CellFilter, phase, worker};
    use crate::metrics::report::{ActorReport, Environment, RunReport, RunStatus};
    use crate::results::builder::{ReportBuilder, Selection};
    use crate::scenario::load::Source;
    use crate::store::{
        Capabilities, LogBounds, MemoryStore, Offset, ReadBuf, Record, Session, Store, StoreError,
        StoreStats,
    };
    use std::path::Path;
    use std::sync::atomic::{AtomicBool, AtomicU64};
    use std::time::{Duration, Instant};

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
            crash_hooks: crate::engine::hooks::CrashHooks::default(),
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
            stream: None,
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
