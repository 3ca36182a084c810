//! The outputs of `loadline compare` (and `run --baseline`): the console
//! table, `compare.md`, `compare.csv`, `junit.xml`, and under GitHub
//! Actions the step summary and `::error` annotations — all rendered from
//! one [`Comparison`], so they always agree.
//!
//! The table shows the headline cells (throughput, p50, p99, reopen time)
//! and every cell that changed beyond its threshold; `compare.csv` holds
//! every cell.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use super::format::{metric, pct};
use super::{OutputFile, ReportError};
use crate::compare::diff::{Change, Comparison, Status};
use crate::compare::stats;

/// `compare.md`.
pub const COMPARE_MD: &str = "compare.md";
/// `compare.csv`.
pub const COMPARE_CSV: &str = "compare.csv";

/// Metrics every table shows, changed or not.
const HEADLINE: &[&str] = &["records_per_s", "p50", "p99", "reopen.duration"];

/// Which runs were compared, as the outputs name them.
#[derive(Debug, Clone)]
pub struct Sides {
    /// Where the base run was read.
    pub base: String,
    /// Where the new run was read.
    pub new: String,
}

/// The overall outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareVerdict {
    /// No regression.
    Pass,
    /// At least one regression.
    Regression,
    /// Cells missing on either side.
    Incomparable,
}

impl CompareVerdict {
    /// The verdict of `c`.
    pub fn of(c: &Comparison) -> Self {
        if !c.comparable() {
            CompareVerdict::Incomparable
        } else if c.regressions().next().is_some() {
            CompareVerdict::Regression
        } else {
            CompareVerdict::Pass
        }
    }

    /// `PASS`, `REGRESSION`, `INCOMPARABLE`.
    pub fn label(self) -> &'static str {
        match self {
            CompareVerdict::Pass => "PASS",
            CompareVerdict::Regression => "REGRESSION",
            CompareVerdict::Incomparable => "INCOMPARABLE",
        }
    }
}

/// The rows every table shows: headline cells and changed ones.
pub fn table_rows(c: &Comparison) -> Vec<&Change> {
    c.changes
        .iter()
        .filter(|ch| {
            HEADLINE.contains(&ch.key.metric.as_str())
                || matches!(
                    ch.status,
                    Status::Regression | Status::Improvement | Status::Noise
                )
        })
        .collect()
}

fn status_label(s: Status) -> &'static str {
    match s {
        Status::Regression => "regression",
        Status::Improvement => "improvement",
        Status::Noise => "within noise",
        Status::Unchanged => "unchanged",
        Status::Info => "-",
    }
}

fn mark(s: Status) -> &'static str {
    match s {
        Status::Regression => "✗",
        Status::Improvement => "↑",
        Status::Noise => "~",
        Status::Unchanged => "=",
        Status::Info => " ",
    }
}

/// `+12.3%`, `−4.0%`, `new (was 0)`.
fn change_text(ch: &Change) -> String {
    match ch.change {
        Some(f) => super::format::margin(f),
        None => "from 0".to_owned(),
    }
}

/// `0.91–1.05×` or `n/a (1 round)`.
fn interval_text(ch: &Change) -> String {
    match ch.interval {
        Some((lo, hi)) => format!("{lo:.3}–{hi:.3}×"),
        None => format!("n/a ({}+{} rounds)", ch.base_rounds, ch.new_rounds),
    }
}

/// The statistics used, in a sentence.
pub fn method(c: &Comparison) -> String {
    let mut s = format!(
        "A cell regresses when its median is worse by more than its threshold (default {}) and, with at least {} rounds on each side, a {}% bootstrap confidence interval of the ratio of medians ({} resamples, seeded) excludes no change.",
        pct(crate::compare::diff::DEFAULT_THRESHOLD),
        stats::MIN_ROUNDS,
        (stats::CONFIDENCE * 100.0).round(),
        stats::RESAMPLES
    );
    if c.noise_unjudged() {
        s.push_str(
            " Some cells have fewer rounds: their noise cannot be judged, so the threshold alone decides (run with more rounds to judge it).",
        );
    }
    s
}

fn summary_line(c: &Comparison) -> String {
    format!(
        "{} cells compared: {} regressed, {} improved, {} within noise, {} unchanged, {} not judged",
        c.changes.len(),
        c.count(Status::Regression),
        c.count(Status::Improvement),
        c.count(Status::Noise),
        c.count(Status::Unchanged),
        c.count(Status::Info)
    )
}

