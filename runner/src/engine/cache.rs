//! `cache: cold` on a phase: evicting a target's files from the page cache
//! before the phase starts, so its reads come from the disk.
//!
//! Owns the eviction of one directory tree ([`evict`]): every regular file
//! is synced (`fdatasync`: the kernel drops only clean pages) and then
//! advised away with `posix_fadvise(POSIX_FADV_DONTNEED)`. A page that a
//! process has mapped and touched is not dropped by that advice, and a
//! store keeps caches of its own (RocksDB's block cache, the WAL's segment
//! maps), so the engine closes the store first, evicts, reopens it (its
//! recovery reads what it reads: the WAL maps and scans every segment),
//! releases this process's page-table entries of read-only maps of the
//! store's files ([`unmap_pages`]), and evicts again; the phase then starts
//! on a store whose data pages are on the disk only. It does not drop the
//! whole page cache of the machine (`/proc/sys/vm/drop_caches`).
#![expect(
    unsafe_code,
    reason = "posix_fadvise has no safe wrapper in std; one call, on a descriptor this module owns"
)]

use std::os::fd::AsRawFd;
use std::path::Path;

use crate::store::StoreError;

/// What one eviction pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Evicted {
    /// Regular files advised away.
    pub(crate) files: u64,
    /// Their total size in bytes.
    pub(crate) bytes: u64,
}

/// Syncs and evicts every regular file under `dir` (recursively; symlinks
/// are not followed) from the page cache.
///
/// # Errors
///
/// [`StoreError::Io`] naming the file or directory and the call that
/// failed (`read directory`, `open`, `fdatasync`, `posix_fadvise`).
pub(crate) fn evict(dir: &Path) -> Result<Evicted, StoreError> {
    let mut done = Evicted::default();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let io = |op: &'static str, path: &Path| {
            let path = path.to_path_buf();
            move |source| StoreError::Io { op, path, source }
        };
        for entry in std::fs::read_dir(&d).map_err(io("read directory", &d))? {
            let entry = entry.map_err(io("read directory", &d))?;
            let path = entry.path();
            let kind = entry.file_type().map_err(io("stat", &path))?;
            if kind.is_dir() {
                stack.push(path);
                continue;
            }
            if !kind.is_file() {
                continue;
            }
            let file = match std::fs::File::open(&path) {
                Ok(f) => f,
                // A store may delete a file meanwhile (none runs now, but a
                // background thread of a closed store may just be ending).
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(io("open", &path)(e)),
            };
            // Dirty pages are not dropped by the advice: write them first.
            file.sync_data().map_err(io("fdatasync", &path))?;
            // SAFETY: `file` is open for the whole call and its descriptor
            // is valid; offset 0 and length 0 mean "the whole file", and the
            // advice changes only the kernel's caching, never memory of ours.
            let rc =
                unsafe { libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
            if rc != 0 {
                return Err(io("posix_fadvise", &path)(
                    std::io::Error::from_raw_os_error(rc),
                ));
            }
            done.files += 1;
            done.bytes += file.metadata().map_or(0, |m| m.len());
        }
    }
    Ok(done)
}

/// Closes `store` (every session has ended with the previous phase),
/// evicts `dir`, reopens the store of `kind` there and evicts again: what
/// the reopen read is dropped too, and the store's own caches start empty.
///
/// # Errors
///
/// The close, eviction or open error; [`StoreError::Invalid`] when a
/// session is still alive.
pub(crate) fn reopen_cold(
    kind: &crate::store::TargetKind,
    store: std::sync::Arc<Box<dyn crate::store::Store>>,
    dir: &Path,
) -> Result<std::sync::Arc<Box<dyn crate::store::Store>>, StoreError> {
    let Ok(only) = std::sync::Arc::try_unwrap(store) else {
        return Err(StoreError::Invalid {
            op: "cache: cold",
            detail: "the store is still in use".to_owned(),
        });
    };
    only.close()?;
    evict(dir)?;
    let store = crate::store::open(kind, dir)?;
    unmap_pages(dir)?;
    evict(dir)?;
    Ok(std::sync::Arc::new(store))
}

