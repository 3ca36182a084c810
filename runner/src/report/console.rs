//! What the console says about results, as text (the caller decides
//! where to print it):
//!
//! - [`phase_line`]: one line per phase per target when it ends
//!   (records/s, p50, p99, errors per actor; a crash phase's cycles,
//!   losses and reopen times), what a CI log shows as the run goes;
//! - [`summary`]: the end-of-run summary — a table per phase across
//!   targets (like k6's end-of-test summary), then one line per assertion
//!   per target (✓ passed, ✗ failed, - not applicable, ○ not run) with
//!   observed vs threshold, the verdict and where the reports are.
//!
//! Live progress (bars, periodic lines) is `progress`'s.

use std::fmt::Write as _;
use std::path::Path;

use super::format;
use super::verdict::{Counts, RunVerdict, describe_result};
use crate::metrics::catalog::MetricUnit;
use crate::metrics::phase_metric::phase_metric_unit;
use crate::metrics::report::{PhaseReport, RunReport, TargetReport};
use crate::metrics::verdict::{AssertionResult, Verdict};

/// Phase metrics a crash, restart or settle phase is summed up by, in
/// this order (`settle.timed_out` only when it is 1).
const RECOVERY_METRICS: &[&str] = &[
    "cycles",
    "acknowledged_records",
    "verified_records",
    "lost_records",
    "corrupt_records",
    "indeterminate_records",
    "reopen.p50",
    "reopen.p99",
    "reopen.duration",
    "settle.wait",
    "settle.debt",
    "settle.timed_out",
];

fn phase_metric(name: &str, value: f64) -> String {
    format::metric(value, phase_metric_unit(name).unwrap_or(MetricUnit::Count))
}

/// True for ops that run on a schedule and move no records (`trim`,
/// `sync`): their throughput is shown as `–`, not `0/s`.
pub(crate) fn periodic(op: &str) -> bool {
    matches!(op, "trim" | "sync")
}

/// `977 k records/s`, `850 records/s`.
pub(crate) fn records_rate(per_s: f64) -> String {
    let r = format::rate(per_s);
    match r.strip_suffix("/s") {
        Some(n) => format!("{} records/s", n.trim_end()),
        None => r,
    }
}

/// `wal [batch=10] · write`: where a phase ran.
fn where_ran(variant: &str, target: &str, phase: &str) -> String {
    if variant.is_empty() {
        format!("{target} · {phase}")
    } else {
        format!("{target} [{variant}] · {phase}")
    }
}

/// The line printed when `phase` ends on `target`: its duration and why
/// it ended, then per actor records/s, p50, p99 and errors (or, for a
/// crash phase, its recovery metrics).
pub(crate) fn phase_line(variant: &str, target: &str, phase: &PhaseReport) -> String {
    let mut s = format!(
        "{}{}: {} (ended by {})",
        where_ran(variant, target, &phase.name),
        if phase.warmup { " (warmup)" } else { "" },
        format::duration_ns(phase.duration_ns as f64),
        phase.ended_by
    );
    let mut parts: Vec<String> = phase
        .actors
        .iter()
        .filter(|a| a.count > 0 || a.errors > 0)
        .map(|a| {
            let amount = if periodic(&a.op) {
                format!("{} ops", format::count(a.count as f64))
            } else {
                records_rate(a.records_per_s)
            };
            format!(
                "{} {amount}, p50 {}, p99 {}, {} errors",
                a.name,
                format::duration_ns(a.latency.p50_ns as f64),
                format::duration_ns(a.latency.p99_ns as f64),
                format::count(a.errors as f64),
            )
        })
        .collect();
    parts.extend(RECOVERY_METRICS.iter().filter_map(|m| {
        let v = phase.metrics.get(*m)?;
        if *m == "settle.timed_out" && *v == 0.0 {
            return None;
        }
        Some(format!("{m} {}", phase_metric(m, *v)))
    }));
    if !parts.is_empty() {
        s.push_str(" — ");
        s.push_str(&parts.join(" · "));
    }
    s
}

/// Right-aligns the cells of columns `first_numeric..` and pads the rest,
/// two spaces apart, each line indented by two.
fn table(rows: &[Vec<String>], first_numeric: usize) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..cols)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|x| x.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut s = String::new();
    for r in rows {
        let mut line = String::new();
        for (c, cell) in r.iter().enumerate() {
            let w = widths[c];
            if c >= first_numeric {
                let _ = write!(line, "  {cell:>w$}");
            } else {
                let _ = write!(line, "  {cell:<w$}");
            }
        }
        let _ = writeln!(s, "{}", line.trim_end());
    }
    s
}

/// The measured phases of `targets` by name, in first-seen order.
fn phase_names(targets: &[TargetReport]) -> Vec<&str> {
    let mut names: Vec<&str> = Vec::new();
    for t in targets {
        for p in t.phases.iter().filter(|p| !p.warmup) {
            if !names.contains(&p.name.as_str()) {
                names.push(&p.name);
            }
        }
    }
    names
}

