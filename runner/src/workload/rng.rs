//! Seeded random streams: the one place in loadline that constructs an RNG.
//!
//! Every random decision of a run (record sizes, keys, payload bytes, crash
//! moments) draws from a stream made here, so the same scenario seed gives
//! byte-identical payloads and op sequences whatever the thread scheduling:
//! a stream depends only on *who* draws from it (seed, target, phase, actor,
//! worker), never on *when*.
//!
//! # Algorithm
//!
//! Streams are [`ChaCha8Rng`]: ChaCha with 8 rounds is statistically
//! indistinguishable from random for benchmarking purposes (it passes
//! BigCrush and PractRand; 8 rounds is the reduced-round variant the rand
//! project recommends for simulations), and it is about twice as fast as
//! ChaCha12, which matters because pool generation fills gigabytes. Its
//! output for a given seed is fixed by the ChaCha specification, unlike
//! `StdRng` whose algorithm may change between rand versions.
//!
//! The 32-byte ChaCha key is derived without std's `DefaultHasher` (whose
//! algorithm is not guaranteed to be stable): bytes 0..8 hold the scenario
//! seed (little-endian), and bytes 8..32 hold three 64-bit lanes, each the
//! 64-bit FNV-1a hash of a lane number, a domain tag and the length-prefixed
//! identifying fields, passed through MurmurHash3's `fmix64` finalizer.
//! Length prefixes keep `("ab", "c")` and `("a", "bc")` apart; domain tags
//! keep worker streams, payload pools and payload files apart.
//!
//! This module does not decide *what* is drawn; see `size`, `keys` and
//! `payload` for that.

use rand::SeedableRng;
pub(crate) use rand_chacha::ChaCha8Rng;

/// The RNG type every workload stream uses.
pub(crate) type WorkloadRng = ChaCha8Rng;

/// Identifies one worker's random stream: the same id always yields the same
/// stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct StreamId<'a> {
    /// The scenario seed.
    pub seed: u64,
    /// The target (store under test) name.
    pub target: &'a str,
    /// The phase name.
    pub phase: &'a str,
    /// The actor name (defaults to its op in the scenario).
    pub actor: &'a str,
    /// The worker index inside the actor, from 0.
    pub worker: u64,
}

/// The random stream of one worker: sizes, keys and op choices it draws come
/// from here.
pub(crate) fn stream(id: &StreamId<'_>) -> WorkloadRng {
    substream(id, "")
}

/// A second, independent stream for the same worker, told apart by
/// `purpose` (e.g. `"schedule"` for open-loop arrival jitter), so adding a
/// new use of randomness does not shift the draws of existing ones.
/// `substream(id, "")` is [`stream`]`(id)`.
pub(crate) fn substream(id: &StreamId<'_>, purpose: &str) -> WorkloadRng {
    derive(
        id.seed,
        b"worker",
        &[
            id.target.as_bytes(),
            id.phase.as_bytes(),
            id.actor.as_bytes(),
            &id.worker.to_le_bytes(),
            purpose.as_bytes(),
        ],
    )
}

/// The stream that generates the pool of the payload named `payload`.
/// It depends on the seed and the payload name only, so every target (and
/// every phase) using that payload gets the same bytes.
pub(crate) fn pool_stream(seed: u64, payload: &str) -> WorkloadRng {
    derive(seed, b"pool", &[payload.as_bytes()])
}

/// The stream that `loadline payload generate` uses for a recorded payload
/// file with the given seed.
pub(crate) fn file_stream(seed: u64) -> WorkloadRng {
    derive(seed, b"file", &[])
}

/// The stream `compare` resamples a cell's rounds with (bootstrap): it
/// depends on the seed and the cell's name only, so a comparison of the
/// same two runs gives the same confidence intervals every time.
pub(crate) fn bootstrap_stream(seed: u64, cell: &str) -> WorkloadRng {
    derive(seed, b"bootstrap", &[cell.as_bytes()])
}

/// Builds a ChaCha stream from the seed, a domain tag and identifying fields.
fn derive(seed: u64, domain: &[u8], fields: &[&[u8]]) -> WorkloadRng {
    WorkloadRng::from_seed(key(seed, domain, fields))
}

/// The 32-byte ChaCha key: the seed, then three hashed lanes.
fn key(seed: u64, domain: &[u8], fields: &[&[u8]]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out[..8].copy_from_slice(&seed.to_le_bytes());
    for (lane, chunk) in out[8..].chunks_exact_mut(8).enumerate() {
        let mut h = Fnv1a::new();
        h.write(&[lane as u8]);
        h.write_field(domain);
        h.write(&(fields.len() as u64).to_le_bytes());
        for field in fields {
            h.write_field(field);
        }
        chunk.copy_from_slice(&fmix64(h.0).to_le_bytes());
    }
    out
}

/// 64-bit FNV-1a (<http://www.isthe.com/chongo/tech/comp/fnv/>): a fixed,
/// documented algorithm, so derived keys never change between builds.
struct Fnv1a(u64);

impl Fnv1a {
    const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;

    fn new() -> Self {
        Self(Self::OFFSET_BASIS)
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(Self::PRIME);
        }
    }

    /// Writes the field's length, then the field.
    fn write_field(&mut self, bytes: &[u8]) {
        self.write(&(bytes.len() as u64).to_le_bytes());
        self.write(bytes);
    }
}

