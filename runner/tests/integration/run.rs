//! `loadline run` end to end through the binary: outputs, exit codes,
//! results on disk before the next phase, and interruption.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use predicates::prelude::*;

use super::repo_root;

fn loadline() -> Command {
    let mut cmd = Command::cargo_bin("loadline").expect("binary built");
    cmd.current_dir(repo_root());
    cmd
}

const FILES: [&str; 5] = [
    "results.csv",
    "assertions.csv",
    "run.json",
    "junit.xml",
    "report.md",
];

#[test]
fn quickstart_passes_and_writes_all_five_files() {
    let out = tempfile::tempdir().expect("tempdir");
    loadline()
        .args(["run", "scenarios/quickstart.yaml", "--out"])
        .arg(out.path())
        .assert()
        .success();
    for f in FILES {
        let p = out.path().join(f);
        assert!(p.is_file(), "{f} missing");
        assert!(std::fs::metadata(&p).expect("stat").len() > 0, "{f} empty");
    }
    let run: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("run.json")).expect("read"))
            .expect("json");
    assert_eq!(run["status"], "complete");
    assert_eq!(run["seed"], 42);
    assert!(
        !out.path().join("data").exists(),
        "data directories are removed unless --keep-data"
    );
}

#[test]
fn a_failing_assertion_exits_1_with_a_failing_junit_case_and_a_cross() {
    let out = tempfile::tempdir().expect("tempdir");
    let assert = loadline()
        .args([
            "run",
            "scenarios/quickstart.yaml",
            "--target",
            "mem",
            "--set",
            "assertions.0=write.append.p99 < 1ns",
            "--out",
        ])
        .arg(out.path())
        .assert()
        .code(1)
        .stdout(predicate::str::contains("✗"));
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    assert!(stdout.contains("write.append.p99 < 1ns"), "{stdout}");
    let junit = std::fs::read_to_string(out.path().join("junit.xml")).expect("junit");
    assert!(junit.contains("<failure"), "{junit}");
}

#[test]
fn an_invalid_override_runs_nothing_and_exits_2() {
    let out = tempfile::tempdir().expect("tempdir");
    loadline()
        .args([
            "run",
            "scenarios/quickstart.yaml",
            "--set",
            "phases.write.records=0",
            "--out",
        ])
        .arg(out.path())
        .assert()
        .code(2);
    assert!(
        !out.path().join("run.json").exists(),
        "nothing runs when validation fails"
    );
}

fn two_phase_scenario(dir: &Path) -> std::path::PathBuf {
    let file = dir.join("two-phase.yaml");
    std::fs::write(
        &file,
        "version: 1\nname: two-phase\nseed: 3\ntargets:\n  mem:\n    memory: {}\npayloads:\n  p:\n    size: 64B\n    pool: 16\n\
phases:\n  - name: first\n    records: 1000\n    actors:\n      - { op: append }\n  - name: second\n    duration: 60s\n    actors:\n      - { op: append, rate: 100/s }\n",
    )
    .expect("write scenario");
    file
}

fn wait_for_phase_one(out: &Path) {
    let started = Instant::now();
    loop {
        let csv = std::fs::read_to_string(out.join("results.csv")).unwrap_or_default();
        if csv.contains(",first,") {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "phase one never reached the disk"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn results_of_finished_phases_survive_a_kill_during_the_next() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = two_phase_scenario(dir.path());
    let out = dir.path().join("out");
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("loadline"))
        .arg("run")
        .arg(&file)
        .arg("--quiet")
        .arg("--out")
        .arg(&out)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    wait_for_phase_one(&out);
    child.kill().expect("kill -9");
    let _ = child.wait();
    let mut rdr = csv::Reader::from_path(out.join("results.csv")).expect("results.csv parses");
    let rows = rdr
        .records()
        .map(|r| r.expect("row"))
        .filter(|r| &r[3] == "first")
        .count();
    assert!(rows > 10, "phase one's metrics are on disk");
    let run: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("run.json")).expect("run.json"))
            .expect("json");
    assert_eq!(run["status"], "running");
}

#[test]
fn ctrl_c_keeps_finished_phases_marks_the_run_interrupted_and_exits_130() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = two_phase_scenario(dir.path());
    let out = dir.path().join("out");
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("loadline"))
        .arg("run")
        .arg(&file)
        .arg("--quiet")
        .arg("--out")
        .arg(&out)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    wait_for_phase_one(&out);
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill -INT");
    assert!(status.success());
    let started = Instant::now();
    let code = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s.code();
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "loadline did not stop after Ctrl-C"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(code, Some(130));
    let run: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("run.json")).expect("run.json"))
            .expect("json");
    assert_eq!(run["status"], "interrupted");
    assert_eq!(
        run["variants"][0]["targets"][0]["phases"][0]["name"],
        "first"
    );
}

#[test]
fn a_store_error_stops_the_run_with_exit_3_and_keeps_finished_phases() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("bad-open.yaml");
    // RocksDB parses `kSnappyCompression` but refuses it at open (snappy is
    // not compiled in): a store error of the second target, after the
    // first target finished its phase.
    std::fs::write(
        &file,
        "version: 1\nname: bad-open\nseed: 1\ntargets:\n  fine:\n    memory: {}\n  broken:\n    rocksdb: { options: { compression: kSnappyCompression } }\npayloads:\n  small:\n    size: 64B\n    pool: 4\n\
phases:\n  - name: fine\n    records: 100\n    actors:\n      - { op: append, payload: small }\n",
    )
    .expect("write scenario");
    let out = dir.path().join("out");
    loadline()
        .arg("run")
        .arg(&file)
        .arg("--quiet")
        .arg("--out")
        .arg(&out)
        .assert()
        .code(3)
        .stderr(predicate::str::contains("target `broken`"));
    let run: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("run.json")).expect("run.json"))
            .expect("json");
    assert_eq!(run["status"], "failed");
    assert_eq!(
        run["variants"][0]["targets"][0]["phases"][0]["name"],
        "fine"
    );
    let junit = std::fs::read_to_string(out.join("junit.xml")).expect("junit");
    assert!(junit.contains("<error"), "{junit}");
}

