//! Key-value key distributions as YCSB defines them (sequential, uniform,
//! zipfian, latest, hotspot) and the fixed-length key encoding.
//!
//! Owns choosing *which* key index an operation touches ([`KeyGen::next_index`])
//! and writing that index as key bytes ([`write_key`]) without allocating per
//! operation. It does not own log record keys (`Keys` on a record, see
//! `payload`) nor the random streams (see `rng`).
//!
//! # Key encoding
//!
//! Key `i` is its decimal representation, left-padded with `'0'` to exactly
//! `key_len` bytes (key 42 with `key_len: 8` is `00000042`). Padded decimal
//! sorts bytewise in numeric order, so range scans over keys behave like
//! scans over indices, and keys are readable in store dumps. `key_len` must
//! hold every index of the key space; validation rejects a shorter one.
//!
//! # References
//!
//! The generators follow YCSB's `core/src/main/java/site/ycsb/generator/`:
//! `CounterGenerator`, `UniformLongGenerator`, `ZipfianGenerator` (the
//! algorithm of Gray et al., "Quickly Generating Billion-Record Synthetic
//! Databases", SIGMOD 1994), `ScrambledZipfianGenerator`,
//! `SkewedLatestGenerator` and `HotspotIntegerGenerator`. Differences are
//! noted on each variant.

use rand::Rng;

/// YCSB's default zipfian constant, also used by [`KeyDist::Latest`].
pub(crate) const YCSB_ZIPFIAN_THETA: f64 = 0.99;

/// How key indices in `0..keyspace` are chosen.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum KeyDist {
    /// 0, 1, 2, … wrapping at the key space (YCSB's counter, used for loads).
    /// With [`KeyGen::partition`], worker `p` of `n` takes `p, p+n, p+2n, …`.
    Sequential,
    /// Every key equally likely.
    Uniform,
    /// Zipfian over popularity ranks: rank `r` (from 0) has probability
    /// proportional to `1 / (r+1)^theta`.
    Zipfian {
        /// Skew, strictly between 0 and 1 (YCSB's default is 0.99).
        theta: f64,
        /// When true, ranks are spread over the key space by an FNV-1a hash
        /// (`key = fnv64(rank) % keyspace`) so hot keys are not adjacent; as
        /// in YCSB the hash is not a permutation, so a few keys merge. (YCSB
        /// draws ranks over 10¹⁰ items before hashing; we draw over the key
        /// space itself, keeping the skew `theta` describes.)
        scrambled: bool,
    },
    /// The most recently written keys are the most popular: the key is
    /// `latest - rank` (wrapping) with a zipfian rank (θ = 0.99). `latest`
    /// starts at the last key (as after a full load) and follows
    /// [`KeyGen::set_latest`]. (YCSB grows its item count with each insert;
    /// here the key space is fixed and the head moves.)
    Latest,
    /// A hot set of `hot_fraction_keys` of the key space (its first keys)
    /// receives `hot_fraction_ops` of the operations, uniformly; the rest go
    /// uniformly to the cold keys.
    Hotspot {
        /// Fraction of keys that are hot, in `0..=1`.
        hot_fraction_keys: f64,
        /// Fraction of operations that go to the hot keys, in `0..=1`.
        hot_fraction_ops: f64,
    },
}

/// The key space an actor works on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct KeyParams {
    /// How indices are chosen.
    pub dist: KeyDist,
    /// Number of distinct keys (indices `0..keyspace`).
    pub keyspace: u64,
    /// Length of every key in bytes.
    pub key_len: usize,
}

/// Key parameters that cannot generate keys.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub(crate) enum KeyParamsError {
    /// The key space holds no key.
    #[error("key space must hold at least one key")]
    EmptyKeyspace,
    /// Keys too short to tell every index apart.
    #[error(
        "key length {key_len} is too short for {keyspace} keys: they need {needed} decimal digits"
    )]
    KeyTooShort {
        /// Requested key length.
        key_len: usize,
        /// Key space size.
        keyspace: u64,
        /// Digits the largest index needs.
        needed: usize,
    },
    /// A zipfian skew outside (0, 1).
    #[error("zipfian theta must be strictly between 0 and 1, got {0}")]
    Theta(f64),
    /// A hotspot fraction outside [0, 1].
    #[error("hotspot {name} must be between 0 and 1, got {value}")]
    Fraction {
        /// Which fraction.
        name: &'static str,
        /// Its value.
        value: f64,
    },
}

