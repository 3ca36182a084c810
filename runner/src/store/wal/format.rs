//! The WAL's on-disk format: segment headers, batch frames and records, with
//! their encoders and checkers. It owns byte layout and checksums only; it
//! does no I/O and knows nothing of files, sync or recovery policy.
//!
//! All integers are little-endian. CRCs are CRC32C (Castagnoli), hardware
//! accelerated: frame records through `crc-fast` (carry-less multiply),
//! short headers through the `crc32c` crate (the `crc32` instruction).
//!
//! # Segment file `<id>.wal` (id: 20 decimal digits)
//!
//! | bytes | field | meaning |
//! |---|---|---|
//! | 0..8 | magic | `LLWALSEG` |
//! | 8..12 | version | format version, [`FORMAT_VERSION`] |
//! | 12..16 | header crc | CRC32C of bytes 0..12 and 16..32 |
//! | 16..24 | segment id | equals the id in the file name; ids are consecutive. Also the file's *generation*: a recycled file gets a new id, and its frames carry it (below) |
//! | 24..32 | base position | log position of byte 40: the previous segment's base plus its frame bytes |
//! | 32..40 | recycled from | the id the file had in its previous use (a recycled file), 0 for a new file: frames of an earlier segment are expected in it only when this is not 0 |
//! | 40.. | frames | batch frames back to back; then a seal frame (sealed segments), the end of file or zeros (clean end) |
//!
//! # Batch frame (one [`Session::append`](crate::store::Session::append), written as one contiguous unit)
//!
//! | bytes | field | meaning |
//! |---|---|---|
//! | 0..4 | length | frame bytes including this header, `>= 40`; never trusted beyond the bytes remaining |
//! | 4..8 | crc | CRC32C of bytes 40..length (every record header and body), continued over bytes 0..4 and 8..40 (the frame header) |
//! | 8..12 | magic | [`FRAME_MAGIC`]; a zero here means clean end |
//! | 12..16 | count | records in the batch, `>= 1` |
//! | 16..24 | stream id | the stream all records belong to |
//! | 24..32 | first offset | offset of the first record; record `i` has offset `first + i` |
//! | 32..40 | segment | id of the segment the frame was written in (its generation) |
//! | 40..48 | durable | log position up to which the log was known durable (synced) when the frame was written |
//! | 48..length | records | `count` records, back to back |
//!
//! One CRC per batch makes a batch atomic: a torn batch fails its CRC as a
//! whole, so recovery never returns part of one.
//!
//! The *durable* field is the WAL's synced high-water mark, persisted for
//! free with every frame (the group-commit state knows it under the lock
//! the frame is written under). After a power loss it tells recovery what
//! must have survived: bytes below the highest mark any surviving frame
//! carries were synced before that frame was written, so damage there is
//! damage to acknowledged data; damage above it was never covered by a
//! sync, so nothing at or after it was acknowledged as durable (see
//! `recovery`).
//!
//! # Seal frame (the last frame of a sealed segment)
//!
//! A frame header with magic [`SEAL_MAGIC`], length 48, count 0, stream 0,
//! first offset 0, the segment's id, and in *durable* the log position the
//! segment's frames end at; its CRC covers the header as a batch frame's
//! does. It is written when the segment is sealed, after the next segment
//! was created durably, and synced with the segment: a segment that ends
//! with its seal has a successor, so a missing last segment is detected.
//!
//! # Checkpoint frame
//!
//! The same layout with magic [`CHECKPOINT_MAGIC`], *durable* the log
//! position it starts at: written and synced when the store closes, so the
//! durable extent of a cleanly closed log reaches its last frame (a frame's
//! own mark never covers itself).
//!
//! The segment field makes recycled files safe (segment recycling, as
//! RocksDB's `recycle_log_file_num` does with its log number in each
//! record): a recycled file keeps the frames of its earlier use after the
//! new ones, intact and with valid CRCs, but they name an older segment.
//! [`check_frame`] reports such a frame as [`FrameFault::Stale`], which
//! recovery treats as the end of the segment: old records never come back.
//! A frame naming a *later* segment than its file is damage.
//!
//! # Record (inside a frame)
//!
//! | bytes | field | meaning |
//! |---|---|---|
//! | 0 | keys tag | 0 none, 1 single, 2 pair, 3 range |
//! | 1..5 | body length | bytes of body |
//! | 5.. | keys | 0, 8 or 16 bytes (`u64`s) as the tag says |
//! | then | body | the record's bytes |

