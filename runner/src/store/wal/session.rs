//! A worker's session on the WAL: append (encode, write under the writer
//! lock, wait for durability per the sync policy), read (index lookup, then
//! mapped or `pread` bytes), trim (persist, then recycle or unlink dead
//! segments),
//! sync and bounds.
//!
//! Each session owns its encode and read buffers, so steady-state appends
//! and reads allocate nothing.

use std::sync::atomic::Ordering;
use std::sync::{Arc, MutexGuard, PoisonError};

use super::Shared;
use super::format::{FRAME_HEADER_LEN, Records, encode_frame, frame_len};
use super::index::BatchLoc;
use super::writer::{WalSync, Writer};
use crate::store::api::{LogBounds, Offset, ReadBuf, Record, Session, StoreError};
use crate::store::fs::write_all_at;

/// Batches one read collects at most (bounds the work of a huge
/// `max_bytes`; the caller continues from the returned offset).
const MAX_BATCHES_PER_READ: usize = 16 * 1024;

/// One worker's handle on a [`super::WalStore`].
#[derive(Debug)]
pub(crate) struct WalSession {
    shared: Arc<Shared>,
    /// The frame being appended.
    frame: Vec<u8>,
    /// Batch locations of the read in progress.
    locs: Vec<BatchLoc>,
    /// `pread` buffer for frames of the active segment.
    scratch: Vec<u8>,
    /// This session has appended, so group commit counts it as a writer.
    writer: bool,
}

impl Drop for WalSession {
    fn drop(&mut self) {
        if self.writer {
            self.shared.commit.writer_left(&self.shared.writer);
        }
    }
}

impl WalSession {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Self {
            shared,
            frame: Vec::new(),
            locs: Vec::new(),
            scratch: Vec::new(),
            writer: false,
        }
    }

    /// Writes the encoded `frame` for `stream`; returns its first offset
    /// and the writer lock, still held (group commit waits under it).
    fn write_frame<'a>(
        sh: &'a Shared,
        frame: &mut [u8],
        stream: u64,
        records: u32,
        body_bytes: u64,
        pending: &super::format::PendingFrame,
    ) -> Result<(Offset, MutexGuard<'a, Writer>), StoreError> {
        let mut w = sh.writer.lock().unwrap_or_else(PoisonError::into_inner);
        sh.check_poison()?;
        let flen = frame.len() as u64;
        if w.pos + flen > sh.opts.segment_size {
            match w.roll(&sh.segment_source()) {
                Ok(seg) => {
                    sh.segments
                        .write()
                        .unwrap_or_else(PoisonError::into_inner)
                        .insert(seg.id, seg);
                }
                Err(e) => {
                    sh.poison_locked(&w, &e);
                    return Err(e);
                }
            }
        }
        let first = w.tails.get(&stream).copied().unwrap_or(0);
        let durable = w.commit.synced_to();
        pending.seal(frame, first, w.active.id, durable);
        let pos = w.pos;
        if let Err(e) = write_all_at(w.active.file.as_ref(), frame, pos) {
            // The file may now hold part of this frame: never write after it
            // and never acknowledge again; a reopen truncates the torn tail.
            let e = StoreError::io("write", &w.active.path, e);
            sh.poison_locked(&w, &e);
            return Err(e);
        }
        w.pos += flen;
        if let Some(wb) = &sh.writeback {
            w.start_writeback(wb);
        }
        w.tails.insert(stream, first + u64::from(records));
        w.counts.appends += 1;
        w.counts.records += u64::from(records);
        w.counts.bytes += body_bytes;
        w.counts.bytes_written += flen;
        let seg = w.active.id;
        sh.index
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(stream)
            .or_default()
            .push(BatchLoc {
                first,
                count: records,
                seg,
                pos,
                len: u32::try_from(flen).unwrap_or(u32::MAX),
            });
        Ok((first, w))
    }

    /// Copies the locations a read from `from` needs into `self.locs`;
    /// returns (start offset, true if there is anything to read).
    fn plan_read(&mut self, stream: u64, from: Offset, max_bytes: usize) -> (Offset, bool) {
        self.locs.clear();
        let idx = self
            .shared
            .index
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        let Some(s) = idx.get(&stream) else {
            return (from, false);
        };
        let start = from.max(s.trim_point);
        if start >= s.tail {
            return (start, false);
        }
        let mut budget = 0usize;
        for loc in s.batches.range(s.locate(start)..) {
            self.locs.push(*loc);
            // Frame bytes minus the minimal record headers: close to (never
            // below) the body bytes it holds.
            budget += (loc.len as usize).saturating_sub(FRAME_HEADER_LEN + 5 * loc.count as usize);
            if budget >= max_bytes || self.locs.len() >= MAX_BATCHES_PER_READ {
                break;
            }
        }
        (start, true)
    }
}

