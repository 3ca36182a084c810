//! Assertions and the `gate:`: each assertion parsed, its metric resolved
//! (see `metrics`), its right side, scope and matrix settings checked.

use super::context::Ctx;
use super::metrics::{assertion_error, resolve_metric};
use crate::assertions::{self, Assertion};
use crate::metrics::catalog::MetricRef;
use crate::metrics::catalog::{self};
use crate::scenario::diagnostic::{did_you_mean, one_of};
use crate::scenario::model::*;
use crate::scenario::spec::ScenarioSpec;

pub(super) fn assertions(
    ctx: &mut Ctx<'_>,
    spec: &ScenarioSpec,
    phases: &[Phase],
    targets: &[Target],
) -> Vec<Assertion> {
    let mut out = Vec::new();
    let matrix = matrix_dims(spec);
    for (i, text) in spec.assertions.iter().enumerate() {
        let ptr = format!("/assertions/{i}");
        match assertion(text, phases, targets, &matrix) {
            Ok(mut a) => {
                a.line = ctx
                    .index
                    .get(&ctx.repair.original(&ptr))
                    .map(|l| l.value.line);
                if let Some(message) = trend_points(&a, phases) {
                    ctx.warning(&ptr, message);
                }
                out.push(a);
            }
            Err(e) => {
                let (mut span, path) = ctx.locate(&ptr, false);
                let quoted = ctx
                    .index
                    .get(&ctx.repair.original(&ptr))
                    .is_some_and(|l| l.plain.is_none());
                let on_one_line = span.width >= text.chars().count();
                // The parser's byte range, clamped: an empty or short text
                // must not index past its end (`assertions: [""]`).
                let at = e.at.min(text.len());
                let end = (e.at + e.len).clamp(at, text.len());
                if on_one_line
                    && let (Some(before), Some(marked)) = (text.get(..at), text.get(at..end))
                {
                    span.col += before.chars().count() + usize::from(quoted);
                    span.width = marked.chars().count().max(1);
                }
                let hidden = ctx
                    .repair
                    .hides(&ctx.repair.original(&ptr), &e.message, Some(text));
                let mut d = ctx.src.diagnostic(span, &path, e.message);
                d.expected = e.expected;
                d.help = e.help;
                d.found = Some(format!("`{text}`"));
                if hidden {
                    ctx.hidden.push(d);
                } else {
                    ctx.diags.push(d);
                }
            }
        }
    }
    out
}

/// The `gate:` section: every metric name one an actor, phase or store
/// reports, every path one `resolve_metric` knows.
pub(super) fn gate(
    ctx: &mut Ctx<'_>,
    spec: &ScenarioSpec,
    phases: &[Phase],
    targets: &[Target],
) -> crate::compare::Gate {
    let default = crate::compare::GateSpec::default();
    let g = spec.gate.as_ref().unwrap_or(&default);
    for (i, m) in g.metrics.iter().enumerate() {
        let ptr = format!("/gate/metrics/{i}");
        let stats: Vec<&str> = targets
            .iter()
            .flat_map(|t| t.kind.statistics())
            .map(|s| s.name)
            .collect();
        let known_name = crate::metrics::actor_metric::actor_metric_unit(m).is_some()
            || crate::metrics::phase_metric::phase_metric_unit(m).is_some()
            || stats.contains(&m.as_str())
            || catalog::PROCESS_METRICS.iter().any(|(n, _)| n == m);
        if known_name {
            continue;
        }
        if m.contains('.')
            && let Err(e) = resolve_metric(m, 0, phases, targets)
        {
            let d = ctx.error(&ptr, format!("gate metric `{m}`: {}", e.message));
            d.expected = e.expected;
            d.help = e.help;
        } else if !m.contains('.') {
            let mut names = crate::metrics::actor_metric::names();
            names.extend(stats.iter().copied());
            let d = ctx.error(&ptr, format!("unknown metric `{m}` in the gate"));
            d.expected = Some(
                "a metric name (`records_per_s`, `p99`, `service.p99`, a store statistic) or a metric path (`write.append.p999`)"
                    .to_owned(),
            );
            d.help = did_you_mean(m, names.iter().copied()).map(|n| format!("did you mean `{n}`?"));
        }
    }
    crate::compare::Gate::from_spec(g, &spec.assertions)
}

