//! The statistics of a change between two sets of rounds: medians, and a
//! percentile bootstrap confidence interval of the ratio of medians
//! (Efron & Tibshirani, *An Introduction to the Bootstrap*, ch. 13), drawn
//! from a seeded ChaCha stream so the same two runs always give the same
//! interval.
//!
//! Owns the numbers only; what counts as a regression is `diff`'s.

use rand::Rng;

use crate::workload as rng;

/// Fewest rounds on each side for the bootstrap to judge noise; with
/// fewer, `compare` says noise cannot be judged and applies the threshold
/// alone.
pub const MIN_ROUNDS: usize = 3;

/// Resamples of each bootstrap.
pub const RESAMPLES: usize = 10_000;

/// Confidence level of the interval.
pub const CONFIDENCE: f64 = 0.95;

/// Seed of every bootstrap stream (fixed: a comparison is reproducible).
pub const SEED: u64 = 0x10AD_11E0_C0DE_5EED;

/// The median of `values` (the mean of the middle two for an even count);
/// `None` when empty.
pub fn median(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

/// A confidence interval of `median(new) / median(base)`, or `None` when
/// either side has fewer than [`MIN_ROUNDS`] rounds or a resampled base
/// median is zero. `cell` names the stream, so each cell has its own.
pub fn ratio_interval(base: &[f64], new: &[f64], cell: &str) -> Option<(f64, f64)> {
    if base.len() < MIN_ROUNDS || new.len() < MIN_ROUNDS {
        return None;
    }
    let mut rng = rng::bootstrap_stream(SEED, cell);
    let mut ratios = Vec::with_capacity(RESAMPLES);
    let mut a = vec![0.0; base.len()];
    let mut b = vec![0.0; new.len()];
    for _ in 0..RESAMPLES {
        for x in &mut a {
            *x = base[rng.random_range(0..base.len())];
        }
        for x in &mut b {
            *x = new[rng.random_range(0..new.len())];
        }
        let (mb, mn) = (median(&a)?, median(&b)?);
        if mb == 0.0 {
            return None;
        }
        ratios.push(mn / mb);
    }
    ratios.sort_by(f64::total_cmp);
    let tail = (1.0 - CONFIDENCE) / 2.0;
    let at = |q: f64| ratios[((q * (RESAMPLES - 1) as f64).round() as usize).min(RESAMPLES - 1)];
    Some((at(tail), at(1.0 - tail)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
    }

    #[test]
    fn too_few_rounds_cannot_judge_noise() {
        assert_eq!(ratio_interval(&[1.0, 2.0], &[1.0, 2.0, 3.0], "c"), None);
    }

    #[test]
    fn a_clear_shift_excludes_one_and_overlapping_rounds_do_not() {
        let base = [100.0, 101.0, 99.0, 100.5, 99.5];
        let slower = [130.0, 131.0, 129.0, 130.5, 129.5];
        let (lo, hi) = ratio_interval(&base, &slower, "shift").expect("interval");
        assert!(lo > 1.25 && hi < 1.35, "{lo}..{hi}");
        let noisy = [80.0, 125.0, 100.0, 140.0, 95.0];
        let (lo, hi) = ratio_interval(&base, &noisy, "noise").expect("interval");
        assert!(lo < 1.0 && hi > 1.0, "{lo}..{hi}");
    }

    #[test]
    fn the_interval_is_reproducible() {
        let base = [1.0, 2.0, 3.0, 4.0];
        let new = [2.0, 3.0, 4.0, 5.0];
        assert_eq!(
            ratio_interval(&base, &new, "cell"),
            ratio_interval(&base, &new, "cell")
        );
    }
}
