//! The [`Registry`] of store kinds a binary knows, and the type-erased
//! [`TargetKind`] (a kind with its checked config) a scenario holds.

use std::fmt;
use std::marker::PhantomData;
use std::path::Path;
use std::sync::Arc;

use schemars::{Schema, SchemaGenerator};
use serde::Serialize;
use serde_json::Value;

#[cfg(feature = "rocksdb")]
use super::RocksdbKind;
use super::api::{Capabilities, RatioStat, StatDesc, Store, StoreError};
use super::conformance::CheckResult;
use super::fs::SimFs;
use super::kind::{ConfigError, Problem, StoreKind, Workload};
use super::{ExternalKind, MemoryKind, RespKind, WalKind};

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
    fn conformance_rules(&self, dir: &Path) -> Vec<CheckResult>;
    fn to_json(&self) -> Value;
}

struct WithConfig<K: StoreKind> {
    config: K::Config,
    /// The kind's statistics, and those the config declares.
    statistics: &'static [StatDesc],
    /// The kind's levels, and the declared statistics that are levels.
    levels: &'static [&'static str],
}

impl<K: StoreKind> WithConfig<K> {
    /// `config` with the statistics it declares added to the kind's. The
    /// declared ones' text is leaked once per target: a scenario names a
    /// handful, and the statistics are `'static` everywhere else.
    fn new(config: K::Config) -> Self {
        let declared = K::declared_statistics(&config);
        if declared.is_empty() {
            return WithConfig {
                config,
                statistics: K::statistics(),
                levels: K::levels(),
            };
        }
        let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
        let mut statistics = K::statistics().to_vec();
        let mut levels = K::levels().to_vec();
        for d in declared {
            let name = leak(d.name);
            if d.level {
                levels.push(name);
            }
            statistics.push(StatDesc {
                name,
                unit: d.unit,
                help: leak(d.help),
            });
        }
        WithConfig {
            config,
            statistics: Box::leak(statistics.into_boxed_slice()),
            levels: Box::leak(levels.into_boxed_slice()),
        }
    }
}

impl<K: StoreKind> fmt::Debug for WithConfig<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple(K::NAME).field(&self.config).finish()
    }
}

impl<K: StoreKind> Configured for WithConfig<K> {
    fn name(&self) -> &'static str {
        K::NAME
    }
    fn capabilities(&self) -> Capabilities {
        K::capabilities(&self.config)
    }
    fn statistics(&self) -> &'static [StatDesc] {
        self.statistics
    }
    fn levels(&self) -> &'static [&'static str] {
        self.levels
    }
    fn ratios(&self) -> &'static [RatioStat] {
        K::ratios()
    }
    fn check(&self, workload: &Workload) -> Vec<Problem> {
        K::check(&self.config, workload)
    }
    fn describe(&self) -> String {
        K::describe(&self.config)
    }
    fn open(&self, dir: &Path) -> Result<Box<dyn Store>, StoreError> {
        K::open(&self.config, dir)
    }
    fn open_simulated(&self, fs: &SimFs, dir: &Path) -> Result<Box<dyn Store>, StoreError> {
        K::open_simulated(&self.config, fs, dir)
    }
    fn conformance_rules(&self, dir: &Path) -> Vec<CheckResult> {
        K::conformance_rules(&self.config, dir)
    }
    fn to_json(&self) -> Value {
        serde_json::to_value(&self.config).unwrap_or(Value::Null)
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
        TargetKind(Arc::new(WithConfig::<K>::new(config)))
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

    /// The kind's own rules beyond the store API
    /// ([`StoreKind::conformance_rules`]), checked in `dir`.
    pub fn conformance_rules(&self, dir: &Path) -> Vec<CheckResult> {
        self.0.conformance_rules(dir)
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

impl Registry {
    /// The kinds every loadline binary has, in the order the schema and
    /// messages list them: the one list of built-in kinds.
    pub fn builtin() -> Registry {
        let r = Registry::empty().with::<WalKind>();
        #[cfg(feature = "rocksdb")]
        let r = r.and_then(Registry::with::<RocksdbKind>);
        r.and_then(Registry::with::<MemoryKind>)
            .and_then(Registry::with::<RespKind>)
            .and_then(Registry::with::<ExternalKind>)
            .expect("built-in kind names are distinct")
    }
}

/// The cargo feature of loadline that adds built-in kind `kind`, when
/// this build was made without it (`rocksdb` in a build with
/// `default-features = false`); `None` for kinds this build has or never
/// heard of. Messages about an unknown kind say so.
pub fn missing_feature(kind: &str) -> Option<&'static str> {
    (cfg!(not(feature = "rocksdb")) && kind == "rocksdb").then_some("rocksdb")
}

/// Opens the store a target's kind names, in `dir`.
///
/// # Errors
///
/// Whatever the kind's `open` reports.
pub fn open(kind: &TargetKind, dir: &std::path::Path) -> Result<Box<dyn Store>, StoreError> {
    kind.open(dir)
}

/// The description of statistic `name` of the built-in store kind called
/// `kind` (for reports read back from disk, which name their kind).
pub fn stat_desc(kind: &str, name: &str) -> Option<&'static StatDesc> {
    static BUILTIN: std::sync::OnceLock<Registry> = std::sync::OnceLock::new();
    BUILTIN
        .get_or_init(Registry::builtin)
        .statistics(kind)
        .iter()
        .find(|d| d.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::conformance;
    use crate::store::{MemoryConfig, WalConfig};
    #[cfg(feature = "rocksdb")]
    use crate::store::{RocksdbConfig, RocksdbKind};

    /// The built-in kinds pass the same one-call conformance check as
    /// plug-in kinds (log and key-value as their capabilities say, kill -9
    /// for the crash-durable ones), at their default configs.
    #[test]
    fn memory_kind_conforms() {
        conformance::check_kind::<MemoryKind>(&MemoryConfig::default());
    }

    #[test]
    fn wal_kind_conforms() {
        conformance::check_kind::<WalKind>(&WalConfig::default());
    }

    #[cfg(feature = "rocksdb")]
    #[test]
    fn rocksdb_kind_conforms() {
        conformance::check_kind::<RocksdbKind>(&RocksdbConfig::default());
    }

    #[test]
    fn the_builtin_registry_lists_each_kind_once() {
        let r = Registry::builtin();
        assert_eq!(r.names(), ["wal", "rocksdb", "memory", "resp", "external"]);
        assert_eq!(
            Registry::builtin().with::<WalKind>().err(),
            Some(DuplicateKind("wal"))
        );
        assert!(r.configure("fjall", &serde_json::json!({})).is_none());
    }

    /// Guards issue 29: a `rocksdb:` target in a build without the
    /// feature is named as such, not as an unknown kind.
    #[test]
    fn a_kind_left_out_by_a_feature_names_the_feature() {
        let built = Registry::builtin().contains("rocksdb");
        assert_eq!(missing_feature("rocksdb").is_some(), !built);
        assert_eq!(missing_feature("wal"), None);
        assert_eq!(missing_feature("btree"), None);
    }
}
