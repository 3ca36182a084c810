//! Per-worker measurement: an HDR histogram in nanoseconds (3 significant
//! digits) for latency, another for service time under a rate, and plain
//! counters. Each worker owns its [`Recorder`]; nothing is shared or sent
//! per operation. At phase end the engine merges a worker's recorders into
//! one [`ActorReport`].
//!
//! Intervals (the timeline) cost nothing per operation: an operation is
//! recorded into the *current interval's* histogram only, and when the
//! worker's own clock read passes the next boundary ([`Recorder::roll`],
//! checked with the comparison the worker already makes) the interval is
//! closed — its counts are the change of the totals since the last
//! boundary, its histogram is kept as sparse buckets and added to the
//! total, and a reset histogram starts the next interval (HdrHistogram's
//! interval-recorder swap, without a phaser since one thread owns both).
//! So the intervals add up to the totals exactly, by construction.

use std::time::{Duration, Instant};

use base64::Engine as _;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Serializer as _, V2DeflateSerializer};

use super::report::{ActorReport, Latency};

/// Largest latency a histogram holds exactly (one hour); larger values are
/// clamped to it.
const MAX_TRACKABLE_NS: u64 = 3_600_000_000_000;

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_TRACKABLE_NS, 3).expect("static histogram bounds are valid")
}

/// One closed interval of one worker (or, merged, of one actor): counts
/// and the latency histogram as sparse `(value, count)` buckets (a full
/// histogram is 256 KiB; an interval's recorded buckets are a few hundred).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IntervalSample {
    /// Interval number from the phase start (interval `i` covers
    /// `[i × every, (i + 1) × every)`).
    pub index: u64,
    /// Operations completed in the interval.
    pub ops: u64,
    /// Records processed.
    pub records: u64,
    /// Body bytes processed.
    pub bytes: u64,
    /// Failed operations.
    pub errors: u64,
    /// Latency buckets: (highest equivalent value in ns, count).
    pub buckets: Vec<(u64, u64)>,
}

impl IntervalSample {
    /// Adds another sample's counts and buckets (same index).
    pub fn add(&mut self, other: &IntervalSample) {
        self.ops += other.ops;
        self.records += other.records;
        self.bytes += other.bytes;
        self.errors += other.errors;
        self.buckets.extend_from_slice(&other.buckets);
    }

    /// The latency histogram of the interval.
    pub fn histogram(&self) -> Histogram<u64> {
        let mut h = histogram();
        for (v, n) in &self.buckets {
            h.saturating_record_n(*v, *n);
        }
        h
    }
}

/// Where interval boundaries fall for one worker.
#[derive(Debug, Clone, Copy)]
struct IntervalClock {
    start: Instant,
    every: Duration,
    index: u64,
    next: Instant,
}

/// Totals at the last boundary.
#[derive(Debug, Clone, Copy, Default)]
struct Mark {
    ops: u64,
    records: u64,
    bytes: u64,
    errors: u64,
}

/// One worker's measurements.
#[derive(Debug, Clone)]
pub struct Recorder {
    /// Latency, ns (from the intended start under a rate): complete once
    /// [`finish`](Self::finish) has closed the last interval.
    pub latency: Histogram<u64>,
    /// The current interval's latency, ns.
    current: Histogram<u64>,
    /// Closed intervals, oldest first (empty without an interval clock).
    pub intervals: Vec<IntervalSample>,
    clock: Option<IntervalClock>,
    mark: Mark,
    /// Service time, ns (open loop only).
    pub service: Option<Histogram<u64>>,
    /// Operations completed.
    pub count: u64,
    /// Records processed.
    pub records: u64,
    /// Body bytes processed.
    pub bytes: u64,
    /// Failed operations.
    pub errors: u64,
    /// Open loop: operations that started more than `LATE_AFTER_NS` after their intended start.
    pub late: u64,
    /// Gets that found their key.
    pub hits: u64,
    /// The first error's message.
    pub first_error: Option<String>,
}

/// An open-loop operation is late when it starts this long after its
/// intended start (1 ms): past the scheduler noise of a busy machine.
pub(crate) const LATE_AFTER_NS: u64 = 1_000_000;

impl Recorder {
    /// A recorder without intervals; `open_loop` adds the service-time
    /// histogram.
    pub fn new(open_loop: bool) -> Self {
        Recorder {
            latency: histogram(),
            current: histogram(),
            intervals: Vec::new(),
            clock: None,
            mark: Mark::default(),
            service: open_loop.then(histogram),
            count: 0,
            records: 0,
            bytes: 0,
            errors: 0,
            late: 0,
            hits: 0,
            first_error: None,
        }
    }

