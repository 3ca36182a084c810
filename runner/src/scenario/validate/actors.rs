//! Actors: each op checked against the targets' capabilities, the fields
//! that apply to it, their ranges, its payload and its keys.

use std::time::Duration;

use super::context::{Ctx, check_name};
use crate::metrics::phase_metric::is_phase_metric_word;
use crate::scenario::diagnostic::{did_you_mean, one_of};
use crate::scenario::model::*;
use crate::scenario::spec::{ActorSpec, KeySpec};
use crate::store::Capabilities;

/// True for the key-value ops (which need a target with `kv`), false
/// for the log ops (which need `log`).
pub(super) fn is_kv(op: Op) -> bool {
    match op {
        Op::Put | Op::Get | Op::Delete | Op::Scan => true,
        Op::Append | Op::Read | Op::Trim | Op::Sync => false,
    }
}

/// True for the ops that write (a crash phase needs one to crash).
pub(super) fn writes(op: Op) -> bool {
    match op {
        Op::Append | Op::Put | Op::Delete => true,
        Op::Read | Op::Trim | Op::Sync | Op::Get | Op::Scan => false,
    }
}

/// The op's name, as written in scenario files.
pub(super) fn op_name(op: Op) -> &'static str {
    match op {
        Op::Append => "append",
        Op::Read => "read",
        Op::Trim => "trim",
        Op::Sync => "sync",
        Op::Put => "put",
        Op::Get => "get",
        Op::Delete => "delete",
        Op::Scan => "scan",
    }
}

pub(super) fn actor(
    ctx: &mut Ctx<'_>,
    ptr: &str,
    a: &ActorSpec,
    targets: &[Target],
    payloads: &[String],
    recorded: &[(String, usize)],
) -> Option<Actor> {
    let op = a.op;
    let name = actor_name(ctx, ptr, a);
    check_supported(ctx, ptr, op, targets);
    check_fields_apply(ctx, ptr, a);
    let n = Counts::checked(ctx, ptr, a);
    let payload = payload(ctx, ptr, a, payloads);
    let batch = recorded_batch(ctx, ptr, a, payload.as_deref(), recorded, n.batch);
    let keys = a
        .keys
        .as_ref()
        .map_or_else(KeyConfig::default, |k| keys(ctx, &format!("{ptr}/keys"), k));
    let plan = plan(a, &n, batch as usize, payload, keys);
    let in_flight = in_flight(ctx, ptr, a, targets);
    Some(Actor {
        name,
        workers: n.workers as usize,
        rate: a.rate.map(|r| r.0),
        in_flight,
        plan,
    })
}

/// The most requests an actor may keep in flight per worker.
const MAX_IN_FLIGHT: u64 = 1024;

/// True for the ops a worker can keep several of in flight: each request
/// is complete without an earlier reply. A reader needs the offset the
/// last read returned, a trimmer the bounds it read, a sync everything
/// before it; a scan is several round trips on some stores.
pub(super) fn pipelines(op: Op) -> bool {
    match op {
        Op::Append | Op::Put | Op::Get | Op::Delete => true,
        Op::Read | Op::Trim | Op::Sync | Op::Scan => false,
    }
}

