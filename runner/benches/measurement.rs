//! The measurement path's own cost, per operation: what the worker adds
//! around every store call (one clock read and one HDR record in a closed
//! loop), and a 64-byte append to the memory store for scale.
//!
//! Run with `cargo bench --bench measurement`; figures are in the README.
#![expect(
    missing_docs,
    reason = "criterion_group! generates undocumented functions"
)]

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use loadline::metrics::recorder::Recorder;
use loadline::store::{Keys, MemoryStore, Record, Store};

fn measurement(c: &mut Criterion) {
    let mut g = c.benchmark_group("per_op");
    g.bench_function("hdr_record", |b| {
        let mut r = Recorder::new(false);
        let mut v = 1_000u64;
        b.iter(|| {
            v = v
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407)
                >> 44;
            r.record(black_box(v), 1, 64);
        });
    });
    g.bench_function("clock_plus_record", |b| {
        let mut r = Recorder::new(false);
        let mut t0 = Instant::now();
        b.iter(|| {
            let t1 = Instant::now();
            r.record(t1.duration_since(t0).as_nanos() as u64, 1, 64);
            t0 = t1;
        });
    });
    let body = [7u8; 64];
    let batch = [Record {
        keys: Keys::None,
        body: &body,
    }];
    g.bench_function("memory_append_64b", |b| {
        let store = MemoryStore::new();
        let mut s = store.session().expect("memory session");
        b.iter(|| s.append(0, black_box(&batch)).expect("append"));
    });
    g.bench_function("memory_append_64b_measured", |b| {
        let store = MemoryStore::new();
        let mut s = store.session().expect("memory session");
        let mut r = Recorder::new(false);
        let mut t0 = Instant::now();
        b.iter(|| {
            s.append(0, black_box(&batch)).expect("append");
            let t1 = Instant::now();
            r.record(t1.duration_since(t0).as_nanos() as u64, 1, 64);
            t0 = t1;
        });
    });
    g.finish();
}

criterion_group!(benches, measurement);
criterion_main!(benches);
