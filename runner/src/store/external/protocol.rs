//! The messages of the `external` kind's protocol, version
//! [`VERSION`]: one JSON object per line on the plug-in's stdin
//! ([`Request`]) and stdout ([`Reply`]). `docs/src/external-protocol.md` is
//! the specification; `schemas/external-protocol.schema.json` is generated
//! from these types ([`schema`]) and guarded by a test.
//!
//! Byte strings (record bodies, keys, values) travel as standard base64.
//! It owns the wire types and their encoding; not the process or the
//! data path.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use crate::store::api::Keys;

/// The protocol version this loadline speaks.
pub const VERSION: u32 = 1;

/// Where the generated schema of the messages is committed.
pub const PROTOCOL_SCHEMA_PATH: &str = "schemas/external-protocol.schema.json";

/// A capability a plug-in offers in its `hello` reply and a target claims
/// in its config.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema, PartialOrd, Ord,
)]
#[serde(rename_all = "snake_case")]
pub enum Capability {
    /// append / read / trim / sync / bounds.
    Log,
    /// put / get / delete / scan.
    Kv,
    /// Data survives the plug-in exiting and starting again on the same
    /// directory.
    Persistent,
    /// Every acknowledged write survives a SIGKILL of the plug-in.
    CrashDurable,
}

/// A record's keys on the wire: absent for none, else `{"single": k}`,
/// `{"pair": [a, b]}` or `{"range": [first, last]}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WireKeys {
    /// One key.
    Single(u64),
    /// Two keys.
    Pair(u64, u64),
    /// An inclusive key range.
    Range(u64, u64),
}

impl WireKeys {
    pub(crate) fn of(keys: Keys) -> Option<WireKeys> {
        match keys {
            Keys::None => None,
            Keys::Single(a) => Some(WireKeys::Single(a)),
            Keys::Pair(a, b) => Some(WireKeys::Pair(a, b)),
            Keys::Range(a, b) => Some(WireKeys::Range(a, b)),
        }
    }

    pub(crate) fn keys(k: Option<WireKeys>) -> Keys {
        match k {
            None => Keys::None,
            Some(WireKeys::Single(a)) => Keys::Single(a),
            Some(WireKeys::Pair(a, b)) => Keys::Pair(a, b),
            Some(WireKeys::Range(a, b)) => Keys::Range(a, b),
        }
    }
}

/// Bytes as standard base64 text.
#[derive(Debug, Clone, PartialEq, Eq, Default, schemars::JsonSchema)]
#[schemars(transparent)]
pub struct Bytes(
    /// Standard base64 (RFC 4648, with padding).
    #[schemars(with = "String")]
    pub Vec<u8>,
);

impl Serialize for Bytes {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Bytes, D::Error> {
        let text = String::deserialize(d)?;
        STANDARD
            .decode(text.as_bytes())
            .map(Bytes)
            .map_err(serde::de::Error::custom)
    }
}

/// One record of an `append`, or of a `read` reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WireRecord {
    /// The record's offset (in `read` replies only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
    /// The record's keys; absent for none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keys: Option<WireKeys>,
    /// The record's body.
    pub body: Bytes,
}

/// A request from loadline, one line on the plug-in's stdin. `id` is
/// echoed by the reply; `op` names the operation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Request {
    /// Chosen by loadline, unique among the requests in flight; the reply
    /// carries it back.
    pub id: u64,
    /// The operation and its arguments.
    #[serde(flatten)]
    pub op: Op,
}

/// The operations, by `op`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Op {
    /// The first request: open the store in `dir`. Reply `{"version": 1,
    /// "capabilities": [...]}`.
    Hello {
        /// The protocol version loadline speaks: 1.
        version: u32,
        /// The target's data directory: the plug-in keeps its files here;
        /// the same directory again after a restart.
        dir: String,
        /// The target's `options`, verbatim.
        options: serde_json::Value,
    },
    /// Append `records` to `stream` atomically. Reply `{"first": offset}`.
    Append {
        /// The stream.
        stream: u64,
        /// The batch, in order.
        records: Vec<WireRecord>,
    },
    /// Read from `from` (or the trim point, if later) up to `max_bytes` of
    /// bodies (at least one record when one is available). Reply
    /// `{"records": [...], "next": offset}`.
    Read {
        /// The stream.
        stream: u64,
        /// The first offset wanted.
        from: u64,
        /// The most body bytes to return.
        max_bytes: u64,
    },
    /// Make records below `up_to` invisible (clamped to the tail; never
    /// moves back). Reply `{}`.
    Trim {
        /// The stream.
        stream: u64,
        /// The new trim point.
        up_to: u64,
    },
    /// Make every acknowledged append durable. Reply `{}`.
    Sync,
    /// The visible extent of `stream`. Reply `{"trim_point": o, "tail": o}`.
    Bounds {
        /// The stream.
        stream: u64,
    },
    /// Set `key` to `value`. Reply `{}`.
    Put {
        /// The key.
        key: Bytes,
        /// The value.
        value: Bytes,
    },
    /// Read `key`. Reply `{"value": bytes}`, or `{}` when absent.
    Get {
        /// The key.
        key: Bytes,
    },
    /// Remove `key` (absent is fine). Reply `{}`.
    Delete {
        /// The key.
        key: Bytes,
    },
    /// Up to `limit` values of the keys `>= start`, in key order. Reply
    /// `{"values": [bytes, ...]}`.
    Scan {
        /// The first key.
        start: Bytes,
        /// The most pairs.
        limit: u64,
    },
    /// The current values of the statistics `hello` offered. Reply
    /// `{"values": {"<name>": number, ...}}`. Asked only of a plug-in that
    /// offered some.
    Stats,
    /// Do nothing and reply `{}` at once: loadline times a run of them
    /// after `hello` to learn the protocol's floor, the round trip of a
    /// request the store spends no time on. Optional: a plug-in may
    /// answer `unsupported`, and the floor is then not reported.
    Noop,
    /// Close the store and exit 0 after replying `{}`.
    Close,
}

