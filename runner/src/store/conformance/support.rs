//! What the checks share: record bodies of known length, fills, full reads
//! and the comparison that names the first wrong record.

use std::path::{Path, PathBuf};

use crate::store::api::{Keys, Offset, ReadBuf, Record, Session, StoreError};
use crate::store::power_loss::body;

/// Records of `bodies` keyed `(stream, offset)`, offsets counting from
/// `first`: the batch a test appends at a stream's tail `first`.
pub fn pair_records(stream: u64, first: Offset, bodies: &[Vec<u8>]) -> Vec<Record<'_>> {
    bodies
        .iter()
        .zip(first..)
        .map(|(b, o)| Record {
            keys: Keys::Pair(stream, o),
            body: b,
        })
        .collect()
}

pub(super) fn body_len(offset: Offset) -> usize {
    // 0, 1, 17, ... with an occasional larger body.
    if offset % 13 == 5 {
        3000
    } else {
        usize::try_from((offset * 17) % 200).unwrap_or(0)
    }
}

pub(super) fn sub(dir: &Path, name: &str) -> PathBuf {
    let d = dir.join(name);
    std::fs::create_dir_all(&d)
        .unwrap_or_else(|e| panic!("conformance setup: cannot create {}: {e}", d.display()));
    d
}

pub(super) fn must<T>(r: Result<T, StoreError>, op: &str) -> T {
    r.unwrap_or_else(|e| panic!("{op} failed: {e}"))
}

/// Appends `n` suite records to `stream` in batches of `batch`, checking
/// that the returned offsets are dense, starting at `expect_first`.
pub(super) fn fill(s: &mut dyn Session, stream: u64, expect_first: Offset, n: u64, batch: u64) {
    let mut next = expect_first;
    while next < expect_first + n {
        let k = batch.min(expect_first + n - next);
        let bodies: Vec<Vec<u8>> = (next..next + k)
            .map(|o| body(stream, o, body_len(o)))
            .collect();
        let recs: Vec<Record<'_>> = bodies
            .iter()
            .zip(next..)
            .map(|(b, o)| Record {
                keys: Keys::Single(o),
                body: b,
            })
            .collect();
        let got = must(s.append(stream, &recs), "append");
        assert_eq!(
            got, next,
            "dense offsets: append to stream {stream} returned {got}, expected {next}"
        );
        next += k;
    }
}

/// Reads all of `from..` into (offset, keys, body) triples, following the
/// offsets each read returns.
pub(super) fn read_all(
    s: &mut dyn Session,
    stream: u64,
    from: Offset,
    max_bytes: usize,
) -> Vec<(Offset, Keys, Vec<u8>)> {
    let mut out = Vec::new();
    let mut buf = ReadBuf::default();
    let mut at = from;
    loop {
        let next = must(s.read(stream, at, max_bytes, &mut buf), "read");
        if buf.is_empty() {
            return out;
        }
        for (i, r) in buf.records.iter().enumerate() {
            out.push((r.offset, r.keys, buf.body(i).to_vec()));
        }
        let last = buf.records[buf.len() - 1].offset;
        assert_eq!(
            next,
            last + 1,
            "read next offset: read of stream {stream} from {at} returned next {next} after record {last}"
        );
        at = next;
    }
}

/// Checks that `got` is exactly the suite's records `from..to` of `stream`.
pub(super) fn expect_records(
    got: &[(Offset, Keys, Vec<u8>)],
    stream: u64,
    from: Offset,
    to: Offset,
    rule: &str,
) {
    let offsets: Vec<Offset> = got.iter().map(|r| r.0).collect();
    let want: Vec<Offset> = (from..to).collect();
    assert_eq!(
        offsets, want,
        "{rule}: stream {stream} returned the wrong offsets"
    );
    for (o, k, b) in got {
        assert_eq!(
            b,
            &body(stream, *o, body_len(*o)),
            "{rule}: stream {stream} offset {o} has the wrong body"
        );
        assert_eq!(
            *k,
            Keys::Single(*o),
            "{rule}: stream {stream} offset {o} has the wrong keys"
        );
    }
}
