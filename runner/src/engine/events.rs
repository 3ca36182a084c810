//! What the engine tells its subscribers: one [`Event`] per step of a run
//! (round, variant, target opened and closed, phase started and finished
//! with its measurements, run finished), delivered to an [`Observer`].
//!
//! The engine holds no report: the report builder
//! (`results::builder::ReportBuilder`) subscribes and assembles the
//! `RunReport` from these events; progress bars, files and the console
//! subscribe too (see `commands/run.rs`). Events carry data, never text
//! to print.

use std::sync::Arc;

use crate::metrics::report::{PayloadReport, PhaseReport, ProcessStats};
use crate::metrics::rollup::IntervalBatch;
use crate::scenario::model::{Phase, Target};
use crate::store::{StatDesc, Store, StoreStats};

use crate::metrics::progress::Progress;

/// How a run ended, as the engine saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ending {
    /// Every planned round, variant, target and phase ran.
    Complete,
    /// A stop signal (Ctrl-C, SIGTERM, SIGHUP) ended it; finished phases count.
    Interrupted,
    /// An error stopped it; finished phases count.
    Failed,
}

/// One step of a run. `variant` is the index of the matrix variant in the
/// list the engine was given; `target` a target name of that variant.
#[derive(Debug)]
pub(crate) enum Event<'a> {
    /// Round `round` (0-based) of `--repeat` begins; `order` is the target
    /// order of this round (rotated by one per round).
    RoundStarted {
        /// Target names in the order they run this round.
        order: &'a [String],
    },
    /// A variant's payloads are ready and its targets are about to run.
    VariantStarted {
        /// Variant index.
        variant: usize,
        /// Achieved compressibility of its payloads.
        payloads: &'a [PayloadReport],
    },
    /// A target's store is open.
    TargetOpened {
        /// Variant index.
        variant: usize,
        /// The target.
        target: &'a Target,
        /// Its statistics right after opening.
        store: &'a StoreStats,
        /// What the store runs on, as it says ([`Store::software`](crate::store::Store::software)).
        software: Option<&'a str>,
    },
    /// A phase is about to start on a target; `progress` holds one records
    /// counter per worker, updated by the workers while it runs.
    PhaseStarted {
        /// Variant label (empty without a matrix).
        label: &'a str,
        /// Target name.
        target: &'a str,
        /// The phase.
        phase: &'a Phase,
        /// Per-worker progress counters.
        progress: Arc<Vec<Progress>>,
        /// The open store, shared while the phase runs in this process
        /// (`None` for a crash phase, whose store lives in a child); a
        /// subscriber that keeps it must let go on [`Event::WorkersDone`].
        store: Option<SharedStore>,
        /// The target kind's store statistics.
        statistics: &'a [StatDesc],
        /// Those of them that are levels, not counters: the kind's levels
        /// and its ratios ([`TargetKind::is_level`](crate::store::TargetKind::is_level)).
        levels: &'a [&'a str],
    },
    /// The running phase's workers are done; its store is about to be
    /// restarted or closed, so subscribers let go of it now.
    WorkersDone,
    /// A few times a second while a phase runs.
    Tick,
    /// Intervals of the running phase finished (each interval once, in
    /// order per actor; the last ones just before [`Event::WorkersDone`]):
    /// what a soak's streamed timeline and the live trends are made of.
    /// The phase's report holds them all again at its end.
    Intervals {
        /// Target name.
        target: &'a str,
        /// The phase (its actors name the batch's actor indices).
        phase: &'a Phase,
        /// What finished.
        batch: &'a IntervalBatch,
    },
    /// A phase finished on a target, with its measurements and the
    /// target's store and process statistics so far. An observer error
    /// here (the results could not be saved, e.g. a full output disk)
    /// stops the run: measuring on would produce results that cannot be
    /// kept.
    PhaseFinished {
        /// Variant index.
        variant: usize,
        /// Target name.
        target: &'a str,
        /// What the phase measured.
        phase: &'a PhaseReport,
        /// The store's statistics (over the target's run so far).
        store: &'a StoreStats,
        /// Process statistics over the target's run so far.
        process: &'a ProcessStats,
    },
    /// A target is done (closed, or stopped by `error`).
    TargetClosed {
        /// Variant index.
        variant: usize,
        /// Target name.
        target: &'a str,
        /// The store's statistics at the end.
        store: &'a StoreStats,
        /// Process statistics over the target's run.
        process: &'a ProcessStats,
        /// The error that stopped this target, if any.
        error: Option<&'a str>,
    },
    /// Every target of a variant ran (in this round).
    VariantFinished {
        /// Variant index.
        variant: usize,
    },
    /// A problem that does not stop the run (e.g. an entropy mismatch).
    Warning(&'a str),
    /// The run is over; `error` is the whole error chain of a failure.
    RunFinished {
        /// How it ended.
        ending: Ending,
        /// The error that stopped it, if any.
        error: Option<&'a str>,
    },
}

/// The open store of a running phase, as events share it.
#[derive(Clone)]
pub(crate) struct SharedStore(pub Arc<Box<dyn Store>>);

impl std::fmt::Debug for SharedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedStore").finish_non_exhaustive()
    }
}

/// A subscriber to the engine's events.
pub(crate) trait Observer {
    /// Takes one event. Only an error on [`Event::PhaseFinished`] stops
    /// the run; the engine ignores the others' (an observer keeps what it
    /// must report itself).
    fn event(&mut self, event: &Event<'_>) -> Result<(), ObserverError>;
}

/// Why an observer could not take an event (its own error type).
pub(crate) type ObserverError = Box<dyn std::error::Error + Send + Sync>;
