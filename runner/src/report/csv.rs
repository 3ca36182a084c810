//! `results.csv` and `assertions.csv`: flat, machine-readable tables with
//! values in base units and the unit in its own column.
//!
//! `results.csv` has one row per variant × target × phase × actor × metric
//! (from [`RunReport::rows`]); `assertions.csv` one row per assertion per
//! target and variant, with the phase and metric it judges. Every row
//! starts with the run's id ([`RunReport::run_id`]), so the tables of many
//! runs concatenate and join. Formatting for humans lives elsewhere.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{FileFormat, OutputFile, ReportError};
use crate::metrics::report::RunReport;
use crate::metrics::verdict::Verdict;

/// The file name of the metrics table.
pub(crate) const RESULTS_CSV: &str = "results.csv";
/// The file name of the assertion table.
pub(crate) const ASSERTIONS_CSV: &str = "assertions.csv";

/// A number as CSV text: whole numbers without a trailing `.0` (counts and
/// nanoseconds read as integers), others as Rust prints them (shortest
/// round-trip form).
#[derive(Clone, Copy)]
pub(crate) struct Number(pub(crate) f64);

impl Serialize for Number {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let x = self.0;
        if !x.is_finite() {
            // No value (an interval without operations has no p99): an
            // empty cell, which pandas and sqlite read as missing.
            s.collect_str("")
        } else if x.fract() == 0.0 && x.abs() < 9e15 {
            s.collect_str(&format_args!("{x:.0}"))
        } else {
            s.collect_str(&x)
        }
    }
}

/// One row of `results.csv`.
#[derive(Serialize)]
struct ResultRow<'a> {
    run_id: &'a str,
    variant: String,
    target: String,
    phase: String,
    actor: String,
    metric: String,
    value: Number,
    unit: &'static str,
}

/// One row of `assertions.csv`.
#[derive(Serialize)]
struct AssertionRow<'a> {
    run_id: &'a str,
    variant: &'a str,
    target: &'a str,
    /// The phase the assertion's metric belongs to (`target` for
    /// target-level metrics).
    phase: &'a str,
    /// The metric's path below the phase (`append.p99`, `lost_records`,
    /// `store.fsyncs`).
    metric: &'a str,
    assertion: &'a str,
    observed: Option<Number>,
    threshold: Number,
    unit: &'static str,
    verdict: Verdict,
    margin: Option<f64>,
    /// A relational assertion's right side (`… of target rocksdb`).
    reference: Option<&'a str>,
    /// Its value before the factor.
    reference_value: Option<Number>,
}

fn to_csv<T: Serialize>(
    path: &Path,
    header: &[&str],
    rows: impl IntoIterator<Item = T>,
) -> Result<Vec<u8>, ReportError> {
    let err = |source| ReportError::Csv {
        path: path.to_owned(),
        source,
    };
    // The header is written by hand so an empty table still has one.
    let mut w = ::csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(Vec::new());
    w.write_record(header).map_err(err)?;
    for row in rows {
        w.serialize(row).map_err(err)?;
    }
    w.into_inner().map_err(|e| ReportError::Write {
        op: "write",
        path: path.to_owned(),
        source: e.into_error(),
    })
}

/// One row of `results.csv` of a run with rounds: the median as `value`,
/// then the spread.
#[derive(Serialize)]
struct RoundsRow<'a> {
    run_id: &'a str,
    variant: String,
    target: String,
    phase: String,
    actor: String,
    metric: String,
    value: Number,
    unit: &'static str,
    min: Option<Number>,
    max: Option<Number>,
    ci_low: Option<Number>,
    ci_high: Option<Number>,
    ci_level: Option<Number>,
    rounds: usize,
}

