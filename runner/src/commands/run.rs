//! `loadline run`: validates every file first (nothing runs if any is
//! invalid), then runs each scenario with the engine, with progress bars
//! and file reporters subscribed, and maps the outcome to an exit code.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{SystemTime, UNIX_EPOCH};

use super::subscribers::Subscribers;
use super::{CliError, Exit, eprint_line, print_diagnostics, print_text};
use crate::cli::{RunArgs, VERSION};
use crate::engine::signals::{self, StopSignal, StopSignals};
use crate::engine::{self, CellFilter, RunOptions};
use crate::metrics::report::{CellId, ShardInfo};
use crate::metrics::report::{RunReport, RunStatus};
use crate::metrics::{process, provenance};
use crate::report::{self, Reporter};
use crate::results::builder::{ReportBuilder, Selection};
use crate::results::shard::{self, ShardSpec};
use crate::scenario::diagnostic::Diagnostics;
use crate::scenario::model::Scenario;
use crate::scenario::{Loaded, Loader};

/// Runs every file; returns the most serious outcome.
pub(crate) fn run(args: &RunArgs, loader: &Loader) -> Result<Exit, CliError> {
    // Validate everything before any I/O.
    let mut loaded: Vec<Loaded> = Vec::new();
    let mut diags = Vec::new();
    for file in &args.files {
        match loader.load_file(
            file,
            &super::with_profile(&args.overrides, args.profile.as_deref()),
        ) {
            Ok(l) => {
                diags.extend(l.warnings.clone());
                loaded.push(l);
            }
            Err(d) => diags.extend(d.0),
        }
    }
    if !diags.is_empty() {
        print_diagnostics(&Diagnostics(diags.clone()));
    }
    if loaded.len() != args.files.len() {
        return Err(CliError::Invalid(Diagnostics(diags)));
    }
    for l in &loaded {
        check_filters(l, args)?;
        let rounds = args.repeat.or(l.variants[0].repeat).unwrap_or(1);
        if rounds > 1 && args.reuse_data {
            // Round 2 would open what round 1 wrote: not a repetition.
            return Err(CliError::Usage(format!(
                "--reuse-data with {rounds} rounds ({}): every round must start from the same data; run the rounds without --reuse-data",
                l.source.name
            )));
        }
    }
    if let Some(text) = &args.shard {
        text.parse::<ShardSpec>()?;
    }
    if let Some(t) = &args.template {
        report::check_template(t).map_err(|e| CliError::Usage(format!("--template: {e}")))?;
    }
    let baseline = baseline(args)?;
    // The metrics endpoint listens before anything runs: an address that
    // cannot be bound is a usage error, not a failure after the benchmark.
    let live = args
        .metrics_addr
        .map(|_| Arc::new(crate::metrics::live::Live::default()));
    let _server = match (args.metrics_addr, &live) {
        (Some(addr), Some(live)) => {
            let server = report::prometheus::MetricsServer::start(addr, Arc::clone(live))?;
            eprint_line(&format!(
                "metrics: serving http://{}/metrics",
                server.addr()
            ));
            Some(server)
        }
        _ => None,
    };

    // tokio panics (rather than failing) when the OS refuses its worker
    // thread, e.g. under a process limit: make that an error too, without
    // the panic message (the error below says it).
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let built = std::panic::catch_unwind(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .max_blocking_threads(4)
            .enable_all()
            .build()
    });
    std::panic::set_hook(hook);
    let built = built.unwrap_or_else(|_| {
        Err(std::io::Error::other(
            "the OS refused its thread (a process or thread limit?)",
        ))
    });
    let runtime = built.map_err(|source| CliError::Io {
        op: "start",
        path: PathBuf::from("the tokio runtime"),
        source,
    })?;
    let stop = Arc::new(StopSignals::new(Arc::new(AtomicBool::new(false))));
    signals::watch(&runtime, Arc::clone(&stop), Arc::new(on_stop_signal)).map_err(|source| {
        CliError::Io {
            op: "install",
            path: PathBuf::from("the signal handlers"),
            source,
        }
    })?;
    let mut worst = Exit::Ok;
    let many = loaded.len() > 1;
    let mut used: Vec<String> = Vec::new();
    for l in &loaded {
        // Two files with one `name:` get `name`, `name-2`, … rather than
        // one output directory overwritten by the other.
        let mut name = l.spec.name.clone();
        let mut n = 1;
        while used.contains(&name) {
            n += 1;
            name = format!("{}-{n}", l.spec.name);
        }
        used.push(name.clone());
        let out = output_dir(args, &name, many);
        if let Some(live) = &live {
            live.set_scenario(&l.spec.name);
        }
        let exit = runtime.block_on(run_one(
            l,
            args,
            &out,
            &stop,
            live.clone(),
            baseline.as_ref(),
        ))?;
        worst = worse(worst, exit);
        if exit.is_stopped() {
            break;
        }
    }
    runtime.shutdown_background();
    Ok(worst)
}

