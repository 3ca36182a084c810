//! The trends a progress line shows while a long phase runs: per actor
//! its p99's slope and its throughput's drift, and the process's RSS
//! slope, from the live trends (`metrics::live_trends`) — so a p99 creeping
//! up or a leak shows in the CI log long before the phase ends.

use crate::metrics::actor_metric::named;
use crate::metrics::catalog::MetricUnit;
use crate::metrics::live_trends::LiveTrend;
use crate::metrics::series::LISTED_MIN_INTERVALS;

use super::format;

/// The trends shown, in order: (series, trend, unit).
const SHOWN: [(&str, &str, MetricUnit); 3] = [
    (named("p99").name, "slope", MetricUnit::NanosPerMinute),
    (named("records_per_s").name, "drift", MetricUnit::Ratio),
    ("process.rss", "slope", MetricUnit::BytesPerMinute),
];

/// ` · trends: writer p99 +12 µs/min, writer records/s drift -0.1%, RSS
/// +200 KiB/min`, or nothing before the phase has [`LISTED_MIN_INTERVALS`]
/// intervals (a slope over a handful of points is noise).
pub(crate) fn suffix(trends: &[LiveTrend], intervals: usize) -> String {
    if intervals < LISTED_MIN_INTERVALS {
        return String::new();
    }
    let parts: Vec<String> = SHOWN
        .iter()
        .flat_map(|(series, trend, unit)| {
            trends
                .iter()
                .filter(move |t| t.series == *series && t.trend == *trend)
                .map(move |t| {
                    let sign = if t.value >= 0.0 { "+" } else { "" };
                    let name = match (t.actor.as_str(), *series) {
                        ("", _) => "RSS".to_owned(),
                        (actor, "records_per_s") => format!("{actor} records/s drift"),
                        (actor, s) => format!("{actor} {s}"),
                    };
                    let value = if *unit == MetricUnit::Ratio {
                        format!("{:.1}%", t.value * 100.0)
                    } else {
                        format::metric(t.value, *unit)
                    };
                    format!("{name} {sign}{value}")
                })
        })
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!(" · trends: {}", parts.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(actor: &str, series: &str, trend: &'static str, value: f64) -> LiveTrend {
        LiveTrend {
            actor: actor.to_owned(),
            series: series.to_owned(),
            trend,
            value,
        }
    }

    #[test]
    fn the_suffix_names_p99_slope_rate_drift_and_rss_slope() {
        let trends = [
            t("writer", "p99", "slope", 12_000.0),
            t("writer", "p99", "cv", 0.5),
            t("writer", "records_per_s", "drift", -0.001),
            t("", "process.rss", "slope", 2.0 * 1024.0 * 1024.0),
        ];
        let s = suffix(&trends, LISTED_MIN_INTERVALS);
        assert!(s.starts_with(" · trends: writer p99 +12"), "{s}");
        assert!(s.contains("µs/min, writer records/s drift -0.1%, "), "{s}");
        assert!(s.ends_with("RSS +2.0 MiB/min"), "{s}");
        assert_eq!(suffix(&trends, LISTED_MIN_INTERVALS - 1), "");
    }
}
