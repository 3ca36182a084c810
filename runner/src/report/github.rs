//! GitHub Actions integration: the summary part of the Markdown report
//! appended to `$GITHUB_STEP_SUMMARY`, and `::error` workflow-command
//! annotations for failed assertions when `GITHUB_ACTIONS=true`.
//!
//! Reads only those two environment variables; writes only the step
//! summary file. See
//! <https://docs.github.com/en/actions/reference/workflow-commands-for-github-actions>.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::markdown::MarkdownTemplate;
use super::verdict::describe_result;
use super::{ReportError, Reporter};
use crate::metrics::report::RunReport;
use crate::metrics::verdict::Verdict;
use crate::scenario::diagnostic::{Diagnostic, Severity};

/// The step summary is limited to 1 MiB per step; stay far below it so
/// other steps' summaries still fit.
pub(crate) const SUMMARY_LIMIT: usize = 256 * 1024;

/// The summary (verdict and assertion tables) of `report` as Markdown,
/// rendered from the built-in template's `summary` block and cut at a line
/// boundary to at most [`SUMMARY_LIMIT`] bytes.
pub(crate) fn step_summary(report: &RunReport) -> Result<String, ReportError> {
    let template = MarkdownTemplate::builtin()?;
    let mut text = template.render_summary(report, Path::new("$GITHUB_STEP_SUMMARY"))?;
    if text.len() > SUMMARY_LIMIT {
        let note = "\n\n_… cut to fit the step summary; see `report.md` for the rest._\n";
        let mut cut = SUMMARY_LIMIT - note.len();
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        let cut = text[..cut].rfind('\n').unwrap_or(cut);
        text.truncate(cut);
        text.push_str(note);
    }
    if !text.ends_with('\n') {
        text.push('\n');
    }
    Ok(text)
}

/// A GitHub Actions workflow command that annotates the diagnostic's line.
pub(crate) fn diagnostic_annotation(d: &Diagnostic) -> String {
    let level = match d.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    let mut msg = d.message.clone();
    if let Some(h) = &d.help {
        msg.push_str("; ");
        msg.push_str(h);
    }
    format!(
        "::{level} file={},line={},col={}::{}",
        escape_property(&d.file),
        d.line,
        d.column,
        escape_data(&msg)
    )
}

/// Appends the step summary of `report` to `path`.
pub(crate) fn append_step_summary(path: &Path, report: &RunReport) -> Result<(), ReportError> {
    let text = step_summary(report)?;
    let err = |source| ReportError::Write {
        op: "append to",
        path: path.to_owned(),
        source,
    };
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(err)?;
    file.write_all(text.as_bytes()).map_err(err)
}

/// True when running under GitHub Actions (`GITHUB_ACTIONS=true`).
pub(crate) fn under_actions() -> bool {
    std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true")
}

/// Makes free text safe to print under GitHub Actions, which runs any
/// output line that starts (after leading white space) with `::` as a
/// workflow command (`::add-mask::`, `::warning …`, `::stop-commands::`),
/// and any `##[` as a legacy one. A scenario comes from a pull request, so
/// a key or an assertion holding a newline and `::warning …` must not
/// become a command: such lines get a zero-width space (U+200B) before the
/// `::`, and `##[` becomes `#\u{200B}#[`. Nothing changes for other lines.
/// loadline's own annotations are printed without this.
pub(crate) fn neutralize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    // The runner splits lines at CR as well as LF.
    for line in text.split_inclusive(['\n', '\r']) {
        let body = line.trim_start();
        let lead = line.len() - body.len();
        out.push_str(&line[..lead]);
        if body.starts_with("::") {
            out.push('\u{200B}');
        }
        out.push_str(&body.replace("##[", "#\u{200B}#["));
    }
    out
}

