//! The statistics of a change between two sets of rounds, suited to the
//! few rounds a benchmark run has: medians, exact randomization (rank)
//! tests, distribution-free intervals of the shift, and the
//! Benjamini–Hochberg step-up over many cells.
//!
//! - Independent rounds (`compare` of two stored runs): the Wilcoxon
//!   rank-sum (Mann–Whitney) test, its p-value the share of all
//!   relabellings of the pooled rounds whose rank sum is at least the
//!   observed one (exact enumeration, ties as midranks); the interval of
//!   the shift is the Hodges–Lehmann one from the pairwise differences
//!   (Hollander & Wolfe, *Nonparametric Statistical Methods*, ch. 4).
//! - Paired rounds (`ab`: base and new interleaved ABBA…): the Wilcoxon
//!   signed-rank test over the per-pair differences (every sign flip), the
//!   interval from their Walsh averages (ibid., ch. 3).
//!
//! Why ranks and not a bootstrap: with 3 rounds a resampled median takes
//! one of 3 values, so a bootstrap interval is an artefact of its
//! resampling; a randomization test states exactly what few rounds can
//! show — the smallest one-sided p-value of 3 rounds against 3 is 1/20,
//! of 5 against 5 it is 1/252 ([`min_p`]). (ClickHouse's performance
//! comparison notes the same: the randomization distribution of a
//! difference of medians "devolves into some kind of ranked test".)
//!
//! Owns the numbers only; which cells are judged and what a verdict is
//! belongs to `gate` and `diff`.

use rand::Rng;

use crate::workload as rng;

/// The false discovery rate over a comparison's gated cells, and the
/// one-sided level of each end of an interval (so intervals are 90 %).
/// Under identical code every gated cell's null holds, and then the
/// Benjamini–Hochberg step-up bounds the chance of *any* alarm by it.
pub(crate) const ALPHA: f64 = 0.05;

/// Relabellings (or sign patterns) enumerated exactly up to this many;
/// beyond, [`DRAWS`] random ones from a seeded stream.
pub(crate) const EXACT_LIMIT: f64 = 50_000.0;

/// Random relabellings drawn when exact enumeration is too large.
pub(crate) const DRAWS: usize = 20_000;

/// Seed of every randomization stream (fixed: a comparison is reproducible).
pub(crate) const SEED: u64 = 0x10AD_11E0_C0DE_5EED;

/// How the rounds of the two sides relate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Design {
    /// Two runs, each with its own rounds (`compare`).
    Independent,
    /// Round *i* of base and new ran back to back (`ab`): judged as pairs.
    Paired,
}

/// The median of `values` (the mean of the middle two for an even count);
/// `None` when empty.
pub(crate) fn median(values: &[f64]) -> Option<f64> {
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

fn choose(n: usize, k: usize) -> f64 {
    let k = k.min(n - k.min(n));
    (0..k).fold(1.0, |acc, i| acc * (n - i) as f64 / (i + 1) as f64)
}

/// The smallest one-sided p-value the design can give with `base` and
/// `new` rounds (`new` is ignored when paired: the pairs are
/// `min(base, new)`): no test of so few rounds can be more certain.
pub(crate) fn min_p(design: Design, base: usize, new: usize) -> f64 {
    match design {
        Design::Independent if base == 0 || new == 0 => 1.0,
        Design::Independent => 1.0 / choose(base + new, new),
        Design::Paired => 0.5f64.powi(base.min(new) as i32),
    }
}

/// Midranks (1-based) of `values`: ties share the mean of their ranks.
fn midranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut ranks = vec![0.0; values.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && values[order[j + 1]] == values[order[i]] {
            j += 1;
        }
        let rank = (i + j) as f64 / 2.0 + 1.0;
        for &o in &order[i..=j] {
            ranks[o] = rank;
        }
        i = j + 1;
    }
    ranks
}

