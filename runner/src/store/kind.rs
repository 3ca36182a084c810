//! Store kinds: the [`StoreKind`] trait a kind implements (its YAML name,
//! config type, config checks, capabilities, statistics and `open`), the
//! type-erased [`TargetKind`] a checked scenario holds, and the
//! [`Registry`] list of kinds a binary knows.
//!
//! Everything the rest of loadline needs to know about a kind goes through
//! this file: validation asks [`TargetKind::capabilities`] and
//! [`TargetKind::check`], the schema embeds each kind's config schema, the
//! engine calls [`TargetKind::open`], reports look up
//! [`TargetKind::statistics`]. Nothing outside a kind's own file matches
//! on a kind or its name.

use std::fmt;
use std::marker::PhantomData;
use std::path::Path;
use std::sync::Arc;

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::api::{Capabilities, RatioStat, StatDesc, Store, StoreError};
use super::fs::SimFs;

/// A kind of store that scenarios can name under a target: one type that
/// owns everything loadline needs to know about the kind.
///
/// A kind is a plain type (usually a unit struct); its [`Config`](Self::Config)
/// is what a scenario writes under `targets.<name>.<NAME>`. Register it with
/// [`App::store`](crate::App::store) to get the whole CLI, the JSON Schema
/// and editor completion for it.
///
/// # Example
///
/// ```
/// use std::path::Path;
/// use loadline::store::{Capabilities, MemoryStore, StatDesc, Store, StoreError, StoreKind};
///
/// /// Options of the `scratch` kind.
/// #[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
/// #[serde(deny_unknown_fields, rename_all = "snake_case")]
/// struct ScratchConfig {
///     /// Pretend to be slow. Default `false`.
///     #[serde(default)]
///     slow: bool,
/// }
///
/// /// An in-memory scratch store.
/// struct Scratch;
///
/// impl StoreKind for Scratch {
///     const NAME: &'static str = "scratch";
///     const ABOUT: &'static str = "An in-memory scratch store.";
///     type Config = ScratchConfig;
///     fn capabilities(_: &ScratchConfig) -> Capabilities {
///         Capabilities { log: true, kv: true, ..Capabilities::NONE }
///     }
///     fn statistics() -> &'static [StatDesc] {
///         &[]
///     }
///     fn open(_: &ScratchConfig, _dir: &Path) -> Result<Box<dyn Store>, StoreError> {
///         Ok(Box::new(MemoryStore::new()))
///     }
/// }
///
/// let app = loadline::App::new().store::<Scratch>();
/// assert!(app.kinds().contains(&"scratch"));
/// ```
pub trait StoreKind: 'static {
    /// The YAML key naming the kind under a target (`wal`, `rocksdb`,
    /// `fjall`): lowercase letters, digits and `_`.
    const NAME: &'static str;
    /// One sentence on what the kind is; the description of its branch in
    /// the JSON Schema.
    const ABOUT: &'static str;

    /// The kind's options as a scenario writes them. Use
    /// `#[serde(deny_unknown_fields, rename_all = "snake_case")]`, give
    /// every field a default (so `{}` is valid) and a doc comment (the
    /// schema's description, shown by editors). Human units come from
    /// [`crate::units`].
    type Config: Serialize
        + DeserializeOwned
        + JsonSchema
        + Default
        + Clone
        + fmt::Debug
        + Send
        + Sync
        + 'static;

    /// Semantic checks of a config the schema accepted, reported as located
    /// diagnostics like every other scenario error (before anything runs).
    /// `workload` describes what the scenario's phases will ask of the
    /// store (e.g. the largest batch an append writes), for limits that
    /// depend on both. The default finds nothing wrong.
    fn check(config: &Self::Config, workload: &Workload) -> Vec<Problem> {
        let _ = (config, workload);
        Vec::new()
    }

    /// What a store of this kind, opened with `config`, can do. Validation
    /// decides from it, before anything runs, whether each phase's ops and
    /// restart are possible on the target.
    fn capabilities(config: &Self::Config) -> Capabilities;

    /// The statistics the store reports in [`Store::stats`]
    /// (`target.store.<name>` in assertions and reports).
    fn statistics() -> &'static [StatDesc];

    /// The statistics of [`statistics`](Self::statistics) that are *levels*
    /// (a value at a moment: files at level 0, pending compaction bytes,
    /// memtable size) rather than counters. A phase reports a counter's
    /// change over the phase and a level's value at the phase's end; target
    /// totals add up counters over measured phases. Ratios are always
    /// levels. Default: none (every statistic counts up).
    fn levels() -> &'static [&'static str] {
        &[]
    }

    /// The ratios among [`statistics`](Self::statistics) that are computed
    /// from the kind's counters (write amplification, a hit rate): loadline
    /// recomputes each from the counters' change over a phase and from
    /// their totals over a target, see [`RatioStat`]. Default: none.
    fn ratios() -> &'static [RatioStat] {
        &[]
    }

    /// One line describing `config` for `loadline explain`. The default
    /// prints the config as JSON.
    fn describe(config: &Self::Config) -> String {
        serde_json::to_string(config).unwrap_or_default()
    }

    /// Opens (creating when empty) the store in `dir`, a directory the run
    /// owns: fresh at the start of each target, the same one again after a
    /// restart.
    ///
    /// # Errors
    ///
    /// Whatever the store reports; the run stops with exit code 3.
    fn open(config: &Self::Config, dir: &Path) -> Result<Box<dyn Store>, StoreError>;

    /// Opens the store on loadline's simulated file system, which forgets
    /// every unsynced byte on [`SimFs::power_loss`] (`restart:
    /// power-loss`). Only kinds whose I/O goes through that seam can;
    /// they say so with [`Capabilities::power_loss`].
    ///
    /// # Errors
    ///
    /// The default: [`StoreError::Unsupported`].
    fn open_simulated(
        config: &Self::Config,
        fs: &SimFs,
        dir: &Path,
    ) -> Result<Box<dyn Store>, StoreError> {
        let _ = (config, fs, dir);
        Err(StoreError::Unsupported {
            op: "restart: power-loss",
            store: Self::NAME,
        })
    }
}