/// YCSB's `ZipfianGenerator`: draws popularity ranks in `0..items` in O(1)
/// after an O(1)-ish setup (exact ζ up to 10 000 terms, Euler–Maclaurin for
/// the tail, so a billion-key space is set up instantly).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Zipfian {
    items: u64,
    theta: f64,
    alpha: f64,
    zetan: f64,
    eta: f64,
    half_pow_theta: f64,
}

impl Zipfian {
    /// A generator over `items` ranks (at least 1) with skew `theta` in (0, 1).
    pub(crate) fn new(items: u64, theta: f64) -> Self {
        let items = items.max(1);
        let zetan = zeta(items, theta);
        let zeta2 = zeta(2, theta);
        let eta = if items <= 2 {
            // Ranks 0 and 1 are handled exactly; eta is never used.
            0.0
        } else {
            (1.0 - (2.0 / items as f64).powf(1.0 - theta)) / (1.0 - zeta2 / zetan)
        };
        Self {
            items,
            theta,
            alpha: 1.0 / (1.0 - theta),
            zetan,
            eta,
            half_pow_theta: 0.5f64.powf(theta),
        }
    }

    /// Draws a rank in `0..items`; rank 0 is the most popular.
    pub(crate) fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> u64 {
        let u: f64 = rng.random();
        let uz = u * self.zetan;
        if uz < 1.0 {
            return 0;
        }
        if uz < 1.0 + self.half_pow_theta {
            return 1.min(self.items - 1);
        }
        let r = (self.items as f64 * (self.eta * u - self.eta + 1.0).powf(self.alpha)) as u64;
        r.min(self.items - 1)
    }
}

/// ζ(n, θ) = Σ_{i=1..n} i^-θ: exact for the first 10 000 terms, then the
/// Euler–Maclaurin formula (integral, end-point and first derivative terms),
/// whose error there is below 1e-15 relative.
pub(crate) fn zeta(n: u64, theta: f64) -> f64 {
    const EXACT: u64 = 10_000;
    let m = n.min(EXACT);
    let mut sum = 0.0;
    for i in 1..=m {
        sum += (i as f64).powf(-theta);
    }
    if n > m {
        let (mf, nf) = (m as f64, n as f64);
        let f = |x: f64| x.powf(-theta);
        let df = |x: f64| -theta * x.powf(-theta - 1.0);
        let integral = (nf.powf(1.0 - theta) - mf.powf(1.0 - theta)) / (1.0 - theta);
        sum += integral + (f(nf) - f(mf)) / 2.0 + (df(nf) - df(mf)) / 12.0;
    }
    sum
}

/// The sampler a [`KeyDist`] prepares into.
#[derive(Debug, Clone)]
enum Sampler {
    Sequential,
    Uniform,
    Zipfian { zipf: Zipfian, scrambled: bool },
    Latest(Zipfian),
    Hotspot { hot_keys: u64, hot_ops: f64 },
}

/// Chooses key indices and writes keys into a reusable buffer: one per
/// worker, no allocation per operation.
#[derive(Debug, Clone)]
pub(crate) struct KeyGen {
    sampler: Sampler,
    keyspace: u64,
    buf: Vec<u8>,
    seq_start: u64,
    seq_stride: u64,
    seq_next: u64,
    latest: u64,
}

