//! The live view of a running run, for the metrics endpoint: the phase on
//! the go (its workers' published counters and histograms, and its store,
//! whose statistics a scrape reads at that moment) and the totals of every
//! phase finished so far.
//!
//! An engine subscriber (`report::prometheus::LiveObserver`) tells it when
//! a phase starts and finishes; a scrape asks for a [`Snapshot`]. Workers are never touched: they publish into their
//! `Progress` slots a few times a second and at interval boundaries. This
//! module holds data; `report::prometheus` formats and serves it.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::live_trends::{LiveTrend, LiveTrends};
use super::progress::Progress;
use super::report::PhaseReport;
use super::rollup::IntervalBatch;
use crate::store::{StatUnit, Store, StoreSeries};

/// Who a series is about.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Labels {
    /// Matrix variant label (empty without a matrix).
    pub variant: String,
    /// Target name.
    pub target: String,
    /// Phase name.
    pub phase: String,
    /// Actor name (empty for phase- and store-level series).
    pub actor: String,
}

/// One actor's figures so far.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct ActorFigures {
    /// Operations completed.
    pub ops: u64,
    /// Records processed.
    pub records: u64,
    /// Body bytes processed.
    pub bytes: u64,
    /// Failed operations.
    pub errors: u64,
    /// Latency buckets, (ns, count), sorted by value.
    pub latency: Vec<(u64, u64)>,
}

/// What the endpoint needs of a phase that starts: its name, its actors
/// in the order of the progress slots, and its goal (for progress).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PhaseShape {
    /// Phase name.
    pub name: String,
    /// (actor name, workers) in the order of the progress slots.
    pub actors: Vec<(String, usize)>,
    /// The phase's record goal, if it has one.
    pub records: Option<u64>,
    /// The phase's duration, if it has one.
    pub duration: Option<Duration>,
}

/// The phase running now.
struct Current {
    labels: Labels,
    /// (actor name, workers) in the order of the progress slots.
    actors: Vec<(String, usize)>,
    progress: Arc<Vec<Progress>>,
    store: Arc<Box<dyn Store>>,
    started: Instant,
    records_goal: Option<u64>,
    duration: Option<Duration>,
}

#[derive(Default)]
struct State {
    current: Option<Current>,
    finished: BTreeMap<Labels, ActorFigures>,
    /// Per-phase store statistics (change over the phase) of finished phases.
    finished_store: BTreeMap<Labels, BTreeMap<String, f64>>,
    phases_finished: u64,
    /// The running (or last) phase's labels and trends.
    trends: (Labels, LiveTrends),
}

/// What a scrape sees.
#[derive(Debug, Default)]
pub(crate) struct Snapshot {
    /// The scenario's name (a label of every series).
    pub scenario: String,
    /// Every actor of every finished phase and of the running one.
    pub actors: Vec<(Labels, ActorFigures)>,
    /// Store statistics: the running phase's store as it is now
    /// (cumulative since it was opened), labelled with its phase: name,
    /// value, unit, and true for a counter (false for a level).
    pub store: Vec<(Labels, String, f64, StatUnit, bool)>,
    /// Everything else the running phase's store offers (RocksDB's tickers,
    /// histograms and column-family properties).
    pub series: Vec<(Labels, StoreSeries)>,
    /// Store statistics of finished phases: the change over each phase.
    pub store_phase: Vec<(Labels, String, f64)>,
    /// The running phase: labels, seconds since it started, progress 0…1
    /// (of `records` or `duration`, whichever is further; 0 when neither).
    pub running: Option<(Labels, f64, f64)>,
    /// Phases finished so far (all targets).
    pub phases_finished: u64,
    /// Trends of the running (or last) phase so far, with its labels (the
    /// actor's name in them, empty for a process series).
    pub trends: Vec<(Labels, LiveTrend)>,
}

/// The live state of one run (one scenario file).
pub(crate) struct Live {
    scenario: Mutex<String>,
    state: Mutex<State>,
    /// Store statistics' units by name, of the running target's kind, and
    /// true for a counter (false for a level).
    units: Mutex<BTreeMap<String, (StatUnit, bool)>>,
}

impl std::fmt::Debug for Live {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Live").finish_non_exhaustive()
    }
}

