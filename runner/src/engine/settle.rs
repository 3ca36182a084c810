//! `settle` on a phase: before the phase measures, wait until the store's
//! background work is done, so that "write, then measure reads" is not
//! measured during a compaction storm.
//!
//! Owns the wait only: it asks [`Store::background`] every [`POLL`] until
//! the store says it is quiescent, the timeout passes or a stop signal
//! comes, and tells how long that took and what was in flight before and
//! after ([`Settled`], the phase's `settle.*` metrics). What counts as
//! background work is the store's (RocksDB: running and due flushes and
//! compactions, and compaction debt; the WAL: segment preparation and
//! writeback; stores without background work: none, so they settle at
//! once). What a timeout means (`on_timeout`) is the caller's.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::metrics::phase_metric::{self, Scope};
use crate::store::{Background, Store};

/// How often the store is asked while it settles: often enough that the
/// wait is measured to about this, rarely enough to cost nothing (a
/// RocksDB answer is a handful of property reads).
pub(crate) const POLL: Duration = Duration::from_millis(10);

/// What a settle saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Settled {
    /// From the first question to the quiescent answer (or the timeout).
    pub(crate) wait: Duration,
    /// In flight when the settle began: the debt the phase would have
    /// started with.
    pub(crate) before: Background,
    /// In flight when the wait ended (quiescent unless it timed out or
    /// was interrupted).
    pub(crate) after: Background,
    /// The timeout passed with work still in flight.
    pub(crate) timed_out: bool,
}

impl Settled {
    /// The phase metrics of [`Scope::Settle`], in their units (ns,
    /// 0 or 1, bytes).
    pub(crate) fn metrics(&self) -> [(&'static str, f64); 4] {
        let values = [
            self.wait.as_nanos() as f64,
            f64::from(u8::from(self.timed_out)),
            self.before.debt_bytes as f64,
            self.after.debt_bytes as f64,
        ];
        let mut out = [("", 0.0); 4];
        for (slot, (m, v)) in out
            .iter_mut()
            .zip(phase_metric::of_scope(Scope::Settle).zip(values))
        {
            *slot = (m.name, v);
        }
        out
    }
}

/// Waits until `store` is quiescent, at most `timeout` (a zero timeout
/// asks once), or until `interrupt` is set.
pub(crate) async fn settle(
    store: &dyn Store,
    timeout: Duration,
    interrupt: &AtomicBool,
) -> Settled {
    let t0 = tokio::time::Instant::now();
    let before = store.background();
    let mut now = before;
    loop {
        let wait = t0.elapsed();
        if now.is_quiescent() {
            return Settled {
                wait,
                before,
                after: now,
                timed_out: false,
            };
        }
        if wait >= timeout || interrupt.load(Ordering::Acquire) {
            return Settled {
                wait,
                before,
                after: now,
                timed_out: wait >= timeout,
            };
        }
        tokio::time::sleep(POLL.min(timeout - wait)).await;
        now = store.background();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::store::{Capabilities, Session, StoreError, StoreStats};

    /// A store whose background work ends after `busy` questions.
    struct Busy {
        left: Mutex<u64>,
    }

    impl Busy {
        fn new(busy: u64) -> Self {
            Self {
                left: Mutex::new(busy),
            }
        }
    }

    impl Store for Busy {
        fn capabilities(&self) -> Capabilities {
            Capabilities::NONE
        }
        fn session(&self) -> Result<Box<dyn Session>, StoreError> {
            Err(StoreError::Unsupported {
                op: "session",
                store: "busy",
            })
        }
        fn stats(&self) -> StoreStats {
            StoreStats::default()
        }
        fn background(&self) -> Background {
            let mut left = self.left.lock().expect("lock");
            let b = Background {
                running: u64::from(*left > 0),
                queued: 0,
                debt_bytes: *left * 1000,
            };
            *left = left.saturating_sub(1);
            b
        }
        fn close(self: Box<Self>) -> Result<(), StoreError> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn a_store_without_background_work_settles_at_once() {
        let never = AtomicBool::new(false);
        let s = settle(&Busy::new(0), Duration::from_secs(5), &never).await;
        assert!(s.wait < POLL, "{:?}: no sleep", s.wait);
        assert!(!s.timed_out && s.before.is_quiescent() && s.after.is_quiescent());
    }

    #[tokio::test]
    async fn waits_poll_by_poll_until_the_work_is_done() {
        let never = AtomicBool::new(false);
        let s = settle(&Busy::new(30), Duration::from_secs(5), &never).await;
        assert!(s.wait >= POLL * 30, "{:?}", s.wait);
        assert!(!s.timed_out);
        assert_eq!(s.before.debt_bytes, 30_000);
        assert!(s.after.is_quiescent());
        let m = s.metrics();
        assert_eq!(m[0], ("settle.wait", s.wait.as_nanos() as f64));
        assert_eq!(m[1], ("settle.timed_out", 0.0));
        assert_eq!(m[2], ("settle.debt", 30_000.0));
        assert_eq!(m[3], ("settle.debt_left", 0.0));
    }

    #[tokio::test]
    async fn gives_up_at_the_timeout_with_what_is_left() {
        let never = AtomicBool::new(false);
        let s = settle(&Busy::new(1000), Duration::from_millis(55), &never).await;
        assert!(s.timed_out);
        // The last sleep is cut to the timeout, not a whole poll later.
        assert!(s.wait >= Duration::from_millis(55), "{:?}", s.wait);
        assert!(
            s.wait < Duration::from_millis(55) + POLL * 5,
            "{:?}",
            s.wait
        );
        assert!(!s.after.is_quiescent());
        assert_eq!(s.metrics()[1], ("settle.timed_out", 1.0));
        // A zero timeout asks once.
        let s = settle(&Busy::new(1000), Duration::ZERO, &never).await;
        assert!(s.timed_out && s.wait < POLL, "{:?}", s.wait);
    }

    #[tokio::test]
    async fn a_stop_signal_ends_the_wait_without_a_timeout() {
        let stop = AtomicBool::new(true);
        let s = settle(&Busy::new(1000), Duration::from_secs(5), &stop).await;
        assert!(!s.timed_out && s.wait < POLL, "{:?}", s.wait);
        assert!(!s.after.is_quiescent());
    }
}
