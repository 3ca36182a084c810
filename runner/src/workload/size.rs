//! Record size distributions: fixed, uniform, clamped normal and a weighted
//! list (like fio's `bssplit`).
//!
//! Owns sampling sizes and their summary figures ([`SizeDist::mean`],
//! [`SizeDist::max`]) used by `explain` and memory estimates. Parsing human
//! units (`4KiB`) is the scenario parser's job; sizes here are plain bytes.

use rand::Rng;

/// How record body sizes (in bytes) are drawn.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SizeDist {
    /// Every record has this size.
    Fixed(u64),
    /// Uniform over `min..=max`.
    Uniform {
        /// Smallest size.
        min: u64,
        /// Largest size (inclusive).
        max: u64,
    },
    /// Normal with the given mean and standard deviation, rounded to whole
    /// bytes and clamped to `min..=max` (clamping, not rejection: values
    /// beyond a bound land on the bound).
    Normal {
        /// Mean before clamping.
        mean: u64,
        /// Standard deviation.
        stddev: u64,
        /// Lower clamp.
        min: u64,
        /// Upper clamp (inclusive).
        max: u64,
    },
    /// `(size, weight)` pairs: a size is drawn with probability
    /// `weight / sum(weights)`, as fio's `bssplit`.
    Weighted(Vec<(u64, u32)>),
}

/// A size distribution that cannot be sampled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SizeDistError {
    /// A range whose minimum exceeds its maximum.
    #[error("size range is empty: min {min} bytes is above max {max} bytes")]
    EmptyRange {
        /// The minimum.
        min: u64,
        /// The maximum.
        max: u64,
    },
    /// A weighted list with no entry or only zero weights.
    #[error("weighted size list has no entry with a weight above 0")]
    NoWeight,
    /// A size that cannot be held in memory on this platform.
    #[error("size {0} bytes does not fit in this platform's address space")]
    TooLarge(u64),
}

impl SizeDist {
    /// A normal distribution clamped to `mean ± 4·stddev` (and at least 1
    /// byte): the bounds to use when a scenario gives only mean and stddev.
    pub fn normal(mean: u64, stddev: u64) -> Self {
        let spread = stddev.saturating_mul(4);
        SizeDist::Normal {
            mean,
            stddev,
            min: mean.saturating_sub(spread).max(1).min(mean.max(1)),
            max: mean.saturating_add(spread).max(1),
        }
    }

    /// Checks that the distribution can be sampled.
    ///
    /// # Errors
    /// An empty range, a weighted list without weight, or a size larger than
    /// `usize::MAX`.
    pub fn validate(&self) -> Result<(), SizeDistError> {
        match self {
            SizeDist::Fixed(_) => {}
            SizeDist::Uniform { min, max } | SizeDist::Normal { min, max, .. } => {
                if min > max {
                    return Err(SizeDistError::EmptyRange {
                        min: *min,
                        max: *max,
                    });
                }
            }
            SizeDist::Weighted(list) => {
                if list.iter().all(|&(_, w)| w == 0) {
                    return Err(SizeDistError::NoWeight);
                }
            }
        }
        let max = self.max();
        if usize::try_from(max).is_err() {
            return Err(SizeDistError::TooLarge(max));
        }
        Ok(())
    }

    /// Draws one size in bytes. Never panics: on a distribution that fails
    /// [`validate`](Self::validate), it still returns a size (bounds are
    /// ordered, a weightless list gives its first size or 0, sizes saturate
    /// at `usize::MAX`).
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> usize {
        let bytes = match self {
            SizeDist::Fixed(n) => *n,
            SizeDist::Uniform { min, max } => {
                let (lo, hi) = ordered(*min, *max);
                rng.random_range(lo..=hi)
            }
            SizeDist::Normal {
                mean,
                stddev,
                min,
                max,
            } => {
                let (lo, hi) = ordered(*min, *max);
                let x = *mean as f64 + *stddev as f64 * standard_normal(rng);
                // `as` saturates: negative values become 0, then the clamp applies.
                (x.round() as u64).clamp(lo, hi)
            }
            SizeDist::Weighted(list) => {
                let total: u64 = list.iter().map(|&(_, w)| u64::from(w)).sum();
                if total == 0 {
                    list.first().map_or(0, |&(s, _)| s)
                } else {
                    let mut pick = rng.random_range(0..total);
                    let mut chosen = 0;
                    for &(size, w) in list {
                        if pick < u64::from(w) {
                            chosen = size;
                            break;
                        }
                        pick -= u64::from(w);
                    }
                    chosen
                }
            }
        };
        usize::try_from(bytes).unwrap_or(usize::MAX)
    }