/// What the user sees on a stop signal: the first stops the run
/// gracefully, a second ends the process at once with the same code a
/// signal death would give.
fn on_stop_signal(signal: StopSignal, first: bool) {
    if first {
        eprint_line(&format!(
            "\n{}: stopping the current phase; finished phases are kept and data is cleaned (send it again to exit at once)",
            signal.name()
        ));
    } else {
        eprint_line(&format!(
            "\n{} again: exiting now; the last phase written is on disk, data directories may be left",
            signal.name()
        ));
        std::process::exit(signal.exit_code());
    }
}

fn worse(a: Exit, b: Exit) -> Exit {
    let rank = |e: Exit| match e {
        Exit::Ok => 0,
        Exit::AssertionFailed => 1,
        Exit::StoreError => 2,
        Exit::Invalid => 3,
        Exit::Interrupted | Exit::Terminated | Exit::Hangup => 4,
    };
    if rank(b) > rank(a) { b } else { a }
}

/// The `--baseline` run, read before anything runs (and the baseline
/// options checked), so a missing baseline or a bad `--threshold` is a
/// usage error with nothing run.
fn baseline(args: &RunArgs) -> Result<Option<Baseline>, CliError> {
    if (args.baseline.is_some() || args.save_baseline.is_some()) && args.files.len() > 1 {
        return Err(CliError::Usage(
            "--baseline and --save-baseline take one scenario file".to_owned(),
        ));
    }
    if let Some(name) = &args.save_baseline {
        crate::compare::BaselineStore::check_name(name)
            .map_err(|e| CliError::Usage(format!("--save-baseline: {e}")))?;
    }
    let opts = super::compare::options(&args.judge)?;
    let Some(arg) = &args.baseline else {
        return Ok(None);
    };
    let store = crate::compare::BaselineStore::new(Some(&args.judge.baselines_dir));
    let (from, run) = super::compare::resolve(&store, arg)
        .map_err(|e| CliError::Usage(format!("--baseline: {e}")))?;
    Ok(Some(Baseline {
        from,
        run: Arc::new(run),
        opts,
    }))
}

/// The run `--baseline` named, and how to compare with it.
struct Baseline {
    from: String,
    run: Arc<RunReport>,
    opts: crate::compare::CompareOptions,
}

/// After a run: saves it as a baseline (`--save-baseline`, complete runs
/// only) and compares it with `--baseline`, whose verdict joins the run's
/// exit code (a regression is 1; runs that cannot be matched are a usage
/// error, 2).
fn after_run(
    args: &RunArgs,
    out: &Path,
    report: &RunReport,
    baseline: Option<&Baseline>,
    exit: Exit,
) -> Result<Exit, CliError> {
    if report.status != RunStatus::Complete {
        if args.save_baseline.is_some() || baseline.is_some() {
            eprint_line(
                "warning: the run did not complete: not compared with the baseline, not saved as one",
            );
        }
        return Ok(exit);
    }
    let mut exit = exit;
    if let Some(b) = baseline {
        let new_from = out.join("run.json").display().to_string();
        let c = crate::compare::compare(&b.run, report, &b.opts)
            .map_err(|e| CliError::Usage(format!("--baseline {} and {new_from}: {e}", b.from)))?;
        let sides = report::compare::Sides {
            base: b.from.clone(),
            new: new_from,
        };
        let verdict = super::compare::report(&c, &sides, Some(&out.join("compare")), args.quiet)?;
        exit = worse(exit, verdict);
    }
    if let Some(name) = &args.save_baseline {
        let store = crate::compare::BaselineStore::new(Some(&args.judge.baselines_dir));
        let saved = store.save(name, &out.join("run.json"))?;
        if !args.quiet {
            print_text(&format!("baseline `{name}` saved: {}\n", saved.display()));
        }
    }
    Ok(exit)
}

