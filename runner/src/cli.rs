//! The command line: clap types only. Each subcommand's work lives in
//! `commands/`; `main` maps its result to an exit code.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// loadline version with the git revision it was built from.
pub(crate) const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("LOADLINE_GIT_REV"),
    ")"
);

/// A declarative, scenario-file test runner for storage workloads.
#[derive(Debug, Parser)]
#[command(name = "loadline", version = VERSION, about, long_about = None, after_help = EXIT_CODES)]
pub(crate) struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The exit codes as the book's table gives them (`docs/src/commands.md`) (a test keeps the two
/// in step).
const EXIT_CODES: &str = "Exit codes:
  0    every assertion passed
  1    an assertion failed or could not be judged (with --baseline: or a cell regressed)
  2    usage error or invalid scenario (nothing was run); with --baseline, a run that cannot be matched with it (another scenario or phases)
  3    a store or I/O error stopped the run (finished phases are kept)
  129  stopped by SIGHUP (finished phases are kept)
  130  stopped by SIGINT (Ctrl-C)
  143  stopped by SIGTERM";

/// Subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Check scenario files without running them.
    #[command(
        after_help = "Example:\n  loadline validate scenarios/*.yaml\n  loadline validate --format json my.yaml"
    )]
    Validate(ValidateArgs),
    /// Print the expanded plan of a scenario: variants, targets, phases, actors, volumes.
    #[command(after_help = "Example:\n  loadline explain scenarios/quickstart.yaml")]
    Explain(ExplainArgs),
    /// Run scenarios and write reports.
    #[command(
        after_help = "Example:\n  loadline run scenarios/quickstart.yaml\n  loadline run my.yaml --target wal --set phases.write.records=1M --out /tmp/r"
    )]
    Run(Box<RunArgs>),
    /// Merge run directories (shards of one run, or repeated runs) into one.
    #[command(
        after_help = "Example:\n  loadline run s.yaml --shard 1/3 --out r/1   # … 2/3, 3/3 on other machines\n  loadline merge r/1 r/2 r/3 --out r/all"
    )]
    Merge(MergeArgs),
    /// Compare two runs cell by cell: regressions beyond the threshold and the noise.
    #[command(
        after_help = "Exit codes: 0 no regression (or only inconclusive cells), 1 a regression, 2 runs that cannot be matched (other scenarios or phases) or a usage error.\n\nExamples:\n  loadline compare reports/runs/main-… reports/runs/pr-… --out compare/\n  loadline compare main new/run.json --threshold 5% --threshold p99=20% --threshold max=off"
    )]
    Compare(CompareArgs),
    /// Run a base and a new side of a scenario alternately on this machine
    /// (rounds ABBA…) and judge them as pairs: the interleaved A/B gate.
    #[command(
        after_help = "Sides: two --set override sets (--base-set/--new-set), two scenario files (SCENARIO NEW_SCENARIO), or two binaries (--base-bin/--new-bin, e.g. builds of the merge base and the PR).\n\nExit codes: 0 no regression (or only inconclusive cells), 1 a regression, 2 a usage error or sides that cannot be matched, 3 a round failed to run.\n\nExamples:\n  loadline ab scenarios/quickstart.yaml --new-set targets.wal.wal.sync=always\n  loadline ab s.yaml --base-bin ./base/loadline --new-bin ./pr/loadline --rounds auto --out ab/"
    )]
    Ab(Box<AbArgs>),
    /// Generate or inspect recorded payload files.
    #[command(
        subcommand,
        after_help = "Examples:\n  loadline payload generate --out payloads.bin --size 1KiB \\\n      --batch 10 --batches 2048 --entropy 0.8 --keys none --seed 42\n  loadline payload inspect payloads.bin"
    )]
    Payload(PayloadCommand),
    /// Run the store conformance suite (and an `external` plug-in's protocol rules) against a scenario's targets.
    #[command(
        after_help = "Checks each target (or --target NAME) as its capabilities allow: log, key-value, crash-phase\nrequests, kill -9 durability of acknowledged writes, power loss; for `external` targets also the\nprotocol rules (handshake, ids echoed, pipelined requests, unsupported, close, clean stdout).\n\nExit codes: 0 every check passed, 1 a check failed, 2 a usage error or invalid scenario,\n3 the JUnit file could not be written.\n\nExamples:\n  loadline conform scenarios/external.yaml\n  loadline conform my.yaml --target py --kill-cycles 5 --out conform/"
    )]
    Conform(ConformArgs),
    /// Print the scenario JSON Schema, or write it to `schemas/`.
    #[command(after_help = "Example:\n  loadline schema --write   # from the repository root")]
    Schema(SchemaArgs),
    /// Print shell completions.
    #[command(
        after_help = "Example:\n  loadline completions bash > ~/.local/share/bash-completion/completions/loadline"
    )]
    Completions(CompletionsArgs),
    /// Write a new plug-in crate: a store kind of your own with the whole loadline CLI.
    #[command(
        name = "new-store",
        after_help = "Writes DIR/Cargo.toml, src/lib.rs (the kind: config, capabilities, open, a working in-memory\nkey-value store to replace, and its conformance test), src/main.rs and scenarios/smoke.yaml.\n\nExample:\n  loadline new-store btree --dir ../btree-bench\n  cd ../btree-bench && cargo test --release && cargo run --release -- run scenarios/smoke.yaml"
    )]
    NewStore(NewStoreArgs),
    /// Internal: the writer process of a `restart: crash` phase, started and
    /// killed by `loadline run`. Reads the resolved scenario on stdin.
    #[command(name = "__crash-child", hide = true)]
    CrashChild(CrashChildArgs),
}

