//! The `wal` store kind: its scenario config ([`WalConfig`]), the checks
//! of that config against the workload (a batch must fit in a segment),
//! its capabilities and how a config becomes [`WalOptions`].

use std::path::Path;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::format::{FRAME_HEADER_LEN, RECORD_HEADER_LEN, SEGMENT_HEADER_LEN};
use super::{RecoveryMode, WalOptions, WalStore, WalSync};
use crate::store::api::{Capabilities, StatDesc, Store, StoreError};
use crate::store::fs::SimFs;
use crate::store::kind::{Problem, StoreKind, Workload};
use crate::units::{ByteSize, HumanDuration, format_duration, format_size};

/// The `wal` store kind: loadline's own segmented write-ahead log.
#[derive(Debug, Clone, Copy, Default)]
pub struct WalKind;

/// When the WAL makes an append durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WalSyncPolicy {
    /// fdatasync before every append is acknowledged.
    Always,
    /// Group commit: one fdatasync acknowledges every append waiting for it; the leader waits up to `sync_interval` for the other writers to join.
    #[default]
    Batch,
    /// Never fsync; data reaches the page cache only (an acknowledged append survives a process crash, not a power loss).
    Never,
}

/// What recovery does with damage it finds when the log is opened (compare
/// RocksDB's `wal_recovery_mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WalRecoveryMode {
    /// End the log at the first damage that lies beyond what was synced (a torn tail, a hole left by writes that reached the disk out of order, and every frame after it: never acknowledged as durable); refuse the open when damage lies inside what was synced or in a sealed segment. What was cut, and why, is reported.
    #[default]
    PointInTime,
    /// Refuse the open for any damage, a torn tail included.
    AbsoluteConsistency,
    /// End the log at the first damage in the last segment wherever it lies, even inside what was synced (acknowledged records may be lost, and the cut is reported): the log opens unless a sealed segment is damaged.
    Salvage,
}

/// Options of the `wal` store.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct WalConfig {
    /// Size at which a segment file is sealed and a new one started; a batch must fit in one segment. Default `64MiB`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(example = &"64MiB")]
    pub segment_size: Option<ByteSize>,
    /// Sync policy: `always`, `batch` (group commit) or `never`. Default `batch`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync: Option<WalSyncPolicy>,
    /// Group-commit window for `sync: batch`: the longest a sync waits for other writers to join (a lone writer syncs at once). Default `1ms`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(example = &"1ms")]
    pub sync_interval: Option<HumanDuration>,
    /// Zero-fill and sync each segment file to `segment_size` ahead of need, in a background thread, so synced appends overwrite written blocks and `fdatasync` flushes data only (no size or extent change to journal). Writes each segment twice; worth it for `sync: always` and `batch`. Default `false`: each new segment is only `fallocate`d to `segment_size` (blocks reserved, unwritten), so appends do not grow the file, and a sync also commits the extent change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preallocate: Option<bool>,
    /// Keep up to this many segment files that trims made dead and reuse them as the next segments (their header rewritten; every frame names its segment, so recovery never reads a recycled file's old records), as RocksDB's `recycle_log_file_num` does. With `preallocate`, a recycled file replaces zero-filling a new one. Only a log that trims has dead segments. Default `0` (dead segments are unlinked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(max = 1024))]
    pub recycle_segments: Option<u32>,
    /// What recovery does with damage on open: `point_in_time` (cut what was never synced, refuse damage to what was), `absolute_consistency` (refuse any damage) or `salvage` (cut at the first damage in the last segment wherever it lies). Default `point_in_time`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery_mode: Option<WalRecoveryMode>,
}

/// Default segment size.
const DEFAULT_SEGMENT: u64 = 64 << 20;
/// Segment sizes a scenario may ask for.
const SEGMENT_RANGE: std::ops::RangeInclusive<u64> = 4096..=(4u64 << 30);

impl WalConfig {
    /// The options a store opened with this config uses.
    pub fn options(&self) -> WalOptions {
        WalOptions {
            segment_size: self.segment_size.map_or(DEFAULT_SEGMENT, |s| s.0),
            sync: match self.sync.unwrap_or_default() {
                WalSyncPolicy::Always => WalSync::Always,
                WalSyncPolicy::Batch => WalSync::Batch,
                WalSyncPolicy::Never => WalSync::Never,
            },
            sync_interval: self.sync_interval.map_or(Duration::from_millis(1), |d| d.0),
            preallocate: self.preallocate.unwrap_or(false),
            recycle_segments: usize::try_from(self.recycle_segments.unwrap_or(0))
                .unwrap_or(usize::MAX),
            recovery: match self.recovery_mode.unwrap_or_default() {
                WalRecoveryMode::PointInTime => RecoveryMode::PointInTime,
                WalRecoveryMode::AbsoluteConsistency => RecoveryMode::AbsoluteConsistency,
                WalRecoveryMode::Salvage => RecoveryMode::Salvage,
            },
        }
    }
}

