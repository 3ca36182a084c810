//! Store-level tests of the WAL: conformance under every sync policy,
//! round trips across segment rolls, the truncation sweep, corruption
//! fixtures, a bit-flip sweep, fault injection and simulated power loss.
//! Most run on the simulated file system, so they are fast and exact.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use proptest::prelude::*;

use super::format::{SEGMENT_HEADER_LEN, check_frame};
use super::segment::{file_name, parse_file_name};
use super::{WalOptions, WalStore, WalSync};
use crate::store::api::{Keys, Offset, ReadBuf, Record, Session, Store, StoreError};
use crate::store::conformance;
use crate::store::fs::{FaultyIo, Io, RealIo, SimFs};

fn opts(segment_size: u64, sync: WalSync) -> WalOptions {
    WalOptions {
        segment_size,
        sync,
        sync_interval: Duration::from_micros(200),
        preallocate: false,
        recycle_segments: 0,
        recovery: super::RecoveryMode::PointInTime,
    }
}

/// The segment id in a segment file's header (what its frames must name).
fn header_id(b: &[u8]) -> u64 {
    b.get(16..24)
        .map_or(0, |x| u64::from_le_bytes(x.try_into().expect("8 bytes")))
}

fn dir() -> PathBuf {
    PathBuf::from("/log")
}

fn open_sim(fs: &SimFs, o: &WalOptions) -> Result<WalStore, StoreError> {
    WalStore::open_simulated(&dir(), o, fs)
}

fn body(stream: u64, offset: u64) -> Vec<u8> {
    let len = ((stream * 31 + offset * 7) % 90) as usize;
    conformance::body(stream, offset, len)
}

/// Appends `batches` batches of 1..=3 records to streams 0..3; returns the
/// tail of each stream.
fn fill(s: &mut dyn Session, batches: u64) -> [u64; 3] {
    let mut tails = [0u64; 3];
    for i in 0..batches {
        let stream = i % 3;
        let n = 1 + i % 3;
        let t = tails[stream as usize];
        let bodies: Vec<Vec<u8>> = (t..t + n).map(|o| body(stream, o)).collect();
        let first = s
            .append(stream, &conformance::pair_records(stream, t, &bodies))
            .expect("append");
        assert_eq!(first, t);
        tails[stream as usize] += n;
    }
    tails
}

/// Reads each stream fully, checking every record against [`body`];
/// returns the tails.
fn verify(s: &mut dyn Session, streams: u64) -> Vec<u64> {
    let mut tails = Vec::new();
    let mut buf = ReadBuf::default();
    for stream in 0..streams {
        let b = s.bounds(stream).expect("bounds");
        let mut at = b.trim_point;
        loop {
            let next = s.read(stream, at, 1000, &mut buf).expect("read");
            if buf.is_empty() {
                break;
            }
            for (i, r) in buf.records.iter().enumerate() {
                assert_eq!(
                    r.offset,
                    at + i as u64,
                    "stream {stream}: offsets are dense"
                );
                assert_eq!(
                    buf.body(i),
                    body(stream, r.offset),
                    "stream {stream} offset {}",
                    r.offset
                );
                assert_eq!(r.keys, Keys::Pair(stream, r.offset));
            }
            at = next;
        }
        assert_eq!(
            at, b.tail,
            "stream {stream}: everything up to the tail reads back"
        );
        tails.push(b.tail);
    }
    tails
}

fn segment_files(io: &dyn Io) -> Vec<(u64, PathBuf)> {
    let mut v: Vec<(u64, PathBuf)> = io
        .list_dir(&dir())
        .expect("list")
        .into_iter()
        .filter_map(|n| parse_file_name(&n).map(|id| (id, dir().join(n))))
        .collect();
    v.sort();
    v
}

fn stat(store: &WalStore, name: &str) -> f64 {
    store.stats().values[name]
}

// ------------------------------------------------------------ conformance

fn conformance_on_disk(sync: WalSync, preallocate: bool) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let o = WalOptions {
        preallocate,
        ..opts(64 << 10, sync)
    };
    let open = move |d: &Path| -> Result<Box<dyn Store>, StoreError> {
        Ok(Box::new(WalStore::open(d, &o)?))
    };
    conformance::check_log_store(&open, tmp.path());
}

#[test]
fn conformance_sync_always() {
    conformance_on_disk(WalSync::Always, false);
}

#[test]
fn conformance_sync_batch_preallocated() {
    conformance_on_disk(WalSync::Batch, true);
}

#[test]
fn conformance_sync_never() {
    conformance_on_disk(WalSync::Never, false);
}

#[test]
fn conformance_with_tiny_segments_on_the_simulated_fs() {
    // 32 KiB segments: the suite's largest batch (about 17 KiB) still fits,
    // and its checks cross rolls and read sealed (mapped) segments.
    let tmp = tempfile::tempdir().expect("tempdir");
    let fs = SimFs::new();
    let o = opts(32 << 10, WalSync::Always);
    let open = move |d: &Path| -> Result<Box<dyn Store>, StoreError> {
        Ok(Box::new(WalStore::open_simulated(d, &o, &fs)?))
    };
    conformance::check_log_store(&open, tmp.path());
}

#[test]
fn wal_is_not_a_kv_store() {
    let fs = SimFs::new();
    let store = open_sim(&fs, &WalOptions::default()).expect("open");
    assert_eq!(
        store.capabilities(),
        crate::store::Capabilities {
            log: true,
            persistent: true,
            crash_durable: true,
            power_loss: true,
            max_batch_bytes: Some(super::kind::max_batch_bytes(
                WalOptions::default().segment_size
            )),
            ..crate::store::Capabilities::NONE
        }
    );
    let mut s = store.session().expect("session");
    assert!(matches!(
        s.put(b"k", b"v"),
        Err(StoreError::Unsupported { .. })
    ));
}

#[test]
fn second_open_of_a_directory_is_refused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let _a = WalStore::open(tmp.path(), &WalOptions::default()).expect("first open");
    let e = WalStore::open(tmp.path(), &WalOptions::default()).expect_err("second open");
    assert!(e.to_string().contains("lock"), "{e}");
}

#[test]
fn invalid_options_and_oversized_batches_are_rejected() {
    let fs = SimFs::new();
    let e = open_sim(&fs, &opts(64, WalSync::Never)).expect_err("tiny segments");
    assert!(e.to_string().contains("segment_size 64 is below"), "{e}");
    let store = open_sim(&fs, &opts(256, WalSync::Never)).expect("open");
    let mut s = store.session().expect("session");
    let big = vec![1u8; 300];
    let e = s
        .append(
            1,
            &[Record {
                keys: Keys::None,
                body: &big,
            }],
        )
        .expect_err("too big");
    assert!(matches!(e, StoreError::Invalid { .. }), "{e}");
    assert_eq!(
        s.bounds(1).expect("bounds").tail,
        0,
        "a rejected batch is not written"
    );
    // A batch of exactly the maximum size fits a fresh segment.
    let max = vec![2u8; 256 - SEGMENT_HEADER_LEN - super::format::FRAME_HEADER_LEN - 5];
    let max_rec = [Record {
        keys: Keys::None,
        body: &max,
    }];
    assert_eq!(super::format::frame_len(&max_rec), 256 - SEGMENT_HEADER_LEN);
    assert_eq!(s.append(1, &max_rec).expect("maximum size"), 0);
    assert_eq!(
        s.append(1, &max_rec).expect("maximum size, after a roll"),
        1
    );
    let mut buf = ReadBuf::default();
    s.read(1, 0, usize::MAX, &mut buf).expect("read");
    assert_eq!((buf.len(), buf.body(1)), (2, &max[..]));
    assert_eq!(
        s.append(1, &[]).expect("empty batch"),
        2,
        "an empty batch returns the tail"
    );
}

// ------------------------------------------------------------ rolls, sealing, trim

#[test]
fn rolls_seal_and_read_sealed_segments_on_disk() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let o = opts(1024, WalSync::Never);
    let store = WalStore::open(tmp.path(), &o).expect("open");
    let mut s = store.session().expect("session");
    let tails = fill(s.as_mut(), 200);
    assert!(stat(&store, "segments_sealed") >= 5.0);
    {
        let segs = store.shared.segments.read().expect("lock");
        let sealed = segs.values().filter(|s| s.is_sealed()).count();
        assert_eq!(
            sealed,
            segs.len() - 1,
            "all but the active segment are sealed and mapped"
        );
    }
    assert_eq!(verify(s.as_mut(), 3), tails);
    drop(s);
    Box::new(store).close().expect("close");
    let store = WalStore::open(tmp.path(), &o).expect("reopen");
    let mut s = store.session().expect("session");
    assert_eq!(verify(s.as_mut(), 3), tails);
    assert_eq!(
        stat(&store, "recovery_records"),
        tails.iter().sum::<u64>() as f64
    );
    assert_eq!(stat(&store, "recovery_dropped_bytes"), 0.0);
}

