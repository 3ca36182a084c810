//! The WAL's write side: options and sync policies, the active segment,
//! segment creation, roll and seal, and group commit.
//!
//! - **Roll**: a batch that does not fit the active segment's remaining
//!   space seals it — truncate to the last frame, create the next segment
//!   (or, with `preallocate`, take the file the `prepare` thread
//!   zero-filled; its header and directory entry are fsynced), write the
//!   old segment's seal frame, `fdatasync` it (under every policy, so a
//!   segment with frames after it is whole), map it. The seal is written
//!   only once the next segment exists durably, so a segment ending with
//!   its seal proves a successor: recovery detects a missing last segment.
//!   Nothing is written to the next segment before the old one's sync
//!   returns, so a crash inside a roll leaves the next segment empty, and
//!   recovery removes it and treats the old one as the last.
//! - **Durable mark**: every frame carries the log position synced when it
//!   was written ([`CommitState`]'s `synced_to`, read under the lock the
//!   frame is written under — no extra write or sync); recovery uses it to
//!   tell damage to acknowledged data from an unacknowledged tail.
//! - **Group commit** ([`GroupCommit`]): one `fdatasync` at a time
//!   acknowledges every append written before it; appenders that arrive
//!   during it wait on a condition variable and share the next one. Under
//!   `batch` the first appender to find no sync running gathers: it waits
//!   until every session that writes is waiting for durability too, or
//!   until `sync_interval` has passed, and then syncs; the appender that
//!   completes the group syncs at once instead of waking the gatherer (a
//!   lone writer syncs at once), and the sync that starts ends the
//!   gatherer's role, so the first appender after it gathers the next
//!   group without anyone being woken for it. Under `always` nobody
//!   gathers. The group-commit state lives under the writer lock, so an
//!   appender writes and joins the group under one lock, and the waiters
//!   are woken once that lock is released (a waiter woken while it is
//!   held sleeps again on it).
//! - **Poison**: a failed fsync (or write) is never retried — Linux may
//!   drop the dirty pages and report success on a retry (the 2018
//!   PostgreSQL fsync lesson). The store is poisoned: the waiters of that
//!   sync get the error, and nothing later is acknowledged; only a reopen,
//!   which recovers what is really on disk, clears it.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use super::format::{SEGMENT_HEADER_LEN, SegmentHeader, encode_seal, encode_segment_header};
use super::prepare::Preparer;
use super::recycle::Recycler;
use super::segment::{Segment, file_name};
use super::stats::{Counters, WriteCounts};
use super::writeback::{WRITEBACK_BYTES, Writeback};
use crate::store::api::{Offset, StoreError};
use crate::store::fs::{Io, IoFile, OpenMode, write_all_at};

/// When an append is made durable before it is acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WalSync {
    /// `fdatasync` before every append returns; concurrent appends share
    /// one fsync.
    Always,
    /// Group commit: one `fdatasync` per `sync_interval` window acknowledges
    /// every append that arrived in it.
    #[default]
    Batch,
    /// Never fsync on append (page cache only); segments are still synced
    /// when sealed and the store when closed.
    Never,
}

/// Options of the `wal` target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WalOptions {
    /// Bytes per segment file; a batch must fit in one segment (minus its
    /// 40-byte header and the 48-byte frame header; a sealed segment's
    /// 48-byte seal frame may lie beyond it). At least [`MIN_SEGMENT_SIZE`].
    pub segment_size: u64,
    /// The sync policy.
    pub sync: WalSync,
    /// The group-commit window of [`WalSync::Batch`].
    pub sync_interval: Duration,
    /// Write each segment full of zeros (and sync it) before it is used, in
    /// a background thread, so synced appends overwrite written blocks and
    /// `fdatasync` flushes data only, with no size or extent change to
    /// journal. Zeros after the last frame are a clean end to recovery.
    pub preallocate: bool,
    /// Keep up to this many segment files that trims made dead and reuse
    /// them as new segments (header rewritten, old frames made unreadable
    /// by the segment id in every frame) before creating or zero-filling a
    /// file. 0 unlinks dead segments.
    pub recycle_segments: usize,
    /// What recovery does with damage it finds on open (see
    /// [`RecoveryMode`]).
    pub recovery: RecoveryMode,
}

