//! The store conformance suite: one public function per capability that any
//! store's tests call to check the semantics documented in
//! [`super::api`](crate::store) — dense offsets, independent streams,
//! read-your-writes, `max_bytes`, trim visibility, sync, concurrency, reopen
//! persistence and key-value operations.
//!
//! It is a plain module (not `cfg(test)`) so unit tests of every store, the
//! RocksDB store and the integration tests can all call it. Every check
//! panics with a message that starts with the rule it found broken, so a
//! failing store's test output says what to fix.
//!
//! [`crash_child_writer`] and [`check_kill9_durability`] are the two halves
//! of the kill -9 check for persistent stores: a child process appends and
//! reports what was acknowledged, the parent SIGKILLs it and checks the
//! reopened store. [`crash_child_kv_writer`] and
//! [`check_kv_kill9_durability`] do the same for puts and deletes, judged
//! as a crash phase's `verify: acknowledged` judges them (the last
//! acknowledged write of each key, or the one in flight at the kill).
//!
//! [`check_kind`] runs all of it for a [`StoreKind`] in one call, as its
//! capabilities say, and prints what it checked (a passing test shows it
//! too). It also asks a store exactly what a crash phase will: a
//! key-value-only kind is never asked for a log operation, and a kind
//! without `log` must answer one with [`StoreError::Unsupported`], not a
//! panic.
//!
//! It does not time or benchmark anything.

use std::path::{Path, PathBuf};

use super::api::{Keys, Offset, ReadBuf, Record, Session, Store, StoreError};
use super::kind::StoreKind;

/// Set in the environment of the child processes [`check_kind`] starts to
/// the directory the child writes to.
pub const CHILD_ENV: &str = "LOADLINE_CONFORMANCE_CHILD";
/// Set (to `kv`) in the environment of a child that puts and deletes
/// rather than appends.
pub const CHILD_MODE_ENV: &str = "LOADLINE_CONFORMANCE_CHILD_MODE";
/// Crash cycles of [`check_kind`]'s kill -9 check (default 20; a soak run
/// may raise it).
pub const KILL_CYCLES_ENV: &str = "LOADLINE_CONFORMANCE_KILL_CYCLES";

/// Checks store kind `K`, opened with `config`, in one call: the log suite
/// ([`check_log_store`]) when the kind has [`Capabilities::log`], the
/// key-value suite ([`check_kv_store`]) when it has
/// [`Capabilities::kv`], what a crash phase asks of the kind
/// ([`check_crash_requests`]), and, when it is persistent and
/// [`Capabilities::crash_durable`], the kill -9 checks
/// ([`check_kill9_durability`] for a log, [`check_kv_kill9_durability`]
/// for key-value writes): child processes write until they are
/// SIGKILLed, and every acknowledged write must survive.
///
/// The children re-execute the running program. Call it from a `#[test]`
/// (the children run that test alone), or first thing in a program's
/// `main` (the children run `main` again): either way the call in the
/// child sees [`CHILD_ENV`], writes, and never returns.
///
/// ```no_run
/// use loadline::store::{MemoryKind, MemoryConfig, conformance};
///
/// #[test]
/// fn memory_conforms() {
///     conformance::check_kind::<MemoryKind>(&MemoryConfig::default());
/// }
/// ```
///
/// [`Capabilities::log`]: super::Capabilities::log
/// [`Capabilities::kv`]: super::Capabilities::kv
/// [`Capabilities::crash_durable`]: super::Capabilities::crash_durable
///
/// # Panics
///
/// On the first broken rule, naming it.
///
/// Returns what was checked, one line per part, and prints it to stderr
/// past the test harness's capture (so `cargo test` shows it on a pass).
pub fn check_kind<K: StoreKind>(config: &K::Config) -> Vec<String> {
    let open = |d: &Path| K::open(config, d);
    if let Some(dir) = std::env::var_os(CHILD_ENV) {
        if std::env::var(CHILD_MODE_ENV).as_deref() == Ok("kv") {
            crash_child_kv_writer(&open, Path::new(&dir));
        } else {
            crash_child_writer(&open, Path::new(&dir));
        }
        std::process::exit(0);
    }
    let mut checked = Vec::new();
    let caps = K::capabilities(config);
    let root = std::env::temp_dir().join(format!(
        "loadline-conformance-{}-{}-{}",
        K::NAME,
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    ));
    let persists = if caps.persistent {
        ", reopen persistence"
    } else {
        ""
    };
    if caps.log {
        check_log_store(&open, &sub(&root, "log"));
        checked.push(format!(
            "log: dense offsets, independent streams, read-your-writes, max_bytes, reads past the tail, keys, trim, sync, concurrent appends{persists}"
        ));
    }
    if caps.kv {
        check_kv_store(&open, &sub(&root, "kv"));
        checked.push(format!(
            "key-value: get/put/overwrite, read-your-writes, delete, scan order and limit, put_batch, delete_batch{persists}"
        ));
    }
    check_crash_requests(&open, &sub(&root, "crash-requests"));
    checked.push(format!(
        "crash phase: only {} operations asked of it; missing ones answer \"not supported\"",
        match (caps.log, caps.kv) {
            (true, true) => "log and key-value",
            (true, false) => "log",
            (false, true) => "key-value",
            (false, false) => "no",
        }
    ));
    let cycles: u64 = std::env::var(KILL_CYCLES_ENV)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let exe = std::env::current_exe().expect("the running program");
    // Under libtest each test runs on a thread named after it.
    let test = std::thread::current()
        .name()
        .filter(|n| *n != "main")
        .map(str::to_owned);
    let spawner = |dir: &Path, kv: bool| {
        let mut cmd = std::process::Command::new(&exe);
        if let Some(t) = &test {
            cmd.args([
                t.as_str(),
                "--exact",
                "--include-ignored",
                "--nocapture",
                "--test-threads=1",
            ]);
        }
        cmd.env(CHILD_ENV, dir)
            .env(CHILD_MODE_ENV, if kv { "kv" } else { "log" })
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn the kill -9 child")
    };
    if caps.kv && caps.persistent && caps.crash_durable {
        let dir = sub(&root, "kv-kill9");
        let acks = check_kv_kill9_durability(&open, &dir, cycles, &|| spawner(&dir, true));
        checked.push(format!(
            "kill -9 durability of puts and deletes: {cycles} cycles, {acks} acknowledged writes, each key's last acknowledged write intact"
        ));
    }
    if caps.log && caps.persistent && caps.crash_durable {
        let dir = sub(&root, "kill9");
        check_kill9_durability(&open, &dir, cycles, &|| spawner(&dir, false));
        checked.push(format!(
            "kill -9 durability of appends: {cycles} cycles, every acknowledged record intact, no holes"
        ));
    }
    if !caps.crash_durable || !caps.persistent {
        checked.push(
            "kill -9 durability: not checked (the kind claims no `persistent` + `crash_durable`)"
                .to_owned(),
        );
    }
    let _ = std::fs::remove_dir_all(&root);
    print_checked(K::NAME, &checked);
    checked
}