/// One-sided p-value that `new` tends to exceed `base` (independent
/// rounds): the share of the relabellings of the pooled rounds whose rank
/// sum of the `new` label is at least the observed one. `stream` names
/// the random stream used when there are too many relabellings to count.
/// 1 when a side is empty.
pub(crate) fn rank_sum_p(base: &[f64], new: &[f64], stream: &str) -> f64 {
    let (n, m) = (base.len(), new.len());
    if n == 0 || m == 0 {
        return 1.0;
    }
    let pooled: Vec<f64> = base.iter().chain(new).copied().collect();
    let ranks = midranks(&pooled);
    let observed: f64 = ranks[n..].iter().sum::<f64>() - 1e-9;
    let total = n + m;
    if choose(total, m) <= EXACT_LIMIT {
        // Every m-subset of positions, in lexicographic order.
        let mut idx: Vec<usize> = (0..m).collect();
        let (mut at_least, mut all) = (0u64, 0u64);
        loop {
            all += 1;
            if idx.iter().map(|&i| ranks[i]).sum::<f64>() >= observed {
                at_least += 1;
            }
            let Some(pos) = (0..m).rev().find(|&p| idx[p] < total - m + p) else {
                break;
            };
            idx[pos] += 1;
            for q in pos + 1..m {
                idx[q] = idx[q - 1] + 1;
            }
        }
        return at_least as f64 / all as f64;
    }
    let mut rng = rng::bootstrap_stream(SEED, stream);
    let mut perm: Vec<usize> = (0..total).collect();
    let mut at_least = 0usize;
    for _ in 0..DRAWS {
        for k in 0..m {
            let j = rng.random_range(k..total);
            perm.swap(k, j);
        }
        if perm[..m].iter().map(|&i| ranks[i]).sum::<f64>() >= observed {
            at_least += 1;
        }
    }
    (at_least + 1) as f64 / (DRAWS + 1) as f64
}

/// One-sided p-value that the paired differences `d` tend to be positive:
/// the share of the sign patterns of the Wilcoxon signed ranks (zeros
/// keep rank and add nothing, after Pratt) whose positive rank sum is at
/// least the observed one. 1 when `d` is empty.
pub(crate) fn signed_rank_p(d: &[f64], stream: &str) -> f64 {
    let n = d.len();
    if n == 0 {
        return 1.0;
    }
    let abs: Vec<f64> = d.iter().map(|x| x.abs()).collect();
    let ranks = midranks(&abs);
    let signed: Vec<f64> = ranks
        .iter()
        .zip(d)
        .map(|(r, x)| if *x == 0.0 { 0.0 } else { *r })
        .collect();
    let observed: f64 = signed
        .iter()
        .zip(d)
        .filter(|(_, x)| **x > 0.0)
        .map(|(r, _)| *r)
        .sum::<f64>()
        - 1e-9;
    if 2f64.powi(n as i32) <= EXACT_LIMIT {
        let mut at_least = 0u64;
        for pattern in 0u64..(1 << n) {
            let w: f64 = (0..n)
                .filter(|i| pattern >> i & 1 == 1)
                .map(|i| signed[i])
                .sum();
            if w >= observed {
                at_least += 1;
            }
        }
        return at_least as f64 / (1u64 << n) as f64;
    }
    let mut rng = rng::bootstrap_stream(SEED, stream);
    let mut at_least = 0usize;
    for _ in 0..DRAWS {
        let w: f64 = signed.iter().filter(|_| rng.random_bool(0.5)).sum();
        if w >= observed {
            at_least += 1;
        }
    }
    (at_least + 1) as f64 / (DRAWS + 1) as f64
}

/// The null distribution of a rank statistic as counts per value
/// (index = statistic), for the interval's order statistic.
fn rank_sum_counts(n: usize, m: usize) -> Vec<f64> {
    // Counts of the Mann–Whitney U for sizes (i, j): the coefficients of
    // the Gaussian binomial, built up one observation at a time.
    let mut prev: Vec<Vec<f64>> = vec![vec![1.0]; m + 1];
    for i in 1..=n {
        let mut cur: Vec<Vec<f64>> = vec![vec![1.0]];
        for j in 1..=m {
            // f(i, j, u) = f(i − 1, j, u − j) + f(i, j − 1, u)
            let mut c = vec![0.0; i * j + 1];
            for (u, v) in prev[j].iter().enumerate() {
                c[u + j] += v;
            }
            for (u, v) in cur[j - 1].iter().enumerate() {
                c[u] += v;
            }
            cur.push(c);
        }
        prev = cur;
    }
    prev.swap_remove(m)
}

