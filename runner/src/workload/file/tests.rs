//! Round trips, damage and inspection of payload files.

use std::path::Path;

use super::format::*;
use super::*;
use crate::workload::payload::tests::digest;
use crate::workload::payload::{KeyStyle, PayloadParams, PayloadPool};
use crate::workload::rng::file_stream;
use crate::workload::size::SizeDist;
use proptest::prelude::*;

fn sample_params() -> PayloadParams {
    PayloadParams {
        size: SizeDist::Weighted(vec![(64, 3), (300, 1)]),
        entropy: 0.6,
        keys: KeyStyle::Pair,
        batch: 4,
        pool: 6,
    }
}

/// A valid file's bytes, from a fresh temporary directory.
fn valid_bytes(dir: &Path) -> Vec<u8> {
    let path = dir.join("valid.bin");
    generate(&path, &sample_params(), 42).expect("generate");
    std::fs::read(&path).expect("read back")
}

/// Rewrites the content hash so a structural fault gets past it.
fn rehash(bytes: &mut [u8]) {
    let crc = crc32c::crc32c(&bytes[HASHED_FROM..]);
    bytes[12..16].copy_from_slice(&crc.to_le_bytes());
}

fn open_bytes(dir: &Path, name: &str, bytes: &[u8]) -> Result<PayloadFile, PayloadFileError> {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write fixture");
    PayloadFile::open(&path)
}

#[test]
fn round_trip_equals_the_pool() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("p.bin");
    let params = sample_params();
    let written = generate(&path, &params, 7).expect("generate");
    let file = PayloadFile::open(&path).expect("open");
    assert_eq!(file.header(), &written);
    assert_eq!(file.header().params(), params);
    let pool = PayloadPool::generate(&params, &mut file_stream(7)).expect("pool");
    assert_eq!(file.view().records(), pool.view().records());
    assert_eq!(digest(&file.view()), digest(&pool.view()));
    assert_eq!((file.batch_size(), file.batch_count()), (4, 6));
    assert_eq!(file.view().batch(7), pool.view().batch(1));
    // No temporary file is left behind.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .expect("list")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(names, ["p.bin"]);
}

#[test]
fn bodies_are_read_in_place_from_the_map() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("p.bin");
    generate(&path, &sample_params(), 1).expect("generate");
    let file = PayloadFile::open(&path).expect("open");
    let map = file.map.as_ptr_range();
    for r in file.view().records() {
        assert!(map.contains(&r.body.as_ptr()) || r.body.is_empty());
    }
}

#[test]
fn inspect_lists_header_and_compressibility() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("p.bin");
    let params = PayloadParams {
        size: SizeDist::Fixed(4096),
        entropy: 0.8,
        keys: KeyStyle::None,
        batch: 10,
        pool: 8,
    };
    generate(&path, &params, 42).expect("generate");
    let text = inspect(&path).expect("inspect");
    for needle in [
        "format version:  1",
        "seed:            42",
        "size:            fixed 4096 B",
        "entropy:         0.8",
        "keys:            none",
        "batch size:      10",
        "batches:         8",
        "records:         80 (327680 body bytes",
        "(verified)",
        "entropy implies about 80.0 %",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
    assert!(!text.contains("warning"), "{text}");
}

