//! The `external` kind through the Python reference plug-in
//! (`examples/external/store.py`): the conformance suite (log, key-value,
//! kill -9 durability with the plug-in SIGKILLed together with its writer)
//! and the protocol's failure modes, with small shell plug-ins that break
//! one rule each.

use std::path::Path;

use super::protocol::Capability;
use super::{ExternalConfig, ExternalKind, ExternalStat};
use crate::store::api::{StatUnit, StoreError};
use crate::store::conformance;
use crate::store::kind::StoreKind;

fn python() -> ExternalConfig {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/external/store.py");
    ExternalConfig {
        command: vec!["python3".to_owned(), script.to_string_lossy().into_owned()],
        capabilities: vec![
            Capability::Log,
            Capability::Kv,
            Capability::Persistent,
            Capability::CrashDurable,
        ],
        ..ExternalConfig::default()
    }
}

fn sh(script: &str, capabilities: Vec<Capability>) -> ExternalConfig {
    ExternalConfig {
        command: vec!["sh".to_owned(), "-c".to_owned(), script.to_owned()],
        capabilities,
        ..ExternalConfig::default()
    }
}

/// Log, key-value and kill -9 (20 cycles: the writer process and the
/// plug-in it started are SIGKILLed; every acknowledged record is back).
#[test]
fn the_python_plugin_passes_the_conformance_suite() {
    conformance::check_kind::<ExternalKind>(&python());
}

fn open_err(config: &ExternalConfig) -> StoreError {
    let root = tempfile::tempdir().expect("temp dir");
    ExternalKind::open(config, root.path())
        .err()
        .expect("open refused")
}

const HELLO_OK: &str = r#"read l; echo '{"id":0,"ok":{"version":1,"capabilities":["log"]}}'"#;

/// [`HELLO_OK`], then the first calibration `noop` (id 1) answered
/// `unsupported`, which ends the calibration: the next request has id 2.
const HELLO_NOOP: &str = r#"read l; echo '{"id":0,"ok":{"version":1,"capabilities":["log"]}}'; read l; echo '{"id":1,"error":{"kind":"unsupported","message":"no noop"}}'"#;

#[test]
fn a_claimed_capability_the_plugin_lacks_is_refused_at_open() {
    let err = open_err(&sh(HELLO_OK, vec![Capability::Log, Capability::Kv]));
    assert!(
        matches!(&err, StoreError::Invalid { op: "hello", detail } if detail.contains("Kv")),
        "{err}"
    );
}

#[test]
fn another_protocol_version_is_refused() {
    let err = open_err(&sh(
        r#"read l; echo '{"id":0,"ok":{"version":2,"capabilities":["log"]}}'"#,
        vec![Capability::Log],
    ));
    assert!(
        matches!(&err, StoreError::Engine { op: "hello", detail } if detail.contains("version 2")),
        "{err}"
    );
}

/// The plug-in may be gone before `hello` is written (a broken pipe) or
/// after (its stdout closed): either way the error quotes its stderr.
#[test]
fn a_plugin_that_exits_is_an_error_naming_its_log() {
    let err = open_err(&sh("echo broken >&2; exit 3", vec![Capability::Log]));
    assert!(
        matches!(&err, StoreError::Engine { op: "start plug-in", detail } if detail.starts_with("hello: ") && detail.ends_with("end of plugin.log: broken")),
        "{err}"
    );
}

#[test]
fn stray_output_and_wrong_ids_and_error_replies_are_errors() {
    let root = tempfile::tempdir().expect("temp dir");
    let script = format!(
        "{HELLO_NOOP}; read l; echo 'debug output'; read l; echo '{{\"id\":7,\"ok\":{{}}}}'; \
         read l; echo '{{\"id\":4,\"error\":{{\"kind\":\"unsupported\",\"message\":\"no\"}}}}'; \
         read l; echo '{{\"id\":5,\"ok\":{{}}}}'"
    );
    let store = ExternalKind::open(&sh(&script, vec![Capability::Log]), root.path()).expect("open");
    let mut s = store.session().expect("session");
    let err = s.sync().expect_err("stray output");
    assert!(
        matches!(&err, StoreError::Engine { op: "sync", detail } if detail.contains("not a reply line")),
        "{err}"
    );
    let err = s.sync().expect_err("wrong id");
    assert!(
        matches!(&err, StoreError::Engine { op: "sync", detail } if detail.contains("id 7 when 3")),
        "{err}"
    );
    let err = s.bounds(0).expect_err("unsupported");
    assert!(
        matches!(&err, StoreError::Unsupported { op: "bounds", .. }),
        "{err}"
    );
    let err = s.bounds(0).expect_err("ok of the wrong shape");
    assert!(
        matches!(&err, StoreError::Engine { op: "bounds", detail } if detail.contains("unexpected `ok`")),
        "{err}"
    );
    drop(s);
    drop(store);
}

