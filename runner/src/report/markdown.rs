//! `report.md`: the design-review report, rendered by minijinja from
//! `reports/templates/report.md.j2` (embedded) or a `--template` file.
//!
//! Owns the template environment (strict undefined behaviour, the unit
//! filters) and the [`Context`] a template sees: the whole `RunReport` as
//! `report`, plus views arranged for tables (assertions × targets, phases
//! side by side across targets, links to the SVG charts beside it (see
//! `charts`), non-zero store statistics).
//! Values stay in base units; templates format them with filters
//! (`duration`, `size`, `rate`, `bytes_rate`, `count`, `pct`, `margin`,
//! `ratio`, `metric(unit)`, `us`), never with arithmetic.

use std::path::{Path, PathBuf};

use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;

use super::charts::{self, ChartKind, ChartSpec};
use super::format;
use super::verdict::{Counts, RunVerdict};
use super::{FileFormat, OutputFile, ReportError};
use crate::metrics::catalog::{MetricUnit, PROCESS_METRICS};
use crate::metrics::report::{
    Environment as HostEnvironment, Latency, PayloadReport, PhaseReport, RunReport, TargetReport,
    VariantReport,
};
use crate::metrics::verdict::Verdict;

/// The file name of the Markdown report.
pub const REPORT_MD: &str = "report.md";
/// The name of the built-in template (as errors show it).
pub const BUILTIN_TEMPLATE_NAME: &str = "report.md.j2";
/// The built-in template, `reports/templates/report.md.j2`.
pub const BUILTIN_TEMPLATE: &str = include_str!("../../../reports/templates/report.md.j2");

/// The block of the template holding the verdict and the assertion table;
/// it is what goes to `$GITHUB_STEP_SUMMARY`.
pub const SUMMARY_BLOCK: &str = "summary";

/// What a template sees.
#[derive(Debug, Serialize)]
pub struct Context<'a> {
    /// The whole report, for custom templates.
    pub report: &'a RunReport,
    /// `PASS`, `FAIL`, `INTERRUPTED`, `ERROR` or `RUNNING`.
    pub verdict: RunVerdict,
    /// Assertion results by verdict, over all variants and targets.
    pub counts: Counts,
    /// Host and build.
    pub environment: &'a HostEnvironment,
    /// More than one matrix variant.
    pub matrix: bool,
    /// One view per variant.
    pub variants: Vec<VariantView<'a>>,
    /// Matrix sweep charts (swept value on x), one per phase and actor.
    pub sweeps: Vec<ChartLink>,
    /// With a matrix: one table per measured phase and actor, a row per
    /// variant and a column per target.
    pub side_by_side: Vec<SideBySide>,
    /// Phase and actor pairs left without charts: the report reached `MAX_CHARTS`.
    pub charts_omitted: usize,
    /// The most charts a report draws.
    pub max_charts: usize,
    /// With `--repeat N` (N > 1): the rounds and each shown metric's spread.
    pub rounds: Option<super::rounds::RoundsView>,
}

/// One phase and actor across the variants of a matrix.
#[derive(Debug, Serialize)]
pub struct SideBySide {
    /// Phase name.
    pub phase: String,
    /// Actor name.
    pub actor: String,
    /// Column heads: the targets, in run order.
    pub targets: Vec<String>,
    /// One row per variant.
    pub rows: Vec<SideRow>,
}

/// One variant's row of a [`SideBySide`] table.
#[derive(Debug, Serialize)]
pub struct SideRow {
    /// The variant's label.
    pub variant: String,
    /// One cell per target (`None` where it did not run).
    pub cells: Vec<Option<SideCell>>,
}

/// Throughput and tail latency of one actor on one target in one variant.
#[derive(Debug, Serialize)]
pub struct SideCell {
    /// Records per second.
    pub records_per_s: f64,
    /// p99 latency, ns.
    pub p99_ns: u64,
}