impl Default for Live {
    fn default() -> Self {
        Live::new("")
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Live {
    /// An empty live state for scenario `scenario`.
    pub(crate) fn new(scenario: &str) -> Self {
        Live {
            scenario: Mutex::new(scenario.to_owned()),
            state: Mutex::new(State::default()),
            units: Mutex::new(BTreeMap::new()),
        }
    }

    /// Names the scenario now running (one endpoint serves every file of
    /// a `loadline run a.yaml b.yaml`).
    pub(crate) fn set_scenario(&self, scenario: &str) {
        *lock(&self.scenario) = scenario.to_owned();
    }

    /// A phase starts on a target: its workers publish into `progress`
    /// (slots in actor order), and scrapes read `store`.
    pub(crate) fn phase_started(
        &self,
        variant: &str,
        target: &str,
        phase: PhaseShape,
        progress: &Arc<Vec<Progress>>,
        store: Arc<Box<dyn Store>>,
    ) {
        let mut s = lock(&self.state);
        let labels = Labels {
            variant: variant.to_owned(),
            target: target.to_owned(),
            phase: phase.name,
            actor: String::new(),
        };
        s.trends.0 = labels.clone();
        s.trends.1.reset();
        s.current = Some(Current {
            labels,
            actors: phase.actors,
            progress: Arc::clone(progress),
            store,
            started: Instant::now(),
            records_goal: phase.records,
            duration: phase.duration,
        });
    }

    /// The running phase's workers are done: its store is let go at once
    /// (waiting for a scrape that is reading it), so the engine can close
    /// or restart it. Its figures stay until [`phase_finished`](Self::phase_finished).
    pub(crate) fn phase_ended(&self) {
        lock(&self.state).current = None;
    }

    /// Intervals of the running phase finished: `actors` names the batch's
    /// actor indices (the phase's actors in order).
    pub(crate) fn intervals(&self, actors: &[String], batch: &IntervalBatch) {
        let mut s = lock(&self.state);
        for (ai, i) in &batch.actors {
            if let Some(name) = actors.get(*ai) {
                s.trends.1.add_interval(name, i);
            }
        }
        for sample in &batch.samples {
            s.trends.1.add_sample(sample);
        }
    }

    /// Sets the units of the running target's store statistics, each with
    /// true for a counter (it only grows while the store is open) and
    /// false for a level.
    pub(crate) fn set_units(&self, units: BTreeMap<String, (StatUnit, bool)>) {
        *lock(&self.units) = units;
    }

    /// A phase finished with `report`: its actors' totals and store
    /// changes stay on the endpoint; the store is let go.
    pub(crate) fn phase_finished(&self, variant: &str, target: &str, report: &PhaseReport) {
        let mut s = lock(&self.state);
        s.current = None;
        s.phases_finished += 1;
        let labels = |actor: &str| Labels {
            variant: variant.to_owned(),
            target: target.to_owned(),
            phase: report.name.clone(),
            actor: actor.to_owned(),
        };
        for a in &report.actors {
            let latency = super::recorder::decode(&a.histogram)
                .map(|h| {
                    h.iter_recorded()
                        .map(|v| (v.value_iterated_to(), v.count_at_value()))
                        .collect()
                })
                .unwrap_or_default();
            s.finished.insert(
                labels(&a.name),
                ActorFigures {
                    ops: a.count,
                    records: a.records,
                    bytes: a.bytes,
                    errors: a.errors,
                    latency,
                },
            );
        }
        s.finished_store
            .insert(labels(""), report.stats.store.clone());
    }

    /// What the endpoint shows now.
    pub(crate) fn snapshot(&self) -> Snapshot {
        let scenario = lock(&self.scenario).clone();
        let units = lock(&self.units).clone();
        let s = lock(&self.state);
        let mut snap = Snapshot {
            scenario,
            actors: s
                .finished
                .iter()
                .map(|(l, f)| (l.clone(), f.clone()))
                .collect(),
            store: Vec::new(),
            series: Vec::new(),
            store_phase: s
                .finished_store
                .iter()
                .flat_map(|(l, m)| m.iter().map(|(k, v)| (l.clone(), k.clone(), *v)))
                .collect(),
            running: None,
            phases_finished: s.phases_finished,
            trends: s
                .trends
                .1
                .values()
                .into_iter()
                .map(|t| {
                    let mut l = s.trends.0.clone();
                    l.actor.clone_from(&t.actor);
                    (l, t)
                })
                .collect(),
        };
        if let Some(c) = &s.current {
            let mut slots = c.progress.iter();
            let mut records = 0u64;
            for (name, workers) in &c.actors {
                let mut f = ActorFigures::default();
                for p in slots.by_ref().take(*workers) {
                    f.ops += p.ops.load(std::sync::atomic::Ordering::Relaxed);
                    f.records += p.records.load(std::sync::atomic::Ordering::Relaxed);
                    f.bytes += p.bytes.load(std::sync::atomic::Ordering::Relaxed);
                    f.errors += p.errors.load(std::sync::atomic::Ordering::Relaxed);
                    let buckets = lock(&p.latency);
                    merge(&mut f.latency, &buckets);
                }
                records += f.records;
                let mut l = c.labels.clone();
                l.actor = name.clone();
                snap.actors.push((l, f));
            }
            let elapsed = c.started.elapsed();
            let by_records = c
                .records_goal
                .map_or(0.0, |g| records as f64 / g.max(1) as f64);
            let by_time = c
                .duration
                .map_or(0.0, |d| elapsed.as_secs_f64() / d.as_secs_f64().max(1e-9));
            snap.running = Some((
                c.labels.clone(),
                elapsed.as_secs_f64(),
                by_records.max(by_time).min(1.0),
            ));
            snap.series = c
                .store
                .series()
                .into_iter()
                .map(|s| (c.labels.clone(), s))
                .collect();
            for (name, v) in c.store.stats().values {
                let (unit, counter) = units
                    .get(&name)
                    .copied()
                    .unwrap_or((StatUnit::Count, false));
                snap.store.push((c.labels.clone(), name, v, unit, counter));
            }
        }
        snap
    }
}

/// Adds sorted sparse buckets into sorted `into`.
fn merge(into: &mut Vec<(u64, u64)>, add: &[(u64, u64)]) {
    let mut out = Vec::with_capacity(into.len() + add.len());
    let (mut a, mut b) = (into.iter().peekable(), add.iter().peekable());
    loop {
        match (a.peek(), b.peek()) {
            (Some(x), Some(y)) if x.0 == y.0 => {
                out.push((x.0, x.1 + y.1));
                a.next();
                b.next();
            }
            (Some(x), Some(y)) if x.0 < y.0 => {
                out.push(**x);
                a.next();
            }
            (_, Some(y)) => {
                out.push(**y);
                b.next();
            }
            (Some(x), None) => {
                out.push(**x);
                a.next();
            }
            (None, None) => break,
        }
    }
    *into = out;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_merge_sorted() {
        let mut a = vec![(1, 1), (5, 2), (9, 1)];
        merge(&mut a, &[(0, 1), (5, 3), (10, 1)]);
        assert_eq!(a, [(0, 1), (1, 1), (5, 5), (9, 1), (10, 1)]);
    }
}
