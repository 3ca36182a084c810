//! The scenario file format, version 1, as typed wire structs.
//!
//! These types mirror the YAML one to one and hold no logic: `validate`
//! turns them into checked `model` types. Their doc comments are the JSON
//! Schema's descriptions (`loadline schema`), so they are written for users.
//! Rules: `deny_unknown_fields` everywhere, `snake_case` names, no
//! `flatten`, `untagged` or internally tagged enums (they erase locations).

use indexmap::IndexMap;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::path::PathBuf;

pub(crate) use super::spec_settle::{OnTimeoutSpec, SettleSpec};
use super::units::{ByteSize, Count, HumanDuration, Rate};

/// A loadline scenario: targets (the stores under test), payloads (what gets
/// written), phases (what runs, in order) and assertions (what must hold).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
#[schemars(title = "loadline scenario", example = example_scenario())]
pub struct ScenarioSpec {
    /// Format version of this file; must be `1`.
    #[schemars(range(min = 1, max = 1))]
    pub version: u32,
    /// Name of the scenario; used in report titles and output directory names.
    #[schemars(example = &"wal-vs-rocksdb-append", length(min = 1))]
    pub name: String,
    /// One or two sentences on what this scenario measures and why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Seed of every random stream (payload bytes, keys, sizes, crash moments).
    /// The same seed produces the same bytes. When absent, one is drawn,
    /// printed and recorded in the report so the run can be repeated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(example = 42)]
    pub seed: Option<u64>,
    /// Rounds to run (`--repeat N` overrides): each round runs every
    /// target in turn, the order rotated by one between rounds, and every
    /// metric reports the median of the rounds (a `max` the largest of
    /// the rounds') with its range and a confidence interval; assertions
    /// judge the same value. Timelines hold round 1. Default 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 1000), example = 3)]
    pub repeat: Option<u32>,
    /// Length of a timeline interval for every phase (a phase's own
    /// `interval` overrides it, `--interval` on the command line overrides
    /// both). Each actor records per interval records, bytes, ops, errors
    /// and latency p50/p99/max (`timeline.csv`, one `.hlog` per actor), and
    /// the store and process are sampled at each boundary. Default `1s`;
    /// for a phase longer than 10 minutes, whole seconds giving at most 600
    /// intervals (`3s` for 30 minutes, `6s` for an hour).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(example = &"250ms")]
    pub interval: Option<HumanDuration>,
    /// The stores under test, by name. Every phase runs against each target.
    /// Each target starts the run in an empty data directory of its own,
    /// which its phases share.
    pub targets: IndexMap<String, TargetSpec>,
    /// Named payloads that actors write.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub payloads: IndexMap<String, PayloadSpec>,
    /// The phases, run in order against each target.
    #[schemars(length(min = 1))]
    pub phases: Vec<PhaseSpec>,
    /// Conditions that must hold, checked on every target of every variant
    /// unless scoped: `<metric> <op> <value>`, e.g. `write.append.p99 < 10ms`
    /// (operators `<`, `<=`, `>`, `>=`, `==`, `!=`). The right side may
    /// instead be a factor times another metric: of the same target
    /// (`sealed.read.bytes_per_s >= 3x active.read.bytes_per_s`), of another
    /// target (`… >= 2x target rocksdb`, or `2x <metric> of target rocksdb`),
    /// of another matrix variant (`… >= 8x variant workers=1`: this variant
    /// with that setting changed) or of the baseline run given with
    /// `--baseline` (`write.append.p99 <= 1.1x baseline`). End with
    /// `on <target>, …` and/or `where <key>=<value>[|<value>], …` to check it
    /// only on those targets and matrix variants.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(example = vec![
        "write.append.p99 < 10ms",
        "write.append.records_per_s >= 100k",
        "write.append.records_per_s >= 2x target rocksdb on wal",
        "write.append.records_per_s >= 8x variant workers=1 where workers=16",
        "write.append.p99 <= 1.1x baseline",
    ])]
    pub assertions: Vec<String>,
    /// What a comparison of two runs of this scenario judges
    /// (`loadline compare`, `run --baseline`, `loadline ab`): by default
    /// every actor's `records_per_s`, `p50` and `p99` and the metric of
    /// every assertion, each against a minimum effect of 10 %. Every other
    /// cell is listed, not judged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gate: Option<crate::compare::GateSpec>,
    /// Expands the scenario into one variant per combination of values. Keys
    /// are dotted paths to fields (`payloads.small.size`,
    /// `phases.write.actors.0.batch`; phases by name or index); values are
    /// lists of values for that field.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub matrix: IndexMap<String, Vec<serde_json::Value>>,
    /// Named sets of overrides (`quick`, `comprehensive`, `ci` …): each maps
    /// field paths, as for `--set` and `matrix`, to values. One is applied
    /// with `--profile NAME` (or `profile:` here), before any `--set`.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    #[schemars(example = example_profiles())]
    pub profiles: IndexMap<String, IndexMap<String, serde_json::Value>>,
    /// The profile applied when the command line names none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
}

