//! The `resp` kind against Debian's real `redis-server` on a loopback
//! port: the conformance suite (log, key-value, kill -9 of the writer),
//! server statistics, and acknowledged writes surviving a kill -9 of the
//! *server* under `appendfsync always`.

use std::path::Path;

use super::test_server::TestServer;
use super::{RespConfig, RespKind, RespStore};
use crate::store::api::{Keys, ReadBuf, Store, StoreError};
use crate::store::conformance;
use crate::store::kind::StoreKind;

/// The server's address for the kill -9 children (they re-run the test).
const ADDRESS_ENV: &str = "LOADLINE_RESP_TEST_ADDRESS";

fn config(address: &str, prefix: &str) -> RespConfig {
    RespConfig {
        address: address.to_owned(),
        prefix: prefix.to_owned(),
        db: 0,
        server: None,
    }
}

#[test]
fn resp_on_redis_passes_the_log_and_kv_conformance_suites() {
    let server = TestServer::start(&[]);
    let c = config(&server.address, "conf:");
    let open = |d: &Path| RespKind::open(&c, d);
    let root = tempfile::tempdir().expect("temp dir");
    conformance::check_log_store(&open, &root.path().join("log"));
    conformance::check_kv_store(&open, &root.path().join("kv"));
}

/// SIGKILLing loadline's writing process (what `restart: crash` does to a
/// target whose server runs on): every acknowledged record is in Redis.
#[test]
fn resp_keeps_every_acknowledged_record_when_the_writer_is_killed() {
    if let Some(dir) = std::env::var_os(conformance::CHILD_ENV) {
        let address = std::env::var(ADDRESS_ENV).expect("the parent's server");
        let c = config(&address, "kill9:");
        conformance::crash_child_writer(&|d: &Path| RespKind::open(&c, d), Path::new(&dir));
        std::process::exit(0);
    }
    let server = TestServer::start(&[]);
    let c = config(&server.address, "kill9:");
    let root = tempfile::tempdir().expect("temp dir");
    let dir = root.path().join("kill9");
    std::fs::create_dir_all(&dir).expect("dir");
    let exe = std::env::current_exe().expect("test binary");
    let spawn = || {
        std::process::Command::new(&exe)
            .args([
                "store::resp::tests::resp_keeps_every_acknowledged_record_when_the_writer_is_killed",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(conformance::CHILD_ENV, &dir)
            .env(ADDRESS_ENV, &server.address)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn the writer")
    };
    conformance::check_kill9_durability(&|d: &Path| RespKind::open(&c, d), &dir, 5, &spawn);
}

#[test]
fn info_fields_become_store_statistics_that_count_the_work() {
    let server = TestServer::start(&[]);
    let root = tempfile::tempdir().expect("temp dir");
    let store = RespStore::open(&config(&server.address, "stats:"), root.path()).expect("open");
    let before = store.stats();
    let mut s = store.session().expect("session");
    for i in 0..100u32 {
        s.put(&i.to_le_bytes(), b"value").expect("put");
    }
    let after = store.stats();
    let get = |st: &crate::store::StoreStats, n: &str| st.values.get(n).copied().unwrap_or(-1.0);
    assert!(
        get(&after, "commands_processed") >= get(&before, "commands_processed") + 100.0,
        "{before:?} -> {after:?}"
    );
    assert!(get(&after, "used_memory") > 0.0);
    for name in after.values.keys() {
        assert!(
            RespKind::statistics().iter().any(|d| d.name == name),
            "{name} is declared"
        );
    }
    assert!(
        after
            .appendix
            .as_deref()
            .is_some_and(|a| a.contains("redis_version"))
    );
}

/// The server's own time per op comes from `INFO commandstats`: 200 puts
/// of batch 1 and 5 gets are 200 `SET` and 5 `GET` calls; the `SET`s'
/// summed time is positive (Redis counts whole microseconds per call:
/// 200 calls make a zero sum implausible); the floor (`PING` round trips
/// at open) is positive.
#[test]
fn commandstats_give_each_ops_server_time_and_open_measures_the_floor() {
    let server = TestServer::start(&[]);
    let root = tempfile::tempdir().expect("temp dir");
    let store = RespKind::open(&config(&server.address, "svc:"), root.path()).expect("open");
    let before = store.stats().values;
    let mut s = store.session().expect("session");
    let mut v = Vec::new();
    for i in 0..200u8 {
        s.put(&[i], b"value").expect("put");
    }
    for i in 0..5u8 {
        s.get(&[i], &mut v).expect("get");
    }
    let after = store.stats().values;
    let change = |name: &str| after[name] - before[name];
    assert_eq!(change("put_timed_requests"), 200.0, "{after:?}");
    assert_eq!(change("get_timed_requests"), 5.0, "{after:?}");
    assert!(change("put_service_ns") > 0.0, "{after:?}");
    assert!(
        after[crate::store::service_time::NOOP_STAT] > 0.0,
        "{after:?}"
    );
}

/// A fresh target directory starts from nothing; the same directory again
/// (a restart) keeps the data.
#[test]
fn a_fresh_target_clears_its_prefix_and_a_restart_keeps_it() {
    let server = TestServer::start(&[]);
    let root = tempfile::tempdir().expect("temp dir");
    let c = config(&server.address, "fresh:");
    let other = config(&server.address, "other:");
    let mut v = Vec::new();
    let put = |c: &RespConfig, dir: &Path| -> Box<dyn Store> {
        let store = RespKind::open(c, dir).expect("open");
        store
            .session()
            .expect("session")
            .put(b"k", b"v")
            .expect("put");
        store
    };
    drop(put(&c, &root.path().join("a")));
    drop(put(&other, &root.path().join("o")));
    let again = RespKind::open(&c, &root.path().join("a")).expect("reopen");
    assert!(
        again.session().expect("s").get(b"k", &mut v).expect("get"),
        "restart keeps"
    );
    let fresh = RespKind::open(&c, &root.path().join("b")).expect("fresh");
    assert!(
        !fresh.session().expect("s").get(b"k", &mut v).expect("get"),
        "fresh clears"
    );
    let kept = RespKind::open(&other, &root.path().join("o")).expect("other");
    assert!(
        kept.session().expect("s").get(b"k", &mut v).expect("get"),
        "another prefix is untouched"
    );
}

/// Under `appendfsync always` Redis fsyncs its AOF before it answers: a
/// writer appends until the server is SIGKILLed under it, and after a
/// restart every acknowledged record is there, intact.
#[test]
fn redis_with_appendfsync_always_loses_no_acknowledged_record_to_kill9() {
    let args = ["--appendonly", "yes", "--appendfsync", "always"];
    let mut server = TestServer::start(&args);
    let root = tempfile::tempdir().expect("temp dir");
    let c = config(&server.address, "aof:");
    let store = RespKind::open(&c, root.path()).expect("open");
    let len = |o: u64| 100 + usize::try_from(o % 50).unwrap_or(0);
    for cycle in 0..3u64 {
        let mut s = store.session().expect("session");
        let start = s.bounds(1).expect("bounds").tail;
        let writer = std::thread::spawn(move || {
            let mut acked = start;
            loop {
                let bodies: Vec<Vec<u8>> = (acked..acked + 4)
                    .map(|o| conformance::body(1, o, len(o)))
                    .collect();
                match s.append(1, &conformance::pair_records(1, acked, &bodies)) {
                    Ok(first) => {
                        assert_eq!(first, acked, "dense offsets");
                        acked += 4;
                    }
                    Err(StoreError::Io { .. } | StoreError::Engine { .. }) => return acked,
                    Err(e) => panic!("{e}"),
                }
            }
        });
        std::thread::sleep(std::time::Duration::from_millis(100 + 50 * cycle));
        server.kill9_and_restart(&args);
        let acked = writer.join().expect("writer");
        assert!(acked > start, "cycle {cycle}: the writer was acknowledged");
        let mut s = store.session().expect("session after restart");
        let b = s.bounds(1).expect("bounds");
        assert!(
            b.tail >= acked,
            "cycle {cycle}: tail {} < acknowledged {acked}",
            b.tail
        );
        let mut buf = ReadBuf::default();
        let mut at = 0;
        while at < b.tail {
            at = s.read(1, at, 1 << 20, &mut buf).expect("read");
            assert!(!buf.is_empty(), "cycle {cycle}: hole at {at}");
            for (i, r) in buf.records.iter().enumerate() {
                assert_eq!(r.keys, Keys::Pair(1, r.offset));
                assert_eq!(
                    buf.body(i),
                    conformance::body(1, r.offset, len(r.offset)),
                    "cycle {cycle}: offset {} damaged",
                    r.offset
                );
            }
        }
    }
}

/// `server:`: opening starts the server and waits for it, closing shuts
/// it down cleanly (the AOF is complete), and opening again on the same
/// directory starts it on its files.
#[test]
fn a_started_server_stops_on_close_and_restarts_on_its_files() {
    super::test_server::redis_server();
    let port = super::test_server::server_port();
    let mut c = config(&format!("127.0.0.1:{port}"), "started:");
    let command = format!(
        "redis-server --port {port} --bind 127.0.0.1 --dir {{dir}} --save '' --appendonly yes --appendfsync always"
    );
    c.server = Some(super::RespServerConfig {
        command: command.split(' ').map(|a| a.replace('\'', "")).collect(),
        ready: None,
    });
    let root = tempfile::tempdir().expect("temp dir");
    let dir = root.path().join("t");
    let t0 = std::time::Instant::now();
    let store = RespKind::open(&c, &dir).expect("open starts the server");
    eprintln!("spawn to ready: {:?}", t0.elapsed());
    store
        .session()
        .expect("session")
        .put(b"k", b"v")
        .expect("put");
    store.close().expect("close stops the server");
    assert!(
        super::conn::Conn::connect(&c.address, 0).is_err(),
        "the server is gone after close"
    );
    assert!(!dir.join("server.pid").exists(), "no pid file after close");
    let store = RespKind::open(&c, &dir).expect("reopen");
    let mut v = Vec::new();
    assert!(
        store.session().expect("s").get(b"k", &mut v).expect("get") && v == b"v",
        "the restarted server has the data"
    );
    drop(store);
    assert!(
        super::conn::Conn::connect(&c.address, 0).is_err(),
        "a dropped store stops its server too"
    );
    assert!(
        std::fs::read_to_string(dir.join("server.log"))
            .is_ok_and(|l| l.contains("Ready to accept")),
        "the server's output is in server.log"
    );
}

#[test]
fn a_server_that_cannot_start_is_an_error_naming_its_log() {
    let mut c = config("127.0.0.1:1", "bad:");
    c.server = Some(super::RespServerConfig {
        command: vec![
            super::test_server::redis_server()
                .to_string_lossy()
                .into_owned(),
            "--no-such-option".to_owned(),
        ],
        ready: None,
    });
    let root = tempfile::tempdir().expect("temp dir");
    let err = RespKind::open(&c, root.path()).err().expect("refused");
    assert!(
        matches!(&err, StoreError::Engine { op: "start server", detail } if detail.contains("exited before it was ready") && detail.contains("server.log")),
        "{err}"
    );
}

/// Requests in flight on one connection (`in_flight`): tags come back in
/// submission order with the outcome each synchronous call would have
/// returned, and a request the server refuses fails alone — the
/// connection stays in step for the next.
#[test]
fn pipelined_requests_complete_in_order_with_their_outcomes() {
    use crate::store::{Outcome, Request};
    let server = TestServer::start(&[]);
    let root = tempfile::tempdir().expect("temp dir");
    let store = RespStore::open(&config(&server.address, "pipe:"), root.path()).expect("open");
    let mut s = store.session().expect("session");
    let p = s.pipeline().expect("resp sessions pipeline");
    let body = |i: u64| format!("value-{i}").into_bytes();
    let bodies: Vec<Vec<u8>> = (0..6).map(body).collect();
    let records: Vec<crate::store::Record<'_>> = bodies
        .iter()
        .map(|b| crate::store::Record {
            keys: Keys::Single(7),
            body: b,
        })
        .collect();
    let mut tag = 0;
    let mut expect = Vec::new();
    let mut submit = |p: &mut dyn crate::store::Pipeline, r: Request<'_>, o: Option<Outcome>| {
        p.submit(tag, r).expect("submit");
        expect.push((tag, o));
        tag += 1;
    };
    for i in 0..20u64 {
        submit(
            p,
            Request::Put {
                key: &i.to_le_bytes(),
                value: &body(i),
            },
            Some(Outcome::Done),
        );
    }
    for i in 0..25u64 {
        let len = (i < 20).then(|| body(i).len());
        submit(
            p,
            Request::Get {
                key: &i.to_le_bytes(),
            },
            Some(Outcome::Got(len)),
        );
    }
    submit(
        p,
        Request::Append {
            stream: 3,
            batch: &records[..1],
        },
        Some(Outcome::Appended(0)),
    );
    submit(
        p,
        Request::Append {
            stream: 3,
            batch: &records[1..],
        },
        Some(Outcome::Appended(1)),
    );
    submit(
        p,
        Request::Append {
            stream: 3,
            batch: &records[..2],
        },
        Some(Outcome::Appended(6)),
    );
    submit(
        p,
        Request::Put {
            key: b"x",
            value: b"v",
        },
        Some(Outcome::Done),
    );
    let mut keys = Vec::new();
    let mut ranges = Vec::new();
    for i in 0..10u64 {
        let at = keys.len();
        keys.extend_from_slice(&i.to_le_bytes());
        ranges.push(at..keys.len());
    }
    submit(
        p,
        Request::DeleteBatch {
            keys: &keys,
            key_ranges: &ranges,
        },
        Some(Outcome::Done),
    );
    submit(
        p,
        Request::Get {
            key: &3u64.to_le_bytes(),
        },
        Some(Outcome::Got(None)),
    );
    submit(
        p,
        Request::Get {
            key: &15u64.to_le_bytes(),
        },
        Some(Outcome::Got(Some(8))),
    );
    for (tag, want) in expect {
        // Half the completions asked for without waiting.
        let got = if tag % 2 == 0 {
            loop {
                if let Some(c) = p.complete(false).expect("complete") {
                    break c;
                }
                std::thread::yield_now();
            }
        } else {
            p.complete(true).expect("complete").expect("one in flight")
        };
        assert_eq!(got, (tag, want.expect("an outcome")), "tag {tag}");
    }
    // An error reply fails its own request only.
    let mut conn_key = b"pipe:log:9".to_vec();
    let raw = super::conn::Conn::connect(&server.address, 0).map(|mut c| {
        c.call(&[b"SET", &conn_key, b"not a stream"], "set")
            .map(|_| ())
    });
    assert!(matches!(raw, Ok(Ok(()))));
    conn_key.clear();
    p.submit(
        100,
        Request::Append {
            stream: 9,
            batch: &records[..1],
        },
    )
    .expect("submit");
    p.submit(
        101,
        Request::Append {
            stream: 9,
            batch: &records[..3],
        },
    )
    .expect("submit");
    p.submit(
        102,
        Request::Get {
            key: &15u64.to_le_bytes(),
        },
    )
    .expect("submit");
    let e = p.complete(true).expect_err("XADD to a string");
    assert!(
        matches!(&e, StoreError::Engine { detail, .. } if detail.contains("WRONGTYPE")),
        "{e}"
    );
    let e = p.complete(true).expect_err("MULTI of XADDs to a string");
    assert!(matches!(&e, StoreError::Engine { .. }), "{e}");
    assert_eq!(
        p.complete(true).expect("in step"),
        Some((102, Outcome::Got(Some(8))))
    );
    drop(s);
    Box::new(store).close().expect("close");
}
