//! The `external` store kind: a store in any language, run by loadline as
//! a child process speaking the line-delimited JSON protocol of
//! `docs/src/external-protocol.md` on its stdin and stdout ([`super::protocol`]).
//!
//! The target's config names the command, passes `options` through to the
//! plug-in's `hello`, and claims the capabilities validation plans with;
//! opening checks the plug-in offers every claimed one. A crash phase's
//! writer process opens the store and so starts the plug-in, tied to it:
//! the SIGKILL of the writers SIGKILLs the plug-in, and the reopen starts
//! the same command on the same directory.
//!
//! Right after `hello`, opening times a hundred `noop` requests: their
//! median round trip is the protocol's floor (`noop_round_trip_ns`), which
//! the report sets beside each actor's latency and the store's own
//! per-op service time.

use std::path::Path;
use std::sync::atomic::Ordering;

use super::plugin::{COUNTED_OPS, Plugin};
use super::protocol::{Capability, Op, StatOffer, StatsReply};
use super::rules::{Plugged, check_rules};
use super::session::ExternalSession;

use crate::store::api::{
    Capabilities, DeclaredStat, RatioStat, Session, StatDesc, StatUnit, Store, StoreError,
    StoreStats,
};
use crate::store::conformance::CheckResult;
use crate::store::kind::{Problem, StoreKind, Workload};
use crate::store::service_time;

/// The `external` store kind.
pub struct ExternalKind;

/// The statistics of an `external` target: what its plug-in's replies
/// said, per op too, and the protocol's floor measured at open (the
/// plug-in is never asked for more). The per-op rows follow
/// [`COUNTED_OPS`]: a test keeps the two lists in step.
const STATS: &[StatDesc] = &service_time::op_service_stats!(
    "its replies' `service_ns`";
    StatDesc {
        name: "requests",
        unit: StatUnit::Count,
        help: "requests the plug-in answered (not `hello`, `noop` and `close`)",
    },
    StatDesc {
        name: "timed_requests",
        unit: StatUnit::Count,
        help: "replies that carried the store's own service time (`service_ns`)",
    },
    StatDesc {
        name: "service_ns",
        unit: StatUnit::Nanos,
        help: "the store's own service time, summed over the timed replies (as the plug-in measured it)",
    },
    StatDesc {
        name: "service_ns_per_request",
        unit: StatUnit::Nanos,
        help: "service_ns / timed_requests: the store's mean service time per request",
    },
    service_time::floor_desc(
        "the protocol's floor: the median round trip of a `noop` request, timed at open (absent when the plug-in answers `noop` with `unsupported`)"
    ),
    ;
    "append", "read", "trim", "sync", "bounds", "put", "get", "delete", "scan"
);

/// The ratio statistics: the mean service time overall and per op.
const RATIOS: &[RatioStat] = &service_time::op_service_ratios!(
    RatioStat {
        name: "service_ns_per_request",
        numerator: &["service_ns"],
        denominator: &["timed_requests"],
    },
    ;
    "append", "read", "trim", "sync", "bounds", "put", "get", "delete", "scan"
);

/// Options of the `external` store: the plug-in's command, its options and
/// what it can do.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct ExternalConfig {
    /// The plug-in's command line, program first, e.g. `[python3,
    /// examples/external/store.py]` (a relative program or path is found
    /// from loadline's working directory). It speaks the protocol of
    /// `docs/src/external-protocol.md` on stdin and stdout; its stderr goes
    /// to `plugin.log` in the target's directory.
    #[serde(default)]
    pub command: Vec<String>,
    /// Passed verbatim to the plug-in in its `hello` request.
    #[serde(default = "empty_object")]
    pub options: serde_json::Value,
    /// What the plug-in can do, as validation plans the phases: `log`,
    /// `kv`, `persistent`, `crash_durable`. Opening fails when the
    /// plug-in's `hello` reply does not offer every one listed. Default
    /// `[log]`.
    #[serde(default = "default_capabilities")]
    pub capabilities: Vec<Capability>,
    /// The plug-in's own statistics this target uses (in assertions,
    /// reports, the live endpoint): each `{name, unit, help?, level?}`.
    /// Validation knows them from here before the plug-in runs; opening
    /// fails when its `hello` does not offer each with the same unit, and
    /// loadline asks their values with `stats`. Default: none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub statistics: Vec<ExternalStat>,
}

/// A statistic of the plug-in's own, as a target's config declares it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct ExternalStat {
    /// Its name, `[a-z0-9_]+`: `target.store.<name>` in assertions.
    pub name: String,
    /// `count`, `bytes`, `nanos`, `micros` or `ratio`: how assertions read
    /// thresholds (`< 1GiB`) and reports print values.
    pub unit: StatUnit,
    /// One line for the report.
    #[serde(default)]
    pub help: String,
    /// A value at a moment (a phase reports its value at the end) rather
    /// than a counter (a phase reports its change). Default: false.
    #[serde(default)]
    pub level: bool,
}