/// Prints what [`check_kind`] checked to stderr directly, so a passing
/// test's output shows it (libtest captures `eprintln!`, not the stream).
fn print_checked(kind: &str, checked: &[String]) {
    use std::io::Write as _;
    let mut text = format!("conformance of store kind `{kind}`: passed\n");
    for c in checked {
        text.push_str(&format!("  ✓ {c}\n"));
    }
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

/// Asks a store what a crash phase will, and no more: a session per
/// check, key-value reads of absent keys where it has `kv`, log bounds
/// and reads of unwritten streams where it has `log`, statistics; and,
/// where it lacks a family, that the family's methods answer
/// [`StoreError::Unsupported`] rather than panic or pretend.
///
/// # Panics
///
/// On the first broken rule, naming it.
pub fn check_crash_requests(open: OpenFn<'_>, dir: &Path) {
    let store = must(open(dir), "open");
    let caps = store.capabilities();
    let _ = store.stats();
    let mut s = must(store.session(), "session");
    let mut v = Vec::new();
    let mut buf = ReadBuf::default();
    if caps.kv {
        assert!(
            !must(s.get(b"never-written", &mut v), "get"),
            "crash verify: a key never written must read as absent"
        );
    } else {
        assert!(
            matches!(s.put(b"k", b"v"), Err(StoreError::Unsupported { .. })),
            "capabilities: a kind without `kv` must answer put with StoreError::Unsupported"
        );
    }
    if caps.log {
        for stream in 0..3 {
            let b = must(s.bounds(stream), "bounds");
            assert_eq!(
                (b.trim_point, b.tail),
                (0, 0),
                "crash verify: an unwritten stream must have empty bounds"
            );
            must(s.read(stream, 0, 1 << 20, &mut buf), "read");
            assert!(
                buf.is_empty(),
                "crash verify: an unwritten stream reads empty"
            );
        }
    } else {
        assert!(
            matches!(s.bounds(0), Err(StoreError::Unsupported { .. })),
            "capabilities: a kind without `log` must answer bounds with StoreError::Unsupported"
        );
        assert!(
            matches!(s.append(0, &[]), Err(StoreError::Unsupported { .. })),
            "capabilities: a kind without `log` must answer append with StoreError::Unsupported"
        );
    }
    drop(s);
    must(store.close(), "close");
}

/// The key the kv kill -9 check writes at step `i`: one of 64.
fn kv_crash_key(i: u64) -> Vec<u8> {
    format!("key-{:02}", i % 64).into_bytes()
}

/// The child half of the key-value kill -9 check: opens the store in
/// `dir` and puts (every fifth step: deletes) keys of a 64-key space with
/// values unique to this process, printing `begin <key> <crc|del>`
/// before each write and `ack` after it, until it is killed.
///
/// # Panics
///
/// When the store fails to open or to write.
pub fn crash_child_kv_writer(open: OpenFn<'_>, dir: &Path) {
    use std::io::Write as _;
    let store = must(open(dir), "child open");
    let mut s = must(store.session(), "session");
    let mut out = std::io::stdout().lock();
    let nonce = u64::from(std::process::id());
    for i in 0..1_000_000u64 {
        let key = kv_crash_key(i);
        let key_text = String::from_utf8_lossy(&key).into_owned();
        if i % 5 == 4 {
            writeln!(out, "begin {key_text} del").expect("stdout");
            out.flush().expect("flush");
            must(s.delete(&key), "child delete");
        } else {
            let value = body(nonce, i, 16 + usize::try_from(i % 200).unwrap_or(0));
            writeln!(out, "begin {key_text} {}", crc32c::crc32c(&value)).expect("stdout");
            out.flush().expect("flush");
            must(s.put(&key, &value), "child put");
        }
        writeln!(out, "ack").expect("stdout");
        out.flush().expect("flush");
    }
}

/// The parent half of the key-value kill -9 check, `cycles` times on one
/// directory: `spawn` starts a child running [`crash_child_kv_writer`] on
/// `dir`; it is SIGKILLed after a varied number (1–60) of acknowledged
/// writes; then every key must hold the value of its last acknowledged
/// write (nothing after a delete) or of the write in flight at the kill,
/// and keys not written in the cycle what they held before. Returns the
/// writes acknowledged over all cycles.
///
/// # Panics
///
/// On a lost or damaged value, a failed reopen, or a child that ended
/// before its kill.
pub fn check_kv_kill9_durability(
    open: OpenFn<'_>,
    dir: &Path,
    cycles: u64,
    spawn: &dyn Fn() -> std::process::Child,
) -> u64 {
    use std::collections::BTreeMap;
    use std::io::BufRead as _;
    // Each key's value CRC (`None`: absent) as last verified.
    let mut state: BTreeMap<String, Option<u32>> = BTreeMap::new();
    let mut total = 0u64;
    for cycle in 0..cycles {
        let mut child = spawn();
        let stdout = child.stdout.take().expect("the child's stdout is piped");
        let kill_after = 1 + (cycle * 37 + 11) % 60;
        let mut acked: BTreeMap<String, Option<u32>> = BTreeMap::new();
        let mut in_flight: Option<(String, Option<u32>)> = None;
        let mut seen = 0u64;
        let mut killed = false;
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            // The first line may follow the test harness's own `test … `
            // prefix (no newline before a test's output under --nocapture).
            if let Some(rest) = line.find("begin ").map(|at| &line[at + 6..]) {
                let (key, value) = rest.split_once(' ').unwrap_or((rest, "del"));
                in_flight = Some((key.to_owned(), value.parse().ok()));
            } else if line == "ack"
                && let Some((key, value)) = in_flight.take()
            {
                acked.insert(key, value);
                seen += 1;
                total += 1;
            }
            if seen >= kill_after && !killed {
                child.kill().expect("SIGKILL");
                killed = true;
            }
        }
        let status = child.wait().expect("reap");
        assert!(
            killed,
            "kv kill -9 cycle {cycle}: the child ended before the kill ({status})"
        );
        let store =
            open(dir).unwrap_or_else(|e| panic!("kv kill -9 cycle {cycle}: reopen failed: {e}"));
        let mut s = must(store.session(), "session");
        let mut v = Vec::new();
        state.extend(acked);
        for (key, want) in &mut state {
            let now = must(s.get(key.as_bytes(), &mut v), "get").then(|| crc32c::crc32c(&v));
            let landed = in_flight
                .as_ref()
                .is_some_and(|(k, value)| k == key && *value == now);
            assert!(
                now == *want || landed,
                "durability: kv kill -9 cycle {cycle}: key {key} holds {now:?}, its last acknowledged write left {want:?}"
            );
            *want = now;
        }
        if let Some((key, value)) = in_flight.take()
            && !state.contains_key(&key)
        {
            let now = must(s.get(key.as_bytes(), &mut v), "get").then(|| crc32c::crc32c(&v));
            assert!(
                now.is_none() || now == value,
                "durability: kv kill -9 cycle {cycle}: key {key} holds a value never written"
            );
            state.insert(key, now);
        }
        drop(s);
        must(store.close(), "close");
    }
    assert!(
        total >= cycles,
        "kv kill -9: the children acknowledged writes"
    );
    total
}