/// The reference plug-in times every request; its replies' `service_ns`
/// are summed into the target's statistics, `hello` and `close` left out.
#[test]
fn replies_service_times_are_the_targets_statistics() {
    let root = tempfile::tempdir().expect("temp dir");
    let store = ExternalKind::open(&python(), root.path()).expect("open");
    let mut s = store.session().expect("session");
    for i in 0..10u8 {
        s.put(&[i], b"v").expect("put");
    }
    let stats = store.stats().values;
    assert_eq!(stats["requests"], 10.0, "{stats:?}");
    assert_eq!(stats["timed_requests"], 10.0, "{stats:?}");
    assert!(stats["service_ns"] > 0.0, "{stats:?}");
    assert_eq!(
        stats["service_ns_per_request"],
        stats["service_ns"] / 10.0,
        "{stats:?}"
    );
    drop(s);
    store.close().expect("close");
}

/// A version 1 plug-in that sends no `service_ns` still works: its
/// requests count, none is timed.
#[test]
fn replies_without_service_time_count_untimed() {
    let root = tempfile::tempdir().expect("temp dir");
    let script = format!("{HELLO_NOOP}; read l; echo '{{\"id\":2,\"ok\":{{}}}}'; sleep 5");
    let store = ExternalKind::open(&sh(&script, vec![Capability::Log]), root.path()).expect("open");
    store.session().expect("session").sync().expect("sync");
    let stats = store.stats().values;
    assert_eq!(
        (
            stats["requests"],
            stats["timed_requests"],
            stats["service_ns_per_request"]
        ),
        (1.0, 0.0, 0.0),
        "{stats:?}"
    );
    assert!(
        !stats.contains_key(crate::store::service_time::NOOP_STAT),
        "no floor from a plug-in without `noop`: {stats:?}"
    );
}

/// Opening times `noop`s: the floor is a positive round trip. Each op's
/// timed replies and service time are counted apart, and the per-op
/// ratios add up to the overall one.
#[test]
fn the_floor_is_measured_at_open_and_service_time_is_counted_per_op() {
    let root = tempfile::tempdir().expect("temp dir");
    let store = ExternalKind::open(&python(), root.path()).expect("open");
    let mut s = store.session().expect("session");
    for i in 0..6u8 {
        s.put(&[i], b"v").expect("put");
    }
    let mut v = Vec::new();
    for i in 0..4u8 {
        s.get(&[i], &mut v).expect("get");
    }
    let stats = store.stats().values;
    assert!(
        stats[crate::store::service_time::NOOP_STAT] > 0.0,
        "{stats:?}"
    );
    assert_eq!(stats["requests"], 10.0, "noops are not requests: {stats:?}");
    assert_eq!(
        (
            stats["put_timed_requests"],
            stats["get_timed_requests"],
            stats["append_timed_requests"]
        ),
        (6.0, 4.0, 0.0),
        "{stats:?}"
    );
    assert_eq!(
        stats["put_service_ns"] + stats["get_service_ns"],
        stats["service_ns"],
        "{stats:?}"
    );
    assert_eq!(
        stats["get_service_ns_per_request"],
        stats["get_service_ns"] / 4.0,
        "{stats:?}"
    );
    drop(s);
    store.close().expect("close");
}

