//! The seam's traits: [`Io`] (directory operations, opening files) and
//! [`IoFile`] (one open file), and the loops every caller needs on top of
//! them (whole writes and reads, zero-filling). It owns no file system.

use std::fmt;
use std::io;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::map::Mapped;

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

pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}
