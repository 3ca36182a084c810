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
pub mod bencher;
pub mod charts;
pub mod compare;
mod compare_text;
pub(crate) mod conform;
pub mod console;
pub mod csv;
mod error;
pub(crate) mod fixture;
pub mod format;
pub mod generation;
pub mod github;
pub mod json;
pub mod junit;
pub mod live;
pub mod markdown;
mod outputs;
pub mod progress;
mod progress_trends;
pub mod prometheus;
pub mod rounds;
pub mod stream;
pub mod timeline;
pub mod verdict;

pub use atomic::OutputFile;
pub use error::ReportError;
pub use generation::OutputFiles;
pub use outputs::{FileFormat, Reporter, check_template, file_outputs};