/// The most bytes of records (bodies, keys and per-record headers) one
/// frame in a segment of `segment_size` can hold.
pub(crate) fn max_batch_bytes(segment_size: u64) -> u64 {
    segment_size.saturating_sub((SEGMENT_HEADER_LEN + FRAME_HEADER_LEN) as u64)
}

/// The capabilities of a WAL opened with `opts`: log only, persistent,
/// durable across a process crash under every sync policy (written bytes
/// are in the page cache before an append returns), power loss simulated.
pub(crate) fn capabilities(opts: &WalOptions) -> Capabilities {
    Capabilities {
        log: true,
        persistent: true,
        crash_durable: true,
        power_loss: true,
        max_batch_bytes: Some(max_batch_bytes(opts.segment_size)),
        ..Capabilities::NONE
    }
}

impl StoreKind for WalKind {
    const NAME: &'static str = "wal";
    const ABOUT: &'static str = "loadline's own segmented write-ahead log.";
    type Config = WalConfig;

    fn check(config: &WalConfig, workload: &Workload) -> Vec<Problem> {
        let mut out = Vec::new();
        let opts = config.options();
        if !SEGMENT_RANGE.contains(&opts.segment_size) {
            out.push(
                Problem::error("segment_size", "`segment_size` is out of range")
                    .expected("between 4KiB and 4GiB")
                    .found(format_size(opts.segment_size)),
            );
        }
        if config.sync_interval.is_some() && opts.sync != WalSync::Batch {
            out.push(Problem::warning(
                "sync_interval",
                "`sync_interval` has no effect unless `sync: batch`",
            ));
        }
        if opts.sync == WalSync::Batch && opts.sync_interval.is_zero() {
            out.push(Problem::error(
                "sync_interval",
                "`sync_interval` must be greater than zero",
            ));
        }
        // A batch is one frame and a frame never spans segments: what does
        // not fit is refused by every append, so refuse it here, before
        // any I/O. Per record the frame holds a 5-byte header and its keys.
        let room = max_batch_bytes(opts.segment_size);
        for a in workload.appends() {
            let need = a.batch.saturating_mul(
                a.max_record_bytes
                    .saturating_add(a.key_bytes + RECORD_HEADER_LEN),
            );
            if need > room {
                out.push(
                    Problem::at_append(
                        a,
                        format!(
                            "a batch of `{}` can be larger than a wal segment holds",
                            a.actor
                        ),
                    )
                    .expected(format!(
                        "batches of at most {} (segment_size {} less headers)",
                        format_size(room),
                        format_size(opts.segment_size)
                    ))
                    .found(format!(
                        "{} records of up to {} each: {}",
                        a.batch,
                        format_size(a.max_record_bytes),
                        format_size(need)
                    ))
                    .help(format!(
                        "raise `segment_size`, or lower `batch` or the record size (phase `{}`)",
                        a.phase
                    )),
                );
            }
        }
        out
    }

    fn capabilities(config: &WalConfig) -> Capabilities {
        capabilities(&config.options())
    }

    fn statistics() -> &'static [StatDesc] {
        super::STATS
    }

    fn ratios() -> &'static [crate::store::RatioStat] {
        super::stats::RATIOS
    }

    fn describe(config: &WalConfig) -> String {
        let o = config.options();
        format!(
            "segment {}, sync {}{}{}{}{}",
            format_size(o.segment_size),
            format!("{:?}", o.sync).to_lowercase(),
            if o.sync == WalSync::Batch {
                format!(
                    " (group commit: a group waits up to {} for writers to join, then one fdatasync)",
                    format_duration(o.sync_interval)
                )
            } else {
                String::new()
            },
            if o.preallocate { ", preallocated" } else { "" },
            if o.recycle_segments > 0 {
                format!(", recycling {} segments", o.recycle_segments)
            } else {
                String::new()
            },
            if o.recovery == RecoveryMode::PointInTime {
                String::new()
            } else {
                format!(", recovery {}", o.recovery.name())
            }
        )
    }

    fn open(config: &WalConfig, dir: &Path) -> Result<Box<dyn Store>, StoreError> {
        Ok(Box::new(WalStore::open(dir, &config.options())?))
    }

    fn open_simulated(
        config: &WalConfig,
        fs: &SimFs,
        dir: &Path,
    ) -> Result<Box<dyn Store>, StoreError> {
        Ok(Box::new(WalStore::open_simulated(
            dir,
            &config.options(),
            fs,
        )?))
    }
}