#[test]
fn trim_unlinks_dead_segments_and_survives_reopen_and_power_loss() {
    let fs = SimFs::new();
    let o = opts(512, WalSync::Never);
    let store = open_sim(&fs, &o).expect("open");
    let mut s = store.session().expect("session");
    let tails = fill(s.as_mut(), 150);
    s.trim(0, tails[0]).expect("trim");
    s.trim(1, tails[1]).expect("trim");
    let deleted_before = stat(&store, "segments_deleted");
    let needed = {
        let idx = store.shared.index.read().expect("index");
        idx[&2].first_segment().expect("stream 2 has batches")
    };
    assert_eq!(
        segment_files(&fs)[0].0,
        needed,
        "segments holding only trimmed records are unlinked; stream 2's are kept"
    );
    assert_eq!(verify(s.as_mut(), 3)[2], tails[2]);
    let before = segment_files(&fs).len();
    s.trim(2, tails[2] - 1).expect("trim");
    let deleted = stat(&store, "segments_deleted") - deleted_before;
    assert!(
        deleted >= 3.0,
        "whole dead segments are unlinked ({deleted})"
    );
    assert_eq!(segment_files(&fs).len() as f64, before as f64 - deleted);
    s.sync().expect("sync");
    drop(s);
    // The unlinks were never made durable by a directory fsync: a power
    // loss resurrects the files; recovery must delete them again and keep
    // the trimmed records invisible.
    fs.power_loss();
    assert_eq!(segment_files(&fs).len(), before, "unlinks were not durable");
    drop(store);
    let store = open_sim(&fs, &o).expect("reopen");
    let mut s = store.session().expect("session");
    assert_eq!(segment_files(&fs).len() as f64, before as f64 - deleted);
    for (stream, t) in tails.iter().enumerate() {
        let b = s.bounds(stream as u64).expect("bounds");
        let want = if stream == 2 { t - 1 } else { *t };
        assert_eq!((b.trim_point, b.tail), (want, *t), "stream {stream}");
    }
    let mut buf = ReadBuf::default();
    s.read(2, 0, usize::MAX, &mut buf).expect("read");
    assert_eq!(buf.len(), 1);
    assert_eq!(buf.records[0].offset, tails[2] - 1);
    assert_eq!(buf.body(0), body(2, tails[2] - 1));
}

// ------------------------------------------------------------ round trips

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    /// Arbitrary batches (empty bodies, bodies up to most of a segment,
    /// several streams) across segment rolls, read back before and after a
    /// reopen.
    #[test]
    fn arbitrary_batches_round_trip_across_rolls(
        batches in proptest::collection::vec(
            (0u64..3, proptest::collection::vec(
                prop_oneof![3 => proptest::collection::vec(any::<u8>(), 0..40), 1 => proptest::collection::vec(any::<u8>(), 500..1500)],
                1..5,
            )),
            1..40,
        ),
        preallocate in any::<bool>(),
    ) {
        let fs = SimFs::new();
        let o = WalOptions { preallocate, ..opts(4096, WalSync::Never) };
        let store = open_sim(&fs, &o).expect("open");
        let mut s = store.session().expect("session");
        let mut want: Vec<Vec<Vec<u8>>> = vec![Vec::new(); 3];
        for (stream, bodies) in &batches {
            let recs: Vec<Record<'_>> = bodies.iter().map(|b| Record { keys: Keys::Single(b.len() as u64), body: b }).collect();
            if super::format::frame_len(&recs) as u64 > o.segment_size - SEGMENT_HEADER_LEN as u64 {
                let e = s.append(*stream, &recs).expect_err("larger than a segment");
                let invalid = matches!(e, StoreError::Invalid { .. });
                prop_assert!(invalid, "expected an invalid-batch error, got {}", e);
                continue;
            }
            let first = s.append(*stream, &recs).expect("append");
            prop_assert_eq!(first, want[*stream as usize].len() as u64);
            want[*stream as usize].extend(bodies.iter().cloned());
        }
        let check = |s: &mut dyn Session| -> Result<(), TestCaseError> {
            let mut buf = ReadBuf::default();
            for (stream, bodies) in want.iter().enumerate() {
                let mut got = Vec::new();
                let mut at = 0;
                loop {
                    at = s.read(stream as u64, at, 2000, &mut buf).expect("read");
                    if buf.is_empty() { break; }
                    for i in 0..buf.len() {
                        prop_assert_eq!(buf.records[i].keys, Keys::Single(buf.body(i).len() as u64));
                        got.push(buf.body(i).to_vec());
                    }
                }
                prop_assert_eq!(&got, bodies);
            }
            Ok(())
        };
        check(s.as_mut())?;
        drop(s);
        Box::new(store).close().expect("close");
        let store = open_sim(&fs, &o).expect("reopen");
        let mut s = store.session().expect("session");
        check(s.as_mut())?;
        prop_assert_eq!(store.stats().values["recovery_dropped_bytes"], 0.0);
    }
}

// ------------------------------------------------------------ truncation sweep

/// Frame end positions of a segment's bytes.
fn frame_ends(b: &[u8]) -> Vec<usize> {
    let mut ends = vec![SEGMENT_HEADER_LEN];
    let mut pos = SEGMENT_HEADER_LEN;
    while let Ok(h) = check_frame(&b[pos..], header_id(b)) {
        pos += h.len as usize;
        ends.push(pos);
    }
    ends
}

fn nonzero_len(b: &[u8]) -> usize {
    b.iter().rposition(|&x| x != 0).map_or(0, |i| i + 1)
}

#[test]
fn truncation_sweep_recovers_the_longest_complete_prefix() {
    let fs = SimFs::new();
    let o = opts(700, WalSync::Never);
    let store = open_sim(&fs, &o).expect("open");
    let mut s = store.session().expect("session");
    // Batches until the log has 4 segments and the last one is well filled.
    let mut i = 0;
    loop {
        let segs = segment_files(&fs);
        if segs.len() >= 4 && fs.read(&segs[segs.len() - 1].1).expect("read").len() >= 500 {
            break;
        }
        fill_one(s.as_mut(), i);
        i += 1;
    }
    drop(s);
    Box::new(store).close().expect("close");
    let segs = segment_files(&fs);
    let (_, last) = segs.last().expect("segments");
    let mut bytes = fs.read(last).expect("read last");
    assert_eq!(
        bytes.len() as u64,
        o.segment_size,
        "segments are allocated whole"
    );
    let ends = frame_ends(&bytes);
    let end = *ends.last().expect("ends");
    assert!(
        bytes[end..].iter().all(|&b| b == 0),
        "the intact log parses completely; its allocated rest reads as zeros"
    );
    // The sweep cuts the frames (a torn write ends inside them).
    bytes.truncate(end);

    // Reference: the stream tails after each complete prefix.
    let earlier_records = {
        let store = open_sim(&fs.fork(), &o).expect("open");
        stat(&store, "recovery_records") as u64
    };
    for cut in 0..=bytes.len() {
        let fork = fs.fork();
        fork.overwrite(last, bytes[..cut].to_vec()).expect("cut");
        let store =
            open_sim(&fork, &o).unwrap_or_else(|e| panic!("cut at {cut}: open failed: {e}"));
        let (keep, dropped) = if cut < SEGMENT_HEADER_LEN {
            (0, nonzero_len(&bytes[..cut]))
        } else {
            let end = *ends
                .iter()
                .filter(|&&e| e <= cut)
                .max()
                .expect("header end");
            (end, nonzero_len(&bytes[end..cut]))
        };
        assert_eq!(
            stat(&store, "recovery_dropped_bytes"),
            dropped as f64,
            "cut at {cut}: dropped bytes"
        );
        let records_in_last: u64 = if keep == 0 {
            0
        } else {
            let mut pos = SEGMENT_HEADER_LEN;
            let mut n = 0;
            while pos < keep {
                let h = check_frame(&bytes[pos..], header_id(&bytes)).expect("frame");
                n += u64::from(h.count);
                pos += h.len as usize;
            }
            n
        };
        let all_in_last: u64 = {
            let mut pos = SEGMENT_HEADER_LEN;
            let mut n = 0;
            while let Ok(h) = check_frame(&bytes[pos..], header_id(&bytes)) {
                n += u64::from(h.count);
                pos += h.len as usize;
            }
            n
        };
        assert_eq!(
            stat(&store, "recovery_records") as u64,
            earlier_records - all_in_last + records_in_last,
            "cut at {cut}: the longest complete prefix is recovered"
        );
        let mut s = store.session().expect("session");
        let tails = verify(s.as_mut(), 3);
        // Appends continue at the recovered tails, and the truncation was
        // made durable: a power loss now loses nothing recovered.
        let off = s
            .append(
                1,
                &[Record {
                    keys: Keys::Pair(1, tails[1]),
                    body: &body(1, tails[1]),
                }],
            )
            .expect("append");
        assert_eq!(off, tails[1], "cut at {cut}: appends continue at the tail");
        s.sync().expect("sync");
        drop(s);
        drop(store);
        fork.power_loss();
        let store = open_sim(&fork, &o).expect("reopen");
        assert_eq!(
            stat(&store, "recovery_dropped_bytes"),
            0.0,
            "cut at {cut}: second recovery is clean"
        );
        let mut s = store.session().expect("session");
        assert_eq!(verify(s.as_mut(), 3)[1], tails[1] + 1);
    }
}

