//! [`SimFs`]: an in-memory file system that remembers what was made
//! durable — file bytes covered by an fsync, directory entries covered by a
//! directory fsync — and on [`SimFs::power_loss`] forgets everything else,
//! as a machine losing power would. It is what tells `sync: always` from
//! `sync: never`; kill -9 cannot (the page cache survives it). Made with
//! [`SimFs::reordering`], a power loss instead keeps a random subset of
//! the unsynced pages — some whole, some torn at 512-byte sectors — and
//! the old or the new file size, as page-cache writeback does (what
//! LazyFS's `torn-seq` and `torn-op` faults inject); and
//! [`SimFs::crash_after`] loses power at the Nth operation from now,
//! wherever the writer is (a crash point).

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::map::Mapped;
use super::seam::{Io, IoFile, OpenMode, lock};

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
    use crate::store::fs::write_all_at;

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
}