/// One line per side with missing cells, naming up to 20 of them.
pub fn missing_lines(c: &Comparison) -> Vec<String> {
    let mut out = Vec::new();
    for (side, keys) in [("new", &c.missing_in_new), ("base", &c.missing_in_base)] {
        if keys.is_empty() {
            continue;
        }
        let shown: Vec<String> = keys.iter().take(20).map(|k| k.describe()).collect();
        let more = if keys.len() > shown.len() {
            format!(" … and {} more", keys.len() - shown.len())
        } else {
            String::new()
        };
        out.push(format!(
            "{} cell(s) missing in the {side} run: {}{more}",
            keys.len(),
            shown.join("; ")
        ));
    }
    out
}

/// The console table and verdict. Ends with a newline.
pub fn console(c: &Comparison, sides: &Sides) -> String {
    let mut s = format!("compare: base {} → new {}\n", sides.base, sides.new);
    for n in &c.notes {
        let _ = writeln!(s, "note: {n}");
    }
    let rows = table_rows(c);
    let cell_w = rows
        .iter()
        .map(|r| r.key.describe().chars().count())
        .max()
        .unwrap_or(4)
        .max(4);
    let _ = writeln!(
        s,
        "  {:cell_w$}  {:>10}  {:>10}  {:>8}  {:>18}  status",
        "cell", "base", "new", "change", "ratio 95% CI"
    );
    for r in rows {
        let _ = writeln!(
            s,
            "{} {:cell_w$}  {:>10}  {:>10}  {:>8}  {:>18}  {}",
            mark(r.status),
            r.key.describe(),
            metric(r.base, r.unit),
            metric(r.new, r.unit),
            change_text(r),
            interval_text(r),
            status_label(r.status)
        );
    }
    for m in missing_lines(c) {
        let _ = writeln!(s, "error: {m}");
    }
    let _ = writeln!(s, "{}", summary_line(c));
    if c.noise_unjudged() {
        let _ = writeln!(
            s,
            "noise not judged: fewer than {} rounds on a side, the threshold alone decides",
            stats::MIN_ROUNDS
        );
    }
    let _ = writeln!(s, "{}", CompareVerdict::of(c).label());
    s
}

fn md_escape(s: &str) -> String {
    s.replace('|', "\\|")
}

/// `compare.md`.
pub fn markdown(c: &Comparison, sides: &Sides) -> String {
    let verdict = CompareVerdict::of(c);
    let icon = match verdict {
        CompareVerdict::Pass => "✅",
        CompareVerdict::Regression => "❌",
        CompareVerdict::Incomparable => "⚠️",
    };
    let mut s = format!(
        "# Comparison: `{}`\n\n**{icon} {}** — {}\n\nBase `{}` · new `{}`\n\n",
        md_escape(&c.new_scenario),
        verdict.label(),
        summary_line(c),
        md_escape(&sides.base),
        md_escape(&sides.new)
    );
    for n in &c.notes {
        let _ = writeln!(s, "- ⚠️ {}", md_escape(n));
    }
    for m in missing_lines(c) {
        let _ = writeln!(s, "- ⚠️ {}", md_escape(&m));
    }
    if !c.notes.is_empty() || !c.comparable() {
        s.push('\n');
    }
    s.push_str("| | cell | base | new | change | ratio 95% CI | threshold | status |\n");
    s.push_str("|---|---|---:|---:|---:|---:|---:|---|\n");
    for r in table_rows(c) {
        let _ = writeln!(
            s,
            "| {} | `{}` | {} | {} | {} | {} | ±{} | {} |",
            match r.status {
                Status::Regression => "❌",
                Status::Improvement => "🟢",
                Status::Noise => "〰️",
                _ => "",
            },
            md_escape(&r.key.describe()),
            metric(r.base, r.unit),
            metric(r.new, r.unit),
            change_text(r),
            interval_text(r),
            pct(r.threshold),
            status_label(r.status)
        );
    }
    let _ = write!(
        s,
        "\nThe table shows throughput, p50, p99 and reopen time of every cell, and every cell that changed beyond its threshold; `compare.csv` has all {} cells. {}\n",
        c.changes.len(),
        method(c)
    );
    s
}

fn number(x: f64) -> String {
    if x.is_finite() && x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{x:.0}")
    } else {
        format!("{x}")
    }
}

