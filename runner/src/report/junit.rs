//! `junit.xml`: assertions as JUnit test cases, so CI systems show a
//! failing performance assertion like a failing test.
//!
//! One test suite per target (per variant, when there is a matrix), one
//! test case per assertion: a failure carries "observed X vs threshold Y"
//! with units; a metric not available on the target is skipped; an error
//! that stopped a target or the run is an error test case.

use std::path::{Path, PathBuf};
use std::time::Duration;

use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};

use super::verdict::describe_result;
use super::{FileFormat, OutputFile, ReportError};
use crate::metrics::report::{RunReport, RunStatus};
use crate::metrics::verdict::Verdict;

/// The file name of the JUnit report.
pub(crate) const JUNIT_XML: &str = "junit.xml";

fn error_case(name: &str, message: &str) -> TestCase {
    let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
    status.set_message(message).set_type("error");
    TestCase::new(name, status)
}

/// The JUnit report for `report`.
pub(crate) fn junit_report(report: &RunReport) -> Report {
    let mut junit = Report::new(format!("loadline {}", report.scenario));
    let mut run_error_placed = false;
    for v in &report.variants {
        for t in &v.targets {
            let name = if v.label.is_empty() {
                t.name.clone()
            } else {
                format!("{} [{}]", t.name, v.label)
            };
            let mut suite = TestSuite::new(name);
            if let Some(ts) = timestamp(&report.started_at) {
                suite.set_timestamp(ts);
            }
            if !report.environment.hostname.is_empty() {
                suite.extra.insert(
                    "hostname".into(),
                    report.environment.hostname.as_str().into(),
                );
            }
            if !report.file.is_empty() {
                suite
                    .extra
                    .insert("file".into(), report.file.as_str().into());
            }
            suite.add_property(Property::new("scenario", report.scenario.as_str()));
            suite.add_property(Property::new("seed", report.seed.to_string()));
            suite.add_property(Property::new("store", t.kind.as_str()));
            if !v.label.is_empty() {
                suite.add_property(Property::new("variant", v.label.as_str()));
            }
            let measured: u64 = t
                .phases
                .iter()
                .filter(|p| !p.warmup)
                .map(|p| p.duration_ns)
                .sum();
            suite.set_time(Duration::from_nanos(measured));
            let classname = format!("{}.{}", report.scenario, t.name);
            let cases: Vec<_> = v.assertions.iter().filter(|a| a.target == t.name).collect();
            let times = case_times(t, &cases);
            for (a, time) in cases.into_iter().zip(times) {
                let detail = describe_result(a);
                let status = match a.verdict {
                    Verdict::Pass => TestCaseStatus::success(),
                    // A gate over nothing fails the suite like a failure.
                    Verdict::Fail | Verdict::NotJudged => {
                        let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                        s.set_message(format!("{}: {detail}", a.assertion))
                            .set_type("assertion")
                            .set_description(failure_body(report, a));
                        s
                    }
                    Verdict::NotApplicable | Verdict::NotRun => {
                        let mut s = TestCaseStatus::skipped();
                        s.set_message(detail.clone());
                        s
                    }
                };
                let mut case = TestCase::new(a.assertion.as_str(), status);
                case.set_classname(classname.as_str());
                // Where the assertion is written, for reporters that
                // annotate it (dorny/test-reporter, action-junit-report),
                // and its share of the time of the phases it judges.
                if !report.file.is_empty() {
                    case.extra
                        .insert("file".into(), report.file.as_str().into());
                }
                if let Some(line) = a.line {
                    case.extra.insert("line".into(), line.to_string().into());
                }
                case.set_time(Duration::from_nanos(time));
                if a.verdict == Verdict::Pass {
                    case.set_system_out(detail);
                }
                suite.add_test_case(case);
            }
            if let Some(e) = &t.error {
                let mut case = error_case(&format!("run on {}", t.name), e);
                case.set_classname(classname.as_str());
                suite.add_test_case(case);
                run_error_placed = true;
            }
            junit.add_test_suite(suite);
        }
        // Targets the run stopped before starting: their assertions are
        // skipped cases ("not run"), so CI shows what was never judged.
        let mut not_started: Vec<&str> = Vec::new();
        for a in &v.assertions {
            if !v.targets.iter().any(|t| t.name == a.target)
                && !not_started.contains(&a.target.as_str())
            {
                not_started.push(&a.target);
            }
        }
        for target in not_started {
            let name = if v.label.is_empty() {
                target.to_owned()
            } else {
                format!("{target} [{}]", v.label)
            };
            let mut suite = TestSuite::new(name);
            let classname = format!("{}.{target}", report.scenario);
            for a in v.assertions.iter().filter(|a| a.target == target) {
                let mut status = TestCaseStatus::skipped();
                status.set_message(describe_result(a));
                let mut case = TestCase::new(a.assertion.as_str(), status);
                case.set_classname(classname.as_str());
                suite.add_test_case(case);
            }
            junit.add_test_suite(suite);
        }
    }
    let stopped = match (&report.status, &report.error) {
        (RunStatus::Interrupted, _) => Some(match &report.stopped_by {
            Some(signal) => format!("the run was stopped by {signal}; finished phases are kept"),
            None => "the run was interrupted; finished phases are kept".to_owned(),
        }),
        (RunStatus::Failed, Some(e)) if !run_error_placed => Some(e.clone()),
        (RunStatus::Failed, None) if !run_error_placed => {
            Some("the run stopped with an error".to_owned())
        }
        _ => None,
    };
    if let Some(message) = stopped {
        let mut suite = TestSuite::new("run");
        suite.add_test_case(error_case(&report.scenario, &message));
        junit.add_test_suite(suite);
    }
    junit
}