/// MurmurHash3's 64-bit finalizer: spreads every input bit over the output.
fn fmix64(mut k: u64) -> u64 {
    k ^= k >> 33;
    k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
    k ^= k >> 33;
    k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    k ^= k >> 33;
    k
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngCore;

    fn id(worker: u64) -> StreamId<'static> {
        StreamId {
            seed: 42,
            target: "wal",
            phase: "write",
            actor: "append",
            worker,
        }
    }

    fn first_words(mut rng: WorkloadRng) -> [u64; 4] {
        [
            rng.next_u64(),
            rng.next_u64(),
            rng.next_u64(),
            rng.next_u64(),
        ]
    }

    #[test]
    fn same_id_gives_same_stream() {
        assert_eq!(first_words(stream(&id(3))), first_words(stream(&id(3))));
        assert_eq!(
            first_words(pool_stream(7, "small")),
            first_words(pool_stream(7, "small"))
        );
    }

    #[test]
    fn every_field_changes_the_stream() {
        let base = first_words(stream(&id(0)));
        let variants = [
            StreamId { seed: 43, ..id(0) },
            StreamId {
                target: "rocksdb",
                ..id(0)
            },
            StreamId {
                phase: "mixed",
                ..id(0)
            },
            StreamId {
                actor: "writer",
                ..id(0)
            },
            id(1),
        ];
        for v in &variants {
            assert_ne!(first_words(stream(v)), base, "{v:?}");
        }
        assert_ne!(first_words(substream(&id(0), "schedule")), base);
        assert_ne!(first_words(pool_stream(42, "append")), base);
        assert_ne!(
            first_words(file_stream(42)),
            first_words(pool_stream(42, ""))
        );
    }

    #[test]
    fn length_prefixes_keep_field_boundaries() {
        let a = StreamId {
            target: "ab",
            phase: "c",
            ..id(0)
        };
        let b = StreamId {
            target: "a",
            phase: "bc",
            ..id(0)
        };
        assert_ne!(first_words(stream(&a)), first_words(stream(&b)));
    }

    /// Guards the derivation against accidental change: a new algorithm
    /// would silently change every recorded run's bytes.
    #[test]
    fn derivation_is_pinned() {
        assert_eq!(Fnv1a::new().0, 0xcbf2_9ce4_8422_2325);
        let mut h = Fnv1a::new();
        h.write(b"a");
        // Published FNV-1a 64 test vector for "a".
        assert_eq!(h.0, 0xaf63_dc4c_8601_ec8c);
        assert_eq!(pool_stream(42, "small").next_u64(), 0x77a4_cff6_857a_d2ec);
        assert_eq!(stream(&id(0)).next_u64(), 0x1757_52b7_33e6_dcbf);
        let k = key(42, b"pool", &[b"small"]);
        assert_eq!(&k[..8], &42u64.to_le_bytes());
        assert_eq!(k, key(42, b"pool", &[b"small"]));
        assert_ne!(k, key(42, b"pool", &[b"smalL"]));
    }

    /// Digest of a worker's first ops: sizes, key indices and raw draws,
    /// all from its own stream.
    fn worker_digest(worker: u64) -> u32 {
        use crate::workload::keys::{KeyDist, KeyGen, KeyParams};
        use crate::workload::size::SizeDist;
        let mut rng = stream(&id(worker));
        let sizes = SizeDist::Normal {
            mean: 1024,
            stddev: 256,
            min: 64,
            max: 4096,
        };
        let mut keys = KeyGen::new(&KeyParams {
            dist: KeyDist::Zipfian {
                theta: 0.99,
                scrambled: true,
            },
            keyspace: 1_000_000,
            key_len: 16,
        })
        .expect("key params");
        let mut crc = 0;
        for _ in 0..2_000 {
            let size = sizes.sample(&mut rng) as u64;
            let key = keys.next_key(&mut rng);
            crc = crc32c::crc32c_append(crc, key);
            crc = crc32c::crc32c_append(crc, &size.to_le_bytes());
            crc = crc32c::crc32c_append(crc, &rng.next_u64().to_le_bytes());
        }
        crc
    }

    fn pool_digest() -> u32 {
        use crate::workload::payload::tests::{digest, params};
        use crate::workload::payload::{KeyStyle, PayloadPool};
        use crate::workload::size::SizeDist;
        let p = params(
            SizeDist::Uniform { min: 1, max: 3000 },
            0.5,
            KeyStyle::Single,
        );
        let pool = PayloadPool::generate(&p, &mut pool_stream(42, "small")).expect("pool");
        digest(&pool.view())
    }

    /// Same seed, same bytes and ops, whatever the thread interleaving: the
    /// digests computed in order on one thread equal those computed on
    /// threads started in reverse order alongside pool generation.
    #[test]
    fn streams_do_not_depend_on_scheduling() {
        const WORKERS: u64 = 6;
        let serial: Vec<u32> = (0..WORKERS).map(worker_digest).collect();
        let serial_pool = pool_digest();
        assert_eq!(serial, (0..WORKERS).map(worker_digest).collect::<Vec<_>>());
        assert_eq!(serial_pool, pool_digest());

        for order in [
            (0..WORKERS).rev().collect::<Vec<_>>(),
            vec![3, 0, 5, 1, 4, 2],
        ] {
            let (threaded, threaded_pool) = std::thread::scope(|s| {
                let pool = s.spawn(pool_digest);
                let handles: Vec<_> = order
                    .iter()
                    .map(|&w| (w, s.spawn(move || worker_digest(w))))
                    .collect();
                let mut out = vec![0; WORKERS as usize];
                for (w, h) in handles {
                    out[w as usize] = h.join().expect("worker thread");
                }
                (out, pool.join().expect("pool thread"))
            });
            assert_eq!(threaded, serial, "order {order:?}");
            assert_eq!(threaded_pool, serial_pool);
        }
        // Distinct workers really draw distinct streams.
        let mut unique = serial.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), serial.len());
    }
}