/// Guards issue 18 item 13: a batch that cannot fit a WAL segment used to
/// pass validation and stop the run with exit 3 at the first append; the
/// `wal` kind's check now refuses it, located, before any I/O.
#[test]
fn a_batch_larger_than_a_wal_segment_is_a_validation_error_before_any_io() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("too-big.yaml");
    std::fs::write(
        &file,
        "version: 1\nname: too-big\nseed: 1\ntargets:\n  tiny:\n    wal: { segment_size: 4KiB, sync: never }\npayloads:\n  small:\n    size: 64B\n    pool: 4\n  huge:\n    size: 64KiB\n    pool: 4\n\
phases:\n  - name: fine\n    records: 100\n    actors:\n      - { op: append, payload: small, batch: 10 }\n  - name: boom\n    records: 10\n    actors:\n      - { op: append, payload: huge }\n",
    )
    .expect("write scenario");
    let out = dir.path().join("out");
    loadline()
        .arg("run")
        .arg(&file)
        .arg("--quiet")
        .arg("--out")
        .arg(&out)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "a batch of `append` can be larger than a wal segment holds",
        ))
        .stderr(predicate::str::contains("too-big.yaml:22:"));
    assert!(!out.exists(), "nothing ran");
}

/// The other half of the (store kind × restart × op) table in
/// `scenario::validate`: every cell that validates also runs. One scenario
/// per kind holds every valid cell as a phase; it must exit 0 (no
/// assertions), so no combination validation accepts stops a run with a
/// store error (issue 12: `put` in a crash phase on rocksdb did).
#[test]
fn every_kind_restart_and_op_that_validates_runs() {
    const OPS: [&str; 8] = [
        "append", "read", "trim", "sync", "put", "get", "delete", "scan",
    ];
    const RESTARTS: [Option<&str>; 4] = [None, Some("clean"), Some("crash"), Some("power-loss")];
    let dir = tempfile::tempdir().expect("tempdir");
    for kind in ["memory", "wal", "rocksdb"] {
        let head = format!(
            "version: 1\nname: cells-{kind}\nseed: 3\ntargets:\n  t:\n    {kind}: {{}}\npayloads:\n  p:\n    size: 64B\n    pool: 4\nphases:\n"
        );
        let mut phases = String::new();
        let mut cells = 0;
        for restart in RESTARTS {
            for op in OPS {
                let payload = match op {
                    "append" | "put" => ", payload: p",
                    "read" => ", from: head",
                    _ => "",
                };
                let phase = format!(
                    "  - name: {}-{op}\n    duration: 150ms\n    actors:\n      - {{ op: {op}{payload} }}\n{}",
                    restart.unwrap_or("none"),
                    restart.map_or(String::new(), |r| format!("    restart: {r}\n"))
                );
                let alone = loadline::testing::load_source(
                    loadline::testing::Source {
                        name: "cell.yaml".to_owned(),
                        text: format!("{head}{phase}"),
                    },
                    std::path::Path::new("cell.yaml"),
                    &[],
                );
                if alone.is_ok() {
                    phases.push_str(&phase);
                    cells += 1;
                }
            }
        }
        assert!(cells >= 10, "{kind}: only {cells} valid cells");
        let file = dir.path().join(format!("{kind}.yaml"));
        std::fs::write(&file, format!("{head}{phases}")).expect("write scenario");
        loadline()
            .arg("run")
            .arg(&file)
            .arg("--quiet")
            .arg("--out")
            .arg(dir.path().join(format!("out-{kind}")))
            .assert()
            .code(0);
    }
}

/// Guards issue 16: `batch` on a `put` (d-engine's `apply_chunk` of N
/// entries): one operation sets N keys, so `count` is records / batch, and
/// `per_record.*` shares each op's latency over its keys.
#[test]
fn a_batched_put_sets_batch_keys_per_operation() {
    let t = tempfile::tempdir().expect("tempdir");
    let file = t.path().join("batched-put.yaml");
    std::fs::write(
        &file,
        "version: 1\nname: batched-put\nseed: 1\ntargets:\n  mem: { memory: {} }\n  rocks: { rocksdb: {} }\n\
         payloads:\n  v: { size: 100B, pool: 16 }\n\
         phases:\n  - name: apply\n    records: 10k\n    actors:\n      - { op: put, batch: 100, payload: v, keys: { space: 1k } }\n\
         \x20 - name: read\n    records: 1k\n    actors:\n      - { op: get, keys: { space: 1k } }\n\
         assertions:\n  - apply.put.records == 10k\n  - apply.put.count == 100\n  - apply.put.per_record.p99 > 0ns\n  - read.get.bytes > 0\n",
    )
    .expect("write");
    loadline()
        .arg("run")
        .arg(&file)
        .arg("--out")
        .arg(t.path().join("out"))
        .assert()
        .success();
}
