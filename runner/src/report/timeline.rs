//! `timeline.csv` and the `.hlog` interval logs: what happened *during*
//! each measured phase, interval by interval.
//!
//! `timeline.csv` is long format like `results.csv` — `variant, target,
//! phase, actor, t_s, metric, value, unit` — with `t_s` the interval's
//! start in seconds from the phase start. Per actor and interval:
//! `records`, `bytes`, `ops`, `errors` (counts in the interval),
//! `records_per_s`, `duration` (the interval's length, ns) and latency
//! `p50`, `p99`, `max` (ns). Per phase and interval, actor `store`: each
//! store statistic (a counter's change over the interval, a level's value
//! at its end); actor `process`: CPU user/sys (ns in the interval),
//! `cpu_utilisation`, `rss` and jemalloc's figures at its end.
//!
//! One HdrHistogram interval log per actor and phase,
//! `<target>.<phase>.<actor>.hlog` (`<variant>.` first with a matrix), in
//! the standard format (version 1.3, compressed V2 histograms, max in ms)
//! that HistogramLogAnalyzer and `HistogramLogProcessor` read. Warmup
//! phases are left out, as in `results.csv`.

use std::path::{Path, PathBuf};

use hdrhistogram::serialization::V2DeflateSerializer;
use hdrhistogram::serialization::interval_log::IntervalLogWriterBuilder;
use serde::Serialize;

use super::csv::Number;
use super::{FileFormat, OutputFile, ReportError};
use crate::engine::file_name_part;
use crate::metrics::catalog::{MetricUnit, PHASE_PROCESS_METRICS};
use crate::metrics::recorder::decode;
use crate::metrics::report::{ActorReport, RunReport};

/// The file name of the timeline table.
pub const TIMELINE_CSV: &str = "timeline.csv";

/// One row of `timeline.csv`.
#[derive(Serialize)]
struct Row<'a> {
    variant: &'a str,
    target: &'a str,
    phase: &'a str,
    actor: &'a str,
    t_s: Number,
    metric: &'a str,
    value: Number,
    unit: &'static str,
}

/// A row of (variant, target, phase) `at`.
fn row<'a>(
    at: (&'a str, &'a str, &'a str),
    actor: &'a str,
    (t_s, metric, value, unit): (f64, &'a str, f64, MetricUnit),
) -> Row<'a> {
    Row {
        variant: at.0,
        target: at.1,
        phase: at.2,
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
    for v in &report.variants {
        for t in &v.targets {
            for p in t.phases.iter().filter(|p| !p.warmup) {
                let at = (v.label.as_str(), t.name.as_str(), p.name.as_str());
                for a in &p.actors {
                    for i in &a.timeline {
                        let rate = if i.duration_s > 0.0 {
                            i.records as f64 / i.duration_s
                        } else {
                            0.0
                        };
                        for (metric, value, unit) in [
                            ("records", i.records as f64, MetricUnit::Count),
                            ("bytes", i.bytes as f64, MetricUnit::Bytes),
                            ("ops", i.ops as f64, MetricUnit::Count),
                            ("errors", i.errors as f64, MetricUnit::Count),
                            ("records_per_s", rate, MetricUnit::PerSecond),
                            ("duration", (i.duration_s * 1e9).round(), MetricUnit::Nanos),
                            ("p50", i.p50_ns as f64, MetricUnit::Nanos),
                            ("p99", i.p99_ns as f64, MetricUnit::Nanos),
                            ("max", i.max_ns as f64, MetricUnit::Nanos),
                        ] {
                            push(row(at, &a.name, (i.t_s, metric, value, unit)))?;
                        }
                    }
                }
                for s in &p.stats.timeline {
                    for (name, value) in &s.store {
                        let unit = t.store_unit(name).unwrap_or(MetricUnit::Count);
                        push(row(at, "store", (s.t_s, name, *value, unit)))?;
                    }
                    for (name, unit) in PHASE_PROCESS_METRICS {
                        if let Some(value) = s.process.metric(name) {
                            push(row(at, "process", (s.t_s, name, value, *unit)))?;
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

/// `timeline.csv` as bytes (`path` names it in errors).
pub fn timeline_csv(report: &RunReport, path: &Path) -> Result<Vec<u8>, ReportError> {
    let csv_err = |source| ReportError::Csv {
        path: path.to_path_buf(),
        source,
    };
    let mut w = ::csv::Writer::from_writer(Vec::new());
    // The header, also when there is no row.
    w.write_record([
        "variant", "target", "phase", "actor", "t_s", "metric", "value", "unit",
    ])
    .map_err(csv_err)?;
    let mut w = ::csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(w.into_inner().map_err(|e| csv_err(e.into_error().into()))?);
    rows(report, |r| w.serialize(r).map_err(csv_err))?;
    w.into_inner().map_err(|e| csv_err(e.into_error().into()))
}

/// The `.hlog` file name of an actor in a phase on a target.
pub fn hlog_name(variant: &str, target: &str, phase: &str, actor: &str) -> String {
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
pub fn hlog(
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
    let mut out = format!(
        "#[Histogram log format version 1.3]\n#[loadline {}: scenario {}, variant {variant:?}, target {target}, phase {phase}, actor {}; latency in ns, timestamps in s from the phase start]\n\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\"\n",
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
pub struct TimelineOutput {
    dir: PathBuf,
}

impl TimelineOutput {
    /// Writes `timeline.csv` and the `.hlog` files into `dir`.
    pub fn new(dir: &Path) -> Self {
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
