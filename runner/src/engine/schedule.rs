//! Open-loop pacing: the intended start time of every operation at a fixed
//! rate, and waiting until it.
//!
//! The schedule is fixed in advance (`start + i / rate`) and never slips:
//! when the store stalls, later operations are already due and start at
//! once, and their latency — measured from the intended start — includes the
//! time they waited. That is the coordinated-omission correction (Gil Tene,
//! "How NOT to measure latency"; wrk2 and goose do the same).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Waits shorter than this are spun, longer ones slept (sleep overshoots by
/// tens of microseconds).
const SPIN_BELOW: Duration = Duration::from_micros(100);

/// Intended start times at a fixed rate.
#[derive(Debug, Clone)]
pub(crate) struct Pacer {
    start: Instant,
    interval_ns: f64,
    next: u64,
}

impl Pacer {
    /// A pacer at `per_second` operations per second from `start`.
    pub(crate) fn new(per_second: f64, start: Instant) -> Self {
        Pacer {
            start,
            interval_ns: 1e9 / per_second.max(1e-9),
            next: 0,
        }
    }

    /// The intended start of the next operation.
    pub(crate) fn next_start(&mut self) -> Instant {
        let offset = (self.next as f64 * self.interval_ns) as u64;
        self.next += 1;
        self.start + Duration::from_nanos(offset)
    }

    /// Waits until `at` (or until `stop` is set); returns the time it woke.
    pub(crate) fn wait_until(&self, at: Instant, stop: &AtomicBool) -> Instant {
        loop {
            let now = Instant::now();
            if now >= at || stop.load(Ordering::Relaxed) {
                return now;
            }
            let left = at - now;
            if left > SPIN_BELOW {
                std::thread::sleep((left - SPIN_BELOW / 2).min(Duration::from_millis(5)));
            } else {
                std::hint::spin_loop();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intended_starts_follow_the_rate_without_slipping() {
        let t = Instant::now();
        let mut p = Pacer::new(1000.0, t);
        assert_eq!(p.next_start(), t);
        assert_eq!(p.next_start(), t + Duration::from_millis(1));
        for _ in 0..998 {
            p.next_start();
        }
        assert_eq!(p.next_start(), t + Duration::from_secs(1));
    }

    #[test]
    fn waiting_returns_no_earlier_than_asked() {
        let p = Pacer::new(1.0, Instant::now());
        let at = Instant::now() + Duration::from_millis(3);
        let woke = p.wait_until(at, &AtomicBool::new(false));
        assert!(woke >= at);
    }
}
