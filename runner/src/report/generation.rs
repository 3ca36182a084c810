//! [`OutputFiles`]: the run directory's files, written together as
//! *generations* on a schedule that keeps the total cost linear in the
//! number of phases.
//!
//! Every file format renders its whole file from the report, so writing
//! all of them after every phase costs O(phases) per phase and O(phases²)
//! per run (2,000 phases took 80 s, 10,000 never finished). The
//! [`Schedule`] writes a generation after a phase when
//!
//! - at least an eighth more phases have finished than the last generation
//!   holds (every phase for the first eight, then every second phase after
//!   16, …): each generation is at least 1/8 bigger than the one before,
//!   so all generations together weigh at most about 9× the final files; or
//! - the time since the last generation is at least 20× what writing it
//!   took: whenever phases are longer than the write (every realistic
//!   scenario), every phase is on disk before the next starts, and writing
//!   never takes more than about 5 % of the run.
//!
//! The last generation is always written when the run ends (complete,
//! failed or stopped by a signal). Each generation replaces all files at
//! once (see `atomic`), so the files always agree with each other.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::atomic::{GenerationWriter, OutputFile};
use super::{FileFormat, ReportError, Reporter};
use crate::metrics::report::RunReport;

/// When to write a generation after a phase (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Schedule {
    /// Phases in the last generation written.
    written_phases: usize,
    /// How long writing it took.
    write_took: Duration,
}

/// A generation is due when the phases finished since the last one are at
/// least this fraction (1/`GROWTH_DIVISOR`) of those it holds.
const GROWTH_DIVISOR: usize = 8;

/// A generation is due when the time since the last one is at least this
/// many times what writing it took.
const TIME_FACTOR: u32 = 20;

impl Schedule {
    /// No generation written yet: the first phase is always written.
    pub(crate) fn new() -> Self {
        Schedule {
            written_phases: 0,
            write_took: Duration::ZERO,
        }
    }

    /// True when a generation should be written now that `phases` phases
    /// have finished, `since_last` after the last generation was written.
    pub(crate) fn due(&self, phases: usize, since_last: Duration) -> bool {
        let new = phases.saturating_sub(self.written_phases);
        if new == 0 {
            return false;
        }
        new >= (self.written_phases / GROWTH_DIVISOR).max(1)
            || since_last >= self.write_took * TIME_FACTOR
    }

    /// Records a generation of `phases` phases that took `took` to write.
    pub(crate) fn written(&mut self, phases: usize, took: Duration) {
        self.written_phases = phases;
        self.write_took = took;
    }
}

impl Default for Schedule {
    fn default() -> Self {
        Self::new()
    }
}

/// Phases finished on every target of every variant of `report`.
fn finished_phases(report: &RunReport) -> usize {
    report
        .variants
        .iter()
        .flat_map(|v| &v.targets)
        .map(|t| t.phases.len())
        .sum()
}

/// What the output files have cost so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct WriteStats {
    /// Generations written.
    pub generations: u64,
    /// Bytes written over all generations.
    pub bytes: u64,
}

/// Every file output of a run directory, written as generations. The one
/// [`Reporter`] for the run directory: a write failure is reported once
/// per generation, not once per file.
pub(crate) struct OutputFiles {
    dir: PathBuf,
    formats: Vec<Box<dyn FileFormat>>,
    schedule: Schedule,
    last_write: Option<Instant>,
    stats: WriteStats,
    writer: GenerationWriter,
}

impl std::fmt::Debug for OutputFiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutputFiles")
            .field("dir", &self.dir)
            .field("formats", &self.formats.len())
            .field("schedule", &self.schedule)
            .field("stats", &self.stats)
            .finish()
    }
}

impl OutputFiles {
    /// Writes `formats` into `dir`; within a generation, files are renamed
    /// in the order the formats give them (put `run.json` last).
    pub(crate) fn new(dir: &Path, formats: Vec<Box<dyn FileFormat>>) -> Self {
        OutputFiles {
            dir: dir.to_path_buf(),
            formats,
            schedule: Schedule::new(),
            last_write: None,
            stats: WriteStats::default(),
            writer: GenerationWriter::new(dir),
        }
    }

