//! Targets: each store kind configured from the file, and what the phases
//! ask of each target ([`Workload`]) for the kind's own checks.

use super::actors::op_name;
use super::context::{Ctx, check_name};
use crate::scenario::diagnostic::{Severity, did_you_mean, one_of};
use crate::scenario::load::escape_segment;
use crate::scenario::model::*;
use crate::scenario::spec::ScenarioSpec;
use crate::store::{AppendPlan, Problem, ProblemAt, Workload};

pub(super) fn targets(ctx: &mut Ctx<'_>, spec: &ScenarioSpec) -> Vec<Target> {
    if spec.targets.is_empty() {
        let d = ctx.key_error("/targets", "a scenario needs at least one target");
        d.expected = Some("e.g. `targets: { mem: { memory: {} } }`".to_owned());
    }
    let mut out = Vec::new();
    for (name, t) in &spec.targets {
        let p = format!("/targets/{}", escape_segment(name));
        check_name(ctx, &p, "target", name);
        let kptr = format!("{p}/{}", escape_segment(&t.kind));
        match ctx.registry.configure(&t.kind, &t.config) {
            Some(Ok(kind)) => out.push(Target {
                name: name.clone(),
                kind,
            }),
            Some(Err(e)) => {
                ctx.error(&format!("{kptr}{}", e.pointer), e.message);
            }
            None => {
                // The schema refuses unknown kinds first; this is the
                // backstop for documents that reach validation otherwise.
                let names = ctx.registry.names();
                let d = ctx.key_error(&kptr, format!("unknown store kind `{}`", t.kind));
                d.expected = Some(format!("exactly one of {}", one_of(&names)));
                if let Some(m) = did_you_mean(&t.kind, names.iter().copied()) {
                    d.help = Some(format!("did you mean `{m}`?"));
                }
                if let Some(feature) = crate::store::missing_feature(&t.kind) {
                    d.message = format!(
                        "store kind `{}` is not in this build: loadline's `{feature}` feature is off",
                        t.kind
                    );
                    d.help = Some(crate::scenario::check_messages::feature_help(feature));
                }
            }
        }
    }
    out
}

/// A store kind's [`Problem`] as a located diagnostic; `base` is the
/// pointer of the kind's config.
pub(super) fn problem(ctx: &mut Ctx<'_>, base: &str, p: Problem) {
    let severity = if p.warning {
        Severity::Warning
    } else {
        Severity::Error
    };
    let d = match &p.at {
        ProblemAt::Config { field, key } => {
            let ptr = if field.is_empty() {
                base.to_owned()
            } else {
                format!("{base}/{field}")
            };
            ctx.push(&ptr, *key, severity, p.message.clone())
        }
        // A `prepare` has no `batch`: the problem is at the `prepare`.
        ProblemAt::Append { pointer } if pointer.ends_with("/prepare") => {
            ctx.push(pointer, true, severity, p.message.clone())
        }
        ProblemAt::Append { pointer } => ctx.push(
            &format!("{pointer}/batch"),
            false,
            severity,
            p.message.clone(),
        ),
    };
    d.expected = p.expected;
    d.found = p.found;
    d.help = p.help;
}

