//! Stop signals end to end through the binary (issue 18 items 8 and 9):
//! SIGTERM and SIGHUP stop a run as Ctrl-C does — finished phases kept,
//! status `interrupted`, data cleaned, assertions of finished phases
//! judged — with exit code 128 + the signal number; a Ctrl-C in a
//! terminal during a crash phase (SIGINT to the whole process group) is an
//! interruption (130), never a failed phase (3).

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

fn loadline_bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("loadline")
}

/// A first phase of 1000 records, then a 60 s phase the signal lands in,
/// on a WAL (so there is data on disk to clean).
fn two_phase_scenario(dir: &Path) -> PathBuf {
    let file = dir.join("two-phase.yaml");
    std::fs::write(
        &file,
        "version: 1\nname: two-phase\nseed: 3\ntargets:\n  log:\n    wal: { sync: never }\npayloads:\n  p:\n    size: 64B\n    pool: 16\n\
phases:\n  - name: first\n    records: 1000\n    actors:\n      - { op: append }\n  - name: second\n    duration: 60s\n    actors:\n      - { op: append, rate: 100/s }\n\
assertions:\n  - first.append.records == 1000\n  - second.append.records > 0\n",
    )
    .expect("write scenario");
    file
}

/// `loadline run FILE --quiet --out OUT`, in its own process group (as a
/// shell runs a foreground job), stdout and stderr captured.
fn spawn_run(file: &Path, out: &Path) -> Child {
    std::process::Command::new(loadline_bin())
        .arg("run")
        .arg(file)
        .arg("--quiet")
        .arg("--out")
        .arg(out)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .expect("spawn loadline")
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn wait_for_phase_one(out: &Path) {
    wait_for("phase one on disk", || {
        std::fs::read_to_string(out.join("results.csv"))
            .unwrap_or_default()
            .contains(",first,")
    });
}

/// `kill -SIG target` (a pid, or `-PGID` for a whole process group).
fn kill(signal: &str, target: &str) {
    let status = std::process::Command::new("kill")
        .args([&format!("-{signal}"), "--", target])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -{signal} {target}");
}

/// Waits (bounded) for the child to exit; returns its exit code and stderr.
fn exit_of(mut child: Child) -> (Option<i32>, String) {
    let started = Instant::now();
    let code = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s.code();
        }
        if started.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            panic!("loadline did not stop after the signal");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut e, &mut stderr);
    }
    (code, stderr)
}

fn run_json(out: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(out.join("run.json")).expect("run.json"))
        .expect("run.json parses")
}

/// `(assertion, verdict)` rows of `assertions.csv`.
fn verdicts(out: &Path) -> Vec<(String, String)> {
    csv::Reader::from_path(out.join("assertions.csv"))
        .expect("assertions.csv")
        .records()
        .map(|r| {
            let r = r.expect("row");
            (r[5].to_owned(), r[9].to_owned())
        })
        .collect()
}

/// Signals a run during its second phase and checks everything a stop
/// promises; returns stderr.
fn stop_mid_phase(signal: &str, expected_code: i32) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = two_phase_scenario(dir.path());
    let out = dir.path().join("out");
    let child = spawn_run(&file, &out);
    wait_for_phase_one(&out);
    let data = out.join("data");
    assert!(
        std::fs::read_dir(&data).is_ok_and(|mut d| d.next().is_some()),
        "the WAL's data is on disk mid-run"
    );
    kill(signal, &child.id().to_string());
    let (code, stderr) = exit_of(child);
    assert_eq!(code, Some(expected_code), "SIG{signal}: {stderr}");
    let run = run_json(&out);
    assert_eq!(run["status"], "interrupted", "SIG{signal}");
    assert_eq!(run["stopped_by"], format!("SIG{signal}"));
    let phases = &run["variants"][0]["targets"][0]["phases"];
    assert_eq!(phases[0]["name"], "first", "the finished phase is kept");
    assert!(phases.get(1).is_none(), "the stopped phase is discarded");
    assert!(
        std::fs::read_to_string(out.join("report.md"))
            .expect("report.md")
            .contains(&format!("interrupted by SIG{signal}"))
    );
    assert!(
        std::fs::read_dir(&data).map_or(true, |mut d| d.next().is_none()),
        "the target's data directory is cleaned"
    );
    // Issue 18 item 10: the finished phase's assertion is judged; the
    // stopped phase's is marked not run instead of "no assertions".
    assert_eq!(
        verdicts(&out),
        [
            ("first.append.records == 1000".to_owned(), "pass".to_owned()),
            ("second.append.records > 0".to_owned(), "not_run".to_owned()),
        ]
    );
    stderr
}