/// How diagnostics are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub(crate) enum Format {
    /// For people: source line, caret, suggestion.
    #[default]
    Human,
    /// One JSON document on stdout, for tools.
    Json,
}

/// `loadline validate`
#[derive(Debug, Args)]
pub(crate) struct ValidateArgs {
    /// Scenario files.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Output format of diagnostics.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    /// Override a field before validating: `path=value` (repeatable).
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub overrides: Vec<String>,
    /// Apply the scenario's profile NAME (its `profiles:` entry) before any `--set`.
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
}

/// `loadline new-store`
#[derive(Debug, Args)]
pub(crate) struct NewStoreArgs {
    /// The kind's name as scenarios write it (`targets: { t: { NAME: {} } }`):
    /// lowercase letters, digits and `_`, starting with a letter.
    pub name: String,
    /// Where to write the crate (must not exist or be empty). Default `./NAME-bench`.
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// The loadline crate the plug-in depends on (its `runner/` directory).
    /// Default: the one this binary was built from.
    #[arg(long, value_name = "PATH")]
    pub loadline: Option<PathBuf>,
}

/// `loadline explain`
#[derive(Debug, Args)]
pub(crate) struct ExplainArgs {
    /// Scenario file.
    pub file: PathBuf,
    /// Override a field before explaining: `path=value` (repeatable).
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub overrides: Vec<String>,
    /// Apply the scenario's profile NAME (its `profiles:` entry) before any `--set`.
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
}