/// How a test opens the store under check: called with a directory that the
/// suite owns (created, empty on first use); called again with the same
/// directory to check reopen persistence.
pub type OpenFn<'a> = &'a dyn Fn(&Path) -> Result<Box<dyn Store>, StoreError>;

/// Checks the log operations of the store that `open` opens: every rule of
/// the log semantics, and reopen persistence when the store reports
/// [`Capabilities::persistent`](super::Capabilities). Each check uses its
/// own subdirectory of `dir`.
///
/// # Panics
///
/// On the first broken rule, naming it.
pub fn check_log_store(open: OpenFn<'_>, dir: &Path) {
    dense_offsets(open, &sub(dir, "dense"));
    independent_streams(open, &sub(dir, "streams"));
    read_your_writes_across_sessions(open, &sub(dir, "ryw"));
    read_from_offset_and_max_bytes(open, &sub(dir, "read"));
    read_past_tail(open, &sub(dir, "past-tail"));
    keys_round_trip(open, &sub(dir, "keys"));
    trim_visibility(open, &sub(dir, "trim"));
    sync_works(open, &sub(dir, "sync"));
    concurrent_appends(open, &sub(dir, "concurrent"));
    let store = must(open(&sub(dir, "caps")), "open");
    let caps = store.capabilities();
    must(store.close(), "close");
    assert!(
        caps.log,
        "log capability: check_log_store called on a store without log"
    );
    if caps.persistent {
        reopen_persistence(open, &sub(dir, "reopen"));
    }
}

