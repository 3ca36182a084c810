//! The one serializable [`RunReport`]: everything a run measured, computed
//! once and read by every output (CSV, JSON, JUnit, Markdown, console).
//!
//! Owns the report's shape, units in field names (`p99_ns`,
//! `bytes_per_s`), metric lookup by path for assertions, and the flat rows
//! of `results.csv`. It does not measure (see `recorder`) or format (see
//! `report/`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::metrics::verdict::AssertionResult;

pub(crate) use super::phase_report::{ActorReport, Latency, PhaseReport, PhaseStats};
pub(crate) use super::samples::{IntervalReport, MemoryStats, PhaseProcess, PhaseSample};
pub(crate) use super::target_report::{ProcessStats, Spread, TargetReport};

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Still running (a report written after a phase).
    Running,
    /// Every phase ran.
    Complete,
    /// Stopped by Ctrl-C; finished phases are kept.
    Interrupted,
    /// Stopped by a store or I/O error; finished phases are kept.
    Failed,
}

/// The version of the `run.json` format this build writes and reads.
/// Bumped on any change a reader must know about; `schemas/run.schema.json`
/// is generated from these types.
pub(crate) const RUN_FORMAT_VERSION: u32 = 1;

/// Where `loadline schema --write` puts the schema of `run.json`.
pub const RUN_SCHEMA_PATH: &str = "schemas/run.schema.json";

/// `run.json` could not be read back.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a `run.json` of a known shape.
    #[error("{}: not a loadline run.json: {source}", path.display())]
    Parse {
        /// The file.
        path: std::path::PathBuf,
        /// serde_json's error, with line and column.
        #[source]
        source: serde_json::Error,
    },
    /// Written by a loadline with another format version.
    #[error(
        "{}: run.json format_version {found}; this loadline reads version {RUN_FORMAT_VERSION}",
        path.display()
    )]
    Version {
        /// The file.
        path: std::path::PathBuf,
        /// The version it declares.
        found: u64,
    },
}

/// The whole run: what `run.json` holds, written by every run and read
/// back by [`RunReport::read`].
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[schemars(title = "loadline run.json")]
pub struct RunReport {
    /// Version of this format (`RUN_FORMAT_VERSION`).
    pub format_version: u32,
    /// loadline version and git revision.
    pub loadline_version: String,
    /// Scenario name.
    pub scenario: String,
    /// Scenario description.
    pub description: Option<String>,
    /// The scenario file.
    pub file: String,
    /// The scenario file's content hash and git commit (absent in reports
    /// written before loadline recorded them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<ScenarioSource>,
    /// The seed every random stream derives from.
    pub seed: u64,
    /// UTC start time, RFC 3339.
    pub started_at: String,
    /// UTC end time, RFC 3339 (absent while running).
    pub finished_at: Option<String>,
    /// How the run ended.
    pub status: RunStatus,
    /// The error that stopped the run, if any.
    pub error: Option<String>,
    /// The signal that stopped an interrupted run: `SIGINT`, `SIGTERM` or
    /// `SIGHUP` (`null` otherwise).
    pub stopped_by: Option<String>,
    /// Where and on what it ran.
    pub environment: Environment,
    /// One entry per matrix variant (one when there is no matrix).
    pub variants: Vec<VariantReport>,
    /// `--repeat N` (or `repeat:`) with N > 1: how many rounds were planned
    /// and ran, and the target order of each. Every metric's per-round
    /// values are in its target's `spread`; the metrics themselves are the
    /// medians. Absent for a single round.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeat: Option<RepeatInfo>,
    /// `--shard I/N`: which part of the (variant × target) cells this run
    /// holds. Absent for an unsharded run (and for the output of `merge`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<ShardInfo>,
    /// `--phase` filter the run was started with (empty: every phase), so
    /// `merge` judges assertions as the run did.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub only_phases: Vec<String>,
    /// `--target` filter the run was started with (empty: every target).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub only_targets: Vec<String>,
    /// `loadline merge`: the run directories this report was merged from,
    /// in the order given.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub merged_from: Vec<MergedInput>,
}

/// Where the scenario came from: the file's content hash, and the git
/// commit of the repository holding it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ScenarioSource {
    /// SHA-256 of the scenario file's bytes as read (before `--set`
    /// overrides and profiles), lowercase hex: what `sha256sum FILE` prints.
    pub sha256: String,
    /// The commit checked out in the git repository holding the file
    /// (`git rev-parse HEAD`); absent outside a checkout or without `git`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_commit: Option<String>,
    /// True when the file differs from that commit (modified or not
    /// tracked), so `git_commit` alone does not reproduce it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_modified: Option<bool>,
}