/// The actor's `in_flight` (default 1), checked: in range, on an op that
/// does not wait for the previous reply, and on targets whose sessions
/// keep requests in flight.
fn in_flight(ctx: &mut Ctx<'_>, ptr: &str, a: &ActorSpec, targets: &[Target]) -> usize {
    let fptr = format!("{ptr}/in_flight");
    let n = a.in_flight.map_or(1, |c| c.0);
    if n == 0 {
        let d = ctx.error(&fptr, "`in_flight` must be at least 1");
        d.found = Some("0".to_owned());
        return 1;
    }
    if n > MAX_IN_FLIGHT {
        let d = ctx.error(&fptr, "`in_flight` is too large");
        d.expected = Some(format!("at most {MAX_IN_FLIGHT} requests per worker"));
        d.found = Some(n.to_string());
        return 1;
    }
    if n == 1 {
        return 1;
    }
    if !pipelines(a.op) {
        let why = match a.op {
            Op::Read => "each read starts where the previous one ended",
            Op::Trim => "a trim reads the bounds before it trims",
            Op::Sync => "a sync waits for everything before it",
            Op::Scan => "a scan takes several round trips on some stores",
            Op::Append | Op::Put | Op::Get | Op::Delete => "",
        };
        let d = ctx.error(
            &fptr,
            format!("`{}` cannot keep requests in flight: {why}", op_name(a.op)),
        );
        d.expected =
            Some("`in_flight` above 1 only on `append`, `put`, `get` and `delete`".to_owned());
        d.help = Some("leave `in_flight` out, and add `workers` for more concurrency".to_owned());
        return 1;
    }
    for t in targets {
        let max = u64::from(t.kind.capabilities().max_in_flight);
        if n > max {
            let kinds = ctx.registry.names_where(|c| c.max_in_flight > 1);
            let d = ctx.error(
                &fptr,
                if max <= 1 {
                    format!(
                        "target `{}` ({}) cannot keep requests in flight: its sessions finish each call before returning",
                        t.name,
                        t.kind.name()
                    )
                } else {
                    format!(
                        "target `{}` ({}) keeps at most {max} requests in flight per session",
                        t.name,
                        t.kind.name()
                    )
                },
            );
            d.expected = Some(if max <= 1 {
                format!(
                    "`in_flight` above 1 only on targets of kind {}",
                    one_of(&kinds)
                )
            } else {
                format!("`in_flight` at most {max}")
            });
            d.found = Some(format!("`in_flight: {n}`"));
            d.help = Some(format!(
                "use `workers: {n}` instead: concurrency on an in-process store is more threads"
            ));
        }
    }
    n as usize
}

/// The op's [`OpPlan`], defaults filled in. A writer whose payload is
/// missing got an error already (the scenario is refused and never runs):
/// its plan names no payload, for the checks that still look at its name
/// and kind.
fn plan(
    a: &ActorSpec,
    n: &Counts,
    batch: usize,
    payload: Option<String>,
    keys: KeyConfig,
) -> OpPlan {
    let payload = payload.unwrap_or_default();
    let every = a.every.map_or(Duration::from_secs(1), |d| d.0);
    match a.op {
        Op::Append => OpPlan::Append {
            streams: n.streams,
            batch,
            payload,
        },
        Op::Read => OpPlan::Read {
            streams: n.streams,
            from: a.from.unwrap_or(ReadFrom::Tail),
            lag: a.lag.map_or(0, |c| c.0),
            max_bytes: n.max_bytes,
        },
        Op::Trim => OpPlan::Trim {
            streams: n.streams,
            every,
            keep: a.keep.map_or(0, |c| c.0),
        },
        Op::Sync => OpPlan::Sync { every },
        Op::Put => OpPlan::Put {
            batch,
            payload,
            keys,
        },
        Op::Get => OpPlan::Get { keys },
        Op::Delete => OpPlan::Delete { batch, keys },
        Op::Scan => OpPlan::Scan {
            keys,
            scan_length: n.scan_length,
        },
    }
}

/// The actor's name (its op's when it has none), checked when given: it
/// appears in metric paths, where a phase metric's word would be ambiguous.
fn actor_name(ctx: &mut Ctx<'_>, ptr: &str, a: &ActorSpec) -> String {
    let name = a.name.clone().unwrap_or_else(|| op_name(a.op).to_owned());
    if a.name.is_some() {
        check_name(ctx, &format!("{ptr}/name"), "actor", &name);
        if is_phase_metric_word(&name) {
            let d = ctx.error(
                &format!("{ptr}/name"),
                format!("actor name `{name}` is taken by a phase metric (`<phase>.{name}…`)"),
            );
            d.expected = Some(
                "a name that is not `duration`, `reopen`, `store` or another phase metric"
                    .to_owned(),
            );
        }
    }
    name
}

