//! [`ChartsOutput`]: the [`FileFormat`] that writes one SVG file per
//! planned chart into the run directory, beside `report.md`, which links
//! them by the same names.

use std::path::{Path, PathBuf};

use super::{plan, plot};
use crate::metrics::report::RunReport;
use crate::report::{FileFormat, OutputFile, ReportError};

/// The charts of a run directory.
#[derive(Debug)]
pub(crate) struct ChartsOutput {
    dir: PathBuf,
}

impl ChartsOutput {
    /// Charts in `out_dir`.
    pub(crate) fn new(out_dir: &Path) -> Self {
        ChartsOutput {
            dir: out_dir.to_owned(),
        }
    }
}

impl FileFormat for ChartsOutput {
    fn render(&self, report: &RunReport) -> Result<Vec<OutputFile>, ReportError> {
        plan::plan(report)
            .0
            .iter()
            .map(|spec| {
                let path = self.dir.join(&spec.file);
                let svg = plot::render(&plan::figure(report, spec)).map_err(|message| {
                    ReportError::Chart {
                        path: path.clone(),
                        message,
                    }
                })?;
                Ok(OutputFile {
                    path,
                    contents: svg.into_bytes(),
                })
            })
            .collect()
    }
}