/// Checks put / get / delete / scan of a store whose capabilities include
/// `kv`, and (when persistent) that the pairs survive a reopen.
///
/// # Panics
///
/// On the first broken rule, naming it; also when the store does not claim
/// `kv`.
pub fn check_kv_store(open: OpenFn<'_>, dir: &Path) {
    let d = sub(dir, "kv");
    let store = must(open(&d), "open");
    let caps = store.capabilities();
    assert!(
        caps.kv,
        "kv capability: check_kv_store called on a store without kv"
    );
    let mut s = must(store.session(), "session");
    let mut v = Vec::new();
    assert!(
        !must(s.get(b"absent", &mut v), "get"),
        "kv get: an absent key must return false"
    );
    must(s.put(b"b", b"two"), "put");
    must(s.put(b"a", b"one"), "put");
    must(s.put(b"c", b""), "put");
    must(s.put(b"d", &[7u8; 5000]), "put");
    assert!(
        must(s.get(b"a", &mut v), "get"),
        "kv put/get: a put key must be found"
    );
    assert_eq!(v, b"one", "kv put/get: get must return the value put");
    assert!(
        must(s.get(b"c", &mut v), "get"),
        "kv put/get: an empty value is a value"
    );
    assert!(
        v.is_empty(),
        "kv put/get: an empty value must read back empty"
    );
    must(s.put(b"a", b"uno"), "put");
    assert!(
        must(s.get(b"a", &mut v), "get"),
        "kv overwrite: key vanished"
    );
    assert_eq!(v, b"uno", "kv overwrite: the last put wins");

    let mut other = must(store.session(), "session");
    assert!(
        must(other.get(b"b", &mut v), "get") && v == b"two",
        "kv read-your-writes: another session must see a put"
    );

    must(s.delete(b"b"), "delete");
    must(s.delete(b"never-there"), "delete");
    assert!(
        !must(other.get(b"b", &mut v), "get"),
        "kv delete: a deleted key must be absent"
    );

    let mut buf = ReadBuf::default();
    let n = must(s.scan(b"", 10, &mut buf), "scan");
    assert_eq!(n, 3, "kv scan: must return every live pair up to the limit");
    assert_eq!(buf.len(), n, "kv scan: the count must match the buffer");
    assert_eq!(buf.body(0), b"uno", "kv scan: pairs must come in key order");
    assert_eq!(buf.body(1), b"", "kv scan: pairs must come in key order");
    assert_eq!(
        buf.body(2),
        &[7u8; 5000][..],
        "kv scan: pairs must come in key order"
    );
    let n = must(s.scan(b"b", 1, &mut buf), "scan");
    assert_eq!(n, 1, "kv scan: limit must be respected");
    assert_eq!(
        buf.body(0),
        b"",
        "kv scan: must start at the first key >= start"
    );
    let n = must(s.scan(b"e", 10, &mut buf), "scan");
    assert_eq!(
        n, 0,
        "kv scan: nothing at or after a start past the last key"
    );
    assert!(buf.is_empty(), "kv scan: the buffer must be cleared");

    // A batch of puts (`put_batch`, what a `put` actor with `batch: N`
    // calls): every pair lands, and a key set twice keeps the later value.
    let keys = b"y1y2y1";
    let ranges = [0..2, 2..4, 4..6];
    let values = [
        Record {
            keys: Keys::None,
            body: b"first",
        },
        Record {
            keys: Keys::None,
            body: b"second",
        },
        Record {
            keys: Keys::None,
            body: b"again",
        },
    ];
    must(s.put_batch(keys, &ranges, &values), "put_batch");
    assert!(
        must(other.get(b"y2", &mut v), "get") && v == b"second",
        "kv put_batch: every pair of the batch must be set"
    );
    assert!(
        must(other.get(b"y1", &mut v), "get") && v == b"again",
        "kv put_batch: a key set twice in one batch keeps the later value"
    );
    // A batch of deletes (`delete_batch`, a `delete` actor with `batch: N`):
    // every key goes, and a key absent or named twice is fine.
    must(
        s.delete_batch(b"y1y2y1zz", &[0..2, 2..4, 4..6, 6..8]),
        "delete_batch",
    );
    assert!(
        !must(other.get(b"y1", &mut v), "get") && !must(other.get(b"y2", &mut v), "get"),
        "kv delete_batch: every key of the batch must be removed"
    );
    drop((s, other));
    if caps.persistent {
        must(store.close(), "close");
        let store = must(open(&d), "reopen");
        let mut s = must(store.session(), "session");
        assert!(
            must(s.get(b"a", &mut v), "get") && v == b"uno",
            "kv reopen: pairs must survive a reopen"
        );
        assert!(
            !must(s.get(b"b", &mut v), "get"),
            "kv reopen: deletes must survive a reopen"
        );
        drop(s);
        must(store.close(), "close");
    } else {
        must(store.close(), "close");
    }
}

/// The body the kill -9 check writes at (`stream`, `offset`): 100–399 bytes.
fn crash_body(stream: u64, offset: Offset) -> Vec<u8> {
    body(
        stream,
        offset,
        100 + usize::try_from(offset % 300).unwrap_or(0),
    )
}

/// The child half of the kill -9 check: opens the store in `dir`, appends
/// batches of 1–4 records to four streams and prints `ack <stream> <first>
/// <count>` after every acknowledged append, until it is killed. Call it
/// from an `#[ignore]`d test that the parent's `spawn` re-executes.
///
/// # Panics
///
/// When the store fails to open or to append.
pub fn crash_child_writer(open: OpenFn<'_>, dir: &Path) {
    use std::io::Write as _;
    let store = must(open(dir), "child open");
    let mut s = must(store.session(), "session");
    let mut out = std::io::stdout().lock();
    for i in 0..1_000_000u64 {
        let stream = i % 4;
        let n = 1 + (i * 7) % 4;
        let t = must(s.bounds(stream), "bounds").tail;
        let bodies: Vec<Vec<u8>> = (t..t + n).map(|o| crash_body(stream, o)).collect();
        let first = must(
            s.append(stream, &pair_records(stream, t, &bodies)),
            "child append",
        );
        assert_eq!(first, t, "dense offsets: the child's append");
        writeln!(out, "ack {stream} {first} {n}").expect("stdout");
        out.flush().expect("flush");
    }
}

