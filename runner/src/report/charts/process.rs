//! The process chart of a phase: loadline's resident set size (RSS) over
//! the phase, one line per target, with the trend `process.rss.slope`
//! judges drawn over it — the per-window minima it is fitted to and the
//! fitted line, dashed in the target's colour — so a leak shows as a
//! rising dashed line under the sawtooth of a healthy allocator.
//!
//! A phase gets one when its RSS trend is judged: an assertion names
//! `<phase>.process.rss…`, or the phase has enough full intervals for the
//! trend to be listed among its metrics
//! ([`LISTED_MIN_INTERVALS`](crate::metrics::series::LISTED_MIN_INTERVALS)).
//! Points are those of the trend metrics (`metrics::series::phase_points`),
//! so the chart shows what was judged. Owns no drawing (see `plot`).

use super::plot::{Figure, Line, Panel, XAxis, YAxis};
use crate::metrics::report::VariantReport;
use crate::metrics::series::{LISTED_MIN_INTERVALS, phase_points};
use crate::metrics::trend::{self, Point};

/// The series charted: the one memory series whose trend is listed.
const SERIES: &str = "process.rss";

/// The RSS points of measured phase `phase` on each target of `v` that
/// ran it: (target index, points).
fn runs(v: &VariantReport, phase: &str) -> Vec<(usize, Vec<Point>)> {
    v.targets
        .iter()
        .enumerate()
        .filter_map(|(i, t)| {
            let p = t.phases.iter().find(|p| !p.warmup && p.name == phase)?;
            Some((i, phase_points(&p.stats.timeline, SERIES)?))
        })
        .collect()
}

/// True when phase `phase` of `v` gets a process chart (see the module
/// docs).
pub(crate) fn charted(v: &VariantReport, phase: &str) -> bool {
    let prefix = format!("{phase}.{SERIES}");
    let asserted = v
        .assertions
        .iter()
        .any(|r| r.assertion.trim_start().starts_with(&prefix));
    runs(v, phase)
        .iter()
        .any(|(_, points)| points.len() >= LISTED_MIN_INTERVALS || asserted && !points.is_empty())
}

/// The figure: RSS at each interval (at the interval's middle, as the
/// trend takes it), and per target the per-window minima and the line
/// fitted to them.
pub(crate) fn figure(v: &VariantReport, phase: &str, title: &str) -> Figure {
    let mut lines = Vec::new();
    for (i, points) in runs(v, phase) {
        let target = &v.targets[i].name;
        lines.push(Line {
            label: target.clone(),
            color: i,
            dashed: false,
            points: points.iter().map(|p| (p.t_s, p.value)).collect(),
        });
        let minima = trend::window_minima(&points, trend::window(points.len()));
        if let Some(fit) = fitted(&minima) {
            lines.push(Line {
                label: format!("{target}: per-window minima and their fitted trend"),
                color: i,
                dashed: true,
                points: minima
                    .iter()
                    .map(|p| (p.t_s, p.value))
                    .chain(std::iter::once((f64::NAN, f64::NAN)))
                    .chain(fit)
                    .collect(),
            });
        }
    }
    Figure {
        title: title.to_owned(),
        x: XAxis::Seconds,
        x_label: "seconds since the phase started".to_owned(),
        panels: vec![Panel {
            title: "loadline's resident set size (RSS); dashed: what rss.slope fits".to_owned(),
            y: YAxis::Bytes,
            lines,
            thresholds: Vec::new(),
        }],
    }
}

/// The least-squares line through `points`, at its first and last time;
/// `None` when no slope can be fitted.
fn fitted(points: &[Point]) -> Option<[(f64, f64); 2]> {
    let slope = trend::slope(points)?;
    let n = points.len() as f64;
    let mean_t = points.iter().map(|p| p.t_s).sum::<f64>() / n;
    let mean_v = points.iter().map(|p| p.value).sum::<f64>() / n;
    let per_s = slope.per_min / 60.0;
    let at = |t: f64| (t, mean_v + per_s * (t - mean_t));
    Some([at(points.first()?.t_s), at(points.last()?.t_s)])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture;

    /// A phase whose RSS grows 1 MiB a second under a sawtooth.
    fn leaking(intervals: usize) -> crate::metrics::report::RunReport {
        let mut r = fixture::run_report(1);
        let v = &mut r.variants[0];
        v.assertions.clear();
        for t in &mut v.targets {
            for p in &mut t.phases {
                p.stats.timeline = (0..intervals)
                    .map(|k| {
                        let mut s = crate::metrics::samples::PhaseSample {
                            t_s: k as f64,
                            duration_s: 1.0,
                            ..Default::default()
                        };
                        let saw = if k % 3 == 2 { 4.0 } else { 0.0 };
                        s.process.rss_bytes = ((40.0 + k as f64 + saw) * 1048576.0) as u64;
                        s
                    })
                    .collect();
            }
        }
        r
    }

    /// The first measured phase of the fixture (the first is a warmup).
    fn measured(r: &crate::metrics::report::RunReport) -> String {
        let p = r.variants[0].targets[0].phases.iter().find(|p| !p.warmup);
        p.expect("a measured phase").name.clone()
    }

    #[test]
    fn a_long_phase_gets_its_rss_with_the_fitted_minima() {
        let r = leaking(30);
        let v = &r.variants[0];
        let phase = measured(&r);
        assert!(charted(v, &phase));
        let f = figure(v, &phase, "t");
        assert_eq!(f.panels.len(), 1);
        let lines = &f.panels[0].lines;
        assert_eq!(lines.len(), 2 * v.targets.len());
        let trend = &lines[1];
        assert!(trend.dashed);
        // The fitted line rises by 1 MiB per second between its ends.
        let fit: Vec<&(f64, f64)> = trend
            .points
            .iter()
            .skip_while(|p| !p.0.is_nan())
            .skip(1)
            .collect();
        assert_eq!(fit.len(), 2);
        let per_s = (fit[1].1 - fit[0].1) / (fit[1].0 - fit[0].0);
        assert!((per_s / 1048576.0 - 1.0).abs() < 0.05, "{per_s}");
    }

    #[test]
    fn a_short_phase_gets_none_unless_an_assertion_names_its_rss() {
        let mut r = leaking(5);
        let phase = measured(&r);
        assert!(!charted(&r.variants[0], &phase));
        let mut a = fixture::run_report(1).variants[0].assertions[0].clone();
        a.assertion = format!("{phase}.process.rss.slope < 1MiB/min");
        r.variants[0].assertions.push(a);
        assert!(charted(&r.variants[0], &phase));
    }
}
