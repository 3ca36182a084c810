//! A phase's `restart`: its kind, crash moment, verification, repeats and
//! `prepare`, checked against the capabilities of the phase's targets.

use std::time::Duration;

use super::actors::writes;
use super::context::Ctx;
use crate::scenario::diagnostic::{did_you_mean, one_of};
use crate::scenario::model::*;
use crate::scenario::spec::{self, PhaseSpec, ScenarioSpec};

/// A crash window: `2s` (one moment) or `2s..5s`.
pub(super) fn parse_window(text: &str) -> Result<(Duration, Duration), String> {
    let parse = |s: &str| crate::scenario::units::parse_duration(s);
    match text.split_once("..") {
        Some((a, b)) => {
            let (a, b) = (parse(a)?, parse(b)?);
            if a > b {
                return Err(format!("crash window `{text}` is reversed"));
            }
            Ok((a, b))
        }
        None => parse(text).map(|d| (d, d)),
    }
}

/// The phase's `restart`, checked in named steps; `None` without one.
pub(super) fn restart(
    ctx: &mut Ctx<'_>,
    ptr: &str,
    ph: &PhaseSpec,
    targets: &[Target],
    spec: &ScenarioSpec,
) -> Option<Restart> {
    let Some(kind) = ph.restart else {
        fields_without_restart(ctx, ptr, ph);
        return None;
    };
    let after = crash_window(ctx, ptr, ph);
    let crashy = matches!(kind, RestartKind::Crash | RestartKind::PowerLoss);
    crash_moment(ctx, ptr, ph, crashy);
    crash_writer(ctx, ptr, ph, crashy);
    crash_in_flight(ctx, ptr, ph, kind);
    prepare_targets(ctx, ptr, ph, targets);
    target_capabilities(ctx, ptr, ph, kind, targets);
    let repeat = ph.repeat.map_or(1, |c| c.0);
    if repeat == 0 {
        ctx.error(&format!("{ptr}/repeat"), "`repeat` must be at least 1");
    }
    let prepare = ph
        .prepare
        .as_ref()
        .and_then(|p| prepare_payload(ctx, ptr, p, spec));
    Some(Restart {
        kind,
        after,
        after_records: ph.after_records.map(|c| c.0),
        verify: ph.verify == Some(spec::VerifySpec::Acknowledged),
        repeat,
        prepare,
    })
}

/// The fields of a restart given on a phase without one.
fn fields_without_restart(ctx: &mut Ctx<'_>, ptr: &str, ph: &PhaseSpec) {
    for (field, set) in [
        ("after", ph.after.is_some()),
        ("after_records", ph.after_records.is_some()),
        ("verify", ph.verify.is_some()),
        ("repeat", ph.repeat.is_some()),
        ("prepare", ph.prepare.is_some()),
    ] {
        if set {
            let d = ctx.key_error(
                &format!("{ptr}/{field}"),
                format!("`{field}` only applies to phases with a `restart`"),
            );
            d.help = Some("add `restart: crash` (or `clean`, `power-loss`)".to_owned());
        }
    }
}

/// `after`, parsed as a duration or a window.
fn crash_window(ctx: &mut Ctx<'_>, ptr: &str, ph: &PhaseSpec) -> Option<(Duration, Duration)> {
    match &ph.after {
        Some(text) => match parse_window(text) {
            Ok(w) => Some(w),
            Err(e) => {
                let d = ctx.error(&format!("{ptr}/after"), e);
                d.expected = Some("a duration or a window such as `2s..5s`".to_owned());
                None
            }
        },
        None => None,
    }
}

/// The crash fields on a clean restart; a crash phase with no moment to
/// crash (no `after`, `after_records`, `records` or `duration`).
fn crash_moment(ctx: &mut Ctx<'_>, ptr: &str, ph: &PhaseSpec, crashy: bool) {
    if !crashy {
        for (field, set) in [
            ("after", ph.after.is_some()),
            ("after_records", ph.after_records.is_some()),
            ("repeat", ph.repeat.is_some()),
            // A clean restart loses nothing to verify, and runs no prepare:
            // accepting them would promise a check that never happens.
            ("verify", ph.verify.is_some()),
            ("prepare", ph.prepare.is_some()),
        ] {
            if set {
                ctx.key_error(
                    &format!("{ptr}/{field}"),
                    format!("`{field}` only applies to `restart: crash` or `power-loss`"),
                );
            }
        }
    } else if ph.after.is_none()
        && ph.after_records.is_none()
        && ph.records.is_none()
        && ph.duration.is_none()
    {
        let d = ctx.key_error(
            &format!("{ptr}/restart"),
            "a crash phase needs a moment to crash",
        );
        d.expected = Some("`after: 2s..5s` or `after_records: 100k`".to_owned());
    }
}

