//! `--crash-hook` and `--after-crash-hook` end to end with plain shell
//! commands (no LazyFS): each runs once per cycle, in order, with the
//! cycle's context in its environment; a writer killed by the crash hook
//! is the expected crash; a failing hook fails the phase with its stderr.

use std::path::{Path, PathBuf};
use std::time::Duration;

use assert_cmd::Command;

use super::repo_root;

/// A scenario with one `wal` target and a 3-cycle crash phase `crash`.
fn scenario(dir: &Path) -> PathBuf {
    let path = dir.join("hooks.yaml");
    let text = "version: 1\nname: hooks-test\nseed: 5\ntargets:\n  wal:\n    wal: { sync: always, segment_size: 1MiB }\npayloads:\n  p:\n    size: 256B\n    pool: 64\nphases:\n  - name: crash\n    actors:\n      - { op: append, streams: 2, batch: 5, workers: 2, payload: p }\n    restart: crash\n    after: 50ms..100ms\n    verify: acknowledged\n    repeat: 3\n";
    std::fs::write(&path, text).expect("write scenario");
    path
}

/// `loadline run FILE --quiet --out DIR/out --data-dir DIR/data` plus `args`.
fn run(dir: &Path, args: &[&str]) -> assert_cmd::assert::Assert {
    let file = scenario(dir);
    Command::cargo_bin("loadline")
        .expect("binary built")
        .current_dir(repo_root())
        .arg("run")
        .arg(&file)
        .arg("--quiet")
        .arg("--out")
        .arg(dir.join("out"))
        .arg("--data-dir")
        .arg(dir.join("data"))
        .args(args)
        .timeout(Duration::from_secs(60))
        .assert()
}

fn metrics(dir: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.join("out/run.json")).expect("run.json");
    let run: serde_json::Value = serde_json::from_str(&text).expect("json");
    run["variants"][0]["targets"][0]["phases"][0]["metrics"].clone()
}

#[test]
fn hooks_run_in_order_once_per_cycle_with_the_cycle_in_their_environment() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let log = tmp.path().join("hooks.log");
    let line = format!(
        "echo \"$LOADLINE_HOOK $LOADLINE_CYCLE $LOADLINE_TARGET $LOADLINE_PHASE $LOADLINE_DATA_DIR ${{LOADLINE_CHILD_PID:-none}}\" >> {}",
        log.display()
    );
    run(
        tmp.path(),
        &["--crash-hook", &line, "--after-crash-hook", &line],
    )
    .success();
    let text = std::fs::read_to_string(&log).expect("the hooks wrote");
    let lines: Vec<Vec<&str>> = text.lines().map(|l| l.split(' ').collect()).collect();
    let points: Vec<(&str, &str)> = lines.iter().map(|l| (l[0], l[1])).collect();
    assert_eq!(
        points,
        [
            ("crash-hook", "1"),
            ("after-crash-hook", "1"),
            ("crash-hook", "2"),
            ("after-crash-hook", "2"),
            ("crash-hook", "3"),
            ("after-crash-hook", "3"),
        ],
        "{text}"
    );
    let data = tmp.path().join("data").join("wal");
    for l in &lines {
        assert_eq!(
            l[2..5],
            ["wal", "crash", &*data.to_string_lossy()],
            "{text}"
        );
    }
    // The crash hook runs while the writer lives; the after-crash hook once it is reaped.
    assert!(lines[0][5].parse::<u32>().is_ok(), "{text}");
    assert_eq!(lines[1][5], "none", "{text}");
    let m = metrics(tmp.path());
    assert_eq!(m["cycles"], 3.0, "{m}");
    assert_eq!(m["lost_records"], 0.0, "{m}");
}

#[test]
fn a_writer_killed_by_the_crash_hook_is_the_expected_crash() {
    let tmp = tempfile::tempdir().expect("tempdir");
    // What a crashing file system does to the writer: it dies mid-write,
    // before loadline's own SIGKILL.
    let kill = "kill -9 $LOADLINE_CHILD_PID; while kill -0 $LOADLINE_CHILD_PID 2>/dev/null && ! grep -q '^State:.*Z' /proc/$LOADLINE_CHILD_PID/status; do sleep 0.01; done";
    run(tmp.path(), &["--crash-hook", kill]).success();
    let m = metrics(tmp.path());
    assert_eq!(m["cycles"], 3.0, "{m}");
    assert_eq!(m["lost_records"], 0.0, "{m}");
    assert!(
        m["acknowledged_records"].as_f64().expect("acked") > 0.0,
        "{m}"
    );
}

#[test]
fn a_failing_hook_fails_the_phase_with_its_stderr() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = run(
        tmp.path(),
        &[
            "--after-crash-hook",
            "echo remount failed: no such device >&2; exit 4",
        ],
    )
    .failure();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(stderr.contains("--after-crash-hook"), "{stderr}");
    assert!(
        stderr.contains("remount failed: no such device"),
        "{stderr}"
    );
    let run: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(tmp.path().join("out/run.json")).expect("run.json"),
    )
    .expect("json");
    let error = run["variants"][0]["targets"][0]["error"].to_string();
    assert!(error.contains("remount failed"), "{error}");
}
