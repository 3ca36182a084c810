//! The log suite: dense offsets, independent streams, read-your-writes,
//! `max_bytes`, reads past the tail, trim visibility, sync, concurrent
//! appends and reopen persistence.

use std::path::Path;

use super::support::*;
use crate::store::api::{Keys, Offset, ReadBuf, Record, Store, StoreError};

/// How a test opens the store under check: called with a directory that the
/// suite owns (created, empty on first use); called again with the same
/// directory to check reopen persistence.
pub type OpenFn<'a> = &'a dyn Fn(&Path) -> Result<Box<dyn Store>, StoreError>;

/// Checks the log operations of the store that `open` opens: every rule of
/// the log semantics, and reopen persistence when the store reports
/// [`Capabilities::persistent`](crate::store::Capabilities). Each check uses its
/// own subdirectory of `dir`.
///
/// # Panics
///
/// On the first broken rule, naming it.
pub fn check_log_store(open: OpenFn<'_>, dir: &Path) {
    dense_offsets(open, &sub(dir, "dense"));
    independent_streams(open, &sub(dir, "streams"));
    read_your_writes_across_sessions(open, &sub(dir, "ryw"));
    read_from_offset_and_max_bytes(open, &sub(dir, "read"));
    read_past_tail(open, &sub(dir, "past-tail"));
    keys_round_trip(open, &sub(dir, "keys"));
    trim_visibility(open, &sub(dir, "trim"));
    sync_works(open, &sub(dir, "sync"));
    concurrent_appends(open, &sub(dir, "concurrent"));
    let store = must(open(&sub(dir, "caps")), "open");
    let caps = store.capabilities();
    must(store.close(), "close");
    assert!(
        caps.log,
        "log capability: check_log_store called on a store without log"
    );
    if caps.persistent {
        reopen_persistence(open, &sub(dir, "reopen"));
    }
}

fn dense_offsets(open: OpenFn<'_>, dir: &Path) {
    let store = must(open(dir), "open");
    let mut s = must(store.session(), "session");
    fill(s.as_mut(), 1, 0, 1, 1);
    fill(s.as_mut(), 1, 1, 10, 3);
    fill(s.as_mut(), 1, 11, 50, 50);
    let b = must(s.bounds(1), "bounds");
    assert_eq!(
        b.tail, 61,
        "dense offsets: bounds().tail must be the next offset"
    );
    assert_eq!(
        b.trim_point, 0,
        "dense offsets: an untrimmed stream starts at 0"
    );
    let got = read_all(s.as_mut(), 1, 0, usize::MAX);
    expect_records(&got, 1, 0, 61, "dense offsets");
    drop(s);
    must(store.close(), "close");
}

fn independent_streams(open: OpenFn<'_>, dir: &Path) {
    let store = must(open(dir), "open");
    let mut s = must(store.session(), "session");
    let streams = [0u64, 7, u64::MAX];
    for round in 0..5u64 {
        for (i, &st) in streams.iter().enumerate() {
            let n = i as u64 + 1;
            fill(s.as_mut(), st, round * n, n, 2);
        }
    }
    for (i, &st) in streams.iter().enumerate() {
        let n = (i as u64 + 1) * 5;
        let b = must(s.bounds(st), "bounds");
        assert_eq!(b.tail, n, "independent streams: stream {st} tail");
        expect_records(
            &read_all(s.as_mut(), st, 0, usize::MAX),
            st,
            0,
            n,
            "independent streams",
        );
    }
    let b = must(s.bounds(12345), "bounds");
    assert_eq!(
        (b.trim_point, b.tail),
        (0, 0),
        "independent streams: an unused stream is empty"
    );
    drop(s);
    must(store.close(), "close");
}

fn read_your_writes_across_sessions(open: OpenFn<'_>, dir: &Path) {
    let store = must(open(dir), "open");
    let mut w = must(store.session(), "session");
    let mut r = must(store.session(), "session");
    for i in 0..20 {
        fill(w.as_mut(), 4, i, 1, 1);
        let got = read_all(r.as_mut(), 4, i, usize::MAX);
        expect_records(&got, 4, i, i + 1, "read-your-writes across sessions");
    }
    drop((w, r));
    must(store.close(), "close");
}