/// `compare.csv`: every cell in both runs.
pub fn csv(c: &Comparison, path: &Path) -> Result<Vec<u8>, ReportError> {
    let err = |source| ReportError::Csv {
        path: path.to_owned(),
        source,
    };
    let mut w = ::csv::Writer::from_writer(Vec::new());
    w.write_record([
        "variant",
        "target",
        "phase",
        "actor",
        "metric",
        "unit",
        "better",
        "base",
        "new",
        "base_rounds",
        "new_rounds",
        "change",
        "ratio_ci_low",
        "ratio_ci_high",
        "threshold",
        "status",
    ])
    .map_err(err)?;
    for ch in &c.changes {
        let better = match ch.better {
            Some(crate::metrics::catalog::Better::Lower) => "lower",
            Some(crate::metrics::catalog::Better::Higher) => "higher",
            None => "",
        };
        let (lo, hi) = ch
            .interval
            .map_or((String::new(), String::new()), |(l, h)| {
                (number(l), number(h))
            });
        w.write_record([
            ch.key.variant.as_str(),
            &ch.key.target,
            &ch.key.phase,
            &ch.key.actor,
            &ch.key.metric,
            ch.unit.label(),
            better,
            &number(ch.base),
            &number(ch.new),
            &ch.base_rounds.to_string(),
            &ch.new_rounds.to_string(),
            &ch.change.map_or_else(|| "inf".to_owned(), number),
            &lo,
            &hi,
            &number(ch.threshold),
            match ch.status {
                Status::Regression => "regression",
                Status::Improvement => "improvement",
                Status::Noise => "noise",
                Status::Unchanged => "unchanged",
                Status::Info => "info",
            },
        ])
        .map_err(err)?;
    }
    w.into_inner().map_err(|e| ReportError::Write {
        op: "write",
        path: path.to_owned(),
        source: e.into_error(),
    })
}

/// `junit.xml`: one test case per judged cell (a regression fails), and
/// an error case per side with missing cells.
pub fn junit(c: &Comparison, path: &Path) -> Result<Vec<u8>, ReportError> {
    let mut report = Report::new(format!("loadline compare {}", c.new_scenario));
    let mut suite = TestSuite::new("compare");
    for ch in c.changes.iter().filter(|ch| ch.better.is_some()) {
        let detail = format!(
            "base {} → new {} ({}; ratio 95% CI {}; threshold ±{})",
            metric(ch.base, ch.unit),
            metric(ch.new, ch.unit),
            change_text(ch),
            interval_text(ch),
            pct(ch.threshold)
        );
        let status = if ch.status == Status::Regression {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
            s.set_message(format!("regression: {detail}"))
                .set_type("regression");
            s
        } else {
            TestCaseStatus::success()
        };
        let mut case = TestCase::new(ch.key.describe(), status);
        case.set_classname(format!("{}.{}", c.new_scenario, ch.key.target));
        if ch.status != Status::Regression {
            case.system_out = Some(detail.into());
        }
        suite.add_test_case(case);
    }
    for m in missing_lines(c) {
        let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
        status.set_message(m).set_type("incomparable");
        suite.add_test_case(TestCase::new("missing cells", status));
    }
    report.add_test_suite(suite);
    let mut out = Vec::new();
    report
        .serialize(&mut out)
        .map_err(|source| ReportError::Junit {
            path: path.to_owned(),
            source,
        })?;
    Ok(super::junit::without_root_skipped(out))
}

/// The files `--out DIR` writes.
pub fn files(c: &Comparison, sides: &Sides, dir: &Path) -> Result<Vec<OutputFile>, ReportError> {
    let md = dir.join(COMPARE_MD);
    let csv_path = dir.join(COMPARE_CSV);
    let junit_path = dir.join(super::junit::JUNIT_XML);
    Ok(vec![
        OutputFile {
            contents: markdown(c, sides).into_bytes(),
            path: md,
        },
        OutputFile {
            contents: csv(c, &csv_path)?,
            path: csv_path,
        },
        OutputFile {
            contents: junit(c, &junit_path)?,
            path: junit_path,
        },
    ])
}