    /// The expected size in bytes. Exact for every kind; for `Normal` it is
    /// the mean of the *clamped* distribution (the truncation pulls it
    /// towards the nearer-cut side), computed with an erf approximation
    /// accurate to about 1e-7 relative.
    pub fn mean(&self) -> f64 {
        match self {
            SizeDist::Fixed(n) => *n as f64,
            SizeDist::Uniform { min, max } => (*min as f64 + *max as f64) / 2.0,
            SizeDist::Normal {
                mean,
                stddev,
                min,
                max,
            } => {
                let (lo, hi) = ordered(*min, *max);
                clamped_normal_mean(*mean as f64, *stddev as f64, lo as f64, hi as f64)
            }
            SizeDist::Weighted(list) => {
                let total: f64 = list.iter().map(|&(_, w)| f64::from(w)).sum();
                if total == 0.0 {
                    list.first().map_or(0.0, |&(s, _)| s as f64)
                } else {
                    list.iter()
                        .map(|&(s, w)| s as f64 * f64::from(w))
                        .sum::<f64>()
                        / total
                }
            }
        }
    }

    /// The smallest size that can be drawn, in bytes.
    pub fn min(&self) -> u64 {
        match self {
            SizeDist::Fixed(n) => *n,
            SizeDist::Uniform { min, max } | SizeDist::Normal { min, max, .. } => {
                ordered(*min, *max).0
            }
            SizeDist::Weighted(list) => list
                .iter()
                .filter(|&&(_, w)| w > 0)
                .map(|&(s, _)| s)
                .min()
                .or_else(|| list.first().map(|&(s, _)| s))
                .unwrap_or(0),
        }
    }

    /// The largest size that can be drawn, in bytes.
    pub fn max(&self) -> u64 {
        match self {
            SizeDist::Fixed(n) => *n,
            SizeDist::Uniform { min, max } | SizeDist::Normal { min, max, .. } => {
                ordered(*min, *max).1
            }
            SizeDist::Weighted(list) => list
                .iter()
                .filter(|&&(_, w)| w > 0)
                .map(|&(s, _)| s)
                .max()
                .or_else(|| list.first().map(|&(s, _)| s))
                .unwrap_or(0),
        }
    }
}

/// The form `explain` and `payload inspect` print, e.g. `uniform 64..=4096 B`.
impl std::fmt::Display for SizeDist {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SizeDist::Fixed(n) => write!(f, "fixed {n} B"),
            SizeDist::Uniform { min, max } => write!(f, "uniform {min}..={max} B"),
            SizeDist::Normal {
                mean,
                stddev,
                min,
                max,
            } => write!(
                f,
                "normal mean {mean} B, stddev {stddev} B, clamped to {min}..={max} B"
            ),
            SizeDist::Weighted(list) => {
                f.write_str("weighted")?;
                for (i, (size, weight)) in list.iter().enumerate() {
                    let sep = if i == 0 { " " } else { ", " };
                    write!(f, "{sep}{size} B × {weight}")?;
                }
                Ok(())
            }
        }
    }
}

fn ordered(a: u64, b: u64) -> (u64, u64) {
    if a <= b { (a, b) } else { (b, a) }
}

/// One standard normal draw by the Box–Muller transform (one of the pair is
/// used, so each size consumes exactly two `f64` draws).
fn standard_normal<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    // random::<f64>() is in [0, 1); 1 - u is in (0, 1], safe for ln.
    let u1 = 1.0 - rng.random::<f64>();
    let u2 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// E[clamp(X, lo, hi)] for X ~ N(mu, sigma²).
fn clamped_normal_mean(mu: f64, sigma: f64, lo: f64, hi: f64) -> f64 {
    if sigma <= 0.0 {
        return mu.clamp(lo, hi);
    }
    let a = (lo - mu) / sigma;
    let b = (hi - mu) / sigma;
    let (cdf_a, cdf_b) = (normal_cdf(a), normal_cdf(b));
    lo * cdf_a + hi * (1.0 - cdf_b) + mu * (cdf_b - cdf_a) + sigma * (normal_pdf(a) - normal_pdf(b))
}

fn normal_pdf(x: f64) -> f64 {
    (-0.5 * x * x).exp() / (std::f64::consts::TAU).sqrt()
}

fn normal_cdf(x: f64) -> f64 {
    0.5 * (1.0 + erf(x / std::f64::consts::SQRT_2))
}