fn read_from_offset_and_max_bytes(open: OpenFn<'_>, dir: &Path) {
    let store = must(open(dir), "open");
    let mut s = must(store.session(), "session");
    fill(s.as_mut(), 2, 0, 40, 7);
    expect_records(
        &read_all(s.as_mut(), 2, 17, usize::MAX),
        2,
        17,
        40,
        "read from an offset",
    );
    for max in [0usize, 1, 100, 250, 4000] {
        let mut buf = ReadBuf::default();
        let mut at = 0;
        while at < 40 {
            let next = must(s.read(2, at, max, &mut buf), "read");
            assert!(
                !buf.is_empty(),
                "max_bytes: a read with max_bytes {max} from {at} must return at least one record"
            );
            assert_eq!(
                buf.records[0].offset, at,
                "max_bytes: the first record must be the one asked for"
            );
            assert!(
                buf.len() == 1 || buf.bytes() <= max,
                "max_bytes: read returned {} records with {} bytes, over max_bytes {max}",
                buf.len(),
                buf.bytes()
            );
            assert!(next > at, "max_bytes: reads must make progress");
            at = next;
        }
    }
    drop(s);
    must(store.close(), "close");
}

fn read_past_tail(open: OpenFn<'_>, dir: &Path) {
    let store = must(open(dir), "open");
    let mut s = must(store.session(), "session");
    fill(s.as_mut(), 5, 0, 3, 3);
    let mut buf = ReadBuf::default();
    buf.push(99, Keys::None, b"stale");
    let next = must(s.read(5, 3, usize::MAX, &mut buf), "read");
    assert!(
        buf.is_empty(),
        "read past tail: reading at the tail must return nothing (and clear the buffer)"
    );
    assert_eq!(
        next, 3,
        "read past tail: reading at the tail returns the tail as next offset"
    );
    must(s.read(5, 1000, usize::MAX, &mut buf), "read");
    assert!(
        buf.is_empty(),
        "read past tail: reading beyond the tail must return nothing"
    );
    must(s.read(6, 0, usize::MAX, &mut buf), "read");
    assert!(
        buf.is_empty(),
        "read past tail: reading an unused stream must return nothing"
    );
    drop(s);
    must(store.close(), "close");
}

fn keys_round_trip(open: OpenFn<'_>, dir: &Path) {
    let store = must(open(dir), "open");
    let mut s = must(store.session(), "session");
    let keys = [
        Keys::None,
        Keys::Single(0),
        Keys::Single(u64::MAX),
        Keys::Pair(1, u64::MAX - 1),
        Keys::Range(u64::MAX, 3),
        Keys::Range(5, 9),
    ];
    let recs: Vec<Record<'_>> = keys
        .iter()
        .map(|k| Record {
            keys: *k,
            body: b"k",
        })
        .collect();
    must(s.append(8, &recs), "append");
    let mut buf = ReadBuf::default();
    must(s.read(8, 0, usize::MAX, &mut buf), "read");
    let got: Vec<Keys> = buf.records.iter().map(|r| r.keys).collect();
    assert_eq!(got, keys, "keys round-trip: keys must read back as written");
    drop(s);
    must(store.close(), "close");
}

fn trim_visibility(open: OpenFn<'_>, dir: &Path) {
    let store = must(open(dir), "open");
    let mut s = must(store.session(), "session");
    fill(s.as_mut(), 3, 0, 30, 4);
    fill(s.as_mut(), 9, 0, 5, 1);
    must(s.trim(3, 10), "trim");
    let b = must(s.bounds(3), "bounds");
    assert_eq!(
        (b.trim_point, b.tail),
        (10, 30),
        "trim visibility: trim must move bounds().trim_point"
    );
    expect_records(
        &read_all(s.as_mut(), 3, 0, usize::MAX),
        3,
        10,
        30,
        "trim visibility (read from 0 after trim)",
    );
    expect_records(
        &read_all(s.as_mut(), 3, 5, 1),
        3,
        10,
        30,
        "trim visibility (read below the trim point)",
    );
    expect_records(
        &read_all(s.as_mut(), 9, 0, usize::MAX),
        9,
        0,
        5,
        "trim visibility (other streams untouched)",
    );
    must(s.trim(3, 4), "trim");
    assert_eq!(
        must(s.bounds(3), "bounds").trim_point,
        10,
        "trim never goes back"
    );
    must(s.trim(3, 10), "trim");
    assert_eq!(
        must(s.bounds(3), "bounds").trim_point,
        10,
        "trim never goes back"
    );
    must(s.trim(3, 1_000_000), "trim");
    let b = must(s.bounds(3), "bounds");
    assert_eq!(
        (b.trim_point, b.tail),
        (30, 30),
        "trim beyond the tail is clamped to the tail"
    );
    // `trim_many` is `trim` for each pair: a point behind the trim point
    // stays put, the others move.
    must(s.trim_many(&[(9, 2), (3, 5)]), "trim_many");
    assert_eq!(
        (
            must(s.bounds(9), "bounds").trim_point,
            must(s.bounds(3), "bounds").trim_point
        ),
        (2, 30),
        "trim_many trims each stream as trim does"
    );
    expect_records(
        &read_all(s.as_mut(), 9, 0, usize::MAX),
        9,
        2,
        5,
        "trim_many visibility",
    );
    let mut buf = ReadBuf::default();
    let next = must(s.read(3, 0, usize::MAX, &mut buf), "read");
    assert!(
        buf.is_empty(),
        "trim visibility: a fully trimmed stream returns nothing"
    );
    assert_eq!(
        next, 30,
        "trim visibility: reading a fully trimmed stream returns the trim point"
    );
    fill(s.as_mut(), 3, 30, 6, 3);
    expect_records(
        &read_all(s.as_mut(), 3, 0, usize::MAX),
        3,
        30,
        36,
        "appends after a trim to the tail",
    );
    must(s.trim(77, 5), "trim");
    assert_eq!(
        must(s.bounds(77), "bounds").trim_point,
        0,
        "trim beyond the tail is clamped to the tail (unused stream)"
    );
    drop(s);
    must(store.close(), "close");
}

