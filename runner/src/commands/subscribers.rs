//! The subscribers of `loadline run`: the report builder, the live
//! metrics endpoint, the streamed timeline, the progress display and the
//! run directory's files, fed every engine event in that order.

use std::sync::Arc;

use super::eprint_line;
use crate::engine::{Event, Observer, ObserverError};
use crate::report::{self, Reporter};
use crate::results::builder::ReportBuilder;

/// The engine's subscribers during a run: the report builder, the live
/// metrics endpoint, the streamed timeline, then the live progress (bars
/// on a terminal, a line per phase in a CI log), then
/// the run directory's files (fed the builder's report after each phase,
/// when a generation is due).
pub(super) struct Subscribers {
    pub(super) builder: ReportBuilder,
    /// The live metrics endpoint (`--metrics-addr`).
    pub(super) metrics: Option<report::live::LiveObserver>,
    pub(super) live: report::progress::LiveProgress,
    /// `timeline.partial.csv`, interval by interval.
    pub(super) stream: report::stream::IntervalStream,
    pub(super) files: report::OutputFiles,
    pub(super) errors: Vec<String>,
}

impl Observer for Subscribers {
    fn event(&mut self, event: &Event<'_>) -> Result<(), ObserverError> {
        self.builder.event(event)?;
        self.stream.event(event)?;
        if let Some(metrics) = &mut self.metrics {
            metrics.event(event)?;
        }
        match event {
            Event::PhaseStarted {
                label,
                target,
                phase,
                progress,
                ..
            } => self
                .live
                .phase_started(label, target, phase, Arc::clone(progress)),
            Event::Tick => self.live.tick(),
            Event::Intervals { phase, batch, .. } => {
                let actors: Vec<String> = phase.actors.iter().map(|a| a.name.clone()).collect();
                self.live.intervals(&actors, batch);
            }
            Event::PhaseFinished { target, phase, .. } => {
                self.live.phase_finished(target, phase);
                if self.files.due(self.builder.finished_phases()) {
                    self.files.phase_finished(&self.builder.report())?;
                }
            }
            Event::Warning(message) => eprint_line(&format!("warning: {message}")),
            _ => {}
        }
        Ok(())
    }
}