/// `loadline run`
#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// Scenario files, run one after another.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Output directory (default `reports/runs/<name>-<UTC timestamp>/`).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Seed of every random stream (overrides the file's `seed`).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Run only these targets (repeatable).
    #[arg(long = "target", value_name = "NAME")]
    pub targets: Vec<String>,
    /// Run only these phases (repeatable).
    #[arg(long = "phase", value_name = "NAME")]
    pub phases: Vec<String>,
    /// Override a field: `path=value` (repeatable), validated like the file.
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub overrides: Vec<String>,
    /// Apply the scenario's profile NAME (its `profiles:` entry) before any `--set`.
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// Keep each target's data directory after the run.
    #[arg(long)]
    pub keep_data: bool,
    /// Where target data directories go (default: inside the output directory).
    /// loadline creates `DIR/<target>/` and deletes only directories it created.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Open the data a kept `--data-dir` holds (from a run with `--keep-data`)
    /// instead of starting each target empty; the data is kept afterwards.
    #[arg(long, requires = "data_dir")]
    pub reuse_data: bool,
    /// Run CMD (with `sh -c`) at each crash cycle's kill moment, while the
    /// writer process still writes, before loadline SIGKILLs it: inject an
    /// external fault there (a LazyFS torn write, a file system crash). The
    /// writer dying during the hook is the expected crash. Environment:
    /// LOADLINE_TARGET, LOADLINE_PHASE, LOADLINE_CYCLE (from 1),
    /// LOADLINE_DATA_DIR, LOADLINE_CHILD_PID, LOADLINE_HOOK. A non-zero
    /// exit fails the phase with the hook's stderr. `restart: crash` phases
    /// of persistent stores only.
    #[arg(long, value_name = "CMD")]
    pub crash_hook: Option<String>,
    /// Run CMD after each crash cycle's writer process is reaped, before the
    /// store is reopened (e.g. `lazyfs::clear-cache`, or remount a crashed
    /// file system); same environment as `--crash-hook` without
    /// LOADLINE_CHILD_PID; a non-zero exit fails the phase.
    #[arg(long, value_name = "CMD")]
    pub after_crash_hook: Option<String>,
    /// No progress bars and no console summary.
    #[arg(long, short)]
    pub quiet: bool,
    /// A minijinja template for `report.md` instead of the built-in one.
    #[arg(long)]
    pub template: Option<PathBuf>,
    /// Run N rounds (overrides the file's `repeat:`): targets in turn, the
    /// order rotated between rounds; metrics are the medians of the rounds
    /// (a max the largest of them), with min-max and a confidence interval
    /// beside them; timelines hold round 1.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub repeat: Option<u32>,
    /// Run only shard I of N (1-based) of the (variant × target) cells: a
    /// deterministic part balanced by expected work; `loadline merge`
    /// puts the shards' run directories back together.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
    /// Compare this run with a baseline (a run directory, a run.json, or a
    /// saved baseline's name) and gate on regressions; `… of baseline`
    /// assertions read it.
    #[arg(long, value_name = "DIR|NAME")]
    pub baseline: Option<String>,
    /// Save this run (if it completes) as the named baseline.
    #[arg(long, value_name = "NAME")]
    pub save_baseline: Option<String>,
    /// How a change against `--baseline` is judged.
    #[command(flatten)]
    pub judge: JudgeArgs,
    /// Timeline interval of every phase (`250ms`, `1s`), overriding the
    /// scenario's `interval:` (default 1s).
    #[arg(long, value_name = "DURATION", value_parser = parse_interval)]
    pub interval: Option<std::time::Duration>,
    /// Serve live Prometheus metrics at `http://ADDR/metrics` while the run
    /// goes on (e.g. `127.0.0.1:9090`). Off by default.
    #[arg(long, value_name = "ADDR")]
    pub metrics_addr: Option<std::net::SocketAddr>,
}

/// `loadline merge`
#[derive(Debug, Args)]
pub(crate) struct MergeArgs {
    /// Run directories (or their `run.json` files) to merge: the shards of
    /// one run, or repeated runs of one scenario (their rounds add up).
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// The run directory to write.
    #[arg(long)]
    pub out: PathBuf,
    /// A minijinja template for `report.md` instead of the built-in one.
    #[arg(long)]
    pub template: Option<PathBuf>,
    /// No console summary.
    #[arg(long, short)]
    pub quiet: bool,
}

/// How `compare` (and `run --baseline`) judge a change.
#[derive(Debug, Clone, Args)]
pub(crate) struct JudgeArgs {
    /// The minimum effect: a change within this is no change. `10%`
    /// overrides the scenario's `gate.threshold` (default 10%); per metric
    /// name or path, `p99=20%`, `write.append.p99=5%`, `max=off` (repeatable).
    #[arg(long = "threshold", value_name = "[METRIC=]PERCENT")]
    pub thresholds: Vec<String>,
    /// Judge only these metrics, by name (`p99`, on every actor) or path
    /// (`write.append.p99`), instead of the scenario's `gate:` (default:
    /// every actor's records_per_s, p50 and p99, and the metrics assertions
    /// name). Every other cell is still listed (repeatable).
    #[arg(long = "metric", value_name = "METRIC")]
    pub metrics: Vec<String>,
    /// Where named baselines are kept (`<DIR>/<name>/run.json`).
    #[arg(long, value_name = "DIR", default_value = crate::compare::source::DEFAULT_BASELINES_DIR)]
    pub baselines_dir: PathBuf,
}