/// Guards issue 18 item 8: `timeout`, `docker stop`, systemd and CI
/// cancellation send SIGTERM; it must not kill the run outright.
#[test]
fn sigterm_mid_phase_keeps_finished_phases_cleans_data_and_exits_143() {
    let stderr = stop_mid_phase("TERM", 143);
    assert!(stderr.contains("SIGTERM"), "{stderr}");
}

/// Guards issue 18 item 8: a closed terminal or SSH session sends SIGHUP.
#[test]
fn sighup_mid_phase_is_handled_like_ctrl_c_and_exits_129() {
    stop_mid_phase("HUP", 129);
}

/// Guards issue 18 item 8: a Ctrl-C (SIGINT) still gives 130, now with
/// the finished phases' assertions judged.
#[test]
fn sigint_mid_phase_exits_130_with_finished_phases_judged() {
    stop_mid_phase("INT", 130);
}

/// A second stop signal ends the process at once (the first one already
/// asked for a graceful stop), still with the signal's exit code.
#[test]
fn a_second_sigterm_exits_at_once_with_143() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = two_phase_scenario(dir.path());
    let out = dir.path().join("out");
    let child = spawn_run(&file, &out);
    wait_for_phase_one(&out);
    let pid = child.id().to_string();
    kill("TERM", &pid);
    kill("TERM", &pid);
    let (code, _) = exit_of(child);
    assert_eq!(code, Some(143));
}

/// A scenario whose crash phase runs its writers in a child process for
/// 20–30 s per cycle: any stop lands while the child is alive.
fn crash_scenario(dir: &Path) -> PathBuf {
    let path = dir.join("crash.yaml");
    std::fs::write(
        &path,
        "version: 1\nname: crash-signal\nseed: 3\ntargets:\n  wal:\n    wal: { sync: never, segment_size: 1MiB }\npayloads:\n  p:\n    size: 256B\n    pool: 64\n\
phases:\n  - name: write\n    records: 2000\n    actors:\n      - { op: append, streams: 2, batch: 5, payload: p }\n  - name: recover\n    actors:\n      - { op: append, streams: 2, batch: 5, payload: p, rate: 1000/s }\n    restart: crash\n    after: 20s..30s\n    verify: acknowledged\n    repeat: 3\n\
assertions:\n  - write.append.records == 2000\n  - recover.lost_records == 0\n",
    )
    .expect("write scenario");
    path
}

/// Pids of crash children working on a data directory under `needle`.
fn crash_children(needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    for e in std::fs::read_dir("/proc").expect("/proc").flatten() {
        if let Ok(cmd) = std::fs::read(e.path().join("cmdline")) {
            let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
            if cmd.contains("__crash-child") && cmd.contains(needle) {
                found.push(e.file_name().to_string_lossy().into_owned());
            }
        }
    }
    found
}

/// Starts the crash scenario and waits until its crash child runs;
/// returns the run, its output directory and the child's pid.
fn run_until_crash_child(dir: &Path) -> (Child, PathBuf, String) {
    let file = crash_scenario(dir);
    let out = dir.join("out");
    let mut child = spawn_run(&file, &out);
    let needle = out.to_string_lossy().into_owned();
    let mut pid = String::new();
    wait_for("the crash child", || {
        if let Ok(Some(s)) = child.try_wait() {
            panic!("loadline exited before its crash phase: {s}");
        }
        pid = crash_children(&needle).pop().unwrap_or_default();
        !pid.is_empty()
    });
    // Let it acknowledge a few writes.
    std::thread::sleep(Duration::from_millis(300));
    (child, out, pid)
}

