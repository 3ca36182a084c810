//! `timeline.csv` and the `.hlog` interval logs: what happened *during*
//! each measured phase, interval by interval.
//!
//! `timeline.csv` is long format like `results.csv` — `run_id, variant,
//! target, phase, actor, t_s, metric, value, unit` — with `t_s` the interval's
//! start in seconds from the phase start. Per actor and interval:
//! `records`, `bytes`, `ops`, `errors` (counts in the interval),
//! `records_per_s`, `duration` (the interval's length, ns) and latency
//! `p50`, `p99`, `max` (ns; empty for an interval without operations). Per phase and interval, actor `store`: each
//! store statistic (a counter's change over the interval, a level's value
//! at its end); actor `process`: CPU user/sys (ns in the interval),
//! `cpu_utilisation`, `rss` and jemalloc's figures at its end.
//!
//! One HdrHistogram interval log per actor and phase,
//! `<target>.<phase>.<actor>.hlog` (`<variant>.` first with a matrix), in
//! the standard format (version 1.3, compressed V2 histograms, max in ms)
//! that HistogramLogAnalyzer and `HistogramLogProcessor` read. Warmup
//! phases are left out, as in `results.csv`. With `--repeat`, both hold
//! round 1 (the folded report keeps the first round's intervals), and each
//! `.hlog` header says so.

use std::path::{Path, PathBuf};

use hdrhistogram::serialization::V2DeflateSerializer;
use hdrhistogram::serialization::interval_log::IntervalLogWriterBuilder;
use serde::Serialize;

use super::csv::Number;
use super::{FileFormat, OutputFile, ReportError};
use crate::engine::file_name_part;
use crate::metrics::catalog::{MetricUnit, PHASE_PROCESS_METRICS};
use crate::metrics::recorder::decode;
use crate::metrics::report::{ActorReport, IntervalReport, PhaseSample, RunReport};

/// The file name of the timeline table.
pub(crate) const TIMELINE_CSV: &str = "timeline.csv";

/// One row of `timeline.csv`.
#[derive(Serialize)]
pub(crate) struct Row<'a> {
    run_id: &'a str,
    variant: &'a str,
    target: &'a str,
    phase: &'a str,
    actor: &'a str,
    t_s: Number,
    metric: &'a str,
    value: Number,
    unit: &'static str,
}

/// A row of (run id, variant, target, phase) `at`.
pub(crate) fn row<'a>(
    at: (&'a str, &'a str, &'a str, &'a str),
    actor: &'a str,
    (t_s, metric, value, unit): (f64, &'a str, f64, MetricUnit),
) -> Row<'a> {
    Row {
        run_id: at.0,
        variant: at.1,
        target: at.2,
        phase: at.3,
        actor,
        t_s: Number(t_s),
        metric,
        value: Number(value),
        unit: unit.label(),
    }
}