/// Rounds of a repeated run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RepeatInfo {
    /// Rounds asked for (`--repeat N`).
    pub rounds: u32,
    /// Rounds that ran to their end (fewer when the run stopped early; a
    /// merge of repeated runs adds theirs up).
    pub completed: u32,
    /// Each round's target order (rotated by one between rounds, so a
    /// noisy minute hits every target), as target names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub orders: Vec<Vec<String>>,
}

/// The part of the cells a sharded run holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ShardInfo {
    /// This shard, 1-based.
    pub index: u32,
    /// Number of shards.
    pub count: u32,
    /// The cells of this shard: variant label (empty without a matrix) and target name.
    pub cells: Vec<CellId>,
}

/// One (variant × target) cell.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
pub struct CellId {
    /// Variant label (empty without a matrix).
    pub variant: String,
    /// Target name.
    pub target: String,
}

/// One input of `loadline merge`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MergedInput {
    /// The `run.json` read.
    pub path: String,
    /// Its shard (`2/3`), if it was one.
    pub shard: Option<String>,
    /// The host it ran on.
    pub hostname: String,
    /// When it started (UTC, RFC 3339).
    pub started_at: String,
}

/// The machine and build a run happened on.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct Environment {
    /// Host name.
    pub hostname: String,
    /// Kernel release (`uname -r`).
    pub kernel: String,
    /// OS name.
    pub os: String,
    /// CPU model.
    pub cpu_model: String,
    /// Logical cores.
    pub cores: usize,
    /// Total memory in bytes.
    pub memory_bytes: u64,
    /// rustc that built loadline.
    pub rustc: String,
    /// Filesystem type of the data directory (e.g. `ext4`, `tmpfs`).
    pub filesystem: String,
    /// Data directory.
    pub data_dir: String,
}

/// One matrix variant.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct VariantReport {
    /// Label such as `size=1KiB,batch=10` (empty without a matrix).
    pub label: String,
    /// Matrix key and value of each dimension.
    pub settings: Vec<(String, serde_json::Value)>,
    /// The resolved scenario document of this variant.
    pub resolved: serde_json::Value,
    /// Payload compressibility, checked after generation.
    pub payloads: Vec<PayloadReport>,
    /// One entry per target.
    pub targets: Vec<TargetReport>,
    /// Every assertion on every target.
    pub assertions: Vec<AssertionResult>,
}

/// Requested entropy vs achieved compression of one payload.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct PayloadReport {
    /// Payload name.
    pub name: String,
    /// Requested entropy (0..=1).
    pub requested_entropy: f64,
    /// zstd compressed/original ratio of a sample.
    pub zstd_ratio: f64,
    /// lz4 compressed/original ratio of a sample.
    pub lz4_ratio: f64,
    /// Bytes sampled.
    pub sample_bytes: u64,
    /// Bytes the pool (or mapped file) holds.
    pub memory_bytes: u64,
    /// The warning printed when the achieved ratio disagrees with the request.
    pub warning: Option<String>,
}

/// One row of `results.csv`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct MetricRow {
    /// Variant label.
    pub variant: String,
    /// Target name.
    pub target: String,
    /// Phase name (`target` for target-level metrics).
    pub phase: String,
    /// Actor name (empty for phase- and target-level metrics).
    pub actor: String,
    /// Metric name.
    pub metric: String,
    /// Value in `unit`.
    pub value: f64,
    /// Unit (`ns`, `bytes`, `count`, `per_s`, `bytes_per_s`, `ratio`, `us`).
    pub unit: &'static str,
}

impl RunReport {
    /// The run's id, `<scenario>-<start as compact UTC>`
    /// (`quickstart-20261121T104207Z`): the name of its default output
    /// directory, and the `run_id` column of every CSV, so tables of many
    /// runs can be concatenated and joined (derived from `scenario` and
    /// `started_at`, which `run.json` holds).
    pub fn run_id(&self) -> String {
        let stamp: String = self
            .started_at
            .chars()
            .filter(|c| *c != '-' && *c != ':')
            .collect();
        format!("{}-{stamp}", self.scenario)
    }

