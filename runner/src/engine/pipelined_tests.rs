//! Tests of the pipelined op loop (`pipelined`) against a fake store
//! behind a [`Pipeline`]: a serial server whose completions the test
//! schedules, in or out of order.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::gate::StartGate;
use super::pipelined::op_loop;
use super::worker::{Control, WorkerOp, WorkerPlan, WorkerResult};
use crate::metrics::progress::Progress;
use crate::store::{Outcome, Pipeline, Request, Session, StoreError};
use crate::workload::{KeyDist, KeyGen, KeyParams, StreamId, stream};

/// What the fake saw, shared with the test.
#[derive(Debug, Default)]
struct Seen {
    submitted: u64,
    completed: u64,
    most_in_flight: usize,
    /// Keys of the requests submitted (a delete batch has several).
    keys: u64,
    /// Completions handed back in another order than submitted.
    reordered: u64,
}

/// A fake store behind a pipeline: a serial server finishing one
/// request `service` after it arrived or after the previous one.
/// `lifo` hands completions back newest first (out of order).
struct Fake {
    service: Duration,
    lifo: bool,
    /// In flight, oldest first: (tag, ready at, a get's value length).
    flight: VecDeque<(u64, Instant, Option<usize>)>,
    /// Fail the completion with this number (from 1).
    fail_at: Option<u64>,
    seen: Arc<Mutex<Seen>>,
}

impl Pipeline for Fake {
    fn submit(&mut self, tag: u64, request: Request<'_>) -> Result<(), StoreError> {
        let mut seen = self.seen.lock().expect("lock");
        let got = match request {
            Request::Get { key } => {
                assert_eq!(key.len(), 16);
                seen.keys += 1;
                // Every other get finds a 10-byte value.
                Some(seen.submitted.is_multiple_of(2))
            }
            Request::DeleteBatch { key_ranges, .. } => {
                seen.keys += key_ranges.len() as u64;
                None
            }
            other => panic!("unexpected request {other:?}"),
        };
        let now = Instant::now();
        let after = self.flight.back().map_or(now, |f| f.1.max(now));
        self.flight.push_back((
            tag,
            after + self.service,
            got.map(|g| if g { 10 } else { 0 }),
        ));
        seen.submitted += 1;
        seen.most_in_flight = seen.most_in_flight.max(self.flight.len());
        Ok(())
    }

    fn complete(&mut self, wait: bool) -> Result<Option<(u64, Outcome)>, StoreError> {
        let ready = if self.lifo {
            self.flight.back().expect("in flight").1
        } else {
            self.flight.front().expect("in flight").1
        };
        let now = Instant::now();
        if now < ready {
            if !wait {
                return Ok(None);
            }
            std::thread::sleep(ready - now);
        }
        let oldest = self.flight.front().expect("in flight").0;
        let (tag, _, got) = if self.lifo {
            self.flight.pop_back()
        } else {
            self.flight.pop_front()
        }
        .expect("in flight");
        let mut seen = self.seen.lock().expect("lock");
        seen.completed += 1;
        seen.reordered += u64::from(tag != oldest);
        if self.fail_at == Some(seen.completed) {
            return Err(StoreError::Engine {
                op: "get",
                detail: "the fake failed".to_owned(),
            });
        }
        Ok(Some((
            tag,
            match got {
                Some(0) => Outcome::Got(None),
                Some(n) => Outcome::Got(Some(n)),
                None => Outcome::Done,
            },
        )))
    }
}

struct FakeSession(Fake);

impl Session for FakeSession {
    fn pipeline(&mut self) -> Option<&mut dyn Pipeline> {
        Some(&mut self.0)
    }
}

/// A session without a pipeline.
struct Plain;
impl Session for Plain {}

fn keys() -> KeyGen {
    KeyGen::new(&KeyParams {
        dist: KeyDist::Uniform,
        keyspace: 1000,
        key_len: 16,
    })
    .expect("key params")
}