/// What recovery does with damage (compare RocksDB's `WALRecoveryMode`).
///
/// Every frame carries the log position known durable when it was written
/// (see `format`), so recovery knows a *durable extent*: bytes that a sync
/// covered before some surviving frame was written. A power loss cannot
/// damage them (they were on disk), nor can a crash; damage there is media
/// or software damage to acknowledged data. Damage beyond it — a torn
/// frame, zeros, a hole with later frames that reached the disk out of
/// order — lies where no sync ever reached, so nothing at or after it was
/// acknowledged as durable under `sync: always` or `batch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RecoveryMode {
    /// The default: end the log at the first damage in the last segment
    /// that lies beyond the durable extent, cutting it and every frame
    /// after it (reported as cut, with the reason); refuse the open for
    /// damage inside the durable extent or in a sealed segment.
    #[default]
    PointInTime,
    /// Refuse the open for any damage, a torn tail included: for users who
    /// want every irregularity to stop them (RocksDB's
    /// `kAbsoluteConsistency`).
    AbsoluteConsistency,
    /// End the log at the first damage in the last segment wherever it
    /// lies, even inside the durable extent (acknowledged records are then
    /// lost, and reported as such): the log always opens unless a sealed
    /// segment is damaged, so sealed segments never go offline because of
    /// the active one.
    Salvage,
}

impl RecoveryMode {
    /// The name used in scenarios and reports.
    pub fn name(self) -> &'static str {
        match self {
            RecoveryMode::PointInTime => "point_in_time",
            RecoveryMode::AbsoluteConsistency => "absolute_consistency",
            RecoveryMode::Salvage => "salvage",
        }
    }
}

/// The smallest accepted [`WalOptions::segment_size`].
pub const MIN_SEGMENT_SIZE: u64 = 128;

impl Default for WalOptions {
    fn default() -> Self {
        Self {
            segment_size: 64 << 20,
            sync: WalSync::Batch,
            sync_interval: Duration::from_millis(1),
            preallocate: false,
            recycle_segments: 0,
            recovery: RecoveryMode::PointInTime,
        }
    }
}

fn nanos(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// `fdatasync` of a file, counted and timed in the store's own stats.
pub(crate) fn sync_file(c: &Counters, file: &dyn IoFile, path: &Path) -> Result<(), StoreError> {
    let t = Instant::now();
    let r = file.sync_data();
    c.fsync(nanos(t));
    r.map_err(|e| StoreError::io("fdatasync", path, e))
}

/// fsync of a directory, counted and timed.
pub(crate) fn sync_dir(c: &Counters, io: &dyn Io, dir: &Path) -> Result<(), StoreError> {
    let t = Instant::now();
    let r = io.sync_dir(dir);
    c.fsync(nanos(t));
    r.map_err(|e| StoreError::io("fsync directory", dir, e))
}

/// What making a segment needs: where its file comes from (the preparer,
/// the recycled files, or a new file) and where it goes.
pub(crate) struct SegmentSource<'a> {
    pub(crate) io: &'a dyn Io,
    pub(crate) dir: &'a Path,
    pub(crate) counters: &'a Counters,
    pub(crate) prep: Option<&'a Preparer>,
    pub(crate) recycler: &'a Recycler,
    /// Bytes a segment file holds at most.
    pub(crate) segment_size: u64,
}

