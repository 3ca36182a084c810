//! Metric paths (`write.append.p99`, `crash.lost_records`,
//! `target.store.fsyncs`) resolved against the scenario to what they
//! measure and their unit.

use crate::assertions::{self};
use crate::metrics::actor_metric;
use crate::metrics::catalog::MetricRef;
use crate::metrics::catalog::{self, MetricUnit};
use crate::metrics::phase_metric::{self, PHASE_METRICS, PhaseMetric, PhaseSetup, Scope};
use crate::scenario::diagnostic::{did_you_mean, one_of};
use crate::scenario::model::*;

/// An assertion error at `at..at + len` of its text, with no hints.
pub(super) fn assertion_error(
    message: String,
    at: usize,
    len: usize,
) -> assertions::AssertionError {
    assertions::AssertionError {
        message,
        at,
        len,
        expected: None,
        help: None,
    }
}

/// Resolves a metric path (`write.append.p99`, `recover.reopen.duration`,
/// `target.store.fsyncs`) to what it measures and its unit.
pub(super) fn resolve_metric(
    metric: &str,
    at: usize,
    phases: &[Phase],
    targets: &[Target],
) -> Result<(MetricRef, MetricUnit), assertions::AssertionError> {
    let parts: Vec<&str> = metric.split('.').collect();
    Ok(if parts[0] == "target" {
        let scope = parts.get(1).copied().unwrap_or_default();
        let name = parts.get(2..).map(|p| p.join(".")).unwrap_or_default();
        match scope {
            "store" => {
                let mut all: Vec<&str> = Vec::new();
                let mut unit = None;
                for t in targets {
                    for s in t.kind.statistics() {
                        all.push(s.name);
                        if s.name == name {
                            unit = Some(catalog::stat_unit(s.unit));
                        }
                    }
                }
                let Some(unit) = unit else {
                    let mut e = assertion_error(
                        format!("no target in this scenario reports store statistic `{name}`"),
                        at,
                        metric.len(),
                    );
                    all.sort_unstable();
                    all.dedup();
                    e.help = did_you_mean(&name, all.iter().copied())
                        .map(|m| format!("did you mean `target.store.{m}`?"));
                    e.expected = Some(format!("one of {}", one_of(&all)));
                    return Err(e);
                };
                (MetricRef::Store { stat: name }, unit)
            }
            "process" => {
                let Some((_, unit)) = catalog::PROCESS_METRICS.iter().find(|(n, _)| *n == name)
                else {
                    let names: Vec<&str> =
                        catalog::PROCESS_METRICS.iter().map(|(n, _)| *n).collect();
                    let mut e = assertion_error(
                        format!("unknown process metric `{name}`"),
                        at,
                        metric.len(),
                    );
                    e.expected = Some(format!("one of {}", one_of(&names)));
                    e.help = did_you_mean(&name, names.iter().copied())
                        .map(|m| format!("did you mean `target.process.{m}`?"));
                    return Err(e);
                };
                (MetricRef::Process { metric: name }, *unit)
            }
            other => {
                let mut e = assertion_error(
                    format!("unknown target metric group `{other}`"),
                    at,
                    metric.len(),
                );
                e.expected =
                    Some("`target.store.<statistic>` or `target.process.<metric>`".to_owned());
                return Err(e);
            }
        }
    } else if matches!(parts.get(1).copied(), Some("store" | "process")) {
        phase_stat_metric(metric, at, &parts, phases, targets)?
    } else {
        resolve_phase_metric(metric, at, phases)?
    })
}

