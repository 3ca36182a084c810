//! Checked scenario types: what `validate` produces and the engine runs.
//!
//! Every default is filled in, every reference resolved, every unit
//! converted (bytes, `Duration`, operations per second). Nothing here can be
//! invalid; nothing here knows about YAML or line numbers.

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

pub(crate) use super::spec::{
    KeyDistributionSpec as KeyDistribution, KeyStyleSpec as KeyStyle, OpSpec as Op,
    ReadFromSpec as ReadFrom, RestartSpec as RestartKind,
};
use crate::assertions::Assertion;
/// A target's store kind with its checked config (the kind owns both).
pub(crate) use crate::store::TargetKind;
pub(crate) use crate::workload::SizeDist;

/// One runnable variant of a scenario (a scenario without a matrix has one).
#[derive(Debug, Clone, Serialize)]
pub struct Scenario {
    /// The scenario file.
    pub file: PathBuf,
    /// Scenario name.
    pub name: String,
    /// Scenario description.
    pub description: Option<String>,
    /// The seed given in the file or with `--seed`; `None` means draw one.
    pub seed: Option<u64>,
    /// Rounds (`repeat:`); `None` means one, unless `--repeat` says otherwise.
    pub repeat: Option<u32>,
    /// Which matrix combination this is.
    pub variant: Variant,
    /// The stores under test, in file order.
    pub targets: Vec<Target>,
    /// Payloads, in file order.
    pub payloads: Vec<Payload>,
    /// Phases, in order.
    pub phases: Vec<Phase>,
    /// Assertions, checked at validation time.
    pub assertions: Vec<Assertion>,
    /// What a comparison of two runs judges (`gate:` or its defaults).
    pub gate: crate::compare::Gate,
    /// The resolved document (matrix values and `--set` overrides applied),
    /// as recorded in reports.
    pub resolved: serde_json::Value,
}

/// A matrix combination.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Variant {
    /// Short label used in every output, e.g. `size=1KiB,batch=10`; empty
    /// when the scenario has no matrix.
    pub label: String,
    /// The matrix key and value of each dimension.
    pub settings: Vec<(String, serde_json::Value)>,
}

/// A store under test.
#[derive(Debug, Clone, Serialize)]
pub struct Target {
    /// Name from the file.
    pub name: String,
    /// Kind and options.
    pub kind: TargetKind,
}

/// A payload.
#[derive(Debug, Clone, Serialize)]
pub struct Payload {
    /// Name from the file.
    pub name: String,
    /// Generated or recorded.
    pub source: PayloadSource,
}

/// Where a payload's bytes come from.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PayloadSource {
    /// Generated from the seed before each phase.
    Generated {
        /// Record sizes.
        size: SizeDist,
        /// Random fraction of each body.
        entropy: f64,
        /// Keys per record.
        keys: KeyStyle,
        /// Batches pre-generated.
        pool: u64,
    },
    /// A recorded payload file (path resolved against the scenario's directory).
    File {
        /// The file.
        path: PathBuf,
        /// Records per batch the file was recorded with.
        batch: usize,
    },
}

/// A phase.
#[derive(Debug, Clone, Serialize)]
pub struct Phase {
    /// Unique name.
    pub name: String,
    /// Excluded from results and assertions.
    pub warmup: bool,
    /// Records the driving actors process in total.
    pub records: Option<u64>,
    /// Wall-clock limit.
    pub duration: Option<Duration>,
    /// Timeline interval (the phase's `interval`, else the scenario's, else 1 s).
    pub interval: Duration,
    /// The targets the phase runs on; empty means every target.
    pub targets: Vec<String>,
    /// Actors, run concurrently.
    pub actors: Vec<Actor>,
    /// Restart after the actors.
    pub restart: Option<Restart>,
    /// Start with the target's files evicted from the page cache (`cache: cold`).
    pub cold: bool,
    /// Wait for the store's background work before measuring (`settle`).
    pub settle: Option<Settle>,
}

/// A phase's `settle`: the longest wait for a quiescent store, and what a
/// timeout does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Settle {
    /// The longest wait (`0s`: ask once).
    pub timeout: Duration,
    /// Stop the run when the timeout passes (`on_timeout: fail`); else
    /// measure anyway and report `settle.timed_out`.
    pub fail_on_timeout: bool,
}

/// The timeout of `settle: {}`: long enough for a compaction backlog of a
/// few GiB on a disk of a few hundred MB/s, short enough that a store that
/// never settles (automatic compactions off) fails a CI job in minutes.
pub(crate) const DEFAULT_SETTLE_TIMEOUT: Duration = Duration::from_secs(300);

impl From<&crate::scenario::spec::SettleSpec> for Settle {
    fn from(s: &crate::scenario::spec::SettleSpec) -> Self {
        Settle {
            timeout: s.timeout.map_or(DEFAULT_SETTLE_TIMEOUT, |d| d.0),
            fail_on_timeout: s.on_timeout != Some(crate::scenario::spec::OnTimeoutSpec::Measure),
        }
    }
}

