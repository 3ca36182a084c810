//! Crash and power-loss phases end to end through the binary: the crash
//! child is re-executed, killed and reaped; `lost_records` holds under
//! `sync: always` and fails under `sync: never` + power loss; an interrupt
//! mid-phase leaves no child behind.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use assert_cmd::Command;

use super::repo_root;

fn loadline() -> Command {
    let mut cmd = Command::cargo_bin("loadline").expect("binary built");
    cmd.current_dir(repo_root());
    cmd
}

/// `loadline run FILE --quiet --out OUT`, bounded to a minute.
fn run_quiet(file: &Path, out: &Path) -> assert_cmd::assert::Assert {
    loadline()
        .arg("run")
        .arg(file)
        .args(["--quiet", "--out"])
        .arg(out)
        .timeout(Duration::from_secs(60))
        .assert()
}

/// A scenario with one `wal` target (`wal` holds its options), a 2000-record
/// `write` phase, then `phase`.
fn write_scenario(dir: &Path, wal: &str, phase: &str) -> std::path::PathBuf {
    let path = dir.join("crash.yaml");
    let text = format!(
        "version: 1\nname: crash-test\nseed: 3\ntargets:\n  wal:\n    wal: {{ {wal} }}\npayloads:\n  p:\n    size: 256B\n    pool: 64\nphases:\n  - name: write\n    records: 2000\n    actors:\n      - {{ op: append, streams: 2, batch: 5, payload: p }}\n{phase}assertions:\n  - recover.lost_records == 0\n"
    );
    std::fs::write(&path, text).expect("write scenario");
    path
}

fn metrics(out: &Path) -> serde_json::Value {
    let run: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("run.json")).expect("run.json"))
            .expect("json");
    run["variants"][0]["targets"][0]["phases"][1]["metrics"].clone()
}

/// Processes whose command line mentions `needle` (a crash child started
/// for a data directory of this test).
fn processes_mentioning(needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    for e in std::fs::read_dir("/proc").expect("/proc").flatten() {
        if let Ok(cmd) = std::fs::read(e.path().join("cmdline")) {
            let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
            if cmd.contains("__crash-child") && cmd.contains(needle) {
                found.push(cmd);
            }
        }
    }
    found
}

#[test]
fn a_crash_phase_on_the_wal_loses_nothing_acknowledged_under_sync_always() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let file = write_scenario(
        tmp.path(),
        "sync: always, segment_size: 1MiB",
        "  - name: recover\n    actors:\n      - { op: append, streams: 2, batch: 5, workers: 2, payload: p }\n    restart: crash\n    after: 50ms..150ms\n    verify: acknowledged\n    repeat: 3\n",
    );
    let out = tmp.path().join("out");
    run_quiet(&file, &out).success();
    let m = metrics(&out);
    assert_eq!(m["cycles"], 3.0);
    assert_eq!(m["lost_records"], 0.0, "{m}");
    assert_eq!(m["corrupt_records"], 0.0, "{m}");
    assert!(
        m["acknowledged_records"].as_f64().expect("acked") > 0.0,
        "{m}"
    );
    // The 2000 records of `write` were there before and are not counted again.
    assert_eq!(m["recovered_records"], m["acknowledged_records"], "{m}");
    assert!(m["reopen.duration"].as_f64().expect("reopen") > 0.0);
    assert!(processes_mentioning(&tmp.path().display().to_string()).is_empty());
}

/// Proof the check can fail: under `sync: never` a power loss takes
/// acknowledged records, and the assertion on them fails the run.
#[test]
fn power_loss_under_sync_never_fails_the_lost_records_assertion() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let file = write_scenario(
        tmp.path(),
        // One segment holds every record the cycles can write: a roll seals
        // (and syncs) a segment, and a power loss right after one would
        // lose nothing acknowledged (seen under load with 1 MiB segments).
        "sync: never, segment_size: 64MiB",
        "  - name: recover\n    actors:\n      - { op: append, streams: 2, batch: 5, payload: p }\n    restart: power-loss\n    after_records: 1000\n    verify: acknowledged\n    repeat: 2\n",
    );
    let out = tmp.path().join("out");
    run_quiet(&file, &out).code(1);
    let m = metrics(&out);
    assert!(m["lost_records"].as_f64().expect("lost") > 0.0, "{m}");
    let junit = std::fs::read_to_string(out.join("junit.xml")).expect("junit");
    assert!(junit.contains("<failure"), "{junit}");
}

