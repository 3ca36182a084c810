//! The one match from a parsed command line to its command's function.

use std::io::Write;

use super::{
    CliError, Exit, ab, compare, conform, crash_child, explain, merge, new_store, payload, run,
    schema, validate,
};
use crate::cli::{Cli, Command};
use crate::scenario::Loader;

/// Runs the parsed command line with the store kinds `loader` knows;
/// returns the exit code. `name` is the binary's (for completions).
pub(crate) fn dispatch(cli: Cli, loader: &Loader, name: &'static str) -> Result<Exit, CliError> {
    match cli.command {
        Command::Validate(args) => validate(&args, loader),
        Command::Explain(args) => explain(&args, loader),
        Command::Run(args) => run(&args, loader),
        Command::Merge(args) => merge(&args, loader),
        Command::Compare(args) => compare(&args),
        Command::Ab(args) => ab(&args),
        Command::Payload(cmd) => payload(&cmd),
        Command::Conform(args) => conform(&args, loader),
        Command::Schema(args) => schema(&args, loader),
        Command::NewStore(args) => new_store(&args),
        Command::CrashChild(args) => crash_child(&args, loader),
        Command::Completions(args) => {
            let mut cmd = completion_command(name);
            // Into a buffer first: clap_complete panics when stdout is a
            // closed pipe (`… completions bash | head`).
            let mut script = Vec::new();
            clap_complete::generate(args.shell, &mut cmd, name, &mut script);
            let _ = std::io::stdout().lock().write_all(&script);
            Ok(Exit::Ok)
        }
    }
}

/// The command tree shells complete: the CLI without its hidden
/// subcommands (`__crash-child` is loadline's own, never typed).
fn completion_command(name: &'static str) -> clap::Command {
    let full = <Cli as clap::CommandFactory>::command();
    let visible: Vec<clap::Command> = full
        .get_subcommands()
        .filter(|c| !c.is_hide_set())
        .cloned()
        .collect();
    let mut cmd = clap::Command::new(name)
        .version(crate::cli::VERSION)
        .subcommands(visible)
        .args(full.get_arguments().filter(|a| !a.is_hide_set()).cloned());
    if let Some(a) = full.get_about() {
        cmd = cmd.about(a.clone());
    }
    cmd
}