impl Phase {
    /// True when the phase runs on the target called `target`.
    pub fn runs_on(&self, target: &str) -> bool {
        self.targets.is_empty() || self.targets.iter().any(|t| t == target)
    }
}

/// The timeline interval when neither the scenario nor the phase names one.
pub(crate) const DEFAULT_INTERVAL: Duration = Duration::from_secs(1);

/// The most intervals a long phase's default timeline has: 600 points fit
/// a slope well and a chart's width, and keep a soak's in-memory timeline
/// (one compact report per interval and actor) and `timeline.csv` small.
pub(crate) const LONG_PHASE_POINTS: u64 = 600;

/// The default timeline interval of a phase lasting `duration`:
/// [`DEFAULT_INTERVAL`] up to 10 minutes, then whole seconds giving at
/// most [`LONG_PHASE_POINTS`] intervals (3 s for 30 minutes, 6 s for an
/// hour, 12 s for two). An `interval:` or `--interval` overrides it.
pub(crate) fn default_interval(duration: Option<Duration>) -> Duration {
    match duration {
        Some(d) if d > DEFAULT_INTERVAL * LONG_PHASE_POINTS as u32 => {
            Duration::from_secs(d.as_secs().div_ceil(LONG_PHASE_POINTS))
        }
        _ => DEFAULT_INTERVAL,
    }
}

/// A restart step.
#[derive(Debug, Clone, Serialize)]
pub struct Restart {
    /// Clean, crash or power loss.
    pub kind: RestartKind,
    /// Crash window.
    pub after: Option<(Duration, Duration)>,
    /// Crash after this many acknowledged records.
    pub after_records: Option<u64>,
    /// Verify acknowledged records.
    pub verify: bool,
    /// Crash cycles.
    pub repeat: u64,
    /// Fill before restarting: bytes and payload name.
    pub prepare: Option<(u64, String)>,
}

/// An actor: workers doing one op, with exactly that op's options.
#[derive(Debug, Clone, Serialize)]
pub struct Actor {
    /// Name in metric paths.
    pub name: String,
    /// Worker threads.
    pub workers: usize,
    /// Operations per second for the whole actor (open loop); always
    /// `None` for the periodic ops, which run `every` period instead.
    pub rate: Option<f64>,
    /// Requests each worker keeps in flight (1: one operation at a time).
    pub in_flight: usize,
    /// The op and its options.
    pub plan: OpPlan,
}

impl Actor {
    /// True for ops that write (append, put, delete): they drive `records`.
    pub fn is_writer(&self) -> bool {
        match self.plan {
            OpPlan::Append { .. } | OpPlan::Put { .. } | OpPlan::Delete { .. } => true,
            OpPlan::Read { .. }
            | OpPlan::Trim { .. }
            | OpPlan::Sync { .. }
            | OpPlan::Get { .. }
            | OpPlan::Scan { .. } => false,
        }
    }

    /// True for ops that read (read, get, scan).
    pub fn is_reader(&self) -> bool {
        match self.plan {
            OpPlan::Read { .. } | OpPlan::Get { .. } | OpPlan::Scan { .. } => true,
            OpPlan::Append { .. }
            | OpPlan::Trim { .. }
            | OpPlan::Sync { .. }
            | OpPlan::Put { .. }
            | OpPlan::Delete { .. } => false,
        }
    }

    /// True for periodic background ops (trim, sync).
    pub fn is_periodic(&self) -> bool {
        match self.plan {
            OpPlan::Trim { .. } | OpPlan::Sync { .. } => true,
            OpPlan::Append { .. }
            | OpPlan::Read { .. }
            | OpPlan::Put { .. }
            | OpPlan::Get { .. }
            | OpPlan::Delete { .. }
            | OpPlan::Scan { .. } => false,
        }
    }
}

