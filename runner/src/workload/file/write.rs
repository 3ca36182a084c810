//! Writing payload files: [`generate`] and [`write_pool`] (temporary
//! name, sync, rename).

use std::fs::File;
use std::io::{BufWriter, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};

use super::super::payload::{PayloadParams, PayloadPool};
use super::super::rng::file_stream;
use super::format::*;
use crate::store::{Keys, Record};

/// Encodes a record's length, key tag and keys; returns the buffer and the
/// used length.
fn record_prefix(r: &Record<'_>) -> ([u8; MIN_RECORD + 16], usize) {
    let (tag, keys, key_count) = match r.keys {
        Keys::None => (0, [0, 0], 0),
        Keys::Single(a) => (1, [a, 0], 1),
        Keys::Pair(a, c) => (2, [a, c], 2),
        Keys::Range(a, c) => (3, [a, c], 2),
    };
    let mut b = [0u8; MIN_RECORD + 16];
    b[..8].copy_from_slice(&(r.body.len() as u64).to_le_bytes());
    b[8] = tag;
    for (i, k) in keys.iter().take(key_count).enumerate() {
        b[MIN_RECORD + 8 * i..MIN_RECORD + 8 * (i + 1)].copy_from_slice(&k.to_le_bytes());
    }
    (b, MIN_RECORD + 8 * key_count)
}

/// Generates a pool from [`file_stream`]`(seed)` with `params` (`params.pool`
/// is the number of batches written) and writes it to `path`, replacing any
/// file there. Returns the header written.
///
/// # Errors
/// Invalid parameters, or an I/O failure naming the path.
pub(crate) fn generate(
    path: &Path,
    params: &PayloadParams,
    seed: u64,
) -> Result<PayloadHeader, PayloadFileError> {
    let pool = PayloadPool::generate(params, &mut file_stream(seed)).map_err(|source| {
        PayloadFileError::Params {
            path: path.to_owned(),
            source,
        }
    })?;
    write_pool(path, &pool, seed)
}

/// Writes `pool` to `path` (recording `seed` in the header). The file is
/// written beside `path` under a temporary name, synced, then renamed, so a
/// reader never sees half a file.
///
/// # Errors
/// An I/O failure naming the path.
pub(crate) fn write_pool(
    path: &Path,
    pool: &PayloadPool,
    seed: u64,
) -> Result<PayloadHeader, PayloadFileError> {
    let view = pool.view();
    let records_len = view
        .records()
        .iter()
        .map(|r| record_prefix(r).1 as u64 + r.body.len() as u64)
        .sum();
    let params = pool.params();
    let mut header = PayloadHeader {
        version: FORMAT_VERSION,
        seed,
        size: params.size.clone(),
        entropy: params.entropy,
        keys: params.keys,
        batch_size: view.batch_size(),
        batch_count: view.batch_count(),
        content_hash: 0,
        records_len,
    };
    let tmp = temp_path(path);
    let io = |op| {
        let path = path.to_owned();
        move |source| PayloadFileError::Io { op, path, source }
    };
    let result = (|| {
        let file = File::create(&tmp).map_err(io("create"))?;
        let mut w = BufWriter::with_capacity(1 << 20, file);
        let placeholder = header.encode();
        w.write_all(&placeholder).map_err(io("write"))?;
        let mut crc = crc32c::crc32c(&placeholder[HASHED_FROM..]);
        for r in view.records() {
            let (prefix, n) = record_prefix(r);
            crc = crc32c::crc32c_append(crc, &prefix[..n]);
            crc = crc32c::crc32c_append(crc, r.body);
            w.write_all(&prefix[..n]).map_err(io("write"))?;
            w.write_all(r.body).map_err(io("write"))?;
        }
        let mut file = w.into_inner().map_err(|e| io("write")(e.into_error()))?;
        header.content_hash = crc;
        file.seek(SeekFrom::Start(12)).map_err(io("seek"))?;
        file.write_all(&crc.to_le_bytes()).map_err(io("write"))?;
        file.sync_all().map_err(io("sync"))?;
        std::fs::rename(&tmp, path).map_err(io("rename into place"))
    })();
    if result.is_err() {
        // Best effort: the temporary file is useless after a failure.
        let _ = std::fs::remove_file(&tmp);
    }
    result.map(|()| header)
}

/// `dir/.name.tmp` beside `path`.
fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "payload".to_owned());
    path.with_file_name(format!(".{name}.tmp"))
}