    /// A recorder that closes an interval every `every` from `start` (the
    /// phase's time zero, shared by its workers).
    pub fn with_intervals(open_loop: bool, start: Instant, every: Duration) -> Self {
        let every = every.max(Duration::from_millis(1));
        let mut r = Recorder::new(open_loop);
        r.clock = Some(IntervalClock {
            start,
            every,
            index: 0,
            next: start + every,
        });
        r
    }

    /// When the current interval ends (never, without intervals): the
    /// worker calls [`roll`](Self::roll) once its clock passes it.
    #[inline]
    pub fn next_boundary(&self) -> Option<Instant> {
        self.clock.map(|c| c.next)
    }

    /// The current interval's latency histogram (a recent view for
    /// progress displays).
    pub fn current(&self) -> &Histogram<u64> {
        &self.current
    }

    /// The number of the interval being recorded (`None` without intervals).
    pub fn current_index(&self) -> Option<u64> {
        self.clock.map(|c| c.index)
    }

    /// Closes every interval that ended by `now` (the intervals an op that
    /// blocked across several boundaries skipped are closed empty, so a
    /// stall shows as intervals with no operations). Returns true when an
    /// interval was closed. Call it *before* recording the op that ended
    /// at `now`, so the op counts in the interval it completed in.
    pub fn roll(&mut self, now: Instant) -> bool {
        let Some(mut c) = self.clock else {
            return false;
        };
        if now < c.next {
            return false;
        }
        self.close(c.index);
        // Skip straight to the interval holding `now`.
        let elapsed = now.saturating_duration_since(c.start).as_nanos();
        c.index = (elapsed / c.every.as_nanos().max(1)) as u64;
        c.next =
            c.start + Duration::from_nanos((c.every.as_nanos() as u64).saturating_mul(c.index + 1));
        self.clock = Some(c);
        true
    }

    /// Closes the current interval (numbered `index`) into `intervals`.
    fn close(&mut self, index: u64) {
        let sample = IntervalSample {
            index,
            ops: self.count - self.mark.ops,
            records: self.records - self.mark.records,
            bytes: self.bytes - self.mark.bytes,
            errors: self.errors - self.mark.errors,
            buckets: self
                .current
                .iter_recorded()
                .map(|v| (v.value_iterated_to(), v.count_at_value()))
                .collect(),
        };
        // Same bounds, so adding cannot fail.
        let _ = self.latency.add(&self.current);
        self.current.reset();
        self.mark = Mark {
            ops: self.count,
            records: self.records,
            bytes: self.bytes,
            errors: self.errors,
        };
        if self.clock.is_some() {
            self.intervals.push(sample);
        }
    }

    /// Ends recording: closes the last (partial) interval, so `latency` is
    /// the whole phase's and the intervals add up to the totals.
    pub fn finish(&mut self) {
        let index = self.clock.map_or(0, |c| c.index);
        self.close(index);
        self.clock = None;
    }

    /// Records one completed operation.
    #[inline]
    pub fn record(&mut self, latency_ns: u64, records: u64, bytes: u64) {
        self.current.saturating_record(latency_ns.max(1));
        self.count += 1;
        self.records += records;
        self.bytes += bytes;
    }

    /// Records the service time of an open-loop operation.
    #[inline]
    pub fn record_service(&mut self, service_ns: u64) {
        if let Some(h) = &mut self.service {
            h.saturating_record(service_ns.max(1));
        }
    }

    /// Records a failed operation.
    pub fn error(&mut self, message: String) {
        self.errors += 1;
        if self.first_error.is_none() {
            self.first_error = Some(message);
        }
    }

    /// Adds another worker's measurements (both [finished](Self::finish)).
    pub fn merge(&mut self, other: &Recorder) {
        // Both histograms have the same bounds, so adding cannot fail.
        let _ = self.latency.add(&other.latency);
        if let (Some(a), Some(b)) = (&mut self.service, &other.service) {
            let _ = a.add(b);
        }
        self.count += other.count;
        self.records += other.records;
        self.bytes += other.bytes;
        self.errors += other.errors;
        self.late += other.late;
        self.hits += other.hits;
        if self.first_error.is_none() {
            self.first_error.clone_from(&other.first_error);
        }
        self.intervals.extend(other.intervals.iter().cloned());
    }
}

