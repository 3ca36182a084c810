//! Phases: their targets, bounds and actors, the rules between actors of
//! one phase, and `cache: cold`.

use super::actors::actor;
use super::context::MIN_INTERVAL;
use super::context::{Ctx, check_name};
use super::restart::restart;
use crate::scenario::diagnostic::{did_you_mean, one_of};
use crate::scenario::model::*;
use crate::scenario::spec::{self, PhaseSpec, ScenarioSpec};

pub(super) fn phases(
    ctx: &mut Ctx<'_>,
    spec: &ScenarioSpec,
    targets: &[Target],
    payloads: &[String],
    recorded: &[(String, usize)],
) -> Vec<Phase> {
    let mut out: Vec<Phase> = Vec::new();
    for (i, ph) in spec.phases.iter().enumerate() {
        let ptr = format!("/phases/{i}");
        check_name(ctx, &format!("{ptr}/name"), "phase", &ph.name);
        if ph.name == "target" {
            ctx.error(
                &format!("{ptr}/name"),
                "`target` is reserved for target-level metrics; choose another phase name",
            );
        }
        if let Some(first) = spec.phases[..i].iter().position(|p| p.name == ph.name) {
            let d = ctx.error(
                &format!("{ptr}/name"),
                format!("duplicate phase name `{}`", ph.name),
            );
            d.help = Some(format!(
                "`phases[{first}]` is also called `{}`; metric paths need unique names",
                ph.name
            ));
        }
        if let Some(phase) = phase(ctx, &ptr, ph, targets, payloads, recorded, spec) {
            out.push(phase);
        }
    }
    out
}

pub(super) fn phase(
    ctx: &mut Ctx<'_>,
    ptr: &str,
    ph: &PhaseSpec,
    targets: &[Target],
    payloads: &[String],
    recorded: &[(String, usize)],
    spec: &ScenarioSpec,
) -> Option<Phase> {
    let selected = phase_targets(ctx, ptr, ph, targets, spec);
    let targets = selected.as_slice();
    check_bounds(ctx, ptr, ph);
    let (actors, actor_at) = phase_actors(ctx, ptr, ph, targets, payloads, recorded);
    check_tail_readers(ctx, ptr, &actors, &actor_at);
    let restart = restart(ctx, ptr, ph, targets, spec);
    check_ends(ctx, ptr, ph, &actors, restart.as_ref());
    Some(Phase {
        name: ph.name.clone(),
        warmup: ph.warmup.unwrap_or(false),
        records: ph.records.map(|c| c.0),
        duration: ph.duration.map(|d| d.0),
        interval: ph.interval.or(spec.interval).map_or(
            crate::scenario::model::default_interval(ph.duration.map(|d| d.0)),
            |d| d.0,
        ),
        targets: ph.targets.clone().unwrap_or_default(),
        actors,
        restart,
        cold: cold_cache(ctx, ptr, ph, targets),
        settle: ph.settle.as_ref().map(Into::into),
    })
}

/// The phase's targets: every one, or those it names (each once, each
/// defined).
fn phase_targets(
    ctx: &mut Ctx<'_>,
    ptr: &str,
    ph: &PhaseSpec,
    targets: &[Target],
    spec: &ScenarioSpec,
) -> Vec<Target> {
    let Some(names) = &ph.targets else {
        return targets.to_vec();
    };
    let mut selected: Vec<Target> = Vec::new();
    for (j, n) in names.iter().enumerate() {
        match targets.iter().find(|t| &t.name == n) {
            Some(t) if !selected.iter().any(|s| s.name == t.name) => selected.push(t.clone()),
            Some(_) => {
                ctx.error(
                    &format!("{ptr}/targets/{j}"),
                    format!("target `{n}` is listed twice"),
                );
            }
            None if spec.targets.contains_key(n) => {} // invalid, reported already
            None => {
                let names: Vec<&str> = spec.targets.keys().map(String::as_str).collect();
                let d = ctx.error(
                    &format!("{ptr}/targets/{j}"),
                    format!("undefined target `{n}`"),
                );
                d.expected = Some(format!("one of {}", one_of(&names)));
                if let Some(m) = did_you_mean(n, names.iter().copied()) {
                    d.help = Some(format!("did you mean `{m}`?"));
                }
            }
        }
    }
    selected
}

/// `records`, `duration` and `interval` are positive (`interval` at least
/// 1ms).
fn check_bounds(ctx: &mut Ctx<'_>, ptr: &str, ph: &PhaseSpec) {
    if ph.records.is_some_and(|r| r.0 == 0) {
        let d = ctx.error(
            &format!("{ptr}/records"),
            "`records` must be greater than zero",
        );
        d.found = Some("0".to_owned());
    }
    if ph.duration.is_some_and(|d| d.0.is_zero()) {
        ctx.error(
            &format!("{ptr}/duration"),
            "`duration` must be greater than zero",
        );
    }
    if ph.interval.is_some_and(|d| d.0 < MIN_INTERVAL) {
        ctx.error(
            &format!("{ptr}/interval"),
            "`interval` must be at least 1ms",
        );
    }
}

