//! The pipelined op loop: a worker of an actor with `in_flight` above 1
//! keeps up to that many requests submitted through its session's
//! [`Pipeline`] and records each one as it completes.
//!
//! Timing stays in the worker, in one place per event: the clock is read
//! when a request is submitted and when one completes. Each request's
//! slot in the window holds its start — the intended start under a rate
//! (the pacer's schedule, exactly as in the synchronous loop, so time
//! spent queued behind a full window counts: coordinated omission stays
//! corrected), else its submission — and its submission time. On
//! completion its latency is measured from the start and, under a rate,
//! its service time from its submission. Completions may come in any
//! order: the tag handed to the store is the slot's index.
//!
//! Quotas count records at submission (a worker never submits past its
//! share); at the phase's end (stop, deadline, background done) it stops
//! submitting and waits for what it has in flight, so every submitted
//! request is recorded. Progress publication and timeline intervals work
//! as in the synchronous loop (`worker`), on each completion.
//!
//! Under a rate, a worker with requests in flight and the next start not
//! yet due asks the pipeline for a finished request without waiting, and
//! naps briefly (at most [`NAP`]) between asks: a reply that lands during
//! a nap is timestamped when the nap ends, so latencies there carry up to
//! about a nap (plus the OS's sleep overshoot) of extra time. In a closed
//! loop the worker always waits inside the store, and adds nothing.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::schedule::Pacer;
use super::worker::{Control, OpState, PUBLISH_EVERY, WorkerOp, WorkerPlan, background_done};
use crate::metrics::progress::Progress;
use crate::metrics::recorder::{LATE_AFTER_NS, Recorder};
use crate::store::{Outcome, Pipeline, Request, Session, StoreError};

/// Longest sleep between two looks for a completion while the next
/// intended start is not due yet.
const NAP: Duration = Duration::from_micros(20);
/// Below this, waiting for the next intended start spins instead of napping.
const SPIN_BELOW: Duration = Duration::from_micros(60);

/// One request in flight.
#[derive(Debug, Clone, Copy)]
struct Slot {
    /// Latency is measured from here: the intended start under a rate,
    /// else the submission.
    start: Instant,
    /// When it was submitted.
    submitted: Instant,
    /// Records and bytes it carries (a get's bytes come with its reply).
    records: u64,
    bytes: u64,
}

/// Runs the worker's op with up to `plan.in_flight` requests in flight.
///
/// # Errors
///
/// The first store error (the worker stops there, as the synchronous loop
/// does); [`StoreError::Invalid`] when the session offers no pipeline
/// (validation refuses such scenarios first).
pub(crate) fn op_loop(
    plan: &mut WorkerPlan<'_>,
    session: &mut dyn Session,
    ctl: &Control,
    rec: &mut Recorder,
    st: &mut OpState,
    progress: &Progress,
) -> Result<(), StoreError> {
    let window = plan.in_flight.max(1);
    let Some(pipe) = session.pipeline() else {
        return Err(StoreError::Invalid {
            op: "in_flight",
            detail: format!(
                "`in_flight: {window}` needs a store whose sessions keep requests in flight; this one finishes each call before returning"
            ),
        });
    };
    let mut pacer = plan.rate.map(|r| Pacer::new(r, Instant::now()));
    let mut slots: Vec<Option<Slot>> = vec![None; window];
    // Free slot indexes, used as tags.
    let mut free: Vec<u64> = (0..window as u64).rev().collect();
    let mut submitted_records: u64 = 0;
    // The intended start of the next request, drawn from the pacer once.
    let mut due: Option<Instant> = None;
    let mut clock = Clock::new(rec);
    loop {
        let open = !free.is_empty()
            && !ctl.stop.load(Ordering::Relaxed)
            && !background_done(plan, ctl)
            && plan.quota.is_none_or(|q| submitted_records < q);
        let busy = free.len() < window;
        if open {
            match &mut pacer {
                None => {
                    let now = Instant::now();
                    let tag = free.pop().unwrap_or_default();
                    let (records, bytes) = submit(plan, pipe, st, tag)?;
                    slots[tag as usize] = Some(Slot {
                        start: now,
                        submitted: now,
                        records,
                        bytes,
                    });
                    submitted_records += records;
                    continue;
                }
                Some(p) => {
                    let intended = *due.get_or_insert_with(|| p.next_start());
                    let now = Instant::now();
                    if now >= intended {
                        if now.saturating_duration_since(intended).as_nanos() as u64 > LATE_AFTER_NS
                        {
                            rec.late += 1;
                        }
                        due = None;
                        let tag = free.pop().unwrap_or_default();
                        let (records, bytes) = submit(plan, pipe, st, tag)?;
                        slots[tag as usize] = Some(Slot {
                            start: intended,
                            submitted: now,
                            records,
                            bytes,
                        });
                        submitted_records += records;
                        continue;
                    }
                    if !busy {
                        p.wait_until(intended, &ctl.stop);
                        continue;
                    }
                    // Not due yet, requests in flight: take a finished one
                    // if there is one, else nap briefly.
                    match pipe.complete(false)? {
                        Some((tag, outcome)) => {
                            let t1 = Instant::now();
                            finish(
                                &mut slots, &mut free, tag, outcome, t1, rec, st, &mut clock,
                                progress,
                            )?;
                        }
                        None => {
                            let left = intended.saturating_duration_since(Instant::now());
                            if left > SPIN_BELOW {
                                std::thread::sleep(NAP.min(left - SPIN_BELOW / 2));
                            } else {
                                std::hint::spin_loop();
                            }
                        }
                    }
                    continue;
                }
            }
        }
        if !busy {
            return Ok(());
        }
        // The window is full or the worker is done submitting: wait.
        let Some((tag, outcome)) = pipe.complete(true)? else {
            return Err(StoreError::Invalid {
                op: "in_flight",
                detail: "the pipeline returned nothing while requests were in flight".to_owned(),
            });
        };
        let t1 = Instant::now();
        finish(
            &mut slots, &mut free, tag, outcome, t1, rec, st, &mut clock, progress,
        )?;
    }
}