/// The parent half of the kill -9 check, `cycles` times on one directory:
/// `spawn` starts a child running [`crash_child_writer`] on `dir` (stdout
/// piped); it is SIGKILLed after a varied number (1–60) of
/// acknowledgements; then the store is reopened with `open` and every
/// acknowledged record must be present and intact, each stream a prefix
/// with no holes. Records that survived beyond the acknowledgements must
/// survive later cycles too.
///
/// # Panics
///
/// On a lost, damaged or missing record, a failed reopen, or a child that
/// ended before its kill.
pub fn check_kill9_durability(
    open: OpenFn<'_>,
    dir: &Path,
    cycles: u64,
    spawn: &dyn Fn() -> std::process::Child,
) {
    use std::io::BufRead as _;
    let mut acked = [0u64; 4];
    let mut total_acks = 0u64;
    for cycle in 0..cycles {
        let mut child = spawn();
        let stdout = child.stdout.take().expect("the child's stdout is piped");
        let kill_after = 1 + (cycle * 37 + 11) % 60;
        let mut seen = 0u64;
        let mut killed = false;
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let f: Vec<u64> = line
                .strip_prefix("ack ")
                .map(|r| r.split(' ').filter_map(|x| x.parse().ok()).collect())
                .unwrap_or_default();
            if let [stream, first, n] = f[..] {
                let s = usize::try_from(stream).expect("small");
                acked[s] = acked[s].max(first + n);
                seen += 1;
                total_acks += 1;
            }
            if seen >= kill_after && !killed {
                child.kill().expect("SIGKILL");
                killed = true;
            }
        }
        let status = child.wait().expect("reap");
        assert!(
            killed,
            "kill -9 cycle {cycle}: the child ended before the kill ({status})"
        );
        let store =
            open(dir).unwrap_or_else(|e| panic!("kill -9 cycle {cycle}: reopen failed: {e}"));
        let mut s = must(store.session(), "session");
        let mut buf = ReadBuf::default();
        for (stream, want) in acked.iter_mut().enumerate() {
            let stream = stream as u64;
            let tail = must(s.bounds(stream), "bounds").tail;
            assert!(
                tail >= *want,
                "durability: kill -9 cycle {cycle}: stream {stream} lost acknowledged records (tail {tail}, acknowledged {want})"
            );
            let mut at = 0;
            while at < tail {
                let next = must(s.read(stream, at, 1 << 20, &mut buf), "read");
                assert!(
                    !buf.is_empty(),
                    "durability: kill -9 cycle {cycle}: hole in stream {stream} at {at}"
                );
                for (i, r) in buf.records.iter().enumerate() {
                    assert_eq!(
                        (r.keys, buf.body(i)),
                        (
                            Keys::Pair(stream, r.offset),
                            crash_body(stream, r.offset).as_slice()
                        ),
                        "durability: kill -9 cycle {cycle}: stream {stream} offset {} is damaged",
                        r.offset
                    );
                }
                at = next;
            }
            *want = tail;
        }
        drop(s);
        must(store.close(), "close");
    }
    assert!(
        total_acks >= cycles,
        "kill -9: the children acknowledged appends"
    );
}

/// Records of `bodies` keyed `(stream, offset)`, offsets counting from
/// `first`: the batch a test appends at a stream's tail `first`.
pub fn pair_records(stream: u64, first: Offset, bodies: &[Vec<u8>]) -> Vec<Record<'_>> {
    bodies
        .iter()
        .zip(first..)
        .map(|(b, o)| Record {
            keys: Keys::Pair(stream, o),
            body: b,
        })
        .collect()
}

/// The body the suite writes at (`stream`, `offset`): recognisable, of a
/// length that varies with the offset (including empty bodies).
pub fn body(stream: u64, offset: Offset, len: usize) -> Vec<u8> {
    let seed =
        stream.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ offset.wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
    (0..len)
        .map(|i| (seed.rotate_left((i % 64) as u32) as u8) ^ (i as u8))
        .collect()
}

fn body_len(offset: Offset) -> usize {
    // 0, 1, 17, ... with an occasional larger body.
    if offset % 13 == 5 {
        3000
    } else {
        usize::try_from((offset * 17) % 200).unwrap_or(0)
    }
}

fn sub(dir: &Path, name: &str) -> PathBuf {
    let d = dir.join(name);
    std::fs::create_dir_all(&d)
        .unwrap_or_else(|e| panic!("conformance setup: cannot create {}: {e}", d.display()));
    d
}

fn must<T>(r: Result<T, StoreError>, op: &str) -> T {
    r.unwrap_or_else(|e| panic!("{op} failed: {e}"))
}

/// Appends `n` suite records to `stream` in batches of `batch`, checking
/// that the returned offsets are dense, starting at `expect_first`.
fn fill(s: &mut dyn Session, stream: u64, expect_first: Offset, n: u64, batch: u64) {
    let mut next = expect_first;
    while next < expect_first + n {
        let k = batch.min(expect_first + n - next);
        let bodies: Vec<Vec<u8>> = (next..next + k)
            .map(|o| body(stream, o, body_len(o)))
            .collect();
        let recs: Vec<Record<'_>> = bodies
            .iter()
            .zip(next..)
            .map(|(b, o)| Record {
                keys: Keys::Single(o),
                body: b,
            })
            .collect();
        let got = must(s.append(stream, &recs), "append");
        assert_eq!(
            got, next,
            "dense offsets: append to stream {stream} returned {got}, expected {next}"
        );
        next += k;
    }
}

/// Reads all of `from..` into (offset, keys, body) triples, following the
/// offsets each read returns.
fn read_all(
    s: &mut dyn Session,
    stream: u64,
    from: Offset,
    max_bytes: usize,
) -> Vec<(Offset, Keys, Vec<u8>)> {
    let mut out = Vec::new();
    let mut buf = ReadBuf::default();
    let mut at = from;
    loop {
        let next = must(s.read(stream, at, max_bytes, &mut buf), "read");
        if buf.is_empty() {
            return out;
        }
        for (i, r) in buf.records.iter().enumerate() {
            out.push((r.offset, r.keys, buf.body(i).to_vec()));
        }
        let last = buf.records[buf.len() - 1].offset;
        assert_eq!(
            next,
            last + 1,
            "read next offset: read of stream {stream} from {at} returned next {next} after record {last}"
        );
        at = next;
    }
}

