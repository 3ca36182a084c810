//! The trend overlay of a timeline chart: for a series whose trend is
//! judged — an assertion names one of its trends (`soak.writer.p99.slope`),
//! or the phase is long enough for its trends to be listed among the
//! measured metrics ([`LISTED_MIN_INTERVALS`] full intervals) — the
//! least-squares line the `.slope` is fitted to, and the first and last
//! windows the `.drift` compares, each at its window's mean, dashed in the
//! target's colour.
//!
//! The overlay is computed from the same points as the trend metrics
//! (`metrics::series`: full intervals at their middles), so what the chart
//! shows is what was judged. Owns no drawing (see `plot`).

use super::plot::{Figure, Line};
use crate::metrics::actor_metric::{ActorMetric, named};
use crate::metrics::report::ActorReport;
use crate::metrics::series::{LISTED_MIN_INTERVALS, actor_points};
use crate::metrics::trend::{self, Point};

/// The series of each timeline panel, top to bottom.
const PANEL_SERIES: [&ActorMetric; 2] = [named("records_per_s"), named("p99")];
const _: () = assert!(
    PANEL_SERIES[0].series.is_some() && PANEL_SERIES[1].series.is_some(),
    "a panel's metric is a timeline series"
);

/// Points the fitted line is drawn with: enough for it to bend smoothly
/// on the p99 panel's logarithmic axis.
const LINE_POINTS: usize = 24;

/// Adds the trend overlay of every series that has one to a timeline
/// `figure` (panels as `plan::timeline_figure` makes them): `runs` are
/// (colour index, target name, actor) per line, `assertions` the metric
/// names the variant's assertions are about.
pub(crate) fn overlay(
    figure: &mut Figure,
    runs: &[(usize, String, &ActorReport)],
    phase: &str,
    assertions: &[&str],
) {
    for (panel, series) in figure.panels.iter_mut().zip(PANEL_SERIES.map(|m| m.name)) {
        for (color, target, actor) in runs {
            let Some(points) = actor_points(&actor.timeline, series) else {
                continue;
            };
            let prefix = format!("{phase}.{}.{series}.", actor.name);
            let asserted = assertions.iter().any(|a| a.starts_with(&prefix));
            if !asserted && points.len() < LISTED_MIN_INTERVALS {
                continue;
            }
            if let Some(line) = fitted(&points) {
                panel.lines.push(Line {
                    label: format!("{target}: fitted trend"),
                    color: *color,
                    dashed: true,
                    points: line,
                });
            }
            if let Some(windows) = windows(&points) {
                panel.lines.push(Line {
                    label: format!("{target}: first and last window means"),
                    color: *color,
                    dashed: true,
                    points: windows,
                });
            }
        }
    }
}

/// The least-squares line of `points` across their time span, as
/// [`LINE_POINTS`] points; `None` when no slope can be fitted. Points at
/// or below zero are left out (the p99 axis is logarithmic).
fn fitted(points: &[Point]) -> Option<Vec<(f64, f64)>> {
    let slope = trend::slope(points)?;
    let finite: Vec<&Point> = points
        .iter()
        .filter(|p| p.t_s.is_finite() && p.value.is_finite())
        .collect();
    let n = finite.len() as f64;
    let mean_t = finite.iter().map(|p| p.t_s).sum::<f64>() / n;
    let mean_v = finite.iter().map(|p| p.value).sum::<f64>() / n;
    let per_s = slope.per_min / 60.0;
    let (t0, t1) = (finite.first()?.t_s, finite.last()?.t_s);
    let line: Vec<(f64, f64)> = (0..LINE_POINTS)
        .map(|i| {
            let t = t0 + (t1 - t0) * i as f64 / (LINE_POINTS - 1) as f64;
            (t, mean_v + per_s * (t - mean_t))
        })
        .filter(|(_, v)| *v > 0.0)
        .collect();
    (line.len() >= 2).then_some(line)
}

