//! `loadline merge DIR... --out DIR`: reads each run directory's
//! `run.json`, merges them (`results::merge`), and writes the run
//! directory an unsharded run would have written; exits 0 or 1 on the
//! merged assertions, 2 when the inputs cannot be merged.

use std::path::PathBuf;

use super::{CliError, Exit, eprint_line, print_text};
use crate::cli::MergeArgs;
use crate::metrics::report::RunReport;
use crate::report::{self, Reporter};
use crate::results::merge;
use crate::scenario::Loader;

/// Runs `loadline merge`.
pub(crate) fn merge(args: &MergeArgs, loader: &Loader) -> Result<Exit, CliError> {
    if let Some(t) = &args.template {
        report::check_template(t).map_err(|e| CliError::Usage(format!("--template: {e}")))?;
    }
    let mut inputs: Vec<(PathBuf, RunReport)> = Vec::new();
    for input in &args.inputs {
        let path = if input.is_dir() {
            input.join(report::json::RUN_JSON)
        } else {
            input.clone()
        };
        let r = RunReport::read(&path)?;
        inputs.push((path, r));
    }
    let merged = merge::merge(&inputs, loader)?;
    let _lock = crate::engine::datadir::OutLock::acquire(&args.out)?;
    let mut files = report::file_outputs(&args.out, args.template.as_deref())?;
    files.run_finished(&merged)?;
    if let Some(mut gh) = report::github::StepSummaryReporter::from_env()
        && let Err(e) = gh.run_finished(&merged)
    {
        eprint_line(&format!("error: {e}"));
    }
    for line in report::github::annotations_from_env(&merged) {
        print_text(&format!("{line}\n"));
    }
    if !args.quiet {
        print_text(&report::console::summary(&merged, &args.out));
    }
    Ok(if merged.passed() {
        Exit::Ok
    } else {
        Exit::AssertionFailed
    })
}