/// What the phases ask of target `target`: every append actor with its batch
/// and the largest record its payload can produce, and every `prepare` (one
/// record must fit; its batches adapt to the store's limit), for kinds' checks.
pub(super) fn workload(
    spec: &ScenarioSpec,
    phases: &[Phase],
    payloads: &[Payload],
    target: &str,
) -> Workload {
    // (largest record body, key bytes per record) of a payload.
    let records = |name: &str| -> Option<(u64, u64)> {
        let payload = payloads.iter().find(|p| p.name == name)?;
        let key_bytes = |k: crate::workload::KeyStyle| match k {
            crate::workload::KeyStyle::None => 0,
            crate::workload::KeyStyle::Single => 8,
            crate::workload::KeyStyle::Pair | crate::workload::KeyStyle::Range => 16,
        };
        match &payload.source {
            PayloadSource::Generated { size, keys, .. } => Some((
                size.max(),
                match keys {
                    KeyStyle::None => 0,
                    KeyStyle::Single => 8,
                    KeyStyle::Pair | KeyStyle::Range => 16,
                },
            )),
            PayloadSource::File { path, .. } => {
                let f = crate::workload::PayloadFile::open(path).ok()?;
                Some((f.header().size.max(), key_bytes(f.header().keys)))
            }
        }
    };
    let mut appends = Vec::new();
    for (i, ph) in spec.phases.iter().enumerate() {
        // `phases` holds one entry per phase of the file, in order (two
        // phases of one name are an error, but both are checked).
        let Some(phase) = phases
            .get(i)
            .filter(|p| p.name == ph.name && p.runs_on(target))
        else {
            continue;
        };
        if let Some((_, name)) = phase.restart.as_ref().and_then(|r| r.prepare.as_ref())
            && let Some((max_record_bytes, key_bytes)) = records(name)
        {
            appends.push(AppendPlan {
                phase: phase.name.clone(),
                actor: "prepare".to_owned(),
                batch: 1,
                max_record_bytes,
                key_bytes,
                pointer: format!("/phases/{i}/prepare"),
            });
        }
        for (j, a) in ph.actors.iter().enumerate() {
            if a.op != Op::Append {
                continue;
            }
            let name = a.name.clone().unwrap_or_else(|| op_name(a.op).to_owned());
            let Some(actor) = phase.actors.iter().find(|x| x.name == name) else {
                continue;
            };
            let Some((payload, batch)) = actor.plan.payload() else {
                continue;
            };
            let Some((max_record_bytes, key_bytes)) = records(payload) else {
                continue;
            };
            appends.push(AppendPlan {
                phase: phase.name.clone(),
                actor: actor.name.clone(),
                batch: batch as u64,
                max_record_bytes,
                key_bytes,
                pointer: format!("/phases/{i}/actors/{j}"),
            });
        }
    }
    Workload { appends }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::scenario::load::Source;

    /// Guards issue 16 (segment-size checks): a `prepare` whose payload
    /// has records larger than a WAL segment used to pass validation and
    /// stop the run at the first prepared append; it is refused, at the
    /// `prepare`, before anything runs.
    #[test]
    fn a_prepare_record_larger_than_a_wal_segment_is_refused_at_the_prepare() {
        let text = "version: 1\nname: t\ntargets:\n  log:\n    wal: { segment_size: 4KiB }\npayloads:\n  small: { size: 64B }\n  huge: { size: 64KiB }\nphases:\n  - name: crash\n    restart: crash\n    after: 1s\n    prepare: { bytes: 1MiB, payload: huge }\n    actors:\n      - { op: append, payload: small }\n";
        let d = crate::scenario::load_source(
            Source {
                name: "t.yaml".to_owned(),
                text: text.to_owned(),
            },
            Path::new("t.yaml"),
            &[],
        )
        .expect_err("a 64 KiB record does not fit a 4 KiB segment");
        let r = d.render();
        assert!(
            r.contains("a batch of `prepare` can be larger than a wal segment holds"),
            "{r}"
        );
        assert!(r.contains("t.yaml:13:5"), "{r}");
    }

    #[cfg(not(feature = "rocksdb"))]
    #[test]
    fn a_rocksdb_target_without_the_feature_says_the_feature_is_off() {
        let src = Source {
            name: "t.yaml".to_owned(),
            text: "version: 1\nname: t\ntargets:\n  r:\n    rocksdb: {}\npayloads:\n  p: { size: 64B }\nphases:\n  - name: w\n    records: 10\n    actors:\n      - { op: append }\n".to_owned(),
        };
        let d = crate::scenario::load_source(src, std::path::Path::new("t.yaml"), &[])
            .expect_err("refused");
        let text = d.render();
        assert!(text.contains("`rocksdb` feature is off"), "{text}");
        assert!(text.contains("--features rocksdb"), "{text}");
    }
}