fn plan(
    op: WorkerOp<'static>,
    quota: u64,
    rate: Option<f64>,
    in_flight: usize,
) -> WorkerPlan<'static> {
    WorkerPlan {
        op,
        index: 0,
        workers: 1,
        quota: Some(quota),
        driver: true,
        rate,
        rng: stream(&StreamId {
            seed: 1,
            target: "t",
            phase: "p",
            actor: "a",
            worker: 0,
        }),
        interval: Duration::from_secs(1),
        in_flight,
    }
}

/// Runs one worker of `plan` on `session` through the pipelined loop.
fn run(plan: WorkerPlan<'_>, session: Box<dyn Session>, ctl: &Control) -> WorkerResult {
    super::worker::run(
        plan,
        session,
        ctl,
        &StartGate::new(1),
        &Progress::default(),
        op_loop,
    )
}

/// Runs `plan` against a fake; returns the result, the control and
/// what the fake saw.
fn go(
    plan: WorkerPlan<'static>,
    service: Duration,
    lifo: bool,
    fail_at: Option<u64>,
) -> (WorkerResult, Control, Seen) {
    let ctl = Control::default();
    ctl.drivers_left.store(1, Ordering::Release);
    let seen = Arc::new(Mutex::new(Seen::default()));
    let session = Box::new(FakeSession(Fake {
        service,
        lifo,
        flight: VecDeque::new(),
        fail_at,
        seen: Arc::clone(&seen),
    }));
    let result = run(plan, session, &ctl);
    let seen = std::mem::take(&mut *seen.lock().expect("lock"));
    (result, ctl, seen)
}

#[test]
fn a_closed_loop_keeps_the_window_full_and_records_every_completion_out_of_order() {
    let p = plan(WorkerOp::Get { keys: keys() }, 200, None, 8);
    let (r, ctl, seen) = go(p, Duration::from_micros(20), true, None);
    assert!(r.error.is_none(), "{:?}", r.error);
    assert!(!ctl.failed.load(Ordering::Acquire));
    assert_eq!(seen.submitted, 200, "the quota, not one more");
    assert_eq!(seen.completed, 200);
    assert_eq!(
        seen.most_in_flight, 8,
        "the window is used and never exceeded"
    );
    assert!(seen.reordered > 0, "completions came out of order");
    let rec = &r.recorder;
    assert_eq!((rec.count, rec.records), (200, 200));
    assert_eq!(rec.latency.len(), 200);
    assert_eq!(rec.hits, 100, "every other get found its key");
    assert_eq!(rec.bytes, 100 * 10, "a get's bytes are its value's");
    // Eight in flight on a serial 20 µs server: each waits for the
    // ones before it, so latency is well above one service time.
    assert!(
        rec.latency.value_at_quantile(0.5) >= 8 * 20_000 / 2,
        "p50 {} ns",
        rec.latency.value_at_quantile(0.5)
    );
}

#[test]
fn batches_count_their_records_and_the_quota_is_in_records() {
    let p = plan(
        WorkerOp::Delete {
            batch: 10,
            keys: keys(),
        },
        95,
        None,
        4,
    );
    let (r, _, seen) = go(p, Duration::from_micros(10), false, None);
    assert!(r.error.is_none(), "{:?}", r.error);
    // 10 batches reach the quota of 95 records (the last one crosses it).
    assert_eq!((seen.submitted, seen.keys), (10, 100));
    assert_eq!((r.recorder.count, r.recorder.records), (10, 100));
    assert_eq!(seen.reordered, 0);
}

