//! The per-actor metrics, one row each: [`ACTOR_METRICS`] gives every
//! metric of `<phase>.<actor>.<metric>` its name, unit, better direction,
//! where its value lives in an [`ActorReport`] (read, and written back when
//! `--repeat` folds rounds), its per-interval value when it is a timeline
//! series, and the op it needs. Validation, lookup, units, compare's
//! direction, fold, `results.csv`, trends and charts read this table; adding
//! a per-actor metric is adding a row (see `ARCHITECTURE.md`, "A metric").
//!
//! Why rows of function pointers, not an enum of metric ids with a `match`
//! per question: every question asked of a metric (its unit, its field, its
//! series) is then answered in the row itself, so a new metric cannot be
//! half added — there is no second list to forget, and no `_ =>` arm that
//! would silently swallow it. Places that pick a few metrics (the rounds
//! table, the trend chart) name them through [`named`], a `const fn`: a
//! misspelt or removed name there fails the build, not a report.
//!
//! Owns the names and where the values are; it computes no trend (see
//! `series`) and formats nothing.

use super::phase_report::{ActorReport, Latency};
use super::samples::IntervalReport;
use super::unit::{Better, MetricUnit, same_name, split_trend};

/// One per-actor metric.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ActorMetric {
    /// Its name under `<phase>.<actor>.` and in `results.csv`.
    pub name: &'static str,
    /// The unit of its value.
    pub unit: MetricUnit,
    /// Which way it improves (`None`: the workload sets it, e.g. `records`).
    pub better: Option<Better>,
    /// Where its value lives.
    pub value: Value,
    /// Its value per timeline interval, when trends can be fitted to it.
    pub series: Option<Series>,
    /// The op an actor must run for it to be measured (`None`: every op).
    pub only: Option<OnlyFor>,
}

/// Where a per-actor metric's value lives in an [`ActorReport`].
#[derive(Debug, Clone, Copy)]
pub(crate) enum Value {
    /// A field of the report: read, and set to the rounds' median by fold.
    Field {
        /// Reads it (`None` when the actor does not measure it).
        get: fn(&ActorReport) -> Option<f64>,
        /// Writes it.
        set: fn(&mut ActorReport, f64),
    },
    /// Computed from other fields (fold sets those, so it follows them).
    Derived(fn(&ActorReport) -> Option<f64>),
    /// A latency statistic, ns: of `latency`, of `service` under
    /// `service.<name>` (open loop), amortized per record under
    /// `per_record.<name>`.
    Latency {
        /// Reads it.
        get: fn(&Latency) -> f64,
        /// Writes it.
        set: fn(&mut Latency, f64),
    },
}

/// A per-actor metric's value in one timeline interval.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Series {
    /// Its value in an interval; `None` when the interval has none (no
    /// operation, no latency).
    pub value: fn(&IntervalReport) -> Option<f64>,
    /// Its trends are listed among measured metrics (`results.csv`,
    /// compare) and followed live; the others only when asserted.
    pub listed: bool,
}

/// A metric only some ops measure.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OnlyFor {
    /// The op (`get`).
    pub op: &'static str,
    /// What the metric counts, for the error on another op's actor.
    pub counts: &'static str,
}

/// An integer field's value from a (median) float.
fn whole(v: f64) -> u64 {
    v.round() as u64
}

/// Latency: lower is better.
const LOWER: Option<Better> = Some(Better::Lower);

/// Gets count what they found.
const GETS: Option<OnlyFor> = Some(OnlyFor {
    op: "get",
    counts: "counts what gets found",
});

/// A latency row (`mean`, `p99` …) without a timeline series.
macro_rules! latency {
    ($name:literal, $field:ident) => {
        latency!($name, $field, None)
    };
    ($name:literal, $field:ident, $series:expr) => {
        ActorMetric {
            name: $name,
            unit: MetricUnit::Nanos,
            better: LOWER,
            value: Value::Latency {
                get: |l| l.$field as f64,
                set: |l, v| l.$field = whole(v),
            },
            series: $series,
            only: None,
        }
    };
}

/// An interval's latency statistic: none without operations.
macro_rules! interval_latency {
    ($field:ident, $listed:literal) => {
        Some(Series {
            value: |i| (i.ops > 0).then_some(i.$field as f64),
            listed: $listed,
        })
    };
}

