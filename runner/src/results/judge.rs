//! Evaluating every assertion of a run at once: [`evaluate_run`] judges
//! each assertion on each target and variant in its scope against the
//! whole [`RunReport`] — so a right side can read another target, phase or
//! variant of the run, or the baseline run — and stores the results in
//! each variant's `assertions`.
//!
//! Owns the not-run rules (what a stopped run could not measure) and how a
//! reference finds its cell. It does not parse (see `assertions::relation`) or decide
//! which names exist (see `scenario::validate`).

use crate::assertions::{Assertion, Cell, CmpOp, Relation};
use crate::engine::CellFilter;
use crate::metrics::catalog::MetricRef;
use crate::metrics::report::{RunReport, TargetReport};
use crate::metrics::verdict::{AssertionResult, RightSide, Verdict};
use crate::scenario::model::Scenario;

/// A value a run measured, could not have, or did not get to.
#[derive(Debug, Clone, PartialEq)]
enum Measure {
    /// Measured: the value, or `None` when the metric does not exist there.
    Done(Option<f64>),
    /// The run stopped before it was measured.
    NotRun,
    /// Measured over nothing (the value, and why it cannot be judged).
    NotJudged(Option<f64>, String),
}

/// Evaluates the assertions of `variants` (the matrix expansion the run
/// ran) over `report`, replacing each variant's `assertions`; `baseline`
/// is what `… of baseline` reads.
///
/// Called when the run is over, also when it stopped early: an assertion
/// on a phase that finished is judged as usual; one on a phase that did
/// not (or on target totals of a target whose phases did not all finish,
/// or on a target or variant never started) — on either side — is
/// [`Verdict::NotRun`](Verdict::NotRun). A phase left out with `--phase`, or one that does
/// not run on the target, is judged as before: its metric is absent
/// ([`Verdict::NotApplicable`](Verdict::NotApplicable)). An assertion that refers to another
/// target or variant is not checked on the very cell it refers to.
pub(crate) fn evaluate_run(
    variants: &[Scenario],
    plan: &CellFilter,
    report: &mut RunReport,
    baseline: Option<&RunReport>,
) {
    let judged: Vec<Vec<AssertionResult>> = (0..report.variants.len().min(variants.len()))
        .map(|vi| judge_variant(variants, plan, report, baseline, vi))
        .collect();
    for (v, results) in report.variants.iter_mut().zip(judged) {
        v.assertions = results;
    }
}

/// True when `name` is in `filter` (empty: everything is).
fn selected(filter: &[String], name: &str) -> bool {
    filter.is_empty() || filter.iter().any(|f| f == name)
}

fn in_scope(a: &Assertion, scenario: &Scenario) -> bool {
    a.scope.variants.iter().all(|(key, values)| {
        scenario
            .variant
            .settings
            .iter()
            .find(|(k, _)| k == key)
            .is_some_and(|(_, v)| values.contains(&crate::scenario::matrix::setting_text(v)))
    })
}

/// The variant `cell` names, seen from variant `vi`: its settings with the
/// named ones replaced.
fn variant_of(variants: &[Scenario], vi: usize, replaced: &[(String, String)]) -> Option<usize> {
    if replaced.is_empty() {
        return Some(vi);
    }
    let here = &variants[vi].variant.settings;
    variants.iter().position(|s| {
        s.variant.settings.len() == here.len()
            && s.variant.settings.iter().all(|(k, v)| {
                match replaced.iter().find(|(rk, _)| rk == k) {
                    Some((_, want)) => crate::scenario::matrix::setting_text(v) == *want,
                    None => here.iter().any(|(hk, hv)| hk == k && hv == v),
                }
            })
    })
}

