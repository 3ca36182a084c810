//! What a run may touch: data directories it owns (a marker and a lock),
//! one run per `--out`, reopening kept data on purpose, scenario names that
//! cannot escape the output directory, and output that cannot inject
//! GitHub workflow commands.

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::Command;

use super::repo_root;

fn loadline() -> Command {
    let mut cmd = Command::cargo_bin("loadline").expect("binary built");
    cmd.current_dir(repo_root());
    cmd.env_remove("GITHUB_ACTIONS").env("CI", "true");
    cmd
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A scenario with one memory or wal target that appends for `secs`.
fn slow_scenario(dir: &Path, kind: &str, secs: u32) -> std::path::PathBuf {
    let p = dir.join("slow.yaml");
    std::fs::write(
        &p,
        format!(
            "version: 1\nname: slow\nseed: 1\ntargets:\n  t: {{ {kind}: {{}} }}\n\
             payloads:\n  p: {{ size: 128B, pool: 16 }}\n\
             phases:\n  - name: write\n    duration: {secs}s\n    actors:\n      \
             - {{ op: append, batch: 10, payload: p, rate: 1k/s }}\n"
        ),
    )
    .expect("write scenario");
    p
}

/// Starts `loadline run FILE ARGS…` in the background.
fn spawn_run(file: &Path, args: &[&str]) -> Child {
    let bin = assert_cmd::cargo::cargo_bin("loadline");
    std::process::Command::new(bin)
        .current_dir(repo_root())
        .env("CI", "true")
        .env_remove("GITHUB_ACTIONS")
        .arg("run")
        .arg(file)
        .args(args)
        .arg("--quiet")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn loadline")
}

fn wait_for(path: &Path) {
    let start = Instant::now();
    while !path.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // The marker is written right after it is created and locked.
    std::thread::sleep(Duration::from_millis(100));
}

#[test]
fn a_users_file_in_the_data_dir_survives_and_the_run_is_refused() {
    let t = tempfile::tempdir().expect("tempdir");
    let data = t.path().join("data");
    std::fs::create_dir_all(data.join("mem")).expect("mkdir");
    std::fs::write(data.join("mem/notes.txt"), b"mine").expect("write");
    let out = loadline()
        .args(["run", "scenarios/quickstart.yaml", "--quiet", "--data-dir"])
        .arg(&data)
        .arg("--out")
        .arg(t.path().join("out"))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("was not created by loadline"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        std::fs::read(data.join("mem/notes.txt")).expect("the user's file is still there"),
        b"mine"
    );
}

#[test]
fn a_second_run_on_a_live_data_dir_is_refused_with_the_holders_pid() {
    let t = tempfile::tempdir().expect("tempdir");
    let file = slow_scenario(t.path(), "wal", 3);
    let data = t.path().join("data");
    let data_arg = data.to_str().expect("utf-8 path");
    let out1 = t.path().join("out1");
    let mut first = spawn_run(
        &file,
        &[
            "--data-dir",
            data_arg,
            "--out",
            out1.to_str().expect("utf-8"),
        ],
    );
    wait_for(&data.join("t/.loadline-data"));
    let second = loadline()
        .arg("run")
        .arg(&file)
        .args(["--quiet", "--data-dir", data_arg, "--out"])
        .arg(t.path().join("out2"))
        .output()
        .expect("second run");
    assert_eq!(second.status.code(), Some(3), "{}", stderr(&second));
    let msg = stderr(&second);
    assert!(
        msg.contains("in use by another loadline run")
            && msg.contains(&format!("pid {}", first.id())),
        "{msg}"
    );
    let status = first.wait().expect("first run");
    assert_eq!(status.code(), Some(0), "the first run was not disturbed");
    let run: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out1.join("run.json")).expect("first run.json"),
    )
    .expect("json");
    assert_eq!(run["status"], "complete");
    assert!(
        !data.join("t").exists(),
        "the first run cleaned its own data"
    );
}

#[test]
fn a_second_run_writing_the_same_out_is_refused() {
    let t = tempfile::tempdir().expect("tempdir");
    let file = slow_scenario(t.path(), "memory", 2);
    let out = t.path().join("out");
    let out_arg = out.to_str().expect("utf-8");
    let mut first = spawn_run(&file, &["--out", out_arg]);
    wait_for(&out.join(".loadline-lock"));
    let second = loadline()
        .arg("run")
        .arg(&file)
        .args(["--quiet", "--out", out_arg])
        .output()
        .expect("second run");
    assert_eq!(second.status.code(), Some(3), "{}", stderr(&second));
    assert!(
        stderr(&second).contains(&format!("pid {}", first.id())),
        "{}",
        stderr(&second)
    );
    assert_eq!(first.wait().expect("first").code(), Some(0));
    // Guards issue 25: the lock file stayed behind in the finished run.
    assert!(
        out.join("run.json").exists(),
        "the first run wrote its results"
    );
    assert!(
        !out.join(".loadline-lock").exists(),
        "the lock file is removed when the run ends"
    );
}