/// A crash phase needs a writer to crash, and `after_records` one to count.
fn crash_writer(ctx: &mut Ctx<'_>, ptr: &str, ph: &PhaseSpec, crashy: bool) {
    if crashy && !ph.actors.iter().any(|a| writes(a.op)) {
        let d = ctx.key_error(
            &format!("{ptr}/restart"),
            "a crash phase needs a writer to crash",
        );
        d.expected = Some("an `append`, `put` or `delete` actor in this phase".to_owned());
        if ph.verify.is_some() {
            d.help = Some(
                "`verify: acknowledged` checks the writes a crash phase acknowledged; without a writer it would check nothing"
                    .to_owned(),
            );
        }
    }
    if ph.after_records.is_some() && !ph.actors.iter().any(|a| writes(a.op)) {
        let d = ctx.key_error(
            &format!("{ptr}/after_records"),
            "`after_records` counts acknowledged writes, and this phase has no writer",
        );
        d.help = Some("crash after a time with `after: 2s..5s` instead".to_owned());
    }
}

/// A crash phase's actors run one request at a time: the verifier reads
/// the writers' acknowledgements as a history with one write outstanding
/// per worker (see `engine::acks`), and the writers run through a
/// recording wrapper that has no pipeline.
fn crash_in_flight(ctx: &mut Ctx<'_>, ptr: &str, ph: &PhaseSpec, kind: RestartKind) {
    if !matches!(kind, RestartKind::Crash | RestartKind::PowerLoss) {
        return;
    }
    for (i, a) in ph.actors.iter().enumerate() {
        if let Some(n) = a.in_flight.filter(|n| n.0 > 1) {
            let d = ctx.error(
                &format!("{ptr}/actors/{i}/in_flight"),
                format!(
                    "a `restart: {}` phase runs one request at a time per worker: its acknowledged writes are recorded one call after another",
                    if matches!(kind, RestartKind::Crash) { "crash" } else { "power-loss" }
                ),
            );
            d.found = Some(format!("`in_flight: {}`", n.0));
            d.help = Some(format!(
                "leave `in_flight` out here and use `workers: {}` for as many writes in flight; measure pipelined throughput in a phase without a restart",
                n.0
            ));
        }
    }
}

/// `prepare` appends: every target of the phase needs log ops.
fn prepare_targets(ctx: &mut Ctx<'_>, ptr: &str, ph: &PhaseSpec, targets: &[Target]) {
    if ph.prepare.is_some() {
        for t in targets.iter().filter(|t| !t.kind.capabilities().log) {
            let kinds = ctx.registry.names_where(|c| c.log);
            let d = ctx.key_error(
                &format!("{ptr}/prepare"),
                format!(
                    "`prepare` appends records, and target `{}` ({}) has no log ops",
                    t.name,
                    t.kind.name()
                ),
            );
            d.expected = Some(format!(
                "targets of a kind with log ops ({})",
                one_of(&kinds)
            ));
            d.help = Some("fill a key-value store with a `put` phase before this one".to_owned());
        }
    }
}

/// The restart against each target's capabilities: a crash on a store
/// that keeps nothing or may lose acknowledged writes is a warning, a
/// power loss on one off the simulated file system an error.
fn target_capabilities(
    ctx: &mut Ctx<'_>,
    ptr: &str,
    ph: &PhaseSpec,
    kind: RestartKind,
    targets: &[Target],
) {
    let verify = ph.verify == Some(spec::VerifySpec::Acknowledged);
    for t in targets {
        let caps = t.kind.capabilities();
        match kind {
            RestartKind::Clean => {}
            RestartKind::Crash if !caps.persistent => {
                let d = ctx.warning(
                    &format!("{ptr}/restart"),
                    format!(
                        "target `{}` ({}) loses everything in a crash",
                        t.name,
                        t.kind.name()
                    ),
                );
                d.help = Some(
                    "its report will show every record lost; that is the truth, not a bug"
                        .to_owned(),
                );
            }
            RestartKind::Crash if verify && !caps.crash_durable => {
                let d = ctx.warning(
                    &format!("{ptr}/restart"),
                    format!(
                        "target `{}` ({}) may lose acknowledged writes in a crash with this config",
                        t.name,
                        t.kind.name()
                    ),
                );
                d.help = Some(
                    "its report will show what was lost; that is the finding, not a bug".to_owned(),
                );
            }
            RestartKind::Crash => {}
            RestartKind::PowerLoss if !caps.power_loss => {
                let kinds = ctx.registry.names_where(|c| c.power_loss);
                let d = ctx.error(
                    &format!("{ptr}/restart"),
                    format!(
                        "`power-loss` needs a store on loadline's simulated file system; target `{}` is {}",
                        t.name,
                        t.kind.name()
                    ),
                );
                d.expected = Some(format!(
                    "targets of a kind that simulates power loss ({})",
                    one_of(&kinds)
                ));
                d.help = Some(
                    "use `restart: crash` for this target, or run power loss in a scenario of its own"
                        .to_owned(),
                );
            }
            RestartKind::PowerLoss => {}
        }
    }
}