    /// Reads a `run.json`, refusing other format versions with a message
    /// that names both.
    pub fn read(path: &std::path::Path) -> Result<RunReport, ReadError> {
        let text = std::fs::read_to_string(path).map_err(|source| ReadError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_json(&text, path)
    }

    /// Parses `run.json` text (`path` names it in errors).
    pub fn from_json(text: &str, path: &std::path::Path) -> Result<RunReport, ReadError> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|source| ReadError::Parse {
                path: path.to_path_buf(),
                source,
            })?;
        let found = value
            .get("format_version")
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(0);
        if found != u64::from(RUN_FORMAT_VERSION) {
            return Err(ReadError::Version {
                path: path.to_path_buf(),
                found,
            });
        }
        serde_json::from_value(value).map_err(|source| ReadError::Parse {
            path: path.to_path_buf(),
            source,
        })
    }

    /// The JSON Schema of `run.json` (draft 2020-12), as committed in
    /// `schemas/run.schema.json`.
    pub fn schema() -> serde_json::Value {
        serde_json::to_value(schemars::schema_for!(RunReport)).unwrap_or_default()
    }

    /// Every metric of every measured (non-warmup) phase, one row each;
    /// with rounds, the value is the median of the rounds (a maximum: the
    /// largest of the rounds').
    pub fn rows(&self) -> Vec<MetricRow> {
        let mut rows = Vec::new();
        for v in &self.variants {
            for t in &v.targets {
                for m in t.measured() {
                    let path = m.path();
                    let value = t.spread.get(&path).map_or(m.value, |s| s.reported(&path));
                    rows.push(MetricRow {
                        variant: v.label.clone(),
                        target: t.name.clone(),
                        phase: m.phase,
                        actor: m.actor,
                        metric: m.metric,
                        value,
                        unit: m.unit.label(),
                    });
                }
            }
        }
        rows
    }

    /// True when no assertion of any variant failed or went unjudged (a
    /// gate over nothing is no pass).
    pub fn passed(&self) -> bool {
        use crate::metrics::verdict::Verdict;
        self.variants
            .iter()
            .flat_map(|v| &v.assertions)
            .all(|a| !matches!(a.verdict, Verdict::Fail | Verdict::NotJudged))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::catalog::MetricUnit;
    use crate::report::fixture::run_report;
    use std::path::Path;

    #[test]
    fn run_json_round_trips_byte_for_byte() {
        for variants in [1, 2] {
            let first = serde_json::to_string_pretty(&run_report(variants)).expect("writes");
            let read = RunReport::from_json(&first, Path::new("run.json")).expect("reads back");
            let second = serde_json::to_string_pretty(&read).expect("writes again");
            assert_eq!(first, second);
        }
    }

    #[test]
    fn per_record_latency_is_amortized_over_each_ops_records() {
        // Kaelix: "< 1 µs amortized per message in batches".
        let mut a = run_report(1).variants[0].targets[0].phases[1].actors[0].clone();
        a.count = 1_000;
        a.records = 10_000;
        a.latency.p99_ns = 8_000;
        assert_eq!(a.metric("per_record.p99"), Some(800.0));
        assert_eq!(
            crate::metrics::actor_metric::actor_metric_unit("per_record.p99"),
            Some(MetricUnit::Nanos)
        );
        assert_eq!(
            crate::metrics::actor_metric::actor_metric_unit("per_record.records"),
            None
        );
        a.records = 0;
        assert_eq!(a.metric("per_record.p99"), None, "nothing to share it over");
    }

    #[test]
    fn another_format_version_is_refused_by_name() {
        let mut v = serde_json::to_value(run_report(1)).expect("json");
        v["format_version"] = serde_json::json!(7);
        let err = RunReport::from_json(&v.to_string(), Path::new("old/run.json"))
            .expect_err("refused")
            .to_string();
        assert_eq!(
            err,
            "old/run.json: run.json format_version 7; this loadline reads version 1"
        );
        let err = RunReport::from_json("{", Path::new("x.json")).expect_err("not json");
        assert!(matches!(err, ReadError::Parse { .. }), "{err}");
    }

    #[test]
    fn the_report_validates_against_its_own_schema() {
        let schema = RunReport::schema();
        let validator = jsonschema::draft202012::new(&schema).expect("schema compiles");
        let doc = serde_json::to_value(run_report(2)).expect("json");
        let errors: Vec<String> = validator.iter_errors(&doc).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{errors:?}");
    }
}