/// The side-by-side tables of a matrix report (empty for one variant).
fn side_by_side(report: &RunReport) -> Vec<SideBySide> {
    if report.variants.len() < 2 {
        return Vec::new();
    }
    let targets = union(report.variants.iter().map(|v| {
        v.targets
            .iter()
            .map(|t| t.name.as_str())
            .collect::<Vec<_>>()
    }));
    let mut pairs: Vec<(String, String)> = Vec::new();
    for v in &report.variants {
        for t in &v.targets {
            for p in t.phases.iter().filter(|p| !p.warmup) {
                for a in p.actors.iter().filter(|a| a.records > 0) {
                    let pair = (p.name.clone(), a.name.clone());
                    if !pairs.contains(&pair) {
                        pairs.push(pair);
                    }
                }
            }
        }
    }
    pairs
        .into_iter()
        .map(|(phase, actor)| SideBySide {
            rows: report
                .variants
                .iter()
                .map(|v| SideRow {
                    variant: v.label.clone(),
                    cells: targets
                        .iter()
                        .map(|name| {
                            let a = v
                                .targets
                                .iter()
                                .find(|t| &t.name == name)?
                                .phases
                                .iter()
                                .find(|p| p.name == phase)?
                                .actors
                                .iter()
                                .find(|a| a.name == actor)?;
                            Some(SideCell {
                                records_per_s: a.records_per_s,
                                p99_ns: a.latency.p99_ns,
                            })
                        })
                        .collect(),
                })
                .collect(),
            phase,
            actor,
            targets: targets.clone(),
        })
        .collect()
}

/// One variant, arranged for tables.
#[derive(Debug, Serialize)]
pub struct VariantView<'a> {
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
pub struct TargetHead<'a> {
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
pub struct AssertionRow {
    /// The text as written.
    pub text: String,
    /// One cell per target, in target order.
    pub cells: Vec<AssertionCell>,
}

