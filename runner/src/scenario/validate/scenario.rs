//! Semantic validation: turns schema-valid wire types into a checked
//! [`Scenario`], collecting *every* problem first.
//!
//! Owns the order of the passes (targets, payloads, phases, the kinds'
//! checks, memory, assertions, gate) and the scenario-wide rules: its name,
//! its `interval`, the memory it allocates before it runs.

use std::path::Path;

use serde_json::Value;

use super::assertions::{assertions, gate};
use super::context::{Ctx, MIN_INTERVAL};
use super::payloads::payloads;
use super::phases::phases;
use super::targets::{problem, targets, workload};
use crate::scenario::diagnostic::{Diagnostic, Severity};
use crate::scenario::load::{LocIndex, Source, escape_segment};
use crate::scenario::model::*;
use crate::scenario::repair::Repair;
use crate::scenario::spec::ScenarioSpec;
use crate::store::Registry;

/// Longest scenario name: it becomes a directory name.
pub(super) const MAX_SCENARIO_NAME: usize = 100;

/// The scenario name names the output directory (`reports/runs/<name>-…`),
/// and a scenario file may come from a pull request: it must be one plain
/// path component, so `../x`, `/etc`, `a/b`, control characters and huge
/// names are refused rather than written to.
pub(super) fn check_scenario_name(ctx: &mut Ctx<'_>, name: &str) {
    let ok = (1..=MAX_SCENARIO_NAME).contains(&name.len())
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if !ok {
        let d = ctx.error(
            "/name",
            format!(
                "scenario name `{}` is not usable as a directory name",
                shown(name)
            ),
        );
        d.expected = Some(format!(
            "1 to {MAX_SCENARIO_NAME} letters, digits, `_`, `-` and `.`, not starting with `.` \
             (it names the output directory)"
        ));
    }
}

/// A name as shown in a message: control characters escaped, long names cut.
pub(super) fn shown(name: &str) -> String {
    let escaped: String = name.chars().flat_map(char::escape_debug).collect();
    match escaped.char_indices().nth(60) {
        Some((i, _)) => format!("{}… ({} bytes)", &escaped[..i], name.len()),
        None => escaped,
    }
}

/// Refuses a scenario whose up-front allocations (payload pools, simulated
/// disks) exceed the machine's available memory: the allocator would abort
/// the run with no report. `available` is `None` where it is unknown.
pub(super) fn check_memory(
    ctx: &mut Ctx<'_>,
    payloads: &[Payload],
    phases: &[Phase],
    available: Option<u64>,
) {
    let Some(available) = available else {
        return;
    };
    let all = crate::scenario::budget::allocations(payloads, phases);
    let total: u64 = all.iter().map(|a| a.bytes).fold(0, u64::saturating_add);
    if total <= available {
        return;
    }
    let Some(largest) = all.iter().max_by_key(|a| a.bytes) else {
        return;
    };
    let approx = |b: u64| crate::units::human::size(b as f64);
    let d = ctx.error(
        &largest.pointer,
        format!(
            "the scenario allocates {} before it runs; this machine has {} of memory available",
            approx(total),
            approx(available)
        ),
    );
    d.found = Some(format!("{}: {}", largest.what, approx(largest.bytes)));
    d.expected = Some(format!(
        "at most {} in payload pools and simulated disks together (a pool holds `pool` batches of the actors' batch size)",
        approx(available)
    ));
    d.help = Some(
        "lower `pool` (batches are cycled, so a few hundred suffice) or the record size".to_owned(),
    );
}

