//! SVG charts beside `report.md`, drawn with plotters' SVG backend (no
//! bitmap backend, no font files): `plan` decides which charts a report
//! gets and shapes their data, `plot` draws a figure (`label` places its
//! threshold labels, `sweep` shapes the matrix chart, `trend_line` adds the
//! fitted trend and drift windows to a timeline, `process` shapes a
//! phase's RSS chart), `output` writes the
//! files as part of each generation.

mod label;
mod output;
pub(crate) mod plan;
pub(crate) mod plot;
mod process;
mod sweep;
mod trend_line;

pub(crate) use output::ChartsOutput;
pub(crate) use plan::{ChartKind, ChartSpec, MAX_CHARTS, plan};
