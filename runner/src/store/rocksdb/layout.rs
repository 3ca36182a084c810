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
//! The record header is one tag byte saying which [`Keys`] variant follows,
//! then 0, 8 or 16 bytes of keys (u64 BE):
//!
//! | tag | keys | header bytes |
//! |---|---|---|
//! | 0 | `None` | 1 |
//! | 1 | `Single(a)` | 9 |
//! | 2 | `Pair(a, b)` | 17 |
//! | 3 | `Range(a, b)` | 17 |

use rocksdb::MergeOperands;

use crate::store::api::{Keys, Offset};

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

/// The `data` key of (`stream`, `offset`).
pub(super) fn data_key(stream: u64, offset: Offset) -> [u8; 16] {
    let mut k = [0u8; 16];
    k[..8].copy_from_slice(&stream.to_be_bytes());
    k[8..].copy_from_slice(&offset.to_be_bytes());
    k
}

/// Splits a `data` key into (stream, offset); `None` when it is not 16 bytes.
pub(super) fn parse_data_key(key: &[u8]) -> Option<(u64, Offset)> {
    let (s, o) = key.split_first_chunk::<8>()?;
    let o: [u8; 8] = o.try_into().ok()?;
    Some((u64::from_be_bytes(*s), u64::from_be_bytes(o)))
}

/// The `metadata` key holding `stream`'s trim point.
pub(super) fn trim_key(stream: u64) -> [u8; 9] {
    let mut k = [0u8; 9];
    k[0] = b'T';
    k[1..].copy_from_slice(&stream.to_be_bytes());
    k
}

/// Encodes a record value (header, then body) into `out`, which is cleared
/// first so a session can reuse one buffer.
pub(super) fn encode_value(keys: Keys, body: &[u8], out: &mut Vec<u8>) {
    out.clear();
    match keys {
        Keys::None => out.push(0),
        Keys::Single(a) => {
            out.push(1);
            out.extend_from_slice(&a.to_be_bytes());
        }
        Keys::Pair(a, b) => {
            out.push(2);
            out.extend_from_slice(&a.to_be_bytes());
            out.extend_from_slice(&b.to_be_bytes());
        }
        Keys::Range(a, b) => {
            out.push(3);
            out.extend_from_slice(&a.to_be_bytes());
            out.extend_from_slice(&b.to_be_bytes());
        }
    }
    out.extend_from_slice(body);
}

/// Splits a record value into its keys and body; `None` when the header is
/// malformed.
pub(super) fn decode_value(value: &[u8]) -> Option<(Keys, &[u8])> {
    let (&tag, rest) = value.split_first()?;
    match tag {
        0 => Some((Keys::None, rest)),
        1 => {
            let (a, body) = rest.split_first_chunk::<8>()?;
            Some((Keys::Single(u64::from_be_bytes(*a)), body))
        }
        2 | 3 => {
            let (a, rest) = rest.split_first_chunk::<8>()?;
            let (b, body) = rest.split_first_chunk::<8>()?;
            let (a, b) = (u64::from_be_bytes(*a), u64::from_be_bytes(*b));
            Some((
                if tag == 2 {
                    Keys::Pair(a, b)
                } else {
                    Keys::Range(a, b)
                },
                body,
            ))
        }
        _ => None,
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_keys_sort_by_stream_then_offset() {
        let mut keys = [
            data_key(1, 256),
            data_key(0, u64::MAX),
            data_key(1, 2),
            data_key(u64::MAX, 0),
            data_key(1, 255),
        ];
        keys.sort();
        let parsed: Vec<_> = keys.iter().map(|k| parse_data_key(k)).collect();
        assert_eq!(
            parsed,
            vec![
                Some((0, u64::MAX)),
                Some((1, 2)),
                Some((1, 255)),
                Some((1, 256)),
                Some((u64::MAX, 0)),
            ]
        );
        assert_eq!(parse_data_key(&[0; 15]), None);
    }

    #[test]
    fn values_round_trip_every_keys_variant() {
        let mut buf = Vec::new();
        for keys in [
            Keys::None,
            Keys::Single(u64::MAX),
            Keys::Pair(1, 2),
            Keys::Range(9, 3),
        ] {
            for body in [&b""[..], b"x", &[7u8; 300][..]] {
                encode_value(keys, body, &mut buf);
                assert_eq!(decode_value(&buf), Some((keys, body)));
            }
        }
        assert_eq!(decode_value(&[]), None, "empty value");
        assert_eq!(decode_value(&[1, 0, 0]), None, "short key");
        assert_eq!(decode_value(&[9]), None, "unknown tag");
    }
}