/// Resolves an assertion's metric against the scenario and parses its
/// right side (a value, or a reference with a factor) and its scope.
pub(super) fn assertion(
    text: &str,
    phases: &[Phase],
    targets: &[Target],
    matrix: &[MatrixDim],
) -> Result<Assertion, assertions::AssertionError> {
    if text.trim().is_empty() {
        let mut e = assertion_error("empty assertion".to_owned(), 0, 0);
        e.expected = Some("`<metric> <op> <value>`, e.g. `write.append.p99 < 10ms`".to_owned());
        return Err(e);
    }
    let raw = assertions::parse(text)?;
    let (metric, unit) = resolve_metric(&raw.metric, raw.metric_at, phases, targets)?;
    let tail = assertions::relation::parse_tail(text, raw.value_at)?;
    let scope = assertions::Scope {
        targets: tail
            .scope
            .targets
            .iter()
            .map(|w| target_name(w, targets))
            .collect::<Result<_, _>>()?,
        variants: tail
            .scope
            .variants
            .iter()
            .map(|s| matrix_setting(s, matrix))
            .collect::<Result<_, _>>()?,
    };
    let (threshold, relation) = match tail.right {
        assertions::relation::RawRight::Value { text: value, at } => {
            let threshold = assertions::parse_threshold(&value, unit).map_err(|m| {
                assertions::AssertionError {
                    message: m,
                    at,
                    len: value.len(),
                    expected: None,
                    help: None,
                }
            })?;
            (threshold, None)
        }
        assertions::relation::RawRight::Reference {
            factor,
            metric: right_metric,
            cell,
            text: right_text,
        } => {
            let (rmetric, rpath) = match &right_metric {
                Some(w) => {
                    let (m, u) = resolve_metric(&w.text, w.at, phases, targets)?;
                    if u != unit {
                        let mut e = assertion_error(
                            format!(
                                "`{}` is in {}, `{}` in {}: a factor cannot relate different units",
                                raw.metric,
                                unit.label(),
                                w.text,
                                u.label()
                            ),
                            w.at,
                            w.text.len(),
                        );
                        e.expected = Some(format!("a metric in {}", unit.label()));
                        return Err(e);
                    }
                    if cell.is_same() && m == metric {
                        let mut e = assertion_error(
                            format!("`{}` is compared with itself", w.text),
                            w.at,
                            w.text.len(),
                        );
                        e.help = Some(format!(
                            "name another cell: `{} of target <name>`, `of variant <key>=<value>` or `of baseline`",
                            w.text
                        ));
                        return Err(e);
                    }
                    (m, w.text.clone())
                }
                None => (metric.clone(), raw.metric.clone()),
            };
            let cell = if cell.baseline {
                assertions::Cell::Baseline
            } else if cell.is_same() {
                assertions::Cell::Same
            } else {
                assertions::Cell::Other {
                    target: cell
                        .target
                        .as_ref()
                        .map(|w| target_name(w, targets))
                        .transpose()?,
                    variant: cell
                        .variant
                        .iter()
                        .map(|s| matrix_setting(s, matrix).map(|(k, mut v)| (k, v.remove(0))))
                        .collect::<Result<_, _>>()?,
                }
            };
            (
                0.0,
                Some(assertions::Relation {
                    factor,
                    metric: rmetric,
                    metric_path: rpath,
                    cell,
                    text: right_text,
                }),
            )
        }
    };
    Ok(Assertion {
        text: text.to_owned(),
        metric_path: raw.metric.clone(),
        metric,
        op: raw.op,
        threshold,
        unit,
        line: None,
        relation,
        scope,
    })
}

/// A matrix axis as assertions name it: the full key, the short name
/// variant labels use, and its values as labels show them.
pub(super) struct MatrixDim {
    key: String,
    short: String,
    values: Vec<String>,
}

pub(super) fn matrix_dims(spec: &ScenarioSpec) -> Vec<MatrixDim> {
    let short = |k: &str| k.rsplit('.').next().unwrap_or(k).to_owned();
    let shorts: Vec<String> = spec.matrix.keys().map(|k| short(k)).collect();
    let unique = shorts
        .iter()
        .collect::<std::collections::HashSet<_>>()
        .len()
        == shorts.len();
    spec.matrix
        .iter()
        .map(|(k, values)| MatrixDim {
            key: k.clone(),
            short: if unique { short(k) } else { k.clone() },
            values: values
                .iter()
                .map(crate::scenario::matrix::setting_text)
                .collect(),
        })
        .collect()
}

/// A warning when `a` names a trend (`.slope`, `.drift`, `.cv`) of a phase
/// whose timeline may hold too few intervals for it: the number a phase
/// that ends by duration will have at its `interval`, or that a phase
/// ending by records has a number nobody knows before it runs.
pub(super) fn trend_points(a: &Assertion, phases: &[Phase]) -> Option<String> {
    let (phase, name) = match &a.metric {
        MetricRef::Actor { phase, metric, .. } | MetricRef::Phase { phase, metric } => {
            (phase, metric)
        }
        MetricRef::Store { .. } | MetricRef::Process { .. } => return None,
    };
    let (_, kind) = catalog::split_trend(name)?;
    let needed = match kind {
        catalog::TrendKind::Slope => crate::metrics::trend::MIN_POINTS,
        catalog::TrendKind::Drift => 2 * crate::metrics::trend::MIN_WINDOW,
        catalog::TrendKind::Cv => 2,
        catalog::TrendKind::Worst => return None,
    };
    let p = phases.iter().find(|p| &p.name == phase)?;
    let every = p.interval.as_secs_f64().max(1e-9);
    let Some(duration) = p.duration.filter(|_| p.records.is_none()) else {
        return Some(format!(
            "`{}` is fitted to the timeline of phase `{phase}`, which ends by records: its number of intervals (of {}) is known only when it has run, and the trend needs {needed}; without them the assertion is not judged",
            a.metric_path,
            crate::units::human::duration_ns(every * 1e9),
        ));
    };
    let intervals = (duration.as_secs_f64() / every).floor() as usize;
    (intervals < needed.max(10)).then(|| {
        format!(
            "`{}` is fitted to {intervals} intervals of phase `{phase}` ({} at an interval of {}); a trend needs {needed} and means something from about 10: set a shorter `interval:` or a longer `duration:`",
            a.metric_path,
            crate::units::human::duration_ns(duration.as_secs_f64() * 1e9),
            crate::units::human::duration_ns(every * 1e9),
        )
    })
}