fn empty_object() -> serde_json::Value {
    serde_json::Value::Object(serde_json::Map::new())
}

fn default_capabilities() -> Vec<Capability> {
    vec![Capability::Log]
}

impl Default for ExternalConfig {
    fn default() -> ExternalConfig {
        ExternalConfig {
            command: Vec::new(),
            options: empty_object(),
            capabilities: default_capabilities(),
            statistics: Vec::new(),
        }
    }
}

impl StoreKind for ExternalKind {
    const NAME: &'static str = "external";
    const ABOUT: &'static str = "A store in any language: a child process speaking loadline's line-delimited JSON protocol (docs/src/external-protocol.md) on stdin and stdout.";
    type Config = ExternalConfig;

    fn check(config: &ExternalConfig, _: &Workload) -> Vec<Problem> {
        let mut problems = Vec::new();
        if config.command.is_empty() {
            problems.push(
                Problem::error("command", "`command` is empty")
                    .expected("the plug-in's program and arguments, e.g. `[python3, store.py]`"),
            );
        }
        if !config.options.is_object() {
            problems.push(
                Problem::error("options", "`options` is not a mapping")
                    .expected("a mapping passed to the plug-in's `hello`"),
            );
        }
        problems.extend(check_statistics(&config.statistics));
        problems
    }

    fn declared_statistics(config: &ExternalConfig) -> Vec<DeclaredStat> {
        config
            .statistics
            .iter()
            .map(|s| DeclaredStat {
                name: s.name.clone(),
                unit: s.unit,
                help: if s.help.is_empty() {
                    "a statistic of the plug-in's own (its `stats` reply)".to_owned()
                } else {
                    s.help.clone()
                },
                level: s.level,
            })
            .collect()
    }

    fn capabilities(config: &ExternalConfig) -> Capabilities {
        let has = |c| config.capabilities.contains(&c);
        Capabilities {
            log: has(Capability::Log),
            kv: has(Capability::Kv),
            persistent: has(Capability::Persistent),
            crash_durable: has(Capability::CrashDurable),
            // The protocol requires plug-ins to serve pipelined requests
            // (replies in any order): each session keeps its own in flight.
            max_in_flight: u32::MAX,
            ..Capabilities::NONE
        }
    }

    fn statistics() -> &'static [StatDesc] {
        STATS
    }

    fn levels() -> &'static [&'static str] {
        &[service_time::NOOP_STAT]
    }

    fn ratios() -> &'static [RatioStat] {
        RATIOS
    }

    fn describe(config: &ExternalConfig) -> String {
        format!("plug-in `{}` over stdio JSON", config.command.join(" "))
    }

    fn open(config: &ExternalConfig, dir: &Path) -> Result<Box<dyn Store>, StoreError> {
        Ok(Box::new(ExternalStore::open(config, dir)?))
    }

    /// The protocol rules (`docs/src/external-protocol.md`): handshake, ids echoed,
    /// pipelined requests in any order, `unsupported`, `close`, clean
    /// stdout.
    fn conformance_rules(config: &ExternalConfig, dir: &Path) -> Vec<CheckResult> {
        let plugged = Plugged {
            command: &config.command,
            options: &config.options,
            claimed: &config.capabilities,
        };
        check_rules(&plugged, dir)
    }
}

/// The problems of declared statistics: a name that is not `[a-z0-9_]+`,
/// one of the kind's own, or given twice.
fn check_statistics(stats: &[ExternalStat]) -> Vec<Problem> {
    let mut problems = Vec::new();
    for (i, s) in stats.iter().enumerate() {
        let field = format!("statistics.{i}.name");
        let valid = !s.name.is_empty()
            && s.name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !valid {
            problems.push(
                Problem::error(
                    &field,
                    format!("statistic name `{}` is not `[a-z0-9_]+`", s.name),
                )
                .expected("lowercase letters, digits and `_`, e.g. `log_bytes`"),
            );
        } else if STATS.iter().any(|d| d.name == s.name) {
            problems.push(Problem::error(
                &field,
                format!(
                    "`{}` is a statistic loadline reports for every `external` target",
                    s.name
                ),
            ));
        } else if stats[..i].iter().any(|o| o.name == s.name) {
            problems.push(Problem::error(
                &field,
                format!("`{}` is declared twice", s.name),
            ));
        }
    }
    problems
}

/// The declared statistics `offered` lacks, or offers with another unit.
fn unoffered(declared: &[ExternalStat], offered: &[StatOffer]) -> Vec<String> {
    declared
        .iter()
        .filter_map(|d| match offered.iter().find(|o| o.name == d.name) {
            None => Some(format!("`{}` (not offered)", d.name)),
            Some(o) if o.unit != d.unit => Some(format!(
                "`{}` (offered in {:?}, declared in {:?})",
                d.name, o.unit, d.unit
            )),
            Some(_) => None,
        })
        .collect()
}

