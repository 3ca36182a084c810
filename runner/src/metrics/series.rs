//! The timeline series of a report that trends are fitted to: an actor's
//! rates and percentiles per interval, a phase's store statistics and
//! process CPU and memory per interval, each as [`Point`]s at the
//! intervals' middles.
//!
//! Two rules keep a series honest: the last interval of a phase, cut short
//! by its end, is left out when shorter than half the phase's interval (a
//! rate over 0.3 ms is noise, and its 0 would read as a stall), and an
//! interval without operations has no percentile (it has no latency, not
//! a latency of 0).
//!
//! Memory series (RSS, jemalloc's) are sawtooth by nature — freed in
//! batches, grown in arenas — so their slope is fitted to per-window
//! minima ([`trend::slope_of_minima`]): a leak raises the floor, a
//! healthy heap only the peaks.

use super::actor_metric;
use super::catalog::{self, MEMORY_METRICS};
use super::samples::{IntervalReport, PhaseSample};
use super::trend::{self, Point};

/// An interval shorter than this share of the phase's interval is left
/// out of a series.
pub(crate) const MIN_INTERVAL_SHARE: f64 = 0.5;

/// Trends are listed among a run's measured metrics (`results.csv`,
/// `run.json`, compare) only for phases of at least this many full
/// intervals: a slope over a handful of points is noise. Assertions may
/// still name a trend of a shorter phase (from 3 points on).
pub(crate) const LISTED_MIN_INTERVALS: usize = 10;

/// The process series whose trends are listed (as `process.<series>.<trend>`).
pub(crate) const LISTED_PROCESS_SERIES: &[&str] = &["rss"];

/// The trends of an actor listed among its measured metrics, with units:
/// every trend of the listed series ([`actor_metric::listed_series`]) once the actor's timeline has
/// [`LISTED_MIN_INTERVALS`] full intervals, none before.
pub(crate) fn listed_actor_trends(
    timeline: &[IntervalReport],
) -> Vec<(String, catalog::MetricUnit)> {
    if full(timeline, |i| i.duration_s).count() < LISTED_MIN_INTERVALS {
        return Vec::new();
    }
    actor_metric::listed_series()
        .flat_map(|m| {
            catalog::TRENDS
                .iter()
                .map(move |(suffix, kind)| (format!("{}.{suffix}", m.name), kind.unit(m.unit)))
        })
        .collect()
}

/// The process trends of a phase listed among its measured metrics
/// (`process.rss.slope`, `process.rss.worst`), with units, under the same
/// rule as [`listed_actor_trends`].
pub(crate) fn listed_phase_trends(samples: &[PhaseSample]) -> Vec<(String, catalog::MetricUnit)> {
    if full(samples, |s| s.duration_s).count() < LISTED_MIN_INTERVALS {
        return Vec::new();
    }
    LISTED_PROCESS_SERIES
        .iter()
        .filter_map(|series| {
            catalog::PHASE_PROCESS_METRICS
                .iter()
                .find(|(n, _)| n == series)
        })
        .flat_map(|(series, unit)| {
            [catalog::TrendKind::Slope, catalog::TrendKind::Worst]
                .into_iter()
                .map(move |kind| {
                    (
                        format!("process.{series}.{}", kind.suffix()),
                        kind.unit(*unit),
                    )
                })
        })
        .collect()
}

/// Keeps the intervals of full length (see [`MIN_INTERVAL_SHARE`]).
fn full<'a, T>(
    items: &'a [T],
    length: impl Fn(&T) -> f64 + Copy + 'a,
) -> impl Iterator<Item = &'a T> + 'a {
    let every = items.iter().map(length).fold(0.0, f64::max);
    items
        .iter()
        .filter(move |i| every > 0.0 && length(i) >= MIN_INTERVAL_SHARE * every)
}

/// Series `series` of an actor (a per-actor metric with a
/// [`series`](actor_metric::ActorMetric::series)); `None` for another name.
pub(crate) fn actor_points(timeline: &[IntervalReport], series: &str) -> Option<Vec<Point>> {
    let of = actor_metric::find(series)?.series?;
    Some(
        full(timeline, |i| i.duration_s)
            .filter_map(|i| {
                (of.value)(i).map(|value| Point {
                    t_s: i.t_s + i.duration_s / 2.0,
                    value,
                })
            })
            .collect(),
    )
}

/// Series `metric` (`store.<stat>` or `process.<metric>`) of a phase;
/// `None` when the phase has no such series.
pub(crate) fn phase_points(samples: &[PhaseSample], metric: &str) -> Option<Vec<Point>> {
    enum Of<'a> {
        Store(&'a str),
        Process(&'a str),
    }
    let of = if let Some(stat) = metric.strip_prefix("store.") {
        Of::Store(stat)
    } else {
        Of::Process(metric.strip_prefix("process.")?)
    };
    let points: Vec<Point> = full(samples, |s| s.duration_s)
        .filter_map(|s| {
            let value = match of {
                Of::Store(stat) => s.store.get(stat).copied(),
                Of::Process(m) => s.process.metric(m),
            }?;
            Some(Point {
                t_s: s.t_s + s.duration_s / 2.0,
                value,
            })
        })
        .collect();
    (!points.is_empty()).then_some(points)
}

/// The trend `name` (`p99.slope`) of an actor; `None` when `name` is not
/// a trend of one of its series or the series is too short for it.
pub(crate) fn actor_trend(timeline: &[IntervalReport], name: &str) -> Option<f64> {
    let (series, kind) = catalog::split_trend(name)?;
    let points = actor_points(timeline, series)?;
    let better = actor_metric::find(series)?.better;
    trend::summarize(kind, &points, better, false)
}

/// The trend `metric` (`process.rss.slope`, `store.stall_micros.worst`)
/// of a phase, with `unit` the series' unit.
pub(crate) fn phase_trend(
    samples: &[PhaseSample],
    metric: &str,
    unit: catalog::MetricUnit,
) -> Option<f64> {
    let (series, kind) = catalog::split_trend(metric)?;
    let points = phase_points(samples, series)?;
    let name = series.rsplit('.').next().unwrap_or(series);
    let memory = series.starts_with("process.") && MEMORY_METRICS.contains(&name);
    let better = catalog::better(series, unit).or(memory.then_some(catalog::Better::Lower));
    trend::summarize(kind, &points, better, memory)
}
