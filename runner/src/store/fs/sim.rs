//! The WAL's I/O seam: every file and directory operation the WAL performs
//! goes through [`Io`] and [`IoFile`], so tests (and the engine's simulated
//! power loss) can replace the file system.
//!
//! Three implementations:
//! - [`RealIo`]: `std::fs` with `pwrite`/`pread`, `fdatasync`,
//!   `fallocate`, `sync_file_range`, directory fsync and an exclusive lock
//!   on the log directory.
//! - [`FaultyIo`]: wraps another [`Io`] and injects faults deterministically:
//!   an error (EIO, ENOSPC, …) on the Nth write or Nth sync from now, and
//!   short writes.
//! - [`SimFs`]: an in-memory file system that remembers what was made
//!   durable — file bytes covered by an fsync, directory entries covered by a
//!   directory fsync — and on [`SimFs::power_loss`] forgets everything else,
//!   as a machine losing power would. It is what tells `sync: always` from
//!   `sync: never`; kill -9 cannot (the page cache survives it). Made with
//!   [`SimFs::reordering`], a power loss instead keeps a random subset of
//!   the unsynced pages — some whole, some torn at 512-byte sectors — and
//!   the old or the new file size, as page-cache writeback does (what
//!   LazyFS's `torn-seq` and `torn-op` faults inject); and
//!   [`SimFs::crash_after`] loses power at the Nth operation from now,
//!   wherever the writer is (a crash point).
//!
//! It owns no WAL logic: no formats, no policies.

use std::collections::BTreeMap;
use std::fmt;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::store::wal::segment::{Mapped, map_file};

/// How [`Io::open`] opens a file (always for reading and writing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OpenMode {
    /// Create; fail if it exists.
    CreateNew,
    /// Create or truncate to empty.
    Truncate,
    /// Open an existing file.
    Existing,
}

/// File-system operations the WAL uses.
pub(crate) trait Io: Send + Sync + fmt::Debug {
    /// Opens `path` for reading and writing.
    fn open(&self, path: &Path, mode: OpenMode) -> io::Result<Arc<dyn IoFile>>;
    /// Names of the entries of `dir`.
    fn list_dir(&self, dir: &Path) -> io::Result<Vec<String>>;
    /// Creates `dir` and its parents.
    fn create_dir_all(&self, dir: &Path) -> io::Result<()>;
    /// Unlinks a file.
    fn remove_file(&self, path: &Path) -> io::Result<()>;
    /// Renames a file, replacing `to`.
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// Makes the entries of `dir` durable (fsync of the directory).
    fn sync_dir(&self, dir: &Path) -> io::Result<()>;
    /// Takes an exclusive lock on `dir`, held while the guard lives, so two
    /// stores never share a log (and mapped files never shrink under us).
    fn lock_dir(&self, dir: &Path) -> io::Result<Box<dyn fmt::Debug + Send + Sync>>;
}

/// Operations on one open file.
pub(crate) trait IoFile: Send + Sync + fmt::Debug {
    /// Writes at `pos`; may write less than `buf` (a short write).
    fn write_at(&self, buf: &[u8], pos: u64) -> io::Result<usize>;
    /// Reads at `pos`; returns 0 at the end of file.
    fn read_at(&self, buf: &mut [u8], pos: u64) -> io::Result<usize>;
    /// Makes the file's data (and the size needed to read it) durable.
    fn sync_data(&self) -> io::Result<()>;
    /// Starts writing back the dirty pages of bytes `pos..pos + len`
    /// without waiting for them: a hint that makes a later
    /// [`IoFile::sync_data`] quicker, with no durability promise of its own
    /// (implementations that cannot start writeback do nothing).
    fn start_writeback(&self, pos: u64, len: u64) -> io::Result<()>;
    /// The file's current length.
    fn len(&self) -> io::Result<u64>;
    /// Truncates or extends (with zeros) to `len`.
    fn set_len(&self, len: u64) -> io::Result<()>;
    /// Reserves the blocks of bytes `0..len` without writing them
    /// (`fallocate(2)`, mode 0: the size becomes at least `len`, and the
    /// new bytes read as zeros). Where the file system cannot, the file
    /// is left as it is: a hint, like [`IoFile::start_writeback`].
    fn allocate(&self, len: u64) -> io::Result<()>;
    /// A read-only view of bytes `0..len`; the caller guarantees the file
    /// never shrinks below `len` while the view lives.
    fn map(&self, len: u64) -> io::Result<Mapped>;
}

