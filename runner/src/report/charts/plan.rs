//! Which charts a [`RunReport`] gets, what each is called on disk, and
//! the figure each draws — every chart overlaying all targets:
//!
//! - **latency spectrum** per measured phase and actor: latency by
//!   percentile on a log axis (x = -log10(1 - q): 0, 90, 99, 99.9,
//!   99.99 %), from each target's HDR histogram; an open-loop actor's
//!   service time dashed beside its latency;
//! - **timeline** per phase and actor: throughput and p99 over time, from
//!   per-interval data ([`actor_timeline`] is the one place that reads it
//!   out of the report);
//! - **matrix sweep** per phase and actor when the scenario has a matrix:
//!   the swept value on x, throughput and p99 on y;
//! - **process** per phase whose RSS trend is judged: loadline's RSS over
//!   time with the per-window minima `rss.slope` fits (see `process`).
//!
//! An assertion on a charted metric (`write.append.p99 < 10ms`,
//! `…records_per_s >= 100k`) is drawn as a threshold line. This module
//! picks and shapes data; drawing is `plot`'s.

use std::collections::HashSet;

use super::plot::{Figure, Line, Panel, Threshold, XAxis, YAxis};
use crate::metrics::actor_metric;
use crate::metrics::recorder;
use crate::metrics::report::{ActorReport, Latency, PhaseReport, RunReport, VariantReport};
use crate::report::format;

/// At most this many charts per report: a scenario of thousands of phases
/// would otherwise write thousands of SVGs with every generation. The
/// report says how many were left out.
pub(crate) const MAX_CHARTS: usize = 64;

/// One chart of a report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ChartSpec {
    /// File name, beside `report.md`.
    pub file: String,
    /// What it shows (the image's alt text).
    pub title: String,
    /// Variant index (0 without a matrix; 0 for sweeps, which span all).
    pub variant: usize,
    /// The measured phase it belongs to.
    pub phase: String,
    /// Which chart.
    pub kind: ChartKind,
}

/// The kinds of chart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ChartKind {
    /// Latency by percentile of one actor.
    Spectrum {
        /// Actor name.
        actor: String,
    },
    /// Throughput and p99 over time of one actor.
    Timeline {
        /// Actor name.
        actor: String,
    },
    /// Throughput and p99 of one actor across the matrix's swept values.
    Sweep {
        /// Actor name.
        actor: String,
    },
    /// loadline's RSS over one phase, with the trend `process.rss.slope`
    /// judges (see `process`).
    Process,
}

/// The charts of `report`, and how many phase and actor pairs got none
/// because the report already had [`MAX_CHARTS`] (sweeps first, then each
/// pair's charts, all or none).
pub(crate) fn plan(report: &RunReport) -> (Vec<ChartSpec>, usize) {
    // From the settings, not the number of variants so far: a report
    // written after the first variant's phases must name files as the
    // final one does, or the first generation's files would be left over.
    let matrix =
        report.variants.len() > 1 || report.variants.iter().any(|v| !v.settings.is_empty());
    let mut all = Vec::new();
    let mut skipped = 0;
    let mut full = false;
    let mut used = HashSet::new();
    let mut name = |parts: &[&str]| unique_name(parts, &mut used);
    if matrix && report.variants.iter().any(|v| !v.settings.is_empty()) {
        for (phase, actor) in phase_actors(report.variants.iter()) {
            all.push(ChartSpec {
                file: name(&["sweep", &phase, &actor]),
                title: format!("{phase} · {actor}: throughput and p99 across the matrix"),
                variant: 0,
                phase,
                kind: ChartKind::Sweep { actor },
            });
        }
    }
    for (vi, v) in report.variants.iter().enumerate() {
        let prefix = if matrix {
            format!("v{}", vi + 1)
        } else {
            String::new()
        };
        for (phase, actor) in phase_actors(std::iter::once(v)) {
            if full {
                // Counted, not looked at: finding an actor's runs scans
                // the phases, which over thousands of phases is quadratic.
                skipped += 1;
                continue;
            }
            let runs = actor_runs(v, &phase, &actor);
            let mut charts = Vec::new();
            if runs.iter().any(|(_, a)| a.count > 0) {
                charts.push(ChartSpec {
                    file: name(&["latency", &prefix, &phase, &actor]),
                    title: format!("{phase} · {actor}: latency by percentile"),
                    variant: vi,
                    phase: phase.clone(),
                    kind: ChartKind::Spectrum {
                        actor: actor.clone(),
                    },
                });
            }
            if runs.iter().any(|(_, a)| actor_timeline(a).is_some()) {
                charts.push(ChartSpec {
                    file: name(&["timeline", &prefix, &phase, &actor]),
                    title: format!("{phase} · {actor}: throughput and p99 over time"),
                    variant: vi,
                    phase,
                    kind: ChartKind::Timeline { actor },
                });
            }
            // A phase and actor gets all its charts or none; once one does
            // not fit, no later one is looked at.
            if all.len() + charts.len() > MAX_CHARTS {
                full = true;
                skipped += 1;
                continue;
            }
            all.extend(charts);
        }
        for phase in measured_phases(v) {
            if !super::process::charted(v, &phase) {
                continue;
            }
            if full || all.len() >= MAX_CHARTS {
                skipped += 1;
                continue;
            }
            all.push(ChartSpec {
                file: name(&["process", &prefix, &phase]),
                title: format!("{phase} · process: RSS over time"),
                variant: vi,
                phase,
                kind: ChartKind::Process,
            });
        }
    }
    let omitted = skipped;
    (all, omitted)
}

