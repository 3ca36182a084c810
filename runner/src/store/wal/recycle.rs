//! Segment recycling (`recycle_segments: N`, as RocksDB's
//! `recycle_log_file_num` and PostgreSQL's WAL recycling): up to `N`
//! segment files that trims made dead are kept, renamed `<old id>.recycle`,
//! and reused as the next segments instead of new files — so the writer
//! overwrites blocks (and page-cache pages) that already exist, and the
//! preallocation thread zero-fills a file only when no recycled one is left.
//!
//! A recycled file keeps its old frames. They cannot come back: every frame
//! names the segment it was written in (see `format`), and recovery stops
//! at a frame of an earlier segment as at a clean end. Renames are safe in
//! any order a crash leaves them: the trim file, which raises the lowest
//! live id, is durable before a segment is moved here, so a rename that a
//! crash undoes leaves a file below the lowest live id, which recovery
//! deletes unread; a reused file gets its new header (synced) before it is
//! renamed to its new segment name.
//!
//! It owns the pool of recycled files and taking one; it does not decide
//! what is dead (see `session`'s trim) or write headers (see `writer`).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use super::segment::Segment;
use crate::store::api::StoreError;
use crate::store::fs::{Io, IoFile, OpenMode};

/// A segment file opened for a new segment, with the id of the segment it
/// held before it was recycled (0: a new file).
pub(crate) type ReusedFile = (Arc<dyn IoFile>, u64);

/// The suffix of a recycled file's name.
pub(crate) const RECYCLE_SUFFIX: &str = ".recycle";

/// The name a dead segment `id` has while it waits to be reused.
pub(crate) fn recycle_name(id: u64) -> String {
    format!("{id:020}{RECYCLE_SUFFIX}")
}

/// Parses a recycled file's name into the id the segment had.
pub(crate) fn parse_recycle_name(name: &str) -> Option<u64> {
    let digits = name.strip_suffix(RECYCLE_SUFFIX)?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The recycled files of one store.
#[derive(Debug)]
pub(crate) struct Recycler {
    dir: PathBuf,
    /// Files kept at most.
    max: usize,
    /// Paths of the recycled files, oldest first.
    pool: Mutex<Vec<PathBuf>>,
    /// Segments made out of a recycled file.
    reused: AtomicU64,
}

impl Recycler {
    /// A pool of at most `max` files in `dir`, holding `found` (recycled
    /// files recovery found, oldest first; the caller removes any beyond
    /// `max`).
    pub(crate) fn new(dir: &Path, max: usize, found: Vec<PathBuf>) -> Self {
        Self {
            dir: dir.to_path_buf(),
            max,
            pool: Mutex::new(found),
            reused: AtomicU64::new(0),
        }
    }

    /// Keeps the file of the dead segment `seg` for reuse when there is
    /// room and nobody else holds the segment (a reader's handle, whose
    /// memory map must never see the file change); otherwise unlinks it.
    /// Returns true when the file was kept.
    pub(crate) fn offer(&self, io: &dyn Io, seg: Arc<Segment>) -> Result<bool, StoreError> {
        let mut pool = self.pool.lock().unwrap_or_else(PoisonError::into_inner);
        let path = seg.path.clone();
        let id = seg.id;
        let owned = if pool.len() < self.max {
            Arc::try_unwrap(seg).ok()
        } else {
            None
        };
        let Some(seg) = owned else {
            io.remove_file(&path)
                .map_err(|e| StoreError::io("remove trimmed segment", &path, e))?;
            return Ok(false);
        };
        // Closes the file and drops its map before the file can change.
        drop(seg);
        let to = self.dir.join(recycle_name(id));
        io.rename(&path, &to)
            .map_err(|e| StoreError::io("recycle trimmed segment", &path, e))?;
        pool.push(to);
        Ok(true)
    }

    /// Takes a recycled file, renamed to `to` and opened, if there is one,
    /// with the id it had (which its new header records). Its bytes are
    /// its earlier frames: the caller writes the new header.
    pub(crate) fn take(&self, io: &dyn Io, to: &Path) -> Result<Option<ReusedFile>, StoreError> {
        let from = {
            let mut pool = self.pool.lock().unwrap_or_else(PoisonError::into_inner);
            if pool.is_empty() {
                return Ok(None);
            }
            pool.remove(0)
        };
        // Named by `recycle_name`; a name that does not parse still gets a
        // non-zero id, so old frames in it are expected, never damage.
        let old = from
            .file_name()
            .and_then(|n| parse_recycle_name(&n.to_string_lossy()))
            .unwrap_or(u64::MAX);
        io.rename(&from, to)
            .map_err(|e| StoreError::io("reuse recycled segment", &from, e))?;
        let file = io
            .open(to, OpenMode::Existing)
            .map_err(|e| StoreError::io("open recycled segment", to, e))?;
        self.reused.fetch_add(1, Ordering::Relaxed);
        Ok(Some((file, old.max(1))))
    }

    /// Segments made out of recycled files so far.
    pub(crate) fn reused(&self) -> u64 {
        self.reused.load(Ordering::Relaxed)
    }

    /// Recycled files waiting now.
    #[cfg(test)]
    pub(crate) fn waiting(&self) -> usize {
        self.pool
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recycle_names_round_trip_and_are_not_segment_names() {
        assert_eq!(recycle_name(7), "00000000000000000007.recycle");
        assert_eq!(parse_recycle_name(&recycle_name(u64::MAX)), Some(u64::MAX));
        for bad in ["x.recycle", ".recycle", "7.wal", "trim"] {
            assert_eq!(parse_recycle_name(bad), None, "{bad}");
        }
        assert_eq!(
            super::super::segment::parse_file_name(&recycle_name(3)),
            None
        );
    }
}