/// One assertion on one target.
#[derive(Debug, Serialize)]
pub struct AssertionCell {
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

/// One measured phase across targets.
#[derive(Debug, Serialize)]
pub struct PhaseView {
    /// Phase name.
    pub name: String,
    /// Per target: name, duration in ns, why it ended.
    pub runs: Vec<PhaseRun>,
    /// Actor × target rows (service-time rows follow their actor).
    pub rows: Vec<ActorRow>,
    /// Some row has errors (show the column).
    pub has_errors: bool,
    /// Some row has late starts (show the column).
    pub has_late: bool,
    /// Some row is a get's (show the hits column).
    pub has_hits: bool,
    /// The SVG charts of this phase (latency spectrum and timeline per
    /// actor), files beside `report.md`.
    pub charts: Vec<ChartLink>,
    /// Phase-level metrics (e.g. `lost_records`), one row each.
    pub metrics: Vec<StatRow>,
    /// What each crash record count in `metrics` counts (name, meaning),
    /// so `lost_records` above `acknowledged_records` does not read as a
    /// bug.
    pub definitions: Vec<(String, &'static str)>,
}

/// A phase on one target.
#[derive(Debug, Serialize)]
pub struct PhaseRun {
    /// Target name.
    pub target: String,
    /// Wall-clock duration, ns.
    pub duration_ns: u64,
    /// Why it ended.
    pub ended_by: String,
    /// It began with the target's files evicted from the page cache.
    pub began_cold: bool,
}

/// One actor on one target (or its service time).
#[derive(Debug, Serialize)]
pub struct ActorRow {
    /// Actor name.
    pub actor: String,
    /// Target name.
    pub target: String,
    /// True for the service-time row of an open-loop actor.
    pub service: bool,
    /// Records per second (absent on service rows and for periodic ops —
    /// trim, sync — that move no records).
    pub records_per_s: Option<f64>,
    /// Body bytes per second (absent where `records_per_s` is).
    pub bytes_per_s: Option<f64>,
    /// Target rate of an open-loop actor.
    pub rate_per_s: Option<f64>,
    /// Latency in ns.
    pub latency: Latency,
    /// Failed operations.
    pub errors: Option<u64>,
    /// Operations that started late (open loop).
    pub late: Option<u64>,
    /// Gets only: operations that found their key.
    pub hits: Option<u64>,
    /// Gets only: `hits` over operations.
    pub hit_ratio: Option<f64>,
}

/// A chart file beside `report.md`.
#[derive(Debug, Clone, Serialize)]
pub struct ChartLink {
    /// What it shows (alt text).
    pub title: String,
    /// File name, relative to `report.md`.
    pub file: String,
}

impl From<&ChartSpec> for ChartLink {
    fn from(spec: &ChartSpec) -> Self {
        ChartLink {
            title: spec.title.clone(),
            file: spec.file.clone(),
        }
    }
}

/// A named value per target, with its unit.
#[derive(Debug, Serialize)]
pub struct StatRow {
    /// Name.
    pub name: String,
    /// Unit of the values.
    pub unit: MetricUnit,
    /// One value per target (absent where it does not exist).
    pub values: Vec<Option<f64>>,
}

/// The unit of store statistic `name` of store kind `kind`: as the store
/// declares it, else guessed from a conventional suffix.
fn store_stat_unit(kind: &str, name: &str) -> MetricUnit {
    if let Some(d) = crate::store::stat_desc(kind, name) {
        return crate::metrics::catalog::stat_unit(d.unit);
    }
    if name.ends_with("_bytes") || name.ends_with("bytes_written") || name.ends_with("bytes_read") {
        MetricUnit::Bytes
    } else if name.ends_with("_micros") {
        MetricUnit::Micros
    } else if name.ends_with("_ns") || name.ends_with("_nanos") {
        MetricUnit::Nanos
    } else if name.ends_with("amplification") || name.ends_with("_ratio") {
        MetricUnit::Ratio
    } else {
        MetricUnit::Count
    }
}

fn phase_metric_unit(name: &str) -> MetricUnit {
    if name.contains("duration") || name.starts_with("reopen.") {
        MetricUnit::Nanos
    } else if name.ends_with("bytes") {
        MetricUnit::Bytes
    } else {
        MetricUnit::Count
    }
}

/// Names in first-seen order across targets. A set keeps it linear: a
/// report is rendered after every few phases, and with thousands of phases
/// a quadratic union dominated the run.
fn union<'a>(lists: impl IntoIterator<Item = impl IntoIterator<Item = &'a str>>) -> Vec<String> {
    let mut seen: std::collections::HashSet<&str> = std::collections::HashSet::new();
    let mut out: Vec<String> = Vec::new();
    for list in lists {
        for n in list {
            if seen.insert(n) {
                out.push(n.to_owned());
            }
        }
    }
    out
}

/// Each target's measured phases by name (the first of a name), so a
/// report of many phases is laid out in linear time.
type PhaseIndex<'a> = Vec<std::collections::HashMap<&'a str, &'a PhaseReport>>;

fn phase_index(targets: &[TargetReport]) -> PhaseIndex<'_> {
    targets
        .iter()
        .map(|t| {
            let mut m = std::collections::HashMap::new();
            for p in t.phases.iter().filter(|p| !p.warmup) {
                m.entry(p.name.as_str()).or_insert(p);
            }
            m
        })
        .collect()
}