/// Checks that `got` is exactly the suite's records `from..to` of `stream`.
fn expect_records(
    got: &[(Offset, Keys, Vec<u8>)],
    stream: u64,
    from: Offset,
    to: Offset,
    rule: &str,
) {
    let offsets: Vec<Offset> = got.iter().map(|r| r.0).collect();
    let want: Vec<Offset> = (from..to).collect();
    assert_eq!(
        offsets, want,
        "{rule}: stream {stream} returned the wrong offsets"
    );
    for (o, k, b) in got {
        assert_eq!(
            b,
            &body(stream, *o, body_len(*o)),
            "{rule}: stream {stream} offset {o} has the wrong body"
        );
        assert_eq!(
            *k,
            Keys::Single(*o),
            "{rule}: stream {stream} offset {o} has the wrong keys"
        );
    }
}

fn dense_offsets(open: OpenFn<'_>, dir: &Path) {
    let store = must(open(dir), "open");
    let mut s = must(store.session(), "session");
    fill(s.as_mut(), 1, 0, 1, 1);
    fill(s.as_mut(), 1, 1, 10, 3);
    fill(s.as_mut(), 1, 11, 50, 50);
    let b = must(s.bounds(1), "bounds");
    assert_eq!(
        b.tail, 61,
        "dense offsets: bounds().tail must be the next offset"
    );
    assert_eq!(
        b.trim_point, 0,
        "dense offsets: an untrimmed stream starts at 0"
    );
    let got = read_all(s.as_mut(), 1, 0, usize::MAX);
    expect_records(&got, 1, 0, 61, "dense offsets");
    drop(s);
    must(store.close(), "close");
}

fn independent_streams(open: OpenFn<'_>, dir: &Path) {
    let store = must(open(dir), "open");
    let mut s = must(store.session(), "session");
    let streams = [0u64, 7, u64::MAX];
    for round in 0..5u64 {
        for (i, &st) in streams.iter().enumerate() {
            let n = i as u64 + 1;
            fill(s.as_mut(), st, round * n, n, 2);
        }
    }
    for (i, &st) in streams.iter().enumerate() {
        let n = (i as u64 + 1) * 5;
        let b = must(s.bounds(st), "bounds");
        assert_eq!(b.tail, n, "independent streams: stream {st} tail");
        expect_records(
            &read_all(s.as_mut(), st, 0, usize::MAX),
            st,
            0,
            n,
            "independent streams",
        );
    }
    let b = must(s.bounds(12345), "bounds");
    assert_eq!(
        (b.trim_point, b.tail),
        (0, 0),
        "independent streams: an unused stream is empty"
    );
    drop(s);
    must(store.close(), "close");
}

fn read_your_writes_across_sessions(open: OpenFn<'_>, dir: &Path) {
    let store = must(open(dir), "open");
    let mut w = must(store.session(), "session");
    let mut r = must(store.session(), "session");
    for i in 0..20 {
        fill(w.as_mut(), 4, i, 1, 1);
        let got = read_all(r.as_mut(), 4, i, usize::MAX);
        expect_records(&got, 4, i, i + 1, "read-your-writes across sessions");
    }
    drop((w, r));
    must(store.close(), "close");
}

fn read_from_offset_and_max_bytes(open: OpenFn<'_>, dir: &Path) {
    let store = must(open(dir), "open");
    let mut s = must(store.session(), "session");
    fill(s.as_mut(), 2, 0, 40, 7);
    expect_records(
        &read_all(s.as_mut(), 2, 17, usize::MAX),
        2,
        17,
        40,
        "read from an offset",
    );
    for max in [0usize, 1, 100, 250, 4000] {
        let mut buf = ReadBuf::default();
        let mut at = 0;
        while at < 40 {
            let next = must(s.read(2, at, max, &mut buf), "read");
            assert!(
                !buf.is_empty(),
                "max_bytes: a read with max_bytes {max} from {at} must return at least one record"
            );
            assert_eq!(
                buf.records[0].offset, at,
                "max_bytes: the first record must be the one asked for"
            );
            assert!(
                buf.len() == 1 || buf.bytes() <= max,
                "max_bytes: read returned {} records with {} bytes, over max_bytes {max}",
                buf.len(),
                buf.bytes()
            );
            assert!(next > at, "max_bytes: reads must make progress");
            at = next;
        }
    }
    drop(s);
    must(store.close(), "close");
}

fn read_past_tail(open: OpenFn<'_>, dir: &Path) {
    let store = must(open(dir), "open");
    let mut s = must(store.session(), "session");
    fill(s.as_mut(), 5, 0, 3, 3);
    let mut buf = ReadBuf::default();
    buf.push(99, Keys::None, b"stale");
    let next = must(s.read(5, 3, usize::MAX, &mut buf), "read");
    assert!(
        buf.is_empty(),
        "read past tail: reading at the tail must return nothing (and clear the buffer)"
    );
    assert_eq!(
        next, 3,
        "read past tail: reading at the tail returns the tail as next offset"
    );
    must(s.read(5, 1000, usize::MAX, &mut buf), "read");
    assert!(
        buf.is_empty(),
        "read past tail: reading beyond the tail must return nothing"
    );
    must(s.read(6, 0, usize::MAX, &mut buf), "read");
    assert!(
        buf.is_empty(),
        "read past tail: reading an unused stream must return nothing"
    );
    drop(s);
    must(store.close(), "close");
}

fn keys_round_trip(open: OpenFn<'_>, dir: &Path) {
    let store = must(open(dir), "open");
    let mut s = must(store.session(), "session");
    let keys = [
        Keys::None,
        Keys::Single(0),
        Keys::Single(u64::MAX),
        Keys::Pair(1, u64::MAX - 1),
        Keys::Range(u64::MAX, 3),
        Keys::Range(5, 9),
    ];
    let recs: Vec<Record<'_>> = keys
        .iter()
        .map(|k| Record {
            keys: *k,
            body: b"k",
        })
        .collect();
    must(s.append(8, &recs), "append");
    let mut buf = ReadBuf::default();
    must(s.read(8, 0, usize::MAX, &mut buf), "read");
    let got: Vec<Keys> = buf.records.iter().map(|r| r.keys).collect();
    assert_eq!(got, keys, "keys round-trip: keys must read back as written");
    drop(s);
    must(store.close(), "close");
}