/// `latency-write-append.svg`: the parts joined by `-`, each reduced to
/// `[A-Za-z0-9_.]`, made unique with a counter.
fn unique_name(parts: &[&str], used: &mut HashSet<String>) -> String {
    let clean: Vec<String> = parts
        .iter()
        .filter(|p| !p.is_empty())
        .map(|p| {
            p.chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '_' || c == '.' {
                        c
                    } else {
                        '_'
                    }
                })
                .collect()
        })
        .collect();
    let base = clean.join("-");
    let mut file = format!("{base}.svg");
    let mut n = 2;
    while !used.insert(file.clone()) {
        file = format!("{base}-{n}.svg");
        n += 1;
    }
    file
}

/// (phase, actor) of every measured phase in first-seen order over the
/// variants' targets.
fn phase_actors<'a>(variants: impl Iterator<Item = &'a VariantReport>) -> Vec<(String, String)> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for v in variants {
        for t in &v.targets {
            for p in t.phases.iter().filter(|p| !p.warmup) {
                for a in &p.actors {
                    if seen.insert((p.name.as_str(), a.name.as_str())) {
                        out.push((p.name.clone(), a.name.clone()));
                    }
                }
            }
        }
    }
    out
}

/// Every measured phase of `v`, in first-seen order over its targets.
fn measured_phases(v: &VariantReport) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for p in v
        .targets
        .iter()
        .flat_map(|t| &t.phases)
        .filter(|p| !p.warmup)
    {
        if !out.contains(&p.name) {
            out.push(p.name.clone());
        }
    }
    out
}

fn measured<'a>(phases: &'a [PhaseReport], name: &str) -> Option<&'a PhaseReport> {
    phases.iter().find(|p| !p.warmup && p.name == name)
}

/// (target index, actor) on every target of `v` that ran `phase`/`actor`.
fn actor_runs<'a>(v: &'a VariantReport, phase: &str, actor: &str) -> Vec<(usize, &'a ActorReport)> {
    v.targets
        .iter()
        .enumerate()
        .filter_map(|(i, t)| {
            measured(&t.phases, phase)?
                .actors
                .iter()
                .find(|a| a.name == actor)
                .map(|a| (i, a))
        })
        .collect()
}

/// One interval of an actor's timeline.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct IntervalPoint {
    /// Start of the interval, seconds from the phase start (`t_s` of
    /// `timeline.csv`).
    pub t_s: f64,
    /// Length of the interval, seconds.
    pub duration_s: f64,
    /// Records per second over the interval's real length.
    pub records_per_s: f64,
    /// Operations per second over the interval's real length (what a
    /// trimmer's panel draws: it moves no records).
    pub ops_per_s: f64,
    /// p99 latency over the interval, ns; NaN when no operation completed.
    pub p99_ns: f64,
}

