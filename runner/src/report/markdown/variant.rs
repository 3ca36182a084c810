//! One variant as `report.md` shows it: the assertions × targets table,
//! each target's head, phases and charts.

use std::path::Path;

use serde::Serialize;

use super::phase::{
    ChartLink, PhaseView, StatRow, phase_index, phase_view, store_stat_unit, union,
};
use crate::metrics::catalog::{MetricUnit, PROCESS_METRICS};
use crate::metrics::report::{PayloadReport, VariantReport};
use crate::metrics::verdict::Verdict;
use crate::report::charts::ChartSpec;
use crate::report::{ReportError, format};

/// One variant, arranged for tables.
#[derive(Debug, Serialize)]
pub(crate) struct VariantView<'a> {
    /// Variant label (empty without a matrix).
    pub label: &'a str,
    /// `key = value` of each matrix dimension.
    pub settings: Vec<String>,
    /// Targets in run order: name, store kind, error.
    pub targets: Vec<TargetHead<'a>>,
    /// Columns of the assertion table: `targets`, then targets the run
    /// stopped before starting (their assertions are not run).
    pub assertion_targets: Vec<&'a str>,
    /// Targets with assertions that the run stopped before starting.
    pub not_started: Vec<&'a str>,
    /// One row per assertion, one cell per target.
    pub assertions: Vec<AssertionRow>,
    /// Measured (non-warmup) phases in run order.
    pub phases: Vec<PhaseView>,
    /// Warmup phases that ran (names only).
    pub warmups: Vec<String>,
    /// Payload compressibility.
    pub payloads: &'a [PayloadReport],
    /// Store statistics that are non-zero on some target.
    pub store: Vec<StatRow>,
    /// Store statistics that were zero (or absent) on every target.
    pub store_all_zero: Vec<String>,
    /// Free-text store statistics appendices: (target, text).
    pub store_appendix: Vec<(String, String)>,
    /// Crash and power-loss phases, whose writes the store statistics do
    /// not count (they happened in the crash child, or on a simulated disk).
    pub crash_phases: Vec<String>,
    /// Process statistics per target.
    pub process: Vec<StatRow>,
    /// The resolved scenario as YAML.
    pub resolved_yaml: String,
}

/// A target's heading data.
#[derive(Debug, Serialize)]
pub(crate) struct TargetHead<'a> {
    /// Target name.
    pub name: &'a str,
    /// Store kind.
    pub kind: &'a str,
    /// What the store runs on (`RocksDB 11.8.1`), when it says.
    pub software: Option<&'a str>,
    /// The error that stopped it.
    pub error: Option<&'a str>,
}

/// One assertion across targets.
#[derive(Debug, Serialize)]
pub(crate) struct AssertionRow {
    /// The text as written.
    pub text: String,
    /// One cell per target, in target order.
    pub cells: Vec<AssertionCell>,
}

/// One assertion on one target.
#[derive(Debug, Serialize)]
pub(crate) struct AssertionCell {
    /// The verdict (`pass`, `fail`, `not_applicable`, `not_run`,
    /// `not_judged`).
    pub verdict: Verdict,
    /// Observed value in base units.
    pub observed: Option<f64>,
    /// Threshold in base units.
    pub threshold: f64,
    /// Unit of both (as serialized: `nanos`, `per_second` …).
    pub unit: MetricUnit,
    /// Fractional headroom (negative when failed).
    pub margin: Option<f64>,
    /// A relational assertion's factor, formatted (`2`, `1.1`).
    pub factor: Option<String>,
    /// The value of its right side before the factor.
    pub reference_value: Option<f64>,
    /// Why it was not judged (`not_judged`).
    pub reason: Option<String>,
}