/// Escapes workflow-command data (`%`, CR, LF).
pub(crate) fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a workflow-command property value (also `:` and `,`).
pub(crate) fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// One `::error` line per failed assertion per target, plus one for an
/// error that stopped the run, naming the scenario file.
pub(crate) fn annotations(report: &RunReport) -> Vec<String> {
    let file = if report.file.is_empty() {
        String::new()
    } else {
        format!("file={},", escape_property(&report.file))
    };
    let mut lines = Vec::new();
    for v in &report.variants {
        let variant = if v.label.is_empty() {
            String::new()
        } else {
            format!(" [{}]", v.label)
        };
        for a in v
            .assertions
            .iter()
            .filter(|a| matches!(a.verdict, Verdict::Fail | Verdict::NotJudged))
        {
            let what = if a.verdict == Verdict::Fail {
                "failed"
            } else {
                "not judged"
            };
            let title = escape_property(&format!("assertion {what} on {}{variant}", a.target));
            let message = escape_data(&format!("{}: {}", a.assertion, describe_result(a)));
            // The assertion's line, so the annotation sits on it in the diff.
            let line = match (a.line, file.is_empty()) {
                (Some(n), false) => format!("line={n},"),
                _ => String::new(),
            };
            lines.push(format!("::error {file}{line}title={title}::{message}"));
        }
    }
    if let Some(e) = &report.error {
        lines.push(format!(
            "::error {file}title=run stopped::{}",
            escape_data(e)
        ));
    }
    lines
}

/// [`annotations`] when running under GitHub Actions (`GITHUB_ACTIONS=true`),
/// else nothing.
pub(crate) fn annotations_from_env(report: &RunReport) -> Vec<String> {
    if under_actions() {
        annotations(report)
    } else {
        Vec::new()
    }
}

/// Appends the step summary when the run finishes (nothing per phase: the
/// file is append-only).
#[derive(Debug)]
pub(crate) struct StepSummaryReporter {
    path: PathBuf,
}

impl StepSummaryReporter {
    /// A reporter appending to `path`.
    pub(crate) fn new(path: PathBuf) -> Self {
        StepSummaryReporter { path }
    }

    /// A reporter appending to `$GITHUB_STEP_SUMMARY`, when it is set and
    /// not empty.
    pub(crate) fn from_env() -> Option<Self> {
        std::env::var_os("GITHUB_STEP_SUMMARY")
            .filter(|p| !p.is_empty())
            .map(|p| Self::new(PathBuf::from(p)))
    }
}

impl Reporter for StepSummaryReporter {
    fn phase_finished(&mut self, _report: &RunReport) -> Result<(), ReportError> {
        Ok(())
    }

    fn run_finished(&mut self, report: &RunReport) -> Result<(), ReportError> {
        append_step_summary(&self.path, report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture::run_report;

    #[test]
    fn neutralize_defuses_workflow_commands_in_free_text() {
        let evil = "unknown key `a\n::warning file=x::pwned`\r  ::add-mask::secret\nsee ##[error]x";
        let safe = neutralize(evil);
        for line in safe.split(['\n', '\r']) {
            assert!(!line.trim_start().starts_with("::"), "{line:?}");
            assert!(!line.contains("##["), "{line:?}");
        }
        assert_eq!(
            safe.replace('\u{200B}', ""),
            evil,
            "only zero-width spaces are added"
        );
        assert_eq!(neutralize("plain\n  text: a::b\n"), "plain\n  text: a::b\n");
    }

    #[test]
    fn annotations_name_the_failed_assertion_target_and_values() {
        let lines = annotations(&run_report(1));
        assert_eq!(
            lines,
            [
                "::error file=scenarios/wal-vs-rocksdb.yaml,line=22,title=assertion failed on rocksdb-sync::mixed.writer.records_per_s >= 50k: observed 49.0 k/s vs threshold 50.0 k/s (\u{2212}2.0%25)"
            ]
        );
    }

    #[test]
    fn annotation_data_is_escaped() {
        let mut report = run_report(1);
        report.error = Some("disk full: 100%\nretry".to_owned());
        assert!(
            annotations(&report)
                .last()
                .unwrap()
                .ends_with("::disk full: 100%25%0Aretry")
        );
    }

    #[test]
    fn step_summary_is_appended_and_small() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("summary.md");
        std::fs::write(&path, "earlier step\n").unwrap();
        let mut r = StepSummaryReporter::new(path.clone());
        r.phase_finished(&run_report(2)).unwrap();
        r.run_finished(&run_report(2)).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.starts_with("earlier step\n# wal-vs-rocksdb-append"),
            "{text}"
        );
        assert!(text.contains("variant `batch=100`"));
        assert!(!text.contains("```mermaid") && text.len() < SUMMARY_LIMIT);
    }
}