/// Percentiles of a histogram.
pub(crate) fn latency(h: &Histogram<u64>) -> Latency {
    if h.is_empty() {
        return Latency::default();
    }
    Latency {
        mean_ns: h.mean(),
        p50_ns: h.value_at_quantile(0.50),
        p90_ns: h.value_at_quantile(0.90),
        p99_ns: h.value_at_quantile(0.99),
        p999_ns: h.value_at_quantile(0.999),
        p9999_ns: h.value_at_quantile(0.9999),
        max_ns: h.max(),
    }
}

/// A histogram in the standard compressed HDR V2 encoding (deflate), in
/// base64: what `run.json` stores, and what stock decoders read (Python
/// `hdrhistogram`'s `HdrHistogram.decode`, HdrHistogram Java's
/// `decodeFromCompressedByteBuffer`, hdr-histogram-js's `decodeFromCompressedBase64`).
pub(crate) fn encode(h: &Histogram<u64>) -> String {
    let mut bytes = Vec::new();
    match V2DeflateSerializer::new().serialize(h, &mut bytes) {
        Ok(_) => base64::engine::general_purpose::STANDARD.encode(bytes),
        Err(_) => String::new(),
    }
}

/// Decodes a histogram written by `encode`.
pub fn decode(text: &str) -> Option<Histogram<u64>> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .ok()?;
    hdrhistogram::serialization::Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .ok()
}

/// What the actor was, for its report.
#[derive(Debug, Clone)]
pub(crate) struct ActorInfo {
    /// Actor name.
    pub name: String,
    /// Op name.
    pub op: String,
    /// Worker threads.
    pub workers: usize,
    /// Target rate, ops/s.
    pub rate: Option<f64>,
}

/// Turns an actor's merged recorder into its report, over `duration_ns`.
pub(crate) fn actor_report(info: &ActorInfo, r: &Recorder, duration_ns: u64) -> ActorReport {
    let secs = (duration_ns as f64 / 1e9).max(1e-9);
    ActorReport {
        name: info.name.clone(),
        op: info.op.clone(),
        workers: info.workers,
        rate_per_s: info.rate,
        count: r.count,
        records: r.records,
        bytes: r.bytes,
        errors: r.errors,
        late: r.late,
        hits: (info.op == "get").then_some(r.hits),
        duration_ns,
        records_per_s: r.records as f64 / secs,
        batches_per_s: r.count as f64 / secs,
        bytes_per_s: r.bytes as f64 / secs,
        latency: latency(&r.latency),
        service: r.service.as_ref().map(latency),
        histogram: encode(&r.latency),
        service_histogram: r.service.as_ref().map(encode),
        first_error: r.first_error.clone(),
        timeline: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merging_workers_adds_counts_and_histograms() {
        let mut a = Recorder::new(false);
        let mut b = Recorder::new(false);
        for i in 1..=1000 {
            a.record(i * 1000, 10, 100);
        }
        b.record(5_000_000, 10, 100);
        a.finish();
        b.finish();
        let mut m = Recorder::new(false);
        m.merge(&a);
        m.merge(&b);
        let a = m;
        assert_eq!((a.count, a.records, a.bytes), (1001, 10_010, 100_100));
        let l = latency(&a.latency);
        assert!(
            (l.p50_ns as f64 - 500_000.0).abs() / 500_000.0 < 0.01,
            "{l:?}"
        );
        assert!((l.max_ns as f64 - 5_000_000.0).abs() / 5_000_000.0 < 0.001);
    }

    #[test]
    fn histograms_round_trip_through_run_json_encoding() {
        let mut r = Recorder::new(true);
        for i in 1..=100 {
            r.record(i * 12_345, 1, 1);
        }
        r.finish();
        let back = decode(&encode(&r.latency)).unwrap();
        assert_eq!(latency(&back), latency(&r.latency));
    }

    #[test]
    fn rates_derive_from_duration() {
        let mut r = Recorder::new(false);
        r.record(10, 10, 1000);
        r.finish();
        let info = ActorInfo {
            name: "a".into(),
            op: "append".into(),
            workers: 1,
            rate: None,
        };
        let rep = actor_report(&info, &r, 2_000_000_000);
        assert_eq!(
            (rep.records_per_s, rep.batches_per_s, rep.bytes_per_s),
            (5.0, 0.5, 500.0)
        );
    }
}