/// A reply, one line on the plug-in's stdout: exactly one of `ok` and
/// `error`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Reply {
    /// The request's `id`.
    pub id: u64,
    /// The result, shaped by the request's `op`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ok: Option<serde_json::Value>,
    /// Why the request failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<WireError>,
    /// Optional: the nanoseconds the store spent on the request, measured
    /// by the plug-in from parsing the request to writing the reply.
    /// loadline sums it into the target's `service_ns` statistic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_ns: Option<u64>,
}

/// A failed request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WireError {
    /// `unsupported` (the plug-in lacks the operation), `invalid` (the
    /// request broke the contract) or `engine` (the store failed).
    pub kind: ErrorKind,
    /// What went wrong, for people.
    pub message: String,
}

/// The kinds of error a reply can carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The plug-in does not offer the operation.
    Unsupported,
    /// The request broke the contract.
    Invalid,
    /// The store failed.
    Engine,
}

/// The `ok` of the reply to `hello`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct HelloReply {
    /// The protocol version the plug-in speaks; must equal loadline's.
    pub version: u32,
    /// What the plug-in can do.
    pub capabilities: Vec<Capability>,
    /// The store's own statistics, which `stats` reports (optional). A
    /// target names those it asserts on in its config's `statistics`;
    /// opening fails when one of them is not offered here with the same
    /// unit.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub statistics: Vec<StatOffer>,
}

/// A statistic a plug-in offers in its `hello` reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct StatOffer {
    /// Its name, `[a-z0-9_]+` (`target.store.<name>` in assertions).
    pub name: String,
    /// `count`, `bytes`, `nanos`, `micros` or `ratio`.
    pub unit: crate::store::api::StatUnit,
    /// A value at a moment (a size, a queue length) rather than a counter
    /// that only grows while the store is open.
    #[serde(default)]
    pub level: bool,
}

/// The `ok` of the reply to `stats`.
#[derive(Debug, Clone, PartialEq, Deserialize, schemars::JsonSchema)]
pub struct StatsReply {
    /// The value of each statistic `hello` offered.
    pub values: std::collections::BTreeMap<String, f64>,
}

/// The `ok` of the reply to `append`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
pub struct AppendReply {
    /// The offset of the batch's first record.
    pub first: u64,
}

/// The `ok` of the reply to `read`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
pub struct ReadReply {
    /// The records, in offset order.
    pub records: Vec<WireRecord>,
    /// The offset to read next.
    pub next: u64,
}

/// The `ok` of the reply to `bounds`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
pub struct BoundsReply {
    /// The first visible offset.
    pub trim_point: u64,
    /// The offset the next append gets.
    pub tail: u64,
}

/// The `ok` of the reply to `get`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
pub struct GetReply {
    /// The value; absent when the key is.
    #[serde(default)]
    pub value: Option<Bytes>,
}

/// The `ok` of the reply to `scan`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
pub struct ScanReply {
    /// The values, in key order.
    pub values: Vec<Bytes>,
}

/// The JSON Schema of every message: `request` and `reply` lines, and the
/// `ok` of each reply by op.
pub fn schema() -> serde_json::Value {
    let mut g = schemars::SchemaGenerator::default();
    let mut defs = serde_json::Map::new();
    for (name, s) in [
        ("request", g.subschema_for::<Request>()),
        ("reply", g.subschema_for::<Reply>()),
        ("hello_ok", g.subschema_for::<HelloReply>()),
        ("append_ok", g.subschema_for::<AppendReply>()),
        ("read_ok", g.subschema_for::<ReadReply>()),
        ("bounds_ok", g.subschema_for::<BoundsReply>()),
        ("get_ok", g.subschema_for::<GetReply>()),
        ("scan_ok", g.subschema_for::<ScanReply>()),
        ("stats_ok", g.subschema_for::<StatsReply>()),
    ] {
        defs.insert(name.to_owned(), s.to_value());
    }
    for (k, v) in g.take_definitions(true) {
        defs.insert(k, v);
    }
    serde_json::json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": format!("loadline external store protocol, version {VERSION}"),
        "description": "One JSON object per line. loadline writes `request` lines to the plug-in's stdin; the plug-in writes one `reply` line per request to its stdout. The `ok` of a reply has the shape `<op>_ok` (an empty object for trim, sync, put, delete, close). See docs/src/external-protocol.md.",
        "oneOf": [
            { "$ref": "#/$defs/request" },
            { "$ref": "#/$defs/reply" }
        ],
        "$defs": defs,
    })
}
