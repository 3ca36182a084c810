//! WAL recovery on open: finds the segments, checks every frame, rebuilds
//! the per-stream index and decides where the log ends.
//!
//! Rules (compare RocksDB's WAL recovery modes: this is
//! `kTolerateCorruptedTailRecords` for the last segment and
//! `kAbsoluteConsistency` everywhere else):
//! - Segments are read in id order; ids must be consecutive from the lowest
//!   live id (from the trim file) and each header's base position must
//!   continue the previous segment: a gap is a *missing segment*, two files
//!   for one id a *duplicate*; both fail the open.
//! - Segments below the lowest live id are leftovers of trims whose unlink
//!   a crash undid; they are deleted again, never read.
//! - Every frame's CRC is checked, segments in parallel, each read with
//!   1 MiB `pread`s (see `scan_segment` for why not through its map). A
//!   length is never trusted beyond the bytes remaining in the file.
//! - Zeros where a frame should start (through the end of the file) are a
//!   clean end (preallocated space), and so is a valid frame of an earlier
//!   segment (a recycled file's earlier use: every frame names its segment).
//!   Recycled files waiting for reuse (`<id>.recycle`) are kept for the
//!   pool, up to `recycle_segments`; the rest are deleted.
//! - In the last segment, damage with no valid frame after it is a torn
//!   tail: it is truncated (and the truncation fsynced) and its bytes are
//!   reported as dropped (trailing zeros not counted; in a recycled file,
//!   the bytes up to the next frame of its earlier use). Damage followed by
//!   a valid frame of this segment is not a torn write: the open fails
//!   naming the segment and the byte offset. Sealed segments were fsynced before the next segment
//!   existed, so any damage in them fails the open.
//! - Records of each stream must continue densely; trim points from the
//!   trim file hide what lies below them.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use super::format::{
    FRAME_HEADER_LEN, FRAME_MAGIC, FrameFault, SEGMENT_HEADER_LEN, check_frame,
    decode_segment_header, read_u32,
};
use super::index::{BatchLoc, Index, StreamIndex};
use super::io::{Io, IoFile, OpenMode, read_exact_at, write_zeros};
use super::prepare::PREPARED_TMP;
use super::recycle::parse_recycle_name;
use super::segment::{Mapped, file_name, parse_file_name};
use super::stats::{Counters, RecoveryStats};
use super::trim::{TRIM_TMP, TrimState};
use super::writer::{RECYCLED_TMP, WalOptions, io_err, sync_dir, sync_file};
use crate::store::api::StoreError;

/// One recovered segment.
#[derive(Debug)]
pub(crate) struct RecoveredSegment {
    pub(crate) id: u64,
    pub(crate) file: Arc<dyn IoFile>,
    /// Bytes of header plus valid frames.
    pub(crate) len: u64,
    pub(crate) base: u64,
    /// The map used to scan it (kept for sealed segments).
    pub(crate) map: Option<Mapped>,
}

/// Everything recovery found.
#[derive(Debug)]
pub(crate) struct Recovered {
    /// Live segments in id order; the last one (if any) becomes active.
    pub(crate) segments: Vec<RecoveredSegment>,
    /// The id and base position for a new segment when none is left.
    pub(crate) next_id: u64,
    pub(crate) next_base: u64,
    pub(crate) index: Index,
    pub(crate) trim: TrimState,
    pub(crate) stats: RecoveryStats,
    /// Recycled files kept for reuse, oldest first.
    pub(crate) recycled: Vec<std::path::PathBuf>,
}

fn corrupt(path: &Path, offset: u64, detail: impl Into<String>) -> StoreError {
    StoreError::Corrupt {
        path: path.to_path_buf(),
        offset,
        detail: detail.into(),
    }
}

/// A frame found after damage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Found {
    /// A valid frame of this segment: the damage is not a torn tail.
    Current(usize),
    /// A frame of the file's earlier use (recycled): the old bytes begin.
    Stale(usize),
}

