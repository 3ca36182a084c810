//! `verify: acknowledged`: after a crash and reopen, reads every stream back
//! from its trim point and checks it against what is known — records that
//! survived earlier cycles (or were there before the phase) and records
//! acknowledged in this cycle.
//!
//! A known record must be present with the right CRC32C; the readable log
//! must be a dense prefix (no holes). Records present but never
//! acknowledged are legal (acknowledgement can be lost in flight) and are
//! counted, not failed. After each check the known state becomes what
//! actually survived, so the next cycle appends on top of the truth.
//!
//! It owns no orchestration and no timing (see `crash`).

use std::collections::{BTreeMap, BTreeSet};

use super::acks::Ack;
use crate::store::{ReadBuf, Store, StoreError};

/// Bytes of bodies one verification read asks for.
const READ_BYTES: usize = 4 << 20;

/// What a stream is known to hold: the CRC32C of each record by offset
/// (`None` below the trim point or where nothing is known).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Known {
    streams: BTreeMap<u64, Vec<Option<u32>>>,
}

/// Counts of one verification (or their sums over cycles).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Tally {
    /// Records acknowledged in the cycle that read back intact.
    pub recovered: u64,
    /// Known records (acknowledged, or survivors of earlier cycles) missing.
    pub lost: u64,
    /// Known records present with a different checksum.
    pub corrupt: u64,
    /// Records present that were never acknowledged.
    pub unacknowledged_survivors: u64,
    /// Gaps in a stream's readable offsets.
    pub holes: u64,
    /// Records read back in total.
    pub present: u64,
    /// Known records compared (acknowledged in the cycle, or survivors of
    /// earlier cycles), trimmed ones left out: what the check covered.
    pub checked: u64,
}

impl Tally {
    /// Adds `other` to `self`.
    pub(crate) fn add(&mut self, other: &Tally) {
        self.recovered += other.recovered;
        self.lost += other.lost;
        self.corrupt += other.corrupt;
        self.unacknowledged_survivors += other.unacknowledged_survivors;
        self.holes += other.holes;
        self.present += other.present;
        self.checked += other.checked;
    }
}

impl Known {
    /// Streams with known records.
    pub(crate) fn streams(&self) -> impl Iterator<Item = u64> + '_ {
        self.streams.keys().copied()
    }

    /// Known records in total.
    pub(crate) fn len(&self) -> u64 {
        self.streams
            .values()
            .map(|v| v.iter().filter(|c| c.is_some()).count() as u64)
            .sum()
    }

    /// True when the record at (`stream`, `offset`) is known.
    pub(crate) fn contains(&self, stream: u64, offset: u64) -> bool {
        self.streams
            .get(&stream)
            .and_then(|v| v.get(offset as usize))
            .is_some_and(Option::is_some)
    }
}

/// What one stream reads back as: its trim point, the CRC of each record
/// in offset order, and the number of gaps between offsets.
struct Readback {
    trim_point: u64,
    records: BTreeMap<u64, u32>,
    holes: u64,
}

fn read_stream(store: &dyn Store, stream: u64) -> Result<Readback, StoreError> {
    let mut session = store.session()?;
    let bounds = session.bounds(stream)?;
    let mut buf = ReadBuf::default();
    let mut records = BTreeMap::new();
    let mut holes = 0;
    let mut from = bounds.trim_point;
    let mut expect = bounds.trim_point;
    loop {
        let next = session.read(stream, from, READ_BYTES, &mut buf)?;
        if buf.is_empty() {
            break;
        }
        for i in 0..buf.len() {
            let off = buf.records[i].offset;
            if off != expect {
                holes += 1;
            }
            expect = off + 1;
            records.insert(off, crc32c::crc32c(buf.body(i)));
        }
        if next <= from {
            break;
        }
        from = next;
    }
    Ok(Readback {
        trim_point: bounds.trim_point,
        records,
        holes,
    })
}