fn check_filters(l: &Loaded, args: &RunArgs) -> Result<(), CliError> {
    let s = &l.variants[0];
    for t in &args.targets {
        if !s.targets.iter().any(|x| &x.name == t) {
            let names: Vec<&str> = s.targets.iter().map(|x| x.name.as_str()).collect();
            return Err(CliError::Usage(format!(
                "--target {t}: {} has no target `{t}` (targets: {})",
                l.source.name,
                names.join(", ")
            )));
        }
    }
    if !args.phases.is_empty() {
        // An assertion on a phase left out is not evaluated: say so, loudly,
        // rather than let exit 0 read as "it passed".
        let skipped: Vec<&str> = s
            .assertions
            .iter()
            .filter(|a| match &a.metric {
                crate::metrics::catalog::MetricRef::Actor { phase, .. }
                | crate::metrics::catalog::MetricRef::Phase { phase, .. } => {
                    !args.phases.contains(phase)
                }
                _ => false,
            })
            .map(|a| a.text.as_str())
            .collect();
        if !skipped.is_empty() {
            eprint_line(&format!(
                "warning: --phase {}: {} assertion(s) name phases that will not run and are not evaluated (reported as not applicable): {}",
                args.phases.join(" --phase "),
                skipped.len(),
                skipped.join("; ")
            ));
        }
    }
    for p in &args.phases {
        if !s.phases.iter().any(|x| &x.name == p) {
            let names: Vec<&str> = s.phases.iter().map(|x| x.name.as_str()).collect();
            return Err(CliError::Usage(format!(
                "--phase {p}: {} has no phase `{p}` (phases: {})",
                l.source.name,
                names.join(", ")
            )));
        }
    }
    Ok(())
}

fn output_dir(args: &RunArgs, name: &str, many: bool) -> PathBuf {
    match &args.out {
        Some(dir) if many => dir.join(name),
        Some(dir) => dir.clone(),
        None => PathBuf::from("reports/runs")
            .join(format!("{name}-{}", utc_stamp(SystemTime::now(), true))),
    }
}

/// `2026-11-21T10:42:07Z` (or `20261121T104207Z` for directory names).
pub(crate) fn utc_stamp(t: SystemTime, compact: bool) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil-from-days (Howard Hinnant's algorithm), proleptic Gregorian.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let (h, mi, s) = (rem / 3600, rem % 3600 / 60, rem % 60);
    if compact {
        format!("{y:04}{m:02}{d:02}T{h:02}{mi:02}{s:02}Z")
    } else {
        format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
    }
}

/// A seed for runs that name none: from the clock and the process id.
fn draw_seed() -> u64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let mixed = nanos ^ (u64::from(std::process::id()) << 32);
    // SplitMix64 finaliser, so nearby clocks give unrelated seeds.
    let mut z = mixed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

