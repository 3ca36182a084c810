//! The outputs of `loadline conform`: the console lines of each target's
//! checks and `junit.xml` (one test suite per target, one test case per
//! check or protocol rule; a failure's message is the broken rule and what
//! was seen). Both are rendered from the same [`ConformedTarget`]s.

use std::fmt::Write as _;
use std::path::Path;

use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};

use super::ReportError;
use super::junit::without_root_skipped;
use crate::store::conformance::CheckResult;

/// One target's checks.
#[derive(Debug, Clone)]
pub(crate) struct ConformedTarget {
    /// The target's name in the scenario.
    pub name: String,
    /// Its store kind, described (`external: plug-in …`).
    pub store: String,
    /// Its checks, in the order they ran.
    pub results: Vec<CheckResult>,
}

/// The console lines of `target`'s checks: `✓ name — detail` or
/// `✗ name — failure`, then a count. Ends with a newline.
pub(crate) fn console(target: &ConformedTarget) -> String {
    let mut s = String::new();
    for r in &target.results {
        match &r.failure {
            None => {
                let _ = writeln!(s, "  ✓ {} — {}", r.name, r.detail);
            }
            Some(f) => {
                let _ = writeln!(s, "  ✗ {} — {f}", r.name);
            }
        }
    }
    let failed = target.results.iter().filter(|r| !r.passed()).count();
    let _ = writeln!(
        s,
        "{}: {} of {} checks passed{}",
        target.name,
        target.results.len() - failed,
        target.results.len(),
        if failed > 0 { " — FAILED" } else { "" }
    );
    s
}

/// `junit.xml` for the checks of `targets` of scenario file `file`.
///
/// # Errors
///
/// [`ReportError::Junit`] when serializing fails.
pub(crate) fn junit_xml(
    file: &str,
    targets: &[ConformedTarget],
    path: &Path,
) -> Result<Vec<u8>, ReportError> {
    let mut junit = Report::new(format!("loadline conform {file}"));
    for t in targets {
        let mut suite = TestSuite::new(t.name.as_str());
        suite.add_property(Property::new("store", t.store.as_str()));
        suite.extra.insert("file".into(), file.into());
        for r in &t.results {
            let status = match &r.failure {
                None => TestCaseStatus::success(),
                Some(f) => {
                    let mut st = TestCaseStatus::non_success(NonSuccessKind::Failure);
                    st.set_message(f.as_str()).set_type("conformance");
                    st
                }
            };
            let mut case = TestCase::new(r.name.as_str(), status);
            case.set_classname(format!("conform.{}", t.name));
            case.set_time(r.duration);
            if r.passed() {
                case.set_system_out(r.detail.as_str());
            }
            suite.add_test_case(case);
        }
        junit.add_test_suite(suite);
    }
    let mut out = Vec::new();
    junit
        .serialize(&mut out)
        .map_err(|source| ReportError::Junit {
            path: path.to_owned(),
            source,
        })?;
    Ok(without_root_skipped(out))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn target() -> ConformedTarget {
        let check = |name: &str, failure: Option<&str>| CheckResult {
            name: name.to_owned(),
            detail: "checked".to_owned(),
            failure: failure.map(str::to_owned),
            duration: Duration::from_millis(5),
        };
        ConformedTarget {
            name: "py".to_owned(),
            store: "plug-in `python3 store.py`".to_owned(),
            results: vec![
                check("log", None),
                check(
                    "protocol: clean stdout",
                    Some(
                        "clean stdout: the plug-in wrote 1 line(s) on stdout that are not replies; the first: `debug`",
                    ),
                ),
            ],
        }
    }

    #[test]
    fn a_failed_rule_is_a_failed_test_case_whose_message_names_it() {
        let xml = String::from_utf8(
            junit_xml("s.yaml", &[target()], Path::new("junit.xml")).expect("xml"),
        )
        .expect("utf-8");
        assert!(
            xml.contains(r#"tests="2""#) && xml.contains(r#"failures="1""#),
            "{xml}"
        );
        assert!(
            xml.contains(r#"<testcase name="protocol: clean stdout" classname="conform.py""#),
            "{xml}"
        );
        assert!(
            xml.contains(r#"<failure message="clean stdout: the plug-in wrote 1 line(s)"#),
            "{xml}"
        );
    }

    #[test]
    fn the_console_marks_each_check_and_counts() {
        let text = console(&target());
        assert!(text.contains("  ✓ log — checked\n"), "{text}");
        assert!(
            text.contains("  ✗ protocol: clean stdout — clean stdout:"),
            "{text}"
        );
        assert!(
            text.ends_with("py: 1 of 2 checks passed — FAILED\n"),
            "{text}"
        );
    }
}