/// The metric `metric` of target `target` in variant `vi` of the run.
fn measure(
    variants: &[Scenario],
    plan: &CellFilter,
    report: &RunReport,
    vi: usize,
    target: &str,
    metric: &MetricRef,
) -> Measure {
    let scenario = &variants[vi];
    if !plan.selects(vi, target) || !scenario.targets.iter().any(|t| t.name == target) {
        return Measure::Done(None);
    }
    let Some(t) = report
        .variants
        .get(vi)
        .and_then(|v| v.targets.iter().find(|t| t.name == target))
    else {
        return Measure::NotRun;
    };
    let planned: Vec<&str> = scenario
        .phases
        .iter()
        .filter(|p| plan.selects_phase(&p.name) && p.runs_on(target))
        .map(|p| p.name.as_str())
        .collect();
    let finished = |phase: &str| t.phases.iter().any(|p| p.name == phase);
    let measured = match metric.phase() {
        Some(phase) => finished(phase) || !planned.contains(&phase),
        None => planned.iter().all(|p| finished(p)),
    };
    if !measured {
        return Measure::NotRun;
    }
    let value = t.lookup(metric);
    match over_nothing(t, metric).or_else(|| trend_too_short(t, metric, value)) {
        Some(reason) => Measure::NotJudged(value, reason),
        None => Measure::Done(value),
    }
}

/// Why a trend (`p99.slope`) cannot be judged on `t`: its phase ran, its
/// series exists, but holds too few intervals to fit — not "not
/// applicable", which would let the gate pass over nothing.
fn trend_too_short(t: &TargetReport, metric: &MetricRef, value: Option<f64>) -> Option<String> {
    if value.is_some() {
        return None;
    }
    let (phase, name, actor) = match metric {
        MetricRef::Actor {
            phase,
            actor,
            metric,
        } => (phase, metric, Some(actor)),
        MetricRef::Phase { phase, metric } => (phase, metric, None),
        MetricRef::Store { .. } | MetricRef::Process { .. } => return None,
    };
    let (series, kind) = crate::metrics::catalog::split_trend(name)?;
    let p = t.phases.iter().find(|p| &p.name == phase)?;
    let intervals = match actor {
        Some(actor) => p.actors.iter().find(|a| &a.name == actor)?.timeline.len(),
        None => {
            let stat = series.strip_prefix("store.");
            if stat.is_some_and(|s| !p.stats.store.contains_key(s)) {
                return None;
            }
            p.stats.timeline.len()
        }
    };
    Some(format!(
        "phase `{phase}` recorded {intervals} interval(s): too few to fit `.{}` of `{series}`; set a shorter `interval:` or a longer `duration:`",
        kind.suffix()
    ))
}

/// Why `metric` cannot be judged on `t`: a count of `verify:
/// acknowledged` in a phase that verified nothing of its kind.
fn over_nothing(t: &TargetReport, metric: &MetricRef) -> Option<String> {
    let MetricRef::Phase { phase, metric } = metric else {
        return None;
    };
    let counter = crate::metrics::phase_metric::judged_by(metric)?;
    let p = t.phases.iter().find(|p| &p.name == phase)?;
    if p.metrics.get(&counter).copied()? > 0.0 {
        return None;
    }
    let what = counter.trim_start_matches("verified_");
    let acknowledged = p
        .metrics
        .get(&format!("acknowledged_{what}"))
        .copied()
        .unwrap_or(0.0);
    Some(format!(
        "phase `{phase}` verified no {} ({acknowledged} acknowledged before the crash), so `{metric}` checked nothing",
        what.trim_end_matches('s')
    ))
}

fn baseline_target<'a>(
    baseline: &'a RunReport,
    variant: &str,
    target: &str,
) -> Option<&'a TargetReport> {
    baseline
        .variants
        .iter()
        .find(|v| v.label == variant)?
        .targets
        .iter()
        .find(|t| t.name == target)
}