/// Writes all of `buf` at `pos`, continuing after short writes.
pub(crate) fn write_all_at(f: &dyn IoFile, mut buf: &[u8], mut pos: u64) -> io::Result<()> {
    while !buf.is_empty() {
        match f.write_at(buf, pos) {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::WriteZero,
                    "write returned 0 bytes",
                ));
            }
            Ok(n) => {
                buf = &buf[n..];
                pos += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Writes zeros over bytes `from..to` (allocating and writing the blocks,
/// unlike `set_len`, which leaves a hole), a MiB at a time; with
/// `writeback`, each MiB is handed to the kernel's writeback as soon as it
/// is written ([`IoFile::start_writeback`], a hint).
pub(crate) fn write_zeros(
    f: &dyn IoFile,
    mut from: u64,
    to: u64,
    writeback: bool,
) -> io::Result<()> {
    const CHUNK: usize = 1 << 20;
    let zeros = vec![0u8; CHUNK.min(usize::try_from(to.saturating_sub(from)).unwrap_or(CHUNK))];
    while from < to {
        let n = usize::try_from(to - from).map_or(zeros.len(), |n| n.min(zeros.len()));
        write_all_at(f, &zeros[..n], from)?;
        if writeback {
            // A hint: a later sync reports any write-back failure.
            let _ = f.start_writeback(from, n as u64);
        }
        from += n as u64;
    }
    Ok(())
}

/// Reads exactly `buf.len()` bytes at `pos`.
pub(crate) fn read_exact_at(f: &dyn IoFile, mut buf: &mut [u8], mut pos: u64) -> io::Result<()> {
    while !buf.is_empty() {
        match f.read_at(buf, pos) {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "file ends early",
                ));
            }
            Ok(n) => {
                buf = &mut buf[n..];
                pos += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

// ---------------------------------------------------------------- real

/// The real file system.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct RealIo;

#[derive(Debug)]
struct RealFile {
    file: File,
}

impl Io for RealIo {
    fn open(&self, path: &Path, mode: OpenMode) -> io::Result<Arc<dyn IoFile>> {
        let mut o = OpenOptions::new();
        o.read(true).write(true);
        match mode {
            OpenMode::CreateNew => o.create_new(true),
            OpenMode::Truncate => o.create(true).truncate(true),
            OpenMode::Existing => &mut o,
        };
        Ok(Arc::new(RealFile {
            file: o.open(path)?,
        }))
    }

    fn list_dir(&self, dir: &Path) -> io::Result<Vec<String>> {
        let mut names = Vec::new();
        for e in std::fs::read_dir(dir)? {
            names.push(e?.file_name().to_string_lossy().into_owned());
        }
        Ok(names)
    }

    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        std::fs::create_dir_all(dir)
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        std::fs::remove_file(path)
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        std::fs::rename(from, to)
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        File::open(dir)?.sync_all()
    }

    fn lock_dir(&self, dir: &Path) -> io::Result<Box<dyn fmt::Debug + Send + Sync>> {
        let f = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join("LOCK"))?;
        // flock locks belong to the open file description, which a child
        // process shares between fork and exec: a store closed and reopened
        // while any thread of this process spawns a child can find its own
        // old lock briefly held. Retry for up to two seconds before calling
        // the directory taken.
        for _ in 0..200 {
            match f.try_lock() {
                Ok(()) => return Ok(Box::new(f)),
                Err(std::fs::TryLockError::WouldBlock) => {
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
                Err(std::fs::TryLockError::Error(e)) => return Err(e),
            }
        }
        Err(io::Error::new(
            io::ErrorKind::WouldBlock,
            "the log directory is locked by another open store",
        ))
    }
}

impl IoFile for RealFile {
    fn write_at(&self, buf: &[u8], pos: u64) -> io::Result<usize> {
        self.file.write_at(buf, pos)
    }

    fn read_at(&self, buf: &mut [u8], pos: u64) -> io::Result<usize> {
        self.file.read_at(buf, pos)
    }

    fn sync_data(&self) -> io::Result<()> {
        self.file.sync_data()
    }

    fn start_writeback(&self, pos: u64, len: u64) -> io::Result<()> {
        start_writeback(&self.file, pos, len)
    }

    fn len(&self) -> io::Result<u64> {
        Ok(self.file.metadata()?.len())
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        self.file.set_len(len)
    }

    fn allocate(&self, len: u64) -> io::Result<()> {
        allocate(&self.file, len)
    }

    fn map(&self, len: u64) -> io::Result<Mapped> {
        map_file(&self.file, len)
    }
}

/// `fallocate(fd, 0, 0, len)`: the blocks are reserved as unwritten
/// extents, so later writes into them skip ext4's delayed-allocation
/// bookkeeping on every `write` (as fio's default layout does). A file
/// system that does not support it (`EOPNOTSUPP`) leaves the file as it is.
#[expect(
    unsafe_code,
    reason = "fallocate(2) has no std wrapper; see the SAFETY note"
)]
fn allocate(file: &File, len: u64) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let len = libc::off_t::try_from(len)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "length too large"))?;
    loop {
        // SAFETY: the descriptor is owned by `file`, alive for the call;
        // fallocate reads no memory of ours.
        let r = unsafe { libc::fallocate(file.as_raw_fd(), 0, 0, len) };
        if r == 0 {
            return Ok(());
        }
        let e = io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EINTR) => {}
            Some(libc::EOPNOTSUPP) => return Ok(()),
            _ => return Err(e),
        }
    }
}

