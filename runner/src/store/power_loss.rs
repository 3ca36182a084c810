//! The power-loss part of the conformance suite ([`check_power_loss`],
//! re-exported by [`conformance`](super::conformance)): seeded crash points
//! on a simulated disk that persists unsynced pages out of order, for
//! stores that can be opened on it
//! ([`Capabilities::power_loss`](super::Capabilities::power_loss)).
//!
//! A real power cut does not lose unsynced writes whole: page-cache
//! writeback persists some of them, in any order, and a page may be torn.
//! [`SimFs::reordering`] does that, and [`SimFs::crash_after`] cuts the
//! power at an operation drawn from the seed — inside a group commit, a
//! segment roll, a trim or a recovery. After each cut the store must open
//! (a power loss never damages what was synced, so a refusal is a refusal
//! of damage that was all unacknowledged) with every durable record intact,
//! each stream a dense prefix.
//!
//! It owns the check only; the simulated file system is the WAL's I/O seam.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::SimFs;
use super::api::{Keys, Offset, ReadBuf, Record, Store, StoreError};

/// Opens the store under check on a simulated disk (always the same
/// directory of it): called again after every power loss.
pub type SimOpenFn<'a> = &'a dyn Fn(&SimFs) -> Result<Box<dyn Store>, StoreError>;

/// What [`check_power_loss`] did, for callers that assert its coverage.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct PowerLossSweep {
    /// Simulated disks (seeds) tried.
    pub trials: u64,
    /// Power losses (while writing, or during a reopen), each followed by
    /// a reopen that had to succeed.
    pub power_losses: u64,
    /// Durable records checked after reopens (counted once per reopen).
    pub durable_checked: u64,
    /// Records found beyond the durable ones (written, not yet durable,
    /// and kept by the reordering disk).
    pub survivors: u64,
    /// Frames the store reported cutting after damage on reopen (its
    /// `recovery_cut_frames` statistic; 0 for stores without it).
    pub cut_frames: f64,
}

/// Streams the writers use (one each).
const STREAMS: u64 = 3;
/// Power losses per simulated disk.
const CYCLES: u64 = 2;

/// Runs one trial per seed in `seeds`: on a fresh [`SimFs::reordering`]
/// disk, `CYCLES` times: open with `open`, check, let 1–3 writers append
/// small batches (and sync and trim now and then) until the power is cut
/// at an operation drawn from the seed; then open and check once more.
///
/// Durable records are those appended before a successful
/// [`Session::sync`](super::Session::sync) returned and, when
/// `acks_durable` (the store promises that an acknowledged append is
/// durable, as the WAL under `sync: always` or `batch`), every acknowledged
/// append. Writers run on threads, so a seed fixes the crash point and the
/// disk's choices but not the interleaving; the failure message names it.
///
/// # Panics
///
/// When a reopen fails, a durable record is missing or damaged, or a
/// stream has a hole — naming the seed and cycle.
pub fn check_power_loss(
    open: SimOpenFn<'_>,
    seeds: std::ops::Range<u64>,
    acks_durable: bool,
) -> PowerLossSweep {
    let mut sweep = PowerLossSweep::default();
    for seed in seeds {
        trial(open, seed, acks_durable, &mut sweep);
        sweep.trials += 1;
    }
    sweep
}

fn trial(open: SimOpenFn<'_>, seed: u64, acks_durable: bool, sweep: &mut PowerLossSweep) {
    let fs = SimFs::reordering(seed);
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5EED_0FC0_FFEE);
    let mut durable = [0 as Offset; STREAMS as usize];
    for cycle in 0..=CYCLES {
        // Now and then the power is cut during the reopen itself (the
        // recovery's own writes: cuts, removals, syncs); the next reopen
        // must still find every durable record.
        let before = fs.power_losses();
        if cycle > 0 && rng.random_bool(0.25) {
            fs.crash_after(rng.random_range(1..=4));
        }
        let first = open(&fs);
        // Disarmed before checking: a store's background I/O (a
        // preallocation thread) must not cut the power under the reads.
        fs.cancel_crash();
        let store = match first {
            Ok(s) if fs.power_losses() == before => s,
            Err(e) if fs.power_losses() == before => {
                panic!("power loss: seed {seed}, cycle {cycle}: the store did not reopen: {e}")
            }
            // The power was cut during the reopen (or right after it).
            other => {
                drop(other);
                sweep.power_losses += 1;
                open(&fs).unwrap_or_else(|e| {
                    panic!("power loss: seed {seed}, cycle {cycle}: the store did not reopen after a power loss during recovery: {e}")
                })
            }
        };
        sweep.cut_frames += store
            .stats()
            .values
            .get("recovery_cut_frames")
            .copied()
            .unwrap_or(0.0);
        let tails = check(store.as_ref(), &durable, seed, cycle, sweep);
        if cycle == CYCLES {
            break;
        }
        let writers = 1 + rng.random_range(0..STREAMS);
        fs.crash_after(rng.random_range(1..=160));
        let losses = fs.power_losses();
        let store = store.as_ref();
        let results: Vec<Offset> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..writers)
                .map(|stream| {
                    let tail = tails[stream as usize];
                    let known = durable[stream as usize];
                    let wseed = rng.random::<u64>();
                    scope.spawn(move || write(store, stream, tail, known, acks_durable, wseed))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| panic!("power loss: seed {seed}: a writer panicked"))
                })
                .collect()
        });
        for (stream, d) in results.into_iter().enumerate() {
            durable[stream] = durable[stream].max(d);
        }
        // Writers stop only on an error: normally the cut; if another error
        // stopped them first, the power is cut here.
        if fs.power_losses() == losses {
            fs.power_loss();
        }
        sweep.power_losses += 1;
    }
}