/// What a scenario's phases will ask of a target, given to
/// [`StoreKind::check`].
#[derive(Debug, Clone, Default)]
pub struct Workload {
    pub(crate) appends: Vec<AppendPlan>,
}

impl Workload {
    /// Every `append` actor of every phase.
    pub fn appends(&self) -> &[AppendPlan] {
        &self.appends
    }
}

/// One `append` actor as validation sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendPlan {
    /// The phase's name.
    pub phase: String,
    /// The actor's name.
    pub actor: String,
    /// Records per append.
    pub batch: u64,
    /// The largest record body its payload can produce, in bytes.
    pub max_record_bytes: u64,
    /// Bytes of keys per record (0, 8 or 16).
    pub key_bytes: u64,
    /// JSON pointer of the actor in the document (locates problems).
    pub(crate) pointer: String,
}

impl AppendPlan {
    /// The largest batch this actor appends: record bodies plus keys, in
    /// bytes (framing is the store's own).
    pub fn max_batch_bytes(&self) -> u64 {
        self.batch
            .saturating_mul(self.max_record_bytes.saturating_add(self.key_bytes))
    }
}

/// Where a [`Problem`] is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ProblemAt {
    /// A field of the kind's config, as a `/`-separated path
    /// (`segment_size`, `options/max_background_jobs`); empty for the
    /// config as a whole. `key` points at the field's key, not its value.
    Config { field: String, key: bool },
    /// The `batch` of an append actor (the pointer of the actor).
    Append { pointer: String },
}

/// A problem [`StoreKind::check`] found, turned into a located diagnostic
/// by validation. Messages are lowercase fragments, like every scenario
/// error (`` `segment_size` is out of range ``).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub(crate) at: ProblemAt,
    pub(crate) warning: bool,
    pub(crate) message: String,
    pub(crate) expected: Option<String>,
    pub(crate) found: Option<String>,
    pub(crate) help: Option<String>,
}

impl Problem {
    fn new(at: ProblemAt, warning: bool, message: impl Into<String>) -> Problem {
        Problem {
            at,
            warning,
            message: message.into(),
            expected: None,
            found: None,
            help: None,
        }
    }

