//! The [`Context`] a `report.md` template sees: the whole `RunReport` as
//! `report`, plus the views arranged for its tables.

use std::path::Path;

use serde::Serialize;

use super::phase::ChartLink;
use super::side::{SideBySide, side_by_side};
use super::variant::{VariantView, variant_view};
use crate::metrics::report::{Environment as HostEnvironment, RunReport};
use crate::report::ReportError;
use crate::report::charts::{self, ChartKind, ChartSpec};
use crate::report::verdict::{Counts, RunVerdict};

/// What a template sees.
#[derive(Debug, Serialize)]
pub(crate) struct Context<'a> {
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
    pub rounds: Option<crate::report::rounds::RoundsView>,
}

impl<'a> Context<'a> {
    /// The context of `report`; `path` names the output in errors.
    pub(crate) fn new(report: &'a RunReport, path: &Path) -> Result<Self, ReportError> {
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
            rounds: crate::report::rounds::view(report),
        })
    }
}