/// Abramowitz & Stegun 7.1.26 (maximum absolute error 1.5e-7).
fn erf(x: f64) -> f64 {
    let sign = if x < 0.0 { -1.0 } else { 1.0 };
    let x = x.abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * x);
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    sign * (1.0 - poly * (-x * x).exp())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::rng::pool_stream;

    const N: usize = 200_000;

    /// Samples `N` sizes; returns (mean, min, max).
    fn summary(dist: &SizeDist) -> (f64, usize, usize) {
        let mut rng = pool_stream(1, "size-test");
        let (mut sum, mut lo, mut hi) = (0f64, usize::MAX, 0usize);
        for _ in 0..N {
            let s = dist.sample(&mut rng);
            sum += s as f64;
            lo = lo.min(s);
            hi = hi.max(s);
        }
        (sum / N as f64, lo, hi)
    }

    fn assert_close(actual: f64, expected: f64, rel: f64, what: &str) {
        assert!(
            (actual - expected).abs() <= rel * expected,
            "{what}: {actual} is not within {rel} of {expected}"
        );
    }

    #[test]
    fn fixed() {
        let d = SizeDist::Fixed(512);
        assert_eq!(summary(&d), (512.0, 512, 512));
        assert_eq!((d.mean(), d.min(), d.max()), (512.0, 512, 512));
    }

    #[test]
    fn uniform_mean_and_bounds() {
        let d = SizeDist::Uniform { min: 64, max: 4096 };
        let (mean, lo, hi) = summary(&d);
        assert_eq!(d.mean(), 2080.0);
        assert_close(mean, d.mean(), 0.01, "uniform mean");
        // With 200k draws over 4033 values both ends are hit.
        assert_eq!((lo, hi), (64, 4096));
    }

    #[test]
    fn normal_mean_stddev_and_clamp() {
        let d = SizeDist::Normal {
            mean: 1024,
            stddev: 256,
            min: 512,
            max: 1536,
        };
        let (mean, lo, hi) = summary(&d);
        // Symmetric clamp: the mean stays at 1024.
        assert_close(d.mean(), 1024.0, 1e-6, "analytic mean");
        assert_close(mean, 1024.0, 0.01, "normal mean");
        assert_eq!((lo, hi), (512, 1536));

        let mut rng = pool_stream(2, "normal-sd");
        let unclamped = SizeDist::Normal {
            mean: 10_000,
            stddev: 1_000,
            min: 0,
            max: 100_000,
        };
        let xs: Vec<f64> = (0..N).map(|_| unclamped.sample(&mut rng) as f64).collect();
        let m = xs.iter().sum::<f64>() / N as f64;
        let sd = (xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / N as f64).sqrt();
        assert_close(m, 10_000.0, 0.005, "normal mean");
        assert_close(sd, 1_000.0, 0.02, "normal stddev");
    }

    #[test]
    fn asymmetric_clamp_moves_the_mean() {
        // Half the mass is below min and lands on it.
        let d = SizeDist::Normal {
            mean: 1000,
            stddev: 300,
            min: 1000,
            max: 10_000,
        };
        // E = 1000 + 300 * pdf(0) = 1000 + 300 / sqrt(2π) ≈ 1119.68.
        assert_close(d.mean(), 1119.68, 1e-4, "analytic clamped mean");
        let (mean, lo, _) = summary(&d);
        assert_eq!(lo, 1000);
        assert_close(mean, d.mean(), 0.01, "sampled clamped mean");
    }

    #[test]
    fn weighted_split() {
        let d = SizeDist::Weighted(vec![(64, 70), (4096, 30), (1 << 20, 0)]);
        let expected = (64.0 * 70.0 + 4096.0 * 30.0) / 100.0;
        assert_eq!(d.mean(), expected);
        assert_eq!((d.min(), d.max()), (64, 4096));
        let (mean, lo, hi) = summary(&d);
        assert_close(mean, expected, 0.02, "weighted mean");
        assert_eq!((lo, hi), (64, 4096));
    }

    #[test]
    fn validate_rejects_unsampleable() {
        assert_eq!(
            SizeDist::Uniform { min: 5, max: 4 }.validate(),
            Err(SizeDistError::EmptyRange { min: 5, max: 4 })
        );
        assert_eq!(
            SizeDist::Weighted(vec![(1, 0)]).validate(),
            Err(SizeDistError::NoWeight)
        );
        assert_eq!(
            SizeDist::Weighted(vec![]).validate(),
            Err(SizeDistError::NoWeight)
        );
        assert_eq!(SizeDist::normal(1024, 256).validate(), Ok(()));
        assert_eq!(
            SizeDist::normal(100, 50),
            SizeDist::Normal {
                mean: 100,
                stddev: 50,
                min: 1,
                max: 300
            }
        );
    }

    #[test]
    fn display() {
        assert_eq!(SizeDist::Fixed(512).to_string(), "fixed 512 B");
        assert_eq!(
            SizeDist::Weighted(vec![(64, 70), (4096, 30)]).to_string(),
            "weighted 64 B × 70, 4096 B × 30"
        );
        assert_eq!(
            SizeDist::Uniform { min: 1, max: 2 }.to_string(),
            "uniform 1..=2 B"
        );
    }

    #[test]
    fn invalid_distributions_still_sample_without_panicking() {
        let mut rng = pool_stream(3, "invalid");
        assert!((4..=5).contains(&SizeDist::Uniform { min: 5, max: 4 }.sample(&mut rng)));
        assert_eq!(SizeDist::Weighted(vec![(7, 0)]).sample(&mut rng), 7);
        assert_eq!(SizeDist::Weighted(vec![]).sample(&mut rng), 0);
    }
}