async fn run_one(
    l: &Loaded,
    args: &RunArgs,
    out: &Path,
    stop: &StopSignals,
    live: Option<Arc<crate::metrics::live::Live>>,
    baseline: Option<&Baseline>,
) -> Result<Exit, CliError> {
    let seed = resolve_seed(args, &l.variants[0]);
    // Held until the run ends: a second run writing the same `--out` is refused.
    let _out_lock = engine::datadir::OutLock::acquire(out)?;
    let data_dir = args.data_dir.clone().unwrap_or_else(|| out.join("data"));
    let data_root_existed = data_dir.exists();
    std::fs::create_dir_all(&data_dir).map_err(|source| CliError::Io {
        op: "create the data directory",
        path: data_dir.clone(),
        source,
    })?;
    let files = report::file_outputs(out, args.template.as_deref())?;
    let mut header = run_header(l, seed, &data_dir);
    let cells = shard_cells(l, args, &mut header)?;
    let opts = RunOptions {
        seed,
        data_dir: data_dir.clone(),
        keep_data: args.keep_data,
        reuse_data: args.reuse_data,
        filter: CellFilter {
            phases: args.phases.clone(),
            targets: args.targets.clone(),
            cells,
        },
        interrupt: stop.interrupt(),
        repeat: args.repeat.or(l.variants[0].repeat).unwrap_or(1).max(1) as usize,
        interval: args.interval,
        crash_hooks: engine::hooks::CrashHooks::new(&args.crash_hook, &args.after_crash_hook),
    };
    let run_id = header.run_id();
    let mut subscribers = Subscribers {
        builder: ReportBuilder::new(
            header,
            &l.variants,
            Selection::of(&opts, baseline.map(|b| Arc::clone(&b.run))),
        ),
        metrics: live.map(report::live::LiveObserver::new),
        live: report::progress::LiveProgress::new(
            report::progress::Mode::detect(args.quiet),
            Box::new(eprint_line),
        ),
        stream: report::stream::IntervalStream::new(out, run_id),
        files,
        errors: Vec::new(),
    };
    let failure = engine::run(&l.variants, &opts, &mut subscribers).await;
    subscribers.live.finish();
    let mut report = subscribers.builder.report();
    report.finished_at = Some(utc_stamp(SystemTime::now(), false));
    if report.status == RunStatus::Interrupted {
        report.stopped_by = stop.first().map(|s| s.name().to_owned());
    }
    write_final_outputs(&mut subscribers, &report, out);
    if !args.keep_data && !args.reuse_data && !data_root_existed {
        // Only the directory this run created, and only when empty.
        let _ = std::fs::remove_dir(&data_dir);
    }
    print_outcome(args, &report, out, failure.as_ref(), &subscribers.errors);
    let exit = match report.status {
        RunStatus::Interrupted => stop.first().map_or(Exit::Interrupted, Exit::stopped_by),
        RunStatus::Failed => Exit::StoreError,
        _ if !subscribers.errors.is_empty() => Exit::StoreError,
        _ if report.passed() => Exit::Ok,
        _ => Exit::AssertionFailed,
    };
    if exit == Exit::StoreError {
        return Ok(exit);
    }
    after_run(args, out, &report, baseline, exit)
}

/// The run's seed: `--seed`, else the scenario's, else drawn (and printed,
/// so the run can be repeated).
fn resolve_seed(args: &RunArgs, first: &Scenario) -> u64 {
    args.seed.or(first.seed).unwrap_or_else(|| {
        let s = draw_seed();
        eprint_line(&format!(
            "seed: {s} (drawn; pass --seed {s} to repeat this run)"
        ));
        s
    })
}

/// run.json's header as the run starts: what ran, from which file, where,
/// with which seed.
fn run_header(l: &Loaded, seed: u64, data_dir: &Path) -> RunReport {
    let first: &Scenario = &l.variants[0];
    let source = provenance::scenario_source(Path::new(&l.source.name), l.source.text.as_bytes());
    RunReport {
        format_version: crate::metrics::report::RUN_FORMAT_VERSION,
        loadline_version: VERSION.to_owned(),
        scenario: first.name.clone(),
        description: first.description.clone(),
        file: l.source.name.clone(),
        source: Some(source),
        seed,
        started_at: utc_stamp(SystemTime::now(), false),
        finished_at: None,
        status: RunStatus::Running,
        error: None,
        stopped_by: None,
        environment: process::environment(data_dir),
        variants: Vec::new(),
        repeat: None,
        shard: None,
        only_phases: Vec::new(),
        only_targets: Vec::new(),
        merged_from: Vec::new(),
    }
}

