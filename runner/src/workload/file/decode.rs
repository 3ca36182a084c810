//! The checked decoder: magic, version, hash and every record's bounds,
//! never trusting a length.

use std::path::Path;

use super::super::payload::{KeyStyle, Span};
use super::super::size::SizeDist;
use super::format::*;
use crate::store::Keys;

/// Fails with [`PayloadFileError::Foreign`] unless `bytes` starts with (as
/// much as it holds of) the magic.
pub(super) fn check_magic(path: &Path, bytes: &[u8]) -> Result<(), PayloadFileError> {
    let n = bytes.len().min(MAGIC.len());
    if bytes[..n] == MAGIC[..n] {
        return Ok(());
    }
    Err(PayloadFileError::Foreign {
        path: path.to_owned(),
    })
}

/// Little-endian reads from a byte slice whose length has been checked.
pub(super) struct Fields<'a>(&'a [u8]);

impl Fields<'_> {
    fn u64(&self, at: usize) -> u64 {
        let mut a = [0u8; 8];
        a.copy_from_slice(&self.0[at..at + 8]);
        u64::from_le_bytes(a)
    }

    fn u32(&self, at: usize) -> u32 {
        let mut a = [0u8; 4];
        a.copy_from_slice(&self.0[at..at + 4]);
        u32::from_le_bytes(a)
    }
}

/// Checks and decodes a whole file held in `bytes` (at least
/// `FIXED_HEADER` long): its frame (magic, version, lengths, hash), the
/// parameters in its header, then every record's bounds.
pub(super) fn decode(
    path: &Path,
    bytes: &[u8],
) -> Result<(PayloadHeader, Vec<Span>), PayloadFileError> {
    let frame = check_frame(path, bytes)?;
    // The hash matched: what follows guards against a faulty writer.
    let f = Fields(bytes);
    let corrupt = corrupt_at(path);
    let keys = match bytes[64] {
        0 => KeyStyle::None,
        1 => KeyStyle::Single,
        2 => KeyStyle::Pair,
        3 => KeyStyle::Range,
        t => return Err(corrupt(64, format!("unknown key style {t}"))),
    };
    let size = size_dist(path, bytes, frame.weighted)?;
    let entropy = f64::from_bits(f.u64(56));
    if !(0.0..=1.0).contains(&entropy) {
        return Err(corrupt(56, format!("entropy {entropy} is outside 0..=1")));
    }
    let as_count = |at: usize, what: &str| {
        usize::try_from(f.u64(at))
            .map_err(|_| corrupt(at, format!("{what} {} is too large", f.u64(at))))
    };
    let batch_size = as_count(40, "batch size")?;
    let batch_count = as_count(48, "batch count")?;
    if batch_size == 0 || batch_count == 0 {
        return Err(corrupt(
            40,
            format!("{batch_count} batches of {batch_size} records hold no record"),
        ));
    }
    // Every record takes at least MIN_RECORD bytes: a count the section
    // cannot hold is rejected before anything is allocated for it.
    let records_len = frame.records_len;
    let count = batch_size
        .checked_mul(batch_count)
        .filter(|&n| n as u64 <= records_len / MIN_RECORD as u64)
        .ok_or_else(|| {
            corrupt(
                40,
                format!(
                    "{batch_count} batches of {batch_size} records cannot fit in {records_len} record bytes"
                ),
            )
        })?;
    let spans = record_spans(path, bytes, frame.header_len, count)?;
    let header = PayloadHeader {
        version: frame.version,
        seed: f.u64(32),
        size,
        entropy,
        keys,
        batch_size,
        batch_count,
        content_hash: frame.stored_hash,
        records_len,
    };
    Ok((header, spans))
}

/// A [`PayloadFileError::Corrupt`] of `path` at a byte offset.
fn corrupt_at(path: &Path) -> impl Fn(usize, String) -> PayloadFileError + '_ {
    move |offset, detail| PayloadFileError::Corrupt {
        path: path.to_owned(),
        offset: offset as u64,
        detail,
    }
}

/// What the file's frame says, once checked.
struct Frame {
    version: u32,
    /// Fixed header plus the weighted size entries.
    header_len: usize,
    weighted: usize,
    records_len: u64,
    stored_hash: u32,
}