fn example_profiles() -> serde_json::Value {
    serde_json::json!({
        "quick": { "phases.write.records": "100k" },
        "ci": { "phases.write.records": "1M", "assertions.0": "write.append.p99 < 20ms" }
    })
}

fn example_scenario() -> serde_json::Value {
    serde_json::json!({
        "version": 1,
        "name": "quickstart",
        "targets": { "mem": { "memory": {} } },
        "payloads": { "small": { "size": "512B" } },
        "phases": [{ "name": "write", "records": "100k",
                     "actors": [{ "op": "append", "batch": 10, "payload": "small" }] }],
        "assertions": ["write.append.p99 < 10ms"]
    })
}

/// A store under test: exactly one key, naming the store kind, whose value
/// is that kind's config (`wal: { sync: batch }`).
///
/// The kinds are not fixed here: each binary's registry of store kinds
/// fills in the schema (one branch per kind, see `scenario::schema`), and
/// validation deserializes `config` with the kind's own config type.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetSpec {
    /// The store kind (the key).
    pub kind: String,
    /// The kind's config, as written.
    pub config: serde_json::Value,
}

impl Serialize for TargetSpec {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(1))?;
        m.serialize_entry(&self.kind, &self.config)?;
        m.end()
    }
}

impl<'de> Deserialize<'de> for TargetSpec {
    // A single-key map, as the schema already checked: the key is the kind.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let map = IndexMap::<String, serde_json::Value>::deserialize(d)?;
        if map.len() != 1 {
            return Err(D::Error::custom(format!(
                "a target has exactly one key, the store kind; found {}",
                map.len()
            )));
        }
        let Some((kind, config)) = map.into_iter().next() else {
            return Err(D::Error::custom("a target names its store kind"));
        };
        Ok(TargetSpec { kind, config })
    }
}

impl JsonSchema for TargetSpec {
    fn schema_name() -> Cow<'static, str> {
        Cow::Borrowed("TargetSpec")
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        // Replaced by one branch per registered kind when the scenario
        // schema is generated (`scenario::schema`).
        json_schema!({
            "description": "A store under test. Exactly one key, naming the store kind.",
            "type": "object",
            "minProperties": 1,
            "maxProperties": 1
        })
    }
}

/// What gets written: record sizes, compressibility and keys, or a recorded file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct PayloadSpec {
    /// Record body size: a size (`512B`), `{ uniform: [64B, 4KiB] }`,
    /// `{ normal: { mean: 1KiB, stddev: 256B } }`, or a weighted list
    /// `[{ size: 64B, weight: 70 }, { size: 4KiB, weight: 30 }]`.
    /// Required unless `file` is given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<SizeSpec>,
    /// Fraction of each body that is random, from 0 (all zeros, compresses to
    /// nothing) to 1 (incompressible). Default `1.0`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0, max = 1.0), example = 0.8)]
    pub entropy: Option<f64>,
    /// Keys attached to each log record: `none`, `single`, `pair` or `range`. Default `none`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keys: Option<KeyStyleSpec>,
    /// Number of batches generated before the phase starts and cycled, so the
    /// hot path does no RNG or allocation work. Default `1024`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool: Option<Count>,
    /// A recorded payload file made by `loadline payload generate`, relative
    /// to the scenario file. Excludes `size`, `entropy`, `keys` and `pool`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<PathBuf>,
}

