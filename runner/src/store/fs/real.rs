//! [`RealIo`]: the real file system through `std::fs`, with `pwrite`/`pread`,
//! `fdatasync`, `fallocate`, `sync_file_range` (the seam's two `unsafe` FFI
//! calls), directory fsync and an exclusive lock on a store's directory.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Arc;

use super::map::{Mapped, map_file};
use super::seam::{Io, IoFile, OpenMode};

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