/// The failure body: the observed value, the threshold and the margin,
/// each on its own line, and where the assertion is written.
fn failure_body(report: &RunReport, a: &crate::metrics::verdict::AssertionResult) -> String {
    use super::format::{margin, metric};
    let mut body = format!("assertion: {}\ntarget: {}\n", a.assertion, a.target);
    if !a.variant.is_empty() {
        body.push_str(&format!("variant: {}\n", a.variant));
    }
    if let Some(o) = a.observed {
        body.push_str(&format!("observed: {}\n", metric(o, a.unit)));
    }
    match &a.right {
        Some(r) => {
            if let Some(v) = r.value {
                body.push_str(&format!("{}: {}\n", r.reference, metric(v, a.unit)));
            }
            body.push_str(&format!(
                "threshold: {} × {} = {}\n",
                super::format::factor(r.factor),
                r.reference,
                metric(a.threshold, a.unit)
            ));
        }
        None => body.push_str(&format!("threshold: {}\n", metric(a.threshold, a.unit))),
    }
    if let Some(m) = a.margin {
        body.push_str(&format!("margin: {}\n", margin(m)));
    }
    if !report.file.is_empty() {
        match a.line {
            Some(n) => body.push_str(&format!("at: {}:{n}\n", report.file)),
            None => body.push_str(&format!("at: {}\n", report.file)),
        }
    }
    body
}

/// The measured phases an assertion judges: the phase its metric names
/// (`<phase>.…`), or every measured phase for `target.…` metrics.
fn judged_phases<'a>(
    t: &'a crate::metrics::report::TargetReport,
    assertion: &str,
) -> Vec<&'a crate::metrics::report::PhaseReport> {
    let phase = assertion.split(['.', ' ']).next().unwrap_or_default();
    t.phases
        .iter()
        .filter(|p| !p.warmup && (phase == "target" || p.name == phase))
        .collect()
}

/// Each case's time, ns: every phase's duration shared equally by the
/// cases that judge it, so a suite's cases add up to at most its time
/// (reporters sum them; giving each case its whole phase counted a phase
/// once per assertion on it).
fn case_times(
    t: &crate::metrics::report::TargetReport,
    cases: &[&crate::metrics::verdict::AssertionResult],
) -> Vec<u64> {
    let judged: Vec<Vec<&crate::metrics::report::PhaseReport>> = cases
        .iter()
        .map(|a| judged_phases(t, &a.assertion))
        .collect();
    let sharers = |name: &str| {
        judged
            .iter()
            .filter(|ps| ps.iter().any(|p| p.name == name))
            .count()
            .max(1) as u64
    };
    judged
        .iter()
        .map(|ps| ps.iter().map(|p| p.duration_ns / sharers(&p.name)).sum())
        .collect()
}

/// `2026-11-21T10:42:07Z` (as `RunReport` records it) as a timestamp.
fn timestamp(text: &str) -> Option<chrono::DateTime<chrono::FixedOffset>> {
    let (date, time) = text.strip_suffix('Z')?.split_once('T')?;
    let mut d = date.split('-').map(str::parse::<u32>);
    let (y, m, day) = (d.next()?.ok()?, d.next()?.ok()?, d.next()?.ok()?);
    let mut t = time.split(':').map(str::parse::<u32>);
    let (h, mi, sec) = (t.next()?.ok()?, t.next()?.ok()?, t.next()?.ok()?);
    let naive =
        chrono::NaiveDate::from_ymd_opt(i32::try_from(y).ok()?, m, day)?.and_hms_opt(h, mi, sec)?;
    naive
        .and_local_timezone(chrono::FixedOffset::east_opt(0)?)
        .single()
}

/// `junit.xml` in a directory.
#[derive(Debug)]
pub(crate) struct JunitOutput {
    path: PathBuf,
}

