//! What a command ends with: an [`Exit`] code (the documented ones) or a
//! [`CliError`], which maps to one.

use std::path::PathBuf;

use crate::compare::SourceError;
use crate::engine::datadir::DirError;
use crate::metrics::report::ReadError;
use crate::report::ReportError;
use crate::report::prometheus::ServeError;
use crate::results::merge::MergeError;
use crate::results::shard::ShardSpecError;
use crate::scenario::diagnostic::Diagnostics;
use crate::store::StoreError;
use crate::workload::PayloadFileError;

/// The documented exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exit {
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
    pub(crate) fn stopped_by(signal: crate::engine::signals::StopSignal) -> Exit {
        use crate::engine::signals::StopSignal;
        match signal {
            StopSignal::Interrupt => Exit::Interrupted,
            StopSignal::Terminate => Exit::Terminated,
            StopSignal::Hangup => Exit::Hangup,
        }
    }

    /// True for the codes of a run stopped by a signal.
    pub(crate) fn is_stopped(self) -> bool {
        matches!(self, Exit::Interrupted | Exit::Terminated | Exit::Hangup)
    }
}

/// A failure of a command, with the exit code it maps to.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CliError {
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
    /// A `run.json` given as input could not be read.
    #[error(transparent)]
    Input(#[from] ReadError),
    /// A run or baseline named on the command line could not be found or
    /// read, or a baseline could not be saved.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// Runs given to `merge` do not fit together.
    #[error(transparent)]
    Merge(#[from] MergeError),
    /// A `--shard` that is not `I/N`.
    #[error(transparent)]
    Shard(#[from] ShardSpecError),
    /// The `--metrics-addr` endpoint could not start.
    #[error(transparent)]
    Serve(#[from] ServeError),
    /// Writing an output file failed.
    #[error(transparent)]
    Output(#[from] ReportError),
    /// The output directory could not be claimed.
    #[error(transparent)]
    OutDir(#[from] DirError),
    /// A payload file could not be written or read.
    #[error(transparent)]
    Payload(#[from] PayloadFileError),
    /// A store failed (the crash child's writer).
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl CliError {
    /// The exit code for this error.
    pub(crate) fn exit(&self) -> Exit {
        match self {
            CliError::Invalid(_)
            | CliError::Usage(_)
            | CliError::Input(_)
            | CliError::Merge(_)
            | CliError::Shard(_)
            | CliError::Serve(_) => Exit::Invalid,
            CliError::Source(SourceError::Save { .. }) => Exit::StoreError,
            CliError::Source(_) => Exit::Invalid,
            CliError::Io { .. }
            | CliError::Run(_)
            | CliError::Output(_)
            | CliError::OutDir(_)
            | CliError::Payload(_)
            | CliError::Store(_) => Exit::StoreError,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::results::shard::ShardSpec;

    /// Typed causes keep the documented exit codes: bad input is 2, a
    /// failure while doing the work is 3.
    #[test]
    fn typed_errors_map_to_the_documented_exit_codes() {
        let shard = "3".parse::<ShardSpec>().expect_err("not I/N");
        assert_eq!(CliError::from(shard).exit(), Exit::Invalid);
        let missing = SourceError::NoRunJson {
            path: PathBuf::from("/x"),
        };
        assert_eq!(CliError::from(missing).exit(), Exit::Invalid);
        let save = SourceError::Save {
            op: "write",
            path: PathBuf::from("/x"),
            source: std::io::Error::from_raw_os_error(libc::ENOSPC),
        };
        let e = CliError::from(save);
        assert_eq!(e.exit(), Exit::StoreError);
        assert!(e.to_string().starts_with("cannot write /x"), "{e}");
        let store = StoreError::io(
            "fsync",
            &PathBuf::from("/x"),
            std::io::Error::from_raw_os_error(libc::EIO),
        );
        assert_eq!(CliError::from(store).exit(), Exit::StoreError);
    }
}