/// The progress and timeline bookkeeping of the synchronous loop: the one
/// comparison each completion pays, against the earlier of the next
/// publication and the next interval boundary.
struct Clock {
    next_publish: Instant,
    next_event: Instant,
}

impl Clock {
    fn new(rec: &Recorder) -> Clock {
        let next_publish = Instant::now() + PUBLISH_EVERY;
        Clock {
            next_publish,
            next_event: next_publish.min(rec.next_boundary().unwrap_or(next_publish)),
        }
    }

    /// Closes intervals that ended before `t1` and publishes progress when due.
    fn tick(&mut self, t1: Instant, rec: &mut Recorder, progress: &Progress) {
        if t1 < self.next_event {
            return;
        }
        if rec.roll(t1) || t1 >= self.next_publish {
            progress.publish(rec);
        }
        if t1 >= self.next_publish {
            let p99 = rec.current().value_at_quantile(0.99);
            if p99 > 0 {
                progress.p99_ns.store(p99, Ordering::Relaxed);
            }
            self.next_publish = t1 + PUBLISH_EVERY;
        }
        self.next_event = self
            .next_publish
            .min(rec.next_boundary().unwrap_or(self.next_publish));
    }
}

/// Records the completion of request `tag` at `t1` and frees its slot.
#[expect(
    clippy::too_many_arguments,
    reason = "the loop's state, borrowed piecewise so the pipeline stays borrowed"
)]
fn finish(
    slots: &mut [Option<Slot>],
    free: &mut Vec<u64>,
    tag: u64,
    outcome: Outcome,
    t1: Instant,
    rec: &mut Recorder,
    st: &mut OpState,
    clock: &mut Clock,
    progress: &Progress,
) -> Result<(), StoreError> {
    let Some(slot) = slots.get_mut(tag as usize).and_then(Option::take) else {
        return Err(StoreError::Invalid {
            op: "in_flight",
            detail: format!("the pipeline completed tag {tag}, which is not in flight"),
        });
    };
    free.push(tag);
    let bytes = match outcome {
        Outcome::Got(Some(len)) => {
            st.hits += 1;
            len as u64
        }
        Outcome::Got(None) => 0,
        Outcome::Appended(_) | Outcome::Done => slot.bytes,
    };
    clock.tick(t1, rec, progress);
    rec.record(
        t1.saturating_duration_since(slot.start).as_nanos() as u64,
        slot.records,
        bytes,
    );
    rec.record_service(t1.saturating_duration_since(slot.submitted).as_nanos() as u64);
    progress.records.store(rec.records, Ordering::Relaxed);
    Ok(())
}

/// Makes the worker's next request and submits it tagged `tag`; returns
/// its records and bytes (a get's bytes come with its reply).
fn submit(
    plan: &mut WorkerPlan<'_>,
    pipe: &mut dyn Pipeline,
    st: &mut OpState,
    tag: u64,
) -> Result<(u64, u64), StoreError> {
    let streams = plan.op.streams();
    let stream = (plan.index as u64 + st.i * plan.workers as u64) % streams;
    st.i += 1;
    let rng = &mut plan.rng;
    match &mut plan.op {
        WorkerOp::Append { payload, .. } => {
            let batch = payload.batch(st.batch);
            st.batch = st.batch.wrapping_add(1);
            let bytes: usize = batch.iter().map(|r| r.body.len()).sum();
            pipe.submit(tag, Request::Append { stream, batch })?;
            Ok((batch.len() as u64, bytes as u64))
        }
        WorkerOp::Put { payload, keys } => {
            let records = payload.batch(st.batch);
            st.batch = st.batch.wrapping_add(1);
            if records.len() <= 1 {
                let value = records.first().map_or(&[][..], |r| r.body);
                let index = keys.next_index(rng);
                keys.set_latest(index);
                pipe.submit(
                    tag,
                    Request::Put {
                        key: keys.key(index),
                        value,
                    },
                )?;
                return Ok((1, value.len() as u64));
            }
            let bytes = st.fill_put_keys(keys, rng, records);
            pipe.submit(
                tag,
                Request::PutBatch {
                    keys: &st.keys,
                    key_ranges: &st.key_ranges,
                    values: records,
                },
            )?;
            Ok((records.len() as u64, bytes))
        }
        WorkerOp::Get { keys } => {
            pipe.submit(
                tag,
                Request::Get {
                    key: keys.next_key(rng),
                },
            )?;
            Ok((1, 0))
        }
        WorkerOp::Delete { batch, keys } => {
            let batch = *batch;
            if batch <= 1 {
                pipe.submit(
                    tag,
                    Request::Delete {
                        key: keys.next_key(rng),
                    },
                )?;
                return Ok((1, 0));
            }
            st.fill_delete_keys(keys, rng, batch);
            pipe.submit(
                tag,
                Request::DeleteBatch {
                    keys: &st.keys,
                    key_ranges: &st.key_ranges,
                },
            )?;
            Ok((batch as u64, 0))
        }
        // Validation allows `in_flight` only on the ops above.
        WorkerOp::Read { .. }
        | WorkerOp::Trim { .. }
        | WorkerOp::Sync { .. }
        | WorkerOp::Scan { .. } => Err(StoreError::Invalid {
            op: "in_flight",
            detail: "only append, put, get and delete keep requests in flight".to_owned(),
        }),
    }
}
