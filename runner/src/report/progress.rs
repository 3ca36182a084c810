//! Live progress on stderr while a run goes on, fed by the engine's
//! observer hooks (phase started, a tick a few times a second, phase
//! finished):
//!
//! - on a terminal ([`Mode::Bars`]): one indicatif bar per actor, with
//!   elapsed time and an ETA that follows whichever of the phase's
//!   `records` and `duration` ends it first, and the actor's records/s
//!   and p99 so far;
//! - off a terminal ([`Mode::Lines`], CI logs): for a long phase, a line
//!   every 10 s (elapsed, records, rate, p99, ETA);
//! - in both, one line per phase per target when it ends
//!   ([`console::phase_line`](super::console::phase_line)).
//!
//! It reads the per-worker counters the workers publish (no per-op cost
//! here) and never touches the run's results.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::{console, format};
use crate::metrics::progress::Progress as Slot;
use crate::metrics::report::PhaseReport;
use crate::scenario::model::Phase;

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Nothing (`--quiet`).
    Hidden,
    /// Bars (stderr is a terminal and not under CI).
    Bars,
    /// Plain lines (CI logs, pipes).
    Lines,
}

impl Mode {
    /// The mode for this process: hidden when `quiet`, bars on a terminal
    /// outside CI, lines otherwise.
    pub(crate) fn detect(quiet: bool) -> Mode {
        if quiet {
            Mode::Hidden
        } else if std::env::var_os("CI").is_none()
            && std::io::IsTerminal::is_terminal(&std::io::stderr())
        {
            Mode::Bars
        } else {
            Mode::Lines
        }
    }
}

/// Off a terminal, a phase that runs longer than this gets a line this often.
pub(crate) const LINE_EVERY: Duration = Duration::from_secs(10);

/// What ends a phase: records written (by its writers), a duration, or
/// both — whichever comes first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Goal {
    /// Records of the driving actors.
    pub records: Option<u64>,
    /// Wall-clock limit.
    pub duration: Option<Duration>,
}

impl Goal {
    /// How far the phase is (0..=1) and the time left, after `elapsed`
    /// with `records` done by the driving actors: the larger fraction and
    /// the shorter estimate of the two ends. `None` when neither is set
    /// (or nothing is known yet).
    pub(crate) fn progress(&self, records: u64, elapsed: Duration) -> Option<(f64, Duration)> {
        let by_time = self.duration.filter(|d| !d.is_zero()).map(|d| {
            (
                (elapsed.as_secs_f64() / d.as_secs_f64()).min(1.0),
                d.saturating_sub(elapsed),
            )
        });
        let by_records = self.records.filter(|r| *r > 0).map(|goal| {
            let f = (records as f64 / goal as f64).min(1.0);
            if records == 0 || elapsed.is_zero() {
                return (f, None);
            }
            let per_s = records as f64 / elapsed.as_secs_f64();
            let left = goal.saturating_sub(records) as f64 / per_s;
            (f, Some(Duration::from_secs_f64(left.min(1e9))))
        });
        match (by_time, by_records) {
            (Some(t), Some((f, Some(left)))) => Some((t.0.max(f), t.1.min(left))),
            (Some(t), Some((f, None))) => Some((t.0.max(f), t.1)),
            (Some(t), None) => Some(t),
            (None, Some((f, Some(left)))) => Some((f, left)),
            (None, Some((_, None))) | (None, None) => None,
        }
    }
}

/// The worker slots of one actor.
#[derive(Debug, Clone)]
struct ActorSlots {
    name: String,
    slots: std::ops::Range<usize>,
    driver: bool,
}

/// Records and p99 so far of `slots`.
fn read(all: &[Slot], slots: std::ops::Range<usize>) -> (u64, u64) {
    let slots = all.get(slots).unwrap_or(&[]);
    let records = slots
        .iter()
        .map(|p| p.records.load(Ordering::Relaxed))
        .sum();
    let p99 = slots
        .iter()
        .map(|p| p.p99_ns.load(Ordering::Relaxed))
        .max()
        .unwrap_or(0);
    (records, p99)
}

/// `12 s`, `3 m 05 s`: a short, coarse duration for ETAs and elapsed time.
pub(crate) fn short_duration(d: Duration) -> String {
    let s = d.as_secs_f64().round() as u64;
    if s < 60 {
        format!("{s} s")
    } else if s < 3600 {
        format!("{} m {:02} s", s / 60, s % 60)
    } else {
        format!("{} h {:02} m", s / 3600, s % 3600 / 60)
    }
}