#[test]
fn an_interrupt_during_a_crash_phase_leaves_no_child_behind() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let file = write_scenario(
        tmp.path(),
        "sync: batch, segment_size: 1MiB",
        "  - name: recover\n    actors:\n      - { op: append, streams: 2, batch: 5, payload: p }\n    restart: crash\n    after: 60s\n    verify: acknowledged\n",
    );
    let out = tmp.path().join("out");
    let needle = tmp.path().display().to_string();
    let mut parent = std::process::Command::new(env!("CARGO_BIN_EXE_loadline"))
        .arg("run")
        .arg(&file)
        .args(["--quiet", "--out"])
        .arg(&out)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start loadline");
    // Wait until the crash child is writing.
    let t0 = Instant::now();
    while processes_mentioning(&needle).is_empty() {
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "no crash child started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(200));
    let sent = std::process::Command::new("kill")
        .args(["-INT", &parent.id().to_string()])
        .status()
        .expect("kill -INT");
    assert!(sent.success());
    let t1 = Instant::now();
    let status = loop {
        if let Some(s) = parent.try_wait().expect("wait") {
            break s;
        }
        if t1.elapsed() > Duration::from_secs(20) {
            let _ = parent.kill();
            panic!("loadline did not stop after SIGINT");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(130));
    assert!(
        processes_mentioning(&needle).is_empty(),
        "a crash child outlived the interrupted run"
    );
}

#[test]
fn a_crash_phase_on_rocksdb_with_synced_writes_loses_nothing_acknowledged() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = tmp.path().join("crash-rocksdb.yaml");
    std::fs::write(
        &path,
        r#"version: 1
name: crash-rocksdb
seed: 4
targets:
  db:
    rocksdb: { sync: true }
payloads:
  p:
    size: 256B
    pool: 64
phases:
  - name: write
    records: 2000
    actors:
      - { op: append, streams: 2, batch: 5, payload: p }
  - name: recover
    actors:
      - { op: append, streams: 2, batch: 5, workers: 2, payload: p }
    restart: crash
    after: 50ms..150ms
    verify: acknowledged
    repeat: 3
assertions:
  - recover.lost_records == 0
"#,
    )
    .expect("write scenario");
    let out = tmp.path().join("out");
    run_quiet(&path, &out).success();
    let m = metrics(&out);
    assert_eq!(m["cycles"], 3.0);
    assert_eq!(m["lost_records"], 0.0, "{m}");
    assert!(
        m["acknowledged_records"].as_f64().expect("acked") > 0.0,
        "{m}"
    );
    assert_eq!(m["recovered_records"], m["acknowledged_records"], "{m}");
}

/// A rebuild (or an upgrade) that replaces the binary during a long run
/// must not break its crash phases: the child is started from the running
/// image (`/proc/self/exe`), not from the path, which may be gone.
#[test]
fn a_crash_phase_still_runs_after_the_binary_file_is_deleted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bin = dir.path().join("loadline-copy");
    std::fs::copy(assert_cmd::cargo::cargo_bin("loadline"), &bin).expect("copy binary");
    let file = dir.path().join("slow-then-crash.yaml");
    std::fs::write(
        &file,
        "version: 1\nname: deleted-binary\nseed: 3\ntargets:\n  wal:\n    wal: { sync: always }\n\
         payloads:\n  p:\n    size: 256B\n    pool: 16\n\
         phases:\n  - name: write\n    duration: 1500ms\n    actors:\n      - { op: append, payload: p, rate: 200/s }\n\
         \x20 - name: recover\n    actors:\n      - { op: append, payload: p }\n    restart: crash\n    after: 50ms..100ms\n    verify: acknowledged\n\
         assertions:\n  - recover.lost_records == 0\n",
    )
    .expect("write scenario");
    let child = std::process::Command::new(&bin)
        .arg("run")
        .arg(&file)
        .arg("--quiet")
        .arg("--out")
        .arg(dir.path().join("out"))
        .env("CI", "true")
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    std::thread::sleep(Duration::from_millis(400));
    std::fs::remove_file(&bin).expect("delete the running binary's file");
    let out = child.wait_with_output().expect("wait");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The scenario of issue 29 on one target: puts (and deletes) of 1 KiB