/// `--rounds`: a number of pairs, or `auto`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rounds {
    /// Exactly this many pairs.
    Fixed(u32),
    /// From [`AB_MIN_ROUNDS`] pairs, one more while the verdict is
    /// inconclusive, up to `--max-rounds`.
    Auto,
}

/// Pairs `ab` runs before it first judges (`--rounds auto`), and its
/// default: the fewest with which the paired test can reach p = 1/32.
pub(crate) const AB_MIN_ROUNDS: u32 = 5;

fn parse_rounds(text: &str) -> Result<Rounds, String> {
    if text == "auto" {
        return Ok(Rounds::Auto);
    }
    match text.parse::<u32>() {
        Ok(n) if (1..=1000).contains(&n) => Ok(Rounds::Fixed(n)),
        _ => Err(format!(
            "`{text}`: write a number of pairs (1–1000) or `auto`"
        )),
    }
}

/// `loadline ab`
#[derive(Debug, Args)]
pub(crate) struct AbArgs {
    /// The scenario of the base side (and of the new side, unless
    /// NEW_SCENARIO is given).
    pub scenario: PathBuf,
    /// The new side's scenario file, when the sides are two files.
    pub new_scenario: Option<PathBuf>,
    /// Override a field on both sides: `path=value` (repeatable).
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub set: Vec<String>,
    /// Override a field on the base side only (repeatable).
    #[arg(long = "base-set", value_name = "PATH=VALUE")]
    pub base_set: Vec<String>,
    /// Override a field on the new side only (repeatable).
    #[arg(long = "new-set", value_name = "PATH=VALUE")]
    pub new_set: Vec<String>,
    /// The loadline (or plug-in store) binary that runs the base side
    /// (default: this one).
    #[arg(long, value_name = "PATH")]
    pub base_bin: Option<PathBuf>,
    /// The binary that runs the new side (default: this one).
    #[arg(long, value_name = "PATH")]
    pub new_bin: Option<PathBuf>,
    /// Pairs of rounds: a number (default 5), or `auto`: 5, then one more
    /// pair while the verdict is inconclusive, up to `--max-rounds`.
    #[arg(long, value_name = "N|auto", default_value = "5", value_parser = parse_rounds)]
    pub rounds: Rounds,
    /// The most pairs `--rounds auto` runs.
    #[arg(long, value_name = "N", default_value_t = 12)]
    pub max_rounds: u32,
    /// The directory of the rounds (`rounds/NN-base`, `rounds/NN-new`) and
    /// the comparison (`compare/`); default `reports/runs/ab-<name>-<UTC time>`.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// How a change is judged.
    #[command(flatten)]
    pub judge: JudgeArgs,
    /// No progress and no console report.
    #[arg(long, short)]
    pub quiet: bool,
}

/// `loadline compare`
#[derive(Debug, Args)]
pub(crate) struct CompareArgs {
    /// The base run: a run directory, its run.json, or a saved baseline's name.
    pub base: String,
    /// The new run: a run directory, its run.json, or a saved baseline's name.
    pub new: String,
    /// Write compare.md, compare.csv and junit.xml into this directory.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// How a change is judged.
    #[command(flatten)]
    pub judge: JudgeArgs,
    /// No console table.
    #[arg(long, short)]
    pub quiet: bool,
}

/// `--interval`: a human duration of at least 1 ms.
fn parse_interval(text: &str) -> Result<std::time::Duration, String> {
    let d = crate::units::parse_duration(text)?;
    if d < std::time::Duration::from_millis(1) {
        return Err(format!("`{text}` is shorter than 1ms"));
    }
    Ok(d)
}

/// `loadline schema`
#[derive(Debug, Args)]
pub(crate) struct SchemaArgs {
    /// Write `schemas/scenario.schema.json` (and the draft-07 copy) under this directory instead of printing.
    #[arg(long, value_name = "ROOT", num_args = 0..=1, default_missing_value = ".")]
    pub write: Option<PathBuf>,
    /// Print the draft-07 variant (for older editors).
    #[arg(long)]
    pub draft07: bool,
}

