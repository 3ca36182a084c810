//! `run.json`: the whole [`RunReport`] as pretty JSON — resolved scenario,
//! seed, environment, every metric and the serialized HDR histograms.

use std::path::{Path, PathBuf};

use super::{FileFormat, OutputFile, ReportError};
use crate::metrics::report::RunReport;

/// The file name of the JSON report.
pub(crate) const RUN_JSON: &str = "run.json";

/// The contents of `run.json` for `report`.
pub(crate) fn run_json(report: &RunReport, path: &Path) -> Result<Vec<u8>, ReportError> {
    let mut bytes = serde_json::to_vec_pretty(report).map_err(|source| ReportError::Json {
        path: path.to_owned(),
        source,
    })?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// `run.json` in a directory.
#[derive(Debug)]
pub(crate) struct JsonOutput {
    path: PathBuf,
}

impl JsonOutput {
    /// `out_dir/run.json`.
    pub(crate) fn new(out_dir: &Path) -> Self {
        JsonOutput {
            path: out_dir.join(RUN_JSON),
        }
    }
}

impl FileFormat for JsonOutput {
    fn render(&self, report: &RunReport) -> Result<Vec<OutputFile>, ReportError> {
        Ok(vec![OutputFile {
            path: self.path.clone(),
            contents: run_json(report, &self.path)?,
        }])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture::run_report;

    #[test]
    fn run_json_holds_the_whole_report() {
        let report = run_report(1);
        let value: serde_json::Value =
            serde_json::from_slice(&run_json(&report, Path::new(RUN_JSON)).unwrap()).unwrap();
        assert_eq!(value["seed"], 42);
        assert_eq!(value["status"], "complete");
        assert_eq!(
            value["variants"][0]["resolved"]["name"],
            "wal-vs-rocksdb-append"
        );
        assert_eq!(
            value["variants"][0]["targets"][0]["phases"][2]["actors"][0]["service"]["p99_ns"],
            400_000
        );
        assert!(
            value["variants"][0]["targets"][0]["phases"][1]["actors"][0]["histogram"]
                .as_str()
                .unwrap()
                .starts_with("HIST")
        );
    }
}