fn fill_one(s: &mut dyn Session, i: u64) {
    let stream = i % 3;
    let t = s.bounds(stream).expect("bounds").tail;
    let n = 1 + i % 2;
    let bodies: Vec<Vec<u8>> = (t..t + n).map(|o| body(stream, o)).collect();
    let recs: Vec<Record<'_>> = bodies
        .iter()
        .zip(t..)
        .map(|(b, o)| Record {
            keys: Keys::Pair(stream, o),
            body: b,
        })
        .collect();
    s.append(stream, &recs).expect("append");
}

// ------------------------------------------------------------ corruption fixtures

/// A closed log of several segments on a simulated fs, plus its segments.
fn fixture() -> (SimFs, WalOptions, Vec<(u64, PathBuf)>, [u64; 3]) {
    let fs = SimFs::new();
    let o = opts(600, WalSync::Never);
    let store = open_sim(&fs, &o).expect("open");
    let mut s = store.session().expect("session");
    let mut tails = fill(s.as_mut(), 60);
    // Until the last segment holds at least four frames.
    let mut i = 0;
    while frame_ends(
        &fs.read(&segment_files(&fs).last().expect("segments").1)
            .expect("read"),
    )
    .len()
        < 5
    {
        fill_one(s.as_mut(), i);
        tails[(i % 3) as usize] += 1 + i % 2;
        i += 1;
    }
    drop(s);
    Box::new(store).close().expect("close");
    let segs = segment_files(&fs);
    assert!(segs.len() >= 4, "fixture has several segments");
    (fs, o, segs, tails)
}

fn expect_corrupt(fs: &SimFs, o: &WalOptions, path: &Path, offset: u64, words: &str) {
    let e = open_sim(fs, o).expect_err("open must fail");
    match &e {
        StoreError::Corrupt {
            path: p,
            offset: at,
            detail,
        } => {
            assert_eq!(p, path, "names the segment: {e}");
            assert_eq!(*at, offset, "names the offset: {e}");
            assert!(detail.contains(words), "says {words:?}: {e}");
        }
        other => panic!("expected a corruption error, got {other}"),
    }
    let msg = e.to_string();
    assert!(
        msg.contains(&path.display().to_string()) && msg.contains(&format!("byte {offset}")),
        "{msg}"
    );
}

#[test]
fn flipped_byte_in_the_last_segment_followed_by_valid_records_fails_the_open() {
    let (fs, o, segs, _) = fixture();
    let (_, last) = segs.last().expect("last");
    let mut b = fs.read(last).expect("read");
    let ends = frame_ends(&b);
    assert!(ends.len() >= 4, "last segment has at least 3 frames");
    let victim = ends[1]; // the second frame; more follow
    b[victim + 40] ^= 0x10;
    fs.overwrite(last, b).expect("damage");
    expect_corrupt(&fs, &o, last, victim as u64, "inside the durable extent");
}

#[test]
fn flipped_byte_in_a_sealed_segment_fails_the_open() {
    let (fs, o, segs, _) = fixture();
    let (_, first) = &segs[0];
    let mut b = fs.read(first).expect("read");
    let ends = frame_ends(&b);
    let last_frame = ends[ends.len() - 2];
    b[last_frame + 33] ^= 1;
    fs.overwrite(first, b).expect("damage");
    expect_corrupt(&fs, &o, first, last_frame as u64, "sealed segment");
}

#[test]
fn zero_filled_tail_is_a_clean_end() {
    let (fs, o, segs, tails) = fixture();
    let (_, last) = segs.last().expect("last");
    let mut b = fs.read(last).expect("read");
    let len = b.len();
    b.resize(len + 5000, 0);
    fs.overwrite(last, b).expect("zeros");
    let store = open_sim(&fs, &o).expect("open");
    assert_eq!(stat(&store, "recovery_dropped_bytes"), 0.0);
    let mut s = store.session().expect("session");
    assert_eq!(verify(s.as_mut(), 3), tails);
    drop(s);
    drop(store);
    assert_eq!(
        fs.read(last).expect("read").len(),
        len,
        "zeros beyond the segment size are tidied away; the segment stays allocated"
    );
}

#[test]
fn garbage_tail_is_truncated_and_reported() {
    let (fs, o, segs, tails) = fixture();
    let (_, last) = segs.last().expect("last");
    let mut b = fs.read(last).expect("read");
    // Garbage right after the last frame, then the allocated zeros.
    let len = *frame_ends(&b).last().expect("ends");
    b.resize(b.len().max(len + 77), 0);
    b[len..len + 77].fill(0xEE);
    fs.overwrite(last, b).expect("garbage");
    let store = open_sim(&fs, &o).expect("open");
    assert_eq!(stat(&store, "recovery_dropped_bytes"), 77.0);
    let mut s = store.session().expect("session");
    assert_eq!(verify(s.as_mut(), 3), tails);
    drop(s);
    drop(store);
    let after = fs.read(last).expect("read");
    assert_eq!(
        after.len() as u64,
        o.segment_size.max(len as u64),
        "allocated whole again"
    );
    assert!(after[len..].iter().all(|&x| x == 0), "the garbage is gone");
}

#[test]
fn missing_and_duplicate_segments_fail_the_open() {
    let (fs, o, segs, _) = fixture();
    let missing = fs.fork();
    missing.remove_file(&segs[1].1).expect("remove");
    let e = open_sim(&missing, &o).expect_err("missing");
    assert!(
        e.to_string()
            .contains(&format!("missing segment {}", segs[1].0)),
        "{e}"
    );

    let dup = fs.fork();
    let copy = dir().join(format!("{}.wal", segs[2].0));
    assert_ne!(copy, segs[2].1);
    let f = dup
        .open(&copy, crate::store::fs::OpenMode::CreateNew)
        .expect("create");
    crate::store::fs::write_all_at(f.as_ref(), &fs.read(&segs[2].1).expect("read"), 0)
        .expect("write");
    let e = open_sim(&dup, &o).expect_err("duplicate");
    assert!(
        e.to_string()
            .contains(&format!("duplicate segment {}", segs[2].0)),
        "{e}"
    );

    let swapped = fs.fork();
    let b1 = fs.read(&segs[1].1).expect("read");
    swapped.overwrite(&segs[2].1, b1).expect("swap");
    let e = open_sim(&swapped, &o).expect_err("wrong id");
    assert!(
        e.to_string().contains(&format!(
            "file of segment {} holds segment {}",
            segs[2].0, segs[1].0
        )),
        "{e}"
    );
}

#[test]
fn bit_flip_sweep_never_returns_a_corrupt_record() {
    // Every byte of the last segment and of the first sealed one, one bit
    // flipped at a time: the open either fails naming the segment, or
    // returns a prefix of the original records, all intact.
    let (fs, o, segs, tails) = fixture();
    for (seg_i, path) in [
        (0usize, &segs[0].1),
        (segs.len() - 1, &segs[segs.len() - 1].1),
    ] {
        let orig = fs.read(path).expect("read");
        for byte in 0..orig.len() {
            let fork = fs.fork();
            let mut b = orig.clone();
            b[byte] ^= 1 << (byte % 8);
            fork.overwrite(path, b).expect("flip");
            match open_sim(&fork, &o) {
                Err(StoreError::Corrupt { path: p, .. }) => assert_eq!(&p, path, "byte {byte}"),
                Err(e) => panic!("segment {seg_i} byte {byte}: unexpected error {e}"),
                Ok(store) => {
                    assert!(
                        seg_i == segs.len() - 1,
                        "damage in a sealed segment must fail the open (byte {byte})"
                    );
                    let mut s = store.session().expect("session");
                    let got = verify(s.as_mut(), 3);
                    for (g, t) in got.iter().zip(tails) {
                        assert!(*g <= t, "byte {byte}: no record appears from nowhere");
                    }
                }
            }
        }
    }
}

