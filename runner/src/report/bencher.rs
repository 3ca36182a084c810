//! `bencher.json`: the run in the Bencher Metric Format
//! (<https://bencher.dev/docs/reference/bencher-metric-format>), so
//! Bencher (`bencher run --adapter json --file bencher.json`) or a GitHub
//! benchmark action can track history without glue.
//!
//! One benchmark per actor, named `scenario/variant/target/phase/actor`
//! (`scenario/target/phase/actor` without a matrix); measures `latency`
//! (p50, ns — Bencher's built-in Latency measure), `latency-p99` (ns) and
//! `throughput` (records/s — the built-in Throughput measure). A restart
//! or crash phase is also one benchmark, `scenario/[variant/]target/phase`,
//! with `reopen-time` (ns; the longest reopen over its cycles),
//! `reopen-time-p99`, `lost-records` and `corrupt-records` (counts, summed
//! over cycles; with `verify: acknowledged`). With more
//! than one round, `lower_value`/`upper_value` are the rounds' minimum and
//! maximum; with one they are left out. Values come from
//! `compare::cells`, like every per-round reader.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{FileFormat, OutputFile, ReportError};
use crate::metrics::report::RunReport;
use crate::metrics::{actor_metric, phase_metric};

/// The file name.
pub(crate) const BENCHER_JSON: &str = "bencher.json";

/// One measure's metric.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Metric {
    /// The median of the rounds.
    pub value: f64,
    /// The smallest round (absent with one round).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lower_value: Option<f64>,
    /// The largest round (absent with one round).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upper_value: Option<f64>,
}

/// Which cells become which measure.
const MEASURES: &[(&str, &str)] = &[
    (actor_metric::named("p50").name, "latency"),
    (actor_metric::named("p99").name, "latency-p99"),
    (actor_metric::named("records_per_s").name, "throughput"),
];

/// Which phase-level cells (restart, crash and power-loss phases) become
/// which measure of the phase's benchmark.
const PHASE_MEASURES: &[(&str, &str)] = &[
    (phase_metric::named("reopen.duration").name, "reopen-time"),
    (phase_metric::named("reopen.p99").name, "reopen-time-p99"),
    (phase_metric::named("lost_records").name, "lost-records"),
    (
        phase_metric::named("corrupt_records").name,
        "corrupt-records",
    ),
];

/// The BMF document: benchmark → measure → metric.
pub(crate) fn bencher(report: &RunReport) -> BTreeMap<String, BTreeMap<&'static str, Metric>> {
    let mut out: BTreeMap<String, BTreeMap<&'static str, Metric>> = BTreeMap::new();
    for cell in crate::compare::cells(report) {
        let k = &cell.key;
        if k.phase == "target" {
            continue;
        }
        let measures = if k.actor.is_empty() {
            PHASE_MEASURES
        } else {
            MEASURES
        };
        let Some((_, measure)) = measures.iter().find(|(m, _)| *m == k.metric) else {
            continue;
        };
        let Some(value) = crate::compare::stats::median(&cell.rounds) else {
            continue;
        };
        // A throughput of nothing (a trimmer moves no records) is not one.
        if *measure == "throughput" && value == 0.0 {
            continue;
        }
        let mut parts = vec![report.scenario.as_str()];
        if !k.variant.is_empty() {
            parts.push(&k.variant);
        }
        parts.extend([k.target.as_str(), &k.phase]);
        if !k.actor.is_empty() {
            parts.push(&k.actor);
        }
        let spread = cell.rounds.len() > 1;
        let lo = cell.rounds.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = cell
            .rounds
            .iter()
            .copied()
            .fold(f64::NEG_INFINITY, f64::max);
        out.entry(parts.join("/")).or_default().insert(
            measure,
            Metric {
                value,
                lower_value: spread.then_some(lo),
                upper_value: spread.then_some(hi),
            },
        );
    }
    out
}

/// `bencher.json` in a run directory.
#[derive(Debug)]
pub(crate) struct BencherOutput {
    path: PathBuf,
}

impl BencherOutput {
    /// `out_dir/bencher.json`.
    pub(crate) fn new(out_dir: &Path) -> Self {
        BencherOutput {
            path: out_dir.join(BENCHER_JSON),
        }
    }
}

impl FileFormat for BencherOutput {
    fn render(&self, report: &RunReport) -> Result<Vec<OutputFile>, ReportError> {
        let mut contents =
            serde_json::to_vec_pretty(&bencher(report)).map_err(|source| ReportError::Write {
                op: "serialize",
                path: self.path.clone(),
                source: source.into(),
            })?;
        contents.push(b'\n');
        Ok(vec![OutputFile {
            path: self.path.clone(),
            contents,
        }])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture::run_report;

    #[test]
    fn one_benchmark_per_actor_with_latency_and_throughput() {
        let doc = bencher(&run_report(2));
        let b = &doc["wal-vs-rocksdb-append/batch=10/wal-group-commit/write/append"];
        assert_eq!(b["latency"].value, 100_000.0);
        assert_eq!(b["latency-p99"].value, 500_000.0);
        assert_eq!(b["throughput"].value, 1_000_000.0);
        assert_eq!(b["latency"].lower_value, None, "one round: no spread");
        let one = bencher(&run_report(1));
        assert!(one.contains_key("wal-vs-rocksdb-append/rocksdb-sync/mixed/writer"));
        assert!(one.keys().all(|k| !k.contains("/target/")));
    }

    /// Regression: crash phases (reopen time, lost records) were left out,
    /// so they could not be tracked in Bencher.
    #[test]
    fn crash_phases_are_benchmarks_with_reopen_time_and_lost_records() {
        let mut report = run_report(1);
        let t = &mut report.variants[0].targets[0];
        let p = t.phases.iter_mut().find(|p| !p.warmup).expect("a phase");
        p.metrics.insert("reopen.duration".into(), 42_000_000.0);
        p.metrics.insert("lost_records".into(), 0.0);
        p.metrics.insert("cycles".into(), 3.0);
        let (target, phase) = (t.name.clone(), p.name.clone());
        let doc = bencher(&report);
        let b = &doc[&format!("{}/{target}/{phase}", report.scenario)];
        assert_eq!(b["reopen-time"].value, 42_000_000.0);
        assert_eq!(b["lost-records"].value, 0.0, "zero losses are tracked too");
        assert!(!b.contains_key("cycles"));
    }

    #[test]
    fn the_document_validates_against_the_bmf_schema() {
        // https://bencher.dev/bmf.json, as the format's reference page gives it.
        let schema = serde_json::json!({
            "$schema": "http://json-schema.org/draft-07/schema",
            "type": "object",
            "patternProperties": { ".+": {
                "type": "object",
                "patternProperties": { ".+": {
                    "type": "object",
                    "properties": {
                        "value": { "type": "number" },
                        "lower_value": { "type": "number" },
                        "upper_value": { "type": "number" }
                    },
                    "required": ["value"]
                }}
            }}
        });
        let doc = serde_json::to_value(bencher(&run_report(2))).expect("json");
        let v = jsonschema::draft7::new(&schema).expect("schema");
        assert!(v.is_valid(&doc));
        assert!(!doc.as_object().expect("object").is_empty());
    }
}
