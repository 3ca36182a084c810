//! Outputs of a run, every one derived from a [`RunReport`](crate::metrics::report::RunReport): `results.csv`
//! and `assertions.csv`, `run.json`, `junit.xml`, `report.md` (minijinja
//! template), `bencher.json`, `timeline.csv` and `.hlog` interval logs, the console
//! summary, the GitHub step summary and annotations — and, live, the
//! Prometheus endpoint (`prometheus`).
//!
//! Outputs subscribe as [`Reporter`]s: the engine calls
//! [`Reporter::phase_finished`] after every phase and
//! [`Reporter::run_finished`] once at the end. The run directory's files
//! are one reporter, [`OutputFiles`]: each [`FileFormat`] renders its whole
//! file(s), and they are written together as one *generation* (all or
//! none replaced, `run.json` last) on a schedule that keeps the cost
//! linear in the number of phases (see `generation`). Adding a format is
//! one file plus one arm in [`file_outputs`] (`outputs`). This module does not
//! measure, and the engine never formats text.

mod atomic;
pub(crate) mod bencher;
pub(crate) mod charts;
pub(crate) mod compare;
mod compare_text;
pub(crate) mod conform;
pub(crate) mod console;
pub(crate) mod csv;
mod error;
pub(crate) mod fixture;
pub(crate) mod format;
pub(crate) mod generation;
pub(crate) mod github;
pub(crate) mod json;
pub(crate) mod junit;
pub(crate) mod live;
pub(crate) mod markdown;
mod outputs;
pub(crate) mod progress;
mod progress_trends;
pub(crate) mod prometheus;
pub(crate) mod rounds;
pub(crate) mod stream;
pub(crate) mod timeline;
pub(crate) mod verdict;

pub(crate) use atomic::OutputFile;
pub(crate) use error::ReportError;
pub(crate) use generation::OutputFiles;
pub(crate) use outputs::{FileFormat, Reporter, check_template, file_outputs};
