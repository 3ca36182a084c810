//! The binary as users run it: exit codes, output streams, help.

use assert_cmd::Command;
use predicates::prelude::*;

use super::{repo_root, shipped_scenarios};

fn loadline() -> Command {
    let mut cmd = Command::cargo_bin("loadline").expect("binary built");
    cmd.current_dir(repo_root());
    cmd
}

#[test]
fn validate_accepts_every_shipped_scenario_with_one_line_each() {
    let files = shipped_scenarios();
    let assert = loadline().arg("validate").args(&files).assert().success();
    let out = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    assert_eq!(
        out.lines().filter(|l| l.starts_with("ok: ")).count(),
        files.len(),
        "{out}"
    );
}

#[test]
fn validate_rejects_an_invalid_file_with_exit_2_and_a_located_message() {
    loadline()
        .args([
            "validate",
            "runner/tests/fixtures/invalid/unknown-key-typo.yaml",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "runner/tests/fixtures/invalid/unknown-key-typo.yaml:8:7",
        ))
        .stderr(predicate::str::contains("did you mean `segment_size`?"));
}

#[test]
fn validate_json_format_is_machine_readable() {
    let assert = loadline()
        .args([
            "validate",
            "--format",
            "json",
            "runner/tests/fixtures/invalid/bad-enum-op.yaml",
        ])
        .assert()
        .code(2);
    let doc: serde_json::Value =
        serde_json::from_slice(&assert.get_output().stdout).expect("stdout is JSON");
    assert_eq!(doc["valid"], false);
    assert_eq!(doc["diagnostics"][0]["help"], "did you mean `append`?");
}

#[test]
fn set_overrides_are_validated_like_the_file() {
    loadline()
        .args([
            "validate",
            "scenarios/quickstart.yaml",
            "--set",
            "phases.write.records=0",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "`records` must be greater than zero",
        ))
        .stderr(predicate::str::contains("--set phases.write.records=0"));
    loadline()
        .args([
            "validate",
            "scenarios/quickstart.yaml",
            "--set",
            "phases.wirte.records=10",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no item `wirte`"));
}

#[test]
fn explain_prints_the_plan() {
    loadline()
        .args(["explain", "scenarios/quickstart.yaml"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "phases (run in order against each target)",
        ))
        .stdout(predicate::str::contains("in memory"));
}

#[test]
fn help_has_an_example_for_every_subcommand_and_version_names_the_revision() {
    for sub in ["validate", "explain", "run", "schema", "completions"] {
        loadline()
            .args([sub, "--help"])
            .assert()
            .success()
            .stdout(predicate::str::contains("Example:"));
    }
    loadline()
        .arg("--version")
        .assert()
        .success()
        .stdout(predicate::str::contains("loadline 0.1.0 ("));
}

#[test]
fn completions_are_generated_without_the_hidden_crash_child() {
    for shell in ["bash", "zsh", "fish"] {
        loadline()
            .args(["completions", shell])
            .assert()
            .success()
            .stdout(predicate::str::contains("validate"))
            .stdout(predicate::str::contains("crash-child").not());
    }
}

#[test]
fn two_files_with_one_name_write_two_output_directories() {
    let t = tempfile::tempdir().expect("tempdir");
    let text = "version: 1\nname: same\ntargets:\n  m: { memory: {} }\n\
                payloads:\n  p: { size: 64B, pool: 4 }\n\
                phases:\n  - name: w\n    records: 1k\n    actors:\n      - { op: append, payload: p }\n";
    let (one, two) = (t.path().join("one.yaml"), t.path().join("two.yaml"));
    std::fs::write(&one, text).expect("write");
    std::fs::write(&two, text).expect("write");
    loadline()
        .arg("run")
        .arg(&one)
        .arg(&two)
        .args(["--quiet", "--out"])
        .arg(t.path().join("out"))
        .assert()
        .success();
    for dir in ["same", "same-2"] {
        assert!(
            t.path().join("out").join(dir).join("run.json").is_file(),
            "{dir}"
        );
    }
}

#[test]
fn schema_prints_draft_2020_12() {
    loadline()
        .arg("schema")
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "https://json-schema.org/draft/2020-12/schema",
        ));
}

/// Named profiles (issue 16: the Kaelix suite's quick / comprehensive /
/// ci modes in one file): `--profile` applies one before `--set`, an
/// unknown name is refused with the names there are, and `validate`
/// checks every profile, locating a problem at the profile's entry.
#[test]
fn profiles_apply_before_set_and_are_all_validated() {
    let t = tempfile::tempdir().expect("tempdir");
    let file = t.path().join("prof.yaml");
    let base = "version: 1\nname: prof\nseed: 1\ntargets:\n  m: { memory: {} }\n\
                payloads:\n  p: { size: 64B, pool: 4 }\n\
                phases:\n  - name: w\n    records: 1k\n    actors:\n      - { op: append, payload: p }\n\
                assertions:\n  - w.append.records == 1000\n\
                profiles:\n  quick:\n    phases.w.records: 100\n    assertions.0: w.append.records == 100\n";
    std::fs::write(&file, base).expect("write");
    let run = |extra: &[&str]| {
        loadline()
            .arg("run")
            .arg(&file)
            .args(["--quiet", "--out"])
            .arg(t.path().join(format!("out-{}", extra.len())))
            .args(extra)
            .output()
            .expect("run")
            .status
            .code()
    };
    assert_eq!(run(&[]), Some(0), "no profile: 1000 records");
    assert_eq!(run(&["--profile", "quick"]), Some(0), "quick: 100 records");
    assert_eq!(
        run(&[
            "--profile",
            "quick",
            "--set",
            "phases.w.records=50",
            "--set",
            "assertions.0=w.append.records == 50"
        ]),
        Some(0),
        "--set wins over the profile"
    );
    loadline()
        .arg("validate")
        .arg(&file)
        .args(["--profile", "quik"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown profile `quik`"))
        .stderr(predicate::str::contains("did you mean `quick`?"));
    std::fs::write(&file, format!("{base}  broken:\n    phases.w.recrods: 5\n")).expect("write");
    loadline()
        .arg("validate")
        .arg(&file)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown key `recrods`"))
        .stderr(predicate::str::contains(":20:5"))
        .stderr(predicate::str::contains("with profile `broken`"))
        .stdout(predicate::str::contains("ok:").not());
}