fn sync_works(open: OpenFn<'_>, dir: &Path) {
    let store = must(open(dir), "open");
    let mut s = must(store.session(), "session");
    must(s.sync(), "sync (empty store)");
    fill(s.as_mut(), 1, 0, 5, 2);
    must(s.sync(), "sync");
    must(s.sync(), "sync (twice)");
    expect_records(
        &read_all(s.as_mut(), 1, 0, usize::MAX),
        1,
        0,
        5,
        "sync works",
    );
    drop(s);
    must(store.close(), "close");
}

fn concurrent_appends(open: OpenFn<'_>, dir: &Path) {
    const THREADS: u64 = 4;
    const PER_THREAD: u64 = 40;
    let store = must(open(dir), "open");
    let store_ref: &dyn Store = store.as_ref();
    // Each thread appends 2-record batches to the shared stream 100 and to
    // its own stream; a body names (thread, sequence) so reads can check
    // that every offset holds what its append returned.
    let results: Vec<Vec<(u64, Offset, Vec<u8>)>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                scope.spawn(move || {
                    let mut s = must(store_ref.session(), "session");
                    let mut mine = Vec::new();
                    for i in 0..PER_THREAD {
                        for stream in [100, 200 + t] {
                            let a = format!("t{t} i{i} a").into_bytes();
                            let b = format!("t{t} i{i} b").into_bytes();
                            let off = must(
                                s.append(
                                    stream,
                                    &[
                                        Record {
                                            keys: Keys::None,
                                            body: &a,
                                        },
                                        Record {
                                            keys: Keys::None,
                                            body: &b,
                                        },
                                    ],
                                ),
                                "concurrent append",
                            );
                            mine.push((stream, off, a));
                            mine.push((stream, off + 1, b));
                        }
                    }
                    mine
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| panic!("concurrency: an appending thread panicked"))
            })
            .collect()
    });
    let mut s = must(store.session(), "session");
    let mut shared: Vec<Offset> = Vec::new();
    for (t, mine) in results.iter().enumerate() {
        let own = 200 + t as u64;
        let got = read_all(s.as_mut(), own, 0, usize::MAX);
        assert_eq!(
            got.len() as u64,
            PER_THREAD * 2,
            "concurrency: stream {own} (one writer) must hold every record"
        );
        for (stream, off, want) in mine {
            if *stream == 100 {
                shared.push(*off);
            }
            let got = if *stream == 100 {
                read_all(s.as_mut(), 100, *off, 0)
            } else {
                got.iter().filter(|r| r.0 == *off).cloned().collect()
            };
            let first = got
                .first()
                .unwrap_or_else(|| panic!("concurrency: stream {stream} offset {off} is missing"));
            assert_eq!(
                first.0, *off,
                "concurrency: stream {stream} offset {off} is missing"
            );
            assert_eq!(
                &first.2, want,
                "concurrency: stream {stream} offset {off} does not hold what its append wrote"
            );
        }
    }
    shared.sort_unstable();
    let want: Vec<Offset> = (0..THREADS * PER_THREAD * 2).collect();
    assert_eq!(
        shared, want,
        "concurrency: offsets of a shared stream must be unique and dense"
    );
    drop(s);
    must(store.close(), "close");
}