/// The phase's valid actors, with names unique in the phase, and the index
/// in the file of each (for locating later errors).
fn phase_actors(
    ctx: &mut Ctx<'_>,
    ptr: &str,
    ph: &PhaseSpec,
    targets: &[Target],
    payloads: &[String],
    recorded: &[(String, usize)],
) -> (Vec<Actor>, Vec<usize>) {
    let mut actors: Vec<Actor> = Vec::new();
    let mut actor_at: Vec<usize> = Vec::new();
    for (j, a) in ph.actors.iter().enumerate() {
        let aptr = format!("{ptr}/actors/{j}");
        if let Some(actor) = actor(ctx, &aptr, a, targets, payloads, recorded) {
            if let Some(k) = actors.iter().position(|x| x.name == actor.name) {
                let d = ctx.error(
                    &aptr,
                    format!(
                        "duplicate actor name `{}` in phase `{}`",
                        actor.name, ph.name
                    ),
                );
                d.help = Some(format!(
                    "actors[{k}] has the same name (an actor's name defaults to its op); give each a `name:`"
                ));
            }
            actors.push(actor);
            actor_at.push(j);
        }
    }
    (actors, actor_at)
}

/// Without writers, a reader that starts at the tail has nothing to read,
/// ever: say so instead of running a phase that reads nothing.
fn check_tail_readers(ctx: &mut Ctx<'_>, ptr: &str, actors: &[Actor], actor_at: &[usize]) {
    if actors.iter().any(Actor::is_writer) {
        return;
    }
    for (&j, actor) in actor_at.iter().zip(actors) {
        if matches!(
            actor.plan,
            OpPlan::Read {
                from: ReadFrom::Tail,
                lag: 0,
                ..
            }
        ) {
            let d = ctx.error(
                &format!("{ptr}/actors/{j}"),
                format!(
                    "reader `{}` starts at the tail of a phase with no writer, so it would read nothing",
                    actor.name
                ),
            );
            d.expected = Some(
                "`from: head` or `from: random` (read what is there), or a `lag` (start that many records behind the tail)"
                    .to_owned(),
            );
        }
    }
}

/// A phase ends (by `records` that an actor counts, a `duration`, or its
/// restart's moment) and has something to do.
fn check_ends(
    ctx: &mut Ctx<'_>,
    ptr: &str,
    ph: &PhaseSpec,
    actors: &[Actor],
    restart: Option<&crate::scenario::model::Restart>,
) {
    let drivers = actors.iter().filter(|a| !a.is_periodic()).count();
    if ph.records.is_some() && drivers == 0 && !ph.actors.is_empty() {
        let d = ctx.key_error(
            &format!("{ptr}/records"),
            "`records` needs an actor that writes or reads",
        );
        d.help = Some(
            "trim and sync actors run until the phase's other actors finish; use `duration`"
                .to_owned(),
        );
    }
    let bounded = ph.records.is_some()
        || ph.duration.is_some()
        || restart.is_some_and(|r| r.after.is_some() || r.after_records.is_some());
    if !ph.actors.is_empty() && !bounded {
        let d = ctx.key_error(ptr, format!("phase `{}` never ends", ph.name));
        d.expected = Some(
            "`records`, `duration`, or both (the phase ends at whichever comes first)".to_owned(),
        );
    }
    if ph.actors.is_empty() && ph.restart.is_none() && ph.settle.is_none() {
        let d = ctx.key_error(ptr, format!("phase `{}` has nothing to do", ph.name));
        d.expected = Some("`actors`, a `restart`, a `settle`, or a mix".to_owned());
    }
}

/// `cache: cold`: refused where the page cache is not the phase's (a crash
/// child or a simulated disk), a warning on targets that keep no files.
pub(super) fn cold_cache(ctx: &mut Ctx<'_>, ptr: &str, ph: &PhaseSpec, targets: &[Target]) -> bool {
    if ph.cache != Some(spec::CacheSpec::Cold) {
        return false;
    }
    let cptr = format!("{ptr}/cache");
    if matches!(
        ph.restart,
        Some(RestartKind::Crash | RestartKind::PowerLoss)
    ) {
        let d = ctx.key_error(
            &cptr,
            "`cache: cold` does not apply to crash and power-loss phases",
        );
        d.help = Some(
            "put the reads to measure cold in a phase of their own after the crash phase"
                .to_owned(),
        );
        return false;
    }
    for t in targets {
        if !t.kind.capabilities().persistent {
            let d = ctx.warning(
                &cptr,
                format!(
                    "target `{}` ({}) keeps no files: `cache: cold` changes nothing there",
                    t.name,
                    t.kind.name()
                ),
            );
            d.help = Some("its report does not say the phase began cold".to_owned());
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::scenario::load::Source;

    fn load(
        targets: &str,
    ) -> Result<crate::scenario::Loaded, crate::scenario::diagnostic::Diagnostics> {
        crate::scenario::load_source(
            Source {
                name: "t.yaml".to_owned(),
                text: format!(
                    "version: 1\nname: t\ntargets:\n  log:\n    wal: {{}}\n  kv:\n    memory: {{}}\npayloads:\n  p: {{ size: 64B }}\nphases:\n  - name: puts\n{targets}    records: 10\n    actors:\n      - {{ op: put }}\n"
                ),
            },
            Path::new("t.yaml"),
            &[],
        )
    }

    /// A phase naming its targets is checked against those only: `put` on
    /// the memory target alone validates, on every target it does not.
    #[test]
    fn a_phase_is_checked_against_the_targets_it_names() {
        let l = load("    targets: [kv]\n").expect("valid");
        assert!(l.variants[0].phases[0].runs_on("kv"));
        assert!(!l.variants[0].phases[0].runs_on("log"));
        let d = load("").expect_err("put on the wal");
        assert!(
            d.render()
                .contains("target `log` (wal) does not support `put`")
        );
        let d = load("    targets: [kb]\n").expect_err("typo");
        let r = d.render();
        assert!(r.contains("undefined target `kb`"), "{r}");
        assert!(r.contains("did you mean `kv`?"), "{r}");
        assert!(r.contains("t.yaml:12:15"), "{r}");
    }
}