/// Keys attached to each log record (as in Restate's logserver-bench).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum KeyStyleSpec {
    /// No keys.
    None,
    /// One key per record.
    Single,
    /// Two keys per record.
    Pair,
    /// An inclusive key range per record.
    Range,
}

/// A record size distribution. Written as a size, a single-key map
/// (`uniform` / `normal`) or a weighted list.
#[derive(Debug, Clone, PartialEq)]
pub enum SizeSpec {
    /// Every record has this size.
    Fixed(ByteSize),
    /// Uniform between the two sizes, inclusive.
    Uniform([ByteSize; 2]),
    /// Normal, clamped to `[min, max]`.
    Normal(NormalSizeSpec),
    /// A weighted choice (like fio's `bssplit`).
    Weighted(Vec<WeightedSizeSpec>),
}

/// A normal size distribution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct NormalSizeSpec {
    /// Mean size.
    pub mean: ByteSize,
    /// Standard deviation.
    pub stddev: ByteSize,
    /// Smallest size drawn. Default `1B`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<ByteSize>,
    /// Largest size drawn. Default `mean + 4 × stddev`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<ByteSize>,
}

/// One entry of a weighted size list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct WeightedSizeSpec {
    /// The record size.
    pub size: ByteSize,
    /// Relative weight of this size.
    #[schemars(range(min = 1))]
    pub weight: u32,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
enum SizeShape {
    Uniform([ByteSize; 2]),
    Normal(NormalSizeSpec),
}

impl Serialize for SizeSpec {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            SizeSpec::Fixed(b) => b.serialize(s),
            SizeSpec::Uniform(r) => SizeShape::Uniform(*r).serialize(s),
            SizeSpec::Normal(n) => SizeShape::Normal(n.clone()).serialize(s),
            SizeSpec::Weighted(w) => w.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for SizeSpec {
    // Dispatches on the shape of the value (scalar, map, list). This is not
    // serde's `untagged`: the JSON Schema has already told the user which
    // shape is wrong and where, before this runs.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let value = serde_json::Value::deserialize(d)?;
        match value {
            serde_json::Value::Array(_) => serde_json::from_value(value)
                .map(SizeSpec::Weighted)
                .map_err(D::Error::custom),
            serde_json::Value::Object(_) => match serde_json::from_value(value) {
                Ok(SizeShape::Uniform(r)) => Ok(SizeSpec::Uniform(r)),
                Ok(SizeShape::Normal(n)) => Ok(SizeSpec::Normal(n)),
                Err(e) => Err(D::Error::custom(e)),
            },
            other => serde_json::from_value(other)
                .map(SizeSpec::Fixed)
                .map_err(D::Error::custom),
        }
    }
}

impl JsonSchema for SizeSpec {
    fn schema_name() -> Cow<'static, str> {
        Cow::Borrowed("SizeSpec")
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let size = generator.subschema_for::<ByteSize>();
        let normal = generator.subschema_for::<NormalSizeSpec>();
        let weighted = generator.subschema_for::<WeightedSizeSpec>();
        json_schema!({
            "description": "A record size: a fixed size, `{ uniform: [min, max] }`, `{ normal: { mean, stddev } }` or a weighted list.",
            "oneOf": [
                size,
                {
                    "description": "uniformly distributed between two sizes, inclusive",
                    "type": "object",
                    "properties": { "uniform": { "type": "array", "items": size, "minItems": 2, "maxItems": 2 } },
                    "required": ["uniform"],
                    "additionalProperties": false
                },
                {
                    "description": "normally distributed, clamped to [min, max]",
                    "type": "object",
                    "properties": { "normal": normal },
                    "required": ["normal"],
                    "additionalProperties": false
                },
                {
                    "description": "a weighted choice of sizes, like fio's bssplit",
                    "type": "array",
                    "items": weighted,
                    "minItems": 1
                }
            ],
            "examples": ["512B", { "uniform": ["64B", "4KiB"] }, [{ "size": "64B", "weight": 70 }, { "size": "4KiB", "weight": 30 }]]
        })
    }
}