// ------------------------------------------------------------ faults

fn faulty(fs: &SimFs) -> FaultyIo {
    FaultyIo::new(Arc::new(fs.clone()))
}

fn rec(b: &[u8]) -> [Record<'_>; 1] {
    [Record {
        keys: Keys::None,
        body: b,
    }]
}

#[test]
fn fsync_failure_poisons_and_reopen_recovers_the_durable_prefix() {
    let fs = SimFs::new();
    let io = faulty(&fs);
    let o = opts(4096, WalSync::Always);
    let store = WalStore::open_with_io(&dir(), &o, Arc::new(io.clone())).expect("open");
    let mut s = store.session().expect("session");
    for i in 0..5u8 {
        s.append(1, &rec(&[i; 10])).expect("append");
    }
    io.fail_sync(1, libc::EIO);
    let e = s.append(1, &rec(b"lost")).expect_err("fsync fails");
    assert!(
        matches!(
            &e,
            StoreError::Io {
                op: "fdatasync",
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("Input/output error"), "{e}");
    // The fault fired once; a retried fsync would "succeed". It must not be
    // retried: everything after is refused.
    let e = s.append(1, &rec(b"after")).expect_err("poisoned");
    assert!(matches!(e, StoreError::Poisoned { .. }), "{e}");
    assert!(matches!(s.sync(), Err(StoreError::Poisoned { .. })));
    assert!(matches!(s.trim(1, 1), Err(StoreError::Poisoned { .. })));
    drop(s);
    assert!(matches!(
        Box::new(store).close(),
        Err(StoreError::Poisoned { .. })
    ));
    fs.power_loss();
    let store = open_sim(&fs, &o).expect("reopen");
    let mut s = store.session().expect("session");
    assert_eq!(
        s.bounds(1).expect("bounds").tail,
        5,
        "exactly the acknowledged records"
    );
    assert_eq!(s.append(1, &rec(b"again")).expect("append after reopen"), 5);
}

#[test]
fn fsync_failure_under_group_commit_fails_every_waiter_of_that_sync() {
    let fs = SimFs::new();
    let io = faulty(&fs);
    let o = WalOptions {
        sync_interval: Duration::from_millis(20),
        ..opts(1 << 20, WalSync::Batch)
    };
    let store = WalStore::open_with_io(&dir(), &o, Arc::new(io.clone())).expect("open");
    io.fail_sync(3, libc::EIO);
    let store_ref: &dyn Store = &store;
    let acked: Vec<Vec<u64>> = std::thread::scope(|sc| {
        let hs: Vec<_> = (0..4u64)
            .map(|t| {
                sc.spawn(move || {
                    let mut s = store_ref.session().expect("session");
                    let mut acked = Vec::new();
                    let mut failed = false;
                    for i in 0..20u64 {
                        match s.append(t, &rec(&i.to_le_bytes())) {
                            Ok(off) => {
                                assert!(!failed, "an append was acknowledged after a failure");
                                acked.push(off);
                            }
                            Err(_) => failed = true,
                        }
                    }
                    assert!(failed, "every writer sees the poison");
                    acked
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().expect("thread")).collect()
    });
    assert!(stat(&store, "group_commit_records") >= 1.0);
    drop(store);
    fs.power_loss();
    let store = open_sim(&fs, &o).expect("reopen");
    let mut s = store.session().expect("session");
    for (t, acked) in acked.iter().enumerate() {
        let tail = s.bounds(t as u64).expect("bounds").tail;
        assert!(
            acked.len() as u64 <= tail,
            "writer {t}: acknowledged records survive"
        );
        assert_eq!(acked, &(0..acked.len() as u64).collect::<Vec<_>>());
    }
}

#[test]
fn enospc_on_write_is_a_clear_error_and_poisons() {
    let fs = SimFs::new();
    let io = faulty(&fs);
    let o = opts(4096, WalSync::Never);
    let store = WalStore::open_with_io(&dir(), &o, Arc::new(io.clone())).expect("open");
    let mut s = store.session().expect("session");
    s.append(2, &rec(b"fine")).expect("append");
    io.fail_write(1, libc::ENOSPC);
    let e = s.append(2, &rec(b"full")).expect_err("enospc");
    let msg = e.to_string();
    assert!(msg.starts_with("write /log/"), "{msg}");
    assert!(
        msg.contains(".wal") && msg.contains("No space left on device"),
        "{msg}"
    );
    assert!(matches!(
        s.append(2, &rec(b"x")),
        Err(StoreError::Poisoned { .. })
    ));
    drop(s);
    drop(store);
    let store = open_sim(&fs, &o).expect("reopen");
    assert_eq!(store.session().expect("s").bounds(2).expect("b").tail, 1);
}

#[test]
fn enospc_while_creating_a_segment_names_the_operation() {
    let fs = SimFs::new();
    let io = faulty(&fs);
    let o = opts(256, WalSync::Never);
    let store = WalStore::open_with_io(&dir(), &o, Arc::new(io.clone())).expect("open");
    let mut s = store.session().expect("session");
    let b = [7u8; 150];
    s.append(1, &rec(&b)).expect("append");
    // The next append rolls: the header write of the new segment fails.
    io.fail_write(1, libc::ENOSPC);
    let e = s.append(1, &rec(&b)).expect_err("roll fails");
    assert!(
        e.to_string()
            .starts_with("write segment header /log/00000000000000000002.wal"),
        "{e}"
    );
    drop(s);
    drop(store);
    let store = open_sim(&fs, &o).expect("reopen");
    let mut s = store.session().expect("session");
    assert_eq!(s.bounds(1).expect("bounds").tail, 1);
    assert_eq!(
        s.append(1, &rec(&b)).expect("append"),
        1,
        "the empty torn segment is replaced"
    );
}

#[test]
fn short_writes_are_completed() {
    let fs = SimFs::new();
    let io = faulty(&fs);
    io.short_writes(Some(7));
    let o = opts(2048, WalSync::Always);
    let store = WalStore::open_with_io(&dir(), &o, Arc::new(io.clone())).expect("open");
    let mut s = store.session().expect("session");
    let tails = fill(s.as_mut(), 40);
    assert_eq!(verify(s.as_mut(), 3), tails);
    assert!(io.counts().0 > 200, "writes really were split");
    drop(s);
    drop(store);
    fs.power_loss();
    let store = open_sim(&fs, &o).expect("reopen");
    assert_eq!(verify(store.session().expect("s").as_mut(), 3), tails);
}

// ------------------------------------------------------------ power loss

#[test]
fn power_loss_under_always_loses_nothing_acknowledged() {
    for preallocate in [false, true] {
        let fs = SimFs::new();
        let o = WalOptions {
            preallocate,
            ..opts(1024, WalSync::Always)
        };
        let store = open_sim(&fs, &o).expect("open");
        let mut s = store.session().expect("session");
        let tails = fill(s.as_mut(), 100);
        fs.power_loss();
        drop(s);
        drop(store);
        let store = open_sim(&fs, &o).expect("reopen");
        assert_eq!(
            verify(store.session().expect("s").as_mut(), 3),
            tails,
            "preallocate: {preallocate}"
        );
    }
}

#[test]
fn preallocated_segments_on_disk_are_zero_filled_ahead_and_sealed_to_their_frames() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let o = WalOptions {
        preallocate: true,
        ..opts(16 << 10, WalSync::Always)
    };
    let store = WalStore::open(tmp.path(), &o).expect("open");
    let mut s = store.session().expect("session");
    let tails = fill(s.as_mut(), 600);
    assert!(stat(&store, "segments_created") >= 3.0, "the log rolled");
    assert!(
        stat(&store, "segments_preallocated") >= stat(&store, "segments_created"),
        "every segment came from the preparer"
    );
    drop(s);
    Box::new(store).close().expect("close");
    let names: Vec<String> = std::fs::read_dir(tmp.path())
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        !names.iter().any(|n| n.ends_with(".tmp")),
        "a closed log holds no prepared file: {names:?}"
    );
    let mut segs: Vec<PathBuf> = names
        .iter()
        .filter(|n| n.ends_with(".wal"))
        .map(|n| tmp.path().join(n))
        .collect();
    segs.sort();
    let (last, sealed) = segs.split_last().expect("segments");
    for p in sealed {
        let b = std::fs::read(p).expect("read");
        assert_eq!(
            frame_ends(&b).last().copied(),
            Some(b.len()),
            "sealed {p:?} ends at its last frame"
        );
    }
    assert_eq!(
        std::fs::metadata(last).expect("stat").len(),
        16 << 10,
        "the active segment keeps its written zeros"
    );
    let store = WalStore::open(tmp.path(), &o).expect("reopen");
    assert_eq!(verify(store.session().expect("s").as_mut(), 3), tails);
}

#[test]
fn power_loss_under_batch_loses_nothing_acknowledged() {
    let fs = SimFs::new();
    let o = opts(1024, WalSync::Batch);
    let store = open_sim(&fs, &o).expect("open");
    let mut s = store.session().expect("session");
    let tails = fill(s.as_mut(), 30);
    fs.power_loss();
    drop(s);
    drop(store);
    let store = open_sim(&fs, &o).expect("reopen");
    assert_eq!(verify(store.session().expect("s").as_mut(), 3), tails);
}

#[test]
fn power_loss_under_never_drops_unsynced_records() {
    let fs = SimFs::new();
    let o = opts(1 << 20, WalSync::Never);
    let store = open_sim(&fs, &o).expect("open");
    let mut s = store.session().expect("session");
    fill(s.as_mut(), 10);
    s.sync().expect("sync");
    let synced = verify(s.as_mut(), 3);
    let tails = fill_more(s.as_mut(), &synced);
    assert!(tails.iter().zip(&synced).all(|(t, s)| t > s));
    fs.power_loss();
    drop(s);
    drop(store);
    let store = open_sim(&fs, &o).expect("reopen");
    assert_eq!(
        verify(store.session().expect("s").as_mut(), 3),
        synced,
        "exactly the records covered by the explicit sync survive"
    );
}

fn fill_more(s: &mut dyn Session, tails: &[u64]) -> Vec<u64> {
    let mut out = tails.to_vec();
    for (stream, t) in out.iter_mut().enumerate() {
        let stream = stream as u64;
        for _ in 0..3 {
            s.append(
                stream,
                &[Record {
                    keys: Keys::Pair(stream, *t),
                    body: &body(stream, *t),
                }],
            )
            .expect("append");
            *t += 1;
        }
    }
    out
}

/// A real-file log under `sync: batch` with group-commit window `window`.
fn open_batch(window: Duration) -> (tempfile::TempDir, WalStore) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let o = WalOptions {
        sync_interval: window,
        ..opts(1 << 20, WalSync::Batch)
    };
    let store = WalStore::open(tmp.path(), &o).expect("open");
    (tmp, store)
}

/// `writers` threads, released together, each append `appends` one-record
/// batches to its own stream; returns how long they took.
fn append_from_writers(store: &WalStore, writers: u64, appends: u64) -> Duration {
    let barrier = std::sync::Barrier::new(writers as usize);
    let start = std::time::Instant::now();
    std::thread::scope(|sc| {
        for t in 0..writers {
            let barrier = &barrier;
            sc.spawn(move || {
                let mut s = store.session().expect("session");
                barrier.wait();
                for i in 0..appends {
                    s.append(t, &rec(&i.to_le_bytes())).expect("append");
                }
            });
        }
    });
    start.elapsed()
}

#[test]
fn group_commit_shares_fsyncs_between_writers() {
    let (_tmp, store) = open_batch(Duration::from_millis(30));
    append_from_writers(&store, 4, 3);
    let per = stat(&store, "group_commit_records");
    assert!(
        per > 1.0,
        "a 30 ms window with 4 writers shares fsyncs ({per} records per fsync)"
    );
    assert_eq!(stat(&store, "records"), 12.0);
    assert!(stat(&store, "fsync_nanos") > 0.0);
}

#[test]
fn complete_groups_never_wait_out_the_window() {
    // A 10 s window: every group of the 4 writers is complete long before
    // it, and the appender that completes a group syncs at once. (Nothing
    // else may block a writer here: one stuck elsewhere, say on a barrier,
    // leaves the others' group incomplete until the window passes.)
    let (_tmp, store) = open_batch(Duration::from_secs(10));
    let took = append_from_writers(&store, 4, 50);
    assert!(
        took < Duration::from_secs(5),
        "200 appends in complete groups took {took:?}"
    );
    assert_eq!(stat(&store, "records"), 200.0);
    let per = stat(&store, "group_commit_records");
    assert!(per > 2.0, "groups of up to 4 ({per} records per fsync)");
    // Issue 29: the report says the groups filled before the interval.
    assert!(
        stat(&store, "group_commits_full") >= 1.0,
        "complete groups are counted as full"
    );
}

#[test]
fn the_window_bounds_the_wait_for_an_idle_writer() {
    // Two sessions have appended; only one goes on. Its group never
    // completes, so it syncs when the window passes — not before, not never.
    let (_tmp, store) = open_batch(Duration::from_secs(2));
    let mut a = store.session().expect("session");
    let mut b = store.session().expect("session");
    a.append(1, &rec(b"a")).expect("append");
    b.append(2, &rec(b"b")).expect("append");
    let start = std::time::Instant::now();
    a.append(1, &rec(b"again")).expect("append");
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(1900) && took < Duration::from_secs(20),
        "a lone append among two writers waits out the 2 s window ({took:?})"
    );
    assert_eq!(
        stat(&store, "group_commits_full"),
        1.0,
        "the group that waited out the window is not full; only the first (both writers waiting) was"
    );
    drop(b);
    // With the idle writer gone, a lone writer syncs at once.
    let start = std::time::Instant::now();
    a.append(1, &rec(b"alone")).expect("append");
    let took = start.elapsed();
    assert!(
        took < Duration::from_secs(1),
        "a lone writer syncs at once ({took:?})"
    );
}

#[test]
fn trim_many_writes_the_trim_file_once_for_every_stream() {
    // 16 streams trimmed in one call: one trim file (its fsync and the
    // directory's), every point applied, and durable across a power loss.
    let fs = SimFs::new();
    let o = opts(4096, WalSync::Always);
    let store = open_sim(&fs, &o).expect("open");
    let mut s = store.session().expect("session");
    for stream in 0..16 {
        for _ in 0..10 {
            s.append(stream, &rec(b"record")).expect("append");
        }
    }
    let points: Vec<(u64, Offset)> = (0..16).map(|st| (st, 4 + st % 3)).collect();
    let before = stat(&store, "fsyncs");
    s.trim_many(&points).expect("trim");
    assert_eq!(
        stat(&store, "fsyncs") - before,
        2.0,
        "one trim file for 16 streams"
    );
    // Points that move nothing write nothing.
    s.trim_many(&[(0, 1), (1, 2), (99, 5)]).expect("no-op");
    assert_eq!(stat(&store, "fsyncs") - before, 2.0, "nothing moved");
    drop(s);
    drop(store);
    fs.power_loss();
    let store = open_sim(&fs, &o).expect("reopen");
    let mut s = store.session().expect("session");
    for (stream, point) in points {
        let b = s.bounds(stream).expect("bounds");
        assert_eq!((b.trim_point, b.tail), (point, 10), "stream {stream}");
    }
}

#[test]
fn the_appender_that_completes_a_group_ends_the_gatherers_role() {
    // A gathers (2 s window) and B completes the group: B syncs at once and
    // A returns with it, long before its window. Then B idles: A's next
    // append gathers anew and waits out the window — the finished group
    // left no gatherer behind that would make it wait untimed (forever).
    let (_tmp, store) = open_batch(Duration::from_secs(2));
    let mut a = store.session().expect("session");
    let mut b = store.session().expect("session");
    a.append(1, &rec(b"a")).expect("append");
    b.append(2, &rec(b"b")).expect("append");
    let (took_a, took_b) = std::thread::scope(|sc| {
        let gatherer = sc.spawn(|| {
            let start = std::time::Instant::now();
            a.append(1, &rec(b"gathers")).expect("append");
            start.elapsed()
        });
        std::thread::sleep(Duration::from_millis(200));
        let start = std::time::Instant::now();
        b.append(2, &rec(b"completes")).expect("append");
        let took_b = start.elapsed();
        (gatherer.join().expect("gatherer"), took_b)
    });
    assert!(
        took_b < Duration::from_secs(1),
        "the completing appender syncs at once ({took_b:?})"
    );
    assert!(
        took_a < Duration::from_millis(1500),
        "the gatherer returns with the group it gathered ({took_a:?})"
    );
    let start = std::time::Instant::now();
    a.append(1, &rec(b"gathers again")).expect("append");
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(1900) && took < Duration::from_secs(20),
        "the next group is gathered anew, bounded by the window ({took:?})"
    );
    assert_eq!(stat(&store, "records"), 5.0);
}

