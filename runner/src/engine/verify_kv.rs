//! `verify: acknowledged` for key-value writes: after a crash and reopen,
//! reads back every key the cycle's writers put or deleted (and every key
//! earlier cycles checked) and judges it as a register (Jepsen's register
//! semantics):
//!
//! - The key must hold the value of its **last acknowledged** write — the
//!   value put, or nothing after a delete. Writes acknowledged concurrently
//!   (one began before the other was acknowledged) are each a legal last.
//! - A write **in flight** at the crash (begun, never acknowledged), or one
//!   begun after the last acknowledged write began, may have landed: its
//!   value is legal too, and the key counts as *indeterminate*.
//! - Anything else is a failure: an older value, or none where a put was
//!   acknowledged, is **lost**; a value no write produced is **corrupt**.
//!
//! Values are compared by CRC32C. Each key counts once, under the kind of
//! its last acknowledged write (`put` or `delete`); keys only in-flight
//! writes touched are not acknowledged and only fail when they hold a
//! third value. A key's value before the phase is known when earlier cycles
//! read it, or when no earlier phase wrote key-value data to the target
//! (absent); otherwise an unexplained value is counted lost — an older
//! value, most likely, and a failure either way.
//!
//! It owns no orchestration and no timing (see `crash`); log records are
//! checked by `verify`.

use std::collections::BTreeMap;

use super::acks::KvEvent;
use crate::store::{Store, StoreError};

/// Which op a key's last acknowledged write was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WriteKind {
    /// A `put`.
    Put,
    /// A `delete`.
    Delete,
}

/// Counts for one kind of write.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct KindTally {
    /// Writes acknowledged (every one, also those later overwritten).
    pub acknowledged: u64,
    /// Keys whose last acknowledged write read back intact.
    pub recovered: u64,
    /// Keys that hold an older value, or none where a put was acknowledged.
    pub lost: u64,
    /// Keys that hold a value no write produced.
    pub corrupt: u64,
    /// Keys that hold the value of a write in flight at the crash (legal).
    pub indeterminate: u64,
}

impl KindTally {
    fn add(&mut self, o: &KindTally) {
        self.acknowledged += o.acknowledged;
        self.recovered += o.recovered;
        self.lost += o.lost;
        self.corrupt += o.corrupt;
        self.indeterminate += o.indeterminate;
    }

    /// Keys judged: recovered, lost, corrupt or indeterminate.
    pub(crate) fn judged(&self) -> u64 {
        self.recovered + self.lost + self.corrupt + self.indeterminate
    }
}

/// Counts of one key-value verification (or their sums over cycles).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct KvTally {
    /// Keys whose last acknowledged write was a put.
    pub puts: KindTally,
    /// Keys whose last acknowledged write was a delete.
    pub deletes: KindTally,
    /// Keys checked again because an earlier cycle verified them.
    pub rechecked: u64,
}

impl KvTally {
    /// Adds `other` to `self`.
    pub(crate) fn add(&mut self, other: &KvTally) {
        self.puts.add(&other.puts);
        self.deletes.add(&other.deletes);
        self.rechecked += other.rechecked;
    }

    fn kind(&mut self, k: WriteKind) -> &mut KindTally {
        match k {
            WriteKind::Put => &mut self.puts,
            WriteKind::Delete => &mut self.deletes,
        }
    }
}

/// What each checked key held after the last verification: the CRC32C of
/// its value, or `None` when absent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct KvKnown {
    keys: BTreeMap<Vec<u8>, Option<u32>>,
}

impl KvKnown {
    #[cfg(test)]
    /// Keys known.
    pub(crate) fn len(&self) -> usize {
        self.keys.len()
    }