#[test]
fn kept_data_is_reopened_on_purpose_with_reuse_data() {
    let t = tempfile::tempdir().expect("tempdir");
    let write = t.path().join("write.yaml");
    std::fs::write(
        &write,
        "version: 1\nname: fill\nseed: 1\ntargets:\n  log: { wal: { sync: never } }\n\
         payloads:\n  p: { size: 256B, pool: 16 }\n\
         phases:\n  - name: write\n    records: 5k\n    actors:\n      \
         - { op: append, streams: 2, batch: 10, payload: p }\n",
    )
    .expect("write");
    let read = t.path().join("read.yaml");
    std::fs::write(
        &read,
        "version: 1\nname: reread\nseed: 1\ntargets:\n  log: { wal: { sync: never } }\n\
         phases:\n  - name: scan\n    records: 100k\n    actors:\n      \
         - { op: read, streams: 2, from: head, max_bytes: 64KiB }\n",
    )
    .expect("write");
    let data = t.path().join("kept");
    loadline()
        .arg("run")
        .arg(&write)
        .args(["--quiet", "--keep-data", "--data-dir"])
        .arg(&data)
        .arg("--out")
        .arg(t.path().join("o1"))
        .assert()
        .success();
    assert!(data.join("log/.loadline-data").is_file());
    loadline()
        .arg("run")
        .arg(&read)
        .args(["--quiet", "--reuse-data", "--data-dir"])
        .arg(&data)
        .arg("--out")
        .arg(t.path().join("o2"))
        .assert()
        .success();
    let run: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(t.path().join("o2/run.json")).expect("run.json"),
    )
    .expect("json");
    let phase = &run["variants"][0]["targets"][0]["phases"][0];
    // Everything the first run wrote is read back, then the readers end:
    // a reader-only phase reads what is there.
    assert_eq!(phase["ended_by"], "exhausted", "{phase}");
    assert_eq!(phase["actors"][0]["records"], 5000, "{phase}");
    assert!(
        data.join("log/.loadline-data").is_file(),
        "reused data is kept"
    );
}

#[test]
fn a_traversal_or_absolute_scenario_name_is_refused_before_any_write() {
    let t = tempfile::tempdir().expect("tempdir");
    for name in [
        "../../../escaped",
        "/tmp/loadline-escaped",
        "a/b",
        "x\u{1}y",
    ] {
        let out = loadline()
            .current_dir(t.path())
            .arg("run")
            .arg(repo_root().join("scenarios/quickstart.yaml"))
            .args(["--quiet", "--set"])
            .arg(format!("name={name}"))
            .output()
            .expect("run");
        assert_eq!(out.status.code(), Some(2), "{name}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("is not usable as a directory name"),
            "{name}: {}",
            stderr(&out)
        );
    }
    assert!(
        std::fs::read_dir(t.path()).expect("list").next().is_none(),
        "nothing was written"
    );
    assert!(!Path::new("/tmp/loadline-escaped").exists());
}

#[test]
fn nothing_printed_under_actions_can_run_a_workflow_command() {
    let t = tempfile::tempdir().expect("tempdir");
    let file = t.path().join("evil.yaml");
    std::fs::write(
        &file,
        "version: 1\nname: evil\ntargets:\n  m: { memory: {} }\n\
         payloads:\n  \"p\\n::warning file=x::pwned\\r::add-mask::secret\": { size: 1KiB }\n\
         phases:\n  - name: w\n    records: 10\n    actors:\n      - { op: append, payload: q }\n\
         assertions:\n  - \"w.append.p99 < 1ms\\n::warning::injected\"\n",
    )
    .expect("write");
    for cmd in ["validate", "explain", "run"] {
        let out = loadline()
            .env("GITHUB_ACTIONS", "true")
            .arg(cmd)
            .arg(&file)
            .output()
            .expect("run");
        assert_eq!(out.status.code(), Some(2), "{cmd}: {}", stderr(&out));
        let mut own = 0;
        for stream in [&out.stdout, &out.stderr] {
            let text = String::from_utf8_lossy(stream);
            for line in text.split(['\n', '\r']) {
                let line = line.trim_start();
                if line.starts_with("::error file=") {
                    own += 1; // loadline's own annotation: newlines escaped as %0A
                    continue;
                }
                assert!(!line.starts_with("::"), "{cmd}: injected line {line:?}");
            }
        }
        assert!(own > 0, "{cmd}: the real annotations are still printed");
    }
}