/// Creates segment `id` starting at log position `base`: header written,
/// file and directory fsynced — from the preparer's file when
/// preallocating, else from a recycled file when there is one (its header
/// rewritten and synced under its recycled name, then renamed), else from a
/// new file. A recycled or new file is first `fallocate`d to the segment
/// size: appends then write into reserved blocks instead of growing the
/// file, which spares ext4's delayed allocation on every write (`sync:
/// never`, 512 B × 10: 1040–1132 → 1222–1301 MiB/s, 4 interleaved runs).
pub(crate) fn create_segment(
    src: &SegmentSource<'_>,
    id: u64,
    base: u64,
) -> Result<Arc<Segment>, StoreError> {
    let SegmentSource {
        io,
        dir,
        counters: c,
        prep,
        recycler,
        segment_size,
    } = *src;
    if let Some(p) = prep {
        let (file, tmp, old) = p.take()?;
        let header = SegmentHeader {
            id,
            base,
            recycled_from: old,
        };
        let seg = install(io, dir, c, file, tmp, header)?;
        p.request();
        return Ok(seg);
    }
    let path = dir.join(file_name(id));
    let tmp = dir.join(RECYCLED_TMP);
    let (file, at, old) = match recycler.take(io, &tmp)? {
        Some((file, old)) => (file, tmp.as_path(), old),
        None => {
            let file = io
                .open(&path, OpenMode::CreateNew)
                .map_err(|e| StoreError::io("create segment", &path, e))?;
            (file, path.as_path(), 0)
        }
    };
    file.allocate(segment_size)
        .map_err(|e| StoreError::io("allocate segment", at, e))?;
    let header = SegmentHeader {
        id,
        base,
        recycled_from: old,
    };
    install(io, dir, c, file, at, header)
}

/// Makes `file`, named `at`, the segment `header` describes: header
/// written and synced, renamed to its segment name (unless it has it
/// already), directory fsynced — so the header and the directory entry are
/// durable before any frame is written.
fn install(
    io: &dyn Io,
    dir: &Path,
    c: &Counters,
    file: Arc<dyn IoFile>,
    at: &Path,
    header: SegmentHeader,
) -> Result<Arc<Segment>, StoreError> {
    let id = header.id;
    write_all_at(file.as_ref(), &encode_segment_header(header), 0)
        .map_err(|e| StoreError::io("write segment header", at, e))?;
    sync_file(c, file.as_ref(), at)?;
    let path = dir.join(file_name(id));
    if at != path {
        io.rename(at, &path)
            .map_err(|e| StoreError::io("rename into place", &path, e))?;
    }
    sync_dir(c, io, dir)?;
    c.segments_created
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    Ok(Arc::new(Segment::new(id, dir, file)))
}

/// The name a recycled file has while its new header is written (without
/// preallocation; the preparer uses its own name). Recovery deletes it.
pub(crate) const RECYCLED_TMP: &str = "recycled.wal.tmp";

/// The writer's state, behind the store's writer lock.
#[derive(Debug)]
pub(crate) struct Writer {
    /// The segment appends go to.
    pub(crate) active: Arc<Segment>,
    /// Next write position in the active file.
    pub(crate) pos: u64,
    /// Log position of the active segment's first frame byte.
    pub(crate) base: u64,
    /// The offset the next append to each stream gets.
    pub(crate) tails: HashMap<u64, Offset>,
    /// Counts for stats.
    pub(crate) counts: WriteCounts,
    /// Writeback was started for the active file up to here (`never`).
    pub(crate) writeback_from: u64,
    /// Group commit: who syncs, and how far the log is durable.
    pub(crate) commit: CommitState,
}

impl Writer {
    /// Under `sync: never`: once [`WRITEBACK_BYTES`] are written since the
    /// last request, hands them to the writeback thread.
    pub(crate) fn start_writeback(&mut self, wb: &Writeback) {
        if self.pos - self.writeback_from >= WRITEBACK_BYTES {
            let from = self.writeback_from;
            wb.request(&self.active.file, from, self.pos - from);
            self.writeback_from = self.pos;
        }
    }

    /// Log position one past the last frame written.
    pub(crate) fn end(&self) -> u64 {
        self.base + (self.pos - SEGMENT_HEADER_LEN as u64)
    }