#[test]
fn sync_never_starts_writeback_every_mebibyte_and_only_never() {
    // Each 1 MiB written under `never` is handed to the writeback thread
    // (contiguous stretches of the active segment, restarting after a
    // roll); the synced policies sync instead and never ask.
    for sync in [WalSync::Never, WalSync::Always] {
        let fs = SimFs::new();
        let faulty = FaultyIo::new(Arc::new(fs));
        let o = opts(2 << 20, sync);
        let store = WalStore::open_with_io(&dir(), &o, Arc::new(faulty.clone())).expect("open");
        let mut s = store.session().expect("session");
        let body = vec![7u8; 64 << 10];
        // 48 frames of a little over 64 KiB: one roll on the way.
        for _ in 0..48 {
            s.append(1, &rec(&body)).expect("append");
        }
        drop(s);
        drop(store); // joins the writeback thread
        let wb = faulty.writebacks();
        if sync == WalSync::Always {
            assert!(wb.is_empty(), "{wb:?}");
            continue;
        }
        // The writer's positions, replayed: a roll restarts the stretch.
        let frame = super::format::frame_len(&rec(&body)) as u64;
        let header = SEGMENT_HEADER_LEN as u64;
        let (mut pos, mut from, mut expect) = (header, header, Vec::new());
        for _ in 0..48 {
            if pos + frame > o.segment_size {
                (pos, from) = (header, header);
            }
            pos += frame;
            if pos - from >= 1 << 20 {
                expect.push((from, pos - from));
                from = pos;
            }
        }
        assert_eq!(wb, expect);
    }
}

