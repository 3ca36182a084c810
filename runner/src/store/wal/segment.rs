//! Segment files as the reader sees them: the open handle of one segment,
//! its sealed read-only memory map (made by [`map_file`](crate::store::fs::map_file), the seam's one
//! `unsafe` operation).
//!
//! A segment is *active* while the writer appends to it (read through
//! `pread`) and *sealed* once it is full, truncated to its last frame and
//! fsynced (read through a memory map of exactly its final length). Sealed
//! files never change again while mapped (until unlinked, or recycled once
//! the last handle and its map are gone), and the log directory is locked
//! by one store, so a mapped file never shrinks under a reader.
//!
//! It does not own the format (see `format`) or writing (see `writer`).

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use crate::store::fs::{IoFile, Mapped, read_exact_at};

/// The file name of segment `id`: 20 digits, so names sort as ids do.
pub(crate) fn file_name(id: u64) -> String {
    format!("{id:020}.wal")
}

/// Parses a segment file name (`<digits>.wal`) into its id.
pub(crate) fn parse_file_name(name: &str) -> Option<u64> {
    let digits = name.strip_suffix(".wal")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// One segment as readers use it.
#[derive(Debug)]
pub(crate) struct Segment {
    /// Segment id.
    pub(crate) id: u64,
    /// Path of the file.
    pub(crate) path: PathBuf,
    /// The open file (written through by the writer while active).
    pub(crate) file: Arc<dyn IoFile>,
    /// The read-only map, set once the segment is sealed.
    sealed: OnceLock<Mapped>,
}

impl Segment {
    /// A handle on an open segment file.
    pub(crate) fn new(id: u64, dir: &Path, file: Arc<dyn IoFile>) -> Self {
        Self {
            id,
            path: dir.join(file_name(id)),
            file,
            sealed: OnceLock::new(),
        }
    }

    /// Marks the segment sealed at `len` bytes (the file is final and
    /// synced) and maps it for reads.
    pub(crate) fn seal(&self, len: u64) -> io::Result<()> {
        let map = self.file.map(len)?;
        // A second seal cannot happen: the writer seals each segment once.
        let _ = self.sealed.set(map);
        Ok(())
    }

    /// Marks the segment sealed with an existing map of its final bytes
    /// (recovery maps segments while scanning them).
    pub(crate) fn set_sealed(&self, map: Mapped) {
        let _ = self.sealed.set(map);
    }

    /// Asks the kernel to map every page of the sealed map in now
    /// (`MADV_POPULATE_READ`), so later reads do not fault page by page. A
    /// hint: does nothing for the active segment, on the simulated file
    /// system, or when the kernel refuses. It reads nothing through the
    /// map, and the kernel reports (never signals) a range the file no
    /// longer covers, so it is safe even on a map a closed store's
    /// populate thread still holds while a reopened store recycles the file.
    pub(crate) fn populate(&self) {
        if let Some(Mapped::Mmap(m)) = self.sealed.get() {
            let _ = m.advise(memmap2::Advice::PopulateRead);
        }
    }

    /// True once sealed.
    #[cfg(test)]
    pub(crate) fn is_sealed(&self) -> bool {
        self.sealed.get().is_some()
    }

    /// The bytes `pos..pos + len`: borrowed from the map of a sealed
    /// segment, or read with `pread` into `scratch` for the active one.
    pub(crate) fn bytes<'a>(
        &'a self,
        pos: u64,
        len: usize,
        scratch: &'a mut Vec<u8>,
    ) -> io::Result<&'a [u8]> {
        if let Some(map) = self.sealed.get() {
            let start = usize::try_from(pos).unwrap_or(usize::MAX);
            return map.get(start..start.saturating_add(len)).ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "read beyond the sealed segment",
                )
            });
        }
        scratch.clear();
        scratch.resize(len, 0);
        read_exact_at(self.file.as_ref(), scratch, pos)?;
        Ok(scratch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_round_trip_and_reject_others() {
        assert_eq!(file_name(7), "00000000000000000007.wal");
        assert_eq!(parse_file_name(&file_name(u64::MAX)), Some(u64::MAX));
        assert_eq!(parse_file_name("7.wal"), Some(7));
        for bad in ["trim", "x.wal", ".wal", "00001.wal.tmp", "-1.wal", "LOCK"] {
            assert_eq!(parse_file_name(bad), None, "{bad}");
        }
    }
}