fn signed_rank_counts(n: usize) -> Vec<f64> {
    let mut c = vec![1.0];
    for k in 1..=n {
        let mut next = vec![0.0; c.len() + k];
        for (w, v) in c.iter().enumerate() {
            next[w] += v;
            next[w + k] += v;
        }
        c = next;
    }
    c
}

/// The order statistic `k` (1-based, from each end) of a two-sided
/// interval whose ends each miss with probability at most [`ALPHA`], and
/// the interval's confidence; `None` when even the extremes miss more
/// often (too few rounds).
fn order_statistic(counts: &[f64]) -> Option<(usize, f64)> {
    let total: f64 = counts.iter().sum();
    let mut below = 0.0;
    let mut best = None;
    for (k, c) in counts.iter().enumerate() {
        // P(statistic ≤ k − 1) is `below` before adding counts[k].
        if k > 0 && below / total <= ALPHA {
            best = Some((k, 1.0 - 2.0 * below / total));
        }
        if below / total > ALPHA {
            break;
        }
        below += c;
    }
    best
}

/// A distribution-free interval of the shift `new − base` with its
/// confidence (at least 90 %), or `None` with too few rounds (fewer than
/// 3 against 3, or 5 pairs). Exists whatever the values, zeros included.
pub(crate) fn shift_interval(design: Design, base: &[f64], new: &[f64]) -> Option<(f64, f64, f64)> {
    let mut diffs: Vec<f64> = Vec::new();
    let counts = match design {
        Design::Independent => {
            if base.len() > 40 || new.len() > 40 {
                return None;
            }
            for b in base {
                for a in new {
                    diffs.push(a - b);
                }
            }
            rank_sum_counts(base.len(), new.len())
        }
        Design::Paired => {
            let d: Vec<f64> = new.iter().zip(base).map(|(a, b)| a - b).collect();
            if d.len() > 60 {
                return None;
            }
            for i in 0..d.len() {
                for j in i..d.len() {
                    diffs.push((d[i] + d[j]) / 2.0);
                }
            }
            signed_rank_counts(d.len())
        }
    };
    if diffs.is_empty() {
        return None;
    }
    diffs.sort_by(f64::total_cmp);
    let (k, confidence) = order_statistic(&counts)?;
    let len = diffs.len();
    (k <= len).then(|| (diffs[k - 1], diffs[len - k], confidence))
}