/// The first position after `from` where a frame with a valid CRC starts
/// (of segment `segment` or of an earlier use of the file), if any.
fn find_valid_frame(b: &[u8], from: usize, segment: u64) -> Option<Found> {
    let magic = FRAME_MAGIC.to_le_bytes();
    let mut q = from;
    while q + FRAME_HEADER_LEN <= b.len() {
        if b[q + 8..q + 12] == magic && read_u32(b, q) as usize >= FRAME_HEADER_LEN {
            match check_frame(&b[q..], segment) {
                Ok(_) => return Some(Found::Current(q)),
                Err(FrameFault::Stale(_)) => return Some(Found::Stale(q)),
                Err(_) => {}
            }
        }
        q += 1;
    }
    None
}

/// Bytes from `from` up to and including the last non-zero byte.
fn nonzero_extent(b: &[u8], from: usize) -> u64 {
    b[from..]
        .iter()
        .rposition(|&x| x != 0)
        .map_or(0, |i| i as u64 + 1)
}

/// Recovers the log in `dir` (see the module docs for the rules).
pub(crate) fn recover(
    io: &dyn Io,
    dir: &Path,
    opts: &WalOptions,
    counters: &Counters,
) -> Result<Recovered, StoreError> {
    let started = Instant::now();
    let mut stats = RecoveryStats::default();
    let names = io
        .list_dir(dir)
        .map_err(|e| io_err("list directory", dir, e))?;
    let mut ids: BTreeMap<u64, String> = BTreeMap::new();
    let mut recycled: BTreeMap<u64, std::path::PathBuf> = BTreeMap::new();
    for name in names {
        if let Some(old) = parse_recycle_name(&name) {
            recycled.insert(old, dir.join(&name));
            continue;
        }
        if name == TRIM_TMP || name == PREPARED_TMP || name == RECYCLED_TMP {
            // A trim-file update that never got renamed into place, or a
            // preallocated or recycled file no segment was made of.
            let p = dir.join(&name);
            io.remove_file(&p).map_err(|e| io_err("remove", &p, e))?;
            continue;
        }
        if let Some(id) = parse_file_name(&name)
            && let Some(other) = ids.insert(id, name.clone())
        {
            return Err(corrupt(
                &dir.join(&name),
                0,
                format!("duplicate segment {id}: also in {other}"),
            ));
        }
    }
    let trim = TrimState::load(io, dir)?;
    // Recycled files beyond what the pool keeps (the option was lowered).
    while recycled.len() > opts.recycle_segments {
        if let Some((_, p)) = recycled.pop_first() {
            io.remove_file(&p)
                .map_err(|e| io_err("remove recycled segment", &p, e))?;
        }
    }

    // Leftovers below the lowest live segment: delete again.
    let stale: Vec<u64> = ids.range(..trim.first_live).map(|(id, _)| *id).collect();
    for id in &stale {
        if let Some(name) = ids.remove(id) {
            let p = dir.join(name);
            io.remove_file(&p)
                .map_err(|e| io_err("remove trimmed segment", &p, e))?;
        }
    }
    if !stale.is_empty() {
        sync_dir(counters, io, dir)?;
    }

    // Consecutive ids, starting at the lowest live one.
    let mut expect_id = match ids.keys().next() {
        Some(&first) if trim.first_live > 0 && first != trim.first_live => {
            return Err(corrupt(
                &dir.join(file_name(trim.first_live)),
                0,
                format!(
                    "missing segment {}: the trim file says it is the lowest live one",
                    trim.first_live
                ),
            ));
        }
        Some(&first) => first,
        // The active segment is never below the lowest live id and never
        // deleted, so a trimmed log without any segment lost one.
        None if trim.first_live > 0 => {
            return Err(corrupt(
                &dir.join(file_name(trim.first_live)),
                0,
                format!(
                    "missing segment {}: the trim file says it is the lowest live one",
                    trim.first_live
                ),
            ));
        }
        None => 1,
    };
    for &id in ids.keys() {
        if id != expect_id {
            return Err(corrupt(
                &dir.join(file_name(expect_id)),
                0,
                format!(
                    "missing segment {expect_id} (found segment {id} after {})",
                    expect_id - 1
                ),
            ));
        }
        expect_id += 1;
    }

    // 1. Open and map every segment, in id order. A last segment whose
    // creation was cut short (its header is synced before any frame is
    // written, so nothing in it was ever acknowledged) is removed here.
    let mut opened: Vec<Opened> = Vec::new();
    let n = ids.len();
    let mut next_id = ids.keys().next().copied().unwrap_or(expect_id);
    for (i, (&id, name)) in ids.iter().enumerate() {
        let last = i + 1 == n;
        let path = dir.join(name);
        let file = io
            .open(&path, OpenMode::Existing)
            .map_err(|e| io_err("open segment", &path, e))?;
        let file_len = file.len().map_err(|e| io_err("stat segment", &path, e))?;
        let map = file
            .map(file_len)
            .map_err(|e| io_err("map segment", &path, e))?;
        stats.bytes_scanned += file_len;
        let header = decode_segment_header(&map);
        if header.is_err() && last {
            let rest_empty = map
                .get(SEGMENT_HEADER_LEN..)
                .is_none_or(|r| r.iter().all(|&x| x == 0));
            if rest_empty {
                stats.dropped_bytes += nonzero_extent(&map, 0);
                drop(map);
                io.remove_file(&path)
                    .map_err(|e| io_err("remove torn segment", &path, e))?;
                sync_dir(counters, io, dir)?;
                next_id = id;
                break;
            }
        }
        opened.push(Opened {
            id,
            path,
            file,
            file_len,
            map,
            header,
            last,
        });
    }

    // 2. Check every frame's CRC, segments in parallel: the expensive part
    // of recovery, and independent per segment.
    let scans = scan_all(&opened);

    // 3. Apply the results in id order, with the same rules as before:
    // damage in a sealed segment, or damage followed by a valid frame,
    // fails the open; a torn tail of the last segment is cut.
    let mut index = Index::new();
    let mut segments = Vec::new();
    let mut next_base: Option<u64> = None;
    for (o, scan) in opened.into_iter().zip(scans) {
        let Opened {
            id,
            path,
            file,
            file_len,
            map,
            header,
            last,
        } = o;
        let header = header.map_err(|detail| corrupt(&path, 0, detail))?;
        if header.id != id {
            return Err(corrupt(
                &path,
                16,
                format!("file of segment {id} holds segment {}", header.id),
            ));
        }
        if let Some(b) = next_base
            && header.base != b
        {
            return Err(corrupt(
                &path,
                24,
                format!(
                    "base position {} does not continue the previous segment (ends at {b})",
                    header.base
                ),
            ));
        }
        for (pos, h) in &scan.frames {
            push(
                &mut index,
                &trim,
                &path,
                *pos as u64,
                id,
                h.len,
                h.count,
                h.stream,
                h.first,
            )?;
            stats.records += u64::from(h.count);
        }
        let pos = scan.end;
        if let Some(old) = scan.stale
            && !last
        {
            // Sealed segments are truncated to their last frame.
            return Err(corrupt(
                &path,
                pos as u64,
                format!("frame of earlier segment {old} in a sealed segment"),
            ));
        }
        let mut torn_len = 0;
        if let Some(fault) = scan.fault {
            if !last {
                return Err(corrupt(
                    &path,
                    pos as u64,
                    format!("{fault} in a sealed segment"),
                ));
            }
            // The torn bytes end where a recycled file's old frames begin.
            let old_from = match find_valid_frame(&map, pos + 1, id) {
                Some(Found::Current(q)) => {
                    return Err(corrupt(
                        &path,
                        pos as u64,
                        format!(
                            "{fault}, followed by a valid frame at byte {q}: damage, not a torn tail"
                        ),
                    ));
                }
                Some(Found::Stale(q)) => q,
                None => map.len(),
            };
            torn_len = nonzero_extent(&map[..old_from], pos);
            stats.dropped_bytes += torn_len;
        }
        let len = pos as u64;
        next_base = Some(header.base + (len - SEGMENT_HEADER_LEN as u64));
        next_id = id + 1;
        if last {
            let torn_end = len + torn_len;
            drop(map);
            // Cut the torn tail and make everything recovered durable, so
            // the log is durable up to its recovered end. Preallocating,
            // zero the torn bytes in place and write zeros up to the
            // segment size instead (written blocks keep syncs data-only);
            // otherwise truncate, tidying trailing zeros too, and reserve
            // the segment's blocks again (as a new segment's are).
            if opts.preallocate {
                write_zeros(file.as_ref(), len, torn_end, false)
                    .and_then(|()| write_zeros(file.as_ref(), file_len, opts.segment_size, false))
                    .map_err(|e| io_err("zero torn tail", &path, e))?;
            } else {
                if file_len > len {
                    file.set_len(len)
                        .map_err(|e| io_err("truncate torn tail", &path, e))?;
                }
                file.allocate(opts.segment_size)
                    .map_err(|e| io_err("allocate segment", &path, e))?;
            }
            sync_file(counters, file.as_ref(), &path)?;
            segments.push(RecoveredSegment {
                id,
                file,
                len,
                base: header.base,
                map: None,
            });
        } else {
            segments.push(RecoveredSegment {
                id,
                file,
                len,
                base: header.base,
                map: Some(map),
            });
        }
    }

    for (&stream, &t) in &trim.points {
        index.entry(stream).or_default().set_trim_point(t);
    }
    stats.nanos = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
    Ok(Recovered {
        segments,
        next_id,
        next_base: next_base.unwrap_or(0),
        index,
        trim,
        stats,
        recycled: recycled.into_values().collect(),
    })
}