/// `<phase>.store.<stat>` (the change of a store statistic over the
/// phase) and `<phase>.process.<metric>`.
pub(super) fn phase_stat_metric(
    metric: &str,
    at: usize,
    parts: &[&str],
    phases: &[Phase],
    targets: &[Target],
) -> Result<(MetricRef, MetricUnit), assertions::AssertionError> {
    // The phase itself (exists, not a warmup) is checked as for any metric.
    let phase_name = parts[0];
    if phases.iter().all(|p| p.name != phase_name)
        || phases.iter().any(|p| p.name == phase_name && p.warmup)
    {
        return resolve_phase_metric(metric, at, phases);
    }
    let name = parts[2..].join(".");
    // `<phase>.process.rss.slope`: a trend of the series `rss`.
    let (series, trend) = match catalog::split_trend(&name) {
        Some((series, kind)) => (series.to_owned(), Some(kind)),
        None => (name.clone(), None),
    };
    let (unit, names): (Option<MetricUnit>, Vec<&str>) = if parts[1] == "store" {
        let mut names = Vec::new();
        let mut unit = None;
        for s in targets.iter().flat_map(|t| t.kind.statistics()) {
            names.push(s.name);
            if s.name == series {
                unit = Some(catalog::stat_unit(s.unit));
            }
        }
        (unit, names)
    } else {
        let list = catalog::PHASE_PROCESS_METRICS;
        (
            list.iter().find(|(n, _)| *n == series).map(|(_, u)| *u),
            list.iter().map(|(n, _)| *n).collect(),
        )
    };
    let unit = match trend {
        Some(kind) => unit.map(|u| kind.unit(u)),
        None => unit,
    };
    let Some(unit) = unit else {
        let mut names = names;
        names.sort_unstable();
        names.dedup();
        let scope = parts[1];
        let mut e = assertion_error(
            if scope == "store" {
                format!("no target in this scenario reports store statistic `{name}`")
            } else {
                format!("unknown process metric `{name}`")
            },
            at,
            metric.len(),
        );
        e.help = did_you_mean(&name, names.iter().copied())
            .map(|m| format!("did you mean `{phase_name}.{scope}.{m}`?"));
        e.expected = Some(format!("one of {}", one_of(&names)));
        return Err(e);
    };
    Ok((
        MetricRef::Phase {
            phase: phase_name.to_owned(),
            metric: format!("{}.{name}", parts[1]),
        },
        unit,
    ))
}

/// `a`, `a or b`, `a, b or c`.
fn or_list(items: &[String]) -> String {
    match items.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

/// True for a phase that crashes (`restart: crash` or `power-loss`).
pub(super) fn crashy(phase: &Phase) -> bool {
    phase
        .restart
        .as_ref()
        .is_some_and(|r| matches!(r.kind, RestartKind::Crash | RestartKind::PowerLoss))
}

/// `<phase>.<metric>` and `<phase>.<actor>.<metric>`: a phase metric the
/// phase reports ([`PHASE_METRICS`](phase_metric::PHASE_METRICS)), else a
/// metric of one of its actors.
pub(super) fn resolve_phase_metric(
    metric: &str,
    at: usize,
    phases: &[Phase],
) -> Result<(MetricRef, MetricUnit), assertions::AssertionError> {
    let (phase_name, rest) = metric.split_once('.').unwrap_or((metric, ""));
    let phase = measured_phase(metric, phase_name, at, phases)?;
    let rest_at = at + phase_name.len() + 1;
    let shape = shape(phase);
    let of_phase = |unit| {
        let metric = rest.to_owned();
        let phase = phase_name.to_owned();
        Ok((MetricRef::Phase { phase, metric }, unit))
    };
    if let Some(row) = phase_metric::find(rest) {
        if row.scope == Scope::Verify && shape.crashes {
            verification_count(phase, &shape, row, rest_at)?;
            return of_phase(row.unit);
        }
        if row.scope != Scope::Verify && row.scope.applies(&shape) {
            return of_phase(row.unit);
        }
    }
    let (actor_name, m) = rest.split_once('.').unwrap_or((rest, ""));
    let Some(actor) = phase.actors.iter().find(|a| a.name == actor_name) else {
        return Err(no_actor_or_metric(phase, &shape, rest, rest_at));
    };
    let unit = actor_metric_unit(phase, actor, rest, rest_at)?;
    Ok((
        MetricRef::Actor {
            phase: phase_name.to_owned(),
            actor: actor_name.to_owned(),
            metric: m.to_owned(),
        },
        unit,
    ))
}

/// The phase called `phase_name`, refused when unknown or a warmup.
fn measured_phase<'a>(
    metric: &str,
    phase_name: &str,
    at: usize,
    phases: &'a [Phase],
) -> Result<&'a Phase, assertions::AssertionError> {
    let Some(phase) = phases.iter().find(|p| p.name == phase_name) else {
        let mut names: Vec<&str> = phases.iter().map(|p| p.name.as_str()).collect();
        names.dedup();
        let mut e = assertion_error(
            format!("unknown phase `{phase_name}` in metric `{metric}`"),
            at,
            phase_name.len(),
        );
        e.expected = Some(format!("a phase name ({}) or `target`", one_of(&names)));
        e.help =
            did_you_mean(phase_name, names.iter().copied()).map(|m| format!("did you mean `{m}`?"));
        return Err(e);
    };
    if phase.warmup {
        let mut e = assertion_error(
            format!("phase `{phase_name}` is a warmup phase; its results are excluded"),
            at,
            phase_name.len(),
        );
        e.help = Some("assert on a measured phase, or remove `warmup: true`".to_owned());
        return Err(e);
    }
    Ok(phase)
}

