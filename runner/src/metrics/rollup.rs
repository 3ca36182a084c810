//! Rolling a phase's timeline up *while it runs*: workers hand each closed
//! interval over through their [`Progress`] slot, and [`Rollup`] merges
//! the workers of an actor into one compact [`IntervalReport`] (counts,
//! percentiles, a compressed histogram of a few hundred bytes) as soon as
//! every worker of the actor has moved past that interval.
//!
//! So a long (soak) phase holds one sparse histogram per worker and one
//! compact report per interval and actor — not every worker's buckets of
//! every interval until the end — and each finished interval can be
//! written to disk at once (`report::stream`). At the end
//! [`Rollup::finish`] takes what is left and returns the same timeline
//! `timeline::actor_timeline` (its test reference) builds from all
//! samples at once: intervals without operations kept as empty ones, the
//! last one cut at the phase's end.

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::progress::Progress;
use super::recorder::IntervalSample;
use super::samples::{IntervalReport, PhaseSample};
use super::timeline::interval_report;

/// What a running phase finished since the last batch: actor intervals
/// (actor index, report) and the store and process samples of its
/// intervals, each in order. The phase thread sends one per boundary.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct IntervalBatch {
    /// Complete actor intervals: (index of the actor in the phase, report).
    pub actors: Vec<(usize, IntervalReport)>,
    /// Store and process samples of the intervals that ended.
    pub samples: Vec<PhaseSample>,
}

/// One actor's intervals: merged samples not yet complete, and the
/// reports of those that are.
#[derive(Debug, Default)]
struct ActorRollup {
    /// Its workers' progress slots.
    slots: Range<usize>,
    /// Samples of intervals some worker may still add to, by index.
    pending: BTreeMap<u64, IntervalSample>,
    /// The next interval index to report.
    next: u64,
    /// Reported intervals, oldest first.
    done: Vec<IntervalReport>,
}

/// The running phase's timeline, rolled up interval by interval.
#[derive(Debug)]
pub(crate) struct Rollup {
    every_ns: u64,
    actors: Vec<ActorRollup>,
}

impl Rollup {
    /// A rollup of actors with `workers[i]` workers each (progress slots in
    /// actor order) and intervals `every` long.
    pub(crate) fn new(workers: &[usize], every: Duration) -> Self {
        let mut at = 0;
        let actors = workers
            .iter()
            .map(|n| {
                let slots = at..at + n;
                at += n;
                ActorRollup {
                    slots,
                    ..ActorRollup::default()
                }
            })
            .collect();
        Rollup {
            every_ns: (every.as_nanos() as u64).max(1),
            actors,
        }
    }

    /// Takes the intervals the workers handed over and returns those now
    /// complete — every worker of the actor is past them — as (actor
    /// index, report), oldest first per actor. An actor whose workers are
    /// all done keeps its last interval for [`finish`](Self::finish), which
    /// knows where the phase ended.
    pub(crate) fn collect(&mut self, progress: &[Progress]) -> Vec<(usize, IntervalReport)> {
        let mut out = Vec::new();
        for (ai, a) in self.actors.iter_mut().enumerate() {
            // The bound first: a worker hands its intervals over before it
            // moves its index, so every interval below it is taken here.
            let bound = a
                .slots
                .clone()
                .filter_map(|s| progress.get(s))
                .map(|p| p.interval.load(Ordering::Acquire))
                .min()
                .unwrap_or(0);
            a.take(progress);
            let bound = if bound == u64::MAX {
                a.pending.keys().next_back().copied().unwrap_or(a.next)
            } else {
                bound
            };
            while a.next < bound {
                let s = a.pending.remove(&a.next).unwrap_or_default();
                let report = interval_report(&s, a.next, self.every_ns, u64::MAX);
                a.done.push(report.clone());
                out.push((ai, report));
                a.next += 1;
            }
        }
        out
    }

    /// The reports of the intervals still to come at the end of a phase
    /// `span_ns` long (every worker done and its intervals handed over),
    /// as (actor index, report), and each actor's whole timeline.
    pub(crate) fn finish(
        mut self,
        progress: &[Progress],
        span_ns: u64,
    ) -> (Vec<(usize, IntervalReport)>, Vec<Vec<IntervalReport>>) {
        let mut last = Vec::new();
        let covered = span_ns.div_ceil(self.every_ns).max(1);
        for (ai, a) in self.actors.iter_mut().enumerate() {
            a.take(progress);
            let n = a
                .pending
                .keys()
                .next_back()
                .map_or(covered, |k| covered.max(k + 1))
                .max(a.next);
            while a.next < n {
                let s = a.pending.remove(&a.next).unwrap_or_default();
                let report = interval_report(&s, a.next, self.every_ns, span_ns);
                a.done.push(report.clone());
                last.push((ai, report));
                a.next += 1;
            }
        }
        (last, self.actors.into_iter().map(|a| a.done).collect())
    }
}

impl ActorRollup {
    /// Merges what the actor's workers handed over into `pending`.
    fn take(&mut self, progress: &[Progress]) {
        for p in self.slots.clone().filter_map(|s| progress.get(s)) {
            for s in p.take_closed() {
                self.pending
                    .entry(s.index)
                    .or_insert_with(|| IntervalSample {
                        index: s.index,
                        ..IntervalSample::default()
                    })
                    .add(&s);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::recorder::Recorder;
    use crate::metrics::timeline::actor_timeline;
    use std::time::Instant;

    /// Two workers of one actor hand intervals over as they go; an
    /// interval is reported only once both are past it, and the rolled-up
    /// timeline equals the one built from every sample at the end.
    #[test]
    fn a_rolled_timeline_equals_the_one_built_at_the_end() {
        let start = Instant::now();
        let every = Duration::from_millis(100);
        let at = |ms: u64| start + Duration::from_millis(ms);
        let progress: Vec<Progress> = (0..2).map(|_| Progress::default()).collect();
        let mut workers = [
            Recorder::with_intervals(false, start, every),
            Recorder::with_intervals(false, start, every),
        ];
        let mut all = Vec::new();
        let mut rollup = Rollup::new(&[2], every);
        let mut streamed = Vec::new();
        // Worker 0 reaches 450 ms, worker 1 only 250 ms: intervals 0 and 1 are complete.
        for (w, stops) in [(0, [5, 150, 260, 450]), (1, [7, 120, 210, 250])] {
            for ms in stops {
                workers[w].roll(at(ms));
                workers[w].record(1_000 * (ms + 1), 1, 10);
            }
            all.extend(workers[w].intervals.iter().cloned());
            progress[w].publish(&mut workers[w]);
        }
        streamed.extend(rollup.collect(&progress));
        assert_eq!(
            streamed.iter().map(|(_, r)| r.t_s).collect::<Vec<_>>(),
            [0.0, 0.1],
            "only the intervals both workers passed"
        );
        assert_eq!(streamed[0].1.records, 2);
        for (w, r) in workers.iter_mut().enumerate() {
            r.roll(at(480));
            r.finish();
            all.extend(r.intervals.iter().cloned());
            progress[w].publish_final(r);
        }
        streamed.extend(rollup.collect(&progress));
        let (last, timelines) = rollup.finish(&progress, 500_000_000);
        streamed.extend(last);
        let expected = actor_timeline(&all, every, 500_000_000);
        assert_eq!(timelines.len(), 1);
        assert_eq!(timelines[0], expected);
        let streamed: Vec<IntervalReport> = streamed.into_iter().map(|(_, r)| r).collect();
        assert_eq!(streamed, expected, "every interval streamed once, in order");
    }
}