#[test]
fn under_a_rate_latency_runs_from_the_intended_start_and_service_from_the_submit() {
    // 4,000 requests/s offered to a server finishing one per
    // 1 ms, two in flight: the window is full almost at once and
    // later requests wait behind it (and behind their schedule).
    let p = plan(WorkerOp::Get { keys: keys() }, 60, Some(4_000.0), 2);
    let (r, _, seen) = go(p, Duration::from_millis(1), false, None);
    assert!(r.error.is_none(), "{:?}", r.error);
    assert_eq!((seen.submitted, seen.completed), (60, 60));
    assert_eq!(seen.most_in_flight, 2);
    let rec = &r.recorder;
    let service = rec.service.as_ref().expect("open loop has service time");
    assert_eq!(service.len(), 60);
    // The 60th was due at 15 ms and ends near 60 ms: ~45 ms late.
    let worst = rec.latency.max();
    assert!(worst >= 30_000_000, "max latency {worst} ns");
    // From submission a request waits for at most the one before it.
    assert!(
        service.max() < 15_000_000,
        "service max {} ns",
        service.max()
    );
    assert!(rec.late > 0, "requests started after their intended start");
}

#[test]
fn a_rate_the_store_keeps_up_with_has_latency_near_the_service_time() {
    // 500/s against a 100 µs server, four in flight: never queued.
    let p = plan(WorkerOp::Get { keys: keys() }, 50, Some(500.0), 4);
    let (r, _, seen) = go(p, Duration::from_micros(100), false, None);
    assert!(r.error.is_none(), "{:?}", r.error);
    assert!(seen.most_in_flight <= 4, "{seen:?}");
    // Each request was done long before the next was due (2 ms apart):
    // the median is one service time plus the harness, not a queue.
    let p50 = r.recorder.latency.value_at_quantile(0.5);
    assert!((100_000..1_500_000).contains(&p50), "p50 {p50} ns");
}

#[test]
fn a_failed_completion_stops_the_worker_with_its_error() {
    let p = plan(WorkerOp::Get { keys: keys() }, 1_000, None, 4);
    let (r, ctl, seen) = go(p, Duration::from_micros(10), false, Some(5));
    assert!(
        matches!(&r.error, Some(StoreError::Engine { detail, .. }) if detail == "the fake failed"),
        "{:?}",
        r.error
    );
    assert!(ctl.failed.load(Ordering::Acquire));
    assert!(ctl.stop.load(Ordering::Acquire));
    assert_eq!(r.recorder.count, 4, "the four before the failure");
    assert_eq!(r.recorder.errors, 1);
    assert!(seen.submitted < 1_000);
}

#[test]
fn a_stop_ends_submitting_and_drains_what_is_in_flight() {
    let ctl = Control::default();
    ctl.drivers_left.store(1, Ordering::Release);
    let seen = Arc::new(Mutex::new(Seen::default()));
    let session = Box::new(FakeSession(Fake {
        service: Duration::from_micros(200),
        lifo: false,
        flight: VecDeque::new(),
        fail_at: None,
        seen: Arc::clone(&seen),
    }));
    let mut p = plan(WorkerOp::Get { keys: keys() }, 0, None, 16);
    p.quota = None;
    let r = std::thread::scope(|s| {
        let h = s.spawn(|| run(p, session, &ctl));
        std::thread::sleep(Duration::from_millis(30));
        ctl.stop.store(true, Ordering::Release);
        h.join().expect("worker")
    });
    assert!(r.error.is_none(), "{:?}", r.error);
    let seen = seen.lock().expect("lock");
    assert!(seen.submitted > 16, "{seen:?}");
    assert_eq!(seen.completed, seen.submitted, "nothing left in flight");
    assert_eq!(r.recorder.count, seen.completed);
}

#[test]
fn a_session_without_a_pipeline_is_an_error_not_a_silent_fallback() {
    let ctl = Control::default();
    ctl.drivers_left.store(1, Ordering::Release);
    let p = plan(WorkerOp::Get { keys: keys() }, 10, None, 2);
    let r = run(p, Box::new(Plain), &ctl);
    assert!(
        matches!(
            &r.error,
            Some(StoreError::Invalid {
                op: "in_flight",
                ..
            })
        ),
        "{:?}",
        r.error
    );
    assert_eq!(r.recorder.count, 0);
}
