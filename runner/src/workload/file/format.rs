//! The payload file format's constants, header and errors.

use std::io;
use std::path::PathBuf;

use super::super::entropy::CompressError;
use super::super::payload::{KeyStyle, PayloadParamsError};
use super::super::size::SizeDist;

/// The first 8 bytes of every payload file.
pub(crate) const MAGIC: [u8; 8] = *b"LLPAYLD\0";

/// The format version this build writes and reads.
pub(crate) const FORMAT_VERSION: u32 = 1;

/// Bytes of the header before the weighted entries.
pub(super) const FIXED_HEADER: usize = 104;

/// Bytes per weighted entry.
pub(super) const WEIGHT_ENTRY: usize = 16;

/// Where the hashed region starts (just after the hash field).
pub(super) const HASHED_FROM: usize = 16;

/// Smallest encoded record: length and key tag.
pub(super) const MIN_RECORD: usize = 9;

/// Everything that can go wrong reading or writing a payload file. Messages
/// are lowercase and name the file.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PayloadFileError {
    /// The file does not exist.
    #[error("payload file {path} not found")]
    NotFound {
        /// The file.
        path: PathBuf,
    },
    /// An I/O call failed.
    #[error("cannot {op} payload file {path}: {source}")]
    Io {
        /// What was attempted (`open`, `read`, `map`, `write` …).
        op: &'static str,
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The file has no bytes at all.
    #[error(
        "payload file {path} is empty (0 bytes); generate one with `loadline payload generate`"
    )]
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// The file ends before what its header promises.
    #[error("payload file {path} is truncated: the {part} needs {expected} bytes, found {found}")]
    Truncated {
        /// The file.
        path: PathBuf,
        /// What is cut short (`header` or `file`).
        part: &'static str,
        /// Bytes needed.
        expected: u64,
        /// Bytes present.
        found: u64,
    },
    /// The file does not start with [`MAGIC`]. Its bytes are not quoted:
    /// the file may be anything (a secret pointed at by mistake), and the
    /// message goes to logs and CI annotations.
    #[error(
        "{path} is not a loadline payload file: it does not start with the payload magic \"LLPAYLD\\0\""
    )]
    Foreign {
        /// The file.
        path: PathBuf,
    },
    /// A format version this build cannot read.
    #[error(
        "payload file {path} has format version {found}; this loadline reads version {supported}"
    )]
    UnsupportedVersion {
        /// The file.
        path: PathBuf,
        /// The file's version.
        found: u32,
        /// The version this build reads.
        supported: u32,
    },
    /// The content hash does not match the contents.
    #[error(
        "payload file {path} is corrupt: content hash mismatch (header says {stored:#010x}, contents hash to {computed:#010x})"
    )]
    HashMismatch {
        /// The file.
        path: PathBuf,
        /// Hash in the header.
        stored: u32,
        /// Hash of the contents.
        computed: u32,
    },
    /// A field or record that is out of bounds or invalid.
    #[error("payload file {path} is corrupt at byte {offset}: {detail}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Byte offset of the bad field.
        offset: u64,
        /// What is wrong.
        detail: String,
    },
    /// The parameters to generate from are invalid.
    #[error("cannot generate payload file {path}: {source}")]
    Params {
        /// The file.
        path: PathBuf,
        /// The problem.
        #[source]
        source: PayloadParamsError,
    },
    /// The compressibility check failed.
    #[error("cannot check the compressibility of payload file {path}: {source}")]
    Compress {
        /// The file.
        path: PathBuf,
        /// The problem.
        #[source]
        source: CompressError,
    },
}

/// The header of a payload file: how it was generated.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PayloadHeader {
    /// Format version.
    pub version: u32,
    /// Seed of the generating stream ([`file_stream`](crate::workload::file_stream)).
    pub seed: u64,
    /// Size distribution the bodies were drawn from.
    pub size: SizeDist,
    /// Requested entropy.
    pub entropy: f64,
    /// Key style of the records.
    pub keys: KeyStyle,
    /// Records per batch.
    pub batch_size: usize,
    /// Number of batches.
    pub batch_count: usize,
    /// CRC-32C of the file from byte 16 on.
    pub content_hash: u32,
    /// Length of the record section in bytes.
    pub records_len: u64,
}

impl PayloadHeader {
    #[cfg(test)]
    /// The parameters the file was generated with (`pool` = batch count).
    pub(crate) fn params(&self) -> super::super::payload::PayloadParams {
        super::super::payload::PayloadParams {
            size: self.size.clone(),
            entropy: self.entropy,
            keys: self.keys,
            batch: self.batch_size,
            pool: self.batch_count,
        }
    }

    /// Total header length in bytes.
    pub(super) fn header_len(&self) -> usize {
        FIXED_HEADER + WEIGHT_ENTRY * weighted_entries(&self.size).len()
    }

    /// Encodes the header (with the hash field as stored in `content_hash`).
    pub(super) fn encode(&self) -> Vec<u8> {
        let mut b = vec![0u8; self.header_len()];
        b[0..8].copy_from_slice(&MAGIC);
        put_u32(&mut b, 8, self.version);
        put_u32(&mut b, 12, self.content_hash);
        put_u64(&mut b, 16, self.header_len() as u64);
        put_u64(&mut b, 24, self.records_len);
        put_u64(&mut b, 32, self.seed);
        put_u64(&mut b, 40, self.batch_size as u64);
        put_u64(&mut b, 48, self.batch_count as u64);
        put_u64(&mut b, 56, self.entropy.to_bits());
        b[64] = key_style_tag(self.keys);
        let (kind, params) = match &self.size {
            SizeDist::Fixed(n) => (0, [*n, 0, 0, 0]),
            SizeDist::Uniform { min, max } => (1, [*min, *max, 0, 0]),
            SizeDist::Normal {
                mean,
                stddev,
                min,
                max,
            } => (2, [*mean, *stddev, *min, *max]),
            SizeDist::Weighted(_) => (3, [0; 4]),
        };
        b[65] = kind;
        let weights = weighted_entries(&self.size);
        put_u32(&mut b, 68, weights.len() as u32);
        for (i, p) in params.iter().enumerate() {
            put_u64(&mut b, 72 + 8 * i, *p);
        }
        for (i, (size, weight)) in weights.iter().enumerate() {
            let at = FIXED_HEADER + WEIGHT_ENTRY * i;
            put_u64(&mut b, at, *size);
            put_u32(&mut b, at + 8, *weight);
        }
        b
    }
}

pub(super) fn weighted_entries(size: &SizeDist) -> &[(u64, u32)] {
    match size {
        SizeDist::Weighted(list) => list,
        _ => &[],
    }
}

pub(super) fn key_style_tag(k: KeyStyle) -> u8 {
    match k {
        KeyStyle::None => 0,
        KeyStyle::Single => 1,
        KeyStyle::Pair => 2,
        KeyStyle::Range => 3,
    }
}

pub(super) fn put_u64(b: &mut [u8], at: usize, v: u64) {
    b[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

pub(super) fn put_u32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}
