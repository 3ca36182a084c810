//! Recovery's judgement of where a segment's valid frames stop: a clean
//! end, a torn tail or hole it may cut (a [`Cut`], with its reason), or
//! damage to data the log had made durable, which it refuses — as the
//! recovery mode says.

use std::path::Path;

use super::format::{
    CHECKPOINT_MAGIC, FRAME_HEADER_LEN, FRAME_MAGIC, FrameFault, SEAL_MAGIC, SEGMENT_HEADER_LEN,
    check_frame, read_u32,
};
use super::scan::{Scan, Stop};
use super::writer::RecoveryMode;
use crate::store::api::StoreError;

pub(super) fn corrupt(path: &Path, offset: u64, detail: impl Into<String>) -> StoreError {
    StoreError::Corrupt {
        path: path.to_path_buf(),
        offset,
        detail: detail.into(),
    }
}

/// Bytes from `from` up to and including the last non-zero byte.
pub(super) fn nonzero_extent(b: &[u8], from: usize) -> u64 {
    b[from..]
        .iter()
        .rposition(|&x| x != 0)
        .map_or(0, |i| i as u64 + 1)
}

/// What recovery cuts from the end of the last segment, and why.
#[derive(Debug)]
pub(super) struct Cut {
    /// Bytes cut and reported (trailing zeros, a recycled file's old
    /// frames and a seal frame not counted).
    pub(super) bytes: u64,
    /// Bytes to clear after the recovered end (the cut bytes, or a seal).
    pub(super) span: u64,
    /// Valid frames of the segment found after the damage (cut with it).
    pub(super) frames: u64,
    /// Records in those frames.
    pub(super) records: u64,
    /// Why the cut is allowed.
    pub(super) reason: String,
}

/// A sealed segment must end with its seal, right after its frames, and the
/// seal must name where they end: it was synced before any frame of the
/// next segment was written, so any damage in it is damage to durable data.
pub(super) fn judge_sealed(
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
pub(super) fn judge_last(
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
pub(super) struct After {
    /// Valid frames (and seals) of the segment after the damage, in order.
    pub(super) frames: Vec<(usize, super::format::FrameHeader)>,
    /// Where a recycled file's earlier frames begin after the last of them.
    pub(super) old_from: Option<usize>,
}

/// Searches `b` byte by byte from `from + 1` for valid frames of segment
/// `segment` (and of earlier segments: a recycled file's old frames), as a
/// frame found after damage decides whether the damage was a torn tail.
pub(super) fn frames_after(b: &[u8], from: usize, segment: u64) -> After {
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
