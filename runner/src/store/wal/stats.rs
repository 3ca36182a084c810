//! The WAL's statistics: the list it reports under `target.store.*`, the
//! counters behind them, and the snapshot the engine reads after a phase.
//!
//! These are the store's *own* counts (fsyncs, group-commit sizes, segment
//! life cycle, recovery work), which the engine cannot observe from outside;
//! per-operation latency is timed by the engine, never here.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::store::api::{StatDesc, StatUnit, StoreStats};

/// The WAL's ratio, recomputed by loadline from its counters over each
/// phase and a target's measured phases (see `RatioStat`).
pub(crate) const RATIOS: &[crate::store::RatioStat] = &[crate::store::RatioStat {
    name: "group_commit_records",
    numerator: &["commit_records"],
    denominator: &["commit_fsyncs"],
}];

/// Statistics the WAL reports under `target.store.*`.
pub(crate) const STATS: &[StatDesc] = &[
    StatDesc {
        name: "appends",
        unit: StatUnit::Count,
        help: "append calls written (batches)",
    },
    StatDesc {
        name: "records",
        unit: StatUnit::Count,
        help: "records written",
    },
    StatDesc {
        name: "bytes",
        unit: StatUnit::Bytes,
        help: "record body bytes written",
    },
    StatDesc {
        name: "bytes_written",
        unit: StatUnit::Bytes,
        help: "bytes written to segment files (frames and headers)",
    },
    StatDesc {
        name: "fsyncs",
        unit: StatUnit::Count,
        help: "fdatasync and directory fsync calls",
    },
    StatDesc {
        name: "fsync_nanos",
        unit: StatUnit::Nanos,
        help: "time spent in fsync calls",
    },
    StatDesc {
        name: "commit_fsyncs",
        unit: StatUnit::Count,
        help: "fsyncs that made appends durable (group commits)",
    },
    StatDesc {
        name: "commit_records",
        unit: StatUnit::Count,
        help: "records those commit fsyncs made durable",
    },
    StatDesc {
        name: "group_commit_records",
        unit: StatUnit::Ratio,
        help: "records made durable per commit fsync (mean): commit_records / commit_fsyncs",
    },
    StatDesc {
        name: "group_commits_full",
        unit: StatUnit::Count,
        help: "commit fsyncs (sync: batch) whose group filled — every writing session waiting — before sync_interval ended: writers, not the interval, set their size",
    },
    StatDesc {
        name: "segments_created",
        unit: StatUnit::Count,
        help: "segment files created",
    },
    StatDesc {
        name: "segments_sealed",
        unit: StatUnit::Count,
        help: "segments sealed (full, synced, mapped)",
    },
    StatDesc {
        name: "segments_deleted",
        unit: StatUnit::Count,
        help: "segments removed from the log by trims (unlinked, or kept for reuse with recycle_segments)",
    },
    StatDesc {
        name: "segments_preallocated",
        unit: StatUnit::Count,
        help: "segment files zero-filled and synced ahead of need (preallocate)",
    },
    StatDesc {
        name: "segments_recycled",
        unit: StatUnit::Count,
        help: "segments made out of a recycled file instead of a new or zero-filled one (recycle_segments)",
    },
    StatDesc {
        name: "preallocate_waits",
        unit: StatUnit::Count,
        help: "segment rolls that waited for the preallocation thread",
    },
    StatDesc {
        name: "recovery_bytes_scanned",
        unit: StatUnit::Bytes,
        help: "segment bytes scanned by recovery on open",
    },
    StatDesc {
        name: "recovery_records",
        unit: StatUnit::Count,
        help: "records found by recovery on open",
    },
    StatDesc {
        name: "recovery_dropped_bytes",
        unit: StatUnit::Bytes,
        help: "bytes recovery cut from the end of the log: a torn tail, or damage beyond the durable extent and the unacknowledged frames after it (trailing zeros not counted)",
    },
    StatDesc {
        name: "recovery_cut_frames",
        unit: StatUnit::Count,
        help: "valid frames recovery cut because they followed damage beyond the durable extent (never acknowledged as durable)",
    },
    StatDesc {
        name: "recovery_cut_records",
        unit: StatUnit::Count,
        help: "records in the frames recovery cut (recovery_cut_frames)",
    },
    StatDesc {
        name: "recovery_nanos",
        unit: StatUnit::Nanos,
        help: "time recovery took on open",
    },
];

/// Counters updated outside the writer's lock.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) fsyncs: AtomicU64,
    pub(crate) fsync_nanos: AtomicU64,
    pub(crate) commit_fsyncs: AtomicU64,
    pub(crate) commit_records: AtomicU64,
    /// Records written when the last commit fsync captured the log end.
    pub(crate) committed_records: AtomicU64,
    /// Commit fsyncs whose group filled before the window ended.
    pub(crate) groups_full: AtomicU64,
    pub(crate) segments_created: AtomicU64,
    pub(crate) segments_sealed: AtomicU64,
    pub(crate) segments_deleted: AtomicU64,
}