/// An open `external` target: the running plug-in.
pub struct ExternalStore {
    plugin: std::sync::Arc<Plugin>,
    capabilities: Capabilities,
    /// The median `noop` round trip measured at open, ns.
    floor_ns: Option<u64>,
    /// The plug-in's own statistics the target declares (asked with
    /// `stats`).
    declared: Vec<String>,
    closed: bool,
}

impl ExternalStore {
    /// Starts the plug-in of `config` on `dir` and checks it offers the
    /// capabilities `config` claims.
    ///
    /// # Errors
    ///
    /// [`StoreError::Io`] when the program cannot start,
    /// [`StoreError::Engine`] when the handshake fails, and
    /// [`StoreError::Invalid`] when a claimed capability is not offered.
    pub fn open(config: &ExternalConfig, dir: &Path) -> Result<ExternalStore, StoreError> {
        let plugin = Plugin::start(&config.command, &config.options, dir)?;
        let missing: Vec<String> = config
            .capabilities
            .iter()
            .filter(|c| !plugin.capabilities.contains(c))
            .map(|c| format!("{c:?}"))
            .collect();
        if !missing.is_empty() {
            plugin.kill();
            return Err(StoreError::Invalid {
                op: "hello",
                detail: format!(
                    "the target claims capabilities the plug-in does not offer: {}",
                    missing.join(", ")
                ),
            });
        }
        let floor_ns = match calibrate(&plugin) {
            Ok(floor) => floor,
            Err(e) => {
                plugin.kill();
                return Err(e);
            }
        };
        let unoffered = unoffered(&config.statistics, &plugin.statistics);
        if !unoffered.is_empty() {
            plugin.kill();
            return Err(StoreError::Invalid {
                op: "hello",
                detail: format!(
                    "the target declares statistics the plug-in does not offer: {}",
                    unoffered.join(", ")
                ),
            });
        }
        Ok(ExternalStore {
            declared: config.statistics.iter().map(|s| s.name.clone()).collect(),
            plugin: std::sync::Arc::new(plugin),
            capabilities: ExternalKind::capabilities(config),
            floor_ns,
            closed: false,
        })
    }
}

/// The protocol's floor: the median round trip of `noop` requests, or
/// `None` when the plug-in answers `noop` with `unsupported` (a crash
/// phase's reopen time includes it: a hundred round trips, under a
/// millisecond for a compiled plug-in).
///
/// # Errors
///
/// Any other failure of a `noop`.
fn calibrate(plugin: &Plugin) -> Result<Option<u64>, StoreError> {
    service_time::floor(|| match plugin.call::<serde_json::Value>(Op::Noop) {
        Ok(_) => Ok(true),
        Err(StoreError::Unsupported { .. }) => Ok(false),
        Err(e) => Err(e),
    })
}

impl Store for ExternalStore {
    fn capabilities(&self) -> Capabilities {
        self.capabilities
    }

    fn session(&self) -> Result<Box<dyn Session>, StoreError> {
        Ok(Box::new(ExternalSession::new(self.plugin.clone())))
    }

    fn stats(&self) -> StoreStats {
        let c = &self.plugin.counts;
        let get = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed) as f64;
        let (requests, timed, service) =
            (get(&c.requests), get(&c.timed_requests), get(&c.service_ns));
        let ratio = |n: f64, d: f64| if d > 0.0 { n / d } else { 0.0 };
        let mut values: std::collections::BTreeMap<String, f64> = [
            ("requests", requests),
            ("timed_requests", timed),
            ("service_ns", service),
            ("service_ns_per_request", ratio(service, timed)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        for (op, counts) in COUNTED_OPS.iter().zip(&c.per_op) {
            service_time::insert_op(&mut values, op, get(&counts.timed), get(&counts.service_ns));
        }
        if let Some(floor) = self.floor_ns {
            values.insert(service_time::NOOP_STAT.to_owned(), floor as f64);
        }
        if !self.declared.is_empty() {
            // Best effort, like every store's statistics: a plug-in that
            // fails `stats` shows missing values; its ops' errors say why.
            if let Ok(reply) = self.plugin.call::<StatsReply>(Op::Stats) {
                for name in &self.declared {
                    if let Some(&v) = reply.values.get(name) {
                        values.insert(name.clone(), v);
                    }
                }
            }
        }
        StoreStats {
            values,
            appendix: None,
        }
    }

    fn close(mut self: Box<Self>) -> Result<(), StoreError> {
        self.closed = true;
        self.plugin.close()
    }
}

impl Drop for ExternalStore {
    /// A store dropped without `close` (an error path) still ends its
    /// plug-in.
    fn drop(&mut self) {
        if !self.closed {
            self.plugin.kill();
        }
    }
}
