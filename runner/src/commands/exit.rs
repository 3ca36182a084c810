//! What a command ends with: an [`Exit`] code (the documented ones) or a
//! [`CliError`], which maps to one.

use std::path::PathBuf;

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
