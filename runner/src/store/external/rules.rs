//! The protocol rules `loadline conform` checks on an `external` plug-in,
//! beyond the store semantics the conformance suite checks through it:
//! the handshake, ids echoed, pipelined requests answered in any order,
//! `unsupported` for what it lacks, `noop`, `stats` for the statistics
//! `hello` offered, `close`, and a clean stdout. Each rule
//! is one [`CheckResult`] named `protocol: <rule>` whose failure says what
//! was seen. The rules are the numbered ones of
//! `docs/src/external-protocol.md`.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::{Value, json};

use super::probe::{Probe, REPLY_WAIT};
use super::protocol::{Capability, ErrorKind, HelloReply, Reply, StatOffer, VERSION};
use crate::store::conformance::{CheckResult, run_check};

/// Requests the pipelining rule writes before reading a reply.
const PIPELINED: u64 = 8;
/// Ids the ids rule asks with: 2^53 − 1 is the largest a plug-in in
/// JavaScript can echo exactly.
const ODD_IDS: [u64; 3] = [7, 9_007_199_254_740_991, 3];

/// What the rules start and expect: the target's `command`, its
/// `options` and the capabilities it claims.
pub(crate) struct Plugged<'a> {
    pub(crate) command: &'a [String],
    pub(crate) options: &'a Value,
    pub(crate) claimed: &'a [Capability],
}

/// Starts the plug-in `config` in `dir` and checks every protocol rule.
pub(crate) fn check_rules(config: &Plugged<'_>, dir: &Path) -> Vec<CheckResult> {
    let mut probe = match Probe::start(config.command, dir) {
        Ok(p) => p,
        Err(e) => {
            return vec![run_check("protocol: start", || {
                panic!("start: the plug-in did not start: {e}")
            })];
        }
    };
    let mut results = Vec::new();
    let mut hello = None;
    results.push(run_check("protocol: handshake", || {
        hello = Some(handshake(&mut probe, config, dir));
        format!("hello answered with version {VERSION} and the claimed capabilities")
    }));
    if let Some(hello) = hello.filter(|_| results[0].passed()) {
        let offered = &hello.capabilities;
        let has = |c| offered.contains(&c);
        let (log, kv) = (has(Capability::Log), has(Capability::Kv));
        results.push(run_check("protocol: ids echoed", || {
            ids_echoed(&mut probe, log)
        }));
        results.push(run_check("protocol: pipelined requests", || {
            pipelined(&mut probe, log)
        }));
        results.push(run_check("protocol: unsupported", || {
            unsupported(&mut probe, log, kv)
        }));
        results.push(run_check("protocol: noop", || noop(&mut probe)));
        results.push(run_check("protocol: statistics", || {
            statistics(&mut probe, &hello.statistics)
        }));
        results.push(run_check("protocol: close", || close(&mut probe)));
    }
    let stray = std::mem::take(&mut probe.stray);
    let (status, after) = probe.finish();
    if let Some(closed) = results
        .last_mut()
        .filter(|r| r.name == "protocol: close" && r.passed())
    {
        let took = closed.duration;
        *closed = run_check("protocol: close", || {
            let status = status.unwrap_or_else(|| {
                panic!(
                    "close: after its reply the plug-in did not exit within {}s (SIGKILLed)",
                    REPLY_WAIT.as_secs()
                )
            });
            assert!(
                status == "exit status: 0",
                "close: after its reply the plug-in must exit 0; it ended with {status}"
            );
            "answered `{}`, then exited 0".to_owned()
        });
        closed.duration += took;
    }
    results.push(run_check("protocol: clean stdout", || {
        assert!(
            stray.is_empty(),
            "clean stdout: the plug-in wrote {} line(s) on stdout that are not replies; the first: `{}` (diagnostics go to stderr)",
            stray.len(),
            stray.first().map_or("", String::as_str)
        );
        assert!(
            after.is_empty(),
            "clean stdout: the plug-in wrote after its reply to `close`: `{}`",
            after.first().map_or("", String::as_str)
        );
        "every stdout line was a reply".to_owned()
    }));
    results
}

