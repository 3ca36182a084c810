//! The units of metric values and the directions and trends of metrics:
//! the vocabulary every metric table ([`actor_metric`](super::actor_metric),
//! [`phase_metric`](super::phase_metric)) and the catalog are written in.
//!
//! It sits below them so the tables can use it without importing the
//! catalog that looks them up. It names no metric.

use serde::Serialize;

/// The unit of a metric value as stored in a `RunReport` (base units only).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum MetricUnit {
    /// Nanoseconds (latencies, durations, CPU time).
    Nanos,
    /// Microseconds (RocksDB's stall counter).
    Micros,
    /// Bytes.
    Bytes,
    /// A plain count.
    Count,
    /// Operations or records per second.
    PerSecond,
    /// Bytes per second.
    BytesPerSecond,
    /// A dimensionless ratio.
    Ratio,
    /// A trend's slope of a time series, nanoseconds per minute.
    NanosPerMinute,
    /// A slope, microseconds per minute.
    MicrosPerMinute,
    /// A slope, bytes per minute.
    BytesPerMinute,
    /// A slope, a count per minute.
    CountPerMinute,
    /// A slope of a rate, per second per minute.
    PerSecondPerMinute,
    /// A slope of a throughput, bytes per second per minute.
    BytesPerSecondPerMinute,
    /// A slope of a ratio, per minute.
    RatioPerMinute,
}

/// Every unit, in declaration order (for lookups by label).
pub(crate) const METRIC_UNITS: &[MetricUnit] = &[
    MetricUnit::Nanos,
    MetricUnit::Micros,
    MetricUnit::Bytes,
    MetricUnit::Count,
    MetricUnit::PerSecond,
    MetricUnit::BytesPerSecond,
    MetricUnit::Ratio,
    MetricUnit::NanosPerMinute,
    MetricUnit::MicrosPerMinute,
    MetricUnit::BytesPerMinute,
    MetricUnit::CountPerMinute,
    MetricUnit::PerSecondPerMinute,
    MetricUnit::BytesPerSecondPerMinute,
    MetricUnit::RatioPerMinute,
];

impl MetricUnit {
    /// The unit column of CSV output.
    pub fn label(self) -> &'static str {
        match self {
            MetricUnit::Nanos => "ns",
            MetricUnit::Micros => "us",
            MetricUnit::Bytes => "bytes",
            MetricUnit::Count => "count",
            MetricUnit::PerSecond => "per_s",
            MetricUnit::BytesPerSecond => "bytes_per_s",
            MetricUnit::Ratio => "ratio",
            MetricUnit::NanosPerMinute => "ns_per_min",
            MetricUnit::MicrosPerMinute => "us_per_min",
            MetricUnit::BytesPerMinute => "bytes_per_min",
            MetricUnit::CountPerMinute => "count_per_min",
            MetricUnit::PerSecondPerMinute => "per_s_per_min",
            MetricUnit::BytesPerSecondPerMinute => "bytes_per_s_per_min",
            MetricUnit::RatioPerMinute => "ratio_per_min",
        }
    }

    /// The unit of a slope of a series in this unit (a slope of a slope
    /// is not a thing loadline reports: it stays per minute).
    pub fn per_minute(self) -> MetricUnit {
        match self {
            MetricUnit::Nanos => MetricUnit::NanosPerMinute,
            MetricUnit::Micros => MetricUnit::MicrosPerMinute,
            MetricUnit::Bytes => MetricUnit::BytesPerMinute,
            MetricUnit::Count => MetricUnit::CountPerMinute,
            MetricUnit::PerSecond => MetricUnit::PerSecondPerMinute,
            MetricUnit::BytesPerSecond => MetricUnit::BytesPerSecondPerMinute,
            MetricUnit::Ratio => MetricUnit::RatioPerMinute,
            slope => slope,
        }
    }

    /// The series' unit of a slope unit (`None` for other units).
    pub fn slope_of(self) -> Option<MetricUnit> {
        Some(match self {
            MetricUnit::NanosPerMinute => MetricUnit::Nanos,
            MetricUnit::MicrosPerMinute => MetricUnit::Micros,
            MetricUnit::BytesPerMinute => MetricUnit::Bytes,
            MetricUnit::CountPerMinute => MetricUnit::Count,
            MetricUnit::PerSecondPerMinute => MetricUnit::PerSecond,
            MetricUnit::BytesPerSecondPerMinute => MetricUnit::BytesPerSecond,
            MetricUnit::RatioPerMinute => MetricUnit::Ratio,
            _ => return None,
        })
    }
}

impl MetricUnit {
    /// The unit whose [`label`](Self::label) is `label` (as `results.csv`
    /// and [`MetricRow`](super::report::MetricRow) carry it).
    pub fn from_label(label: &str) -> Option<MetricUnit> {
        METRIC_UNITS.iter().copied().find(|u| u.label() == label)
    }
}

/// Which way a metric improves: what `compare` calls a regression.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Better {
    /// Latency, durations, CPU time, errors, losses: less is better.
    Lower,
    /// Throughput: more is better.
    Higher,
}

/// A trend of a series, written as a metric suffix (`p99.slope`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TrendKind {
    /// `.slope`: least-squares slope per minute (`trend::slope`; for memory,
    /// of the per-window minima: `trend::slope_of_minima`).
    Slope,
    /// `.drift`: last window against the first (`trend::drift`).
    Drift,
    /// `.cv`: coefficient of variation (`trend::cv`).
    Cv,
    /// `.worst`: the worst interval (`trend::worst`).
    Worst,
}

/// Every trend and its suffix.
pub(crate) const TRENDS: &[(&str, TrendKind)] = &[
    ("slope", TrendKind::Slope),
    ("drift", TrendKind::Drift),
    ("cv", TrendKind::Cv),
    ("worst", TrendKind::Worst),
];

impl TrendKind {
    /// Its suffix (`slope`).
    pub(crate) fn suffix(self) -> &'static str {
        TRENDS
            .iter()
            .find(|(_, k)| *k == self)
            .map_or("", |(s, _)| s)
    }

    /// The unit of this trend of a series in `series`: a slope per minute,
    /// drift and variation as ratios, the worst interval as the series.
    pub(crate) fn unit(self, series: MetricUnit) -> MetricUnit {
        match self {
            TrendKind::Slope => series.per_minute(),
            TrendKind::Drift | TrendKind::Cv => MetricUnit::Ratio,
            TrendKind::Worst => series,
        }
    }
}

/// `a == b` for a `const fn` (the tables' `named` lookups, which turn a
/// misspelt metric pick into a build error).
pub(crate) const fn same_name(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// `p99.slope` → (`p99`, slope); `None` for a name without a trend suffix.
pub(crate) fn split_trend(name: &str) -> Option<(&str, TrendKind)> {
    let (series, suffix) = name.rsplit_once('.')?;
    TRENDS
        .iter()
        .find(|(s, _)| *s == suffix)
        .map(|(_, k)| (series, *k))
}