/// `write.append.records_per_s of target rocksdb`.
fn describe(rel: &Relation) -> String {
    match &rel.cell {
        Cell::Same => rel.metric_path.clone(),
        Cell::Baseline => format!("{} of baseline", rel.metric_path),
        Cell::Other { target, variant } => {
            let mut s = format!("{} of", rel.metric_path);
            if let Some(t) = target {
                s.push_str(&format!(" target {t}"));
            }
            if !variant.is_empty() {
                let settings: Vec<String> = variant
                    .iter()
                    .map(|(k, v)| format!("{}={v}", k.rsplit('.').next().unwrap_or(k)))
                    .collect();
                s.push_str(&format!(" variant {}", settings.join(",")));
            }
            s
        }
    }
}

fn judge_variant(
    variants: &[Scenario],
    plan: &CellFilter,
    report: &RunReport,
    baseline: Option<&RunReport>,
    vi: usize,
) -> Vec<AssertionResult> {
    let scenario = &variants[vi];
    let label = scenario.variant.label.as_str();
    let targets: Vec<&str> = scenario
        .targets
        .iter()
        .filter(|t| plan.selects(vi, &t.name))
        .map(|t| t.name.as_str())
        .collect();
    let mut out = Vec::new();
    for a in scenario.assertions.iter().filter(|a| in_scope(a, scenario)) {
        for &name in targets.iter().filter(|n| selected(&a.scope.targets, n)) {
            let left = measure(variants, plan, report, vi, name, &a.metric);
            let Some(rel) = &a.relation else {
                out.push(match left {
                    Measure::NotRun => not_run(a, name, label),
                    Measure::NotJudged(observed, reason) => {
                        not_judged(a, observed, name, label, reason)
                    }
                    Measure::Done(observed) => evaluate(a, observed, name, label),
                });
                continue;
            };
            let right = match &rel.cell {
                Cell::Same => measure(variants, plan, report, vi, name, &rel.metric),
                Cell::Baseline => Measure::Done(
                    baseline
                        .and_then(|b| baseline_target(b, label, name))
                        .and_then(|t| t.lookup(&rel.metric)),
                ),
                Cell::Other { target, variant } => {
                    let other = target.as_deref().unwrap_or(name);
                    match variant_of(variants, vi, variant) {
                        // The cell it refers to: comparing it with itself says nothing.
                        Some(vj) if vj == vi && other == name && rel.metric == a.metric => {
                            continue;
                        }
                        Some(vj) => measure(variants, plan, report, vj, other, &rel.metric),
                        None => Measure::Done(None),
                    }
                }
            };
            let side = |value| RightSide {
                reference: describe(rel),
                factor: rel.factor,
                value,
            };
            let result = match (left, right) {
                (Measure::NotRun, _) | (_, Measure::NotRun) => {
                    let mut res = not_run(a, name, label);
                    res.threshold = 0.0;
                    res.right = Some(side(None));
                    res
                }
                (Measure::NotJudged(observed, reason), r) => {
                    let value = match r {
                        Measure::Done(v) | Measure::NotJudged(v, _) => v,
                        Measure::NotRun => None,
                    };
                    let mut res = not_judged(a, observed, name, label, reason);
                    res.right = Some(side(value));
                    res
                }
                (Measure::Done(observed), Measure::NotJudged(value, reason)) => {
                    let mut res = not_judged(a, observed, name, label, reason);
                    res.right = Some(side(value));
                    res
                }
                (Measure::Done(observed), Measure::Done(value)) => {
                    let threshold = value.map(|v| rel.factor * v);
                    let mut res = match threshold {
                        Some(t) => evaluate_against(a, observed, t, name, label),
                        None => {
                            let mut r = evaluate_against(a, None, 0.0, name, label);
                            r.observed = observed;
                            r
                        }
                    };
                    res.right = Some(side(value));
                    res
                }
            };
            out.push(result);
        }
    }
    out
}

/// Evaluates `assertion` against an observed value and its constant threshold.
pub(crate) fn evaluate(
    assertion: &Assertion,
    observed: Option<f64>,
    target: &str,
    variant: &str,
) -> AssertionResult {
    evaluate_against(assertion, observed, assertion.threshold, target, variant)
}