#[test]
fn an_empty_assertion_is_an_error_not_a_panic() {
    for cmd in ["validate", "explain", "run"] {
        let out = loadline()
            .args([cmd, "scenarios/quickstart.yaml", "--set", "assertions.0="])
            .output()
            .expect("run");
        assert_eq!(out.status.code(), Some(2), "{cmd}: {}", stderr(&out));
        assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
    }
}

#[test]
fn validate_reads_at_most_the_size_limit_of_an_endless_file() {
    for dev in ["/dev/zero", "/dev/urandom"] {
        let started = Instant::now();
        let out = loadline()
            .args(["validate", dev])
            .output()
            .expect("validate");
        assert_eq!(out.status.code(), Some(2), "{dev}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("too large"),
            "{dev}: {}",
            stderr(&out)
        );
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{dev}: {:?}",
            started.elapsed()
        );
    }
}

#[test]
fn a_byte_order_mark_is_accepted() {
    let t = tempfile::tempdir().expect("tempdir");
    let text =
        std::fs::read_to_string(repo_root().join("scenarios/quickstart.yaml")).expect("quickstart");
    let file = t.path().join("bom.yaml");
    std::fs::write(&file, format!("\u{feff}{text}")).expect("write");
    loadline().arg("validate").arg(&file).assert().success();
}

#[test]
fn a_payload_file_bigger_than_memory_is_refused_before_allocating() {
    let t = tempfile::tempdir().expect("tempdir");
    let file = t.path().join("huge.bin");
    let out = loadline()
        .args([
            "payload",
            "generate",
            "--size",
            "1MiB",
            "--batch",
            "1000",
            "--batches",
            "100000",
            "--out",
        ])
        .arg(&file)
        .output()
        .expect("generate");
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("of memory available"),
        "{}",
        stderr(&out)
    );
    assert!(!file.exists());
}

#[test]
fn a_bad_template_is_refused_before_the_output_directory_exists() {
    let t = tempfile::tempdir().expect("tempdir");
    let broken = t.path().join("broken.j2");
    std::fs::write(&broken, "{% for x in %}").expect("write");
    let undefined = t.path().join("undefined.j2");
    std::fs::write(
        &undefined,
        "# {{ report.scenario }}\n{% for v in variants %}{{ v.no_such_field }}{% endfor %}\n",
    )
    .expect("write");
    let cases = [
        (t.path().join("missing.j2"), "cannot read template"),
        (t.path().to_path_buf(), "cannot read template"),
        (broken, "syntax error"),
        (undefined, "undefined"),
    ];
    for (template, want) in cases {
        let out_dir = t.path().join("out");
        let out = loadline()
            .args(["run", "scenarios/quickstart.yaml", "--quiet", "--template"])
            .arg(&template)
            .arg("--out")
            .arg(&out_dir)
            .output()
            .expect("run");
        assert_eq!(
            out.status.code(),
            Some(2),
            "{}: {}",
            template.display(),
            stderr(&out)
        );
        assert!(
            stderr(&out).contains(want),
            "{}: {}",
            template.display(),
            stderr(&out)
        );
        assert!(!out_dir.exists(), "nothing ran");
    }
}

#[test]
fn assertions_on_phases_left_out_by_phase_are_named_in_a_warning() {
    let t = tempfile::tempdir().expect("tempdir");
    let out = loadline()
        .args([
            "run",
            "scenarios/quickstart.yaml",
            "--quiet",
            "--phase",
            "mixed",
            "--out",
        ])
        .arg(t.path().join("out"))
        .output()
        .expect("run");
    // 0 or 1: whether the phase's own assertions pass on a busy machine is not the point.
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", stderr(&out));
    let msg = stderr(&out);
    assert!(
        msg.contains("warning: --phase mixed: 4 assertion(s)")
            && msg.contains("write.append.p99 < 50ms"),
        "{msg}"
    );
}

#[test]
fn set_on_a_matrix_field_replaces_the_axis_with_a_warning() {
    let t = tempfile::tempdir().expect("tempdir");
    let file = t.path().join("m.yaml");
    std::fs::write(
        &file,
        "version: 1\nname: m\ntargets:\n  m: { memory: {} }\n\
         payloads:\n  p: { size: 64B, pool: 4 }\n\
         phases:\n  - name: w\n    records: 1k\n    actors:\n      - { op: append, payload: p }\n\
         matrix:\n  phases.w.records: [2k, 3k]\n",
    )
    .expect("write");
    let out = loadline()
        .arg("explain")
        .arg(&file)
        .args(["--set", "phases.w.records=5k"])
        .output()
        .expect("explain");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("replaces matrix key `phases.w.records`"),
        "{}",
        stderr(&out)
    );
    let plan = String::from_utf8_lossy(&out.stdout);
    assert!(plan.contains("variants: 1"), "{plan}");
}