/// A segment opened and mapped for recovery, its header not yet judged.
struct Opened {
    id: u64,
    path: std::path::PathBuf,
    file: Arc<dyn IoFile>,
    file_len: u64,
    map: Mapped,
    header: Result<super::format::SegmentHeader, String>,
    last: bool,
}

/// The frames of one segment up to the first one that is not valid.
#[derive(Default)]
struct Scan {
    /// Position and header of each valid frame, in order.
    frames: Vec<(usize, super::format::FrameHeader)>,
    /// Where the valid frames end.
    end: usize,
    /// Why scanning stopped before the end of the file (`None`: a clean
    /// end, only zeros after `end`, or a recycled file's old frames).
    fault: Option<String>,
    /// The segment of the old frame scanning stopped at (recycled file).
    stale: Option<u64>,
}

/// Bytes read per `pread` while scanning: small enough to stay in the CPU
/// caches between the copy and the CRC, large enough to amortise the call.
const SCAN_CHUNK: usize = 1 << 20;

/// A window of a file's bytes read with `pread` into a reused buffer.
struct Window<'a> {
    file: &'a dyn IoFile,
    file_len: u64,
    buf: &'a mut Vec<u8>,
    /// File position of `buf[0]`.
    start: u64,
}

impl Window<'_> {
    /// Bytes `pos..pos + n` (the caller keeps them inside the file),
    /// reading ahead [`SCAN_CHUNK`] when they are not in the window.
    fn bytes(&mut self, pos: u64, n: usize) -> std::io::Result<&[u8]> {
        let held = self.start..self.start + self.buf.len() as u64;
        if !(held.contains(&pos) && pos + n as u64 <= held.end) {
            let len = usize::try_from(self.file_len - pos)
                .unwrap_or(usize::MAX)
                .min(n.max(SCAN_CHUNK));
            self.buf.resize(len, 0);
            read_exact_at(self.file, self.buf, pos)?;
            self.start = pos;
        }
        let at = usize::try_from(pos - self.start).unwrap_or(usize::MAX);
        Ok(&self.buf[at..at + n])
    }
}