/// Evaluates `assertion`'s operator on `observed` against `threshold`
/// (the constant, or a relational assertion's factor × right side).
pub(crate) fn evaluate_against(
    assertion: &Assertion,
    observed: Option<f64>,
    threshold: f64,
    target: &str,
    variant: &str,
) -> AssertionResult {
    let (verdict, margin) = match observed {
        None => (Verdict::NotApplicable, None),
        Some(o) => {
            let verdict = if assertion.op.holds(o, threshold) {
                Verdict::Pass
            } else {
                Verdict::Fail
            };
            let t = threshold;
            let margin = match assertion.op {
                CmpOp::Lt | CmpOp::Le if t != 0.0 => Some((t - o) / t.abs()),
                CmpOp::Gt | CmpOp::Ge if t != 0.0 => Some((o - t) / t.abs()),
                _ => None,
            };
            (verdict, margin)
        }
    };
    AssertionResult {
        assertion: assertion.text.clone(),
        target: target.to_owned(),
        variant: variant.to_owned(),
        observed,
        threshold,
        unit: assertion.unit,
        verdict,
        margin,
        line: assertion.line,
        right: None,
        reason: None,
    }
}

/// `assertion` on `target` when what it measures never finished: verdict
/// [`Verdict::NotRun`], nothing observed.
pub(crate) fn not_run(assertion: &Assertion, target: &str, variant: &str) -> AssertionResult {
    AssertionResult {
        assertion: assertion.text.clone(),
        target: target.to_owned(),
        variant: variant.to_owned(),
        observed: None,
        threshold: assertion.threshold,
        unit: assertion.unit,
        verdict: Verdict::NotRun,
        margin: None,
        line: assertion.line,
        right: None,
        reason: None,
    }
}

