//! [`WalStore`]: the parts of the log tied together behind the [`Store`]
//! API — opening (recovery, then the writer and its helpers), the shared
//! state sessions work on, and closing.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError, RwLock};

use super::index::Index;
use super::prepare::Preparer;
use super::recycle::Recycler;
use super::segment::Segment;
use super::stats::{Counters, RecoveryStats};
use super::trim::TrimState;
use super::writeback::Writeback;
use super::writer::{
    CommitState, GroupCommit, MIN_SEGMENT_SIZE, SegmentSource, WalOptions, WalSync, Writer,
    create_segment,
};
use crate::store::api::{Capabilities, Session, Store, StoreError, StoreStats};
use crate::store::fs::{self, Io, RealIo, SimFs};

/// The `wal` store: a durable, segmented write-ahead log in one directory.
/// Log operations only; persistent.
pub struct WalStore {
    pub(super) shared: Arc<Shared>,
}

impl fmt::Debug for WalStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WalStore")
            .field("dir", &self.shared.dir)
            .field("opts", &self.shared.opts)
            .finish_non_exhaustive()
    }
}

/// State shared by the store and its sessions. Lock order: `trim_state`,
/// then `writer` (which holds the group-commit state too), then `index` /
/// `segments` (a group-commit leader holds no lock while it syncs).
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) dir: PathBuf,
    pub(crate) opts: WalOptions,
    pub(crate) io: Arc<dyn Io>,
    pub(crate) writer: Mutex<Writer>,
    pub(crate) commit: GroupCommit,
    pub(crate) index: RwLock<Index>,
    pub(crate) segments: RwLock<BTreeMap<u64, Arc<Segment>>>,
    /// Serialises trims and holds the persisted trim state.
    pub(crate) trim_state: Mutex<TrimState>,
    /// The preallocation thread, when `preallocate` is on.
    pub(crate) prep: Option<Preparer>,
    /// Dead segment files kept for reuse (`recycle_segments`).
    pub(crate) recycler: Arc<Recycler>,
    /// The writeback thread, under `sync: never`.
    pub(crate) writeback: Option<Writeback>,
    /// Set (once) by the first failed fsync or write.
    pub(crate) poison: OnceLock<String>,
    pub(crate) counters: Counters,
    pub(crate) recovery: RecoveryStats,
    /// What recovery cut on open and why (none when nothing was cut).
    pub(crate) recovery_note: Option<String>,
    /// Keeps the directory locked while the store is open.
    _lock: Box<dyn fmt::Debug + Send + Sync>,
}

impl WalStore {
    /// Opens (creating if needed) the log in `dir` and recovers it.
    ///
    /// # Errors
    ///
    /// [`StoreError::Invalid`] for bad options; [`StoreError::Io`] when the
    /// directory cannot be created, locked (another store has it open) or
    /// read; [`StoreError::Corrupt`] when recovery finds damage its
    /// [`RecoveryMode`](super::RecoveryMode) does not cut (see [`WalOptions::recovery`]), or a
    /// missing or duplicate segment.
    pub fn open(dir: &Path, opts: &WalOptions) -> Result<WalStore, StoreError> {
        Self::open_with_io(dir, opts, Arc::new(RealIo))
    }

    /// [`WalStore::open`] on a simulated file system that can lose power
    /// ([`SimFs::power_loss`]): what `restart: power-loss` uses. `dir` names
    /// a directory inside `sim`, not on disk.
    ///
    /// # Errors
    ///
    /// As [`WalStore::open`].
    pub fn open_simulated(
        dir: &Path,
        opts: &WalOptions,
        sim: &SimFs,
    ) -> Result<WalStore, StoreError> {
        Self::open_with_io(dir, opts, Arc::new(sim.bound()))
    }

