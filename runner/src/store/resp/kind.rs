//! The `resp` store kind: a Redis-protocol server (Redis, Valkey, KeyDB,
//! Dragonfly, Kvrocks, Garnet …) reached over TCP. Its config, checks,
//! capabilities, statistics and `open`, and [`RespStore`], the shared
//! handle whose sessions are connections.
//!
//! The target's data lives in the server, under the config's `prefix`; the
//! target's directory only remembers that this target has started: a
//! fresh directory (a new target, a new run) first deletes every key under
//! the prefix, a directory seen before (a restart) keeps them. With
//! `server`, opening starts the server and closing shuts it down
//! ([`super::server`]).
//!
//! Opening times a hundred `PING`s (the protocol's floor,
//! `noop_round_trip_ns`); the statistics add, per op, the server's own
//! time from `INFO commandstats`, so `report.md` can tell the server's
//! time from the network's and the client's.

use std::path::Path;
use std::sync::Mutex;

use super::conn::Conn;
use super::info;
use super::server::{Server, ServerConfig};
use super::session::{RespSession, glob_escape};
use crate::store::api::{Capabilities, RatioStat, StatDesc, Store, StoreError, StoreStats};
use crate::store::kind::{Problem, StoreKind, Workload};
use crate::store::service_time;

/// The `resp` store kind: [`RespStore`] under a target.
#[derive(Debug, Clone, Copy, Default)]
pub struct RespKind;

/// Options of the `resp` store: which server, and where in it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct RespConfig {
    /// The server, `host:port`. Each worker opens its own connection, so
    /// an actor's `workers` are its connections; an append, `put` or
    /// `delete` batch of N is pipelined on one connection. Default
    /// `127.0.0.1:6379`.
    #[serde(default = "default_address")]
    pub address: String,
    /// Prefix of every key loadline writes (`<prefix>log:<stream>` for a
    /// stream, `<prefix>kv:<key>` for a pair). Each new target deletes
    /// every key under it first, so give each target its own and never
    /// point it at data you keep. Default `loadline:`.
    #[serde(default = "default_prefix")]
    pub prefix: String,
    /// The logical database (`SELECT`). Default `0`.
    #[serde(default)]
    pub db: u32,
    /// A server for loadline to start when the store opens and shut down
    /// when it closes. Then `restart: crash` kills -9 the server together
    /// with loadline's writers, restarts it on the same directory (timed
    /// as the reopen) and verifies every acknowledged write. Absent: the
    /// server at `address` is someone else's and keeps running.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<ServerConfig>,
}

fn default_address() -> String {
    "127.0.0.1:6379".to_owned()
}

fn default_prefix() -> String {
    "loadline:".to_owned()
}

impl Default for RespConfig {
    fn default() -> RespConfig {
        RespConfig {
            address: default_address(),
            prefix: default_prefix(),
            db: 0,
            server: None,
        }
    }
}

/// Log and key-value operations. The data lives in the server, so it
/// survives a reopen and a kill -9 of loadline's writers; whether it
/// survives a crash of the *server* is the server's persistence setting.
const CAPABILITIES: Capabilities = Capabilities {
    log: true,
    kv: true,
    persistent: true,
    crash_durable: true,
    // Requests in flight on a session's connection: the server answers
    // them in order (`pipeline`). No limit of its own beyond validation's.
    max_in_flight: u32::MAX,
    ..Capabilities::NONE
};

/// The file in the target's directory saying the target has started.
const MARKER: &str = "resp-target";

impl StoreKind for RespKind {
    const NAME: &'static str = "resp";
    const ABOUT: &'static str = "A Redis-protocol server (Redis, Valkey, KeyDB, Dragonfly …) over TCP: key-value ops as commands, log streams as Redis Streams.";
    type Config = RespConfig;

    fn check(config: &RespConfig, _: &Workload) -> Vec<Problem> {
        let mut problems = Vec::new();
        if config.prefix.is_empty() {
            problems.push(
                Problem::error("prefix", "an empty `prefix` is refused")
                    .expected("a non-empty key prefix, e.g. `loadline:`")
                    .help("a new target deletes every key under its prefix; an empty prefix is the whole database"),
            );
        }
        let port = config
            .address
            .rsplit_once(':')
            .and_then(|(host, port)| (!host.is_empty()).then_some(port))
            .and_then(|p| p.parse::<u16>().ok());
        if config.server.as_ref().is_some_and(|s| s.command.is_empty()) {
            problems.push(
                Problem::error("server/command", "`command` is empty").expected(
                    "the server's program and arguments, e.g. `[redis-server, --port, \"6390\"]`",
                ),
            );
        }
        if port.is_none() {
            problems.push(
                Problem::error("address", "`address` is not `host:port`")
                    .expected("`host:port`, e.g. `127.0.0.1:6379`")
                    .found(config.address.clone()),
            );
        }
        problems
    }

    fn capabilities(_: &RespConfig) -> Capabilities {
        CAPABILITIES
    }

    fn statistics() -> &'static [StatDesc] {
        &info::STATS
    }

    fn levels() -> &'static [&'static str] {
        &info::LEVELS
    }

    fn ratios() -> &'static [RatioStat] {
        info::RATIOS
    }

    fn describe(config: &RespConfig) -> String {
        let started = config
            .server
            .as_ref()
            .map(|s| format!("; loadline starts `{}`", s.command.join(" ")))
            .unwrap_or_default();
        format!(
            "Redis protocol at {} (db {}), keys under `{}`{started}",
            config.address, config.db, config.prefix
        )
    }

    fn open(config: &RespConfig, dir: &Path) -> Result<Box<dyn Store>, StoreError> {
        RespStore::open(config, dir).map(|s| Box::new(s) as Box<dyn Store>)
    }
}