pub(super) fn variant_view<'a>(
    v: &'a VariantReport,
    path: &Path,
    charts: &[&ChartSpec],
) -> Result<VariantView<'a>, ReportError> {
    let targets: Vec<TargetHead<'_>> = v
        .targets
        .iter()
        .map(|t| TargetHead {
            name: &t.name,
            kind: &t.kind,
            software: t.software.as_deref(),
            error: t.error.as_deref(),
        })
        .collect();
    let mut assertion_targets: Vec<&str> = v.targets.iter().map(|t| t.name.as_str()).collect();
    for a in &v.assertions {
        if !assertion_targets.contains(&a.target.as_str()) {
            assertion_targets.push(&a.target);
        }
    }
    let not_started: Vec<&str> = assertion_targets
        .iter()
        .copied()
        .filter(|n| !v.targets.iter().any(|t| t.name == *n))
        .collect();
    let texts = union([v.assertions.iter().map(|a| a.assertion.as_str())]);
    let assertions = texts
        .into_iter()
        .map(|text| {
            let cells = assertion_targets
                .iter()
                .map(|target| {
                    match v
                        .assertions
                        .iter()
                        .find(|a| a.assertion == text && a.target == *target)
                    {
                        Some(a) => AssertionCell {
                            verdict: a.verdict,
                            observed: a.observed,
                            threshold: a.threshold,
                            unit: a.unit,
                            margin: a.margin,
                            factor: a.right.as_ref().map(|r| format::factor(r.factor)),
                            reference_value: a.right.as_ref().and_then(|r| r.value),
                            reason: a.reason.clone(),
                        },
                        None => AssertionCell {
                            verdict: Verdict::NotApplicable,
                            observed: None,
                            threshold: 0.0,
                            unit: MetricUnit::Count,
                            margin: None,
                            factor: None,
                            reference_value: None,
                            reason: None,
                        },
                    }
                })
                .collect();
            AssertionRow { text, cells }
        })
        .collect();
    let phase_names = union(v.targets.iter().map(|t| {
        t.phases
            .iter()
            .filter(|p| !p.warmup)
            .map(|p| p.name.as_str())
            .collect::<Vec<_>>()
    }));
    let warmups = union(v.targets.iter().map(|t| {
        t.phases
            .iter()
            .filter(|p| p.warmup)
            .map(|p| p.name.as_str())
            .collect::<Vec<_>>()
    }));
    let index = phase_index(&v.targets);
    let phases = phase_names
        .iter()
        .map(|p| {
            let links = charts
                .iter()
                .filter(|c| c.phase == *p)
                .map(|c| ChartLink::from(*c))
                .collect();
            phase_view(p, &v.targets, &index, links)
        })
        .collect();
    let stat_names = union(v.targets.iter().map(|t| {
        t.store
            .values
            .keys()
            .map(String::as_str)
            .collect::<Vec<_>>()
    }));
    let (mut store, mut store_all_zero) = (Vec::new(), Vec::new());
    for name in stat_names {
        let values: Vec<Option<f64>> = v
            .targets
            .iter()
            .map(|t| t.store.values.get(&name).copied())
            .collect();
        if values.iter().flatten().all(|x| *x == 0.0) {
            store_all_zero.push(name);
        } else {
            let holder = v
                .targets
                .iter()
                .find(|t| t.store.values.contains_key(&name));
            let unit = holder
                .and_then(|t| t.store_unit(&name))
                .unwrap_or_else(|| store_stat_unit(holder.map_or("", |t| t.kind.as_str()), &name));
            store.push(StatRow { unit, name, values });
        }
    }
    let store_appendix = v
        .targets
        .iter()
        .filter_map(|t| t.store.appendix.clone().map(|a| (t.name.clone(), a)))
        .collect();
    let crash_phases = union(v.targets.iter().map(|t| {
        t.phases
            .iter()
            .filter(|p| p.ended_by == "crash")
            .map(|p| p.name.as_str())
            .collect::<Vec<_>>()
    }));
    let process = PROCESS_METRICS
        .iter()
        .map(|(name, unit)| StatRow {
            name: (*name).to_owned(),
            unit: *unit,
            values: v.targets.iter().map(|t| t.process.metric(name)).collect(),
        })
        .filter(|r| r.values.iter().flatten().any(|x| *x != 0.0))
        .collect();
    let resolved_yaml = serde_yaml::to_string(&v.resolved).map_err(|source| ReportError::Yaml {
        path: path.to_owned(),
        source,
    })?;
    Ok(VariantView {
        label: &v.label,
        settings: v
            .settings
            .iter()
            .map(|(k, val)| format!("{k} = {val}"))
            .collect(),
        targets,
        assertion_targets,
        not_started,
        assertions,
        phases,
        warmups,
        payloads: &v.payloads,
        store,
        store_all_zero,
        store_appendix,
        crash_phases,
        process,
        resolved_yaml,
    })
}
