//! What makes a long (soak) phase safe to stop and cheap to keep: its
//! finished intervals go to the subscribers as they finish
//! ([`forward`]), and a phase stopped by a signal after it has recorded
//! enough intervals to trend is kept and judged on what it has
//! ([`keep_interrupted`]) rather than thrown away like a short phase.
//!
//! Owns the policy only; the phase thread rolls intervals up
//! (`metrics::rollup`) and the orchestrator (`engine::run_phase`) calls
//! these.

use std::sync::mpsc::Receiver;

use super::events::{Event, Observer};
use crate::metrics::report::PhaseReport;
use crate::metrics::rollup::IntervalBatch;
use crate::metrics::series::LISTED_MIN_INTERVALS;
use crate::scenario::model::Phase;

/// The `ended_by` of a phase a stop signal ended and that was kept.
pub(crate) const ENDED_BY_INTERRUPT: &str = "interrupted";

/// Passes every batch waiting in `rx` to `observer` as
/// [`Event::Intervals`] (never blocks).
pub(crate) fn forward(
    rx: &Receiver<IntervalBatch>,
    target: &str,
    phase: &Phase,
    observer: &mut dyn Observer,
) {
    while let Ok(batch) = rx.try_recv() {
        // Only a phase-finished event's error stops a run.
        let _ = observer.event(&Event::Intervals {
            target,
            phase,
            batch: &batch,
        });
    }
}

/// Keeps the report of a phase a stop signal ended when every actor with
/// a timeline has at least [`LISTED_MIN_INTERVALS`] intervals (enough for
/// its trends to be listed and judged), marking it
/// [`ENDED_BY_INTERRUPT`]; `None` (discarded, as before soak mode) for a
/// shorter one, whose totals would only mislead.
pub(crate) fn keep_interrupted(mut report: PhaseReport) -> Option<PhaseReport> {
    let long = !report.actors.is_empty()
        && report
            .actors
            .iter()
            .all(|a| a.timeline.len() > LISTED_MIN_INTERVALS);
    long.then(|| {
        ENDED_BY_INTERRUPT.clone_into(&mut report.ended_by);
        report
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::recorder::{ActorInfo, Recorder, actor_report};
    use crate::metrics::report::IntervalReport;

    fn phase_with(intervals: usize) -> PhaseReport {
        let info = ActorInfo {
            name: "writer".to_owned(),
            op: "append".to_owned(),
            workers: 1,
            rate: None,
        };
        let mut actor = actor_report(&info, &Recorder::new(false), 1);
        actor.timeline = vec![IntervalReport::default(); intervals];
        PhaseReport {
            name: "soak".to_owned(),
            warmup: false,
            duration_ns: 1,
            ended_by: "duration".to_owned(),
            actors: vec![actor],
            metrics: Default::default(),
            stats: Default::default(),
            began_cold: false,
        }
    }

    /// An interrupted phase long enough to trend is kept, marked
    /// interrupted; a short one is discarded.
    #[test]
    fn a_long_interrupted_phase_is_kept_and_a_short_one_is_not() {
        let kept = keep_interrupted(phase_with(LISTED_MIN_INTERVALS + 1)).expect("kept");
        assert_eq!(kept.ended_by, ENDED_BY_INTERRUPT);
        assert!(keep_interrupted(phase_with(LISTED_MIN_INTERVALS)).is_none());
        assert!(keep_interrupted(phase_with(3)).is_none());
    }
}