/// `assertion` on `target` when what it measures covered nothing:
/// verdict [`Verdict::NotJudged`] with `reason`, the value kept.
pub(crate) fn not_judged(
    assertion: &Assertion,
    observed: Option<f64>,
    target: &str,
    variant: &str,
    reason: String,
) -> AssertionResult {
    let mut r = not_run(assertion, target, variant);
    r.observed = observed;
    r.verdict = Verdict::NotJudged;
    r.reason = Some(reason);
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assertions::Scope;
    use crate::metrics::catalog::MetricUnit;

    use crate::scenario::test_variants as load;

    /// A report of `variants` in which every target ran every phase, with
    /// `rate(variant, target)` as each append actor's records_per_s.
    fn report(variants: &[Scenario], rate: impl Fn(usize, &str) -> f64) -> RunReport {
        let mut r = crate::report::fixture::run_report(1);
        let template = r.variants[0].clone();
        let phase = template.targets[0].phases[1].clone();
        r.variants = variants
            .iter()
            .enumerate()
            .map(|(vi, s)| {
                let mut v = template.clone();
                v.label = s.variant.label.clone();
                v.settings = s.variant.settings.clone();
                v.assertions.clear();
                v.targets = s
                    .targets
                    .iter()
                    .map(|t| {
                        let mut tr = template.targets[0].clone();
                        tr.name = t.name.clone();
                        tr.phases = s
                            .phases
                            .iter()
                            .map(|p| {
                                let mut pr = phase.clone();
                                pr.name = p.name.clone();
                                pr.warmup = false;
                                pr.actors.truncate(1);
                                pr.actors[0].name = "append".into();
                                pr.actors[0].records_per_s = rate(vi, &t.name);
                                pr
                            })
                            .collect();
                        tr
                    })
                    .collect();
                v
            })
            .collect();
        r
    }

    const BASE: &str = "version: 1\nname: t\ntargets:\n  wal:\n    memory: {}\n  rocks:\n    memory: {}\n  mem:\n    memory: {}\npayloads:\n  p:\n    size: 64B\nphases:\n  - name: w\n    records: 10\n    actors:\n      - { op: append, workers: 1 }\n";

    fn verdicts(r: &RunReport) -> Vec<(String, String, Verdict)> {
        r.variants
            .iter()
            .flat_map(|v| {
                v.assertions
                    .iter()
                    .map(|a| (v.label.clone(), a.target.clone(), a.verdict))
            })
            .collect()
    }

    #[test]
    fn another_target_times_a_factor_with_both_values_in_the_result() {
        let vs = load(&format!(
            "{BASE}assertions:\n  - w.append.records_per_s >= 2x target rocks on wal, mem\n"
        ));
        let mut r = report(&vs, |_, t| match t {
            "wal" => 250.0,
            "rocks" => 100.0,
            _ => 150.0,
        });
        evaluate_run(&vs, &CellFilter::default(), &mut r, None);
        let a = &r.variants[0].assertions;
        assert_eq!(a.len(), 2, "scoped to wal and mem");
        assert_eq!((a[0].target.as_str(), a[0].verdict), ("wal", Verdict::Pass));
        assert_eq!(a[0].observed, Some(250.0));
        assert_eq!(a[0].threshold, 200.0);
        let right = a[0].right.as_ref().expect("right side");
        assert_eq!(right.value, Some(100.0));
        assert_eq!(right.factor, 2.0);
        assert_eq!(right.reference, "w.append.records_per_s of target rocks");
        assert_eq!((a[1].target.as_str(), a[1].verdict), ("mem", Verdict::Fail));
    }

    #[test]
    fn a_reference_to_another_target_skips_that_target() {
        let vs = load(&format!(
            "{BASE}assertions:\n  - w.append.records_per_s >= 1x target rocks\n"
        ));
        let mut r = report(&vs, |_, _| 1.0);
        evaluate_run(&vs, &CellFilter::default(), &mut r, None);
        let targets: Vec<String> = verdicts(&r).into_iter().map(|(_, t, _)| t).collect();
        assert_eq!(targets, ["wal", "mem"]);
    }

    #[test]
    fn another_variant_is_the_same_variant_with_the_setting_replaced() {
        let vs = load(&format!(
            "{BASE}assertions:\n  - w.append.records_per_s >= 8x variant workers=1 where workers=16\nmatrix:\n  phases.w.actors.0.workers: [1, 16]\n  payloads.p.size: [64B, 1KiB]\n"
        ));
        assert_eq!(vs.len(), 4);
        // workers=16 reaches 10× workers=1 with 64 B, 5× with 1 KiB.
        let mut r = report(&vs, |vi, _| match vi {
            0 => 10.0,
            1 => 20.0,
            2 => 100.0,
            _ => 100.0,
        });
        evaluate_run(&vs, &CellFilter::default(), &mut r, None);
        let v = verdicts(&r);
        assert_eq!(v.len(), 6, "three targets × the two workers=16 variants");
        assert!(
            v.iter()
                .all(|(l, _, verdict)| (l == "workers=16,size=64B") == (*verdict == Verdict::Pass)),
            "{v:?}"
        );
        let a = &r.variants[3].assertions[0];
        assert_eq!(a.right.as_ref().and_then(|r| r.value), Some(20.0));
    }

    #[test]
    fn the_baseline_side_reads_the_baseline_run_and_is_not_applicable_without_one() {
        let vs = load(&format!(
            "{BASE}assertions:\n  - w.append.records_per_s >= 0.9x baseline on wal\n"
        ));
        let mut r = report(&vs, |_, _| 95.0);
        evaluate_run(&vs, &CellFilter::default(), &mut r, None);
        assert_eq!(r.variants[0].assertions[0].verdict, Verdict::NotApplicable);
        assert_eq!(r.variants[0].assertions[0].observed, Some(95.0));
        let base = report(&vs, |_, _| 100.0);
        evaluate_run(&vs, &CellFilter::default(), &mut r, Some(&base));
        assert_eq!(r.variants[0].assertions[0].verdict, Verdict::Pass);
        let base = report(&vs, |_, _| 120.0);
        evaluate_run(&vs, &CellFilter::default(), &mut r, Some(&base));
        assert_eq!(r.variants[0].assertions[0].verdict, Verdict::Fail);
    }

    #[test]
    fn a_side_the_run_never_measured_is_not_run() {
        let vs = load(&format!(
            "{BASE}assertions:\n  - w.append.records_per_s >= 2x target rocks on wal\n  - w.append.records_per_s > 0\n"
        ));
        let mut r = report(&vs, |_, _| 1.0);
        // rocks (the referenced target) never started.
        r.variants[0].targets.retain(|t| t.name != "rocks");
        evaluate_run(&vs, &CellFilter::default(), &mut r, None);
        let v = verdicts(&r);
        assert_eq!(v[0], (String::new(), "wal".into(), Verdict::NotRun));
        assert_eq!(v[1].2, Verdict::Pass, "wal's own value is judged");
        assert_eq!(v[2].2, Verdict::NotRun, "rocks itself");
    }

    #[test]
    fn a_phase_that_does_not_run_on_a_target_is_not_applicable_there() {
        let vs = load(&format!(
            "{BASE}  - name: only\n    records: 10\n    targets: [wal]\n    actors:\n      - {{ op: append }}\nassertions:\n  - only.append.records_per_s > 0\n  - target.process.cpu_user >= 0\n"
        ));
        let mut r = report(&vs, |_, _| 1.0);
        for t in &mut r.variants[0].targets {
            if t.name != "wal" {
                t.phases.retain(|p| p.name != "only");
            }
        }
        evaluate_run(&vs, &CellFilter::default(), &mut r, None);
        let v = verdicts(&r);
        assert_eq!(v[0].2, Verdict::Pass, "wal ran it");
        assert_eq!(v[1].2, Verdict::NotApplicable, "rocks never runs it");
        assert!(
            v[3..].iter().all(|(_, _, x)| *x == Verdict::Pass),
            "target totals are judged: every phase planned for the target finished: {v:?}"
        );
    }

    /// Guards issue 29: a crash gate over a phase that verified nothing
    /// (`lost_records 0` of 0 checked) is not judged, with its reason,
    /// and the run does not pass.
    #[test]
    fn a_trend_over_too_few_intervals_is_not_judged_and_enough_are_judged() {
        let vs = load(&format!(
            "{BASE}assertions:\n  - w.append.records_per_s.slope > -1k/s/min\n"
        ));
        let mut r = report(&vs, |_, _| 1.0);
        for (t, n) in r.variants[0].targets.iter_mut().zip([2, 6, 0]) {
            let actor = &mut t.phases[0].actors[0];
            actor.timeline = (0..n)
                .map(|i| crate::metrics::report::IntervalReport {
                    t_s: i as f64,
                    duration_s: 1.0,
                    ops: 100,
                    records: 100,
                    ..Default::default()
                })
                .collect();
        }
        evaluate_run(&vs, &CellFilter::default(), &mut r, None);
        let on = |target: &str| {
            r.variants[0]
                .assertions
                .iter()
                .find(|a| a.target == target)
                .unwrap()
                .clone()
        };
        let short = on("wal");
        assert_eq!(short.verdict, Verdict::NotJudged);
        let reason = short.reason.unwrap_or_default();
        assert!(reason.contains("recorded 2 interval(s)"), "{reason}");
        assert_eq!(on("mem").verdict, Verdict::NotJudged);
        let enough = on("rocks");
        assert_eq!(enough.verdict, Verdict::Pass);
        assert_eq!(enough.observed, Some(0.0), "a flat rate has slope 0");
    }

    #[test]
    fn a_crash_count_over_zero_verified_writes_is_not_judged_and_not_a_pass() {
        let vs = load(&format!(
            "{BASE}  - name: crash\n    restart: crash\n    after: 100ms\n    verify: acknowledged\n    actors:\n      - {{ op: put, keys: {{ space: 10 }} }}\nassertions:\n  - crash.lost_records == 0\n  - crash.lost_puts == 0\n  - crash.acknowledged_records == 0\n"
        ));
        let mut r = report(&vs, |_, _| 1.0);
        for (t, verified) in r.variants[0].targets.iter_mut().zip([0.0, 5.0, 0.0]) {
            let crash = t.phases.iter_mut().find(|p| p.name == "crash").unwrap();
            crash.actors.clear();
            for (k, v) in [
                ("acknowledged_records", verified),
                ("verified_records", verified),
                ("lost_records", 0.0),
                ("acknowledged_puts", verified),
                ("verified_puts", verified),
                ("lost_puts", 0.0),
            ] {
                crash.metrics.insert(k.to_owned(), v);
            }
        }
        evaluate_run(&vs, &CellFilter::default(), &mut r, None);
        let results = &r.variants[0].assertions;
        let on = |text: &str, target: &str| {
            results
                .iter()
                .find(|a| a.assertion == text && a.target == target)
                .unwrap()
        };
        let lost = on("crash.lost_records == 0", "wal");
        assert_eq!(lost.verdict, Verdict::NotJudged);
        assert_eq!(lost.observed, Some(0.0), "the value is still shown");
        let reason = lost.reason.as_deref().unwrap();
        assert!(reason.contains("verified no record"), "{reason}");
        assert_eq!(
            on("crash.lost_puts == 0", "wal").verdict,
            Verdict::NotJudged
        );
        assert_eq!(
            on("crash.lost_records == 0", "rocks").verdict,
            Verdict::Pass
        );
        assert_eq!(
            on("crash.acknowledged_records == 0", "wal").verdict,
            Verdict::Pass,
            "the acknowledged count itself is a fact, not a verdict on verified writes"
        );
        r.status = crate::metrics::report::RunStatus::Complete;
        assert!(!r.passed(), "a gate over nothing is no pass");
    }

    #[test]
    fn a_phase_left_out_by_the_plan_is_not_applicable_not_unrun() {
        let vs = load(&format!(
            "{BASE}assertions:\n  - w.append.records_per_s > 0\n"
        ));
        let mut r = report(&vs, |_, _| 1.0);
        for t in &mut r.variants[0].targets {
            t.phases.clear();
        }
        let plan = CellFilter {
            phases: vec!["other".to_owned()],
            ..CellFilter::default()
        };
        evaluate_run(&vs, &plan, &mut r, None);
        assert!(
            verdicts(&r)
                .iter()
                .all(|(_, _, v)| *v == Verdict::NotApplicable)
        );
        evaluate_run(&vs, &CellFilter::default(), &mut r, None);
        assert!(verdicts(&r).iter().all(|(_, _, v)| *v == Verdict::NotRun));
    }

    #[test]
    fn verdicts_and_margins() {
        let a = Assertion {
            text: "w.a.p99 < 10ms".into(),
            metric_path: "w.a.p99".into(),
            metric: MetricRef::Actor {
                phase: "w".into(),
                actor: "a".into(),
                metric: "p99".into(),
            },
            op: CmpOp::Lt,
            threshold: 10.0,
            unit: MetricUnit::Nanos,
            line: None,
            relation: None,
            scope: Scope::default(),
        };
        let r = evaluate(&a, Some(8.0), "t", "");
        assert_eq!(r.verdict, Verdict::Pass);
        assert!((r.margin.unwrap() - 0.2).abs() < 1e-9);
        assert_eq!(evaluate(&a, Some(12.0), "t", "").verdict, Verdict::Fail);
        assert_eq!(evaluate(&a, Some(10.0), "t", "").verdict, Verdict::Fail);
        assert_eq!(evaluate(&a, None, "t", "").verdict, Verdict::NotApplicable);
    }
}
