//! The run's overall verdict and assertion counts, shared by the console
//! summary, Markdown, JUnit and GitHub outputs so they always agree.

use serde::Serialize;

use crate::metrics::report::{RunReport, RunStatus};
use crate::metrics::verdict::{AssertionResult, Verdict};

/// The one-word outcome of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub(crate) enum RunVerdict {
    /// Every phase ran and no assertion failed.
    Pass,
    /// Every phase ran and at least one assertion failed.
    Fail,
    /// Stopped by Ctrl-C; finished phases are kept.
    Interrupted,
    /// A store or I/O error stopped the run; finished phases are kept.
    Error,
    /// Still running (a report written between phases).
    Running,
}

impl RunVerdict {
    /// The verdict of `report`: its status first (an interrupted or failed
    /// run is never reported as passing), then its assertions.
    pub(crate) fn of(report: &RunReport) -> Self {
        match report.status {
            RunStatus::Running => RunVerdict::Running,
            RunStatus::Interrupted => RunVerdict::Interrupted,
            RunStatus::Failed => RunVerdict::Error,
            RunStatus::Complete if report.passed() => RunVerdict::Pass,
            RunStatus::Complete => RunVerdict::Fail,
        }
    }

    /// The verdict as printed: `PASS`, `FAIL`, `INTERRUPTED`, `ERROR`, `RUNNING`.
    pub(crate) fn label(self) -> &'static str {
        match self {
            RunVerdict::Pass => "PASS",
            RunVerdict::Fail => "FAIL",
            RunVerdict::Interrupted => "INTERRUPTED",
            RunVerdict::Error => "ERROR",
            RunVerdict::Running => "RUNNING",
        }
    }
}

/// How many assertion results had each verdict, over every variant and
/// target.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub(crate) struct Counts {
    /// Results that held.
    pub passed: usize,
    /// Results that did not hold.
    pub failed: usize,
    /// Results whose metric does not exist on the target.
    pub not_applicable: usize,
    /// Results the run stopped before measuring.
    pub not_run: usize,
    /// Results measured over nothing (a crash phase that verified no
    /// write): never a pass.
    pub not_judged: usize,
    /// All results.
    pub total: usize,
}

impl Counts {
    /// Counts the assertion results of every variant of `report`.
    pub(crate) fn of(report: &RunReport) -> Self {
        Self::of_results(report.variants.iter().flat_map(|v| &v.assertions))
    }

    /// Counts `results`.
    pub(crate) fn of_results<'a>(results: impl IntoIterator<Item = &'a AssertionResult>) -> Self {
        let mut c = Counts::default();
        for r in results {
            c.total += 1;
            match r.verdict {
                Verdict::Pass => c.passed += 1,
                Verdict::Fail => c.failed += 1,
                Verdict::NotApplicable => c.not_applicable += 1,
                Verdict::NotRun => c.not_run += 1,
                Verdict::NotJudged => c.not_judged += 1,
            }
        }
        c
    }

    /// `2 passed, 1 failed, 1 not applicable` (zero parts left out except
    /// `passed`).
    pub(crate) fn describe(&self) -> String {
        let mut parts = vec![format!("{} passed", self.passed)];
        if self.failed > 0 {
            parts.push(format!("{} failed", self.failed));
        }
        if self.not_applicable > 0 {
            parts.push(format!("{} not applicable", self.not_applicable));
        }
        if self.not_run > 0 {
            parts.push(format!("{} not run", self.not_run));
        }
        if self.not_judged > 0 {
            parts.push(format!("{} not judged", self.not_judged));
        }
        parts.join(", ")
    }
}

/// `observed 8.20 ms vs threshold 10.0 ms (+18.0%)`, or `not applicable on
/// this target` — the one sentence every output uses for a result.
pub(crate) fn describe_result(r: &AssertionResult) -> String {
    use super::format::{margin, metric};
    if r.verdict == Verdict::NotRun {
        return "not run: the run stopped before this was measured".to_owned();
    }
    if r.verdict == Verdict::NotJudged {
        return format!(
            "not judged: {}",
            r.reason.as_deref().unwrap_or("nothing was measured")
        );
    }
    match (r.observed, &r.right) {
        (None, _) => "metric not available on this target".to_owned(),
        (Some(o), Some(right)) if right.value.is_none() => format!(
            "observed {}; {} not available",
            metric(o, r.unit),
            right.reference
        ),
        (Some(o), right) => {
            let threshold = match right {
                Some(rs) => format!(
                    "{} × {} ({}) = {}",
                    super::format::factor(rs.factor),
                    metric(rs.value.unwrap_or_default(), r.unit),
                    rs.reference,
                    metric(r.threshold, r.unit)
                ),
                None => format!("threshold {}", metric(r.threshold, r.unit)),
            };
            let mut s = format!("observed {} vs {threshold}", metric(o, r.unit));
            if let Some(m) = r.margin {
                s.push_str(&format!(" ({})", margin(m)));
            }
            s
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::catalog::MetricUnit;
    use crate::metrics::verdict::RightSide;

    fn relational(observed: Option<f64>, value: Option<f64>) -> AssertionResult {
        AssertionResult {
            assertion: "write.append.records_per_s >= 2x target rocksdb".into(),
            target: "wal".into(),
            variant: String::new(),
            observed,
            threshold: value.map_or(0.0, |v| 2.0 * v),
            unit: MetricUnit::PerSecond,
            verdict: Verdict::Pass,
            margin: value.zip(observed).map(|(v, o)| (o - 2.0 * v) / (2.0 * v)),
            line: None,
            right: Some(RightSide {
                reference: "write.append.records_per_s of target rocksdb".into(),
                factor: 2.0,
                value,
            }),
            reason: None,
        }
    }

    #[test]
    fn a_relational_result_shows_both_sides() {
        assert_eq!(
            describe_result(&relational(Some(250_000.0), Some(100_000.0))),
            "observed 250 k/s vs 2 × 100 k/s (write.append.records_per_s of target rocksdb) = 200 k/s (+25.0%)"
        );
        assert_eq!(
            describe_result(&relational(Some(250_000.0), None)),
            "observed 250 k/s; write.append.records_per_s of target rocksdb not available"
        );
    }
}
