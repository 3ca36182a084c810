//! The live metrics endpoint as an engine subscriber: [`LiveObserver`]
//! turns the engine's phase events into calls on the endpoint's
//! [`Live`] state, like every other output is fed by events. Formatting
//! and serving are `report::prometheus`'s.

use std::sync::Arc;

use crate::engine::{Event, Observer, ObserverError};
use crate::metrics::live::{Live, PhaseShape};

/// Feeds the endpoint's [`Live`] state from the engine's events.
#[derive(Debug)]
pub(crate) struct LiveObserver {
    live: Arc<Live>,
    /// The running phase's variant label (phase-finished events carry
    /// only the variant's index).
    label: String,
}

impl LiveObserver {
    /// A subscriber telling `live` of every phase.
    pub(crate) fn new(live: Arc<Live>) -> Self {
        LiveObserver {
            live,
            label: String::new(),
        }
    }
}

impl Observer for LiveObserver {
    fn event(&mut self, event: &Event<'_>) -> Result<(), ObserverError> {
        match event {
            Event::PhaseStarted {
                label,
                target,
                phase,
                progress,
                store,
                statistics,
                levels,
                ..
            } => {
                self.label = (*label).to_owned();
                // A crash phase's store lives in its child: nothing to scrape.
                if let Some(store) = store {
                    self.live.set_units(
                        statistics
                            .iter()
                            .map(|d| {
                                // A counter is served as a Prometheus counter.
                                let level = levels.contains(&d.name)
                                    || d.unit == crate::store::StatUnit::Ratio;
                                (d.name.to_owned(), (d.unit, !level))
                            })
                            .collect(),
                    );
                    let shape = PhaseShape {
                        name: phase.name.clone(),
                        actors: phase
                            .actors
                            .iter()
                            .map(|a| (a.name.clone(), a.workers))
                            .collect(),
                        records: phase.records,
                        duration: phase.duration,
                    };
                    self.live
                        .phase_started(label, target, shape, progress, Arc::clone(&store.0));
                }
            }
            Event::Intervals { phase, batch, .. } => {
                let actors: Vec<String> = phase.actors.iter().map(|a| a.name.clone()).collect();
                self.live.intervals(&actors, batch);
            }
            Event::WorkersDone => self.live.phase_ended(),
            Event::PhaseFinished { target, phase, .. } => {
                self.live.phase_finished(&self.label, target, phase);
            }
            _ => {}
        }
        Ok(())
    }
}