/// A phase: actors that run concurrently against each target until the
/// phase's `records` or `duration` is reached (whichever comes first).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct PhaseSpec {
    /// Unique name; the first part of metric paths (`write.append.p99`).
    #[schemars(example = &"write", length(min = 1))]
    pub name: String,
    /// Run the phase but exclude it from results and assertions. Default `false`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warmup: Option<bool>,
    /// Total records written by the phase's writers (or read, when it has no
    /// writers), shared evenly between their workers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(example = &"5M")]
    pub records: Option<Count>,
    /// Maximum wall-clock time of the phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(example = &"30s")]
    pub duration: Option<HumanDuration>,
    /// Timeline interval of this phase, overriding the scenario's
    /// `interval` (`--interval` overrides both). Default `1s`; for a
    /// phase longer than 10 minutes, whole seconds giving at most 600
    /// intervals (`3s` for 30 minutes, `6s` for an hour).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(example = &"250ms")]
    pub interval: Option<HumanDuration>,
    /// Run this phase only on these targets (by name); default every
    /// target. For ops some targets' store kinds do not have, e.g. `put`
    /// on a log-only `wal`; their assertions on the phase are not
    /// applicable there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub targets: Option<Vec<String>>,
    /// What runs, concurrently.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actors: Vec<ActorSpec>,
    /// After (or instead of) the actors, restart the store: `clean` closes and
    /// reopens it; `crash` runs the writers in a child process killed at a
    /// seeded moment; `power-loss` (store kinds that simulate it, such as wal)
    /// also drops every byte not fsynced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart: Option<RestartSpec>,
    /// Window in which a crash happens: `2s..5s`, or a single duration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(example = &"2s..5s")]
    pub after: Option<String>,
    /// Crash after this many acknowledged records instead of after a time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_records: Option<Count>,
    /// What to check after a restart: `acknowledged` (every acknowledged
    /// record reads back intact) or `none`. Default `none`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify: Option<VerifySpec>,
    /// Number of crash cycles (each appends on top of what survived). Default `1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeat: Option<Count>,
    /// Fill the store to this size before the restart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prepare: Option<PrepareSpec>,
    /// The page cache when the phase starts: `warm` (as the earlier phases
    /// left it) or `cold` (the store is closed, every file of its directory
    /// is synced and evicted from the page cache with
    /// `posix_fadvise(POSIX_FADV_DONTNEED)`, and the store is reopened and
    /// evicted again, so reads come from the disk). Default `warm`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache: Option<CacheSpec>,
    /// Before the phase measures, wait until the store's background work
    /// is done: RocksDB's flushes and compactions (none running or due, no
    /// compaction debt), the WAL's segment preparation and writeback;
    /// stores without background work settle at once. `settle: {}` waits
    /// up to 5 minutes. The wait is reported as `<phase>.settle.wait`, the
    /// compaction debt it found as `<phase>.settle.debt`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(example = &serde_json::json!({ "timeout": "2m" }))]
    pub settle: Option<SettleSpec>,
}

/// The page cache a phase starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CacheSpec {
    /// As the earlier phases left it.
    Warm,
    /// The target's files evicted from the page cache (and the store's own caches emptied by a reopen).
    Cold,
}

/// How a phase restarts the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum RestartSpec {
    /// Close cleanly, then reopen.
    Clean,
    /// Kill the writer process with SIGKILL, then reopen.
    Crash,
    /// Kill and drop everything that was not fsynced (store kinds that simulate it, such as wal).
    PowerLoss,
}

/// What is verified after a restart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum VerifySpec {
    /// Nothing.
    None,
    /// Every acknowledged record must read back intact, as a prefix with no holes.
    Acknowledged,
}