/// The end-of-run table of each measured phase across targets: one row
/// per actor (and its service time) per target; crash and restart phases
/// get their recovery metrics.
pub(crate) fn phase_tables(report: &RunReport) -> String {
    let mut s = String::new();
    for v in &report.variants {
        for name in phase_names(&v.targets) {
            let runs: Vec<(&str, &PhaseReport)> = v
                .targets
                .iter()
                .filter_map(|t| {
                    t.phases
                        .iter()
                        .find(|p| !p.warmup && p.name == name)
                        .map(|p| (t.name.as_str(), p))
                })
                .collect();
            let label = if v.label.is_empty() {
                String::new()
            } else {
                format!(" [{}]", v.label)
            };
            if !s.is_empty() {
                s.push('\n');
            }
            let _ = writeln!(s, "phase {name}{label}");
            let mut rows = vec![
                [
                    "actor",
                    "target",
                    "records/s",
                    "p50",
                    "p99",
                    "max",
                    "errors",
                ]
                .map(str::to_owned)
                .to_vec(),
            ];
            let mut actors: Vec<&str> = Vec::new();
            for (_, p) in &runs {
                for a in &p.actors {
                    if !actors.contains(&a.name.as_str()) {
                        actors.push(&a.name);
                    }
                }
            }
            let lat = |l: &crate::metrics::report::Latency| {
                [l.p50_ns, l.p99_ns, l.max_ns].map(|n| format::duration_ns(n as f64))
            };
            for actor in actors {
                for (target, p) in &runs {
                    let Some(a) = p.actors.iter().find(|a| a.name == actor) else {
                        continue;
                    };
                    let [p50, p99, max] = lat(&a.latency);
                    rows.push(vec![
                        a.name.clone(),
                        (*target).to_owned(),
                        if periodic(&a.op) {
                            "–".to_owned()
                        } else {
                            format::rate(a.records_per_s)
                        },
                        p50,
                        p99,
                        max,
                        format::count(a.errors as f64),
                    ]);
                    if let Some(service) = &a.service {
                        let [p50, p99, max] = lat(service);
                        rows.push(vec![
                            format!("{} (service time)", a.name),
                            (*target).to_owned(),
                            String::new(),
                            p50,
                            p99,
                            max,
                            String::new(),
                        ]);
                    }
                }
            }
            let metrics: Vec<&str> = RECOVERY_METRICS
                .iter()
                .copied()
                .filter(|m| runs.iter().any(|(_, p)| p.metrics.contains_key(*m)))
                .collect();
            if rows.len() > 1 {
                s.push_str(&table(&rows, 2));
            }
            if !metrics.is_empty() {
                let mut rows = vec![
                    std::iter::once("target".to_owned())
                        .chain(metrics.iter().map(|m| (*m).to_owned()))
                        .collect::<Vec<_>>(),
                ];
                for (target, p) in &runs {
                    rows.push(
                        std::iter::once((*target).to_owned())
                            .chain(metrics.iter().map(|m| {
                                p.metrics
                                    .get(*m)
                                    .map_or_else(|| "–".to_owned(), |v| phase_metric(m, *v))
                            }))
                            .collect(),
                    );
                }
                s.push_str(&table(&rows, 1));
            }
        }
    }
    s
}

fn mark(v: Verdict) -> char {
    match v {
        Verdict::Pass => '✓',
        Verdict::Fail => '✗',
        Verdict::NotApplicable => '-',
        Verdict::NotRun => '○',
        Verdict::NotJudged => '?',
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

/// `PASS: 3 passed` / `FAIL: 2 passed, 1 failed`: the one line a quiet
/// run prints (`run -q`), and the line the summary ends its verdict on.
pub(crate) fn verdict_line(report: &RunReport) -> String {
    let counts = Counts::of(report);
    let detail = if counts.total == 0 {
        "no assertions".to_owned()
    } else {
        counts.describe()
    };
    format!("{}: {detail}", RunVerdict::of(report).label())
}

/// The summary of `report`, whose files are in `out_dir`. Ends with a
/// newline.
pub(crate) fn summary(report: &RunReport, out_dir: &Path) -> String {
    let mut s = phase_tables(report);
    if !s.is_empty() {
        s.push('\n');
    }
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
            "{} of {} rounds, target order rotated between rounds; every value is the median of the rounds (a max the largest), and assertions judge it",
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
    s.push_str(&verdict_line(report));
    s.push('\n');
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
    fn a_phase_line_has_rate_percentiles_and_errors_per_actor() {
        let report = run_report(1);
        let t = &report.variants[0].targets[0];
        assert_eq!(
            phase_line("", &t.name, &t.phases[1]),
            "wal-group-commit · write: 10.0 s (ended by records) — append 1.00 M records/s, p50 100 µs, p99 500 µs, 0 errors"
        );
        assert!(
            phase_line("batch=10", &t.name, &t.phases[0])
                .starts_with("wal-group-commit [batch=10] · warmup (warmup): 10.0 s"),
        );
        let mut crash = t.phases[1].clone();
        crash.actors.clear();
        crash.ended_by = "crash".to_owned();
        crash.metrics.insert("cycles".to_owned(), 3.0);
        crash.metrics.insert("lost_records".to_owned(), 0.0);
        crash.metrics.insert("reopen.p99".to_owned(), 148e6);
        assert_eq!(
            phase_line("", "wal", &crash),
            "wal · write: 10.0 s (ended by crash) — cycles 3 · lost_records 0 · reopen.p99 148 ms"
        );
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