    /// [`WalStore::open`] through an I/O seam (fault injection, simulated
    /// power loss).
    pub(crate) fn open_with_io(
        dir: &Path,
        opts: &WalOptions,
        io: Arc<dyn Io>,
    ) -> Result<WalStore, StoreError> {
        if opts.segment_size < MIN_SEGMENT_SIZE {
            return Err(StoreError::Invalid {
                op: "open wal",
                detail: format!(
                    "segment_size {} is below the minimum of {MIN_SEGMENT_SIZE} bytes",
                    opts.segment_size
                ),
            });
        }
        io.create_dir_all(dir)
            .map_err(|e| StoreError::io("create directory", dir, e))?;
        let lock = io
            .lock_dir(dir)
            .map_err(|e| StoreError::io("lock", dir, e))?;
        let counters = Counters::default();
        let mut rec = super::recovery::recover(io.as_ref(), dir, opts, &counters)?;
        let recycler = Arc::new(Recycler::new(
            dir,
            opts.recycle_segments,
            std::mem::take(&mut rec.recycled),
        ));
        let prep = if opts.preallocate {
            Some(Preparer::start(
                Arc::clone(&io),
                dir,
                opts.segment_size,
                Arc::clone(&recycler),
            )?)
        } else {
            None
        };
        let mut segments = BTreeMap::new();
        let mut active = None;
        for s in rec.segments {
            let seg = Arc::new(Segment::new(s.id, dir, s.file));
            match s.map {
                Some(map) => seg.set_sealed(map),
                None => active = Some((Arc::clone(&seg), s.len, s.base)),
            }
            segments.insert(s.id, seg);
        }
        let (active, pos, base) = match active {
            Some(a) => a,
            None => {
                let src = SegmentSource {
                    io: io.as_ref(),
                    dir,
                    counters: &counters,
                    prep: prep.as_ref(),
                    recycler: &recycler,
                    segment_size: opts.segment_size,
                };
                let seg = create_segment(&src, rec.next_id, rec.next_base)?;
                segments.insert(seg.id, Arc::clone(&seg));
                (seg, super::format::SEGMENT_HEADER_LEN as u64, rec.next_base)
            }
        };
        let tails = rec.index.iter().map(|(s, i)| (*s, i.tail)).collect();
        let mut writer = Writer {
            active,
            pos,
            base,
            tails,
            counts: Default::default(),
            writeback_from: pos,
            commit: CommitState::default(),
        };
        writer.commit = CommitState::new(writer.end());
        let sealed: Vec<u64> = segments
            .keys()
            .copied()
            .filter(|id| *id != writer.active.id)
            .collect();
        let writeback = if opts.sync == WalSync::Never {
            Some(Writeback::start().map_err(|e| StoreError::io("start writeback thread", dir, e))?)
        } else {
            None
        };
        let shared = Arc::new(Shared {
            dir: dir.to_path_buf(),
            opts: *opts,
            io,
            writer: Mutex::new(writer),
            commit: GroupCommit::default(),
            index: RwLock::new(rec.index),
            segments: RwLock::new(segments),
            trim_state: Mutex::new(rec.trim),
            prep,
            recycler,
            writeback,
            poison: OnceLock::new(),
            counters,
            recovery: rec.stats,
            recovery_note: rec.note.take(),
            _lock: lock,
        });
        populate_in_background(&shared, sealed);
        Ok(WalStore { shared })
    }
}

/// Maps the pages of the recovered sealed segments in, on a thread of its
/// own, after the open has returned. Recovery checks segments with `pread`
/// (cheaper than faulting a map in page by page, see `recovery`), so their
/// maps start untouched; this moves the page-table work of later reads off
/// both the reopen and the readers. It holds the store only weakly and
/// stops when the store is gone; a segment it holds for a moment is
/// unlinked rather than recycled by a trim at that moment.
fn populate_in_background(shared: &Arc<Shared>, ids: Vec<u64>) {
    if ids.is_empty() {
        return;
    }
    let weak = Arc::downgrade(shared);
    // A hint: if no thread can be started, reads fault the pages in.
    let _ = std::thread::Builder::new()
        .name("wal-populate".to_owned())
        .spawn(move || {
            for id in ids {
                let Some(sh) = weak.upgrade() else { return };
                let seg = sh
                    .segments
                    .read()
                    .unwrap_or_else(PoisonError::into_inner)
                    .get(&id)
                    .cloned();
                // Not kept while populating: the store may close meanwhile.
                drop(sh);
                if let Some(seg) = seg {
                    seg.populate();
                }
            }
        });
}