impl Counters {
    /// Adds one (file or directory) fsync that took `nanos`.
    pub(crate) fn fsync(&self, nanos: u64) {
        self.fsyncs.fetch_add(1, Ordering::Relaxed);
        self.fsync_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    /// Adds one commit fsync that made the first `records_written` records
    /// of the log durable.
    pub(crate) fn commit(&self, records_written: u64) {
        let before = self
            .committed_records
            .fetch_max(records_written, Ordering::Relaxed);
        self.commit_fsyncs.fetch_add(1, Ordering::Relaxed);
        self.commit_records
            .fetch_add(records_written.saturating_sub(before), Ordering::Relaxed);
    }
}

/// Counters kept under the writer's lock (no shared atomics on the hot path).
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct WriteCounts {
    pub(crate) appends: u64,
    pub(crate) records: u64,
    pub(crate) bytes: u64,
    pub(crate) bytes_written: u64,
}

/// What recovery found on open.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RecoveryStats {
    pub(crate) bytes_scanned: u64,
    pub(crate) records: u64,
    pub(crate) dropped_bytes: u64,
    /// Valid frames after the damage, cut with it.
    pub(crate) cut_frames: u64,
    /// Records in those frames.
    pub(crate) cut_records: u64,
    pub(crate) nanos: u64,
}

/// A snapshot with every name in [`STATS`].
/// `prepared`: (segments preallocated, rolls that waited for one);
/// `recycled`: segments made out of recycled files; `note`: what recovery
/// cut and why (the report's appendix).
pub(crate) fn snapshot(
    c: &Counters,
    w: WriteCounts,
    r: RecoveryStats,
    prepared: (u64, u64),
    recycled: u64,
    note: Option<&str>,
) -> StoreStats {
    let get = |a: &AtomicU64| a.load(Ordering::Relaxed) as f64;
    let commits = get(&c.commit_fsyncs);
    let values: BTreeMap<String, f64> = [
        ("appends", w.appends as f64),
        ("records", w.records as f64),
        ("bytes", w.bytes as f64),
        ("bytes_written", w.bytes_written as f64),
        ("fsyncs", get(&c.fsyncs)),
        ("fsync_nanos", get(&c.fsync_nanos)),
        ("commit_fsyncs", commits),
        ("commit_records", get(&c.commit_records)),
        (
            "group_commit_records",
            if commits > 0.0 {
                get(&c.commit_records) / commits
            } else {
                0.0
            },
        ),
        ("group_commits_full", get(&c.groups_full)),
        ("segments_created", get(&c.segments_created)),
        ("segments_sealed", get(&c.segments_sealed)),
        ("segments_deleted", get(&c.segments_deleted)),
        ("segments_preallocated", prepared.0 as f64),
        ("preallocate_waits", prepared.1 as f64),
        ("segments_recycled", recycled as f64),
        ("recovery_bytes_scanned", r.bytes_scanned as f64),
        ("recovery_records", r.records as f64),
        ("recovery_dropped_bytes", r.dropped_bytes as f64),
        ("recovery_cut_frames", r.cut_frames as f64),
        ("recovery_cut_records", r.cut_records as f64),
        ("recovery_nanos", r.nanos as f64),
    ]
    .into_iter()
    // Without a commit fsync (`sync: never`) there is no group commit to
    // measure: the statistic is absent (not applicable), not 0.
    .filter(|(k, _)| commits > 0.0 || !matches!(*k, "group_commit_records" | "group_commits_full"))
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    StoreStats {
        values,
        appendix: note.map(str::to_owned),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_names_match_the_stat_list() {
        let c = Counters::default();
        c.commit(1);
        let s = snapshot(
            &c,
            WriteCounts::default(),
            RecoveryStats::default(),
            (0, 0),
            0,
            None,
        );
        let mut want: Vec<&str> = STATS.iter().map(|d| d.name).collect();
        want.sort_unstable();
        let got: Vec<String> = s.values.into_keys().collect();
        assert_eq!(got, want);
    }

    #[test]
    fn group_commit_records_is_records_per_commit_fsync() {
        let c = Counters::default();
        c.commit(10);
        c.commit(30);
        c.commit(30);
        let s = snapshot(
            &c,
            WriteCounts::default(),
            RecoveryStats::default(),
            (0, 0),
            0,
            None,
        );
        assert_eq!(s.values["group_commit_records"], 10.0);
    }

    /// Guards issue 16: `group_commit_records` was reported (as 0) for
    /// `sync: never`, which makes no commit fsync; it is now absent, so the
    /// report shows it as not applicable on such a target.
    #[test]
    fn group_commit_records_is_absent_without_commit_fsyncs() {
        let s = snapshot(
            &Counters::default(),
            WriteCounts::default(),
            RecoveryStats::default(),
            (0, 0),
            0,
            None,
        );
        assert!(!s.values.contains_key("group_commit_records"));
        assert!(!s.values.contains_key("group_commits_full"));
        assert!(s.values.contains_key("fsyncs"));
    }
}
