//! Store kinds: the [`StoreKind`] trait a kind implements (its YAML name,
//! config type, config checks, capabilities, statistics and `open`), what
//! its checks see ([`Workload`], [`AppendPlan`]) and report ([`Problem`],
//! [`ConfigError`]). The registry of kinds and the type-erased kind a
//! checked scenario holds are in `registry.rs`.
//!
//! Everything the rest of loadline needs to know about a kind goes through
//! these two files: validation asks
//! [`TargetKind::capabilities`](super::TargetKind::capabilities) and
//! [`TargetKind::check`](super::TargetKind::check), the schema embeds each
//! kind's config schema, the engine calls
//! [`TargetKind::open`](super::TargetKind::open), reports look up
//! [`TargetKind::statistics`](super::TargetKind::statistics). Nothing
//! outside a kind's own file matches on a kind or its name.

use std::fmt;
use std::path::Path;

use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::api::{Capabilities, RatioStat, StatDesc, Store, StoreError};
use super::conformance::CheckResult;
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

    /// Statistics a target adds to [`statistics`](Self::statistics) from
    /// its config — a kind whose stores report statistics only the config
    /// names (an `external` plug-in's own). Validation, reports and the
    /// phase bookkeeping treat them like the kind's own; the store must
    /// report them. Default: none.
    fn declared_statistics(config: &Self::Config) -> Vec<super::api::DeclaredStat> {
        let _ = config;
        Vec::new()
    }

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

    /// The kind's own rules beyond the store API, checked by `loadline
    /// conform` after the conformance suite: e.g. the `external` kind's
    /// protocol rules. Each result names its rule; the store is started in
    /// `dir` as the rules need.
    ///
    /// The default: none.
    fn conformance_rules(config: &Self::Config, dir: &Path) -> Vec<CheckResult> {
        let _ = (config, dir);
        Vec::new()
    }

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