/// The magic, the version, the header and record section lengths against
/// the file's, and the content hash.
fn check_frame(path: &Path, bytes: &[u8]) -> Result<Frame, PayloadFileError> {
    let corrupt = corrupt_at(path);
    check_magic(path, bytes)?;
    if bytes.len() < FIXED_HEADER {
        return Err(PayloadFileError::Truncated {
            path: path.to_owned(),
            part: "header",
            expected: FIXED_HEADER as u64,
            found: bytes.len() as u64,
        });
    }
    let f = Fields(bytes);
    let version = f.u32(8);
    if version != FORMAT_VERSION {
        return Err(PayloadFileError::UnsupportedVersion {
            path: path.to_owned(),
            found: version,
            supported: FORMAT_VERSION,
        });
    }
    let file_len = bytes.len() as u64;
    let weighted = f.u32(68) as usize;
    let header_len = FIXED_HEADER + WEIGHT_ENTRY * weighted;
    if f.u64(16) != header_len as u64 {
        return Err(corrupt(
            16,
            format!(
                "header length field says {} bytes, but {weighted} weighted entries make {header_len}",
                f.u64(16)
            ),
        ));
    }
    if file_len < header_len as u64 {
        return Err(PayloadFileError::Truncated {
            path: path.to_owned(),
            part: "header",
            expected: header_len as u64,
            found: file_len,
        });
    }
    let records_len = f.u64(24);
    let total = (header_len as u64)
        .checked_add(records_len)
        .ok_or_else(|| corrupt(24, format!("record section length {records_len} overflows")))?;
    if file_len < total {
        return Err(PayloadFileError::Truncated {
            path: path.to_owned(),
            part: "file",
            expected: total,
            found: file_len,
        });
    }
    if file_len > total {
        return Err(corrupt(
            total as usize,
            format!("{} unexpected bytes after the records", file_len - total),
        ));
    }
    let stored = f.u32(12);
    let computed = crc32c::crc32c(&bytes[HASHED_FROM..]);
    if stored != computed {
        return Err(PayloadFileError::HashMismatch {
            path: path.to_owned(),
            stored,
            computed,
        });
    }
    Ok(Frame {
        version,
        header_len,
        weighted,
        records_len,
        stored_hash: stored,
    })
}

/// The size distribution the header names, with its `weighted` entries.
fn size_dist(path: &Path, bytes: &[u8], weighted: usize) -> Result<SizeDist, PayloadFileError> {
    let f = Fields(bytes);
    let a: Vec<u64> = (0..4).map(|i| f.u64(72 + 8 * i)).collect();
    Ok(match bytes[65] {
        0 => SizeDist::Fixed(a[0]),
        1 => SizeDist::Uniform {
            min: a[0],
            max: a[1],
        },
        2 => SizeDist::Normal {
            mean: a[0],
            stddev: a[1],
            min: a[2],
            max: a[3],
        },
        3 => SizeDist::Weighted(
            (0..weighted)
                .map(|i| {
                    let at = FIXED_HEADER + WEIGHT_ENTRY * i;
                    (f.u64(at), f.u32(at + 8))
                })
                .collect(),
        ),
        k => return Err(corrupt_at(path)(65, format!("unknown size kind {k}"))),
    })
}

/// The `count` records from `header_len` on, each checked to lie within
/// the file, ending exactly at its end.
fn record_spans(
    path: &Path,
    bytes: &[u8],
    header_len: usize,
    count: usize,
) -> Result<Vec<Span>, PayloadFileError> {
    let corrupt = corrupt_at(path);
    let f = Fields(bytes);
    let mut spans = Vec::with_capacity(count);
    let mut pos = header_len;
    let end = bytes.len();
    for i in 0..count {
        if end - pos < MIN_RECORD {
            return Err(corrupt(
                pos,
                format!(
                    "record {i} needs at least {MIN_RECORD} bytes, {} remain",
                    end - pos
                ),
            ));
        }
        let body_len = f.u64(pos);
        let key_count = match bytes[pos + 8] {
            0 => 0,
            1 => 1,
            2 | 3 => 2,
            t => {
                return Err(corrupt(
                    pos + 8,
                    format!("record {i} has unknown key tag {t}"),
                ));
            }
        };
        let keys_at = pos + MIN_RECORD;
        let body_at = keys_at + 8 * key_count;
        if body_at > end {
            return Err(corrupt(
                pos,
                format!(
                    "record {i}'s keys need {} bytes, {} remain",
                    8 * key_count,
                    end - keys_at
                ),
            ));
        }
        let remain = (end - body_at) as u64;
        if body_len > remain {
            return Err(corrupt(
                pos,
                format!("record {i} claims {body_len} body bytes, only {remain} remain"),
            ));
        }
        let k = |j: usize| f.u64(keys_at + 8 * j);
        let keys = match bytes[pos + 8] {
            0 => Keys::None,
            1 => Keys::Single(k(0)),
            2 => Keys::Pair(k(0), k(1)),
            _ => Keys::Range(k(0), k(1)),
        };
        let len = body_len as usize;
        spans.push(Span {
            start: body_at,
            len,
            keys,
        });
        pos = body_at + len;
    }
    if pos != end {
        return Err(corrupt(
            pos,
            format!("{} bytes after the last of {count} records", end - pos),
        ));
    }
    Ok(spans)
}