/// Validates one variant of a scenario against the store kinds of
/// `registry`. `repair` says what the schema stage removed from the
/// document (empty when the schema accepted it); problems that follow from
/// a removal are not reported again.
#[expect(
    clippy::too_many_arguments,
    reason = "one call site; the inputs are distinct"
)]
pub(crate) fn validate(
    registry: &Registry,
    src: &Source,
    index: &LocIndex,
    spec: &ScenarioSpec,
    resolved: &Value,
    variant: Variant,
    file: &Path,
    repair: &Repair,
) -> (Option<Scenario>, Vec<Diagnostic>) {
    let mut ctx = Ctx {
        registry,
        src,
        index,
        diags: Vec::new(),
        repair,
        hidden: Vec::new(),
    };
    check_scenario_name(&mut ctx, &spec.name);
    let targets = targets(&mut ctx, spec);
    let payloads = payloads(&mut ctx, spec, file);
    // Invalid payloads were reported already; references to them are not
    // reported again as undefined.
    let known: Vec<String> = spec.payloads.keys().cloned().collect();
    let recorded: Vec<(String, usize)> = payloads
        .iter()
        .filter_map(|p| match &p.source {
            PayloadSource::File { batch, .. } => Some((p.name.clone(), *batch)),
            PayloadSource::Generated { .. } => None,
        })
        .collect();
    let phases = phases(&mut ctx, spec, &targets, &known, &recorded);
    for t in &targets {
        let workload = workload(spec, &phases, &payloads, &t.name);
        let base = format!(
            "/targets/{}/{}",
            escape_segment(&t.name),
            escape_segment(t.kind.name())
        );
        for p in t.kind.check(&workload) {
            problem(&mut ctx, &base, p);
        }
    }
    check_memory(
        &mut ctx,
        &payloads,
        &phases,
        crate::scenario::budget::available_memory(),
    );
    if spec.interval.is_some_and(|d| d.0 < MIN_INTERVAL) {
        ctx.error("/interval", "`interval` must be at least 1ms");
    }
    let assertions = assertions(&mut ctx, spec, &phases, &targets);
    let gate = gate(&mut ctx, spec, &phases, &targets);
    let ok = !ctx.diags.iter().any(|d| d.severity == Severity::Error) && repair.is_empty();
    let scenario = ok.then(|| Scenario {
        file: file.to_path_buf(),
        name: spec.name.clone(),
        description: spec.description.clone(),
        seed: spec.seed,
        repeat: spec.repeat,
        variant,
        targets,
        payloads,
        phases,
        assertions,
        gate,
        resolved: resolved.clone(),
    });
    (scenario, ctx.diags)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::scenario::diagnostic::Severity;
    use crate::scenario::load::Source;

    /// Every op, as written in scenario files.
    const OPS: [&str; 8] = [
        "append", "read", "trim", "sync", "put", "get", "delete", "scan",
    ];
    /// Every restart, `None` for a phase without one.
    const RESTARTS: [Option<&str>; 4] = [None, Some("clean"), Some("crash"), Some("power-loss")];

    /// A one-phase scenario: one actor doing `op` on a `kind` target, then
    /// `restart`.
    fn cell(kind: &str, restart: Option<&str>, op: &str) -> String {
        // A reader alone reads what is there (a tail reader without a
        // writer is refused: it would read nothing).
        let payload = match op {
            "append" | "put" => ", payload: p",
            "read" => ", from: head",
            _ => "",
        };
        let restart = restart.map_or(String::new(), |r| format!("    restart: {r}\n"));
        format!(
            "version: 1\nname: cell\ntargets:\n  t:\n    {kind}: {{}}\npayloads:\n  p:\n    size: 64B\n    pool: 4\nphases:\n  - name: ph\n    duration: 100ms\n    actors:\n      - {{ op: {op}{payload} }}\n{restart}"
        )
    }

    /// What validation must say about a cell, written out from the kinds'
    /// documented capabilities rather than computed from them: `Ok(warns)`
    /// when it validates (with a warning when `warns`), `Err(fragment)` of
    /// the error otherwise.
    fn expected(kind: &str, restart: Option<&str>, op: &str) -> Result<bool, &'static str> {
        let kv = matches!(op, "put" | "get" | "delete" | "scan");
        let writer = matches!(op, "append" | "put" | "delete");
        let crashy = matches!(restart, Some("crash" | "power-loss"));
        if kv && kind == "wal" {
            return Err("does not support");
        }
        if restart == Some("power-loss") && kind != "wal" {
            return Err("`power-loss` needs a store on loadline's simulated file system");
        }
        if crashy && !writer {
            return Err("a crash phase needs a writer to crash");
        }
        Ok(restart == Some("crash") && kind == "memory")
    }

    /// Guards the two holes of issue 12 (a `put` in a `restart: crash`
    /// phase on rocksdb, `restart: power-loss` on memory) and every other
    /// cell of (store kind × restart × op): validation decides each one
    /// from the kinds' capabilities, before anything runs.
    #[test]
    fn validation_decides_every_kind_restart_and_op_from_capabilities() {
        let mut wrong = Vec::new();
        for kind in ["memory", "wal", "rocksdb"] {
            for restart in RESTARTS {
                for op in OPS {
                    let text = cell(kind, restart, op);
                    let got = crate::scenario::load_source(
                        Source {
                            name: "cell.yaml".to_owned(),
                            text,
                        },
                        Path::new("cell.yaml"),
                        &[],
                    );
                    let want = expected(kind, restart, op);
                    let ok = match (&got, want) {
                        (Ok(l), Ok(warns)) => {
                            l.warnings.iter().any(|d| d.severity == Severity::Warning) == warns
                        }
                        (Err(d), Err(fragment)) => {
                            d.0.iter()
                                .any(|d| d.message.contains(fragment) && d.line > 1)
                        }
                        _ => false,
                    };
                    if !ok {
                        let got = match &got {
                            Ok(l) => format!("valid, {} warning(s)", l.warnings.len()),
                            Err(d) => d.render(),
                        };
                        wrong.push(format!(
                            "{kind} × {restart:?} × {op}: want {want:?}, got {got}"
                        ));
                    }
                }
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }
}