/// What one actor has done so far: name, records, p99 in ns (0: none yet).
pub(crate) type ActorSoFar<'a> = (&'a str, u64, u64);

/// The line printed every [`LINE_EVERY`] of a long phase off a terminal:
/// elapsed time, how far the phase is and the time left (from `driven`,
/// the records of the actors that end it), then records, rate and p99 so
/// far per actor.
pub(crate) fn interval_line(
    label: &str,
    goal: Goal,
    elapsed: Duration,
    driven: u64,
    actors: &[ActorSoFar<'_>],
) -> String {
    let secs = elapsed.as_secs_f64().max(1e-3);
    let mut s = format!("{label}: {} elapsed", short_duration(elapsed));
    if let Some((f, left)) = goal.progress(driven, elapsed) {
        s.push_str(&format!(
            ", {:.0}% done, about {} left",
            f * 100.0,
            short_duration(left)
        ));
    }
    let parts: Vec<String> = actors
        .iter()
        .map(|(name, records, p99)| {
            format!(
                "{name} {} records ({}), p99 {}",
                format::count(*records as f64),
                console::records_rate(*records as f64 / secs),
                if *p99 > 0 {
                    format::duration_ns(*p99 as f64)
                } else {
                    "–".to_owned()
                },
            )
        })
        .collect();
    if !parts.is_empty() {
        s.push_str(" — ");
        s.push_str(&parts.join(" · "));
    }
    s
}

/// The running phase.
struct Running {
    label: String,
    variant: String,
    goal: Goal,
    actors: Vec<ActorSlots>,
    slots: Arc<Vec<Slot>>,
    started: Instant,
    next_line: Instant,
    bars: Vec<ProgressBar>,
}

impl Running {
    fn driver_records(&self) -> u64 {
        let drivers: Vec<&ActorSlots> = self.actors.iter().filter(|a| a.driver).collect();
        let chosen: Vec<&ActorSlots> = if drivers.is_empty() {
            self.actors.iter().collect()
        } else {
            drivers
        };
        chosen
            .iter()
            .map(|a| read(&self.slots, a.slots.clone()).0)
            .sum()
    }
}

/// Where progress lines go: one call per line, without the newline.
pub(crate) type LineSink = Box<dyn FnMut(&str) + Send>;

/// Live progress of a run: see the module docs.
pub(crate) struct LiveProgress {
    mode: Mode,
    every: Duration,
    out: LineSink,
    multi: Option<MultiProgress>,
    running: Option<Running>,
    /// The running phase's trends and how many intervals they have.
    trends: (crate::metrics::live_trends::LiveTrends, usize),
}

impl std::fmt::Debug for LiveProgress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveProgress")
            .field("mode", &self.mode)
            .field("every", &self.every)
            .finish()
    }
}

impl LiveProgress {
    /// Progress in `mode`; lines go to `out` (one call per line, no newline).
    pub(crate) fn new(mode: Mode, out: LineSink) -> Self {
        LiveProgress {
            mode,
            every: LINE_EVERY,
            out,
            multi: None,
            running: None,
            trends: Default::default(),
        }
    }

    /// Intervals of the running phase finished (`actors`: its actor names).
    pub(crate) fn intervals(
        &mut self,
        actors: &[String],
        batch: &crate::metrics::rollup::IntervalBatch,
    ) {
        for (ai, i) in &batch.actors {
            if let Some(name) = actors.get(*ai) {
                self.trends.0.add_interval(name, i);
            }
        }
        for s in &batch.samples {
            self.trends.0.add_sample(s);
            self.trends.1 += 1;
        }
    }

    /// A phase starts on `target` (of matrix variant `variant`); `slots`
    /// are its workers' counters, actor after actor.
    pub(crate) fn phase_started(
        &mut self,
        variant: &str,
        target: &str,
        phase: &Phase,
        slots: Arc<Vec<Slot>>,
    ) {
        self.trends.0.reset();
        self.trends.1 = 0;
        self.phase_started_at(variant, target, phase, slots, Instant::now());
    }

