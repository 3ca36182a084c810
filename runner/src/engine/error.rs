//! The failure that stops a run, and how it reads as one line.

use super::events::ObserverError;
use super::{datadir, phase, pools};
use crate::store::StoreError;

/// A failure that stops the run; finished phases stay in the report.
#[derive(Debug, thiserror::Error)]
pub(crate) enum EngineError {
    /// A store operation failed.
    #[error("target `{target}`, {}: {source}", during(phase))]
    Store {
        /// Target name.
        target: String,
        /// Phase name (empty while opening or closing).
        phase: String,
        /// The store's error.
        #[source]
        source: StoreError,
    },
    /// An OS thread could not be started (a process or thread limit).
    #[error("target `{target}`, {}: {source}", during(phase))]
    Thread {
        /// Target name.
        target: String,
        /// Phase name.
        phase: String,
        /// Which thread, how many were running, the OS error.
        #[source]
        source: phase::SpawnError,
    },
    /// A phase's `settle` timed out under `on_timeout: fail`: the store
    /// still had background work in flight.
    #[error(
        "target `{target}`, phase `{phase}`: the store did not settle within {} ({left} left); give `settle` a longer `timeout`, or `on_timeout: measure` to measure anyway",
        crate::units::format_duration(*timeout)
    )]
    Settle {
        /// Target name.
        target: String,
        /// The phase that waited.
        phase: String,
        /// The phase's `settle.timeout`.
        timeout: std::time::Duration,
        /// What was still in flight.
        left: crate::store::Background,
    },
    /// A data directory could not be claimed, cleared or removed.
    #[error(transparent)]
    DataDir(#[from] datadir::DirError),
    /// A payload could not be prepared.
    #[error(transparent)]
    Payload(#[from] pools::PoolError),
    /// The results of a finished phase could not be saved.
    #[error("target `{target}`, phase `{phase}`: saving the results: {source}")]
    Output {
        /// Target name.
        target: String,
        /// The phase whose results were not saved.
        phase: String,
        /// The observer's error (e.g. "cannot write out/run.json: no space left").
        #[source]
        source: ObserverError,
    },
}

/// Where a store error happened: a phase, or (empty) opening or closing.
fn during(phase: &str) -> String {
    if phase.is_empty() {
        "opening or closing the store".to_owned()
    } else {
        format!("phase `{phase}`")
    }
}

/// `e` and its sources, each once: "a: b: c".
pub(crate) fn error_chain(e: &EngineError) -> String {
    let mut msg = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        let s_text = s.to_string();
        if !msg.contains(&s_text) {
            msg.push_str(": ");
            msg.push_str(&s_text);
        }
        src = s.source();
    }
    msg
}