#[test]
fn real_io_round_trip_of_the_io_seam() {
    // The real implementation honours the same contract the simulated one
    // is tested against.
    let tmp = tempfile::tempdir().expect("tempdir");
    let io = RealIo;
    let p = tmp.path().join(file_name(1));
    let f = io
        .open(&p, crate::store::fs::OpenMode::CreateNew)
        .expect("create");
    assert!(
        io.open(&p, crate::store::fs::OpenMode::CreateNew).is_err(),
        "create_new refuses existing"
    );
    crate::store::fs::write_all_at(f.as_ref(), b"abcdef", 0).expect("write");
    f.start_writeback(0, 6).expect("start writeback");
    f.sync_data().expect("sync");
    io.sync_dir(tmp.path()).expect("sync dir");
    assert_eq!(&*f.map(6).expect("map"), b"abcdef");
    assert!(f.map(7).is_err());
    assert_eq!(io.list_dir(tmp.path()).expect("list"), vec![file_name(1)]);
}

// ------------------------------------------------------------ kill -9

/// Set (to `<dir>|<always|batch>`) in the environment of the child process
/// that [`kill9_loop_loses_no_acknowledged_record`] spawns.
const KILL_CHILD_ENV: &str = "LOADLINE_WAL_KILL_CHILD";
/// Crash cycles per sync policy (default 100, as CI runs it; `LOADLINE_WAL_KILL_CYCLES=1000` for a soak run).
const KILL_CYCLES_ENV: &str = "LOADLINE_WAL_KILL_CYCLES";

/// The options of a kill -9 policy: `always`, `batch`, `preallocated`
/// (`always` writing into segments the preallocation thread zero-filled),
/// or `recycled` (`always`, preallocated, 4 KiB segments, a child that
/// trims as it writes, so most segments are recycled files).
fn policy_opts(name: &str) -> WalOptions {
    match name {
        "always" => opts(64 << 10, WalSync::Always),
        "preallocated" => WalOptions {
            preallocate: true,
            ..opts(64 << 10, WalSync::Always)
        },
        "recycled" => WalOptions {
            preallocate: true,
            ..recycling(4096, WalSync::Always, 2)
        },
        _ => opts(64 << 10, WalSync::Batch),
    }
}

/// The child half of [`kill9_loop_loses_no_acknowledged_record`] (the
/// conformance suite's crash writer). Not a test of its own: it only runs
/// when spawned.
#[test]
#[ignore = "child process of kill9_loop_loses_no_acknowledged_record; runs only when spawned by it"]
fn kill9_child_writer() {
    let spec = std::env::var(KILL_CHILD_ENV).expect("spawned by the kill -9 test");
    let (dir, policy) = spec.split_once('|').expect("dir|policy");
    let o = policy_opts(policy);
    if policy == "recycled" {
        conformance::crash_child_writer(
            &|d| Ok(Box::new(Trimming(WalStore::open(d, &o)?))),
            Path::new(dir),
        );
    } else {
        conformance::crash_child_writer(&|d| Ok(Box::new(WalStore::open(d, &o)?)), Path::new(dir));
    }
}

