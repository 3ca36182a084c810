//! Statistics over the rounds of a repeated run: the median, the range and
//! a distribution-free confidence interval of the median.
//!
//! The interval comes from order statistics: for `n` values, the interval
//! between the `k`-th smallest and the `k`-th largest covers the true
//! median with probability `1 − 2·P(B ≤ k−1)`, `B ~ Binomial(n, ½)`,
//! whatever the distribution (Conover, *Practical Nonparametric
//! Statistics*, §3.2). `k` is chosen as large as possible with at least
//! 95 % coverage; below 6 rounds even `[min, max]` falls short, and its
//! actual coverage is reported instead.

use crate::metrics::report::Spread;

/// The confidence the interval aims for.
pub(crate) const CI_TARGET: f64 = 0.95;

/// The median of `values` (mean of the middle two for an even count);
/// `None` when empty.
pub(crate) fn median(values: &[f64]) -> Option<f64> {
    let v = sorted(values);
    let n = v.len();
    if n == 0 {
        return None;
    }
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

fn sorted(values: &[f64]) -> Vec<f64> {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    v
}

/// `P(B ≤ k)` for `B ~ Binomial(n, ½)`.
fn binomial_cdf_half(n: usize, k: usize) -> f64 {
    let mut term = 0.5f64.powi(n as i32); // C(n, 0) / 2^n
    let mut sum = 0.0;
    for i in 0..=k.min(n) {
        sum += term;
        term = term * (n - i) as f64 / (i + 1) as f64;
    }
    sum
}

/// The confidence interval of the median of `values` as (low, high,
/// confidence); see the module docs.
pub(crate) fn median_ci(values: &[f64]) -> Option<(f64, f64, f64)> {
    let v = sorted(values);
    let n = v.len();
    if n == 0 {
        return None;
    }
    let coverage = |k: usize| 1.0 - 2.0 * binomial_cdf_half(n, k - 1);
    let mut k = 1;
    while k < n.div_ceil(2) && coverage(k + 1) >= CI_TARGET {
        k += 1;
    }
    let level = if n == 1 { 0.0 } else { coverage(k) };
    Some((v[k - 1], v[n - k], level))
}

/// The spread of `values` (one per round); `None` when empty.
pub(crate) fn spread(values: Vec<f64>) -> Option<Spread> {
    let median = median(&values)?;
    let (ci_low, ci_high, ci_level) = median_ci(&values)?;
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    Some(Spread {
        values,
        median,
        min,
        max,
        ci_low,
        ci_high,
        ci_level,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&[]), None);
    }

    #[test]
    fn the_interval_of_three_rounds_is_their_range_at_75_percent() {
        let (lo, hi, level) = median_ci(&[10.0, 30.0, 20.0]).unwrap();
        assert_eq!((lo, hi), (10.0, 30.0));
        assert!((level - 0.75).abs() < 1e-12, "{level}");
    }

    #[test]
    fn larger_samples_reach_95_percent_inside_their_range() {
        // n = 10: ranks 2 and 9 cover 1 − 2·11/1024 = 97.85 %; ranks 3 and 8 only 89 %.
        let values: Vec<f64> = (1..=10).map(f64::from).collect();
        let (lo, hi, level) = median_ci(&values).unwrap();
        assert_eq!((lo, hi), (2.0, 9.0));
        assert!((level - (1.0 - 22.0 / 1024.0)).abs() < 1e-12, "{level}");
        // n = 6: min and max, 1 − 2/64 = 96.9 %.
        let (lo, hi, level) = median_ci(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap();
        assert_eq!((lo, hi), (1.0, 6.0));
        assert!(level >= CI_TARGET);
        // Every level is the binomial coverage, never below target past n = 5.
        for n in 6..60 {
            let v: Vec<f64> = (0..n).map(f64::from).collect();
            let (_, _, level) = median_ci(&v).unwrap();
            assert!(level >= CI_TARGET, "n={n}: {level}");
        }
    }

    #[test]
    fn spread_keeps_the_values_in_round_order() {
        let s = spread(vec![5.0, 1.0, 3.0]).unwrap();
        assert_eq!(s.values, [5.0, 1.0, 3.0]);
        assert_eq!((s.median, s.min, s.max), (3.0, 1.0, 5.0));
    }
}