/// Every target of the phase has the ops `op` belongs to (log or
/// key-value), as its kind's capabilities say.
fn check_supported(ctx: &mut Ctx<'_>, ptr: &str, op: Op, targets: &[Target]) {
    let kv = is_kv(op);
    for t in targets {
        let caps = t.kind.capabilities();
        let (able, what, needs): (bool, &str, fn(&Capabilities) -> bool) = if kv {
            (
                caps.kv,
                "key-value ops (`put`, `get`, `delete`, `scan`)",
                |c| c.kv,
            )
        } else {
            (
                caps.log,
                "log ops (`append`, `read`, `trim`, `sync`)",
                |c| c.log,
            )
        };
        if !able {
            let kinds = ctx.registry.names_where(needs);
            let d = ctx.error(
                &format!("{ptr}/op"),
                format!(
                    "target `{}` ({}) does not support `{}`",
                    t.name,
                    t.kind.name(),
                    op_name(op)
                ),
            );
            d.expected = Some(format!(
                "{what} on targets of a kind that has them ({})",
                one_of(&kinds)
            ));
            d.help = Some(if kv {
                "use `append` / `read` for log stores, or drop the target from this scenario"
                    .to_owned()
            } else {
                "use key-value ops for this target, or drop it from this scenario".to_owned()
            });
        }
    }
}

/// Fields given on an op they do not apply to.
fn check_fields_apply(ctx: &mut Ctx<'_>, ptr: &str, a: &ActorSpec) {
    let op = a.op;
    let kv = is_kv(op);
    // Fields that only make sense for some ops.
    let applies: &[(&str, bool, &str)] = &[
        (
            "batch",
            a.batch.is_some() && !matches!(op, Op::Append | Op::Put | Op::Delete),
            "`append`, `put` and `delete`",
        ),
        (
            "payload",
            a.payload.is_some() && !matches!(op, Op::Append | Op::Put),
            "`append` and `put`",
        ),
        ("from", a.from.is_some() && op != Op::Read, "`read`"),
        ("lag", a.lag.is_some() && op != Op::Read, "`read`"),
        (
            "max_bytes",
            a.max_bytes.is_some() && op != Op::Read,
            "`read`",
        ),
        (
            "every",
            a.every.is_some() && !matches!(op, Op::Trim | Op::Sync),
            "`trim` and `sync`",
        ),
        ("keep", a.keep.is_some() && op != Op::Trim, "`trim`"),
        (
            "keys",
            a.keys.is_some() && !kv,
            "`put`, `get`, `delete` and `scan`",
        ),
        (
            "scan_length",
            a.scan_length.is_some() && op != Op::Scan,
            "`scan`",
        ),
        (
            "streams",
            a.streams.is_some() && kv,
            "log ops (`append`, `read`, `trim`)",
        ),
        (
            "rate",
            a.rate.is_some() && matches!(op, Op::Trim | Op::Sync),
            "ops other than `trim` and `sync` (use `every`)",
        ),
    ];
    for (field, bad, ops) in applies {
        if *bad {
            let d = ctx.key_error(
                &format!("{ptr}/{field}"),
                format!("`{field}` does not apply to `{}` actors", op_name(op)),
            );
            d.expected = Some(format!("`{field}` only on {ops}"));
        }
    }
}

/// The actor's counts and sizes, defaults filled in, ranges checked.
struct Counts {
    streams: u64,
    workers: u64,
    batch: u64,
    scan_length: u64,
    max_bytes: u64,
}

impl Counts {
    fn checked(ctx: &mut Ctx<'_>, ptr: &str, a: &ActorSpec) -> Counts {
        let positive = |ctx: &mut Ctx<'_>, field: &str, v: Option<u64>, default: u64| -> u64 {
            let v = v.unwrap_or(default);
            if v == 0 {
                let d = ctx.error(
                    &format!("{ptr}/{field}"),
                    format!("`{field}` must be at least 1"),
                );
                d.found = Some("0".to_owned());
            }
            v
        };
        let streams = positive(ctx, "streams", a.streams.map(|c| c.0), 1);
        let workers = positive(ctx, "workers", a.workers.map(|c| c.0), 1);
        if workers > 1024 {
            let d = ctx.error(&format!("{ptr}/workers"), "too many workers");
            d.expected = Some("at most 1024 threads per actor".to_owned());
        }
        let batch = positive(ctx, "batch", a.batch.map(|c| c.0), 1);
        if batch > 1_000_000 {
            let d = ctx.error(&format!("{ptr}/batch"), "`batch` is too large");
            d.expected = Some("at most 1_000_000 records per append".to_owned());
        }
        let scan_length = positive(ctx, "scan_length", a.scan_length.map(|c| c.0), 100);
        if let Some(r) = a.rate
            && !(r.0 > 0.0 && r.0.is_finite())
        {
            ctx.error(&format!("{ptr}/rate"), "`rate` must be greater than zero");
        }
        if a.every.is_some_and(|e| e.0.is_zero()) {
            ctx.error(&format!("{ptr}/every"), "`every` must be greater than zero");
        }
        let max_bytes = a.max_bytes.map_or(1 << 20, |b| b.0);
        if max_bytes == 0 {
            ctx.error(
                &format!("{ptr}/max_bytes"),
                "`max_bytes` must be greater than zero",
            );
        }
        Counts {
            streams,
            workers,
            batch,
            scan_length,
            max_bytes,
        }
    }
}

