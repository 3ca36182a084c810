//! What a phase's timeline holds per interval: an actor's work
//! ([`IntervalReport`]) and the store and process statistics sampled at
//! each interval's end ([`PhaseSample`], [`PhaseProcess`],
//! [`MemoryStats`]). Part of `run.json`; re-exported by `report`.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// jemalloc's statistics at one moment (`stats.*` after an `epoch`
/// refresh). jemalloc allocates for the whole process, RocksDB's C++
/// included, so these are the process's heap. Targets run one after
/// another, each store closed before the next opens, so at a phase's end
/// they describe that target's store and the run's shared payload pools.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MemoryStats {
    /// Bytes the process has allocated and not freed (`stats.allocated`).
    pub allocated_bytes: u64,
    /// Bytes in active pages: allocated plus page-granular fragmentation (`stats.active`).
    pub active_bytes: u64,
    /// Bytes in physically resident pages jemalloc maps, metadata included (`stats.resident`).
    pub resident_bytes: u64,
    /// Bytes in chunks jemalloc has mapped and in use (`stats.mapped`).
    pub mapped_bytes: u64,
    /// Bytes of virtual memory jemalloc keeps mapped but returned to the OS (`stats.retained`).
    pub retained_bytes: u64,
}

/// Process statistics of one phase (or one interval of it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PhaseProcess {
    /// User CPU time of the whole process over the phase (or interval), ns
    /// (`/proc/self/stat`, 10 ms resolution).
    pub cpu_user_ns: u64,
    /// System CPU time over the phase (or interval), ns.
    pub cpu_sys_ns: u64,
    /// (user + system CPU) / wall time: cores kept busy on average (2.0 is
    /// two cores fully used).
    pub cpu_utilisation: f64,
    /// Resident set size at the end, bytes (`VmRSS`).
    pub rss_bytes: u64,
    /// jemalloc's statistics at the end (absent without the `jemalloc` feature).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<MemoryStats>,
}

impl PhaseProcess {
    /// The metric called `name` (`cpu_user`, `rss`, `allocated` …), as in
    /// [`PROCESS_METRICS`](super::catalog::PROCESS_METRICS).
    pub fn metric(&self, name: &str) -> Option<f64> {
        let m = self.memory;
        Some(match name {
            "cpu_user" => self.cpu_user_ns as f64,
            "cpu_sys" => self.cpu_sys_ns as f64,
            "cpu_utilisation" => self.cpu_utilisation,
            "rss" => self.rss_bytes as f64,
            other => return m.and_then(|m| m.metric(other)),
        })
    }
}

impl MemoryStats {
    /// The jemalloc statistic called `name` (`allocated`, `active`,
    /// `resident`, `mapped`, `retained`), bytes.
    pub fn metric(&self, name: &str) -> Option<f64> {
        Some(match name {
            "allocated" => self.allocated_bytes,
            "active" => self.active_bytes,
            "resident" => self.resident_bytes,
            "mapped" => self.mapped_bytes,
            "retained" => self.retained_bytes,
            _ => return None,
        } as f64)
    }
}

/// Store and process statistics sampled at the end of one interval of a
/// phase (a row group of `timeline.csv`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PhaseSample {
    /// Start of the interval, seconds from the phase start.
    pub t_s: f64,
    /// Length of the interval, seconds (the last one is usually shorter).
    pub duration_s: f64,
    /// Store statistics: for counters the change over the interval, for
    /// levels (gauges such as `files_l0`, and ratios) the value when sampled.
    pub store: BTreeMap<String, f64>,
    /// Process CPU over the interval, RSS and jemalloc at its end.
    pub process: PhaseProcess,
}

/// What one actor did in one interval of a phase (a row group of
/// `timeline.csv`, one histogram of its `.hlog`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct IntervalReport {
    /// Start of the interval, seconds from the phase start (its workers'
    /// common start line).
    pub t_s: f64,
    /// Length of the interval, seconds (the last one is usually shorter):
    /// rates are `records / duration_s`.
    pub duration_s: f64,
    /// Operations completed in the interval.
    pub ops: u64,
    /// Records processed in the interval.
    pub records: u64,
    /// Body bytes processed in the interval.
    pub bytes: u64,
    /// Operations that failed in the interval.
    pub errors: u64,
    /// Median latency of the interval's operations, ns (0 when none).
    pub p50_ns: u64,
    /// 99th percentile latency, ns.
    pub p99_ns: u64,
    /// Maximum latency, ns.
    pub max_ns: u64,
    /// The interval's latency histogram, compressed HDR V2 in base64.
    pub histogram: String,
}