    /// An error at the value of config field `field` (a `/`-separated path
    /// inside the kind's config; empty for the config itself).
    pub fn error(field: &str, message: impl Into<String>) -> Problem {
        Problem::new(
            ProblemAt::Config {
                field: field.to_owned(),
                key: false,
            },
            false,
            message,
        )
    }

    /// A warning at the key of config field `field`: the run goes ahead.
    pub fn warning(field: &str, message: impl Into<String>) -> Problem {
        Problem::new(
            ProblemAt::Config {
                field: field.to_owned(),
                key: true,
            },
            true,
            message,
        )
    }

    /// An error at the `batch` of the append actor `append`.
    pub fn at_append(append: &AppendPlan, message: impl Into<String>) -> Problem {
        Problem::new(
            ProblemAt::Append {
                pointer: append.pointer.clone(),
            },
            false,
            message,
        )
    }

    /// Points at the field's key rather than its value (an unknown name).
    #[must_use]
    pub fn on_key(mut self) -> Problem {
        if let ProblemAt::Config { key, .. } = &mut self.at {
            *key = true;
        }
        self
    }

    /// What would have been valid.
    #[must_use]
    pub fn expected(mut self, text: impl Into<String>) -> Problem {
        self.expected = Some(text.into());
        self
    }

    /// What was found instead.
    #[must_use]
    pub fn found(mut self, text: impl Into<String>) -> Problem {
        self.found = Some(text.into());
        self
    }

    /// How to fix it.
    #[must_use]
    pub fn help(mut self, text: impl Into<String>) -> Problem {
        self.help = Some(text.into());
        self
    }

    /// True for a warning (the run goes ahead).
    pub fn is_warning(&self) -> bool {
        self.warning
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// A kind with its checked config, as object: what a target of a checked
/// scenario holds.
trait Configured: Send + Sync + fmt::Debug {
    fn name(&self) -> &'static str;
    fn capabilities(&self) -> Capabilities;
    fn statistics(&self) -> &'static [StatDesc];
    fn levels(&self) -> &'static [&'static str];
    fn ratios(&self) -> &'static [RatioStat];
    fn check(&self, workload: &Workload) -> Vec<Problem>;
    fn describe(&self) -> String;
    fn open(&self, dir: &Path) -> Result<Box<dyn Store>, StoreError>;
    fn open_simulated(&self, fs: &SimFs, dir: &Path) -> Result<Box<dyn Store>, StoreError>;
    fn to_json(&self) -> Value;
}

struct WithConfig<K: StoreKind>(K::Config);

impl<K: StoreKind> fmt::Debug for WithConfig<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple(K::NAME).field(&self.0).finish()
    }
}

impl<K: StoreKind> Configured for WithConfig<K> {
    fn name(&self) -> &'static str {
        K::NAME
    }
    fn capabilities(&self) -> Capabilities {
        K::capabilities(&self.0)
    }
    fn statistics(&self) -> &'static [StatDesc] {
        K::statistics()
    }
    fn levels(&self) -> &'static [&'static str] {
        K::levels()
    }
    fn ratios(&self) -> &'static [RatioStat] {
        K::ratios()
    }
    fn check(&self, workload: &Workload) -> Vec<Problem> {
        K::check(&self.0, workload)
    }
    fn describe(&self) -> String {
        K::describe(&self.0)
    }
    fn open(&self, dir: &Path) -> Result<Box<dyn Store>, StoreError> {
        K::open(&self.0, dir)
    }
    fn open_simulated(&self, fs: &SimFs, dir: &Path) -> Result<Box<dyn Store>, StoreError> {
        K::open_simulated(&self.0, fs, dir)
    }
    fn to_json(&self) -> Value {
        serde_json::to_value(&self.0).unwrap_or(Value::Null)
    }
}

/// A target's store kind with its config: what a checked scenario holds
/// and the engine opens. Cheap to clone.
#[derive(Clone)]
pub struct TargetKind(Arc<dyn Configured>);