impl Shared {
    /// Waits until the log is durable up to `target` (group commit); `w`
    /// is the writer lock, held since the caller wrote.
    pub(crate) fn wait_durable<'a>(
        &'a self,
        w: MutexGuard<'a, Writer>,
        target: u64,
        window: Option<std::time::Duration>,
    ) -> Result<(), StoreError> {
        self.commit.wait(
            &self.writer,
            w,
            target,
            window,
            &self.poison,
            &self.counters,
        )
    }

    /// Where the writer's next segment comes from.
    pub(crate) fn segment_source(&self) -> SegmentSource<'_> {
        SegmentSource {
            io: self.io.as_ref(),
            dir: &self.dir,
            counters: &self.counters,
            prep: self.prep.as_ref(),
            recycler: &self.recycler,
            segment_size: self.opts.segment_size,
        }
    }

    /// Makes everything written so far durable.
    pub(crate) fn sync_all(&self) -> Result<(), StoreError> {
        let w = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        let end = w.end();
        self.wait_durable(w, end, None)
    }

    /// Writes and syncs a checkpoint frame at the end of the log (the log is
    /// durable up to it, see `format`), so that recovery knows the whole
    /// log durable after a clean close: one 48-byte write and one sync,
    /// at close only. It may lie beyond `segment_size`, like a seal.
    pub(crate) fn checkpoint(&self) -> Result<(), StoreError> {
        let mut w = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        let frame = super::format::encode_checkpoint(w.active.id, w.end());
        let pos = w.pos;
        let file = Arc::clone(&w.active.file);
        let path = w.active.path.clone();
        let result = fs::write_all_at(file.as_ref(), &frame, pos)
            .map_err(|e| StoreError::io("write checkpoint frame", &path, e))
            .and_then(|()| super::writer::sync_file(&self.counters, file.as_ref(), &path));
        if let Err(e) = &result {
            self.poison_locked(&w, e);
            return result;
        }
        w.pos += frame.len() as u64;
        w.counts.bytes_written += frame.len() as u64;
        Ok(())
    }

    /// Poisons the store after a failed write or sync; the caller holds
    /// the writer lock `_w` (so no waiter checks the poison between).
    pub(crate) fn poison_locked(&self, _w: &MutexGuard<'_, Writer>, cause: &StoreError) {
        let _ = self.poison.set(cause.to_string());
        self.commit.wake_all();
    }

    /// Poisons the store after a failed write, without the writer lock.
    pub(crate) fn poison(&self, cause: &StoreError) {
        let w = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        self.poison_locked(&w, cause);
    }

    /// The error for any write after poisoning, if poisoned.
    pub(crate) fn check_poison(&self) -> Result<(), StoreError> {
        match self.poison.get() {
            Some(cause) => Err(StoreError::Poisoned {
                cause: cause.clone(),
            }),
            None => Ok(()),
        }
    }
}

impl Store for WalStore {
    fn capabilities(&self) -> Capabilities {
        super::kind::capabilities(&self.shared.opts)
    }

    fn session(&self) -> Result<Box<dyn Session>, StoreError> {
        Ok(Box::new(super::session::WalSession::new(Arc::clone(
            &self.shared,
        ))))
    }

    fn stats(&self) -> StoreStats {
        let counts = self
            .shared
            .writer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .counts;
        let prepared = self.shared.prep.as_ref().map(Preparer::counts);
        super::stats::snapshot(
            &self.shared.counters,
            counts,
            self.shared.recovery,
            prepared.unwrap_or_default(),
            self.shared.recycler.reused(),
            self.shared.recovery_note.as_deref(),
        )
    }

    /// A segment file being prepared or wanted (`preallocate`), and
    /// writeback requests not yet handed to the kernel (`sync: never`).
    fn background(&self) -> crate::store::Background {
        let (running, queued) = self
            .shared
            .prep
            .as_ref()
            .map_or((0, 0), Preparer::in_flight);
        let writeback = self
            .shared
            .writeback
            .as_ref()
            .map_or(0, Writeback::in_flight);
        crate::store::Background {
            running: running + writeback,
            queued,
            debt_bytes: 0,
        }
    }

    /// Makes everything written durable (under every sync policy), then
    /// closes. Fails with [`StoreError::Poisoned`] after an earlier failure.
    fn close(self: Box<Self>) -> Result<(), StoreError> {
        self.shared.check_poison()?;
        self.shared.sync_all()?;
        self.shared.checkpoint()
    }
}