/// Releases the page-table entries of this process's read-only maps of
/// files under `dir` (`madvise(MADV_DONTNEED)`), so the page cache
/// can let those pages go; the next access faults them in from the file
/// again. Returns how many maps it released.
///
/// # Errors
///
/// [`StoreError::Io`] when `/proc/self/maps` cannot be read or `madvise`
/// fails.
pub(crate) fn unmap_pages(dir: &Path) -> Result<u64, StoreError> {
    let dir = std::fs::canonicalize(dir).map_err(|source| StoreError::Io {
        op: "resolve",
        path: dir.to_path_buf(),
        source,
    })?;
    let maps_path = Path::new("/proc/self/maps");
    let maps = std::fs::read_to_string(maps_path).map_err(|source| StoreError::Io {
        op: "read",
        path: maps_path.to_path_buf(),
        source,
    })?;
    let mut released = 0;
    for line in maps.lines() {
        // `start-end perms offset dev inode path` (the path may hold spaces).
        let mut fields = line.splitn(6, ' ');
        let (Some(range), Some(perms)) = (fields.next(), fields.next()) else {
            continue;
        };
        let Some(path) = fields.nth(3).map(str::trim_start) else {
            continue;
        };
        if !perms.starts_with("r-") || !Path::new(path).starts_with(&dir) {
            continue;
        }
        let Some((start, end)) = range.split_once('-') else {
            continue;
        };
        let (Ok(start), Ok(end)) = (
            usize::from_str_radix(start, 16),
            usize::from_str_radix(end, 16),
        ) else {
            continue;
        };
        // SAFETY: `start..end` is a whole mapping of this process, listed
        // by the kernel just now: not writable (`r-`), of a file under the
        // store's directory. No session of the store runs between phases,
        // and a store's read-only maps cover bytes it never rewrites (the
        // WAL maps only sealed segments). For a file mapping that was never
        // written through, private or shared, MADV_DONTNEED drops only
        // page-table entries; the next read of any byte faults the same
        // file contents back in, so no Rust value that borrows the map
        // observes a change.
        let rc =
            unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED) };
        if rc != 0 {
            return Err(StoreError::Io {
                op: "madvise",
                path: Path::new(path).to_path_buf(),
                source: std::io::Error::last_os_error(),
            });
        }
        released += 1;
    }
    Ok(released)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evicts_every_file_of_a_tree_and_keeps_their_contents() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("sub")).expect("mkdir");
        std::fs::write(dir.path().join("a"), vec![7u8; 64 << 10]).expect("write");
        std::fs::write(dir.path().join("sub/b"), b"bee").expect("write");
        let done = evict(dir.path()).expect("evict");
        assert_eq!(done.files, 2);
        assert_eq!(done.bytes, (64 << 10) + 3);
        assert_eq!(
            std::fs::read(dir.path().join("sub/b")).expect("read"),
            b"bee"
        );
    }

    #[test]
    fn unmap_pages_releases_a_read_only_map_whose_bytes_stay_readable() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("seg");
        std::fs::write(&path, vec![42u8; 256 << 10]).expect("write");
        let file = std::fs::File::open(&path).expect("open");
        // SAFETY: a private read-only map of a file this test owns and does
        // not change while the map lives.
        let map = unsafe { memmap2::Mmap::map(&file) }.expect("map");
        let sum: u64 = map.iter().map(|b| u64::from(*b)).sum();
        assert!(unmap_pages(dir.path()).expect("unmap") >= 1);
        evict(dir.path()).expect("evict");
        let again: u64 = map.iter().map(|b| u64::from(*b)).sum();
        assert_eq!(sum, again, "the map reads the same bytes after release");
    }

    #[test]
    fn a_missing_directory_is_an_io_error_naming_it() {
        let e = evict(Path::new("/nonexistent/loadline-cache")).expect_err("missing");
        assert!(
            e.to_string()
                .contains("read directory /nonexistent/loadline-cache"),
            "{e}"
        );
    }
}