/// The payload of a writer that has one (`append`, `put`): the one named,
/// or the scenario's only payload; `None` for other ops and when missing.
fn payload(ctx: &mut Ctx<'_>, ptr: &str, a: &ActorSpec, payloads: &[String]) -> Option<String> {
    let op = a.op;
    let takes_payload = match op {
        Op::Append | Op::Put => true,
        Op::Read | Op::Trim | Op::Sync | Op::Get | Op::Delete | Op::Scan => false,
    };
    if takes_payload {
        match &a.payload {
            Some(p) if payloads.contains(p) => Some(p.clone()),
            Some(p) => {
                let d = ctx.error(
                    &format!("{ptr}/payload"),
                    format!("undefined payload `{p}`"),
                );
                let names: Vec<&str> = payloads.iter().map(String::as_str).collect();
                d.expected = Some(if names.is_empty() {
                    "a payload defined under `payloads:` (there are none)".to_owned()
                } else {
                    format!("one of {}", one_of(&names))
                });
                if let Some(m) = did_you_mean(p, names.iter().copied()) {
                    d.help = Some(format!("did you mean `{m}`?"));
                }
                None
            }
            None if payloads.len() == 1 => Some(payloads[0].clone()),
            None => {
                let d = ctx.key_error(
                    &format!("{ptr}/op"),
                    format!("`{}` actor needs a `payload`", op_name(op)),
                );
                let names: Vec<&str> = payloads.iter().map(String::as_str).collect();
                d.expected = Some(if names.is_empty() {
                    "a payload under `payloads:`, e.g. `small: { size: 512B }`".to_owned()
                } else {
                    format!("`payload:` naming one of {}", one_of(&names))
                });
                None
            }
        }
    } else {
        None
    }
}

/// The batch of an `append` of a recorded payload: the file fixes it, so
/// it is the default and any other is refused.
fn recorded_batch(
    ctx: &mut Ctx<'_>,
    ptr: &str,
    a: &ActorSpec,
    payload: Option<&str>,
    recorded: &[(String, usize)],
    batch: u64,
) -> u64 {
    let op = a.op;
    // A recorded file fixes the batch size: default to it, reject others.
    let mut batch = batch;
    if let Some(p) = &payload
        && let Some((_, file_batch)) = recorded.iter().find(|(n, _)| n == p)
        && op == Op::Append
    {
        match a.batch {
            None => batch = *file_batch as u64,
            Some(b) if b.0 as usize != *file_batch => {
                let d = ctx.error(
                    &format!("{ptr}/batch"),
                    format!("payload `{p}` was recorded with batches of {file_batch} records"),
                );
                d.expected = Some(format!("`batch: {file_batch}` (or leave `batch` out)"));
                d.found = Some(format!("`batch: {}`", b.0));
                d.help = Some("regenerate the file with `loadline payload generate --batch N` to use another batch size".to_owned());
            }
            Some(_) => {}
        }
    }
    batch
}