/// `sync_file_range(SYNC_FILE_RANGE_WRITE)`: queue the range's dirty pages
/// for writeback and return (RocksDB's `bytes_per_sync` does the same).
/// Only the `WRITE` flag is passed: the `WAIT_*` flags would check and
/// clear the file's writeback error state, so a later `fdatasync` — the
/// call that decides durability — could miss an error. With `WRITE` alone
/// an I/O error still surfaces there.
#[expect(
    unsafe_code,
    reason = "sync_file_range has no safe std or rustix wrapper; see the SAFETY note"
)]
fn start_writeback(file: &File, pos: u64, len: u64) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let (Ok(pos), Ok(len)) = (i64::try_from(pos), i64::try_from(len)) else {
        return Ok(());
    };
    // SAFETY: the descriptor belongs to `file`, which this call borrows, so
    // it stays open for the call; sync_file_range reads no memory of ours.
    let r =
        unsafe { libc::sync_file_range(file.as_raw_fd(), pos, len, libc::SYNC_FILE_RANGE_WRITE) };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

// ---------------------------------------------------------------- faults

/// Faults armed on a [`FaultyIo`]; counts are "from now", 1-based.
#[cfg(test)]
#[derive(Debug, Default)]
struct FaultPlan {
    /// (writes left before the failing one, errno).
    write: Option<(u64, i32)>,
    /// (syncs left before the failing one, errno); file and directory syncs.
    sync: Option<(u64, i32)>,
    /// Every write writes at most this many bytes.
    short_writes: Option<usize>,
    writes: u64,
    syncs: u64,
    /// Writeback requests seen: (position, length).
    writebacks: Vec<(u64, u64)>,
}

/// An [`Io`] that passes through to another and injects armed faults. Each
/// armed fault fires once (as Linux reports a failed writeback once).
/// Test-only: nothing in a run injects faults.
#[cfg(test)]
#[derive(Debug, Clone)]
pub(crate) struct FaultyIo {
    inner: Arc<dyn Io>,
    plan: Arc<Mutex<FaultPlan>>,
}

#[cfg(test)]
#[derive(Debug)]
struct FaultyFile {
    inner: Arc<dyn IoFile>,
    plan: Arc<Mutex<FaultPlan>>,
}

#[cfg(test)]
impl FaultyIo {
    /// Wraps `inner` with no fault armed.
    pub(crate) fn new(inner: Arc<dyn Io>) -> Self {
        Self {
            inner,
            plan: Arc::default(),
        }
    }

    /// The `n`th write from now (1 = the next) fails with `errno`.
    pub(crate) fn fail_write(&self, n: u64, errno: i32) {
        lock(&self.plan).write = Some((n.saturating_sub(1), errno));
    }

    /// The `n`th file or directory sync from now fails with `errno`.
    pub(crate) fn fail_sync(&self, n: u64, errno: i32) {
        lock(&self.plan).sync = Some((n.saturating_sub(1), errno));
    }

    /// Every write from now writes at most `max` bytes (`None` to stop).
    pub(crate) fn short_writes(&self, max: Option<usize>) {
        lock(&self.plan).short_writes = max;
    }

