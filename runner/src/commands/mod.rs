//! Thin glue between the CLI and the library: one function per subcommand,
//! each returning an [`Exit`] or a [`CliError`] that `main` maps to a
//! documented exit code.

mod ab;
mod compare;
mod crash_child;
mod explain;
mod merge;
mod new_store;
mod payload;
mod run;
mod schema;
mod subscribers;
mod validate;

use std::io::Write;
use std::path::PathBuf;

pub use ab::ab;
pub use compare::compare;
pub use crash_child::crash_child;
pub use explain::explain;
pub use merge::merge;
pub use new_store::new_store;
pub use payload::payload;
pub use run::run;
pub use schema::schema;
pub use validate::validate;

use crate::cli::{Cli, Command};
use crate::scenario::Loader;
use crate::scenario::diagnostic::Diagnostics;

/// The documented exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Every assertion passed (or the command succeeded).
    Ok = 0,
    /// At least one assertion failed (`compare`: a regression).
    AssertionFailed = 1,
    /// Usage error or invalid scenario; nothing ran.
    Invalid = 2,
    /// A store or I/O error stopped the run; finished phases are kept.
    StoreError = 3,
    /// Stopped by SIGHUP (128 + 1); finished phases are kept.
    Hangup = 129,
    /// Interrupted by SIGINT (Ctrl-C, 128 + 2); finished phases are kept.
    Interrupted = 130,
    /// Stopped by SIGTERM (128 + 15: `timeout`, `docker stop`, systemd,
    /// CI cancellation); finished phases are kept.
    Terminated = 143,
}

impl Exit {
    /// The exit code of a run stopped by `signal` (128 + its number).
    pub fn stopped_by(signal: crate::engine::signals::StopSignal) -> Exit {
        use crate::engine::signals::StopSignal;
        match signal {
            StopSignal::Interrupt => Exit::Interrupted,
            StopSignal::Terminate => Exit::Terminated,
            StopSignal::Hangup => Exit::Hangup,
        }
    }

    /// True for the codes of a run stopped by a signal.
    pub fn is_stopped(self) -> bool {
        matches!(self, Exit::Interrupted | Exit::Terminated | Exit::Hangup)
    }
}

/// A failure of a command, with the exit code it maps to.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// One or more scenario files are invalid (already printed).
    #[error("invalid scenario")]
    Invalid(Diagnostics),
    /// A bad combination of arguments.
    #[error("{0}")]
    Usage(String),
    /// Reading or writing a file failed.
    #[error("cannot {op} {}", path.display())]
    Io {
        /// What was being done: `create`, `write`, `read` …
        op: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A run stopped on a store or engine error.
    #[error("{0}")]
    Run(String),
}

impl CliError {
    /// The exit code for this error.
    pub fn exit(&self) -> Exit {
        match self {
            CliError::Invalid(_) | CliError::Usage(_) => Exit::Invalid,
            CliError::Io { .. } | CliError::Run(_) => Exit::StoreError,
        }
    }
}

/// Runs the parsed command line with the store kinds `loader` knows;
/// returns the exit code. `name` is the binary's (for completions).
pub fn dispatch(cli: Cli, loader: &Loader, name: &'static str) -> Result<Exit, CliError> {
    match cli.command {
        Command::Validate(args) => validate(&args, loader),
        Command::Explain(args) => explain(&args, loader),
        Command::Run(args) => run(&args, loader),
        Command::Merge(args) => merge(&args, loader),
        Command::Compare(args) => compare(&args),
        Command::Ab(args) => ab(&args),
        Command::Payload(cmd) => payload(&cmd),
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

/// Text as printed: under GitHub Actions, lines that would run as workflow
/// commands are defused (see [`crate::report::github::neutralize`]).
fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    if crate::report::github::under_actions() {
        crate::report::github::neutralize(text).into()
    } else {
        text.into()
    }
}

/// Writes free text to stderr; every line of it is safe under Actions.
pub(crate) fn eprint_text(text: &str) {
    let _ = write!(std::io::stderr().lock(), "{}", printable(text));
}

/// `--set` overrides with `--profile NAME` in front (as `profile=NAME`,
/// which the loader applies before every other override).
pub(crate) fn with_profile(overrides: &[String], profile: Option<&str>) -> Vec<String> {
    let mut all: Vec<String> = profile
        .map(|p| format!("profile={p}"))
        .into_iter()
        .collect();
    all.extend(overrides.iter().cloned());
    all
}

/// Prints an error chain line from `main`, safe under Actions.
pub fn eprint_error(msg: &str) {
    eprint_line(msg);
}

/// Writes one line to stderr (a newline is added), safe under Actions.
pub(crate) fn eprint_line(line: &str) {
    eprint_text(&format!("{line}\n"));
}

/// Writes free text to stdout; every line of it is safe under Actions.
pub(crate) fn print_text(text: &str) {
    let _ = write!(std::io::stdout().lock(), "{}", printable(text));
}

/// Prints diagnostics to stderr, plus GitHub annotations under Actions.
pub(crate) fn print_diagnostics(diags: &Diagnostics) {
    eprint_text(&diags.render());
    if crate::report::github::under_actions() {
        let mut out = std::io::stdout().lock();
        for d in &diags.0 {
            let _ = writeln!(out, "{}", crate::report::github::diagnostic_annotation(d));
        }
    }
}