/// A key-value actor's `keys`, checked; `kptr` points at them.
fn keys(ctx: &mut Ctx<'_>, kptr: &str, k: &KeySpec) -> KeyConfig {
    let d = KeyConfig::default();
    let dist = k.distribution.unwrap_or(d.distribution);
    for (field, set, for_dist) in [
        ("theta", k.theta.is_some(), KeyDistribution::Zipfian),
        ("hot_keys", k.hot_keys.is_some(), KeyDistribution::Hotspot),
        ("hot_ops", k.hot_ops.is_some(), KeyDistribution::Hotspot),
    ] {
        if set && dist != for_dist {
            let d = ctx.key_error(
                &format!("{kptr}/{field}"),
                format!("`{field}` does not apply to this key distribution"),
            );
            d.expected = Some(format!(
                "`{field}` only with `distribution: {}`",
                if for_dist == KeyDistribution::Zipfian {
                    "zipfian"
                } else {
                    "hotspot"
                }
            ));
        }
    }
    for (field, v) in [
        ("theta", k.theta),
        ("hot_keys", k.hot_keys),
        ("hot_ops", k.hot_ops),
    ] {
        if let Some(v) = v
            && !(v > 0.0 && v < 1.0)
        {
            let d = ctx.error(
                &format!("{kptr}/{field}"),
                format!("`{field}` is out of range"),
            );
            d.expected = Some("a number strictly between 0 and 1".to_owned());
            d.found = Some(v.to_string());
        }
    }
    let space = k.space.map_or(d.space, |c| c.0);
    if space == 0 {
        ctx.error(&format!("{kptr}/space"), "`space` must be at least 1");
    }
    let length = k.length.map_or(d.length as u64, |b| b.0);
    if !(8..=4096).contains(&length) {
        let e = ctx.error(&format!("{kptr}/length"), "key `length` is out of range");
        e.expected = Some("between 8B and 4KiB".to_owned());
    }
    KeyConfig {
        space,
        length: length as usize,
        distribution: dist,
        theta: k.theta.unwrap_or(d.theta),
        hot_keys: k.hot_keys.unwrap_or(d.hot_keys),
        hot_ops: k.hot_ops.unwrap_or(d.hot_ops),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::scenario::load::Source;
    use crate::scenario::model::{Actor, Op};

    /// Every op of the file format, from the generated schema (a new
    /// `OpSpec` variant is in it without anyone listing it here).
    fn ops() -> Vec<String> {
        let schema = crate::scenario::Loader::builtin().schema();
        schema["$defs"]["OpSpec"]["oneOf"]
            .as_array()
            .expect("OpSpec is a oneOf of consts")
            .iter()
            .filter_map(|v| v["const"].as_str().map(str::to_owned))
            .collect()
    }

    /// The one actor of a one-phase scenario doing `op` on a memory
    /// target (which has both the log and the key-value ops).
    fn actor(op: &str) -> Actor {
        let options = match op {
            "append" | "put" => ", payload: p",
            "read" => ", from: head",
            _ => "",
        };
        let text = format!(
            "version: 1\nname: t\ntargets:\n  m:\n    memory: {{}}\npayloads:\n  p: {{ size: 64B, pool: 4 }}\nphases:\n  - name: ph\n    duration: 100ms\n    actors:\n      - {{ op: {op}{options} }}\n"
        );
        let loaded = crate::scenario::load_source(
            Source {
                name: "t.yaml".to_owned(),
                text,
            },
            Path::new("t.yaml"),
            &[],
        )
        .unwrap_or_else(|d| panic!("{op}: {}", d.render()));
        loaded.variants[0].phases[0].actors[0].clone()
    }

    /// Guards issue 24 (item 7, an op is one variant the compiler walks
    /// you through): every op of the format validates into the `OpPlan`
    /// of its own name, the wire helpers agree on it, and it is in
    /// exactly one of the classes the engine schedules by (writer, reader,
    /// periodic). Adding an op is an `OpSpec` variant, an `OpPlan` variant
    /// and the match arms the compiler then asks for; this test fails if
    /// one of them names or classifies it inconsistently.
    #[test]
    fn every_op_validates_into_the_plan_of_its_name_in_one_class() {
        let ops = ops();
        assert!(ops.iter().any(|o| o == "append"), "{ops:?}");
        for op in &ops {
            let wire: Op = serde_json::from_value(serde_json::json!(op)).expect("an op");
            assert_eq!(super::op_name(wire), op);
            let a = actor(op);
            assert_eq!(a.plan.name(), op);
            let classes = [a.is_writer(), a.is_reader(), a.is_periodic()];
            assert_eq!(
                classes.iter().filter(|c| **c).count(),
                1,
                "{op}: {classes:?}"
            );
            assert_eq!(super::writes(wire), a.is_writer(), "{op}");
            assert_eq!(
                a.plan.payload().is_some(),
                matches!(wire, Op::Append | Op::Put)
            );
        }
    }
}