/// One writer on `stream` (whose tail is `tail`): appends until an error
/// (the power cut), checking dense offsets; returns the durable tail.
fn write(
    store: &dyn Store,
    stream: u64,
    mut tail: Offset,
    mut durable: Offset,
    acks_durable: bool,
    seed: u64,
) -> Offset {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let Ok(mut s) = store.session() else {
        return durable;
    };
    loop {
        let n = rng.random_range(1..=3u64);
        let bodies: Vec<Vec<u8>> = (tail..tail + n).map(|o| sized_body(stream, o)).collect();
        let batch: Vec<Record<'_>> = bodies
            .iter()
            .zip(tail..)
            .map(|(b, o)| Record {
                keys: Keys::Pair(stream, o),
                body: b,
            })
            .collect();
        match s.append(stream, &batch) {
            Ok(first) => {
                assert_eq!(
                    first, tail,
                    "power loss: stream {stream}: append returned offset {first}, expected the tail {tail}"
                );
                tail += n;
                if acks_durable {
                    durable = tail;
                }
            }
            Err(_) => return durable,
        }
        match rng.random_range(0..8u8) {
            0 => match s.sync() {
                Ok(()) => durable = tail,
                Err(_) => return durable,
            },
            1 if durable > 2 && s.trim(stream, durable / 2).is_err() => return durable,
            _ => {}
        }
    }
}

/// Checks every stream of `store` against the durable tails; returns the
/// tails found.
fn check(
    store: &dyn Store,
    durable: &[Offset],
    seed: u64,
    cycle: u64,
    sweep: &mut PowerLossSweep,
) -> Vec<Offset> {
    let mut s = store
        .session()
        .unwrap_or_else(|e| panic!("power loss: seed {seed}, cycle {cycle}: session: {e}"));
    let mut buf = ReadBuf::default();
    let mut tails = Vec::new();
    for (stream, &want) in (0..STREAMS).zip(durable) {
        let b = s
            .bounds(stream)
            .unwrap_or_else(|e| panic!("power loss: seed {seed}, cycle {cycle}: bounds: {e}"));
        assert!(
            b.tail >= want,
            "durability: power loss seed {seed}, cycle {cycle}: stream {stream} lost durable records (tail {}, durable up to {want})",
            b.tail
        );
        let mut at = b.trim_point;
        while at < b.tail {
            let next = s.read(stream, at, 1 << 20, &mut buf).unwrap_or_else(|e| {
                panic!(
                    "power loss: seed {seed}, cycle {cycle}: read of stream {stream} at {at}: {e}"
                )
            });
            assert!(
                !buf.is_empty(),
                "durability: power loss seed {seed}, cycle {cycle}: hole in stream {stream} at {at}"
            );
            for (i, r) in buf.records.iter().enumerate() {
                assert_eq!(
                    (r.offset, r.keys, buf.body(i)),
                    (
                        at + i as u64,
                        Keys::Pair(stream, r.offset),
                        sized_body(stream, r.offset).as_slice()
                    ),
                    "durability: power loss seed {seed}, cycle {cycle}: stream {stream} offset {} is damaged",
                    r.offset
                );
            }
            at = next;
        }
        sweep.durable_checked += want.saturating_sub(b.trim_point);
        sweep.survivors += b.tail - want.max(b.trim_point).min(b.tail);
        tails.push(b.tail);
    }
    tails
}

/// The body written at (`stream`, `offset`): up to 400 bytes (so that
/// frames of one group commit span sectors and pages), some empty.
fn sized_body(stream: u64, offset: Offset) -> Vec<u8> {
    let len = usize::try_from((offset * 37 + stream * 11) % 401).unwrap_or(0);
    body(stream, offset, len)
}

/// The body the suite writes at (`stream`, `offset`): recognisable, of a
/// length that varies with the offset (including empty bodies).
pub fn body(stream: u64, offset: Offset, len: usize) -> Vec<u8> {
    let seed =
        stream.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ offset.wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
    (0..len)
        .map(|i| (seed.rotate_left((i % 64) as u32) as u8) ^ (i as u8))
        .collect()
}
