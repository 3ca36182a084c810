//! The matrix sweep chart of a phase and actor: the first matrix
//! dimension on x (as categories), one line per target and combination of
//! the other dimensions, throughput above and p99 below. Shaping only, as
//! the rest of `plan`; drawing is `plot`'s.

use super::plot::{Figure, Line, Panel, Threshold, XAxis, YAxis};
use crate::metrics::report::{ActorReport, RunReport, VariantReport};

use super::ChartSpec;

/// A matrix value as an axis label: strings bare, others as JSON.
fn setting_label(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// One line pair of a sweep: a target (and the other dimensions' values).
struct SweepSeries {
    label: String,
    rate: Vec<(f64, f64)>,
    p99: Vec<(f64, f64)>,
}

/// The sweep of `spec`: `runs` gives a variant's runs of the actor (target
/// index, report), `thresholds` the assertions' lines for the throughput
/// and the p99 panel.
pub(super) fn sweep_figure<'a>(
    report: &'a RunReport,
    spec: &ChartSpec,
    runs: impl Fn(&'a VariantReport) -> Vec<(usize, &'a ActorReport)>,
    [rate_thresholds, p99_thresholds]: [Vec<Threshold>; 2],
) -> Figure {
    // x: the first matrix dimension; one line per target and combination
    // of the other dimensions.
    let key = report
        .variants
        .iter()
        .find_map(|v| v.settings.first().map(|(k, _)| k.clone()))
        .unwrap_or_default();
    let mut categories: Vec<String> = Vec::new();
    let mut series: Vec<SweepSeries> = Vec::new();
    for v in &report.variants {
        let Some(x_value) = v
            .settings
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, x)| setting_label(x))
        else {
            continue;
        };
        let x = match categories.iter().position(|c| *c == x_value) {
            Some(i) => i,
            None => {
                categories.push(x_value);
                categories.len() - 1
            }
        } as f64;
        let rest: Vec<String> = v
            .settings
            .iter()
            .filter(|(k, _)| *k != key)
            .map(|(k, x)| format!("{}={}", short_key(k), setting_label(x)))
            .collect();
        for (i, a) in runs(v) {
            let target = &v.targets[i].name;
            let label = if rest.is_empty() {
                target.clone()
            } else {
                format!("{target} · {}", rest.join(", "))
            };
            let at = match series.iter().position(|s| s.label == label) {
                Some(p) => p,
                None => {
                    series.push(SweepSeries {
                        label,
                        rate: Vec::new(),
                        p99: Vec::new(),
                    });
                    series.len() - 1
                }
            };
            series[at].rate.push((x, a.records_per_s));
            series[at].p99.push((x, a.latency.p99_ns as f64));
        }
    }
    let lines = |which: fn(&SweepSeries) -> &Vec<(f64, f64)>| {
        series
            .iter()
            .enumerate()
            .map(|(i, s)| Line {
                label: s.label.clone(),
                color: i,
                dashed: false,
                points: which(s).clone(),
            })
            .collect::<Vec<_>>()
    };
    let rate_lines = lines(|s| &s.rate);
    let (rate_axis, rate_title) = rate_axis(&rate_lines);
    Figure {
        title: spec.title.clone(),
        x: XAxis::Categories(categories),
        x_label: format!("matrix: {key}"),
        panels: vec![
            Panel {
                title: rate_title.to_owned(),
                y: rate_axis,
                lines: rate_lines,
                thresholds: rate_thresholds,
            },
            Panel {
                title: "p99 latency (log scale)".to_owned(),
                y: YAxis::LatencyLog,
                lines: lines(|s| &s.p99),
                thresholds: p99_thresholds,
            },
        ],
    }
}

/// The last part of a matrix key (`phases.write.actors.0.batch` → `batch`).
fn short_key(key: &str) -> &str {
    key.rsplit('.').next().unwrap_or(key)
}

/// A linear throughput axis, or a logarithmic one when the values span
/// 30× or more (a matrix over sizes or batches: a linear axis would
/// flatten the slow variants to zero).
fn rate_axis(lines: &[Line]) -> (YAxis, &'static str) {
    let values = lines.iter().flat_map(|l| l.points.iter().map(|p| p.1));
    let (lo, hi) = values
        .filter(|v| *v > 0.0 && v.is_finite())
        .fold((f64::MAX, 0.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if hi > 0.0 && hi / lo >= 30.0 {
        (YAxis::RateLog, "records per second (log scale)")
    } else {
        (YAxis::Rate, "records per second")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throughput_across_orders_of_magnitude_gets_a_log_axis() {
        let line = |points: Vec<(f64, f64)>| Line {
            label: "t".into(),
            color: 0,
            dashed: false,
            points,
        };
        assert_eq!(
            rate_axis(&[line(vec![(0.0, 6.8e6)]), line(vec![(0.0, 40e3)])]).0,
            YAxis::RateLog
        );
        assert_eq!(
            rate_axis(&[line(vec![(0.0, 1e6), (1.0, 5e5)])]).0,
            YAxis::Rate
        );
        assert_eq!(rate_axis(&[]).0, YAxis::Rate);
    }
}