    fn phase_started_at(
        &mut self,
        variant: &str,
        target: &str,
        phase: &Phase,
        slots: Arc<Vec<Slot>>,
        now: Instant,
    ) {
        self.clear_bars();
        let label = if variant.is_empty() {
            format!("{target} · {}", phase.name)
        } else {
            format!("{target} [{variant}] · {}", phase.name)
        };
        // Slots are laid out actor after actor; a crash phase has one slot
        // for all its writers (they run in a child), shown as one bar.
        let mut actors = Vec::new();
        if slots.len() == crate::engine::phase::worker_count(phase) {
            let mut at = 0;
            for a in &phase.actors {
                actors.push(ActorSlots {
                    name: a.name.clone(),
                    slots: at..at + a.workers,
                    driver: crate::engine::phase::is_driver(phase, a),
                });
                at += a.workers;
            }
        } else {
            actors.push(ActorSlots {
                name: "writers".to_owned(),
                slots: 0..slots.len(),
                driver: true,
            });
        }
        let goal = Goal {
            records: phase.records,
            duration: phase.duration,
        };
        let mut bars = Vec::new();
        if self.mode == Mode::Bars {
            let multi = self.multi.get_or_insert_with(|| {
                MultiProgress::with_draw_target(ProgressDrawTarget::stderr())
            });
            let width = actors
                .iter()
                .map(|a| a.name.chars().count())
                .max()
                .unwrap_or(0);
            for a in &actors {
                let bar = multi.add(ProgressBar::new(1000));
                if let Ok(style) =
                    ProgressStyle::with_template("{prefix} [{bar:30}] {elapsed:>4} {msg}")
                {
                    bar.set_style(style.progress_chars("=> "));
                }
                bar.set_prefix(format!("{label} {:width$}", a.name));
                bars.push(bar);
            }
        }
        self.running = Some(Running {
            label,
            variant: variant.to_owned(),
            goal,
            actors,
            slots,
            started: now,
            next_line: now + self.every,
            bars,
        });
    }

    /// Called a few times a second while a phase runs.
    pub(crate) fn tick(&mut self) {
        self.tick_at(Instant::now());
    }

    fn tick_at(&mut self, now: Instant) {
        let Some(run) = &mut self.running else {
            return;
        };
        let elapsed = now.saturating_duration_since(run.started);
        let done = run.driver_records();
        let progress = run.goal.progress(done, elapsed);
        match self.mode {
            Mode::Hidden => {}
            Mode::Bars => {
                let secs = elapsed.as_secs_f64().max(1e-3);
                for (a, bar) in run.actors.iter().zip(&run.bars) {
                    let (records, p99) = read(&run.slots, a.slots.clone());
                    let eta = match progress {
                        Some((f, left)) => {
                            bar.set_position((f * 1000.0) as u64);
                            format!("ETA {}", short_duration(left))
                        }
                        None => "ETA ?".to_owned(),
                    };
                    let p99 = if p99 > 0 {
                        format!(", p99 {}", format::duration_ns(p99 as f64))
                    } else {
                        String::new()
                    };
                    bar.set_message(format!(
                        "{eta} · {}{p99}",
                        console::records_rate(records as f64 / secs)
                    ));
                }
            }
            Mode::Lines => {
                if now >= run.next_line {
                    run.next_line = now + self.every;
                    let so_far: Vec<(&str, u64, u64)> = run
                        .actors
                        .iter()
                        .map(|a| {
                            let (records, p99) = read(&run.slots, a.slots.clone());
                            (a.name.as_str(), records, p99)
                        })
                        .collect();
                    let mut line = interval_line(&run.label, run.goal, elapsed, done, &so_far);
                    line.push_str(&super::progress_trends::suffix(
                        &self.trends.0.values(),
                        self.trends.1,
                    ));
                    (self.out)(&line);
                }
            }
        }
    }

    /// Phase `phase` of `target` ended: the bars go and its line is printed.
    pub(crate) fn phase_finished(&mut self, target: &str, phase: &PhaseReport) {
        self.clear_bars();
        let variant = self.running.take().map(|r| r.variant).unwrap_or_default();
        if self.mode == Mode::Hidden {
            return;
        }
        let line = console::phase_line(&variant, target, phase);
        (self.out)(&line);
    }

    /// The run ended (or the phase failed): the bars go.
    pub(crate) fn finish(&mut self) {
        self.clear_bars();
        self.running = None;
    }

