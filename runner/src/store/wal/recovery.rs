//! WAL recovery on open: finds the segments, checks every frame, rebuilds
//! the per-stream index and decides where the log ends.
//!
//! Rules (compare RocksDB's `WALRecoveryMode` and etcd's `wal/repair.go`;
//! the mode is [`RecoveryMode`], `point_in_time` by default):
//! - Segments are read in id order; ids must be consecutive from the lowest
//!   live id (from the trim file) and each header's base position must
//!   continue the previous segment: a gap is a *missing segment*, two files
//!   for one id a *duplicate*; both fail the open.
//! - Segments below the lowest live id are leftovers of trims whose unlink
//!   a crash undid; they are deleted again, never read.
//! - Every frame's CRC is checked, segments in parallel, each read with
//!   1 MiB `pread`s (see `scan_segment` for why not through its map). A
//!   length is never trusted beyond the bytes remaining in the file.
//! - A sealed segment (any but the last) must end with its seal frame right
//!   after its frames, naming where they end: it was synced before any
//!   frame of the next segment was written, so any damage in it fails the
//!   open, in every mode.
//! - The last segment must not be sealed: its seal is written only once the
//!   next segment exists durably, so a sealed last segment means the next
//!   one is *missing* (deleted): the open fails. A roll cut short by a
//!   crash leaves an empty last segment after an unsealed one: the empty
//!   one is removed and the one before it is judged as the last.
//! - The last segment ends cleanly at zeros (preallocated space), at its
//!   file's end, or — in a file recycled from segment `r` (its header
//!   says so) — at a frame of a segment up to `r` with no frame of this
//!   segment after it. Anything else is damage: a torn or corrupt frame,
//!   zeros followed by data, a frame of an earlier segment in a file never
//!   recycled (a misdirected or stale write), or old frames followed by
//!   frames of this segment.
//! - Damage is judged against the *durable extent*: the furthest byte any
//!   surviving frame of the segment (before or after the damage) says was
//!   synced when it was written. Under `point_in_time`, damage beyond it
//!   was never covered by a sync, so nothing from there on was acknowledged
//!   as durable: the segment is cut there (the cut fsynced), and the bytes,
//!   the valid frames and records cut after the damage and the reason are
//!   reported (`recovery_dropped_bytes`, `recovery_cut_frames`,
//!   `recovery_cut_records`, the store's appendix). Damage inside it fails
//!   the open. `absolute_consistency` fails the open for any damage;
//!   `salvage` cuts wherever the damage lies.
//! - Records of each stream must continue densely; trim points from the
//!   trim file hide what lies below them.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use super::damage::{corrupt, frames_after, judge_last, judge_sealed, nonzero_extent};
use super::format::{FRAME_HEADER_LEN, SEGMENT_HEADER_LEN, decode_segment_header};
use super::index::{BatchLoc, Index, StreamIndex};
use super::listing::{Listing, check_consecutive, list_dir};
use super::scan::{Opened, Scan, Stop, scan_all};
use super::stats::{Counters, RecoveryStats};
use super::trim::TrimState;
use super::writer::{WalOptions, sync_dir, sync_file};
use crate::store::api::StoreError;
use crate::store::fs::Mapped;
use crate::store::fs::{Io, IoFile, OpenMode, write_zeros};

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
    /// What was cut and why, when anything was.
    pub(crate) note: Option<String>,
    /// Recycled files kept for reuse, oldest first.
    pub(crate) recycled: Vec<std::path::PathBuf>,
}

/// Recovers the log in `dir` (see the module docs for the rules): the
/// steps below, in order.
pub(crate) fn recover(
    io: &dyn Io,
    dir: &Path,
    opts: &WalOptions,
    counters: &Counters,
) -> Result<Recovered, StoreError> {
    let started = Instant::now();
    let mut stats = RecoveryStats::default();
    let listing = list_dir(io, dir, opts, counters)?;
    let first_free = check_consecutive(dir, &listing.ids, &listing.trim)?;
    let (mut opened, header_torn, removed_id) =
        open_segments(io, dir, &listing.ids, counters, &mut stats)?;
    // Check every frame's CRC, segments in parallel: the expensive part of
    // recovery, and independent per segment.
    let mut scans = scan_all(&opened);
    let (successor_removed, remove_after) = if header_torn {
        (true, None)
    } else {
        drop_cut_roll(&mut opened, &mut scans, &mut stats)
    };
    let judged = judge_all(
        opened,
        scans,
        &listing.trim,
        opts,
        counters,
        successor_removed,
        &mut stats,
    )?;
    if let Some(path) = remove_after {
        io.remove_file(&path)
            .map_err(|e| StoreError::io("remove segment of a cut roll", &path, e))?;
        sync_dir(counters, io, dir)?;
    }
    let Listing {
        ids,
        recycled,
        trim,
    } = listing;
    let mut index = judged.index;
    for (&stream, &t) in &trim.points {
        index.entry(stream).or_default().set_trim_point(t);
    }
    // A new segment follows the last judged one, else takes the id of the
    // removed torn one, else the lowest id found (or the first free one).
    let next_id = judged
        .next_id
        .or(removed_id)
        .or_else(|| ids.keys().next().copied())
        .unwrap_or(first_free);
    stats.nanos = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
    Ok(Recovered {
        segments: judged.segments,
        next_id,
        next_base: judged.next_base.unwrap_or(0),
        index,
        trim,
        stats,
        note: judged.note,
        recycled: recycled.into_values().collect(),
    })
}

