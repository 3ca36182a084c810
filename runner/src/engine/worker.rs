//! One worker: a synchronous op loop on its own OS thread. It waits at the
//! phase's start gate, then runs its op until its share of `records` is done, the
//! phase is stopped (deadline, interrupt, error) or — for background actors —
//! the phase's driving workers are finished.
//!
//! Timing happens here and only here: one clock read ends op *i* and starts
//! op *i+1* in a closed loop; under a rate each op has an intended start and
//! latency is measured from it (coordinated omission corrected), with
//! service time measured from the actual start. Nothing is sent per op: the
//! worker owns its [`Recorder`] and returns it.
//!
//! The timeline adds nothing per op either: the loop already compares the
//! op's end time with the next progress publication; that one comparison
//! now watches the earlier of that and the recorder's next interval
//! boundary, and only when it is passed does the worker close intervals
//! (see `metrics::recorder`) and publish. An op is attributed to the
//! interval in which it completed.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rand::Rng;

use super::gate::StartGate;
use super::schedule::Pacer;
use crate::metrics::progress::Progress;
use crate::metrics::recorder::{LATE_AFTER_NS, Recorder};
use crate::scenario::model::ReadFrom;
use crate::store::{Offset, ReadBuf, Session, StoreError};
use crate::workload::{KeyGen, PayloadView, WorkloadRng};

/// State shared by all workers of one phase on one target.
#[derive(Debug, Default)]
pub(crate) struct Control {
    /// Set when the phase must end now (deadline, interrupt, error).
    pub stop: AtomicBool,
    /// Driving workers still running; background actors stop at zero.
    pub drivers_left: AtomicUsize,
    /// Set by the first worker whose op fails.
    pub failed: AtomicBool,
    /// Driving readers that ended because they had read everything there
    /// was (a phase with readers and no writers: nothing more will come).
    pub exhausted: AtomicUsize,
}

/// How often a worker publishes its p99 for the progress display.
pub(super) const PUBLISH_EVERY: Duration = Duration::from_millis(250);

/// What one worker does.
pub(crate) struct WorkerPlan<'a> {
    /// The op, with what it needs to run.
    pub op: WorkerOp<'a>,
    /// This worker's index within its actor.
    pub index: usize,
    /// Workers of the actor.
    pub workers: usize,
    /// Records this worker must process (driving workers of a `records` phase).
    pub quota: Option<u64>,
    /// True when this worker counts towards the phase's end.
    pub driver: bool,
    /// Open loop: this worker's ops per second.
    pub rate: Option<f64>,
    /// This worker's random stream.
    pub rng: WorkloadRng,
    /// Length of a timeline interval.
    pub interval: Duration,
    /// Requests kept in flight (above 1: the pipelined loop, see
    /// `pipelined`).
    pub in_flight: usize,
}

/// A worker's op: the actor's [`OpPlan`](crate::scenario::model::OpPlan)
/// with its payload pool and key generator made, so running it needs no
/// check (a writer always has its payload, a key-value op its keys).
pub(crate) enum WorkerOp<'a> {
    /// Append batches from the payload view.
    Append {
        /// Streams of the actor.
        streams: u64,
        /// The batches.
        payload: PayloadView<'a>,
    },
    /// Read the log.
    Read {
        /// Streams of the actor.
        streams: u64,
        /// Start position.
        from: ReadFrom,
        /// Records behind the tail.
        lag: u64,
        /// Bytes per read.
        max_bytes: usize,
    },
    /// Trim this worker's share of the streams every period.
    Trim {
        /// Streams of the actor.
        streams: u64,
        /// Period.
        every: Duration,
        /// Records kept.
        keep: u64,
    },
    /// Sync every period.
    Sync {
        /// Period.
        every: Duration,
    },
    /// Put the payload's records under generated keys (a batch is one
    /// `put_batch`).
    Put {
        /// The values, in batches.
        payload: PayloadView<'a>,
        /// The keys.
        keys: KeyGen,
    },
    /// Get generated keys.
    Get {
        /// The keys.
        keys: KeyGen,
    },
    /// Delete generated keys (one `delete_batch` when `batch` is above 1).
    Delete {
        /// Keys per delete.
        batch: usize,
        /// The keys.
        keys: KeyGen,
    },
    /// Scan from generated keys.
    Scan {
        /// The start keys.
        keys: KeyGen,
        /// Pairs per scan.
        scan_length: usize,
    },
}