/// `results.csv` with the spread columns (`--repeat N`, N > 1).
fn results_csv_with_rounds(report: &RunReport, path: &Path) -> Result<Vec<u8>, ReportError> {
    let run_id = report.run_id();
    let mut rows = Vec::new();
    for v in &report.variants {
        for t in &v.targets {
            for m in t.measured() {
                let path = m.path();
                let s = t.spread.get(&path);
                rows.push(RoundsRow {
                    run_id: &run_id,
                    variant: v.label.clone(),
                    target: t.name.clone(),
                    value: Number(s.map_or(m.value, |s| s.reported(&path))),
                    unit: m.unit.label(),
                    min: s.map(|s| Number(s.min)),
                    max: s.map(|s| Number(s.max)),
                    ci_low: s.map(|s| Number(s.ci_low)),
                    ci_high: s.map(|s| Number(s.ci_high)),
                    ci_level: s.map(|s| Number(s.ci_level)),
                    rounds: s.map_or(1, |s| s.values.len()),
                    phase: m.phase,
                    actor: m.actor,
                    metric: m.metric,
                });
            }
        }
    }
    to_csv(
        path,
        &[
            "run_id", "variant", "target", "phase", "actor", "metric", "value", "unit", "min",
            "max", "ci_low", "ci_high", "ci_level", "rounds",
        ],
        rows,
    )
}

/// The contents of `results.csv` for `report`: one row per metric with
/// its value and unit; with rounds, the value is the median and the
/// columns `min`, `max`, `ci_low`, `ci_high`, `ci_level`, `rounds` follow.
pub(crate) fn results_csv(report: &RunReport, path: &Path) -> Result<Vec<u8>, ReportError> {
    if report.repeat.is_some() {
        return results_csv_with_rounds(report, path);
    }
    let run_id = report.run_id();
    let rows = report.rows().into_iter().map(|r| ResultRow {
        run_id: &run_id,
        variant: r.variant,
        target: r.target,
        phase: r.phase,
        actor: r.actor,
        metric: r.metric,
        value: Number(r.value),
        unit: r.unit,
    });
    to_csv(
        path,
        &[
            "run_id", "variant", "target", "phase", "actor", "metric", "value", "unit",
        ],
        rows,
    )
}

/// The contents of `assertions.csv` for `report`.
pub(crate) fn assertions_csv(report: &RunReport, path: &Path) -> Result<Vec<u8>, ReportError> {
    let run_id = report.run_id();
    let paths: Vec<String> = report
        .variants
        .iter()
        .flat_map(|v| &v.assertions)
        .map(|a| crate::report::rounds::assertion_path(&a.assertion).unwrap_or_default())
        .collect();
    let rows = report
        .variants
        .iter()
        .flat_map(|v| &v.assertions)
        .zip(&paths)
        .map(|(a, path)| {
            let (phase, metric) = path.split_once('.').unwrap_or(("", ""));
            (a, phase, metric)
        })
        .map(|(a, phase, metric)| AssertionRow {
            run_id: &run_id,
            variant: &a.variant,
            target: &a.target,
            phase,
            metric,
            assertion: &a.assertion,
            observed: a.observed.map(Number),
            threshold: Number(a.threshold),
            unit: a.unit.label(),
            verdict: a.verdict,
            margin: a.margin,
            reference: a.right.as_ref().map(|r| r.reference.as_str()),
            reference_value: a.right.as_ref().and_then(|r| r.value).map(Number),
        });
    to_csv(
        path,
        &[
            "run_id",
            "variant",
            "target",
            "phase",
            "metric",
            "assertion",
            "observed",
            "threshold",
            "unit",
            "verdict",
            "margin",
            "reference",
            "reference_value",
        ],
        rows,
    )
}

/// `results.csv` and `assertions.csv` in a directory.
#[derive(Debug)]
pub(crate) struct CsvOutput {
    results: PathBuf,
    assertions: PathBuf,
}

impl CsvOutput {
    /// The tables of `out_dir`.
    pub(crate) fn new(out_dir: &Path) -> Self {
        CsvOutput {
            results: out_dir.join(RESULTS_CSV),
            assertions: out_dir.join(ASSERTIONS_CSV),
        }
    }
}