/// `loadline completions`
#[derive(Debug, Args)]
pub(crate) struct CompletionsArgs {
    /// The shell.
    pub shell: clap_complete::Shell,
}

/// `loadline payload …`
#[derive(Debug, Subcommand)]
pub(crate) enum PayloadCommand {
    /// Write a recorded payload file that scenarios reference with `file:`.
    #[command(
        after_help = "Example:\n  loadline payload generate --out payloads.bin --size 1KiB --batch 10 --batches 2048 --entropy 0.8 --keys none --seed 42"
    )]
    Generate(PayloadGenerateArgs),
    /// Print a payload file's header and achieved compressibility.
    #[command(after_help = "Example:\n  loadline payload inspect payloads.bin")]
    Inspect(PayloadInspectArgs),
}

/// `loadline payload generate`
#[derive(Debug, Args)]
pub(crate) struct PayloadGenerateArgs {
    /// The file to write (replaced atomically).
    #[arg(long)]
    pub out: PathBuf,
    /// Record size: a size (`1KiB`), `uniform:64B..4KiB`, `normal:1KiB,256B`, or `weighted:64B=70,4KiB=30`.
    #[arg(long)]
    pub size: String,
    /// Records per batch (must equal the `batch` of actors that use the file).
    #[arg(long, default_value_t = 1)]
    pub batch: usize,
    /// Number of batches in the file.
    #[arg(long, default_value_t = 1024)]
    pub batches: usize,
    /// Random fraction of each body, 0.0-1.0.
    #[arg(long, default_value_t = 1.0)]
    pub entropy: f64,
    /// Keys per record.
    #[arg(long, value_enum, default_value = "none")]
    pub keys: KeysArg,
    /// Seed of the generating stream.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

/// Key styles on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum KeysArg {
    /// No keys.
    None,
    /// One key per record.
    Single,
    /// Two keys per record.
    Pair,
    /// A key range per record.
    Range,
}

/// `loadline payload inspect`
#[derive(Debug, Args)]
pub(crate) struct PayloadInspectArgs {
    /// The payload file.
    pub file: PathBuf,
}

/// `loadline conform`
#[derive(Debug, Args)]
pub(crate) struct ConformArgs {
    /// The scenario file declaring the targets.
    pub file: PathBuf,
    /// Check only this target (default: every target).
    #[arg(long, value_name = "NAME")]
    pub target: Option<String>,
    /// Write `junit.xml` here: one test case per check and rule.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Crash cycles of each kill -9 check.
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub kill_cycles: u64,
}

/// `loadline __crash-child` (internal; see `engine::crash`)
#[derive(Debug, Args)]
pub(crate) struct CrashChildArgs {
    /// The scenario file (resolves payload files); its resolved document
    /// comes on stdin as `<length>\n<json>`.
    #[arg(long)]
    pub file: PathBuf,
    /// Target name.
    #[arg(long)]
    pub target: String,
    /// Phase name.
    #[arg(long)]
    pub phase: String,
    /// Seed of the run.
    #[arg(long)]
    pub seed: u64,
    /// The target's data directory.
    #[arg(long)]
    pub data: PathBuf,
}

#[cfg(test)]
mod tests {
    /// Guards issue 29: `--help`'s exit codes are the README's — every code
    /// of the README's table, and no other.
    #[test]
    fn the_help_footer_lists_the_readme_exit_codes() {
        let readme = include_str!("../../docs/src/commands.md");
        let table = readme
            .split("## Exit codes")
            .nth(1)
            .expect("the book's Commands chapter has an exit code table");
        let readme_codes: Vec<&str> = table
            .lines()
            .skip_while(|l| !l.starts_with('|'))
            .take_while(|l| l.starts_with('|'))
            .filter_map(|l| l.split('|').nth(1).map(str::trim))
            .filter(|c| c.chars().all(|ch| ch.is_ascii_digit()) && !c.is_empty())
            .collect();
        let footer_codes: Vec<&str> = super::EXIT_CODES
            .lines()
            .skip(1)
            .filter_map(|l| l.split_whitespace().next())
            .collect();
        assert_eq!(footer_codes, readme_codes);
        assert!(readme_codes.len() >= 7, "{readme_codes:?}");
    }
}
