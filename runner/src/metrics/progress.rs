//! What a running worker publishes for whoever watches the run (the
//! progress display, the live metrics endpoint): [`Progress`], one per
//! worker, updated a few times a second and at each interval boundary —
//! never per operation — and read without stopping the worker.

use std::sync::atomic::{AtomicU64, Ordering};

use super::recorder::{IntervalSample, Recorder};

/// What a worker shows the progress display and the live metrics endpoint
/// while it runs: records done, published per op as before; the rest a
/// few times a second and at each interval boundary (never per operation).
#[derive(Debug, Default)]
pub(crate) struct Progress {
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
    /// Intervals the worker has closed and handed over, oldest first: the
    /// phase's sampler takes them at each boundary (so a worker holds one
    /// interval, not a whole soak's), and the rest at the phase's end.
    pub closed: std::sync::Mutex<Vec<IntervalSample>>,
    /// The interval the worker is in: every earlier one is in
    /// [`closed`](Self::closed) or already taken (`u64::MAX` once the
    /// worker is done).
    pub interval: AtomicU64,
}

impl Progress {
    /// Publishes the recorder's counters, and hands over the intervals it
    /// closed since the last publication (their buckets merged into the
    /// live histogram first).
    pub(crate) fn publish(&self, rec: &mut Recorder) {
        self.ops.store(rec.count, Ordering::Relaxed);
        self.bytes.store(rec.bytes, Ordering::Relaxed);
        self.errors.store(rec.errors, Ordering::Relaxed);
        self.records.store(rec.records, Ordering::Relaxed);
        if !rec.intervals.is_empty() {
            let mut live = lock(&self.latency);
            for i in &rec.intervals {
                merge_buckets(&mut live, &i.buckets);
            }
            drop(live);
            lock(&self.closed).append(&mut rec.intervals);
        }
        if let Some(index) = rec.current_index() {
            self.interval.store(index, Ordering::Release);
        }
    }

    /// Takes the intervals handed over so far.
    pub(crate) fn take_closed(&self) -> Vec<IntervalSample> {
        std::mem::take(&mut *lock(&self.closed))
    }

    /// Publishes a finished recorder: its totals and whole histogram, and
    /// hands over its last intervals before saying it is done.
    pub(crate) fn publish_final(&self, rec: &mut Recorder) {
        self.ops.store(rec.count, Ordering::Relaxed);
        self.bytes.store(rec.bytes, Ordering::Relaxed);
        self.errors.store(rec.errors, Ordering::Relaxed);
        self.records.store(rec.records, Ordering::Relaxed);
        *lock(&self.latency) = rec
            .latency
            .iter_recorded()
            .map(|v| (v.value_iterated_to(), v.count_at_value()))
            .collect();
        lock(&self.closed).append(&mut rec.intervals);
        self.interval.store(u64::MAX, Ordering::Release);
    }
}

fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
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