/// values in a crash phase with `verify: acknowledged`, gated on
/// `crash.lost_records == 0`.
///
/// The crash comes 300–500 ms after the child is ready: at 100–200 ms a
/// loaded 2-core machine once let no put be acknowledged before the kill.
fn put_crash_scenario(dir: &Path, target: &str) -> std::path::PathBuf {
    let path = dir.join(format!("put-crash-{}.yaml", target.len()));
    std::fs::write(
        &path,
        format!(
            "version: 1\nname: put-crash\nseed: 5\ntargets:\n  mine: {{ {target} }}\n\
             payloads:\n  value: {{ size: 1KiB, pool: 64 }}\n\
             phases:\n  - {{ name: crash, restart: crash, after: 300ms..500ms, verify: acknowledged, repeat: 2,\n\
             \x20     actors: [ {{ op: put, payload: value, keys: {{ space: 1k }} }}, {{ op: delete, keys: {{ space: 1k }} }} ] }}\n\
             assertions: [ crash.lost_records == 0, crash.corrupt_records == 0 ]\n"
        ),
    )
    .expect("write scenario");
    path
}

fn crash_metrics(out: &Path) -> serde_json::Value {
    let run: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("run.json")).expect("run.json"))
            .expect("json");
    run["variants"][0]["targets"][0]["phases"][0]["metrics"].clone()
}

/// Guards issue 29: acknowledged puts and deletes are verified after a
/// kill -9 of the child; RocksDB keeps every one and passes with non-zero
/// counts of each kind.
#[test]
fn acknowledged_puts_and_deletes_survive_a_crash_on_rocksdb() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let file = put_crash_scenario(tmp.path(), "rocksdb: {}");
    let out = tmp.path().join("out");
    run_quiet(&file, &out).success();
    let m = crash_metrics(&out);
    for k in [
        "acknowledged_puts",
        "verified_puts",
        "recovered_puts",
        "acknowledged_deletes",
        "verified_records",
    ] {
        assert!(m[k].as_f64().expect(k) > 0.0, "{k}: {m}");
    }
    assert_eq!(m["lost_records"], 0.0, "{m}");
    assert_eq!(m["corrupt_records"], 0.0, "{m}");
    assert_eq!(
        m["acknowledged_records"].as_f64(),
        Some(
            m["acknowledged_puts"].as_f64().expect("puts")
                + m["acknowledged_deletes"].as_f64().expect("deletes")
        ),
        "{m}"
    );
}

/// Guards issue 29: the memory store loses every put in a crash, and the
/// `lost_records == 0` gate fails (it passed over nothing before); a
/// quiet run still prints its verdict line.
#[test]
fn the_memory_store_fails_the_put_crash_gate() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let file = put_crash_scenario(tmp.path(), "memory: {}");
    let out = tmp.path().join("out");
    let assert = run_quiet(&file, &out).code(1);
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    assert!(stdout.starts_with("FAIL: "), "{stdout}");
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    let m = crash_metrics(&out);
    assert!(m["lost_puts"].as_f64().expect("lost") > 0.0, "{m}");
    assert_eq!(m["lost_records"], m["lost_puts"], "{m}");
}