    /// Seals the active segment and makes a new one active (the prepared
    /// file when preallocating). The caller inserts the returned segment
    /// into the segment map.
    pub(crate) fn roll(&mut self, src: &SegmentSource<'_>) -> Result<Arc<Segment>, StoreError> {
        let c = src.counters;
        let old = Arc::clone(&self.active);
        // A segment file is longer than its frames (allocated or zeroed
        // blocks, or an earlier use's frames): a sealed segment ends at its
        // last frame and its seal, so recovery can call anything after it
        // damage.
        let file_len = old
            .file
            .len()
            .map_err(|e| StoreError::io("stat sealed segment", &old.path, e))?;
        if file_len > self.pos {
            old.file
                .set_len(self.pos)
                .map_err(|e| StoreError::io("truncate sealed segment", &old.path, e))?;
        }
        let base = self.end();
        // The next segment exists durably before the seal that names it
        // is written, so a durable seal proves a successor.
        let new = create_segment(src, old.id + 1, base)?;
        write_all_at(old.file.as_ref(), &encode_seal(old.id, base), self.pos)
            .map_err(|e| StoreError::io("write seal frame", &old.path, e))?;
        // Under every policy, so a segment followed by frames is whole and
        // recovery can refuse damage in it. Under `never` the `writeback`
        // thread has already started writing all but the last stretch, so
        // this waits for that stretch only.
        sync_file(c, old.file.as_ref(), &old.path)?;
        old.seal(self.pos)
            .map_err(|e| StoreError::io("map sealed segment", &old.path, e))?;
        c.segments_sealed
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.active = Arc::clone(&new);
        self.pos = SEGMENT_HEADER_LEN as u64;
        self.writeback_from = self.pos;
        self.base = base;
        Ok(new)
    }
}

/// Group-commit coordination: the condition variable appenders wait on for
/// durability, and how many sessions write. Its state ([`CommitState`])
/// lives in the [`Writer`], behind the writer lock: an appender writes its
/// frame and joins the group under one lock, and a leader captures what it
/// syncs (the active segment and the log end) under that same lock.
#[derive(Debug, Default)]
pub(crate) struct GroupCommit {
    /// Wakes waiters when a sync ends, and a gatherer when a writer leaves.
    cv: Condvar,
    /// Live sessions that have appended: how many a full group holds.
    writers: std::sync::atomic::AtomicUsize,
}

/// Who syncs, and how far the log is durable (a field of [`Writer`]).
#[derive(Debug, Default)]
pub(crate) struct CommitState {
    /// The log is durable up to this position.
    synced_to: u64,
    /// A leader is syncing.
    leader: bool,
    /// An appender is gathering a group: it waits out the window unless
    /// the group completes first (then the completing appender syncs).
    gathering: bool,
    /// The target of every appender inside [`GroupCommit::wait`] (the
    /// leader included); those above `synced_to` still need a sync.
    waiting: Vec<u64>,
}

impl CommitState {
    /// Starts with the log durable up to `synced_to` (recovered data is).
    pub(crate) fn new(synced_to: u64) -> Self {
        Self {
            synced_to,
            ..Self::default()
        }
    }

    /// The log position the log is known durable up to: the mark every
    /// frame written now carries.
    pub(crate) fn synced_to(&self) -> u64 {
        self.synced_to
    }
}

impl GroupCommit {
    /// A session appended for the first time.
    pub(crate) fn writer_joined(&self) {
        self.writers
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    }

    /// A session that had appended was dropped.
    pub(crate) fn writer_left(&self, writer: &Mutex<Writer>) {
        self.writers
            .fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
        // Taken once so that a gatherer that read the old count is waiting
        // by now: it may have its complete group.
        drop(writer.lock().unwrap_or_else(PoisonError::into_inner));
        self.cv.notify_all();
    }