/// Every way a file can be bad, and the error it must give.
#[test]
fn bad_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let good = valid_bytes(dir.path());
    let header_len = FIXED_HEADER + 2 * WEIGHT_ENTRY;
    type Check = fn(&PayloadFileError) -> bool;
    let mutate = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut b = good.clone();
        f(&mut b);
        b
    };
    let cases: Vec<(&str, Vec<u8>, Check, &str)> = vec![
        (
            "empty",
            vec![],
            |e| matches!(e, PayloadFileError::Empty { .. }),
            "is empty",
        ),
        (
            "truncated header",
            good[..50].to_vec(),
            |e| {
                matches!(
                    e,
                    PayloadFileError::Truncated {
                        part: "header",
                        expected: 104,
                        found: 50,
                        ..
                    }
                )
            },
            "the header needs 104 bytes, found 50",
        ),
        (
            "truncated weighted entries",
            good[..FIXED_HEADER + 4].to_vec(),
            |e| {
                matches!(
                    e,
                    PayloadFileError::Truncated {
                        part: "header",
                        expected: 136,
                        ..
                    }
                )
            },
            "truncated",
        ),
        (
            "truncated body",
            good[..good.len() - 10].to_vec(),
            |e| matches!(e, PayloadFileError::Truncated { part: "file", .. }),
            "is truncated: the file needs",
        ),
        (
            "foreign magic",
            b"PK\x03\x04 this is a zip file, not a payload file, padded to be long enough: \
              ................................................................"
                .to_vec(),
            |e| matches!(e, PayloadFileError::Foreign { .. }),
            "is not a loadline payload file: it does not start with the payload magic",
        ),
        (
            "short foreign file",
            b"hello".to_vec(),
            |e| matches!(e, PayloadFileError::Foreign { .. }),
            "is not a loadline payload file",
        ),
        (
            "unknown version",
            mutate(&|b| b[8..12].copy_from_slice(&99u32.to_le_bytes())),
            |e| {
                matches!(
                    e,
                    PayloadFileError::UnsupportedVersion {
                        found: 99,
                        supported: 1,
                        ..
                    }
                )
            },
            "has format version 99; this loadline reads version 1",
        ),
        (
            "flipped body byte",
            mutate(&|b| {
                let last = b.len() - 1;
                b[last] ^= 0x40;
            }),
            |e| matches!(e, PayloadFileError::HashMismatch { .. }),
            "content hash mismatch",
        ),
        (
            "flipped header byte",
            mutate(&|b| b[33] ^= 1),
            |e| matches!(e, PayloadFileError::HashMismatch { .. }),
            "content hash mismatch",
        ),
        (
            "trailing bytes",
            mutate(&|b| b.extend_from_slice(b"extra")),
            |e| matches!(e, PayloadFileError::Corrupt { .. }),
            "5 unexpected bytes after the records",
        ),
        (
            "length field beyond the end",
            mutate(&|b| {
                b[header_len..header_len + 8].copy_from_slice(&(1u64 << 40).to_le_bytes());
                rehash(b);
            }),
            |e| matches!(e, PayloadFileError::Corrupt { .. }),
            "record 0 claims 1099511627776 body bytes, only",
        ),
        (
            "record count beyond the section",
            mutate(&|b| {
                b[48..56].copy_from_slice(&u64::MAX.to_le_bytes());
                rehash(b);
            }),
            |e| matches!(e, PayloadFileError::Corrupt { offset: 40, .. }),
            "cannot fit in",
        ),
        (
            "unknown key tag",
            mutate(&|b| {
                b[header_len + 8] = 9;
                rehash(b);
            }),
            |e| matches!(e, PayloadFileError::Corrupt { .. }),
            "record 0 has unknown key tag 9",
        ),
        (
            "header length field lies",
            mutate(&|b| {
                b[16..24].copy_from_slice(&7u64.to_le_bytes());
                rehash(b);
            }),
            |e| matches!(e, PayloadFileError::Corrupt { offset: 16, .. }),
            "header length field says 7 bytes",
        ),
        (
            "record section length overflows",
            mutate(&|b| {
                b[24..32].copy_from_slice(&u64::MAX.to_le_bytes());
                rehash(b);
            }),
            |e| matches!(e, PayloadFileError::Corrupt { offset: 24, .. }),
            "overflows",
        ),
    ];
    for (name, bytes, check, message) in cases {
        let err = open_bytes(dir.path(), "bad.bin", &bytes).expect_err(name);
        assert!(check(&err), "{name}: wrong error {err:?}");
        let text = err.to_string();
        assert!(text.contains(message), "{name}: {text:?} lacks {message:?}");
        assert!(
            text.contains("bad.bin"),
            "{name}: {text:?} does not name the file"
        );
    }
    let missing = PayloadFile::open(&dir.path().join("missing.bin")).expect_err("missing");
    assert!(
        matches!(missing, PayloadFileError::NotFound { .. }),
        "{missing:?}"
    );
    assert!(missing.to_string().contains("missing.bin not found"));
}

/// Guards issue 25: `file: /etc/shadow` printed the file's first bytes
/// (`it starts with "root:*:2"`) into the log and a GitHub annotation.
#[test]
fn a_foreign_file_is_refused_without_quoting_its_bytes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let secret = b"root:*:20000:0:99999:7:::\ndaemon:*:20000:0:99999:7:::\n".repeat(4);
    let err = open_bytes(dir.path(), "shadow", &secret).expect_err("foreign");
    let text = err.to_string();
    assert!(text.contains("not a loadline payload file"), "{text}");
    for leaked in ["root", ":*:", "daemon"] {
        assert!(!text.contains(leaked), "{text:?} quotes the file: {leaked}");
    }
}

#[test]
fn invalid_params_are_reported_with_the_path() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("x.bin");
    let params = PayloadParams {
        batch: 0,
        ..sample_params()
    };
    let err = generate(&path, &params, 1).expect_err("invalid");
    assert!(
        err.to_string()
            .contains("x.bin: batch size must be at least 1"),
        "{err}"
    );
    assert!(!path.exists());
}

fn size_strategy() -> impl Strategy<Value = SizeDist> {
    prop_oneof![
        (0u64..300).prop_map(SizeDist::Fixed),
        (0u64..200, 0u64..200).prop_map(|(a, b)| SizeDist::Uniform {
            min: a.min(b),
            max: a.max(b)
        }),
        (0u64..300, 0u64..100, 0u64..100, 100u64..400).prop_map(|(mean, stddev, min, max)| {
            SizeDist::Normal {
                mean,
                stddev,
                min,
                max,
            }
        }),
        prop::collection::vec((0u64..300, 1u32..10), 1..5).prop_map(SizeDist::Weighted),
    ]
}

fn key_style_strategy() -> impl Strategy<Value = KeyStyle> {
    prop_oneof![
        Just(KeyStyle::None),
        Just(KeyStyle::Single),
        Just(KeyStyle::Pair),
        Just(KeyStyle::Range),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// The codec round trip: whatever is written reads back equal,
    /// header and records.
    #[test]
    fn codec_round_trip(
        size in size_strategy(),
        entropy in 0.0f64..=1.0,
        keys in key_style_strategy(),
        batch in 1usize..6,
        pool in 1usize..6,
        seed in any::<u64>(),
    ) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("p.bin");
        let params = PayloadParams { size, entropy, keys, batch, pool };
        let written = generate(&path, &params, seed).expect("generate");
        let file = PayloadFile::open(&path).expect("open");
        prop_assert_eq!(file.header(), &written);
        prop_assert_eq!(file.header().params(), params.clone());
        prop_assert_eq!(file.header().seed, seed);
        let pool = PayloadPool::generate(&params, &mut file_stream(seed)).expect("pool");
        let (fv, pv) = (file.view(), pool.view());
        prop_assert_eq!(fv.records(), pv.records());
    }
}
