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

use super::format::{
    CHECKPOINT_MAGIC, FRAME_HEADER_LEN, FRAME_MAGIC, FrameFault, SEAL_MAGIC, SEGMENT_HEADER_LEN,
    check_frame, decode_segment_header, read_u32,
};
use super::index::{BatchLoc, Index, StreamIndex};
use super::prepare::PREPARED_TMP;
use super::recycle::parse_recycle_name;
use super::segment::{file_name, parse_file_name};
use super::stats::{Counters, RecoveryStats};
use super::trim::{TRIM_TMP, TrimState};
use super::writer::{RECYCLED_TMP, RecoveryMode, WalOptions, sync_dir, sync_file};
use crate::store::api::StoreError;
use crate::store::fs::Mapped;
use crate::store::fs::{Io, IoFile, OpenMode, read_exact_at, write_zeros};

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

fn corrupt(path: &Path, offset: u64, detail: impl Into<String>) -> StoreError {
    StoreError::Corrupt {
        path: path.to_path_buf(),
        offset,
        detail: detail.into(),
    }
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

/// What recovery cuts from the end of the last segment, and why.
#[derive(Debug)]
struct Cut {
    /// Bytes cut and reported (trailing zeros, a recycled file's old
    /// frames and a seal frame not counted).
    bytes: u64,
    /// Bytes to clear after the recovered end (the cut bytes, or a seal).
    span: u64,
    /// Valid frames of the segment found after the damage (cut with it).
    frames: u64,
    /// Records in those frames.
    records: u64,
    /// Why the cut is allowed.
    reason: String,
}

/// A sealed segment must end with its seal, right after its frames, and the
/// seal must name where they end: it was synced before any frame of the
/// next segment was written, so any damage in it is damage to durable data.
fn judge_sealed(
    map: &[u8],
    path: &Path,
    header: super::format::SegmentHeader,
    scan: &Scan,
) -> Result<(), StoreError> {
    let end = scan.end as u64;
    let frames_end = header.base + (end - SEGMENT_HEADER_LEN as u64);
    match &scan.stop {
        Stop::Seal(h) if h.durable == frames_end => {
            let after = scan.end + FRAME_HEADER_LEN;
            match map
                .get(after..)
                .and_then(|r| r.iter().position(|&x| x != 0))
            {
                Some(i) => Err(corrupt(
                    path,
                    (after + i) as u64,
                    "data after the seal frame of a sealed segment",
                )),
                None => Ok(()),
            }
        }
        Stop::Seal(h) => Err(corrupt(
            path,
            end,
            format!(
                "seal frame says the segment's frames end at log position {}, they end at {frames_end}",
                h.durable
            ),
        )),
        Stop::End => Err(corrupt(
            path,
            end,
            "sealed segment ends without its seal frame (a later segment exists)",
        )),
        Stop::Stale(old) => Err(corrupt(
            path,
            end,
            format!("frame of earlier segment {old} in a sealed segment"),
        )),
        Stop::Fault(f) => Err(corrupt(path, end, format!("{f} in a sealed segment"))),
    }
}

/// The local byte of a segment up to which a durable mark `mark` (a log
/// position) says the segment was synced.
fn durable_local(mark: u64, header: super::format::SegmentHeader) -> u64 {
    SEGMENT_HEADER_LEN as u64 + mark.saturating_sub(header.base)
}

/// Judges the end of the last segment under `mode`: `None` when it ends
/// cleanly, the [`Cut`] when damage may be cut, an error when it may not.
/// `successor_removed`: recovery removed an empty segment after it (a roll
/// cut short), so a seal frame in it names no surviving successor.
fn judge_last(
    map: &[u8],
    path: &Path,
    header: super::format::SegmentHeader,
    scan: &Scan,
    mode: RecoveryMode,
    successor_removed: bool,
) -> Result<Option<Cut>, StoreError> {
    let id = header.id;
    let end = scan.end;
    let missing = |at: usize| {
        corrupt(
            path,
            at as u64,
            format!(
                "missing segment {}: segment {id} is sealed (its seal frame at byte {at} is written only once the next segment exists)",
                id + 1
            ),
        )
    };
    let damage = match &scan.stop {
        Stop::End => return Ok(None),
        Stop::Seal(_) if successor_removed => {
            return Ok(Some(Cut {
                bytes: 0,
                span: nonzero_extent(map, end).max(FRAME_HEADER_LEN as u64),
                frames: 0,
                records: 0,
                reason: format!(
                    "a roll cut short: the seal frame of segment {id}, whose successor held no frame and was removed"
                ),
            }));
        }
        Stop::Seal(_) => return Err(missing(end)),
        Stop::Stale(old) if header.recycled_from != 0 && *old <= header.recycled_from => None,
        Stop::Stale(old) if header.recycled_from == 0 => Some(format!(
            "frame of earlier segment {old} in segment {id}, whose file was never recycled"
        )),
        Stop::Stale(old) => Some(format!(
            "frame of segment {old} in segment {id}, whose file was recycled from segment {}",
            header.recycled_from
        )),
        Stop::Fault(f) => Some(f.clone()),
    };
    let after = frames_after(map, end, id);
    if let Some((q, _)) = after.frames.iter().find(|(_, h)| h.is_seal())
        && !successor_removed
    {
        return Err(missing(*q));
    }
    if header.recycled_from != 0
        && after.frames.is_empty()
        && let Some(old_from) = after.old_from
        && let Some(damage) = &damage
    {
        // In a recycled file the new frames end inside an old frame: the
        // bytes up to the next old frame are its remains (or a torn frame:
        // no frame of this segment follows, so nothing here was synced).
        let bytes = nonzero_extent(&map[..old_from], end);
        return Ok((bytes > 0).then(|| Cut {
            bytes,
            span: bytes,
            frames: 0,
            records: 0,
            reason: format!(
                "{damage}: the remains of the recycled file's earlier frames (its old frames resume at byte {old_from}, no frame of this segment follows)"
            ),
        }));
    }
    let reason = match (damage, after.frames.first()) {
        // A recycled file's earlier frames, and nothing of this segment
        // after them: a clean end.
        (None, None) => return Ok(None),
        (None, Some((q, _))) => format!(
            "frame of an earlier use of the recycled file, followed by a frame of this segment at byte {q}"
        ),
        (Some(d), Some((q, _))) => format!("{d}, followed by a frame of this segment at byte {q}"),
        (Some(d), None) => d,
    };
    // The durable extent: the furthest any surviving frame of this
    // segment, before or after the damage, says the log was synced.
    let durable = scan
        .frames
        .iter()
        .chain(&after.frames)
        .filter(|(_, h)| !h.is_seal())
        .map(|(_, h)| durable_local(h.durable, header))
        .max()
        .unwrap_or(SEGMENT_HEADER_LEN as u64);
    let inside = (end as u64) < durable;
    let frames: Vec<_> = after.frames.iter().filter(|(_, h)| h.count > 0).collect();
    let records = frames.iter().map(|(_, h)| u64::from(h.count)).sum();
    let limit = after.old_from.unwrap_or(map.len());
    let bytes = nonzero_extent(&map[..limit.max(end)], end);
    let why = if inside {
        format!(
            "inside the durable extent (a surviving frame says the segment was synced up to byte {durable})"
        )
    } else {
        format!(
            "beyond the durable extent (byte {durable}): no sync ever covered it, so nothing from here on was acknowledged as durable"
        )
    };
    match mode {
        RecoveryMode::AbsoluteConsistency => Err(corrupt(
            path,
            end as u64,
            format!("{reason}; {why}; recovery_mode absolute_consistency refuses any damage"),
        )),
        RecoveryMode::PointInTime if inside => Err(corrupt(
            path,
            end as u64,
            format!("{reason}: damage to acknowledged data, {why}; recovery_mode salvage cuts it"),
        )),
        RecoveryMode::PointInTime | RecoveryMode::Salvage => Ok(Some(Cut {
            bytes,
            span: bytes,
            frames: frames.len() as u64,
            records,
            reason: format!(
                "{reason}, {why}{}",
                if inside {
                    " (recovery_mode salvage: acknowledged records may be lost)"
                } else {
                    ""
                }
            ),
        })),
    }
}

/// Valid frames found after damage.
#[derive(Debug, Default)]
struct After {
    /// Valid frames (and seals) of the segment after the damage, in order.
    frames: Vec<(usize, super::format::FrameHeader)>,
    /// Where a recycled file's earlier frames begin after the last of them.
    old_from: Option<usize>,
}

/// Searches `b` byte by byte from `from + 1` for valid frames of segment
/// `segment` (and of earlier segments: a recycled file's old frames), as a
/// frame found after damage decides whether the damage was a torn tail.
fn frames_after(b: &[u8], from: usize, segment: u64) -> After {
    let magics = [FRAME_MAGIC, SEAL_MAGIC, CHECKPOINT_MAGIC].map(u32::to_le_bytes);
    let mut out = After::default();
    let mut q = from + 1;
    while q + FRAME_HEADER_LEN <= b.len() {
        let m = &b[q + 8..q + 12];
        if magics.iter().any(|x| x == m) && read_u32(b, q) as usize >= FRAME_HEADER_LEN {
            match check_frame(&b[q..], segment) {
                Ok(h) => {
                    out.frames.push((q, h));
                    out.old_from = None;
                    q += h.len as usize;
                    continue;
                }
                Err(FrameFault::Stale(_)) => {
                    if out.old_from.is_none() {
                        out.old_from = Some(q);
                    }
                    // Checked whole: jump over it.
                    q += (read_u32(b, q) as usize).max(1);
                    continue;
                }
                Err(_) => {}
            }
        }
        q += 1;
    }
    out
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
struct Scan {
    /// Position and header of each valid batch frame, in order.
    frames: Vec<(usize, super::format::FrameHeader)>,
    /// Where the valid frames end.
    end: usize,
    /// What lies at `end`.
    stop: Stop,
}

/// What a segment's scan stopped at.
#[derive(Debug)]
enum Stop {
    /// The end of the file, or only zeros after the frames.
    End,
    /// The segment's seal frame.
    Seal(super::format::FrameHeader),
    /// A valid frame of this earlier segment.
    Stale(u64),
    /// Not a valid frame: why.
    Fault(String),
}

impl Default for Scan {
    fn default() -> Self {
        Scan {
            frames: Vec::new(),
            end: SEGMENT_HEADER_LEN,
            stop: Stop::End,
        }
    }
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
    let mut scan = Scan::default();
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
            Ok(h) if h.is_seal() => {
                scan.stop = Stop::Seal(h);
                return scan;
            }
            Ok(h) => {
                scan.end += h.len as usize;
                scan.frames.push((scan.end - h.len as usize, h));
            }
            Err(FrameFault::Stale(old)) => {
                scan.stop = Stop::Stale(old);
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
            Ok(h) if h.is_seal() => {
                scan.stop = Stop::Seal(h);
                return scan;
            }
            Ok(h) => {
                scan.end += h.len as usize;
                scan.frames.push((pos, h));
            }
            Err(FrameFault::Stale(old)) => {
                scan.stop = Stop::Stale(old);
                return scan;
            }
            Err(FrameFault::Zero) if rest.iter().all(|&x| x == 0) => return scan,
            Err(FrameFault::Zero) => {
                scan.stop = Stop::Fault("zeros followed by data".to_owned());
                return scan;
            }
            Err(FrameFault::Incomplete(d) | FrameFault::Bad(d)) => {
                scan.stop = Stop::Fault(d);
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