    /// True when no key is known.
    pub(crate) fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// One write as the events tell it: positions in the event order are time.
#[derive(Debug, Clone, Copy)]
struct Write {
    value: Option<u32>,
    begun: usize,
    acked: Option<usize>,
}

/// Reads back every key `events` wrote and every key `known` holds, and
/// judges each. `fresh`: keys not in `known` were absent before (no earlier
/// phase wrote key-value data). Returns the counts and what each key holds
/// now (the next cycle's `known`).
pub(crate) fn verify(
    store: &dyn Store,
    known: &KvKnown,
    events: &[KvEvent],
    fresh: bool,
) -> Result<(KvTally, KvKnown), StoreError> {
    let mut ids: BTreeMap<u64, (&[u8], usize)> = BTreeMap::new();
    let mut by_key: BTreeMap<&[u8], Vec<Write>> = BTreeMap::new();
    for (pos, e) in events.iter().enumerate() {
        match e {
            KvEvent::Begin { id, key, value } => {
                let list = by_key.entry(key.as_slice()).or_default();
                ids.insert(*id, (key.as_slice(), list.len()));
                list.push(Write {
                    value: *value,
                    begun: pos,
                    acked: None,
                });
            }
            KvEvent::Acked { first, count } => {
                for id in *first..first.saturating_add(*count) {
                    if let Some((key, i)) = ids.get(&id)
                        && let Some(w) = by_key.get_mut(key).and_then(|l| l.get_mut(*i))
                    {
                        w.acked = Some(pos);
                    }
                }
            }
        }
    }
    let mut tally = KvTally::default();
    let mut after = KvKnown::default();
    let mut session = store.session()?;
    let mut buf = Vec::new();
    let mut read = |key: &[u8]| -> Result<Option<u32>, StoreError> {
        Ok(session.get(key, &mut buf)?.then(|| crc32c::crc32c(&buf)))
    };
    for (key, before) in &known.keys {
        if by_key.contains_key(key.as_slice()) {
            continue;
        }
        // Untouched this cycle: it must still hold what it held.
        let now = read(key)?;
        tally.rechecked += 1;
        if now != *before {
            let t = tally.kind(if before.is_some() {
                WriteKind::Put
            } else {
                WriteKind::Delete
            });
            match (before, now) {
                (Some(_), Some(_)) => t.corrupt += 1,
                _ => t.lost += 1,
            }
        }
        after.keys.insert(key.clone(), now);
    }
    for (key, writes) in &by_key {
        let initial = match known.keys.get(*key) {
            Some(v) => Some(*v),
            None if fresh => Some(None),
            None => None,
        };
        let now = read(key)?;
        judge(&mut tally, writes, initial, now);
        after.keys.insert(key.to_vec(), now);
    }
    Ok((tally, after))
}

/// Judges one key holding `now`, written by `writes`, that held `initial`
/// before (`None`: not known).
fn judge(tally: &mut KvTally, writes: &[Write], initial: Option<Option<u32>>, now: Option<u32>) {
    let kind = |v: Option<u32>| {
        if v.is_some() {
            WriteKind::Put
        } else {
            WriteKind::Delete
        }
    };
    for w in writes.iter().filter(|w| w.acked.is_some()) {
        tally.kind(kind(w.value)).acknowledged += 1;
    }
    // A write is superseded when an acknowledged write began after it was
    // acknowledged; the candidates for the final value are the rest.
    let latest_begin = writes
        .iter()
        .filter(|w| w.acked.is_some())
        .map(|w| w.begun)
        .max();
    let candidate = |w: &&Write| match (w.acked, latest_begin) {
        (Some(a), Some(b)) => a > b,
        _ => true,
    };
    let last_acked = writes
        .iter()
        .filter(candidate)
        .filter(|w| w.acked.is_some())
        .max_by_key(|w| w.acked);
    let Some(last) = last_acked else {
        // Only writes in flight: nothing acknowledged to check, but a value
        // none of them (nor the key's earlier value) explains is damage.
        let explained = writes.iter().any(|w| w.value == now) || initial.is_none_or(|i| i == now);
        if !explained && let Some(w) = writes.first() {
            tally.kind(kind(w.value)).corrupt += 1;
        }
        return;
    };
    let t = tally.kind(kind(last.value));
    let acked_match = writes
        .iter()
        .filter(candidate)
        .any(|w| w.acked.is_some() && w.value == now);
    let in_flight_match = writes
        .iter()
        .filter(candidate)
        .any(|w| w.acked.is_none() && w.value == now);
    if acked_match {
        t.recovered += 1;
    } else if in_flight_match {
        t.indeterminate += 1;
    } else if now.is_none()
        || writes.iter().any(|w| w.value == now)
        || initial.is_none_or(|i| i == now)
    {
        t.lost += 1;
    } else {
        t.corrupt += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;

    fn begin(id: u64, key: &str, value: Option<&str>) -> KvEvent {
        KvEvent::Begin {
            id,
            key: key.as_bytes().to_vec(),
            value: value.map(|v| crc32c::crc32c(v.as_bytes())),
        }
    }

    fn acked(first: u64) -> KvEvent {
        KvEvent::Acked { first, count: 1 }
    }

    fn store_with(pairs: &[(&str, &str)]) -> MemoryStore {
        let s = MemoryStore::new();
        let mut session = s.session().unwrap();
        for (k, v) in pairs {
            session.put(k.as_bytes(), v.as_bytes()).unwrap();
        }
        s
    }

    #[test]
    fn the_last_acknowledged_value_and_an_acknowledged_delete_pass() {
        let events = [
            begin(0, "a", Some("1")),
            acked(0),
            begin(1, "a", Some("2")),
            acked(1),
            begin(2, "b", Some("x")),
            acked(2),
            begin(3, "b", None),
            acked(3),
        ];
        let store = store_with(&[("a", "2")]);
        let (t, known) = verify(&store, &KvKnown::default(), &events, true).unwrap();
        assert_eq!(t.puts.acknowledged, 3, "every acknowledged put counts");
        assert_eq!(t.deletes.acknowledged, 1);
        assert_eq!(t.puts.recovered, 1, "a holds its last value");
        assert_eq!(t.deletes.recovered, 1, "b is absent");
        assert_eq!((t.puts.lost, t.puts.corrupt, t.deletes.lost), (0, 0, 0));
        assert_eq!(known.len(), 2);
    }

    #[test]
    fn an_older_value_or_none_is_lost_and_a_third_value_corrupt() {
        let events = [
            begin(0, "a", Some("1")),
            acked(0),
            begin(1, "a", Some("2")),
            acked(1),
            begin(2, "b", Some("x")),
            acked(2),
            begin(3, "c", Some("y")),
            acked(3),
            begin(4, "d", Some("z")),
            acked(4),
            begin(5, "d", None),
            acked(5),
        ];
        let store = store_with(&[("a", "1"), ("c", "garbage"), ("d", "z")]);
        let (t, _) = verify(&store, &KvKnown::default(), &events, true).unwrap();
        assert_eq!(t.puts.lost, 2, "a holds its older value, b nothing");
        assert_eq!(t.puts.corrupt, 1, "c holds a value never written");
        assert_eq!(t.deletes.lost, 1, "d came back");
        assert_eq!(t.puts.recovered + t.deletes.recovered, 0);
    }

    #[test]
    fn a_write_in_flight_may_land_or_not_but_never_as_a_third_value() {
        // a: acknowledged 1, then 2 in flight at the crash.
        let events = [
            begin(0, "a", Some("1")),
            acked(0),
            begin(1, "a", Some("2")),
            begin(2, "b", Some("1")),
            acked(2),
            begin(3, "b", None),
            begin(4, "c", Some("n")),
        ];
        for (a, b, c, want) in [
            // Neither in-flight write landed: both keys recovered.
            ("1", Some("1"), None, (2, 0, 0)),
            // Both landed: legal, indeterminate.
            ("2", None, Some("n"), (0, 2, 0)),
            // A value no write explains, twice.
            ("3", Some("1"), Some("zzz"), (1, 0, 2)),
        ] {
            let mut pairs = vec![("a", a)];
            pairs.extend(b.map(|v| ("b", v)));
            pairs.extend(c.map(|v| ("c", v)));
            let store = store_with(&pairs);
            let (t, _) = verify(&store, &KvKnown::default(), &events, true).unwrap();
            let got = (
                t.puts.recovered + t.deletes.recovered,
                t.puts.indeterminate,
                t.puts.corrupt,
            );
            assert_eq!(got, want, "a={a} b={b:?} c={c:?}: {t:?}");
        }
    }

    #[test]
    fn concurrent_acknowledged_writes_are_each_a_legal_last_value() {
        // Two writers put to `a` at once: both begun, then both acknowledged.
        let events = [
            begin(0, "a", Some("1")),
            begin(1, "a", Some("2")),
            acked(1),
            acked(0),
        ];
        for v in ["1", "2"] {
            let (t, _) =
                verify(&store_with(&[("a", v)]), &KvKnown::default(), &events, true).unwrap();
            assert_eq!(t.puts.recovered, 1, "value {v}");
        }
    }

    #[test]
    fn a_key_checked_before_must_keep_its_value_and_a_fresh_store_loses_it() {
        let events = [begin(0, "a", Some("1")), acked(0)];
        let store = store_with(&[("a", "1")]);
        let (_, known) = verify(&store, &KvKnown::default(), &events, true).unwrap();
        let (t, _) = verify(&store, &known, &[], true).unwrap();
        assert_eq!((t.rechecked, t.puts.lost), (1, 0));
        let (t, _) = verify(&MemoryStore::new(), &known, &[], true).unwrap();
        assert_eq!(t.puts.lost, 1, "gone after a later crash");
        assert_eq!(t.puts.acknowledged, 0, "nothing new was acknowledged");
    }

    #[test]
    fn an_unknown_earlier_value_is_not_called_corrupt() {
        // Only in flight, on a store with unknown history: any value is
        // explainable by the value before.
        let events = [begin(0, "a", Some("1"))];
        let store = store_with(&[("a", "old")]);
        let (t, _) = verify(&store, &KvKnown::default(), &events, false).unwrap();
        assert_eq!(t.puts.corrupt, 0);
        let (t, _) = verify(&store, &KvKnown::default(), &events, true).unwrap();
        assert_eq!(t.puts.corrupt, 1, "on a fresh store it is a third value");
    }
}