/// Checks the frames of segment `o` (no I/O besides reading it); a frame
/// of an earlier segment (recycled file) ends it cleanly.
///
/// Frames are read with `pread`, chunk by chunk, into `buf` — as `cat`
/// reads a file — rather than through the map: on this kind of VM, faulting
/// a map's pages in (and unmapping them at close) cost more than the
/// CRCs, and made a warm reopen slower than reading the files twice. The
/// map (whose pages stay untouched, so cost nothing) serves the rare paths
/// — the end of the valid frames, damage — which look at the whole rest.
fn scan_segment(o: &Opened, buf: &mut Vec<u8>) -> Scan {
    let mut scan = Scan {
        end: SEGMENT_HEADER_LEN,
        ..Scan::default()
    };
    let mut win = Window {
        file: o.file.as_ref(),
        file_len: o.file_len,
        buf,
        start: 0,
    };
    win.buf.clear();
    // Fast path: a whole frame that fits in the file, checked exactly as
    // `check_frame` on the rest of the file would (it reads only
    // `..length` of it when the length fits).
    loop {
        let pos = scan.end as u64;
        let rest = o.file_len.saturating_sub(pos);
        if rest == 0 {
            return scan;
        }
        if rest < FRAME_HEADER_LEN as u64 {
            break;
        }
        let Ok(head) = win.bytes(pos, FRAME_HEADER_LEN) else {
            break;
        };
        let len = u64::from(read_u32(head, 0));
        if len < FRAME_HEADER_LEN as u64 || len > rest {
            break;
        }
        let Ok(frame) = win.bytes(pos, len as usize) else {
            break;
        };
        match check_frame(frame, o.id) {
            Ok(h) => {
                scan.end += h.len as usize;
                scan.frames.push((scan.end - h.len as usize, h));
            }
            Err(FrameFault::Stale(old)) => {
                scan.stale = Some(old);
                return scan;
            }
            Err(_) => break,
        }
    }
    // Whatever stopped the fast path, judged on the whole rest.
    let map: &[u8] = &o.map;
    loop {
        let pos = scan.end;
        let rest = map.get(pos..).unwrap_or_default();
        match check_frame(rest, o.id) {
            Ok(h) => {
                scan.end += h.len as usize;
                scan.frames.push((pos, h));
            }
            Err(FrameFault::Stale(old)) => {
                scan.stale = Some(old);
                return scan;
            }
            Err(FrameFault::Zero) if rest.iter().all(|&x| x == 0) => return scan,
            Err(FrameFault::Zero) => {
                scan.fault = Some("zeros followed by data".to_owned());
                return scan;
            }
            Err(FrameFault::Incomplete(d) | FrameFault::Bad(d)) => {
                scan.fault = Some(d);
                return scan;
            }
        }
    }
}

