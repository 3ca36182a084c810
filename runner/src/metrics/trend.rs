//! Trends of a series over a run: how a metric *evolved*, not its total.
//!
//! A series is one value per timeline interval (an actor's records/s or
//! p99, a store statistic, the process's RSS), each at the interval's
//! middle. Four numbers summarise it, each assertable as a metric suffix:
//!
//! - [`slope`]: the least-squares slope, in the series' unit **per
//!   minute**, with a 95 % confidence interval from Student's t (ordinary
//!   least squares; the interval assumes independent residuals, which a
//!   series with cycles — compactions, batched frees — does not have, so
//!   it is a guide, not a test);
//! - [`slope_of_minima`]: the same fitted to the minimum of each window of
//!   intervals, for sawtooth series (memory released in batches): a heap
//!   that rises and falls back every few intervals has flat minima, a leak
//!   has rising ones;
//! - [`drift`]: the mean of the last window against the mean of the
//!   first, as a fraction (`-0.1` is 10 % lower at the end);
//! - [`cv`]: the coefficient of variation across intervals (standard
//!   deviation over mean);
//! - [`worst`]: the worst interval, the highest for a metric where lower
//!   is better (a windowed p99), the lowest where higher is better.
//!
//! Owns the arithmetic only; which series exist and what a phase's
//! intervals are belongs to the timeline and the report.

use super::catalog::{Better, TrendKind};

/// This trend of `points`: `better` is the series' direction (which end is
/// the worst interval), `sawtooth` fits a slope to per-window minima.
pub(crate) fn summarize(
    kind: TrendKind,
    points: &[Point],
    better: Option<Better>,
    sawtooth: bool,
) -> Option<f64> {
    match kind {
        TrendKind::Slope if sawtooth => {
            slope_of_minima(points, window(points.len())).map(|s| s.per_min)
        }
        TrendKind::Slope => slope(points).map(|s| s.per_min),
        TrendKind::Drift => drift(points, window(points.len())),
        TrendKind::Cv => cv(points),
        TrendKind::Worst => worst(points, better?),
    }
}

/// One point of a series: the middle of its interval, seconds from the
/// phase start, and the interval's value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Point {
    /// Seconds from the phase start (the interval's middle).
    pub t_s: f64,
    /// The interval's value.
    pub value: f64,
}

/// A fitted slope, per minute, with its 95 % confidence interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Slope {
    /// Least-squares slope, the series' unit per minute.
    pub per_min: f64,
    /// Lower end of the 95 % interval, per minute.
    pub low: f64,
    /// Upper end of the 95 % interval, per minute.
    pub high: f64,
    /// Points fitted.
    pub points: usize,
}

/// Fewest points a slope is fitted to: two points always lie on a line,
/// and three give one degree of freedom for its interval.
pub(crate) const MIN_POINTS: usize = 3;

/// The default window of [`drift`] and [`slope_of_minima`]: a tenth of the
/// intervals, at least [`MIN_WINDOW`].
pub(crate) const WINDOW_SHARE: f64 = 0.1;

/// The smallest window, in intervals.
pub(crate) const MIN_WINDOW: usize = 2;

/// The window, in intervals, of a series of `n` points.
pub(crate) fn window(n: usize) -> usize {
    ((n as f64 * WINDOW_SHARE).round() as usize).max(MIN_WINDOW)
}

/// The least-squares slope of `points` per minute and its 95 % interval;
/// `None` below [`MIN_POINTS`] points or when every point has one time.
pub(crate) fn slope(points: &[Point]) -> Option<Slope> {
    let finite: Vec<Point> = points
        .iter()
        .copied()
        .filter(|p| p.t_s.is_finite() && p.value.is_finite())
        .collect();
    let n = finite.len();
    if n < MIN_POINTS {
        return None;
    }
    let nf = n as f64;
    let mean_t = finite.iter().map(|p| p.t_s).sum::<f64>() / nf;
    let mean_v = finite.iter().map(|p| p.value).sum::<f64>() / nf;
    let sxx: f64 = finite.iter().map(|p| (p.t_s - mean_t).powi(2)).sum();
    if sxx <= 0.0 {
        return None;
    }
    let sxy: f64 = finite
        .iter()
        .map(|p| (p.t_s - mean_t) * (p.value - mean_v))
        .sum();
    let b = sxy / sxx;
    let a = mean_v - b * mean_t;
    let sse: f64 = finite
        .iter()
        .map(|p| (p.value - a - b * p.t_s).powi(2))
        .sum();
    let dof = n - 2;
    let se = (sse / dof as f64 / sxx).sqrt();
    let half = student_t_quantile(0.975, dof) * se;
    Some(Slope {
        per_min: b * 60.0,
        low: (b - half) * 60.0,
        high: (b + half) * 60.0,
        points: n,
    })
}

