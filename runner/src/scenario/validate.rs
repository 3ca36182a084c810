//! Semantic validation: turns schema-valid wire types into a checked
//! [`Scenario`], collecting *every* problem first.
//!
//! Owns the rules the schema cannot express: references (payloads, phases,
//! actors, metrics) exist, names are unique and usable in metric paths,
//! each op is supported by every target, fields apply to the op they are
//! given on, ranges hold, and assertions parse and name real metrics.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use super::diagnostic::{Diagnostic, Severity, did_you_mean, one_of};
use super::load::{LocIndex, Source, Span, escape_segment};
use super::model::*;
use super::repair::Repair;
use super::spec::{self, ActorSpec, PayloadSpec, PhaseSpec, ScenarioSpec, SizeSpec};
use crate::assertions::{self, Assertion};
use crate::metrics::catalog::MetricRef;
use crate::metrics::catalog::{self, MetricUnit};
use crate::store::{AppendPlan, Capabilities, Problem, ProblemAt, Registry, Workload};

struct Ctx<'a> {
    registry: &'a Registry,
    src: &'a Source,
    index: &'a LocIndex,
    diags: Vec<Diagnostic>,
    /// What the schema stage removed from the document validated here;
    /// problems that are consequences of a removal are not reported.
    repair: &'a Repair,
    /// Problems hidden as such consequences (kept so `push` can hand one out).
    hidden: Vec<Diagnostic>,
}

impl Ctx<'_> {
    fn locate(&self, pointer: &str, key: bool) -> (Span, String) {
        let pointer = &self.repair.original(pointer);
        match self.index.find(pointer) {
            Some(l) => {
                let exact = self.index.get(pointer).is_some();
                let span = if key && exact {
                    l.key.unwrap_or(l.value)
                } else {
                    l.value
                };
                let path = if exact {
                    l.path.clone()
                } else {
                    super::load::human_path(pointer)
                };
                (span, path)
            }
            None => (
                Span {
                    line: 1,
                    col: 1,
                    width: 1,
                },
                super::load::human_path(pointer),
            ),
        }
    }

    fn push(
        &mut self,
        pointer: &str,
        key: bool,
        severity: Severity,
        message: String,
    ) -> &mut Diagnostic {
        let (span, path) = self.locate(pointer, key);
        let hidden = self
            .repair
            .hides(&self.repair.original(pointer), &message, None);
        let mut d = self.src.diagnostic(span, &path, message);
        d.severity = severity;
        let list = if hidden {
            &mut self.hidden
        } else {
            &mut self.diags
        };
        list.push(d);
        let last = list.len() - 1;
        &mut list[last]
    }

    /// An error at the value of `pointer`.
    fn error(&mut self, pointer: &str, message: impl Into<String>) -> &mut Diagnostic {
        self.push(pointer, false, Severity::Error, message.into())
    }

    /// An error at the key of `pointer` (the value when it has no key).
    fn key_error(&mut self, pointer: &str, message: impl Into<String>) -> &mut Diagnostic {
        self.push(pointer, true, Severity::Error, message.into())
    }

    fn warning(&mut self, pointer: &str, message: impl Into<String>) -> &mut Diagnostic {
        self.push(pointer, true, Severity::Warning, message.into())
    }
}

/// Characters allowed in target, payload, phase and actor names: they
/// appear in metric paths, file names and report tables.
fn check_name(ctx: &mut Ctx<'_>, pointer: &str, what: &str, name: &str) {
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        let d = ctx.key_error(
            pointer,
            format!("{what} name `{name}` is not usable in metric paths"),
        );
        d.expected = Some("letters, digits, `_` and `-` (no dots or spaces)".to_owned());
    }
}

/// Longest scenario name: it becomes a directory name.
const MAX_SCENARIO_NAME: usize = 100;

/// The shortest timeline interval (`interval:`): below it the per-interval
/// bookkeeping would cost more than it shows.
pub const MIN_INTERVAL: Duration = Duration::from_millis(1);

