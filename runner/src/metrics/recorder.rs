//! Per-worker measurement: an HDR histogram in nanoseconds (3 significant
//! digits) for latency, another for service time under a rate, and plain
//! counters. Each worker owns its [`Recorder`]; nothing is shared or sent
//! per operation. At phase end the engine merges a worker's recorders into
//! one [`ActorReport`].

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

/// One worker's measurements.
#[derive(Debug, Clone)]
pub struct Recorder {
    /// Latency, ns (from the intended start under a rate).
    pub latency: Histogram<u64>,
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
    /// Open loop: operations that started more than [`LATE_AFTER_NS`] after their intended start.
    pub late: u64,
    /// The first error's message.
    pub first_error: Option<String>,
}

/// An open-loop operation is late when it starts this long after its
/// intended start (1 ms): past the scheduler noise of a busy machine.
pub const LATE_AFTER_NS: u64 = 1_000_000;

impl Recorder {
    /// A recorder; `open_loop` adds the service-time histogram.
    pub fn new(open_loop: bool) -> Self {
        Recorder {
            latency: histogram(),
            service: open_loop.then(histogram),
            count: 0,
            records: 0,
            bytes: 0,
            errors: 0,
            late: 0,
            first_error: None,
        }
    }

    /// Records one completed operation.
    #[inline]
    pub fn record(&mut self, latency_ns: u64, records: u64, bytes: u64) {
        self.latency.saturating_record(latency_ns.max(1));
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

    /// Adds another worker's measurements.
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
        if self.first_error.is_none() {
            self.first_error.clone_from(&other.first_error);
        }
    }
}

/// Percentiles of a histogram.
pub fn latency(h: &Histogram<u64>) -> Latency {
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
pub fn encode(h: &Histogram<u64>) -> String {
    let mut bytes = Vec::new();
    match V2DeflateSerializer::new().serialize(h, &mut bytes) {
        Ok(_) => base64::engine::general_purpose::STANDARD.encode(bytes),
        Err(_) => String::new(),
    }
}

/// Decodes a histogram written by [`encode`].
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
pub struct ActorInfo {
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
pub fn actor_report(info: &ActorInfo, r: &Recorder, duration_ns: u64) -> ActorReport {
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
        duration_ns,
        records_per_s: r.records as f64 / secs,
        batches_per_s: r.count as f64 / secs,
        bytes_per_s: r.bytes as f64 / secs,
        latency: latency(&r.latency),
        service: r.service.as_ref().map(latency),
        histogram: encode(&r.latency),
        service_histogram: r.service.as_ref().map(encode),
        first_error: r.first_error.clone(),
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
        a.merge(&b);
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
        let back = decode(&encode(&r.latency)).unwrap();
        assert_eq!(latency(&back), latency(&r.latency));
    }

    #[test]
    fn rates_derive_from_duration() {
        let mut r = Recorder::new(false);
        r.record(10, 10, 1000);
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