/// The per-interval series of `actor` from its `timeline` (see
/// [`IntervalReport`](crate::metrics::report::IntervalReport)); `None` when
/// it has none (warmup, crash phases, reports written before timelines).
/// Rates are over each interval's real length. A last interval shorter
/// than half the others (the moments the phase took to stop, often a
/// fraction of a millisecond without a completed operation) is left out:
/// a rate over so short a span says nothing about the workload, and drawn
/// it looked like a stall (its counts stay in `timeline.csv`). An interval
/// in which no op completed has no p99 (NaN): the latency line breaks
/// there rather than dropping to the axis floor.
pub(crate) fn actor_timeline(actor: &ActorReport) -> Option<Vec<IntervalPoint>> {
    let full = actor
        .timeline
        .iter()
        .map(|i| i.duration_s)
        .fold(0.0f64, f64::max);
    let mut points: Vec<IntervalPoint> = actor
        .timeline
        .iter()
        .map(|i| IntervalPoint {
            t_s: i.t_s,
            duration_s: i.duration_s,
            records_per_s: if i.duration_s > 0.0 {
                i.records as f64 / i.duration_s
            } else {
                f64::NAN
            },
            ops_per_s: if i.duration_s > 0.0 {
                i.ops as f64 / i.duration_s
            } else {
                f64::NAN
            },
            p99_ns: if i.ops > 0 { i.p99_ns as f64 } else { f64::NAN },
        })
        .collect();
    if points.len() > 1 && points.last().is_some_and(|p| p.duration_s < full / 2.0) {
        points.pop();
    }
    (!points.is_empty()).then_some(points)
}

/// The metric an assertion is about: the text before its operator.
fn assertion_metric(text: &str) -> &str {
    text.find(['<', '>', '=', '!'])
        .map_or(text, |i| &text[..i])
        .trim()
}

/// Where on the percentile axis a latency statistic sits.
fn percentile_x(stat: &str) -> Option<Option<f64>> {
    Some(match stat {
        "p50" => Some(2f64.log10()),
        "p90" => Some(1.0),
        "p99" => Some(2.0),
        "p999" => Some(3.0),
        "p9999" | "max" => Some(4.0),
        "mean" => None,
        _ => return None,
    })
}

/// Thresholds of the assertions of `variants` on `phase.actor.<stat>`
/// for each `stat` that `accept` maps to an x position.
fn thresholds<'a>(
    variants: impl Iterator<Item = &'a VariantReport>,
    phase: &str,
    actor: &str,
    accept: impl Fn(&str) -> Option<Option<f64>>,
) -> Vec<Threshold> {
    let prefix = format!("{phase}.{actor}.");
    let mut out: Vec<Threshold> = Vec::new();
    for r in variants.flat_map(|v| &v.assertions) {
        let Some(stat) = assertion_metric(&r.assertion).strip_prefix(&prefix) else {
            continue;
        };
        let Some(at_x) = accept(stat) else { continue };
        if !r.threshold.is_finite()
            || out
                .iter()
                .any(|t| t.value == r.threshold && t.label.starts_with(&r.assertion))
        {
            continue;
        }
        let label = if out.iter().any(|t| t.label == r.assertion) {
            // Same assertion, another threshold (a relational one): say whose.
            format!("{} ({})", r.assertion, r.target)
        } else {
            r.assertion.clone()
        };
        out.push(Threshold {
            label,
            value: r.threshold,
            at_x,
        });
    }
    out
}

/// Quantile positions of the spectrum: x = -log10(1 - q) from 0 to 4 in
/// steps of 0.05.
fn spectrum_xs() -> impl Iterator<Item = f64> {
    (0..=80).map(|i| f64::from(i) * 0.05)
}

/// The largest percentile position `count` operations support: x =
/// log10(n), the percentile 1 − 1/n (7 operations: 85.7 %, not 99.99 %);
/// beyond it a line would only repeat the maximum.
fn supported_x(count: u64) -> f64 {
    if count == 0 {
        0.0
    } else {
        (count as f64).log10()
    }
}

