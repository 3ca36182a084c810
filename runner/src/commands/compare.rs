//! `loadline compare BASE NEW`, and the comparison step of `run
//! --baseline`: reads both runs, compares them, prints the table, writes
//! the files and GitHub outputs, and maps the verdict to an exit code
//! (0 no regression, 1 regression; runs that cannot be matched at all are
//! a usage error, 2, printed once by `main`).

use std::io::Write;
use std::path::Path;

use super::{CliError, Exit, eprint_line, print_text};
use crate::cli::{CompareArgs, JudgeArgs};
use crate::compare::{BaselineStore, CompareOptions, Comparison, Thresholds, Verdict};
use crate::metrics::report::RunReport;
use crate::report::compare::{self as out, Sides};

/// The options `args` ask for (a bad `--threshold` is a usage error).
pub(crate) fn options(args: &JudgeArgs) -> Result<CompareOptions, CliError> {
    Ok(CompareOptions {
        thresholds: Thresholds::parse(&args.thresholds).map_err(CliError::Usage)?,
        metrics: args.metrics.clone(),
        ..CompareOptions::default()
    })
}

/// Finds a run or saved baseline; not found is a usage error.
pub(crate) fn resolve(store: &BaselineStore, arg: &str) -> Result<(String, RunReport), CliError> {
    store
        .resolve(arg)
        .map(|(path, run)| (path.display().to_string(), run))
        .map_err(CliError::from)
}

/// Compares, prints and writes; returns the exit code of the verdict.
pub(crate) fn report(
    c: &Comparison,
    sides: &Sides,
    out_dir: Option<&Path>,
    quiet: bool,
) -> Result<Exit, CliError> {
    if !quiet {
        print_text(&out::console(c, sides));
    }
    if let Some(dir) = out_dir {
        let files = out::files(c, sides, dir)?;
        out::write_files(&files)?;
        if !quiet {
            print_text(&format!("comparison: {}\n", dir.display()));
        }
    }
    if crate::report::github::under_actions() {
        let mut stdout = std::io::stdout().lock();
        for line in out::annotations(c) {
            let _ = writeln!(stdout, "{line}");
        }
    }
    if let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|p| !p.is_empty())
        && let Err(e) = out::append_step_summary(Path::new(&path), c, sides)
    {
        eprint_line(&format!("error: {e}"));
    }
    Ok(match c.verdict() {
        Verdict::Pass | Verdict::Inconclusive => Exit::Ok,
        Verdict::Regression => Exit::AssertionFailed,
    })
}

/// `loadline compare`.
pub(crate) fn compare(args: &CompareArgs) -> Result<Exit, CliError> {
    let opts = options(&args.judge)?;
    let store = BaselineStore::new(Some(&args.judge.baselines_dir));
    let (base_from, base) = resolve(&store, &args.base)?;
    let (new_from, new) = resolve(&store, &args.new)?;
    let c = crate::compare::compare(&base, &new, &opts)
        .map_err(|e| CliError::Usage(format!("{base_from} and {new_from}: {e}")))?;
    let sides = Sides {
        base: base_from,
        new: new_from,
    };
    report(&c, &sides, args.out.as_deref(), args.quiet)
}