/// Benjamini–Hochberg step-up at level `q`: which of `p` are discoveries.
/// Under independent (or positively dependent) tests it bounds the
/// expected share of false discoveries by `q`; when nothing changed at
/// all, that is the chance of any alarm.
pub(crate) fn benjamini_hochberg(p: &[f64], q: f64) -> Vec<bool> {
    let m = p.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    let cut = order
        .iter()
        .enumerate()
        .filter(|(rank, i)| p[**i] <= q * (rank + 1) as f64 / m as f64)
        .map(|(rank, _)| rank + 1)
        .max()
        .unwrap_or(0);
    let mut out = vec![false; m];
    for &i in &order[..cut] {
        out[i] = true;
    }
    out
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
    fn the_smallest_p_of_few_rounds() {
        assert_eq!(min_p(Design::Independent, 3, 3), 1.0 / 20.0);
        assert_eq!(min_p(Design::Independent, 5, 5), 1.0 / 252.0);
        assert_eq!(min_p(Design::Paired, 5, 5), 1.0 / 32.0);
        assert_eq!(min_p(Design::Independent, 0, 5), 1.0);
        // Complete separation reaches it exactly.
        let p = rank_sum_p(&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0], "c");
        assert!((p - 0.05).abs() < 1e-12, "{p}");
        let p = signed_rank_p(&[1.0, 2.0, 3.0, 4.0, 5.0], "c");
        assert!((p - 1.0 / 32.0).abs() < 1e-12, "{p}");
    }

    #[test]
    fn rank_sum_matches_known_values_with_and_without_ties() {
        // U = 1 of 3 against 3 (new ranks 2, 5, 6 → sum 13): P(W ≥ 13) = 4/20.
        let p = rank_sum_p(&[1.0, 3.0, 4.0], &[2.0, 5.0, 6.0], "c");
        assert!((p - 0.2).abs() < 1e-12, "{p}");
        // Identical sides: every relabelling ties or beats the observed sum.
        assert_eq!(rank_sum_p(&[1.0, 1.0], &[1.0, 1.0], "c"), 1.0);
        // The other direction of a clear shift is 1.
        assert_eq!(rank_sum_p(&[4.0, 5.0, 6.0], &[1.0, 2.0, 3.0], "c"), 1.0);
        // Large sides use seeded draws: reproducible and close to exact.
        let base: Vec<f64> = (0..12).map(f64::from).collect();
        let new: Vec<f64> = (6..18).map(f64::from).collect();
        let p = rank_sum_p(&base, &new, "big");
        assert_eq!(p, rank_sum_p(&base, &new, "big"));
        assert!(p < 0.01, "{p}");
    }

    #[test]
    fn signed_rank_counts_sign_patterns() {
        // d = [−1, 2, 3]: W+ = 2 + 3 = 5; patterns with W+ ≥ 5: {2,3},{1,2,3} → 2/8.
        let p = signed_rank_p(&[-1.0, 2.0, 3.0], "c");
        assert!((p - 0.25).abs() < 1e-12, "{p}");
        assert_eq!(signed_rank_p(&[], "c"), 1.0);
        assert_eq!(signed_rank_p(&[0.0, 0.0], "c"), 1.0);
    }

    #[test]
    fn null_counts_are_the_textbook_ones() {
        assert_eq!(rank_sum_counts(2, 2), vec![1.0, 1.0, 2.0, 1.0, 1.0]);
        assert_eq!(rank_sum_counts(3, 3).iter().sum::<f64>(), 20.0);
        assert_eq!(
            signed_rank_counts(3),
            vec![1.0, 1.0, 1.0, 2.0, 1.0, 1.0, 1.0]
        );
    }

    #[test]
    fn intervals_exist_with_a_zero_round_and_not_with_two_rounds() {
        // The cell: a round of 0 on each side.
        let (lo, hi, conf) =
            shift_interval(Design::Independent, &[0.47, 0.45, 0.0], &[0.50, 0.0, 0.52])
                .expect("3 against 3 has an interval");
        assert!(lo < 0.0 && hi > 0.0, "{lo}..{hi}");
        assert!((conf - 0.9).abs() < 1e-12, "{conf}");
        assert!(shift_interval(Design::Independent, &[1.0, 2.0], &[1.0, 2.0]).is_none());
        let (lo, hi, conf) = shift_interval(
            Design::Independent,
            &[100.0, 101.0, 99.0, 100.5, 99.5],
            &[130.0, 131.0, 129.0, 130.5, 129.5],
        )
        .expect("interval");
        assert!(lo > 28.0 && hi < 32.0 && conf >= 0.9, "{lo}..{hi} {conf}");
        let (lo, hi, _) = shift_interval(
            Design::Paired,
            &[10.0, 11.0, 12.0, 13.0, 14.0],
            &[12.0, 13.0, 14.0, 15.0, 16.0],
        )
        .expect("5 pairs");
        assert_eq!((lo, hi), (2.0, 2.0));
        assert!(shift_interval(Design::Paired, &[1.0; 4], &[2.0; 4]).is_none());
    }

    #[test]
    fn benjamini_hochberg_steps_up() {
        let p = [0.01, 0.04, 0.03, 0.5];
        // Sorted 0.01, 0.03, 0.04, 0.5 against 0.0125, 0.025, 0.0375, 0.05.
        assert_eq!(benjamini_hochberg(&p, 0.05), [true, false, false, false]);
        let p = [0.001, 0.02, 0.03, 0.04];
        assert_eq!(benjamini_hochberg(&p, 0.05), [true; 4]);
        assert!(benjamini_hochberg(&[], 0.05).is_empty());
    }
}