/// What `phase` is, as far as its metrics go.
fn shape(phase: &Phase) -> PhaseSetup {
    let restart = phase.restart.as_ref();
    PhaseSetup {
        settles: phase.settle.is_some(),
        restarts: restart.is_some(),
        crashes: crashy(phase),
        loses_power: restart.is_some_and(|r| r.kind == RestartKind::PowerLoss),
        verifies: restart.is_some_and(|r| r.verify),
    }
}

/// A count of `verify: acknowledged` in a crashing phase: it needs the
/// verification, and a per-kind count needs writes of its kind.
fn verification_count(
    phase: &Phase,
    shape: &PhaseSetup,
    row: &PhaseMetric,
    rest_at: usize,
) -> Result<(), assertions::AssertionError> {
    let (phase_name, rest) = (&phase.name, row.name);
    if !shape.verifies {
        let mut e = assertion_error(
            format!("`{rest}` is counted only when phase `{phase_name}` verifies its writes"),
            rest_at,
            rest.len(),
        );
        e.help = Some(format!(
            "add `verify: acknowledged` to phase `{phase_name}`: without it nothing is checked, and a gate on it would judge nothing"
        ));
        return Err(e);
    }
    if let Some(op) = row.op
        && !phase.actors.iter().any(|a| a.plan.name() == op)
    {
        let mut e = assertion_error(
            format!("phase `{phase_name}` has no `{op}` actor, so `{rest}` would count nothing"),
            rest_at,
            rest.len(),
        );
        e.help = Some(format!(
            "assert on `{phase_name}.lost_records` (every kind of write), or add a `{op}` actor"
        ));
        return Err(e);
    }
    Ok(())
}

/// The refusal of `<phase>.<rest>` that names neither an actor of the
/// phase nor a metric it reports, with what it could have named.
fn no_actor_or_metric(
    phase: &Phase,
    shape: &PhaseSetup,
    rest: &str,
    rest_at: usize,
) -> assertions::AssertionError {
    let phase_name = &phase.name;
    let actor_name = rest.split_once('.').map_or(rest, |(a, _)| a);
    // The phase's own metrics, then (with `verify`) the totals it verifies.
    let listed: Vec<&str> = PHASE_METRICS
        .iter()
        .filter(|m| m.scope != Scope::Verify && m.scope.applies(shape))
        .chain(phase_metric::of_scope(Scope::Verify).filter(|m| shape.verifies && m.op.is_none()))
        .map(|m| m.name)
        .collect();
    let mut names: Vec<&str> = phase.actors.iter().map(|a| a.name.as_str()).collect();
    names.extend(listed.iter().copied());
    let mut e = assertion_error(
        format!("phase `{phase_name}` has no actor or metric `{actor_name}`"),
        rest_at,
        actor_name.len().max(1),
    );
    e.expected = Some(format!("one of {}", one_of(&names)));
    e.help = did_you_mean(actor_name, names.iter().copied())
        .or_else(|| did_you_mean(rest, listed.iter().copied()))
        .map(|m| format!("did you mean `{phase_name}.{m}`?"));
    if rest.starts_with("reopen") && phase.restart.is_none() {
        e.help = Some("`reopen.duration` exists only for phases with a `restart`".to_owned());
    }
    if rest.starts_with("settle.") && phase.settle.is_none() {
        e.help = Some(format!(
            "`{rest}` exists only for phases with a `settle`: add `settle: {{}}` to phase `{phase_name}`"
        ));
    }
    e
}