fn assert_interrupted_crash_run(out: &Path, code: Option<i32>, expected: i32, stderr: &str) {
    assert_eq!(code, Some(expected), "{stderr}");
    let run = run_json(out);
    assert_eq!(run["status"], "interrupted", "{stderr}");
    assert!(
        crash_children(&out.to_string_lossy()).is_empty(),
        "no crash child is left behind"
    );
    assert_eq!(
        verdicts(out),
        [
            ("write.append.records == 2000".to_owned(), "pass".to_owned()),
            ("recover.lost_records == 0".to_owned(), "not_run".to_owned()),
        ]
    );
}

/// Guards issue 18 item 9: Ctrl-C in a terminal signals the whole
/// foreground process group, crash child included. That was exit 3
/// (`failed`: "the child ended before it was killed") in 5 of 11 tries;
/// it must be 130 every time.
#[test]
fn ctrl_c_to_the_process_group_during_a_crash_phase_exits_130_every_time() {
    for attempt in 0..3 {
        let dir = tempfile::tempdir().expect("tempdir");
        let (child, out, _) = run_until_crash_child(dir.path());
        kill("INT", &format!("-{}", child.id()));
        let (code, stderr) = exit_of(child);
        eprintln!("attempt {attempt}: exit {code:?}");
        assert_interrupted_crash_run(&out, code, 130, &stderr);
    }
}

/// Guards issue 18 item 9 when the signal reaches the crash child anyway
/// (systemd stops the whole cgroup; `kill` of both pids): the child's
/// death is the interruption, not a failed phase.
#[test]
fn sigterm_to_loadline_and_its_crash_child_at_once_exits_143() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (child, out, crash_pid) = run_until_crash_child(dir.path());
    let status = std::process::Command::new("kill")
        .args(["-TERM", &crash_pid, &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let (code, stderr) = exit_of(child);
    assert_interrupted_crash_run(&out, code, 143, &stderr);
}

/// Pids whose parent is `parent` (from `/proc/*/stat`).
fn children_of(parent: u32) -> Vec<u32> {
    let mut found = Vec::new();
    for e in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
            continue;
        };
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<u32>().ok());
        if ppid == Some(parent)
            && let Ok(pid) = e.file_name().to_string_lossy().parse()
        {
            found.push(pid);
        }
    }
    found
}

/// Guards issue 18 item 8 for `docker stop`: in a container loadline is
/// PID 1, and the kernel drops signals PID 1 has no handler for, so
/// SIGTERM used to do nothing at all (the run went on until Docker's
/// SIGKILL 10 s later). As PID 1 of a PID namespace it must stop with 143.
#[test]
fn as_pid_1_of_a_container_sigterm_stops_the_run_with_143() {
    let uid = std::process::Command::new("id")
        .arg("-u")
        .output()
        .expect("id");
    let prefix: &[&str] = if String::from_utf8_lossy(&uid.stdout).trim() == "0" {
        &["unshare", "--pid", "--fork", "--mount-proc"]
    } else {
        &[
            "unshare",
            "--user",
            "--map-root-user",
            "--pid",
            "--fork",
            "--mount-proc",
        ]
    };
    let probe = std::process::Command::new(prefix[0])
        .args(&prefix[1..])
        .arg("true")
        .status();
    if !probe.is_ok_and(|s| s.success()) {
        eprintln!("skipped: no PID namespace available here");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let file = two_phase_scenario(dir.path());
    let out = dir.path().join("out");
    let mut wrapper = std::process::Command::new(prefix[0])
        .args(&prefix[1..])
        .arg(loadline_bin())
        .arg("run")
        .arg(&file)
        .args(["--quiet", "--out"])
        .arg(&out)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn unshare");
    wait_for_phase_one(&out);
    let pid1 = children_of(wrapper.id());
    assert_eq!(pid1.len(), 1, "unshare forks loadline as PID 1: {pid1:?}");
    kill("TERM", &pid1[0].to_string());
    let started = Instant::now();
    let status = loop {
        if let Some(s) = wrapper.try_wait().expect("wait") {
            break s;
        }
        if started.elapsed() > Duration::from_secs(30) {
            let _ = std::process::Command::new("kill")
                .args(["-KILL", &pid1[0].to_string()])
                .status();
            let _ = wrapper.wait();
            panic!("SIGTERM to PID 1 did not stop the run");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(
        status.code(),
        Some(143),
        "unshare passes on loadline's code"
    );
    assert_eq!(run_json(&out)["status"], "interrupted");
}
