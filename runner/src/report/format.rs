//! Formatting by a metric's unit: the bridge between the metric catalog's
//! [`MetricUnit`] and the plain number formatters of `units::human`,
//! which every human-readable output uses (re-exported here).

pub(crate) use crate::units::human::*;

use crate::metrics::catalog::MetricUnit;

/// A value in `unit` (as stored in a `RunReport`) in its human form.
pub(crate) fn metric(value: f64, unit: MetricUnit) -> String {
    match unit {
        MetricUnit::Nanos => duration_ns(value),
        MetricUnit::Micros => duration_ns(value * 1000.0),
        MetricUnit::Bytes => size(value),
        MetricUnit::Count => count(value),
        MetricUnit::PerSecond => rate(value),
        MetricUnit::BytesPerSecond => bytes_rate(value),
        MetricUnit::Ratio => ratio(value),
        MetricUnit::NanosPerMinute
        | MetricUnit::MicrosPerMinute
        | MetricUnit::BytesPerMinute
        | MetricUnit::CountPerMinute
        | MetricUnit::PerSecondPerMinute
        | MetricUnit::BytesPerSecondPerMinute
        | MetricUnit::RatioPerMinute => {
            let series = unit.slope_of().unwrap_or(MetricUnit::Count);
            let sign = if value < 0.0 { "-" } else { "" };
            format!("{sign}{}/min", metric(value.abs(), series))
        }
    }
}

/// The unit called `name`, either as serialized in JSON (`nanos`,
/// `per_second`) or as in the CSV unit column (`ns`, `per_s`).
pub(crate) fn unit_named(name: &str) -> Option<MetricUnit> {
    Some(match name {
        "nanos" | "ns" => MetricUnit::Nanos,
        "micros" | "us" => MetricUnit::Micros,
        "bytes" => MetricUnit::Bytes,
        "count" => MetricUnit::Count,
        "per_second" | "per_s" => MetricUnit::PerSecond,
        "bytes_per_second" | "bytes_per_s" => MetricUnit::BytesPerSecond,
        "ratio" => MetricUnit::Ratio,
        other => {
            return MetricUnit::from_label(other).or_else(|| {
                serde_json::from_value(serde_json::Value::String(other.to_owned())).ok()
            });
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_values_print_in_their_unit() {
        assert_eq!(metric(250.0, MetricUnit::Micros), "250 µs");
        assert_eq!(unit_named("per_s"), Some(MetricUnit::PerSecond));
        assert_eq!(
            metric(-2_097_152.0, MetricUnit::BytesPerMinute),
            "-2.0 MiB/min"
        );
        assert_eq!(unit_named("ns_per_min"), Some(MetricUnit::NanosPerMinute));
        for unit in crate::metrics::unit::METRIC_UNITS {
            let json = serde_json::to_value(unit).expect("a unit serializes");
            let name = json.as_str().expect("as a string");
            assert_eq!(unit_named(name), Some(*unit), "{name}");
            assert_eq!(unit_named(unit.label()), Some(*unit), "{name}");
        }
    }
}