#[test]
fn kill9_loop_loses_no_acknowledged_record() {
    use std::process::{Command, Stdio};
    let cycles: u64 = std::env::var(KILL_CYCLES_ENV)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let exe = std::env::current_exe().expect("test binary");
    for policy in ["always", "batch", "preallocated", "recycled"] {
        let tmp = tempfile::tempdir().expect("tempdir");
        let o = policy_opts(policy);
        let spawn = || {
            Command::new(&exe)
                .args([
                    "--exact",
                    "store::wal::tests::kill9_child_writer",
                    "--ignored",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env(KILL_CHILD_ENV, format!("{}|{policy}", tmp.path().display()))
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn child")
        };
        conformance::check_kill9_durability(
            &|d| Ok(Box::new(WalStore::open(d, &o)?)),
            tmp.path(),
            cycles,
            &spawn,
        );
        if policy == "recycled" {
            // The policy does recycle: a writer like the child's reuses
            // the files its trims kept.
            let store = Trimming(WalStore::open(tmp.path(), &o).expect("open"));
            let mut s = store.session().expect("session");
            // The child's streams keep their last records where the kill
            // left them; trimmed whole, they no longer pin the oldest
            // segments (segments are deleted, and recycled, only from the
            // front), whatever moment the last kill came at.
            for stream in 0..4 {
                let tail = s.bounds(stream).expect("bounds").tail;
                s.trim(stream, tail).expect("trim");
            }
            let big = vec![7u8; 1000];
            for _ in 0..100 {
                s.append(9, &rec(&big)).expect("append");
            }
            assert!(
                stat(&store.0, "segments_recycled") > 0.0,
                "rolls reuse trimmed files"
            );
        }
    }
}

#[test]
fn preallocated_segment_with_a_torn_frame_is_cut_and_preallocated_again() {
    let fs = SimFs::new();
    let o = WalOptions {
        preallocate: true,
        ..opts(8192, WalSync::Always)
    };
    let store = open_sim(&fs, &o).expect("open");
    let mut s = store.session().expect("session");
    let tails = fill(s.as_mut(), 12);
    drop(s);
    Box::new(store).close().expect("close");
    let (_, last) = segment_files(&fs).pop().expect("segment");
    let mut b = fs.read(last.as_path()).expect("read");
    assert_eq!(b.len(), 8192, "preallocated to segment_size");
    let end = *frame_ends(&b).last().expect("ends");
    // A torn frame: a header claiming 500 bytes, then 40 bytes of it.
    let mut torn = vec![0u8; 40];
    torn[0..4].copy_from_slice(&500u32.to_le_bytes());
    torn[8..12].copy_from_slice(&super::format::FRAME_MAGIC.to_le_bytes());
    torn[12] = 1;
    torn[39] = 9;
    b[end..end + 40].copy_from_slice(&torn);
    fs.overwrite(&last, b).expect("tear");
    let store = open_sim(&fs, &o).expect("open");
    assert_eq!(
        stat(&store, "recovery_dropped_bytes"),
        40.0,
        "the torn bytes, not the zeros"
    );
    let mut s = store.session().expect("session");
    assert_eq!(verify(s.as_mut(), 3), tails);
    let b = fs.read(&last).expect("read");
    assert_eq!(b.len(), 8192, "preallocated again");
    assert!(b[end..].iter().all(|&x| x == 0), "the torn bytes are gone");
    let off = s
        .append(
            0,
            &[Record {
                keys: Keys::Pair(0, tails[0]),
                body: &body(0, tails[0]),
            }],
        )
        .expect("append");
    assert_eq!(off, tails[0]);
}

#[test]
fn a_trimmed_log_whose_segments_all_vanished_fails_the_open() {
    let fs = SimFs::new();
    let o = opts(512, WalSync::Always);
    let store = open_sim(&fs, &o).expect("open");
    let mut s = store.session().expect("session");
    let tails = fill(s.as_mut(), 60);
    for (stream, t) in tails.iter().enumerate() {
        s.trim(stream as u64, *t).expect("trim");
    }
    drop(s);
    Box::new(store).close().expect("close");
    let segs = segment_files(&fs);
    let first_live = segs[0].0;
    assert!(first_live > 1, "trims unlinked the first segments");
    for (_, p) in &segs {
        fs.remove_file(p).expect("remove");
    }
    let e = open_sim(&fs, &o).expect_err("missing");
    assert!(
        e.to_string()
            .contains(&format!("missing segment {first_live}")),
        "{e}"
    );
}

#[test]
fn tail_reader_and_trimmer_run_against_a_writer() {
    // A writer rolls small segments, a trimmer unlinks them behind it, and
    // a reader follows the tail: every record the reader gets is intact and
    // in order, and it never gets one below a trim point it has seen.
    let tmp = tempfile::tempdir().expect("tempdir");
    let o = opts(2048, WalSync::Never);
    let store = WalStore::open(tmp.path(), &o).expect("open");
    const N: u64 = 3000;
    std::thread::scope(|sc| {
        let st = &store;
        sc.spawn(move || {
            let mut s = st.session().expect("session");
            for o in 0..N {
                let b = body(5, o);
                s.append(
                    5,
                    &[Record {
                        keys: Keys::Pair(5, o),
                        body: &b,
                    }],
                )
                .expect("append");
            }
        });
        sc.spawn(move || {
            let mut s = st.session().expect("session");
            loop {
                let b = s.bounds(5).expect("bounds");
                s.trim(5, b.tail.saturating_sub(200)).expect("trim");
                if b.tail >= N {
                    break;
                }
                std::thread::yield_now();
            }
        });
        sc.spawn(move || {
            let mut s = st.session().expect("session");
            let mut buf = ReadBuf::default();
            let mut at = 0;
            while at < N {
                let trim_seen = s.bounds(5).expect("bounds").trim_point;
                let next = s.read(5, at, 700, &mut buf).expect("read");
                for (i, r) in buf.records.iter().enumerate() {
                    assert!(
                        r.offset >= at && r.offset >= trim_seen,
                        "no record below the trim point"
                    );
                    assert_eq!(buf.body(i), body(5, r.offset), "offset {}", r.offset);
                    if i > 0 {
                        assert_eq!(r.offset, buf.records[i - 1].offset + 1);
                    }
                }
                at = next.max(at);
            }
        });
    });
    assert!(stat(&store, "segments_deleted") > 10.0);
}

// ------------------------------------------------------------ recycling

fn recycling(segment_size: u64, sync: WalSync, keep: usize) -> WalOptions {
    WalOptions {
        recycle_segments: keep,
        ..opts(segment_size, sync)
    }
}

/// Names of the recycled files waiting in the log directory.
fn recycled_files(io: &dyn Io) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = io
        .list_dir(&dir())
        .expect("list")
        .into_iter()
        .filter(|n| super::recycle::parse_recycle_name(n).is_some())
        .map(|n| dir().join(n))
        .collect();
    v.sort();
    v
}

/// Trims every stream of `s` (0..3) to its tail.
fn trim_all(s: &mut dyn Session) {
    for stream in 0..3 {
        let t = s.bounds(stream).expect("bounds").tail;
        s.trim(stream, t).expect("trim");
    }
}

/// A closed log whose last segment is a recycled file: returns the fs, the
/// options, the last segment's path, the bytes the file held before its
/// reuse (its earlier use's frames) and the tails.
fn recycled_fixture() -> (SimFs, WalOptions, PathBuf, Vec<u8>, [u64; 3]) {
    let fs = SimFs::new();
    let o = recycling(700, WalSync::Never, 1);
    let store = open_sim(&fs, &o).expect("open");
    let mut s = store.session().expect("session");
    for i in 0..40 {
        fill_one(s.as_mut(), i);
    }
    trim_all(s.as_mut());
    let pool = recycled_files(&fs);
    assert_eq!(pool.len(), 1, "one dead segment kept, the others unlinked");
    let old = fs.read(&pool[0]).expect("read recycled");
    assert!(old.len() > 500, "the recycled file holds its old frames");
    let mut i = 40;
    // Until the recycled file is the active segment with a few frames in it.
    while stat(&store, "segments_recycled") < 1.0
        || frame_ends(
            &fs.read(&segment_files(&fs).last().expect("segment").1)
                .expect("read"),
        )
        .len()
            < 4
    {
        fill_one(s.as_mut(), i);
        i += 1;
    }
    assert_eq!(stat(&store, "segments_recycled"), 1.0);
    let tails = [0, 1, 2].map(|st| s.bounds(st).expect("bounds").tail);
    drop(s);
    Box::new(store).close().expect("close");
    let (_, last) = segment_files(&fs).pop().expect("segment");
    let b = fs.read(&last).expect("read");
    let end = *frame_ends(&b).last().expect("ends");
    assert!(
        end < b.len() && b[end..].iter().any(|&x| x != 0),
        "old frames follow the new ones"
    );
    (fs, o, last, old, tails)
}

#[test]
fn trimmed_segments_are_recycled_and_their_records_never_return() {
    let fs = SimFs::new();
    let o = recycling(600, WalSync::Always, 2);
    let store = open_sim(&fs, &o).expect("open");
    let mut s = store.session().expect("session");
    let mut tails = fill(s.as_mut(), 30);
    trim_all(s.as_mut());
    assert_eq!(
        recycled_files(&fs).len(),
        2,
        "pool holds recycle_segments files"
    );
    let created = segment_files(&fs).last().expect("active").0;
    // More appends roll into the recycled files, not into new ones.
    for i in 0..40 {
        fill_one(s.as_mut(), i);
        tails[(i % 3) as usize] += 1 + i % 2;
    }
    assert_eq!(stat(&store, "segments_recycled"), 2.0);
    assert!(recycled_files(&fs).is_empty(), "both reused");
    assert!(segment_files(&fs).last().expect("active").0 > created);
    assert_eq!(verify(s.as_mut(), 3), tails);
    drop(s);
    drop(store);
    // Nothing trimmed reappears after a power loss (and the files waiting
    // in the pool survive a reopen).
    fs.power_loss();
    let store = open_sim(&fs, &o).expect("reopen");
    let mut s = store.session().expect("session");
    assert_eq!(verify(s.as_mut(), 3), tails);
    trim_all(s.as_mut());
    drop(s);
    Box::new(store).close().expect("close");
    let waiting = recycled_files(&fs);
    assert!(!waiting.is_empty(), "trims fill the pool again");
    let store = open_sim(&fs, &o).expect("reopen");
    assert_eq!(
        store.shared.recycler.waiting(),
        waiting.len(),
        "kept across a reopen"
    );
    drop(store);
    // With recycling off, a reopen deletes what waits.
    let off = opts(600, WalSync::Always);
    drop(open_sim(&fs, &off).expect("reopen"));
    assert!(recycled_files(&fs).is_empty());
}

#[test]
fn preallocation_takes_a_recycled_file_before_zero_filling() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let o = WalOptions {
        preallocate: true,
        ..recycling(8192, WalSync::Always, 4)
    };
    let store = WalStore::open(tmp.path(), &o).expect("open");
    let mut s = store.session().expect("session");
    let mut tails = fill(s.as_mut(), 150);
    trim_all(s.as_mut());
    let zero_filled = stat(&store, "segments_preallocated");
    for i in 0..300 {
        fill_one(s.as_mut(), i);
        tails[(i % 3) as usize] += 1 + i % 2;
        if i % 50 == 49 {
            trim_all(s.as_mut());
        }
    }
    assert!(
        stat(&store, "segments_recycled") >= 3.0,
        "rolls reuse trimmed files"
    );
    assert!(
        stat(&store, "segments_preallocated") <= zero_filled + 1.0,
        "no zero-filling while recycled files are there"
    );
    drop(s);
    Box::new(store).close().expect("close");
    let store = WalStore::open(tmp.path(), &o).expect("reopen");
    let mut s = store.session().expect("session");
    assert_eq!(verify(s.as_mut(), 3), tails);
}