impl KeyParams {
    /// Checks the parameters.
    ///
    /// # Errors
    /// An empty key space, keys too short for it, a theta outside (0, 1) or a
    /// hotspot fraction outside [0, 1].
    pub(crate) fn validate(&self) -> Result<(), KeyParamsError> {
        if self.keyspace == 0 {
            return Err(KeyParamsError::EmptyKeyspace);
        }
        let needed = decimal_digits(self.keyspace - 1);
        if self.key_len < needed {
            return Err(KeyParamsError::KeyTooShort {
                key_len: self.key_len,
                keyspace: self.keyspace,
                needed,
            });
        }
        match self.dist {
            KeyDist::Zipfian { theta, .. } if !(theta > 0.0 && theta < 1.0) => {
                Err(KeyParamsError::Theta(theta))
            }
            KeyDist::Hotspot {
                hot_fraction_keys,
                hot_fraction_ops,
            } => {
                for (name, value) in [
                    ("hot_fraction_keys", hot_fraction_keys),
                    ("hot_fraction_ops", hot_fraction_ops),
                ] {
                    if !(0.0..=1.0).contains(&value) {
                        return Err(KeyParamsError::Fraction { name, value });
                    }
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

impl KeyGen {
    /// Prepares a generator (zipfian setup included).
    ///
    /// # Errors
    /// As [`KeyParams::validate`].
    pub(crate) fn new(params: &KeyParams) -> Result<Self, KeyParamsError> {
        params.validate()?;
        let n = params.keyspace;
        let sampler = match params.dist {
            KeyDist::Sequential => Sampler::Sequential,
            KeyDist::Uniform => Sampler::Uniform,
            KeyDist::Zipfian { theta, scrambled } => Sampler::Zipfian {
                zipf: Zipfian::new(n, theta),
                scrambled,
            },
            KeyDist::Latest => Sampler::Latest(Zipfian::new(n, YCSB_ZIPFIAN_THETA)),
            KeyDist::Hotspot {
                hot_fraction_keys,
                hot_fraction_ops,
            } => Sampler::Hotspot {
                hot_keys: ((n as f64 * hot_fraction_keys) as u64).min(n),
                hot_ops: hot_fraction_ops,
            },
        };
        Ok(Self {
            sampler,
            keyspace: n,
            buf: vec![b'0'; params.key_len],
            seq_start: 0,
            seq_stride: 1,
            seq_next: 0,
            latest: n - 1,
        })
    }

    /// Makes a `Sequential` generator the `part`-th of `parts` (from 0):
    /// it yields `part, part + parts, …` so workers load disjoint keys.
    /// Other distributions ignore it.
    pub(crate) fn partition(mut self, part: u64, parts: u64) -> Self {
        let parts = parts.max(1);
        self.seq_start = part % parts % self.keyspace;
        self.seq_stride = parts;
        self.seq_next = self.seq_start;
        self
    }

    /// Moves the head of the `Latest` distribution to `index` (call it after
    /// writing a new key). Indices are taken modulo the key space.
    pub(crate) fn set_latest(&mut self, index: u64) {
        self.latest = index % self.keyspace;
    }

    /// Draws the next key index, in `0..keyspace`.
    pub(crate) fn next_index<R: Rng + ?Sized>(&mut self, rng: &mut R) -> u64 {
        let n = self.keyspace;
        match &self.sampler {
            Sampler::Sequential => {
                let k = self.seq_next;
                self.seq_next = match self.seq_next.checked_add(self.seq_stride) {
                    Some(next) if next < n => next,
                    _ => self.seq_start,
                };
                k
            }
            Sampler::Uniform => rng.random_range(0..n),
            Sampler::Zipfian { zipf, scrambled } => {
                let rank = zipf.sample(rng);
                if *scrambled { fnv64(rank) % n } else { rank }
            }
            Sampler::Latest(zipf) => {
                let rank = zipf.sample(rng);
                // latest - rank, wrapping within 0..n without overflowing.
                if rank <= self.latest {
                    self.latest - rank
                } else {
                    n - (rank - self.latest)
                }
            }
            Sampler::Hotspot { hot_keys, hot_ops } => {
                let (hot, cold) = (*hot_keys, n - *hot_keys);
                let want_hot = rng.random::<f64>() < *hot_ops;
                if hot > 0 && (want_hot || cold == 0) {
                    rng.random_range(0..hot)
                } else {
                    hot + rng.random_range(0..cold)
                }
            }
        }
    }

    /// Writes the key for `index` into the generator's buffer and returns it
    /// (`key_len` bytes, valid until the next call).
    pub(crate) fn key(&mut self, index: u64) -> &[u8] {
        write_key(index, &mut self.buf);
        &self.buf
    }

    /// Draws an index and returns its key.
    pub(crate) fn next_key<R: Rng + ?Sized>(&mut self, rng: &mut R) -> &[u8] {
        let index = self.next_index(rng);
        self.key(index)
    }

    #[cfg(test)]
    /// Size of the key space.
    pub(crate) fn keyspace(&self) -> u64 {
        self.keyspace
    }
}

/// Writes `index` as zero-padded decimal filling all of `out` (see the
/// module docs). If `out` is shorter than the digits, the lowest digits are
/// kept (validation prevents that case).
pub(crate) fn write_key(mut index: u64, out: &mut [u8]) {
    for b in out.iter_mut().rev() {
        *b = b'0' + (index % 10) as u8;
        index /= 10;
    }
}

/// Number of decimal digits of `n` (1 for 0).
fn decimal_digits(mut n: u64) -> usize {
    let mut d = 1;
    while n >= 10 {
        n /= 10;
        d += 1;
    }
    d
}

/// YCSB's `Utils.fnvhash64`: FNV-1a over the value's 8 little-endian bytes.
fn fnv64(value: u64) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in value.to_le_bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::rng::pool_stream;

    fn keygen(dist: KeyDist, keyspace: u64) -> KeyGen {
        KeyGen::new(&KeyParams {
            dist,
            keyspace,
            key_len: 12,
        })
        .expect("valid params")
    }

    /// Count of draws per key index.
    fn histogram(g: &mut KeyGen, draws: usize) -> Vec<u64> {
        let mut rng = pool_stream(9, "keys");
        let mut h = vec![0u64; g.keyspace() as usize];
        for _ in 0..draws {
            let i = g.next_index(&mut rng);
            h[i as usize] += 1;
        }
        h
    }

    #[test]
    fn key_encoding_is_padded_decimal() {
        let mut g = keygen(KeyDist::Uniform, 1000);
        assert_eq!(g.key(42), b"000000000042");
        assert_eq!(g.key(0), b"000000000000");
        let mut out = [0u8; 3];
        write_key(999, &mut out);
        assert_eq!(&out, b"999");
        assert_eq!(decimal_digits(0), 1);
        assert_eq!(decimal_digits(9), 1);
        assert_eq!(decimal_digits(10), 2);
        assert_eq!(decimal_digits(u64::MAX), 20);
    }

    #[test]
    fn validation() {
        let p = |dist, keyspace, key_len| KeyParams {
            dist,
            keyspace,
            key_len,
        };
        assert_eq!(
            p(KeyDist::Uniform, 0, 8).validate(),
            Err(KeyParamsError::EmptyKeyspace)
        );
        // 1000 keys are 0..=999: three digits suffice.
        assert_eq!(p(KeyDist::Uniform, 1000, 3).validate(), Ok(()));
        assert_eq!(
            p(KeyDist::Uniform, 1001, 3).validate(),
            Err(KeyParamsError::KeyTooShort {
                key_len: 3,
                keyspace: 1001,
                needed: 4
            })
        );
        for theta in [0.0, 1.0, 1.5, f64::NAN] {
            assert!(matches!(
                p(
                    KeyDist::Zipfian {
                        theta,
                        scrambled: false
                    },
                    10,
                    8
                )
                .validate(),
                Err(KeyParamsError::Theta(_))
            ));
        }
        let hot = |k, o| KeyDist::Hotspot {
            hot_fraction_keys: k,
            hot_fraction_ops: o,
        };
        assert!(p(hot(0.2, 0.8), 10, 8).validate().is_ok());
        assert!(matches!(
            p(hot(1.2, 0.8), 10, 8).validate(),
            Err(KeyParamsError::Fraction {
                name: "hot_fraction_keys",
                ..
            })
        ));
        assert!(matches!(
            p(hot(0.2, f64::NAN), 10, 8).validate(),
            Err(KeyParamsError::Fraction {
                name: "hot_fraction_ops",
                ..
            })
        ));
    }

    #[test]
    fn sequential_wraps_and_partitions() {
        let mut rng = pool_stream(0, "seq");
        let mut g = keygen(KeyDist::Sequential, 5);
        let seq: Vec<u64> = (0..7).map(|_| g.next_index(&mut rng)).collect();
        assert_eq!(seq, [0, 1, 2, 3, 4, 0, 1]);
        let mut g = keygen(KeyDist::Sequential, 10).partition(1, 3);
        let seq: Vec<u64> = (0..5).map(|_| g.next_index(&mut rng)).collect();
        assert_eq!(seq, [1, 4, 7, 1, 4]);
    }

    #[test]
    fn uniform_covers_the_space_evenly() {
        let h = histogram(&mut keygen(KeyDist::Uniform, 100), 100_000);
        let (lo, hi) = (h.iter().min().copied(), h.iter().max().copied());
        // Expected 1000 each; ±20 % is > 6 standard deviations.
        assert!(lo > Some(800) && hi < Some(1200), "{lo:?} {hi:?}");
    }

    #[test]
    fn zeta_tail_matches_exact_sum() {
        for theta in [0.5, 0.99] {
            let n = 60_000u64;
            let exact: f64 = (1..=n).map(|i| (i as f64).powf(-theta)).sum();
            let approx = zeta(n, theta);
            assert!(
                ((approx - exact) / exact).abs() < 1e-9,
                "theta {theta}: {approx} vs {exact}"
            );
        }
    }

    /// The top 1 % of ranks take ζ(n/100, θ)/ζ(n, θ) of the draws (Gray's
    /// generator is exact for ranks 0 and 1 and close beyond).
    #[test]
    fn zipfian_top_one_percent_share() {
        let n = 10_000u64;
        for theta in [0.5, 0.8, 0.99] {
            let h = histogram(
                &mut keygen(
                    KeyDist::Zipfian {
                        theta,
                        scrambled: false,
                    },
                    n,
                ),
                200_000,
            );
            let total: u64 = h.iter().sum();
            let top: u64 = h[..(n / 100) as usize].iter().sum();
            let share = top as f64 / total as f64;
            let expected = zeta(n / 100, theta) / zeta(n, theta);
            assert!(
                (share - expected).abs() < 0.02,
                "theta {theta}: top 1 % share {share}, formula {expected}"
            );
            // Rank 0 alone: 1/ζ(n).
            let first = h[0] as f64 / total as f64;
            let expected_first = 1.0 / zeta(n, theta);
            assert!(
                (first - expected_first).abs() < 0.1 * expected_first,
                "theta {theta}: rank 0 share {first}, formula {expected_first}"
            );
        }
    }

    #[test]
    fn scrambled_zipfian_spreads_hot_keys() {
        let n = 10_000u64;
        let h = histogram(
            &mut keygen(
                KeyDist::Zipfian {
                    theta: 0.99,
                    scrambled: true,
                },
                n,
            ),
            100_000,
        );
        let hottest = (0..n as usize).max_by_key(|&i| h[i]).unwrap_or(0);
        assert_eq!(hottest as u64, fnv64(0) % n);
        // Still skewed: the hottest 1 % of keys take far more than 1 %.
        let mut sorted = h.clone();
        sorted.sort_unstable_by(|a, b| b.cmp(a));
        let top: u64 = sorted[..100].iter().sum();
        assert!(top as f64 / 100_000.0 > 0.4, "top share {top}");
    }

    #[test]
    fn latest_favours_the_head() {
        let mut g = keygen(KeyDist::Latest, 1000);
        g.set_latest(500);
        let h = histogram(&mut g, 50_000);
        let hottest = (0..1000).max_by_key(|&i| h[i]).unwrap_or(0);
        assert_eq!(hottest, 500);
        // Recently written keys (just below the head) beat older ones.
        assert!(h[499] > h[100] && h[498] > h[900]);
        // Near the start of the key space the ranks wrap to its end.
        g.set_latest(1);
        let h = histogram(&mut g, 50_000);
        assert!(h[0] > h[500] && h[999] > h[500] && h[998] > h[500]);
        assert_eq!(h.iter().sum::<u64>(), 50_000);
    }

    #[test]
    fn hotspot_split() {
        let mut g = keygen(
            KeyDist::Hotspot {
                hot_fraction_keys: 0.2,
                hot_fraction_ops: 0.8,
            },
            1000,
        );
        let h = histogram(&mut g, 100_000);
        let hot: u64 = h[..200].iter().sum();
        let share = hot as f64 / 100_000.0;
        assert!((share - 0.8).abs() < 0.01, "hot share {share}");
        // Degenerate splits never draw from an empty set.
        for (k, o) in [(0.0, 1.0), (1.0, 0.0)] {
            let mut g = keygen(
                KeyDist::Hotspot {
                    hot_fraction_keys: k,
                    hot_fraction_ops: o,
                },
                10,
            );
            assert_eq!(histogram(&mut g, 1000).iter().sum::<u64>(), 1000);
        }
    }
}