/// The slope of the per-window minima (windows of `window` consecutive
/// points, each minimum at its own time; a last window under half full is
/// left out); `None` with fewer
/// than [`MIN_POINTS`] windows.
pub(crate) fn slope_of_minima(points: &[Point], window: usize) -> Option<Slope> {
    slope(&window_minima(points, window))
}

/// The minimum of each window of `window` consecutive points, at its own
/// time (a last window under half full is left out): what
/// [`slope_of_minima`] fits, and what a chart draws its line through.
pub(crate) fn window_minima(points: &[Point], window: usize) -> Vec<Point> {
    points
        .chunks(window.max(1))
        .filter(|w| w.len() * 2 >= window.max(1))
        .filter_map(|w| {
            w.iter()
                .filter(|p| p.value.is_finite())
                .min_by(|a, b| a.value.total_cmp(&b.value))
                .copied()
        })
        .collect()
}

/// The last window's mean against the first's, as a fraction
/// (`(last − first) / first`); `None` when the series has fewer than two
/// windows or the first window's mean is 0.
pub(crate) fn drift(points: &[Point], window: usize) -> Option<f64> {
    let values: Vec<f64> = finite_values(points);
    let w = window.max(1);
    if values.len() < 2 * w {
        return None;
    }
    let first = mean(&values[..w]);
    let last = mean(&values[values.len() - w..]);
    (first != 0.0).then(|| (last - first) / first.abs())
}

/// Standard deviation over mean across the points (sample standard
/// deviation); `None` below two points or with a mean of 0.
pub(crate) fn cv(points: &[Point]) -> Option<f64> {
    let values = finite_values(points);
    if values.len() < 2 {
        return None;
    }
    let m = mean(&values);
    if m == 0.0 {
        return None;
    }
    let var = values.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (values.len() - 1) as f64;
    Some(var.sqrt() / m.abs())
}

/// The worst point: the highest where lower is better, the lowest where
/// higher is better; `None` for an empty series.
pub(crate) fn worst(points: &[Point], better: Better) -> Option<f64> {
    let values = finite_values(points).into_iter();
    match better {
        Better::Lower => values.max_by(f64::total_cmp),
        Better::Higher => values.min_by(f64::total_cmp),
    }
}

fn finite_values(points: &[Point]) -> Vec<f64> {
    points
        .iter()
        .map(|p| p.value)
        .filter(|v| v.is_finite())
        .collect()
}

fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