fn phase_view(
    name: &str,
    targets: &[TargetReport],
    index: &PhaseIndex<'_>,
    charts: Vec<ChartLink>,
) -> PhaseView {
    let phases: Vec<(String, Option<&PhaseReport>)> = targets
        .iter()
        .zip(index)
        .map(|(t, by_name)| (t.name.clone(), by_name.get(name).copied()))
        .collect();
    let runs = phases
        .iter()
        .filter_map(|(t, p)| {
            p.as_ref().map(|p| PhaseRun {
                target: t.clone(),
                duration_ns: p.duration_ns,
                ended_by: p.ended_by.clone(),
                began_cold: p.began_cold,
            })
        })
        .collect();
    let actors = union(
        phases
            .iter()
            .filter_map(|(_, p)| p.as_ref())
            .map(|p| p.actors.iter().map(|a| a.name.as_str()).collect::<Vec<_>>()),
    );
    let mut rows = Vec::new();
    for actor in &actors {
        let mut service_rows = Vec::new();
        for (target, p) in &phases {
            let Some(a) = p
                .as_ref()
                .and_then(|p| p.actors.iter().find(|a| &a.name == actor))
            else {
                continue;
            };
            rows.push(ActorRow {
                actor: actor.clone(),
                target: target.clone(),
                service: false,
                // A trimmer moves no records: `–`, as on the console.
                records_per_s: (!super::console::periodic(&a.op)).then_some(a.records_per_s),
                bytes_per_s: (!super::console::periodic(&a.op)).then_some(a.bytes_per_s),
                rate_per_s: a.rate_per_s,
                latency: a.latency,
                errors: Some(a.errors),
                late: Some(a.late),
                hits: a.hits,
                hit_ratio: a.metric("hit_ratio"),
            });
            if let Some(s) = a.service {
                service_rows.push(ActorRow {
                    actor: actor.clone(),
                    target: target.clone(),
                    service: true,
                    records_per_s: None,
                    bytes_per_s: None,
                    rate_per_s: None,
                    latency: s,
                    errors: None,
                    late: None,
                    hits: None,
                    hit_ratio: None,
                });
            }
        }
        rows.extend(service_rows);
    }
    let metric_names = union(
        phases
            .iter()
            .filter_map(|(_, p)| p.as_ref())
            .map(|p| p.metrics.keys().map(String::as_str).collect::<Vec<_>>()),
    );
    let metrics: Vec<StatRow> = metric_names
        .into_iter()
        .map(|m| StatRow {
            unit: phase_metric_unit(&m),
            values: phases
                .iter()
                .map(|(_, p)| p.as_ref().and_then(|p| p.metrics.get(&m).copied()))
                .collect(),
            name: m,
        })
        .collect();
    let definitions = crate::metrics::catalog::CRASH_METRIC_MEANINGS
        .iter()
        .filter(|(n, _)| metrics.iter().any(|m: &StatRow| m.name == *n))
        .map(|(n, meaning)| ((*n).to_owned(), *meaning))
        .collect();
    PhaseView {
        name: name.to_owned(),
        definitions,
        runs,
        has_errors: rows.iter().any(|r| r.errors.unwrap_or(0) > 0),
        has_late: rows.iter().any(|r| r.late.unwrap_or(0) > 0),
        has_hits: rows.iter().any(|r| r.hits.is_some()),
        rows,
        charts,
        metrics,
    }
}

fn variant_view<'a>(
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

impl<'a> Context<'a> {
    /// The context of `report`; `path` names the output in errors.
    pub fn new(report: &'a RunReport, path: &Path) -> Result<Self, ReportError> {
        let (specs, charts_omitted) = charts::plan(report);
        let sweeps = specs
            .iter()
            .filter(|c| matches!(c.kind, ChartKind::Sweep { .. }))
            .map(ChartLink::from)
            .collect();
        Ok(Context {
            sweeps,
            side_by_side: side_by_side(report),
            charts_omitted,
            max_charts: charts::MAX_CHARTS,
            report,
            verdict: RunVerdict::of(report),
            counts: Counts::of(report),
            environment: &report.environment,
            matrix: report.variants.len() > 1,
            variants: report
                .variants
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    let mine: Vec<&ChartSpec> = specs
                        .iter()
                        .filter(|c| c.variant == i && !matches!(c.kind, ChartKind::Sweep { .. }))
                        .collect();
                    variant_view(v, path, &mine)
                })
                .collect::<Result<_, _>>()?,
            rounds: super::rounds::view(report),
        })
    }
}

fn opt(f: fn(f64) -> String) -> impl Fn(Option<f64>) -> String + Send + Sync + 'static {
    move |v| v.map_or_else(|| "–".to_owned(), |v| glued(&f(v)))
}

/// `text` with its spaces made no-break (U+00A0): a number never wraps
/// away from its unit in a narrow table column (`94.0 ms`, not `94.0` over
/// `ms`).
fn glued(text: &str) -> String {
    text.replace(' ', "\u{a0}")
}