/// The first and last windows of `points` (as `.drift` takes them), each
/// a segment at its mean over the window's span, with a break between;
/// `None` when the series has fewer than two windows.
fn windows(points: &[Point]) -> Option<Vec<(f64, f64)>> {
    let finite: Vec<Point> = points
        .iter()
        .copied()
        .filter(|p| p.value.is_finite())
        .collect();
    let w = trend::window(points.len());
    if finite.len() < 2 * w {
        return None;
    }
    let segment = |part: &[Point]| {
        let mean = part.iter().map(|p| p.value).sum::<f64>() / part.len() as f64;
        let (a, b) = (part.first()?.t_s, part.last()?.t_s);
        Some([(a, mean), (b, mean)])
    };
    let first = segment(&finite[..w])?;
    let last = segment(&finite[finite.len() - w..])?;
    Some(
        first
            .into_iter()
            .chain(std::iter::once((first[1].0, f64::NAN)))
            .chain(last)
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rising(n: usize) -> Vec<Point> {
        (0..n)
            .map(|i| Point {
                t_s: i as f64 + 0.5,
                value: 100.0 + 10.0 * i as f64,
            })
            .collect()
    }

    /// A series rising 10 a second: the fitted line runs through it from
    /// its first point to its last.
    #[test]
    fn the_fitted_line_spans_the_series_on_its_slope() {
        let line = fitted(&rising(20)).expect("a line");
        assert_eq!(line.len(), LINE_POINTS);
        let (a, b) = (line[0], line[LINE_POINTS - 1]);
        assert!(
            (a.0 - 0.5).abs() < 1e-9 && (a.1 - 100.0).abs() < 1e-6,
            "{a:?}"
        );
        assert!(
            (b.0 - 19.5).abs() < 1e-9 && (b.1 - 290.0).abs() < 1e-6,
            "{b:?}"
        );
        assert!(fitted(&rising(2)).is_none(), "two points fit no slope");
    }

    fn actor(intervals: u64) -> ActorReport {
        let info = crate::metrics::recorder::ActorInfo {
            name: "writer".to_owned(),
            op: "append".to_owned(),
            workers: 1,
            rate: None,
        };
        let mut a = crate::metrics::recorder::actor_report(
            &info,
            &crate::metrics::recorder::Recorder::new(false),
            1,
        );
        a.timeline = (0..intervals)
            .map(|i| crate::metrics::report::IntervalReport {
                t_s: i as f64,
                duration_s: 1.0,
                ops: 10 + i,
                records: 10 + i,
                p99_ns: 1_000 + 100 * i,
                ..Default::default()
            })
            .collect();
        a
    }

    fn panels(runs: &[(usize, String, &ActorReport)], assertions: &[&str]) -> Vec<usize> {
        let panel = |title: &str| super::super::plot::Panel {
            title: title.to_owned(),
            y: super::super::plot::YAxis::Rate,
            lines: Vec::new(),
            thresholds: Vec::new(),
        };
        let mut figure = Figure {
            title: String::new(),
            x: super::super::plot::XAxis::Seconds,
            x_label: String::new(),
            panels: vec![panel("rate"), panel("p99")],
        };
        overlay(&mut figure, runs, "soak", assertions);
        figure.panels.iter().map(|p| p.lines.len()).collect()
    }

    /// A long phase gets the overlay on both panels; a short one only on
    /// the series an assertion trends.
    #[test]
    fn long_phases_and_asserted_trends_get_the_overlay() {
        let (long, short) = (actor(20), actor(6));
        assert_eq!(panels(&[(0, "wal".to_owned(), &long)], &[]), [2, 2]);
        assert_eq!(panels(&[(0, "wal".to_owned(), &short)], &[]), [0, 0]);
        assert_eq!(
            panels(&[(0, "wal".to_owned(), &short)], &["soak.writer.p99.slope"]),
            [0, 2]
        );
    }

    /// The windows are the first and last tenth (at least 2 points), each
    /// at its mean, with a break between.
    #[test]
    fn the_windows_are_the_drift_windows_at_their_means() {
        let w = windows(&rising(20)).expect("windows");
        assert_eq!(w.len(), 5);
        assert_eq!((w[0], w[1]), ((0.5, 105.0), (1.5, 105.0)));
        assert!(w[2].1.is_nan());
        assert_eq!((w[3], w[4]), ((18.5, 285.0), (19.5, 285.0)));
        assert!(windows(&rising(3)).is_none());
    }
}