/// The scenario name names the output directory (`reports/runs/<name>-…`),
/// and a scenario file may come from a pull request: it must be one plain
/// path component, so `../x`, `/etc`, `a/b`, control characters and huge
/// names are refused rather than written to.
fn check_scenario_name(ctx: &mut Ctx<'_>, name: &str) {
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
fn shown(name: &str) -> String {
    let escaped: String = name.chars().flat_map(char::escape_debug).collect();
    match escaped.char_indices().nth(60) {
        Some((i, _)) => format!("{}… ({} bytes)", &escaped[..i], name.len()),
        None => escaped,
    }
}

/// Refuses a scenario whose up-front allocations (payload pools, simulated
/// disks) exceed the machine's available memory: the allocator would abort
/// the run with no report. `available` is `None` where it is unknown.
fn check_memory(ctx: &mut Ctx<'_>, payloads: &[Payload], phases: &[Phase], available: Option<u64>) {
    let Some(available) = available else {
        return;
    };
    let all = super::budget::allocations(payloads, phases);
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
        super::budget::available_memory(),
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

fn targets(ctx: &mut Ctx<'_>, spec: &ScenarioSpec) -> Vec<Target> {
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
                    d.help = Some(super::check::feature_help(feature));
                }
            }
        }
    }
    out
}

/// A store kind's [`Problem`] as a located diagnostic; `base` is the
/// pointer of the kind's config.
fn problem(ctx: &mut Ctx<'_>, base: &str, p: Problem) {
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
fn workload(spec: &ScenarioSpec, phases: &[Phase], payloads: &[Payload], target: &str) -> Workload {
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
            let Some((max_record_bytes, key_bytes)) = actor.payload.as_deref().and_then(records)
            else {
                continue;
            };
            appends.push(AppendPlan {
                phase: phase.name.clone(),
                actor: actor.name.clone(),
                batch: actor.batch as u64,
                max_record_bytes,
                key_bytes,
                pointer: format!("/phases/{i}/actors/{j}"),
            });
        }
    }
    Workload { appends }
}

fn payloads(ctx: &mut Ctx<'_>, spec: &ScenarioSpec, file: &Path) -> Vec<Payload> {
    let mut out = Vec::new();
    for (name, p) in &spec.payloads {
        let ptr = format!("/payloads/{}", escape_segment(name));
        check_name(ctx, &ptr, "payload", name);
        if let Some(source) = payload(ctx, &ptr, p, file) {
            out.push(Payload {
                name: name.clone(),
                source,
            });
        }
    }
    out
}

fn payload(ctx: &mut Ctx<'_>, ptr: &str, p: &PayloadSpec, file: &Path) -> Option<PayloadSource> {
    if let Some(path) = &p.file {
        for (field, set) in [
            ("size", p.size.is_some()),
            ("entropy", p.entropy.is_some()),
            ("keys", p.keys.is_some()),
            ("pool", p.pool.is_some()),
        ] {
            if set {
                let d = ctx.key_error(
                    &format!("{ptr}/{field}"),
                    format!("`{field}` cannot be combined with `file`"),
                );
                d.help = Some(
                    "a recorded payload file fixes sizes, entropy and keys when it is generated"
                        .to_owned(),
                );
            }
        }
        let resolved = file.parent().unwrap_or(Path::new(".")).join(path);
        if !resolved.is_file() {
            // Something that exists but is no file (`/dev/zero`, a
            // directory, a FIFO) is told apart from a missing file.
            let what = match std::fs::metadata(&resolved) {
                Ok(m) if m.is_dir() => "is a directory, not a regular file",
                Ok(_) => "is not a regular file (a device, FIFO or socket)",
                Err(_) => "does not exist",
            };
            let d = ctx.error(
                &format!("{ptr}/file"),
                format!("payload file `{}` {what}", resolved.display()),
            );
            d.help = Some("make one with `loadline payload generate --out FILE ...`; the path is relative to the scenario file".to_owned());
            return None;
        }
        return match crate::workload::PayloadFile::open(&resolved) {
            Ok(f) => Some(PayloadSource::File {
                path: resolved,
                batch: f.batch_size(),
            }),
            Err(e) => {
                let d = ctx.error(&format!("{ptr}/file"), e.to_string());
                d.help = Some("regenerate it with `loadline payload generate`".to_owned());
                None
            }
        };
    }
    let Some(size) = &p.size else {
        let d = ctx.key_error(ptr, "payload has neither `size` nor `file`");
        d.expected = Some("`size: 512B` (or a distribution), or `file: payloads.bin`".to_owned());
        return None;
    };
    let size = size_dist(ctx, &format!("{ptr}/size"), size)?;
    let pool = p.pool.map_or(1024, |c| c.0);
    if pool == 0 {
        let d = ctx.error(&format!("{ptr}/pool"), "`pool` must be at least 1");
        d.found = Some("0".to_owned());
    }
    Some(PayloadSource::Generated {
        size,
        entropy: p.entropy.unwrap_or(1.0),
        keys: p.keys.unwrap_or(KeyStyle::None),
        pool,
    })
}