/// A target on a Redis-protocol server: opened once, shared by workers;
/// each [`session`](Store::session) is a new connection.
pub struct RespStore {
    config: RespConfig,
    /// The connection statistics are read on.
    admin: Mutex<Conn>,
    /// The server loadline started for the target, if it did.
    server: Option<Server>,
    /// The median `PING` round trip measured at open, ns.
    floor_ns: Option<u64>,
}

impl RespStore {
    /// Connects to the server of `config`; when `dir` has not seen this
    /// target before, deletes every key under the prefix.
    ///
    /// # Errors
    ///
    /// [`StoreError::Io`] when the server cannot be reached or the marker
    /// cannot be written; [`StoreError::Engine`] for a server error.
    pub fn open(config: &RespConfig, dir: &Path) -> Result<RespStore, StoreError> {
        let server = match &config.server {
            Some(s) => Some(Server::start(s, dir, &config.address)?),
            None => None,
        };
        let mut admin = Conn::connect(&config.address, config.db)?;
        let marker = dir.join(MARKER);
        if !marker.exists() {
            clear_prefix(&mut admin, &config.prefix)?;
            std::fs::create_dir_all(dir).map_err(|source| StoreError::Io {
                op: "create directory",
                path: dir.to_owned(),
                source,
            })?;
            std::fs::write(
                &marker,
                format!(
                    "address {}\ndb {}\nprefix {}\n",
                    config.address, config.db, config.prefix
                ),
            )
            .map_err(|source| StoreError::Io {
                op: "write",
                path: marker.clone(),
                source,
            })?;
        }
        // The protocol's floor, once, before anything is measured.
        let floor_ns = service_time::floor(|| admin.call(&[b"PING"], "ping").map(|_| true))?;
        Ok(RespStore {
            config: config.clone(),
            admin: Mutex::new(admin),
            server,
            floor_ns,
        })
    }
}

/// Deletes every key starting with `prefix` (`SCAN … MATCH`, `UNLINK`).
fn clear_prefix(conn: &mut Conn, prefix: &str) -> Result<(), StoreError> {
    use super::codec::Frame;
    let pattern = [glob_escape(prefix.as_bytes()), b"*".to_vec()].concat();
    let mut cursor = b"0".to_vec();
    loop {
        let reply = conn.call(
            &[b"SCAN", &cursor, b"MATCH", &pattern, b"COUNT", b"1000"],
            "clear prefix (SCAN)",
        )?;
        let Frame::Array(Some(mut parts)) = reply else {
            return Err(super::conn::unexpected("clear prefix (SCAN)", &reply));
        };
        let (Some(Frame::Array(Some(keys))), Some(Frame::Bulk(Some(next)))) =
            (parts.pop(), parts.pop())
        else {
            return Err(StoreError::Engine {
                op: "clear prefix (SCAN)",
                detail: "unexpected reply".to_owned(),
            });
        };
        let keys: Vec<Vec<u8>> = keys
            .into_iter()
            .filter_map(|k| match k {
                Frame::Bulk(Some(k)) => Some(k),
                _ => None,
            })
            .collect();
        if !keys.is_empty() {
            let mut args: Vec<&[u8]> = vec![b"UNLINK"];
            args.extend(keys.iter().map(Vec::as_slice));
            conn.call(&args, "clear prefix (UNLINK)")?;
        }
        if next == b"0" {
            return Ok(());
        }
        cursor = next;
    }
}

impl Store for RespStore {
    fn capabilities(&self) -> Capabilities {
        CAPABILITIES
    }

    fn session(&self) -> Result<Box<dyn crate::store::api::Session>, StoreError> {
        let conn = Conn::connect(&self.config.address, self.config.db)?;
        Ok(Box::new(RespSession::new(conn, &self.config.prefix)))
    }

    fn stats(&self) -> StoreStats {
        let mut admin = self
            .admin
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Statistics are best effort: a server that stopped answering
        // shows as missing values, and the ops' errors say why.
        let mut stats = match admin.call(&[b"INFO"], "stats (INFO)") {
            Ok(super::codec::Frame::Bulk(Some(text))) => {
                info::parse(&String::from_utf8_lossy(&text))
            }
            _ => return StoreStats::default(),
        };
        if let Ok(super::codec::Frame::Bulk(Some(text))) =
            admin.call(&[b"INFO", b"commandstats"], "stats (INFO commandstats)")
        {
            info::parse_commandstats(&String::from_utf8_lossy(&text), &mut stats);
        }
        if let Some(floor) = self.floor_ns {
            stats
                .values
                .insert(service_time::NOOP_STAT.to_owned(), floor as f64);
        }
        stats
    }

    fn close(mut self: Box<Self>) -> Result<(), StoreError> {
        self.server.take().map_or(Ok(()), Server::stop)
    }
}

impl Drop for RespStore {
    /// A store dropped without `close` (an error path) still stops the
    /// server it started.
    fn drop(&mut self) {
        if let Some(s) = self.server.take() {
            let _ = s.stop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(config: &RespConfig) -> Vec<String> {
        RespKind::check(config, &Workload::default())
            .iter()
            .map(|p| p.message().to_owned())
            .collect()
    }

    #[test]
    fn the_default_config_is_valid_and_bad_fields_are_located() {
        assert!(problems(&RespConfig::default()).is_empty());
        let bad = RespConfig {
            address: "localhost".to_owned(),
            prefix: String::new(),
            db: 0,
            server: None,
        };
        assert_eq!(
            problems(&bad),
            [
                "an empty `prefix` is refused",
                "`address` is not `host:port`"
            ]
        );
        let config: RespConfig =
            serde_json::from_value(serde_json::json!({})).expect("{} is valid");
        assert_eq!(config, RespConfig::default());
    }
}
