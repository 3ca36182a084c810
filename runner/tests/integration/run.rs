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
        .filter(|r| &r[2] == "first")
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
    let file = dir.path().join("too-big.yaml");
    // A 64 KiB record cannot fit a 4 KiB segment: the WAL refuses the append.
    std::fs::write(
        &file,
        "version: 1\nname: too-big\nseed: 1\ntargets:\n  tiny:\n    wal: { segment_size: 4KiB, sync: never }\npayloads:\n  small:\n    size: 64B\n    pool: 4\n  huge:\n    size: 64KiB\n    pool: 4\n\
phases:\n  - name: fine\n    records: 100\n    actors:\n      - { op: append, payload: small }\n  - name: boom\n    records: 10\n    actors:\n      - { op: append, payload: huge }\n",
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
        .stderr(predicate::str::contains("target `tiny`, phase `boom`"));
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