impl WorkerOp<'_> {
    /// Log streams the op spreads over (1 for ops without streams).
    pub(super) fn streams(&self) -> u64 {
        match self {
            WorkerOp::Append { streams, .. }
            | WorkerOp::Read { streams, .. }
            | WorkerOp::Trim { streams, .. } => *streams,
            WorkerOp::Sync { .. }
            | WorkerOp::Put { .. }
            | WorkerOp::Get { .. }
            | WorkerOp::Delete { .. }
            | WorkerOp::Scan { .. } => 1,
        }
    }

    /// The period of a periodic op (trim, sync); `None` for the ops that
    /// run back to back (or at a rate).
    fn period(&self) -> Option<Duration> {
        match self {
            WorkerOp::Trim { every, .. } | WorkerOp::Sync { every } => Some(*every),
            WorkerOp::Append { .. }
            | WorkerOp::Read { .. }
            | WorkerOp::Put { .. }
            | WorkerOp::Get { .. }
            | WorkerOp::Delete { .. }
            | WorkerOp::Scan { .. } => None,
        }
    }
}

/// A worker's result: its measurements and, if it stopped on one, the error.
pub(crate) struct WorkerResult {
    /// Measurements.
    pub recorder: Recorder,
    /// The error that stopped the worker.
    pub error: Option<StoreError>,
}

/// The loop a worker of a back-to-back op runs: [`op_loop`] (one
/// operation at a time), or the pipelined one of an actor with
/// `in_flight` above 1 (`engine::pipelined`), chosen once per worker.
pub(crate) type OpLoop = fn(
    &mut WorkerPlan<'_>,
    &mut dyn Session,
    &Control,
    &mut Recorder,
    &mut OpState,
    &Progress,
) -> Result<(), StoreError>;

/// Runs one worker to completion; a back-to-back op runs in `op_loop`
/// (the periodic ones in their own loop).
pub(crate) fn run(
    mut plan: WorkerPlan<'_>,
    mut session: Box<dyn Session>,
    ctl: &Control,
    gate: &StartGate,
    progress: &Progress,
    op_loop: OpLoop,
) -> WorkerResult {
    let mut state = OpState::new(&plan);
    let start = gate.wait();
    let mut rec = Recorder::with_intervals(plan.rate.is_some(), start, plan.interval);
    let result = match plan.op.period() {
        Some(every) => periodic(&plan, every, session.as_mut(), ctl, &mut rec, progress),
        None => op_loop(
            &mut plan,
            session.as_mut(),
            ctl,
            &mut rec,
            &mut state,
            progress,
        ),
    };
    if plan.driver {
        ctl.drivers_left.fetch_sub(1, Ordering::AcqRel);
    }
    let error = match result {
        Ok(()) => None,
        Err(e) => {
            rec.roll(Instant::now());
            rec.error(e.to_string());
            ctl.failed.store(true, Ordering::Release);
            ctl.stop.store(true, Ordering::Release);
            Some(e)
        }
    };
    rec.hits = state.hits;
    rec.roll(Instant::now());
    rec.finish();
    progress.publish_final(&mut rec);
    WorkerResult {
        recorder: rec,
        error,
    }
}

/// Per-op mutable state kept out of the plan.
pub(crate) struct OpState {
    /// Next batch index (appends, puts).
    pub(super) batch: usize,
    /// Op counter (stream choice).
    pub(super) i: u64,
    /// Readers: next offset per stream (`None` until positioned).
    positions: Vec<Option<u64>>,
    buf: ReadBuf,
    value: Vec<u8>,
    /// Readers without writers: streams found exhausted.
    exhausted: Vec<bool>,
    /// Gets that found their key.
    pub(super) hits: u64,
    /// Batched puts: the batch's keys, back to back, and each key's range.
    pub(super) keys: Vec<u8>,
    pub(super) key_ranges: Vec<std::ops::Range<usize>>,
}

