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

use std::path::Path;
use std::sync::atomic::Ordering;

use super::plugin::Plugin;
use super::protocol::Capability;
use super::rules::{Plugged, check_rules};
use super::session::ExternalSession;

use crate::store::api::{
    Capabilities, RatioStat, Session, StatDesc, StatUnit, Store, StoreError, StoreStats,
};
use crate::store::conformance::CheckResult;
use crate::store::kind::{Problem, StoreKind, Workload};

/// The `external` store kind.
pub struct ExternalKind;

/// The statistics of an `external` target: what its plug-in's replies
/// said (the plug-in is never asked for more).
const STATS: &[StatDesc] = &[
    StatDesc {
        name: "requests",
        unit: StatUnit::Count,
        help: "requests the plug-in answered (not `hello` and `close`)",
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
        help: "service_ns / timed_requests: the store's mean service time per request; an actor's mean latency minus it is the protocol's overhead per op",
    },
];

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
        problems
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

    fn ratios() -> &'static [RatioStat] {
        &[RatioStat {
            name: "service_ns_per_request",
            numerator: &["service_ns"],
            denominator: &["timed_requests"],
        }]
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

/// An open `external` target: the running plug-in.
pub struct ExternalStore {
    plugin: std::sync::Arc<Plugin>,
    capabilities: Capabilities,
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
        Ok(ExternalStore {
            plugin: std::sync::Arc::new(plugin),
            capabilities: ExternalKind::capabilities(config),
            closed: false,
        })
    }
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
        let per_request = if timed > 0.0 { service / timed } else { 0.0 };
        StoreStats {
            values: [
                ("requests", requests),
                ("timed_requests", timed),
                ("service_ns", service),
                ("service_ns_per_request", per_request),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
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