    /// (writes, syncs) seen so far.
    pub(crate) fn counts(&self) -> (u64, u64) {
        let p = lock(&self.plan);
        (p.writes, p.syncs)
    }

    /// Writeback requests seen so far: (position, length).
    pub(crate) fn writebacks(&self) -> Vec<(u64, u64)> {
        lock(&self.plan).writebacks.clone()
    }
}

#[cfg(test)]
fn sync_fault(plan: &Mutex<FaultPlan>) -> io::Result<()> {
    let mut p = lock(plan);
    p.syncs += 1;
    match p.sync {
        Some((0, errno)) => {
            p.sync = None;
            Err(io::Error::from_raw_os_error(errno))
        }
        Some((ref mut left, _)) => {
            *left -= 1;
            Ok(())
        }
        None => Ok(()),
    }
}

#[cfg(test)]
impl Io for FaultyIo {
    fn open(&self, path: &Path, mode: OpenMode) -> io::Result<Arc<dyn IoFile>> {
        Ok(Arc::new(FaultyFile {
            inner: self.inner.open(path, mode)?,
            plan: Arc::clone(&self.plan),
        }))
    }

    fn list_dir(&self, dir: &Path) -> io::Result<Vec<String>> {
        self.inner.list_dir(dir)
    }

    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        self.inner.create_dir_all(dir)
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        self.inner.remove_file(path)
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.inner.rename(from, to)
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        sync_fault(&self.plan)?;
        self.inner.sync_dir(dir)
    }

    fn lock_dir(&self, dir: &Path) -> io::Result<Box<dyn fmt::Debug + Send + Sync>> {
        self.inner.lock_dir(dir)
    }
}

#[cfg(test)]
impl IoFile for FaultyFile {
    fn write_at(&self, buf: &[u8], pos: u64) -> io::Result<usize> {
        let max = {
            let mut p = lock(&self.plan);
            p.writes += 1;
            match p.write {
                Some((0, errno)) => {
                    p.write = None;
                    return Err(io::Error::from_raw_os_error(errno));
                }
                Some((ref mut left, _)) => *left -= 1,
                None => {}
            }
            p.short_writes
        };
        let n = max.map_or(buf.len(), |m| m.max(1).min(buf.len()));
        self.inner.write_at(&buf[..n], pos)
    }

    fn read_at(&self, buf: &mut [u8], pos: u64) -> io::Result<usize> {
        self.inner.read_at(buf, pos)
    }

    fn sync_data(&self) -> io::Result<()> {
        sync_fault(&self.plan)?;
        self.inner.sync_data()
    }

    fn start_writeback(&self, pos: u64, len: u64) -> io::Result<()> {
        lock(&self.plan).writebacks.push((pos, len));
        self.inner.start_writeback(pos, len)
    }

    fn len(&self) -> io::Result<u64> {
        self.inner.len()
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        self.inner.set_len(len)
    }

    fn allocate(&self, len: u64) -> io::Result<()> {
        self.inner.allocate(len)
    }

    fn map(&self, len: u64) -> io::Result<Mapped> {
        self.inner.map(len)
    }
}

// ---------------------------------------------------------------- power loss

/// An in-memory file system that forgets, on [`SimFs::power_loss`],
/// everything not made durable: file bytes written since the file's last
/// sync, and directory entries (creations, renames, unlinks) since the
/// directory's last sync. Directories themselves are always durable.
///
/// Clones share one file system. Whole files are held in memory, so it suits
/// tests and modest power-loss scenarios, not multi-GiB logs. Open a WAL on
/// it with [`WalStore::open_simulated`](crate::store::WalStore::open_simulated).
#[derive(Debug, Clone, Default)]
pub struct SimFs {
    state: Arc<Mutex<SimState>>,
    /// Set on the handle a store is opened with ([`SimFs::bound`]): the
    /// power-loss count then, after which its directory operations fail
    /// with EIO as its files' do — a machine that lost power runs nothing,
    /// so a dead store's threads must not change the disk.
    bound: Option<u64>,
}

#[derive(Debug, Default)]
struct SimState {
    dirs: BTreeMap<PathBuf, SimDir>,
    /// Bumped by a power loss: handles opened before it fail with EIO.
    generation: u64,
    /// Reordering mode: the stream that picks which unsynced pages survive.
    reorder: Option<ChaCha8Rng>,
    /// Operations left before a power loss ([`SimFs::crash_after`]).
    crash_in: Option<u64>,
}