/// A reply's `ok`, or a failure of `rule` naming the error it carried.
fn ok_of(rule: &str, asked: &str, reply: Reply) -> Value {
    match (reply.ok, reply.error) {
        (Some(ok), None) => ok,
        (None, Some(e)) => panic!(
            "{rule}: `{asked}` answered with an error ({:?}: {})",
            e.kind, e.message
        ),
        _ => panic!("{rule}: the reply to `{asked}` has both or neither of `ok` and `error`"),
    }
}

fn next_reply(probe: &mut Probe, rule: &str, asked: &str) -> Reply {
    probe
        .reply()
        .unwrap_or_else(|e| panic!("{rule}: `{asked}`: {e}"))
}

fn send(probe: &mut Probe, rule: &str, requests: &[Value]) {
    probe
        .send(requests)
        .unwrap_or_else(|e| panic!("{rule}: {e}"));
}

/// Rule 4: `hello` first, answered with loadline's version and every
/// capability the target claims. Returns what the plug-in offered.
fn handshake(probe: &mut Probe, config: &Plugged<'_>, dir: &Path) -> HelloReply {
    let rule = "handshake";
    send(
        probe,
        rule,
        &[json!({"id": 0, "op": "hello", "version": VERSION,
                 "dir": dir.to_string_lossy(), "options": config.options})],
    );
    let reply = next_reply(probe, rule, "hello");
    assert!(
        reply.id == 0,
        "{rule}: the reply to `hello` (id 0) carried id {}",
        reply.id
    );
    let ok = ok_of(rule, "hello", reply);
    let hello: HelloReply = serde_json::from_value(ok.clone()).unwrap_or_else(|e| {
        panic!("{rule}: `hello`'s ok is not {{\"version\", \"capabilities\"}} ({e}): {ok}")
    });
    assert!(
        hello.version == VERSION,
        "{rule}: the plug-in speaks version {}, loadline {VERSION}",
        hello.version
    );
    let missing: Vec<String> = config
        .claimed
        .iter()
        .filter(|c| !hello.capabilities.contains(c))
        .map(|c| format!("{c:?}"))
        .collect();
    assert!(
        missing.is_empty(),
        "{rule}: the target claims capabilities `hello` did not offer: {}",
        missing.join(", ")
    );
    hello
}

/// Statistics: `stats` answers a number for every statistic `hello`
/// offered (a plug-in offering none passes: they are optional).
fn statistics(probe: &mut Probe, offered: &[StatOffer]) -> String {
    let rule = "statistics";
    if offered.is_empty() {
        return "none offered in `hello` (optional)".to_owned();
    }
    send(probe, rule, &[json!({"id": 260, "op": "stats"})]);
    let reply = next_reply(probe, rule, "stats");
    assert!(
        reply.id == 260,
        "{rule}: the reply to `stats` (id 260) carried id {}",
        reply.id
    );
    let ok = ok_of(rule, "stats", reply);
    let values = ok
        .get("values")
        .and_then(Value::as_object)
        .unwrap_or_else(|| panic!("{rule}: `stats`' ok has no `values` object: {ok}"));
    for s in offered {
        assert!(
            values.get(&s.name).is_some_and(Value::is_number),
            "{rule}: `stats` has no number for `{}`, which `hello` offered: {ok}",
            s.name
        );
    }
    let names: Vec<&str> = offered.iter().map(|s| s.name.as_str()).collect();
    format!(
        "`stats` answered every offered statistic: {}",
        names.join(", ")
    )
}

/// A request every plug-in answers with `ok`: `bounds` of a stream when
/// it has `log`, else `get` of a key.
fn harmless(id: u64, log: bool) -> (Value, &'static str) {
    if log {
        (
            json!({"id": id, "op": "bounds", "stream": 9_000 + id % 1_000}),
            "bounds",
        )
    } else {
        (
            json!({"id": id, "op": "get", "key": "bG9hZGxpbmUtY29uZm9ybQ=="}),
            "get",
        )
    }
}

/// Rule 2: each reply carries its request's id, however odd the id.
fn ids_echoed(probe: &mut Probe, log: bool) -> String {
    let rule = "ids echoed";
    for id in ODD_IDS {
        let (req, op) = harmless(id, log);
        send(probe, rule, &[req]);
        let reply = next_reply(probe, rule, op);
        assert!(
            reply.id == id,
            "{rule}: the reply to `{op}` with id {id} carried id {}",
            reply.id
        );
        ok_of(rule, op, reply);
    }
    format!("replies to ids {ODD_IDS:?} carried them back")
}