fn trim_visibility(open: OpenFn<'_>, dir: &Path) {
    let store = must(open(dir), "open");
    let mut s = must(store.session(), "session");
    fill(s.as_mut(), 3, 0, 30, 4);
    fill(s.as_mut(), 9, 0, 5, 1);
    must(s.trim(3, 10), "trim");
    let b = must(s.bounds(3), "bounds");
    assert_eq!(
        (b.trim_point, b.tail),
        (10, 30),
        "trim visibility: trim must move bounds().trim_point"
    );
    expect_records(
        &read_all(s.as_mut(), 3, 0, usize::MAX),
        3,
        10,
        30,
        "trim visibility (read from 0 after trim)",
    );
    expect_records(
        &read_all(s.as_mut(), 3, 5, 1),
        3,
        10,
        30,
        "trim visibility (read below the trim point)",
    );
    expect_records(
        &read_all(s.as_mut(), 9, 0, usize::MAX),
        9,
        0,
        5,
        "trim visibility (other streams untouched)",
    );
    must(s.trim(3, 4), "trim");
    assert_eq!(
        must(s.bounds(3), "bounds").trim_point,
        10,
        "trim never goes back"
    );
    must(s.trim(3, 10), "trim");
    assert_eq!(
        must(s.bounds(3), "bounds").trim_point,
        10,
        "trim never goes back"
    );
    must(s.trim(3, 1_000_000), "trim");
    let b = must(s.bounds(3), "bounds");
    assert_eq!(
        (b.trim_point, b.tail),
        (30, 30),
        "trim beyond the tail is clamped to the tail"
    );
    // `trim_many` is `trim` for each pair: a point behind the trim point
    // stays put, the others move.
    must(s.trim_many(&[(9, 2), (3, 5)]), "trim_many");
    assert_eq!(
        (
            must(s.bounds(9), "bounds").trim_point,
            must(s.bounds(3), "bounds").trim_point
        ),
        (2, 30),
        "trim_many trims each stream as trim does"
    );
    expect_records(
        &read_all(s.as_mut(), 9, 0, usize::MAX),
        9,
        2,
        5,
        "trim_many visibility",
    );
    let mut buf = ReadBuf::default();
    let next = must(s.read(3, 0, usize::MAX, &mut buf), "read");
    assert!(
        buf.is_empty(),
        "trim visibility: a fully trimmed stream returns nothing"
    );
    assert_eq!(
        next, 30,
        "trim visibility: reading a fully trimmed stream returns the trim point"
    );
    fill(s.as_mut(), 3, 30, 6, 3);
    expect_records(
        &read_all(s.as_mut(), 3, 0, usize::MAX),
        3,
        30,
        36,
        "appends after a trim to the tail",
    );
    must(s.trim(77, 5), "trim");
    assert_eq!(
        must(s.bounds(77), "bounds").trim_point,
        0,
        "trim beyond the tail is clamped to the tail (unused stream)"
    );
    drop(s);
    must(store.close(), "close");
}

fn sync_works(open: OpenFn<'_>, dir: &Path) {
    let store = must(open(dir), "open");
    let mut s = must(store.session(), "session");
    must(s.sync(), "sync (empty store)");
    fill(s.as_mut(), 1, 0, 5, 2);
    must(s.sync(), "sync");
    must(s.sync(), "sync (twice)");
    expect_records(
        &read_all(s.as_mut(), 1, 0, usize::MAX),
        1,
        0,
        5,
        "sync works",
    );
    drop(s);
    must(store.close(), "close");
}

fn concurrent_appends(open: OpenFn<'_>, dir: &Path) {
    const THREADS: u64 = 4;
    const PER_THREAD: u64 = 40;
    let store = must(open(dir), "open");
    let store_ref: &dyn Store = store.as_ref();
    // Each thread appends 2-record batches to the shared stream 100 and to
    // its own stream; a body names (thread, sequence) so reads can check
    // that every offset holds what its append returned.
    let results: Vec<Vec<(u64, Offset, Vec<u8>)>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                scope.spawn(move || {
                    let mut s = must(store_ref.session(), "session");
                    let mut mine = Vec::new();
                    for i in 0..PER_THREAD {
                        for stream in [100, 200 + t] {
                            let a = format!("t{t} i{i} a").into_bytes();
                            let b = format!("t{t} i{i} b").into_bytes();
                            let off = must(
                                s.append(
                                    stream,
                                    &[
                                        Record {
                                            keys: Keys::None,
                                            body: &a,
                                        },
                                        Record {
                                            keys: Keys::None,
                                            body: &b,
                                        },
                                    ],
                                ),
                                "concurrent append",
                            );
                            mine.push((stream, off, a));
                            mine.push((stream, off + 1, b));
                        }
                    }
                    mine
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| panic!("concurrency: an appending thread panicked"))
            })
            .collect()
    });
    let mut s = must(store.session(), "session");
    let mut shared: Vec<Offset> = Vec::new();
    for (t, mine) in results.iter().enumerate() {
        let own = 200 + t as u64;
        let got = read_all(s.as_mut(), own, 0, usize::MAX);
        assert_eq!(
            got.len() as u64,
            PER_THREAD * 2,
            "concurrency: stream {own} (one writer) must hold every record"
        );
        for (stream, off, want) in mine {
            if *stream == 100 {
                shared.push(*off);
            }
            let got = if *stream == 100 {
                read_all(s.as_mut(), 100, *off, 0)
            } else {
                got.iter().filter(|r| r.0 == *off).cloned().collect()
            };
            let first = got
                .first()
                .unwrap_or_else(|| panic!("concurrency: stream {stream} offset {off} is missing"));
            assert_eq!(
                first.0, *off,
                "concurrency: stream {stream} offset {off} is missing"
            );
            assert_eq!(
                &first.2, want,
                "concurrency: stream {stream} offset {off} does not hold what its append wrote"
            );
        }
    }
    shared.sort_unstable();
    let want: Vec<Offset> = (0..THREADS * PER_THREAD * 2).collect();
    assert_eq!(
        shared, want,
        "concurrency: offsets of a shared stream must be unique and dense"
    );
    drop(s);
    must(store.close(), "close");
}

