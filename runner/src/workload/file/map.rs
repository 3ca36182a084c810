//! [`PayloadFile`]: a checked payload file, memory-mapped.
#![expect(
    unsafe_code,
    reason = "memory-mapping a payload file is unsafe in memmap2's API; it is the one map in this module"
)]

use std::fs::File;
use std::io::{self, Read as _};
use std::path::Path;

use memmap2::Mmap;

use super::super::payload::{PayloadView, Span};
use super::decode::{check_magic, decode};
use super::format::*;
use crate::store::Record;

/// A payload file opened, checked and mapped. Bodies are read in place from
/// the map: [`PayloadFile::view`] borrows them.
#[derive(Debug)]
pub(crate) struct PayloadFile {
    header: PayloadHeader,
    pub(super) map: Mmap,
    spans: Vec<Span>,
}

impl PayloadFile {
    /// Opens `path`, checks length, magic, version, hash and every record's
    /// bounds, and maps it.
    ///
    /// # Errors
    /// A missing, empty, truncated, foreign, unsupported or corrupt file, or
    /// an I/O failure; each names the path.
    pub(crate) fn open(path: &Path) -> Result<Self, PayloadFileError> {
        let p = || path.to_owned();
        let mut file = File::open(path).map_err(|source| match source.kind() {
            io::ErrorKind::NotFound => PayloadFileError::NotFound { path: p() },
            _ => PayloadFileError::Io {
                op: "open",
                path: p(),
                source,
            },
        })?;
        let len = file
            .metadata()
            .map_err(|source| PayloadFileError::Io {
                op: "stat",
                path: p(),
                source,
            })?
            .len();
        if len == 0 {
            return Err(PayloadFileError::Empty { path: p() });
        }
        if len < FIXED_HEADER as u64 {
            // Too short to map usefully: read what is there to tell a foreign
            // file from a truncated one.
            let mut head = Vec::new();
            file.read_to_end(&mut head)
                .map_err(|source| PayloadFileError::Io {
                    op: "read",
                    path: p(),
                    source,
                })?;
            check_magic(path, &head)?;
            return Err(PayloadFileError::Truncated {
                path: p(),
                part: "header",
                expected: FIXED_HEADER as u64,
                found: head.len() as u64,
            });
        }
        // SAFETY: memmap2 maps are unsafe because another process could
        // modify or truncate the file while it is mapped, which would change
        // (or fault on) bytes we hold as `&[u8]`. Payload files are
        // write-once artefacts: `write_pool` writes a temporary file and
        // renames it into place, so regenerating never touches a mapped
        // file. The length was checked above, and every length inside is
        // checked against the map before use; the hash is verified at open.
        let map = unsafe { Mmap::map(&file) }.map_err(|source| PayloadFileError::Io {
            op: "map",
            path: p(),
            source,
        })?;
        let (header, spans) = decode(path, &map)?;
        Ok(Self { header, map, spans })
    }

    /// The file's header.
    pub(crate) fn header(&self) -> &PayloadHeader {
        &self.header
    }

    /// Ready-made record slices borrowing the mapped bodies.
    pub(crate) fn view(&self) -> PayloadView<'_> {
        PayloadView::from_spans(&self.map, &self.spans, self.header.batch_size)
    }

    /// Records per batch.
    pub(crate) fn batch_size(&self) -> usize {
        self.header.batch_size
    }

    #[cfg(test)]
    /// Number of batches.
    pub(crate) fn batch_count(&self) -> usize {
        self.header.batch_count
    }

    /// Bytes this file costs when cycled: the mapped length (paged in as it
    /// is read) plus the span table and one view.
    pub(crate) fn memory_bytes(&self) -> usize {
        self.map.len() + self.spans.len() * (size_of::<Span>() + size_of::<Record<'static>>())
    }
}