/// The standard normal quantile (Acklam's rational approximation,
/// relative error below 1.2e-9).
pub(crate) fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    const LOW: f64 = 0.02425;
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p <= 0.0 {
        f64::NEG_INFINITY
    } else if p >= 1.0 {
        f64::INFINITY
    } else if p < LOW {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - LOW {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

/// Student's t quantile with `dof` degrees of freedom: exact for 1 and 2,
/// else the Cornish–Fisher expansion (Abramowitz & Stegun 26.7.5; within
/// 0.2 % of the tables from 3 degrees of freedom).
pub(crate) fn student_t_quantile(p: f64, dof: usize) -> f64 {
    let v = dof.max(1) as f64;
    match dof {
        0 | 1 => (std::f64::consts::PI * (p - 0.5)).tan(),
        2 => (2.0 * p - 1.0) / (2.0 * p * (1.0 - p)).sqrt(),
        _ => {
            let x = normal_quantile(p);
            let x2 = x * x;
            let g1 = (x2 + 1.0) * x / 4.0;
            let g2 = ((5.0 * x2 + 16.0) * x2 + 3.0) * x / 96.0;
            let g3 = (((3.0 * x2 + 19.0) * x2 + 17.0) * x2 - 15.0) * x / 384.0;
            let g4 =
                ((((79.0 * x2 + 776.0) * x2 + 1482.0) * x2 - 1920.0) * x2 - 945.0) * x / 92160.0;
            x + g1 / v + g2 / v.powi(2) + g3 / v.powi(3) + g4 / v.powi(4)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn series(values: &[f64], every_s: f64) -> Vec<Point> {
        values
            .iter()
            .enumerate()
            .map(|(i, v)| Point {
                t_s: (i as f64 + 0.5) * every_s,
                value: *v,
            })
            .collect()
    }

    #[test]
    fn quantiles_match_the_tables() {
        // Student's t, two-sided 95 % (p = 0.975), from the standard tables.
        for (dof, table) in [
            (1, 12.706),
            (2, 4.303),
            (3, 3.182),
            (5, 2.571),
            (10, 2.228),
            (30, 2.042),
            (1000, 1.962),
        ] {
            let t = student_t_quantile(0.975, dof);
            assert!(
                (t - table).abs() / table < 0.002,
                "dof {dof}: {t} vs {table}"
            );
        }
        assert!((normal_quantile(0.975) - 1.959_964).abs() < 1e-6);
        assert!((normal_quantile(0.001) + 3.090_232).abs() < 1e-6);
        assert!((normal_quantile(0.5)).abs() < 1e-12);
    }

    #[test]
    fn a_line_is_fitted_exactly_per_minute() {
        // 2 MiB more every 10 s interval = 12 MiB per minute, no noise.
        let mib = 1024.0 * 1024.0;
        let values: Vec<f64> = (0..30)
            .map(|i| 100.0 * mib + 2.0 * mib * i as f64)
            .collect();
        let s = slope(&series(&values, 10.0)).expect("fitted");
        assert!((s.per_min - 12.0 * mib).abs() < 1e-3, "{s:?}");
        assert!((s.high - s.low).abs() < 1e-3);
        assert_eq!(s.points, 30);
    }

    #[test]
    fn too_few_points_have_no_trend() {
        assert_eq!(slope(&series(&[1.0, 2.0], 1.0)), None);
        assert_eq!(drift(&series(&[1.0, 2.0, 3.0], 1.0), 2), None);
        assert_eq!(cv(&series(&[1.0], 1.0)), None);
        assert_eq!(worst(&[], Better::Lower), None);
    }

    /// 2,000 seeded flat series (30 intervals, 10 % Gaussian-ish noise):
    /// the 95 % interval of the slope holds 0 in 95 % ± 1.5 % of them —
    /// the interval means what it says for independent noise.
    #[test]
    fn the_interval_of_a_flat_series_covers_zero_at_its_level() {
        let mut rng = ChaCha8Rng::seed_from_u64(0x7E4D);
        let draws = 2000;
        let mut covered = 0;
        for _ in 0..draws {
            let values: Vec<f64> = (0..30)
                .map(|_| {
                    // Sum of 12 uniforms − 6: a standard normal to within 0.01.
                    let z: f64 = (0..12).map(|_| rng.random::<f64>()).sum::<f64>() - 6.0;
                    1000.0 * (1.0 + 0.1 * z)
                })
                .collect();
            let s = slope(&series(&values, 1.0)).expect("fitted");
            if s.low <= 0.0 && 0.0 <= s.high {
                covered += 1;
            }
        }
        let rate = covered as f64 / draws as f64;
        assert!((rate - 0.95).abs() < 0.015, "coverage {rate}");
    }

    /// A sawtooth heap (rises 10 MiB over 5 intervals, freed back each
    /// time) has a positive least-squares slope over a window that ends
    /// mid-tooth, yet flat minima; the same with a 1 MiB/interval leak
    /// has minima rising at the leak's rate.
    #[test]
    fn minima_see_a_leak_under_a_sawtooth_and_no_leak_without() {
        let mib = 1024.0 * 1024.0;
        let tooth =
            |i: usize, leak: f64| 100.0 * mib + 2.0 * mib * (i % 5) as f64 + leak * i as f64;
        let healthy: Vec<f64> = (0..63).map(|i| tooth(i, 0.0)).collect();
        let leaking: Vec<f64> = (0..63).map(|i| tooth(i, mib)).collect();
        let healthy = slope_of_minima(&series(&healthy, 1.0), 5).expect("fitted");
        let leaking = slope_of_minima(&series(&leaking, 1.0), 5).expect("fitted");
        assert!(healthy.per_min.abs() < 1e-6, "{healthy:?}");
        assert!(
            (leaking.per_min - 60.0 * mib).abs() < 0.01 * mib,
            "{leaking:?}"
        );
    }

    #[test]
    fn drift_cv_and_worst_read_the_series() {
        let values = [100.0, 100.0, 95.0, 90.0, 80.0, 80.0];
        let points = series(&values, 1.0);
        let d = drift(&points, 2).expect("two windows");
        assert!((d + 0.2).abs() < 1e-12, "{d}");
        assert_eq!(worst(&points, Better::Higher), Some(80.0));
        assert_eq!(worst(&points, Better::Lower), Some(100.0));
        let c = cv(&series(&[90.0, 110.0], 1.0)).expect("cv");
        // Sample sd of {90, 110} is 14.142; mean 100.
        assert!((c - 0.141_421).abs() < 1e-5, "{c}");
        assert_eq!(window(100), 10);
        assert_eq!(window(5), MIN_WINDOW);
    }
}
