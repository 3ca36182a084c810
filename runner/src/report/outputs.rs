//! The run directory's files as one reporter: the [`Reporter`] and
//! [`FileFormat`] traits, the closed set of [`FileOutput`]s, and
//! [`file_outputs`], the one `match` that builds a format for each (adding
//! a format is one file plus one arm here). [`check_template`] checks a
//! `--template` before anything runs.

use std::path::Path;

use super::{OutputFile, OutputFiles, ReportError};
use super::{bencher, charts, csv, fixture, json, junit, markdown, timeline};

use crate::metrics::report::RunReport;

/// An output fed with the report as the run progresses.
pub(crate) trait Reporter {
    /// Called after each phase on each target with the report so far
    /// (status `running`).
    fn phase_finished(&mut self, report: &RunReport) -> Result<(), ReportError>;
    /// Called once when the run ends (complete, interrupted or failed).
    fn run_finished(&mut self, report: &RunReport) -> Result<(), ReportError>;
}

/// One file format of the run directory: renders its whole file(s) from
/// the report; [`OutputFiles`] decides when and writes them.
pub(crate) trait FileFormat {
    /// The files of this format for `report`.
    fn render(&self, report: &RunReport) -> Result<Vec<OutputFile>, ReportError>;
}

/// The file outputs of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FileOutput {
    /// `results.csv` and `assertions.csv`.
    Csv,
    /// `run.json`.
    Json,
    /// `junit.xml`.
    Junit,
    /// `report.md`.
    Markdown,
    /// The SVG charts `report.md` links, beside it.
    Charts,
    /// `bencher.json` (Bencher Metric Format).
    Bencher,
    /// `timeline.csv` and one `.hlog` interval log per actor and phase.
    Timeline,
}

impl FileOutput {
    /// Every file output, in the order a generation renames them:
    /// `run.json`, which holds everything, last — it is the commit point.
    pub(crate) const ALL: &[FileOutput] = &[
        FileOutput::Csv,
        FileOutput::Junit,
        FileOutput::Markdown,
        FileOutput::Charts,
        FileOutput::Bencher,
        FileOutput::Timeline,
        FileOutput::Json,
    ];
}

/// Checks a `--template` before anything runs: it must be a readable
/// file that compiles and renders a complete sample report (two targets,
/// every kind of phase and verdict, a matrix) under strict undefined
/// behaviour, so a typo in a variable name is found now, not after the
/// benchmark.
pub(crate) fn check_template(path: &Path) -> Result<(), ReportError> {
    let template = markdown::MarkdownTemplate::from_file(path)?;
    for variants in [1, 2] {
        template.render(&fixture::run_report(variants), Path::new("report.md"))?;
    }
    Ok(())
}

/// Every file output of `out_dir`, `report.md` from `template` when given
/// (else the built-in template). A template that cannot be read or does
/// not compile is an error here, before any phase runs.
pub(crate) fn file_outputs(
    out_dir: &Path,
    template: Option<&Path>,
) -> Result<OutputFiles, ReportError> {
    let formats = FileOutput::ALL
        .iter()
        .map(|output| -> Result<Box<dyn FileFormat>, ReportError> {
            Ok(match output {
                FileOutput::Csv => Box::new(csv::CsvOutput::new(out_dir)),
                FileOutput::Json => Box::new(json::JsonOutput::new(out_dir)),
                FileOutput::Junit => Box::new(junit::JunitOutput::new(out_dir)),
                FileOutput::Charts => Box::new(charts::ChartsOutput::new(out_dir)),
                FileOutput::Bencher => Box::new(bencher::BencherOutput::new(out_dir)),
                FileOutput::Timeline => Box::new(timeline::TimelineOutput::new(out_dir)),
                FileOutput::Markdown => {
                    let t = match template {
                        Some(path) => markdown::MarkdownTemplate::from_file(path)?,
                        None => markdown::MarkdownTemplate::builtin()?,
                    };
                    Box::new(markdown::MarkdownOutput::new(out_dir, t))
                }
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(OutputFiles::new(out_dir, formats))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::report::RunStatus;
    use fixture::run_report;

    #[test]
    fn every_file_is_on_disk_and_parses_after_a_phase() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("run-1");
        let mut reporters = file_outputs(&out, None).unwrap();
        let mut report = run_report(1);
        report.status = RunStatus::Running;
        report.finished_at = None;
        for v in &mut report.variants {
            v.assertions.clear();
            for t in &mut v.targets {
                t.phases.truncate(2);
            }
        }
        reporters.phase_finished(&report).unwrap();
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join("run.json")).unwrap()).unwrap();
        assert_eq!(json["status"], "running");
        let rows = ::csv::Reader::from_path(out.join("results.csv"))
            .unwrap()
            .records()
            .count();
        assert_eq!(rows, report.rows().len());
        assert!(rows > 0);
        assert_eq!(
            ::csv::Reader::from_path(out.join("assertions.csv"))
                .unwrap()
                .records()
                .count(),
            0
        );
        let xml = std::fs::read_to_string(out.join("junit.xml")).unwrap();
        assert!(
            xml.starts_with("<?xml") && xml.trim_end().ends_with("</testsuites>"),
            "{xml}"
        );
        let md = std::fs::read_to_string(out.join("report.md")).unwrap();
        assert!(
            md.contains("RUNNING") && md.contains("Phase `write`") && !md.contains("Phase `mixed`")
        );

        // The next phase rewrites every file whole.
        let full = run_report(1);
        reporters.run_finished(&full).unwrap();
        let md = std::fs::read_to_string(out.join("report.md")).unwrap();
        assert!(md.contains("Phase `mixed`") && md.contains("FAIL"));
        assert_eq!(
            ::csv::Reader::from_path(out.join("assertions.csv"))
                .unwrap()
                .records()
                .count(),
            6
        );
        let mut names: Vec<_> = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                "assertions.csv",
                "bencher.json",
                "junit.xml",
                "latency-mixed-writer.svg",
                "latency-write-append.svg",
                "report.md",
                "results.csv",
                "rocksdb-sync.write.append.hlog",
                "run.json",
                "timeline-write-append.svg",
                "timeline.csv",
                "wal-group-commit.write.append.hlog",
            ]
        );
    }

    #[test]
    fn a_missing_template_fails_before_anything_runs() {
        let dir = tempfile::tempdir().unwrap();
        let err = file_outputs(dir.path(), Some(&dir.path().join("nope.j2")))
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("nope.j2"), "{err}");
    }
}