use crate::store::api::{Keys, Offset, Record};

/// Magic at the start of every segment file.
pub(crate) const SEGMENT_MAGIC: [u8; 8] = *b"LLWALSEG";
/// On-disk format version written and accepted (3: the durable mark in
/// every frame, seal frames, the recycled-from field).
pub(crate) const FORMAT_VERSION: u32 = 3;
/// Bytes of the segment header.
pub(crate) const SEGMENT_HEADER_LEN: usize = 40;
/// Magic in every frame header (`LLFB` read as little-endian bytes).
pub(crate) const FRAME_MAGIC: u32 = u32::from_le_bytes(*b"LLFB");
/// Magic of a seal frame (`LLFS`).
pub(crate) const SEAL_MAGIC: u32 = u32::from_le_bytes(*b"LLFS");
/// Magic of a checkpoint frame (`LLFC`).
pub(crate) const CHECKPOINT_MAGIC: u32 = u32::from_le_bytes(*b"LLFC");
/// Bytes of a frame header (and of a whole seal frame).
pub(crate) const FRAME_HEADER_LEN: usize = 48;
/// Largest record header (tag, length, two keys).
const MAX_RECORD_HEADER: usize = 21;

/// A decoded segment header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SegmentHeader {
    /// The segment id.
    pub(crate) id: u64,
    /// Log position of the first frame byte.
    pub(crate) base: u64,
    /// The id the file had before it was recycled (0: a new file).
    pub(crate) recycled_from: u64,
}

/// Encodes a segment header.
pub(crate) fn encode_segment_header(h: SegmentHeader) -> [u8; SEGMENT_HEADER_LEN] {
    let mut b = [0u8; SEGMENT_HEADER_LEN];
    b[0..8].copy_from_slice(&SEGMENT_MAGIC);
    b[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    b[16..24].copy_from_slice(&h.id.to_le_bytes());
    b[24..32].copy_from_slice(&h.base.to_le_bytes());
    b[32..40].copy_from_slice(&h.recycled_from.to_le_bytes());
    let crc = crc32c::crc32c_append(crc32c::crc32c(&b[0..12]), &b[16..SEGMENT_HEADER_LEN]);
    b[12..16].copy_from_slice(&crc.to_le_bytes());
    b
}

/// Decodes and checks a segment header; the error says what is wrong.
pub(crate) fn decode_segment_header(b: &[u8]) -> Result<SegmentHeader, String> {
    if b.len() < SEGMENT_HEADER_LEN {
        return Err(format!(
            "segment header needs {SEGMENT_HEADER_LEN} bytes, file has {}",
            b.len()
        ));
    }
    if b[0..8] != SEGMENT_MAGIC {
        return Err("bad segment magic".to_owned());
    }
    let version = u32_at(b, 8);
    // Checked before the CRC, which covers a version-dependent length.
    if version != FORMAT_VERSION {
        return Err(format!(
            "unsupported format version {version} (this build reads {FORMAT_VERSION})"
        ));
    }
    let crc = crc32c::crc32c_append(crc32c::crc32c(&b[0..12]), &b[16..SEGMENT_HEADER_LEN]);
    if crc != u32_at(b, 12) {
        return Err("segment header crc mismatch".to_owned());
    }
    Ok(SegmentHeader {
        id: u64_at(b, 16),
        base: u64_at(b, 24),
        recycled_from: u64_at(b, 32),
    })
}

/// A checked frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FrameHeader {
    /// Frame bytes including the header.
    pub(crate) len: u32,
    /// Records in the frame; 0 for a seal frame.
    pub(crate) count: u32,
    /// Stream of every record.
    pub(crate) stream: u64,
    /// Offset of the first record.
    pub(crate) first: Offset,
    /// The segment (generation) it was written in.
    pub(crate) segment: u64,
    /// The log position the log was durable up to when it was written (a
    /// seal frame: where the segment's frames end).
    pub(crate) durable: u64,
    /// [`FRAME_MAGIC`], [`SEAL_MAGIC`] or [`CHECKPOINT_MAGIC`] (the last
    /// two hold no records: `count` 0).
    pub(crate) magic: u32,
}