impl Session for WalSession {
    fn append(&mut self, stream: u64, batch: &[Record<'_>]) -> Result<Offset, StoreError> {
        if batch.is_empty() {
            return Ok(self.bounds(stream)?.tail);
        }
        let flen = frame_len(batch);
        let max = self.shared.opts.segment_size - super::format::SEGMENT_HEADER_LEN as u64;
        if flen as u64 > max || u32::try_from(flen).is_err() || u32::try_from(batch.len()).is_err()
        {
            return Err(StoreError::Invalid {
                op: "append",
                detail: format!(
                    "a batch of {} records encodes to {flen} bytes, more than a segment holds ({max} bytes); raise segment_size",
                    batch.len()
                ),
            });
        }
        if !self.writer {
            self.writer = true;
            self.shared.commit.writer_joined();
        }
        let pending = encode_frame(&mut self.frame, stream, batch);
        let body_bytes = batch.iter().map(|r| r.body.len() as u64).sum();
        let records = u32::try_from(batch.len()).unwrap_or(u32::MAX);
        let sh = &*self.shared;
        let (first, w) =
            Self::write_frame(sh, &mut self.frame, stream, records, body_bytes, &pending)?;
        let end = w.end();
        match sh.opts.sync {
            WalSync::Never => drop(w),
            WalSync::Always => sh.wait_durable(w, end, None)?,
            WalSync::Batch => sh.wait_durable(w, end, Some(sh.opts.sync_interval))?,
        }
        Ok(first)
    }

    fn read(
        &mut self,
        stream: u64,
        from: Offset,
        max_bytes: usize,
        out: &mut ReadBuf,
    ) -> Result<Offset, StoreError> {
        out.clear();
        // A concurrent trim may unlink a planned segment; the retry starts
        // from the new trim point.
        for _attempt in 0..4 {
            let (start, any) = self.plan_read(stream, from, max_bytes);
            if !any {
                return Ok(start);
            }
            let locs = std::mem::take(&mut self.locs);
            let result = self.fetch(&locs, start, max_bytes, out);
            self.locs = locs;
            match result? {
                Some(next) => return Ok(next),
                None => continue,
            }
        }
        Ok(from)
    }

    fn trim(&mut self, stream: u64, up_to: Offset) -> Result<(), StoreError> {
        self.trim_many(&[(stream, up_to)])
    }

    /// Every point applied, then one trim file written for all of them
    /// (its file and directory fsync), not one per stream: a trimmer of 16
    /// streams costs 2 fsyncs per round instead of 32.
    fn trim_many(&mut self, points: &[(u64, Offset)]) -> Result<(), StoreError> {
        let sh = &*self.shared;
        sh.check_poison()?;
        let mut persisted = sh.trim_state.lock().unwrap_or_else(PoisonError::into_inner);
        let active = sh
            .writer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .active
            .id;
        let mut next = persisted.clone();
        {
            let mut idx = sh.index.write().unwrap_or_else(PoisonError::into_inner);
            let mut moved = false;
            for &(stream, up_to) in points {
                if let Some(s) = idx.get_mut(&stream)
                    && s.trim(up_to)
                {
                    next.points.insert(stream, s.trim_point);
                    moved = true;
                }
            }
            if !moved {
                return Ok(());
            }
            let first_live = idx
                .values()
                .filter_map(|s| s.first_segment())
                .min()
                .unwrap_or(active)
                .min(active);
            next.first_live = next.first_live.max(first_live);
        }
        if let Err(e) = next.store(sh.io.as_ref(), &sh.dir, &sh.counters) {
            sh.poison(&e);
            return Err(e);
        }
        *persisted = next;
        let doomed: Vec<_> = {
            let mut segs = sh.segments.write().unwrap_or_else(PoisonError::into_inner);
            let keep = segs.split_off(&persisted.first_live);
            std::mem::replace(&mut *segs, keep).into_values().collect()
        };
        for seg in doomed {
            // Kept for reuse when there is room and no reader holds it;
            // unlinked otherwise. Either way it is gone from the log.
            sh.recycler.offer(sh.io.as_ref(), seg)?;
            sh.counters.segments_deleted.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }

    fn sync(&mut self) -> Result<(), StoreError> {
        self.shared.sync_all()
    }

    fn bounds(&mut self, stream: u64) -> Result<LogBounds, StoreError> {
        let idx = self
            .shared
            .index
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        Ok(idx
            .get(&stream)
            .map_or_else(LogBounds::default, |s| LogBounds {
                trim_point: s.trim_point,
                tail: s.tail,
            }))
    }
}

impl WalSession {
    /// Reads the planned batches into `out` from `start`; `None` when a
    /// segment vanished (trimmed) before anything was read.
    fn fetch(
        &mut self,
        locs: &[BatchLoc],
        start: Offset,
        max_bytes: usize,
        out: &mut ReadBuf,
    ) -> Result<Option<Offset>, StoreError> {
        let mut next = start;
        for loc in locs {
            let seg = self
                .shared
                .segments
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .get(&loc.seg)
                .cloned();
            let Some(seg) = seg else {
                return Ok(if out.is_empty() { None } else { Some(next) });
            };
            let bytes = seg
                .bytes(loc.pos, loc.len as usize, &mut self.scratch)
                .map_err(|e| StoreError::io("read", &seg.path, e))?;
            for (i, r) in Records::new(bytes).enumerate() {
                let offset = loc.first + i as u64;
                let (keys, body) = r.map_err(|detail| StoreError::Corrupt {
                    path: seg.path.clone(),
                    offset: loc.pos,
                    detail,
                })?;
                if offset < next {
                    continue;
                }
                if !out.is_empty() && out.bytes() + body.len() > max_bytes {
                    return Ok(Some(next));
                }
                out.push(offset, keys, body);
                next = offset + 1;
            }
        }
        Ok(Some(next))
    }
}
