//! `loadline ab`: the interleaved A/B gate. Runs the base and the new
//! side of a scenario alternately on this machine — pair *i* runs base
//! then new when *i* is even, new then base when odd (ABBA…), so a drift
//! of the machine over the job falls on both sides alike — each round a
//! `run --repeat 1` of the side's binary, then stacks each side's rounds
//! (`results::stack`) and judges them as pairs (`compare`, paired design).
//!
//! Glue only: the statistics are `compare`'s, the outputs
//! `report::compare`'s (via `commands::compare::report`).

use std::collections::BTreeSet;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Instant, SystemTime};

use super::{CliError, Exit, eprint_line};
use crate::cli::{AB_MIN_ROUNDS, AbArgs, Rounds};
use crate::compare::{Comparison, Design, Verdict};
use crate::metrics::report::RunReport;
use crate::report::compare::Sides;

/// One side: what runs and how.
struct Side {
    name: &'static str,
    bin: PathBuf,
    scenario: PathBuf,
    sets: Vec<String>,
}

impl Side {
    fn describe(&self, own: &Path) -> String {
        let mut s = self.scenario.display().to_string();
        for set in &self.sets {
            s.push_str(&format!(" --set {set}"));
        }
        if self.bin != own {
            s.push_str(&format!(" (binary {})", self.bin.display()));
        }
        s
    }

    /// Runs round `pair` of this side into `dir`; its `run.json`. What the
    /// run prints on stderr (validation warnings: the same every round) is
    /// shown when it is not in `shown` (the texts shown before), and always
    /// for a round that fails.
    fn run(
        &self,
        dir: &Path,
        pair: u32,
        shown: &mut BTreeSet<Vec<u8>>,
    ) -> Result<RunReport, CliError> {
        let mut cmd = Command::new(&self.bin);
        cmd.arg("run")
            .arg(&self.scenario)
            .args(["--quiet", "--repeat", "1", "--out"])
            .arg(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .env_remove("GITHUB_STEP_SUMMARY")
            .env_remove("GITHUB_ACTIONS");
        for s in &self.sets {
            cmd.args(["--set", s]);
        }
        let out = cmd.output().map_err(|source| CliError::Io {
            op: "start",
            path: self.bin.clone(),
            source,
        })?;
        let status = out.status;
        // 0 and 1 (an assertion failed) both measured the round.
        let measured = matches!(status.code(), Some(0 | 1));
        if !measured || shown.insert(out.stderr.clone()) {
            let mut err = std::io::stderr().lock();
            // The console is best effort: a closed stderr ends nothing.
            let _ = err.write_all(&out.stderr);
        }
        if !measured {
            return Err(CliError::Run(format!(
                "round {} of the {} side ({} run {}) ended with {status}; its output is in {}",
                pair + 1,
                self.name,
                self.bin.display(),
                self.scenario.display(),
                dir.display()
            )));
        }
        RunReport::read(&dir.join(crate::report::json::RUN_JSON))
            .map_err(|e| CliError::Run(e.to_string()))
    }
}

fn stack(runs: &[RunReport]) -> Result<RunReport, CliError> {
    crate::results::stack::stack(runs).ok_or_else(|| CliError::Run("no rounds ran".to_owned()))
}

/// `loadline ab`.
pub(crate) fn ab(args: &AbArgs) -> Result<Exit, CliError> {
    let mut opts = super::compare::options(&args.judge)?;
    opts.design = Design::Paired;
    opts.any_scenario = args.new_scenario.is_some();
    if args.base_bin.is_some() != args.new_bin.is_some() {
        return Err(CliError::Usage(
            "--base-bin and --new-bin go together (the other side would run this binary)"
                .to_owned(),
        ));
    }
    let (first, most) = match args.rounds {
        Rounds::Fixed(n) => (n, n),
        Rounds::Auto => {
            if args.max_rounds < AB_MIN_ROUNDS {
                return Err(CliError::Usage(format!(
                    "--max-rounds {}: `--rounds auto` starts with {AB_MIN_ROUNDS} pairs",
                    args.max_rounds
                )));
            }
            (AB_MIN_ROUNDS, args.max_rounds)
        }
    };
    let own = std::env::current_exe().map_err(|source| CliError::Io {
        op: "find",
        path: PathBuf::from("the running binary"),
        source,
    })?;
    let side = |name, bin: &Option<PathBuf>, scenario: &Path, extra: &[String]| Side {
        name,
        bin: bin.clone().unwrap_or_else(|| own.clone()),
        scenario: scenario.to_path_buf(),
        sets: args.set.iter().chain(extra).cloned().collect(),
    };
    let base = side("base", &args.base_bin, &args.scenario, &args.base_set);
    let new = side(
        "new",
        &args.new_bin,
        args.new_scenario.as_deref().unwrap_or(&args.scenario),
        &args.new_set,
    );
    let out = args.out.clone().unwrap_or_else(|| {
        let stem = args
            .scenario
            .file_stem()
            .map_or_else(|| "scenario".into(), |s| s.to_string_lossy().into_owned());
        PathBuf::from("reports/runs").join(format!(
            "ab-{stem}-{}",
            super::run::utc_stamp(SystemTime::now(), true)
        ))
    });
    let started = Instant::now();
    let (mut base_runs, mut new_runs) = (Vec::new(), Vec::new());
    let mut shown = BTreeSet::new();
    let mut pair = 0;
    let c: Comparison = loop {
        let order = if pair % 2 == 0 {
            [&base, &new]
        } else {
            [&new, &base]
        };
        for s in order {
            let dir = out
                .join("rounds")
                .join(format!("{:02}-{}", pair + 1, s.name));
            if !args.quiet {
                eprint_line(&format!(
                    "ab: pair {}/{}{}: {} side ({:.0} s so far)",
                    pair + 1,
                    most,
                    if args.rounds == Rounds::Auto {
                        " at most"
                    } else {
                        ""
                    },
                    s.name,
                    started.elapsed().as_secs_f64()
                ));
            }
            let report = s.run(&dir, pair, &mut shown)?;
            if s.name == "base" {
                base_runs.push(report);
            } else {
                new_runs.push(report);
            }
        }
        pair += 1;
        if pair < first {
            continue;
        }
        let c = crate::compare::compare(&stack(&base_runs)?, &stack(&new_runs)?, &opts)
            .map_err(|e| CliError::Usage(format!("the base and new sides: {e}")))?;
        if c.verdict() != Verdict::Inconclusive || pair >= most {
            break c;
        }
    };
    if !args.quiet {
        eprint_line(&format!(
            "ab: {pair} pairs ({} runs) in {:.0} s",
            2 * pair,
            started.elapsed().as_secs_f64()
        ));
    }
    let sides = Sides {
        base: base.describe(&own),
        new: new.describe(&own),
    };
    super::compare::report(&c, &sides, Some(&out.join("compare")), args.quiet)
}
