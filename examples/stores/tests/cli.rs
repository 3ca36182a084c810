//! The `loadline-stores` binary: loadline's command line with the `fjall`
//! and `redb` kinds, its committed schema, and the embedded-stores
//! scenarios run end to end.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_loadline-stores"));
    c.current_dir(repo_root());
    c
}

#[test]
fn committed_schema_includes_the_plug_in_kinds_and_is_current() {
    let committed: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/scenario.schema.json"),
        )
        .expect("committed schema"),
    )
    .expect("json");
    assert!(
        committed == loadline_stores::app().schema(),
        "examples/stores/schemas is stale; regenerate it from the repository root with:\n\n    cargo run --release -p loadline-stores -- schema --write examples/stores\n"
    );
    let reference = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join(loadline::testing::REFERENCE_PATH),
    )
    .unwrap_or_default();
    assert!(
        reference == loadline::testing::schema_reference(&committed),
        "examples/stores/docs/src/scenario-reference.md is stale; regenerate it with the command above"
    );
    assert!(reference.contains("## FjallConfig"), "{reference}");
    let kinds: Vec<&str> = committed["$defs"]["TargetSpec"]["oneOf"]
        .as_array()
        .expect("one branch per kind")
        .iter()
        .filter_map(|b| b["required"][0].as_str())
        .collect();
    assert_eq!(
        kinds,
        [
            "wal", "rocksdb", "memory", "resp", "external", "fjall", "redb"
        ]
    );
    assert!(
        committed["$defs"]["FjallConfig"]["properties"]["persist"]["description"]
            .as_str()
            .is_some_and(|d| d.contains("Default `buffer`")),
        "config doc comments are the schema's descriptions"
    );
}

#[test]
fn validates_and_explains_the_embedded_stores_scenarios() {
    bin()
        .args(["validate", "scenarios/embedded-stores.yaml"])
        .assert()
        .success()
        .stdout(predicate::str::contains("5 targets"));
    bin()
        .args(["explain", "scenarios/embedded-stores.yaml"])
        .assert()
        .success()
        .stdout(predicate::str::contains("fjall [fjall] persist buffer"))
        .stdout(predicate::str::contains("redb [redb] durability immediate"));
}

#[test]
fn plug_in_configs_are_checked_with_locations() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("bad.yaml");
    std::fs::write(
        &file,
        "version: 1\nname: bad\ntargets:\n  f:\n    fjall: { persist: sometimes }\n  r:\n    redb: { durabilty: none }\npayloads:\n  p: { size: 64B }\nphases:\n  - name: w\n    records: 10\n    actors:\n      - { op: append }\n",
    )
    .expect("write");
    bin()
        .arg("validate")
        .arg(&file)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("bad.yaml:5:"))
        .stderr(predicate::str::contains(
            "`buffer`, `sync_data`, `sync_all` or `manual`",
        ))
        .stderr(predicate::str::contains("bad.yaml:7:"))
        .stderr(predicate::str::contains("did you mean `durability`?"));
}

#[test]
fn runs_the_embedded_stores_scenarios_with_crash_phases_on_plug_in_kinds() {
    let out = tempfile::tempdir().expect("tempdir");
    {
        let dir = out.path().join("run");
        bin()
            .args(["run", "scenarios/embedded-stores.yaml", "--quiet", "--out"])
            .arg(&dir)
            .assert()
            .code(0);
        let run: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("run.json")).expect("run.json"))
                .expect("json");
        for t in run["variants"][0]["targets"].as_array().expect("targets") {
            let name = t["name"].as_str().unwrap_or_default();
            let phases: Vec<&str> = t["phases"]
                .as_array()
                .expect("phases")
                .iter()
                .filter_map(|p| p["name"].as_str())
                .collect();
            // The key-value phase names its targets: not the log-only wal.
            assert_eq!(phases.contains(&"kv"), name != "wal", "{name}: {phases:?}");
            for p in t["phases"].as_array().expect("phases") {
                // The crash children are this binary, so fjall and redb
                // were crashed and verified like the built-in kinds.
                if p["name"] == "crash" && name != "memory" {
                    assert_eq!(p["metrics"]["lost_records"], 0.0, "{name}: {p}");
                    assert!(
                        p["metrics"]["acknowledged_records"]
                            .as_f64()
                            .is_some_and(|n| n > 0.0),
                        "{name}: {p}"
                    );
                }
            }
        }
    }
}

/// Proof that the crash phase's verification is real for plug-in kinds:
/// with `persist: manual` fjall keeps acknowledged batches in its 8 KiB
/// journal buffer, a kill -9 loses them, validation warned, and the phase
/// reports them lost (its assertion fails: exit 1). A single cycle can
/// lose nothing (three runs of 8 cycles lost 60–80 records each, and one
/// of 2 cycles lost none), so it runs 8.
#[test]
fn fjall_manual_persist_loses_acknowledged_appends_to_kill9_and_the_phase_says_so() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("manual.yaml");
    std::fs::write(
        &file,
        "version: 1\nname: manual\nseed: 5\ntargets:\n  f:\n    fjall: { persist: manual }\npayloads:\n  r: { size: 512B, pool: 64 }\nphases:\n  - name: crash\n    actors:\n      - { op: append, streams: 4, batch: 10, payload: r }\n    restart: crash\n    after: 50ms..300ms\n    verify: acknowledged\n    repeat: 8\nassertions:\n  - crash.lost_records == 0\n",
    )
    .expect("write");
    let out = dir.path().join("out");
    bin()
        .arg("run")
        .arg(&file)
        .args(["--quiet", "--out"])
        .arg(&out)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "may lose acknowledged writes in a crash with this config",
        ));
    let run: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("run.json")).expect("run.json"))
            .expect("json");
    let m = &run["variants"][0]["targets"][0]["phases"][0]["metrics"];
    assert!(m["lost_records"].as_f64().is_some_and(|n| n > 0.0), "{m}");
    assert_eq!(m["corrupt_records"], 0.0, "{m}");
}