/// Reads `streams` (plus every stream `known` or `acks` mention) back from
/// `store` and checks them; returns the counts and the new known state
/// (what survived).
pub(crate) fn verify(
    store: &dyn Store,
    streams: impl IntoIterator<Item = u64>,
    known: &Known,
    acks: &[Ack],
) -> Result<(Tally, Known), StoreError> {
    let mut all: BTreeSet<u64> = streams.into_iter().collect();
    all.extend(known.streams());
    all.extend(acks.iter().map(|a| a.stream));
    // Expected content: earlier survivors, overlaid by this cycle's acks.
    let mut expected: BTreeMap<u64, BTreeMap<u64, (u32, bool)>> = BTreeMap::new();
    for (s, crcs) in &known.streams {
        let e = expected.entry(*s).or_default();
        for (off, crc) in crcs.iter().enumerate() {
            if let Some(c) = crc {
                e.insert(off as u64, (*c, false));
            }
        }
    }
    for a in acks {
        expected
            .entry(a.stream)
            .or_default()
            .insert(a.offset, (a.crc, true));
    }
    let mut tally = Tally::default();
    let mut after = Known::default();
    for s in all {
        let back = read_stream(store, s)?;
        tally.holes += back.holes;
        tally.present += back.records.len() as u64;
        let want = expected.remove(&s).unwrap_or_default();
        for (off, (crc, new)) in &want {
            if *off < back.trim_point {
                continue; // trimmed by the phase's own trimmer: gone by design
            }
            tally.checked += 1;
            match back.records.get(off) {
                Some(c) if c == crc => tally.recovered += u64::from(*new),
                Some(_) => tally.corrupt += 1,
                None => tally.lost += 1,
            }
        }
        tally.unacknowledged_survivors += back
            .records
            .keys()
            .filter(|o| !want.contains_key(o))
            .count() as u64;
        if let Some(last) = back.records.keys().next_back() {
            let mut crcs = vec![None; *last as usize + 1];
            for (off, crc) in &back.records {
                crcs[*off as usize] = Some(*crc);
            }
            after.streams.insert(s, crcs);
        }
    }
    Ok((tally, after))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Keys, MemoryStore, Record};

    fn append(store: &dyn Store, stream: u64, bodies: &[&[u8]]) -> Vec<Ack> {
        let mut s = store.session().unwrap();
        let recs: Vec<Record<'_>> = bodies
            .iter()
            .map(|b| Record {
                keys: Keys::None,
                body: b,
            })
            .collect();
        let first = s.append(stream, &recs).unwrap();
        bodies
            .iter()
            .zip(first..)
            .map(|(b, offset)| Ack {
                stream,
                offset,
                crc: crc32c::crc32c(b),
            })
            .collect()
    }

    #[test]
    fn intact_records_are_recovered_and_extra_ones_are_survivors() {
        let store = MemoryStore::new();
        let mut acks = append(&store, 0, &[b"a", b"b"]);
        append(&store, 0, &[b"never acknowledged"]);
        acks.extend(append(&store, 2, &[b"c"]));
        let (t, after) = verify(&store, 0..3, &Known::default(), &acks).unwrap();
        assert_eq!(t.recovered, 3);
        assert_eq!(t.checked, 3);
        assert_eq!((t.lost, t.corrupt, t.holes), (0, 0, 0));
        assert_eq!(t.unacknowledged_survivors, 1);
        assert_eq!(after.len(), 4, "survivors become known");
    }

    #[test]
    fn missing_and_changed_records_are_lost_and_corrupt() {
        let store = MemoryStore::new();
        let mut acks = append(&store, 0, &[b"a", b"b"]);
        acks[1].crc ^= 1; // the store returns other bytes than acknowledged
        acks.push(Ack {
            stream: 0,
            offset: 2,
            crc: 7,
        }); // acknowledged but never stored
        let (t, _) = verify(&store, [0], &Known::default(), &acks).unwrap();
        assert_eq!((t.recovered, t.corrupt, t.lost), (1, 1, 1));
    }

    #[test]
    fn earlier_survivors_that_vanish_are_lost_but_not_recovered_again() {
        let store = MemoryStore::new();
        let acks = append(&store, 0, &[b"a", b"b"]);
        let (_, known) = verify(&store, [0], &Known::default(), &acks).unwrap();
        let (t, _) = verify(&store, [0], &known, &[]).unwrap();
        assert_eq!((t.recovered, t.lost), (0, 0), "nothing new, nothing lost");
        assert_eq!(t.checked, 2, "the survivors were checked again");
        let (t, _) = verify(&MemoryStore::new(), [0], &known, &[]).unwrap();
        assert_eq!(t.lost, 2, "a fresh store lost both");
    }
}