/// Latency by percentile from an encoded HDR histogram, or — when it does
/// not decode or is empty — the report's own percentiles; only as far as
/// the count of operations supports (see [`supported_x`]), so a phase of
/// 7 operations does not draw a distribution to 99.99 %.
fn spectrum(histogram: Option<&str>, latency: &Latency, count: u64) -> Vec<(f64, f64)> {
    if let Some(h) = histogram
        .and_then(recorder::decode)
        .filter(|h| !h.is_empty())
    {
        let top = supported_x(h.len());
        let mut points: Vec<(f64, f64)> = spectrum_xs()
            .take_while(|x| *x <= top + 1e-9)
            .map(|x| {
                let q = 1.0 - 10f64.powf(-x);
                (x, h.value_at_quantile(q) as f64)
            })
            .collect();
        // End exactly at the last supported percentile (the maximum).
        if points.last().is_some_and(|(x, _)| top - x > 1e-9) {
            points.push((top, h.max() as f64));
        }
        return points;
    }
    let top = supported_x(count);
    [
        (2f64.log10(), latency.p50_ns),
        (1.0, latency.p90_ns),
        (2.0, latency.p99_ns),
        (3.0, latency.p999_ns),
        (4.0, latency.p9999_ns),
    ]
    .into_iter()
    .filter(|(x, v)| *v > 0 && *x <= top + 1e-9)
    .map(|(x, v)| (x, v as f64))
    .collect()
}

/// The figure of `spec` in `report`.
pub(crate) fn figure(report: &RunReport, spec: &ChartSpec) -> Figure {
    match &spec.kind {
        ChartKind::Spectrum { actor } => spectrum_figure(report, spec, actor),
        ChartKind::Timeline { actor } => {
            let v = &report.variants[spec.variant.min(report.variants.len().saturating_sub(1))];
            let series: Vec<(String, usize, Vec<IntervalPoint>)> =
                actor_runs(v, &spec.phase, actor)
                    .into_iter()
                    .filter_map(|(i, a)| Some((v.targets[i].name.clone(), i, actor_timeline(a)?)))
                    .collect();
            let mut figure = timeline_figure(
                &spec.title,
                &series,
                thresholds(std::iter::once(v), &spec.phase, actor, rate_stat),
                thresholds(std::iter::once(v), &spec.phase, actor, p99_stat),
            );
            let runs: Vec<_> = actor_runs(v, &spec.phase, actor)
                .into_iter()
                .map(|(i, a)| (i, v.targets[i].name.clone(), a))
                .collect();
            let asserted: Vec<&str> = v
                .assertions
                .iter()
                .map(|r| assertion_metric(&r.assertion))
                .collect();
            super::trend_line::overlay(&mut figure, &runs, &spec.phase, &asserted);
            figure
        }
        ChartKind::Process => match report.variants.get(spec.variant) {
            Some(v) => super::process::figure(v, &spec.phase, &spec.title),
            None => empty(&spec.title),
        },
        ChartKind::Sweep { actor } => super::sweep::sweep_figure(
            report,
            spec,
            |v| actor_runs(v, &spec.phase, actor),
            [
                thresholds(report.variants.iter(), &spec.phase, actor, rate_stat),
                thresholds(report.variants.iter(), &spec.phase, actor, p99_stat),
            ],
        ),
    }
}

fn rate_stat(stat: &str) -> Option<Option<f64>> {
    (stat == const { actor_metric::named("records_per_s").name }).then_some(None)
}

fn p99_stat(stat: &str) -> Option<Option<f64>> {
    (stat == const { actor_metric::named("p99").name }).then_some(None)
}

