//! [`FaultyIo`] (tests only): wraps another [`Io`] and injects faults
//! deterministically: an error (EIO, ENOSPC, …) on the Nth write or Nth sync
//! from now, and short writes.

use std::fmt;
use std::io;
use std::path::Path;
use std::sync::{Arc, Mutex};

use super::map::Mapped;
use super::seam::{Io, IoFile, OpenMode, lock};

/// Faults armed on a [`FaultyIo`]; counts are "from now", 1-based.
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
#[derive(Debug, Clone)]
pub(crate) struct FaultyIo {
    inner: Arc<dyn Io>,
    plan: Arc<Mutex<FaultPlan>>,
}

#[derive(Debug)]
struct FaultyFile {
    inner: Arc<dyn IoFile>,
    plan: Arc<Mutex<FaultPlan>>,
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::fs::{SimFs, write_all_at};

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
