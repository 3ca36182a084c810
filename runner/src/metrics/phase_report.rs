//! A phase's part of the [`RunReport`](super::report::RunReport): its
//! metrics, its statistics, and per actor the counts, throughput and
//! latency it measured (what each per-actor metric reads is in
//! [`actor_metric`](super::actor_metric)).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::samples::{IntervalReport, PhaseProcess, PhaseSample};

/// Store and process statistics of one phase.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PhaseStats {
    /// Store statistics addressable as `<phase>.store.<stat>`: for counters
    /// the change over the phase (so `write.store.records` counts this
    /// phase's records only), for levels (gauges and ratios) the value at
    /// the phase's end.
    pub store: BTreeMap<String, f64>,
    /// Process statistics addressable as `<phase>.process.<metric>`
    /// (absent for crash and power-loss phases, whose work is a child's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process: Option<PhaseProcess>,
    /// The same, sampled at every interval boundary of the phase.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub timeline: Vec<PhaseSample>,
}

/// Results of one phase on one target.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct PhaseReport {
    /// Phase name.
    pub name: String,
    /// Excluded from results and assertions.
    pub warmup: bool,
    /// Wall-clock duration, ns.
    pub duration_ns: u64,
    /// Why the phase ended: `records`, `duration`, `interrupted`, `error`, `done`,
    /// or `crash` (crash and power-loss phases).
    pub ended_by: String,
    /// One entry per actor.
    pub actors: Vec<ActorReport>,
    /// Phase-level metrics (e.g. `reopen.duration` in ns, `lost_records`).
    pub metrics: BTreeMap<String, f64>,
    /// Store and process statistics of the phase, and their timeline.
    #[serde(default)]
    pub stats: PhaseStats,
    /// The phase began with the target's files evicted from the page cache
    /// (`cache: cold`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub began_cold: bool,
}

/// Latency statistics in nanoseconds.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct Latency {
    /// Mean, ns.
    pub mean_ns: f64,
    /// Median, ns.
    pub p50_ns: u64,
    /// 90th percentile, ns.
    pub p90_ns: u64,
    /// 99th percentile, ns.
    pub p99_ns: u64,
    /// 99.9th percentile, ns.
    pub p999_ns: u64,
    /// 99.99th percentile, ns.
    pub p9999_ns: u64,
    /// Maximum, ns.
    pub max_ns: u64,
}

/// Results of one actor in one phase on one target.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ActorReport {
    /// Actor name.
    pub name: String,
    /// Operation.
    pub op: String,
    /// Worker threads.
    pub workers: usize,
    /// Target rate (ops/s) for open-loop actors.
    pub rate_per_s: Option<f64>,
    /// Operations completed.
    pub count: u64,
    /// Records appended, read or written.
    pub records: u64,
    /// Body bytes appended or read.
    pub bytes: u64,
    /// Operations that returned an error.
    pub errors: u64,
    /// Open loop: operations that started later than intended.
    pub late: u64,
    /// Gets only: operations that found their key (the rest of `count`
    /// missed it, or failed: `errors`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hits: Option<u64>,
    /// Time the actor ran, ns.
    pub duration_ns: u64,
    /// Records per second.
    pub records_per_s: f64,
    /// Operations (batches) per second.
    pub batches_per_s: f64,
    /// Body bytes per second.
    pub bytes_per_s: f64,
    /// Latency; under a rate, measured from each op's intended start.
    pub latency: Latency,
    /// Open loop only: service time, measured from the actual start.
    pub service: Option<Latency>,
    /// The latency histogram, HDR V2 serialized and base64 encoded, so
    /// percentiles can be recomputed later.
    pub histogram: String,
    /// The service-time histogram, same encoding.
    pub service_histogram: Option<String>,
    /// The first error message, when there were errors.
    pub first_error: Option<String>,
    /// One entry per interval (`--interval`, `interval:`; 1 s by default)
    /// from the phase start: what the actor did in it. The intervals'
    /// `ops`, `records`, `bytes` and `errors` add up exactly to the
    /// actor's totals. Empty for crash phases.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub timeline: Vec<IntervalReport>,
}