/// What an actor does: one variant per op, holding exactly the options
/// that op has, filled in and checked by validation — so the engine
/// matches it exhaustively and never meets a writer without a payload or
/// a key-value op without keys.
///
/// Adding an op is one variant here (and in [`Op`], its name in scenario
/// files) plus the arms the compiler then asks for: validation builds it
/// (`scenario/validate/actors.rs`), the engine runs it
/// (`engine/worker.rs`, `engine/phase.rs`), `explain` describes it. See
/// ARCHITECTURE.md, "Where to add an op".
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OpPlan {
    /// Append batches of records to the log.
    Append {
        /// Streams spread over.
        streams: u64,
        /// Records per append.
        batch: usize,
        /// Payload name.
        payload: String,
    },
    /// Read the log.
    Read {
        /// Streams spread over.
        streams: u64,
        /// Where a reader starts.
        from: ReadFrom,
        /// Records behind the tail a tail reader starts.
        lag: u64,
        /// Bytes per read.
        max_bytes: u64,
    },
    /// Trim the log every period.
    Trim {
        /// Streams spread over.
        streams: u64,
        /// Period.
        every: Duration,
        /// Records kept behind the tail.
        keep: u64,
    },
    /// Sync the store every period.
    Sync {
        /// Period.
        every: Duration,
    },
    /// Put key-value pairs.
    Put {
        /// Pairs per put (one `put_batch` when above 1).
        batch: usize,
        /// Payload name (the values).
        payload: String,
        /// The keys.
        keys: KeyConfig,
    },
    /// Get keys.
    Get {
        /// The keys.
        keys: KeyConfig,
    },
    /// Delete keys.
    Delete {
        /// Keys per delete (one `delete_batch` when above 1).
        batch: usize,
        /// The keys.
        keys: KeyConfig,
    },
    /// Scan ranges from a key.
    Scan {
        /// The start keys.
        keys: KeyConfig,
        /// Pairs per scan.
        scan_length: u64,
    },
}

impl OpPlan {
    /// The op's name, as written in scenario files and reports.
    pub fn name(&self) -> &'static str {
        match self {
            OpPlan::Append { .. } => "append",
            OpPlan::Read { .. } => "read",
            OpPlan::Trim { .. } => "trim",
            OpPlan::Sync { .. } => "sync",
            OpPlan::Put { .. } => "put",
            OpPlan::Get { .. } => "get",
            OpPlan::Delete { .. } => "delete",
            OpPlan::Scan { .. } => "scan",
        }
    }

    /// Log streams the op spreads over (1 for ops without streams).
    pub fn streams(&self) -> u64 {
        match self {
            OpPlan::Append { streams, .. }
            | OpPlan::Read { streams, .. }
            | OpPlan::Trim { streams, .. } => *streams,
            OpPlan::Sync { .. }
            | OpPlan::Put { .. }
            | OpPlan::Get { .. }
            | OpPlan::Delete { .. }
            | OpPlan::Scan { .. } => 1,
        }
    }

    /// Records (or keys) one operation handles: the batch of a batching
    /// writer, 1 otherwise.
    pub fn batch(&self) -> usize {
        match self {
            OpPlan::Append { batch, .. }
            | OpPlan::Put { batch, .. }
            | OpPlan::Delete { batch, .. } => *batch,
            OpPlan::Read { .. }
            | OpPlan::Trim { .. }
            | OpPlan::Sync { .. }
            | OpPlan::Get { .. }
            | OpPlan::Scan { .. } => 1,
        }
    }

    /// The payload a writer's records come from, with the batch size its
    /// pool is generated in; `None` for ops without a payload.
    pub fn payload(&self) -> Option<(&str, usize)> {
        match self {
            OpPlan::Append { payload, batch, .. } | OpPlan::Put { payload, batch, .. } => {
                Some((payload, *batch))
            }
            OpPlan::Read { .. }
            | OpPlan::Trim { .. }
            | OpPlan::Sync { .. }
            | OpPlan::Get { .. }
            | OpPlan::Delete { .. }
            | OpPlan::Scan { .. } => None,
        }
    }
}

/// Keys of key-value actors.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct KeyConfig {
    /// Distinct keys.
    pub space: u64,
    /// Bytes per key.
    pub length: usize,
    /// Distribution.
    pub distribution: KeyDistribution,
    /// Zipfian exponent.
    pub theta: f64,
    /// Hotspot key fraction.
    pub hot_keys: f64,
    /// Hotspot op fraction.
    pub hot_ops: f64,
}

impl Default for KeyConfig {
    fn default() -> Self {
        KeyConfig {
            space: 1_000_000,
            length: 16,
            distribution: KeyDistribution::Uniform,
            theta: 0.99,
            hot_keys: 0.2,
            hot_ops: 0.8,
        }
    }
}

impl Scenario {
    /// The payload called `name`.
    pub fn payload(&self, name: &str) -> Option<&Payload> {
        self.payloads.iter().find(|p| p.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Short phases keep 1 s; long ones get whole seconds, at most
    /// `LONG_PHASE_POINTS` intervals.
    #[test]
    fn long_phases_default_to_coarser_intervals() {
        let min = |m: u64| Some(Duration::from_secs(m * 60));
        assert_eq!(default_interval(None), DEFAULT_INTERVAL);
        assert_eq!(default_interval(min(10)), DEFAULT_INTERVAL);
        assert_eq!(default_interval(min(30)), Duration::from_secs(3));
        assert_eq!(default_interval(min(60)), Duration::from_secs(6));
        assert_eq!(default_interval(min(120)), Duration::from_secs(12));
        assert_eq!(
            default_interval(Some(Duration::from_secs(601))),
            Duration::from_secs(2)
        );
    }
}