fn reopen_persistence(open: OpenFn<'_>, dir: &Path) {
    {
        let store = must(open(dir), "open");
        let mut s = must(store.session(), "session");
        fill(s.as_mut(), 1, 0, 25, 5);
        fill(s.as_mut(), 2, 0, 10, 10);
        must(s.trim(1, 7), "trim");
        must(s.trim(2, 10), "trim");
        drop(s);
        must(store.close(), "close");
    }
    for cycle in 0..2u64 {
        let store = must(open(dir), "reopen");
        let mut s = must(store.session(), "session");
        let b1 = must(s.bounds(1), "bounds");
        let b2 = must(s.bounds(2), "bounds");
        assert_eq!(
            (b1.trim_point, b1.tail),
            (7, 25 + cycle * 3),
            "reopen persistence: stream 1 bounds after reopen (trim point and tail must survive)"
        );
        assert_eq!(
            (b2.trim_point, b2.tail),
            (10, 10),
            "reopen persistence: a stream trimmed to its tail must stay empty and keep its tail"
        );
        expect_records(
            &read_all(s.as_mut(), 1, 0, usize::MAX),
            1,
            7,
            25 + cycle * 3,
            "reopen persistence (data intact, trimmed records never return)",
        );
        fill(s.as_mut(), 1, 25 + cycle * 3, 3, 2);
        if cycle == 0 {
            fill(s.as_mut(), 2, 10, 0, 1);
        }
        drop(s);
        must(store.close(), "close");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;
    use crate::store::api::{Capabilities, LogBounds, Session, StoreStats};
    use crate::store::power_loss::body;

    /// A memory store with one deliberate bug, to prove the suite catches it.
    #[derive(Clone, Copy, Debug)]
    enum Bug {
        TrimIgnored,
        OffsetsStartAtOne,
        MaxBytesIgnored,
        TrimGoesBack,
    }

    struct Broken(MemoryStore, Bug);
    struct BrokenSession(Box<dyn Session>, Bug, u64);

    impl Store for Broken {
        fn capabilities(&self) -> Capabilities {
            self.0.capabilities()
        }
        fn session(&self) -> Result<Box<dyn Session>, StoreError> {
            Ok(Box::new(BrokenSession(self.0.session()?, self.1, 0)))
        }
        fn stats(&self) -> StoreStats {
            self.0.stats()
        }
        fn close(self: Box<Self>) -> Result<(), StoreError> {
            Ok(())
        }
    }

    impl Session for BrokenSession {
        fn append(&mut self, stream: u64, batch: &[Record<'_>]) -> Result<Offset, StoreError> {
            let o = self.0.append(stream, batch)?;
            Ok(match self.1 {
                Bug::OffsetsStartAtOne => o + 1,
                _ => o,
            })
        }
        fn read(
            &mut self,
            stream: u64,
            from: Offset,
            max_bytes: usize,
            out: &mut ReadBuf,
        ) -> Result<Offset, StoreError> {
            let max = match self.1 {
                Bug::MaxBytesIgnored => usize::MAX,
                _ => max_bytes,
            };
            self.0.read(stream, from, max, out)
        }
        fn trim(&mut self, stream: u64, up_to: Offset) -> Result<(), StoreError> {
            match self.1 {
                Bug::TrimIgnored => Ok(()),
                _ => {
                    self.2 = up_to;
                    self.0.trim(stream, up_to)
                }
            }
        }
        fn sync(&mut self) -> Result<(), StoreError> {
            self.0.sync()
        }
        fn bounds(&mut self, stream: u64) -> Result<LogBounds, StoreError> {
            let mut b = self.0.bounds(stream)?;
            if let Bug::TrimGoesBack = self.1 {
                // Reports the last requested trim point when it is lower.
                b.trim_point = b.trim_point.min(self.2);
            }
            Ok(b)
        }
    }

    #[test]
    fn the_suite_catches_broken_stores_and_names_the_rule() {
        for (bug, rule) in [
            (Bug::TrimIgnored, "trim visibility"),
            (Bug::OffsetsStartAtOne, "dense offsets"),
            (Bug::MaxBytesIgnored, "max_bytes"),
            (Bug::TrimGoesBack, "trim never goes back"),
        ] {
            let dir = tempfile::tempdir().expect("tempdir");
            let open = move |_: &Path| -> Result<Box<dyn Store>, StoreError> {
                Ok(Box::new(Broken(MemoryStore::new(), bug)))
            };
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                check_log_store(&open, dir.path())
            }));
            let payload = r.expect_err(&format!("{bug:?} must be caught"));
            let msg = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_default();
            assert!(
                msg.contains(rule),
                "{bug:?}: the panic names {rule:?}: {msg}"
            );
        }
    }

    #[test]
    fn bodies_are_deterministic_and_distinct() {
        assert_eq!(body(1, 2, 50), body(1, 2, 50));
        assert_ne!(body(1, 2, 50), body(1, 3, 50));
        assert_ne!(body(1, 2, 50), body(2, 2, 50));
        assert_eq!(body_len(5), 3000);
        assert_eq!(body_len(0), 0);
    }
}