impl OpState {
    /// A batch of puts' keys: one generated key per record (each becomes
    /// the generator's latest), copied back to back into the reused
    /// buffer (the generator's key slice is overwritten per key). Returns
    /// the batch's body bytes.
    pub(super) fn fill_put_keys<R: Rng + ?Sized>(
        &mut self,
        keys: &mut KeyGen,
        rng: &mut R,
        records: &[crate::store::Record<'_>],
    ) -> u64 {
        self.keys.clear();
        self.key_ranges.clear();
        let mut bytes = 0u64;
        for r in records {
            let index = keys.next_index(rng);
            keys.set_latest(index);
            let start = self.keys.len();
            self.keys.extend_from_slice(keys.key(index));
            self.key_ranges.push(start..self.keys.len());
            bytes += r.body.len() as u64;
        }
        bytes
    }

    /// A batch of `n` deletes' keys, copied into the reused buffer.
    pub(super) fn fill_delete_keys<R: Rng + ?Sized>(
        &mut self,
        keys: &mut KeyGen,
        rng: &mut R,
        n: usize,
    ) {
        self.keys.clear();
        self.key_ranges.clear();
        for _ in 0..n {
            let start = self.keys.len();
            self.keys.extend_from_slice(keys.next_key(rng));
            self.key_ranges.push(start..self.keys.len());
        }
    }

    fn new(plan: &WorkerPlan<'_>) -> Self {
        let n = plan.op.streams() as usize;
        OpState {
            // Workers start at different pool positions so they do not all
            // write the same bytes at the same moment.
            batch: plan.index * 7919,
            i: 0,
            positions: vec![None; n],
            buf: ReadBuf::default(),
            value: Vec::new(),
            // Streams this worker never reads count as exhausted, so a
            // reader sharing the streams with others ends when its own are.
            exhausted: (0..n).map(|slot| !visits(plan, slot)).collect(),
            hits: 0,
            keys: Vec::new(),
            key_ranges: Vec::new(),
        }
    }
}

/// Whether worker `plan.index` of `plan.workers` ever picks stream slot
/// `slot`: it takes slots `index + i × workers` (mod `streams`), which are
/// the slots congruent to `index` modulo gcd(workers, streams).
fn visits(plan: &WorkerPlan<'_>, slot: usize) -> bool {
    let (mut a, mut b) = (plan.workers.max(1) as u64, plan.op.streams().max(1));
    while b != 0 {
        (a, b) = (b, a % b);
    }
    slot as u64 % a == plan.index as u64 % a
}

pub(super) fn background_done(plan: &WorkerPlan<'_>, ctl: &Control) -> bool {
    !plan.driver && ctl.drivers_left.load(Ordering::Acquire) == 0
}

/// The synchronous loop: one operation at a time, timed around the call.
pub(crate) fn op_loop(
    plan: &mut WorkerPlan<'_>,
    session: &mut dyn Session,
    ctl: &Control,
    rec: &mut Recorder,
    st: &mut OpState,
    progress: &Progress,
) -> Result<(), StoreError> {
    let mut pacer = plan.rate.map(|r| Pacer::new(r, Instant::now()));
    let mut done: u64 = 0;
    let mut t0 = Instant::now();
    let mut next_publish = t0 + PUBLISH_EVERY;
    // The earlier of the next publication and the next interval boundary:
    // the one comparison every op pays.
    let mut next_event = next_publish.min(rec.next_boundary().unwrap_or(next_publish));
    loop {
        if ctl.stop.load(Ordering::Relaxed) || background_done(plan, ctl) {
            return Ok(());
        }
        if plan.quota.is_some_and(|q| done >= q) {
            return Ok(());
        }
        let intended = match &mut pacer {
            Some(p) => {
                let intended = p.next_start();
                let now = p.wait_until(intended, &ctl.stop);
                if now.saturating_duration_since(intended).as_nanos() as u64 > LATE_AFTER_NS {
                    rec.late += 1;
                }
                t0 = now;
                Some(intended)
            }
            None => None,
        };
        let (records, bytes) = match one_op(plan, session, st)? {
            Some(v) => v,
            None => {
                // Nothing to read yet (a tail reader caught up): back off
                // briefly without counting an operation.
                if plan.driver && st.exhausted.iter().all(|e| *e) {
                    ctl.exhausted.fetch_add(1, Ordering::AcqRel);
                    return Ok(());
                }
                std::thread::sleep(Duration::from_micros(50));
                t0 = Instant::now();
                continue;
            }
        };
        let t1 = Instant::now();
        if t1 >= next_event {
            // Close the intervals that ended before this op completed, so
            // it counts in its own; publish a few times a second. A
            // quantile walks the histogram (microseconds), so only here.
            if rec.roll(t1) || t1 >= next_publish {
                progress.publish(rec);
            }
            if t1 >= next_publish {
                let p99 = rec.current().value_at_quantile(0.99);
                if p99 > 0 {
                    progress.p99_ns.store(p99, Ordering::Relaxed);
                }
                next_publish = t1 + PUBLISH_EVERY;
            }
            next_event = next_publish.min(rec.next_boundary().unwrap_or(next_publish));
        }
        match intended {
            Some(i) => {
                rec.record(
                    t1.saturating_duration_since(i).as_nanos() as u64,
                    records,
                    bytes,
                );
                rec.record_service(t1.saturating_duration_since(t0).as_nanos() as u64);
            }
            None => {
                rec.record(
                    t1.saturating_duration_since(t0).as_nanos() as u64,
                    records,
                    bytes,
                );
                t0 = t1;
            }
        }
        done += records;
        progress.records.store(rec.records, Ordering::Relaxed);
    }
}

/// Performs one op; `Ok(None)` means there was nothing to do (reader caught up).
#[inline]
fn one_op(
    plan: &mut WorkerPlan<'_>,
    session: &mut dyn Session,
    st: &mut OpState,
) -> Result<Option<(u64, u64)>, StoreError> {
    let streams = plan.op.streams();
    let stream_slot = ((plan.index as u64 + st.i * plan.workers as u64) % streams) as usize;
    st.i += 1;
    let rng = &mut plan.rng;
    match &mut plan.op {
        WorkerOp::Append { payload, .. } => {
            let batch = payload.batch(st.batch);
            st.batch = st.batch.wrapping_add(1);
            let bytes: usize = batch.iter().map(|r| r.body.len()).sum();
            session.append(stream_slot as u64, batch)?;
            Ok(Some((batch.len() as u64, bytes as u64)))
        }
        WorkerOp::Read {
            from,
            lag,
            max_bytes,
            ..
        } => {
            let from = *from;
            let stream = stream_slot as u64;
            let pos = match st.positions[stream_slot] {
                Some(p) if from != ReadFrom::Random => p,
                _ => {
                    let b = session.bounds(stream)?;
                    match from {
                        ReadFrom::Head => b.trim_point,
                        ReadFrom::Tail => b.tail.saturating_sub(*lag).max(b.trim_point),
                        ReadFrom::Random if b.tail > b.trim_point => {
                            rng.random_range(b.trim_point..b.tail)
                        }
                        ReadFrom::Random => b.trim_point,
                    }
                }
            };
            let next = session.read(stream, pos, *max_bytes, &mut st.buf)?;
            st.positions[stream_slot] = Some(next);
            if st.buf.is_empty() {
                // A head reader has read the stream to its end. A driving
                // reader is one in a phase without writers: whatever it
                // starts from, once a stream is read to its end nothing more
                // will come (so `from: tail` or `random` cannot wait forever).
                if from == ReadFrom::Head || plan.driver {
                    st.exhausted[stream_slot] = true;
                }
                return Ok(None);
            }
            Ok(Some((st.buf.len() as u64, st.buf.bytes() as u64)))
        }
        WorkerOp::Put { payload, keys } => {
            let records = payload.batch(st.batch);
            st.batch = st.batch.wrapping_add(1);
            if records.len() <= 1 {
                let body = records.first().map_or(&[][..], |r| r.body);
                let index = keys.next_index(rng);
                keys.set_latest(index);
                session.put(keys.key(index), body)?;
                return Ok(Some((1, body.len() as u64)));
            }
            let bytes = st.fill_put_keys(keys, rng, records);
            session.put_batch(&st.keys, &st.key_ranges, records)?;
            Ok(Some((records.len() as u64, bytes)))
        }
        WorkerOp::Get { keys } => {
            let key = keys.next_key(rng);
            let found = session.get(key, &mut st.value)?;
            st.hits += u64::from(found);
            Ok(Some((1, if found { st.value.len() as u64 } else { 0 })))
        }
        WorkerOp::Delete { batch, keys } => {
            let batch = *batch;
            if batch <= 1 {
                let key = keys.next_key(rng);
                session.delete(key)?;
                return Ok(Some((1, 0)));
            }
            st.fill_delete_keys(keys, rng, batch);
            session.delete_batch(&st.keys, &st.key_ranges)?;
            Ok(Some((batch as u64, 0)))
        }
        WorkerOp::Scan { keys, scan_length } => {
            let key = keys.next_key(rng);
            let n = session.scan(key, *scan_length, &mut st.buf)?;
            Ok(Some((n as u64, st.buf.bytes() as u64)))
        }
        // Periodic ops run in `periodic`, never here.
        WorkerOp::Trim { .. } | WorkerOp::Sync { .. } => Ok(Some((0, 0))),
    }
}

/// Trim and sync actors: one op every `every` until the phase ends. The
/// timeline's intervals are closed and handed over as they end, also
/// between two ops (an `every` longer than the interval), so a soak
/// streams a trimmer's rows like any actor's.
fn periodic(
    plan: &WorkerPlan<'_>,
    every: Duration,
    session: &mut dyn Session,
    ctl: &Control,
    rec: &mut Recorder,
    progress: &Progress,
) -> Result<(), StoreError> {
    let start = Instant::now();
    let mut n: u32 = 1;
    // The trim points of one round (reused: a round allocates nothing).
    let mut points: Vec<(u64, Offset)> = Vec::new();
    loop {
        let due = start + every * n;
        // Sleep in short slices so the phase's end is noticed promptly.
        loop {
            if ctl.stop.load(Ordering::Relaxed) || background_done(plan, ctl) {
                return Ok(());
            }
            let now = Instant::now();
            if rec.roll(now) {
                progress.publish(rec);
            }
            if now >= due {
                break;
            }
            std::thread::sleep((due - now).min(Duration::from_millis(5)));
        }
        n += 1;
        let t0 = Instant::now();
        match &plan.op {
            WorkerOp::Sync { .. } => session.sync()?,
            WorkerOp::Trim { streams, keep, .. } => {
                // Each worker trims its share of the streams, in one call.
                points.clear();
                let mut s = plan.index as u64;
                while s < *streams {
                    let b = session.bounds(s)?;
                    let up_to = b.tail.saturating_sub(*keep);
                    if up_to > b.trim_point {
                        points.push((s, up_to));
                    }
                    s += plan.workers as u64;
                }
                if !points.is_empty() {
                    session.trim_many(&points)?;
                }
            }
            // The ops that run back to back are `op_loop`'s.
            WorkerOp::Append { .. }
            | WorkerOp::Read { .. }
            | WorkerOp::Put { .. }
            | WorkerOp::Get { .. }
            | WorkerOp::Delete { .. }
            | WorkerOp::Scan { .. } => {}
        }
        let t1 = Instant::now();
        if rec.roll(t1) {
            progress.publish(rec);
        }
        rec.record(t1.duration_since(t0).as_nanos() as u64, 0, 0);
        progress.ops.store(rec.count, Ordering::Relaxed);
    }
}