/// Bytes of a page: the unit page-cache writeback persists.
const PAGE: usize = 4096;
/// Bytes of a sector: the unit a torn page is made of.
const SECTOR: usize = 512;

#[derive(Debug, Default, Clone)]
struct SimDir {
    current: BTreeMap<String, Arc<Mutex<Inode>>>,
    durable: BTreeMap<String, Arc<Mutex<Inode>>>,
}

/// One file's bytes plus what a power loss would restore: the durable length
/// and the old bytes of every unsynced overwrite below it (undone in
/// reverse order).
#[derive(Debug, Default)]
struct Inode {
    data: Vec<u8>,
    durable_len: usize,
    undo: Vec<(usize, Vec<u8>)>,
}

impl Inode {
    fn save_undo(&mut self, pos: usize, end: usize) {
        let end = end.min(self.durable_len);
        if pos < end {
            if self.data.len() < end {
                self.data.resize(end, 0);
            }
            self.undo.push((pos, self.data[pos..end].to_vec()));
        }
    }

    fn write(&mut self, buf: &[u8], pos: usize) {
        self.save_undo(pos, pos + buf.len());
        if self.data.len() < pos + buf.len() {
            self.data.resize(pos + buf.len(), 0);
        }
        self.data[pos..pos + buf.len()].copy_from_slice(buf);
    }

    fn set_len(&mut self, len: usize) {
        if len < self.data.len() {
            self.save_undo(len, self.data.len());
        }
        self.data.resize(len, 0);
    }

    fn sync(&mut self) {
        self.durable_len = self.data.len();
        self.undo.clear();
    }

    fn lose_power(&mut self) {
        while let Some((pos, old)) = self.undo.pop() {
            if self.data.len() < pos + old.len() {
                self.data.resize(pos + old.len(), 0);
            }
            self.data[pos..pos + old.len()].copy_from_slice(&old);
        }
        self.data.resize(self.durable_len, 0);
    }

    /// A power loss after which some unsynced pages reached the disk and
    /// others did not, in no order: each page that differs from its synced
    /// bytes is kept old, written new, or torn (each 512-byte sector old or
    /// new), a third of the time each; the size is the synced one or the
    /// current one. A hole — an earlier write lost, a later one kept — is
    /// the case that matters.
    fn lose_power_reordered(&mut self, rng: &mut ChaCha8Rng) {
        let cur = self.data.clone();
        self.lose_power();
        let old = std::mem::take(&mut self.data);
        let len = if cur.len() != old.len() && rng.random_bool(0.5) {
            cur.len()
        } else {
            old.len()
        };
        let mut out = old;
        out.resize(len, 0);
        let mut page = 0;
        while page < len.min(cur.len()) {
            let end = (page + PAGE).min(len).min(cur.len());
            if out[page..end] != cur[page..end] {
                match rng.random_range(0..3u8) {
                    0 => {}
                    1 => out[page..end].copy_from_slice(&cur[page..end]),
                    _ => {
                        let mut sector = page;
                        while sector < end {
                            let e = (sector + SECTOR).min(end);
                            if rng.random_bool(0.5) {
                                out[sector..e].copy_from_slice(&cur[sector..e]);
                            }
                            sector = e;
                        }
                    }
                }
            }
            page = end;
        }
        self.data = out;
        self.sync();
    }
}

#[derive(Debug)]
struct SimFile {
    fs: SimFs,
    inode: Arc<Mutex<Inode>>,
    generation: u64,
}

fn split(path: &Path) -> io::Result<(PathBuf, String)> {
    match (path.parent(), path.file_name()) {
        (Some(d), Some(n)) => Ok((d.to_path_buf(), n.to_string_lossy().into_owned())),
        _ => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "path has no file name",
        )),
    }
}

fn not_found() -> io::Error {
    io::Error::from_raw_os_error(libc::ENOENT)
}

impl SimFs {
    /// An empty file system whose power loss drops every unsynced byte.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty file system whose power loss keeps a random subset of the
    /// unsynced pages, some torn (see the module docs); `seed` makes the
    /// choices reproducible.
    pub fn reordering(seed: u64) -> Self {
        let fs = Self::default();
        lock(&fs.state).reorder = Some(ChaCha8Rng::seed_from_u64(seed));
        fs
    }