fn size_dist(ctx: &mut Ctx<'_>, ptr: &str, s: &SizeSpec) -> Option<SizeDist> {
    const MAX_RECORD: u64 = 64 << 20;
    let check = |ctx: &mut Ctx<'_>, p: &str, v: u64| {
        if v > MAX_RECORD {
            let d = ctx.error(p, "record size is too large");
            d.expected = Some("at most 64MiB per record".to_owned());
            d.found = Some(super::units::format_size(v));
        }
    };
    Some(match s {
        SizeSpec::Fixed(b) => {
            check(ctx, ptr, b.0);
            SizeDist::Fixed(b.0)
        }
        SizeSpec::Uniform([lo, hi]) => {
            check(ctx, &format!("{ptr}/uniform/1"), hi.0);
            if lo.0 > hi.0 {
                let d = ctx.error(&format!("{ptr}/uniform"), "uniform size range is reversed");
                d.expected = Some("`[min, max]` with min <= max".to_owned());
                d.found = Some(format!("[{lo}, {hi}]"));
                return None;
            }
            SizeDist::Uniform {
                min: lo.0,
                max: hi.0,
            }
        }
        SizeSpec::Normal(n) => {
            let min = n.min.map_or(1, |m| m.0);
            let max = n.max.map_or(n.mean.0 + 4 * n.stddev.0, |m| m.0);
            check(ctx, &format!("{ptr}/normal"), max);
            if min > max || n.mean.0 < min || n.mean.0 > max {
                let d = ctx.error(
                    &format!("{ptr}/normal"),
                    "normal size bounds do not hold the mean",
                );
                d.expected = Some("min <= mean <= max".to_owned());
                d.found = Some(format!(
                    "min {}, mean {}, max {}",
                    super::units::format_size(min),
                    n.mean,
                    super::units::format_size(max)
                ));
                return None;
            }
            SizeDist::Normal {
                mean: n.mean.0,
                stddev: n.stddev.0,
                min,
                max,
            }
        }
        SizeSpec::Weighted(w) => {
            for (i, e) in w.iter().enumerate() {
                check(ctx, &format!("{ptr}/{i}/size"), e.size.0);
            }
            SizeDist::Weighted(w.iter().map(|e| (e.size.0, e.weight)).collect())
        }
    })
}

fn op_name(op: Op) -> &'static str {
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