impl FileFormat for CsvOutput {
    fn render(&self, report: &RunReport) -> Result<Vec<OutputFile>, ReportError> {
        Ok(vec![
            OutputFile {
                path: self.results.clone(),
                contents: results_csv(report, &self.results)?,
            },
            OutputFile {
                path: self.assertions.clone(),
                contents: assertions_csv(report, &self.assertions)?,
            },
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture::run_report;

    #[test]
    fn results_csv_snapshot() {
        let report = run_report(2);
        let text =
            String::from_utf8(results_csv(&report, Path::new(RESULTS_CSV)).unwrap()).unwrap();
        insta::assert_snapshot!(text);
    }

    #[test]
    fn assertions_csv_snapshot() {
        let report = run_report(2);
        let text =
            String::from_utf8(assertions_csv(&report, Path::new(ASSERTIONS_CSV)).unwrap()).unwrap();
        insta::assert_snapshot!(text);
    }

    #[test]
    fn results_csv_has_one_row_per_metric_and_parses_back() {
        let report = run_report(2);
        let bytes = results_csv(&report, Path::new(RESULTS_CSV)).unwrap();
        let mut r = ::csv::Reader::from_reader(bytes.as_slice());
        assert_eq!(
            r.headers().unwrap(),
            vec![
                "run_id", "variant", "target", "phase", "actor", "metric", "value", "unit"
            ]
        );
        let rows: Vec<_> = r.records().map(|r| r.unwrap()).collect();
        assert_eq!(rows.len(), report.rows().len());
        assert!(rows.iter().all(|r| r[6].parse::<f64>().is_ok()));
        assert!(
            !rows.iter().any(|r| &r[3] == "warmup"),
            "warmup phases are excluded"
        );
    }

    /// Every per-actor metric row has a unit and a column of
    /// `results.csv` for an actor that measures it (a get's hits here).
    #[test]
    fn every_actor_metric_row_is_a_results_csv_row_with_its_unit() {
        let mut report = run_report(1);
        let a = &mut report.variants[0].targets[0].phases[1].actors[0];
        a.hits = Some(a.count / 2);
        let bytes = results_csv(&report, Path::new(RESULTS_CSV)).unwrap();
        let mut r = ::csv::Reader::from_reader(bytes.as_slice());
        let rows: Vec<_> = r.records().map(|r| r.unwrap()).collect();
        for m in crate::metrics::actor_metric::ACTOR_METRICS {
            assert!(
                rows.iter()
                    .any(|r| &r[5] == m.name && &r[7] == m.unit.label()),
                "{} in {} missing",
                m.name,
                m.unit.label()
            );
        }
    }

    /// Regression: `assertions.csv` had no phase and metric columns, and
    /// no CSV carried a run id to join the tables of several runs on.
    #[test]
    fn every_row_carries_the_run_id_and_assertions_their_phase_and_metric() {
        let report = run_report(1);
        let id = report.run_id();
        assert!(id.starts_with(&format!("{}-", report.scenario)), "{id}");
        assert!(!id.contains(':'), "a directory name: {id}");
        let bytes = assertions_csv(&report, Path::new(ASSERTIONS_CSV)).unwrap();
        let mut r = ::csv::Reader::from_reader(bytes.as_slice());
        let h = r.headers().unwrap().clone();
        assert_eq!(&h[0], "run_id");
        assert_eq!((&h[3], &h[4], &h[5]), ("phase", "metric", "assertion"));
        let rows: Vec<_> = r.records().map(|r| r.unwrap()).collect();
        assert!(!rows.is_empty());
        for row in &rows {
            assert_eq!(&row[0], id);
            assert!(
                row[5].starts_with(&format!("{}.{} ", &row[3], &row[4])),
                "{row:?}"
            );
        }
        let bytes = results_csv(&report, Path::new(RESULTS_CSV)).unwrap();
        let mut r = ::csv::Reader::from_reader(bytes.as_slice());
        assert!(r.records().all(|row| row.unwrap()[0] == *id));
    }
}