/// Step 3: opens and maps every segment, in id order. A last segment whose
/// creation was cut short (its header is synced before any frame is
/// written, so nothing in it was ever acknowledged) is removed here; then
/// the one before it is judged as the last (`true`), and the removed id is
/// returned for the next segment to take.
fn open_segments(
    io: &dyn Io,
    dir: &Path,
    ids: &BTreeMap<u64, String>,
    counters: &Counters,
    stats: &mut RecoveryStats,
) -> Result<(Vec<Opened>, bool, Option<u64>), StoreError> {
    let mut opened: Vec<Opened> = Vec::new();
    let n = ids.len();
    for (i, (&id, name)) in ids.iter().enumerate() {
        let last = i + 1 == n;
        let path = dir.join(name);
        let file = io
            .open(&path, OpenMode::Existing)
            .map_err(|e| StoreError::io("open segment", &path, e))?;
        let file_len = file
            .len()
            .map_err(|e| StoreError::io("stat segment", &path, e))?;
        let map = file
            .map(file_len)
            .map_err(|e| StoreError::io("map segment", &path, e))?;
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
                    .map_err(|e| StoreError::io("remove torn segment", &path, e))?;
                sync_dir(counters, io, dir)?;
                // The previous segment's seal, if any reached the disk,
                // names this removed segment: it is judged as the last.
                let header_torn = match opened.last_mut() {
                    Some(p) => {
                        p.last = true;
                        true
                    }
                    None => false,
                };
                return Ok((opened, header_torn, Some(id)));
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
    Ok((opened, false, None))
}

/// Step 4: a roll cut short. The last segment holds no frame and the one
/// before it is not cleanly sealed. The roll creates the next segment
/// durably before it writes and syncs the old one's seal, and writes no
/// frame to the new one before that sync returns: nothing in the new
/// segment was written, and the old one may hold an unsynced tail. The
/// empty segment is dropped from judging (its file is removed once the
/// old segment's cut is durable: the path returned) and the old one is
/// judged as the last. Returns whether a successor was removed.
fn drop_cut_roll(
    opened: &mut Vec<Opened>,
    scans: &mut Vec<Scan>,
    stats: &mut RecoveryStats,
) -> (bool, Option<std::path::PathBuf>) {
    if opened.len() < 2 {
        return (false, None);
    }
    let l = opened.len() - 1;
    // Sealed, and synced: a roll writes nothing after the seal, and a
    // truncation before it that did not reach the disk (a recycled file's
    // old frames) shows the seal's sync did not complete.
    let prev_sealed = matches!(scans[l - 1].stop, Stop::Seal(_))
        && opened[l - 1]
            .map
            .get(scans[l - 1].end + FRAME_HEADER_LEN..)
            .is_none_or(|r| r.iter().all(|&x| x == 0));
    let last_empty = opened[l].header.is_ok()
        && scans[l].frames.is_empty()
        && (matches!(scans[l].stop, Stop::End | Stop::Stale(_))
            || frames_after(&opened[l].map, scans[l].end, opened[l].id)
                .frames
                .is_empty());
    if !last_empty || prev_sealed {
        return (false, None);
    }
    let mut remove_after = None;
    if let (Some(o), Some(_)) = (opened.pop(), scans.pop()) {
        let recycled = o.header.as_ref().is_ok_and(|h| h.recycled_from != 0);
        if !recycled {
            stats.dropped_bytes += nonzero_extent(&o.map, SEGMENT_HEADER_LEN);
        }
        // Removed once the old segment's cut (its seal, if one reached the
        // disk) is durable: a crash in between must not leave a sealed last
        // segment without its successor.
        let Opened { path, map, .. } = o;
        drop(map);
        remove_after = Some(path);
    }
    if let Some(p) = opened.last_mut() {
        p.last = true;
    }
    (true, remove_after)
}

/// What judging the segments produced.
struct Judged {
    segments: Vec<RecoveredSegment>,
    index: Index,
    /// The id after the last judged segment.
    next_id: Option<u64>,
    next_base: Option<u64>,
    note: Option<String>,
}

/// Step 5: judges each segment in id order (see the module docs): sealed
/// segments must be whole and sealed; the last one is cut where the
/// recovery mode allows, and made durable up to its recovered end.
fn judge_all(
    opened: Vec<Opened>,
    scans: Vec<Scan>,
    trim: &TrimState,
    opts: &WalOptions,
    counters: &Counters,
    successor_removed: bool,
    stats: &mut RecoveryStats,
) -> Result<Judged, StoreError> {
    let mut judged = Judged {
        segments: Vec::new(),
        index: Index::new(),
        next_id: None,
        next_base: None,
        note: None,
    };
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
        check_header(&path, id, header, judged.next_base)?;
        let tail = if last {
            judge_last(&map, &path, header, &scan, opts.recovery, successor_removed)?
        } else {
            judge_sealed(&map, &path, header, &scan)?;
            None
        };
        // Checkpoint frames hold no records (their mark only matters).
        for (pos, h) in scan.frames.iter().filter(|(_, h)| h.count > 0) {
            push(
                &mut judged.index,
                trim,
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
        let len = scan.end as u64;
        let mut torn_end = len;
        if let Some(cut) = tail {
            torn_end = len + cut.span;
            stats.dropped_bytes += cut.bytes;
            stats.cut_frames += cut.frames;
            stats.cut_records += cut.records;
            judged.note = Some(format!(
                "recovery ({}): cut {} bytes ({} frames, {} records after the damage) from segment {id} at byte {len}: {}",
                opts.recovery.name(),
                cut.bytes,
                cut.frames,
                cut.records,
                cut.reason
            ));
        }
        judged.next_base = Some(header.base + (len - SEGMENT_HEADER_LEN as u64));
        judged.next_id = Some(id + 1);
        let map = if last {
            drop(map);
            make_tail_durable(
                file.as_ref(),
                &path,
                Extent {
                    len,
                    torn_end,
                    file_len,
                },
                opts,
                counters,
            )?;
            None
        } else {
            Some(map)
        };
        judged.segments.push(RecoveredSegment {
            id,
            file,
            len,
            base: header.base,
            map,
        });
    }
    Ok(judged)
}

/// A segment file's header must name its id and continue the previous
/// segment's log positions.
fn check_header(
    path: &Path,
    id: u64,
    header: super::format::SegmentHeader,
    next_base: Option<u64>,
) -> Result<(), StoreError> {
    if header.id != id {
        return Err(corrupt(
            path,
            16,
            format!("file of segment {id} holds segment {}", header.id),
        ));
    }
    if let Some(b) = next_base
        && header.base != b
    {
        return Err(corrupt(
            path,
            24,
            format!(
                "base position {} does not continue the previous segment (ends at {b})",
                header.base
            ),
        ));
    }
    Ok(())
}

/// Where the last segment's recovered frames end, where its torn tail
/// ends, and how long the file is.
struct Extent {
    len: u64,
    torn_end: u64,
    file_len: u64,
}

/// Cuts the last segment's torn tail and makes everything recovered
/// durable, so the log is durable up to its recovered end. Preallocating,
/// zeroes the torn bytes in place and writes zeros up to the segment size
/// instead (written blocks keep syncs data-only); otherwise truncates,
/// tidying trailing zeros too, and reserves the segment's blocks again (as
/// a new segment's are).
fn make_tail_durable(
    file: &dyn IoFile,
    path: &Path,
    at: Extent,
    opts: &WalOptions,
    counters: &Counters,
) -> Result<(), StoreError> {
    if opts.preallocate {
        write_zeros(file, at.len, at.torn_end, false)
            .and_then(|()| write_zeros(file, at.file_len, opts.segment_size, false))
            .map_err(|e| StoreError::io("zero torn tail", path, e))?;
    } else {
        if at.file_len > at.len {
            file.set_len(at.len)
                .map_err(|e| StoreError::io("truncate torn tail", path, e))?;
        }
        file.allocate(opts.segment_size)
            .map_err(|e| StoreError::io("allocate segment", path, e))?;
    }
    sync_file(counters, file, path)
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