fn phases(
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

fn parse_window(text: &str) -> Result<(Duration, Duration), String> {
    let parse = |s: &str| super::units::parse_duration(s);
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

fn phase(
    ctx: &mut Ctx<'_>,
    ptr: &str,
    ph: &PhaseSpec,
    targets: &[Target],
    payloads: &[String],
    recorded: &[(String, usize)],
    spec: &ScenarioSpec,
) -> Option<Phase> {
    // The phase's targets: every one, or those it names.
    let mut selected: Vec<Target> = targets.to_vec();
    if let Some(names) = &ph.targets {
        selected.clear();
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
    }
    let targets = selected.as_slice();
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
    let mut actors: Vec<Actor> = Vec::new();
    // Index in the file of each valid actor, for locating later errors.
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
    if !actors.iter().any(Actor::is_writer) {
        // Without writers, a reader that starts at the tail has nothing to
        // read, ever: say so instead of running a phase that reads nothing.
        for (&j, actor) in actor_at.iter().zip(&actors) {
            if actor.op == Op::Read && actor.from == ReadFrom::Tail && actor.lag == 0 {
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
    let restart = restart(ctx, ptr, ph, targets, spec);
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
        || restart
            .as_ref()
            .is_some_and(|r| r.after.is_some() || r.after_records.is_some());
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

/// `cache: cold`: refused where the page cache is not the phase's (a crash
/// child or a simulated disk), a warning on targets that keep no files.
fn cold_cache(ctx: &mut Ctx<'_>, ptr: &str, ph: &PhaseSpec, targets: &[Target]) -> bool {
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

fn restart(
    ctx: &mut Ctx<'_>,
    ptr: &str,
    ph: &PhaseSpec,
    targets: &[Target],
    spec: &ScenarioSpec,
) -> Option<Restart> {
    let Some(kind) = ph.restart else {
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
        return None;
    };
    let after = match &ph.after {
        Some(text) => match parse_window(text) {
            Ok(w) => Some(w),
            Err(e) => {
                let d = ctx.error(&format!("{ptr}/after"), e);
                d.expected = Some("a duration or a window such as `2s..5s`".to_owned());
                None
            }
        },
        None => None,
    };
    let crashy = matches!(kind, RestartKind::Crash | RestartKind::PowerLoss);
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
    if crashy
        && !ph
            .actors
            .iter()
            .any(|a| matches!(a.op, Op::Append | Op::Put | Op::Delete))
    {
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
    if ph.after_records.is_some()
        && !ph
            .actors
            .iter()
            .any(|a| matches!(a.op, Op::Append | Op::Put | Op::Delete))
    {
        let d = ctx.key_error(
            &format!("{ptr}/after_records"),
            "`after_records` counts acknowledged writes, and this phase has no writer",
        );
        d.help = Some("crash after a time with `after: 2s..5s` instead".to_owned());
    }
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
    let repeat = ph.repeat.map_or(1, |c| c.0);
    if repeat == 0 {
        ctx.error(&format!("{ptr}/repeat"), "`repeat` must be at least 1");
    }
    let prepare = ph.prepare.as_ref().and_then(|p| {
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
    });
    Some(Restart {
        kind,
        after,
        after_records: ph.after_records.map(|c| c.0),
        verify: ph.verify == Some(spec::VerifySpec::Acknowledged),
        repeat,
        prepare,
    })
}

fn actor(
    ctx: &mut Ctx<'_>,
    ptr: &str,
    a: &ActorSpec,
    targets: &[Target],
    payloads: &[String],
    recorded: &[(String, usize)],
) -> Option<Actor> {
    let op = a.op;
    let name = a.name.clone().unwrap_or_else(|| op_name(op).to_owned());
    if a.name.is_some() {
        check_name(ctx, &format!("{ptr}/name"), "actor", &name);
        if catalog::is_phase_metric_word(&name) {
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
    let kv = matches!(op, Op::Put | Op::Get | Op::Delete | Op::Scan);
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
    let payload = if matches!(op, Op::Append | Op::Put) {
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
    };
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
    let keys = match &a.keys {
        None => KeyConfig::default(),
        Some(k) => {
            let kptr = format!("{ptr}/keys");
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
    };
    Some(Actor {
        name,
        op,
        streams,
        workers: workers as usize,
        batch: batch as usize,
        payload,
        rate: a.rate.map(|r| r.0),
        from: a.from.unwrap_or(ReadFrom::Tail),
        lag: a.lag.map_or(0, |c| c.0),
        max_bytes,
        every: a.every.map_or(Duration::from_secs(1), |d| d.0),
        keep: a.keep.map_or(0, |c| c.0),
        keys,
        scan_length,
    })
}

fn assertions(
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
fn gate(
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
        let known_name = catalog::actor_metric_unit(m).is_some()
            || catalog::phase_metric_unit(m).is_some()
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
            let mut names: Vec<&str> = catalog::ACTOR_METRICS.iter().map(|(n, _)| *n).collect();
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

fn assertion_error(message: String, at: usize, len: usize) -> assertions::AssertionError {
    assertions::AssertionError {
        message,
        at,
        len,
        expected: None,
        help: None,
    }
}

/// Resolves an assertion's metric against the scenario and parses its
/// right side (a value, or a reference with a factor) and its scope.
fn assertion(
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
struct MatrixDim {
    key: String,
    short: String,
    values: Vec<String>,
}

fn matrix_dims(spec: &ScenarioSpec) -> Vec<MatrixDim> {
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
fn trend_points(a: &Assertion, phases: &[Phase]) -> Option<String> {
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

fn target_name(
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

fn matrix_setting(
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

/// Resolves a metric path (`write.append.p99`, `recover.reopen.duration`,
/// `target.store.fsyncs`) to what it measures and its unit.
fn resolve_metric(
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
fn phase_stat_metric(
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

/// True for a phase that crashes (`restart: crash` or `power-loss`).
fn crashy(phase: &Phase) -> bool {
    phase
        .restart
        .as_ref()
        .is_some_and(|r| matches!(r.kind, RestartKind::Crash | RestartKind::PowerLoss))
}

fn resolve_phase_metric(
    metric: &str,
    at: usize,
    phases: &[Phase],
) -> Result<(MetricRef, MetricUnit), assertions::AssertionError> {
    let (phase_name, rest) = metric.split_once('.').unwrap_or((metric, ""));
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
    let rest_at = at + phase_name.len() + 1;
    let mut phase_metrics: Vec<(&str, MetricUnit)> = catalog::PHASE_METRICS.to_vec();
    if phase.settle.is_some() {
        phase_metrics.extend_from_slice(catalog::SETTLE_METRICS);
    }
    if let Some(r) = &phase.restart {
        phase_metrics.extend_from_slice(catalog::RESTART_METRICS);
        if matches!(r.kind, RestartKind::Crash | RestartKind::PowerLoss) {
            phase_metrics.extend_from_slice(catalog::CRASH_METRICS);
        }
        if r.kind == RestartKind::PowerLoss {
            phase_metrics.extend_from_slice(catalog::POWER_LOSS_METRICS);
        }
    }
    let verifies = phase.restart.as_ref().is_some_and(|r| r.verify);
    if let Some(unit) = catalog::phase_metric_unit(rest)
        .filter(|_| crashy(phase) && !phase_metrics.iter().any(|(n, _)| *n == rest))
    {
        // A count of `verify: acknowledged`: it needs the verification,
        // and a per-kind count needs writes of its kind.
        if !verifies {
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
        if let Some(op) = catalog::kv_verify_op(rest)
            && !phase.actors.iter().any(|a| op_name(a.op) == op)
        {
            let mut e = assertion_error(
                format!(
                    "phase `{phase_name}` has no `{op}` actor, so `{rest}` would count nothing"
                ),
                rest_at,
                rest.len(),
            );
            e.help = Some(format!(
                "assert on `{phase_name}.lost_records` (every kind of write), or add a `{op}` actor"
            ));
            return Err(e);
        }
        return Ok((
            MetricRef::Phase {
                phase: phase_name.to_owned(),
                metric: rest.to_owned(),
            },
            unit,
        ));
    }
    if let Some((_, unit)) = phase_metrics.iter().find(|(n, _)| *n == rest) {
        return Ok((
            MetricRef::Phase {
                phase: phase_name.to_owned(),
                metric: rest.to_owned(),
            },
            *unit,
        ));
    }
    let (actor_name, m) = rest.split_once('.').unwrap_or((rest, ""));
    let Some(actor) = phase.actors.iter().find(|a| a.name == actor_name) else {
        let mut names: Vec<&str> = phase.actors.iter().map(|a| a.name.as_str()).collect();
        if verifies {
            phase_metrics.extend_from_slice(catalog::VERIFY_METRICS);
        }
        names.extend(phase_metrics.iter().map(|(n, _)| *n));
        let mut e = assertion_error(
            format!("phase `{phase_name}` has no actor or metric `{actor_name}`"),
            rest_at,
            actor_name.len().max(1),
        );
        e.expected = Some(format!("one of {}", one_of(&names)));
        e.help = did_you_mean(actor_name, names.iter().copied())
            .or_else(|| did_you_mean(rest, phase_metrics.iter().map(|(n, _)| *n)))
            .map(|m| format!("did you mean `{phase_name}.{m}`?"));
        if rest.starts_with("reopen") && phase.restart.is_none() {
            e.help = Some("`reopen.duration` exists only for phases with a `restart`".to_owned());
        }
        if rest.starts_with("settle.") && phase.settle.is_none() {
            e.help = Some(format!(
                "`{rest}` exists only for phases with a `settle`: add `settle: {{}}` to phase `{phase_name}`"
            ));
        }
        return Err(e);
    };
    let m_at = rest_at + actor_name.len() + 1;
    if phase
        .restart
        .as_ref()
        .is_some_and(|r| matches!(r.kind, RestartKind::Crash | RestartKind::PowerLoss))
    {
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
    let Some(unit) = catalog::actor_metric_unit(m) else {
        let names: Vec<&str> = catalog::ACTOR_METRICS.iter().map(|(n, _)| *n).collect();
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
    if matches!(m, "hits" | "misses" | "hit_ratio") && actor.op != Op::Get {
        let mut e = assertion_error(
            format!(
                "`{m}` counts what gets found, and `{actor_name}` is a `{}` actor",
                op_name(actor.op)
            ),
            m_at,
            m.len(),
        );
        e.expected = Some("a `get` actor's `hits`, `misses` or `hit_ratio`".to_owned());
        return Err(e);
    }
    Ok((
        MetricRef::Actor {
            phase: phase_name.to_owned(),
            actor: actor_name.to_owned(),
            metric: m.to_owned(),
        },
        unit,
    ))
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

#[cfg(test)]
mod phase_targets {
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

    fn refused(text: &str) -> String {
        crate::scenario::load_source(
            Source {
                name: "t.yaml".to_owned(),
                text: text.to_owned(),
            },
            Path::new("t.yaml"),
            &[],
        )
        .expect_err("refused")
        .render()
    }

    const CRASH_PUTS: &str = "version: 1\nname: t\ntargets:\n  m:\n    memory: {}\npayloads:\n  p: { size: 64B }\nphases:\n  - name: crash\n    restart: crash\n    after: 1s\n";

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