pub(super) fn target_name(
    w: &assertions::relation::Word,
    targets: &[Target],
) -> Result<String, assertions::AssertionError> {
    if targets.iter().any(|t| t.name == w.text) {
        return Ok(w.text.clone());
    }
    let names: Vec<&str> = targets.iter().map(|t| t.name.as_str()).collect();
    let mut e = assertion_error(format!("undefined target `{}`", w.text), w.at, w.text.len());
    e.expected = Some(format!("a target: {}", one_of(&names)));
    e.help = did_you_mean(&w.text, names.iter().copied()).map(|m| format!("did you mean `{m}`?"));
    Err(e)
}

pub(super) fn matrix_setting(
    s: &assertions::relation::RawSetting,
    matrix: &[MatrixDim],
) -> Result<(String, Vec<String>), assertions::AssertionError> {
    let key = &s.key.text;
    let Some(dim) = matrix.iter().find(|d| d.short == *key || d.key == *key) else {
        let names: Vec<&str> = matrix.iter().map(|d| d.short.as_str()).collect();
        let mut e = assertion_error(
            if matrix.is_empty() {
                format!("`{key}` is not a matrix setting: the scenario has no `matrix`")
            } else {
                format!("`{key}` is not a matrix setting")
            },
            s.key.at,
            key.len(),
        );
        if !matrix.is_empty() {
            e.expected = Some(format!("a matrix key: {}", one_of(&names)));
        }
        e.help = did_you_mean(key, names.iter().copied()).map(|m| format!("did you mean `{m}`?"));
        return Err(e);
    };
    let mut at = s.key.at + key.len() + 1;
    for v in &s.values {
        if !dim.values.contains(v) {
            let values: Vec<&str> = dim.values.iter().map(String::as_str).collect();
            let mut e = assertion_error(
                format!("matrix key `{key}` has no value `{v}`"),
                at,
                v.len(),
            );
            e.expected = Some(format!("one of {}", one_of(&values)));
            e.help =
                did_you_mean(v, values.iter().copied()).map(|m| format!("did you mean `{m}`?"));
            return Err(e);
        }
        at += v.len() + 1;
    }
    Ok((dim.key.clone(), s.values.clone()))
}

#[cfg(test)]
mod trend_intervals {
    use std::path::Path;

    use crate::scenario::load::Source;

    fn warnings(phase: &str, assertion: &str) -> Vec<String> {
        let l = crate::scenario::load_source(
            Source {
                name: "t.yaml".to_owned(),
                text: format!(
                    "version: 1\nname: t\ntargets:\n  m:\n    memory: {{}}\npayloads:\n  p: {{ size: 64B }}\nphases:\n  - name: soak\n{phase}    actors:\n      - {{ name: w, op: append, payload: p }}\nassertions:\n  - {assertion}\n"
                ),
            },
            Path::new("t.yaml"),
            &[],
        )
        .expect("valid");
        l.warnings.iter().map(|d| d.message.clone()).collect()
    }

    /// Guards issue 28: validation says how many intervals a trend is
    /// fitted to when that is too few, and that a phase ending by records
    /// has a number known only after it ran; enough intervals say nothing.
    #[test]
    fn a_trend_on_too_few_intervals_is_warned_with_their_number() {
        let w = warnings("    duration: 2s\n", "soak.w.p99.slope < 1ms/min");
        assert!(
            w.iter()
                .any(|m| m.contains("fitted to 2 intervals of phase `soak`")),
            "{w:?}"
        );
        let w = warnings("    records: 1000\n", "soak.w.records_per_s.cv < 10%");
        assert!(w.iter().any(|m| m.contains("ends by records")), "{w:?}");
        let w = warnings(
            "    duration: 30s\n    interval: 500ms\n",
            "soak.w.p99.slope < 1ms/min",
        );
        assert!(!w.iter().any(|m| m.contains("intervals")), "{w:?}");
        let w = warnings("    duration: 2s\n", "soak.w.p99.worst < 1s");
        assert!(!w.iter().any(|m| m.contains("intervals")), "{w:?}");
    }
}