/// Every op counted per op has its three statistics and its ratio
/// declared, so `target.store.<op>_service_ns_per_request` validates.
#[test]
fn every_counted_op_has_its_statistics_declared() {
    let names: Vec<&str> = ExternalKind::statistics().iter().map(|d| d.name).collect();
    let ratios: Vec<&str> = ExternalKind::ratios().iter().map(|r| r.name).collect();
    for op in super::plugin::COUNTED_OPS {
        for stat in ["timed_requests", "service_ns", "service_ns_per_request"] {
            let name = format!("{op}_{stat}");
            assert!(names.contains(&name.as_str()), "{name} not declared");
        }
        let ratio = format!("{op}_service_ns_per_request");
        assert!(ratios.contains(&ratio.as_str()), "{ratio} not a ratio");
    }
    assert_eq!(names.len(), 5 + 3 * super::plugin::COUNTED_OPS.len());
}

/// A `noop` answered with anything but `{}` or `unsupported` fails the
/// open with the plug-in's answer.
#[test]
fn a_noop_answered_with_an_engine_error_fails_the_open() {
    let err = open_err(&sh(
        &format!(
            r#"{HELLO_OK}; read l; echo '{{"id":1,"error":{{"kind":"engine","message":"boom"}}}}'"#
        ),
        vec![Capability::Log],
    ));
    assert!(
        matches!(&err, StoreError::Engine { op: "noop", detail } if detail == "boom"),
        "{err}"
    );
}

#[test]
fn a_started_plugin_ends_on_close_and_keeps_its_data_for_the_next() {
    let root = tempfile::tempdir().expect("temp dir");
    let c = python();
    let store = ExternalKind::open(&c, root.path()).expect("open");
    store
        .session()
        .expect("session")
        .put(b"k", b"v")
        .expect("put");
    store.close().expect("close");
    assert!(
        !root.path().join("plugin.pid").exists(),
        "no pid file after close"
    );
    let store = ExternalKind::open(&c, root.path()).expect("reopen");
    let mut v = Vec::new();
    assert!(
        store.session().expect("s").get(b"k", &mut v).expect("get") && v == b"v",
        "the restarted plug-in has the data"
    );
    store.close().expect("close");
}

/// A log-only plug-in for the protocol rules: `bounds` of empty streams,
/// the eight pipelined requests (ids 100..108) answered in reverse order,
/// every other op `unsupported` — or, with `engine` as its argument,
/// an `engine` error instead (a broken rule).
const FAKE: &str = r#"
import json, sys
held = []
for line in sys.stdin:
    req = json.loads(line)
    op, i = req["op"], req["id"]
    if op == "hello":
        reply = {"id": i, "ok": {"version": 1, "capabilities": ["log"]}}
    elif op == "bounds":
        reply = {"id": i, "ok": {"trim_point": 0, "tail": 0}}
    elif op in ("close", "noop"):
        reply = {"id": i, "ok": {}}
    else:
        kind = sys.argv[1] if len(sys.argv) > 1 else "unsupported"
        reply = {"id": i, "error": {"kind": kind, "message": "no " + op}}
    if 100 <= i < 108:
        held.append(reply)
        if len(held) < 8:
            continue
        out = reversed(held)
    else:
        out = [reply]
    for r in out:
        sys.stdout.write(json.dumps(r) + "\n")
    sys.stdout.flush()
    if op == "close":
        break
"#;

fn fake(args: &[&str]) -> ExternalConfig {
    let mut command = vec!["python3".to_owned(), "-c".to_owned(), FAKE.to_owned()];
    command.extend(args.iter().map(|a| (*a).to_owned()));
    ExternalConfig {
        command,
        ..ExternalConfig::default()
    }
}

fn failures(config: &ExternalConfig) -> Vec<(String, String)> {
    let root = tempfile::tempdir().expect("temp dir");
    let results = ExternalKind::conformance_rules(config, root.path());
    assert!(results.len() >= 6, "every rule ran: {results:?}");
    results
        .into_iter()
        .filter_map(|r| r.failure.map(|f| (r.name, f)))
        .collect()
}

#[test]
fn the_rules_accept_replies_out_of_order_and_unsupported_for_a_missing_family() {
    assert_eq!(failures(&fake(&[])), Vec::new());
}

#[test]
fn an_engine_error_for_an_op_the_plugin_lacks_breaks_the_unsupported_rule() {
    let f = failures(&fake(&["engine"]));
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].0, "protocol: unsupported");
    assert!(
        f[0].1.starts_with("unsupported: `loadline_conform_unknown_op` must answer an error of kind `unsupported`; it answered {\"id\":200,\"error\":{\"kind\":\"engine\""),
        "{f:?}"
    );
}