/// Every row of `timeline.csv`, in report order.
fn rows(
    report: &RunReport,
    mut push: impl FnMut(Row<'_>) -> Result<(), ReportError>,
) -> Result<(), ReportError> {
    let run_id = report.run_id();
    for v in &report.variants {
        for t in &v.targets {
            for p in t.phases.iter().filter(|p| !p.warmup) {
                let at = (
                    run_id.as_str(),
                    v.label.as_str(),
                    t.name.as_str(),
                    p.name.as_str(),
                );
                for a in &p.actors {
                    for i in &a.timeline {
                        for (metric, value, unit) in interval_metrics(i) {
                            push(row(at, &a.name, (i.t_s, metric, value, unit)))?;
                        }
                    }
                }
                for s in &p.stats.timeline {
                    let unit = |name: &str| t.store_unit(name).unwrap_or(MetricUnit::Count);
                    for (actor, metric, value, unit) in sample_metrics(s, unit) {
                        push(row(at, actor, (s.t_s, metric, value, unit)))?;
                    }
                }
            }
        }
    }
    Ok(())
}

/// The `timeline.csv` metrics of one actor interval: (metric, value, unit).
pub(crate) fn interval_metrics(i: &IntervalReport) -> [(&'static str, f64, MetricUnit); 9] {
    let rate = if i.duration_s > 0.0 {
        i.records as f64 / i.duration_s
    } else {
        0.0
    };
    // No operation, no latency: an empty cell, not 0.
    let latency = |ns: u64| if i.ops > 0 { ns as f64 } else { f64::NAN };
    [
        ("records", i.records as f64, MetricUnit::Count),
        ("bytes", i.bytes as f64, MetricUnit::Bytes),
        ("ops", i.ops as f64, MetricUnit::Count),
        ("errors", i.errors as f64, MetricUnit::Count),
        ("records_per_s", rate, MetricUnit::PerSecond),
        ("duration", (i.duration_s * 1e9).round(), MetricUnit::Nanos),
        ("p50", latency(i.p50_ns), MetricUnit::Nanos),
        ("p99", latency(i.p99_ns), MetricUnit::Nanos),
        ("max", latency(i.max_ns), MetricUnit::Nanos),
    ]
}

/// The `timeline.csv` metrics of one phase sample: (actor `store` or
/// `process`, metric, value, unit); `store_unit` gives a store statistic's unit.
pub(crate) fn sample_metrics(
    s: &PhaseSample,
    store_unit: impl Fn(&str) -> MetricUnit,
) -> Vec<(&'static str, &str, f64, MetricUnit)> {
    let mut out: Vec<_> = s
        .store
        .iter()
        .map(|(name, value)| ("store", name.as_str(), *value, store_unit(name)))
        .collect();
    for (name, unit) in PHASE_PROCESS_METRICS {
        if let Some(value) = s.process.metric(name) {
            out.push(("process", *name, value, *unit));
        }
    }
    out
}

/// The header of `timeline.csv`.
pub(crate) const HEADER: [&str; 9] = [
    "run_id", "variant", "target", "phase", "actor", "t_s", "metric", "value", "unit",
];

/// `timeline.csv` as bytes (`path` names it in errors).
pub(crate) fn timeline_csv(report: &RunReport, path: &Path) -> Result<Vec<u8>, ReportError> {
    let csv_err = |source| ReportError::Csv {
        path: path.to_path_buf(),
        source,
    };
    let mut w = ::csv::Writer::from_writer(Vec::new());
    // The header, also when there is no row.
    w.write_record(HEADER).map_err(csv_err)?;
    let mut w = ::csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(w.into_inner().map_err(|e| csv_err(e.into_error().into()))?);
    rows(report, |r| w.serialize(r).map_err(csv_err))?;
    w.into_inner().map_err(|e| csv_err(e.into_error().into()))
}

/// The `.hlog` file name of an actor in a phase on a target.
pub(crate) fn hlog_name(variant: &str, target: &str, phase: &str, actor: &str) -> String {
    let mut parts = Vec::new();
    if !variant.is_empty() {
        parts.push(file_name_part(variant));
    }
    for p in [target, phase, actor] {
        parts.push(file_name_part(p));
    }
    format!("{}.hlog", parts.join("."))
}

/// One actor's interval log.
pub(crate) fn hlog(
    report: &RunReport,
    labels: (&str, &str, &str),
    actor: &ActorReport,
    path: &Path,
) -> Result<Vec<u8>, ReportError> {
    let io = |source| ReportError::Write {
        op: "write",
        path: path.to_path_buf(),
        source,
    };
    let (variant, target, phase) = labels;
    let rounds = match &report.repeat {
        Some(r) if r.completed > 1 => {
            format!(
                "; round 1 of {} (the other rounds' intervals are not kept)",
                r.completed
            )
        }
        _ => String::new(),
    };
    let mut out = format!(
        "#[Histogram log format version 1.3]\n#[loadline {}: scenario {}, variant {variant:?}, target {target}, phase {phase}, actor {}; latency in ns, timestamps in s from the phase start{rounds}]\n\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\"\n",
        report.loadline_version, report.scenario, actor.name
    )
    .into_bytes();
    let mut body = Vec::new();
    let mut serializer = V2DeflateSerializer::new();
    {
        let mut w = IntervalLogWriterBuilder::new()
            .with_max_value_divisor(1e6)
            .begin_log_with(&mut body, &mut serializer)
            .map_err(io)?;
        for i in &actor.timeline {
            let Some(h) = decode(&i.histogram) else {
                continue;
            };
            w.write_histogram(
                &h,
                std::time::Duration::from_secs_f64(i.t_s),
                std::time::Duration::from_secs_f64(i.duration_s),
                None,
            )
            .map_err(|e| io(std::io::Error::other(format!("{e:?}"))))?;
        }
    }
    out.extend_from_slice(&body);
    Ok(out)
}

/// The timeline outputs of a run directory.
#[derive(Debug)]
pub(crate) struct TimelineOutput {
    dir: PathBuf,
}

impl TimelineOutput {
    /// Writes `timeline.csv` and the `.hlog` files into `dir`.
    pub(crate) fn new(dir: &Path) -> Self {
        TimelineOutput {
            dir: dir.to_path_buf(),
        }
    }
}

impl FileFormat for TimelineOutput {
    fn render(&self, report: &RunReport) -> Result<Vec<OutputFile>, ReportError> {
        let path = self.dir.join(TIMELINE_CSV);
        let mut files = vec![OutputFile {
            contents: timeline_csv(report, &path)?,
            path,
        }];
        for v in &report.variants {
            for t in &v.targets {
                for p in t.phases.iter().filter(|p| !p.warmup) {
                    for a in p.actors.iter().filter(|a| !a.timeline.is_empty()) {
                        let path = self
                            .dir
                            .join(hlog_name(&v.label, &t.name, &p.name, &a.name));
                        files.push(OutputFile {
                            contents: hlog(report, (&v.label, &t.name, &p.name), a, &path)?,
                            path,
                        });
                    }
                }
            }
        }
        Ok(files)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture::run_report;

    #[test]
    fn timeline_csv_snapshot() {
        let report = run_report(1);
        let text =
            String::from_utf8(timeline_csv(&report, Path::new(TIMELINE_CSV)).unwrap()).unwrap();
        insta::assert_snapshot!(text);
    }

    /// Regression: an interval without operations had `p99` 0 in
    /// `timeline.csv`; it has no p99 (an empty cell, missing to pandas).
    #[test]
    fn an_interval_without_operations_has_no_latency() {
        let mut report = run_report(1);
        let a = report.variants[0].targets[0]
            .phases
            .iter_mut()
            .filter(|p| !p.warmup)
            .flat_map(|p| &mut p.actors)
            .find(|a| !a.timeline.is_empty())
            .expect("an actor with a timeline");
        a.timeline[0].ops = 0;
        a.timeline[0].records = 0;
        let (t_s, actor) = (a.timeline[0].t_s, a.name.clone());
        let text =
            String::from_utf8(timeline_csv(&report, Path::new(TIMELINE_CSV)).unwrap()).unwrap();
        let mut r = ::csv::Reader::from_reader(text.as_bytes());
        let rows: Vec<::csv::StringRecord> = r
            .records()
            .map(|r| r.unwrap())
            .filter(|r| r[5].parse::<f64>().ok() == Some(t_s) && r[4] == *actor)
            .take(9)
            .collect();
        let value = |metric: &str| {
            rows.iter()
                .find(|r| &r[6] == metric)
                .map(|r| r[7].to_owned())
                .expect("the row")
        };
        for m in ["p50", "p99", "max"] {
            assert_eq!(value(m), "", "{m}");
        }
        assert_eq!(value("ops"), "0");
    }

    /// With rounds, a reader of the `.hlog` learns it holds round 1 only.
    #[test]
    fn hlog_of_a_repeated_run_says_it_holds_round_one() {
        let mut report = run_report(1);
        let t = &report.variants[0].targets[0];
        let p = t.phases.iter().find(|p| !p.warmup).expect("a phase");
        let a = p.actors[0].clone();
        let labels = (t.name.clone(), p.name.clone());
        let header = |r: &RunReport| {
            let bytes = hlog(r, ("", &labels.0, &labels.1), &a, Path::new("x.hlog")).unwrap();
            String::from_utf8_lossy(&bytes)
                .lines()
                .nth(1)
                .unwrap_or_default()
                .to_owned()
        };
        assert!(!header(&report).contains("round"), "{}", header(&report));
        report.repeat = Some(crate::metrics::report::RepeatInfo {
            rounds: 3,
            completed: 3,
            orders: Vec::new(),
        });
        assert!(
            header(&report).contains("round 1 of 3"),
            "{}",
            header(&report)
        );
    }

    /// The interval log reads back with hdrhistogram's own parser: one
    /// histogram per interval, at its start and length, counts intact.
    #[test]
    fn hlog_reads_back_interval_by_interval() {
        use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};
        let report = run_report(1);
        let t = &report.variants[0].targets[0];
        let p = t
            .phases
            .iter()
            .find(|p| !p.warmup && p.actors.iter().any(|a| !a.timeline.is_empty()))
            .expect("a phase with a timeline");
        let a = p
            .actors
            .iter()
            .find(|a| !a.timeline.is_empty())
            .expect("an actor with a timeline");
        let bytes = hlog(&report, ("", &t.name, &p.name), a, Path::new("x.hlog")).unwrap();
        let mut n = 0;
        for entry in IntervalLogIterator::new(&bytes) {
            if let LogEntry::Interval(h) = entry.expect("parses") {
                let i = &a.timeline[n];
                assert!((h.start_timestamp().as_secs_f64() - i.t_s).abs() < 1e-3);
                let decoded = decode(h.encoded_histogram()).expect("histogram decodes");
                assert_eq!(decoded.len(), i.ops);
                n += 1;
            }
        }
        assert_eq!(n, a.timeline.len());
    }
}