/// Registers the unit filters every template can use. Each accepts a
/// number or `none` (rendered as `–`), and joins number and unit with a
/// no-break space.
fn add_filters(env: &mut Environment<'static>) {
    env.add_filter("duration", opt(format::duration_ns));
    env.add_filter("size", opt(format::size));
    env.add_filter("rate", opt(format::rate));
    env.add_filter("bytes_rate", opt(format::bytes_rate));
    env.add_filter("count", opt(format::count));
    env.add_filter("pct", opt(format::pct));
    // A margin may be a phrase (`311× the threshold`) that can wrap.
    env.add_filter("margin", |v: Option<f64>| {
        v.map_or_else(|| "–".to_owned(), format::margin)
    });
    env.add_filter("ratio", opt(format::ratio));
    // ns → µs as a bare number with three significant digits (chart values).
    env.add_filter("us", |ns: f64| format::round3(ns / 1000.0));
    env.add_filter(
        "metric",
        |v: Option<f64>, unit: String| -> Result<String, minijinja::Error> {
            let unit = format::unit_named(&unit).ok_or_else(|| {
                minijinja::Error::new(
                    minijinja::ErrorKind::InvalidOperation,
                    format!("unknown unit `{unit}`"),
                )
            })?;
            Ok(v.map_or_else(|| "–".to_owned(), |v| glued(&format::metric(v, unit))))
        },
    );
}

/// A compiled report template: the built-in one or a `--template` file.
#[derive(Debug)]
pub struct MarkdownTemplate {
    env: Environment<'static>,
    name: String,
}

impl MarkdownTemplate {
    /// The built-in template.
    pub fn builtin() -> Result<Self, ReportError> {
        Self::from_source(
            BUILTIN_TEMPLATE_NAME.to_owned(),
            BUILTIN_TEMPLATE.to_owned(),
        )
    }

    /// The template in `path` (`--template`), read and compiled now so that
    /// a syntax error is reported before anything runs.
    pub fn from_file(path: &Path) -> Result<Self, ReportError> {
        let source = std::fs::read_to_string(path).map_err(|source| ReportError::ReadTemplate {
            path: path.to_owned(),
            source,
        })?;
        Self::from_source(path.display().to_string(), source)
    }

    /// A template named `name` with `source`.
    pub fn from_source(name: String, source: String) -> Result<Self, ReportError> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        env.set_keep_trailing_newline(true);
        add_filters(&mut env);
        env.add_template_owned(name.clone(), source)
            .map_err(|source| ReportError::Template {
                path: PathBuf::from(&name),
                template: name.clone(),
                source,
            })?;
        Ok(MarkdownTemplate { env, name })
    }

    /// The template's name as errors show it.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn err(&self, path: &Path) -> impl Fn(minijinja::Error) -> ReportError {
        let (path, template) = (path.to_owned(), self.name.clone());
        move |source| ReportError::Template {
            path: path.clone(),
            template: template.clone(),
            source,
        }
    }

    /// Renders the whole report; `path` names the output in errors.
    pub fn render(&self, report: &RunReport, path: &Path) -> Result<String, ReportError> {
        let ctx = Context::new(report, path)?;
        let tmpl = self.env.get_template(&self.name).map_err(self.err(path))?;
        tmpl.render(&ctx).map_err(self.err(path))
    }

    /// Renders only the `summary` block (verdict and assertion table).
    pub fn render_summary(&self, report: &RunReport, path: &Path) -> Result<String, ReportError> {
        let ctx = Context::new(report, path)?;
        let tmpl = self.env.get_template(&self.name).map_err(self.err(path))?;
        // Renders the whole template into a sink, then its summary block alone.
        let mut captured = tmpl
            .render_captured_to(&ctx, std::io::sink())
            .map_err(self.err(path))?;
        captured
            .with_state_mut(|state| state.render_block(SUMMARY_BLOCK))
            .map_err(self.err(path))
    }
}

/// `report.md` in a directory.
#[derive(Debug)]
pub struct MarkdownOutput {
    path: PathBuf,
    template: MarkdownTemplate,
}

impl MarkdownOutput {
    /// `out_dir/report.md`, rendered with `template`.
    pub fn new(out_dir: &Path, template: MarkdownTemplate) -> Self {
        MarkdownOutput {
            path: out_dir.join(REPORT_MD),
            template,
        }
    }
}

