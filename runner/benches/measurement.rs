//! The measurement path's own cost, per operation: what the worker adds
//! around every store call (one clock read and one HDR record in a closed
//! loop), and a 64-byte append to the memory store for scale. The
//! `_timeline` case is the worker's loop as it is: the same, plus the one
//! comparison with the next event (interval boundary or progress
//! publication) and, every 250 ms, closing an interval.
//!
//! A plain harness rather than Criterion: Criterion's dependency tree
//! changes the feature set of RocksDB's build dependencies, which would make
//! `cargo build` and `cargo test` compile RocksDB (25 minutes) twice. Each
//! case runs several rounds of a fixed number of iterations and reports the
//! median ns/op, so one noisy round does not move the figure.
//!
//! Run with `cargo bench --bench measurement`; figures are in the book, `docs/src/measured.md`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use loadline::store::{Keys, MemoryStore, Record, Store};
use loadline::testing::Recorder;

const ROUNDS: usize = 9;
const ITERS: u64 = 5_000_000;

fn median_ns_per_op(mut round: impl FnMut(u64)) -> f64 {
    round(ITERS / 10); // warm up
    let mut per_op: Vec<f64> = (0..ROUNDS)
        .map(|_| {
            let t = Instant::now();
            round(ITERS);
            t.elapsed().as_nanos() as f64 / ITERS as f64
        })
        .collect();
    per_op.sort_by(f64::total_cmp);
    per_op[ROUNDS / 2]
}

fn main() {
    let hdr = median_ns_per_op(|n| {
        let mut r = Recorder::new(false);
        let mut v = 1_000u64;
        for _ in 0..n {
            v = v
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407)
                >> 44;
            r.record(black_box(v), 1, 64);
        }
        black_box(r.count);
    });
    let clock_record = median_ns_per_op(|n| {
        let mut r = Recorder::new(false);
        let mut t0 = Instant::now();
        for _ in 0..n {
            let t1 = Instant::now();
            r.record(t1.duration_since(t0).as_nanos() as u64, 1, 64);
            t0 = t1;
        }
        black_box(r.count);
    });
    // The same with the worker's timeline bookkeeping: the comparison with
    // the next event per op, closing an interval every 250 ms.
    let clock_record_timeline = median_ns_per_op(|n| {
        let mut t0 = Instant::now();
        let mut r = Recorder::with_intervals(false, t0, Duration::from_millis(250));
        let mut next_event = r.next_boundary().expect("intervals");
        for _ in 0..n {
            let t1 = Instant::now();
            if t1 >= next_event {
                r.roll(t1);
                next_event = r.next_boundary().expect("intervals");
            }
            r.record(t1.duration_since(t0).as_nanos() as u64, 1, 64);
            t0 = t1;
        }
        r.finish();
        black_box(r.count);
    });
    let body = [7u8; 64];
    let batch = [Record {
        keys: Keys::None,
        body: &body,
    }];
    let append = median_ns_per_op(|n| {
        let store = MemoryStore::new();
        let mut s = store.session().expect("memory session");
        for _ in 0..n {
            black_box(s.append(0, black_box(&batch)).expect("append"));
        }
    });
    let measured = median_ns_per_op(|n| {
        let store = MemoryStore::new();
        let mut s = store.session().expect("memory session");
        let mut r = Recorder::new(false);
        let mut t0 = Instant::now();
        for _ in 0..n {
            black_box(s.append(0, black_box(&batch)).expect("append"));
            let t1 = Instant::now();
            r.record(t1.duration_since(t0).as_nanos() as u64, 1, 64);
            t0 = t1;
        }
        black_box(r.count);
    });
    let timeline = median_ns_per_op(|n| {
        let store = MemoryStore::new();
        let mut s = store.session().expect("memory session");
        let mut t0 = Instant::now();
        let mut r = Recorder::with_intervals(false, t0, Duration::from_millis(250));
        let mut next_event = r.next_boundary().expect("intervals");
        for _ in 0..n {
            black_box(s.append(0, black_box(&batch)).expect("append"));
            let t1 = Instant::now();
            if t1 >= next_event {
                r.roll(t1);
                next_event = r.next_boundary().expect("intervals");
            }
            r.record(t1.duration_since(t0).as_nanos() as u64, 1, 64);
            t0 = t1;
        }
        r.finish();
        black_box(r.count);
    });
    println!("hdr_record                  {hdr:>7.1} ns/op");
    println!("clock_plus_record           {clock_record:>7.1} ns/op");
    println!("clock_plus_record_timeline  {clock_record_timeline:>7.1} ns/op");
    println!("memory_append_64b           {append:>7.1} ns/op");
    println!("memory_append_64b_measured  {measured:>7.1} ns/op");
    println!("memory_append_64b_timeline  {timeline:>7.1} ns/op");
    println!(
        "measurement cost per op     {:>7.1} ns (measured - bare append)",
        measured - append
    );
    println!(
        "with the timeline           {:>7.1} ns (timeline - bare append)",
        timeline - append
    );
}