/// The unit of `<actor>.<metric>` (`rest`, at `rest_at`), refused in a
/// crash phase, for `service.` without a rate, for a name no row has, and
/// for a metric the actor's op does not measure.
fn actor_metric_unit(
    phase: &Phase,
    actor: &Actor,
    rest: &str,
    rest_at: usize,
) -> Result<MetricUnit, assertions::AssertionError> {
    let (phase_name, actor_name) = (&phase.name, &actor.name);
    let m = rest.split_once('.').map_or("", |(_, m)| m);
    let m_at = rest_at + actor_name.len() + 1;
    if crashy(phase) {
        let mut e = assertion_error(
            format!("actor metrics are not measured in crash phase `{phase_name}`"),
            rest_at,
            rest.len().max(1),
        );
        e.expected = Some(format!(
            "a phase metric such as `{phase_name}.lost_records` or `{phase_name}.reopen.duration`"
        ));
        e.help = Some(
            "the writers are killed with their histograms; measure latency in a phase without a crash"
                .to_owned(),
        );
        return Err(e);
    }
    if m.starts_with("service.") && actor.rate.is_none() {
        let mut e = assertion_error(
            format!("`{m}` needs an open-loop actor, and `{actor_name}` has no `rate`"),
            m_at,
            m.len(),
        );
        e.help = Some(format!(
            "without a rate, service time equals latency: use `{}`",
            m.trim_start_matches("service.")
        ));
        return Err(e);
    }
    let Some(unit) = actor_metric::actor_metric_unit(m) else {
        let names = actor_metric::names();
        let mut e = assertion_error(
            format!("unknown metric `{m}` for actor `{actor_name}`"),
            m_at,
            m.len().max(1),
        );
        e.expected = Some(format!("one of {}", one_of(&names)));
        e.help = did_you_mean(m.trim_start_matches("service."), names.iter().copied())
            .map(|s| format!("did you mean `{s}`?"));
        return Err(e);
    };
    if let Some(only) = actor_metric::find(m).and_then(|row| row.only)
        && actor.plan.name() != only.op
    {
        let mut e = assertion_error(
            format!(
                "`{m}` {}, and `{actor_name}` is a `{}` actor",
                only.counts,
                actor.plan.name()
            ),
            m_at,
            m.len(),
        );
        let same: Vec<String> = actor_metric::ACTOR_METRICS
            .iter()
            .filter(|row| row.only.is_some_and(|o| o.op == only.op))
            .map(|row| format!("`{}`", row.name))
            .collect();
        e.expected = Some(format!("a `{}` actor's {}", only.op, or_list(&same)));
        return Err(e);
    }
    Ok(unit)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::scenario::load::Source;
    use crate::scenario::validate::fixtures::{CRASH_PUTS, refused};

    /// The names an unknown per-actor metric is checked against, and the
    /// get-only metrics an append actor is refused, are the table's rows.
    #[test]
    fn actor_metric_names_offered_come_from_the_table() {
        let scenario = |assertion: &str| {
            format!(
                "version: 1\nname: t\ntargets:\n  m:\n    memory: {{}}\npayloads:\n  p: {{ size: 64B }}\nphases:\n  - name: write\n    records: 10\n    actors:\n      - {{ name: w, op: append, payload: p }}\nassertions:\n  - {assertion}\n"
            )
        };
        let r = refused(&scenario("write.w.p98 < 1ms"));
        let rows = crate::metrics::actor_metric::ACTOR_METRICS;
        for m in rows {
            assert!(
                r.contains(&format!("`{}`", m.name)),
                "{} not offered: {r}",
                m.name
            );
        }
        for m in rows.iter().filter(|m| m.only.is_some()) {
            let r = refused(&scenario(&format!("write.w.{} >= 0", m.name)));
            let op = m.only.map(|o| o.op).unwrap_or_default();
            assert!(r.contains(&format!("a `{op}` actor's")), "{r}");
            for same in rows.iter().filter(|o| o.only.is_some_and(|o| o.op == op)) {
                assert!(r.contains(&format!("`{}`", same.name)), "{r}");
            }
        }
    }

    /// Guards issue 29 (no verdict over nothing): counts of `verify:
    /// acknowledged` need the verification, and per-kind counts a writer of
    /// their kind — refused at the assertion, before anything runs.
    #[test]
    fn verification_counts_need_verify_and_a_writer_of_their_kind() {
        let r = refused(&format!(
            "{CRASH_PUTS}    actors:\n      - {{ op: put }}\nassertions:\n  - crash.lost_records == 0\n"
        ));
        assert!(
            r.contains("`lost_records` is counted only when phase `crash` verifies its writes"),
            "{r}"
        );
        assert!(r.contains("add `verify: acknowledged`"), "{r}");
        let r = refused(&format!(
            "{CRASH_PUTS}    verify: acknowledged\n    actors:\n      - {{ op: put }}\nassertions:\n  - crash.lost_deletes == 0\n"
        ));
        assert!(
            r.contains(
                "phase `crash` has no `delete` actor, so `lost_deletes` would count nothing"
            ),
            "{r}"
        );
        // Accepted: each count where it is counted.
        let ok = format!(
            "{CRASH_PUTS}    verify: acknowledged\n    actors:\n      - {{ op: put }}\n      - {{ op: delete }}\nassertions:\n  - crash.lost_records == 0\n  - crash.lost_puts == 0\n  - crash.indeterminate_deletes >= 0\n  - crash.verified_records > 0\n"
        );
        if let Err(d) = crate::scenario::load_source(
            Source {
                name: "t.yaml".to_owned(),
                text: ok,
            },
            Path::new("t.yaml"),
            &[],
        ) {
            panic!("{}", d.render());
        }
    }
}