/// Fill the store before a restart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct PrepareSpec {
    /// Bytes of record bodies to write.
    pub bytes: ByteSize,
    /// Payload to fill with. Default: the first payload of the scenario.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<String>,
}

/// The operation an actor performs in a loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OpSpec {
    /// Append batches to log streams.
    Append,
    /// Read log streams.
    Read,
    /// Trim log streams periodically.
    Trim,
    /// Call sync periodically.
    Sync,
    /// Write key-value pairs (key-value capable stores only).
    Put,
    /// Read keys (key-value capable stores only).
    Get,
    /// Delete keys (key-value capable stores only).
    Delete,
    /// Range scans (key-value capable stores only).
    Scan,
}

/// Where a reader starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReadFromSpec {
    /// From the oldest visible record, to the tail, then follow the writers.
    Head,
    /// Follow the writers, `lag` records behind the tail.
    Tail,
    /// From random offsets in the visible range.
    Random,
}

/// Distribution of keys for key-value operations (as YCSB defines them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum KeyDistributionSpec {
    /// 0, 1, 2, … wrapping at the key space.
    Sequential,
    /// Every key equally likely.
    Uniform,
    /// Zipfian with exponent `theta` (default 0.99): few keys take most ops.
    Zipfian,
    /// Recently written keys are most likely.
    Latest,
    /// `hot_keys` of the keys take `hot_ops` of the operations.
    Hotspot,
}

/// Keys of a key-value actor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct KeySpec {
    /// Number of distinct keys. Default `1M`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub space: Option<Count>,
    /// Length of each key. Default `16B`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length: Option<ByteSize>,
    /// How keys are chosen. Default `uniform`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distribution: Option<KeyDistributionSpec>,
    /// Zipfian exponent, in (0, 1). Default `0.99`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub theta: Option<f64>,
    /// Hotspot: fraction of keys that are hot, in (0, 1). Default `0.2`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hot_keys: Option<f64>,
    /// Hotspot: fraction of operations on hot keys, in (0, 1). Default `0.8`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hot_ops: Option<f64>,
}

/// An actor: `workers` threads each running `op` in a loop.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct ActorSpec {
    /// Name in metric paths; defaults to the op (`write.append.p99`). Must be
    /// unique within the phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The operation.
    pub op: OpSpec,
    /// Log streams the actor spreads its operations over. Default `1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub streams: Option<Count>,
    /// Threads running this actor. Default `1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workers: Option<Count>,
    /// Records per append, or keys per put or delete (a batch of puts or deletes is one operation: one RocksDB `WriteBatch`, one lock for `memory`; stores without a batch op put or delete one key after another). Default `1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<Count>,
    /// Payload name (append, put). Default: the only payload, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<String>,
    /// Open loop: operations per second for the whole actor (shared by its
    /// workers). Latency is then measured from each operation's intended
    /// start (coordinated omission corrected). Absent: closed loop.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<Rate>,
    /// Requests each worker keeps in flight (`put`, `get`, `delete`,
    /// `append` on `resp` and `external` targets): it submits up to this
    /// many before waiting for a reply, as `redis-benchmark -P N` does;
    /// each operation's latency still runs from its (intended) start to
    /// its own reply. Default `1`. In-process stores: use `workers`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_flight: Option<Count>,
    /// Readers: where to start. Default `tail`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<ReadFromSpec>,
    /// Readers with `from: tail`: records behind the tail. Default `0`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lag: Option<Count>,
    /// Readers: maximum body bytes per read. Default `1MiB`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_bytes: Option<ByteSize>,
    /// Trimmers and sync actors: period between operations. Default `1s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub every: Option<HumanDuration>,
    /// Trimmers: records kept behind the tail of each stream. Default `0`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep: Option<Count>,
    /// Key-value ops: key space and distribution.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keys: Option<KeySpec>,
    /// Scans: pairs per scan. Default `100`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scan_length: Option<Count>,
}