/// The cells of `--shard`, recorded in the header and announced (with
/// this shard's share of the expected work); `None` without `--shard`.
fn shard_cells(
    l: &Loaded,
    args: &RunArgs,
    header: &mut RunReport,
) -> Result<Option<std::collections::BTreeSet<(usize, String)>>, CliError> {
    let Some(spec) = args
        .shard
        .as_deref()
        .map(str::parse::<ShardSpec>)
        .transpose()?
    else {
        return Ok(None);
    };
    let selects = |t: &str| args.targets.is_empty() || args.targets.iter().any(|x| x == t);
    let cells = shard::assign(&l.variants, spec, selects);
    header.shard = Some(ShardInfo {
        index: spec.index,
        count: spec.count,
        cells: cells
            .iter()
            .map(|(vi, t)| CellId {
                variant: l.variants[*vi].variant.label.clone(),
                target: t.clone(),
            })
            .collect(),
    });
    if cells.is_empty() {
        eprint_line(&format!(
            "warning: --shard {spec}: this shard has no cells (more shards than variant x target cells)"
        ));
        return Ok(Some(cells));
    }
    if args.quiet {
        return Ok(Some(cells));
    }
    let work = |vi: usize, t: &str| {
        let s = &l.variants[vi];
        s.targets
            .iter()
            .find(|x| x.name == t)
            .map_or(0.0, |x| shard::expected_work(s, x))
    };
    let mine: f64 = cells.iter().map(|(vi, t)| work(*vi, t)).sum();
    let all: f64 = l
        .variants
        .iter()
        .enumerate()
        .flat_map(|(vi, s)| s.targets.iter().map(move |t| (vi, t.name.as_str())))
        .filter(|(_, t)| selects(t))
        .map(|(vi, t)| work(vi, t))
        .sum();
    let names: Vec<String> = cells
        .iter()
        .map(|(vi, t)| {
            let label = &l.variants[*vi].variant.label;
            if label.is_empty() {
                t.clone()
            } else {
                format!("{t} [{label}]")
            }
        })
        .collect();
    eprint_line(&format!(
        "shard {spec}: {} cell(s), expected work {} of {}: {}",
        cells.len(),
        report::format::duration_ns(mine * 1e9),
        report::format::duration_ns(all * 1e9),
        names.join(", ")
    ));
    Ok(Some(cells))
}

/// The last generation of the output files (complete, failed or stopped),
/// the partial timeline removed once everything is written, and the GitHub
/// step summary; what fails is added to `subscribers.errors`. If the final
/// files cannot be written, they stay at the last generation that could.
fn write_final_outputs(subscribers: &mut Subscribers, report: &RunReport, out: &Path) {
    if let Err(e) = subscribers.files.run_finished(report) {
        let kept = match subscribers.files.stats().generations {
            0 => "nothing was written".to_owned(),
            _ => format!(
                "{} keeps the files written after an earlier phase (they say `running`)",
                out.display()
            ),
        };
        subscribers.errors.push(format!(
            "the final results could not be written: {e}; {kept}"
        ));
    }
    let stream_error = subscribers.stream.error().map(str::to_owned);
    subscribers.errors.extend(stream_error);
    if subscribers.errors.is_empty() {
        subscribers.stream.remove();
    }
    if let Some(mut gh) = report::github::StepSummaryReporter::from_env()
        && let Err(e) = gh.run_finished(report)
    {
        subscribers.errors.push(e.to_string());
    }
}

/// GitHub annotations on stdout, then the summary (one verdict line with
/// `--quiet`), then the run's error and the output errors on stderr.
fn print_outcome(
    args: &RunArgs,
    report: &RunReport,
    out: &Path,
    failure: Option<&engine::EngineError>,
    errors: &[String],
) {
    let mut stdout = std::io::stdout().lock();
    for line in report::github::annotations_from_env(report) {
        let _ = writeln!(stdout, "{line}");
    }
    drop(stdout);
    if args.quiet {
        // Quiet keeps one line: the verdict (the exit code says the same).
        print_text(&format!("{}\n", report::console::verdict_line(report)));
    } else {
        print_text(&report::console::summary(report, out));
    }
    if let Some(e) = failure {
        eprint_line(&format!(
            "error: {}",
            report.error.clone().unwrap_or_else(|| e.to_string())
        ));
    }
    for e in errors {
        eprint_line(&format!("error: {e}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn utc_stamps_are_civil_dates() {
        let t = UNIX_EPOCH + Duration::from_secs(1_795_257_727);
        assert_eq!(utc_stamp(t, false), "2026-11-21T10:42:07Z");
        assert_eq!(utc_stamp(t, true), "20261121T104207Z");
        assert_eq!(utc_stamp(UNIX_EPOCH, false), "1970-01-01T00:00:00Z");
    }
}
