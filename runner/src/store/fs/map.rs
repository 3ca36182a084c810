//! Read-only views of a file's first bytes: a memory map of a real file
//! ([`map_file`], the one `unsafe` operation of the seam) or owned bytes.
#![expect(
    unsafe_code,
    reason = "memory-mapping sealed segments is the one unsafe operation of the WAL; see SAFETY notes"
)]

use std::fs::File;
use std::io;
use std::ops::Deref;
use std::sync::Arc;

/// A read-only view of the start of a file: a memory map, or owned bytes
/// (the simulated file system, and empty files, which cannot be mapped).
#[derive(Debug)]
pub(crate) enum Mapped {
    /// A private read-only memory map.
    Mmap(memmap2::Mmap),
    /// Bytes held in memory.
    Owned(Arc<[u8]>),
}

impl Deref for Mapped {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Mapped::Mmap(m) => m,
            Mapped::Owned(b) => b,
        }
    }
}

/// Maps bytes `0..len` of `file` read-only, after checking the file holds
/// at least `len` bytes (a map beyond the end of file faults on access).
pub(crate) fn map_file(file: &File, len: u64) -> io::Result<Mapped> {
    let actual = file.metadata()?.len();
    if actual < len {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!("cannot map {len} bytes of a {actual}-byte file"),
        ));
    }
    if len == 0 {
        return Ok(Mapped::Owned(Arc::from(&[][..])));
    }
    let map_len = usize::try_from(len)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "segment too large to map"))?;
    // SAFETY: the map is read-only and private, and covers only bytes that
    // exist (checked just above). Its callers map only (a) sealed segments,
    // which are never written or truncated again before being unlinked
    // (unlinking keeps the pages of a live map valid) or recycled (a trim
    // recycles a file only when it holds the segment's last handle, so the
    // map is dropped before the file can change: see `recycle`), and (b) segments during
    // recovery, before any truncation and while the directory lock keeps
    // every other store out. So the file never shrinks under the map, which
    // is the condition under which reading it could fault (SIGBUS) or observe
    // changing bytes.
    let map = unsafe { memmap2::MmapOptions::new().len(map_len).map(file)? };
    Ok(Mapped::Mmap(map))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_refuses_more_than_the_file_holds() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("f");
        std::fs::write(&p, b"abcdef").expect("write");
        let f = File::open(&p).expect("open");
        assert_eq!(&*map_file(&f, 4).expect("map"), b"abcd");
        assert!(map_file(&f, 7).is_err());
        assert!(map_file(&f, 0).expect("empty").is_empty());
    }
}