    fn clear_bars(&mut self) {
        if let Some(run) = &mut self.running {
            for bar in run.bars.drain(..) {
                bar.finish_and_clear();
                if let Some(multi) = &self.multi {
                    multi.remove(&bar);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn the_eta_follows_whichever_end_comes_first() {
        let s = Duration::from_secs;
        let both = Goal {
            records: Some(1_000),
            duration: Some(s(100)),
        };
        // 10 s in, 500 of 1,000 records: the records end first, in 10 s.
        assert_eq!(both.progress(500, s(10)), Some((0.5, s(10))));
        // 10 s in, 10 records: the duration ends first, in 90 s.
        let (f, left) = both.progress(10, s(10)).expect("known");
        assert!((f - 0.1).abs() < 1e-9 && left == s(90), "{f} {left:?}");
        let records = Goal {
            records: Some(1_000),
            duration: None,
        };
        assert_eq!(records.progress(0, s(1)), None, "no rate yet");
        assert_eq!(records.progress(250, s(5)), Some((0.25, s(15))));
        let neither = Goal {
            records: None,
            duration: None,
        };
        assert_eq!(neither.progress(10, s(1)), None);
    }

    fn phase(yaml_actors: usize, records: Option<u64>, duration: Option<Duration>) -> Phase {
        let src = crate::scenario::load::Source {
            name: "t.yaml".to_owned(),
            text: "version: 1\nname: t\ntargets:\n  m:\n    memory: {}\npayloads:\n  p:\n    size: 64B\nphases:\n  - name: mixed\n    duration: 1s\n    actors:\n      - { name: writer, op: append, workers: 2, payload: p }\n      - { name: reader, op: read, from: tail }\n".to_owned(),
        };
        let loaded = match crate::scenario::load_source(src, std::path::Path::new("t.yaml"), &[]) {
            Ok(l) => l,
            Err(d) => panic!("{}", d.render()),
        };
        let mut p = loaded.variants[0].phases[0].clone();
        p.actors.truncate(yaml_actors);
        p.records = records;
        p.duration = duration;
        p
    }

    fn lines_sink() -> (Arc<Mutex<Vec<String>>>, LineSink) {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&lines);
        (
            lines,
            Box::new(move |l: &str| sink.lock().expect("lock").push(l.to_owned())),
        )
    }

    #[test]
    fn off_a_terminal_a_long_phase_gets_a_line_every_interval() {
        let (lines, sink) = lines_sink();
        let mut live = LiveProgress::new(Mode::Lines, sink);
        let ph = phase(2, None, Some(Duration::from_secs(60)));
        let slots: Arc<Vec<Slot>> = Arc::new((0..3).map(|_| Slot::default()).collect());
        let t0 = Instant::now();
        live.phase_started_at("", "wal", &ph, Arc::clone(&slots), t0);
        slots[0].records.store(300_000, Ordering::Relaxed);
        slots[1].records.store(200_000, Ordering::Relaxed);
        slots[1].p99_ns.store(1_200_000, Ordering::Relaxed);
        for ms in (200..=25_000).step_by(200) {
            live.tick_at(t0 + Duration::from_millis(ms));
        }
        let got = lines.lock().expect("lock").clone();
        assert_eq!(got.len(), 2, "at 10 s and 20 s: {got:?}");
        assert_eq!(
            got[0],
            "wal · mixed: 10 s elapsed, 17% done, about 50 s left — writer 500,000 records (50.0 k records/s), p99 1.20 ms · reader 0 records (0 records/s), p99 –"
        );
        assert!(
            got[1].starts_with("wal · mixed: 20 s elapsed"),
            "{}",
            got[1]
        );
    }

    #[test]
    fn hidden_progress_prints_nothing_and_bars_print_no_lines() {
        for mode in [Mode::Hidden, Mode::Bars] {
            let (lines, sink) = lines_sink();
            let mut live = LiveProgress::new(mode, sink);
            let ph = phase(1, Some(1_000), None);
            let slots: Arc<Vec<Slot>> = Arc::new((0..2).map(|_| Slot::default()).collect());
            let t0 = Instant::now();
            live.phase_started_at("", "wal", &ph, slots, t0);
            live.tick_at(t0 + Duration::from_secs(30));
            live.finish();
            assert!(lines.lock().expect("lock").is_empty(), "{mode:?}");
        }
    }

    #[test]
    fn a_finished_phase_prints_its_line() {
        let (lines, sink) = lines_sink();
        let mut live = LiveProgress::new(Mode::Lines, sink);
        let report = crate::report::fixture::run_report(1);
        let t = report.variants[0].targets.last().expect("a target");
        live.phase_finished(&t.name, t.phases.last().expect("a phase"));
        let got = lines.lock().expect("lock").clone();
        assert_eq!(got.len(), 1);
        assert!(
            got[0].starts_with("rocksdb-sync · mixed: 10.0 s (ended by duration) — writer "),
            "{got:?}"
        );
    }

    #[test]
    fn short_durations() {
        assert_eq!(short_duration(Duration::from_secs(12)), "12 s");
        assert_eq!(short_duration(Duration::from_secs(185)), "3 m 05 s");
        assert_eq!(short_duration(Duration::from_secs(7260)), "2 h 01 m");
    }
}