    /// True when a generation is due after `finished_phases` phases (what
    /// [`Reporter::phase_finished`] decides), so a caller can assemble the
    /// report only when it will be written.
    pub(crate) fn due(&self, finished_phases: usize) -> bool {
        let since = self.last_write.map_or(Duration::MAX, |t| t.elapsed());
        self.schedule.due(finished_phases, since)
    }

    /// Generations and bytes written so far.
    pub(crate) fn stats(&self) -> WriteStats {
        self.stats
    }

    /// Renders every format and writes them as one generation (`last`:
    /// the run is over).
    fn write(&mut self, report: &RunReport, last: bool) -> Result<(), ReportError> {
        let started = Instant::now();
        let mut files: Vec<OutputFile> = Vec::new();
        for f in &self.formats {
            files.extend(f.render(report)?);
        }
        let bytes = self.writer.write(&files, last)?;
        let now = Instant::now();
        self.schedule
            .written(finished_phases(report), now.duration_since(started));
        self.last_write = Some(now);
        self.stats.generations += 1;
        self.stats.bytes += bytes;
        Ok(())
    }
}

impl Reporter for OutputFiles {
    fn phase_finished(&mut self, report: &RunReport) -> Result<(), ReportError> {
        let since = self.last_write.map_or(Duration::MAX, |t| t.elapsed());
        if self.schedule.due(finished_phases(report), since) {
            self.write(report, false)
        } else {
            Ok(())
        }
    }

    fn run_finished(&mut self, report: &RunReport) -> Result<(), ReportError> {
        self.write(report, true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Guards issue 18 item 16: with phases that are quick next to the
    /// write (no help from the time rule), the bytes written over a run
    /// grow linearly with its phases, not quadratically: at most ~9× the
    /// final size, every phase written while there are few.
    #[test]
    fn generations_cost_a_bounded_multiple_of_the_final_size() {
        let per_phase = 1_000u64;
        let total = |phases: usize| {
            let mut s = Schedule::new();
            let (mut bytes, mut generations) = (0u64, 0u64);
            for n in 1..=phases {
                if s.due(n, Duration::ZERO) {
                    bytes += n as u64 * per_phase;
                    generations += 1;
                    s.written(n, Duration::from_millis(1));
                }
            }
            // The final generation at the end of the run.
            (bytes + phases as u64 * per_phase, generations + 1)
        };
        let (b8, g8) = total(8);
        assert_eq!(g8, 9, "every one of the first 8 phases is written");
        assert_eq!(b8, (1..=8).sum::<u64>() * per_phase + 8 * per_phase);
        for phases in [500usize, 1_000, 2_000, 10_000] {
            let (bytes, _) = total(phases);
            let final_size = phases as u64 * per_phase;
            assert!(
                bytes <= 10 * final_size,
                "{phases} phases: {bytes} bytes for a final {final_size}"
            );
        }
        let (b1k, _) = total(1_000);
        let (b2k, _) = total(2_000);
        assert!(
            (b2k as f64) / (b1k as f64) < 2.5,
            "doubling the phases about doubles the bytes: {b1k} → {b2k}"
        );
    }

    #[test]
    fn slow_phases_are_each_written() {
        let mut s = Schedule::new();
        for n in 1..=100 {
            // Each phase lasts a second; a write takes 10 ms.
            assert!(s.due(n, Duration::from_secs(1)), "phase {n}");
            s.written(n, Duration::from_millis(10));
        }
        assert!(!s.due(100, Duration::from_secs(1)), "nothing new to write");
    }

    #[test]
    fn the_lag_is_at_most_an_eighth_of_what_is_on_disk() {
        let mut s = Schedule::new();
        let mut on_disk = 0;
        for n in 1..=5_000 {
            if s.due(n, Duration::ZERO) {
                s.written(n, Duration::from_millis(1));
                on_disk = n;
            }
            assert!(n - on_disk <= on_disk / 8, "phase {n}: {on_disk} on disk");
        }
    }
}