fn reopen_persistence(open: OpenFn<'_>, dir: &Path) {
    {
        let store = must(open(dir), "open");
        let mut s = must(store.session(), "session");
        fill(s.as_mut(), 1, 0, 25, 5);
        fill(s.as_mut(), 2, 0, 10, 10);
        must(s.trim(1, 7), "trim");
        must(s.trim(2, 10), "trim");
        drop(s);
        must(store.close(), "close");
    }
    for cycle in 0..2u64 {
        let store = must(open(dir), "reopen");
        let mut s = must(store.session(), "session");
        let b1 = must(s.bounds(1), "bounds");
        let b2 = must(s.bounds(2), "bounds");
        assert_eq!(
            (b1.trim_point, b1.tail),
            (7, 25 + cycle * 3),
            "reopen persistence: stream 1 bounds after reopen (trim point and tail must survive)"
        );
        assert_eq!(
            (b2.trim_point, b2.tail),
            (10, 10),
            "reopen persistence: a stream trimmed to its tail must stay empty and keep its tail"
        );
        expect_records(
            &read_all(s.as_mut(), 1, 0, usize::MAX),
            1,
            7,
            25 + cycle * 3,
            "reopen persistence (data intact, trimmed records never return)",
        );
        fill(s.as_mut(), 1, 25 + cycle * 3, 3, 2);
        if cycle == 0 {
            fill(s.as_mut(), 2, 10, 0, 1);
        }
        drop(s);
        must(store.close(), "close");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;
    use crate::store::api::{Capabilities, LogBounds, StoreStats};

    /// A memory store with one deliberate bug, to prove the suite catches it.
    #[derive(Clone, Copy, Debug)]
    enum Bug {
        TrimIgnored,
        OffsetsStartAtOne,
        MaxBytesIgnored,
        TrimGoesBack,
    }

    struct Broken(MemoryStore, Bug);
    struct BrokenSession(Box<dyn Session>, Bug, u64);

    impl Store for Broken {
        fn capabilities(&self) -> Capabilities {
            self.0.capabilities()
        }
        fn session(&self) -> Result<Box<dyn Session>, StoreError> {
            Ok(Box::new(BrokenSession(self.0.session()?, self.1, 0)))
        }
        fn stats(&self) -> StoreStats {
            self.0.stats()
        }
        fn close(self: Box<Self>) -> Result<(), StoreError> {
            Ok(())
        }
    }

    impl Session for BrokenSession {
        fn append(&mut self, stream: u64, batch: &[Record<'_>]) -> Result<Offset, StoreError> {
            let o = self.0.append(stream, batch)?;
            Ok(match self.1 {
                Bug::OffsetsStartAtOne => o + 1,
                _ => o,
            })
        }
        fn read(
            &mut self,
            stream: u64,
            from: Offset,
            max_bytes: usize,
            out: &mut ReadBuf,
        ) -> Result<Offset, StoreError> {
            let max = match self.1 {
                Bug::MaxBytesIgnored => usize::MAX,
                _ => max_bytes,
            };
            self.0.read(stream, from, max, out)
        }
        fn trim(&mut self, stream: u64, up_to: Offset) -> Result<(), StoreError> {
            match self.1 {
                Bug::TrimIgnored => Ok(()),
                _ => {
                    self.2 = up_to;
                    self.0.trim(stream, up_to)
                }
            }
        }
        fn sync(&mut self) -> Result<(), StoreError> {
            self.0.sync()
        }
        fn bounds(&mut self, stream: u64) -> Result<LogBounds, StoreError> {
            let mut b = self.0.bounds(stream)?;
            if let Bug::TrimGoesBack = self.1 {
                // Reports the last requested trim point when it is lower.
                b.trim_point = b.trim_point.min(self.2);
            }
            Ok(b)
        }
    }

    #[test]
    fn the_suite_catches_broken_stores_and_names_the_rule() {
        for (bug, rule) in [
            (Bug::TrimIgnored, "trim visibility"),
            (Bug::OffsetsStartAtOne, "dense offsets"),
            (Bug::MaxBytesIgnored, "max_bytes"),
            (Bug::TrimGoesBack, "trim never goes back"),
        ] {
            let dir = tempfile::tempdir().expect("tempdir");
            let open = move |_: &Path| -> Result<Box<dyn Store>, StoreError> {
                Ok(Box::new(Broken(MemoryStore::new(), bug)))
            };
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                check_log_store(&open, dir.path())
            }));
            let payload = r.expect_err(&format!("{bug:?} must be caught"));
            let msg = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_default();
            assert!(
                msg.contains(rule),
                "{bug:?}: the panic names {rule:?}: {msg}"
            );
        }
    }

    #[test]
    fn bodies_are_deterministic_and_distinct() {
        assert_eq!(body(1, 2, 50), body(1, 2, 50));
        assert_ne!(body(1, 2, 50), body(1, 3, 50));
        assert_ne!(body(1, 2, 50), body(2, 2, 50));
        assert_eq!(body_len(5), 3000);
        assert_eq!(body_len(0), 0);
    }
}