#[test]
fn stray_stdout_and_a_wrong_id_each_break_their_rule() {
    let stray = failures(&sh(
        &format!(
            "echo banner; {HELLO_OK}; while read l; do echo '{{\"id\":300,\"ok\":{{}}}}'; done"
        ),
        vec![Capability::Log],
    ));
    let names: Vec<&str> = stray.iter().map(|(n, _)| n.as_str()).collect();
    assert!(names.contains(&"protocol: clean stdout"), "{stray:?}");
    assert!(names.contains(&"protocol: ids echoed"), "{stray:?}");
    let clean = stray.iter().find(|(n, _)| n == "protocol: clean stdout");
    assert!(
        clean.is_some_and(|(_, f)| f.contains("the first: `banner`")),
        "{stray:?}"
    );
    let ids = stray.iter().find(|(n, _)| n == "protocol: ids echoed");
    assert!(
        ids.is_some_and(|(_, f)| f == "ids echoed: the reply to `bounds` with id 7 carried id 300"),
        "{stray:?}"
    );
}

/// A session's pipeline (`in_flight`): requests sent together, replies
/// taken in the order the plug-in sends them (here reversed), a put
/// batch completed only when each of its puts is answered, and an error
/// reply failing its own request only.
#[test]
fn pipelined_requests_take_replies_out_of_order() {
    use crate::store::{Outcome, Record, Request};
    let root = tempfile::tempdir().expect("temp dir");
    // Replies out of order: the get (id 4) alone first, then (after the
    // next request arrives) the rest newest first.
    // Id 1 is the first calibration `noop`, refused (so there is no more).
    let script = r#"read l; echo '{"id":0,"ok":{"version":1,"capabilities":["log","kv"]}}'
        read l; echo '{"id":1,"error":{"kind":"unsupported","message":"no noop"}}'
        read a; read b; read c
        echo '{"id":4,"ok":{"value":"AAEC"}}'
        read d; read e
        echo '{"id":6,"ok":{}}'; echo '{"id":5,"ok":{}}'
        echo '{"id":3,"ok":{"first":5}}'; echo '{"id":2,"ok":{}}'
        read f; read g
        echo '{"id":7,"error":{"kind":"engine","message":"disk full"}}'; echo '{"id":8,"ok":{"value":null}}'
        read h"#;
    let store = ExternalKind::open(
        &sh(script, vec![Capability::Log, Capability::Kv]),
        root.path(),
    )
    .expect("open");
    let mut s = store.session().expect("session");
    let p = s.pipeline().expect("external sessions pipeline");
    let body = [Record {
        keys: crate::store::Keys::None,
        body: b"x",
    }];
    p.submit(
        10,
        Request::Put {
            key: b"k",
            value: b"v",
        },
    )
    .expect("id 2");
    p.submit(
        11,
        Request::Append {
            stream: 0,
            batch: &body,
        },
    )
    .expect("id 3");
    p.submit(12, Request::Get { key: b"k" }).expect("id 4");
    assert_eq!(
        p.complete(true).expect("complete"),
        Some((12, Outcome::Got(Some(3)))),
        "the third request's reply came first"
    );
    let values = [body[0], body[0]];
    p.submit(
        13,
        Request::PutBatch {
            keys: b"ab",
            key_ranges: &[0..1, 1..2],
            values: &values,
        },
    )
    .expect("ids 5 and 6");
    let mut got = Vec::new();
    for _ in 0..3 {
        got.push(p.complete(true).expect("complete").expect("in flight"));
    }
    got.sort_unstable_by_key(|c| c.0);
    assert_eq!(
        got,
        vec![
            (10, Outcome::Done),
            (11, Outcome::Appended(5)),
            (13, Outcome::Done),
        ]
    );
    p.submit(20, Request::Delete { key: b"k" }).expect("id 7");
    p.submit(21, Request::Get { key: b"z" }).expect("id 8");
    let e = p.complete(true).expect_err("disk full");
    assert!(
        matches!(&e, StoreError::Engine { op: "delete", detail } if detail == "disk full"),
        "{e}"
    );
    assert_eq!(
        p.complete(true).expect("ok"),
        Some((21, Outcome::Got(None)))
    );
    drop(s);
    drop(store);
}