/// Every per-actor metric, in the order of `results.csv`.
pub(crate) const ACTOR_METRICS: &[ActorMetric] = &[
    ActorMetric {
        name: "count",
        unit: MetricUnit::Count,
        better: None,
        value: Value::Field {
            get: |a| Some(a.count as f64),
            set: |a, v| a.count = whole(v),
        },
        series: None,
        only: None,
    },
    ActorMetric {
        name: "records",
        unit: MetricUnit::Count,
        better: None,
        value: Value::Field {
            get: |a| Some(a.records as f64),
            set: |a, v| a.records = whole(v),
        },
        series: None,
        only: None,
    },
    ActorMetric {
        name: "bytes",
        unit: MetricUnit::Bytes,
        better: None,
        value: Value::Field {
            get: |a| Some(a.bytes as f64),
            set: |a, v| a.bytes = whole(v),
        },
        series: None,
        only: None,
    },
    ActorMetric {
        name: "errors",
        unit: MetricUnit::Count,
        better: LOWER,
        value: Value::Field {
            get: |a| Some(a.errors as f64),
            set: |a, v| a.errors = whole(v),
        },
        series: None,
        only: None,
    },
    ActorMetric {
        name: "late",
        unit: MetricUnit::Count,
        better: LOWER,
        value: Value::Field {
            get: |a| Some(a.late as f64),
            set: |a, v| a.late = whole(v),
        },
        series: None,
        only: None,
    },
    ActorMetric {
        name: "hits",
        unit: MetricUnit::Count,
        better: None,
        value: Value::Field {
            get: |a| a.hits.map(|h| h as f64),
            set: |a, v| {
                if a.hits.is_some() {
                    a.hits = Some(whole(v));
                }
            },
        },
        series: None,
        only: GETS,
    },
    ActorMetric {
        name: "misses",
        unit: MetricUnit::Count,
        better: None,
        value: Value::Derived(|a| Some(a.count.saturating_sub(a.hits? + a.errors) as f64)),
        series: None,
        only: GETS,
    },
    ActorMetric {
        name: "hit_ratio",
        unit: MetricUnit::Ratio,
        better: None,
        value: Value::Derived(|a| {
            let hits = a.hits? as f64;
            let done = a.count.saturating_sub(a.errors);
            (done > 0).then(|| hits / done as f64)
        }),
        series: None,
        only: GETS,
    },
    ActorMetric {
        name: "duration",
        unit: MetricUnit::Nanos,
        better: LOWER,
        value: Value::Field {
            get: |a| Some(a.duration_ns as f64),
            set: |a, v| a.duration_ns = whole(v),
        },
        series: None,
        only: None,
    },
    ActorMetric {
        name: "records_per_s",
        unit: MetricUnit::PerSecond,
        better: Some(Better::Higher),
        value: Value::Field {
            get: |a| Some(a.records_per_s),
            set: |a, v| a.records_per_s = v,
        },
        series: Some(Series {
            value: |i| Some(i.records as f64 / i.duration_s),
            listed: true,
        }),
        only: None,
    },
    ActorMetric {
        name: "batches_per_s",
        unit: MetricUnit::PerSecond,
        better: Some(Better::Higher),
        value: Value::Field {
            get: |a| Some(a.batches_per_s),
            set: |a, v| a.batches_per_s = v,
        },
        series: Some(Series {
            value: |i| Some(i.ops as f64 / i.duration_s),
            listed: false,
        }),
        only: None,
    },
    ActorMetric {
        name: "bytes_per_s",
        unit: MetricUnit::BytesPerSecond,
        better: Some(Better::Higher),
        value: Value::Field {
            get: |a| Some(a.bytes_per_s),
            set: |a, v| a.bytes_per_s = v,
        },
        series: Some(Series {
            value: |i| Some(i.bytes as f64 / i.duration_s),
            listed: false,
        }),
        only: None,
    },
    ActorMetric {
        name: "mean",
        unit: MetricUnit::Nanos,
        better: LOWER,
        value: Value::Latency {
            get: |l| l.mean_ns,
            set: |l, v| l.mean_ns = v,
        },
        series: None,
        only: None,
    },
    latency!("p50", p50_ns, interval_latency!(p50_ns, false)),
    latency!("p90", p90_ns),
    latency!("p99", p99_ns, interval_latency!(p99_ns, true)),
    latency!("p999", p999_ns),
    latency!("p9999", p9999_ns),
    latency!("max", max_ns, interval_latency!(max_ns, false)),
];

/// The row called `name`, for a pick named in code: a name no row has
/// fails the build (in a `const`) or panics.
pub(crate) const fn named(name: &str) -> &'static ActorMetric {
    let mut i = 0;
    while i < ACTOR_METRICS.len() {
        if same_name(ACTOR_METRICS[i].name, name) {
            return &ACTOR_METRICS[i];
        }
        i += 1;
    }
    panic!("no per-actor metric of that name in ACTOR_METRICS")
}

/// The row called `name` (`p99`, `records`); `None` for another name.
pub(crate) fn find(name: &str) -> Option<&'static ActorMetric> {
    ACTOR_METRICS.iter().find(|m| m.name == name)
}