impl JunitOutput {
    /// `out_dir/junit.xml`.
    pub(crate) fn new(out_dir: &Path) -> Self {
        JunitOutput {
            path: out_dir.join(JUNIT_XML),
        }
    }
}

/// The contents of `junit.xml` for `report`.
pub(crate) fn junit_xml(report: &RunReport, path: &Path) -> Result<Vec<u8>, ReportError> {
    let mut out = Vec::new();
    junit_report(report)
        .serialize(&mut out)
        .map_err(|source| ReportError::Junit {
            path: path.to_owned(),
            source,
        })?;
    Ok(without_root_skipped(out))
}

/// Drops the `skipped` count quick-junit writes on `<testsuites>`: the
/// Jenkins JUnit schema (which Jenkins and most reporters validate against)
/// has no such attribute there; every `<testsuite>` keeps its own.
pub(crate) fn without_root_skipped(xml: Vec<u8>) -> Vec<u8> {
    let text = match String::from_utf8(xml) {
        Ok(t) => t,
        Err(e) => return e.into_bytes(),
    };
    let Some(start) = text.find("<testsuites") else {
        return text.into_bytes();
    };
    let end = text[start..].find('>').map_or(text.len(), |e| start + e);
    let tag = &text[start..end];
    let Some(at) = tag.find(" skipped=\"") else {
        return text.into_bytes();
    };
    let value_end = tag[at + 10..]
        .find('"')
        .map_or(tag.len(), |e| at + 10 + e + 1);
    let mut out = String::with_capacity(text.len());
    out.push_str(&text[..start + at]);
    out.push_str(&text[start + value_end..]);
    out.into_bytes()
}

impl FileFormat for JunitOutput {
    fn render(&self, report: &RunReport) -> Result<Vec<OutputFile>, ReportError> {
        Ok(vec![OutputFile {
            path: self.path.clone(),
            contents: junit_xml(report, &self.path)?,
        }])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture::run_report;

    fn xml(report: &RunReport) -> String {
        String::from_utf8(junit_xml(report, Path::new(JUNIT_XML)).unwrap()).unwrap()
    }

    #[test]
    fn junit_snapshot() {
        insta::assert_snapshot!(xml(&run_report(2)));
    }

    #[test]
    fn started_at_becomes_the_suite_timestamp() {
        let ts = timestamp("2026-11-21T10:42:07Z").expect("parses");
        assert_eq!(ts.to_rfc3339(), "2026-11-21T10:42:07+00:00");
        assert!(timestamp("yesterday").is_none());
    }

    #[test]
    fn cases_carry_file_line_and_time_and_failures_a_body() {
        let text = xml(&run_report(1));
        assert!(text.contains("hostname=\""), "{text}");
        assert!(text.contains("timestamp=\"2026-"), "{text}");
        assert!(
            text.contains("file=\"scenarios/wal-vs-rocksdb.yaml\" line=\"22\""),
            "{text}"
        );
        assert!(text.contains("observed: 49.0 k/s"), "{text}");
        assert!(text.contains("margin: "), "{text}");
        let j = junit_report(&run_report(1));
        assert!(j.test_suites[0].test_cases.iter().all(|c| c.time.is_some()));
    }

    /// Regression: every case carried its whole phase's time, so
    /// reporters (which add cases up) showed suites twice as long as the run.
    #[test]
    fn case_times_add_up_to_at_most_the_suite_time() {
        let j = junit_report(&run_report(2));
        for suite in &j.test_suites {
            let total: Duration = suite.test_cases.iter().filter_map(|c| c.time).sum();
            let suite_time = suite.time.expect("suite time");
            assert!(
                total <= suite_time + Duration::from_micros(1),
                "{:?}: cases {total:?} > suite {suite_time:?}",
                suite.name
            );
            assert!(suite.test_cases.len() < 2 || total > Duration::ZERO);
        }
    }

    #[test]
    fn counts_match_the_verdicts() {
        let j = junit_report(&run_report(1));
        assert_eq!((j.tests, j.failures, j.skipped, j.errors), (6, 1, 1, 0));
    }

    #[test]
    fn a_run_stopped_by_an_error_is_an_error_case() {
        let mut report = run_report(1);
        report.status = RunStatus::Failed;
        report.error = Some("fdatasync /data/wal/000001.log: input/output error".to_owned());
        let j = junit_report(&report);
        assert_eq!(j.errors, 1);
        assert!(xml(&report).contains("fdatasync /data/wal/000001.log"));
    }

    #[test]
    fn a_target_error_lands_in_its_suite() {
        let mut report = run_report(1);
        report.status = RunStatus::Failed;
        report.error = Some("store error".to_owned());
        report.variants[0].targets[1].error = Some("open /data: permission denied".to_owned());
        let j = junit_report(&report);
        assert_eq!(j.errors, 1, "the run error is not counted twice");
        assert_eq!(j.test_suites[1].errors, 1);
    }
}