impl fmt::Debug for TargetKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl TargetKind {
    /// A target of kind `K` with `config`.
    pub fn new<K: StoreKind>(config: K::Config) -> TargetKind {
        TargetKind(Arc::new(WithConfig::<K>(config)))
    }

    /// The kind's name as written in scenario files.
    pub fn name(&self) -> &'static str {
        self.0.name()
    }

    /// What the store can do with this config.
    pub fn capabilities(&self) -> Capabilities {
        self.0.capabilities()
    }

    /// The statistics the store reports.
    pub fn statistics(&self) -> &'static [StatDesc] {
        self.0.statistics()
    }

    /// The description of statistic `name`.
    pub fn stat(&self, name: &str) -> Option<&'static StatDesc> {
        self.statistics().iter().find(|d| d.name == name)
    }

    /// The statistics the kind declares as levels ([`StoreKind::levels`];
    /// its ratios are levels too, see [`is_level`](Self::is_level)).
    pub fn levels(&self) -> &'static [&'static str] {
        self.0.levels()
    }

    /// True when statistic `name` is a level (a gauge or a ratio), not a
    /// counter: see [`StoreKind::levels`].
    pub fn is_level(&self, name: &str) -> bool {
        self.0.levels().contains(&name)
            || self
                .stat(name)
                .is_some_and(|d| d.unit == super::api::StatUnit::Ratio)
    }

    /// The ratios the kind computes from its counters: see
    /// [`StoreKind::ratios`].
    pub fn ratios(&self) -> &'static [RatioStat] {
        self.0.ratios()
    }

    /// The kind's checks of its config against the scenario's workload.
    pub fn check(&self, workload: &Workload) -> Vec<Problem> {
        self.0.check(workload)
    }

    /// One line for `loadline explain`.
    pub fn describe(&self) -> String {
        self.0.describe()
    }

    /// Opens the store in `dir`.
    ///
    /// # Errors
    ///
    /// Whatever the store's `open` reports.
    pub fn open(&self, dir: &Path) -> Result<Box<dyn Store>, StoreError> {
        self.0.open(dir)
    }

    /// Opens the store on a simulated file system (power loss).
    ///
    /// # Errors
    ///
    /// [`StoreError::Unsupported`] for kinds without
    /// [`Capabilities::power_loss`].
    pub fn open_simulated(&self, fs: &SimFs, dir: &Path) -> Result<Box<dyn Store>, StoreError> {
        self.0.open_simulated(fs, dir)
    }

    /// The config as JSON.
    pub fn config_json(&self) -> Value {
        self.0.to_json()
    }
}

impl Serialize for TargetKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(1))?;
        m.serialize_entry(self.name(), &self.config_json())?;
        m.end()
    }
}

/// Why a kind's config did not deserialize: where (a JSON pointer inside
/// the config) and what serde said.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ConfigError {
    /// JSON pointer inside the kind's config (empty for the config itself).
    pub pointer: String,
    /// serde's message.
    pub message: String,
}

/// A kind, as object: what the registry lists.
trait DynKind: Send + Sync {
    fn name(&self) -> &'static str;
    fn about(&self) -> &'static str;
    fn schema(&self, generator: &mut SchemaGenerator) -> Schema;
    fn configure(&self, config: &Value) -> Result<TargetKind, ConfigError>;
    fn statistics(&self) -> &'static [StatDesc];
    fn default_capabilities(&self) -> Capabilities;
}

struct Entry<K>(PhantomData<fn() -> K>);

impl<K: StoreKind> DynKind for Entry<K> {
    fn name(&self) -> &'static str {
        K::NAME
    }
    fn about(&self) -> &'static str {
        K::ABOUT
    }
    fn schema(&self, generator: &mut SchemaGenerator) -> Schema {
        generator.subschema_for::<K::Config>()
    }
    fn configure(&self, config: &Value) -> Result<TargetKind, ConfigError> {
        let config: K::Config = serde_path_to_error::deserialize(config).map_err(|e| {
            let pointer = e
                .path()
                .iter()
                .map(|seg| match seg {
                    serde_path_to_error::Segment::Seq { index } => format!("/{index}"),
                    serde_path_to_error::Segment::Map { key }
                    | serde_path_to_error::Segment::Enum { variant: key } => {
                        format!("/{}", key.replace('~', "~0").replace('/', "~1"))
                    }
                    serde_path_to_error::Segment::Unknown => String::new(),
                })
                .collect();
            ConfigError {
                pointer,
                message: e.inner().to_string(),
            }
        })?;
        Ok(TargetKind::new::<K>(config))
    }
    fn statistics(&self) -> &'static [StatDesc] {
        K::statistics()
    }
    fn default_capabilities(&self) -> Capabilities {
        K::capabilities(&K::Config::default())
    }
}