impl FileFormat for MarkdownOutput {
    fn render(&self, report: &RunReport) -> Result<Vec<OutputFile>, ReportError> {
        Ok(vec![OutputFile {
            path: self.path.clone(),
            contents: self.template.render(report, &self.path)?.into_bytes(),
        }])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture::run_report;

    fn render(variants: usize) -> String {
        MarkdownTemplate::builtin()
            .unwrap()
            .render(&run_report(variants), Path::new(REPORT_MD))
            .unwrap()
    }

    #[test]
    fn markdown_report_snapshot() {
        insta::assert_snapshot!(render(1));
    }

    #[test]
    fn markdown_report_with_variants_snapshot() {
        insta::assert_snapshot!(render(2));
    }

    #[test]
    fn summary_block_is_the_verdict_and_assertions_only() {
        let s = MarkdownTemplate::builtin()
            .unwrap()
            .render_summary(&run_report(1), Path::new(REPORT_MD))
            .unwrap();
        assert!(s.contains("FAIL"), "{s}");
        assert!(s.contains("write.append.p99 < 10ms"));
        assert!(!s.contains(".svg"), "no charts in the step summary: {s}");
    }

    #[test]
    fn store_appendix_is_collapsed_and_errors_are_called_out() {
        let mut report = run_report(1);
        report.variants[0].targets[1].store.appendix =
            Some("** DB Stats **\nUptime(secs): 65.0".to_owned());
        report.status = crate::metrics::report::RunStatus::Failed;
        report.error = Some("append on rocksdb-sync: io error".to_owned());
        let md = MarkdownTemplate::builtin()
            .unwrap()
            .render(&report, Path::new(REPORT_MD))
            .unwrap();
        assert!(
            md.contains("<details><summary>rocksdb-sync: store statistics dump</summary>"),
            "{md}"
        );
        assert!(md.contains("Uptime(secs): 65.0"));
        assert!(md.starts_with("# wal-vs-rocksdb-append: ⚠️ ERROR"), "{md}");
        assert!(md.contains("> The run stopped with an error: append on rocksdb-sync: io error."));
    }

    /// Guards issue 29: a get's hits (and their share of its operations)
    /// have a column of their own; a phase without gets has none.
    #[test]
    fn gets_show_their_hits_and_hit_ratio() {
        let mut report = run_report(1);
        let a = &mut report.variants[0].targets[0].phases[1].actors[0];
        a.op = "get".to_owned();
        a.hits = Some(a.count * 3 / 4);
        let hits = a.hits.unwrap_or_default();
        let md = MarkdownTemplate::builtin()
            .unwrap()
            .render(&report, Path::new(REPORT_MD))
            .unwrap();
        assert!(md.contains("| max | hits |"), "{md}");
        let row = md
            .lines()
            .find(|l| {
                l.contains(&format!(
                    "{} (75.0%) |",
                    crate::units::human::count(hits as f64)
                ))
            })
            .unwrap_or_else(|| panic!("no hits cell for {hits}: {md}"));
        let name = &report.variants[0].targets[0].phases[1].actors[0].name;
        assert!(row.starts_with(&format!("| {name} |")), "{row}");
        let plain = MarkdownTemplate::builtin()
            .unwrap()
            .render(&run_report(1), Path::new(REPORT_MD))
            .unwrap();
        assert!(!plain.contains("| hits |"), "no gets, no column: {plain}");
    }

    /// Guards issue 29: a matrix report puts the variants side by side,
    /// one table per phase and actor; a single variant has none.
    #[test]
    fn matrix_variants_are_tabled_side_by_side() {
        let md = render(2);
        let at = md
            .find("## Variants side by side")
            .expect("a side-by-side section");
        let section = &md[at..];
        let report = run_report(2);
        for v in &report.variants {
            assert!(section.contains(&format!("| `{}` |", v.label)), "{section}");
        }
        assert!(section.contains(", p99 "), "{section}");
        assert!(!render(1).contains("Variants side by side"));
    }

    /// Guards issue 29: store statistics beside a crash phase say whose
    /// they are (the child's writes are not in them), and a not-judged
    /// assertion shows its reason.
    #[test]
    fn crash_phases_label_the_store_statistics_and_not_judged_shows_why() {
        let mut report = run_report(1);
        let t = &mut report.variants[0].targets[0];
        let mut crash = t.phases[1].clone();
        crash.name = "recover".to_owned();
        crash.ended_by = "crash".to_owned();
        t.phases.push(crash);
        let a = &mut report.variants[0].assertions[0];
        a.verdict = Verdict::NotJudged;
        a.reason = Some("phase `recover` verified no record".to_owned());
        let md = MarkdownTemplate::builtin()
            .unwrap()
            .render(&report, Path::new(REPORT_MD))
            .unwrap();
        assert!(
            md.contains(
                "The writes of `recover` (crash and power-loss phases) happened in the crash child"
            ),
            "{md}"
        );
        assert!(
            md.contains("❔ not judged: phase `recover` verified no record"),
            "{md}"
        );
        assert!(md.contains("1 not judged"), "{md}");
    }

    #[test]
    fn strict_template_names_the_undefined_variable_and_template() {
        let t = MarkdownTemplate::from_source(
            "custom.md.j2".to_owned(),
            "# {{ report.scenario }}\n{{ nope }}\n".to_owned(),
        )
        .unwrap();
        let err = t
            .render(&run_report(1), Path::new("out/report.md"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("custom.md.j2"), "{err}");
        assert!(err.contains("undefined"), "{err}");
        assert!(err.contains("out/report.md"), "{err}");
    }

    #[test]
    fn template_file_override_and_syntax_errors() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("mine.md.j2");
        std::fs::write(&good, "{{ report.scenario }}: {{ verdict }} p99 {{ variants[0].phases[0].rows[0].latency.p99_ns | duration }}\n").unwrap();
        let t = MarkdownTemplate::from_file(&good).unwrap();
        assert_eq!(
            t.render(&run_report(1), Path::new(REPORT_MD)).unwrap(),
            "wal-vs-rocksdb-append: FAIL p99 500\u{a0}µs\n"
        );
        let bad = dir.path().join("bad.md.j2");
        std::fs::write(&bad, "{% if %}").unwrap();
        let err = MarkdownTemplate::from_file(&bad).unwrap_err().to_string();
        assert!(
            err.contains("bad.md.j2") && err.contains("syntax error"),
            "{err}"
        );
        let err = MarkdownTemplate::from_file(&dir.path().join("missing.j2"))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("cannot read template ") && err.contains("missing.j2"),
            "{err}"
        );
    }

