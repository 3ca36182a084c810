//! Recorded payload files through the CLI: generate, inspect, reference
//! from a scenario (batch sizes checked at validation), run.

use assert_cmd::Command;
use predicates::prelude::*;

fn loadline() -> Command {
    Command::cargo_bin("loadline").expect("binary built")
}

fn generate(dir: &std::path::Path) -> std::path::PathBuf {
    let file = dir.join("payloads.bin");
    loadline()
        .args([
            "payload",
            "generate",
            "--size",
            "1KiB",
            "--batch",
            "10",
            "--batches",
            "64",
            "--entropy",
            "0.8",
            "--keys",
            "none",
            "--seed",
            "42",
            "--out",
        ])
        .arg(&file)
        .assert()
        .success();
    file
}

fn scenario(dir: &std::path::Path, actor: &str) -> std::path::PathBuf {
    let file = dir.join("recorded.yaml");
    std::fs::write(
        &file,
        format!(
            "version: 1\nname: recorded\nseed: 1\ntargets:\n  mem:\n    memory: {{}}\npayloads:\n  rec:\n    file: payloads.bin\n\
phases:\n  - name: write\n    records: 5000\n    actors:\n      - {actor}\nassertions:\n  - write.append.records == 5000\n"
        ),
    )
    .expect("write scenario");
    file
}

#[test]
fn generate_then_inspect_shows_the_header_and_compressibility() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = generate(dir.path());
    loadline()
        .args(["payload", "inspect"])
        .arg(&file)
        .assert()
        .success()
        .stdout(predicate::str::contains("batch"))
        .stdout(predicate::str::contains("zstd"));
}

#[test]
fn a_scenario_runs_from_a_recorded_file_with_the_files_batch_size() {
    let dir = tempfile::tempdir().expect("tempdir");
    generate(dir.path());
    let file = scenario(dir.path(), "{ op: append, payload: rec }");
    loadline()
        .arg("run")
        .arg(&file)
        .arg("--quiet")
        .arg("--out")
        .arg(dir.path().join("out"))
        .assert()
        .success();
}

#[test]
fn a_batch_that_differs_from_the_files_is_a_located_validation_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    generate(dir.path());
    let file = scenario(dir.path(), "{ op: append, payload: rec, batch: 5 }");
    loadline()
        .arg("validate")
        .arg(&file)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("recorded.yaml:14:44"))
        .stderr(predicate::str::contains(
            "payload `rec` was recorded with batches of 10 records",
        ));
}

#[test]
fn a_corrupt_file_is_a_validation_error_naming_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bin = generate(dir.path());
    let mut bytes = std::fs::read(&bin).expect("read");
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&bin, bytes).expect("write");
    let file = scenario(dir.path(), "{ op: append, payload: rec }");
    loadline()
        .arg("validate")
        .arg(&file)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("payloads.bin"))
        .stderr(predicate::str::contains("payloads.rec.file"));
}

/// Guards issue 18 item 12: a bad `payload generate` argument is a usage
/// error (exit 2) naming its flag, found before any file is written — not a
/// generator failure (exit 3).
#[test]
fn bad_payload_generate_arguments_exit_2_and_write_nothing() {
    let cases: &[(&[&str], &str)] = &[
        (&["--size", "1KiB", "--batch", "0"], "--batch"),
        (&["--size", "1KiB", "--batches", "0"], "--batches"),
        (&["--size", "uniform:4KiB..64B"], "--size"),
        (&["--size", "weighted:64B=0"], "--size"),
        (&["--size", "weighted:64B=70,4KiB=0"], "--size"),
        (&["--size", "1KiB", "--entropy", "1.5"], "--entropy"),
        (&["--size", "12 parsecs"], "--size"),
    ];
    let dir = tempfile::tempdir().expect("tempdir");
    for (args, flag) in cases {
        let out = dir.path().join("payloads.bin");
        let assert = loadline()
            .args(["payload", "generate"])
            .args(*args)
            .arg("--out")
            .arg(&out)
            .assert()
            .code(2);
        let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
        assert!(
            stderr.contains(&format!("error: {flag}")),
            "{args:?}: names {flag}: {stderr}"
        );
        assert!(!out.exists(), "{args:?}: nothing is written");
    }
}