fn spectrum_figure(report: &RunReport, spec: &ChartSpec, actor: &str) -> Figure {
    let Some(v) = report.variants.get(spec.variant) else {
        return empty(&spec.title);
    };
    let mut lines = Vec::new();
    let mut open_loop = false;
    for (i, a) in actor_runs(v, &spec.phase, actor) {
        let target = &v.targets[i].name;
        // The count beside the name: how far the line can reach.
        lines.push(Line {
            label: format!("{target} (n = {})", format::count(a.count as f64)),
            color: i,
            dashed: false,
            points: spectrum(Some(&a.histogram), &a.latency, a.count),
        });
        if let Some(service) = &a.service {
            open_loop = true;
            lines.push(Line {
                label: format!("{target} · service time"),
                color: i,
                dashed: true,
                points: spectrum(a.service_histogram.as_deref(), service, a.count),
            });
        }
    }
    let accept = |stat: &str| percentile_x(stat.strip_prefix("service.").unwrap_or(stat));
    Figure {
        title: spec.title.clone(),
        x: XAxis::Percentile,
        x_label: "percentile (spaced by 1/(1 − q), as HdrHistogram plots)".to_owned(),
        panels: vec![Panel {
            title: if open_loop {
                "latency from the intended start; dashed: service time (log scale)".to_owned()
            } else {
                "latency (log scale)".to_owned()
            },
            y: YAxis::LatencyLog,
            lines,
            thresholds: thresholds(std::iter::once(v), &spec.phase, actor, accept),
        }],
    }
}

fn empty(title: &str) -> Figure {
    Figure {
        title: title.to_owned(),
        x: XAxis::Seconds,
        x_label: String::new(),
        panels: Vec::new(),
    }
}

