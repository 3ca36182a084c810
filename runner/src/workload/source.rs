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
pub(crate) enum PayloadSource {
    /// Generated in memory before the phase.
    Pool(PayloadPool),
    /// A recorded payload file, memory-mapped.
    File(PayloadFile),
}

impl PayloadSource {
    /// Ready-made record slices; build once per phase or per worker thread,
    /// then call [`PayloadView::batch`] on the hot path.
    pub(crate) fn view(&self) -> PayloadView<'_> {
        match self {
            PayloadSource::Pool(p) => p.view(),
            PayloadSource::File(f) => f.view(),
        }
    }

    #[cfg(test)]
    /// Records per batch (validation compares it with the actor's `batch`).
    pub(crate) fn batch_size(&self) -> usize {
        match self {
            PayloadSource::Pool(p) => p.batch_size(),
            PayloadSource::File(f) => f.batch_size(),
        }
    }

    #[cfg(test)]
    /// Number of distinct batches cycled.
    pub(crate) fn batch_count(&self) -> usize {
        match self {
            PayloadSource::Pool(p) => p.batch_count(),
            PayloadSource::File(f) => f.batch_count(),
        }
    }

    /// The entropy the payload was generated with.
    pub(crate) fn entropy(&self) -> f64 {
        match self {
            PayloadSource::Pool(p) => p.params().entropy,
            PayloadSource::File(f) => f.header().entropy,
        }
    }

    /// Bytes the source costs: see [`PayloadPool::memory_bytes`] and
    /// [`PayloadFile::memory_bytes`].
    pub(crate) fn memory_bytes(&self) -> usize {
        match self {
            PayloadSource::Pool(p) => p.memory_bytes(),
            PayloadSource::File(f) => f.memory_bytes(),
        }
    }

    /// The entropy check on this source (see [`compressibility`]).
    ///
    /// # Errors
    /// zstd reports an internal failure.
    pub(crate) fn compressibility(&self) -> Result<Compressibility, CompressError> {
        compressibility(&self.view(), self.entropy())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::file::generate;
    use crate::workload::payload::tests::digest;
    use crate::workload::payload::{KeyStyle, PayloadParams};
    use crate::workload::rng::file_stream;
    use crate::workload::size::SizeDist;

    /// The engine must be able to use a pool and a file interchangeably:
    /// the same parameters and stream give the same batches either way.
    #[test]
    fn pool_and_file_are_interchangeable() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("p.bin");
        let params = PayloadParams {
            size: SizeDist::Fixed(2048),
            entropy: 0.5,
            keys: KeyStyle::Single,
            batch: 8,
            pool: 12,
        };
        generate(&path, &params, 9).expect("generate");
        let sources = [
            PayloadSource::Pool(PayloadPool::generate(&params, &mut file_stream(9)).expect("pool")),
            PayloadSource::File(PayloadFile::open(&path).expect("open")),
        ];
        let [pool, file] = &sources;
        assert_eq!(digest(&pool.view()), digest(&file.view()));
        assert_eq!(pool.view().batch(5), file.view().batch(5));
        for s in &sources {
            assert_eq!((s.batch_size(), s.batch_count(), s.entropy()), (8, 12, 0.5));
            assert!(s.memory_bytes() >= 8 * 12 * 2048, "{}", s.memory_bytes());
        }
        let (a, b) = (
            pool.compressibility().expect("pool check"),
            file.compressibility().expect("file check"),
        );
        assert_eq!(a, b);
        assert_eq!(a.sample_bytes, 8 * 12 * 2048);
    }
}
