//! Thin glue between the CLI and the library: one function per subcommand,
//! each returning an [`Exit`] or a [`CliError`] that `main` maps to a
//! documented exit code.

mod crash_child;
mod explain;
mod payload;
mod run;
mod schema;
mod validate;

use std::io::Write;
use std::path::PathBuf;

pub use crash_child::crash_child;
pub use explain::explain;
pub use payload::payload;
pub use run::run;
pub use schema::schema;
pub use validate::validate;

use crate::cli::{Cli, Command};
use crate::scenario::diagnostic::Diagnostics;

/// The documented exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Every assertion passed (or the command succeeded).
    Ok = 0,
    /// At least one assertion failed.
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
    #[error("{}", path.display())]
    Io {
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

/// Runs the parsed command line; returns the exit code.
pub fn dispatch(cli: Cli) -> Result<Exit, CliError> {
    match cli.command {
        Command::Validate(args) => validate(&args),
        Command::Explain(args) => explain(&args),
        Command::Run(args) => run(&args),
        Command::Payload(cmd) => payload(&cmd),
        Command::Schema(args) => schema(&args),
        Command::CrashChild(args) => crash_child(&args),
        Command::Completions(args) => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(args.shell, &mut cmd, "loadline", &mut std::io::stdout());
            Ok(Exit::Ok)
        }
    }
}

/// Prints diagnostics to stderr, plus GitHub annotations under Actions.
pub(crate) fn print_diagnostics(diags: &Diagnostics) {
    let mut err = std::io::stderr().lock();
    let _ = write!(err, "{}", diags.render());
    if std::env::var_os("GITHUB_ACTIONS").is_some_and(|v| v == "true") {
        let mut out = std::io::stdout().lock();
        for d in &diags.0 {
            let _ = writeln!(out, "{}", d.github_annotation());
        }
    }
}
