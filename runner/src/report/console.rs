//! The console summary that ends every run: one line per assertion per
//! target (✓ passed, ✗ failed, - not applicable, ○ not run) with observed vs
//! threshold, a verdict line and where the reports are.
//!
//! Returns text; the caller decides where to print it.

use std::fmt::Write as _;
use std::path::Path;

use super::verdict::{Counts, RunVerdict, describe_result};
use crate::assertions::{AssertionResult, Verdict};
use crate::metrics::report::RunReport;

fn mark(v: Verdict) -> char {
    match v {
        Verdict::Pass => '✓',
        Verdict::Fail => '✗',
        Verdict::NotApplicable => '-',
        Verdict::NotRun => '○',
    }
}

/// Results grouped by assertion (in first-seen order), then by target.
fn ordered(results: &[AssertionResult]) -> Vec<&AssertionResult> {
    let mut texts: Vec<&str> = Vec::new();
    for r in results {
        if !texts.contains(&r.assertion.as_str()) {
            texts.push(&r.assertion);
        }
    }
    let mut out: Vec<&AssertionResult> = results.iter().collect();
    out.sort_by_key(|r| texts.iter().position(|t| *t == r.assertion));
    out
}

/// `; rounds 1.2 ms–1.9 ms` after an assertion judged on a median of
/// rounds (empty for one round).
fn rounds_range(v: &crate::metrics::report::VariantReport, r: &AssertionResult) -> String {
    let Some(t) = v.targets.iter().find(|t| t.name == r.target) else {
        return String::new();
    };
    let Some(path) = super::rounds::assertion_path(&r.assertion) else {
        return String::new();
    };
    match super::rounds::spread_of(t, &path) {
        Some(sp) => format!(
            "; median of {}, range {}–{}",
            sp.values.len(),
            super::format::metric(sp.min, r.unit),
            super::format::metric(sp.max, r.unit)
        ),
        None => String::new(),
    }
}

/// The summary of `report`, whose files are in `out_dir`. Ends with a
/// newline.
pub fn summary(report: &RunReport, out_dir: &Path) -> String {
    let mut s = String::new();
    let all: Vec<&AssertionResult> = report.variants.iter().flat_map(|v| &v.assertions).collect();
    let target_w = all
        .iter()
        .map(|r| r.target.chars().count())
        .max()
        .unwrap_or(0);
    let text_w = all
        .iter()
        .map(|r| r.assertion.chars().count())
        .max()
        .unwrap_or(0);
    if let Some(rep) = &report.repeat {
        let _ = writeln!(
            s,
            "{} of {} rounds, target order rotated between rounds; every value is the median of the rounds, and assertions judge it",
            rep.completed, rep.rounds
        );
    }
    for v in &report.variants {
        if v.assertions.is_empty() {
            continue;
        }
        if !v.label.is_empty() {
            let _ = writeln!(s, "variant {}", v.label);
        }
        for r in ordered(&v.assertions) {
            let _ = writeln!(
                s,
                "  {} {:target_w$}  {:text_w$}  {}{}",
                mark(r.verdict),
                r.target,
                r.assertion,
                describe_result(r),
                rounds_range(v, r)
            );
        }
    }
    for v in &report.variants {
        for t in v.targets.iter().filter(|t| t.error.is_some()) {
            let variant = if v.label.is_empty() {
                String::new()
            } else {
                format!(" [{}]", v.label)
            };
            let _ = writeln!(
                s,
                "  ✗ {}{variant}: {}",
                t.name,
                t.error.as_deref().unwrap_or_default()
            );
        }
    }
    let verdict = RunVerdict::of(report);
    let counts = Counts::of(report);
    let detail = if counts.total == 0 {
        "no assertions".to_owned()
    } else {
        counts.describe()
    };
    let _ = writeln!(s, "{}: {detail}", verdict.label());
    match verdict {
        RunVerdict::Interrupted => match &report.stopped_by {
            Some(signal) => {
                let _ = writeln!(
                    s,
                    "interrupted by {signal}; results of finished phases are kept"
                );
            }
            None => s.push_str("interrupted; results of finished phases are kept\n"),
        },
        RunVerdict::Error => {
            let cause = report.error.as_deref().unwrap_or("a store or i/o error");
            let _ = writeln!(s, "stopped by {cause}; results of finished phases are kept");
        }
        _ => {}
    }
    let _ = writeln!(s, "reports: {}", out_dir.display());
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::report::RunStatus;
    use crate::report::fixture::run_report;

    #[test]
    fn console_summary_snapshot() {
        insta::assert_snapshot!(summary(
            &run_report(1),
            Path::new("reports/runs/wal-vs-rocksdb-append-20261102T100000Z")
        ));
    }

    #[test]
    fn console_summary_with_variants_snapshot() {
        insta::assert_snapshot!(summary(&run_report(2), Path::new("out")));
    }

    #[test]
    fn an_interrupted_run_says_so_even_when_assertions_pass() {
        let mut report = run_report(1);
        report.status = RunStatus::Interrupted;
        let text = summary(&report, Path::new("out"));
        assert!(
            text.contains("\nINTERRUPTED: 4 passed, 1 failed, 1 not applicable"),
            "{text}"
        );
    }
}
