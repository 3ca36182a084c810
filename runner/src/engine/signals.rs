//! Stop signals: SIGINT (Ctrl-C), SIGTERM (`timeout`, `docker stop`,
//! systemd, CI cancellation) and SIGHUP (a closed terminal or SSH session)
//! all end a run the same way — the current phase is stopped and
//! discarded (kept and judged once it has more intervals than a trend
//! needs: see `engine::soak`), finished phases are kept, data directories are cleaned and
//! the run is marked `interrupted`. A second stop signal ends the process
//! at once.
//!
//! [`watch`] subscribes to the three signals on the tokio runtime
//! (`tokio::signal::unix`, no raw handlers) and records which came first
//! in a [`StopSignals`]; the engine only ever reads the interrupt flag. The
//! caller supplies what to do on each signal (print, exit), so this module
//! never formats text.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

/// A signal that stops a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StopSignal {
    /// SIGINT: Ctrl-C in a terminal.
    Interrupt,
    /// SIGTERM: `timeout`, `docker stop`, `kill`, systemd, CI cancellation.
    Terminate,
    /// SIGHUP: the controlling terminal went away.
    Hangup,
}

impl StopSignal {
    const ALL: [StopSignal; 3] = [
        StopSignal::Interrupt,
        StopSignal::Terminate,
        StopSignal::Hangup,
    ];

    /// `SIGINT`, `SIGTERM` or `SIGHUP`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            StopSignal::Interrupt => "SIGINT",
            StopSignal::Terminate => "SIGTERM",
            StopSignal::Hangup => "SIGHUP",
        }
    }

    /// The signal's number on Linux (2, 15, 1).
    pub(crate) fn number(self) -> i32 {
        match self {
            StopSignal::Interrupt => 2,
            StopSignal::Terminate => 15,
            StopSignal::Hangup => 1,
        }
    }

    /// The exit code of a run it stopped: 128 + the signal number (130,
    /// 143, 129), what a shell reports for a process the signal killed and
    /// what `docker stop`, `timeout --preserve-status` and CI runners show.
    pub(crate) fn exit_code(self) -> i32 {
        128 + self.number()
    }

    fn code(self) -> u8 {
        match self {
            StopSignal::Interrupt => 1,
            StopSignal::Terminate => 2,
            StopSignal::Hangup => 3,
        }
    }

    fn from_code(code: u8) -> Option<StopSignal> {
        StopSignal::ALL.into_iter().find(|s| s.code() == code)
    }

    #[cfg(unix)]
    fn kind(self) -> tokio::signal::unix::SignalKind {
        use tokio::signal::unix::SignalKind;
        match self {
            StopSignal::Interrupt => SignalKind::interrupt(),
            StopSignal::Terminate => SignalKind::terminate(),
            StopSignal::Hangup => SignalKind::hangup(),
        }
    }
}

/// The stop state of a run: the interrupt flag the engine polls and the
/// first signal that set it.
#[derive(Debug)]
pub(crate) struct StopSignals {
    interrupt: Arc<AtomicBool>,
    first: AtomicU8,
}

impl StopSignals {
    /// A state with no signal received, setting `interrupt` when one is.
    pub(crate) fn new(interrupt: Arc<AtomicBool>) -> Self {
        StopSignals {
            interrupt,
            first: AtomicU8::new(0),
        }
    }

    /// The flag the engine polls (`RunOptions::interrupt`).
    pub(crate) fn interrupt(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.interrupt)
    }

    /// The first stop signal received, if any.
    pub(crate) fn first(&self) -> Option<StopSignal> {
        StopSignal::from_code(self.first.load(Ordering::Acquire))
    }

    /// Records `signal`; true when it is the first (the run stops
    /// gracefully), false for a later one (the caller ends the process).
    pub(crate) fn record(&self, signal: StopSignal) -> bool {
        let first = self
            .first
            .compare_exchange(0, signal.code(), Ordering::AcqRel, Ordering::Acquire)
            .is_ok();
        self.interrupt.store(true, Ordering::Release);
        first
    }
}

/// What the caller does when a stop signal arrives: `first` is true for
/// the first one. Runs on the runtime's thread.
pub(crate) type OnSignal = Arc<dyn Fn(StopSignal, bool) + Send + Sync>;

/// Subscribes to SIGINT, SIGTERM and SIGHUP on `runtime`; every arrival is
/// recorded in `state` and reported to `on_signal`. Call before the run
/// starts so no signal falls back to its default action (death without
/// cleanup).
///
/// # Errors
/// The OS refused a signal subscription (the error names none; it is rare
/// enough that the run is refused rather than run unprotected).
pub(crate) fn watch(
    runtime: &tokio::runtime::Runtime,
    state: Arc<StopSignals>,
    on_signal: OnSignal,
) -> std::io::Result<()> {
    let _enter = runtime.enter();
    for signal in StopSignal::ALL {
        #[cfg(unix)]
        let mut stream = tokio::signal::unix::signal(signal.kind())?;
        let (state, on_signal) = (Arc::clone(&state), Arc::clone(&on_signal));
        runtime.spawn(async move {
            loop {
                #[cfg(unix)]
                let received = stream.recv().await.is_some();
                #[cfg(not(unix))]
                let received =
                    signal == StopSignal::Interrupt && tokio::signal::ctrl_c().await.is_ok();
                if !received {
                    return;
                }
                let first = state.record(signal);
                on_signal(signal, first);
            }
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_are_128_plus_the_signal_number() {
        assert_eq!(StopSignal::Interrupt.exit_code(), 130);
        assert_eq!(StopSignal::Terminate.exit_code(), 143);
        assert_eq!(StopSignal::Hangup.exit_code(), 129);
        #[cfg(unix)]
        for s in StopSignal::ALL {
            let libc_number = match s {
                StopSignal::Interrupt => libc::SIGINT,
                StopSignal::Terminate => libc::SIGTERM,
                StopSignal::Hangup => libc::SIGHUP,
            };
            assert_eq!(s.number(), libc_number, "{}", s.name());
        }
    }

    #[test]
    fn the_first_signal_is_kept_and_sets_the_flag() {
        let state = StopSignals::new(Arc::new(AtomicBool::new(false)));
        assert_eq!(state.first(), None);
        assert!(state.record(StopSignal::Terminate));
        assert!(!state.record(StopSignal::Interrupt), "a second signal");
        assert_eq!(state.first(), Some(StopSignal::Terminate));
        assert!(state.interrupt().load(Ordering::Acquire));
    }
}