/// Rule 2: several requests written before any reply is read are each
/// answered once; any order is accepted.
fn pipelined(probe: &mut Probe, log: bool) -> String {
    let rule = "pipelined requests";
    let ids: Vec<u64> = (100..100 + PIPELINED).collect();
    let (requests, ops): (Vec<Value>, Vec<&str>) = ids.iter().map(|&id| harmless(id, log)).unzip();
    send(probe, rule, &requests);
    let mut seen = Vec::new();
    for _ in &ids {
        let reply = next_reply(probe, rule, ops[0]);
        let id = reply.id;
        assert!(
            ids.contains(&id) && !seen.contains(&id),
            "{rule}: a reply carried id {id}; asked {ids:?}, answered so far {seen:?}"
        );
        ok_of(rule, ops[0], reply);
        seen.push(id);
    }
    let order = if seen == ids {
        "in order"
    } else {
        "out of order (accepted)"
    };
    let distinct: BTreeSet<u64> = seen.iter().copied().collect();
    format!(
        "{PIPELINED} requests written at once, {} replies, {order}",
        distinct.len()
    )
}

/// Rule 3: an op the plug-in does not offer — one of a family its
/// capabilities lack, or one the protocol may add later — answers
/// `unsupported`, and the plug-in keeps serving.
fn unsupported(probe: &mut Probe, log: bool, kv: bool) -> String {
    let rule = "unsupported";
    let mut asked = vec![(
        json!({"id": 200, "op": "loadline_conform_unknown_op"}),
        "loadline_conform_unknown_op",
    )];
    if !log {
        asked.push((
            json!({"id": 201, "op": "append", "stream": 0, "records": []}),
            "append (no `log`)",
        ));
    }
    if !kv {
        asked.push((
            json!({"id": 202, "op": "get", "key": "aw=="}),
            "get (no `kv`)",
        ));
    }
    for (req, op) in &asked {
        send(probe, rule, std::slice::from_ref(req));
        let reply = next_reply(probe, rule, op);
        let kind = reply.error.as_ref().map(|e| e.kind);
        assert!(
            kind == Some(ErrorKind::Unsupported),
            "{rule}: `{op}` must answer an error of kind `unsupported`; it answered {}",
            serde_json::to_string(&reply).unwrap_or_default()
        );
    }
    let (req, op) = harmless(203, log);
    send(probe, rule, &[req]);
    let reply = next_reply(probe, rule, op);
    ok_of(rule, op, reply);
    let names: Vec<&str> = asked.iter().map(|(_, op)| *op).collect();
    format!(
        "{} answered `unsupported`, then served on",
        names.join(", ")
    )
}

/// Rule 7: `noop` answers `{}` (the protocol's floor is then measured)
/// or `unsupported` (then it is not); anything else is a broken rule.
fn noop(probe: &mut Probe) -> String {
    let rule = "noop";
    send(probe, rule, &[json!({"id": 250, "op": "noop"})]);
    let reply = next_reply(probe, rule, "noop");
    assert!(
        reply.id == 250,
        "{rule}: the reply to `noop` (id 250) carried id {}",
        reply.id
    );
    match (&reply.ok, &reply.error) {
        (Some(ok), None) if ok.as_object().is_some_and(serde_json::Map::is_empty) => {
            "answered `{}`: the protocol's floor is measured".to_owned()
        }
        (None, Some(e)) if e.kind == ErrorKind::Unsupported => {
            "answered `unsupported`: the protocol's floor is not measured".to_owned()
        }
        _ => panic!(
            "{rule}: `noop` must answer `{{}}` or an error of kind `unsupported`; it answered {}",
            serde_json::to_string(&reply).unwrap_or_default()
        ),
    }
}

/// Rule 4: `close` answers `{}`, then the plug-in exits.
fn close(probe: &mut Probe) -> String {
    let rule = "close";
    send(probe, rule, &[json!({"id": 300, "op": "close"})]);
    let reply = next_reply(probe, rule, "close");
    assert!(
        reply.id == 300,
        "{rule}: the reply to `close` (id 300) carried id {}",
        reply.id
    );
    ok_of(rule, "close", reply);
    String::new()
}
