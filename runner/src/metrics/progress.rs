//! What a running worker publishes for whoever watches the run (the
//! progress display, the live metrics endpoint): [`Progress`], one per
//! worker, updated a few times a second and at each interval boundary —
//! never per operation — and read without stopping the worker.

use std::sync::atomic::{AtomicU64, Ordering};

use super::recorder::Recorder;

/// What a worker shows the progress display and the live metrics endpoint
/// while it runs: records done, published per op as before; the rest a
/// few times a second and at each interval boundary (never per operation).
#[derive(Debug, Default)]
pub struct Progress {
    /// Records processed so far.
    pub records: AtomicU64,
    /// The worker's recent p99 latency (its current interval's), ns (0
    /// until first published).
    pub p99_ns: AtomicU64,
    /// Operations completed so far (as of the last publication).
    pub ops: AtomicU64,
    /// Body bytes so far (as of the last publication).
    pub bytes: AtomicU64,
    /// Failed operations so far.
    pub errors: AtomicU64,
    /// Latency buckets of every closed interval, (ns, count) sparse and
    /// merged: a live histogram one interval behind. Locked once per
    /// interval by the worker, and by a scrape.
    pub latency: std::sync::Mutex<Vec<(u64, u64)>>,
}

impl Progress {
    /// Publishes the recorder's counters, and the buckets of the intervals
    /// closed since `published` (how many the worker had published).
    pub(crate) fn publish(&self, rec: &Recorder, published: &mut usize) {
        self.ops.store(rec.count, Ordering::Relaxed);
        self.bytes.store(rec.bytes, Ordering::Relaxed);
        self.errors.store(rec.errors, Ordering::Relaxed);
        self.records.store(rec.records, Ordering::Relaxed);
        if rec.intervals.len() > *published {
            let mut live = self
                .latency
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            for i in &rec.intervals[*published..] {
                merge_buckets(&mut live, &i.buckets);
            }
            *published = rec.intervals.len();
        }
    }

    /// Publishes a finished recorder: its totals and whole histogram.
    pub(crate) fn publish_final(&self, rec: &Recorder) {
        self.ops.store(rec.count, Ordering::Relaxed);
        self.bytes.store(rec.bytes, Ordering::Relaxed);
        self.errors.store(rec.errors, Ordering::Relaxed);
        self.records.store(rec.records, Ordering::Relaxed);
        let mut live = self
            .latency
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *live = rec
            .latency
            .iter_recorded()
            .map(|v| (v.value_iterated_to(), v.count_at_value()))
            .collect();
    }
}

/// Adds sparse `(value, count)` buckets into sorted `into`.
pub(crate) fn merge_buckets(into: &mut Vec<(u64, u64)>, add: &[(u64, u64)]) {
    for (v, n) in add {
        match into.binary_search_by_key(v, |(x, _)| *x) {
            Ok(i) => into[i].1 += n,
            Err(i) => into.insert(i, (*v, *n)),
        }
    }
}