/// The Python reference plug-in under a pipelined actor: every write is
/// acknowledged and reads back.
#[test]
fn the_python_plugin_serves_a_pipeline() {
    use crate::store::{Outcome, Request};
    let root = tempfile::tempdir().expect("temp dir");
    let store = ExternalKind::open(&python(), root.path()).expect("open");
    let mut s = store.session().expect("session");
    let p = s.pipeline().expect("pipeline");
    for i in 0..64u64 {
        p.submit(
            i,
            Request::Put {
                key: &i.to_le_bytes(),
                value: &[i as u8; 3],
            },
        )
        .expect("submit");
    }
    let mut tags: Vec<u64> = (0..64)
        .map(|_| match p.complete(true).expect("complete") {
            Some((t, Outcome::Done)) => t,
            other => panic!("{other:?}"),
        })
        .collect();
    tags.sort_unstable();
    assert_eq!(tags, (0..64).collect::<Vec<_>>());
    let mut out = Vec::new();
    assert!(s.get(&9u64.to_le_bytes(), &mut out).expect("get"));
    assert_eq!(out, vec![9u8; 3]);
    drop(s);
    store.close().expect("close");
}

fn declared(name: &str, unit: StatUnit) -> ExternalStat {
    ExternalStat {
        name: name.to_owned(),
        unit,
        help: String::new(),
        level: true,
    }
}

/// The reference plug-in offers `file_bytes` and `kv_keys`; a target
/// declaring them gets their values from `stats` among its statistics,
/// and a target (`TargetKind`) knows them — with their unit, as levels —
/// before anything opens, for validation.
#[test]
fn declared_statistics_are_known_before_open_and_reported_after() {
    let mut c = python();
    c.statistics = vec![
        declared("kv_keys", StatUnit::Count),
        declared("file_bytes", StatUnit::Bytes),
    ];
    let kind = crate::store::TargetKind::new::<ExternalKind>(c.clone());
    assert_eq!(
        kind.stat("file_bytes").map(|d| d.unit),
        Some(StatUnit::Bytes)
    );
    assert!(kind.is_level("kv_keys"));
    assert!(kind.stat("requests").is_some(), "the kind's own stay");
    let root = tempfile::tempdir().expect("temp dir");
    let store = ExternalKind::open(&c, root.path()).expect("open");
    let mut s = store.session().expect("session");
    for i in 0..7u8 {
        s.put(&[i], b"v").expect("put");
    }
    let stats = store.stats().values;
    assert_eq!(stats["kv_keys"], 7.0, "{stats:?}");
    assert!(stats["file_bytes"] > 0.0, "{stats:?}");
    drop(s);
    store.close().expect("close");
    let plain = crate::store::TargetKind::new::<ExternalKind>(python());
    assert!(plain.stat("kv_keys").is_none(), "undeclared: unknown");
}

/// A declared statistic the plug-in's `hello` does not offer, or offers
/// in another unit, fails the open naming it.
#[test]
fn a_declared_statistic_the_plugin_does_not_offer_fails_the_open() {
    let mut c = python();
    c.statistics = vec![
        declared("kv_keys", StatUnit::Bytes),
        declared("compactions", StatUnit::Count),
    ];
    let err = open_err(&c);
    assert!(
        matches!(&err, StoreError::Invalid { op: "hello", detail }
            if detail.contains("`kv_keys` (offered in Count, declared in Bytes)")
                && detail.contains("`compactions` (not offered)")),
        "{err}"
    );
}

/// Declared names are checked with the config: `[a-z0-9_]+`, not one of
/// the kind's own, not twice.
#[test]
fn declared_statistic_names_are_checked() {
    let mut c = python();
    c.statistics = vec![
        declared("Bad-Name", StatUnit::Count),
        declared("requests", StatUnit::Count),
        declared("kv_keys", StatUnit::Count),
        declared("kv_keys", StatUnit::Count),
    ];
    let problems: Vec<String> = ExternalKind::check(&c, &crate::store::Workload::default())
        .iter()
        .map(|p| p.message().to_owned())
        .collect();
    assert_eq!(
        problems,
        [
            "statistic name `Bad-Name` is not `[a-z0-9_]+`",
            "`requests` is a statistic loadline reports for every `external` target",
            "`kv_keys` is declared twice",
        ],
        "{problems:?}"
    );
}
