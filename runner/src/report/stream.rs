//! The streamed timeline, `timeline.partial.csv`: every interval of every
//! measured phase appended to the run directory as soon as it finishes
//! ([`Event::Intervals`]), flushed batch by batch — so a soak killed
//! outright (SIGKILL, the machine lost) still leaves every interval it
//! finished on disk, not only the phases before it.
//!
//! Same columns and rows as `timeline.csv` (see `report::timeline`),
//! `run_id` included, so the partial file of a lost run joins the others. When
//! the run's final files are written, `timeline.csv` holds everything and
//! [`IntervalStream::remove`] deletes the partial file; it stays only when
//! the run never got that far.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::timeline::{HEADER, interval_metrics, row, sample_metrics};
use crate::engine::{Event, Observer, ObserverError};
use crate::metrics::catalog::{MetricUnit, stat_unit};

/// The streamed timeline's file name.
pub(crate) const PARTIAL_CSV: &str = "timeline.partial.csv";

/// Appends finished intervals to `timeline.partial.csv`.
#[derive(Debug)]
pub(crate) struct IntervalStream {
    path: PathBuf,
    /// The run's id, the first column of every row.
    run_id: String,
    out: Option<::csv::Writer<std::fs::File>>,
    /// The running phase's variant label and store statistics' units.
    label: String,
    units: BTreeMap<String, MetricUnit>,
    warmup: bool,
    /// The first write error (later ones are the same disk).
    error: Option<String>,
}

impl IntervalStream {
    /// A stream into `dir` (created on the first interval) of the run
    /// `run_id` (`RunReport::run_id`).
    pub(crate) fn new(dir: &Path, run_id: String) -> Self {
        IntervalStream {
            path: dir.join(PARTIAL_CSV),
            run_id,
            out: None,
            label: String::new(),
            units: BTreeMap::new(),
            warmup: false,
            error: None,
        }
    }

    /// The first write error, if any.
    pub(crate) fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    /// The final `timeline.csv` is written: the partial file goes.
    pub(crate) fn remove(&mut self) {
        if self.out.take().is_some() {
            let _ = std::fs::remove_file(&self.path);
        }
    }

    fn writer(&mut self) -> std::io::Result<&mut ::csv::Writer<std::fs::File>> {
        if self.out.is_none() {
            let file = std::fs::File::create(&self.path)?;
            let mut w = ::csv::WriterBuilder::new()
                .has_headers(false)
                .from_writer(file);
            w.write_record(HEADER)?;
            self.out = Some(w);
        }
        self.out
            .as_mut()
            .ok_or_else(|| std::io::Error::other("no writer"))
    }

    fn append(&mut self, event: &Event<'_>) -> std::io::Result<()> {
        let Event::Intervals {
            target,
            phase,
            batch,
            ..
        } = event
        else {
            return Ok(());
        };
        let label = std::mem::take(&mut self.label);
        let units = std::mem::take(&mut self.units);
        let run_id = self.run_id.clone();
        let at = (
            run_id.as_str(),
            label.as_str(),
            *target,
            phase.name.as_str(),
        );
        let w = self.writer()?;
        for (ai, i) in &batch.actors {
            let actor = phase.actors.get(*ai).map_or("", |a| a.name.as_str());
            for (metric, value, unit) in interval_metrics(i) {
                w.serialize(row(at, actor, (i.t_s, metric, value, unit)))?;
            }
        }
        for s in &batch.samples {
            let unit = |n: &str| units.get(n).copied().unwrap_or(MetricUnit::Count);
            for (actor, metric, value, unit) in sample_metrics(s, unit) {
                w.serialize(row(at, actor, (s.t_s, metric, value, unit)))?;
            }
        }
        w.flush()?;
        self.label = label;
        self.units = units;
        Ok(())
    }
}

impl Observer for IntervalStream {
    fn event(&mut self, event: &Event<'_>) -> Result<(), ObserverError> {
        match event {
            Event::PhaseStarted {
                label,
                phase,
                statistics,
                ..
            } => {
                self.label = (*label).to_owned();
                self.warmup = phase.warmup;
                self.units = statistics
                    .iter()
                    .map(|d| (d.name.to_owned(), stat_unit(d.unit)))
                    .collect();
            }
            // Warmup phases are left out, as in `timeline.csv`.
            Event::Intervals { .. } if !self.warmup && self.error.is_none() => {
                if let Err(e) = self.append(event) {
                    self.error = Some(format!("{}: {e}", self.path.display()));
                }
            }
            _ => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::report::{IntervalReport, PhaseSample};
    use crate::metrics::rollup::IntervalBatch;

    /// Each batch is on disk once the event returns, in `timeline.csv`'s
    /// columns; `remove` deletes the file.
    #[test]
    fn every_batch_is_on_disk_when_the_event_returns() {
        let dir = tempfile::tempdir().expect("tempdir");
        let variants = crate::scenario::test_variants(
            "version: 1\nname: s\ntargets:\n  m: { memory: {} }\npayloads:\n  p: { size: 8B }\nphases:\n  - name: soak\n    duration: 1s\n    actors:\n      - {name: writer, op: append, payload: p}\n",
        );
        let phase = &variants[0].phases[0];
        let mut stream = IntervalStream::new(dir.path(), "s-20261207T160000Z".to_owned());
        let interval = IntervalReport {
            t_s: 2.0,
            duration_s: 1.0,
            ops: 10,
            records: 10,
            p99_ns: 5_000,
            ..IntervalReport::default()
        };
        let batch = IntervalBatch {
            actors: vec![(0, interval)],
            samples: vec![PhaseSample {
                t_s: 2.0,
                duration_s: 1.0,
                ..PhaseSample::default()
            }],
        };
        let event = Event::Intervals {
            target: "m",
            phase,
            batch: &batch,
        };
        stream.event(&event).expect("event");
        let text = std::fs::read_to_string(dir.path().join(PARTIAL_CSV)).expect("written");
        assert!(text.starts_with("run_id,variant,target,phase,actor,t_s,metric"));
        assert!(
            text.contains("\ns-20261207T160000Z,,m,soak,writer,2,records_per_s,10,"),
            "the run's id joins it to the other files: {text}"
        );
        assert!(text.contains(",m,soak,writer,2,p99,5000,ns"), "{text}");
        assert!(text.contains(",m,soak,process,2,rss,0,"), "{text}");
        stream.event(&event).expect("event");
        let again = std::fs::read_to_string(dir.path().join(PARTIAL_CSV)).expect("written");
        assert!(again.len() > text.len(), "appended");
        stream.remove();
        assert!(!dir.path().join(PARTIAL_CSV).exists());
    }
}
