//! Timelines: an actor's closed intervals (from its workers' recorders)
//! turned into one [`IntervalReport`] per interval of the phase, with
//! percentiles and the interval's HDR histogram.
//!
//! Interval `i` covers `[i × every, (i + 1) × every)` from the phase's
//! start line; the last one ends with the phase. An interval in which no
//! worker completed an operation (a stall) is kept, with zeros, so a chart
//! shows the gap.

use super::recorder::{IntervalSample, encode};
use super::report::IntervalReport;

/// The intervals of one actor over a phase `span_ns` long, from every
/// worker's samples (any order): the reference the streaming rollup is
/// tested against.
#[cfg(test)]
pub(crate) fn actor_timeline(
    samples: &[IntervalSample],
    every: std::time::Duration,
    span_ns: u64,
) -> Vec<IntervalReport> {
    use std::collections::BTreeMap;
    let every_ns = (every.as_nanos() as u64).max(1);
    let mut by_index: BTreeMap<u64, IntervalSample> = BTreeMap::new();
    for s in samples {
        by_index
            .entry(s.index)
            .or_insert_with(|| IntervalSample {
                index: s.index,
                ..IntervalSample::default()
            })
            .add(s);
    }
    let covered = span_ns.div_ceil(every_ns).max(1);
    let n = by_index
        .keys()
        .next_back()
        .map_or(covered, |last| covered.max(last + 1));
    (0..n)
        .map(|i| {
            interval_report(
                &by_index.remove(&i).unwrap_or_default(),
                i,
                every_ns,
                span_ns,
            )
        })
        .collect()
}

/// Interval `index` of a phase `span_ns` long cut every `every_ns`, from
/// the merged sample `s` of its workers (a default sample for an interval
/// without operations).
pub(crate) fn interval_report(
    s: &IntervalSample,
    index: u64,
    every_ns: u64,
    span_ns: u64,
) -> IntervalReport {
    let start_ns = index * every_ns;
    let end_ns = ((index + 1) * every_ns).min(span_ns.max(start_ns));
    let h = s.histogram();
    let q = |q: f64| {
        if h.is_empty() {
            0
        } else {
            h.value_at_quantile(q)
        }
    };
    IntervalReport {
        t_s: start_ns as f64 / 1e9,
        duration_s: end_ns.saturating_sub(start_ns) as f64 / 1e9,
        ops: s.ops,
        records: s.records,
        bytes: s.bytes,
        errors: s.errors,
        p50_ns: q(0.50),
        p99_ns: q(0.99),
        max_ns: if h.is_empty() { 0 } else { h.max() },
        histogram: encode(&h),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::recorder::Recorder;
    use std::time::{Duration, Instant};

    /// Two workers, operations across five intervals with a gap: each
    /// interval holds what was completed in it, the gap is an empty
    /// interval, and the intervals add up to the totals exactly.
    #[test]
    fn intervals_of_all_workers_add_up_to_the_totals() {
        let start = Instant::now();
        let every = Duration::from_millis(100);
        let mut workers = [
            Recorder::with_intervals(false, start, every),
            Recorder::with_intervals(false, start, every),
        ];
        let at = |ms: u64| start + Duration::from_millis(ms);
        for (w, r) in workers.iter_mut().enumerate() {
            for ms in [5, 50, 150, 420, 430, 480] {
                r.roll(at(ms + w as u64));
                r.record(1_000 * (ms + 1), 10, 100);
            }
            r.finish();
        }
        let mut total = Recorder::new(false);
        for r in &workers {
            total.merge(r);
        }
        let tl = actor_timeline(&total.intervals, every, 500_000_000);
        assert_eq!(tl.len(), 5);
        let records: Vec<u64> = tl.iter().map(|i| i.records).collect();
        assert_eq!(records, [40, 20, 0, 0, 60]);
        assert_eq!(tl.iter().map(|i| i.records).sum::<u64>(), total.records);
        assert_eq!(tl.iter().map(|i| i.ops).sum::<u64>(), total.count);
        assert_eq!(tl.iter().map(|i| i.bytes).sum::<u64>(), total.bytes);
        assert_eq!(total.latency.len(), 12, "the total histogram has every op");
        assert_eq!(tl[2].p99_ns, 0, "an interval without ops");
        assert!((tl[4].t_s - 0.4).abs() < 1e-9 && (tl[4].duration_s - 0.1).abs() < 1e-9);
        let back = crate::metrics::recorder::decode(&tl[4].histogram).expect("decodes");
        assert_eq!(back.len(), 6);
    }
}
