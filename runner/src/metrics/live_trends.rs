//! Trends of the running phase, live: the points of the series whose
//! trends are listed among a run's metrics (an actor's `records_per_s` and
//! `p99`, the process's `rss`), added interval by interval as the engine
//! reports finished intervals, and their `.slope`, `.drift`, `.cv` and
//! `.worst` computed when asked (a scrape, a progress line).
//!
//! The same arithmetic (`trend`) and the same points (interval middles,
//! an interval without operations has no p99) as the report's trends, so
//! the live value converges on the judged one; the phase's last, shorter
//! interval comes with the phase's end. Holds two numbers per interval
//! and series — a soak of 600 intervals is a few tens of KiB.

use std::collections::BTreeMap;

use super::actor_metric;
use super::catalog::{self, MEMORY_METRICS, TRENDS};
use super::samples::{IntervalReport, PhaseSample};
use super::series::LISTED_PROCESS_SERIES;
use super::trend::{self, Point};

/// One live trend value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LiveTrend {
    /// The actor (empty for a process series).
    pub actor: String,
    /// The series: `records_per_s`, `p99`, `process.rss`.
    pub series: String,
    /// The trend's suffix: `slope`, `drift`, `cv`, `worst`.
    pub trend: &'static str,
    /// Its value in the metric's unit (a slope per minute).
    pub value: f64,
}

/// The running phase's series so far.
#[derive(Debug, Default)]
pub(crate) struct LiveTrends {
    /// (actor, series) → points; the actor is empty for process series.
    points: BTreeMap<(String, String), Vec<Point>>,
}

impl LiveTrends {
    /// Forgets the last phase's series (a phase starts).
    pub(crate) fn reset(&mut self) {
        self.points.clear();
    }

    /// Adds a finished interval of `actor`.
    pub(crate) fn add_interval(&mut self, actor: &str, i: &IntervalReport) {
        if i.duration_s <= 0.0 {
            return;
        }
        let t_s = i.t_s + i.duration_s / 2.0;
        for m in actor_metric::listed_series() {
            if let Some(value) = m.series.and_then(|s| (s.value)(i)) {
                self.push(actor, m.name, Point { t_s, value });
            }
        }
    }

    /// Adds a store and process sample of the phase.
    pub(crate) fn add_sample(&mut self, s: &PhaseSample) {
        if s.duration_s <= 0.0 {
            return;
        }
        let t_s = s.t_s + s.duration_s / 2.0;
        for name in LISTED_PROCESS_SERIES {
            if let Some(value) = s.process.metric(name) {
                self.push("", &format!("process.{name}"), Point { t_s, value });
            }
        }
    }

    fn push(&mut self, actor: &str, series: &str, p: Point) {
        self.points
            .entry((actor.to_owned(), series.to_owned()))
            .or_default()
            .push(p);
    }

    /// Every trend that has a value so far.
    pub(crate) fn values(&self) -> Vec<LiveTrend> {
        let mut out = Vec::new();
        for ((actor, series), points) in &self.points {
            let name = series.strip_prefix("process.").unwrap_or(series);
            let memory = series.starts_with("process.") && MEMORY_METRICS.contains(&name);
            let better = actor_metric::find(series)
                .and_then(|m| m.better)
                .or(memory.then_some(catalog::Better::Lower));
            for (suffix, kind) in TRENDS {
                if let Some(value) = trend::summarize(*kind, points, better, memory) {
                    out.push(LiveTrend {
                        actor: actor.clone(),
                        series: series.clone(),
                        trend: suffix,
                        value,
                    });
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer whose p99 rises 1 µs an interval of 1 s: a live slope of
    /// 60 µs/min, the worst interval its last; RSS samples give a slope.
    #[test]
    fn live_trends_follow_the_intervals() {
        let mut live = LiveTrends::default();
        for i in 0..12u64 {
            live.add_interval(
                "writer",
                &IntervalReport {
                    t_s: i as f64,
                    duration_s: 1.0,
                    ops: 100,
                    records: 100,
                    p99_ns: 1_000 * (i + 1),
                    ..IntervalReport::default()
                },
            );
            let mut s = PhaseSample {
                t_s: i as f64,
                duration_s: 1.0,
                ..PhaseSample::default()
            };
            s.process.rss_bytes = 1_000_000 + 1_000 * i;
            live.add_sample(&s);
        }
        let values = live.values();
        let get = |series: &str, trend: &str| {
            values
                .iter()
                .find(|t| t.series == series && t.trend == trend)
                .map(|t| t.value)
                .unwrap_or_else(|| panic!("no {series}.{trend} in {values:?}"))
        };
        assert!((get("p99", "slope") - 60_000.0).abs() < 1e-6);
        assert_eq!(get("p99", "worst"), 12_000.0);
        assert_eq!(get("records_per_s", "cv"), 0.0);
        assert!(get("process.rss", "slope") > 0.0);
        live.reset();
        assert!(live.values().is_empty());
    }
}
