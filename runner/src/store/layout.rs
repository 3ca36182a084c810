//! A log laid out on an ordered key-value map: the key of a record from its
//! (stream, offset), and its value from its [`Keys`] and body.
//!
//! The `rocksdb` target stores its log this way, and so can a plug-in store
//! whose only primitive is an ordered map (the fjall and redb kinds of
//! `examples/stores` do): one layout, one set of tests, no copies.
//!
//! | part | encoding |
//! |---|---|
//! | key | stream (u64 BE) · offset (u64 BE), 16 bytes |
//! | value | tag byte · 0, 8 or 16 bytes of keys (u64 BE) · body |
//!
//! Big-endian keys make a bytewise key order the (stream, offset) order, so
//! one stream is one contiguous, offset-sorted key range: a read is one
//! seek, a trim one range deletion, and the tail is the stream's last key.
//!
//! | tag | keys | header bytes |
//! |---|---|---|
//! | 0 | `None` | 1 |
//! | 1 | `Single(a)` | 9 |
//! | 2 | `Pair(a, b)` | 17 |
//! | 3 | `Range(a, b)` | 17 |

use crate::store::api::{Keys, Offset};

/// The key of the record at (`stream`, `offset`).
pub fn data_key(stream: u64, offset: Offset) -> [u8; 16] {
    let mut k = [0u8; 16];
    k[..8].copy_from_slice(&stream.to_be_bytes());
    k[8..].copy_from_slice(&offset.to_be_bytes());
    k
}

/// Splits a record key into (stream, offset); `None` when it is not 16 bytes.
pub fn parse_data_key(key: &[u8]) -> Option<(u64, Offset)> {
    let (s, o) = key.split_first_chunk::<8>()?;
    let o: [u8; 8] = o.try_into().ok()?;
    Some((u64::from_be_bytes(*s), u64::from_be_bytes(o)))
}

/// Encodes a record value (header, then body) into `out`, which is cleared
/// first so a session can reuse one buffer.
pub fn encode_value(keys: Keys, body: &[u8], out: &mut Vec<u8>) {
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
pub fn decode_value(value: &[u8]) -> Option<(Keys, &[u8])> {
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

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn keys_strategy() -> impl Strategy<Value = Keys> {
        prop_oneof![
            Just(Keys::None),
            any::<u64>().prop_map(Keys::Single),
            (any::<u64>(), any::<u64>()).prop_map(|(a, b)| Keys::Pair(a, b)),
            (any::<u64>(), any::<u64>()).prop_map(|(a, b)| Keys::Range(a, b)),
        ]
    }

    proptest! {
        #[test]
        fn record_keys_round_trip_and_order_as_pairs(a in any::<(u64, u64)>(), b in any::<(u64, u64)>()) {
            let (ka, kb) = (data_key(a.0, a.1), data_key(b.0, b.1));
            prop_assert_eq!(parse_data_key(&ka), Some(a));
            prop_assert_eq!(ka.cmp(&kb), a.cmp(&b));
        }

        #[test]
        fn values_round_trip(keys in keys_strategy(), body in prop::collection::vec(any::<u8>(), 0..64)) {
            let mut buf = vec![0xAA; 5];
            encode_value(keys, &body, &mut buf);
            prop_assert_eq!(decode_value(&buf), Some((keys, &body[..])));
        }

        #[test]
        fn truncated_headers_are_refused(keys in keys_strategy()) {
            let mut buf = Vec::new();
            encode_value(keys, b"", &mut buf);
            for cut in 0..buf.len() {
                prop_assert_eq!(decode_value(&buf[..cut]), None);
            }
        }
    }

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
