//! How the log and the key-value pairs are laid out in RocksDB: column
//! family names, key and value encodings, and the trim-point merge operator.
//!
//! Owns the on-disk format of the `rocksdb` target and nothing else (no I/O).
//!
//! | column family | key | value |
//! |---|---|---|
//! | `data` | stream (u64 BE) · offset (u64 BE) | record header (keys) · body |
//! | `metadata` | `T` · stream (u64 BE) | trim point (u64 BE), merged with [`max_merge`] |
//! | `kv` | the user's key | the user's value |
//!
//! Big-endian keys make RocksDB's bytewise order the (stream, offset) order,
//! so one stream is one contiguous, offset-sorted key range: a read is one
//! iterator seek, a trim one range deletion, and the tail is found by seeking
//! to the stream's last key. The tail is not stored: it is the larger of the
//! last key + 1 and the trim point (a stream trimmed to its tail has no keys
//! left but keeps its tail through the trim point).
//!
//! Record keys and values are encoded by [`crate::store::layout`], the layout
//! plug-in stores built on an ordered key-value map share.

use rocksdb::MergeOperands;

pub(super) use crate::store::layout::{data_key, parse_data_key};

/// Column family of log records.
pub(super) const CF_DATA: &str = "data";
/// Column family of per-stream trim points.
pub(super) const CF_METADATA: &str = "metadata";
/// Column family of key-value pairs.
pub(super) const CF_KV: &str = "kv";
/// Every column family the store opens (RocksDB's `default` is kept unused).
pub(super) const COLUMN_FAMILIES: [&str; 4] = ["default", CF_DATA, CF_METADATA, CF_KV];

/// Name the trim-point merge operator is registered under (RocksDB records it
/// in the OPTIONS file and refuses to reopen with a different one).
pub(super) const MAX_MERGE_NAME: &str = "loadline.u64_max";

/// The `metadata` key holding `stream`'s trim point.
pub(super) fn trim_key(stream: u64) -> [u8; 9] {
    let mut k = [0u8; 9];
    k[0] = b'T';
    k[1..].copy_from_slice(&stream.to_be_bytes());
    k
}

/// Decodes a stored u64 (BE); `None` when it is not 8 bytes.
pub(super) fn decode_u64(v: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(v.try_into().ok()?))
}

/// The trim-point merge operator: the result is the largest of the existing
/// value and every operand, so trim points only move forward whatever order
/// merges are applied or compacted in. Returns `None` (RocksDB reports a
/// merge failure, i.e. corruption) when a value is not 8 bytes.
pub(super) fn max_merge(
    _key: &[u8],
    existing: Option<&[u8]>,
    operands: &MergeOperands,
) -> Option<Vec<u8>> {
    let mut max = match existing {
        Some(v) => decode_u64(v)?,
        None => 0,
    };
    for op in operands {
        max = max.max(decode_u64(op)?);
    }
    Some(max.to_be_bytes().to_vec())
}