/// Writes `files` (each to a temporary name, then renamed into place).
pub fn write_files(files: &[OutputFile]) -> Result<Vec<PathBuf>, ReportError> {
    let mut written = Vec::new();
    for f in files {
        if let Some(parent) = f.path.parent() {
            std::fs::create_dir_all(parent).map_err(|source| ReportError::Write {
                op: "create",
                path: parent.to_owned(),
                source,
            })?;
        }
        let tmp = super::atomic::tmp_path(&f.path);
        std::fs::write(&tmp, &f.contents).map_err(|source| ReportError::Write {
            op: "write",
            path: tmp.clone(),
            source,
        })?;
        std::fs::rename(&tmp, &f.path).map_err(|source| ReportError::Write {
            op: "rename into place",
            path: f.path.clone(),
            source,
        })?;
        written.push(f.path.clone());
    }
    Ok(written)
}

/// `::error` lines for each regression and each side with missing cells.
pub fn annotations(c: &Comparison) -> Vec<String> {
    use super::github::{escape_data, escape_property};
    let mut lines: Vec<String> = c
        .regressions()
        .map(|ch| {
            format!(
                "::error title={}::{}",
                escape_property(&format!("regression on {}", ch.key.target)),
                escape_data(&format!(
                    "{}: base {} → new {} ({}, threshold ±{})",
                    ch.key.describe(),
                    metric(ch.base, ch.unit),
                    metric(ch.new, ch.unit),
                    change_text(ch),
                    pct(ch.threshold)
                ))
            )
        })
        .collect();
    for m in missing_lines(c) {
        lines.push(format!(
            "::error title=incomparable runs::{}",
            escape_data(&m)
        ));
    }
    lines
}

/// Appends `compare.md` (cut to the step summary limit) to `path`.
pub fn append_step_summary(path: &Path, c: &Comparison, sides: &Sides) -> Result<(), ReportError> {
    use std::io::Write;
    let mut text = markdown(c, sides);
    if text.len() > super::github::SUMMARY_LIMIT {
        let mut cut = super::github::SUMMARY_LIMIT - 100;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        let cut = text[..cut].rfind('\n').unwrap_or(cut);
        text.truncate(cut);
        text.push_str("\n\n_… cut to fit the step summary; see `compare.md`._\n");
    }
    let err = |source| ReportError::Write {
        op: "append to",
        path: path.to_owned(),
        source,
    };
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(err)?;
    file.write_all(text.as_bytes()).map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::diff::{CompareOptions, compare};
    use crate::report::fixture::run_report;

    fn slower() -> Comparison {
        let base = run_report(1);
        let mut new = base.clone();
        let a = &mut new.variants[0].targets[0].phases[1].actors[0];
        a.latency.p99_ns *= 2;
        a.records_per_s *= 0.95;
        compare(&base, &new, &CompareOptions::default())
    }

    fn sides() -> Sides {
        Sides {
            base: "base/run.json".into(),
            new: "new/run.json".into(),
        }
    }

    #[test]
    fn console_compare_snapshot() {
        insta::assert_snapshot!(console(&slower(), &sides()));
    }

    #[test]
    fn markdown_compare_snapshot() {
        insta::assert_snapshot!(markdown(&slower(), &sides()));
    }

    #[test]
    fn junit_fails_the_regressed_cell_only() {
        let xml = String::from_utf8(junit(&slower(), Path::new("junit.xml")).expect("xml"))
            .expect("utf-8");
        // p99 and the per-record p99 derived from it.
        assert_eq!(xml.matches("<failure").count(), 2, "{xml}");
        assert!(
            xml.contains("write.append.p99 on wal-group-commit"),
            "{xml}"
        );
    }

    #[test]
    fn annotations_name_regressions_and_missing_cells() {
        let lines = annotations(&slower());
        assert_eq!(lines.len(), 2, "p99 and per_record.p99: {lines:?}");
        assert!(
            lines[0].starts_with("::error title=regression on wal-group-commit::write.append.p99")
        );
        let base = run_report(1);
        let mut fewer = base.clone();
        fewer.variants[0].targets[1].phases.pop();
        let c = compare(&base, &fewer, &CompareOptions::default());
        assert_eq!(CompareVerdict::of(&c), CompareVerdict::Incomparable);
        assert!(
            annotations(&c)
                .iter()
                .any(|l| l.contains("missing in the new run"))
        );
    }

    #[test]
    fn csv_has_every_cell() {
        let c = slower();
        let text =
            String::from_utf8(csv(&c, Path::new("compare.csv")).expect("csv")).expect("utf-8");
        assert_eq!(text.lines().count(), c.changes.len() + 1);
        assert!(
            text.lines()
                .any(|l| l.contains(",p99,") && l.ends_with(",regression")),
            "{text}"
        );
    }
}
