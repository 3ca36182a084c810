//! Crash checks: kill -9 durability of acknowledged appends and of
//! key-value writes (a child process writes, the parent SIGKILLs it and
//! checks the reopened store), and what a crash phase asks of a store.

use std::path::Path;

use super::support::*;
use super::*;
use crate::store::api::{Keys, Offset, ReadBuf, StoreError};

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