/// Throughput (top) and p99 (bottom) over time, one line per target:
/// `series` is (target, colour index, intervals). Each interval is drawn
/// as a step over its length, starting at its `t_s` as in `timeline.csv`
/// (a phase of one interval is a segment, not a dot); an interval without
/// a value breaks its line. An actor that moves no records on any target
/// (a trimmer) gets operations per second on top instead of a flat zero.
pub(crate) fn timeline_figure(
    title: &str,
    series: &[(String, usize, Vec<IntervalPoint>)],
    rate_thresholds: Vec<Threshold>,
    p99_thresholds: Vec<Threshold>,
) -> Figure {
    let lines = |f: fn(&IntervalPoint) -> f64| {
        series
            .iter()
            .map(|(target, color, points)| Line {
                label: target.clone(),
                color: *color,
                dashed: false,
                points: points
                    .iter()
                    .flat_map(|p| {
                        let y = f(p);
                        let end = p.t_s + p.duration_s;
                        if y.is_finite() {
                            vec![(p.t_s, y), (end, y)]
                        } else {
                            vec![(p.t_s, f64::NAN)]
                        }
                    })
                    .collect(),
            })
            .collect()
    };
    let moves_records = series
        .iter()
        .flat_map(|(_, _, points)| points)
        .any(|p| p.records_per_s > 0.0);
    let (rate_title, rate): (&str, fn(&IntervalPoint) -> f64) = if moves_records {
        ("records per second", |p| p.records_per_s)
    } else {
        ("operations per second (no records moved)", |p| p.ops_per_s)
    };
    Figure {
        title: title.to_owned(),
        x: XAxis::Seconds,
        x_label: "seconds since the phase started (each interval a step over its length)"
            .to_owned(),
        panels: vec![
            Panel {
                title: rate_title.to_owned(),
                y: YAxis::Rate,
                lines: lines(rate),
                thresholds: rate_thresholds,
            },
            Panel {
                title: "p99 latency per interval (log scale)".to_owned(),
                y: YAxis::LatencyLog,
                lines: lines(|p| p.p99_ns),
                thresholds: p99_thresholds,
            },
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::charts::plot;
    use crate::report::fixture::run_report;

    #[test]
    fn one_spectrum_per_measured_phase_and_actor_and_a_sweep_per_matrix() {
        let (specs, omitted) = plan(&run_report(1));
        let files: Vec<&str> = specs.iter().map(|s| s.file.as_str()).collect();
        assert_eq!(omitted, 0);
        assert_eq!(
            files,
            [
                "latency-write-append.svg",
                "timeline-write-append.svg",
                "latency-mixed-writer.svg"
            ]
        );
        let (specs, _) = plan(&run_report(2));
        let files: Vec<&str> = specs.iter().map(|s| s.file.as_str()).collect();
        assert!(files.contains(&"sweep-write-append.svg"), "{files:?}");
        assert!(files.contains(&"latency-v2-write-append.svg"), "{files:?}");
    }

    #[test]
    fn file_names_do_not_change_as_matrix_variants_finish() {
        let mut report = run_report(2);
        let all: Vec<String> = plan(&report).0.into_iter().map(|s| s.file).collect();
        report.variants.truncate(1);
        let first: Vec<String> = plan(&report).0.into_iter().map(|s| s.file).collect();
        assert!(first.iter().all(|f| all.contains(f)), "{first:?} ⊄ {all:?}");
        assert!(
            first.contains(&"latency-v1-write-append.svg".to_owned()),
            "{first:?}"
        );
    }

    #[test]
    fn a_report_of_many_phases_draws_the_first_charts_and_counts_the_rest() {
        let mut report = run_report(1);
        for t in &mut report.variants[0].targets {
            let write = t.phases[1].clone();
            for i in 0..100 {
                let mut p = write.clone();
                p.name = format!("p{i}");
                t.phases.push(p);
            }
        }
        let (specs, omitted) = plan(&report);
        assert_eq!(specs.len(), MAX_CHARTS - 1);
        // The write phase and its copies have a spectrum and a timeline
        // each, the mixed phase a spectrum: 2 + 1 + 30 × 2 = 63, and the
        // 31st copy's two would make 65 > 64, so it is left out whole, and
        // with it every later pair.
        assert_eq!(
            specs
                .iter()
                .filter(|s| matches!(s.kind, ChartKind::Timeline { .. }))
                .count(),
            31
        );
        assert_eq!(
            omitted,
            102 - 32,
            "two phases and a hundred more, one actor each: 32 pairs drawn"
        );
        let md = crate::report::markdown::MarkdownTemplate::builtin()
            .expect("template")
            .render(&report, std::path::Path::new("report.md"))
            .expect("renders");
        assert!(
            md.contains(
                "70 more phase and actor pairs have no charts: a report draws at most 64 charts."
            ),
            "{md}"
        );
    }

    #[test]
    fn file_names_are_safe_and_unique() {
        let mut used = HashSet::new();
        assert_eq!(
            unique_name(&["latency", "", "a/b", "x y"], &mut used),
            "latency-a_b-x_y.svg"
        );
        assert_eq!(
            unique_name(&["latency", "a b", "x/y"], &mut used),
            "latency-a_b-x_y-2.svg"
        );
    }

    #[test]
    fn spectrum_reads_the_hdr_histogram_at_log_spaced_quantiles() {
        let mut h = hdrhistogram::Histogram::<u64>::new(3).expect("histogram");
        for v in 1..=10_000u64 {
            h.record(v * 1_000).expect("records");
        }
        let points = spectrum(Some(&recorder::encode(&h)), &Latency::default(), 10_000);
        assert_eq!(points.len(), 81);
        let at = |x: f64| {
            points
                .iter()
                .find(|p| (p.0 - x).abs() < 1e-9)
                .expect("point")
                .1
        };
        // q = 0.99 at x = 2: the 9,900th of 10,000 values, 9.9 ms (3 digits).
        assert!(
            (at(2.0) - 9_900_000.0).abs() / 9_900_000.0 < 0.002,
            "{}",
            at(2.0)
        );
        assert!(
            (at(1.0) - 9_000_000.0).abs() / 9_000_000.0 < 0.002,
            "{}",
            at(1.0)
        );
        assert!(
            points.windows(2).all(|w| w[0].1 <= w[1].1),
            "non-decreasing"
        );
        // Without a histogram: the report's percentiles at their positions.
        let lat = Latency {
            p50_ns: 10,
            p90_ns: 20,
            p99_ns: 30,
            p999_ns: 40,
            p9999_ns: 50,
            ..Latency::default()
        };
        assert_eq!(spectrum(Some("not base64"), &lat, 10_000).len(), 5);
        assert_eq!(
            spectrum(Some("not base64"), &lat, 150).len(),
            3,
            "p50, p90, p99 of 150 operations; not p99.9"
        );
    }

    /// Regression: an actor with 7 operations drew a distribution to
    /// 99.99 %; a line now ends at the percentile its count supports.
    #[test]
    fn a_spectrum_reaches_only_as_far_as_its_count_supports() {
        let mut h = hdrhistogram::Histogram::<u64>::new(3).expect("histogram");
        for v in 1..=7u64 {
            h.record(v * 1_000).expect("records");
        }
        let points = spectrum(Some(&recorder::encode(&h)), &Latency::default(), 7);
        let last = *points.last().expect("points");
        assert!((last.0 - 7f64.log10()).abs() < 1e-9, "{points:?}");
        assert!(points.iter().all(|p| p.0 <= 7f64.log10() + 1e-9));
        assert_eq!(last.1, h.max() as f64);
    }

    #[test]
    fn assertions_on_charted_metrics_become_thresholds() {
        let report = run_report(1);
        let specs = plan(&report).0;
        let fig = figure(&report, &specs[0]);
        let t = &fig.panels[0].thresholds;
        assert_eq!(t.len(), 1, "{t:?}");
        assert_eq!(t[0].label, "write.append.p99 < 10ms");
        assert_eq!(t[0].value, 10_000_000.0);
        assert_eq!(t[0].at_x, Some(2.0));
        assert_eq!(fig.panels[0].lines.len(), 2, "one line per target");
        let mixed = specs
            .iter()
            .find(|s| s.phase == "mixed" && matches!(s.kind, ChartKind::Spectrum { .. }))
            .map(|s| figure(&report, s))
            .expect("the mixed phase's spectrum");
        assert!(
            mixed.panels[0]
                .lines
                .iter()
                .any(|l| l.dashed && l.label.ends_with("service time")),
            "open-loop service time is dashed: {:?}",
            mixed.panels[0].lines
        );
    }

    #[test]
    fn the_timeline_chart_draws_synthetic_series() {
        let series: Vec<(String, usize, Vec<IntervalPoint>)> = ["wal", "rocksdb"]
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let points = (1..=12)
                    .map(|s| IntervalPoint {
                        t_s: f64::from(s - 1) * 0.25,
                        duration_s: 0.25,
                        records_per_s: 100_000.0 * (i + 1) as f64 + f64::from(s) * 1_000.0,
                        ops_per_s: 10_000.0 * (i + 1) as f64,
                        p99_ns: 50_000.0 * f64::from(s),
                    })
                    .collect();
                ((*t).to_owned(), i, points)
            })
            .collect();
        let fig = timeline_figure(
            "mixed · writer: throughput and p99 over time",
            &series,
            vec![Threshold {
                label: "mixed.writer.records_per_s >= 100k".into(),
                value: 100_000.0,
                at_x: None,
            }],
            Vec::new(),
        );
        assert_eq!(fig.panels.len(), 2);
        // Steps: each interval from its start (timeline.csv's t_s) to its end.
        assert_eq!(fig.panels[0].lines[1].points[0], (0.0, 201_000.0));
        assert_eq!(fig.panels[0].lines[1].points[1], (0.25, 201_000.0));
        assert_eq!(fig.panels[1].lines[0].points[23], (3.0, 600_000.0));
        let svg = plot::render(&fig).expect("renders");
        assert!(
            svg.contains("records per second") && svg.contains("3 s"),
            "{svg}"
        );
        assert!(svg.contains("mixed.writer.records_per_s &gt;= 100k"));
    }

    /// Regression: the last interval of every phase (0.3 ms, no op) was
    /// drawn as 0 records/s, every line plunging at the right edge; points
    /// sat at interval ends while `timeline.csv` gives starts; an interval
    /// without operations had a p99 of 0.
    #[test]
    fn the_timeline_starts_intervals_at_t_s_and_leaves_out_a_stub_and_empty_p99s() {
        use crate::metrics::report::IntervalReport;
        let interval = |t_s: f64, duration_s: f64, ops: u64| IntervalReport {
            t_s,
            duration_s,
            ops,
            records: ops * 10,
            p99_ns: if ops > 0 { 5_000 } else { 0 },
            ..IntervalReport::default()
        };
        let mut a = run_report(1).variants[0].targets[0].phases[1].actors[0].clone();
        a.timeline = vec![
            interval(0.0, 1.0, 100),
            interval(1.0, 1.0, 0),
            interval(2.0, 1.0, 50),
            interval(3.0, 0.0003, 0),
        ];
        let points = actor_timeline(&a).expect("a timeline");
        assert_eq!(points.len(), 3, "the 0.3 ms stub is left out");
        assert_eq!(
            points.iter().map(|p| p.t_s).collect::<Vec<_>>(),
            [0.0, 1.0, 2.0],
            "at the starts timeline.csv gives"
        );
        assert_eq!(points[1].records_per_s, 0.0, "a real stall stays a zero");
        assert!(points[1].p99_ns.is_nan(), "no operation, no p99");
        // A last interval of more than half the length is a real one.
        a.timeline[3] = interval(3.0, 0.6, 30);
        let points = actor_timeline(&a).expect("a timeline");
        assert_eq!(points.len(), 4);
        assert!(
            (points[3].records_per_s - 500.0).abs() < 1e-9,
            "over its 0.6 s"
        );
        // Drawn: the p99 line breaks at the empty interval.
        let fig = timeline_figure("t", &[("mem".into(), 0, points)], vec![], vec![]);
        let p99 = &fig.panels[1].lines[0].points;
        assert_eq!(p99[..2], [(0.0, 5_000.0), (1.0, 5_000.0)]);
        assert!(p99[2].1.is_nan() && p99[2].0 == 1.0, "{p99:?}");
    }

    /// Regression: a trimmer's timeline drew "records per second" as a flat
    /// zero (it moves no records) where its table says `–`.
    #[test]
    fn an_actor_that_moves_no_records_charts_operations_per_second() {
        use crate::metrics::report::IntervalReport;
        let mut a = run_report(1).variants[0].targets[0].phases[1].actors[0].clone();
        a.timeline = vec![
            IntervalReport {
                t_s: 0.0,
                duration_s: 1.0,
                ops: 4,
                p99_ns: 5_000,
                ..IntervalReport::default()
            },
            IntervalReport {
                t_s: 1.0,
                duration_s: 1.0,
                ops: 3,
                p99_ns: 5_000,
                ..IntervalReport::default()
            },
        ];
        let points = actor_timeline(&a).expect("a timeline");
        let fig = timeline_figure("t", &[("mem".into(), 0, points.clone())], vec![], vec![]);
        assert_eq!(
            fig.panels[0].title,
            "operations per second (no records moved)"
        );
        assert_eq!(fig.panels[0].lines[0].points[..2], [(0.0, 4.0), (1.0, 4.0)]);
        // One target moving records keeps the records panel for all.
        let mut writer = points;
        writer[0].records_per_s = 10.0;
        let fig = timeline_figure("t", &[("mem".into(), 0, writer)], vec![], vec![]);
        assert_eq!(fig.panels[0].title, "records per second");
    }

    #[test]
    fn the_sweep_puts_the_swept_value_on_x() {
        let report = run_report(2);
        let (specs, _) = plan(&report);
        let sweep = specs
            .iter()
            .find(|s| matches!(s.kind, ChartKind::Sweep { .. }))
            .expect("a sweep");
        let fig = figure(&report, sweep);
        let XAxis::Categories(c) = &fig.x else {
            panic!("categories: {:?}", fig.x)
        };
        assert_eq!(c.len(), 2, "{c:?}");
        assert_eq!(fig.panels[0].lines.len(), 2, "one line per target");
        assert!(fig.panels[0].lines.iter().all(|l| l.points.len() == 2));
        assert_eq!(
            fig.panels[0].y,
            YAxis::Rate,
            "the fixture spans less than 30×"
        );
    }

    #[test]
    fn every_planned_chart_renders() {
        for variants in [1, 2] {
            let report = run_report(variants);
            for spec in plan(&report).0 {
                let svg = plot::render(&figure(&report, &spec)).expect("renders");
                assert!(
                    svg.contains(&spec.title.replace('<', "&lt;")),
                    "{}",
                    spec.file
                );
            }
        }
    }
}