/// Every row's name, in table order (for "one of …" and did-you-mean).
pub(crate) fn names() -> Vec<&'static str> {
    ACTOR_METRICS.iter().map(|m| m.name).collect()
}

/// The latency statistics (`mean`, `p50` … `max`): the rows that also
/// exist as `service.<name>` and `per_record.<name>`.
pub(crate) fn latencies() -> impl Iterator<Item = &'static ActorMetric> {
    ACTOR_METRICS
        .iter()
        .filter(|m| matches!(m.value, Value::Latency { .. }))
}

/// The rows that are timeline series whose trends are listed among
/// measured metrics (`records_per_s`, `p99`).
pub(crate) fn listed_series() -> impl Iterator<Item = &'static ActorMetric> {
    ACTOR_METRICS
        .iter()
        .filter(|m| m.series.is_some_and(|s| s.listed))
}

impl ActorMetric {
    /// Its value in `a`; `None` when `a` does not measure it.
    pub(crate) fn get(&self, a: &ActorReport) -> Option<f64> {
        match self.value {
            Value::Field { get, .. } | Value::Derived(get) => get(a),
            Value::Latency { get, .. } => Some(get(&a.latency)),
        }
    }

    /// Sets it in `a` (a derived metric follows its fields instead).
    pub(crate) fn set(&self, a: &mut ActorReport, v: f64) {
        match self.value {
            Value::Field { set, .. } => set(a, v),
            Value::Derived(_) => {}
            Value::Latency { set, .. } => set(&mut a.latency, v),
        }
    }

    /// `service.<name>`: a latency statistic of the service time (open
    /// loop only); `None` for other rows.
    pub(crate) fn service(&self, a: &ActorReport) -> Option<f64> {
        match self.value {
            Value::Latency { get, .. } => a.service.as_ref().map(get),
            _ => None,
        }
    }

    /// Sets `service.<name>` (when `a` measures service time).
    pub(crate) fn set_service(&self, a: &mut ActorReport, v: f64) {
        if let (Value::Latency { set, .. }, Some(l)) = (self.value, &mut a.service) {
            set(l, v);
        }
    }

    /// `per_record.<name>`: each op's latency shared by the records it
    /// carried (batches of 10 at 8 µs are 0.8 µs a record), the op
    /// statistic times ops / records; `None` for other rows or no records.
    pub(crate) fn per_record(&self, a: &ActorReport) -> Option<f64> {
        match self.value {
            Value::Latency { get, .. } if a.records > 0 => {
                Some(get(&a.latency) * a.count as f64 / a.records as f64)
            }
            _ => None,
        }
    }
}

/// The unit of a per-actor metric name (`p99`, `service.p99`,
/// `per_record.p99`, `records`, `p99.slope`); `None` for other names.
pub(crate) fn actor_metric_unit(name: &str) -> Option<MetricUnit> {
    if let Some((series, kind)) = split_trend(name) {
        return find(series)
            .filter(|m| m.series.is_some())
            .map(|m| kind.unit(m.unit));
    }
    if let Some(stat) = name
        .strip_prefix("service.")
        .or_else(|| name.strip_prefix("per_record."))
    {
        return latencies().find(|m| m.name == stat).map(|m| m.unit);
    }
    find(name).map(|m| m.unit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_picks_find_their_row_and_names_are_unique() {
        assert_eq!(named("p99").name, "p99");
        let mut all = names();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), ACTOR_METRICS.len(), "a name twice");
    }

    /// A pick of a name no row has is refused (at build time in a
    /// `const`, as every pick in the code is).
    #[test]
    #[should_panic(expected = "no per-actor metric of that name")]
    fn a_pick_of_an_unknown_name_is_refused() {
        let name = String::from("p98");
        named(&name);
    }

    #[test]
    fn latency_rows_are_nanoseconds_that_are_better_lower() {
        for m in latencies() {
            assert_eq!(m.unit, MetricUnit::Nanos, "{}", m.name);
            assert_eq!(m.better, Some(Better::Lower), "{}", m.name);
            assert_eq!(
                actor_metric_unit(&format!("service.{}", m.name)),
                Some(m.unit)
            );
        }
        assert_eq!(actor_metric_unit("service.records"), None);
        assert_eq!(actor_metric_unit("per_record.records"), None);
        assert_eq!(
            actor_metric_unit("p99.slope"),
            Some(MetricUnit::NanosPerMinute)
        );
        assert_eq!(actor_metric_unit("p90.slope"), None, "not a series");
    }

    #[test]
    fn every_row_has_a_unit_with_a_label() {
        for m in ACTOR_METRICS {
            assert_eq!(
                MetricUnit::from_label(m.unit.label()),
                Some(m.unit),
                "{}",
                m.name
            );
        }
    }
}