/// Scans every segment whose header decoded, spread over the machine's
/// cores; results come back in segment order.
fn scan_all(opened: &[Opened]) -> Vec<Scan> {
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(opened.len().max(1));
    let scan_part = |part: &[Opened]| {
        // One read buffer per thread, reused for its segments.
        let mut buf = Vec::new();
        part.iter()
            .map(|o| {
                if o.header.is_ok() {
                    scan_segment(o, &mut buf)
                } else {
                    Scan::default()
                }
            })
            .collect::<Vec<_>>()
    };
    if threads <= 1 {
        return scan_part(opened);
    }
    let chunk = opened.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = opened
            .chunks(chunk)
            .map(|part| (part, scope.spawn(move || scan_part(part))))
            .collect();
        handles
            .into_iter()
            .flat_map(|(part, h)| match h.join() {
                Ok(scans) => scans,
                // A scan thread that could not finish (it cannot panic by
                // design): scan its part here, keeping the results aligned.
                Err(_) => scan_part(part),
            })
            .collect()
    })
}

/// Adds a recovered frame to the index, checking that its stream continues
/// densely.
#[expect(
    clippy::too_many_arguments,
    reason = "one frame's fields, kept flat on the recovery path"
)]
fn push(
    index: &mut Index,
    trim: &TrimState,
    path: &Path,
    pos: u64,
    seg: u64,
    len: u32,
    count: u32,
    stream: u64,
    first: u64,
) -> Result<(), StoreError> {
    let trim_point = trim.points.get(&stream).copied().unwrap_or(0);
    let s = match index.entry(stream) {
        std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
        std::collections::hash_map::Entry::Vacant(v) => {
            // Segments are only deleted below every stream's trim point, so
            // a stream's first surviving record is at or below it.
            if first > trim_point {
                return Err(corrupt(
                    path,
                    pos,
                    format!(
                        "stream {stream} starts at offset {first}, above its trim point {trim_point}: records are missing"
                    ),
                ));
            }
            v.insert(StreamIndex {
                trim_point,
                tail: first,
                batches: Default::default(),
            })
        }
    };
    if first != s.tail {
        return Err(corrupt(
            path,
            pos,
            format!(
                "stream {stream} continues at offset {first}, expected {}",
                s.tail
            ),
        ));
    }
    s.push(BatchLoc {
        first,
        count,
        seg,
        pos,
        len,
    });
    Ok(())
}