    /// Loses power just before the `n`th file or directory operation from
    /// now (writes, syncs, size changes, creations, renames, unlinks;
    /// reads do not count), which then fails with EIO, as every later use
    /// of a handle opened before does. A crash point anywhere in the
    /// writer's work: in a group commit, a roll, a recovery.
    pub fn crash_after(&self, n: u64) {
        lock(&self.state).crash_in = Some(n.max(1));
    }

    /// A handle on the same file system whose operations fail with EIO
    /// once the power is lost (what a store is opened with).
    pub(crate) fn bound(&self) -> SimFs {
        let generation = lock(&self.state).generation;
        SimFs {
            state: Arc::clone(&self.state),
            bound: Some(generation),
        }
    }

    /// Locks the state for an operation through this handle: EIO when it
    /// is bound and the power was lost since.
    fn live_state(&self) -> io::Result<MutexGuard<'_, SimState>> {
        let st = lock(&self.state);
        match self.bound {
            Some(g) if g != st.generation => Err(io::Error::from_raw_os_error(libc::EIO)),
            _ => Ok(st),
        }
    }

    /// Cancels a pending [`SimFs::crash_after`].
    pub fn cancel_crash(&self) {
        lock(&self.state).crash_in = None;
    }

    /// How many power losses this file system has had (a crash point of
    /// [`SimFs::crash_after`] that fired shows as one more).
    pub fn power_losses(&self) -> u64 {
        lock(&self.state).generation
    }

    /// Simulates a power loss: every directory reverts to its last synced
    /// entries, every file to its last synced bytes (a reordering file
    /// system keeps some unsynced pages too); handles opened before fail
    /// with EIO from now on (so a store still open on it can only be
    /// dropped; reopen it to recover).
    pub fn power_loss(&self) {
        let mut st = lock(&self.state);
        Self::lose_power(&mut st);
    }

    fn lose_power(st: &mut SimState) {
        st.generation += 1;
        st.crash_in = None;
        let SimState { dirs, reorder, .. } = st;
        for d in dirs.values_mut() {
            d.current = d.durable.clone();
            for inode in d.durable.values() {
                let mut i = lock(inode);
                match reorder.as_mut() {
                    Some(rng) => i.lose_power_reordered(rng),
                    None => i.lose_power(),
                }
            }
        }
    }

    /// Counts one operation against [`SimFs::crash_after`]; `Err` when
    /// power is lost before it.
    fn tick(st: &mut SimState) -> io::Result<()> {
        match st.crash_in {
            Some(1) => {
                Self::lose_power(st);
                Err(io::Error::from_raw_os_error(libc::EIO))
            }
            Some(n) => {
                st.crash_in = Some(n - 1);
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// An independent copy of the current state, everything durable (for
    /// tests that damage a log in many ways).
    #[cfg(test)]
    pub(crate) fn fork(&self) -> SimFs {
        let st = lock(&self.state);
        let mut dirs = BTreeMap::new();
        for (p, d) in &st.dirs {
            let current: BTreeMap<String, Arc<Mutex<Inode>>> = d
                .current
                .iter()
                .map(|(n, i)| {
                    let data = lock(i).data.clone();
                    let len = data.len();
                    (
                        n.clone(),
                        Arc::new(Mutex::new(Inode {
                            data,
                            durable_len: len,
                            undo: Vec::new(),
                        })),
                    )
                })
                .collect();
            dirs.insert(
                p.clone(),
                SimDir {
                    durable: current.clone(),
                    current,
                },
            );
        }
        SimFs {
            state: Arc::new(Mutex::new(SimState {
                dirs,
                ..SimState::default()
            })),
            bound: None,
        }
    }

    /// The current bytes of a file (test helper).
    #[cfg(test)]
    pub(crate) fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        let inode = self.inode(path)?;
        let data = lock(&inode).data.clone();
        Ok(data)
    }

    /// Replaces the bytes of a file, durably (test helper for damage).
    #[cfg(test)]
    pub(crate) fn overwrite(&self, path: &Path, data: Vec<u8>) -> io::Result<()> {
        let inode = self.inode(path)?;
        let mut i = lock(&inode);
        i.data = data;
        i.sync();
        Ok(())
    }

    #[cfg(test)]
    fn inode(&self, path: &Path) -> io::Result<Arc<Mutex<Inode>>> {
        let (dir, name) = split(path)?;
        let st = lock(&self.state);
        st.dirs
            .get(&dir)
            .and_then(|d| d.current.get(&name))
            .map(Arc::clone)
            .ok_or_else(not_found)
    }
}

impl Io for SimFs {
    fn open(&self, path: &Path, mode: OpenMode) -> io::Result<Arc<dyn IoFile>> {
        let (dir, name) = split(path)?;
        let mut st = self.live_state()?;
        if mode != OpenMode::Existing {
            Self::tick(&mut st)?;
        }
        let generation = st.generation;
        let d = st.dirs.get_mut(&dir).ok_or_else(not_found)?;
        let inode = match (mode, d.current.get(&name)) {
            (OpenMode::CreateNew, Some(_)) => {
                return Err(io::Error::from_raw_os_error(libc::EEXIST));
            }
            (OpenMode::Existing, None) => return Err(not_found()),
            (OpenMode::Truncate, Some(i)) => {
                lock(i).set_len(0);
                Arc::clone(i)
            }
            (OpenMode::Existing, Some(i)) => Arc::clone(i),
            (OpenMode::CreateNew | OpenMode::Truncate, None) => {
                let i = Arc::new(Mutex::new(Inode::default()));
                d.current.insert(name, Arc::clone(&i));
                i
            }
        };
        Ok(Arc::new(SimFile {
            fs: self.clone(),
            inode,
            generation,
        }))
    }

    fn list_dir(&self, dir: &Path) -> io::Result<Vec<String>> {
        let st = self.live_state()?;
        let d = st.dirs.get(dir).ok_or_else(not_found)?;
        Ok(d.current.keys().cloned().collect())
    }

    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        let mut st = self.live_state()?;
        for a in dir.ancestors() {
            st.dirs.entry(a.to_path_buf()).or_default();
        }
        Ok(())
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        let (dir, name) = split(path)?;
        let mut st = self.live_state()?;
        Self::tick(&mut st)?;
        let d = st.dirs.get_mut(&dir).ok_or_else(not_found)?;
        d.current.remove(&name).map(|_| ()).ok_or_else(not_found)
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        let (fd, fname) = split(from)?;
        let (td, tname) = split(to)?;
        let mut st = self.live_state()?;
        Self::tick(&mut st)?;
        let inode = st
            .dirs
            .get_mut(&fd)
            .and_then(|d| d.current.remove(&fname))
            .ok_or_else(not_found)?;
        st.dirs
            .get_mut(&td)
            .ok_or_else(not_found)?
            .current
            .insert(tname, inode);
        Ok(())
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        let mut st = self.live_state()?;
        Self::tick(&mut st)?;
        let d = st.dirs.get_mut(dir).ok_or_else(not_found)?;
        d.durable = d.current.clone();
        Ok(())
    }

    fn lock_dir(&self, _dir: &Path) -> io::Result<Box<dyn fmt::Debug + Send + Sync>> {
        Ok(Box::new(()))
    }
}