/// The payload of a `prepare`: the one named, else the scenario's first.
fn prepare_payload(
    ctx: &mut Ctx<'_>,
    ptr: &str,
    p: &spec::PrepareSpec,
    spec: &ScenarioSpec,
) -> Option<(u64, String)> {
    let name = p
        .payload
        .clone()
        .or_else(|| spec.payloads.keys().next().cloned());
    match name {
        Some(n) if spec.payloads.contains_key(&n) => Some((p.bytes.0, n)),
        Some(n) => {
            let d = ctx.error(
                &format!("{ptr}/prepare/payload"),
                format!("undefined payload `{n}`"),
            );
            if let Some(m) = did_you_mean(&n, spec.payloads.keys().map(String::as_str)) {
                d.help = Some(format!("did you mean `{m}`?"));
            }
            None
        }
        None => {
            ctx.error(
                &format!("{ptr}/prepare"),
                "`prepare` needs a payload, and the scenario defines none",
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::scenario::load::Source;
    use crate::scenario::validate::fixtures::{CRASH_PUTS, refused};

    /// A crash phase whose only writer deletes is a crash phase with a
    /// writer; `after_records` counts its acknowledged deletes; one without
    /// any writer is refused, saying `verify` would check nothing.
    #[test]
    fn a_delete_is_a_writer_and_a_phase_without_one_cannot_verify() {
        let ok = format!(
            "{CRASH_PUTS}    verify: acknowledged\n    after_records: 100\n    actors:\n      - {{ op: delete }}\n"
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
        let r = refused(&format!(
            "{CRASH_PUTS}    verify: acknowledged\n    actors:\n      - {{ op: get }}\n"
        ));
        assert!(r.contains("a crash phase needs a writer to crash"), "{r}");
        assert!(r.contains("it would check nothing"), "{r}");
    }

    /// Guards issue 29: `prepare` appends, so a target without log ops
    /// is refused at the `prepare` (it would stop the run mid-phase).
    #[test]
    fn prepare_on_a_kind_without_log_ops_is_refused() {
        let registry = crate::store::Registry::builtin()
            .with::<KvOnly>()
            .expect("distinct");
        let loader = crate::scenario::Loader::new(registry);
        let text = "version: 1\nname: t\ntargets:\n  k:\n    kvonly: {}\npayloads:\n  p: { size: 64B }\nphases:\n  - name: crash\n    restart: crash\n    after: 1s\n    verify: acknowledged\n    prepare: { bytes: 1MiB }\n    actors:\n      - { op: put }\n";
        let d = loader
            .load_source(
                Source {
                    name: "t.yaml".to_owned(),
                    text: text.to_owned(),
                },
                Path::new("t.yaml"),
                &[],
            )
            .expect_err("refused");
        let r = d.render();
        assert!(
            r.contains("`prepare` appends records, and target `k` (kvonly) has no log ops"),
            "{r}"
        );
        assert!(r.contains("t.yaml:13:5"), "{r}");
    }

    struct KvOnly;

    impl crate::store::StoreKind for KvOnly {
        const NAME: &'static str = "kvonly";
        const ABOUT: &'static str = "Key-value operations only.";
        type Config = crate::store::MemoryConfig;
        fn capabilities(_: &Self::Config) -> crate::store::Capabilities {
            crate::store::Capabilities {
                kv: true,
                ..crate::store::Capabilities::NONE
            }
        }
        fn statistics() -> &'static [crate::store::StatDesc] {
            &[]
        }
        fn open(
            _: &Self::Config,
            _: &Path,
        ) -> Result<Box<dyn crate::store::Store>, crate::store::StoreError> {
            Ok(Box::new(crate::store::MemoryStore::new()))
        }
    }
}