#[test]
fn torn_writes_into_a_recycled_segment_recover_the_longest_complete_prefix() {
    // The truncation sweep for a recycled file: a write torn at any byte
    // leaves the file's *old* bytes after the cut, intact old frames
    // included; recovery keeps the complete new frames and never one of
    // the old ones.
    let (fs, o, last, old, tails) = recycled_fixture();
    let bytes = fs.read(&last).expect("read");
    let ends = frame_ends(&bytes);
    let end = *ends.last().expect("ends");
    let id = header_id(&bytes);
    let all_records = stat(&open_sim(&fs.fork(), &o).expect("open"), "recovery_records") as u64;
    let records_before = |cut: usize| -> u64 {
        let mut pos = SEGMENT_HEADER_LEN;
        let mut n = 0;
        while let Ok(h) = check_frame(&bytes[pos..cut], id) {
            n += u64::from(h.count);
            pos += h.len as usize;
        }
        n
    };
    let in_last = records_before(end);
    for cut in SEGMENT_HEADER_LEN..=end {
        let fork = fs.fork();
        let mut torn = bytes[..cut].to_vec();
        torn.extend_from_slice(old.get(cut..).unwrap_or_default());
        fork.overwrite(&last, torn.clone()).expect("tear");
        let store =
            open_sim(&fork, &o).unwrap_or_else(|e| panic!("cut at {cut}: open failed: {e}"));
        assert_eq!(
            stat(&store, "recovery_records") as u64,
            all_records - in_last + records_before(cut),
            "cut at {cut}: the longest complete prefix"
        );
        let keep = *ends.iter().filter(|&&e| e <= cut).max().expect("end");
        assert!(
            stat(&store, "recovery_dropped_bytes") <= (torn.len() - keep) as f64,
            "cut at {cut}"
        );
        let mut s = store.session().expect("session");
        let got = verify(s.as_mut(), 3);
        for (g, t) in got.iter().zip(tails) {
            assert!(*g <= t, "cut at {cut}: no old record comes back");
        }
        // Appends continue, and survive a power loss with the old bytes.
        let off = s
            .append(
                1,
                &[Record {
                    keys: Keys::Pair(1, got[1]),
                    body: &body(1, got[1]),
                }],
            )
            .expect("append");
        assert_eq!(off, got[1], "cut at {cut}: appends continue at the tail");
        s.sync().expect("sync");
        drop(s);
        drop(store);
        fork.power_loss();
        let store = open_sim(&fork, &o).expect("reopen");
        let mut s = store.session().expect("session");
        assert_eq!(verify(s.as_mut(), 3)[1], got[1] + 1, "cut at {cut}");
    }
}

#[test]
fn bit_flip_sweep_of_a_recycled_segment_never_returns_a_corrupt_or_old_record() {
    let (fs, o, last, _, tails) = recycled_fixture();
    let orig = fs.read(&last).expect("read");
    for byte in 0..orig.len() {
        let fork = fs.fork();
        let mut b = orig.clone();
        b[byte] ^= 1 << (byte % 8);
        fork.overwrite(&last, b).expect("flip");
        match open_sim(&fork, &o) {
            Err(StoreError::Corrupt { path, .. }) => assert_eq!(path, last, "byte {byte}"),
            Err(e) => panic!("byte {byte}: unexpected error {e}"),
            Ok(store) => {
                let mut s = store.session().expect("session");
                let got = verify(s.as_mut(), 3);
                for (g, t) in got.iter().zip(tails) {
                    assert!(*g <= t, "byte {byte}: no record appears from nowhere");
                }
            }
        }
    }
}

#[test]
fn a_recycled_sealed_segment_is_cut_to_its_frames() {
    // A sealed segment ends at its last frame, whatever file it was made
    // of: an old frame in it would be damage, so the seal truncates.
    let (fs, o, _, _, _) = recycled_fixture();
    let store = open_sim(&fs, &o).expect("open");
    let mut s = store.session().expect("session");
    for i in 0..30 {
        fill_one(s.as_mut(), i);
    }
    drop(s);
    Box::new(store).close().expect("close");
    for (_, p) in segment_files(&fs).iter().rev().skip(1) {
        let b = fs.read(p).expect("read");
        assert_eq!(
            *frame_ends(&b).last().expect("ends"),
            b.len(),
            "{}",
            p.display()
        );
    }
    // And an old frame appended to a sealed segment fails the open.
    let segs = segment_files(&fs);
    let (_, sealed) = &segs[segs.len() - 2];
    let (_, prev) = &segs[segs.len() - 3];
    let mut b = fs.read(sealed).expect("read");
    let len = b.len();
    let p = fs.read(prev).expect("read");
    let frame_end = frame_ends(&p)[1];
    b.extend_from_slice(&p[SEGMENT_HEADER_LEN..frame_end]);
    fs.overwrite(sealed, b).expect("append old frame");
    expect_corrupt(&fs, &o, sealed, len as u64, "after the seal frame");
}

/// A [`WalStore`] whose sessions trim every stream they appended to, to 8
/// records below its tail, every 4th append: the kill -9 child of the
/// `recycled` policy, so segments die and are reused while it is killed.
struct Trimming(WalStore);

struct TrimmingSession {
    inner: Box<dyn Session>,
    appends: u64,
    streams: std::collections::BTreeSet<u64>,
}

impl Store for Trimming {
    fn capabilities(&self) -> crate::store::api::Capabilities {
        self.0.capabilities()
    }
    fn session(&self) -> Result<Box<dyn Session>, StoreError> {
        Ok(Box::new(TrimmingSession {
            inner: self.0.session()?,
            appends: 0,
            streams: Default::default(),
        }))
    }
    fn stats(&self) -> crate::store::api::StoreStats {
        self.0.stats()
    }
    fn close(self: Box<Self>) -> Result<(), StoreError> {
        Box::new(self.0).close()
    }
}

impl Session for TrimmingSession {
    fn append(&mut self, stream: u64, batch: &[Record<'_>]) -> Result<u64, StoreError> {
        let first = self.inner.append(stream, batch)?;
        self.appends += 1;
        self.streams.insert(stream);
        if self.appends.is_multiple_of(4) {
            for &s in &self.streams {
                let tail = self.inner.bounds(s)?.tail;
                self.inner.trim(s, tail.saturating_sub(8))?;
            }
        }
        Ok(first)
    }
    fn read(
        &mut self,
        stream: u64,
        from: u64,
        max_bytes: usize,
        out: &mut ReadBuf,
    ) -> Result<u64, StoreError> {
        self.inner.read(stream, from, max_bytes, out)
    }
    fn trim(&mut self, stream: u64, up_to: u64) -> Result<(), StoreError> {
        self.inner.trim(stream, up_to)
    }
    fn sync(&mut self) -> Result<(), StoreError> {
        self.inner.sync()
    }
    fn bounds(&mut self, stream: u64) -> Result<crate::store::api::LogBounds, StoreError> {
        self.inner.bounds(stream)
    }
}

#[test]
fn recovery_reads_frames_across_its_read_chunks() {
    // Recovery scans with 1 MiB `pread`s: frames that straddle a chunk
    // boundary (and segments several chunks long) are read whole.
    let tmp = tempfile::tempdir().expect("tempdir");
    let o = opts(3 << 20, WalSync::Never);
    let store = WalStore::open(tmp.path(), &o).expect("open");
    let mut s = store.session().expect("session");
    let mut tails = [0u64; 3];
    let big: Vec<u8> = (0..7919u32).map(|i| (i % 251) as u8).collect();
    for i in 0..3000u64 {
        let stream = i % 3;
        let t = tails[stream as usize];
        // Odd sizes, so frame ends fall anywhere in a chunk.
        let len = 1 + (i * 997) % big.len() as u64;
        let b = &big[..len as usize];
        s.append(
            stream,
            &[Record {
                keys: Keys::Single(t),
                body: b,
            }],
        )
        .expect("append");
        tails[stream as usize] += 1;
    }
    drop(s);
    Box::new(store).close().expect("close");
    let segments = RealIo
        .list_dir(tmp.path())
        .expect("list")
        .iter()
        .filter(|n| parse_file_name(n).is_some())
        .count();
    assert!(
        segments >= 3,
        "several sealed segments, each several chunks long"
    );
    let store = WalStore::open(tmp.path(), &o).expect("reopen");
    assert_eq!(stat(&store, "recovery_records"), 3000.0);
    assert_eq!(stat(&store, "recovery_dropped_bytes"), 0.0);
    let mut s = store.session().expect("session");
    let mut buf = ReadBuf::default();
    for (stream, tail) in tails.iter().enumerate() {
        let mut at = 0;
        while at < *tail {
            at = s.read(stream as u64, at, 1 << 20, &mut buf).expect("read");
            for (i, r) in buf.records.iter().enumerate() {
                let n = r.offset * 3 + stream as u64;
                let len = 1 + (n * 997) % big.len() as u64;
                assert_eq!(
                    buf.body(i),
                    &big[..len as usize],
                    "stream {stream} offset {}",
                    r.offset
                );
            }
        }
    }
}

mod power;