impl SimFile {
    /// The inode, unless power was lost since the file was opened. It is
    /// locked while the state is, so a power loss never lands between the
    /// check and the operation.
    fn live(&self) -> io::Result<MutexGuard<'_, Inode>> {
        let st = lock(&self.fs.state);
        if st.generation != self.generation {
            return Err(io::Error::from_raw_os_error(libc::EIO));
        }
        Ok(lock(&self.inode))
    }

    /// [`SimFile::live`] for an operation that counts towards
    /// [`SimFs::crash_after`].
    fn live_op(&self) -> io::Result<MutexGuard<'_, Inode>> {
        let mut st = lock(&self.fs.state);
        if st.generation != self.generation {
            return Err(io::Error::from_raw_os_error(libc::EIO));
        }
        SimFs::tick(&mut st)?;
        Ok(lock(&self.inode))
    }
}

fn to_usize(x: u64) -> io::Result<usize> {
    usize::try_from(x)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "position too large"))
}

impl IoFile for SimFile {
    fn write_at(&self, buf: &[u8], pos: u64) -> io::Result<usize> {
        self.live_op()?.write(buf, to_usize(pos)?);
        Ok(buf.len())
    }

    fn read_at(&self, buf: &mut [u8], pos: u64) -> io::Result<usize> {
        let i = self.live()?;
        let pos = to_usize(pos)?;
        if pos >= i.data.len() {
            return Ok(0);
        }
        let n = buf.len().min(i.data.len() - pos);
        buf[..n].copy_from_slice(&i.data[pos..pos + n]);
        Ok(n)
    }