    /// Regression (issue 27): numbers wrapped away from their units in
    /// GitHub's narrow columns, trimmer rows said `0/s`, the environment
    /// table rendered an empty header row, a huge margin read as a
    /// percentage, and `lost_records` above `acknowledged_records` looked
    /// like a bug with nothing saying what each counts.
    #[test]
    fn tables_people_read() {
        let mut report = run_report(1);
        let t = &mut report.variants[0].targets[0];
        let mixed = t
            .phases
            .iter_mut()
            .find(|p| p.name == "mixed")
            .expect("mixed");
        let mut trimmer = mixed.actors[0].clone();
        trimmer.name = "trimmer".into();
        trimmer.op = "trim".into();
        trimmer.records_per_s = 0.0;
        trimmer.bytes_per_s = 0.0;
        trimmer.service = None;
        trimmer.rate_per_s = None;
        mixed.actors.push(trimmer);
        mixed
            .metrics
            .insert("acknowledged_records".into(), 1_699_580.0);
        mixed.metrics.insert("lost_records".into(), 1_740_840.0);
        report.variants[0].assertions[0].margin = Some(310.092);
        let md = MarkdownTemplate::builtin()
            .unwrap()
            .render(&report, Path::new(REPORT_MD))
            .unwrap();
        assert!(
            md.contains("500\u{a0}µs"),
            "no-break space between number and unit"
        );
        assert!(!md.contains(" µs |"), "{md}");
        let row = md
            .lines()
            .find(|l| l.starts_with("| trimmer |"))
            .expect("a trimmer row");
        assert!(row.contains("| – | – |"), "{row}");
        assert!(
            md.contains("## Environment\n\n| component | version or value |\n"),
            "a header row that says something: {md}"
        );
        assert!(md.contains("311× the threshold"), "{md}");
        assert!(
            md.contains("- `lost_records`: records known to be in the store"),
            "{md}"
        );
        assert!(md.contains("- `acknowledged_records`: "), "{md}");
    }
}