    /// Returns once the log is durable up to `target`, by syncing the
    /// active segment or by following another appender's sync. `w` is the
    /// writer lock of `writer`, held since the caller wrote its frame.
    /// With a `window` (group commit) the first appender to find no sync
    /// running gathers: it waits up to `window` for every writing session
    /// to be waiting too; the appender that completes the group syncs at
    /// once (it is running; waking the gatherer would add a context switch
    /// to every group), and a gatherer whose window passes syncs itself.
    /// On a failed sync, poisons the store: the leader returns the I/O
    /// error, waiters not covered by an earlier sync get
    /// [`StoreError::Poisoned`].
    pub(crate) fn wait<'a>(
        &self,
        writer: &'a Mutex<Writer>,
        mut w: MutexGuard<'a, Writer>,
        target: u64,
        window: Option<Duration>,
        poison: &OnceLock<String>,
        counters: &Counters,
    ) -> Result<(), StoreError> {
        w.commit.waiting.push(target);
        let (mut w, result, wake) = self.wait_locked(writer, w, target, window, poison, counters);
        if let Some(i) = w.commit.waiting.iter().position(|t| *t == target) {
            w.commit.waiting.swap_remove(i);
        }
        drop(w);
        // Woken after the lock is released: a waiter woken while it is
        // still held finds it taken, sleeps on it and is switched in twice
        // (measured on the ceiling probe: 1.7 → 1.2 context switches per
        // record and +20–30 % records/s with 16 writers on 2 vCPUs).
        if wake {
            self.cv.notify_all();
        }
        result
    }

    /// Every live writing session is waiting for a sync not yet done.
    fn group_complete(&self, st: &CommitState) -> bool {
        let writers = self
            .writers
            .load(std::sync::atomic::Ordering::Acquire)
            .max(1);
        st.waiting.iter().filter(|t| **t > st.synced_to).count() >= writers
    }

    fn wait_locked<'a>(
        &self,
        writer: &'a Mutex<Writer>,
        mut w: MutexGuard<'a, Writer>,
        target: u64,
        window: Option<Duration>,
        poison: &OnceLock<String>,
        counters: &Counters,
    ) -> (MutexGuard<'a, Writer>, Result<(), StoreError>, bool) {
        let window = window.filter(|w| !w.is_zero());
        // Set while this appender is the gatherer.
        let mut deadline: Option<Instant> = None;
        // Waiters to wake once the lock is released: this appender synced.
        let mut wake = false;
        let result = loop {
            if w.commit.synced_to >= target {
                break Ok(());
            }
            if let Some(cause) = poison.get() {
                break Err(StoreError::Poisoned {
                    cause: cause.clone(),
                });
            }
            if w.commit.leader {
                w = self.cv.wait(w).unwrap_or_else(PoisonError::into_inner);
                continue;
            }
            let now = Instant::now();
            let timed_out = deadline.is_some_and(|d| now >= d);
            // The group filled before its window ended (reported: the
            // interval was not what sized it).
            let full = window.is_some() && !timed_out && self.group_complete(&w.commit);
            let lead = window.is_none() || full || timed_out;
            if lead {
                // The group being synced holds every appender waiting now,
                // the gatherer's included: its role ends here, so the next
                // appender to arrive after this sync gathers, and nobody
                // has to be woken to take the role over.
                w.commit.gathering = false;
                deadline = None;
                w.commit.leader = true;
                // What the sync makes durable: the active segment up to the
                // log end now (appends after this wait for the next sync).
                let seg = Arc::clone(&w.active);
                let end = w.end();
                let records = w.counts.records;
                drop(w);
                let result = sync_file(counters, seg.file.as_ref(), &seg.path);
                w = writer.lock().unwrap_or_else(PoisonError::into_inner);
                w.commit.leader = false;
                wake = true;
                match result {
                    Ok(()) => {
                        counters.commit(records);
                        if full {
                            counters
                                .groups_full
                                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        }
                        w.commit.synced_to = w.commit.synced_to.max(end);
                    }
                    Err(e) => {
                        let _ = poison.set(e.to_string());
                        break Err(e);
                    }
                }
                continue;
            }
            if deadline.is_none()
                && !w.commit.gathering
                && let Some(win) = window
            {
                w.commit.gathering = true;
                deadline = Some(now + win);
            }
            w = match deadline {
                Some(d) => {
                    self.cv
                        .wait_timeout(w, d.saturating_duration_since(now))
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
                None => self.cv.wait(w).unwrap_or_else(PoisonError::into_inner),
            };
        };
        if deadline.is_some() && result.is_err() {
            w.commit.gathering = false;
        }
        (w, result, wake)
    }

    /// Wakes every waiter (after the store was poisoned). The caller set
    /// the poison while holding the writer lock, or took the lock after
    /// setting it, so no waiter can have checked it before and wait after.
    pub(crate) fn wake_all(&self) {
        self.cv.notify_all();
    }
}