/// The store kinds a binary knows, in the order the schema and messages
/// list them.
#[derive(Clone)]
pub struct Registry {
    kinds: Vec<Arc<dyn DynKind>>,
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.names()).finish()
    }
}

/// A second kind with a name already registered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("store kind `{0}` is registered twice")]
pub struct DuplicateKind(pub &'static str);

impl Registry {
    /// A registry with no kinds.
    pub fn empty() -> Registry {
        Registry { kinds: Vec::new() }
    }

    /// Adds kind `K` after the ones already listed.
    ///
    /// # Errors
    ///
    /// [`DuplicateKind`] when a kind of the same name is already listed.
    pub fn with<K: StoreKind>(mut self) -> Result<Registry, DuplicateKind> {
        if self.kinds.iter().any(|k| k.name() == K::NAME) {
            return Err(DuplicateKind(K::NAME));
        }
        self.kinds.push(Arc::new(Entry::<K>(PhantomData)));
        Ok(self)
    }

    /// The kinds' names, in order.
    pub fn names(&self) -> Vec<&'static str> {
        self.kinds.iter().map(|k| k.name()).collect()
    }

    /// True when a kind called `name` is listed.
    pub fn contains(&self, name: &str) -> bool {
        self.kinds.iter().any(|k| k.name() == name)
    }

    /// Deserializes the config of kind `name`; `None` for an unknown kind.
    pub fn configure(&self, name: &str, config: &Value) -> Option<Result<TargetKind, ConfigError>> {
        self.kinds
            .iter()
            .find(|k| k.name() == name)
            .map(|k| k.configure(config))
    }

    /// The names of the kinds whose default config (`{}`) has capabilities
    /// for which `pred` holds: what messages suggest instead.
    pub fn names_where(&self, pred: impl Fn(&Capabilities) -> bool) -> Vec<&'static str> {
        self.kinds
            .iter()
            .filter(|k| pred(&k.default_capabilities()))
            .map(|k| k.name())
            .collect()
    }

    /// The statistics of kind `name` (empty for an unknown kind).
    pub fn statistics(&self, name: &str) -> &'static [StatDesc] {
        self.kinds
            .iter()
            .find(|k| k.name() == name)
            .map_or(&[], |k| k.statistics())
    }

    /// One JSON Schema branch per kind, `{ <name>: <config> }`, with
    /// the configs' definitions added to `generator`.
    pub fn schema_branches(&self, generator: &mut SchemaGenerator) -> Vec<Value> {
        self.kinds
            .iter()
            .map(|k| {
                let config = k.schema(generator);
                serde_json::json!({
                    "description": k.about(),
                    "type": "object",
                    "properties": { k.name(): config },
                    "required": [k.name()],
                    "additionalProperties": false
                })
            })
            .collect()
    }
}

/// Returns the candidate closest to `input` when it is close enough to be a
/// plausible typo (Jaro-Winkler ≥ 0.8, or a small edit distance): the
/// "did you mean" of every diagnostic, for kinds' own checks too.
pub fn did_you_mean<'a>(
    input: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let mut best: Option<(&str, f64)> = None;
    for c in candidates {
        if c == input {
            continue;
        }
        let score = strsim::jaro_winkler(&input.to_lowercase(), &c.to_lowercase());
        let dist = strsim::levenshtein(input, c);
        let plausible = score >= 0.8 || dist <= 2.max(input.len() / 4);
        if plausible && best.is_none_or(|(_, s)| score > s) {
            best = Some((c, score));
        }
    }
    best.map(|(c, _)| c)
}
