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
use super::prepare::PREPARED_TMP;
use super::recycle::parse_recycle_name;
use super::scan::{Opened, Stop, scan_all};
use super::segment::{file_name, parse_file_name};
use super::stats::{Counters, RecoveryStats};
use super::trim::{TRIM_TMP, TrimState};
use super::writer::{RECYCLED_TMP, WalOptions, sync_dir, sync_file};
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
        .map_err(|e| StoreError::io("list directory", dir, e))?;
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
            io.remove_file(&p)
                .map_err(|e| StoreError::io("remove", &p, e))?;
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
                .map_err(|e| StoreError::io("remove recycled segment", &p, e))?;
        }
    }

    // Leftovers below the lowest live segment: delete again.
    let stale: Vec<u64> = ids.range(..trim.first_live).map(|(id, _)| *id).collect();
    for id in &stale {
        if let Some(name) = ids.remove(id) {
            let p = dir.join(name);
            io.remove_file(&p)
                .map_err(|e| StoreError::io("remove trimmed segment", &p, e))?;
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
    let mut header_torn = false;
    let n = ids.len();
    let mut next_id = ids.keys().next().copied().unwrap_or(expect_id);
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
                next_id = id;
                // The previous segment's seal, if any reached the disk,
                // names this removed segment: it is judged as the last.
                if let Some(p) = opened.last_mut() {
                    p.last = true;
                    header_torn = true;
                }
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
    let mut scans = scan_all(&opened);

    // 3. A roll cut short: the last segment holds no frame and the one
    // before it is not cleanly sealed. The roll creates the next segment
    // durably before it writes and syncs the old one's seal, and writes no
    // frame to the new one before that sync returns: nothing in the new
    // segment was written, and the old one may hold an unsynced tail. The
    // empty segment is removed; the old one is judged as the last.
    let mut successor_removed = header_torn;
    let mut remove_after: Option<std::path::PathBuf> = None;
    if !header_torn && opened.len() >= 2 {
        let l = opened.len() - 1;
        // Sealed, and synced: a roll writes nothing after the seal, and a
        // truncation before it that did not reach the disk (a recycled
        // file's old frames) shows the seal's sync did not complete.
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
        if last_empty && !prev_sealed {
            if let (Some(o), Some(_)) = (opened.pop(), scans.pop()) {
                let recycled = o.header.as_ref().is_ok_and(|h| h.recycled_from != 0);
                if !recycled {
                    stats.dropped_bytes += nonzero_extent(&o.map, SEGMENT_HEADER_LEN);
                }
                // Removed once the old segment's cut (its seal, if one
                // reached the disk) is durable: a crash in between must not
                // leave a sealed last segment without its successor.
                let Opened { path, map, .. } = o;
                drop(map);
                remove_after = Some(path);
            }
            if let Some(p) = opened.last_mut() {
                p.last = true;
            }
            successor_removed = true;
        }
    }

    // 4. Judge each segment in id order (see the module docs): sealed
    // segments must be whole and sealed; the last one is cut where the
    // recovery mode allows.
    let mut index = Index::new();
    let mut segments = Vec::new();
    let mut next_base: Option<u64> = None;
    let mut note = None;
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
        let tail = if last {
            judge_last(&map, &path, header, &scan, opts.recovery, successor_removed)?
        } else {
            judge_sealed(&map, &path, header, &scan)?;
            None
        };
        // Checkpoint frames hold no records (their mark only matters).
        for (pos, h) in scan.frames.iter().filter(|(_, h)| h.count > 0) {
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
        let len = scan.end as u64;
        let mut torn_end = len;
        if let Some(cut) = tail {
            torn_end = len + cut.span;
            stats.dropped_bytes += cut.bytes;
            stats.cut_frames += cut.frames;
            stats.cut_records += cut.records;
            note = Some(format!(
                "recovery ({}): cut {} bytes ({} frames, {} records after the damage) from segment {id} at byte {len}: {}",
                opts.recovery.name(),
                cut.bytes,
                cut.frames,
                cut.records,
                cut.reason
            ));
        }
        next_base = Some(header.base + (len - SEGMENT_HEADER_LEN as u64));
        next_id = id + 1;
        if last {
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
                    .map_err(|e| StoreError::io("zero torn tail", &path, e))?;
            } else {
                if file_len > len {
                    file.set_len(len)
                        .map_err(|e| StoreError::io("truncate torn tail", &path, e))?;
                }
                file.allocate(opts.segment_size)
                    .map_err(|e| StoreError::io("allocate segment", &path, e))?;
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

    if let Some(path) = remove_after {
        io.remove_file(&path)
            .map_err(|e| StoreError::io("remove segment of a cut roll", &path, e))?;
        sync_dir(counters, io, dir)?;
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
        note,
        recycled: recycled.into_values().collect(),
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