    fn sync_data(&self) -> io::Result<()> {
        self.live_op()?.sync();
        Ok(())
    }

    fn start_writeback(&self, _pos: u64, _len: u64) -> io::Result<()> {
        // No page cache to write back: bytes become durable only when synced.
        self.live().map(drop)
    }

    fn len(&self) -> io::Result<u64> {
        Ok(self.live()?.data.len() as u64)
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        self.live_op()?.set_len(to_usize(len)?);
        Ok(())
    }

    fn allocate(&self, len: u64) -> io::Result<()> {
        // Zeros up to `len`, as a real file reads after `fallocate`; like
        // any size change, durable only once synced.
        let mut i = self.live_op()?;
        let len = to_usize(len)?;
        if len > i.data.len() {
            i.set_len(len);
        }
        Ok(())
    }

    fn map(&self, len: u64) -> io::Result<Mapped> {
        let i = self.live()?;
        let len = to_usize(len)?;
        if len > i.data.len() {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("cannot map {len} bytes of a {}-byte file", i.data.len()),
            ));
        }
        Ok(Mapped::Owned(Arc::from(&i.data[..len])))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(fs: &SimFs, p: &str, mode: OpenMode) -> Arc<dyn IoFile> {
        fs.open(Path::new(p), mode).expect("open")
    }

    #[test]
    fn power_loss_drops_unsynced_bytes_and_keeps_synced_ones() {
        let fs = SimFs::new();
        fs.create_dir_all(Path::new("/d")).expect("mkdir");
        let f = file(&fs, "/d/a", OpenMode::CreateNew);
        fs.sync_dir(Path::new("/d")).expect("sync dir");
        write_all_at(f.as_ref(), b"hello", 0).expect("write");
        f.sync_data().expect("sync");
        write_all_at(f.as_ref(), b"HEL", 0).expect("overwrite");
        write_all_at(f.as_ref(), b" world", 5).expect("append");
        f.set_len(2).expect("shrink");
        fs.power_loss();
        assert_eq!(fs.read(Path::new("/d/a")).expect("read"), b"hello");
        assert!(f.len().is_err(), "old handles must fail after a power loss");
    }

    #[test]
    fn power_loss_drops_unsynced_directory_entries() {
        let fs = SimFs::new();
        fs.create_dir_all(Path::new("/d")).expect("mkdir");
        let f = file(&fs, "/d/old", OpenMode::CreateNew);
        write_all_at(f.as_ref(), b"old", 0).expect("write");
        f.sync_data().expect("sync");
        fs.sync_dir(Path::new("/d")).expect("sync dir");
        // A new file, synced, but its directory entry is not.
        let n = file(&fs, "/d/new", OpenMode::CreateNew);
        write_all_at(n.as_ref(), b"new", 0).expect("write");
        n.sync_data().expect("sync");
        // An unlink and a rename that are not synced either.
        fs.remove_file(Path::new("/d/old")).expect("unlink");
        fs.power_loss();
        let mut names = fs.list_dir(Path::new("/d")).expect("list");
        names.sort();
        assert_eq!(names, ["old"]);
        assert_eq!(fs.read(Path::new("/d/old")).expect("read"), b"old");
    }

    #[test]
    fn faulty_io_fails_the_nth_write_and_sync_once() {
        let fs = FaultyIo::new(Arc::new(SimFs::new()));
        fs.create_dir_all(Path::new("/d")).expect("mkdir");
        let f = fs
            .open(Path::new("/d/a"), OpenMode::CreateNew)
            .expect("open");
        fs.fail_write(2, libc::ENOSPC);
        fs.fail_sync(1, libc::EIO);
        write_all_at(f.as_ref(), b"a", 0).expect("first write");
        let e = write_all_at(f.as_ref(), b"b", 1).expect_err("second write");
        assert_eq!(e.raw_os_error(), Some(libc::ENOSPC));
        write_all_at(f.as_ref(), b"b", 1).expect("fires once");
        assert_eq!(
            f.sync_data().expect_err("sync").raw_os_error(),
            Some(libc::EIO)
        );
        f.sync_data().expect("fires once");
        fs.short_writes(Some(3));
        write_all_at(f.as_ref(), b"0123456789", 2).expect("short writes are continued");
        assert_eq!(f.write_at(b"0123456789", 0).expect("short"), 3);
        assert_eq!(fs.counts().1, 2);
    }
}
