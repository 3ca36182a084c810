//! [`PayloadSource`]: a generated pool or a recorded file behind one type, so
//! the engine writes from either the same way.
//!
//! Owns only the choice between the two; generation lives in `payload`,
//! files in `file`, the entropy check in `entropy`.

use super::entropy::{CompressError, Compressibility, compressibility};
use super::file::PayloadFile;
use super::payload::{PayloadPool, PayloadView};

/// Where an actor's batches come from.
#[derive(Debug)]
pub enum PayloadSource {
    /// Generated in memory before the phase.
    Pool(PayloadPool),
    /// A recorded payload file, memory-mapped.
    File(PayloadFile),
}

impl PayloadSource {
    /// Ready-made record slices; build once per phase or per worker thread,
    /// then call [`PayloadView::batch`] on the hot path.
    pub fn view(&self) -> PayloadView<'_> {
        match self {
            PayloadSource::Pool(p) => p.view(),
            PayloadSource::File(f) => f.view(),
        }
    }

    /// Records per batch (validation compares it with the actor's `batch`).
    pub fn batch_size(&self) -> usize {
        match self {
            PayloadSource::Pool(p) => p.batch_size(),
            PayloadSource::File(f) => f.batch_size(),
        }
    }

    /// Number of distinct batches cycled.
    pub fn batch_count(&self) -> usize {
        match self {
            PayloadSource::Pool(p) => p.batch_count(),
            PayloadSource::File(f) => f.batch_count(),
        }
    }

    /// The entropy the payload was generated with.
    pub fn entropy(&self) -> f64 {
        match self {
            PayloadSource::Pool(p) => p.params().entropy,
            PayloadSource::File(f) => f.header().entropy,
        }
    }

    /// Bytes the source costs: see [`PayloadPool::memory_bytes`] and
    /// [`PayloadFile::memory_bytes`].
    pub fn memory_bytes(&self) -> usize {
        match self {
            PayloadSource::Pool(p) => p.memory_bytes(),
            PayloadSource::File(f) => f.memory_bytes(),
        }
    }

    /// The entropy check on this source (see [`compressibility`]).
    ///
    /// # Errors
    /// zstd reports an internal failure.
    pub fn compressibility(&self) -> Result<Compressibility, CompressError> {
        compressibility(&self.view(), self.entropy())
    }
}