impl FrameHeader {
    /// A seal frame: the segment ended here.
    pub(crate) fn is_seal(&self) -> bool {
        self.magic == SEAL_MAGIC
    }
}

/// Why the bytes at a position are not a valid frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FrameFault {
    /// Only zeros from here on (the first 12 bytes at least): a clean end.
    Zero,
    /// The frame claims more bytes than remain, or its header is cut:
    /// what a torn write at the end of the log looks like.
    Incomplete(String),
    /// The frame fits but is wrong (crc, magic, structure).
    Bad(String),
    /// A valid frame of an earlier use of a recycled file (it names the
    /// older segment it was written in): where the current segment ends.
    Stale(u64),
}

/// Bytes of a record's own header (key tag and body length), before its
/// keys and body.
pub(crate) const RECORD_HEADER_LEN: u64 = 5;

/// Encoded size of one record.
pub(crate) fn record_len(r: &Record<'_>) -> usize {
    RECORD_HEADER_LEN as usize + keys_len(r.keys) + r.body.len()
}

fn keys_len(k: Keys) -> usize {
    match k {
        Keys::None => 0,
        Keys::Single(_) => 8,
        Keys::Pair(..) | Keys::Range(..) => 16,
    }
}

/// Encoded size of a frame holding `batch`.
pub(crate) fn frame_len(batch: &[Record<'_>]) -> usize {
    FRAME_HEADER_LEN + batch.iter().map(record_len).sum::<usize>()
}

/// A frame encoded without its first offset, segment and CRC, which are
/// only known under the writer's lock; [`PendingFrame::seal`] fills them in.
///
/// The CRC runs over the records first and the frame header last, so the
/// expensive part is computed outside the lock and sealing only continues
/// it over 36 header bytes (no `crc32c_combine`, which costs microseconds).
#[derive(Debug)]
pub(crate) struct PendingFrame {
    /// CRC of the records part (bytes 40..length).
    body_crc: u32,
}

/// Appends an encoded frame for `batch` to `out` (cleared first), with the
/// first offset and CRC left for [`PendingFrame::seal`]. The caller checks
/// that the batch is non-empty and that [`frame_len`] fits a `u32`.
pub(crate) fn encode_frame(out: &mut Vec<u8>, stream: u64, batch: &[Record<'_>]) -> PendingFrame {
    let len = frame_len(batch);
    out.clear();
    out.reserve(len);
    out.extend_from_slice(&u32::try_from(len).unwrap_or(u32::MAX).to_le_bytes());
    out.extend_from_slice(&[0u8; 4]);
    out.extend_from_slice(&FRAME_MAGIC.to_le_bytes());
    out.extend_from_slice(&u32::try_from(batch.len()).unwrap_or(u32::MAX).to_le_bytes());
    out.extend_from_slice(&stream.to_le_bytes());
    out.extend_from_slice(&0u64.to_le_bytes());
    out.extend_from_slice(&0u64.to_le_bytes());
    out.extend_from_slice(&0u64.to_le_bytes());
    for r in batch {
        let mut h = [0u8; MAX_RECORD_HEADER];
        let (tag, a, b) = match r.keys {
            Keys::None => (0u8, 0, 0),
            Keys::Single(a) => (1, a, 0),
            Keys::Pair(a, b) => (2, a, b),
            Keys::Range(a, b) => (3, a, b),
        };
        h[0] = tag;
        h[1..5].copy_from_slice(
            &u32::try_from(r.body.len())
                .unwrap_or(u32::MAX)
                .to_le_bytes(),
        );
        h[5..13].copy_from_slice(&a.to_le_bytes());
        h[13..21].copy_from_slice(&b.to_le_bytes());
        out.extend_from_slice(&h[..5 + keys_len(r.keys)]);
        out.extend_from_slice(r.body);
    }
    let body_crc = records_crc(&out[FRAME_HEADER_LEN..]);
    PendingFrame { body_crc }
}

impl PendingFrame {
    /// Writes the first offset, the segment it goes into, the log position
    /// known durable now and the CRC into `frame` (as made by
    /// [`encode_frame`]).
    pub(crate) fn seal(&self, frame: &mut [u8], first: Offset, segment: u64, durable: u64) {
        frame[24..32].copy_from_slice(&first.to_le_bytes());
        frame[32..40].copy_from_slice(&segment.to_le_bytes());
        frame[40..48].copy_from_slice(&durable.to_le_bytes());
        let crc = header_crc(self.body_crc, frame);
        frame[4..8].copy_from_slice(&crc.to_le_bytes());
    }
}

/// The seal frame of segment `segment`, whose frames end at log position
/// `end`.
pub(crate) fn encode_seal(segment: u64, end: u64) -> [u8; FRAME_HEADER_LEN] {
    encode_marker(SEAL_MAGIC, segment, end)
}

/// The checkpoint frame of segment `segment`, written at log position
/// `durable` after everything before it was synced.
pub(crate) fn encode_checkpoint(segment: u64, durable: u64) -> [u8; FRAME_HEADER_LEN] {
    encode_marker(CHECKPOINT_MAGIC, segment, durable)
}

fn encode_marker(magic: u32, segment: u64, end: u64) -> [u8; FRAME_HEADER_LEN] {
    let mut b = [0u8; FRAME_HEADER_LEN];
    b[0..4].copy_from_slice(&(FRAME_HEADER_LEN as u32).to_le_bytes());
    b[8..12].copy_from_slice(&magic.to_le_bytes());
    b[32..40].copy_from_slice(&segment.to_le_bytes());
    b[40..48].copy_from_slice(&end.to_le_bytes());
    let crc = header_crc(records_crc(&[]), &b);
    b[4..8].copy_from_slice(&crc.to_le_bytes());
    b
}

/// Continues a records CRC over the frame header (its CRC field skipped).
fn header_crc(body_crc: u32, frame: &[u8]) -> u32 {
    let crc = crc32c::crc32c_append(body_crc, &frame[0..4]);
    crc32c::crc32c_append(crc, &frame[8..FRAME_HEADER_LEN])
}

fn frame_crc(frame: &[u8]) -> u32 {
    header_crc(records_crc(&frame[FRAME_HEADER_LEN..]), frame)
}

/// CRC32C of a frame's records: the bulk of every frame, checked again for
/// every frame on recovery. `crc-fast` folds with carry-less multiplies
/// (VPCLMULQDQ where present): about 20 GB/s on 4–5 KiB frames here, twice
/// the `crc32`-instruction loop of the `crc32c` crate, which still computes
/// the short header continuation. Both are the same CRC-32C (iSCSI).
fn records_crc(records: &[u8]) -> u32 {
    // The algorithm's width is 32 bits; the u64 only carries it.
    let crc = crc_fast::checksum(crc_fast::CrcAlgorithm::Crc32Iscsi, records);
    u32::try_from(crc).unwrap_or(u32::MAX)
}

/// Checks the frame starting at `b[0]` (`b` runs to the end of the valid
/// bytes of the file) as a frame of segment `segment`: header sanity,
/// length against the bytes remaining, CRC, that the records exactly fill
/// the frame, and that it was written in this segment
/// ([`FrameFault::Stale`] for an earlier one).
pub(crate) fn check_frame(b: &[u8], segment: u64) -> Result<FrameHeader, FrameFault> {
    if b.len() < FRAME_HEADER_LEN {
        if b.iter().all(|&x| x == 0) {
            return Err(FrameFault::Zero);
        }
        return Err(FrameFault::Incomplete(format!(
            "frame header cut short: {} of {FRAME_HEADER_LEN} bytes",
            b.len()
        )));
    }
    if b[0..12].iter().all(|&x| x == 0) {
        return Err(FrameFault::Zero);
    }
    let len = u32_at(b, 0);
    let magic = u32_at(b, 8);
    if magic == SEAL_MAGIC || magic == CHECKPOINT_MAGIC {
        return check_marker(b, segment);
    }
    if magic != FRAME_MAGIC {
        return Err(FrameFault::Bad("bad frame magic".to_owned()));
    }
    if (len as usize) < FRAME_HEADER_LEN + 5 {
        return Err(FrameFault::Bad(format!(
            "frame length {len} is below the minimum"
        )));
    }
    if len as usize > b.len() {
        return Err(FrameFault::Incomplete(format!(
            "frame length {len} exceeds the {} bytes remaining",
            b.len()
        )));
    }
    let frame = &b[..len as usize];
    if frame_crc(frame) != u32_at(b, 4) {
        return Err(FrameFault::Bad("frame crc mismatch".to_owned()));
    }
    let h = header_at(b);
    // Structure: exactly `count` records filling the frame.
    let mut n = 0u32;
    for r in Records::new(frame) {
        r.map_err(FrameFault::Bad)?;
        n += 1;
    }
    if n != h.count || n == 0 {
        return Err(FrameFault::Bad(format!(
            "frame header says {} records, frame holds {n}",
            h.count
        )));
    }
    if h.first.checked_add(u64::from(h.count)).is_none() {
        return Err(FrameFault::Bad("frame offsets overflow".to_owned()));
    }
    generation(h, segment)
}

fn header_at(b: &[u8]) -> FrameHeader {
    FrameHeader {
        len: u32_at(b, 0),
        count: u32_at(b, 12),
        stream: u64_at(b, 16),
        first: u64_at(b, 24),
        segment: u64_at(b, 32),
        durable: u64_at(b, 40),
        magic: u32_at(b, 8),
    }
}

/// A checked frame is valid in `segment` only if it was written in it.
fn generation(h: FrameHeader, segment: u64) -> Result<FrameHeader, FrameFault> {
    if h.segment < segment {
        return Err(FrameFault::Stale(h.segment));
    }
    if h.segment > segment {
        return Err(FrameFault::Bad(format!(
            "frame of segment {} in segment {segment}",
            h.segment
        )));
    }
    Ok(h)
}

/// Checks a seal or checkpoint frame (its magic already matched) at `b[0]`.
fn check_marker(b: &[u8], segment: u64) -> Result<FrameHeader, FrameFault> {
    if b.len() < FRAME_HEADER_LEN {
        return Err(FrameFault::Incomplete(format!(
            "frame header cut short: {} of {FRAME_HEADER_LEN} bytes",
            b.len()
        )));
    }
    let h = header_at(b);
    if h.len as usize != FRAME_HEADER_LEN {
        return Err(FrameFault::Bad(format!(
            "marker frame length {} is not {FRAME_HEADER_LEN}",
            h.len
        )));
    }
    if header_crc(records_crc(&[]), &b[..FRAME_HEADER_LEN]) != u32_at(b, 4) {
        return Err(FrameFault::Bad("marker frame crc mismatch".to_owned()));
    }
    if h.count != 0 || h.stream != 0 || h.first != 0 {
        return Err(FrameFault::Bad("marker frame with records".to_owned()));
    }
    generation(h, segment)
}

/// Iterates the records of a frame (`frame` is exactly one frame, already
/// checked or written by this process), yielding keys and body.
pub(crate) struct Records<'a> {
    rest: &'a [u8],
}

impl<'a> Records<'a> {
    /// Records of `frame`.
    pub(crate) fn new(frame: &'a [u8]) -> Self {
        Self {
            rest: frame.get(FRAME_HEADER_LEN..).unwrap_or(&[]),
        }
    }
}

impl<'a> Iterator for Records<'a> {
    type Item = Result<(Keys, &'a [u8]), String>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let b = self.rest;
        if b.len() < 5 {
            self.rest = &[];
            return Some(Err("record header cut short".to_owned()));
        }
        let tag = b[0];
        let body_len = u32_at(b, 1) as usize;
        let klen = match tag {
            0 => 0,
            1 => 8,
            2 | 3 => 16,
            t => {
                self.rest = &[];
                return Some(Err(format!("unknown keys tag {t}")));
            }
        };
        // The body length is checked against the bytes remaining before any
        // slicing: a damaged length never reaches an allocation or index.
        if b.len() - 5 < klen || b.len() - 5 - klen < body_len {
            self.rest = &[];
            return Some(Err(format!(
                "record body length {body_len} exceeds the frame"
            )));
        }
        let keys = match tag {
            0 => Keys::None,
            1 => Keys::Single(u64_at(b, 5)),
            2 => Keys::Pair(u64_at(b, 5), u64_at(b, 13)),
            _ => Keys::Range(u64_at(b, 5), u64_at(b, 13)),
        };
        let start = 5 + klen;
        let body = &b[start..start + body_len];
        self.rest = &b[start + body_len..];
        Some(Ok((keys, body)))
    }
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    let mut x = [0u8; 4];
    x.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(x)
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut x = [0u8; 8];
    x.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(x)
}

/// Reads a little-endian `u64` (for the trim file).
pub(crate) fn read_u64(b: &[u8], at: usize) -> u64 {
    u64_at(b, at)
}

/// Reads a little-endian `u32` (for the trim file).
pub(crate) fn read_u32(b: &[u8], at: usize) -> u32 {
    u32_at(b, at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn keys_strategy() -> impl Strategy<Value = Keys> {
        prop_oneof![
            Just(Keys::None),
            any::<u64>().prop_map(Keys::Single),
            (any::<u64>(), any::<u64>()).prop_map(|(a, b)| Keys::Pair(a, b)),
            (any::<u64>(), any::<u64>()).prop_map(|(a, b)| Keys::Range(a, b)),
        ]
    }

    fn batch_strategy() -> impl Strategy<Value = Vec<(Keys, Vec<u8>)>> {
        let body = prop_oneof![
            4 => proptest::collection::vec(any::<u8>(), 0..64),
            1 => proptest::collection::vec(any::<u8>(), 4000..9000),
            1 => Just(Vec::new()),
        ];
        proptest::collection::vec((keys_strategy(), body), 1..12)
    }

    fn decode(frame: &[u8], segment: u64) -> (FrameHeader, Vec<(Keys, Vec<u8>)>) {
        let h = check_frame(frame, segment).expect("valid frame");
        let recs = Records::new(&frame[..h.len as usize])
            .map(|r| r.map(|(k, b)| (k, b.to_vec())).expect("record"))
            .collect();
        (h, recs)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn frames_round_trip(batch in batch_strategy(), stream in any::<u64>(), first in 0u64..u64::MAX / 2, segment in 1u64..u64::MAX, durable in any::<u64>()) {
            let recs: Vec<Record<'_>> = batch.iter().map(|(k, b)| Record { keys: *k, body: b }).collect();
            let mut buf = Vec::new();
            let p = encode_frame(&mut buf, stream, &recs);
            p.seal(&mut buf, first, segment, durable);
            prop_assert_eq!(buf.len(), frame_len(&recs));
            // Trailing bytes after the frame do not matter.
            buf.extend_from_slice(&[0xAB; 7]);
            let (h, got) = decode(&buf, segment);
            prop_assert_eq!(h.stream, stream);
            prop_assert_eq!(h.first, first);
            prop_assert_eq!(h.segment, segment);
            prop_assert_eq!(h.durable, durable);
            prop_assert!(!h.is_seal());
            prop_assert_eq!(h.count as usize, batch.len());
            prop_assert_eq!(got, batch);
        }

        #[test]
        fn a_frame_is_valid_only_in_the_segment_it_was_written_in(
            batch in batch_strategy(),
            segment in 2u64..u64::MAX - 1,
            later in 1u64..1000,
        ) {
            // Guards recycling: read in a later segment (the same file,
            // recycled) a frame is stale, never valid; read in an earlier
            // one it is damage.
            let recs: Vec<Record<'_>> = batch.iter().map(|(k, b)| Record { keys: *k, body: b }).collect();
            let mut buf = Vec::new();
            encode_frame(&mut buf, 5, &recs).seal(&mut buf, 0, segment, 0);
            let reader = segment.saturating_add(later);
            prop_assert_eq!(check_frame(&buf, reader), Err(FrameFault::Stale(segment)));
            prop_assert!(matches!(check_frame(&buf, segment - 1), Err(FrameFault::Bad(_))));
            // Rewriting the segment field without the CRC is damage.
            let mut forged = buf.clone();
            forged[32..40].copy_from_slice(&reader.to_le_bytes());
            prop_assert!(matches!(check_frame(&forged, reader), Err(FrameFault::Bad(_))));
        }

        #[test]
        fn every_single_bit_flip_is_detected(batch in batch_strategy(), bit in any::<prop::sample::Index>()) {
            let recs: Vec<Record<'_>> = batch.iter().map(|(k, b)| Record { keys: *k, body: b }).collect();
            let mut buf = Vec::new();
            encode_frame(&mut buf, 9, &recs).seal(&mut buf, 3, 7, 100);
            let i = bit.index(buf.len() * 8);
            buf[i / 8] ^= 1 << (i % 8);
            prop_assert!(check_frame(&buf, 7).is_err(), "flip of bit {} accepted", i);
        }

        #[test]
        fn records_crc_is_crc32c(bytes in proptest::collection::vec(any::<u8>(), 0..20_000)) {
            // The on-disk format is CRC-32C whichever crate computes it:
            // logs written before the switch to crc-fast still open.
            prop_assert_eq!(records_crc(&bytes), crc32c::crc32c(&bytes));
        }
    }

    #[test]
    fn sealed_crc_equals_the_checked_crc() {
        // Guards the split CRC: records outside the lock, header at seal.
        let body = vec![0x5Au8; 4096 + 10];
        let recs = [Record {
            keys: Keys::Single(4),
            body: &body,
        }];
        let mut buf = Vec::new();
        let p = encode_frame(&mut buf, 1, &recs);
        p.seal(&mut buf, 77, 3, 9);
        assert_eq!(read_u32(&buf, 4), frame_crc(&buf));
    }

    #[test]
    fn segment_header_round_trips_and_rejects_damage() {
        let h = SegmentHeader {
            id: 42,
            base: 1 << 40,
            recycled_from: 7,
        };
        let mut b = encode_segment_header(h);
        assert_eq!(decode_segment_header(&b), Ok(h));
        b[20] ^= 1;
        assert!(decode_segment_header(&b).expect_err("flip").contains("crc"));
        assert!(
            decode_segment_header(&b[..10])
                .expect_err("short")
                .contains("needs 40")
        );
    }

    #[test]
    fn seal_frames_round_trip_and_reject_damage_and_other_segments() {
        let b = encode_seal(9, 12_345);
        let h = check_frame(&b, 9).expect("valid seal");
        assert!(h.is_seal());
        assert_eq!((h.segment, h.durable, h.len), (9, 12_345, 48));
        assert_eq!(check_frame(&b, 10), Err(FrameFault::Stale(9)));
        assert!(matches!(check_frame(&b, 8), Err(FrameFault::Bad(_))));
        for bit in 0..b.len() * 8 {
            let mut d = b;
            d[bit / 8] ^= 1 << (bit % 8);
            assert!(check_frame(&d, 9).is_err(), "flip of bit {bit} accepted");
        }
    }

    #[test]
    fn checkpoint_frames_are_not_seals() {
        let b = encode_checkpoint(4, 999);
        let h = check_frame(&b, 4).expect("valid checkpoint");
        assert!(!h.is_seal());
        assert_eq!((h.count, h.durable, h.magic), (0, 999, CHECKPOINT_MAGIC));
    }

    #[test]
    fn an_old_format_header_is_named_by_its_version() {
        let mut b = encode_segment_header(SegmentHeader {
            id: 1,
            base: 0,
            recycled_from: 0,
        });
        b[8..12].copy_from_slice(&2u32.to_le_bytes());
        let e = decode_segment_header(&b).expect_err("v2");
        assert!(e.contains("unsupported format version 2"), "{e}");
    }

    #[test]
    fn zero_and_cut_frames_are_told_apart() {
        assert_eq!(check_frame(&[0u8; 100], 1), Err(FrameFault::Zero));
        assert_eq!(check_frame(&[0u8; 5], 1), Err(FrameFault::Zero));
        let mut buf = Vec::new();
        encode_frame(
            &mut buf,
            1,
            &[Record {
                keys: Keys::None,
                body: b"hello",
            }],
        )
        .seal(&mut buf, 0, 1, 0);
        for cut in 1..buf.len() {
            assert!(
                matches!(check_frame(&buf[..cut], 1), Err(FrameFault::Incomplete(_))),
                "cut at {cut}"
            );
        }
        // A length claiming more than remains is never trusted.
        let mut huge = buf.clone();
        huge[0..4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(
            check_frame(&huge, 1),
            Err(FrameFault::Incomplete(_))
        ));
    }
}
